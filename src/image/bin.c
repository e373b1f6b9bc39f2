/*
 * bin.c - raw binary reader ("fw.bin@0x08000000") and writer.
 *
 * A binary carries no addresses, so the reader needs a base address and the
 * writer refuses to flatten a sparse image unless the user asks for it with
 * a fill byte and an explicit range: a sparse image with data in flash and
 * OTP would otherwise become a 400 MB file of padding.
 */
#include "image_internal.h"

#include <inttypes.h>
#include <string.h>

int oflash__bin_read(const oflash__src *src, oflash__load *ld, uint32_t base)
{
    if (ld->locate) return 0;
    uint8_t *p = oflash__load_reserve(ld, base, src->size, 0);
    if (!p) return oflash_error_last_code();
    return oflash__src_pread(src, p, (size_t)src->size, 0);
}

int oflash__bin_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w)
{
    size_t n = oflash_image_segment_count(img);
    uint64_t start, end;
    if (w->have_range) {
        start = w->range_start;
        end = w->range_end ? w->range_end : 0x100000000ull;
        if (end <= start)
            return oflash_error_set(OFLASH_EINVAL,
                                    "range 0x%08" PRIX64 ":0x%08" PRIX64 " is empty (expected "
                                    "START below END)",
                                    start, end);
    } else if (n == 1 || (n > 1 && w->fill)) {
        if (n > 1)
            return oflash_error_set(OFLASH_EINVAL,
                                    "%s: the image has %zu segments; --fill needs an explicit "
                                    "range (expected --range START:END)",
                                    o->path, n);
        start = oflash_image_segment(img, 0)->addr;
        end = start + oflash_image_segment(img, 0)->size;
    } else if (n == 0) {
        return oflash_error_set(OFLASH_EINVAL, "%s: the image is empty; nothing to write", o->path);
    } else {
        const oflash_segment *a = oflash_image_segment(img, 0);
        const oflash_segment *z = oflash_image_segment(img, n - 1);
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: the image is sparse (%zu segments 0x%08" PRIX32 "-0x%08" PRIX32
                                ", gap after 0x%08" PRIX32 "); a binary holds one contiguous "
                                "range (expected --fill BYTE --range START:END)",
                                o->path, n, a->addr, (uint32_t)(z->addr + z->size - 1),
                                (uint32_t)(a->addr + a->size - 1));
    }
    /* Every byte of the image must be inside the range, and gaps need fill. */
    uint64_t pos = start;
    for (size_t i = 0; i < n; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint64_t se = (uint64_t)s->addr + s->size;
        if (s->addr < start || se > end)
            return oflash_error_set(OFLASH_ERANGE,
                                    "%s: data at 0x%08" PRIX32 "-0x%08" PRIX32 " (from %s) is "
                                    "outside the range 0x%08" PRIX64 "-0x%08" PRIX64
                                    " (expected a range that holds all data)",
                                    o->path, s->addr, (uint32_t)(se - 1), s->source, start,
                                    end - 1);
        if (s->addr > pos && !w->fill)
            return oflash_error_set(OFLASH_EINVAL,
                                    "%s: no data at 0x%08" PRIX64 "-0x%08" PRIX32 " inside the "
                                    "range (expected --fill BYTE for gaps)",
                                    o->path, pos, s->addr - 1);
        pos = se;
    }
    if (pos < end && !w->fill)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: no data at 0x%08" PRIX64 "-0x%08" PRIX64 " inside the range "
                                "(expected --fill BYTE for gaps)",
                                o->path, pos, end - 1);
    /* Write: fill from the output buffer, data straight from the segments. */
    pos = start;
    for (size_t i = 0; i <= n && !o->err; i++) {
        const oflash_segment *s = i < n ? oflash_image_segment(img, i) : NULL;
        uint64_t next = s ? s->addr : end;
        while (pos < next && !o->err) {
            size_t k = next - pos > o->cap ? o->cap : (size_t)(next - pos);
            char *q = oflash__out_room(o, k);
            memset(q, w->fill_byte, k);
            o->len += k;
            pos += k;
        }
        if (s) {
            oflash__out_write(o, s->data, s->size);
            pos = (uint64_t)s->addr + s->size;
        }
    }
    return o->err;
}
