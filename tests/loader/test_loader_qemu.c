/*
 * test_loader_qemu.c - the FLM runtime on real QEMU 7.2 (netduinoplus2,
 * STM32F405, RAM at 0x20000000) through the gdb: probe backend, with the
 * test loaders of tests/loader/testflm (their "flash" is RAM at
 * 0x20010000):
 *  - calling convention: R0..R3, R9 = static base (PrgData reachable), SP =
 *    stack top, LR = trampoline | 1, Init's fnc and R3 argument;
 *  - erase, program through ProgramPage page by page and through
 *    SEGGER_OPEN_Program many pages per call, padding, blank check, CRC on
 *    the target and by read-back, a lying SEGGER_OPEN_CalcCRC detected;
 *  - errors: a non-zero result names the function and its arguments; a
 *    hanging function is stopped at the timeout from toErase; a stack
 *    overflow is caught by the canary; unknown functions.
 */
#include "harness.h"
#include "lib/ports.h"
#include "oflash/loader.h"
#include "oflash/image.h"
#include "oflash/probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEV 0x20010000u
#define RAM 0x20000000u
#define RAMSZ 0x10000u

static pid_t qemu_pid = -1;

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

/* Start QEMU halted with its gdb stub on a free port; returns the port. */
static int start_qemu(void)
{
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int attempt = 0; attempt < 8; attempt++) {
        int port = test_pick_port();
        if (port_open(port)) continue;
        char gdb[64];
        snprintf(gdb, sizeof gdb, "tcp:127.0.0.1:%d", port);
        pid_t pid = fork();
        if (pid == 0) {
            int nul = open("/dev/null", O_WRONLY);
            if (nul >= 0) {
                dup2(nul, 1);
                dup2(nul, 2);
            }
            execlp("qemu-system-arm", "qemu-system-arm", "-M", "netduinoplus2", "-S", "-gdb", gdb,
                   "-nographic", "-monitor", "none", "-serial", "none", (char *)NULL);
            _exit(127);
        }
        qemu_pid = pid;
        for (int i = 0; i < 200; i++) {
            if (waitpid(pid, NULL, WNOHANG) == pid) break; /* port taken */
            /* Only our QEMU's listener (not another test's server). */
            if (test_pid_listens(pid, port)) return port;
            usleep(50000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        qemu_pid = -1;
    }
    return -1;
}

static void stop_qemu(void)
{
    if (qemu_pid > 0) {
        kill(qemu_pid, SIGKILL);
        waitpid(qemu_pid, NULL, 0);
        qemu_pid = -1;
    }
}

static void on_alarm(int sig)
{
    (void)sig;
    stop_qemu();
    _exit(3);
}

static oflash_flm *load_flm(const char *file)
{
    char path[1024];
    oflash_flm *f = NULL;
    snprintf(path, sizeof path, "%s/tests/loader/%s", getenv("OFLASH_BUILD"), file);
    CHECK_OK(oflash_flm_load_file(&f, path));
    return f;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static oflash_loader_opts qemu_opts(void)
{
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = RAM;
    o.ram_size = RAMSZ;
    return o;
}

static void test_convention(oflash_probe *p, oflash_flm *f)
{
    oflash_loader *l = NULL;
    uint32_t r0 = 0;
    oflash_loader_opts o = qemu_opts();
    o.init_arg = 0xA5A50003u;
    CHECK_OK(oflash_loader_open(&l, p, f, &o));
    if (!l) return;
    const oflash_loader_layout *L = oflash_loader_get_layout(l);
    uint32_t a[4] = {0x11111111u, 0x02020202u, 0x00300030u, 0x40000004u};
    CHECK_OK(oflash_loader_call(&r0, l, "Echo", a, 4, 0));
    CHECK_EQ_U(r0, a[0] ^ (a[1] << 1) ^ (a[2] << 2) ^ (a[3] << 3));
    CHECK_OK(oflash_loader_call(&r0, l, "GetR9", NULL, 0, 0));
    CHECK_EQ_U(r0, L->static_base);
    CHECK_OK(oflash_loader_call(&r0, l, "GetSP", NULL, 0, 0));
    CHECK(r0 <= L->stack_top && r0 >= L->stack_top - 64);
    CHECK_OK(oflash_loader_call(&r0, l, "GetLR", NULL, 0, 0));
    CHECK_EQ_U(r0, L->trampoline | 1u);
    uint32_t w = 0;
    CHECK_OK(oflash_loader_call(&r0, l, "State", &w, 1, 0));
    CHECK_EQ_U(r0, 0x5EED1234u); /* PrgData contents reached through R9 */
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_PROGRAM));
    w = 1;
    CHECK_OK(oflash_loader_call(&r0, l, "State", &w, 1, 0));
    CHECK_EQ_U(r0, 1); /* one Init */
    w = 2;
    CHECK_OK(oflash_loader_call(&r0, l, "State", &w, 1, 0));
    CHECK_EQ_U(r0, OFLASH_FNC_PROGRAM);
    w = 3;
    CHECK_OK(oflash_loader_call(&r0, l, "State", &w, 1, 0));
    CHECK_EQ_U(r0, 0xA5A50003u); /* init_arg reaches Init in R3 */
    /* Switching operation: UnInit(2) then Init(1) (UnInit checks its fnc). */
    CHECK_OK(oflash_loader_erase_sector(l, DEV));
    w = 2;
    CHECK_OK(oflash_loader_call(&r0, l, "State", &w, 1, 0));
    CHECK_EQ_U(r0, OFLASH_FNC_ERASE);
    CHECK_ERR(oflash_loader_call(&r0, l, "NoSuchFunction", NULL, 0, 0), OFLASH_ENOTFOUND,
              "no function NoSuchFunction");
    CHECK_ERR(oflash_loader_call(&r0, l, "Echo", a, 5, 0), OFLASH_EINVAL, "at most 4");

    /* Error result: names function and arguments. */
    CHECK_ERR(oflash_loader_erase_sector(l, 0xBAD00000u), OFLASH_ETARGET,
              "EraseSector(0xBAD00000) returned 85 (0x55)");
    /* Hang: stopped at toErase (50 ms) x 2, floored at 100 ms. */
    double t0 = now();
    CHECK_ERR(oflash_loader_erase_sector(l, 0xDEAD0000u), OFLASH_ETIMEOUT,
              "erasing the sector at 0xDEAD0000 did not finish within 100 ms");
    double dt = now() - t0;
    CHECK(dt >= 0.09 && dt < 3.0);
    /* The loader still works after a timeout. */
    CHECK_OK(oflash_loader_call(&r0, l, "Echo", a, 4, 0));
    CHECK_EQ_U(r0, a[0] ^ (a[1] << 1) ^ (a[2] << 2) ^ (a[3] << 3));
    /* Stack: 900 bytes fit in the 1 KiB stack; 1000 (+16 pushed) reach the
     * canary in its lowest 16 bytes (and nothing below the stack). */
    w = 900;
    CHECK_OK(oflash_loader_call(&r0, l, "Overflow", &w, 1, 0));
    w = 1000;
    CHECK_ERR(oflash_loader_call(&r0, l, "Overflow", &w, 1, 0), OFLASH_ETARGET,
              "overflowed its 1024-byte stack while running its function Overflow");
    oflash_loader_close(l);

    /* Too little RAM: clear error before touching the target. */
    o = qemu_opts();
    o.ram_size = 1024;
    CHECK_ERR(oflash_loader_open(&l, p, f, &o), OFLASH_ERANGE, "needs");
    /* RAM that is not there (QEMU has nothing at 0x60000000). */
    o = qemu_opts();
    o.ram_start = 0x60000000u;
    CHECK(oflash_loader_open(&l, p, f, &o) < 0);
    CHECK(strstr(oflash_error_last(), "0x60000000") != NULL);
}

