/*
 * test_devfile.c - device files without loaders: JLink XML (new devices,
 * extending a built-in, InheritFrom), CMSIS-Pack .pdsc and .pack
 * (family/subFamily/device/variant inheritance of memory and processor),
 * hostile and malformed input, the search path ($OFLASH_DEVICES, the
 * user's store) and importing into the store.  Banks with FLM loaders are
 * covered by test_devfile_flm.sh (they need arm-none-eabi-gcc).
 */
#include "harness.h"
#include "oflash/device.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

static char tmp[256];

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp, name);
    return buf[k];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(tpath(name), "wb");
    if (!f) {
        perror(name);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static oflash_devdb *open_db(void)
{
    oflash_devdb *db = NULL;
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    o.no_user_paths = true;
    if (oflash_devdb_open(&db, &o) < 0) {
        fprintf(stderr, "devdb_open: %s\n", oflash_error_last());
        exit(2);
    }
    return db;
}

static bool has_alias(const oflash_device *d, const char *a)
{
    for (const char *const *p = d->aliases; p && *p; p++)
        if (!strcmp(*p, a)) return true;
    return false;
}

static void test_jlink_new_and_extend(void)
{
    oflash_devdb *db = open_db();
    const oflash_device *d = NULL;
    size_t n0 = oflash_devdb_count(db);
    write_file("a.xml",
               "<?xml version=\"1.0\"?>\n"
               "<DataBase>\n"
               "  <Device>\n"
               "    <ChipInfo Vendor=\"Acme\" Name=\"ACME-1\" Core=\"JLINK_CORE_CORTEX_M0PLUS\"\n"
               "              WorkRAMAddr=\"0x20000000\" WorkRAMSize=\"8192\"\n"
               "              Aliases=\"ACME-1A, ACME-1B;ACME-1C\"/>\n"
               "  </Device>\n"
               "  <Device>\n"
               "    <ChipInfo Name=\"stm32f401re\" Aliases=\"MYBOARD\" WorkRAMSize=\"0x10000\"/>\n"
               "  </Device>\n"
               "  <Device>\n"
               "    <ChipInfo Name=\"ACME-1A\" Vendor=\"Acme Again\"/>\n"
               "  </Device>\n"
               "  <Device InheritFrom=\"STM32F411xE\">\n"
               "    <ChipInfo Name=\"MY-F411\" Vendor=\"Me\"/>\n"
               "  </Device>\n"
               "</DataBase>\n");
    CHECK_OK(oflash_devdb_add_file(db, tpath("a.xml")));
    CHECK_EQ_U(oflash_devdb_count(db), n0 + 3);

    CHECK_OK(oflash_devdb_find(&d, db, "acme-1b"));
    if (d) {
        CHECK(!strcmp(d->name, "ACME-1"));
        /* extended later in the same file: one device, the later one's vendor */
        CHECK(!strcmp(d->vendor, "Acme Again"));
        CHECK(!strcmp(d->core, "Cortex-M0+"));
        CHECK(!d->has_id);
        CHECK_EQ_U(d->work_ram_start, 0x20000000u);
        CHECK_EQ_U(d->work_ram_size, 8192);
        CHECK(has_alias(d, "ACME-1A") && has_alias(d, "ACME-1B") && has_alias(d, "ACME-1C"));
        CHECK(!strcmp(d->source, tpath("a.xml")));
        CHECK(d->extends && !strcmp(d->extends, "ACME-1"));
        CHECK_EQ_U(d->bank_count, 0);
    }

    /* Extending a built-in: same part, all its names, file wins over built-in. */
    CHECK_OK(oflash_devdb_find(&d, db, "MYBOARD"));
    if (d) {
        const oflash_device *b = oflash_builtin_device_find("STM32F401RE");
        const oflash_device *d2 = NULL;
        CHECK(!strcmp(d->name, "STM32F401xE"));
        CHECK(d->extends && !strcmp(d->extends, "STM32F401xE"));
        CHECK(d->has_id && d->dev_id == 0x433);
        CHECK_EQ_U(d->bank_count, 3);
        CHECK_EQ_U(d->work_ram_size, 0x10000);
        CHECK(b && d != b && b->work_ram_size == 96 * 1024);
        CHECK_OK(oflash_devdb_find(&d2, db, "STM32F401RE"));
        CHECK(d2 == d);
        CHECK(has_alias(d, "STM32F401CE") && has_alias(d, "MYBOARD"));
    }

    CHECK_OK(oflash_devdb_find(&d, db, "my-f411"));
    if (d) {
        CHECK(!strcmp(d->name, "MY-F411"));
        CHECK(!strcmp(d->vendor, "Me"));
        CHECK(d->extends && !strcmp(d->extends, "STM32F411xE"));
        CHECK_EQ_U(d->bank_count, 3);
        CHECK_EQ_U(d->work_ram_size, 128 * 1024);
        CHECK(!has_alias(d, "STM32F411RE")); /* a new part, not the F411 itself */
    }
    oflash_devdb_free(db);
}

/* Each bad file fails with a message naming file:line, and adds nothing. */
static void bad_xml(const char *text, int code, const char *what)
{
    oflash_devdb *db = open_db();
    size_t n0 = oflash_devdb_count(db);
    write_file("bad.xml", text);
    CHECK_ERR(oflash_devdb_add_file(db, tpath("bad.xml")), code, what);
    CHECK(strstr(oflash_error_last(), "bad.xml") != NULL);
    CHECK_EQ_U(oflash_devdb_count(db), n0);
    oflash_devdb_free(db);
}

static void test_jlink_bad(void)
{
    /* Billion laughs: refused at the DOCTYPE, before any entity exists. */
    bad_xml("<?xml version=\"1.0\"?>\n<!DOCTYPE d [\n <!ENTITY a \"aaaaaaaaaa\">\n"
            " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
            " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n]>\n"
            "<DataBase><Device><ChipInfo Name=\"&c;\"/></Device></DataBase>\n",
            OFLASH_EFORMAT, "bad.xml:2: DOCTYPE");
    /* External entity (XXE). */
    bad_xml("<?xml version=\"1.0\"?>\n<!DOCTYPE d SYSTEM \"file:///etc/passwd\">\n"
            "<DataBase/>\n",
            OFLASH_EFORMAT, "DOCTYPE");
    /* An undefined entity is an XML error, never a lookup. */
    bad_xml("<DataBase>\n<Device><ChipInfo Name=\"&x;\"/></Device></DataBase>\n", OFLASH_EFORMAT,
            "bad.xml:2: XML: Entity 'x' not defined");
    bad_xml("<DataBase>\n<Device>\n<ChipInfo Name=\"X\"\n</Device></DataBase>", OFLASH_EFORMAT,
            "bad.xml:4: XML:");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"X\" WorkRAMAddr=\"0x2000zz\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "bad.xml:3: device 'X': <ChipInfo WorkRAMAddr=\"0x2000zz\">");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"X\" WorkRAMSize=\"0x100000000\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "expected a 32-bit number");
    bad_xml("<DataBase>\n <Device>\n </Device>\n</DataBase>\n", OFLASH_EFORMAT,
            "bad.xml:2: <Device> has no <ChipInfo>");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"A\"/><ChipInfo Name=\"B\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "second <ChipInfo>");
    bad_xml("<DataBase>\n</DataBase>\n", OFLASH_EFORMAT, "holds no <Device>");
    bad_xml("<Devices/>\n", OFLASH_EFORMAT, "root element <Devices>: expected <DataBase>");
    bad_xml("", OFLASH_EFORMAT, "bad.xml");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"N\" WorkRAMAddr=\"0x20000000\" "
            "WorkRAMSize=\"0x1000\"/>\n"
            "  <FlashBankInfo Name=\"f\" BaseAddr=\"0\" Loader=\"x.FLM\" "
            "LoaderType=\"FLASH_ALGO_TYPE_CUSTOM\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EUNSUPPORTED,
            "bad.xml:4: device 'N': bank 'f': LoaderType=\"FLASH_ALGO_TYPE_CUSTOM\"");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"N\" WorkRAMAddr=\"0x20000000\" "
            "WorkRAMSize=\"0x1000\"/>\n"
            "  <FlashBankInfo Name=\"f\" BaseAddr=\"0\" Loader=\"missing.FLM\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_ENOTFOUND, "bad.xml:4: device 'N': loader file");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"N\" WorkRAMAddr=\"0x20000000\" "
            "WorkRAMSize=\"0x1000\"/>\n"
            "  <FlashBankInfo Name=\"f\" BaseAddr=\"0\">\n   <LoaderInfo Name=\"Default\"/>\n"
            "  </FlashBankInfo>\n </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "bad.xml:5: device 'N': bank 'f' has no Loader");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"N\"/>\n"
            "  <FlashBankInfo Name=\"f\" BaseAddr=\"0\" Loader=\"x.FLM\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "bad.xml:4: device 'N': bank 'f': the device declares no work RAM");
    bad_xml("<DataBase>\n <Device>\n  <ChipInfo Name=\"N\" WorkRAMAddr=\"0x20000000\" "
            "WorkRAMSize=\"0x1000\"/>\n"
            "  <FlashBankInfo Name=\"f\" BaseAddr=\"0\" Kind=\"eeprom\" Loader=\"x.FLM\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "Kind=\"eeprom\" (expected flash, otp or otp-lock)");
    bad_xml("<DataBase>\n <Device InheritFrom=\"NOPE\">\n  <ChipInfo Name=\"N\"/>\n"
            " </Device>\n</DataBase>\n",
            OFLASH_ENOTFOUND, "InheritFrom=\"NOPE\" names no known device");
    /* A good device before a bad one: the whole file is refused. */
    bad_xml("<DataBase>\n <Device><ChipInfo Name=\"GOOD\"/></Device>\n"
            " <Device><ChipInfo/></Device>\n</DataBase>\n",
            OFLASH_EFORMAT, "bad.xml:3: <ChipInfo> has no Name");
}

