/* cli_json.c - the CLI's JSON output and error objects (see cli_json.h). */
#include "cli_json.h"
#include "cli.h"
#include "oflash/error.h"

#include <stdio.h>
#include <string.h>

static bool printed;
static bool print_failed; /* the result could not be written: exit 1 */
static json_t *err_code, *err_msg; /* of the first message noted */
static json_t *err_extra;          /* the command's own fields */
static json_t *err_details;        /* later messages */

#define CLI_JSON_FLAGS (JSON_REAL_PRECISION(9))

void cli_json_print(json_t *obj)
{
    if (!obj) {
        /* jansson failed: out of memory */
        fputs("{\"error\": {\"code\": \"out_of_memory\", \"message\": \"cannot write JSON "
              "(out of memory)\", \"exit_code\": 1}}\n",
              stdout);
        printed = print_failed = true;
        return;
    }
    if (json_dumpf(obj, stdout, CLI_JSON_FLAGS) < 0 || fputc('\n', stdout) == EOF ||
        fflush(stdout) == EOF) {
        fprintf(stderr, "oflash: writing the JSON result to standard output failed\n");
        print_failed = true;
    }
    json_decref(obj);
    printed = true;
}

json_t *cli_json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *cli_json_hex(const uint8_t *data, size_t len)
{
    static const char hx[] = "0123456789abcdef";
    char buf[2 * 1024 + 1];
    size_t n = 0;
    for (size_t i = 0; i < len && n + 2 < sizeof buf; i++) {
        buf[n++] = hx[data[i] >> 4];
        buf[n++] = hx[data[i] & 15];
    }
    buf[n] = '\0';
    return json_string(buf);
}

void cli_json_lock(json_t *obj, bool has_lock, bool locked, uint8_t lock_byte)
{
    json_object_set_new(obj, "locked", has_lock ? json_boolean(locked) : json_null());
    json_object_set_new(obj, "lock_byte", has_lock ? json_integer(lock_byte) : json_null());
}

void cli_json_error_add(const char *key, json_t *val)
{
    if (!cli_json) {
        json_decref(val);
        return;
    }
    if (!err_extra) err_extra = json_object();
    json_object_set_new(err_extra, key, val);
}

/* Copy the fields of src into dst (json_object_update without the macro
 * cppcheck cannot read). */
static void copy_fields(json_t *dst, json_t *src)
{
    for (void *it = json_object_iter(src); it; it = json_object_iter_next(src, it))
        json_object_set(dst, json_object_iter_key(it), json_object_iter_value(it));
}

void cli_json_error_merge(json_t *obj)
{
    if (cli_json && obj) {
        if (!err_extra) err_extra = json_object();
        copy_fields(err_extra, obj);
    }
    json_decref(obj);
}

const char *cli_json_code_name(int code)
{
    switch (code) {
    case OFLASH_ENOMEM:
        return "out_of_memory";
    case OFLASH_EINVAL:
        return "invalid_argument";
    case OFLASH_EIO:
        return "io";
    case OFLASH_EFORMAT:
        return "format";
    case OFLASH_EOVERLAP:
        return "overlap";
    case OFLASH_ERANGE:
        return "out_of_range";
    case OFLASH_ETIMEOUT:
        return "timeout";
    case OFLASH_ETARGET:
        return "target";
    case OFLASH_ECONFLICT:
        return "conflict";
    case OFLASH_EVERIFY:
        return "verify_failed";
    case OFLASH_EPROTO:
        return "protocol";
    case OFLASH_ELINK:
        return "link_lost";
    case OFLASH_ENOTFOUND:
        return "not_found";
    case OFLASH_EUNSUPPORTED:
        return "unsupported";
    case OFLASH_EPROTECTED:
        return "protected";
    case OFLASH_EMISMATCH:
        return "device_mismatch";
    case OFLASH_EINTERRUPTED:
        return "interrupted";
    default:
        return "failed";
    }
}

void cli_json_note(const char *msg, const char *code)
{
    if (!cli_json) return;
    if (!err_msg) {
        err_code = json_string(code ? code : "failed");
        err_msg = json_string(msg);
        return;
    }
    if (!err_details) err_details = json_array();
    json_array_append_new(err_details, json_string(msg));
}

int cli_json_finish(int rc)
{
    if (print_failed && rc == EXIT_OK) rc = EXIT_FAIL;
    if (cli_json && rc != 0 && !printed) {
        json_t *e = json_object();
        if (rc == EXIT_INTERRUPTED) {
            json_decref(err_code);
            err_code = json_string("interrupted");
        } else if (!err_code || rc == EXIT_USAGE) {
            json_decref(err_code);
            err_code = json_string(rc == EXIT_USAGE ? "usage" : "failed");
        }
        json_object_set_new(e, "code", err_code);
        json_object_set_new(
            e, "message",
            err_msg ? err_msg : json_string(rc == EXIT_USAGE ? "usage error" : "operation failed"));
        json_object_set_new(e, "exit_code", json_integer(rc));
        if (err_details) json_object_set_new(e, "details", err_details);
        if (err_extra) copy_fields(e, err_extra);
        err_code = err_msg = err_details = NULL;
        cli_json_print(json_pack("{s:o}", "error", e));
    } else {
        json_decref(err_code);
        json_decref(err_msg);
        json_decref(err_details);
        err_code = err_msg = err_details = NULL;
    }
    json_decref(err_extra);
    err_extra = NULL;
    return rc;
}
