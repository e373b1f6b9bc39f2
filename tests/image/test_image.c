/*
 * test_image.c - the sparse image and its readers/writers through the
 * library API: merging, overlaps naming both sources (with exact lines),
 * every reader's records, writers round-tripping, and bad inputs.
 */
#include "harness.h"
#include "oflash/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static oflash_image_load_opts opts(oflash_image_format f, bool allow)
{
    oflash_image_load_opts o = OFLASH_IMAGE_LOAD_OPTS_INIT;
    o.format = f;
    o.allow_identical_overlap = allow;
    o.allow_missing_eof = true; /* most snippets here end without record 01 */
    return o;
}

static int load_str(oflash_image *img, const char *text, const char *name)
{
    oflash_image_load_opts o = opts(OFLASH_FORMAT_AUTO, false);
    return oflash_image_load_mem(img, text, strlen(text), name, &o);
}

/* A fresh image holding text, or NULL (with the error checked by caller). */
static oflash_image *img_of(const char *text)
{
    oflash_image *img;
    if (oflash_image_new(&img)) return NULL;
    if (load_str(img, text, "t.hex")) {
        oflash_image_free(img);
        return NULL;
    }
    return img;
}

static void test_add_merge(void)
{
    oflash_image *img;
    uint8_t a[16], b[16], buf[40];
    for (int i = 0; i < 16; i++) {
        a[i] = (uint8_t)i;
        b[i] = (uint8_t)(0x80 + i);
    }
    CHECK_OK(oflash_image_new(&img));
    /* Out of order, with a gap, then filling the gap: one segment. */
    CHECK_OK(oflash_image_add(img, 0x1020, b, 16, "b"));
    CHECK_OK(oflash_image_add(img, 0x1000, a, 16, "a"));
    CHECK_EQ_U(oflash_image_segment_count(img), 2);
    CHECK_OK(oflash_image_add(img, 0x1010, a, 16, "c"));
    CHECK_EQ_U(oflash_image_segment_count(img), 1);
    const oflash_segment *s = oflash_image_segment(img, 0);
    CHECK_EQ_U(s->addr, 0x1000);
    CHECK_EQ_U(s->size, 48);
    CHECK(strcmp(s->source, "a") == 0);
    CHECK(memcmp(s->data + 0x20, b, 16) == 0 && memcmp(s->data + 0x10, a, 16) == 0);
    CHECK_EQ_U(oflash_image_size(img), 48);
    /* read with fill around the data */
    CHECK_EQ_U(oflash_image_read(buf, img, 0x0FFC, 40, 0xEE), 36);
    CHECK_EQ_U(buf[0], 0xEE);
    CHECK_EQ_U(buf[4], 0);
    CHECK_EQ_U(buf[39], 0x83);
    /* overlap with different bytes names both sources */
    CHECK_ERR(oflash_image_add(img, 0x102C, a, 8, "d"), OFLASH_EOVERLAP,
              "d: data at 0x0000102C-0x0000102F overlaps different data from b");
    /* identical overlap is also an error without the option */
    CHECK_ERR(oflash_image_add(img, 0x1000, a, 4, "e"), OFLASH_EOVERLAP, "same bytes");
    CHECK_EQ_U(oflash_image_segment_count(img), 1); /* unchanged */
    CHECK_EQ_U(oflash_image_size(img), 48);
    /* wrap past 4 GiB */
    CHECK_ERR(oflash_image_add(img, 0xFFFFFFF8, a, 16, "w"), OFLASH_ERANGE, "wrap past 4 GiB");
    CHECK_OK(oflash_image_add(img, 0xFFFFFFF0, a, 16, "top"));
    CHECK_EQ_U(oflash_image_segment_count(img), 2);
    oflash_image_free(img);
}

