/*
 * cmd_commander.c - `oflash commander`: a console in the manner of SEGGER's
 * J-Link Commander.  Interactive (line editing, history and tab completion
 * from libedit) or scripted (-CommandFile FILE / -f FILE).  Commands keep
 * J-Link Commander's names and argument forms (numbers are hex, with or
 * without 0x; arguments separated by blanks or commas), so existing
 * scripts carry over; see docs/commander.md for the mapping.
 *
 * Every flash write goes through the one flash path of the library
 * (plan, oflash_flash_check, oflash_flash_execute), so the OTP rules and
 * the checks before the first erase are the same as for `oflash program`.
 *
 * Exit codes: 0 every command succeeded (or `exit`), 1 a command failed
 * (the first one, unless -ExitOnError 0), 2 usage error, 130 interrupted.
 */
#include "cli.h"
#include "cli_image.h"
#include "commander.h"
#include "target.h"
#include "oflash/error.h"
#include "oflash/probe.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 16
#define GO_SLICE_MS 200u

volatile sig_atomic_t cmdr_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    cmdr_interrupted = 1;
}

typedef struct cmdr {
    cli_target ct;
    oflash_target *t;
    bool have_bp;
    uint32_t bp;
    unsigned go_timeout_ms; /* 0 = until halt or Ctrl-C */
    bool interactive;
} cmdr;

typedef int (*cmdr_fn)(cmdr *c, int argc, char **argv);

typedef struct cmdr_cmd {
    const char *name;
    const char *alias; /* may be NULL */
    int min_args, max_args;
    bool target;       /* needs a connection (connects on first use) */
    cmdr_fn fn;
    const char *usage; /* arguments */
    const char *help;
} cmdr_cmd;

static const cmdr_cmd *find_cmd(const char *name);

/* ---- arguments ------------------------------------------------------- */

/* A number as J-Link Commander reads it: hexadecimal, 0x optional. */
static bool parse_hex(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s) return false;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    if (!isxdigit((unsigned char)*s)) return false;
    errno = 0;
    v = strtoull(s, &end, 16);
    if (errno || *end || v > 0xFFFFFFFFull) return false;
    *out = (uint32_t)v;
    return true;
}

static int bad_arg(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_arg(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    const cmdr_cmd *k = find_cmd(cmd);
    fprintf(stderr, "oflash: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (k) fprintf(stderr, " (usage: %s%s%s)", k->name, k->usage[0] ? " " : "", k->usage);
    fputc('\n', stderr);
    return -1;
}

static bool arg_hex(const char *cmd, const char *what, const char *s, uint32_t *out)
{
    if (parse_hex(s, out)) return true;
    bad_arg(cmd, "%s '%s' is not a hexadecimal number", what, s);
    return false;
}

/* Register names as J-Link Commander writes them: R0..R15, SP, LR, PC,
 * XPSR, MSP, PSP (any case). */
static int reg_by_name(const char *s)
{
    char low[16];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof low) return -1;
    for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)s[i]);
    if (!strcmp(low, "r13")) return OFLASH_REG_SP;
    if (!strcmp(low, "r14")) return OFLASH_REG_LR;
    if (!strcmp(low, "r15")) return OFLASH_REG_PC;
    return oflash_reg_from_name(low);
}

/* ---- connection ------------------------------------------------------ */

static int ensure_target(cmdr *c)
{
    if (c->t) return 0;
    if (!c->ct.probe) {
        cli_error("not connected: start with --probe sim:PATH|gdb:HOST:PORT or type "
                  "'connect PROBE'");
        return -1;
    }
    if (cli_target_open("commander", &c->ct, &c->t) != 0) return -1;
    if (!cli_quiet)
        printf("Connected to %s (%s)\n", oflash_target_device(c->t)->name,
               oflash_probe_backend(oflash_target_probe(c->t)));
    return 0;
}

static oflash_probe *P(cmdr *c) { return oflash_target_probe(c->t); }

static void disconnect(cmdr *c)
{
    oflash_target_close(c->t);
    c->t = NULL;
}

static int do_connect(cmdr *c, int argc, char **argv)
{
    if (argc > 1) {
        if (strncmp(argv[1], "sim:", 4) && strncmp(argv[1], "gdb:", 4))
            return bad_arg("connect", "'%s' is not a probe (expected sim:PATH or gdb:HOST:PORT)",
                           argv[1]);
        disconnect(c);
        c->ct.probe = argv[1];
    } else if (c->t) {
        printf("Already connected to %s\n", oflash_target_device(c->t)->name);
        return 0;
    }
    return ensure_target(c);
}

static int do_device(cmdr *c, int argc, char **argv)
{
    (void)argc;
    disconnect(c);
    free((char *)c->ct.device);
    c->ct.device = strdup(argv[1]);
    if (!c->ct.device) return -1;
    printf("Device \"%s\" selected%s\n", argv[1], c->ct.probe ? "" : " (connect PROBE next)");
    return 0;
}

/* ---- core ------------------------------------------------------------ */

static const int shown_regs[] = {
    OFLASH_REG_R0,  OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3, OFLASH_REG_R4,  OFLASH_REG_R5,
    OFLASH_REG_R6,  OFLASH_REG_R7, OFLASH_REG_R8, OFLASH_REG_R9, OFLASH_REG_R10, OFLASH_REG_R11,
    OFLASH_REG_R12, OFLASH_REG_SP, OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_XPSR};
#define NSHOWN (sizeof shown_regs / sizeof shown_regs[0])

