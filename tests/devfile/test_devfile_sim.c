/*
 * test_devfile_sim.c - loaders named by device files, run on the simulated
 * chip through the FLM runtime:
 *  - the example of examples/loader-template (built with its Makefile by
 *    CMake) registered by its JLink device file as ACME-SERIAL-F401,
 *    programming the OTP area of a simulated STM32F401RE;
 *  - a third-party style FLM (thirdparty/tp_flm.c: R9 static data, 4 KiB
 *    PrgData, 512-byte pages, no SEGGER extensions) inside a CMSIS-Pack,
 *    erasing and programming main flash;
 *  - a loader that hangs, stopped at its timeout and reported by name and
 *    function; loaders refused when a device file names them (RAM, sector
 *    coverage, work RAM overlapping the bank);
 *  - banks replacing built-in banks and MaxSize cutting a loader's range.
 * The `oflash program` end to end runs are in test_devfile_flm.sh.
 */
#include "harness.h"
#include "oflash/device.h"
#include "oflash/loader.h"
#include "oflash/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

static char tmp[256];
static const char *flms;

static const char *tpath(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static const char *fpath(const char *name)
{
    static char buf[4][600];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", flms, name);
    return buf[k];
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) exit(2);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static oflash_devdb *open_db(void)
{
    oflash_devdb *db = NULL;
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    o.no_user_paths = true;
    if (oflash_devdb_open(&db, &o) < 0) exit(2);
    return db;
}

static oflash_probe *open_sim(void)
{
    oflash_probe *p = NULL;
    oflash_probe_opts o = OFLASH_PROBE_OPTS_INIT;
    o.device = "STM32F401RE";
    char spec[700];
    snprintf(spec, sizeof spec, "sim:%s", tpath("chip.sim"));
    if (oflash_probe_open(&p, spec, &o) < 0) {
        fprintf(stderr, "probe: %s\n", oflash_error_last());
        exit(2);
    }
    return p;
}

/* Open the bank's loader (file or pack image) in the device's work RAM. */
static oflash_loader *open_loader(oflash_probe *p, const oflash_device *d, const oflash_bank *b,
                                  oflash_flm **flm)
{
    oflash_loader *l = NULL;
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = d->work_ram_start;
    o.ram_size = d->work_ram_size;
    *flm = NULL;
    if (b->loader_path)
        CHECK_OK(oflash_flm_load_file(flm, b->loader_path));
    else
        CHECK_OK(oflash_flm_parse(flm, b->loader_image, b->loader_size, b->loader_name));
    if (!*flm) return NULL;
    CHECK_OK(oflash_loader_open(&l, p, *flm, &o));
    return l;
}

static void test_example_otp(oflash_probe *p)
{
    oflash_devdb *db = open_db();
    const oflash_device *d = NULL;
    const oflash_bank *b;
    oflash_flm *flm = NULL;
    oflash_loader *l;
    uint8_t serial[40], back[64], flash[16];
    /* The device file as the example ships it, next to the built FLM. */
    CHECK_OK(oflash_devdb_add_file(db, fpath("example/acme-serial.xml")));
    CHECK_OK(oflash_devdb_find(&d, db, "ACME-SERIAL"));
    if (!d) goto out;
    CHECK(!d->has_id);
    CHECK_EQ_U(d->bank_count, 1);
    b = oflash_device_bank(d, "serial");
    CHECK(b != NULL);
    if (!b) goto out;
    CHECK_EQ_U(b->base, 0x1FFF7800u);
    CHECK_EQ_U(b->size, 512);
    CHECK_EQ_U(b->sector_count, 16);
    CHECK_EQ_U(b->sectors[15].addr, 0x1FFF79E0u);
    CHECK_EQ_U(b->page_size, 32);
    CHECK(b->loader_path && strstr(b->loader_path, "/otp_loader.FLM"));

    l = open_loader(p, d, b, &flm);
    if (!l) goto out;
    for (size_t i = 0; i < sizeof serial; i++)
        serial[i] = (uint8_t)(0xA0 + i);
    serial[5] = 0xFF; /* an unprogrammed byte in the middle */
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_PROGRAM));
    CHECK_OK(oflash_loader_program(l, 0x1FFF7800u, serial, sizeof serial));
    CHECK_OK(oflash_loader_uninit(l, OFLASH_FNC_PROGRAM));
    CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7800u, sizeof back));
    CHECK(memcmp(back, serial, sizeof serial) == 0);
    for (size_t i = sizeof serial; i < sizeof back; i++)
        CHECK_EQ_U(back[i], 0xFF);
    /* Main flash is not this device's business. */
    CHECK_OK(oflash_probe_read_mem(flash, p, 0x08000000u, sizeof flash));
    for (size_t i = 0; i < sizeof flash; i++)
        CHECK_EQ_U(flash[i], 0xFF);

    /* OTP is never erased: a blank block "erases" (nothing to do), a
     * written one is refused by the loader and reported by function. */
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_ERASE));
    CHECK_OK(oflash_loader_erase_sector(l, 0x1FFF7800u + 5 * 32));
    CHECK(oflash_loader_erase_sector(l, 0x1FFF7800u) < 0);
    CHECK(strstr(oflash_error_detail(), "EraseSector") != NULL);
    CHECK_OK(oflash_loader_uninit(l, OFLASH_FNC_ERASE));
    /* Programming a 0 bit back to 1 cannot work: the loader says so. */
    serial[0] = 0xFF;
    serial[1] = 0xA1 | 0x40;
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_PROGRAM));
    CHECK(oflash_loader_program(l, 0x1FFF7800u, serial, 32) < 0);
    CHECK(strstr(oflash_error_detail(), "ProgramPage") != NULL);
    CHECK_OK(oflash_loader_uninit(l, OFLASH_FNC_PROGRAM));
    CHECK_OK(oflash_probe_read_mem(back, p, 0x1FFF7800u, 2));
    CHECK_EQ_U(back[1], 0xA1);
    oflash_loader_close(l);
