/* buf.c - growable buffer and JSON writer; see buf.h. */
#include "web/buf.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wbuf_free(wbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static bool reserve(wbuf *b, size_t more)
{
    size_t cap;
    char *p;
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void wbuf_add(wbuf *b, const void *data, size_t len)
{
    if (!reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void wbuf_puts(wbuf *b, const char *s)
{
    wbuf_add(b, s, strlen(s));
}

void wbuf_printf(wbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int wbuf_write_cb(void *ctx, const void *data, size_t len)
{
    wbuf *b = ctx;
    wbuf_add(b, data, len);
    return b->oom ? -2 /* OFLASH_ENOMEM */ : 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len, i;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

bool wutf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, n;
    while (i < len) {
        n = utf8_seq(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

void wjson_str(wbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), i = 0, run = 0, seq;
    wbuf_add(b, "\"", 1);
    while (i < n) {
        unsigned c = p[i];
        const char *esc = NULL;
        char u[8];
        seq = utf8_seq(p + i, n - i);
        if (seq == 1 && c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
            i++;
            run++;
            continue;
        }
        if (seq > 1) {
            i += seq;
            run += seq;
            continue;
        }
        wbuf_add(b, p + i - run, run);
        run = 0;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (seq == 0)
                esc = "\\ufffd";
            else {
                snprintf(u, sizeof u, "\\u%04x", c);
                esc = u;
            }
        }
        wbuf_puts(b, esc);
        i++;
    }
    wbuf_add(b, p + i - run, run);
    wbuf_add(b, "\"", 1);
}

void wjson_key(wbuf *b, bool *first, const char *key)
{
    if (!*first)
        wbuf_add(b, ",", 1);
    *first = false;
    wjson_str(b, key);
    wbuf_add(b, ":", 1);
}

void wjson_kstr(wbuf *b, bool *first, const char *key, const char *s)
{
    wjson_key(b, first, key);
    wjson_str(b, s);
}

void wjson_ku64(wbuf *b, bool *first, const char *key, uint64_t v)
{
    wjson_key(b, first, key);
    wbuf_printf(b, "%" PRIu64, v);
}

void wjson_ki64(wbuf *b, bool *first, const char *key, int64_t v)
{
    wjson_key(b, first, key);
    wbuf_printf(b, "%" PRId64, v);
}

void wjson_kdbl(wbuf *b, bool *first, const char *key, double v)
{
    wjson_key(b, first, key);
    if (isfinite(v))
        wbuf_printf(b, "%.6g", v);
    else
        wbuf_puts(b, "null");
}

void wjson_kbool(wbuf *b, bool *first, const char *key, bool v)
{
    wjson_key(b, first, key);
    wbuf_puts(b, v ? "true" : "false");
}
