/*
 * job.c - the production job file (oflash_job_load, include/oflash/prod.h).
 *
 * An INI file read with inih (Debian libinih1, loaded with dlopen() on
 * first use like Unicorn): a [job] section and a [serial] section whose
 * keys are the words of `oflash prod run`'s flags (docs/job-file.md).  Why
 * INI: a job is a flat list of settings a technician edits in any editor;
 * INI has no indentation rules, no types to get wrong and no nesting, and
 * inih is a small, well-kept parser Debian ships.
 *
 * inih does not tell its handler the line number; the lines are fed to it
 * through ini_parse_stream() by a reader that counts them, so every error
 * names file and line.  Every value is checked here (numbers, names,
 * booleans, files that must exist, the serial scheme as the pool will use
 * it), so a job that loads has no bad setting left for the station to find.
 */
#include "prod/prod_internal.h"

#include "common/file.h"
#include "common/lazylib.h"
#include "oflash/error.h"
#include "oflash/prod.h"
#include "oflash/web.h"
#include "web/web_check.h"

#include <ini.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOB_MAX_BYTES (1u << 20)
#define INIH_MISSING INT_MIN

static oflash_lazylib inih = OFLASH_LAZYLIB_INIT("libinih.so.1", "libinih1");

OFLASH_LAZY_FN(inih, int, INIH_MISSING, ini_parse_stream,
               (ini_reader reader, void *stream, ini_handler handler, void *user),
               (reader, stream, handler, user))

struct oflash_job_file {
    char **strs;
    size_t n, cap;
    oflash_job_web web;
};

enum key_id {
    K_IMAGE,
    K_DEVICE,
    K_PROBE,
    K_DB,
    K_STATION,
    K_UNITS,
    K_LOCK,
    K_RDP,
    K_RDP2,
    K_RUN,
    K_HTTP,
    K_HTTP_TOKEN,
    K_HTTP_CERT,
    K_HTTP_KEY,
    K_HTTP_INSECURE,
    K_AT,
    K_FORMAT,
    K_LEN,
    K_START,
    K_STEP,
    K_PREFIX,
    K_CRC32,
    K_LIST,
    K_POOL,
    K_COUNT
};

static const struct key {
    const char *section;
    const char *name;
    bool repeatable;
} keys[K_COUNT] = {
    [K_IMAGE] = {"job", "image", true},
    [K_DEVICE] = {"job", "device", false},
    [K_PROBE] = {"job", "probe", true},
    [K_DB] = {"job", "db", false},
    [K_STATION] = {"job", "station", false},
    [K_UNITS] = {"job", "units", false},
    [K_LOCK] = {"job", "lock", false},
    [K_RDP] = {"job", "rdp", false},
    [K_RDP2] = {"job", "rdp2_permanent", false},
    [K_RUN] = {"job", "run", false},
    [K_HTTP] = {"job", "http", false},
    [K_HTTP_TOKEN] = {"job", "http_token", false},
    [K_HTTP_CERT] = {"job", "http_cert", false},
    [K_HTTP_KEY] = {"job", "http_key", false},
    [K_HTTP_INSECURE] = {"job", "http_insecure", false},
    [K_AT] = {"serial", "at", false},
    [K_FORMAT] = {"serial", "format", false},
    [K_LEN] = {"serial", "len", false},
    [K_START] = {"serial", "start", false},
    [K_STEP] = {"serial", "step", false},
    [K_PREFIX] = {"serial", "prefix", false},
    [K_CRC32] = {"serial", "crc32", false},
    [K_LIST] = {"serial", "list", false},
    [K_POOL] = {"serial", "pool", false},
};

typedef struct parse_ctx {
    const char *path;  /* the job file as named */
    char dir[PATH_MAX];/* its folder ("" when it has none) */
    oflash_job *job;
    oflash_job_file *st;
    const char *text, *pos, *end;
    unsigned line;
    bool too_long;
    int rc;            /* first error */
    unsigned seen[K_COUNT]; /* line a key was first given on (0: not given) */
    bool serial_section;
    unsigned serial_line;
} parse_ctx;

static char *keep(oflash_job_file *st, char *s)
{
    if (!s)
        return NULL;
    if (st->n == st->cap) {
        size_t nc = st->cap ? st->cap * 2 : 16;
        char **ns = realloc(st->strs, nc * sizeof *ns);
        if (!ns) {
            free(s);
            return NULL;
        }
        st->strs = ns;
        st->cap = nc;
    }
    st->strs[st->n++] = s;
    return s;
}

