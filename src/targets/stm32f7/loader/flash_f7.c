/*
 * flash_f7.c - oflash's own flash loader for STM32F74x/F75x and
 * STM32F76x/F77x (target code), a standard CMSIS FLM with SEGGER's open
 * flash loader extensions.  Registers, addresses and the protocol with the
 * host are in ../stm32f7_regs.h (RM0385 rev 8 §3, RM0410 rev 4 §3).
 *
 * One loader serves three address ranges; the address decides:
 *  - main flash 0x08000000 + flash size (read from 0x1FF0F442): sector and
 *    chip erase, programming at the selected parallelism (PSIZE);
 *  - OTP data 0x1FF0F000..0x1FF0F3FF (16 blocks of 64 bytes): programming
 *    at the selected PSIZE, never erased;
 *  - OTP lock bytes 0x1FF0F400..0x1FF0F40F: ALWAYS programmed one byte at
 *    a time (x8), whatever PSIZE says; bytes equal to 0xFF are skipped, so
 *    a lock byte is only ever written with the value the host gave.
 *
 * The sector layout is found at run time: DBGMCU_IDCODE DEV_ID 0x451 is an
 * F76x/F77x, whose FLASH_OPTCR.nDBANK = 0 selects the dual bank layout
 * (two banks of 16/64/128 KB sectors, bank 2 at half the flash size, SNB
 * 16.. for bank 2, MER + MER2 for a chip erase); otherwise (F74x/F75x, or
 * F76x with nDBANK = 1) the single bank layout of 32/128/256 KB sectors.
 *
 * PSIZE is x32 unless the host passes F7_INIT_ARG(psize) in R3 to Init;
 * without the magic (other hosts leave R3 undefined) x32 is kept.  Init
 * raises the core clock from the reset HSI to 84 MHz with the PLL (UnInit
 * restores it) unless R3 holds the magic with F7_INIT_KEEP_CLOCK.
 *
 * Return codes (0 = OK): the FLASH_SR error bits that were set (OPERR 0x2,
 * WRPERR 0x10, PGAERR 0x20, PGPERR 0x40, ERSERR 0x80), or one of the F7_E*
 * codes (0x1000 and up).  Verify returns adr+sz on success, the first
 * differing address otherwise.
 *
 * The loader assumes the data cache is off (SCB_CCR.DC = 0, the state
 * after reset, which is how every host leaves a core it halts for
 * flashing): reads of flash for Verify/CRC/BlankCheck go to the array.
 *
 * Built position independent like the stm32f4 loader (docs/loaders.md):
 * RW data only R9-relative, no absolute relocations, no startup code.
 */
#include <stdint.h>

#include "../stm32f7_regs.h"

#define REG32(a) (*(volatile uint32_t *)(a))
#define FLASH_ACR REG32(F7_FLASHIF_BASE + F7_FLASH_ACR)
#define FLASH_KEYR REG32(F7_FLASHIF_BASE + F7_FLASH_KEYR)
#define FLASH_SR REG32(F7_FLASHIF_BASE + F7_FLASH_SR)
#define FLASH_CR REG32(F7_FLASHIF_BASE + F7_FLASH_CR)
#define FLASH_OPTCR REG32(F7_FLASHIF_BASE + F7_FLASH_OPTCR)
#define DBGMCU_IDCODE REG32(F7_DBGMCU_IDCODE)
#define FLASH_SIZE_KB (*(volatile const uint16_t *)F7_FSIZE_ADDR)

#define IWDG_KR REG32(F7_IWDG_BASE)
#define IWDG_KEY_RELOAD 0xAAAAu

/* RCC and CRC: the same registers and bits as on the F4 (RM0385 §5.3,
 * §6). */
