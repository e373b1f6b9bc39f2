/*
 * client.c - the "gdb" probe backend: drives any GDB remote-protocol server
 * (OpenOCD, J-Link GDB Server, pyOCD, st-util, Black Magic Probe, QEMU,
 * oflash gdbserver) over TCP or a serial line.
 *
 * Follows "Debugging with GDB" appendix E (GDB 12/13): qSupported,
 * QStartNoAckMode, qXfer:features:read (target descriptions, appendix G),
 * qXfer:memory-map:read, m/M/X, g/G/p/P, Z0/Z1, c, stop replies, qRcmd,
 * vFlashErase/vFlashWrite/vFlashDone.  Register numbers come from the
 * target description (QEMU 7.2 answers p/P only after target.xml was read
 * and puts xPSR at 25, gdb's default ARM numbering).
 *
 * Invariants: the server is in all-stop mode and halted whenever no call is
 * in progress, except after reset(halt=false) (c->running), which the next
 * call ends with a Ctrl-C; every reply is read into c->buf (NUL terminated,
 * at most OFLASH__RSP_MAX_PAYLOAD bytes) and parsed without trusting any
 * length or number in it.
 */
#include "gdb/gdb_internal.h"
#include "gdb/rsp.h"
#include "oflash/error.h"
#include "oflash/gdb.h"
#include "probe/probe_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 5000
#define DEFAULT_RUN_TIMEOUT_MS 10000
/* Without a PacketSize gdb assumes 400 bytes (remote.c, DEFAULT_PACKET_SIZE
 * history); a server that says more is capped to what we buffer. */
#define DEFAULT_PACKET_SIZE 400
#define MAX_XML (64u * 1024u)
#define MAX_XML_DEPTH 4
#define MAX_REGS 256
#define MAX_MAP 256
/* Stop reply signal numbers (gdb's own numbering). */
#define SIG_INT 2
#define SIG_TRAP 5

typedef struct greg {
    char name[16];
    int num;
    int bits;
} greg;

typedef struct gdb_client {
    oflash__rsp rsp;
    char peer[256];
    unsigned timeout_ms;
    size_t packet_size;  /* largest payload the server accepts */
    char features[1024]; /* qSupported reply */
    bool running;        /* resumed without waiting (reset run) */
    int vector_catch;    /* DEMCR keeps the VC_* bits: 0 not asked yet, 1 yes, -1 no */
    bool vc_set;         /* VC_* bits set by us: DEMCR was demcr_orig before */
    uint32_t demcr_orig;
    int x_state;         /* X support: 0 unknown, 1 yes, -1 no (use M) */
    int p_state;         /* p/P: 0 unknown, 1 yes, -1 no (use g/G) */
    bool z1_unsupported;
    greg regs[MAX_REGS]; /* from the target description */
    size_t nregs;
    int regnum[OFLASH_REG_COUNT]; /* gdb register number, -1 unknown */
    int regoff[OFLASH_REG_COUNT]; /* byte offset in the g packet, -1 unknown */
    int g_len;                    /* bytes in a g reply per the description, 0 unknown */
    bool g_unavailable;           /* g marked registers 'x': write with P only */
    oflash_gdb_mem_region map[MAX_MAP];
    size_t map_count;
    char *reset_cmd, *halt_cmd;
    char *reset_found; /* the default reset command that worked */
    char *buf;         /* reply buffer, OFLASH__RSP_MAX_PAYLOAD + 1 */
    char *out;         /* request buffer, packet_size + 1 */
    oflash_probe *probe;
} gdb_client;

static gdb_client *cl(oflash_probe *p)
{
    return p->priv;
}

/* ---------------------------------------------------------------- requests */

static bool is_hex_str(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (oflash__hexval((unsigned char)s[i]) < 0) return false;
    return true;
}

/* "E NN" (or "E.text"): the server's error reply. */
static bool is_error(const char *r, size_t n)
{
    return r[0] == 'E' && ((n == 3 && is_hex_str(r + 1, 2)) || (n >= 2 && r[1] == '.'));
}

static int err_reply(gdb_client *c, const char *what, const char *r)
{
    return oflash_error_set(OFLASH_ETARGET, "GDB server %s: %s failed: server replied '%.40s'",
                            c->peer, what, r);
}

/* Console output packet "O<hex>" (not "OK").  A bare "O" is OpenOCD's
 * keep-alive while the target runs for longer than it likes to be silent. */
static bool is_console(const char *r, size_t n)
{
    return r[0] == 'O' && n >= 1 && (n - 1) % 2 == 0 && is_hex_str(r + 1, n - 1);
}

static void log_console(gdb_client *c, const char *hex, size_t n, char *acc, size_t acc_cap)
{
    char text[512];
    size_t k = 0;
    for (size_t i = 0; i + 1 < n && k + 1 < sizeof text; i += 2) {
        int v =
            oflash__hexval((unsigned char)hex[i]) << 4 | oflash__hexval((unsigned char)hex[i + 1]);
        text[k++] = (char)(v >= 0x20 || v == '\n' || v == '\t' ? v : '?');
    }
    text[k] = '\0';
    if (acc && acc_cap) {
        size_t l = strlen(acc);
        snprintf(acc + l, acc_cap - l, "%s", text);
    }
    while (k && text[k - 1] == '\n')
        text[--k] = '\0';
    if (k) oflash_log(OFLASH_LOG_INFO, "gdb server %s: %s", c->peer, text);
}

/* Receive the reply to a request, passing console output to acc / the log. */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The reply must arrive within timeout_ms in all, console packets included
 * (a server trickling O packets cannot stretch a request). */
static int recv_reply(gdb_client *c, size_t *len, unsigned timeout_ms, char *acc, size_t acc_cap)
{
    uint64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        unsigned left = now >= deadline ? 0 : (unsigned)(deadline - now);
        int rc = oflash__rsp_recv(&c->rsp, c->buf, OFLASH__RSP_MAX_PAYLOAD + 1, len, left, false);
        if (rc < 0) return rc;
        if (!is_console(c->buf, *len)) return 0;
        log_console(c, c->buf + 1, *len - 1, acc, acc_cap);
    }
}

/* One round trip: send payload (text), receive the reply into c->buf. */
static int request_n(gdb_client *c, const char *payload, size_t plen, size_t *len)
{
    int rc;
    size_t dummy;
    if (!len) len = &dummy;
    rc = oflash__rsp_send(&c->rsp, payload, plen, c->timeout_ms);
    if (rc < 0) return rc;
    c->probe->stats.round_trips++;
    return recv_reply(c, len, c->timeout_ms, NULL, 0);
}

static int request(gdb_client *c, const char *payload, size_t *len)
{
    return request_n(c, payload, strlen(payload), len);
}

/* Request that must be answered "OK". */
static int request_ok(gdb_client *c, const char *payload, const char *what)
{
    size_t n;
    int rc = request(c, payload, &n);
    if (rc < 0) return rc;
    if (n == 2 && !strcmp(c->buf, "OK")) return 0;
    if (n == 0)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "GDB server %s: %s is not supported (empty reply to '%.20s')",
                                c->peer, what, payload);
    return err_reply(c, what, c->buf);
}

/* ------------------------------------------------------------ stop replies */

/* Parse a stop reply.  0 = stopped with *sig; W/X = target gone (error);
 * anything else is a protocol error. */
static int parse_stop(gdb_client *c, const char *r, size_t n, int *sig)
{
    if ((r[0] == 'T' || r[0] == 'S') && n >= 3 && is_hex_str(r + 1, 2)) {
        *sig = oflash__hexval((unsigned char)r[1]) << 4 | oflash__hexval((unsigned char)r[2]);
        return 0;
    }
    if ((r[0] == 'W' || r[0] == 'X') && n >= 3 && is_hex_str(r + 1, 2)) {
        int v = oflash__hexval((unsigned char)r[1]) << 4 | oflash__hexval((unsigned char)r[2]);
        oflash__rsp_close(&c->rsp);
        return oflash_error_set(OFLASH_ELINK,
                                "GDB server %s: the target %s (%s %d); QEMU exits this way when "
                                "the core locks up",
                                c->peer, r[0] == 'W' ? "exited" : "was terminated",
                                r[0] == 'W' ? "status" : "signal", v);
    }
    if (is_error(r, n)) return err_reply(c, "resuming the core", r);
    return oflash_error_set(
        OFLASH_EPROTO, "GDB server %s: expected a stop reply (T/S/W/X), got '%.40s'", c->peer, r);
}

