/*
 * stm32l4_regs.h - STM32L47x/L48x flash interface, memory map and ID
 * registers: ONE description shared by the flash loader (target code,
 * freestanding), the simulated chip's model and host-side code.
 *
 * Facts from RM0351 rev 9 (STM32L47xxx/48xxx/49xxx/4Axxx reference manual):
 *  - §3.3.1 flash memory organization: 1 MB parts are dual bank, bank 1 at
 *    0x08000000 and bank 2 at 0x08080000, 256 pages of 2 KB each; the
 *    information block holds system memory, the 1 KB OTP area at
 *    0x1FFF7000 and the option bytes (bank 1 0x1FFF7800, bank 2 0x1FFFF800);
 *  - §3.3.3 ECC: 8 ECC bits per 64-bit double word; ECCR reports a
 *    corrected (ECCC) or detected two-bit (ECCD) error with its address;
 *  - §3.3.6 erase: PER + PNB (+ BKER for bank 2) + STRT; MER1/MER2 + STRT;
 *  - §3.3.7 programming: 72 bits at a time (64 data + 8 ECC); PG set, then
 *    a first 32-bit word at a double-word aligned address and the second
 *    word next to it; a double word that is not all ones can only be
 *    programmed with all zeros (else PROGERR); fast programming (FSTPG):
 *    a row of 32 double words (256 bytes) written in a row after a mass
 *    erase of the bank (else PGSERR), MISERR when a double word arrives
 *    late; "check and clear all error flags due to a previous programming.
 *    If not, PGSERR is set";
 *  - §3.4 option bytes: FLASH_OPTR (RDP, BOR_LEV, nRST_*, IWDG_SW, ...,
 *    BFB2, DUALBANK, nBOOT1, SRAM2_*), PCROP1SR/ER, WRP1AR/BR (bank 1),
 *    PCROP2SR/ER, WRP2AR/BR (bank 2); written through OPTKEYR + OPTSTRT,
 *    loaded into the registers at OBL_LAUNCH or power-on reset;
 *  - §3.5.1 RDP: 0xAA level 0, 0xCC level 2, anything else level 1;
 *    level 1 -> 0 mass-erases main flash;
 *  - §3.5.3 WRP: per bank two areas [STRT, END] in pages of that bank; an
 *    area with STRT > END protects nothing;
 *  - §3.7 FLASH registers at 0x40022000 (offsets and bits below);
 *  - OTP (§3.3.1): 128 double words, never erased; a double word that has
 *    a single bit at 0 cannot be written again, not even with zeros (the
 *    "write once per double word" rule, no lock bytes);
 *  - §53.1 96-bit unique ID at 0x1FFF7590, §53.2 flash size (KB, u16) at
 *    0x1FFF75E0; DBGMCU_IDCODE at 0xE0042000, DEV_ID 0x415 for
 *    STM32L47x/L48x (§48.6.1).
 * Other addresses: RCC 0x40021000 (AHB1ENR +0x48, CRCEN bit 12), CRC unit
 * 0x40023000 (DR +0, CR +8, INIT +0x10, POLY +0x14), IWDG 0x40003000.
 *
 * Only macros of plain integer constants: usable in target code built with
 * -ffreestanding -nostdlib and in host code alike.
 */
#ifndef OFLASH_TARGETS_STM32L4_REGS_H
#define OFLASH_TARGETS_STM32L4_REGS_H

/* ---- memory map ---- */
#define L4_FLASH_BASE 0x08000000u
#define L4_BANK_SIZE_1M 0x80000u /* bank 2 starts here on 1 MB parts */
#define L4_PAGE_SIZE 2048u
#define L4_PAGES_PER_BANK 256u
#define L4_DWORD 8u      /* program unit: 64 bits (+8 ECC bits) */
#define L4_ROW_SIZE 256u /* fast programming: 32 double words */
#define L4_SRAM1_BASE 0x20000000u
#define L4_SRAM2_BASE 0x10000000u
#define L4_SYSMEM_BASE 0x1FFF0000u
#define L4_SYSMEM_SIZE 0x7000u /* bank 1 system memory, 28 KB */
#define L4_OTP_BASE 0x1FFF7000u
#define L4_OTP_SIZE 0x400u /* 1 KB = 128 double words */
#define L4_UID_ADDR 0x1FFF7590u
#define L4_FSIZE_ADDR 0x1FFF75E0u
#define L4_OPT1_BASE 0x1FFF7800u /* option bytes, bank 1 */
#define L4_OPT2_BASE 0x1FFFF800u /* option bytes, bank 2 */
#define L4_OPT_SIZE 0x28u

/* Offsets inside an option-byte page: each option word is stored with its
 * complement in the next word (a double word per option register). */
#define L4_OB_OPTR 0x00u /* bank 1 page only */
#define L4_OB_PCROPSR 0x08u
#define L4_OB_PCROPER 0x10u
#define L4_OB_WRPAR 0x18u
#define L4_OB_WRPBR 0x20u

