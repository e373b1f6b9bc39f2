/*
 * cli.h - shared helpers of the oflash command-line tool.
 *
 * Exit codes: 0 success, 1 operation failed, 2 usage error.  Errors go to
 * stderr as "oflash: <message>".  Each subcommand lives in its own file
 * src/cli/cmd_<name>.c and has the signature of cli_cmd_fn.
 */
#ifndef OFLASH_CLI_H
#define OFLASH_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* argv[0] is the subcommand name. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

/* The subcommands (registered in the table in main.c). */
int cmd_info(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_gdbserver(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_program(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_erase(int argc, char **argv);
int cmd_read(int argc, char **argv);
int cmd_otp(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_loader(int argc, char **argv);
int cmd_commander(int argc, char **argv);
int cmd_reset(int argc, char **argv);
int cmd_prod(int argc, char **argv);
int cmd_protect(int argc, char **argv);

/* Print "oflash: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_error with the code of the --json error object ("timeout", "fault"). */
void cli_error_code(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print the library's last error and return EXIT_FAIL. */
int cli_fail(void);
/* Print "oflash: <what>: " + library error and return EXIT_FAIL. */
int cli_fail_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: print message and hint, return EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse an unsigned number: decimal, 0x hex, with optional K/M suffix (KiB, MiB). */
bool cli_parse_u32(const char *s, uint32_t *out);
bool cli_parse_u64(const char *s, uint64_t *out);

/*
 * Options: every command parses its arguments with getopt_long through
 * cli_args.  A command lists its options in a struct option table built
 * from the shared pieces below plus its own entries (val >= CLI_OPT_LOCAL,
 * or a letter for a short option such as 'o'), then loops:
 *
 *     static const struct option opts[] = {CLI_OPTS_COMMON, CLI_OPTS_JSON,
 *         CLI_OPTS_TARGET, {"yes", no_argument, NULL, CLI_OPT_LOCAL}, CLI_OPTS_END};
 *     cli_args a;
 *     cli_args_init(&a, "otp", "", argc, argv, opts);
 *     while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
 *         if (c == CLI_ARGS_BAD) return EXIT_USAGE;       (message printed)
 *         if ((k = cli_target_apply(&ct, "otp", c, a.arg)) != 0) ...
 *         switch (c) { case 'h': ...; case CLI_OPT_LOCAL: yes = true; ... }
 *     }
 *     positional arguments: a.pos[0..a.npos), in the order given.
 *
 * Long options must be spelled in full (no getopt abbreviations: "--dev"
 * is an unknown option, not --device); a letter in val gives the short
 * option (-h, -q, -o); options and positional arguments mix freely; "--"
 * ends the options.  Unknown options, missing values and values given to
 * flags are usage errors (exit 2): "unknown option '--x'",
 * "option --probe needs a value".  Subcommands parse argv + 1 with a
 * prefix for the messages ("sim create: ").
 */
#include <getopt.h>

enum {
    CLI_OPT_JSON = 0x100,
    CLI_OPT_PROBE,
    CLI_OPT_DEVICE,
    CLI_OPT_DEVICES,
    CLI_OPT_FORCE_DEVICE,
    CLI_OPT_VOLTAGE_RANGE,
    CLI_OPT_INPUT_FORMAT,
    CLI_OPT_ALLOW_IDENTICAL_OVERLAP,
    CLI_OPT_ALLOW_MISSING_EOF,
    CLI_OPT_IGNORE_AFTER_EOF,
    CLI_OPT_JOURNAL_DIR,
    CLI_OPT_LOCAL = 0x200 /* a command's own options: CLI_OPT_LOCAL + n */
};

#define CLI_OPTS_COMMON {"help", no_argument, NULL, 'h'}, {"quiet", no_argument, NULL, 'q'}
#define CLI_OPTS_JSON {"json", no_argument, NULL, CLI_OPT_JSON}
#define CLI_OPTS_TARGET                                                                            \
    {"probe", required_argument, NULL, CLI_OPT_PROBE},                                             \
        {"device", required_argument, NULL, CLI_OPT_DEVICE},                                       \
        {"devices", required_argument, NULL, CLI_OPT_DEVICES},                                     \
        {"force-device", no_argument, NULL, CLI_OPT_FORCE_DEVICE},                                 \
        {"voltage-range", required_argument, NULL, CLI_OPT_VOLTAGE_RANGE}
#define CLI_OPTS_IMAGE                                                                             \
    {"input-format", required_argument, NULL, CLI_OPT_INPUT_FORMAT},                               \
        {"allow-identical-overlap", no_argument, NULL, CLI_OPT_ALLOW_IDENTICAL_OVERLAP},           \
        {"allow-missing-eof", no_argument, NULL, CLI_OPT_ALLOW_MISSING_EOF},                       \
        {"ignore-after-eof", no_argument, NULL, CLI_OPT_IGNORE_AFTER_EOF}
#define CLI_OPTS_JOURNAL {"journal-dir", required_argument, NULL, CLI_OPT_JOURNAL_DIR}
#define CLI_OPTS_END {NULL, 0, NULL, 0}

#define CLI_ARGS_END (-1)
#define CLI_ARGS_BAD (-2)

typedef struct cli_args {
    const char *cmd;    /* "see 'oflash CMD --help'" */
    const char *prefix; /* put before messages: "" or "sim create: " */
    int argc;
    char **argv;
    const struct option *opts;
    char shortopts[64];
    bool checked;
    const char *arg;  /* value of the option cli_args_next returned, else NULL */
    char **pos;       /* positional arguments, after CLI_ARGS_END */
    int npos;
} cli_args;

/* argv[0] is the (sub)command name.  When opts has --json and argv holds
 * it, cli_json is set at once, so that even a usage error is reported as
 * JSON. */
void cli_args_init(cli_args *a, const char *cmd, const char *prefix, int argc, char **argv,
                   const struct option *opts);
int cli_args_next(cli_args *a);

/* Quiet / JSON flags shared by commands. */
extern bool cli_quiet;
/* -v / --verbose (before or after the command): errors also print their
 * internal details (oflash_error_detail). */
extern bool cli_verbose;
extern bool cli_json;

/* cmd_sim_serve.c: `oflash sim serve` (argv[1] is "serve"). */
int cmd_sim_serve(int argc, char **argv);

/* JSON output: cli_json.h. */

/* The device database of commands taking --device: the --devices files
 * (the last one given wins), then $OFLASH_DEVICES, the user's store and
 * the built-in table (see src/cli/cmd_devices.c).  Free with
 * oflash_devdb_free(). */
struct oflash_devdb;
int cli_devdb_open(const char *const *files, size_t nfiles, struct oflash_devdb **out);

/* interrupt.c: SIGINT/SIGTERM set cli_interrupted (exit code 130). */
#define EXIT_INTERRUPTED 130
#include <signal.h>
extern volatile sig_atomic_t cli_interrupted;
void cli_interrupt_install(void);
bool cli_cancel_cb(void *ctx); /* oflash_flash_opts.cancel */
struct oflash_probe;
void cli_interrupt_halt(struct oflash_probe *p);

#endif
