/*
 * cmd_program.c - oflash program: main flash and OTP from one image, in one
 * pass.  Plan first (nothing written when the plan has errors or OTP
 * conflicts), then erase, program, verify, OTP data, OTP verify, locks.
 */
#include "cli.h"
#include "target.h"
#include "cli_image.h"
#include "cli_journal.h"
#include "oflash/error.h"

#include <stdlib.h>
#include <string.h>

#include "oflash/gdb.h"

/* --use-server-flash: main flash through the GDB server's vFlash commands. */
static int sf_erase(void *ctx, uint32_t addr, uint32_t len)
{
    return oflash_gdb_flash_erase(ctx, addr, len);
}
static int sf_write(void *ctx, uint32_t addr, const void *data, uint32_t len)
{
    return oflash_gdb_flash_write(ctx, addr, data, len);
}
static int sf_done(void *ctx)
{
    return oflash_gdb_flash_done(ctx);
}

/* Every sector the plan writes must lie in a flash region of the server's
 * memory map. */
static int check_server_map(oflash_probe *probe, const oflash_plan *plan)
{
    const oflash_gdb_mem_region *r;
    size_t n;
    if (oflash_gdb_memory_map(&r, &n, probe) < 0) return cli_fail();
    for (size_t i = 0; i < plan->sector_count; i++) {
        const oflash_sector *s = plan->sectors[i].sector;
        bool ok = false;
        if (plan->sectors[i].action == OFLASH_SECTOR_SKIP) continue;
        for (size_t k = 0; k < n && !ok; k++)
            ok = r[k].kind == OFLASH_GDB_MEM_FLASH && s->addr >= r[k].start &&
                 (r[k].length == 0 ||
                  (uint64_t)s->addr + s->size <= (uint64_t)r[k].start + r[k].length);
        if (!ok) {
            cli_error("--use-server-flash: the server's memory map has no flash region for sector "
                      "%u (0x%08X-0x%08X)%s",
                      s->number, s->addr, s->addr + s->size - 1,
                      n ? "" : " (the server sent no memory map)");
            return EXIT_FAIL;
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oflash program IMAGE... --probe P [--device D] [options]\n"
            "Program main flash and OTP from one or more images (Intel HEX, S-record, ELF,\n"
            "binary as PATH@ADDR).  Only touched sectors are erased; sectors that already\n"
            "hold the image are skipped; OTP bytes need --otp.\n\n" CLI_TARGET_HELP CLI_IMAGE_HELP
            "  --otp                program the image's OTP bytes and lock bytes (irreversible)\n"
            "  --skip-otp           leave the image's OTP bytes out\n"
            "  --otp-resume         finish OTP bytes an interrupted run left partly programmed\n"
            "                       (only what the recovery journal shows it started)\n"
            "  --plan               print the plan and touch nothing\n"
            "  --run                afterwards reset the core and start the firmware\n"
            "  --erase-untouched    bytes of touched sectors outside the image become 0xFF\n"
            "                       (default: they keep their contents)\n"
            "  --verify MODE        crc (default, computed on the target), readback, none\n"
            "  --use-server-flash   gdb: main flash through the server's vFlash commands\n"
            "  --quiet              no progress, no summary\n"
            "  --json               print one JSON object with the statistics\n" CLI_JOURNAL_HELP);
}

static const char *action_name(oflash_sector_action a)
{
    switch (a) {
    case OFLASH_SECTOR_SKIP:
        return "skip (already holds the image)";
    case OFLASH_SECTOR_PROGRAM:
        return "program (blank, no erase)";
    case OFLASH_SECTOR_ERASE_PROGRAM:
        return "erase + program";
    }
    return "?";
}

void cli_print_conflicts(FILE *f, const oflash_plan *p)
{
    fprintf(f, "OTP blocks of the image (nothing was written):\n");
    cli_print_otp_blocks(f, p, "  ");
    fprintf(f, "OTP conflicts, byte by byte:\n");
    fprintf(f, "  %5s  %-10s  %-4s  %-5s  %s\n", "block", "address", "chip", "image", "reason");
    for (size_t i = 0; i < p->conflict_count; i++) {
        const oflash_plan_conflict *c = &p->conflicts[i];
        fprintf(f, "  %5u  0x%08X  0x%02X  0x%02X   %s\n", c->block, c->addr, c->chip, c->image,
                c->kind == OFLASH_CONFLICT_OTP_LOCKED ? "block is locked"
                : c->kind == OFLASH_CONFLICT_LOCK_BYTE
                    ? "lock byte: a locked block cannot be unlocked"
                : c->kind == OFLASH_CONFLICT_OTP_PARTIAL
                    ? "partly programmed by an interrupted run (journal): --otp-resume finishes it"
                    : "OTP byte already programmed to another value");
    }
}

#define PL(n, one, many) (n), (n) == 1 ? (one) : (many)

/* One line per OTP block of the image: the chip's and the image's
 * contents in words, and what happens to the block. */
void cli_print_otp_blocks(FILE *f, const oflash_plan *p, const char *indent)
{
    for (size_t i = 0; i < p->otp_block_count; i++) {
        const oflash_plan_otp_block *b = &p->otp_blocks[i];
        char chip[96], image[96];
        const char *what;
        oflash_otp_text(chip, sizeof chip, b->chip, b->len);
        oflash_otp_text(image, sizeof image, b->image, b->len);
        if (b->state == OFLASH_OTP_BLOCK_EQUAL)
            what = p->otp_skipped ? "left out; the chip already holds the image's bytes"
                                  : "already holds the image's bytes";
        else if (b->state == OFLASH_OTP_BLOCK_PROGRAM)
            what = p->otp_skipped        ? "left out, DIFFERS: the chip's block is blank there"
                   : p->otp_needs_opt_in ? "to program  [REFUSED without --otp]"
                                         : "to program";
        else
            what = p->otp_skipped
                       ? "left out, DIFFERS: the chip holds other values"
                       : "CONFLICT: the chip holds other values, OTP cannot be rewritten";
        fprintf(f, "%sOTP block %u", indent, b->block);
        if (b->len)
            fprintf(f, " at 0x%08X: chip %s%s, image %s%s", b->addr, chip,
                    b->chip_locked ? " (locked)" : "", image,
                    b->image_locks && !b->chip_locked ? " + lock" : "");
        else
            fprintf(f, ": lock byte only, chip %s, image %s", b->chip_locked ? "locked" : "open",
                    b->image_locks ? "locks it" : "leaves it open");
        fprintf(f, ": %s\n", what);
    }
}

void cli_print_plan(FILE *f, const oflash_plan *p)
{
    oflash_plan_summary s;
    oflash_plan_summarize(&s, p);
    fprintf(f, "plan for %s (%llu image bytes):\n", p->device->name,
            (unsigned long long)p->image_bytes);
    for (size_t i = 0; i < p->sector_count; i++) {
        const oflash_plan_sector *ps = &p->sectors[i];
        fprintf(f, "  %s sector %2u  0x%08X  %4u KiB  %-31s", ps->bank->name, ps->sector->number,
                ps->sector->addr, ps->sector->size / 1024, action_name(ps->action));
        if (ps->action != OFLASH_SECTOR_SKIP)
            fprintf(f, "  %u bytes to program", ps->program_bytes);
        if (ps->kept_bytes) fprintf(f, ", %u old bytes kept", ps->kept_bytes);
        fputc('\n', f);
    }
    if (p->otp_skipped)
        fprintf(f, "  otp: %zu image bytes left out (--skip-otp)\n", p->otp_skipped_bytes);
    else if (p->otp_write_count || p->otp_equal || p->lock_count || p->locks_equal)
        fprintf(f, "  otp: %zu byte%s to program, %zu already equal%s\n", p->otp_write_count,
                p->otp_write_count == 1 ? "" : "s", p->otp_equal,
                p->otp_needs_opt_in ? "  [REFUSED without --otp: OTP cannot be erased]" : "");
    cli_print_otp_blocks(f, p, "    ");
    for (size_t i = 0; i < p->lock_count; i++)
        fprintf(f, "  lock: OTP block %u (lock byte 0x%08X <- 0x00, irreversible)%s\n",
                p->locks[i].block, p->locks[i].addr,
                p->otp_needs_opt_in ? "  [REFUSED without --otp]" : "");
    if (p->locks_equal)
        fprintf(f, "  lock: %zu lock byte%s already as the image wants\n", p->locks_equal,
                p->locks_equal == 1 ? "" : "s");
    fprintf(f,
            "total: %zu sector%s to erase, %zu to program, %zu skipped; %llu flash byte%s, %zu OTP "
            "byte%s, %zu lock%s\n",
            PL(s.sectors_erase, "", "s"), s.sectors_program, s.sectors_skip,
            (unsigned long long)s.program_bytes, s.program_bytes == 1 ? "" : "s",
            PL(s.otp_bytes, "", "s"), PL(s.locks, "", "s"));
    if (p->conflict_count) cli_print_conflicts(f, p);
}

static const char *conflict_reason(oflash_conflict_kind k)
{
    switch (k) {
    case OFLASH_CONFLICT_OTP_LOCKED:
        return "block_locked";
    case OFLASH_CONFLICT_LOCK_BYTE:
        return "lock_byte";
    case OFLASH_CONFLICT_OTP_PARTIAL:
        return "partly_programmed";
    default:
        return "otp_value";
    }
}

/* The blocks a plan locks: [{"block": N, "lock_address": A}, ...] (the
 * same in the plan and in the result of program and otp lock). */
static json_t *json_locks(const oflash_plan *p)
{
    json_t *a = json_array();
    for (size_t i = 0; i < p->lock_count; i++)
        json_array_append_new(a, json_pack("{s:I, s:I}", "block", (json_int_t)p->locks[i].block,
                                           "lock_address", (json_int_t)p->locks[i].addr));
    return a;
}

/* The OTP blocks the image touches, as the plan found them: what the
 * chip holds, what the image holds (hex and as text), the lock. */
static json_t *json_otp_blocks(const oflash_plan *p)
{
    json_t *a = json_array();
    for (size_t i = 0; i < p->otp_block_count; i++) {
        const oflash_plan_otp_block *b = &p->otp_blocks[i];
        char chip[96], image[96];
        json_t *e;
        oflash_otp_text(chip, sizeof chip, b->chip, b->len);
        oflash_otp_text(image, sizeof image, b->image, b->len);
        e = json_pack("{s:I, s:s, s:I, s:I, s:o, s:o, s:s, s:s}", "block", (json_int_t)b->block,
                      "state",
                      b->state == OFLASH_OTP_BLOCK_EQUAL     ? "equal"
                      : b->state == OFLASH_OTP_BLOCK_PROGRAM ? "program"
                                                             : "conflict",
                      "address", (json_int_t)b->addr, "length", (json_int_t)b->len, "chip",
                      cli_json_hex(b->chip, b->len), "image", cli_json_hex(b->image, b->len),
                      "chip_text", chip, "image_text", image);
        cli_json_lock(e, b->has_lock, b->chip_locked, 0);
        json_object_set_new(e, "lock_byte", json_null()); /* the plan keeps no value */
        json_object_set_new(e, "image_locks", json_boolean(b->image_locks));
        json_array_append_new(a, e);
    }
    return a;
}

json_t *cli_json_plan(const oflash_plan *p)
{
    oflash_plan_summary s;
    json_t *o = json_object(), *secs = json_array(), *conf = json_array();
    oflash_plan_summarize(&s, p);
    json_object_set_new(o, "device", json_string(p->device->name));
    for (size_t i = 0; i < p->sector_count; i++) {
        const oflash_plan_sector *ps = &p->sectors[i];
        json_array_append_new(
            secs, json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:I}", "bank", ps->bank->name,
                            "number", (json_int_t)ps->sector->number, "address",
                            (json_int_t)ps->sector->addr, "size", (json_int_t)ps->sector->size,
                            "action",
                            ps->action == OFLASH_SECTOR_SKIP      ? "skip"
                            : ps->action == OFLASH_SECTOR_PROGRAM ? "program"
                                                                  : "erase_program",
                            "program_bytes", (json_int_t)ps->program_bytes, "kept_bytes",
                            (json_int_t)ps->kept_bytes));
    }
    json_object_set_new(o, "sectors", secs);
    json_object_set_new(o, "sectors_erased", json_integer((json_int_t)s.sectors_erase));
    json_object_set_new(o, "sectors_programmed", json_integer((json_int_t)s.sectors_program));
    json_object_set_new(o, "sectors_skipped", json_integer((json_int_t)s.sectors_skip));
    json_object_set_new(o, "bytes_programmed", json_integer((json_int_t)s.program_bytes));
    json_object_set_new(o, "otp_bytes_programmed", json_integer((json_int_t)s.otp_bytes));
    json_object_set_new(o, "otp_bytes_equal", json_integer((json_int_t)p->otp_equal));
    json_object_set_new(o, "otp_bytes_skipped",
                        json_integer(p->otp_skipped ? (json_int_t)p->otp_skipped_bytes : 0));
    json_object_set_new(o, "otp_blocks_locked", json_integer((json_int_t)s.locks));
    json_object_set_new(o, "locks", json_locks(p));
    for (size_t i = 0; i < p->conflict_count; i++) {
        const oflash_plan_conflict *c = &p->conflicts[i];
        json_array_append_new(conf, json_pack("{s:I, s:I, s:I, s:I, s:s}", "block",
                                              (json_int_t)c->block, "address", (json_int_t)c->addr,
                                              "chip", (json_int_t)c->chip, "image",
                                              (json_int_t)c->image, "reason",
                                              conflict_reason(c->kind)));
    }
    json_object_set_new(o, "conflicts", conf);
    json_object_set_new(o, "otp_blocks", json_otp_blocks(p));
    json_object_set_new(o, "otp_needs_opt_in", json_boolean(p->otp_needs_opt_in));
    return o;
}