static void test_ihex_records(void)
{
    /* 02 segment address, 04 linear, 05 start, lower case, CRLF, blank line */
    const char *t = ":020000021000EC\r\n"
                    ":0400100001020304E2\r\n"
                    "\r\n"
                    ":020000040800f2\r\n"
                    ":04000000aabbccddee\r\n"
                    ":040000050800018965\r\n"
                    ":00000001FF\r\n";
    oflash_image *img = img_of(t);
    CHECK(img != NULL);
    if (!img) {
        fprintf(stderr, "%s\n", oflash_error_last());
        return;
    }
    CHECK_EQ_U(oflash_image_segment_count(img), 2);
    CHECK_EQ_U(oflash_image_segment(img, 0)->addr, 0x10010);
    CHECK(strcmp(oflash_image_segment(img, 0)->source, "t.hex:2") == 0);
    CHECK_EQ_U(oflash_image_segment(img, 1)->addr, 0x08000000);
    CHECK_EQ_U(oflash_image_segment(img, 1)->data[3], 0xDD);
    CHECK(strcmp(oflash_image_segment(img, 1)->source, "t.hex:5") == 0);
    uint32_t e = 0;
    CHECK(oflash_image_entry(&e, img));
    CHECK_EQ_U(e, 0x08000189);
    oflash_image_free(img);
}

/* Every bad input gives the line and what was expected. */
static void test_ihex_bad(void)
{
    static const struct {
        const char *text;
        int code;
        const char *msg;
    } cases[] = {
        {":0400000001020304F1\n:00000001FF\n", OFLASH_EFORMAT,
         "t.hex:1: bad checksum 0xF1 (expected 0xF2)"},
        {":0400000001020G04F2\n", OFLASH_EFORMAT,
         "t.hex:1: bad hex digit 'G' in column 15 (expected 0-9, A-F or a-f)"},
        {":04000000010203040F2\n", OFLASH_EFORMAT, "t.hex:1: odd number of hex digits (19"},
        {":0500000001020304F2\n", OFLASH_EFORMAT,
         "t.hex:1: record length mismatch: the length field says 5 data bytes, so 20 hex digits"},
        {":00000006FA\n", OFLASH_EFORMAT, "t.hex:1: unknown record type 06 (expected 00-05)"},
        {":0400000001020304F2\n:00000001FF\n:0400000001020304F2\n", OFLASH_EFORMAT,
         "t.hex:3: data after the end-of-file record of line 2"},
        {":0400000001020304F2\n:04000400010203", OFLASH_EFORMAT,
         "t.hex:2: truncated file: the last record has 14 hex digits (expected 18"},
        {":02000004FFFFFC\n:10FFF800000102030405060708090A0B0C0D0E0F81\n", OFLASH_ERANGE,
         "t.hex:2: 16 bytes at 0xFFFFFFF8 wrap past 4 GiB"},
        {"", OFLASH_EFORMAT, "t.hex: empty file"},
        {":00000001FF\n", OFLASH_EFORMAT, "t.hex: no data"},
        {"hello\n", OFLASH_EFORMAT, "raw binary needs its load address"},
        {":0400000001020304F2\n:02000004x", OFLASH_EFORMAT, "t.hex:2: bad hex digit 'x'"},
        {":0400000001020304F2\n:0400000201020304F0\n", OFLASH_EFORMAT,
         "t.hex:2: extended segment address record with 4 data bytes (expected 2)"},
        {":0400000001020304F2\n:0100000101FD\n", OFLASH_EFORMAT,
         "t.hex:2: end-of-file record with 1 data bytes (expected 0)"},
        {"\n\n:0400000001020304F2\n=00000001FF\n", OFLASH_EFORMAT,
         "t.hex:4: line starts with '=' (expected ':'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        oflash_image *img;
        CHECK_OK(oflash_image_new(&img));
        CHECK_ERR(load_str(img, cases[i].text, "t.hex"), cases[i].code, cases[i].msg);
        CHECK_EQ_U(oflash_image_segment_count(img), 0);
        oflash_image_free(img);
    }
}

static int warned;
static char warn_msg[512];
static void on_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == OFLASH_LOG_WARN) {
        warned++;
        snprintf(warn_msg, sizeof warn_msg, "%s", msg);
    }
}

