/*
 * sim_state.c - the simulated chip's file: a base snapshot followed by an
 * append-only journal of completed flash operations.
 *
 * Layout (all integers little endian):
 *   header   256 bytes: magic "OFLASH-SIM", format version, part, UID,
 *            sizes, option bytes, armed faults, last run's statistics,
 *            CRC-32 of the first 252 bytes at offset 252
 *   flash    flash_size bytes
 *   nv       the family model's non-volatile bytes (sim_map.nv_size: on the
 *            OTP data bytes then lock bytes, say)
 *   ram      ram_size bytes
 *   records  { u32 magic, u32 kind, u32 addr, u32 len, u32 arg,
 *              u8 payload[len], u32 crc32(of the 20 header bytes + payload) }
 *
 * Invariants:
 *  - records are only appended, in the order the operations happened, and
 *    each one is absolute (the bytes after the operation, or "fill with
 *    0xFF"), so replaying a prefix of the journal gives the state after a
 *    prefix of the operations;
 *  - opening replays records up to the first one that is incomplete or
 *    fails its CRC (a torn tail from a kill -9) and truncates there;
 *  - compaction first appends a FULL record holding the whole new base,
 *    then rewrites the base in place and truncates the journal.  A kill
 *    between those steps leaves the FULL record, whose replay restores the
 *    base, so the file is never torn.  The file is never renamed, so the
 *    flock() that keeps a second process out stays on the same inode.
 */
#include "sim_internal.h"

#include "common/file.h"

#include "common/error_internal.h"
#include "oflash/error.h"
#include "oflash/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_SIZE 256u
#define HDR_MAGIC "OFLASH-SIM"
#define HDR_VERSION 1u
#define REC_MAGIC 0x524A534Fu /* "OSJR" */
#define REC_HDR 20u

enum { REC_DATA = 1, REC_FILL = 2, REC_OPTIONS = 3, REC_FULL = 4 };

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

const oflash_device *oflash__sim_part_device(const char *part)
{
    const oflash_device *dev = oflash_builtin_device_find(part);
    return dev && oflash__sim_model_of(dev) ? dev : NULL;
}

const oflash_sim_model *oflash__sim_model_of(const oflash_device *dev)
{
    return dev && dev->family_ops ? dev->family_ops->sim : NULL;
}

/* The model's map of dev with the option words of nv. */
static void nv_layout(sim_nv *nv, const oflash_device *dev)
{
    sim_map m;
    oflash__sim_model_of(dev)->map(dev, nv->opt, &m);
    nv->flash_base = m.flash_base;
    nv->nv_base = m.nv_base;
    nv->nv_size = m.nv_size;
}

static uint32_t ram_size_of(const oflash_device *dev)
{
    for (size_t i = 0; i < dev->region_count; i++)
        if (dev->regions[i].kind == OFLASH_REGION_RAM) return dev->regions[i].size;
    return dev->work_ram_size;
}

static uint64_t base_size(const sim_nv *nv)
{
    return (uint64_t)HDR_SIZE + nv->flash_size + nv->nv_size + nv->ram_size;
}

static void encode_header(uint8_t *h, const sim_nv *nv)
{
    const oflash_sim_faults *f = &nv->faults;
    const oflash_sim_run_stats *s = &nv->last_run;
    memset(h, 0, HDR_SIZE);
    memcpy(h, HDR_MAGIC, sizeof HDR_MAGIC);
    put32(h + 16, HDR_VERSION);
    put32(h + 20, HDR_SIZE);
    memcpy(h + 24, nv->part, 31);
    memcpy(h + 56, nv->uid, 12);
    put32(h + 68, nv->flash_size);
    put32(h + 72, nv->ram_size);
    put32(h + 76, nv->opt[0]);
    put32(h + 80, nv->opt[1]);
    for (int i = 2; i < SIM_OPT_WORDS; i++) /* more option words (zero in old files) */
        put32(h + 176 + 4 * (i - 2), nv->opt[i]);
    put32(h + 84, (f->power_loss ? 1u : 0) | (f->fail_at ? 2u : 0) | (f->link_drop ? 4u : 0));
    put64(h + 88, f->power_loss_after);
    put32(h + 96, f->fail_addr);
    put64(h + 100, f->link_drop_after);
    put64(h + 108, s->sim_time_ns);
    put64(h + 116, s->cpu_insns);
    put64(h + 124, s->program_ops);
    put64(h + 132, s->erase_ops);
    put64(h + 140, s->option_ops);
    put64(h + 148, s->flash_busy_ns);
    put64(h + 156, s->unknown_accesses);
    put32(h + 164, s->unknown_first);
    put64(h + 168, s->core_clock_hz);
    put32(h + 252, oflash_crc32(0, h, 252));
}

