/* expr.c — the condition language of rule files: a small recursive-descent compiler to an
 * AST, and its evaluator over a service's view (rules/README.md is the user's reference).
 *
 *   expr  := and ('||' and)*        and  := unary ('&&' unary)*
 *   unary := '!' unary | cmp         cmp  := term (op term)?
 *   op    := == != < <= > >= =~ !~
 *   term  := '(' expr ')' | string | number | true | false | null | name '(' args ')' | path
 *   path  := '$' | '.' | ['$.'] seg ('.' seg | '[' string ']' | '[' integer ']')*
 *
 * Dotted paths resolve greedily: at a map, "a.b.c" first tries the key "a.b.c", then "a.b"
 * followed by "c", then "a" followed by "b.c", so flat maps with dotted keys (OMERO) and
 * nested maps (MongoDB) read the same. */
#include "secaudit/expr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secaudit/alloc.h"

enum ekind { E_OR, E_AND, E_NOT, E_CMP, E_PATH, E_LIT, E_CALL };
enum eop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_MATCH, OP_NOMATCH };
enum lkind { L_STR, L_NUM, L_BOOL, L_NULL };

typedef struct seg {
    char *s;
    size_t len;
    int atomic;   /* written in brackets: never joined with a neighbour */
    long index;   /* >= 0 for [N] */
} seg;

enum fn {
    FN_EXISTS, FN_LEN, FN_LOWER, FN_LOOPBACK, FN_URL_HOST, FN_KEY, FN_WORLD_READABLE, FN_SINCE,
    FN_LDAP_PLAINTEXT
};

static const struct {
    const char *name;
    enum fn fn;
    int arity;
} builtins[] = {
    {"exists", FN_EXISTS, 1},     {"key", FN_KEY, 0},
    {"ldap_plaintext", FN_LDAP_PLAINTEXT, 1},
    {"len", FN_LEN, 1},           {"loopback", FN_LOOPBACK, 1},
    {"lower", FN_LOWER, 1},       {"since", FN_SINCE, 1},
    {"url_host", FN_URL_HOST, 1},
    {"world_readable", FN_WORLD_READABLE, 0},
};

struct sa_expr {
    enum ekind kind;
    enum eop op;
    sa_expr *a, *b;
    /* path */
    seg *segs;
    size_t nseg;
    int rooted;
    /* literal */
    enum lkind lit;
    char *str;
    size_t len;
    double num;
    /* call */
    enum fn fn;
    sa_expr *args[2];
    int nargs;
    /* =~ with a literal */
    regex_t re;
    int has_re;
    char *src;   /* the whole source text (only on the top node) */
};

/* ---- compiler ------------------------------------------------------------------------ */
typedef struct parser {
    const char *src, *p;
    const sa_limits *lim;
    int depth;
    size_t err_col;
    char *msg;
    size_t msgsz;
    int failed;
} parser;

