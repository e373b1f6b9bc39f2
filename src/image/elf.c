/*
 * elf.c - ELF32 little-endian ARM reader.
 *
 * Follows the "Tool Interface Standard (TIS) Executable and Linking Format
 * (ELF) Specification" version 1.2 and ARM's "ELF for the Arm Architecture"
 * (IHI 0044, 2022Q3): EI_CLASS ELFCLASS32, EI_DATA ELFDATA2LSB, e_machine
 * EM_ARM (40).  Every PT_LOAD program header contributes its p_filesz bytes
 * from p_offset at its physical address p_paddr (the load address: where
 * flash holds .data's initial values); the p_memsz - p_filesz rest is
 * zero-initialised RAM (NOBITS) and is not part of the image.  e_entry is
 * kept as the entry point.  Headers are read with pread and each segment's
 * bytes go straight into the image, so the file is never held whole.
 */
#include "image_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define EHDR_SIZE 52
#define PHDR_SIZE 32
#define EM_ARM 40
#define PT_LOAD 1

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int oflash__elf_read(const oflash__src *src, oflash__load *ld, uint32_t base)
{
    (void)base; /* addresses come from the file */
    uint8_t eh[EHDR_SIZE];
    const char *f = src->name;
    int rc;
    if (src->size < EHDR_SIZE)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: file has %" PRIu64 " bytes (expected at least %d "
                                "for an ELF32 header)",
                                f, src->size, EHDR_SIZE);
    if ((rc = oflash__src_pread(src, eh, EHDR_SIZE, 0))) return rc;
    if (memcmp(eh, "\177ELF", 4))
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: no ELF magic (expected 7F 45 4C "
                                "46)",
                                f);
    if (eh[4] != 1)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: class %u is not 32-bit (expected ELFCLASS32 for "
                                "a 32-bit ARM little-endian ELF)",
                                f, eh[4]);
    if (eh[5] != 1)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: data encoding %u is not little-endian (expected "
                                "ELFDATA2LSB for a 32-bit ARM little-endian ELF)",
                                f, eh[5]);
    uint16_t machine = le16(eh + 18);
    if (machine != EM_ARM)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: machine %u is not ARM (expected EM_ARM = 40 for "
                                "a 32-bit ARM little-endian ELF)",
                                f, machine);
    uint32_t entry = le32(eh + 24), phoff = le32(eh + 28);
    uint16_t phentsize = le16(eh + 42), phnum = le16(eh + 44);
    if (phnum == 0)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: no program headers (expected "
                                "PT_LOAD segments of a linked executable)",
                                f);
    if (phentsize < PHDR_SIZE)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: program header size %u (expected at least %d)", f,
                                phentsize, PHDR_SIZE);
    uint64_t phend = (uint64_t)phoff + (uint64_t)phnum * phentsize;
    if (phend > src->size)
        return oflash_error_set(OFLASH_EFORMAT,
                                "%s:ELF header: program headers at 0x%" PRIX32 "-0x%" PRIX64
                                " beyond the end of the file (%" PRIu64 " bytes; expected them "
                                "inside it)",
                                f, phoff, phend - 1, src->size);
    size_t phlen = (size_t)phnum * phentsize;
    uint8_t *ph = malloc(phlen);
    if (!ph) return oflash_error_set(OFLASH_ENOMEM, "%s: out of memory", f);
    if ((rc = oflash__src_pread(src, ph, phlen, phoff))) {
        free(ph);
        return rc;
    }
    for (unsigned i = 0; i < phnum && !rc; i++) {
        const uint8_t *p = ph + (size_t)i * phentsize;
        uint32_t type = le32(p), off = le32(p + 4), paddr = le32(p + 12), filesz = le32(p + 16);
        if (type != PT_LOAD || filesz == 0) continue;
        if ((uint64_t)off + filesz > src->size) {
            rc = oflash_error_set(OFLASH_EFORMAT,
                                  "%s:segment %u: file bytes 0x%" PRIX32 "-0x%" PRIX64 " beyond "
                                  "the end of the file (%" PRIu64 " bytes; expected p_offset + "
                                  "p_filesz inside it)",
                                  f, i, off, (uint64_t)off + filesz - 1, src->size);
            break;
        }
        if (ld->locate) continue;
        uint8_t *d = oflash__load_reserve(ld, paddr, filesz, i);
        if (!d) {
            rc = oflash_error_last_code();
            break;
        }
        rc = oflash__src_pread(src, d, filesz, off);
    }
    free(ph);
    if (!rc) oflash__load_entry(ld, entry, 0);
    return rc;
}
