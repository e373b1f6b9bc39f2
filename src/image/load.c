/*
 * load.c - the load transaction: readers decode records into an
 * oflash__load (runs of contiguous data in file order, grown in place with
 * prefaulted reservations); finish_load() checks it completely against
 * itself and the image and only then merges it (store.c), so an image is
 * never changed by a load that fails.  Also the entry points that open an
 * input (a path, "PATH@ADDR", or memory) and pick its format from the
 * format table (format.c).
 */
#include "image_internal.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

int oflash__load_close_run(oflash__load *ld)
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
        if (oflash__load_close_run(ld)) return NULL;
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

void oflash__load_free(oflash__load *ld)
{
    for (size_t i = 0; i < ld->nruns; i++)
        free(ld->runs[i].data);
    free(ld->runs);
    free(ld->cur.data);
    memset(ld, 0, sizeof *ld);
}

uint32_t oflash__locate_line(const struct oflash__input *in, const oflash__src *cur_src,
                             uint32_t addr, bool second, uint32_t line)
{
    const oflash__format *f = oflash__format_get(in->format);
    oflash__src src;
    bool opened = false;
    if (in->kind != OFLASH__WHERE_LINE || !f) return line;
    if (cur_src) {
        src = *cur_src;
    } else {
        char keep[2048];
        int code = oflash_error_last_code();
        snprintf(keep, sizeof keep, "%s", oflash_error_last());
        int rc = in->path ? oflash__src_open(&src, in->path) : -1;
        oflash_error_set(code, "%s", keep); /* the re-open must not change the error */
        if (rc) return line;
        src.name = in->name;
        opened = true;
    }
    if (oflash__src_rewind(&src)) {
        if (opened) oflash__src_close(&src);
        return line;
    }
    oflash__load ld = {.name = in->name,
                       .kind = in->kind,
                       .locate = true,
                       .loc_addr = addr,
                       .allow_missing_eof = in->allow_missing_eof,
                       .ignore_after_eof = in->ignore_after_eof};
    char saved[2048];
    int code = oflash_error_last_code();
    snprintf(saved, sizeof saved, "%s", oflash_error_last());
    f->read(&src, &ld, in->base);
    oflash_error_set(code, "%s", saved); /* the re-read must not change the error */
    unsigned hits = ld.loc_hits;
    uint32_t found = ld.loc_line[second ? 1 : 0];
    oflash__load_free(&ld);
    if (opened) oflash__src_close(&src);
    return hits > (second ? 1u : 0u) ? found : line;
}

/* ------------------------------------------------------- the transaction */

