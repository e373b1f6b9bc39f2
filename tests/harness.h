/*
 * harness.h - a minimal test harness: CHECK macros that count, and a
 * summary line "N passed, N failed" that CI reads.
 *
 *   int main(void) { test_a(); test_b(); return test_summary(); }
 */
#ifndef OFLASH_TEST_HARNESS_H
#define OFLASH_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include "oflash/error.h"

static int t_pass, t_fail;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (cond) {                                                                       \
            t_pass++;                                                                     \
        } else {                                                                          \
            t_fail++;                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                 \
    } while (0)

/* Expect rc == 0; on failure print the library's error message. */
#define CHECK_OK(expr)                                                                    \
    do {                                                                                  \
        int rc_ = (expr);                                                                 \
        if (rc_ == 0) {                                                                   \
            t_pass++;                                                                     \
        } else {                                                                          \
            t_fail++;                                                                     \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr, rc_, \
                    oflash_error_last());                                                 \
        }                                                                                 \
    } while (0)

/* Expect a specific negative code and a message containing substr. */
/* The message and, after " | ", its internal detail (oflash_error_detail:
 * the loader call, ...): CHECK_ERR's substring may be in either. */
static inline const char *t_err_full(void)
{
    static char b[4096];
    snprintf(b, sizeof b, "%s | %s", oflash_error_last(), oflash_error_detail());
    return b;
}

#define CHECK_ERR(expr, code, substr)                                                              \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        const char *m_ = t_err_full();                                                             \
        if (rc_ == (code) && strstr(m_, (substr))) {                                               \
            t_pass++;                                                                              \
        } else {                                                                                   \
            t_fail++;                                                                              \
            fprintf(stderr, "%s:%d: %s: expected %d with '%s', got %d: '%s'\n", __FILE__,          \
                    __LINE__, #expr, (int)(code), (substr), rc_, m_);                              \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_U(a, b)                                                                  \
    do {                                                                                  \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);    \
        if (a_ == b_) {                                                                   \
            t_pass++;                                                                     \
        } else {                                                                          \
            t_fail++;                                                                     \
            fprintf(stderr, "%s:%d: %s == %s: 0x%llX != 0x%llX\n", __FILE__, __LINE__, #a, \
                    #b, a_, b_);                                                          \
        }                                                                                 \
    } while (0)

static inline int test_summary(void)
{
    printf("%d passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

#endif
