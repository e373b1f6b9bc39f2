/*
 * flash_l4.c - oflash's own flash loader for STM32L47x/L48x (target code),
 * a standard CMSIS FLM with SEGGER's open flash loader extensions.
 *
 * Follows RM0351 rev 9 §3 (the facts are collected, with their sections,
 * in ../stm32l4_regs.h, which this file shares with the simulated chip and
 * the host).  One loader serves two address ranges; the address decides:
 *  - main flash 0x08000000 + flash size (u16 KB at 0x1FFF75E0), dual bank
 *    on 1 MB parts (bank 2 from 0x08080000): 2 KB page erase (PER, PNB,
 *    BKER), mass erase of both banks (MER1 | MER2), programming by 64-bit
 *    double words (two word stores, first then second); double words that
 *    are all ones are skipped (an erased double word stays erased and may
 *    be programmed later; programming it with ones would make it
 *    "programmed" for ECC purposes); after EraseChip, whole 256-byte rows
 *    are programmed with fast programming (FSTPG), which RM0351 §3.3.7
 *    allows only after a mass erase of the bank;
 *  - OTP 0x1FFF7000..0x1FFF73FF: programmed by whole double words only
 *    (an unaligned start or size is refused: padding would burn bytes the
 *    host never gave), never erased; a double word that already holds the
 *    same value is skipped, one that holds anything else than all ones is
 *    refused with L4_LOADER_EWRITTEN before anything is written (RM0351:
 *    a double word with one bit at 0 cannot be written again).
 *
 * Init leaves the clock alone unless the core runs from the MSI (the state
 * after reset, 4 MHz): then it switches SYSCLK to the 16 MHz HSI (0 wait
 * states at voltage range 1, RM0351 §3.3.3 Table 9), which fast programming
 * needs (HCLK >= 8 MHz, §3.3.7), and UnInit switches back.
 *
 * Return codes (0 = OK): the FLASH_SR error bits that were set, or one of
 * the L4_LOADER_E* codes (bit 20 set).  Verify returns adr+sz on success,
 * the first differing address otherwise.
 *
 * Built position independent like loaders/stm32f4 (R9-relative state, no
 * GOT, no absolute relocations; see loaders/check_pic.cmake).
 *
 * This file holds the L4's flash interface: Init, UnInit, page and mass
 * erase, double-word, fast and OTP programming.  The other entry points
 * (EraseSector, SEGGER_OPEN_Erase, ProgramPage, SEGGER_OPEN_Program,
 * Verify, BlankCheck, SEGGER_OPEN_Read, SEGGER_OPEN_CalcCRC), the BSY wait
 * and the unlock are shared: src/targets/common/loader/flm.c, with the
 * L4's names from flm_family.h.
 */
#include "../../common/loader/flm.h"

#define FLASH(off) REG32(L4_FLASH_REGS + (off))
#define RCC(off) REG32(L4_RCC_BASE + (off))
#define CLOCK_POLL_LIMIT 100000u /* HSI16 start-up is a few us */

__attribute__((section(".data.static_base"), used)) struct flm_state l4_state = {1, 0, 0, 0, 0};

/* ---- the FlashDevice description (DevDscr) ---- */
FLM_FLASH_DEVICE(2);

/* Main flash of the largest part (1 MB); smaller parts use a prefix (the
 * loader checks addresses against the flash size register).  toProg: one
 * 2 KB page is 256 double words x 90.76 us maximum = 23 ms; toErase: one
 * page 24.47 ms maximum (DS10198 "Flash memory characteristics"). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    FLM_DEVICE_FIELDS("STM32L47x/L48x main flash and OTP (oflash)", L4_FLASH_BASE, 0x100000,
                      L4_PAGE_SIZE, 100, 100),
    .sectors =
        {
            {L4_PAGE_SIZE, 0x000000},
            {0xFFFFFFFFu, 0xFFFFFFFFu},
        },
};

/* After an erase the data cache may still hold the old bytes of the page:
 * reset it (RM0351 §3.3.3 "Data cache": DCRST only while DCEN is 0). */
FLM_INTERNAL void flush_dcache(void)
{
    uint32_t acr = FLASH(L4_FLASH_ACR);
    if (!(acr & L4_ACR_DCEN)) return;
    FLASH(L4_FLASH_ACR) = acr & ~L4_ACR_DCEN;
    FLASH(L4_FLASH_ACR) = (acr & ~L4_ACR_DCEN) | L4_ACR_DCRST;
    FLASH(L4_FLASH_ACR) = acr;
}

