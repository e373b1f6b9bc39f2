/*
 * test_sim_crash.c - crash safety of the chip file: a child process programs
 * flash word by word with real Thumb code (and reconnects now and then, so
 * compaction runs too) and is killed with SIGKILL at a random moment.  After
 * every kill the chip must open, and its flash must hold exactly a prefix
 * of the words the child programmed: every operation either fully done or
 * not done, never a torn file, and no completed operation lost before a
 * later one.  Then a torn tail (garbage after the last record) is dropped.
 */
#include "harness.h"
#include "sim_fw.h"

#include "oflash/error.h"
#include "oflash/sim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHIP "t_crash.sim"
#define BASE 0x08020000u /* sector 5, 128 KiB */
#define WORDS 0x8000u
#define BUF 0x20008000u

static uint32_t expect(uint32_t i)
{
    return i ^ 0xA5A5A5A5u;
}

/* The child: never returns.  It writes a byte to fd after each word it
 * programmed, so the parent kills it only once it is making progress. */
static void child(int fd)
{
    for (;;) {
        oflash_probe *p;
        fw f;
        uint32_t i = 0, v;
        if (oflash_probe_open(&p, "sim:" CHIP, NULL) < 0) _exit(3);
        if (fw_load(&f, p, 96 * 1024) < 0) _exit(4);
        fw_call(&f, FW_UNLOCK, 0);
        while (i < WORDS && oflash_probe_read_u32(&v, p, BASE + 4 * i) == 0 && v != 0xFFFFFFFFu)
            i++;
        for (int k = 0; k < 150 && i < WORDS; k++, i++) {
            v = expect(i);
            oflash_probe_write_mem(p, BUF, &v, 4);
            if (fw_call(&f, FW_PROGRAM, BASE + 4 * i, BUF, 4, 2) != 0) _exit(5);
            if (write(fd, "w", 1) < 0) _exit(6);
        }
        oflash_probe_close(p); /* compaction: may be killed in the middle of it */
        if (i >= WORDS) _exit(0);
    }
}

/* Number of programmed words if flash is a clean prefix, else -1. */
static long check_prefix(void)
{
    oflash_probe *p;
    uint32_t *w = malloc(4 * WORDS);
    long n = 0;
    int rc = oflash_probe_open(&p, "sim:" CHIP, NULL);
    if (rc < 0) {
        fprintf(stderr, "open after kill: %s\n", oflash_error_last());
        free(w);
        return -1;
    }
    if (oflash_probe_read_mem(w, p, BASE, 4 * WORDS) < 0) n = -1;
    while (n >= 0 && n < (long)WORDS && w[n] == expect((uint32_t)n))
        n++;
    for (long k = n; n >= 0 && k < (long)WORDS; k++)
        if (w[k] != 0xFFFFFFFFu) {
            fprintf(stderr, "word %ld is 0x%08X after a gap at %ld\n", k, w[k], n);
            n = -1;
        }
    oflash_probe_close(p);
    free(w);
    return n;
}

int main(void)
{
    long prev = 0, n;
    int replayed = 0;
    struct stat st;
    unsigned seed = (unsigned)time(NULL);

    unlink(CHIP);
    CHECK_OK(oflash_sim_create(CHIP, "STM32F401RE", NULL));
    srand(seed);
    /* Until every word is programmed: a child started on a full chip has
     * nothing to write (it exits 0 without a byte on the pipe). */
    for (int round = 0; round < 8 && prev < (long)WORDS; round++) {
        oflash_sim_info info;
        int status, pfd[2];
        pid_t pid;
        struct pollfd pl;
        char ch;
        CHECK_EQ_U(pipe(pfd), 0);
        pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            child(pfd[1]);
        }
        close(pfd[1]);
        /* Wait (at most 30 s) until the child has programmed something,
         * then kill it at a random moment of the next ~200 ms. */
        pl.fd = pfd[0];
        pl.events = POLLIN;
        CHECK(poll(&pl, 1, 30000) == 1 && read(pfd[0], &ch, 1) == 1);
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        for (int k = rand() % 200; k > 0; k--) {
            char drain[4096];
            usleep(1000);
            while (read(pfd[0], drain, sizeof drain) > 0)
                ;
        }
        kill(pid, SIGKILL);
        close(pfd[0]);
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        /* Reading replays the journal without changing the file. */
        CHECK_OK(oflash_sim_info_read(&info, CHIP));
        if (info.journal_records > 0) replayed++;
        n = check_prefix();
        CHECK(n >= 0);
        CHECK(n >= prev); /* flushed operations are never lost */
        printf("round %d: %ld words programmed, %llu journal records replayed\n", round, n,
               (unsigned long long)info.journal_records);
        if (n > prev) prev = n;
    }
    CHECK(prev > 0);
    CHECK(replayed > 0); /* at least one kill left a journal to replay */

    /* A torn tail: garbage and a half record after the last record. */
    CHECK_EQ_U(stat(CHIP, &st), 0);
    {
        int fd = open(CHIP, O_WRONLY | O_APPEND);
        static const uint8_t torn[] = {0x4F, 0x53, 0x4A, 0x52, 1, 0, 0, 0, 0, 0,   0,
                                       8,    4,    0,    0,    0, 0, 0, 0, 0, 0xAA};
        CHECK(fd >= 0);
        CHECK(write(fd, torn, sizeof torn) == (ssize_t)sizeof torn);
        close(fd);
    }
    n = check_prefix();
    CHECK_EQ_U(n, prev);
    CHECK_EQ_U(stat(CHIP, &st) == 0 ? (uint64_t)st.st_size : 0,
               256u + 512u * 1024u + 528u + 96u * 1024u); /* tail dropped, compacted */
    /* A corrupt base header is reported, not silently replaced. */
    {
        oflash_sim_info info;
        int fd = open(CHIP, O_WRONLY);
        CHECK(pwrite(fd, "X", 1, 30) == 1);
        close(fd);
        CHECK_ERR(oflash_sim_info_read(&info, CHIP), OFLASH_EFORMAT, "checksum");
    }
    return test_summary();
}