__attribute__((format(printf, 3, 4))) static void perr(parser *ps, const char *at,
                                                       const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    ps->err_col = (size_t)(at - ps->src) + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->msg, ps->msgsz, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

static sa_expr *new_expr(parser *ps, enum ekind k)
{
    sa_expr *e = sa_calloc(1, sizeof(*e));
    if (e == NULL)
        perr(ps, ps->p, "out of memory");
    else
        e->kind = k;
    return e;
}

void sa_expr_free(sa_expr *e)
{
    if (e == NULL)
        return;
    sa_expr_free(e->a);
    sa_expr_free(e->b);
    for (int i = 0; i < 2; i++)
        sa_expr_free(e->args[i]);
    for (size_t i = 0; i < e->nseg; i++)
        sa_free(e->segs[i].s);
    sa_free(e->segs);
    sa_free(e->str);
    if (e->has_re)
        regfree(&e->re);
    sa_free(e->src);
    sa_free(e);
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_' || c == '-' || c == '*' || c == '@';
}

static int add_seg(parser *ps, sa_expr *e, const char *s, size_t n, int atomic, long index)
{
    if (e->nseg >= 64) {
        perr(ps, ps->p, "path has more than 64 components");
        return -1;
    }
    seg *v = sa_realloc(e->segs, (e->nseg + 1) * sizeof(*v));
    if (v == NULL) {
        perr(ps, ps->p, "out of memory");
        return -1;
    }
    e->segs = v;
    v[e->nseg].s = sa_strndup(s, n);
    if (v[e->nseg].s == NULL) {
        perr(ps, ps->p, "out of memory");
        return -1;
    }
    v[e->nseg].len = n;
    v[e->nseg].atomic = atomic;
    v[e->nseg].index = index;
    e->nseg++;
    return 0;
}

/* A quoted string at ps->p ('…' or "…", backslash escapes \\ \" \' \n \t). Returns a
 * malloc'd copy in *out. */
static int parse_string(parser *ps, char **out, size_t *outlen)
{
    const char *start = ps->p;
    char q = *ps->p++;
    size_t cap = 16, n = 0;
    char *buf = sa_malloc(cap);
    if (buf == NULL) {
        perr(ps, start, "out of memory");
        return -1;
    }
    for (;;) {
        char c = *ps->p;
        if (c == '\0') {
            perr(ps, start, "unterminated string");
            sa_free(buf);
            return -1;
        }
        ps->p++;
        if (c == q)
            break;
        if (c == '\\') {
            char d = *ps->p;
            if (d == '\0')
                continue;
            ps->p++;
            c = d == 'n' ? '\n' : d == 't' ? '\t' : d;
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *nb = sa_realloc(buf, cap);
            if (nb == NULL) {
                sa_free(buf);
                perr(ps, start, "out of memory");
                return -1;
            }
            buf = nb;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return 0;
}

static sa_expr *parse_path(parser *ps)
{
    sa_expr *e = new_expr(ps, E_PATH);
    if (e == NULL)
        return NULL;
    if (*ps->p == '$') {
        e->rooted = 1;
        ps->p++;
        if (*ps->p != '.' && *ps->p != '[')
            return e;
        if (*ps->p == '.')
            ps->p++;
    } else if (*ps->p == '.') {
        ps->p++;
        if (!is_ident((unsigned char)*ps->p) && *ps->p != '[')
            return e;  /* "." alone: the current element */
    }
    for (;;) {
        if (*ps->p == '[') {
            const char *open = ps->p++;
            skip_ws(ps);
            if (*ps->p == '"' || *ps->p == '\'') {
                char *s;
                size_t n;
                if (parse_string(ps, &s, &n) < 0)
                    goto fail;
                int r = add_seg(ps, e, s, n, 1, -1);
                sa_free(s);
                if (r < 0)
                    goto fail;
            } else if (isdigit((unsigned char)*ps->p)) {
                char *end;
                errno = 0;
                long idx = strtol(ps->p, &end, 10);
                if (errno || idx < 0 || end - ps->p > 9) {
                    perr(ps, ps->p, "bad list index");
                    goto fail;
                }
                if (add_seg(ps, e, ps->p, (size_t)(end - ps->p), 1, idx) < 0)
                    goto fail;
                ps->p = end;
            } else {
                perr(ps, ps->p, "expected a quoted key or an index after '['");
                goto fail;
            }
            skip_ws(ps);
            if (*ps->p != ']') {
                perr(ps, open, "unclosed '['");
                goto fail;
            }
            ps->p++;
        } else if (is_ident((unsigned char)*ps->p)) {
            const char *s = ps->p;
            while (is_ident((unsigned char)*ps->p))
                ps->p++;
            if (add_seg(ps, e, s, (size_t)(ps->p - s), 0, -1) < 0)
                goto fail;
        } else {
            perr(ps, ps->p, "expected a key name");
            goto fail;
        }
        if (*ps->p == '.' && (is_ident((unsigned char)ps->p[1]) || ps->p[1] == '[')) {
            ps->p++;
            continue;
        }
        if (*ps->p == '[')
            continue;
        break;
    }
    return e;
fail:
    sa_expr_free(e);
    return NULL;
}

static sa_expr *parse_or(parser *ps);

static sa_expr *parse_term(parser *ps)
{
    skip_ws(ps);
    const char *start = ps->p;
    char c = *ps->p;
    if (c == '(') {
        ps->p++;
        sa_expr *e = parse_or(ps);
        if (e == NULL)
            return NULL;
        skip_ws(ps);
        if (*ps->p != ')') {
            perr(ps, start, "unclosed '('");
            sa_expr_free(e);
            return NULL;
        }
        ps->p++;
        return e;
    }
    if (c == '"' || c == '\'') {
        sa_expr *e = new_expr(ps, E_LIT);
        if (e == NULL)
            return NULL;
        e->lit = L_STR;
        if (parse_string(ps, &e->str, &e->len) < 0) {
            sa_expr_free(e);
            return NULL;
        }
        return e;
    }
    if (isdigit((unsigned char)c) || (c == '-' && isdigit((unsigned char)ps->p[1]))) {
        char *end;
        double d = strtod(ps->p, &end);
        if (end == ps->p || !isfinite(d)) {
            perr(ps, start, "bad number");
            return NULL;
        }
        sa_expr *e = new_expr(ps, E_LIT);
        if (e == NULL)
            return NULL;
        e->lit = L_NUM;
        e->num = d;
        ps->p = end;
        return e;
    }
    if (c == '[')
        return parse_path(ps);
    if (c == '$' || c == '.' || is_ident((unsigned char)c)) {
        const char *s = ps->p;
        while (isalnum((unsigned char)*s) || *s == '_')
            s++;
        size_t n = (size_t)(s - ps->p);
        const char *after = s;
        while (*after == ' ' || *after == '\t')
            after++;
        if (n && *after == '(' && isalpha((unsigned char)c)) {
            size_t i;
            for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
                if (strlen(builtins[i].name) == n && memcmp(builtins[i].name, ps->p, n) == 0)
                    break;
            if (i == sizeof(builtins) / sizeof(builtins[0])) {
                char name[64];
                snprintf(name, sizeof(name), "%.*s", (int)(n < 40 ? n : 40), ps->p);
                perr(ps, start, "unknown function '%s'", name);
                return NULL;
            }
            sa_expr *e = new_expr(ps, E_CALL);
            if (e == NULL)
                return NULL;
            e->fn = builtins[i].fn;
            ps->p = after + 1;
            skip_ws(ps);
            while (*ps->p != ')') {
                if (e->nargs == 2) {
                    perr(ps, ps->p, "too many arguments");
                    sa_expr_free(e);
                    return NULL;
                }
                e->args[e->nargs] = parse_or(ps);
                if (e->args[e->nargs] == NULL) {
                    sa_expr_free(e);
                    return NULL;
                }
                e->nargs++;
                skip_ws(ps);
                if (*ps->p == ',') {
                    ps->p++;
                    skip_ws(ps);
                } else if (*ps->p != ')') {
                    perr(ps, ps->p, "expected ',' or ')'");
                    sa_expr_free(e);
                    return NULL;
                }
            }
            ps->p++;
            if (e->nargs != builtins[i].arity) {
                perr(ps, start, "%s() takes a different number of arguments", builtins[i].name);
                sa_expr_free(e);
                return NULL;
            }
            if (e->fn == FN_SINCE && (e->args[0]->kind != E_LIT || e->args[0]->lit != L_STR)) {
                perr(ps, start, "since() takes a quoted version such as \"1.5.8\"");
                sa_expr_free(e);
                return NULL;
            }
            if (e->fn == FN_EXISTS && e->args[0]->kind != E_PATH) {
                perr(ps, start, "exists() takes a path");
                sa_expr_free(e);
                return NULL;
            }
            return e;
        }
        if (n == 4 && memcmp(ps->p, "true", 4) == 0 && !is_ident((unsigned char)ps->p[4]) &&
            ps->p[4] != '.') {
            sa_expr *e = new_expr(ps, E_LIT);
            if (e) {
                e->lit = L_BOOL;
                e->num = 1;
            }
            ps->p += 4;
            return e;
        }
        if (n == 5 && memcmp(ps->p, "false", 5) == 0 && !is_ident((unsigned char)ps->p[5]) &&
            ps->p[5] != '.') {
            sa_expr *e = new_expr(ps, E_LIT);
            if (e)
                e->lit = L_BOOL;
            ps->p += 5;
            return e;
        }
        if (n == 4 && memcmp(ps->p, "null", 4) == 0 && !is_ident((unsigned char)ps->p[4]) &&
            ps->p[4] != '.') {
            sa_expr *e = new_expr(ps, E_LIT);
            if (e)
                e->lit = L_NULL;
            ps->p += 4;
            return e;
        }
        return parse_path(ps);
    }
    if (c == '\0')
        perr(ps, start, "unexpected end of condition");
    else
        perr(ps, start, "unexpected character");
    return NULL;
}

static int parse_op(parser *ps, enum eop *op)
{
    static const struct {
        const char *s;
        enum eop op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE},
               {"=~", OP_MATCH}, {"!~", OP_NOMATCH}, {"<", OP_LT}, {">", OP_GT}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t n = strlen(ops[i].s);
        if (strncmp(ps->p, ops[i].s, n) == 0) {
            ps->p += n;
            *op = ops[i].op;
            return 1;
        }
    }
    return 0;
}

/* glibc's regcomp copies the tree of an atom for every "+" and for every bound of "{m,n}"
 * applied to it, so "a++++…" or "((a{9}){9}){9}" makes it allocate exponentially (a rule file
 * from a stranger could exhaust memory at load). Estimate the compiled size: an atom is 1, a
 * group the sum of its branches, "+" doubles what it applies to, "{m,n}" multiplies it by
 * n+1 (m+1 when unbounded); a quantifier on a quantifier (undefined in POSIX EREs) is
 * refused. 0, or -1 with msg. */
int sa_regex_check(const char *re, char *msg, size_t cap)
{
    enum { MAX_COST = 20000, MAX_NEST = 32 };
    double sum[MAX_NEST + 1] = {0}, last = 0;  /* per open group; cost of the last atom */
    int depth = 0, quantified = 0;
    for (const char *p = re; *p; p++) {
        double atom = -1;
        switch (*p) {
        case '(':
            if (depth == MAX_NEST) {
                snprintf(msg, cap, "regular expression nests groups more than %d deep",
                         MAX_NEST);
                return -1;
            }
            sum[++depth] = 0;
            last = 0;
            quantified = 0;
            continue;
        case ')':
            if (depth == 0) {
                atom = 1;
                break;
            }
            atom = sum[depth--] + 1;
            break;
        case '|':
            last = 0;
            quantified = 0;
            continue;
        case '*': case '+': case '?': case '{': {
            if (quantified) {
                snprintf(msg, cap, "regular expression applies a quantifier to a quantifier");
                return -1;
            }
            double times = *p == '+' ? 2 : 1;
            if (*p == '{') {
                /* "{m}", "{m,}" or "{m,n}"; anything else is left to regcomp to judge */
                const char *q = p + 1;
                unsigned long m = 0, n;
                while (*q >= '0' && *q <= '9' && m < 100000)
                    m = m * 10 + (unsigned long)(*q++ - '0');
                n = m;
                if (*q == ',') {
                    q++;
                    if (*q >= '0' && *q <= '9') {
                        n = 0;
                        while (*q >= '0' && *q <= '9' && n < 100000)
                            n = n * 10 + (unsigned long)(*q++ - '0');
                    }
                }
                if (*q != '}') {
                    atom = 1;  /* not a bound: a literal as far as the estimate goes */
                    break;
                }
                p = q;
                times = (double)(n > m ? n : m) + 1;
            }
            sum[depth] += last * (times - 1);
            last *= times;
            quantified = 1;
            if (sum[depth] > MAX_COST) {
                snprintf(msg, cap, "regular expression too complex (repetitions of repetitions)");
                return -1;
            }
            continue;
        }
        case '\\':
            if (p[1])
                p++;
            atom = 1;
            break;
        case '[': {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']') {
                if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
                    const char *e = strchr(q + 2, q[1]);
                    q = e && e[1] == ']' ? e + 2 : q + 1;
                } else {
                    q++;
                }
            }
            p = *q ? q : q - 1;
            atom = 1;
            break;
        }
        default:
            atom = 1;
        }
        last = atom;
        sum[depth] += atom;
        quantified = 0;
        if (sum[depth] > MAX_COST) {
            snprintf(msg, cap, "regular expression too complex (repetitions of repetitions)");
            return -1;
        }
    }
    return 0;
}
static sa_expr *parse_cmp(parser *ps)
{
    sa_expr *l = parse_term(ps);
    if (l == NULL)
        return NULL;
    skip_ws(ps);
    const char *opat = ps->p;
    enum eop op;
    if (!parse_op(ps, &op))
        return l;
    sa_expr *r = parse_term(ps);
    if (r == NULL) {
        sa_expr_free(l);
        return NULL;
    }
    sa_expr *e = new_expr(ps, E_CMP);
    if (e == NULL) {
        sa_expr_free(l);
        sa_expr_free(r);
        return NULL;
    }
    e->op = op;
    e->a = l;
    e->b = r;
    if (op == OP_MATCH || op == OP_NOMATCH) {
        if (r->kind != E_LIT || r->lit != L_STR) {
            perr(ps, opat, "the right side of =~ and !~ must be a quoted regular expression");
            sa_expr_free(e);
            return NULL;
        }
        if (r->len > ps->lim->max_regex || strlen(r->str) != r->len) {
            perr(ps, opat, "regular expression too long or holds a NUL byte");
            sa_expr_free(e);
            return NULL;
        }
        char why[128];
        if (sa_regex_check(r->str, why, sizeof(why)) < 0) {
            perr(ps, opat, "%s", why);
            sa_expr_free(e);
            return NULL;
        }
        int rc = regcomp(&e->re, r->str, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char buf[128];
            regerror(rc, &e->re, buf, sizeof(buf));
            perr(ps, opat, "bad regular expression: %s", buf);
            sa_expr_free(e);
            return NULL;
        }
        e->has_re = 1;
    }
    return e;
}

