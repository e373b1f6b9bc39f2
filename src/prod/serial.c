/*
 * serial.c - the serial pool (include/oflash/prod.h, "Serial pool").
 *
 * A pool is a numbered sequence of serials: seq 0, 1, 2, ... is either a
 * counter (start + seq * step) or the lines of a list file in order.  Every
 * serial is a number; the format says how it is written into the field:
 *
 *   field = [prefix][number: len bytes][CRC-32 of prefix+number, LE; optional]
 *
 *   bin-le / bin-be  len bytes (1..8), binary;       text: prefix + decimal
 *   ascii-dec        len decimal digits, zero-padded; text: prefix + digits
 *   ascii-hex        len upper-case hex digits;       text: prefix + digits
 *   bcd              2*len digits packed, high nibble first; text: prefix + digits
 *
 * Everything is checked when the pool is opened: a counter whose start does
 * not fit len, a list line that is no number of the format, does not fit or
 * repeats (named with file and line), a field too large.  After that encode
 * and decode cannot fail for a seq inside the pool.
 */
#include "prod/prod_internal.h"

#include "common/file.h"
#include "common/sha256.h"
#include "image/image_internal.h"
#include "oflash/error.h"
#include "oflash/image.h"
#include "oflash/prod.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIST_MAX_BYTES (256u << 20) /* a list file larger than this is refused */

typedef struct list_entry {
    uint64_t value;
    uint64_t seq;
} list_entry;

struct oflash_serial_pool {
    uint32_t at;
    oflash_serial_format format;
    unsigned len;
    uint64_t start, step;
    char *prefix;
    size_t plen;
    bool crc32;
    char *list_name;     /* the list file as the user named it, or NULL */
    char *list_text;     /* its bytes, as read (the ledger keeps them with the pool) */
    size_t list_text_len;
    char name[OFLASH_SERIAL_POOL_NAME_MAX]; /* the pool's name in a ledger */
    uint64_t *list;      /* values in file order */
    list_entry *by_value;/* the same, sorted by value (decode) */
    uint64_t size;
    uint64_t max;        /* the largest number the format holds in len */
    unsigned digits;     /* digits of the text form (0: bin, unpadded decimal) */
    char identity[512];
};

static const char *const format_names[] = {"bin-le", "bin-be", "ascii-dec", "ascii-hex", "bcd"};
#define NFORMATS (sizeof format_names / sizeof format_names[0])

const char *oflash_serial_format_name(oflash_serial_format f)
{
    if ((unsigned)f < NFORMATS)
        return format_names[f];
    return "unknown";
}

int oflash_serial_format_parse(oflash_serial_format *out, const char *name)
{
    for (size_t i = 0; name && i < NFORMATS; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (oflash_serial_format)i;
            return 0;
        }
    }
    return oflash_error_set(OFLASH_EINVAL,
                            "unknown serial format '%s' (use bin-le, bin-be, ascii-dec, "
                            "ascii-hex or bcd)",
                            name ? name : "");
}

/* 10^n or 16^n - 1, saturating at UINT64_MAX. */
static uint64_t max_digits(unsigned base, unsigned n)
{
    uint64_t v = 1;
    for (unsigned i = 0; i < n; i++) {
        if (v > UINT64_MAX / base)
            return UINT64_MAX;
        v *= base;
    }
    return v - 1;
}

static int base_of(oflash_serial_format f)
{
    return f == OFLASH_SERIAL_ASCII_HEX ? 16 : 10;
}

/* What the list file's numbers are written in, for messages. */
static const char *format_takes(oflash_serial_format f)
{
    switch (f) {
    case OFLASH_SERIAL_ASCII_HEX:
        return "hex digits 0-9, A-F";
    case OFLASH_SERIAL_BIN_LE:
    case OFLASH_SERIAL_BIN_BE:
        return "a decimal number, or hex with 0x";
    default:
        return "decimal digits 0-9";
    }
}

