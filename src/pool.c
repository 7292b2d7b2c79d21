/* pool.c — see pool.h. A ring of `depth` slots: [head, tail) are submitted and not yet
 * handed back, [next, tail) not yet taken by a worker. One mutex guards the indices and the
 * slot states; `work` and `done` run outside it. */
#include "pool.h"

#include <pthread.h>

#include "secaudit/alloc.h"

enum { QUEUED, RUNNING, FINISHED };

typedef struct slot {
    void *item;
    int state;
} slot;

struct sa_pool {
    pthread_mutex_t mu;
    pthread_cond_t have_work;  /* next < tail, or stopping */
    pthread_cond_t finished;   /* some slot became FINISHED */
    slot *ring;
    size_t depth, head, next, tail;  /* monotonic counters; slot = counter % depth */
    int stop;
    sa_pool_work_fn work;
    sa_pool_done_fn done;
    void *ctx;
    pthread_t *threads;
    unsigned n_threads;
};

static void *worker(void *arg)
{
    sa_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->next < p->head)
            p->next = p->head;  /* items that needed no work were handed back meanwhile */
        while (p->next < p->tail && p->ring[p->next % p->depth].state != QUEUED)
            p->next++;  /* items that need no work */
        if (p->next == p->tail) {
            if (p->stop)
                break;
            pthread_cond_wait(&p->have_work, &p->mu);
            continue;
        }
        slot *s = &p->ring[p->next++ % p->depth];
        s->state = RUNNING;
        pthread_mutex_unlock(&p->mu);
        p->work(s->item);
        pthread_mutex_lock(&p->mu);
        s->state = FINISHED;
        pthread_cond_signal(&p->finished);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

sa_pool *sa_pool_new(unsigned threads, size_t depth, sa_pool_work_fn work,
                     sa_pool_done_fn done, void *ctx)
{
    if (threads == 0 || depth == 0)
        return NULL;
    sa_pool *p = sa_calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->ring = sa_calloc(depth, sizeof(*p->ring));
    p->threads = sa_calloc(threads, sizeof(*p->threads));
    if (p->ring == NULL || p->threads == NULL) {
        sa_free(p->ring);
        sa_free(p->threads);
        sa_free(p);
        return NULL;
    }
    p->depth = depth;
    p->work = work;
    p->done = done;
    p->ctx = ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->have_work, NULL);
    pthread_cond_init(&p->finished, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break;
        p->n_threads++;
    }
    if (p->n_threads == 0) {
        sa_pool_free(p);
        return NULL;
    }
    return p;
}

/* Hand the finished items at the head to done, in order. Called with mu held. */
static void retire(sa_pool *p)
{
    while (p->head < p->tail && p->ring[p->head % p->depth].state == FINISHED) {
        void *item = p->ring[p->head % p->depth].item;
        p->head++;
        pthread_mutex_unlock(&p->mu);
        p->done(p->ctx, item);
        pthread_mutex_lock(&p->mu);
    }
}

void sa_pool_submit(sa_pool *p, void *item, int needs_work)
{
    pthread_mutex_lock(&p->mu);
    retire(p);
    while (p->tail - p->head == p->depth) {
        pthread_cond_wait(&p->finished, &p->mu);
        retire(p);
    }
    slot *s = &p->ring[p->tail++ % p->depth];
    s->item = item;
    s->state = needs_work ? QUEUED : FINISHED;
    if (needs_work)
        pthread_cond_signal(&p->have_work);
    else
        retire(p);
    pthread_mutex_unlock(&p->mu);
}

void sa_pool_drain(sa_pool *p)
{
    pthread_mutex_lock(&p->mu);
    retire(p);
    while (p->head < p->tail) {
        pthread_cond_wait(&p->finished, &p->mu);
        retire(p);
    }
    pthread_mutex_unlock(&p->mu);
}

void sa_pool_free(sa_pool *p)
{
    if (p == NULL)
        return;
    if (p->n_threads)
        sa_pool_drain(p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->have_work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->have_work);
    pthread_cond_destroy(&p->finished);
    sa_free(p->ring);
    sa_free(p->threads);
    sa_free(p);
}
