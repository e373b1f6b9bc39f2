/*
 * ledger_bench.c - serial reservations per second on one ledger.
 *
 *   ledger_bench [--stations N] [--units N] URL
 *
 * N stations are N threads, each with its own connection (its own
 * oflash_ledger), started together.  Each unit is the whole ledger side of
 * a programmed unit: reserve (a new chip UID), started, finish(PASS), so
 * "reservations per second" counts serials bound and committed.  The pool
 * is new for each run (its identity names the process and the time), so
 * one database serves many runs.  Prints one line:
 *
 *   ledger_bench: backend=B stations=N units=U seconds=S reservations_per_s=R
 *   round_trips_per_unit=T
 *
 * T counts requests sent to a database server (PostgreSQL); SQLite has no
 * server and reports 0.
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "prod/ledger_internal.h"

#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STATIONS 64

typedef struct station {
    const char *url;
    const oflash_serial_pool *pool;
    int index;
    unsigned units;
    uint64_t round_trips;
    int rc;
    char error[512];
    pthread_barrier_t *ready;
    oflash_ledger *l;
} station;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    station *s = arg;
    char name[32];
    snprintf(name, sizeof name, "bench-%d", s->index);
    oflash_unit_record in, r;
    memset(&in, 0, sizeof in);
    snprintf(in.station, sizeof in.station, "%s", name);
    snprintf(in.device, sizeof in.device, "STM32F401RE");
    in.port = s->index;
    bool rebind;
    uint64_t rt0 = oflash__ledger_round_trips(s->l);
    pthread_barrier_wait(s->ready);
    for (unsigned i = 0; i < s->units && s->rc == 0; i++) {
        char uid[32];
        snprintf(uid, sizeof uid, "%08X%08X%08X", (unsigned)getpid(), (unsigned)s->index, i);
        s->rc = oflash_ledger_reserve(&r, &rebind, s->l, uid, &in);
        if (s->rc == 0) s->rc = oflash_ledger_started(s->l, &r);
        if (s->rc == 0) {
            r.state = OFLASH_UNIT_PASS;
            r.bytes_written = 16384;
            s->rc = oflash_ledger_finish(s->l, &r);
        }
        if (s->rc < 0) snprintf(s->error, sizeof s->error, "%s", oflash_error_last());
    }
    s->round_trips = oflash__ledger_round_trips(s->l) - rt0;
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ledger_bench [--stations N] [--units N] URL\n"
            "  URL          sqlite:PATH or postgresql://HOST:PORT/DB\n"
            "  --stations N concurrent stations, one connection each (default 1, max %d)\n"
            "  --units N    units in all, shared evenly (default 2000)\n",
            MAX_STATIONS);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"stations", required_argument, NULL, 's'},
                                         {"units", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    long stations = 1, units = 2000;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 's':
            stations = strtol(optarg, &end, 10);
            if (*end || stations < 1 || stations > MAX_STATIONS) {
                fprintf(stderr, "ledger_bench: --stations takes 1 to %d, not '%s'\n", MAX_STATIONS,
                        optarg);
                return 2;
            }
            break;
        case 'u':
            units = strtol(optarg, &end, 10);
            if (*end || units < 1 || units > 10000000) {
                fprintf(stderr, "ledger_bench: --units takes 1 to 10000000, not '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    const char *url = argv[optind];

    char prefix[48];
    snprintf(prefix, sizeof prefix, "B%X-%lX-", (unsigned)getpid(), (unsigned long)time(NULL));
    oflash_serial_scheme scheme = OFLASH_SERIAL_SCHEME_INIT;
    scheme.format = OFLASH_SERIAL_ASCII_DEC;
    scheme.len = 10;
    scheme.prefix = prefix;
    oflash_serial_pool *pool;
    if (oflash_serial_pool_open(&pool, &scheme) < 0) {
        fprintf(stderr, "ledger_bench: %s\n", oflash_error_last());
        return 1;
    }
    station st[MAX_STATIONS];
    pthread_t th[MAX_STATIONS];
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, (unsigned)stations + 1);
    for (long i = 0; i < stations; i++) {
        memset(&st[i], 0, sizeof st[i]);
        st[i].url = url;
        st[i].pool = pool;
        st[i].index = (int)i;
        st[i].units = (unsigned)(units / stations + (i < units % stations));
        st[i].ready = &ready;
        /* Connections are opened before the clock starts. */
        if (oflash_ledger_open(&st[i].l, url) < 0 || oflash_ledger_use_pool(st[i].l, pool) < 0) {
            fprintf(stderr, "ledger_bench: %s\n", oflash_error_last());
            return 1;
        }
    }
    for (long i = 0; i < stations; i++)
        pthread_create(&th[i], NULL, run, &st[i]);
    pthread_barrier_wait(&ready);
    double t0 = now_s();
    for (long i = 0; i < stations; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - t0;
    pthread_barrier_destroy(&ready);
    int failed = 0;
    uint64_t rts = 0;
    const char *backend = oflash_ledger_backend(st[0].l);
    for (long i = 0; i < stations; i++) {
        if (st[i].rc < 0) {
            fprintf(stderr, "ledger_bench: station %ld: %s\n", i, st[i].error);
            failed = 1;
        }
        rts += st[i].round_trips;
    }
    printf("ledger_bench: backend=%s stations=%ld units=%ld seconds=%.3f reservations_per_s=%.0f "
           "round_trips_per_unit=%.2f\n",
           backend, stations, units, secs, (double)units / secs, (double)rts / (double)units);
    for (long i = 0; i < stations; i++)
        oflash_ledger_close(st[i].l);
    oflash_serial_pool_free(pool);
    return failed;
}
