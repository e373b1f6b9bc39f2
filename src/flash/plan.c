/*
 * plan.c - the pure planner: image + device + view of the chip -> plan.
 *
 * OTP is planned by the device's OTP rules (oflash_device_otp_rules: the
 * family's, applied by address whatever banks a device file declares):
 * block + lock-byte kind (lock bytes hold 0x00 or 0xFF only, written last,
 * locked blocks never change) or write-once units; OTP is never erased.
 *
 * The planner does no I/O of its own: what it needs of the chip it asks
 * through the oflash_target_view callbacks (a CRC-32 of a range, a read of
 * a range), and it asks as little as it can:
 *  - first, where the view is a connected target that can scan
 *    (oflash__view_scan: the family's CRC unit, one run on the core for all
 *    sectors), whether each touched sector holds its expected contents or
 *    is blank; such a sector needs nothing more (the overlay view answers
 *    from what it is known to hold); the others are asked as follows:
 *  - one CRC per touched sector (blank? already equal when fully covered?),
 *  - one CRC per image-covered range of a partially covered, non-blank
 *    sector (already equal?),
 *  - one CRC per uncovered range of a sector it must erase, and a read only
 *    of those ranges that are not blank (bytes to keep),
 *  - one read of the OTP blocks (and their lock bytes) the image's OTP
 *    bytes are in.
 *
 * Invariants of a plan made here:
 *  - sectors[] is in address order; each entry's data (when not NULL) is the
 *    complete contents the sector must hold after the run, and crc its
 *    CRC-32;
 *  - otp_writes[] holds only bytes whose chip value is 0xFF and whose block
 *    is not locked; locks[] holds only lock bytes at 0xFF on the chip that
 *    the image sets to 0x00;
 *  - conflict_count > 0 means the plan must not be executed.
 */
#include "oflash/flash.h"
#include "oflash/error.h"
#include "oflash/sys/family.h"
#include "flash_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPORTED_RANGES 4

/* ---- the snapshot view ---- */

static int image_view_read(void *ctx, void *buf, uint32_t addr, uint32_t len)
{
    oflash_image_read(buf, (const oflash_image *)ctx, addr, len, 0xFF);
    return 0;
}

static int image_view_crc(void *ctx, uint32_t *crc, uint32_t addr, uint32_t len)
{
    uint8_t tmp[4096];
    uint32_t c = 0;
    while (len) {
        uint32_t n = len < sizeof tmp ? len : (uint32_t)sizeof tmp;
        oflash_image_read(tmp, (const oflash_image *)ctx, addr, n, 0xFF);
        c = oflash_crc32(c, tmp, n);
        addr += n;
        len -= n;
    }
    *crc = c;
    return 0;
}

void oflash_target_view_from_image(oflash_target_view *view, const oflash_image *contents)
{
    view->crc32 = image_view_crc;
    view->read = image_view_read;
    view->ctx = (void *)contents;
}

/* ---- helpers ---- */

/* CRC-32 of len bytes of value v. */
static uint32_t crc_of_fill(uint8_t v, uint32_t len)
{
    uint8_t tmp[1024];
    uint32_t c = 0;
    memset(tmp, v, sizeof tmp);
    while (len) {
        uint32_t n = len < sizeof tmp ? len : (uint32_t)sizeof tmp;
        c = oflash_crc32(c, tmp, n);
        len -= n;
    }
    return c;
}

