/* view.c — the table of service views (see view.h). */
#include "secaudit/view.h"

#include <stdio.h>
#include <string.h>

/* A view ran out of memory or over the document's node budget: say which; -1. */
static int view_oom(const sa_doc *doc, sa_perr *err)
{
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "%s",
             sa_doc_over_budget(doc) ? "document has too many nodes" : "out of memory");
    return -1;
}

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

/* The <property name=… value=…/> children of block as members of map (a missing value
 * attribute means ""), each positioned at its <property> element (key) and at its value
 * attribute (value). 0, or -1 when out of memory. */
static int add_properties(sa_doc *doc, sa_node *map, const sa_node *block)
{
    for (const sa_node *p = block->first; p; p = p->next) {
        if (p->type != SA_MAP || strcmp(p->key, "property") != 0)
            continue;
        const sa_node *name = attr(p, "@name"), *value = attr(p, "@value");
        if (name == NULL || name->str == NULL || name->len == 0)
            continue;
        sa_node *m = value && value->str
                         ? sa_node_scalar(doc, SA_STR, value->off, value->str, value->len)
                         : sa_node_scalar(doc, SA_STR, p->off, "", 0);
        if (m == NULL || sa_node_set_key(doc, m, name->str, name->len, p->off) < 0)
            return -1;
        m->flags |= SA_NODE_SYNTH;
        m->origin = p;
        sa_node_append(map, m);
    }
    return sa_map_mark_dups(map);
}

/* "omero-config": etc/grid/config.xml as OMERO and IceGrid read it. The live values are the
 * properties of <properties id="__ACTIVE__">: the view is that flat map name → value.
 * Without an __ACTIVE__ block the view is empty and every key takes its default. The other
 * profiles are not live; they are kept under the member "profiles" (id → name → value,
 * positioned at each <properties> element) so rules can mention them at a low severity.
 * The active profile (omero.config.profile, default "default") is left out of "profiles":
 * __ACTIVE__ is its copy. */
static int view_omero_config(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, 0), *profiles = NULL;
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
        if (add_properties(doc, view, active) < 0)
            goto oom;
    }
    if (grid && grid->type == SA_MAP) {
        const sa_node *cur = sa_map_get(view, "omero.config.profile", 20);
        const char *live = cur && cur->str ? cur->str : "default";
        for (const sa_node *c = grid->first; c; c = c->next) {
            const sa_node *id;
            if (c->type != SA_MAP || strcmp(c->key, "properties") != 0 ||
                (id = attr(c, "@id")) == NULL || id->str == NULL || id->len == 0 ||
                strcmp(id->str, "__ACTIVE__") == 0 || strcmp(id->str, live) == 0)
                continue;
            if (profiles == NULL) {
                if ((profiles = sa_node_new(doc, SA_MAP, grid->off)) == NULL ||
                    sa_node_set_key(doc, profiles, "profiles", 8, grid->off) < 0)
                    goto oom;
                profiles->flags |= SA_NODE_SYNTH;
            }
            sa_node *pm = sa_node_new(doc, SA_MAP, c->off);
            if (pm == NULL || sa_node_set_key(doc, pm, id->str, id->len, c->off) < 0)
                goto oom;
            pm->flags |= SA_NODE_SYNTH;
            pm->origin = c;
            sa_node_append(profiles, pm);
            if (add_properties(doc, pm, c) < 0)
                goto oom;
        }
        if (profiles) {
            sa_node_append(view, profiles);
            if (sa_map_mark_dups(view) < 0)
                goto oom;
        }
    }
    *out = view;
    return 0;
oom:
    return view_oom(doc, err);
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
    return view_oom(doc, err);
}

/* Children of el named name, in order: for (c = first_named(el, n); c; c = next_named(c, n)). */
static const sa_node *next_named(const sa_node *c, const char *name)
{
    for (; c; c = c->next)
        if (c->type == SA_MAP && c->key && strcmp(c->key, name) == 0)
            return c;
    return NULL;
}
#define EACH_CHILD(c, el, name) \
    for (const sa_node *c = next_named((el)->first, name); c; c = next_named(c->next, name))

