/* pool.h — a fixed pool of worker threads fed through a bounded, ordered queue: one thread
 * submits items; workers run `work` on them in any order; the submitting thread gets them
 * back through `done` strictly in submission order. The queue holds at most `depth` items
 * (submitting blocks while it is full), so memory stays bounded however many items there
 * are. */
#ifndef SECAUDIT_POOL_H
#define SECAUDIT_POOL_H

#include <stddef.h>

typedef struct sa_pool sa_pool;
typedef void (*sa_pool_work_fn)(void *item);            /* in a worker thread */
typedef void (*sa_pool_done_fn)(void *ctx, void *item); /* in the submitting thread */

/* NULL when out of memory or when no thread could be started. */
sa_pool *sa_pool_new(unsigned threads, size_t depth, sa_pool_work_fn work,
                     sa_pool_done_fn done, void *ctx);
/* Queue item; with needs_work 0 it only keeps its place in the order (done sees it when its
 * turn comes). Calls done for the finished items at the head of the queue. */
void sa_pool_submit(sa_pool *p, void *item, int needs_work);
/* Wait until every submitted item is finished and handed to done. */
void sa_pool_drain(sa_pool *p);
/* Drain, stop the threads and free the pool (NULL is fine). */
void sa_pool_free(sa_pool *p);

#endif