void oflash_job_file_web(oflash_job_web *out, const oflash_job_file *st)
{
    if (st)
        *out = st->web;
    else
        memset(out, 0, sizeof *out);
}

void oflash_job_file_free(oflash_job_file *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        free(st->strs[i]);
    free(st->strs);
    free(st);
}

/* The reader inih calls for each line: counts lines, refuses long ones. */
static char *reader(char *str, int num, void *stream)
{
    parse_ctx *c = stream;
    const char *nl;
    size_t n;
    if (c->pos >= c->end || c->too_long)
        return NULL;
    nl = memchr(c->pos, '\n', (size_t)(c->end - c->pos));
    n = nl ? (size_t)(nl - c->pos) + 1 : (size_t)(c->end - c->pos);
    c->line++;
    if (n + 1 > (size_t)num) {
        c->too_long = true;
        return NULL;
    }
    memcpy(str, c->pos, n);
    str[n] = '\0';
    c->pos += n;
    return str;
}

#define FAIL(c, code, ...)                                                                         \
    do {                                                                                           \
        if (!(c)->rc)                                                                              \
            (c)->rc = oflash_error_set(code, __VA_ARGS__);                                         \
        return 0;                                                                                  \
    } while (0)

static bool parse_u64(uint64_t *out, const char *v)
{
    char *end;
    if (!*v || *v == '-' || *v == '+')
        return false;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (errno || *end)
        return false;
    *out = x;
    return true;
}