/* Wait for a stop reply for up to timeout_ms; ETIMEOUT if none. */
static int wait_stop(gdb_client *c, unsigned timeout_ms, int *sig)
{
    size_t n;
    int rc = recv_reply(c, &n, timeout_ms, NULL, 0);
    if (rc < 0) return rc;
    return parse_stop(c, c->buf, n, sig);
}

/* Ctrl-C and the stop reply it causes. */
static int interrupt(gdb_client *c, int *sig)
{
    int rc = oflash__rsp_write_raw(&c->rsp, "\x03", 1, c->timeout_ms);
    if (rc < 0) return rc;
    c->probe->stats.round_trips++;
    rc = wait_stop(c, c->timeout_ms, sig);
    if (rc == OFLASH_ETIMEOUT) oflash_error_prefix("halting the core with Ctrl-C: ");
    return rc;
}

static int ensure_halted(gdb_client *c)
{
    int sig, rc;
    if (!c->running) return 0;
    rc = interrupt(c, &sig);
    if (rc < 0) return rc;
    c->running = false;
    return 0;
}

/* ---------------------------------------------------- target descriptions */

/* Value of attribute name in the tag starting at t (up to '>'), copied to
 * out.  false if absent. */
static bool xml_attr(const char *t, const char *end, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *s = t; s + nl + 2 < end; s++) {
        if ((s[-1] == ' ' || s[-1] == '\t' || s[-1] == '\n' || s[-1] == '\r') &&
            !strncmp(s, name, nl) && s[nl] == '=' && (s[nl + 1] == '"' || s[nl + 1] == '\'')) {
            char q = s[nl + 1];
            const char *v = s + nl + 2, *e = v;
            size_t k = 0;
            while (e < end && *e != q)
                e++;
            if (e >= end) return false;
            while (v < e && k + 1 < cap)
                out[k++] = *v++;
            out[k] = '\0';
            return true;
        }
    }
    return false;
}

static bool parse_num(const char *s, unsigned long *v)
{
    char *e;
    if (!*s) return false;
    *v = strtoul(s, &e, 0);
    return *e == '\0';
}

/* Read a qXfer object into a malloc'd NUL-terminated string. */
static int read_xfer(gdb_client *c, const char *object, const char *annex, char **out,
                     size_t *out_len)
{
    char req[320];
    size_t total = 0, cap = 4096, chunk;
    char *doc = malloc(cap);
    if (!doc) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    chunk = c->packet_size > 64 ? c->packet_size - 32 : 32;
    for (;;) {
        size_t n;
        int rc;
        snprintf(req, sizeof req, "qXfer:%s:read:%s:%zx,%zx", object, annex, total, chunk);
        rc = request(c, req, &n);
        if (rc < 0) {
            free(doc);
            return rc;
        }
        if (n == 0 || (c->buf[0] != 'm' && c->buf[0] != 'l')) {
            free(doc);
            if (n == 0)
                return oflash_error_set(OFLASH_EUNSUPPORTED,
                                        "GDB server %s: qXfer:%s:read of '%s' not supported",
                                        c->peer, object, annex);
            return err_reply(
                c, object[0] == 'f' ? "reading the target description" : "reading the memory map",
                c->buf);
        }
        if (total + n > MAX_XML) {
            free(doc);
            return oflash_error_set(OFLASH_EPROTO, "GDB server %s: %s '%s' longer than %u bytes",
                                    c->peer, object, annex, MAX_XML);
        }
        while (total + n + 1 > cap) {
            char *nd = realloc(doc, cap * 2);
            if (!nd) {
                free(doc);
                return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            }
            doc = nd;
            cap *= 2;
        }
        memcpy(doc + total, c->buf + 1, n - 1);
        total += n - 1;
        if (c->buf[0] == 'l') break;
        if (n == 1) {
            free(doc);
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: qXfer '%s' returned 'm' with no data", c->peer,
                                    annex);
        }
    }
    doc[total] = '\0';
    *out = doc;
    if (out_len) *out_len = total;
    return 0;
}

static int parse_tdesc(gdb_client *c, const char *annex, int depth, int *next)
{
    char *doc;
    size_t len;
    int rc;
    if (depth > MAX_XML_DEPTH)
        return oflash_error_set(OFLASH_EPROTO,
                                "GDB server %s: target description includes nest deeper than %d",
                                c->peer, MAX_XML_DEPTH);
    rc = read_xfer(c, "features", annex, &doc, &len);
    if (rc < 0) return rc;
    for (const char *s = doc; (s = strchr(s, '<')) != NULL;) {
        const char *end = strchr(s, '>');
        char v[128];
        if (!end) break;
        if (!strncmp(s, "<reg", 4) && (s[4] == ' ' || s[4] == '\t' || s[4] == '\n')) {
            unsigned long num = (unsigned long)*next, bits = 32;
            greg *g;
            if (c->nregs >= MAX_REGS) {
                free(doc);
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: more than %d registers in the target "
                                        "description",
                                        c->peer, MAX_REGS);
            }
            g = &c->regs[c->nregs];
            if (!xml_attr(s + 1, end, "name", g->name, sizeof g->name)) g->name[0] = '\0';
            if (xml_attr(s + 1, end, "bitsize", v, sizeof v) &&
                (!parse_num(v, &bits) || bits == 0 || bits > 512)) {
                free(doc);
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: register '%s' has bitsize '%s' (expected "
                                        "1 to 512; OpenOCD gives PRIMASK 1 bit, sent as a byte)",
                                        c->peer, g->name, v);
            }
            if (xml_attr(s + 1, end, "regnum", v, sizeof v) &&
                (!parse_num(v, &num) || num > 4096)) {
                free(doc);
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: register '%s' has regnum '%s'", c->peer,
                                        g->name, v);
            }
            g->num = (int)num;
            g->bits = (int)bits;
            *next = (int)num + 1;
            c->nregs++;
        } else if (!strncmp(s, "<xi:include", 11)) {
            if (xml_attr(s + 1, end, "href", v, sizeof v)) {
                for (char *q = v; *q; q++)
                    if (*q == ':' || *q == '#' || *q == '$' || *q == '}' || *q == '*')
                        *q = '_'; /* never let a hostile name break our request */
                rc = parse_tdesc(c, v, depth + 1, next);
                if (rc < 0) {
                    free(doc);
                    return rc;
                }
            }
        }
        s = end + 1;
    }
    free(doc);
    return 0;
}

static const greg *find_reg(gdb_client *c, const char *name)
{
    for (size_t i = 0; i < c->nregs; i++)
        if (!strcasecmp(c->regs[i].name, name)) return &c->regs[i];
    return NULL;
}

/* Map oflash register numbers to the server's. */
static void map_regs(gdb_client *c)
{
    static const char *const alt[OFLASH_REG_COUNT] = {[OFLASH_REG_SP] = "r13",
                                                      [OFLASH_REG_LR] = "r14",
                                                      [OFLASH_REG_PC] = "r15",
                                                      [OFLASH_REG_XPSR] = "cpsr"};
    for (int i = 0; i < OFLASH_REG_COUNT; i++) {
        const greg *g = find_reg(c, oflash_reg_name(i));
        if (!g && alt[i]) g = find_reg(c, alt[i]);
        c->regnum[i] = g && g->bits == 32 ? g->num : -1;
        c->regoff[i] = -1;
        if (!g || g->bits != 32) continue;
        /* Offset in g: the described registers numbered below it (numbers
         * without a description take no space, as in gdb). */
        {
            int off = 0;
            for (size_t j = 0; j < c->nregs; j++)
                if (c->regs[j].num < g->num) off += (c->regs[j].bits + 7) / 8;
            c->regoff[i] = off;
        }
    }
    c->g_len = 0;
    for (size_t j = 0; j < c->nregs; j++)
        c->g_len += (c->regs[j].bits + 7) / 8;
}

