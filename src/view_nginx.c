/* view_nginx.c — the "nginx" view: what nginx makes of a configuration (includes already
 * spliced in by the scanner), as flat lists rules can iterate.
 *
 *   protocols  every ssl_protocols directive: its arguments joined by spaces
 *   ciphers    every ssl_ciphers directive: its argument
 *   headers    every add_header of a security header: name (lower case), value, always
 *   servers    every server block of the http context:
 *                name (its first server_name, else its first listen address), tls (a listen with ssl or quic, or "ssl on"), plain (the first
 *                listen without TLS on an address that is not loopback; a server with no
 *                listen listens on *:80), redirect_only (it only answers with a redirect to
 *                https), the effective ssl_protocols, ssl_ciphers, ssl_session_tickets,
 *                ssl_session_ticket_key and server_tokens (its own, else the http
 *                context's), and hsts, frame (X-Frame-Options, or a CSP with
 *                frame-ancestors), nosniff: the security headers in effect at server level;
 *                security_headers: their names, or "none"
 *   dropped    a block (server, location, if) whose own add_header directives make it lose
 *              security headers its parent sends — nginx inherits add_header only when a
 *              level has none (unless add_header_inherit merge): header (the lost ones,
 *              space-separated), block
 *   proxies    every proxy_pass: url, scheme, host, loopback (the host, or every server of
 *              the upstream block it names, is loopback; absent when the host is a
 *              variable), verify (the effective proxy_ssl_verify)
 *
 * Every element is positioned at its directive and points back at it (origin), so a
 * finding names the included file and line that wrote it. A file with server blocks but no
 * http block (a conf.d or sites-enabled file read on its own) is taken as the http context. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secaudit/view.h"

enum { MAX_CHAIN = 64 };

typedef struct nv {
    sa_doc *doc;
    const sa_node *http;  /* the http context's block */
    const sa_node **ups;  /* its upstream directives, by name */
    size_t n_ups;
    sa_node *protocols, *ciphers, *headers, *servers, *dropped, *proxies;
    struct level *chain;  /* MAX_CHAIN levels: http, a server, its nested blocks */
} nv;

static const char *const security_headers[] = {
    "strict-transport-security", "x-frame-options",  "x-content-type-options",
    "content-security-policy",   "referrer-policy", "permissions-policy",
};

static int security_header(const sa_node *name);

/* The block of a directive (the map that ends its list), or NULL. */
static const sa_node *block_of(const sa_node *dir)
{
    return dir && dir->type == SA_LIST && dir->last && dir->last->type == SA_MAP ? dir->last
                                                                              : NULL;
}

/* The i-th argument of a directive (a scalar), or NULL. */
static const sa_node *arg(const sa_node *dir, size_t i)
{
    if (dir == NULL || dir->type != SA_LIST)
        return NULL;
    for (const sa_node *a = dir->first; a; a = a->next, i--)
        if (a->type == SA_MAP)
            return NULL;
        else if (i == 0)
            return a->str ? a : NULL;
    return NULL;
}

static int is(const sa_node *dir, const char *name)
{
    return dir->key && strcmp(dir->key, name) == 0;
}

/* The last directive name (not a block) directly in block, or NULL (for names asked once
 * per block). */
static const sa_node *last_dir(const sa_node *block, const char *name)
{
    const sa_node *hit = NULL;
    for (const sa_node *d = block ? block->first : NULL; d; d = d->next)
        if (is(d, name) && block_of(d) == NULL)
            hit = d;
    return hit;
}

/* The directives a level passes down, found in one pass over its block when the walk enters
 * it, so every lookup along a chain costs its depth, not the size of the blocks above (an
 * http block with 10,000 servers, a server with 10,000 locations). */
enum { I_PROTOCOLS, I_CIPHERS, I_TICKETS, I_TICKET_KEY, I_TOKENS, I_VERIFY, N_INHERIT };
static const char *const inherit_names[N_INHERIT] = {
    "ssl_protocols", "ssl_ciphers", "ssl_session_tickets", "ssl_session_ticket_key",
    "server_tokens", "proxy_ssl_verify"};