static int print_regs(cmdr *c)
{
    uint32_t v[NSHOWN];
    if (oflash_probe_read_regs(v, P(c), shown_regs, NSHOWN) < 0) {
        cli_fail_ctx("reading the registers");
        return -1;
    }
    printf("PC = %08X, XPSR = %08X\n", v[15], v[16]);
    for (int i = 0; i < 13; i += 4) {
        for (int k = i; k < i + 4 && k < 13; k++)
            printf("%sR%d = %08X", k > i ? ", " : "", k, v[k]);
        printf("\n");
    }
    printf("SP(R13) = %08X, LR(R14) = %08X\n", v[13], v[14]);
    return 0;
}

static int do_halt(cmdr *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (oflash_probe_halt(P(c)) < 0) {
        cli_fail_ctx("halting the core");
        return -1;
    }
    return print_regs(c);
}

static const char *stop_name(oflash_stop_reason r)
{
    return r == OFLASH_STOP_BKPT         ? "BKPT"
           : r == OFLASH_STOP_BREAKPOINT ? "breakpoint"
           : r == OFLASH_STOP_TIMEOUT    ? "timeout"
           : r == OFLASH_STOP_FAULT      ? "fault"
                                         : "halt";
}

/* Run until the core halts by itself (BKPT, breakpoint, fault), Ctrl-C,
 * or the go timeout; runs in slices so that Ctrl-C is seen. */
static int run_until_halt(cmdr *c, oflash_stop_info *stop)
{
    double start = cli_now();
    for (;;) {
        oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
        ro.have_break = c->have_bp;
        ro.break_addr = c->bp;
        ro.timeout_ms = GO_SLICE_MS;
        if (oflash_probe_run(stop, P(c), &ro) < 0) {
            cli_fail_ctx("running the core");
            return -1;
        }
        if (stop->reason != OFLASH_STOP_TIMEOUT) return 0;
        if (cmdr_interrupted) {
            if (c->interactive) cmdr_interrupted = 0;
            printf("Interrupted (Ctrl-C): core halted at %08X\n", stop->pc);
            print_regs(c);
            return -1;
        }
        if (c->go_timeout_ms && (cli_now() - start) * 1000.0 >= c->go_timeout_ms) {
            printf("Core halted at %08X after %u ms without reaching a BKPT or the breakpoint\n",
                   stop->pc, c->go_timeout_ms);
            cli_error("go: timeout (-GoTimeout %u ms)", c->go_timeout_ms);
            return -1;
        }
    }
}

static int do_go(cmdr *c, int argc, char **argv)
{
    oflash_stop_info stop;
    (void)argc;
    (void)argv;
    cmdr_interrupted = 0;
    if (run_until_halt(c, &stop) < 0) return -1;
    printf("Core halted: %s at %08X%s%s\n", stop_name(stop.reason), stop.pc,
           stop.detail[0] ? " - " : "", stop.detail);
    if (stop.reason == OFLASH_STOP_FAULT) {
        cli_error("go: the core faulted at 0x%08X", stop.pc);
        return -1;
    }
    return 0;
}

static int do_waithalt(cmdr *c, int argc, char **argv)
{
    uint32_t pc;
    (void)argc;
    (void)argv;
    /* go returns when the core has halted; this reports where. */
    if (oflash_probe_read_reg(&pc, P(c), OFLASH_REG_PC) < 0) {
        cli_fail_ctx("reading PC");
        return -1;
    }
    printf("Core is halted at %08X\n", pc);
    return 0;
}

static int do_reset(cmdr *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (oflash_probe_reset(P(c), true) < 0) {
        cli_fail_ctx("resetting the core");
        return -1;
    }
    printf("Reset: core halted at the reset vector\n");
    return print_regs(c);
}

static int do_step(cmdr *c, int argc, char **argv)
{
    uint32_t n = 1, pc;
    oflash_stop_info stop;
    if (argc > 1 && (!arg_hex("s", "count", argv[1], &n) || n == 0))
        return n == 0 ? bad_arg("s", "count must be at least 1") : -1;
    for (uint32_t i = 0; i < n; i++) {
        oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
        ro.max_insns = 1;
        ro.timeout_ms = 2000;
        if (oflash_probe_run(&stop, P(c), &ro) < 0) {
            cli_fail_ctx("stepping");
            return -1;
        }
        if (stop.reason == OFLASH_STOP_FAULT) {
            cli_error("s: the core faulted at 0x%08X", stop.pc);
            return -1;
        }
    }
    if (oflash_probe_read_reg(&pc, P(c), OFLASH_REG_PC) < 0) return cli_fail_ctx("reading PC"), -1;
    printf("PC = %08X\n", pc);
    return 0;
}

static int do_regs(cmdr *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return print_regs(c);
}

static int do_rreg(cmdr *c, int argc, char **argv)
{
    uint32_t v;
    int r = reg_by_name(argv[1]);
    (void)argc;
    if (r < 0)
        return bad_arg("rreg", "unknown register '%s' (R0-R15, SP, LR, PC, XPSR, MSP, PSP)",
                       argv[1]);
    if (oflash_probe_read_reg(&v, P(c), r) < 0) return cli_fail_ctx("reading %s", argv[1]), -1;
    printf("%s = %08X\n", argv[1], v);
    return 0;
}

static int write_reg(cmdr *c, const char *cmd, int r, uint32_t v)
{
    if (oflash_probe_write_reg(P(c), r, v) < 0) return cli_fail_ctx("%s", cmd), -1;
    /* Cortex-M runs Thumb code only: keep the T bit when PC is set. */
    if (r == OFLASH_REG_PC) {
        uint32_t x;
        if (oflash_probe_read_reg(&x, P(c), OFLASH_REG_XPSR) == 0 && !(x & 0x01000000u))
            oflash_probe_write_reg(P(c), OFLASH_REG_XPSR, x | 0x01000000u);
    }
    return 0;
}

