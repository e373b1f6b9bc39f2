/*
 * program_otp.c - program main flash and OTP of a chip through liboflash
 * alone: the factory step "firmware + this unit's serial number, locked".
 *
 *   program_otp PROBE DEVICE SERIAL [IMAGE_OUT]
 *   program_otp sim:chip.sim STM32F401RE 1234 unit1234.hex
 *
 * The image is made in memory: 4 KiB of firmware at the start of main
 * flash, the serial number "SN-<SERIAL>" (16 bytes) at the start of OTP
 * block 0 and 0x00 in block 0's lock byte.  The program plans with OTP
 * allowed, shows the plan, refuses conflicts (another unit's serial already
 * in the chip) before writing anything, executes, verifies the whole image
 * by CRC on the target, reads OTP back and checks that a second plan has
 * nothing left to do.  IMAGE_OUT, when given, receives the image as
 * Intel HEX (for `oflash verify IMAGE_OUT` or a factory log).
 *
 * Exit: 0 programmed (or already programmed), 1 refused or failed, 2 usage.
 * Build: see Makefile (pkg-config) and CMakeLists.txt (find_package).
 */
#include <oflash/common.h>
#include <oflash/device.h>
#include <oflash/error.h>
#include <oflash/flash.h>
#include <oflash/image.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_SIZE 4096u
#define SERIAL_LEN 16u

/* A progress callback: context first, like every oflash callback. */
static void on_progress(void *ctx, oflash_phase phase, uint64_t done, uint64_t total)
{
    unsigned *calls = ctx;
    (*calls)++;
    if (done == total)
        printf("  %-10s %llu/%llu\n", oflash_phase_name(phase), (unsigned long long)done,
               (unsigned long long)total);
}

static int fail(const char *what)
{
    fprintf(stderr, "program_otp: %s: %s\n", what, oflash_error_last());
    return 1;
}

/* The firmware: a vector table (SP, reset handler) and a counting pattern. */
static void make_firmware(uint8_t *fw, uint32_t flash_base, uint32_t ram_top)
{
    for (uint32_t i = 0; i < FW_SIZE; i++)
        fw[i] = (uint8_t)(i * 7 + 1);
    uint32_t words[2] = {ram_top, flash_base + 0x101};
    for (int w = 0; w < 2; w++)
        for (int b = 0; b < 4; b++)
            fw[w * 4 + b] = (uint8_t)(words[w] >> (8 * b));
}

