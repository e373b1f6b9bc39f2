/*
 * devfile_jlink.c - J-Link device files (JLinkDevices.xml), the format of
 * SEGGER's "open flash loader", described in SEGGER's wiki pages
 * "J-Link Device Support Kit" and "Open Flashloader":
 *
 *   <DataBase>
 *     <Device>
 *       <ChipInfo Vendor="ST" Name="MYCHIP" Core="JLINK_CORE_CORTEX_M4"
 *                 WorkRAMAddr="0x20000000" WorkRAMSize="0x10000" Aliases="A,B"/>
 *       <FlashBankInfo Name="otp" BaseAddr="0x1FFF7800" MaxSize="0x200"
 *                      Loader="loader.FLM" LoaderType="FLASH_ALGO_TYPE_OPEN"
 *                      AlwaysPresent="1"/>
 *     </Device>
 *   </DataBase>
 *
 * and the newer form where the loader is a child of the bank:
 *   <FlashBankInfo Name= BaseAddr= MaxSize=><LoaderInfo Name= Loader= LoaderType=/></FlashBankInfo>
 *
 * Semantics:
 *  - Loader paths are relative to the XML file (backslashes accepted).
 *  - A device whose Name (or InheritFrom on <Device> or <ChipInfo>) names a
 *    known device (built-in or loaded before) starts as a copy of it: its
 *    ID registers, regions and banks.  A bank of the file replaces an
 *    inherited bank with the same name or an overlapping range; others are
 *    added.  With Name matching, the result keeps the known device's
 *    canonical name and aliases (it extends that part); with InheritFrom it
 *    is a new part named Name.
 *  - Any other device is new: no ID registers (so the ID check on connect
 *    is skipped), work RAM from WorkRAMAddr/WorkRAMSize (required when it
 *    has banks), one RAM region.
 *  - Sectors, page size and erased value of a bank come from its FLM's
 *    FlashDevice; MaxSize limits the bank (default: the FLM's szDev).
 *  - oflash extension: Kind="flash" (default) | "otp" | "otp-lock" on
 *    <FlashBankInfo>, so a file can describe one-time-programmable banks
 *    that oflash must never erase.  J-Link ignores unknown attributes.
 */
#include "devfile_internal.h"
#include "oflash/error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "JLINK_CORE_CORTEX_M4" -> "Cortex-M4"; anything else is kept. */
static const char *jl_core(df_ctx *c, const char *core)
{
    static const struct {
        const char *jlink, *name;
    } cores[] = {
        {"JLINK_CORE_CORTEX_M0", "Cortex-M0"},   {"JLINK_CORE_CORTEX_M0PLUS", "Cortex-M0+"},
        {"JLINK_CORE_CORTEX_M1", "Cortex-M1"},   {"JLINK_CORE_CORTEX_M3", "Cortex-M3"},
        {"JLINK_CORE_CORTEX_M4", "Cortex-M4"},   {"JLINK_CORE_CORTEX_M7", "Cortex-M7"},
        {"JLINK_CORE_CORTEX_M23", "Cortex-M23"}, {"JLINK_CORE_CORTEX_M33", "Cortex-M33"},
        {"JLINK_CORE_CORTEX_M55", "Cortex-M55"},
    };
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (!strcasecmp(core, cores[i].jlink)) return cores[i].name;
    return df_strdup(c, core);
}

