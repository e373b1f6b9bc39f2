/*
 * stm32f4_regs.h - STM32F2/F4 registers, memory map and the protocol
 * between the host and oflash's own flash loader: written once, used by the
 * loader (target code, freestanding), the simulated chip and the host.
 * Only <stdint.h>; addresses and bits, no accessors.
 *
 * Follows RM0368 rev 5 (STM32F401xB/C/D/E), RM0383 rev 3 (STM32F411xC/E),
 * RM0090 rev 19 (STM32F405/407/415/417/427/429/437/439) and RM0033 rev 9
 * (STM32F2): §3 "Embedded Flash memory interface", §4 CRC, §6 RCC,
 * §15/§19 IWDG, the DBGMCU and device electronic signature chapters.
 */
#ifndef OFLASH_STM32F4_REGS_H
#define OFLASH_STM32F4_REGS_H

#include <stdint.h>

/* ---- memory map (RM0368 §2.3, RM0090 §2.3) ---- */
#define F4_FLASH_BASE 0x08000000u /* main flash; aliased at 0 after reset */
#define F4_BANK2_OFFSET 0x100000u /* 2 MiB F42x/F43x: second bank */
#define F4_SRAM_BASE 0x20000000u
#define F4_SYSMEM_BASE 0x1FFF0000u /* system memory (boot loader), read-only */
#define F4_SYSMEM_SIZE 0x7800u
#define F4_OTP_BASE 0x1FFF7800u /* OTP: 16 blocks x 32 bytes */
#define F4_OTP_SIZE 512u
#define F4_OTP_BLOCK 32u
#define F4_OTP_BLOCKS 16u
#define F4_LOCK_BASE 0x1FFF7A00u /* one lock byte per OTP block: 0x00 or 0xFF only */
#define F4_LOCK_SIZE 16u
#define F4_UID_BASE 0x1FFF7A10u /* 96-bit unique ID */
#define F4_UID_LEN 12u
#define F4_FSIZE_ADDR 0x1FFF7A22u /* u16 flash size in KiB */
#define F4_INFO_BASE 0x1FFF7800u  /* OTP, lock bytes, UID, flash size: one 1 KiB page */
#define F4_INFO_SIZE 0x400u
#define F4_OPT_BASE 0x1FFFC000u  /* option bytes (bank 1) */
#define F4_OPT2_BASE 0x1FFEC000u /* F42x/F43x: option bytes of bank 2 */
#define F4_OPT_SIZE 0x400u
#define F4_DBGMCU_IDCODE 0xE0042000u /* DEV_ID bits 11:0, REV_ID 31:16 */
#define F4_DEV_ID_F413 0x463u        /* F413/F423: 1.5 MiB in one bank (RM0430) */

/* ---- flash interface (RM0368 §3.8, RM0090 §3.9) ---- */
#define F4_FLASHIF_BASE 0x40023C00u
#define F4_FLASH_ACR 0x00u /* offsets from F4_FLASHIF_BASE */
#define F4_FLASH_KEYR 0x04u
#define F4_FLASH_OPTKEYR 0x08u
#define F4_FLASH_SR 0x0Cu
#define F4_FLASH_CR 0x10u
#define F4_FLASH_OPTCR 0x14u
#define F4_FLASH_OPTCR1 0x18u /* F42x/F43x only */

#define F4_FLASH_KEY1 0x45670123u
#define F4_FLASH_KEY2 0xCDEF89ABu
#define F4_FLASH_OPTKEY1 0x08192A3Bu
#define F4_FLASH_OPTKEY2 0x4C5D6E7Fu

#define F4_SR_EOP (1u << 0)
#define F4_SR_OPERR (1u << 1)
#define F4_SR_WRPERR (1u << 4)
#define F4_SR_PGAERR (1u << 5)
#define F4_SR_PGPERR (1u << 6)
#define F4_SR_PGSERR (1u << 7)
#define F4_SR_RDERR (1u << 8) /* F42x/F43x, F401/F411 (PCROP) */
#define F4_SR_BSY (1u << 16)
#define F4_SR_ERRORS                                                                               \
    (F4_SR_OPERR | F4_SR_WRPERR | F4_SR_PGAERR | F4_SR_PGPERR | F4_SR_PGSERR | F4_SR_RDERR)
#define F4_SR_W1C (F4_SR_EOP | F4_SR_ERRORS)