static sa_expr *parse_unary(parser *ps)
{
    skip_ws(ps);
    if (*ps->p == '!' && ps->p[1] != '=' && ps->p[1] != '~') {
        ps->p++;
        if (++ps->depth > 64) {
            perr(ps, ps->p, "condition nested too deeply");
            return NULL;
        }
        sa_expr *inner = parse_unary(ps);
        ps->depth--;
        if (inner == NULL)
            return NULL;
        sa_expr *e = new_expr(ps, E_NOT);
        if (e == NULL) {
            sa_expr_free(inner);
            return NULL;
        }
        e->a = inner;
        return e;
    }
    return parse_cmp(ps);
}

static sa_expr *parse_binary(parser *ps, int is_or)
{
    if (++ps->depth > 64) {
        perr(ps, ps->p, "condition nested too deeply");
        return NULL;
    }
    sa_expr *l = is_or ? parse_binary(ps, 0) : parse_unary(ps);
    while (l != NULL) {
        skip_ws(ps);
        const char *tok = is_or ? "||" : "&&";
        if (strncmp(ps->p, tok, 2) != 0)
            break;
        ps->p += 2;
        sa_expr *r = is_or ? parse_binary(ps, 0) : parse_unary(ps);
        if (r == NULL) {
            sa_expr_free(l);
            l = NULL;
            break;
        }
        sa_expr *e = new_expr(ps, is_or ? E_OR : E_AND);
        if (e == NULL) {
            sa_expr_free(l);
            sa_expr_free(r);
            l = NULL;
            break;
        }
        e->a = l;
        e->b = r;
        l = e;
    }
    ps->depth--;
    return l;
}

