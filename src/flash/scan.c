/*
 * scan.c - the CRC of many flash ranges in ONE run of a small routine on
 * the core, with the part's CRC unit (oflash_family_ops.crc_unit).
 *
 * Why: the planner needs the chip's CRC of every sector an image touches.
 * Asked of the flash loader that is a loader download (1.8 KiB) and one
 * halt per CRC; through OpenOCD every halt costs a read of all ~50 core
 * and FPU registers over JTAG.  A rerun that changes nothing would pay
 * all of that to learn that nothing changed.  oflash_flash_verify() (every
 * front end's verify) asks the same scan for the image's part of each
 * sector.  This routine is 120 bytes,
 * takes every range in one call and leaves one halt.  (GDB's qCRC packet
 * was measured too: OpenOCD answers it with a bitwise CRC on the core,
 * about 64 instructions per byte, 0.26 s of simulated time for 64 KiB at
 * the reset clock -- half of a whole first run.)
 *
 * The unit computes CRC-32 with poly 0x04C11DB7, initial value 0xFFFFFFFF,
 * not reflected, 32 bits per data-register write (the word as the core
 * reads it, little endian, most significant bit first); the host computes
 * the same with oflash__crc_unit().  The first range of every call is the
 * routine's own code, whose CRC the host knows: a unit that is missing,
 * unclocked or configured otherwise (another polynomial, reversal, an
 * initial value set by the firmware) fails that self-test, and the caller
 * falls back to the loader's CRC.
 *
 * Work RAM (t->lopts.ram_start): the code, then the parameters at P:
 *   P+0 enable register, P+4 enable bit, P+8 DR, P+12 CR, P+16 n ranges,
 *   P+20 the enable register's old value (written by the routine),
 *   P+24 done marker 0x600DC0DE (written last), P+28 where the next CRC
 *   goes (P+32 at the start), P+32 n CRCs, then n x {addr, words}.
 * The routine sets the enable bit, and for each range resets the unit,
 * feeds it the words (eight per LDM), stores DR; then restores the enable
 * register, writes the marker and stops on BKPT.  The host reads back
 * P+24..P+32+4n only.
 */
#include "flash_internal.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

/* arm-none-eabi-as -mcpu=cortex-m4 -mthumb (Thumb-2); entry r0 = P */
/* clang-format off */
static const uint8_t scan_code[] = {
    0x86, 0x46,              /* 00 mov lr, r0 */
    0x01, 0x68,              /* 02 ldr r1, [r0, #0] */
    0x0a, 0x68,              /* 04 ldr r2, [r1, #0] */
    0x42, 0x61,              /* 06 str r2, [r0, #20] */
    0x43, 0x68,              /* 08 ldr r3, [r0, #4] */
    0x13, 0x43,              /* 0a orrs r3, r2 */
    0x0b, 0x60,              /* 0c str r3, [r1, #0] */
    0x0b, 0x68,              /* 0e ldr r3, [r1, #0] */
    0x84, 0x68,              /* 10 ldr r4, [r0, #8] */
    0x05, 0x69,              /* 12 ldr r5, [r0, #16] */
    0x00, 0xf1, 0x20, 0x06,  /* 14 add.w r6, r0, #32 */
    0x06, 0xeb, 0x85, 0x06,  /* 18 add.w r6, r6, r5, lsl #2 */
    0x5d, 0xb3,              /* 1c cbz r5, 76 <done> */
    0xde, 0xf8, 0x0c, 0x30,  /* 1e ldr.w r3, [lr, #12] */
    0x01, 0x22,              /* 22 movs r2, #1 */
    0x1a, 0x60,              /* 24 str r2, [r3, #0] */
    0xd6, 0xf8, 0x00, 0x90,  /* 26 ldr.w r9, [r6] */
    0xd6, 0xf8, 0x04, 0x80,  /* 2a ldr.w r8, [r6, #4] */
    0x0c, 0xe0,              /* 2e b.n 4a <test8> */
    0xb9, 0xe8, 0x8f, 0x1c,  /* 30 ldmia.w r9!, {r0, r1, r2, r3, r7, r10, r11, r12} */
    0x20, 0x60,              /* 34 str r0, [r4, #0] */
    0x21, 0x60,              /* 36 str r1, [r4, #0] */
    0x22, 0x60,              /* 38 str r2, [r4, #0] */
    0x23, 0x60,              /* 3a str r3, [r4, #0] */
    0x27, 0x60,              /* 3c str r7, [r4, #0] */
    0xc4, 0xf8, 0x00, 0xa0,  /* 3e str.w r10, [r4] */
    0xc4, 0xf8, 0x00, 0xb0,  /* 42 str.w r11, [r4] */
    0xc4, 0xf8, 0x00, 0xc0,  /* 46 str.w r12, [r4] */
    0xb8, 0xf1, 0x08, 0x08,  /* 4a subs.w r8, r8, #8 */
    0xef, 0xd2,              /* 4e bcs.n 30 <loop8> */
    0x18, 0xf1, 0x08, 0x08,  /* 50 adds.w r8, r8, #8 */
    0x05, 0xd0,              /* 54 beq.n 62 <store> */
    0x59, 0xf8, 0x04, 0x0b,  /* 56 ldr.w r0, [r9], #4 */
    0x20, 0x60,              /* 5a str r0, [r4, #0] */
    0xb8, 0xf1, 0x01, 0x08,  /* 5c subs.w r8, r8, #1 */
    0xf9, 0xd1,              /* 60 bne.n 56 <loop1> */
    0x20, 0x68,              /* 62 ldr r0, [r4, #0] */
    0xde, 0xf8, 0x1c, 0x10,  /* 64 ldr.w r1, [lr, #28] */
    0x41, 0xf8, 0x04, 0x0b,  /* 68 str.w r0, [r1], #4 */
    0xce, 0xf8, 0x1c, 0x10,  /* 6c str.w r1, [lr, #28] */
    0x08, 0x36,              /* 70 adds r6, #8 */
    0x01, 0x3d,              /* 72 subs r5, #1 */
    0xd2, 0xe7,              /* 74 b.n 1c <range> */
    0x70, 0x46,              /* 76 mov r0, lr */
    0x01, 0x68,              /* 78 ldr r1, [r0, #0] */
    0x42, 0x69,              /* 7a ldr r2, [r0, #20] */
    0x0a, 0x60,              /* 7c str r2, [r1, #0] */
    0x4c, 0xf2, 0xde, 0x02,  /* 7e movw r2, #0xC0DE */
    0xc6, 0xf2, 0x0d, 0x02,  /* 82 movt r2, #0x600D */
    0x82, 0x61,              /* 86 str r2, [r0, #24] */
    0x00, 0xbe,              /* 88 bkpt 0x0000 */
    0x00, 0xbf,              /* 8a nop */
};
/* clang-format on */