/* Decode and validate a header; allocates the buffers of nv. */
static int decode_header(const uint8_t *h, sim_nv *nv, const char *path)
{
    uint32_t flags;
    const oflash_device *dev;
    if (memcmp(h, HDR_MAGIC, sizeof HDR_MAGIC) != 0)
        return oflash_error_set(OFLASH_EFORMAT, "%s: not a simulated chip file (bad magic)", path);
    if (get32(h + 16) != HDR_VERSION || get32(h + 20) != HDR_SIZE)
        return oflash_error_set(OFLASH_EFORMAT, "%s: simulated chip file format %u (expected %u)",
                                path, get32(h + 16), HDR_VERSION);
    if (get32(h + 252) != oflash_crc32(0, h, 252))
        return oflash_error_set(OFLASH_EFORMAT, "%s: header checksum mismatch", path);
    memcpy(nv->part, h + 24, 31);
    nv->part[31] = '\0';
    dev = oflash__sim_part_device(nv->part);
    if (!dev)
        return oflash_error_set(OFLASH_EFORMAT, "%s: unknown part '%s' in chip file", path,
                                nv->part);
    memcpy(nv->uid, h + 56, 12);
    nv->flash_size = get32(h + 68);
    nv->ram_size = get32(h + 72);
    if (nv->flash_size != (uint32_t)dev->flash_size_kb * 1024u || nv->ram_size != ram_size_of(dev))
        return oflash_error_set(OFLASH_EFORMAT, "%s: sizes (flash %u, RAM %u) do not match part %s",
                                path, nv->flash_size, nv->ram_size, nv->part);
    nv->opt[0] = get32(h + 76);
    nv->opt[1] = get32(h + 80);
    for (int i = 2; i < SIM_OPT_WORDS; i++)
        nv->opt[i] = get32(h + 176 + 4 * (i - 2));
    nv_layout(nv, dev);
    if (nv->nv_size > SIM_MAX_NV)
        return oflash_error_set(OFLASH_EFORMAT, "%s: model of %s declares %u nv bytes (at most %u)",
                                path, nv->part, nv->nv_size, SIM_MAX_NV);
    flags = get32(h + 84);
    nv->faults.power_loss = flags & 1;
    nv->faults.fail_at = (flags & 2) != 0;
    nv->faults.link_drop = (flags & 4) != 0;
    nv->faults.power_loss_after = get64(h + 88);
    nv->faults.fail_addr = get32(h + 96);
    nv->faults.link_drop_after = get64(h + 100);
    nv->last_run.sim_time_ns = get64(h + 108);
    nv->last_run.cpu_insns = get64(h + 116);
    nv->last_run.program_ops = get64(h + 124);
    nv->last_run.erase_ops = get64(h + 132);
    nv->last_run.option_ops = get64(h + 140);
    nv->last_run.flash_busy_ns = get64(h + 148);
    nv->last_run.unknown_accesses = get64(h + 156);
    nv->last_run.unknown_first = get32(h + 164);
    nv->last_run.core_clock_hz = get64(h + 168);
    if (!nv->flash) nv->flash = malloc(nv->flash_size);
    if (!nv->ram) nv->ram = malloc(nv->ram_size);
    if (!nv->nv) nv->nv = malloc(SIM_MAX_NV);
    if (!nv->flash || !nv->ram || !nv->nv) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    return 0;
}

/* Serialize the whole base (header + body) into buf (base_size bytes). */
static void encode_base(uint8_t *buf, const sim_nv *nv)
{
    encode_header(buf, nv);
    memcpy(buf + HDR_SIZE, nv->flash, nv->flash_size);
    memcpy(buf + HDR_SIZE + nv->flash_size, nv->nv, nv->nv_size);
    memcpy(buf + HDR_SIZE + nv->flash_size + nv->nv_size, nv->ram, nv->ram_size);
}

