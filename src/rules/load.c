/* load.c — loads rule files (YAML, parsed by the project's own positioned YAML parser so every
 * error names file:line:col), validates them strictly (unknown keys refused, required fields,
 * unique ids, known formats, views and checks, compiled conditions) and builds the ruleset.
 * The schema is documented in rules/README.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules/builtin.h"
#include "rules/checks.h"
#include "secaudit/alloc.h"
#include "secaudit/expr.h"
#include "secaudit/parse.h"
#include "secaudit/rules.h"
#include "secaudit/view.h"
#include "secaudit/walk.h"

typedef struct sa_rulefile {
    char *name;
    char *data;          /* owned copy of the bytes (NUL-terminated) */
    size_t len;
    sa_doc *doc;
    sa_linemap lines;
    struct sa_rulefile *next;
} sa_rulefile;

typedef struct loader {
    sa_ruleset *rs;
    sa_rulefile *file;
    sa_rule_error *err;
} loader;

static const char *const severities[] = {"info", "low", "medium", "high", "critical", "none"};

const char *sa_severity_name(sa_severity s)
{
    return (unsigned)s <= SA_SEV_NONE ? severities[s] : "?";
}

int sa_severity_parse(const char *s, int allow_none, sa_severity *out)
{
    for (int i = 0; i <= SA_SEV_NONE; i++) {
        if (strcmp(s, severities[i]) == 0) {
            if (i == SA_SEV_NONE && !allow_none)
                return -1;
            *out = (sa_severity)i;
            return 0;
        }
    }
    return -1;
}

int sa_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        unsigned long x = 0, y = 0;
        while (*a >= '0' && *a <= '9' && x < 100000000)
            x = x * 10 + (unsigned long)(*a++ - '0');
        while (*b >= '0' && *b <= '9' && y < 100000000)
            y = y * 10 + (unsigned long)(*b++ - '0');
        if (x != y)
            return x < y ? -1 : 1;
        while (*a && (*a < '0' || *a > '9'))
            a++;
        while (*b && (*b < '0' || *b > '9'))
            b++;
    }
    return 0;
}

/* ---- errors ------------------------------------------------------------------------------ */
__attribute__((format(printf, 3, 4))) static int fail_at(loader *ld, size_t off,
                                                      const char *fmt, ...)
{
    unsigned line = 0, col = 0;
    if (ld->file->lines.starts)
        sa_linemap_pos(&ld->file->lines, off, &line, &col);
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line)
        snprintf(ld->err->msg, sizeof(ld->err->msg), "%s:%u:%u: %s", ld->file->name, line, col,
                 msg);
    else
        snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: %s", ld->file->name, msg);
    return -1;
}

static int oom(loader *ld)
{
    snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", ld->file->name);
    return -1;
}

/* ---- typed field readers --------------------------------------------------------------- */
static int want_type(loader *ld, const sa_node *n, sa_type t, const char *what)
{
    int ok = n->type == t || (t == SA_STR && (n->type == SA_NUM || n->type == SA_BOOL));
    if (!ok)
        return fail_at(ld, n->off, "'%s' must be %s", n->key ? n->key : what, what);
    return 0;
}

static int get_str(loader *ld, const sa_node *n, char **out)
{
    if (want_type(ld, n, SA_STR, "a string") < 0)
        return -1;
    if (strlen(n->str) != n->len)
        return fail_at(ld, n->off, "'%s' holds a NUL byte", n->key ? n->key : "value");
    *out = sa_strndup(n->str, n->len);
    return *out ? 0 : oom(ld);
}

