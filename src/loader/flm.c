/*
 * flm.c - CMSIS FLM parser: an ELF32 little-endian ARM executable with
 * sections PrgCode (code, linked at its own base, usually 0), PrgData (RW
 * data; PROGBITS and/or NOBITS sections of that name) and DevDscr (the
 * FlashDevice struct), and function symbols.
 *
 * Follows the ELF specification (System V ABI, ELF32), "ELF for the Arm
 * Architecture" (IHI 0044, Thumb function symbols have bit 0 set) and the
 * CMSIS-Pack "Flash Programming Algorithms" description of FlashDevice
 * (FlashOS.h: 160-byte header, then {size, offset} sector runs ended by
 * 0xFFFFFFFF, 0xFFFFFFFF).
 *
 * Hostile input: every offset, size and count read from the file is checked
 * against the file length (in 64-bit arithmetic) before it is used; string
 * tables must be NUL terminated inside their section; the loaded image is
 * capped at OFLASH__FLM_MAX_IMAGE.  Nothing is returned unless the whole
 * file is consistent.
 */
#include "loader_internal.h"
#include "oflash/error.h"
#include "common/file.h"
#include "oflash/sys/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Indexed by bit number of OFLASH_FLM_*. */
const char *const oflash__flm_func_names[OFLASH__FLM_NFUNCS] = {
    "Init",
    "UnInit",
    "EraseSector",
    "ProgramPage",
    "EraseChip",
    "BlankCheck",
    "Verify",
    "SEGGER_OPEN_Program",
    "SEGGER_OPEN_Erase",
    "SEGGER_OPEN_Read",
    "SEGGER_OPEN_CalcCRC",
};

/* The functions every FLM must have. */
#define FLM_REQUIRED                                                                               \
    (OFLASH_FLM_INIT | OFLASH_FLM_UNINIT | OFLASH_FLM_ERASE_SECTOR | OFLASH_FLM_PROGRAM_PAGE)

#define EHDR_SIZE 52u
#define SHDR_SIZE 40u
#define SYM_SIZE 16u
#define SHT_PROGBITS 1u
#define SHT_SYMTAB 2u
#define SHT_STRTAB 3u
#define SHT_NOBITS 8u
#define ET_EXEC 2u
#define EM_ARM 40u
#define STT_NOTYPE 0u
#define STT_FUNC 2u
#define SHN_LORESERVE 0xFF00u
#define FLASHDEV_HDR 160u
#define MAX_SECTIONS 4096u

/* The fields of an Elf32_Shdr the parser uses. */
typedef struct shdr {
    uint32_t name, type, addr, offset, size, link, addralign, entsize;
} shdr;

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A NUL-terminated string at off inside section s, or NULL. */
static const char *sec_str(const uint8_t *elf, size_t len, const shdr *s, uint32_t off)
{
    if (s->type != SHT_STRTAB || (uint64_t)s->offset + s->size > len || off >= s->size) return NULL;
    const char *p = (const char *)elf + s->offset + off;
    if (!memchr(p, '\0', s->size - off)) return NULL;
    return p;
}

static int fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const char *name, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return oflash_error_set(OFLASH_EFORMAT,
                            "%s: %s (expected a CMSIS FLM: ELF32 ARM with "
                            "PrgCode, PrgData and DevDscr)",
                            name, msg);
}

static int func_bit(const char *sym)
{
    for (int k = 0; k < OFLASH__FLM_NFUNCS; k++)
        if (strcmp(sym, oflash__flm_func_names[k]) == 0) return k;
    return -1;
}