static int decode_body(const uint8_t *body, sim_nv *nv)
{
    memcpy(nv->flash, body, nv->flash_size);
    memcpy(nv->nv, body + nv->flash_size, nv->nv_size);
    memcpy(nv->ram, body + nv->flash_size + nv->nv_size, nv->ram_size);
    return 0;
}

static int write_all(int fd, const void *buf, size_t len, uint64_t off, const char *path)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return oflash_error_set(OFLASH_EIO, "%s: write failed: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    uint8_t *p = buf;
    *got = 0;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) break;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
        *got += (size_t)n;
    }
    return 0;
}

void oflash__sim_nv_free(sim_nv *nv)
{
    free(nv->flash);
    free(nv->ram);
    free(nv->nv);
    nv->flash = nv->ram = nv->nv = NULL;
}

int oflash__sim_file_create(const char *path, const oflash_device *dev, const uint8_t uid[12])
{
    sim_nv nv;
    uint8_t *buf;
    uint64_t size;
    char *tmp;
    int fd, rc;
    struct stat st;

    if (stat(path, &st) == 0)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: already exists (a simulated chip is never replaced; "
                                "delete the file first to create a new chip)",
                                path);
    memset(&nv, 0, sizeof nv);
    snprintf(nv.part, sizeof nv.part, "%s", dev->name);
    memcpy(nv.uid, uid, 12);
    nv.flash_size = (uint32_t)dev->flash_size_kb * 1024u;
    nv.ram_size = ram_size_of(dev);
    oflash__sim_model_of(dev)->factory(dev, nv.opt);
    nv_layout(&nv, dev);
    size = base_size(&nv);
    buf = malloc(size);
    nv.flash = malloc(nv.flash_size);
    nv.ram = calloc(1, nv.ram_size);
    nv.nv = malloc(SIM_MAX_NV);
    tmp = malloc(strlen(path) + 32);
    if (!buf || !nv.flash || !nv.ram || !nv.nv || !tmp || nv.nv_size > SIM_MAX_NV) {
        free(buf);
        free(tmp);
        oflash__sim_nv_free(&nv);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    memset(nv.flash, 0xFF, nv.flash_size);
    memset(nv.nv, 0xFF, SIM_MAX_NV);
    encode_base(buf, &nv);
    oflash__sim_nv_free(&nv);

    /* Write a temporary file completely, then link it into place: the chip
     * file appears whole or not at all, and link() refuses to replace. */
    sprintf(tmp, "%s.tmp%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot create: %s", path, strerror(errno));
        oflash__error_detail("temporary file %s", tmp);
        goto out;
    }
    rc = write_all(fd, buf, size, 0, path);
    if (rc < 0) oflash__error_detail("temporary file %s", tmp);
    if (rc == 0 && fsync(fd) != 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: cannot store it on disk (fsync): %s", path,
                              strerror(errno));
        oflash__error_detail("temporary file %s", tmp);
    }
    close(fd);
    if (rc == 0 && link(tmp, path) != 0)
        rc = oflash_error_set(errno == EEXIST ? OFLASH_EINVAL : OFLASH_EIO, "%s: cannot create: %s",
                              path, strerror(errno));
    unlink(tmp);
out:
    free(tmp);
    free(buf);
    return rc;
}

static int apply_record(sim_nv *nv, uint32_t kind, uint32_t addr, uint32_t len, uint32_t arg,
                        const uint8_t *payload, uint64_t bsize)
{
    switch (kind) {
    case REC_DATA:
    case REC_FILL: {
        uint32_t n = kind == REC_DATA ? len : arg;
        uint8_t *dst;
        if (addr >= nv->flash_base && addr - nv->flash_base <= nv->flash_size &&
            n <= nv->flash_size - (addr - nv->flash_base))
            dst = nv->flash + (addr - nv->flash_base);
        else if (addr >= nv->nv_base && addr - nv->nv_base <= nv->nv_size &&
                 n <= nv->nv_size - (addr - nv->nv_base))
            dst = nv->nv + (addr - nv->nv_base);
        else
            return -1;
        if (kind == REC_DATA)
            memcpy(dst, payload, n);
        else
            memset(dst, 0xFF, n);
        return 0;
    }
    case REC_OPTIONS:
        if (len % 4 || len > 4 * SIM_OPT_WORDS) return -1;
        for (uint32_t i = 0; i < len / 4; i++)
            nv->opt[i] = get32(payload + 4 * i);
        return 0;
    case REC_FULL: {
        sim_nv tmp = *nv;
        if (len != bsize) return -1;
        if (decode_header(payload, &tmp, "journal") < 0) return -1;
        *nv = tmp;
        return decode_body(payload + HDR_SIZE, nv);
    }
    default:
        return -1;
    }
}

