/*
 * devfile.c - device files: the entry point oflash__devfile_load() that
 * src/device/device.c calls, and what the JLink XML and CMSIS-Pack readers
 * share (the arena, bounded XML).  The FLM checks are in devfile_loader.c,
 * the user's device store in devstore.c.
 *
 * Formats (the type comes from the contents, never from the file name):
 *  - "PK\3\4": a CMSIS-Pack (.pack, a zip; devfile_pack.c);
 *  - XML whose root is <DataBase>: a J-Link device file (devfile_jlink.c,
 *    after SEGGER's wiki "J-Link Device Support Kit" / "Open Flashloader");
 *  - XML whose root is <package>: a CMSIS-Pack description (.pdsc,
 *    devfile_pack.c, after the CMSIS-Pack specification 1.7).
 *
 * All input is untrusted: libxml2 reads it with XML_PARSE_NONET and without
 * XML_PARSE_NOENT/DTDLOAD, a DOCTYPE stops the parser, the file size and the
 * number of elements are bounded, and every error names file:line.
 *
 * Invariant: a file's devices reach the database only if the whole file
 * (every bank, every loader) was read and checked (see df_commit()).
 */
#include "devfile_internal.h"
#include "oflash/error.h"
#include "common/file.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <zip.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Elements per XML file: a real STM32F4 .pdsc has ~15 000. */
#define DF_MAX_XML_ELEMENTS 1000000u

/* ---- arena and context ---- */

/* Where df_commit() adds its counts (oflash_devdb_add_file_report). */
static _Thread_local oflash_devfile_report *df_report;

typedef struct df_store {
    df_block *blocks;
} df_store;

static void df_blocks_free(df_block *b)
{
    while (b) {
        df_block *n = b->next;
        free(b);
        b = n;
    }
}

static void df_store_free(oflash_devdb *db)
{
    df_store *s = db->files;
    if (!s) return;
    df_blocks_free(s->blocks);
    free(s);
    db->files = NULL;
}

void *df_alloc(df_ctx *c, size_t n)
{
    df_block *b;
    if (n > SIZE_MAX - sizeof *b) return NULL;
    b = calloc(1, sizeof *b + n);
    if (!b) return NULL;
    b->size = n;
    b->next = c->arena.head;
    c->arena.head = b;
    return b->data;
}

char *df_strndup(df_ctx *c, const char *s, size_t n)
{
    char *d = df_alloc(c, n + 1);
    if (d) memcpy(d, s, n);
    return d;
}

char *df_strdup(df_ctx *c, const char *s)
{
    return s ? df_strndup(c, s, strlen(s)) : NULL;
}

void df_ctx_init(df_ctx *c, oflash_devdb *db, const char *path)
{
    memset(c, 0, sizeof *c);
    c->db = db;
    c->path = path;
    /* device->source outlives the caller's string: the arena owns a copy
     * (NULL only on out-of-memory, checked in df_commit()). */
    c->source = df_strdup(c, path);
    c->check_loaders = true;
    c->warn_level = OFLASH_LOG_WARN;
    /* Files of the device store were warned about when imported. */
    char dir[4096];
    size_t n;
    if (oflash_devstore_dir(dir, sizeof dir) == 0 && (n = strlen(dir)) &&
        !strncmp(path, dir, n) && path[n] == '/')
        c->warn_level = OFLASH_LOG_DEBUG;
    oflash_error_clear();
}

void df_warn(df_ctx *c, long line, const char *fmt, ...)
{
    char msg[1024], where[64] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) snprintf(where, sizeof where, ":%ld", line);
    c->warnings++;
    if (c->cur_dev)
        oflash_log(c->warn_level, "%s%s: device '%s': %s", c->path, where, c->cur_dev, msg);
    else
        oflash_log(c->warn_level, "%s%s: %s", c->path, where, msg);
}

int oflash_devdb_add_file_report(oflash_devfile_report *report, oflash_devdb *db,
                                 const char *path)
{
    oflash_devfile_report r = OFLASH_DEVFILE_REPORT_INIT;
    if (report && report->version != OFLASH_DEVFILE_REPORT_VERSION)
        return oflash_error_set(OFLASH_EINVAL, "device file report: version %u (expected %u)",
                                report->version, OFLASH_DEVFILE_REPORT_VERSION);
    df_report = &r;
    int rc = oflash_devdb_add_file(db, path);
    df_report = NULL;
    if (report) *report = r;
    return rc;
}

