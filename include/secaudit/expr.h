/* expr.h — the condition language of rule files (rules/README.md documents it): compile a
 * condition or a path once at load, evaluate it per file (or per element of a list).
 *
 * Ownership: a compiled sa_expr owns its nodes and regexes (sa_expr_free). An evaluation
 * context borrows everything it points to; values it returns point into the view, the rule
 * files or ctx->scratch, and live as long as those. */
#ifndef SECAUDIT_EXPR_H
#define SECAUDIT_EXPR_H

#include <stddef.h>
#include <sys/stat.h>

#include "secaudit/doc.h"
#include "secaudit/rules.h"

/* Compile a condition. On error returns -1, *err_col = 1-based column in src, msg set. */
int sa_expr_compile(const char *src, const sa_limits *lim, sa_expr **out, size_t *err_col,
                    char *msg, size_t msgsz);
/* Compile a path ("a.b", "$.a", "x[\"k.y\"]", "."), as used by at:, key:, for_each:. */
int sa_path_compile(const char *src, sa_expr **out, size_t *err_col, char *msg, size_t msgsz);
void sa_expr_free(sa_expr *e);
/* Refuse a POSIX ERE whose compiled form would be huge (quantified quantifiers, nested
 * bounded repetitions): 0, or -1 with msg. Called before every regcomp of a rule file. */
int sa_regex_check(const char *re, char *msg, size_t cap);
/* Does the expression call world_readable() or other file-level functions? (informational) */
const char *sa_expr_text(const sa_expr *e);

typedef struct sa_eval_ctx {
    const sa_service *svc;
    const sa_node *root;      /* the service's view of the file */
    const sa_node *base;      /* the current element (== root when not iterating) */
    size_t base_idx;          /* its index when it is an element of a list */
    const struct stat *st;    /* the file's status (for world_readable) */
    sa_arena *scratch;        /* for strings made during evaluation */
    int depth;                /* same_as recursion guard */
    struct sa_map_cache *maps;  /* indexes of large maps, made in scratch on first lookup
                                   (leave NULL) */
} sa_eval_ctx;

/* What a path resolved to. */
typedef struct sa_resolved {
    const sa_node *node;        /* the node found (in the view, or a default's value) */
    const sa_default *def;      /* non-NULL when the value is the service's default */
    const sa_node *nearest;     /* the deepest node of the view along the path (for a
                                   position when the path is absent) */
} sa_resolved;

/* 1 when the condition holds, 0 when not, -1 on an internal error (out of memory). */
int sa_expr_eval(const sa_expr *e, sa_eval_ctx *ctx);
/* Resolve a compiled path from ctx->base (or the root for "$…"), falling back to the
 * service's defaults when absent. Returns 1 when found (in the view or as a default), 0
 * when absent with no default. */
int sa_path_resolve(const sa_expr *path, sa_eval_ctx *ctx, sa_resolved *out);

/* Is this address, host name or comma/space-separated list of them loopback only?
 * ("127.0.0.1", "localhost", "::1", "127.0.0.1,::1"; "" is not). */
int sa_is_loopback_list(const char *s, size_t len);

#endif
