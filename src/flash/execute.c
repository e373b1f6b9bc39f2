/*
 * execute.c - carry out a plan on a connected target; verify, erase, read,
 * OTP state.
 *
 * Order of work (issue 5; RM0368 rev 5 §3.7.3 and RM0090 rev 19 §3.8 for
 * OTP): erase the planned sectors, program them, verify main flash; then
 * program OTP data, verify it, and only then program lock bytes, one byte
 * per call (the loader writes them x8), each read back.  A plan with
 * conflicts is refused before the first write.  The executor never prints:
 * progress goes through the callback in oflash_flash_opts.
 */
#include "flash_internal.h"
#include "journal_internal.h"
#include "loader/loader_internal.h"
#include "oflash/error.h"
#include "oflash/gdb.h"
#include "oflash/sys/flasher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Main-flash programming is handed to the loader in pieces of this size so
 * that progress moves; the loader fills its RAM buffers from each piece. */
#define PROGRAM_CHUNK (128u * 1024u)

const char *oflash_phase_name(oflash_phase phase)
{
    switch (phase) {
    case OFLASH_PHASE_PLAN:
        return "plan";
    case OFLASH_PHASE_ERASE:
        return "erase";
    case OFLASH_PHASE_PROGRAM:
        return "program";
    case OFLASH_PHASE_VERIFY:
        return "verify";
    case OFLASH_PHASE_OTP:
        return "otp";
    case OFLASH_PHASE_OTP_VERIFY:
        return "otp verify";
    case OFLASH_PHASE_LOCK:
        return "lock";
    case OFLASH_PHASE_READ:
        return "read";
    }
    return "?";
}

typedef struct run {
    oflash_target *t;
    const oflash_flash_opts *o;
    oflash_flasher flm, server, host; /* server.ops NULL: no server flash */
    oflash_flasher_server_ctx server_ctx;
    oflash_flash_stats *st;
    oflash_phase phase;
    uint64_t done, total;
    size_t limit;     /* sectors [limit, count) are left alone (cancelled) */
    bool cancelled;
    bool gate_passed;
} run;

/* The write gate (oflash_flash_opts.gate): 0 when [addr, addr + len) may
 * be written, else the gate's refusal.  Asked once; after that every write
 * passes. */
static int gate(run *r, uint32_t addr, uint64_t len)
{
    const oflash_flash_opts *o = r->o;
    int rc;
    if (r->gate_passed || o->version < 3 || !o->gate || !o->gate_len || !len) return 0;
    if ((uint64_t)addr + len <= o->gate_addr || (uint64_t)o->gate_addr + o->gate_len <= addr)
        return 0;
    if ((rc = o->gate(o->gate_ctx)) < 0) {
        if (oflash_error_last_code() == rc) return rc; /* its message */
        return oflash_error_set(rc, "stopped before writing 0x%08X: the write gate refused",
                                o->gate_addr);
    }
    r->gate_passed = true;
    return 0;
}

/* A cancel request at a safe point (see oflash_flash_opts.cancel). */
static bool cancel_requested(run *r)
{
    if (r->o->version < 2 || !r->o->cancel) return false;
    if (!r->cancelled && r->o->cancel(r->o->cancel_ctx)) r->cancelled = true;
    return r->cancelled;
}

/* The flasher that writes bank: the server's own flash for main flash when
 * one is given, the bank's loader when it has one, else the family's
 * register-level host flasher. */
static const oflash_flasher *flasher_for(run *r, const oflash_bank *b)
{
    const oflash_family_ops *fam = r->t->device->family_ops;
    if (r->server.ops && b->kind == OFLASH_BANK_FLASH) return &r->server;
    if (!b->loader_path && !b->loader_image && !b->loader_name && fam && fam->host_flasher) {
        r->host.ops = fam->host_flasher; /* ctx is the target */
        r->host.ctx = r->t;
        return &r->host;
    }
    return &r->flm;
}

static void progress(run *r, oflash_phase phase, uint64_t done, uint64_t total)
{
    if (r->o->progress) r->o->progress(r->o->progress_ctx, phase, done, total);
}

static bool all_value(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v) return false;
    return true;
}

/* Verify failure message naming the first differing address. */
static int verify_fail(oflash_target *t, uint32_t addr, const uint8_t *want, uint32_t len,
                       const char *what)
{
    uint32_t diff;
    bool found;
    uint8_t chip = 0;
    int rc = oflash__target_find_diff(t, addr, want, len, &diff, &found, &chip);
    if (rc < 0) return rc;
    if (!found)
        return oflash_error_set(OFLASH_EVERIFY,
                                "verify of %s 0x%08X-0x%08X failed: CRC differs but a read-back "
                                "of the range matches (unstable read?)",
                                what, addr, addr + len - 1);
    return oflash_error_set(OFLASH_EVERIFY,
                            "verify failed at 0x%08X (%s 0x%08X-0x%08X): chip 0x%02X, expected "
                            "0x%02X",
                            diff, what, addr, addr + len - 1, chip, want[diff - addr]);
}

static bool crc_mode(oflash_verify_mode m)
{
    return m == OFLASH_VERIFY_CRC || m == OFLASH_VERIFY_LOADER_CRC;
}

/* Compare [addr, addr+len) with want by the chosen method. */
static int verify_range(oflash_target *t, const oflash_bank *bank, uint32_t addr,
                        const uint8_t *want, uint32_t len, uint32_t want_crc,
                        oflash_verify_mode mode, const char *what)
{
    int rc;
    if (mode == OFLASH_VERIFY_NONE || !len) return 0;
    if (crc_mode(mode)) {
        oflash_loader *l;
        uint32_t crc;
        if ((rc = oflash__target_loader(t, bank, OFLASH_FNC_VERIFY, &l)) < 0 ||
            (rc = oflash_loader_crc32(&crc, l, addr, len)) < 0)
            return rc;
        if (crc == want_crc) return 0;
    } else {
        uint32_t diff;
        bool found;
        if ((rc = oflash__target_find_diff(t, addr, want, len, &diff, &found, NULL)) < 0) return rc;
        if (!found) return 0;
    }
    return verify_fail(t, addr, want, len, what);
}

/* ---- write protection: the family's business ---- */

/* Refuse, before anything is written, to erase or program a sector the
 * chip protects (oflash_family_ops.check_protection). */
static int check_protection(oflash_target *t, const oflash_sector *const *sectors, size_t n)
{
    const oflash_family_ops *fam = t->device->family_ops;
    if (!n || !fam || !fam->check_protection) return 0;
    return fam->check_protection(t->device, t->probe, sectors, n);
}