static int load_with(oflash_image *img, const char *text, const char *name,
                     const oflash_image_load_opts *o)
{
    return oflash_image_load_mem(img, text, strlen(text), name, o);
}

/* Issue 13, finding 1: the end-of-file record. */
static void test_missing_eof(void)
{
    oflash_image_load_opts def = OFLASH_IMAGE_LOAD_OPTS_INIT;
    oflash_image_load_opts allow = def, ignore = def;
    oflash_image *img;
    allow.allow_missing_eof = true;
    ignore.ignore_after_eof = true;
    CHECK_OK(oflash_image_new(&img));

    /* A file cut before its EOF record is an error by default, naming the
     * last line; nothing is added. */
    const char *cut = ":0400000001020304F2\n:0400040005060708DE\n";
    CHECK_ERR(load_with(img, cut, "cut.hex", &def), OFLASH_EFORMAT,
              "cut.hex:2: no end-of-file record after the last record: the file may have been "
              "cut short (expected ':00000001FF' as the last record; --allow-missing-eof");
    CHECK_ERR(load_with(img, cut, "cut.hex", NULL), OFLASH_EFORMAT, "cut.hex:2: no end-of-file");
    CHECK_EQ_U(oflash_image_segment_count(img), 0);
    /* A version-1 options structure gets the same default. */
    struct {
        unsigned version;
        oflash_image_format format;
        bool allow_identical_overlap, have_base;
        uint32_t base;
    } v1 = {1, OFLASH_FORMAT_AUTO, false, false, 0};
    CHECK_ERR(load_with(img, cut, "cut.hex", (const oflash_image_load_opts *)(void *)&v1),
              OFLASH_EFORMAT, "cut.hex:2: no end-of-file");

    /* --allow-missing-eof: accepted with a warning naming the line. */
    oflash_log_set_handler(on_log, NULL);
    warned = 0;
    CHECK_OK(load_with(img, cut, "cut.hex", &allow));
    CHECK_EQ_U(warned, 1);
    CHECK(strstr(warn_msg, "cut.hex:2: no end-of-file record") != NULL);
    CHECK_EQ_U(oflash_image_size(img), 8);
    oflash_log_set_handler(NULL, NULL);
    oflash_image_free(img);

    /* Data after the EOF record (cat a.hex b.hex): refused with the line and
     * the hint to merge with oflash convert. */
    const char *cat = ":0400000001020304F2\n:00000001FF\n:0400100001020304E2\n:00000001FF\n";
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(load_with(img, cat, "all.hex", &def), OFLASH_EFORMAT,
              "all.hex:3: data after the end-of-file record of line 2 (expected nothing after "
              "it; two HEX files joined with cat? merge them with 'oflash convert a.hex b.hex "
              "-o all.hex' instead");
    CHECK_EQ_U(oflash_image_segment_count(img), 0);
    /* --ignore-after-eof: read up to the EOF record, whatever follows. */
    const char *junk = ":0400000001020304F2\n:00000001FF\nnot hex at all\n\x01\x02";
    CHECK_OK(load_with(img, cat, "all.hex", &ignore));
    CHECK_EQ_U(oflash_image_size(img), 4);
    oflash_image_free(img);
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(load_with(img, junk, "mk.hex", &ignore));
    CHECK_EQ_U(oflash_image_size(img), 4);
    oflash_image_free(img);

    /* Records 01-05 with an address field other than 0000 are refused. */
    static const struct {
        const char *text, *msg;
    } nz[] = {
        {":00000101FE\n", "z.hex:1: end-of-file record (type 01) with address field 0001"},
        {":020010021000DC\n:00000001FF\n",
         "z.hex:1: extended segment address record (type 02) with address field 0010"},
        {":04FFFF030000000000\n:00000001FF\n", /* checksum below */
         "z.hex:1: start segment address record (type 03) with address field FFFF"},
        {":020100040800F1\n:00000001FF\n",
         "z.hex:1: extended linear address record (type 04) with address field 0100"},
    };
    for (size_t i = 0; i < 4; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", nz[i].text);
        if (i == 2) { /* fix the checksum of the type 03 record */
            unsigned sum = 0x04 + 0xFF + 0xFF + 0x03;
            snprintf(buf, sizeof buf, ":04FFFF0300000000%02X\n:00000001FF\n", (0x100 - (sum & 0xFF)) & 0xFF);
        }
        CHECK_OK(oflash_image_new(&img));
        CHECK_ERR(load_with(img, buf, "z.hex", &def), OFLASH_EFORMAT, nz[i].msg);
        oflash_image_free(img);
    }
    {
        /* type 05 at address 0x0002 */
        unsigned sum = 0x04 + 0x00 + 0x02 + 0x05 + 0x08;
        char buf[128];
        snprintf(buf, sizeof buf, ":0400020508000000%02X\n:00000001FF\n", (0x100 - (sum & 0xFF)) & 0xFF);
        CHECK_OK(oflash_image_new(&img));
        CHECK_ERR(load_with(img, buf, "z.hex", &def), OFLASH_EFORMAT,
                  "z.hex:1: start linear address record (type 05) with address field 0002");
        oflash_image_free(img);
    }
}

