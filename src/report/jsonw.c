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

json_t *sa_jtool(int *bad)
{
    json_t *tool = json_object();
    sa_jput(tool, "name", json_string("secaudit"), bad);
    sa_jput(tool, "version", json_string(SECAUDIT_VERSION), bad);
    if (tool == NULL)
        *bad = 1;
    return tool;
}

int sa_jdump(FILE *out, json_t *root, int bad)
{
    int rc = -1;
    if (!bad && root && json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
        fputc('\n', out) != EOF && fflush(out) == 0)
        rc = 0;
    json_decref(root);
    return rc;
}
