/*
 * target.c - shared target options and progress display of the oflash CLI.
 *
 * --voltage-range follows the "program/erase parallelism" table of RM0368
 * rev 5 §3.5.1 (Table 5) and RM0090 rev 19 §3.6.2: 1.7/1.8-2.1 V x8,
 * 2.1-2.7 V x16, 2.7-3.6 V x32, 2.7-3.6 V with external VPP x64.
 */
#include "target.h"
#include "cli.h"
#include "oflash/error.h"

#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_target_apply(cli_target *ct, const char *cmd, int opt, const char *v)
{
    static const char *const names[4][2] = {{"1", "x8"}, {"2", "x16"}, {"3", "x32"}, {"4", "x64"}};
    switch (opt) {
    case CLI_OPT_PROBE:
        ct->probe = v;
        return 1;
    case CLI_OPT_DEVICES:
        if (ct->nfiles == CLI_MAX_DEVICE_FILES) {
            cli_usage(cmd, "at most %d --devices files", CLI_MAX_DEVICE_FILES);
            return -1;
        }
        ct->files[ct->nfiles++] = v;
        return 1;
    case CLI_OPT_DEVICE:
        ct->device = v;
        return 1;
    case CLI_OPT_FORCE_DEVICE:
        ct->force_device = true;
        return 1;
    case CLI_OPT_VOLTAGE_RANGE:
        for (unsigned k = 0; k < 4; k++)
            if (!strcmp(v, names[k][0]) || !strcmp(v, names[k][1])) {
                ct->psize = k;
                ct->have_psize = true;
                return 1;
            }
        cli_usage(cmd, "--voltage-range '%s': expected 1 (x8), 2 (x16), 3 (x32) or 4 (x64)", v);
        return -1;
    default:
        return 0;
    }
}

int cli_target_open(const char *cmd, cli_target *ct, oflash_target **out)
{
    oflash_target_opts o = OFLASH_TARGET_OPTS_INIT;
    *out = NULL;
    if (!ct->probe) return cli_usage(cmd, "--probe is required (sim:PATH or gdb:HOST:PORT)");
    ct->files[ct->nfiles] = NULL;
    o.probe = ct->probe;
    o.device = ct->device;
    o.device_files = ct->files;
    o.force_device = ct->force_device;
    o.have_psize = ct->have_psize;
    o.psize = ct->psize;
    if (oflash_target_open(out, &o) < 0) {
        char part[64];
        if (oflash_error_last_code() == OFLASH_ENOTFOUND && ct->device &&
            cli_order_code_part(part, sizeof part, ct->device)) {
            /* A full order code (STM32F401RET6): package and temperature
             * range do not change the flash, so the part is the name. */
            o.device = part;
            if (oflash_target_open(out, &o) == 0) return 0;
        }
        return cli_fail();
    }
    return 0;
}

bool cli_order_code_part(char *out, size_t len, const char *code)
{
    size_t n = strlen(code);
    if (n >= len || n < 12 || strncasecmp(code, "STM32", 5) != 0) return false;
    memcpy(out, code, n + 1);
    if (!strcasecmp(out + n - 2, "TR")) out[n -= 2] = '\0'; /* tape and reel */
    /* ...<package letter><temperature digit> */
    if (n < 12 || !isdigit((unsigned char)out[n - 1]) || !isalpha((unsigned char)out[n - 2]))
        return false;
    out[n - 2] = '\0';
    return true;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One progress display at a time: the callback and the ticker thread
 * share it under this lock. */
static pthread_mutex_t prog_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct ticker {
    pthread_t thread;
    volatile bool stop;
    cli_progress *p;
} ticker;

void cli_progress_init(cli_progress *p, bool enabled)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->tty = enabled && isatty(STDERR_FILENO);
    p->last_phase = -1;
    p->last_pct = -1;
}

void cli_progress_target(cli_progress *p, oflash_target *t)
{
    p->probe = t ? oflash_target_probe(t) : NULL;
    p->dev = t ? oflash_target_device(t) : NULL;
}

/* Simulated seconds of the target so far, or -1 (no simulated time).  A
 * copy of the probe's counters: no I/O, allowed inside a progress
 * callback. */
static double sim_now(const cli_progress *p)
{
    oflash_probe_stats ps;
    if (!p->probe) return -1;
    oflash_probe_get_stats(&ps, p->probe);
    return ps.has_sim_time ? (double)ps.sim_time_ns / 1e9 : -1;
}

