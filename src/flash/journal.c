/*
 * journal.c - the recovery journal on the host (include/oflash/journal.h):
 * the kept bytes of a sector before its erase, the OTP intent before the
 * first OTP or lock-byte write; restore before planning.
 *
 * File format (little-endian, one file per chip, DIR/<uid hex>.journal):
 *
 *   header   "OFLJRNL1", u32 version (1), u32 uid_len, u8 uid[16],
 *            u32 record_count, u32 CRC-32 of the 36 bytes before it
 *   record   u32 type, u32 addr, u32 len, u32 arg, u8 payload[len],
 *            u32 CRC-32 of the record's header and payload
 *              type 1 DEVICE  payload: the device name
 *              type 2 SECTOR  addr/len: the sector; arg: kept bytes;
 *                             payload: the sector's complete new contents
 *              type 3 OTP     arg: n; payload: n x {u32 addr, u32 value}
 *   trailer  "OFLJEND1", u32 file length, u32 CRC-32 of everything before
 *            this field
 *
 * Writes go to DIR/<uid>.journal.tmp, which is written, fsynced, closed and
 * renamed over the journal, then DIR is fsynced; the journal is removed with
 * unlink + fsync of DIR.  So the live file is always complete, a torn
 * write leaves only the .tmp file (which never counts: its run had not
 * acted on it yet), and a live file that does not check out has been
 * damaged or tampered with: it is refused, never applied.
 *
 * Invariants of struct oflash_journal: with has_uid, path names the chip's
 * journal and sectors[]/otp[] mirror what the file holds (on_disk) or will
 * hold after the next commit; sectors[] are flash sectors of device, in
 * address order, each with size bytes of data.
 */
#include "oflash/journal.h"
#include "common/error_internal.h"
#include "oflash/error.h"
#include "oflash/sys/family.h"
#include "journal_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define J_MAGIC "OFLJRNL1"
#define J_END "OFLJEND1"
#define J_VERSION 1u
#define J_HEADER 40u
#define J_TRAILER 16u
#define J_REC_HEAD 16u
#define J_MAX_FILE (256u * 1024u * 1024u) /* larger than any device's flash */

enum { REC_DEVICE = 1, REC_SECTOR = 2, REC_OTP = 3 };

typedef struct jsector {
    uint32_t addr, size, kept, crc;
    uint8_t *data;
} jsector;

struct oflash_journal {
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    char tmp[PATH_MAX + 80];
    bool has_uid;
    uint8_t uid[OFLASH_JOURNAL_UID_MAX];
    uint32_t uid_len;
    char uid_hex[2 * OFLASH_JOURNAL_UID_MAX + 1];
    const oflash_device *device;
    bool on_disk;

    jsector *sectors;
    size_t nsectors;
    oflash_otp_intent *otp;
    size_t notp, otp_cap;
};

/* ---- little helpers ---- */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void free_sectors(oflash_journal *j)
{
    for (size_t i = 0; i < j->nsectors; i++)
        free(j->sectors[i].data);
    free(j->sectors);
    j->sectors = NULL;
    j->nsectors = 0;
}

/* Set or add the intent for addr. */
static int otp_put(oflash_journal *j, uint32_t addr, uint8_t value)
{
    for (size_t i = 0; i < j->notp; i++)
        if (j->otp[i].addr == addr) {
            j->otp[i].value = value;
            return 0;
        }
    if (j->notp == j->otp_cap) {
        size_t cap = j->otp_cap ? j->otp_cap * 2 : 64;
        oflash_otp_intent *n = realloc(j->otp, cap * sizeof *n);
        if (!n) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        j->otp = n;
        j->otp_cap = cap;
    }
    j->otp[j->notp++] = (oflash_otp_intent){addr, value};
    return 0;
}

/* Remove the intent for addr; true if there was one. */
static bool otp_drop(oflash_journal *j, uint32_t addr)
{
    for (size_t i = 0; i < j->notp; i++)
        if (j->otp[i].addr == addr) {
            j->otp[i] = j->otp[--j->notp];
            return true;
        }
    return false;
}

/* ---- the directory ---- */

