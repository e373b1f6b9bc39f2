/*
 * flash_f4.c - oflash's own flash loader for STM32F2/F4 (target code), a
 * standard CMSIS FLM with SEGGER's open flash loader extensions.
 *
 * Follows RM0368 rev 5 (STM32F401xB/C/D/E) §3 "Embedded Flash memory
 * interface", RM0090 rev 19 (STM32F405/407/427/429) §3 and §4 (CRC unit),
 * RM0033 rev 9 (STM32F2): the flash interface registers at 0x40023C00, the
 * OTP area (16 blocks x 32 bytes at 0x1FFF7800) and its lock bytes
 * (0x1FFF7A00..0x1FFF7A0F).
 *
 * One loader serves three address ranges; the address decides:
 *  - main flash 0x08000000 + flash size (read from 0x1FFF7A22): sector and
 *    chip erase, programming at the selected parallelism (PSIZE);
 *  - OTP data 0x1FFF7800..0x1FFF79FF: programming at the selected PSIZE,
 *    never erased;
 *  - OTP lock bytes 0x1FFF7A00..0x1FFF7A0F: ALWAYS programmed one byte at a
 *    time (x8), whatever PSIZE says; bytes equal to 0xFF are skipped, so a
 *    lock byte is only ever written with the value the host gave (RM0090
 *    §3.8: lock bytes hold 0x00 or 0xFF only).
 *
 * PSIZE (program/erase parallelism) is x32 unless the host passes
 * F4_INIT_MAGIC | psize in R3 to Init (psize 0 = x8, 1 = x16, 2 = x32,
 * 3 = x64 with external Vpp).  Other hosts leave R3 undefined; anything
 * without the magic in bits 31..8 keeps x32.  Init also raises the core
 * clock from the reset HSI to 84 MHz with the PLL (UnInit restores it)
 * unless R3 holds the magic with F4_INIT_KEEP_CLOCK (0x4).
 *
 * Return codes (0 = OK): the FLASH_SR error bits that were set (OPERR 0x2,
 * WRPERR 0x10, PGAERR 0x20, PGPERR 0x40, PGSERR 0x80, RDERR 0x100), or one
 * of the F4_E* codes below (0x1000 and up).  Verify returns adr+sz on
 * success, the first differing address otherwise.
 *
 * Built position independent: code reaches its RW data only R9-relative
 * (GOTOFF, no GOT entries), has no absolute relocations and no startup
 * code; see loaders/CMakeLists.txt for the check.
 */
#include "../stm32f4_regs.h"

/* ---- registers (stm32f4_regs.h: addresses and bits) ---- */
#define REG32(a) (*(volatile uint32_t *)(a))
#define FLASH_ACR REG32(F4_FLASHIF_BASE + F4_FLASH_ACR)
#define FLASH_KEYR REG32(F4_FLASHIF_BASE + F4_FLASH_KEYR)
#define FLASH_SR REG32(F4_FLASHIF_BASE + F4_FLASH_SR)
#define FLASH_CR REG32(F4_FLASHIF_BASE + F4_FLASH_CR)
#define FLASH_OPTCR REG32(F4_FLASHIF_BASE + F4_FLASH_OPTCR)

#define IWDG_KR REG32(F4_IWDG_BASE)

#define RCC_CR REG32(F4_RCC_BASE + F4_RCC_CR)
#define RCC_PLLCFGR REG32(F4_RCC_BASE + F4_RCC_PLLCFGR)
#define RCC_CFGR REG32(F4_RCC_BASE + F4_RCC_CFGR)
#define RCC_AHB1ENR REG32(F4_RCC_BASE + F4_RCC_AHB1ENR)
#define RCC_CFGR_SW_MASK 3u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_HPRE_MASK (0xFu << 4)
#define RCC_CFGR_PPRE_MASK (0x3Fu << 10) /* PPRE1 12..10, PPRE2 15..13 */
/* APB1 /4 = 21 MHz, APB2 /2 = 42 MHz: within every F2/F4 (F2: 30/60 MHz,
 * F401: 42/84 MHz maximum). */
#define RCC_CFGR_PPRE_84MHZ ((5u << 10) | (4u << 13))
/* PLLM 5..0, PLLN 14..6, PLLP 17..16, PLLSRC 22 */
#define RCC_PLLCFGR_MASK (0x3Fu | (0x1FFu << 6) | (3u << 16) | (1u << 22))
/* HSI 16 MHz / M 8 = 2 MHz VCO input (RM0368 §6.3.2: 1..2 MHz, 2 MHz
 * recommended), x N 168 = 336 MHz VCO (192..432 MHz on F401 and F2,
 * 100..432 on F405/F42x), / P 4 = 84 MHz: the F401's maximum (at its reset
 * voltage scale 2), within every F2/F4's. */
