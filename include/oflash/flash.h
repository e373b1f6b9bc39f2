/*
 * oflash/flash.h - plan and program main flash and OTP from one image.
 *
 * Two stages, as in probe-rs:
 *
 *  1. The planner (oflash_plan_create) is pure: from an image, a device and
 *     a view of the chip's current contents (two callbacks: CRC-32 of a
 *     range and read of a range) it decides, per bank, which sectors to
 *     erase, program or skip, which OTP bytes to program, which OTP blocks to
 *     lock, and which image bytes conflict with the chip.  It performs no
 *     I/O of its own; tests drive it with a snapshot in memory.
 *
 *  2. The executor (oflash_flash_execute) carries a plan out on a connected
 *     target through the banks' flash loaders: erase, program, verify; then
 *     OTP data, OTP verify, and lock bytes last, one byte at a time.
 *
 * Safety rules the planner enforces:
 *  - every image byte must lie in a flash, OTP or OTP-lock bank; a byte in
 *    RAM, system memory, option bytes or nowhere is an error that names the
 *    range and the device's memory map;
 *  - OTP and lock bytes need allow_otp (or skip_otp to drop them); without
 *    either the planner fails before reading the chip and names the blocks;
 *  - lock bytes in the image must be 0x00 or 0xFF;
 *  - per OTP byte: equal -> nothing; chip 0xFF -> program; else conflict;
 *    a locked block whose bytes differ -> conflict.  One exception, only on
 *    request (otp_resume) and only for bytes the recovery journal shows as
 *    started with the image's value (otp_started): a byte whose chip value
 *    has every 0 bit of the image value (a program cut short by a power
 *    loss) is programmed again.  Any conflict makes the whole plan refused
 *    (the executor writes nothing).
 *
 * Ownership: a plan owns its buffers and keeps pointers to the device (and
 * its banks) it was made for: the device must outlive the plan.  A target
 * owns its probe, device database and loaders.
 */
#ifndef OFLASH_FLASH_H
#define OFLASH_FLASH_H

#include "oflash/common.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "oflash/device.h"
#include "oflash/image.h"
#include "oflash/probe.h"

OFLASH_BEGIN_DECLS

/* ---------------------------------------------------------------------- */
/* The view of the chip the planner reads through.                        */

/*
 * Both callbacks are required (oflash_plan_create() refuses a view with a
 * NULL one) and get ctx first.  They are called only from the thread that
 * called oflash_plan_create(), during that call, and only after the image
 * passed every static check.  They return 0, or a negative
 * oflash_error_code with the message set (oflash_error_set()): the plan
 * then fails with that code and message.  buf belongs to the caller and
 * holds len bytes.
 */
typedef struct oflash_target_view {
    /* Store in *crc the CRC-32 (oflash_crc32 compatible, initial value 0)
     * of [addr, addr+len) as the chip holds it now.  len > 0. */
    int (*crc32)(void *ctx, uint32_t *crc, uint32_t addr, uint32_t len);
    /* Copy [addr, addr+len) as the chip holds it now into buf.  len > 0. */
    int (*read)(void *ctx, void *buf, uint32_t addr, uint32_t len);
    void *ctx; /* passed to both, not owned by the view */
} oflash_target_view;

/* A view over a snapshot of the chip held in an image: bytes the image does
 * not hold read as 0xFF (erased).  The image must outlive the view. */
void oflash_target_view_from_image(oflash_target_view *view, const oflash_image *contents);

/* ---------------------------------------------------------------------- */
/* The plan.                                                              */

typedef enum oflash_sector_action {
    OFLASH_SECTOR_SKIP = 0,     /* already holds the target contents */
    OFLASH_SECTOR_PROGRAM,      /* blank: program without erasing */
    OFLASH_SECTOR_ERASE_PROGRAM /* erase, then program the merged contents */
} oflash_sector_action;

typedef struct oflash_plan_sector {
    const oflash_bank *bank;
    const oflash_sector *sector; /* in bank->sectors */
    oflash_sector_action action;
    bool blank;             /* the chip's sector is all erased_value now */
    uint32_t image_bytes;   /* bytes of the image in this sector */
    uint32_t kept_bytes;    /* old bytes read back and written again */
    uint32_t program_bytes; /* bytes the executor will program (whole pages) */
    uint8_t *data;          /* sector->size bytes: the sector's contents after
                             * the run; NULL for SKIP */
    uint32_t crc;           /* CRC-32 of data (of the target contents) */
} oflash_plan_sector;