/* A GDB server may refuse OTP programming for its session: oflash
 * gdbserver without its OTP opt-in advertises "oflash-guard=otp" in its
 * qSupported reply (and its simulated chip refuses the loader's OTP
 * writes).  Refuse such a plan before anything is written instead of
 * failing at the first OTP byte after main flash. */
static int check_server_guard(oflash_target *t, const oflash_plan *plan)
{
    const char *v;
    if (!plan->otp_write_count && !plan->lock_count) return 0;
    if (strcmp(oflash_probe_backend(t->probe), "gdb") != 0) return 0;
    v = strstr(oflash_gdb_features(t->probe), "oflash-guard=");
    if (!v) return 0;
    v += strlen("oflash-guard=");
    for (size_t n = strcspn(v, ";"); n;) {
        size_t k = strcspn(v, ",;");
        if (k == 3 && !strncmp(v, "otp", 3))
            return oflash_error_set(OFLASH_EPROTECTED,
                                    "the GDB server refuses OTP programming for this session "
                                    "(oflash gdbserver started without its OTP opt-in); nothing "
                                    "was written: restart the server with --otp");
        if (k >= n) break;
        v += k + 1;
        n -= k + 1;
    }
    return 0;
}

static int check_write_protection(oflash_target *t, const oflash_plan *plan)
{
    const oflash_sector **list;
    size_t n = 0;
    int rc;
    if (!plan->sector_count) return 0;
    list = malloc(plan->sector_count * sizeof *list);
    if (!list) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; i < plan->sector_count; i++)
        if (plan->sectors[i].action != OFLASH_SECTOR_SKIP) list[n++] = plan->sectors[i].sector;
    rc = check_protection(t, list, n);
    free(list);
    return rc;
}

/* Every bank the plan writes has a loader that parses (a missing or broken
 * FLM file is found before the first erase, not after main flash). */
static int check_loaders(const oflash_plan *plan)
{
    const oflash_bank *seen[16];
    size_t nseen = 0;
    size_t n = plan->sector_count + plan->otp_write_count + plan->lock_count;
    for (size_t i = 0; i < n; i++) {
        const oflash_bank *b;
        oflash_flm *flm;
        bool known = false;
        if (i < plan->sector_count) {
            if (plan->sectors[i].action == OFLASH_SECTOR_SKIP) continue;
            b = plan->sectors[i].bank;
        } else if (i < plan->sector_count + plan->otp_write_count) {
            b = oflash_device_bank_at(plan->device, plan->otp_writes[i - plan->sector_count].addr);
        } else {
            b = oflash_device_bank_at(
                plan->device, plan->locks[i - plan->sector_count - plan->otp_write_count].addr);
        }
        for (size_t k = 0; k < nseen && !known; k++)
            known = seen[k] == b;
        if (known || !b) continue;
        if (!b->loader_path && !b->loader_image && !b->loader_name &&
            plan->device->family_ops && plan->device->family_ops->host_flasher)
            continue; /* written by the family's host flasher */
        if (oflash__bank_flm(b, &flm) < 0)
            return oflash_error_prefix("bank '%s' (nothing was written): ", b->name);
        oflash_flm_free(flm);
        if (nseen < sizeof seen / sizeof seen[0]) seen[nseen++] = b;
    }
    return 0;
}

int oflash_flash_check(oflash_target *t, const oflash_plan *plan)
{
    int rc;
    if (plan->device != t->device)
        return oflash_error_set(OFLASH_EINVAL, "the plan was made for %s, the target is %s",
                                plan->device->name, t->device->name);
    if (plan->conflict_count)
        return oflash_error_set(OFLASH_ECONFLICT, "%zu OTP conflict%s: refusing to write anything",
                                plan->conflict_count, plan->conflict_count == 1 ? "" : "s");
    if ((rc = check_server_guard(t, plan)) < 0 || (rc = check_write_protection(t, plan)) < 0)
        return rc;
    return check_loaders(plan);
}

/* ---- main flash ---- */

static int erase_sectors(run *r, const oflash_plan *plan)
{
    uint64_t total = 0, done = 0;
    int rc = 0;

    for (size_t i = 0; i < plan->sector_count; i++)
        if (plan->sectors[i].action == OFLASH_SECTOR_ERASE_PROGRAM)
            total += plan->sectors[i].sector->size;
    if (!total) return 0;
    progress(r, OFLASH_PHASE_ERASE, 0, total);
    for (size_t i = 0; i < plan->sector_count;) {
        const oflash_plan_sector *s = &plan->sectors[i];
        size_t j = i + 1;
        uint32_t len = s->sector->size;
        if (s->action != OFLASH_SECTOR_ERASE_PROGRAM) {
            i++;
            continue;
        }
        /* Safe point: what is erased so far gets programmed and verified,
         * the rest is left for a rerun. */
        if (cancel_requested(r)) {
            r->limit = i;
            return 0;
        }
        /* A run of consecutive sectors of one bank: one call when the
         * loader can erase several (SEGGER_OPEN_Erase). */
        while (!(r->o->version >= 2 && r->o->cancel) && j < plan->sector_count &&
               plan->sectors[j].action == OFLASH_SECTOR_ERASE_PROGRAM &&
               plan->sectors[j].bank == s->bank &&
               plan->sectors[j].sector == plan->sectors[j - 1].sector + 1) {
            len += plan->sectors[j].sector->size;
            j++;
        }
        const oflash_flasher *f = flasher_for(r, s->bank);
        if ((rc = gate(r, s->sector->addr, len)) < 0) return rc;
        rc = f->ops->erase(f->ctx, s->bank, s->sector, j - i);
        if (rc < 0)
            return oflash_error_prefix("erasing sector%s %u%s at 0x%08X: ", j - i > 1 ? "s" : "",
                                       s->sector->number, j - i > 1 ? "..." : "", s->sector->addr);
        r->st->sectors_erased += j - i;
        done += len;
        progress(r, OFLASH_PHASE_ERASE, done, total);
        i = j;
    }
    return 0;
}

/* A run of main-flash bytes to program in one flasher call: consecutive
 * non-erased pages, across sector boundaries (a family with 2 KiB pages
 * would otherwise make one loader call per page), up to PROGRAM_CHUNK. */
typedef struct prog_run {
    const oflash_bank *bank;
    uint32_t addr, len;
    unsigned first_sector, last_sector;
    uint8_t *buf; /* PROGRAM_CHUNK bytes */
} prog_run;

