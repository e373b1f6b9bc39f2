/* test_serial.c - the serial pool: every format at its byte boundary and
 * with a CRC, decode, list files (bad lines, repeats, running out), and
 * putting the field into an image. */
#include "harness.h"
#include "oflash/image.h"
#include "oflash/prod.h"
#include "prod/prod_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

static oflash_serial_pool *open_counter(oflash_serial_format f, unsigned len, uint64_t start,
                                        uint64_t step, const char *prefix, bool crc)
{
    oflash_serial_scheme s = OFLASH_SERIAL_SCHEME_INIT;
    oflash_serial_pool *p = NULL;
    s.at = 0x1FFF7800;
    s.format = f;
    s.len = len;
    s.start = start;
    s.step = step;
    s.prefix = prefix;
    s.crc32 = crc;
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    return p;
}

static void check_field(const oflash_serial_pool *p, uint64_t seq, const void *want, size_t n,
                        const char *text)
{
    uint8_t f[OFLASH_SERIAL_FIELD_MAX];
    size_t len = 0;
    char t[OFLASH_SERIAL_TEXT_MAX], back[OFLASH_SERIAL_TEXT_MAX];
    uint64_t got = ~0ull;
    CHECK_OK(oflash_serial_encode(f, &len, p, seq));
    CHECK_EQ_U(len, n);
    CHECK(memcmp(f, want, n) == 0);
    CHECK_OK(oflash_serial_text(t, p, seq));
    CHECK(strcmp(t, text) == 0);
    if (strcmp(t, text))
        fprintf(stderr, "  text '%s', expected '%s'\n", t, text);
    CHECK_OK(oflash_serial_decode(&got, back, p, f, len));
    CHECK_EQ_U(got, seq);
    CHECK(strcmp(back, text) == 0);
}

