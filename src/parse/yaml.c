/* yaml.c — YAML (the first document of a stream) into the positioned sa_doc tree, through
 * libyaml's event API. libyaml's document loader is never used: it has no depth, node or
 * alias ceiling, so the tree is built here from events, under the doc's limits.
 *
 * Positions. libyaml 0.2.5 marks are zero-based and count characters, not bytes (mark.index
 * is the number of code points read; CR LF counts two), and libyaml also breaks lines at a
 * lone CR, NEL, LS and PS, which the line map does not. So mark.line/column are never used:
 * mark.index is turned into a byte offset by walking the text code point by code point with
 * a cursor that follows the events (which come in document order, so the walk is linear).
 * The walk is exact because libyaml's reader has checked that every byte before a mark is
 * well-formed UTF-8. libyaml drops a leading UTF-8 BOM before counting, so the walk starts
 * behind it (byte 3); UTF-16 input (its BOM) is refused before libyaml sees it.
 * A node's offset is libyaml's start mark: for a node with an anchor or tag that is the
 * anchor or tag (node properties belong to the node); a block mapping or sequence starts at
 * its first key or '-'; an empty value sits just after its ':'.
 *
 * Aliases. libyaml's event API does not check that an alias names a known anchor (only its
 * loader does), so an undefined alias is reported here, as is an alias inside the node it
 * names. An alias to a finished node becomes a deep copy whose root sits at the alias.
 *
 * Hostile input. Depth, nodes, scalar bytes and alias expansion are counted here and the
 * event loop stops at the first error. Aliases are deep copies made without recursion and
 * charged to lim->max_alias_nodes before they are made, so "billion laughs" fails after at
 * most that many copied nodes. Anchors live in a hash table keyed with a random SipHash key,
 * so crafted anchor names cannot force collisions. libyaml compares every %TAG directive with
 * all earlier ones (quadratic), so documents with more than MAX_TAG_DIRECTIVES of them are
 * refused by a linear pre-scan. */
#include "secaudit/parse.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <yaml.h>

#include "secaudit/alloc.h"

enum { MAX_TAG_DIRECTIVES = 100, NAME_SHOWN = 32 };

/* Code point index (libyaml's mark.index) to byte offset, by walking from the last answer. */
typedef struct ycursor {
    const unsigned char *text;
    size_t len;
    size_t base;  /* byte where code point 0 starts: 3 behind a UTF-8 BOM, else 0 */
    size_t ci;    /* code points between base and bi */
    size_t bi;
} ycursor;

typedef struct anchor {
    const char *name;  /* in the doc's arena */
    size_t len;
    uint64_t hash;
    sa_node *node;
    size_t size;       /* nodes in the subtree, aliases expanded (set when finished) */
    unsigned height;   /* container levels in the subtree (set when finished) */
    int finished;
} anchor;

/* One open map or list. */
typedef struct frame {
    sa_node *node;
    size_t anchor;     /* index + 1 in the anchor table; 0 when the node has no anchor */
    size_t nodes0;     /* doc->nodes before the node was made */
    unsigned height;   /* tallest child so far, in container levels */
    int have_key;      /* maps: a key was read, its value has not come yet */
    const char *key;   /* the pending key, in the arena */
    size_t key_len, key_off;
} frame;

typedef struct yctx {
    sa_doc *doc;
    sa_perr *err;
    ycursor cur;
    frame *frames;
    size_t nframes, cap_frames;
    anchor *anchors;
    size_t nanchors, cap_anchors;
    size_t *slots;     /* open addressing, linear probing: anchor index + 1, 0 when empty */
    size_t nslots;     /* 0 or a power of two, at least twice the number of names */
    uint64_t key[2];   /* SipHash key */
    size_t alias_nodes;
    int done;
} yctx;

/* ---- errors ------------------------------------------------------------------------- */

/* Fill the error at byte offset off and return -1. Control bytes in the finished message
 * become '?', so nothing from the input can reach a terminal raw. */