/* gdb's built-in ARM layout when the server has no target description:
 * r0-r15, f0-f7 (96 bits), fps, cpsr at 25. */
static void default_regs(gdb_client *c)
{
    c->nregs = 0;
    for (int i = 0; i < 26; i++) {
        greg *g = &c->regs[c->nregs++];
        g->num = i;
        g->bits = i >= 16 && i < 24 ? 96 : 32;
        if (i < 13)
            snprintf(g->name, sizeof g->name, "r%d", i);
        else
            snprintf(g->name, sizeof g->name, "%s",
                     i == 13   ? "sp"
                     : i == 14 ? "lr"
                     : i == 15 ? "pc"
                     : i == 24 ? "fps"
                     : i == 25 ? "xpsr"
                               : "f");
    }
    map_regs(c);
    c->g_len = 0; /* unknown: the server's g may be shorter */
}

/* -------------------------------------------------------------- memory map */

static int parse_memory_map(gdb_client *c, const char *doc)
{
    c->map_count = 0;
    for (const char *s = doc; (s = strstr(s, "<memory")) != NULL;) {
        const char *end = strchr(s, '>'), *close_tag;
        if (s[7] != ' ' && s[7] != '\t' && s[7] != '\n' && s[7] != '\r') {
            s += 7; /* <memory-map> */
            continue;
        }
        char v[64];
        unsigned long long start, length;
        char *e;
        oflash_gdb_mem_region *m;
        if (!end) break;
        if (c->map_count >= MAX_MAP)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: memory map has more than %d regions", c->peer,
                                    MAX_MAP);
        m = &c->map[c->map_count];
        memset(m, 0, sizeof *m);
        if (!xml_attr(s + 1, end, "type", v, sizeof v))
            return oflash_error_set(OFLASH_EPROTO, "GDB server %s: memory map entry without type",
                                    c->peer);
        m->kind = !strcmp(v, "flash") ? OFLASH_GDB_MEM_FLASH
                  : !strcmp(v, "rom") ? OFLASH_GDB_MEM_ROM
                                      : OFLASH_GDB_MEM_RAM;
        if (!xml_attr(s + 1, end, "start", v, sizeof v) ||
            (start = strtoull(v, &e, 0), *e || start > 0xFFFFFFFFull) ||
            !xml_attr(s + 1, end, "length", v, sizeof v) ||
            (length = strtoull(v, &e, 0), *e || start + length > 0x100000000ull))
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: memory map entry with a bad start/length "
                                    "(expected numbers within 4 GiB)",
                                    c->peer);
        m->start = (uint32_t)start;
        m->length = (uint32_t)length;
        close_tag = strstr(end, "</memory>");
        if (m->kind == OFLASH_GDB_MEM_FLASH && close_tag && end[-1] != '/') {
            const char *pr = strstr(end, "blocksize");
            if (pr && pr < close_tag && (pr = strchr(pr, '>')) != NULL && pr < close_tag) {
                unsigned long long bs = strtoull(pr + 1, &e, 0);
                if (bs && bs <= 0xFFFFFFFFull) m->blocksize = (uint32_t)bs;
            }
        }
        c->map_count++;
        s = end + 1;
    }
    return 0;
}

/* ------------------------------------------------------------ connecting */

static bool has_feature(const char *features, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = features; (s = strstr(s, name)) != NULL; s += n)
        if ((s == features || s[-1] == ';') && (s[n] == ';' || s[n] == '\0')) return true;
    return false;
}

static int handshake(gdb_client *c)
{
    size_t n;
    int rc, sig;
    const char *ps;

    /* gdb starts with a '+' so a server waiting for an ack proceeds. */
    rc = oflash__rsp_write_raw(&c->rsp, "+", 1, c->timeout_ms);
    if (rc < 0) return rc;
    rc = request(c, "qSupported:swbreak+;hwbreak+;xmlRegisters=arm;vContSupported+", &n);
    if (rc < 0) return oflash_error_prefix("connecting: ");
    if (is_error(c->buf, n)) return err_reply(c, "qSupported", c->buf);
    snprintf(c->features, sizeof c->features, "%s", c->buf);
    c->packet_size = DEFAULT_PACKET_SIZE;
    if ((ps = strstr(c->features, "PacketSize=")) != NULL && (ps == c->features || ps[-1] == ';')) {
        uint32_t v;
        const char *end;
        if (oflash__hex_u32(ps + 11, &end, &v) < 0 || (*end && *end != ';') || v < 64)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: bad PacketSize in '%.60s' (expected hex >= 64)",
                                    c->peer, ps);
        c->packet_size = v > OFLASH__RSP_MAX_PAYLOAD ? OFLASH__RSP_MAX_PAYLOAD : v;
    }
    c->out = malloc(c->packet_size + 1);
    if (!c->out) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if (has_feature(c->features, "QStartNoAckMode+")) {
        rc = request(c, "QStartNoAckMode", &n);
        if (rc < 0) return rc;
        if (n == 2 && !strcmp(c->buf, "OK")) c->rsp.noack = true;
    }
    rc = request(c, "?", &n);
    if (rc < 0) return rc;
    if (n && parse_stop(c, c->buf, n, &sig) < 0)
        return oflash_error_prefix("asking why the target stopped: ");
    if (has_feature(c->features, "qXfer:features:read+")) {
        int next = 0;
        rc = parse_tdesc(c, "target.xml", 0, &next);
        if (rc < 0) return rc;
        map_regs(c);
        if (c->regnum[OFLASH_REG_PC] < 0)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: target description has no 32-bit 'pc' "
                                    "register (not a Cortex-M target?)",
                                    c->peer);
    } else {
        default_regs(c);
    }
    if (has_feature(c->features, "qXfer:memory-map:read+")) {
        char *doc;
        rc = read_xfer(c, "memory-map", "", &doc, NULL);
        if (rc < 0) return rc;
        rc = parse_memory_map(c, doc);
        free(doc);
        if (rc < 0) return rc;
    }
    return 0;
}

static int gdb_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len);

/* Put DEMCR back as it was before vector catch was set (best effort). */
static void restore_demcr(oflash_probe *p)
{
    gdb_client *c = cl(p);
    if (c->vc_set && c->rsp.fd >= 0 && !c->running) {
        (void)gdb_write_mem(p, 0xE000EDFCu, &c->demcr_orig, 4);
        c->vc_set = false;
    }
}

static void gdb_close(oflash_probe *p)
{
    gdb_client *c = cl(p);
    if (!c) return;
    if (c->rsp.fd >= 0 && c->running) {
        int sig;
        (void)interrupt(c, &sig);
    }
    restore_demcr(p);
    oflash__rsp_close(&c->rsp);
    free(c->buf);
    free(c->out);
    free(c->reset_cmd);
    free(c->halt_cmd);
    free(c->reset_found);
    free(c);
    p->priv = NULL;
}

static char *dup_cmd(const char *s)
{
    if (!s) return NULL;
    while (*s == ' ')
        s++;
    if (!strncmp(s, "monitor ", 8))
        s += 8;
    else if (!strncmp(s, "mon ", 4))
        s += 4;
    return strdup(s);
}