int oflash_journal_default_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int k;
    /* XDG base directory spec: a relative XDG_STATE_HOME is invalid and
     * ignored. */
    if (xdg && xdg[0] == '/')
        k = snprintf(buf, len, "%s/oflash", xdg);
    else if (home && home[0])
        k = snprintf(buf, len, "%s/.local/state/oflash", home);
    else
        return oflash_error_set(OFLASH_EINVAL,
                                "no place for the recovery journal: neither XDG_STATE_HOME nor "
                                "HOME is set (name a directory with --journal-dir)");
    if (k < 0 || (size_t)k >= len)
        return oflash_error_set(OFLASH_ERANGE, "recovery journal directory path too long");
    return 0;
}

/* mkdir -p with mode 0700 for what is created. */
static int make_dir(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n >= sizeof p)
        return oflash_error_set(OFLASH_ERANGE, "recovery journal directory path too long");
    memcpy(p, dir, n + 1);
    if (mkdir(p, 0700) == 0 || errno == EEXIST) return 0; /* the usual case: one call */
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return oflash_error_set(OFLASH_EIO,
                                    "cannot create the recovery journal directory %s: %s", p,
                                    strerror(errno));
        p[i] = c;
    }
    return 0;
}

/* fsync the directory so that a rename or unlink in it is durable. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return oflash_error_set(OFLASH_EIO, "opening the recovery journal directory %s: %s", dir,
                                strerror(errno));
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return oflash_error_set(OFLASH_EIO, "fsync of the recovery journal directory %s: %s", dir,
                                strerror(e));
    }
    if (close(fd) < 0)
        return oflash_error_set(OFLASH_EIO, "closing the recovery journal directory %s: %s", dir,
                                strerror(errno));
    return 0;
}

/* ---- encoding ---- */

static uint8_t *put_record(uint8_t *p, uint32_t type, uint32_t addr, uint32_t arg,
                           const void *payload, uint32_t len)
{
    uint8_t *start = p;
    put32(p, type);
    put32(p + 4, addr);
    put32(p + 8, len);
    put32(p + 12, arg);
    if (len) memcpy(p + J_REC_HEAD, payload, len);
    p += J_REC_HEAD + len;
    put32(p, oflash_crc32(0, start, J_REC_HEAD + len));
    return p + 4;
}

static int encode(const oflash_journal *j, uint8_t **out, size_t *outlen)
{
    const char *dev = j->device->name;
    size_t n = J_HEADER + J_REC_HEAD + strlen(dev) + 4 + J_TRAILER, nrec = 1;
    uint8_t *buf, *p;
    for (size_t i = 0; i < j->nsectors; i++, nrec++)
        n += J_REC_HEAD + j->sectors[i].size + 4;
    if (j->notp) {
        n += J_REC_HEAD + j->notp * 8 + 4;
        nrec++;
    }
    if (!(buf = calloc(1, n))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    memcpy(buf, J_MAGIC, 8);
    put32(buf + 8, J_VERSION);
    put32(buf + 12, j->uid_len);
    memcpy(buf + 16, j->uid, j->uid_len);
    put32(buf + 32, (uint32_t)nrec);
    put32(buf + 36, oflash_crc32(0, buf, 36));
    p = put_record(buf + J_HEADER, REC_DEVICE, 0, 0, dev, (uint32_t)strlen(dev));
    for (size_t i = 0; i < j->nsectors; i++) {
        const jsector *s = &j->sectors[i];
        p = put_record(p, REC_SECTOR, s->addr, s->kept, s->data, s->size);
    }
    if (j->notp) {
        uint8_t *pairs = malloc(j->notp * 8);
        if (!pairs) {
            free(buf);
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < j->notp; i++) {
            put32(pairs + 8 * i, j->otp[i].addr);
            put32(pairs + 8 * i + 4, j->otp[i].value);
        }
        p = put_record(p, REC_OTP, 0, (uint32_t)j->notp, pairs, (uint32_t)(j->notp * 8));
        free(pairs);
    }
    memcpy(p, J_END, 8);
    put32(p + 8, (uint32_t)n);
    put32(p + 12, oflash_crc32(0, buf, n - 4));
    *out = buf;
    *outlen = n;
    return 0;
}

/* ---- writing ---- */

static int write_all(int fd, const uint8_t *p, size_t n, const char *path)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0)
            return oflash_error_set(OFLASH_EIO, "writing the recovery journal %s: %s", path,
                                    strerror(errno));
        if (k == 0)
            return oflash_error_set(OFLASH_EIO, "writing the recovery journal %s: no progress",
                                    path);
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Write the whole state to the temporary file, fsync, rename it over the
 * journal, fsync the directory. */
