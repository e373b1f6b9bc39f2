/*
 * fuzz_flm.c - libFuzzer target for the CMSIS FLM parser: any input must
 * give either a consistent FLM or OFLASH_EFORMAT, never a crash, a leak or
 * an out-of-bounds read.  On success the accessors and the RAM layout are
 * exercised too.  Seeds: fuzz/corpus/flm/ (the built-in stm32f4 loader).
 */
#include "oflash/error.h"
#include "oflash/loader.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oflash_flm *f = NULL;
    int rc = oflash_flm_parse(&f, data, size, "fuzz.flm");
    if (rc < 0) {
        if (f || (rc != OFLASH_EFORMAT && rc != OFLASH_ENOMEM)) abort();
        return 0;
    }
    const oflash_flash_device *d = oflash_flm_device(f);
    if (d->run_count == 0 || d->run_count > OFLASH_FLM_MAX_SECTOR_RUNS || d->page_size == 0)
        abort();
    oflash_flm_sizes s;
    oflash_flm_get_sizes(&s, f);
    if (s.code_size == 0 || s.image_size < s.code_size || s.static_base > s.image_size) abort();
    static const char *const fn[] = {
        "Init", "UnInit", "EraseSector", "ProgramPage", "SEGGER_OPEN_CalcCRC", "Nope"};
    for (size_t i = 0; i < sizeof fn / sizeof fn[0]; i++) {
        uint32_t off;
        if (oflash_flm_function_offset(&off, f, fn[i]) == 0 && off >= s.code_size) abort();
    }
    (void)oflash_flm_functions(f);
    (void)oflash_flm_ram_needed(f);
    oflash_loader_opts o = OFLASH_LOADER_OPTS_INIT;
    o.ram_start = 0x20000000u;
    o.ram_size = 0x10000;
    oflash_loader_layout L;
    if (oflash_flm_layout(&L, f, &o) == 0 &&
        (L.buffer + L.buffer_size > 0x20010000u || L.buffer_size < L.page_size))
        abort();
    oflash_flm_free(f);
    return 0;
}
