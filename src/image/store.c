/*
 * store.c - the sparse image: segments, the pieces that remember where
 * each byte came from, overlap checks that name both sources, and merging
 * a checked load into the image.
 *
 * Invariants of struct oflash_image (image_internal.h):
 *  - seg[0..nseg) is sorted by address; segments neither overlap nor touch
 *    (seg[i].addr + seg[i].size < seg[i+1].addr); every size is > 0 and
 *    addr + size <= 2^32.
 *  - piece[0..npiece) is sorted by address and covers exactly the bytes of
 *    the segments; each piece names the input (and first line) its bytes
 *    came from, so overlap messages can name a source even after adjacent
 *    data from several inputs merged into one segment.
 *  - seg[i].source is the source of the segment's first byte (owned).
 * A load that fails leaves the image unchanged: readers fill a separate
 * oflash__load (load.c), which is checked completely before anything is
 * merged.
 */
#include "image_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oflash_image_new(oflash_image **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    return 0;
}

void oflash_image_free(oflash_image *img)
{
    if (!img) return;
    for (size_t i = 0; i < img->nseg; i++) {
        free(img->seg[i].data);
        free((char *)img->seg[i].source);
    }
    for (size_t i = 0; i < img->nin; i++) {
        free(img->in[i].name);
        free(img->in[i].path);
    }
    free(img->seg);
    free(img->piece);
    free(img->in);
    free(img->entry_source);
    free(img);
}

size_t oflash_image_segment_count(const oflash_image *img)
{
    return img->nseg;
}

const oflash_segment *oflash_image_segment(const oflash_image *img, size_t i)
{
    return i < img->nseg ? &img->seg[i] : NULL;
}

uint64_t oflash_image_size(const oflash_image *img)
{
    uint64_t t = 0;
    for (size_t i = 0; i < img->nseg; i++)
        t += img->seg[i].size;
    return t;
}

bool oflash_image_entry(uint32_t *entry, const oflash_image *img)
{
    if (img->have_entry && entry) *entry = img->entry;
    return img->have_entry;
}

void oflash_image_set_entry(oflash_image *img, uint32_t entry)
{
    img->have_entry = true;
    img->entry = entry;
}