static int check_keys(loader *ld, const sa_node *map, const char *const *allowed, size_t n,
                      const char *where)
{
    for (const sa_node *c = map->first; c; c = c->next) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strlen(allowed[i]) == c->key_len && strcmp(allowed[i], c->key) == 0)
                break;
        if (i == n) {
            char list[300] = "";
            for (i = 0; i < n; i++) {
                strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
                if (i + 1 < n)
                    strncat(list, ", ", sizeof(list) - strlen(list) - 1);
            }
            return fail_at(ld, c->key_off, "unknown key '%.40s' in %s (expected one of: %s)",
                           c->key, where, list);
        }
        if (c->flags & SA_NODE_DUP)
            return fail_at(ld, c->key_off, "key '%.40s' is given twice in %s", c->key, where);
    }
    return 0;
}

static int compile_path(loader *ld, const sa_node *n, const char *src, sa_expr **out)
{
    size_t col;
    char msg[200];
    if (sa_path_compile(src, out, &col, msg, sizeof(msg)) < 0)
        return fail_at(ld, n->off, "bad path in '%s' at character %zu: %s", n->key, col, msg);
    return 0;
}

/* ---- services and rules ---------------------------------------------------------------- */
static const char *const formats[] = {"json",   "yaml",   "xml",        "ini",
                                      "systemd", "env",   "pgconf",     "properties",
                                      "pghba",   "nginx",  "iptables"};