enum { NH = sizeof(security_headers) / sizeof(security_headers[0]) };

struct level {
    const sa_node *block;
    const sa_node *dir[N_INHERIT];  /* the last setting of each, in this block */
    const sa_node *hdr[NH];         /* the last add_header of each security header */
    const sa_node *first_header;    /* its first add_header (of any header), or NULL */
    int merge;                      /* add_header_inherit merge */
};
typedef struct level level;

static void level_init(level *l, const sa_node *block)
{
    memset(l, 0, sizeof(*l));
    l->block = block;
    for (const sa_node *d = block->first; d; d = d->next) {
        if (d->key == NULL || block_of(d) != NULL)
            continue;
        for (size_t i = 0; i < N_INHERIT; i++)
            if (strcmp(d->key, inherit_names[i]) == 0)
                l->dir[i] = d;
        if (is(d, "add_header") && arg(d, 0)) {
            if (l->first_header == NULL)
                l->first_header = d;
            int h = security_header(arg(d, 0));
            if (h >= 0)
                l->hdr[h] = d;
        }
        if (is(d, "add_header_inherit"))
            l->merge = arg(d, 0) && strcmp(arg(d, 0)->str, "merge") == 0;
    }
}

/* The innermost setting of inherit_names[i] along chain[0..n) (http first), or NULL. */
static const sa_node *inherited(const level *chain, size_t n, int i)
{
    while (n-- > 0)
        if (chain[n].dir[i])
            return chain[n].dir[i];
    return NULL;
}

/* A scalar under key in map at the directive dir (origin), text s[0..len). */
static sa_node *put(nv *v, sa_node *map, const char *key, const sa_node *dir, const char *s,
                    size_t len)
{
    const sa_node *a = arg(dir, 0);
    size_t off = a ? a->off : dir->off;
    sa_node *m = sa_node_scalar(v->doc, SA_STR, off, s, len);
    if (m == NULL)
        return NULL;
    m->flags |= SA_NODE_SYNTH;
    m->origin = dir;
    if (map->type == SA_MAP)
        sa_node_set_static_key(m, key, dir->key_off);
    sa_node_append(map, m);
    return m;
}

static sa_node *put_str(nv *v, sa_node *map, const char *key, const sa_node *dir, const char *s)
{
    return put(v, map, key, dir, s, strlen(s));
}

/* The arguments of dir joined by single spaces, into map under key. */
static sa_node *put_args(nv *v, sa_node *map, const char *key, const sa_node *dir)
{
    size_t len = 0;
    for (size_t i = 0; arg(dir, i); i++)
        len += arg(dir, i)->len + 1;
    char *s = sa_arena_alloc(v->doc->arena, len + 1);
    if (s == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; arg(dir, i); i++) {
        if (o)
            s[o++] = ' ';
        memcpy(s + o, arg(dir, i)->str, arg(dir, i)->len);
        o += arg(dir, i)->len;
    }
    return put(v, map, key, dir, s, o);
}

/* A new map element of list, positioned at dir. */
static sa_node *element(nv *v, sa_node *list, const sa_node *dir)
{
    sa_node *m = sa_node_new(v->doc, SA_MAP, dir->off);
    if (m == NULL)
        return NULL;
    m->key_off = dir->key_off;
    m->flags |= SA_NODE_SYNTH;
    m->origin = dir;
    sa_node_append(list, m);
    return m;
}

static sa_node *new_list(nv *v, sa_node *view, const char *key)
{
    sa_node *l = sa_node_new(v->doc, SA_LIST, 0);
    if (l == NULL)
        return NULL;
    l->flags |= SA_NODE_SYNTH;
    sa_node_set_static_key(l, key, 0);
    sa_node_append(view, l);
    return l;
}