static int open_on_fd(oflash_probe *p, int fd, const char *peer, const oflash_probe_opts *opts)
{
    gdb_client *c = calloc(1, sizeof *c);
    int rc;
    if (!c) {
        if (fd >= 0) close(fd);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    p->priv = c;
    c->probe = p;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    oflash__rsp_init(&c->rsp, fd, c->peer);
    c->rsp.tx = &p->stats.bytes_tx;
    c->rsp.rx = &p->stats.bytes_rx;
    c->timeout_ms = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->buf = malloc(OFLASH__RSP_MAX_PAYLOAD + 1);
    c->reset_cmd = dup_cmd(opts ? opts->reset_cmd : NULL);
    c->halt_cmd = dup_cmd(opts ? opts->halt_cmd : NULL);
    if (!c->buf) {
        gdb_close(p);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    rc = handshake(c);
    if (rc < 0) {
        gdb_close(p);
        return rc;
    }
    return 0;
}

static int gdb_open(oflash_probe *p, const char *arg, const oflash_probe_opts *opts)
{
    unsigned t = opts && opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    int fd = oflash__rsp_connect(arg, opts ? opts->baud : 0, t);
    if (fd < 0) return fd;
    return open_on_fd(p, fd, arg, opts);
}

int oflash__gdb_open_fd(oflash_probe **out, int fd, const char *peer, const oflash_probe_opts *opts)
{
    oflash_probe *p = calloc(1, sizeof *p);
    int rc;
    *out = NULL;
    if (!p) {
        close(fd);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    p->ops = &oflash_probe_gdb_ops;
    snprintf(p->spec, sizeof p->spec, "gdb:%s", peer);
    rc = open_on_fd(p, fd, peer, opts);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ------------------------------------------------------------------ memory */

static int gdb_read_mem(oflash_probe *p, void *buf, uint32_t addr, size_t len)
{
    gdb_client *c = cl(p);
    uint8_t *dst = buf;
    size_t max = (c->packet_size - 4) / 2;
    int rc = ensure_halted(c);
    if (rc < 0) return rc;
    while (len) {
        size_t want = len < max ? len : max, n, got;
        char req[40];
        snprintf(req, sizeof req, "m%x,%zx", addr, want);
        rc = request(c, req, &n);
        if (rc < 0) return oflash_error_prefix("reading memory at 0x%08X: ", addr);
        if (is_error(c->buf, n) || n == 0)
            return oflash_error_set(OFLASH_ETARGET,
                                    "GDB server %s: reading %zu bytes at 0x%08X failed: server "
                                    "replied '%.20s'",
                                    c->peer, want, addr, n ? c->buf : "(empty)");
        if (n % 2 || n / 2 > want || oflash__hex_decode(c->buf, dst, n / 2) < 0)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: reading %zu bytes at 0x%08X: reply is not %zu "
                                    "hex bytes ('%.20s')",
                                    c->peer, want, addr, want, c->buf);
        got = n / 2;
        p->stats.mem_read_bytes += got;
        dst += got;
        addr += (uint32_t)got;
        len -= got;
    }
    return 0;
}

static int write_chunk_M(gdb_client *c, uint32_t addr, const uint8_t *src, size_t len, size_t *done)
{
    int hl = snprintf(c->out, c->packet_size, "M%x,", addr);
    size_t room = c->packet_size - (size_t)hl - 10, want = len, n;
    int rc;
    if (want > room / 2) want = room / 2;
    hl += snprintf(c->out + hl, c->packet_size - (size_t)hl, "%zx:", want);
    oflash__hex_encode(src, want, c->out + hl);
    rc = request_n(c, c->out, (size_t)hl + 2 * want, &n);
    if (rc < 0) return rc;
    if (n != 2 || strcmp(c->buf, "OK"))
        return oflash_error_set(OFLASH_ETARGET,
                                "GDB server %s: writing %zu bytes at 0x%08X failed: server "
                                "replied '%.20s'",
                                c->peer, want, addr, n ? c->buf : "(empty)");
    *done = want;
    return 0;
}

static int write_chunk_X(gdb_client *c, uint32_t addr, const uint8_t *src, size_t len, size_t *done)
{
    /* The length field is written after escaping decides how many bytes fit;
     * reserve its widest form. */
    char hdr[32];
    size_t used, enc, n, room;
    int hl, rc;
    size_t cap = c->packet_size - 1;
    hl = snprintf(hdr, sizeof hdr, "X%x,%zx:", addr, len);
    room = cap - (size_t)hl;
    enc = oflash__rsp_escape(src, len, c->out + hl, room, &used);
    if (used == 0)
        return oflash_error_set(OFLASH_EPROTO, "packet size %zu too small", c->packet_size);
    /* Rewrite the header with the real length (never longer than before). */
    {
        int hl2 = snprintf(hdr, sizeof hdr, "X%x,%zx:", addr, used);
        if (hl2 != hl) memmove(c->out + hl2, c->out + hl, enc);
        memcpy(c->out, hdr, (size_t)hl2);
        hl = hl2;
    }
    rc = request_n(c, c->out, (size_t)hl + enc, &n);
    if (rc < 0) return rc;
    if (n != 2 || strcmp(c->buf, "OK"))
        return oflash_error_set(OFLASH_ETARGET,
                                "GDB server %s: writing %zu bytes at 0x%08X failed: server "
                                "replied '%.20s'",
                                c->peer, used, addr, n ? c->buf : "(empty)");
    *done = used;
    return 0;
}

static int gdb_write_mem(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    gdb_client *c = cl(p);
    const uint8_t *src = buf;
    int rc = ensure_halted(c);
    if (rc < 0) return rc;
    if (c->x_state == 0) {
        /* gdb's probe: a zero-length X tells whether binary writes work. */
        char req[32];
        size_t n;
        snprintf(req, sizeof req, "X%x,0:", addr);
        rc = request(c, req, &n);
        if (rc < 0) return rc;
        c->x_state = n == 2 && !strcmp(c->buf, "OK") ? 1 : -1;
    }
    while (len) {
        size_t done = 0;
        rc = c->x_state > 0 ? write_chunk_X(c, addr, src, len, &done)
                            : write_chunk_M(c, addr, src, len, &done);
        if (rc < 0) return rc;
        p->stats.mem_write_bytes += done;
        src += done;
        addr += (uint32_t)done;
        len -= done;
    }
    return 0;
}

/* --------------------------------------------------------------- registers */

static int need_reg(gdb_client *c, int reg)
{
    if (c->regnum[reg] < 0)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "GDB server %s: register %s is not in its target description",
                                c->peer, oflash_reg_name(reg));
    return 0;
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* g: all registers in one round trip.  Leaves the raw bytes in c->buf. */
static int read_g(gdb_client *c, size_t *nbytes)
{
    size_t n;
    int rc = request(c, "g", &n);
    if (rc < 0) return rc;
    if (is_error(c->buf, n) || n == 0)
        return err_reply(c, "reading registers (g)", n ? c->buf : "(empty)");
    if (n % 2)
        return oflash_error_set(OFLASH_EPROTO, "GDB server %s: g reply has odd length %zu", c->peer,
                                n);
    *nbytes = n / 2;
    return 0;
}

static int gdb_read_regs(oflash_probe *p, uint32_t *vals, const int *regs, size_t cnt)
{
    gdb_client *c = cl(p);
    int rc = ensure_halted(c);
    if (rc < 0 || cnt == 0) return rc;
    for (size_t i = 0; i < cnt; i++)
        if ((rc = need_reg(c, regs[i])) < 0) return rc;
    if (c->p_state >= 0 && (cnt <= 2 || c->g_len == 0)) {
        for (size_t i = 0; i < cnt; i++) {
            char req[16];
            uint8_t b[4];
            size_t n;
            snprintf(req, sizeof req, "p%x", c->regnum[regs[i]]);
            rc = request(c, req, &n);
            if (rc < 0) return rc;
            if (n == 0 && c->p_state == 0) {
                c->p_state = -1; /* no p: use g */
                break;
            }
            if (is_error(c->buf, n)) return err_reply(c, "reading a register", c->buf);
            if (n == 8 && !strcmp(c->buf, "xxxxxxxx"))
                return oflash_error_set(OFLASH_ETARGET, "GDB server %s: register %s is unavailable",
                                        c->peer, oflash_reg_name(regs[i]));
            if (n != 8 || oflash__hex_decode(c->buf, b, 4) < 0)
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: reading %s: expected 8 hex digits, got "
                                        "'%.20s'",
                                        c->peer, oflash_reg_name(regs[i]), c->buf);
            c->p_state = 1;
            vals[i] = le32(b);
            if (i + 1 == cnt) return 0;
        }
        if (c->p_state > 0) return 0;
    }
    {
        size_t nbytes;
        rc = read_g(c, &nbytes);
        if (rc < 0) return rc;
        for (size_t i = 0; i < cnt; i++) {
            int off = c->regoff[regs[i]];
            uint8_t b[4];
            if (off < 0 || (size_t)off + 4 > nbytes)
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: g reply (%zu bytes) lacks register %s",
                                        c->peer, nbytes, oflash_reg_name(regs[i]));
            if (oflash__hex_decode(c->buf + 2 * off, b, 4) < 0)
                return oflash_error_set(OFLASH_ETARGET,
                                        "GDB server %s: register %s is unavailable ('%.8s')",
                                        c->peer, oflash_reg_name(regs[i]), c->buf + 2 * off);
            vals[i] = le32(b);
        }
    }
    return 0;
}

static int write_regs_g(gdb_client *c, const int *regs, const uint32_t *vals, size_t cnt);

static int gdb_write_regs(oflash_probe *p, const int *regs, const uint32_t *vals, size_t cnt)
{
    gdb_client *c = cl(p);
    int rc = ensure_halted(c);
    if (rc < 0 || cnt == 0) return rc;
    for (size_t i = 0; i < cnt; i++)
        if ((rc = need_reg(c, regs[i])) < 0) return rc;
    /* Many registers (a loader call sets nine): g + G is two round trips
     * instead of one P each, unless the layout is unknown or the server
     * marks registers unavailable ('x') so that G cannot echo them. */
    if (c->p_state > 0 && cnt > 2 && c->g_len > 0 && !c->g_unavailable) {
        rc = write_regs_g(c, regs, vals, cnt);
        if (rc != 1) return rc;
        c->g_unavailable = true; /* 1: g had 'x': use P from now on */
    }
    if (c->p_state >= 0) {
        for (size_t i = 0; i < cnt; i++) {
            char req[32];
            uint8_t b[4] = {(uint8_t)vals[i], (uint8_t)(vals[i] >> 8), (uint8_t)(vals[i] >> 16),
                            (uint8_t)(vals[i] >> 24)};
            char hex[9];
            size_t n;
            oflash__hex_encode(b, 4, hex);
            snprintf(req, sizeof req, "P%x=%s", c->regnum[regs[i]], hex);
            rc = request(c, req, &n);
            if (rc < 0) return rc;
            if (n == 0 && c->p_state == 0) {
                c->p_state = -1;
                break;
            }
            if (n != 2 || strcmp(c->buf, "OK"))
                return oflash_error_set(OFLASH_ETARGET,
                                        "GDB server %s: writing register %s failed: server "
                                        "replied '%.20s'",
                                        c->peer, oflash_reg_name(regs[i]), n ? c->buf : "(empty)");
            c->p_state = 1;
            if (i + 1 == cnt) return 0;
        }
        if (c->p_state > 0) return 0;
    }
    rc = write_regs_g(c, regs, vals, cnt);
    return rc == 1 ? oflash_error_set(OFLASH_ETARGET,
                                      "GDB server %s: cannot write registers: no P packet and "
                                      "its g reply marks registers unavailable",
                                      c->peer)
                   : rc;
}

/* g, patch, G.  Returns 1 (nothing written) when the g reply holds
 * unavailable ('x') registers that G cannot write back. */
static int write_regs_g(gdb_client *c, const int *regs, const uint32_t *vals, size_t cnt)
{
    int rc;
    {
        size_t nbytes, n;
        char *g;
        rc = read_g(c, &nbytes);
        if (rc < 0) return rc;
        if (memchr(c->buf, 'x', 2 * nbytes)) return 1;
        g = malloc(2 * nbytes + 2);
        if (!g) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        g[0] = 'G';
        memcpy(g + 1, c->buf, 2 * nbytes);
        for (size_t i = 0; i < cnt; i++) {
            int off = c->regoff[regs[i]];
            uint8_t b[4] = {(uint8_t)vals[i], (uint8_t)(vals[i] >> 8), (uint8_t)(vals[i] >> 16),
                            (uint8_t)(vals[i] >> 24)};
            char hex[9];
            if (off < 0 || (size_t)off + 4 > nbytes) {
                free(g);
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB server %s: g reply (%zu bytes) lacks register %s",
                                        c->peer, nbytes, oflash_reg_name(regs[i]));
            }
            oflash__hex_encode(b, 4, hex);
            memcpy(g + 1 + 2 * off, hex, 8);
            /* SP is one of MSP / PSP: a G that sets SP but echoes the old
             * MSP and PSP back would set SP again to whichever of them is
             * active (servers apply a G in register order).  Both take the
             * new value unless the caller sets them too. */
            for (int k = OFLASH_REG_MSP; regs[i] == OFLASH_REG_SP && k <= OFLASH_REG_PSP; k++) {
                bool own = false;
                for (size_t j = 0; j < cnt; j++)
                    own |= regs[j] == k;
                if (!own && c->regoff[k] >= 0 && (size_t)c->regoff[k] + 4 <= nbytes)
                    memcpy(g + 1 + 2 * c->regoff[k], hex, 8);
            }
        }
        rc = request_n(c, g, 1 + 2 * nbytes, &n);
        free(g);
        if (rc < 0) return rc;
        if (n != 2 || strcmp(c->buf, "OK"))
            return err_reply(c, "writing registers (G)", n ? c->buf : "(empty)");
    }
    return 0;
}

