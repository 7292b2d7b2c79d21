/* json.c — the JSON report (REPORT_FORMAT.md is its specification), built with jansson and
 * dumped with sorted-free, insertion-ordered keys so identical input gives identical bytes. */
#include <jansson.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"
#include "report/jsonw.h"

#define SA_REPORT_SCHEMA_VERSION "1.0"

int sa_report_json(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    int bad = 0;
    json_t *root = json_object();
    if (root == NULL)
        return -1;
    sa_jput(root, "schema_version", json_string(SA_REPORT_SCHEMA_VERSION), &bad);
    json_t *tool = sa_jtool(&bad);
    sa_jput(root, "tool", tool, &bad);

    json_t *scanned = json_object(), *roots = json_array();
    for (size_t i = 0; roots && i < res->n_roots; i++)
        sa_jpush(roots, sa_jstr(res->roots[i]), &bad);
    if (scanned) {
        sa_jput(scanned, "roots", roots, &bad);
        sa_jput(scanned, "files_seen", json_integer((json_int_t)res->files_seen), &bad);
        sa_jput(scanned, "files_parsed", json_integer((json_int_t)res->files_parsed), &bad);
    } else {
        json_decref(roots);
    }
    sa_jput(root, "scanned", scanned, &bad);

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
        sa_jput(j, "rule_id", json_string(f->rule->id), &bad);
        sa_jput(j, "title", sa_jstr(f->rule->title), &bad);
        sa_jput(j, "severity", json_string(sa_severity_name(f->rule->severity)), &bad);
        sa_jput(j, "service", sa_jstr(f->rule->service->name), &bad);
        sa_jput(j, "file", sa_jstr(f->file), &bad);
        sa_jput(j, "line", json_integer(f->line), &bad);
        sa_jput(j, "column", json_integer(f->col), &bad);
        sa_jput(j, "key", sa_jstr(f->key), &bad);
        sa_jput(j, "message", sa_jstr(f->message), &bad);
        sa_jput(j, "source", json_string(f->source_default ? "default" : "explicit"), &bad);
        sa_jput(j, "evidence", sa_jstr(f->evidence), &bad);
        sa_jput(j, "fingerprint", json_string(f->fingerprint), &bad);
        if (f->suppressed) {
            json_t *s = json_object();
            if (s) {
                sa_jput(s, "kind", json_string(f->suppressed == SA_SUPP_INSOURCE ? "inSource"
                                                                              : "external"),
                    &bad);
                sa_jput(s, "reason", sa_jstr(f->suppress_reason), &bad);
                sa_jput(s, "origin", sa_jstr(f->suppress_origin), &bad);
            }
            sa_jput(j, "suppression", s, &bad);
        }
        if (f->baseline)
            sa_jput(j, "baseline", json_string(f->baseline == SA_BASE_NEW ? "new" : "unchanged"),
                &bad);
        sa_jpush(findings, j, &bad);
    }
    sa_jput(root, "findings", findings, &bad);

    json_t *errors = json_array();
    for (size_t i = 0; errors && i < res->n_errors; i++) {
        const sa_error *e = &res->errors[i];
        json_t *j = json_object();
        if (j == NULL) {
            bad = 1;
            break;
        }
        sa_jput(j, "file", sa_jstr(e->file), &bad);
        sa_jput(j, "line", json_integer(e->line), &bad);
        sa_jput(j, "column", json_integer(e->col), &bad);
        sa_jput(j, "service", sa_jstr(e->service), &bad);
        sa_jput(j, "message", sa_jstr(e->message), &bad);
        sa_jpush(errors, j, &bad);
    }
    sa_jput(root, "errors", errors, &bad);

    json_t *notices = json_array();
    for (size_t i = 0; notices && i < res->n_notices; i++) {
        json_t *j = json_object();
        if (j == NULL) {
            bad = 1;
            break;
        }
        sa_jput(j, "path", sa_jstr(res->notices[i].path), &bad);
        if (res->notices[i].line)
            sa_jput(j, "line", json_integer(res->notices[i].line), &bad);
        sa_jput(j, "message", sa_jstr(res->notices[i].message), &bad);
        sa_jpush(notices, j, &bad);
    }
    sa_jput(root, "notices", notices, &bad);

    json_t *summary = json_object();
    size_t total = 0;
    for (int s = SA_SEV_CRITICAL; summary && s >= SA_SEV_INFO; s--) {
        sa_jput(summary, sa_severity_name(s), json_integer((json_int_t)counts[s]), &bad);
        total += counts[s];
    }
    if (summary) {
        sa_jput(summary, "total", json_integer((json_int_t)total), &bad);
        sa_jput(summary, "errors", json_integer((json_int_t)res->n_errors), &bad);
        sa_jput(summary, "suppressed", json_integer((json_int_t)n_suppressed), &bad);
    }
    sa_jput(root, "summary", summary, &bad);

    if (res->has_baseline) {
        json_t *bl = json_object(), *absent = json_array();
        for (size_t i = 0; absent && i < res->n_absent; i++) {
            const sa_absent *a = &res->absent[i];
            json_t *j = json_object();
            if (j == NULL) {
                bad = 1;
                break;
            }
            sa_jput(j, "fingerprint", json_string(a->fingerprint), &bad);
            sa_jput(j, "rule_id", sa_jstr(a->rule_id), &bad);
            sa_jput(j, "path", sa_jstr(a->path), &bad);
            sa_jput(j, "line", json_integer(a->line), &bad);
            sa_jpush(absent, j, &bad);
        }
        if (bl) {
            sa_jput(bl, "new", json_integer((json_int_t)n_new), &bad);
            sa_jput(bl, "unchanged", json_integer((json_int_t)n_unchanged), &bad);
            sa_jput(bl, "absent", absent, &bad);
        } else {
            json_decref(absent);
        }
        sa_jput(root, "baseline", bl, &bad);
    }

    return sa_jdump(out, root, bad);
}
