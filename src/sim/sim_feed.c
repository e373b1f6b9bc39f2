/*
 * sim_feed.c - the "sim-feed" probe backend: a rehearsal production line.
 *
 * Spec: sim-feed:DIR[?device=PART&seed=N&power-loss=P&power-loss-ops=N&retries=N&cpu=C]
 *
 * Every open places "the next board": a fresh simulated chip file in DIR
 * (chip-000001.sim, chip-000002.sim, ...) with its own unique ID and erased
 * flash and OTP, opened as sim: opens a chip.  As an operator does, a board
 * whose unit did not pass is placed again: unless the station reported the
 * unit as passed (oflash_sim_feed_result()) before closing the probe, the
 * next open brings the same chip back (same UID, same contents) -- also
 * after the station was killed, since the feed notes the board it placed
 * before the chip is opened.  After `retries` failed placements (default 3)
 * the board is set aside (listed in DIR/set-aside.txt) and a fresh one
 * comes.
 *
 * State: DIR/feed.state (next index, the board on the fixture and how often
 * it was placed), rewritten atomically (write, fsync, rename).  One feed is
 * one port: the probe holds an exclusive flock on DIR/feed.lock from open to
 * close, so a second port on the same folder is refused at once.
 *
 * UIDs: random (/dev/urandom), or with seed=N derived from N, the folder's
 * real path and the board's index, so a test gets the same UIDs every run
 * and two feeds with the same seed still get different ones.
 *
 * power-loss=P arms, with probability P for each placement, the simulator's
 * power-loss fault (oflash_sim_faults.power_loss_after) at a random flash
 * operation in [0, power-loss-ops) (default 2000): the chip then loses power
 * in the middle of its unit, the way a board is knocked off its fixture.
 *
 * cpu=spare runs each board's core on a thread of its own at idle CPU
 * priority (sim_core.c): the emulation then takes only CPU the station
 * leaves over, as silicon takes none of the host's.  cpu=shared (the
 * default) runs it on the port's thread like sim:.
 */
#include "sim_internal.h"

#include "oflash/error.h"
#include "oflash/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FEED_STATE "feed.state"
#define FEED_LOCK "feed.lock"
#define FEED_ASIDE "set-aside.txt"

struct sim_feed {
    char dir[PATH_MAX];
    int lock_fd;
    uint64_t next;    /* index of the next fresh board */
    char current[64]; /* board on the fixture ("" none) */
    unsigned placed;  /* how often the current board was placed */
    bool passed;      /* the station reported the unit as passed */
};

typedef struct feed_opts {
    const char *device;
    char device_buf[96];
    bool have_seed;
    uint64_t seed;
    double power_loss;
    uint64_t power_loss_ops;
    unsigned retries;
    bool spare_cpu;
} feed_opts;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
    return h;
}

static int urandom64(uint64_t *out)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t r;
    if (fd < 0) return oflash_error_set(OFLASH_EIO, "/dev/urandom: %s", strerror(errno));
    r = read(fd, out, sizeof *out);
    close(fd);
    if (r != (ssize_t)sizeof *out) return oflash_error_set(OFLASH_EIO, "/dev/urandom: short read");
    return 0;
}

static bool parse_u64(uint64_t *out, const char *v)
{
    char *end;
    if (!*v || *v == '-') return false;
    errno = 0;
    *out = strtoull(v, &end, 0);
    return !errno && !*end;
}

