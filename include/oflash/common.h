/*
 * oflash/common.h - what every public header shares: the export macros, the
 * library version, and the conventions of the API.
 *
 * Conventions (every public function and callback follows them):
 *  - A function returns 0 or a negative oflash_error_code and sets a message
 *    (oflash/error.h); functions that cannot fail return a value or void.
 *  - Output arguments come first, before the object the function works on
 *    and before its inputs: oflash_devdb_find(&dev, db, name),
 *    oflash_probe_read_mem(buf, probe, addr, len).
 *  - A callback takes its context pointer first, then its outputs, then
 *    its inputs, whatever the callback does: progress(ctx, phase, done,
 *    total), view.crc32(ctx, &crc, addr, len).  Ops tables (oflash/sys/)
 *    take the object they serve first in the same place.
 *  - Options structs start with `unsigned version`; initialise them with
 *    their _INIT macro (which sets the version and the defaults) and then
 *    set the fields you need.  Passing NULL for an options pointer means
 *    "all defaults".  The macros are designated initializers ({.version =
 *    ...}; every other field is zero, its default): C99 and later, C++20
 *    (where g++ -Wextra warns about the omitted fields; in older C++ write
 *    `oflash_x_opts o{}; o.version = OFLASH_X_OPTS_VERSION;`).
 *
 * Symbols: liboflash exports only the functions declared between
 * OFLASH_BEGIN_DECLS and OFLASH_END_DECLS in these headers (the library is
 * built with -fvisibility=hidden); all exported names start with "oflash_".
 */
#ifndef OFLASH_COMMON_H
#define OFLASH_COMMON_H

/* The version of the headers.  oflash_version() gives the library's. */
#define OFLASH_VERSION_MAJOR 0
#define OFLASH_VERSION_MINOR 1
#define OFLASH_VERSION_PATCH 0
#define OFLASH_VERSION_STRING "0.1.0"
/* One number to compare: 0x000100 for 0.1.0. */
#define OFLASH_VERSION_NUMBER                                                                      \
    ((OFLASH_VERSION_MAJOR << 16) | (OFLASH_VERSION_MINOR << 8) | OFLASH_VERSION_PATCH)

/* Marks one declaration as exported, for a declaration outside an
 * OFLASH_BEGIN_DECLS block (declarations inside one are exported already). */
#if defined(__GNUC__) || defined(__clang__)
#define OFLASH_API __attribute__((visibility("default")))
#define OFLASH_VISIBILITY_PUSH_ _Pragma("GCC visibility push(default)")
#define OFLASH_VISIBILITY_POP_ _Pragma("GCC visibility pop")
#else
#define OFLASH_API
#define OFLASH_VISIBILITY_PUSH_
#define OFLASH_VISIBILITY_POP_
#endif

/* Open and close the declarations of a public header: C linkage for C++
 * and default (exported) visibility for everything declared between. */
#ifdef __cplusplus
#define OFLASH_BEGIN_DECLS                                                                         \
    OFLASH_VISIBILITY_PUSH_ extern "C"                                                             \
    {
#define OFLASH_END_DECLS                                                                           \
    }                                                                                              \
    OFLASH_VISIBILITY_POP_
#else
#define OFLASH_BEGIN_DECLS OFLASH_VISIBILITY_PUSH_
#define OFLASH_END_DECLS OFLASH_VISIBILITY_POP_
#endif

OFLASH_BEGIN_DECLS

/* The version of the library linked in ("0.1.0"); compare with
 * OFLASH_VERSION_STRING to detect a header/library mismatch. */
const char *oflash_version(void);

/* The same as numbers; any pointer may be NULL. */
void oflash_version_numbers(int *major, int *minor, int *patch);

OFLASH_END_DECLS

#endif