static void test_xml_huge(void)
{
    /* Over the element limit: refused without building a huge tree. */
    size_t n = 1100000, len = 0;
    char *big = malloc(n * 4 + 64);
    oflash_devdb *db = open_db();
    len += (size_t)sprintf(big, "<DataBase>");
    for (size_t i = 0; i < n; i++) {
        memcpy(big + len, "<a/>", 4);
        len += 4;
    }
    len += (size_t)sprintf(big + len, "</DataBase>");
    {
        FILE *f = fopen(tpath("huge.xml"), "wb");
        fwrite(big, 1, len, f);
        fclose(f);
    }
    CHECK_ERR(oflash_devdb_add_file(db, tpath("huge.xml")), OFLASH_EFORMAT, "XML elements");
    free(big);
    /* Over the size limit: refused before parsing. */
    {
        FILE *f = fopen(tpath("huge.xml"), "wb");
        fseek(f, 40L << 20, SEEK_SET);
        fputc(' ', f);
        fclose(f);
    }
    CHECK_ERR(oflash_devdb_add_file(db, tpath("huge.xml")), OFLASH_EFORMAT,
              "larger than the limit");
    unlink(tpath("huge.xml"));
    oflash_devdb_free(db);
}

static const char pdsc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<package schemaVersion=\"1.7\">\n"
    "  <vendor>Acme</vendor>\n"
    "  <name>Widgets_DFP</name>\n"
    "  <devices>\n"
    "    <family Dfamily=\"Widget Series\" Dvendor=\"Acme:99\">\n"
    "      <processor Dcore=\"Cortex-M4\" Dfpu=\"SP_FPU\"/>\n"
    "      <memory name=\"SRAM\" access=\"rwx\" start=\"0x20000000\" size=\"0x8000\" "
    "default=\"1\"/>\n"
    "      <memory name=\"Boot\" access=\"rx\" start=\"0x1FFF0000\" size=\"0x1000\"/>\n"
    "      <subFamily DsubFamily=\"W1\">\n"
    "        <processor Dcore=\"Cortex-M0+\"/>\n"
    "        <device Dname=\"W100\">\n"
    "          <memory id=\"IRAM1\" start=\"0x10000000\" size=\"0x1000\"/>\n"
    "          <variant Dvariant=\"W100-BIG\">\n"
    "            <memory name=\"SRAM\" access=\"rwx\" start=\"0x20000000\" size=\"0x10000\" "
    "default=\"1\"/>\n"
    "          </variant>\n"
    "          <variant Dvariant=\"W100-SMALL\"/>\n"
    "        </device>\n"
    "      </subFamily>\n"
    "      <device Dname=\"W200\"/>\n"
    "      <device Dname=\"STM32F401RE\"/>\n"
    "    </family>\n"
    "  </devices>\n"
    "</package>\n";