static int known(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static void free_rule(sa_rule *r)
{
    if (r == NULL)
        return;
    sa_free(r->id);
    sa_free(r->title);
    sa_free(r->when_src);
    sa_expr_free(r->when);
    sa_free(r->check);
    sa_free(r->for_each);
    sa_free(r->at);
    sa_free(r->key);
    sa_expr_free(r->each_path);
    sa_expr_free(r->at_path);
    sa_expr_free(r->key_path);
    sa_free(r->message);
    sa_free(r->rationale);
    sa_free(r->remediation);
    for (size_t i = 0; i < r->n_refs; i++)
        sa_free(r->refs[i]);
    sa_free(r->refs);
    sa_free(r->origin);
    sa_free(r);
}

static void free_service(sa_service *s)
{
    if (s == NULL)
        return;
    sa_free(s->name);
    sa_free(s->title);
    sa_free(s->description);
    sa_free(s->format);
    sa_free(s->view);
    sa_free(s->version);
    for (size_t i = 0; i < s->n_files; i++) {
        sa_free(s->files[i].glob);
        if (s->files[i].sniff_set)
            regfree(&s->files[i].sniff);
        sa_free(s->files[i].sniff_src);
        sa_free(s->files[i].format);
        sa_free(s->files[i].view);
        sa_free(s->files[i].included_by);
    }
    sa_free(s->files);
    for (size_t i = 0; i < s->n_secrets; i++)
        sa_free(s->secrets[i]);
    sa_free(s->secrets);
    for (size_t i = 0; i < s->n_defaults; i++) {
        sa_default *d = &s->defaults[i];
        sa_free(d->key);
        sa_free(d->same_as);
        sa_expr_free(d->same_as_path);
        sa_free(d->since);
        sa_free(d->until);
        sa_free(d->note);
    }
    sa_free(s->defaults);
    sa_free(s->rules);
    sa_free(s->assumed_version);
    sa_free(s);
}

static int load_rule(loader *ld, sa_service *svc, const sa_node *m)
{
    static const char *const keys[] = {"id",      "title",     "severity",    "when",
                                       "check",   "for_each",  "at",          "key",
                                       "message", "rationale", "remediation", "references"};
    if (m->type != SA_MAP)
        return fail_at(ld, m->off, "a rule must be a map");
    if (check_keys(ld, m, keys, sizeof(keys) / sizeof(keys[0]), "a rule") < 0)
        return -1;
    sa_rule *r = sa_calloc(1, sizeof(*r));
    if (r == NULL)
        return oom(ld);
    r->service = svc;
    const sa_node *n;
    static const char *const required[] = {"id", "title", "severity", "rationale",
                                           "remediation"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (sa_map_get(m, required[i], strlen(required[i])) == NULL) {
            free_rule(r);
            return fail_at(ld, m->off, "rule is missing '%s'", required[i]);
        }
    }
    n = sa_map_get(m, "id", 2);
    if (get_str(ld, n, &r->id) < 0)
        goto fail;
    for (const char *p = r->id; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-') ||
            p - r->id >= 64) {
            fail_at(ld, n->off,
                    "rule id '%.64s' must be 1-64 upper-case letters, digits and '-'", r->id);
            goto fail;
        }
    }
    if (r->id[0] == '\0') {
        fail_at(ld, n->off, "rule id is empty");
        goto fail;
    }
    unsigned line = 0, col = 0;
    sa_linemap_pos(&ld->file->lines, m->off, &line, &col);
    char origin[300];
    snprintf(origin, sizeof(origin), "%s:%u", ld->file->name, line);
    if ((r->origin = sa_strdup(origin)) == NULL)
        goto oom;
    if (get_str(ld, sa_map_get(m, "title", 5), &r->title) < 0)
        goto fail;
    char *sev = NULL;
    n = sa_map_get(m, "severity", 8);
    if (get_str(ld, n, &sev) < 0)
        goto fail;
    int bad = sa_severity_parse(sev, 0, &r->severity);
    sa_free(sev);
    if (bad) {
        fail_at(ld, n->off, "severity must be critical, high, medium, low or info");
        goto fail;
    }
    if (get_str(ld, sa_map_get(m, "rationale", 9), &r->rationale) < 0 ||
        get_str(ld, sa_map_get(m, "remediation", 11), &r->remediation) < 0)
        goto fail;
    if ((n = sa_map_get(m, "message", 7)) && get_str(ld, n, &r->message) < 0)
        goto fail;
    if ((n = sa_map_get(m, "check", 5))) {
        if (get_str(ld, n, &r->check) < 0)
            goto fail;
        if (sa_check_find(r->check) == NULL) {
            fail_at(ld, n->off, "unknown check '%.40s' (see rules/README.md)", r->check);
            goto fail;
        }
    }
    if ((n = sa_map_get(m, "when", 4))) {
        if (get_str(ld, n, &r->when_src) < 0)
            goto fail;
        size_t ecol;
        char msg[200];
        if (sa_expr_compile(r->when_src, &ld->rs->lim, &r->when, &ecol, msg, sizeof(msg)) <
            0) {
            fail_at(ld, n->off, "condition of %s, character %zu: %s", r->id, ecol, msg);
            goto fail;
        }
    }
    if (r->when == NULL && r->check == NULL) {
        fail_at(ld, m->off, "rule %s needs 'when' or 'check'", r->id);
        goto fail;
    }
    if ((n = sa_map_get(m, "for_each", 8)) &&
        (get_str(ld, n, &r->for_each) < 0 || compile_path(ld, n, r->for_each, &r->each_path) < 0))
        goto fail;
    if ((n = sa_map_get(m, "at", 2)) &&
        (get_str(ld, n, &r->at) < 0 || compile_path(ld, n, r->at, &r->at_path) < 0))
        goto fail;
    if ((n = sa_map_get(m, "key", 3)) &&
        (get_str(ld, n, &r->key) < 0 || compile_path(ld, n, r->key, &r->key_path) < 0))
        goto fail;
    if ((n = sa_map_get(m, "references", 10))) {
        if (want_type(ld, n, SA_LIST, "a list") < 0)
            goto fail;
        r->refs = sa_calloc(n->count ? n->count : 1, sizeof(char *));
        if (r->refs == NULL)
            goto oom;
        for (const sa_node *c = n->first; c; c = c->next)
            if (get_str(ld, c, &r->refs[r->n_refs++]) < 0)
                goto fail;
    }
    /* a rule with the same id replaces the earlier one */
    for (size_t i = 0; i < ld->rs->n_rules; i++) {
        if (strcmp(ld->rs->rules[i]->id, r->id) == 0) {
            if (ld->rs->rules[i]->origin &&
                strncmp(ld->rs->rules[i]->origin, ld->file->name, strlen(ld->file->name)) ==
                    0 &&
                ld->rs->rules[i]->origin[strlen(ld->file->name)] == ':') {
                fail_at(ld, sa_map_get(m, "id", 2)->off, "rule id %s is used twice", r->id);
                goto fail;
            }
            free_rule(ld->rs->rules[i]);
            ld->rs->rules[i] = r;
            return 0;
        }
    }
    sa_rule **v = sa_realloc(ld->rs->rules, (ld->rs->n_rules + 1) * sizeof(*v));
    if (v == NULL)
        goto oom;
    ld->rs->rules = v;
    v[ld->rs->n_rules++] = r;
    return 0;
oom:
    oom(ld);
fail:
    free_rule(r);
    return -1;
}

