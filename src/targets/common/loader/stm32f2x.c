/*
 * stm32f2x.c - Init, UnInit, the erase and the programming of the
 * STM32F2/F4/F7 flash interface (target code), for the loaders of the
 * families whose flm_family.h includes stm32f2x.h (stm32f4, stm32f7); the
 * family keeps its sector layout (flm_snb, flm_sector_size), its memory map
 * and its FlashDevice.  Empty for every other family.
 *
 * One loader serves three address ranges; the address decides:
 *  - main flash: sector erase (SER, SNB) and chip erase (MER, plus the
 *    bank 2 bit when FLM_DUAL_BANK()), programming at the selected
 *    parallelism (PSIZE);
 *  - OTP data: programming at the selected PSIZE, never erased;
 *  - OTP lock bytes: ALWAYS programmed one byte at a time (x8), whatever
 *    PSIZE says; bytes equal to 0xFF are skipped, so a lock byte is only
 *    ever written with the value the host gave (RM0090 §3.8: lock bytes
 *    hold 0x00 or 0xFF only).
 * Words (half-words, double words) that are all ones are skipped too:
 * programming ones changes nothing (writes only clear bits).
 *
 * PSIZE is x32 unless the host passes the family's INIT_MAGIC | psize in R3
 * to Init (psize 0 = x8, 1 = x16, 2 = x32, 3 = x64 with external Vpp).
 * Other hosts leave R3 undefined; anything without the magic in bits 31..8
 * keeps x32.  Init also raises the core clock from the reset HSI to 84 MHz
 * with the PLL (UnInit restores it) unless R3 holds the magic with
 * INIT_KEEP_CLOCK (0x4).
 */
#include "flm.h"

#ifdef FLM_STM32F2X

#define FLASH_ACR REG32(FLM_FLASH_ACR)
#define FLASH_SR REG32(FLM_FLASH_SR)
#define FLASH_CR REG32(FLM_FLASH_CR)
#define FLASH_OPTCR REG32(FLM_FLASH_OPTCR)
#define RCC_CR REG32(FLM_RCC_CR)
#define RCC_PLLCFGR REG32(FLM_RCC_PLLCFGR)
#define RCC_CFGR REG32(FLM_RCC_CFGR)

#define CR_PG FLM_F2X(CR_PG)
#define CR_SER FLM_F2X(CR_SER)
#define CR_MER FLM_F2X(CR_MER)
#define CR_STRT FLM_F2X(CR_STRT)
#define CR_PSIZE_SHIFT FLM_F2X(CR_PSIZE_SHIFT)
#define CR_SNB_SHIFT FLM_F2X(CR_SNB_SHIFT)
#define CR_SNB_MASK (0x1Fu << CR_SNB_SHIFT) /* 5 bits: bit 4 = bank 2 */
#define RCC_CR_PLLON FLM_F2X(RCC_CR_PLLON)
#define RCC_CR_PLLRDY FLM_F2X(RCC_CR_PLLRDY)

/* ---- core clock ---- */
#define RCC_CFGR_SW_MASK 3u
#define RCC_CFGR_SWS_MASK (3u << 2)
#define RCC_CFGR_SW_PLL 2u
#define RCC_CFGR_SWS_PLL (2u << 2)
#define RCC_CFGR_HPRE_MASK (0xFu << 4)
#define RCC_CFGR_PPRE_MASK (0x3Fu << 10) /* PPRE1 12..10, PPRE2 15..13 */
/* APB1 /4 = 21 MHz, APB2 /2 = 42 MHz: within every F2/F4/F7 (F2: 30/60 MHz,
 * F401: 42/84 MHz, F7: 54/108 MHz maximum). */