static const oflash_region *region(const oflash_device *d, const char *name)
{
    for (size_t i = 0; i < d->region_count; i++)
        if (!strcmp(d->regions[i].name, name)) return &d->regions[i];
    return NULL;
}

static void check_pack_devices(oflash_devdb *db, const char *source)
{
    const oflash_device *d = NULL;
    const oflash_region *r;
    CHECK_OK(oflash_devdb_find(&d, db, "W100"));
    if (d) {
        CHECK(!strcmp(d->core, "Cortex-M0+")); /* subFamily overrides family */
        CHECK(!strcmp(d->vendor, "Acme"));     /* ":99" stripped */
        CHECK(!strcmp(d->family, "Widget Series"));
        CHECK(!strcmp(d->source, source));
        CHECK(!d->has_id);
        CHECK_EQ_U(d->work_ram_start, 0x20000000u); /* default memory wins */
        CHECK_EQ_U(d->work_ram_size, 0x8000);
        CHECK((r = region(d, "IRAM1")) && r->kind == OFLASH_REGION_RAM && r->size == 0x1000);
        CHECK((r = region(d, "Boot")) && r->kind == OFLASH_REGION_SYSMEM);
    }
    CHECK_OK(oflash_devdb_find(&d, db, "w100-big"));
    if (d) {
        CHECK(!strcmp(d->core, "Cortex-M0+"));
        CHECK((r = region(d, "SRAM")) && r->size == 0x10000); /* variant overrides */
        CHECK(region(d, "IRAM1") != NULL);                    /* device's, inherited */
        CHECK_EQ_U(d->work_ram_size, 0x10000);
    }
    CHECK_OK(oflash_devdb_find(&d, db, "W100-SMALL"));
    if (d) CHECK((r = region(d, "SRAM")) && r->size == 0x8000);
    CHECK_OK(oflash_devdb_find(&d, db, "W200"));
    if (d) {
        CHECK(!strcmp(d->core, "Cortex-M4")); /* not under the subFamily */
        CHECK(region(d, "IRAM1") == NULL);
    }
    /* A pack does not take a built-in part's name: its description of the
     * part is "PACK::PART" only (for --device Acme.Widgets_DFP::STM32F401RE). */
    CHECK_OK(oflash_devdb_find(&d, db, "STM32F401RE"));
    CHECK(d && !strcmp(d->source, "built-in") && d->has_id);
    CHECK_OK(oflash_devdb_find(&d, db, "Acme.Widgets_DFP::STM32F401RE"));
    CHECK(d && !strcmp(d->source, source) && !strcmp(d->name, "Acme.Widgets_DFP::STM32F401RE"));
    /* Every pack device is also PACK::NAME. */
    CHECK_OK(oflash_devdb_find(&d, db, "acme.widgets_dfp::w200"));
    CHECK(d && !strcmp(d->name, "W200"));
}

