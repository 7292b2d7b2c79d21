/* view.c — the table of service views (see view.h). */
#include "secaudit/view.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secaudit/alloc.h"

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

/* ---- iptables ----------------------------------------------------------------------------
 * "iptables": an iptables-save file as the kernel will run it. The filter table's INPUT
 * chain is walked in order (the order -A and -I give), following jumps to user chains
 * (-j, -g) and RETURN, with the conditions of the jump carried into the chain; a chain
 * already on the walk's stack (a loop, which iptables-restore refuses) is not entered again.
 * What the walk tracks is per service port ("slot": the database and routing-engine ports
 * below, each with its protocol), so it costs O(rule visits × slots):
 *   closed[slot]  a DROP/REJECT that matches every new packet to the port has been passed;
 *   open_by[slot] an ACCEPT that matches every new packet to the port from any source.
 * The view's members (all synthetic, positioned where a finding should point):
 *   input_open / forward_open   present when the chain accepts what no rule drops: policy
 *                  ACCEPT (also when no :CHAIN line sets it) and no catch-all DROP/REJECT
 *                  reached, or an ACCEPT that matches everything; at the policy (or rule)
 *   exposed        list, one element per ACCEPT rule (and severity class) that accepts new
 *                  connections to a service port from any source (no -s, 0.0.0.0/0 or ::/0,
 *                  or a negated -s; not -i lo or -d 127.x/::1; a state match with NEW, if
 *                  any; other match options do not count as a restriction) before any DROP
 *                  or REJECT covering that port: {text, ports, critical}
 *   shadowed       list: an ACCEPT rule restricted by source whose port an earlier rule
 *                  already accepts from any source: {text, ports} (ports names that line)
 *   unreachable    list: a rule after an unconditional ACCEPT, DROP, REJECT, RETURN or goto
 *                  (-g) in the same filter chain: {text, after}
 *   ipv6_gap       when this is an IPv4 file (the scan read its sibling, see scan.c), INPUT
 *                  is strict and the IPv6 file is missing, has no filter table or leaves
 *                  INPUT open: a sentence saying which, at the INPUT policy */

enum { N_SLOTS = 12, ALL_SLOTS = (1u << N_SLOTS) - 1, UDP_SLOTS = 1u << 11,
       TCP_SLOTS = ALL_SLOTS & ~UDP_SLOTS };
static const struct {
    unsigned port;
    const char *proto;
    int critical;  /* MongoDB, Redis: often no authentication at all */
} slots[N_SLOTS] = {
    {5432, "tcp", 0},  {27017, "tcp", 1}, {3306, "tcp", 0},  {6379, "tcp", 1},
    {5000, "tcp", 0},  {6000, "tcp", 0},  {8080, "tcp", 0},  {10000, "tcp", 0},
    {10001, "tcp", 0}, {10002, "tcp", 0}, {10003, "tcp", 0}, {5060, "udp", 0},
};

/* conditions of a rule (or of the path that reached it) */
enum {
    C_PP = 1,      /* protocol or port */
    C_SRC = 2,     /* any source condition (also a negated one) */
    C_IFACE = 4,   /* -i */
    C_STATE = 8,   /* a state match, --syn */
    C_OTHER = 16   /* anything else: -d, -o, -f, --sport, -m limit, ... */
};
/* what the conditions mean for exposure */
enum {
    S_WORLD = 1,   /* any source may match (no -s, a world -s, or a negated -s) */
    S_LO = 2,      /* -i lo */
    S_NEW = 4,     /* new connections match */
    S_STRICT = 8   /* restricted to some sources (-s, --src-range, ipset src) */
};

typedef struct ipt_ctx {
    unsigned mask, cond, sem;
} ipt_ctx;

typedef struct ipt_rule {
    const sa_node *rec, *text, *dports, *line, *insert;
    const char *target;
    size_t chain;         /* index into the chain table */
    size_t tchain;        /* jump/goto target chain, or SIZE_MAX */
    int is_goto;
    unsigned mask, cond, sem;
    unsigned exposed, shadow;
    const sa_node *shadow_by;  /* the rule that opened the first shadowed port */
    const sa_node *dead_after; /* the unconditional rule this one comes after */
} ipt_rule;

typedef struct ipt_chain {
    const char *name;
    size_t len;
    const sa_node *policy;  /* NULL: none declared */
    size_t *order;          /* rule indexes in the kernel's order */
    size_t n, cap;
    size_t *front;          /* -I 1 rules, newest last, until chain_fix puts them first */
    size_t nf, capf;
    int on_stack;
    int seen;               /* entered before with this context and walk state: */
    unsigned seen_mask, seen_cond, seen_sem, seen_closed, seen_open;
} ipt_chain;