/* ---- core clock: MSI (reset) -> HSI16 for the session ---- */
static void clock_up(void)
{
    struct flm_state *s = st();
    uint32_t cfgr = RCC(L4_RCC_CFGR);
    if (((cfgr & L4_RCC_CFGR_SWS_MASK) >> L4_RCC_CFGR_SWS_SHIFT) != 0) return; /* not MSI */
    s->cfgr = cfgr;
    s->hsi_was_on = RCC(L4_RCC_CR) & L4_RCC_CR_HSION;
    RCC(L4_RCC_CR) |= L4_RCC_CR_HSION;
    uint32_t n = CLOCK_POLL_LIMIT;
    while (!(RCC(L4_RCC_CR) & L4_RCC_CR_HSIRDY))
        if (--n == 0) return;
    /* AHB /1; 16 MHz needs no wait state at range 1, so ACR stays. */
    RCC(L4_RCC_CFGR) = (cfgr & ~(L4_RCC_CFGR_SW_MASK | L4_RCC_CFGR_HPRE_MASK)) | L4_RCC_CFGR_SW_HSI;
    n = CLOCK_POLL_LIMIT;
    while (((RCC(L4_RCC_CFGR) & L4_RCC_CFGR_SWS_MASK) >> L4_RCC_CFGR_SWS_SHIFT) != 1)
        if (--n == 0) break;
    s->raised = 1;
}

static void clock_down(void)
{
    struct flm_state *s = st();
    if (!s->raised) return;
    RCC(L4_RCC_CFGR) = s->cfgr; /* back to the MSI, old prescalers */
    uint32_t n = CLOCK_POLL_LIMIT;
    while ((RCC(L4_RCC_CFGR) & L4_RCC_CFGR_SWS_MASK) != 0 && --n)
        ;
    if (!s->hsi_was_on) RCC(L4_RCC_CR) &= ~L4_RCC_CR_HSION;
    s->raised = 0;
}

/* ---- CMSIS FLM functions ---- */

/* Init(adr, clk, fnc): unlock the flash interface, clear stale error
 * flags (a programming error left set makes the next program a sequence
 * error, §3.3.7), pick up the watchdog mode, raise the clock. */
int Init(uint32_t adr, uint32_t clk, uint32_t fnc)
{
    (void)adr;
    (void)clk;
    (void)fnc;
    st()->feed = (FLASH(L4_FLASH_OPTR) & L4_OPTR_IWDG_SW) == 0;
    st()->fast = 0;
    uint32_t rc = flm_start();
    if (rc == 0) clock_up();
    return (int)rc;
}

/* UnInit(fnc): clear the operation bits, lock, restore the clock. */
int UnInit(uint32_t fnc)
{
    (void)fnc;
    FLASH(L4_FLASH_CR) = (FLASH(L4_FLASH_CR) & ~(L4_CR_PG | L4_CR_FSTPG | L4_CR_PER | L4_CR_MER1 |
                                                 L4_CR_MER2 | L4_CR_BKER | L4_CR_PNB_MASK)) |
                         L4_CR_LOCK;
    clock_down();
    return 0;
}

static int in_main(uint32_t adr, uint32_t end)
{
    return adr >= L4_FLASH_BASE && end >= adr && end - L4_FLASH_BASE <= flash_size();
}

static int in_otp(uint32_t adr, uint32_t end)
{
    return adr >= L4_OTP_BASE && end >= adr && end <= L4_OTP_BASE + L4_OTP_SIZE;
}

/* Bank size: 1 MB parts are always dual bank (half each); smaller parts
 * are used here as one bank (DUALBANK = 0). */
static uint32_t bank_size(void)
{
    uint32_t size = flash_size();
    return size >= 0x100000u ? size / 2 : size;
}

/* Erase the 2 KB page holding adr (EraseSector, SEGGER_OPEN_Erase). */
FLM_INTERNAL uint32_t flm_erase_sector(uint32_t adr)
{
    if (!in_main(adr, adr + 1)) return in_otp(adr, adr + 1) ? L4_LOADER_ENOERASE : L4_LOADER_EADDR;
    uint32_t off = adr - L4_FLASH_BASE, cr = L4_CR_PER;
    if (off >= bank_size()) {
        cr |= L4_CR_BKER;
        off -= bank_size();
    }
    cr |= ((off / L4_PAGE_SIZE) << L4_CR_PNB_SHIFT) & L4_CR_PNB_MASK;
    FLASH(L4_FLASH_CR) = cr;
    FLASH(L4_FLASH_CR) = cr | L4_CR_STRT;
    uint32_t rc = flm_wait_done();
    FLASH(L4_FLASH_CR) = 0;
    st()->fast = 0; /* fast programming needs a mass erase of the bank */
    return rc;
}

FLM_INTERNAL uint32_t flm_sector_size(uint32_t adr)
{
    (void)adr;
    return L4_PAGE_SIZE;
}

/* EraseChip(): mass erase of both banks (one bank on smaller parts). */
int EraseChip(void)
{
    uint32_t cr = L4_CR_MER1;
    if (flash_size() >= 0x100000u) cr |= L4_CR_MER2;
    FLASH(L4_FLASH_CR) = cr;
    FLASH(L4_FLASH_CR) = cr | L4_CR_STRT;
    uint32_t rc = flm_wait_done();
    FLASH(L4_FLASH_CR) = 0;
    flush_dcache();
    st()->fast = rc == 0 ? 3u : 0u;
    return (int)rc;
}

/* Program one double word with the standard sequence: PG is set, first
 * word, second word, wait.  Returns the SR error bits or 0. */
