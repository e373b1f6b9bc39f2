/*
 * main.c - the oflash command-line tool: dispatch to subcommands.
 *
 * The CLI is a thin client of liboflash: every subcommand parses its
 * arguments, calls the library, and prints.  Subcommands not linked in
 * (weak symbols) report that they are not available in this build.
 */
#include "cli.h"
#include "oflash/error.h"

#include <stdio.h>
#include <string.h>

#define WEAK __attribute__((weak))
int cmd_info(int argc, char **argv) WEAK;
int cmd_convert(int argc, char **argv) WEAK;
int cmd_sim(int argc, char **argv) WEAK;
int cmd_gdbserver(int argc, char **argv) WEAK;
int cmd_run(int argc, char **argv) WEAK;
int cmd_program(int argc, char **argv) WEAK;
int cmd_verify(int argc, char **argv) WEAK;
int cmd_erase(int argc, char **argv) WEAK;
int cmd_read(int argc, char **argv) WEAK;
int cmd_otp(int argc, char **argv) WEAK;
int cmd_devices(int argc, char **argv) WEAK;
int cmd_pack(int argc, char **argv) WEAK;
int cmd_loader(int argc, char **argv) WEAK;

static const struct {
    const char *name;
    const char *help;
} commands[] = {
    {"info", "list the segments of one or more images"},
    {"convert", "convert and merge images to Intel HEX, S-record or binary"},
    {"program", "program main flash and OTP from an image"},
    {"verify", "compare the chip with an image"},
    {"erase", "erase sectors or the whole flash"},
    {"read", "read a memory range to a file"},
    {"otp", "show OTP blocks; lock blocks"},
    {"run", "load RAM code and data, set registers, run to a breakpoint"},
    {"gdbserver", "serve a probe and device over the GDB remote protocol"},
    {"sim", "create and inspect simulated chips"},
    {"devices", "list known devices and device-file search paths"},
    {"pack", "import CMSIS-Packs into the device store"},
    {"loader", "check a CMSIS FLM flash loader"},
};

static cli_cmd_fn lookup(const char *name)
{
    if (!strcmp(name, "info")) return cmd_info;
    if (!strcmp(name, "convert")) return cmd_convert;
    if (!strcmp(name, "sim")) return cmd_sim;
    if (!strcmp(name, "gdbserver")) return cmd_gdbserver;
    if (!strcmp(name, "run")) return cmd_run;
    if (!strcmp(name, "program")) return cmd_program;
    if (!strcmp(name, "verify")) return cmd_verify;
    if (!strcmp(name, "erase")) return cmd_erase;
    if (!strcmp(name, "read")) return cmd_read;
    if (!strcmp(name, "otp")) return cmd_otp;
    if (!strcmp(name, "devices")) return cmd_devices;
    if (!strcmp(name, "pack")) return cmd_pack;
    if (!strcmp(name, "loader")) return cmd_loader;
    return NULL;
}

static void log_to_stderr(int level, const char *msg, void *ctx)
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
        if (lookup(commands[i].name))
            fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'oflash COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    cli_cmd_fn fn;
    oflash_log_set_handler(log_to_stderr, NULL);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("oflash %s\n", OFLASH_VERSION);
        return EXIT_OK;
    }
    fn = lookup(argv[1]);
    if (!fn) {
        cli_error("unknown command '%s'", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return fn(argc - 1, argv + 1);
}