typedef struct ipt_walk {
    ipt_rule *rules;
    size_t n_rules;
    ipt_chain *chains;
    size_t n_chains;
    const sa_node *filter;
} ipt_walk;

typedef struct ipt_result {
    int catch_all;             /* a catch-all DROP/REJECT was reached */
    const sa_node *accept_all; /* an ACCEPT matching everything was reached first */
} ipt_result;

static int ieq(const sa_node *n, const char *s)
{
    return n && n->str && strcasecmp(n->str, s) == 0;
}

static const sa_node *mem(const sa_node *m, const char *key)
{
    return m && m->type == SA_MAP ? sa_map_get(m, key, strlen(key)) : NULL;
}

/* A source of the whole address space (0.0.0.0/0, ::/0, 0/0, a 0 mask), in a comma list. */
static int world_source(const sa_node *n)
{
    if (n == NULL || n->str == NULL)
        return 1;
    const char *s = n->str;
    while (*s) {
        size_t l = strcspn(s, ",");
        const char *slash = memchr(s, '/', l);
        if (slash) {
            size_t ml = l - (size_t)(slash + 1 - s);
            const char *m = slash + 1;
            int zero = ml > 0;
            for (size_t i = 0; i < ml; i++)
                zero &= m[i] == '0' || m[i] == '.' || m[i] == ':';
            if (zero)
                return 1;
        }
        s += l;
        if (*s == ',')
            s++;
    }
    return 0;
}

static unsigned proto_mask(const sa_node *p, int neg)
{
    unsigned m;
    if (p == NULL)
        m = ALL_SLOTS;
    else if (ieq(p, "tcp") || ieq(p, "6"))
        m = TCP_SLOTS;
    else if (ieq(p, "udp") || ieq(p, "17"))
        m = UDP_SLOTS;
    else if (ieq(p, "all") || ieq(p, "0"))
        m = ALL_SLOTS;
    else
        m = 0;
    return neg ? ALL_SLOTS & ~m : m;
}

/* The port range of one --dport item ("N", "N:M", ":M", "N:", a few service names). */
static int port_range(const sa_node *n, unsigned *lo, unsigned *hi)
{
    static const struct {
        const char *name;
        unsigned port;
    } names[] = {{"postgresql", 5432}, {"mysql", 3306},  {"mongodb", 27017}, {"redis", 6379},
                 {"sip", 5060},        {"http-alt", 8080}, {"webcache", 8080}};
    if (n->str == NULL || n->len == 0 || n->len > 16)
        return 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(n->str, names[i].name) == 0) {
            *lo = *hi = names[i].port;
            return 1;
        }
    const char *s = n->str;
    unsigned a = 0, b = 65535;
    size_t i = 0;
    int da = 0, db = 0;
    while (s[i] >= '0' && s[i] <= '9' && a <= 65535) {
        a = a * 10 + (unsigned)(s[i++] - '0');
        da = 1;
    }
    if (s[i] == ':') {
        i++;
        if (s[i]) {
            b = 0;
            while (s[i] >= '0' && s[i] <= '9' && b <= 65535) {
                b = b * 10 + (unsigned)(s[i++] - '0');
                db = 1;
            }
            if (!db)
                return 0;
        }
        if (!da)
            a = 0;
    } else {
        if (!da)
            return 0;
        b = a;
    }
    if (s[i] != '\0' || a > 65535 || b > 65535)
        return 0;
    *lo = a;
    *hi = b;
    return 1;
}

static unsigned item_mask(const sa_node *item)
{
    unsigned lo, hi, m = 0;
    if (!port_range(item, &lo, &hi))
        return 0;
    for (unsigned k = 0; k < N_SLOTS; k++)
        if (slots[k].port >= lo && slots[k].port <= hi)
            m |= 1u << k;
    return m;
}

static int list_has(const sa_node *l, const char *s)
{
    for (const sa_node *c = l ? l->first : NULL; c; c = c->next)
        if (ieq(c, s))
            return 1;
    return 0;
}

/* The members of a rule the walk reads, found in one pass (a rule has a dozen). */
typedef struct ipt_mem {
    const sa_node *chain, *insert, *source, *dest, *proto, *in, *out, *jump, *go, *smatch,
        *dports, *state, *frag, *syn, *neg, *other, *line, *text;
} ipt_mem;