out:
    oflash_flm_free(flm);
    oflash_devdb_free(db);
}

static const char tp_pdsc[] =
    "<?xml version=\"1.0\"?>\n"
    "<package schemaVersion=\"1.4\">\n"
    "  <vendor>Third</vendor><name>TP_DFP</name>\n"
    "  <devices>\n"
    "    <family Dfamily=\"TP F4\" Dvendor=\"Third Party:1\">\n"
    "      <processor Dcore=\"Cortex-M4\"/>\n"
    "      <memory id=\"IROM1\" start=\"0x08000000\" size=\"0x80000\" startup=\"1\" "
    "default=\"1\"/>\n"
    "      <memory id=\"IRAM1\" start=\"0x20000000\" size=\"0x18000\" init=\"0\" default=\"1\"/>\n"
    "      <device Dname=\"TP-F401RE\">\n"
    "        <algorithm name=\"Flash\\TP_512.FLM\" start=\"0x08000000\" size=\"0x80000\" "
    "default=\"1\"/>\n"
    "        <algorithm name=\"Flash/TP_512.FLM\" start=\"0x08040000\" size=\"0x40000\"/>\n"
    "      </device>\n"
    "    </family>\n"
    "  </devices>\n"
    "</package>\n";

static void test_thirdparty_pack(oflash_probe *p)
{
    oflash_devdb *db = open_db();
    const oflash_device *d = NULL;
    const oflash_bank *b;
    oflash_flm *flm = NULL;
    oflash_loader *l;
    size_t flm_len;
    void *flm_bytes = read_file(fpath("tp_plain.flm"), &flm_len);
    uint8_t data[1500], back[1600];
    int err;
    zip_t *z = zip_open(tpath("Third.TP_DFP.1.0.0.pack"), ZIP_CREATE | ZIP_TRUNCATE, &err);
    zip_file_add(z, "Third.TP_DFP.pdsc", zip_source_buffer(z, tp_pdsc, strlen(tp_pdsc), 0), 0);
    zip_file_add(z, "Flash/TP_512.FLM", zip_source_buffer(z, flm_bytes, flm_len, 0), 0);
    CHECK(zip_close(z) == 0);

    CHECK_OK(oflash_devdb_add_file(db, tpath("Third.TP_DFP.1.0.0.pack")));
    CHECK_OK(oflash_devdb_find(&d, db, "tp-f401re"));
    if (!d) goto out;
    CHECK(!strcmp(d->vendor, "Third Party"));
    CHECK_EQ_U(d->work_ram_start, 0x20000000u);
    CHECK_EQ_U(d->work_ram_size, 0x18000);
    /* The non-default algorithm overlaps the default one: left out. */
    CHECK_EQ_U(d->bank_count, 1);
    b = &d->banks[0];
    CHECK(!strcmp(b->name, "IROM1"));
    CHECK_EQ_U(b->sector_count, 8);
    CHECK_EQ_U(b->sectors[4].addr, 0x08010000u);
    CHECK_EQ_U(b->sectors[4].size, 0x10000u);
    CHECK_EQ_U(b->page_size, 512);
    CHECK(b->loader_path == NULL && b->loader_image && b->loader_size == flm_len);
    CHECK(memcmp(b->loader_image, flm_bytes, flm_len) == 0);
    CHECK(strstr(b->loader_name, "Third.TP_DFP.1.0.0.pack:Flash/TP_512.FLM") != NULL);

    l = open_loader(p, d, b, &flm);
    if (!l) goto out;
    CHECK_EQ_U(oflash_flm_functions(flm) & (OFLASH_FLM_SEGGER_PROGRAM | OFLASH_FLM_SEGGER_ERASE |
                                            OFLASH_FLM_SEGGER_CRC | OFLASH_FLM_SEGGER_READ),
               0);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 7);
    /* Init returns 2 unless R9 points at its PrgData: this proves it. */
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_ERASE));
    CHECK_OK(oflash_loader_erase_sector(l, 0x08004000u));
    CHECK_OK(oflash_loader_uninit(l, OFLASH_FNC_ERASE));
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_PROGRAM));
    CHECK_OK(oflash_loader_program(l, 0x08004000u, data, sizeof data));
    CHECK_OK(oflash_loader_uninit(l, OFLASH_FNC_PROGRAM));
    CHECK_OK(oflash_probe_read_mem(back, p, 0x08004000u, sizeof back));
    CHECK(memcmp(back, data, sizeof data) == 0);
    for (size_t i = sizeof data; i < sizeof back; i++)
        CHECK_EQ_U(back[i], 0xFF); /* the last page padded with the erased value */
    CHECK_OK(oflash_probe_read_mem(back, p, 0x08000000u, 16));
    for (size_t i = 0; i < 16; i++)
        CHECK_EQ_U(back[i], 0xFF); /* sector 0 untouched */
    oflash_loader_close(l);
