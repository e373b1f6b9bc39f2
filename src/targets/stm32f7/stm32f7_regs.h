/*
 * stm32f7_regs.h - STM32F74x/F75x and STM32F76x/F77x: flash interface
 * registers, memory map, ID registers and the host<->loader protocol of
 * oflash's "stm32f7" loader.  One header for the loader (freestanding,
 * <stdint.h> only), the simulated chip and the host; plain constants, no
 * accessors.
 *
 * Sources (facts only):
 *  - RM0385 rev 8 (STM32F75xxx/F74xxx) §3 "Embedded flash memory (FLASH)":
 *    §3.3.1 Table 3 flash organization (4 x 32 KB, 1 x 128 KB, 3 x 256 KB
 *    from 0x08000000 on the AXIM interface, 0x00200000 on ITCM), §3.3.8 OTP
 *    (16 blocks x 64 bytes at 0x1FF0F000, lock bytes 0x1FF0F400..0x1FF0F40F,
 *    LOCKBi = 0x00 locks block i), §3.4 option bytes (0x1FFF0000), §3.7
 *    FLASH registers (ACR 0x00, KEYR 0x04, OPTKEYR 0x08, SR 0x0C, CR 0x10,
 *    OPTCR 0x14, OPTCR1 0x18), §40.1 unique ID 0x1FF0F420, §40.2 flash
 *    size 0x1FF0F442 (u16 KiB), §40.6.1 DBGMCU_IDCODE DEV_ID 0x449.
 *  - RM0410 rev 4 (STM32F76xxx/F77xxx) §3: single bank (OPTCR.nDBANK = 1,
 *    the factory setting) 4 x 32 KB, 1 x 128 KB, 7 x 256 KB (2 MB parts;
 *    1 MB parts stop after 3 x 256 KB); dual bank (nDBANK = 0) two banks of
 *    4 x 16 KB, 1 x 64 KB, 7 x 128 KB (2 MB; bank 2 at 0x08100000) or
 *    3 x 128 KB (1 MB; bank 2 at 0x08080000), bank 2 sectors numbered
 *    12..23 and written to FLASH_CR.SNB as 16..27 (SNB bit 4 = bank 2);
 *    CR.MER (bit 2) erases bank 1 in dual bank mode and everything in
 *    single bank mode, CR.MER2 (bit 15) bank 2; OPTCR nWRP[11:0] at bits
 *    16..27, nDBOOT bit 28, nDBANK bit 29; DEV_ID 0x451.  In dual bank
 *    mode one nWRPi bit protects sectors 2i and 2i+1.
 *  - Both: FLASH_SR EOP 0, OPERR 1, WRPERR 4, PGAERR 5, PGPERR 6, ERSERR 7
 *    (the F4's PGSERR bit and meaning: a write while CR is not set up for
 *    it), BSY 16; no RDERR (bit 8) on these lines.  FLASH_CR PG 0, SER 1,
 *    MER 2, SNB 3..6 (F74x) / 3..7 (F76x), PSIZE 8..9, STRT 16, EOPIE 24,
 *    ERRIE 25, LOCK 31.  FLASH_OPTCR OPTLOCK 0, OPTSTRT 1, BOR_LEV 2..3,
 *    WWDG_SW 4, IWDG_SW 5, nRST_STOP 6, nRST_STDBY 7, RDP 8..15, nWRP
 *    16..23 (F74x, 8 sectors), IWDG_STDBY 30, IWDG_STOP 31.  FLASH_OPTCR1
 *    BOOT_ADD0 15..0, BOOT_ADD1 31..16 (boot address bits 29..14; reset
 *    0x0080 = 0x00200000, flash on ITCM, and 0x0040 = 0x00100000, system
 *    memory on ITCM).  Keys as on the F4: 0x45670123/0xCDEF89AB,
 *    0x08192A3B/0x4C5D6E7F.
 *  - Cross-checked against OpenOCD's stm32f2x.c comments (sector layouts,
 *    OTP 16 x 64 bytes, DEV_IDs, flash size register) and ST's CMSIS
 *    device headers (bit positions).  No code is taken from either.
 */
#ifndef OFLASH_STM32F7_REGS_H
#define OFLASH_STM32F7_REGS_H

