/*
 * image_internal.h - what the files of src/image/ share:
 *   source.c  the input source (a file read in fixed-size chunks, or a
 *             memory buffer);
 *   load.c    the load transaction: the builder that readers decode records
 *             into, checked and then merged as a whole;
 *   store.c   the sparse image itself (segments, pieces, overlap checks);
 *   format.c  the format table {name, sniff, read, write}: the only place
 *             that lists the formats;
 *   hexrec.c  what the hex-record readers share (digit tables, messages);
 *   ihex.c, srec.c, elf.c, bin.c  one reader (and writer) per format;
 *   write.c   atomic output files and the writers' output buffer.
 *
 * Readers never hold a whole input file in memory.  Text readers get one
 * line at a time from oflash__src_lines() (a 64 KiB window over the file);
 * the ELF reader reads headers and then each segment's bytes straight into
 * the builder with oflash__src_pread().
 *
 * The builder collects a load as "runs": maximal stretches of contiguous
 * data in file order.  A record that continues the current run is appended
 * to it (the hot path, inline below); any other record starts a new run.
 * Runs are checked against each other and against the image only when the
 * load is complete, so an image is never changed by a load that fails.
 */
#ifndef OFLASH_IMAGE_INTERNAL_H
#define OFLASH_IMAGE_INTERNAL_H

#include "oflash/error.h"
#include "oflash/image.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- input source ---- */

typedef struct oflash__src {
    const char *name;   /* for messages: the path as the user gave it */
    int fd;             /* -1 for memory sources */
    const uint8_t *mem; /* memory source, or NULL */
    uint64_t size;      /* bytes in the file / buffer */
} oflash__src;

/* Open path as an image input (O_NONBLOCK, regular files only, see
 * common/file.h); close it with oflash__src_close(). */
int oflash__src_open(oflash__src *src, const char *path);
void oflash__src_close(oflash__src *src);
/* Back to the start of a file source (for a second pass). */
int oflash__src_rewind(const oflash__src *src);

/* How a location inside an input is named in messages. */
enum oflash__where_kind {
    OFLASH__WHERE_LINE,    /* "fw.hex:12" */
    OFLASH__WHERE_SEGMENT, /* "fw.elf:segment 1" (ELF program header index) */
    OFLASH__WHERE_NONE     /* "fw.bin" */
};

/* Called for each line (without its "\n"; a "\r" before it is kept).
 * terminated is false only for a last line that has no "\n".  Returns 0,
 * a negative error code (which stops the scan), or 1 to end the scan there
 * without an error (oflash__src_lines() then returns 1). */
typedef int (*oflash__line_fn)(void *ctx, const char *s, size_t n, uint32_t line, bool terminated);
/* Optional fast path: consume as many complete, well-formed lines from
 * [p, end) as it can and return the bytes consumed (adding to *line); stop
 * before anything unusual (the slow line function then sees that line).
 * Sets *rc and returns on a hard error. */
typedef size_t (*oflash__fast_fn)(void *ctx, const char *p, const char *end, uint32_t *line,
                                  int *rc);
int oflash__src_lines(const oflash__src *src, oflash__line_fn fn, oflash__fast_fn fast, void *ctx);
/* Read exactly n bytes at offset off (within src->size). */
int oflash__src_pread(const oflash__src *src, void *buf, size_t n, uint64_t off);

/* ---- load builder ---- */

typedef struct oflash__run {
    uint32_t addr;
    uint64_t size; /* bytes used; addr + size <= 2^32 */
    uint64_t cap;  /* bytes allocated */
    uint8_t *data;
    uint32_t line; /* line (or ELF segment index) of the first record */
    uint32_t seq;  /* order of creation, for stable sorting */
} oflash__run;

typedef struct oflash__load {
    const char *name;
    enum oflash__where_kind kind;
    oflash__run *runs; /* closed runs */
    size_t nruns, caprun;
    oflash__run cur;    /* the open run; cur.data == NULL when none */
    uint64_t cur_end;   /* cur.addr + cur.size */
    uint64_t cur_ready; /* cur.data[0..cur_ready) may be written without page faults
                         * (prefaulted in steps, see reserve_slow); <= cur.cap */
    uint64_t estimate;  /* upper bound of data bytes still to come (reservation hint) */
    bool have_entry;
    uint32_t entry;
    bool allow_missing_eof; /* Intel HEX: a file without record 01 is accepted */
    bool ignore_after_eof;  /* Intel HEX: stop reading at record 01 */
    /* Locate mode (error path only): nothing is stored; the lines of the
     * first two records that cover loc_addr are noted. */
    bool locate;
    uint32_t loc_addr;
    unsigned loc_hits;
    uint32_t loc_line[2];
    uint8_t scratch[256];
} oflash__load;