static int replace_file(oflash_journal *j)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int fd = -1, rc;

    if ((rc = encode(j, &buf, &n)) < 0) return rc;
    if ((rc = make_dir(j->dir)) < 0) goto out;
    fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = oflash_error_set(OFLASH_EIO, "creating the recovery journal %s: %s", j->path,
                              strerror(errno));
        oflash__error_detail("temporary file %s", j->tmp);
        goto out;
    }
    if ((rc = write_all(fd, buf, n, j->path)) < 0) {
        oflash__error_detail("temporary file %s", j->tmp);
        goto out;
    }
    if (fsync(fd) < 0) {
        rc = oflash_error_set(OFLASH_EIO, "storing the recovery journal %s on disk: %s", j->path,
                              strerror(errno));
        oflash__error_detail("fsync of the temporary file %s", j->tmp);
        goto out;
    }
    rc = close(fd);
    fd = -1;
    if (rc < 0) {
        rc = oflash_error_set(OFLASH_EIO, "closing the recovery journal %s: %s", j->path,
                              strerror(errno));
        oflash__error_detail("temporary file %s", j->tmp);
        goto out;
    }
    if (rename(j->tmp, j->path) < 0) {
        rc = oflash_error_set(OFLASH_EIO, "putting the recovery journal %s in place: %s", j->path,
                              strerror(errno));
        oflash__error_detail("renaming the temporary file %s", j->tmp);
        goto out;
    }
    if ((rc = sync_dir(j->dir)) < 0) goto out;
    j->on_disk = true;
out:
    if (fd >= 0) close(fd);
    if (rc < 0) unlink(j->tmp); /* best effort: a stale .tmp never counts */
    free(buf);
    return rc;
}

static int remove_file(oflash_journal *j)
{
    if (unlink(j->path) < 0 && errno != ENOENT)
        return oflash_error_set(OFLASH_EIO, "removing the recovery journal %s: %s", j->path,
                                strerror(errno));
    j->on_disk = false;
    return sync_dir(j->dir);
}

/* Make the file hold the in-memory state (or remove it when empty). */
static int commit(oflash_journal *j)
{
    if (!j->nsectors && !j->notp) return j->on_disk ? remove_file(j) : 0;
    return replace_file(j);
}

/* ---- reading and checking ---- */

/* Check a sector record against the device: it must be one whole flash
 * sector. */
static bool is_flash_sector(const oflash_device *d, uint32_t addr, uint32_t size)
{
    const oflash_bank *b = oflash_device_bank_at(d, addr);
    int si;
    if (!b || b->kind != OFLASH_BANK_FLASH) return false;
    si = oflash_bank_sector_at(b, addr);
    return si >= 0 && b->sectors[si].addr == addr && b->sectors[si].size == size;
}

/* An OTP data or lock byte by the device's OTP rules (whatever banks a
 * device file declares over them). */
static bool is_otp_addr(const oflash_device *d, uint32_t addr)
{
    oflash_otp_rules r;
    if (oflash_device_otp_rules(&r, d) < 0 || r.kind == OFLASH_OTP_NONE) return false;
    return (addr >= r.data_base && addr - r.data_base < r.data_size) ||
           (r.lock_count && addr >= r.lock_base && addr - r.lock_base < r.lock_count);
}

/* Parse and check buf (n bytes) as this chip's journal; fill j.  Errors
 * are OFLASH_EFORMAT naming what is wrong (the caller adds the path). */