static int attr_is(const sa_node *el, const char *name, const char *want)
{
    const sa_node *a = attr(el, name);
    return a && a->str && strcmp(a->str, want) == 0;
}

/* Copy attribute a of element el into map under key, positioned at el (key) and at the
 * attribute's value; no-op when absent. */
static int copy_attr(sa_doc *doc, sa_node *map, const sa_node *el, const char *a,
                     const char *key)
{
    const sa_node *v = attr(el, a);
    if (v == NULL || v->str == NULL)
        return 0;
    if (copy_member(doc, map, v, key, strlen(key)) < 0)
        return -1;
    map->last->key_off = el->off;
    return 0;
}

/* A synthetic map member key of parent (created on first use). */
static sa_node *sub_map(sa_doc *doc, sa_node *parent, sa_node **slot, const char *key,
                        size_t off)
{
    if (*slot)
        return *slot;
    sa_node *m = sa_node_new(doc, SA_MAP, off);
    if (m == NULL || sa_node_set_key(doc, m, key, strlen(key), off) < 0)
        return NULL;
    m->flags |= SA_NODE_SYNTH;
    sa_node_append(parent, m);
    return *slot = m;
}

/* "icegrid": OMERO's IceGrid descriptors (etc/grid/templates.xml, default.xml, windefault.xml)
 * as the Glacier2 router will run them:
 *   variables.NAME        <variable name= value=/> of the <application> (INSECUREROUTER …)
 *   glacier2.PROPERTY     the <property> elements of the Glacier2Template server's own
 *                         <properties> block (not those of optional <target>s)
 *   glacier2.client-endpoints / glacier2.server-endpoints
 *                         the attributes of a <server-instance template="Glacier2Template">
 * Properties that come through refid (the Profile block, config.xml) are not resolved here:
 * config.xml is judged by the omero-config view. */
static int view_icegrid(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, 0), *vars = NULL, *g2 = NULL;
    if (view == NULL)
        goto oom;
    const sa_node *grid = doc->root ? sa_map_get(doc->root, "icegrid", 7) : NULL;
    if (grid && grid->type == SA_MAP) {
        view->off = view->key_off = grid->off;
        const sa_node *scopes[2] = {grid, NULL};
        EACH_CHILD(app, grid, "application") {
            scopes[1] = app;
            EACH_CHILD(v, app, "variable") {
                const sa_node *name = attr(v, "@name");
                if (name == NULL || name->str == NULL || name->len == 0)
                    continue;
                if (sub_map(doc, view, &vars, "variables", grid->off) == NULL ||
                    copy_attr(doc, vars, v, "@value", name->str) < 0)
                    goto oom;
            }
            EACH_CHILD(node, app, "node") {
                EACH_CHILD(si, node, "server-instance") {
                    if (!attr_is(si, "@template", "Glacier2Template"))
                        continue;
                    if (sub_map(doc, view, &g2, "glacier2", grid->off) == NULL ||
                        copy_attr(doc, g2, si, "@client-endpoints", "client-endpoints") < 0 ||
                        copy_attr(doc, g2, si, "@server-endpoints", "server-endpoints") < 0)
                        goto oom;
                }
            }
        }
        for (size_t k = 0; k < 2 && scopes[k]; k++) {
            EACH_CHILD(t, scopes[k], "server-template") {
                if (!attr_is(t, "@id", "Glacier2Template"))
                    continue;
                EACH_CHILD(srv, t, "server") {
                    EACH_CHILD(props, srv, "properties") {
                        if (sub_map(doc, view, &g2, "glacier2", t->off) == NULL ||
                            add_properties(doc, g2, props) < 0)
                            goto oom;
                    }
                }
            }
        }
        if ((vars && sa_map_mark_dups(vars) < 0) || (g2 && sa_map_mark_dups(g2) < 0))
            goto oom;
    }
    *out = view;
    return 0;
