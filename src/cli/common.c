/* common.c - helpers shared by the oflash subcommands. */
#include "cli.h"
#include "oflash/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool cli_quiet;

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("oflash: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(void)
{
    const char *m = oflash_error_last();
    cli_error("%s", m[0] ? m : "operation failed");
    return EXIT_FAIL;
}

int cli_fail_ctx(const char *fmt, ...)
{
    va_list ap;
    const char *m = oflash_error_last();
    fputs("oflash: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s\n", m[0] ? m : "operation failed");
    return EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("oflash: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'oflash %s --help')\n", cmd);
    return EXIT_USAGE;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (*end == 'K' || *end == 'k') {
        if (v > (~0ull >> 10))
            return false;
        v <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        if (v > (~0ull >> 20))
            return false;
        v <<= 20;
        end++;
    }
    if (*end)
        return false;
    *out = v;
    return true;
}

bool cli_parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(s, &v) || v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

bool cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value, bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0')
        return false;
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", name);
        *bad = true;
        return true;
    }
    *value = argv[++*i];
    return true;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
