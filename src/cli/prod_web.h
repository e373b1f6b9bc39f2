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

#define PROD_WEB_OPT_HTTP (CLI_OPT_LOCAL + 0x80)
#define PROD_WEB_OPT_HTTP_TOKEN (CLI_OPT_LOCAL + 0x81)
#define PROD_WEB_OPT_NO_PUBLISH (CLI_OPT_LOCAL + 0x82)
#define PROD_WEB_OPTS                                                                              \
    {"http", required_argument, NULL, PROD_WEB_OPT_HTTP},                                          \
        {"http-token", required_argument, NULL, PROD_WEB_OPT_HTTP_TOKEN}
/* prod run only. */
#define PROD_WEB_OPT_PUBLISH {"no-publish", no_argument, NULL, PROD_WEB_OPT_NO_PUBLISH}

/* The help lines of the two options. */
#define PROD_WEB_HELP                                                                              \
    "  --http [HOST:]PORT    serve the station's web page (read-only; 127.0.0.1 unless\n"          \
    "                        HOST is given; see docs/web.md)\n"                                     \
    "  --http-token TOKEN    every request must carry TOKEN (needed for any HOST that is\n"         \
    "                        not loopback); open http://HOST:PORT/?token=TOKEN once\n"

typedef struct prod_web {
    const char *listen; /* --http, NULL = no page */
    const char *token;  /* --http-token */
    bool no_publish;    /* --no-publish */
    oflash_web *web;    /* set once serving (read by prod_web_changed from any thread) */
    oflash_web_publisher *pub; /* likewise */
    oflash_serial_pool *pool;
} prod_web;

/* 1 if c was --http/--http-token (taken), else 0. */
int prod_web_opt(prod_web *pw, int c, const char *arg);
/* oflash_station_opts.changed (ctx = the prod_web). */
void prod_web_changed(void *ctx, size_t port);
/* EXIT_OK, or prints the error and returns EXIT_FAIL / EXIT_USAGE. */
int prod_web_start(prod_web *pw, oflash_station *st, const oflash_job *job);
void prod_web_stop(prod_web *pw);

/* oflash prod serve --db URL --http [HOST:]PORT [--http-token TOKEN] */
int prod_serve(int argc, char **argv);

#endif
