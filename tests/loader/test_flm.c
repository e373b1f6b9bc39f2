/*
 * test_flm.c - the FLM parser on the built-in stm32f4 loader, the same file
 * from disk, and broken or hostile variants of it made here by patching
 * single fields (each must be refused with a specific message), every
 * truncation, and the RAM layout computation.
 */
#include "harness.h"
#include "oflash/loader.h"

#include <stdlib.h>

static uint8_t *orig;
static size_t orig_len;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Section header of the section called name in ELF e. */
static uint8_t *shdr(uint8_t *e, const char *name)
{
    uint32_t shoff = rd32(e + 32);
    unsigned shnum = e[48] | e[49] << 8, shstrndx = e[50] | e[51] << 8;
    uint8_t *strs = e + shoff + 40 * shstrndx;
    for (unsigned i = 0; i < shnum; i++) {
        uint8_t *s = e + shoff + 40 * i;
        if (strcmp((char *)e + rd32(strs + 16) + rd32(s), name) == 0) return s;
    }
    return NULL;
}

/* Symbol table entry of symbol name. */
static uint8_t *sym(uint8_t *e, const char *name)
{
    uint32_t shoff = rd32(e + 32);
    unsigned shnum = e[48] | e[49] << 8;
    for (unsigned i = 0; i < shnum; i++) {
        uint8_t *s = e + shoff + 40 * i;
        if (rd32(s + 4) != 2) continue;
        uint8_t *strtab = e + shoff + 40 * rd32(s + 24);
        for (uint32_t o = 0; o < rd32(s + 20); o += 16) {
            uint8_t *y = e + rd32(s + 16) + o;
            if (strcmp((char *)e + rd32(strtab + 16) + rd32(y), name) == 0) return y;
        }
    }
    return NULL;
}

/* The FlashDevice struct inside the file. */
static uint8_t *flashdev(uint8_t *e)
{
    return e + rd32(shdr(e, "DevDscr") + 16);
}

static uint8_t *copy(void)
{
    uint8_t *c = malloc(orig_len);
    memcpy(c, orig, orig_len);
    return c;
}

static int parse(const uint8_t *b, size_t len)
{
    oflash_flm *f = NULL;
    int rc = oflash_flm_parse(&f, b, len, "t.flm");
    if (rc == 0)
        CHECK(f != NULL);
    else
        CHECK(f == NULL);
    oflash_flm_free(f);
    return rc;
}