#define RCC_CR REG32(F7_RCC_BASE + 0x00)
#define RCC_PLLCFGR REG32(F7_RCC_BASE + 0x04)
#define RCC_CFGR REG32(F7_RCC_BASE + 0x08)
#define RCC_AHB1ENR REG32(F7_RCC_BASE + 0x30)
#define RCC_AHB1ENR_CRCEN (1u << 12)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_SW_MASK 3u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_HPRE_MASK (0xFu << 4)
#define RCC_CFGR_PPRE_MASK (0x3Fu << 10) /* PPRE1 12..10, PPRE2 15..13 */
/* APB1 /4 = 21 MHz, APB2 /2 = 42 MHz: inside the F7's 54/108 MHz. */
#define RCC_CFGR_PPRE_84MHZ ((5u << 10) | (4u << 13))
#define RCC_PLLCFGR_MASK (0x3Fu | (0x1FFu << 6) | (3u << 16) | (1u << 22))
/* HSI 16 MHz / M 8 = 2 MHz VCO input (RM0385 §5.3.2: 1..2 MHz), x N 168 =
 * 336 MHz VCO (100..432 MHz), / P 4 = 84 MHz: allowed at every voltage
 * scale, so PWR is left alone. */
#define PLLCFGR_84MHZ_FROM_HSI (8u | (168u << 6) | (1u << 16))
/* 5 wait states cover 84 MHz at any supply voltage (RM0385 Table 5: 1.8 V
 * needs 5 from 80 MHz; 2.7 V needs 2). */
#define ACR_LATENCY_MASK 0xFu
#define ACR_LATENCY_84MHZ 5u
#define CLOCK_POLL_LIMIT 100000u

#define CRC_DR REG32(F7_CRC_BASE + 0x00)
#define CRC_CR REG32(F7_CRC_BASE + 0x08)
#define CRC_CR_RESET 1u

/* BSY poll bound: about 130 s at 16 MHz, above the longest datasheet
 * maximum (mass erase of 2 MB at x8: 32 s); the host's timeout from
 * toErase normally fires first. */
#define BSY_POLL_LIMIT 0x10000000u

/* ---- state (PrgData, R9-relative) ---- */
struct of7_state {
    uint32_t psize;   /* CR.PSIZE for main flash and OTP data: 0 x8 .. 3 x64 */
    uint32_t feed;    /* 1: hardware watchdog (OPTCR.IWDG_SW = 0), feed it while waiting */
    uint32_t dual;    /* 1: F76x in dual bank mode (nDBANK = 0) */
    uint32_t f76x;    /* 1: DEV_ID 0x451 (SNB 5 bits, MER2) */
    uint32_t raised;  /* 1: Init switched SYSCLK to the PLL; UnInit restores: */
    uint32_t acr;     /*   FLASH_ACR, */
    uint32_t cfgr;    /*   RCC_CFGR and */
    uint32_t pllcfgr; /*   RCC_PLLCFGR as they were */
};
__attribute__((section(".data.static_base"), used)) struct of7_state of7_state = {2, 1, 0, 0,
                                                                                  0, 0, 0, 0};

static inline struct of7_state *st(void)
{
    struct of7_state *s;
    __asm__("mov %0, r9" : "=r"(s));
    return s;
}

/* ---- the FlashDevice description (DevDscr) ---- */
struct FlashSectors {
    uint32_t szSector;
    uint32_t AddrSector;
};

struct FlashDevice {
    uint16_t Vers;
    char DevName[128];
    uint16_t DevType;
    uint32_t DevAdr;
    uint32_t szDev;
    uint32_t szPage;
    uint32_t Res;
    uint8_t valEmpty;
    uint8_t pad[3];
    uint32_t toProg;
    uint32_t toErase;
    struct FlashSectors sectors[4];
};

/* Main flash of the largest part in single bank mode (2 MB; the factory
 * setting); smaller parts use a prefix.  Dual bank mode is found at run
 * time (above); hosts that plan erases from this table should use the
 * device's own sector list for such a chip.  toProg: one 1 KiB page at x8
 * is 1024 x 100 us worst case; toErase: one 256 KiB sector at x8 is 4 s
 * worst case (datasheets, "Flash memory programming" tables). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "STM32F7 main flash, OTP and OTP lock (oflash)",
    .DevType = 1, /* on-chip flash */
    .DevAdr = F7_MAIN_BASE,
    .szDev = 0x200000,
    .szPage = 1024,
    .Res = 0,
    .valEmpty = 0xFF,
    .toProg = 200,
    .toErase = 4000,
    .sectors =
        {
            {0x8000, 0x000000},
            {0x20000, 0x020000},
            {0x40000, 0x040000},
            {0xFFFFFFFFu, 0xFFFFFFFFu},
        },
};