static void test_pdsc(void)
{
    oflash_devdb *db = open_db();
    write_file("Acme.Widgets_DFP.pdsc", pdsc);
    CHECK_OK(oflash_devdb_add_file(db, tpath("Acme.Widgets_DFP.pdsc")));
    check_pack_devices(db, tpath("Acme.Widgets_DFP.pdsc"));
    oflash_devdb_free(db);
}

/* A zip built with libzip: entries name -> text. */
static void make_zip(const char *name, const char *const *entries, size_t n)
{
    int err;
    zip_t *z;
    unlink(tpath(name));
    z = zip_open(tpath(name), ZIP_CREATE | ZIP_TRUNCATE, &err);
    for (size_t i = 0; z && i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, entries[2 * i + 1], strlen(entries[2 * i + 1]), 0);
        zip_file_add(z, entries[2 * i], s, ZIP_FL_OVERWRITE);
    }
    if (!z || zip_close(z) < 0) {
        fprintf(stderr, "cannot write %s\n", name);
        exit(2);
    }
}

static int warned;
static char warn_msg[4][1024];
static void on_log(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == OFLASH_LOG_WARN) {
        snprintf(warn_msg[warned % 4], sizeof warn_msg[0], "%s", msg);
        warned++;
    }
}
static bool warned_with(const char *what)
{
    for (int i = 0; i < warned && i < 4; i++)
        if (strstr(warn_msg[i], what)) return true;
    return false;
}

