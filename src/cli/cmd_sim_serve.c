/*
 * cmd_sim_serve.c - `oflash sim serve`: the simulated chip's JTAG port for
 * a real debugger (OpenOCD's remote_bitbang adapter).
 *
 *   oflash sim serve PATH --remote-bitbang [HOST:]PORT [--device PART]
 *                    [--adapter-khz N] [--no-realtime] [--once]
 *
 * Prints "listening on HOST:PORT" once the socket is bound (a test can wait
 * for that line), and one line of figures after each client leaves
 * ("session PEER: ...") and on SIGUSR1 ("progress PEER: ...", the current
 * session so far).  SIGINT/SIGTERM stop the server; the chip file is
 * compacted as after any command.
 */
#include "cli.h"
#include "oflash/error.h"
#include "oflash/sim_debug.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag, report_flag;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        report_flag = 1;
    else
        stop_flag = 1;
}

static void on_listen(void *ctx, const char *host, unsigned port)
{
    (void)ctx;
    printf("listening on %s:%u (remote_bitbang, JTAG)\n", host, port);
    fflush(stdout);
}

static void on_session(void *ctx, const char *peer, const oflash_sim_serve_stats *st, bool done)
{
    (void)ctx;
    if (cli_quiet) return;
    printf("%s %s: bytes_in=%llu bytes_out=%llu tck=%llu sim_ns=%llu wait_ns=%llu "
           "wall_ns=%llu insns=%llu halts=%llu steps=%llu ap_reads=%llu ap_writes=%llu "
           "waits=%llu bus_errors=%llu program_ops=%llu erase_ops=%llu\n",
           done ? "session" : "progress", peer, (unsigned long long)st->bytes_in,
           (unsigned long long)st->bytes_out, (unsigned long long)st->tck_cycles,
           (unsigned long long)st->sim_time_ns, (unsigned long long)st->wait_time_ns,
           (unsigned long long)st->wall_time_ns, (unsigned long long)st->cpu_insns,
           (unsigned long long)st->halts, (unsigned long long)st->steps,
           (unsigned long long)st->ap_reads, (unsigned long long)st->ap_writes,
           (unsigned long long)st->dp_waits, (unsigned long long)st->bus_errors,
           (unsigned long long)st->program_ops, (unsigned long long)st->erase_ops);
    fflush(stdout);
}

enum { O_LISTEN = CLI_OPT_LOCAL, O_ADAPTER_KHZ, O_NO_REALTIME, O_ONCE };

static const struct option opts_table[] = {
    {"help", no_argument, NULL, 'h'},
    {"remote-bitbang", required_argument, NULL, O_LISTEN},
    {"device", required_argument, NULL, CLI_OPT_DEVICE},
    {"adapter-khz", required_argument, NULL, O_ADAPTER_KHZ},
    {"no-realtime", no_argument, NULL, O_NO_REALTIME},
    {"once", no_argument, NULL, O_ONCE},
    CLI_OPTS_END};

int cmd_sim_serve(int argc, char **argv)
{
    oflash_sim_serve_opts opts = OFLASH_SIM_SERVE_OPTS_INIT;
    struct sigaction sa;
    const char *path = NULL;
    cli_args a;
    int c, rc;

    /* argv[0] "sim", argv[1] "serve" */
    cli_args_init(&a, "sim", "sim serve: ", argc - 1, argv + 1, opts_table);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        char *end;
        unsigned long long v;
        switch (c) {
        case CLI_ARGS_BAD:
            return EXIT_USAGE;
        case O_LISTEN:
            opts.listen = a.arg;
            break;
        case CLI_OPT_DEVICE:
            opts.device = a.arg;
            break;
        case O_ADAPTER_KHZ:
            v = strtoull(a.arg, &end, 10);
            if (!*a.arg || *end || v == 0 || v > 1000000)
                return cli_usage("sim", "sim serve: --adapter-khz '%s': expected 1..1000000",
                                 a.arg);
            opts.tck_hz = v * 1000u;
            break;
        case O_NO_REALTIME:
            opts.realtime = false;
            break;
        case O_ONCE:
            opts.once = true;
            break;
        case 'h':
            printf("usage: oflash sim serve PATH --remote-bitbang [HOST:]PORT [--device PART]\n"
                   "                        [--adapter-khz N] [--no-realtime] [--once]\n");
            return EXIT_OK;
        }
    }
    for (int i = 0; i < a.npos; i++) {
        if (path) return cli_usage("sim", "sim serve: more than one PATH");
        path = a.pos[i];
    }
    if (!path) return cli_usage("sim", "sim serve: expected PATH (a chip file)");
    if (!opts.listen)
        return cli_usage("sim", "sim serve: expected --remote-bitbang [HOST:]PORT "
                                "(e.g. --remote-bitbang 3335)");

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    opts.stop = &stop_flag;
    opts.report = &report_flag;
    opts.on_listen = on_listen;
    opts.on_session = on_session;
    rc = oflash_sim_serve(NULL, path, &opts);
    if (rc < 0) return cli_fail();
    return EXIT_OK;
}