/* ---- helpers ---- */
#define NOINLINE __attribute__((noinline))

static inline uint32_t rbit(uint32_t x)
{
    uint32_t r;
    __asm__("rbit %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static void clock_down(void);

static inline void iwdg_feed(void)
{
    if (st()->feed) IWDG_KR = IWDG_KEY_RELOAD;
}

static uint32_t flash_size(void)
{
    return (uint32_t)FLASH_SIZE_KB << 10;
}

/* Wait for BSY to clear, feeding the watchdog; returns and clears the SR
 * error bits (0 = OK) or F7_ETIMEOUT. */
static NOINLINE uint32_t wait_done(void)
{
    uint32_t n = BSY_POLL_LIMIT;
    while (FLASH_SR & F7_SR_BSY) {
        iwdg_feed();
        if (--n == 0) return F7_ETIMEOUT;
    }
    uint32_t err = FLASH_SR & F7_SR_ERRORS;
    if (err) FLASH_SR = err;
    if (FLASH_SR & F7_SR_EOP) FLASH_SR = F7_SR_EOP;
    return err;
}

static uint32_t unlock(void)
{
    if (FLASH_CR & F7_CR_LOCK) {
        FLASH_KEYR = F7_FLASH_KEY1;
        FLASH_KEYR = F7_FLASH_KEY2;
        if (FLASH_CR & F7_CR_LOCK) return F7_ELOCKED;
    }
    return 0;
}

/* ---- core clock (as in the stm32f4 loader, see docs/loaders.md) ---- */
static void clock_up(void)
{
    struct of7_state *s = st();
    if ((RCC_CFGR & RCC_CFGR_SWS_MASK) != 0 || (RCC_CR & RCC_CR_PLLON)) return;
    s->acr = FLASH_ACR;
    s->cfgr = RCC_CFGR;
    s->pllcfgr = RCC_PLLCFGR;
    RCC_PLLCFGR = (s->pllcfgr & ~RCC_PLLCFGR_MASK) | PLLCFGR_84MHZ_FROM_HSI;
    RCC_CR |= RCC_CR_PLLON;
    uint32_t n = CLOCK_POLL_LIMIT;
    while (!(RCC_CR & RCC_CR_PLLRDY))
        if (--n == 0) goto undo;
    FLASH_ACR = (s->acr & ~ACR_LATENCY_MASK) | ACR_LATENCY_84MHZ;
    if ((FLASH_ACR & ACR_LATENCY_MASK) != ACR_LATENCY_84MHZ) goto undo;
    RCC_CFGR = (s->cfgr & ~(RCC_CFGR_HPRE_MASK | RCC_CFGR_PPRE_MASK)) | RCC_CFGR_PPRE_84MHZ;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    n = CLOCK_POLL_LIMIT;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != RCC_CFGR_SWS_PLL)
        if (--n == 0) goto undo;
    s->raised = 1;
    return;
undo:
    s->raised = 1;
    clock_down();
}

static void clock_down(void)
{
    struct of7_state *s = st();
    if (!s->raised) return;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK); /* back to the HSI */
    uint32_t n = CLOCK_POLL_LIMIT;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != 0 && --n)
        ;
    RCC_CFGR = s->cfgr;
    RCC_CR &= ~RCC_CR_PLLON;
    n = CLOCK_POLL_LIMIT;
    while ((RCC_CR & RCC_CR_PLLRDY) && --n)
        ;
    RCC_PLLCFGR = s->pllcfgr;
    FLASH_ACR = s->acr;
    s->raised = 0;
}

/* ---- CMSIS FLM functions ---- */

/* Init(adr, clk, fnc[, R3 = F7_INIT_ARG(psize) [| F7_INIT_KEEP_CLOCK]]):
 * find the line and bank mode, unlock the flash interface, clear stale
 * error flags, pick up PSIZE and the watchdog mode, raise the clock. */
