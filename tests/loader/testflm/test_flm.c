/*
 * test_flm.c - a test flash loader (target code) for the FLM runtime's
 * tests: its "flash" is a RAM area (DevAdr 0x20010000, 32 KiB, 4 KiB
 * sectors, 256-byte pages, AND semantics like NOR flash), so it runs on any
 * Cortex-M with RAM there (QEMU netduinoplus2, the simulated chip).
 *
 * Special addresses make it misbehave on purpose:
 *   EraseSector(0xDEAD0000) never returns (timeout test);
 *   EraseSector(0xBAD00000) returns 0x55 (error reporting test).
 * Extra functions check the calling convention: Echo, GetR9, GetSP, GetLR,
 * Overflow (uses n bytes of stack), State (PrgData through R9).
 *
 * Variants (-D): WITH_SEGGER adds SEGGER_OPEN_Program/_Erase/_CalcCRC;
 * BAD_CRC makes SEGGER_OPEN_CalcCRC return a non-zlib value; FAULTY makes
 * ProgramPage of the second page load from an unmapped address (a bus
 * fault, escalated to HardFault) and of the third page execute an undefined
 * instruction.
 */
#include <stdint.h>

#define DEV_ADR 0x20010000u
#define DEV_SIZE 0x8000u
#define SECT 0x1000u
#define PAGE 256u

struct tstate {
    uint32_t magic;
    uint32_t inits;
    uint32_t fnc;
    uint32_t opt;
};
__attribute__((section(".data.static_base"), used)) struct tstate tstate = {0x5EED1234u, 0, 0, 0};

static inline struct tstate *st(void)
{
    struct tstate *s;
    __asm__("mov %0, r9" : "=r"(s));
    return s;
}

struct FlashDevice {
    uint16_t Vers;
    char DevName[128];
    uint16_t DevType;
    uint32_t DevAdr, szDev, szPage, Res;
    uint8_t valEmpty, pad[3];
    uint32_t toProg, toErase;
    uint32_t sectors[4];
};
__attribute__((section("DevDscr"), used)) const struct FlashDevice FlashDevice = {
    .Vers = 0x0101,
    .DevName = "oflash test loader (RAM as flash)",
    .DevType = 5,
    .DevAdr = DEV_ADR,
    .szDev = DEV_SIZE,
    .szPage = PAGE,
    .valEmpty = 0xFF,
    .toProg = 20,
    .toErase = 50,
    .sectors = {SECT, 0, 0xFFFFFFFFu, 0xFFFFFFFFu},
};

int Init(uint32_t adr, uint32_t clk, uint32_t fnc, uint32_t opt)
{
    (void)clk;
    if (adr != DEV_ADR) return 3;
    st()->inits++;
    st()->fnc = fnc;
    st()->opt = opt;
    return 0;
}

int UnInit(uint32_t fnc)
{
    return fnc == st()->fnc ? 0 : 4;
}

static int in_dev(uint32_t adr, uint32_t sz)
{
    return adr >= DEV_ADR && sz <= DEV_SIZE && adr - DEV_ADR <= DEV_SIZE - sz;
}

int EraseSector(uint32_t adr)
{
    if (adr == 0xDEAD0000u)
        for (;;)
            __asm__ volatile("");
    if (adr == 0xBAD00000u) return 0x55;
    if (!in_dev(adr, 1) || (adr & (SECT - 1))) return 1;
    for (uint32_t i = 0; i < SECT; i += 4)
        *(volatile uint32_t *)(adr + i) = 0xFFFFFFFFu;
    return 0;
}

int EraseChip(void)
{
    for (uint32_t a = DEV_ADR; a < DEV_ADR + DEV_SIZE; a += SECT)
        EraseSector(a);
    return 0;
}

static int program(uint32_t adr, uint32_t sz, const uint8_t *buf)
{
    if (!in_dev(adr, sz)) return 2;
    for (uint32_t i = 0; i < sz; i++)
        *(volatile uint8_t *)(adr + i) &= buf[i]; /* NOR: bits only go 1 -> 0 */
    return 0;
}

int ProgramPage(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    if (sz > PAGE || (adr - DEV_ADR) / PAGE != (adr - DEV_ADR + sz - 1) / PAGE)
        return 6; /* a page at a time, never across a page boundary */
#ifdef FAULTY
    if (adr == DEV_ADR + PAGE) return (int)*(volatile uint32_t *)0x0F000000u;
    if (adr == DEV_ADR + 2 * PAGE) __asm__ volatile(".short 0xde00"); /* UDF #0 */
#endif
    return program(adr, sz, buf);
}

int BlankCheck(uint32_t adr, uint32_t sz, uint8_t pat)
{
    for (uint32_t i = 0; i < sz; i++)
        if (*(volatile uint8_t *)(adr + i) != pat) return 1;
    return 0;
}

#ifdef WITH_SEGGER
int SEGGER_OPEN_Program(uint32_t adr, uint32_t sz, uint8_t *buf)
{
    return program(adr, sz, buf);
}

int SEGGER_OPEN_Erase(uint32_t adr, uint32_t index, uint32_t n)
{
    (void)index;
    for (; n; n--, adr += SECT) {
        int rc = EraseSector(adr);
        if (rc) return rc;
    }
    return 0;
}

uint32_t SEGGER_OPEN_CalcCRC(uint32_t crc, uint32_t adr, uint32_t n, uint32_t poly)
{
    crc = ~crc;
    for (; n; n--, adr++) {
        crc ^= *(volatile uint8_t *)adr;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (poly & (0u - (crc & 1u)));
    }
#ifdef BAD_CRC
    return crc;
#else
    return ~crc;
#endif
}
#endif

/* ---- calling convention probes ---- */
uint32_t Echo(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    return a ^ (b << 1) ^ (c << 2) ^ (d << 3);
}

uint32_t GetR9(void)
{
    uint32_t v;
    __asm__("mov %0, r9" : "=r"(v));
    return v;
}

uint32_t GetSP(void)
{
    uint32_t v;
    __asm__("mov %0, sp" : "=r"(v));
    return v;
}

uint32_t GetLR(void)
{
    uint32_t v;
    __asm__("mov %0, lr" : "=r"(v));
    return v;
}

/* PrgData is reached through R9: the magic and the Init count/argument. */
uint32_t State(uint32_t which)
{
    return which == 0 ? st()->magic : which == 1 ? st()->inits : which == 2 ? st()->fnc : st()->opt;
}

/* Use n bytes of stack below the caller's SP. */
uint32_t Overflow(uint32_t n)
{
    volatile uint8_t *p = __builtin_alloca(n);
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)i;
    return p[n / 2];
}
