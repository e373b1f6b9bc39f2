/*
 * srec.c - Motorola S-record reader and writer.
 *
 * Follows the S-record format as described in the Motorola "M68000 Family
 * Programmer's Reference Manual" (M68000PM/AD rev. 1, appendix C) and the
 * srec(5) manual of SRecord 1.65: "Stccaaaa<data>kk" where cc counts the
 * address, data and checksum bytes, and kk is the ones' complement of the
 * low byte of the sum of count, address and data bytes.
 *   S0 header (ignored), S1/S2/S3 data with 16/24/32-bit address,
 *   S5/S6 16/24-bit count of the S1/S2/S3 records before it (checked),
 *   S7/S8/S9 32/24/16-bit start address, ending the file.
 * The writer chooses S1/S2/S3 by the highest address (or as forced), adds
 * an S5/S6 count record and ends with the matching S9/S8/S7.
 */
#include "image_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct srec_ctx {
    const char *name;
    oflash__load *ld;
    uint32_t ndata; /* S1/S2/S3 records so far */
    bool end;       /* S7/S8/S9 seen */
    uint32_t end_line;
    uint32_t last_line;
};

/* Address bytes of each type; 0 = not a valid type. */
static const uint8_t addr_len[10] = {2, 2, 3, 4, 0, 2, 3, 4, 3, 2};


/* Cold path for a record with bad digits or a wrong length; s points after
 * "Sn" and holds n characters. */
static int srec_diagnose(const struct srec_ctx *c, const char *s, size_t n, unsigned type,
                         uint32_t line, bool terminated)
{
    char cb[32];
    size_t bad = oflash__img_bad_digit(s, n);
    size_t min = 2 + 2 * ((size_t)addr_len[type] + 1);
    if (bad < n)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": bad hex digit %s in column %zu (expected 0-9, "
                                "A-F or a-f)",
                                c->name, line, oflash__img_show_char(s[bad], cb, sizeof cb), bad + 3);
    unsigned cnt =
        n >= 2
            ? (unsigned)(oflash__img_hexval[(uint8_t)s[0]] << 4 | oflash__img_hexval[(uint8_t)s[1]])
            : 0;
    size_t need = 2 + 2 * (size_t)cnt;
    if (!terminated && (n < min || n < need))
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": truncated file: the last record has %zu hex "
                                "digits (expected %zu)",
                                c->name, line, n, n < min ? min : need);
    if (n & 1)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": odd number of hex digits (%zu; expected pairs "
                                "of digits)",
                                c->name, line, n);
    if (n < min)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": S%u record too short: %zu hex digits (expected "
                                "at least %zu: count, address, checksum)",
                                c->name, line, type, n, min);
    if (cnt < addr_len[type] + 1u)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": S%u count 0x%02X is too small (expected at "
                                "least %u for address and checksum)",
                                c->name, line, type, cnt, addr_len[type] + 1u);
    return oflash_error_set(OFLASH_EFORMAT,
                            "%s:%" PRIu32 ": record length mismatch: the count field says %u "
                            "bytes, so %zu hex digits after the type, but the record has %zu "
                            "(expected %zu)",
                            c->name, line, cnt, need, n, need);
}

