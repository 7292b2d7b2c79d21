/* hba.c — pg_hba.conf first-match analysis (see hba.h): dead records and strict records
 * shadowed by a weaker one.
 *
 * Sub-quadratic by an index of the earlier records, walked in file order: record L is
 * first looked up, then (unless found dead) inserted. A record is inserted under every
 * (database token, user token) pair of its lists with a key of (type, database token, user
 * token, address kind, prefix length, masked network); a slot keeps the first CHAIN records
 * of its key, and a bucket per (type, database token, user token) says which IPv4 and IPv6
 * prefix lengths occur under it. Any E that contains L holds L's first database token or
 * `all`, L's first user token or `all`, L's type or `host`, and an address of L's family
 * whose prefix is no longer than L's (or `all`, or L's own token): L looks up only those
 * keys, at most 2 x 2 x 2 buckets and in each the prefix lengths present. Every candidate
 * is verified field by field (verify()), so a hash collision can only lose a case, never
 * report a false one.
 *
 * The record that decides is the earliest container found. A record found dead is not
 * inserted: its container comes first and covers everything it covers, so it can never
 * be the first container of anything. A record the index holds incompletely ("partial":
 * more than PAIR_CAP pairs, a non-contiguous mask, a full slot) is kept in a list tried in
 * file order (up to PARTIAL_CHECKS) before the index's candidate; when one could not be
 * tried, L is still dead (the candidate contains it) but the strict claim ("line E accepts
 * these connections with md5 first") is not made. A record with a list of more than
 * LIST_CAP tokens is not looked up. Verification spends at most WORK_BUDGET token
 * comparisons per file; when that runs out the analysis stops (later records are not
 * judged). All of these only lose findings. */
#include "rules/hba.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"

enum { PAIR_CAP = 16, LIST_CAP = 64, CHAIN = 4, PARTIAL_CHECKS = 16, TEXT_CAP = 200 };

enum { T_LOCAL, T_HOST, T_HOSTSSL, T_HOSTNOSSL, T_HOSTGSSENC, T_HOSTNOGSSENC, T_NONE };
static const char *const type_names[] = {"local",     "host",       "hostssl",
                                         "hostnossl", "hostgssenc", "hostnogssenc"};

/* ---- addresses -------------------------------------------------------------------- */

/* The address's length in bytes (4 or 16), or 0 when it is not an IP address. */
static int ip_pton(const char *s, size_t n, unsigned char *a)
{
    int af = sa_parse_ip(s, n, a);
    return af == AF_INET ? 4 : af == AF_INET6 ? 16 : 0;
}

static void set_mask(unsigned char *m, unsigned bits)
{
    memset(m, 0, 16);
    memset(m, 0xff, bits / 8);
    if (bits % 8)
        m[bits / 8] = (unsigned char)(0xff00u >> (bits % 8));
}

int sa_hba_addr_parse(const char *addr, size_t alen, int quoted, const char *mask,
                      size_t mlen, sa_hba_addr *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = SA_HBA_ADDR_BAD;
    if (addr == NULL)
        return out->kind;
    if (!quoted && alen == 3 && memcmp(addr, "all", 3) == 0)
        return out->kind = SA_HBA_ADDR_ALL;
    const char *slash = memchr(addr, '/', alen);
    size_t il = slash ? (size_t)(slash - addr) : alen;
    unsigned char a[16] = {0}, m[16] = {0};
    int n = ip_pton(addr, il, a);
    if (n == 0) {
        /* samehost, samenet, a host name (also a quoted keyword): only itself */
        if (slash || mask || alen == 0)
            return out->kind;
        out->kind = SA_HBA_ADDR_TOKEN;
        out->quoted = quoted != 0;
        out->tok = addr;
        out->tok_len = alen;
        return out->kind;
    }
    if (slash) {
        size_t pl = alen - il - 1;
        unsigned bits = 0;
        if (mask || pl < 1 || pl > 3)
            return out->kind;
        for (size_t k = 0; k < pl; k++) {
            char c = slash[1 + k];
            if (c < '0' || c > '9')
                return out->kind;
            bits = bits * 10 + (unsigned)(c - '0');
        }
        if (bits > (unsigned)n * 8)
            return out->kind;
        set_mask(m, bits);
    } else {
        if (mask == NULL || ip_pton(mask, mlen, m) != n)
            return out->kind;
    }
    unsigned lead = 0;
    while (lead < (unsigned)n * 8 && m[lead / 8] == 0xff)
        lead += 8;
    while (lead < (unsigned)n * 8 && (m[lead / 8] & (0x80u >> (lead % 8))))
        lead++;
    unsigned char pm[16];
    set_mask(pm, lead);
    out->kind = n == 4 ? SA_HBA_ADDR_V4 : SA_HBA_ADDR_V6;
    out->plen = (unsigned char)lead;
    out->contiguous = memcmp(pm, m, (size_t)n) == 0;
    for (int k = 0; k < n; k++) {
        out->mask[k] = m[k];
        out->net[k] = a[k] & m[k];
    }
    return out->kind;
}