static void members(const sa_node *rec, ipt_mem *m)
{
    static const struct {
        const char *key;
        size_t at;
    } keys[] = {
        {"chain", offsetof(ipt_mem, chain)},     {"insert", offsetof(ipt_mem, insert)},
        {"source", offsetof(ipt_mem, source)},   {"destination", offsetof(ipt_mem, dest)},
        {"protocol", offsetof(ipt_mem, proto)},  {"in", offsetof(ipt_mem, in)},
        {"out", offsetof(ipt_mem, out)},         {"jump", offsetof(ipt_mem, jump)},
        {"goto", offsetof(ipt_mem, go)},         {"source_match", offsetof(ipt_mem, smatch)},
        {"dports", offsetof(ipt_mem, dports)},   {"state", offsetof(ipt_mem, state)},
        {"fragment", offsetof(ipt_mem, frag)},   {"syn", offsetof(ipt_mem, syn)},
        {"negated", offsetof(ipt_mem, neg)},     {"other", offsetof(ipt_mem, other)},
        {"line", offsetof(ipt_mem, line)},       {"text", offsetof(ipt_mem, text)},
    };
    memset(m, 0, sizeof(*m));
    for (const sa_node *c = rec->first; c; c = c->next) {
        if (c->key == NULL)
            continue;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (c->key[0] == keys[i].key[0] && strcmp(c->key, keys[i].key) == 0) {
                *(const sa_node **)((char *)m + keys[i].at) = c;  /* the last one wins */
                break;
            }
    }
}

/* What a rule matches, from its parsed members. */
static void classify(ipt_rule *r, const ipt_mem *m)
{
    const sa_node *neg = m->neg, *src = m->source, *proto = m->proto, *in = m->in,
                  *state = m->state;
    int src_neg = mem(neg, "source") != NULL;
    r->cond = r->sem = 0;
    /* protocol and ports */
    r->mask = proto_mask(proto, mem(neg, "protocol") != NULL);
    if (proto && (!(ieq(proto, "all") || ieq(proto, "0")) || mem(neg, "protocol")))
        r->cond |= C_PP;
    r->dports = m->dports;
    if (r->dports) {
        unsigned pm = 0;
        for (const sa_node *c = r->dports->first; c; c = c->next)
            pm |= item_mask(c);
        if (mem(neg, "dports"))
            pm = ALL_SLOTS & ~pm;
        r->mask &= pm;
        r->cond |= C_PP;
    }
    /* source */
    const sa_node *sm = m->smatch;
    int world = src == NULL || world_source(src);
    if (src && !(world && !src_neg))
        r->cond |= C_SRC;
    if (sm)
        r->cond |= C_SRC;
    if (sm == NULL && (src == NULL || src_neg || world))
        r->sem |= S_WORLD;
    if (sm || (src && !src_neg && !world))
        r->sem |= S_STRICT;
    if (src && src_neg && world)
        r->mask = 0;  /* "! -s 0.0.0.0/0" matches nothing */
    /* interface */
    if (in) {
        r->cond |= C_IFACE;
        if (!mem(neg, "in") && in->str && strcmp(in->str, "lo") == 0)
            r->sem |= S_LO;
    }
    /* state */
    int new_ok = 1;
    if (state) {
        int has_new = list_has(state, "NEW");
        new_ok = mem(neg, "state") ? !has_new : has_new;
        r->cond |= C_STATE;
    }
    if (m->syn) {
        if (mem(neg, "syn"))
            new_ok = 0;
        r->cond |= C_STATE;
    }
    if (new_ok)
        r->sem |= S_NEW;
    if (m->dest || m->out || m->frag || m->other)
        r->cond |= C_OTHER;
    /* to a loopback address: the kernel drops such packets arriving from outside */
    const sa_node *d = m->dest;
    if (d && d->str && !mem(neg, "destination") &&
        (strncmp(d->str, "127.", 4) == 0 || strcmp(d->str, "::1") == 0 ||
         strcmp(d->str, "::1/128") == 0))
        r->sem |= S_LO;
    const sa_node *j = m->jump;
    if (j == NULL)
        j = m->go, r->is_goto = j != NULL;
    r->target = j && j->str ? j->str : NULL;
    r->text = m->text;
    r->line = m->line;
}

