/*
 * gdb_internal.h - cross-file internals of src/gdb/: the client opened on
 * an existing file descriptor (fuzzing and tests), and the STM32F4 flash
 * interface driver the server uses.
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

/*
 * STM32F2/F4 embedded flash interface driven through a probe, as a debugger
 * does on silicon (RM0368 rev 5 §3.5-3.8, RM0090 rev 19 §3.5-3.9).  The
 * probe's bus writes to the flash array with FLASH_CR.PG set program it.
 */
/* Unlock FLASH_CR with the KEYR sequence (no-op when already unlocked). */
int oflash__f4fi_unlock(oflash_probe *p);
/* Set FLASH_CR.LOCK again. */
int oflash__f4fi_lock(oflash_probe *p);
/* Erase one sector; sector is the RM number (0..23), dual_bank maps 12..23
 * to SNB 16..27. */
int oflash__f4fi_erase_sector(oflash_probe *p, unsigned sector, bool dual_bank);
/* Program len bytes at addr (word aligned, len multiple of 4) with PSIZE x32. */
int oflash__f4fi_program_words(oflash_probe *p, uint32_t addr, const uint8_t *buf, size_t len);
/* Program single bytes with PSIZE x8 (OTP lock bytes). */
int oflash__f4fi_program_bytes(oflash_probe *p, uint32_t addr, const uint8_t *buf, size_t len);

/* The address the instruction at PC continues to (Thumb-2, ARMv7-M),
 * computed from the registers, flags, IT state and memory it reads.
 * OFLASH_EUNSUPPORTED for an exception return or a switch to ARM state. */
int oflash__thumb_next_pc(oflash_probe *p, uint32_t *next);

#endif