typedef struct oflash_plan_otp_byte {
    uint32_t addr;
    uint16_t block; /* OTP block number (for lock bytes: the block it locks) */
    uint8_t chip;   /* value on the chip now */
    uint8_t image;  /* value in the image */
} oflash_plan_otp_byte;

typedef enum oflash_conflict_kind {
    OFLASH_CONFLICT_OTP_VALUE = 0, /* chip byte is neither the image's nor 0xFF */
    OFLASH_CONFLICT_OTP_LOCKED,    /* the block is locked and the bytes differ */
    OFLASH_CONFLICT_LOCK_BYTE,     /* chip lock byte 0x00 (locked), image says 0xFF */
    OFLASH_CONFLICT_OTP_PARTIAL    /* chip byte has every 0 bit of the image byte and more
                                    * 1 bits, and the recovery journal shows a write of the
                                    * image value there as started (plan opts otp_started):
                                    * a program cut short; only otp_resume completes it */
} oflash_conflict_kind;

typedef struct oflash_plan_conflict {
    oflash_conflict_kind kind;
    uint16_t block;
    uint32_t addr;
    uint8_t chip;
    uint8_t image;
} oflash_plan_conflict;

/* One OTP block the image touches, as the plan found it (for messages
 * that say what the chip holds and what the image holds). */
typedef enum oflash_otp_block_state {
    OFLASH_OTP_BLOCK_EQUAL = 0, /* the chip holds the image's bytes and lock */
    OFLASH_OTP_BLOCK_PROGRAM,   /* only blank bytes (or an open lock) differ: programmable */
    OFLASH_OTP_BLOCK_CONFLICT   /* the chip holds other values: it cannot become the image's */
} oflash_otp_block_state;

typedef struct oflash_plan_otp_block {
    uint16_t block;
    oflash_otp_block_state state;
    uint32_t addr;        /* first byte of the span: the block's bytes the image holds
                           * and the ones the chip has programmed */
    uint32_t len;         /* bytes of the span (0: the image holds only the lock byte) */
    const uint8_t *chip;  /* len bytes: the chip's OTP now (owned by the plan) */
    const uint8_t *image; /* len bytes: the image's (erased value where it has none) */
    bool has_lock;        /* the OTP kind has lock bytes */
    bool chip_locked;     /* the chip's lock byte of the block is programmed */
    bool image_lock;      /* the image holds the block's lock byte */
    bool image_locks;     /* ... and it is 0x00 (lock the block) */
} oflash_plan_otp_block;

typedef struct oflash_plan {
    const oflash_device *device;
    oflash_plan_sector *sectors; /* touched sectors, in address order */
    size_t sector_count;

    oflash_otp_rules otp_rules;  /* the device's OTP rules, applied by address */
    const oflash_bank *otp_bank; /* bank holding the first OTP data byte (NULL: none) */
    const oflash_bank *lock_bank; /* bank holding the first lock byte (NULL: none) */
    oflash_plan_otp_byte *otp_writes; /* OTP data bytes to program, address order */
    size_t otp_write_count;
    size_t otp_equal;            /* OTP data bytes already equal */
    oflash_plan_otp_byte *locks; /* lock bytes to set to 0x00, address order */
    size_t lock_count;
    size_t locks_equal;           /* lock bytes already as the image wants */
    uint16_t otp_blocks_in_image; /* bit i: image holds data or lock of block i */
    bool otp_skipped;             /* skip_otp dropped OTP bytes from the image */
    size_t otp_skipped_bytes;

    oflash_plan_conflict *conflicts; /* non-empty: the plan must not run */
    size_t conflict_count;

    uint64_t image_bytes; /* bytes of the image the plan covers */

    /* Every OTP block the image touches, in block order, compared with the
     * chip: filled with allow_otp, with skip_otp (the blocks left out, so
     * that a caller can say which differ from the image), and with
     * show_otp.  With skip_otp, otp_writes/locks/conflicts stay empty. */
    oflash_plan_otp_block *otp_blocks;
    size_t otp_block_count;
    /* show_otp without allow_otp: the plan has OTP bytes or locks to
     * program, so a real run without allow_otp refuses it
     * (OFLASH_EPROTECTED).  oflash_flash_execute() refuses such a plan. */
    bool otp_needs_opt_in;
    uint8_t *otp_block_bytes; /* storage of otp_blocks[].chip/.image */
} oflash_plan;

/* An OTP or lock byte a run started to program: its address and the value
 * it was programming (from the recovery journal, oflash/journal.h). */
