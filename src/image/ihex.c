/*
 * ihex.c - Intel HEX reader and writer.
 *
 * Follows "Hexadecimal Object File Format Specification", Intel, rev. A
 * (1988): records ":LLAAAATT<data>CC", types 00 data, 01 end of file,
 * 02 extended segment address (base = value * 16), 03 start segment address
 * (CS:IP), 04 extended linear address (base = value << 16), 05 start linear
 * address.  Digits may be upper or lower case; lines end in LF or CRLF.
 * Records 01-05 have the address field 0000 (others are refused, as the
 * specification says and srec_cat does).  A file must end with record 01:
 * a file cut short is an error unless allow_missing_eof; anything after
 * record 01 is an error (two files joined with cat) unless
 * ignore_after_eof, which stops reading there as objcopy and srec_cat do.
 * Addresses are base + offset + i, linear across 64 KiB boundaries (as
 * objcopy and srec_cat read them); the writer never lets a record cross a
 * 64 KiB boundary, so readers that wrap the offset agree.
 *
 * Speed: one pass per line, hex pairs decoded by table (oflash__img_hexval)
 * with the validity of all digits folded into one OR; data goes straight
 * into the load builder's run.  Errors are diagnosed on a separate cold
 * path that re-examines the line.
 */
#include "image_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct ihex_ctx {
    const char *name;
    oflash__load *ld;
    uint32_t base; /* from record 02 or 04 */
    bool eof;      /* record 01 seen */
    uint32_t eof_line;
    uint32_t last_line; /* last non-blank line */
};


/* Cold path: say what is wrong with a line whose length or digits are off.
 * s points after the ':' and holds n characters. */
static int ihex_diagnose(const struct ihex_ctx *c, const char *s, size_t n, uint32_t line,
                         bool terminated)
{
    char cb[32];
    size_t bad = oflash__img_bad_digit(s, n);
    if (bad < n)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": bad hex digit %s in column %zu (expected 0-9, "
                                "A-F or a-f)",
                                c->name, line, oflash__img_show_char(s[bad], cb, sizeof cb), bad + 2);
    unsigned len =
        n >= 2
            ? (unsigned)(oflash__img_hexval[(uint8_t)s[0]] << 4 | oflash__img_hexval[(uint8_t)s[1]])
            : 0;
    size_t need = 10 + 2 * (size_t)len;
    if (!terminated && n < need)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": truncated file: the last record has %zu hex "
                                "digits (expected %zu)",
                                c->name, line, n, need);
    if (n & 1)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": odd number of hex digits (%zu; expected pairs "
                                "of digits)",
                                c->name, line, n);
    if (n < 10)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": record too short: %zu hex digits (expected at "
                                "least 10: length, address, type, checksum)",
                                c->name, line, n);
    return oflash_error_set(OFLASH_EFORMAT,
                            "%s:%" PRIu32 ": record length mismatch: the length field says %u "
                            "data bytes, so %zu hex digits, but the record has %zu (expected %zu)",
                            c->name, line, len, need, n, need);
}