static int prog_flush(run *r, prog_run *pr, uint64_t *done, uint64_t total)
{
    const oflash_flasher *f;
    int rc;
    if (!pr->len) return 0;
    if ((rc = gate(r, pr->addr, pr->len)) < 0) return rc;
    f = flasher_for(r, pr->bank);
    rc = f->ops->program(f->ctx, pr->bank, pr->addr, pr->buf, pr->len);
    if (rc < 0) {
        if (pr->first_sector == pr->last_sector)
            return oflash_error_prefix("programming 0x%08X-0x%08X (sector %u): ", pr->addr,
                                       pr->addr + pr->len - 1, pr->first_sector);
        return oflash_error_prefix("programming 0x%08X-0x%08X (sectors %u-%u): ", pr->addr,
                                   pr->addr + pr->len - 1, pr->first_sector, pr->last_sector);
    }
    r->st->bytes_programmed += pr->len;
    *done += pr->len;
    progress(r, OFLASH_PHASE_PROGRAM, *done, total);
    pr->len = 0;
    return 0;
}

static int program_sectors(run *r, const oflash_plan *plan)
{
    uint64_t total = 0, done = 0;
    prog_run pr = {0};
    int rc = 0;

    for (size_t i = 0; i < plan->sector_count; i++)
        total += plan->sectors[i].program_bytes;
    if (!total) return 0;
    pr.buf = malloc(PROGRAM_CHUNK);
    if (!pr.buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    progress(r, OFLASH_PHASE_PROGRAM, 0, total);
    size_t after_erased = 0; /* sectors from here on were not erased by this run */
    for (size_t i = 0; i < r->limit; i++)
        if (plan->sectors[i].action == OFLASH_SECTOR_ERASE_PROGRAM) after_erased = i + 1;
    for (size_t i = 0; i < r->limit && rc == 0; i++) {
        const oflash_plan_sector *s = &plan->sectors[i];
        const oflash_bank *b = s->bank;
        /* Safe point: between sectors once every erased sector is written
         * (with a cancel callback each sector is its own flasher call, so
         * that a request is seen after the sector it arrives in). */
        if (r->o->version >= 2 && r->o->cancel && i >= after_erased &&
            s->action != OFLASH_SECTOR_SKIP) {
            if ((rc = prog_flush(r, &pr, &done, total)) < 0) break;
            if (cancel_requested(r)) {
                r->limit = i;
                break;
            }
        }
        uint32_t page = b->page_size ? b->page_size : 256;
        if (s->action == OFLASH_SECTOR_SKIP || !s->program_bytes) {
            rc = prog_flush(r, &pr, &done, total);
            continue;
        }
        /* Pages that are all erased are not programmed; the others join
         * the run when they follow it directly in the same bank. */
        for (uint32_t off = 0; off < s->sector->size && rc == 0;) {
            uint32_t n = s->sector->size - off < page ? s->sector->size - off : page;
            uint32_t addr = s->sector->addr + off;
            if (all_value(s->data + off, n, b->erased_value)) {
                rc = prog_flush(r, &pr, &done, total);
                off += n;
                continue;
            }
            if (pr.len && (pr.bank != b || pr.addr + pr.len != addr || pr.len + n > PROGRAM_CHUNK))
                rc = prog_flush(r, &pr, &done, total);
            if (rc) break;
            if (!pr.len) {
                pr.bank = b;
                pr.addr = addr;
                pr.first_sector = s->sector->number;
            }
            memcpy(pr.buf + pr.len, s->data + off, n);
            pr.len += n;
            pr.last_sector = s->sector->number;
            off += n;
        }
    }
    if (rc == 0) rc = prog_flush(r, &pr, &done, total);
    free(pr.buf);
    if (rc < 0) return rc;
    /* Every flasher that wrote finishes (a server writes what it buffered). */
    if (r->server.ops && (rc = r->server.ops->done(r->server.ctx)) < 0) return rc;
    return 0;
}

static int verify_sectors(run *r, const oflash_plan *plan)
{
    uint64_t total = 0, done = 0;
    int rc;
    for (size_t i = 0; i < r->limit; i++)
        if (plan->sectors[i].action != OFLASH_SECTOR_SKIP) total += plan->sectors[i].sector->size;
    if (!total) return 0;
    progress(r, OFLASH_PHASE_VERIFY, 0, total);
    /* CRC mode: one CRC over each run of consecutive written sectors (the
     * CRC of a concatenation is the chained CRC of its parts); only when a
     * run differs is it checked sector by sector to name the address. */
    for (size_t i = 0; crc_mode(r->o->verify) && i < r->limit;) {
        const oflash_plan_sector *s = &plan->sectors[i];
        size_t j = i + 1;
        uint32_t want, crc, len;
        const oflash_flasher *f = flasher_for(r, s->bank);
        if (s->action == OFLASH_SECTOR_SKIP) {
            i++;
            continue;
        }
        if (!f->ops->crc32) break; /* read back sector by sector below */
        want = oflash_crc32(0, s->data, s->sector->size);
        len = s->sector->size;
        while (j < r->limit && plan->sectors[j].action != OFLASH_SECTOR_SKIP &&
               plan->sectors[j].bank == s->bank &&
               plan->sectors[j].sector->addr == s->sector->addr + len) {
            want = oflash_crc32(want, plan->sectors[j].data, plan->sectors[j].sector->size);
            len += plan->sectors[j].sector->size;
            j++;
        }
        if ((rc = f->ops->crc32(f->ctx, &crc, s->bank, s->sector->addr, len)) < 0) return rc;
        if (crc != want) break; /* find it sector by sector below */
        done += len;
        progress(r, OFLASH_PHASE_VERIFY, done, total);
        i = j;
    }
    if (done == total) return 0;
    done = 0;
    for (size_t i = 0; i < r->limit; i++) {
        const oflash_plan_sector *s = &plan->sectors[i];
        oflash_verify_mode mode = r->o->verify;
        if (s->action == OFLASH_SECTOR_SKIP) continue;
        if (crc_mode(mode) && !flasher_for(r, s->bank)->ops->crc32)
            mode = OFLASH_VERIFY_READBACK; /* no CRC where the flash is */
        if ((rc = verify_range(r->t, s->bank, s->sector->addr, s->data, s->sector->size, s->crc,
                               mode, "sector")) < 0)
            return oflash_error_prefix("sector %u: ", s->sector->number);
        done += s->sector->size;
        progress(r, OFLASH_PHASE_VERIFY, done, total);
    }
    return 0;
}

/* ---- OTP ---- */

/* The unit OTP data is written in: whole words (a program only clears
 * bits, so 0xFF padding changes nothing), or the rules' / bank's bigger
 * write unit (the planner made sure the image covers whole units). */
static uint32_t otp_unit(const oflash_plan *plan, const oflash_bank *b)
{
    uint32_t a = 4;
    if (plan->otp_rules.write_unit > a) a = plan->otp_rules.write_unit;
    if (b && b->write_unit > a) a = b->write_unit;
    return a;
}

static int program_otp(run *r, const oflash_plan *plan)
{
    const oflash_otp_rules *ru = &plan->otp_rules;
    uint32_t bsize = ru->block_size ? ru->block_size : ru->data_size;
    uint8_t *buf;
    int rc = 0;

    if (!plan->otp_write_count) return 0;
    progress(r, OFLASH_PHASE_OTP, 0, plan->otp_write_count);
    buf = malloc(bsize);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    /* One call per block (the rules' block, whatever sectors the loader
     * declares): the bytes to program, 0xFF everywhere else. */
    for (size_t i = 0; i < plan->otp_write_count && rc == 0;) {
        uint32_t first = plan->otp_writes[i].addr;
        uint32_t bstart = ru->data_base + (first - ru->data_base) / bsize * bsize;
        uint16_t blk = plan->otp_writes[i].block;
        const oflash_bank *b = oflash_device_bank_at(r->t->device, first);
        uint32_t lo = first, hi = lo, a = otp_unit(plan, b);
        oflash_loader *l;
        size_t j = i;
        memset(buf, ru->erased ? ru->erased : 0xFF, bsize);
        for (; j < plan->otp_write_count && plan->otp_writes[j].addr - bstart < bsize; j++) {
            buf[plan->otp_writes[j].addr - bstart] = plan->otp_writes[j].image;
            hi = plan->otp_writes[j].addr;
        }
        lo &= ~(a - 1);
        hi = (hi | (a - 1)) + 1;
        if (lo < bstart) lo = bstart;
        if (hi > bstart + bsize) hi = bstart + bsize;
        if ((rc = gate(r, lo, hi - lo)) < 0) break;
        if ((rc = oflash__target_loader(r->t, b, OFLASH_FNC_PROGRAM, &l)) < 0) break;
        if ((rc = oflash_loader_program(l, lo, buf + (lo - bstart), hi - lo)) < 0) {
            oflash_error_prefix("programming OTP block %u at 0x%08X: ", blk, lo);
            break;
        }
        r->st->otp_bytes_programmed += j - i;
        progress(r, OFLASH_PHASE_OTP, r->st->otp_bytes_programmed, plan->otp_write_count);
        i = j;
    }
    free(buf);
    return rc;
}

/* Read back every planned OTP byte (always, whatever the verify mode: the
 * locks must not be set over data that did not take). */
static int verify_otp(run *r, const oflash_plan *plan)
{
    uint32_t base = plan->otp_rules.data_base, size = plan->otp_rules.data_size;
    uint8_t *chip;
    int rc;
    if (!plan->otp_write_count) return 0;
    progress(r, OFLASH_PHASE_OTP_VERIFY, 0, plan->otp_write_count);
    chip = malloc(size);
    if (!chip) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    rc = oflash_probe_read_mem(chip, r->t->probe, base, size);
    for (size_t i = 0; rc == 0 && i < plan->otp_write_count; i++) {
        const oflash_plan_otp_byte *w = &plan->otp_writes[i];
        if (chip[w->addr - base] != w->image)
            rc = oflash_error_set(OFLASH_EVERIFY,
                                  "verify failed at 0x%08X (OTP block %u): chip 0x%02X, expected "
                                  "0x%02X; no lock byte was written",
                                  w->addr, w->block, chip[w->addr - base], w->image);
    }
    free(chip);
    if (rc == 0) progress(r, OFLASH_PHASE_OTP_VERIFY, plan->otp_write_count, plan->otp_write_count);
    return rc;
}

static int program_locks(run *r, const oflash_plan *plan)
{
    oflash_loader *l;
    int rc;
    if (!plan->lock_count) return 0;
    progress(r, OFLASH_PHASE_LOCK, 0, plan->lock_count);
    for (size_t i = 0; i < plan->lock_count; i++) {
        const oflash_plan_otp_byte *k = &plan->locks[i];
        const uint8_t zero = 0x00;
        uint8_t back;
        const oflash_otp_rules *ru = &plan->otp_rules;
        uint32_t bsize = ru->block_size ? ru->block_size : ru->data_size;
        /* The lock byte changes what its block's bytes can become. */
        if ((rc = gate(r, ru->data_base + (uint32_t)k->block * bsize, bsize)) < 0) return rc;
        if ((rc = oflash__target_loader(r->t, oflash_device_bank_at(r->t->device, k->addr),
                                        OFLASH_FNC_PROGRAM, &l)) < 0)
            return rc;
        /* One byte per call: nothing but this lock byte is written. */
        if (oflash_loader_program(l, k->addr, &zero, 1) < 0)
            return oflash_error_prefix("locking OTP block %u (lock byte 0x%08X): ", k->block,
                                       k->addr);
        if ((rc = oflash_probe_read_mem(&back, r->t->probe, k->addr, 1)) < 0) return rc;
        if (back != 0x00)
            return oflash_error_set(OFLASH_EVERIFY,
                                    "verify failed at 0x%08X (lock byte of OTP block %u): chip "
                                    "0x%02X, expected 0x00",
                                    k->addr, k->block, back);
        r->st->otp_blocks_locked++;
        progress(r, OFLASH_PHASE_LOCK, i + 1, plan->lock_count);
    }
    return 0;
}

int oflash_flash_execute(oflash_flash_stats *stats, oflash_target *t, const oflash_plan *plan,
                         const oflash_flash_opts *opts)
{
    oflash_flash_opts defaults = OFLASH_FLASH_OPTS_INIT;
    oflash_flash_stats local;
    run r;
    int rc;

    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!opts) opts = &defaults;
    memset(&r, 0, sizeof r);
    r.t = t;
    r.o = opts;
    r.st = stats;
    r.phase = OFLASH_PHASE_PLAN;
    r.limit = plan->sector_count;
    oflash_flasher_flm(&r.flm, t);
    if (opts->server_flash) oflash_flasher_server(&r.server, &r.server_ctx, opts->server_flash, t);
    for (size_t i = 0; i < plan->sector_count; i++)
        if (plan->sectors[i].action == OFLASH_SECTOR_SKIP) stats->sectors_skipped++;
    if (opts->server_flash &&
        (!opts->server_flash->erase || !opts->server_flash->write || !opts->server_flash->done)) {
        rc = oflash_error_set(OFLASH_EINVAL, "server flash: erase, write and done are all needed");
        goto out;
    }
    if (plan->otp_needs_opt_in) {
        rc = oflash_error_set(OFLASH_EPROTECTED,
                              "the plan programs %zu OTP byte%s and %zu lock%s but was made "
                              "without allow_otp (a plan to show only): refusing to write "
                              "anything",
                              plan->otp_write_count, plan->otp_write_count == 1 ? "" : "s",
                              plan->lock_count, plan->lock_count == 1 ? "" : "s");
        goto out;
    }
    if ((rc = oflash_flash_check(t, plan)) < 0) goto out;
    /* Kept bytes reach the recovery journal before their sector is erased. */
    if ((rc = oflash__journal_before_erase(opts->journal, plan)) < 0) goto out;
    if ((rc = erase_sectors(&r, plan)) < 0 || (rc = program_sectors(&r, plan)) < 0) goto out;
    if ((rc = verify_sectors(&r, plan)) < 0) {
        stats->verify = -1;
        goto out;
    }
    if (r.limit < plan->sector_count ||
        ((plan->otp_write_count || plan->lock_count) && cancel_requested(&r))) {
        size_t left = 0, written = 0;
        for (size_t i = 0; i < plan->sector_count; i++)
            if (plan->sectors[i].action != OFLASH_SECTOR_SKIP) {
                if (i < r.limit)
                    written++;
                else
                    left++;
            }
        stats->verify = opts->verify == OFLASH_VERIFY_NONE ? 0 : 1;
        rc = oflash_error_set(OFLASH_EINTERRUPTED,
                              "interrupted: %zu sector%s written, %zu sector%s and "
                              "%zu OTP byte%s and %zu lock%s not written",
                              written, written == 1 ? "" : "s", left,
                              left == 1 ? "" : "s", plan->otp_write_count,
                              plan->otp_write_count == 1 ? "" : "s", plan->lock_count,
                              plan->lock_count == 1 ? "" : "s");
        goto out;
    }
    /* Flash verified: its journal entries go; the OTP intent is recorded. */
    if ((rc = oflash__journal_after_flash(opts->journal, t, plan, opts->verify)) < 0) {
        if (rc == OFLASH_EVERIFY) stats->verify = -1;
        goto out;
    }
    if ((rc = program_otp(&r, plan)) < 0) goto out;
    if ((rc = verify_otp(&r, plan)) < 0) {
        stats->verify = -1;
        goto out;
    }
    if ((rc = program_locks(&r, plan)) < 0) {
        if (rc == OFLASH_EVERIFY) stats->verify = -1;
        goto out;
    }
    if ((rc = oflash__journal_after_otp(opts->journal, plan)) < 0) goto out;
    stats->verify = opts->verify == OFLASH_VERIFY_NONE ? 0 : 1;
out:
    /* Leave the loader initialised state clean for the next operation. */
    oflash__target_loader_release(t);
    oflash_target_stats(stats, t);
    return rc;
}