static int parse(oflash_journal *j, const uint8_t *buf, size_t n)
{
    size_t off = J_HEADER;
    uint32_t nrec;
    char found[2 * OFLASH_JOURNAL_UID_MAX + 1];
    uint32_t found_len;
    bool have_device = false;

    if (n < J_HEADER + J_TRAILER)
        return oflash_error_set(OFLASH_EFORMAT, "truncated: %zu bytes (a journal has at least %u)",
                                n, J_HEADER + J_TRAILER);
    if (memcmp(buf, J_MAGIC, 8) != 0)
        return oflash_error_set(OFLASH_EFORMAT, "not an oflash recovery journal (bad magic)");
    if (get32(buf + 36) != oflash_crc32(0, buf, 36))
        return oflash_error_set(OFLASH_EFORMAT, "header CRC mismatch");
    if (get32(buf + 8) != J_VERSION)
        return oflash_error_set(OFLASH_EFORMAT, "format version %u (this oflash reads %u)",
                                get32(buf + 8), J_VERSION);
    found_len = get32(buf + 12);
    if (found_len != j->uid_len || memcmp(buf + 16, j->uid, j->uid_len) != 0) {
        if (found_len > OFLASH_JOURNAL_UID_MAX) found_len = OFLASH_JOURNAL_UID_MAX;
        for (unsigned i = 0; i < found_len; i++)
            snprintf(found + 2 * i, 3, "%02x", buf[16 + i]);
        found[2 * found_len] = '\0';
        return oflash_error_set(OFLASH_EFORMAT,
                                "it belongs to another chip (unique ID %s), not to the connected "
                                "chip (%s)",
                                found, j->uid_hex);
    }
    /* The end marker first: a file cut short says so, whatever record
     * the cut fell in. */
    if (memcmp(buf + n - J_TRAILER, J_END, 8) != 0 || get32(buf + n - 8) != n)
        return oflash_error_set(OFLASH_EFORMAT,
                                "truncated or extended: no end marker for %zu bytes", n);
    if (get32(buf + n - 4) != oflash_crc32(0, buf, n - 4))
        return oflash_error_set(OFLASH_EFORMAT, "CRC mismatch over the whole file");
    nrec = get32(buf + 32);
    for (uint32_t r = 0; r < nrec; r++) {
        uint32_t type, addr, len, arg;
        const uint8_t *pl;
        if (n - J_TRAILER - off < J_REC_HEAD + 4)
            return oflash_error_set(OFLASH_EFORMAT, "truncated in record %u of %u", r + 1, nrec);
        type = get32(buf + off);
        addr = get32(buf + off + 4);
        len = get32(buf + off + 8);
        arg = get32(buf + off + 12);
        if (len > n - J_TRAILER - off - J_REC_HEAD - 4)
            return oflash_error_set(OFLASH_EFORMAT,
                                    "truncated in record %u of %u (%u bytes of data announced)",
                                    r + 1, nrec, len);
        pl = buf + off + J_REC_HEAD;
        if (get32(pl + len) != oflash_crc32(0, buf + off, J_REC_HEAD + len))
            return oflash_error_set(OFLASH_EFORMAT, "record %u of %u (at 0x%08X): CRC mismatch",
                                    r + 1, nrec, addr);
        switch (type) {
        case REC_DEVICE:
            if (len != strlen(j->device->name) || memcmp(pl, j->device->name, len) != 0)
                return oflash_error_set(
                    OFLASH_EFORMAT, "it was written for a %.*s, the connected chip is a %s",
                    (int)(len > 64 ? 64 : len), (const char *)pl, j->device->name);
            have_device = true;
            break;
        case REC_SECTOR: {
            jsector *ns;
            if (!is_flash_sector(j->device, addr, len) || arg > len)
                return oflash_error_set(OFLASH_EFORMAT,
                                        "record %u: 0x%08X + %u bytes is not a flash sector of %s",
                                        r + 1, addr, len, j->device->name);
            ns = realloc(j->sectors, (j->nsectors + 1) * sizeof *ns);
            if (!ns) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            j->sectors = ns;
            ns = &j->sectors[j->nsectors];
            if (!(ns->data = malloc(len))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
            memcpy(ns->data, pl, len);
            ns->addr = addr;
            ns->size = len;
            ns->kept = arg;
            ns->crc = oflash_crc32(0, pl, len);
            j->nsectors++;
            break;
        }
        case REC_OTP:
            if ((uint64_t)arg * 8 != len)
                return oflash_error_set(OFLASH_EFORMAT, "record %u: %u OTP entries in %u bytes",
                                        r + 1, arg, len);
            for (uint32_t i = 0; i < arg; i++) {
                uint32_t a = get32(pl + 8 * i), v = get32(pl + 8 * i + 4);
                int rc;
                if (!is_otp_addr(j->device, a) || v > 0xFF)
                    return oflash_error_set(OFLASH_EFORMAT,
                                            "record %u: 0x%08X = 0x%X is not an OTP or lock byte "
                                            "of %s",
                                            r + 1, a, v, j->device->name);
                if ((rc = otp_put(j, a, (uint8_t)v)) < 0) return rc;
            }
            break;
        default:
            return oflash_error_set(OFLASH_EFORMAT, "record %u: unknown type %u", r + 1, type);
        }
        off += J_REC_HEAD + len + 4;
    }
    if (off != n - J_TRAILER)
        return oflash_error_set(OFLASH_EFORMAT, "%zu bytes after the last record",
                                n - J_TRAILER - off);
    if (!have_device) return oflash_error_set(OFLASH_EFORMAT, "no device record");
    return 0;
}

/* Load the chip's journal if the file exists. */
static int load(oflash_journal *j)
{
    struct stat st;
    uint8_t *buf;
    size_t got = 0;
    int fd, rc = 0;

    fd = open(j->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0; /* no journal there */
        return oflash_error_set(OFLASH_EIO, "opening the recovery journal %s: %s", j->path,
                                strerror(errno));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)J_MAX_FILE) {
        close(fd);
        return oflash_error_set(OFLASH_EFORMAT,
                                "recovery journal %s is not a regular file of at most %u bytes: "
                                "not applied; move it away to program this chip",
                                j->path, J_MAX_FILE);
    }
    if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        close(fd);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            rc = oflash_error_set(OFLASH_EIO, "reading the recovery journal %s: %s", j->path,
                                  k < 0 ? strerror(errno) : "file shrank while reading");
            break;
        }
        got += (size_t)k;
    }
    close(fd);
    if (rc == 0 && (rc = parse(j, buf, got)) < 0) {
        free_sectors(j);
        j->notp = 0;
        if (rc == OFLASH_EFORMAT)
            oflash_error_prefix("the recovery journal %s does not check out, so it is not "
                                "applied (the chip may hold a sector a cut left half erased; "
                                "keep the file for inspection and move it away to program "
                                "this chip): ",
                                j->path);
    }
    free(buf);
    if (rc == 0) j->on_disk = true;
    return rc;
}