static int ihex_line(void *vctx, const char *s, size_t n, uint32_t line, bool terminated)
{
    struct ihex_ctx *c = vctx;
    uint8_t rec[4 + 255 + 1]; /* length, address hi/lo, type, data, checksum */
    char cb[32];

    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) return 0; /* blank lines are allowed */
    if (c->eof)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": data after the end-of-file record of line %" PRIu32
                                " (expected nothing after it; two HEX files joined with cat? "
                                "merge them with 'oflash convert a.hex b.hex -o all.hex' "
                                "instead, or read up to the end-of-file record with "
                                "--ignore-after-eof)",
                                c->name, line, c->eof_line);
    if (s[0] != ':')
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": line starts with %s (expected ':' of an Intel "
                                "HEX record)",
                                c->name, line, oflash__img_show_char(s[0], cb, sizeof cb));
    s++;
    n--;
    c->last_line = line;
    if (n < 10) return ihex_diagnose(c, s, n, line, terminated);
    unsigned len =
        (unsigned)(oflash__img_hexval[(uint8_t)s[0]] << 4 | oflash__img_hexval[(uint8_t)s[1]]);
    if (len > 255 || n != 10 + 2 * (size_t)len) return ihex_diagnose(c, s, n, line, terminated);

    /* Decode every pair; bad digits show as bit 7 in acc. */
    size_t nb = n / 2;
    unsigned acc = 0, sum = 0;
    const uint8_t *t = oflash__img_hexval;
    for (size_t i = 0; i < nb; i++) {
        unsigned hi = t[(uint8_t)s[2 * i]], lo = t[(uint8_t)s[2 * i + 1]];
        acc |= hi | lo;
        rec[i] = (uint8_t)(hi << 4 | lo);
        sum += rec[i];
    }
    if (acc & 0x80) return ihex_diagnose(c, s, n, line, terminated);
    if (sum & 0xFF) {
        unsigned want = (0x100 - ((sum - rec[nb - 1]) & 0xFF)) & 0xFF;
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": bad checksum 0x%02X (expected 0x%02X)", c->name,
                                line, rec[nb - 1], want);
    }
    uint32_t off = (uint32_t)rec[1] << 8 | rec[2];
    const uint8_t *d = rec + 4;
    if (rec[3] >= 0x01 && rec[3] <= 0x05 && off != 0) {
        static const char *const what[] = {"", "end-of-file", "extended segment address",
                                           "start segment address", "extended linear address",
                                           "start linear address"};
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": %s record (type %02X) with address field %04" PRIX32
                                " (expected 0000)",
                                c->name, line, what[rec[3]], rec[3], off);
    }
    switch (rec[3]) {
    case 0x00: {
        if (len == 0) return 0;
        uint32_t a = c->base + off;
        if (a < c->base) { /* 32-bit wrap of base + offset */
            return oflash_error_set(OFLASH_ERANGE,
                                    "%s:%" PRIu32 ": address 0x%08" PRIX32 " + 0x%04" PRIX32
                                    " wraps past 4 GiB (expected addresses up to 0xFFFFFFFF)",
                                    c->name, line, c->base, off);
        }
        uint8_t *p = oflash__load_reserve(c->ld, a, len, line);
        if (!p) return oflash_error_last_code();
        memcpy(p, d, len);
        return 0;
    }
    case 0x01:
        if (len != 0)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": end-of-file record with %u data bytes "
                                    "(expected 0)",
                                    c->name, line, len);
        c->eof = true;
        c->eof_line = line;
        return c->ld->ignore_after_eof ? 1 : 0; /* 1 ends the scan here */
    case 0x02:
    case 0x04:
        if (len != 2)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": extended %s address record with %u data "
                                    "bytes (expected 2)",
                                    c->name, line, rec[3] == 2 ? "segment" : "linear", len);
        c->base = ((uint32_t)d[0] << 8 | d[1]) << (rec[3] == 2 ? 4 : 16);
        return 0;
    case 0x03:
    case 0x05:
        if (len != 4)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": start %s address record with %u data bytes "
                                    "(expected 4)",
                                    c->name, line, rec[3] == 3 ? "segment" : "linear", len);
        if (rec[3] == 3) /* CS:IP */
            oflash__load_entry(
                c->ld, (((uint32_t)d[0] << 8 | d[1]) << 4) + ((uint32_t)d[2] << 8 | d[3]), line);
        else
            oflash__load_entry(
                c->ld, (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3],
                line);
        return 0;
    default:
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": unknown record type %02X (expected 00-05)",
                                c->name, line, rec[3]);
    }
}

/* The hot path: runs of well-formed data records ending in LF or CRLF.
 * Each record is decoded by pairs straight into the load; the validity of
 * every digit is folded into one OR.  Anything else (other record types,
 * blank lines, any error) stops here and goes through ihex_line(), which
 * diagnoses it; bytes already stored for a bad record do not matter, as
 * the load then fails. */
static size_t ihex_fast(void *vctx, const char *p, const char *end, uint32_t *line, int *rc)
{
    struct ihex_ctx *c = vctx;
    const char *start = p;
    if (c->eof || c->ld->locate) return 0;
    while (end - p >= 14 && p[0] == ':') {
        unsigned len = oflash__img_pair(p + 1);
        size_t need = 11 + 2 * (size_t)len; /* ':' + digits */
        if (len > 255 || (size_t)(end - p) <= need) break;
        const char *q = p + need;
        size_t eol = q[0] == '\n' ? 1 : (q[0] == '\r' && q + 1 < end && q[1] == '\n') ? 2 : 0;
        unsigned a1 = oflash__img_pair(p + 3), a0 = oflash__img_pair(p + 5);
        unsigned type = oflash__img_pair(p + 7);
        if (!eol || type != 0 || len == 0 || ((a1 | a0) & 0x100)) break;
        uint32_t a = c->base + (a1 << 8 | a0);
        if (a < c->base || (uint64_t)a + len > 0x100000000ull) break;
        uint8_t *d = oflash__load_reserve(c->ld, a, len, *line + 1);
        if (!d) {
            *rc = oflash_error_last_code();
            break;
        }
        const char *h = p + 9;
        unsigned acc = 0, sum = len + a1 + a0;
        acc |= oflash__img_decode(h, d, len, &sum);
        unsigned cs = oflash__img_pair(h + 2 * len);
        if (((acc | cs) & 0x100) || ((sum + cs) & 0xFF)) break; /* ihex_line() reports it */
        c->last_line = ++*line;
        p = q + eol;
    }
    return (size_t)(p - start);
}

