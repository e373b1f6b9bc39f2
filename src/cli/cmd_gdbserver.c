/*
 * cmd_gdbserver.c - `oflash gdbserver`: serve a probe + device to GDB.
 *
 *   oflash gdbserver --device D --probe sim:PATH [--listen 127.0.0.1:3333]
 *                    [--otp] [--allow-option-bytes] [--idle-timeout S] [--once]
 *
 * Prints "oflash: listening on HOST:PORT ..." on stderr once the socket
 * listens (port 0 picks a free one), serves one client at a time (others
 * get a "busy" error), and stops on SIGINT/SIGTERM at the next safe point
 * (between GDB packets: a load's vFlashDone always runs to its end), halts
 * the core, says so and exits 130.
 */
#include "cli.h"
#include "cli_journal.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/gdb.h"
#include "oflash/probe.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = sig;
}

static void on_event(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level <= OFLASH_LOG_WARN)
        fprintf(stderr, "oflash: gdbserver: %s%s\n", level == OFLASH_LOG_WARN ? "warning: " : "",
                msg);
    else if (level == OFLASH_LOG_INFO && !cli_quiet)
        fprintf(stderr, "oflash: gdbserver: %s\n", msg);
    fflush(stderr);
}

static void help(void)
{
    printf("usage: oflash gdbserver --device D --probe P [--listen HOST:PORT] [--otp]\n"
           "                        [--allow-option-bytes] [--idle-timeout S] [--once]\n"
           "                        [--journal-dir DIR]\n\n"
           "Serves probe P (sim:PATH, gdb:HOST:PORT, ...) as device D over the GDB remote\n"
           "protocol: registers, memory, breakpoints, run control, monitor reset/halt, and\n"
           "flash programming (GDB 'load'), planned and run like 'oflash program' when GDB\n"
           "finishes the load: a refused load writes nothing.\n"
           "  --listen [HOST:]PORT  default 127.0.0.1:3333; a bare PORT is loopback;\n"
           "                        port 0 picks a free port\n"
           "  --otp                 allow GDB to program the OTP area and its lock bytes\n"
           "  --allow-option-bytes  allow GDB to unlock and change the option bytes\n"
           "                        (read protection: level 2 disables the chip for good)\n"
           "  --idle-timeout S      disconnect a client that sends nothing for S seconds\n"
           "                        while the core is halted (default 30; 0 = never)\n"
           "  --once                exit after the first client disconnects\n"
           CLI_JOURNAL_HELP
           "  --quiet               only warnings\n");
}

enum { O_OTP = CLI_OPT_LOCAL, O_OPTION_BYTES, O_ONCE, O_LISTEN, O_IDLE };

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JOURNAL,
                                     {"device", required_argument, NULL, CLI_OPT_DEVICE},
                                     {"probe", required_argument, NULL, CLI_OPT_PROBE},
                                     {"otp", no_argument, NULL, O_OTP},
                                     {"allow-option-bytes", no_argument, NULL, O_OPTION_BYTES},
                                     {"once", no_argument, NULL, O_ONCE},
                                     {"listen", required_argument, NULL, O_LISTEN},
                                     {"idle-timeout", required_argument, NULL, O_IDLE},
                                     CLI_OPTS_END};

