/* engine.c — runs a service's rules over one file's view (see engine.h): conditions, per-
 * element iteration, named checks, and the making of findings (position, key, evidence with
 * secrets redacted, default note, fingerprint). */
#include "rules/engine.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules/checks.h"
#include "secaudit/alloc.h"
#include "secaudit/expr.h"

/* fnmatch(glob, s, 0), with the glob's literal prefix compared first: most globs differ
 * from most paths in their first bytes, and fnmatch costs far more than strncmp. */
static int glob_matches(const char *glob, const char *s)
{
    size_t lit = strcspn(glob, "*?[\\");
    if (strncmp(glob, s, lit) != 0)
        return 0;
    if (glob[lit] == '\0')
        return s[lit] == '\0';
    return fnmatch(glob + lit, s + lit, 0) == 0;
}

static int is_secret(const sa_file_eval *fe, const sa_node *value, const char *label)
{
    if (value == NULL)
        return 0;
    if (value->key && sa_key_is_secret(value->key, value->key_len))
        return 1;
    /* the label names the value only when the value has no key of its own */
    if (value->key == NULL && label && sa_key_is_secret(label, strlen(label)))
        return 1;
    if (fe->svc->n_secrets == 0)
        return 0;
    char path[1024];
    if (sa_node_path(value, fe->view, path, sizeof(path)) < 0) {
        /* a value of the view whose path is too long to match the secret paths: redact it
         * rather than show it (a default's value, from the rule file, has no path) */
        for (const sa_node *p = value; p != NULL; p = p->parent)
            if (p == fe->view)
                return 1;
        return 0;
    }
    for (size_t i = 0; i < fe->svc->n_secrets; i++)
        if (path[0] && glob_matches(fe->svc->secrets[i], path))
            return 1;
    return 0;
}

/* Printable text of a value for evidence and messages. */
static void value_text(const sa_node *v, const char *label, int secret, char *out, size_t cap)
{
    if (v == NULL) {
        snprintf(out, cap, "(absent)");
        return;
    }
    switch (v->type) {
    case SA_MAP:
        if (v->count == 0)
            snprintf(out, cap, "{}");
        else
            snprintf(out, cap, "{%zu %s}", v->count, v->count == 1 ? "entry" : "entries");
        return;
    case SA_LIST:
        if (v->count == 0)
            snprintf(out, cap, "[]");
        else
            snprintf(out, cap, "[%zu %s]", v->count, v->count == 1 ? "item" : "items");
        return;
    default: {
        const char *k = v->key ? v->key : label;
        sa_redact(k, k ? strlen(k) : 0, v->str ? v->str : "", v->len, secret, out, cap);
        return;
    }
    }
}

static int word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

/* Copy label into out (cap bytes) with every whole-word, case-insensitive occurrence of the
 * secret replaced by <redacted>. A key can hold the secret: an Orthanc user whose password
 * is the user name is reported under RegisteredUsers.<name>, and the fingerprint is made of
 * the key, so both must be scrubbed, not only the value. */