static int do_wreg(cmdr *c, int argc, char **argv)
{
    uint32_t v;
    int r = reg_by_name(argv[1]);
    (void)argc;
    if (r < 0)
        return bad_arg("wreg", "unknown register '%s' (R0-R15, SP, LR, PC, XPSR, MSP, PSP)",
                       argv[1]);
    if (!arg_hex("wreg", "value", argv[2], &v)) return -1;
    if (write_reg(c, "wreg", r, v) < 0) return -1;
    printf("%s = %08X\n", argv[1], v);
    return 0;
}

static int do_setpc(cmdr *c, int argc, char **argv)
{
    uint32_t v;
    (void)argc;
    if (!arg_hex("setpc", "address", argv[1], &v)) return -1;
    return write_reg(c, "setpc", OFLASH_REG_PC, v);
}

/* ---- memory ---------------------------------------------------------- */

static int mem_dump(cmdr *c, const char *cmd, int argc, char **argv, unsigned width)
{
    uint32_t addr, n, bytes;
    uint8_t *buf;
    (void)argc;
    if (!arg_hex(cmd, "address", argv[1], &addr) || !arg_hex(cmd, "count", argv[2], &n)) return -1;
    if (n == 0) return bad_arg(cmd, "count must be at least 1");
    if (n > 0x100000 / width) return bad_arg(cmd, "count %X is too large (at most 1 MiB)", n);
    if (addr % width) return bad_arg(cmd, "address %08X is not %u-byte aligned", addr, width);
    bytes = n * width;
    if ((uint64_t)addr + bytes > 0x100000000ull)
        return bad_arg(cmd, "range %08X + %X passes the end of the address space", addr, bytes);
    buf = malloc(bytes);
    if (!buf) return -1;
    if (oflash_probe_read_mem(buf, P(c), addr, bytes) < 0) {
        free(buf);
        return cli_fail_ctx("reading %u bytes at 0x%08X", bytes, addr), -1;
    }
    for (uint32_t off = 0; off < bytes; off += 16) {
        uint32_t end = off + 16 < bytes ? off + 16 : bytes;
        printf("%08X = ", addr + off);
        for (uint32_t k = off; k < end; k += width) {
            uint32_t v = 0;
            for (unsigned b = 0; b < width; b++) v |= (uint32_t)buf[k + b] << (8 * b);
            printf("%0*X ", (int)width * 2, v);
        }
        if (width == 1 && !strcmp(cmd, "mem")) {
            printf("%*s", (int)(16 - (end - off)) * 3, "");
            for (uint32_t k = off; k < end; k++) putchar(isprint(buf[k]) ? buf[k] : '.');
        }
        printf("\n");
    }
    free(buf);
    return 0;
}

static int do_mem(cmdr *c, int argc, char **argv) { return mem_dump(c, "mem", argc, argv, 1); }
static int do_mem8(cmdr *c, int argc, char **argv) { return mem_dump(c, "mem8", argc, argv, 1); }
static int do_mem16(cmdr *c, int argc, char **argv) { return mem_dump(c, "mem16", argc, argv, 2); }
static int do_mem32(cmdr *c, int argc, char **argv) { return mem_dump(c, "mem32", argc, argv, 4); }

static int mem_write(cmdr *c, const char *cmd, char **argv, unsigned width)
{
    uint32_t addr, v;
    uint8_t b[4];
    if (!arg_hex(cmd, "address", argv[1], &addr) || !arg_hex(cmd, "value", argv[2], &v)) return -1;
    if (width < 4 && v >> (8 * width))
        return bad_arg(cmd, "value %X does not fit in %u byte%s", v, width, width > 1 ? "s" : "");
    if (addr % width) return bad_arg(cmd, "address %08X is not %u-byte aligned", addr, width);
    for (unsigned k = 0; k < width; k++) b[k] = (uint8_t)(v >> (8 * k));
    if (oflash_probe_write_mem(P(c), addr, b, width) < 0)
        return cli_fail_ctx("writing 0x%08X", addr), -1;
    printf("Writing %0*X -> %08X\n", (int)width * 2, v, addr);
    return 0;
}

static int do_w1(cmdr *c, int argc, char **argv) { return (void)argc, mem_write(c, "w1", argv, 1); }
static int do_w2(cmdr *c, int argc, char **argv) { return (void)argc, mem_write(c, "w2", argv, 2); }
static int do_w4(cmdr *c, int argc, char **argv) { return (void)argc, mem_write(c, "w4", argv, 4); }

/* ---- files and flash ------------------------------------------------- */

static bool in_any_bank(const oflash_device *d, uint32_t a, uint32_t len)
{
    for (size_t i = 0; i < d->bank_count; i++) {
        const oflash_bank *b = &d->banks[i];
        if (a < (uint64_t)b->base + b->size && (uint64_t)a + len > b->base) return true;
    }
    return false;
}

/* Program an image through the one flash path (plan, checks, execute).
 * plan_only prints the plan; allow_otp is program --otp. */
