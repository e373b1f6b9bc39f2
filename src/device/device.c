/*
 * device.c - lookups on device descriptions and the device database.
 *
 * Invariant of oflash_devdb: devs[0..count) is in priority order (first
 * match wins); entries from files come before built-ins; every pointer in it
 * stays valid until oflash_devdb_free().
 */
#include "oflash/device.h"
#include "oflash/error.h"
#include "device_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* The built-in table (oflash_builtin_device_count/_device) is the family
 * registry's: src/targets/targets.c. */

bool oflash__device_matches(const oflash_device *d, const char *name)
{
    if (strcasecmp(d->name, name) == 0) return true;
    for (const char *const *a = d->aliases; a && *a; a++)
        if (strcasecmp(*a, name) == 0) return true;
    return false;
}

const oflash_device *oflash_builtin_device_find(const char *name)
{
    size_t n = oflash_builtin_device_count();
    for (size_t i = 0; i < n; i++) {
        const oflash_device *d = oflash_builtin_device(i);
        if (oflash__device_matches(d, name)) return d;
    }
    return NULL;
}

const oflash_bank *oflash_device_bank_at(const oflash_device *dev, uint32_t addr)
{
    for (size_t i = 0; i < dev->bank_count; i++) {
        const oflash_bank *b = &dev->banks[i];
        if (addr >= b->base && addr - b->base < b->size) return b;
    }
    return NULL;
}

const oflash_bank *oflash_device_bank(const oflash_device *dev, const char *name)
{
    for (size_t i = 0; i < dev->bank_count; i++)
        if (strcasecmp(dev->banks[i].name, name) == 0) return &dev->banks[i];
    return NULL;
}

int oflash_bank_sector_at(const oflash_bank *bank, uint32_t addr)
{
    for (size_t i = 0; i < bank->sector_count; i++) {
        const oflash_sector *s = &bank->sectors[i];
        if (addr >= s->addr && addr - s->addr < s->size) return (int)i;
    }
    return -1;
}

int oflash_device_describe_map(char *buf, size_t len, const oflash_device *dev)
{
    size_t off = 0;
    if (len) buf[0] = '\0';
    for (size_t i = 0; i < dev->bank_count && off < len; i++) {
        const oflash_bank *b = &dev->banks[i];
        int n = snprintf(buf + off, len - off, "%s%s 0x%08X-0x%08X", off ? ", " : "", b->name,
                         b->base, b->base + b->size - 1);
        if (n < 0) break;
        off += (size_t)n;
    }
    return 0;
}

/* ---- database ---- */

