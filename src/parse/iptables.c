/* iptables.c — iptables-save / iptables-restore files (rules.v4, rules.v6, sysconfig/iptables)
 * into tables, chains and rules (see parse.h).
 *
 * Hand-written on purpose: no library parses the iptables-restore format outside iptables
 * itself (libiptc and the xtables modules need the kernel's tables and a process of their
 * own), and secaudit needs the exact offset of every option and port. The grammar follows
 * iptables-restore (iptables/iptables-restore.c, xshared.c add_param_to_argv, 1.8.x):
 *   - a line starting with '#' in column 1 is a comment; a '#' anywhere else (an indented
 *     line, a trailing "# note" after a rule) is an argument, which iptables-restore refuses
 *     ("Bad argument"), so it is an error here too;
 *   - "*table" opens a table, which must end with "COMMIT"; a file that ends inside a table
 *     is refused as a whole;
 *   - ":CHAIN POLICY [packets:bytes]" declares a chain; POLICY is ACCEPT or DROP, or '-' for
 *     a user chain; the counters are optional;
 *   - rules are "-A CHAIN ...", "-I CHAIN [N] ..." or "-N CHAIN" (also --append, --insert,
 *     --new-chain), optionally after a "[packets:bytes]" prefix;
 *   - arguments are split at blanks; '"' quotes (blanks and '#' inside are text, "\x" is x)
 *     and a closing quote ends the argument; an unclosed quote is an error;
 *   - "! -s X" negates the option that follows (the old "-s ! X" is read the same way).
 * CR before a line break is ignored; blank lines are allowed. Every node is positioned at
 * its token (byte offsets into the file). The derived members "text" and "line" of a rule
 * let rules and views name it. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct tok {
    size_t dec;      /* first decoded byte in p->dec */
    size_t len;      /* decoded length */
    size_t raw;      /* file offset of its first byte (its opening quote when quoted) */
    size_t raw_end;  /* file offset one past its last byte */
    int quoted;      /* a quote appeared in it: never an option, never a '#' comment */
} tok;

typedef struct ipt {
    sa_doc *doc;
    sa_perr *err;
    sa_posbuf dec;  /* decoded tokens of the line; dec.map[i] = file offset of the byte */
    tok *toks;
    size_t ntok, captok;
    unsigned line;  /* 1-based number of the current line */
    size_t *oth;    /* the current rule's unmodelled condition options (token indexes) */
    size_t noth, capoth;
} ipt;

static int fail(ipt *p, size_t off, const char *msg)
{
    p->err->off = off;
    p->err->has_linecol = 0;
    snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
    return -1;
}

static int oom(ipt *p, size_t off)
{
    return fail(p, off, sa_doc_over_budget(p->doc)
                            ? "too many rules: the document's node limit was reached"
                            : "out of memory");
}

static const char *tok_text(const ipt *p, const tok *t)
{
    return p->dec.buf ? p->dec.buf + t->dec : "";
}

