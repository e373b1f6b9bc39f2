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

/* Print "oflash: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the library's last error and return EXIT_FAIL. */
int cli_fail(void);
/* Print "oflash: <what>: " + library error and return EXIT_FAIL. */
int cli_fail_ctx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: print message and hint, return EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse an unsigned number: decimal, 0x hex, with optional K/M suffix (KiB, MiB). */
bool cli_parse_u32(const char *s, uint32_t *out);
bool cli_parse_u64(const char *s, uint64_t *out);

/* If argv[*i] is "--name VALUE" or "--name=VALUE", store VALUE, advance *i
 * and return true.  A missing value is reported and *bad set. */
bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value, bool *bad);

/* Quiet / JSON flags shared by commands. */
extern bool cli_quiet;

/* cmd_sim_serve.c: `oflash sim serve` (argv[1] is "serve"). */
int cmd_sim_serve(int argc, char **argv);

/* JSON string escaping to f. */
void cli_json_string(FILE *f, const char *s);

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
