/*
 * server.c - oflash gdbserver: serves any probe + device over the GDB
 * remote serial protocol, so GDB (and oflash's own client) can debug and
 * program the simulated chip, or anything else behind a probe.
 *
 * Follows "Debugging with GDB" appendix E (GDB 12/13) for the packets; the
 * target description and memory map documents are built in target_xml.c.
 * Flash programming is a client of the one flash path: vFlashErase and
 * vFlashWrite only collect (an erase records intent, a write stores bytes
 * in a staging copy of the bank); vFlashDone turns them into an image,
 * plans it (oflash_plan_create) and runs it (oflash_flash_execute) through
 * the device's flash loaders, with the OTP policy of `oflash program`.  A
 * refusal therefore touches nothing.  Bytes of a sector the client erased
 * and did not write become erased; bytes outside erased sectors are kept.
 *
 * Guards (without the opt-ins allow_otp / allow_option_bytes): memory
 * writes (M, X) into the OTP and lock-byte banks, the option-byte regions,
 * or the flash-interface registers the device lists in its guards table
 * are refused; on a sim: probe the simulated chip itself refuses OTP and
 * option byte programming for the session, whoever drives it.
 *
 * Invariants: one client at a time (others get a "busy" error reply and are
 * closed); the core is halted whenever a packet is being handled (a resume
 * returns only after a stop); staged flash data is bounded by the size of
 * the device's banks and dropped when the client goes away; a client
 * silent for idle_timeout_ms while the core is halted is disconnected.
 */
#include "gdb/gdb_internal.h"
#include "gdb/rsp.h"
#include "oflash/error.h"
#include "oflash/flash.h"
#include "oflash/gdb.h"
#include "oflash/journal.h"
#include "oflash/sim.h"
#include "oflash/sys/family.h"
#include "oflash/sys/probe.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Largest packet we accept (advertised as PacketSize). */
#define SRV_PACKET_SIZE 0x4000u
/* A client that stops sending in the middle of a packet is dropped. */
#define SRV_PACKET_TIMEOUT_MS 5000
/* Host time per probe run slice while the core runs (Ctrl-C latency). */
#define SRV_RUN_SLICE_MS 50
#define SRV_MAX_SWBP 64
#define SRV_NREGS 19
/* Refused clients: waiting for their first packet to answer "busy", then
 * draining their input until they close; each step at most SRV_CLOSING_MS. */
#define SRV_MAX_CLOSING 64
#define SRV_CLOSING_MS 3000
/* Pending connections the kernel queues while a client is served. */
#define SRV_LISTEN_BACKLOG 64

#define SIG_INT 2
#define SIG_TRAP 5
#define SIG_SEGV 11

/* Flash data a client sent since the last vFlashDone, per bank: a staging
 * copy of the bank (allocated on the first write), a bitmap of the bytes
 * written, and which sectors the client erased.  Bounded by the bank. */
typedef struct stage {
    const oflash_bank *bank;
    uint8_t *data;    /* bank->size bytes, or NULL */
    uint8_t *written; /* bank->size bits */
    bool *erased;     /* bank->sector_count, or NULL */
    bool any;         /* something written or erased */
} stage;

typedef struct closing {
    int fd;
    bool answered; /* the busy reply was sent */
    uint64_t deadline_ms;
} closing;

