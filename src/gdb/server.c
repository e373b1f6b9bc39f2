/*
 * server.c - oflash gdbserver: serves any probe + device over the GDB
 * remote serial protocol, so GDB (and oflash's own client) can debug and
 * program the simulated chip, or anything else behind a probe.
 *
 * Follows "Debugging with GDB" appendix E (GDB 12/13) for the packets,
 * appendix G for the target description (features org.gnu.gdb.arm.m-profile
 * and org.gnu.gdb.arm.m-system) and "Memory Map Format" for
 * qXfer:memory-map:read.  Flash programming (vFlashErase, vFlashWrite,
 * vFlashDone) drives the STM32F4 flash interface through the probe
 * (stm32f4_flash.c), as J-Link GDB Server or OpenOCD do on silicon.
 *
 * Invariants: one client at a time; the core is halted whenever a packet
 * is being handled (a resume returns only after a stop); pending flash
 * writes are programmed only in vFlashDone and dropped when the client
 * goes away; OTP and OTP lock bytes are written only with allow_otp, lock
 * bytes only ever receive 0x00 (0xFF bytes are not written at all), and an
 * OTP byte is never asked to change a 0 bit back to 1.
 */
#include "gdb/gdb_internal.h"
#include "gdb/rsp.h"
#include "oflash/error.h"
#include "oflash/gdb.h"
#include "oflash/sys/probe.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest packet we accept (advertised as PacketSize). */
#define SRV_PACKET_SIZE 0x4000u
/* A client that stops sending in the middle of a packet is dropped. */
#define SRV_PACKET_TIMEOUT_MS 5000
/* Host time per probe run slice while the core runs (Ctrl-C latency). */
#define SRV_RUN_SLICE_MS 50
#define SRV_MAX_SWBP 64
#define SRV_NREGS 19

#define SIG_INT 2
#define SIG_TRAP 5
#define SIG_SEGV 11

typedef struct pending {
    uint32_t addr;
    uint8_t *data;
    size_t len, cap;
} pending;

typedef struct srv {
    oflash_probe *p;
    const oflash_device *dev;
    const oflash_gdbserver_opts *o;
    oflash__rsp rsp;
    char peer[64];
    char *buf; /* received payload */
    char *out; /* reply */
    size_t out_cap;
    char *tdesc, *mmap;
    size_t tdesc_len, mmap_len;
    struct {
        uint32_t addr;
        uint8_t orig[2];
    } sw[SRV_MAX_SWBP];
    size_t nsw;
    bool hw_used;
    uint32_t hw_addr;
    pending *pend;
    size_t npend;
    bool end_session;
    uint64_t replies; /* packets sent (erase_range tells whether it replied) */
    int nregs;        /* registers served: 17 (r0-r15, xpsr) or 19 (+ msp, psp) */
    oflash_gdbserver_stats local;
    oflash_gdbserver_stats *st;
} srv;

static void logf_(srv *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(srv *s, int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->o->event) s->o->event(s->o->event_ctx, level, msg);
}

/* ------------------------------------------------------------ documents */

static int append(char **doc, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char **doc, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*doc + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0) return OFLASH_ERROR;
        if ((size_t)n < *cap - *len) break;
        {
            char *nd = realloc(*doc, *cap * 2 + (size_t)n);
            if (!nd) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            *doc = nd;
            *cap = *cap * 2 + (size_t)n;
        }
    }
    *len += (size_t)n;
    return 0;
}

/* msp/psp (org.gnu.gdb.arm.m-system) only when the probe has them: gdb 13
 * writes $sp through them and fails on an unavailable one. */
static int build_tdesc(srv *s, bool msp_psp)
{
    size_t len = 0, cap = 2048;
    char *d = malloc(cap);
    int rc;
    if (!d) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    d[0] = '\0';
    rc = append(&d, &len, &cap,
                "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                "<target version=\"1.0\">\n<architecture>arm</architecture>\n"
                "<feature name=\"org.gnu.gdb.arm.m-profile\">\n");
    for (int i = 0; rc == 0 && i <= 12; i++)
        rc = append(&d, &len, &cap, "<reg name=\"r%d\" bitsize=\"32\" regnum=\"%d\"/>\n", i, i);
    if (rc == 0)
        rc = append(&d, &len, &cap,
                    "<reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"13\"/>\n"
                    "<reg name=\"lr\" bitsize=\"32\" regnum=\"14\"/>\n"
                    "<reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\" regnum=\"15\"/>\n"
                    "<reg name=\"xpsr\" bitsize=\"32\" regnum=\"16\"/>\n</feature>\n");
    if (rc == 0 && msp_psp)
        rc = append(&d, &len, &cap,
                    "<feature name=\"org.gnu.gdb.arm.m-system\">\n"
                    "<reg name=\"msp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"17\"/>\n"
                    "<reg name=\"psp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"18\"/>\n"
                    "</feature>\n");
    if (rc == 0) rc = append(&d, &len, &cap, "</target>\n");
    if (rc < 0) {
        free(d);
        return rc;
    }
    s->tdesc = d;
    s->tdesc_len = len;
    return 0;
}

typedef struct mregion {
    uint32_t start, length, blocksize;
    const char *type;
} mregion;