/* Report journals of other chips; remove this chip's unfinished write. */
static void scan_dir(oflash_journal *j)
{
    DIR *d = opendir(j->dir);
    struct dirent *e;
    size_t others = 0;
    char mine[sizeof j->uid_hex + 16];
    char tmpname[sizeof j->uid_hex + 16];

    if (!d) return;
    snprintf(mine, sizeof mine, "%s.journal", j->uid_hex);
    snprintf(tmpname, sizeof tmpname, "%s.journal.tmp", j->uid_hex);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (!strcmp(e->d_name, tmpname)) {
            if (unlink(j->tmp) == 0)
                oflash_log(OFLASH_LOG_INFO,
                           "removed %s: an unfinished recovery journal write of an interrupted "
                           "run (that run had not acted on it)",
                           j->tmp);
            else
                oflash_log(OFLASH_LOG_WARN, "cannot remove the unfinished journal write %s: %s",
                           j->tmp, strerror(errno));
            continue;
        }
        if (n > 8 && !strcmp(e->d_name + n - 8, ".journal") && strcmp(e->d_name, mine) != 0) {
            if (others++ < 8)
                oflash_log(OFLASH_LOG_INFO,
                           "recovery journal of another chip (unique ID %.*s) left alone: %s/%s",
                           (int)(n - 8), e->d_name, j->dir, e->d_name);
        }
    }
    if (others > 8)
        oflash_log(OFLASH_LOG_INFO, "%zu more recovery journals of other chips in %s left alone",
                   others - 8, j->dir);
    closedir(d);
}

/* ---- public ---- */