/* ------------------------------------------------------------- run control */

static int monitor(gdb_client *c, const char *cmd, char *out, size_t out_len)
{
    size_t l = strlen(cmd), n;
    char *req;
    int rc;
    char acc[2048] = "";
    if (6 + 2 * l + 1 > c->packet_size)
        return oflash_error_set(OFLASH_EINVAL, "monitor command too long (%zu bytes)", l);
    req = malloc(6 + 2 * l + 1);
    if (!req) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    memcpy(req, "qRcmd,", 6);
    oflash__hex_encode((const uint8_t *)cmd, l, req + 6);
    rc = oflash__rsp_send(&c->rsp, req, 6 + 2 * l, c->timeout_ms);
    free(req);
    if (rc < 0) return rc;
    c->probe->stats.round_trips++;
    rc = recv_reply(c, &n, c->timeout_ms, acc, sizeof acc);
    if (rc < 0) return rc;
    if (n == 0)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "GDB server %s: does not take monitor commands ('%s')", c->peer,
                                cmd);
    if (is_error(c->buf, n))
        return oflash_error_set(OFLASH_ETARGET, "GDB server %s: monitor '%s' failed: '%s'%s%s",
                                c->peer, cmd, c->buf, acc[0] ? ": " : "", acc);
    if (!(n == 2 && !strcmp(c->buf, "OK"))) {
        if (n % 2 || !is_hex_str(c->buf, n))
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB server %s: monitor '%s': unexpected reply '%.40s'",
                                    c->peer, cmd, c->buf);
        log_console(c, c->buf, n, acc, sizeof acc); /* output as the final reply */
    }
    if (out && out_len) snprintf(out, out_len, "%s", acc);
    /* Servers that only print the error (QEMU's monitor). */
    if (strstr(acc, "unknown command") || strstr(acc, "Unknown command") ||
        strstr(acc, "invalid command") || strstr(acc, "Invalid command"))
        return oflash_error_set(OFLASH_EUNSUPPORTED, "GDB server %s: monitor '%s': %s", c->peer,
                                cmd, acc);
    return 0;
}

static int gdb_command(oflash_probe *p, char *out, size_t out_len, const char *cmd)
{
    gdb_client *c = cl(p);
    char *m = dup_cmd(cmd);
    int rc;
    if (!m) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    rc = ensure_halted(c);
    if (rc == 0) rc = monitor(c, m, out, out_len);
    free(m);
    return rc;
}

static int gdb_halt(oflash_probe *p)
{
    gdb_client *c = cl(p);
    if (c->halt_cmd) {
        int rc = ensure_halted(c);
        return rc < 0 ? rc : monitor(c, c->halt_cmd, NULL, 0);
    }
    /* All-stop servers report the core stopped before they take requests;
     * only a core resumed by reset(halt=false) needs the Ctrl-C. */
    return ensure_halted(c);
}

