/* test_rdp.c - readout protection on the simulated STM32F401 and STM32F746
 * (same FLASH_OPTCR RDP byte): level 1 makes
 * debugger reads of flash fail (OTP stays readable), level 2 needs its own
 * opt-in and is permanent, lowering 1 -> 0 needs its own opt-in and
 * mass-erases main flash but keeps OTP.  The same on an STM32L476, whose
 * RDP byte is FLASH_OPTR[7:0], loaded with OBL_LAUNCH. */
#include "harness.h"
#include "oflash/flash.h"
#include "oflash/image.h"
#include "oflash/protect.h"
#include "oflash/sim.h"

#include <stdlib.h>
#include <unistd.h>

static char chip[600], spec[620];

static oflash_target *open_target(void)
{
    oflash_target *t = NULL;
    oflash_target_opts to = OFLASH_TARGET_OPTS_INIT;
    to.probe = spec;
    CHECK_OK(oflash_target_open(&t, &to));
    return t;
}

static void program(oflash_target *t, uint32_t otp)
{
    static uint8_t fw[4096];
    oflash_image *img = NULL;
    oflash_plan *plan = NULL;
    oflash_target_view view;
    oflash_plan_opts plo = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_flash_stats st;
    for (size_t i = 0; i < sizeof fw; i++)
        fw[i] = (uint8_t)(i * 7 + 1);
    plo.allow_otp = true;
    CHECK_OK(oflash_image_new(&img));
    CHECK_OK(oflash_image_add(img, 0x08000000, fw, sizeof fw, "fw"));
    CHECK_OK(oflash_image_add(img, otp, "ACME-SN-00000001", 16, "serial"));
    oflash_target_view_init(&view, t);
    CHECK_OK(oflash_plan_create(&plan, img, oflash_target_device(t), &view, &plo));
    if (plan)
        CHECK_OK(oflash_flash_execute(&st, t, plan, &fo));
    oflash_plan_free(plan);
    oflash_image_free(img);
}

static char cwd[256], rel[32] = "rdpXXXXXX";

/* The whole sequence on one part: otp = its OTP base, alias = where its
 * flash also shows (boot alias). */