static bool parse_bool(bool *out, const char *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false",
                                                                               "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* value resolved against the job file's folder (absolute values unchanged). */
static char *resolve(const parse_ctx *c, const char *v)
{
    char *s;
    if (v[0] == '/' || !c->dir[0])
        return strdup(v);
    if (asprintf(&s, "%s/%s", c->dir, v) < 0)
        return NULL;
    return s;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Does the image spec name a file ("fw.hex", "fw.bin@0x08000000")? */
static bool image_exists(const char *spec)
{
    const char *at = strrchr(spec, '@');
    char *p;
    bool ok;
    if (is_file(spec) || !at)
        return is_file(spec);
    p = strndup(spec, (size_t)(at - spec));
    ok = p && is_file(p);
    free(p);
    return ok;
}

static int store(parse_ctx *c, enum key_id k, const char *v)
{
    oflash_job *j = c->job;
    oflash_serial_scheme *s = &j->serial;
    uint64_t u;
    bool b;
    char *p = NULL;

    switch (k) {
    case K_IMAGE:
        if (j->nimages == OFLASH_JOB_MAX_IMAGES)
            FAIL(c, OFLASH_EINVAL, "%s:%u: more than %d images", c->path, c->line,
                 OFLASH_JOB_MAX_IMAGES);
        p = keep(c->st, resolve(c, v));
        if (!p)
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        if (!image_exists(p))
            FAIL(c, OFLASH_ENOTFOUND,
                 "%s:%u: image file '%s' not found (%s; paths in a job file are relative to "
                 "the job file's folder)",
                 c->path, c->line, v, p);
        j->images[j->nimages++] = p;
        return 1;
    case K_PROBE:
        if (j->nprobes == OFLASH_STATION_MAX_PORTS)
            FAIL(c, OFLASH_EINVAL, "%s:%u: more than %d probes (ports)", c->path, c->line,
                 OFLASH_STATION_MAX_PORTS);
        if ((strncmp(v, "sim:", 4) == 0 && v[4] && v[4] != '/') ||
            (strncmp(v, "sim-feed:", 9) == 0 && v[9] && v[9] != '/')) {
            size_t pre = v[3] == ':' ? 4 : 9;
            char *r = resolve(c, v + pre);
            if (r && asprintf(&p, "%.*s%s", (int)pre, v, r) < 0)
                p = NULL;
            free(r);
        } else {
            p = strdup(v);
        }
        if (!keep(c->st, p))
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        j->probes[j->nprobes++] = p;
        return 1;
    case K_DEVICE:
    case K_STATION:
        p = keep(c->st, strdup(v));
        if (!p)
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        if (k == K_DEVICE)
            j->device = p;
        else
            j->station = p;
        return 1;
    case K_DB:
        if (strncmp(v, "sqlite:", 7) == 0 && v[7]) {
            char *r = resolve(c, v + 7);
            if (r && asprintf(&p, "sqlite:%s", r) < 0)
                p = NULL;
            free(r);
        } else if (strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0) {
            p = strdup(v);
        } else {
            FAIL(c, OFLASH_EINVAL,
                 "%s:%u: db '%s': expected sqlite:PATH or postgresql://...", c->path, c->line,
                 v);
        }
        if (!keep(c->st, p))
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        j->db_url = p;
        return 1;
    case K_UNITS:
        if (!parse_u64(&u, v))
            FAIL(c, OFLASH_EINVAL,
                 "%s:%u: units '%s': expected a number of units (0: until stopped)", c->path,
                 c->line, v);
        j->units = u;
        return 1;
    case K_LOCK:
    case K_RDP2:
    case K_RUN:
    case K_CRC32:
        if (!parse_bool(&b, v))
            FAIL(c, OFLASH_EINVAL, "%s:%u: %s '%s': expected yes or no", c->path, c->line,
                 keys[k].name, v);
        if (k == K_LOCK)
            j->lock = b;
        else if (k == K_RDP2)
            j->allow_rdp2 = b;
        else if (k == K_RUN)
            j->run = b;
        else
            s->crc32 = b;
        return 1;
    case K_RDP:
        if (!parse_u64(&u, v) || u > 2)
            FAIL(c, OFLASH_EINVAL,
                 "%s:%u: rdp '%s': expected 0 (none), 1 (readout protection) or 2 "
                 "(permanent)",
                 c->path, c->line, v);
        j->rdp = (int)u;
        return 1;
    case K_AT:
        if (!parse_u64(&u, v) || u > 0xFFFFFFFFu)
            FAIL(c, OFLASH_EINVAL, "%s:%u: at '%s': expected an address (0x1FFF7800)",
                 c->path, c->line, v);
        s->at = (uint32_t)u;
        return 1;
    case K_FORMAT:
        if (oflash_serial_format_parse(&s->format, v))
            FAIL(c, OFLASH_EINVAL,
                 "%s:%u: format '%s': expected bin-le, bin-be, ascii-dec, ascii-hex or bcd",
                 c->path, c->line, v);
        return 1;
    case K_LEN:
        if (!parse_u64(&u, v) || u == 0 || u > OFLASH_SERIAL_FIELD_MAX)
            FAIL(c, OFLASH_EINVAL, "%s:%u: len '%s': expected bytes of the number, 1 to %d",
                 c->path, c->line, v, OFLASH_SERIAL_FIELD_MAX);
        s->len = (unsigned)u;
        return 1;
    case K_START:
    case K_STEP:
        if (!parse_u64(&u, v) || (k == K_STEP && u == 0))
            FAIL(c, OFLASH_EINVAL, "%s:%u: %s '%s': expected a %snumber", c->path, c->line,
                 keys[k].name, v, k == K_STEP ? "positive " : "");
        if (k == K_START)
            s->start = u;
        else
            s->step = u;
        return 1;
    case K_PREFIX:
        p = keep(c->st, strdup(v));
        if (!p)
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        s->prefix = p;
        return 1;
    case K_LIST:
        p = keep(c->st, resolve(c, v));
        if (!p)
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        if (!is_file(p))
            FAIL(c, OFLASH_ENOTFOUND,
                 "%s:%u: serial list '%s' not found (%s; paths in a job file are relative to "
                 "the job file's folder)",
                 c->path, c->line, v, p);
        s->list_path = p;
        return 1;
    case K_POOL:
        p = keep(c->st, strdup(v));
        if (!p)
            FAIL(c, OFLASH_ENOMEM, "out of memory");
        s->pool = p;
        return 1;
    case K_HTTP:
    case K_HTTP_TOKEN:
        if ((k == K_HTTP ? oflash__web_check_listen(v) : oflash__web_check_token(v)) < 0) {
            c->rc = oflash_error_prefix("%s:%u: ", c->path, c->line);
            return 0;
        }
        p = keep(c->st, strdup(v));
        if (!p) FAIL(c, OFLASH_ENOMEM, "out of memory");
        *(k == K_HTTP ? &c->st->web.http : &c->st->web.http_token) = p;
        return 1;
    case K_HTTP_CERT:
    case K_HTTP_KEY:
        p = keep(c->st, resolve(c, v));
        if (!p) FAIL(c, OFLASH_ENOMEM, "out of memory");
        if (!is_file(p))
            FAIL(c, OFLASH_ENOTFOUND,
                 "%s:%u: %s: the web page's %s file '%s' not found (%s; paths in a job file are "
                 "relative to the job file's folder)",
                 c->path, c->line, keys[k].name, k == K_HTTP_CERT ? "certificate" : "key", v, p);
        *(k == K_HTTP_CERT ? &c->st->web.http_cert : &c->st->web.http_key) = p;
        return 1;
    case K_HTTP_INSECURE:
        if (!parse_bool(&b, v))
            FAIL(c, OFLASH_EINVAL, "%s:%u: %s '%s': expected yes or no", c->path, c->line,
                 keys[k].name, v);
        c->st->web.http_insecure = b;
        return 1;
    case K_COUNT:
        break;
    }
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_ctx *c = user;
    const char *sec = section[0] ? section : "job";
    size_t k;

    if (c->rc)
        return 1; /* the first error is the one reported */
    if (strcmp(sec, "job") != 0 && strcmp(sec, "serial") != 0)
        FAIL(c, OFLASH_EINVAL, "%s:%u: unknown section [%s] (a job file has [job] and [serial])",
             c->path, c->line, section);
    if (strcmp(sec, "serial") == 0 && !c->serial_section) {
        c->serial_section = true;
        c->serial_line = c->line;
    }
    for (k = 0; k < K_COUNT; k++)
        if (strcmp(keys[k].section, sec) == 0 && strcmp(keys[k].name, name) == 0)
            break;
    if (k == K_COUNT) {
        char known[256] = "";
        size_t n = 0;
        for (size_t i = 0; i < K_COUNT; i++)
            if (strcmp(keys[i].section, sec) == 0)
                n += (size_t)snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "",
                                      keys[i].name);
        for (size_t i = 0; i < K_COUNT; i++)
            if (strcmp(keys[i].section, sec) != 0 && strcmp(keys[i].name, name) == 0)
                FAIL(c, OFLASH_EINVAL, "%s:%u: '%s' belongs in [%s], not [%s]", c->path,
                     c->line, name, keys[i].section, sec);
        FAIL(c, OFLASH_EINVAL, "%s:%u: unknown key '%s' in [%s] (known: %s)", c->path, c->line,
             name, sec, known);
    }
    if (c->seen[k] && !keys[k].repeatable)
        FAIL(c, OFLASH_EINVAL, "%s:%u: '%s' is given twice (first on line %u)", c->path,
             c->line, name, c->seen[k]);
    if (!value[0] && k != K_PREFIX)
        FAIL(c, OFLASH_EINVAL, "%s:%u: '%s' has no value", c->path, c->line, name);
    if (!c->seen[k])
        c->seen[k] = c->line;
    return store(c, (enum key_id)k, value);
}

/* The web keys together, once the file is read: "FILE:LINE" of each, the
 * certificate and key as a pair (read and verified as the page will), and
 * http_insecure against http_cert.  How they combine with the flags is
 * the CLI's check (prod_web.c). */
static int check_web(parse_ctx *c)
{
    static const enum key_id ks[] = {K_HTTP, K_HTTP_TOKEN, K_HTTP_CERT, K_HTTP_KEY,
                                     K_HTTP_INSECURE};
    oflash_job_web *w = &c->st->web;
    const char **at[] = {&w->http_at, &w->http_token_at, &w->http_cert_at, &w->http_key_at,
                         &w->http_insecure_at};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        char *a;
        if (!c->seen[ks[i]]) continue;
        if (asprintf(&a, "%s:%u", c->path, c->seen[ks[i]]) < 0 || !(*at[i] = keep(c->st, a)))
            return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    if (w->http_insecure && w->http_cert)
        return oflash_error_set(OFLASH_EINVAL,
                                "%s:%u: http_insecure = yes and http_cert (line %u) together: with "
                                "a certificate the page is HTTPS; drop http_insecure",
                                c->path, c->seen[K_HTTP_INSECURE], c->seen[K_HTTP_CERT]);
    if (w->http_cert && w->http_key) {
        oflash_web_opts o = OFLASH_WEB_OPTS_INIT;
        o.listen = "127.0.0.1:0";
        o.tls_cert = w->http_cert;
        o.tls_key = w->http_key;
        /* The message starts with the option at fault: its key's line. */
        if (oflash_web_check(NULL, &o) < 0)
            return oflash_error_prefix("%s:%u: ", c->path,
                                       strncmp(oflash_error_last(), "--http-key", 10) == 0
                                           ? c->seen[K_HTTP_KEY]
                                           : c->seen[K_HTTP_CERT]);
    }
    return 0;
}

static int read_text(char **out, size_t *len, const char *path)
{
    struct stat st;
    int fd, rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "job file");
    char *buf;
    size_t got = 0;
    if (rc)
        return rc;
    if ((uint64_t)st.st_size > JOB_MAX_BYTES) {
        close(fd);
        return oflash_error_set(OFLASH_EFORMAT, "%s: a job file of %lld bytes is too large",
                                path, (long long)st.st_size);
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = oflash_error_set(OFLASH_EIO, "%s: cannot read the job file: %s", path,
                                  r < 0 ? strerror(errno) : "file shrank while reading");
            close(fd);
            free(buf);
            return rc;
        }
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    if (memchr(buf, '\0', got)) {
        free(buf);
        return oflash_error_set(OFLASH_EFORMAT, "%s: not a text file (it holds NUL bytes)", path);
    }
    *out = buf;
    *len = got;
    return 0;
}

