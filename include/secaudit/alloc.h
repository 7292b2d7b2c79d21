/* alloc.h — every allocation libsecaudit makes goes through these functions, so a test
 * can fail the Nth one (allocation-failure torture). They behave like the C library's;
 * memory from sa_malloc/sa_calloc/sa_realloc/sa_strdup is released with sa_free. */
#ifndef SECAUDIT_ALLOC_H
#define SECAUDIT_ALLOC_H

#include <stddef.h>

void *sa_malloc(size_t n);
void *sa_calloc(size_t count, size_t size);
void *sa_realloc(void *p, size_t n);
char *sa_strdup(const char *s);
char *sa_strndup(const char *s, size_t n);
void sa_free(void *p);

/* Test hook: make the Nth allocation from now on fail (1 = the next one); 0 turns it off.
 * Returns how many allocations were made since the last call. */
unsigned long sa_alloc_fail_at(unsigned long nth);

/* Did an allocation of the calling thread fail (since the last reset)? A parser reports
 * running out of memory as a parse error; the scan asks this to tell that from a bad file
 * and stops instead of reporting the file as unparsable. reset: clear the flag. */
int sa_alloc_failed(int reset);

#endif