#define RCC_CFGR_PPRE_84MHZ ((5u << 10) | (4u << 13))
/* PLLM 5..0, PLLN 14..6, PLLP 17..16, PLLSRC 22 */
#define RCC_PLLCFGR_MASK (0x3Fu | (0x1FFu << 6) | (3u << 16) | (1u << 22))
/* HSI 16 MHz / M 8 = 2 MHz VCO input (RM0368 §6.3.2, RM0385 §5.3.2: 1..2
 * MHz, 2 MHz recommended), x N 168 = 336 MHz VCO (192..432 MHz on F401 and
 * F2, 100..432 on F405/F42x and F7), / P 4 = 84 MHz: the F401's maximum
 * (at its reset voltage scale 2), within every F2/F4's, allowed at every
 * F7 voltage scale (so PWR is left alone). */
#define PLLCFGR_84MHZ_FROM_HSI (8u | (168u << 6) | (1u << 16))
/* 5 wait states cover 84 MHz at any supply voltage (RM0368 Table 5: 1.7 V
 * needs 5; RM0090 Table 10: 1.8 V needs 4; RM0385 Table 5: 1.8 V needs 5
 * from 80 MHz). */
#define ACR_LATENCY_MASK 0xFu
#define ACR_LATENCY_84MHZ 5u
#define CLOCK_POLL_LIMIT 100000u /* PLL lock is ~100 us typ; loop of ~6 cycles */

static void clock_down(void);

/* Init raises SYSCLK from the 16 MHz HSI to 84 MHz through the PLL, so the
 * loader's own instructions between flash operations (and the CRC loop)
 * cost a fifth; UnInit puts everything back.  Only when the core runs from
 * the HSI with the PLL off (the state after reset): a clock the application
 * set up is left alone.  Order (RM0368 §3.4.1): more wait states before a
 * faster clock, fewer only after the slower clock is selected. */
static void clock_up(void)
{
    struct flm_state *s = st();
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
    struct flm_state *s = st();
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

/* Init(adr, clk, fnc[, R3 = INIT_MAGIC | [INIT_KEEP_CLOCK] | psize]):
 * pick up PSIZE, the watchdog mode (and the family's sector layout),
 * unlock the flash interface, clear stale error flags, raise the core
 * clock to 84 MHz (see clock_up). */
int Init(uint32_t adr, uint32_t clk, uint32_t fnc, uint32_t opt)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    struct flm_state *s = st();
    int ours = (opt & 0xFFFFFF00u) == FLM_F2X(INIT_MAGIC);
    uint32_t optcr = FLASH_OPTCR;
    s->psize = ours ? (opt & 3u) : 2u;
    s->feed = (optcr & FLM_OPTCR_WDG_SW) == 0;
#ifdef FLM_INIT_LAYOUT
    FLM_INIT_LAYOUT(s, optcr);
#endif
    uint32_t rc = flm_start();
    if (rc == 0 && !(ours && (opt & FLM_F2X(INIT_KEEP_CLOCK)))) clock_up();
    return (int)rc;
}

/* UnInit(fnc): clear the operation bits, lock the flash interface, restore
 * the clock. */
int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH_CR = (FLASH_CR & ~(CR_PG | CR_SER | CR_MER | FLM_CR_MER_BANK2)) | FLM_CR_LOCK;
    clock_down();
    return 0;
}

/* ---- erase ---- */

/* From the family: the CR.SNB value of the main-flash sector holding adr,
 * or -1 outside main flash. */
FLM_INTERNAL int flm_snb(uint32_t adr);

FLM_INTERNAL uint32_t flm_erase_sector(uint32_t adr)
{
    int snb = flm_snb(adr);
    if (snb < 0)
        return adr >= FLM_OTP_BASE && adr < FLM_LOCK_END ? FLM_F2X(ENOERASE) : FLM_F2X(EADDR);
    FLASH_CR = (st()->psize << CR_PSIZE_SHIFT) | CR_SER | ((uint32_t)snb << CR_SNB_SHIFT);
    FLASH_CR |= CR_STRT;
    uint32_t rc = flm_wait_done();
    FLASH_CR &= ~(CR_SER | CR_SNB_MASK);
    return rc;
}

