/* fuzz_job.c - libFuzzer target: job files (INI through inih, every key's
 * value checks).  The input is written to a temporary file (the loader
 * reads regular files only) and loaded; any input must give 0 or an error
 * message naming the file, never a crash or a leak. */
#include "oflash/error.h"
#include "oflash/prod.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    oflash_job job = OFLASH_JOB_INIT;
    oflash_job_file *st = NULL;
    FILE *f;
    if (!path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/fuzz_job_XXXXXX", tmp && strlen(tmp) < 40 ? tmp : P_tmpdir);
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
    }
    f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    int rc = oflash_job_load(&job, &st, path);
    if (rc == 0) {
        if (!st)
            abort();
        for (size_t i = 0; i < job.nimages; i++)
            if (!job.images[i])
                abort();
    } else if (st || !strstr(oflash_error_last(), "fuzz_job_")) {
        abort(); /* every error names the file */
    }
    oflash_job_file_free(st);
    return 0;
}