/* Issue 13 #7 and issue 14 #7: FILE@ADDR without 0x, non-regular inputs,
 * a raw binary checked against the memory map before it is read. */
static void test_inputs(void)
{
    char dir[] = "/tmp/oflash-test-XXXXXX";
    char path[300], spec[340];
    oflash_image *img;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/fw.bin", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fwrite("0123456789abcdef", 1, 16, f);
    fclose(f);
    CHECK_OK(oflash_image_new(&img));
    snprintf(spec, sizeof spec, "%s@08000000", path);
    CHECK_ERR(oflash_image_load(img, spec, NULL), OFLASH_EINVAL,
              "address '08000000' has no 0x: is it hex? (expected ");
    CHECK(strstr(oflash_error_last(), "fw.bin@0x08000000") != NULL);
    snprintf(spec, sizeof spec, "%s@800A000", path);
    CHECK_ERR(oflash_image_load(img, spec, NULL), OFLASH_EINVAL, "has no 0x");
    snprintf(spec, sizeof spec, "%s@0x08000000", path);
    CHECK_OK(oflash_image_load(img, spec, NULL));
    snprintf(spec, sizeof spec, "%s@1024", path); /* decimal stays decimal */
    CHECK_OK(oflash_image_load(img, spec, NULL));
    CHECK_EQ_U(oflash_image_segment(img, 0)->addr, 1024);
    oflash_image_free(img);

    /* Regions: a binary outside them is refused before it is read. */
    oflash_image_region map[2] = {{0x08000000, 0x80000}, {0x20000000, 0x18000}};
    oflash_image_load_opts o = OFLASH_IMAGE_LOAD_OPTS_INIT;
    o.regions = map;
    o.region_count = 2;
    CHECK_OK(oflash_image_new(&img));
    snprintf(spec, sizeof spec, "%s@0x0807FFF8", path);
    CHECK_ERR(oflash_image_load(img, spec, &o), OFLASH_ERANGE,
              "16 bytes at 0x0807FFF8-0x08080007 are outside the device's memory map");
    snprintf(spec, sizeof spec, "%s@0x0807FFF0", path);
    CHECK_OK(oflash_image_load(img, spec, &o));
    oflash_image_free(img);

    /* A FIFO is refused at once (this would block forever in open()). */
    char fifo[300];
    snprintf(fifo, sizeof fifo, "%s/pipe.hex", dir);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(oflash_image_load(img, fifo, NULL), OFLASH_EINVAL,
              "pipe.hex: is a FIFO (named pipe), not a regular file");
    CHECK_ERR(oflash_image_load(img, dir, NULL), OFLASH_EINVAL, "is a directory");
    oflash_image_free(img);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
}

