/*
 * target.c - connect to a target: open the probe, find the device, check
 * the chip's identity, manage the flash loader downloaded to its RAM.
 *
 * Identity: the device's family names its registers (oflash_family_ops.id:
 * an IDCODE register with the DEV_ID bits, a u16 flash size register in
 * KiB); the device holds the values expected.
 */
#include "flash_internal.h"
#include "oflash/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The devices of db with this DEV_ID and flash size, for messages. */
static void name_found(oflash_devdb *db, uint16_t dev_id, uint16_t kb, char *buf, size_t len)
{
    size_t off = 0, n = oflash_devdb_count(db);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const oflash_device *d = oflash_devdb_get(db, i);
        if (!d->has_id || d->dev_id != dev_id || (kb && d->flash_size_kb != kb)) continue;
        int k = snprintf(buf + off, len - off, "%s%s", off ? " or " : "", d->name);
        if (k < 0 || (size_t)k >= len - off) break;
        off += (size_t)k;
    }
}

static int check_identity(oflash_target *t)
{
    const oflash_device *d = t->device;
    const oflash_family_id *id = d->family_ops ? &d->family_ops->id : NULL;
    uint32_t idcode;
    uint8_t fs[2];
    uint16_t dev_id, kb;
    char found[256];

    if (!d->has_id || !id || !id->idcode_addr) return 0;
    if (oflash_probe_read_u32(&idcode, t->probe, id->idcode_addr) < 0)
        return oflash_error_prefix("reading DBGMCU_IDCODE at 0x%08X to check the device "
                                   "(--force-device skips the check): ",
                                   id->idcode_addr);
    if (oflash_probe_read_mem(fs, t->probe, id->flash_size_addr, 2) < 0)
        return oflash_error_prefix("reading the flash size register at 0x%08X (--force-device "
                                   "skips the check): ",
                                   id->flash_size_addr);
    dev_id = (uint16_t)(idcode & (id->dev_id_mask ? id->dev_id_mask : 0xFFFu));
    kb = (uint16_t)(fs[0] | fs[1] << 8);
    if (dev_id == d->dev_id && kb == d->flash_size_kb) return 0;
    name_found(t->db, dev_id, kb, found, sizeof found);
    if (!found[0]) name_found(t->db, dev_id, 0, found, sizeof found);
    return oflash_error_set(OFLASH_EMISMATCH,
                            "the connected chip is not a %s: found DEV_ID 0x%03X (DBGMCU_IDCODE "
                            "0x%08X) and %u KiB of flash%s%s%s, expected DEV_ID 0x%03X and %u "
                            "KiB (--force-device skips this check)",
                            d->name, dev_id, idcode, kb, found[0] ? " (" : "", found,
                            found[0] ? ")" : "", d->dev_id, d->flash_size_kb);
}

/* No --device and a probe that does not name the part (a GDB server):
 * read the ID registers the known parts' families declare (DBGMCU_IDCODE
 * and the flash size register on the STM32) and take the one part that
 * matches. */