/* ---- verify an image ----
 *
 * The image is cut into ranges: its bytes inside one main-flash sector,
 * one OTP block or lock byte, or one bank's (or no bank's) part of a
 * segment.  Bytes outside the image are never compared.  Main flash in a
 * CRC mode: the CRC unit's CRC of every range's whole words in one run on
 * the core (scan.c), the few bytes before and after them read directly;
 * when the part cannot scan (no CRC unit, a unit set otherwise, too little
 * RAM), or in OFLASH_VERIFY_LOADER_CRC mode, the loader's CRC-32: one call
 * per run of adjacent ranges, then one per range of a run that differs.
 * Everything else is read back.  Each range ends EQUAL, ERASED (the chip
 * holds the erased value all over it) or DIFF; the message then names the
 * first differing byte (read back from the first range that differs) and
 * every range that differs. */

const char *oflash_verify_method_name(oflash_verify_method method)
{
    switch (method) {
    case OFLASH_VERIFY_BY_CRC_UNIT:
        return "CRC unit";
    case OFLASH_VERIFY_BY_LOADER:
        return "flash loader CRC";
    case OFLASH_VERIFY_BY_READBACK:
        return "read-back";
    case OFLASH_VERIFY_BY_NOTHING:
        return "none";
    }
    return "?";
}