int oflash_journal_open(oflash_journal **out, oflash_target *t, const oflash_journal_opts *opts)
{
    const oflash_device *dev = oflash_target_device(t);
    oflash_journal *j;
    bool all00 = true, allff = true;
    uint32_t uid_addr = 0;
    int rc;

    *out = NULL;
    if (!(j = calloc(1, sizeof *j))) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    j->device = dev;
    if (opts && opts->dir) {
        if (strlen(opts->dir) >= sizeof j->dir) {
            free(j);
            return oflash_error_set(OFLASH_ERANGE, "recovery journal directory path too long");
        }
        snprintf(j->dir, sizeof j->dir, "%s", opts->dir[0] ? opts->dir : ".");
    } else if ((rc = oflash_journal_default_dir(j->dir, sizeof j->dir)) < 0) {
        free(j);
        return rc;
    }
    /* The unique ID (the family's ID registers); a chip without one gets
     * no journal. */
    if (dev->family_ops) {
        j->uid_len = dev->family_ops->id.uid_len;
        uid_addr = dev->family_ops->id.uid_addr;
    }
    if (j->uid_len > OFLASH_JOURNAL_UID_MAX) j->uid_len = 0;
    if (uid_addr && j->uid_len &&
        oflash_flash_read(j->uid, t, uid_addr, j->uid_len, NULL, NULL) == 0) {
        for (unsigned i = 0; i < j->uid_len; i++) {
            all00 = all00 && j->uid[i] == 0x00;
            allff = allff && j->uid[i] == 0xFF;
        }
        j->has_uid = !all00 && !allff;
    }
    oflash_error_clear();
    if (!j->has_uid) {
        *out = j;
        return 0;
    }
    for (unsigned i = 0; i < j->uid_len; i++)
        snprintf(j->uid_hex + 2 * i, 3, "%02x", j->uid[i]);
    snprintf(j->path, sizeof j->path, "%s/%s.journal", j->dir, j->uid_hex);
    snprintf(j->tmp, sizeof j->tmp, "%s.tmp", j->path);
    scan_dir(j);
    if ((rc = load(j)) < 0) {
        oflash_journal_close(j);
        return rc;
    }
    if (j->nsectors || j->notp)
        oflash_log(OFLASH_LOG_WARN,
                   "recovery journal %s: an earlier run on this chip was interrupted (%zu "
                   "sector%s to restore, %zu OTP/lock byte%s it had started)",
                   j->path, j->nsectors, j->nsectors == 1 ? "" : "s", j->notp,
                   j->notp == 1 ? "" : "s");
    *out = j;
    return 0;
}

void oflash_journal_close(oflash_journal *j)
{
    if (!j) return;
    free_sectors(j);
    free(j->otp);
    free(j);
}

bool oflash_journal_has_uid(const oflash_journal *j)
{
    return j && j->has_uid;
}

const char *oflash_journal_uid_hex(const oflash_journal *j)
{
    return j ? j->uid_hex : "";
}

const char *oflash_journal_path(const oflash_journal *j)
{
    return j ? j->path : "";
}

size_t oflash_journal_pending_sectors(const oflash_journal *j)
{
    return j ? j->nsectors : 0;
}

void oflash_journal_otp_started(const oflash_otp_intent **list, size_t *count,
                                const oflash_journal *j)
{
    *list = j && j->has_uid ? j->otp : NULL;
    *count = j && j->has_uid ? j->notp : 0;
}

/* Restore the sector entries: an image of their contents, planned against
 * the chip (a sector already holding it is skipped) and executed. */
static int restore_sectors(oflash_journal_recovery *rec, oflash_journal *j, oflash_target *t)
{
    oflash_image *img = NULL;
    oflash_plan *plan = NULL;
    oflash_target_view view;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    int rc;

    if ((rc = oflash_image_new(&img)) < 0) return rc;
    for (size_t i = 0; i < j->nsectors && !rc; i++)
        rc = oflash_image_add(img, j->sectors[i].addr, j->sectors[i].data, j->sectors[i].size,
                              "recovery journal");
    if (rc) goto out;
    oflash_target_view_init(&view, t);
    if ((rc = oflash_plan_create(&plan, img, j->device, &view, &po)) < 0) goto out;
    for (size_t i = 0; i < plan->sector_count; i++) {
        const oflash_plan_sector *ps = &plan->sectors[i];
        uint32_t kept = 0;
        for (size_t k = 0; k < j->nsectors; k++)
            if (j->sectors[k].addr == ps->sector->addr) kept = j->sectors[k].kept;
        if (ps->action == OFLASH_SECTOR_SKIP) {
            rec->sectors_intact++;
            oflash_log(OFLASH_LOG_WARN,
                       "recovery journal: sector %u (0x%08X-0x%08X) already holds its contents",
                       ps->sector->number, ps->sector->addr,
                       ps->sector->addr + ps->sector->size - 1);
            continue;
        }
        rec->sectors_restored++;
        rec->kept_bytes += kept;
        oflash_log(OFLASH_LOG_WARN,
                   "recovery journal: restoring sector %u (0x%08X-0x%08X, %u kept bytes) that an "
                   "interrupted run left incomplete",
                   ps->sector->number, ps->sector->addr, ps->sector->addr + ps->sector->size - 1,
                   kept);
    }
    if ((rc = oflash_flash_execute(NULL, t, plan, &fo)) < 0) goto out;
    if (rec->sectors_restored)
        oflash_log(OFLASH_LOG_WARN,
                   "recovery journal: %zu sector%s restored and verified (%llu kept bytes back)",
                   rec->sectors_restored, rec->sectors_restored == 1 ? "" : "s",
                   (unsigned long long)rec->kept_bytes);
out:
    if (rc < 0) oflash_error_prefix("restoring from the recovery journal %s: ", j->path);
    oflash_plan_free(plan);
    oflash_image_free(img);
    return rc;
}

