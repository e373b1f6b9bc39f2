/*
 * prod_web.h - the web page of `oflash prod run --http` and the command
 * `oflash prod serve` (prod_web.c), used by cmd_prod.c.
 *
 * prod run: add PROD_WEB_OPTS to the option table and give every option to
 * prod_web_opt() first; set the station's opts.changed = prod_web_changed,
 * opts.ctx = &pw before oflash_station_create(); prod_web_start() after it
 * (publishes the live state into the ledger unless --no-publish; with
 * --http also serves the page); prod_web_stop() after the run, before
 * oflash_station_free().
 */
#ifndef OFLASH_CLI_PROD_WEB_H
#define OFLASH_CLI_PROD_WEB_H

#include "cli/cli.h"
#include "oflash/prod.h"
#include "oflash/web.h"

#include <stdbool.h>

#define PROD_WEB_OPT_HTTP (CLI_OPT_LOCAL + 0x80)
#define PROD_WEB_OPT_HTTP_TOKEN (CLI_OPT_LOCAL + 0x81)
#define PROD_WEB_OPT_HTTP_CERT (CLI_OPT_LOCAL + 0x82)
#define PROD_WEB_OPT_HTTP_KEY (CLI_OPT_LOCAL + 0x83)
#define PROD_WEB_OPT_HTTP_INSECURE (CLI_OPT_LOCAL + 0x84)
#define PROD_WEB_OPTS                                                                              \
    {"http", required_argument, NULL, PROD_WEB_OPT_HTTP},                                          \
        {"http-token", required_argument, NULL, PROD_WEB_OPT_HTTP_TOKEN},                          \
        {"http-cert", required_argument, NULL, PROD_WEB_OPT_HTTP_CERT},                            \
        {"http-key", required_argument, NULL, PROD_WEB_OPT_HTTP_KEY},                              \
        {"http-insecure", no_argument, NULL, PROD_WEB_OPT_HTTP_INSECURE}
#define PROD_WEB_OPT_NO_PUBLISH (CLI_OPT_LOCAL + 0x85)
/* prod run only. */
#define PROD_WEB_OPT_PUBLISH {"no-publish", no_argument, NULL, PROD_WEB_OPT_NO_PUBLISH}

/* The help lines of the options. */
#define PROD_WEB_HELP                                                                              \
    "  --http [HOST:]PORT    serve the station's web page (read-only; 127.0.0.1 unless\n"          \
    "                        HOST is given; see docs/web.md)\n"                                     \
    "  --http-token TOKEN    every request must carry TOKEN (needed for any HOST that is\n"         \
    "                        not loopback); open https://HOST:PORT/?token=TOKEN once\n"             \
    "  --http-cert FILE      serve HTTPS with this certificate (PEM; needed, with\n"              \
    "  --http-key FILE       its private key, for any HOST that is not loopback)\n"               \
    "  --http-insecure       serve plain HTTP on such a HOST anyway: the token and the\n"          \
    "                        ledger's data cross the network in clear text\n"

typedef struct prod_web {
    const char *listen; /* --http, NULL = no page */
    const char *token;  /* --http-token */
    const char *cert;   /* --http-cert */
    const char *key;    /* --http-key */
    bool insecure;      /* --http-insecure */
    bool no_publish;    /* --no-publish */
    /* "FILE:LINE" where the job file gave the value (prod_web_job), NULL
     * for a flag: messages name the key there instead of the flag. */
    const char *listen_at, *token_at, *cert_at, *key_at, *insecure_at;
    /* OFLASH_TEST_CERT_CHECK_S (tests only): the certificate's check
     * interval in seconds instead of hourly (oflash_web_opts.cert_check_s). */
    unsigned cert_check_s;
    oflash_web *web;    /* set once serving (read by prod_web_changed from any thread) */
    oflash_web_publisher *pub; /* likewise */
    oflash_serial_pool *pool;
} prod_web;

/* 1 if c was --http/--http-token (taken), else 0. */
int prod_web_opt(prod_web *pw, int c, const char *arg);
/* The job file's web keys ([job] http, http_token, http_cert, http_key,
 * http_insecure) where no flag gave the value (flags override the file).
 * Before prod_web_check. */
void prod_web_job(prod_web *pw, const oflash_job_file *file);
/* Check the page's options (the address, token, certificate and key, the
 * plain-HTTP policy) before anything else happens -- in prod run before
 * the station opens a port -- and print the warnings (certificate close
 * to expiry or not made for HOST, key readable by others, plain HTTP on
 * the network).  cmd: "prod run" / "prod serve".  EXIT_OK, or prints the
 * error and returns EXIT_FAIL / EXIT_USAGE. */
int prod_web_check(prod_web *pw, const char *cmd);
/* oflash_station_opts.changed (ctx = the prod_web). */
void prod_web_changed(void *ctx, size_t port);
/* EXIT_OK, or prints the error and returns EXIT_FAIL / EXIT_USAGE. */
int prod_web_start(prod_web *pw, oflash_station *st, const oflash_job *job);
void prod_web_stop(prod_web *pw);

/* oflash prod serve --db URL --http [HOST:]PORT [--http-token TOKEN]
 *                   [--http-cert FILE --http-key FILE | --http-insecure] */
int prod_serve(int argc, char **argv);

#endif