static bool all_value(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

/* A range [start, end) with end exclusive in 64 bits (no wrap at 4 GiB). */
typedef struct range {
    uint64_t start, end;
} range;

typedef struct range_list {
    range *r;
    size_t n, cap;
} range_list;

static int range_push(range_list *l, uint64_t start, uint64_t end)
{
    if (l->n && l->r[l->n - 1].end == start) {
        l->r[l->n - 1].end = end;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        range *r = realloc(l->r, cap * sizeof *r);
        if (!r) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        l->r = r;
        l->cap = cap;
    }
    l->r[l->n].start = start;
    l->r[l->n].end = end;
    l->n++;
    return 0;
}

/* The image's ranges inside [start, end), in address order. */
static int image_ranges_in(const oflash_image *img, uint64_t start, uint64_t end, range_list *out)
{
    size_t n = oflash_image_segment_count(img);
    out->n = 0;
    for (size_t i = 0; i < n; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint64_t a = s->addr, b = (uint64_t)s->addr + s->size;
        if (b <= start) continue;
        if (a >= end) break;
        int rc = range_push(out, a > start ? a : start, b < end ? b : end);
        if (rc) return rc;
    }
    return 0;
}

static const oflash_segment *segment_at(const oflash_image *img, uint32_t addr)
{
    size_t n = oflash_image_segment_count(img);
    for (size_t i = 0; i < n; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        if (addr >= s->addr && addr - s->addr < s->size) return s;
    }
    return NULL;
}

/* The start of the first bank above addr, or 2^32. */
static uint64_t next_bank_start(const oflash_device *dev, uint64_t addr)
{
    uint64_t best = 1ull << 32;
    for (size_t i = 0; i < dev->bank_count; i++)
        if (dev->banks[i].base >= addr && dev->banks[i].base < best) best = dev->banks[i].base;
    return best;
}

static const char *region_kind_name(oflash_region_kind k)
{
    switch (k) {
    case OFLASH_REGION_RAM:
        return "RAM";
    case OFLASH_REGION_SYSMEM:
        return "system memory";
    case OFLASH_REGION_OPTION:
        return "option bytes";
    case OFLASH_REGION_ID:
        return "ID registers";
    case OFLASH_REGION_PERIPH:
        return "peripherals";
    }
    return "?";
}

static const oflash_region *region_at(const oflash_device *dev, uint32_t addr)
{
    for (size_t i = 0; i < dev->region_count; i++) {
        const oflash_region *r = &dev->regions[i];
        if (addr >= r->base && addr - r->base < r->size) return r;
    }
    return NULL;
}

/* Every image byte must lie in a bank.  Error naming the ranges that do not,
 * what they hit, and the memory map. */
static int check_mapping(const oflash_image *img, const oflash_device *dev)
{
    range_list bad = {0};
    size_t n = oflash_image_segment_count(img);
    int rc = 0;

    for (size_t i = 0; i < n && !rc; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        uint64_t p = s->addr, end = (uint64_t)s->addr + s->size;
        while (p < end && !rc) {
            const oflash_bank *b = oflash_device_bank_at(dev, (uint32_t)p);
            if (b) {
                uint64_t bend = (uint64_t)b->base + b->size;
                p = bend < end ? bend : end;
            } else {
                uint64_t nb = next_bank_start(dev, p);
                uint64_t q = nb < end ? nb : end;
                rc = range_push(&bad, p, q);
                p = q;
            }
        }
    }
    if (!rc && bad.n) {
        char msg[1024], map[512];
        size_t off = 0;
        oflash_device_describe_map(map, sizeof map, dev);
        for (size_t i = 0; i < bad.n && i < MAX_REPORTED_RANGES; i++) {
            uint32_t a = (uint32_t)bad.r[i].start;
            const oflash_region *r = region_at(dev, a);
            const oflash_segment *s = segment_at(img, a);
            int k = snprintf(msg + off, sizeof msg - off, "%s0x%08X-0x%08X", i ? ", " : "", a,
                             (uint32_t)(bad.r[i].end - 1));
            if (k > 0 && (size_t)k < sizeof msg - off) off += (size_t)k;
            if (r) {
                k = snprintf(msg + off, sizeof msg - off, " (%s, %s)", r->name,
                             region_kind_name(r->kind));
                if (k > 0 && (size_t)k < sizeof msg - off) off += (size_t)k;
            }
            if (s && s->source) {
                k = snprintf(msg + off, sizeof msg - off, " from %s", s->source);
                if (k > 0 && (size_t)k < sizeof msg - off) off += (size_t)k;
            }
        }
        rc = oflash_error_set(OFLASH_ERANGE,
                              "image bytes outside every flash and OTP bank of %s: %s%s "
                              "(memory map: %s)",
                              dev->name, msg, bad.n > MAX_REPORTED_RANGES ? ", ..." : "", map);
    }
    free(bad.r);
    return rc;
}

static int push_conflict(oflash_plan *p, size_t *cap, oflash_conflict_kind kind, uint16_t block,
                         uint32_t addr, uint8_t chip, uint8_t image)
{
    if (p->conflict_count == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        oflash_plan_conflict *n = realloc(p->conflicts, c * sizeof *n);
        if (!n) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        p->conflicts = n;
        *cap = c;
    }
    p->conflicts[p->conflict_count++] = (oflash_plan_conflict){kind, block, addr, chip, image};
    return 0;
}

/* An OTP area by address (data or lock bytes): what the rules say, whatever
 * banks a device file declares over it. */
typedef struct otp_area {
    uint32_t base, size;
    uint32_t block; /* bytes per block: data block_size, lock bytes 1 */
} otp_area;

/* Fill has[]/val[] with the image bytes of area b (size bytes). */
static int image_bank_bytes(const oflash_image *img, const otp_area *b, uint8_t *val, bool *has,
                            size_t *count)
{
    range_list rl = {0};
    int rc = image_ranges_in(img, b->base, (uint64_t)b->base + b->size, &rl);
    *count = 0;
    memset(has, 0, b->size);
    memset(val, 0xFF, b->size);
    for (size_t i = 0; i < rl.n && !rc; i++) {
        uint32_t off = (uint32_t)(rl.r[i].start - b->base);
        uint32_t len = (uint32_t)(rl.r[i].end - rl.r[i].start);
        oflash_image_read(val + off, img, (uint32_t)rl.r[i].start, len, 0xFF);
        memset(has + off, 1, len);
        *count += len;
    }
    free(rl.r);
    return rc;
}

/* The OTP block of addr in area b, or -1. */
static int block_of(const otp_area *b, uint32_t addr)
{
    if (addr < b->base || addr - b->base >= b->size || !b->block) return -1;
    return (int)((addr - b->base) / b->block);
}

/* ---- OTP ---- */

typedef struct otp_state {
    oflash_otp_rules rules;      /* kind NONE: the device has no OTP */
    otp_area otp_a, lock_a;      /* what otp and lock point at */
    const otp_area *otp, *lock;  /* NULL when absent */
    uint8_t *otp_val, *lock_val; /* image values */
    bool *otp_has, *lock_has;
    size_t otp_count, lock_count;
} otp_state;

static void otp_state_free(otp_state *s)
{
    free(s->otp_val);
    free(s->lock_val);
    free(s->otp_has);
    free(s->lock_has);
}

/* The image's OTP bytes, by the address ranges of the device's OTP rules
 * (oflash_device_otp_rules: the family's, else its OTP / OTP_LOCK banks). */
static int otp_collect(const oflash_image *img, const oflash_device *dev, otp_state *s)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = oflash_device_otp_rules(&s->rules, dev)) < 0) return rc;
    if (s->rules.kind != OFLASH_OTP_NONE && s->rules.data_size) {
        s->otp_a = (otp_area){s->rules.data_base, s->rules.data_size,
                              s->rules.block_size ? s->rules.block_size : s->rules.data_size};
        s->otp = &s->otp_a;
    }
    if (s->rules.kind == OFLASH_OTP_BLOCK_LOCK && s->rules.lock_count) {
        s->lock_a = (otp_area){s->rules.lock_base, s->rules.lock_count, 1};
        s->lock = &s->lock_a;
    }
    if (s->otp) {
        s->otp_val = malloc(s->otp->size);
        s->otp_has = malloc(s->otp->size);
        if (!s->otp_val || !s->otp_has) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        rc = image_bank_bytes(img, s->otp, s->otp_val, s->otp_has, &s->otp_count);
    }
    if (!rc && s->lock) {
        s->lock_val = malloc(s->lock->size);
        s->lock_has = malloc(s->lock->size);
        if (!s->lock_val || !s->lock_has) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        rc = image_bank_bytes(img, s->lock, s->lock_val, s->lock_has, &s->lock_count);
    }
    return rc;
}

/* "0, 3, 7" of the blocks set in mask. */
static void format_blocks(uint32_t mask, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < 32; i++)
        if (mask & (1u << i)) {
            int k = snprintf(buf + off, len - off, "%s%d", off ? ", " : "", i);
            if (k < 0 || (size_t)k >= len - off) break;
            off += (size_t)k;
        }
}

static uint32_t otp_block_mask(const otp_state *s, uint32_t *data_mask, uint32_t *lock_mask)
{
    *data_mask = *lock_mask = 0;
    for (uint32_t i = 0; s->otp && i < s->otp->size; i++)
        if (s->otp_has[i]) {
            int blk = block_of(s->otp, s->otp->base + i);
            if (blk >= 0 && blk < 32) *data_mask |= 1u << blk;
        }
    for (uint32_t i = 0; s->lock && i < s->lock->size; i++)
        if (s->lock_has[i]) {
            int blk = block_of(s->lock, s->lock->base + i);
            if (blk >= 0 && blk < 32) *lock_mask |= 1u << blk;
        }
    return *data_mask | *lock_mask;
}

/* chip can become img by clearing bits only.  That alone is no evidence of
 * an interrupted write ("SN-0005" can become "SN-0001"): see started(). */
static bool partial_of(uint8_t chip, uint8_t img)
{
    return chip != 0xFF && chip != img && (chip & img) == img;
}

/* Write-once units (OFLASH_OTP_WRITE_ONCE): the chip's unit all erased ->
 * program the unit, equal -> nothing, anything else -> one conflict at the
 * first differing byte (a unit with a bit at 0 cannot be written again, so
 * --otp-resume does not apply).  Every unit the image touches is whole
 * (check_otp_units). */