/* Overlaps inside one file and between files name both lines. */
static void test_overlap_lines(void)
{
    const char *t = ":0400000001020304F2\n"
                    ":0400100001020304E2\n"
                    ":0400080001020304EA\n"
                    ":0400120009090909C6\n"
                    ":00000001FF\n";
    oflash_image *img;
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(load_str(img, t, "t.hex"), OFLASH_EOVERLAP,
              "t.hex:4: data at 0x00000012-0x00000013 overlaps different data from t.hex:2");
    /* the overlapped record is in the middle of a run: its own line is named */
    const char *mid = ":0400000001020304F2\n:0400040005060708DE\n:04000800090A0B0CCA\n"
                      ":02000600EEEE1C\n";
    CHECK_ERR(load_str(img, mid, "m.hex"), OFLASH_EOVERLAP,
              "m.hex:4: data at 0x00000006-0x00000007 overlaps different data from m.hex:2 ");
    const char *same = ":0400000001020304F2\n:0400020003040506E8\n";
    CHECK_ERR(load_str(img, same, "s.hex"), OFLASH_EOVERLAP,
              "s.hex:2: data at 0x00000002-0x00000003 overlaps s.hex:1 (same bytes");
    CHECK_EQ_U(oflash_image_segment_count(img), 0);
    oflash_image_load_opts o = opts(OFLASH_FORMAT_AUTO, true);
    CHECK_OK(oflash_image_load_mem(img, same, strlen(same), "s.hex", &o));
    CHECK_EQ_U(oflash_image_segment_count(img), 1);
    CHECK_EQ_U(oflash_image_segment(img, 0)->size, 6);
    /* second file: its line 3 overlaps s.hex:2 */
    const char *c = ":0400200001020304D2\n:0400300001020304C2\n:010005009961\n";
    o.allow_identical_overlap = false;
    CHECK_ERR(oflash_image_load_mem(img, c, strlen(c), "c.hex", &o), OFLASH_EOVERLAP,
              "c.hex:3: data at 0x00000005-0x00000005 overlaps different data from s.hex");
    CHECK_EQ_U(oflash_image_segment_count(img), 1);
    oflash_image_free(img);
}