out:
    oflash_flm_free(flm);
    free(flm_bytes);
    oflash_devdb_free(db);
}

static void jlink_file(const char *name, const char *chip, const char *bank)
{
    char text[2048];
    snprintf(text, sizeof text,
             "<DataBase>\n <Device>\n  <ChipInfo %s/>\n  <FlashBankInfo %s\n"
             "    LoaderType=\"FLASH_ALGO_TYPE_OPEN\" AlwaysPresent=\"1\"/>\n </Device>\n"
             "</DataBase>\n",
             chip, bank);
    write_file(tpath(name), text);
}

static void test_hang(oflash_probe *p)
{
    oflash_devdb *db = open_db();
    const oflash_device *d = NULL;
    const oflash_bank *b;
    oflash_flm *flm = NULL;
    oflash_loader *l;
    char bank[700];
    snprintf(bank, sizeof bank, "Name=\"flash\" BaseAddr=\"0x08000000\" Loader=\"%s\"",
             fpath("tp_HANG.flm"));
    jlink_file("hang.xml", "Name=\"STM32F401RE\"", bank);
    CHECK_OK(oflash_devdb_add_file(db, tpath("hang.xml")));
    CHECK_OK(oflash_devdb_find(&d, db, "STM32F401RE"));
    if (!d) goto out;
    b = oflash_device_bank(d, "flash");
    CHECK(b && b->loader_path && strstr(b->loader_path, "tp_HANG.flm"));
    CHECK_EQ_U(d->bank_count, 3); /* replaced, not added */
    if (!b) goto out;
    l = open_loader(p, d, b, &flm);
    if (!l) goto out;
    CHECK_OK(oflash_loader_init(l, OFLASH_FNC_ERASE));
    CHECK_ERR(oflash_loader_erase_sector(l, 0x08020000u), OFLASH_ETIMEOUT, "EraseSector");
    CHECK(strstr(oflash_error_last(), "tp_HANG.flm") != NULL);
    oflash_loader_close(l);
out:
    oflash_flm_free(flm);
    oflash_devdb_free(db);
}

static void refused(const char *chip, const char *bank, int code, const char *what)
{
    oflash_devdb *db = open_db();
    size_t n0 = oflash_devdb_count(db);
    jlink_file("refused.xml", chip, bank);
    CHECK_ERR(oflash_devdb_add_file(db, tpath("refused.xml")), code, what);
    /* libxml2 numbers an element by the line its start tag ends on */
    CHECK(strstr(oflash_error_last(), "refused.xml:5: device 'R': bank 'f': ") != NULL);
    CHECK_EQ_U(oflash_devdb_count(db), n0);
    oflash_devdb_free(db);
}

