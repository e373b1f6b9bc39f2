/*
 * commander_edit.c - the interactive side of `oflash commander`: line
 * editing, history (Up/Down) and tab completion of command names, from
 * libedit's readline interface.
 */
#include "commander.h"
#include "cli.h"

#include <editline/readline.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *complete_cmd(const char *text, int state)
{
    static size_t idx, len;
    const char *n;
    if (!state) {
        idx = 0;
        len = strlen(text);
    }
    while ((n = cmdr_command_name(idx++)) != NULL)
        if (!strncasecmp(n, text, len)) return strdup(n);
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    /* Command names in the first word; file names elsewhere. */
    if (start == 0) {
        rl_attempted_completion_over = 1;
        return rl_completion_matches(text, complete_cmd);
    }
    return NULL;
}

int cmdr_interactive(void *ctx, bool exit_on_error)
{
    int failed = 0;
    (void)exit_on_error;
    rl_readline_name = "oflash";
    rl_attempted_completion_function = complete;
    using_history();
    printf("oflash commander %s: 'help' lists the commands, 'q' leaves.\n",
           "(J-Link Commander style)");
    for (;;) {
        char *line;
        int rc;
        cmdr_interrupted = 0;
        line = readline("oflash> ");
        if (!line) {
            if (cmdr_interrupted) continue; /* Ctrl-C at the prompt: a new line */
            putchar('\n');
            break;                          /* Ctrl-D */
        }
        if (line[strspn(line, " \t")]) add_history(line);
        rc = cmdr_exec_line(ctx, line);
        free(line);
        if (rc == 1) break;
        if (rc < 0) failed = 1;
    }
    return failed;
}