static int add_input(oflash_image *img, const oflash__load *ld, const char *path,
                     oflash_image_format fmt, uint32_t base)
{
    if (oflash__img_reserve((void **)&img->in, &img->capin, img->nin + 1, sizeof *img->in))
        return OFLASH_ENOMEM;
    struct oflash__input *in = &img->in[img->nin];
    memset(in, 0, sizeof *in);
    in->name = strdup(ld->name);
    in->path = path ? strdup(path) : NULL;
    if (!in->name || (path && !in->path)) {
        free(in->name);
        free(in->path);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    in->kind = ld->kind;
    in->format = fmt;
    in->base = base;
    in->allow_missing_eof = ld->allow_missing_eof;
    in->ignore_after_eof = ld->ignore_after_eof;
    img->nin++;
    return 0;
}

/* Finish a load: close the open run, check, merge; on error the image is
 * unchanged and the load is freed. */
static int finish_load(oflash_image *img, oflash__load *ld, const char *path,
                       const oflash__src *src, oflash_image_format fmt, uint32_t base,
                       bool allow_identical)
{
    int rc = oflash__load_close_run(ld);
    if (!rc && ld->nruns == 0)
        rc = oflash_error_set(OFLASH_EFORMAT,
                              "%s: no data in the file (expected at least one "
                              "data record or loadable segment)",
                              ld->name);
    if (!rc) rc = add_input(img, ld, path, fmt, base);
    if (!rc) {
        rc = oflash__store_check(img, ld, &img->in[img->nin - 1], src, allow_identical);
        if (!rc) rc = oflash__store_merge(img, ld, (uint32_t)(img->nin - 1));
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
    oflash__load_free(ld);
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
        oflash__load_free(&ld);
        return oflash_error_last_code();
    }
    memcpy(p, data, len);
    return finish_load(img, &ld, NULL, NULL, OFLASH_FORMAT_BIN, addr, false);
}

/* ----------------------------------------------------------------- loading */

/* A raw binary of size bytes at base must fit the 32-bit address space and,
 * when regions are given, lie inside one of them: checked before it is read,
 * so a huge file with a wrong address costs nothing. */
static int check_bin_range(const oflash__src *src, uint32_t base, const oflash_image_load_opts *o)
{
    uint64_t end = (uint64_t)base + src->size;
    if (end > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE,
                                "%s: %" PRIu64 " bytes at 0x%08" PRIX32 " wrap past 4 GiB "
                                "(expected addresses up to 0xFFFFFFFF; nothing was read)",
                                src->name, src->size, base);
    if (!o->regions || o->region_count == 0) return 0;
    for (size_t i = 0; i < o->region_count; i++) {
        const oflash_image_region *r = &o->regions[i];
        if (base >= r->start && end <= (uint64_t)r->start + r->size) return 0;
    }
    char map[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < o->region_count && n + 40 < sizeof map; i++) {
        const oflash_image_region *r = &o->regions[i];
        int k = snprintf(map + n, sizeof map - n, "%s0x%08" PRIX32 "-0x%08" PRIX64, i ? ", " : "",
                         r->start, r->start + (r->size ? r->size : 1) - 1);
        if (k > 0) n += (size_t)k;
    }
    return oflash_error_set(OFLASH_ERANGE,
                            "%s: %" PRIu64 " bytes at 0x%08" PRIX32 "-0x%08" PRIX64 " are outside "
                            "the device's memory map (%s; expected the whole binary inside one "
                            "of these; nothing was read)",
                            src->name, src->size, base, end - 1, map);
}

/* Decide the format and base, read, check and merge. */
static int load_src(oflash_image *img, const oflash__src *src, const char *path,
                    const oflash_image_load_opts *uopts, bool have_at, uint32_t at)
{
    oflash_image_load_opts o = OFLASH_IMAGE_LOAD_OPTS_INIT;
    uint8_t head[64];
    size_t nh = src->size < sizeof head ? (size_t)src->size : sizeof head;
    const oflash__format *f;
    bool have_base = have_at;
    uint32_t base = at;
    int rc;

    if (uopts) {
        if (uopts->version == 1)
            memcpy(&o, uopts, offsetof(oflash_image_load_opts, allow_missing_eof));
        else if (uopts->version == OFLASH_IMAGE_LOAD_OPTS_VERSION)
            o = *uopts;
        else
            return oflash_error_set(OFLASH_EINVAL, "image load options: version %u (expected %u)",
                                    uopts->version, OFLASH_IMAGE_LOAD_OPTS_VERSION);
        o.version = OFLASH_IMAGE_LOAD_OPTS_VERSION;
    }
    if (!have_base && o.have_base) {
        have_base = true;
        base = o.base;
    }
    if (src->size == 0)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s: empty file (expected Intel HEX, S-record, "
                                "ELF or binary data)",
                                src->name);
    if ((rc = oflash__src_pread(src, head, nh, 0))) return rc;
    if (o.format != OFLASH_FORMAT_AUTO) {
        f = oflash__format_get(o.format);
        if (!f)
            return oflash_error_set(OFLASH_EINVAL, "%s: unknown format %d", src->name,
                                    (int)o.format);
    } else if (have_at) {
        f = oflash__format_get(OFLASH_FORMAT_BIN);
    } else if (!(f = oflash__format_sniff(head, nh))) {
        if (!have_base)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "%s: not Intel HEX, S-record or ELF, and a raw binary needs "
                                    "its load address (expected %s@0x08000000 or similar)",
                                    src->name, src->name);
        f = oflash__format_get(OFLASH_FORMAT_BIN);
    }
    if (f->id == OFLASH_FORMAT_BIN && !have_base)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: binary without an address (expected "
                                "%s@ADDRESS, e.g. %s@0x08000000)",
                                src->name, src->name, src->name);
    if (f->id != OFLASH_FORMAT_BIN && have_at)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: an @ADDRESS is only for raw binaries, but "
                                "the format is %s",
                                src->name, f->name);
    if (f->id == OFLASH_FORMAT_BIN && (rc = check_bin_range(src, base, &o))) return rc;

    oflash__load ld = {.name = src->name,
                       .kind = f->where,
                       .allow_missing_eof = o.allow_missing_eof,
                       .ignore_after_eof = o.ignore_after_eof};
    /* Text: at most one data byte per two characters. */
    ld.estimate = f->text ? src->size / 2 : 0;
    rc = f->read(src, &ld, base);
    if (rc) {
        oflash__load_free(&ld);
        return rc;
    }
    return finish_load(img, &ld, path, src, f->id, base, o.allow_identical_overlap);
}

/* "PATH@ADDR": split when ADDR is a number and PATH is not an existing file
 * of that whole name.  Returns 1 when split, 0 when spec is a plain path,
 * or a negative code when ADDR looks like an address but is ambiguous
 * ("fw.bin@08000000": octal to C, hex to the user). */
static int split_at(const char *spec, char **path, uint32_t *addr)
{
    const char *at = strrchr(spec, '@');
    const char *a = at ? at + 1 : NULL;
    struct stat st;
    if (!at || at == spec || !a[0]) return 0;
    if (stat(spec, &st) == 0) return 0;
    bool hexdigits = true, letters = false;
    for (const char *c = a; *c; c++) {
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F')))
            hexdigits = false;
        if ((*c >= 'a' && *c <= 'f') || (*c >= 'A' && *c <= 'F')) letters = true;
    }
    bool has_0x = a[0] == '0' && (a[1] == 'x' || a[1] == 'X');
    if (!has_0x && hexdigits && ((a[0] == '0' && a[1]) || letters))
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: address '%s' has no 0x: is it hex? (expected %.*s@0x%s for "
                                "a hex address, or a decimal number without leading zeros)",
                                spec, a, (int)(at - spec), spec, a);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(a, &end, 0);
    if (errno || *end || a[0] == '-' || a[0] == '+' || a[0] == ' ') return 0;
    if (v > 0xFFFFFFFFull)
        return oflash_error_set(OFLASH_ERANGE,
                                "%s: address %s is above 0xFFFFFFFF (expected a 32-bit address)",
                                spec, a);
    *path = strndup(spec, (size_t)(at - spec));
    if (!*path) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    *addr = (uint32_t)v;
    return 1;
}

int oflash_image_load(oflash_image *img, const char *spec, const oflash_image_load_opts *opts)
{
    char *path = NULL;
    uint32_t at = 0;
    int split = split_at(spec, &path, &at);
    if (split < 0) return split;
    const char *p = split ? path : spec;
    oflash__src src;
    int rc = oflash__src_open(&src, p);
    if (!rc) {
        rc = load_src(img, &src, p, opts, split == 1, at);
        oflash__src_close(&src);
    }
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
