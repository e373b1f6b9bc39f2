/*
 * pq_lazy.c - the libpq functions the PostgreSQL ledger uses, loaded on
 * first use (see src/common/lazylib.h): libpq and its TLS/GSSAPI/LDAP
 * libraries cost nothing to commands that do not open a PostgreSQL ledger.
 * Prototypes come from <libpq-fe.h>.
 */
#include <libpq-fe.h>

#include "common/lazylib.h"

static oflash_lazylib pl = OFLASH_LAZYLIB_INIT("libpq.so.5", "libpq5");

/* For error messages when libpq itself cannot be loaded. */
const char *oflash__pq_load_error(void);
const char *oflash__pq_load_error(void)
{
    return oflash__lazylib_error(&pl);
}

OFLASH_LAZY_FN(pl, PGconn *, NULL, PQconnectdbParams,
               (const char *const *keywords, const char *const *values, int expand_dbname),
               (keywords, values, expand_dbname))
OFLASH_LAZY_FN(pl, ConnStatusType, CONNECTION_BAD, PQstatus, (const PGconn *conn), (conn))
OFLASH_LAZY_FN(pl, char *, (char *)oflash__lazylib_error(&pl), PQerrorMessage, (const PGconn *conn),
               (conn))
OFLASH_LAZY_VOID(pl, PQfinish, (PGconn * conn), (conn))
OFLASH_LAZY_VOID(pl, PQreset, (PGconn * conn), (conn))
OFLASH_LAZY_FN(pl, PQnoticeProcessor, NULL, PQsetNoticeProcessor,
               (PGconn * conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
OFLASH_LAZY_FN(pl, PGresult *, NULL, PQexec, (PGconn * conn, const char *query), (conn, query))
OFLASH_LAZY_FN(pl, PGresult *, NULL, PQexecParams,
               (PGconn * conn, const char *command, int nParams, const Oid *paramTypes,
                const char *const *paramValues, const int *paramLengths, const int *paramFormats,
                int resultFormat),
               (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats,
                resultFormat))
OFLASH_LAZY_FN(pl, ExecStatusType, PGRES_FATAL_ERROR, PQresultStatus, (const PGresult *res), (res))
OFLASH_LAZY_FN(pl, char *, NULL, PQresultErrorField, (const PGresult *res, int fieldcode),
               (res, fieldcode))
OFLASH_LAZY_FN(pl, char *, (char *)"", PQresultErrorMessage, (const PGresult *res), (res))
OFLASH_LAZY_FN(pl, int, 0, PQntuples, (const PGresult *res), (res))
OFLASH_LAZY_FN(pl, int, 0, PQnfields, (const PGresult *res), (res))
OFLASH_LAZY_FN(pl, char *, NULL, PQgetvalue, (const PGresult *res, int row, int col),
               (res, row, col))
OFLASH_LAZY_FN(pl, int, 1, PQgetisnull, (const PGresult *res, int row, int col), (res, row, col))
OFLASH_LAZY_VOID(pl, PQclear, (PGresult * res), (res))
