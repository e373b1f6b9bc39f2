/*
 * web_serve.c - the web server alone, for the HTTP-level tests
 * (tests/web/http_security.sh): no station, no ledger.
 *   web_serve --listen [HOST:]PORT [--token T] [--idle-timeout S]
 *             [--cert FILE --key FILE] [--insecure]
 * Prints the URL on stdout once listening; serves until SIGTERM/SIGINT.
 */
#include "oflash/error.h"
#include "oflash/web.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"token", required_argument, NULL, 't'},
                                             {"idle-timeout", required_argument, NULL, 'i'},
                                             {"cert", required_argument, NULL, 'c'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"insecure", no_argument, NULL, 'n'},
                                             {NULL, 0, NULL, 0}};
    oflash_web_opts o = OFLASH_WEB_OPTS_INIT;
    oflash_web *w;
    sigset_t set;
    int c, sig;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': o.listen = optarg; break;
        case 't': o.token = optarg; break;
        case 'i': o.idle_timeout_s = (unsigned)atoi(optarg); break;
        case 'c': o.tls_cert = optarg; break;
        case 'k': o.tls_key = optarg; break;
        case 'n': o.allow_plain_http = true; break;
        default: return 2;
        }
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (oflash_web_start(&w, &o) != 0) {
        fprintf(stderr, "web_serve: %s\n", oflash_error_last());
        return 1;
    }
    printf("%s\n", oflash_web_url(w));
    fflush(stdout);
    sigwait(&set, &sig);
    oflash_web_stop(w);
    return 0;
}