#define PLLCFGR_84MHZ_FROM_HSI (8u | (168u << 6) | (1u << 16))
/* 5 wait states cover 84 MHz at any supply voltage (RM0368 Table 5: 1.7 V
 * needs 5; RM0090 Table 10: 1.8 V needs 4). */
#define ACR_LATENCY_MASK 0xFu
#define ACR_LATENCY_84MHZ 5u
#define CLOCK_POLL_LIMIT 100000u /* PLL lock is ~100 us typ; loop of ~6 cycles */

#define CRC_DR REG32(F4_CRC_BASE + 0x0)
#define CRC_CR REG32(F4_CRC_BASE + 0x8)
#define CRC_CR_RESET 1u

/* ---- memory map ---- */
#define MAIN_BASE F4_FLASH_BASE
#define FLASH_SIZE_KB (*(volatile const uint16_t *)F4_FSIZE_ADDR)
#define BANK2_OFFSET F4_BANK2_OFFSET /* 2 MB parts: second bank, SNB bit 4 */
#define OTP_BASE F4_OTP_BASE
#define OTP_END (F4_OTP_BASE + F4_OTP_SIZE)
#define LOCK_BASE F4_LOCK_BASE
#define LOCK_END (F4_LOCK_BASE + F4_LOCK_SIZE)

/* BSY poll bound: about 130 s at 16 MHz, above the longest datasheet
 * maximum (mass erase of 1 MB at x8: 32 s); the host's own timeout from
 * toErase normally fires first. */
#define BSY_POLL_LIMIT 0x10000000u

/* ---- state (PrgData, R9-relative) ----
 * The only RW data: one struct at offset 0 of PrgData, reached through R9
 * (the static base every FLM host sets), never through an absolute address
 * or a GOT entry.  The host loads its initial values with PrgData. */
struct of4_state {
    uint32_t psize;   /* CR.PSIZE for main flash and OTP data: 0 x8 .. 3 x64 */
    uint32_t feed;    /* 1: hardware watchdog (OPTCR.WDG_SW = 0), feed it while waiting */
    uint32_t raised;  /* 1: Init switched SYSCLK to the PLL; UnInit restores: */
    uint32_t acr;     /*   FLASH_ACR, */
    uint32_t cfgr;    /*   RCC_CFGR and */
    uint32_t pllcfgr; /*   RCC_PLLCFGR as they were */
};
__attribute__((section(".data.static_base"), used)) struct of4_state of4_state = {2, 1, 0, 0, 0, 0};

static inline struct of4_state *st(void)
{
    struct of4_state *s;
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
    struct FlashSectors sectors[7];
};

/* Main flash of the largest part (2 MB, dual bank); smaller parts use a
 * prefix (the loader checks addresses against the flash size register).
 * toProg: one 1 KiB page at x8 is 1024 x 100 us worst case; toErase: one
 * 128 KiB sector at x8 is 4 s worst case (datasheets, "Flash memory
 * programming" tables). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "STM32F2/F4 main flash, OTP and OTP lock (oflash)",
    .DevType = 1, /* on-chip flash */
    .DevAdr = MAIN_BASE,
    .szDev = 0x200000,
    .szPage = 1024,
    .Res = 0,
    .valEmpty = 0xFF,
    .toProg = 200,
    .toErase = 4000,
    .sectors =
        {
            {0x4000, 0x000000},
            {0x10000, 0x010000},
            {0x20000, 0x020000},
            {0x4000, 0x100000},
            {0x10000, 0x110000},
            {0x20000, 0x120000},
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
    if (st()->feed) IWDG_KR = F4_IWDG_KEY_RELOAD;
}

static uint32_t flash_size(void)
{
    return (uint32_t)FLASH_SIZE_KB << 10;
}

/* Wait for BSY to clear, feeding the watchdog; returns and clears the SR
 * error bits (0 = OK) or F4_ETIMEOUT. */
static NOINLINE uint32_t wait_done(void)
{
    uint32_t n = BSY_POLL_LIMIT;
    while (FLASH_SR & F4_SR_BSY) {
        iwdg_feed();
        if (--n == 0) return F4_ETIMEOUT;
    }
    uint32_t err = FLASH_SR & F4_SR_ERRORS;
    if (err) FLASH_SR = err;
    if (FLASH_SR & F4_SR_EOP) FLASH_SR = F4_SR_EOP;
    return err;
}