enum { V_UNKNOWN = 0, V_EQUAL, V_ERASED, V_DIFF };

typedef struct vrange {
    uint32_t addr, len;
    const uint8_t *data;
    const oflash_bank *bank; /* NULL: outside every bank */
    int sector;              /* sector / block number, or -1 */
    uint8_t erased;          /* the bank's erased value */
    bool flash;              /* main flash (compared by CRC in the CRC modes) */
    int state;
} vrange;

static int vrange_cmp(const void *a, const void *b)
{
    const vrange *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The ranges of img on d, sorted by address. */
static int verify_ranges(vrange **out, size_t *count, const oflash_device *d,
                         const oflash_image *img)
{
    size_t n = 0, cap = 64, nseg = oflash_image_segment_count(img);
    vrange *v = malloc(cap * sizeof *v);
    if (!v) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; i < nseg; i++) {
        const oflash_segment *s = oflash_image_segment(img, i);
        for (uint32_t off = 0; off < s->size;) {
            uint32_t addr = s->addr + off, len = s->size - off;
            const oflash_bank *b = oflash_device_bank_at(d, addr);
            vrange r = {0};
            r.sector = -1;
            if (b) {
                if ((uint64_t)b->base + b->size - addr < len)
                    len = (uint32_t)((uint64_t)b->base + b->size - addr);
                for (size_t k = 0; k < b->sector_count; k++) {
                    const oflash_sector *sec = &b->sectors[k];
                    if (addr >= sec->addr && addr - sec->addr < sec->size) {
                        if ((uint64_t)sec->addr + sec->size - addr < len)
                            len = (uint32_t)((uint64_t)sec->addr + sec->size - addr);
                        r.sector = sec->number;
                        break;
                    }
                }
                r.erased = b->erased_value;
                r.flash = b->kind == OFLASH_BANK_FLASH;
            } else {
                /* up to the next bank, which gets its own range */
                for (size_t k = 0; k < d->bank_count; k++)
                    if (d->banks[k].base > addr && d->banks[k].base - addr < len)
                        len = d->banks[k].base - addr;
                r.erased = 0xFF;
            }
            r.addr = addr;
            r.len = len;
            r.data = s->data + off;
            r.bank = b;
            if (n == cap) {
                vrange *nv = realloc(v, 2 * cap * sizeof *v);
                if (!nv) {
                    free(v);
                    return oflash_error_set(OFLASH_ENOMEM, "out of memory");
                }
                v = nv;
                cap *= 2;
            }
            v[n++] = r;
            off += len;
        }
    }
    qsort(v, n, sizeof *v, vrange_cmp);
    *out = v;
    *count = n;
    return 0;
}

