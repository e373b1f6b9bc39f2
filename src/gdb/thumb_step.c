/*
 * thumb_step.c - where a Cortex-M core goes after the instruction at PC:
 * lets the server single-step a probe that can only "run to an address"
 * (the simulated chip), by running to the one next PC computed here from
 * the instruction, the registers, the flags and the IT state.
 *
 * Follows the ARMv7-M Architecture Reference Manual (ARM DDI 0403E.b):
 * A5.1 (16/32-bit Thumb encodings), A7.3.1 (IT state in EPSR), A7.3 (the
 * condition codes), and the encodings of B (T1-T4), BL, BX, BLX (register),
 * CBZ/CBNZ, POP, LDM/LDMDB, LDR (immediate, literal, register) with Rt = PC,
 * ADD/MOV (register, high) with Rd = PC, TBB/TBH.
 */
#include "gdb/gdb_internal.h"
#include "oflash/error.h"

static uint32_t sext(uint32_t v, int bits)
{
    uint32_t m = 1u << (bits - 1);
    return (v ^ m) - m;
}

static bool cond_pass(unsigned cond, uint32_t psr)
{
    bool n = psr >> 31 & 1, z = psr >> 30 & 1, c = psr >> 29 & 1, v = psr >> 28 & 1, r;
    switch (cond >> 1) {
    case 0:
        r = z;
        break;
    case 1:
        r = c;
        break;
    case 2:
        r = n;
        break;
    case 3:
        r = v;
        break;
    case 4:
        r = c && !z;
        break;
    case 5:
        r = n == v;
        break;
    case 6:
        r = !z && n == v;
        break;
    default:
        return true; /* AL */
    }
    return (cond & 1) ? !r : r;
}

static int rd32(oflash_probe *p, uint32_t a, uint32_t *v)
{
    return oflash_probe_read_u32(v, p, a);
}