static int cmp_chain(const void *a, const void *b)
{
    const ipt_chain *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t find_chain(const ipt_walk *w, const char *name, size_t len)
{
    ipt_chain key = {.name = name, .len = len};
    const ipt_chain *c = w->n_chains
                             ? bsearch(&key, w->chains, w->n_chains, sizeof(key), cmp_chain)
                             : NULL;
    return c ? (size_t)(c - w->chains) : SIZE_MAX;
}

static void walk_free(ipt_walk *w)
{
    for (size_t i = 0; i < w->n_chains; i++) {
        sa_free(w->chains[i].order);
        sa_free(w->chains[i].front);
    }
    sa_free(w->chains);
    sa_free(w->rules);
    memset(w, 0, sizeof(*w));
}

static int grow(size_t **v, size_t *cap, size_t n)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    if (nc > SIZE_MAX / sizeof(size_t))
        return -1;
    size_t *x = sa_realloc(*v, nc * sizeof(size_t));
    if (x == NULL)
        return -1;
    *v = x;
    *cap = nc;
    return 0;
}

/* Put the -I 1 rules (newest first) before the others: order is final after this. */
static int chain_fix(ipt_chain *c)
{
    if (c->nf == 0)
        return 0;
    if (c->n + c->nf < c->n || grow(&c->order, &c->cap, c->n + c->nf) < 0)
        return -1;
    while (c->cap < c->n + c->nf)
        if (grow(&c->order, &c->cap, c->cap) < 0)
            return -1;
    memmove(c->order + c->nf, c->order, c->n * sizeof(size_t));
    for (size_t k = 0; k < c->nf; k++)
        c->order[k] = c->front[c->nf - 1 - k];
    c->n += c->nf;
    c->nf = 0;
    return 0;
}

/* Add rule i to chain c: at the end (-A), at the front (-I, -I 1: O(1), kept apart until
 * chain_fix) or at position pos (-I pos: the elements after it move; *moves counts them). */
static int chain_put(ipt_chain *c, size_t i, size_t pos, size_t *moves)
{
    if (pos == 0) {
        if (grow(&c->front, &c->capf, c->nf) < 0)
            return -1;
        c->front[c->nf++] = i;
        return 0;
    }
    if (pos != SIZE_MAX && c->nf && chain_fix(c) < 0)
        return -1;
    if (grow(&c->order, &c->cap, c->n) < 0)
        return -1;
    if (pos == SIZE_MAX || pos >= c->n) {
        c->order[c->n++] = i;  /* -A (or an -I past the end) */
        return 0;
    }
    memmove(c->order + pos + 1, c->order + pos, (c->n - pos) * sizeof(size_t));
    *moves += c->n - pos;
    c->order[pos] = i;
    c->n++;
    return 0;
}

/* The chains and rules of one filter table, rules classified and in the kernel's order.
 * 0, -1 out of memory, -2 too costly to order (message in err). */
static int walk_init(ipt_walk *w, const sa_node *filter, sa_perr *err)
{
    memset(w, 0, sizeof(*w));
    w->filter = filter;
    const sa_node *chains = mem(filter, "chains"), *rules = mem(filter, "rules");
    size_t nr = rules && rules->type == SA_LIST ? rules->count : 0;
    size_t nc = chains && chains->type == SA_MAP ? chains->count : 0;
    w->rules = sa_calloc(nr ? nr : 1, sizeof(*w->rules));
    w->chains = sa_calloc(nr + nc + 1, sizeof(*w->chains));
    if (w->rules == NULL || w->chains == NULL)
        return -1;
    for (const sa_node *c = nc ? chains->first : NULL; c; c = c->next)
        if (c->key)
            w->chains[w->n_chains++] = (ipt_chain){.name = c->key, .len = c->key_len,
                                                   .policy = mem(c, "policy")};
    for (const sa_node *r = nr ? rules->first : NULL; r; r = r->next) {
        ipt_mem m;
        if (r->type != SA_MAP)
            continue;
        members(r, &m);
        const sa_node *ch = m.chain;
        if (ch == NULL || ch->str == NULL)
            continue;
        ipt_rule *x = &w->rules[w->n_rules++];
        x->rec = r;
        x->tchain = x->chain = SIZE_MAX;
        x->insert = m.insert;
        classify(x, &m);
        /* one entry per run of rules of the same chain (the sort below dedupes the rest) */
        const ipt_chain *last = w->n_chains > nc ? &w->chains[w->n_chains - 1] : NULL;
        if (last == NULL || last->len != ch->len || memcmp(last->name, ch->str, ch->len) != 0)
            w->chains[w->n_chains++] = (ipt_chain){.name = ch->str, .len = ch->len};
    }
    /* one entry per name: sorted, the declared one (with a policy; the last declaration,
     * as a repeated :CHAIN line wins) kept */
    if (w->n_chains > 1)
        qsort(w->chains, w->n_chains, sizeof(*w->chains), cmp_chain);
    size_t k = 0;
    for (size_t i = 0; i < w->n_chains; i++) {
        if (k && cmp_chain(&w->chains[k - 1], &w->chains[i]) == 0) {
            if (w->chains[i].policy &&
                (w->chains[k - 1].policy == NULL ||
                 w->chains[i].policy->off > w->chains[k - 1].policy->off))
                w->chains[k - 1].policy = w->chains[i].policy;
            continue;
        }
        w->chains[k++] = w->chains[i];
    }
    w->n_chains = k;
    size_t moves = 0;
    for (size_t i = 0; i < w->n_rules; i++) {
        ipt_rule *x = &w->rules[i];
        const sa_node *ch = mem(x->rec, "chain"), *ins = x->insert;
        x->chain = find_chain(w, ch->str, ch->len);
        if (x->target)
            x->tchain = find_chain(w, x->target, strlen(x->target));
        size_t pos = SIZE_MAX;
        if (ins && ins->str) {
            unsigned long v = strtoul(ins->str, NULL, 10);
            pos = v > 0 ? (size_t)v - 1 : 0;
        }
        if (chain_put(&w->chains[x->chain], i, pos, &moves) < 0)
            return -1;
        if (moves > 64u * 1024 * 1024) {
            err->off = x->rec->off;
            snprintf(err->msg, sizeof(err->msg),
                     "too many -I insertions in the middle of chains to put the rules in "
                     "order; not assessed");
            return -2;
        }
    }
    for (size_t i = 0; i < w->n_chains; i++)
        if (chain_fix(&w->chains[i]) < 0)
            return -1;
    return 0;
}

