/*
 * hexrec.c - what the hex-record formats (Intel HEX, S-record) share: the
 * digit tables, the pair table of the fast paths, and the helpers of their
 * error messages.
 */
#include "image_internal.h"

#include <pthread.h>
#include <stdio.h>

/* clang-format off */
#define X 0x80
const uint8_t oflash__img_hexval[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, X, X, X, X, X, X,
    X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, 10, 11, 12, 13, 14, 15, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

#define P16(h) h "0", h "1", h "2", h "3", h "4", h "5", h "6", h "7", h "8", h "9", h "A", h "B", \
               h "C", h "D", h "E", h "F"
/* Each entry is exactly two characters (no terminating NUL). */
const char oflash__img_hexpair[256][2] = {
    P16("0"), P16("1"), P16("2"), P16("3"), P16("4"), P16("5"), P16("6"), P16("7"),
    P16("8"), P16("9"), P16("A"), P16("B"), P16("C"), P16("D"), P16("E"), P16("F"),
};
#undef P16
/* clang-format on */

uint16_t oflash__img_pairval[65536];

static void pairs_build(void)
{
    for (unsigned i = 0; i < 65536; i++) {
        unsigned hi = oflash__img_hexval[i & 0xFF], lo = oflash__img_hexval[i >> 8];
        oflash__img_pairval[i] = (uint16_t)((hi | lo) & 0x80 ? 0x100 : hi << 4 | lo);
    }
}

void oflash__img_pairs_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pairs_build);
}

size_t oflash__img_bad_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (oflash__img_hexval[(uint8_t)s[i]] & 0x80) return i;
    return n;
}

const char *oflash__img_show_char(char c, char *buf, size_t size)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x21 && u < 0x7F)
        snprintf(buf, size, "'%c'", c);
    else
        snprintf(buf, size, "byte 0x%02X", u);
    return buf;
}