/* A pack with one inconsistency: imported, with a warning holding what,
 * and the report's counts. */
static void lenient_pack(const char *const *entries, size_t n, const char *what, size_t devices,
                         size_t devices_skipped, size_t banks_skipped, size_t banks_clipped)
{
    oflash_devdb *db = open_db();
    oflash_devfile_report rep = OFLASH_DEVFILE_REPORT_INIT;
    make_zip("lenient.pack", entries, n);
    warned = 0;
    oflash_log_set_handler(on_log, NULL);
    CHECK_OK(oflash_devdb_add_file_report(&rep, db, tpath("lenient.pack")));
    oflash_log_set_handler(NULL, NULL);
    CHECK(warned_with(what));
    if (!warned_with(what)) fprintf(stderr, "  (expected a warning with: %s; got: %s)\n", what, warned ? warn_msg[0] : "none");
    CHECK_EQ_U(rep.devices, devices);
    CHECK_EQ_U(rep.devices_skipped, devices_skipped);
    CHECK_EQ_U(rep.banks_skipped, banks_skipped);
    CHECK_EQ_U(rep.banks_clipped, banks_clipped);
    CHECK(rep.warnings >= 1);
    oflash_devdb_free(db);
}

static void bad_pack(const char *const *entries, size_t n, int code, const char *what)
{
    oflash_devdb *db = open_db();
    size_t n0 = oflash_devdb_count(db);
    make_zip("bad.pack", entries, n);
    CHECK_ERR(oflash_devdb_add_file(db, tpath("bad.pack")), code, what);
    CHECK_EQ_U(oflash_devdb_count(db), n0);
    oflash_devdb_free(db);
}

static const char algo_pdsc_fmt[] =
    "<package>\n<devices>\n<family Dfamily=\"F\" Dvendor=\"V\">\n"
    "<memory name=\"RAM\" access=\"rw\" start=\"0x20000000\" size=\"0x1000\"/>\n"
    "<algorithm name=\"%s\" start=\"0x08000000\" size=\"0x1000\" default=\"1\"/>\n"
    "<device Dname=\"D1\"/>\n</family>\n</devices>\n</package>\n";