static int is_verdict(const char *t, const char *v)
{
    return t && strcmp(t, v) == 0;
}

typedef struct ipt_frame {
    size_t chain, pos;
    ipt_ctx ctx;
} ipt_frame;

/* Walk the chain named start from its first rule (see the comment above). With mark set,
 * the rules' exposed/shadow fields are filled. 0, -1 out of memory, -2 too costly. */
static int walk_chain(ipt_walk *w, const char *start, int mark, ipt_result *out, sa_perr *err)
{
    memset(out, 0, sizeof(*out));
    size_t c0 = find_chain(w, start, strlen(start));
    if (c0 == SIZE_MAX)
        return 0;
    unsigned closed = 0, open = 0;
    const sa_node *open_by[N_SLOTS] = {0};
    size_t cap = 16, depth = 0, visits = 0;
    size_t budget = 16 * w->n_rules + 65536;
    ipt_frame *st = sa_malloc(cap * sizeof(*st));
    if (st == NULL)
        return -1;
    for (size_t i = 0; i < w->n_chains; i++)
        w->chains[i].on_stack = w->chains[i].seen = 0;
    st[depth++] = (ipt_frame){.chain = c0, .ctx = {ALL_SLOTS, 0, S_WORLD | S_NEW}};
    w->chains[c0].on_stack = 1;
    int rc = 0;
    while (depth > 0) {
        ipt_frame *f = &st[depth - 1];
        ipt_chain *c = &w->chains[f->chain];
        if (f->pos >= c->n) {
            c->on_stack = 0;
            depth--;
            continue;
        }
        if (++visits > budget) {
            err->off = w->filter->off;
            snprintf(err->msg, sizeof(err->msg),
                     "the filter table's chains jump to each other too often to evaluate "
                     "(more than %zu rule visits); not assessed", budget);
            rc = -2;
            break;
        }
        ipt_rule *r = &w->rules[c->order[f->pos++]];
        ipt_ctx e = {f->ctx.mask & r->mask, f->ctx.cond | r->cond, 0};
        e.sem = (f->ctx.sem & r->sem & (S_WORLD | S_NEW)) |
                ((f->ctx.sem | r->sem) & (S_LO | S_STRICT));
        int own_uncond = r->cond == 0, all = e.cond == 0;
        int pure = !(e.cond & (C_SRC | C_IFACE | C_OTHER)) && (e.sem & S_NEW);
        if (is_verdict(r->target, "ACCEPT")) {
            if (mark && (e.sem & S_WORLD) && !(e.sem & S_LO) && (e.sem & S_NEW))
                r->exposed |= e.mask & ~closed;
            if (mark && (e.sem & S_STRICT) && (e.mask & open) && r->shadow_by == NULL) {
                r->shadow = e.mask & open;
                for (unsigned k = 0; k < N_SLOTS; k++)
                    if (r->shadow & (1u << k)) {
                        r->shadow_by = open_by[k];
                        break;
                    }
            }
            if (pure) {
                unsigned fresh = e.mask & ~closed & ~open;
                for (unsigned k = 0; k < N_SLOTS; k++)
                    if (fresh & (1u << k))
                        open_by[k] = r->rec;
                open |= fresh;
            }
            if (all && out->accept_all == NULL && !out->catch_all) {
                out->accept_all = r->rec;
                break;
            }
            if (own_uncond)
                f->pos = c->n;
        } else if (is_verdict(r->target, "DROP") || is_verdict(r->target, "REJECT")) {
            if (pure) {
                closed |= e.mask;
                if (!(e.cond & C_PP)) {
                    out->catch_all = 1;
                    break;
                }
            }
            if (own_uncond)
                f->pos = c->n;
        } else if (is_verdict(r->target, "RETURN")) {
            if (own_uncond)
                f->pos = c->n;
        } else if (r->tchain != SIZE_MAX && !w->chains[r->tchain].on_stack) {
            ipt_chain *t = &w->chains[r->tchain];
            if (r->is_goto && own_uncond)
                f->pos = c->n;  /* the chain gone to returns to our caller */
            /* nothing new can come of entering: no service port and never a catch-all,
             * or the same context and walk state as the last time (many rules jumping to
             * one chain) */
            if ((e.mask == 0 && (e.cond & C_PP)) ||
                (t->seen && t->seen_mask == e.mask && t->seen_cond == e.cond &&
                 t->seen_sem == e.sem && t->seen_closed == closed && t->seen_open == open))
                continue;
            t->seen = 1;
            t->seen_mask = e.mask;
            t->seen_cond = e.cond;
            t->seen_sem = e.sem;
            t->seen_closed = closed;
            t->seen_open = open;
            if (depth == cap) {
                ipt_frame *v = sa_realloc(st, 2 * cap * sizeof(*v));
                if (v == NULL) {
                    rc = -1;
                    break;
                }
                st = v;
                cap *= 2;
                f = &st[depth - 1];
            }
            st[depth++] = (ipt_frame){.chain = r->tchain, .ctx = e};
            w->chains[r->tchain].on_stack = 1;
        }
    }
    sa_free(st);
    return rc;
}