/* Copy of a line for messages: at most 40 characters, unprintable ones as '?'. */
static void show_line(char out[48], const char *s, size_t n)
{
    size_t k = n > 40 ? 40 : n;
    for (size_t i = 0; i < k; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    if (n > 40) {
        memcpy(out + 40, "...", 3);
        k = 43;
    }
    out[k] = '\0';
}

/* Parse one list line's number (prefix already stripped).  Returns 0, or
 * an error naming name:line. */
static int parse_list_number(uint64_t *out, const oflash_serial_pool *p, const char *s, size_t n,
                             const char *name, unsigned line)
{
    char shown[48];
    unsigned base = 10;
    size_t i = 0, maxd = 0;
    uint64_t v = 0;

    show_line(shown, s, n);
    if (p->format == OFLASH_SERIAL_BIN_LE || p->format == OFLASH_SERIAL_BIN_BE) {
        if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            base = 16;
            i = 2;
        }
    } else {
        base = (unsigned)base_of(p->format);
        maxd = p->format == OFLASH_SERIAL_BCD ? 2u * p->len : p->len;
    }
    if (i == n)
        return oflash_error_set(OFLASH_EFORMAT, "%s:%u: '%s' is no serial number (%s takes %s)",
                                name, line, shown, oflash_serial_format_name(p->format),
                                format_takes(p->format));
    for (size_t k = i; k < n; k++) {
        int d;
        char c = s[k];
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (base == 16 && c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (base == 16 && c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s:%u: '%s' is no serial number (%s takes %s)", name, line,
                                    shown, oflash_serial_format_name(p->format),
                                    format_takes(p->format));
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return oflash_error_set(OFLASH_ERANGE,
                                    "%s:%u: serial '%s' does not fit the field (%u %s, largest "
                                    "%" PRIu64 ")",
                                    name, line, shown, p->len,
                                    maxd ? "digits" : "bytes", p->max);
        v = v * base + (uint64_t)d;
    }
    if ((maxd && n - i > maxd) || v > p->max)
        return oflash_error_set(OFLASH_ERANGE,
                                "%s:%u: serial '%s' does not fit the field (%s, %u %s)", name,
                                line, shown, oflash_serial_format_name(p->format),
                                maxd ? (unsigned)maxd : p->len, maxd ? "digits" : "bytes");
    *out = v;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const list_entry *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Parse the list file's text into p->list / p->by_value. */
static int parse_list(oflash_serial_pool *p, const char *data, size_t size, const char *name)
{
    size_t cap = 0, n = 0;
    unsigned *lines = NULL;
    unsigned line = 0;
    const char *s = data, *end = data + size;
    int rc = 0;

    free(p->list_text);
    if (!(p->list_text = malloc(size + 1)))
        return oflash_error_set(OFLASH_ENOMEM, "out of memory reading %s", name);
    memcpy(p->list_text, data, size);
    p->list_text[size] = 0;
    p->list_text_len = size;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        const char *a = s;
        line++;
        s = nl ? nl + 1 : end;
        while (a < e && (*a == ' ' || *a == '\t'))
            a++;
        while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (a == e || *a == '#')
            continue;
        if (p->plen && (size_t)(e - a) >= p->plen && memcmp(a, p->prefix, p->plen) == 0)
            a += p->plen;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            uint64_t *nl2 = realloc(p->list, nc * sizeof *nl2);
            unsigned *nlines;
            if (!nl2) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory reading %s", name);
                goto out;
            }
            p->list = nl2;
            nlines = realloc(lines, nc * sizeof *nlines);
            if (!nlines) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory reading %s", name);
                goto out;
            }
            lines = nlines;
            cap = nc;
        }
        rc = parse_list_number(&p->list[n], p, a, (size_t)(e - a), name, line);
        if (rc)
            goto out;
        lines[n] = line;
        n++;
    }
    if (n == 0) {
        rc = oflash_error_set(OFLASH_EFORMAT, "%s: the serial list has no serials (one a line)",
                              name);
        goto out;
    }
    p->by_value = malloc(n * sizeof *p->by_value);
    if (!p->by_value) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory reading %s", name);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        p->by_value[i].value = p->list[i];
        p->by_value[i].seq = i;
    }
    qsort(p->by_value, n, sizeof *p->by_value, entry_cmp);
    {
        /* Name the first line (in file order) that repeats an earlier one. */
        size_t best = SIZE_MAX, first = 0;
        for (size_t i = 1; i < n; i++) {
            if (p->by_value[i].value == p->by_value[i - 1].value &&
                (best == SIZE_MAX || p->by_value[i].seq < p->by_value[best].seq)) {
                size_t j = i;
                while (j > 0 && p->by_value[j - 1].value == p->by_value[i].value)
                    j--;
                best = i;
                first = j;
            }
        }
        if (best != SIZE_MAX) {
            char text[OFLASH_SERIAL_TEXT_MAX];
            p->size = n;
            oflash_serial_text(text, p, p->by_value[best].seq);
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "%s:%u: serial %s repeats line %u (each serial may be "
                                  "listed once)",
                                  name, lines[p->by_value[best].seq], text,
                                  lines[p->by_value[first].seq]);
            goto out;
        }
    }
    p->size = n;
