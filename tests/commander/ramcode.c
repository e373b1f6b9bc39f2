/*
 * ramcode.c - the RAMCode of the seed's workaround (a): a routine loaded
 * into RAM with its data, started by setting PC and SP, ending at a label
 * where the debugger has a breakpoint.  It programs the OTP bytes described
 * by the job at 0x20001000 through the flash interface registers
 * (RM0368 3.5: unlock with KEYR, PG with PSIZE x8, wait for BSY), and stores
 * FLASH_SR at 0x20001800 as the result.
 */
#include <stdint.h>

#define FLASH_KEYR (*(volatile uint32_t *)0x40023C04u)
#define FLASH_SR (*(volatile uint32_t *)0x40023C0Cu)
#define FLASH_CR (*(volatile uint32_t *)0x40023C10u)

struct job {
    uint32_t dst;
    uint32_t len;
    uint8_t data[];
};

__attribute__((section(".entry"), noreturn)) void ramcode(void)
{
    const struct job *j = (const struct job *)0x20001000u;
    FLASH_KEYR = 0x45670123u;
    FLASH_KEYR = 0xCDEF89ABu;
    FLASH_SR = 0xF3u; /* clear old error flags */
    FLASH_CR = 1u;    /* PG, PSIZE x8 */
    for (uint32_t i = 0; i < j->len; i++) {
        *(volatile uint8_t *)(j->dst + i) = j->data[i];
        while (FLASH_SR & (1u << 16)) {
        }
    }
    FLASH_CR = 0x80000000u; /* LOCK */
    *(volatile uint32_t *)0x20001800u = FLASH_SR;
    __asm volatile(".global ram_end\nram_end: b ram_end");
    __builtin_unreachable();
}
