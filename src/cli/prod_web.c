/*
 * prod_web.c - the station's web page from the CLI: `oflash prod run
 * --http` (the live station plus its ledger) and `oflash prod serve` (a
 * ledger alone: its history and the live state every station publishes
 * into it).  docs/web.md.
 */
#include "cli/prod_web.h"

#include "oflash/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int prod_web_opt(prod_web *pw, int c, const char *arg)
{
    switch (c) {
    case PROD_WEB_OPT_HTTP:
        pw->listen = arg;
        return 1;
    case PROD_WEB_OPT_HTTP_TOKEN:
        pw->token = arg;
        return 1;
    case PROD_WEB_OPT_HTTP_CERT:
        pw->cert = arg;
        return 1;
    case PROD_WEB_OPT_HTTP_KEY:
        pw->key = arg;
        return 1;
    case PROD_WEB_OPT_HTTP_INSECURE:
        pw->insecure = true;
        return 1;
    case PROD_WEB_OPT_NO_PUBLISH:
        pw->no_publish = true;
        return 1;
    default:
        return 0;
    }
}

/* The file's value where no flag gave one. */
static void from_file(const char **v, const char **at, const char *file_v, const char *file_at)
{
    if (*v || !file_v) return;
    *v = file_v;
    *at = file_at;
}

void prod_web_job(prod_web *pw, const oflash_job_file *file)
{
    oflash_job_web j;
    oflash_job_file_web(&j, file);
    from_file(&pw->listen, &pw->listen_at, j.http, j.http_at);
    from_file(&pw->token, &pw->token_at, j.http_token, j.http_token_at);
    from_file(&pw->cert, &pw->cert_at, j.http_cert, j.http_cert_at);
    from_file(&pw->key, &pw->key_at, j.http_key, j.http_key_at);
    if (!pw->insecure && j.http_insecure) {
        pw->insecure = true;
        pw->insecure_at = j.http_insecure_at;
    }
}

/* How a message names a setting: the flag, or the job file's key and
 * where it is ("http_cert (line.ini:7)"). */
static const char *opt_name(char *buf, size_t sz, const char *flag, const char *at)
{
    if (!at) return flag;
    snprintf(buf, sz, "%s (%s)", flag + 2, at);
    for (char *p = buf; *p && *p != ' '; p++)
        if (*p == '-') *p = '_';
    return buf;
}

void prod_web_changed(void *ctx, size_t port)
{
    prod_web *pw = ctx;
    (void)port;
    oflash_web_notify(__atomic_load_n(&pw->web, __ATOMIC_ACQUIRE));
    oflash_web_publish_notify(__atomic_load_n(&pw->pub, __ATOMIC_ACQUIRE));
}

static void web_opts(oflash_web_opts *o, const prod_web *pw)
{
    o->listen = pw->listen;
    o->token = pw->token;
    o->tls_cert = pw->cert;
    o->tls_key = pw->key;
    o->allow_plain_http = pw->insecure;
    o->cert_check_s = pw->cert_check_s;
}

static void fmt_day(char *out, size_t sz, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, sz, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, sz, "@%lld", (long long)t);
}