out:
    free(lines);
    return rc;
}

static int load_list(oflash_serial_pool *p, const char *path, char sha[65])
{
    struct stat st;
    int fd, rc;
    char *buf;
    size_t got = 0;

    rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "serial list");
    if (rc)
        return rc;
    if ((uint64_t)st.st_size > LIST_MAX_BYTES) {
        close(fd);
        return oflash_error_set(OFLASH_EFORMAT, "%s: serial list too large (%lld bytes, at most %u MiB)",
                                path, (long long)st.st_size, LIST_MAX_BYTES >> 20);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory reading %s", path);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: cannot read the serial list: %s", path,
                                  r < 0 ? strerror(errno) : "file shrank while reading");
            close(fd);
            free(buf);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    rc = oflash__sha256_hex_of(sha, buf, got);
    if (!rc)
        rc = parse_list(p, buf, got, path);
    free(buf);
    return rc;
}

static int check_scheme(oflash_serial_pool *p, const oflash_serial_scheme *s)
{
    size_t field;
    if (!s || s->version < 1 || s->version > OFLASH_SERIAL_SCHEME_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "serial scheme: unsupported structure version %u",
                                s ? s->version : 0);
    if (s->version >= 2 && s->pool) {
        size_t n = strlen(s->pool);
        if (n == 0 || n >= OFLASH_SERIAL_POOL_NAME_MAX)
            return oflash_error_set(OFLASH_EINVAL,
                                    "serial pool name '%s': 1 to %d characters", s->pool,
                                    OFLASH_SERIAL_POOL_NAME_MAX - 1);
        for (const char *c = s->pool; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
                return oflash_error_set(OFLASH_EINVAL,
                                        "serial pool name '%s': only letters, digits, '-', '_' "
                                        "and '.' (character %zu is not)",
                                        s->pool, (size_t)(c - s->pool) + 1);
        memcpy(p->name, s->pool, n + 1);
    } else {
        snprintf(p->name, sizeof p->name, "%s", OFLASH_SERIAL_POOL_DEFAULT);
    }
    if ((unsigned)s->format >= NFORMATS)
        return oflash_error_set(OFLASH_EINVAL, "serial scheme: unknown format %d", (int)s->format);
    p->at = s->at;
    p->format = s->format;
    p->len = s->len;
    p->start = s->start;
    p->step = s->step ? s->step : 1;
    p->crc32 = s->crc32;
    if (s->prefix) {
        for (const char *c = s->prefix; *c; c++)
            if (*c < 0x20 || *c > 0x7E || *c == '"' || *c == '\\')
                return oflash_error_set(OFLASH_EINVAL,
                                        "serial-prefix: only printable ASCII characters, no "
                                        "quotes or backslashes (character %zu is not)",
                                        (size_t)(c - s->prefix) + 1);
        p->plen = strlen(s->prefix);
    }
    if (s->len == 0)
        return oflash_error_set(OFLASH_EINVAL, "serial-len must be at least 1");
    switch (s->format) {
    case OFLASH_SERIAL_BIN_LE:
    case OFLASH_SERIAL_BIN_BE:
        if (s->len > 8)
            return oflash_error_set(OFLASH_EINVAL,
                                    "serial-len %u: %s holds a number of at most 8 bytes",
                                    s->len, oflash_serial_format_name(s->format));
        p->max = s->len == 8 ? UINT64_MAX : (((uint64_t)1 << (8 * s->len)) - 1);
        /* Without a prefix or CRC, the all-0xFF number is what an erased
         * chip reads: it could never be told from "no serial yet". */
        if (p->plen == 0 && !s->crc32)
            p->max--;
        p->digits = 0;
        break;
    case OFLASH_SERIAL_ASCII_DEC:
        p->max = max_digits(10, s->len);
        p->digits = s->len;
        break;
    case OFLASH_SERIAL_ASCII_HEX:
        p->max = max_digits(16, s->len);
        p->digits = s->len;
        break;
    case OFLASH_SERIAL_BCD:
        p->max = max_digits(10, 2 * s->len);
        p->digits = 2 * s->len;
        break;
    }
    field = p->plen + s->len + (s->crc32 ? 4 : 0);
    if (field > OFLASH_SERIAL_FIELD_MAX)
        return oflash_error_set(OFLASH_EINVAL,
                                "the serial field would be %zu bytes (prefix %zu + number %u%s); "
                                "at most %d",
                                field, p->plen, s->len, s->crc32 ? " + CRC 4" : "",
                                OFLASH_SERIAL_FIELD_MAX);
    if (p->plen + (p->digits ? p->digits : 20) > OFLASH_SERIAL_TEXT_MAX - 1)
        return oflash_error_set(OFLASH_EINVAL,
                                "the serial text would be longer than %d characters (prefix %zu "
                                "+ %u digits)",
                                OFLASH_SERIAL_TEXT_MAX - 1, p->plen, p->digits ? p->digits : 20);
    if ((uint64_t)s->at + field > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE,
                                "serial-at 0x%08" PRIX32 ": the %zu-byte field runs past the end "
                                "of the address space",
                                s->at, field);
    return 0;
}

static int pool_open(oflash_serial_pool **out, const oflash_serial_scheme *s, const void *list,
                     size_t list_len, const char *list_name)
{
    oflash_serial_pool *p = calloc(1, sizeof *p);
    char sha[65] = "";
    int rc;

    *out = NULL;
    if (!p)
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    rc = check_scheme(p, s);
    if (rc)
        goto fail;
    if (p->plen && !(p->prefix = strdup(s->prefix))) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail;
    }
    if (list_name) {
        if (!(p->list_name = strdup(list_name))) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            goto fail;
        }
        if (list)
            rc = oflash__sha256_hex_of(sha, list, list_len);
        if (!rc)
            rc = list ? parse_list(p, list, list_len, list_name) : load_list(p, list_name, sha);
        if (rc)
            goto fail;
    } else {
        if (p->start > p->max) {
            rc = oflash_error_set(OFLASH_ERANGE,
                                  "serial-start %" PRIu64 " does not fit the field (%s, %u %s: "
                                  "largest %" PRIu64 ")",
                                  p->start, oflash_serial_format_name(p->format), p->len,
                                  p->digits ? "digits" : "bytes", p->max);
            if ((p->format == OFLASH_SERIAL_BIN_LE || p->format == OFLASH_SERIAL_BIN_BE) &&
                p->plen == 0 && !p->crc32 && p->start == p->max + 1)
                oflash_error_set(OFLASH_ERANGE,
                                 "serial-start %" PRIu64 ": a field of all 0xFF bytes reads as an "
                                 "erased chip (largest without serial-prefix or serial-crc32: "
                                 "%" PRIu64 ")",
                                 p->start, p->max);
            if (p->format == OFLASH_SERIAL_BCD)
                oflash_error_set(OFLASH_ERANGE,
                                 "serial-start %" PRIu64 " does not fit the field (bcd, %u bytes "
                                 "= %u digits: largest %" PRIu64 ")",
                                 p->start, p->len, p->digits, p->max);
            goto fail;
        }
        p->size = (p->max - p->start) / p->step;
        p->size = p->size == UINT64_MAX ? UINT64_MAX : p->size + 1;
    }
    if (p->list_name)
        snprintf(p->identity, sizeof p->identity,
                 "serial v1 at=0x%08" PRIX32 " format=%s len=%u prefix=\"%s\" crc32=%s "
                 "list-sha256=%s",
                 p->at, oflash_serial_format_name(p->format), p->len, p->prefix ? p->prefix : "",
                 p->crc32 ? "yes" : "no", sha);
    else
        snprintf(p->identity, sizeof p->identity,
                 "serial v1 at=0x%08" PRIX32 " format=%s len=%u prefix=\"%s\" crc32=%s "
                 "start=%" PRIu64 " step=%" PRIu64,
                 p->at, oflash_serial_format_name(p->format), p->len, p->prefix ? p->prefix : "",
                 p->crc32 ? "yes" : "no", p->start, p->step);
    *out = p;
    return 0;