/* Synthetic scalar key = s[0..n) in map, at off, standing for origin. */
static sa_node *put_str(sa_doc *doc, sa_node *map, const char *key, const char *s, size_t n,
                        size_t off, const sa_node *origin)
{
    sa_node *m = sa_node_scalar(doc, SA_STR, off, s, n);
    if (m == NULL || sa_node_set_key(doc, m, key, strlen(key), off) < 0)
        return NULL;
    m->flags |= SA_NODE_SYNTH;
    m->origin = origin;
    sa_node_append(map, m);
    return m;
}

static sa_node *put_list(sa_doc *doc, sa_node *view, sa_node **slot, const char *key)
{
    if (*slot)
        return *slot;
    sa_node *l = sa_node_new(doc, SA_LIST, view->off);
    if (l == NULL || sa_node_set_key(doc, l, key, strlen(key), view->off) < 0)
        return NULL;
    l->flags |= SA_NODE_SYNTH;
    sa_node_append(view, l);
    return *slot = l;
}

/* A list element standing for rule r: a map at off with the member text. */
static sa_node *put_elem(sa_doc *doc, sa_node *list, const ipt_rule *r, size_t off)
{
    sa_node *m = sa_node_new(doc, SA_MAP, off);
    if (m == NULL)
        return NULL;
    m->flags |= SA_NODE_SYNTH;
    m->origin = r->rec;
    sa_node_append(list, m);
    const sa_node *t = r->text;
    if (put_str(doc, m, "text", t && t->str ? t->str : "", t && t->str ? t->len : 0,
                r->rec->off, r->rec) == NULL)
        return NULL;
    return m;
}

/* "5432/tcp, 27017/tcp" for the slots of mask, into buf. */
static void slot_names(unsigned mask, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (unsigned k = 0; k < N_SLOTS && o < cap; k++)
        if (mask & (1u << k))
            o += (size_t)snprintf(buf + o, cap - o, "%s%u/%s", o ? ", " : "", slots[k].port,
                                  slots[k].proto);
}

/* Where a finding about mask's ports points: the first port item matching one of them, else
 * the rule. */
static size_t port_off(const ipt_rule *r, unsigned mask)
{
    for (const sa_node *c = r->dports ? r->dports->first : NULL; c; c = c->next)
        if (item_mask(c) & mask)
            return c->off;
    return r->rec->off;
}