static int cmp_region(const void *a, const void *b)
{
    const mregion *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int build_mmap(srv *s)
{
    const oflash_device *dev = s->dev;
    size_t n = 0, cap = 16, len = 0, dcap = 4096;
    mregion *r = malloc(cap * sizeof *r);
    char *d = malloc(dcap);
    int rc = 0;
    if (!r || !d) {
        free(r);
        free(d);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
#define ADD(st, ln, bs, ty)                                                                        \
    do {                                                                                           \
        if (n == cap) {                                                                            \
            mregion *nr = realloc(r, 2 * cap * sizeof *r);                                         \
            if (!nr) {                                                                             \
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");                             \
                goto out;                                                                          \
            }                                                                                      \
            r = nr;                                                                                \
            cap *= 2;                                                                              \
        }                                                                                          \
        r[n].start = (st);                                                                         \
        r[n].length = (ln);                                                                        \
        r[n].blocksize = (bs);                                                                     \
        r[n].type = (ty);                                                                          \
        n++;                                                                                       \
    } while (0)
    for (size_t i = 0; i < dev->region_count; i++) {
        const oflash_region *g = &dev->regions[i];
        ADD(g->base, g->size, 0,
            g->kind == OFLASH_REGION_RAM || g->kind == OFLASH_REGION_PERIPH ? "ram" : "rom");
    }
    for (size_t b = 0; b < dev->bank_count; b++) {
        const oflash_bank *k = &dev->banks[b];
        if (k->kind != OFLASH_BANK_FLASH || !k->sector_count) {
            /* OTP and lock bytes: one block (never erased; see vFlashErase). */
            ADD(k->base, k->size, k->size, "flash");
            continue;
        }
        /* Runs of equal sector size, each a region with that blocksize. */
        for (size_t i = 0; i < k->sector_count;) {
            size_t j = i;
            uint32_t total = 0;
            while (j < k->sector_count && k->sectors[j].size == k->sectors[i].size &&
                   k->sectors[j].addr == k->sectors[i].addr + total) {
                total += k->sectors[j].size;
                j++;
            }
            ADD(k->sectors[i].addr, total, k->sectors[i].size, "flash");
            i = j;
        }
    }
    /* Private peripheral bus (SCS, DWT, FPB, DBGMCU): devices omit it. */
    ADD(0xE0000000u, 0x20000000u, 0, "ram");
#undef ADD
    qsort(r, n, sizeof *r, cmp_region);
    d[0] = '\0';
    rc = append(&d, &len, &dcap,
                "<?xml version=\"1.0\"?>\n<!DOCTYPE memory-map PUBLIC \"+//IDN "
                "gnu.org//DTD GDB Memory Map V1.0//EN\" \"http://sourceware.org/gdb/"
                "gdb-memory-map.dtd\">\n<memory-map>\n");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* Skip a region overlapping the previous one (gdb rejects overlaps). */
        if (i && (uint64_t)r[i - 1].start + r[i - 1].length > r[i].start) continue;
        if (r[i].blocksize)
            rc = append(&d, &len, &dcap,
                        "<memory type=\"flash\" start=\"0x%08x\" length=\"0x%x\">\n"
                        "<property name=\"blocksize\">0x%x</property>\n</memory>\n",
                        r[i].start, r[i].length, r[i].blocksize);
        else
            rc = append(&d, &len, &dcap, "<memory type=\"%s\" start=\"0x%08x\" length=\"0x%x\"/>\n",
                        r[i].type, r[i].start, r[i].length);
    }
    if (rc == 0) rc = append(&d, &len, &dcap, "</memory-map>\n");
out:
    free(r);
    if (rc < 0) {
        free(d);
        return rc;
    }
    s->mmap = d;
    s->mmap_len = len;
    return 0;
}

/* --------------------------------------------------------------- replies */

static int reply_n(srv *s, const char *data, size_t len)
{
    s->replies++;
    return oflash__rsp_send(&s->rsp, data, len, SRV_PACKET_TIMEOUT_MS);
}

static int reply(srv *s, const char *text)
{
    return reply_n(s, text, strlen(text));
}

/* E NN with the library's message in the log. */
static int reply_err(srv *s, int nn, const char *what)
{
    char e[8];
    logf_(s, OFLASH_LOG_WARN, "%s: %s", what, oflash_error_last());
    snprintf(e, sizeof e, "E%02x", nn & 0xFF);
    return reply(s, e);
}

static int reply_stop(srv *s, int sig)
{
    char t[8];
    snprintf(t, sizeof t, "S%02x", sig);
    return reply(s, t);
}

/* Console output (O packets) for monitor commands. */
static int console(srv *s, const char *text)
{
    size_t l = strlen(text);
    char *o = malloc(2 * l + 2);
    int rc;
    if (!o) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    o[0] = 'O';
    oflash__hex_encode((const uint8_t *)text, l, o + 1);
    rc = reply_n(s, o, 1 + 2 * l);
    free(o);
    return rc;
}

/* qXfer read of a document: m/l + escaped slice. */
static int reply_xfer(srv *s, const char *doc, size_t dlen, const char *args)
{
    uint32_t off, len;
    const char *e;
    size_t used, enc, want;
    if (oflash__hex_u32(args, &e, &off) < 0 || *e != ',' || oflash__hex_u32(e + 1, &e, &len) < 0 ||
        *e)
        return reply(s, "E01");
    if (off >= dlen) return reply(s, "l");
    want = dlen - off;
    if (want > len) want = len;
    if (want > SRV_PACKET_SIZE - 16) want = SRV_PACKET_SIZE - 16;
    enc = oflash__rsp_escape((const uint8_t *)doc + off, want, s->out + 1, s->out_cap - 2, &used);
    s->out[0] = off + used >= dlen ? 'l' : 'm';
    return reply_n(s, s->out, 1 + enc);
}

/* ------------------------------------------------------------- registers */

static int read_all_regs(srv *s, uint32_t *v, bool *have)
{
    int regs[SRV_NREGS];
    int rc;
    for (int i = 0; i < SRV_NREGS; i++) {
        regs[i] = i;
        have[i] = true;
    }
    rc = oflash_probe_read_regs(v, s->p, regs, 17);
    if (rc < 0) return rc;
    /* MSP/PSP are optional on a probe. */
    if (s->nregs < SRV_NREGS || oflash_probe_read_regs(v + 17, s->p, regs + 17, 2) < 0)
        have[17] = have[18] = false;
    return 0;
}

static void put_le32(char *hex, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    oflash__hex_encode(b, 4, hex);
}

static bool get_le32(const char *hex, uint32_t *v)
{
    uint8_t b[4];
    if (oflash__hex_decode(hex, b, 4) < 0) return false;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return true;
}

static int handle_g(srv *s)
{
    uint32_t v[SRV_NREGS];
    bool have[SRV_NREGS];
    if (read_all_regs(s, v, have) < 0) return reply_err(s, 1, "reading registers");
    for (int i = 0; i < s->nregs; i++) {
        if (have[i])
            put_le32(s->out + 8 * i, v[i]);
        else
            memcpy(s->out + 8 * i, "xxxxxxxx", 8);
    }
    return reply_n(s, s->out, 8 * (size_t)s->nregs);
}

static int handle_G(srv *s, const char *hex, size_t len)
{
    int regs[SRV_NREGS];
    uint32_t v[SRV_NREGS];
    size_t n = 0;
    for (int i = 0; i < s->nregs && (size_t)(8 * i + 8) <= len; i++) {
        if (!strncmp(hex + 8 * i, "xxxxxxxx", 8)) continue;
        if (!get_le32(hex + 8 * i, &v[n])) return reply(s, "E01");
        regs[n++] = i;
    }
    if (oflash_probe_write_regs(s->p, regs, v, n) < 0) return reply_err(s, 1, "writing registers");
    return reply(s, "OK");
}

static int handle_p(srv *s, const char *args)
{
    uint32_t n, v;
    int reg;
    char hex[9];
    const char *e;
    if (oflash__hex_u32(args, &e, &n) < 0 || *e) return reply(s, "E01");
    if (n >= (uint32_t)s->nregs) return reply(s, "E45");
    reg = (int)n;
    if (oflash_probe_read_regs(&v, s->p, &reg, 1) < 0) {
        if (reg >= OFLASH_REG_MSP) return reply(s, "xxxxxxxx");
        return reply_err(s, 1, "reading a register");
    }
    put_le32(hex, v);
    return reply(s, hex);
}

static int handle_P(srv *s, const char *args)
{
    uint32_t n, v;
    int reg;
    const char *e;
    if (oflash__hex_u32(args, &e, &n) < 0 || *e != '=' || strlen(e + 1) != 8 ||
        !get_le32(e + 1, &v))
        return reply(s, "E01");
    if (n >= (uint32_t)s->nregs) return reply(s, "E45");
    reg = (int)n;
    if (oflash_probe_write_regs(s->p, &reg, &v, 1) < 0)
        return reply_err(s, 1, "writing a register");
    return reply(s, "OK");
}

/* ---------------------------------------------------------------- memory */

static int parse_addr_len(const char *a, uint32_t *addr, uint32_t *len, const char **rest)
{
    const char *e;
    if (oflash__hex_u32(a, &e, addr) < 0 || *e != ',' || oflash__hex_u32(e + 1, &e, len) < 0)
        return -1;
    *rest = e;
    return 0;
}

static int handle_m(srv *s, const char *args)
{
    uint32_t addr, len;
    const char *e;
    uint8_t *tmp;
    if (parse_addr_len(args, &addr, &len, &e) < 0 || *e) return reply(s, "E01");
    if (len > (SRV_PACKET_SIZE - 4) / 2)
        len = (SRV_PACKET_SIZE - 4) / 2; /* a short read is allowed */
    if ((uint64_t)addr + len > 0x100000000ull) len = (uint32_t)(0x100000000ull - addr);
    if (len == 0) return reply(s, "");
    tmp = malloc(len);
    if (!tmp) return reply(s, "E0c");
    if (oflash_probe_read_mem(tmp, s->p, addr, len) < 0) {
        free(tmp);
        return reply_err(s, 0x0e, "reading memory");
    }
    oflash__hex_encode(tmp, len, s->out);
    free(tmp);
    return reply_n(s, s->out, 2 * (size_t)len);
}

static int handle_write(srv *s, const char *pkt, size_t plen, bool binary)
{
    uint32_t addr, len;
    const char *e;
    const uint8_t *data;
    uint8_t *tmp = NULL;
    size_t dlen;
    int rc;
    if (parse_addr_len(pkt + 1, &addr, &len, &e) < 0 || *e != ':') return reply(s, "E01");
    e++;
    dlen = plen - (size_t)(e - pkt);
    if (binary) {
        if (dlen != len) return reply(s, "E01");
        data = (const uint8_t *)e;
    } else {
        if (dlen != 2 * (size_t)len) return reply(s, "E01");
        tmp = malloc(len ? len : 1);
        if (!tmp) return reply(s, "E0c");
        if (oflash__hex_decode(e, tmp, len) < 0) {
            free(tmp);
            return reply(s, "E01");
        }
        data = tmp;
    }
    rc = len ? oflash_probe_write_mem(s->p, addr, data, len) : 0;
    free(tmp);
    if (rc < 0) return reply_err(s, 0x0e, "writing memory");
    return reply(s, "OK");
}

/* gdb's CRC (libiberty xcrc32: polynomial 0x04C11DB7, MSB first, init ~0). */
static uint32_t gdb_crc32(uint32_t crc, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)b[i] << 24;
        for (int k = 0; k < 8; k++)
            crc = crc & 0x80000000u ? crc << 1 ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

static int handle_crc(srv *s, const char *args)
{
    uint32_t addr, len, crc = 0xFFFFFFFFu;
    const char *e;
    uint8_t chunk[4096];
    char r[16];
    if (parse_addr_len(args, &addr, &len, &e) < 0 || *e || (uint64_t)addr + len > 0x100000000ull)
        return reply(s, "E01");
    while (len) {
        uint32_t n = len < sizeof chunk ? len : (uint32_t)sizeof chunk;
        if (oflash_probe_read_mem(chunk, s->p, addr, n) < 0) return reply_err(s, 0x0e, "qCRC");
        crc = gdb_crc32(crc, chunk, n);
        addr += n;
        len -= n;
    }
    snprintf(r, sizeof r, "C%08x", crc);
    return reply(s, r);
}

/* ----------------------------------------------------------- breakpoints */

static bool in_ram(srv *s, uint32_t addr)
{
    for (size_t i = 0; i < s->dev->region_count; i++) {
        const oflash_region *r = &s->dev->regions[i];
        if (r->kind == OFLASH_REGION_RAM && addr >= r->base && addr - r->base + 2 <= r->size)
            return true;
    }
    return false;
}

static int handle_Z(srv *s, const char *pkt, bool insert)
{
    uint32_t type, addr, kind;
    const char *e;
    if (oflash__hex_u32(pkt + 1, &e, &type) < 0 || *e != ',' ||
        parse_addr_len(e + 1, &addr, &kind, &e) < 0)
        return reply(s, "E01");
    if (type > 1) return reply(s, ""); /* watchpoints: not supported */
    /* BKPT-in-RAM only on the simulated chip, which halts on BKPT like a
     * core under a debugger; QEMU behind a gdb: probe locks up on one. */
    if (type == 0 && in_ram(s, addr) && !strcmp(oflash_probe_backend(s->p), "sim")) {
        /* Software breakpoint: a BKPT in RAM, original kept. */
        static const uint8_t bkpt[2] = {0x00, 0xBE};
        size_t i;
        for (i = 0; i < s->nsw && s->sw[i].addr != addr; i++)
            ;
        if (insert) {
            if (i < s->nsw) return reply(s, "OK");
            if (s->nsw >= SRV_MAX_SWBP) return reply(s, "E0c");
            if (oflash_probe_read_mem(s->sw[s->nsw].orig, s->p, addr, 2) < 0 ||
                oflash_probe_write_mem(s->p, addr, bkpt, 2) < 0)
                return reply_err(s, 0x0e, "inserting a breakpoint");
            s->sw[s->nsw++].addr = addr;
            return reply(s, "OK");
        }
        if (i == s->nsw) return reply(s, "OK");
        if (oflash_probe_write_mem(s->p, addr, s->sw[i].orig, 2) < 0)
            return reply_err(s, 0x0e, "removing a breakpoint");
        s->sw[i] = s->sw[--s->nsw];
        return reply(s, "OK");
    }
    /* Hardware breakpoint (and software ones outside RAM): the probe
     * run call takes one break address. */
    if (insert) {
        if (s->hw_used && s->hw_addr != addr) {
            logf_(s, OFLASH_LOG_WARN,
                  "breakpoint at 0x%08X refused: one hardware breakpoint (at 0x%08X) is in use",
                  addr, s->hw_addr);
            return reply(s, "E0c");
        }
        s->hw_used = true;
        s->hw_addr = addr;
    } else if (s->hw_used && s->hw_addr == addr) {
        s->hw_used = false;
    }
    return reply(s, "OK");
}

/* -------------------------------------------------------------- running */

static bool stop_requested(srv *s)
{
    return s->o->stop && *s->o->stop;
}

/* Resume (or step) and reply with the stop; Ctrl-C from the client halts. */
static int resume(srv *s, bool step)
{
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info st;
    ro.have_break = s->hw_used;
    ro.break_addr = s->hw_addr;
    ro.timeout_ms = SRV_RUN_SLICE_MS;
    if (step) {
        /* One instruction.  A gdb: probe steps itself (max_insns 1 is 's');
         * the simulated chip runs to the next PC computed from the
         * instruction (its budget stops at block boundaries). */
        uint32_t next;
        ro.max_insns = 1;
        if (!strcmp(oflash_probe_backend(s->p), "sim")) {
            if (oflash__thumb_next_pc(s->p, &next) == 0) {
                ro.max_insns = 0;
                ro.have_break = true;
                ro.break_addr = next;
            } else {
                logf_(s, OFLASH_LOG_WARN, "cannot single-step: %s; continuing instead",
                      oflash_error_last());
                ro.max_insns = 0;
                step = false;
            }
        }
    }
    for (;;) {
        int rc = oflash_probe_run(&st, s->p, &ro);
        if (rc < 0) {
            logf_(s, OFLASH_LOG_WARN, "running the core: %s", oflash_error_last());
            return reply_stop(s, SIG_SEGV);
        }
        if (step) return reply_stop(s, SIG_TRAP);
        if (st.reason != OFLASH_STOP_TIMEOUT)
            return reply_stop(s, st.reason == OFLASH_STOP_FAULT ? SIG_SEGV : SIG_TRAP);
        /* A slice that ends exactly on the breakpoint is a hit: resuming
         * there would step over it. */
        if (ro.have_break && (st.pc & ~1u) == (ro.break_addr & ~1u))
            return reply_stop(s, SIG_TRAP);
        if (stop_requested(s)) {
            s->end_session = true;
            return reply_stop(s, SIG_INT);
        }
        rc = oflash__rsp_poll(&s->rsp, 0);
        if (rc < 0) return rc;
        if (rc > 0) {
            size_t n;
            rc = oflash__rsp_recv(&s->rsp, s->buf, OFLASH__RSP_MAX_PAYLOAD + 1, &n,
                                  SRV_PACKET_TIMEOUT_MS, true);
            if (rc < 0) return rc;
            if (rc == OFLASH__RSP_INTERRUPT) return reply_stop(s, SIG_INT);
            logf_(s, OFLASH_LOG_WARN, "packet '%.20s' ignored while the core runs", s->buf);
        }
    }
}

static int handle_vcont(srv *s, const char *a)
{
    if (!strcmp(a, "?")) return reply(s, "vCont;c;C;s;S;t");
    if (*a != ';') return reply(s, "");
    a++;
    if (*a == 'c' || *a == 'C') return resume(s, false);
    if (*a == 's' || *a == 'S') return resume(s, true);
    if (*a == 't') return reply_stop(s, SIG_INT);
    return reply(s, "E01");
}

/* ---------------------------------------------------------- monitor */

static int handle_rcmd(srv *s, const char *hex)
{
    size_t hl = strlen(hex);
    char cmd[256], msg[512];
    int rc;
    if (hl % 2 || hl / 2 >= sizeof cmd || oflash__hex_decode(hex, (uint8_t *)cmd, hl / 2) < 0)
        return reply(s, "E01");
    cmd[hl / 2] = '\0';
    for (size_t i = 0; i < hl / 2; i++)
        if (cmd[i] == '\0') return reply(s, "E01");
    if (!strcmp(cmd, "reset") || !strcmp(cmd, "reset halt") || !strcmp(cmd, "reset init")) {
        if (oflash_probe_reset(s->p, true) < 0) {
            snprintf(msg, sizeof msg, "reset failed: %s\n", oflash_error_last());
            console(s, msg);
            return reply_err(s, 1, "monitor reset");
        }
        rc = console(s, "core reset and halted at the reset vector\n");
        return rc < 0 ? rc : reply(s, "OK");
    }
    if (!strcmp(cmd, "halt")) {
        if (oflash_probe_halt(s->p) < 0) return reply_err(s, 1, "monitor halt");
        rc = console(s, "core halted\n");
        return rc < 0 ? rc : reply(s, "OK");
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "")) {
        rc = console(s, "oflash gdbserver monitor commands:\n"
                        "  reset, reset halt   reset the core and halt at the reset vector\n"
                        "  halt                halt the core\n");
        return rc < 0 ? rc : reply(s, "OK");
    }
    snprintf(msg, sizeof msg, "unknown command '%s' (try 'monitor help')\n", cmd);
    rc = console(s, msg);
    return rc < 0 ? rc : reply(s, "E01");
}

/* ---------------------------------------------------------------- flash */

static int otp_refused(srv *s, const char *what, uint32_t addr)
{
    logf_(s, OFLASH_LOG_WARN,
          "%s at 0x%08X refused: the OTP area is one-time programmable; start oflash "
          "gdbserver with --otp to allow it",
          what, addr);
    return reply(s, "E05");
}

static int erase_in_bank(srv *s, const oflash_bank *b, uint32_t addr, uint32_t len)
{
    if (b->kind != OFLASH_BANK_FLASH) {
        if (!s->o->allow_otp) return otp_refused(s, "erase of OTP", addr);
        /* OTP is never erased: what is written later is checked instead. */
        return 0;
    }
    for (size_t i = 0; i < b->sector_count; i++) {
        const oflash_sector *sec = &b->sectors[i];
        uint64_t se = (uint64_t)sec->addr + sec->size;
        if (se <= addr || sec->addr >= (uint64_t)addr + len) continue;
        if (sec->addr < addr || se > (uint64_t)addr + len) {
            logf_(s, OFLASH_LOG_WARN,
                  "vFlashErase 0x%08X+0x%X covers only part of sector %u (0x%08X+0x%X)", addr, len,
                  sec->number, sec->addr, sec->size);
            return reply(s, "E01");
        }
        if (oflash__f4fi_erase_sector(s->p, sec->number, s->dev->flash_size_kb > 1024) < 0)
            return reply_err(s, 0x0e, "vFlashErase");
        logf_(s, OFLASH_LOG_INFO, "erased sector %u (0x%08X, %u KiB)", sec->number, sec->addr,
              sec->size / 1024);
    }
    return 0;
}

/* Returns 1 when a reply (an error) was sent, 0 to go on, <0 link error. */
static int erase_range(srv *s, uint32_t addr, uint32_t len)
{
    uint64_t a = addr, end = (uint64_t)addr + len;
    while (a < end) {
        const oflash_bank *b = oflash_device_bank_at(s->dev, (uint32_t)a);
        uint64_t bend;
        int rc;
        if (!b) {
            logf_(s, OFLASH_LOG_WARN, "vFlashErase 0x%08X+0x%X: 0x%08X is in no flash bank", addr,
                  len, (uint32_t)a);
            rc = reply(s, "E01");
            return rc < 0 ? rc : 1;
        }
        bend = (uint64_t)b->base + b->size;
        if (bend > end) bend = end;
        /* erase_in_bank replies only on failure. */
        {
            uint64_t before = s->replies;
            rc = erase_in_bank(s, b, (uint32_t)a, (uint32_t)(bend - a));
            if (rc < 0) return rc;
            if (s->replies != before) return 1;
        }
        a = bend;
    }
    return 0;
}

static int handle_flash_erase(srv *s, const char *args)
{
    uint32_t addr, len;
    const char *e;
    int rc;
    if (parse_addr_len(args, &addr, &len, &e) < 0 || *e || len == 0 ||
        (uint64_t)addr + len > 0x100000000ull)
        return reply(s, "E01");
    rc = erase_range(s, addr, len);
    if (rc != 0) return rc < 0 ? rc : 0;
    return reply(s, "OK");
}

static int handle_flash_write(srv *s, const char *pkt, size_t plen)
{
    const char *a = pkt + strlen("vFlashWrite:"), *e;
    uint32_t addr;
    const uint8_t *data;
    size_t dlen;
    if (oflash__hex_u32(a, &e, &addr) < 0 || *e != ':') return reply(s, "E01");
    data = (const uint8_t *)e + 1;
    dlen = plen - (size_t)((const char *)data - pkt);
    if ((uint64_t)addr + dlen > 0x100000000ull) return reply(s, "E01");
    /* Split at bank boundaries (gdb merges neighbouring regions). */
    while (dlen) {
        const oflash_bank *b = oflash_device_bank_at(s->dev, addr);
        size_t n = dlen;
        pending *pd;
        if (!b) {
            logf_(s, OFLASH_LOG_WARN, "vFlashWrite at 0x%08X: not in a flash bank", addr);
            return reply(s, "E01");
        }
        if ((uint64_t)addr + n > (uint64_t)b->base + b->size) n = b->base + b->size - addr;
        if (b->kind != OFLASH_BANK_FLASH && !s->o->allow_otp)
            return otp_refused(s, "write to OTP", addr);
        if (b->kind == OFLASH_BANK_OTP_LOCK)
            for (size_t i = 0; i < n; i++)
                if (data[i] != 0x00 && data[i] != 0xFF) {
                    logf_(s, OFLASH_LOG_WARN,
                          "OTP lock byte 0x%08X: value 0x%02X refused (expected 0x00 to lock or "
                          "0xFF to leave open)",
                          addr + (uint32_t)i, data[i]);
                    return reply(s, "E01");
                }
        /* Append to the last pending run when contiguous, else start one. */
        pd = s->npend ? &s->pend[s->npend - 1] : NULL;
        if (!pd || pd->addr + pd->len != addr || oflash_device_bank_at(s->dev, pd->addr) != b) {
            pending *np = realloc(s->pend, (s->npend + 1) * sizeof *np);
            if (!np) return reply(s, "E0c");
            s->pend = np;
            pd = &s->pend[s->npend++];
            memset(pd, 0, sizeof *pd);
            pd->addr = addr;
        }
        if (pd->len + n > pd->cap) {
            size_t nc = (pd->len + n) * 2;
            uint8_t *nd = realloc(pd->data, nc);
            if (!nd) return reply(s, "E0c");
            pd->data = nd;
            pd->cap = nc;
        }
        memcpy(pd->data + pd->len, data, n);
        pd->len += n;
        addr += (uint32_t)n;
        data += n;
        dlen -= n;
    }
    return reply(s, "OK");
}

static void drop_pending(srv *s)
{
    for (size_t i = 0; i < s->npend; i++)
        free(s->pend[i].data);
    free(s->pend);
    s->pend = NULL;
    s->npend = 0;
}

/* Check an OTP run against the chip before anything is written: locked
 * blocks and 0 -> 1 changes are refused. */
static int check_otp(srv *s, const oflash_bank *b, const pending *pd, const uint8_t *cur)
{
    const oflash_bank *lock = oflash_device_bank(s->dev, "otp-lock");
    for (size_t i = 0; i < pd->len; i++) {
        uint32_t a = pd->addr + (uint32_t)i;
        if ((cur[i] & pd->data[i]) != pd->data[i])
            return oflash_error_set(OFLASH_ECONFLICT,
                                    "OTP 0x%08X holds 0x%02X: cannot become 0x%02X (OTP bits "
                                    "only go from 1 to 0)",
                                    a, cur[i], pd->data[i]);
        if (b->kind == OFLASH_BANK_OTP && lock && cur[i] != pd->data[i]) {
            int blk = oflash_bank_sector_at(b, a);
            uint8_t lb;
            if (blk >= 0 && (uint32_t)blk < lock->size &&
                oflash_probe_read_mem(&lb, s->p, lock->base + (uint32_t)blk, 1) == 0 && lb != 0xFF)
                return oflash_error_set(OFLASH_EPROTECTED,
                                        "OTP block %d (0x%08X) is locked (lock byte 0x%02X): "
                                        "0x%08X cannot change",
                                        blk, b->sectors[blk].addr, lb, a);
        }
    }
    return 0;
}

static int program_run(srv *s, const pending *pd)
{
    const oflash_bank *b = oflash_device_bank_at(s->dev, pd->addr);
    uint8_t *cur = malloc(pd->len + 8), *img = NULL;
    uint32_t start, end;
    int rc;
    if (!cur) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if (!b) {
        free(cur);
        return oflash_error_set(OFLASH_ERANGE, "0x%08X is not in a flash bank", pd->addr);
    }
    if (b->kind != OFLASH_BANK_FLASH) {
        rc = oflash_probe_read_mem(cur, s->p, pd->addr, pd->len);
        if (rc == 0) rc = check_otp(s, b, pd, cur);
        if (rc < 0) goto out;
    }
    if (b->kind == OFLASH_BANK_OTP_LOCK) {
        /* x8, only the bytes that lock (0x00); 0xFF is never written. */
        for (size_t i = 0; i < pd->len; i++) {
            if (pd->data[i] != 0x00 || cur[i] == 0x00) continue;
            rc = oflash__f4fi_program_bytes(s->p, pd->addr + (uint32_t)i, &pd->data[i], 1);
            if (rc < 0) goto out;
            logf_(s, OFLASH_LOG_INFO, "locked OTP block %u", (unsigned)(pd->addr + i - b->base));
        }
    } else {
        /* x32 words; bytes outside the run are padded with 0xFF, which
         * leaves flash bits as they are (a program is an AND). */
        start = pd->addr & ~3u;
        end = (uint32_t)(((uint64_t)pd->addr + pd->len + 3) & ~3ull);
        img = malloc(end - start);
        if (!img) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            goto out;
        }
        memset(img, 0xFF, end - start);
        memcpy(img + (pd->addr - start), pd->data, pd->len);
        /* Only words that change are programmed: a word that already holds
         * its value (0xFF after an erase, OTP written before, a locked OTP
         * block loaded again) needs no program access. */
        {
            uint8_t *now = malloc(end - start);
            size_t w = 0, nw = (end - start) / 4;
            if (!now) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
                goto out;
            }
            rc = oflash_probe_read_mem(now, s->p, start, end - start);
            while (rc == 0 && w < nw) {
                size_t w0;
                while (w < nw && !memcmp(now + 4 * w, img + 4 * w, 4))
                    w++;
                w0 = w;
                while (w < nw && memcmp(now + 4 * w, img + 4 * w, 4))
                    w++;
                if (w > w0)
                    rc = oflash__f4fi_program_words(s->p, start + 4 * (uint32_t)w0, img + 4 * w0,
                                                    4 * (w - w0));
            }
            free(now);
            if (rc < 0) goto out;
        }
    }
    /* Verify. */
    rc = oflash_probe_read_mem(cur, s->p, pd->addr, pd->len);
    if (rc == 0)
        for (size_t i = 0; i < pd->len; i++)
            if (cur[i] != pd->data[i]) {
                rc = oflash_error_set(OFLASH_EVERIFY,
                                      "verify after programming: 0x%08X reads 0x%02X, expected "
                                      "0x%02X (was the sector erased?)",
                                      pd->addr + (uint32_t)i, cur[i], pd->data[i]);
                break;
            }
out:
    free(cur);
    free(img);
    return rc;
}

static int handle_flash_done(srv *s)
{
    int rc = 0;
    size_t total = 0;
    /* OTP runs are checked before any of them is written. */
    for (size_t i = 0; i < s->npend && rc == 0; i++) {
        const pending *pd = &s->pend[i];
        const oflash_bank *b = oflash_device_bank_at(s->dev, pd->addr);
        if (b && b->kind != OFLASH_BANK_FLASH) {
            uint8_t *cur = malloc(pd->len);
            if (!cur)
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            else if ((rc = oflash_probe_read_mem(cur, s->p, pd->addr, pd->len)) == 0)
                rc = check_otp(s, b, pd, cur);
            free(cur);
        }
    }
    for (size_t i = 0; i < s->npend && rc == 0; i++) {
        rc = program_run(s, &s->pend[i]);
        total += s->pend[i].len;
    }
    (void)oflash__f4fi_lock(s->p);
    drop_pending(s);
    if (rc < 0) return reply_err(s, 0x0e, "vFlashDone");
    logf_(s, OFLASH_LOG_INFO, "programmed %zu bytes", total);
    return reply(s, "OK");
}

/* ---------------------------------------------------------------- dispatch */

static int handle(srv *s, size_t n)
{
    char *pk = s->buf;
    switch (pk[0]) {
    case '?':
        return reply_stop(s, SIG_TRAP);
    case 'g':
        return handle_g(s);
    case 'G':
        return handle_G(s, pk + 1, n - 1);
    case 'p':
        return handle_p(s, pk + 1);
    case 'P':
        return handle_P(s, pk + 1);
    case 'm':
        return handle_m(s, pk + 1);
    case 'M':
        return handle_write(s, pk, n, false);
    case 'X':
        return handle_write(s, pk, n, true);
    case 'c':
    case 'C':
        return resume(s, false);
    case 's':
    case 'S':
        return resume(s, true);
    case 'Z':
        return handle_Z(s, pk, true);
    case 'z':
        return handle_Z(s, pk, false);
    case 'H':
    case 'T':
        return reply(s, "OK");
    case 'D':
        s->end_session = true;
        return reply(s, "OK");
    case 'k':
        s->end_session = true;
        return 0;
    case 'q':
        if (!strncmp(pk, "qSupported", 10)) {
            char r[160];
            snprintf(r, sizeof r,
                     "PacketSize=%x;qXfer:features:read+;qXfer:memory-map:read+;"
                     "QStartNoAckMode+;vContSupported+",
                     SRV_PACKET_SIZE);
            return reply(s, r);
        }
#define PFX_TDESC "qXfer:features:read:target.xml:"
#define PFX_MMAP "qXfer:memory-map:read::"
        if (!strncmp(pk, PFX_TDESC, sizeof PFX_TDESC - 1))
            return reply_xfer(s, s->tdesc, s->tdesc_len, pk + sizeof PFX_TDESC - 1);
        if (!strncmp(pk, PFX_MMAP, sizeof PFX_MMAP - 1))
            return reply_xfer(s, s->mmap, s->mmap_len, pk + sizeof PFX_MMAP - 1);
        if (!strncmp(pk, "qXfer:", 6)) return reply(s, "E00");
        if (!strncmp(pk, "qRcmd,", 6)) return handle_rcmd(s, pk + 6);
        if (!strncmp(pk, "qCRC:", 5)) return handle_crc(s, pk + 5);
        if (!strcmp(pk, "qAttached")) return reply(s, "1");
        if (!strcmp(pk, "qC")) return reply(s, "QC1");
        if (!strcmp(pk, "qfThreadInfo")) return reply(s, "m1");
        if (!strcmp(pk, "qsThreadInfo")) return reply(s, "l");
        if (!strncmp(pk, "qSymbol", 7)) return reply(s, "OK");
        return reply(s, "");
    case 'Q':
        if (!strcmp(pk, "QStartNoAckMode")) {
            int rc = reply(s, "OK");
            if (rc == 0) s->rsp.noack = true;
            return rc;
        }
        return reply(s, "");
    case 'v':
        if (!strncmp(pk, "vCont", 5)) return handle_vcont(s, pk + 5);
        if (!strncmp(pk, "vFlashErase:", 12)) return handle_flash_erase(s, pk + 12);
        if (!strncmp(pk, "vFlashWrite:", 12)) return handle_flash_write(s, pk, n);
        if (!strcmp(pk, "vFlashDone")) return handle_flash_done(s);
        if (!strncmp(pk, "vKill", 5)) {
            s->end_session = true;
            return reply(s, "OK");
        }
        return reply(s, "");
    default:
        return reply(s, "");
    }
}

/* Remove software breakpoints a client left behind. */
static void cleanup_breakpoints(srv *s)
{
    for (size_t i = 0; i < s->nsw; i++)
        (void)oflash_probe_write_mem(s->p, s->sw[i].addr, s->sw[i].orig, 2);
    s->nsw = 0;
    s->hw_used = false;
}

static void serve_client(srv *s, int fd)
{
    oflash__rsp_init(&s->rsp, fd, s->peer);
    s->rsp.is_server = true;
    s->rsp.rx = &s->st->bytes_rx;
    s->rsp.tx = &s->st->bytes_tx;
    s->end_session = false;
    s->st->clients++;
    (void)oflash_probe_halt(s->p);
    while (!s->end_session && !stop_requested(s)) {
        size_t n;
        int rc = oflash__rsp_poll(&s->rsp, 200);
        if (rc == 0) continue;
        if (rc > 0)
            rc = oflash__rsp_recv(&s->rsp, s->buf, OFLASH__RSP_MAX_PAYLOAD + 1, &n,
                                  SRV_PACKET_TIMEOUT_MS, true);
        if (rc == OFLASH__RSP_INTERRUPT) continue; /* the core is already halted */
        if (rc == OFLASH_EINTERRUPTED) continue;
        if (rc < 0) {
            if (rc == OFLASH_ELINK)
                logf_(s, OFLASH_LOG_INFO, "client %s disconnected", s->peer);
            else
                logf_(s, OFLASH_LOG_WARN, "dropping client %s: %s", s->peer, oflash_error_last());
            break;
        }
        s->st->packets++;
        rc = handle(s, n);
        if (rc < 0) {
            logf_(s, OFLASH_LOG_WARN, "dropping client %s: %s", s->peer, oflash_error_last());
            break;
        }
    }
    drop_pending(s);
    cleanup_breakpoints(s);
    oflash__rsp_close(&s->rsp);
}

int oflash_gdbserver_run(oflash_probe *p, const oflash_device *dev,
                         const oflash_gdbserver_opts *opts)
{
    srv s;
    unsigned port = 0;
    int lfd, rc = 0;
    const char *listen_at = opts && opts->listen ? opts->listen : "127.0.0.1:3333";
    oflash_gdbserver_opts defaults = OFLASH_GDBSERVER_OPTS_INIT;
    if (!p || !dev) return oflash_error_set(OFLASH_EINVAL, "gdbserver needs a probe and a device");
    memset(&s, 0, sizeof s);
    s.p = p;
    s.dev = dev;
    s.o = opts ? opts : &defaults;
    s.st = s.o->stats ? s.o->stats : &s.local;
    memset(s.st, 0, sizeof *s.st);
    s.out_cap = 2 * (size_t)SRV_PACKET_SIZE + 64;
    s.buf = malloc(OFLASH__RSP_MAX_PAYLOAD + 1);
    s.out = malloc(s.out_cap);
    if (!s.buf || !s.out) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }
    {
        int r2[2] = {OFLASH_REG_MSP, OFLASH_REG_PSP};
        uint32_t v2[2];
        (void)oflash_probe_halt(p);
        s.nregs = oflash_probe_read_regs(v2, p, r2, 2) == 0 ? SRV_NREGS : 17;
    }
    if ((rc = build_tdesc(&s, s.nregs == SRV_NREGS)) < 0 || (rc = build_mmap(&s)) < 0) goto out;
    lfd = oflash__rsp_listen(listen_at, &port);
    if (lfd < 0) {
        rc = lfd;
        goto out;
    }
    logf_(&s, OFLASH_LOG_INFO, "listening on %.*s:%u for GDB (device %s, probe %s)",
          (int)(strrchr(listen_at, ':') - listen_at), listen_at, port, dev->name, p->spec);
    if (s.o->listening) s.o->listening(s.o->event_ctx, port);
    while (!stop_requested(&s)) {
        struct pollfd pfd = {lfd, POLLIN, 0};
        int fd;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (poll(&pfd, 1, 200) <= 0) continue;
        fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) continue;
        snprintf(s.peer, sizeof s.peer, "#%llu", (unsigned long long)s.st->clients + 1);
        logf_(&s, OFLASH_LOG_INFO, "client %s connected", s.peer);
        {
            oflash_gdbserver_stats b = *s.st;
            serve_client(&s, fd);
            logf_(&s, OFLASH_LOG_INFO,
                  "client %s: %llu packets, %llu bytes received, %llu bytes sent", s.peer,
                  (unsigned long long)(s.st->packets - b.packets),
                  (unsigned long long)(s.st->bytes_rx - b.bytes_rx),
                  (unsigned long long)(s.st->bytes_tx - b.bytes_tx));
        }
        if (s.o->once) break;
    }
    close(lfd);
out:
    free(s.buf);
    free(s.out);
    free(s.tdesc);
    free(s.mmap);
    return rc;
}
