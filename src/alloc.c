/* alloc.c — the one place libsecaudit allocates, with a failure-injection hook for tests. */
#include "secaudit/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Atomic so that a parallel scan (several threads allocating) stays race-free; relaxed
 * order is enough for a counter. */
static atomic_ulong fail_at;  /* 0: never fail */
static atomic_ulong count;
static _Thread_local int failed;  /* an allocation of this thread returned NULL */

/* Counting only while armed keeps the normal path free of shared writes. */
static int should_fail(void)
{
    unsigned long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
    if (at == 0)
        return 0;
    return atomic_fetch_add_explicit(&count, 1, memory_order_relaxed) + 1 == at;
}

unsigned long sa_alloc_fail_at(unsigned long nth)
{
    unsigned long made = atomic_exchange_explicit(&count, 0, memory_order_relaxed);
    atomic_store_explicit(&fail_at, nth, memory_order_relaxed);
    return made;
}

int sa_alloc_failed(int reset)
{
    int f = failed;
    if (reset)
        failed = 0;
    return f;
}

static void *noted(void *p)
{
    if (p == NULL)
        failed = 1;
    return p;
}

void *sa_malloc(size_t n)
{
    if (should_fail())
        return noted(NULL);
    return noted(malloc(n ? n : 1));
}

void *sa_calloc(size_t nmemb, size_t size)
{
    if (should_fail())
        return noted(NULL);
    return noted(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *sa_realloc(void *p, size_t n)
{
    if (should_fail())
        return noted(NULL);
    return noted(realloc(p, n ? n : 1));
}

char *sa_strndup(const char *s, size_t n)
{
    char *d = sa_malloc(n + 1);
    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sa_strdup(const char *s)
{
    return sa_strndup(s, strlen(s));
}

void sa_free(void *p)
{
    free(p);
}