/* Read r back and set its state. */
static int compare_readback(oflash_target *t, vrange *r)
{
    uint8_t buf[4096];
    bool equal = true, erased = true;
    for (uint32_t off = 0; off < r->len;) {
        uint32_t n = r->len - off < (uint32_t)sizeof buf ? r->len - off : (uint32_t)sizeof buf;
        int rc = oflash_probe_read_mem(buf, t->probe, r->addr + off, n);
        if (rc < 0) return oflash_error_prefix("reading 0x%08X-0x%08X to verify: ", r->addr + off,
                                               r->addr + off + n - 1);
        if (equal && memcmp(buf, r->data + off, n) != 0) equal = false;
        if (erased && !all_value(buf, n, r->erased)) erased = false;
        off += n;
    }
    r->state = equal ? V_EQUAL : erased ? V_ERASED : V_DIFF;
    return 0;
}

/* zlib's CRC-32 of len bytes of value v. */
static uint32_t crc32_fill(uint8_t v, uint32_t len)
{
    uint8_t b[256];
    uint32_t crc = 0;
    memset(b, v, sizeof b);
    for (; len >= sizeof b; len -= (uint32_t)sizeof b)
        crc = oflash_crc32(crc, b, sizeof b);
    return oflash_crc32(crc, b, len);
}

static int classify_crc(const vrange *r, uint32_t crc)
{
    if (crc == oflash_crc32(0, r->data, r->len)) return V_EQUAL;
    return crc == crc32_fill(r->erased, r->len) ? V_ERASED : V_DIFF;
}

/* The flash loader's CRC of r[0..n) (main flash, state V_UNKNOWN). */
static int compare_loader(oflash_target *t, vrange *r, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint32_t want, crc, len = r[i].len;
        oflash_loader *l;
        int rc;
        if (!r[i].flash || r[i].state != V_UNKNOWN) {
            i++;
            continue;
        }
        want = oflash_crc32(0, r[i].data, r[i].len);
        while (j < n && r[j].flash && r[j].state == V_UNKNOWN && r[j].bank == r[i].bank &&
               r[j].addr == r[i].addr + len) {
            want = oflash_crc32(want, r[j].data, r[j].len);
            len += r[j].len;
            j++;
        }
        if ((rc = oflash__target_loader(t, r[i].bank, OFLASH_FNC_VERIFY, &l)) < 0 ||
            (rc = oflash__loader_crc_check(l)) < 0 ||
            (rc = oflash_loader_crc32(&crc, l, r[i].addr, len)) < 0)
            return rc;
        if (crc == want) {
            for (size_t k = i; k < j; k++)
                r[k].state = V_EQUAL;
        } else if (j == i + 1) {
            r[i].state = classify_crc(&r[i], crc);
        } else {
            for (size_t k = i; k < j; k++) {
                if ((rc = oflash_loader_crc32(&crc, l, r[k].addr, r[k].len)) < 0) return rc;
                r[k].state = classify_crc(&r[k], crc);
            }
        }
        i = j;
    }
    return 0;
}

/* The CRC unit's CRC of every main-flash range's whole words, in one run;
 * the bytes around them read directly.  An error: nothing was decided. */
static int compare_scan(oflash_target *t, vrange *r, size_t n)
{
    oflash__scan_range *sr = calloc(n ? n : 1, sizeof *sr);
    size_t m = 0;
    int rc = 0;
    if (!sr) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint32_t a = (r[i].addr + 3u) & ~3u, e = (r[i].addr + r[i].len) & ~3u;
        if (!r[i].flash || r[i].len < 4 || e <= a || a < r[i].addr) continue;
        sr[m].addr = a;
        sr[m++].words = (e - a) / 4u;
    }
    if (m && (rc = oflash__target_scan(t, sr, m)) < 0) goto out;
    m = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        vrange *v = &r[i];
        uint32_t a = (v->addr + 3u) & ~3u, e = (v->addr + v->len) & ~3u;
        bool equal = true, erased = true;
        uint8_t edge[8];
        uint32_t head, tail;
        if (!v->flash) continue;
        if (v->len < 4 || e <= a || a < v->addr) { /* no whole word: read it */
            rc = compare_readback(t, v);
            continue;
        }
        head = a - v->addr;
        tail = v->addr + v->len - e;
        if (sr[m].crc != oflash__crc_unit(0xFFFFFFFFu, v->data + head, sr[m].words)) {
            equal = false;
            if (sr[m].crc != oflash__crc_unit_fill(v->erased, sr[m].words)) erased = false;
        } else if (!all_value(v->data + head, 4u * sr[m].words, v->erased)) {
            erased = false;
        }
        m++;
        if (head && (rc = oflash_probe_read_mem(edge, t->probe, v->addr, head)) < 0) break;
        if (tail && (rc = oflash_probe_read_mem(edge + head, t->probe, e, tail)) < 0) break;
        if (memcmp(edge, v->data, head) || memcmp(edge + head, v->data + v->len - tail, tail))
            equal = false;
        if (!all_value(edge, head + tail, v->erased)) erased = false;
        v->state = equal ? V_EQUAL : erased ? V_ERASED : V_DIFF;
    }
out:
    free(sr);
    return rc;
}

static void describe(char *buf, size_t len, const vrange *r)
{
    const char *what = !r->bank                           ? "memory"
                       : r->bank->kind == OFLASH_BANK_FLASH ? "sector"
                       : r->bank->kind == OFLASH_BANK_OTP   ? "OTP block"
                                                            : "lock byte of OTP block";
    if (r->sector >= 0)
        snprintf(buf, len, "%s %d, 0x%08X-0x%08X%s", what, r->sector, r->addr,
                 r->addr + r->len - 1, r->state == V_ERASED ? ", erased on the chip" : "");
    else
        snprintf(buf, len, "%s 0x%08X-0x%08X%s", r->bank ? r->bank->name : what, r->addr,
                 r->addr + r->len - 1, r->state == V_ERASED ? ", erased on the chip" : "");
}