int sa_hba_addr_contains(const sa_hba_addr *e, const sa_hba_addr *l)
{
    switch (e->kind) {
    case SA_HBA_ADDR_NONE:
        return l->kind == SA_HBA_ADDR_NONE;
    case SA_HBA_ADDR_ALL:
        return l->kind == SA_HBA_ADDR_ALL || l->kind == SA_HBA_ADDR_V4 ||
               l->kind == SA_HBA_ADDR_V6;
    case SA_HBA_ADDR_V4:
    case SA_HBA_ADDR_V6: {
        if (l->kind != e->kind)
            return 0;
        size_t n = e->kind == SA_HBA_ADDR_V4 ? 4 : 16;
        /* x matches l ⇒ x matches e, for every x: e's mask bits are among l's and l's
         * network agrees with e's on them */
        for (size_t k = 0; k < n; k++)
            if ((e->mask[k] & ~l->mask[k]) || (l->net[k] & e->mask[k]) != e->net[k])
                return 0;
        return 1;
    }
    case SA_HBA_ADDR_TOKEN:
        return l->kind == SA_HBA_ADDR_TOKEN && l->quoted == e->quoted &&
               l->tok_len == e->tok_len && memcmp(l->tok, e->tok, e->tok_len) == 0;
    default:
        return 0;
    }
}

/* ---- database and user tokens ----------------------------------------------------- */

enum { C_NAME = 'N', C_KEYWORD = 'K', C_SPECIAL = 'S' };

static int is_word(const char *s, size_t n, const char *w)
{
    return n == strlen(w) && memcmp(s, w, n) == 0;
}

/* A keyword (unquoted), a special token (+role, @file, /regex: only the identical token,
 * quoted alike) or a name (the same quoted or not). */
static int tok_class(int field, const char *s, size_t n, int quoted)
{
    if (n > 0 && (s[0] == '+' || s[0] == '@' || s[0] == '/'))
        return C_SPECIAL;
    if (!quoted && (is_word(s, n, "all") ||
                    (field == SA_HBA_FIELD_DB &&
                     (is_word(s, n, "sameuser") || is_word(s, n, "samerole") ||
                      is_word(s, n, "samegroup") || is_word(s, n, "replication")))))
        return C_KEYWORD;
    return C_NAME;
}

static int tok_same(int ec, const char *e, size_t elen, int eq, int lc, const char *l,
                    size_t llen, int lq)
{
    return ec == lc && (ec != C_SPECIAL || !eq == !lq) && elen == llen &&
           memcmp(e, l, elen) == 0;
}

int sa_hba_token_contains(int field, const char *e, size_t elen, int equoted, const char *l,
                          size_t llen, int lquoted)
{
    int ec = tok_class(field, e, elen, equoted), lc = tok_class(field, l, llen, lquoted);
    if (tok_same(ec, e, elen, equoted, lc, l, llen, lquoted))
        return 1;
    if (ec != C_KEYWORD || !is_word(e, elen, "all"))
        return 0;
    if (field == SA_HBA_FIELD_USER)
        return 1;  /* all roles: names, +role, @file, /regex */
    /* all databases except physical replication: @file may list replication */
    if (lc == C_NAME)
        return 1;
    if (lc == C_KEYWORD)
        return !is_word(l, llen, "replication");
    return llen > 0 && l[0] == '/';
}

/* ---- methods ---------------------------------------------------------------------- */