int oflash__sim_file_open(sim_file *f, sim_nv *nv, const char *path, bool readonly)
{
    uint8_t hdr[HDR_SIZE];
    uint8_t *body = NULL, *rec = NULL;
    size_t got, rec_cap = 0;
    uint64_t off;
    struct stat st;
    int rc;

    memset(f, 0, sizeof *f);
    memset(nv, 0, sizeof *nv);
    f->fd = -1;
    f->last_data_off = SIZE_MAX;
    f->path = strdup(path);
    if (!f->path) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    /* Without blocking: a FIFO or device named as the chip is refused at once. */
    rc = oflash__open_regular(&f->fd, &st, path, readonly ? O_RDONLY : O_RDWR,
                              "a simulated chip file (.sim)");
    if (rc < 0) goto fail;
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0) {
        rc = oflash_error_set(OFLASH_EIO,
                              "%s: simulated chip is in use by another process (one "
                              "connection at a time, as with a real debug port)",
                              path);
        goto fail;
    }
    if (fstat(f->fd, &st) != 0 || read_all(f->fd, hdr, HDR_SIZE, 0, &got) != 0) {
        rc = oflash_error_set(OFLASH_EIO, "%s: read failed: %s", path, strerror(errno));
        goto fail;
    }
    if (got != HDR_SIZE) {
        rc = oflash_error_set(OFLASH_EFORMAT, "%s: truncated simulated chip file (%zu bytes)", path,
                              got);
        goto fail;
    }
    rc = decode_header(hdr, nv, path);
    if (rc < 0) goto fail;
    f->base_size = base_size(nv);
    body = malloc(f->base_size);
    if (!body) {
        rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
        goto fail;
    }
    if (read_all(f->fd, body, f->base_size - HDR_SIZE, HDR_SIZE, &got) != 0 ||
        got != f->base_size - HDR_SIZE) {
        rc = oflash_error_set(OFLASH_EFORMAT, "%s: truncated simulated chip file", path);
        goto fail;
    }
    decode_body(body, nv);

    /* Replay the journal; stop at the first incomplete or corrupt record. */
    off = f->base_size;
    for (;;) {
        uint8_t rh[REC_HDR];
        uint32_t kind, addr, len, arg;
        if (read_all(f->fd, rh, REC_HDR, off, &got) != 0 || got != REC_HDR) break;
        if (get32(rh) != REC_MAGIC) break;
        kind = get32(rh + 4);
        addr = get32(rh + 8);
        len = get32(rh + 12);
        arg = get32(rh + 16);
        if ((uint64_t)len > f->base_size || off + REC_HDR + len + 4 > (uint64_t)st.st_size) break;
        if (len + REC_HDR + 4 > rec_cap) {
            uint8_t *n = realloc(rec, len + REC_HDR + 4);
            if (!n) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
                goto fail;
            }
            rec = n;
            rec_cap = len + REC_HDR + 4;
        }
        if (read_all(f->fd, rec, REC_HDR + len + 4, off, &got) != 0 || got != REC_HDR + len + 4)
            break;
        if (get32(rec + REC_HDR + len) != oflash_crc32(0, rec, REC_HDR + len)) break;
        if (apply_record(nv, kind, addr, len, arg, rec + REC_HDR, f->base_size) != 0) break;
        off += REC_HDR + len + 4;
        f->records++;
    }
    f->end = off;
    if (!readonly && (uint64_t)st.st_size > off) {
        /* A torn tail from an interrupted append: drop it. */
        if (ftruncate(f->fd, (off_t)off) != 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: truncate failed: %s", path, strerror(errno));
            goto fail;
        }
    }
    f->dirty = f->records > 0;
    free(body);
    free(rec);
    return 0;
fail:
    free(body);
    free(rec);
    oflash__sim_nv_free(nv);
    oflash__sim_file_close(f);
    return rc;
}

static int jreserve(sim_file *f, size_t more)
{
    if (f->jlen + more > f->jcap) {
        size_t cap = f->jcap ? f->jcap : 4096;
        uint8_t *n;
        while (cap < f->jlen + more)
            cap *= 2;
        n = realloc(f->jbuf, cap);
        if (!n) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        f->jbuf = n;
        f->jcap = cap;
    }
    return 0;
}