#define F4_CR_PG (1u << 0)
#define F4_CR_SER (1u << 1)
#define F4_CR_MER (1u << 2)
#define F4_CR_SNB_SHIFT 3 /* SNB 7:3; bit 7 (SNB 16..27) selects bank 2 on 2 MiB parts */
#define F4_CR_PSIZE_SHIFT 8
#define F4_CR_MER1 (1u << 15)
#define F4_CR_STRT (1u << 16)
#define F4_CR_EOPIE (1u << 24)
#define F4_CR_ERRIE (1u << 25)
#define F4_CR_LOCK (1u << 31)

#define F4_OPTCR_OPTLOCK (1u << 0)
#define F4_OPTCR_OPTSTRT (1u << 1)
#define F4_OPTCR_WDG_SW (1u << 5)
#define F4_OPTCR_RDP_SHIFT 8
#define F4_OPTCR_NWRP_SHIFT 16        /* nWRPi at bit 16 + i, 0 = sector i protected */
#define F4_OPTCR_SPRMOD (1u << 31)    /* 1: the nWRP bits select PCROP, 1 = protected */
#define F4_OPTCR_DB1M (1u << 30)      /* 1 MiB F42x/F43x/F469/F479: two banks of 512 KiB
                                       * (RM0090 §3.4 Table 9, §3.9.10) */
#define F4_OPTCR_NWRP12_14 0x70000000u /* F413/F423: nWRP12..14 (sectors 12, 13, 14+15) */
#define F4_OPTCR_RESET 0x0FFFAAEDu    /* factory value (RM0368 §3.8.6) */
#define F4_OPTCR1_RESET 0x0FFF0000u   /* RM0090 §3.9.8 */
#define F4_OPTCR_WRITABLE 0x0FFFFFECu /* BOR_LEV, USER, RDP, nWRP */
#define F4_OPTCR1_WRITABLE 0x0FFF0000u

/* ---- other peripherals the loader and the simulated chip use ---- */
#define F4_IWDG_BASE 0x40003000u
#define F4_IWDG_KEY_RELOAD 0xAAAAu
#define F4_CRC_BASE 0x40023000u /* DR +0, IDR +4, CR +8 (RESET bit 0) */
#define F4_RCC_BASE 0x40023800u
#define F4_RCC_CR 0x00u /* offsets from F4_RCC_BASE */
#define F4_RCC_PLLCFGR 0x04u
#define F4_RCC_CFGR 0x08u
#define F4_RCC_AHB1ENR 0x30u
#define F4_RCC_AHB1ENR_CRCEN (1u << 12)
#define F4_RCC_CR_PLLON (1u << 24)
#define F4_RCC_CR_PLLRDY (1u << 25)

/* ---- oflash's own loader (src/targets/stm32f4/loader/): the protocol ----
 *
 * Init(adr, clk, fnc, R3): R3 = F4_INIT_MAGIC | psize (0 x8, 1 x16, 2 x32,
 * 3 x64 with external Vpp), optionally | F4_INIT_KEEP_CLOCK; anything
 * without the magic in bits 31..8 keeps x32 and raises the clock.  The
 * reference manual's voltage-range table: 1.8-2.1 V x8, 2.1-2.7 V x16,
 * 2.7-3.6 V x32, 2.7-3.6 V with external Vpp x64.  OTP lock bytes are
 * always programmed x8, one byte at a time.
 *
 * Results (0 = OK): the FLASH_SR error bits that were set, or F4_E*.
 */
#define F4_INIT_MAGIC 0x4F463400u /* 'O' 'F' '4' in bits 31..8 of Init's R3 */
#define F4_INIT_PSIZE(p) (F4_INIT_MAGIC | ((uint32_t)(p)&3u))
#define F4_INIT_KEEP_CLOCK 0x4u /* with the magic: leave the core clock alone */

#define F4_EADDR 0x1001u    /* address outside main flash, OTP and lock bytes */
#define F4_EALIGN 0x1002u   /* address or size not aligned to the PSIZE unit */
#define F4_ETIMEOUT 0x1003u /* BSY did not clear within the loop bound */
#define F4_ELOCKED 0x1004u  /* FLASH_CR stayed locked after the key sequence */
#define F4_ENOERASE 0x1005u /* erase requested outside main flash (OTP) */

#endif
