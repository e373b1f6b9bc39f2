/*
 * image.c - the sparse image: segments, loading inputs into it, overlap
 * checks that name both sources, and the streaming input source.
 *
 * Invariants of struct oflash_image:
 *  - seg[0..nseg) is sorted by address; segments neither overlap nor touch
 *    (seg[i].addr + seg[i].size < seg[i+1].addr); every size is > 0 and
 *    addr + size <= 2^32.
 *  - piece[0..npiece) is sorted by address and covers exactly the bytes of
 *    the segments; each piece names the input (and first line) its bytes
 *    came from, so overlap messages can name a source even after adjacent
 *    data from several inputs merged into one segment.
 *  - seg[i].source is the source of the segment's first byte (owned).
 * A load that fails leaves the image unchanged: readers fill a separate
 * oflash__load, which is checked completely before anything is merged.
 */
#include "image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRC_CHUNK (64 * 1024) /* read window of the text readers */

struct input {
    char *name;                   /* as given by the user, for messages */
    char *path;                   /* file to re-read for exact lines, or NULL */
    enum oflash__where_kind kind; /* how locations are named */
    oflash_image_format format;   /* format that was read */
    uint32_t base;                /* binaries */
};

struct piece {
    uint32_t addr;
    uint64_t size;
    uint32_t input; /* index into inputs */
    uint32_t line;  /* first line / ELF segment of these bytes */
};

struct oflash_image {
    oflash_segment *seg;
    size_t nseg, capseg;
    struct piece *piece;
    size_t npiece, cappiece;
    struct input *in;
    size_t nin, capin;
    bool have_entry;
    uint32_t entry;
    char *entry_source;
};

/* ---------------------------------------------------------------- hex tables */

/* clang-format off */
#define X 0x80
const uint8_t oflash__img_hexval[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

#define P16(h) h "0", h "1", h "2", h "3", h "4", h "5", h "6", h "7", h "8", h "9", h "A", h "B", \
               h "C", h "D", h "E", h "F"
/* Each entry is exactly two characters (no terminating NUL). */
const char oflash__img_hexpair[256][2] = {
    P16("0"), P16("1"), P16("2"), P16("3"), P16("4"), P16("5"), P16("6"), P16("7"),
    P16("8"), P16("9"), P16("A"), P16("B"), P16("C"), P16("D"), P16("E"), P16("F"),
};
#undef P16
/* clang-format on */

uint16_t oflash__img_pairval[65536];

static void pairs_build(void)
{
    for (unsigned i = 0; i < 65536; i++) {
        unsigned hi = oflash__img_hexval[i & 0xFF], lo = oflash__img_hexval[i >> 8];
        oflash__img_pairval[i] = (uint16_t)((hi | lo) & 0x80 ? 0x100 : hi << 4 | lo);
    }
}

void oflash__img_pairs_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pairs_build);
}

size_t oflash__img_bad_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (oflash__img_hexval[(uint8_t)s[i]] & 0x80) return i;
    return n;
}

/* ------------------------------------------------------------ input source */

