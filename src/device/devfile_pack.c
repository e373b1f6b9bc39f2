/*
 * devfile_pack.c - CMSIS-Pack device descriptions: a .pdsc file, or a .pack
 * (a zip holding the .pdsc and the FLM files) read directly with libzip.
 *
 * Follows the CMSIS-Pack specification (Open-CMSIS-Pack, schema 1.7),
 * element /package/devices:
 *
 *   <family Dfamily= Dvendor=>              properties below are inherited
 *     <processor Dcore=/>                    by every level underneath and
 *     <memory name= start= size= access=/>   may be overridden there
 *     <algorithm name= start= size= RAMstart= RAMsize= default=/>
 *     <subFamily DsubFamily=> ... <device Dname=> ... <variant Dvariant=>
 *
 *  - memory: the newer form name= + access= ("rx", "rwx"...) or the older
 *    id= form (IROM1.. read-only/executable, IRAM1.. read-write); a memory
 *    with the same name at a lower level replaces the inherited one.
 *  - algorithm: an FLM path inside the pack; an algorithm at a lower level
 *    with the same start address replaces the inherited one.
 *  - every <device> and every <variant> becomes an oflash device.  Each
 *    algorithm becomes a bank (named after the memory it lies in); default
 *    algorithms are placed first and a non-default one overlapping a bank
 *    already placed is left out.  Work RAM is the first algorithm's
 *    RAMstart/RAMsize, else the largest writable default memory.
 *  - every device is also known as "PACK::NAME" (PACK = <vendor>.<name> of
 *    the .pdsc, e.g. Keil.STM32F4xx_DFP); a device named like a built-in
 *    part is known only by that name, so the built-in part keeps its name
 *    and `--device Keil.STM32F4xx_DFP::STM32F401RE` chooses the pack's
 *    algorithms for it.
 *  - a device of a family oflash knows (oflash_family_for_pack: Dvendor,
 *    Dfamily, Dname) gets the family: its OTP rules (banks in the family's
 *    OTP area become OTP / OTP lock banks) and, when it is a known part,
 *    its ID check.  Other pack devices have no ID check.
 *
 * Packs are read as shipped (df_ctx.lenient): real packs contain
 * inconsistencies, e.g. an external-flash algorithm whose FlashDevice
 * covers less than the pdsc's size.  Such a bank is clipped to what its
 * loader covers (devfile_loader.c); a bank whose loader is missing or does
 * not check out is skipped; a device that cannot be described (no RAM for
 * its algorithms, no name) is skipped; each with a warning naming the line
 * and why.  The pack is refused only when it yields no device at all.
 *
 * Bounds: entries in the zip, bytes per .pdsc and per FLM, bytes
 * decompressed in total, memories/algorithms per device (see
 * devfile_internal.h); encrypted entries and paths that leave the pack
 * (absolute, "..") are refused.
 */
#include "devfile_internal.h"
#include "oflash/error.h"
#include "oflash/sys/family.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct pk_mem {
    const char *name;
    uint32_t start, size;
    bool writable, is_default;
} pk_mem;

typedef struct pk_algo {
    const char *path;
    uint32_t start, size, ram_start, ram_size;
    bool has_ram, is_default;
    long line;
} pk_algo;

typedef struct pk_props {
    const char *vendor, *family, *core;
    pk_mem mem[DF_MAX_PACK_MEMS];
    size_t nmem;
    pk_algo algo[DF_MAX_PACK_MEMS];
    size_t nalgo;
} pk_props;

typedef struct pk_image {
    char *key;
    void *data;
    size_t size;
    struct pk_image *next;
} pk_image;

typedef struct pk_ctx {
    zip_t *zip;         /* NULL: loaders are files next to the .pdsc */
    const char *prefix; /* folder of the .pdsc inside the pack */
    uint64_t total;     /* bytes decompressed so far */
    size_t shadowed;    /* devices that are also built-in parts (named PACK::NAME only) */
    const char *pack_id; /* "<vendor>.<name>" of the .pdsc */
    pk_image *images;
} pk_ctx;

static int pk_level(df_ctx *c, pk_ctx *k, xmlNode *n, const pk_props *parent, int level);

