/*
 * test_gdb_qemu.c - the gdb: probe API against real QEMU 7.2
 * (netduinoplus2): M fallback (QEMU has no X: the wire carries hex), write
 * and read back 20 KB of RAM across many packets, registers by name from
 * target.xml (xPSR at 25), the default reset command list ending at QEMU's
 * system_reset, a breakpoint run and a Ctrl-C on timeout, counters.
 * QEMU is started on a free port and killed by its PID.
 */
#include "harness.h"
#include "lib/ports.h"
#include "oflash/gdb.h"
#include "oflash/probe.h"

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static pid_t qemu_pid;

static void stop_qemu(void)
{
    if (qemu_pid > 0) {
        kill(qemu_pid, SIGKILL);
        waitpid(qemu_pid, NULL, 0);
        qemu_pid = 0;
    }
}

/* Start QEMU halted; open the probe on it (retrying while it starts). */
static oflash_probe *start(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int attempt = 0; attempt < 6; attempt++) {
        int port = test_pick_port();
        char gdbarg[64], spec[64];
        char *argv[] = {"qemu-system-arm", "-M",       "netduinoplus2", "-S",      "-gdb", gdbarg,
                        "-nographic",      "-monitor", "none",          "-serial", "none", NULL};
        oflash_probe *p = NULL;
        oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
        o.timeout_ms = 3000;
        snprintf(gdbarg, sizeof gdbarg, "tcp:127.0.0.1:%d", port);
        snprintf(spec, sizeof spec, "gdb:127.0.0.1:%d", port);
        if (posix_spawnp(&qemu_pid, "qemu-system-arm", NULL, NULL, argv, environ) != 0) return NULL;
        for (int i = 0; i < 200; i++) {
            if (waitpid(qemu_pid, NULL, WNOHANG) == qemu_pid) { /* port taken */
                qemu_pid = 0;
                break;
            }
            /* Only our QEMU's listener: another test's server may hold the
             * port (ours then exits), and must not be taken for it. */
            if (test_pid_listens(qemu_pid, port) && oflash_probe_open(&p, spec, &o) == 0) return p;
            usleep(50000);
        }
        stop_qemu();
    }
    return NULL;
}

int main(void)
{
    oflash_probe *p = start();
    oflash_probe_stats st;
    const oflash_gdb_mem_region *map;
    size_t nmap, n = 20000;
    uint8_t *w = malloc(n), *r = malloc(n);
    uint32_t v;
    CHECK(p != NULL);
    if (!p) {
        fprintf(stderr, "cannot start QEMU: %s\n", oflash_error_last());
        free(w);
        free(r);
        return test_summary();
    }
    CHECK(strstr(oflash_gdb_features(p), "PacketSize=1000") != NULL);
    CHECK_OK(oflash_gdb_memory_map(&map, &nmap, p));
    CHECK_EQ_U(nmap, 0); /* QEMU offers no memory map */

    for (size_t i = 0; i < n; i++)
        w[i] = (uint8_t)rand();
    oflash_probe_reset_stats(p);
    CHECK_OK(oflash_probe_write_mem(p, 0x20000003, w, n)); /* odd address on purpose */
    oflash_probe_get_stats(&st, p);
    CHECK_EQ_U(st.mem_write_bytes, n);
    CHECK(st.bytes_tx > 2 * n);        /* M: two hex digits per byte */
    CHECK(st.round_trips >= n / 2048); /* split to QEMU's 4 KB packets */
    CHECK_OK(oflash_probe_read_mem(r, p, 0x20000003, n));
    CHECK(memcmp(w, r, n) == 0);

    /* Registers by name; xPSR is 25 on QEMU and must round-trip. */
    CHECK_OK(oflash_probe_write_reg(p, OFLASH_REG_R7, 0x12345678));
    CHECK_OK(oflash_probe_write_reg(p, OFLASH_REG_XPSR, 0x21000000));
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_R7));
    CHECK_EQ_U(v, 0x12345678);
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_XPSR));
    CHECK_EQ_U(v & 0xF9000000u, 0x21000000);

    /* Nine registers (a loader call) are written with one g + G, not nine P,
     * and every value lands in its own register. */
    {
        int regs[9] = {OFLASH_REG_R0, OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3, OFLASH_REG_R9,
                       OFLASH_REG_SP, OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_R12};
        uint32_t vals[9], back[9];
        oflash_probe_stats s0, s1;
        for (int i = 0; i < 9; i++)
            vals[i] = 0x20000100u + 0x10u * (uint32_t)i;
        vals[7] |= 1; /* PC: Thumb */
        oflash_probe_get_stats(&s0, p);
        CHECK_OK(oflash_probe_write_regs(p, regs, vals, 9));
        oflash_probe_get_stats(&s1, p);
        CHECK(s1.round_trips - s0.round_trips <= 2);
        CHECK_OK(oflash_probe_read_regs(back, p, regs, 9));
        for (int i = 0; i < 9; i++)
            CHECK_EQ_U(back[i], i == 7 ? vals[i] & ~1u : vals[i]);
    }

    /* Run: "b ." at 0x20000000 with a breakpoint elsewhere: timeout, Ctrl-C. */
    {
        static const uint8_t loop[2] = {0xFE, 0xE7};
        int regs[3] = {OFLASH_REG_PC, OFLASH_REG_SP, OFLASH_REG_XPSR};
        uint32_t vals[3] = {0x20000001, 0x20002000, 0x01000000};
        oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
        ro.have_break = true;
        ro.break_addr = 0x20000100;
        ro.timeout_ms = 300;
        oflash_stop_info si;
        CHECK_OK(oflash_probe_write_mem(p, 0x20000000, loop, 2));
        CHECK_OK(oflash_probe_write_regs(p, regs, vals, 3));
        CHECK_OK(oflash_probe_run(&si, p, &ro));
        CHECK_EQ_U(si.reason, OFLASH_STOP_TIMEOUT);
        CHECK_EQ_U(si.pc, 0x20000000);
    }

    /* Reset through the default list: QEMU takes system_reset. */
    CHECK_OK(oflash_probe_write_reg(p, OFLASH_REG_PC, 0x20000100));
    CHECK_OK(oflash_probe_reset(p, true));
    CHECK_OK(oflash_probe_read_reg(&v, p, OFLASH_REG_PC));
    CHECK(v != 0x20000100);
    {
        char out[256];
        CHECK_ERR(oflash_probe_command(out, sizeof out, p, "monitor no_such_command"),
                  OFLASH_EUNSUPPORTED, "unknown command");
    }
    oflash_probe_close(p);
    stop_qemu();
    free(w);
    free(r);
    return test_summary();
}