static int parse_device(oflash_flm *f, const uint8_t *d, uint32_t size)
{
    oflash_flash_device *dev = &f->dev;
    if (size < FLASHDEV_HDR + 8)
        return fail(f->name, "DevDscr holds %u bytes, too small for FlashDevice (168 at least)",
                    size);
    dev->vers = rd16(d);
    for (int i = 0; i < 128; i++) {
        char c = (char)d[2 + i];
        if (c == '\0') break;
        dev->name[i] = (c >= 0x20 && c < 0x7F) ? c : '?';
    }
    dev->type = rd16(d + 130);
    dev->addr = rd32(d + 132);
    dev->size = rd32(d + 136);
    dev->page_size = rd32(d + 140);
    dev->erased_value = d[148];
    dev->prog_timeout_ms = rd32(d + 152);
    dev->erase_timeout_ms = rd32(d + 156);
    if (dev->size == 0) return fail(f->name, "FlashDevice szDev is 0");
    if ((uint64_t)dev->addr + dev->size > 0x100000000ull)
        return fail(f->name, "FlashDevice 0x%08X + szDev 0x%X wraps past 4 GiB", dev->addr,
                    dev->size);
    if (dev->page_size == 0 || dev->page_size > OFLASH__FLM_MAX_IMAGE)
        return fail(f->name, "FlashDevice szPage %u out of range (1..%u)", dev->page_size,
                    OFLASH__FLM_MAX_IMAGE);
    uint32_t off = FLASHDEV_HDR;
    for (;;) {
        if ((uint64_t)off + 8 > size)
            return fail(f->name,
                        "FlashDevice sector list not ended by 0xFFFFFFFF,0xFFFFFFFF "
                        "within DevDscr (%u bytes)",
                        size);
        uint32_t ssz = rd32(d + off), soff = rd32(d + off + 4);
        off += 8;
        if (ssz == 0xFFFFFFFFu && soff == 0xFFFFFFFFu) break;
        size_t n = dev->run_count;
        if (n == OFLASH_FLM_MAX_SECTOR_RUNS)
            return fail(f->name, "FlashDevice has more than %d sector runs",
                        OFLASH_FLM_MAX_SECTOR_RUNS);
        if (ssz == 0) return fail(f->name, "FlashDevice sector run %zu has size 0", n);
        if (soff >= dev->size)
            return fail(f->name,
                        "FlashDevice sector run %zu starts at offset 0x%X, beyond szDev 0x%X", n,
                        soff, dev->size);
        if (n > 0 && soff <= dev->runs[n - 1].offset)
            return fail(f->name,
                        "FlashDevice sector run %zu offset 0x%X not above the previous 0x%X", n,
                        soff, dev->runs[n - 1].offset);
        dev->runs[n].size = ssz;
        dev->runs[n].offset = soff;
        dev->run_count = n + 1;
    }
    if (dev->run_count == 0) return fail(f->name, "FlashDevice has no sectors");
    return 0;
}