/* ---- FLASH registers (§3.7) ---- */
#define L4_FLASH_REGS 0x40022000u
#define L4_FLASH_ACR 0x00u
#define L4_FLASH_PDKEYR 0x04u
#define L4_FLASH_KEYR 0x08u
#define L4_FLASH_OPTKEYR 0x0Cu
#define L4_FLASH_SR 0x10u
#define L4_FLASH_CR 0x14u
#define L4_FLASH_ECCR 0x18u
#define L4_FLASH_OPTR 0x20u
#define L4_FLASH_PCROP1SR 0x24u
#define L4_FLASH_PCROP1ER 0x28u
#define L4_FLASH_WRP1AR 0x2Cu
#define L4_FLASH_WRP1BR 0x30u
#define L4_FLASH_PCROP2SR 0x44u
#define L4_FLASH_PCROP2ER 0x48u
#define L4_FLASH_WRP2AR 0x4Cu
#define L4_FLASH_WRP2BR 0x50u

#define L4_FLASH_KEY1 0x45670123u
#define L4_FLASH_KEY2 0xCDEF89ABu
#define L4_FLASH_OPTKEY1 0x08192A3Bu
#define L4_FLASH_OPTKEY2 0x4C5D6E7Fu
#define L4_FLASH_PDKEY1 0x04152637u
#define L4_FLASH_PDKEY2 0xFAFBFCFDu

/* ACR */
#define L4_ACR_LATENCY_MASK 0x7u
#define L4_ACR_PRFTEN (1u << 8)
#define L4_ACR_ICEN (1u << 9)
#define L4_ACR_DCEN (1u << 10)
#define L4_ACR_ICRST (1u << 11)
#define L4_ACR_DCRST (1u << 12)
#define L4_ACR_RUN_PD (1u << 13)
#define L4_ACR_SLEEP_PD (1u << 14)

/* SR: error bits and EOP are cleared by writing 1 */
#define L4_SR_EOP (1u << 0)
#define L4_SR_OPERR (1u << 1)
#define L4_SR_PROGERR (1u << 3)
#define L4_SR_WRPERR (1u << 4)
#define L4_SR_PGAERR (1u << 5)
#define L4_SR_SIZERR (1u << 6)
#define L4_SR_PGSERR (1u << 7)
#define L4_SR_MISERR (1u << 8)
#define L4_SR_FASTERR (1u << 9)
#define L4_SR_RDERR (1u << 14)
#define L4_SR_OPTVERR (1u << 15)
#define L4_SR_BSY (1u << 16)
/* The programming errors that make the next program a sequence error. */
#define L4_SR_PROG_ERRORS                                                                          \
    (L4_SR_PROGERR | L4_SR_WRPERR | L4_SR_PGAERR | L4_SR_SIZERR | L4_SR_PGSERR | L4_SR_MISERR |    \
     L4_SR_FASTERR)
#define L4_SR_ERRORS (L4_SR_OPERR | L4_SR_PROG_ERRORS | L4_SR_RDERR | L4_SR_OPTVERR)
#define L4_SR_W1C (L4_SR_EOP | L4_SR_ERRORS)

/* CR */
#define L4_CR_PG (1u << 0)
#define L4_CR_PER (1u << 1)
#define L4_CR_MER1 (1u << 2)
#define L4_CR_PNB_SHIFT 3
#define L4_CR_PNB_MASK (0xFFu << 3)
#define L4_CR_BKER (1u << 11)
#define L4_CR_MER2 (1u << 15)
#define L4_CR_STRT (1u << 16)
#define L4_CR_OPTSTRT (1u << 17)
#define L4_CR_FSTPG (1u << 18)
#define L4_CR_EOPIE (1u << 24)
#define L4_CR_ERRIE (1u << 25)
#define L4_CR_RDERRIE (1u << 26)
#define L4_CR_OBL_LAUNCH (1u << 27)
#define L4_CR_OPTLOCK (1u << 30)
#define L4_CR_LOCK (1u << 31)

/* ECCR */
#define L4_ECCR_ADDR_MASK 0x7FFFFu /* byte offset inside the bank */
#define L4_ECCR_BK_ECC (1u << 19)
#define L4_ECCR_SYSF_ECC (1u << 20)
#define L4_ECCR_ECCIE (1u << 24)
#define L4_ECCR_ECCC (1u << 30)
#define L4_ECCR_ECCD (1u << 31)