oom:
    return view_oom(doc, err);
}

/* "pyro-nsd": /etc/default/pyro4-nsd, the file Pyro4's contrib init script
 * (contrib/init.d/pyro4-nsd) sources: the pyro view, plus the script's own variables
 * ENABLED, LISTEN_ADDRESS and LISTEN_PORT as initscript.NAME. */
static int view_pyro_nsd(sa_doc *doc, sa_node **out, sa_perr *err)
{
    if (view_pyro(doc, out, err) < 0)
        return -1;
    static const char *const names[] = {"ENABLED", "LISTEN_ADDRESS", "LISTEN_PORT"};
    for (const sa_node *c = doc->root ? doc->root->first : NULL; c; c = c->next) {
        if (c->type == SA_MAP || c->type == SA_LIST || c->key == NULL)
            continue;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            char key[32];
            if (strcmp(c->key, names[i]) != 0)
                continue;
            int kl = snprintf(key, sizeof(key), "initscript.%s", names[i]);
            if (copy_member(doc, *out, c, key, (size_t)kl) < 0)
                goto oom;
        }
    }
    if (sa_map_mark_dups(*out) < 0)
        goto oom;
    return 0;
oom:
    return view_oom(doc, err);
}

/* "mongod": mongod.conf. A YAML mapping is the view as parsed. A file whose YAML root is not
 * a mapping is the legacy (2.4) "key = value" format, which mongod still reads when its
 * YAML parse gives a scalar: it is parsed again as INI (same text, so the same offsets) and
 * its options are mapped onto the YAML paths the rules read, e.g. bind_ip -> net.bindIp,
 * noauth = true -> security.authorization: disabled. Options without a YAML counterpart that
 * a rule reads are left out. */
static int view_mongod(sa_doc *doc, sa_node **out, sa_perr *err)
{
    if (doc->root == NULL || doc->root->type == SA_MAP) {
        *out = doc->root;
        return 0;
    }
    static const struct {
        const char *legacy, *path, *if_true, *if_false;  /* if_*: a value set instead */
    } map[] = {
        {"auth", "security.authorization", "enabled", "disabled"},
        {"bind_ip", "net.bindIp", NULL, NULL},
        {"bind_ip_all", "net.bindIpAll", NULL, NULL},
        {"keyFile", "security.keyFile", NULL, NULL},
        {"noauth", "security.authorization", "disabled", "enabled"},
        {"noscripting", "security.javascriptEnabled", "false", "true"},
        {"sslAllowInvalidCertificates", "net.ssl.allowInvalidCertificates", NULL, NULL},
        {"sslMode", "net.ssl.mode", NULL, NULL},
        {"transitionToAuth", "security.transitionToAuth", NULL, NULL},
    };
    sa_doc *ini = sa_doc_new(doc->text, doc->len, doc->lim);
    sa_node *view = sa_node_new(doc, SA_MAP, 0);
    if (ini == NULL || view == NULL) {
        sa_doc_free(ini);
        goto oom;
    }
    if (sa_parse_ini(ini, SA_INI_GENERIC, err) < 0) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "legacy key = value format: %.200s", err->msg);
        memcpy(err->msg, msg, sizeof(msg));
        sa_doc_free(ini);
        return -1;
    }
    for (const sa_node *c = ini->root ? ini->root->first : NULL; c; c = c->next) {
        if (c->type == SA_MAP || c->type == SA_LIST || c->key == NULL)
            continue;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (strcmp(c->key, map[i].legacy) != 0)
                continue;
            const char *v = c->str ? c->str : "";
            size_t vl = c->str ? c->len : 0;
            if (map[i].if_true) {
                int t = strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || vl == 0;
                v = t ? map[i].if_true : map[i].if_false;
                vl = strlen(v);
            }
            sa_node *m = sa_node_scalar(doc, SA_STR, c->off, v, vl);
            if (m == NULL ||
                sa_node_set_key(doc, m, map[i].path, strlen(map[i].path), c->key_off) < 0) {
                sa_doc_free(ini);
                goto oom;
            }
            m->flags |= SA_NODE_SYNTH;
            sa_node_append(view, m);
        }
    }
    sa_doc_free(ini);
    if (sa_map_mark_dups(view) < 0)
        goto oom;
    *out = view;
    return 0;