/* fail() with the message <before>'<token>'<after>. */
static int fail_tok(ipt *p, const tok *t, const char *before, const char *after)
{
    char e[48], msg[240];
    sa_parse_echo(e, sizeof(e), tok_text(p, t), t->len);
    snprintf(msg, sizeof(msg), "%s'%s'%s", before, e, after);
    return fail(p, t->raw, msg);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int push_tok(ipt *p, const tok *t)
{
    if (p->ntok == p->captok) {
        size_t nc = p->captok ? p->captok * 2 : 32;
        if (nc > SIZE_MAX / sizeof(tok))
            return oom(p, t->raw);
        tok *v = sa_realloc(p->toks, nc * sizeof(*v));
        if (v == NULL)
            return oom(p, t->raw);
        p->toks = v;
        p->captok = nc;
    }
    p->toks[p->ntok++] = *t;
    return 0;
}

/* Split text[st..end) into tokens (add_param_to_argv). */
static int tokenize(ipt *p, size_t st, size_t end)
{
    const char *b = p->doc->text;
    size_t i = st;
    p->ntok = 0;
    p->dec.len = 0;
    while (i < end) {
        while (i < end && is_blank(b[i]))
            i++;
        if (i >= end)
            break;
        tok t = {.dec = p->dec.len, .raw = i};
        int in_quote = 0, closed = 0;
        size_t open = i;
        while (i < end && !closed && (in_quote || !is_blank(b[i]))) {
            char c = b[i];
            if (in_quote && c == '\\' && i + 1 < end) {
                if (sa_posbuf_put(&p->dec, b[i + 1], i + 1) < 0)
                    return oom(p, i);
                i += 2;
                continue;
            }
            if (c == '"') {
                t.quoted = 1;
                if (in_quote)
                    closed = 1;  /* a closing quote ends the argument */
                else
                    open = i;
                in_quote = !in_quote;
                i++;
                continue;
            }
            if (sa_posbuf_put(&p->dec, c, i) < 0)
                return oom(p, i);
            i++;
        }
        if (in_quote)
            return fail(p, open, "a quoted argument is not closed before the end of the line");
        t.len = p->dec.len - t.dec;
        t.raw_end = i;
        if (push_tok(p, &t) < 0)
            return -1;
    }
    /* NUL-terminate the decoded bytes so token texts can be compared as strings */
    if (sa_posbuf_put(&p->dec, '\0', end) < 0)
        return oom(p, end);
    p->dec.len--;
    return 0;
}

static int tok_eq(const ipt *p, const tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(tok_text(p, t), s, n) == 0;
}

/* An unquoted option token equal to one of the names (NULL-terminated list). */
static int is_opt(const ipt *p, const tok *t, const char *const *names)
{
    if (t->quoted)
        return 0;
    for (size_t i = 0; names[i]; i++)
        if (tok_eq(p, t, names[i]))
            return 1;
    return 0;
}

/* ---- nodes -------------------------------------------------------------------------------- */
static sa_node *str_node(ipt *p, const char *key, const char *s, size_t n, size_t off)
{
    sa_node *x = sa_node_scalar(p->doc, SA_STR, off, s, n);
    if (x == NULL) {
        oom(p, off);
        return NULL;
    }
    if (key)
        sa_node_set_static_key(x, key, off);
    return x;
}

/* key -> the token's decoded text, at the token. */
static int add_tok(ipt *p, sa_node *map, const char *key, const tok *t)
{
    sa_node *n = str_node(p, key, tok_text(p, t), t->len, t->raw);
    if (n == NULL)
        return -1;
    if (t->quoted)
        n->flags |= SA_NODE_QUOTED;
    sa_node_append(map, n);
    return 0;
}

static sa_node *container(ipt *p, sa_type type, const char *key, size_t off)
{
    sa_node *n = sa_node_new(p->doc, type, off);
    if (n == NULL) {
        oom(p, off);
        return NULL;
    }
    if (key)
        sa_node_set_static_key(n, key, off);
    return n;
}

/* The elements of a comma-separated token as a list under key, each at its first byte. */
static int add_split(ipt *p, sa_node *map, const char *key, const tok *t)
{
    sa_node *l = container(p, SA_LIST, key, t->raw);
    if (l == NULL)
        return -1;
    const char *s = tok_text(p, t);
    size_t i = 0;
    while (i <= t->len) {
        size_t j = i;
        while (j < t->len && s[j] != ',')
            j++;
        if (j > i) {
            sa_node *e = str_node(p, NULL, s + i, j - i, p->dec.map[t->dec + i]);
            if (e == NULL)
                return -1;
            sa_node_append(l, e);
        }
        i = j + 1;
    }
    sa_node_append(map, l);
    return 0;
}

/* ---- lines -------------------------------------------------------------------------------- */
static int counters_ok(const ipt *p, const tok *t)
{
    const char *s = tok_text(p, t);
    size_t n = t->len, i = 1, d1 = 0, d2 = 0;
    if (t->quoted || n < 5 || s[0] != '[' || s[n - 1] != ']')
        return 0;
    while (i < n - 1 && s[i] >= '0' && s[i] <= '9')
        i++, d1++;
    if (i >= n - 1 || s[i] != ':')
        return 0;
    i++;
    while (i < n - 1 && s[i] >= '0' && s[i] <= '9')
        i++, d2++;
    return i == n - 1 && d1 > 0 && d2 > 0;
}

/* "*table": a new table map under tables (a table written twice is a member twice: the
 * later one replaces the earlier, as iptables-restore flushes it again). */
static sa_node *open_table(ipt *p, sa_node *tables, size_t star)
{
    const tok *t = &p->toks[0];
    if (t->quoted || t->len < 2)
        return fail(p, star, "'*' must be followed by a table name (*filter, *nat, ...)"), NULL;
    if (p->ntok > 1)
        return fail_tok(p, &p->toks[1], "unexpected ", " after the table name (comments "
                                                       "start with '#' in column 1)"),
               NULL;
    sa_node *tb = container(p, SA_MAP, NULL, star);
    sa_node *chains = container(p, SA_MAP, "chains", star);
    sa_node *rules = container(p, SA_LIST, "rules", star);
    if (tb == NULL || chains == NULL || rules == NULL)
        return NULL;
    if (sa_node_set_key(p->doc, tb, tok_text(p, t) + 1, t->len - 1, star + 1) < 0) {
        oom(p, star);
        return NULL;
    }
    sa_node_append(tb, chains);
    sa_node_append(tb, rules);
    sa_node_append(tables, tb);
    return tb;
}

/* ":CHAIN POLICY [p:b]" */
static int chain_line(ipt *p, sa_node *chains, size_t colon)
{
    const tok *name = &p->toks[0];
    if (name->len < 2)
        return fail(p, colon, "':' must be followed by a chain name (:INPUT ACCEPT [0:0])");
    if (p->ntok < 2)
        return fail(p, name->raw_end, "the chain has no policy (ACCEPT or DROP for a "
                                      "built-in chain, '-' for a user chain)");
    const tok *pol = &p->toks[1];
    if (!tok_eq(p, pol, "ACCEPT") && !tok_eq(p, pol, "DROP") && !tok_eq(p, pol, "-"))
        return fail_tok(p, pol, "invalid chain policy ", " (expected ACCEPT, DROP or '-')");
    if (p->ntok > 2 && !counters_ok(p, &p->toks[2]))
        return fail_tok(p, &p->toks[2], "invalid counters ", " (expected [packets:bytes])");
    if (p->ntok > 3)
        return fail_tok(p, &p->toks[3], "unexpected ", " after the chain's counters "
                                                       "(comments start with '#' in column 1)");
    sa_node *c = container(p, SA_MAP, NULL, colon);
    if (c == NULL)
        return -1;
    if (sa_node_set_key(p->doc, c, tok_text(p, name) + 1, name->len - 1, colon + 1) < 0)
        return oom(p, colon);
    if (add_tok(p, c, "policy", pol) < 0)
        return -1;
    sa_node_append(chains, c);
    return 0;
}

/* "-N CHAIN": a user chain (policy '-', synthetic, at the chain's name). */
static int new_chain(ipt *p, sa_node *chains, const tok *name)
{
    sa_node *c = container(p, SA_MAP, NULL, name->raw);
    if (c == NULL)
        return -1;
    if (sa_node_set_key(p->doc, c, tok_text(p, name), name->len, name->raw) < 0)
        return oom(p, name->raw);
    sa_node *pol = str_node(p, "policy", "-", 1, name->raw);
    if (pol == NULL)
        return -1;
    pol->flags |= SA_NODE_SYNTH;
    sa_node_append(c, pol);
    sa_node_append(chains, c);
    return 0;
}

/* Options with a meaning of their own: what they fill and how many arguments they take. */
typedef enum kind {
    K_SOURCE, K_DEST, K_PROTO, K_IN, K_OUT, K_JUMP, K_GOTO, K_MATCH, K_DPORT, K_DPORTS,
    K_STATE, K_COUNTERS, K_FRAGMENT, K_SYN, K_COMMENT, K_SRCMATCH, K_SRCMATCH2
} kind;

static const struct opt {
    const char *name;
    kind k;
    const char *key;  /* member filled, or the name recorded in "negated" */
} opts[] = {
    {"-s", K_SOURCE, "source"}, {"--source", K_SOURCE, "source"},
    {"--src", K_SOURCE, "source"}, {"-d", K_DEST, "destination"},
    {"--destination", K_DEST, "destination"}, {"--dst", K_DEST, "destination"},
    {"-p", K_PROTO, "protocol"}, {"--protocol", K_PROTO, "protocol"},
    {"-i", K_IN, "in"}, {"--in-interface", K_IN, "in"},
    {"-o", K_OUT, "out"}, {"--out-interface", K_OUT, "out"},
    {"-j", K_JUMP, "jump"}, {"--jump", K_JUMP, "jump"},
    {"-g", K_GOTO, "goto"}, {"--goto", K_GOTO, "goto"},
    {"-m", K_MATCH, NULL}, {"--match", K_MATCH, NULL},
    {"--dport", K_DPORT, "dports"}, {"--destination-port", K_DPORT, "dports"},
    {"--dports", K_DPORTS, "dports"}, {"--destination-ports", K_DPORTS, "dports"},
    {"--ports", K_DPORTS, "dports"},
    {"--state", K_STATE, "state"}, {"--ctstate", K_STATE, "state"},
    {"-c", K_COUNTERS, NULL}, {"--set-counters", K_COUNTERS, NULL},
    {"-f", K_FRAGMENT, "fragment"}, {"--fragment", K_FRAGMENT, "fragment"},
    {"--syn", K_SYN, "syn"},
    {"--comment", K_COMMENT, NULL},
    {"--src-range", K_SRCMATCH, "source_match"}, {"--mac-source", K_SRCMATCH, "source_match"},
    {"--match-set", K_SRCMATCH2, "source_match"},
};

static const struct opt *find_opt(const ipt *p, const tok *t)
{
    if (t->quoted)
        return NULL;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (tok_eq(p, t, opts[i].name))
            return &opts[i];
    return NULL;
}

/* An unquoted token that starts an option ("-x" or "--xyz"), or '!'. */
static int starts_opt(const ipt *p, const tok *t)
{
    const char *s = tok_text(p, t);
    return !t->quoted && ((t->len >= 2 && s[0] == '-') || (t->len == 1 && s[0] == '!'));
}

typedef struct rule_state {
    sa_node *rec, *negated;
    int seen[K_SRCMATCH2 + 1];
    int after_jump;
} rule_state;

static int add_flag(ipt *p, sa_node *map, const char *key, size_t off)
{
    sa_node *n = sa_node_scalar(p->doc, SA_BOOL, off, "true", 4);
    if (n == NULL)
        return oom(p, off);
    sa_node_set_static_key(n, key, off);
    sa_node_append(map, n);
    return 0;
}

/* negated.<key> = true, at the '!' (the option was recorded with negation). */
static int add_negated(ipt *p, rule_state *rs, const char *key, size_t neg_off)
{
    if (rs->negated == NULL) {
        if ((rs->negated = container(p, SA_MAP, "negated", neg_off)) == NULL)
            return -1;
        sa_node_append(rs->rec, rs->negated);
    }
    return add_flag(p, rs->negated, key, neg_off);
}

/* Remember an unmodelled condition option; the rule's "other" is made at its end. */
static int add_other(ipt *p, rule_state *rs, const tok *t)
{
    (void)rs;
    if (p->noth == p->capoth) {
        size_t nc = p->capoth ? p->capoth * 2 : 8;
        size_t *v = sa_realloc(p->oth, nc * sizeof(*v));
        if (v == NULL)
            return oom(p, t->raw);
        p->oth = v;
        p->capoth = nc;
    }
    p->oth[p->noth++] = (size_t)(t - p->toks);
    return 0;
}

/* "other": the unmodelled condition options' names joined by spaces, at the first. */
static int put_other(ipt *p, sa_node *rec)
{
    if (p->noth == 0)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < p->noth; i++)
        total += p->toks[p->oth[i]].len + 1;
    size_t off = p->toks[p->oth[0]].raw;
    char *s = sa_arena_alloc(p->doc->arena, total + 1);
    sa_node *n = s ? sa_node_new(p->doc, SA_STR, off) : NULL;
    if (n == NULL)
        return oom(p, off);
    size_t o = 0;
    for (size_t i = 0; i < p->noth; i++) {
        const tok *t = &p->toks[p->oth[i]];
        if (o)
            s[o++] = ' ';
        memcpy(s + o, tok_text(p, t), t->len);
        o += t->len;
    }
    s[o] = '\0';
    sa_node_set_static_key(n, "other", off);
    n->str = s;
    n->len = o;
    sa_node_append(rec, n);
    return 0;
}