static void rdp_sequence(const char *device, uint32_t otp, uint32_t alias, bool f4_regs)
{
    uint8_t buf[64], ff[64];
    int level = -1;
    oflash_rdp_opts o = OFLASH_RDP_OPTS_INIT;
    oflash_sim_info *info = malloc(sizeof *info);

    fprintf(stderr, "-- %s\n", device);
    memset(ff, 0xFF, sizeof ff);
    snprintf(chip, sizeof chip, "%s/%s/%s.sim", cwd, rel, device);
    snprintf(spec, sizeof spec, "sim:%s", chip);
    CHECK_OK(oflash_sim_create(chip, device, NULL));

    oflash_target *t = open_target();
    if (!t || !info) {
        free(info);
        return;
    }
    program(t, otp);
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 0);
    CHECK_OK(oflash_flash_read(buf, t, 0x08000000, 64, NULL, NULL));
    CHECK(buf[0] == 1 && buf[1] == 8);

    /* Level 2 without its second opt-in: refused, nothing written. */
    CHECK_ERR(oflash_target_set_rdp(t, 2, NULL), OFLASH_EINVAL, "level 2 is permanent");
    CHECK_ERR(oflash_target_set_rdp(t, 3, NULL), OFLASH_EINVAL, "levels are 0, 1 and 2");
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 0);

    /* Level 1: the debugger can no longer read flash; OTP still reads. */
    CHECK_OK(oflash_target_set_rdp(t, 1, NULL));
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 1);
    CHECK_ERR(oflash_flash_read(buf, t, 0x08000000, 64, NULL, NULL), OFLASH_EPROTECTED,
              "read protection level 1 is active");
    CHECK_ERR(oflash_flash_read(buf, t, alias, 16, NULL, NULL), OFLASH_EPROTECTED,
              "flash read at 0x08000000 refused");
    CHECK_OK(oflash_flash_read(buf, t, otp, 16, NULL, NULL));
    CHECK(memcmp(buf, "ACME-SN-00000001", 16) == 0);
    CHECK_OK(oflash_target_set_rdp(t, 1, NULL)); /* same level: nothing to do */
    oflash_target_close(t);
    /* The chip file keeps it: a new session cannot read flash either. */
    CHECK_OK(oflash_sim_info_read(info, chip));
    CHECK_EQ_U(info->rdp_level, 1);
    CHECK_EQ_U(info->opt[0] & (f4_regs ? 0xFF00u : 0xFFu), f4_regs ? 0x5500u : 0xBBu);
    t = open_target();
    if (!t) {
        free(info);
        return;
    }
    CHECK_ERR(oflash_flash_read(buf, t, 0x08000000, 64, NULL, NULL), OFLASH_EPROTECTED, "refused");

    /* 1 -> 0 needs its own opt-in, then mass-erases main flash, keeps OTP. */
    CHECK_ERR(oflash_target_set_rdp(t, 0, NULL), OFLASH_EINVAL, "erases all of main flash");
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 1);
    o.allow_mass_erase = true;
    CHECK_OK(oflash_target_set_rdp(t, 0, &o));
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 0);
    CHECK_OK(oflash_flash_read(buf, t, 0x08000000, 64, NULL, NULL));
    CHECK(memcmp(buf, ff, 64) == 0);
    CHECK_OK(oflash_flash_read(buf, t, 0x08000000 + 0x70000, 64, NULL, NULL));
    CHECK(memcmp(buf, ff, 64) == 0);
    CHECK_OK(oflash_flash_read(buf, t, otp, 16, NULL, NULL));
    CHECK(memcmp(buf, "ACME-SN-00000001", 16) == 0);

    /* Level 2 with both opt-ins: permanent; the debug port is gone. */
    o.allow_rdp2 = true;
    CHECK_OK(oflash_target_set_rdp(t, 2, &o));
    CHECK_OK(oflash_target_rdp_get(&level, t));
    CHECK_EQ_U(level, 2);
    CHECK_ERR(oflash_target_set_rdp(t, 0, &o), OFLASH_EPROTECTED, "which is permanent");
    /* Even written straight to the registers, the option bytes stay. */
    if (f4_regs) {
        oflash_probe *p = oflash_target_probe(t);
        uint32_t optcr = 0, sr = 0;
        CHECK_OK(oflash_probe_write_u32(p, 0x40023C08, 0x08192A3B));
        CHECK_OK(oflash_probe_write_u32(p, 0x40023C08, 0x4C5D6E7F));
        CHECK_OK(oflash_probe_read_u32(&optcr, p, 0x40023C14));
        CHECK_OK(oflash_probe_write_u32(p, 0x40023C14, (optcr & ~0xFF03u) | 0xAA00u));
        CHECK_OK(oflash_probe_write_u32(p, 0x40023C14, (optcr & ~0xFF03u) | 0xAA02u));
        CHECK_OK(oflash_probe_read_u32(&sr, p, 0x40023C0C));
        CHECK(sr & 0x10); /* WRPERR */
        CHECK_OK(oflash_target_rdp_get(&level, t));
        CHECK_EQ_U(level, 2);
    }
    oflash_target_close(t);
    t = NULL;
    oflash_target_opts to = OFLASH_TARGET_OPTS_INIT;
    to.probe = spec;
    CHECK_ERR(oflash_target_open(&t, &to), OFLASH_EPROTECTED, "permanently disabled");
    free(info);
}

int main(void)
{
    char cmd[700];
    if (!getcwd(cwd, sizeof cwd) || !mkdtemp(rel))
        return 2;
    rdp_sequence("STM32F401RE", 0x1FFF7800, 0x00000000, true);
    rdp_sequence("STM32F746ZG", 0x1FF0F000, 0x00200000, true);
    rdp_sequence("STM32L476RG", 0x1FFF7000, 0x00000000, false);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rel);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", rel);
    return test_summary();
}