typedef struct oflash_otp_intent {
    uint32_t addr;
    uint8_t value;
} oflash_otp_intent;

typedef struct oflash_plan_opts {
    unsigned version;     /* OFLASH_PLAN_OPTS_VERSION */
    bool allow_otp;       /* program OTP data and lock bytes (irreversible: opt-in) */
    bool skip_otp;        /* drop the image's OTP data and lock bytes */
    bool erase_untouched; /* bytes of touched sectors the image does not
                           * cover become erased_value instead of kept */
    bool otp_resume;      /* program OTP and lock bytes that an
                           * interrupted run left partly programmed instead of
                           * reporting a conflict; only bytes listed in
                           * otp_started with the image's value qualify */
    /* The OTP/lock bytes a recovery journal shows as started on this chip
     * (oflash_journal_otp_started).  A byte whose chip value has every 0 bit
     * of the image value and more 1 bits is "partly programmed" (a conflict
     * that otp_resume finishes) only when it is listed here with the image's
     * value; otherwise it is a conflict like any other value. */
    const oflash_otp_intent *otp_started;
    size_t otp_started_count;
    /* Version 2.  A plan to show, not to run (a dry run): without
     * allow_otp, OTP bytes and locks the image would program are planned
     * anyway and the plan is marked otp_needs_opt_in instead of failing
     * with OFLASH_EPROTECTED.  Conflicts are reported as always. */
    bool show_otp;
} oflash_plan_opts;
#define OFLASH_PLAN_OPTS_VERSION 2
#define OFLASH_PLAN_OPTS_INIT                                                                      \
    {                                                                                              \
        .version = OFLASH_PLAN_OPTS_VERSION                                                        \
    }

/*
 * Make a plan.  Returns 0 and *out on success.  OTP bytes in the image
 * need allow_otp only when something irreversible is left to do: without
 * allow_otp (and without skip_otp) the chip's OTP is read, and when it
 * already holds every OTP byte and lock of the image the plan succeeds
 * with nothing to program there; when a byte or a lock is still to be
 * programmed the plan fails with OFLASH_EPROTECTED naming the blocks (or,
 * with show_otp, is returned marked otp_needs_opt_in).  Returns OFLASH_ECONFLICT
 * with *out set (the caller frees it) when OTP conflicts exist, so that
 * they can be shown; the plan then must not be executed.  Any other error:
 * *out is NULL and the message says what is wrong (OFLASH_ERANGE for bytes
 * outside the banks, OFLASH_EPROTECTED for OTP bytes without allow_otp,
 * OFLASH_EINVAL for bad lock-byte values, or the view's error).
 * The view is only consulted after the image passed every static check.
 */
int oflash_plan_create(oflash_plan **out, const oflash_image *img, const oflash_device *dev,
                       const oflash_target_view *view, const oflash_plan_opts *opts);
void oflash_plan_free(oflash_plan *plan);

/*
 * OTP bytes as a technician reads them, into buf (always NUL-terminated):
 * printable ASCII (leading 0xFF, trailing 0xFF / 0x00 dropped) as the text
 * itself, e.g. ACME-SN-000001, quoted when it holds a space; all 0xFF as
 * "blank"; anything else as hex bytes ("12 34 AB ...", shortened with
 * "..." when it does not fit).  Returns buf.
 */
char *oflash_otp_text(char *buf, size_t size, const uint8_t *bytes, size_t n);

/* Totals of a plan. */
typedef struct oflash_plan_summary {
    size_t sectors_erase;   /* sectors to erase */
    size_t sectors_program; /* sectors to program (with or without erase) */
    size_t sectors_skip;    /* touched sectors already holding the contents */
    uint64_t program_bytes; /* main-flash bytes to program */
    uint64_t erase_bytes;
    size_t otp_bytes; /* OTP data bytes to program */
    size_t locks;     /* lock bytes to program */
    size_t conflicts;
} oflash_plan_summary;
void oflash_plan_summarize(oflash_plan_summary *sum, const oflash_plan *plan);

/* Does the plan change anything on the chip? */
bool oflash_plan_is_noop(const oflash_plan *plan);

/* ---------------------------------------------------------------------- */
/* A connected target: probe + device + loaders.                          */

typedef struct oflash_target oflash_target;