fail:
    oflash_serial_pool_free(p);
    return rc;
}

int oflash_serial_pool_open(oflash_serial_pool **out, const oflash_serial_scheme *scheme)
{
    if (!out)
        return oflash_error_set(OFLASH_EINVAL, "oflash_serial_pool_open: no output pointer");
    return pool_open(out, scheme, NULL, 0, scheme ? scheme->list_path : NULL);
}

int oflash__serial_pool_open_mem(oflash_serial_pool **out, const oflash_serial_scheme *scheme,
                                 const void *list, size_t len, const char *name)
{
    return pool_open(out, scheme, list ? list : "", len, name);
}

void oflash_serial_pool_free(oflash_serial_pool *p)
{
    if (!p)
        return;
    free(p->prefix);
    free(p->list_name);
    free(p->list_text);
    free(p->list);
    free(p->by_value);
    free(p);
}

uint64_t oflash_serial_pool_size(const oflash_serial_pool *p)
{
    return p->size;
}

const char *oflash_serial_pool_identity(const oflash_serial_pool *p)
{
    return p->identity;
}

size_t oflash_serial_field_size(const oflash_serial_pool *p)
{
    return p->plen + p->len + (p->crc32 ? 4 : 0);
}

uint32_t oflash_serial_field_addr(const oflash_serial_pool *p)
{
    return p->at;
}