oom:
    return view_oom(doc, err);
}

/* "systemd": a unit as systemd applies it: the unit file and its drop-ins (in the order
 * evaluated: unit first, then drop-ins by name) merged section by section, a later
 * assignment winning (the last occurrence of a key); "env" holds every Environment=
 * variable of them all, later settings winning. Environment files are not part of it. */
static int view_systemd(sa_doc *doc, sa_node **out, sa_perr *err)
{
    sa_node *view = sa_node_new(doc, SA_MAP, doc->root ? doc->root->off : 0);
    if (view == NULL)
        goto oom;
    for (const sa_node *c = doc->root ? doc->root->first : NULL; c; c = c->next) {
        if (c->type != SA_MAP || c->key == NULL)
            continue;  /* an environment file's variables, or stray scalars */
        sa_node *sec = NULL;
        for (sa_node *v = view->first; v; v = v->next)
            if (strcmp(v->key, c->key) == 0)
                sec = v;
        if (sec == NULL) {
            if ((sec = sa_node_new(doc, SA_MAP, c->off)) == NULL ||
                sa_node_set_key(doc, sec, c->key, c->key_len, c->key_off) < 0)
                goto oom;
            sec->flags |= SA_NODE_SYNTH;
            sec->origin = c;
            sa_node_append(view, sec);
        }
        for (const sa_node *k = c->first; k; k = k->next)
            if (k->type != SA_MAP && k->type != SA_LIST && k->key &&
                copy_member(doc, sec, k, k->key, k->key_len) < 0)
                goto oom;
    }
    for (sa_node *v = view->first; v; v = v->next)
        if (sa_map_mark_dups(v) < 0)
            goto oom;
    *out = view;
    return 0;
oom:
    return view_oom(doc, err);
}

static const sa_view views[] = {
    {"icegrid", view_icegrid,
     "OMERO IceGrid descriptors (templates.xml, default.xml): variables.NAME, the "
     "Glacier2Template's own properties and its instance's endpoints under glacier2."},
    {"mongod", view_mongod,
     "mongod.conf: the YAML as parsed, or a legacy key = value file mapped onto the YAML "
     "paths (bind_ip -> net.bindIp, noauth -> security.authorization, ...)"},
    {"nginx", sa_view_nginx,
     "nginx: protocols, ciphers and security headers as written; servers with their "
     "effective TLS settings and headers; headers dropped by add_header inheritance; "
     "proxies with their upstream's reach and proxy_ssl_verify"},
    {"omero-config", view_omero_config,
     "OMERO config.xml: the __ACTIVE__ profile's properties as a flat name → value map; the "
     "other profiles under profiles.<id>"},
    {"pyro", view_pyro,
     "Pyro: PYRO_* settings of env files, Environment= and EnvironmentFile= of units, without "
     "the prefix; nameserver.host from a name server's -n HOST"},
    {"pyro-nsd", view_pyro_nsd,
     "Pyro4's /etc/default/pyro4-nsd: the pyro view plus the init script's ENABLED, "
     "LISTEN_ADDRESS and LISTEN_PORT as initscript.NAME"},
    {"systemd", view_systemd,
     "a systemd unit with its drop-ins merged section by section (later assignments win); "
     "env: every Environment= variable"},
    {"tree", view_tree, "the document as parsed (the default)"},
};

const sa_view *sa_view_find(const char *name)
{
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(views[i].name, name) == 0)
            return &views[i];
    return NULL;
}