int sa_hba_method_strength(const char *method, int local, const char *clientcert)
{
    static const struct {
        const char *name;
        int strength;
    } tab[] = {{"trust", 0},  {"password", 1}, {"ident", 1}, {"ldap", 1},   {"radius", 1},
               {"pam", 1},    {"bsd", 1},      {"md5", 2},   {"scram-sha-256", 3},
               {"gss", 3},    {"sspi", 3},     {"peer", 3},  {"oauth", 3},  {"cert", 4},
               {"reject", 5}};
    int s = -1;
    for (size_t k = 0; k < sizeof(tab) / sizeof(tab[0]) && s < 0; k++)
        if (method[0] == tab[k].name[0] && strcmp(method, tab[k].name) == 0)
            s = tab[k].strength;
    if (s < 0 || s == 5)
        return s;
    if (local && strcmp(method, "ident") == 0)
        s = 3;  /* ident on the Unix socket is peer */
    if (clientcert && strcmp(clientcert, "verify-full") == 0 && s < 4)
        s = 4;
    else if (clientcert && strcmp(clientcert, "verify-ca") == 0 && s < 3)
        s = 3;
    return s;
}

/* ---- the records ------------------------------------------------------------------ */

typedef struct rec {
    const sa_node *type, *method, *text, *db, *user;
    sa_hba_addr addr;
    unsigned char type_id;
    signed char strength;
    unsigned char ok;       /* a record the analysis reads (not an include line) */
    unsigned char partial;  /* not indexed completely (see the top of the file) */
} rec;

static int key_is(const sa_node *m, const char *k, size_t n)
{
    return m->key_len == n && memcmp(m->key, k, n) == 0;
}

/* Fill r from the record node; r->ok 0 when it is not a record to analyse. One pass over
 * its members (the last of a repeated member counts, as sa_map_get). */
static void read_rec(const sa_node *n, rec *r)
{
    memset(r, 0, sizeof(*r));
    if (n->type != SA_MAP)
        return;
    const sa_node *a = NULL, *mask = NULL, *opts = NULL;
    for (const sa_node *m = n->first; m; m = m->next) {
        if (m->key == NULL)
            continue;
        switch (m->key_len) {
        case 4:
            if (key_is(m, "type", 4))
                r->type = m;
            else if (key_is(m, "user", 4))
                r->user = m;
            else if (key_is(m, "mask", 4))
                mask = m;
            else if (key_is(m, "text", 4))
                r->text = m;
            break;
        case 6:
            if (key_is(m, "method", 6))
                r->method = m;
            break;
        case 7:
            if (key_is(m, "address", 7))
                a = m;
            else if (key_is(m, "options", 7))
                opts = m;
            break;
        case 8:
            if (key_is(m, "database", 8))
                r->db = m;
            break;
        default:
            break;
        }
    }
    if (!r->type || !r->type->str || !r->method || !r->method->str || !r->text ||
        !r->text->str || !r->db || r->db->type != SA_LIST || r->db->count == 0 || !r->user ||
        r->user->type != SA_LIST || r->user->count == 0)
        return;
    r->type_id = T_NONE;
    for (unsigned k = 0; k < T_NONE; k++)
        if (strcmp(r->type->str, type_names[k]) == 0)
            r->type_id = (unsigned char)k;
    if (r->type_id == T_NONE)
        return;  /* include lines */
    for (const sa_node *t = r->db->first; t; t = t->next)
        if (t->str == NULL)
            return;
    for (const sa_node *t = r->user->first; t; t = t->next)
        if (t->str == NULL)
            return;
    if (r->type_id == T_LOCAL) {
        r->addr.kind = SA_HBA_ADDR_NONE;
    } else if (a == NULL || a->str == NULL ||
               sa_hba_addr_parse(a->str, a->len, (a->flags & SA_NODE_QUOTED) != 0,
                                 mask && mask->str ? mask->str : NULL,
                                 mask && mask->str ? mask->len : 0,
                                 &r->addr) == SA_HBA_ADDR_BAD) {
        return;
    }
    const sa_node *cc = opts && opts->type == SA_MAP && opts->count
                            ? sa_map_get(opts, "clientcert", 10)
                            : NULL;
    int s = sa_hba_method_strength(r->method->str, r->type_id == T_LOCAL,
                                   cc && cc->str ? cc->str : NULL);
    if (s < 0)
        return;
    r->strength = (signed char)s;
    r->ok = 1;
}

