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
 */
#include "../stm32l4_regs.h"

#include <stdint.h>

#define REG(base, off) (*(volatile uint32_t *)((base) + (off)))
#define FLASH(off) REG(L4_FLASH_REGS, off)
#define RCC(off) REG(L4_RCC_BASE, off)
#define CRC(off) REG(L4_CRC_BASE, off)
#define IWDG_KR REG(L4_IWDG_BASE, 0)
#define FLASH_SIZE_KB (*(volatile const uint16_t *)L4_FSIZE_ADDR)

/* BSY poll bound: about 2^28 polls of ~6 cycles, 100 s at 16 MHz, far above
 * the longest datasheet maximum (mass erase ~25 ms, a page 2 KB program
 * ~23 ms); the host's timeout from toErase/toProg normally fires first. */
#define BSY_POLL_LIMIT 0x10000000u
#define CLOCK_POLL_LIMIT 100000u /* HSI16 start-up is a few us */

/* ---- state (PrgData, R9-relative; see loaders/stm32f4/flash_f4.c) ---- */
struct l4_state {
    uint32_t feed;       /* 1: hardware watchdog (OPTR.IWDG_SW = 0): feed it while waiting */
    uint32_t fast;       /* bit b: bank b+1 was mass-erased by EraseChip in this session */
    uint32_t raised;     /* 1: Init switched SYSCLK from MSI to HSI16; UnInit restores */
    uint32_t cfgr;       /* RCC_CFGR as it was */
    uint32_t hsi_was_on; /* RCC_CR.HSION as it was */
};
__attribute__((section(".data.static_base"), used)) struct l4_state l4_state = {1, 0, 0, 0, 0};

static inline struct l4_state *st(void)
{
    struct l4_state *s;
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
    struct FlashSectors sectors[2];
};

/* Main flash of the largest part (1 MB); smaller parts use a prefix (the
 * loader checks addresses against the flash size register).  toProg: one
 * 2 KB page is 256 double words x 90.76 us maximum = 23 ms; toErase: one
 * page 24.47 ms maximum (DS10198 "Flash memory characteristics"). */
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "STM32L47x/L48x main flash and OTP (oflash)",
    .DevType = 1, /* on-chip flash */
    .DevAdr = L4_FLASH_BASE,
    .szDev = 0x100000,
    .szPage = L4_PAGE_SIZE,
    .Res = 0,
    .valEmpty = 0xFF,
    .toProg = 100,
    .toErase = 100,
    .sectors =
        {
            {L4_PAGE_SIZE, 0x000000},
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

static inline void iwdg_feed(void)
{
    if (st()->feed) IWDG_KR = L4_IWDG_KEY_RELOAD;
}

static uint32_t flash_size(void)
{
    return (uint32_t)FLASH_SIZE_KB << 10;
}

/* Wait for BSY to clear, feeding the watchdog; returns and clears the SR
 * error bits (0 = OK) or L4_LOADER_ETIMEOUT. */
static NOINLINE uint32_t wait_done(void)
{
    uint32_t n = BSY_POLL_LIMIT;
    while (FLASH(L4_FLASH_SR) & L4_SR_BSY) {
        iwdg_feed();
        if (--n == 0) return L4_LOADER_ETIMEOUT;
    }
    uint32_t err = FLASH(L4_FLASH_SR) & L4_SR_ERRORS;
    if (err) FLASH(L4_FLASH_SR) = err;
    if (FLASH(L4_FLASH_SR) & L4_SR_EOP) FLASH(L4_FLASH_SR) = L4_SR_EOP;
    return err;
}

static uint32_t unlock(void)
{
    if (FLASH(L4_FLASH_CR) & L4_CR_LOCK) {
        FLASH(L4_FLASH_KEYR) = L4_FLASH_KEY1;
        FLASH(L4_FLASH_KEYR) = L4_FLASH_KEY2;
        if (FLASH(L4_FLASH_CR) & L4_CR_LOCK) return L4_LOADER_ELOCKED;
    }
    return 0;
}

/* After an erase the data cache may still hold the old bytes of the page:
 * reset it (RM0351 §3.3.3 "Data cache": DCRST only while DCEN is 0). */
static void flush_dcache(void)
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
    struct l4_state *s = st();
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
    struct l4_state *s = st();
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
    iwdg_feed();
    uint32_t rc = wait_done(); /* an operation left running by the application */
    if (rc == L4_LOADER_ETIMEOUT) return (int)rc;
    FLASH(L4_FLASH_SR) = L4_SR_W1C;
    rc = unlock();
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

static uint32_t erase_page(uint32_t adr)
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
    uint32_t rc = wait_done();
    FLASH(L4_FLASH_CR) = 0;
    st()->fast = 0; /* fast programming needs a mass erase of the bank */
    return rc;
}