typedef struct oflash_target_opts {
    unsigned version;                /* OFLASH_TARGET_OPTS_VERSION */
    const char *probe;               /* "sim:PATH", "gdb:HOST:PORT", ... (required) */
    const char *device;              /* device name; NULL: the part the probe knows (sim:) */
    const char *const *device_files; /* device files searched first, NULL-ended; may be NULL */
    bool force_device;               /* skip the DBGMCU_IDCODE / flash size check */
    unsigned psize;                  /* program parallelism 0 x8, 1 x16, 2 x32 (default), 3 x64,
                                      * chosen by the supply voltage range */
    bool have_psize;
    uint32_t clock_hz;                   /* clock passed to loaders' Init; 0 = 16 MHz */
    const oflash_probe_opts *probe_opts; /* may be NULL */
} oflash_target_opts;
#define OFLASH_TARGET_OPTS_VERSION 1
#define OFLASH_TARGET_OPTS_INIT                                                                    \
    {                                                                                              \
        .version = OFLASH_TARGET_OPTS_VERSION                                                      \
    }

/*
 * Open the probe, find the device, check the chip's identity (DBGMCU_IDCODE
 * DEV_ID and the flash size register) unless force_device or the device has
 * no ID registers, and halt the core.  A mismatch (OFLASH_EMISMATCH) names
 * what was found.
 */
int oflash_target_open(oflash_target **out, const oflash_target_opts *opts);
/*
 * A target over a probe and device the caller already has open (a GDB
 * server serving its probe): no device lookup and no identity check; the
 * core is not halted here.  opts may be NULL; only psize/have_psize and
 * clock_hz are used.  Closing the target releases its loader but not the
 * probe, which must outlive the target.
 */
int oflash_target_open_probe(oflash_target **out, oflash_probe *probe, const oflash_device *dev,
                             const oflash_target_opts *opts);
void oflash_target_close(oflash_target *t);
oflash_probe *oflash_target_probe(oflash_target *t);
const oflash_device *oflash_target_device(const oflash_target *t);

/* The planner's view of this target: CRC-32 computed on the target by the
 * flash loader, reads through the probe. */
void oflash_target_view_init(oflash_target_view *view, oflash_target *t);

/* CRC-32 of a range computed on the target (loader of the bank holding addr,
 * or of the first bank). */
int oflash_target_crc32(uint32_t *crc, oflash_target *t, uint32_t addr, uint32_t len);

/* ---------------------------------------------------------------------- */
/* Executing a plan.                                                      */

typedef enum oflash_verify_mode {
    OFLASH_VERIFY_CRC = 0,  /* CRC-32 on the target (default) */
    OFLASH_VERIFY_READBACK, /* read everything back and compare */
    OFLASH_VERIFY_NONE,
    /* oflash_flash_verify(): main flash by the flash loader's CRC only,
     * without the CRC-unit scan (the same as OFLASH_VERIFY_CRC elsewhere) */
    OFLASH_VERIFY_LOADER_CRC
} oflash_verify_mode;

typedef enum oflash_phase {
    OFLASH_PHASE_PLAN = 0,
    OFLASH_PHASE_ERASE,
    OFLASH_PHASE_PROGRAM,
    OFLASH_PHASE_VERIFY,
    OFLASH_PHASE_OTP,
    OFLASH_PHASE_OTP_VERIFY,
    OFLASH_PHASE_LOCK,
    OFLASH_PHASE_READ
} oflash_phase;
const char *oflash_phase_name(oflash_phase phase);

/* Progress of a long operation (optional: NULL means no reports).  Called
 * in the thread running the operation with ctx first, then the phase and
 * done of total bytes (OTP phases: bytes; lock phase: lock bytes): once
 * with done == 0 when a phase starts, as it advances, and with done ==
 * total when it ends.  It must not call back into the library with the
 * same target.  No return value: progress cannot stop an operation. */
typedef void (*oflash_progress_fn)(void *ctx, oflash_phase phase, uint64_t done, uint64_t total);

/*
 * Main flash through a server's own flash commands (GDB vFlashErase /
 * vFlashWrite / vFlashDone) instead of oflash's loader.  OTP always goes
 * through oflash's loader.  All three callbacks are required; each gets
 * ctx first and returns 0, or a negative oflash_error_code with the
 * message set, which stops the run with that error.  erase: one whole
 * sector (or run of sectors) of the plan, addr and len on sector
 * boundaries.  write: len bytes from data (the caller's, valid during the
 * call) at addr, inside sectors erased or blank before, in address order.
 * done: once, after the last write, before verification; the server
 * finishes programming there.
 */
