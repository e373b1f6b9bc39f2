/*
 * demo.c - the oflash demo firmware: a minimal STM32F401 program whose one
 * image holds code in main flash, a serial number in OTP block 0
 * (0x1FFF7800) and the lock byte of that block (0x1FFF7A00 = 0x00).
 *
 * It copies .data, clears .bss, then counts forever in `ticks` and keeps a
 * checksum of the serial number it reads back from OTP in `serial_sum`, so
 * a debugger (or the simulated chip) can see that the OTP data is there.
 * Build: see scripts/demo.sh (arm-none-eabi-gcc, stm32f401re.ld).
 */
#include <stdint.h>

/* The serial number; the demo passes -DSERIAL_NUMBER=42 -DSERIAL='"OFL-000042"'. */
#ifndef SERIAL_NUMBER
#define SERIAL_NUMBER 42
#endif
#ifndef SERIAL
#define SERIAL "OFL-000042"
#endif

/* OTP block 0: 32 bytes.  Written once at the factory, then locked. */
struct otp_serial {
    char magic[4];   /* "SN01" */
    uint32_t number; /* binary serial number */
    char text[24];   /* printable serial, NUL padded */
};

__attribute__((section(".otp"), used)) const struct otp_serial otp_block0 = {
    .magic = {'S', 'N', '0', '1'},
    .number = SERIAL_NUMBER,
    .text = SERIAL,
};

/* Lock byte of OTP block 0: 0x00 makes the block read-only (RM0368 3.7). */
__attribute__((section(".otp_lock"), used)) const uint8_t otp_lock0 = 0x00;

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;

volatile uint32_t ticks;          /* .bss */
volatile uint32_t serial_sum = 1; /* .data: initial value comes from flash */

int main(void)
{
    const volatile uint8_t *otp = (const volatile uint8_t *)&otp_block0;
    for (unsigned i = 0; i < sizeof otp_block0; i++)
        serial_sum = serial_sum * 31u + otp[i];
    for (;;)
        ticks++;
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    main();
}

static void Default_Handler(void)
{
    for (;;)
        ;
}

/* Cortex-M vector table: initial SP, then reset and the system exceptions. */
__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void)) & _estack,
    Reset_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    Default_Handler,
    0,
    0,
    0,
    0,
    Default_Handler,
    Default_Handler,
    0,
    Default_Handler,
    Default_Handler,
};