static void test_builtin(void)
{
    oflash_flm *b = NULL, *f = NULL;
    CHECK_OK(oflash_flm_builtin(&b, "stm32f4"));
    CHECK_ERR(oflash_flm_builtin(&f, "nosuch"), OFLASH_ENOTFOUND,
              "no built-in flash loader 'nosuch'");
    if (!b) return;
    const oflash_flash_device *d = oflash_flm_device(b);
    CHECK_EQ_U(d->vers, 0x0101);
    CHECK(strstr(d->name, "STM32F2/F4") != NULL);
    CHECK_EQ_U(d->addr, 0x08000000u);
    CHECK_EQ_U(d->size, 0x200000u);
    CHECK_EQ_U(d->page_size, 1024);
    CHECK_EQ_U(d->erased_value, 0xFF);
    CHECK_EQ_U(d->prog_timeout_ms, 200);
    CHECK_EQ_U(d->erase_timeout_ms, 4000);
    CHECK_EQ_U(d->run_count, 6);
    CHECK_EQ_U(d->runs[0].size, 0x4000);
    CHECK_EQ_U(d->runs[1].offset, 0x10000);
    CHECK_EQ_U(d->runs[2].size, 0x20000);
    CHECK_EQ_U(d->runs[3].offset, 0x100000);
    CHECK_EQ_U(oflash_flm_functions(b), 0x7FF); /* all CMSIS + SEGGER functions */
    uint32_t off = 99;
    CHECK_OK(oflash_flm_function_offset(&off, b, "Init"));
    CHECK_EQ_U(off, 0); /* linker script puts Init first */
    CHECK_OK(oflash_flm_function_offset(&off, b, "SEGGER_OPEN_CalcCRC"));
    CHECK((off & 1) == 0);
    CHECK_ERR(oflash_flm_function_offset(&off, b, "Nope"), OFLASH_ENOTFOUND, "no function Nope");
    oflash_flm_sizes s;
    oflash_flm_get_sizes(&s, b);
    CHECK(s.code_size > 256 && s.code_size < 4096);
    CHECK_EQ_U(s.data_size, 24); /* struct of4_state */
    CHECK(s.static_base >= s.code_size);
    CHECK_EQ_U(s.image_size, s.static_base + 24);
    CHECK(oflash_flm_ram_needed(b) >= s.image_size + 1024);
    CHECK(strcmp(oflash_flm_name(b), "builtin:stm32f4") == 0);

    /* The same file from the build tree parses the same. */
    char path[1024];
    snprintf(path, sizeof path, "%s/loaders/stm32f4.flm", getenv("OFLASH_BUILD"));
    CHECK_OK(oflash_flm_load_file(&f, path));
    if (f) {
        CHECK(memcmp(oflash_flm_device(f), d, sizeof *d) == 0);
        CHECK_EQ_U(oflash_flm_functions(f), oflash_flm_functions(b));
        oflash_flm_free(f);
    }
    CHECK_ERR(oflash_flm_load_file(&f, "/nonexistent/x.flm"), OFLASH_ENOTFOUND, "/nonexistent/x.flm");

    /* Layout in 96 KiB of RAM at 0x20000000. */
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = 0x20000000u;
    o.ram_size = 96 * 1024;
    oflash_loader_layout L;
    CHECK_OK(oflash_flm_layout(&L, b, &o));
    CHECK_EQ_U(L.trampoline, 0x20000000u);
    CHECK(L.image >= L.trampoline + 4 && L.image % 8 == 0);
    CHECK_EQ_U(L.static_base, L.image + s.static_base);
    CHECK(L.stack_bottom >= L.image + s.image_size);
    CHECK_EQ_U(L.stack_top - L.stack_bottom, 1024);
    CHECK(L.stack_top % 8 == 0);
    CHECK_EQ_U(L.buffer, L.stack_top);
    CHECK_EQ_U(L.page_size, 1024);
    /* The fault guard: the last 548 bytes, 512-byte aligned; buffers below. */
    CHECK_EQ_U(L.guard, 0x20017C00u);
    CHECK_EQ_U(L.page_buffers, (L.guard - L.buffer) / 1024);
    CHECK_EQ_U(L.buffer_size, L.page_buffers * 1024);
    CHECK(L.buffer + L.buffer_size <= L.guard);
    /* No room for it after one page buffer: no guard, all buffers. */
    o.ram_size = L.buffer - 0x20000000u + 1024 + 256;
    CHECK_OK(oflash_flm_layout(&L, b, &o));
    CHECK_EQ_U(L.guard, 0);
    CHECK_EQ_U(L.page_buffers, 1);
    o.ram_size = 96 * 1024;
    o.stack_size = 4096;
    CHECK_OK(oflash_flm_layout(&L, b, &o));
    CHECK_EQ_U(L.stack_top - L.stack_bottom, 4096);
    o.stack_size = 256;
    CHECK_ERR(oflash_flm_layout(&L, b, &o), OFLASH_EINVAL, "at least 512");
    o.stack_size = 0;
    o.ram_size = s.image_size + 1024; /* no room for a page buffer */
    CHECK_ERR(oflash_flm_layout(&L, b, &o), OFLASH_ERANGE, "one 1024-byte page buffer");
    o.ram_start = 0xFFFFF000u;
    o.ram_size = 0x2000;
    CHECK_ERR(oflash_flm_layout(&L, b, &o), OFLASH_EINVAL, "wraps");
    o.version = 7;
    CHECK_ERR(oflash_flm_layout(&L, b, &o), OFLASH_EINVAL, "version");
    oflash_flm_free(b);
    /* The STM32L4 family's loader: 2 KB pages over 1 MB, every function. */
    b = NULL;
    CHECK_OK(oflash_flm_builtin(&b, "stm32l4"));
    if (b) {
        d = oflash_flm_device(b);
        CHECK(strstr(d->name, "STM32L47x/L48x") != NULL);
        CHECK_EQ_U(d->addr, 0x08000000u);
        CHECK_EQ_U(d->size, 0x100000u);
        CHECK_EQ_U(d->page_size, 2048);
        CHECK_EQ_U(d->run_count, 1);
        CHECK_EQ_U(d->runs[0].size, 2048);
        CHECK_EQ_U(oflash_flm_functions(b), 0x7FF);
        CHECK_OK(oflash_flm_function_offset(&off, b, "Init"));
        CHECK_EQ_U(off, 0);
        oflash_flm_free(b);
    }
}

