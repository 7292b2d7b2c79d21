/* view.c — the table of service views (see view.h). */
#include "secaudit/view.h"

#include <stdio.h>
#include <string.h>

/* "tree": the document as parsed. */
static int view_tree(sa_doc *doc, sa_node **out, sa_perr *err)
{
    (void)err;
    *out = doc->root;
    return 0;
}

static const sa_node *attr(const sa_node *el, const char *name)
{
    return sa_map_get(el, name, strlen(name));
}

/* "omero-config": etc/grid/config.xml as OMERO and IceGrid read it. The live values are the
 * <property name=… value=…/> children of <properties id="__ACTIVE__">; the view is a flat
 * map name → value (a missing value attribute means ""), each member positioned at its
 * <property> element (key) and at its value attribute (value). Without an __ACTIVE__ block
 * the view is empty and every key takes its default. */
static int view_omero_config(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, 0);
    if (view == NULL)
        goto oom;
    const sa_node *grid = doc->root ? sa_map_get(doc->root, "icegrid", 7) : NULL;
    const sa_node *active = NULL;
    if (grid && grid->type == SA_MAP) {
        view->off = view->key_off = grid->off;
        for (const sa_node *c = grid->first; c && active == NULL; c = c->next) {
            const sa_node *id;
            if (c->type == SA_MAP && strcmp(c->key, "properties") == 0 &&
                (id = attr(c, "@id")) && id->str && strcmp(id->str, "__ACTIVE__") == 0)
                active = c;
        }
    }
    if (active) {
        view->off = view->key_off = active->off;
        for (const sa_node *p = active->first; p; p = p->next) {
            if (p->type != SA_MAP || strcmp(p->key, "property") != 0)
                continue;
            const sa_node *name = attr(p, "@name"), *value = attr(p, "@value");
            if (name == NULL || name->str == NULL || name->len == 0)
                continue;
            sa_node *m = value && value->str
                             ? sa_node_scalar(doc, SA_STR, value->off, value->str, value->len)
                             : sa_node_scalar(doc, SA_STR, p->off, "", 0);
            if (m == NULL || sa_node_set_key(doc, m, name->str, name->len, p->off) < 0)
                goto oom;
            m->flags |= SA_NODE_SYNTH;
            m->origin = p;
            sa_node_append(view, m);
        }
        if (sa_map_mark_dups(view) < 0)
            goto oom;
    }
    *out = view;
    return 0;
oom:
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "%s",
             sa_doc_over_budget(doc) ? "document has too many nodes" : "out of memory");
    return -1;
}

/* A copy of scalar n under key[0..kl) in view (positions kept, origin remembered). */
static int copy_member(sa_doc *doc, sa_node *view, const sa_node *n, const char *key, size_t kl)
{
    sa_node *m = sa_node_scalar(doc, n->type, n->off, n->str ? n->str : "", n->len);
    if (m == NULL || sa_node_set_key(doc, m, key, kl, n->key_off) < 0)
        return -1;
    m->flags |= SA_NODE_SYNTH | (n->flags & SA_NODE_QUOTED);
    m->origin = n;
    sa_node_append(view, m);
    return 0;
}