static int flash_image(cmdr *c, const char *cmd, oflash_image *img, bool allow_otp,
                       bool skip_otp, bool plan_only)
{
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_target_view view;
    oflash_plan *plan = NULL;
    oflash_flash_stats st;
    cli_progress prog;
    int rc;
    po.allow_otp = allow_otp;
    po.skip_otp = skip_otp;
    oflash_target_view_init(&view, c->t);
    rc = oflash_plan_create(&plan, img, oflash_target_device(c->t), &view, &po);
    if (rc == OFLASH_ECONFLICT && plan) {
        cli_error("%s: %s", cmd, oflash_error_last());
        cli_print_conflicts(stderr, plan);
        oflash_plan_free(plan);
        return -1;
    }
    if (rc < 0) {
        cli_error("%s: %s%s", cmd, oflash_error_last(),
                  rc == OFLASH_EPROTECTED && !allow_otp
                      ? " (OTP is written only by 'program FILE --otp', after 'plan FILE')"
                      : "");
        return -1;
    }
    if (oflash_flash_check(c->t, plan) < 0) {
        cli_error("%s: %s", cmd, oflash_error_last());
        oflash_plan_free(plan);
        return -1;
    }
    if (plan_only) {
        cli_print_plan(stdout, plan);
        oflash_plan_free(plan);
        return 0;
    }
    if (oflash_plan_is_noop(plan)) {
        printf("%s: already up to date (nothing to erase or program)\n", cmd);
        oflash_plan_free(plan);
        return 0;
    }
    cli_progress_init(&prog, !cli_quiet);
    fo.progress = cli_progress_cb;
    fo.progress_ctx = &prog;
    rc = oflash_flash_execute(&st, c->t, plan, &fo);
    oflash_plan_free(plan);
    if (rc < 0) {
        cli_error("%s: %s", cmd, oflash_error_last());
        return -1;
    }
    printf("%s: %zu sector%s erased, %llu bytes programmed, %zu OTP byte%s, %zu block%s "
           "locked, verify %s\n",
           cmd, st.sectors_erased, st.sectors_erased == 1 ? "" : "s",
           (unsigned long long)st.bytes_programmed, st.otp_bytes_programmed,
           st.otp_bytes_programmed == 1 ? "" : "s", st.otp_blocks_locked,
           st.otp_blocks_locked == 1 ? "" : "s", st.verify > 0 ? "ok" : "skipped");
    return 0;
}

/* Load FILE (any format) or FILE@ADDR; RAM-only images are written
 * directly, images in flash/OTP go through the flash path. */
static int load_image(cmdr *c, const char *cmd, const char *file, const uint32_t *addr,
                      bool allow_otp, bool skip_otp, bool plan_only, bool ram_ok)
{
    char spec[4200];
    char *specs[1] = {spec};
    oflash_image *img = NULL;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    const oflash_device *d = oflash_target_device(c->t);
    bool flash = false, ram = false;
    int rc = -1;

    if (addr)
        snprintf(spec, sizeof spec, "%s@0x%08X", file, *addr);
    else
        snprintf(spec, sizeof spec, "%s", file);
    if (cli_load_images(&img, specs, 1, &lo) != EXIT_OK) return -1;
    for (size_t i = 0; i < oflash_image_segment_count(img); i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        if (in_any_bank(d, s->addr, s->size))
            flash = true;
        else
            ram = true;
    }
    if (oflash_image_segment_count(img) == 0) {
        cli_error("%s: %s holds no data", cmd, file);
    } else if (flash && ram) {
        cli_error("%s: %s has data both in flash/OTP and outside it (RAM); load them separately",
                  cmd, file);
    } else if (ram && !ram_ok) {
        cli_error("%s: %s holds no flash or OTP data for %s", cmd, file, d->name);
    } else if (ram) {
        rc = 0;
        for (size_t i = 0; i < oflash_image_segment_count(img) && rc == 0; i++) {
            const oflash_segment *s = oflash_image_segment(img, i);
            if (oflash_probe_write_mem(P(c), s->addr, s->data, s->size) < 0) {
                cli_fail_ctx("%s: writing %u bytes at 0x%08X", cmd, s->size, s->addr);
                rc = -1;
            }
        }
        if (rc == 0)
            for (size_t i = 0; i < oflash_image_segment_count(img); i++)
                printf("%s: %u bytes written to RAM at %08X\n", cmd,
                       oflash_image_segment(img, i)->size, oflash_image_segment(img, i)->addr);
    } else {
        rc = flash_image(c, cmd, img, allow_otp, skip_otp, plan_only);
    }
    oflash_image_free(img);
    return rc;
}

static int do_loadfile(cmdr *c, int argc, char **argv)
{
    uint32_t a;
    if (argc > 2 && !arg_hex("loadfile", "address", argv[2], &a)) return -1;
    return load_image(c, "loadfile", argv[1], argc > 2 ? &a : NULL, false, false, false, true);
}

static int do_loadbin(cmdr *c, int argc, char **argv)
{
    uint32_t a;
    (void)argc;
    if (!arg_hex("loadbin", "address", argv[2], &a)) return -1;
    return load_image(c, "loadbin", argv[1], &a, false, false, false, true);
}

/* program FILE [--otp|--skip-otp] and plan FILE [--otp|--skip-otp]. */
static int program_or_plan(cmdr *c, const char *cmd, int argc, char **argv, bool plan_only)
{
    bool otp = false, skip = false;
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--otp"))
            otp = true;
        else if (!strcmp(argv[i], "--skip-otp"))
            skip = true;
        else if (argv[i][0] == '-')
            return bad_arg(cmd, "unknown option '%s' (--otp or --skip-otp)", argv[i]);
        else if (file)
            return bad_arg(cmd, "one image at a time ('%s' and '%s')", file, argv[i]);
        else
            file = argv[i];
    }
    if (!file) return bad_arg(cmd, "which image?");
    if (otp && skip) return bad_arg(cmd, "--otp and --skip-otp contradict each other");
    return load_image(c, cmd, file, NULL, otp, skip, plan_only, false);
}

static int do_program(cmdr *c, int argc, char **argv)
{
    return program_or_plan(c, "program", argc, argv, false);
}