/* Each case patches one thing and expects a specific complaint. */
static void test_broken(void)
{
    uint8_t *c;
#define BROKEN(patch, substr)                                                                      \
    do {                                                                                           \
        c = copy();                                                                                \
        patch;                                                                                     \
        CHECK_ERR(parse(c, orig_len), OFLASH_EFORMAT, substr);                                     \
        free(c);                                                                                   \
    } while (0)

    CHECK_OK(parse(orig, orig_len));
    BROKEN(c[0] = 0x7E, "not an ELF file");
    BROKEN(c[4] = 2, "not ELF32 little endian");
    BROKEN(c[5] = 2, "not ELF32 little endian");
    BROKEN(c[18] = 3, "not an ARM executable");
    BROKEN(c[16] = 1, "not an ARM executable");
    BROKEN(wr32(c + 32, 0xFFFFFF00u), "section header table");
    BROKEN((c[48] = 0xFF, c[49] = 0x7F), "section header table");
    BROKEN(c[46] = 20, "section header table");
    BROKEN(c[50] = 200, "section name table index");
    BROKEN(wr32(shdr(c, "PrgData") + 16, 0x7FFFFFF0u), "extends past");
    BROKEN(wr32(shdr(c, "DevDscr") + 20, 0xFFFFFFF0u), "extends past");
    BROKEN(wr32(shdr(c, "PrgCode") + 0, 0xFFFFFF), "no valid name");
    BROKEN(memcpy((char *)c + rd32(shdr(c, ".shstrtab") + 16) + rd32(shdr(c, "PrgCode")), "PrgCodX",
                  7),
           "no PrgCode section");
    BROKEN(memcpy((char *)c + rd32(shdr(c, ".shstrtab") + 16) + rd32(shdr(c, "DevDscr")), "DevDscX",
                  7),
           "no DevDscr section");
    BROKEN(memcpy((char *)c + rd32(shdr(c, ".shstrtab") + 16) + rd32(shdr(c, "DevDscr")), "PrgCode",
                  7),
           "two PrgCode sections");
    BROKEN(wr32(shdr(c, "PrgCode") + 4, 8), "is not code");
    BROKEN(wr32(shdr(c, "PrgCode") + 20, 0), "is not code");
    BROKEN(wr32(shdr(c, "PrgCode") + 32, 3), "alignment");
    BROKEN(wr32(shdr(c, "PrgData") + 12, 0x10), "overlaps PrgCode");
    BROKEN(wr32(shdr(c, "PrgData") + 12, 0x7FFF0000u), "limit 1 MiB");
    BROKEN((wr32(shdr(c, "PrgData") + 4, 8), wr32(shdr(c, "PrgData") + 20, 0xFFFFFF00u)),
           "limit 1 MiB");
    BROKEN(wr32(shdr(c, "PrgData") + 4, 4), "PROGBITS or NOBITS");
    BROKEN(wr32(shdr(c, ".symtab") + 4, 1), "no symbol table");
    BROKEN(wr32(shdr(c, ".symtab") + 36, 12), "malformed symbol table");
    BROKEN(wr32(shdr(c, ".symtab") + 24, 99), "malformed symbol table");
    BROKEN(wr32(sym(c, "Init"), 0x7FFFFFFF), "no valid name");
    BROKEN(wr32(sym(c, "ProgramPage") + 4, 0x10001), "outside PrgCode");
    BROKEN(memcpy((char *)c + rd32(shdr(c, ".strtab") + 16) + rd32(sym(c, "EraseSector")),
                  "EraseSectoX", 11),
           "function EraseSector missing");
    BROKEN(memcpy((char *)c + rd32(shdr(c, ".strtab") + 16) + rd32(sym(c, "Verify")), "UnInit", 6),
           "defined twice");
    /* The string table's last byte is its NUL: remove it. */
    BROKEN(c[rd32(shdr(c, ".strtab") + 16) + rd32(shdr(c, ".strtab") + 20) - 1] = 'x',
           "no valid name");
    BROKEN(wr32(shdr(c, "DevDscr") + 20, 100), "too small for FlashDevice");
    BROKEN(wr32(flashdev(c) + 136, 0), "szDev is 0");
    BROKEN(wr32(flashdev(c) + 136, 0xF9000000u), "wraps past 4 GiB");
    BROKEN(wr32(flashdev(c) + 140, 0), "szPage 0 out of range");
    BROKEN(wr32(flashdev(c) + 160, 0), "sector run 0 has size 0");
    BROKEN(wr32(flashdev(c) + 160 + 8 + 4, 0), "not above the previous");
    BROKEN(wr32(flashdev(c) + 160 + 4, 0x300000), "beyond szDev");
    BROKEN(memset(flashdev(c) + 160 + 6 * 8, 0, 8), "sector run 6 has size 0");
    BROKEN(wr32(flashdev(c) + 160, 0xFFFFFFFFu);
           wr32(flashdev(c) + 164, 0xFFFFFFFFu), "has no sectors");
    /* Sector list runs off the end of DevDscr: cut DevDscr before the terminator. */
    BROKEN(wr32(shdr(c, "DevDscr") + 20, 160 + 6 * 8 + 4), "not ended");
#undef BROKEN
    /* Not even data. */
    CHECK_ERR(parse(NULL, 0), OFLASH_EFORMAT, "not an ELF file");
    CHECK_ERR(parse((const uint8_t *)"\x7F"
                                     "ELF",
                    4),
              OFLASH_EFORMAT, "not an ELF file");

    /* Every truncation fails cleanly (and ASan sees no read past the end). */
    int ok = 1;
    for (size_t n = 0; n < orig_len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, orig, n);
        oflash_flm *f = NULL;
        int rc = oflash_flm_parse(&f, t, n, "cut.flm");
        /* Cutting only the trailing non-loaded sections may still parse. */
        if (rc == 0)
            ok &= n > rd32(shdr(orig, "DevDscr") + 16);
        else
            ok &= rc == OFLASH_EFORMAT && f == NULL;
        oflash_flm_free(f);
        free(t);
    }
    CHECK(ok);
}

/* A file with PrgData split into PROGBITS + NOBITS (as armlink writes):
 * the NOBITS part counts as BSS and is zeroed in the image. */
static void test_bss(void)
{
    uint8_t *c = copy();
    uint8_t *pd = shdr(c, "PrgData");
    /* Turn PrgData into NOBITS: all of it becomes BSS. */
    wr32(pd + 4, 8);
    oflash_flm *f = NULL;
    CHECK_OK(oflash_flm_parse(&f, c, orig_len, "bss.flm"));
    if (f) {
        oflash_flm_sizes s;
        oflash_flm_get_sizes(&s, f);
        CHECK_EQ_U(s.bss_size, 24);
        CHECK_EQ_U(s.data_size, 0);
        oflash_flm_free(f);
    }
    free(c);
}

int main(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/loaders/stm32f4.flm", getenv("OFLASH_BUILD"));
    orig = load(path, &orig_len);
    CHECK(orig != NULL);
    if (!orig) return test_summary();
    test_builtin();
    test_broken();
    test_bss();
    free(orig);
    return test_summary();
}