struct prog {
    int calls;
    uint64_t last_done, total;
};

static void on_progress(void *ctx, const char *op, uint32_t addr, uint64_t done, uint64_t total)
{
    struct prog *pr = ctx;
    (void)addr;
    if (strcmp(op, "program") == 0) {
        pr->calls++;
        pr->last_done = done;
        pr->total = total;
    }
}

/* A ProgramPage that faults (bus fault on page 1, undefined instruction on
 * page 2): an error naming the function and the fault, at once (not the
 * timeout), and the loader still works afterwards. */
static void test_faulty(oflash_probe *p, oflash_flm *f)
{
    oflash_loader *l = NULL;
    oflash_loader_opts o = qemu_opts();
    uint8_t page[256];
    bool blank = false;
    memset(page, 0x5A, sizeof page);
    CHECK_OK(oflash_loader_open(&l, p, f, &o));
    if (!l) return;
    CHECK(oflash_loader_get_layout(l)->guard != 0);
    CHECK_OK(oflash_loader_erase_sectors(l, DEV, 0, 1));
    CHECK_OK(oflash_loader_program(l, DEV, page, 256));
    time_t t0 = time(NULL);
    CHECK_ERR(oflash_loader_program(l, DEV + 256, page, 256), OFLASH_ETARGET, "HardFault");
    CHECK_ERR(oflash_loader_program(l, DEV + 256, page, 256), OFLASH_ETARGET, "ProgramPage(0x20010100, 0x100");
    CHECK_ERR(oflash_loader_program(l, DEV + 256, page, 256), OFLASH_ETARGET, "BFAR 0x0F000000");
    CHECK_ERR(oflash_loader_program(l, DEV + 512, page, 256), OFLASH_ETARGET, "undefined instruction");
    CHECK(time(NULL) - t0 <= 3); /* not the call timeout */
    /* Still usable: page 3 programs, the sector erases and checks blank. */
    CHECK_OK(oflash_loader_program(l, DEV + 768, page, 256));
    uint8_t back[256];
    CHECK_OK(oflash_probe_read_mem(back, p, DEV + 768, 256));
    CHECK(memcmp(back, page, 256) == 0);
    CHECK_OK(oflash_loader_erase_sectors(l, DEV, 0, 1));
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV, 0x1000));
    CHECK(blank);
    oflash_loader_close(l);
}