static int list_contains(int field, const sa_node *e, const sa_node *l)
{
    for (const sa_node *lt = l->first; lt; lt = lt->next) {
        int hit = 0;
        for (const sa_node *et = e->first; et && !hit; et = et->next)
            hit = sa_hba_token_contains(field, et->str, et->len,
                                        (et->flags & SA_NODE_QUOTED) != 0, lt->str, lt->len,
                                        (lt->flags & SA_NODE_QUOTED) != 0);
        if (!hit)
            return 0;
    }
    return 1;
}

/* The work the index may spend on verifying candidates in one file, in token comparisons:
 * what a hostile file of long lists could make quadratic stops there. */
#define WORK_BUDGET ((size_t)1 << 26)

typedef struct budget {
    size_t left;
    int out;  /* it ran out: the analysis stops, later records are not judged */
} budget;

/* E matches every connection that L matches. */
static int verify(const rec *e, const rec *l)
{
    if (e->type_id != l->type_id && !(e->type_id == T_HOST && l->type_id != T_LOCAL))
        return 0;
    return sa_hba_addr_contains(&e->addr, &l->addr) &&
           list_contains(SA_HBA_FIELD_DB, e->db, l->db) &&
           list_contains(SA_HBA_FIELD_USER, e->user, l->user);
}

/* verify() within the budget: 0 once it has run out. */
static int verify_b(budget *b, const rec *e, const rec *l)
{
    size_t cost = 1 + e->db->count * l->db->count + e->user->count * l->user->count;
    if (b->out || cost > b->left) {
        b->out = 1;
        return 0;
    }
    b->left -= cost;
    return verify(e, l);
}

/* ---- the index -------------------------------------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

/* The hash of a token's identity: class, quoting where it matters, text. */
static uint64_t tok_hash(int field, const sa_node *t)
{
    int q = (t->flags & SA_NODE_QUOTED) != 0, c = tok_class(field, t->str, t->len, q);
    uint64_t h = 0xcbf29ce484222325ull;
    h = (h ^ (unsigned)c) * 0x100000001b3ull;
    h = (h ^ (unsigned)(c == C_SPECIAL && q)) * 0x100000001b3ull;
    for (size_t k = 0; k < t->len; k++)
        h = (h ^ (unsigned char)t->str[k]) * 0x100000001b3ull;
    return mix(h, (uint64_t)field);
}

typedef struct slot {
    uint64_t key;          /* 0: empty */
    uint32_t idx[CHAIN];   /* record index + 1, in file order; 0: free */
} slot;

typedef struct bucket {
    uint64_t key;          /* 0: empty */
    uint64_t m4;           /* bit p: an IPv4 range of prefix p is indexed */
    uint64_t m6[3];        /* bits 0..128: IPv6 prefixes */
} bucket;

typedef struct hix {
    slot *slots;
    size_t nslots, used;
    bucket *buckets;
    size_t nbuckets, bused;
    uint64_t all_db, all_user;  /* the hashes of the token all in each field */
} hix;

static uint64_t nonzero(uint64_t k)
{
    return k ? k : 1;
}

/* Start both tables at about twice the records (most records are one pair): no rehash on
 * a typical file. */
static int hix_init(hix *ix, size_t records)
{
    size_t n = 1024;
    while (n < records * 2 && n < ((size_t)1 << 26))
        n *= 2;
    ix->slots = sa_calloc(n, sizeof(*ix->slots));
    ix->buckets = sa_calloc(n, sizeof(*ix->buckets));
    if (ix->slots == NULL || ix->buckets == NULL)
        return -1;
    ix->nslots = ix->nbuckets = n;
    static const sa_node all_tok = {.type = SA_STR, .str = "all", .len = 3};
    ix->all_db = tok_hash(SA_HBA_FIELD_DB, &all_tok);
    ix->all_user = tok_hash(SA_HBA_FIELD_USER, &all_tok);
    return 0;
}

static int grow_slots(hix *ix)
{
    size_t nn = ix->nslots ? ix->nslots * 2 : 1024;
    slot *v = sa_calloc(nn, sizeof(*v));
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < ix->nslots; i++) {
        if (ix->slots[i].key == 0)
            continue;
        size_t j = ix->slots[i].key & (nn - 1);
        while (v[j].key)
            j = (j + 1) & (nn - 1);
        v[j] = ix->slots[i];
    }
    sa_free(ix->slots);
    ix->slots = v;
    ix->nslots = nn;
    return 0;
}