int main(int argc, char **argv)
{
    oflash_target_opts topts = OFLASH_TARGET_OPTS_INIT;
    oflash_plan_opts popts = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fopts = OFLASH_FLASH_OPTS_INIT;
    oflash_target *t = NULL;
    oflash_image *img = NULL;
    oflash_plan *plan = NULL, *again = NULL;
    oflash_target_view view;
    oflash_plan_summary sum;
    oflash_flash_stats st;
    const oflash_device *dev;
    const oflash_bank *flash, *otp, *lock;
    uint8_t fw[FW_SIZE], serial[SERIAL_LEN], back[SERIAL_LEN], lockval = 0x00, lockback;
    unsigned calls = 0;
    int rc, ret = 1;

    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: program_otp PROBE DEVICE SERIAL [IMAGE_OUT]\n");
        return 2;
    }
    if (strcmp(oflash_version(), OFLASH_VERSION_STRING) != 0) {
        fprintf(stderr, "program_otp: headers %s, library %s\n", OFLASH_VERSION_STRING,
                oflash_version());
        return 1;
    }
    printf("liboflash %s\n", oflash_version());

    /* Connect: the probe, the device (a sim: chip is created on first use),
     * the identity check. */
    topts.probe = argv[1];
    topts.device = argv[2];
    if (oflash_target_open(&t, &topts) < 0) return fail("connect");
    dev = oflash_target_device(t);
    flash = oflash_device_bank(dev, "flash");
    otp = oflash_device_bank(dev, "otp");
    lock = oflash_device_bank(dev, "otp-lock");
    if (!flash || !otp || !lock) {
        fprintf(stderr, "program_otp: %s has no flash + OTP + lock-byte banks\n", dev->name);
        goto out;
    }

    /* The image: firmware, serial number, lock byte of OTP block 0. */
    make_firmware(fw, flash->base, dev->work_ram_start + dev->work_ram_size);
    memset(serial, 0, sizeof serial);
    snprintf((char *)serial, sizeof serial, "SN-%s", argv[3]);
    if (oflash_image_new(&img) < 0 ||
        oflash_image_add(img, flash->base, fw, FW_SIZE, "firmware") < 0 ||
        oflash_image_add(img, otp->base, serial, SERIAL_LEN, "serial") < 0 ||
        oflash_image_add(img, lock->base, &lockval, 1, "lock block 0") < 0) {
        fail("image");
        goto out;
    }

    if (argc == 5) {
        oflash_image_write_opts wopts = OFLASH_IMAGE_WRITE_OPTS_INIT;
        if (oflash_image_write(img, argv[4], &wopts) < 0) {
            fail("write image");
            goto out;
        }
    }

    /* Plan: OTP and lock bytes are irreversible and need the opt-in. */
    popts.allow_otp = true;
    oflash_target_view_init(&view, t);
    rc = oflash_plan_create(&plan, img, dev, &view, &popts);
    if (rc == OFLASH_ECONFLICT) {
        fprintf(stderr, "program_otp: refused, nothing written: %s\n", oflash_error_last());
        for (size_t i = 0; i < plan->conflict_count; i++)
            fprintf(stderr, "  OTP block %u at 0x%08X: chip 0x%02X, image 0x%02X\n",
                    plan->conflicts[i].block, plan->conflicts[i].addr, plan->conflicts[i].chip,
                    plan->conflicts[i].image);
        goto out;
    }
    if (rc < 0) {
        fail("plan");
        goto out;
    }
    oflash_plan_summarize(&sum, plan);
    printf("plan: %zu sectors to erase, %zu to program, %zu unchanged; %zu OTP bytes, %zu locks\n",
           sum.sectors_erase, sum.sectors_program, sum.sectors_skip, sum.otp_bytes, sum.locks);

    /* Execute and verify. */
    fopts.progress = on_progress;
    fopts.progress_ctx = &calls;
    if (oflash_flash_execute(&st, t, plan, &fopts) < 0) {
        fail("program");
        goto out;
    }
    printf("programmed: %zu sectors erased, %llu bytes, %zu OTP bytes, %zu blocks locked "
           "(%u progress calls)\n",
           st.sectors_erased, (unsigned long long)st.bytes_programmed, st.otp_bytes_programmed,
           st.otp_blocks_locked, calls);
    if (oflash_flash_verify_image(NULL, t, img, OFLASH_VERIFY_CRC, NULL, NULL) < 0) {
        fail("verify");
        goto out;
    }
    if (oflash_flash_read(back, t, otp->base, SERIAL_LEN, NULL, NULL) < 0 ||
        oflash_flash_read(&lockback, t, lock->base, 1, NULL, NULL) < 0) {
        fail("read back");
        goto out;
    }
    if (memcmp(back, serial, SERIAL_LEN) != 0 || lockback != 0x00) {
        fprintf(stderr, "program_otp: OTP reads back wrong (lock 0x%02X)\n", lockback);
        goto out;
    }

    /* Idempotent: the same image again has nothing to do. */
    if (oflash_plan_create(&again, img, dev, &view, &popts) < 0) {
        fail("second plan");
        goto out;
    }
    if (!oflash_plan_is_noop(again)) {
        fprintf(stderr, "program_otp: a second plan still has work to do\n");
        goto out;
    }
    printf("verified; OTP block 0 holds \"%s\" and is locked; a rerun has nothing to do\n",
           (const char *)back);
    ret = 0;
out:
    oflash_plan_free(again);
    oflash_plan_free(plan);
    oflash_image_free(img);
    oflash_target_close(t);
    return ret;
}