__attribute__((format(printf, 3, 4)))
static int fail(yctx *y, size_t off, const char *fmt, ...)
{
    va_list ap;
    y->err->off = off > y->doc->len ? y->doc->len : off;
    y->err->has_linecol = 0;
    y->err->line = y->err->col = 0;
    va_start(ap, fmt);
    vsnprintf(y->err->msg, sizeof(y->err->msg), fmt, ap);
    va_end(ap);
    for (char *p = y->err->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = '?';
    return -1;
}

/* sa_node_new and friends return NULL for two reasons: say which. */
static int fail_node(yctx *y, size_t off)
{
    if (sa_doc_over_budget(y->doc))
        return fail(y, off, "the document has more than %zu nodes", y->doc->lim->max_nodes);
    return fail(y, off, "out of memory while reading YAML");
}

/* At most NAME_SHOWN bytes of an anchor name, printable ASCII only, for a message. */
static void shown_name(char *out, size_t cap, const char *name)
{
    size_t i = 0;
    for (; name[i] && i < NAME_SHOWN && i + 4 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (name[i] && i + 4 <= cap) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* ---- positions ---------------------------------------------------------------------- */

/* Byte offset of code point number index (0 = the first after any BOM). Moves forward or
 * backward from the previous answer; clamped to the text. */
static size_t byte_at(ycursor *c, size_t index)
{
    while (c->ci < index && c->bi < c->len) {
        c->bi++;
        while (c->bi < c->len && (c->text[c->bi] & 0xC0) == 0x80)
            c->bi++;
        c->ci++;
    }
    while (c->ci > index && c->bi > c->base) {
        c->bi--;
        while (c->bi > c->base && (c->text[c->bi] & 0xC0) == 0x80)
            c->bi--;
        c->ci--;
    }
    return c->bi;
}

/* 1-based line and column (in code points) of byte offset off, as sa_linemap_pos counts
 * them; O(off), used only for messages. */
static void line_col(const sa_doc *doc, size_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    for (size_t i = 0; i < off && i < doc->len; i++) {
        unsigned char b = (unsigned char)doc->text[i];
        if (b == '\n') {
            l++;
            c = 1;
        } else if ((b & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ---- anchors ------------------------------------------------------------------------ */

static uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13) ^ v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17) ^ v[2];
    v[2] = rotl64(v[2], 32);
}

/* SipHash-1-3 of p[0..n) under key k: anchor names are attacker-chosen, so their hash must
 * not be predictable. */
static uint64_t siphash13(const uint64_t k[2], const unsigned char *p, size_t n)
{
    uint64_t v[4] = {k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
                     k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL};
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        uint64_t m = 0;
        for (size_t j = 0; j < 8; j++)
            m |= (uint64_t)p[i + j] << (8 * j);
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    uint64_t last = (uint64_t)n << 56;
    for (size_t j = 0; i + j < n; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= last;
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* A fresh random key per parse; if the kernel has no entropy to give yet, a mix of the
 * clock and addresses (still unknown to someone who only writes the file). */
static void seed_key(yctx *y)
{
    if (getrandom(y->key, sizeof(y->key), GRND_NONBLOCK) == (ssize_t)sizeof(y->key))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    y->key[0] = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)y;
    y->key[1] = rotl64(y->key[0], 29) ^ (uint64_t)(uintptr_t)&ts ^ 0x9e3779b97f4a7c15ULL;
}

/* The slot holding the latest anchor named name[0..len), or the empty slot where it goes. */
static size_t slot_of(const yctx *y, const char *name, size_t len, uint64_t h)
{
    size_t mask = y->nslots - 1, i = (size_t)h & mask;
    for (;;) {
        size_t e = y->slots[i];
        if (e == 0)
            return i;
        const anchor *a = &y->anchors[e - 1];
        if (a->hash == h && a->len == len && memcmp(a->name, name, len) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

/* Double the slot array (or make the first) and re-insert every anchor in order, so a
 * redefined name ends up pointing at its latest definition. Returns 0 or -1 (OOM). */
static int grow_slots(yctx *y)
{
    size_t n = y->nslots ? y->nslots * 2 : 64;
    if (n < y->nslots || n > SIZE_MAX / sizeof(size_t))
        return -1;
    size_t *s = sa_calloc(n, sizeof(size_t));
    if (s == NULL)
        return -1;
    sa_free(y->slots);
    y->slots = s;
    y->nslots = n;
    for (size_t i = 0; i < y->nanchors; i++) {
        const anchor *a = &y->anchors[i];
        y->slots[slot_of(y, a->name, a->len, a->hash)] = i + 1;
    }
    return 0;
}

/* Register anchor name for node (made at byte off). Returns its index + 1, or 0 with the
 * error filled. A later definition of the same name replaces the earlier one for aliases
 * that follow; frames keep their own index, so they still finish the right entry. */
static size_t anchor_define(yctx *y, const char *name, sa_node *node, size_t off)
{
    size_t len = strlen(name);
    if (len > y->doc->lim->max_string) {
        fail(y, off, "an anchor name is longer than %zu bytes", y->doc->lim->max_string);
        return 0;
    }
    if (y->nanchors == y->cap_anchors) {
        size_t cap = y->cap_anchors ? y->cap_anchors * 2 : 16;
        anchor *a = NULL;
        if (cap > y->cap_anchors && cap <= SIZE_MAX / sizeof(anchor))
            a = sa_realloc(y->anchors, cap * sizeof(anchor));
        if (a == NULL) {
            fail(y, off, "out of memory while reading YAML");
            return 0;
        }
        y->anchors = a;
        y->cap_anchors = cap;
    }
    /* keep at most half of the slots used (names <= anchors) */
    if ((y->nanchors + 1) > y->nslots / 2 && grow_slots(y) < 0) {
        fail(y, off, "out of memory while reading YAML");
        return 0;
    }
    const char *copy = sa_arena_strndup(y->doc->arena, name, len);
    if (copy == NULL) {
        fail(y, off, "out of memory while reading YAML");
        return 0;
    }
    uint64_t h = siphash13(y->key, (const unsigned char *)copy, len);
    anchor *a = &y->anchors[y->nanchors];
    *a = (anchor){.name = copy, .len = len, .hash = h, .node = node, .size = 1};
    y->slots[slot_of(y, copy, len, h)] = ++y->nanchors;
    return y->nanchors;
}

static anchor *anchor_find(const yctx *y, const char *name)
{
    if (y->nslots == 0)
        return NULL;
    size_t len = strlen(name);
    uint64_t h = siphash13(y->key, (const unsigned char *)name, len);
    size_t e = y->slots[slot_of(y, name, len, h)];
    return e ? &y->anchors[e - 1] : NULL;
}

/* ---- tree building ------------------------------------------------------------------ */

/* YAML 1.2 core schema, for plain scalars only. */
static int is_digits(const char *s, size_t n, const char *set)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || strchr(set, s[i]) == NULL)
            return 0;
    return 1;
}

static int eq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE][-+]?[0-9]+ )?  (ints included) */
static int is_decimal(const char *s, size_t n)
{
    size_t i = 0, int_digits = 0, frac_digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        int_digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            frac_digits++;
        }
        if (int_digits == 0 && frac_digits == 0)
            return 0;
    } else if (int_digits == 0) {
        return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t exp_digits = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0)
            return 0;
    }
    return i == n;
}

static sa_type plain_type(const char *s, size_t n)
{
    if (n == 0 || eq(s, n, "~") || eq(s, n, "null") || eq(s, n, "Null") || eq(s, n, "NULL"))
        return SA_NULL;
    if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE") || eq(s, n, "false") ||
        eq(s, n, "False") || eq(s, n, "FALSE"))
        return SA_BOOL;
    if (n > 2 && s[0] == '0' && s[1] == 'x' && is_digits(s + 2, n - 2, "0123456789abcdefABCDEF"))
        return SA_NUM;
    if (n > 2 && s[0] == '0' && s[1] == 'o' && is_digits(s + 2, n - 2, "01234567"))
        return SA_NUM;
    if (is_decimal(s, n))
        return SA_NUM;
    const char *t = (n > 0 && (s[0] == '-' || s[0] == '+')) ? s + 1 : s;
    size_t m = n - (size_t)(t - s);
    if (eq(t, m, ".inf") || eq(t, m, ".Inf") || eq(t, m, ".INF"))
        return SA_NUM;
    if (eq(s, n, ".nan") || eq(s, n, ".NaN") || eq(s, n, ".NAN"))
        return SA_NUM;
    return SA_STR;
}