static void df_flms_free(df_ctx *c)
{
    df_flm_cache *f = c->flms;
    while (f) {
        df_flm_cache *n = f->next;
        if (f->flm) oflash_flm_free(f->flm);
        free(f->key);
        free(f);
        f = n;
    }
    c->flms = NULL;
}

void df_ctx_free(df_ctx *c)
{
    df_flms_free(c);
    df_blocks_free(c->arena.head);
    c->arena.head = NULL;
    free(c->devs);
    c->devs = NULL;
    c->ndev = c->capdev = 0;
}

int df_add_device(df_ctx *c, oflash_device *d)
{
    if (c->ndev >= DF_MAX_DEVICES)
        return oflash_error_set(OFLASH_EFORMAT, "%s: more than %u devices in one file", c->path,
                                DF_MAX_DEVICES);
    if (c->ndev == c->capdev) {
        size_t cap = c->capdev ? c->capdev * 2 : 16;
        oflash_device **n = realloc(c->devs, cap * sizeof *n);
        if (!n) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        c->devs = n;
        c->capdev = cap;
    }
    c->devs[c->ndev++] = d;
    return 0;
}

const oflash_device *df_find(df_ctx *c, const char *name)
{
    const oflash_device *d = NULL;
    for (size_t i = c->ndev; i-- > 0;)
        if (oflash__device_matches(c->devs[i], name)) return c->devs[i];
    if (c->db && oflash_devdb_find(&d, c->db, name) == 0) return d;
    oflash_error_clear();
    return NULL;
}

int df_commit(df_ctx *c)
{
    df_store *s = c->db->files;
    if (!c->source) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        c->db->files = s;
        c->db->free_files = df_store_free;
    }
    /* Hand over the arena first: from here on the db owns the devices. */
    if (c->arena.head) {
        df_block *last = c->arena.head;
        while (last->next)
            last = last->next;
        last->next = s->blocks;
        s->blocks = c->arena.head;
        c->arena.head = NULL;
    }
    /* Push in reverse so the file's first device ends up in front. */
    for (size_t i = c->ndev; i-- > 0;) {
        int rc = oflash__devdb_push_front(c->db, c->devs[i]);
        if (rc < 0) return rc;
    }
    if (df_report) {
        df_report->devices += c->ndev;
        df_report->devices_skipped += c->devices_skipped;
        df_report->banks_clipped += c->banks_clipped;
        df_report->banks_skipped += c->banks_skipped;
        df_report->warnings += c->warnings;
        df_report->builtin_parts += c->builtin_parts;
    }
    return 0;
}

int df_err(df_ctx *c, long line, int code, const char *fmt, ...)
{
    char msg[768], where[64] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0) snprintf(where, sizeof where, ":%ld", line);
    if (c->cur_dev)
        return oflash_error_set(code, "%s%s: device '%s': %s", c->path, where, c->cur_dev, msg);
    return oflash_error_set(code, "%s%s: %s", c->path, where, msg);
}

int df_err_prefix(df_ctx *c, long line)
{
    if (c->cur_dev) return oflash_error_prefix("%s:%ld: device '%s': ", c->path, line, c->cur_dev);
    return oflash_error_prefix("%s:%ld: ", c->path, line);
}

/* ---- numbers and XML ---- */

bool df_parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;
    if (!s) return false;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s || *s == '-' || *s == '+') return false;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (!s[2] || s[2] == '-' || s[2] == '+' || s[2] == ' ') return false;
        v = strtoull(s + 2, &end, 16);
    } else {
        v = strtoull(s, &end, 10);
    }
    if (errno || v > 0xFFFFFFFFull) return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end) return false;
    *out = (uint32_t)v;
    return true;
}

bool df_name_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcasecmp((const char *)n->name, name) == 0;
}