int oflash_flm_parse(oflash_flm **out, const void *data, size_t len, const char *name)
{
    const uint8_t *elf = data;
    shdr *sh = NULL;
    oflash_flm *f;
    int rc = OFLASH_EFORMAT;

    *out = NULL;
    if (!name) name = "FLM";
    f = calloc(1, sizeof *f);
    if (!f || !(f->name = strdup(name))) {
        free(f);
        return oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", name);
    }
    name = f->name;

    if (!elf || len < EHDR_SIZE ||
        memcmp(elf,
               "\x7F"
               "ELF",
               4) != 0) {
        rc = fail(name, "not an ELF file");
        goto out;
    }
    if (elf[4] != 1 || elf[5] != 1) {
        rc = fail(name, "ELF class %u / data %u, not ELF32 little endian", elf[4], elf[5]);
        goto out;
    }
    if (rd16(elf + 16) != ET_EXEC || rd16(elf + 18) != EM_ARM) {
        rc = fail(name, "ELF type %u machine %u, not an ARM executable", rd16(elf + 16),
                  rd16(elf + 18));
        goto out;
    }
    uint32_t shoff = rd32(elf + 32);
    uint16_t shentsize = rd16(elf + 46), shnum = rd16(elf + 48), shstrndx = rd16(elf + 50);
    if (shentsize != SHDR_SIZE || shnum == 0 || shnum > MAX_SECTIONS ||
        (uint64_t)shoff + (uint64_t)shnum * SHDR_SIZE > len) {
        rc = fail(name,
                  "section header table (offset 0x%X, %u entries of %u bytes) outside the "
                  "%zu-byte file",
                  shoff, shnum, shentsize, len);
        goto out;
    }
    if (shstrndx >= shnum) {
        rc = fail(name, "section name table index %u out of range (%u sections)", shstrndx, shnum);
        goto out;
    }
    sh = calloc(shnum, sizeof *sh);
    if (!sh) {
        rc = oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *p = elf + shoff + (size_t)i * SHDR_SIZE;
        sh[i].name = rd32(p + 0);
        sh[i].type = rd32(p + 4);
        sh[i].addr = rd32(p + 12);
        sh[i].offset = rd32(p + 16);
        sh[i].size = rd32(p + 20);
        sh[i].link = rd32(p + 24);
        sh[i].addralign = rd32(p + 32);
        sh[i].entsize = rd32(p + 36);
        if (sh[i].type != SHT_NOBITS && i != 0 && (uint64_t)sh[i].offset + sh[i].size > len) {
            rc = fail(name, "section %u (offset 0x%X, size 0x%X) extends past the %zu-byte file", i,
                      sh[i].offset, sh[i].size, len);
            goto out;
        }
    }

    /* Find the three sections. */
    int code = -1, dscr = -1, symtab = -1;
    int data_idx[8];
    int ndata = 0;
    for (unsigned i = 1; i < shnum; i++) {
        const char *sn = sec_str(elf, len, &sh[shstrndx], sh[i].name);
        if (!sn) {
            rc = fail(name, "section %u has no valid name in the section name table", i);
            goto out;
        }
        if (sh[i].type == SHT_SYMTAB && symtab < 0) symtab = (int)i;
        if (strcmp(sn, "PrgCode") == 0) {
            if (code >= 0) {
                rc = fail(name, "two PrgCode sections");
                goto out;
            }
            code = (int)i;
        } else if (strcmp(sn, "PrgData") == 0) {
            if (ndata == (int)(sizeof data_idx / sizeof data_idx[0])) {
                rc = fail(name, "more than 8 PrgData sections");
                goto out;
            }
            data_idx[ndata++] = (int)i;
        } else if (strcmp(sn, "DevDscr") == 0) {
            if (dscr >= 0) {
                rc = fail(name, "two DevDscr sections");
                goto out;
            }
            dscr = (int)i;
        }
    }
    if (code < 0 || dscr < 0) {
        rc = fail(name, "no %s section", code < 0 ? "PrgCode" : "DevDscr");
        goto out;
    }
    const shdr *c = &sh[code];
    if (c->type != SHT_PROGBITS || c->size == 0 || c->size > OFLASH__FLM_MAX_IMAGE) {
        rc = fail(name, "PrgCode (type %u, 0x%X bytes) is not code of 1 byte..1 MiB", c->type,
                  c->size);
        goto out;
    }
    if (sh[dscr].type != SHT_PROGBITS) {
        rc = fail(name, "DevDscr has no contents (type %u)", sh[dscr].type);
        goto out;
    }
    f->code_size = c->size;
    f->align = c->addralign > 4 ? c->addralign : 4;
    if (c->addralign > 4096 || (c->addralign & (c->addralign - 1))) {
        rc = fail(name, "PrgCode alignment %u is not a power of two up to 4096", c->addralign);
        goto out;
    }

    /* Layout: everything relative to PrgCode's address. */
    uint64_t end = c->size, data_lo = UINT64_MAX;
    for (int k = 0; k < ndata; k++) {
        const shdr *d = &sh[data_idx[k]];
        if (d->type != SHT_PROGBITS && d->type != SHT_NOBITS) {
            rc = fail(name, "PrgData section %d has type %u (expected PROGBITS or NOBITS)",
                      data_idx[k], d->type);
            goto out;
        }
        if (d->addr < c->addr || (uint64_t)d->addr - c->addr < c->size) {
            rc = fail(name, "PrgData at 0x%X overlaps PrgCode 0x%X..0x%X", d->addr, c->addr,
                      (unsigned)((uint64_t)c->addr + c->size));
            goto out;
        }
        uint64_t lo = (uint64_t)d->addr - c->addr, hi = lo + d->size;
        if (hi > OFLASH__FLM_MAX_IMAGE) {
            rc = fail(name, "PrgData ends 0x%llX bytes after PrgCode's start (limit 1 MiB)",
                      (unsigned long long)hi);
            goto out;
        }
        if (lo < data_lo) data_lo = lo;
        if (hi > end) end = hi;
        if (d->type == SHT_NOBITS)
            f->bss_size += d->size;
        else
            f->data_size += d->size;
    }
    /* No PrgData: the static base is just past the code. */
    f->data_off = ndata ? (uint32_t)data_lo : (uint32_t)((c->size + 7u) & ~7u);
    f->image_size = (uint32_t)end;
    if (f->data_off > f->image_size) f->image_size = f->data_off;
    f->image = calloc(1, f->image_size ? f->image_size : 1);
    if (!f->image) {
        rc = oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", name);
        goto out;
    }
    memcpy(f->image, elf + c->offset, c->size);
    for (int k = 0; k < ndata; k++) {
        const shdr *d = &sh[data_idx[k]];
        if (d->type == SHT_PROGBITS)
            memcpy(f->image + (d->addr - c->addr), elf + d->offset, d->size);
    }
    /* Two PrgData sections must not overlap each other either. */
    for (int a = 0; a < ndata; a++)
        for (int b = a + 1; b < ndata; b++) {
            const shdr *x = &sh[data_idx[a]], *y = &sh[data_idx[b]];
            if ((uint64_t)x->addr < (uint64_t)y->addr + y->size &&
                (uint64_t)y->addr < (uint64_t)x->addr + x->size) {
                rc = fail(name, "PrgData sections overlap at 0x%X and 0x%X", x->addr, y->addr);
                goto out;
            }
        }

    /* Symbols. */
    if (symtab < 0) {
        rc = fail(name, "no symbol table (functions are found by name)");
        goto out;
    }
    const shdr *st = &sh[symtab];
    if (st->entsize != SYM_SIZE || st->size % SYM_SIZE || st->link >= shnum ||
        sh[st->link].type != SHT_STRTAB) {
        rc = fail(name, "malformed symbol table (entry size %u, size %u, string table %u)",
                  st->entsize, st->size, st->link);
        goto out;
    }
    uint32_t dev_off = 0; /* FlashDevice inside DevDscr */
    for (uint32_t off = SYM_SIZE; off < st->size; off += SYM_SIZE) {
        const uint8_t *s = elf + st->offset + off;
        uint32_t value = rd32(s + 4);
        unsigned type = s[12] & 0xF, shndx = rd16(s + 14);
        const char *sn = sec_str(elf, len, &sh[st->link], rd32(s));
        if (!sn) {
            rc = fail(name, "symbol %u has no valid name", off / SYM_SIZE);
            goto out;
        }
        if (shndx == (unsigned)dscr && strcmp(sn, "FlashDevice") == 0 && value >= sh[dscr].addr &&
            value - sh[dscr].addr < sh[dscr].size)
            dev_off = value - sh[dscr].addr;
        if (shndx != (unsigned)code || (type != STT_FUNC && type != STT_NOTYPE) || !sn[0] ||
            (s[12] >> 4) == 0 /* local */)
            continue;
        uint32_t o = (value & ~1u) - c->addr;
        if ((value & ~1u) < c->addr || o >= c->size) {
            rc = fail(name, "function %.64s at 0x%X lies outside PrgCode 0x%X..0x%X", sn, value,
                      c->addr, (unsigned)((uint64_t)c->addr + c->size));
            goto out;
        }
        int k = func_bit(sn);
        if (k >= 0) {
            if (f->funcs & (1u << k)) {
                rc = fail(name, "function %s defined twice", sn);
                goto out;
            }
            f->funcs |= 1u << k;
            f->fn[k] = o;
        }
        if (f->nsyms < OFLASH__FLM_MAX_SYMS && strlen(sn) < OFLASH__FLM_SYM_LEN) {
            strcpy(f->syms[f->nsyms].name, sn);
            f->syms[f->nsyms].offset = o;
            f->nsyms++;
        }
    }
    if ((f->funcs & FLM_REQUIRED) != FLM_REQUIRED) {
        for (int k = 0; k < 4; k++)
            if (!(f->funcs & (1u << k))) {
                rc = fail(name,
                          "function %s missing (an FLM needs Init, UnInit, EraseSector, "
                          "ProgramPage)",
                          oflash__flm_func_names[k]);
                goto out;
            }
    }

    rc = parse_device(f, elf + sh[dscr].offset + dev_off, sh[dscr].size - dev_off);
    if (rc < 0) goto out;
    *out = f;
    f = NULL;
    rc = 0;
out:
    free(sh);
    oflash_flm_free(f);
    return rc;
}

