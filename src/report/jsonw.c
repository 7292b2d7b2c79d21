/* jsonw.c — see jsonw.h. */
#include "report/jsonw.h"

#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"

json_t *sa_jstr(const char *s)
{
    size_t n;
    char *clean = sa_utf8_clean(s, strlen(s), &n);
    if (clean == NULL)
        return NULL;
    json_t *j = json_stringn(clean, n);
    sa_free(clean);
    return j;
}

void sa_jput(json_t *obj, const char *key, json_t *val, int *bad)
{
    if (val == NULL || json_object_set_new(obj, key, val) < 0)
        *bad = 1;
}

void sa_jpush(json_t *arr, json_t *val, int *bad)
{
    if (val == NULL || json_array_append_new(arr, val) < 0)
        *bad = 1;
}