static sa_expr *parse_or(parser *ps)
{
    return parse_binary(ps, 1);
}

static int finish(parser *ps, sa_expr *e, sa_expr **out, size_t *err_col)
{
    if (e != NULL && !ps->failed) {
        skip_ws(ps);
        if (*ps->p != '\0')
            perr(ps, ps->p, "unexpected text after the condition");
    }
    if (ps->failed || e == NULL) {
        if (!ps->failed)
            perr(ps, ps->p, "bad condition");
        sa_expr_free(e);
        *err_col = ps->err_col;
        return -1;
    }
    e->src = sa_strdup(ps->src);
    if (e->src == NULL) {
        sa_expr_free(e);
        snprintf(ps->msg, ps->msgsz, "out of memory");
        *err_col = 1;
        return -1;
    }
    *out = e;
    return 0;
}

int sa_expr_compile(const char *src, const sa_limits *lim, sa_expr **out, size_t *err_col,
                    char *msg, size_t msgsz)
{
    parser ps = {.src = src, .p = src, .lim = lim ? lim : &sa_limits_default, .msg = msg,
                 .msgsz = msgsz};
    *out = NULL;
    sa_expr *e = parse_or(&ps);
    return finish(&ps, e, out, err_col);
}

int sa_path_compile(const char *src, sa_expr **out, size_t *err_col, char *msg, size_t msgsz)
{
    parser ps = {.src = src, .p = src, .lim = &sa_limits_default, .msg = msg, .msgsz = msgsz};
    *out = NULL;
    skip_ws(&ps);
    sa_expr *e = NULL;
    if (*ps.p == '$' || *ps.p == '.' || is_ident((unsigned char)*ps.p) || *ps.p == '[')
        e = parse_path(&ps);
    else
        perr(&ps, ps.p, "expected a path");
    return finish(&ps, e, out, err_col);
}

