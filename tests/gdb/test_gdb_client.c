/*
 * test_gdb_client.c - the GDB client against scripted server streams over a
 * socketpair: acks and NAK/resend, QStartNoAckMode, run-length encoding,
 * '}' escapes, O packets, E NN, W/X stop replies, malformed and oversized
 * packets, a server that goes silent (timeout) or away (EOF).  Every case
 * must end in the expected result or a specific error, never a hang.
 */
#include "harness.h"
#include "gdb/gdb_internal.h"
#include "oflash/gdb.h"
#include "oflash/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct feed {
    int fd;
    char *data;
    size_t size;
    bool keep_open;    /* do not send EOF: the server goes silent */
    unsigned delay_ms; /* wait before sending (a serial open flushes input) */
    char got[65536];   /* what the client sent */
    size_t got_len;
};

static void *feeder(void *arg)
{
    struct feed *f = arg;
    size_t off = 0;
    if (f->delay_ms) usleep(f->delay_ms * 1000u);
    while (off < f->size) {
        ssize_t n = send(f->fd, f->data + off, f->size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK) n = write(f->fd, f->data + off, f->size - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    if (!f->keep_open) shutdown(f->fd, SHUT_WR);
    for (;;) {
        ssize_t n = read(f->fd, f->got + f->got_len, sizeof f->got - 1 - f->got_len);
        if (n <= 0) break;
        f->got_len += (size_t)n;
    }
    f->got[f->got_len] = '\0';
    return NULL;
}

/* Stream builder. */
static char stream[1 << 20];
static size_t slen;
static void raw(const char *s)
{
    size_t n = strlen(s);
    memcpy(stream + slen, s, n);
    slen += n;
}
static void pkt_n(const char *s, size_t n)
{
    unsigned cs = 0;
    for (size_t i = 0; i < n; i++)
        cs += (unsigned char)s[i];
    stream[slen++] = '$';
    memcpy(stream + slen, s, n);
    slen += n;
    slen += (size_t)sprintf(stream + slen, "#%02x", cs & 0xFF);
}
static void pkt(const char *s)
{
    pkt_n(s, strlen(s));
}

static struct feed F;
static pthread_t th;
static int sv[2];

static int start(oflash_probe **p, bool keep_open, unsigned timeout_ms)
{
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.timeout_ms = timeout_ms;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -1;
    memset(&F, 0, sizeof F);
    F.fd = sv[1];
    F.data = stream;
    F.size = slen;
    F.keep_open = keep_open;
    pthread_create(&th, NULL, feeder, &F);
    return oflash__gdb_open_fd(p, sv[0], "scripted", &o);
}

static void finish(oflash_probe *p)
{
    oflash_probe_close(p); /* closes sv[0]: the feeder's read ends */
    pthread_join(th, NULL);
    close(sv[1]);
    slen = 0;
}

/* A no-ack handshake without target description: gdb's default layout. */
static void noack_hello(void)
{
    pkt("PacketSize=400;QStartNoAckMode+");
    raw("+");
    pkt("OK");
    pkt("S05");
}

static void test_ack_mode_rle_escape_console(void)
{
    oflash_probe *p;
    uint8_t b[4];
    uint32_t v;
    int pc = OFLASH_REG_PC, xpsr = OFLASH_REG_XPSR;
    raw("+");
    pkt("PacketSize=200");
    raw("+");
    pkt("S05");
    /* m: O packet first, then "11*!" = "11111"? no: '*' repeats the previous
     * char (count-29) times: "1* " = 4 x '1', then "}\x13" = '3' escaped. */
    raw("+");
    pkt("O68656c6c6f0a");
    pkt("1* 2}\x13"
        "44");
    /* p pc: NAKed once for a bad checksum, then sent again. */
    raw("+");
    raw("$12345678#00");
    pkt("12345678");
    /* p 25 (xpsr in gdb's default layout) */
    raw("+");
    pkt("00000001");
    CHECK_OK(start(&p, false, 2000));
    CHECK_OK(oflash_probe_read_mem(b, p, 0x20000000, 4));
    CHECK_EQ_U(b[0], 0x11);
    CHECK_EQ_U(b[1], 0x11);
    CHECK_EQ_U(b[2], 0x23);
    CHECK_EQ_U(b[3], 0x44);
    CHECK_OK(oflash_probe_read_reg(&v, p, pc));
    CHECK_EQ_U(v, 0x78563412);
    CHECK_OK(oflash_probe_read_reg(&v, p, xpsr));
    CHECK_EQ_U(v, 0x01000000);
    finish(p);
    CHECK(strstr(F.got, "$m20000000,4#") != NULL);
    CHECK(strstr(F.got, "$p19#") != NULL); /* xpsr = 25 */
    CHECK(strstr(F.got, "-") != NULL);     /* the NAK */
}

static void test_errors(void)
{
    oflash_probe *p;
    uint8_t b[4];
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    ro.timeout_ms = 1000;
    oflash_stop_info st;

    noack_hello();
    pkt("E14");
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 4), OFLASH_ETARGET, "E14");
    finish(p);

    noack_hello();
    pkt("zz");
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 4), OFLASH_EPROTO, "hex");
    finish(p);

    noack_hello();
    pkt("E01"); /* reply to the DEMCR read (vector catch: none) */
    pkt("W00"); /* reply to c */
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_run(&st, p, &ro), OFLASH_ELINK, "exited");
    finish(p);

    noack_hello();
    raw("$1122#ff"); /* bad checksum in no-ack mode */
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 2), OFLASH_EPROTO, "checksum");
    finish(p);

    noack_hello();
    raw("$1122"); /* cut, then EOF */
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 2), OFLASH_ELINK, "connection lost");
    finish(p);

    noack_hello();
    raw("$0*\x10#00"); /* bad RLE count */
    CHECK_OK(start(&p, false, 2000));
    CHECK(oflash_probe_read_mem(b, p, 0x1000, 2) == OFLASH_EPROTO);
    finish(p);

    /* Oversized reply: 300 KB of run-length-encoded zeros. */
    noack_hello();
    {
        static char big[40000];
        size_t k = 0;
        for (int i = 0; i < 3300; i++) {
            big[k++] = '0';
            big[k++] = '*';
            big[k++] = '~'; /* 97 more */
        }
        pkt_n(big, k);
    }
    CHECK_OK(start(&p, false, 2000));
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 2), OFLASH_EPROTO, "longer than");
    finish(p);

    /* Hostile handshake values. */
    pkt("PacketSize=zz");
    CHECK_ERR(start(&p, false, 2000), OFLASH_EPROTO, "PacketSize");
    pthread_join(th, NULL);
    close(sv[1]);
    slen = 0;
}