static int security_header(const sa_node *name)
{
    for (size_t i = 0; i < sizeof(security_headers) / sizeof(security_headers[0]); i++)
        if (strcasecmp(name->str, security_headers[i]) == 0)
            return (int)i;
    return -1;
}

/* The add_header directives in effect at chain[n-1]: its own when it has any (plus its
 * parent's with add_header_inherit merge), else its parent's. Sets, per security header,
 * the directive that sends it (NULL: none). */
static void headers_at(const level *chain, size_t n, const sa_node **out)
{
    for (size_t i = 0; i < NH; i++)
        out[i] = NULL;
    size_t from = n;  /* the first level whose own headers count */
    while (from > 0) {
        const level *l = &chain[--from];
        if (l->first_header && !l->merge)
            break;
    }
    for (size_t k = from; k < n; k++)
        for (size_t i = 0; i < NH; i++)
            if (chain[k].hdr[i])
                out[i] = chain[k].hdr[i];
}

static int host_loopback(const char *h, size_t n)
{
    if ((n == 9 && strncasecmp(h, "localhost", 9) == 0) || (n >= 4 && memcmp(h, "127.", 4) == 0))
        return 1;
    return (n == 3 && memcmp(h, "::1", 3) == 0) || (n == 5 && memcmp(h, "[::1]", 5) == 0) ||
           (n >= 5 && memcmp(h, "unix:", 5) == 0);
}

/* The host part of an address "host:port", "[v6]:port", "port", "*:port": [*h, *h + *n). */
static void split_host(const char *s, const char **h, size_t *n)
{
    *h = s;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        *n = e ? (size_t)(e - s) + 1 : strlen(s);
        return;
    }
    if (strncmp(s, "unix:", 5) == 0) {
        *n = strlen(s);
        return;
    }
    const char *c = strchr(s, ':');
    *n = c ? (size_t)(c - s) : strlen(s);
}

static int cmp_upstream(const void *a, const void *b)
{
    const sa_node *x = arg(*(const sa_node *const *)a, 0), *y = arg(*(const sa_node *const *)b, 0);
    return strcmp(x->str, y->str);
}

/* The upstream blocks of the http context, sorted by name (found by binary search). */
static int index_upstreams(nv *v)
{
    size_t n = 0;
    for (const sa_node *d = v->http->first; d; d = d->next)
        n += is(d, "upstream") && arg(d, 0) && block_of(d);
    if (n == 0)
        return 0;
    v->ups = sa_arena_alloc(v->doc->arena, n * sizeof(*v->ups));
    if (v->ups == NULL)
        return -1;
    for (const sa_node *d = v->http->first; d; d = d->next)
        if (is(d, "upstream") && arg(d, 0) && block_of(d))
            v->ups[v->n_ups++] = d;
    qsort(v->ups, v->n_ups, sizeof(*v->ups), cmp_upstream);
    return 0;
}

/* The block of the upstream named name[0..n) (the first of that name), or NULL. */
static const sa_node *upstream(const nv *v, const char *name, size_t n)
{
    size_t lo = 0, hi = v->n_ups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sa_node *a = arg(v->ups[mid], 0);
        int c = strncmp(a->str, name, n);
        if (c == 0 && a->len > n)
            c = 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->n_ups) {
        const sa_node *a = arg(v->ups[lo], 0);
        if (a->len == n && memcmp(a->str, name, n) == 0)
            return block_of(v->ups[lo]);
    }
    return NULL;
}