static void test_srec_records(void)
{
    /* S0 header, S1/S2/S3 data, S5 count, S7 entry; lower-case digits */
    const char *t = "S00600004844521B\n"
                    "S107010001020304ED\n"
                    "S20801000005060708DC\n"
                    "s30908000000090a0b0cc4\n"
                    "S5030003F9\n"
                    "S70508000101F0\n";
    oflash_image *img;
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(load_str(img, t, "t.srec"));
    CHECK_EQ_U(oflash_image_segment_count(img), 3);
    CHECK_EQ_U(oflash_image_segment(img, 1)->addr, 0x10000);
    CHECK_EQ_U(oflash_image_segment(img, 2)->addr, 0x08000000);
    CHECK_EQ_U(oflash_image_segment(img, 2)->data[3], 0x0C);
    CHECK(strcmp(oflash_image_segment(img, 2)->source, "t.srec:4") == 0);
    uint32_t e = 0;
    CHECK(oflash_image_entry(&e, img));
    CHECK_EQ_U(e, 0x08000101);
    oflash_image_free(img);
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(load_str(img, "S107010001020304ED\nS5030002FA\n", "c.srec"), OFLASH_EFORMAT,
              "c.srec:2: record count mismatch: S5 says 2 data records, the file has 1");
    CHECK_ERR(load_str(img, "S107010001020304ED\nS9030000FC\nS107010001020304ED\n", "d.srec"),
              OFLASH_EFORMAT, "d.srec:3: data after the termination record of line 2");
    CHECK_ERR(load_str(img, "S107010001020304EE\n", "k.srec"), OFLASH_EFORMAT,
              "k.srec:1: bad checksum 0xEE (expected 0xED)");
    CHECK_EQ_U(oflash_image_segment_count(img), 0);
    oflash_image_free(img);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* A minimal ELF32 ARM LE: header, 3 program headers, data. */
static size_t make_elf(uint8_t *e, size_t cap)
{
    memset(e, 0, cap);
    memcpy(e, "\177ELF\1\1\1", 7);
    e[16] = 2;  /* ET_EXEC */
    e[18] = 40; /* EM_ARM */
    e[20] = 1;
    put32(e + 24, 0x08000009); /* entry */
    put32(e + 28, 52);         /* phoff */
    e[40] = 52;                /* ehsize */
    e[42] = 32;                /* phentsize */
    e[44] = 3;                 /* phnum */
    uint8_t *ph = e + 52;
    /* 0: .text at 0x08000000, 8 bytes from offset 160 */
    put32(ph + 0, 1);
    put32(ph + 4, 160);
    put32(ph + 8, 0x08000000);
    put32(ph + 12, 0x08000000);
    put32(ph + 16, 8);
    put32(ph + 20, 8);
    /* 1: .data: runs at 0x20000000, loaded at 0x08000008 (p_paddr); memsz > filesz */
    ph += 32;
    put32(ph + 0, 1);
    put32(ph + 4, 168);
    put32(ph + 8, 0x20000000);
    put32(ph + 12, 0x08000008);
    put32(ph + 16, 4);
    put32(ph + 20, 0x100);
    /* 2: a PT_NOTE: ignored */
    ph += 32;
    put32(ph + 0, 4);
    put32(ph + 4, 160);
    put32(ph + 16, 4);
    for (int i = 0; i < 12; i++)
        e[160 + i] = (uint8_t)(0xA0 + i);
    return 172;
}

static void test_elf(void)
{
    uint8_t e[256];
    size_t n = make_elf(e, sizeof e);
    oflash_image *img;
    oflash_image_load_opts o = opts(OFLASH_FORMAT_AUTO, false);
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_load_mem(img, e, n, "t.elf", &o));
    CHECK_EQ_U(oflash_image_segment_count(img), 1); /* .data's load address follows .text */
    CHECK_EQ_U(oflash_image_segment(img, 0)->addr, 0x08000000);
    CHECK_EQ_U(oflash_image_segment(img, 0)->size, 12); /* file bytes only, no .bss */
    CHECK_EQ_U(oflash_image_segment(img, 0)->data[11], 0xAB);
    CHECK(strcmp(oflash_image_segment(img, 0)->source, "t.elf:segment 0") == 0);
    uint32_t entry = 0;
    CHECK(oflash_image_entry(&entry, img) && entry == 0x08000009);
    oflash_image_free(img);

    /* segment 1 reaches past the end of the file */
    put32(e + 52 + 32 + 16, 8);
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(oflash_image_load_mem(img, e, n, "p.elf", &o), OFLASH_EFORMAT,
              "p.elf:segment 1: file bytes 0xA8-0xAF beyond the end of the file (172 bytes");
    put32(e + 52 + 32 + 16, 4);
    /* overlapping segments name both */
    put32(e + 52 + 32 + 12, 0x08000004);
    CHECK_ERR(oflash_image_load_mem(img, e, n, "o.elf", &o), OFLASH_EOVERLAP,
              "o.elf:segment 1: data at 0x08000004-0x08000007 overlaps different data from "
              "o.elf:segment 0");
    put32(e + 52 + 32 + 12, 0x08000008);
    e[4] = 2;
    CHECK_ERR(oflash_image_load_mem(img, e, n, "c.elf", &o), OFLASH_EFORMAT,
              "c.elf:ELF header: class 2 is not 32-bit");
    e[4] = 1;
    e[18] = 3;
    CHECK_ERR(oflash_image_load_mem(img, e, n, "m.elf", &o), OFLASH_EFORMAT,
              "m.elf:ELF header: machine 3 is not ARM");
    e[18] = 40;
    e[44] = 200; /* program headers beyond the end */
    CHECK_ERR(oflash_image_load_mem(img, e, n, "h.elf", &o), OFLASH_EFORMAT,
              "h.elf:ELF header: program headers at 0x34-");
    CHECK_EQ_U(oflash_image_segment_count(img), 0);
    oflash_image_free(img);
}

