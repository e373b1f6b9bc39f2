/*
 * gdb_internal.h - cross-file internals of src/gdb/: the client opened on
 * an existing file descriptor (fuzzing and tests), the server's XML
 * documents and the Thumb-2 next-PC decoder.
 */
#ifndef OFLASH_GDB_INTERNAL_H
#define OFLASH_GDB_INTERNAL_H

#include "oflash/probe.h"
#include "oflash/device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Open a "gdb" probe on a connected fd (taken over: closed with the probe). */
int oflash__gdb_open_fd(oflash_probe **out, int fd, const char *peer,
                        const oflash_probe_opts *opts);

/* The XML documents of oflash gdbserver (target_xml.c): the target
 * description (msp/psp in org.gnu.gdb.arm.m-system when the probe has them)
 * and the memory map of dev.  *out is malloc'ed, NUL-terminated. */
int oflash__gdb_tdesc_xml(char **out, size_t *len, bool msp_psp);
int oflash__gdb_memory_map_xml(char **out, size_t *len, const oflash_device *dev);

/* The address the instruction at PC continues to (Thumb-2, ARMv7-M),
 * computed from the registers, flags, IT state and memory it reads.
 * OFLASH_EUNSUPPORTED for an exception return or a switch to ARM state. */
int oflash__thumb_next_pc(oflash_probe *p, uint32_t *next);

#endif