static void test_silent_server_times_out(void)
{
    oflash_probe *p;
    uint8_t b[4];
    struct timespec t0, t1;
    noack_hello();
    CHECK_OK(start(&p, true, 300));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_ERR(oflash_probe_read_mem(b, p, 0x1000, 4), OFLASH_ETIMEOUT, "timed out");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2000);
    shutdown(sv[1], SHUT_RDWR);
    finish(p);
}

static void test_target_description_and_x(void)
{
    oflash_probe *p;
    uint8_t w[8] = {'#', '$', '}', '*', 0, 1, 2, 3};
    uint32_t v;
    int xpsr = OFLASH_REG_XPSR;
    const oflash_gdb_mem_region *map;
    size_t n;
    pkt("PacketSize=400;QStartNoAckMode+;qXfer:features:read+;qXfer:memory-map:read+");
    raw("+");
    pkt("OK");
    pkt("T05");
    pkt("m<target><xi:include href=\"core.xml\"/>");
    pkt("l");
    pkt("l<feature><reg name=\"pc\" bitsize=\"32\" regnum=\"7\"/><reg name=\"xPSR\" "
        "bitsize=\"32\"/></feature>");
    pkt("l<memory-map><memory type=\"flash\" start=\"0x8000000\" length=\"0x10000\">"
        "<property name=\"blocksize\">0x4000</property></memory>"
        "<memory type=\"ram\" start=\"0x20000000\" length=\"0x1000\"/></memory-map>");
    pkt("OK"); /* X probe */
    pkt("OK"); /* X data */
    pkt("04030201");
    CHECK_OK(start(&p, false, 2000));
    CHECK_OK(oflash_gdb_memory_map(&map, &n, p));
    CHECK_EQ_U(n, 2);
    if (n == 2) {
        CHECK_EQ_U(map[0].kind, OFLASH_GDB_MEM_FLASH);
        CHECK_EQ_U(map[0].blocksize, 0x4000);
        CHECK_EQ_U(map[1].start, 0x20000000);
    }
    CHECK_OK(oflash_probe_write_mem(p, 0x20000000, w, sizeof w));
    CHECK_OK(oflash_probe_read_reg(&v, p, xpsr));
    CHECK_EQ_U(v, 0x01020304);
    finish(p);
    CHECK(strstr(F.got, "qXfer:features:read:core.xml:0,") != NULL);
    CHECK(memmem(F.got, F.got_len, "X20000000,8:}\x03}\x04}]}\x0a\0\1\2\3#", 22) != NULL);
    CHECK(memmem(F.got, F.got_len, "$p8#", 4) != NULL); /* xPSR follows pc=7 */
}

/* The serial-line path (gdb:/dev/...): a pseudo-terminal in raw mode, at
 * a speed without a Bnnn constant (250000, set through termios2). */
static void test_serial_line(void)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    char spec[128];
    oflash_probe *p = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.timeout_ms = 2000;
    o.baud = 250000;
    uint8_t b[2];
    CHECK(m >= 0);
    if (m < 0) return;
    CHECK(grantpt(m) == 0 && unlockpt(m) == 0);
    snprintf(spec, sizeof spec, "gdb:%s", ptsname(m));
    raw("+");
    pkt("PacketSize=100");
    raw("+");
    pkt("S05");
    raw("+");
    pkt("abcd");
    memset(&F, 0, sizeof F);
    F.fd = m;
    F.data = stream;
    F.size = slen;
    F.keep_open = true;
    F.delay_ms = 300;
    pthread_create(&th, NULL, feeder, &F);
    CHECK_OK(oflash_probe_open(&p, spec, &o));
    if (p) {
        CHECK_OK(oflash_probe_read_mem(b, p, 0x20000000, 2));
        CHECK_EQ_U(b[0], 0xab);
        CHECK_EQ_U(b[1], 0xcd);
        oflash_probe_close(p); /* closes the slave: the feeder's read ends */
    }
    pthread_join(th, NULL);
    close(m);
    slen = 0;
    CHECK(strstr(F.got, "$m20000000,2#") != NULL);
}

int main(void)
{
    test_ack_mode_rle_escape_console();
    test_errors();
    test_silent_server_times_out();
    test_target_description_and_x();
    test_serial_line();
    return test_summary();
}
