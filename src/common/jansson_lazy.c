/*
 * jansson_lazy.c - the jansson functions oflash uses to write JSON, loaded
 * on first use (see lazylib.h).  Prototypes come from <jansson.h>; its
 * inline helpers (json_decref, ...) call these.  Add a function here when
 * you need one more, rather than linking libjansson a second time.
 */
#include <jansson.h>

#include "common/lazylib.h"

static oflash_lazylib jl = OFLASH_LAZYLIB_INIT("libjansson.so.4", "libjansson4");

OFLASH_LAZY_FN(jl, json_t *, NULL, json_object, (void), ())
OFLASH_LAZY_FN(jl, json_t *, NULL, json_array, (void), ())
OFLASH_LAZY_FN(jl, json_t *, NULL, json_string, (const char *value), (value))
OFLASH_LAZY_FN(jl, json_t *, NULL, json_integer, (json_int_t value), (value))
OFLASH_LAZY_FN(jl, json_t *, NULL, json_real, (double value), (value))
OFLASH_LAZY_FN(jl, json_t *, NULL, json_true, (void), ())
OFLASH_LAZY_FN(jl, json_t *, NULL, json_false, (void), ())
OFLASH_LAZY_FN(jl, json_t *, NULL, json_null, (void), ())
OFLASH_LAZY_VOID(jl, json_delete, (json_t * json), (json))
OFLASH_LAZY_FN(jl, int, -1, json_object_set_new, (json_t * object, const char *key, json_t *value),
               (object, key, value))
OFLASH_LAZY_FN(jl, int, -1, json_array_append_new, (json_t * array, json_t *value), (array, value))
OFLASH_LAZY_FN(jl, int, -1, json_dump_callback,
               (const json_t *json, json_dump_callback_t callback, void *data, size_t flags),
               (json, callback, data, flags))