static int add_pyro_vars(sa_doc *doc, sa_node *view, const sa_node *map)
{
    for (const sa_node *c = map->first; c; c = c->next)
        if (c->type != SA_MAP && c->type != SA_LIST && c->key_len > 5 &&
            memcmp(c->key, "PYRO_", 5) == 0 && copy_member(doc, view, c, c->key + 5,
                                                          c->key_len - 5) < 0)
            return -1;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The host a Pyro name server is started with on an ExecStart= line (-n HOST, --host HOST,
 * --host=HOST), as a member "nameserver.host" positioned at the host. */
static int add_ns_host(sa_doc *doc, sa_node *view, const sa_node *exec)
{
    const char *s = exec->str;
    size_t n = exec->len;
    if (s == NULL)
        return 0;
    static const char *const ns[] = {"pyro4-ns", "pyro5-ns", "pyro-ns", "pyro4-nsd",
                                     "Pyro4.naming", "Pyro5.nameserver", "Pyro4.nsc"};
    int is_ns = 0;
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]) && !is_ns; i++)
        for (size_t k = 0; k + strlen(ns[i]) <= n && !is_ns; k++)
            is_ns = memcmp(s + k, ns[i], strlen(ns[i])) == 0;
    if (!is_ns)
        return 0;
    size_t i = 0, prev_s = 0, prev_l = 0;
    while (i < n) {
        while (i < n && is_blank(s[i]))
            i++;
        size_t ts = i;
        while (i < n && !is_blank(s[i]))
            i++;
        size_t tl = i - ts;
        if (tl == 0)
            break;
        size_t hs = 0, hl = 0;
        if ((prev_l == 2 && memcmp(s + prev_s, "-n", 2) == 0) ||
            (prev_l == 6 && memcmp(s + prev_s, "--host", 6) == 0)) {
            hs = ts;
            hl = tl;
        } else if (tl > 7 && memcmp(s + ts, "--host=", 7) == 0) {
            hs = ts + 7;
            hl = tl - 7;
        } else if (tl > 2 && memcmp(s + ts, "-n", 2) == 0 && s[ts + 2] != '-') {
            hs = ts + 2;
            hl = tl - 2;
        }
        if (hl) {
            sa_node *m = sa_node_scalar(doc, SA_STR, exec->off + hs, s + hs, hl);
            if (m == NULL || sa_node_set_key(doc, m, "nameserver.host", 15, exec->off + hs) < 0)
                return -1;
            m->flags |= SA_NODE_SYNTH;
            m->origin = exec;
            sa_node_append(view, m);
            return 0;
        }
        prev_s = ts;
        prev_l = tl;
    }
    return 0;
}

/* "pyro": Pyro's settings where deployments put them: PYRO_* variables of an env file, of a
 * unit's Environment= lines (the systemd parser's "env" map) and of the EnvironmentFile=s a
 * unit names (merged after it, so they win, as systemd.exec says), as a flat map without the
 * PYRO_ prefix (HOST, SSL, SERIALIZERS_ACCEPTED, ...); and "nameserver.host" from a name
 * server's ExecStart= -n HOST. A later setting of a variable wins. */
static int view_pyro(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, doc->root ? doc->root->off : 0);
    if (view == NULL)
        goto oom;
    for (const sa_node *c = doc->root ? doc->root->first : NULL; c; c = c->next) {
        if (c->type == SA_MAP && c->key && strcmp(c->key, "env") == 0 &&
            (c->flags & SA_NODE_SYNTH)) {
            if (add_pyro_vars(doc, view, c) < 0)
                goto oom;
        } else if (c->type == SA_MAP) {
            for (const sa_node *k = c->first; k; k = k->next)
                if (k->key && strcmp(k->key, "ExecStart") == 0 && add_ns_host(doc, view, k) < 0)
                    goto oom;
        } else if (c->key_len > 5 && memcmp(c->key, "PYRO_", 5) == 0) {
            if (copy_member(doc, view, c, c->key + 5, c->key_len - 5) < 0)
                goto oom;
        }
    }
    if (sa_map_mark_dups(view) < 0)
        goto oom;
    *out = view;
    return 0;
oom:
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "%s",
             sa_doc_over_budget(doc) ? "document has too many nodes" : "out of memory");
    return -1;
}

static const sa_view views[] = {
    {"omero-config", view_omero_config,
     "OMERO config.xml: the __ACTIVE__ profile's properties as a flat name → value map"},
    {"pyro", view_pyro,
     "Pyro: PYRO_* settings of env files, Environment= and EnvironmentFile= of units, without "
     "the prefix; nameserver.host from a name server's -n HOST"},
    {"tree", view_tree, "the document as parsed (the default)"},
};

const sa_view *sa_view_find(const char *name)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(views[i].name, name) == 0)
            return &views[i];
    return NULL;
}