/* The result of a run (also the "done" part of a failed one). */
static json_t *json_result(const oflash_target *t, const oflash_plan *plan,
                           const oflash_flash_stats *st, double elapsed)
{
    json_t *o = json_object();
    json_object_set_new(o, "device", json_string(oflash_target_device(t)->name));
    json_object_set_new(o, "sectors_erased", json_integer((json_int_t)st->sectors_erased));
    json_object_set_new(o, "sectors_skipped", json_integer((json_int_t)st->sectors_skipped));
    json_object_set_new(o, "bytes_programmed", json_integer((json_int_t)st->bytes_programmed));
    json_object_set_new(o, "otp_bytes_programmed",
                        json_integer((json_int_t)st->otp_bytes_programmed));
    json_object_set_new(o, "otp_blocks_locked", json_integer((json_int_t)st->otp_blocks_locked));
    json_object_set_new(o, "locks", json_locks(plan));
    json_object_set_new(o, "verify", json_string(st->verify > 0   ? "ok"
                                                 : st->verify < 0 ? "failed"
                                                                  : "skipped"));
    cli_json_stats(o, st, elapsed);
    return o;
}

/* "3 sectors and 14 OTP bytes already hold the image" */
static const char *up_to_date_what(const oflash_plan *p)
{
    static char buf[160];
    oflash_plan_summary s;
    size_t otp = p->otp_equal;
    oflash_plan_summarize(&s, p);
    if (s.sectors_skip && otp)
        snprintf(buf, sizeof buf, "%zu sector%s and %zu OTP byte%s already hold the image",
                 PL(s.sectors_skip, "", "s"), PL(otp, "", "s"));
    else if (otp)
        snprintf(buf, sizeof buf, "%zu OTP byte%s already hold%s the image", PL(otp, "", "s"),
                 otp == 1 ? "s" : "");
    else
        snprintf(buf, sizeof buf, "%zu sector%s already hold%s the image",
                 PL(s.sectors_skip, "", "s"), s.sectors_skip == 1 ? "s" : "");
    return buf;
}

