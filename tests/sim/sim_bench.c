/*
 * sim_bench.c - benchmark of the simulated chip (run by bench/sim.sh): a
 * Thumb-2 loop (fw.c fw_bench) programs all 512 KiB of an STM32F401xE at
 * x32 through the flash interface, polling BSY after every word, with the
 * core at 84 MHz from the PLL.  Reports host wall time (target < 0.5 s) and
 * simulated time against the datasheet figure: 131072 words x tprog 16 us
 * typ = 2.097152 s (must agree within 1%).  Exit 1 if either target fails.
 */
#include "sim_fw.h"

#include "oflash/error.h"

#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *chip = argc > 1 ? argv[1] : "bench.sim";
    const uint32_t words = 512u * 1024u / 4u, pattern = 0x5A5A5A5Au;
    const double datasheet_s = words * 16e-6;
    oflash_probe *p;
    oflash_sim_run_stats s0, s1;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.device = "STM32F401RE";
    char spec[512];
    fw f;
    double t_open, t0, t1, t_close, sim_s, dev;
    uint32_t *back, err;
    int bad = 0;

    unlink(chip);
    snprintf(spec, sizeof spec, "sim:%s", chip);
    t_open = now_s();
    if (oflash_probe_open(&p, spec, &o) < 0 || fw_load(&f, p, 96 * 1024) < 0) {
        fprintf(stderr, "sim_bench: %s\n", oflash_error_last());
        return 1;
    }
    fw_call(&f, FW_CLOCK_PLL84, 0);
    fw_call(&f, FW_UNLOCK, 0);
    oflash_sim_probe_stats(&s0, p);
    t0 = now_s();
    err = fw_call(&f, FW_BENCH, 0x08000000u, words, pattern);
    t1 = now_s();
    oflash_sim_probe_stats(&s1, p);
    if (err != 0 || f.rc < 0) {
        fprintf(stderr, "sim_bench: programming failed: SR errors 0x%X, %s\n", err,
                f.rc < 0 ? oflash_error_last() : f.stop.detail);
        return 1;
    }
    back = malloc(512 * 1024);
    if (!back || oflash_probe_read_mem(back, p, 0x08000000u, 512 * 1024) < 0) return 1;
    for (uint32_t i = 0; i < words; i++)
        if (back[i] != ((0x08000000u + 4 * i) ^ pattern)) {
            fprintf(stderr, "sim_bench: word %u reads 0x%08X\n", i, back[i]);
            return 1;
        }
    free(back);
    oflash_probe_close(p);
    t_close = now_s();
    unlink(chip);

    sim_s = (double)(s1.sim_time_ns - s0.sim_time_ns) / 1e9;
    dev = (sim_s - datasheet_s) / datasheet_s * 100.0;
    printf("sim bench: program 512 KiB of STM32F401xE at x32 (131072 word writes, BSY polled), "
           "core 84 MHz\n");
    printf("  host wall time (programming run): %.3f s   (target < 0.5 s)\n", t1 - t0);
    printf("  host wall time (open..close, incl. file compaction): %.3f s\n", t_close - t_open);
    printf("  simulated time: %.6f s; datasheet 131072 x tprog 16 us = %.6f s; "
           "difference %+.3f%% (target within 1%%)\n",
           sim_s, datasheet_s, dev);
    printf("  program operations %llu, instructions %llu\n",
           (unsigned long long)(s1.program_ops - s0.program_ops),
           (unsigned long long)(s1.cpu_insns - s0.cpu_insns));
    if (t1 - t0 >= 0.5) {
        printf("  FAIL: host wall time over 0.5 s\n");
        bad = 1;
    }
    if (dev < -1.0 || dev > 1.0) {
        printf("  FAIL: simulated time not within 1%% of the datasheet figure\n");
        bad = 1;
    }
    return bad;
}