static frame *top(yctx *y)
{
    return y->nframes ? &y->frames[y->nframes - 1] : NULL;
}

/* The next node is a map key: the open container is a map waiting for one. */
static int key_slot(yctx *y)
{
    frame *f = top(y);
    return f && f->node->type == SA_MAP && !f->have_key;
}

/* Link n where the document is: the root, the next element of the open list, or the value
 * of the open map's pending key. */
static void attach(yctx *y, sa_node *n)
{
    frame *f = top(y);
    if (f == NULL) {
        y->doc->root = n;
        return;
    }
    if (f->node->type == SA_MAP) {
        n->key = f->key;
        n->key_len = f->key_len;
        n->key_off = f->key_off;
        f->have_key = 0;
    }
    sa_node_append(f->node, n);
}

static void note_height(yctx *y, unsigned h)
{
    frame *f = top(y);
    if (f && h > f->height)
        f->height = h;
}

static void set_key(yctx *y, const char *key, size_t len, size_t off)
{
    frame *f = top(y);
    f->key = key;
    f->key_len = len;
    f->key_off = off;
    f->have_key = 1;
}

/* A node's copy for an alias: same type, flags, text and key (arena data is shared, never
 * written after parsing), no links. */
static sa_node *clone_one(sa_doc *doc, const sa_node *src, size_t off)
{
    sa_node *n = sa_node_new(doc, src->type, off);
    if (n == NULL)
        return NULL;
    n->flags = src->flags;
    n->str = src->str;
    n->len = src->len;
    n->key = src->key;
    n->key_len = src->key_len;
    n->key_off = src->key_off;
    return n;
}

