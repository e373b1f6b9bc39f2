/*
 * error.c - per-thread last error message and the log callback.
 *
 * Invariant: msg is always NUL terminated; code is 0 exactly when no error
 * has been set since the last oflash_error_clear().
 */
#include "oflash/error.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define OFLASH_ERR_MAX 2048

static _Thread_local char err_msg[OFLASH_ERR_MAX];
static _Thread_local char err_detail[512];
static _Thread_local int err_code;

/* The handler and its context change together under log_lock. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static oflash_log_fn log_fn;
static void *log_ctx;

const char *oflash_error_last(void)
{
    return err_msg;
}

int oflash_error_last_code(void)
{
    return err_code;
}

const char *oflash_error_detail(void)
{
    return err_detail;
}

int oflash__error_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_detail, sizeof err_detail, fmt, ap);
    va_end(ap);
    return err_code;
}

int oflash_error_vset(int code, const char *fmt, va_list ap)
{
    err_detail[0] = '\0';
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    err_code = code;
    return code;
}

int oflash_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    oflash_error_vset(code, fmt, ap);
    va_end(ap);
    return code;
}

int oflash_error_prefix(const char *fmt, ...)
{
    char pre[512], old[OFLASH_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    /* pre + old, truncated to fit; memcpy keeps gcc's truncation check quiet */
    size_t np = strlen(pre), no = strlen(err_msg);
    if (np > sizeof old - 1)
        np = sizeof old - 1;
    if (no > sizeof old - 1 - np)
        no = sizeof old - 1 - np;
    memcpy(old, pre, np);
    memcpy(old + np, err_msg, no);
    old[np + no] = '\0';
    memcpy(err_msg, old, np + no + 1);
    if (err_code == 0)
        err_code = OFLASH_ERROR;
    return err_code;
}

void oflash_error_clear(void)
{
    err_detail[0] = '\0';
    err_msg[0] = '\0';
    err_code = 0;
}

const char *oflash_error_name(int code)
{
    switch (code) {
    case OFLASH_OK: return "ok";
    case OFLASH_ENOMEM: return "out of memory";
    case OFLASH_EINVAL: return "invalid argument";
    case OFLASH_EIO: return "I/O error";
    case OFLASH_EFORMAT: return "format error";
    case OFLASH_EOVERLAP: return "overlap";
    case OFLASH_ERANGE: return "address out of range";
    case OFLASH_ETIMEOUT: return "timeout";
    case OFLASH_ETARGET: return "target error";
    case OFLASH_ECONFLICT: return "conflict";
    case OFLASH_EVERIFY: return "verify failed";
    case OFLASH_EPROTO: return "protocol error";
    case OFLASH_ELINK: return "link lost";
    case OFLASH_ENOTFOUND: return "not found";
    case OFLASH_EUNSUPPORTED: return "unsupported";
    case OFLASH_EPROTECTED: return "protected";
    case OFLASH_EMISMATCH: return "device mismatch";
    case OFLASH_EINTERRUPTED: return "interrupted";
    default: return "error";
    }
}

void oflash_log_set_handler(oflash_log_fn fn, void *ctx)
{
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ctx = ctx;
    pthread_mutex_unlock(&log_lock);
}

void oflash_log(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    oflash_log_fn fn;
    void *ctx;
    pthread_mutex_lock(&log_lock);
    fn = log_fn;
    ctx = log_ctx;
    pthread_mutex_unlock(&log_lock);
    if (!fn) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(ctx, level, buf);
}