/* EraseChip(): mass erase (both banks on dual bank parts). */
int EraseChip(void)
{
    uint32_t cr = (st()->psize << CR_PSIZE_SHIFT) | CR_MER;
    if (FLM_DUAL_BANK()) cr |= FLM_CR_MER_BANK2;
    FLASH_CR = cr;
    FLASH_CR |= CR_STRT;
    uint32_t rc = flm_wait_done();
    FLASH_CR &= ~(CR_MER | FLM_CR_MER_BANK2);
    return (int)rc;
}

/* ---- program ---- */

/* Program lock bytes (or x8 data) one at a time; 0xFF bytes are left alone. */
static uint32_t program_x8_skip_ff(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    FLASH_CR = (0u << CR_PSIZE_SHIFT) | CR_PG;
    for (uint32_t i = 0; i < sz; i++) {
        if (buf[i] == 0xFFu) continue;
        *(volatile uint8_t *)(adr + i) = buf[i];
        uint32_t rc = flm_wait_done();
        if (rc) return rc;
    }
    return 0;
}

/* The tight x32 loop: one word per program access, all-ones words skipped
 * (programming 0xFFFFFFFF changes nothing: writes only clear bits). */
static NOINLINE uint32_t program_x32(volatile uint32_t *dst, const uint32_t *src, uint32_t words)
{
    uint32_t feed = st()->feed;
    FLASH_CR = (2u << CR_PSIZE_SHIFT) | CR_PG;
    while (words--) {
        uint32_t w = *src++;
        if (w != 0xFFFFFFFFu) {
            *dst = w;
            uint32_t n = FLM_BSY_POLL_LIMIT, sr;
            while ((sr = FLASH_SR) & FLM_SR_BSY) {
                if (--n == 0) return FLM_ETIMEOUT;
            }
            uint32_t err = sr & FLM_SR_ERRORS;
            if (err) {
                FLASH_SR = err;
                return err;
            }
            if (feed) REG32(FLM_IWDG_KR) = FLM_IWDG_KEY_RELOAD;
        }
        dst++;
    }
    return 0;
}

static uint32_t program_x16(volatile uint16_t *dst, const uint16_t *src, uint32_t n)
{
    FLASH_CR = (1u << CR_PSIZE_SHIFT) | CR_PG;
    for (; n--; dst++, src++) {
        if (*src == 0xFFFFu) continue;
        *dst = *src;
        uint32_t rc = flm_wait_done();
        if (rc) return rc;
    }
    return 0;
}

/* x64 (external Vpp): one double word as two consecutive word writes. */
static uint32_t program_x64(volatile uint32_t *dst, const uint32_t *src, uint32_t n)
{
    FLASH_CR = (3u << CR_PSIZE_SHIFT) | CR_PG;
    for (; n--; dst += 2, src += 2) {
        if ((src[0] & src[1]) == 0xFFFFFFFFu) continue;
        dst[0] = src[0];
        dst[1] = src[1];
        uint32_t rc = flm_wait_done();
        if (rc) return rc;
    }
    return 0;
}

FLM_INTERNAL uint32_t flm_program(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    uint32_t end = adr + sz;
    uint32_t rc;
    if (end < adr) return FLM_F2X(EADDR);
    if (adr >= FLM_LOCK_BASE && end <= FLM_LOCK_END) {
        rc = program_x8_skip_ff(adr, sz, buf);
    } else {
        int main = adr >= FLM_MAIN_BASE && end - FLM_MAIN_BASE <= flash_size();
        int otp = adr >= FLM_OTP_BASE && end <= FLM_OTP_END;
        if (!main && !otp) return FLM_F2X(EADDR);
        uint32_t unit = 1u << st()->psize;
        if (((adr | sz | (uint32_t)buf) & (unit - 1u)) != 0) return FLM_F2X(EALIGN);
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
    FLASH_CR &= ~CR_PG;
    return rc;
}

#endif /* FLM_STM32F2X */