/* Deep copy of the finished subtree src, without recursion: a pre-order walk along the
 * first/next/parent links, mirrored on the copy. The copy's root sits at off (the alias)
 * and has no key; inner nodes keep their offsets. NULL on OOM or node budget (the copy
 * made so far stays in the arena, unlinked). */
static sa_node *copy_tree(sa_doc *doc, const sa_node *src, size_t off)
{
    sa_node *root = clone_one(doc, src, off);
    if (root == NULL)
        return NULL;
    root->key = NULL;
    root->key_len = 0;
    root->key_off = off;
    root->flags &= ~(unsigned)SA_NODE_DUP;  /* its new map decides that */
    const sa_node *s = src;
    sa_node *d = root;
    for (;;) {
        if (s->first) {
            s = s->first;
        } else {
            while (s != src && s->next == NULL) {
                s = s->parent;
                d = d->parent;
            }
            if (s == src)
                return root;
            s = s->next;
            d = d->parent;
        }
        sa_node *c = clone_one(doc, s, s->off);
        if (c == NULL)
            return NULL;
        sa_node_append(d, c);
        d = c;
    }
}

/* A scalar: the pending key of the open map, or a value node (typed when plain). An
 * anchored scalar is finished at once. Returns 0, or -1 with the error filled. */
static int on_scalar(yctx *y, const yaml_event_t *ev, size_t off)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *anchor_name = (const char *)ev->data.scalar.anchor;
    yaml_scalar_style_t style = ev->data.scalar.style;
    sa_doc *doc = y->doc;

    if (n > doc->lim->max_string)
        return fail(y, off, "a scalar is longer than %zu bytes", doc->lim->max_string);
    sa_type t = style == YAML_PLAIN_SCALAR_STYLE ? plain_type(s, n) : SA_STR;
    int is_key = key_slot(y);
    sa_node *node = NULL;
    if (!is_key || anchor_name) {
        if (t == SA_BOOL)
            node = s[0] == 't' || s[0] == 'T' ? sa_node_scalar(doc, t, off, "true", 4)
                                              : sa_node_scalar(doc, t, off, "false", 5);
        else
            node = sa_node_scalar(doc, t, off, s, n);
        if (node == NULL)
            return fail_node(y, off);
        if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE || style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
            node->flags |= SA_NODE_QUOTED;
        if (anchor_name) {
            size_t idx = anchor_define(y, anchor_name, node, off);
            if (idx == 0)
                return -1;
            y->anchors[idx - 1].finished = 1;
        }
    }
    if (is_key) {
        /* a key is the text as written (an anchored key also gets a node, for aliases) */
        const char *k = node && t != SA_BOOL ? node->str : sa_arena_strndup(doc->arena, s, n);
        if (k == NULL)
            return fail_node(y, off);
        set_key(y, k, n, off);
        return 0;
    }
    attach(y, node);
    return 0;
}

/* An alias: as a key, the anchored scalar's text; as a value, a copy of the anchored
 * subtree, charged to the alias budget and checked for depth before anything is made. */
