/*
 * ledger_v2.c - make the ledger an older oflash (schema version 2) left:
 * tables by this code's own migration steps 1 and 2, the pool of the job's
 * serial scheme known by its identity line only, and one committed unit
 * (serial 1 of the pool, UID C0FFEE, station "old").
 *
 *   ledger_v2 JOB.ini DB_URL      (DB_URL: a new SQLite file or an empty
 *                                  PostgreSQL database)
 *
 * tests/station/station.sh: a plan and a status leave it at schema 2, a
 * real run upgrades it and goes on at serial 2.
 */
#include "oflash/error.h"
#include "oflash/prod.h"
#include "prod/ledger_internal.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    oflash_job job = OFLASH_JOB_INIT;
    oflash_job_file *jf = NULL;
    oflash_serial_pool *p = NULL;
    oflash_ledger *raw = NULL;
    char serial[OFLASH_SERIAL_TEXT_MAX], sql[2048];
    int rc = 2;

    if (argc != 3) {
        fprintf(stderr, "usage: ledger_v2 JOB.ini DB_URL\n");
        return 2;
    }
    if (oflash_job_load(&job, &jf, argv[1]) < 0 || oflash_serial_pool_open(&p, &job.serial) < 0 ||
        oflash_serial_text(serial, p, 0) < 0 || oflash__ledger_open_raw(&raw, argv[2]) < 0 ||
        oflash__ledger_script(raw, raw->be->migration(1)) < 0 ||
        oflash__ledger_script(raw, raw->be->migration(2)) < 0)
        goto out;
    snprintf(sql, sizeof sql,
             "INSERT INTO oflash_schema VALUES ('oflash-ledger', 2);"
             "INSERT INTO pools (identity, size, next_seq, created_us) VALUES ('%s', %" PRIu64
             ", 1, 1);"
             "INSERT INTO units (pool_id, seq, serial, uid, state, station, start_us, end_us)"
             " VALUES (1, 0, '%s', 'C0FFEE', 'pass', 'old', 10, 20)",
             oflash_serial_pool_identity(p), oflash_serial_pool_size(p), serial);
    if (oflash__ledger_script(raw, sql) < 0) goto out;
    rc = 0;
out:
    if (rc) fprintf(stderr, "ledger_v2: %s\n", oflash_error_last());
    oflash_ledger_close(raw);
    oflash_serial_pool_free(p);
    oflash_job_file_free(jf);
    return rc;
}
