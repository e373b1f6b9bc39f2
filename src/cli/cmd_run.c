/*
 * cmd_run.c - `oflash run`: load RAM code and data through any probe, set
 * core registers, run until a BKPT or a breakpoint, print the registers.
 *
 * Exit codes: 0 stopped on a BKPT or the breakpoint, 1 timeout or fault (the
 * core is halted and its registers are still printed) or probe error, 2 usage.
 */
#include "cli.h"
#include "cli_json.h"
#include "cli_image.h"
#include "oflash/error.h"
#include "oflash/probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOADS 32
#define MAX_REGSET 32
#define RUN_SLICE_MS 250u

static const int shown[] = {
    OFLASH_REG_R0,  OFLASH_REG_R1, OFLASH_REG_R2, OFLASH_REG_R3, OFLASH_REG_R4,  OFLASH_REG_R5,
    OFLASH_REG_R6,  OFLASH_REG_R7, OFLASH_REG_R8, OFLASH_REG_R9, OFLASH_REG_R10, OFLASH_REG_R11,
    OFLASH_REG_R12, OFLASH_REG_SP, OFLASH_REG_LR, OFLASH_REG_PC, OFLASH_REG_XPSR};
#define NSHOWN (sizeof shown / sizeof shown[0])

static void help(void)
{
    printf("usage: oflash run --probe P [--device D] --load FILE[@ADDR] [--load FILE[@ADDR]]...\n"
           "                  [--pc ADDR] --sp ADDR [--reg NAME=V]... [--break ADDR]\n"
           "                  [--timeout SEC] [--guard-ram ADDR] [--reset-cmd CMD] [--halt-cmd CMD]\n"
           "                  [--baud N] [--json]\n\n"
           "Loads files into target memory: raw binaries as FILE@ADDR, ELF, Intel HEX\n"
           "and S-record files where they say (all read and checked before the target\n"
           "is touched); --pc defaults to the entry point of the first file that has\n"
           "one.  Then sets the registers (r0-r12, sp,\n"
           "lr, pc, xpsr; xpsr defaults to 0x01000000, the Thumb bit), runs until the\n"
           "core executes a BKPT or reaches --break, and prints the registers.\n"
           "A timeout (default 10 s; on sim: the simulated chip's time) halts the core and\n"
           "reports where it was (exit 1).\n"
           "A fault stops the run (exit 1) and reports the faulting instruction, the\n"
           "fault status registers and the registers when it was taken.\n"
           "--json prints {\"stopped\": \"bkpt\"|\"breakpoint\"|\"timeout\"|\"fault\", \"pc\": N,\n"
           "[\"fault\": {\"exception\", \"cfsr\", \"hfsr\", \"mmfar\", \"bfar\"},]\n"
           "\"registers\": {\"r0\": N, ..., \"xpsr\": N}}.\n"
           "gdb: probes: --guard-ram ADDR names 548 bytes of RAM (512-byte aligned) for\n"
           "the fault guard: a vector table installed for the run, so that a BKPT or\n"
           "a fault ends the run on servers without halting debug (QEMU).\n"
           "gdb: probes: --reset-cmd/--halt-cmd set the monitor commands (see docs/gdb.md),\n"
           "--baud the speed of a serial line (gdb:/dev/ttyACM0; default 115200).\n\n"
           CLI_IMAGE_HELP);
}

enum {
    O_RESET_CMD = CLI_OPT_LOCAL,
    O_HALT_CMD,
    O_BAUD,
    O_LOAD,
    O_PC,
    O_SP,
    O_GUARD_RAM,
    O_BREAK,
    O_TIMEOUT,
    O_REG
};

static const struct option opts[] = {{"help", no_argument, NULL, 'h'},
                                     CLI_OPTS_JSON,
                                     CLI_OPTS_IMAGE,
                                     {"probe", required_argument, NULL, CLI_OPT_PROBE},
                                     {"device", required_argument, NULL, CLI_OPT_DEVICE},
                                     {"reset-cmd", required_argument, NULL, O_RESET_CMD},
                                     {"halt-cmd", required_argument, NULL, O_HALT_CMD},
                                     {"baud", required_argument, NULL, O_BAUD},
                                     {"load", required_argument, NULL, O_LOAD},
                                     {"pc", required_argument, NULL, O_PC},
                                     {"sp", required_argument, NULL, O_SP},
                                     {"guard-ram", required_argument, NULL, O_GUARD_RAM},
                                     {"break", required_argument, NULL, O_BREAK},
                                     {"timeout", required_argument, NULL, O_TIMEOUT},
                                     {"reg", required_argument, NULL, O_REG},
                                     CLI_OPTS_END};