static int grow_buckets(hix *ix)
{
    size_t nn = ix->nbuckets ? ix->nbuckets * 2 : 256;
    bucket *v = sa_calloc(nn, sizeof(*v));
    if (v == NULL)
        return -1;
    for (size_t i = 0; i < ix->nbuckets; i++) {
        if (ix->buckets[i].key == 0)
            continue;
        size_t j = ix->buckets[i].key & (nn - 1);
        while (v[j].key)
            j = (j + 1) & (nn - 1);
        v[j] = ix->buckets[i];
    }
    sa_free(ix->buckets);
    ix->buckets = v;
    ix->nbuckets = nn;
    return 0;
}

static const slot *find_slot(const hix *ix, uint64_t key)
{
    if (ix->nslots == 0)
        return NULL;
    for (size_t j = key & (ix->nslots - 1);; j = (j + 1) & (ix->nslots - 1)) {
        if (ix->slots[j].key == key)
            return &ix->slots[j];
        if (ix->slots[j].key == 0)
            return NULL;
    }
}

static const bucket *find_bucket(const hix *ix, uint64_t key)
{
    if (ix->nbuckets == 0)
        return NULL;
    for (size_t j = key & (ix->nbuckets - 1);; j = (j + 1) & (ix->nbuckets - 1)) {
        if (ix->buckets[j].key == key)
            return &ix->buckets[j];
        if (ix->buckets[j].key == 0)
            return NULL;
    }
}

/* Add record i under key; 1 when it found room, 0 when the slot was full, -1 on OOM. */
static int slot_add(hix *ix, uint64_t key, uint32_t i)
{
    if ((ix->used + 1) * 2 > ix->nslots && grow_slots(ix) < 0)
        return -1;
    size_t j = key & (ix->nslots - 1);
    while (ix->slots[j].key && ix->slots[j].key != key)
        j = (j + 1) & (ix->nslots - 1);
    slot *s = &ix->slots[j];
    if (s->key == 0) {
        s->key = key;
        ix->used++;
    }
    for (size_t k = 0; k < CHAIN; k++) {
        if (s->idx[k] == i + 1)
            return 1;  /* the same key from another pair of the same record */
        if (s->idx[k] == 0) {
            s->idx[k] = i + 1;
            return 1;
        }
    }
    return 0;
}

static bucket *bucket_get(hix *ix, uint64_t key)
{
    if ((ix->bused + 1) * 2 > ix->nbuckets && grow_buckets(ix) < 0)
        return NULL;
    size_t j = key & (ix->nbuckets - 1);
    while (ix->buckets[j].key && ix->buckets[j].key != key)
        j = (j + 1) & (ix->nbuckets - 1);
    bucket *b = &ix->buckets[j];
    if (b->key == 0) {
        b->key = key;
        ix->bused++;
    }
    return b;
}

static uint64_t bucket_key(unsigned type_id, uint64_t dbh, uint64_t userh)
{
    return nonzero(mix(mix(mix(0x51ed270b27c5a5b1ull, type_id), dbh), userh));
}

/* The key of the address of kind/prefix/network (or token) under a bucket. */
static uint64_t addr_key(uint64_t bk, const sa_hba_addr *a, unsigned plen,
                         const unsigned char *net)
{
    uint64_t h = mix(bk, a->kind);
    if (a->kind == SA_HBA_ADDR_V4 || a->kind == SA_HBA_ADDR_V6) {
        uint64_t w0 = 0, w1 = 0;
        memcpy(&w0, net, 8);
        memcpy(&w1, net + 8, 8);
        h = mix(mix(mix(h, plen), w0), w1);
    } else if (a->kind == SA_HBA_ADDR_TOKEN) {
        uint64_t t = 0xcbf29ce484222325ull ^ a->quoted;
        for (size_t k = 0; k < a->tok_len; k++)
            t = (t ^ (unsigned char)a->tok[k]) * 0x100000001b3ull;
        h = mix(h, t);
    }
    return nonzero(h);
}

/* Index record i (r) under each of its (database, user) pairs. Sets r->partial when it
 * could not be indexed completely. 0 or -1. */