typedef struct oflash_server_flash {
    int (*erase)(void *ctx, uint32_t addr, uint32_t len);
    int (*write)(void *ctx, uint32_t addr, const void *data, uint32_t len);
    int (*done)(void *ctx);
    void *ctx;
} oflash_server_flash;

typedef struct oflash_flash_opts {
    unsigned version; /* OFLASH_FLASH_OPTS_VERSION */
    oflash_verify_mode verify;
    oflash_progress_fn progress; /* may be NULL */
    void *progress_ctx;
    const oflash_server_flash *server_flash; /* NULL: oflash's loaders for all banks */
    /* Recovery journal of the chip (oflash/journal.h), or NULL for none: the
     * kept bytes of each sector are journaled before it is erased, the OTP
     * intent before the first OTP or lock-byte write. */
    struct oflash_journal *journal;
    /* Cancel request (version 2; may be NULL), for a signal handler's flag.
     * Polled only at safe points: before each main-flash erase (sectors are
     * then erased one call each), between sectors while programming once
     * every sector erased by this run is written, and before the OTP phase.  A sector that
     * was erased is always programmed (its kept bytes included) and
     * verified before the run stops; OTP data and lock bytes are never
     * interrupted once their phase has started.  When cancel(ctx) returns
     * true at a safe point, oflash_flash_execute() returns
     * OFLASH_EINTERRUPTED; stats says what was done, and executing a new
     * plan of the same image completes the work. */
    bool (*cancel)(void *ctx);
    void *cancel_ctx;
    /* Write gate (version 3; may be NULL): gate(gate_ctx) is called once,
     * before the first write that can change a byte of [gate_addr,
     * gate_addr + gate_len): the erase or programming of main flash over
     * it, an OTP data write into it, or the lock byte of an OTP block that
     * holds part of it.  Until it returns 0 nothing there is written; a
     * negative return stops the run at that point with that code (its
     * message kept; stats say what was done before).  Not called when the
     * plan writes nothing there.  A production station waits in it for the
     * ledger to record that the serial in that range may be written, while
     * the rest of the image is programmed. */
    int (*gate)(void *ctx);
    void *gate_ctx;
    uint32_t gate_addr;
    uint32_t gate_len;
} oflash_flash_opts;
#define OFLASH_FLASH_OPTS_VERSION 3
#define OFLASH_FLASH_OPTS_INIT                                                                     \
    {                                                                                              \
        .version = OFLASH_FLASH_OPTS_VERSION                                                       \
    }

typedef struct oflash_flash_stats {
    size_t sectors_erased;
    size_t sectors_skipped;
    uint64_t bytes_programmed; /* main flash */
    size_t otp_bytes_programmed;
    size_t otp_blocks_locked;
    int verify;           /* 1 ok, 0 skipped, -1 failed */
    uint64_t round_trips; /* probe counters over the whole target session */
    uint64_t wire_bytes;
    bool has_sim_time;
    double sim_time_s;
} oflash_flash_stats;

/*
 * Execute a plan.  A plan with conflicts is refused with OFLASH_ECONFLICT
 * before anything is written.  Order: per flash sector erase (if planned)
 * and program; verify of main flash; OTP data; OTP data verify; lock bytes,
 * one byte each, verified.  A verify mismatch (OFLASH_EVERIFY) names the
 * first differing address.  stats may be NULL; it is filled as far as the
 * run got, also on error.
 */
int oflash_flash_execute(oflash_flash_stats *stats, oflash_target *t, const oflash_plan *plan,
                         const oflash_flash_opts *opts);

/*
 * Every check oflash_flash_execute() makes before its first write, alone:
 * the plan is for this target's device, has no conflicts, writes no OTP
 * through a GDB server that refuses OTP programming for its session, writes
 * no sector the chip's option bytes protect (the family's check), and every
 * bank it writes has a loader that loads.  Returns 0, or the refusal a run would
 * hit (nothing is written either way): what a dry run shows.
 */
int oflash_flash_check(oflash_target *t, const oflash_plan *plan);

/* Fill the probe counters of stats (round trips, wire bytes, sim time). */
void oflash_target_stats(oflash_flash_stats *stats, oflash_target *t);

/* How oflash_flash_verify() compared main flash. */
typedef enum oflash_verify_method {
    OFLASH_VERIFY_BY_CRC_UNIT = 0, /* one run of a small routine feeding the chip's CRC unit */
    OFLASH_VERIFY_BY_LOADER,       /* the flash loader's CRC-32 (its read-back if its CRC is
                                      wrong on this chip) */
    OFLASH_VERIFY_BY_READBACK,     /* every byte read back */
    OFLASH_VERIFY_BY_NOTHING       /* the image has no main-flash bytes */
} oflash_verify_method;
const char *oflash_verify_method_name(oflash_verify_method method);

