/*
 * devfile_loader.c - checking a flash loader (FLM) against the bank it
 * programs and the device's work RAM (oflash_device_check_loader), and
 * turning an FLM's FlashDevice into a bank's sector list for the device
 * file readers (df_bank_from_flm).
 */
#include "devfile_internal.h"
#include "oflash/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oflash_device_check_loader(const struct oflash_flm *flm, const char *name, uint32_t base,
                               uint32_t size, uint32_t ram_start, uint32_t ram_size)
{
    const oflash_flash_device *fd;
    uint64_t end = (uint64_t)base + size, ram_end = (uint64_t)ram_start + ram_size;
    fd = oflash_flm_device(flm);
    if (fd->page_size == 0)
        return oflash_error_set(OFLASH_EFORMAT, "loader %s: FlashDevice page size (szPage) is 0",
                                name);
    if (fd->run_count == 0)
        return oflash_error_set(OFLASH_EFORMAT, "loader %s: FlashDevice lists no sectors", name);
    if (fd->runs[0].offset != 0)
        return oflash_error_set(OFLASH_EFORMAT,
                                "loader %s: first sector run starts at offset 0x%X (expected 0)",
                                name, fd->runs[0].offset);
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t off = fd->runs[i].offset, ssz = fd->runs[i].size;
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        if (ssz == 0)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "loader %s: sector run %zu at offset 0x%X has sector size 0",
                                    name, i, off);
        if (next <= off)
            return oflash_error_set(
                OFLASH_EFORMAT,
                "loader %s: sector run %zu at offset 0x%X does not end before 0x%X (sector "
                "runs must ascend and stay inside szDev 0x%X)",
                name, i, off, next, fd->size);
        if ((next - off) % ssz)
            return oflash_error_set(
                OFLASH_EFORMAT,
                "loader %s: sectors do not cover its declared size: sector run %zu (0x%X-byte "
                "sectors at offset 0x%X..0x%X) is not a whole number of sectors",
                name, i, ssz, off, next);
    }
    if (size == 0)
        return oflash_error_set(OFLASH_ERANGE, "loader %s: bank at 0x%08X has size 0", name, base);
    if (end > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE,
                                "loader %s: bank 0x%08X + 0x%X runs past the 4 GiB address space",
                                name, base, size);
    if (size > fd->size)
        return oflash_error_set(OFLASH_ERANGE,
                                "loader %s: its sectors cover 0x%X bytes (szDev) but the bank "
                                "0x%08X-0x%08X needs 0x%X",
                                name, fd->size, base, (uint32_t)(end - 1), size);
    /* The bank must end on a sector boundary. */
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t off = fd->runs[i].offset, ssz = fd->runs[i].size;
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        if (size > off && size <= next && (size - off) % ssz)
            return oflash_error_set(OFLASH_ERANGE,
                                    "loader %s: bank size 0x%X ends inside a 0x%X-byte sector "
                                    "(sector run at offset 0x%X)",
                                    name, size, ssz, off);
    }
    if (ram_size == 0) return 0; /* no work RAM given: the FLM alone is checked */
    if (ram_end > 0x100000000ull)
        return oflash_error_set(OFLASH_ERANGE, "loader %s: work RAM 0x%08X + 0x%X runs past 4 GiB",
                                name, ram_start, ram_size);
    /* The runtime's own placement (trampoline, image, stack, page buffer):
     * what fits here is exactly what oflash_loader_open() accepts. */
    {
        oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
        o.ram_start = ram_start;
        o.ram_size = ram_size;
        oflash_loader_layout lay;
        if (oflash_flm_layout(&lay, flm, &o) < 0) {
            char why[512]; /* copied: error_set must not read the buffer it writes */
            snprintf(why, sizeof why, "%s", oflash_error_last());
            return oflash_error_set(OFLASH_ERANGE, "loader does not fit the device's work RAM: %s",
                                    why);
        }
    }
    if (ram_start < end && base < ram_end)
        return oflash_error_set(OFLASH_ERANGE,
                                "loader %s: work RAM 0x%08X-0x%08X overlaps the flash it "
                                "programs 0x%08X-0x%08X (it would overwrite its own code and "
                                "buffers)",
                                name, ram_start, (uint32_t)(ram_end - 1), base,
                                (uint32_t)(end - 1));
    return 0;
}