#include <stdint.h>

/* ---- memory map ---- */
#define F7_MAIN_BASE 0x08000000u       /* flash on AXIM */
#define F7_ITCM_FLASH_BASE 0x00200000u /* the same flash on ITCM (boot default) */
#define F7_ITCM_RAM_BASE 0x00000000u
#define F7_ITCM_RAM_SIZE 0x4000u
#define F7_SRAM_BASE 0x20000000u   /* DTCM, then SRAM1, SRAM2: contiguous */
#define F7_SRAM_SIZE_F74X 0x50000u /* 64 + 240 + 16 KB */
#define F7_SRAM_SIZE_F76X 0x80000u /* 128 + 368 + 16 KB */
#define F7_SYSMEM_BASE 0x1FF00000u /* system memory on AXIM */
#define F7_SYSMEM_SIZE 0xEDC0u
#define F7_OTP_BASE 0x1FF0F000u
#define F7_OTP_BLOCK_SIZE 64u
#define F7_OTP_BLOCKS 16u
#define F7_OTP_SIZE (F7_OTP_BLOCK_SIZE * F7_OTP_BLOCKS) /* 1024 */
#define F7_OTP_END (F7_OTP_BASE + F7_OTP_SIZE)
#define F7_LOCK_BASE 0x1FF0F400u
#define F7_LOCK_SIZE 16u
#define F7_LOCK_END (F7_LOCK_BASE + F7_LOCK_SIZE)
#define F7_UID_ADDR 0x1FF0F420u   /* 96-bit unique ID */
#define F7_FSIZE_ADDR 0x1FF0F442u /* u16, flash size in KiB */
#define F7_INFO_BASE 0x1FF0F000u  /* OTP, lock bytes, UID, flash size: one page */
#define F7_INFO_SIZE 0x1000u
#define F7_OPT_BASE 0x1FFF0000u /* option bytes as stored */
#define F7_OPT_SIZE 0x20u
#define F7_BANK2_OFFSET_2M 0x100000u /* dual bank, 2 MB parts */
#define F7_BANK2_OFFSET_1M 0x80000u  /* dual bank, 1 MB parts */

/* ---- peripherals (same addresses as the F4) ---- */
#define F7_FLASHIF_BASE 0x40023C00u
#define F7_RCC_BASE 0x40023800u
#define F7_CRC_BASE 0x40023000u
#define F7_IWDG_BASE 0x40003000u
#define F7_IWDG_KEY_RELOAD 0xAAAAu
/* RCC: the F4's registers and bits (RM0385 §5.3) */
#define F7_RCC_CR 0x00u /* offsets from F7_RCC_BASE */
#define F7_RCC_PLLCFGR 0x04u
#define F7_RCC_CFGR 0x08u
#define F7_RCC_AHB1ENR 0x30u
#define F7_RCC_AHB1ENR_CRCEN (1u << 12)
#define F7_RCC_CR_PLLON (1u << 24)
#define F7_RCC_CR_PLLRDY (1u << 25)
#define F7_DBGMCU_IDCODE 0xE0042000u
#define F7_DEV_ID_F74X 0x449u     /* STM32F74x/F75x */
#define F7_DEV_ID_F76X 0x451u     /* STM32F76x/F77x */
#define F7_CPUID_F74X 0x410FC271u /* Cortex-M7 r0p1 */
#define F7_CPUID_F76X 0x411FC270u /* Cortex-M7 r1p0 */

/* ---- flash interface registers (offsets from F7_FLASHIF_BASE) ---- */
#define F7_FLASH_ACR 0x00u
#define F7_FLASH_KEYR 0x04u
#define F7_FLASH_OPTKEYR 0x08u
#define F7_FLASH_SR 0x0Cu
#define F7_FLASH_CR 0x10u
#define F7_FLASH_OPTCR 0x14u
#define F7_FLASH_OPTCR1 0x18u

#define F7_FLASH_KEY1 0x45670123u
#define F7_FLASH_KEY2 0xCDEF89ABu
#define F7_FLASH_OPTKEY1 0x08192A3Bu
#define F7_FLASH_OPTKEY2 0x4C5D6E7Fu