static int add_proxy(nv *v, const sa_node *dir, const level *chain, size_t n)
{
    const sa_node *url = arg(dir, 0);
    if (url == NULL)
        return 0;
    sa_node *e = element(v, v->proxies, dir);
    if (e == NULL || !put(v, e, "url", dir, url->str, url->len))
        return -1;
    const char *sep = strstr(url->str, "://");
    if (sep) {
        if (!put(v, e, "scheme", dir, url->str, (size_t)(sep - url->str)))
            return -1;
        const char *h = sep + 3, *end = h + strcspn(h, "/?");
        char hostport[256];
        size_t hl = (size_t)(end - h);
        if (hl < sizeof(hostport) && hl > 0) {
            memcpy(hostport, h, hl);
            hostport[hl] = '\0';
            const char *host;
            size_t n2;
            split_host(hostport, &host, &n2);
            if (!put(v, e, "host", dir, host, n2))
                return -1;
            if (memchr(host, '$', n2) == NULL) {
                const sa_node *up = upstream(v, host, n2);
                int lo = 1;
                if (up) {
                    int any = 0;
                    for (const sa_node *s = up->first; s; s = s->next) {
                        const sa_node *a = arg(s, 0);
                        if (!is(s, "server") || a == NULL)
                            continue;
                        const char *sh;
                        size_t sn;
                        split_host(a->str, &sh, &sn);
                        any = 1;
                        lo = lo && host_loopback(sh, sn);
                    }
                    lo = lo && any;
                } else {
                    lo = host_loopback(host, n2);
                }
                if (!put_str(v, e, "loopback", dir, lo ? "true" : "false"))
                    return -1;
            }
        }
    }
    const sa_node *verify = inherited(chain, n, I_VERIFY);
    if (verify && arg(verify, 0) && !put_args(v, e, "verify", verify))
        return -1;
    return 0;
}

/* Security headers a block loses by defining its own add_header (chain[n-1] is the block,
 * at the directive dir that opens it). */
static int add_dropped(nv *v, const sa_node *dir, const level *chain, size_t n)
{
    const sa_node *first = chain[n - 1].first_header;
    if (first == NULL || n < 2)
        return 0;
    const sa_node *mine[NH], *parent[NH];
    headers_at(chain, n, mine);
    headers_at(chain, n - 1, parent);
    char lost[200] = "";
    for (size_t i = 0; i < NH; i++)
        if (parent[i] != NULL && mine[i] == NULL)
            snprintf(lost + strlen(lost), sizeof(lost) - strlen(lost), "%s%s",
                     lost[0] ? " " : "", security_headers[i]);
    if (lost[0] == '\0')
        return 0;
    sa_node *e = element(v, v->dropped, first);
    if (e == NULL || !put_str(v, e, "header", first, lost))
        return -1;
    char what[160];
    const sa_node *a = arg(dir, 0), *b = arg(dir, 1);
    snprintf(what, sizeof(what), "%s%s%.60s%s%.60s", dir->key, a ? " " : "", a ? a->str : "",
             b ? " " : "", b ? b->str : "");
    return put_str(v, e, "block", dir, what) ? 0 : -1;
}

/* Directives of a block below a server (locations, ifs), depth first. */
static int walk_block(nv *v, level *chain, size_t n)
{
    for (const sa_node *d = chain[n - 1].block->first; d; d = d->next) {
        if (is(d, "proxy_pass") && add_proxy(v, d, chain, n) < 0)
            return -1;
        const sa_node *b = block_of(d);
        if (b == NULL || n == MAX_CHAIN || !(is(d, "location") || is(d, "if") ||
                                             is(d, "limit_except")))
            continue;
        level_init(&chain[n], b);
        if (add_dropped(v, d, chain, n + 1) < 0 || walk_block(v, chain, n + 1) < 0)
            return -1;
    }
    return 0;
}

static int redirects_to_https(const sa_node *block)
{
    for (const sa_node *d = block->first; d; d = d->next) {
        const sa_node *a = arg(d, 0), *b = arg(d, 1);
        if (is(d, "return") && a && b && strlen(a->str) == 3 && a->str[0] == '3' &&
            strncmp(b->str, "https://", 8) == 0)
            return 1;
        if (is(d, "return") && a && strncmp(a->str, "https://", 8) == 0)
            return 1;  /* "return URL" is a 302 */
        const sa_node *c = arg(d, 2);
        if (is(d, "rewrite") && b && strncmp(b->str, "https://", 8) == 0 &&
            (c == NULL || strcmp(c->str, "permanent") == 0 || strcmp(c->str, "redirect") == 0))
            return 1;
    }
    return 0;
}