/* EraseSector(adr): erase the 2 KB page holding adr. */
int EraseSector(uint32_t adr)
{
    uint32_t rc = erase_page(adr);
    flush_dcache();
    return (int)rc;
}

/* EraseChip(): mass erase of both banks (one bank on smaller parts). */
int EraseChip(void)
{
    uint32_t cr = L4_CR_MER1;
    if (flash_size() >= 0x100000u) cr |= L4_CR_MER2;
    FLASH(L4_FLASH_CR) = cr;
    FLASH(L4_FLASH_CR) = cr | L4_CR_STRT;
    uint32_t rc = wait_done();
    FLASH(L4_FLASH_CR) = 0;
    flush_dcache();
    st()->fast = rc == 0 ? 3u : 0u;
    return (int)rc;
}

/* SEGGER_OPEN_Erase(adr, index, n): erase n consecutive pages from adr. */
int SEGGER_OPEN_Erase(uint32_t adr, uint32_t index, uint32_t n)
{
    (void)index;
    uint32_t rc = 0;
    for (; n--; adr += L4_PAGE_SIZE)
        if ((rc = erase_page(adr)) != 0) break;
    flush_dcache();
    return (int)rc;
}

/* Program one double word with the standard sequence: PG is set, first
 * word, second word, wait.  Returns the SR error bits or 0. */
static inline uint32_t program_dword(volatile uint32_t *dst, uint32_t lo, uint32_t hi)
{
    dst[0] = lo;
    dst[1] = hi;
    uint32_t n = BSY_POLL_LIMIT, sr;
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
        if (feed) IWDG_KR = L4_IWDG_KEY_RELOAD;
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
    uint32_t rc = wait_done();
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

static uint32_t program(uint32_t adr, uint32_t sz, const uint8_t *buf)
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

/* SEGGER_OPEN_CalcCRC(crc, adr, n, poly): zlib-compatible chaining CRC-32
 * (crc32(crc, bytes) for poly 0xEDB88320).  The aligned words go through
 * the CRC unit: 32-bit polynomial 0x04C11DB7, no input/output reversal
 * (CR = RESET only), each word fed bit-reversed, INIT = RBIT(~crc) so the
 * unit continues from crc, result ~RBIT(DR).  POLY and INIT are written
 * explicitly: the application may have changed them.  Head and tail bytes
 * and any other poly are computed in software. */
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
        uint32_t enr = RCC(L4_RCC_AHB1ENR);
        RCC(L4_RCC_AHB1ENR) = enr | L4_RCC_AHB1ENR_CRCEN;
        (void)RCC(L4_RCC_AHB1ENR); /* the clock is on after this read-back */
        CRC(L4_CRC_POLY) = L4_CRC_POLY_DEFAULT;
        CRC(L4_CRC_INIT) = rbit(~crc);
        CRC(L4_CRC_CR) = L4_CRC_CR_RESET;
        const volatile uint32_t *p = (const volatile uint32_t *)adr;
        uint32_t i = words;
        while (i >= 4) {
            CRC(L4_CRC_DR) = rbit(p[0]);
            CRC(L4_CRC_DR) = rbit(p[1]);
            CRC(L4_CRC_DR) = rbit(p[2]);
            CRC(L4_CRC_DR) = rbit(p[3]);
            p += 4;
            i -= 4;
            if ((i & 0x3FFCu) == 0) iwdg_feed();
        }
        while (i--)
            CRC(L4_CRC_DR) = rbit(*p++);
        crc = ~rbit(CRC(L4_CRC_DR));
        RCC(L4_RCC_AHB1ENR) = enr;
        adr += words << 2;
    }
    return crc_sw(crc, adr, n & 3u, poly);
}
