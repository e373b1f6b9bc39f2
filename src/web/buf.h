/*
 * buf.h - a growable byte buffer and a JSON writer on it (output only: the
 * web server writes JSON, it never parses any).
 *
 * Strings are written as valid JSON whatever bytes they hold: control
 * characters, quotes and backslashes are escaped, '<', '>' and '&' are
 * written as \u003c etc. (so no text can close a <script> or start a tag
 * wherever a page puts it), and bytes that are not valid UTF-8 become
 * U+FFFD.  A failed allocation is sticky: oom is set, later writes do
 * nothing, and the caller checks once at the end.
 */
#ifndef OFLASH_WEB_BUF_H
#define OFLASH_WEB_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wbuf {
    char *data; /* NUL-terminated while not oom */
    size_t len, cap;
    bool oom;
} wbuf;

void wbuf_free(wbuf *b);
void wbuf_add(wbuf *b, const void *data, size_t len);
void wbuf_puts(wbuf *b, const char *s);
void wbuf_printf(wbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The write callback oflash_ledger_export takes: ctx is a wbuf. */
int wbuf_write_cb(void *ctx, const void *data, size_t len);

/* "text" as a JSON string, quotes included. */
void wjson_str(wbuf *b, const char *s);
/* "key":"text", / "key":N, with a leading comma unless first. */
void wjson_kstr(wbuf *b, bool *first, const char *key, const char *s);
void wjson_ku64(wbuf *b, bool *first, const char *key, uint64_t v);
void wjson_ki64(wbuf *b, bool *first, const char *key, int64_t v);
void wjson_kdbl(wbuf *b, bool *first, const char *key, double v);
void wjson_kbool(wbuf *b, bool *first, const char *key, bool v);
/* "key": followed by whatever the caller writes next. */
void wjson_key(wbuf *b, bool *first, const char *key);

/* Is s valid UTF-8 (len bytes)? */
bool wutf8_valid(const char *s, size_t len);

#endif
