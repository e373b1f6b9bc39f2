/*
 * web_check.h - checks of the web page's settings one at a time, for the
 * job file (src/prod/job.c), which names the file and line of a bad value.
 * Each returns 0 or a negative code with the message set (as
 * oflash_web_check says it).
 */
#ifndef OFLASH_WEB_CHECK_H
#define OFLASH_WEB_CHECK_H

/* "[HOST:]PORT", "[IPv6]:PORT" or "PORT": parsed and HOST resolved. */
int oflash__web_check_listen(const char *spec);
/* A token's length and characters. */
int oflash__web_check_token(const char *token);

#endif