#define CODE_SIZE ((uint32_t)sizeof scan_code)
#define BKPT_OFF 0x88u
#define DONE_MARK 0x600DC0DEu
/* The self-test covers the code up to the BKPT: a debug server may put its
 * own software breakpoint there for the run (OpenOCD writes BKPT #0x11). */
#define SELFTEST_WORDS (BKPT_OFF / 4u)
#define HDR 32u         /* parameter words before the CRCs */
#define MAX_PER_CALL 64 /* ranges per run, the self-test included */

/* The byte-wise table of the unit's polynomial (built per call: no shared
 * state, so planning in several threads stays race-free). */
static void crc_unit_table(uint32_t t[256])
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int k = 0; k < 8; k++)
            c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
        t[i] = c;
    }
}

/* The word as the core reads it (little endian), most significant byte first. */
static uint32_t crc_unit_words(const uint32_t t[256], uint32_t crc, const uint8_t *p, size_t words,
                               size_t stride)
{
    for (size_t i = 0; i < words; i++, p += stride)
        for (int k = 3; k >= 0; k--)
            crc = (crc << 8) ^ t[((crc >> 24) ^ p[k]) & 0xFFu];
    return crc;
}

uint32_t oflash__crc_unit(uint32_t crc, const uint8_t *p, size_t words)
{
    uint32_t t[256];
    crc_unit_table(t);
    return crc_unit_words(t, crc, p, words, 4);
}

