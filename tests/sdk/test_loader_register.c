/*
 * test_loader_register.c - oflash_loader_register() (oflash/sys/loader.h)
 * through the public API of liboflash.a alone: refusals (bad names, no
 * image, a damaged image, a family's loader name, a second registration),
 * the list of registered loaders, and a device described in code whose
 * flash bank names the registered loader programs a simulated chip
 * (the run fails with "no built-in flash loader" if the lookup does not
 * reach the registered image).
 *
 * usage: test_loader_register FLM_FILE SIM_STATE_PATH
 */
#include <oflash/device.h>
#include <oflash/error.h>
#include <oflash/flash.h>
#include <oflash/image.h>
#include <oflash/loader.h>
#include <oflash/probe.h>
#include <oflash/sys/loader.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures, checks;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        checks++;                                                                                  \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf(" (last error: %s)\n", oflash_error_last());                                   \
        }                                                                                          \
    } while (0)

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

int main(int argc, char **argv)
{
    static unsigned char garbage[256];
    unsigned char *flm;
    size_t len = 0;
    oflash_flm *parsed = NULL;

    if (argc != 3) {
        fprintf(stderr, "usage: test_loader_register FLM_FILE SIM_STATE_PATH\n");
        return 2;
    }
    if (!(flm = slurp(argv[1], &len))) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }

    /* Refusals. */
    CHECK(oflash_loader_register(NULL, flm, len) == OFLASH_EINVAL, "NULL name refused");
    CHECK(oflash_loader_register("", flm, len) == OFLASH_EINVAL, "empty name refused");
    CHECK(oflash_loader_register("bad name", flm, len) == OFLASH_EINVAL, "space refused");
    CHECK(strstr(oflash_error_last(), "' '") != NULL, "message names the bad character");
    CHECK(oflash_loader_register("acme-f4", NULL, len) == OFLASH_EINVAL, "no image refused");
    CHECK(oflash_loader_register("acme-f4", flm, 0) == OFLASH_EINVAL, "empty image refused");
    memset(garbage, 0x5A, sizeof garbage);
    CHECK(oflash_loader_register("acme-junk", garbage, sizeof garbage) < 0, "damaged FLM refused");
    CHECK(strstr(oflash_error_last(), "acme-junk") != NULL, "message names the loader");
    CHECK(oflash_loader_register("stm32f4", flm, len) == OFLASH_EINVAL,
          "a family's own loader cannot be replaced");
    CHECK(oflash_loader_registered_count() == 0, "nothing registered after refusals");
    CHECK(oflash_flm_builtin(&parsed, "acme-f4") == OFLASH_ENOTFOUND, "unknown before");
    CHECK(strstr(oflash_error_last(), "stm32f4") != NULL, "message lists the known loaders");

    /* Registration. */
    CHECK(oflash_loader_register("acme-f4", flm, len) == 0, "registered");
    CHECK(oflash_loader_register("acme-f4", flm, len) == OFLASH_EINVAL, "second time refused");
    CHECK(oflash_loader_registered_count() == 1, "one registered");
    CHECK(oflash_loader_registered_name(0) && !strcmp(oflash_loader_registered_name(0), "acme-f4"),
          "its name");
    CHECK(oflash_loader_registered_name(1) == NULL, "NULL past the end");
    CHECK(oflash_flm_builtin(&parsed, "acme-f4") == 0, "found by name");
    oflash_flm_free(parsed);

    /* A device described in code whose flash bank uses the registered loader. */
    const oflash_device *f401 = oflash_builtin_device_find("STM32F401RE");
    CHECK(f401 != NULL, "STM32F401RE built in");
    if (!f401) return 1;
    oflash_device dev = *f401;
    oflash_bank *banks = calloc(dev.bank_count, sizeof *banks);
    const oflash_bank *flash_bank = NULL;
    for (size_t i = 0; i < dev.bank_count; i++) {
        banks[i] = f401->banks[i];
        if (banks[i].kind == OFLASH_BANK_FLASH && !flash_bank) {
            banks[i].loader_name = "acme-f4";
            banks[i].loader_image = NULL;
            banks[i].loader_size = 0;
            banks[i].loader_path = NULL;
            flash_bank = &banks[i];
        }
    }
    dev.banks = banks;
    dev.name = "ACME-F401RE";
    CHECK(flash_bank != NULL, "a flash bank");

    oflash_probe_opts po = OFLASH_PROBE_OPTS_INIT;
    oflash_probe *probe = NULL;
    oflash_target *t = NULL;
    oflash_image *img = NULL;
    oflash_plan *plan = NULL;
    oflash_target_view view;
    oflash_plan_opts plo = OFLASH_PLAN_OPTS_INIT;
    oflash_flash_opts fo = OFLASH_FLASH_OPTS_INIT;
    oflash_flash_stats st;
    char spec[4096];
    static uint8_t fw[8192], back[8192];

    po.device = "STM32F401RE";
    snprintf(spec, sizeof spec, "sim:%s", argv[2]);
    CHECK(oflash_probe_open(&probe, spec, &po) == 0, "sim chip opened");
    if (!probe) return 1;
    CHECK(oflash_probe_halt(probe) == 0, "halted");
    CHECK(oflash_target_open_probe(&t, probe, &dev, NULL) == 0, "target over the probe");
    for (size_t i = 0; i < sizeof fw; i++)
        fw[i] = (uint8_t)(i * 13 + 5);
    CHECK(oflash_image_new(&img) == 0 &&
              oflash_image_add(img, flash_bank->base, fw, sizeof fw, "fw") == 0,
          "image");
    oflash_target_view_init(&view, t);
    CHECK(oflash_plan_create(&plan, img, &dev, &view, &plo) == 0, "plan");
    CHECK(plan && oflash_flash_execute(&st, t, plan, &fo) == 0,
          "programmed through the registered loader");
    CHECK(st.bytes_programmed >= sizeof fw, "bytes programmed (%llu)",
          (unsigned long long)st.bytes_programmed);
    CHECK(oflash_flash_read(back, t, flash_bank->base, sizeof back, NULL, NULL) == 0 &&
              memcmp(back, fw, sizeof fw) == 0,
          "the chip holds the image");

    oflash_plan_free(plan);
    oflash_image_free(img);
    oflash_target_close(t);
    oflash_probe_close(probe);
    free(banks);
    free(flm);
    printf("%d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
