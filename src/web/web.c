/*
 * web.c - the HTTP side of the station's web page (libmicrohttpd).
 *
 * Before anything listens: the options (oflash_web_check): the address,
 * the token, the certificate and key (tls.c), the policy -- an address
 * other machines can reach needs a token, and HTTPS or allow_plain_http.
 * With a certificate, libmicrohttpd serves TLS 1.2/1.3 itself (GnuTLS);
 * the cookie is then marked Secure.
 *
 * Everything a request meets before an answer is built, in this order:
 *   0. with HTTPS, the TLS handshake (a plain-HTTP request to the port is
 *      no handshake: the connection is closed);
 *   1. libmicrohttpd: request line and headers within 16 KiB per
 *      connection (else 413/431 from the library), 64 connections, one
 *      thread each, closed after 30 s idle;
 *   2. the token (when one is set): Authorization: Bearer, the cookie, or
 *      ?token= on a page (303 to the page, cookie set), else 401 -- before
 *      anything else, so that without it every path is the same 401;
 *   3. the method: GET and HEAD only (405);
 *   4. the path (already %-decoded by the library): printable ASCII, no
 *      dot segment, no '%' (a double encoding), no backslash, no "//",
 *      at most 256 bytes (400 / 414); then one of a fixed list of names
 *      (embedded assets and /api/ routes), else 404.  No path ever reaches
 *      the file system.
 * Event streams block in their own connection's thread (libmicrohttpd's
 * thread-per-connection mode), waking every 250 ms; the station's threads
 * only bump a counter (oflash_web_notify).
 */
#include "oflash/web.h"

#include "oflash/error.h"
#include "web/web_check.h"
#include "web/web_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#define PATH_MAX_LEN 256
#define MEMORY_LIMIT (16 * 1024)
#define COOKIE_NAME "oflash_token"

int64_t oflash__web_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* Listen address                                                      */
/* ------------------------------------------------------------------ */

static bool addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return memcmp(b, mapped, 12) == 0 && b[12] == 127;
    }
    return false;
}

/* "[HOST:]PORT" / "[V6]:PORT" -> host (default 127.0.0.1) and port. */
static int parse_listen(char *host, size_t hostsz, char *port, size_t portsz, const char *spec)
{
    const char *colon, *p, *h = "127.0.0.1";
    size_t hlen = strlen(h);
    char *end;
    unsigned long v;
    if (!spec || !*spec)
        return oflash_error_set(OFLASH_EINVAL, "--http needs [HOST:]PORT, e.g. 8080 or 0.0.0.0:8080");
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':')
            return oflash_error_set(OFLASH_EINVAL,
                                    "--http '%s': an IPv6 address is written [ADDRESS]:PORT", spec);
        h = spec + 1;
        hlen = (size_t)(close - h);
        p = close + 2;
    } else if ((colon = strrchr(spec, ':')) != NULL) {
        if (strchr(spec, ':') != colon)
            return oflash_error_set(OFLASH_EINVAL,
                                    "--http '%s': an IPv6 address is written [ADDRESS]:PORT", spec);
        h = spec;
        hlen = (size_t)(colon - spec);
        p = colon + 1;
    } else {
        p = spec;
    }
    if (hlen == 0 || hlen >= hostsz)
        return oflash_error_set(OFLASH_EINVAL, "--http '%s': no host before ':'", spec);
    errno = 0;
    v = strtoul(p, &end, 10);
    if (!*p || *end || errno || v > 65535 || *p == '-' || *p == '+')
        return oflash_error_set(OFLASH_EINVAL, "--http '%s': port '%s' is not a number 0-65535", spec,
                                p);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, portsz, "%lu", v);
    return 0;
}

/* Resolve "[HOST:]PORT": *res (freeaddrinfo it), host = the HOST text. */
static int resolve_listen(struct addrinfo **res, char *host, size_t hostsz, const char *spec)
{
    char port[8];
    struct addrinfo hints;
    int rc = parse_listen(host, hostsz, port, sizeof port, spec);
    if (rc)
        return rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, res);
    if (rc)
        return oflash_error_set(OFLASH_EINVAL, "--http %s: cannot resolve '%s': %s", spec, host,
                                gai_strerror(rc));
    return 0;
}

