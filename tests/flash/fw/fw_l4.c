/* fw_l4.c - test firmware for an STM32L476xG: a vector table, a loop,
 * BIGDATA_KB KiB of constant data (several 2 KiB pages), and a serial
 * number of SERIAL_LEN bytes at the start of the OTP area (16: two whole
 * 64-bit double words; 12: one and a half, which oflash must refuse). */
#include <stdint.h>

#ifndef SERIAL
#define SERIAL "SN-0000000001234"
#endif
#ifndef SERIAL_LEN
#define SERIAL_LEN 16
#endif
#ifndef VERSION
#define VERSION 1
#endif
#ifndef BIGDATA_KB
#define BIGDATA_KB 9
#endif

void reset_handler(void);

__attribute__((section(".isr_vector"), used)) static const uint32_t vectors[2] = {
    0x20018000u, (uint32_t)reset_handler};

#define B(i) (uint8_t)((i) * 37u + ((i) >> 8) + VERSION)
#define B4(i) B(i), B(i + 1), B(i + 2), B(i + 3)
#define B16(i) B4(i), B4(i + 4), B4(i + 8), B4(i + 12)
#define B64(i) B16(i), B16(i + 16), B16(i + 32), B16(i + 48)
#define B256(i) B64(i), B64(i + 64), B64(i + 128), B64(i + 192)
#define B1K(i) B256(i), B256(i + 256), B256(i + 512), B256(i + 768)
__attribute__((section(".bigdata"), used)) static const uint8_t bigdata[BIGDATA_KB][1024] = {
#define ROW(k) [k] = {B1K(k * 1024)}
    ROW(0), ROW(1), ROW(2), ROW(3), ROW(4), ROW(5), ROW(6), ROW(7), ROW(8),
};

__attribute__((section(".otp"), used)) static const char serial[SERIAL_LEN] = SERIAL;

volatile uint32_t counter = VERSION;

void reset_handler(void)
{
    for (;;)
        counter += bigdata[counter % BIGDATA_KB][counter % 1024];
}