const char *sa_expr_text(const sa_expr *e)
{
    return e && e->src ? e->src : "";
}

/* ---- evaluation ---------------------------------------------------------------------- */
typedef enum vkind { V_MISSING, V_NODE, V_STR, V_NUM, V_BOOL } vkind;

typedef struct val {
    vkind k;
    const sa_node *node;
    const char *s;
    size_t len;
    double num;
    int b;
} val;

static int version_ok(const sa_service *svc, const sa_default *d)
{
    const char *v = svc->assumed_version ? svc->assumed_version : svc->version;
    if (v == NULL)
        return d->until == NULL;
    if (d->since && sa_version_cmp(v, d->since) < 0)
        return 0;
    if (d->until && sa_version_cmp(v, d->until) > 0)
        return 0;
    return 1;
}

static int resolve_from(const sa_expr *path, sa_eval_ctx *ctx, const sa_node *from,
                        sa_resolved *out);

/* fnmatch(glob, s, 0), with the glob's literal prefix compared first: most globs differ
 * from most paths in their first bytes, and fnmatch costs far more than strncmp. */
static int glob_matches(const char *glob, const char *s)
{
    size_t lit = strcspn(glob, "*?[\\");
    if (strncmp(glob, s, lit) != 0)
        return 0;
    if (glob[lit] == '\0')
        return s[lit] == '\0';
    return fnmatch(glob + lit, s + lit, 0) == 0;
}

/* Look up the service's default for view path abs (a NUL-terminated string). */
static int lookup_default(sa_eval_ctx *ctx, const char *abs, sa_resolved *out)
{
    const sa_service *svc = ctx->svc;
    if (svc == NULL)
        return 0;
    for (size_t i = 0; i < svc->n_defaults; i++) {
        const sa_default *d = &svc->defaults[i];
        if (!glob_matches(d->key, abs) || !version_ok(svc, d))
            continue;
        if (d->same_as_path) {
            if (ctx->depth > 8)
                return 0;
            ctx->depth++;
            sa_resolved r;
            int found = resolve_from(d->same_as_path, ctx, ctx->root, &r);
            ctx->depth--;
            if (!found)
                return 0;
            out->node = r.node;
        } else {
            out->node = d->value;
        }
        out->def = d;
        return out->node != NULL;
    }
    return 0;
}

/* ---- large maps: looked up through a hash index ------------------------------------------
 * sa_map_get is a linear scan; a rule that looks up a top-level key for each of many
 * elements would then cost elements x members. A map of MAP_INDEX_MIN members or more gets
 * an index (open addressing, the last member of a repeated key wins, as in sa_map_get) the
 * first time it is looked up; the indexes live in the evaluation's scratch arena, each map
 * indexed at most once, so their memory is bounded by the tree's size. */
enum { MAP_INDEX_MIN = 32 };

typedef struct map_ix {
    const sa_node *map;
    const sa_node **slot;  /* mask + 1 slots */
    size_t mask;
} map_ix;

struct sa_map_cache {
    map_ix *v;  /* open addressing by map address; mask + 1 entries */
    size_t mask, n;
};

static size_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return (size_t)h;
}

static size_t hash_ptr(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 17);
}

/* The index of map in ctx's cache, made when missing; NULL when out of memory. */
static const map_ix *map_index(sa_eval_ctx *ctx, const sa_node *map)
{
    struct sa_map_cache *c = ctx->maps;
    if (c == NULL) {
        if ((c = sa_arena_alloc(ctx->scratch, sizeof(*c))) == NULL ||
            (c->v = sa_arena_alloc(ctx->scratch, 16 * sizeof(map_ix))) == NULL)
            return NULL;
        c->mask = 15;
        ctx->maps = c;
    }
    size_t h = hash_ptr(map) & c->mask;
    while (c->v[h].map && c->v[h].map != map)
        h = (h + 1) & c->mask;
    if (c->v[h].map)
        return &c->v[h];
    if (2 * (c->n + 1) > c->mask + 1) {  /* grow the cache, then find the place again */
        size_t nm = 2 * (c->mask + 1) - 1;
        map_ix *nv = sa_arena_alloc(ctx->scratch, (nm + 1) * sizeof(map_ix));
        if (nv == NULL)
            return NULL;
        for (size_t i = 0; i <= c->mask; i++) {
            if (c->v[i].map == NULL)
                continue;
            size_t k = hash_ptr(c->v[i].map) & nm;
            while (nv[k].map)
                k = (k + 1) & nm;
            nv[k] = c->v[i];
        }
        c->v = nv;
        c->mask = nm;
        h = hash_ptr(map) & c->mask;
        while (c->v[h].map)
            h = (h + 1) & c->mask;
    }
    size_t members = 0, size = 64;
    for (const sa_node *m = map->first; m; m = m->next)
        members++;  /* count them: a view's map may not keep count */
    while (size < 2 * members)
        size *= 2;
    const sa_node **slot = sa_arena_alloc(ctx->scratch, size * sizeof(*slot));
    if (slot == NULL)
        return NULL;
    for (const sa_node *m = map->first; m; m = m->next) {
        size_t k = hash_key(m->key, m->key_len) & (size - 1);
        while (slot[k] && !(slot[k]->key_len == m->key_len &&
                            memcmp(slot[k]->key, m->key, m->key_len) == 0))
            k = (k + 1) & (size - 1);
        slot[k] = m;  /* a later member with the same key replaces the earlier one */
    }
    c->v[h] = (map_ix){.map = map, .slot = slot, .mask = size - 1};
    c->n++;
    return &c->v[h];
}