/* The message for the ranges that differ (res filled). */
static int verify_report(oflash_verify_result *res, oflash_target *t, vrange *v, size_t n)
{
    vrange *first = NULL;
    char msg[1536], what[128];
    size_t off, listed = 0;
    uint32_t diff = 0;
    uint8_t chip = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (v[i].state != V_DIFF && v[i].state != V_ERASED) continue;
        if (!first) first = &v[i];
        if (res->diff_count < OFLASH_VERIFY_MAX_DIFFS) {
            oflash_verify_diff *d = &res->diffs[res->diff_count];
            d->start = v[i].addr;
            d->end = v[i].addr + v[i].len - 1;
            d->bank = v[i].bank ? v[i].bank->name : "memory";
            d->sector = v[i].sector;
            d->erased = v[i].state == V_ERASED;
        }
        res->diff_count++;
    }
    if (!first) return 0;
    describe(what, sizeof what, first);
    if (first->state == V_ERASED) {
        uint32_t k = 0;
        while (k < first->len && first->data[k] == first->erased)
            k++;
        diff = first->addr + (k < first->len ? k : 0);
        chip = first->erased;
    } else {
        bool found;
        if ((rc = oflash__target_find_diff(t, first->addr, first->data, first->len, &diff, &found,
                                           &chip)) < 0)
            return rc;
        if (!found)
            return oflash_error_set(OFLASH_EVERIFY,
                                    "verify of %s failed: CRC differs but a read-back of the range "
                                    "matches (unstable read?)",
                                    what);
    }
    res->first_diff = diff;
    res->chip_value = chip;
    res->image_value = first->data[diff - first->addr];
    off = (size_t)snprintf(msg, sizeof msg,
                           "verify failed at 0x%08X (%s): chip 0x%02X, expected 0x%02X", diff,
                           what, chip, res->image_value);
    if (res->diff_count > 1)
        off += (size_t)snprintf(msg + off, sizeof msg - off, "; %zu more range%s differ%s:",
                                res->diff_count - 1, res->diff_count == 2 ? "" : "s",
                                res->diff_count == 2 ? "s" : "");
    for (vrange *r = first + 1; r < v + n && res->diff_count > 1 && off < sizeof msg; r++) {
        if (r->state != V_DIFF && r->state != V_ERASED) continue;
        if (++listed > 8) {
            snprintf(msg + off, sizeof msg - off, " and %zu more", res->diff_count - 9);
            break;
        }
        describe(what, sizeof what, r);
        off += (size_t)snprintf(msg + off, sizeof msg - off, "%s %s", listed > 1 ? ";" : "", what);
    }
    return oflash_error_set(OFLASH_EVERIFY, "%s", msg);
}

int oflash_flash_verify(oflash_verify_result *res, oflash_target *t, const oflash_image *img,
                        oflash_verify_mode mode, oflash_progress_fn prog, void *ctx)
{
    oflash_verify_result local;
    uint64_t total = 0, done = 0, flash = 0;
    vrange *v = NULL;
    size_t n = 0;
    int rc;

    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    res->method = OFLASH_VERIFY_BY_NOTHING;
    if (mode == OFLASH_VERIFY_NONE) return 0;
    if ((rc = verify_ranges(&v, &n, t->device, img)) < 0) return rc;
    res->ranges = n;
    for (size_t i = 0; i < n; i++) {
        total += v[i].len;
        if (v[i].flash) flash += v[i].len;
    }
    if (prog) prog(ctx, OFLASH_PHASE_VERIFY, 0, total);
    /* Main flash first: one scan (or loader calls) for all of it. */
    if (flash && mode == OFLASH_VERIFY_CRC) {
        res->method = OFLASH_VERIFY_BY_CRC_UNIT;
        if ((rc = compare_scan(t, v, n)) < 0) {
            oflash_log(OFLASH_LOG_DEBUG,
                       "verify: no CRC-unit scan (%s); the flash loader computes the CRCs",
                       oflash_error_last());
            for (size_t i = 0; i < n; i++)
                if (v[i].flash) v[i].state = V_UNKNOWN;
            rc = 0;
        }
    }
    if (flash && crc_mode(mode)) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            any |= v[i].flash && v[i].state == V_UNKNOWN;
        if (any) {
            res->method = OFLASH_VERIFY_BY_LOADER;
            if ((rc = compare_loader(t, v, n)) < 0) goto out;
        }
    }
    if (flash && mode == OFLASH_VERIFY_READBACK) res->method = OFLASH_VERIFY_BY_READBACK;
    for (size_t i = 0; i < n; i++)
        if (v[i].state != V_UNKNOWN) done += v[i].len;
    if (prog && done) prog(ctx, OFLASH_PHASE_VERIFY, done, total);
    /* Everything not decided yet (OTP, memory, read-back mode) is read. */
    for (size_t i = 0; i < n; i++) {
        if (v[i].state != V_UNKNOWN) continue;
        if ((rc = compare_readback(t, &v[i])) < 0) goto out;
        done += v[i].len;
        if (prog) prog(ctx, OFLASH_PHASE_VERIFY, done, total);
    }
    rc = verify_report(res, t, v, n);
out:
    oflash__target_loader_release(t);
    free(v);
    return rc;
}

int oflash_flash_verify_image(uint32_t *first_diff, oflash_target *t, const oflash_image *img,
                              oflash_verify_mode mode, oflash_progress_fn prog, void *ctx)
{
    oflash_verify_result res;
    int rc = oflash_flash_verify(&res, t, img, mode, prog, ctx);
    if (first_diff) *first_diff = res.diff_count ? res.first_diff : 0;
    return rc;
}

/* ---- erase ---- */