/* The last DATA record in jbuf stays open (its CRC slot not yet written)
 * so that following adjacent writes can extend it; it is closed before any
 * other record is appended and before the buffer is written. */
static void jclose(sim_file *f)
{
    if (f->last_data_off != SIZE_MAX) {
        uint8_t *p = f->jbuf + f->last_data_off;
        uint32_t len = get32(p + 12);
        put32(p + REC_HDR + len, oflash_crc32(0, p, REC_HDR + len));
        f->last_data_off = SIZE_MAX;
    }
}

static int jappend(sim_file *f, uint32_t kind, uint32_t addr, uint32_t arg, const uint8_t *payload,
                   uint32_t len)
{
    uint8_t *p;
    int rc;
    jclose(f);
    rc = jreserve(f, REC_HDR + len + 4);
    if (rc < 0) return rc;
    p = f->jbuf + f->jlen;
    put32(p, REC_MAGIC);
    put32(p + 4, kind);
    put32(p + 8, addr);
    put32(p + 12, len);
    put32(p + 16, arg);
    if (len) memcpy(p + REC_HDR, payload, len);
    if (kind == REC_DATA)
        f->last_data_off = f->jlen; /* left open, see jclose() */
    else
        put32(p + REC_HDR + len, oflash_crc32(0, p, REC_HDR + len));
    f->jlen += REC_HDR + len + 4;
    f->records++;
    f->dirty = true;
    /* Bound the memory a long run can hold back. */
    return f->jlen > (1u << 20) ? oflash__sim_journal_flush(f) : 0;
}

int oflash__sim_journal_data(sim_file *f, uint32_t addr, const uint8_t *bytes, uint32_t len)
{
    /* Extend the open DATA record when this write continues it (a loader
     * programming ascending addresses). */
    if (f->last_data_off != SIZE_MAX) {
        uint8_t *p = f->jbuf + f->last_data_off;
        uint32_t paddr = get32(p + 8), plen = get32(p + 12);
        if (paddr + plen == addr && plen + len <= 65536) {
            int rc = jreserve(f, len);
            if (rc < 0) return rc;
            p = f->jbuf + f->last_data_off;
            memcpy(p + REC_HDR + plen, bytes, len);
            put32(p + 12, plen + len);
            f->jlen += len;
            return 0;
        }
    }
    return jappend(f, REC_DATA, addr, 0, bytes, len);
}

int oflash__sim_journal_fill(sim_file *f, uint32_t addr, uint32_t len, uint8_t value)
{
    (void)value; /* erase is the only fill: 0xFF */
    return jappend(f, REC_FILL, addr, len, NULL, 0);
}

int oflash__sim_journal_options(sim_file *f, const uint32_t *opt, size_t n)
{
    uint8_t p[4 * SIM_OPT_WORDS];
    if (n > SIM_OPT_WORDS) n = SIM_OPT_WORDS;
    for (size_t i = 0; i < n; i++)
        put32(p + 4 * i, opt[i]);
    return jappend(f, REC_OPTIONS, 0, 0, p, (uint32_t)(4 * n));
}

/* Remember the first failure of a write to the file (see
 * oflash__sim_file_error); returns rc. */
static int file_failed(sim_file *f, int rc)
{
    if (rc < 0 && !f->err) {
        f->err = rc;
        snprintf(f->errmsg, sizeof f->errmsg,
                 "%s (the simulated chip's state was not stored; the operation did not "
                 "complete)",
                 oflash_error_last());
        oflash_error_set(rc, "%s", f->errmsg);
    }
    return rc;
}

int oflash__sim_file_error(const sim_file *f)
{
    return f->err ? oflash_error_set(f->err, "%s", f->errmsg) : 0;
}

int oflash__sim_journal_flush(sim_file *f)
{
    int rc;
    if (f->err) return oflash__sim_file_error(f);
    if (f->jlen == 0 || f->fd < 0) return 0;
    jclose(f);
    rc = write_all(f->fd, f->jbuf, f->jlen, f->end, f->path);
    if (rc < 0) return file_failed(f, rc);
    f->end += f->jlen;
    f->jlen = 0;
    f->last_data_off = SIZE_MAX;
    return 0;
}