static int insert(hix *ix, rec *r, uint32_t i)
{
    if (r->db->count * r->user->count > PAIR_CAP ||
        ((r->addr.kind == SA_HBA_ADDR_V4 || r->addr.kind == SA_HBA_ADDR_V6) &&
         !r->addr.contiguous)) {
        r->partial = 1;
        return 0;
    }
    unsigned char net[16] = {0};
    memcpy(net, r->addr.net, 16);
    for (const sa_node *d = r->db->first; d; d = d->next) {
        uint64_t dh = tok_hash(SA_HBA_FIELD_DB, d);
        for (const sa_node *u = r->user->first; u; u = u->next) {
            uint64_t bk = bucket_key(r->type_id, dh, tok_hash(SA_HBA_FIELD_USER, u));
            bucket *b = bucket_get(ix, bk);
            if (b == NULL)
                return -1;
            if (r->addr.kind == SA_HBA_ADDR_V4)
                b->m4 |= 1ull << r->addr.plen;
            else if (r->addr.kind == SA_HBA_ADDR_V6)
                b->m6[r->addr.plen / 64] |= 1ull << (r->addr.plen % 64);
            int rc = slot_add(ix, addr_key(bk, &r->addr, r->addr.plen, net), i);
            if (rc < 0)
                return -1;
            if (rc == 0)
                r->partial = 1;
        }
    }
    return 0;
}

/* The earliest indexed record that contains L (index < l_ix), or SIZE_MAX. */
static size_t probe(const hix *ix, const rec *recs, const rec *l, size_t best, budget *bu)
{
    uint64_t dbh[2] = {tok_hash(SA_HBA_FIELD_DB, l->db->first), ix->all_db};
    uint64_t uh[2] = {tok_hash(SA_HBA_FIELD_USER, l->user->first), ix->all_user};
    unsigned types[2] = {l->type_id, T_HOST};
    size_t nt = l->type_id == T_LOCAL || l->type_id == T_HOST ? 1 : 2;
    size_t nd = dbh[0] == dbh[1] ? 1 : 2, nu = uh[0] == uh[1] ? 1 : 2;
    sa_hba_addr all_addr = {.kind = SA_HBA_ADDR_ALL};
    for (size_t ti = 0; ti < nt; ti++)
        for (size_t di = 0; di < nd; di++)
            for (size_t ui = 0; ui < nu; ui++) {
                uint64_t bk = bucket_key(types[ti], dbh[di], uh[ui]);
                const bucket *b = find_bucket(ix, bk);
                if (b == NULL)
                    continue;
                /* the keys a container of L can be under */
                uint64_t keys[130];
                size_t nk = 0;
                int v4 = l->addr.kind == SA_HBA_ADDR_V4, v6 = l->addr.kind == SA_HBA_ADDR_V6;
                if (v4 || v6 || l->addr.kind == SA_HBA_ADDR_ALL)
                    keys[nk++] = addr_key(bk, &all_addr, 0, NULL);
                if (l->addr.kind == SA_HBA_ADDR_NONE || l->addr.kind == SA_HBA_ADDR_TOKEN)
                    keys[nk++] = addr_key(bk, &l->addr, 0, NULL);
                if (v4 || v6) {
                    /* a range: every prefix present up to L's leading ones */
                    uint64_t w[3] = {b->m4, 0, 0};
                    if (v6)
                        memcpy(w, b->m6, sizeof(w));
                    for (unsigned k = 0; k < 3; k++) {
                        unsigned lo = k * 64;
                        if (lo > l->addr.plen)
                            w[k] = 0;
                        else if (l->addr.plen - lo < 63)
                            w[k] &= (2ull << (l->addr.plen - lo)) - 1;
                    }
                    for (unsigned k = 0; k < 3; k++) {
                        for (; w[k]; w[k] &= w[k] - 1) {
                            unsigned p = k * 64 + (unsigned)__builtin_ctzll(w[k]);
                            unsigned char net[16] = {0};
                            size_t full = p / 8;
                            memcpy(net, l->addr.net, full);
                            if (p % 8)
                                net[full] = l->addr.net[full] &
                                            (unsigned char)(0xff00u >> (p % 8));
                            keys[nk++] = addr_key(bk, &l->addr, p, net);
                        }
                    }
                }
                for (size_t k = 0; k < nk; k++) {
                    const slot *s = find_slot(ix, keys[k]);
                    if (s == NULL)
                        continue;
                    for (size_t c = 0; c < CHAIN && s->idx[c]; c++) {
                        size_t e = s->idx[c] - 1;
                        if (e >= best)
                            break;  /* the chain is in file order */
                        if (verify_b(bu, &recs[e], l))
                            best = e;
                    }
                }
            }
    return best;
}