/* Defaults tried in order: OpenOCD / pyOCD / oflash gdbserver, J-Link GDB
 * Server (its "reset" halts), QEMU's monitor. */
static const char *const default_resets[] = {"reset halt", "reset", "system_reset"};

static int gdb_reset(oflash_probe *p, bool halt)
{
    gdb_client *c = cl(p);
    int rc = ensure_halted(c);
    if (rc < 0) return rc;
    if (c->reset_cmd)
        rc = monitor(c, c->reset_cmd, NULL, 0);
    else if (c->reset_found)
        rc = monitor(c, c->reset_found, NULL, 0);
    else {
        rc = OFLASH_EUNSUPPORTED;
        for (size_t i = 0; i < sizeof default_resets / sizeof *default_resets; i++) {
            rc = monitor(c, default_resets[i], NULL, 0);
            if (rc == 0) {
                c->reset_found = strdup(default_resets[i]);
                break;
            }
            if (rc != OFLASH_EUNSUPPORTED && rc != OFLASH_ETARGET) return rc;
        }
        if (rc < 0)
            return oflash_error_set(rc,
                                    "GDB server %s: no reset command worked (tried 'reset halt', "
                                    "'reset', 'system_reset'); give one with --reset-cmd",
                                    c->peer);
    }
    if (rc < 0) return rc;
    if (!halt) {
        restore_demcr(p); /* the firmware handles its own faults */
        rc = oflash__rsp_send(&c->rsp, "c", 1, c->timeout_ms);
        if (rc < 0) return rc;
        c->running = true;
    }
    return 0;
}

static int set_break(gdb_client *c, uint32_t addr, bool insert, char *type)
{
    char req[40];
    size_t n;
    int rc;
    if (insert) {
        *type = c->z1_unsupported ? '0' : '1';
        for (;;) {
            snprintf(req, sizeof req, "Z%c,%x,2", *type, addr);
            rc = request(c, req, &n);
            if (rc < 0) return rc;
            if (n == 2 && !strcmp(c->buf, "OK")) return 0;
            if (*type == '1') { /* no hardware breakpoints: software ones */
                if (n == 0) c->z1_unsupported = true;
                *type = '0';
                continue;
            }
            return oflash_error_set(n ? OFLASH_ETARGET : OFLASH_EUNSUPPORTED,
                                    "GDB server %s: cannot set a breakpoint at 0x%08X: server "
                                    "replied '%s'",
                                    c->peer, addr, n ? c->buf : "(empty)");
        }
    }
    snprintf(req, sizeof req, "z%c,%x,2", *type, addr);
    rc = request(c, req, &n);
    if (rc < 0) return rc;
    if (n != 2 || strcmp(c->buf, "OK"))
        return err_reply(c, "removing a breakpoint", n ? c->buf : "(empty)");
    return 0;
}

/* ---------------------------------------------------------- fault guard
 *
 * A BKPT or a fault on a core without halting debug (QEMU) escalates to
 * HardFault; through the vector table of a part with no firmware that is a
 * lockup, and QEMU exits.  The guard: a vector table in work RAM (opts->
 * guard_ram) whose every entry points at GUARD_HANDLER (nop; bx lr), with a
 * breakpoint on it.  When it is hit the host reads the exception frame and
 * CFSR/HFSR/MMFAR/BFAR, rewrites the frame so the handler's exception return
 * lands in thread mode on GUARD_STUB (r0 = the old VTOR), which restores
 * VTOR, clears CFSR/HFSR (write 1 to clear) and parks on GUARD_PARK.  The
 * same stub installs the table before the run.  Debug writes cannot reach
 * the SCB on QEMU (its gdbstub skips MMIO writes), hence code on the core.
 * Where DEMCR takes the vector-catch bits (halting debug: OpenOCD, J-Link)
 * they are set too; a fault then halts on the handler's first instruction,
 * which is the same state.  Layout (offsets from guard_ram):
 *   0x000 vector table, 128 entries (entry 0 unused)
 *   0x200 handler: nop; bx lr
 *   0x204 stub: VTOR = r0; dsb; isb; CFSR = HFSR = ~0; park: b park
 */
#define GUARD_HANDLER 0x200u
#define GUARD_STUB 0x204u
#define GUARD_PARK 0x21Au
#define SCB_VTOR 0xE000ED08u
#define SCB_CFSR 0xE000ED28u
#define SCB_DEMCR 0xE000EDFCu
/* VC_HARDERR b10, VC_INTERR b9, VC_BUSERR b8, VC_STATERR b7, VC_CHKERR b6,
 * VC_NOCPERR b5, VC_MMERR b4 */
#define DEMCR_VC_FAULTS 0x7F0u
#define STUB_TIMEOUT_MS 2000u

static const uint8_t guard_code[] = {
    0x00, 0xbf, 0x70, 0x47,                         /* handler: nop; bx lr */
    0x05, 0x4a, 0x10, 0x60, 0xbf, 0xf3, 0x4f, 0x8f, /* ldr r2,=VTOR; str r0,[r2]; dsb */
    0xbf, 0xf3, 0x6f, 0x8f, 0x03, 0x4a, 0x00, 0x23, /* isb; ldr r2,=CFSR; movs r3,#0 */
    0x01, 0x3b, 0x13, 0x60, 0x53, 0x60, 0xfe, 0xe7, /* subs r3,#1; str r3,[r2]; [r2,#4]; b . */
    0x08, 0xed, 0x00, 0xe0, 0x28, 0xed, 0x00, 0xe0, /* literals */
};

static const int all_regs[17] = {
    OFLASH_REG_R0,  OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3, OFLASH_REG_R4,  OFLASH_REG_R5,
    OFLASH_REG_R6,  OFLASH_REG_R7, OFLASH_REG_R8, OFLASH_REG_R9, OFLASH_REG_R10, OFLASH_REG_R11,
    OFLASH_REG_R12, OFLASH_REG_SP, OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_XPSR};

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
    b[3] = (uint8_t)(v >> 24);
}

/* Resume with breakpoints at brk[0..nb) and wait for the stop (timeout:
 * halt).  *timed_out tells which. */
static int resume(oflash_probe *p, const uint32_t *brk, size_t nb, bool step, unsigned tmo,
                  int *sig, bool *timed_out)
{
    gdb_client *c = cl(p);
    char type[4] = {0};
    size_t set = 0;
    int rc = 0, rc2;
    *timed_out = false;
    for (; set < nb && rc == 0; set++)
        if ((rc = set_break(c, brk[set], true, &type[set])) < 0) break;
    if (rc == 0) rc = oflash__rsp_send(&c->rsp, step ? "s" : "c", 1, c->timeout_ms);
    if (rc == 0) {
        p->stats.round_trips++;
        c->running = true;
        rc = wait_stop(c, tmo, sig);
        if (rc == OFLASH_ETIMEOUT) {
            *timed_out = true;
            rc = interrupt(c, sig);
        }
        if (rc < 0) return rc;
        c->running = false;
    }
    while (set-- > 0)
        if ((rc2 = set_break(c, brk[set], false, &type[set])) < 0 && rc == 0) rc = rc2;
    return rc;
}

/* Run the guard stub: VTOR = vtor, CFSR/HFSR cleared, parked in thread mode.
 * Clobbers r0, r2, r3, pc, xpsr (the caller restores registers). */
static int guard_stub(oflash_probe *p, uint32_t g, uint32_t vtor)
{
    static const int regs[3] = {OFLASH_REG_R0, OFLASH_REG_PC, OFLASH_REG_XPSR};
    uint32_t vals[3] = {vtor, (g + GUARD_STUB) | 1u, 0x01000000u}, park = g + GUARD_PARK, pc;
    int rc, sig, pcreg = OFLASH_REG_PC;
    bool to;
    rc = gdb_write_regs(p, regs, vals, 3);
    if (rc == 0) rc = resume(p, &park, 1, false, STUB_TIMEOUT_MS, &sig, &to);
    if (rc == 0) rc = gdb_read_regs(p, &pc, &pcreg, 1);
    if (rc < 0) return rc;
    if (to || pc != park)
        return oflash_error_set(OFLASH_ETARGET,
                                "GDB server %s: setting VTOR to 0x%08X with code at 0x%08X "
                                "did not finish (core at 0x%08X); is the guard RAM writable?",
                                cl(p)->peer, vtor, g + GUARD_STUB, pc);
    return 0;
}