static int otp_plan_units(oflash_plan *p, const otp_state *s, const uint8_t *chip_otp,
                          uint32_t unit, uint8_t erased, size_t *ccap, size_t *wn)
{
    for (uint32_t u = 0; u + unit <= s->otp->size; u += unit) {
        bool any = false, blank = true, equal = true;
        uint32_t first = 0;
        for (uint32_t k = u; k < u + unit; k++) {
            any |= s->otp_has[k];
            blank &= chip_otp[k] == erased;
            if (s->otp_has[k] && chip_otp[k] != s->otp_val[k] && equal) {
                equal = false;
                first = k;
            }
        }
        if (!any) continue;
        int blk = block_of(s->otp, s->otp->base + u);
        if (equal) {
            p->otp_equal += unit;
        } else if (blank) {
            for (uint32_t k = u; k < u + unit; k++)
                if (s->otp_has[k] && chip_otp[k] != s->otp_val[k])
                    p->otp_writes[(*wn)++] = (oflash_plan_otp_byte){s->otp->base + k, (uint16_t)blk,
                                                                    chip_otp[k], s->otp_val[k]};
                else if (s->otp_has[k])
                    p->otp_equal++;
        } else {
            int rc = push_conflict(p, ccap, OFLASH_CONFLICT_OTP_VALUE, (uint16_t)blk,
                                   s->otp->base + first, chip_otp[first], s->otp_val[first]);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Does the recovery journal show a write of img at addr as started? */
static bool started(const oflash_plan_opts *o, uint32_t addr, uint8_t img)
{
    for (size_t i = 0; o->otp_started && i < o->otp_started_count; i++)
        if (o->otp_started[i].addr == addr) return o->otp_started[i].value == img;
    return false;
}

/* A byte a journaled write left partly programmed: only then is it a
 * "partial" conflict, and only then may otp_resume finish it. */
static bool interrupted(const oflash_plan_opts *o, uint32_t addr, uint8_t chip, uint8_t img)
{
    return partial_of(chip, img) && started(o, addr, img);
}

/* The state of one block from the plan's writes, locks and conflicts. */
static oflash_otp_block_state block_state(const oflash_plan *p, uint16_t blk)
{
    for (size_t i = 0; i < p->conflict_count; i++)
        if (p->conflicts[i].block == blk) return OFLASH_OTP_BLOCK_CONFLICT;
    for (size_t i = 0; i < p->otp_write_count; i++)
        if (p->otp_writes[i].block == blk) return OFLASH_OTP_BLOCK_PROGRAM;
    for (size_t i = 0; i < p->lock_count; i++)
        if (p->locks[i].block == blk) return OFLASH_OTP_BLOCK_PROGRAM;
    return OFLASH_OTP_BLOCK_EQUAL;
}

/* p->otp_blocks: every block the image touches, chip and image side by
 * side (the span of the image's bytes in the block). */
static int otp_blocks(oflash_plan *p, const otp_state *s, const uint8_t *chip_otp,
                      const uint8_t *chip_lock)
{
    uint32_t nblk = 0, bsz = s->otp ? s->otp->block : 0;
    size_t bytes = 0, n = 0, off = 0;
    if (s->otp && bsz) nblk = (s->otp->size + bsz - 1) / bsz;
    if (s->lock && s->lock->size > nblk) nblk = s->lock->size;
    if (!nblk) return 0;
    p->otp_blocks = calloc(nblk, sizeof *p->otp_blocks);
    if (s->otp) bytes = 2 * (size_t)s->otp->size;
    p->otp_block_bytes = malloc(bytes ? bytes : 1);
    if (!p->otp_blocks || !p->otp_block_bytes)
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (uint32_t b = 0; b < nblk; b++) {
        oflash_plan_otp_block *ob = &p->otp_blocks[n];
        uint32_t first = 0, last = 0;
        bool any = false;
        bool img_any = false;
        /* The span of the image's bytes and of the chip's programmed ones:
         * a shorter image serial is shown against the chip's whole one. */
        for (uint32_t k = b * bsz; s->otp && bsz && k < (b + 1) * bsz && k < s->otp->size; k++)
            img_any |= s->otp_has[k];
        for (uint32_t k = b * bsz; img_any && k < (b + 1) * bsz && k < s->otp->size; k++)
            if (s->otp_has[k] || chip_otp[k] != s->rules.erased) {
                if (!any) first = k;
                last = k;
                any = true;
            }
        ob->has_lock = s->lock != NULL;
        ob->image_lock = s->lock && b < s->lock->size && s->lock_has[b];
        if (!img_any && !ob->image_lock) continue;
        ob->block = (uint16_t)b;
        if (any) {
            uint8_t *c = p->otp_block_bytes + off, *im = c + (last - first + 1);
            ob->addr = s->otp->base + first;
            ob->len = last - first + 1;
            for (uint32_t k = first; k <= last; k++) {
                c[k - first] = chip_otp[k];
                im[k - first] = s->otp_has[k] ? s->otp_val[k] : s->rules.erased;
            }
            ob->chip = c;
            ob->image = im;
            off += 2 * (size_t)ob->len;
        }
        ob->chip_locked = s->lock && b < s->lock->size && chip_lock[b] != 0xFF;
        ob->image_locks = ob->image_lock && s->lock_val[b] == 0x00;
        ob->state = block_state(p, (uint16_t)b);
        n++;
    }
    p->otp_block_count = n;
    return 0;
}

char *oflash_otp_text(char *buf, size_t size, const uint8_t *bytes, size_t n)
{
    size_t len = n, off = 0;
    bool text = true, blank = true;
    if (!size) return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        blank &= bytes[i] == 0xFF;
    if (blank) {
        snprintf(buf, size, n ? "blank" : "nothing");
        return buf;
    }
    while (len && (bytes[len - 1] == 0xFF || bytes[len - 1] == 0x00))
        len--;
    while (len && bytes[0] == 0xFF) {
        bytes++;
        len--;
    }
    for (size_t i = 0; i < len; i++)
        text &= bytes[i] >= 0x20 && bytes[i] < 0x7F && bytes[i] != '"';
    if (text && len) {
        bool quote = memchr(bytes, ' ', len) != NULL;
        if (len + 3 <= size) {
            snprintf(buf, size, "%s%.*s%s", quote ? "\"" : "", (int)len, (const char *)bytes,
                     quote ? "\"" : "");
            return buf;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (off + 3 + 4 > size) { /* room for " XX" and " ..." */
            snprintf(buf + off, size - off, "%s...", off ? " " : "");
            break;
        }
        off += (size_t)snprintf(buf + off, size - off, "%s%02X", i ? " " : "", bytes[i]);
    }
    return buf;
}

/* Per-byte OTP decisions against the chip's current OTP and lock bytes. */
static int otp_plan(oflash_plan *p, const otp_state *s, const oflash_target_view *view,
                    const oflash_plan_opts *o, const oflash_otp_rules *rules)
{
    const bool resume = o->otp_resume;
    uint8_t *chip_otp = NULL, *chip_lock = NULL;
    size_t ccap = 0, wn = 0, ln = 0;
    int rc = 0;

    if (s->otp) chip_otp = malloc(s->otp->size);
    if (s->lock) chip_lock = malloc(s->lock->size);
    if ((s->otp && !chip_otp) || (s->lock && !chip_lock)) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }
    /* Only the span of bytes the decisions below look at is read (the
     * blocks and write-once units the image's OTP bytes are in; the lock
     * bytes of those blocks and the image's lock bytes): through a debug
     * server every word read costs, and a serial is a few bytes of a
     * 512-byte area. */
    if (s->otp_count) {
        uint32_t lo = UINT32_MAX, hi = 0, unit = 1, blk = s->otp->block ? s->otp->block : 1;
        if (rules->kind == OFLASH_OTP_WRITE_ONCE && rules->write_unit > 1) unit = rules->write_unit;
        memset(chip_otp, rules->erased, s->otp->size);
        for (uint32_t i = 0; i < s->otp->size; i++)
            if (s->otp_has[i]) {
                if (lo == UINT32_MAX) lo = i / blk * blk / unit * unit;
                hi = i;
            }
        if (lo != UINT32_MAX) {
            hi = hi / blk * blk + blk;
            hi = (hi + unit - 1) / unit * unit;
            if (hi > s->otp->size) hi = s->otp->size;
            if ((rc = view->read(view->ctx, chip_otp + lo, s->otp->base + lo, hi - lo)) < 0)
                goto out;
        }
    }
    /* The lock bytes are needed for data bytes too (is the block locked?). */
    if (s->lock) {
        uint32_t lo = UINT32_MAX, hi = 0;
        memset(chip_lock, 0xFF, s->lock->size);
        for (uint32_t i = 0; i < s->lock->size; i++) {
            bool need = s->lock_has[i];
            for (uint32_t k = 0; s->otp && !need && s->otp->block && k < s->otp->block &&
                                 (uint64_t)i * s->otp->block + k < s->otp->size;
                 k++)
                need = s->otp_has[i * s->otp->block + k];
            if (need) {
                if (lo == UINT32_MAX) lo = i;
                hi = i + 1;
            }
        }
        if (lo != UINT32_MAX &&
            (rc = view->read(view->ctx, chip_lock + lo, s->lock->base + lo, hi - lo)) < 0)
            goto out;
    }

    p->otp_writes = calloc(s->otp_count ? s->otp_count : 1, sizeof *p->otp_writes);
    p->locks = calloc(s->lock_count ? s->lock_count : 1, sizeof *p->locks);
    if (!p->otp_writes || !p->locks) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }

    if (s->otp && rules->kind == OFLASH_OTP_WRITE_ONCE && rules->write_unit > 1) {
        if ((rc = otp_plan_units(p, s, chip_otp, rules->write_unit, rules->erased, &ccap, &wn)))
            goto out;
    }
    for (uint32_t i = 0; s->otp && rules->kind != OFLASH_OTP_WRITE_ONCE && i < s->otp->size; i++) {
        if (!s->otp_has[i]) continue;
        uint32_t addr = s->otp->base + i;
        int blk = block_of(s->otp, addr);
        uint8_t chip = chip_otp[i], img = s->otp_val[i];
        bool locked = false;
        if (s->lock && blk >= 0 && (uint32_t)blk < s->lock->size) locked = chip_lock[blk] != 0xFF;
        if (chip == img) {
            p->otp_equal++;
        } else if (locked) {
            rc =
                push_conflict(p, &ccap, OFLASH_CONFLICT_OTP_LOCKED, (uint16_t)blk, addr, chip, img);
        } else if (chip == 0xFF || (resume && interrupted(o, addr, chip, img))) {
            p->otp_writes[wn++] = (oflash_plan_otp_byte){addr, (uint16_t)blk, chip, img};
        } else if (interrupted(o, addr, chip, img)) {
            rc = push_conflict(p, &ccap, OFLASH_CONFLICT_OTP_PARTIAL, (uint16_t)blk, addr, chip,
                               img);
        } else {
            rc = push_conflict(p, &ccap, OFLASH_CONFLICT_OTP_VALUE, (uint16_t)blk, addr, chip, img);
        }
        if (rc) goto out;
    }
    for (uint32_t i = 0; s->lock && i < s->lock->size; i++) {
        if (!s->lock_has[i]) continue;
        uint32_t addr = s->lock->base + i;
        int blk = block_of(s->lock, addr);
        uint8_t chip = chip_lock[i], img = s->lock_val[i];
        if (chip == img)
            p->locks_equal++;
        else if (chip == 0xFF || (resume && interrupted(o, addr, chip, img)))
            p->locks[ln++] = (oflash_plan_otp_byte){addr, (uint16_t)blk, chip, img};
        else if ((rc = push_conflict(p, &ccap,
                                     interrupted(o, addr, chip, img) ? OFLASH_CONFLICT_OTP_PARTIAL
                                     : img == 0xFF                   ? OFLASH_CONFLICT_LOCK_BYTE
                                                                     : OFLASH_CONFLICT_OTP_VALUE,
                                     (uint16_t)blk, addr, chip, img)) < 0)
            goto out;
    }
    p->otp_write_count = wn;
    p->lock_count = ln;
    rc = otp_blocks(p, s, chip_otp, chip_lock);
out:
    free(chip_otp);
    free(chip_lock);
    return rc;
}

/* OFLASH_OTP_WRITE_ONCE: OTP is written whole units at a time and never
 * padded, so an image covering part of a unit is refused. */
static int check_otp_units(const oflash_image *img, const otp_state *s, const oflash_otp_rules *r)
{
    uint32_t unit = r->write_unit;
    if (!s->otp || r->kind != OFLASH_OTP_WRITE_ONCE || unit <= 1) return 0;
    for (uint32_t u = 0; u + unit <= s->otp->size; u += unit) {
        uint32_t have = 0, first = 0, last = 0;
        for (uint32_t k = u; k < u + unit; k++)
            if (s->otp_has[k]) {
                if (!have) first = k;
                last = k;
                have++;
            }
        if (have == 0 || have == unit) continue;
        const oflash_segment *seg = segment_at(img, s->otp->base + first);
        return oflash_error_set(
            OFLASH_EINVAL,
            "OTP 0x%08X-0x%08X: the image covers only %u of its %u bytes (0x%08X-0x%08X%s%s); "
            "OTP is written %u bytes at a time, once, and never padded: give the whole %u-byte "
            "unit (nothing was written)",
            s->otp->base + u, s->otp->base + u + unit - 1, have, unit, s->otp->base + first,
            s->otp->base + last, seg && seg->source ? ", from " : "",
            seg && seg->source ? seg->source : "", unit, unit);
    }
    return 0;
}

/* Loader limits the plan can foresee: OTP data goes to the loader in whole
 * write units (words, or the rules' / bank's bigger unit), so a loader whose
 * page is smaller than that unit (or not a multiple of it) would fail in
 * the middle of a run, after main flash was written: refuse it now. */
static int check_otp_loader_units(const oflash_plan *p, const oflash_device *dev)
{
    for (size_t i = 0; i < p->otp_write_count; i++) {
        const oflash_plan_otp_byte *w = &p->otp_writes[i];
        const oflash_bank *b = oflash_device_bank_at(dev, w->addr);
        uint32_t unit = 4;
        if (!b) continue; /* check_mapping refused it already */
        if (p->otp_rules.write_unit > unit) unit = p->otp_rules.write_unit;
        if (b->write_unit > unit) unit = b->write_unit;
        if (b->page_size && b->page_size % unit == 0) continue;
        return oflash_error_set(
            OFLASH_EUNSUPPORTED,
            "OTP byte 0x%08X (block %u): the loader of bank '%s'%s%s programs %u-byte pages, "
            "but OTP data is written in %u-byte units; nothing was written (use a loader whose "
            "page is a multiple of %u bytes)",
            w->addr, w->block, b->name, b->loader_path ? " " : "",
            b->loader_path ? b->loader_path : "", b->page_size, unit, unit);
    }
    return 0;
}

/* ---- main flash ---- */

/* known: the chip's CRC of the whole sector when the caller already knows
 * it (NULL: ask the view). */
static int plan_sector(oflash_plan_sector *ps, const oflash_image *img,
                       const oflash_target_view *view, const oflash_plan_opts *opts,
                       const uint32_t *known)
{
    const oflash_bank *b = ps->bank;
    const oflash_sector *sec = ps->sector;
    range_list cov = {0};
    uint32_t chip_crc, blank_crc = crc_of_fill(b->erased_value, sec->size);
    bool full, match = false;
    int rc = 0;

    ps->data = malloc(sec->size);
    if (!ps->data) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    ps->image_bytes =
        (uint32_t)oflash_image_read(ps->data, img, sec->addr, sec->size, b->erased_value);
    full = ps->image_bytes == sec->size;

    if (known)
        chip_crc = *known;
    else if ((rc = view->crc32(view->ctx, &chip_crc, sec->addr, sec->size)) < 0)
        goto out;
    ps->blank = chip_crc == blank_crc;

    if (full || opts->erase_untouched) {
        /* data (image, the rest erased) is the whole target. */
        match = chip_crc == oflash_crc32(0, ps->data, sec->size);
    } else if (ps->blank) {
        /* The uncovered bytes are erased on the chip too: data is the target. */
        match = all_value(ps->data, sec->size, b->erased_value);
    } else {
        /* Partially covered, not blank: compare the covered ranges only. */
        if ((rc = image_ranges_in(img, sec->addr, (uint64_t)sec->addr + sec->size, &cov)) < 0)
            goto out;
        match = true;
        for (size_t i = 0; i < cov.n && match; i++) {
            uint32_t a = (uint32_t)cov.r[i].start, len = (uint32_t)(cov.r[i].end - a), c;
            if ((rc = view->crc32(view->ctx, &c, a, len)) < 0) goto out;
            match = c == oflash_crc32(0, ps->data + (a - sec->addr), len);
        }
        if (!match) {
            /* Keep the old bytes of the gaps: CRC each gap, read the ones
             * that are not blank. */
            uint64_t p = sec->addr, end = (uint64_t)sec->addr + sec->size;
            for (size_t i = 0; i <= cov.n; i++) {
                uint64_t gend = i < cov.n ? cov.r[i].start : end;
                if (gend > p) {
                    uint32_t a = (uint32_t)p, len = (uint32_t)(gend - p), c;
                    if ((rc = view->crc32(view->ctx, &c, a, len)) < 0) goto out;
                    if (c != crc_of_fill(b->erased_value, len)) {
                        if ((rc = view->read(view->ctx, ps->data + (a - sec->addr), a, len)) < 0)
                            goto out;
                        ps->kept_bytes += len;
                    }
                }
                if (i < cov.n) p = cov.r[i].end;
            }
        }
    }

    if (match) {
        ps->action = OFLASH_SECTOR_SKIP;
        free(ps->data);
        ps->data = NULL;
        ps->crc = chip_crc;
        if (!full && !opts->erase_untouched)
            ps->crc = 0; /* only the covered ranges were compared */
    } else {
        ps->action = ps->blank ? OFLASH_SECTOR_PROGRAM : OFLASH_SECTOR_ERASE_PROGRAM;
        ps->crc = oflash_crc32(0, ps->data, sec->size);
        /* Bytes in whole pages that are not all erased. */
        uint32_t page = b->page_size ? b->page_size : 256;
        for (uint32_t off = 0; off < sec->size; off += page) {
            uint32_t n = sec->size - off < page ? sec->size - off : page;
            if (!all_value(ps->data + off, n, b->erased_value)) ps->program_bytes += n;
        }
    }
out:
    free(cov.r);
    return rc;
}

/* CRC-32 of [addr, addr+len) of the image with the gaps erased; *whole
 * tells whether the image covers every byte. */
static int image_crc(const oflash_image *img, uint32_t addr, uint32_t len, uint8_t fill,
                     uint32_t *crc, bool *whole)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    *whole = oflash_image_read(buf, img, addr, len, fill) == len;
    *crc = oflash_crc32(0, buf, len);
    free(buf);
    return 0;
}

/*
 * Two CRCs often settle a whole run of consecutive touched sectors: the
 * first sector, then the rest of the run in one call.  If the first sector
 * is blank and so is the rest (a new chip), or the first already holds the
 * image and so does the rest (a rerun; only when the image covers the run
 * fully or erase_untouched is set), no per-sector CRC is asked for.  When
 * the first sector settles nothing, no run CRC is spent.
 * Out: *kind 0 unknown, 1 all blank, 2 all equal to the image; *first_crc
 * the chip's CRC of the first sector when *have_first.
 */
static int span_check(const oflash_image *img, const oflash_bank *b, const size_t *idx, size_t n,
                      const oflash_target_view *view, const oflash_plan_opts *opts, int *kind,
                      uint32_t *first_crc, bool *have_first)
{
    const oflash_sector *s0 = &b->sectors[idx[0]];
    uint32_t rest = s0->addr + s0->size, len = 0, chip, want, blank;
    bool whole, whole_rest;
    int rc, cand;
    *kind = 0;
    *have_first = false;
    for (size_t i = 1; i < n; i++) {
        const oflash_sector *s = &b->sectors[idx[i]];
        if (idx[i] != idx[i - 1] + 1 || s->addr != rest + len) return 0;
        len += s->size;
    }
    if (n < 2) return 0;
    if ((rc = view->crc32(view->ctx, first_crc, s0->addr, s0->size)) < 0) return rc;
    *have_first = true;
    if ((rc = image_crc(img, s0->addr, s0->size, b->erased_value, &want, &whole)) < 0) return rc;
    whole = whole || opts->erase_untouched;
    if (*first_crc == crc_of_fill(b->erased_value, s0->size))
        cand = 1;
    else if (whole && *first_crc == want)
        cand = 2;
    else
        return 0;
    if ((rc = image_crc(img, rest, len, b->erased_value, &want, &whole_rest)) < 0) return rc;
    whole_rest = whole_rest || opts->erase_untouched;
    blank = crc_of_fill(b->erased_value, len);
    if ((rc = view->crc32(view->ctx, &chip, rest, len)) < 0) return rc;
    if (cand == 1 && chip == blank)
        *kind = 1;
    else if (cand == 2 && whole_rest && chip == want)
        *kind = 2;
    return 0;
}

/* Does [a, a+len) meet the OTP data or lock area? */
static bool meets_otp(const otp_state *o, uint32_t a, uint32_t len)
{
    const otp_area *ar[2] = {o->otp, o->lock};
    for (int i = 0; i < 2; i++)
        if (ar[i] && (uint64_t)a < (uint64_t)ar[i]->base + ar[i]->size &&
            (uint64_t)ar[i]->base < (uint64_t)a + len)
            return true;
    return false;
}

static bool in_otp(const otp_state *o, uint32_t a)
{
    return (o->otp && a - o->otp->base < o->otp->size && a >= o->otp->base) ||
           (o->lock && a - o->lock->base < o->lock->size && a >= o->lock->base);
}

/* OTP rules apply by address: whatever bank a device file declares over the
 * OTP area (plain flash, one loader sector over data and lock bytes, ...)
 * is never erased or planned as flash there.  Image bytes in such a bank
 * outside the OTP area, in a sector that meets it, or in a bank of kind
 * OTP / OTP_LOCK outside the area the rules know are refused: no rule
 * would decide what to do with them. */
static int check_otp_banks(const oflash_image *img, const oflash_device *dev, const otp_state *o)
{
    range_list rl = {0};
    int rc = 0;
    for (size_t bi = 0; bi < dev->bank_count && !rc; bi++) {
        const oflash_bank *b = &dev->banks[bi];
        if (b->kind == OFLASH_BANK_FLASH && !meets_otp(o, b->base, b->size)) continue;
        if ((rc = image_ranges_in(img, b->base, (uint64_t)b->base + b->size, &rl)) < 0) break;
        for (size_t i = 0; i < rl.n && !rc; i++)
            for (uint64_t a = rl.r[i].start; a < rl.r[i].end; a++) {
                int si;
                if (in_otp(o, (uint32_t)a)) continue;
                si = b->kind == OFLASH_BANK_FLASH ? oflash_bank_sector_at(b, (uint32_t)a) : -1;
                if (b->kind == OFLASH_BANK_FLASH &&
                    (si < 0 || !meets_otp(o, b->sectors[si].addr, b->sectors[si].size))) {
                    a = si < 0 ? a : (uint64_t)b->sectors[si].addr + b->sectors[si].size - 1;
                    continue;
                }
                const oflash_segment *seg = segment_at(img, (uint32_t)a);
                rc = oflash_error_set(
                    OFLASH_ERANGE,
                    "image byte 0x%08X%s%s lies in bank '%s' (0x%08X-0x%08X) %s the OTP area of "
                    "%s (data 0x%08X-0x%08X%s): no OTP or flash rule covers it",
                    (uint32_t)a, seg && seg->source ? " from " : "",
                    seg && seg->source ? seg->source : "", b->name, b->base, b->base + b->size - 1,
                    b->kind == OFLASH_BANK_FLASH ? "in a sector shared with" : "outside", dev->name,
                    o->otp ? o->otp->base : 0, o->otp ? o->otp->base + o->otp->size - 1 : 0,
                    o->lock ? ", lock bytes follow" : "");
                break;
            }
    }
    free(rl.r);
    return rc;
}

/* ---- sectors the chip was scanned for in one call ----
 *
 * Where the view can scan (a connected target whose family has a CRC unit,
 * oflash__view_scan), the planner asks once, before anything else, whether
 * each touched sector holds exactly its expected contents (the image, the
 * rest erased) or is blank.  A sector known that way needs no further
 * question: its CRCs and bytes are computed on the host from what it is
 * known to hold (the overlay view below).  A sector that is neither is
 * planned as before, through the view. */

typedef struct known_sector {
    uint32_t addr, size;
    int state; /* SCAN_* */
    uint8_t erased;
    const uint8_t *expect; /* SCAN_EQUAL: the bytes it holds */
} known_sector;

typedef struct overlay {
    const oflash_target_view *view; /* the chip */
    const known_sector *k;
    size_t n;
} overlay;

static const known_sector *known_at(const overlay *o, uint32_t addr, uint32_t len)
{
    for (size_t i = 0; i < o->n; i++) {
        const known_sector *k = &o->k[i];
        if ((k->state == OFLASH__SCAN_EQUAL || k->state == OFLASH__SCAN_BLANK) && addr >= k->addr &&
            (uint64_t)addr + len <= (uint64_t)k->addr + k->size)
            return k;
    }
    return NULL;
}

static int overlay_crc(void *ctx, uint32_t *crc, uint32_t addr, uint32_t len)
{
    const overlay *o = ctx;
    const known_sector *k = known_at(o, addr, len);
    if (!k) return o->view->crc32(o->view->ctx, crc, addr, len);
    *crc = k->state == OFLASH__SCAN_EQUAL ? oflash_crc32(0, k->expect + (addr - k->addr), len)
                                          : crc_of_fill(k->erased, len);
    return 0;
}

static int overlay_read(void *ctx, void *buf, uint32_t addr, uint32_t len)
{
    const overlay *o = ctx;
    const known_sector *k = known_at(o, addr, len);
    if (!k) return o->view->read(o->view->ctx, buf, addr, len);
    if (k->state == OFLASH__SCAN_EQUAL)
        memcpy(buf, k->expect + (addr - k->addr), len);
    else
        memset(buf, k->erased, len);
    return 0;
}

static int plan_flash(oflash_plan *p, const oflash_image *img, const oflash_device *dev,
                      const oflash_target_view *view, const oflash_plan_opts *opts,
                      const otp_state *otp)
{
    size_t cap = 0, nt = 0, ki = 0;
    /* Every touched sector of every flash bank (not those over the OTP
     * area: the OTP rules plan them), in bank and address order. */
    struct {
        const oflash_bank *bank;
        size_t si;
    } *touched = NULL;
    known_sector *known = NULL;
    uint8_t **expect = NULL;
    overlay ov = {view, NULL, 0};
    oflash_target_view oview = {overlay_crc, overlay_read, &ov};
    bool scanned = false;
    range_list rl = {0};
    int rc = 0;

    for (size_t bi = 0; bi < dev->bank_count; bi++)
        if (dev->banks[bi].kind == OFLASH_BANK_FLASH) cap += dev->banks[bi].sector_count;
    touched = malloc((cap ? cap : 1) * sizeof *touched);
    known = calloc(cap ? cap : 1, sizeof *known);
    expect = calloc(cap ? cap : 1, sizeof *expect);
    if (!touched || !known || !expect) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t bi = 0; bi < dev->bank_count && !rc; bi++) {
        const oflash_bank *b = &dev->banks[bi];
        if (b->kind != OFLASH_BANK_FLASH) continue;
        for (size_t si = 0; si < b->sector_count && !rc; si++) {
            const oflash_sector *sec = &b->sectors[si];
            if (meets_otp(otp, sec->addr, sec->size)) continue;
            if ((rc = image_ranges_in(img, sec->addr, (uint64_t)sec->addr + sec->size, &rl)) < 0)
                break;
            if (rl.n) {
                known[nt] = (known_sector){sec->addr, sec->size, OFLASH__SCAN_UNKNOWN,
                                           b->erased_value, NULL};
                touched[nt].bank = b;
                touched[nt++].si = si;
            }
        }
    }
    if (rc || !nt) goto out;

    /* One scan for all of them (views that cannot scan say so). */
    {
        oflash__scan_sector *q = calloc(nt, sizeof *q);
        if (!q) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nt && !rc; i++) {
            if (!(expect[i] = malloc(known[i].size))) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
                break;
            }
            oflash_image_read(expect[i], img, known[i].addr, known[i].size, known[i].erased);
            q[i] = (oflash__scan_sector){known[i].addr, known[i].size, expect[i], known[i].erased,
                                         OFLASH__SCAN_UNKNOWN};
        }
        if (!rc && oflash__view_scan(view, q, nt) == 0) {
            scanned = true;
            for (size_t i = 0; i < nt; i++) {
                known[i].state = q[i].state;
                known[i].expect = expect[i];
            }
            ov.k = known;
            ov.n = nt;
            view = &oview;
        }
        free(q);
        if (rc) goto out;
    }

    for (size_t bi = 0; bi < dev->bank_count && !rc; bi++) {
        const oflash_bank *b = &dev->banks[bi];
        size_t n = 0, *idx;
        int kind = 0;
        uint32_t first_crc = 0;
        bool have_first = false;
        if (b->kind != OFLASH_BANK_FLASH) continue;
        if ((idx = malloc((b->sector_count ? b->sector_count : 1) * sizeof *idx)) == NULL) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            break;
        }
        while (ki + n < nt && touched[ki + n].bank == b) {
            idx[n] = touched[ki + n].si;
            n++;
        }
        if (!n) {
            free(idx);
            continue;
        }
        if (!scanned &&
            (rc = span_check(img, b, idx, n, view, opts, &kind, &first_crc, &have_first)) < 0) {
            oflash_error_prefix("bank '%s': ", b->name);
            free(idx);
            break;
        }
        {
            oflash_plan_sector *ns = realloc(p->sectors, (p->sector_count + n) * sizeof *ns);
            if (!ns) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
                free(idx);
                break;
            }
            p->sectors = ns;
        }
        for (size_t k = 0; k < n && !rc; k++) {
            const oflash_sector *sec = &b->sectors[idx[k]];
            const known_sector *ks = &known[ki + k];
            oflash_plan_sector *ps = &p->sectors[p->sector_count++];
            uint32_t known_crc = 0;
            bool whole, have = kind || (k == 0 && have_first);
            memset(ps, 0, sizeof *ps);
            ps->bank = b;
            ps->sector = sec;
            if (scanned) {
                uint32_t blank = crc_of_fill(b->erased_value, sec->size);
                have = true;
                if (ks->state == OFLASH__SCAN_EQUAL) {
                    known_crc = oflash_crc32(0, ks->expect, sec->size);
                } else if (ks->state == OFLASH__SCAN_BLANK) {
                    known_crc = blank;
                } else {
                    /* Neither blank nor the expected contents (a CRC that
                     * differs proves it): any value that is neither says
                     * so; the covered ranges of a partly covered sector
                     * are still compared through the view. */
                    known_crc = oflash_crc32(0, ks->expect, sec->size) ^ 1u;
                    if (known_crc == blank) known_crc ^= 2u;
                }
            } else if (k == 0 && have_first) {
                known_crc = first_crc;
            } else if (kind == 1) {
                known_crc = crc_of_fill(b->erased_value, sec->size);
            } else if (kind == 2 && (rc = image_crc(img, sec->addr, sec->size, b->erased_value,
                                                    &known_crc, &whole)) < 0) {
                break;
            }
            rc = plan_sector(ps, img, view, opts, have ? &known_crc : NULL);
            if (rc)
                oflash_error_prefix("sector %u at 0x%08X: ", sec->number, sec->addr);
            else
                p->image_bytes += ps->image_bytes;
        }
        ki += n;
        free(idx);
    }