int oflash_flm_load_file(oflash_flm **out, const char *path)
{
    FILE *fp;
    uint8_t *buf = NULL;
    long n;
    int rc;

    *out = NULL;
    {
        /* Without blocking: a FIFO or device is refused at once. */
        struct stat st;
        int fd;
        if ((rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "an FLM loader file (.FLM)")) < 0)
            return rc;
        if (!(fp = fdopen(fd, "rb"))) {
            close(fd);
            return oflash_error_set(OFLASH_EIO, "%s: cannot open: %s", path, strerror(errno));
        }
    }
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot determine size: %s", path, strerror(errno));
        goto out;
    }
    if (n > 64L * 1024 * 1024) {
        rc = oflash_error_set(OFLASH_EFORMAT, "%s: %ld bytes is too large for an FLM", path, n);
        goto out;
    }
    buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        rc = oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        rc = oflash_error_set(OFLASH_EIO, "%s: read failed", path);
        goto out;
    }
    rc = oflash_flm_parse(out, buf, (size_t)n, path);
out:
    free(buf);
    fclose(fp);
    return rc;
}

/*
 * Loaders registered by the program (oflash/sys/loader.h).  Invariants:
 * registered[0..registered_count) are valid, their names are unique among
 * themselves and the families' loaders, and each image parsed once as an
 * FLM.  The mutex guards both; entries are never removed.
 */