static void test_pack(void)
{
    oflash_devdb *db = open_db();
    char text[1024];
    const char *good[] = {"Acme.Widgets_DFP.pdsc", pdsc, "Doc/readme.txt", "hello"};
    make_zip("Acme.Widgets_DFP.1.0.0.pack", good, 2);
    CHECK_OK(oflash_devdb_add_file(db, tpath("Acme.Widgets_DFP.1.0.0.pack")));
    check_pack_devices(db, tpath("Acme.Widgets_DFP.1.0.0.pack"));
    oflash_devdb_free(db);

    {
        const char *none[] = {"readme.txt", "x"};
        bad_pack(none, 1, OFLASH_EFORMAT, "holds 0 .pdsc files");
    }
    {
        const char *two[] = {"a.pdsc", pdsc, "b.pdsc", pdsc};
        bad_pack(two, 2, OFLASH_EFORMAT, "holds 2 .pdsc files (2 at its root)");
    }
    {
        const char *notxml[] = {"a.pdsc", "<package><devices>"};
        bad_pack(notxml, 1, OFLASH_EFORMAT, "bad.pack:a.pdsc:1: XML:");
    }
    /* Packs are read as shipped: what does not check out is left out with
     * a warning naming the line and why; the rest of the pack is kept. */
    snprintf(text, sizeof text, algo_pdsc_fmt, "../../etc/passwd");
    {
        const char *esc[] = {"a.pdsc", text};
        lenient_pack(esc, 1, "a.pdsc:5: device 'D1': bank at 0x08000000 (algorithm "
                             "../../etc/passwd) left out: algorithm path",
                     1, 0, 1, 0);
    }
    snprintf(text, sizeof text, algo_pdsc_fmt, "C:\\Keil\\x.FLM");
    {
        const char *abs[] = {"a.pdsc", text};
        lenient_pack(abs, 1, "leaves the pack", 1, 0, 1, 0);
    }
    snprintf(text, sizeof text, algo_pdsc_fmt, "Flash\\Missing.FLM");
    {
        const char *missing[] = {"a.pdsc", text};
        lenient_pack(missing, 1,
                     "a.pdsc:5: device 'D1': bank at 0x08000000 (algorithm Flash\\Missing.FLM) "
                     "left out: algorithm Flash/Missing.FLM is not in the pack",
                     1, 0, 1, 0);
    }
    {
        const char *nodev[] = {"a.pdsc",
                               "<package><devices><family Dfamily=\"F\"/></devices></package>"};
        bad_pack(nodev, 1, OFLASH_EFORMAT, "describes no usable <device>");
    }
    {
        /* One device cannot be described: it is left out, the other kept. */
        const char *noram[] = {"a.pdsc", "<package><devices><family Dfamily=\"F\">\n"
                                         "<algorithm name=\"x.FLM\" start=\"0\" size=\"0x100\"/>\n"
                                         "<device Dname=\"D\"/></family>\n"
                                         "<family Dfamily=\"G\"><device Dname=\"E\"/></family>"
                                         "</devices></package>"};
        lenient_pack(noram, 1, "a.pdsc:3: device 'D': left out: flash algorithms but no RAM", 1,
                     1, 0, 0);
    }
    {
        const char *onlynoram[] = {"a.pdsc",
                                   "<package><devices><family Dfamily=\"F\">\n"
                                   "<algorithm name=\"x.FLM\" start=\"0\" size=\"0x100\"/>\n"
                                   "<device Dname=\"D\"/></family></devices></package>"};
        bad_pack(onlynoram, 1, OFLASH_EFORMAT, "every device was left out, see the warnings");
    }
    {
        const char *badnum[] = {"a.pdsc",
                                "<package><devices><family Dfamily=\"F\">\n"
                                "<memory name=\"R\" access=\"rw\" start=\"zero\" size=\"1\"/>\n"
                                "<device Dname=\"D\"/></family></devices></package>"};
        lenient_pack(badnum, 1,
                     "a.pdsc:2: <memory start=\"zero\">: expected a 32-bit number (decimal or 0x "
                     "hex): <memory> left out",
                     1, 0, 0, 0);
    }
    /* Not a zip at all, though it starts like one. */
    write_file("trunc.pack", "PK\3\4garbage");
    db = open_db();
    CHECK_ERR(oflash_devdb_add_file(db, tpath("trunc.pack")), OFLASH_EFORMAT,
              "not a readable CMSIS-Pack (zip)");
    oflash_devdb_free(db);
}

