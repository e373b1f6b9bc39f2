/*
 * dbg_serve.c - oflash_sim_serve(): the simulated chip's JTAG port over
 * OpenOCD's remote_bitbang protocol (OpenOCD doc/manual/jtag/drivers/
 * remote_bitbang.txt).  Each byte from the client is one request:
 *
 *   '0'..'7'  drive TCK, TMS, TDI = bits 2, 1, 0 of (byte - '0')
 *   'R'       sample TDO: answer '0' or '1'
 *   'r'..'u'  TRST, SRST = bits 1, 0 of (byte - 'r'), 1 = asserted
 *   'B' 'b'   LED on / off (ignored)
 *   'Q'       the client is leaving
 *
 * Anything else ends the session with a log message (SWD requests are not
 * served: Debian's OpenOCD 0.12 drives this adapter with JTAG only).
 *
 * Time: every rising TCK edge adds one adapter clock period (1/tck_hz) of
 * simulated time, which the core (if not halted) and the chip's flash
 * operations use before the next AP access and at the end of each batch of
 * bytes.  When the client has been silent for IDLE_NS (it waits for the
 * target, e.g. for a flash loader to reach its BKPT), a running core runs
 * ahead of the wall clock (up to MAX_LEAD_PS per silence); shorter gaps
 * are the round trips of an active debugger and add nothing, so that a
 * core spinning while the debugger feeds it (OpenOCD's async flash loader)
 * costs only TCK time.  With realtime, simulated time also never falls
 * behind the wall time of a silence (counted in wait_time_ns), so a flash
 * operation finishes no slower than on silicon while the debugger sleeps.
 *
 * The chip's journal is flushed after every batch, so the state file is as
 * crash-safe as with the sim: probe; closing compacts it.
 */
#include "oflash/sim_debug.h"

#include "dbg.h"
#include "sim_internal.h"

#include "oflash/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TCK_HZ 4000000u
#define MAX_LEAD_PS (100ull * SIM_PS_PER_MS) /* lead over the wall clock per idle period */
#define IDLE_NS 5000000ull                   /* a debugger silent this long waits for the target */

typedef struct server {
    sim_chip *chip;
    sim_dbg_desc desc;
    sim_cortexm core;
    sim_jtag jtag;
    uint64_t tck_ps;
    const oflash_sim_serve_opts *opts;
    /* session */
    uint64_t t0_wall_ns, t0_sim_ps;
    bool idle;                          /* no request pending since idle_wall_ns */
    uint64_t idle_wall_ns, idle_sim_ps; /* start of the idle period */
    uint64_t wait_ps;
    uint64_t bytes_in, bytes_out;
    uint64_t tck0, insns0, halts0, steps0, resumes0, prog0, erase0;
    uint64_t apr0, apw0, waits0, errs0;
} server;

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool stopped(const server *s)
{
    return s->opts->stop && *s->opts->stop;
}

/* Split "[HOST:]PORT". */
static int parse_listen(const char *spec, char *host, size_t hlen, char *port, size_t plen)
{
    const char *colon = spec ? strrchr(spec, ':') : NULL;
    const char *p = colon ? colon + 1 : spec;
    char *end;
    unsigned long v;
    if (!spec || !*spec) {
        snprintf(host, hlen, "127.0.0.1");
        snprintf(port, plen, "0");
        return 0;
    }
    v = strtoul(p, &end, 10);
    if (!*p || *end || v > 65535)
        return oflash_error_set(OFLASH_EINVAL,
                                "remote_bitbang address '%s': expected [HOST:]PORT with PORT "
                                "0-65535",
                                spec);
    if (colon && colon > spec)
        snprintf(host, hlen, "%.*s", (int)(colon - spec), spec);
    else
        snprintf(host, hlen, "127.0.0.1");
    snprintf(port, plen, "%lu", v);
    return 0;
}