int oflash__src_pread(const oflash__src *src, void *buf, size_t n, uint64_t off)
{
    if (off > src->size || n > src->size - off)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s: read of %zu bytes at offset 0x%" PRIx64
                                " beyond the end of the file (%" PRIu64 " bytes)",
                                src->name, n, off, src->size);
    if (src->mem) {
        memcpy(buf, src->mem + off, n);
        return 0;
    }
    uint8_t *p = buf;
    while (n) {
        ssize_t r = pread(src->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return oflash_error_set(OFLASH_EIO, "%s: read failed: %s", src->name, strerror(errno));
        if (r == 0)
            return oflash_error_set(OFLASH_EIO, "%s: file shrank while reading it", src->name);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Feed the complete lines of [p, end) to fn; *used gets the bytes consumed.
 * With final set, a last line without "\n" is fed too. */
static int feed_lines(const char *p, const char *end, bool final, uint32_t *line,
                      oflash__line_fn fn, oflash__fast_fn fast, void *ctx, size_t *used)
{
    const char *start = p;
    while (p < end) {
        if (fast) {
            int rc = 0;
            p += fast(ctx, p, end, line, &rc);
            if (rc) return rc;
            if (p >= end) break;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            if (!final) break;
            int rc = fn(ctx, p, (size_t)(end - p), ++*line, false);
            if (rc) return rc;
            p = end;
            break;
        }
        int rc = fn(ctx, p, (size_t)(nl - p), ++*line, true);
        if (rc) return rc;
        p = nl + 1;
    }
    *used = (size_t)(p - start);
    return 0;
}

int oflash__src_lines(const oflash__src *src, oflash__line_fn fn, oflash__fast_fn fast, void *ctx)
{
    uint32_t line = 0;
    size_t used;
    if (src->mem)
        return feed_lines((const char *)src->mem, (const char *)src->mem + src->size, true, &line,
                          fn, fast, ctx, &used);

    /* A window of SRC_CHUNK bytes; the unfinished tail of one read moves to
     * the front before the next.  A line longer than the window is an error
     * (no record of any supported format comes near it). */
    char *buf = malloc(SRC_CHUNK);
    size_t have = 0;
    int rc = 0;
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", src->name);
    for (;;) {
        ssize_t r = read(src->fd, buf + have, SRC_CHUNK - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: read failed: %s", src->name, strerror(errno));
            break;
        }
        have += (size_t)r;
        bool final = r == 0;
        rc = feed_lines(buf, buf + have, final, &line, fn, fast, ctx, &used);
        if (rc || final) break;
        if (used == 0 && have == SRC_CHUNK) {
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "%s:%" PRIu32 ": line longer than %d bytes (expected records "
                                  "of at most a few hundred characters)",
                                  src->name, line + 1, SRC_CHUNK);
            break;
        }
        memmove(buf, buf + used, have - used);
        have -= used;
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------ load builder */

const char *oflash__where(const oflash__load *ld, uint32_t line, char *buf, size_t size)
{
    switch (ld->kind) {
    case OFLASH__WHERE_LINE:
        snprintf(buf, size, "%s:%" PRIu32, ld->name, line);
        break;
    case OFLASH__WHERE_SEGMENT:
        snprintf(buf, size, "%s:segment %" PRIu32, ld->name, line);
        break;
    default:
        snprintf(buf, size, "%s", ld->name);
        break;
    }
    return buf;
}

static int close_run(oflash__load *ld)
{
    if (!ld->cur.data) return 0;
    if (ld->nruns == ld->caprun) {
        size_t nc = ld->caprun ? ld->caprun * 2 : 8;
        oflash__run *r = realloc(ld->runs, nc * sizeof *r);
        if (!r) return oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", ld->name);
        ld->runs = r;
        ld->caprun = nc;
    }
    /* Give back the unused reservation (mremap for large blocks, no copy). */
    if (ld->cur.cap > ld->cur.size) {
        uint8_t *d = realloc(ld->cur.data, ld->cur.size);
        if (d) {
            ld->cur.data = d;
            ld->cur.cap = ld->cur.size;
        }
    }
    ld->cur.seq = (uint32_t)ld->nruns;
    ld->runs[ld->nruns++] = ld->cur;
    memset(&ld->cur, 0, sizeof ld->cur);
    ld->cur_ready = 0;
    ld->cur_end = 0;
    return 0;
}

/* Large reservations are prefaulted PREFAULT_STEP bytes at a time with
 * MADV_POPULATE_WRITE: one system call instead of 64 page faults, which
 * costs a fifth of the run time of a big HEX file in a VM.  At most one
 * step beyond the data is resident, so memory stays data + a little. */
#define PREFAULT_MIN (1u << 20)
#define PREFAULT_STEP (256u << 10)
static void prefault(oflash__load *ld, uint64_t need)
{
    if (need <= ld->cur_ready) return;
    uint64_t to = need + PREFAULT_STEP;
    if (to > ld->cur.cap) to = ld->cur.cap;
#ifdef MADV_POPULATE_WRITE
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)ld->cur.data + ld->cur_ready, b = (uintptr_t)ld->cur.data + to;
    uintptr_t lo = (a + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1), hi = b & ~((uintptr_t)pg - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) != 0)
        to = ld->cur.cap; /* not supported here: fall back to page faults */
#else
    to = ld->cur.cap;
#endif
    ld->cur_ready = to;
}

uint8_t *oflash__load_reserve_slow(oflash__load *ld, uint32_t addr, uint64_t n, uint32_t line)
{
    char w[600];
    if ((uint64_t)addr + n > 0x100000000ull) {
        oflash_error_set(OFLASH_ERANGE,
                         "%s: %" PRIu64 " bytes at 0x%08" PRIX32 " wrap past 4 GiB (expected "
                         "addresses up to 0xFFFFFFFF)",
                         oflash__where(ld, line, w, sizeof w), n, addr);
        return NULL;
    }
    if (ld->locate) {
        if (ld->loc_addr >= addr && ld->loc_addr - addr < n && ld->loc_hits < 2)
            ld->loc_line[ld->loc_hits++] = line;
        return n <= sizeof ld->scratch ? ld->scratch : NULL;
    }
    if (ld->cur.data && addr == ld->cur_end && n <= ld->cur.cap - ld->cur.size) {
        /* Within the reservation: prefault the next step. */
        prefault(ld, ld->cur.size + n);
    } else if (ld->cur.data && addr == ld->cur_end) {
        /* Continue the open run: grow geometrically. */
        uint64_t need = ld->cur.size + n, nc = ld->cur.cap ? ld->cur.cap : 4096;
        while (nc < need)
            nc *= 2;
        uint8_t *d = realloc(ld->cur.data, (size_t)nc);
        if (!d) {
            oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", ld->name);
            return NULL;
        }
        ld->cur.data = d;
        ld->cur.cap = nc;
        ld->cur_ready = nc;
    } else {
        if (close_run(ld)) return NULL;
        /* The first run reserves what the input could hold: untouched
         * pages cost no memory, and one big run then needs no copies.
         * Later runs grow geometrically (files with records out of order
         * would otherwise make one big mapping per record). */
        uint64_t cap = ld->nruns == 0 && ld->estimate > n ? ld->estimate : n;
        if (cap < 256) cap = 256;
        if (cap > 0x100000000ull - addr) cap = 0x100000000ull - addr;
        if (cap < n) cap = n;
        ld->cur.data = malloc((size_t)cap);
        if (!ld->cur.data) {
            oflash_error_set(OFLASH_ENOMEM, "%s: out of memory (%" PRIu64 " bytes)", ld->name, cap);
            return NULL;
        }
        ld->cur.addr = addr;
        ld->cur.size = 0;
        ld->cur.cap = cap;
        ld->cur.line = line;
        ld->cur_end = addr;
        ld->cur_ready = cap < PREFAULT_MIN ? cap : 0;
        prefault(ld, n);
    }
    uint8_t *p = ld->cur.data + ld->cur.size;
    ld->cur.size += n;
    ld->cur_end += n;
    return p;
}

void oflash__load_entry(oflash__load *ld, uint32_t entry, uint32_t line)
{
    char w[600];
    if (ld->locate) return;
    if (ld->have_entry && ld->entry != entry)
        oflash_log(OFLASH_LOG_WARN,
                   "%s: second start address 0x%08" PRIX32 " differs from 0x%08" PRIX32
                   " (keeping the first)",
                   oflash__where(ld, line, w, sizeof w), entry, ld->entry);
    if (!ld->have_entry) {
        ld->have_entry = true;
        ld->entry = entry;
    }
}

static void load_free(oflash__load *ld)
{
    for (size_t i = 0; i < ld->nruns; i++)
        free(ld->runs[i].data);
    free(ld->runs);
    free(ld->cur.data);
    memset(ld, 0, sizeof *ld);
}

/* ------------------------------------------------------------------ image */

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
    const struct input *in = &img->in[input];
    oflash__load tmp = {.name = in->name, .kind = in->kind};
    oflash__where(&tmp, line, buf, size);
}