/* "text": the rule's tokens from its command on, as written (quotes kept), joined by one
 * space, without counters (-c P B), which change while the rule does not. */
static int add_text(ipt *p, sa_node *rec, size_t first, size_t off)
{
    const char *b = p->doc->text;
    size_t total = 0;
    for (size_t k = first; k < p->ntok; k++)
        total += p->toks[k].raw_end - p->toks[k].raw + 1;
    char *s = sa_arena_alloc(p->doc->arena, total + 1);
    if (s == NULL)
        return oom(p, off);
    size_t o = 0;
    for (size_t k = first; k < p->ntok; k++) {
        const tok *t = &p->toks[k];
        if (is_opt(p, t, (const char *const[]){"-c", "--set-counters", NULL})) {
            k += 2;
            continue;
        }
        if (o)
            s[o++] = ' ';
        memcpy(s + o, b + t->raw, t->raw_end - t->raw);
        o += t->raw_end - t->raw;
    }
    s[o] = '\0';
    sa_node *n = sa_node_new(p->doc, SA_STR, off);
    if (n == NULL)
        return oom(p, off);
    sa_node_set_static_key(n, "text", off);
    n->str = s;
    n->len = o;
    n->flags |= SA_NODE_SYNTH;
    sa_node_append(rec, n);
    return 0;
}