/* Normalise an FLM path from the .pdsc; refuse ones that leave the pack. */
static char *pk_clean_path(df_ctx *c, long line, const char *path)
{
    char *p = df_strdup(c, path), *q;
    if (!p) {
        oflash_error_set(OFLASH_ENOMEM, "out of memory");
        return NULL;
    }
    for (q = p; *q; q++)
        if (*q == '\\') *q = '/';
    while (p[0] == '.' && p[1] == '/')
        p += 2;
    if (!p[0] || p[0] == '/' || strchr(p, ':') || !strcmp(p, "..") || !strncmp(p, "../", 3) ||
        strstr(p, "/../") || (strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/.."))) {
        df_err(c, line, OFLASH_EFORMAT,
               "algorithm path \"%s\" leaves the pack (expected a relative path inside it)", path);
        return NULL;
    }
    return p;
}

static int pk_zip_read(df_ctx *c, pk_ctx *k, long line, zip_int64_t idx, const char *what,
                       size_t max, void **out, size_t *len)
{
    zip_stat_t st;
    zip_file_t *f;
    char *buf;
    zip_int64_t r;
    zip_stat_init(&st);
    if (zip_stat_index(k->zip, (zip_uint64_t)idx, 0, &st) < 0)
        return df_err(c, line, OFLASH_EFORMAT, "%s: %s", what, zip_strerror(k->zip));
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return df_err(c, line, OFLASH_EFORMAT, "%s is encrypted (packs must not be)", what);
    if (!(st.valid & ZIP_STAT_SIZE) || st.size > max)
        return df_err(c, line, OFLASH_EFORMAT, "%s: %llu bytes is larger than the limit of %zu",
                      what, (unsigned long long)st.size, max);
    if (k->total + st.size > DF_MAX_ZIP_TOTAL)
        return df_err(c, line, OFLASH_EFORMAT,
                      "more than %u bytes decompressed from the pack (limit)", DF_MAX_ZIP_TOTAL);
    k->total += st.size;
    /* The arena keeps the bytes: pack banks point at them (loader_image). */
    buf = df_alloc(c, (size_t)st.size + 1);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    f = zip_fopen_index(k->zip, (zip_uint64_t)idx, 0);
    if (!f) return df_err(c, line, OFLASH_EFORMAT, "%s: %s", what, zip_strerror(k->zip));
    /* Read one byte more than declared: a lying header is an error, not a bomb. */
    r = zip_fread(f, buf, st.size + 1);
    if (r < 0) {
        int rc = df_err(c, line, OFLASH_EFORMAT, "%s: %s", what, zip_file_strerror(f));
        zip_fclose(f);
        return rc;
    }
    if (zip_fclose(f) != 0 || (zip_uint64_t)r != st.size)
        return df_err(c, line, OFLASH_EFORMAT,
                      "%s: decompressed size %lld does not match the declared %llu (or CRC "
                      "error)",
                      what, (long long)r, (unsigned long long)st.size);
    *out = buf;
    *len = (size_t)st.size;
    return 0;
}

static int pk_flm_image(df_ctx *c, pk_ctx *k, long line, const char *key, const void **img,
                        size_t *len)
{
    pk_image *im;
    zip_int64_t idx;
    int rc;
    for (im = k->images; im; im = im->next)
        if (!strcmp(im->key, key)) {
            *img = im->data;
            *len = im->size;
            return 0;
        }
    idx = zip_name_locate(k->zip, key, 0);
    if (idx < 0) idx = zip_name_locate(k->zip, key, ZIP_FL_NOCASE);
    if (idx < 0) return df_err(c, line, OFLASH_ENOTFOUND, "algorithm %s is not in the pack", key);
    im = calloc(1, sizeof *im);
    if (!im || !(im->key = strdup(key))) {
        free(im);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    im->next = k->images;
    k->images = im;
    if ((rc = pk_zip_read(c, k, line, idx, key, DF_MAX_FLM_BYTES, &im->data, &im->size)) < 0)
        return rc;
    *img = im->data;
    *len = im->size;
    return 0;
}

/* The last error's message, for a warning that names its own line: without
 * the "FILE:LINE: " (and "device 'X': ") df_err put in front. */
static const char *pk_msg(void)
{
    const char *m = oflash_error_last(), *q;
    if ((q = strstr(m, ": device '")) && (q = strstr(q + 10, "': "))) return q + 3;
    /* "path:LINE: message": after the first ":DIGITS: " */
    for (q = strchr(m, ':'); q; q = strchr(q + 1, ':')) {
        const char *d = q + 1;
        if (*d < '0' || *d > '9') continue;
        while (*d >= '0' && *d <= '9')
            d++;
        if (d[0] == ':' && d[1] == ' ') return d + 2;
    }
    return m;
}

/* Apply the <processor>, <memory> and <algorithm> children of n to p. */
static int pk_apply(df_ctx *c, xmlNode *n, pk_props *p)
{
    int rc;
    for (xmlNode *ch = n->children; ch; ch = ch->next) {
        long line = xmlGetLineNo(ch);
        if (df_name_is(ch, "processor")) {
            const char *core = df_attr(c, ch, "Dcore");
            if (core && core[0]) p->core = core;
        } else if (df_name_is(ch, "memory")) {
            pk_mem m = {0};
            const char *acc = df_attr(c, ch, "access"), *id = df_attr(c, ch, "id");
            const char *def = df_attr(c, ch, "default");
            m.name = df_attr(c, ch, "name");
            if (!m.name) m.name = id;
            if (!m.name || !m.name[0]) {
                df_warn(c, line,
                        "<memory> has neither name= nor id= (expected e.g. name=\"Flash\"): "
                        "left out");
                continue;
            }
            if ((rc = df_attr_u32(c, ch, "start", &m.start, true)) < 0 ||
                (rc = df_attr_u32(c, ch, "size", &m.size, true)) < 0) {
                if (rc == OFLASH_ENOMEM) return rc;
                df_warn(c, line, "%s: <memory> left out", pk_msg());
                continue;
            }
            if (acc)
                m.writable = strchr(acc, 'w') != NULL;
            else if (id)
                m.writable = !strncasecmp(id, "IRAM", 4) || !strncasecmp(id, "RAM", 3);
            else {
                df_warn(c, line,
                        "<memory name=\"%s\"> has no access= (expected e.g. \"rx\" or "
                        "\"rwx\"): left out",
                        m.name);
                continue;
            }
            m.is_default = def && !strcmp(def, "1");
            size_t i;
            for (i = 0; i < p->nmem; i++)
                if (!strcasecmp(p->mem[i].name, m.name)) break;
            if (i == p->nmem && p->nmem == DF_MAX_PACK_MEMS) {
                df_warn(c, line, "more than %u <memory> for one device: the rest left out",
                        DF_MAX_PACK_MEMS);
                continue;
            }
            p->mem[i] = m;
            if (i == p->nmem) p->nmem++;
        } else if (df_name_is(ch, "algorithm")) {
            pk_algo a = {.line = line};
            const char *def = df_attr(c, ch, "default");
            int r1, r2;
            a.path = df_attr(c, ch, "name");
            if (!a.path || !a.path[0]) {
                df_warn(c, line,
                        "<algorithm> has no name= (expected the FLM's path in the pack): "
                        "left out");
                continue;
            }
            if ((rc = df_attr_u32(c, ch, "start", &a.start, true)) < 0 ||
                (rc = df_attr_u32(c, ch, "size", &a.size, true)) < 0 ||
                (rc = r1 = df_attr_u32(c, ch, "RAMstart", &a.ram_start, false)) < 0 ||
                (rc = r2 = df_attr_u32(c, ch, "RAMsize", &a.ram_size, false)) < 0) {
                if (rc == OFLASH_ENOMEM) return rc;
                df_warn(c, line, "%s: algorithm %s left out", pk_msg(), a.path);
                continue;
            }
            if (r1 != r2) {
                df_warn(c, line,
                        "<algorithm name=\"%s\">: RAMstart and RAMsize go together: left out",
                        a.path);
                continue;
            }
            if (a.size == 0) {
                df_warn(c, line, "<algorithm name=\"%s\">: size is 0: left out", a.path);
                continue;
            }
            a.has_ram = r1 == 0;
            a.is_default = def && !strcmp(def, "1");
            size_t i;
            for (i = 0; i < p->nalgo; i++)
                if (p->algo[i].start == a.start) break;
            if (i == p->nalgo && p->nalgo == DF_MAX_PACK_MEMS) {
                df_warn(c, line, "more than %u <algorithm> for one device: the rest left out",
                        DF_MAX_PACK_MEMS);
                continue;
            }
            p->algo[i] = a;
            if (i == p->nalgo) p->nalgo++;
        }
    }
    return 0;
}

static bool pk_overlap(uint32_t a, uint32_t as, uint32_t b, uint32_t bs)
{
    return a < (uint64_t)b + bs && b < (uint64_t)a + as;
}

/* A bank name: the memory the algorithm lies in, else the FLM's file stem. */
static const char *pk_bank_name(df_ctx *c, const pk_props *p, const pk_algo *a,
                                const oflash_bank *banks, size_t nb)
{
    const char *nm = NULL;
    char buf[160];
    for (size_t i = 0; i < p->nmem && !nm; i++)
        if (a->start >= p->mem[i].start && a->start - p->mem[i].start < p->mem[i].size)
            nm = p->mem[i].name;
    if (!nm) {
        const char *slash = a->path, *dot;
        for (const char *q = a->path; *q; q++)
            if (*q == '/' || *q == '\\') slash = q + 1;
        dot = strrchr(slash, '.');
        snprintf(buf, sizeof buf, "%.*s", (int)(dot ? (size_t)(dot - slash) : strlen(slash)),
                 slash);
        nm = buf;
    }
    for (int n = 1; n < 1000; n++) {
        char cand[176];
        bool used = false;
        if (n == 1)
            snprintf(cand, sizeof cand, "%s", nm);
        else
            snprintf(cand, sizeof cand, "%s-%d", nm, n);
        for (size_t i = 0; i < nb && !used; i++)
            used = !strcasecmp(banks[i].name, cand);
        if (!used) return df_strdup(c, cand);
    }
    return df_strdup(c, nm);
}

static int pk_emit(df_ctx *c, pk_ctx *k, xmlNode *n, const char *name, const pk_props *p)
{
    long line = xmlGetLineNo(n);
    oflash_device *d = df_alloc(c, sizeof *d);
    oflash_bank *banks = df_alloc(c, (p->nalgo + 1) * sizeof *banks);
    oflash_region *rg = df_alloc(c, (p->nmem + 1) * sizeof *rg);
    size_t nb = 0, nr = 0;
    const pk_mem *ram = NULL;
    int rc;
    const oflash_device *part = NULL;
    const oflash_family_ops *fam;
    char *qualified;
    const char **aliases = df_alloc(c, 2 * sizeof *aliases);
    if (!d || !banks || !rg || !aliases) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if (!(qualified = df_alloc(c, strlen(k->pack_id) + strlen(name) + 3)))
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    sprintf(qualified, "%s::%s", k->pack_id, name);
    c->cur_dev = name;
    /* A built-in part keeps its name (its ID check, OTP banks and loader);
     * the pack's description of it is "PACK::NAME" only, for --device. */
    if (oflash_builtin_device_find(name)) {
        k->shadowed++;
        c->builtin_parts++;
        oflash_log(OFLASH_LOG_DEBUG,
                   "%s:%ld: device '%s' is also a built-in part: the pack's description is "
                   "'%s'",
                   c->path, line, name, qualified);
        d->name = qualified;
    } else {
        d->name = name;
        aliases[0] = qualified;
        d->aliases = aliases;
    }
    /* A family oflash knows: its OTP rules and, for a known part, its ID check. */
    if ((fam = oflash_family_for_pack(&part, p->vendor, p->family, name))) {
        d->family_ops = fam;
        if (part) {
            d->has_id = part->has_id;
            d->dev_id = part->dev_id;
            d->flash_size_kb = part->flash_size_kb;
            d->family_data = part->family_data;
        }
    }
    d->source = c->source;
    d->vendor = p->vendor;
    d->family = p->family;
    d->core = p->core ? p->core : "Cortex-M";
    /* Work RAM: an algorithm's RAMstart/RAMsize (default ones first), else
     * the largest writable memory (default ones first). */
    for (int pass = 0; pass < 2 && !d->work_ram_size; pass++)
        for (size_t i = 0; i < p->nalgo && !d->work_ram_size; i++)
            if (p->algo[i].has_ram && (pass || p->algo[i].is_default)) {
                d->work_ram_start = p->algo[i].ram_start;
                d->work_ram_size = p->algo[i].ram_size;
            }
    for (size_t i = 0; i < p->nmem; i++) {
        const pk_mem *m = &p->mem[i];
        if (!m->writable) continue;
        if (!ram || (m->is_default && !ram->is_default) ||
            (m->is_default == ram->is_default && m->size > ram->size))
            ram = m;
    }
    if (!d->work_ram_size && ram) {
        d->work_ram_start = ram->start;
        d->work_ram_size = ram->size;
    }
    if (p->nalgo && !d->work_ram_size)
        return df_err(c, line, OFLASH_EFORMAT,
                      "flash algorithms but no RAM to run them in (expected a writable "
                      "<memory> or RAMstart/RAMsize on <algorithm>)");
    oflash_otp_rules otp = {0};
    if (fam && oflash_device_otp_rules(&otp, d) < 0) otp.kind = OFLASH_OTP_NONE;
    /* Banks: default algorithms first; a later one overlapping is left out. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->nalgo; i++) {
            const pk_algo *a = &p->algo[i];
            oflash_bank *b = &banks[nb];
            bool clash = false;
            const void *img = NULL;
            size_t len = 0;
            const char *key;
            char *clean;
            if (a->is_default != (pass == 0)) continue;
            for (size_t j = 0; j < nb && !clash; j++)
                clash = pk_overlap(a->start, a->size, banks[j].base, banks[j].size);
            if (clash) {
                if (pass == 0) {
                    c->banks_skipped++;
                    df_warn(c, a->line,
                            "default algorithms %s and %s overlap: %s left out (expected one "
                            "default algorithm per address range)",
                            a->path, banks[nb - 1].loader_name, a->path);
                }
                continue;
            }
            memset(b, 0, sizeof *b);
            b->kind = OFLASH_BANK_FLASH;
            b->base = a->start;
            b->size = a->size;
            b->erased_value = 0xFF;
            b->name = pk_bank_name(c, p, a, banks, nb);
            if (!(clean = pk_clean_path(c, a->line, a->path))) {
                if ((rc = oflash_error_last_code()) == OFLASH_ENOMEM) return rc;
                goto skip_bank;
            }
            if (k->zip) {
                size_t pl = strlen(k->prefix);
                char *full = df_alloc(c, pl + strlen(clean) + 1);
                if (!full) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
                memcpy(full, k->prefix, pl);
                strcpy(full + pl, clean);
                key = full;
                /* Banks show where their loader came from: "X.pack:path". */
                b->loader_name = df_alloc(c, strlen(c->source) + strlen(full) + 2);
                if (!b->loader_name) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
                sprintf((char *)b->loader_name, "%s:%s", c->source, full);
            } else {
                char *joined = df_alloc(c, strlen(c->dir) + strlen(clean) + 2), resolved[PATH_MAX];
                if (!joined) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
                sprintf(joined, "%s/%s", c->dir, clean);
                if (c->check_loaders && !realpath(joined, resolved)) {
                    df_err(c, a->line, OFLASH_ENOTFOUND, "algorithm file %s: %s", joined,
                           strerror(errno));
                    goto skip_bank;
                }
                key = c->check_loaders ? df_strdup(c, resolved) : joined;
                b->loader_name = a->path;
            }
            if (!key) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            if (k->zip && (rc = pk_flm_image(c, k, a->line, key, &img, &len)) < 0) {
                if (rc == OFLASH_ENOMEM) return rc;
                goto skip_bank;
            }
            if (c->check_loaders) {
                if ((rc = df_bank_from_flm(c, a->line, b, key, img, len, true, d->work_ram_start,
                                           d->work_ram_size)) < 0) {
                    if (rc == OFLASH_ENOMEM) return rc;
                    goto skip_bank;
                }
            }
            /* The family's OTP area: OTP data and lock banks get its rules. */
            if (otp.kind != OFLASH_OTP_NONE && otp.data_size &&
                b->base >= otp.data_base && b->base - otp.data_base < otp.data_size)
                b->kind = OFLASH_BANK_OTP;
            else if (otp.kind != OFLASH_OTP_NONE && otp.lock_count && b->base >= otp.lock_base &&
                     b->base - otp.lock_base < otp.lock_count)
                b->kind = OFLASH_BANK_OTP_LOCK;
            nb++;
            continue;
        skip_bank:
            c->banks_skipped++;
            df_warn(c, a->line, "bank at 0x%08X (algorithm %s) left out: %s", a->start, a->path,
                    pk_msg());
        }
    for (size_t i = 0; i < p->nmem; i++) {
        const pk_mem *m = &p->mem[i];
        bool in_bank = false;
        for (size_t j = 0; j < nb && !in_bank; j++)
            in_bank = pk_overlap(m->start, m->size, banks[j].base, banks[j].size);
        if (in_bank && !m->writable) continue;
        rg[nr].name = m->name;
        rg[nr].kind = m->writable ? OFLASH_REGION_RAM : OFLASH_REGION_SYSMEM;
        rg[nr].base = m->start;
        rg[nr].size = m->size;
        nr++;
    }
    d->banks = banks;
    d->bank_count = nb;
    d->regions = rg;
    d->region_count = nr;
    c->cur_dev = NULL;
    return df_add_device(c, d);
}

