/* nginx.c — nginx configuration files into a positioned tree (see parse.h).
 *
 * Hand-written on purpose: nginx's grammar is its own (no library parses it, and the one
 * reference, ngx_conf_read_token in src/core/ngx_conf_file.c, is not a library), and
 * secaudit needs the offset of every directive and argument. The tokenizer follows nginx's:
 *   - a directive is its name and arguments, ended by ';' or by a '{' … '}' block;
 *   - blanks (space, tab, CR, LF) separate tokens; ';' and '{' also end a bare token,
 *     but '}' inside a bare token is part of it ("a}" is one token), as in nginx;
 *   - '#' starts a comment only where a token could start: "a#b" is one token;
 *   - "…" and '…' quote a token; after the closing quote a blank, ';' or '{' must follow;
 *   - '\' takes the next byte literally; in the token's value \" \' \\ lose the backslash
 *     and \t \r \n become the control character, other pairs are kept as written;
 *   - "${" inside a bare token is a variable, not a block.
 * The root is a map of the top-level directives (the main context). Each directive is a
 * member keyed by its name (names repeat, in file order); its value is a list of its
 * arguments (SA_STR, flagged SA_NODE_QUOTED when quoted), and for a block directive
 * (http, server, location, …) a map of the block's directives as the list's last element.
 * include directives are kept as written: the scanner resolves and splices them. */
#include <stdio.h>
#include <string.h>

#include "secaudit/parse.h"

typedef struct ngx {
    sa_doc *doc;
    sa_perr *err;
    const char *s;
    size_t n, i;
} ngx;

static int fail(ngx *p, size_t off, const char *msg)
{
    p->err->off = off;
    p->err->has_linecol = 0;
    snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
    return -1;
}

static int oom(ngx *p, size_t off)
{
    return fail(p, off, sa_doc_over_budget(p->doc)
                            ? "too many directives: the document's node limit was reached"
                            : "out of memory");
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The token starting at p->i (not a blank, ';', '{', '}' or '#'): its decoded value becomes
 * a scalar node. Leaves p->i on the byte after it (the terminator is not consumed). */
static sa_node *token(ngx *p)
{
    size_t start = p->i, from = start, to;
    char q = 0;
    if (p->s[start] == '"' || p->s[start] == '\'') {
        q = p->s[start];
        from = ++p->i;
    }
    int variable = 0;
    for (;;) {
        if (p->i >= p->n) {
            if (q) {
                fail(p, start, "unterminated quoted string");
                return NULL;
            }
            to = p->i;
            break;
        }
        char c = p->s[p->i];
        if (c == '\\') {
            p->i += p->i + 1 < p->n ? 2 : 1;
            variable = 0;
            continue;
        }
        if (q) {
            if (c == q) {
                to = p->i++;
                if (p->i < p->n && !blank(p->s[p->i]) && p->s[p->i] != ';' &&
                    p->s[p->i] != '{') {
                    fail(p, p->i, "unexpected character after a closing quote (expected a "
                                  "blank, ';' or '{')");
                    return NULL;
                }
                break;
            }
            p->i++;
            continue;
        }
        if (c == '{' && variable) {
            p->i++;
            variable = 0;
            continue;
        }
        variable = c == '$';
        if (blank(c) || c == ';' || c == '{') {
            to = p->i;
            break;
        }
        p->i++;
    }
    size_t raw = to - from;
    if (raw > p->doc->lim->max_string) {
        fail(p, start, "token longer than the string size limit");
        return NULL;
    }
    char *v = sa_arena_alloc(p->doc->arena, raw + 1);
    sa_node *node = v ? sa_node_new(p->doc, SA_STR, start) : NULL;
    if (node == NULL) {
        oom(p, start);
        return NULL;
    }
    size_t o = 0;
    for (size_t k = from; k < to; k++) {
        char c = p->s[k];
        if (c == '\\' && k + 1 < to) {
            char d = p->s[k + 1];
            if (d == '"' || d == '\'' || d == '\\') {
                v[o++] = d;
                k++;
                continue;
            }
            if (d == 't' || d == 'r' || d == 'n') {
                v[o++] = d == 't' ? '\t' : d == 'r' ? '\r' : '\n';
                k++;
                continue;
            }
        }
        v[o++] = c;
    }
    v[o] = '\0';
    node->str = v;
    node->len = o;
    if (q)
        node->flags |= SA_NODE_QUOTED;
    return node;
}

int sa_parse_nginx(sa_doc *doc, sa_perr *err)
{
    ngx p = {.doc = doc, .err = err, .s = doc->text, .n = doc->len};
    size_t depth = 0, cap = doc->lim->max_depth ? doc->lim->max_depth : 1;
    sa_node *root = sa_node_new(doc, SA_MAP, 0);
    if (root == NULL)
        return oom(&p, 0);
    doc->root = root;
    sa_node *block = root;  /* the map directives are added to; its parent chain leads up
                               through the directive lists to root */
    sa_node *args = NULL;   /* the arguments of the directive being read (NULL: none yet) */
    sa_node *name = NULL;
    size_t dir_off = 0;
    if (p.n >= 3 && memcmp(p.s, "\xEF\xBB\xBF", 3) == 0)
        p.i = 3;
    while (p.i < p.n) {
        char c = p.s[p.i];
        if (blank(c)) {
            p.i++;
            continue;
        }
        if (c == '#') {
            while (p.i < p.n && p.s[p.i] != '\n')
                p.i++;
            continue;
        }
        if (c == ';' || c == '{') {
            if (name == NULL)
                return fail(&p, p.i, c == ';' ? "unexpected ';' (a directive has no name)"
                                               : "unexpected '{' (a block has no name)");
            if (sa_node_set_key(doc, args, name->str, name->len, dir_off) < 0)
                return oom(&p, p.i);
            sa_node_append(block, args);
            p.i++;
            if (c == '{') {
                if (++depth >= cap) {
                    p.err->off = p.i - 1;
                    p.err->has_linecol = 0;
                    snprintf(p.err->msg, sizeof(p.err->msg), "nesting deeper than %zu levels",
                             cap);
                    return -1;
                }
                sa_node *inner = sa_node_new(doc, SA_MAP, p.i - 1);
                if (inner == NULL)
                    return oom(&p, p.i - 1);
                sa_node_append(args, inner);
                block = inner;
            }
            name = args = NULL;
            continue;
        }
        if (c == '}') {
            if (name != NULL)
                return fail(&p, p.i, "unexpected '}' (the directive before it has no ';')");
            if (depth == 0)
                return fail(&p, p.i, "unexpected '}' (no block is open)");
            depth--;
            block = block->parent->parent;  /* block map → directive list → enclosing map */
            p.i++;
            continue;
        }
        sa_node *t = token(&p);
        if (t == NULL)
            return -1;
        if (name == NULL) {
            name = t;
            dir_off = t->off;
            if ((args = sa_node_new(doc, SA_LIST, t->off)) == NULL)
                return oom(&p, t->off);
        } else {
            if (args->count == 0)
                args->off = t->off;
            sa_node_append(args, t);
        }
    }
    if (name != NULL)
        return fail(&p, p.n, "unexpected end of file: the last directive has no ';'");
    if (depth != 0)
        return fail(&p, p.n, "unexpected end of file: a block is not closed with '}'");
    return 0;
}
