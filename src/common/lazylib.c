/* lazylib.c - dlopen() on first use; see lazylib.h. */
#include "lazylib.h"

#include <dlfcn.h>
#include <stdio.h>

static _Thread_local oflash_lazylib *loading;

static void load(void)
{
    oflash_lazylib *lib = loading;
    lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle)
        snprintf(lib->error, sizeof lib->error, "cannot load %s (%s; install %s)", lib->soname,
                 dlerror(), lib->package);
}

void *oflash__lazylib_sym(oflash_lazylib *lib, const char *name)
{
    void *sym;
    loading = lib;
    pthread_once(&lib->once, load);
    if (!lib->handle)
        return NULL;
    sym = dlsym(lib->handle, name);
    if (!sym)
        snprintf(lib->error, sizeof lib->error, "%s has no symbol %s", lib->soname, name);
    return sym;
}

const char *oflash__lazylib_error(oflash_lazylib *lib)
{
    return lib->error;
}
