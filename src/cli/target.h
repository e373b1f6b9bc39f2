/*
 * target.h - options every target command shares (--probe, --device,
 * --devices, --force-device, --voltage-range), opening the target, and the
 * progress display (bars on a terminal, plain lines otherwise).
 */
#ifndef OFLASH_CLI_TARGET_H
#define OFLASH_CLI_TARGET_H

#include "cli_json.h"
#include "oflash/flash.h"

#include <stdbool.h>
#include <stdio.h>

#define CLI_MAX_DEVICE_FILES 32

typedef struct cli_target {
    const char *probe;
    const char *device;
    const char *files[CLI_MAX_DEVICE_FILES + 1]; /* NULL-terminated */
    size_t nfiles;
    bool force_device;
    bool have_psize;
    unsigned psize;
} cli_target;

/* Help text for the shared options. */
#define CLI_TARGET_HELP                                                                            \
    "  --probe P            sim:PATH or gdb:HOST:PORT (or gdb:/dev/ttyX)\n"                        \
    "  --device D           part name (e.g. STM32F401RE); sim: chips know their part\n"            \
    "  --devices FILE       device file to load first (repeatable)\n"                              \
    "  --force-device       skip the DBGMCU_IDCODE / flash size check\n"                           \
    "  --voltage-range R    1 (1.8-2.1 V, x8), 2 (2.1-2.7 V, x16), 3 (2.7-3.6 V, x32,\n"           \
    "                       default), 4 (2.7-3.6 V with VPP, x64)\n"

/* If opt (from cli_args_next, CLI_OPTS_TARGET) is a shared target option,
 * apply its value v and return 1; return 0 if it is not one; on a bad value
 * print the usage error and return -1. */
int cli_target_apply(cli_target *ct, const char *cmd, int opt, const char *v);

/* Open the target; on failure print the error and return EXIT_FAIL/USAGE. */
int cli_target_open(const char *cmd, cli_target *ct, oflash_target **out);

/* Progress display.  On a terminal (stderr): one bar per phase that fits
 * the terminal's width (TIOCGWINSZ, else $COLUMNS, else 80; the line is
 * always shorter than the width, so it never wraps); with the sectors to
 * erase given (cli_progress_erase_sectors) the erase bar also moves within
 * a long sector by the time elapsed against the family's typical erase
 * time.  Elsewhere: one plain line per phase.  With a target attached
 * (cli_progress_target) on sim:, times and rates are the simulated
 * target's. */
typedef struct cli_progress {
    bool enabled;   /* false with --quiet or --json */
    bool tty;       /* bars on stderr */
    int last_phase; /* -1 none */
    double phase_start;
    int last_pct;
    /* cli_progress_target */
    const struct oflash_probe *probe; /* sim time (NULL: wall clock) */
    const oflash_device *dev;
    double sim_start; /* simulated seconds at the phase start */
    /* cli_progress_erase_sectors: sizes of the sectors to erase, in order */
    uint32_t *erase_sizes;
    size_t erase_count;
    /* the ticker thread (erase within a sector) */
    void *ticker; /* internal */
    uint64_t done, total;
    double last_step; /* wall time of the last reported step */
    int last_len;     /* characters of the last bar line */
} cli_progress;

void cli_progress_init(cli_progress *p, bool enabled);
/* Rates and times from the target (its probe's simulated time on sim:). */
void cli_progress_target(cli_progress *p, oflash_target *t);
/* The main-flash sectors the erase phase will erase, in order (sizes in
 * bytes): the erase bar then moves within each by the typical erase time.
 * Copied.  Call cli_progress_finish() afterwards. */
void cli_progress_erase_sectors(cli_progress *p, const uint32_t *sizes, size_t n);
/* Sectors of a plan that it erases. */
void cli_progress_erase_plan(cli_progress *p, const oflash_plan *plan);
/* Stop the ticker, free what the progress display holds. */
void cli_progress_finish(cli_progress *p);
void cli_progress_cb(void *ctx, oflash_phase phase, uint64_t done, uint64_t total);
/* Seconds since an arbitrary point (monotonic clock). */
double cli_now(void);

/* Parse --verify crc|readback|none. */
bool cli_parse_verify(const char *s, oflash_verify_mode *mode);

/* Add the statistics fields shared by program/verify/erase JSON to o:
 * round_trips, wire_bytes, elapsed_s, sim_time_s (null off sim:). */
void cli_json_stats(json_t *o, const oflash_flash_stats *st, double elapsed);
/* The plan of program / otp lock as JSON (docs/json.md "plan"). */
json_t *cli_json_plan(const oflash_plan *p);

/* Plan and conflict table (cmd_program.c). */
void cli_print_plan(FILE *f, const oflash_plan *p);
void cli_print_conflicts(FILE *f, const oflash_plan *p);
/* One line per OTP block of the image: chip and image in words. */
void cli_print_otp_blocks(FILE *f, const oflash_plan *p, const char *indent);
/* "STM32F401RET6" (order code: part + package + temperature [+ TR]) ->
 * "STM32F401RE". */
bool cli_order_code_part(char *out, size_t len, const char *code);
/* Reset; halt: stop at the reset vector, else run (cmd_reset.c).  sp_pc
 * (may be NULL) receives SP and PC as loaded from the vector table. */
int cli_reset_target(oflash_target *t, bool halt, uint32_t sp_pc[2]);
/* The OTP table of `oflash otp` (cmd_otp.c). */
void cli_otp_print_table(const oflash_otp_block *b, size_t n);

#endif