static df_flm_cache *df_flm_get(df_ctx *c, long line, const char *key, const void *image,
                                size_t image_size, int *rc)
{
    df_flm_cache *f;
    *rc = 0;
    for (f = c->flms; f; f = f->next)
        if (!strcmp(f->key, key)) break;
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f || !(f->key = strdup(key))) {
            free(f);
            *rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            return NULL;
        }
        f->image = image;
        f->image_size = image_size;
        f->next = c->flms;
        c->flms = f;
        if (image)
            *rc = oflash_flm_parse(&f->flm, image, image_size, key);
        else
            *rc = oflash_flm_load_file(&f->flm, key);
        if (*rc < 0) {
            f->flm = NULL;
            df_err_prefix(c, line);
            return NULL;
        }
    }
    if (!f->flm)
        *rc = df_err(c, line, OFLASH_EFORMAT, "loader %s could not be read (see above)", key);
    return f->flm ? f : NULL;
}

/* Vendor packs as shipped: a bank larger than what its loader's FlashDevice
 * covers (an external-flash algorithm whose szDev is less than the pdsc's
 * size), or one that ends inside a sector, is clipped to the last whole
 * sector the loader covers, with a warning. */
static void df_clip_bank(df_ctx *c, long line, oflash_bank *b, const oflash_flash_device *fd,
                         const char *key)
{
    uint32_t want = b->size, end = b->size < fd->size ? b->size : fd->size;
    /* Round down to a sector boundary of the loader's layout. */
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t off = fd->runs[i].offset, ssz = fd->runs[i].size;
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        if (ssz && end > off && end <= next) end = off + (end - off) / ssz * ssz;
    }
    if (end == want || end == 0) return; /* nothing to clip, or nothing left: checked later */
    b->size = end;
    c->banks_clipped++;
    df_warn(c, line,
            "bank '%s' at 0x%08X: the pack gives it 0x%X bytes but its loader %s covers "
            "0x%X%s: clipped to 0x%X bytes (0x%08X-0x%08X)",
            b->name, b->base, want, key, fd->size,
            want <= fd->size ? " (the bank ends inside a sector)" : "", end, b->base,
            b->base + end - 1);
}

int df_bank_from_flm(df_ctx *c, long line, oflash_bank *b, const char *key, const void *image,
                     size_t image_size, bool have_size, uint32_t ram_start, uint32_t ram_size)
{
    const oflash_flash_device *fd;
    oflash_sector *sec;
    size_t n = 0;
    int rc;
    df_flm_cache *f = df_flm_get(c, line, key, image, image_size, &rc);
    if (!f) return rc;
    fd = oflash_flm_device(f->flm);
    if (!have_size) b->size = fd->size;
    if (c->lenient && have_size) df_clip_bank(c, line, b, fd, key);
    if ((rc = oflash_device_check_loader(f->flm, key, b->base, b->size, ram_start, ram_size)) < 0) {
        oflash_error_prefix("bank '%s': ", b->name);
        return df_err_prefix(c, line);
    }
    b->page_size = fd->page_size;
    b->erased_value = fd->erased_value;
    /* Count, then fill: sectors of every run up to the bank's size.  The
     * check above guarantees whole sectors and full coverage. */
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t off = fd->runs[i].offset, ssz = fd->runs[i].size;
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        if (off >= b->size) break;
        if (next > b->size) next = b->size;
        n += (next - off) / ssz;
        if (n > DF_MAX_SECTORS)
            return df_err(c, line, OFLASH_ERANGE,
                          "bank '%s': loader %s describes more than %u sectors", b->name, key,
                          DF_MAX_SECTORS);
    }
    sec = df_alloc(c, n * sizeof *sec);
    if (!sec) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    n = 0;
    for (size_t i = 0; i < fd->run_count; i++) {
        uint32_t off = fd->runs[i].offset, ssz = fd->runs[i].size;
        uint32_t next = i + 1 < fd->run_count ? fd->runs[i + 1].offset : fd->size;
        if (off >= b->size) break;
        if (next > b->size) next = b->size;
        for (uint32_t a = off; a < next; a += ssz) {
            sec[n].addr = b->base + a;
            sec[n].size = ssz;
            sec[n].number = (uint16_t)n;
            n++;
        }
    }
    b->sectors = sec;
    b->sector_count = n;
    if (image) {
        b->loader_image = image;
        b->loader_size = image_size;
    } else {
        b->loader_path = df_strdup(c, key);
    }
    if (!b->loader_name) {
        b->loader_name = df_strdup(c, key);
    }
    return (b->sectors || n == 0) ? 0 : oflash_error_set(OFLASH_ENOMEM, "out of memory");
}