int oflash__devdb_note_path(oflash_devdb *db, const char *path, const char *origin, bool exists,
                            size_t devices)
{
    oflash_devdb_path *p = realloc(db->paths, (db->npaths + 1) * sizeof *p);
    char **s;
    char *copy = path ? strdup(path) : NULL;
    if (p) db->paths = p;
    s = realloc(db->path_strs, (db->nstrs + 1) * sizeof *s);
    if (s) db->path_strs = s;
    if (!p || !s || (path && !copy)) {
        free(copy);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    if (copy) db->path_strs[db->nstrs++] = copy;
    memmove(db->paths + 1, db->paths, db->npaths * sizeof *db->paths);
    db->paths[0] =
        (oflash_devdb_path){.path = copy, .origin = origin, .exists = exists, .devices = devices};
    db->npaths++;
    return 0;
}

size_t oflash_devdb_path_count(const oflash_devdb *db)
{
    return db->npaths;
}

const oflash_devdb_path *oflash_devdb_path_get(const oflash_devdb *db, size_t i)
{
    return i < db->npaths ? &db->paths[i] : NULL;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_device_file(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') return false; /* hidden, and the store's temporary files */
    return (n > 4 && !strcasecmp(name + n - 4, ".xml")) ||
           (n > 5 && !strcasecmp(name + n - 5, ".pdsc")) ||
           (n > 5 && !strcasecmp(name + n - 5, ".pack"));
}

/* Load every *.xml, *.pdsc and *.pack of dir: alphabetical order, earlier
 * names winning.  A broken file in a directory is skipped with a warning
 * (one bad pack in the store must not stop every command); a file named
 * directly is an error. */
static int load_dir(oflash_devdb *db, const char *dir, const char *origin)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, before = db->count;
    int rc = 0;
    if (!d) return oflash_error_set(OFLASH_EIO, "%s: %s", dir, strerror(errno));
    while ((e = readdir(d))) {
        if (!is_device_file(e->d_name)) continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof *nn);
            if (!nn) {
                rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) {
            rc = oflash_error_set(OFLASH_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n) qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = n; rc == 0 && i-- > 0;) {
        if (oflash__devfile_load(db, names[i]) < 0) {
            oflash_log(OFLASH_LOG_WARN, "skipping %s: %s", names[i], oflash_error_last());
            oflash_error_clear();
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc == 0) rc = oflash__devdb_note_path(db, dir, origin, true, db->count - before);
    return rc;
}

/* A file or directory named by the user ($OFLASH_DEVICES). */
static int load_entry(oflash_devdb *db, const char *path, const char *origin)
{
    struct stat st;
    size_t before = db->count;
    if (stat(path, &st) < 0)
        return oflash_error_set(OFLASH_ENOTFOUND, "%s: %s: %s", origin, path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return load_dir(db, path, origin);
    if (oflash__devfile_load(db, path) < 0) return oflash_error_prefix("%s: ", origin);
    return oflash__devdb_note_path(db, path, origin, true, db->count - before);
}

static int load_user_paths(oflash_devdb *db)
{
    char dir[4096];
    const char *env = getenv("OFLASH_DEVICES");
    struct stat st;
    int rc;
    /* Lowest priority first: the store, then $OFLASH_DEVICES right to left. */
    if (oflash_devstore_dir(dir, sizeof dir) == 0) {
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            if ((rc = load_dir(db, dir, "config")) < 0) return rc;
        } else if ((rc = oflash__devdb_note_path(db, dir, "config", false, 0)) < 0) {
            return rc;
        }
    }
    oflash_error_clear();
    if (env && *env) {
        char *copy = strdup(env), *parts[256];
        size_t n = 0;
        if (!copy) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        for (char *save = NULL, *t = strtok_r(copy, ":", &save); t && n < 256;
             t = strtok_r(NULL, ":", &save))
            parts[n++] = t;
        for (size_t i = n; i-- > 0;)
            if ((rc = load_entry(db, parts[i], "$OFLASH_DEVICES")) < 0) {
                free(copy);
                return rc;
            }
        free(copy);
    }
    return 0;
}

int oflash_devdb_open(oflash_devdb **out, const oflash_devdb_opts *opts)
{
    oflash_devdb *db = calloc(1, sizeof *db);
    size_t n = oflash_builtin_device_count();
    int rc;
    *out = NULL;
    if (!db) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    db->no_user_paths = opts && opts->no_user_paths;
    db->cap = n + 16;
    db->devs = calloc(db->cap, sizeof *db->devs);
    if (!db->devs) {
        free(db);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        db->devs[db->count++] = oflash_builtin_device(i);
    if ((rc = oflash__devdb_note_path(db, NULL, "built-in", true, n)) < 0 ||
        (!db->no_user_paths && (rc = load_user_paths(db)) < 0)) {
        oflash_devdb_free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void oflash_devdb_free(oflash_devdb *db)
{
    if (!db) return;
    if (db->free_files) db->free_files(db);
    for (size_t i = 0; i < db->nstrs; i++)
        free(db->path_strs[i]);
    free(db->path_strs);
    free(db->paths);
    free(db->devs);
    free(db);
}

int oflash__devdb_push_front(oflash_devdb *db, const oflash_device *dev)
{
    if (db->count == db->cap) {
        size_t cap = db->cap * 2;
        const oflash_device **d = realloc(db->devs, cap * sizeof *d);
        if (!d) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        db->devs = d;
        db->cap = cap;
    }
    memmove(db->devs + 1, db->devs, db->count * sizeof *db->devs);
    db->devs[0] = dev;
    db->count++;
    return 0;
}

int oflash_devdb_add_file(oflash_devdb *db, const char *path)
{
    size_t before = db->count;
    int rc;
    if ((rc = oflash__devfile_load(db, path)) < 0) return rc;
    return oflash__devdb_note_path(db, path, "file", true, db->count - before);
}

int oflash_devdb_find(const oflash_device **out, oflash_devdb *db, const char *name)
{
    for (size_t i = 0; i < db->count; i++)
        if (oflash__device_matches(db->devs[i], name)) {
            *out = db->devs[i];
            return 0;
        }
    *out = NULL;
    return oflash_error_set(OFLASH_ENOTFOUND,
                            "unknown device '%s' (oflash devices lists the known ones)", name);
}

size_t oflash_devdb_count(const oflash_devdb *db)
{
    return db->count;
}

const oflash_device *oflash_devdb_get(const oflash_devdb *db, size_t i)
{
    return i < db->count ? db->devs[i] : NULL;
}
