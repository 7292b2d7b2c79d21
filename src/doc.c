/* doc.c — arena, document nodes and the line map (see doc.h). */
#include "secaudit/doc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secaudit/alloc.h"

/* ---- arena: a chain of blocks; big requests get a block of their own ---------------- */
typedef struct sa_block {
    struct sa_block *prev;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} sa_block;

struct sa_arena {
    sa_block *head;
    size_t total;
};

enum { SA_BLOCK_SIZE = 64 * 1024 };

sa_arena *sa_arena_new(void)
{
    return sa_calloc(1, sizeof(sa_arena));
}

void *sa_arena_alloc(sa_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need < n)
        return NULL;
    sa_block *b = a->head;
    if (b == NULL || b->size - b->used < need) {
        size_t size = need > SA_BLOCK_SIZE / 4 ? need : SA_BLOCK_SIZE;
        if (size > SIZE_MAX - sizeof(sa_block))
            return NULL;
        sa_block *nb = sa_malloc(sizeof(sa_block) + size);
        if (nb == NULL)
            return NULL;
        nb->size = size;
        nb->used = 0;
        if (b != NULL && size != SA_BLOCK_SIZE) {
            /* keep filling the current block; slot the big one behind it */
            nb->prev = b->prev;
            b->prev = nb;
            nb->used = need;
            a->total += need;
            memset(nb->data, 0, need);
            return nb->data;
        }
        nb->prev = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

char *sa_arena_strndup(sa_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = sa_arena_alloc(a, n + 1);
    if (d == NULL)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

size_t sa_arena_used(const sa_arena *a)
{
    return a->total;
}

void sa_arena_free(sa_arena *a)
{
    if (a == NULL)
        return;
    sa_block *b = a->head;
    while (b != NULL) {
        sa_block *prev = b->prev;
        sa_free(b);
        b = prev;
    }
    sa_free(a);
}

/* ---- documents and nodes ------------------------------------------------------------ */
sa_doc *sa_doc_new(const char *text, size_t len, const sa_limits *lim)
{
    sa_doc *doc = sa_calloc(1, sizeof(*doc));
    if (doc == NULL)
        return NULL;
    doc->arena = sa_arena_new();
    if (doc->arena == NULL) {
        sa_free(doc);
        return NULL;
    }
    doc->text = text;
    doc->len = len;
    doc->lim = lim ? lim : &sa_limits_default;
    return doc;
}

void sa_doc_free(sa_doc *doc)
{
    if (doc == NULL)
        return;
    sa_arena_free(doc->arena);
    sa_free(doc);
}

int sa_doc_over_budget(const sa_doc *doc)
{
    return doc->nodes >= doc->lim->max_nodes;
}

sa_node *sa_node_new(sa_doc *doc, sa_type type, size_t off)
{
    if (sa_doc_over_budget(doc))
        return NULL;
    sa_node *n = sa_arena_alloc(doc->arena, sizeof(*n));
    if (n == NULL)
        return NULL;
    doc->nodes++;
    n->type = type;
    n->off = off;
    n->key_off = off;
    return n;
}

sa_node *sa_node_scalar(sa_doc *doc, sa_type type, size_t off, const char *s, size_t len)
{
    sa_node *n = sa_node_new(doc, type, off);
    if (n == NULL)
        return NULL;
    n->str = sa_arena_strndup(doc->arena, s, len);
    if (n->str == NULL)
        return NULL;
    n->len = len;
    return n;
}

void sa_node_append(sa_node *parent, sa_node *child)
{
    child->parent = parent;
    child->next = NULL;
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
    parent->count++;
}

void sa_node_set_static_key(sa_node *node, const char *key, size_t key_off)
{
    node->key = key;
    node->key_len = strlen(key);
    node->key_off = key_off;
}

int sa_node_set_key(sa_doc *doc, sa_node *node, const char *key, size_t n, size_t key_off)
{
    char *k = sa_arena_strndup(doc->arena, key, n);
    if (k == NULL)
        return -1;
    node->key = k;
    node->key_len = n;
    node->key_off = key_off;
    return 0;
}

sa_node *sa_map_get(const sa_node *map, const char *key, size_t n)
{
    sa_node *found = NULL;
    if (map == NULL || map->type != SA_MAP)
        return NULL;
    for (sa_node *c = map->first; c; c = c->next)
        if (c->key_len == n && memcmp(c->key, key, n) == 0)
            found = c;
    return found;
}

static int cmp_member(const void *a, const void *b)
{
    const sa_node *x = *(const sa_node *const *)a, *y = *(const sa_node *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c == 0 && x->key_len != y->key_len)
        c = x->key_len < y->key_len ? -1 : 1;
    if (c == 0)  /* same key: document order */
        c = x->key_off < y->key_off ? -1 : (x->key_off > y->key_off);
    return c;
}

long sa_map_mark_dups(sa_node *map)
{
    if (map == NULL || map->type != SA_MAP || map->count < 2)
        return 0;
    sa_node **v = sa_malloc(map->count * sizeof(*v));
    if (v == NULL)
        return -1;
    size_t i = 0;
    for (sa_node *c = map->first; c; c = c->next)
        v[i++] = c;
    qsort(v, i, sizeof(*v), cmp_member);
    long marked = 0;
    for (size_t k = 0; k + 1 < i; k++) {
        if (v[k]->key_len == v[k + 1]->key_len &&
            memcmp(v[k]->key, v[k + 1]->key, v[k]->key_len) == 0) {
            v[k]->flags |= SA_NODE_DUP;
            marked++;
        }
    }
    sa_free(v);
    return marked;
}

/* Index of n among its parent's children. */
static size_t child_index(const sa_node *n, const sa_node *known, size_t known_idx)
{
    if (n == known)
        return known_idx;
    size_t i = 0;
    for (const sa_node *c = n->parent->first; c && c != n; c = c->next)
        i++;
    return i;
}

int sa_node_path(const sa_node *n, const sa_node *root, char *buf, size_t cap)
{
    return sa_node_path_at(n, root, NULL, 0, buf, cap);
}

int sa_node_path_at(const sa_node *n, const sa_node *root, const sa_node *known,
                    size_t known_idx, char *buf, size_t cap)
{
    /* first the length, then the components from the end backwards */
    size_t len = 0;
    char idx[24];
    for (const sa_node *p = n; p && p != root; p = p->parent) {
        size_t kl;
        if (p->parent && p->parent->type == SA_LIST)
            kl = (size_t)snprintf(idx, sizeof(idx), "%zu", child_index(p, known, known_idx));
        else if (p->key)
            kl = p->key_len;
        else
            return -1;
        /* a separator before every component but the deepest, empty keys included */
        len += kl + (p != n ? 1 : 0);
        if (len + 1 > cap)
            return -1;
    }
    if (cap == 0)
        return -1;
    buf[len] = '\0';
    size_t end = len;
    for (const sa_node *p = n; p && p != root; p = p->parent) {
        const char *k = p->key;
        size_t kl = p->key_len;
        if (p->parent && p->parent->type == SA_LIST) {
            kl = (size_t)snprintf(idx, sizeof(idx), "%zu", child_index(p, known, known_idx));
            k = idx;
        }
        end -= kl;
        memcpy(buf + end, k, kl);
        if (end) {
            end--;
            buf[end] = '.';
        }
    }
    return 0;
}

/* ---- line map ------------------------------------------------------------------------ */
int sa_linemap_init(sa_linemap *map, const char *text, size_t len)
{
    size_t n = 1;
    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p)));
         p++)
        n++;
    map->starts = sa_malloc(n * sizeof(size_t));
    if (map->starts == NULL)
        return -1;
    map->starts[0] = 0;
    size_t i = 1;
    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p)));
         p++)
        map->starts[i++] = (size_t)(p - text) + 1;
    map->n = n;
    map->text = text;
    map->len = len;
    return 0;
}

