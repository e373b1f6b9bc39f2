/*
 * target_xml.c - the two XML documents oflash gdbserver offers: the target
 * description (qXfer:features:read:target.xml) and the memory map
 * (qXfer:memory-map:read).
 *
 * Follows "Debugging with GDB" (GDB 12/13) appendix G "Target
 * Descriptions" (features org.gnu.gdb.arm.m-profile and
 * org.gnu.gdb.arm.m-system) and "Memory Map Format": flash regions carry
 * their erase block size; gdb rejects overlapping regions.
 */
#include "gdb/gdb_internal.h"
#include "oflash/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct doc {
    char *d;
    size_t len, cap;
} doc;

static int doc_init(doc *x, size_t cap)
{
    x->d = malloc(cap);
    x->len = 0;
    x->cap = cap;
    if (!x->d) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    x->d[0] = '\0';
    return 0;
}

static int append(doc *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int append(doc *x, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(x->d + x->len, x->cap - x->len, fmt, ap);
        va_end(ap);
        if (n < 0) return OFLASH_ERROR;
        if ((size_t)n < x->cap - x->len) break;
        {
            char *nd = realloc(x->d, x->cap * 2 + (size_t)n);
            if (!nd) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            x->d = nd;
            x->cap = x->cap * 2 + (size_t)n;
        }
    }
    x->len += (size_t)n;
    return 0;
}

static int finish(doc *x, int rc, char **out, size_t *len)
{
    if (rc < 0) {
        free(x->d);
        return rc;
    }
    *out = x->d;
    *len = x->len;
    return 0;
}

int oflash__gdb_tdesc_xml(char **out, size_t *len, bool msp_psp)
{
    doc x;
    int rc = doc_init(&x, 2048);
    if (rc < 0) return rc;
    rc = append(&x, "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                    "<target version=\"1.0\">\n<architecture>arm</architecture>\n"
                    "<feature name=\"org.gnu.gdb.arm.m-profile\">\n");
    for (int i = 0; rc == 0 && i <= 12; i++)
        rc = append(&x, "<reg name=\"r%d\" bitsize=\"32\" regnum=\"%d\"/>\n", i, i);
    if (rc == 0)
        rc = append(&x, "<reg name=\"sp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"13\"/>\n"
                        "<reg name=\"lr\" bitsize=\"32\" regnum=\"14\"/>\n"
                        "<reg name=\"pc\" bitsize=\"32\" type=\"code_ptr\" regnum=\"15\"/>\n"
                        "<reg name=\"xpsr\" bitsize=\"32\" regnum=\"16\"/>\n</feature>\n");
    if (rc == 0 && msp_psp)
        rc = append(&x, "<feature name=\"org.gnu.gdb.arm.m-system\">\n"
                        "<reg name=\"msp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"17\"/>\n"
                        "<reg name=\"psp\" bitsize=\"32\" type=\"data_ptr\" regnum=\"18\"/>\n"
                        "</feature>\n");
    if (rc == 0) rc = append(&x, "</target>\n");
    return finish(&x, rc, out, len);
}

typedef struct mregion {
    uint32_t start, length, blocksize;
    const char *type;
} mregion;

static int cmp_region(const void *a, const void *b)
{
    const mregion *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int add_region(mregion **r, size_t *n, size_t *cap, uint32_t start, uint32_t length,
                      uint32_t blocksize, const char *type)
{
    if (*n == *cap) {
        mregion *nr = realloc(*r, 2 * *cap * sizeof **r);
        if (!nr) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        *r = nr;
        *cap *= 2;
    }
    (*r)[*n].start = start;
    (*r)[*n].length = length;
    (*r)[*n].blocksize = blocksize;
    (*r)[*n].type = type;
    (*n)++;
    return 0;
}

int oflash__gdb_memory_map_xml(char **out, size_t *len, const oflash_device *dev)
{
    size_t n = 0, cap = 16;
    mregion *r = malloc(cap * sizeof *r);
    doc x;
    int rc;
    if (!r) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if ((rc = doc_init(&x, 4096)) < 0) {
        free(r);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < dev->region_count; i++) {
        const oflash_region *g = &dev->regions[i];
        rc = add_region(&r, &n, &cap, g->base, g->size, 0,
                        g->kind == OFLASH_REGION_RAM || g->kind == OFLASH_REGION_PERIPH ? "ram"
                                                                                        : "rom");
    }
    for (size_t b = 0; rc == 0 && b < dev->bank_count; b++) {
        const oflash_bank *k = &dev->banks[b];
        if (k->kind != OFLASH_BANK_FLASH || !k->sector_count) {
            /* OTP and lock bytes: one block (never erased). */
            rc = add_region(&r, &n, &cap, k->base, k->size, k->size, "flash");
            continue;
        }
        /* Runs of equal sector size, each a region with that blocksize. */
        for (size_t i = 0; rc == 0 && i < k->sector_count;) {
            size_t j = i;
            uint32_t total = 0;
            while (j < k->sector_count && k->sectors[j].size == k->sectors[i].size &&
                   k->sectors[j].addr == k->sectors[i].addr + total) {
                total += k->sectors[j].size;
                j++;
            }
            rc = add_region(&r, &n, &cap, k->sectors[i].addr, total, k->sectors[i].size, "flash");
            i = j;
        }
    }
    /* Private peripheral bus (SCS, DWT, FPB, DBGMCU): devices omit it. */
    if (rc == 0) rc = add_region(&r, &n, &cap, 0xE0000000u, 0x20000000u, 0, "ram");
    if (rc == 0) {
        qsort(r, n, sizeof *r, cmp_region);
        rc = append(&x, "<?xml version=\"1.0\"?>\n<!DOCTYPE memory-map PUBLIC \"+//IDN "
                        "gnu.org//DTD GDB Memory Map V1.0//EN\" \"http://sourceware.org/gdb/"
                        "gdb-memory-map.dtd\">\n<memory-map>\n");
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        /* Skip a region overlapping the previous one (gdb rejects overlaps). */
        if (i && (uint64_t)r[i - 1].start + r[i - 1].length > r[i].start) continue;
        if (r[i].blocksize)
            rc = append(&x,
                        "<memory type=\"flash\" start=\"0x%08x\" length=\"0x%x\">\n"
                        "<property name=\"blocksize\">0x%x</property>\n</memory>\n",
                        r[i].start, r[i].length, r[i].blocksize);
        else
            rc = append(&x, "<memory type=\"%s\" start=\"0x%08x\" length=\"0x%x\"/>\n", r[i].type,
                        r[i].start, r[i].length);
    }
    if (rc == 0) rc = append(&x, "</memory-map>\n");
    free(r);
    return finish(&x, rc, out, len);
}
