/*
 * zip_lazy.c - the libzip functions the pack reader uses, loaded on first
 * use (see src/common/lazylib.h): only commands that read packs pay for
 * libzip and libcrypto.  Prototypes come from <zip.h>.
 */
#include <zip.h>

#include "common/lazylib.h"

static oflash_lazylib zl = OFLASH_LAZYLIB_INIT("libzip.so.4", "libzip4");

OFLASH_LAZY_VOID(zl, zip_discard, (zip_t *za), (za))
OFLASH_LAZY_VOID(zl, zip_error_fini, (zip_error_t *e), (e))
OFLASH_LAZY_VOID(zl, zip_error_init, (zip_error_t *e), (e))
OFLASH_LAZY_VOID(zl, zip_error_init_with_code, (zip_error_t *e, int code), (e, code))
OFLASH_LAZY_FN(zl, const char *, oflash__lazylib_error(&zl), zip_error_strerror, (zip_error_t *e),
               (e))
OFLASH_LAZY_FN(zl, int, -1, zip_fclose, (zip_file_t *f), (f))
OFLASH_LAZY_FN(zl, const char *, oflash__lazylib_error(&zl), zip_file_strerror, (zip_file_t *f),
               (f))
OFLASH_LAZY_FN(zl, zip_file_t *, NULL, zip_fopen_index,
               (zip_t *za, zip_uint64_t index, zip_flags_t flags), (za, index, flags))
OFLASH_LAZY_FN(zl, zip_int64_t, -1, zip_fread, (zip_file_t *f, void *buf, zip_uint64_t n),
               (f, buf, n))
OFLASH_LAZY_FN(zl, const char *, NULL, zip_get_name,
               (zip_t *za, zip_uint64_t index, zip_flags_t flags), (za, index, flags))
OFLASH_LAZY_FN(zl, zip_int64_t, -1, zip_get_num_entries, (zip_t *za, zip_flags_t flags),
               (za, flags))
OFLASH_LAZY_FN(zl, zip_int64_t, -1, zip_name_locate,
               (zip_t *za, const char *name, zip_flags_t flags), (za, name, flags))
OFLASH_LAZY_FN(zl, zip_t *, NULL, zip_open, (const char *path, int flags, int *errorp),
               (path, flags, errorp))
OFLASH_LAZY_FN(zl, zip_t *, NULL, zip_open_from_source,
               (zip_source_t *src, int flags, zip_error_t *error), (src, flags, error))
OFLASH_LAZY_FN(zl, zip_source_t *, NULL, zip_source_buffer_create,
               (const void *data, zip_uint64_t len, int freep, zip_error_t *error),
               (data, len, freep, error))
OFLASH_LAZY_VOID(zl, zip_source_free, (zip_source_t *src), (src))
OFLASH_LAZY_FN(zl, int, -1, zip_stat_index,
               (zip_t *za, zip_uint64_t index, zip_flags_t flags, zip_stat_t *st),
               (za, index, flags, st))
OFLASH_LAZY_VOID(zl, zip_stat_init, (zip_stat_t *st), (st))
OFLASH_LAZY_FN(zl, const char *, oflash__lazylib_error(&zl), zip_strerror, (zip_t *za), (za))
