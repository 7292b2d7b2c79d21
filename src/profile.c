/* profile.c — option profiles (see profile.h), read with the project's YAML parser. */
#include "secaudit/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/parse.h"
#include "secaudit/walk.h"

void sa_profile_free(sa_profile *p)
{
    for (int i = 0; p->argv && p->argv[i]; i++)
        sa_free(p->argv[i]);
    sa_free(p->argv);
    sa_free(p->lines);
    sa_free(p->path);
    memset(p, 0, sizeof(*p));
}

typedef struct ctx {
    const char *path;
    sa_linemap lines;
    char *err;
    size_t errcap;
} ctx;

__attribute__((format(printf, 3, 4))) static int fail(ctx *c, size_t off, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    sa_linemap_errorv(&c->lines, c->path, off, c->err, c->errcap, "", fmt, ap);
    va_end(ap);
    return -1;
}

static int add(sa_profile *p, ctx *c, size_t off, const char *name, const sa_node *v)
{
    char **na = sa_realloc(p->argv, (size_t)(p->argc + 2) * sizeof(*na));
    if (na == NULL)
        return fail(c, off, "out of memory");
    p->argv = na;
    unsigned *nl = sa_realloc(p->lines, (size_t)(p->argc + 2) * sizeof(*nl));
    if (nl == NULL)
        return fail(c, off, "out of memory");
    p->lines = nl;
    size_t n = strlen(name) + 4 + (v ? v->len : 0);
    char *a = sa_malloc(n);
    if (a == NULL)
        return fail(c, off, "out of memory");
    if (v)
        snprintf(a, n, "--%s=%s", name, v->str);
    else
        snprintf(a, n, "--%s", name);
    unsigned col;
    sa_linemap_pos(&c->lines, off, &p->lines[p->argc], &col);
    p->argv[p->argc++] = a;
    p->argv[p->argc] = NULL;
    return 0;
}

static int scalar_ok(const sa_node *v)
{
    return (v->type == SA_STR || v->type == SA_NUM || v->type == SA_BOOL) && v->str &&
           memchr(v->str, '\0', v->len) == NULL;
}

int sa_profile_load(sa_profile *p, const char *path, const struct option *opts,
                    const sa_limits *lim, char *err, size_t errcap)
{
    memset(p, 0, sizeof(*p));
    sa_buf buf;
    if (sa_read_user_file(path, lim->max_rule_bytes, 0, &buf) < 0) {
        snprintf(err, errcap, "cannot read the profile %s: %s", path,
                 sa_read_user_file_error(errno));
        return -1;
    }
    ctx c = {.path = path, .err = err, .errcap = errcap};
    sa_doc *doc = sa_doc_new(buf.data ? buf.data : "", buf.len, lim);
    int rc = -1;
    p->path = sa_strdup(path);
    p->argv = sa_calloc(2, sizeof(*p->argv));
    p->lines = sa_calloc(2, sizeof(*p->lines));
    if (doc == NULL || p->path == NULL || p->argv == NULL || p->lines == NULL ||
        (p->argv[0] = sa_strdup("profile")) == NULL ||
        sa_linemap_init(&c.lines, doc->text, doc->len) < 0) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    p->argc = 1;
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    if (sa_parse_yaml(doc, &perr) < 0) {
        if (perr.has_linecol)
            snprintf(err, errcap, "%s:%u:%u: %s", path, perr.line, perr.col, perr.msg);
        else
            fail(&c, perr.off, "%s", perr.msg);
        goto done;
    }
    const sa_node *top = doc->root;
    if (top == NULL || top->type == SA_NULL) {
        rc = 0;
        goto done;
    }
    if (top->type != SA_MAP) {
        fail(&c, top->off, "a profile is a mapping of option names to values");
        goto done;
    }
    for (const sa_node *k = top->first; k; k = k->next) {
        const struct option *o = NULL;
        for (const struct option *x = opts; x->name; x++)
            if (strcmp(x->name, k->key) == 0)
                o = x;
        if (o == NULL || strcmp(k->key, "profile") == 0 || strcmp(k->key, "help") == 0 ||
            strcmp(k->key, "version") == 0) {
            fail(&c, k->key_off, o ? "'%.60s' cannot be set in a profile"
                                   : "unknown option '%.60s' (profile keys are long option "
                                     "names without '--', see 'secaudit --help')",
                 k->key);
            goto done;
        }
        if (o->has_arg == no_argument) {
            if (k->type != SA_BOOL) {
                fail(&c, k->off, "'%s' takes no value: write '%s: true' or '%s: false'",
                     k->key, k->key, k->key);
                goto done;
            }
            if (strcmp(k->str, "true") == 0 && add(p, &c, k->key_off, k->key, NULL) < 0)
                goto done;
            continue;
        }
        if (k->type == SA_LIST) {
            for (const sa_node *v = k->first; v; v = v->next) {
                if (!scalar_ok(v)) {
                    fail(&c, v->off, "'%s': each element must be a single value", k->key);
                    goto done;
                }
                if (add(p, &c, v->off, k->key, v) < 0)
                    goto done;
            }
            continue;
        }
        if (!scalar_ok(k)) {
            fail(&c, k->off, "'%s' needs a value (or a list of values)", k->key);
            goto done;
        }
        if (add(p, &c, k->key_off, k->key, k) < 0)
            goto done;
    }
    rc = 0;
done:
    sa_linemap_free(&c.lines);
    sa_doc_free(doc);
    sa_buf_free(&buf);
    if (rc < 0)
        sa_profile_free(p);
    return rc;
}