/* Slow path of oflash__load_reserve(). */
uint8_t *oflash__load_reserve_slow(oflash__load *ld, uint32_t addr, uint64_t n, uint32_t line);

/* Return where n bytes of data for addr go, or NULL with the error set
 * (address wrap, out of memory).  The caller must fill all n bytes. */
static inline uint8_t *oflash__load_reserve(oflash__load *ld, uint32_t addr, uint64_t n,
                                            uint32_t line)
{
    if (ld->cur.data && addr == ld->cur_end && n <= ld->cur_ready - ld->cur.size &&
        (uint64_t)addr + n <= 0x100000000ull && !ld->locate) {
        uint8_t *p = ld->cur.data + ld->cur.size;
        ld->cur.size += n;
        ld->cur_end += n;
        return p;
    }
    return oflash__load_reserve_slow(ld, addr, n, line);
}

/* "fw.hex:12", "fw.elf:segment 1" or "fw.bin" into buf. */
const char *oflash__where(const oflash__load *ld, uint32_t line, char *buf, size_t size);

/* Set an entry point from the input (a second, different one is a warning). */
void oflash__load_entry(oflash__load *ld, uint32_t entry, uint32_t line);

/* Close the open run (keeps it in ld->runs). */
int oflash__load_close_run(oflash__load *ld);
void oflash__load_free(oflash__load *ld);

/* ---- readers: parse src into ld; return 0 or a negative code ----
 * base is the load address of formats without addresses (binary). */
int oflash__ihex_read(const oflash__src *src, oflash__load *ld, uint32_t base);
int oflash__srec_read(const oflash__src *src, oflash__load *ld, uint32_t base);
int oflash__elf_read(const oflash__src *src, oflash__load *ld, uint32_t base);
int oflash__bin_read(const oflash__src *src, oflash__load *ld, uint32_t base);

/* ---- the store (store.c) ---- */

struct oflash__input {
    char *name;                   /* as given by the user, for messages */
    char *path;                   /* file to re-read for exact lines, or NULL */
    enum oflash__where_kind kind; /* how locations are named */
    oflash_image_format format;   /* format that was read */
    uint32_t base;                /* binaries */
    bool allow_missing_eof, ignore_after_eof; /* as read (for re-reads) */
};

struct oflash__piece {
    uint32_t addr;
    uint64_t size;
    uint32_t input; /* index into inputs */
    uint32_t line;  /* first line / ELF segment of these bytes */
};

struct oflash_image {
    oflash_segment *seg;
    size_t nseg, capseg;
    struct oflash__piece *piece;
    size_t npiece, cappiece;
    struct oflash__input *in;
    size_t nin, capin;
    bool have_entry;
    uint32_t entry;
    char *entry_source;
};

/* Grow *arr (elements of elem bytes) to hold need; error set on failure. */
int oflash__img_reserve(void **arr, size_t *cap, size_t need, size_t elem);
/* Check a finished load against itself and the image; changes nothing.
 * in is the load's input record, src its source (for exact lines). */
int oflash__store_check(const oflash_image *img, oflash__load *ld, const struct oflash__input *in,
                        const oflash__src *src, bool allow_identical);
/* Merge a checked load into the image; takes the runs' data. */
int oflash__store_merge(oflash_image *img, oflash__load *ld, uint32_t input);
/* Error path: the exact line of the record of input `in` that covers addr
 * (the first one, or the second one when second is set); `line` when the
 * input cannot be re-read (load.c). */
uint32_t oflash__locate_line(const struct oflash__input *in, const oflash__src *cur_src,
                             uint32_t addr, bool second, uint32_t line);

/* ---- the format table (format.c) ---- */

struct oflash__out;

typedef struct oflash__format {
    oflash_image_format id;
    const char *name;              /* for messages: "Intel HEX" */
    const char *const *names;      /* what --format accepts, NULL-terminated */
    const char *const *extensions; /* output file names, NULL-terminated */
    enum oflash__where_kind where; /* how locations are named */
    bool text;                     /* at most one data byte per two characters */
    /* Recognise the format from the first bytes (NULL: never sniffed). */
    bool (*sniff)(const uint8_t *head, size_t n);
    int (*read)(const oflash__src *src, oflash__load *ld, uint32_t base);
    /* NULL: the format is read only. */
    int (*write)(const oflash_image *img, struct oflash__out *o, const oflash_image_write_opts *w);
} oflash__format;

/* The entry for id, or NULL. */
const oflash__format *oflash__format_get(oflash_image_format id);
/* The format whose sniff() recognises head, or NULL. */
const oflash__format *oflash__format_sniff(const uint8_t *head, size_t n);
/* The format an output file name's extension names, or NULL. */
const oflash__format *oflash__format_by_extension(const char *path);

/* Two hex digits at p (p[0] high) -> byte value, or 0x100 when either is
 * not a hex digit.  The table is built once (oflash__img_pairs_init). */
