/* test_job.c - job files (INI, inih): every key read, paths relative to the
 * job file, and every error naming file and line. */
#include "harness.h"
#include "oflash/prod.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512];

static const char *put(const char *name, const char *text)
{
    static char path[4][600];
    static int k;
    char *p = path[k++ & 3];
    snprintf(p, 600, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

static int load(oflash_job *job, const char *text)
{
    oflash_job_file *st = NULL;
    const char *path = put("job.ini", text);
    int rc = oflash_job_load(job, &st, path);
    if (rc == 0)
        CHECK(st != NULL);
    else
        CHECK(st == NULL);
    oflash_job_file_free(st);
    return rc;
}

static void test_full(void)
{
    oflash_job job = OFLASH_JOB_INIT;
    oflash_job_file *st = NULL;
    char want[700];
    put("fw.hex", ":00000001FF\n");
    put("boot.bin", "x");
    put("lot7.txt", "000120\n000121\n");
    mkdir(strcat(strcpy(want, dir), "/chips"), 0755);
    const char *path = put("job.ini",
                           "; a production job\n"
                           "[job]\n"
                           "image = fw.hex\n"
                           "image = boot.bin@0x08000000\n"
                           "device = STM32F401RE\n"
                           "probe = sim-feed:chips\n"
                           "probe = gdb:127.0.0.1:3333\n"
                           "db = sqlite:ledger.db\n"
                           "station = line-1\n"
                           "units = 200\n"
                           "lock = yes\n"
                           "rdp = 2\n"
                           "rdp2_permanent = yes\n"
                           "run = on\n"
                           "\n"
                           "[serial]\n"
                           "at = 0x1FFF7800\n"
                           "format = ascii-dec\n"
                           "len = 6\n"
                           "start = 100\n"
                           "step = 2\n"
                           "prefix = ACME-SN-\n"
                           "crc32 = true\n"
                           "list = lot7.txt\n");
    CHECK_OK(oflash_job_load(&job, &st, path));
    CHECK_EQ_U(job.nimages, 2);
    snprintf(want, sizeof want, "%s/fw.hex", dir);
    CHECK(job.images[0] && strcmp(job.images[0], want) == 0);
    snprintf(want, sizeof want, "%s/boot.bin@0x08000000", dir);
    CHECK(job.images[1] && strcmp(job.images[1], want) == 0);
    CHECK(job.device && strcmp(job.device, "STM32F401RE") == 0);
    CHECK_EQ_U(job.nprobes, 2);
    snprintf(want, sizeof want, "sim-feed:%s/chips", dir);
    CHECK(job.probes[0] && strcmp(job.probes[0], want) == 0);
    CHECK(job.probes[1] && strcmp(job.probes[1], "gdb:127.0.0.1:3333") == 0);
    snprintf(want, sizeof want, "sqlite:%s/ledger.db", dir);
    CHECK(job.db_url && strcmp(job.db_url, want) == 0);
    CHECK(job.station && strcmp(job.station, "line-1") == 0);
    CHECK_EQ_U(job.units, 200);
    CHECK(job.lock && job.run && job.allow_rdp2);
    CHECK_EQ_U(job.rdp, 2);
    CHECK_EQ_U(job.serial.at, 0x1FFF7800);
    CHECK(job.serial.format == OFLASH_SERIAL_ASCII_DEC);
    CHECK_EQ_U(job.serial.len, 6);
    CHECK_EQ_U(job.serial.start, 100);
    CHECK_EQ_U(job.serial.step, 2);
    CHECK(job.serial.prefix && strcmp(job.serial.prefix, "ACME-SN-") == 0);
    CHECK(job.serial.crc32);
    snprintf(want, sizeof want, "%s/lot7.txt", dir);
    CHECK(job.serial.list_path && strcmp(job.serial.list_path, want) == 0);
    oflash_job_file_free(st);

    /* Defaults stay where the file says nothing; keys before a section are [job]. */
    oflash_job j2 = OFLASH_JOB_INIT;
    CHECK_OK(load(&j2, "image = fw.hex\n"));
    CHECK_EQ_U(j2.nimages, 1);
    CHECK(j2.db_url == NULL && j2.device == NULL && j2.rdp == 0 && !j2.lock);
    CHECK(j2.serial.format == OFLASH_SERIAL_ASCII_DEC && j2.serial.len == 8 && j2.serial.start == 1);
}

/* The web page's keys: read, paths against the job file's folder, where
 * each was given; a file without them gives nothing.  (Certificates made
 * by openssl and the messages of bad values: tests/web/cert_watch.sh.) */
static void test_web(void)
{
    oflash_job job = OFLASH_JOB_INIT;
    oflash_job_file *st = NULL;
    oflash_job_web w;
    char want[700], at[700];
    put("fw.hex", ":00000001FF\n");
    put("crt.pem", "x");
    put("crt.key", "x");
    const char *path = put("job.ini", "[job]\n"
                                      "image = fw.hex\n"
                                      "http = 127.0.0.1:8443\n"
                                      "http_token = station-7f3a9c21\n"
                                      "http_insecure = no\n"
                                      "http_cert = crt.pem\n");
    CHECK_OK(oflash_job_load(&job, &st, path));
    oflash_job_file_web(&w, st);
    CHECK(w.http && strcmp(w.http, "127.0.0.1:8443") == 0);
    CHECK(w.http_token && strcmp(w.http_token, "station-7f3a9c21") == 0);
    snprintf(want, sizeof want, "%s/crt.pem", dir);
    CHECK(w.http_cert && strcmp(w.http_cert, want) == 0);
    CHECK(w.http_key == NULL && w.http_key_at == NULL && !w.http_insecure);
    snprintf(at, sizeof at, "%s:3", path);
    CHECK(w.http_at && strcmp(w.http_at, at) == 0);
    snprintf(at, sizeof at, "%s:6", path);
    CHECK(w.http_cert_at && strcmp(w.http_cert_at, at) == 0);
    snprintf(at, sizeof at, "%s:5", path);
    CHECK(w.http_insecure_at && strcmp(w.http_insecure_at, at) == 0);
    oflash_job_file_free(st);
    /* Not a PEM certificate: named with its line when the key is there too. */
    path = put("job.ini", "[job]\nimage = fw.hex\nhttp_cert = crt.pem\nhttp_key = crt.key\n");
    snprintf(at, sizeof at, "%s:3: --http-cert", path);
    CHECK_ERR(oflash_job_load(&job, &st, path), OFLASH_EFORMAT, at);
    /* Without web keys: all empty; NULL storage too. */
    path = put("job.ini", "[job]\nimage = fw.hex\n");
    CHECK_OK(oflash_job_load(&job, &st, path));
    oflash_job_file_web(&w, st);
    CHECK(!w.http && !w.http_token && !w.http_cert && !w.http_key && !w.http_insecure &&
          !w.http_at);
    oflash_job_file_free(st);
    oflash_job_file_web(&w, NULL);
    CHECK(!w.http && !w.http_cert_at);
}

static void test_errors(void)
{
    oflash_job job = OFLASH_JOB_INIT;
    char msg[1200];
    put("fw.hex", ":00000001FF\n");

#define EXPECT(text, code, where, what)                                                           \
    do {                                                                                           \
        snprintf(msg, sizeof msg, "%s/job.ini:%s", dir, where);                                    \
        CHECK_ERR(load(&job, text), code, msg);                                                    \
        CHECK_ERR(load(&job, text), code, what);                                                   \
    } while (0)

    EXPECT(
        "[job]\nimage = fw.hex\ncolour = red\n", OFLASH_EINVAL, "3: unknown key 'colour' in [job]",
        "(known: image, device, probe, db, station, units, lock, rdp, rdp2_permanent, run, http, "
        "http_token, http_cert, http_key, http_insecure)");
    EXPECT("[job]\nimage = fw.hex\n[serial]\nat = 0x1FFF7800\nbase = 2\n", OFLASH_EINVAL,
           "5: unknown key 'base' in [serial]", "known: at, format, len");
    EXPECT("[serial]\nimage = fw.hex\n", OFLASH_EINVAL, "2: 'image' belongs in [job], not [serial]",
           "belongs");
    EXPECT("[job]\n\n\nimage = missing.hex\n", OFLASH_ENOTFOUND, "4: image file 'missing.hex' not found",
           "relative to the job file's folder");
    EXPECT("[job]\nimage = fw.hex\nrdp = 3\n", OFLASH_EINVAL, "3: rdp '3': expected 0", "permanent");
    EXPECT("[job]\nimage = fw.hex\nrdp = 2\n", OFLASH_EINVAL, "3: rdp = 2 is permanent",
           "rdp2_permanent = yes");
    EXPECT("[job]\nlock = maybe\n", OFLASH_EINVAL, "2: lock 'maybe': expected yes or no", "lock");
    EXPECT("[job]\nunits = -4\n", OFLASH_EINVAL, "2: units '-4'", "number of units");
    EXPECT("[job]\ndevice = A\ndevice = B\n", OFLASH_EINVAL, "3: 'device' is given twice (first on line 2)",
           "twice");
    EXPECT("[job]\ndb = mysql://x\n", OFLASH_EINVAL, "2: db 'mysql://x'", "sqlite:PATH or postgresql://");
    EXPECT("[jobs]\nimage = fw.hex\n", OFLASH_EINVAL, "2: unknown section [jobs]", "[job] and [serial]");
    EXPECT("[job]\nimage = fw.hex\nthis line is wrong\n", OFLASH_EFORMAT, "3: not a 'key = value' line",
           "[section]");
    EXPECT("[job]\ndevice =\n", OFLASH_EINVAL, "2: 'device' has no value", "no value");
    EXPECT("[serial]\nat = 0x1FFF7800\nformat = hex\n", OFLASH_EINVAL, "3: format 'hex'", "ascii-hex");
    EXPECT("[serial]\nat = 0x100000000\n", OFLASH_EINVAL, "2: at '0x100000000'", "address");
    EXPECT("[serial]\nat = 0x1FFF7800\nlen = 0\n", OFLASH_EINVAL, "3: len '0'", "1 to 96");
    EXPECT("[serial]\nat = 0x1FFF7800\nstep = 0\n", OFLASH_EINVAL, "3: step '0'", "positive");
    EXPECT("[serial]\nat = 0x1FFF7800\nlist = nolist.txt\n", OFLASH_ENOTFOUND,
           "3: serial list 'nolist.txt' not found", "relative");
    EXPECT("[job]\nimage = fw.hex\n\n[serial]\nformat = bcd\n", OFLASH_EINVAL,
           "5: [serial] has no 'at'", "address of the serial field");
    {
        char line[400];
        memset(line, 'x', sizeof line);
        memcpy(line, "station = ", 10);
        line[sizeof line - 2] = '\n';
        line[sizeof line - 1] = '\0';
        char text[600];
        snprintf(text, sizeof text, "[job]\n%s", line);
        EXPECT(text, OFLASH_EFORMAT, "2: line too long", "too long");
    }
    /* The serial scheme is checked as the pool uses it: the list file's line. */
    const char *list = put("bad.txt", "000001\n00000x\n");
    (void)list;
    snprintf(msg, sizeof msg, "%s/job.ini: [serial]: %s/bad.txt:2: '00000x' is no serial number", dir, dir);
    CHECK_ERR(load(&job, "[serial]\nat = 0x1FFF7800\nlen = 6\nlist = bad.txt\n"), OFLASH_EFORMAT, msg);
    CHECK_ERR(load(&job, "[serial]\nat = 0x1FFF7800\nlen = 2\nstart = 100\n"), OFLASH_ERANGE,
              "[serial]: serial-start 100 does not fit the field (ascii-dec, 2 digits: largest 99)");
    /* A failed load leaves the job as it was. */
    CHECK(job.nimages == 0 && job.device == NULL && job.serial.at == 0);
    /* Not a file. */
    oflash_job_file *st = NULL;
    CHECK_ERR(oflash_job_load(&job, &st, dir), OFLASH_EINVAL, "is a directory");
    snprintf(msg, sizeof msg, "%s/none.ini", dir);
    CHECK(oflash_job_load(&job, &st, msg) < 0);
    CHECK(strstr(oflash_error_last(), "none.ini") != NULL);
}

int main(void)
{
    char cwd[256];
    if (!getcwd(cwd, sizeof cwd))
        return 2;
    snprintf(dir, sizeof dir, "%s", "jobXXXXXX");
    if (!mkdtemp(dir))
        return 2;
    /* Absolute folder, so the expected resolved paths are exact. */
    char abs[800];
    snprintf(abs, sizeof abs, "%s/%s", cwd, dir);
    if (strlen(abs) >= sizeof dir) {
        /* keep the relative name: paths are then relative to the cwd */
    } else {
        snprintf(dir, sizeof dir, "%s", abs);
    }
    test_full();
    test_web();
    test_errors();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_summary();
}
