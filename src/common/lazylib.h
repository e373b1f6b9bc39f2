/*
 * lazylib.h - define a shared library's functions as forwarders that load
 * the library with dlopen() the first time one of them is called.
 *
 * Why: libunicorn, libxml2 (with ICU) and libzip (with libcrypto) cost every
 * oflash process tens of milliseconds of relocation and several MiB of
 * memory at start-up, although most commands never use them (oflash info
 * and convert use none).  A file that includes the library's own header and
 * then defines each function it uses with OFLASH_LAZY_FN keeps the exact
 * prototypes (a mismatch is a compile error) and links without the library.
 *
 * Invariant: a forwarder's cached pointer is either NULL or the real
 * function; when the library cannot be loaded, forwarders return their
 * `fail` value and oflash__lazylib_error() says why.
 */
#ifndef OFLASH_LAZYLIB_H
#define OFLASH_LAZYLIB_H

#include <pthread.h>

typedef struct oflash_lazylib {
    const char *soname;   /* "libxml2.so.2" */
    const char *package;  /* Debian package to install when it is missing */
    pthread_once_t once;
    void *handle;
    char error[256];
} oflash_lazylib;

#define OFLASH_LAZYLIB_INIT(soname, package) {soname, package, PTHREAD_ONCE_INIT, 0, {0}}

/* The address of symbol name in lib, loading lib on first use; NULL if the
 * library or the symbol is missing (see oflash__lazylib_error). */
void *oflash__lazylib_sym(oflash_lazylib *lib, const char *name);
const char *oflash__lazylib_error(oflash_lazylib *lib);

/* ret name params: forwards args to the real name, or returns fail. */
#define OFLASH_LAZY_FN(lib, ret, fail, name, params, args)                                 \
    ret name params                                                                        \
    {                                                                                      \
        static ret(*real_) params;                                                         \
        ret(*f_) params = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);                        \
        if (!f_) {                                                                         \
            *(void **)&f_ = oflash__lazylib_sym(&(lib), #name);                            \
            if (!f_)                                                                       \
                return fail;                                                               \
            __atomic_store_n(&real_, f_, __ATOMIC_RELEASE);                                \
        }                                                                                  \
        return f_ args;                                                                    \
    }

#define OFLASH_LAZY_VOID(lib, name, params, args)                                          \
    void name params                                                                       \
    {                                                                                      \
        static void(*real_) params;                                                        \
        void(*f_) params = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);                       \
        if (!f_) {                                                                         \
            *(void **)&f_ = oflash__lazylib_sym(&(lib), #name);                            \
            if (!f_)                                                                       \
                return;                                                                    \
            __atomic_store_n(&real_, f_, __ATOMIC_RELEASE);                                \
        }                                                                                  \
        f_ args;                                                                           \
    }

#endif