static unsigned line_of(const sa_node *rec)
{
    ipt_mem m;
    members(rec, &m);
    const sa_node *l = m.line;
    return l && l->str ? (unsigned)strtoul(l->str, NULL, 10) : 0;
}

/* The INPUT (FORWARD) state of a filter table: 0 strict, 1 open (*why set), from a walk. */
static int chain_open(const ipt_walk *w, const char *name, const ipt_result *res,
                      const sa_node **policy)
{
    size_t ci = find_chain(w, name, strlen(name));
    *policy = ci != SIZE_MAX ? w->chains[ci].policy : NULL;
    if (res->accept_all)
        return 1;
    int accept = *policy == NULL || ieq(*policy, "ACCEPT");
    return accept && !res->catch_all;
}

static int put_open(sa_doc *doc, sa_node *view, const char *key, const ipt_walk *w,
                    const ipt_result *res, const sa_node *policy)
{
    char why[400];
    const sa_node *at = policy ? policy : w->filter;
    if (res->accept_all) {
        const sa_node *t = mem(res->accept_all, "text");
        snprintf(why, sizeof(why), "'%.300s' accepts every packet",
                 t && t->str ? t->str : "");
        at = res->accept_all;
    } else {
        snprintf(why, sizeof(why), "%s, and no catch-all DROP or REJECT is reached",
                 policy ? "policy ACCEPT" : "no policy set (the kernel's default is ACCEPT)");
    }
    return put_str(doc, view, key, why, strlen(why), at->off, at) ? 0 : -1;
}

/* Findings of the walk of the primary file's filter table into view. */
static int put_rule_lists(sa_doc *doc, sa_node *view, const ipt_walk *w)
{
    sa_node *exposed = NULL, *shadowed = NULL, *unreach = NULL;
    char buf[512], names[256];
    for (size_t i = 0; i < w->n_rules; i++) {
        const ipt_rule *r = &w->rules[i];
        for (int crit = 1; crit >= 0; crit--) {
            unsigned cm = 0;
            for (unsigned k = 0; k < N_SLOTS; k++)
                if (slots[k].critical == crit)
                    cm |= 1u << k;
            unsigned m = r->exposed & cm;
            if (m == 0)
                continue;
            slot_names(m, names, sizeof(names));
            snprintf(buf, sizeof(buf), "%s", names);
            sa_node *el;
            size_t off = port_off(r, m);
            if (put_list(doc, view, &exposed, "exposed") == NULL ||
                (el = put_elem(doc, exposed, r, r->rec->off)) == NULL ||
                put_str(doc, el, "ports", buf, strlen(buf), off, r->rec) == NULL)
                return -1;
            sa_node *b = sa_node_scalar(doc, SA_BOOL, off, crit ? "true" : "false",
                                        crit ? 4 : 5);
            if (b == NULL || sa_node_set_key(doc, b, "critical", 8, off) < 0)
                return -1;
            b->flags |= SA_NODE_SYNTH;
            b->origin = r->rec;
            sa_node_append(el, b);
        }
        if (r->shadow && r->shadow_by) {
            slot_names(r->shadow, names, sizeof(names));
            snprintf(buf, sizeof(buf), "%s (line %u already accepts it from any source)",
                     names, line_of(r->shadow_by));
            sa_node *el;
            if (put_list(doc, view, &shadowed, "shadowed") == NULL ||
                (el = put_elem(doc, shadowed, r, r->rec->off)) == NULL ||
                put_str(doc, el, "ports", buf, strlen(buf), port_off(r, r->shadow),
                        r->rec) == NULL)
                return -1;
        }
    }
    /* unreachable: after an unconditional ACCEPT, DROP, REJECT, RETURN or -g in its chain */
    for (size_t ci = 0; ci < w->n_chains; ci++) {
        const ipt_chain *c = &w->chains[ci];
        const ipt_rule *term = NULL;
        for (size_t k = 0; k < c->n; k++) {
            const ipt_rule *r = &w->rules[c->order[k]];
            if (term) {
                const sa_node *t = term->text;
                sa_node *el;
                if (put_list(doc, view, &unreach, "unreachable") == NULL ||
                    (el = put_elem(doc, unreach, r, r->rec->off)) == NULL ||
                    put_str(doc, el, "after", t && t->str ? t->str : "",
                            t && t->str ? t->len : 0, r->rec->off, r->rec) == NULL)
                    return -1;
                continue;
            }
            if (r->cond == 0 && (r->is_goto || is_verdict(r->target, "ACCEPT") ||
                                 is_verdict(r->target, "DROP") ||
                                 is_verdict(r->target, "REJECT") ||
                                 is_verdict(r->target, "RETURN")))
                term = r;
        }
    }
    return 0;
}