int oflash__sim_file_compact(sim_file *f, const sim_nv *nv)
{
    uint8_t *buf;
    int rc;
    rc = oflash__sim_journal_flush(f);
    if (rc < 0) return rc;
    if (f->fd < 0) return 0;
    buf = malloc(f->base_size);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    encode_base(buf, nv);
    /* 1: the FULL record makes the new state durable on its own. */
    rc = jappend(f, REC_FULL, 0, 0, buf, (uint32_t)f->base_size);
    if (rc == 0) rc = oflash__sim_journal_flush(f);
    if (rc == 0 && fdatasync(f->fd) != 0)
        rc = oflash_error_set(OFLASH_EIO, "%s: fsync failed: %s", f->path, strerror(errno));
    /* 2: rewrite the base: body first, header last. */
    if (rc == 0) rc = write_all(f->fd, buf + HDR_SIZE, f->base_size - HDR_SIZE, HDR_SIZE, f->path);
    if (rc == 0) rc = write_all(f->fd, buf, HDR_SIZE, 0, f->path);
    if (rc == 0 && fdatasync(f->fd) != 0)
        rc = oflash_error_set(OFLASH_EIO, "%s: fsync failed: %s", f->path, strerror(errno));
    /* 3: drop the journal. */
    if (rc == 0 && ftruncate(f->fd, (off_t)f->base_size) != 0)
        rc = oflash_error_set(OFLASH_EIO, "%s: truncate failed: %s", f->path, strerror(errno));
    if (rc == 0) {
        f->end = f->base_size;
        f->records = 0;
        f->dirty = false;
    }
    free(buf);
    return file_failed(f, rc);
}

void oflash__sim_file_close(sim_file *f)
{
    if (f->fd >= 0) close(f->fd); /* releases the flock */
    f->fd = -1;
    free(f->path);
    free(f->jbuf);
    f->path = NULL;
    f->jbuf = NULL;
    f->jlen = f->jcap = 0;
}

/* ---- public API that needs only the file ---- */

int oflash_sim_parse_uid(uint8_t uid[OFLASH_SIM_UID_LEN], const char *hex)
{
    size_t n = hex ? strlen(hex) : 0;
    if (hex && n == 26 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
        hex += 2;
        n -= 2;
    }
    if (n != 2 * OFLASH_SIM_UID_LEN)
        return oflash_error_set(OFLASH_EINVAL,
                                "unique ID '%s': expected 24 hex digits (12 bytes, the byte at "
                                "the lowest address first)",
                                hex ? hex : "");
    for (size_t i = 0; i < OFLASH_SIM_UID_LEN; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char ch = hex[2 * i + (size_t)k];
            v <<= 4;
            if (ch >= '0' && ch <= '9')
                v |= (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                v |= (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                v |= (unsigned)(ch - 'A' + 10);
            else
                return oflash_error_set(OFLASH_EINVAL,
                                        "unique ID '%s': '%c' at position %zu is not a hex digit",
                                        hex, ch, 2 * i + (size_t)k + 1);
        }
        uid[i] = (uint8_t)v;
    }
    return 0;
}

static int random_uid(uint8_t uid[12])
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0) return oflash_error_set(OFLASH_EIO, "/dev/urandom: %s", strerror(errno));
    read_all(fd, uid, 12, 0, &got);
    close(fd);
    if (got != 12) return oflash_error_set(OFLASH_EIO, "/dev/urandom: short read");
    return 0;
}

int oflash_sim_create(const char *path, const char *device, const char *uid_hex)
{
    const oflash_device *dev;
    uint8_t uid[12];
    int rc;
    if (!path || !*path) return oflash_error_set(OFLASH_EINVAL, "sim: expected a chip file path");
    if (!device || !*device)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s: a new simulated chip needs a part (--device, e.g. "
                                "STM32F401RE)",
                                path);
    dev = oflash__sim_part_device(device);
    if (!dev) {
        char known[1024];
        size_t off = 0, n = oflash_builtin_device_count();
        known[0] = '\0';
        for (size_t i = 0; i < n; i++) {
            const oflash_device *d = oflash_builtin_device(i);
            int k;
            if (!oflash__sim_model_of(d)) continue;
            k = snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "", d->name);
            if (k < 0 || (size_t)k >= sizeof known - off) break;
            off += (size_t)k;
        }
        return oflash_error_set(OFLASH_ENOTFOUND,
                                "device '%s' is not a built-in part the simulator models (%s "
                                "and their aliases)",
                                device, known);
    }
    rc = uid_hex ? oflash_sim_parse_uid(uid, uid_hex) : random_uid(uid);
    if (rc < 0) return rc;
    return oflash__sim_file_create(path, dev, uid);
}