typedef struct srv {
    oflash_probe *p;
    const oflash_device *dev;
    oflash_gdbserver_opts o; /* a full copy: older versions get the defaults */
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
    stage *stages; /* one per device bank */
    uint64_t staged_limit;
    int lfd; /* listening socket */
    closing closing[SRV_MAX_CLOSING];
    size_t nclosing;
    bool end_session;
    int nregs; /* registers served: 17 (r0-r15, xpsr) or 19 (+ msp, psp) */
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
    if (s->o.event) s->o.event(s->o.event_ctx, level, msg);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --------------------------------------------------------------- replies */

static int reply_n(srv *s, const char *data, size_t len)
{
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

static bool write_allowed(srv *s, uint32_t addr, uint32_t len, const uint8_t *data, char *why,
                          size_t wlen);

static int handle_write(srv *s, const char *pkt, size_t plen, bool binary)
{
    char why[320];
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
    if (len && !write_allowed(s, addr, len, data, why, sizeof why)) {
        free(tmp);
        logf_(s, OFLASH_LOG_WARN, "memory write 0x%08X+0x%X refused: %s", addr, len, why);
        return reply(s, "E05");
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
    return s->o.stop && *s->o.stop;
}

static int tend(srv *s, unsigned timeout_ms, bool with_client, bool busy);

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
        (void)tend(s, 0, false, true); /* refuse clients arriving while the core runs */
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

/* ---------------------------------------------------------------- guard */

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

/* Refuse an OTP write without allow_otp; with it, lock bytes only 0x00/0xFF. */
static bool otp_write_allowed(srv *s, uint32_t addr, uint32_t len, const uint8_t *data,
                              uint32_t base, uint32_t size, bool lock, char *why, size_t wlen)
{
    if (!overlaps(addr, len, base, size)) return true;
    if (!s->o.allow_otp) {
        snprintf(why, wlen,
                 "the write touches the %s area 0x%08X-0x%08X, which is one-time programmable; "
                 "start oflash gdbserver with --otp to allow it",
                 lock ? "OTP lock-byte" : "OTP", base, base + size - 1);
        return false;
    }
    if (lock)
        for (uint32_t k = 0; k < len; k++) {
            uint32_t a = addr + k;
            if (a >= base && a - base < size && data[k] != 0x00 && data[k] != 0xFF) {
                snprintf(why, wlen,
                         "OTP lock byte 0x%08X: value 0x%02X (expected 0x00 to lock or 0xFF to "
                         "leave open)",
                         a, data[k]);
                return false;
            }
        }
    return true;
}

/*
 * May a client write [addr, addr+len) with a memory write (M, X)?  Returns
 * true, or false with why filled (what is refused and which opt-in allows
 * it).  The addresses come from the device and its family: the OTP rules
 * (data and lock bytes, by address) and the device's OTP banks, its
 * option-byte regions, and the family's guarded registers (the
 * flash-interface registers that unlock them).
 */
static bool write_allowed(srv *s, uint32_t addr, uint32_t len, const uint8_t *data, char *why,
                          size_t wlen)
{
    const oflash_device *d = s->dev;
    const oflash_family_ops *fam = d->family_ops;
    oflash_otp_rules rules;
    /* The family's OTP rules (by address), then the device's OTP banks. */
    if (fam && fam->otp_rules && fam->otp_rules(d, &rules) == 0 &&
        rules.kind != OFLASH_OTP_NONE) {
        if (!otp_write_allowed(s, addr, len, data, rules.data_base, rules.data_size, false, why,
                               wlen))
            return false;
        if (rules.kind == OFLASH_OTP_BLOCK_LOCK &&
            !otp_write_allowed(s, addr, len, data, rules.lock_base, rules.lock_count, true, why,
                               wlen))
            return false;
    }
    for (size_t i = 0; i < d->bank_count; i++) {
        const oflash_bank *b = &d->banks[i];
        if (b->kind != OFLASH_BANK_FLASH &&
            !otp_write_allowed(s, addr, len, data, b->base, b->size,
                               b->kind == OFLASH_BANK_OTP_LOCK, why, wlen))
            return false;
    }
    if (!s->o.allow_option_bytes)
        for (size_t i = 0; i < d->region_count; i++) {
            const oflash_region *r = &d->regions[i];
            if (r->kind == OFLASH_REGION_OPTION && overlaps(addr, len, r->base, r->size)) {
                snprintf(why, wlen,
                         "the write touches the option bytes 0x%08X-0x%08X (read protection, "
                         "write protection); start oflash gdbserver with --allow-option-bytes "
                         "to allow it",
                         r->base, r->base + r->size - 1);
                return false;
            }
        }
    for (size_t i = 0; fam && i < fam->guard_count; i++) {
        const oflash_guard_reg *g = &fam->guards[i];
        bool otp = g->kind == OFLASH_GUARD_OTP;
        if (!overlaps(addr, len, g->addr, g->size)) continue;
        if (otp ? s->o.allow_otp : s->o.allow_option_bytes) continue;
        snprintf(why, wlen,
                 "the write to %s (0x%08X) would unlock %s; start oflash gdbserver with %s to "
                 "allow it",
                 g->name, g->addr,
                 otp ? "OTP programming" : "the option bytes (read protection, write protection)",
                 otp ? "--otp" : "--allow-option-bytes");
        return false;
    }
    return true;
}

/* The guards the simulated chip keeps for the session (sim: probes only). */
static void set_sim_guard(srv *s)
{
    unsigned g = (s->o.allow_otp ? 0 : OFLASH_SIM_GUARD_OTP) |
                 (s->o.allow_option_bytes ? 0 : OFLASH_SIM_GUARD_OPTION_BYTES);
    if (strcmp(oflash_probe_backend(s->p), "sim") != 0) return;
    if (oflash_sim_probe_guard(s->p, g) == 0 && g)
        logf_(s, OFLASH_LOG_INFO, "simulated chip: %s%s%s refused for this session",
              g & OFLASH_SIM_GUARD_OTP ? "OTP programming" : "",
              g == (OFLASH_SIM_GUARD_OTP | OFLASH_SIM_GUARD_OPTION_BYTES) ? " and " : "",
              g & OFLASH_SIM_GUARD_OPTION_BYTES ? "option byte programming" : "");
}

/* ---------------------------------------------------------------- flash */

static void drop_pending(srv *s)
{
    for (size_t i = 0; s->stages && i < s->dev->bank_count; i++) {
        stage *g = &s->stages[i];
        free(g->data);
        free(g->written);
        free(g->erased);
        g->data = g->written = NULL;
        g->erased = NULL;
        g->any = false;
    }
}

static stage *stage_at(srv *s, uint32_t addr)
{
    for (size_t i = 0; i < s->dev->bank_count; i++) {
        const oflash_bank *b = &s->dev->banks[i];
        if (addr >= b->base && addr - b->base < b->size) return &s->stages[i];
    }
    return NULL;
}

/* Returns 0 after a reply was sent or a negative link error. */
static int flash_refused(srv *s, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int flash_refused(srv *s, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    logf_(s, OFLASH_LOG_WARN, "%s", msg);
    return reply(s, code);
}

/* vFlashErase: record which sectors the client erased; nothing is erased
 * before vFlashDone.  OTP and lock bytes are never erased (the plan decides
 * what they may become). */
static int handle_flash_erase(srv *s, const char *args)
{
    uint32_t addr, len;
    const char *e;
    uint64_t a, end;
    if (parse_addr_len(args, &addr, &len, &e) < 0 || *e || len == 0 ||
        (uint64_t)addr + len > 0x100000000ull)
        return reply(s, "E01");
    end = (uint64_t)addr + len;
    /* Check the whole range first: a refused erase records nothing. */
    for (a = addr; a < end;) {
        stage *g = stage_at(s, (uint32_t)a);
        const oflash_bank *b;
        if (!g)
            return flash_refused(s, "E01", "vFlashErase 0x%08X+0x%X: 0x%08X is in no flash bank",
                                 addr, len, (uint32_t)a);
        b = g->bank;
        if (b->kind == OFLASH_BANK_FLASH)
            for (size_t i = 0; i < b->sector_count; i++) {
                const oflash_sector *sec = &b->sectors[i];
                if (!overlaps(addr, len, sec->addr, sec->size)) continue;
                if (sec->addr < addr || (uint64_t)sec->addr + sec->size > end)
                    return flash_refused(s, "E01",
                                         "vFlashErase 0x%08X+0x%X covers only part of sector %u "
                                         "(0x%08X+0x%X)",
                                         addr, len, sec->number, sec->addr, sec->size);
            }
        a = (uint64_t)b->base + b->size;
    }
    for (a = addr; a < end;) {
        stage *g = stage_at(s, (uint32_t)a);
        const oflash_bank *b = g->bank;
        if (b->kind == OFLASH_BANK_FLASH) {
            if (!g->erased && !(g->erased = calloc(b->sector_count, sizeof *g->erased)))
                return reply(s, "E0c");
            for (size_t i = 0; i < b->sector_count; i++)
                if (overlaps(addr, len, b->sectors[i].addr, b->sectors[i].size))
                    g->erased[i] = g->any = true;
        }
        a = (uint64_t)b->base + b->size;
    }
    return reply(s, "OK");
}

/* vFlashWrite: store the bytes in the staging copy of their bank(s).  Data
 * outside the device's banks is refused, so what is staged never exceeds
 * the device's flash + OTP size, however many packets arrive. */
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
    for (size_t off = 0; off < dlen;) {
        stage *g = stage_at(s, addr + (uint32_t)off);
        const oflash_bank *b;
        uint32_t boff;
        size_t n;
        if (!g)
            return flash_refused(s, "E01",
                                 "vFlashWrite 0x%08X+0x%zX: 0x%08X is in no flash or OTP bank "
                                 "(staged data is limited to the device's %llu bytes of flash "
                                 "and OTP)",
                                 addr, dlen, addr + (uint32_t)off,
                                 (unsigned long long)s->staged_limit);
        b = g->bank;
        boff = addr + (uint32_t)off - b->base;
        n = dlen - off;
        if (n > b->size - boff) n = b->size - boff;
        if (!g->data) {
            g->data = malloc(b->size);
            g->written = calloc((b->size + 7) / 8, 1);
            if (!g->data || !g->written) {
                free(g->data);
                free(g->written);
                g->data = g->written = NULL;
                return flash_refused(s, "E0c", "vFlashWrite: out of memory staging %u bytes",
                                     b->size);
            }
        }
        memcpy(g->data + boff, data + off, n);
        for (size_t k = boff; k < boff + n; k++)
            g->written[k / 8] |= (uint8_t)(1u << (k % 8));
        g->any = true;
        off += n;
    }
    return reply(s, "OK");
}

static bool staged_byte(const stage *g, size_t k)
{
    return g->written && (g->written[k / 8] >> (k % 8)) & 1;
}

/* The image vFlashDone programs: written bytes, and erased_value for the
 * bytes of erased sectors that were not written. */
static int staged_image(srv *s, oflash_image *img)
{
    for (size_t i = 0; i < s->dev->bank_count; i++) {
        const stage *g = &s->stages[i];
        const oflash_bank *b = g->bank;
        size_t sec = 0;
        if (!g->any) continue;
        for (size_t k = 0; k < b->size;) {
            size_t j = k;
            bool w = staged_byte(g, k), in_erased;
            uint32_t a = b->base + (uint32_t)k;
            while (g->erased && sec < b->sector_count &&
                   (uint64_t)b->sectors[sec].addr + b->sectors[sec].size <= a)
                sec++;
            in_erased = g->erased && sec < b->sector_count && a >= b->sectors[sec].addr &&
                        g->erased[sec];
            if (!w && !in_erased) {
                k++;
                continue;
            }
            /* A run of written bytes, or of unwritten bytes of one erased sector. */
            if (w)
                while (j < b->size && staged_byte(g, j))
                    j++;
            else {
                uint64_t se = (uint64_t)b->sectors[sec].addr + b->sectors[sec].size - b->base;
                while (j < se && !staged_byte(g, j))
                    j++;
            }
            if (w) {
                if (oflash_image_add(img, a, g->data + k, j - k, "vFlashWrite") < 0) return -1;
            } else {
                uint8_t *fill = malloc(j - k);
                int rc;
                if (!fill) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
                memset(fill, b->erased_value, j - k);
                rc = oflash_image_add(img, a, fill, j - k, "vFlashErase");
                free(fill);
                if (rc < 0) return rc;
            }
            k = j;
        }
    }
    return 0;
}

/* Log the conflicts of a refused plan (the first few) for the technician. */
static void log_conflicts(srv *s, const oflash_plan *plan)
{
    for (size_t i = 0; i < plan->conflict_count && i < 4; i++) {
        const oflash_plan_conflict *c = &plan->conflicts[i];
        const char *what = c->kind == OFLASH_CONFLICT_OTP_LOCKED    ? "the block is locked"
                           : c->kind == OFLASH_CONFLICT_LOCK_BYTE   ? "the block is locked, the "
                                                                      "image leaves it open"
                           : c->kind == OFLASH_CONFLICT_OTP_PARTIAL ? "partly programmed"
                                                                    : "already programmed";
        logf_(s, OFLASH_LOG_WARN,
              "  OTP block %u, 0x%08X: chip holds 0x%02X, image wants 0x%02X (%s)", c->block,
              c->addr, c->chip, c->image, what);
    }
    if (plan->conflict_count > 4)
        logf_(s, OFLASH_LOG_WARN, "  ... and %zu more", plan->conflict_count - 4);
}

/*
 * The loader runs on the core in work RAM: keep what the client had there
 * (sections gdb loaded into RAM before vFlashDone) and its registers.
 */
typedef struct core_state {
    uint8_t *ram;
    uint32_t ram_start, ram_size;
    uint32_t regs[SRV_NREGS];
    int nregs;
} core_state;

static void core_save(srv *s, core_state *cs)
{
    int r[SRV_NREGS];
    memset(cs, 0, sizeof *cs);
    for (int i = 0; i < SRV_NREGS; i++)
        r[i] = i;
    if (oflash_probe_read_regs(cs->regs, s->p, r, (size_t)s->nregs) == 0) cs->nregs = s->nregs;
    cs->ram_start = s->dev->work_ram_start;
    cs->ram_size = s->dev->work_ram_size;
    cs->ram = cs->ram_size ? malloc(cs->ram_size) : NULL;
    if (cs->ram && oflash_probe_read_mem(cs->ram, s->p, cs->ram_start, cs->ram_size) < 0) {
        free(cs->ram);
        cs->ram = NULL;
    }
}

static void core_restore(srv *s, core_state *cs)
{
    int r[SRV_NREGS];
    for (int i = 0; i < SRV_NREGS; i++)
        r[i] = i;
    if (cs->ram) (void)oflash_probe_write_mem(s->p, cs->ram_start, cs->ram, cs->ram_size);
    if (cs->nregs) (void)oflash_probe_write_regs(s->p, r, cs->regs, (size_t)cs->nregs);
    free(cs->ram);
}

/* vFlashDone: plan the staged image against the chip and execute it with
 * the executor of `oflash program`.  Every check of the plan passes before
 * the first erase; a refusal writes nothing. */
static int handle_flash_done(srv *s)
{
    oflash_image *img = NULL;
    oflash_plan *plan = NULL;
    oflash_target *t = NULL;
    oflash_target_view view;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_flash_stats st;
    oflash_journal *journal = NULL;
    core_state cs;
    bool saved = false;
    int rc;
    const char *code = "E0e";

    memset(&st, 0, sizeof st);
    rc = oflash_image_new(&img);
    if (rc == 0) rc = staged_image(s, img);
    drop_pending(s);
    if (rc == 0 && oflash_image_size(img) == 0) {
        oflash_image_free(img);
        return reply(s, "OK");
    }
    if (rc == 0) rc = oflash_target_open_probe(&t, s->p, s->dev, NULL);
    /* The recovery journal, as `oflash program` keeps it: an interrupted
     * earlier load is restored before planning, and the bytes this load
     * keeps in the sectors it erases (and the OTP it writes) are journaled
     * before the first erase.  A journal that does not check out refuses
     * the load: nothing is written. */
    if (rc == 0) {
        oflash_journal_opts jo = OFLASH_JOURNAL_OPTS_INIT;
        jo.dir = s->o.version >= 3 ? s->o.journal_dir : NULL;
        rc = oflash_journal_open(&journal, t, &jo);
        if (rc == 0) {
            oflash_journal_recovery rec;
            memset(&rec, 0, sizeof rec);
            core_save(s, &cs);
            saved = true;
            rc = oflash_journal_recover(&rec, journal, t);
            if (rc == 0 && rec.sectors_restored)
                logf_(s, OFLASH_LOG_WARN,
                      "vFlashDone: restored %zu sector(s) an interrupted run had erased, from "
                      "the recovery journal",
                      rec.sectors_restored);
        }
        if (rc < 0) oflash_error_prefix("recovery journal: ");
    }
    if (rc < 0) {
        logf_(s, OFLASH_LOG_WARN, "vFlashDone: %s; nothing was written", oflash_error_last());
        if (saved) core_restore(s, &cs);
        oflash_journal_close(journal);
        oflash_target_close(t);
        oflash_image_free(img);
        return reply(s, code);
    }
    oflash_target_view_init(&view, t);
    po.allow_otp = s->o.allow_otp;
    oflash_journal_otp_started(&po.otp_started, &po.otp_started_count, journal);
    fo.journal = journal;
    rc = oflash_plan_create(&plan, img, s->dev, &view, &po);
    if (rc == OFLASH_ECONFLICT) {
        code = "E05";
        logf_(s, OFLASH_LOG_WARN,
              "vFlashDone refused: %zu OTP byte(s) of the image conflict with the chip; nothing "
              "was written",
              plan->conflict_count);
        log_conflicts(s, plan);
    } else if (rc == OFLASH_EPROTECTED || rc == OFLASH_ERANGE || rc == OFLASH_EINVAL) {
        code = "E05";
        logf_(s, OFLASH_LOG_WARN, "vFlashDone refused: %s; nothing was written",
              oflash_error_last());
    } else if (rc < 0) {
        logf_(s, OFLASH_LOG_WARN, "vFlashDone: reading the chip to plan: %s; nothing was written",
              oflash_error_last());
    } else if (oflash_plan_is_noop(plan)) {
        logf_(s, OFLASH_LOG_INFO,
              "vFlashDone: the chip already holds the %llu bytes loaded: nothing written",
              (unsigned long long)oflash_image_size(img));
    } else if ((rc = oflash_flash_execute(&st, t, plan, &fo)) < 0) {
        logf_(s, OFLASH_LOG_WARN, "vFlashDone: %s", oflash_error_last());
    } else {
        logf_(s, OFLASH_LOG_INFO,
              "vFlashDone: %zu sector%s erased, %zu unchanged, %llu bytes programmed, %zu OTP "
              "byte%s, %zu OTP block%s locked; verify ok",
              st.sectors_erased, st.sectors_erased == 1 ? "" : "s", st.sectors_skipped,
              (unsigned long long)st.bytes_programmed, st.otp_bytes_programmed,
              st.otp_bytes_programmed == 1 ? "" : "s", st.otp_blocks_locked,
              st.otp_blocks_locked == 1 ? "" : "s");
    }
    oflash_journal_close(journal);
    oflash_target_close(t); /* releases the loader; the probe stays open */
    core_restore(s, &cs);
    oflash_plan_free(plan);
    oflash_image_free(img);
    return reply(s, rc < 0 ? code : "OK");
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
            /* oflash-guard: what this session refuses (oflash's client
             * checks it before programming; GDB ignores it). */
            char r[200];
            bool otp = !s->o.allow_otp, opt = !s->o.allow_option_bytes;
            snprintf(r, sizeof r,
                     "PacketSize=%x;qXfer:features:read+;qXfer:memory-map:read+;"
                     "QStartNoAckMode+;vContSupported+%s%s%s%s",
                     SRV_PACKET_SIZE, otp || opt ? ";oflash-guard=" : "", otp ? "otp" : "",
                     otp && opt ? "," : "", opt ? "option-bytes" : "");
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

/* ---------------------------------------------------------- connections */

static void close_refused(srv *s, size_t i)
{
    close(s->closing[i].fd);
    s->closing[i] = s->closing[--s->nclosing];
}

/* Another client while one is served: it waits (without blocking the
 * session) for its first packet, gets a clear error reply to it, and is
 * closed.  GDB shows the reply to its qSupported as "Remote failure reply:
 * E.oflash gdbserver is busy: ...".  The socket is then half-closed and
 * its input drained for a moment so that the reply is not lost to a reset. */
static void refuse_busy(srv *s, int fd)
{
    if (s->nclosing == SRV_MAX_CLOSING) close_refused(s, 0);
    s->closing[s->nclosing].fd = fd;
    s->closing[s->nclosing].answered = false;
    s->closing[s->nclosing].deadline_ms = now_ms() + SRV_CLOSING_MS;
    s->nclosing++;
    s->st->busy_refused++;
    logf_(s, OFLASH_LOG_INFO, "another client connected while %s is served: refused (busy)",
          s->peer);
}

static void answer_busy(srv *s, closing *c)
{
    char msg[160], pkt[200];
    unsigned cs = 0;
    int n;
    /* No '#', '$', '}' or '*' in the text: the peer name "#N" loses its '#'. */
    snprintf(msg, sizeof msg,
             "E.oflash gdbserver is busy: client %s is connected; try again when it disconnects",
             s->peer[0] == '#' ? s->peer + 1 : s->peer);
    for (const char *p = msg; *p; p++)
        cs += (unsigned char)*p;
    /* '+' acknowledges the client's packet (GDB discards a reply that
     * arrives before the acknowledgement). */
    n = snprintf(pkt, sizeof pkt, "+$%s#%02x", msg, cs & 0xFFu);
    (void)!send(c->fd, pkt, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    shutdown(c->fd, SHUT_WR);
    c->answered = true;
    c->deadline_ms = now_ms() + SRV_CLOSING_MS;
}

/* Has the client being served closed its side (killed, or gone after its
 * last packet)?  Then a new client waits in the queue for its turn instead
 * of being refused. */
static bool client_gone(srv *s)
{
    struct pollfd q = {s->rsp.fd, POLLRDHUP, 0};
    return s->rsp.fd < 0 || (poll(&q, 1, 0) > 0 && (q.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

/*
 * Wait up to timeout_ms for input from the client being served (with_client)
 * or for a new connection, draining refused ones; while a client is served
 * (busy), new connections are refused at once.  Returns 1 when the client
 * has input, 0 otherwise.
 */
static int tend(srv *s, unsigned timeout_ms, bool with_client, bool busy)
{
    struct pollfd pf[2 + SRV_MAX_CLOSING];
    nfds_t n = 0;
    int lidx, ready = 0;
    uint64_t now = now_ms();
    if (with_client) pf[n++] = (struct pollfd){s->rsp.fd, POLLIN, 0};
    lidx = (int)n;
    pf[n++] = (struct pollfd){s->lfd, POLLIN, 0};
    for (size_t i = 0; i < s->nclosing; i++) {
        uint64_t left = s->closing[i].deadline_ms > now ? s->closing[i].deadline_ms - now : 0;
        if (left < timeout_ms) timeout_ms = (unsigned)left;
        pf[n++] = (struct pollfd){s->closing[i].fd, POLLIN, 0};
    }
    if (poll(pf, n, (int)timeout_ms) < 0) return 0;
    if (with_client && pf[0].revents) ready = 1;
    /* Closing sockets: drain; close on EOF, error or deadline (from the end:
     * close_refused moves the last one into the hole). */
    now = now_ms();
    for (size_t i = s->nclosing; i-- > 0;) {
        struct pollfd *q = &pf[(size_t)lidx + 1 + i];
        char junk[512];
        bool done = s->closing[i].deadline_ms <= now;
        if (q->revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(q->fd, junk, sizeof junk, MSG_DONTWAIT);
            if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR))) done = true;
            /* The end of the client's first packet: answer it. */
            if (r > 0 && !s->closing[i].answered && memchr(junk, '#', (size_t)r))
                answer_busy(s, &s->closing[i]);
        }
        if (done) close_refused(s, i);
    }
    if (busy && (pf[lidx].revents & POLLIN) && !client_gone(s))
        for (;;) {
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) break;
            refuse_busy(s, fd);
        }
    return ready;
}

static void serve_client(srv *s, int fd)
{
    uint64_t last = now_ms();
    oflash__rsp_init(&s->rsp, fd, s->peer);
    s->rsp.is_server = true;
    s->rsp.rx = &s->st->bytes_rx;
    s->rsp.tx = &s->st->bytes_tx;
    s->end_session = false;
    s->st->clients++;
    (void)oflash_probe_halt(s->p);
    while (!s->end_session && !stop_requested(s)) {
        size_t n;
        int rc = oflash__rsp_poll(&s->rsp, 0);
        if (rc == 0) rc = tend(s, 200, true, true);
        if (rc == 0) {
            if (s->o.idle_timeout_ms && now_ms() - last >= s->o.idle_timeout_ms) {
                logf_(s, OFLASH_LOG_WARN,
                      "client %s sent nothing for %u s: disconnecting it (--idle-timeout)",
                      s->peer, (s->o.idle_timeout_ms + 999) / 1000);
                break;
            }
            continue;
        }
        if (rc > 0)
            rc = oflash__rsp_recv(&s->rsp, s->buf, OFLASH__RSP_MAX_PAYLOAD + 1, &n,
                                  SRV_PACKET_TIMEOUT_MS, true);
        last = now_ms();
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
        last = now_ms();
        if (rc < 0) {
            logf_(s, OFLASH_LOG_WARN, "dropping client %s: %s", s->peer, oflash_error_last());
            break;
        }
    }
    if (stop_requested(s)) {
        /* Stopped between packets: a load whose vFlashDone did not come yet
         * has written nothing (erase and program happen at vFlashDone,
         * which always runs to its end). */
        uint64_t staged = 0;
        for (size_t i = 0; s->stages && i < s->dev->bank_count; i++)
            if (s->stages[i].any)
                for (uint32_t k = 0; k < s->stages[i].bank->size; k++)
                    staged += staged_byte(&s->stages[i], k);
        if (staged)
            logf_(s, OFLASH_LOG_WARN,
                  "stopped during a GDB load before it finished (no vFlashDone yet): its %llu "
                  "byte%s were not written, the flash holds what it held before that load; load "
                  "again to complete it",
                  (unsigned long long)staged, staged == 1 ? "" : "s");
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
    int rc = 0;
    const char *listen_at = opts && opts->listen ? opts->listen : "127.0.0.1:3333";
    oflash_gdbserver_opts defaults = OFLASH_GDBSERVER_OPTS_INIT;
    if (!p || !dev) return oflash_error_set(OFLASH_EINVAL, "gdbserver needs a probe and a device");
    memset(&s, 0, sizeof s);
    s.p = p;
    s.dev = dev;
    s.lfd = -1;
    s.o = defaults;
    if (opts && opts->version >= 2)
        s.o = *opts;
    else if (opts) /* version 1: the fields up to stats */
        memcpy(&s.o, opts, offsetof(oflash_gdbserver_opts, allow_option_bytes));
    s.st = s.o.stats ? s.o.stats : &s.local;
    memset(s.st, 0, sizeof *s.st);
    s.out_cap = 2 * (size_t)SRV_PACKET_SIZE + 64;
    s.buf = malloc(OFLASH__RSP_MAX_PAYLOAD + 1);
    s.out = malloc(s.out_cap);
    s.stages = calloc(dev->bank_count ? dev->bank_count : 1, sizeof *s.stages);
    if (!s.buf || !s.out || !s.stages) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < dev->bank_count; i++) {
        s.stages[i].bank = &dev->banks[i];
        s.staged_limit += dev->banks[i].size;
    }
    {
        int r2[2] = {OFLASH_REG_MSP, OFLASH_REG_PSP};
        uint32_t v2[2];
        (void)oflash_probe_halt(p);
        s.nregs = oflash_probe_read_regs(v2, p, r2, 2) == 0 ? SRV_NREGS : 17;
    }
    if ((rc = oflash__gdb_tdesc_xml(&s.tdesc, &s.tdesc_len, s.nregs == SRV_NREGS)) < 0 ||
        (rc = oflash__gdb_memory_map_xml(&s.mmap, &s.mmap_len, dev)) < 0)
        goto out;
    s.lfd = oflash__rsp_listen(listen_at, &port, SRV_LISTEN_BACKLOG);
    if (s.lfd < 0) {
        rc = s.lfd;
        s.lfd = -1;
        goto out;
    }
    set_sim_guard(&s);
    logf_(&s, OFLASH_LOG_INFO, "listening on %.*s:%u for GDB (device %s, probe %s)",
          (int)(strrchr(listen_at, ':') - listen_at), listen_at, port, dev->name, p->spec);
    if (s.o.listening) s.o.listening(s.o.event_ctx, port);
    while (!stop_requested(&s)) {
        int fd;
        (void)tend(&s, 200, false, false);
        fd = accept4(s.lfd, NULL, NULL, SOCK_CLOEXEC);
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
        if (s.o.once) break;
    }
    if (stop_requested(&s)) {
        /* A requested stop leaves the core halted, as a run interrupted
         * anywhere else does. */
        if (oflash_probe_halt(p) < 0)
            logf_(&s, OFLASH_LOG_WARN, "stopping: halting the core failed: %s; it may still run",
                  oflash_error_last());
        else
            logf_(&s, OFLASH_LOG_INFO, "stopped on request between GDB packets, core halted");
    }
out:
    while (s.nclosing)
        close_refused(&s, s.nclosing - 1);
    if (s.lfd >= 0) close(s.lfd);
    drop_pending(&s);
    free(s.stages);
    free(s.buf);
    free(s.out);
    free(s.tdesc);
    free(s.mmap);
    if (strcmp(oflash_probe_backend(p), "sim") == 0) (void)oflash_sim_probe_guard(p, 0);
    return rc;
}