static int srec_line(void *vctx, const char *s, size_t n, uint32_t line, bool terminated)
{
    struct srec_ctx *c = vctx;
    uint8_t rec[256];
    char cb[32];

    while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0) return 0;
    if (c->end)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": data after the termination record of line "
                                "%" PRIu32 " (expected nothing after S7/S8/S9)",
                                c->name, line, c->end_line);
    if (s[0] != 'S' && s[0] != 's')
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": line starts with %s (expected 'S' of an "
                                "S-record)",
                                c->name, line, oflash__img_show_char(s[0], cb, sizeof cb));
    if (n < 2 || s[1] < '0' || s[1] > '9' || s[1] == '4')
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": unknown record type %s (expected S0-S3 or "
                                "S5-S9)",
                                c->name, line, n < 2 ? "(none)" : oflash__img_show_char(s[1], cb, sizeof cb));
    unsigned type = (unsigned)(s[1] - '0');
    unsigned al = addr_len[type];
    c->last_line = line;
    s += 2;
    n -= 2;
    if (n < 2 + 2 * ((size_t)al + 1)) return srec_diagnose(c, s, n, type, line, terminated);
    unsigned cnt =
        (unsigned)(oflash__img_hexval[(uint8_t)s[0]] << 4 | oflash__img_hexval[(uint8_t)s[1]]);
    if (cnt > 255 || cnt < al + 1 || n != 2 + 2 * (size_t)cnt)
        return srec_diagnose(c, s, n, type, line, terminated);

    size_t nb = n / 2; /* count, address, data, checksum */
    unsigned acc = 0, sum = 0;
    const uint8_t *t = oflash__img_hexval;
    for (size_t i = 0; i < nb; i++) {
        unsigned hi = t[(uint8_t)s[2 * i]], lo = t[(uint8_t)s[2 * i + 1]];
        acc |= hi | lo;
        rec[i] = (uint8_t)(hi << 4 | lo);
        sum += rec[i];
    }
    if (acc & 0x80) return srec_diagnose(c, s, n, type, line, terminated);
    if ((sum & 0xFF) != 0xFF) {
        unsigned want = 0xFF - ((sum - rec[nb - 1]) & 0xFF);
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:%" PRIu32 ": bad checksum 0x%02X (expected 0x%02X)", c->name,
                                line, rec[nb - 1], want);
    }
    uint32_t addr = 0;
    for (unsigned i = 0; i < al; i++)
        addr = addr << 8 | rec[1 + i];
    const uint8_t *d = rec + 1 + al;
    size_t dlen = cnt - al - 1;
    switch (type) {
    case 0:
        return 0;
    case 1:
    case 2:
    case 3: {
        c->ndata++;
        if (dlen == 0) return 0;
        uint8_t *p = oflash__load_reserve(c->ld, addr, dlen, line);
        if (!p) return oflash_error_last_code();
        memcpy(p, d, dlen);
        return 0;
    }
    case 5:
    case 6:
        if (dlen)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": S%u count record with %zu data bytes "
                                    "(expected none)",
                                    c->name, line, type, dlen);
        if (addr != c->ndata)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": record count mismatch: S%u says %" PRIu32
                                    " data records, the file has %" PRIu32 " before it (expected "
                                    "%" PRIu32 ")",
                                    c->name, line, type, addr, c->ndata, c->ndata);
        return 0;
    default: /* 7, 8, 9 */
        if (dlen)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%" PRIu32 ": S%u start address record with %zu data "
                                    "bytes (expected none)",
                                    c->name, line, type, dlen);
        oflash__load_entry(c->ld, addr, line);
        c->end = true;
        c->end_line = line;
        return 0;
    }
}

/* The hot path: runs of well-formed S1/S2/S3 records ending in LF or CRLF,
 * decoded by pairs straight into the load.  Anything else stops here and
 * goes through srec_line(), which diagnoses it (see ihex_fast). */
static size_t srec_fast(void *vctx, const char *p, const char *end, uint32_t *line, int *rc)
{
    struct srec_ctx *c = vctx;
    const char *start = p;
    if (c->end || c->ld->locate) return 0;
    while (end - p >= 12 && (p[0] == 'S' || p[0] == 's') && p[1] >= '1' && p[1] <= '3') {
        unsigned al = (unsigned)(p[1] - '0') + 1;
        unsigned cnt = oflash__img_pair(p + 2);
        size_t need = 4 + 2 * (size_t)cnt; /* "Sn" + count + rest */
        if (cnt > 255 || cnt <= al + 1 || (size_t)(end - p) <= need) break;
        const char *q = p + need;
        size_t eol = q[0] == '\n' ? 1 : (q[0] == '\r' && q + 1 < end && q[1] == '\n') ? 2 : 0;
        if (!eol) break;
        unsigned acc = 0, sum = cnt;
        uint32_t addr = 0;
        for (unsigned i = 0; i < al; i++) {
            unsigned v = oflash__img_pair(p + 4 + 2 * i);
            acc |= v;
            sum += v;
            addr = addr << 8 | (v & 0xFF);
        }
        unsigned len = cnt - al - 1;
        if ((acc & 0x100) || (uint64_t)addr + len > 0x100000000ull) break;
        uint8_t *d = oflash__load_reserve(c->ld, addr, len, *line + 1);
        if (!d) {
            *rc = oflash_error_last_code();
            break;
        }
        const char *h = p + 4 + 2 * al;
        acc |= oflash__img_decode(h, d, len, &sum);
        unsigned cs = oflash__img_pair(h + 2 * len);
        if (((acc | cs) & 0x100) || ((sum + cs) & 0xFF) != 0xFF) break; /* srec_line() reports it */
        c->ndata++;
        c->last_line = ++*line;
        p = q + eol;
    }
    return (size_t)(p - start);
}