int oflash_sim_info_read(oflash_sim_info *info, const char *path)
{
    sim_file f;
    sim_nv nv;
    const oflash_device *dev;
    const oflash_bank *bank;
    const oflash_sim_model *model;
    oflash_otp_rules r;
    int rc = oflash__sim_file_open(&f, &nv, path, true);
    if (rc < 0) return rc;
    memset(info, 0, sizeof *info);
    dev = oflash__sim_part_device(nv.part);
    model = oflash__sim_model_of(dev);
    snprintf(info->part, sizeof info->part, "%s", nv.part);
    memcpy(info->uid, nv.uid, 12);
    info->flash_size = nv.flash_size;
    info->ram_size = nv.ram_size;
    bank = oflash_device_bank(dev, "flash");
    info->sector_count = bank ? bank->sector_count : 0;
    if (info->sector_count > OFLASH_SIM_MAX_SECTORS) info->sector_count = OFLASH_SIM_MAX_SECTORS;
    for (size_t i = 0; i < info->sector_count; i++) {
        const oflash_sector *s = &bank->sectors[i];
        const uint8_t *p = nv.flash + (s->addr - nv.flash_base);
        bool blank = true;
        for (uint32_t k = 0; k < s->size && blank; k++)
            blank = p[k] == 0xFF;
        info->sector_blank[i] = blank;
    }
    /* OTP and lock bytes where the part's OTP rules put them. */
    memset(info->otp, 0xFF, sizeof info->otp);
    memset(info->otp_lock, 0xFF, sizeof info->otp_lock);
    if (oflash_device_otp_rules(&r, dev) == 0 && r.kind != OFLASH_OTP_NONE) {
        info->otp_base = r.data_base;
        info->otp_size = r.data_size < OFLASH_SIM_OTP_MAX ? r.data_size : OFLASH_SIM_OTP_MAX;
        info->otp_block = r.block_size ? r.block_size : 1;
        info->otp_lock_count =
            r.lock_count < OFLASH_SIM_LOCK_MAX ? r.lock_count : OFLASH_SIM_LOCK_MAX;
        for (uint32_t i = 0; i < info->otp_size; i++)
            if (r.data_base + i >= nv.nv_base && r.data_base + i - nv.nv_base < nv.nv_size)
                info->otp[i] = nv.nv[r.data_base + i - nv.nv_base];
        for (uint32_t i = 0; i < info->otp_lock_count; i++)
            if (r.lock_base + i >= nv.nv_base && r.lock_base + i - nv.nv_base < nv.nv_size)
                info->otp_lock[i] = nv.nv[r.lock_base + i - nv.nv_base];
    }
    memcpy(info->opt, nv.opt, sizeof info->opt);
    info->opt_count = model ? model->opt_words : 0;
    info->optcr = nv.opt[0];
    info->optcr1 = nv.opt[1];
    if (model && model->describe_options)
        model->describe_options(info->options, sizeof info->options, &info->rdp_level,
                                info->sector_wrp, info->sector_count, dev, nv.opt);
    info->faults = nv.faults;
    info->last_run = nv.last_run;
    info->journal_records = f.records;
    oflash__sim_nv_free(&nv);
    oflash__sim_file_close(&f);
    return 0;
}

int oflash_sim_set_faults(const char *path, const oflash_sim_faults *faults)
{
    sim_file f;
    sim_nv nv;
    int rc = oflash__sim_file_open(&f, &nv, path, false);
    if (rc < 0) return rc;
    nv.faults = *faults;
    rc = oflash__sim_file_compact(&f, &nv);
    oflash__sim_nv_free(&nv);
    oflash__sim_file_close(&f);
    return rc;
}

int oflash_sim_rdp_level(uint32_t optcr)
{
    uint8_t rdp = (uint8_t)(optcr >> 8); /* FLASH_OPTCR.RDP, bits 15:8 */
    return rdp == 0xAA ? 0 : rdp == 0xCC ? 2 : 1;
}