static unsigned popcount16(unsigned v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

int oflash__thumb_next_pc(oflash_probe *p, uint32_t *next)
{
    int regs[17];
    uint32_t r[17], pc, psr, target, it;
    uint8_t b[4];
    uint16_t h1, h2;
    int rc;
    for (int i = 0; i < 17; i++)
        regs[i] = i;
    if ((rc = oflash_probe_read_regs(r, p, regs, 17)) < 0) return rc;
    pc = r[15] & ~1u;
    psr = r[16];
    if ((rc = oflash_probe_read_mem(b, p, pc, 4)) < 0) return rc;
    h1 = (uint16_t)(b[0] | b[1] << 8);
    h2 = (uint16_t)(b[2] | b[3] << 8);
#define R(n) ((n) == 15 ? pc + 4 : r[(n)])
    /* Inside an IT block a failing instruction is skipped. */
    it = (psr >> 25 & 3) | (psr >> 8 & 0xFC);
    if ((it & 0xF) && !cond_pass(it >> 4, psr)) {
        *next = pc + ((h1 >> 11) >= 0x1D ? 4 : 2);
        return 0;
    }
    if ((h1 >> 11) < 0x1D) { /* 16-bit */
        *next = pc + 2;
        if ((h1 & 0xF000) == 0xD000 && ((h1 >> 8) & 0xF) < 14) {
            if (cond_pass(h1 >> 8 & 0xF, psr)) *next = pc + 4 + sext((h1 & 0xFFu) << 1, 9);
        } else if ((h1 & 0xF800) == 0xE000) {
            *next = pc + 4 + sext((h1 & 0x7FFu) << 1, 12);
        } else if ((h1 & 0xF500) == 0xB100) {
            unsigned imm = (h1 >> 9 & 1) << 6 | (h1 >> 3 & 0x1F) << 1;
            bool nz = h1 >> 11 & 1;
            if ((r[h1 & 7] != 0) == nz) *next = pc + 4 + imm;
        } else if ((h1 & 0xFF00) == 0x4700) {
            target = R(h1 >> 3 & 0xF);
            if ((target & 0xF0000000u) == 0xF0000000u)
                return oflash_error_set(OFLASH_EUNSUPPORTED, "step: exception return at 0x%08X",
                                        pc);
            *next = target & ~1u;
        } else if ((h1 & 0xFF00) == 0xBD00) {
            if ((rc = rd32(p, r[13] + 4 * popcount16(h1 & 0xFF), &target)) < 0) return rc;
            if ((target & 0xF0000000u) == 0xF0000000u)
                return oflash_error_set(OFLASH_EUNSUPPORTED, "step: exception return at 0x%08X",
                                        pc);
            *next = target & ~1u;
        } else if ((h1 & 0xFC00) == 0x4400 && ((h1 & 7) | (h1 >> 4 & 8)) == 15 &&
                   (h1 >> 8 & 3) != 1) {
            uint32_t m = R(h1 >> 3 & 0xF);
            *next = ((h1 >> 8 & 3) == 0 ? pc + 4 + m : m) & ~1u;
        }
        return 0;
    }
    /* 32-bit */
    *next = pc + 4;
    if ((h1 & 0xF800) == 0xF000 && (h2 & 0x8000)) {
        unsigned s = h1 >> 10 & 1, j1 = h2 >> 13 & 1, j2 = h2 >> 11 & 1;
        if ((h2 & 0xD000) == 0x8000) {
            unsigned cond = h1 >> 6 & 0xF;
            if (cond < 14 && cond_pass(cond, psr))
                *next =
                    pc + 4 +
                    sext(s << 20 | j2 << 19 | j1 << 18 | (h1 & 0x3Fu) << 12 | (h2 & 0x7FFu) << 1,
                         21);
        } else if (h2 & 0x1000) { /* B.W T4, BL */
            unsigned i1 = !(j1 ^ s), i2 = !(j2 ^ s);
            *next =
                pc + 4 +
                sext(s << 24 | i1 << 23 | i2 << 22 | (h1 & 0x3FFu) << 12 | (h2 & 0x7FFu) << 1, 25);
        } else if ((h2 & 0xD000) == 0xC000) {
            return oflash_error_set(OFLASH_EUNSUPPORTED, "step: BLX to ARM state at 0x%08X", pc);
        }
        return 0;
    }
    if ((h1 & 0xFFD0) == 0xE890 && (h2 & 0x8000)) { /* LDMIA/POP.W {..pc} */
        if ((rc = rd32(p, r[h1 & 0xF] + 4 * popcount16(h2 & 0x7FFF), &target)) < 0) return rc;
    } else if ((h1 & 0xFFD0) == 0xE910 && (h2 & 0x8000)) { /* LDMDB {..pc} */
        if ((rc = rd32(p, r[h1 & 0xF] - 4, &target)) < 0) return rc;
    } else if ((h1 & 0xFFF0) == 0xE8D0 && (h2 & 0xFFE0) == 0xF000) { /* TBB/TBH */
        uint32_t base = R(h1 & 0xF), idx = R(h2 & 0xF);
        uint8_t t[2];
        if (h2 & 0x10) {
            if ((rc = oflash_probe_read_mem(t, p, base + 2 * idx, 2)) < 0) return rc;
            *next = pc + 4 + 2u * (uint32_t)(t[0] | t[1] << 8);
        } else {
            if ((rc = oflash_probe_read_mem(t, p, base + idx, 1)) < 0) return rc;
            *next = pc + 4 + 2u * t[0];
        }
        return 0;
    } else if ((h1 & 0xFF70) == 0xF850 && (h2 >> 12) == 15) { /* LDR pc, ... */
        uint32_t addr, n = h1 & 0xF;
        if (n == 15) { /* literal */
            uint32_t base = (pc + 4) & ~3u;
            addr = (h1 & 0x80) ? base + (h2 & 0xFFFu) : base - (h2 & 0xFFFu);
        } else if (h1 & 0x80) { /* imm12 */
            addr = r[n] + (h2 & 0xFFFu);
        } else if (h2 & 0x800) { /* imm8, P U W */
            uint32_t imm = h2 & 0xFF;
            uint32_t off = (h2 & 0x200) ? r[n] + imm : r[n] - imm;
            addr = (h2 & 0x400) ? off : r[n];
        } else if ((h2 & 0xFC0) == 0) { /* register, LSL #0-3 */
            addr = r[n] + (r[h2 & 0xF] << (h2 >> 4 & 3));
        } else {
            return 0;
        }
        if ((rc = rd32(p, addr, &target)) < 0) return rc;
    } else {
        return 0;
    }
    if ((target & 0xF0000000u) == 0xF0000000u)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "step: exception return at 0x%08X", pc);
    *next = target & ~1u;
#undef R
    return 0;
}