out:
    for (size_t i = 0; expect && i < nt; i++)
        free(expect[i]);
    free(expect);
    free(known);
    free(touched);
    free(rl.r);
    return rc;
}

/* The first conflicting block in words: "this chip already holds X (OTP
 * block 0 at 0x1FFF7800, locked); the image has Y". */
static void conflict_sentence(char *buf, size_t size, const oflash_plan *p)
{
    const oflash_plan_otp_block *ob = NULL;
    size_t more = 0;
    char chip[160], image[160];
    for (size_t i = 0; i < p->otp_block_count; i++)
        if (p->otp_blocks[i].state == OFLASH_OTP_BLOCK_CONFLICT) {
            if (!ob)
                ob = &p->otp_blocks[i];
            else
                more++;
        }
    if (!ob) {
        snprintf(buf, size, "this chip's OTP holds other values than the image");
        return;
    }
    bool data_conflict = false;
    for (size_t i = 0; i < p->conflict_count; i++)
        if (p->conflicts[i].block == ob->block && p->conflicts[i].kind != OFLASH_CONFLICT_LOCK_BYTE)
            data_conflict = true;
    if (!data_conflict || !ob->len) {
        snprintf(buf, size,
                 "OTP block %u is locked on this chip and the image leaves it open: a lock cannot "
                 "be undone",
                 ob->block);
    } else {
        oflash_otp_text(chip, sizeof chip, ob->chip, ob->len);
        oflash_otp_text(image, sizeof image, ob->image, ob->len);
        snprintf(buf, size,
                 "this chip already holds %s (OTP block %u at 0x%08X%s); the image has %s", chip,
                 ob->block, ob->addr, ob->chip_locked ? ", locked" : "", image);
    }
    if (more) {
        size_t k = strlen(buf);
        snprintf(buf + k, size - k, " (and %zu more block%s differ%s)", more, more == 1 ? "" : "s",
                 more == 1 ? "s" : "");
    }
}