int prod_web_check(prod_web *pw, const char *cmd)
{
    oflash_web_opts o = OFLASH_WEB_OPTS_INIT;
    oflash_web_check_info info;
    int64_t now = (int64_t)time(NULL);
    char day[40], n1[300], n2[300];
    const char *env = getenv("OFLASH_TEST_CERT_CHECK_S");

    if (env) {
        uint64_t v;
        if (!cli_parse_u64(env, &v) || v < 1 || v > 86400)
            return cli_usage("prod",
                             "%s: OFLASH_TEST_CERT_CHECK_S '%s': expected seconds, 1 to "
                             "86400 (tests only: the certificate's check interval)",
                             cmd, env);
        pw->cert_check_s = (unsigned)v;
    }
    if (!pw->listen) {
        const char *opt = pw->token  ? opt_name(n1, sizeof n1, "--http-token", pw->token_at)
                          : pw->cert ? opt_name(n1, sizeof n1, "--http-cert", pw->cert_at)
                          : pw->key  ? opt_name(n1, sizeof n1, "--http-key", pw->key_at)
                          : pw->insecure
                              ? opt_name(n1, sizeof n1, "--http-insecure", pw->insecure_at)
                              : NULL;
        if (opt)
            return cli_usage("prod", "%s: %s without --http [HOST:]PORT", cmd, opt);
        return EXIT_OK;
    }
    if (pw->insecure && pw->cert)
        return cli_usage("prod",
                         "%s: %s and %s together: with a certificate the page is HTTPS; "
                         "drop %s",
                         cmd, opt_name(n1, sizeof n1, "--http-insecure", pw->insecure_at),
                         opt_name(n2, sizeof n2, "--http-cert", pw->cert_at),
                         pw->insecure_at ? "http_insecure" : "--http-insecure");
    if (!pw->cert != !pw->key)
        return cli_usage("prod",
                         pw->cert ? "%s: %s without --http-key: HTTPS needs the certificate's "
                                    "private key as well (docs/web.md)"
                                  : "%s: %s without --http-cert: HTTPS needs the certificate as "
                                    "well (docs/web.md)",
                         cmd,
                         pw->cert ? opt_name(n1, sizeof n1, "--http-cert", pw->cert_at)
                                  : opt_name(n1, sizeof n1, "--http-key", pw->key_at));
    web_opts(&o, pw);
    if (oflash_web_check(&info, &o) < 0)
        return pw->listen_at ? cli_fail_ctx("the web page (http at %s)", pw->listen_at)
                             : cli_fail_ctx("the web page");
    if (!info.loopback && !info.tls)
        fprintf(stderr,
                "oflash: warning: --http-insecure: the web page is served as plain HTTP on %s: the "
                "token and every serial and chip ID it shows cross the network in clear text, "
                "readable by anyone on it; give --http-cert and --http-key instead (docs/web.md)\n",
                pw->listen);
    if (info.tls) {
        fmt_day(day, sizeof day, info.cert_not_after);
        if (info.cert_not_after - now < 30 * 86400) {
            long long days = (long long)((info.cert_not_after - now) / 86400);
            char in[32];
            if (days < 1)
                snprintf(in, sizeof in, "within a day");
            else
                snprintf(in, sizeof in, "in %lld day%s", days, days == 1 ? "" : "s");
            fprintf(stderr,
                    "oflash: warning: the web page's certificate %s expires on %s (%s): make a "
                    "new one before then (docs/web.md)\n",
                    pw->cert, day, in);
        }
        if (info.cert_host_mismatch)
            fprintf(stderr,
                    "oflash: warning: the web page's certificate %s is made for %s, not for the "
                    "address of --http %s: browsers will warn when the page is opened by that "
                    "address\n",
                    pw->cert, info.cert_names[0] ? info.cert_names : "no name", pw->listen);
        if (info.key_readable_by_others)
            fprintf(stderr,
                    "oflash: warning: the key file %s can be read by other users of this "
                    "machine: chmod 600 %s\n",
                    pw->key, pw->key);
    }
    return EXIT_OK;
}

static int start_page(prod_web *pw, oflash_station *st, const char *db_url)
{
    oflash_web_opts o = OFLASH_WEB_OPTS_INIT;
    oflash_web *w;
    web_opts(&o, pw);
    o.station = st;
    o.db_url = db_url;
    o.pool = pw->pool;
    if (oflash_web_start(&w, &o) < 0)
        return cli_fail_ctx("--http %s", pw->listen);
    __atomic_store_n(&pw->web, w, __ATOMIC_RELEASE);
    fprintf(stderr, "web page: %s%s\n", oflash_web_url(w),
            pw->token ? " (open it once as URL?token=TOKEN)" : "");
    return EXIT_OK;
}