static int on_alias(yctx *y, const yaml_event_t *ev, size_t off)
{
    const sa_limits *lim = y->doc->lim;
    const char *name = (const char *)ev->data.alias.anchor;
    char shown[NAME_SHOWN + 4];
    anchor *a = anchor_find(y, name);
    if (a == NULL) {
        shown_name(shown, sizeof(shown), name);
        return fail(y, off, "alias *%s refers to an anchor that is not defined before it",
                    shown);
    }
    if (!a->finished) {
        shown_name(shown, sizeof(shown), name);
        return fail(y, off, "alias *%s refers to a node that contains it", shown);
    }
    if (key_slot(y)) {
        if (a->node->type == SA_MAP || a->node->type == SA_LIST)
            return fail(y, off, "only scalar keys are supported");
        set_key(y, a->node->str, a->node->len, off);
        return 0;
    }
    if ((size_t)y->nframes + a->height > lim->max_depth)
        return fail(y, off, "nesting deeper than %u levels", lim->max_depth);
    if (a->size > lim->max_alias_nodes - y->alias_nodes)
        return fail(y, off, "aliases expand to more than %zu nodes", lim->max_alias_nodes);
    y->alias_nodes += a->size;
    sa_node *copy = copy_tree(y->doc, a->node, off);
    if (copy == NULL)
        return fail_node(y, off);
    attach(y, copy);
    note_height(y, a->height);
    return 0;
}

/* A map or list opens: depth checked, node linked, anchor registered as unfinished. */
static int on_start(yctx *y, const yaml_event_t *ev, size_t off, sa_type t)
{
    const sa_limits *lim = y->doc->lim;
    const yaml_char_t *anchor_name =
        t == SA_MAP ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (key_slot(y))
        return fail(y, off, "only scalar keys are supported");
    if (y->nframes >= lim->max_depth)
        return fail(y, off, "nesting deeper than %u levels", lim->max_depth);
    if (y->nframes == y->cap_frames) {
        size_t cap = y->cap_frames ? y->cap_frames * 2 : 16;
        frame *f = NULL;
        if (cap > y->cap_frames && cap <= SIZE_MAX / sizeof(frame))
            f = sa_realloc(y->frames, cap * sizeof(frame));
        if (f == NULL)
            return fail(y, off, "out of memory while reading YAML");
        y->frames = f;
        y->cap_frames = cap;
    }
    size_t nodes0 = y->doc->nodes;
    sa_node *node = sa_node_new(y->doc, t, off);
    if (node == NULL)
        return fail_node(y, off);
    attach(y, node);
    size_t idx = 0;
    if (anchor_name) {
        idx = anchor_define(y, (const char *)anchor_name, node, off);
        if (idx == 0)
            return -1;
    }
    y->frames[y->nframes++] = (frame){.node = node, .anchor = idx, .nodes0 = nodes0};
    return 0;
}

/* A map or list closes: duplicate keys flagged, its anchor finished with the subtree's
 * node count (aliases expanded) and height, which later aliases are charged. */
static int on_end(yctx *y, size_t off)
{
    if (y->nframes == 0)
        return fail(y, off, "internal error: unbalanced YAML events");
    frame f = y->frames[--y->nframes];
    unsigned h = f.height + 1;
    if (f.node->type == SA_MAP && sa_map_mark_dups(f.node) < 0)
        return fail(y, off, "out of memory while reading YAML");
    if (f.anchor) {
        anchor *a = &y->anchors[f.anchor - 1];
        a->finished = 1;
        a->size = y->doc->nodes - f.nodes0;
        a->height = h;
    }
    note_height(y, h);
    return 0;
}

static int on_event(yctx *y, const yaml_event_t *ev)
{
    size_t off = byte_at(&y->cur, ev->start_mark.index);
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
    case YAML_ALIAS_EVENT:
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (y->nframes == 0 && y->doc->root != NULL)
            return fail(y, off, "internal error: a second root node");
        break;
    default:
        break;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(y, ev, off);
    case YAML_ALIAS_EVENT:
        return on_alias(y, ev, off);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(y, ev, off, SA_LIST);
    case YAML_MAPPING_START_EVENT:
        return on_start(y, ev, off, SA_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(y, off);
    case YAML_DOCUMENT_END_EVENT:  /* the first document is all we read */
    case YAML_STREAM_END_EVENT:
    case YAML_NO_EVENT:
        y->done = 1;
        return 0;
    default:  /* stream and document starts */
        return 0;
    }
}

