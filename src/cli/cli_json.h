/*
 * cli_json.h - the one JSON convention of the oflash CLI (docs/json.md).
 *
 * Every command that reports takes --json (CLI_OPTS_JSON; cli_args sets
 * cli_json as soon as the command line holds it).  With --json:
 *   - the result is ONE object on stdout, printed with cli_json_print():
 *     one line, keys in the order built, "key": value with ", " between;
 *     keys are snake_case; addresses, sizes and counts are plain numbers;
 *     absent values are null;
 *   - a failure prints nothing itself: main() calls cli_json_finish(),
 *     which prints {"error": {"code": "...", "message": "...",
 *     "exit_code": N, ...}} on stdout, from the first message the command
 *     reported (cli_error, cli_fail, cli_usage); later messages go to
 *     "details".  A command adds its own fields to that object with
 *     cli_json_error_add() (the plan of a refused program, the first
 *     difference of a failed verify).  The exit code is the same as
 *     without --json.  The messages still go to stderr too.
 *   - an OTP block's lock is always cli_json_lock(): {"locked": bool,
 *     "lock_byte": N} inside the block's object, or "locked": null for
 *     blocks without a lock byte.
 *
 * Build objects with jansson (json_object(), json_pack()); every helper
 * here steals the reference it is given.
 */
#ifndef OFLASH_CLI_JSON_H
#define OFLASH_CLI_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Print obj on stdout (one line) and free it; the command's one result. */
void cli_json_print(json_t *obj);
/* A string, or null for NULL. */
json_t *cli_json_str(const char *s);
/* Add key: val to the error object a failure will print (val stolen). */
void cli_json_error_add(const char *key, json_t *val);
/* Add every field of obj to the error object, then free obj (a failure
 * that reports the same fields as its success: verify, run, loader check). */
void cli_json_error_merge(json_t *obj);
/* Add the fields of an OTP block's lock to obj (the one representation):
 * "locked": true/false and "lock_byte": N, or "locked": null and
 * "lock_byte": null when the block has no lock byte. */
void cli_json_lock(json_t *obj, bool has_lock, bool locked, uint8_t lock_byte);
/* Bytes as lower-case hex ("0a1b..."). */
json_t *cli_json_hex(const uint8_t *data, size_t len);

/* For cli_error() & co. (common.c): remember a message and its code
 * ("usage", or a library error code, 0 for none). */
void cli_json_note(const char *msg, const char *code);
/* The snake_case name of a library error code ("format", "not_found"). */
const char *cli_json_code_name(int code);
/* main(): with --json and rc != 0, print the error object unless the
 * command printed its own result; frees what was noted.  Returns rc. */
int cli_json_finish(int rc);

#endif