static uint32_t unlock(void)
{
    if (FLASH_CR & F4_CR_LOCK) {
        FLASH_KEYR = F4_FLASH_KEY1;
        FLASH_KEYR = F4_FLASH_KEY2;
        if (FLASH_CR & F4_CR_LOCK) return F4_ELOCKED;
    }
    return 0;
}

/* ---- core clock ----
 * Init raises SYSCLK from the 16 MHz HSI to 84 MHz through the PLL, so the
 * loader's own instructions between flash operations (and the CRC loop)
 * cost a fifth; UnInit puts everything back.  Only when the core runs from
 * the HSI with the PLL off (the state after reset): a clock the application
 * set up is left alone.  Order (RM0368 §3.4.1): more wait states before a
 * faster clock, fewer only after the slower clock is selected. */
static void clock_up(void)
{
    struct of4_state *s = st();
    if ((RCC_CFGR & RCC_CFGR_SWS_MASK) != 0 || (RCC_CR & F4_RCC_CR_PLLON)) return;
    s->acr = FLASH_ACR;
    s->cfgr = RCC_CFGR;
    s->pllcfgr = RCC_PLLCFGR;
    RCC_PLLCFGR = (s->pllcfgr & ~RCC_PLLCFGR_MASK) | PLLCFGR_84MHZ_FROM_HSI;
    RCC_CR |= F4_RCC_CR_PLLON;
    uint32_t n = CLOCK_POLL_LIMIT;
    while (!(RCC_CR & F4_RCC_CR_PLLRDY))
        if (--n == 0) goto undo;
    FLASH_ACR = (s->acr & ~ACR_LATENCY_MASK) | ACR_LATENCY_84MHZ;
    if ((FLASH_ACR & ACR_LATENCY_MASK) != ACR_LATENCY_84MHZ) goto undo;
    /* AHB /1 (84 MHz), APB prescalers first, then the switch. */
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
    struct of4_state *s = st();
    if (!s->raised) return;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK); /* back to the HSI */
    uint32_t n = CLOCK_POLL_LIMIT;
    while ((RCC_CFGR & RCC_CFGR_SWS_MASK) != 0 && --n)
        ;
    RCC_CFGR = s->cfgr;
    RCC_CR &= ~F4_RCC_CR_PLLON;
    n = CLOCK_POLL_LIMIT;
    while ((RCC_CR & F4_RCC_CR_PLLRDY) && --n)
        ;
    RCC_PLLCFGR = s->pllcfgr;
    FLASH_ACR = s->acr;
    s->raised = 0;
}

/* ---- CMSIS FLM functions ---- */

/* Init(adr, clk, fnc[, R3 = F4_INIT_MAGIC | [F4_INIT_KEEP_CLOCK] | psize]):
 * unlock the flash interface, clear stale error flags, pick up PSIZE and
 * the watchdog mode, raise the core clock to 84 MHz (see clock_up). */
int Init(uint32_t adr, uint32_t clk, uint32_t fnc, uint32_t opt)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    int ours = (opt & 0xFFFFFF00u) == F4_INIT_MAGIC;
    st()->psize = ours ? (opt & 3u) : 2u;
    st()->feed = (FLASH_OPTCR & F4_OPTCR_WDG_SW) == 0;
    iwdg_feed();
    uint32_t rc = wait_done(); /* an operation left running by the application */
    if (rc == F4_ETIMEOUT) return (int)rc;
    FLASH_SR = F4_SR_ERRORS | F4_SR_EOP;
    rc = unlock();
    if (rc == 0 && !(ours && (opt & F4_INIT_KEEP_CLOCK))) clock_up();
    return (int)rc;
}

/* UnInit(fnc): clear the operation bits and lock the flash interface. */
int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR = (FLASH_CR & ~(F4_CR_PG | F4_CR_SER | F4_CR_MER | F4_CR_MER1)) | F4_CR_LOCK;
    clock_down();
    return 0;
}