static const char *exception_name(unsigned n)
{
    switch (n) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    default: return "exception";
    }
}

/* The first cause CFSR records (ARMv7-M ARM B3.2.15), in words. */
static const char *cfsr_text(uint32_t cfsr)
{
    static const struct {
        uint32_t bit;
        const char *text;
    } causes[] = {
        {0x1u, "instruction access violation"},    {0x2u, "data access violation"},
        {0x8u, "fault unstacking"},                 {0x10u, "fault stacking"},
        {0x100u, "bus error on instruction fetch"}, {0x200u, "bus error on data access"},
        {0x400u, "imprecise bus error"},            {0x800u, "bus error unstacking"},
        {0x1000u, "bus error stacking"},            {0x10000u, "undefined instruction"},
        {0x20000u, "invalid state (Thumb bit clear)"},
        {0x40000u, "invalid exception return"},     {0x80000u, "no coprocessor"},
        {0x1000000u, "unaligned access"},           {0x2000000u, "division by zero"},
    };
    for (size_t i = 0; i < sizeof causes / sizeof *causes; i++)
        if (cfsr & causes[i].bit) return causes[i].text;
    return cfsr ? "fault" : "no configurable fault recorded";
}

/* The core stopped on exception entry (handler mode, frame on the stack):
 * fill stop from the frame and the fault status registers.  When guard is
 * set, return to thread mode through the stub (VTOR = old_vtor). */
static int take_fault(oflash_probe *p, oflash_stop_info *stop, const uint32_t *live, uint32_t g,
                      uint32_t old_vtor)
{
    oflash_fault_info *f = &stop->fault;
    uint8_t fr[32], st[20], ins[2] = {0, 0};
    uint32_t sp = live[13], exc_return = live[14], frame_size;
    int rc;
    if ((exc_return & 0xFFFFFF00u) == 0xFFFFFF00u && (exc_return & 4u)) {
        static const int psp = OFLASH_REG_PSP;
        if ((rc = gdb_read_regs(p, &sp, &psp, 1)) < 0) return rc;
    }
    if ((rc = gdb_read_mem(p, fr, sp, sizeof fr)) < 0 ||
        (rc = gdb_read_mem(p, st, SCB_CFSR, sizeof st)) < 0)
        return oflash_error_prefix("reading the exception frame at 0x%08X: ", sp);
    memcpy(f->regs, live, sizeof f->regs);
    for (int i = 0; i < 4; i++) f->regs[i] = le32(fr + 4 * i);
    f->regs[12] = le32(fr + 16);
    f->regs[14] = le32(fr + 20);
    f->regs[15] = le32(fr + 24);
    f->regs[16] = le32(fr + 28);
    frame_size = (exc_return & 0x10u) ? 0x20u : 0x68u; /* basic / with FP state */
    if (f->regs[16] & (1u << 9)) frame_size += 4;      /* stack was realigned */
    f->regs[13] = sp + frame_size;
    f->exception = live[16] & 0x1FFu;
    f->cfsr = le32(st);
    f->hfsr = le32(st + 4);
    f->mmfar = le32(st + 12);
    f->bfar = le32(st + 16);
    f->valid = true;
    stop->pc = f->regs[15];
    (void)gdb_read_mem(p, ins, stop->pc & ~1u, 2);
    /* BKPT without halting debug: escalated to HardFault (HFSR.DEBUGEVT). */
    if (ins[1] == 0xBE && f->exception == 3 && f->cfsr == 0) {
        stop->reason = OFLASH_STOP_BKPT;
        snprintf(stop->detail, sizeof stop->detail, "BKPT #%u", ins[0]);
    } else {
        char far[24] = "";
        if (f->cfsr & 0x8000u) snprintf(far, sizeof far, ", BFAR 0x%08X", f->bfar);
        if (f->cfsr & 0x80u) snprintf(far, sizeof far, ", MMFAR 0x%08X", f->mmfar);
        stop->reason = OFLASH_STOP_FAULT;
        snprintf(stop->detail, sizeof stop->detail, "%s at 0x%08X: %s (CFSR 0x%08X, HFSR 0x%08X%s)",
                 exception_name(f->exception), stop->pc, cfsr_text(f->cfsr), f->cfsr, f->hfsr,
                 far);
    }
    if (g) { /* back to thread mode: the handler returns into the stub */
        uint32_t park = g + GUARD_PARK, pc;
        int sig, pcreg = OFLASH_REG_PC;
        bool to;
        put32(fr, old_vtor);
        put32(fr + 24, g + GUARD_STUB);
        put32(fr + 28, 0x01000000u);
        if ((rc = gdb_write_mem(p, sp, fr, sizeof fr)) < 0) return rc;
        rc = resume(p, &park, 1, false, STUB_TIMEOUT_MS, &sig, &to);
        if (rc == 0) rc = gdb_read_regs(p, &pc, &pcreg, 1);
        if (rc < 0) return rc;
        if (to || pc != park)
            return oflash_error_set(OFLASH_ETARGET,
                                    "GDB server %s: the core took a %s at 0x%08X and did not "
                                    "return from it (core at 0x%08X); reset the target",
                                    cl(p)->peer, exception_name(f->exception), stop->pc, pc);
    }
    return 0;
}