int oflash__srec_read(const oflash__src *src, oflash__load *ld, uint32_t base)
{
    (void)base; /* addresses come from the file */
    struct srec_ctx c = {.name = src->name, .ld = ld};
    oflash__img_pairs_init();
    int rc = oflash__src_lines(src, srec_line, srec_fast, &c);
    if (rc) return rc;
    if (!c.end && !ld->locate)
        oflash_log(OFLASH_LOG_WARN,
                   "%s:%" PRIu32 ": no termination record (expected S7, S8 or S9 as the last "
                   "record)",
                   src->name, c.last_line);
    return 0;
}

/* ------------------------------------------------------------------ writer */

/* One record of type t with al address bytes and n data bytes. */
static void srec_record(oflash__out *o, unsigned t, unsigned al, uint32_t addr, const uint8_t *d,
                        size_t n)
{
    char *q = oflash__out_room(o, 8 + 2 * (al + n) + 1), *start = q;
    unsigned cnt = (unsigned)(al + n + 1), sum = cnt;
    *q++ = 'S';
    *q++ = (char)('0' + t);
    memcpy(q, oflash__img_hexpair[cnt], 2);
    q += 2;
    for (unsigned i = al; i-- > 0;) {
        unsigned b = (addr >> (8 * i)) & 0xFF;
        memcpy(q, oflash__img_hexpair[b], 2);
        sum += b;
        q += 2;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(q, oflash__img_hexpair[d[i]], 2);
        sum += d[i];
        q += 2;
    }
    memcpy(q, oflash__img_hexpair[0xFF - (sum & 0xFF)], 2);
    q += 2;
    *q++ = '\n';
    o->len += (size_t)(q - start);
}

int oflash__srec_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w)
{
    size_t nseg = oflash_image_segment_count(img);
    const oflash_segment *last = oflash_image_segment(img, nseg - 1);
    uint32_t top = last->addr + last->size - 1;
    uint32_t entry = 0;
    bool have_entry = oflash_image_entry(&entry, img);
    int t = w->srec_type;
    if (t == 0) { /* the smallest type that holds every address and the entry */
        uint32_t hi = have_entry && entry > top ? entry : top;
        t = hi <= 0xFFFF ? 1 : hi <= 0xFFFFFF ? 2 : 3;
    }
    if (t < 1 || t > 3)
        return oflash_error_set(OFLASH_EINVAL, "S-record type S%d (expected S1, S2 or S3)", t);
    unsigned al = (unsigned)t + 1;
    uint64_t lim = 1ull << (8 * al);
    if (top >= lim || (have_entry && entry >= lim))
        return oflash_error_set(OFLASH_ERANGE,
                                "%s: address 0x%08" PRIX32 " does not fit S%d records (expected "
                                "addresses up to 0x%" PRIX64 ", or S%d)",
                                o->path, top >= lim ? top : entry, t, lim - 1, 3);
    unsigned rs = w->record_size ? w->record_size : 32;
    if (rs > 254 - al)
        return oflash_error_set(OFLASH_EINVAL,
                                "record size %u is too large for S%d records (expected 1-%u)", rs,
                                t, 254 - al);
    static const uint8_t hdr[] = {'o', 'f', 'l', 'a', 's', 'h'};
    srec_record(o, 0, 2, 0, hdr, sizeof hdr);
    uint64_t ndata = 0;
    for (size_t i = 0; i < nseg; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint64_t a = s->addr, end = (uint64_t)s->addr + s->size;
        const uint8_t *p = s->data;
        while (a < end) {
            uint64_t n = end - a < rs ? end - a : rs;
            srec_record(o, (unsigned)t, al, (uint32_t)a, p, (size_t)n);
            p += n;
            a += n;
            ndata++;
        }
    }
    if (ndata <= 0xFFFF)
        srec_record(o, 5, 2, (uint32_t)ndata, NULL, 0);
    else if (ndata <= 0xFFFFFF)
        srec_record(o, 6, 3, (uint32_t)ndata, NULL, 0);
    srec_record(o, (unsigned)(10 - t), al, entry, NULL, 0);
    return o->err;
}
