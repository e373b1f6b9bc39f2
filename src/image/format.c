/*
 * format.c - the format table: every supported image format once, with
 * its names, output extensions, how it is recognised from its first bytes,
 * its reader and its writer.  Nothing else in src/image/ (or the CLI)
 * lists the formats: adding a format is one entry here plus its file.
 */
#include "image_internal.h"

#include <string.h>
#include <strings.h>

/* ELF: the magic 7F 'E' 'L' 'F'. */
static bool elf_sniff(const uint8_t *p, size_t n)
{
    return n >= 4 && p[0] == 0x7F && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
}

/* Index of the first byte after leading blank lines and spaces. */
static size_t skip_space(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == '\n' || p[i] == '\r' || p[i] == ' ' || p[i] == '\t'))
        i++;
    return i;
}

/* Intel HEX: the first record starts with ':'. */
static bool ihex_sniff(const uint8_t *p, size_t n)
{
    size_t i = skip_space(p, n);
    return i < n && p[i] == ':';
}

/* S-record: 'S' (or 's') and a type digit. */
static bool srec_sniff(const uint8_t *p, size_t n)
{
    size_t i = skip_space(p, n);
    return i + 1 < n && (p[i] == 'S' || p[i] == 's') && p[i + 1] >= '0' && p[i + 1] <= '9';
}

static const char *const ihex_names[] = {"ihex", "hex", NULL};
static const char *const ihex_ext[] = {".hex", ".ihex", ".ihx", NULL};
static const char *const srec_names[] = {"srec", "s19", NULL};
static const char *const srec_ext[] = {".srec", ".s19", ".s28", ".s37", ".mot", NULL};
static const char *const elf_names[] = {"elf", NULL};
static const char *const elf_ext[] = {NULL};
static const char *const bin_names[] = {"bin", "binary", NULL};
static const char *const bin_ext[] = {".bin", NULL};

/* In sniffing order; binary has no signature and is never sniffed. */
static const oflash__format formats[] = {
    {OFLASH_FORMAT_ELF, "ELF", elf_names, elf_ext, OFLASH__WHERE_SEGMENT, false, elf_sniff,
     oflash__elf_read, NULL},
    {OFLASH_FORMAT_IHEX, "Intel HEX", ihex_names, ihex_ext, OFLASH__WHERE_LINE, true, ihex_sniff,
     oflash__ihex_read, oflash__ihex_write},
    {OFLASH_FORMAT_SREC, "S-record", srec_names, srec_ext, OFLASH__WHERE_LINE, true, srec_sniff,
     oflash__srec_read, oflash__srec_write},
    {OFLASH_FORMAT_BIN, "binary", bin_names, bin_ext, OFLASH__WHERE_NONE, false, NULL,
     oflash__bin_read, oflash__bin_write},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

const oflash__format *oflash__format_get(oflash_image_format id)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].id == id) return &formats[i];
    return NULL;
}

const oflash__format *oflash__format_sniff(const uint8_t *head, size_t n)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (formats[i].sniff && formats[i].sniff(head, n)) return &formats[i];
    return NULL;
}

const oflash__format *oflash__format_by_extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return NULL;
    for (size_t i = 0; i < NFORMATS; i++)
        for (const char *const *e = formats[i].extensions; *e; e++)
            if (!strcasecmp(dot, *e)) return &formats[i];
    return NULL;
}

const char *oflash_image_format_name(oflash_image_format id)
{
    const oflash__format *f = oflash__format_get(id);
    return f ? f->name : "auto";
}

int oflash_image_format_parse(oflash_image_format *out, const char *name)
{
    if (!strcasecmp(name, "auto")) {
        *out = OFLASH_FORMAT_AUTO;
        return 0;
    }
    for (size_t i = 0; i < NFORMATS; i++)
        for (const char *const *n = formats[i].names; *n; n++)
            if (!strcasecmp(name, *n)) {
                *out = formats[i].id;
                return 0;
            }
    return oflash_error_set(OFLASH_EINVAL, "unknown format '%s' (expected ihex, srec, elf or bin)",
                            name);
}

int oflash_image_format_for_path(oflash_image_format *out, const char *path)
{
    const oflash__format *f = oflash__format_by_extension(path);
    if (!f)
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "%s: the name does not tell the format (expected .hex, "
                                ".srec/.s19/.s28/.s37/.mot or .bin)",
                                path);
    *out = f->id;
    return 0;
}