/* "DIR?k=v&k=v": dir gets DIR, o the options. */
static int parse_spec(char *dir, size_t dirlen, feed_opts *o, const char *arg,
                      const oflash_probe_opts *popts)
{
    const char *q = strchr(arg, '?');
    size_t n = q ? (size_t)(q - arg) : strlen(arg);
    memset(o, 0, sizeof *o);
    o->power_loss_ops = 2000;
    o->retries = 3;
    o->device = popts ? popts->device : NULL;
    if (n == 0)
        return oflash_error_set(OFLASH_EINVAL,
                                "probe 'sim-feed:%s': expected sim-feed:DIR (a folder for the "
                                "boards)",
                                arg);
    if (n >= dirlen) return oflash_error_set(OFLASH_EINVAL, "sim-feed: folder name too long");
    memcpy(dir, arg, n);
    dir[n] = '\0';
    while (q && *q) {
        const char *k = q + 1, *amp = strchr(k, '&'), *eq;
        size_t klen = amp ? (size_t)(amp - k) : strlen(k);
        char key[32], val[96];
        uint64_t u;
        q = amp;
        if (klen == 0) continue;
        eq = memchr(k, '=', klen);
        if (!eq || (size_t)(eq - k) >= sizeof key || klen - (size_t)(eq - k) - 1 >= sizeof val)
            return oflash_error_set(OFLASH_EINVAL,
                                    "probe 'sim-feed:%s': expected KEY=VALUE options after '?' "
                                    "(device, seed, power-loss, power-loss-ops, retries, cpu)",
                                    arg);
        snprintf(key, sizeof key, "%.*s", (int)(eq - k), k);
        snprintf(val, sizeof val, "%.*s", (int)(klen - (size_t)(eq - k) - 1), eq + 1);
        if (strcmp(key, "device") == 0) {
            snprintf(o->device_buf, sizeof o->device_buf, "%s", val);
            o->device = o->device_buf;
        } else if (strcmp(key, "seed") == 0 && parse_u64(&u, val)) {
            o->have_seed = true;
            o->seed = u;
        } else if (strcmp(key, "power-loss") == 0) {
            char *end;
            errno = 0;
            o->power_loss = strtod(val, &end);
            if (errno || *end || !(o->power_loss >= 0.0 && o->power_loss <= 1.0))
                return oflash_error_set(OFLASH_EINVAL,
                                        "probe 'sim-feed:%s': power-loss '%s': expected a "
                                        "probability from 0 to 1",
                                        arg, val);
        } else if (strcmp(key, "power-loss-ops") == 0 && parse_u64(&u, val) && u > 0) {
            o->power_loss_ops = u;
        } else if (strcmp(key, "retries") == 0 && parse_u64(&u, val) && u < 1000) {
            o->retries = (unsigned)u;
        } else if (strcmp(key, "cpu") == 0 && (!strcmp(val, "spare") || !strcmp(val, "shared"))) {
            o->spare_cpu = strcmp(val, "spare") == 0;
        } else {
            return oflash_error_set(OFLASH_EINVAL,
                                    "probe 'sim-feed:%s': bad option '%s=%s' (device=PART, "
                                    "seed=N, power-loss=0..1, power-loss-ops=N>0, retries=N, "
                                    "cpu=spare|shared)",
                                    arg, key, val);
        }
    }
    return 0;
}

static void read_state(struct sim_feed *f)
{
    char path[PATH_MAX + 16], line[128];
    FILE *fp;
    f->next = 1;
    f->current[0] = '\0';
    f->placed = 0;
    snprintf(path, sizeof path, "%s/%s", f->dir, FEED_STATE);
    fp = fopen(path, "re");
    if (!fp) return;
    while (fgets(line, sizeof line, fp)) {
        uint64_t n;
        char name[64];
        unsigned placed;
        if (sscanf(line, "next %" SCNu64, &n) == 1 && n > 0)
            f->next = n;
        else if (sscanf(line, "current %63s %u", name, &placed) == 2 && !strchr(name, '/')) {
            snprintf(f->current, sizeof f->current, "%s", name);
            f->placed = placed;
        }
    }
    fclose(fp);
}

static int write_state(const struct sim_feed *f)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
    FILE *fp;
    int ok;
    snprintf(path, sizeof path, "%s/%s", f->dir, FEED_STATE);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", f->dir, FEED_STATE);
    fp = fopen(tmp, "we");
    if (!fp) return oflash_error_set(OFLASH_EIO, "%s: %s", tmp, strerror(errno));
    fprintf(fp, "# oflash sim-feed: the next board and the one on the fixture\nnext %" PRIu64 "\n",
            f->next);
    if (f->current[0]) fprintf(fp, "current %s %u\n", f->current, f->placed);
    ok = fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok = (fclose(fp) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        return oflash_error_set(OFLASH_EIO, "%s: cannot write the feed state: %s", path,
                                strerror(errno));
    return 0;
}

static void set_aside(const struct sim_feed *f)
{
    char path[PATH_MAX + 16];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", f->dir, FEED_ASIDE);
    fp = fopen(path, "ae");
    if (fp) {
        fprintf(fp, "%s: placed %u times without passing, set aside\n", f->current, f->placed);
        fclose(fp);
    }
    oflash_log(OFLASH_LOG_WARN, "sim-feed %s: board %s failed %u times, set aside", f->dir,
               f->current, f->placed);
}

/* A fresh board: the next chip file with its own UID. */
static int new_board(struct sim_feed *f, const feed_opts *o, uint64_t dirhash)
{
    for (;;) {
        char name[64], path[PATH_MAX + 80], hex[25];
        uint64_t s, a, b;
        struct stat st;
        int rc;
        snprintf(name, sizeof name, "chip-%06" PRIu64 ".sim", f->next);
        snprintf(path, sizeof path, "%s/%s", f->dir, name);
        if (o->have_seed) {
            s = o->seed ^ dirhash ^ (f->next * 0xD1B54A32D192ED03ull);
        } else {
            rc = urandom64(&s);
            if (rc) return rc;
        }
        a = splitmix(&s);
        b = splitmix(&s);
        snprintf(hex, sizeof hex, "%016" PRIx64 "%08" PRIx32, a, (uint32_t)b);
        f->next++;
        if (stat(path, &st) == 0)
            continue; /* a board of an earlier run: never placed again as new */
        if (!o->device)
            return oflash_error_set(OFLASH_EINVAL,
                                    "sim-feed %s: a new board needs its part (--device PART or "
                                    "sim-feed:DIR?device=PART)",
                                    f->dir);
        rc = oflash_sim_create(path, o->device, hex);
        if (rc) return rc;
        snprintf(f->current, sizeof f->current, "%s", name);
        f->placed = 0;
        return 0;
    }
}

