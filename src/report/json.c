/* json.c — the JSON report (REPORT_FORMAT.md is its specification), built with jansson and
 * dumped with sorted-free, insertion-ordered keys so identical input gives identical bytes. */
#include <jansson.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"

#define SA_REPORT_SCHEMA_VERSION "1.0"

/* A JSON string from untrusted bytes (invalid UTF-8 replaced). */
static json_t *jstr(const char *s)
{
    size_t n;
    char *clean = sa_utf8_clean(s, strlen(s), &n);
    if (clean == NULL)
        return NULL;
    json_t *j = json_stringn(clean, n);
    sa_free(clean);
    return j;
}

/* json_object_set_new that remembers a failure. */
static void put(json_t *obj, const char *key, json_t *val, int *bad)
{
    if (val == NULL || json_object_set_new(obj, key, val) < 0)
        *bad = 1;
}

static void push(json_t *arr, json_t *val, int *bad)
{
    if (val == NULL || json_array_append_new(arr, val) < 0)
        *bad = 1;
}

int sa_report_json(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    int bad = 0;
    json_t *root = json_object();
    if (root == NULL)
        return -1;
    put(root, "schema_version", json_string(SA_REPORT_SCHEMA_VERSION), &bad);
    json_t *tool = json_object();
    if (tool) {
        put(tool, "name", json_string("secaudit"), &bad);
        put(tool, "version", json_string(SECAUDIT_VERSION), &bad);
    }
    put(root, "tool", tool, &bad);

    json_t *scanned = json_object(), *roots = json_array();
    for (size_t i = 0; roots && i < res->n_roots; i++)
        push(roots, jstr(res->roots[i]), &bad);
    if (scanned) {
        put(scanned, "roots", roots, &bad);
        put(scanned, "files_seen", json_integer((json_int_t)res->files_seen), &bad);
        put(scanned, "files_parsed", json_integer((json_int_t)res->files_parsed), &bad);
    } else {
        json_decref(roots);
    }
    put(root, "scanned", scanned, &bad);

    size_t counts[5] = {0}, n_suppressed = 0, n_new = 0, n_unchanged = 0;
    json_t *findings = json_array();
    for (size_t i = 0; findings && i < res->n_findings && !bad; i++) {
        const sa_finding *f = &res->findings[i];
        if (f->rule->severity < o->min_severity)
            continue;
        if (f->suppressed) {
            n_suppressed++;
        } else {
            counts[f->rule->severity]++;
            n_new += f->baseline == SA_BASE_NEW;
            n_unchanged += f->baseline == SA_BASE_UNCHANGED;
        }
        json_t *j = json_object();
        if (j == NULL) {
            bad = 1;
            break;
        }
        put(j, "rule_id", json_string(f->rule->id), &bad);
        put(j, "title", jstr(f->rule->title), &bad);
        put(j, "severity", json_string(sa_severity_name(f->rule->severity)), &bad);
        put(j, "service", jstr(f->rule->service->name), &bad);
        put(j, "file", jstr(f->file), &bad);
        put(j, "line", json_integer(f->line), &bad);
        put(j, "column", json_integer(f->col), &bad);
        put(j, "key", jstr(f->key), &bad);
        put(j, "message", jstr(f->message), &bad);
        put(j, "source", json_string(f->source_default ? "default" : "explicit"), &bad);
        put(j, "evidence", jstr(f->evidence), &bad);
        put(j, "fingerprint", json_string(f->fingerprint), &bad);
        if (f->suppressed) {
            json_t *s = json_object();
            if (s) {
                put(s, "kind", json_string(f->suppressed == SA_SUPP_INSOURCE ? "inSource"
                                                                              : "external"),
                    &bad);
                put(s, "reason", jstr(f->suppress_reason), &bad);
                put(s, "origin", jstr(f->suppress_origin), &bad);
            }
            put(j, "suppression", s, &bad);
        }
        if (f->baseline)
            put(j, "baseline", json_string(f->baseline == SA_BASE_NEW ? "new" : "unchanged"),
                &bad);
        push(findings, j, &bad);
    }
    put(root, "findings", findings, &bad);

    json_t *errors = json_array();
    for (size_t i = 0; errors && i < res->n_errors; i++) {
        const sa_error *e = &res->errors[i];
        json_t *j = json_object();
        if (j == NULL) {
            bad = 1;
            break;
        }
        put(j, "file", jstr(e->file), &bad);
        put(j, "line", json_integer(e->line), &bad);
        put(j, "column", json_integer(e->col), &bad);
        put(j, "service", jstr(e->service), &bad);
        put(j, "message", jstr(e->message), &bad);
        push(errors, j, &bad);
    }
    put(root, "errors", errors, &bad);

    json_t *notices = json_array();
    for (size_t i = 0; notices && i < res->n_notices; i++) {
        json_t *j = json_object();
        if (j == NULL) {
            bad = 1;
            break;
        }
        put(j, "path", jstr(res->notices[i].path), &bad);
        if (res->notices[i].line)
            put(j, "line", json_integer(res->notices[i].line), &bad);
        put(j, "message", jstr(res->notices[i].message), &bad);
        push(notices, j, &bad);
    }
    put(root, "notices", notices, &bad);

    json_t *summary = json_object();
    size_t total = 0;
    for (int s = SA_SEV_CRITICAL; summary && s >= SA_SEV_INFO; s--) {
        put(summary, sa_severity_name(s), json_integer((json_int_t)counts[s]), &bad);
        total += counts[s];
    }
    if (summary) {
        put(summary, "total", json_integer((json_int_t)total), &bad);
        put(summary, "errors", json_integer((json_int_t)res->n_errors), &bad);
        put(summary, "suppressed", json_integer((json_int_t)n_suppressed), &bad);
    }
    put(root, "summary", summary, &bad);

    if (res->has_baseline) {
        json_t *bl = json_object(), *absent = json_array();
        for (size_t i = 0; absent && i < res->n_absent; i++) {
            const sa_absent *a = &res->absent[i];
            json_t *j = json_object();
            if (j == NULL) {
                bad = 1;
                break;
            }
            put(j, "fingerprint", json_string(a->fingerprint), &bad);
            put(j, "rule_id", jstr(a->rule_id), &bad);
            put(j, "path", jstr(a->path), &bad);
            put(j, "line", json_integer(a->line), &bad);
            push(absent, j, &bad);
        }
        if (bl) {
            put(bl, "new", json_integer((json_int_t)n_new), &bad);
            put(bl, "unchanged", json_integer((json_int_t)n_unchanged), &bad);
            put(bl, "absent", absent, &bad);
        } else {
            json_decref(absent);
        }
        put(root, "baseline", bl, &bad);
    }

    int rc = -1;
    if (!bad && json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
        fputc('\n', out) != EOF && fflush(out) == 0)
        rc = 0;
    json_decref(root);
    return rc;
}