static int read_input(const oflash__src *src, oflash_image_format fmt, uint32_t base,
                      oflash__load *ld);

/* Error path: the exact line of the records of input `input` that cover
 * addr (the first one, or the second one when second is set).  Falls back
 * to `line` (the first line of the run) when the input cannot be re-read. */
static uint32_t locate_line(const struct input *in, const oflash__src *cur_src, uint32_t addr,
                            bool second, uint32_t line)
{
    if (in->kind != OFLASH__WHERE_LINE) return line;
    oflash__src src = {.name = in->name, .fd = -1};
    int fd = -1;
    if (cur_src) {
        src = *cur_src;
    } else {
        struct stat st;
        if (!in->path || (fd = open(in->path, O_RDONLY | O_CLOEXEC)) < 0) return line;
        if (fstat(fd, &st) < 0) {
            close(fd);
            return line;
        }
        src.fd = fd;
        src.size = (uint64_t)st.st_size;
    }
    if (src.fd >= 0 && lseek(src.fd, 0, SEEK_SET) < 0) {
        if (fd >= 0) close(fd);
        return line;
    }
    oflash__load ld = {.name = in->name, .kind = in->kind, .locate = true, .loc_addr = addr};
    char saved[2048];
    int code = oflash_error_last_code();
    snprintf(saved, sizeof saved, "%s", oflash_error_last());
    read_input(&src, in->format, in->base, &ld);
    oflash_error_set(code, "%s", saved); /* the re-read must not change the error */
    unsigned hits = ld.loc_hits;
    uint32_t found = ld.loc_line[second ? 1 : 0];
    load_free(&ld);
    if (fd >= 0) close(fd);
    return hits > (second ? 1u : 0u) ? found : line;
}