uint32_t oflash__crc_unit_fill(uint8_t value, size_t words)
{
    const uint8_t w[4] = {value, value, value, value};
    uint32_t t[256];
    crc_unit_table(t);
    return crc_unit_words(t, 0xFFFFFFFFu, w, words, 0);
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* One run: the self-test range, then r[0..n). */
static int scan_once(oflash_target *t, const oflash_family_crc_unit *u, oflash__scan_range *r,
                     size_t n)
{
    const uint32_t base = t->lopts.ram_start, P = base + CODE_SIZE, m = (uint32_t)n + 1;
    const uint32_t size = CODE_SIZE + HDR + 12u * m;
    static const int regs[2] = {OFLASH_REG_R0, OFLASH_REG_PC}, xpsr = OFLASH_REG_XPSR;
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info stop;
    uint64_t words = 0;
    uint8_t *blob = calloc(1, size);
    int rc;

    if (!blob) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    memcpy(blob, scan_code, CODE_SIZE);
    put32(blob + CODE_SIZE + 0, u->enable_reg);
    put32(blob + CODE_SIZE + 4, u->enable_bit);
    put32(blob + CODE_SIZE + 8, u->dr);
    put32(blob + CODE_SIZE + 12, u->cr);
    put32(blob + CODE_SIZE + 16, m);
    put32(blob + CODE_SIZE + 28, P + HDR);
    for (uint32_t i = 0; i < m; i++) {
        uint8_t *e = blob + CODE_SIZE + HDR + 4u * m + 8u * i;
        put32(e, i ? r[i - 1].addr : base);
        put32(e + 4, i ? r[i - 1].words : SELFTEST_WORDS);
        words += i ? r[i - 1].words : 0;
    }
    {
        uint32_t vals[2] = {P, base | 1u}, v = 0x01000000u; /* Thumb */
        /* Two calls of at most two registers: a GDB server then gets P
         * packets and marks only these registers for writing back. */
        if ((rc = oflash_probe_write_mem(t->probe, base, blob, size)) < 0 ||
            (rc = oflash_probe_write_regs(t->probe, regs, vals, 2)) < 0 ||
            (rc = oflash_probe_write_regs(t->probe, &xpsr, &v, 1)) < 0)
            goto out;
    }
    ro.have_break = true;
    ro.break_addr = base + BKPT_OFF;
    /* At least 1 s; the loop takes under 2 cycles a word (16 MHz: 8 ms per
     * MiB), allow 60x that. */
    ro.timeout_ms = 1000u + (unsigned)(words / 2048u);
    if ((rc = oflash_probe_run(&stop, t->probe, &ro)) < 0) goto out;
    if ((stop.reason != OFLASH_STOP_BKPT && stop.reason != OFLASH_STOP_BREAKPOINT) ||
        (stop.pc & ~1u) != base + BKPT_OFF) {
        rc = oflash_error_set(OFLASH_ETARGET, "the CRC scan stopped at 0x%08X (%s), not at 0x%08X",
                              stop.pc, stop.detail, base + BKPT_OFF);
        goto out;
    }
    /* The marker and the CRCs only. */
    if ((rc = oflash_probe_read_mem(blob, t->probe, P + 24, 8u + 4u * m)) < 0) goto out;
    if (get32(blob) != DONE_MARK) {
        rc = oflash_error_set(OFLASH_ETARGET, "the CRC scan did not finish (marker 0x%08X)",
                              get32(blob));
        goto out;
    }
    if (get32(blob + 8) != oflash__crc_unit(0xFFFFFFFFu, scan_code, SELFTEST_WORDS)) {
        rc = oflash_error_set(OFLASH_EUNSUPPORTED,
                              "the CRC unit at 0x%08X failed its self-test (CRC 0x%08X of the "
                              "scan code); another polynomial or initial value?",
                              u->dr, get32(blob + 8));
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        r[i].crc = get32(blob + 12 + 4 * i);
out:
    free(blob);
    return rc;
}

int oflash__target_scan(oflash_target *t, oflash__scan_range *r, size_t n)
{
    const oflash_family_ops *fam = t->device->family_ops;
    const oflash_family_crc_unit *u = fam ? &fam->crc_unit : NULL;
    uint32_t room;
    if (!u || !u->dr || !u->cr || !u->enable_reg)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "%s: no CRC unit known", t->device->name);
    if (t->lopts.ram_start & 3u)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "work RAM 0x%08X is not word aligned",
                                t->lopts.ram_start);
    room = t->lopts.ram_size > CODE_SIZE + HDR ? (t->lopts.ram_size - CODE_SIZE - HDR) / 12u : 0;
    if (room < 2)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "work RAM too small for the CRC scan");
    if (room > MAX_PER_CALL) room = MAX_PER_CALL;
    for (size_t i = 0; i < n; i++)
        if ((r[i].addr & 3u) || !r[i].words)
            return oflash_error_set(OFLASH_EINVAL, "CRC scan range 0x%08X (%u words) not aligned",
                                    r[i].addr, r[i].words);
    /* The loader's RAM is about to be overwritten: UnInit it first. */
    oflash__target_loader_release(t);
    for (size_t i = 0; i < n;) {
        size_t k = n - i < room - 1 ? n - i : room - 1;
        int rc = scan_once(t, u, r + i, k);
        if (rc < 0) return rc;
        i += k;
    }
    return 0;
}