extern uint16_t oflash__img_pairval[65536];
void oflash__img_pairs_init(void);
static inline unsigned oflash__img_pair(const char *p)
{
    return oflash__img_pairval[(uint8_t)p[0] | (unsigned)(uint8_t)p[1] << 8];
}

#ifdef __SSE2__
#include <emmintrin.h>
/* 16 hex digits -> 16 nibble values; lanes that are not hex digits set
 * 0xFF in *bad.  Valid: '0'-'9' (c - '0' <= 9) or, with bit 5 forced,
 * 'a'-'f' ((c | 0x20) - 'a' <= 5); every other byte fails both tests. */
static inline __m128i oflash__img_nibbles(__m128i c, __m128i *bad)
{
    __m128i dig = _mm_sub_epi8(c, _mm_set1_epi8('0'));
    __m128i alf = _mm_sub_epi8(_mm_or_si128(c, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
    __m128i is_dig = _mm_cmpeq_epi8(_mm_min_epu8(dig, _mm_set1_epi8(9)), dig);
    __m128i is_alf = _mm_cmpeq_epi8(_mm_min_epu8(alf, _mm_set1_epi8(5)), alf);
    *bad = _mm_or_si128(*bad, _mm_xor_si128(_mm_or_si128(is_dig, is_alf), _mm_set1_epi8(-1)));
    return _mm_or_si128(_mm_and_si128(is_dig, dig),
                        _mm_and_si128(is_alf, _mm_add_epi8(alf, _mm_set1_epi8(10))));
}
#endif

/* Decode n bytes from the 2n hex digits at h into d and add them to *sum.
 * Returns a value with bit 8 set when any digit was not a hex digit (the
 * bytes are then meaningless).  SSE2 does 16 bytes a step. */
static inline unsigned oflash__img_decode(const char *h, uint8_t *d, unsigned n, unsigned *sum)
{
    unsigned acc = 0, s = 0, i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        __m128i bad = _mm_setzero_si128(), tot = _mm_setzero_si128();
        for (; i + 16 <= n; i += 16) {
            __m128i a = oflash__img_nibbles(_mm_loadu_si128((const __m128i *)(h + 2 * i)), &bad);
            __m128i b =
                oflash__img_nibbles(_mm_loadu_si128((const __m128i *)(h + 2 * i + 16)), &bad);
            /* even lanes hold high nibbles, odd lanes low nibbles */
            __m128i m = _mm_set1_epi16(0x00FF);
            __m128i wa = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(a, m), 4), _mm_srli_epi16(a, 8));
            __m128i wb = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b, m), 4), _mm_srli_epi16(b, 8));
            __m128i bytes = _mm_packus_epi16(wa, wb);
            _mm_storeu_si128((__m128i *)(d + i), bytes);
            tot = _mm_add_epi64(tot, _mm_sad_epu8(bytes, _mm_setzero_si128()));
        }
        if (_mm_movemask_epi8(bad))
            acc = 0x100;
        s += (unsigned)_mm_cvtsi128_si32(tot) + (unsigned)_mm_cvtsi128_si32(_mm_srli_si128(tot, 8));
    }
#endif
    for (; i < n; i++) {
        unsigned v = oflash__img_pair(h + 2 * i);
        acc |= v;
        s += v;
        d[i] = (uint8_t)v;
    }
    *sum += s;
    return acc;
}

/* Hex digit values; 0x80 marks a character that is not a hex digit. */
extern const uint8_t oflash__img_hexval[256];
/* "00".."FF" as two characters each. */
extern const char oflash__img_hexpair[256][2];

/* Column (1-based) and character of the first non-hex digit in s[0..n). */
size_t oflash__img_bad_digit(const char *s, size_t n);
/* Printable form of a character for messages: "'x'" or "byte 0x0D". */
const char *oflash__img_show_char(char c, char *buf, size_t size);

/* ---- output ---- */

typedef struct oflash__out {
    int fd;
    char *buf;
    size_t len, cap;
    const char *path; /* for messages */
    int err;          /* first error; later writes are dropped */
} oflash__out;

/* Make room for n bytes (n <= cap); flushes when needed.  Returns a pointer
 * where n bytes may be written, then the caller adds n to out->len. */
static inline char *oflash__out_room(oflash__out *o, size_t n);
int oflash__out_flush(oflash__out *o);
static inline char *oflash__out_room(oflash__out *o, size_t n)
{
    if (o->cap - o->len < n) oflash__out_flush(o);
    return o->buf + o->len;
}
/* Write n bytes that may be larger than the buffer. */
int oflash__out_write(oflash__out *o, const void *p, size_t n);

int oflash__ihex_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w);
int oflash__srec_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w);
int oflash__bin_write(const oflash_image *img, oflash__out *o, const oflash_image_write_opts *w);

#endif