const char *oflash__serial_list_name(const oflash_serial_pool *p)
{
    return p->list_name;
}

const char *oflash__serial_list_text(const oflash_serial_pool *p, size_t *len)
{
    if (len)
        *len = p->list_text ? p->list_text_len : 0;
    return p->list_text;
}

const char *oflash_serial_pool_name(const oflash_serial_pool *p)
{
    return p->name;
}

void oflash__serial_scheme_get(oflash_serial_scheme *out, const oflash_serial_pool *p)
{
    memset(out, 0, sizeof *out);
    out->version = OFLASH_SERIAL_SCHEME_VERSION;
    out->at = p->at;
    out->format = p->format;
    out->len = p->len;
    out->start = p->start;
    out->step = p->step;
    out->prefix = p->prefix;
    out->crc32 = p->crc32;
    out->list_path = p->list_name;
    out->pool = p->name;
}

void oflash__serial_scheme_words(char *out, size_t size, const oflash_serial_pool *p)
{
    char first[OFLASH_SERIAL_TEXT_MAX] = "";
    size_t n;
    if (!size)
        return;
    oflash_serial_text(first, p, 0);
    n = (size_t)snprintf(out, size, "%s, %u %s", oflash_serial_format_name(p->format), p->len,
                         p->digits ? "digits" : "bytes");
    if (n < size && p->plen)
        n += (size_t)snprintf(out + n, size - n, ", prefix \"%s\"", p->prefix);
    if (n < size && p->crc32)
        n += (size_t)snprintf(out + n, size - n, ", CRC-32");
    if (n < size && p->list_name)
        n += (size_t)snprintf(out + n, size - n, ", list %s (%" PRIu64 " serials, first %s)",
                              p->list_name, p->size, first);
    else if (n < size)
        n += (size_t)snprintf(out + n, size - n, ", counter from %" PRIu64 " step %" PRIu64
                                                 " (first %s)",
                              p->start, p->step, first);
    if (n < size)
        snprintf(out + n, size - n, ", at 0x%08" PRIX32, p->at);
}

