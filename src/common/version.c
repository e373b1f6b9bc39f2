/*
 * version.c - the library's version, from include/oflash/common.h (the one
 * place it is written; CMakeLists.txt reads it from there too).
 */
#include "oflash/common.h"

const char *oflash_version(void)
{
    return OFLASH_VERSION_STRING;
}

void oflash_version_numbers(int *major, int *minor, int *patch)
{
    if (major) *major = OFLASH_VERSION_MAJOR;
    if (minor) *minor = OFLASH_VERSION_MINOR;
    if (patch) *patch = OFLASH_VERSION_PATCH;
}
