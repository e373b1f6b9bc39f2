/*
 * sqlite_lazy.c - the SQLite functions the ledger uses, loaded on first use
 * (see src/common/lazylib.h): only the production-line commands pay for
 * libsqlite3.  Prototypes come from <sqlite3.h>.
 */
#include <sqlite3.h>

#include "common/lazylib.h"

static oflash_lazylib sl = OFLASH_LAZYLIB_INIT("libsqlite3.so.0", "libsqlite3-0");

OFLASH_LAZY_FN(sl, int, SQLITE_CANTOPEN, sqlite3_open_v2,
               (const char *filename, sqlite3 **db, int flags, const char *vfs),
               (filename, db, flags, vfs))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_close_v2, (sqlite3 * db), (db))
OFLASH_LAZY_FN(sl, const char *, oflash__lazylib_error(&sl), sqlite3_errmsg, (sqlite3 * db), (db))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_extended_errcode, (sqlite3 * db), (db))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_busy_handler,
               (sqlite3 * db, int (*handler)(void *, int), void *arg), (db, handler, arg))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_exec,
               (sqlite3 * db, const char *sql, int (*cb)(void *, int, char **, char **), void *arg,
                char **errmsg),
               (db, sql, cb, arg, errmsg))
OFLASH_LAZY_VOID(sl, sqlite3_free, (void *p), (p))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_prepare_v2,
               (sqlite3 * db, const char *sql, int n, sqlite3_stmt **stmt, const char **tail),
               (db, sql, n, stmt, tail))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_bind_text,
               (sqlite3_stmt * stmt, int i, const char *text, int n, void (*d)(void *)),
               (stmt, i, text, n, d))
OFLASH_LAZY_FN(sl, int, 0, sqlite3_bind_parameter_index, (sqlite3_stmt * stmt, const char *name),
               (stmt, name))
OFLASH_LAZY_FN(sl, int, 0, sqlite3_bind_parameter_count, (sqlite3_stmt * stmt), (stmt))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_step, (sqlite3_stmt * stmt), (stmt))
OFLASH_LAZY_FN(sl, int, 0, sqlite3_column_count, (sqlite3_stmt * stmt), (stmt))
OFLASH_LAZY_FN(sl, const unsigned char *, NULL, sqlite3_column_text, (sqlite3_stmt * stmt, int i),
               (stmt, i))
OFLASH_LAZY_FN(sl, int, SQLITE_ERROR, sqlite3_finalize, (sqlite3_stmt * stmt), (stmt))