#define F7_SR_EOP (1u << 0)
#define F7_SR_OPERR (1u << 1)
#define F7_SR_WRPERR (1u << 4)
#define F7_SR_PGAERR (1u << 5)
#define F7_SR_PGPERR (1u << 6)
#define F7_SR_ERSERR (1u << 7)
#define F7_SR_BSY (1u << 16)
#define F7_SR_ERRORS (F7_SR_OPERR | F7_SR_WRPERR | F7_SR_PGAERR | F7_SR_PGPERR | F7_SR_ERSERR)
#define F7_SR_W1C (F7_SR_EOP | F7_SR_ERRORS)

#define F7_CR_PG (1u << 0)
#define F7_CR_SER (1u << 1)
#define F7_CR_MER (1u << 2) /* F76x: MER1 in dual bank mode */
#define F7_CR_SNB_SHIFT 3
#define F7_CR_SNB_MASK_F74X (0x0Fu << F7_CR_SNB_SHIFT)
#define F7_CR_SNB_MASK_F76X (0x1Fu << F7_CR_SNB_SHIFT)
#define F7_CR_PSIZE_SHIFT 8
#define F7_CR_PSIZE_MASK (3u << F7_CR_PSIZE_SHIFT)
#define F7_CR_MER2 (1u << 15) /* F76x dual bank: bank 2 */
#define F7_CR_STRT (1u << 16)
#define F7_CR_EOPIE (1u << 24)
#define F7_CR_ERRIE (1u << 25)
#define F7_CR_LOCK (1u << 31)
#define F7_SNB_BANK2 16u /* SNB value of bank 2's first sector */

#define F7_OPTCR_OPTLOCK (1u << 0)
#define F7_OPTCR_OPTSTRT (1u << 1)
#define F7_OPTCR_IWDG_SW (1u << 5)
#define F7_OPTCR_RDP_SHIFT 8
#define F7_OPTCR_NWRP_SHIFT 16
#define F7_OPTCR_NDBOOT (1u << 28) /* F76x */
#define F7_OPTCR_NDBANK (1u << 29) /* F76x: 1 single bank, 0 dual bank */
/* Factory values (RM0385 §3.7.6, RM0410 §3.7.6): RDP 0xAA, nWRP all 1,
 * BOR off, watchdogs software, no reset on stop/standby; F76x also
 * nDBOOT = nDBANK = 1.  OPTLOCK reads 1 after reset. */
#define F7_OPTCR_RESET_F74X 0xC0FFAAFDu
#define F7_OPTCR_RESET_F76X 0xFFFFAAFDu
#define F7_OPTCR_WRITABLE_F74X 0xC0FFFFFCu
#define F7_OPTCR_WRITABLE_F76X 0xFFFFFFFCu
#define F7_OPTCR1_RESET 0x00400080u /* BOOT_ADD1 0x0040, BOOT_ADD0 0x0080 */

/* ---- oflash's stm32f7 loader: host <-> loader protocol ----
 * Init(adr, clk, fnc, R3): R3 = F7_INIT_MAGIC | [F7_INIT_KEEP_CLOCK] |
 * psize (0 x8, 1 x16, 2 x32, 3 x64); anything without the magic in bits
 * 31..8 keeps x32 and raises the clock (hosts other than oflash leave R3
 * undefined). */
#define F7_INIT_MAGIC 0x4F463700u /* 'O' 'F' '7' */
#define F7_INIT_KEEP_CLOCK 0x4u
#define F7_INIT_ARG(psize) (F7_INIT_MAGIC | ((uint32_t)(psize)&3u))

/* Result codes: 0 = OK; the FLASH_SR error bits that were set (above), or
 * one of these (0x1000 and up). */
#define F7_EADDR 0x1001u    /* address/range outside main flash, OTP, lock bytes */
#define F7_EALIGN 0x1002u   /* address or size not aligned to the PSIZE unit */
#define F7_ETIMEOUT 0x1003u /* BSY did not clear within the loop bound */
#define F7_ELOCKED 0x1004u  /* FLASH_CR stayed locked after the key sequence */
#define F7_ENOERASE 0x1005u /* erase requested outside main flash (OTP) */

#endif
