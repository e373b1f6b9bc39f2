/*
 * sim_core.c - the simulated core on a thread of its own, at idle CPU
 * priority ("cpu=spare" on a sim-feed: probe, docs/sim.md).
 *
 * Why: on a production line the chips do their work in their own silicon;
 * the station's host only waits for them.  A rehearsal line emulates every
 * chip on the host instead, and 8 emulated cores on a 2-core PC take every
 * CPU the station needs for its own steps (the ledger, its bookkeeping), so
 * the station's time per unit would grow with a load a real line does not
 * have.  With cpu=spare, the emulation (oflash__sim_run, the only place the
 * simulated CPU executes) runs on a thread with the SCHED_IDLE policy: it
 * gets any CPU the rest leaves over, and the kernel preempts it the moment
 * a normal thread (a port, a ledger lane, the database server) wakes up.
 * The caller waits for the run; its time counts as the chip's.  Simulated
 * time, the run's limits and every result are the same as on the caller's
 * thread: only where the host executes the core changes.
 *
 * Invariants: one run at a time per chip (the probe is single-threaded);
 * while a run is handed over, the caller blocks and touches nothing of the
 * chip, so the core thread owns it alone (the mutex orders the memory);
 * the run's error message, kept per thread, is carried back to the caller.
 * The host backstop of a run counts the CPU time of the thread that runs
 * it (sim_chip.c), so a starved idle-priority core is never stopped as
 * "stuck".
 */
#include "sim_internal.h"

#include "common/error_internal.h"
#include "oflash/error.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sim_core {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    /* under lock: */
    bool has_job, job_done, quit;
    sim_chip *c; /* the board this core belongs to */
    const oflash_run_opts *opts;
    oflash_stop_info *stop;
    int rc;
    int err_code;
    char err_msg[2048]; /* the message size error.c keeps */
    char err_detail[512];
};

/* The lowest CPU priority this thread may take: SCHED_IDLE (Linux), else
 * the highest nice value.  Failure only costs the preference. */
static void lowest_priority(void)
{
#ifdef SCHED_IDLE
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0) return;
#endif
#ifdef SYS_gettid
    /* Linux: nice applies to one thread, named by its thread id. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
#endif
}

static void *core_main(void *arg)
{
    struct sim_core *k = arg;
    lowest_priority();
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->has_job && !k->quit)
            pthread_cond_wait(&k->cond, &k->lock);
        if (k->quit) break;
        pthread_mutex_unlock(&k->lock);
        oflash_error_clear();
        int rc = oflash__sim_run(k->c, k->opts, k->stop);
        pthread_mutex_lock(&k->lock);
        k->rc = rc;
        if (rc < 0) {
            k->err_code = oflash_error_last_code();
            snprintf(k->err_msg, sizeof k->err_msg, "%s", oflash_error_last());
            snprintf(k->err_detail, sizeof k->err_detail, "%s", oflash_error_detail());
        }
        k->has_job = false;
        k->job_done = true;
        pthread_cond_broadcast(&k->cond);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

int oflash__sim_core_start(sim_chip *c)
{
    struct sim_core *k;
    int e;
    if (c->core) return 0;
    k = calloc(1, sizeof *k);
    if (!k) return oflash_error_set(OFLASH_ENOMEM, "out of memory");
    k->c = c;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, NULL);
    e = pthread_create(&k->thread, NULL, core_main, k);
    if (e != 0) {
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        free(k);
        return oflash_error_set(OFLASH_EIO, "cannot start the simulated core's thread: %s",
                                strerror(e));
    }
    c->core = k;
    return 0;
}

void oflash__sim_core_stop(sim_chip *c)
{
    struct sim_core *k = c->core;
    if (!k) return;
    pthread_mutex_lock(&k->lock);
    k->quit = true;
    pthread_cond_broadcast(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
    free(k);
    c->core = NULL;
}

int oflash__sim_core_run(sim_chip *c, const oflash_run_opts *opts, oflash_stop_info *stop)
{
    struct sim_core *k = c->core;
    int rc;
    if (!k) return oflash__sim_run(c, opts, stop);
    pthread_mutex_lock(&k->lock);
    k->opts = opts;
    k->stop = stop;
    k->job_done = false;
    k->has_job = true;
    pthread_cond_broadcast(&k->cond);
    while (!k->job_done)
        pthread_cond_wait(&k->cond, &k->lock);
    rc = k->rc;
    if (rc < 0) {
        oflash_error_set(k->err_code ? k->err_code : rc, "%s", k->err_msg);
        if (k->err_detail[0]) oflash__error_detail("%s", k->err_detail);
    }
    pthread_mutex_unlock(&k->lock);
    return rc;
}