static int load_files(loader *ld, sa_service *svc, const sa_node *list)
{
    if (want_type(ld, list, SA_LIST, "a list") < 0)
        return -1;
    sa_filepat *v = sa_realloc(svc->files, (svc->n_files + list->count + 1) * sizeof(*v));
    if (v == NULL)
        return oom(ld);
    svc->files = v;
    for (const sa_node *c = list->first; c; c = c->next) {
        static const char *const keys[] = {"path", "sniff", "format", "view", "also",
                                           "included_by"};
        if (c->type != SA_MAP)
            return fail_at(ld, c->off, "each entry of 'files' must be a map with 'path'");
        if (check_keys(ld, c, keys, 6, "a files entry") < 0)
            return -1;
        const sa_node *p = sa_map_get(c, "path", 4), *s = sa_map_get(c, "sniff", 5);
        if (p == NULL)
            return fail_at(ld, c->off, "files entry is missing 'path'");
        sa_filepat *f = &svc->files[svc->n_files];
        memset(f, 0, sizeof(*f));
        if (get_str(ld, p, &f->glob) < 0)
            return -1;
        svc->n_files++;
        f->has_slash = strchr(f->glob, '/') != NULL;
        if (f->glob[0] == '/' || f->glob[0] == '\0')
            return fail_at(ld, p->off, "'path' must be a relative glob such as 'etc/x.conf'");
        const sa_node *fm = sa_map_get(c, "format", 6);
        if (fm) {
            if (get_str(ld, fm, &f->format) < 0)
                return -1;
            if (!known(f->format, formats, sizeof(formats) / sizeof(formats[0])))
                return fail_at(ld, fm->off, "unknown format (expected json, yaml, xml, ini, "
                                            "systemd, env, pgconf, properties, pghba, "
                                            "nginx or iptables)");
        }
        const sa_node *al = sa_map_get(c, "also", 4);
        if (al) {
            if (al->str == NULL || (strcmp(al->str, "true") != 0 && strcmp(al->str, "false") != 0))
                return fail_at(ld, al->off, "'also' must be true or false");
            f->also = strcmp(al->str, "true") == 0;
            if (f->also && svc->merge_dir)
                return fail_at(ld, al->off, "'also' is not supported for a service with "
                                            "'merge: directory'");
        }
        const sa_node *ib = sa_map_get(c, "included_by", 11);
        if (ib) {
            if (get_str(ld, ib, &f->included_by) < 0)
                return -1;
            if (f->included_by[0] == '/' || f->included_by[0] == '\0')
                return fail_at(ld, ib->off, "'included_by' must be a path relative to the "
                                            "file's directory, such as '../nginx.conf'");
        }
        const sa_node *vw = sa_map_get(c, "view", 4);
        if (vw) {
            if (get_str(ld, vw, &f->view) < 0)
                return -1;
            if (sa_view_find(f->view) == NULL)
                return fail_at(ld, vw->off, "unknown view (see rules/README.md, Views)");
        }
        if (s) {
            if (get_str(ld, s, &f->sniff_src) < 0)
                return -1;
            if (strlen(f->sniff_src) > ld->rs->lim.max_regex)
                return fail_at(ld, s->off, "'sniff' regular expression is too long");
            char why[128];
            if (sa_regex_check(f->sniff_src, why, sizeof(why)) < 0)
                return fail_at(ld, s->off, "'sniff': %s", why);
            int rc = regcomp(&f->sniff, f->sniff_src, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
            if (rc != 0) {
                char buf[128];
                regerror(rc, &f->sniff, buf, sizeof(buf));
                return fail_at(ld, s->off, "bad 'sniff' regular expression: %s", buf);
            }
            f->sniff_set = 1;
        }
    }
    return 0;
}

static int load_defaults(loader *ld, sa_service *svc, const sa_node *list)
{
    if (want_type(ld, list, SA_LIST, "a list") < 0)
        return -1;
    sa_default *v = sa_realloc(svc->defaults, (svc->n_defaults + list->count + 1) * sizeof(*v));
    if (v == NULL)
        return oom(ld);
    svc->defaults = v;
    for (const sa_node *c = list->first; c; c = c->next) {
        static const char *const keys[] = {"key", "value", "same_as", "since", "until", "note"};
        if (c->type != SA_MAP)
            return fail_at(ld, c->off, "each default must be a map with 'key' and 'value'");
        if (check_keys(ld, c, keys, sizeof(keys) / sizeof(keys[0]), "a default") < 0)
            return -1;
        sa_default *d = &svc->defaults[svc->n_defaults];
        memset(d, 0, sizeof(*d));
        svc->n_defaults++;
        const sa_node *k = sa_map_get(c, "key", 3), *val = sa_map_get(c, "value", 5),
                      *same = sa_map_get(c, "same_as", 7), *n;
        if (k == NULL)
            return fail_at(ld, c->off, "default is missing 'key'");
        if ((val == NULL) == (same == NULL))
            return fail_at(ld, c->off, "a default needs exactly one of 'value' and 'same_as'");
        if (get_str(ld, k, &d->key) < 0)
            return -1;
        d->value = val;
        if (same && (get_str(ld, same, &d->same_as) < 0 ||
                     compile_path(ld, same, d->same_as, &d->same_as_path) < 0))
            return -1;
        if ((n = sa_map_get(c, "since", 5)) && get_str(ld, n, &d->since) < 0)
            return -1;
        if ((n = sa_map_get(c, "until", 5)) && get_str(ld, n, &d->until) < 0)
            return -1;
        if ((n = sa_map_get(c, "note", 4)) && get_str(ld, n, &d->note) < 0)
            return -1;
    }
    return 0;
}

static int load_service_file(loader *ld)
{
    static const char *const keys[] = {"service", "title",    "description", "format",
                                       "view",    "version",  "merge",       "files",
                                       "secrets", "defaults", "rules"};
    const sa_node *root = ld->file->doc->root;
    if (root == NULL || root->type != SA_MAP)
        return fail_at(ld, 0, "a rule file must be a map with 'service' and 'rules'");
    if (check_keys(ld, root, keys, sizeof(keys) / sizeof(keys[0]), "a rule file") < 0)
        return -1;
    const sa_node *n = sa_map_get(root, "service", 7);
    if (n == NULL)
        return fail_at(ld, root->off, "rule file is missing 'service'");
    char *name = NULL;
    if (get_str(ld, n, &name) < 0)
        return -1;
    sa_service *svc = sa_ruleset_find_service(ld->rs, name);
    int fresh = svc == NULL;
    if (fresh) {
        for (const char *p = name; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
                sa_free(name);
                return fail_at(ld, n->off, "service name must be lower-case letters, digits, '-'");
            }
        svc = sa_calloc(1, sizeof(*svc));
        sa_service **v = svc ? sa_realloc(ld->rs->services,
                                          (ld->rs->n_services + 1) * sizeof(*v))
                             : NULL;
        if (v == NULL) {
            sa_free(svc);
            sa_free(name);
            return oom(ld);
        }
        ld->rs->services = v;
        v[ld->rs->n_services++] = svc;
        svc->name = name;
    } else {
        sa_free(name);
    }
    if ((n = sa_map_get(root, "format", 6))) {
        char *fmt = NULL;
        if (get_str(ld, n, &fmt) < 0)
            return -1;
        if (!known(fmt, formats, sizeof(formats) / sizeof(formats[0]))) {
            sa_free(fmt);
            return fail_at(ld, n->off,
                           "unknown format (expected json, yaml, xml, ini, systemd, env, "
                           "pgconf, properties, pghba, nginx or iptables)");
        }
        if (svc->format && strcmp(svc->format, fmt) != 0) {
            sa_free(fmt);
            return fail_at(ld, n->off, "service %s already has format %s", svc->name,
                           svc->format);
        }
        sa_free(svc->format);
        svc->format = fmt;
    } else if (fresh) {
        return fail_at(ld, root->off, "a new service needs 'format'");
    }
    if ((n = sa_map_get(root, "view", 4))) {
        sa_free(svc->view);
        svc->view = NULL;
        if (get_str(ld, n, &svc->view) < 0)
            return -1;
        if (sa_view_find(svc->view) == NULL)
            return fail_at(ld, n->off, "unknown view '%.40s' (see rules/README.md)", svc->view);
    }
    if ((n = sa_map_get(root, "merge", 5))) {
        char *m = NULL;
        if (get_str(ld, n, &m) < 0)
            return -1;
        int ok = strcmp(m, "directory") == 0 || strcmp(m, "none") == 0;
        svc->merge_dir = strcmp(m, "directory") == 0;
        sa_free(m);
        if (!ok)
            return fail_at(ld, n->off, "'merge' must be 'directory' or 'none'");
    }
    static const char *const strs[] = {"title", "description", "version"};
    char **dst[] = {&svc->title, &svc->description, &svc->version};
    for (size_t i = 0; i < 3; i++) {
        if ((n = sa_map_get(root, strs[i], strlen(strs[i])))) {
            sa_free(*dst[i]);
            *dst[i] = NULL;
            if (get_str(ld, n, dst[i]) < 0)
                return -1;
        }
    }
    if ((n = sa_map_get(root, "files", 5)) && load_files(ld, svc, n) < 0)
        return -1;
    if (fresh && svc->n_files == 0)
        return fail_at(ld, root->off, "a new service needs 'files'");
    if ((n = sa_map_get(root, "secrets", 7))) {
        if (want_type(ld, n, SA_LIST, "a list") < 0)
            return -1;
        char **v = sa_realloc(svc->secrets, (svc->n_secrets + n->count + 1) * sizeof(*v));
        if (v == NULL)
            return oom(ld);
        svc->secrets = v;
        for (const sa_node *c = n->first; c; c = c->next) {
            if (get_str(ld, c, &svc->secrets[svc->n_secrets]) < 0)
                return -1;
            svc->n_secrets++;
        }
    }
    if ((n = sa_map_get(root, "defaults", 8)) && load_defaults(ld, svc, n) < 0)
        return -1;
    if ((n = sa_map_get(root, "rules", 5))) {
        if (want_type(ld, n, SA_LIST, "a list") < 0)
            return -1;
        for (const sa_node *c = n->first; c; c = c->next)
            if (load_rule(ld, svc, c) < 0)
                return -1;
    }
    return 0;
}

/* ---- public --------------------------------------------------------------------------- */
int sa_ruleset_load_buffer(sa_ruleset *rs, const char *name, const char *data, size_t len,
                           sa_rule_error *err)
{
    loader ld = {.rs = rs, .err = err};
    sa_rulefile *f = sa_calloc(1, sizeof(*f));
    if (f == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
        return -1;
    }
    f->next = rs->files;
    rs->files = f;
    ld.file = f;
    f->name = sa_strdup(name);
    f->data = sa_malloc(len + 1);
    if (f->name == NULL || f->data == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
        return -1;
    }
    memcpy(f->data, data, len);
    f->data[len] = '\0';
    f->len = len;
    if (len > rs->lim.max_rule_bytes)
        return fail_at(&ld, 0, "rule file is larger than %zu bytes", rs->lim.max_rule_bytes);
    if (sa_linemap_init(&f->lines, f->data, len) < 0)
        return oom(&ld);
    f->doc = sa_doc_new(f->data, len, &rs->lim);
    if (f->doc == NULL)
        return oom(&ld);
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    if (sa_parse_yaml(f->doc, &perr) < 0) {
        if (perr.has_linecol) {
            snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: %s", name, perr.line, perr.col,
                     perr.msg);
            return -1;
        }
        return fail_at(&ld, perr.off, "%s", perr.msg);
    }
    return load_service_file(&ld);
}