/* One option at toks[*k] (after an optional '!'), its arguments consumed. */
static int rule_option(ipt *p, rule_state *rs, size_t *k, int neg, size_t neg_off)
{
    const tok *t = &p->toks[*k];
    const struct opt *o = find_opt(p, t);
    if (o == NULL) {
        /* an option secaudit does not model: before -j a match condition, after it an
         * option of the target; its arguments run to the next option */
        if (!starts_opt(p, t) || tok_eq(p, t, "!")) {
            if (!t->quoted && t->len > 0 && tok_text(p, t)[0] == '#')
                return fail(p, t->raw, "a '#' comment must start in column 1: iptables-restore "
                                       "refuses a comment after a rule or an indented one");
            return fail_tok(p, t, "bad argument ", " (an option such as -s, -p or -j was "
                                                   "expected)");
        }
        if (tok_eq(p, t, "-A") || tok_eq(p, t, "-I") || tok_eq(p, t, "-N") ||
            tok_eq(p, t, "-t") || tok_eq(p, t, "--table"))
            return fail_tok(p, t, "option ", " cannot appear inside a rule");
        if (!rs->after_jump && add_other(p, rs, t) < 0)
            return -1;
        (*k)++;
        while (*k < p->ntok && !starts_opt(p, &p->toks[*k])) {
            const tok *a = &p->toks[*k];
            if (!a->quoted && a->len > 0 && tok_text(p, a)[0] == '#')
                return fail(p, a->raw, "a '#' comment must start in column 1: "
                                       "iptables-restore refuses a comment after a rule or "
                                       "an indented one");
            (*k)++;
        }
        return 0;
    }
    size_t nargs = o->k == K_COUNTERS || o->k == K_SRCMATCH2 ? 2
                   : o->k == K_FRAGMENT || o->k == K_SYN     ? 0
                                                             : 1;
    (*k)++;
    /* the old form "-s ! X" */
    if (nargs > 0 && *k < p->ntok && !p->toks[*k].quoted && tok_eq(p, &p->toks[*k], "!")) {
        if (neg)
            return fail(p, p->toks[*k].raw, "'!' written twice for one option");
        neg = 1;
        neg_off = p->toks[*k].raw;
        (*k)++;
    }
    if (*k + nargs > p->ntok) {
        char msg[120];
        snprintf(msg, sizeof(msg), "option %s needs %s", o->name,
                 nargs == 2 ? "two arguments" : "an argument");
        return fail(p, p->toks[p->ntok - 1].raw_end, msg);
    }
    const tok *a = nargs ? &p->toks[*k] : NULL;
    if (a && !a->quoted && a->len > 0 && tok_text(p, a)[0] == '#')
        return fail(p, a->raw, "a '#' comment must start in column 1: iptables-restore "
                               "refuses a comment after a rule or an indented one");
    *k += nargs;
    if (neg && (o->k == K_COUNTERS || o->k == K_COMMENT || o->k == K_MATCH ||
                o->k == K_JUMP || o->k == K_GOTO))
        return fail(p, neg_off, "'!' cannot negate -m, -j, -g, -c or --comment");
    switch (o->k) {
    case K_COUNTERS:
    case K_COMMENT:
        return 0;
    case K_MATCH:
        return 0;  /* loading a module is no condition; its options are */
    case K_SRCMATCH:
    case K_SRCMATCH2:
        if (o->k == K_SRCMATCH2) {
            /* --match-set NAME FLAGS: a source restriction when the first flag is src */
            const tok *fl = &p->toks[*k - 1];
            if (!(fl->len >= 3 && memcmp(tok_text(p, fl), "src", 3) == 0))
                return rs->after_jump ? 0 : add_other(p, rs, t);
        }
        if (neg)  /* everything but a set of sources is no restriction worth the name */
            return rs->after_jump ? 0 : add_other(p, rs, t);
        if (rs->seen[o->k])
            return 0;
        rs->seen[o->k] = 1;
        return add_tok(p, rs->rec, "source_match", a);
    case K_FRAGMENT:
    case K_SYN:
        if (rs->seen[o->k]++)
            return 0;
        if (neg && add_negated(p, rs, o->key, neg_off) < 0)
            return -1;
        return add_flag(p, rs->rec, o->key, t->raw);
    case K_DPORT:
    case K_DPORTS:
    case K_STATE:
        if (rs->seen[o->k == K_DPORTS ? K_DPORT : o->k]) {
            /* a second port or state match: intersected by the kernel, kept as a plain
             * condition here */
            return add_other(p, rs, t);
        }
        rs->seen[o->k == K_DPORTS ? K_DPORT : o->k] = 1;
        if (neg && add_negated(p, rs, o->key, neg_off) < 0)
            return -1;
        return add_split(p, rs->rec, o->key, a);
    default:
        break;
    }
    if (rs->seen[o->k]) {
        char msg[120];
        snprintf(msg, sizeof(msg), "multiple %s options are not allowed in one rule", o->name);
        return fail(p, t->raw, msg);
    }
    rs->seen[o->k] = 1;
    if (o->k == K_JUMP)
        rs->after_jump = 1;
    if (neg && add_negated(p, rs, o->key, neg_off) < 0)
        return -1;
    return add_tok(p, rs->rec, o->key, a);
}

