/*
 * rsp_bench.c - for bench/rsp.sh: write LEN random bytes at ADDR through a
 * probe, read them back, compare, and print round trips and wire bytes of
 * each direction:  "write RT TX RX" and "read RT TX RX" lines.
 *   gdb_rsp_bench SPEC ADDR LEN
 */
#include "oflash/error.h"
#include "oflash/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    oflash_probe *p;
    oflash_probe_stats st;
    uint32_t addr;
    size_t len;
    uint8_t *w, *r;
    if (argc != 4) {
        fprintf(stderr, "usage: %s SPEC ADDR LEN\n", argv[0]);
        return 2;
    }
    addr = (uint32_t)strtoul(argv[2], NULL, 0);
    len = strtoul(argv[3], NULL, 0);
    w = malloc(len);
    r = malloc(len);
    if (!w || !r || oflash_probe_open(&p, argv[1], NULL) < 0) {
        fprintf(stderr, "rsp_bench: %s\n", oflash_error_last());
        return 1;
    }
    srand(1);
    for (size_t i = 0; i < len; i++)
        w[i] = (uint8_t)rand();
    oflash_probe_reset_stats(p);
    if (oflash_probe_write_mem(p, addr, w, len) < 0) goto fail;
    oflash_probe_get_stats(&st, p);
    printf("write %llu %llu %llu\n", (unsigned long long)st.round_trips,
           (unsigned long long)st.bytes_tx, (unsigned long long)st.bytes_rx);
    oflash_probe_reset_stats(p);
    if (oflash_probe_read_mem(r, p, addr, len) < 0) goto fail;
    oflash_probe_get_stats(&st, p);
    printf("read %llu %llu %llu\n", (unsigned long long)st.round_trips,
           (unsigned long long)st.bytes_tx, (unsigned long long)st.bytes_rx);
    if (memcmp(w, r, len)) {
        fprintf(stderr, "rsp_bench: read back differs\n");
        return 1;
    }
    oflash_probe_close(p);
    free(w);
    free(r);
    return 0;
fail:
    fprintf(stderr, "rsp_bench: %s\n", oflash_error_last());
    oflash_probe_close(p);
    return 1;
}