int sa_ruleset_load_builtin(sa_ruleset **out, const sa_limits *lim, sa_rule_error *err)
{
    sa_ruleset *rs = sa_calloc(1, sizeof(*rs));
    *out = rs;
    if (rs == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    rs->lim = lim ? *lim : sa_limits_default;
    for (size_t i = 0; i < sa_builtin_rule_file_count; i++) {
        const sa_builtin_rule_file *b = &sa_builtin_rule_files[i];
        if (sa_ruleset_load_buffer(rs, b->name, b->data, b->len, err) < 0)
            return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sa_ruleset_load_dir(sa_ruleset *rs, const char *dir, sa_rule_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: cannot open rule directory: %s", dir,
                 strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' ||
            !((l > 4 && strcmp(de->d_name + l - 4, ".yml") == 0) ||
              (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0)))
            continue;
        char **v = n < 10000 ? sa_realloc(names, (n + 1) * sizeof(*v)) : NULL;
        if (v == NULL || (v[n] = sa_strdup(de->d_name)) == NULL) {
            if (v)
                names = v;
            snprintf(err->msg, sizeof(err->msg), "%s: out of memory or too many files", dir);
            rc = -1;
            break;
        }
        names = v;
        n++;
    }
    closedir(d);
    if (rc == 0 && n > 1)
        qsort(names, n, sizeof(*names), cmp_str);
    int dfd = rc == 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (rc == 0 && dfd < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: cannot open rule directory: %s", dir,
                 strerror(errno));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        int fd = openat(dfd, names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                           O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            snprintf(err->msg, sizeof(err->msg), "%.300s: cannot read rule file: %s", path,
                     fd < 0 ? strerror(errno) : "not a regular file");
            if (fd >= 0)
                close(fd);
            rc = -1;
            break;
        }
        sa_buf buf = {0};
        int r = sa_buf_read_upto(&buf, fd, rs->lim.max_rule_bytes + 1);
        close(fd);
        if (r < 0) {
            snprintf(err->msg, sizeof(err->msg), "%.300s: cannot read rule file: %s", path,
                     strerror(-r));
            rc = -1;
        } else if (buf.len > rs->lim.max_rule_bytes) {
            snprintf(err->msg, sizeof(err->msg), "%.300s: rule file is larger than %zu bytes", path,
                     rs->lim.max_rule_bytes);
            rc = -1;
        } else {
            rc = sa_ruleset_load_buffer(rs, path, buf.data ? buf.data : "", buf.len, err);
        }
        sa_buf_free(&buf);
    }
    if (dfd >= 0)
        close(dfd);
    for (size_t i = 0; i < n; i++)
        sa_free(names[i]);
    sa_free(names);
    return rc;
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp((*(const sa_rule *const *)a)->id, (*(const sa_rule *const *)b)->id);
}