static int gdb_run(oflash_probe *p, oflash_stop_info *stop, const oflash_run_opts *opts)
{
    gdb_client *c = cl(p);
    unsigned tmo = opts->timeout_ms ? opts->timeout_ms : DEFAULT_RUN_TIMEOUT_MS;
    uint32_t g = opts->guard_ram, brk[2], user[17], now[17], old_vtor = 0, demcr = 0;
    size_t nb = 0;
    int rc, sig = 0;
    bool timed_out = false, vc = false, in_exc;

    rc = ensure_halted(c);
    if (rc < 0) return rc;
    if (g && (g & 0x1FFu))
        return oflash_error_set(OFLASH_EINVAL, "guard RAM 0x%08X is not 512-byte aligned", g);
    /* Vector catch where DEMCR keeps the bits (servers with halting debug;
     * QEMU ignores debugger writes there).  Set on the first run of the
     * connection, restored by reset-and-run and at close. */
    if (opts->max_insns != 1 && c->vector_catch >= 0 && !c->vc_set) {
        uint32_t want, back = 0;
        if (gdb_read_mem(p, &demcr, SCB_DEMCR, 4) == 0 &&
            (want = demcr | DEMCR_VC_FAULTS, gdb_write_mem(p, SCB_DEMCR, &want, 4) == 0) &&
            gdb_read_mem(p, &back, SCB_DEMCR, 4) == 0 && (back & DEMCR_VC_FAULTS)) {
            c->vc_set = true;
            c->demcr_orig = demcr;
        }
        c->vector_catch = c->vc_set ? 1 : -1;
    }
    vc = c->vc_set;
    /* With vector catch the core halts on exception entry by itself; the
     * guard is for servers without halting debug (QEMU). */
    if (vc) g = 0;
    if (g && opts->max_insns != 1) {
        uint8_t blob[GUARD_HANDLER + sizeof guard_code];
        for (uint32_t i = 0; i < GUARD_HANDLER / 4; i++)
            put32(blob + 4 * i, i ? (g + GUARD_HANDLER) | 1u : 0);
        memcpy(blob + GUARD_HANDLER, guard_code, sizeof guard_code);
        if ((rc = gdb_read_mem(p, &old_vtor, SCB_VTOR, 4)) < 0 ||
            (rc = gdb_read_regs(p, user, all_regs, 17)) < 0 ||
            (rc = gdb_write_mem(p, g, blob, sizeof blob)) < 0 ||
            (rc = guard_stub(p, g, g)) < 0 || (rc = gdb_write_regs(p, all_regs, user, 17)) < 0)
            return oflash_error_prefix("installing the fault guard at 0x%08X: ", g);
        brk[nb++] = g + GUARD_HANDLER;
    } else {
        g = 0;
    }
    if (opts->have_break) brk[nb++] = opts->break_addr;
    /* An instruction budget of 1 is a single step. */
    rc = resume(p, brk, nb, opts->max_insns == 1, tmo, &sig, &timed_out);
    if (rc == 0) { /* pc and xpsr; all registers when they are needed */
        static const int pcx[2] = {OFLASH_REG_PC, OFLASH_REG_XPSR};
        uint32_t v[2];
        rc = gdb_read_regs(p, v, pcx, 2);
        now[15] = v[0];
        now[16] = v[1];
    }
    if (rc < 0) return rc;
    stop->pc = now[15];
    /* The time ran out, but the core halted by Ctrl-C stands at the
     * breakpoint or on a BKPT: the code got there, and only the server's
     * stop notice came late (a server polls the target: OpenOCD every
     * poll_period, 100 ms, slower on a loaded host or link).  That is the
     * code's stop, not a timeout; a core still running the code (a loader
     * stuck in its loop) stands elsewhere and stays a timeout. */
    if (timed_out) {
        uint8_t ins[2] = {0, 0};
        bool at_break = false;
        for (size_t i = 0; i < nb; i++)
            at_break |= now[15] == brk[i];
        if (at_break || (gdb_read_mem(p, ins, now[15] & ~1u, 2) == 0 && ins[1] == 0xBE)) {
            oflash_log(OFLASH_LOG_DEBUG,
                       "GDB server %s: the core stood at 0x%08X (%s) when %u ms were up: "
                       "the stop notice came late",
                       c->peer, now[15], at_break ? "breakpoint" : "BKPT", tmo);
            timed_out = false;
        }
    }
    in_exc = !timed_out && (now[16] & 0x1FFu) >= 2 && (now[16] & 0x1FFu) <= 6 &&
             ((g && now[15] == g + GUARD_HANDLER) || vc);
    if ((in_exc || g) && (rc = gdb_read_regs(p, now, all_regs, 17)) < 0) return rc;
    if (in_exc) {
        rc = take_fault(p, stop, now, g, old_vtor);
        if (rc < 0) return rc;
        memcpy(now, stop->fault.regs, sizeof now);
        if (stop->reason == OFLASH_STOP_BKPT) stop->fault.valid = false;
    } else if (timed_out) {
        stop->reason = OFLASH_STOP_TIMEOUT;
        snprintf(stop->detail, sizeof stop->detail, "no halt within %u ms; halted", tmo);
    } else if (opts->have_break && now[15] == opts->break_addr) {
        stop->reason = OFLASH_STOP_BREAKPOINT;
        snprintf(stop->detail, sizeof stop->detail, "breakpoint at 0x%08X", now[15]);
    } else {
        uint8_t ins[2] = {0, 0};
        rc = gdb_read_mem(p, ins, now[15] & ~1u, 2);
        if (rc == 0 && ins[1] == 0xBE) {
            stop->reason = OFLASH_STOP_BKPT;
            snprintf(stop->detail, sizeof stop->detail, "BKPT #%u", ins[0]);
        } else if (sig == SIG_TRAP || sig == SIG_INT) {
            stop->reason = OFLASH_STOP_HALT;
            snprintf(stop->detail, sizeof stop->detail, "stopped with signal %d", sig);
        } else {
            stop->reason = OFLASH_STOP_FAULT;
            snprintf(stop->detail, sizeof stop->detail, "stopped with signal %d", sig);
        }
    }
    /* Put the old VTOR back (no exception: through the stub) and leave the
     * registers as they were where the code stopped. */
    if (g && !in_exc && (rc = guard_stub(p, g, old_vtor)) < 0)
        return oflash_error_prefix("restoring VTOR to 0x%08X: ", old_vtor);
    if (g && (rc = gdb_write_regs(p, all_regs, now, 17)) < 0) return rc;
    return 0;
}

static const char *gdb_part(const oflash_probe *p)
{
    (void)p;
    return NULL;
}

/* ------------------------------------------------------------- extras */

static int need_gdb(oflash_probe *p)
{
    if (!p || p->ops != &oflash_probe_gdb_ops)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "probe %s is not a GDB server connection",
                                p ? p->spec : "(null)");
    return 0;
}

int oflash_gdb_memory_map(const oflash_gdb_mem_region **regions, size_t *count, oflash_probe *p)
{
    int rc = need_gdb(p);
    *regions = NULL;
    *count = 0;
    if (rc < 0) return rc;
    *regions = cl(p)->map;
    *count = cl(p)->map_count;
    return 0;
}

const char *oflash_gdb_features(oflash_probe *p)
{
    return need_gdb(p) < 0 ? "" : cl(p)->features;
}

int oflash_gdb_flash_erase(oflash_probe *p, uint32_t addr, uint32_t len)
{
    char req[48];
    int rc = need_gdb(p);
    if (rc < 0) return rc;
    if ((rc = ensure_halted(cl(p))) < 0) return rc;
    snprintf(req, sizeof req, "vFlashErase:%x,%x", addr, len);
    rc = request_ok(cl(p), req, "vFlashErase");
    if (rc < 0) return oflash_error_prefix("erasing 0x%08X..0x%08X: ", addr, addr + len - 1);
    return 0;
}

int oflash_gdb_flash_write(oflash_probe *p, uint32_t addr, const void *buf, size_t len)
{
    gdb_client *c;
    const uint8_t *src = buf;
    int rc = need_gdb(p);
    if (rc < 0) return rc;
    c = cl(p);
    if ((rc = ensure_halted(c)) < 0) return rc;
    while (len) {
        int hl = snprintf(c->out, c->packet_size, "vFlashWrite:%x:", addr);
        size_t used, enc, n;
        enc = oflash__rsp_escape(src, len, c->out + hl, c->packet_size - 1 - (size_t)hl, &used);
        if (!used)
            return oflash_error_set(OFLASH_EPROTO, "packet size %zu too small", c->packet_size);
        rc = request_n(c, c->out, (size_t)hl + enc, &n);
        if (rc < 0) return rc;
        if (n != 2 || strcmp(c->buf, "OK"))
            return oflash_error_set(n ? OFLASH_ETARGET : OFLASH_EUNSUPPORTED,
                                    "GDB server %s: vFlashWrite of %zu bytes at 0x%08X failed: "
                                    "server replied '%.20s'",
                                    c->peer, used, addr, n ? c->buf : "(empty)");
        p->stats.mem_write_bytes += used;
        src += used;
        addr += (uint32_t)used;
        len -= used;
    }
    return 0;
}

int oflash_gdb_flash_done(oflash_probe *p)
{
    gdb_client *c;
    int rc = need_gdb(p);
    if (rc < 0) return rc;
    c = cl(p);
    if ((rc = ensure_halted(c)) < 0) return rc;
    /* Programming happens here on most servers: allow erase-class time. */
    {
        unsigned saved = c->timeout_ms;
        if (c->timeout_ms < 60000) c->timeout_ms = 60000;
        rc = request_ok(c, "vFlashDone", "vFlashDone");
        c->timeout_ms = saved;
    }
    return rc;
}

/*
 * The backend.  Contracts as in oflash/sys/probe.h; specifics:
 * open: arg "HOST:PORT" or "/dev/tty..." (opts->baud); handshake reads
 *       qSupported, target.xml and the memory map.
 * read_mem/write_mem: split to the server's PacketSize; X when the server
 *       takes it, else M.
 * run: optional breakpoint (Z1, falling back to Z0), c, wait for the stop
 *       reply, Ctrl-C on timeout.
 */
const oflash_probe_ops oflash_probe_gdb_ops = {
    .version = OFLASH_PROBE_OPS_VERSION,
    .name = "gdb",
    .open = gdb_open,
    .close = gdb_close,
    .read_mem = gdb_read_mem,
    .write_mem = gdb_write_mem,
    .read_regs = gdb_read_regs,
    .write_regs = gdb_write_regs,
    .halt = gdb_halt,
    .reset = gdb_reset,
    .run = gdb_run,
    .command = gdb_command,
    .part = gdb_part,
};
