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
#include <stdlib.h>
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

void cli_progress_init(cli_progress *p, bool enabled)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->tty = enabled && isatty(STDERR_FILENO);
    p->last_phase = -1;
    p->last_pct = -1;
}

static const char *unit_of(oflash_phase ph)
{
    return ph == OFLASH_PHASE_OTP || ph == OFLASH_PHASE_OTP_VERIFY ? "bytes"
           : ph == OFLASH_PHASE_LOCK                               ? "locks"
                                                                   : "bytes";
}

void cli_progress_cb(void *ctx, oflash_phase phase, uint64_t done, uint64_t total)
{
    cli_progress *p = ctx;
    double now = cli_now();
    if (!p->enabled) return;
    if ((int)phase != p->last_phase) {
        p->last_phase = (int)phase;
        p->phase_start = now;
        p->last_pct = -1;
    }
    double dt = now - p->phase_start;
    if (p->tty) {
        int pct = total ? (int)(done * 100 / total) : 100;
        if (pct == p->last_pct && done != total) return;
        p->last_pct = pct;
        char bar[31];
        int fill = pct * 30 / 100;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, ' ', (size_t)(30 - fill));
        bar[30] = '\0';
        fprintf(stderr, "\r%-10s [%s] %3d%% %10llu/%-10llu %s", oflash_phase_name(phase), bar, pct,
                (unsigned long long)done, (unsigned long long)total, unit_of(phase));
        if (dt > 0.01 && strcmp(unit_of(phase), "bytes") == 0)
            fprintf(stderr, " %7.1f KiB/s", (double)done / 1024.0 / dt);
        if (done == total) fputc('\n', stderr);
        fflush(stderr);
    } else if (done == total) {
        fprintf(stderr, "%s: %llu %s in %.2f s\n", oflash_phase_name(phase),
                (unsigned long long)total, unit_of(phase), dt);
    }
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

void cli_json_stats(FILE *f, const oflash_flash_stats *st, double elapsed)
{
    fprintf(f, "\"round_trips\": %llu, \"wire_bytes\": %llu, \"elapsed_s\": %.6f, ",
            (unsigned long long)st->round_trips, (unsigned long long)st->wire_bytes, elapsed);
    if (st->has_sim_time)
        fprintf(f, "\"sim_time_s\": %.6f", st->sim_time_s);
    else
        fprintf(f, "\"sim_time_s\": null");
}