static int value_of(uint64_t *v, const oflash_serial_pool *p, uint64_t seq)
{
    if (seq >= p->size) {
        if (p->list_name)
            return oflash_error_set(OFLASH_ERANGE,
                                    "no serials left: the list %s has %" PRIu64
                                    " serials, all issued",
                                    p->list_name, p->size);
        return oflash_error_set(OFLASH_ERANGE,
                                "no serials left: %" PRIu64 " serials from %" PRIu64
                                " in steps of %" PRIu64 " fill the %s field of %u bytes",
                                p->size, p->start, p->step, oflash_serial_format_name(p->format),
                                p->len);
    }
    *v = p->list ? p->list[seq] : p->start + seq * p->step;
    return 0;
}

/* The digits of v in the text form (bin: decimal, unpadded). */
static void digits_of(char *out, const oflash_serial_pool *p, uint64_t v)
{
    switch (p->format) {
    case OFLASH_SERIAL_ASCII_HEX:
        for (unsigned i = p->digits; i-- > 0; v >>= 4)
            out[i] = "0123456789ABCDEF"[v & 15];
        out[p->digits] = '\0';
        break;
    case OFLASH_SERIAL_ASCII_DEC:
    case OFLASH_SERIAL_BCD:
        for (unsigned i = p->digits; i-- > 0; v /= 10)
            out[i] = (char)('0' + v % 10);
        out[p->digits] = '\0';
        break;
    default:
        sprintf(out, "%" PRIu64, v);
        break;
    }
}

int oflash_serial_text(char out[OFLASH_SERIAL_TEXT_MAX], const oflash_serial_pool *p, uint64_t seq)
{
    uint64_t v;
    int rc = value_of(&v, p, seq);
    if (rc) {
        out[0] = '\0';
        return rc;
    }
    memcpy(out, p->prefix ? p->prefix : "", p->plen);
    digits_of(out + p->plen, p, v);
    return 0;
}

static void put_number(uint8_t *f, const oflash_serial_pool *p, uint64_t v)
{
    char d[OFLASH_SERIAL_TEXT_MAX];
    switch (p->format) {
    case OFLASH_SERIAL_BIN_LE:
        for (unsigned i = 0; i < p->len; i++, v >>= 8)
            f[i] = (uint8_t)v;
        break;
    case OFLASH_SERIAL_BIN_BE:
        for (unsigned i = p->len; i-- > 0; v >>= 8)
            f[i] = (uint8_t)v;
        break;
    case OFLASH_SERIAL_ASCII_DEC:
    case OFLASH_SERIAL_ASCII_HEX:
        digits_of(d, p, v);
        memcpy(f, d, p->len);
        break;
    case OFLASH_SERIAL_BCD:
        digits_of(d, p, v);
        for (unsigned i = 0; i < p->len; i++)
            f[i] = (uint8_t)(((d[2 * i] - '0') << 4) | (d[2 * i + 1] - '0'));
        break;
    }
}

int oflash_serial_encode(uint8_t out[OFLASH_SERIAL_FIELD_MAX], size_t *out_len,
                         const oflash_serial_pool *p, uint64_t seq)
{
    uint64_t v;
    int rc = value_of(&v, p, seq);
    size_t body = p->plen + p->len;
    if (rc)
        return rc;
    memcpy(out, p->prefix ? p->prefix : "", p->plen);
    put_number(out + p->plen, p, v);
    if (p->crc32) {
        uint32_t c = oflash_crc32(0, out, body);
        for (int i = 0; i < 4; i++)
            out[body + (size_t)i] = (uint8_t)(c >> (8 * i));
    }
    if (out_len)
        *out_len = oflash_serial_field_size(p);
    return 0;
}