const char *df_attr(df_ctx *c, xmlNode *n, const char *name)
{
    for (xmlAttr *a = n->properties; a; a = a->next) {
        if (strcasecmp((const char *)a->name, name) != 0) continue;
        xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
        const char *s = v ? (const char *)v : "";
        size_t len;
        char *r;
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
                       s[len - 1] == '\r'))
            len--;
        r = df_strndup(c, s, len);
        xmlFree(v);
        return r;
    }
    return NULL;
}

int df_attr_u32(df_ctx *c, xmlNode *n, const char *name, uint32_t *val, bool required)
{
    const char *s = df_attr(c, n, name);
    if (!s) {
        if (required)
            return df_err(c, xmlGetLineNo(n), OFLASH_EFORMAT,
                          "<%s> has no %s attribute (expected a number such as 0x08000000)",
                          (const char *)n->name, name);
        return 1;
    }
    if (!df_parse_u32(s, val))
        return df_err(c, xmlGetLineNo(n), OFLASH_EFORMAT,
                      "<%s %s=\"%s\">: expected a 32-bit number (decimal or 0x hex)",
                      (const char *)n->name, name, s);
    return 0;
}

const char *df_child_text(df_ctx *c, xmlNode *n, const char *name)
{
    for (xmlNode *ch = n->children; ch; ch = ch->next)
        if (df_name_is(ch, name)) {
            xmlChar *v = xmlNodeGetContent(ch);
            char *r = df_strdup(c, v ? (const char *)v : "");
            xmlFree(v);
            return r;
        }
    return NULL;
}

typedef struct df_sax_state {
    bool saw_dtd;
    bool too_many;
    unsigned long elements;
    startElementNsSAX2Func start;
} df_sax_state;

static void df_reject_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr p = ctx;
    df_sax_state *st = p->_private;
    (void)name, (void)ext, (void)sys;
    st->saw_dtd = true;
    xmlStopParser(p);
}

static void df_count_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
                           int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr p = ctx;
    df_sax_state *st = p->_private;
    if (++st->elements > DF_MAX_XML_ELEMENTS) {
        st->too_many = true;
        xmlStopParser(p);
        return;
    }
    st->start(ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
              attributes);
}

int df_xml_parse(df_ctx *c, const void *buf, size_t len, xmlDoc **out)
{
    xmlParserCtxtPtr p;
    df_sax_state st = {0};
    xmlDoc *doc;
    int rc = 0;
    *out = NULL;
    if (len > DF_MAX_XML_BYTES)
        return df_err(c, 0, OFLASH_EFORMAT, "XML file of %zu bytes is larger than the limit of %u",
                      len, DF_MAX_XML_BYTES);
    xmlInitParser();
    p = xmlNewParserCtxt();
    if (!p) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    /* No DTD of any kind: stop at the DOCTYPE, before entities exist. */
    p->sax->internalSubset = df_reject_subset;
    p->sax->externalSubset = df_reject_subset;
    st.start = p->sax->startElementNs ? p->sax->startElementNs : xmlSAX2StartElementNs;
    p->sax->startElementNs = df_count_start;
    p->_private = &st;
    doc = xmlCtxtReadMemory(p, buf, (int)len, c->path, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (st.saw_dtd) {
        rc = df_err(c, p->input ? p->input->line : 0, OFLASH_EFORMAT,
                    "DOCTYPE declarations are not accepted (DTDs and entities are disabled for "
                    "untrusted device files)");
    } else if (st.too_many) {
        rc = df_err(c, p->input ? p->input->line : 0, OFLASH_EFORMAT, "more than %u XML elements",
                    DF_MAX_XML_ELEMENTS);
    } else if (!doc || !p->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(p);
        char msg[256] = "malformed XML";
        long line = 0;
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            msg[strcspn(msg, "\n")] = '\0';
            line = e->line;
        }
        rc = df_err(c, line, OFLASH_EFORMAT, "XML: %s", msg);
    } else if (!xmlDocGetRootElement(doc)) {
        rc = df_err(c, 0, OFLASH_EFORMAT, "empty XML document");
    }
    if (rc < 0) {
        if (doc) xmlFreeDoc(doc);
    } else {
        *out = doc;
    }
    xmlFreeParserCtxt(p);
    return rc;
}

/* ---- loading files ---- */