static void test_refused_and_replaced(void)
{
    char bank[700];
    const char *ram = "Name=\"R\" WorkRAMAddr=\"0x20000000\" WorkRAMSize=\"0x18000\"";
    oflash_devdb *db;
    const oflash_device *d = NULL;

    snprintf(bank, sizeof bank, "Name=\"f\" BaseAddr=\"0x08000000\" Loader=\"%s\"",
             fpath("tp_HUGE.flm"));
    refused(ram, bank, OFLASH_ERANGE, "does not fit the device's work RAM");
    snprintf(bank, sizeof bank, "Name=\"f\" BaseAddr=\"0x08000000\" Loader=\"%s\"",
             fpath("tp_BAD_COVER.flm"));
    refused(ram, bank, OFLASH_EFORMAT, "sectors do not cover its declared size");
    snprintf(bank, sizeof bank,
             "Name=\"f\" BaseAddr=\"0x08000000\" MaxSize=\"0x100000\" Loader=\"%s\"",
             fpath("tp_plain.flm"));
    refused(ram, bank, OFLASH_ERANGE, "its sectors cover 0x80000 bytes");
    snprintf(bank, sizeof bank,
             "Name=\"f\" BaseAddr=\"0x08000000\" MaxSize=\"0x30000\" Loader=\"%s\"",
             fpath("tp_plain.flm"));
    refused(ram, bank, OFLASH_ERANGE, "ends inside a 0x20000-byte sector");
    snprintf(bank, sizeof bank, "Name=\"f\" BaseAddr=\"0x08000000\" Loader=\"%s\"",
             fpath("tp_plain.flm"));
    refused("Name=\"R\" WorkRAMAddr=\"0x08070000\" WorkRAMSize=\"0x18000\"", bank, OFLASH_ERANGE,
            "overlaps the flash it programs");
    refused("Name=\"R\" WorkRAMAddr=\"0x20000000\" WorkRAMSize=\"0x800\"", bank, OFLASH_ERANGE,
            "does not fit the device's work RAM");

    /* MaxSize cuts the loader's range on a sector boundary; a bank over the
     * built-in OTP replaces it, the other built-in banks stay. */
    db = open_db();
    snprintf(bank, sizeof bank,
             "Name=\"serial\" BaseAddr=\"0x1FFF7800\" MaxSize=\"0x100\" Loader=\"%s\"",
             fpath("example/otp_loader.FLM"));
    jlink_file("ext.xml", "Name=\"STM32F401CE\" Aliases=\"MYBOARD\"", bank);
    CHECK_OK(oflash_devdb_add_file(db, tpath("ext.xml")));
    CHECK_OK(oflash_devdb_find(&d, db, "MYBOARD"));
    if (d) {
        const oflash_bank *s = oflash_device_bank(d, "serial");
        CHECK(!strcmp(d->name, "STM32F401xE"));
        CHECK_EQ_U(d->bank_count, 3);
        CHECK(oflash_device_bank(d, "flash") && oflash_device_bank(d, "otp-lock"));
        CHECK(oflash_device_bank(d, "otp") == NULL);
        CHECK(s && s->size == 0x100 && s->sector_count == 8);
        CHECK(oflash_device_bank_at(d, 0x1FFF7900u) == NULL);
        CHECK(oflash_device_bank_at(d, 0x1FFF78FFu) == s);
        CHECK(s && s->kind == OFLASH_BANK_FLASH);
    }
    oflash_devdb_free(db);

    /* Kind="otp" (oflash extension): a bank oflash must never erase. */
    db = open_db();
    snprintf(bank, sizeof bank,
             "Name=\"serial\" Kind=\"otp\" BaseAddr=\"0x1FFF7800\" Loader=\"%s\"",
             fpath("example/otp_loader.FLM"));
    jlink_file("kind.xml", "Name=\"K\" WorkRAMAddr=\"0x20000000\" WorkRAMSize=\"0x10000\"", bank);
    CHECK_OK(oflash_devdb_add_file(db, tpath("kind.xml")));
    CHECK_OK(oflash_devdb_find(&d, db, "K"));
    if (d) {
        CHECK_EQ_U(d->bank_count, 1);
        CHECK(d->banks[0].kind == OFLASH_BANK_OTP);
        CHECK_EQ_U(d->banks[0].size, 512); /* no MaxSize: the FLM's szDev */
    }
    oflash_devdb_free(db);
}

int main(void)
{
    oflash_probe *p;
    flms = getenv("DEVFILE_FLMS");
    if (!flms) {
        fprintf(stderr, "DEVFILE_FLMS not set (run through ctest)\n");
        return 2;
    }
    snprintf(tmp, sizeof tmp, "%s/devfile-sim-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) return 2;
    test_refused_and_replaced();
    p = open_sim();
    test_example_otp(p);
    test_thirdparty_pack(p);
    test_hang(p);
    oflash_probe_close(p);
    if (!t_fail) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    }
    return test_summary();
}