/* Columns of the terminal on stderr: TIOCGWINSZ, else $COLUMNS, else 80. */
static int term_cols(void)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (env && atoi(env) > 0) return atoi(env);
    return 80;
}

static const char *unit_of(oflash_phase ph)
{
    return ph == OFLASH_PHASE_LOCK ? "locks" : "bytes";
}

/* "12.0/512.0 KiB", "3/16 bytes", "1/1 locks" */
static void amount(char *buf, size_t len, oflash_phase ph, uint64_t done, uint64_t total)
{
    if (ph == OFLASH_PHASE_LOCK || total < 1024)
        snprintf(buf, len, "%llu/%llu %s", (unsigned long long)done, (unsigned long long)total,
                 ph == OFLASH_PHASE_LOCK ? (total == 1 ? "lock" : "locks") : "bytes");
    else if (total < 1024 * 1024)
        snprintf(buf, len, "%.1f/%.1f KiB", (double)done / 1024, (double)total / 1024);
    else
        snprintf(buf, len, "%.2f/%.2f MiB", (double)done / 1048576, (double)total / 1048576);
}

/* Seconds since the phase started: the target's simulated time on sim:,
 * else the wall clock. */
static double phase_elapsed(const cli_progress *p, bool *sim)
{
    double s = sim_now(p);
    *sim = s >= 0;
    return *sim ? s - p->sim_start : cli_now() - p->phase_start;
}

/* The bar line, never longer than the terminal's width - 1 (no wrap):
 * "program    [#####     ]  45%  230.0/512.0 KiB  1234.5 KiB/s". */
static void draw(cli_progress *p, oflash_phase ph, uint64_t done, uint64_t total)
{
    int cols = term_cols(), limit = cols - 1, pct = total ? (int)(done * 100 / total) : 100;
    char cnt[48], rate[48] = "", head[24], tail[128], line[512];
    bool sim;
    double dt = phase_elapsed(p, &sim);
    amount(cnt, sizeof cnt, ph, done, total);
    if (dt > 0.0005 && ph != OFLASH_PHASE_LOCK && done)
        snprintf(rate, sizeof rate, "  %.1f KiB/s%s", (double)done / 1024.0 / dt,
                 sim ? " target" : "");
    snprintf(head, sizeof head, "%-10s [", oflash_phase_name(ph));
    int bar = 0;
    for (int drop = 0; drop < 3; drop++) {
        snprintf(tail, sizeof tail, "] %3d%%%s%s%s", pct, drop < 2 ? "  " : "", drop < 2 ? cnt : "",
                 drop < 1 ? rate : "");
        bar = limit - (int)strlen(head) - (int)strlen(tail);
        if (bar >= 10) break;
    }
    if (bar > 60) bar = 60;
    if (bar < 1) bar = 1;
    int fill = total ? (int)((uint64_t)bar * done / total) : bar;
    int n = snprintf(line, sizeof line, "%s", head);
    for (int i = 0; i < bar && n < (int)sizeof line - 1; i++)
        line[n++] = i < fill ? '#' : ' ';
    line[n] = '\0';
    snprintf(line + n, sizeof line - (size_t)n, "%s", tail);
    if (limit > 0 && (int)strlen(line) > limit) line[limit] = '\0'; /* a very narrow terminal */
    /* \r, the line, and clear what a longer previous line left. */
    fprintf(stderr, "\r%s\033[K", line);
    p->last_len = (int)strlen(line);
    if (done == total && total) fputc('\n', stderr);
    fflush(stderr);
}

/* The erase bar within a sector: the sector being erased now is the first
 * one past `done`; move through it by the time elapsed since the last
 * step against the family's typical erase time, never to its end. */
static void *tick(void *arg)
{
    ticker *tk = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* Ctrl-C stays with the command */
    while (!tk->stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&prog_lock);
        cli_progress *p = tk->p;
        if (!tk->stop && p->last_phase == OFLASH_PHASE_ERASE && p->done < p->total) {
            uint64_t at = 0;
            for (size_t i = 0; i < p->erase_count; i++) {
                if (at + p->erase_sizes[i] > p->done) {
                    uint32_t us = oflash_device_erase_time_us(p->dev, p->erase_sizes[i]);
                    double f = us ? (cli_now() - p->last_step) / (us / 1e6) : 0;
                    if (f > 0.95) f = 0.95;
                    if (f > 0)
                        draw(p, OFLASH_PHASE_ERASE, p->done + (uint64_t)(f * p->erase_sizes[i]),
                             p->total);
                    break;
                }
                at += p->erase_sizes[i];
            }
        }
        pthread_mutex_unlock(&prog_lock);
    }
    return NULL;
}