void sa_linemap_free(sa_linemap *map)
{
    sa_free(map->starts);
    map->starts = NULL;
    map->n = 0;
}

void sa_linemap_pos(const sa_linemap *map, size_t off, unsigned *line, unsigned *col)
{
    if (off > map->len)
        off = map->len;
    size_t lo = 0, hi = map->n;  /* last start <= off */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (map->starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    unsigned c = 1;
    size_t i = map->starts[lo];
    /* a UTF-8 byte order mark is not a column */
    if (i == 0 && map->len >= 3 && memcmp(map->text, "\xEF\xBB\xBF", 3) == 0 && off >= 3)
        i = 3;
    for (; i < off; i++)
        if (((unsigned char)map->text[i] & 0xC0) != 0x80)
            c++;
    *line = (unsigned)(lo + 1);
    *col = c;
}

size_t sa_linemap_line_start(const sa_linemap *map, unsigned line)
{
    if (line == 0)
        return 0;
    if (line > map->n)
        return map->len;
    return map->starts[line - 1];
}

int sa_linemap_errorv(const sa_linemap *map, const char *path, size_t off, char *err,
                      size_t cap, const char *prefix, const char *fmt, va_list ap)
{
    unsigned line, col;
    sa_linemap_pos(map, off, &line, &col);
    int n = snprintf(err, cap, "%s:%u:%u: %s", path, line, col, prefix);
    if (n >= 0 && (size_t)n < cap)
        vsnprintf(err + n, cap - (size_t)n, fmt, ap);
    return -1;
}