/* Bind and listen on res; url = "SCHEME://ADDRESS:PORT/" actually bound. */
static int open_listener(int *out_fd, char *url, size_t urlsz, const struct addrinfo *res,
                         const char *spec, const char *scheme)
{
    char numhost[INET6_ADDRSTRLEN];
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd, rc, one = 1;

    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0)
        return oflash_error_set(OFLASH_EIO, "--http %s: cannot open a socket: %s", spec,
                                strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        rc = oflash_error_set(OFLASH_EIO, "cannot serve the web page on %s: %s", spec,
                              strerror(errno));
        close(fd);
        return rc;
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        rc = oflash_error_set(OFLASH_EIO, "--http %s: getsockname: %s", spec, strerror(errno));
        close(fd);
        return rc;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, numhost, sizeof numhost);
        snprintf(url, urlsz, "%s://[%s]:%u/", scheme, numhost, ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &in->sin_addr, numhost, sizeof numhost);
        snprintf(url, urlsz, "%s://%s:%u/", scheme, numhost, ntohs(in->sin_port));
    }
    *out_fd = fd;
    return 0;
}

static bool addr_is_unspecified(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return false;
}

/* ------------------------------------------------------------------ */
/* Server object                                                       */
/* ------------------------------------------------------------------ */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof line, fmt, ap);
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    oflash_log(OFLASH_LOG_DEBUG, "web: %s", line);
}

static bool token_ok(const oflash_web *w, const char *given)
{
    size_t i, n = strlen(w->token);
    unsigned char diff = 0;
    if (!given || strlen(given) != n)
        return false;
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ w->token[i]);
    return diff == 0;
}

static int check_token_text(const char *t)
{
    size_t i, n = strlen(t);
    if (n < 8 || n > 200)
        return oflash_error_set(OFLASH_EINVAL, "--http-token must be 8 to 200 characters (got %zu)",
                                n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',' || c == '"' || c == '\\')
            return oflash_error_set(OFLASH_EINVAL,
                                    "--http-token may hold letters, digits and -._~+/=!#$%%&'()*:<>?@[]^`{|} "
                                    "but not spaces, quotes, ';', ',' or '\\' (character %zu)",
                                    i + 1);
    }
    return 0;
}

int oflash__web_check_token(const char *token)
{
    return check_token_text(token);
}

int oflash__web_check_listen(const char *spec)
{
    struct addrinfo *res = NULL;
    char host[256];
    int rc = resolve_listen(&res, host, sizeof host, spec);
    if (rc == 0) freeaddrinfo(res);
    return rc;
}

/* The raw request target, before libmicrohttpd decodes it: a path of this
 * server never needs a '%' (its names are plain ASCII), so any encoding in
 * the path -- %2e, %2f, %5c, %00 (which would cut the decoded path short)
 * -- is refused whatever it decodes to.  The verdict travels to access_cb
 * as the request's context pointer. */
static char raw_path_refused;

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c)
{
    size_t n = strcspn(uri, "?");
    (void)cls;
    (void)c;
    return memchr(uri, '%', n) ? &raw_path_refused : NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls);
static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *c);

/* MHD_start_daemon through the va_list form (the lazy forwarder). */
static struct MHD_Daemon *start_daemon(unsigned flags, MHD_AccessHandlerCallback dh, void *dh_cls,
                                       ...)
{
    struct MHD_Daemon *d;
    va_list ap;
    va_start(ap, dh_cls);
    d = MHD_start_daemon_va(flags, 0, NULL, NULL, dh, dh_cls, ap);
    va_end(ap);
    return d;
}

/* opts of version 1 to 3 as version 3 (an older caller's struct ends
 * before the fields of the later versions). */
