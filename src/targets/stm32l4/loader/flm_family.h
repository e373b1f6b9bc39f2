/*
 * flm_family.h - what the shared loader code (src/targets/common/loader/,
 * see flm.h there) needs from the STM32L4 loader: its RW state and its
 * register names (RM0351 rev 9, collected in ../stm32l4_regs.h).
 */
#ifndef OFLASH_STM32L4_FLM_FAMILY_H
#define OFLASH_STM32L4_FLM_FAMILY_H

#include "../stm32l4_regs.h"

/* ---- state (PrgData, R9-relative; see docs/loaders.md) ---- */
struct flm_state {
    uint32_t feed;       /* 1: hardware watchdog (OPTR.IWDG_SW = 0): feed it while waiting */
    uint32_t fast;       /* bit b: bank b+1 was mass-erased by EraseChip in this session */
    uint32_t raised;     /* 1: Init switched SYSCLK from MSI to HSI16; UnInit restores */
    uint32_t cfgr;       /* RCC_CFGR as it was */
    uint32_t hsi_was_on; /* RCC_CR.HSION as it was */
};

#define FLM_FLASH_KEYR (L4_FLASH_REGS + L4_FLASH_KEYR)
#define FLM_FLASH_SR (L4_FLASH_REGS + L4_FLASH_SR)
#define FLM_FLASH_CR (L4_FLASH_REGS + L4_FLASH_CR)
#define FLM_FLASH_KEY1 L4_FLASH_KEY1
#define FLM_FLASH_KEY2 L4_FLASH_KEY2
#define FLM_SR_BSY L4_SR_BSY
#define FLM_SR_EOP L4_SR_EOP
#define FLM_SR_ERRORS L4_SR_ERRORS
#define FLM_CR_LOCK L4_CR_LOCK
#define FLM_IWDG_KR L4_IWDG_BASE
#define FLM_IWDG_KEY_RELOAD L4_IWDG_KEY_RELOAD
#define FLM_FSIZE_ADDR L4_FSIZE_ADDR
#define FLM_RCC_AHB1ENR (L4_RCC_BASE + L4_RCC_AHB1ENR)
#define FLM_RCC_AHB1ENR_CRCEN L4_RCC_AHB1ENR_CRCEN
#define FLM_CRC_BASE L4_CRC_BASE
#define FLM_CRC_HAS_INIT 1 /* INIT and POLY written for each CRC (§14.4) */
#define FLM_ETIMEOUT L4_LOADER_ETIMEOUT
#define FLM_ELOCKED L4_LOADER_ELOCKED

/* After an erase the data cache may still hold the page's old bytes. */
#define FLM_AFTER_ERASE() flush_dcache()
__attribute__((visibility("hidden"))) void flush_dcache(void);

#endif