int oflash_flash_erase(size_t *erased, oflash_target *t, const unsigned *numbers, size_t n,
                       bool all, oflash_progress_fn prog, void *ctx)
{
    const oflash_device *d = t->device;
    uint64_t total = 0, done = 0;
    int rc = 0;
    bool *pick;
    size_t count = 0, nsect = 0;

    if (erased) *erased = 0;
    for (size_t bi = 0; bi < d->bank_count; bi++)
        if (d->banks[bi].kind == OFLASH_BANK_FLASH) nsect += d->banks[bi].sector_count;
    pick = calloc(nsect ? nsect : 1, sizeof *pick);
    if (!pick) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    /* Resolve every number before erasing anything. */
    for (size_t k = 0; k < n; k++) {
        bool found = false;
        size_t idx = 0;
        for (size_t bi = 0; bi < d->bank_count && !found; bi++) {
            const oflash_bank *b = &d->banks[bi];
            if (b->kind != OFLASH_BANK_FLASH) continue;
            for (size_t si = 0; si < b->sector_count; si++, idx++)
                if (b->sectors[si].number == numbers[k]) {
                    pick[idx] = true;
                    found = true;
                    break;
                }
        }
        if (!found) {
            char map[512];
            oflash_device_describe_map(map, sizeof map, d);
            rc = oflash_error_set(OFLASH_ERANGE, "%s has no flash sector %u (memory map: %s)",
                                  d->name, numbers[k], map);
            goto out;
        }
    }
    {
        size_t idx = 0;
        for (size_t bi = 0; bi < d->bank_count; bi++) {
            const oflash_bank *b = &d->banks[bi];
            if (b->kind != OFLASH_BANK_FLASH) continue;
            for (size_t si = 0; si < b->sector_count; si++, idx++)
                if (all || pick[idx]) total += b->sectors[si].size;
        }
    }
    {
        size_t idx = 0, k = 0;
        const oflash_sector **list = malloc((nsect ? nsect : 1) * sizeof *list);
        if (!list) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t bi = 0; bi < d->bank_count; bi++) {
            const oflash_bank *b = &d->banks[bi];
            if (b->kind != OFLASH_BANK_FLASH) continue;
            for (size_t si = 0; si < b->sector_count; si++, idx++)
                if (all || pick[idx]) list[k++] = &b->sectors[si];
        }
        rc = check_protection(t, list, k);
        free(list);
        if (rc < 0) goto out;
    }
    if (prog) prog(ctx, OFLASH_PHASE_ERASE, 0, total);
    {
        size_t idx = 0;
        for (size_t bi = 0; bi < d->bank_count && !rc; bi++) {
            const oflash_bank *b = &d->banks[bi];
            oflash_loader *l;
            if (b->kind != OFLASH_BANK_FLASH) continue;
            for (size_t si = 0; si < b->sector_count && !rc; si++, idx++) {
                if (!all && !pick[idx]) continue;
                if ((rc = oflash__target_loader(t, b, OFLASH_FNC_ERASE, &l)) < 0) break;
                if ((rc = oflash_loader_erase_sector(l, b->sectors[si].addr)) < 0) {
                    oflash_error_prefix("erasing sector %u at 0x%08X: ", b->sectors[si].number,
                                        b->sectors[si].addr);
                    break;
                }
                count++;
                done += b->sectors[si].size;
                if (prog) prog(ctx, OFLASH_PHASE_ERASE, done, total);
            }
        }
    }
out:
    oflash__target_loader_release(t);
    if (erased) *erased = count;
    free(pick);
    return rc;
}

/* ---- read ---- */

int oflash_flash_read(void *buf, oflash_target *t, uint32_t addr, uint32_t len,
                      oflash_progress_fn prog, void *ctx)
{
    uint8_t *p = buf;
    if (len && (uint64_t)addr + len > (1ull << 32))
        return oflash_error_set(OFLASH_ERANGE, "0x%08X + %u bytes runs past 4 GiB", addr, len);
    if (prog) prog(ctx, OFLASH_PHASE_READ, 0, len);
    for (uint32_t off = 0; off < len;) {
        uint32_t n = len - off < 16384 ? len - off : 16384;
        int rc = oflash_probe_read_mem(p + off, t->probe, addr + off, n);
        if (rc < 0)
            return oflash_error_prefix("reading 0x%08X-0x%08X: ", addr + off, addr + off + n - 1);
        off += n;
        if (prog) prog(ctx, OFLASH_PHASE_READ, off, len);
    }
    return 0;
}

/* ---- OTP state ---- */

void oflash_otp_state_free(oflash_otp_state *state)
{
    if (!state) return;
    free(state->blocks);
    free(state->bytes);
    free(state);
}

int oflash_otp_read(oflash_otp_state **out, oflash_target *t)
{
    oflash_otp_state *st;
    const oflash_otp_rules *r;
    uint8_t *locks = NULL;
    uint32_t bsize, n;
    int rc;

    *out = NULL;
    st = calloc(1, sizeof *st);
    if (!st) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    r = &st->rules;
    if ((rc = oflash_device_otp_rules(&st->rules, t->device)) < 0) goto fail;
    if (r->kind == OFLASH_OTP_NONE || !r->data_size) {
        rc = oflash_error_set(OFLASH_EUNSUPPORTED, "%s has no OTP area", t->device->name);
        goto fail;
    }
    bsize = r->block_size ? r->block_size : r->data_size;
    n = (r->data_size + bsize - 1) / bsize;
    st->bytes = malloc(r->data_size);
    st->blocks = calloc(n, sizeof *st->blocks);
    locks = malloc(n);
    if (!st->bytes || !st->blocks || !locks) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = oflash_probe_read_mem(st->bytes, t->probe, r->data_base, r->data_size)) < 0) {
        oflash_error_prefix("reading OTP: ");
        goto fail;
    }
    memset(locks, 0xFF, n);
    if (r->kind == OFLASH_OTP_BLOCK_LOCK && r->lock_count &&
        (rc = oflash_probe_read_mem(locks, t->probe, r->lock_base,
                                    r->lock_count < n ? r->lock_count : n)) < 0) {
        oflash_error_prefix("reading OTP lock bytes: ");
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        oflash_otp_block *b = &st->blocks[i];
        b->number = (uint16_t)i;
        b->addr = r->data_base + i * bsize;
        b->data = st->bytes + i * bsize;
        b->size = r->data_size - i * bsize < bsize ? r->data_size - i * bsize : bsize;
        b->has_lock = r->kind == OFLASH_OTP_BLOCK_LOCK && i < r->lock_count;
        b->lock = b->has_lock ? locks[i] : 0xFF;
        b->locked = b->lock != 0xFF;
        b->blank = all_value(b->data, b->size, r->erased ? r->erased : 0xFF);
    }
    st->count = n;
    free(locks);
    *out = st;
    return 0;
fail:
    free(locks);
    oflash_otp_state_free(st);
    return rc;
}

int oflash_otp_lock_image(oflash_image **out, const oflash_device *dev, const unsigned *blocks,
                          size_t n)
{
    oflash_otp_rules r;
    oflash_image *img;
    int rc;
    *out = NULL;
    if ((rc = oflash_device_otp_rules(&r, dev)) < 0) return rc;
    if (r.kind != OFLASH_OTP_BLOCK_LOCK || !r.lock_count)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "%s has no OTP lock bytes", dev->name);
    if ((rc = oflash_image_new(&img)) < 0) return rc;
    for (size_t k = 0; k < n; k++) {
        const uint8_t zero = 0;
        char src[32];
        if (blocks[k] >= r.lock_count) {
            oflash_image_free(img);
            return oflash_error_set(OFLASH_ERANGE, "OTP block %u does not exist (%s has 0..%u)",
                                    blocks[k], dev->name, r.lock_count - 1);
        }
        snprintf(src, sizeof src, "lock block %u", blocks[k]);
        /* Asking twice for the same block is harmless. */
        uint8_t have;
        if (oflash_image_read(&have, img, r.lock_base + blocks[k], 1, 0xFF)) continue;
        if ((rc = oflash_image_add(img, r.lock_base + blocks[k], &zero, 1, src)) < 0) {
            oflash_image_free(img);
            return rc;
        }
    }
    *out = img;
    return 0;
}
