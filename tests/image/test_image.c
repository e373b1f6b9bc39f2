/*
 * test_image.c - the sparse image and its readers/writers through the
 * library API: merging, overlaps naming both sources (with exact lines),
 * every reader's records, writers round-tripping, and bad inputs.
 */
#include "harness.h"
#include "oflash/image.h"

#include <stdlib.h>
#include <unistd.h>

static oflash_image_load_opts opts(oflash_image_format f, bool allow)
{
    oflash_image_load_opts o = OFLASH_IMAGE_LOAD_OPTS_INIT;
    o.format = f;
    o.allow_identical_overlap = allow;
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
    CHECK_EQ_U(oflash_image_read(img, 0x0FFC, buf, 40, 0xEE), 36);
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
    CHECK(oflash_image_entry(img, &e));
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
static void on_log(int level, const char *msg, void *ctx)
{
    (void)ctx;
    if (level == OFLASH_LOG_WARN) {
        warned++;
        snprintf(warn_msg, sizeof warn_msg, "%s", msg);
    }
}

static void test_missing_eof(void)
{
    oflash_log_set_handler(on_log, NULL);
    warned = 0;
    oflash_image *img = img_of(":0400000001020304F2\n");
    CHECK(img != NULL);
    CHECK_EQ_U(warned, 1);
    CHECK(strstr(warn_msg, "t.hex:1: no end-of-file record") != NULL);
    oflash_image_free(img);
    oflash_log_set_handler(NULL, NULL);
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

int main(void)
{
    test_add_merge();
    test_ihex_records();
    test_ihex_bad();
    test_missing_eof();
    test_overlap_lines();
    return test_summary();
}
