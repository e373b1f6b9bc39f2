/*
 * interrupt.c - Ctrl-C (SIGINT) and SIGTERM for the commands that change
 * the chip or run code: the handler only sets a flag; the command stops at
 * its next safe point (for the flash path: oflash_flash_opts.cancel),
 * halts the core, says what was done and what was not, and exits 130.
 */
#include "cli.h"
#include "oflash/probe.h"

#include <signal.h>
#include <string.h>

volatile sig_atomic_t cli_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_interrupt_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cli_cancel_cb(void *ctx)
{
    (void)ctx;
    return cli_interrupted != 0;
}

void cli_interrupt_halt(struct oflash_probe *p)
{
    if (p && oflash_probe_halt(p) < 0)
        cli_error("interrupted: halting the core failed too: the core may still run");
}