/* The filter table of a tables map (the last one written), or NULL. */
static const sa_node *filter_of(const sa_node *tables)
{
    const sa_node *f = mem(tables, "filter");
    return f && f->type == SA_MAP ? f : NULL;
}

static int view_iptables(sa_doc *doc, sa_node **out, sa_perr *err)
{
    const sa_node *root = doc->root;
    sa_node *view = sa_node_new(doc, SA_MAP, root ? root->off : 0);
    ipt_walk w, w6;
    memset(&w, 0, sizeof(w));
    memset(&w6, 0, sizeof(w6));
    int rc = 0;
    if (view == NULL)
        goto oom;
    const sa_node *filter = filter_of(mem(root, "tables"));
    if (filter == NULL) {
        *out = view;
        return 0;
    }
    rc = walk_init(&w, filter, err);
    ipt_result in, fwd;
    if (rc == 0)
        rc = walk_chain(&w, "INPUT", 1, &in, err);
    if (rc == 0)
        rc = walk_chain(&w, "FORWARD", 0, &fwd, err);
    if (rc == -1)
        goto oom;
    if (rc < 0)
        goto fail;
    const sa_node *in_pol, *fwd_pol;
    int in_open = chain_open(&w, "INPUT", &in, &in_pol);
    if (in_open && put_open(doc, view, "input_open", &w, &in, in_pol) < 0)
        goto oom;
    if (chain_open(&w, "FORWARD", &fwd, &fwd_pol) && fwd_pol && ieq(fwd_pol, "ACCEPT") &&
        put_open(doc, view, "forward_open", &w, &fwd, fwd_pol) < 0)
        goto oom;
    if (put_rule_lists(doc, view, &w) < 0)
        goto oom;
    /* the IPv6 sibling (scan.c: ipv6_sibling {name, status}, ipv6_tables) */
    const sa_node *sib = mem(root, "ipv6_sibling");
    const sa_node *sname = mem(sib, "name"), *status = mem(sib, "status");
    if (!in_open && sname && sname->str && status && status->str) {
        char why[300];
        why[0] = '\0';
        if (strcmp(status->str, "missing") == 0) {
            snprintf(why, sizeof(why), "%.100s is missing next to this file: IPv6 traffic is "
                                       "not filtered", sname->str);
        } else if (strcmp(status->str, "present") == 0) {
            const sa_node *f6 = filter_of(mem(root, "ipv6_tables"));
            ipt_result in6;
            const sa_node *pol6;
            if (f6 == NULL) {
                snprintf(why, sizeof(why), "%.100s has no filter table: IPv6 traffic is not "
                                           "filtered", sname->str);
            } else {
                rc = walk_init(&w6, f6, err);
                if (rc == 0)
                    rc = walk_chain(&w6, "INPUT", 0, &in6, err);
                if (rc == -1)
                    goto oom;
                if (rc < 0)
                    goto fail;
                if (chain_open(&w6, "INPUT", &in6, &pol6))
                    snprintf(why, sizeof(why), "%.100s leaves INPUT open (%s)", sname->str,
                             in6.accept_all ? "an ACCEPT matches every packet"
                             : pol6         ? "policy ACCEPT without a catch-all DROP or "
                                              "REJECT"
                                            : "no policy, no catch-all DROP or REJECT");
            }
        }
        if (why[0]) {
            const sa_node *at = in_pol ? in_pol : filter;
            if (put_str(doc, view, "ipv6_gap", why, strlen(why), at->off, at) == NULL)
                goto oom;
        }
    }
    walk_free(&w);
    walk_free(&w6);
    *out = view;
    return 0;
oom:
    walk_free(&w);
    walk_free(&w6);
    return view_oom(doc, err);
fail:
    walk_free(&w);
    walk_free(&w6);
    return -1;
}

static const sa_view views[] = {
    {"icegrid", view_icegrid,
     "OMERO IceGrid descriptors (templates.xml, default.xml): variables.NAME, the "
     "Glacier2Template's own properties and its instance's endpoints under glacier2."},
    {"iptables", view_iptables,
     "iptables-save files: the filter table's INPUT chain walked in order through jumps; "
     "input_open, forward_open, exposed service ports, shadowed and unreachable rules, "
     "ipv6_gap"},
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
