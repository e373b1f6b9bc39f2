/*
 * rsp.c - GDB remote serial protocol framing and transport (TCP and serial
 * lines), shared by the GDB client probe backend and the GDB server.
 *
 * Follows "Debugging with GDB" appendix E (GDB 12/13): packet framing,
 * acknowledgement, binary escaping and run-length encoding.  Everything a
 * peer sends is untrusted: every loop is bounded by the caller's deadline
 * and every length by the caller's buffer.
 */
#include "gdb/rsp.h"
#include "oflash/error.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* How often a packet is resent after a '-' before the link is declared bad. */
#define RSP_MAX_RESEND 3

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static unsigned left_ms(uint64_t deadline)
{
    uint64_t n = now_ms();
    return n >= deadline ? 0 : (unsigned)(deadline - n);
}

void oflash__rsp_init(oflash__rsp *r, int fd, const char *peer)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->peer = peer ? peer : "peer";
}

void oflash__rsp_close(oflash__rsp *r)
{
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
}

static int link_lost(oflash__rsp *r, const char *what)
{
    int e = errno;
    oflash__rsp_close(r);
    if (what)
        return oflash_error_set(OFLASH_ELINK, "GDB %s %s: connection lost while %s: %s",
                                r->is_server ? "client" : "server", r->peer, what,
                                e ? strerror(e) : "the peer closed the connection");
    return OFLASH_ELINK;
}

static int split_host_port(const char *arg, char *host, size_t hcap, const char **port)
{
    const char *c = strrchr(arg, ':');
    size_t hl;
    if (!c || c[1] == '\0') return oflash_error_set(OFLASH_EINVAL, "'%s': expected HOST:PORT", arg);
    hl = (size_t)(c - arg);
    if (hl >= hcap) return oflash_error_set(OFLASH_EINVAL, "'%s': host name too long", arg);
    memcpy(host, arg, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') { /* [::1]:3333 */
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    for (const char *q = c + 1; *q; q++)
        if (*q < '0' || *q > '9')
            return oflash_error_set(OFLASH_EINVAL, "'%s': port '%s' is not a number", arg, c + 1);
    if (atoi(c + 1) > 65535)
        return oflash_error_set(OFLASH_EINVAL, "'%s': port %s out of range (0..65535)", arg, c + 1);
    *port = c + 1;
    return 0;
}

static speed_t baud_const(unsigned baud)
{
    switch (baud) {
    case 9600:
        return B9600;
    case 19200:
        return B19200;
    case 38400:
        return B38400;
    case 57600:
        return B57600;
    case 115200:
        return B115200;
    case 230400:
        return B230400;
    case 460800:
        return B460800;
    case 921600:
        return B921600;
    case 1000000:
        return B1000000;
    case 2000000:
        return B2000000;
    default:
        return 0;
    }
}

static int open_serial(const char *path, unsigned baud)
{
    struct termios t;
    speed_t sp;
    int fd;
    if (!baud) baud = 115200;
    sp = baud_const(baud);
    fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return oflash_error_set(OFLASH_EIO, "%s: cannot open serial line: %s", path,
                                strerror(errno));
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CLOCAL | CREAD;
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (sp) {
            cfsetispeed(&t, sp);
            cfsetospeed(&t, sp);
        }
        if (tcsetattr(fd, TCSANOW, &t) != 0 ||
            (!sp && oflash__serial_set_any_baud(fd, baud) != 0)) {
            int e = errno;
            close(fd);
            return oflash_error_set(OFLASH_EIO, "%s: cannot set raw mode at %u baud: %s", path,
                                    baud, strerror(e));
        }
        tcflush(fd, TCIOFLUSH); /* stale bytes from before we opened it */
    }                           /* not a tty (a FIFO in tests): used as it is */
    return fd;
}