int prod_web_start(prod_web *pw, oflash_station *st, const oflash_job *job)
{
    const char *db = oflash_station_db_url(st);
    /* Every station with a ledger publishes its live state there (for
     * `prod serve`), page or not, unless told not to. */
    if (db && !pw->no_publish) {
        oflash_web_publisher *pub;
        if (oflash_web_publish_start(&pub, st, db, 0) < 0)
            return cli_fail_ctx("publishing the station's live state");
        __atomic_store_n(&pw->pub, pub, __ATOMIC_RELEASE);
    }
    if (!pw->listen)
        return EXIT_OK;
    /* The page's counters (serials left, next serial) are those of the
     * job's pool: the same identity as the station's. */
    if (oflash_serial_pool_open(&pw->pool, &job->serial) < 0) {
        prod_web_stop(pw);
        return cli_fail_ctx("the web page's serial pool");
    }
    if (start_page(pw, st, db) != EXIT_OK) {
        prod_web_stop(pw);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

void prod_web_stop(prod_web *pw)
{
    oflash_web *w = __atomic_exchange_n(&pw->web, NULL, __ATOMIC_ACQ_REL);
    oflash_web_stop(w);
    oflash_web_publish_stop(__atomic_exchange_n(&pw->pub, NULL, __ATOMIC_ACQ_REL));
    oflash_serial_pool_free(pw->pool);
    pw->pool = NULL;
}

/* ---- prod serve ---- */

static void serve_usage(FILE *f)
{
    fputs("usage: oflash prod serve --db URL --http [HOST:]PORT [--http-token TOKEN]\n"
          "           [--http-cert FILE --http-key FILE | --http-insecure]\n"
          "Serve the web page of a serial ledger: its units, counters and failures, and the\n"
          "live state of every station writing to it (every 'oflash prod run' publishes\n"
          "it: a heartbeat a second; a station silent for 5 s shows as 'no heartbeat').\n"
          "Read-only; runs until Ctrl-C or SIGTERM (exit 130).\n"
          "  --db URL              sqlite:PATH or postgresql://...\n" PROD_WEB_HELP,
          f);
}

int prod_serve(int argc, char **argv)
{
    static const struct option opts[] = {CLI_OPTS_COMMON,
                                         {"db", required_argument, NULL, CLI_OPT_LOCAL},
                                         PROD_WEB_OPTS, CLI_OPTS_END};
    prod_web pw;
    const char *db = NULL;
    oflash_ledger *l;
    cli_args a;
    int c, rc;

    memset(&pw, 0, sizeof pw);
    cli_args_init(&a, "prod", "prod serve: ", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        if (c == CLI_ARGS_BAD)
            return EXIT_USAGE;
        if (prod_web_opt(&pw, c, a.arg))
            continue;
        switch (c) {
        case 'h':
            serve_usage(stdout);
            return EXIT_OK;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_LOCAL:
            db = a.arg;
            break;
        default:
            return cli_usage("prod", "prod serve: unexpected option");
        }
    }
    if (a.npos)
        return cli_usage("prod", "prod serve: unexpected argument '%s'", a.pos[0]);
    if (!db)
        return cli_usage("prod", "prod serve: --db URL is needed (the ledger to show)");
    if (!pw.listen)
        return cli_usage("prod", "prod serve: --http [HOST:]PORT is needed");
    if ((rc = prod_web_check(&pw, "prod serve")) != EXIT_OK)
        return rc;
    /* The ledger must open now (a wrong URL is said at once, not on the
     * page); the server opens its own connection. */
    oflash_ledger_open_opts lo = OFLASH_LEDGER_OPEN_OPTS_INIT;
    lo.read_only = true; /* the page only reads: it creates and upgrades nothing */
    rc = oflash_ledger_open_ext(&l, db, &lo);
    if (rc == OFLASH_ENOTFOUND && !cli_quiet)
        fprintf(stderr, "oflash: note: %s; the page shows it from then on\n", oflash_error_last());
    else if (rc < 0 && rc != OFLASH_ENOTFOUND)
        return cli_fail_ctx("ledger %s", db);
    oflash_ledger_close(l);
    cli_interrupt_install();
    rc = start_page(&pw, NULL, db);
    if (rc != EXIT_OK)
        return rc;
    while (!cli_interrupted) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    prod_web_stop(&pw);
    return EXIT_INTERRUPTED; /* like gdbserver: stopped by a signal */
}