/* The piece of the image holding addr. */
static const struct piece *piece_at(const oflash_image *img, uint32_t addr)
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
static int check_load(const oflash_image *img, oflash__load *ld, const struct input *in,
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
                uint32_t l1 = locate_line(in, src, r->addr, false, first->line);
                uint32_t l2 = locate_line(in, src, r->addr, true, later->line);
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
            const struct piece *p = piece_at(img, (uint32_t)a);
            uint32_t l2 = locate_line(in, src, (uint32_t)a, false, r->line);
            oflash__where(ld, l2, w2, sizeof w2);
            if (p) {
                uint32_t l1 = locate_line(&img->in[p->input], NULL, (uint32_t)a, false, p->line);
                source_name(img, p->input, l1, w1, sizeof w1);
            } else {
                snprintf(w1, sizeof w1, "%s", s->source);
            }
            return overlap_error(w2, w1, (uint32_t)a, b - a, same);
        }
    }
    return 0;
}

static int reserve(void **arr, size_t *cap, size_t need, size_t elem)
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
    const struct piece *a = pa, *b = pb;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Merge a checked load into the image.  Takes ownership of the runs' data.
 * The image is changed only after every allocation has succeeded. */
static int merge_load(oflash_image *img, oflash__load *ld, uint32_t input)
{
    char w[700];
    size_t total = img->nseg + ld->nruns;
    oflash_segment *ns = calloc(total ? total : 1, sizeof *ns);
    size_t *origin = calloc(total ? total : 1, sizeof *origin);
    struct piece *np = NULL;
    size_t nn = 0, capp = 0, npc = 0;
    int rc = 0;
    if (!ns || !origin) goto nomem;
    /* New pieces: the old ones plus one per run (minus identical overlaps,
     * which keep the old attribution). */
    if (reserve((void **)&np, &capp, img->npiece + ld->nruns + 1, sizeof *np)) goto nomem;
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

static int add_input(oflash_image *img, const char *name, const char *path,
                     enum oflash__where_kind kind, oflash_image_format fmt, uint32_t base)
{
    if (reserve((void **)&img->in, &img->capin, img->nin + 1, sizeof *img->in))
        return OFLASH_ENOMEM;
    struct input *in = &img->in[img->nin];
    memset(in, 0, sizeof *in);
    in->name = strdup(name);
    in->path = path ? strdup(path) : NULL;
    if (!in->name || (path && !in->path)) {
        free(in->name);
        free(in->path);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    in->kind = kind;
    in->format = fmt;
    in->base = base;
    img->nin++;
    return 0;
}

/* Finish a load: close the open run, check, merge; on error the image is
 * unchanged and the load is freed. */
static int finish_load(oflash_image *img, oflash__load *ld, const char *path,
                       const oflash__src *src, oflash_image_format fmt, uint32_t base,
                       bool allow_identical)
{
    int rc = close_run(ld);
    if (!rc && ld->nruns == 0)
        rc = oflash_error_set(OFLASH_EFORMAT,
                              "%s: no data in the file (expected at least one "
                              "data record or loadable segment)",
                              ld->name);
    if (!rc) rc = add_input(img, ld->name, path, ld->kind, fmt, base);
    if (!rc) {
        rc = check_load(img, ld, &img->in[img->nin - 1], src, allow_identical);
        if (!rc) rc = merge_load(img, ld, (uint32_t)(img->nin - 1));
        if (rc) {
            img->nin--;
            free(img->in[img->nin].name);
            free(img->in[img->nin].path);
        }
    }
    if (!rc && ld->have_entry) {
        if (img->have_entry && img->entry != ld->entry)
            oflash_log(OFLASH_LOG_WARN,
                       "%s: start address 0x%08" PRIX32 " differs from 0x%08" PRIX32
                       " given by %s (keeping the first)",
                       ld->name, ld->entry, img->entry,
                       img->entry_source ? img->entry_source : "an earlier input");
        if (!img->have_entry) {
            img->have_entry = true;
            img->entry = ld->entry;
            free(img->entry_source);
            img->entry_source = strdup(ld->name);
        }
    }
    load_free(ld);
    return rc;
}

int oflash_image_add(oflash_image *img, uint32_t addr, const void *data, size_t len,
                     const char *source)
{
    oflash__load ld = {.name = source ? source : "data", .kind = OFLASH__WHERE_NONE};
    if (len == 0) return 0;
    ld.estimate = len;
    uint8_t *p = oflash__load_reserve(&ld, addr, len, 0);
    if (!p) {
        load_free(&ld);
        return oflash_error_last_code();
    }
    memcpy(p, data, len);
    return finish_load(img, &ld, NULL, NULL, OFLASH_FORMAT_BIN, addr, false);
}

/* ----------------------------------------------------------------- loading */

static const char *format_name(oflash_image_format f)
{
    switch (f) {
    case OFLASH_FORMAT_IHEX:
        return "Intel HEX";
    case OFLASH_FORMAT_SREC:
        return "S-record";
    case OFLASH_FORMAT_ELF:
        return "ELF";
    case OFLASH_FORMAT_BIN:
        return "binary";
    default:
        return "auto";
    }
}

/* Recognise the format from the first bytes. */
static oflash_image_format sniff(const uint8_t *p, size_t n)
{
    if (n >= 4 && p[0] == 0x7F && p[1] == 'E' && p[2] == 'L' && p[3] == 'F')
        return OFLASH_FORMAT_ELF;
    size_t i = 0;
    while (i < n && (p[i] == '\n' || p[i] == '\r' || p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < n && p[i] == ':') return OFLASH_FORMAT_IHEX;
    if (i + 1 < n && (p[i] == 'S' || p[i] == 's') && p[i + 1] >= '0' && p[i + 1] <= '9')
        return OFLASH_FORMAT_SREC;
    return OFLASH_FORMAT_AUTO;
}

static int read_input(const oflash__src *src, oflash_image_format fmt, uint32_t base,
                      oflash__load *ld)
{
    switch (fmt) {
    case OFLASH_FORMAT_IHEX:
        return oflash__ihex_read(src, ld);
    case OFLASH_FORMAT_SREC:
        return oflash__srec_read(src, ld);
    case OFLASH_FORMAT_ELF:
        return oflash__elf_read(src, ld);
    case OFLASH_FORMAT_BIN:
        return oflash__bin_read(src, ld, base);
    default:
        return oflash_error_set(OFLASH_EINVAL, "%s: no format", src->name);
    }
}

/* Decide the format and base, read, check and merge. */
static int load_src(oflash_image *img, const oflash__src *src, const char *path,
                    const oflash_image_load_opts *opts, bool have_at, uint32_t at)
{
    oflash_image_load_opts def = OFLASH_IMAGE_LOAD_OPTS_INIT;
    uint8_t head[64];
    size_t nh = src->size < sizeof head ? (size_t)src->size : sizeof head;
    oflash_image_format fmt;
    bool have_base = have_at;
    uint32_t base = at;
    int rc;

    if (!opts) opts = &def;
    if (opts->version != OFLASH_IMAGE_LOAD_OPTS_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "image load options: version %u (expected %u)",
                                opts->version, OFLASH_IMAGE_LOAD_OPTS_VERSION);
    if (!have_base && opts->have_base) {
        have_base = true;
        base = opts->base;
    }
    if (src->size == 0)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s: empty file (expected Intel HEX, S-record, "
                                "ELF or binary data)",
                                src->name);
    if ((rc = oflash__src_pread(src, head, nh, 0))) return rc;
    fmt = opts->format;
    if (fmt == OFLASH_FORMAT_AUTO) fmt = have_at ? OFLASH_FORMAT_BIN : sniff(head, nh);
    if (fmt == OFLASH_FORMAT_AUTO) {
        if (!have_base)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s: not Intel HEX, S-record or ELF, and a raw binary needs "
                                    "its load address (expected %s@0x08000000 or similar)",
                                    src->name, src->name);
        fmt = OFLASH_FORMAT_BIN;
    }
    if (fmt == OFLASH_FORMAT_BIN && !have_base)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: binary without an address (expected "
                                "%s@ADDRESS, e.g. %s@0x08000000)",
                                src->name, src->name, src->name);
    if (fmt != OFLASH_FORMAT_BIN && have_at)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: an @ADDRESS is only for raw binaries, but "
                                "the format is %s",
                                src->name, format_name(fmt));
    if (fmt < OFLASH_FORMAT_IHEX || fmt > OFLASH_FORMAT_BIN)
        return oflash_error_set(OFLASH_EINVAL, "%s: unknown format %d", src->name, (int)fmt);

    oflash__load ld = {.name = src->name};
    ld.kind = fmt == OFLASH_FORMAT_ELF   ? OFLASH__WHERE_SEGMENT
              : fmt == OFLASH_FORMAT_BIN ? OFLASH__WHERE_NONE
                                         : OFLASH__WHERE_LINE;
    /* Text: at most one data byte per two characters. */
    ld.estimate = fmt == OFLASH_FORMAT_BIN || fmt == OFLASH_FORMAT_ELF ? 0 : src->size / 2;
    rc = read_input(src, fmt, base, &ld);
    if (rc) {
        load_free(&ld);
        return rc;
    }
    return finish_load(img, &ld, path, src, fmt, base, opts->allow_identical_overlap);
}

/* Split "PATH@ADDR" when ADDR is a number and PATH is not an existing file
 * of that whole name. */
static bool split_at(const char *spec, char **path, uint32_t *addr)
{
    const char *at = strrchr(spec, '@');
    struct stat st;
    if (!at || at == spec || !at[1]) return false;
    if (stat(spec, &st) == 0) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(at + 1, &end, 0);
    if (errno || *end || at[1] == '-' || v > 0xFFFFFFFFull) return false;
    *path = strndup(spec, (size_t)(at - spec));
    *addr = (uint32_t)v;
    return *path != NULL;
}

int oflash_image_load(oflash_image *img, const char *spec, const oflash_image_load_opts *opts)
{
    char *path = NULL;
    uint32_t at = 0;
    bool have_at = split_at(spec, &path, &at);
    const char *p = have_at ? path : spec;
    struct stat st;
    int rc;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = oflash_error_set(errno == ENOENT ? OFLASH_ENOTFOUND : OFLASH_EIO,
                              "%s: cannot open: %s", p, strerror(errno));
        free(path);
        return rc;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = oflash_error_set(OFLASH_EIO, "%s: not a regular file", p);
        close(fd);
        free(path);
        return rc;
    }
    oflash__src src = {.name = p, .fd = fd, .size = (uint64_t)st.st_size};
    rc = load_src(img, &src, p, opts, have_at, at);
    close(fd);
    free(path);
    return rc;
}

int oflash_image_load_mem(oflash_image *img, const void *buf, size_t len, const char *name,
                          const oflash_image_load_opts *opts)
{
    oflash__src src = {.name = name ? name : "<memory>", .fd = -1, .mem = buf, .size = len};
    static const uint8_t empty[1];
    if (!buf) src.mem = empty;
    return load_src(img, &src, NULL, opts, false, 0);
}
