/*
 * fw.c - Thumb-2 test firmware for the simulated STM32F4, built with
 * arm-none-eabi-gcc and run from SRAM by tests/sim/test_sim.c.  It drives
 * the flash interface exactly as a flash loader does (RM0368 §3.5: unlock
 * with KEY1/KEY2, PG + PSIZE + a write of that width, SER/SNB/STRT,
 * MER/MER1, OPTKEYR/OPTCR/OPTSTRT, wait for BSY).
 */
#include <stdint.h>
#include "fw_api.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define FLASH_KEYR REG(0x40023C04u)
#define FLASH_OPTKEYR REG(0x40023C08u)
#define FLASH_SR REG(0x40023C0Cu)
#define FLASH_CR REG(0x40023C10u)
#define FLASH_OPTCR REG(0x40023C14u)
#define FLASH_OPTCR1 REG(0x40023C18u)
#define FLASH_ACR REG(0x40023C00u)
#define SR_BSY (1u << 16)
#define SR_ERR 0x1F2u
#define CR_PG 1u
#define CR_SER 2u
#define CR_STRT (1u << 16)
#define CR_LOCK (1u << 31)
#define RCC_CR REG(0x40023800u)
#define RCC_PLLCFGR REG(0x40023804u)
#define RCC_CFGR REG(0x40023808u)
#define IWDG_KR REG(0x40003000u)
#define CRC_DR REG(0x40023000u)
#define CRC_CR REG(0x40023008u)

__attribute__((naked)) static void fw_bkpt(void)
{
    __asm volatile("bkpt #0\n");
}

static uint32_t fw_unlock(void)
{
    FLASH_KEYR = 0x45670123u;
    FLASH_KEYR = 0xCDEF89ABu;
    return FLASH_CR;
}

static uint32_t fw_lock(void)
{
    FLASH_CR |= CR_LOCK;
    return FLASH_CR;
}

static uint32_t fw_read32(uint32_t a)
{
    return REG(a);
}
static uint32_t fw_write32(uint32_t a, uint32_t v)
{
    REG(a) = v;
    return 0;
}
static uint32_t fw_write16(uint32_t a, uint32_t v)
{
    *(volatile uint16_t *)a = (uint16_t)v;
    return 0;
}
static uint32_t fw_write8(uint32_t a, uint32_t v)
{
    *(volatile uint8_t *)a = (uint8_t)v;
    return 0;
}

static void wait_bsy(void)
{
    while (FLASH_SR & SR_BSY)
        ;
}

static uint32_t fw_program(uint32_t addr, const uint8_t *src, uint32_t len, uint32_t psize)
{
    uint32_t w = 1u << psize, err = 0;
    wait_bsy();
    FLASH_CR = (psize << 8) | CR_PG;
    for (uint32_t i = 0; i < len; i += w) {
        if (w == 1)
            *(volatile uint8_t *)(addr + i) = src[i];
        else if (w == 2)
            *(volatile uint16_t *)(addr + i) = (uint16_t)(src[i] | src[i + 1] << 8);
        else
            *(volatile uint32_t *)(addr + i) = (uint32_t)src[i] | (uint32_t)src[i + 1] << 8 |
                                               (uint32_t)src[i + 2] << 16 |
                                               (uint32_t)src[i + 3] << 24;
        wait_bsy();
        err = FLASH_SR & SR_ERR;
        if (err) break;
    }
    FLASH_CR = 0;
    return err;
}

static uint32_t fw_erase_sector(uint32_t snb, uint32_t psize)
{
    wait_bsy();
    FLASH_CR = (psize << 8) | (snb << 3) | CR_SER;
    FLASH_CR |= CR_STRT;
    wait_bsy();
    FLASH_CR = 0;
    return FLASH_SR;
}

static uint32_t fw_mass_erase(uint32_t bits, uint32_t psize)
{
    wait_bsy();
    FLASH_CR = (psize << 8) | bits;
    FLASH_CR |= CR_STRT;
    wait_bsy();
    FLASH_CR = 0;
    return FLASH_SR;
}

static uint32_t fw_opt_program(uint32_t optcr, uint32_t optcr1)
{
    FLASH_OPTKEYR = 0x08192A3Bu;
    FLASH_OPTKEYR = 0x4C5D6E7Fu;
    wait_bsy();
    FLASH_OPTCR1 = optcr1;
    FLASH_OPTCR = optcr & ~3u;
    FLASH_OPTCR = (optcr & ~3u) | 2u; /* OPTSTRT */
    wait_bsy();
    FLASH_OPTCR |= 1u; /* OPTLOCK */
    return FLASH_SR;
}