static bool jl_is_sep(char ch)
{
    return ch == ',' || ch == ';' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Build the NULL-terminated alias list: inherited ones, then extra (a name
 * that is not already the canonical name), then the separated list s. */
static int jl_aliases(df_ctx *c, oflash_device *d, const char *const *inherited, const char *extra,
                      const char *s, long line)
{
    size_t n = 0, k = 0;
    const char **a;
    for (const char *const *p = inherited; p && *p; p++)
        n++;
    n += extra ? 1 : 0;
    for (const char *p = s; p && *p; p++)
        if (!jl_is_sep(*p) && (p == s || jl_is_sep(p[-1]))) n++;
    if (n > DF_MAX_ALIASES)
        return df_err(c, line, OFLASH_EFORMAT, "device '%s' has more than %u aliases", d->name,
                      DF_MAX_ALIASES);
    a = df_alloc(c, (n + 1) * sizeof *a);
    if (!a) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (const char *const *p = inherited; p && *p; p++)
        a[k++] = *p;
    if (extra) a[k++] = extra;
    for (const char *p = s; p && *p;) {
        size_t len = 0;
        while (*p && jl_is_sep(*p))
            p++;
        while (p[len] && !jl_is_sep(p[len]))
            len++;
        if (len) {
            if (!(a[k++] = df_strndup(c, p, len)))
                return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        }
        p += len;
    }
    a[k] = NULL;
    d->aliases = a;
    return 0;
}

/* Resolve a Loader= path against the file's directory; it must exist. */
static const char *jl_loader_path(df_ctx *c, long line, const char *loader)
{
    char *p, *joined, resolved[PATH_MAX];
    size_t n = strlen(loader);
    p = df_strdup(c, loader);
    if (!p) {
        oflash_error_set(OFLASH_ENOMEM, "out of memory");
        return NULL;
    }
    for (char *q = p; *q; q++)
        if (*q == '\\') *q = '/';
    if (p[0] == '/') {
        joined = p;
    } else {
        joined = df_alloc(c, strlen(c->dir) + n + 2);
        if (!joined) {
            oflash_error_set(OFLASH_ENOMEM, "out of memory");
            return NULL;
        }
        strcpy(joined, c->dir);
        strcat(joined, "/");
        strcat(joined, p);
    }
    if (!realpath(joined, resolved)) {
        df_err(c, line, errno == ENOENT ? OFLASH_ENOTFOUND : OFLASH_EIO,
               "loader file %s (Loader=\"%s\", relative to the device file): %s", joined, loader,
               strerror(errno));
        return NULL;
    }
    return df_strdup(c, resolved);
}

static int jl_bank(df_ctx *c, xmlNode *fb, oflash_bank *b, uint32_t ram_start, uint32_t ram_size,
                   bool have_ram)
{
    long line = xmlGetLineNo(fb);
    xmlNode *li = fb;
    const char *s, *loader, *path;
    uint32_t v;
    bool have_size = false;
    int rc;

    for (xmlNode *ch = fb->children; ch; ch = ch->next)
        if (df_name_is(ch, "LoaderInfo")) {
            li = ch;
            break;
        }
    memset(b, 0, sizeof *b);
    b->erased_value = 0xFF;
    if (!(b->name = df_attr(c, fb, "Name")) || !b->name[0])
        return df_err(c, line, OFLASH_EFORMAT,
                      "<FlashBankInfo> has no Name (expected a bank name such as \"Flash\")");
    if ((rc = df_attr_u32(c, fb, "BaseAddr", &b->base, true)) < 0) return rc;
    if ((rc = df_attr_u32(c, fb, "MaxSize", &v, false)) < 0) return rc;
    if (rc == 1 && li != fb && (rc = df_attr_u32(c, li, "MaxSize", &v, false)) < 0) return rc;
    if (rc == 0) {
        b->size = v;
        have_size = true;
        if (v == 0) return df_err(c, line, OFLASH_EFORMAT, "bank '%s': MaxSize is 0", b->name);
    }
    if ((s = df_attr(c, fb, "AlwaysPresent")) && strcmp(s, "0") && strcmp(s, "1"))
        return df_err(c, line, OFLASH_EFORMAT, "bank '%s': AlwaysPresent=\"%s\" (expected 0 or 1)",
                      b->name, s);
    if ((s = df_attr(c, fb, "Kind"))) {
        if (!strcasecmp(s, "flash"))
            b->kind = OFLASH_BANK_FLASH;
        else if (!strcasecmp(s, "otp"))
            b->kind = OFLASH_BANK_OTP;
        else if (!strcasecmp(s, "otp-lock"))
            b->kind = OFLASH_BANK_OTP_LOCK;
        else
            return df_err(c, line, OFLASH_EFORMAT,
                          "bank '%s': Kind=\"%s\" (expected flash, otp or otp-lock)", b->name, s);
    }
    s = df_attr(c, li, "LoaderType");
    if (s && strcasecmp(s, "FLASH_ALGO_TYPE_OPEN"))
        return df_err(c, xmlGetLineNo(li), OFLASH_EUNSUPPORTED,
                      "bank '%s': LoaderType=\"%s\" is not supported (expected "
                      "FLASH_ALGO_TYPE_OPEN, a CMSIS FLM)",
                      b->name, s);
    loader = df_attr(c, li, "Loader");
    if (!loader || !loader[0])
        return df_err(c, xmlGetLineNo(li), OFLASH_EFORMAT,
                      "bank '%s' has no Loader (expected the path of an FLM, relative to this "
                      "file)",
                      b->name);
    if (!have_ram)
        return df_err(c, line, OFLASH_EFORMAT,
                      "bank '%s': the device declares no work RAM for its loader (expected "
                      "WorkRAMAddr and WorkRAMSize in <ChipInfo>)",
                      b->name);
    if (!c->check_loaders) {
        b->loader_name = loader;
        if (!have_size) return df_err(c, line, OFLASH_EFORMAT, "bank '%s': no MaxSize", b->name);
        return 0;
    }
    if (!(path = jl_loader_path(c, xmlGetLineNo(li), loader))) return oflash_error_last_code();
    b->loader_name = loader;
    return df_bank_from_flm(c, xmlGetLineNo(li), b, path, NULL, 0, have_size, ram_start, ram_size);
}

static bool jl_overlap(const oflash_bank *a, const oflash_bank *b)
{
    uint64_t ae = (uint64_t)a->base + a->size, be = (uint64_t)b->base + b->size;
    return a->base < be && b->base < ae;
}

static int jl_device(df_ctx *c, xmlNode *dev)
{
    long line = xmlGetLineNo(dev);
    xmlNode *chip = NULL;
    size_t nfb = 0, nb = 0;
    const char *name, *inherit, *s;
    const oflash_device *base;
    oflash_device *d;
    oflash_bank *banks, *fresh;
    bool have_ram;
    uint32_t v;
    int rc;

    for (xmlNode *ch = dev->children; ch; ch = ch->next) {
        if (df_name_is(ch, "ChipInfo")) {
            if (chip)
                return df_err(c, xmlGetLineNo(ch), OFLASH_EFORMAT,
                              "second <ChipInfo> in one <Device> (first at line %ld)",
                              xmlGetLineNo(chip));
            chip = ch;
        } else if (df_name_is(ch, "FlashBankInfo")) {
            nfb++;
        }
    }
    if (!chip) return df_err(c, line, OFLASH_EFORMAT, "<Device> has no <ChipInfo>");
    if (nfb > DF_MAX_BANKS)
        return df_err(c, line, OFLASH_EFORMAT, "device has more than %u flash banks", DF_MAX_BANKS);
    name = df_attr(c, chip, "Name");
    if (!name || !name[0])
        return df_err(c, xmlGetLineNo(chip), OFLASH_EFORMAT,
                      "<ChipInfo> has no Name (expected the device name)");
    c->cur_dev = name;
    inherit = df_attr(c, dev, "InheritFrom");
    if (!inherit) inherit = df_attr(c, chip, "InheritFrom");
    if (inherit) {
        if (!(base = df_find(c, inherit)))
            return df_err(c, xmlGetLineNo(chip), OFLASH_ENOTFOUND,
                          "InheritFrom=\"%s\" names no known device", inherit);
    } else {
        base = df_find(c, name);
    }

    if (!(d = df_alloc(c, sizeof *d))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if (base) {
        *d = *base;
        d->extends = base->name;
    } else {
        d->name = name;
        d->family = "device file";
        d->core = "Cortex-M";
    }
    d->source = c->source;
    if (base && !inherit) {
        /* Extending a known part: keep its names, add this file's. */
        bool same = oflash__device_matches(base, name);
        rc = jl_aliases(c, d, base->aliases, same ? NULL : name, df_attr(c, chip, "Aliases"),
                        xmlGetLineNo(chip));
    } else {
        d->name = name;
        rc = jl_aliases(c, d, NULL, NULL, df_attr(c, chip, "Aliases"), xmlGetLineNo(chip));
    }
    if (rc < 0) return rc;
    if ((s = df_attr(c, chip, "Vendor"))) d->vendor = s;
    if ((s = df_attr(c, chip, "Core"))) d->core = jl_core(c, s);
    if ((rc = df_attr_u32(c, chip, "WorkRAMAddr", &v, false)) < 0) return rc;
    if (rc == 0) d->work_ram_start = v;
    if ((rc = df_attr_u32(c, chip, "WorkRAMSize", &v, false)) < 0) return rc;
    if (rc == 0) d->work_ram_size = v;
    have_ram = d->work_ram_size != 0;
    if (!base && have_ram) {
        oflash_region *r = df_alloc(c, sizeof *r);
        if (!r) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        r->name = "work ram";
        r->kind = OFLASH_REGION_RAM;
        r->base = d->work_ram_start;
        r->size = d->work_ram_size;
        d->regions = r;
        d->region_count = 1;
    }

    /* The file's banks first, checked against each other. */
    fresh = df_alloc(c, (nfb ? nfb : 1) * sizeof *fresh);
    banks = df_alloc(c, (nfb + (base ? base->bank_count : 0) + 1) * sizeof *banks);
    if (!fresh || !banks) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    nfb = 0;
    for (xmlNode *ch = dev->children; ch; ch = ch->next) {
        if (!df_name_is(ch, "FlashBankInfo")) continue;
        if ((rc = jl_bank(c, ch, &fresh[nfb], d->work_ram_start, d->work_ram_size, have_ram)) < 0)
            return rc;
        for (size_t j = 0; j < nfb; j++)
            if (!strcasecmp(fresh[j].name, fresh[nfb].name) || jl_overlap(&fresh[j], &fresh[nfb]))
                return df_err(c, xmlGetLineNo(ch), OFLASH_EFORMAT,
                              "bank '%s' 0x%08X-0x%08X clashes with bank '%s' "
                              "0x%08X-0x%08X of the same device (same name or overlapping)",
                              fresh[nfb].name, fresh[nfb].base,
                              (uint32_t)(fresh[nfb].base + fresh[nfb].size - 1), fresh[j].name,
                              fresh[j].base, (uint32_t)(fresh[j].base + fresh[j].size - 1));
        nfb++;
    }
    /* Inherited banks that no bank of the file replaces keep their place. */
    for (size_t i = 0; base && i < base->bank_count; i++) {
        const oflash_bank *ib = &base->banks[i];
        bool replaced = false;
        for (size_t j = 0; j < nfb && !replaced; j++)
            replaced = !strcasecmp(ib->name, fresh[j].name) || jl_overlap(ib, &fresh[j]);
        if (!replaced) banks[nb++] = *ib;
    }
    memcpy(banks + nb, fresh, nfb * sizeof *fresh);
    nb += nfb;
    d->banks = banks;
    d->bank_count = nb;
    c->cur_dev = NULL;
    /* Extending a device defined earlier in this same file: the extended
     * one takes its place (it would otherwise lose to it on lookup). */
    if (base && !inherit)
        for (size_t i = 0; i < c->ndev; i++)
            if (c->devs[i] == base) {
                c->devs[i] = d;
                return 0;
            }
    return df_add_device(c, d);
}

int oflash__devfile_jlink(df_ctx *c, xmlDoc *doc)
{
    xmlNode *root = xmlDocGetRootElement(doc);
    size_t n = 0;
    int rc;
    for (xmlNode *ch = root->children; ch; ch = ch->next) {
        if (ch->type != XML_ELEMENT_NODE) continue;
        if (!df_name_is(ch, "Device"))
            return df_err(c, xmlGetLineNo(ch), OFLASH_EFORMAT,
                          "unexpected <%s> in <DataBase> (expected <Device>)",
                          (const char *)ch->name);
        c->cur_dev = NULL;
        if ((rc = jl_device(c, ch)) < 0) return rc;
        n++;
    }
    if (n == 0)
        return df_err(c, xmlGetLineNo(root), OFLASH_EFORMAT,
                      "<DataBase> holds no <Device> (expected at least one)");
    return 0;
}