int cmd_gdbserver(int argc, char **argv)
{
    cli_args a;
    int c;
    const char *device = NULL, *probe_spec = NULL, *listen_at = "127.0.0.1:3333", *idle = NULL;
    const char *journal_dir = NULL;
    bool allow_otp = false, allow_opt = false, once = false;
    uint32_t idle_s = OFLASH_GDBSERVER_IDLE_TIMEOUT_MS / 1000;
    oflash_probe *p = NULL;
    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    oflash_gdbserver_opts so = OFLASH_GDBSERVER_OPTS_INIT;
    oflash_gdbserver_stats stats;
    oflash_devdb *db = NULL;
    const oflash_device *dev = NULL;
    const char *part;
    struct sigaction sa;
    int ret = EXIT_FAIL;

    cli_args_init(&a, "gdbserver", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        switch (c) {
        case CLI_ARGS_BAD:
            return EXIT_USAGE;
        case 'h':
            help();
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JOURNAL_DIR:
            journal_dir = a.arg;
            break;
        case CLI_OPT_DEVICE:
            device = a.arg;
            break;
        case CLI_OPT_PROBE:
            probe_spec = a.arg;
            break;
        case O_OTP:
            allow_otp = true;
            break;
        case O_OPTION_BYTES:
            allow_opt = true;
            break;
        case O_ONCE:
            once = true;
            break;
        case O_LISTEN:
            listen_at = a.arg;
            break;
        case O_IDLE:
            idle = a.arg;
            break;
        }
    }
    if (a.npos) return cli_usage("gdbserver", "unexpected argument '%s'", a.pos[0]);
    if (!probe_spec)
        return cli_usage("gdbserver", "--probe is required (for example sim:chip.sim)");
    if (idle && (!cli_parse_u32(idle, &idle_s) || idle_s > 86400))
        return cli_usage("gdbserver", "--idle-timeout '%s': expected seconds (0 to 86400; 0 = never)",
                         idle);
    if (!strrchr(listen_at, ':')) {
        /* A bare port means loopback, never every interface. */
        static char lb[64];
        uint32_t port;
        if (!cli_parse_u32(listen_at, &port) || port > 65535)
            return cli_usage("gdbserver", "--listen '%s': expected PORT or HOST:PORT", listen_at);
        snprintf(lb, sizeof lb, "127.0.0.1:%u", port);
        listen_at = lb;
    }

    if (oflash_devdb_open(&db, NULL) < 0) return cli_fail();
    if (device && oflash_devdb_find(&dev, db, device) < 0) {
        ret = cli_fail();
        goto out;
    }
    po.device = dev ? dev->name : NULL;
    if (oflash_probe_open(&p, probe_spec, &po) < 0) {
        ret = cli_fail();
        goto out;
    }
    part = oflash_probe_part(p);
    if (!dev) {
        if (!part) {
            ret = cli_usage("gdbserver", "--device is required: probe %s cannot tell the part",
                            probe_spec);
            goto out;
        }
        if (oflash_devdb_find(&dev, db, part) < 0) {
            ret = cli_fail();
            goto out;
        }
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    so.listen = listen_at;
    so.allow_otp = allow_otp;
    so.allow_option_bytes = allow_opt;
    so.idle_timeout_ms = idle_s * 1000u;
    so.journal_dir = journal_dir;
    so.once = once;
    so.stop = &stop_flag;
    so.event = on_event;
    so.stats = &stats;
    if (oflash_gdbserver_run(p, dev, &so) < 0) {
        ret = cli_fail();
        goto out;
    }
    fprintf(stderr,
            "oflash: gdbserver: stopped; %llu client%s, %llu packet%s, %llu bytes received, %llu "
            "bytes sent, %llu client%s refused (busy)\n",
            (unsigned long long)stats.clients, stats.clients == 1 ? "" : "s",
            (unsigned long long)stats.packets, stats.packets == 1 ? "" : "s",
            (unsigned long long)stats.bytes_rx, (unsigned long long)stats.bytes_tx,
            (unsigned long long)stats.busy_refused, stats.busy_refused == 1 ? "" : "s");
    ret = EXIT_OK;
    if (stop_flag) {
        /* Ctrl-C / SIGTERM: the server stopped between GDB packets, never
         * inside a load's flash, OTP or lock writes (vFlashDone runs to its
         * end), and halted the core. */
        fprintf(stderr,
                "oflash: gdbserver: interrupted (%s): stopped at a safe point (every load "
                "that reached vFlashDone is complete, OTP and locks never cut), core "
                "halted\n",
                stop_flag == SIGTERM ? "SIGTERM" : "SIGINT");
        ret = EXIT_INTERRUPTED;
    }
out:
    oflash_probe_close(p);
    oflash_devdb_free(db);
    return ret;
}