static int do_plan(cmdr *c, int argc, char **argv)
{
    return program_or_plan(c, "plan", argc, argv, true);
}

static int do_savebin(cmdr *c, int argc, char **argv)
{
    uint32_t addr, len;
    uint8_t *buf;
    FILE *f;
    int rc = 0;
    (void)argc;
    if (!arg_hex("savebin", "address", argv[2], &addr) ||
        !arg_hex("savebin", "length", argv[3], &len))
        return -1;
    if (len == 0) return bad_arg("savebin", "length must be at least 1");
    if ((uint64_t)addr + len > 0x100000000ull)
        return bad_arg("savebin", "range %08X + %X passes the end of the address space", addr,
                       len);
    if (len > 64u << 20) return bad_arg("savebin", "length %X is too large (at most 64 MiB)", len);
    buf = malloc(len);
    if (!buf) return -1;
    if (oflash_flash_read(buf, c->t, addr, len, NULL, NULL) < 0) {
        free(buf);
        return cli_fail_ctx("savebin: reading %u bytes at 0x%08X", len, addr), -1;
    }
    f = fopen(argv[1], "wb");
    if (!f) {
        cli_error("savebin: %s: cannot create: %s", argv[1], strerror(errno));
        rc = -1;
    } else {
        if (fwrite(buf, 1, len, f) != len) rc = -1;
        if (fclose(f) != 0) rc = -1;
        if (rc < 0) {
            cli_error("savebin: %s: write failed: %s", argv[1], strerror(errno));
            remove(argv[1]);
        } else {
            printf("Saved %u bytes from %08X to %s\n", len, addr, argv[1]);
        }
    }
    free(buf);
    return rc;
}

static int do_verifybin(cmdr *c, int argc, char **argv)
{
    uint32_t addr;
    FILE *f;
    uint8_t *file = NULL;
    long n;
    int rc = -1;
    (void)argc;
    if (!arg_hex("verifybin", "address", argv[2], &addr)) return -1;
    f = fopen(argv[1], "rb");
    if (!f) {
        cli_error("verifybin: %s: cannot open: %s", argv[1], strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        cli_error("verifybin: %s: not a regular file", argv[1]);
        fclose(f);
        return -1;
    }
    if (n == 0 || (uint64_t)addr + (uint64_t)n > 0x100000000ull) {
        cli_error("verifybin: %s: %s", argv[1],
                  n == 0 ? "file is empty" : "does not fit below 4 GiB at that address");
        fclose(f);
        return -1;
    }
    file = malloc((size_t)n);
    if (file && fread(file, 1, (size_t)n, f) == (size_t)n) {
        /* The one verify path of every front end: the chip's CRC unit (the
         * loader's CRC without one); a difference is read back. */
        oflash_image *img = NULL;
        oflash_verify_result res = {0};
        int vrc = oflash_image_new(&img);
        if (vrc == 0) vrc = oflash_image_add(img, addr, file, (size_t)n, argv[1]);
        if (vrc == 0) vrc = oflash_flash_verify(&res, c->t, img, OFLASH_VERIFY_CRC, NULL, NULL);
        if (vrc == 0) {
            printf("Verify successful: %ld bytes at %08X match %s\n", n, addr, argv[1]);
            rc = 0;
        } else if (vrc == OFLASH_EVERIFY && res.diff_count) {
            cli_error("verifybin: mismatch at offset %ld of %s: %s", (long)(res.first_diff - addr),
                      argv[1], oflash_error_last());
        } else {
            cli_fail_ctx("verifybin: %ld bytes at 0x%08X", n, addr);
        }
        oflash_image_free(img);
    } else {
        cli_error("verifybin: %s: read error", argv[1]);
    }
    fclose(f);
    free(file);
    return rc;
}

static int do_erase(cmdr *c, int argc, char **argv)
{
    const oflash_device *d = oflash_target_device(c->t);
    unsigned nums[512];
    size_t n = 0, erased = 0;
    uint32_t s, e;
    bool start_ok = false, end_ok = false;
    if (argc == 2) return bad_arg("erase", "give both START and END, or neither (whole flash)");
    if (argc == 1) {
        if (oflash_flash_erase(&erased, c->t, NULL, 0, true, NULL, NULL) < 0)
            return cli_fail_ctx("erase"), -1;
        printf("Erased %zu sector%s (whole flash)\n", erased, erased == 1 ? "" : "s");
        return 0;
    }
    if (!arg_hex("erase", "start address", argv[1], &s) ||
        !arg_hex("erase", "end address", argv[2], &e))
        return -1;
    if (e <= s) return bad_arg("erase", "end %08X is not above start %08X", e, s);
    /* END is exclusive; both must be sector boundaries of the main flash,
     * so that exactly the range asked for is erased. */
    for (size_t b = 0; b < d->bank_count; b++) {
        const oflash_bank *bk = &d->banks[b];
        if (bk->kind != OFLASH_BANK_FLASH) continue;
        for (size_t k = 0; k < bk->sector_count; k++) {
            const oflash_sector *sc = &bk->sectors[k];
            if (sc->addr == s) start_ok = true;
            if ((uint64_t)sc->addr + sc->size == e) end_ok = true;
            if (sc->addr >= s && (uint64_t)sc->addr + sc->size <= e && n < 512)
                nums[n++] = sc->number;
        }
    }
    if (!start_ok) return bad_arg("erase", "start %08X is not the start of a flash sector", s);
    if (!end_ok)
        return bad_arg("erase", "end %08X is not the end of a flash sector (END is exclusive)", e);
    if (oflash_flash_erase(&erased, c->t, nums, n, false, NULL, NULL) < 0)
        return cli_fail_ctx("erase"), -1;
    printf("Erased %zu sector%s (%08X-%08X)\n", erased, erased == 1 ? "" : "s", s, e - 1);
    return 0;
}

static int do_setbp(cmdr *c, int argc, char **argv)
{
    uint32_t a;
    (void)argc;
    if (!arg_hex("setbp", "address", argv[1], &a)) return -1;
    if (argc > 2 && strcasecmp(argv[2], "T") && strcasecmp(argv[2], "A"))
        return bad_arg("setbp", "mode '%s': expected T (Thumb); Cortex-M has no ARM mode",
                       argv[2]);
    if (argc > 2 && !strcasecmp(argv[2], "A"))
        return bad_arg("setbp", "ARM mode breakpoints do not exist on Cortex-M (use T)");
    if (c->have_bp && c->bp != (a & ~1u))
        return bad_arg("setbp", "one breakpoint at a time: breakpoint 1 is at %08X (clrbp 1 "
                                "first)",
                       c->bp);
    c->have_bp = true;
    c->bp = a & ~1u;
    printf("Breakpoint set @ addr 0x%08X (Handle = 1)\n", c->bp);
    return 0;
}

static int do_clrbp(cmdr *c, int argc, char **argv)
{
    uint32_t h = 1;
    if (argc > 1 && !arg_hex("clrbp", "handle", argv[1], &h)) return -1;
    if (!c->have_bp || h != 1)
        return bad_arg("clrbp", "no breakpoint with handle %X (setbp prints the handle)", h);
    c->have_bp = false;
    printf("Breakpoint 1 cleared\n");
    return 0;
}

static int do_sleep(cmdr *c, int argc, char **argv)
{
    char *end;
    unsigned long ms;
    struct timespec ts;
    (void)c;
    (void)argc;
    errno = 0;
    ms = strtoul(argv[1], &end, 10);
    if (errno || *end || end == argv[1] || argv[1][0] == '-' || ms > 3600000)
        return bad_arg("sleep", "'%s' is not a number of milliseconds (decimal, at most 3600000)",
                       argv[1]);
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !cmdr_interrupted) {
    }
    return cmdr_interrupted ? -1 : 0;
}