int oflash__rsp_connect(const char *arg, unsigned baud, unsigned timeout_ms)
{
    char host[256];
    const char *port;
    struct addrinfo hints, *res = NULL, *ai;
    int rc, fd = -1, err = 0;

    if (arg[0] == '/') return open_serial(arg, baud);
    rc = split_host_port(arg, host, sizeof host, &port);
    if (rc < 0) return rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &res);
    if (rc != 0)
        return oflash_error_set(OFLASH_ELINK, "GDB server %s: cannot resolve '%s': %s", arg, host,
                                gai_strerror(rc));
    for (ai = res; ai; ai = ai->ai_next) {
        struct pollfd pfd;
        socklen_t sl = sizeof err;
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        err = errno;
        if (err == EINPROGRESS) {
            pfd.fd = fd;
            pfd.events = POLLOUT;
            rc = poll(&pfd, 1, (int)timeout_ms);
            if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0) break;
            if (rc == 0) err = ETIMEDOUT;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return oflash_error_set(OFLASH_ELINK,
                                "GDB server %s: cannot connect: %s (is the server running?)", arg,
                                strerror(err));
    {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return fd;
}

int oflash__rsp_listen(const char *arg, unsigned *port, int backlog)
{
    char host[256];
    const char *pstr;
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int rc, fd, one = 1;

    rc = split_host_port(arg, host, sizeof host, &pstr);
    if (rc < 0) return rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host[0] ? host : "127.0.0.1", pstr, &hints, &res);
    if (rc != 0)
        return oflash_error_set(OFLASH_EINVAL, "listen address %s: %s", arg, gai_strerror(rc));
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return oflash_error_set(OFLASH_EIO, "listen %s: socket: %s", arg, strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        return oflash_error_set(OFLASH_EIO, "cannot listen on %s: %s", arg, strerror(e));
    }
    freeaddrinfo(res);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return fd;
}

int oflash__rsp_write_raw(oflash__rsp *r, const void *buf, size_t len, unsigned timeout_ms)
{
    const uint8_t *p = buf;
    uint64_t deadline = now_ms() + timeout_ms;
    if (r->fd < 0)
        return oflash_error_set(OFLASH_ELINK, "GDB %s %s: not connected",
                                r->is_server ? "client" : "server", r->peer);
    while (len) {
        ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == ENOTSOCK) n = write(r->fd, p, len); /* serial line or pipe */
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            if (r->tx) *r->tx += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            struct pollfd pfd = {r->fd, POLLOUT, 0};
            unsigned left = left_ms(deadline);
            if (!left)
                return oflash_error_set(OFLASH_ETIMEOUT, "GDB %s %s: could not send within %u ms",
                                        r->is_server ? "client" : "server", r->peer, timeout_ms);
            if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) return link_lost(r, "sending");
            continue;
        }
        return link_lost(r, "sending");
    }
    return 0;
}

int oflash__rsp_poll(oflash__rsp *r, unsigned timeout_ms)
{
    struct pollfd pfd;
    int rc;
    if (r->fd < 0) return OFLASH_ELINK;
    if (r->rpos < r->rlen) return 1;
    pfd.fd = r->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = poll(&pfd, 1, (int)timeout_ms);
    if (rc < 0) return errno == EINTR ? 0 : link_lost(r, "waiting");
    return rc > 0 ? 1 : 0;
}

/* Next byte, waiting until deadline.  0..255, or a negative error. */
static int get_byte(oflash__rsp *r, uint64_t deadline, const char *what)
{
    if (r->rpos >= r->rlen) {
        ssize_t n;
        for (;;) {
            struct pollfd pfd;
            int rc;
            unsigned left = left_ms(deadline);
            if (r->fd < 0) return OFLASH_ELINK;
            pfd.fd = r->fd;
            pfd.events = POLLIN;
            pfd.revents = 0;
            rc = poll(&pfd, 1, (int)left);
            if (rc < 0 && errno == EINTR) {
                if (!left)
                    rc = 0;
                else
                    return oflash_error_set(OFLASH_EINTERRUPTED, "GDB %s %s: interrupted while %s",
                                            r->is_server ? "client" : "server", r->peer, what);
            }
            if (rc < 0) return link_lost(r, what);
            if (rc == 0)
                return oflash_error_set(OFLASH_ETIMEOUT, "GDB %s %s: no reply while %s (timed out)",
                                        r->is_server ? "client" : "server", r->peer, what);
            n = read(r->fd, r->rbuf, sizeof r->rbuf);
            if (n > 0) break;
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            errno = n == 0 ? 0 : errno;
            return link_lost(r, what);
        }
        r->rpos = 0;
        r->rlen = (size_t)n;
        if (r->rx) *r->rx += (uint64_t)n;
    }
    return r->rbuf[r->rpos++];
}