/* Keep only intents whose byte is partly programmed (chip value has every
 * 0 bit of the value and more 1 bits): complete and untouched bytes need
 * no resume. */
static int prune_otp(oflash_journal *j, oflash_target *t, bool *changed)
{
    for (size_t i = 0; i < j->notp;) {
        uint8_t chip;
        uint8_t v = j->otp[i].value;
        int rc = oflash_flash_read(&chip, t, j->otp[i].addr, 1, NULL, NULL);
        if (rc < 0) return oflash_error_prefix("reading OTP for the recovery journal: ");
        if (chip != 0xFF && chip != v && (chip & v) == v) {
            i++;
            continue;
        }
        j->otp[i] = j->otp[--j->notp];
        *changed = true;
    }
    return 0;
}

int oflash_journal_recover(oflash_journal_recovery *out, oflash_journal *j, oflash_target *t)
{
    oflash_journal_recovery local;
    bool changed = false;
    int rc;

    if (!out) out = &local;
    memset(out, 0, sizeof *out);
    if (!j || !j->has_uid || (!j->nsectors && !j->notp)) return 0;
    if (oflash_target_device(t) != j->device)
        return oflash_error_set(OFLASH_EINVAL, "the journal was opened for another target");
    if (j->nsectors) {
        if ((rc = restore_sectors(out, j, t)) < 0) return rc;
        free_sectors(j);
        changed = true;
    }
    if (j->notp && (rc = prune_otp(j, t, &changed)) < 0) return rc;
    out->otp_pending = j->notp;
    if (j->notp)
        oflash_log(OFLASH_LOG_WARN,
                   "recovery journal: %zu OTP/lock byte%s left partly programmed by an "
                   "interrupted run; --otp-resume finishes %s with the same image",
                   j->notp, j->notp == 1 ? "" : "s", j->notp == 1 ? "it" : "them");
    return changed ? commit(j) : 0;
}

int oflash_journal_forget(oflash_journal *j, uint32_t addr, uint32_t len)
{
    size_t k = 0, dropped = 0;
    if (!j || !j->has_uid) return 0;
    for (size_t i = 0; i < j->nsectors; i++) {
        jsector *s = &j->sectors[i];
        if (s->addr >= addr && (uint64_t)s->addr + s->size <= (uint64_t)addr + len) {
            oflash_log(OFLASH_LOG_WARN,
                       "recovery journal: 0x%08X-0x%08X was erased on request; the contents an "
                       "interrupted run saved for it are dropped",
                       s->addr, s->addr + s->size - 1);
            free(s->data);
            dropped++;
            continue;
        }
        j->sectors[k++] = *s;
    }
    j->nsectors = k;
    return dropped ? commit(j) : 0;
}

/* ---- the executor's hooks (journal_internal.h) ---- */