static void test_formats(void)
{
    oflash_serial_format f;
    CHECK_OK(oflash_serial_format_parse(&f, "ascii-hex"));
    CHECK(f == OFLASH_SERIAL_ASCII_HEX);
    CHECK(strcmp(oflash_serial_format_name(OFLASH_SERIAL_BCD), "bcd") == 0);
    CHECK_ERR(oflash_serial_format_parse(&f, "hex"), OFLASH_EINVAL, "unknown serial format 'hex'");

    /* bin-le, 2 bytes: 0xFFFE is the last serial that fits (0xFFFF reads as
     * an erased chip); with a CRC, 0xFFFF is a serial like any other. */
    oflash_serial_pool *p = open_counter(OFLASH_SERIAL_BIN_LE, 2, 0xFFFD, 1, NULL, false);
    CHECK_EQ_U(oflash_serial_pool_size(p), 2);
    CHECK_EQ_U(oflash_serial_field_size(p), 2);
    check_field(p, 0, "\xFD\xFF", 2, "65533");
    check_field(p, 1, "\xFE\xFF", 2, "65534");
    {
        uint8_t f[OFLASH_SERIAL_FIELD_MAX];
        char t[OFLASH_SERIAL_TEXT_MAX];
        CHECK_ERR(oflash_serial_encode(f, NULL, p, 2), OFLASH_ERANGE, "no serials left");
        CHECK_ERR(oflash_serial_text(t, p, 2), OFLASH_ERANGE, "no serials left");
    }
    oflash_serial_pool_free(p);

    /* bin-be, 3 bytes, prefix, step. */
    p = open_counter(OFLASH_SERIAL_BIN_BE, 3, 0x123456, 0x10, "SN", false);
    check_field(p, 0, "SN\x12\x34\x56", 5, "SN1193046");
    check_field(p, 2, "SN\x12\x34\x76", 5, "SN1193078");
    CHECK_EQ_U(oflash_serial_pool_size(p), (0xFFFFFF - 0x123456) / 0x10 + 1);
    oflash_serial_pool_free(p);

    /* bin-le 8 bytes: the whole 64-bit range (all ones with a CRC). */
    p = open_counter(OFLASH_SERIAL_BIN_LE, 8, UINT64_MAX - 1, 1, NULL, false);
    CHECK_EQ_U(oflash_serial_pool_size(p), 1);
    check_field(p, 0, "\xFE\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 8, "18446744073709551614");
    oflash_serial_pool_free(p);
    p = open_counter(OFLASH_SERIAL_BIN_BE, 2, 0xFFFF, 1, NULL, true);
    CHECK_EQ_U(oflash_serial_pool_size(p), 1);
    {
        uint8_t want[6] = {0xFF, 0xFF};
        uint32_t c = oflash_crc32(0, want, 2);
        for (int i = 0; i < 4; i++)
            want[2 + i] = (uint8_t)(c >> (8 * i));
        check_field(p, 0, want, 6, "65535");
    }
    oflash_serial_pool_free(p);

    /* ascii-dec, 4 digits: 9999 fits, it is the last one. */
    p = open_counter(OFLASH_SERIAL_ASCII_DEC, 4, 9998, 1, "ACME-SN-", false);
    check_field(p, 0, "ACME-SN-9998", 12, "ACME-SN-9998");
    check_field(p, 1, "ACME-SN-9999", 12, "ACME-SN-9999");
    CHECK_EQ_U(oflash_serial_pool_size(p), 2);
    oflash_serial_pool_free(p);
    p = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "ACME-SN-", false);
    check_field(p, 0, "ACME-SN-000001", 14, "ACME-SN-000001");
    oflash_serial_pool_free(p);

    /* ascii-hex, 3 digits: 0xFFF is the last; upper case. */
    p = open_counter(OFLASH_SERIAL_ASCII_HEX, 3, 0xABE, 1, NULL, false);
    check_field(p, 0, "ABE", 3, "ABE");
    check_field(p, 1, "ABF", 3, "ABF");
    CHECK_EQ_U(oflash_serial_pool_size(p), 0xFFF - 0xABE + 1);
    check_field(p, 0xFFF - 0xABE, "FFF", 3, "FFF");
    oflash_serial_pool_free(p);

    /* bcd, 2 bytes = 4 digits: 9999 is the last; high nibble first. */
    p = open_counter(OFLASH_SERIAL_BCD, 2, 1234, 1, NULL, false);
    check_field(p, 0, "\x12\x34", 2, "1234");
    check_field(p, 9999 - 1234, "\x99\x99", 2, "9999");
    CHECK_EQ_U(oflash_serial_pool_size(p), 9999 - 1234 + 1);
    oflash_serial_pool_free(p);

    /* A start that does not fit len is refused when the pool is opened. */
    oflash_serial_scheme s = OFLASH_SERIAL_SCHEME_INIT;
    s.format = OFLASH_SERIAL_BIN_LE;
    s.len = 2;
    s.start = 0x10000;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE,
              "serial-start 65536 does not fit the field (bin-le, 2 bytes: largest 65534)");
    s.start = 0xFFFF;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE,
              "serial-start 65535: a field of all 0xFF bytes reads as an erased chip");
    s.format = OFLASH_SERIAL_ASCII_DEC;
    s.len = 4;
    s.start = 10000;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, "largest 9999");
    s.format = OFLASH_SERIAL_ASCII_HEX;
    s.len = 3;
    s.start = 0x1000;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, "largest 4095");
    s.format = OFLASH_SERIAL_BCD;
    s.len = 2;
    s.start = 10000;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, "bcd, 2 bytes = 4 digits");
    s.format = OFLASH_SERIAL_BIN_BE;
    s.len = 9;
    s.start = 1;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "at most 8 bytes");
    s.len = 0;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "serial-len must be at least 1");
    s.format = OFLASH_SERIAL_ASCII_DEC;
    s.len = 60;
    s.prefix = "0123456789012345678901234567890123456789";
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "the serial field would be 100 bytes");
    s.len = 30;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "longer than 63 characters");
    s.len = 4;
    s.prefix = "SN\n";
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "character 3 is not");
    s.prefix = NULL;
    s.at = 0xFFFFFFFE;
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, "runs past the end");
}

/* CRC-32 of "123456789" is 0xCBF43926 (the standard check value), appended LE. */
static void test_crc(void)
{
    oflash_serial_pool *p = open_counter(OFLASH_SERIAL_ASCII_DEC, 9, 123456789, 1, NULL, true);
    CHECK_EQ_U(oflash_serial_field_size(p), 13);
    check_field(p, 0, "123456789\x26\x39\xF4\xCB", 13, "123456789");
    oflash_serial_pool_free(p);

    /* Every format with a CRC: the CRC covers prefix + number. */
    const oflash_serial_format fs[] = {OFLASH_SERIAL_BIN_LE, OFLASH_SERIAL_BIN_BE,
                                       OFLASH_SERIAL_ASCII_DEC, OFLASH_SERIAL_ASCII_HEX,
                                       OFLASH_SERIAL_BCD};
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++) {
        uint8_t f[OFLASH_SERIAL_FIELD_MAX];
        size_t n;
        uint64_t seq;
        char t[OFLASH_SERIAL_TEXT_MAX];
        p = open_counter(fs[i], 4, 4242, 3, "P-", true);
        CHECK_OK(oflash_serial_encode(f, &n, p, 7));
        CHECK_EQ_U(n, 2 + 4 + 4);
        uint32_t c = oflash_crc32(0, f, 6);
        CHECK(f[6] == (uint8_t)c && f[7] == (uint8_t)(c >> 8) && f[8] == (uint8_t)(c >> 16) &&
              f[9] == (uint8_t)(c >> 24));
        CHECK_OK(oflash_serial_decode(&seq, t, p, f, n));
        CHECK_EQ_U(seq, 7);
        f[8] ^= 1; /* a wrong CRC: no serial of this pool */
        CHECK_ERR(oflash_serial_decode(&seq, t, p, f, n), OFLASH_ENOTFOUND, "wrong CRC-32");
        f[8] ^= 1;
        f[2] ^= 0x01; /* a changed number with the old CRC */
        CHECK(oflash_serial_decode(&seq, t, p, f, n) == OFLASH_ENOTFOUND);
        oflash_serial_pool_free(p);
    }
}