int Init(uint32_t adr, uint32_t clk, uint32_t fnc, uint32_t opt)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    struct of7_state *s = st();
    int ours = (opt & 0xFFFFFF00u) == F7_INIT_MAGIC;
    uint32_t optcr = FLASH_OPTCR;
    s->psize = ours ? (opt & 3u) : 2u;
    s->feed = (optcr & F7_OPTCR_IWDG_SW) == 0;
    s->f76x = (DBGMCU_IDCODE & 0xFFFu) == F7_DEV_ID_F76X;
    s->dual = s->f76x && !(optcr & F7_OPTCR_NDBANK);
    iwdg_feed();
    uint32_t rc = wait_done(); /* an operation left running by the application */
    if (rc == F7_ETIMEOUT) return (int)rc;
    FLASH_SR = F7_SR_W1C;
    rc = unlock();
    if (rc == 0 && !(ours && (opt & F7_INIT_KEEP_CLOCK))) clock_up();
    return (int)rc;
}

/* UnInit(fnc): clear the operation bits and lock the flash interface. */
int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR = (FLASH_CR & ~(F7_CR_PG | F7_CR_SER | F7_CR_MER | F7_CR_MER2)) | F7_CR_LOCK;
    clock_down();
    return 0;
}

/* Offset of bank 2 in dual bank mode (half the flash), 0 otherwise. */
static uint32_t bank2_offset(void)
{
    return st()->dual ? flash_size() >> 1 : 0;
}

/* Sector number as CR.SNB encodes it for the sector holding adr, or -1. */
static int sector_of(uint32_t adr)
{
    uint32_t size = flash_size();
    if (adr < F7_MAIN_BASE || adr - F7_MAIN_BASE >= size) return -1;
    uint32_t off = adr - F7_MAIN_BASE;
    if (!st()->dual) { /* 4 x 32 KB, 128 KB, 256 KB... */
        if (off < 0x20000u) return (int)(off >> 15);
        if (off < 0x40000u) return 4;
        return 4 + (int)(off >> 18);
    }
    int snb = 0; /* 4 x 16 KB, 64 KB, 128 KB... per bank */
    uint32_t b2 = bank2_offset();
    if (off >= b2) {
        snb = (int)F7_SNB_BANK2;
        off -= b2;
    }
    if (off < 0x10000u) return snb + (int)(off >> 14);
    if (off < 0x20000u) return snb + 4;
    return snb + 4 + (int)(off >> 17);
}

static uint32_t sector_size(uint32_t adr)
{
    uint32_t off = adr - F7_MAIN_BASE;
    if (!st()->dual) return off < 0x20000u ? 0x8000u : off < 0x40000u ? 0x20000u : 0x40000u;
    uint32_t b2 = bank2_offset();
    if (off >= b2) off -= b2;
    return off < 0x10000u ? 0x4000u : off < 0x20000u ? 0x10000u : 0x20000u;
}

static uint32_t erase_one(uint32_t adr)
{
    int snb = sector_of(adr);
    if (snb < 0) return adr >= F7_OTP_BASE && adr < F7_LOCK_END ? F7_ENOERASE : F7_EADDR;
    FLASH_CR = (st()->psize << F7_CR_PSIZE_SHIFT) | F7_CR_SER | ((uint32_t)snb << F7_CR_SNB_SHIFT);
    FLASH_CR |= F7_CR_STRT;
    uint32_t rc = wait_done();
    FLASH_CR &= ~(F7_CR_SER | F7_CR_SNB_MASK_F76X);
    return rc;
}

/* EraseSector(adr): erase the main-flash sector holding adr. */
int EraseSector(uint32_t adr)
{
    return (int)erase_one(adr);
}

/* EraseChip(): mass erase (both banks in dual bank mode). */
int EraseChip(void)
{
    uint32_t cr = (st()->psize << F7_CR_PSIZE_SHIFT) | F7_CR_MER;
    if (st()->dual) cr |= F7_CR_MER2;
    FLASH_CR = cr;
    FLASH_CR |= F7_CR_STRT;
    uint32_t rc = wait_done();
    FLASH_CR &= ~(F7_CR_MER | F7_CR_MER2);
    return (int)rc;
}

/* SEGGER_OPEN_Erase(adr, index, n): erase n consecutive sectors from adr. */
int SEGGER_OPEN_Erase(uint32_t adr, uint32_t index, uint32_t n)
{
    (void)index;
    while (n--) {
        uint32_t rc = erase_one(adr);
        if (rc) return (int)rc;
        adr += sector_size(adr);
    }
    return 0;
}