static void test_bin_and_format(void)
{
    oflash_image *img;
    oflash_image_load_opts o = opts(OFLASH_FORMAT_BIN, false);
    const char *text = ":0400000001020304F2\n";
    CHECK_OK(oflash_image_new(&img));
    CHECK_ERR(oflash_image_load_mem(img, text, strlen(text), "x.bin", &o), OFLASH_EINVAL,
              "x.bin: binary without an address (expected x.bin@ADDRESS");
    o.have_base = true;
    o.base = 0x1000;
    CHECK_OK(oflash_image_load_mem(img, text, strlen(text), "x.bin", &o)); /* --format wins */
    CHECK_EQ_U(oflash_image_segment(img, 0)->addr, 0x1000);
    CHECK_EQ_U(oflash_image_segment(img, 0)->size, strlen(text));
    CHECK(strcmp(oflash_image_segment(img, 0)->source, "x.bin") == 0);
    oflash_image_free(img);
}

static int file_eq(const char *path, const char *text)
{
    char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_writers(void)
{
    oflash_image *img, *back;
    uint8_t d[40];
    for (int i = 0; i < 40; i++)
        d[i] = (uint8_t)(i * 3);
    CHECK_OK(oflash_image_new(&img));
    /* crosses a 64 KiB boundary: no record may cross it */
    CHECK_OK(oflash_image_add(img, 0x0800FFF8, d, 20, "a"));
    CHECK_OK(oflash_image_add(img, 0x1FFF7800, d, 4, "b"));
    oflash_image_set_entry(img, 0x08000189);
    oflash_image_write_opts w = OFLASH_IMAGE_WRITE_OPTS_INIT;
    CHECK_OK(oflash_image_write(img, "w.hex", &w));
    /* objcopy reads this file to the same bytes (tests/image/test_image_cli.sh) */
    CHECK(file_eq("w.hex", ":020000040800F2\n"
                           ":08FFF800000306090C0F1215AD\n"
                           ":020000040801F1\n"
                           ":0C000000181B1E2124272A2D303336390E\n"
                           ":020000041FFFDC\n"
                           ":047800000003060972\n"
                           ":040000050800018965\n"
                           ":00000001FF\n"));
    CHECK_OK(oflash_image_new(&back));
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    CHECK_OK(oflash_image_load(back, "w.hex", &lo));
    CHECK_EQ_U(oflash_image_segment_count(back), 2);
    CHECK_EQ_U(oflash_image_segment(back, 0)->size, 20);
    CHECK(memcmp(oflash_image_segment(back, 0)->data, d, 20) == 0);
    CHECK(strcmp(oflash_image_segment(back, 1)->source, "w.hex:6") == 0);
    uint32_t e = 0;
    CHECK(oflash_image_entry(&e, back) && e == 0x08000189);
    oflash_image_free(back);

    /* S-records: S3 for 0x1FFF7800; srec_type 1 cannot hold it */
    CHECK_OK(oflash_image_write(img, "w.srec", &w));
    CHECK_OK(oflash_image_new(&back));
    CHECK_OK(oflash_image_load(back, "w.srec", &lo));
    CHECK_EQ_U(oflash_image_size(back), 24);
    oflash_image_free(back);
    CHECK(file_eq("w.srec", "S00900006F666C61736879\n"
                            "S3190800FFF8000306090C0F1215181B1E2124272A2D30333639AD\n"
                            "S3091FFF7800000306094E\n"
                            "S5030002FA\n"
                            "S7050800018968\n"));
    w.srec_type = 1;
    CHECK_ERR(oflash_image_write(img, "w1.srec", &w), OFLASH_ERANGE, "does not fit S1 records");
    CHECK(access("w1.srec", F_OK) != 0);
    w.srec_type = 0;

    /* bin: a sparse image is refused; the existing file stays as it was */
    write_file("w.bin", "keep");
    CHECK_ERR(oflash_image_write(img, "w.bin", &w), OFLASH_EINVAL, "the image is sparse");
    CHECK(file_eq("w.bin", "keep"));
    w.fill = true;
    w.fill_byte = 0xFF;
    w.have_range = true;
    w.range_start = 0x1FFF77FE;
    w.range_end = 0x1FFF7806;
    CHECK_ERR(oflash_image_write(img, "w.bin", &w), OFLASH_ERANGE,
              "data at 0x0800FFF8-0x0801000B (from a) is outside the range");
    oflash_image_free(img);
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_add(img, 0x1FFF7800, "\x01\x02\x03\x04", 4, "b"));
    CHECK_OK(oflash_image_write(img, "w.bin", &w));
    CHECK(file_eq("w.bin", "\xFF\xFF\x01\x02\x03\x04\xFF\xFF"));
    oflash_image_free(img);
}

