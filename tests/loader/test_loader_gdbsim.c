/*
 * test_loader_gdbsim.c - the built-in stm32f4 loader over the GDB remote
 * protocol: `oflash gdbserver` serves a simulated STM32F401RE, the runtime
 * drives it through the gdb: probe backend (breakpoint on the trampoline,
 * register writes, memory writes of the page buffers).  Erase, program
 * 128 KiB at x32, CRC on the target, OTP and a lock byte (byte-wise), an
 * error named over the wire; prints round trips and wire bytes.
 */
#include "harness.h"
#include "oflash/image.h"
#include "oflash/loader.h"
#include "oflash/probe.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t srv = -1;
static char dir[256];

static void stop_server(void)
{
    if (srv > 0) {
        kill(srv, SIGTERM);
        for (int i = 0; i < 50 && waitpid(srv, NULL, WNOHANG) == 0; i++)
            usleep(20000);
        kill(srv, SIGKILL);
        waitpid(srv, NULL, 0);
        srv = -1;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    stop_server();
    _exit(3);
}

/* Start the server on a free port (it prints "listening on HOST:PORT"). */
static int start_server(const char *chip)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    srv = fork();
    if (srv == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) dup2(nul, 1);
        char probe[420];
        snprintf(probe, sizeof probe, "sim:%s", chip);
        execl(getenv("OFLASH"), "oflash", "gdbserver", "--device", "STM32F401RE", "--probe", probe,
              "--listen", "127.0.0.1:0", "--otp", "--once", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[512];
    size_t n = 0;
    int port = -1;
    while (n < sizeof buf - 1) {
        ssize_t r = read(fds[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0) break;
        n += (size_t)r;
        buf[n] = '\0';
        char *at = strstr(buf, "127.0.0.1:");
        if (at && strchr(at, '\n')) {
            port = atoi(at + 10);
            break;
        }
    }
    close(fds[0]);
    if (port <= 0) fprintf(stderr, "gdbserver did not start: %.*s\n", (int)n, buf);
    return port;
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(100);
    snprintf(dir, sizeof dir, "%s/oflash-loader-gdb-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 1;
    char chip[400];
    snprintf(chip, sizeof chip, "%s/chip", dir);
    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    po.device = "STM32F401RE";
    char spec[450];
    oflash_probe *p = NULL;
    snprintf(spec, sizeof spec, "sim:%s", chip);
    CHECK_OK(oflash_probe_open(&p, spec, &po)); /* create the chip */
    oflash_probe_close(p);
    p = NULL;

    int port = start_server(chip);
    CHECK(port > 0);
    oflash_flm *f = NULL;
    CHECK_OK(oflash_flm_builtin(&f, "stm32f4"));
    snprintf(spec, sizeof spec, "gdb:127.0.0.1:%d", port);
    if (port > 0 && f) CHECK_OK(oflash_probe_open(&p, spec, NULL));
    if (p) {
        oflash_loader *l = NULL;
        oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
        o.ram_start = 0x20000000u;
        o.ram_size = 96 * 1024;
        CHECK_OK(oflash_loader_open(&l, p, f, &o));
        if (l) {
            size_t n = 128 * 1024;
            uint8_t *img = malloc(n), *back = malloc(n);
            srand(7);
            for (size_t i = 0; i < n; i++)
                img[i] = (uint8_t)(rand() >> 3);
            oflash_probe_reset_stats(p);
            CHECK_OK(oflash_loader_erase_sectors(l, 0x08020000u, 5, 1));
            CHECK_OK(oflash_loader_program(l, 0x08020000u, img, n));
            uint32_t crc = 0;
            CHECK_OK(oflash_loader_crc32(&crc, l, 0x08020000u, (uint32_t)n));
            CHECK_EQ_U(crc, oflash_crc32(0, img, n));
            oflash_probe_stats st;
            oflash_probe_get_stats(&st, p);
            printf("128 KiB erase+program+CRC over gdb: %" PRIu64 " round trips, %" PRIu64
                   " bytes to the server, %" PRIu64 " from it\n",
                   st.round_trips, st.bytes_tx, st.bytes_rx);
            CHECK(st.round_trips < 200);
            CHECK(st.bytes_rx < n / 50); /* the CRC moved 4 bytes, not 128 KiB */
            CHECK_OK(oflash_probe_read_mem(back, p, 0x08020000u, n));
            CHECK(memcmp(back, img, n) == 0);
            /* OTP block 3 and its lock byte, byte-wise. */
            CHECK_OK(oflash_loader_program(l, 0x1FFF7860u, img, 32));
            uint8_t lk[16];
            memset(lk, 0xFF, sizeof lk);
            lk[3] = 0;
            CHECK_OK(oflash_loader_program(l, 0x1FFF7A00u, lk, 16));
            CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7860u, 32));
            CHECK(memcmp(back, img, 32) == 0);
            CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7A00u, 16));
            CHECK(memcmp(back, lk, 16) == 0);
            CHECK_ERR(oflash_loader_program(l, 0x1FFF7860u, img + 32, 32), OFLASH_EPROTECTED,
                      "SEGGER_OPEN_Program(0x1FFF7860, 0x20,");
            free(img);
            free(back);
            oflash_loader_close(l);
        }
        oflash_probe_close(p);
    }
    oflash_flm_free(f);
    stop_server();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return test_summary();
}
