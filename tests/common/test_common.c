/* test_common.c - error messages, CRC-32, probe spec parsing, the built-in device table. */
#include "harness.h"
#include "oflash/device.h"
#include "oflash/sys/family.h"
#include "oflash/image.h"
#include "oflash/probe.h"
#include "common/crc32.h"

#include <pthread.h>

static void test_error(void)
{
    oflash_error_clear();
    CHECK_EQ_U(oflash_error_last_code(), 0);
    CHECK(oflash_error_set(OFLASH_EFORMAT, "f.hex:%d: bad", 3) == OFLASH_EFORMAT);
    CHECK(strcmp(oflash_error_last(), "f.hex:3: bad") == 0);
    oflash_error_prefix("while reading: ");
    CHECK(strcmp(oflash_error_last(), "while reading: f.hex:3: bad") == 0);
    CHECK(oflash_error_last_code() == OFLASH_EFORMAT);
}

static void test_crc(void)
{
    /* The CRC-32 check value of "123456789". */
    CHECK_EQ_U(oflash_crc32(0, "123456789", 9), 0xCBF43926u);
    /* Chaining equals one call. */
    uint32_t c = oflash_crc32(0, "12345", 5);
    CHECK_EQ_U(oflash_crc32(c, "6789", 4), 0xCBF43926u);
    uint8_t big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (uint8_t)(i * 7);
    c = 0;
    for (int i = 0; i < 1000; i++)
        c = oflash_crc32(c, &big[i], 1);
    CHECK_EQ_U(oflash_crc32(0, big, 1000), c);
}

/* Bit by bit, straight from the polynomial: the reference for the tables. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
    }
    return ~crc;
}

/* The constant tables (crc32_table.c), entry by entry: row 0 from the
 * polynomial, row t from row t-1. */
static void test_crc_tables(void)
{
    int bad = 0;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        bad += oflash__crc32_table[0][i] != c;
        for (int t = 1; t < 8; t++) {
            c = (c >> 8) ^ oflash__crc32_table[0][c & 0xFF];
            bad += oflash__crc32_table[t][i] != c;
        }
    }
    CHECK_EQ_U(bad, 0);
    /* Every length 0..64 at every alignment 0..7 against the bitwise CRC
     * (the 8-byte loop, the byte tail and their seams). */
    uint8_t buf[80];
    for (int i = 0; i < 80; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n <= 64; n++)
            bad += oflash_crc32(0x1234u, buf + off, n) != crc_bitwise(0x1234u, buf + off, n);
    CHECK_EQ_U(bad, 0);
}

/* Ports start at the same moment, and each one's first CRC may be the
 * process's first: 8 threads released together make their first call at
 * once (before any other test calls it).  With tables built on first use
 * that was a data race (ThreadSanitizer reports it; a plain build rarely
 * shows it); with constant tables there is nothing to race on.  Each result
 * must still equal the bitwise CRC. */
#define CRC_THREADS 8
typedef struct crc_thread {
    pthread_barrier_t *go;
    const uint8_t *data;
    size_t len;
    uint32_t crc;
} crc_thread;

static void *crc_first_call(void *arg)
{
    crc_thread *t = arg;
    pthread_barrier_wait(t->go);
    t->crc = oflash_crc32(0, t->data, t->len);
    return NULL;
}

static void test_crc_threads(void)
{
    static uint8_t data[4096];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, CRC_THREADS);
    pthread_t th[CRC_THREADS];
    crc_thread t[CRC_THREADS];
    int started = 0;
    for (int i = 0; i < CRC_THREADS; i++) {
        t[i] = (crc_thread){&go, data + i, sizeof data - (size_t)i * 64, 0};
        if (pthread_create(&th[i], NULL, crc_first_call, &t[i]) == 0) started++;
    }
    CHECK_EQ_U(started, CRC_THREADS);
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_U(t[i].crc, crc_bitwise(0, t[i].data, t[i].len));
    }
    pthread_barrier_destroy(&go);
}

static void test_devices(void)
{
    const oflash_device *d = oflash_builtin_device_find("stm32f401re");
    CHECK(d != NULL);
    if (!d)
        return;
    CHECK(strcmp(d->name, "STM32F401xE") == 0);
    CHECK_EQ_U(d->dev_id, 0x433);
    const oflash_bank *fl = oflash_device_bank(d, "flash");
    CHECK(fl && fl->sector_count == 8);
    uint32_t total = 0;
    for (size_t i = 0; fl && i < fl->sector_count; i++) {
        CHECK_EQ_U(fl->sectors[i].addr, fl->base + total);
        total += fl->sectors[i].size;
    }
    CHECK_EQ_U(total, 512 * 1024);
    CHECK(oflash_device_bank_at(d, 0x1FFF7A0F) == oflash_device_bank(d, "otp-lock"));
    CHECK(oflash_device_bank_at(d, 0x1FFF7A10) == NULL);
    CHECK(oflash_bank_sector_at(fl, 0x08010000) == 4);
    CHECK(oflash_bank_sector_at(fl, 0x08080000) == -1);
    /* Every built-in part: sectors tile the flash bank exactly. */
    for (size_t k = 0; k < oflash_builtin_device_count(); k++) {
        const oflash_device *dv = oflash_builtin_device(k);
        const oflash_bank *b = oflash_device_bank(dv, "flash");
        uint32_t sum = 0;
        for (size_t i = 0; i < b->sector_count; i++)
            sum += b->sectors[i].size;
        CHECK_EQ_U(sum, b->size);
        CHECK_EQ_U(b->size, dv->flash_size_kb * 1024u);
    }
    oflash_devdb *db;
    const oflash_device *found;
    CHECK_OK(oflash_devdb_open(&db, NULL));
    CHECK_OK(oflash_devdb_find(&found, db, "STM32F429ZI"));
    CHECK(found && found->family_ops == oflash_family_find("stm32f4") && found->family_data);
    CHECK_ERR(oflash_devdb_find(&found, db, "STM32F999"), OFLASH_ENOTFOUND, "STM32F999");
    oflash_devdb_free(db);
}

static void test_probe_spec(void)
{
    oflash_probe *p;
    CHECK_ERR(oflash_probe_open(&p, "nonsense", NULL), OFLASH_EINVAL, "expected sim:PATH");
    CHECK_ERR(oflash_probe_open(&p, "usb:1234", NULL), OFLASH_EUNSUPPORTED, "unknown probe type");
    CHECK(oflash_reg_from_name("xpsr") == OFLASH_REG_XPSR);
    CHECK(oflash_reg_from_name("r13") == OFLASH_REG_SP);
    CHECK(oflash_reg_from_name("r16") == -1);
}

int main(void)
{
    test_crc_threads(); /* first: the process's first CRC calls */
    test_error();
    test_crc();
    test_crc_tables();
    test_devices();
    test_probe_spec();
    return test_summary();
}