/* ---- findings --------------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *v = sa_realloc(b->s, nc);
        if (v == NULL) {
            b->oom = 1;
            return;
        }
        b->s = v;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* One record found dead, and the record that takes its connections. */
typedef struct hit {
    const sa_node *l_type, *l_method, *l_text;
    const sa_node *e_type, *e_method, *e_text;
    int strict;  /* E's method is weaker, and E is known to be the first container */
} hit;

typedef struct memo {
    hit *hits;
    size_t n;
} memo;

static unsigned line_of(const sa_file_eval *fe, const sa_node *n, size_t *file)
{
    unsigned line, col;
    *file = sa_engine_file_of(fe, n);
    sa_linemap_pos(fe->files[*file].lines, n->key ? n->key_off : n->off, &line, &col);
    return line;
}

/* "line N (`text`)", "line N of FILE (`text`)" when E is in another file than L. */
static void describe(sbuf *b, const sa_file_eval *fe, const hit *h)
{
    size_t ef, lf;
    char num[32];
    unsigned eline = line_of(fe, h->e_type, &ef);
    (void)line_of(fe, h->l_type, &lf);
    snprintf(num, sizeof(num), "line %u", eline);
    puts_(b, num);
    if (ef != lf) {
        puts_(b, " of ");
        puts_(b, fe->files[ef].file);
    }
    puts_(b, " (`");
    size_t n = h->e_text->len;
    if (n > TEXT_CAP) {
        n = TEXT_CAP;
        while (n > 0 && ((unsigned char)h->e_text->str[n] & 0xC0) == 0x80)
            n--;  /* not inside a UTF-8 sequence */
    }
    put(b, h->e_text->str, n);
    if (n < h->e_text->len)
        puts_(b, "...");
    puts_(b, "`)");
}

/* The finding for h, at L's method: the rule's message with {key} (L's text), {line} (L's
 * line), {earlier} (E, described) and {method} (E's method) filled in, in one pass
 * (nothing inserted is expanded again). */
static int emit(sa_file_eval *fe, const sa_rule *rule, const hit *h, sbuf *b)
{
    const char *tpl = rule->message ? rule->message : rule->title;
    b->len = 0;
    put(b, "", 0);
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "{key}", 5) == 0) {
            put(b, h->l_text->str, h->l_text->len);
            p += 5;
        } else if (strncmp(p, "{line}", 6) == 0) {
            size_t f;
            char num[16];
            snprintf(num, sizeof(num), "%u", line_of(fe, h->l_type, &f));
            puts_(b, num);
            p += 6;
        } else if (strncmp(p, "{earlier}", 9) == 0) {
            describe(b, fe, h);
            p += 9;
        } else if (strncmp(p, "{method}", 8) == 0) {
            put(b, h->e_method->str, h->e_method->len);
            p += 8;
        } else {
            const char *q = strchr(p + 1, '{');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            put(b, p, n);
            p += n;
        }
    }
    if (b->oom)
        return -1;
    return sa_engine_emit3(fe, rule, h->l_method, h->l_method, NULL, h->l_text->str,
                           "method", b->s);
}

/* The analysis of records (a list of count > 0 records, read into recs): first[i] is the
 * index of the record that takes record i's connections (SIZE_MAX: none found), strict[i]
 * 1 when that record's method is weaker and it is known to be the first container. naive:
 * every earlier record is tried (the reference of the tests). 0 or -1. */