static void test_decode(void)
{
    oflash_serial_pool *p = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 2, "ACME-SN-", false);
    uint64_t seq = 99;
    char t[OFLASH_SERIAL_TEXT_MAX];
    uint8_t f[14];
    memset(f, 0xFF, sizeof f);
    CHECK_ERR(oflash_serial_decode(&seq, t, p, f, 14), OFLASH_ENOTFOUND, "is erased");
    CHECK(t[0] == '\0');
    CHECK_ERR(oflash_serial_decode(&seq, t, p, f, 13), OFLASH_EINVAL, "13 bytes given");
    memcpy(f, "ACME-SN-0000x7", 14);
    CHECK_ERR(oflash_serial_decode(&seq, t, p, f, 14), OFLASH_ENOTFOUND, "no serial of this job");
    CHECK(strcmp(t, "ACME-SN-0000x7") == 0);
    memcpy(f, "ACME-SN-000004", 14); /* even: not start + k * step */
    CHECK_ERR(oflash_serial_decode(&seq, t, p, f, 14), OFLASH_ENOTFOUND, "not in this job's serial range");
    CHECK(strcmp(t, "ACME-SN-000004") == 0);
    memcpy(f, "ACME-SN-000005", 14);
    CHECK_OK(oflash_serial_decode(&seq, t, p, f, 14));
    CHECK_EQ_U(seq, 2);
    memcpy(f, "OTHER--000005\x01", 14); /* another prefix, unprintable: shown as hex */
    CHECK(oflash_serial_decode(&seq, t, p, f, 14) == OFLASH_ENOTFOUND);
    CHECK(strcmp(t, "4F544845522D2D30303030303501") == 0);
    memcpy(f, "ACME-SN-00\xFF\xFF\xFF\xFF", 14); /* a half-written field */
    CHECK(oflash_serial_decode(&seq, t, p, f, 14) == OFLASH_ENOTFOUND);
    oflash_serial_pool_free(p);

    /* Identity: the same scheme gives the same line, any change another. */
    oflash_serial_pool *a = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "A-", false);
    oflash_serial_pool *b = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "A-", false);
    oflash_serial_pool *c = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "B-", false);
    oflash_serial_pool *d = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "A-", true);
    CHECK(strcmp(oflash_serial_pool_identity(a), oflash_serial_pool_identity(b)) == 0);
    CHECK(strcmp(oflash_serial_pool_identity(a), oflash_serial_pool_identity(c)) != 0);
    CHECK(strcmp(oflash_serial_pool_identity(a), oflash_serial_pool_identity(d)) != 0);
    CHECK(strstr(oflash_serial_pool_identity(a), "format=ascii-dec len=6 prefix=\"A-\"") != NULL);
    oflash_serial_pool_free(a);
    oflash_serial_pool_free(b);
    oflash_serial_pool_free(c);
    oflash_serial_pool_free(d);
}

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_list(void)
{
    oflash_serial_scheme s = OFLASH_SERIAL_SCHEME_INIT;
    oflash_serial_pool *p = NULL;
    char t[OFLASH_SERIAL_TEXT_MAX], msg[256];
    uint8_t f[OFLASH_SERIAL_FIELD_MAX];
    size_t n;
    uint64_t seq;

    s.at = 0x08004000;
    s.format = OFLASH_SERIAL_ASCII_DEC;
    s.len = 6;
    s.prefix = "ACME-SN-";
    s.list_path = write_file("list.txt", "# serials for lot 7\n000120\r\n  77  \n\nACME-SN-000042\n5");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK_EQ_U(oflash_serial_pool_size(p), 4);
    CHECK_OK(oflash_serial_text(t, p, 0));
    CHECK(strcmp(t, "ACME-SN-000120") == 0);
    CHECK_OK(oflash_serial_text(t, p, 2));
    CHECK(strcmp(t, "ACME-SN-000042") == 0);
    CHECK_OK(oflash_serial_encode(f, &n, p, 1));
    CHECK(n == 14 && memcmp(f, "ACME-SN-000077", 14) == 0);
    CHECK_OK(oflash_serial_decode(&seq, t, p, f, n));
    CHECK_EQ_U(seq, 1);
    CHECK_OK(oflash_serial_encode(f, &n, p, 3));
    CHECK_OK(oflash_serial_decode(&seq, t, p, f, n));
    CHECK_EQ_U(seq, 3);
    memcpy(f, "ACME-SN-000121", 14);
    CHECK_ERR(oflash_serial_decode(&seq, t, p, f, n), OFLASH_ENOTFOUND, "not in this job's serial list");
    /* The list running out: a clear stop naming the file. */
    snprintf(msg, sizeof msg, "no serials left: the list %s has 4 serials, all issued", s.list_path);
    CHECK_ERR(oflash_serial_encode(f, &n, p, 4), OFLASH_ERANGE, msg);
    CHECK(strstr(oflash_serial_pool_identity(p), "list-sha256=") != NULL);
    /* The identity follows the list's content, not its name. */
    char id1[512];
    snprintf(id1, sizeof id1, "%s", oflash_serial_pool_identity(p));
    oflash_serial_pool_free(p);
    s.list_path = write_file("list2.txt", "# serials for lot 7\n000120\r\n  77  \n\nACME-SN-000042\n5");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK(strcmp(id1, oflash_serial_pool_identity(p)) == 0);
    oflash_serial_pool_free(p);
    s.list_path = write_file("list3.txt", "000120\n77\n42\n6\n");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK(strcmp(id1, oflash_serial_pool_identity(p)) != 0);
    oflash_serial_pool_free(p);

    /* Bad lines: file and line named. */
    s.list_path = write_file("bad.txt", "000001\n000002\n0000x3\n");
    snprintf(msg, sizeof msg, "%s:3: '0000x3' is no serial number (ascii-dec takes decimal digits 0-9)",
             s.list_path);
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EFORMAT, msg);
    CHECK(p == NULL);
    s.list_path = write_file("long.txt", "1\n\n1234567\n");
    snprintf(msg, sizeof msg, "%s:3: serial '1234567' does not fit the field (ascii-dec, 6 digits)",
             s.list_path);
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, msg);
    s.list_path = write_file("rep.txt", "# lot\n000001\n000002\n000003\n2\n000001\n");
    snprintf(msg, sizeof msg, "%s:5: serial ACME-SN-000002 repeats line 3", s.list_path);
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EFORMAT, msg);
    s.list_path = write_file("empty.txt", "# nothing yet\n\n");
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EFORMAT, "the serial list has no serials");
    s.list_path = dir; /* a directory */
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EINVAL, "is a directory");
    s.list_path = "/nonexistent/list.txt";
    CHECK(oflash_serial_pool_open(&p, &s) < 0);
    CHECK(strstr(oflash_error_last(), "/nonexistent/list.txt") != NULL);

    /* Other formats' list lines. */
    s.prefix = NULL;
    s.format = OFLASH_SERIAL_BIN_BE;
    s.len = 2;
    s.list_path = write_file("bin.txt", "0x1234\n65534\n");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK_OK(oflash_serial_encode(f, &n, p, 0));
    CHECK(n == 2 && f[0] == 0x12 && f[1] == 0x34);
    CHECK_OK(oflash_serial_encode(f, &n, p, 1));
    CHECK(f[0] == 0xFF && f[1] == 0xFE);
    oflash_serial_pool_free(p);
    s.list_path = write_file("bin2.txt", "65535\n");
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, ":1: serial '65535' does not fit");
    s.format = OFLASH_SERIAL_ASCII_HEX;
    s.len = 4;
    s.list_path = write_file("hex.txt", "beef\nCAFE\n");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK_OK(oflash_serial_encode(f, &n, p, 0));
    CHECK(memcmp(f, "BEEF", 4) == 0);
    oflash_serial_pool_free(p);
    s.list_path = write_file("hex2.txt", "beef\nCAFEG\n");
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EFORMAT, ":2: 'CAFEG' is no serial number (ascii-hex takes hex digits");
    s.list_path = write_file("hex3.txt", "beef\nbeeF\n");
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_EFORMAT, ":2: serial BEEF repeats line 1");
    s.format = OFLASH_SERIAL_BCD;
    s.len = 3;
    s.list_path = write_file("bcd.txt", "123456\n99\n");
    CHECK_OK(oflash_serial_pool_open(&p, &s));
    CHECK_OK(oflash_serial_encode(f, &n, p, 0));
    CHECK(n == 3 && f[0] == 0x12 && f[1] == 0x34 && f[2] == 0x56);
    CHECK_OK(oflash_serial_text(t, p, 1));
    CHECK(strcmp(t, "000099") == 0);
    oflash_serial_pool_free(p);
    s.list_path = write_file("bcd2.txt", "1234567\n");
    CHECK_ERR(oflash_serial_pool_open(&p, &s), OFLASH_ERANGE, "(bcd, 6 digits)");
}

