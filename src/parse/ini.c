/* ini.c — INI and its dialects: generic INI, systemd units, env files, postgresql.conf and
 * Java/Ice properties (the dialect rules are in parse.h).
 *
 * Hand-written: the libraries available (inih and the like) know one dialect each and keep
 * no byte positions; secaudit needs all five dialects and the exact position of every key
 * and value, across continuation lines. Each logical line is assembled with a map from its
 * bytes back to file offsets, so positions stay exact after joining. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct ini {
    sa_doc *doc;
    sa_perr *err;
    sa_ini_dialect d;
    sa_posbuf ln;  /* the logical line; ln.map[ln.len] = where the line ends */
    sa_posbuf v;   /* a decoded value (or key and value) */
    sa_node *root, *section, *env;
} ini;

static int fail(ini *p, size_t off, const char *msg)
{
    p->err->off = off;
    p->err->has_linecol = 0;
    snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
    return -1;
}

static int oom(ini *p)
{
    return fail(p, 0, sa_doc_over_budget(p->doc) ? "too many keys (node limit reached)"
                                                : "out of memory");
}

static int put(ini *p, char c, size_t off)
{
    return sa_posbuf_put(&p->ln, c, off);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static int comment_line(const ini *p, size_t st, size_t end)
{
    const char *t = p->doc->text;
    while (st < end && is_blank(t[st]))
        st++;
    if (st >= end)
        return 0;
    if (t[st] == '#')
        return 1;
    if (t[st] == ';' && (p->d == SA_INI_GENERIC || p->d == SA_INI_SYSTEMD))
        return 1;
    return t[st] == '!' && p->d == SA_INI_PROPERTIES;
}

/* Assemble the next logical line starting at *pos into p->ln.buf. */
static int read_line(ini *p, size_t *pos)
{
    const char *t = p->doc->text;
    size_t n = p->doc->len, i = *pos;
    int joining = 0;
    p->ln.len = 0;
    for (;;) {
        size_t st = i;
        while (i < n && t[i] != '\n')
            i++;
        size_t end = i;
        if (end > st && t[end - 1] == '\r')
            end--;
        if (i < n)
            i++;
        for (size_t k = st; k < end; k++)
            if (t[k] == '\0')
                return fail(p, k, "NUL byte in text");
        if (end - st > p->doc->lim->max_string || p->ln.len > p->doc->lim->max_string)
            return fail(p, st, "line is too long");
        /* systemd skips comment lines inside a continuation */
        if (joining && p->d == SA_INI_SYSTEMD && comment_line(p, st, end)) {
            if (i >= n)
                break;
            continue;
        }
        if (joining && p->d == SA_INI_PROPERTIES)
            while (st < end && is_blank(t[st]))
                st++;
        int cont = 0;
        if (p->d == SA_INI_GENERIC || p->d == SA_INI_SYSTEMD || p->d == SA_INI_PROPERTIES) {
            size_t bs = 0;
            while (end - bs > st && t[end - bs - 1] == '\\')
                bs++;
            /* properties: an odd run of backslashes continues; others: any trailing one */
            cont = p->d == SA_INI_PROPERTIES ? (bs % 2 == 1) : bs > 0;
            if (cont && !(joining == 0 && comment_line(p, st, end)))
                end--;
            else
                cont = 0;
        }
        for (size_t k = st; k < end; k++)
            if (put(p, t[k], k) < 0)
                return oom(p);
        if (cont && i < n) {
            if (p->d != SA_INI_PROPERTIES && put(p, ' ', end) < 0)
                return oom(p);
            joining = 1;
            continue;
        }
        *pos = i;
        if (put(p, '\0', end) < 0)
            return oom(p);
        p->ln.len--;
        return 0;
    }
    *pos = i;
    if (put(p, '\0', n) < 0)
        return oom(p);
    p->ln.len--;
    return 0;
}

/* Store c as byte *o of the decoded value. */
static int vput(ini *p, size_t *o, char c, size_t off)
{
    p->v.len = *o;
    int r = sa_posbuf_put(&p->v, c, off);
    *o = p->v.len;
    return r;
}

/* Append key → value to the current section (or the root). */
static sa_node *add(ini *p, sa_node *parent, const char *key, size_t kl, size_t key_off,
                    const char *val, size_t vl, size_t val_off, int quoted)
{
    sa_node *n = sa_node_scalar(p->doc, SA_STR, val_off, val, vl);
    if (n == NULL || sa_node_set_key(p->doc, n, key, kl, key_off) < 0) {
        oom(p);
        return NULL;
    }
    if (quoted)
        n->flags |= SA_NODE_QUOTED;
    sa_node_append(parent, n);
    return n;
}

static void trim(const char *b, size_t *st, size_t *end)
{
    while (*st < *end && is_blank(b[*st]))
        (*st)++;
    while (*end > *st && is_blank(b[*end - 1]))
        (*end)--;
}

/* systemd Environment=: space-separated assignments, quotes around a whole "VAR=a b" or
 * around the value, backslash escapes. Each VAR=value becomes a member of p->env. */
static int env_split(ini *p, size_t st, size_t end)
{
    const char *b = p->ln.buf;
    size_t i = st;
    while (i < end) {
        while (i < end && is_blank(b[i]))
            i++;
        if (i >= end)
            break;
        size_t o = 0, word = i;
        char q = 0;
        while (i < end && (q || !is_blank(b[i]))) {
            char c = b[i];
            if (q && c == q) {
                q = 0;
                i++;
                continue;
            }
            if (!q && (c == '"' || c == '\'')) {
                q = c;
                i++;
                continue;
            }
            if (c == '\\' && i + 1 < end && q != '\'') {
                i++;
                c = b[i];
            }
            if (vput(p, &o, c, p->ln.map[i]) < 0)
                return oom(p);
            i++;
        }
        const char *eq = memchr(p->v.buf, '=', o);
        if (eq == NULL || eq == p->v.buf)
            continue;  /* systemd ignores malformed assignments */
        size_t kl = (size_t)(eq - p->v.buf), vs = kl + 1;
        size_t voff = vs < o ? p->v.map[vs] : p->ln.map[i - (i > word)];
        if (p->env == NULL) {
            p->env = sa_node_new(p->doc, SA_MAP, p->ln.map[word]);
            if (p->env == NULL || sa_node_set_key(p->doc, p->env, "env", 3, p->ln.map[word]) < 0)
                return oom(p);
            p->env->flags |= SA_NODE_SYNTH;
            sa_node_append(p->root, p->env);
        }
        if (add(p, p->env, p->v.buf, kl, p->v.map[0], p->v.buf + vs, o - vs, voff, 0) == NULL)
            return -1;
    }
    return 0;
}

/* [section] */
static int section(ini *p, size_t st, size_t end)
{
    const char *close = memchr(p->ln.buf + st, ']', end - st);
    if (close == NULL)
        return fail(p, p->ln.map[st], "'[' without a closing ']'");
    size_t ns = st + 1, ne = (size_t)(close - p->ln.buf);
    trim(p->ln.buf, &ns, &ne);
    sa_node *s = sa_node_new(p->doc, SA_MAP, p->ln.map[st]);
    if (s == NULL || sa_node_set_key(p->doc, s, p->ln.buf + ns, ne - ns, p->ln.map[st]) < 0)
        return oom(p);
    sa_node_append(p->root, s);
    p->section = s;
    return 0;
}

static int line_generic(ini *p)
{
    size_t st = 0, end = p->ln.len;
    trim(p->ln.buf, &st, &end);
    if (st == end || p->ln.buf[st] == '#' || p->ln.buf[st] == ';')
        return 0;
    if (p->ln.buf[st] == '[')
        return section(p, st, end);
    size_t d = st;
    while (d < end && p->ln.buf[d] != '=' && (p->d == SA_INI_SYSTEMD || p->ln.buf[d] != ':'))
        d++;
    if (d == end)
        return fail(p, p->ln.map[st], p->d == SA_INI_SYSTEMD
                                       ? "expected 'Key=Value' or a [Section]"
                                       : "expected 'key = value' or a [section]");
    size_t ks = st, ke = d, vs = d + 1, ve = end;
    trim(p->ln.buf, &ks, &ke);
    trim(p->ln.buf, &vs, &ve);
    if (ks == ke)
        return fail(p, p->ln.map[st], "missing key name before the delimiter");
    int quoted = 0;
    size_t voff = p->ln.map[vs < p->ln.len ? vs : p->ln.len];
    if (p->d == SA_INI_GENERIC && ve - vs >= 2 && (p->ln.buf[vs] == '"' || p->ln.buf[vs] == '\'') &&
        p->ln.buf[ve - 1] == p->ln.buf[vs]) {
        vs++;
        ve--;
        quoted = 1;
    }
    sa_node *parent = p->section ? p->section : p->root;
    if (add(p, parent, p->ln.buf + ks, ke - ks, p->ln.map[ks], p->ln.buf + vs, ve - vs, voff, quoted) ==
        NULL)
        return -1;
    if (p->d == SA_INI_SYSTEMD && ke - ks == 11 && memcmp(p->ln.buf + ks, "Environment", 11) == 0)
        return env_split(p, vs, ve);
    return 0;
}

static int is_name(int c)
{
    return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* postgresql.conf: name [=] value [# comment] */
static int line_pgconf(ini *p)
{
    const char *b = p->ln.buf;
    size_t i = 0, n = p->ln.len;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#')
        return 0;
    size_t ks = i;
    while (i < n && is_name((unsigned char)b[i]))
        i++;
    size_t ke = i;
    if (ke == ks)
        return fail(p, p->ln.map[ks], "syntax error: expected a parameter name");
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && b[i] == '=')
        i++;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#')
        return fail(p, p->ln.map[i < n ? i : n], "syntax error: missing value");
    size_t voff = p->ln.map[i], o = 0;
    int quoted = 0;
    if (b[i] == '\'') {
        quoted = 1;
        i++;
        for (;;) {
            if (i >= n)
                return fail(p, voff, "unterminated quoted string");
            if (b[i] == '\'' && i + 1 < n && b[i + 1] == '\'') {
                i += 2;
                if (vput(p, &o, '\'', p->ln.map[i - 1]) < 0)
                    return oom(p);
                continue;
            }
            if (b[i] == '\'')
                break;
            if (b[i] == '\\' && i + 1 < n) {
                char c = b[++i];
                c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
                if (vput(p, &o, c, p->ln.map[i]) < 0)
                    return oom(p);
                i++;
                continue;
            }
            if (vput(p, &o, b[i], p->ln.map[i]) < 0)
                return oom(p);
            i++;
        }
        i++;
    } else {
        while (i < n && !is_blank(b[i]) && b[i] != '#') {
            if (vput(p, &o, b[i], p->ln.map[i]) < 0)
                return oom(p);
            i++;
        }
    }
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && b[i] != '#')
        return fail(p, p->ln.map[i], "syntax error: unexpected text after the value");
    char key[256];
    size_t kl = ke - ks < sizeof(key) ? ke - ks : sizeof(key) - 1;
    for (size_t k = 0; k < kl; k++)
        key[k] = (char)tolower((unsigned char)b[ks + k]);
    return add(p, p->root, key, kl, p->ln.map[ks], p->v.buf ? p->v.buf : "", o, voff, quoted) ? 0 : -1;
}

/* env files: [export] KEY=VALUE with shell quoting; other lines are shell code, skipped. */
static int line_env(ini *p)
{
    const char *b = p->ln.buf;
    size_t i = 0, n = p->ln.len;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#')
        return 0;
    if (n - i > 7 && memcmp(b + i, "export", 6) == 0 && is_blank(b[i + 6])) {
        i += 6;
        while (i < n && is_blank(b[i]))
            i++;
    }
    size_t ks = i;
    if (i >= n || !(isalpha((unsigned char)b[i]) || b[i] == '_'))
        return 0;
    while (i < n && (isalnum((unsigned char)b[i]) || b[i] == '_'))
        i++;
    if (i >= n || b[i] != '=')
        return 0;
    size_t ke = i++;
    size_t voff = p->ln.map[i < n ? i : n], o = 0;
    int quoted = 0;
    char q = 0;
    while (i < n && (q || !is_blank(b[i]))) {
        char c = b[i];
        if (q == 0 && (c == '"' || c == '\'')) {
            q = c;
            quoted = 1;
            i++;
            continue;
        }
        if (q && c == q) {
            q = 0;
            i++;
            continue;
        }
        if (c == '\\' && q != '\'' && i + 1 < n) {
            char d = b[i + 1];
            if (q == 0 || d == '"' || d == '\\' || d == '$' || d == '`') {
                i++;
                c = d;
            }
        }
        if (vput(p, &o, c, p->ln.map[i]) < 0)
            return oom(p);
        i++;
    }
    if (q)
        return fail(p, voff, "unterminated quoted value");
    return add(p, p->root, b + ks, ke - ks, p->ln.map[ks], p->v.buf ? p->v.buf : "", o, voff, quoted)
               ? 0
               : -1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decode a properties escape at b[*i] ('\\' already seen at *i - 1) into p->v.buf. */
static int prop_escape(ini *p, size_t *i, size_t *o)
{
    const char *b = p->ln.buf;
    size_t n = p->ln.len, at = *i - 1;
    if (*i >= n)
        return 0;
    char c = b[*i];
    if (c == 'u') {
        unsigned cp = 0;
        int ok = *i + 4 < n;
        for (size_t k = 1; ok && k <= 4; k++) {
            int h = hexval(b[*i + k]);
            if (h < 0)
                ok = 0;
            else
                cp = cp * 16 + (unsigned)h;
        }
        if (!ok)
            return fail(p, p->ln.map[at], "malformed \\uXXXX escape");
        *i += 5;
        char u[3];
        size_t ul;
        if (cp < 0x80) {
            u[0] = (char)cp;
            ul = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            ul = 2;
        } else {
            u[0] = (char)(0xE0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            ul = 3;
        }
        for (size_t k = 0; k < ul; k++)
            if (vput(p, o, u[k], p->ln.map[at]) < 0)
                return oom(p);
        return 0;
    }
    c = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
    (*i)++;
    return vput(p, o, c, p->ln.map[at]) < 0 ? oom(p) : 0;
}

/* Java/Ice properties: key [=|:|blank] value, with escapes. */
static int line_properties(ini *p)
{
    const char *b = p->ln.buf;
    size_t i = 0, n = p->ln.len, o = 0;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#' || b[i] == '!')
        return 0;
    size_t key_off = p->ln.map[i];
    while (i < n && b[i] != '=' && b[i] != ':' && !is_blank(b[i])) {
        if (b[i] == '\\') {
            i++;
            if (prop_escape(p, &i, &o) < 0)
                return -1;
            continue;
        }
        if (vput(p, &o, b[i], p->ln.map[i]) < 0)
            return oom(p);
        i++;
    }
    size_t kl = o;
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && (b[i] == '=' || b[i] == ':'))
        i++;
    while (i < n && is_blank(b[i]))
        i++;
    size_t voff = p->ln.map[i < n ? i : n];
    while (i < n) {
        if (b[i] == '\\') {
            i++;
            if (prop_escape(p, &i, &o) < 0)
                return -1;
            continue;
        }
        if (vput(p, &o, b[i], p->ln.map[i]) < 0)
            return oom(p);
        i++;
    }
    if (kl == 0)
        return fail(p, key_off, "missing property name");
    return add(p, p->root, p->v.buf, kl, key_off, p->v.buf + kl, o - kl, voff, 0) ? 0 : -1;
}

static long mark_all(sa_node *m)
{
    long r = sa_map_mark_dups(m);
    for (sa_node *c = m->first; c && r >= 0; c = c->next)
        if (c->type == SA_MAP && sa_map_mark_dups(c) < 0)
            r = -1;
    return r;
}

int sa_parse_ini(sa_doc *doc, sa_ini_dialect dialect, sa_perr *err)
{
    ini p = {.doc = doc, .err = err, .d = dialect};
    int rc = -1;
    memset(err, 0, sizeof(*err));
    p.root = sa_node_new(doc, SA_MAP, 0);
    if (p.root == NULL) {
        oom(&p);
        goto done;
    }
    doc->root = p.root;
    size_t pos = 0;
    if (doc->len >= 3 && memcmp(doc->text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    p.root->off = p.root->key_off = pos;
    while (pos < doc->len) {
        if (read_line(&p, &pos) < 0)
            goto done;
        int r;
        switch (dialect) {
        case SA_INI_PGCONF:
            r = line_pgconf(&p);
            break;
        case SA_INI_ENV:
            r = line_env(&p);
            break;
        case SA_INI_PROPERTIES:
            r = line_properties(&p);
            break;
        default:
            r = line_generic(&p);
            break;
        }
        if (r < 0)
            goto done;
    }
    if (mark_all(p.root) < 0) {
        oom(&p);
        goto done;
    }
    rc = 0;
done:
    sa_posbuf_free(&p.ln);
    sa_posbuf_free(&p.v);
    return rc;
}