/* The number in field bytes f (after the prefix); false if no number of the format. */
static bool get_number(uint64_t *v, const oflash_serial_pool *p, const uint8_t *f)
{
    uint64_t x = 0;
    switch (p->format) {
    case OFLASH_SERIAL_BIN_LE:
        for (unsigned i = p->len; i-- > 0;)
            x = (x << 8) | f[i];
        break;
    case OFLASH_SERIAL_BIN_BE:
        for (unsigned i = 0; i < p->len; i++)
            x = (x << 8) | f[i];
        break;
    case OFLASH_SERIAL_ASCII_DEC:
    case OFLASH_SERIAL_ASCII_HEX:
        for (unsigned i = 0; i < p->len; i++) {
            unsigned d;
            if (f[i] >= '0' && f[i] <= '9')
                d = f[i] - '0';
            else if (p->format == OFLASH_SERIAL_ASCII_HEX && f[i] >= 'A' && f[i] <= 'F')
                d = f[i] - 'A' + 10u;
            else
                return false;
            if (x > (UINT64_MAX - d) / (unsigned)base_of(p->format))
                return false;
            x = x * (unsigned)base_of(p->format) + d;
        }
        break;
    case OFLASH_SERIAL_BCD:
        for (unsigned i = 0; i < 2 * p->len; i++) {
            unsigned d = (i & 1) ? f[i / 2] & 15u : f[i / 2] >> 4;
            if (d > 9 || x > (UINT64_MAX - d) / 10)
                return false;
            x = x * 10 + d;
        }
        break;
    }
    *v = x;
    return true;
}

/* The seq of number v in the pool; false if v is none of its serials. */
static bool seq_of(uint64_t *seq, const oflash_serial_pool *p, uint64_t v)
{
    if (p->by_value) {
        size_t lo = 0, hi = (size_t)p->size;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (p->by_value[mid].value < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < p->size && p->by_value[lo].value == v) {
            *seq = p->by_value[lo].seq;
            return true;
        }
        return false;
    }
    if (v < p->start || (v - p->start) % p->step != 0)
        return false;
    *seq = (v - p->start) / p->step;
    return *seq < p->size;
}

static void hex_text(char *out, const uint8_t *f, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 2 + 4 > OFLASH_SERIAL_TEXT_MAX) {
            strcpy(out + k, "...");
            return;
        }
        k += (size_t)sprintf(out + k, "%02X", f[i]);
    }
    out[k] = '\0';
}