static int detect_device(oflash_target *t, const char *probe)
{
    size_t n = oflash_devdb_count(t->db), matches = 0;
    const oflash_device *hit = NULL;
    uint32_t last_id_addr = 0, last_fs_addr = 0, idcode = 0;
    uint16_t kb = 0;
    bool have_id = false, have_fs = false;
    char names[256] = "";
    size_t off = 0;

    if (oflash_probe_halt(t->probe) < 0) return oflash_error_prefix("halting the core: ");
    for (size_t i = 0; i < n; i++) {
        const oflash_device *d = oflash_devdb_get(t->db, i);
        const oflash_family_id *id = d->family_ops ? &d->family_ops->id : NULL;
        uint8_t b[2];
        if (!d->has_id || !id || !id->idcode_addr) continue;
        if (!have_id || id->idcode_addr != last_id_addr) {
            if (oflash_probe_read_u32(&idcode, t->probe, id->idcode_addr) < 0) continue;
            last_id_addr = id->idcode_addr;
            have_id = true;
            have_fs = false;
        }
        if ((idcode & (id->dev_id_mask ? id->dev_id_mask : 0xFFFu)) != d->dev_id) continue;
        if (!have_fs || id->flash_size_addr != last_fs_addr) {
            if (oflash_probe_read_mem(b, t->probe, id->flash_size_addr, 2) < 0) continue;
            kb = (uint16_t)(b[0] | b[1] << 8);
            last_fs_addr = id->flash_size_addr;
            have_fs = true;
        }
        if (kb != d->flash_size_kb) continue;
        if (!hit || strcmp(hit->name, d->name) != 0) {
            int k = snprintf(names + off, sizeof names - off, "%s%s", off ? ", " : "", d->name);
            if (k > 0 && (size_t)k < sizeof names - off) off += (size_t)k;
            matches++;
        }
        if (!hit) hit = d;
    }
    if (matches == 1) {
        t->device = hit;
        oflash_log(OFLASH_LOG_INFO,
                   "device %s detected from DBGMCU_IDCODE 0x%08X and %u KiB of flash", hit->name,
                   idcode, kb);
        return 0;
    }
    if (matches > 1)
        return oflash_error_set(OFLASH_EINVAL,
                                "no device given and the chip on '%s' matches several parts (%s; "
                                "DBGMCU_IDCODE 0x%08X, %u KiB of flash): use --device NAME",
                                probe, names, idcode, kb);
    if (have_id)
        return oflash_error_set(OFLASH_EINVAL,
                                "no device given and no known part has DBGMCU_IDCODE 0x%08X "
                                "(DEV_ID 0x%03X)%s%u KiB of flash: use --device NAME",
                                idcode, idcode & 0xFFFu, have_fs ? " and " : " ", have_fs ? kb : 0);
    return oflash_error_set(OFLASH_EINVAL,
                            "no device given and probe '%s' does not know the part: use --device "
                            "NAME",
                            probe);
}

/* Loader options from the device and the target options (opts may be NULL). */
static void set_loader_opts(oflash_target *t, const oflash_target_opts *opts)
{
    t->lopts = (oflash_loader_opts)OFLASH_LOADER_OPTS_INIT;
    t->lopts.ram_start = t->device->work_ram_start;
    t->lopts.ram_size = t->device->work_ram_size;
    t->lopts.clock_hz = opts ? opts->clock_hz : 0;
    t->session.have_psize = opts && opts->have_psize;
    t->session.psize = opts ? opts->psize : 0;
}

int oflash_target_open(oflash_target **out, const oflash_target_opts *opts)
{
    oflash_target *t;
    oflash_probe_opts popts = OFLASH_PROBE_OPTS_INIT;
    const char *devname;
    bool detected = false;
    int rc;

    *out = NULL;
    if (!opts || !opts->probe)
        return oflash_error_set(OFLASH_EINVAL,
                                "no probe given (--probe sim:PATH or gdb:HOST:PORT)");
    if (opts->have_psize && opts->psize > 3)
        return oflash_error_set(OFLASH_EINVAL, "program parallelism %u: expected 0 (x8) to 3 (x64)",
                                opts->psize);
    t = calloc(1, sizeof *t);
    if (!t) return oflash_error_set(OFLASH_ENOMEM, "out of memory");

    if ((rc = oflash_devdb_open(&t->db, NULL)) < 0) goto fail;
    for (const char *const *f = opts->device_files; f && *f; f++)
        if ((rc = oflash_devdb_add_file(t->db, *f)) < 0) goto fail;
    /* Find the device before opening the probe when it is named, so that a
     * typo does not create a simulated chip. */
    if (opts->device && (rc = oflash_devdb_find(&t->device, t->db, opts->device)) < 0) goto fail;

    if (opts->probe_opts) popts = *opts->probe_opts;
    if (!popts.device && t->device) popts.device = t->device->name;
    if ((rc = oflash_probe_open(&t->probe, opts->probe, &popts)) < 0) goto fail;
    if (!t->device) {
        devname = oflash_probe_part(t->probe);
        if (!devname) {
            if ((rc = detect_device(t, opts->probe)) < 0) goto fail;
            detected = true; /* from the registers check_identity() reads */
        } else if ((rc = oflash_devdb_find(&t->device, t->db, devname)) < 0) {
            goto fail;
        }
    }
    /* Halt first: flash loaders need the core. */
    if ((rc = oflash_probe_halt(t->probe)) < 0) {
        oflash_error_prefix("halting the core: ");
        goto fail;
    }
    if (!opts->force_device && !detected && (rc = check_identity(t)) < 0) goto fail;

    set_loader_opts(t, opts);
    *out = t;
    return 0;
fail:
    oflash_target_close(t);
    return rc;
}