/* Erase, program, verify on the RAM "flash" with one of the test FLMs. */
static void test_flash_ops(oflash_probe *p, oflash_flm *f, int segger)
{
    oflash_loader *l = NULL;
    oflash_loader_opts o = qemu_opts();
    o.ram_size = 0x1000; /* a few page buffers only: programs in several rounds */
    CHECK_OK(oflash_loader_open(&l, p, f, &o));
    if (!l) return;
    const oflash_loader_layout *L = oflash_loader_get_layout(l);
    CHECK(L->page_buffers >= 2 && L->page_buffers < 32);
    struct prog pr = {0, 0, 0};
    oflash_loader_set_progress(l, on_progress, &pr);

    uint8_t *data = malloc(0x8000), *back = malloc(0x8000);
    for (int i = 0; i < 0x8000; i++)
        data[i] = (uint8_t)(rand() >> 7);
    bool blank = false;
    CHECK_OK(oflash_loader_erase_sectors(l, DEV, 0, 8));
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV, 0x8000));
    CHECK(blank);
    /* 5000 bytes at DEV+0x123: not page aligned at either end. */
    CHECK_OK(oflash_loader_program(l, DEV + 0x123, data, 5000));
    CHECK_OK(oflash_probe_read_mem(back, p, DEV, 0x8000));
    int ok = 1;
    for (int i = 0; i < 0x8000; i++) {
        uint8_t want = (i >= 0x123 && i < 0x123 + 5000) ? data[i - 0x123] : 0xFF;
        ok &= back[i] == want;
    }
    CHECK(ok); /* exact bytes, padding only with 0xFF */
    CHECK(pr.calls >= 2);
    CHECK_EQ_U(pr.last_done, pr.total);
    oflash_loader_stats s;
    oflash_loader_get_stats(&s, l);
    if (segger)
        CHECK_EQ_U(s.program_calls, (uint64_t)pr.calls); /* one call per buffer load */
    else
        CHECK(s.program_calls >= 5000 / 256 + 1); /* one call per page */
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV, 0x8000));
    CHECK(!blank);
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV + 0x123 + 5000, 0x8000 - 0x123 - 5000));
    CHECK(blank);
    uint32_t crc = 0;
    CHECK_OK(oflash_loader_crc32(&crc, l, DEV + 0x123, 5000));
    CHECK_EQ_U(crc, oflash_crc32(0, data, 5000));
    CHECK_OK(oflash_loader_crc32(&crc, l, DEV + 1, 7));
    CHECK_EQ_U(crc, oflash_crc32(0, back + 1, 7));
    uint8_t rb[300];
    CHECK_OK(oflash_loader_read(rb, l, DEV + 0x123, sizeof rb));
    CHECK(memcmp(rb, data, sizeof rb) == 0);
    CHECK_OK(oflash_loader_erase_sector(l, DEV + 0x1000));
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV + 0x1000, 0x1000));
    CHECK(blank);
    CHECK_OK(oflash_loader_erase_chip(l));
    CHECK_OK(oflash_loader_blank_check(&blank, l, DEV, 0x8000));
    CHECK(blank);
    /* Outside the device the loader refuses. */
    CHECK_ERR(oflash_loader_program(l, DEV + 0x8000, data, 16), OFLASH_ETARGET,
              segger ? "SEGGER_OPEN_Program(0x20018000, 0x10," : "ProgramPage(0x20018000, 0x10,");
    free(data);
    free(back);
    oflash_loader_close(l);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(80);
    oflash_flm *plain = load_flm("test_plain.flm"), *segger = load_flm("test_segger.flm"),
               *badcrc = load_flm("test_badcrc.flm"), *faulty = load_flm("test_faulty.flm");
    if (!plain || !segger || !badcrc || !faulty) return test_summary();
    CHECK_EQ_U(oflash_flm_functions(plain) & OFLASH_FLM_SEGGER_PROGRAM, 0);
    CHECK(oflash_flm_functions(segger) & OFLASH_FLM_SEGGER_CRC);

    int port = start_qemu();
    CHECK(port > 0);
    if (port > 0) {
        char spec[64];
        oflash_probe *p = NULL;
        snprintf(spec, sizeof spec, "gdb:127.0.0.1:%d", port);
        CHECK_OK(oflash_probe_open(&p, spec, NULL));
        if (p) {
            test_convention(p, plain);
            test_flash_ops(p, plain, 0);
            test_flash_ops(p, segger, 1);
            /* A SEGGER_OPEN_CalcCRC that is not zlib's: found, read-back used. */
            test_flash_ops(p, badcrc, 1);
            test_faulty(p, faulty);
            test_flash_ops(p, plain, 0); /* and the target is fine afterwards */
            oflash_probe_close(p);
        }
    }
    stop_qemu();
    oflash_flm_free(plain);
    oflash_flm_free(segger);
    oflash_flm_free(badcrc);
    oflash_flm_free(faulty);
    return test_summary();
}