/* One compared range that differs: the image's bytes inside one sector
 * (main flash), one OTP block, or one bank's part of a segment. */
typedef struct oflash_verify_diff {
    uint32_t start, end; /* the image bytes compared, end inclusive */
    const char *bank;    /* the bank's name ("flash", "otp", ...), or "memory" */
    int sector;          /* the reference manual's sector (OTP: block) number, or -1 */
    bool erased;         /* the chip holds erased bytes all over the range */
} oflash_verify_diff;

#define OFLASH_VERIFY_MAX_DIFFS 16
typedef struct oflash_verify_result {
    size_t ranges;       /* ranges compared */
    size_t diff_count;   /* ranges that differ (all of them) */
    oflash_verify_diff diffs[OFLASH_VERIFY_MAX_DIFFS]; /* the first ones, in address order */
    uint32_t first_diff; /* first differing address of diffs[0] (valid if diff_count) */
    uint8_t chip_value, image_value; /* the bytes there */
    oflash_verify_method method;     /* how main flash was compared */
} oflash_verify_result;

/*
 * Compare the chip with an image: every byte of the image, in any bank;
 * bytes outside the image are not compared.  Main flash is compared sector
 * by sector (the image's part of each sector): OFLASH_VERIFY_CRC asks the
 * chip's CRC unit for every range in one run on the core and falls back to
 * the flash loader's CRC-32 when the part has no usable CRC unit;
 * OFLASH_VERIFY_LOADER_CRC asks the loader only; OFLASH_VERIFY_READBACK
 * reads everything.  OTP and memory outside flash banks are always read
 * back (they are small).  Returns 0 when equal, OFLASH_EVERIFY with a
 * message naming the first differing address, its sector and range, and
 * the other differing ranges.  res (may be NULL) is filled in both cases.
 */
int oflash_flash_verify(oflash_verify_result *res, oflash_target *t, const oflash_image *img,
                        oflash_verify_mode mode, oflash_progress_fn progress, void *ctx);

/* oflash_flash_verify() giving only the first differing address (also
 * stored in *first_diff if not NULL). */
int oflash_flash_verify_image(uint32_t *first_diff, oflash_target *t, const oflash_image *img,
                              oflash_verify_mode mode, oflash_progress_fn progress, void *ctx);

/* Erase the flash sectors with the given reference-manual numbers, or every
 * sector of every flash bank (all). */
int oflash_flash_erase(size_t *erased, oflash_target *t, const unsigned *numbers, size_t n,
                       bool all, oflash_progress_fn progress, void *ctx);

/* Read any readable range (flash, OTP, RAM, ...) through the probe. */
int oflash_flash_read(void *buf, oflash_target *t, uint32_t addr, uint32_t len,
                      oflash_progress_fn progress, void *ctx);

/* OTP state, by the device's OTP rules (oflash_device_otp_rules): every
 * block with its bytes and, for the block + lock-byte kind, its lock byte. */
typedef struct oflash_otp_block {
    uint16_t number;
    uint32_t addr;
    const uint8_t *data; /* size bytes, owned by the oflash_otp_state */
    uint32_t size;       /* the rules' block size (32 on STM32F4, 64 on STM32F7, ...) */
    bool has_lock;       /* the OTP kind has lock bytes */
    uint8_t lock;        /* lock byte as read (0xFF without lock bytes) */
    bool locked;         /* lock != 0xFF */
    bool blank;          /* every data byte erased */
} oflash_otp_block;

typedef struct oflash_otp_state {
    oflash_otp_rules rules;
    oflash_otp_block *blocks;
    size_t count;
    uint8_t *bytes; /* rules.data_size bytes: all OTP data */
} oflash_otp_state;

/* Read the OTP state into a new *out (oflash_otp_state_free() releases
 * it).  OFLASH_EUNSUPPORTED when the device has no OTP. */
int oflash_otp_read(oflash_otp_state **out, oflash_target *t);
void oflash_otp_state_free(oflash_otp_state *state);

/* Plan locking OTP blocks: an image holding 0x00 at their lock bytes. */
int oflash_otp_lock_image(oflash_image **out, const oflash_device *dev, const unsigned *blocks,
                          size_t n);

OFLASH_END_DECLS
#endif