int oflash__rsp_send(oflash__rsp *r, const char *payload, size_t len, unsigned timeout_ms)
{
    char *frame;
    uint8_t cs = 0;
    int rc = 0;
    uint64_t deadline = now_ms() + timeout_ms;

    frame = malloc(len + 5); /* $ payload # c c NUL */
    if (!frame) return oflash_error_set(OFLASH_ENOMEM, "out of memory for a %zu-byte packet", len);
    frame[0] = '$';
    memcpy(frame + 1, payload, len);
    for (size_t i = 0; i < len; i++)
        cs = (uint8_t)(cs + (uint8_t)payload[i]);
    snprintf(frame + len + 1, 4, "#%02x", cs);
    for (int attempt = 0;; attempt++) {
        rc = oflash__rsp_write_raw(r, frame, len + 4, timeout_ms);
        if (rc < 0 || r->noack) break;
        /* Wait for the acknowledgement; skip anything that is not +/-. */
        for (;;) {
            int c = get_byte(r, deadline, "waiting for the acknowledgement");
            if (c < 0) {
                rc = c;
                goto out;
            }
            if (c == '+') goto out;
            if (c == '-') break;
            if (c == '$') { /* peer answers without acking: keep the byte */
                r->rpos--;
                goto out;
            }
        }
        if (attempt + 1 >= RSP_MAX_RESEND) {
            rc = oflash_error_set(OFLASH_EPROTO, "GDB %s %s: packet rejected %d times (bad link?)",
                                  r->is_server ? "client" : "server", r->peer, RSP_MAX_RESEND);
            break;
        }
    }
out:
    free(frame);
    return rc;
}