static int cmp_service(const void *a, const void *b)
{
    return strcmp((*(const sa_service *const *)a)->name, (*(const sa_service *const *)b)->name);
}

int sa_ruleset_finish(sa_ruleset *rs, sa_rule_error *err)
{
    if (rs->n_rules > 1)
        qsort(rs->rules, rs->n_rules, sizeof(*rs->rules), cmp_rule);
    if (rs->n_services > 1)
        qsort(rs->services, rs->n_services, sizeof(*rs->services), cmp_service);
    for (size_t s = 0; s < rs->n_services; s++) {
        sa_service *svc = rs->services[s];
        sa_free(svc->rules);
        svc->rules = NULL;
        svc->n_rules = 0;
        size_t n = 0;
        for (size_t i = 0; i < rs->n_rules; i++)
            n += rs->rules[i]->service == svc;
        svc->rules = sa_calloc(n ? n : 1, sizeof(*svc->rules));
        if (svc->rules == NULL) {
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return -1;
        }
        for (size_t i = 0; i < rs->n_rules; i++)
            if (rs->rules[i]->service == svc)
                svc->rules[svc->n_rules++] = rs->rules[i];
        if (svc->title == NULL && (svc->title = sa_strdup(svc->name)) == NULL) {
            snprintf(err->msg, sizeof(err->msg), "out of memory");
            return -1;
        }
    }
    return 0;
}