/* Program lock bytes (or x8 data) one at a time; 0xFF bytes are left alone. */
static uint32_t program_x8_skip_ff(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    FLASH_CR = (0u << F7_CR_PSIZE_SHIFT) | F7_CR_PG;
    for (uint32_t i = 0; i < sz; i++) {
        if (buf[i] == 0xFFu) continue;
        *(volatile uint8_t *)(adr + i) = buf[i];
        uint32_t rc = wait_done();
        if (rc) return rc;
    }
    return 0;
}

/* The tight x32 loop: one word per program access, all-ones words skipped
 * (programming 0xFFFFFFFF changes nothing: writes only clear bits). */
static NOINLINE uint32_t program_x32(volatile uint32_t *dst, const uint32_t *src, uint32_t words)
{
    uint32_t feed = st()->feed;
    FLASH_CR = (2u << F7_CR_PSIZE_SHIFT) | F7_CR_PG;
    while (words--) {
        uint32_t w = *src++;
        if (w != 0xFFFFFFFFu) {
            *dst = w;
            uint32_t n = BSY_POLL_LIMIT, sr;
            while ((sr = FLASH_SR) & F7_SR_BSY) {
                if (--n == 0) return F7_ETIMEOUT;
            }
            uint32_t err = sr & F7_SR_ERRORS;
            if (err) {
                FLASH_SR = err;
                return err;
            }
            if (feed) IWDG_KR = IWDG_KEY_RELOAD;
        }
        dst++;
    }
    return 0;
}

static uint32_t program_x16(volatile uint16_t *dst, const uint16_t *src, uint32_t n)
{
    FLASH_CR = (1u << F7_CR_PSIZE_SHIFT) | F7_CR_PG;
    for (; n--; dst++, src++) {
        if (*src == 0xFFFFu) continue;
        *dst = *src;
        uint32_t rc = wait_done();
        if (rc) return rc;
    }
    return 0;
}

/* x64 (external Vpp): one double word as two consecutive word writes. */
static uint32_t program_x64(volatile uint32_t *dst, const uint32_t *src, uint32_t n)
{
    FLASH_CR = (3u << F7_CR_PSIZE_SHIFT) | F7_CR_PG;
    for (; n--; dst += 2, src += 2) {
        if ((src[0] & src[1]) == 0xFFFFFFFFu) continue;
        dst[0] = src[0];
        dst[1] = src[1];
        uint32_t rc = wait_done();
        if (rc) return rc;
    }
    return 0;
}

static uint32_t program(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    uint32_t end = adr + sz;
    uint32_t rc;
    if (end < adr) return F7_EADDR;
    if (adr >= F7_LOCK_BASE && end <= F7_LOCK_END) {
        rc = program_x8_skip_ff(adr, sz, buf);
    } else {
        int main = adr >= F7_MAIN_BASE && end - F7_MAIN_BASE <= flash_size();
        int otp = adr >= F7_OTP_BASE && end <= F7_OTP_END;
        if (!main && !otp) return F7_EADDR;
        uint32_t unit = 1u << st()->psize;
        if (((adr | sz | (uint32_t)buf) & (unit - 1u)) != 0) return F7_EALIGN;
        switch (st()->psize) {
        case 0:
            rc = program_x8_skip_ff(adr, sz, buf);
            break;
        case 1:
            rc = program_x16((volatile uint16_t *)adr, (const uint16_t *)buf, sz >> 1);
            break;
        case 3:
            rc = program_x64((volatile uint32_t *)adr, (const uint32_t *)buf, sz >> 3);
            break;
        default:
            rc = program_x32((volatile uint32_t *)adr, (const uint32_t *)buf, sz >> 2);
            break;
        }
    }
    FLASH_CR &= ~F7_CR_PG;
    return rc;
}

/* ProgramPage(adr, sz, buf): program sz bytes (a page or less). */
int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    return (int)program(adr, sz, buf);
}

/* SEGGER_OPEN_Program(adr, sz, buf): program many pages in one call. */
int SEGGER_OPEN_Program(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    return (int)program(adr, sz, buf);
}