static size_t count_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    if (!d) return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_search_paths(void)
{
    oflash_devdb *db = NULL;
    oflash_devdb_opts o = OFLASH_DEVDB_OPTS_INIT;
    const oflash_device *d = NULL;
    char store[512], env[1100], dest[600];
    const oflash_devdb_path *p;

    mkdir(tpath("cfg"), 0755);
    mkdir(tpath("envdir"), 0755);
    setenv("XDG_CONFIG_HOME", tpath("cfg"), 1);
    CHECK_OK(oflash_devstore_dir(store, sizeof store));
    CHECK(!strcmp(store, tpath("cfg/oflash/devices")));

    /* Store missing: listed as missing, nothing loaded. */
    unsetenv("OFLASH_DEVICES");
    CHECK_OK(oflash_devdb_open(&db, &o));
    CHECK_EQ_U(oflash_devdb_path_count(db), 2);
    p = oflash_devdb_path_get(db, 0);
    CHECK(p && !strcmp(p->origin, "config") && !p->exists && !strcmp(p->path, store));
    p = oflash_devdb_path_get(db, 1);
    CHECK(p && !strcmp(p->origin, "built-in") && p->path == NULL &&
          p->devices == oflash_builtin_device_count());
    oflash_devdb_free(db);

    /* Import a pack: it lands in the store, atomically, and is found later. */
    CHECK_OK(oflash_devstore_import(dest, sizeof dest, tpath("Acme.Widgets_DFP.1.0.0.pack")));
    CHECK(!strcmp(dest, tpath("cfg/oflash/devices/Acme.Widgets_DFP.1.0.0.pack")));
    CHECK_EQ_U(count_dir(store), 1);
    /* A broken pack is refused before the store is touched. */
    CHECK_ERR(oflash_devstore_import(NULL, 0, tpath("trunc.pack")), OFLASH_EFORMAT,
              "not a readable CMSIS-Pack");
    CHECK_EQ_U(count_dir(store), 1);
    /* Device files that point at loaders outside themselves are not imported. */
    CHECK_ERR(oflash_devstore_import(NULL, 0, tpath("a.xml")), OFLASH_EINVAL, "only .pack");

    /* $OFLASH_DEVICES: a directory and a file; the file (first) wins. */
    write_file("envdir/one.xml", "<DataBase><Device><ChipInfo Name=\"SAME\" Vendor=\"dir\"/>"
                                 "</Device></DataBase>");
    write_file("envdir/notes.txt", "not a device file");
    write_file("envdir/zz-broken.xml", "<DataBase>");
    write_file("two.xml", "<DataBase><Device><ChipInfo Name=\"SAME\" Vendor=\"file\"/>"
                          "</Device><Device><ChipInfo Name=\"W200\" Vendor=\"over\"/></Device>"
                          "</DataBase>");
    snprintf(env, sizeof env, "%s:%s", tpath("two.xml"), tpath("envdir"));
    setenv("OFLASH_DEVICES", env, 1);
    CHECK_OK(oflash_devdb_open(&db, &o));
    if (db) {
        CHECK_OK(oflash_devdb_find(&d, db, "SAME"));
        CHECK(d && !strcmp(d->vendor, "file"));
        /* The env file extends the store's W200. */
        CHECK_OK(oflash_devdb_find(&d, db, "W200"));
        CHECK(d && !strcmp(d->vendor, "over") && d->extends && !strcmp(d->extends, "W200"));
        CHECK_OK(oflash_devdb_find(&d, db, "W100-BIG")); /* from the store */
        CHECK(d && strstr(d->source, "cfg/oflash/devices/Acme.Widgets_DFP.1.0.0.pack"));
        CHECK_EQ_U(oflash_devdb_path_count(db), 4);
        p = oflash_devdb_path_get(db, 0);
        CHECK(p && !strcmp(p->origin, "$OFLASH_DEVICES") && !strcmp(p->path, tpath("two.xml")) &&
              p->devices == 2);
        p = oflash_devdb_path_get(db, 1);
        CHECK(p && !strcmp(p->path, tpath("envdir")) && p->devices == 1);
        p = oflash_devdb_path_get(db, 2);
        CHECK(p && !strcmp(p->origin, "config") && p->exists && p->devices == 5);
        /* --devices files come first. */
        CHECK_OK(oflash_devdb_add_file(db, tpath("a.xml")));
        p = oflash_devdb_path_get(db, 0);
        CHECK(p && !strcmp(p->origin, "file"));
        oflash_devdb_free(db);
    }
    /* A missing $OFLASH_DEVICES entry is an error naming it. */
    setenv("OFLASH_DEVICES", tpath("nope.xml"), 1);
    CHECK_ERR(oflash_devdb_open(&db, &o), OFLASH_ENOTFOUND, "$OFLASH_DEVICES: ");
    /* no_user_paths ignores all of it. */
    {
        oflash_devdb_opts o2 = OFLASH_DEVDB_OPTS_INIT;
        o2.no_user_paths = true;
        CHECK_OK(oflash_devdb_open(&db, &o2));
        CHECK_EQ_U(oflash_devdb_count(db), oflash_builtin_device_count());
        oflash_devdb_free(db);
    }
    unsetenv("OFLASH_DEVICES");
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/devfile-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    test_jlink_new_and_extend();
    test_jlink_bad();
    test_xml_huge();
    test_pdsc();
    test_pack();
    test_search_paths();
    if (!t_fail) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    }
    return test_summary();
}