/* Only a redirect to https: at server level, or in its only location, which is "/". */
static int redirect_only(const sa_node *server)
{
    if (redirects_to_https(server))
        return 1;
    const sa_node *only = NULL;
    for (const sa_node *d = server->first; d; d = d->next)
        if (is(d, "location")) {
            if (only)
                return 0;
            only = d;
        }
    const sa_node *p = arg(only, 0);
    return only && p && strcmp(p->str, "/") == 0 && block_of(only) &&
           redirects_to_https(block_of(only));
}

static int add_server(nv *v, const sa_node *dir, const sa_node *server)
{
    level *chain = v->chain;  /* [0] is the http level, set once */
    level_init(&chain[1], server);
    sa_node *e = element(v, v->servers, dir);
    if (e == NULL)
        return -1;
    /* its name: the first server_name, else its first listen address ("*:80") */
    const sa_node *name = last_dir(server, "server_name");
    const sa_node *nm = arg(name, 0);
    if (nm && nm->len && strcmp(nm->str, "_") != 0) {
        if (!put(v, e, "name", name, nm->str, nm->len))
            return -1;
    } else {
        char buf[96];
        const sa_node *la = NULL;
        for (const sa_node *d = server->first; d && la == NULL; d = d->next)
            if (is(d, "listen"))
                la = arg(d, 0);
        const char *a = la ? la->str : "80";
        snprintf(buf, sizeof(buf), "%s%.80s",
                 strspn(a, "0123456789") == strlen(a) ? "*:" : "", a);
        if (!put_str(v, e, "name", la ? la->parent : dir, buf))
            return -1;
    }
    const sa_node *sslon = last_dir(server, "ssl");
    int tls = sslon && arg(sslon, 0) && strcmp(arg(sslon, 0)->str, "on") == 0;
    const sa_node *plain = NULL, *any_listen = NULL;
    for (const sa_node *d = server->first; d; d = d->next) {
        if (!is(d, "listen") || arg(d, 0) == NULL)
            continue;
        any_listen = d;
        int l_tls = 0;
        for (size_t i = 1; arg(d, i); i++)
            if (strcmp(arg(d, i)->str, "ssl") == 0 || strcmp(arg(d, i)->str, "quic") == 0)
                l_tls = 1;
        const char *h;
        size_t hn;
        split_host(arg(d, 0)->str, &h, &hn);
        int only_port = strspn(arg(d, 0)->str, "0123456789") == arg(d, 0)->len;
        if (l_tls)
            tls = 1;
        else if (plain == NULL && (only_port || !host_loopback(h, hn)))
            plain = d;
    }
    if (sslon && tls)
        plain = NULL;  /* "ssl on" (before 1.25.1) makes every listen TLS */
    if (!put_str(v, e, "tls", dir, tls ? "true" : "false"))
        return -1;
    if (plain && !put_str(v, e, "plain", plain, arg(plain, 0)->str))
        return -1;
    if (any_listen == NULL && !put_str(v, e, "plain", dir, "*:80"))
        return -1;
    if (!put_str(v, e, "redirect_only", dir, redirect_only(server) ? "true" : "false"))
        return -1;
    for (int i = 0; i < N_INHERIT; i++) {
        const sa_node *d = i == I_VERIFY ? NULL : inherited(chain, 2, i);
        if (d && arg(d, 0) && !put_args(v, e, inherit_names[i], d))
            return -1;
    }
    const sa_node *h[NH];
    headers_at(chain, 2, h);
    const sa_node *csp = h[3];
    const sa_node *frame = h[1] ? h[1]
                           : csp && arg(csp, 1) && strstr(arg(csp, 1)->str, "frame-ancestors")
                               ? csp
                               : NULL;
    const sa_node *nosniff =
        h[2] && arg(h[2], 1) && strcasecmp(arg(h[2], 1)->str, "nosniff") == 0 ? h[2] : NULL;
    char sent[160] = "";
    for (size_t i = 0; i < NH; i++)
        if (h[i])
            snprintf(sent + strlen(sent), sizeof(sent) - strlen(sent), "%s%s",
                     sent[0] ? " " : "", security_headers[i]);
    if (!put_str(v, e, "security_headers", dir, sent[0] ? sent : "none"))
        return -1;
    if ((h[0] && !put_args(v, e, "hsts", h[0])) || (frame && !put_args(v, e, "frame", frame)) ||
        (nosniff && !put_args(v, e, "nosniff", nosniff)))
        return -1;
    return add_dropped(v, dir, chain, 2) < 0 ? -1 : walk_block(v, chain, 2);
}