int oflash__ihex_read(const oflash__src *src, oflash__load *ld, uint32_t base)
{
    (void)base; /* addresses come from the file */
    struct ihex_ctx c = {.name = src->name, .ld = ld};
    oflash__img_pairs_init();
    int rc = oflash__src_lines(src, ihex_line, ihex_fast, &c);
    if (rc < 0) return rc;
    if (c.eof || ld->locate) return 0;
    if (ld->allow_missing_eof) {
        oflash_log(OFLASH_LOG_WARN,
                   "%s:%" PRIu32 ": no end-of-file record (expected ':00000001FF' as the last "
                   "record; accepted with --allow-missing-eof)",
                   src->name, c.last_line);
        return 0;
    }
    return oflash_error_set(OFLASH_EFORMAT,
                            "%s:%" PRIu32 ": no end-of-file record after the last record: the "
                            "file may have been cut short (expected ':00000001FF' as the last "
                            "record; --allow-missing-eof accepts the file as it is)",
                            src->name, c.last_line);
}

/* ------------------------------------------------------------------ writer */

static inline char *put_byte(char *q, unsigned b, unsigned *sum)
{
    memcpy(q, oflash__img_hexpair[b & 0xFF], 2);
    *sum += b & 0xFF;
    return q + 2;
}

/* One record; n <= 255. */
static void ihex_record(oflash__out *o, unsigned type, uint32_t off, const uint8_t *d, size_t n)
{
    char *q = oflash__out_room(o, 12 + 2 * n), *start = q;
    unsigned sum = 0;
    *q++ = ':';
    q = put_byte(q, (unsigned)n, &sum);
    q = put_byte(q, off >> 8, &sum);
    q = put_byte(q, off, &sum);
    q = put_byte(q, type, &sum);
    for (size_t i = 0; i < n; i++) {
        memcpy(q, oflash__img_hexpair[d[i]], 2);
        sum += d[i];
        q += 2;
    }
    q = put_byte(q, 0x100 - (sum & 0xFF), &sum);
    *q++ = '\n';
    o->len += (size_t)(q - start);
}

int oflash__ihex_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w)
{
    unsigned rs = w->record_size ? w->record_size : 16;
    uint32_t upper = 0;
    if (rs > 255)
        return oflash_error_set(OFLASH_EINVAL,
                                "record size %u is too large for Intel HEX (expected 1-255)", rs);
    for (size_t i = 0; i < oflash_image_segment_count(img); i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint64_t a = s->addr, end = (uint64_t)s->addr + s->size;
        const uint8_t *p = s->data;
        while (a < end) {
            if ((uint32_t)(a >> 16) != upper) {
                uint8_t ext[2] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16)};
                upper = (uint32_t)(a >> 16);
                ihex_record(o, 0x04, 0, ext, 2);
            }
            uint64_t n = rs;
            if (n > end - a) n = end - a;
            if (n > 0x10000 - (a & 0xFFFF)) /* records stay inside one 64 KiB block */
                n = 0x10000 - (a & 0xFFFF);
            ihex_record(o, 0x00, (uint32_t)(a & 0xFFFF), p, (size_t)n);
            p += n;
            a += n;
        }
    }
    uint32_t entry;
    if (oflash_image_entry(&entry, img)) {
        uint8_t e[4] = {(uint8_t)(entry >> 24), (uint8_t)(entry >> 16), (uint8_t)(entry >> 8),
                        (uint8_t)entry};
        ihex_record(o, 0x05, 0, e, 4);
    }
    ihex_record(o, 0x01, 0, NULL, 0);
    return o->err;
}
