/* jsonw.h — the few jansson helpers of the files secaudit writes in JSON (reports, baselines,
 * state files, notifications). */
#ifndef SECAUDIT_REPORT_JSONW_H
#define SECAUDIT_REPORT_JSONW_H

#include <stdio.h>

#include <jansson.h>

/* A JSON string from untrusted bytes (invalid UTF-8 replaced with U+FFFD); NULL when out of
 * memory. */
json_t *sa_jstr(const char *s);
/* json_object_set_new / json_array_append_new that set *bad on failure. Both take val in
 * every case (a NULL container included: they release val), so a failure leaks nothing and
 * frees nothing twice. */
void sa_jput(json_t *obj, const char *key, json_t *val, int *bad);
void sa_jpush(json_t *arr, json_t *val, int *bad);
/* {"name": "secaudit", "version": …}: the tool member of every file secaudit writes. */
json_t *sa_jtool(int *bad);
/* Write root (indented, members in order, a final newline) and release it. 0, or -1 when
 * *bad was set or the write failed. */
int sa_jdump(FILE *out, json_t *root, int bad);

#endif