/* Every ssl_protocols, ssl_ciphers and security add_header of the tree, in order. */
static int add_directives(nv *v, const sa_node *root)
{
    const sa_node *n = root->first;
    while (n != NULL) {
        if (n->type == SA_LIST && n->key) {
            const sa_node *a = arg(n, 0);
            if (is(n, "ssl_protocols") && a && !put_args(v, v->protocols, NULL, n))
                return -1;
            if (is(n, "ssl_ciphers") && a && !put(v, v->ciphers, NULL, n, a->str, a->len))
                return -1;
            if (is(n, "add_header") && a && security_header(a) >= 0) {
                sa_node *e = element(v, v->headers, n);
                char lower[64];
                size_t k = 0;
                for (; k < a->len && k + 1 < sizeof(lower); k++)
                    lower[k] = (char)tolower((unsigned char)a->str[k]);
                int always = 0;
                for (size_t i = 2; arg(n, i); i++)
                    always |= strcmp(arg(n, i)->str, "always") == 0;
                if (e == NULL || !put(v, e, "name", n, lower, k) ||
                    !put_str(v, e, "value", n, arg(n, 1) ? arg(n, 1)->str : "") ||
                    !put_str(v, e, "always", n, always ? "true" : "false"))
                    return -1;
            }
        }
        if (n->first) {
            n = n->first;
            continue;
        }
        while (n && n != root && n->next == NULL)
            n = n->parent;
        n = n && n != root ? n->next : NULL;
    }
    return 0;
}

int sa_view_nginx(sa_doc *doc, sa_node **out, sa_perr *err)
{
    nv v = {.doc = doc};
    sa_node *view = sa_node_new(doc, SA_MAP, 0);
    if (view == NULL || !(v.protocols = new_list(&v, view, "protocols")) ||
        !(v.ciphers = new_list(&v, view, "ciphers")) ||
        !(v.headers = new_list(&v, view, "headers")) ||
        !(v.servers = new_list(&v, view, "servers")) ||
        !(v.dropped = new_list(&v, view, "dropped")) ||
        !(v.proxies = new_list(&v, view, "proxies")))
        goto oom;
    const sa_node *root = doc->root;
    if (root == NULL || root->type != SA_MAP) {
        *out = view;
        return 0;
    }
    if (add_directives(&v, root) < 0)
        goto oom;
    const sa_node *http = block_of(sa_map_get(root, "http", 4));
    v.http = http ? http : root;
    v.chain = sa_arena_alloc(doc->arena, MAX_CHAIN * sizeof(*v.chain));
    if (v.chain == NULL || index_upstreams(&v) < 0)
        goto oom;
    level_init(&v.chain[0], v.http);
    for (const sa_node *d = v.http->first; d; d = d->next)
        if (is(d, "server") && block_of(d) && add_server(&v, d, block_of(d)) < 0)
            goto oom;
    *out = view;
    return 0;
oom:
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "%s",
             sa_doc_over_budget(doc) ? "document has too many nodes" : "out of memory");
    return -1;
}
