/*
 * ports.h - TCP ports for the C tests that start a server needing its port
 * on the command line (QEMU's gdb stub), as tests/lib/ports.sh does for
 * the shell tests (its comment says why): pick a port the kernel never
 * hands out as the local end of a connection, start the server, and take
 * the port only once THAT process listens on it -- another test's server
 * that took the port in the meantime must not be mistaken for ours; our
 * server then exits ("address in use") and the caller tries a fresh port.
 */
#ifndef OFLASH_TEST_PORTS_H
#define OFLASH_TEST_PORTS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* A random port below ip_local_port_range (or above it if that starts too
 * low). */
static inline int test_pick_port(void)
{
    int lo = 32768, hi = 60999, base = 20000, span;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &lo, &hi) != 2) {
            lo = 32768;
            hi = 60999;
        }
        fclose(f);
    }
    if (lo > base + 1000) {
        span = lo - base;
    } else {
        base = hi + 1;
        span = 65536 - base;
    }
    return base + rand() % span;
}

/* The inode of a TCP socket listening on port (127.0.0.1, 0.0.0.0 or the
 * IPv6 equivalents), from /proc/net/tcp and tcp6; 0 if none. */
static inline unsigned long test_listen_inode(const char *table, int port)
{
    char line[512];
    unsigned long inode = 0;
    FILE *f = fopen(table, "r");
    if (!f) return 0;
    while (!inode && fgets(line, sizeof line, f)) {
        char local[64], remote[64];
        unsigned st, lport;
        unsigned long ino;
        char *colon;
        /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %63s %63s %x %*s %*s %*s %*u %*u %lu", local, remote, &st, &ino) !=
            4)
            continue;
        colon = strrchr(local, ':');
        if (!colon || sscanf(colon + 1, "%x", &lport) != 1) continue;
        if (st == 0x0A && (int)lport == port) inode = ino;
    }
    fclose(f);
    return inode;
}

/* Does process pid hold the socket listening on port? */
static inline int test_pid_listens(pid_t pid, int port)
{
    char dir[64], want[64], path[512], got[64];
    unsigned long inode = test_listen_inode("/proc/net/tcp", port);
    DIR *d;
    struct dirent *e;
    int found = 0;
    if (!inode) inode = test_listen_inode("/proc/net/tcp6", port);
    if (!inode) return 0;
    snprintf(want, sizeof want, "socket:[%lu]", inode);
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    d = opendir(dir);
    if (!d) return 0;
    while (!found && (e = readdir(d)) != NULL) {
        ssize_t n;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        n = readlink(path, got, sizeof got - 1);
        if (n <= 0) continue;
        got[n] = '\0';
        found = strcmp(got, want) == 0;
    }
    closedir(d);
    return found;
}

#endif
