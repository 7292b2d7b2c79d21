/* engine.c — runs a service's rules over one file's view (see engine.h): conditions, per-
 * element iteration, named checks, and the making of findings (position, key, evidence with
 * secrets redacted, default note, fingerprint). */
#include "rules/engine.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "rules/checks.h"
#include "secaudit/alloc.h"
#include "secaudit/expr.h"

static int is_secret(const sa_file_eval *fe, const sa_node *value, const char *label)
{
    if (value == NULL)
        return 0;
    if (value->key && sa_key_is_secret(value->key, value->key_len))
        return 1;
    if (label && sa_key_is_secret(label, strlen(label)))
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
        if (path[0] && fnmatch(fe->svc->secrets[i], path, 0) == 0)
            return 1;
    return 0;
}

/* Printable text of a value for evidence and messages. */
static void value_text(const sa_file_eval *fe, const sa_node *v, const char *label, char *out,
                       size_t cap)
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
        sa_redact(k, k ? strlen(k) : 0, v->str ? v->str : "", v->str ? v->len : 0,
                  is_secret(fe, v, label), out, cap);
        return;
    }
    }
}

/* Expand {key} and {value} in a message template. */
static char *expand(const char *tpl, const char *key, const char *value)
{
    size_t cap = strlen(tpl) + 1, n = 0;
    for (const char *p = tpl; (p = strchr(p, '{')); p++)
        cap += strlen(key) + strlen(value);
    char *out = sa_malloc(cap);
    if (out == NULL)
        return NULL;
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "{key}", 5) == 0) {
            memcpy(out + n, key, strlen(key));
            n += strlen(key);
            p += 5;
        } else if (strncmp(p, "{value}", 7) == 0) {
            memcpy(out + n, value, strlen(value));
            n += strlen(value);
            p += 7;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return out;
}

size_t sa_engine_file_of(const sa_file_eval *fe, const sa_node *n)
{
    if (fe->n_files <= 1 || n == NULL)
        return 0;
    /* from a view's copy to the parsed node, up to the top-level member of the merged
     * tree, then its file */
    while (n->origin)
        n = n->origin;
    while (n->parent && n->parent != fe->tree)
        n = n->parent;
    for (size_t i = 0; i < fe->n_members; i++)
        if (fe->members[i] == n)
            return fe->member_file[i];
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
    sa_result *res = fe->res;
    if (res->n_findings == res->cap_findings) {
        size_t nc = res->cap_findings ? res->cap_findings * 2 : 32;
        sa_finding *v = sa_realloc(res->findings, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        res->findings = v;
        res->cap_findings = nc;
    }
    char val[256];
    value_text(fe, value, label, val, sizeof(val));
    char evidence[512];
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
    f->file = sa_strdup(ef->file);
    f->rel = sa_strdup(ef->rel);
    f->key = sa_strdup(label);
    f->evidence = sa_strdup(evidence);
    f->message = expand(rule->message ? rule->message : rule->title, label, val);
    f->default_note = def && def->note ? sa_strdup(def->note) : NULL;
    if (f->file == NULL || f->rel == NULL || f->key == NULL || f->evidence == NULL ||
        f->message == NULL || (def && def->note && f->default_note == NULL)) {
        sa_free(f->file);
        sa_free(f->rel);
        sa_free(f->key);
        sa_free(f->evidence);
        sa_free(f->message);
        sa_free(f->default_note);
        return -1;
    }
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

/* One evaluation of rule at ctx->base; label_prefix names the element when iterating. */
static int eval_one(sa_file_eval *fe, const sa_rule *rule, sa_eval_ctx *ctx,
                    const char *label_prefix)
{
    int hit = sa_expr_eval(rule->when, ctx);
    if (hit <= 0)
        return hit;
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
    else if (label_prefix && rule->at)
        snprintf(label, sizeof(label), "%s.%s", label_prefix, rule->at);
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

int sa_engine_run(sa_file_eval *fe)
{
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
            if (eval_one(fe, rule, &ctx, NULL) < 0)
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
            char prefix[512];
            if (list->type == SA_MAP)
                snprintf(prefix, sizeof(prefix), "%s.%s", rule->for_each, el->key);
            else
                snprintf(prefix, sizeof(prefix), "%s[%zu]", rule->for_each, idx);
            ctx.base = el;
            if (eval_one(fe, rule, &ctx, prefix) < 0)
                return -1;
        }
    }
    return 0;
}
