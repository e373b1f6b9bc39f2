/*
 * source.c - the streaming input source: a file read in a fixed window of
 * lines (text formats) or at offsets (ELF, binary), or a memory buffer.
 * Readers never hold a whole input file in memory.
 */
#include "image_internal.h"

#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_CHUNK (64 * 1024) /* read window of the text readers */

int oflash__src_open(oflash__src *src, const char *path)
{
    struct stat st;
    int fd, rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "an image file");
    memset(src, 0, sizeof *src);
    src->fd = -1;
    if (rc) return rc;
    src->name = path;
    src->fd = fd;
    src->size = (uint64_t)st.st_size;
    return 0;
}

void oflash__src_close(oflash__src *src)
{
    if (src->fd >= 0) close(src->fd);
    src->fd = -1;
}

int oflash__src_rewind(const oflash__src *src)
{
    if (src->fd >= 0 && lseek(src->fd, 0, SEEK_SET) < 0)
        return oflash_error_set(OFLASH_EIO, "%s: seek failed: %s", src->name, strerror(errno));
    return 0;
}

int oflash__src_pread(const oflash__src *src, void *buf, size_t n, uint64_t off)
{
    if (off > src->size || n > src->size - off)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s: read of %zu bytes at offset 0x%" PRIx64
                                " beyond the end of the file (%" PRIu64 " bytes)",
                                src->name, n, off, src->size);
    if (src->mem) {
        memcpy(buf, src->mem + off, n);
        return 0;
    }
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(src->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return oflash_error_set(OFLASH_EIO, "%s: read failed: %s", src->name, strerror(errno));
        if (r == 0)
            return oflash_error_set(OFLASH_EIO, "%s: file shrank while reading it", src->name);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Feed the complete lines of [p, end) to fn; *used gets the bytes consumed.
 * With final set, a last line without "\n" is fed too. */
static int feed_lines(const char *p, const char *end, bool final, uint32_t *line,
                      oflash__line_fn fn, oflash__fast_fn fast, void *ctx, size_t *used)
{
    const char *start = p;
    while (p < end) {
        if (fast) {
            int rc = 0;
            p += fast(ctx, p, end, line, &rc);
            if (rc) return rc;
            if (p >= end) break;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            if (!final) break;
            int rc = fn(ctx, p, (size_t)(end - p), ++*line, false);
            if (rc) return rc;
            p = end;
            break;
        }
        int rc = fn(ctx, p, (size_t)(nl - p), ++*line, true);
        if (rc) return rc;
        p = nl + 1;
    }
    *used = (size_t)(p - start);
    return 0;
}

int oflash__src_lines(const oflash__src *src, oflash__line_fn fn, oflash__fast_fn fast, void *ctx)
{
    uint32_t line = 0;
    size_t used;
    if (src->mem)
        return feed_lines((const char *)src->mem, (const char *)src->mem + src->size, true, &line,
                          fn, fast, ctx, &used);

    /* A window of SRC_CHUNK bytes; the unfinished tail of one read moves to
     * the front before the next.  A line longer than the window is an error
     * (no record of any supported format comes near it). */
    char *buf = malloc(SRC_CHUNK);
    size_t have = 0;
    int rc = 0;
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", src->name);
    for (;;) {
        ssize_t r = read(src->fd, buf + have, SRC_CHUNK - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: read failed: %s", src->name, strerror(errno));
            break;
        }
        have += (size_t)r;
        bool final = r == 0;
        rc = feed_lines(buf, buf + have, final, &line, fn, fast, ctx, &used);
        if (rc || final) break;
        if (used == 0 && have == SRC_CHUNK) {
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "%s:%" PRIu32 ": line longer than %d bytes (expected records "
                                  "of at most a few hundred characters)",
                                  src->name, line + 1, SRC_CHUNK);
            break;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return rc;
}