typedef struct registered_loader {
    char name[64];
    const void *image;
    size_t len;
} registered_loader;
static pthread_mutex_t loader_lock = PTHREAD_MUTEX_INITIALIZER;
static registered_loader registered[OFLASH_LOADER_MAX_REGISTERED];
static size_t registered_count;

/* The family whose own loader is called name, or NULL. */
static const oflash_family_ops *family_loader(const char *name)
{
    for (size_t i = 0; name && i < oflash_family_count(); i++) {
        const oflash_family_ops *fam = oflash_family_get(i);
        if (fam->loader.name && fam->loader.image && fam->loader.size &&
            strcmp(fam->loader.name, name) == 0)
            return fam;
    }
    return NULL;
}

int oflash_loader_register(const char *name, const void *flm, size_t len)
{
    oflash_flm *parsed = NULL;
    size_t n;
    int rc = 0;

    if (!name || !name[0] || (n = strlen(name)) >= sizeof registered[0].name)
        return oflash_error_set(OFLASH_EINVAL, "flash loader name: expected 1 to %zu characters",
                                sizeof registered[0].name - 1);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return oflash_error_set(OFLASH_EINVAL,
                                    "flash loader name '%s': character '%c' (expected letters, "
                                    "digits, '_', '.' or '-')",
                                    name, ch);
    }
    if (!flm || !len)
        return oflash_error_set(OFLASH_EINVAL, "flash loader '%s': no FLM image given", name);
    if (family_loader(name))
        return oflash_error_set(OFLASH_EINVAL,
                                "flash loader '%s' is built into liboflash and cannot be replaced",
                                name);
    /* Parse once so that a damaged image is refused now, not at first use. */
    if ((rc = oflash_flm_parse(&parsed, flm, len, name)) < 0)
        return oflash_error_prefix("registering flash loader '%s': ", name);
    oflash_flm_free(parsed);

    pthread_mutex_lock(&loader_lock);
    for (size_t i = 0; i < registered_count && rc == 0; i++)
        if (strcmp(registered[i].name, name) == 0)
            rc = oflash_error_set(OFLASH_EINVAL, "flash loader '%s' is already registered", name);
    if (rc == 0 && registered_count == OFLASH_LOADER_MAX_REGISTERED)
        rc = oflash_error_set(OFLASH_ENOMEM,
                              "flash loader '%s': %d loaders are registered already (the most "
                              "liboflash keeps)",
                              name, OFLASH_LOADER_MAX_REGISTERED);
    if (rc == 0) {
        registered_loader *r = &registered[registered_count];
        memcpy(r->name, name, n + 1);
        r->image = flm;
        r->len = len;
        registered_count++;
    }
    pthread_mutex_unlock(&loader_lock);
    return rc;
}