/* sa_map_get, through an index for a large map. */
static const sa_node *map_get(sa_eval_ctx *ctx, const sa_node *map, const char *key, size_t n)
{
    const map_ix *ix = NULL;
    if (ctx && ctx->scratch && map->type == SA_MAP && map->count >= MAP_INDEX_MIN)
        ix = map_index(ctx, map);
    if (ix == NULL)
        return sa_map_get(map, key, n);
    size_t k = hash_key(key, n) & ix->mask;
    for (const sa_node *m; (m = ix->slot[k]) != NULL; k = (k + 1) & ix->mask)
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

/* Greedy resolution of segs[i..n) below node; returns the node or NULL, and the deepest
 * node reached in *nearest. */
static const sa_node *walk_segs(sa_eval_ctx *ctx, const sa_node *node, const seg *segs,
                                size_t i, size_t n, const sa_node **nearest)
{
    if (i == n)
        return node;
    if (node == NULL)
        return NULL;
    if (*nearest == NULL || node != *nearest)
        *nearest = node;
    if (node->type == SA_LIST) {
        if (segs[i].index < 0)
            return NULL;
        long k = 0;
        for (const sa_node *c = node->first; c; c = c->next, k++)
            if (k == segs[i].index)
                return walk_segs(ctx, c, segs, i + 1, n, nearest);
        return NULL;
    }
    if (node->type != SA_MAP)
        return NULL;
    /* longest run of joinable segments first */
    size_t maxj = i + 1;
    if (!segs[i].atomic)
        while (maxj < n && !segs[maxj].atomic)
            maxj++;
    for (size_t j = maxj; j > i; j--) {
        char key[512];
        size_t kl = 0;
        int fits = 1;
        for (size_t t = i; t < j; t++) {
            if (kl + segs[t].len + 2 > sizeof(key)) {
                fits = 0;
                break;
            }
            if (t > i)
                key[kl++] = '.';
            memcpy(key + kl, segs[t].s, segs[t].len);
            kl += segs[t].len;
        }
        if (!fits)
            continue;
        const sa_node *c = map_get(ctx, node, key, kl);
        if (c == NULL)
            continue;
        const sa_node *r = walk_segs(ctx, c, segs, j, n, nearest);
        if (r != NULL)
            return r;
    }
    return NULL;
}

static int resolve_from(const sa_expr *path, sa_eval_ctx *ctx, const sa_node *from,
                        sa_resolved *out)
{
    memset(out, 0, sizeof(*out));
    const sa_node *nearest = NULL;
    const sa_node *n = walk_segs(ctx, from, path->segs, 0, path->nseg, &nearest);
    out->nearest = nearest ? nearest : from;
    if (n != NULL) {
        out->node = n;
        return 1;
    }
    /* absent: the service's default for the view path (computing the path costs a walk up
     * the tree, so only when the service has defaults at all) */
    if (ctx->svc == NULL || ctx->svc->n_defaults == 0)
        return 0;
    char abs[1024];
    size_t len = 0;
    if (sa_node_path_at(from, ctx->root, ctx->base, ctx->base_idx, abs, sizeof(abs)) < 0)
        return 0;
    len = strlen(abs);
    for (size_t i = 0; i < path->nseg; i++) {
        if (len + path->segs[i].len + 2 > sizeof(abs))
            return 0;
        if (len)
            abs[len++] = '.';
        memcpy(abs + len, path->segs[i].s, path->segs[i].len);
        len += path->segs[i].len;
        abs[len] = '\0';
    }
    return lookup_default(ctx, abs, out);
}

int sa_path_resolve(const sa_expr *path, sa_eval_ctx *ctx, sa_resolved *out)
{
    const sa_node *from = path->rooted ? ctx->root : ctx->base;
    return resolve_from(path, ctx, from, out);
}

static int is_scalar(const sa_node *n)
{
    return n->type != SA_MAP && n->type != SA_LIST;
}

static int text_of(const val *v, const char **s, size_t *len)
{
    switch (v->k) {
    case V_STR:
        *s = v->s;
        *len = v->len;
        return 1;
    case V_NODE:
        if (!is_scalar(v->node))
            return 0;
        *s = v->node->str ? v->node->str : "";
        *len = v->node->str ? v->node->len : 0;
        if (v->node->type == SA_NULL && v->node->str == NULL)
            *len = 0;
        return 1;
    default:
        return 0;
    }
}

static int bool_of(const val *v, int *b)
{
    if (v->k == V_BOOL) {
        *b = v->b;
        return 1;
    }
    const char *s;
    size_t n;
    if (!text_of(v, &s, &n))
        return 0;
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strlen(yes[i]) == n && strncasecmp(s, yes[i], n) == 0) {
            *b = 1;
            return 1;
        }
        if (strlen(no[i]) == n && strncasecmp(s, no[i], n) == 0) {
            *b = 0;
            return 1;
        }
    }
    return 0;
}

static int num_of(const val *v, double *d)
{
    if (v->k == V_NUM) {
        *d = v->num;
        return 1;
    }
    const char *s;
    size_t n;
    if (!text_of(v, &s, &n) || n == 0 || n > 64)
        return 0;
    char buf[72];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double x = strtod(buf, &end);
    while (*end == ' ')
        end++;
    if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(x))
        return 0;
    *d = x;
    return 1;
}