static int pk_level(df_ctx *c, pk_ctx *k, xmlNode *n, const pk_props *parent, int level)
{
    pk_props *p = malloc(sizeof *p);
    const char *s, *name = NULL;
    int rc = 0;
    if (!p) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    *p = *parent;
    if (level == 0) {
        if ((s = df_attr(c, n, "Dvendor"))) {
            char *colon = strchr(s, ':');
            p->vendor = colon ? df_strndup(c, s, (size_t)(colon - s)) : s;
        }
        if (!(p->family = df_attr(c, n, "Dfamily")) || !p->family[0]) {
            df_warn(c, xmlGetLineNo(n), "<family> has no Dfamily: its devices are left out");
            goto out;
        }
    } else if (level == 2) {
        name = df_attr(c, n, "Dname");
    } else if (level == 3) {
        name = df_attr(c, n, "Dvariant");
    }
    if ((level == 2 || level == 3) && (!name || !name[0])) {
        c->devices_skipped++;
        df_warn(c, xmlGetLineNo(n), "<%s> has no %s: left out", (const char *)n->name,
                level == 2 ? "Dname" : "Dvariant");
        goto out;
    }
    if ((rc = pk_apply(c, n, p)) < 0) goto out;
    if (name && (rc = pk_emit(c, k, n, name, p)) < 0) {
        if (rc == OFLASH_ENOMEM) goto out;
        c->devices_skipped++;
        df_warn(c, xmlGetLineNo(n), "left out: %s", pk_msg());
        c->cur_dev = NULL;
        rc = 0;
    }
    for (xmlNode *ch = n->children; ch && rc == 0; ch = ch->next) {
        if (level == 0 && df_name_is(ch, "subFamily"))
            rc = pk_level(c, k, ch, p, 1);
        else if (level <= 1 && df_name_is(ch, "device"))
            rc = pk_level(c, k, ch, p, 2);
        else if (level == 2 && df_name_is(ch, "variant"))
            rc = pk_level(c, k, ch, p, 3);
    }
out:
    free(p);
    return rc;
}