/* Index of the first segment whose end is above addr (nseg when none). */
static size_t seg_lower(const oflash_image *img, uint32_t addr)
{
    size_t lo = 0, hi = img->nseg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)img->seg[mid].addr + img->seg[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t oflash_image_read(void *buf, const oflash_image *img, uint32_t addr, size_t len,
                         uint8_t fill)
{
    uint8_t *out = buf;
    uint64_t end = (uint64_t)addr + len;
    size_t held = 0;
    memset(out, fill, len);
    for (size_t i = seg_lower(img, addr); i < img->nseg && img->seg[i].addr < end; i++) {
        const oflash_segment *s = &img->seg[i];
        uint64_t a = s->addr > addr ? s->addr : addr;
        uint64_t b = (uint64_t)s->addr + s->size;
        if (b > end) b = end;
        memcpy(out + (a - addr), s->data + (a - s->addr), (size_t)(b - a));
        held += (size_t)(b - a);
    }
    return held;
}

/* Name of a source location: input index + line. */
static void source_name(const oflash_image *img, uint32_t input, uint32_t line, char *buf,
                        size_t size)
{
    const struct oflash__input *in = &img->in[input];
    oflash__load tmp = {.name = in->name, .kind = in->kind};
    oflash__where(&tmp, line, buf, size);
}

/* The piece of the image holding addr. */
static const struct oflash__piece *piece_at(const oflash_image *img, uint32_t addr)
{
    size_t lo = 0, hi = img->npiece;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((uint64_t)img->piece[mid].addr + img->piece[mid].size <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < img->npiece ? &img->piece[lo] : NULL;
}

/* Overlap of [a, a+n) between `what` (new) and `other`.  identical tells
 * whether the bytes agree. */
static int overlap_error(const char *what, const char *other, uint32_t a, uint64_t n,
                         bool identical)
{
    uint32_t last = (uint32_t)(a + n - 1);
    if (identical)
        return oflash_error_set(OFLASH_EOVERLAP,
                                "%s: data at 0x%08" PRIX32 "-0x%08" PRIX32 " overlaps %s "
                                "(same bytes; expected each address in one place only, or "
                                "--allow-identical-overlap)",
                                what, a, last, other);
    return oflash_error_set(OFLASH_EOVERLAP,
                            "%s: data at 0x%08" PRIX32 "-0x%08" PRIX32 " overlaps different "
                            "data from %s (expected each address in one place only)",
                            what, a, last, other);
}

static int run_cmp(const void *pa, const void *pb)
{
    const oflash__run *a = pa, *b = pb;
    if (a->addr != b->addr) return a->addr < b->addr ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Check a finished load against itself and the image; no changes. */
int oflash__store_check(const oflash_image *img, oflash__load *ld, const struct oflash__input *in,
                        const oflash__src *src, bool allow_identical)
{
    char w1[700], w2[700];
    qsort(ld->runs, ld->nruns, sizeof ld->runs[0], run_cmp);
    /* Within the load: sorted by start, an overlap always shows between a
     * run and the earlier run reaching furthest (which covers the overlap). */
    size_t far = 0;
    for (size_t i = 1; i < ld->nruns; i++) {
        const oflash__run *m = &ld->runs[far], *r = &ld->runs[i];
        uint64_t mend = m->addr + m->size;
        if (r->addr < mend) {
            uint64_t e = r->addr + r->size < mend ? r->addr + r->size : mend;
            bool same = !memcmp(r->data, m->data + (r->addr - m->addr), (size_t)(e - r->addr));
            if (!same || !allow_identical) {
                /* Which came first in the file decides which is "the" error line. */
                const oflash__run *first = m->seq < r->seq ? m : r;
                const oflash__run *later = m->seq < r->seq ? r : m;
                uint32_t l1 = oflash__locate_line(in, src, r->addr, false, first->line);
                uint32_t l2 = oflash__locate_line(in, src, r->addr, true, later->line);
                oflash__where(ld, l1, w1, sizeof w1);
                oflash__where(ld, l2, w2, sizeof w2);
                return overlap_error(w2, w1, r->addr, e - r->addr, same);
            }
        }
        if (r->addr + r->size > mend) far = i;
    }
    /* Against the image. */
    for (size_t i = 0; i < ld->nruns; i++) {
        const oflash__run *r = &ld->runs[i];
        uint64_t rend = r->addr + r->size;
        for (size_t k = seg_lower(img, r->addr); k < img->nseg && img->seg[k].addr < rend; k++) {
            const oflash_segment *s = &img->seg[k];
            uint64_t a = s->addr > r->addr ? s->addr : r->addr;
            uint64_t b = (uint64_t)s->addr + s->size < rend ? (uint64_t)s->addr + s->size : rend;
            bool same = !memcmp(r->data + (a - r->addr), s->data + (a - s->addr), (size_t)(b - a));
            if (same && allow_identical) continue;
            const struct oflash__piece *p = piece_at(img, (uint32_t)a);
            uint32_t l2 = oflash__locate_line(in, src, (uint32_t)a, false, r->line);
            oflash__where(ld, l2, w2, sizeof w2);
            if (p) {
                uint32_t l1 = oflash__locate_line(&img->in[p->input], NULL, (uint32_t)a, false, p->line);
                source_name(img, p->input, l1, w1, sizeof w1);
            } else {
                snprintf(w1, sizeof w1, "%s", s->source);
            }
            return overlap_error(w2, w1, (uint32_t)a, b - a, same);
        }
    }
    return 0;
}

int oflash__img_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 8;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (!p) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    *arr = p;
    *cap = nc;
    return 0;
}

static int piece_cmp(const void *pa, const void *pb)
{
    const struct oflash__piece *a = pa, *b = pb;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Merge a checked load into the image.  Takes ownership of the runs' data.
 * The image is changed only after every allocation has succeeded. */
int oflash__store_merge(oflash_image *img, oflash__load *ld, uint32_t input)
{
    char w[700];
    size_t total = img->nseg + ld->nruns;
    oflash_segment *ns = calloc(total ? total : 1, sizeof *ns);
    size_t *origin = calloc(total ? total : 1, sizeof *origin);
    struct oflash__piece *np = NULL;
    size_t nn = 0, capp = 0, npc = 0;
    int rc = 0;
    if (!ns || !origin) goto nomem;
    /* New pieces: the old ones plus one per run (minus identical overlaps,
     * which keep the old attribution). */
    if (oflash__img_reserve((void **)&np, &capp, img->npiece + ld->nruns + 1, sizeof *np)) goto nomem;
    if (img->npiece) memcpy(np, img->piece, img->npiece * sizeof *np);
    npc = img->npiece;

    /* Pass 1: plan the merged segment list without touching the image.
     * Each output segment is built from old segments and runs in address
     * order; overlapping (identical) bytes are taken from whichever came
     * first. */
    size_t i = 0, j = 0;
    while (i < img->nseg || j < ld->nruns) {
        bool take_old = j >= ld->nruns || (i < img->nseg && img->seg[i].addr <= ld->runs[j].addr);
        uint32_t a = take_old ? img->seg[i].addr : ld->runs[j].addr;
        uint64_t sz = take_old ? img->seg[i].size : ld->runs[j].size;
        if (!take_old) {
            /* The part of this run not already held becomes a piece. */
            uint64_t lo = a, hi = a + sz;
            if (nn && (uint64_t)ns[nn - 1].addr + ns[nn - 1].size > lo)
                lo = (uint64_t)ns[nn - 1].addr + ns[nn - 1].size;
            if (lo < hi) {
                np[npc].addr = (uint32_t)lo;
                np[npc].size = hi - lo;
                np[npc].input = input;
                np[npc].line = ld->runs[j].line;
                npc++;
            }
        }
        if (nn && (uint64_t)ns[nn - 1].addr + ns[nn - 1].size >= a) {
            /* Touches or overlaps the segment being built: extend it. */
            oflash_segment *o = &ns[nn - 1];
            uint64_t oend = (uint64_t)o->addr + o->size, end = a + sz;
            if (end > oend) o->size = (uint32_t)(end - o->addr);
        } else {
            ns[nn].addr = a;
            ns[nn].size = (uint32_t)sz;
            ns[nn].source = take_old ? img->seg[i].source : NULL;
            origin[nn] = take_old ? i : img->nseg + j; /* origin index, for pass 2 */
            nn++;
        }
        if (take_old)
            i++;
        else
            j++;
    }

    /* Pass 2: assemble data.  An output segment made of one origin adopts
     * that buffer; otherwise the first origin's buffer grows to hold all. */
    {
        char **srcs = calloc(nn ? nn : 1, sizeof *srcs);
        uint8_t **bufs = calloc(nn ? nn : 1, sizeof *bufs);
        if (!srcs || !bufs) {
            free(srcs);
            free(bufs);
            goto nomem;
        }
        for (size_t k = 0; k < nn; k++) {
            size_t o = origin[k];
            uint8_t *d = o < img->nseg ? img->seg[o].data : ld->runs[o - img->nseg].data;
            uint64_t dsz = o < img->nseg ? img->seg[o].size : ld->runs[o - img->nseg].size;
            if (dsz < ns[k].size) {
                uint8_t *g = realloc(d, ns[k].size);
                if (!g) {
                    /* Earlier growth is harmless: the old data is unchanged. */
                    for (size_t q = 0; q < k; q++)
                        free(srcs[q]);
                    free(srcs);
                    free(bufs);
                    goto nomem;
                }
                if (o < img->nseg)
                    img->seg[o].data = g;
                else
                    ld->runs[o - img->nseg].data = g;
                d = g;
            }
            bufs[k] = d;
            if (!ns[k].source) {
                const oflash__run *r = &ld->runs[o - img->nseg];
                srcs[k] = strdup(oflash__where(ld, r->line, w, sizeof w));
                if (!srcs[k]) {
                    for (size_t q = 0; q < k; q++)
                        free(srcs[q]);
                    free(srcs);
                    free(bufs);
                    goto nomem;
                }
            }
        }
        /* Point of no return: copy the other origins' bytes in. */
        size_t si = 0;
        i = 0;
        j = 0;
        while (i < img->nseg || j < ld->nruns) {
            bool take_old =
                j >= ld->nruns || (i < img->nseg && img->seg[i].addr <= ld->runs[j].addr);
            uint32_t a = take_old ? img->seg[i].addr : ld->runs[j].addr;
            uint64_t sz = take_old ? img->seg[i].size : ld->runs[j].size;
            uint8_t *d = take_old ? img->seg[i].data : ld->runs[j].data;
            size_t from = take_old ? i : img->nseg + j;
            while (si + 1 < nn && ns[si + 1].addr <= a)
                si++;
            if (origin[si] != from) {
                /* Copy only bytes not already present (identical overlaps). */
                uint64_t off = a - ns[si].addr;
                memmove(bufs[si] + off, d, (size_t)sz);
                free(d);
                if (take_old) free((char *)img->seg[i].source);
            }
            if (take_old)
                i++;
            else
                j++;
        }
        for (size_t k = 0; k < nn; k++) {
            ns[k].data = bufs[k];
            if (!ns[k].source) ns[k].source = srcs[k];
        }
        free(srcs);
        free(bufs);
    }
    qsort(np, npc, sizeof *np, piece_cmp);
    free(img->seg);
    free(img->piece);
    img->seg = ns;
    img->nseg = nn;
    img->capseg = total ? total : 1;
    img->piece = np;
    img->npiece = npc;
    img->cappiece = capp;
    free(origin);
    /* The runs' buffers now belong to the image. */
    free(ld->runs);
    ld->runs = NULL;
    ld->nruns = ld->caprun = 0;
    return rc;
nomem:
    free(ns);
    free(origin);
    free(np);
    return oflash_error_set(OFLASH_ENOMEM, "out of memory while merging %s", ld->name);
}