/* A rule line: "[p:b] -A CHAIN ...", "-I CHAIN [N] ...", "-N CHAIN". */
static int rule_line(ipt *p, sa_node *table)
{
    size_t k = 0;
    if (p->ntok > 0 && tok_text(p, &p->toks[0])[0] == '[' && !p->toks[0].quoted) {
        if (!counters_ok(p, &p->toks[0]))
            return fail_tok(p, &p->toks[0], "invalid counters ", " (expected [packets:bytes])");
        k = 1;
    }
    if (k >= p->ntok)
        return fail(p, p->toks[0].raw_end, "counters must be followed by a rule (-A CHAIN ...)");
    const tok *cmd = &p->toks[k];
    int append = is_opt(p, cmd, (const char *const[]){"-A", "--append", NULL});
    int insert = is_opt(p, cmd, (const char *const[]){"-I", "--insert", NULL});
    int newc = is_opt(p, cmd, (const char *const[]){"-N", "--new-chain", "--new", NULL});
    if (!append && !insert && !newc) {
        if (!cmd->quoted && cmd->len > 0 && tok_text(p, cmd)[0] == '#')
            return fail(p, cmd->raw, "a '#' comment must start in column 1: iptables-restore "
                                     "refuses an indented comment");
        return fail_tok(p, cmd, "unexpected ", " (expected -A, -I or -N with a chain, "
                                               ":CHAIN POLICY, COMMIT or a '#' comment in "
                                               "column 1)");
    }
    if (k + 1 >= p->ntok || starts_opt(p, &p->toks[k + 1]))
        return fail(p, k + 1 < p->ntok ? p->toks[k + 1].raw : cmd->raw_end,
                    "the command must be followed by a chain name");
    const tok *chain = &p->toks[k + 1];
    sa_node *chains = table->first, *rules = table->first->next;
    if (newc) {
        if (k + 2 < p->ntok)
            return fail_tok(p, &p->toks[k + 2], "unexpected ", " after -N CHAIN");
        return new_chain(p, chains, chain);
    }
    size_t off = cmd->raw;
    rule_state rs = {0};
    p->noth = 0;
    if ((rs.rec = container(p, SA_MAP, NULL, off)) == NULL)
        return -1;
    if (add_tok(p, rs.rec, "chain", chain) < 0)
        return -1;
    size_t i = k + 2;
    if (insert) {
        const tok *n = i < p->ntok ? &p->toks[i] : NULL;
        int digits = n && !n->quoted && n->len > 0 && n->len < 10;
        for (size_t d = 0; digits && d < n->len; d++)
            digits = tok_text(p, n)[d] >= '0' && tok_text(p, n)[d] <= '9';
        if (digits) {
            sa_node *x = sa_node_scalar(p->doc, SA_NUM, n->raw, tok_text(p, n), n->len);
            if (x == NULL)
                return oom(p, n->raw);
            sa_node_set_static_key(x, "insert", n->raw);
            sa_node_append(rs.rec, x);
            i++;
        } else {
            sa_node *x = sa_node_scalar(p->doc, SA_NUM, cmd->raw, "1", 1);
            if (x == NULL)
                return oom(p, cmd->raw);
            sa_node_set_static_key(x, "insert", cmd->raw);
            x->flags |= SA_NODE_SYNTH;
            sa_node_append(rs.rec, x);
        }
    }
    while (i < p->ntok) {
        int neg = 0;
        size_t neg_off = 0;
        if (!p->toks[i].quoted && tok_eq(p, &p->toks[i], "!")) {
            neg = 1;
            neg_off = p->toks[i].raw;
            if (++i >= p->ntok || !starts_opt(p, &p->toks[i]) ||
                tok_eq(p, &p->toks[i], "!"))
                return fail(p, neg_off, "'!' must be followed by the option it negates");
        }
        if (rule_option(p, &rs, &i, neg, neg_off) < 0)
            return -1;
    }
    if (put_other(p, rs.rec) < 0)
        return -1;
    char num[24];
    int nl = snprintf(num, sizeof(num), "%u", p->line);
    sa_node *ln = sa_node_scalar(p->doc, SA_NUM, off, num, (size_t)nl);
    if (ln == NULL)
        return oom(p, off);
    sa_node_set_static_key(ln, "line", off);
    ln->flags |= SA_NODE_SYNTH;
    sa_node_append(rs.rec, ln);
    if (add_text(p, rs.rec, k, off) < 0)
        return -1;
    sa_node_append(rules, rs.rec);
    return 0;
}

