@ f2x_guard.S - code on the core of a simulated STM32F2/F4/F7 that tries
@ what a guarded session forbids (tests/lib/chip.sh: f2x_guard_code): unlock
@ FLASH_CR, program the OTP word at OTP_WORD (x32), then unlock the option
@ bytes and write-protect sector 7 (nWRP7 = 0, OPTSTRT).  Results on the
@ BKPT: r0 and r1 the FLASH_SR after each (WRPERR 0x10 when refused), r2
@ FLASH_OPTCR after.  RM0090 rev 19 §3.6-3.8, RM0385 rev 8 §3.3-3.4.
    .syntax unified
    .thumb
    .global _start
_start:
    ldr  r4, =0x40023C00
    ldr  r7, =0x10000        @ FLASH_SR.BSY
    ldr  r5, =0x45670123
    str  r5, [r4, #4]        @ FLASH_KEYR
    ldr  r5, =0xCDEF89AB
    str  r5, [r4, #4]
    ldr  r5, =0x201          @ FLASH_CR: PG, PSIZE x32
    str  r5, [r4, #0x10]
    ldr  r6, =OTP_WORD       @ an OTP word (F401: block 2)
    ldr  r5, =0x12345678
    str  r5, [r6]
1:  ldr  r0, [r4, #0x0C]
    tst  r0, r7
    bne  1b
    str  r0, [r4, #0x0C]     @ clear the error bits
    movs r5, #0
    str  r5, [r4, #0x10]
    ldr  r5, =0x08192A3B
    str  r5, [r4, #8]        @ FLASH_OPTKEYR
    ldr  r5, =0x4C5D6E7F
    str  r5, [r4, #8]
    ldr  r5, [r4, #0x14]
    bic  r5, r5, #0x800000   @ nWRP7 = 0
    orr  r5, r5, #2          @ OPTSTRT
    str  r5, [r4, #0x14]
2:  ldr  r1, [r4, #0x0C]
    tst  r1, r7
    bne  2b
    ldr  r2, [r4, #0x14]
    bkpt #1
