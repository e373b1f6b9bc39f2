/*
 * stm32f2x.h - the flash loader's names for the STM32F2/F4/F7 flash
 * interface (target code), included at the end of such a family's
 * flm_family.h.  The three share it, as OpenOCD's stm32f2x driver and
 * contrib/loaders/flash/stm32/stm32f2x.S serve all three: FLASH_ACR/KEYR/
 * SR/CR/OPTCR at +0x00/0x04/0x0C/0x10/0x14 of the interface, sector erase
 * by CR.SNB, programming at the parallelism CR.PSIZE, an OTP area with one
 * lock byte per block, RCC with the same PLL, and the CRC unit (RM0033 rev 9
 * §2.3, RM0090 rev 19 §3, RM0368 rev 5 §3, RM0385 rev 8 §3, RM0410 rev 4 §3).
 *
 * Before including this, the family defines FLM_F2X(name) to paste its
 * register prefix (`#define FLM_F2X(name) F4_##name`): every name used
 * through it is spelt the same way in each family's <fam>_regs.h
 * (FLASHIF_BASE, FLASH_SR, CR_PG, SR_ERRORS, RCC_CR, INIT_MAGIC, EADDR, ...).
 * Where the reference manuals name things differently the family defines
 * the FLM_ name itself:
 *   FLM_MAIN_BASE, FLM_OTP_END      main flash base, end of the OTP data
 *   FLM_OPTCR_WDG_SW                OPTCR bit: 1 = software watchdog
 *   FLM_CR_MER_BANK2                CR bit 15: mass erase of bank 2
 *   FLM_DUAL_BANK()                 1: EraseChip also sets FLM_CR_MER_BANK2
 *   FLM_INIT_LAYOUT(s, optcr)       optional, at Init: find the sector
 *                                   layout (the F7's dual bank mode)
 * and the family's code defines flm_sector_size() and
 *   FLM_INTERNAL int flm_snb(uint32_t adr);
 * the CR.SNB value of the main-flash sector holding adr, or -1 outside
 * main flash.  struct flm_state is defined here; a family adds fields of
 * its own with FLM_F2X_STATE (e.g. `uint32_t dual;`).
 */
#ifndef OFLASH_COMMON_LOADER_STM32F2X_H
#define OFLASH_COMMON_LOADER_STM32F2X_H

#define FLM_STM32F2X 1

#ifndef FLM_F2X_STATE
#define FLM_F2X_STATE
#endif

/* ---- state (PrgData, R9-relative) ----
 * The only RW data: one struct at offset 0 of PrgData, reached through R9
 * (the static base every FLM host sets), never through an absolute address
 * or a GOT entry.  The host loads its initial values with PrgData: psize 2
 * and feed 1, the rest 0. */
struct flm_state {
    uint32_t psize;   /* CR.PSIZE for main flash and OTP data: 0 x8 .. 3 x64 */
    uint32_t feed;    /* 1: hardware watchdog (OPTCR.WDG_SW = 0), feed it while waiting */
    uint32_t raised;  /* 1: Init switched SYSCLK to the PLL; UnInit restores: */
    uint32_t acr;     /*   FLASH_ACR, */
    uint32_t cfgr;    /*   RCC_CFGR and */
    uint32_t pllcfgr; /*   RCC_PLLCFGR as they were */
    FLM_F2X_STATE     /* the family's own */
};

/* ---- what flm.c needs ---- */
#define FLM_FLASH_ACR (FLM_F2X(FLASHIF_BASE) + FLM_F2X(FLASH_ACR))
#define FLM_FLASH_KEYR (FLM_F2X(FLASHIF_BASE) + FLM_F2X(FLASH_KEYR))
#define FLM_FLASH_SR (FLM_F2X(FLASHIF_BASE) + FLM_F2X(FLASH_SR))
#define FLM_FLASH_CR (FLM_F2X(FLASHIF_BASE) + FLM_F2X(FLASH_CR))
#define FLM_FLASH_OPTCR (FLM_F2X(FLASHIF_BASE) + FLM_F2X(FLASH_OPTCR))
#define FLM_FLASH_KEY1 FLM_F2X(FLASH_KEY1)
#define FLM_FLASH_KEY2 FLM_F2X(FLASH_KEY2)
#define FLM_SR_BSY FLM_F2X(SR_BSY)
#define FLM_SR_EOP FLM_F2X(SR_EOP)
#define FLM_SR_ERRORS FLM_F2X(SR_ERRORS)
#define FLM_CR_LOCK FLM_F2X(CR_LOCK)
#define FLM_IWDG_KR FLM_F2X(IWDG_BASE)
#define FLM_IWDG_KEY_RELOAD FLM_F2X(IWDG_KEY_RELOAD)
#define FLM_FSIZE_ADDR FLM_F2X(FSIZE_ADDR)
#define FLM_RCC_AHB1ENR (FLM_F2X(RCC_BASE) + FLM_F2X(RCC_AHB1ENR))
#define FLM_RCC_AHB1ENR_CRCEN FLM_F2X(RCC_AHB1ENR_CRCEN)
#define FLM_CRC_BASE FLM_F2X(CRC_BASE)
#define FLM_ETIMEOUT FLM_F2X(ETIMEOUT)
#define FLM_ELOCKED FLM_F2X(ELOCKED)

/* ---- what stm32f2x.c needs besides ---- */
#define FLM_OTP_BASE FLM_F2X(OTP_BASE)
#define FLM_LOCK_BASE FLM_F2X(LOCK_BASE)
#define FLM_LOCK_END (FLM_F2X(LOCK_BASE) + FLM_F2X(LOCK_SIZE))
#define FLM_RCC_CR (FLM_F2X(RCC_BASE) + FLM_F2X(RCC_CR))
#define FLM_RCC_PLLCFGR (FLM_F2X(RCC_BASE) + FLM_F2X(RCC_PLLCFGR))
#define FLM_RCC_CFGR (FLM_F2X(RCC_BASE) + FLM_F2X(RCC_CFGR))

#endif
