/*
 * write.c - writing an image to a file atomically, and the writers' output
 * buffer.
 *
 * oflash_image_write() writes into a temporary file in the directory of the
 * destination (mkstemp "OUT.XXXXXX"), gives it the mode a new file would
 * get (0666 & ~umask), and renames it over the destination only when every
 * byte was written; every write, close and rename is checked.  On any error the temporary file is removed, so the
 * destination is either untouched or complete.  Writers format records into
 * a 256 KiB buffer that is written out when full.
 */
#include "image_internal.h"
#include "common/error_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_BUF (256 * 1024)

static int write_all(oflash__out *o, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t r = write(o->fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            o->err = oflash_error_set(OFLASH_EIO,
                                      "%s: write failed: %s (nothing was written: the file is "
                                      "unchanged or absent)",
                                      o->path, strerror(errno));
            return o->err;
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int oflash__out_flush(oflash__out *o)
{
    if (o->len && !o->err) write_all(o, o->buf, o->len);
    o->len = 0;
    return o->err;
}

int oflash__out_write(oflash__out *o, const void *p, size_t n)
{
    if (n <= o->cap - o->len) {
        memcpy(o->buf + o->len, p, n);
        o->len += n;
        return o->err;
    }
    if (oflash__out_flush(o)) return o->err;
    if (o->err) return o->err;
    return write_all(o, p, n);
}

int oflash_image_write(const oflash_image *img, const char *path,
                       const oflash_image_write_opts *opts)
{
    oflash_image_write_opts w = *opts;
    oflash__out o = {.fd = -1, .path = path};
    char *tmp = NULL;
    bool created = false;
    int rc;

    if (opts->version != OFLASH_IMAGE_WRITE_OPTS_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "image write options: version %u (expected %u)",
                                opts->version, OFLASH_IMAGE_WRITE_OPTS_VERSION);
    const oflash__format *f = w.format == OFLASH_FORMAT_AUTO ? oflash__format_by_extension(path)
                                                             : oflash__format_get(w.format);
    if (!f && w.format == OFLASH_FORMAT_AUTO)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: cannot tell the output format from the name (expected .hex, "
                                ".srec/.s19/.s28/.s37 or .bin, or a format given)",
                                path);
    if (!f) return oflash_error_set(OFLASH_EINVAL, "%s: unknown format %d", path, (int)w.format);
    if (!f->write)
        return oflash_error_set(OFLASH_EUNSUPPORTED,
                                "%s: writing %s is not supported (expected ihex, srec or bin)",
                                path, f->name);
    w.format = f->id;
    if (oflash_image_segment_count(img) == 0 && !(w.format == OFLASH_FORMAT_BIN && w.fill))
        return oflash_error_set(OFLASH_EINVAL, "%s: the image is empty; nothing to write", path);

    size_t pl = strlen(path);
    tmp = malloc(pl + 8);
    o.buf = malloc(OUT_BUF);
    if (!tmp || !o.buf) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }
    o.cap = OUT_BUF;
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".XXXXXX", 8);
    o.fd = mkstemp(tmp);
    if (o.fd < 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot create a temporary file next to it: %s", path,
                              strerror(errno));
        goto out;
    }
    created = true;
    mode_t um = umask(0);
    umask(um);
    if (fchmod(o.fd, 0666 & ~um) < 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot set the file's permissions: %s", path,
                              strerror(errno));
        oflash__error_detail("temporary file %s", tmp);
        goto out;
    }
    rc = f->write(img, &o, &w);
    if (!rc) rc = oflash__out_flush(&o);
    /* Every step checked.  No fsync(): like objcopy and srec_cat, an image
     * output is not forced to the disk (it would double the time of a 1 MiB
     * conversion); the device store and the simulated chip's file are. */
    if (close(o.fd) < 0 && !rc)
        rc = oflash_error_set(OFLASH_EIO,
                              "%s: write failed: %s (nothing was written: the file is unchanged "
                              "or absent)",
                              path, strerror(errno));
    o.fd = -1;
    if (!rc && rename(tmp, path) < 0)
        rc = oflash_error_set(OFLASH_EIO,
                              "%s: cannot replace it with the new file: %s (nothing was "
                              "written: the file is unchanged or absent)",
                              path, strerror(errno));
out:
    if (o.fd >= 0) close(o.fd);
    if (rc && created) unlink(tmp);
    free(tmp);
    free(o.buf);
    return rc;
}