size_t oflash_loader_registered_count(void)
{
    size_t n;
    pthread_mutex_lock(&loader_lock);
    n = registered_count;
    pthread_mutex_unlock(&loader_lock);
    return n;
}

const char *oflash_loader_registered_name(size_t i)
{
    const char *name = NULL;
    pthread_mutex_lock(&loader_lock);
    if (i < registered_count) name = registered[i].name;
    pthread_mutex_unlock(&loader_lock);
    return name;
}

/* Built-in loaders: each family's own (oflash_family_ops.loader, embedded
 * by loaders/CMakeLists.txt), found through the family registry, then the
 * ones the program registered. */
int oflash_flm_builtin(oflash_flm **out, const char *name)
{
    char known[256], what[80];
    size_t off = 0;
    const oflash_family_ops *fam = family_loader(name);
    const void *image = NULL;
    size_t len = 0;

    *out = NULL;
    if (fam) {
        snprintf(what, sizeof what, "builtin:%s", name);
        int rc = oflash_flm_parse(out, fam->loader.image, *fam->loader.size, what);
        if (rc == 0) (*out)->family = fam;
        return rc;
    }
    known[0] = '\0';
    for (size_t i = 0; i < oflash_family_count(); i++) {
        const oflash_family_loader *ld = &oflash_family_get(i)->loader;
        if (!ld->name || !ld->image || !ld->size) continue;
        int k = snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "", ld->name);
        if (k > 0 && (size_t)k < sizeof known - off) off += (size_t)k;
    }
    pthread_mutex_lock(&loader_lock);
    for (size_t i = 0; i < registered_count; i++) {
        if (name && strcmp(registered[i].name, name) == 0) {
            image = registered[i].image;
            len = registered[i].len;
        }
        int k = snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "",
                         registered[i].name);
        if (k > 0 && (size_t)k < sizeof known - off) off += (size_t)k;
    }
    pthread_mutex_unlock(&loader_lock);
    if (image) {
        snprintf(what, sizeof what, "registered:%s", name);
        return oflash_flm_parse(out, image, len, what);
    }
    return oflash_error_set(OFLASH_ENOTFOUND, "no built-in flash loader '%s' (known: %s)",
                            name ? name : "", known[0] ? known : "none");
}

const oflash_family_ops *oflash_flm_family(const oflash_flm *flm)
{
    return flm ? flm->family : NULL;
}

void oflash_flm_free(oflash_flm *flm)
{
    if (!flm) return;
    free(flm->image);
    free(flm->name);
    free(flm);
}

const oflash_flash_device *oflash_flm_device(const oflash_flm *flm)
{
    return &flm->dev;
}

unsigned oflash_flm_functions(const oflash_flm *flm)
{
    return flm->funcs;
}

const char *oflash_flm_name(const oflash_flm *flm)
{
    return flm->name;
}

int oflash_flm_function_offset(uint32_t *offset, const oflash_flm *flm, const char *func)
{
    int k = func_bit(func);
    if (k >= 0 && (flm->funcs & (1u << k))) {
        *offset = flm->fn[k];
        return 0;
    }
    for (size_t i = 0; i < flm->nsyms; i++)
        if (strcmp(flm->syms[i].name, func) == 0) {
            *offset = flm->syms[i].offset;
            return 0;
        }
    return oflash_error_set(OFLASH_ENOTFOUND, "%s: no function %s", flm->name, func);
}

void oflash_flm_get_sizes(oflash_flm_sizes *s, const oflash_flm *flm)
{
    s->code_size = flm->code_size;
    s->data_size = flm->data_size;
    s->bss_size = flm->bss_size;
    s->image_size = flm->image_size;
    s->static_base = flm->data_off;
    s->align = flm->align;
}