int oflash__devfile_load_mem(oflash_devdb *db, const char *path, const void *buf, size_t len,
                             bool check_loaders)
{
    df_ctx c;
    xmlDoc *doc = NULL;
    char *dir = NULL;
    int rc;
    df_ctx_init(&c, db, path);
    c.check_loaders = check_loaders;
    {
        const char *slash = strrchr(path, '/');
        dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
        if (!dir) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
        c.dir = dir;
    }
    if (len >= 4 && !memcmp(buf, "PK\3\4", 4)) {
        rc = oflash__devfile_pack(&c, buf, len);
    } else if ((rc = df_xml_parse(&c, buf, len, &doc)) == 0) {
        xmlNode *root = xmlDocGetRootElement(doc);
        if (df_name_is(root, "DataBase"))
            rc = oflash__devfile_jlink(&c, doc);
        else if (df_name_is(root, "package"))
            rc = oflash__devfile_pdsc(&c, doc, NULL, "");
        else
            rc = df_err(&c, xmlGetLineNo(root), OFLASH_EFORMAT,
                        "root element <%s>: expected <DataBase> (J-Link device file) or "
                        "<package> (CMSIS-Pack .pdsc)",
                        (const char *)root->name);
        xmlFreeDoc(doc);
    }
    if (rc == 0) rc = df_commit(&c);
    df_ctx_free(&c);
    free(dir);
    return rc;
}

/* Read the whole of an open regular file of st->st_size <= max bytes. */
static int df_read_fd(int fd, const struct stat *st, const char *path, size_t max, void **out,
                      size_t *len)
{
    void *buf;
    size_t got = 0;
    *out = NULL;
    *len = 0;
    if ((uint64_t)st->st_size > max)
        return oflash_error_set(OFLASH_EFORMAT, "%s: %lld bytes is larger than the limit of %zu",
                                path, (long long)st->st_size, max);
    buf = malloc((size_t)st->st_size + 1);
    if (!buf) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    while (got < (size_t)st->st_size) {
        ssize_t r = pread(fd, (char *)buf + got, (size_t)st->st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            free(buf);
            return oflash_error_set(OFLASH_EIO, "%s: read failed: %s", path,
                                    r < 0 ? strerror(e) : "file shrank");
        }
        got += (size_t)r;
    }
    *out = buf;
    *len = got;
    return 0;
}

int df_file_is_pack(const char *path, bool *is_pack)
{
    struct stat st;
    char magic[4] = {0};
    int fd, rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "a device file or a .pack");
    if (rc < 0) return rc;
    *is_pack = pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "PK\3\4", 4);
    close(fd);
    return 0;
}

static int df_load_pack_file(oflash_devdb *db, const char *path);

int oflash__devfile_load(oflash_devdb *db, const char *path)
{
    struct stat st;
    char magic[4] = {0};
    void *buf;
    size_t len;
    int fd, rc;
    /* Without blocking: a FIFO or device is refused at once. */
    if ((rc = oflash__open_regular(&fd, &st, path, O_RDONLY, "a device file or a .pack")) < 0)
        return rc;
    /* Packs are read through libzip from the file: only the entries needed
     * are decompressed, so a large pack costs no more than its .pdsc. */
    if (pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "PK\3\4", 4)) {
        close(fd);
        return df_load_pack_file(db, path);
    }
    rc = df_read_fd(fd, &st, path, DF_MAX_XML_BYTES, &buf, &len);
    close(fd);
    if (rc < 0) return rc;
    rc = oflash__devfile_load_mem(db, path, buf, len, true);
    free(buf);
    return rc;
}

static int df_load_pack_file(oflash_devdb *db, const char *path)
{
    df_ctx c;
    int zerr = 0, rc;
    zip_t *z = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!z) {
        zip_error_t e;
        zip_error_init_with_code(&e, zerr);
        rc = oflash_error_set(OFLASH_EFORMAT, "%s: not a readable CMSIS-Pack (zip): %s", path,
                              zip_error_strerror(&e));
        zip_error_fini(&e);
        return rc;
    }
    df_ctx_init(&c, db, path);
    c.dir = ".";
    rc = oflash__devfile_pack_zip(&c, z);
    zip_discard(z);
    if (rc == 0) rc = df_commit(&c);
    df_ctx_free(&c);
    return rc;
}