enum {
    O_OTP = CLI_OPT_LOCAL,
    O_OTP_RESUME,
    O_SKIP_OTP,
    O_PLAN,
    O_RUN,
    O_ERASE_UNTOUCHED,
    O_SERVER_FLASH,
    O_VERIFY
};

static const struct option opts[] = {CLI_OPTS_COMMON,
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_TARGET,
                                     CLI_OPTS_IMAGE,
                                     CLI_OPTS_JOURNAL,
                                     {"otp", no_argument, NULL, O_OTP},
                                     {"otp-resume", no_argument, NULL, O_OTP_RESUME},
                                     {"skip-otp", no_argument, NULL, O_SKIP_OTP},
                                     {"plan", no_argument, NULL, O_PLAN},
                                     {"run", no_argument, NULL, O_RUN},
                                     {"erase-untouched", no_argument, NULL, O_ERASE_UNTOUCHED},
                                     {"use-server-flash", no_argument, NULL, O_SERVER_FLASH},
                                     {"verify", required_argument, NULL, O_VERIFY},
                                     CLI_OPTS_END};

int cmd_program(int argc, char **argv)
{
    cli_args a;
    int c;
    cli_target ct = {0};
    char **specs = calloc((size_t)argc, sizeof *specs);
    size_t nspecs = 0;
    bool plan_only = false, json = false, server_flash = false, run_after = false;
    oflash_plan_opts po = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_server_flash sf;
    oflash_image *img = NULL;
    oflash_target *t = NULL;
    oflash_plan *plan = NULL;
    oflash_journal *journal = NULL;
    const char *journal_dir = NULL;
    oflash_target_view view;
    oflash_flash_stats st;
    cli_progress prog = {0};
    double t0 = cli_now();
    int ret = EXIT_FAIL, rc;
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;

    if (!specs) return EXIT_FAIL;
    cli_args_init(&a, "program", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        int k = c == CLI_ARGS_BAD ? -1 : cli_target_apply(&ct, "program", c, a.arg);
        if (!k) k = cli_image_apply("program", c, a.arg, &lo);
        if (k < 0) {
            ret = EXIT_USAGE;
            goto out;
        }
        if (k) continue;
        switch (c) {
        case 'h':
            usage(stdout);
            ret = EXIT_OK;
            goto out;
        case 'q':
            cli_quiet = true;
            break;
        case CLI_OPT_JSON:
            json = true;
            break;
        case CLI_OPT_JOURNAL_DIR:
            journal_dir = a.arg;
            break;
        case O_OTP:
            po.allow_otp = true;
            break;
        case O_OTP_RESUME:
            po.otp_resume = true;
            break;
        case O_SKIP_OTP:
            po.skip_otp = true;
            break;
        case O_PLAN:
            plan_only = true;
            break;
        case O_RUN:
            run_after = true;
            break;
        case O_ERASE_UNTOUCHED:
            po.erase_untouched = true;
            break;
        case O_SERVER_FLASH:
            server_flash = true;
            break;
        case O_VERIFY:
            if (!cli_parse_verify(a.arg, &fo.verify)) {
                ret = cli_usage("program", "--verify '%s': expected crc, readback or none", a.arg);
                goto out;
            }
            break;
        }
    }
    for (int i = 0; i < a.npos; i++)
        specs[nspecs++] = a.pos[i];
    if (po.allow_otp && po.skip_otp) {
        ret = cli_usage("program", "--otp and --skip-otp contradict each other: choose one");
        goto out;
    }
    if (!ct.probe) {
        ret = cli_usage("program", "--probe is required (sim:PATH or gdb:HOST:PORT)");
        goto out;
    }
    if (!nspecs) {
        ret = cli_usage("program", "no image given");
        goto out;
    }
    {
        oflash_image_region map[64];
        cli_image_limit_to_device(&lo, &ct, map, sizeof map / sizeof map[0]);
        if ((ret = cli_load_images(&img, specs, nspecs, &lo)) != 0) goto out;
    }
    ret = EXIT_FAIL;
    cli_interrupt_install();
    if ((rc = cli_target_open("program", &ct, &t)) != 0) {
        ret = rc;
        goto out;
    }
    if (server_flash) {
        if (strcmp(oflash_probe_backend(oflash_target_probe(t)), "gdb") != 0) {
            ret = cli_usage("program", "--use-server-flash needs a gdb: probe");
            goto out;
        }
        sf.erase = sf_erase;
        sf.write = sf_write;
        sf.done = sf_done;
        sf.ctx = oflash_target_probe(t);
        fo.server_flash = &sf;
    }

    /* What an interrupted run left is restored before anything is planned
     * (with --plan only reported). */
    if ((ret = cli_journal_open(&journal, t, journal_dir, !plan_only, po.otp_resume)) != 0)
        goto out;
    ret = EXIT_FAIL;
    oflash_journal_otp_started(&po.otp_started, &po.otp_started_count, journal);
    fo.journal = journal;

    oflash_target_view_init(&view, t);
    /* --plan shows OTP even without --otp, marking what a run refuses. */
    po.show_otp = plan_only;
    rc = oflash_plan_create(&plan, img, oflash_target_device(t), &view, &po);
    if (rc == OFLASH_ECONFLICT && plan) {
        cli_fail();
        if (json)
            cli_json_error_add("plan", cli_json_plan(plan));
        else if (plan_only)
            cli_print_plan(stdout, plan);
        else
            cli_print_conflicts(stderr, plan);
        goto out;
    }
    if (rc < 0) {
        ret = cli_fail();
        goto out;
    }
    if (fo.server_flash && check_server_map(oflash_target_probe(t), plan) < 0) {
        if (oflash_error_last()[0]) cli_fail();
        goto out;
    }
    if (plan_only) {
        /* The refusal a run would hit before its first write (protection,
         * loaders) is the plan's answer too. */
        if (oflash_flash_check(t, plan) < 0) {
            ret = cli_fail();
            goto out;
        }
        if (json && !plan->otp_needs_opt_in)
            cli_json_print(cli_json_plan(plan));
        else if (json)
            cli_json_error_add("plan", cli_json_plan(plan)); /* the refusal below */
        else
            cli_print_plan(stdout, plan);
        if (plan->otp_needs_opt_in) {
            /* The plan is shown; the answer is what a real run does. */
            cli_error("a run without --otp refuses this image: it programs %zu OTP byte%s and %zu "
                      "lock%s (irreversible); add --otp to write them or --skip-otp to leave "
                      "them out",
                      PL(plan->otp_write_count, "", "s"), PL(plan->lock_count, "", "s"));
            goto out;
        }
        ret = EXIT_OK;
        goto out;
    }
    if (plan->otp_skipped && !json) {
        /* --skip-otp is no silent success: the blocks that differ. */
        size_t differ = 0;
        for (size_t i = 0; i < plan->otp_block_count; i++)
            differ += plan->otp_blocks[i].state != OFLASH_OTP_BLOCK_EQUAL;
        if (differ) {
            fprintf(stderr,
                    "oflash: warning: --skip-otp: %zu OTP block%s of this chip differ%s from the "
                    "image (left out, nothing written there):\n",
                    PL(differ, "", "s"), differ == 1 ? "s" : "");
            oflash_plan differing = *plan;
            oflash_plan_otp_block only[64];
            size_t n = 0;
            for (size_t i = 0; i < plan->otp_block_count && n < 64; i++)
                if (plan->otp_blocks[i].state != OFLASH_OTP_BLOCK_EQUAL)
                    only[n++] = plan->otp_blocks[i];
            differing.otp_blocks = only;
            differing.otp_block_count = n;
            cli_print_otp_blocks(stderr, &differing, "  ");
        }
    }
    /* Irreversible work is shown before it is done. */
    if (!cli_quiet && !json && (plan->otp_write_count || plan->lock_count)) {
        fprintf(stderr, "OTP (irreversible): %zu bytes to program", plan->otp_write_count);
        for (size_t i = 0; i < plan->lock_count; i++)
            fprintf(stderr, "%s%u", i ? ", " : "; locking block ", plan->locks[i].block);
        fputc('\n', stderr);
    }
    cli_progress_init(&prog, !cli_quiet && !json);
    cli_progress_target(&prog, t);
    cli_progress_erase_plan(&prog, plan);
    fo.progress = cli_progress_cb;
    fo.progress_ctx = &prog;
    fo.cancel = cli_cancel_cb;
    if (cli_interrupted) {
        cli_interrupt_halt(oflash_target_probe(t));
        cli_error("interrupted before anything was written; core halted");
        ret = EXIT_INTERRUPTED;
        goto out;
    }
    memset(&st, 0, sizeof st);
    rc = oflash_flash_execute(&st, t, plan, &fo);
    cli_progress_finish(&prog);
    if (rc < 0 && json) cli_json_error_add("done", json_result(t, plan, &st, cli_now() - t0));
    if (rc == OFLASH_EINTERRUPTED) {
        if (prog.tty) fputc('\n', stderr);
        cli_interrupt_halt(oflash_target_probe(t));
        cli_error("%s", oflash_error_last());
        cli_error("stopped at a safe point (no sector left half-written, OTP untouched), core "
                  "halted; run the same command again to complete the work");
        ret = EXIT_INTERRUPTED;
        goto out;
    }
    if (rc < 0) {
        ret = cli_fail();
        goto out;
    }
    if (!cli_quiet && !json && oflash_plan_is_noop(plan)) {
        printf("%s: already up to date (%s; nothing erased or programmed), verify %s\n",
               oflash_target_device(t)->name, up_to_date_what(plan),
               st.verify > 0 ? "ok" : "skipped");
    } else if (!cli_quiet && !json) {
        printf("%s: %zu sector%s erased, %zu skipped, %llu byte%s programmed, %zu OTP byte%s, "
               "%zu block%s locked, verify %s\n",
               oflash_target_device(t)->name, PL(st.sectors_erased, "", "s"), st.sectors_skipped,
               (unsigned long long)st.bytes_programmed, st.bytes_programmed == 1 ? "" : "s",
               PL(st.otp_bytes_programmed, "", "s"), PL(st.otp_blocks_locked, "", "s"),
               st.verify > 0 ? "ok" : "skipped");
    }
    if (!cli_quiet && !json) {
        printf("%.2f s elapsed", cli_now() - t0);
        if (st.has_sim_time) printf(", %.3f s simulated target time", st.sim_time_s);
        printf(", %llu round trips, %llu bytes on the wire\n", (unsigned long long)st.round_trips,
               (unsigned long long)st.wire_bytes);
    }
    if (json) {
        json_t *o = json_result(t, plan, &st, cli_now() - t0);
        uint32_t v[2];
        if (run_after && (ret = cli_reset_target(t, false, v)) != EXIT_OK) {
            json_decref(o);
            goto out;
        }
        if (run_after)
            json_object_set_new(o, "reset",
                                json_pack("{s:s, s:I, s:I}", "state", "running", "sp",
                                          (json_int_t)v[0], "pc", (json_int_t)v[1]));
        cli_json_print(o);
        ret = EXIT_OK;
        goto out;
    }
    ret = run_after ? cli_reset_target(t, false, NULL) : EXIT_OK;
out:
    cli_progress_finish(&prog);
    oflash_plan_free(plan);
    oflash_journal_close(journal);
    oflash_target_close(t);
    oflash_image_free(img);
    free(specs);
    return ret;
}
