/* file.c - opening input files without blocking; see file.h. */
#include "file.h"

#include "oflash/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

const char *oflash__file_kind(mode_t mode)
{
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISREG(mode)) return "a regular file";
    return "not a regular file";
}

int oflash__open_regular(int *fd, struct stat *st, const char *path, int flags, const char *what)
{
    int rc;
    *fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) {
        int e = errno;
        if (e == EISDIR)
            return oflash_error_set(OFLASH_EINVAL,
                                    "%s: is a directory (expected a regular %s file)", path, what);
        return oflash_error_set(e == ENOENT ? OFLASH_ENOTFOUND : OFLASH_EIO, "%s: cannot open: %s",
                                path, strerror(e));
    }
    if (fstat(*fd, st) < 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st->st_mode)) {
        rc = oflash_error_set(OFLASH_EINVAL, "%s: is %s, not a regular file (expected %s)",
                              path, oflash__file_kind(st->st_mode), what);
        goto fail;
    }
    int fl = fcntl(*fd, F_GETFL);
    if (fl < 0 || fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: fcntl failed: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    close(*fd);
    *fd = -1;
    return rc;
}
