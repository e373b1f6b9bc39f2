/* firmware.c - the demo firmware: a vector table and a main loop in flash
 * that reads the unit's serial number from OTP block 0, the serial number
 * itself (section .otp, placed at 0x1FFF7800 by firmware.ld), and 0x00 in
 * the lock byte of block 0 (section .otp_lock) so the serial can never
 * change.  One ELF (or the HEX made from it) carries all three. */
#include <stdint.h>

#ifndef SERIAL
#define SERIAL "SN-2026-000042"
#endif

void reset_handler(void);

__attribute__((section(".isr_vector"), used)) static const uint32_t vectors[2] = {
    0x20018000u, (uint32_t)reset_handler};

/* The serial number, 32 bytes: one OTP block. */
__attribute__((section(".otp"), used)) static const char serial[32] = SERIAL;
/* 0x00 locks OTP block 0 (RM0368 §3.7: only 0x00 and 0xFF are allowed). */
__attribute__((section(".otp_lock"), used)) static const uint8_t lock_block0 = 0x00;

volatile uint32_t checksum;

void reset_handler(void)
{
    const volatile char *otp = (const volatile char *)0x1FFF7800u;
    for (;;) {
        uint32_t c = 0;
        for (int i = 0; i < 32; i++)
            c = c * 31u + (uint8_t)otp[i];
        checksum = c;
    }
}
