/*
 * fuzz_gdb_reply.c - feeds hostile GDB server replies to the client probe
 * backend.  The input is the whole byte stream a server sends; the client
 * connects over a socketpair, runs its handshake, then reads and writes
 * memory and registers, runs with a breakpoint, resets, and drives the
 * vFlash packets.  Any crash, leak or hang is a bug; errors are expected.
 */
#include "gdb/gdb_internal.h"
#include "oflash/error.h"
#include "oflash/gdb.h"
#include "oflash/probe.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct feed {
    int fd;
    const uint8_t *data;
    size_t size;
};

/* Writes the server stream, then drains what the client sends until EOF. */
static void *feeder(void *arg)
{
    struct feed *f = arg;
    size_t off = 0;
    char sink[4096];
    while (off < f->size) {
        ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += (size_t)n;
    }
    shutdown(f->fd, SHUT_WR);
    while (read(f->fd, sink, sizeof sink) > 0)
        ;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];
    pthread_t th;
    struct feed f;
    oflash_probe *p = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.timeout_ms = 50;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 0;
    f.fd = sv[1];
    f.data = data;
    f.size = size;
    if (pthread_create(&th, NULL, feeder, &f) != 0) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    if (oflash__gdb_open_fd(&p, sv[0], "fuzz", &o) == 0) {
        uint8_t buf[600], wr[300];
        int regs[OFLASH_REG_COUNT];
        uint32_t vals[OFLASH_REG_COUNT];
        oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
        ro.have_break = true;
        ro.break_addr = 0x20000010;
        ro.timeout_ms = 20;
        oflash_stop_info st;
        const oflash_gdb_mem_region *map;
        size_t nmap;
        char out[256];
        for (int i = 0; i < OFLASH_REG_COUNT; i++) {
            regs[i] = i;
            vals[i] = (uint32_t)i * 0x01010101u;
        }
        for (size_t i = 0; i < sizeof wr; i++)
            wr[i] = (uint8_t)(i * 7); /* includes '#', '$', '}' and '*' */
        (void)oflash_gdb_memory_map(&map, &nmap, p);
        (void)oflash_probe_read_mem(buf, p, 0x20000000, sizeof buf);
        (void)oflash_probe_write_mem(p, 0x20000000, wr, sizeof wr);
        (void)oflash_probe_read_regs(vals, p, regs, 3);
        (void)oflash_probe_read_regs(vals, p, regs, OFLASH_REG_COUNT);
        (void)oflash_probe_write_regs(p, regs, vals, 2);
        (void)oflash_probe_write_regs(p, regs, vals, 17);
        (void)oflash_probe_run(&st, p, &ro);
        (void)oflash_probe_reset(p, true);
        (void)oflash_probe_command(out, sizeof out, p, "monitor help");
        (void)oflash_gdb_flash_erase(p, 0x08000000, 0x4000);
        (void)oflash_gdb_flash_write(p, 0x08000000, wr, sizeof wr);
        (void)oflash_gdb_flash_done(p);
        oflash_probe_close(p);
    }
    /* The client closed sv[0] (also on a failed open): the feeder ends. */
    pthread_join(th, NULL);
    close(sv[1]);
    return 0;
}
