/*
 * devstore.c - the user's device store ($XDG_CONFIG_HOME/oflash/devices):
 * where it is, and importing a .pack into it.  An import checks the whole
 * pack first, then copies it to a temporary file in the store, fsyncs it
 * and renames it into place: every write, fsync, close and rename is
 * checked, and on any failure the temporary file is removed, so the store
 * never holds a partial pack.
 */
#include "devfile_internal.h"
#include "oflash/error.h"
#include "common/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int oflash_devstore_dir(char *buf, size_t len)
{
    const char *x = getenv("XDG_CONFIG_HOME");
    const char *h = getenv("HOME");
    int n;
    if (x && x[0] == '/')
        n = snprintf(buf, len, "%s/oflash/devices", x);
    else if (h && h[0])
        n = snprintf(buf, len, "%s/.config/oflash/devices", h);
    else
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "no device store: neither $XDG_CONFIG_HOME nor $HOME is set");
    if (n < 0 || (size_t)n >= len)
        return oflash_error_set(OFLASH_EINVAL, "device store path too long");
    return 0;
}

static int df_mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            *p = '/';
            return oflash_error_set(OFLASH_EIO, "cannot create %s: %s", path, strerror(e));
        }
        *p = '/';
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return oflash_error_set(OFLASH_EIO, "cannot create %s: %s", path, strerror(errno));
    return 0;
}

int oflash_devstore_import(char *dest, size_t dest_len, const char *path)
{
    return oflash_devstore_import_report(NULL, dest, dest_len, path);
}

int oflash_devstore_import_report(oflash_devfile_report *report, char *dest, size_t dest_len,
                                  const char *path)
{
    char dir[PATH_MAX], final[PATH_MAX], tmp[PATH_MAX];
    const char *base = strrchr(path, '/');
    oflash_devdb *db = NULL;
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    o.no_user_paths = true;
    int rc, in = -1, out = -1;
    char chunk[65536];
    bool is_pack = false;
    struct stat st;
    base = base ? base + 1 : path;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return oflash_error_set(OFLASH_EINVAL, "%s: not a file name", path);
    if ((rc = df_file_is_pack(path, &is_pack)) < 0) return rc;
    if (!is_pack) {
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: only .pack files (zip) can be imported: a device file names "
                                "its loaders by path, use it with --devices or $OFLASH_DEVICES",
                                path);
    }
    /* Check everything before the store is touched. */
    if ((rc = oflash_devdb_open(&db, &o)) < 0) return rc;
    rc = report ? oflash_devdb_add_file_report(report, db, path) : oflash_devdb_add_file(db, path);
    oflash_devdb_free(db);
    if (rc < 0) return rc;
    if ((rc = oflash_devstore_dir(dir, sizeof dir)) < 0 || (rc = df_mkdirs(dir)) < 0) return rc;
    if (snprintf(final, sizeof final, "%s/%s", dir, base) >= (int)sizeof final ||
        snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, base, (long)getpid()) >= (int)sizeof tmp)
        return oflash_error_set(OFLASH_EINVAL, "%s: path too long", path);
    if ((rc = oflash__open_regular(&in, &st, path, O_RDONLY, "a .pack file")) < 0) return rc;
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = oflash_error_set(OFLASH_EIO, "cannot create a file in the device store %s: %s", dir,
                              strerror(errno));
        close(in);
        return rc;
    }
    for (;;) {
        ssize_t r = read(in, chunk, sizeof chunk), w = 0;
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        while (w < r) {
            ssize_t k = write(out, chunk + w, (size_t)(r - w));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                rc = oflash_error_set(OFLASH_EIO,
                                      "cannot write %s into the device store %s: %s (nothing "
                                      "was imported)",
                                      base, dir, k < 0 ? strerror(errno) : "no progress");
                break;
            }
            w += k;
        }
        if (rc < 0) break;
    }
    close(in);
    if (rc == 0 && fsync(out) < 0)
        rc = oflash_error_set(OFLASH_EIO,
                              "cannot write %s into the device store %s: fsync: %s (nothing "
                              "was imported)",
                              base, dir, strerror(errno));
    if (close(out) < 0 && rc == 0)
        rc = oflash_error_set(OFLASH_EIO,
                              "cannot write %s into the device store %s: %s (nothing was "
                              "imported)",
                              base, dir, strerror(errno));
    if (rc == 0 && rename(tmp, final) < 0)
        rc = oflash_error_set(OFLASH_EIO, "cannot put %s into the device store %s: %s", base, dir,
                              strerror(errno));
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    if (dest && dest_len) snprintf(dest, dest_len, "%s", final);
    return 0;
}