int oflash_serial_decode(uint64_t *seq, char text[OFLASH_SERIAL_TEXT_MAX],
                         const oflash_serial_pool *p, const uint8_t *field, size_t len)
{
    size_t fs = oflash_serial_field_size(p), body = p->plen + p->len, i;
    uint64_t v, s;
    bool number, prefix_ok;
    char shown[OFLASH_SERIAL_TEXT_MAX];

    if (text)
        text[0] = '\0';
    if (len != fs)
        return oflash_error_set(OFLASH_EINVAL,
                                "serial field: %zu bytes given, the field is %zu bytes", len, fs);
    for (i = 0; i < fs && field[i] == 0xFF; i++)
        ;
    if (i == fs)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the serial field at 0x%08" PRIX32 " is erased (all 0xFF)", p->at);
    prefix_ok = p->plen == 0 || memcmp(field, p->prefix, p->plen) == 0;
    number = prefix_ok && get_number(&v, p, field + p->plen);
    /* What a technician is shown: the text form when the bytes are one,
     * else the characters when they are printable, else hex. */
    if (number && v <= p->max) {
        memcpy(shown, p->prefix ? p->prefix : "", p->plen);
        digits_of(shown + p->plen, p, v);
    } else {
        bool printable = true;
        for (i = 0; i < body; i++)
            printable = printable && field[i] >= 0x20 && field[i] < 0x7F;
        if (printable && p->format != OFLASH_SERIAL_BIN_LE && p->format != OFLASH_SERIAL_BIN_BE) {
            memcpy(shown, field, body);
            shown[body] = '\0';
        } else {
            hex_text(shown, field, fs);
        }
    }
    if (text)
        memcpy(text, shown, strlen(shown) + 1);
    if (!number)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the serial field at 0x%08" PRIX32 " holds \"%s\", which is no "
                                "serial of this job (%s%s%s)",
                                p->at, shown, oflash_serial_format_name(p->format),
                                p->plen ? ", prefix " : "", p->plen ? p->prefix : "");
    if (p->crc32) {
        uint32_t want = oflash_crc32(0, field, body), got = 0;
        for (int k = 0; k < 4; k++)
            got |= (uint32_t)field[body + (size_t)k] << (8 * k);
        if (got != want)
            return oflash_error_set(OFLASH_ENOTFOUND,
                                    "the serial field at 0x%08" PRIX32 " holds \"%s\" with a wrong "
                                    "CRC-32 (0x%08" PRIX32 ", expected 0x%08" PRIX32 ")",
                                    p->at, shown, got, want);
    }
    if (!seq_of(&s, p, v))
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "the serial field at 0x%08" PRIX32 " holds %s, which is not in "
                                "this job's serial %s",
                                p->at, shown, p->list_name ? "list" : "range");
    if (seq)
        *seq = s;
    return 0;
}

int oflash_serial_apply(struct oflash_image *img, const oflash_serial_pool *p, uint64_t seq)
{
    uint8_t f[OFLASH_SERIAL_FIELD_MAX], cur[OFLASH_SERIAL_FIELD_MAX];
    size_t n, i;
    char text[OFLASH_SERIAL_TEXT_MAX], source[OFLASH_SERIAL_TEXT_MAX + 16];
    int rc = oflash_serial_encode(f, &n, p, seq);

    if (rc)
        return rc;
    oflash_image_read(cur, img, p->at, n, 0xFF);
    for (i = 0; i < n; i++) {
        if (cur[i] != 0xFF) {
            const oflash_segment *seg = NULL;
            for (size_t k = 0; k < oflash_image_segment_count(img); k++) {
                const oflash_segment *sg = oflash_image_segment(img, k);
                if (p->at + i >= sg->addr && p->at + i - sg->addr < sg->size) {
                    seg = sg;
                    break;
                }
            }
            return oflash_error_set(OFLASH_EOVERLAP,
                                    "the serial field 0x%08" PRIX32 "-0x%08" PRIX32
                                    " overlaps image data at 0x%08" PRIX32 " (0x%02X%s%s%s): the "
                                    "image must leave the field 0xFF, or move serial-at",
                                    p->at, (uint32_t)(p->at + n - 1), (uint32_t)(p->at + i),
                                    cur[i], seg && seg->source ? ", from " : "",
                                    seg && seg->source ? seg->source : "", "");
        }
    }
    oflash_serial_text(text, p, seq);
    snprintf(source, sizeof source, "serial %s", text);
    /* Bytes the image holds (0xFF) are overwritten in place; the rest is added. */
    i = 0;
    while (i < n) {
        uint32_t a = p->at + (uint32_t)i;
        oflash_segment *seg = NULL;
        for (size_t k = 0; k < img->nseg; k++) {
            if (a >= img->seg[k].addr && a - img->seg[k].addr < img->seg[k].size) {
                seg = &img->seg[k];
                break;
            }
        }
        if (seg) {
            size_t take = seg->addr + (uint64_t)seg->size - a;
            if (take > n - i)
                take = n - i;
            memcpy(seg->data + (a - seg->addr), f + i, take);
            i += take;
        } else {
            size_t j = i + 1;
            while (j < n && !oflash_image_read(cur, img, p->at + (uint32_t)j, 1, 0xFF))
                j++;
            rc = oflash_image_add(img, a, f + i, j - i, source);
            if (rc)
                return rc;
            i = j;
        }
    }
    return 0;
}
