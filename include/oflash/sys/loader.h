/*
 * oflash/sys/loader.h - for people who ship their own flash loaders with
 * a program that links liboflash.
 *
 * A device's bank names its loader (oflash_bank.loader_name).  The name is
 * looked up by oflash_flm_builtin(): first among the families' own loaders
 * (src/targets/<family>/loader/, embedded in liboflash), then among the
 * loaders registered here.  A program that embeds a CMSIS FLM (for example
 * an external QSPI algorithm, or a vendor OTP algorithm) registers it once
 * and can then describe banks that use it, exactly as a built-in family
 * does, with no file on disk and no recompilation of liboflash.
 */
#ifndef OFLASH_SYS_LOADER_H
#define OFLASH_SYS_LOADER_H

#include "oflash/common.h"

#include <stddef.h>

OFLASH_BEGIN_DECLS

#define OFLASH_LOADER_MAX_REGISTERED 16

/*
 * Make the FLM image [flm, flm+len) known to oflash_flm_builtin() under
 * name, for the whole process (in the manner of oflash_probe_register()).
 *
 * name: 1 to 63 characters of [A-Za-z0-9_.-]; it must not be the name of
 * a family's loader or of a loader registered before.  flm: the FLM ELF
 * file's bytes; not copied, so it must stay valid and unchanged until the
 * process ends (a static const array, as the build embeds built-in
 * loaders).  The image is parsed once here (oflash_flm_parse's checks), so
 * a damaged loader is refused at registration, not at its first use.
 *
 * Returns 0; OFLASH_EINVAL for a NULL or malformed name, a name already
 * taken, or flm NULL / len 0; OFLASH_EFORMAT (or the parser's code) for an
 * image that is not a usable FLM; OFLASH_ENOMEM when
 * OFLASH_LOADER_MAX_REGISTERED loaders are registered already.  The message
 * (oflash_error_last) names the loader.
 *
 * Thread-safety: may be called from any thread, also while other threads
 * open targets (a mutex guards the list).  A registered loader cannot be
 * removed; a target that loaded a loader before the call is not affected.
 */
int oflash_loader_register(const char *name, const void *flm, size_t len);

/* Loaders registered so far, in registration order: the name of the i-th,
 * or NULL past the end.  Thread-safe as above. */
size_t oflash_loader_registered_count(void);
const char *oflash_loader_registered_name(size_t i);

OFLASH_END_DECLS
#endif