/* Sector number as CR.SNB encodes it for the sector holding adr, or -1. */
static int sector_of(uint32_t adr)
{
    uint32_t size = flash_size();
    if (adr < MAIN_BASE || adr - MAIN_BASE >= size) return -1;
    uint32_t off = adr - MAIN_BASE;
    int snb = 0;
    if (size > BANK2_OFFSET && off >= BANK2_OFFSET) {
        snb = 16; /* SNB bit 4: bank 2 (2 MB parts) */
        off -= BANK2_OFFSET;
    }
    if (off < 0x10000u) return snb + (int)(off >> 14);
    if (off < 0x20000u) return snb + 4;
    return snb + 4 + (int)(off >> 17);
}

static uint32_t sector_size(uint32_t adr)
{
    uint32_t off = (adr - MAIN_BASE) & (BANK2_OFFSET - 1u);
    return off < 0x10000u ? 0x4000u : off < 0x20000u ? 0x10000u : 0x20000u;
}

static uint32_t erase_one(uint32_t adr)
{
    int snb = sector_of(adr);
    if (snb < 0) return adr >= OTP_BASE && adr < LOCK_END ? F4_ENOERASE : F4_EADDR;
    FLASH_CR = (st()->psize << F4_CR_PSIZE_SHIFT) | F4_CR_SER | ((uint32_t)snb << F4_CR_SNB_SHIFT);
    FLASH_CR |= F4_CR_STRT;
    uint32_t rc = wait_done();
    FLASH_CR &= ~(F4_CR_SER | (0x1Fu << F4_CR_SNB_SHIFT));
    return rc;
}

/* EraseSector(adr): erase the main-flash sector holding adr. */
int EraseSector(uint32_t adr)
{
    return (int)erase_one(adr);
}

/* EraseChip(): mass erase (both banks on 2 MB parts). */
int EraseChip(void)
{
    uint32_t cr = (st()->psize << F4_CR_PSIZE_SHIFT) | F4_CR_MER;
    if (flash_size() > BANK2_OFFSET) cr |= F4_CR_MER1;
    FLASH_CR = cr;
    FLASH_CR |= F4_CR_STRT;
    uint32_t rc = wait_done();
    FLASH_CR &= ~(F4_CR_MER | F4_CR_MER1);
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

/* Program lock bytes one at a time (x8); 0xFF bytes are left alone. */
static uint32_t program_x8_skip_ff(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    FLASH_CR = (0u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
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
    FLASH_CR = (2u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
    while (words--) {
        uint32_t w = *src++;
        if (w != 0xFFFFFFFFu) {
            *dst = w;
            uint32_t n = BSY_POLL_LIMIT, sr;
            while ((sr = FLASH_SR) & F4_SR_BSY) {
                if (--n == 0) return F4_ETIMEOUT;
            }
            uint32_t err = sr & F4_SR_ERRORS;
            if (err) {
                FLASH_SR = err;
                return err;
            }
            if (feed) IWDG_KR = F4_IWDG_KEY_RELOAD;
        }
        dst++;
    }
    return 0;
}

static uint32_t program_x16(volatile uint16_t *dst, const uint16_t *src, uint32_t n)
{
    FLASH_CR = (1u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
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
    FLASH_CR = (3u << F4_CR_PSIZE_SHIFT) | F4_CR_PG;
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
    if (end < adr) return F4_EADDR;
    if (adr >= LOCK_BASE && end <= LOCK_END) {
        rc = program_x8_skip_ff(adr, sz, buf);
    } else {
        int main = adr >= MAIN_BASE && end - MAIN_BASE <= flash_size();
        int otp = adr >= OTP_BASE && end <= OTP_END;
        if (!main && !otp) return F4_EADDR;
        uint32_t unit = 1u << st()->psize;
        if (((adr | sz | (uint32_t)buf) & (unit - 1u)) != 0) return F4_EALIGN;
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
    FLASH_CR &= ~F4_CR_PG;
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

/* SEGGER_OPEN_CalcCRC(crc, adr, n, poly): zlib-compatible chaining CRC-32:
 * returns crc32(crc, bytes at adr..adr+n) for poly 0xEDB88320 (reflected
 * IEEE 802.3), using the CRC unit for the aligned words (it computes the
 * non-reflected CRC of poly 0x04C11DB7 over 32-bit words, so each word is
 * fed bit-reversed and the state is read back bit-reversed and inverted).
 * Any other poly is computed in software. */
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
        RCC_AHB1ENR = enr | F4_RCC_AHB1ENR_CRCEN;
        (void)RCC_AHB1ENR; /* the clock is on after this read-back */
        CRC_CR = CRC_CR_RESET;
        if (crc != 0) /* continue from crc: steer the unit's state there */
            CRC_DR = crc_unit_preimage(rbit(~crc));
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