void cli_progress_erase_sectors(cli_progress *p, const uint32_t *sizes, size_t n)
{
    ticker *tk;
    if (!p->enabled || !p->tty || !n || !p->dev) return;
    free(p->erase_sizes);
    p->erase_sizes = malloc(n * sizeof *sizes);
    if (!p->erase_sizes) return;
    memcpy(p->erase_sizes, sizes, n * sizeof *sizes);
    p->erase_count = n;
    if (p->ticker || !(tk = calloc(1, sizeof *tk))) return;
    tk->p = p;
    if (pthread_create(&tk->thread, NULL, tick, tk) != 0) {
        free(tk);
        return;
    }
    p->ticker = tk;
}

void cli_progress_erase_plan(cli_progress *p, const oflash_plan *plan)
{
    uint32_t *sizes = calloc(plan->sector_count ? plan->sector_count : 1, sizeof *sizes);
    size_t n = 0;
    if (!sizes) return;
    for (size_t i = 0; i < plan->sector_count; i++)
        if (plan->sectors[i].action == OFLASH_SECTOR_ERASE_PROGRAM)
            sizes[n++] = plan->sectors[i].sector->size;
    cli_progress_erase_sectors(p, sizes, n);
    free(sizes);
}

void cli_progress_finish(cli_progress *p)
{
    ticker *tk = p->ticker;
    if (tk) {
        pthread_mutex_lock(&prog_lock);
        tk->stop = true;
        pthread_mutex_unlock(&prog_lock);
        pthread_join(tk->thread, NULL);
        free(tk);
        p->ticker = NULL;
    }
    free(p->erase_sizes);
    p->erase_sizes = NULL;
    p->erase_count = 0;
}

void cli_progress_cb(void *ctx, oflash_phase phase, uint64_t done, uint64_t total)
{
    cli_progress *p = ctx;
    if (!p->enabled) return;
    pthread_mutex_lock(&prog_lock);
    if ((int)phase != p->last_phase) {
        p->last_phase = (int)phase;
        p->phase_start = cli_now();
        p->sim_start = sim_now(p);
        p->last_pct = -1;
    }
    if (done != p->done || total != p->total) p->last_step = cli_now();
    p->done = done;
    p->total = total;
    if (p->tty) {
        int pct = total ? (int)(done * 100 / total) : 100;
        if (pct != p->last_pct || done == total) {
            p->last_pct = pct;
            draw(p, phase, done, total);
        }
    } else if (done == total) {
        bool sim;
        double dt = phase_elapsed(p, &sim);
        fprintf(stderr, "%s: %llu %s in %.3f s%s", oflash_phase_name(phase),
                (unsigned long long)total,
                total == 1 && phase == OFLASH_PHASE_LOCK ? "lock" : unit_of(phase),
                sim ? dt : cli_now() - p->phase_start, sim ? " target time" : "");
        if (dt > 0.0005 && phase != OFLASH_PHASE_LOCK && total)
            fprintf(stderr, " (%.1f KiB/s)", (double)total / 1024.0 / dt);
        fputc('\n', stderr);
    }
    pthread_mutex_unlock(&prog_lock);
}

bool cli_parse_verify(const char *s, oflash_verify_mode *mode)
{
    if (!strcmp(s, "crc"))
        *mode = OFLASH_VERIFY_CRC;
    else if (!strcmp(s, "readback"))
        *mode = OFLASH_VERIFY_READBACK;
    else if (!strcmp(s, "none"))
        *mode = OFLASH_VERIFY_NONE;
    else
        return false;
    return true;
}

void cli_json_stats(json_t *o, const oflash_flash_stats *st, double elapsed)
{
    json_object_set_new(o, "round_trips", json_integer((json_int_t)st->round_trips));
    json_object_set_new(o, "wire_bytes", json_integer((json_int_t)st->wire_bytes));
    json_object_set_new(o, "elapsed_s", json_real(elapsed));
    json_object_set_new(o, "sim_time_s", st->has_sim_time ? json_real(st->sim_time_s) : json_null());
}
