/* l4_wrp.c - RAM code for the simulated STM32L476xG: write-protect pages
 * r0..r1 of bank 1 through the option bytes (RM0351 rev 9 §3.4.2: unlock
 * FLASH_CR, then the option bytes, write FLASH_WRP1AR, OPTSTRT, wait for
 * BSY), or with r0 >
 * r1 remove the protection.  Ends on a BKPT; r0 = FLASH_SR.  The new
 * option bytes govern protection from the next reset (the simulated chip
 * resets when a command connects; on silicon OBL_LAUNCH or a power cycle). */
#include <stdint.h>

#define FLASH(off) (*(volatile uint32_t *)(0x40022000u + (off)))

__attribute__((naked, section(".entry"))) void entry(void)
{
    __asm__ volatile("bl wrp\n bkpt #0\n");
}

uint32_t wrp(uint32_t first, uint32_t last)
{
    FLASH(0x08) = 0x45670123u; /* KEYR */
    FLASH(0x08) = 0xCDEF89ABu;
    FLASH(0x0C) = 0x08192A3Bu; /* OPTKEYR */
    FLASH(0x0C) = 0x4C5D6E7Fu;
    FLASH(0x2C) = (first & 0xFFu) | ((last & 0xFFu) << 16); /* WRP1AR */
    FLASH(0x14) |= 1u << 17;                                /* OPTSTRT */
    while (FLASH(0x10) & (1u << 16))
        ;
    return FLASH(0x10);
}