static int do_otp(cmdr *c, int argc, char **argv)
{
    oflash_otp_state *os;
    if (argc == 1) {
        if (oflash_otp_read(&os, c->t) < 0) return cli_fail_ctx("otp"), -1;
        cli_otp_print_table(os->blocks, os->count);
        oflash_otp_state_free(os);
        return 0;
    }
    if (strcasecmp(argv[1], "lock"))
        return bad_arg("otp", "unknown subcommand '%s' (otp, or otp lock N)", argv[1]);
    {
        uint32_t blk;
        unsigned b;
        bool yes = argc > 3 && !strcmp(argv[3], "--yes");
        oflash_image *img = NULL;
        oflash_otp_rules rules;
        int rc;
        if (argc < 3) return bad_arg("otp", "otp lock: which block?");
        if (argc > 4 || (argc == 4 && !yes))
            return bad_arg("otp", "otp lock takes one block number (and --yes in a script)");
        if (oflash_device_otp_rules(&rules, oflash_target_device(c->t)) < 0 ||
            rules.kind != OFLASH_OTP_BLOCK_LOCK)
            return bad_arg("otp", "%s has no OTP lock bytes", oflash_target_device(c->t)->name);
        {
            char *end;
            unsigned long x;
            errno = 0;
            x = strtoul(argv[2], &end, 10);
            if (errno || *end || end == argv[2] || x >= rules.lock_count)
                return bad_arg("otp", "block '%s': expected a block number 0..%u", argv[2],
                               rules.lock_count - 1);
            blk = (uint32_t)x;
        }
        b = blk;
        if (!yes) {
            char line[16];
            if (!c->interactive) {
                cli_error("otp lock %u: locking cannot be undone; in a command file write "
                          "'otp lock %u --yes'",
                          b, b);
                return -1;
            }
            printf("Lock OTP block %u? This cannot be undone. Type 'yes' to lock: ", b);
            fflush(stdout);
            if (!fgets(line, sizeof line, stdin) || strcmp(line, "yes\n") != 0) {
                printf("Not locked.\n");
                return 0;
            }
        }
        if (oflash_otp_lock_image(&img, oflash_target_device(c->t), &b, 1) < 0)
            return cli_fail_ctx("otp lock"), -1;
        rc = flash_image(c, "otp lock", img, true, false, false);
        oflash_image_free(img);
        return rc;
    }
}

static int do_exit(cmdr *c, int argc, char **argv)
{
    (void)c;
    (void)argc;
    (void)argv;
    return 1;
}

static int do_help(cmdr *c, int argc, char **argv);