static uint32_t rbit(uint32_t v)
{
    uint32_t r;
    __asm volatile("rbit %0, %1" : "=r"(r) : "r"(v));
    return r;
}

static uint32_t fw_crc_zlib(const uint32_t *p, uint32_t n)
{
    CRC_CR = 1; /* reset to 0xFFFFFFFF */
    for (uint32_t i = 0; i < n; i++)
        CRC_DR = rbit(p[i]);
    return ~rbit(CRC_DR);
}

static uint32_t fw_iwdg_erase(uint32_t snb, uint32_t feed)
{
    IWDG_KR = 0xCCCC; /* start: LSI/4, reload 0xFFF -> 512 ms */
    wait_bsy();
    FLASH_CR = (2u << 8) | (snb << 3) | CR_SER;
    FLASH_CR |= CR_STRT;
    while (FLASH_SR & SR_BSY)
        if (feed) IWDG_KR = 0xAAAA;
    FLASH_CR = 0;
    return FLASH_SR;
}

static uint32_t fw_clock_pll84(void)
{
    RCC_PLLCFGR = 16u | (336u << 6) | (1u << 16) | (7u << 24); /* HSI/16*336/4 = 84 MHz */
    RCC_CR |= 1u << 24;
    while (!(RCC_CR & (1u << 25)))
        ;
    FLASH_ACR = 2; /* 2 wait states at 84 MHz */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;
    while (((RCC_CFGR >> 2) & 3u) != 2u)
        ;
    return RCC_CFGR;
}

/* The benchmark loop, hand-written so that its cost per word is known:
 * eor, str, then ldr/lsls/bmi polling BSY, subs, bne - about six cycles
 * after BSY clears, 0.4% of tprog at 84 MHz. */
static uint32_t fw_bench(uint32_t addr, uint32_t nwords, uint32_t pattern)
{
    wait_bsy();
    FLASH_CR = (2u << 8) | CR_PG;
    __asm volatile("   ldr r3, =0x40023C0C\n"
                   "1: eor r12, %[a], %[p]\n"
                   "   str r12, [%[a]], #4\n"
                   "2: ldr r12, [r3]\n"
                   "   lsls r12, r12, #15\n"
                   "   bmi 2b\n"
                   "   subs %[n], %[n], #1\n"
                   "   bne 1b\n"
                   : [a] "+r"(addr), [n] "+r"(nwords)
                   : [p] "r"(pattern)
                   : "r3", "r12", "cc", "memory");
    FLASH_CR = 0;
    return FLASH_SR & SR_ERR;
}

static uint32_t fw_delay(uint32_t n)
{
    for (volatile uint32_t i = 0; i < n; i++)
        ;
    return 0;
}

static uint32_t fw_read_ids(uint32_t *out)
{
    out[0] = REG(0xE0042000u);
    out[1] = *(volatile uint16_t *)0x1FFF7A22u;
    out[2] = REG(0x1FFF7A10u);
    out[3] = REG(0x1FFF7A14u);
    out[4] = REG(0x1FFF7A18u);
    return out[0];
}

__attribute__((section(".table"), used)) const void *const fw_table[FW_COUNT] = {
    [FW_BKPT] = (const void *)fw_bkpt,
    [FW_UNLOCK] = (const void *)fw_unlock,
    [FW_LOCK] = (const void *)fw_lock,
    [FW_READ32] = (const void *)fw_read32,
    [FW_WRITE32] = (const void *)fw_write32,
    [FW_WRITE16] = (const void *)fw_write16,
    [FW_WRITE8] = (const void *)fw_write8,
    [FW_PROGRAM] = (const void *)fw_program,
    [FW_ERASE_SECTOR] = (const void *)fw_erase_sector,
    [FW_MASS_ERASE] = (const void *)fw_mass_erase,
    [FW_OPT_PROGRAM] = (const void *)fw_opt_program,
    [FW_CRC_ZLIB] = (const void *)fw_crc_zlib,
    [FW_IWDG_ERASE] = (const void *)fw_iwdg_erase,
    [FW_CLOCK_PLL84] = (const void *)fw_clock_pll84,
    [FW_BENCH] = (const void *)fw_bench,
    [FW_DELAY] = (const void *)fw_delay,
    [FW_READ_IDS] = (const void *)fw_read_ids,
};