/* Overlap with an earlier input read from disk: the exact line is found by
 * re-reading that file. */
static void test_overlap_files(void)
{
    write_file("a.hex", ":0400000001020304F2\n"
                        ":0400040005060708DE\n"
                        ":0400080009000000EB\n"
                        ":00000001FF\n");
    write_file("b.hex", ":01002000558A\n:01000A00777E\n:00000001FF\n");
    oflash_image *img;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_load(img, "a.hex", &lo));
    CHECK_ERR(oflash_image_load(img, "b.hex", &lo), OFLASH_EOVERLAP,
              "b.hex:2: data at 0x0000000A-0x0000000A overlaps different data from a.hex:3");
    CHECK_EQ_U(oflash_image_size(img), 12);
    CHECK_ERR(oflash_image_load(img, "nope.hex", &lo), OFLASH_ENOTFOUND, "nope.hex: cannot open");
    oflash_image_free(img);
}

static int nib(int c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Every byte value in every digit position of a 16-byte data record: the
 * record loads exactly when the character is a hex digit, and then holds
 * the right byte (the fast path decodes 16 bytes at a time with SSE2; this
 * covers its digit check and nibble order). */
static void test_every_digit(void)
{
    static const char good[] = ":1000000000112233445566778899AABBCCDDEEFFF8\n";
    char rec[sizeof good];
    int wrong = 0;
    for (int pos = 9; pos < 9 + 32; pos++) {
        int hi_pos = pos % 2 == 1; /* ':' at 0, so odd columns hold high nibbles */
        for (int c = 0; c < 256; c++) {
            oflash_image *img;
            bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            int expect = 0;
            memcpy(rec, good, sizeof good);
            rec[pos] = (char)c;
            if (hex) { /* keep the checksum right for the new digit */
                int delta = (hi_pos ? 16 : 1) * (nib(c) - nib(good[pos]));
                int cs = (0xF8 - delta) & 0xFF;
                rec[41] = "0123456789ABCDEF"[cs >> 4];
                rec[42] = "0123456789ABCDEF"[cs & 15];
                expect =
                    hi_pos ? nib(c) << 4 | nib(good[pos + 1]) : nib(good[pos - 1]) << 4 | nib(c);
            }
            if (oflash_image_new(&img)) return;
            oflash_image_load_opts o = opts(OFLASH_FORMAT_IHEX, false);
            int rc = oflash_image_load_mem(img, rec, strlen(good), "d.hex", &o);
            if ((rc == 0) != hex ||
                (hex && oflash_image_segment(img, 0)->data[(pos - 9) / 2] != expect)) {
                if (wrong++ < 5)
                    fprintf(stderr, "pos %d char 0x%02X: rc %d %s\n", pos, c, rc,
                            oflash_error_last());
            }
            oflash_image_free(img);
        }
    }
    CHECK_EQ_U(wrong, 0);
}

int main(void)
{
    test_add_merge();
    test_ihex_records();
    test_ihex_bad();
    test_missing_eof();
    test_inputs();
    test_overlap_lines();
    test_srec_records();
    test_elf();
    test_bin_and_format();
    test_writers();
    test_overlap_files();
    test_every_digit();
    return test_summary();
}
