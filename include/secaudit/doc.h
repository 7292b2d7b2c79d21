/* doc.h — the positioned document tree every parser produces, and the line map that turns
 * byte offsets into line:column.
 *
 * Ownership: an sa_doc owns one arena; every node, key and string reachable from the doc
 * lives in it and is released at once by sa_doc_free(). The doc borrows `text` (the file's
 * bytes) from its caller, who keeps it alive as long as the doc. */
#ifndef SECAUDIT_DOC_H
#define SECAUDIT_DOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "secaudit/limits.h"

/* ---- arena ------------------------------------------------------------------------ */
typedef struct sa_arena sa_arena;

sa_arena *sa_arena_new(void);
/* Zeroed, 16-byte aligned memory that lives until sa_arena_free; NULL when out of memory. */
void *sa_arena_alloc(sa_arena *a, size_t n);
/* Copy of n bytes plus a terminating NUL; NULL when out of memory. */
char *sa_arena_strndup(sa_arena *a, const char *s, size_t n);
size_t sa_arena_used(const sa_arena *a);
void sa_arena_free(sa_arena *a);

/* ---- nodes ------------------------------------------------------------------------ */
typedef enum sa_type {
    SA_NULL,  /* JSON null, YAML ~ / null, an empty value */
    SA_BOOL,  /* JSON true/false, YAML true/false (str is "true" or "false") */
    SA_NUM,   /* a JSON/YAML number; str keeps its text as written */
    SA_STR,   /* any other scalar; str is decoded (escapes resolved, quotes removed) */
    SA_MAP,   /* members in document order; each has key/key_len/key_off; keys may repeat */
    SA_LIST   /* elements in document order */
} sa_type;

enum {
    SA_NODE_QUOTED = 1u << 0,  /* the scalar was quoted in the source */
    SA_NODE_DUP = 1u << 1,     /* a later member of the same map has the same key */
    SA_NODE_SYNTH = 1u << 2    /* made by a view, not written in the file (off points at the
                                  place that caused it) */
};

typedef struct sa_node sa_node;
struct sa_node {
    sa_type type;
    unsigned flags;
    const char *key;      /* member name when the parent is a map, NUL-terminated; else NULL */
    size_t key_len;
    size_t key_off;       /* byte offset of the key in the file (== off when there is none) */
    size_t off;           /* byte offset where the value starts (containers: their opening) */
    const char *str;      /* scalar text, NUL-terminated (may hold NULs: use len); NULL for
                             maps and lists */
    size_t len;
    sa_node *parent, *first, *last, *next;
    size_t count;         /* number of children */
    const sa_node *origin;  /* a view's copy: the parsed node it stands for (else NULL) */
};

/* ---- documents -------------------------------------------------------------------- */
typedef struct sa_doc {
    sa_arena *arena;
    sa_node *root;
    const char *text;      /* the file's bytes (borrowed) */
    size_t len;
    const sa_limits *lim;  /* borrowed */
    size_t nodes;          /* nodes made so far (checked against lim->max_nodes) */
} sa_doc;

/* A new empty doc over text[0..len). NULL when out of memory. */
sa_doc *sa_doc_new(const char *text, size_t len, const sa_limits *lim);
void sa_doc_free(sa_doc *doc);

/* A new node of the given type at byte offset off, not yet linked anywhere. NULL when out of
 * memory or when the doc already has lim->max_nodes nodes (sa_doc_over_budget then says 1). */
sa_node *sa_node_new(sa_doc *doc, sa_type type, size_t off);
int sa_doc_over_budget(const sa_doc *doc);
/* Scalar helper: a node whose str is a copy of s[0..n). NULL on OOM/budget. */
sa_node *sa_node_scalar(sa_doc *doc, sa_type type, size_t off, const char *s, size_t n);
/* Append child to parent (a map or a list). For a map, set the key first with
 * sa_node_set_key. */
void sa_node_append(sa_node *parent, sa_node *child);
/* Copies key[0..n) into the arena; returns 0, or -1 when out of memory. */
int sa_node_set_key(sa_doc *doc, sa_node *node, const char *key, size_t n, size_t key_off);
/* Sets a key that outlives the doc (a string literal: a parser's fixed member names), without
 * copying it. */
void sa_node_set_static_key(sa_node *node, const char *key, size_t key_off);

/* The last member of map whose key equals key[0..n) (the one a "last wins" reader uses),
 * or NULL. */
sa_node *sa_map_get(const sa_node *map, const char *key, size_t n);
/* Mark every member of map that is followed by a member with the same key SA_NODE_DUP.
 * O(n log n); returns the number of members marked, or -1 when out of memory. */
long sa_map_mark_dups(sa_node *map);

/* The view path of n below root: keys joined by '.', list elements by their index
 * ("DicomModalities.pacs.AllowFind", "records.3.method"; "" for root itself). 0, or -1 when
 * it does not fit in cap bytes or a member has no key. */
int sa_node_path(const sa_node *n, const sa_node *root, char *buf, size_t cap);
/* The same, told that known (an ancestor of n, or n) is element known_idx of its list: the
 * index of a list element otherwise costs a walk along the list, which per element of a
 * long list is quadratic. */
int sa_node_path_at(const sa_node *n, const sa_node *root, const sa_node *known,
                    size_t known_idx, char *buf, size_t cap);

/* ---- line map --------------------------------------------------------------------- */
/* Line starts of a text; built once per file, used only when a position is printed. */
typedef struct sa_linemap {
    size_t *starts;  /* byte offset of the first byte of each line */
    size_t n;        /* number of lines (at least 1) */
    const char *text;
    size_t len;
} sa_linemap;

int sa_linemap_init(sa_linemap *map, const char *text, size_t len);
void sa_linemap_free(sa_linemap *map);
/* 1-based line and column of byte offset off (clamped to len). Lines end at "\n"; the
 * column counts Unicode code points (UTF-8 lead bytes), so "é" is one column; a UTF-8 byte
 * order mark at the start of the text is not a column. */
void sa_linemap_pos(const sa_linemap *map, size_t off, unsigned *line, unsigned *col);
/* "PATH:LINE:COL: " + prefix + the formatted message into err[0..cap), for byte offset off
 * (a file secaudit reads that is not a scanned one: a profile, a state file). Returns -1. */
__attribute__((format(printf, 7, 0))) int sa_linemap_errorv(const sa_linemap *map,
                                                             const char *path, size_t off,
                                                             char *err, size_t cap,
                                                             const char *prefix,
                                                             const char *fmt, va_list ap);

/* Byte offset of the first byte of 1-based line (clamped). */
size_t sa_linemap_line_start(const sa_linemap *map, unsigned line);

#endif