static const cmdr_cmd cmds[] = {
    {"connect", NULL, 0, 1, false, do_connect, "[PROBE]", "connect (sim:PATH or gdb:HOST:PORT)"},
    {"device", NULL, 1, 1, false, do_device, "NAME", "select the part (before connect)"},
    {"halt", "h", 0, 0, true, do_halt, "", "halt the core and show the registers"},
    {"go", "g", 0, 0, true, do_go, "", "run until BKPT, breakpoint, fault or Ctrl-C"},
    {"waithalt", "wh", 0, 1, true, do_waithalt, "[TIMEOUT]", "report where the core halted"},
    {"reset", "r", 0, 0, true, do_reset, "", "reset the core and halt at the reset vector"},
    {"step", "s", 0, 1, true, do_step, "[N]", "execute N (hex) instructions"},
    {"regs", NULL, 0, 0, true, do_regs, "", "show the core registers"},
    {"rreg", NULL, 1, 1, true, do_rreg, "REG", "read a register (R0-R15, SP, LR, PC, XPSR)"},
    {"wreg", NULL, 2, 2, true, do_wreg, "REG, VALUE", "write a register"},
    {"setpc", NULL, 1, 1, true, do_setpc, "ADDR", "set PC"},
    {"mem", NULL, 2, 2, true, do_mem, "ADDR, NUMBYTES", "show memory as bytes and text"},
    {"mem8", NULL, 2, 2, true, do_mem8, "ADDR, NUMBYTES", "show memory as bytes"},
    {"mem16", NULL, 2, 2, true, do_mem16, "ADDR, NUMITEMS", "show memory as half-words"},
    {"mem32", NULL, 2, 2, true, do_mem32, "ADDR, NUMITEMS", "show memory as words"},
    {"w1", NULL, 2, 2, true, do_w1, "ADDR, VALUE", "write a byte (RAM, peripherals)"},
    {"w2", NULL, 2, 2, true, do_w2, "ADDR, VALUE", "write a half-word"},
    {"w4", NULL, 2, 2, true, do_w4, "ADDR, VALUE", "write a word"},
    {"loadfile", NULL, 1, 2, true, do_loadfile, "FILE [ADDR]",
     "load an image (HEX, S-record, ELF; binary with ADDR) to flash or RAM"},
    {"loadbin", NULL, 2, 2, true, do_loadbin, "FILE, ADDR", "load a binary to flash or RAM"},
    {"savebin", NULL, 3, 3, true, do_savebin, "FILE, ADDR, NUMBYTES", "save memory to a file"},
    {"verifybin", NULL, 2, 2, true, do_verifybin, "FILE, ADDR", "compare memory with a file"},
    {"erase", NULL, 0, 2, true, do_erase, "[START END]",
     "erase the whole flash, or the sectors from START to END (exclusive)"},
    {"setbp", NULL, 1, 2, true, do_setbp, "ADDR [T]", "set the breakpoint"},
    {"clrbp", NULL, 0, 1, true, do_clrbp, "[HANDLE]", "clear the breakpoint"},
    {"sleep", NULL, 1, 1, false, do_sleep, "MS", "wait MS milliseconds (decimal)"},
    {"otp", NULL, 0, 3, true, do_otp, "[lock N [--yes]]", "show the OTP blocks; lock one"},
    {"plan", NULL, 1, 3, true, do_plan, "FILE [--otp|--skip-otp]",
     "show what program would do (nothing written)"},
    {"program", NULL, 1, 3, true, do_program, "FILE [--otp|--skip-otp]",
     "program flash (and OTP with --otp) from an image"},
    {"help", "?", 0, 1, false, do_help, "[COMMAND]", "list the commands"},
    {"exit", "q", 0, 0, false, do_exit, "", "leave (also: qc, quit)"},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

static const cmdr_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcasecmp(name, cmds[i].name) || (cmds[i].alias && !strcasecmp(name, cmds[i].alias)))
            return &cmds[i];
    if (!strcasecmp(name, "qc") || !strcasecmp(name, "quit")) return &cmds[NCMDS - 1];
    return NULL;
}

const char *cmdr_command_name(size_t i)
{
    if (i < NCMDS) return cmds[i].name;
    i -= NCMDS;
    for (size_t k = 0; k < NCMDS; k++)
        if (cmds[k].alias && i-- == 0) return cmds[k].alias;
    return NULL;
}

static int do_help(cmdr *c, int argc, char **argv)
{
    (void)c;
    if (argc > 1) {
        const cmdr_cmd *k = find_cmd(argv[1]);
        if (!k) return bad_arg("help", "unknown command '%s'", argv[1]);
        printf("%s%s%s%s%s  %s\n", k->name, k->alias ? " (" : "", k->alias ? k->alias : "",
               k->alias ? ")" : "", "", k->help);
        printf("usage: %s %s\n", k->name, k->usage);
        return 0;
    }
    for (size_t i = 0; i < NCMDS; i++) {
        char head[48];
        snprintf(head, sizeof head, "%s%s%s %s", cmds[i].alias ? cmds[i].alias : "",
                 cmds[i].alias ? "/" : "", cmds[i].name, cmds[i].usage);
        printf("  %-34s %s\n", head, cmds[i].help);
    }
    printf("Numbers are hexadecimal (0x optional), except sleep's milliseconds.\n");
    return 0;
}

/* Split a line into words (blanks and commas separate; "..." quotes). */
static int split(char *line, char **argv, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n') p++;
        if (!*p) break;
        if (n == max) return -1;
        if (*p == '"') {
            argv[n++] = ++p;
            while (*p && *p != '"') p++;
            if (!*p) return -2;
            *p++ = '\0';
            continue;
        }
        argv[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != ',' && *p != '\r' && *p != '\n') p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

/* Run one line: 0 ok (or empty), -1 failed, 1 exit. */
int cmdr_exec_line(void *ctx, const char *text)
{
    cmdr *c = ctx;
    char *line = strdup(text), *argv[MAX_ARGS];
    const char *s = text;
    const cmdr_cmd *k;
    int argc, rc;
    if (!line) return -1;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '#' || (s[0] == '/' && s[1] == '/') || *s == '\n' || *s == '\r') {
        free(line);
        return 0;
    }
    argc = split(line, argv, MAX_ARGS);
    if (argc == -2) {
        cli_error("unterminated quote in '%s'", text);
        free(line);
        return -1;
    }
    if (argc <= 0) {
        free(line);
        return argc == 0 ? 0 : (cli_error("too many arguments"), -1);
    }
    k = find_cmd(argv[0]);
    if (!k) {
        cli_error("unknown command '%s' (type 'help' for the list)", argv[0]);
        free(line);
        return -1;
    }
    if (argc - 1 < k->min_args || argc - 1 > k->max_args) {
        rc = bad_arg(k->name, "%s", argc - 1 < k->min_args ? "missing argument" : "too many arguments");
        free(line);
        return rc;
    }
    if (k->target && ensure_target(c) < 0) {
        free(line);
        return -1;
    }
    rc = k->fn(c, argc, argv);
    fflush(stdout);
    free(line);
    return rc;
}

