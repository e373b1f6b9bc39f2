/*
 * fuzz_roundtrip.h - shared by the reader fuzz targets: load the input;
 * when it loads, write the image with a writer into a memory file, read
 * that back, and require the same segments and entry point (an oracle
 * beyond "does not crash").
 */
#ifndef OFLASH_FUZZ_ROUNDTRIP_H
#define OFLASH_FUZZ_ROUNDTRIP_H

#include "image/image_internal.h"
#include "oflash/image.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*fuzz_writer)(const oflash_image *, oflash__out *, const oflash_image_write_opts *);

static void fuzz_same(const oflash_image *a, const oflash_image *b)
{
    uint32_t ea = 0, eb = 0;
    if (oflash_image_segment_count(a) != oflash_image_segment_count(b)) abort();
    for (size_t i = 0; i < oflash_image_segment_count(a); i++) {
        const oflash_segment *x = oflash_image_segment(a, i), *y = oflash_image_segment(b, i);
        if (x->addr != y->addr || x->size != y->size || memcmp(x->data, y->data, x->size)) abort();
    }
    /* S-records always end with a start address; "none" is written as 0. */
    bool ha = oflash_image_entry(&ea, a), hb = oflash_image_entry(&eb, b);
    if (ha ? (!hb || ea != eb) : (hb && eb != 0)) abort();
}

static int fuzz_roundtrip(const uint8_t *data, size_t size, oflash_image_format fmt,
                          fuzz_writer writer, unsigned record_size)
{
    oflash_image *img = NULL, *back = NULL;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    oflash_image_write_opts wo = OFLASH_IMAGE_WRITE_OPTS_INIT;
    wo.record_size = record_size;
    lo.format = fmt;
    lo.allow_identical_overlap = size & 1; /* exercise both overlap policies */
    if (oflash_image_new(&img)) return 0;
    if (oflash_image_load_mem(img, data, size, "fuzz", &lo) == 0 && writer) {
        /* Only images of modest size: the writer's output is ~3x the data. */
        if (oflash_image_size(img) <= (1u << 20)) {
            int fd = memfd_create("fuzz", 0);
            char *buf = malloc(1 << 16);
            oflash__out o = {.fd = fd, .buf = buf, .cap = 1 << 16, .path = "fuzz-out"};
            if (fd >= 0 && buf && writer(img, &o, &wo) == 0 && oflash__out_flush(&o) == 0) {
                struct stat st;
                if (fstat(fd, &st) == 0 && st.st_size > 0) {
                    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                    if (m == MAP_FAILED) abort();
                    oflash_image_load_opts l2 = OFLASH_IMAGE_LOAD_OPTS_INIT;
                    if (oflash_image_new(&back) ||
                        oflash_image_load_mem(back, m, (size_t)st.st_size, "back", &l2))
                        abort(); /* what we write, we must read */
                    fuzz_same(img, back);
                    oflash_image_free(back);
                    munmap(m, (size_t)st.st_size);
                }
            }
            free(buf);
            if (fd >= 0) close(fd);
        }
    }
    oflash_image_free(img);
    return 0;
}

#endif