int oflash_target_open_probe(oflash_target **out, oflash_probe *probe, const oflash_device *dev,
                             const oflash_target_opts *opts)
{
    oflash_target *t;
    *out = NULL;
    if (!probe || !dev)
        return oflash_error_set(OFLASH_EINVAL, "a target over an open probe needs the probe and "
                                               "the device");
    if (opts && opts->have_psize && opts->psize > 3)
        return oflash_error_set(OFLASH_EINVAL, "program parallelism %u: expected 0 (x8) to 3 (x64)",
                                opts->psize);
    t = calloc(1, sizeof *t);
    if (!t) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    t->probe = probe;
    t->borrowed_probe = true;
    t->device = dev;
    set_loader_opts(t, opts);
    *out = t;
    return 0;
}

void oflash__target_loader_release(oflash_target *t)
{
    /* Closing UnInits the active operation (locks the flash interface). */
    oflash_loader_close(t->loader);
    oflash_flm_free(t->flm);
    t->loader = NULL;
    t->flm = NULL;
    t->loader_bank = NULL;
}

void oflash_target_close(oflash_target *t)
{
    if (!t) return;
    oflash__target_loader_release(t);
    if (!t->borrowed_probe) oflash_probe_close(t->probe);
    oflash_devdb_free(t->db);
    free(t);
}

oflash_probe *oflash_target_probe(oflash_target *t)
{
    return t->probe;
}

const oflash_device *oflash_target_device(const oflash_target *t)
{
    return t->device;
}

static const oflash_bank *first_flash_bank(const oflash_device *d)
{
    for (size_t i = 0; i < d->bank_count; i++)
        if (d->banks[i].kind == OFLASH_BANK_FLASH) return &d->banks[i];
    return d->bank_count ? &d->banks[0] : NULL;
}

/* Do banks a and b use the same flash loader? */
static bool same_loader(const oflash_bank *a, const oflash_bank *b)
{
    if (a == b) return true;
    if (a->loader_path || b->loader_path)
        return a->loader_path && b->loader_path && strcmp(a->loader_path, b->loader_path) == 0;
    if (a->loader_image || b->loader_image) return a->loader_image == b->loader_image;
    return a->loader_name && b->loader_name && strcmp(a->loader_name, b->loader_name) == 0;
}

int oflash__bank_flm(const oflash_bank *b, oflash_flm **flm)
{
    if (b->loader_path) return oflash_flm_load_file(flm, b->loader_path);
    if (b->loader_image)
        return oflash_flm_parse(flm, b->loader_image, b->loader_size,
                                b->loader_name ? b->loader_name : b->name);
    if (b->loader_name) return oflash_flm_builtin(flm, b->loader_name);
    return oflash_error_set(OFLASH_ENOTFOUND, "bank '%s' at 0x%08X has no flash loader", b->name,
                            b->base);
}

int oflash__target_loader(oflash_target *t, const oflash_bank *bank, uint32_t fnc,
                          oflash_loader **out)
{
    if (!bank) bank = first_flash_bank(t->device);
    if (!bank)
        return oflash_error_set(OFLASH_ENOTFOUND, "device %s has no flash bank", t->device->name);
    /* The same loader serves this bank (one FLM for flash, OTP and locks): keep it. */
    if (t->loader && !same_loader(t->loader_bank, bank)) oflash__target_loader_release(t);
    if (!t->loader) {
        const oflash_family_ops *fam;
        if (oflash__bank_flm(bank, &t->flm) < 0)
            return oflash_error_prefix("loader for bank '%s': ", bank->name);
        /* A family's own loader may take a fourth Init argument (the
         * family's business); any other FLM gets the standard three. */
        fam = oflash_flm_family(t->flm);
        t->lopts.init_arg =
            fam && fam->loader_init_arg ? fam->loader_init_arg(t->device, &t->session) : 0;
        if (oflash_loader_open(&t->loader, t->probe, t->flm, &t->lopts) < 0) {
            oflash_flm_free(t->flm);
            t->flm = NULL;
            return oflash_error_prefix("loader for bank '%s': ", bank->name);
        }
        t->loader_bank = bank;
    }
    (void)fnc; /* the loader runtime calls Init/UnInit for each operation itself */
    *out = t->loader;
    return 0;
}