/* Verify(adr, sz, buf): adr+sz when equal, else the first differing address. */
uint32_t Verify(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        if (p[i] != buf[i]) return adr + i;
    return adr + sz;
}

/* BlankCheck(adr, sz, pat): 0 when every byte equals pat, 1 otherwise. */
int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat)
{
    uint32_t pat32 = pat * 0x01010101u;
    while (sz && (adr & 3u)) {
        if (*(const volatile uint8_t *)adr != pat) return 1;
        adr++;
        sz--;
    }
    uint32_t words = sz >> 2;
    const volatile uint32_t *w = (const volatile uint32_t *)adr;
    for (uint32_t i = 0; i < words; i++) {
        if (w[i] != pat32) return 1;
        if ((i & 0x3FFFu) == 0) iwdg_feed();
    }
    adr += words << 2;
    for (sz &= 3u; sz; sz--, adr++)
        if (*(const volatile uint8_t *)adr != pat) return 1;
    return 0;
}

/* SEGGER_OPEN_Read(adr, sz, buf): copy target memory to buf. */
int SEGGER_OPEN_Read(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    const volatile uint8_t *p = (const volatile uint8_t *)adr;
    for (uint32_t i = 0; i < sz; i++)
        buf[i] = p[i];
    return (int)sz;
}

/* ---- CRC-32 ---- */

/* Byte-wise reflected CRC in software (zlib: poly 0xEDB88320). */
static uint32_t crc_sw(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly)
{
    crc = ~crc;
    for (; n; n--, adr++) {
        crc ^= *(const volatile uint8_t *)adr;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (poly & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* Run the CRC unit's step (poly 0x04C11DB7, MSB first, 32 bits) backwards:
 * the word w with crc_unit(state, w) == target for state 0xFFFFFFFF. */
static uint32_t crc_unit_preimage(uint32_t target)
{
    uint32_t s = target;
    for (int k = 0; k < 32; k++)
        s = (s & 1u) ? ((s ^ 0x04C11DB7u) >> 1) | 0x80000000u : s >> 1;
    return s ^ 0xFFFFFFFFu;
}

/* SEGGER_OPEN_CalcCRC(crc, adr, n, poly): zlib-compatible chaining CRC-32
 * for poly 0xEDB88320, the aligned words through the CRC unit.  The F7's
 * unit (RM0385 §6) resets to the F4's configuration (POL 0x04C11DB7, INIT
 * 0xFFFFFFFF, no input/output reversal), which is all this uses, so the
 * method of the stm32f4 loader applies unchanged: words fed bit-reversed,
 * the state read back bit-reversed and inverted, a non-zero start crc
 * reached by first feeding its preimage.  Any other poly: software. */
uint32_t SEGGER_OPEN_CalcCRC(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly)
{
    if (poly != 0xEDB88320u) return crc_sw(crc, adr, n, poly);
    uint32_t head = (4u - (adr & 3u)) & 3u;
    if (head > n) head = n;
    crc = crc_sw(crc, adr, head, poly);
    adr += head;
    n -= head;
    uint32_t words = n >> 2;
    if (words) {
        uint32_t enr = RCC_AHB1ENR;
        RCC_AHB1ENR = enr | RCC_AHB1ENR_CRCEN;
        (void)RCC_AHB1ENR; /* the clock is on after this read-back */
        CRC_CR = CRC_CR_RESET;
        if (crc != 0) CRC_DR = crc_unit_preimage(rbit(~crc));
        const volatile uint32_t *p = (const volatile uint32_t *)adr;
        uint32_t i = words;
        while (i >= 4) {
            CRC_DR = rbit(p[0]);
            CRC_DR = rbit(p[1]);
            CRC_DR = rbit(p[2]);
            CRC_DR = rbit(p[3]);
            p += 4;
            i -= 4;
            if ((i & 0x3FFCu) == 0) iwdg_feed();
        }
        while (i--)
            CRC_DR = rbit(*p++);
        crc = ~rbit(CRC_DR);
        RCC_AHB1ENR = enr;
        adr += words << 2;
    }
    return crc_sw(crc, adr, n & 3u, poly);
}