static void help(void)
{
    printf("usage: oflash commander [--probe P] [--device D] [-CommandFile FILE | -f FILE]\n"
           "                        [-ExitOnError 0|1] [-GoTimeout MS]\n\n"
           "A console in the manner of J-Link Commander: connect, halt, go, step, registers,\n"
           "memory, loadfile/loadbin/savebin/verifybin, erase, breakpoints, and oflash's\n"
           "own otp, otp lock N, plan FILE and program FILE.  Without a command file it is\n"
           "interactive (line editing, history with Up/Down, Tab completes commands;\n"
           "Ctrl-C stops a running go).  'help' inside lists the commands; numbers are\n"
           "hexadecimal as in J-Link Commander (0x optional).  See docs/commander.md.\n\n"
           "  --probe P, -probe P  sim:PATH or gdb:HOST:PORT (connect happens on first use)\n"
           "  --device D, -device D  part name (e.g. STM32F401RE)\n"
           "  --devices FILE       device file to load first\n"
           "  --force-device       skip the DBGMCU_IDCODE / flash size check\n"
           "  -CommandFile FILE, -f FILE  run the commands in FILE, then exit\n"
           "  -ExitOnError 0|1     1 (default): stop at the first failing command (exit 1);\n"
           "                       0: run every command, exit 1 if any failed\n"
           "  -GoTimeout MS        longest go (decimal ms); default: none interactively,\n"
           "                       10000 in a command file\n"
           "  -if, -speed          accepted for J-Link scripts and ignored\n");
}

int cmd_commander(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"CommandFile", required_argument, NULL, 'F'},
        {"ExitOnError", required_argument, NULL, 'E'},
        {"GoTimeout", required_argument, NULL, 'G'},
        {"probe", required_argument, NULL, 'p'},
        {"device", required_argument, NULL, 'd'},
        {"devices", required_argument, NULL, 'D'},
        {"force-device", no_argument, NULL, 'x'},
        {"if", required_argument, NULL, 'i'},
        {"speed", required_argument, NULL, 's'},
        {"autoconnect", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cmdr c;
    const char *file = NULL;
    bool exit_on_error = true, have_go_timeout = false, failed = false;
    struct sigaction sa, old_int, old_term;
    int opt, ret = EXIT_OK;

    memset(&c, 0, sizeof c);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long_only(argc, argv, ":f:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
        case 'F':
            file = optarg;
            break;
        case 'E':
            if (strcmp(optarg, "0") && strcmp(optarg, "1"))
                return cli_usage("commander", "-ExitOnError '%s': expected 0 or 1", optarg);
            exit_on_error = optarg[0] == '1';
            break;
        case 'G': {
            char *end;
            unsigned long ms;
            errno = 0;
            ms = strtoul(optarg, &end, 10);
            if (errno || *end || end == optarg || optarg[0] == '-' || ms > 86400000)
                return cli_usage("commander", "-GoTimeout '%s': expected milliseconds (0 = none)",
                                 optarg);
            c.go_timeout_ms = (unsigned)ms;
            have_go_timeout = true;
            break;
        }
        case 'p':
            c.ct.probe = optarg;
            break;
        case 'd':
            c.ct.device = strdup(optarg);
            break;
        case 'D':
            if (c.ct.nfiles == CLI_MAX_DEVICE_FILES)
                return cli_usage("commander", "at most %d --devices files", CLI_MAX_DEVICE_FILES);
            c.ct.files[c.ct.nfiles++] = optarg;
            break;
        case 'x':
            c.ct.force_device = true;
            break;
        case 'i':
        case 's':
        case 'a':
            break;
        case 'h':
            help();
            return EXIT_OK;
        case ':':
            return cli_usage("commander", "option '%s' needs a value", argv[optind - 1]);
        default:
            return cli_usage("commander", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage("commander", "unexpected argument '%s' (a command file goes with -f)",
                         argv[optind]);
    if (file && !have_go_timeout) c.go_timeout_ms = 10000;
    c.interactive = !file;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (file) {
        FILE *f = fopen(file, "r");
        char line[4096];
        unsigned lineno = 0;
        if (!f) {
            cli_error("%s: cannot open: %s", file, strerror(errno));
            ret = EXIT_FAIL;
            goto out;
        }
        while (fgets(line, sizeof line, f)) {
            int rc;
            lineno++;
            if (cmdr_interrupted) break;
            rc = cmdr_exec_line(&c, line);
            if (rc == 1) break;
            if (rc < 0) {
                failed = true;
                if (cmdr_interrupted) break;
                cli_error("%s:%u: command failed: %.*s", file, lineno,
                          (int)strcspn(line, "\r\n"), line);
                if (exit_on_error) break;
            }
        }
        fclose(f);
    } else {
        failed = cmdr_interactive(&c, exit_on_error) != 0;
    }
    ret = cmdr_interrupted ? 130 : failed ? EXIT_FAIL : EXIT_OK;
out:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    disconnect(&c);
    free((char *)c.ct.device);
    return ret;
}