int oflash_plan_create(oflash_plan **out, const oflash_image *img, const oflash_device *dev,
                       const oflash_target_view *view, const oflash_plan_opts *opts)
{
    oflash_plan_opts defaults = OFLASH_PLAN_OPTS_INIT;
    oflash_plan *p = NULL;
    otp_state otp;
    uint32_t data_mask, lock_mask;
    int rc;

    *out = NULL;
    if (!opts) opts = &defaults;
    if (!img || !dev || !view || !view->crc32 || !view->read)
        return oflash_error_set(OFLASH_EINVAL, "oflash_plan_create: missing argument");
    if (opts->allow_otp && opts->skip_otp)
        return oflash_error_set(OFLASH_EINVAL,
                                "--otp and --skip-otp contradict each other: choose one");

    /* Static checks first: nothing is asked of the chip before they pass. */
    if ((rc = check_mapping(img, dev)) < 0) return rc;
    if ((rc = otp_collect(img, dev, &otp)) < 0) goto fail_otp;

    p = calloc(1, sizeof *p);
    if (!p) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail_otp;
    }
    p->device = dev;
    p->otp_rules = otp.rules;
    p->otp_bank = otp.otp ? oflash_device_bank_at(dev, otp.otp->base) : NULL;
    p->lock_bank = otp.lock ? oflash_device_bank_at(dev, otp.lock->base) : NULL;
    p->otp_blocks_in_image = (uint16_t)otp_block_mask(&otp, &data_mask, &lock_mask);
    if ((rc = check_otp_banks(img, dev, &otp)) < 0) goto fail;

    /* Static OTP checks (whole write units, lock byte values): a dropped
     * (--skip-otp) byte is not checked, every other one is, with or without
     * allow_otp. */
    if (otp.otp_count + otp.lock_count && !opts->skip_otp) {
        if ((rc = check_otp_units(img, &otp, &otp.rules)) < 0) goto fail;
        for (uint32_t i = 0; otp.lock && i < otp.lock->size; i++)
            if (otp.lock_has[i] && otp.lock_val[i] != 0x00 && otp.lock_val[i] != 0xFF) {
                const oflash_segment *s = segment_at(img, otp.lock->base + i);
                rc = oflash_error_set(
                    OFLASH_EINVAL,
                    "lock byte 0x%08X (OTP block %d) is 0x%02X in the image%s%s: lock "
                    "bytes may only be 0x00 (lock the block) or 0xFF (leave it open)",
                    otp.lock->base + i, block_of(otp.lock, otp.lock->base + i), otp.lock_val[i],
                    s && s->source ? ", from " : "", s && s->source ? s->source : "");
                goto fail;
            }
    }

    /* OTP before main flash: a refusal needs only the chip's OTP. */
    if (otp.otp_count + otp.lock_count) {
        if ((rc = otp_plan(p, &otp, view, opts, &otp.rules)) < 0) goto fail;
        if (opts->skip_otp) {
            /* Left out; otp_blocks still says which blocks differ. */
            p->otp_skipped = true;
            p->otp_skipped_bytes = otp.otp_count + otp.lock_count;
            p->otp_write_count = p->lock_count = p->conflict_count = 0;
            p->otp_equal = p->locks_equal = 0;
        } else if (!opts->allow_otp && !p->conflict_count &&
                   (p->otp_write_count || p->lock_count)) {
            if (opts->version >= 2 && opts->show_otp) {
                p->otp_needs_opt_in = true;
            } else {
                char d[128], l[128], what[400];
                uint32_t dm = 0, lm = 0;
                for (size_t i = 0; i < p->otp_write_count; i++)
                    if (p->otp_writes[i].block < 32) dm |= 1u << p->otp_writes[i].block;
                for (size_t i = 0; i < p->lock_count; i++)
                    if (p->locks[i].block < 32) lm |= 1u << p->locks[i].block;
                format_blocks(dm, d, sizeof d);
                format_blocks(lm, l, sizeof l);
                snprintf(what, sizeof what, "%s%s%s%s%s%s%s%s", dm ? "OTP data in block" : "",
                         dm & (dm - 1) ? "s "
                         : dm          ? " "
                                       : "",
                         dm ? d : "", dm && lm ? ", " : "", lm ? "the lock byte" : "",
                         lm & (lm - 1) ? "s of blocks "
                         : lm          ? " of block "
                                       : "",
                         lm ? l : "", lm ? " (locking is irreversible too)" : "");
                rc = oflash_error_set(
                    OFLASH_EPROTECTED,
                    "the image holds one-time-programmable bytes this chip does not hold yet: "
                    "%s; %zu OTP byte%s and %zu lock%s to program; OTP cannot be erased, so they "
                    "are written only with --otp (or left out with --skip-otp); nothing was "
                    "written",
                    what, p->otp_write_count, p->otp_write_count == 1 ? "" : "s", p->lock_count,
                    p->lock_count == 1 ? "" : "s");
                goto fail;
            }
        }
        if ((rc = check_otp_loader_units(p, dev)) < 0) goto fail;
        if (!opts->skip_otp) p->image_bytes += otp.otp_count + otp.lock_count;
    }
    if ((rc = plan_flash(p, img, dev, view, opts, &otp)) < 0) goto fail;
    otp_state_free(&otp);

    *out = p;
    if (p->conflict_count) {
        const oflash_plan_conflict *c = &p->conflicts[0];
        char what[512];
        conflict_sentence(what, sizeof what, p);
        return oflash_error_set(OFLASH_ECONFLICT,
                                "%s. %zu OTP conflict%s, nothing written: first at 0x%08X (OTP "
                                "block %u): chip 0x%02X, image 0x%02X%s",
                                what, p->conflict_count, p->conflict_count == 1 ? "" : "s", c->addr,
                                c->block, c->chip, c->image,
                                c->kind == OFLASH_CONFLICT_OTP_LOCKED ? " (block locked)"
                                : c->kind == OFLASH_CONFLICT_LOCK_BYTE
                                    ? " (lock byte: a locked block cannot be unlocked)"
                                : c->kind == OFLASH_CONFLICT_OTP_PARTIAL
                                    ? " (partly programmed by an interrupted run of this image, "
                                      "as the recovery journal shows: --otp-resume finishes it)"
                                : opts->otp_resume
                                    ? " (already programmed to another value; --otp-resume "
                                      "finishes only a write the recovery journal shows as "
                                      "started on this chip with these values)"
                                    : " (already programmed to another value)");
    }
    return 0;

