/* baseline.c — baseline files (see baseline.h), read and written with jansson. */
#include "secaudit/baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/jsonw.h"
#include "secaudit/alloc.h"
#include "secaudit/report.h"
#include "secaudit/walk.h"

void sa_baseline_free(sa_baseline *b)
{
    for (size_t i = 0; i < b->n; i++) {
        sa_free(b->v[i].rule_id);
        sa_free(b->v[i].path);
    }
    sa_free(b->v);
    memset(b, 0, sizeof(*b));
}

static const char *str_member(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int sa_baseline_load(sa_baseline *b, const char *path, const sa_limits *lim, char *err,
                     size_t errcap)
{
    memset(b, 0, sizeof(*b));
    sa_buf buf;
    if (sa_read_user_file(path, lim->max_file_bytes, 0, &buf) < 0) {
        snprintf(err, errcap, "cannot read the baseline %s: %s", path,
                 sa_read_user_file_error(errno));
        return -1;
    }
    json_error_t je;
    json_t *root = json_loadb(buf.data ? buf.data : "", buf.len, JSON_REJECT_DUPLICATES, &je);
    sa_buf_free(&buf);
    if (root == NULL) {
        snprintf(err, errcap, "%s:%d:%d: not a baseline: %s", path, je.line, je.column,
                 je.text);
        return -1;
    }
    int rc = -1;
    json_t *ver = json_object_get(root, "secaudit_baseline");
    json_t *fs = json_object_get(root, "findings");
    if (!json_is_integer(ver) || json_integer_value(ver) != SA_BASELINE_VERSION ||
        !json_is_array(fs)) {
        snprintf(err, errcap,
                 "%s: not a secaudit baseline (expected \"secaudit_baseline\": %d and "
                 "\"findings\")", path, SA_BASELINE_VERSION);
        goto done;
    }
    size_t n = json_array_size(fs);
    b->v = sa_calloc(n ? n : 1, sizeof(*b->v));
    if (b->v == NULL) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(fs, i);
        const char *fp = json_is_object(e) ? str_member(e, "fingerprint") : NULL;
        const char *rule = fp ? str_member(e, "rule_id") : NULL;
        const char *p = rule ? str_member(e, "path") : NULL;
        json_t *line = json_is_object(e) ? json_object_get(e, "line") : NULL;
        if (p == NULL || strlen(fp) != 16 || strspn(fp, "0123456789abcdef") != 16 ||
            !json_is_integer(line) || json_integer_value(line) < 0 ||
            json_integer_value(line) > 0xffffffffLL) {
            snprintf(err, errcap,
                     "%s: findings[%zu]: expected fingerprint (16 hex digits), rule_id, path "
                     "and line", path, i);
            goto done;
        }
        sa_baseline_entry *be = &b->v[b->n];
        memcpy(be->fingerprint, fp, 17);
        be->line = (unsigned)json_integer_value(line);
        be->rule_id = sa_strdup(rule);
        be->path = sa_strdup(p);
        b->n++;
        if (be->rule_id == NULL || be->path == NULL) {
            snprintf(err, errcap, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(root);
    if (rc < 0)
        sa_baseline_free(b);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const sa_baseline_entry *x = a, *y = b;
    int c = strcmp(x->fingerprint, y->fingerprint);
    return c ? c : x->matched - y->matched;
}

int sa_baseline_apply(sa_result *res, sa_baseline *b, const sa_ruleset *rs)
{
    res->has_baseline = 1;
    if (b->n > 1)
        qsort(b->v, b->n, sizeof(*b->v), cmp_entry);
    for (size_t i = 0; i < res->n_findings; i++) {
        sa_finding *f = &res->findings[i];
        f->baseline = SA_BASE_NEW;
        /* the first unmatched entry with this fingerprint */
        size_t lo = 0, hi = b->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(b->v[mid].fingerprint, f->fingerprint) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < b->n && strcmp(b->v[lo].fingerprint, f->fingerprint) == 0; lo++)
            if (!b->v[lo].matched) {
                b->v[lo].matched = 1;
                f->baseline = SA_BASE_UNCHANGED;
                break;
            }
    }
    size_t absent = 0;
    for (size_t i = 0; i < b->n; i++)
        absent += !b->v[i].matched;
    if (absent == 0)
        return 0;
    res->absent = sa_calloc(absent, sizeof(*res->absent));
    if (res->absent == NULL)
        return -1;
    for (size_t i = 0; i < b->n; i++) {
        const sa_baseline_entry *e = &b->v[i];
        if (e->matched)
            continue;
        sa_absent *a = &res->absent[res->n_absent];
        memcpy(a->fingerprint, e->fingerprint, 17);
        a->line = e->line;
        a->rule = sa_ruleset_find_rule(rs, e->rule_id);
        a->rule_id = sa_strdup(e->rule_id);
        a->path = sa_strdup(e->path);
        res->n_absent++;
        if (a->rule_id == NULL || a->path == NULL)
            return -1;
    }
    return 0;
}

int sa_baseline_write(FILE *out, const sa_result *res)
{
    int bad = 0;
    json_t *root = json_object(), *fs = json_array();
    if (root == NULL || fs == NULL) {
        json_decref(root);
        json_decref(fs);
        return -1;
    }
    bad |= json_object_set_new(root, "secaudit_baseline", json_integer(SA_BASELINE_VERSION));
    sa_jput(root, "tool", sa_jtool(&bad), &bad);
    for (size_t i = 0; i < res->n_findings && !bad; i++) {
        const sa_finding *f = &res->findings[i];
        if (f->suppressed)
            continue;
        json_t *e = json_object();
        if (e == NULL)
            bad = 1;
        else {
            bad |= json_object_set_new(e, "fingerprint", json_string(f->fingerprint));
            bad |= json_object_set_new(e, "rule_id", json_string(f->rule->id));
            /* paths are bytes; a path that is not UTF-8 is written with U+FFFD, which then
             * only costs its "unchanged" match on the path shown, not on the fingerprint */
            size_t n;
            char *clean = sa_utf8_clean(f->rel, strlen(f->rel), &n);
            json_t *p = clean ? json_stringn(clean, n) : NULL;
            sa_free(clean);
            bad |= p == NULL || json_object_set_new(e, "path", p) < 0;
            bad |= json_object_set_new(e, "line", json_integer(f->line));
            bad |= json_array_append_new(fs, e);
        }
    }
    bad |= json_object_set_new(root, "findings", fs);
    return sa_jdump(out, root, bad);
}