/* Parse doc->text as an iptables-save file (see parse.h). 0, or -1 with *err. */
int sa_parse_iptables(sa_doc *doc, sa_perr *err)
{
    ipt p = {.doc = doc, .err = err};
    int rc = -1;
    memset(err, 0, sizeof(*err));
    size_t pos = 0;
    if (doc->len >= 3 && memcmp(doc->text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    sa_node *root = sa_node_new(doc, SA_MAP, pos);
    sa_node *tables = sa_node_new(doc, SA_MAP, pos);
    if (root == NULL || tables == NULL) {
        oom(&p, pos);
        goto done;
    }
    sa_node_set_static_key(tables, "tables", pos);
    sa_node_append(root, tables);
    doc->root = root;
    {
        char msg[128];
        size_t off;
        if (sa_text_prescan(doc->text, doc->len, pos, doc->lim->max_string, &off, msg,
                            sizeof(msg)) < 0) {
            fail(&p, off, msg);
            goto done;
        }
    }
    sa_node *table = NULL;
    const char *t = doc->text;
    while (pos < doc->len) {
        p.line++;
        const char *nl = memchr(t + pos, '\n', doc->len - pos);
        size_t st = pos, end = nl ? (size_t)(nl - t) : doc->len;
        pos = nl ? end + 1 : doc->len;
        while (end > st && t[end - 1] == '\r')
            end--;
        if (end == st || t[st] == '#')
            continue;
        if (tokenize(&p, st, end) < 0)
            goto done;
        if (p.ntok == 0)
            continue;  /* blanks only */
        const tok *first = &p.toks[0];
        char c = t[st];
        if (c == '*') {
            if (table) {
                char msg[160], e[48];
                sa_parse_echo(e, sizeof(e), table->key, table->key_len);
                snprintf(msg, sizeof(msg), "table '%s' is not closed with COMMIT before the "
                                           "next table starts", e);
                fail(&p, st, msg);
                goto done;
            }
            if ((table = open_table(&p, tables, st)) == NULL)
                goto done;
            continue;
        }
        if (!first->quoted && tok_eq(&p, first, "COMMIT") && first->raw == st) {
            if (table == NULL) {
                fail(&p, st, "COMMIT without a table (a table starts with *filter, *nat, ...)");
                goto done;
            }
            if (p.ntok > 1) {
                fail_tok(&p, &p.toks[1], "unexpected ", " after COMMIT (comments start with "
                                                        "'#' in column 1)");
                goto done;
            }
            table = NULL;
            continue;
        }
        if (table == NULL) {
            if (!first->quoted && tok_text(&p, first)[0] == '#')
                fail(&p, first->raw, "a '#' comment must start in column 1: iptables-restore "
                                     "refuses an indented comment");
            else if (c == '-' || c == ':' || c == '[')
                fail(&p, first->raw, "a chain or rule outside a table: start the table with "
                                     "*filter (or *nat, ...) and end it with COMMIT");
            else
                fail_tok(&p, first, "unexpected ", " (expected *table, a '#' comment in "
                                                   "column 1, or a blank line)");
            goto done;
        }
        if (c == ':') {
            if (chain_line(&p, table->first, st) < 0)
                goto done;
            continue;
        }
        if (rule_line(&p, table) < 0)
            goto done;
    }
    if (table) {
        char msg[200], e[48];
        sa_parse_echo(e, sizeof(e), table->key, table->key_len);
        snprintf(msg, sizeof(msg), "table '%s' is never closed with COMMIT: iptables-restore "
                                   "refuses the whole file",
                 e);
        fail(&p, table->off, msg);
        goto done;
    }
    for (sa_node *tb = tables->first; tb; tb = tb->next)
        if (sa_map_mark_dups(tb->first) < 0) {
            oom(&p, tb->off);
            goto done;
        }
    if (sa_map_mark_dups(tables) < 0) {
        oom(&p, pos);
        goto done;
    }
    rc = 0;
done:
    sa_posbuf_free(&p.dec);
    sa_free(p.toks);
    sa_free(p.oth);
    return rc;
}
