/*
 * rsp.h - GDB remote serial protocol framing and transport, shared by the
 * client probe backend (client.c) and the server (server.c).
 *
 * Follows "Debugging with GDB", appendix E "GDB Remote Serial Protocol"
 * (GDB 12/13 manual): packets are $payload#cs with cs the modulo-256 sum of
 * the payload characters; '+'/'-' acknowledge a packet unless
 * QStartNoAckMode was accepted; '}' escapes the next byte (XOR 0x20) in
 * binary data; "X*N" repeats X (N - 29) more times (run-length encoding);
 * a bare 0x03 byte outside a packet is an interrupt (Ctrl-C).
 *
 * Invariants of oflash__rsp: fd >= 0 while connected, -1 after close or a
 * link failure (every later call then fails with OFLASH_ELINK at once);
 * rbuf[rpos..rlen) holds received bytes not consumed yet; every byte sent
 * or received is counted in *tx / *rx when those are set.
 */
#ifndef OFLASH_GDB_RSP_H
#define OFLASH_GDB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload either side handles (after RLE expansion). */
#define OFLASH__RSP_MAX_PAYLOAD (256u * 1024u)

typedef struct oflash__rsp {
    int fd;
    bool noack;        /* QStartNoAckMode in effect: no '+'/'-' */
    bool is_server;    /* only changes the wording of messages */
    const char *peer;  /* name for messages ("127.0.0.1:3333") */
    uint64_t *tx, *rx; /* byte counters to update, may be NULL */
    uint8_t rbuf[8192];
    size_t rpos, rlen;
} oflash__rsp;

/* What oflash__rsp_recv() got. */
enum { OFLASH__RSP_PACKET = 0, OFLASH__RSP_INTERRUPT = 1 };

void oflash__rsp_init(oflash__rsp *r, int fd, const char *peer);
void oflash__rsp_close(oflash__rsp *r);

/* Connect: "HOST:PORT" (TCP, numeric or name) or a path starting with '/'
 * (serial line in raw mode at baud, 0 = 115200).  Returns the fd or a
 * negative error code. */
int oflash__rsp_connect(const char *arg, unsigned baud, unsigned timeout_ms);
/* Listen on "HOST:PORT" (PORT 0 = any free port) with a queue of backlog
 * pending connections; *port gets the port.  The socket is non-blocking
 * (accept4() returns EAGAIN when nobody waits). */
int oflash__rsp_listen(const char *arg, unsigned *port, int backlog);

/* Send raw bytes (acks, Ctrl-C). */
int oflash__rsp_write_raw(oflash__rsp *r, const void *buf, size_t len, unsigned timeout_ms);
/* Frame payload as $payload#cs and send it; in ack mode wait for '+'
 * (resend on '-', at most 3 times).  The payload is sent as given: callers
 * escape binary data with oflash__rsp_escape(). */
int oflash__rsp_send(oflash__rsp *r, const char *payload, size_t len, unsigned timeout_ms);
/* Receive one packet: skip stray bytes and acks, check the checksum (a bad
 * one is NAKed in ack mode and the packet read again), expand RLE, undo
 * '}' escapes, ack it, and store a NUL-terminated payload in buf.  With
 * allow_interrupt, a 0x03 outside a packet returns OFLASH__RSP_INTERRUPT.
 * A payload longer than cap-1 is a protocol error. */
int oflash__rsp_recv(oflash__rsp *r, char *buf, size_t cap, size_t *len, unsigned timeout_ms,
                     bool allow_interrupt);
/* Wait up to timeout_ms for input; 1 = readable, 0 = nothing, <0 link error. */
int oflash__rsp_poll(oflash__rsp *r, unsigned timeout_ms);

/* Escape binary data for a packet ('#', '$', '}', '*' -> '}' c^0x20).
 * Writes at most cap bytes of out; *used gets how many input bytes fit.
 * Returns the number of bytes written. */
size_t oflash__rsp_escape(const uint8_t *in, size_t len, char *out, size_t cap, size_t *used);

/* Set a non-standard serial speed (Linux termios2); 0 or -1. */
int oflash__serial_set_any_baud(int fd, unsigned baud);

/* Hex helpers. */
int oflash__hexval(int c);
void oflash__hex_encode(const uint8_t *in, size_t len, char *out);
/* Decode exactly 2*len hex digits; -1 on a bad digit. */
int oflash__hex_decode(const char *in, uint8_t *out, size_t len);
/* Parse a hex number ending at a char in stops (or NUL); *end after it.
 * -1 if empty, not hex or more than 8 digits (after leading zeros). */
int oflash__hex_u32(const char *s, const char **end, uint32_t *out);

#endif