static void scrub_label(const char *label, const sa_node *secret, char *out, size_t cap)
{
    static const char red[] = "<redacted>";
    size_t n = 0, sl = secret ? secret->len : 0;
    for (const char *p = label; *p && n + 1 < cap;) {
        if (sl > 0 && strncasecmp(p, secret->str, sl) == 0 &&
            (p == label || !word_char(p[-1])) && !word_char(p[sl])) {
            size_t k = sizeof(red) - 1 < cap - 1 - n ? sizeof(red) - 1 : cap - 1 - n;
            memcpy(out + n, red, k);
            n += k;
            p += sl;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* Expand {key} and {value} in a message template into out (when not NULL); returns the
 * expanded length. */
static size_t expand(char *out, const char *tpl, const char *key, const char *value)
{
    size_t n = 0, kl = strlen(key), vl = strlen(value);
    for (const char *p = tpl; *p;) {
        if (*p == '{' && strncmp(p, "{key}", 5) == 0) {
            if (out)
                memcpy(out + n, key, kl);
            n += kl;
            p += 5;
        } else if (*p == '{' && strncmp(p, "{value}", 7) == 0) {
            if (out)
                memcpy(out + n, value, vl);
            n += vl;
            p += 7;
        } else {
            if (out)
                out[n] = *p;
            n++;
            p++;
        }
    }
    return n;
}

/* Copy s (n bytes) and a NUL to *p, advance *p; returns the copy. */
static char *put_str(char **p, const char *s, size_t n)
{
    char *d = *p;
    memcpy(d, s, n);
    d[n] = '\0';
    *p += n + 1;
    return d;
}

/* The top-level members of a merged tree sorted by address, so that the file of a node is
 * found by binary search (a linear search per finding is quadratic on a large merged
 * directory). */
typedef struct sa_member_ix {
    uintptr_t node;
    size_t file;
} sa_member_ix;

static int cmp_ix(const void *a, const void *b)
{
    const sa_member_ix *x = a, *y = b;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int index_members(sa_file_eval *fe)
{
    if (fe->n_files <= 1 || fe->n_members == 0)
        return 0;
    if (fe->n_members > SIZE_MAX / sizeof(sa_member_ix))
        return -1;
    sa_member_ix *ix = sa_arena_alloc(fe->scratch, fe->n_members * sizeof(*ix));
    if (ix == NULL)
        return -1;
    for (size_t i = 0; i < fe->n_members; i++)
        ix[i] = (sa_member_ix){(uintptr_t)fe->members[i], fe->member_file[i]};
    qsort(ix, fe->n_members, sizeof(*ix), cmp_ix);
    fe->member_ix = ix;
    return 0;
}

size_t sa_engine_file_of(const sa_file_eval *fe, const sa_node *n)
{
    if (fe->n_files <= 1 || n == NULL)
        return 0;
    /* from a view's copy to the parsed node, then up through its ancestors to the nearest
     * one that was moved in from another file (a member of a merged directory, the first
     * node of an included file), whose file it is; a node of none is the first file's */
    while (n->origin)
        n = n->origin;
    for (; n; n = n->parent) {
        if (fe->member_ix) {
            sa_member_ix key = {(uintptr_t)n, 0};
            const sa_member_ix *hit =
                bsearch(&key, fe->member_ix, fe->n_members, sizeof(key), cmp_ix);
            if (hit)
                return hit->file;
            continue;
        }
        for (size_t i = 0; i < fe->n_members; i++)
            if (fe->members[i] == n)
                return fe->member_file[i];
    }
    return 0;
}

int sa_engine_emit(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                   const sa_node *value, const sa_default *def, const char *label)
{
    return sa_engine_emit2(fe, rule, pos, value, def, label, label);
}

int sa_engine_emit2(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                    const sa_node *value, const sa_default *def, const char *label,
                    const char *what)
{
    return sa_engine_emit3(fe, rule, pos, value, def, label, what, NULL);
}

int sa_engine_emit3(sa_file_eval *fe, const sa_rule *rule, const sa_node *pos,
                    const sa_node *value, const sa_default *def, const char *label,
                    const char *what, const char *message)
{
    sa_result *res = fe->res;
    if (res->n_findings == res->cap_findings) {
        size_t nc = res->cap_findings ? res->cap_findings * 2 : 32;
        sa_finding *v = sa_realloc(res->findings, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        res->findings = v;
        res->cap_findings = nc;
    }
    char val[256], safe_label[512];
    /* secret by the value's own key or path (the label counts only for a value without a
     * key): computed once, it decides the evidence and whether the label is scrubbed */
    int secret = value && value->type != SA_MAP && value->type != SA_LIST &&
                 is_secret(fe, value, label);
    value_text(value, label, secret, val, sizeof(val));
    if (secret && value->str) {
        int same = what == label;
        scrub_label(label, value, safe_label, sizeof(safe_label));
        label = safe_label;
        if (same)
            what = safe_label;
    }
    char evidence[1024];
    if (def)
        snprintf(evidence, sizeof(evidence), "%s = %s (default%s%s)", what, val,
                 def->note ? ": " : "", def->note ? def->note : "");
    else if (value)
        snprintf(evidence, sizeof(evidence), "%s = %s", what, val);
    else
        snprintf(evidence, sizeof(evidence), "%s", what);

    sa_finding *f = &res->findings[res->n_findings];
    memset(f, 0, sizeof(*f));
    const sa_eval_file *ef = &fe->files[sa_engine_file_of(fe, pos)];
    f->rule = rule;
    f->seq = ef->seq;
    f->source_default = def != NULL;
    size_t off = 0;
    if (pos == NULL || (fe->n_files > 1 && pos == fe->tree))
        off = ef->root ? ef->root->off : 0;  /* a merged root has no place: the file's top */
    else
        off = pos->key ? pos->key_off : pos->off;
    sa_linemap_pos(ef->lines, off, &f->line, &f->col);
    /* the finding's strings are one allocation, starting at f->file (finding.h) */
    const char *tpl = rule->message ? rule->message : rule->title;
    const char *note = def && def->note ? def->note : NULL;
    size_t lf = strlen(ef->file), lr = strlen(ef->rel), lk = strlen(label),
           le = strlen(evidence), lm = message ? strlen(message) : expand(NULL, tpl, label, val),
           ln = note ? strlen(note) : 0;
    char *block = sa_malloc(lf + lr + lk + le + lm + ln + 6), *p = block;
    if (block == NULL)
        return -1;
    f->file = put_str(&p, ef->file, lf);
    f->rel = put_str(&p, ef->rel, lr);
    f->key = put_str(&p, label, lk);
    f->evidence = put_str(&p, evidence, le);
    f->message = p;
    if (message)
        memcpy(p, message, lm);
    else
        expand(p, tpl, label, val);
    p[lm] = '\0';
    p += lm + 1;
    f->default_note = note ? put_str(&p, note, ln) : NULL;
    const char *parts[] = {rule->id, ef->rel, label, val};
    sa_fingerprint(parts, 4, f->fingerprint);
    res->n_findings++;
    return 0;
}

/* Text of the scalar at path (for key: labels); NULL when absent or not a scalar. */
static const char *path_text(const sa_expr *path, sa_eval_ctx *ctx)
{
    sa_resolved r;
    if (!sa_path_resolve(path, ctx, &r) || r.node == NULL || r.node->str == NULL)
        return NULL;
    return r.node->str;
}

/* One evaluation of rule at ctx->base; el (index idx of its container) is the element when
 * iterating over list, named in the label only when the rule fires. */
static int eval_one(sa_file_eval *fe, const sa_rule *rule, sa_eval_ctx *ctx,
                    const sa_node *list, const sa_node *el, size_t idx)
{
    int hit = sa_expr_eval(rule->when, ctx);
    if (hit <= 0)
        return hit;
    char prefix[512];
    const char *label_prefix = NULL;
    if (el) {
        if (list->type == SA_MAP)
            snprintf(prefix, sizeof(prefix), "%s.%s", rule->for_each, el->key);
        else
            snprintf(prefix, sizeof(prefix), "%s[%zu]", rule->for_each, idx);
        label_prefix = prefix;
    }
    const sa_node *pos = ctx->base, *value = NULL;
    const sa_default *def = NULL;
    char label[512];
    if (rule->at_path) {
        sa_resolved r;
        if (sa_path_resolve(rule->at_path, ctx, &r)) {
            value = r.node;
            def = r.def;
            pos = r.def ? r.nearest : r.node;
        } else {
            pos = r.nearest;
        }
    } else if (ctx->base != ctx->root) {
        value = ctx->base;
    }
    const char *ktext = rule->key_path ? path_text(rule->key_path, ctx) : NULL;
    if (ktext)
        snprintf(label, sizeof(label), "%s", ktext);
    else if (label_prefix && rule->at) {
        if (snprintf(label, sizeof(label), "%s.%s", label_prefix, rule->at) >= (int)sizeof(label))
            label[sizeof(label) - 1] = '\0';  /* cut, as any label */
    }
    else if (label_prefix)
        snprintf(label, sizeof(label), "%s", label_prefix);
    else
        snprintf(label, sizeof(label), "%s", rule->at ? rule->at : rule->service->name);
    /* the position of a default is the nearest thing the file does have */
    if (pos == NULL)
        pos = ctx->root;
    if (pos && pos->flags & SA_NODE_SYNTH && pos->parent == NULL)
        pos = NULL;
    /* the evidence names what it shows: the at path when the key is a record's text */
    const char *what = ktext && rule->at ? rule->at : label;
    return sa_engine_emit2(fe, rule, pos, value, def, label, what);
}

static int engine_run(sa_file_eval *fe);

/* An evaluation that ran out of memory (a scratch string for lower(), a map index) reads as
 * a condition that is false: the rule would silently not fire. So any failed allocation
 * during the run fails the run. */
int sa_engine_run(sa_file_eval *fe)
{
    sa_alloc_failed(1);
    int rc = engine_run(fe);
    return sa_alloc_failed(1) ? -1 : rc;
}

static int engine_run(sa_file_eval *fe)
{
    if (fe->member_ix == NULL && index_members(fe) < 0)
        return -1;
    /* world_readable() speaks of "the file": only meaningful when there is one */
    sa_eval_ctx ctx = {.svc = fe->svc, .root = fe->view, .base = fe->view,
                       .st = fe->n_files == 1 ? fe->files[0].st : NULL, .scratch = fe->scratch};
    for (size_t i = 0; i < fe->svc->n_rules; i++) {
        const sa_rule *rule = fe->svc->rules[i];
        if (rule->check) {
            const sa_check *c = sa_check_find(rule->check);
            if (c && c->fn(fe, rule) < 0)
                return -1;
        }
        if (rule->when == NULL)
            continue;
        if (rule->each_path == NULL) {
            ctx.base = fe->view;
            if (eval_one(fe, rule, &ctx, NULL, NULL, 0) < 0)
                return -1;
            continue;
        }
        sa_resolved r;
        ctx.base = fe->view;
        if (!sa_path_resolve(rule->each_path, &ctx, &r) || r.def != NULL)
            continue;
        const sa_node *list = r.node;
        if (list->type != SA_LIST && list->type != SA_MAP)
            continue;
        size_t idx = 0;
        for (const sa_node *el = list->first; el; el = el->next, idx++) {
            ctx.base = el;
            ctx.base_idx = idx;
            if (eval_one(fe, rule, &ctx, list, el, idx) < 0)
                return -1;
        }
    }
    return 0;
}