static int match_all(const sa_node *records, int naive, rec *recs, size_t *first,
                     unsigned char *strict)
{
    hix ix = {0};
    size_t *partials = NULL, np = 0, capp = 0;
    budget bu = {.left = WORK_BUDGET};
    int rc = naive ? 0 : hix_init(&ix, records->count);
    for (size_t k = 0; k < records->count; k++) {
        first[k] = SIZE_MAX;
        strict[k] = 0;
    }
    size_t i = 0;
    for (const sa_node *n = records->first; n && rc == 0; n = n->next, i++) {
        rec *l = &recs[i];
        read_rec(n, l);
        if (!l->ok)
            continue;
        size_t e = SIZE_MAX;
        int sure = 1;
        if (naive) {
            for (size_t k = 0; k < i && e == SIZE_MAX; k++)
                if (recs[k].ok && verify(&recs[k], l))
                    e = k;
        } else if (l->db->count <= LIST_CAP && l->user->count <= LIST_CAP) {
            e = probe(&ix, recs, l, i, &bu);
            /* the records the index holds incompletely, in file order: one of them may be
             * an earlier container */
            for (size_t k = 0; k < np && partials[k] < e; k++) {
                const rec *p = &recs[partials[k]];
                if (k >= PARTIAL_CHECKS || p->db->count > LIST_CAP ||
                    p->user->count > LIST_CAP) {
                    sure = 0;  /* not tried: E may not be the first container */
                    break;
                }
                if (verify_b(&bu, p, l)) {
                    e = partials[k];
                    break;
                }
            }
        }
        /* (a record with longer lists is not looked up; inserting it marks it partial) */
        if (bu.out)
            break;  /* what was found for this record may not be the first container */
        if (e < i) {
            first[i] = e;
            strict[i] = sure && recs[e].strength < l->strength;
            continue;  /* not indexed: E covers everything it covers, and comes first */
        }
        if (!naive) {
            rc = insert(&ix, l, (uint32_t)i);
            if (rc == 0 && l->partial) {
                if (np == capp) {
                    size_t nc = capp ? capp * 2 : 16;
                    size_t *v = sa_realloc(partials, nc * sizeof(*v));
                    if (v == NULL) {
                        rc = -1;
                        break;
                    }
                    partials = v;
                    capp = nc;
                }
                partials[np++] = i;
            }
        }
    }
    sa_free(partials);
    sa_free(ix.slots);
    sa_free(ix.buckets);
    return rc;
}

static int records_ok(const sa_node *records)
{
    return records && records->type == SA_LIST && records->count > 0 &&
           records->count < UINT32_MAX &&
           records->count <= SIZE_MAX / (sizeof(rec) + sizeof(size_t) + 1);
}

int sa_hba_first_match(const sa_node *records, int naive, size_t *first,
                       unsigned char *strict)
{
    if (!records_ok(records))
        return 0;
    rec *recs = sa_malloc(records->count * sizeof(*recs));
    if (recs == NULL)
        return -1;
    int rc = match_all(records, naive, recs, first, strict);
    sa_free(recs);
    return rc;
}

/* The analysis of the file's records, into a memo in scratch. 0 or -1. */
static int analyse(const sa_file_eval *fe, memo *out)
{
    memset(out, 0, sizeof(*out));
    const sa_node *records = fe->view && fe->view->type == SA_MAP
                                 ? sa_map_get(fe->view, "records", 7)
                                 : NULL;
    if (!records_ok(records) || records->count < 2)
        return 0;
    size_t n = records->count;
    rec *recs = sa_malloc(n * sizeof(*recs));
    size_t *first = sa_malloc(n * sizeof(*first));
    unsigned char *strict = sa_malloc(n);
    int rc = recs && first && strict ? match_all(records, 0, recs, first, strict) : -1;
    size_t nh = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        nh += first[i] != SIZE_MAX;
    if (rc == 0 && nh > 0) {
        out->hits = sa_arena_alloc(fe->scratch, nh * sizeof(*out->hits));
        if (out->hits == NULL)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (first[i] == SIZE_MAX)
                continue;
            const rec *l = &recs[i], *e = &recs[first[i]];
            out->hits[out->n++] = (hit){l->type, l->method, l->text,  e->type,
                                        e->method, e->text,  strict[i]};
        }
    }
    sa_free(recs);
    sa_free(first);
    sa_free(strict);
    return rc;
}

static const char memo_owner[] = "pg_hba first-match";

static int run(sa_file_eval *fe, const sa_rule *rule, int strict)
{
    const memo *m = fe->memo_owner == memo_owner ? fe->memo : NULL;
    if (m == NULL) {
        memo *nm = sa_arena_alloc(fe->scratch, sizeof(*nm));
        if (nm == NULL || analyse(fe, nm) < 0)
            return -1;
        fe->memo_owner = memo_owner;
        fe->memo = nm;
        m = nm;
    }
    sbuf b = {0};
    int rc = 0;
    for (size_t k = 0; k < m->n && rc == 0; k++)
        if (m->hits[k].strict == strict)
            rc = emit(fe, rule, &m->hits[k], &b);
    sa_free(b.s);
    return rc;
}

int sa_hba_check_dead(sa_file_eval *fe, const sa_rule *rule)
{
    return run(fe, rule, 0);
}

int sa_hba_check_strict(sa_file_eval *fe, const sa_rule *rule)
{
    return run(fe, rule, 1);
}