/* Arm (or disarm) the power-loss fault of the board for this placement. */
static int roll_power_loss(const struct sim_feed *f, const feed_opts *o, const char *path,
                           uint64_t dirhash)
{
    oflash_sim_info *info;
    uint64_t s;
    int rc;
    if (o->power_loss <= 0.0) return 0;
    if (o->have_seed) {
        s = o->seed ^ dirhash ^ fnv1a(f->current) ^ ((uint64_t)f->placed << 48);
    } else {
        rc = urandom64(&s);
        if (rc) return rc;
    }
    info = malloc(sizeof *info);
    if (!info) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    rc = oflash_sim_info_read(info, path);
    if (!rc) {
        double r = (double)(splitmix(&s) >> 11) / 9007199254740992.0; /* [0, 1) */
        info->faults.power_loss = r < o->power_loss;
        info->faults.power_loss_after = splitmix(&s) % o->power_loss_ops;
        rc = oflash_sim_set_faults(path, &info->faults);
        if (info->faults.power_loss)
            oflash_log(OFLASH_LOG_DEBUG,
                       "sim-feed %s: %s will lose power after %" PRIu64 " flash operations", f->dir,
                       f->current, info->faults.power_loss_after);
    }
    free(info);
    return rc;
}

int oflash__sim_feed_open(sim_chip **out, const char *arg, const oflash_probe_opts *opts)
{
    struct sim_feed *f;
    feed_opts o;
    char real[PATH_MAX], path[PATH_MAX + 80], lock[PATH_MAX + 16];
    uint64_t dirhash;
    int rc;

    *out = NULL;
    f = calloc(1, sizeof *f);
    if (!f) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    f->lock_fd = -1;
    rc = parse_spec(f->dir, sizeof f->dir, &o, arg, opts);
    if (rc) goto fail;
    if (mkdir(f->dir, 0777) != 0 && errno != EEXIST) {
        rc = oflash_error_set(OFLASH_EIO, "sim-feed %s: cannot create the folder: %s", f->dir,
                              strerror(errno));
        goto fail;
    }
    if (!realpath(f->dir, real)) {
        rc = oflash_error_set(OFLASH_EIO, "sim-feed %s: %s", f->dir, strerror(errno));
        goto fail;
    }
    dirhash = fnv1a(real);
    snprintf(lock, sizeof lock, "%s/%s", f->dir, FEED_LOCK);
    f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (f->lock_fd < 0) {
        rc = oflash_error_set(OFLASH_EIO, "sim-feed %s: %s: %s", f->dir, lock, strerror(errno));
        goto fail;
    }
    if (flock(f->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = oflash_error_set(errno == EWOULDBLOCK ? OFLASH_ELINK : OFLASH_EIO,
                              "sim-feed %s: the feed is in use by another port (give every port "
                              "its own feed folder)",
                              f->dir);
        goto fail;
    }
    read_state(f);
    if (f->current[0] && f->placed > o.retries) {
        set_aside(f);
        f->current[0] = '\0';
    }
    if (!f->current[0]) {
        rc = new_board(f, &o, dirhash);
        if (rc) goto fail;
    }
    f->placed++;
    /* Noted before the chip is opened: a station killed from here on gets
     * the same board back. */
    rc = write_state(f);
    if (rc) goto fail;
    snprintf(path, sizeof path, "%s/%s", f->dir, f->current);
    rc = roll_power_loss(f, &o, path, dirhash);
    if (rc) goto fail;
    rc = oflash__sim_chip_open(out, path, opts);
    if (rc) goto fail;
    if (o.spare_cpu && (rc = oflash__sim_core_start(*out)) < 0) {
        oflash__sim_chip_close(*out);
        *out = NULL;
        goto fail;
    }
    (*out)->feed = f;
    return 0;
fail:
    if (f->lock_fd >= 0) close(f->lock_fd);
    free(f);
    return rc;
}

void oflash__sim_feed_close(sim_chip *c)
{
    struct sim_feed *f = c->feed;
    oflash__sim_chip_close(c);
    if (!f) return;
    if (f->passed) {
        /* The board is taken off the fixture; the next open places a new one. */
        f->current[0] = '\0';
        f->placed = 0;
        if (write_state(f)) oflash_log(OFLASH_LOG_WARN, "%s", oflash_error_last());
    }
    close(f->lock_fd);
    free(f);
}

const char *oflash__sim_feed_board(const sim_chip *c)
{
    return c->feed ? c->feed->current : NULL;
}

void oflash__sim_feed_set_result(sim_chip *c, bool passed)
{
    if (c->feed) c->feed->passed = passed;
}