static void pk_images_free(pk_ctx *k)
{
    while (k->images) {
        pk_image *n = k->images->next;
        free(k->images->key);
        free(k->images);
        k->images = n;
    }
}

/* Text of an element, copied into the arena (NULL when empty). */
static const char *pk_text(df_ctx *c, xmlNode *n)
{
    xmlChar *t = xmlNodeGetContent(n);
    const char *r = NULL;
    if (t) {
        const char *s = (const char *)t;
        size_t len;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
            len--;
        if (len) r = df_strndup(c, s, len);
        xmlFree(t);
    }
    return r;
}

/* "<vendor>.<name>" of the pack (as in its file name, without the
 * version), else the file name's stem. */
static const char *pk_pack_id(df_ctx *c, const char *vendor, const char *name)
{
    char *id;
    if (vendor && name) {
        if ((id = df_alloc(c, strlen(vendor) + strlen(name) + 2))) sprintf(id, "%s.%s", vendor, name);
        return id;
    }
    const char *base = strrchr(c->source, '/');
    base = base ? base + 1 : c->source;
    const char *dot = strstr(base, ".pack");
    if (!dot) dot = strstr(base, ".pdsc");
    return df_strndup(c, base, dot ? (size_t)(dot - base) : strlen(base));
}

int oflash__devfile_pdsc(df_ctx *c, xmlDoc *doc, zip_t *zip, const char *prefix)
{
    xmlNode *root = xmlDocGetRootElement(doc), *devices = NULL;
    pk_ctx k = {.zip = zip, .prefix = prefix};
    pk_props *empty = calloc(1, sizeof *empty);
    size_t before = c->ndev;
    int rc = 0;
    const char *vendor = NULL, *pname = NULL;
    if (!empty) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    c->lenient = true;
    for (xmlNode *ch = root->children; ch; ch = ch->next) {
        if (df_name_is(ch, "devices")) devices = ch;
        if (df_name_is(ch, "vendor") && !vendor) vendor = pk_text(c, ch);
        if (df_name_is(ch, "name") && !pname) pname = pk_text(c, ch);
    }
    k.pack_id = pk_pack_id(c, vendor, pname);
    if (!k.pack_id) {
        free(empty);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    if (!devices)
        rc = df_err(c, xmlGetLineNo(root), OFLASH_EFORMAT,
                    "<package> has no <devices> (a pack without devices describes no part)");
    for (xmlNode *ch = devices ? devices->children : NULL; ch && rc == 0; ch = ch->next)
        if (df_name_is(ch, "family")) rc = pk_level(c, &k, ch, empty, 0);
    if (rc == 0 && c->ndev == before)
        rc = df_err(c, xmlGetLineNo(devices), OFLASH_EFORMAT,
                    "<devices> describes no usable <device> (expected <family><device "
                    "Dname=...>%s)",
                    c->devices_skipped ? "; every device was left out, see the warnings" : "");
    pk_images_free(&k);
    free(empty);
    return rc;
}

int oflash__devfile_pack_zip(df_ctx *c, zip_t *z)
{
    zip_int64_t n = zip_get_num_entries(z, 0), found = -1;
    int at_root = 0, anywhere = 0, rc;
    zip_int64_t root_idx = -1, any_idx = -1;
    pk_ctx k = {.zip = z, .prefix = ""};
    char *pdsc_path, *prefix;
    const char *nm;
    void *buf;
    size_t len;
    xmlDoc *doc;
    if (n < 0 || (zip_uint64_t)n > DF_MAX_ZIP_ENTRIES)
        return df_err(c, 0, OFLASH_EFORMAT, "pack has %lld entries (limit %u)", (long long)n,
                      DF_MAX_ZIP_ENTRIES);
    for (zip_int64_t i = 0; i < n; i++) {
        size_t l;
        nm = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!nm || (l = strlen(nm)) < 5 || strcasecmp(nm + l - 5, ".pdsc")) continue;
        anywhere++;
        any_idx = i;
        if (!strchr(nm, '/')) {
            at_root++;
            root_idx = i;
        }
    }
    if (at_root == 1)
        found = root_idx;
    else if (at_root == 0 && anywhere == 1)
        found = any_idx;
    if (found < 0)
        return df_err(c, 0, OFLASH_EFORMAT,
                      "pack holds %d .pdsc files (%d at its root): expected exactly one", anywhere,
                      at_root);
    nm = zip_get_name(z, (zip_uint64_t)found, 0);
    pdsc_path = df_alloc(c, strlen(c->source) + strlen(nm) + 2);
    if (!pdsc_path) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    sprintf(pdsc_path, "%s:%s", c->source, nm);
    prefix = df_strdup(c, nm);
    if (!prefix) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    *(strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix) = '\0';
    if ((rc = pk_zip_read(c, &k, 0, found, pdsc_path, DF_MAX_XML_BYTES, &buf, &len)) < 0) return rc;
    c->path = pdsc_path; /* messages name "X.pack:Y.pdsc:LINE" */
    if ((rc = df_xml_parse(c, buf, len, &doc)) < 0) return rc;
    if (!df_name_is(xmlDocGetRootElement(doc), "package"))
        rc = df_err(c, xmlGetLineNo(xmlDocGetRootElement(doc)), OFLASH_EFORMAT,
                    "root element <%s>: expected <package>",
                    (const char *)xmlDocGetRootElement(doc)->name);
    else
        rc = oflash__devfile_pdsc(c, doc, z, prefix);
    xmlFreeDoc(doc);
    return rc;
}

int oflash__devfile_pack(df_ctx *c, const void *buf, size_t len)
{
    zip_error_t ze;
    zip_source_t *src;
    zip_t *z;
    int rc;
    zip_error_init(&ze);
    src = zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        rc = df_err(c, 0, OFLASH_EFORMAT, "not a readable CMSIS-Pack (zip): %s",
                    zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    rc = oflash__devfile_pack_zip(c, z);
    zip_discard(z);
    return rc;
}