int oflash_target_crc32(uint32_t *crc, oflash_target *t, uint32_t addr, uint32_t len)
{
    oflash_loader *l;
    int rc =
        oflash__target_loader(t, oflash_device_bank_at(t->device, addr), OFLASH_FNC_VERIFY, &l);
    if (rc < 0) return rc;
    return oflash_loader_crc32(crc, l, addr, len);
}

static int view_crc(void *ctx, uint32_t *crc, uint32_t addr, uint32_t len)
{
    return oflash_target_crc32(crc, ctx, addr, len);
}

static int view_read(void *ctx, void *buf, uint32_t addr, uint32_t len)
{
    oflash_target *t = ctx;
    return oflash_probe_read_mem(buf, t->probe, addr, len);
}

int oflash__view_scan(const oflash_target_view *view, oflash__scan_sector *s, size_t n)
{
    oflash__scan_range *r;
    int rc;
    if (!view || view->crc32 != view_crc || view->read != view_read)
        return oflash_error_set(OFLASH_EUNSUPPORTED, "not a connected target");
    for (size_t i = 0; i < n; i++)
        if ((s[i].addr | s[i].size) & 3u || !s[i].size)
            return oflash_error_set(OFLASH_EUNSUPPORTED, "sector 0x%08X not word aligned",
                                    s[i].addr);
    if (!(r = calloc(n ? n : 1, sizeof *r)))
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        r[i].addr = s[i].addr;
        r[i].words = s[i].size / 4u;
    }
    rc = oflash__target_scan(view->ctx, r, n);
    if (rc < 0) {
        oflash_log(OFLASH_LOG_DEBUG, "no one-call CRC scan, the loader computes the CRCs: %s",
                   oflash_error_last());
    } else {
        for (size_t i = 0; i < n; i++) {
            uint32_t words = s[i].size / 4u;
            if (r[i].crc == oflash__crc_unit(0xFFFFFFFFu, s[i].expect, words))
                s[i].state = OFLASH__SCAN_EQUAL;
            else if (r[i].crc == oflash__crc_unit_fill(s[i].erased, words))
                s[i].state = OFLASH__SCAN_BLANK;
            else
                s[i].state = OFLASH__SCAN_UNKNOWN;
        }
    }
    free(r);
    return rc;
}

void oflash_target_view_init(oflash_target_view *view, oflash_target *t)
{
    view->crc32 = view_crc;
    view->read = view_read;
    view->ctx = t;
}

void oflash_target_stats(oflash_flash_stats *stats, oflash_target *t)
{
    oflash_probe_stats ps;
    oflash_probe_get_stats(&ps, t->probe);
    stats->round_trips = ps.round_trips;
    stats->wire_bytes = ps.bytes_tx + ps.bytes_rx;
    stats->has_sim_time = ps.has_sim_time;
    stats->sim_time_s = ps.has_sim_time ? (double)ps.sim_time_ns / 1e9 : 0.0;
}

int oflash__target_find_diff(oflash_target *t, uint32_t addr, const uint8_t *want, uint32_t len,
                             uint32_t *diff, bool *found, uint8_t *chip_val)
{
    uint8_t buf[4096];
    *found = false;
    *diff = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t n = len - off;
        int rc;
        if (n > (uint32_t)sizeof buf) n = (uint32_t)sizeof buf;
        rc = oflash_probe_read_mem(buf, t->probe, addr + off, n);
        if (rc < 0) return rc;
        for (uint32_t i = 0; i < n; i++)
            if (buf[i] != want[off + i]) {
                *found = true;
                *diff = addr + off + i;
                if (chip_val) *chip_val = buf[i];
                return 0;
            }
        off += n;
    }
    return 0;
}