static int norm_opts(oflash_web_opts *o, const oflash_web_opts *in)
{
    memset(o, 0, sizeof *o);
    if (!in || in->version < 1 || in->version > OFLASH_WEB_OPTS_VERSION)
        return oflash_error_set(OFLASH_EINVAL,
                                "oflash_web_start: options version %u, expected 1 to %u",
                                in ? in->version : 0, OFLASH_WEB_OPTS_VERSION);
    if (in->version == 1)
        memcpy(o, in, offsetof(oflash_web_opts, tls_cert));
    else if (in->version == 2)
        memcpy(o, in, offsetof(oflash_web_opts, cert_check_s));
    else
        *o = *in;
    o->version = OFLASH_WEB_OPTS_VERSION;
    return 0;
}

/* Everything oflash_web_check does; on success *res is the resolved
 * address (freeaddrinfo it) and *tls the certificate and key (or empty). */
static int check_opts(oflash_web_check_info *info, struct addrinfo **res, oflash__web_tls *tls,
                      const oflash_web_opts *o)
{
    char host[256];
    bool loopback;
    int rc;

    memset(info, 0, sizeof *info);
    *res = NULL;
    memset(tls, 0, sizeof *tls);
    if (o->token && (rc = check_token_text(o->token)) != 0)
        return rc;
    if (!o->tls_cert != !o->tls_key)
        return oflash_error_set(OFLASH_EINVAL,
                                o->tls_cert ? "--http-cert without --http-key: HTTPS needs the "
                                              "certificate's private key as well"
                                            : "--http-key without --http-cert: HTTPS needs the "
                                              "certificate as well");
    rc = resolve_listen(res, host, sizeof host, o->listen);
    if (rc)
        return rc;
    loopback = addr_is_loopback((*res)->ai_addr);
    info->loopback = loopback;
    info->tls = o->tls_cert != NULL;
    if (!loopback && !o->token)
        rc = oflash_error_set(OFLASH_EINVAL,
                              "--http %s is reachable from other machines: give --http-token TOKEN "
                              "(every request must then carry it), or listen on 127.0.0.1",
                              o->listen);
    else if (!loopback && !o->tls_cert && !o->allow_plain_http)
        rc = oflash_error_set(OFLASH_EINVAL,
                              "--http %s is reachable from other machines, and over plain HTTP the "
                              "token and the ledger's data cross the network in clear text: give "
                              "--http-cert FILE --http-key FILE for HTTPS (docs/web.md shows how "
                              "to make them), or --http-insecure to serve plain HTTP anyway",
                              o->listen);
    else if (o->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        const char *why = oflash__web_mhd_error();
        rc = oflash_error_set(OFLASH_EUNSUPPORTED,
                              "HTTPS: %s",
                              *why ? why
                                   : "this libmicrohttpd was built without TLS support (Debian's "
                                     "libmicrohttpd12 has it)");
    } else if (o->tls_cert)
        rc = oflash__web_tls_load(tls, info, o->tls_cert, o->tls_key,
                                  addr_is_unspecified((*res)->ai_addr) ? NULL : host);
    if (rc) {
        freeaddrinfo(*res);
        *res = NULL;
    }
    return rc;
}

int oflash_web_check(oflash_web_check_info *info, const oflash_web_opts *opts)
{
    oflash_web_opts o;
    oflash_web_check_info tmp;
    struct addrinfo *res;
    oflash__web_tls tls;
    int rc = norm_opts(&o, opts);
    if (rc)
        return rc;
    rc = check_opts(info ? info : &tmp, &res, &tls, &o);
    if (rc)
        return rc;
    freeaddrinfo(res);
    oflash__web_tls_free(&tls);
    return 0;
}

void oflash__web_fmt_utc(char *out, size_t sz, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, sz, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, sz, "@%lld", (long long)t);
}

/* The certificate's state at Unix time now; a change from the last check
 * is logged (unless quiet: the state at start) and pushed to the page. */
