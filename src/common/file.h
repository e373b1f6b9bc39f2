/*
 * file.h - opening input files safely, shared by every reader of files the
 * user names (images, device files, packs, FLM loaders, simulated chips).
 *
 * An input is opened with O_NONBLOCK and checked with fstat() before
 * anything is read: a FIFO, a character or block device, a socket or a
 * directory is refused at once with a clear message, instead of blocking
 * forever in open() (a FIFO with no writer) or read().  O_NONBLOCK is then
 * cleared, so regular files read as usual.
 */
#ifndef OFLASH_COMMON_FILE_H
#define OFLASH_COMMON_FILE_H

#include <sys/stat.h>

/* Open path (flags: O_RDONLY or O_RDWR, O_CLOEXEC is added) as a regular
 * file.  what names the kind of file in messages ("image", "device file").
 * Returns 0 with *fd open and *st filled, or a negative oflash error code
 * with the message set and *fd = -1. */
int oflash__open_regular(int *fd, struct stat *st, const char *path, int flags, const char *what);

/* "a FIFO", "a directory", ... for st_mode. */
const char *oflash__file_kind(mode_t mode);

#endif