static void test_apply(void)
{
    oflash_serial_pool *p = open_counter(OFLASH_SERIAL_ASCII_DEC, 6, 1, 1, "SN", true);
    oflash_image *img = NULL;
    uint8_t buf[16], f[OFLASH_SERIAL_FIELD_MAX];
    size_t n;
    uint8_t code[8] = {1, 2, 3, 4, 5, 6, 7, 8};

    /* OTP field, image elsewhere: the field is added. */
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_add(img, 0x08000000, code, sizeof code, "fw"));
    CHECK_OK(oflash_serial_apply(img, p, 41));
    CHECK_OK(oflash_serial_encode(f, &n, p, 41));
    CHECK_EQ_U(oflash_image_read(buf, img, 0x1FFF7800, n, 0), n);
    CHECK(memcmp(buf, f, n) == 0);
    CHECK(memcmp(buf, "SN000042", 8) == 0);
    /* Applying again over the first serial is refused (not 0xFF any more). */
    CHECK_ERR(oflash_serial_apply(img, p, 42), OFLASH_EOVERLAP, "overlaps image data at 0x1FFF7800");
    oflash_image_free(img);

    /* Image data inside the field: refused, naming the address and the source. */
    CHECK_OK(oflash_image_new(&img));
    uint8_t blank[20];
    memset(blank, 0xFF, sizeof blank);
    blank[9] = 0x00;
    CHECK_OK(oflash_image_add(img, 0x1FFF77FC, blank, sizeof blank, "fw.hex"));
    CHECK_ERR(oflash_serial_apply(img, p, 0), OFLASH_EOVERLAP,
              "the serial field 0x1FFF7800-0x1FFF780B overlaps image data at 0x1FFF7805 (0x00, from fw.hex");
    oflash_image_free(img);

    /* The image covers part of the field with 0xFF: those bytes take the field. */
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_add(img, 0x1FFF77F0, blank, 0x14, "fw.hex")); /* to 0x1FFF7803 */
    CHECK_OK(oflash_serial_apply(img, p, 0));
    CHECK_OK(oflash_serial_encode(f, &n, p, 0));
    CHECK_EQ_U(oflash_image_read(buf, img, 0x1FFF7800, n, 0), n);
    CHECK(memcmp(buf, f, n) == 0);
    CHECK_EQ_U(oflash_image_read(buf, img, 0x1FFF77F0, 16, 0), 16);
    CHECK(buf[0] == 0xFF && buf[15] == 0xFF);
    oflash_image_free(img);

    /* The image covers the whole field and more with 0xFF. */
    CHECK_OK(oflash_image_new(&img));
    uint8_t big[64];
    memset(big, 0xFF, sizeof big);
    CHECK_OK(oflash_image_add(img, 0x1FFF7800 - 8, big, sizeof big, "fw.hex"));
    CHECK_OK(oflash_serial_apply(img, p, 5));
    CHECK_OK(oflash_serial_encode(f, &n, p, 5));
    CHECK_EQ_U(oflash_image_read(buf, img, 0x1FFF7800, n, 0), n);
    CHECK(memcmp(buf, f, n) == 0);
    CHECK_EQ_U(oflash_image_segment_count(img), 1);
    /* A seq past the pool's end changes nothing. */
    CHECK_ERR(oflash_serial_apply(img, p, oflash_serial_pool_size(p)), OFLASH_ERANGE, "no serials left");
    oflash_image_free(img);
    oflash_serial_pool_free(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", "serialXXXXXX");
    if (!mkdtemp(dir))
        return 2;
    test_formats();
    test_crc();
    test_decode();
    test_list();
    test_apply();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