static void cert_check(oflash_web *w, int64_t now, bool quiet)
{
    int64_t left = w->cert_not_after - now;
    int state = left <= 0                                 ? OFLASH__CERT_EXPIRED
                : left < OFLASH__CERT_WARN_DAYS * 86400LL ? OFLASH__CERT_EXPIRING
                                                          : OFLASH__CERT_OK;
    long long days = left > 0 ? (long long)(left / 86400) : 0;
    char day[40];
    atomic_store(&w->cert_days_left, days);
    if (atomic_exchange(&w->cert_state, state) == state || quiet) return;
    oflash_web_notify(w);
    oflash__web_fmt_utc(day, sizeof day, w->cert_not_after);
    if (state == OFLASH__CERT_EXPIRING) {
        char in[32];
        if (days < 1)
            snprintf(in, sizeof in, "within a day");
        else
            snprintf(in, sizeof in, "in %lld day%s", days, days == 1 ? "" : "s");
        oflash_log(OFLASH_LOG_WARN,
                   "the web page's certificate %s expires on %s (%s): make a new one and restart "
                   "oflash with it before then (docs/web.md)",
                   w->cert_path, day, in);
    } else if (state == OFLASH__CERT_EXPIRED)
        oflash_log(OFLASH_LOG_WARN,
                   "the web page's certificate %s expired on %s: browsers now refuse the page; "
                   "make a new one and restart oflash with it (docs/web.md)",
                   w->cert_path, day);
}

static void *cert_watch(void *arg)
{
    oflash_web *w = arg;
    while (!atomic_load(&w->stopping)) {
        /* Woken early only by the stop (or spuriously: a check is cheap
         * and logs changes only). */
        int64_t until = oflash__web_now_ms() + (int64_t)w->cert_check_s * 1000, rem;
        while (!atomic_load(&w->stopping) && (rem = until - oflash__web_now_ms()) > 0)
            oflash__web_wait(w, rem > 3600000 ? 3600000u : (unsigned)rem);
        if (!atomic_load(&w->stopping)) cert_check(w, (int64_t)time(NULL), false);
    }
    return NULL;
}

int oflash_web_start(oflash_web **out, const oflash_web_opts *opts)
{
    oflash_web *w;
    oflash_web_opts o;
    oflash_web_check_info info;
    struct addrinfo *res = NULL;
    struct MHD_OptionItem tls_opts[4];
    int fd = -1, rc;
    unsigned flags;

    *out = NULL;
    rc = norm_opts(&o, opts);
    if (rc)
        return rc;
    w = calloc(1, sizeof *w);
    if (!w)
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->wait_lock, NULL);
    pthread_cond_init(&w->wait_cond, NULL);
    w->station = o.station;
    w->pool = o.pool;
    rc = check_opts(&info, &res, &w->tls, &o);
    if (rc) {
        oflash__web_free(w);
        return rc;
    }
    if ((o.token && !(w->token = strdup(o.token))) ||
        (o.db_url && !(w->db_url = strdup(o.db_url))) ||
        (w->tls.cert && !(w->cert_path = strdup(o.tls_cert)))) {
        freeaddrinfo(res);
        oflash__web_free(w);
        return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    }
    rc = open_listener(&fd, w->url, sizeof w->url, res, o.listen, w->tls.cert ? "https" : "http");
    freeaddrinfo(res);
    if (rc) {
        oflash__web_free(w);
        return rc;
    }
    /* The certificate's state, set before any request can read it. */
    if (w->tls.cert) {
        w->cert_not_after = info.cert_not_after;
        w->cert_check_s = o.cert_check_s ? o.cert_check_s : 3600;
        cert_check(w, (int64_t)time(NULL), true);
    }
    flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG;
    if (strstr(w->url, "://[") != NULL)
        flags |= MHD_USE_IPv6;
    /* HTTPS: libmicrohttpd's own TLS (GnuTLS), TLS 1.2 and 1.3 only. */
    memset(tls_opts, 0, sizeof tls_opts);
    tls_opts[0].option = MHD_OPTION_END;
    if (w->tls.cert) {
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls.key};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls.cert};
        tls_opts[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                              (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"};
        tls_opts[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    }
    w->daemon = start_daemon(
        flags, access_cb, w, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o.max_connections ? o.max_connections : 64),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o.idle_timeout_s ? o.idle_timeout_s : 30),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEMORY_LIMIT, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(512 * 1024), MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)NULL,
        MHD_OPTION_URI_LOG_CALLBACK, uri_cb, (void *)NULL, MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!w->daemon) {
        const char *why = oflash__web_mhd_error();
        close(fd);
        oflash__web_free(w);
        return oflash_error_set(OFLASH_EIO, "cannot start the web server on %s: %s", o.listen,
                                *why ? why : "libmicrohttpd refused (see -v)");
    }
    if (w->tls.cert) {
        if (pthread_create(&w->cert_watch, NULL, cert_watch, w) != 0) {
            oflash_web_stop(w);
            return oflash_error_set(OFLASH_EIO,
                                    "cannot start the web page's certificate watch (thread)");
        }
        w->cert_watching = true;
    }
    *out = w;
    return 0;
}