static int eval_val(const sa_expr *e, sa_eval_ctx *ctx, val *out);

static int truthy(const val *v)
{
    int b;
    if (bool_of(v, &b))
        return b;
    return 0;
}

int sa_is_loopback_list(const char *s, size_t len)
{
    size_t i = 0, items = 0;
    while (i < len) {
        while (i < len && (s[i] == ',' || s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= len)
            break;
        size_t st = i;
        while (i < len && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
            i++;
        size_t n = i - st;
        char item[64];
        if (n >= sizeof(item))
            return 0;
        memcpy(item, s + st, n);
        item[n] = '\0';
        char *it = item;
        /* [::1]:port or [::1] */
        if (it[0] == '[') {
            char *close = strchr(it, ']');
            if (close == NULL)
                return 0;
            *close = '\0';
            it++;
        } else {
            char *colon = strchr(it, ':');
            if (colon && strchr(colon + 1, ':') == NULL)
                *colon = '\0';  /* host:port */
        }
        unsigned char a[16];
        if (strcasecmp(it, "localhost") == 0 || strcasecmp(it, "localhost.localdomain") == 0 ||
            strcasecmp(it, "ip6-localhost") == 0) {
            items++;
            continue;
        }
        if (inet_pton(AF_INET, it, a) == 1 && a[0] == 127) {
            items++;
            continue;
        }
        if (inet_pton(AF_INET6, it, a) == 1) {
            static const unsigned char one[16] = {[15] = 1};
            if (memcmp(a, one, 16) == 0) {
                items++;
                continue;
            }
        }
        return 0;
    }
    return items > 0;
}

static const char *find3(const char *s, size_t n, const char *pat)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (memcmp(s + i, pat, 3) == 0)
            return s + i;
    return NULL;
}

/* The host of the URL whose authority starts at p (after "://"), up to end or the first
 * '/', ' ', ',' or '?': [user[:pw]@]host[:port] or [v6]. 0 with [*hs, *he), or -1. */
static int url_host_span(const char *p, const char *end, const char **hs, const char **he)
{
    const char *stop = p;
    while (stop < end && *stop != '/' && *stop != ' ' && *stop != ',' && *stop != '?')
        stop++;
    for (const char *q = p; q < stop; q++)
        if (*q == '@')
            p = q + 1;
    const char *hend = stop;
    if (p < stop && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(stop - p));
        if (close == NULL)
            return -1;
        p++;
        hend = close;
    } else {
        const char *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon)
            hend = colon;
    }
    *hs = p;
    *he = hend;
    return 0;
}

/* Does the list of URLs s[0..n) (separated by spaces or commas) hold an ldap:// URL to a
 * host that is not loopback? ldaps:// and ldapi:// are not plaintext; ldap:/// (no host:
 * the client's default) is not judged. The shared check of the OMERO, pg_hba and OpenLDAP
 * packs. */
static int ldap_plaintext(const char *s, size_t n)
{
    const char *end = s + n;
    for (const char *p = s; p < end;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        if (p - w > 7 && strncasecmp(w, "ldap://", 7) == 0) {
            const char *hs, *he;
            if (url_host_span(w + 7, p, &hs, &he) == 0 && he > hs &&
                !sa_is_loopback_list(hs, (size_t)(he - hs)))
                return 1;
        }
    }
    return 0;
}

static int call_fn(const sa_expr *e, sa_eval_ctx *ctx, val *out)
{
    val a = {0};
    memset(out, 0, sizeof(*out));
    switch (e->fn) {
    case FN_EXISTS: {
        sa_resolved r;
        int found = sa_path_resolve(e->args[0], ctx, &r);
        out->k = V_BOOL;
        out->b = found && r.def == NULL;
        return 0;
    }
    case FN_KEY:
        if (ctx->base && ctx->base->key) {
            out->k = V_STR;
            out->s = ctx->base->key;
            out->len = ctx->base->key_len;
        }
        return 0;
    case FN_SINCE: {
        /* the version the user assumes, else the rule file's; none known: the newest */
        const char *v = ctx->svc ? (ctx->svc->assumed_version ? ctx->svc->assumed_version
                                                               : ctx->svc->version)
                                 : NULL;
        out->k = V_BOOL;
        out->b = v == NULL || sa_version_cmp(v, e->args[0]->str) >= 0;
        return 0;
    }
    case FN_WORLD_READABLE:
        out->k = V_BOOL;
        out->b = ctx->st != NULL && (ctx->st->st_mode & S_IROTH) != 0;
        return 0;
    default:
        break;
    }
    if (eval_val(e->args[0], ctx, &a) < 0)
        return -1;
    if (a.k == V_MISSING)
        return 0;
    const char *s;
    size_t n;
    switch (e->fn) {
    case FN_LEN:
        if (a.k == V_NODE && !is_scalar(a.node)) {
            out->k = V_NUM;
            out->num = (double)a.node->count;
        } else if (text_of(&a, &s, &n)) {
            out->k = V_NUM;
            out->num = (double)n;
        }
        return 0;
    case FN_LOWER: {
        if (!text_of(&a, &s, &n))
            return 0;
        char *d = sa_arena_strndup(ctx->scratch, s, n);
        if (d == NULL)
            return -1;
        for (size_t i = 0; i < n; i++)
            d[i] = (char)tolower((unsigned char)d[i]);
        out->k = V_STR;
        out->s = d;
        out->len = n;
        return 0;
    }
    case FN_LOOPBACK:
        if (!text_of(&a, &s, &n))
            return 0;
        out->k = V_BOOL;
        out->b = sa_is_loopback_list(s, n);
        return 0;
    case FN_LDAP_PLAINTEXT:
        if (!text_of(&a, &s, &n))
            return 0;
        out->k = V_BOOL;
        out->b = ldap_plaintext(s, n);
        return 0;
    case FN_URL_HOST: {
        /* scheme://[user[:pw]@]host[:port][/...]; several URLs separated by spaces or
         * commas: the first */
        if (!text_of(&a, &s, &n))
            return 0;
        const char *p = find3(s, n, "://"), *hend;
        if (p == NULL || url_host_span(p + 3, s + n, &p, &hend) < 0)
            return 0;
        char *d = sa_arena_strndup(ctx->scratch, p, (size_t)(hend - p));
        if (d == NULL)
            return -1;
        out->k = V_STR;
        out->s = d;
        out->len = (size_t)(hend - p);
        return 0;
    }
    default:
        return 0;
    }
}

