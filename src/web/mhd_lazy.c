/*
 * mhd_lazy.c - the libmicrohttpd functions the web server uses, loaded on
 * first use (see src/common/lazylib.h): only `prod run --http` and
 * `prod serve` pay for libmicrohttpd and GnuTLS.  Prototypes come from
 * <microhttpd.h>.  MHD_start_daemon is variadic: web.c calls the va_list
 * form through its own variadic wrapper.
 */
#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#include "common/lazylib.h"
#include "web/web_internal.h"

static oflash_lazylib mhd = OFLASH_LAZYLIB_INIT("libmicrohttpd.so.12", "libmicrohttpd12");

const char *oflash__web_mhd_error(void)
{
    return oflash__lazylib_error(&mhd);
}

OFLASH_LAZY_FN(mhd, struct MHD_Daemon *, NULL, MHD_start_daemon_va,
               (unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
                MHD_AccessHandlerCallback dh, void *dh_cls, va_list ap),
               (flags, port, apc, apc_cls, dh, dh_cls, ap))
OFLASH_LAZY_VOID(mhd, MHD_stop_daemon, (struct MHD_Daemon * daemon), (daemon))
OFLASH_LAZY_FN(mhd, const char *, NULL, MHD_lookup_connection_value,
               (struct MHD_Connection * connection, enum MHD_ValueKind kind, const char *key),
               (connection, kind, key))
OFLASH_LAZY_FN(mhd, int, -1, MHD_get_connection_values,
               (struct MHD_Connection * connection, enum MHD_ValueKind kind,
                MHD_KeyValueIterator iterator, void *iterator_cls),
               (connection, kind, iterator, iterator_cls))
OFLASH_LAZY_FN(mhd, enum MHD_Result, MHD_NO, MHD_queue_response,
               (struct MHD_Connection * connection, unsigned int status_code,
                struct MHD_Response *response),
               (connection, status_code, response))
OFLASH_LAZY_FN(mhd, struct MHD_Response *, NULL, MHD_create_response_from_buffer,
               (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))
OFLASH_LAZY_FN(mhd, struct MHD_Response *, NULL, MHD_create_response_from_callback,
               (uint64_t size, size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls,
                MHD_ContentReaderFreeCallback crfc),
               (size, block_size, crc, crc_cls, crfc))
OFLASH_LAZY_VOID(mhd, MHD_destroy_response, (struct MHD_Response * response), (response))
OFLASH_LAZY_FN(mhd, enum MHD_Result, MHD_NO, MHD_add_response_header,
               (struct MHD_Response * response, const char *header, const char *content),
               (response, header, content))
OFLASH_LAZY_FN(mhd, enum MHD_Result, MHD_NO, MHD_is_feature_supported, (enum MHD_FEATURE feature),
               (feature))
