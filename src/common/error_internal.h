/*
 * error_internal.h - the detail of the last error (oflash_error_detail):
 * internal names (loader functions, emulator errors, temporary files) that
 * stay out of the message.  Set it after oflash_error_set(), which clears
 * it; returns the current error code.
 */
#ifndef OFLASH_ERROR_INTERNAL_H
#define OFLASH_ERROR_INTERNAL_H

int oflash__error_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