static int eval_val(const sa_expr *e, sa_eval_ctx *ctx, val *out)
{
    memset(out, 0, sizeof(*out));
    switch (e->kind) {
    case E_LIT:
        switch (e->lit) {
        case L_STR:
            out->k = V_STR;
            out->s = e->str;
            out->len = e->len;
            break;
        case L_NUM:
            out->k = V_NUM;
            out->num = e->num;
            break;
        case L_BOOL:
            out->k = V_BOOL;
            out->b = e->num != 0;
            break;
        case L_NULL:
            out->k = V_STR;
            out->s = "";
            break;
        }
        return 0;
    case E_PATH: {
        sa_resolved r;
        if (e->nseg == 0) {
            const sa_node *n = e->rooted ? ctx->root : ctx->base;
            if (n) {
                out->k = V_NODE;
                out->node = n;
            }
            return 0;
        }
        if (sa_path_resolve(e, ctx, &r)) {
            out->k = V_NODE;
            out->node = r.node;
        }
        return 0;
    }
    case E_CALL:
        return call_fn(e, ctx, out);
    default: {
        int r = sa_expr_eval(e, ctx);
        if (r < 0)
            return -1;
        out->k = V_BOOL;
        out->b = r;
        return 0;
    }
    }
}

static int eq(const val *a, const val *b, const sa_expr *rhs)
{
    int x, y;
    double p, q;
    const char *s, *t;
    size_t m, n;
    if (rhs->kind == E_LIT && rhs->lit == L_BOOL)
        return bool_of(a, &x) && bool_of(b, &y) && x == y;
    if (rhs->kind == E_LIT && rhs->lit == L_NUM)
        return num_of(a, &p) && num_of(b, &q) && p == q;
    if (a->k == V_BOOL || b->k == V_BOOL)
        return bool_of(a, &x) && bool_of(b, &y) && x == y;
    if (a->k == V_NUM || b->k == V_NUM)
        return num_of(a, &p) && num_of(b, &q) && p == q;
    if (text_of(a, &s, &m) && text_of(b, &t, &n))
        return m == n && memcmp(s, t, m) == 0;
    return 0;
}

int sa_expr_eval(const sa_expr *e, sa_eval_ctx *ctx)
{
    switch (e->kind) {
    case E_OR: {
        int r = sa_expr_eval(e->a, ctx);
        if (r != 0)
            return r;
        return sa_expr_eval(e->b, ctx);
    }
    case E_AND: {
        int r = sa_expr_eval(e->a, ctx);
        if (r <= 0)
            return r;
        return sa_expr_eval(e->b, ctx);
    }
    case E_NOT: {
        int r = sa_expr_eval(e->a, ctx);
        return r < 0 ? r : !r;
    }
    case E_CMP: {
        val a, b;
        if (eval_val(e->a, ctx, &a) < 0 || eval_val(e->b, ctx, &b) < 0)
            return -1;
        if (a.k == V_MISSING || b.k == V_MISSING)
            return 0;
        double p, q;
        const char *s;
        size_t n;
        switch (e->op) {
        case OP_EQ:
            return eq(&a, &b, e->b);
        case OP_NE:
            return !eq(&a, &b, e->b);
        case OP_LT:
            return num_of(&a, &p) && num_of(&b, &q) && p < q;
        case OP_LE:
            return num_of(&a, &p) && num_of(&b, &q) && p <= q;
        case OP_GT:
            return num_of(&a, &p) && num_of(&b, &q) && p > q;
        case OP_GE:
            return num_of(&a, &p) && num_of(&b, &q) && p >= q;
        case OP_MATCH:
        case OP_NOMATCH: {
            if (!text_of(&a, &s, &n))
                return 0;
            /* regexec needs a NUL-terminated string without inner NULs */
            if (strlen(s) != n) {
                char *d = sa_arena_strndup(ctx->scratch, s, n);
                if (d == NULL)
                    return -1;
                for (size_t i = 0; i < n; i++)
                    if (d[i] == '\0')
                        d[i] = ' ';
                s = d;
            }
            int m = regexec(&e->re, s, 0, NULL, 0) == 0;
            return e->op == OP_MATCH ? m : !m;
        }
        }
        return 0;
    }
    default: {
        val v;
        if (eval_val(e, ctx, &v) < 0)
            return -1;
        return truthy(&v);
    }
    }
}