const char *oflash_web_url(const oflash_web *w)
{
    return w->url;
}

void oflash_web_notify(oflash_web *w)
{
    if (w)
        atomic_fetch_add_explicit(&w->gen, 1, memory_order_relaxed);
}

void oflash_web_stop(oflash_web *w)
{
    if (!w)
        return;
    atomic_store(&w->stopping, true);
    pthread_mutex_lock(&w->wait_lock);
    pthread_cond_broadcast(&w->wait_cond);
    pthread_mutex_unlock(&w->wait_lock);
    if (w->cert_watching) pthread_join(w->cert_watch, NULL);
    if (w->daemon)
        MHD_stop_daemon(w->daemon); /* joins every connection thread, closes the socket */
    oflash__web_free(w);
}

/* Sleep up to ms, or until the server stops. */
void oflash__web_wait(oflash_web *w, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->wait_lock);
    if (!atomic_load(&w->stopping))
        pthread_cond_timedwait(&w->wait_cond, &w->wait_lock, &ts);
    pthread_mutex_unlock(&w->wait_lock);
}

/* ------------------------------------------------------------------ */
/* Responses                                                           */
/* ------------------------------------------------------------------ */

static void common_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                            "form-action 'none'; frame-ancestors 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
}

/* Queue body (malloc'ed, taken over; NULL = out of memory -> 500). */
static enum MHD_Result send_owned(struct MHD_Connection *c, unsigned status, const char *type,
                                  char *body, size_t len, const char *extra_name,
                                  const char *extra_value)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (!body) {
        static const char oom[] = "500 out of memory\n";
        r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        type = "text/plain; charset=utf-8";
    } else {
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (!r) {
        free(body);
        return MHD_NO;
    }
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", type);
    if (extra_name)
        MHD_add_response_header(r, extra_name, extra_value);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result oflash__web_send_text(struct MHD_Connection *c, unsigned status, const char *fmt,
                                      ...)
{
    va_list ap;
    wbuf b = {0};
    char line[512];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    wbuf_printf(&b, "%u %s\n", status, line);
    return send_owned(c, status, "text/plain; charset=utf-8", b.oom ? NULL : b.data, b.len, NULL,
                      NULL);
}

enum MHD_Result oflash__web_send_buf(struct MHD_Connection *c, unsigned status, const char *type,
                                     wbuf *b, const char *extra_name, const char *extra_value)
{
    char *data = NULL;
    size_t len = 0;
    if (b->oom)
        wbuf_free(b);
    else {
        data = b->data ? b->data : strdup("");
        len = b->len;
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return send_owned(c, status, type, data, len, extra_name, extra_value);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const oflash__web_asset *a)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match");
    bool same = inm && strcmp(inm, a->etag) == 0;
    r = MHD_create_response_from_buffer(same ? 0 : a->len, (void *)a->data,
                                        MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    common_headers(r);
    MHD_add_response_header(r, "Content-Type", a->type);
    MHD_add_response_header(r, "ETag", a->etag);
    ret = MHD_queue_response(c, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ------------------------------------------------------------------ */
/* Checks and routing                                                  */
/* ------------------------------------------------------------------ */

/* NULL if the path is acceptable, else why not. */
static const char *bad_path(const char *p)
{
    size_t n = strlen(p), i;
    if (n == 0 || p[0] != '/')
        return "a path starts with '/'";
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch < 0x21 || ch > 0x7e)
            return "control character, space or non-ASCII byte in the path";
        if (ch == '\\')
            return "backslash in the path";
        if (ch == '%')
            return "encoded '%' in the path";
        if (ch == '/' && p[i + 1] == '/')
            return "empty path segment";
        if (ch == '.' && (i == 0 || p[i - 1] == '/') &&
            (p[i + 1] == '\0' || p[i + 1] == '/' ||
             (p[i + 1] == '.' && (p[i + 2] == '\0' || p[i + 2] == '/'))))
            return "'.' or '..' segment in the path";
    }
    return NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    oflash_web *w = cls;
    const char *why;
    size_t i;
    (void)version;
    (void)upload;
    (void)upload_size;

    if (w->token) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME);
        const char *query = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
        bool ok = (auth && strncmp(auth, "Bearer ", 7) == 0 && token_ok(w, auth + 7)) ||
                  token_ok(w, cookie);
        if (!ok && token_ok(w, query)) {
            if (strncmp(url, "/api/", 5) != 0 && !bad_path(url) && strlen(url) <= PATH_MAX_LEN) {
                /* A browser's first visit: keep the token in a cookie the
                 * page's script cannot read, and drop it from the address. */
                wbuf b = {0}, cookie_hdr = {0};
                struct MHD_Response *r;
                enum MHD_Result ret;
                wbuf_printf(&cookie_hdr, COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s",
                            w->token, w->tls.cert ? "; Secure" : "");
                wbuf_puts(&b, "303 see the page\n");
                if (b.oom || cookie_hdr.oom) {
                    wbuf_free(&b);
                    wbuf_free(&cookie_hdr);
                    return MHD_NO;
                }
                r = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_FREE);
                if (!r) {
                    wbuf_free(&b);
                    wbuf_free(&cookie_hdr);
                    return MHD_NO;
                }
                common_headers(r);
                MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
                MHD_add_response_header(r, "Set-Cookie", cookie_hdr.data);
                MHD_add_response_header(r, "Location", url);
                ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
                MHD_destroy_response(r);
                wbuf_free(&cookie_hdr);
                return ret;
            }
            ok = true;
        }
        if (!ok) {
            wbuf b = {0};
            wbuf_printf(&b,
                        "401 this page needs the station's token: open it as "
                        "%s://HOST:PORT/?token=TOKEN (the token given to --http-token)\n",
                        w->tls.cert ? "https" : "http");
            return oflash__web_send_buf(c, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8", &b,
                                        "WWW-Authenticate", "Bearer realm=\"oflash\"");
        }
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        wbuf b = {0};
        wbuf_puts(&b, "405 the page is read-only: only GET and HEAD are answered\n");
        return oflash__web_send_buf(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", &b,
                                    "Allow", "GET, HEAD");
    }
    if (*con_cls == &raw_path_refused)
        return oflash__web_send_text(c, MHD_HTTP_BAD_REQUEST,
                                     "refused: '%%' in the path (no name here is encoded)");
    if (strlen(url) > PATH_MAX_LEN)
        return oflash__web_send_text(c, MHD_HTTP_URI_TOO_LONG, "path longer than %d bytes",
                                     PATH_MAX_LEN);
    why = bad_path(url);
    if (why)
        return oflash__web_send_text(c, MHD_HTTP_BAD_REQUEST, "refused: %s", why);
    if (strncmp(url, "/api/", 5) == 0)
        return oflash__web_api(w, c, url + 5);
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (i = 0; i < oflash__web_asset_count; i++)
        if (strcmp(url, oflash__web_assets[i].path) == 0)
            return send_asset(c, &oflash__web_assets[i]);
    return oflash__web_send_text(c, MHD_HTTP_NOT_FOUND, "no such page");
}
