/*
 * probe_internal.h - the probe backends built into liboflash.
 *
 * The registry in probe.c lists them, one line each; a new built-in backend
 * adds its ops table here and a line there.  Backends from outside the
 * library are added at run time with oflash_probe_register().
 */
#ifndef OFLASH_PROBE_INTERNAL_H
#define OFLASH_PROBE_INTERNAL_H

#include "oflash/sys/probe.h"

extern const oflash_probe_ops oflash_probe_sim_ops;      /* src/sim/sim_probe.c */
extern const oflash_probe_ops oflash_probe_sim_feed_ops; /* src/sim/sim_probe.c, sim_feed.c */
extern const oflash_probe_ops oflash_probe_gdb_ops; /* src/gdb/client.c */

#endif