static inline uint32_t program_dword(volatile uint32_t *dst, uint32_t lo, uint32_t hi)
{
    dst[0] = lo;
    dst[1] = hi;
    uint32_t n = FLM_BSY_POLL_LIMIT, sr;
    while ((sr = FLASH(L4_FLASH_SR)) & L4_SR_BSY)
        if (--n == 0) return L4_LOADER_ETIMEOUT;
    uint32_t err = sr & L4_SR_ERRORS;
    if (err) {
        FLASH(L4_FLASH_SR) = err;
        return err;
    }
    if (sr & L4_SR_EOP) FLASH(L4_FLASH_SR) = L4_SR_EOP;
    return 0;
}

/* The tight loop over main flash: all-ones double words are skipped. */
static NOINLINE uint32_t program_std(volatile uint32_t *dst, const uint32_t *src, uint32_t dwords)
{
    uint32_t feed = st()->feed;
    FLASH(L4_FLASH_CR) = L4_CR_PG;
    for (; dwords--; dst += 2, src += 2) {
        uint32_t lo = src[0], hi = src[1];
        if ((lo & hi) == 0xFFFFFFFFu) continue;
        uint32_t rc = program_dword(dst, lo, hi);
        if (rc) return rc;
        if (feed) REG32(L4_IWDG_BASE) = L4_IWDG_KEY_RELOAD;
    }
    return 0;
}

/* One 256-byte row with fast programming: the 32 double words back to
 * back (the next must arrive while the previous one programs, else
 * MISERR), then wait once for the row. */
static NOINLINE uint32_t program_row_fast(volatile uint32_t *dst, const uint32_t *src)
{
    FLASH(L4_FLASH_CR) = L4_CR_FSTPG;
    for (uint32_t i = 0; i < L4_ROW_SIZE / 4; i += 2) {
        dst[i] = src[i];
        dst[i + 1] = src[i + 1];
    }
    uint32_t rc = flm_wait_done();
    FLASH(L4_FLASH_CR) = 0;
    return rc;
}

static int all_ones(const uint32_t *p, uint32_t words)
{
    while (words--)
        if (*p++ != 0xFFFFFFFFu) return 0;
    return 1;
}

/* Main flash: rows after a mass erase go through fast programming (a row
 * of all ones is skipped), everything else double word by double word. */
static uint32_t program_main(uint32_t adr, uint32_t sz, const uint32_t *buf)
{
    uint32_t rc = 0;
    while (sz && rc == 0) {
        uint32_t bank = adr - L4_FLASH_BASE >= bank_size() ? 2u : 1u;
        if ((st()->fast & bank) && (adr & (L4_ROW_SIZE - 1)) == 0 && sz >= L4_ROW_SIZE) {
            if (!all_ones(buf, L4_ROW_SIZE / 4))
                rc = program_row_fast((volatile uint32_t *)adr, buf);
            adr += L4_ROW_SIZE;
            buf += L4_ROW_SIZE / 4;
            sz -= L4_ROW_SIZE;
            iwdg_feed();
            continue;
        }
        /* Standard programming up to the next row boundary (or the end). */
        uint32_t n = L4_ROW_SIZE - (adr & (L4_ROW_SIZE - 1));
        if (n > sz) n = sz;
        rc = program_std((volatile uint32_t *)adr, buf, n / L4_DWORD);
        adr += n;
        buf += n / 4;
        sz -= n;
    }
    return rc;
}

/* OTP: every double word is checked before the first one is written, so a
 * refused call changes nothing. */
static uint32_t program_otp(uint32_t adr, uint32_t sz, const uint32_t *buf)
{
    const volatile uint32_t *cur = (const volatile uint32_t *)adr;
    for (uint32_t i = 0; i < sz / 4; i += 2) {
        uint32_t lo = cur[i], hi = cur[i + 1];
        if ((lo & hi) != 0xFFFFFFFFu && (lo != buf[i] || hi != buf[i + 1]))
            return L4_LOADER_EWRITTEN;
    }
    FLASH(L4_FLASH_CR) = L4_CR_PG;
    for (uint32_t i = 0; i < sz / 4; i += 2) {
        if ((buf[i] & buf[i + 1]) == 0xFFFFFFFFu) continue;
        if (cur[i] == buf[i] && cur[i + 1] == buf[i + 1]) continue;
        uint32_t rc = program_dword((volatile uint32_t *)(adr + 4 * i), buf[i], buf[i + 1]);
        if (rc) return rc;
        iwdg_feed();
    }
    return 0;
}

FLM_INTERNAL uint32_t flm_program(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    uint32_t end = adr + sz, rc;
    int main = in_main(adr, end), otp = in_otp(adr, end);
    if (!main && !otp) return L4_LOADER_EADDR;
    if (((adr | sz | (uint32_t)buf) & (L4_DWORD - 1u)) != 0) return L4_LOADER_EALIGN;
    if (main)
        rc = program_main(adr, sz, (const uint32_t *)buf);
    else
        rc = program_otp(adr, sz, (const uint32_t *)buf);
    FLASH(L4_FLASH_CR) &= ~(L4_CR_PG | L4_CR_FSTPG);
    return rc;
}