static int open_listener(const char *spec, char *host, size_t hlen, unsigned *bound)
{
    char port[16];
    struct addrinfo hints, *ai = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd, one = 1, rc;

    if ((rc = parse_listen(spec, host, hlen, port, sizeof port)) < 0) return rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
        return oflash_error_set(OFLASH_EINVAL, "remote_bitbang address %s:%s: %s", host, port,
                                gai_strerror(rc));
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return oflash_error_set(OFLASH_EIO, "socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1) != 0) {
        int e = errno;
        freeaddrinfo(ai);
        close(fd);
        return oflash_error_set(OFLASH_EIO, "remote_bitbang: cannot listen on %s:%s: %s", host,
                                port, strerror(e));
    }
    freeaddrinfo(ai);
    *bound = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

/* Give the core and the chip the debugger time not used yet. */
static void sync_time(server *s)
{
    oflash__sim_cortexm_bus.sync(&s->core);
    oflash__sim_journal_flush(&s->chip->file);
}

/* While the debugger waits, simulated time runs at least as fast as the
 * wall clock: from the start of this idle period. */
static void realtime_floor(server *s)
{
    uint64_t wall_ps, sim_ps;
    if (!s->opts->realtime) return;
    wall_ps = (wall_ns() - s->idle_wall_ns) * 1000u;
    sim_ps = s->chip->now_ps - s->idle_sim_ps;
    if (sim_ps < wall_ps) {
        uint64_t d = wall_ps - sim_ps;
        s->wait_ps += d;
        oflash__sim_cortexm_advance(&s->core, d);
        oflash__sim_journal_flush(&s->chip->file);
    }
}

/* The debugger is idle and the core runs: let it run ahead of the wall
 * clock in 1 ms slices, up to MAX_LEAD_PS beyond the wall time of this
 * idle period, so that code the debugger waits for (a flash loader)
 * finishes as fast as the host can simulate it.  Returns false when there
 * is nothing to run or the lead is used up. */
static bool run_ahead(server *s)
{
    const sim_cortexm *m = &s->core;
    uint64_t wall_ps, sim_ps, slice = SIM_PS_PER_MS;
    if (m->halted || m->locked_up || m->in_srst || s->chip->power_lost) return false;
    wall_ps = (wall_ns() - s->idle_wall_ns) * 1000u;
    sim_ps = s->chip->now_ps - s->idle_sim_ps;
    if (sim_ps >= wall_ps + MAX_LEAD_PS) return false;
    if (sim_ps + slice > wall_ps + MAX_LEAD_PS) slice = wall_ps + MAX_LEAD_PS - sim_ps;
    oflash__sim_cortexm_advance(&s->core, slice);
    oflash__sim_journal_flush(&s->chip->file);
    return true;
}

/* Handle one batch of request bytes; answers go to out.  Returns false
 * when the session ends (Q or a byte that is not a request). */
static bool handle(server *s, const uint8_t *in, size_t n, uint8_t *out, size_t *olen)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (b >= '0' && b <= '7') {
            unsigned v = b - '0';
            uint64_t before = s->jtag.tck_cycles;
            oflash__sim_jtag_pins(&s->jtag, (v >> 2) & 1, (v >> 1) & 1, v & 1);
            if (s->jtag.tck_cycles != before) s->core.pending_ps += s->tck_ps;
        } else if (b == 'R') {
            out[(*olen)++] = oflash__sim_jtag_tdo(&s->jtag) ? '1' : '0';
        } else if (b >= 'r' && b <= 'u') {
            unsigned v = b - 'r';
            sync_time(s);
            if (v & 2) oflash__sim_jtag_trst(&s->jtag);
            oflash__sim_cortexm_srst(&s->core, (v & 1) != 0);
        } else if (b == 'B' || b == 'b' || b == '\n' || b == '\r') {
            /* LED, or line breaks from a hand-typed session */
        } else if (b == 'Q') {
            return false;
        } else {
            oflash_log(OFLASH_LOG_WARN,
                       "remote_bitbang: request byte 0x%02X is not served (JTAG only); closing "
                       "the connection",
                       b);
            return false;
        }
    }
    return true;
}

static void session_stats(const server *s, oflash_sim_serve_stats *st)
{
    const sim_chip *c = s->chip;
    memset(st, 0, sizeof *st);
    st->bytes_in = s->bytes_in;
    st->bytes_out = s->bytes_out;
    st->tck_cycles = s->jtag.tck_cycles - s->tck0;
    st->sim_time_ns = (c->now_ps - s->t0_sim_ps) / 1000u;
    st->wait_time_ns = s->wait_ps / 1000u;
    st->wall_time_ns = wall_ns() - s->t0_wall_ns;
    st->cpu_insns = c->insns - s->insns0;
    st->halts = s->core.halts - s->halts0;
    st->steps = s->core.steps - s->steps0;
    st->resumes = s->core.resumes - s->resumes0;
    st->ap_reads = s->jtag.dap.ap_reads - s->apr0;
    st->ap_writes = s->jtag.dap.ap_writes - s->apw0;
    st->dp_waits = s->jtag.dap.waits - s->waits0;
    st->bus_errors = s->jtag.dap.bus_errors - s->errs0;
    st->program_ops = c->program_ops - s->prog0;
    st->erase_ops = c->erase_ops - s->erase0;
}

static void add_stats(oflash_sim_serve_stats *t, const oflash_sim_serve_stats *st)
{
    uint64_t *a = (uint64_t *)t;
    const uint64_t *b = (const uint64_t *)st;
    for (size_t i = 0; i < sizeof *t / sizeof(uint64_t); i++)
        a[i] += b[i];
}

static void session_begin(server *s)
{
    const sim_chip *c = s->chip;
    s->t0_wall_ns = wall_ns();
    s->t0_sim_ps = c->now_ps;
    s->wait_ps = 0;
    s->idle = false;
    s->bytes_in = s->bytes_out = 0;
    s->tck0 = s->jtag.tck_cycles;
    s->insns0 = c->insns;
    s->halts0 = s->core.halts;
    s->steps0 = s->core.steps;
    s->resumes0 = s->core.resumes;
    s->prog0 = c->program_ops;
    s->erase0 = c->erase_ops;
    s->apr0 = s->jtag.dap.ap_reads;
    s->apw0 = s->jtag.dap.ap_writes;
    s->waits0 = s->jtag.dap.waits;
    s->errs0 = s->jtag.dap.bus_errors;
}