fail:
    oflash_plan_free(p);
fail_otp:
    otp_state_free(&otp);
    return rc;
}

void oflash_plan_free(oflash_plan *plan)
{
    if (!plan) return;
    for (size_t i = 0; i < plan->sector_count; i++)
        free(plan->sectors[i].data);
    free(plan->sectors);
    free(plan->otp_writes);
    free(plan->locks);
    free(plan->conflicts);
    free(plan->otp_blocks);
    free(plan->otp_block_bytes);
    free(plan);
}

void oflash_plan_summarize(oflash_plan_summary *sum, const oflash_plan *plan)
{
    memset(sum, 0, sizeof *sum);
    for (size_t i = 0; i < plan->sector_count; i++) {
        const oflash_plan_sector *s = &plan->sectors[i];
        switch (s->action) {
        case OFLASH_SECTOR_SKIP:
            sum->sectors_skip++;
            break;
        case OFLASH_SECTOR_ERASE_PROGRAM:
            sum->sectors_erase++;
            sum->erase_bytes += s->sector->size;
            /* fall through */
        case OFLASH_SECTOR_PROGRAM:
            sum->sectors_program++;
            sum->program_bytes += s->program_bytes;
            break;
        }
    }
    sum->otp_bytes = plan->otp_write_count;
    sum->locks = plan->lock_count;
    sum->conflicts = plan->conflict_count;
}

bool oflash_plan_is_noop(const oflash_plan *plan)
{
    oflash_plan_summary s;
    oflash_plan_summarize(&s, plan);
    return !s.sectors_program && !s.otp_bytes && !s.locks;
}