int oflash_job_load(oflash_job *job, oflash_job_file **out_storage, const char *path)
{
    parse_ctx *c;
    oflash_job tmp;
    char *text = NULL;
    size_t len = 0;
    int rc, r;
    const char *slash;

    if (!job || !out_storage || !path)
        return oflash_error_set(OFLASH_EINVAL, "oflash_job_load: missing argument");
    if (job->version != OFLASH_JOB_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "oflash_job: unsupported version %u",
                                job->version);
    *out_storage = NULL;
    tmp = *job; /* *job changes only when the whole file is good */
    rc = read_text(&text, &len, path);
    if (rc)
        return rc;
    c = calloc(1, sizeof *c);
    if (!c || !(c->st = calloc(1, sizeof *c->st))) {
        free(c);
        free(text);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    c->path = path;
    c->job = &tmp;
    c->text = c->pos = text;
    c->end = text + len;
    slash = strrchr(path, '/');
    if (slash)
        snprintf(c->dir, sizeof c->dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);

    r = ini_parse_stream(reader, c, handler, c);
    rc = c->rc;
    if (!rc && r == INIH_MISSING)
        rc = oflash_error_set(OFLASH_EUNSUPPORTED, "cannot read job files: %s",
                              oflash__lazylib_error(&inih));
    else if (!rc && c->too_long)
        rc = oflash_error_set(OFLASH_EFORMAT, "%s:%u: line too long for a job file", path,
                              c->line);
    else if (!rc && r > 0)
        rc = oflash_error_set(OFLASH_EFORMAT,
                              "%s:%d: not a 'key = value' line or a [section] heading", path, r);
    else if (!rc && r < 0)
        rc = oflash_error_set(OFLASH_ENOMEM, "%s: out of memory reading the job file", path);
    if (!rc && tmp.rdp == 2 && !tmp.allow_rdp2)
        rc = oflash_error_set(OFLASH_EINVAL,
                              "%s:%u: rdp = 2 is permanent (the debug port is disabled for good): "
                              "it needs the second opt-in 'rdp2_permanent = yes' in [job]",
                              path, c->seen[K_RDP]);
    if (!rc && c->serial_section && !c->seen[K_AT])
        rc = oflash_error_set(OFLASH_EINVAL,
                              "%s:%u: [serial] has no 'at' (the address of the serial field)",
                              path, c->serial_line);
    if (!rc) rc = check_web(c);
    if (!rc && c->seen[K_AT]) {
        /* The scheme as the pool will use it: a list line that does not
         * fit, a start too large for len, ... named now. */
        oflash_serial_pool *pool = NULL;
        rc = oflash_serial_pool_open(&pool, &tmp.serial);
        if (rc)
            oflash_error_prefix("%s: [serial]: ", path);
        oflash_serial_pool_free(pool);
    }
    if (rc) {
        oflash_job_file_free(c->st);
    } else {
        *job = tmp;
        *out_storage = c->st;
    }
    free(c);
    free(text);
    return rc;
}