static int send_all(int fd, const uint8_t *buf, size_t n)
{
    while (n) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static void serve_client(server *s, int fd, const char *peer, oflash_sim_serve_stats *total)
{
    static uint8_t in[65536], out[65536];
    oflash_sim_serve_stats st;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    session_begin(s);
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t r;
        size_t olen = 0;
        bool more;
        int pr;
        if (stopped(s)) break;
        if (s->opts->report && *s->opts->report) {
            *s->opts->report = 0;
            sync_time(s);
            session_stats(s, &st);
            if (s->opts->on_session) s->opts->on_session(s->opts->ctx, peer, &st, false);
        }
        pr = poll(&pfd, 1, 0);
        if (pr == 0 && !s->idle) {
            s->idle = true;
            s->idle_wall_ns = wall_ns();
            s->idle_sim_ps = s->chip->now_ps;
        }
        if (pr == 0) {
            /* Nothing pending: the debugger waits for us, computes, or
             * sleeps.  A gap shorter than IDLE_NS is a round trip of an
             * active debugger; after it the core may run ahead. */
            uint64_t idle_for = wall_ns() - s->idle_wall_ns;
            int ms;
            if (idle_for >= IDLE_NS && run_ahead(s)) continue;
            realtime_floor(s);
            ms = idle_for < IDLE_NS                     ? (int)((IDLE_NS - idle_for) / 1000000u) + 1
                 : s->core.halted || !s->opts->realtime ? 100
                                                        : 1;
            pr = poll(&pfd, 1, ms);
            if (pr == 0) continue;
        }
        if (pr < 0) {
            if (errno == EINTR) continue;
            break;
        }
        r = recv(fd, in, sizeof in, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        s->bytes_in += (uint64_t)r;
        s->idle = false;
        more = handle(s, in, (size_t)r, out, &olen);
        sync_time(s);
        if (olen) {
            if (send_all(fd, out, olen) < 0) break;
            s->bytes_out += olen;
        }
        if (!more) break;
    }
    sync_time(s);
    session_stats(s, &st);
    if (total) add_stats(total, &st);
    if (s->opts->on_session) s->opts->on_session(s->opts->ctx, peer, &st, true);
}

int oflash_sim_serve(oflash_sim_serve_stats *total, const char *path,
                     const oflash_sim_serve_opts *opts)
{
    server s;
    oflash_probe_opts popts = OFLASH_PROBE_OPTS_INIT;
    char host[256];
    unsigned port = 0;
    int lfd, rc;

    if (total) memset(total, 0, sizeof *total);
    if (!opts || opts->version != OFLASH_SIM_SERVE_OPTS_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "oflash_sim_serve: opts->version must be %d",
                                OFLASH_SIM_SERVE_OPTS_VERSION);
    memset(&s, 0, sizeof s);
    s.opts = opts;
    s.tck_ps = 1000000000000ull / (opts->tck_hz ? opts->tck_hz : DEFAULT_TCK_HZ);
    popts.device = opts->device;
    if ((rc = oflash__sim_chip_open(&s.chip, path, &popts)) < 0) return rc;
    if (!s.chip->model || !s.chip->model->debug_port) {
        rc = oflash_error_set(OFLASH_EUNSUPPORTED,
                              "%s: %s (family %s) has no debug port model for "
                              "remote_bitbang",
                              path, s.chip->nv.part, s.chip->dev->family);
        oflash__sim_chip_close(s.chip);
        return rc;
    }
    oflash__sim_dbg_desc_for(&s.desc, s.chip->model->debug_port, s.chip->dev->dev_id,
                             s.chip->map.cpuid);
    oflash__sim_cortexm_init(&s.core, s.chip, &s.desc);
    if (oflash__sim_jtag_init(&s.jtag, &s.desc, &oflash__sim_cortexm_bus, &s.core) < 0) {
        oflash__sim_chip_close(s.chip);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    s.jtag.dap.tck_ps = s.tck_ps;
    lfd = open_listener(opts->listen, host, sizeof host, &port);
    if (lfd < 0) {
        rc = lfd;
        goto out;
    }
    if (opts->on_listen) opts->on_listen(opts->ctx, host, port);
    rc = 0;
    while (!stopped(&s)) {
        struct pollfd pfd = {lfd, POLLIN, 0};
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        char peer[INET6_ADDRSTRLEN + 8] = "?";
        int cfd, pr = poll(&pfd, 1, 100);
        if (pr < 0 && errno != EINTR) {
            rc = oflash_error_set(OFLASH_EIO, "remote_bitbang: poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0) continue;
        cfd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (cfd < 0) continue;
        if (ss.ss_family == AF_INET) {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a);
            snprintf(peer, sizeof peer, "%s:%u", a, ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
        serve_client(&s, cfd, peer, total);
        close(cfd);
        if (opts->once) break;
    }
    close(lfd);
out:
    oflash__sim_cortexm_free(&s.core);
    oflash__sim_jtag_free(&s.jtag);
    oflash__sim_chip_close(s.chip);
    return rc;
}
