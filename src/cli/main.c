/*
 * main.c - the oflash command-line tool: dispatch to subcommands.
 *
 * The CLI is a thin client of liboflash: every subcommand parses its
 * arguments, calls the library, and prints.  The command table below is
 * the registry: one line per subcommand (src/cli/cmd_<name>.c).
 */
#include "cli.h"
#include "cli_json.h"
#include "oflash/common.h"
#include "oflash/error.h"

#include <stdio.h>
#include <signal.h>
#include <string.h>

static const struct cli_command {
    const char *name;
    cli_cmd_fn fn;
    const char *help;
} commands[] = {
    {"info", cmd_info, "list the segments of one or more images"},
    {"convert", cmd_convert, "convert and merge images to Intel HEX, S-record or binary"},
    {"program", cmd_program, "program main flash and OTP from an image"},
    {"verify", cmd_verify, "compare the chip with an image"},
    {"erase", cmd_erase, "erase sectors or the whole flash"},
    {"read", cmd_read, "read a memory range to a file"},
    {"otp", cmd_otp, "show OTP blocks; lock blocks"},
    {"run", cmd_run, "load RAM code and data, set registers, run to a breakpoint"},
    {"reset", cmd_reset, "reset the core and run it (or --halt at the reset vector)"},
    {"protect", cmd_protect, "show or set readout protection (RDP), as a plan unless --yes"},
    {"commander", cmd_commander, "interactive console in the manner of J-Link Commander"},
    {"gdbserver", cmd_gdbserver, "serve a probe and device over the GDB remote protocol"},
    {"prod", cmd_prod, "production line: serial numbers, ledger, gang programming"},
    {"sim", cmd_sim, "create and inspect simulated chips"},
    {"devices", cmd_devices, "list known devices and device-file search paths"},
    {"pack", cmd_pack, "import CMSIS-Packs into the device store"},
    {"loader", cmd_loader, "check a CMSIS FLM flash loader"},
};

static cli_cmd_fn lookup(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name)) return commands[i].fn;
    return NULL;
}

static void log_to_stderr(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= OFLASH_LOG_WARN)
        fprintf(stderr, "oflash: %s%s\n", level == OFLASH_LOG_WARN ? "warning: " : "", msg);
    else if (level == OFLASH_LOG_INFO && !cli_quiet)
        fprintf(stderr, "oflash: %s\n", msg);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: oflash COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'oflash COMMAND --help' or 'oflash help COMMAND' describes each command.\n"
               "'oflash --version' prints the version; -v (anywhere) adds the internal details\n"
               "of an error (loader calls, emulator errors).\n");
}

int main(int argc, char **argv)
{
    cli_cmd_fn fn;
    /* A file-size limit (ulimit -f) makes write() fail with EFBIG instead of
     * killing the process: the command then reports it and removes its
     * temporary files, and nothing is reported as done that was not stored. */
    signal(SIGXFSZ, SIG_IGN);
    oflash_log_set_handler(log_to_stderr, NULL);
    /* -v / --verbose anywhere before "--": details of errors (internal
     * names); taken out before the command parses its options. */
    {
        int o = 1;
        bool end = false;
        for (int i = 1; i < argc; i++) {
            if (!end && (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))) {
                cli_verbose = true;
                continue;
            }
            if (!strcmp(argv[i], "--")) end = true;
            argv[o++] = argv[i];
        }
        argv[o] = NULL;
        argc = o;
    }
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "help") && argc > 2) {
        char *hargv[] = {argv[2], "--help", NULL};
        fn = lookup(argv[2]);
        if (!fn) {
            cli_error("help: unknown command '%s'", argv[2]);
            usage(stderr);
            return EXIT_USAGE;
        }
        return cli_json_finish(fn(2, hargv));
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("oflash %s\n", oflash_version());
        return EXIT_OK;
    }
    fn = lookup(argv[1]);
    if (!fn) {
        cli_error("unknown command '%s'", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return cli_json_finish(fn(argc - 1, argv + 1));
}