int oflash__journal_before_erase(oflash_journal *j, const oflash_plan *plan)
{
    size_t n = 0, k = 0;
    uint64_t kept = 0;
    int rc;

    if (!j) return 0;
    if (j->nsectors)
        return oflash_error_set(OFLASH_EINVAL,
                                "the recovery journal %s still holds %zu sector%s of an "
                                "interrupted run: restore %s first (oflash_journal_recover)",
                                j->path, j->nsectors, j->nsectors == 1 ? "" : "s",
                                j->nsectors == 1 ? "it" : "them");
    for (size_t i = 0; i < plan->sector_count; i++)
        if (plan->sectors[i].action == OFLASH_SECTOR_ERASE_PROGRAM && plan->sectors[i].kept_bytes) {
            n++;
            kept += plan->sectors[i].kept_bytes;
        }
    if (!n) return 0;
    if (!j->has_uid) {
        oflash_log(OFLASH_LOG_WARN,
                   "%s has no readable unique ID, so the %llu old bytes kept in %zu sector%s are "
                   "not in a recovery journal: a power cut during the erase loses them",
                   j->device->name, (unsigned long long)kept, n, n == 1 ? "" : "s");
        return 0;
    }
    if (!(j->sectors = calloc(n, sizeof *j->sectors)))
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    for (size_t i = 0; i < plan->sector_count; i++) {
        const oflash_plan_sector *ps = &plan->sectors[i];
        jsector *s;
        if (ps->action != OFLASH_SECTOR_ERASE_PROGRAM || !ps->kept_bytes) continue;
        s = &j->sectors[k++];
        if (!(s->data = malloc(ps->sector->size))) {
            j->nsectors = k - 1;
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        }
        memcpy(s->data, ps->data, ps->sector->size);
        s->addr = ps->sector->addr;
        s->size = ps->sector->size;
        s->kept = ps->kept_bytes;
        s->crc = ps->crc;
        j->nsectors = k;
    }
    if ((rc = commit(j)) < 0)
        return oflash_error_prefix("saving the %llu bytes to keep before erasing (nothing was "
                                   "erased; --journal-dir names another directory): ",
                                   (unsigned long long)kept);
    oflash_log(OFLASH_LOG_DEBUG, "recovery journal %s: %zu sector%s with %llu kept bytes saved",
               j->path, n, n == 1 ? "" : "s", (unsigned long long)kept);
    return 0;
}

int oflash__journal_after_flash(oflash_journal *j, oflash_target *t, const oflash_plan *plan,
                                oflash_verify_mode verify)
{
    bool changed = false;
    int rc;

    if (!j || !j->has_uid) return 0;
    /* Entries go only after their sector verifies: with verify none, one
     * CRC per journaled sector still does it. */
    for (size_t i = 0; verify == OFLASH_VERIFY_NONE && i < j->nsectors; i++) {
        uint32_t crc;
        if ((rc = oflash_target_crc32(&crc, t, j->sectors[i].addr, j->sectors[i].size)) < 0)
            return rc;
        if (crc != j->sectors[i].crc)
            return oflash_error_set(OFLASH_EVERIFY,
                                    "verify of 0x%08X-0x%08X (a sector with kept bytes) failed: "
                                    "its contents stay in the recovery journal %s",
                                    j->sectors[i].addr, j->sectors[i].addr + j->sectors[i].size - 1,
                                    j->path);
    }
    if (j->nsectors) {
        free_sectors(j);
        changed = true;
    }
    /* The OTP intent, before the first OTP or lock-byte write. */
    for (size_t i = 0; i < plan->otp_write_count; i++, changed = true)
        if ((rc = otp_put(j, plan->otp_writes[i].addr, plan->otp_writes[i].image)) < 0) return rc;
    for (size_t i = 0; i < plan->lock_count; i++, changed = true)
        if ((rc = otp_put(j, plan->locks[i].addr, plan->locks[i].image)) < 0) return rc;
    if (changed && (rc = commit(j)) < 0)
        return oflash_error_prefix(
            "%s (main flash is done%s): ",
            plan->otp_write_count || plan->lock_count ? "recording the OTP write before it starts"
                                                      : "updating the recovery journal",
            plan->otp_write_count || plan->lock_count ? ", no OTP byte was written" : "");
    return 0;
}

int oflash__journal_after_otp(oflash_journal *j, const oflash_plan *plan)
{
    bool changed = false;
    int rc;
    if (!j || !j->has_uid) return 0;
    for (size_t i = 0; i < plan->otp_write_count; i++)
        changed |= otp_drop(j, plan->otp_writes[i].addr);
    for (size_t i = 0; i < plan->lock_count; i++)
        changed |= otp_drop(j, plan->locks[i].addr);
    if (changed && (rc = commit(j)) < 0)
        return oflash_error_prefix("the OTP write is complete and verified, but: ");
    return 0;
}
