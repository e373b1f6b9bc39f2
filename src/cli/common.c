/* common.c - helpers shared by the oflash subcommands. */
#include "cli.h"
#include "cli_json.h"
#include "oflash/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

bool cli_quiet;
bool cli_json;

/* Every message of a failing command goes through here: to stderr, and
 * with --json to the error object (cli_json.c). */
static void report(const char *code, const char *hint_cmd, const char *fmt, va_list ap)
{
    char msg[4096];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "oflash: %s\n", msg);
    if (hint_cmd) fprintf(stderr, "(see 'oflash %s --help')\n", hint_cmd);
    cli_json_note(msg, code);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(NULL, NULL, fmt, ap);
    va_end(ap);
}

void cli_error_code(const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(code, NULL, fmt, ap);
    va_end(ap);
}

bool cli_verbose;

/* With -v: the internal details of the last error (loader call, emulator
 * error, temporary file), which messages leave out. */
static void detail(void)
{
    const char *d = oflash_error_detail();
    if (cli_verbose && d[0]) fprintf(stderr, "oflash: detail: %s\n", d);
}

int cli_fail(void)
{
    const char *m = oflash_error_last();
    cli_json_note(m[0] ? m : "operation failed", cli_json_code_name(oflash_error_last_code()));
    fprintf(stderr, "oflash: %s\n", m[0] ? m : "operation failed");
    detail();
    return EXIT_FAIL;
}

int cli_fail_ctx(const char *fmt, ...)
{
    va_list ap;
    char what[1024], msg[4096];
    const char *m = oflash_error_last();
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", what, m[0] ? m : "operation failed");
    fprintf(stderr, "oflash: %s\n", msg);
    cli_json_note(msg, cli_json_code_name(oflash_error_last_code()));
    detail();
    return EXIT_FAIL;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report("usage", cmd, fmt, ap);
    va_end(ap);
    return EXIT_USAGE;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (*end == 'K' || *end == 'k') {
        if (v > (~0ull >> 10))
            return false;
        v <<= 10;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        if (v > (~0ull >> 20))
            return false;
        v <<= 20;
        end++;
    }
    if (*end)
        return false;
    *out = v;
    return true;
}

bool cli_parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(s, &v) || v > 0xFFFFFFFFull)
        return false;
    *out = (uint32_t)v;
    return true;
}

static const struct option *find_long(const struct option *o, const char *name, size_t len)
{
    for (; o->name; o++)
        if (strlen(o->name) == len && !strncmp(o->name, name, len)) return o;
    return NULL;
}

static int short_has_arg(const cli_args *a, char c)
{
    const char *p = strchr(a->shortopts, c);
    if (!c || c == ':' || !p) return -1;
    return p[1] == ':' ? required_argument : no_argument;
}

void cli_args_init(cli_args *a, const char *cmd, const char *prefix, int argc, char **argv,
                   const struct option *opts)
{
    size_t n = 0;
    memset(a, 0, sizeof *a);
    a->cmd = cmd;
    a->prefix = prefix ? prefix : "";
    a->argc = argc;
    a->argv = argv;
    a->opts = opts;
    a->shortopts[n++] = ':'; /* ':' for a missing value, no getopt messages */
    for (const struct option *o = opts; o->name; o++)
        if (o->val > 0 && o->val < 128 && n + 3 < sizeof a->shortopts) {
            a->shortopts[n++] = (char)o->val;
            if (o->has_arg == required_argument) a->shortopts[n++] = ':';
        }
    a->shortopts[n] = '\0';
    if (find_long(opts, "json", 4))
        for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
            if (!strcmp(argv[i], "--json")) cli_json = true;
}

/* Every argument checked before getopt_long sees them: long options only
 * by their full names, values where they are due. */
static bool check_args(cli_args *a)
{
    for (int i = 1; i < a->argc; i++) {
        const char *s = a->argv[i];
        if (!strcmp(s, "--")) break;
        if (s[0] != '-' || !s[1]) continue;
        if (s[1] == '-') {
            const char *eq = strchr(s + 2, '=');
            size_t len = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
            const struct option *o = find_long(a->opts, s + 2, len);
            if (!o) {
                cli_usage(a->cmd, "%sunknown option '%s'", a->prefix, s);
                return false;
            }
            if (o->has_arg == no_argument && eq) {
                cli_usage(a->cmd, "%soption --%s takes no value ('%s')", a->prefix, o->name, s);
                return false;
            }
            if (o->has_arg == required_argument && !eq && ++i >= a->argc) {
                cli_usage(a->cmd, "%soption --%s needs a value", a->prefix, o->name);
                return false;
            }
            continue;
        }
        for (const char *c = s + 1; *c; c++) {
            int has = short_has_arg(a, *c);
            if (has < 0) {
                cli_usage(a->cmd, "%sunknown option '%s'", a->prefix, s);
                return false;
            }
            if (has == required_argument) {
                if (!c[1] && ++i >= a->argc) {
                    cli_usage(a->cmd, "%soption -%c needs a value", a->prefix, *c);
                    return false;
                }
                break;
            }
        }
    }
    return true;
}

int cli_args_next(cli_args *a)
{
    int c;
    if (!a->checked) {
        a->checked = true;
        if (!check_args(a)) return CLI_ARGS_BAD;
        optind = 0; /* glibc: start afresh (another parse may have run) */
        opterr = 0;
    }
    a->arg = NULL;
    c = getopt_long(a->argc, a->argv, a->shortopts, a->opts, NULL);
    if (c == -1) {
        a->pos = a->argv + optind;
        a->npos = a->argc - optind;
        return CLI_ARGS_END;
    }
    if (c == '?' || c == ':') { /* excluded by check_args; kept for safety */
        cli_usage(a->cmd, "%sbad option or missing value near '%s'", a->prefix,
                  a->argv[optind > 1 ? optind - 1 : 1]);
        return CLI_ARGS_BAD;
    }
    a->arg = optarg;
    return c;
}
