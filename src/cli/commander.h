/*
 * commander.h - the parts of `oflash commander` shared between the command
 * table (cmd_commander.c) and the interactive line editor
 * (commander_edit.c, libedit).
 */
#ifndef OFLASH_CLI_COMMANDER_H
#define OFLASH_CLI_COMMANDER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* Set by SIGINT/SIGTERM while a command runs. */
extern volatile sig_atomic_t cmdr_interrupted;

/* Run one command line: 0 done (or nothing to do), -1 failed, 1 exit. */
int cmdr_exec_line(void *ctx, const char *line);

/* Command names and aliases for completion: i = 0, 1, ... until NULL. */
const char *cmdr_command_name(size_t i);

/* The interactive loop (prompt "J-Link>"-style "oflash>"): returns 0 when
 * every command succeeded, 1 when one failed (with exit_on_error the
 * session still continues: an interactive user decides). */
int cmdr_interactive(void *ctx, bool exit_on_error);

#endif
