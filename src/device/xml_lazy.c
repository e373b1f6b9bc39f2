/*
 * xml_lazy.c - the libxml2 functions the device-file readers use, loaded on
 * first use (see src/common/lazylib.h): only commands that read device
 * files pay for libxml2 and ICU.  Prototypes come from libxml2's headers.
 */
#include <libxml/parser.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "common/lazylib.h"

static oflash_lazylib xml = OFLASH_LAZYLIB_INIT("libxml2.so.2", "libxml2");

/* Returns NULL when libxml2 is missing: the readers report "out of memory
 * or libxml2 missing" from there. */
OFLASH_LAZY_FN(xml, xmlParserCtxtPtr, NULL, xmlNewParserCtxt, (void), ())
OFLASH_LAZY_VOID(xml, xmlInitParser, (void), ())
OFLASH_LAZY_FN(xml, xmlErrorPtr, NULL, xmlCtxtGetLastError, (void *ctx), (ctx))
OFLASH_LAZY_FN(xml, xmlDocPtr, NULL, xmlCtxtReadMemory,
               (xmlParserCtxtPtr ctxt, const char *buffer, int size, const char *URL,
                const char *encoding, int options),
               (ctxt, buffer, size, URL, encoding, options))
OFLASH_LAZY_FN(xml, xmlNodePtr, NULL, xmlDocGetRootElement, (const xmlDoc *doc), (doc))
OFLASH_LAZY_VOID(xml, xmlFreeDoc, (xmlDocPtr cur), (cur))
OFLASH_LAZY_VOID(xml, xmlFreeParserCtxt, (xmlParserCtxtPtr ctxt), (ctxt))
OFLASH_LAZY_FN(xml, long, -1, xmlGetLineNo, (const xmlNode *node), (node))
OFLASH_LAZY_FN(xml, xmlChar *, NULL, xmlNodeGetContent, (const xmlNode *cur), (cur))
OFLASH_LAZY_FN(xml, xmlChar *, NULL, xmlNodeListGetString,
               (xmlDocPtr doc, const xmlNode *list, int inLine), (doc, list, inLine))
OFLASH_LAZY_VOID(xml, xmlStopParser, (xmlParserCtxtPtr ctxt), (ctxt))
OFLASH_LAZY_VOID(xml, xmlSAX2StartElementNs,
                 (void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
                  int nb_namespaces, const xmlChar **namespaces, int nb_attributes,
                  int nb_defaulted, const xmlChar **attributes),
                 (ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes,
                  nb_defaulted, attributes))

/* xmlFree is a variable in libxml2 (a pointer to its deallocator); it is
 * only ever called on memory libxml2 returned, so the library is loaded. */
static void lazy_xml_free(void *mem)
{
    xmlFreeFunc *real = (xmlFreeFunc *)oflash__lazylib_sym(&xml, "xmlFree");
    if (real && *real)
        (*real)(mem);
}
xmlFreeFunc xmlFree = lazy_xml_free;
