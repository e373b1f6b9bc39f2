/*
 * oflash/error.h - error codes and the last error message.
 *
 * Every library function that can fail returns int: 0 on success or a
 * negative oflash_error_code.  The function that detects the failure sets a
 * message (file and line, address, sector or OTP block, and what was
 * expected) that the caller reads back with oflash_error_last().  The message
 * is kept per thread, as in libgit2; the library never prints.
 */
#ifndef OFLASH_ERROR_H
#define OFLASH_ERROR_H

#include "oflash/common.h"

#include <stdarg.h>

OFLASH_BEGIN_DECLS

typedef enum oflash_error_code {
    OFLASH_OK = 0,
    OFLASH_ERROR = -1,        /* generic failure */
    OFLASH_ENOMEM = -2,       /* out of memory */
    OFLASH_EINVAL = -3,       /* bad argument from the caller */
    OFLASH_EIO = -4,          /* host file or device I/O failed */
    OFLASH_EFORMAT = -5,      /* malformed input file */
    OFLASH_EOVERLAP = -6,     /* image data overlaps */
    OFLASH_ERANGE = -7,       /* address outside what is allowed */
    OFLASH_ETIMEOUT = -8,     /* operation did not finish in time */
    OFLASH_ETARGET = -9,      /* the target reported an error (flash SR, fault) */
    OFLASH_ECONFLICT = -10,   /* OTP or other irreversible conflict */
    OFLASH_EVERIFY = -11,     /* verify found a difference */
    OFLASH_EPROTO = -12,      /* protocol violation by a peer (GDB server) */
    OFLASH_ELINK = -13,       /* connection to the probe lost */
    OFLASH_ENOTFOUND = -14,   /* named thing (device, symbol, file) not found */
    OFLASH_EUNSUPPORTED = -15,/* not supported by this target or backend */
    OFLASH_EPROTECTED = -16,  /* write protection, RDP, locked OTP block */
    OFLASH_EMISMATCH = -17,   /* connected chip is not the device asked for */
    OFLASH_EINTERRUPTED = -18 /* stopped by the user (signal) */
} oflash_error_code;

/* The message of the last error set in this thread ("" when none). */
const char *oflash_error_last(void);

/* Internal details of the last error in this thread, for a verbose mode
 * ("" when none): the loader function called and what it returned, the
 * emulator's own error name, a temporary file's name.  The message itself
 * (oflash_error_last) leaves them out.  Cleared by every new error. */
const char *oflash_error_detail(void);

/* The code of the last error set in this thread (0 when none). */
int oflash_error_last_code(void);

/* Set the message and return code, so callers can write
 *   return oflash_error_set(OFLASH_EFORMAT, "%s:%u: bad checksum", f, line); */
int oflash_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int oflash_error_vset(int code, const char *fmt, va_list ap);

/* Prefix the current message with more context ("while erasing sector 3: ")
 * and return the current code. */
int oflash_error_prefix(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

void oflash_error_clear(void);

/* A short name for a code ("format error"). */
const char *oflash_error_name(int code);

/*
 * Warnings and log lines: the library hands them to a callback that the
 * application installs (the CLI prints them to stderr).  Without a callback
 * (NULL, the default) they are dropped.  The callback gets ctx first, then
 * level (OFLASH_LOG_ERROR .. OFLASH_LOG_DEBUG) and the line, NUL-terminated,
 * without a newline, valid only during the call.  It is process-wide and
 * may be called from any thread that calls into the library, also from
 * several at once.  oflash_log_set_handler() may be called at any time
 * from any thread; a call of the old handler that has started completes.
 */
typedef void (*oflash_log_fn)(void *ctx, int level, const char *msg);
void oflash_log_set_handler(oflash_log_fn fn, void *ctx);
void oflash_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#define OFLASH_LOG_ERROR 0
#define OFLASH_LOG_WARN 1
#define OFLASH_LOG_INFO 2
#define OFLASH_LOG_DEBUG 3

OFLASH_END_DECLS
#endif
