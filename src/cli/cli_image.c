/* cli_image.c - loading images named on the command line (see cli_image.h). */
#include "cli_image.h"
#include "cli.h"
#include "target.h"
#include "oflash/device.h"
#include "oflash/error.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <string.h>

bool cli_parse_format(const char *s, oflash_image_format *out)
{
    return oflash_image_format_parse(out, s) == 0;
}

int cli_image_apply(const char *cmd, int opt, const char *v, oflash_image_load_opts *lo)
{
    switch (opt) {
    case CLI_OPT_ALLOW_IDENTICAL_OVERLAP:
        lo->allow_identical_overlap = true;
        return 1;
    case CLI_OPT_ALLOW_MISSING_EOF:
        lo->allow_missing_eof = true;
        return 1;
    case CLI_OPT_IGNORE_AFTER_EOF:
        lo->ignore_after_eof = true;
        return 1;
    case CLI_OPT_INPUT_FORMAT:
        if (!cli_parse_format(v, &lo->format)) {
            cli_usage(cmd, "unknown input format '%s' (expected ihex, srec, elf or bin)", v);
            return -1;
        }
        return 1;
    default:
        return 0;
    }
}

void cli_image_limit_to_device(oflash_image_load_opts *lo, const cli_target *ct,
                               oflash_image_region *buf, size_t cap)
{
    oflash_devdb *db = NULL;
    const oflash_device *dev = NULL;
    oflash_sim_info *info = NULL;
    const char *name = ct->device;
    if (!name && ct->probe && !strncmp(ct->probe, "sim:", 4)) {
        info = calloc(1, sizeof *info);
        if (info && oflash_sim_info_read(info, ct->probe + 4) == 0) name = info->part;
    }
    if (name && cli_devdb_open(ct->files, ct->nfiles, &db) == 0 &&
        oflash_devdb_find(&dev, db, name) == 0 && dev->bank_count && dev->bank_count <= cap) {
        for (size_t i = 0; i < dev->bank_count; i++) {
            buf[i].start = dev->banks[i].base;
            buf[i].size = dev->banks[i].size;
        }
        lo->regions = buf;
        lo->region_count = dev->bank_count;
    }
    oflash_error_clear();
    oflash_devdb_free(db);
    free(info);
}

int cli_load_images(oflash_image **out, char **files, size_t n, const oflash_image_load_opts *o)
{
    oflash_image *img;
    *out = NULL;
    if (oflash_image_new(&img)) return cli_fail();
    for (size_t i = 0; i < n; i++) {
        if (oflash_image_load(img, files[i], o)) {
            oflash_image_free(img);
            return cli_fail();
        }
    }
    *out = img;
    return EXIT_OK;
}

bool cli_parse_range(const char *s, uint32_t *start, uint32_t *end)
{
    const char *sep = strpbrk(s, ":+");
    char buf[64];
    uint32_t a, b;
    if (!sep || (size_t)(sep - s) >= sizeof buf) return false;
    memcpy(buf, s, (size_t)(sep - s));
    buf[sep - s] = '\0';
    if (!cli_parse_u32(buf, &a)) return false;
    if (*sep == ':') {
        uint64_t e;
        if (!cli_parse_u64(sep + 1, &e) || e > 0x100000000ull || e <= a) return false;
        b = (uint32_t)e; /* 0x100000000 becomes 0: "up to 4 GiB" */
    } else {
        uint64_t sz;
        if (!cli_parse_u64(sep + 1, &sz) || sz == 0 || (uint64_t)a + sz > 0x100000000ull)
            return false;
        b = (uint32_t)(a + sz);
    }
    *start = a;
    *end = b;
    return true;
}