/* OPTR */
#define L4_OPTR_RDP_MASK 0xFFu
#define L4_OPTR_BOR_LEV_SHIFT 8
#define L4_OPTR_nRST_STOP (1u << 12)
#define L4_OPTR_nRST_STDBY (1u << 13)
#define L4_OPTR_nRST_SHDW (1u << 14)
#define L4_OPTR_IWDG_SW (1u << 16)
#define L4_OPTR_IWDG_STOP (1u << 17)
#define L4_OPTR_IWDG_STDBY (1u << 18)
#define L4_OPTR_WWDG_SW (1u << 19)
#define L4_OPTR_BFB2 (1u << 20)
#define L4_OPTR_DUALBANK (1u << 21)
#define L4_OPTR_nBOOT1 (1u << 23)
#define L4_OPTR_SRAM2_PE (1u << 24)
#define L4_OPTR_SRAM2_RST (1u << 25)
/* Factory value of an STM32L476xG: RDP level 0 (0xAA), BOR level 0, no
 * reset on low-power entry, software watchdogs, boot from bank 1, dual
 * bank, SRAM2 parity off and erased on reset. */
#define L4_OPTR_FACTORY 0xFFEFF8AAu
#define L4_RDP_LEVEL0 0xAAu
#define L4_RDP_LEVEL2 0xCCu

/* WRPxAR / WRPxBR: STRT bits 7..0, END bits 23..16 (pages of the bank). */
#define L4_WRP_STRT_MASK 0xFFu
#define L4_WRP_END_SHIFT 16
#define L4_WRP_END_MASK (0xFFu << 16)
#define L4_WRP_FACTORY 0xFF00FFFFu /* STRT 0xFF > END 0x00: no protection */
#define L4_PCROPSR_FACTORY 0xFFFFFFFFu
#define L4_PCROPER_FACTORY 0x00000000u

/* ---- other peripherals the loader and the simulator use ---- */
#define L4_RCC_BASE 0x40021000u
#define L4_RCC_CR 0x00u
#define L4_RCC_CFGR 0x08u
#define L4_RCC_AHB1ENR 0x48u
#define L4_RCC_AHB1ENR_CRCEN (1u << 12)
#define L4_RCC_AHB1ENR_FLASHEN (1u << 8)
#define L4_RCC_CR_MSION (1u << 0)
#define L4_RCC_CR_MSIRDY (1u << 1)
#define L4_RCC_CR_MSIRANGE_SHIFT 4 /* reset 6 = 4 MHz */
#define L4_RCC_CR_HSION (1u << 8)
#define L4_RCC_CR_HSIRDY (1u << 10)
#define L4_RCC_CR_PLLON (1u << 24)
#define L4_RCC_CR_PLLRDY (1u << 25)
#define L4_RCC_CR_RESET 0x00000063u /* MSION, MSIRDY, MSIRANGE 6 */
#define L4_RCC_CFGR_SW_MASK 0x3u    /* 00 MSI, 01 HSI16, 10 HSE, 11 PLL */
#define L4_RCC_CFGR_SW_HSI 0x1u
#define L4_RCC_CFGR_SWS_SHIFT 2
#define L4_RCC_CFGR_SWS_MASK (0x3u << 2)
#define L4_RCC_CFGR_HPRE_MASK (0xFu << 4)
#define L4_MSI_RESET_HZ 4000000u
#define L4_HSI_HZ 16000000u
#define L4_CRC_BASE 0x40023000u
#define L4_CRC_DR 0x00u
#define L4_CRC_IDR 0x04u
#define L4_CRC_CR 0x08u
#define L4_CRC_INIT 0x10u
#define L4_CRC_POLY 0x14u
#define L4_CRC_CR_RESET (1u << 0)
#define L4_CRC_CR_POLYSIZE_MASK (3u << 3)
#define L4_CRC_CR_REV_IN_MASK (3u << 5)
#define L4_CRC_CR_REV_OUT (1u << 7)
#define L4_CRC_POLY_DEFAULT 0x04C11DB7u
#define L4_IWDG_BASE 0x40003000u
#define L4_IWDG_KEY_RELOAD 0xAAAAu
#define L4_DBGMCU_IDCODE 0xE0042000u
#define L4_DEV_ID 0x415u /* STM32L47x/L48x */

/* ---- the host <-> loader protocol of oflash's stm32l4 loader ---- */
/* Result codes above the FLASH_SR bits (0 = OK). */
/* Result codes: 0 = OK, else the FLASH_SR error bits that were set (all
 * below bit 16), or one of these (bit 20 set, never an SR bit). */
#define L4_LOADER_EBASE 0x100000u
#define L4_LOADER_EADDR 0x100001u    /* address outside main flash and OTP */
#define L4_LOADER_EALIGN 0x100002u   /* address or size not whole double words */
#define L4_LOADER_ETIMEOUT 0x100003u /* BSY never cleared */
#define L4_LOADER_ELOCKED 0x100004u  /* FLASH_CR stayed locked after the keys */
#define L4_LOADER_ENOERASE 0x100005u /* erase outside main flash (OTP is never erased) */
#define L4_LOADER_EWRITTEN 0x100006u /* OTP double word already written with other data */

#endif