/* libyaml's error as ours. Reader errors (bad UTF-8, control characters) carry a byte
 * offset; scanner and parser errors a mark. When the problem is the end of the input (an
 * unclosed quote or bracket), the place to look is where the unclosed thing began: the
 * context mark. Otherwise the problem's place is reported, and the context's line and
 * column go into the message when they differ. */
static int yaml_failure(yctx *y, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        return fail(y, y->cur.bi, "out of memory while reading YAML");
    case YAML_READER_ERROR:
        if (p->problem_value < 0)
            return fail(y, p->problem_offset, "%s", problem);
        if (strstr(problem, "octet") != NULL)
            return fail(y, p->problem_offset, "%s (byte 0x%02X)", problem,
                        (unsigned)p->problem_value & 0xFFu);
        return fail(y, p->problem_offset, "%s (U+%04X)", problem, (unsigned)p->problem_value);
    case YAML_SCANNER_ERROR:
    case YAML_PARSER_ERROR: {
        size_t at = byte_at(&y->cur, p->problem_mark.index);
        if (p->context == NULL)
            return fail(y, at, "%s", problem);
        size_t ctx = byte_at(&y->cur, p->context_mark.index);
        if (at >= y->doc->len)
            return fail(y, ctx, "%s (%s)", problem, p->context);
        if (ctx == at)
            return fail(y, at, "%s (%s)", problem, p->context);
        unsigned line, col;
        line_col(y->doc, ctx, &line, &col);
        return fail(y, at, "%s (%s that starts at line %u, column %u)", problem, p->context,
                    line, col);
    }
    default:
        return fail(y, y->cur.bi, "the YAML parser failed: %s", problem);
    }
}

/* Refuse what libyaml would read wrongly or slowly: UTF-16 (libyaml would decode it, and
 * byte offsets would no longer follow code points) and floods of %TAG directives. A
 * directive starts a line; libyaml's line breaks end in '\n', '\r' or the last byte of
 * NEL/LS/PS (0x85, 0xA8, 0xA9): counting after those bytes can only over-count. */
static int precheck(yctx *y)
{
    const unsigned char *t = y->cur.text;
    size_t n = y->cur.len, count = 0;
    if (n >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF)))
        return fail(y, 0, "the file is UTF-16; only UTF-8 YAML can be read");
    for (size_t i = 0; i + 4 <= n; i++) {
        if (t[i] != '%' || memcmp(t + i + 1, "TAG", 3) != 0)
            continue;
        unsigned char prev = i ? t[i - 1] : '\n';
        if (i == y->cur.base || prev == '\n' || prev == '\r' || prev == 0x85 || prev == 0xA8 ||
            prev == 0xA9) {
            if (++count > MAX_TAG_DIRECTIVES)
                return fail(y, i, "more than %d %%TAG directives", MAX_TAG_DIRECTIVES);
        }
    }
    return 0;
}

int sa_parse_yaml(sa_doc *doc, sa_perr *err)
{
    sa_perr spare;
    if (err == NULL)
        err = &spare;
    memset(err, 0, sizeof(*err));
    yctx y = {.doc = doc, .err = err};
    const unsigned char *text = doc->text ? (const unsigned char *)doc->text
                                          : (const unsigned char *)"";
    size_t len = doc->text ? doc->len : 0;
    y.cur.text = text;
    y.cur.len = len;
    if (len >= 3 && text[0] == 0xEF && text[1] == 0xBB && text[2] == 0xBF)
        y.cur.base = y.cur.bi = 3;
    doc->root = NULL;
    seed_key(&y);

    int rc = precheck(&y);
    if (rc == 0) {
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
            return fail(&y, 0, "out of memory while reading YAML");
        yaml_parser_set_input_string(&p, text, len);
        while (!y.done) {
            yaml_event_t ev;
            if (!yaml_parser_parse(&p, &ev)) {
                rc = yaml_failure(&y, &p);
                break;
            }
            rc = on_event(&y, &ev);
            yaml_event_delete(&ev);
            if (rc < 0)
                break;
        }
        yaml_parser_delete(&p);
    }
    if (rc == 0 && doc->root == NULL) {  /* an empty stream */
        doc->root = sa_node_scalar(doc, SA_NULL, 0, "", 0);
        if (doc->root == NULL)
            rc = fail_node(&y, 0);
    }
    sa_free(y.frames);
    sa_free(y.anchors);
    sa_free(y.slots);
    return rc;
}