void sa_ruleset_free(sa_ruleset *rs)
{
    if (rs == NULL)
        return;
    for (size_t i = 0; i < rs->n_rules; i++)
        free_rule(rs->rules[i]);
    sa_free(rs->rules);
    for (size_t i = 0; i < rs->n_services; i++)
        free_service(rs->services[i]);
    sa_free(rs->services);
    sa_rulefile *f = rs->files;
    while (f) {
        sa_rulefile *next = f->next;
        sa_doc_free(f->doc);
        sa_linemap_free(&f->lines);
        sa_free(f->name);
        sa_free(f->data);
        sa_free(f);
        f = next;
    }
    sa_free(rs);
}

const sa_rule *sa_ruleset_find_rule(const sa_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rs->n_rules; i++)
        if (strcmp(rs->rules[i]->id, id) == 0)
            return rs->rules[i];
    return NULL;
}

sa_service *sa_ruleset_find_service(const sa_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->n_services; i++)
        if (strcmp(rs->services[i]->name, name) == 0)
            return rs->services[i];
    return NULL;
}

int sa_ruleset_assume_version(sa_ruleset *rs, const char *spec, sa_rule_error *err)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || eq[1] == '\0') {
        snprintf(err->msg, sizeof(err->msg),
                 "--assume-version takes SERVICE=VERSION, e.g. orthanc=1.5.7");
        return -1;
    }
    char name[64];
    snprintf(name, sizeof(name), "%.*s", (int)(eq - spec < 63 ? eq - spec : 63), spec);
    sa_service *svc = sa_ruleset_find_service(rs, name);
    if (svc == NULL) {
        snprintf(err->msg, sizeof(err->msg), "--assume-version: unknown service '%s'", name);
        return -1;
    }
    for (const char *p = eq + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.')) {
            snprintf(err->msg, sizeof(err->msg),
                     "--assume-version: version must be digits and dots, e.g. 1.5.7");
            return -1;
        }
    char *v = sa_strdup(eq + 1);
    if (v == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    sa_free(svc->assumed_version);
    svc->assumed_version = v;
    return 0;
}

static int path_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* word occurs in text, not as part of a longer path */
static int has_word(const char *text, const char *word, size_t wl)
{
    if (text == NULL || wl == 0)
        return 0;
    for (const char *p = text; (p = strstr(p, word)) != NULL; p++)
        if ((p == text || !path_char(p[-1])) && !path_char(p[wl]))
            return 1;
    return 0;
}

int sa_rule_reads_default(const sa_rule *rule, const sa_default *d)
{
    const char *star = strstr(d->key, ".*.");
    if (star) {
        size_t pl = (size_t)(star - d->key);
        const char *name = star + 3;
        return rule->for_each && strlen(rule->for_each) == pl &&
               strncmp(rule->for_each, d->key, pl) == 0 &&
               has_word(rule->when_src, name, strlen(name));
    }
    size_t kl = strlen(d->key);
    return has_word(rule->when_src, d->key, kl) || has_word(rule->for_each, d->key, kl) ||
           has_word(rule->at, d->key, kl);
}
