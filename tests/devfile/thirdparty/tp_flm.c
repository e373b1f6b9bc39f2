/*
 * tp_flm.c - a "third-party style" CMSIS flash loader for the tests: main
 * flash of an STM32F401xE written the way vendor FLMs are (one page per
 * ProgramPage, one sector per EraseSector, no SEGGER extensions), with
 * section sizes unlike oflash's own loaders: 4 KiB of initialised PrgData
 * reached through R9 (the static base, as RWPI code does), 512-byte pages.
 *
 * Registers from RM0368 rev 5 section 3.8 (FLASH_KEYR/SR/CR at 0x40023C00).
 * Variants (-D) for `oflash loader check` and the runtime:
 *   TP_BAD_COVER  sector runs that are not a whole number of sectors
 *   TP_HUGE       120 KiB of PrgData: does not fit a 96 KiB work RAM
 *   TP_HANG       EraseSector never returns (timeout test)
 */
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))
#define FLASH_KEYR REG(0x40023C04u)
#define FLASH_SR REG(0x40023C0Cu)
#define FLASH_CR REG(0x40023C10u)
#define SR_BSY (1u << 16)
#define SR_ERR 0x1F2u
#define CR_PG 1u
#define CR_SER 2u
#define CR_PSIZE32 (2u << 8)
#define CR_STRT (1u << 16)
#define CR_LOCK (1u << 31)

#ifdef TP_HUGE
#define SCRATCH (120u * 1024u)
#else
#define SCRATCH 4096u
#endif

/* PrgData: the first object of it is where R9 points. */
struct tp_state {
    uint32_t magic;
    uint32_t base;
    uint32_t inits;
    uint8_t scratch[SCRATCH];
};
__attribute__((section(".data.static_base"), used)) struct tp_state tp_state = {.magic = 0x7E57F1A5u};

static inline struct tp_state *st(void)
{
    struct tp_state *s;
    __asm__("mov %0, r9" : "=r"(s));
    return s;
}

struct FlashDevice {
    uint16_t Vers;
    char DevName[128];
    uint16_t DevType;
    uint32_t DevAdr, szDev, szPage, Res;
    uint8_t valEmpty, pad[3];
    uint32_t toProg, toErase;
    uint32_t sectors[8];
};
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "Third-party STM32F401xE 512KB Flash",
    .DevType = 1,
    .DevAdr = 0x08000000u,
#ifdef TP_BAD_COVER
    .szDev = 0x70000u, /* 128 KiB sectors from 0x20000: 2.5 of them */
#else
    .szDev = 0x80000u,
#endif
    .szPage = 512,
    .valEmpty = 0xFF,
    .toProg = 100,
#ifdef TP_HANG
    .toErase = 50, /* the hang is found after 100 ms (x2) of target time */
#else
    .toErase = 1000, /* a 16-128 KiB F401 sector erase: typ. 0.25-1 s (DS10086) */
#endif
    .sectors = {0x4000, 0x0, 0x10000, 0x10000, 0x20000, 0x20000, 0xFFFFFFFFu, 0xFFFFFFFFu},
};

static int wait_bsy(void)
{
    for (uint32_t n = 0; n < 0x1000000u; n++)
        if (!(FLASH_SR & SR_BSY))
            return (FLASH_SR & SR_ERR) ? 1 : 0;
    return 1;
}

int Init(uint32_t adr, uint32_t clk, uint32_t fnc)
{
    struct tp_state *s = st();
    (void)clk, (void)fnc;
    if (s->magic != 0x7E57F1A5u)
        return 2; /* R9 does not point at PrgData */
    s->base = adr;
    s->inits++;
    if (FLASH_CR & CR_LOCK) {
        FLASH_KEYR = 0x45670123u;
        FLASH_KEYR = 0xCDEF89ABu;
    }
    FLASH_SR = SR_ERR;
    return (FLASH_CR & CR_LOCK) ? 1 : 0;
}

int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR = CR_LOCK;
    return 0;
}

int EraseSector(uint32_t adr)
{
    uint32_t off = adr - st()->base, snb;
#ifdef TP_HANG
    for (;;)
        __asm__ volatile("" ::: "memory");
#endif
    if (off < 0x10000u)
        snb = off / 0x4000u;
    else if (off < 0x20000u)
        snb = 4;
    else
        snb = 4 + off / 0x20000u;
    FLASH_CR = CR_PSIZE32 | CR_SER | (snb << 3);
    FLASH_CR |= CR_STRT;
    return wait_bsy();
}

int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    int rc = 0;
    sz = (sz + 3) & ~3u;
    FLASH_CR = CR_PSIZE32 | CR_PG;
    for (uint32_t i = 0; i < sz && rc == 0; i += 4) {
        REG(adr + i) = (uint32_t)buf[i] | (uint32_t)buf[i + 1] << 8 |
                       (uint32_t)buf[i + 2] << 16 | (uint32_t)buf[i + 3] << 24;
        rc = wait_bsy();
    }
    FLASH_CR = 0;
    return rc;
}