int oflash__rsp_recv(oflash__rsp *r, char *buf, size_t cap, size_t *len, unsigned timeout_ms,
                     bool allow_interrupt)
{
    uint64_t deadline = now_ms() + timeout_ms;
    int naks = 0;
    const char *who = r->is_server ? "client" : "server";

    for (;;) {
        size_t n = 0;
        uint8_t cs = 0, want;
        int c, prev = -1, hi, lo;
        bool esc = false, overflow = false;

        /* Skip to '$', consuming acks and stray bytes. */
        for (;;) {
            c = get_byte(r, deadline, "waiting for a packet");
            if (c < 0) return c;
            if (c == '$') break;
            if (c == 0x03 && allow_interrupt) return OFLASH__RSP_INTERRUPT;
        }
        /* Payload up to '#': expand RLE on raw characters, then unescape. */
        for (;;) {
            c = get_byte(r, deadline, "reading a packet");
            if (c < 0) return c;
            if (c == '#') break;
            if (c == '$') { /* a new packet starts: the old one was cut */
                n = 0;
                cs = 0;
                prev = -1;
                esc = false;
                overflow = false;
                continue;
            }
            cs = (uint8_t)(cs + c);
            if (c == '*' && prev >= 0 && !esc) {
                int cnt = get_byte(r, deadline, "reading a packet");
                if (cnt < 0) return cnt;
                if (cnt == '#')
                    return oflash_error_set(OFLASH_EPROTO,
                                            "GDB %s %s: run-length marker '*' without a count", who,
                                            r->peer);
                cs = (uint8_t)(cs + cnt);
                if (cnt < 29 + 3 || cnt > 126)
                    return oflash_error_set(OFLASH_EPROTO,
                                            "GDB %s %s: bad run-length count 0x%02x "
                                            "(expected 0x20..0x7e)",
                                            who, r->peer, cnt);
                for (int k = 0; k < cnt - 29; k++) {
                    if (n + 1 >= cap)
                        overflow = true;
                    else
                        buf[n++] = (char)prev;
                }
                prev = -1; /* a run is not itself repeated */
                continue;
            }
            if (esc) {
                c ^= 0x20;
                esc = false;
            } else if (c == '}') {
                esc = true;
                continue;
            }
            if (n + 1 >= cap)
                overflow = true;
            else
                buf[n++] = (char)c;
            prev = c;
        }
        hi = get_byte(r, deadline, "reading a checksum");
        if (hi < 0) return hi;
        lo = get_byte(r, deadline, "reading a checksum");
        if (lo < 0) return lo;
        if (oflash__hexval(hi) < 0 || oflash__hexval(lo) < 0) {
            if (r->noack)
                return oflash_error_set(OFLASH_EPROTO, "GDB %s %s: checksum '%c%c' is not hex", who,
                                        r->peer, hi >= 0x20 && hi < 0x7f ? hi : '?',
                                        lo >= 0x20 && lo < 0x7f ? lo : '?');
            want = (uint8_t)~cs; /* force a NAK */
        } else {
            want = (uint8_t)(oflash__hexval(hi) << 4 | oflash__hexval(lo));
        }
        if (want != cs && !r->noack) {
            int rc;
            if (++naks > RSP_MAX_RESEND)
                return oflash_error_set(OFLASH_EPROTO,
                                        "GDB %s %s: %d packets with a bad checksum in a row", who,
                                        r->peer, naks);
            rc = oflash__rsp_write_raw(r, "-", 1, left_ms(deadline) + 100);
            if (rc < 0) return rc;
            continue;
        }
        if (want != cs)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB %s %s: bad checksum 0x%02x (expected 0x%02x)", who,
                                    r->peer, want, cs);
        if (!r->noack) {
            int rc = oflash__rsp_write_raw(r, "+", 1, left_ms(deadline) + 100);
            if (rc < 0) return rc;
        }
        if (overflow)
            return oflash_error_set(OFLASH_EPROTO,
                                    "GDB %s %s: packet longer than %zu bytes (expected at most "
                                    "the negotiated size)",
                                    who, r->peer, cap - 1);
        if (esc)
            return oflash_error_set(OFLASH_EPROTO, "GDB %s %s: packet ends with an escape '}'", who,
                                    r->peer);
        buf[n] = '\0';
        *len = n;
        return OFLASH__RSP_PACKET;
    }
}

size_t oflash__rsp_escape(const uint8_t *in, size_t len, char *out, size_t cap, size_t *used)
{
    size_t o = 0, i;
    for (i = 0; i < len; i++) {
        uint8_t c = in[i];
        bool e = c == '#' || c == '$' || c == '}' || c == '*';
        if (o + (e ? 2u : 1u) > cap) break;
        if (e) {
            out[o++] = '}';
            out[o++] = (char)(c ^ 0x20);
        } else {
            out[o++] = (char)c;
        }
    }
    *used = i;
    return o;
}

int oflash__hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void oflash__hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int oflash__hex_decode(const char *in, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        int h = oflash__hexval((unsigned char)in[2 * i]);
        int l = h < 0 ? -1 : oflash__hexval((unsigned char)in[2 * i + 1]);
        if (l < 0) return -1;
        out[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

int oflash__hex_u32(const char *s, const char **end, uint32_t *out)
{
    uint32_t v = 0;
    int digits = 0, sig = 0;
    while (oflash__hexval((unsigned char)*s) >= 0) {
        int d = oflash__hexval((unsigned char)*s++);
        digits++;
        if (sig || d) {
            if (++sig > 8) return -1;
        }
        v = v << 4 | (uint32_t)d;
    }
    if (!digits) return -1;
    *out = v;
    if (end) *end = s;
    return 0;
}