/* {"r0": N, ..., "xpsr": N} */
static json_t *json_regs(const uint32_t *vals)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NSHOWN; i++)
        json_object_set_new(o, oflash_reg_name(shown[i]), json_integer(vals[i]));
    return o;
}

int cmd_run(int argc, char **argv)
{
    const char *probe_spec = NULL, *device = NULL, *reset_cmd = NULL, *halt_cmd = NULL;
    cli_args a;
    int c;
    char *load_file[MAX_LOADS];
    oflash_image *loads[MAX_LOADS] = {NULL};
    oflash_image_load_opts lo = OFLASH_IMAGE_LOAD_OPTS_INIT;
    uint32_t pc = 0, sp = 0, brk = 0, guard = 0;
    int set_regs[MAX_REGSET];
    uint32_t set_vals[MAX_REGSET];
    size_t nloads = 0, nset = 0;
    bool have_pc = false, have_sp = false, have_break = false, json = false,
         have_xpsr = false;
    double timeout_s = 10.0;
    oflash_probe *p = NULL;
    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    oflash_run_opts ro = OFLASH_RUN_OPTS_INIT;
    oflash_stop_info stop;
    uint32_t vals[NSHOWN];
    int ret = EXIT_FAIL;

    cli_args_init(&a, "run", "", argc, argv, opts);
    while ((c = cli_args_next(&a)) != CLI_ARGS_END) {
        const char *v = a.arg;
        int k = c == CLI_ARGS_BAD ? 0 : cli_image_apply("run", c, v, &lo);
        if (k < 0) return EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case CLI_ARGS_BAD:
            return EXIT_USAGE;
        case 'h':
            help();
            return EXIT_OK;
        case CLI_OPT_JSON:
            json = true;
            break;
        case CLI_OPT_PROBE:
            probe_spec = v;
            break;
        case CLI_OPT_DEVICE:
            device = v;
            break;
        case O_RESET_CMD:
            reset_cmd = v;
            break;
        case O_HALT_CMD:
            halt_cmd = v;
            break;
        case O_BAUD: {
            uint32_t b;
            if (!cli_parse_u32(v, &b) || b < 50 || b > 20000000)
                return cli_usage("run", "--baud '%s': expected a line speed (50..20000000)", v);
            po.baud = b;
            break;
        }
        case O_LOAD: {
            /* FILE@ADDR (raw binary), or an ELF / Intel HEX / S-record file
             * that says where its bytes go. */
            const char *at = strrchr(v, '@');
            uint32_t addr;
            if (at && (at == v || !cli_parse_u32(at + 1, &addr)) && access(v, F_OK) != 0)
                return cli_usage("run",
                                 "--load '%s': expected FILE@ADDR (a raw binary at ADDR, e.g. "
                                 "code.bin@0x20000000) or an ELF, HEX or S-record file",
                                 v);
            if (nloads >= MAX_LOADS)
                return cli_usage("run", "at most %d --load options", MAX_LOADS);
            load_file[nloads++] = (char *)v; /* an argv string */
            break;
        }
        case O_PC:
            if (!cli_parse_u32(v, &pc)) return cli_usage("run", "--pc '%s': expected an address", v);
            have_pc = true;
            break;
        case O_SP:
            if (!cli_parse_u32(v, &sp)) return cli_usage("run", "--sp '%s': expected an address", v);
            have_sp = true;
            break;
        case O_GUARD_RAM:
            if (!cli_parse_u32(v, &guard) || !guard || (guard & 0x1FFu))
                return cli_usage("run",
                                 "--guard-ram '%s': expected a RAM address aligned to "
                                 "512 bytes (0x...00 with bit 8 clear)",
                                 v);
            break;
        case O_BREAK:
            if (!cli_parse_u32(v, &brk))
                return cli_usage("run", "--break '%s': expected an address", v);
            have_break = true;
            break;
        case O_TIMEOUT: {
            char *end;
            errno = 0;
            timeout_s = strtod(v, &end);
            if (errno || *end || end == v || !(timeout_s > 0) || timeout_s > 86400)
                return cli_usage("run", "--timeout '%s': expected seconds (0 < SEC <= 86400)", v);
            break;
        }
        case O_REG: {
            char name[16];
            const char *eq = strchr(v, '=');
            int r;
            if (!eq || (size_t)(eq - v) >= sizeof name)
                return cli_usage("run", "--reg '%s': expected NAME=VALUE", v);
            memcpy(name, v, (size_t)(eq - v));
            name[eq - v] = '\0';
            r = oflash_reg_from_name(name);
            if (r < 0 || r > OFLASH_REG_XPSR)
                return cli_usage("run",
                                 "--reg '%s': unknown register '%s' (expected r0-r12, sp, "
                                 "lr, pc, xpsr)",
                                 v, name);
            if (nset >= MAX_REGSET) return cli_usage("run", "too many --reg options");
            if (!cli_parse_u32(eq + 1, &set_vals[nset]))
                return cli_usage("run", "--reg '%s': value '%s' is not a 32-bit number", v, eq + 1);
            if (r == OFLASH_REG_XPSR) have_xpsr = true;
            set_regs[nset++] = r;
            break;
        }
        }
    }
    if (a.npos) return cli_usage("run", "unexpected argument '%s'", a.pos[0]);
    if (!probe_spec)
        return cli_usage("run", "--probe is required (sim:PATH, gdb:HOST:PORT, gdb:/dev/ttyX)");
    if (!nloads)
        return cli_usage("run", "at least one --load FILE@ADDR (or an ELF or HEX file) is required");
    if (!have_sp) return cli_usage("run", "--sp is required");
    /* Every file is read and checked before the target is touched. */
    for (size_t i = 0; i < nloads; i++) {
        if (cli_load_images(&loads[i], &load_file[i], 1, &lo) != EXIT_OK) goto out;
        if (oflash_image_segment_count(loads[i]) == 0) {
            cli_error("%s: file is empty (expected code or data to load)", load_file[i]);
            goto out;
        }
        /* --pc defaults to the entry point of the first file that has one
         * (ELF e_entry, HEX start address record). */
        if (!have_pc && oflash_image_entry(&pc, loads[i])) have_pc = true;
    }
    if (!have_pc) {
        ret = cli_usage("run", "--pc is required (no --load file names an entry point)");
        goto out;
    }
    /* --pc/--sp win over --reg pc=/sp= (they are applied last). */
    if (nset + 3 > MAX_REGSET) {
        ret = cli_usage("run", "too many --reg options");
        goto out;
    }
    if (!have_xpsr) {
        set_regs[nset] = OFLASH_REG_XPSR;
        set_vals[nset++] = 0x01000000u;
    }
    set_regs[nset] = OFLASH_REG_SP;
    set_vals[nset++] = sp;
    set_regs[nset] = OFLASH_REG_PC;
    set_vals[nset++] = pc;

    po.device = device;
    po.reset_cmd = reset_cmd;
    po.halt_cmd = halt_cmd;
    if (oflash_probe_open(&p, probe_spec, &po) < 0) {
        cli_fail();
        goto out;
    }
    if (oflash_probe_halt(p) < 0) {
        cli_fail_ctx("halting the core");
        goto out;
    }
    for (size_t i = 0; i < nloads; i++) {
        for (size_t k = 0; k < oflash_image_segment_count(loads[i]); k++) {
            const oflash_segment *sg = oflash_image_segment(loads[i], k);
            if (oflash_probe_write_mem(p, sg->addr, sg->data, sg->size) < 0) {
                cli_fail_ctx("loading %s at 0x%08X", load_file[i], sg->addr);
                goto out;
            }
        }
    }
    if (oflash_probe_write_regs(p, set_regs, set_vals, nset) < 0) {
        cli_fail_ctx("setting registers");
        goto out;
    }
    ro.have_break = have_break;
    ro.break_addr = brk;
    ro.guard_ram = guard;
    /* Run in slices so that Ctrl-C / SIGTERM is seen: the core is then
     * halted where it is and its registers printed (exit 130). */
    cli_interrupt_install();
    {
        unsigned left = (unsigned)(timeout_s * 1000.0 + 0.5);
        if (left == 0) left = 1;
        for (;;) {
            ro.timeout_ms = left < RUN_SLICE_MS ? left : RUN_SLICE_MS;
            if (oflash_probe_run(&stop, p, &ro) < 0) {
                cli_fail_ctx("running the code");
                goto out;
            }
            left -= ro.timeout_ms;
            if (stop.reason != OFLASH_STOP_TIMEOUT || left == 0 || cli_interrupted) break;
        }
    }
    if (cli_interrupted && stop.reason == OFLASH_STOP_TIMEOUT) {
        if (oflash_probe_read_regs(vals, p, shown, NSHOWN) < 0) {
            cli_fail_ctx("reading registers");
            goto out;
        }
        if (json) {
            cli_json_error_add("stopped", json_string("interrupted"));
            cli_json_error_add("pc", json_integer(stop.pc));
            cli_json_error_add("registers", json_regs(vals));
        } else {
            printf("stopped: interrupted at 0x%08X\n", stop.pc);
            for (size_t i = 0; i < NSHOWN; i++)
                printf("%-4s 0x%08X%s", oflash_reg_name(shown[i]), vals[i],
                       (i % 4 == 3 || i + 1 == NSHOWN) ? "\n" : "   ");
        }
        cli_error("interrupted: the core is halted at 0x%08X (registers above); nothing else "
                  "was changed",
                  stop.pc);
        ret = EXIT_INTERRUPTED;
        goto out;
    }
    if (stop.reason == OFLASH_STOP_HALT) {
        cli_error_code("halted", "the core stopped at 0x%08X without reaching a BKPT or the breakpoint: %s",
                  stop.pc, stop.detail[0] ? stop.detail : "halted");
        goto out;
    }
    if (stop.reason == OFLASH_STOP_FAULT && stop.fault.valid)
        memcpy(vals, stop.fault.regs, sizeof vals);
    else if (oflash_probe_read_regs(vals, p, shown, NSHOWN) < 0) {
        cli_fail_ctx("reading registers");
        goto out;
    }
    {
        const oflash_fault_info *f = &stop.fault;
        const char *why = stop.reason == OFLASH_STOP_BKPT         ? "bkpt"
                          : stop.reason == OFLASH_STOP_BREAKPOINT ? "breakpoint"
                          : stop.reason == OFLASH_STOP_FAULT      ? "fault"
                                                                  : "timeout";
        if (json) {
            json_t *o = json_pack("{s:s, s:I}", "stopped", why, "pc", (json_int_t)stop.pc);
            if (stop.reason == OFLASH_STOP_FAULT) {
                json_t *fo = json_pack("{s:s}", "description", stop.detail);
                if (f->valid) {
                    json_object_set_new(fo, "exception", json_integer(f->exception));
                    json_object_set_new(fo, "cfsr", json_integer(f->cfsr));
                    json_object_set_new(fo, "hfsr", json_integer(f->hfsr));
                    json_object_set_new(fo, "mmfar", json_integer(f->mmfar));
                    json_object_set_new(fo, "bfar", json_integer(f->bfar));
                }
                json_object_set_new(o, "fault", fo);
            }
            json_object_set_new(o, "registers", json_regs(vals));
            if (stop.reason == OFLASH_STOP_BKPT || stop.reason == OFLASH_STOP_BREAKPOINT) {
                cli_json_print(o);
            } else {
                /* timeout and fault: the error object, same fields */
                cli_json_error_merge(o);
            }
        } else {
            printf("stopped: %s at 0x%08X (%s)\n", why, stop.pc, stop.detail);
            if (stop.reason == OFLASH_STOP_FAULT && f->valid)
                printf("CFSR 0x%08X  HFSR 0x%08X  MMFAR 0x%08X  BFAR 0x%08X\n", f->cfsr, f->hfsr,
                       f->mmfar, f->bfar);
            for (size_t i = 0; i < NSHOWN; i++)
                printf("%-4s 0x%08X%s", oflash_reg_name(shown[i]), vals[i],
                       (i % 4 == 3 || i + 1 == NSHOWN) ? "\n" : "   ");
        }
        if (stop.reason == OFLASH_STOP_TIMEOUT)
            cli_error_code("timeout", "timeout: the code did not reach a BKPT or the breakpoint within %g s; "
                      "halted at 0x%08X",
                      timeout_s, stop.pc);
        else if (stop.reason == OFLASH_STOP_FAULT)
            cli_error_code("fault", "the code faulted: %s", stop.detail);
        else
            ret = EXIT_OK;
    }
out:
    for (size_t i = 0; i < nloads; i++)
        oflash_image_free(loads[i]);
    oflash_probe_close(p);
    return ret;
}
