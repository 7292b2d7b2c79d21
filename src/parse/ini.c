/* ini.c — INI and its dialects: generic INI, systemd units, env files, postgresql.conf and
 * Java/Ice properties, into the positioned tree of doc.h (dialect rules: parse.h).
 *
 * Hand-written on purpose: no available library covers these dialects with positions (inih
 * and its kind know one dialect each and report no byte offsets), and secaudit needs all five
 * with the exact offset of every key and value, also across continuation lines. Each
 * logical line is assembled in an sa_posbuf that keeps, for every byte, the file offset it
 * came from; decoded keys and values keep theirs the same way. Env files are read straight
 * from the text instead, because their quotes may span lines.
 *
 * Also here: sa_systemd_env_split, the systemd Environment= word splitter. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct ini {
    sa_doc *doc;
    sa_perr *err;
    sa_ini_dialect d;
    sa_posbuf ln;      /* the logical line; ln.map[ln.len] = the offset where it ends */
    sa_posbuf v;       /* a decoded key and/or value with the offset of each byte */
    sa_node *root;
    sa_node *section;  /* the current [section], or NULL before the first one */
    sa_node *env;      /* systemd: the "env" map, made at the first Environment= */
} ini;

static int fail(ini *p, size_t off, const char *msg)
{
    p->err->off = off;
    p->err->has_linecol = 0;
    snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
    return -1;
}

static int oom(ini *p, size_t off)
{
    return fail(p, off, sa_doc_over_budget(p->doc)
                            ? "too many keys: the document's node limit was reached"
                            : "out of memory");
}

/* Blanks inside a line. '\r' is one too: a CR before LF is cut off anyway, a stray one is
 * never part of a key or a trimmed value. */
static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int hexval(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reject NUL bytes and physical lines longer than max_string before anything is parsed, so
 * every later loop may assume neither occurs. The first problem in file order wins. */
static int prescan(ini *p, size_t start)
{
    char msg[128];
    size_t off;
    if (sa_text_prescan(p->doc->text, p->doc->len, start, p->doc->lim->max_string, &off, msg,
                        sizeof(msg)) < 0)
        return fail(p, off, msg);
    return 0;
}

/* Is the physical line t[st..end) a comment line of this dialect (first non-blank byte)? */
static int comment_line(const ini *p, size_t st, size_t end)
{
    const char *t = p->doc->text;
    while (st < end && is_blank(t[st]))
        st++;
    if (st >= end)
        return 0;
    char c = t[st];
    switch (p->d) {
    case SA_INI_GENERIC:
    case SA_INI_SYSTEMD:
        return c == '#' || c == ';';
    case SA_INI_PROPERTIES:
        return c == '#' || c == '!';
    default:
        return c == '#';
    }
}

static int line_put(ini *p, char c, size_t off)
{
    return sa_posbuf_put(&p->ln, c, off) < 0 ? oom(p, off) : 0;
}

/* Assemble the logical line starting at *pos into p->ln and move *pos past it.
 * Continuations (a comment line never continues):
 *   generic     a trailing '\' joins the next line: blanks around the join become one space;
 *   systemd     an odd run of trailing '\' joins: the last '\' becomes a space, the next line
 *               is appended as written; comment lines inside are skipped (systemd.syntax);
 *   properties  an odd run of trailing '\' joins; the next line's leading blanks are dropped;
 *   pgconf      none.
 * A CR before LF is dropped. Sets ln.map[ln.len] to the offset where the line ends. */
static int read_line(ini *p, size_t *pos)
{
    const char *t = p->doc->text;
    size_t n = p->doc->len, i = *pos, line_start = *pos, end_off = *pos;
    int joining = 0;
    p->ln.len = 0;
    for (;;) {
        size_t st = i;
        const char *nl = memchr(t + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - t) : n;
        i = nl ? end + 1 : n;
        if (end > st && t[end - 1] == '\r')
            end--;
        end_off = end;
        if (joining && p->d == SA_INI_SYSTEMD && comment_line(p, st, end)) {
            if (i >= n)
                break;
            continue;
        }
        if (joining && (p->d == SA_INI_GENERIC || p->d == SA_INI_PROPERTIES))
            while (st < end && is_blank(t[st]))
                st++;
        int cont = 0;
        if (p->d != SA_INI_PGCONF && !(!joining && comment_line(p, st, end))) {
            size_t bs = 0;
            while (bs < end - st && t[end - 1 - bs] == '\\')
                bs++;
            cont = p->d == SA_INI_GENERIC ? bs > 0 : bs % 2 == 1;
        }
        size_t copy_end = cont ? end - 1 : end;
        for (size_t k = st; k < copy_end; k++)
            if (line_put(p, t[k], k) < 0)
                return -1;
        if (!cont)
            break;
        if (p->d == SA_INI_GENERIC) {
            while (p->ln.len > 0 && is_blank(p->ln.buf[p->ln.len - 1]))
                p->ln.len--;
            if (line_put(p, ' ', end - 1) < 0)
                return -1;
        } else if (p->d == SA_INI_SYSTEMD) {
            if (line_put(p, ' ', end - 1) < 0)
                return -1;
        }
        end_off = end - 1;
        joining = 1;
        if (p->ln.len > p->doc->lim->max_string)
            break;
        if (i >= n)
            break;
    }
    if (p->ln.len > p->doc->lim->max_string) {
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "line (continuations joined) is longer than the limit of %zu bytes",
                 p->doc->lim->max_string);
        return fail(p, line_start, msg);
    }
    /* the sentinel: map[len] says where the line ends, for empty values and errors */
    if (line_put(p, '\0', end_off) < 0)
        return -1;
    p->ln.len--;
    *pos = i;
    return 0;
}

/* Append byte c (from file offset off) to the decoded buffer p->v, within max_string. */
static int vput(ini *p, char c, size_t off)
{
    if (p->v.len >= p->doc->lim->max_string) {
        char msg[128];
        snprintf(msg, sizeof(msg), "value is longer than the limit of %zu bytes",
                 p->doc->lim->max_string);
        return fail(p, off, msg);
    }
    return sa_posbuf_put(&p->v, c, off) < 0 ? oom(p, off) : 0;
}

/* Append key → value to parent. An empty, unquoted value is SA_NULL (str ""); every other
 * value is SA_STR. Returns the node, or NULL with the error set. */
static sa_node *add_kv(ini *p, sa_node *parent, const char *key, size_t kl, size_t key_off,
                       const char *val, size_t vl, size_t val_off, int quoted)
{
    sa_type type = vl == 0 && !quoted ? SA_NULL : SA_STR;
    sa_node *n = sa_node_scalar(p->doc, type, val_off, val, vl);
    if (n == NULL || sa_node_set_key(p->doc, n, key, kl, key_off) < 0) {
        oom(p, key_off);
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

/* "[name]" on the trimmed logical line ln[st..end): a new map member of the root. */
static int section(ini *p, size_t st, size_t end)
{
    const char *b = p->ln.buf;
    size_t at = p->ln.map[st];
    if (b[end - 1] != ']' || end - st < 2)
        return fail(p, at, "a section header must end with ']' (nothing may follow it)");
    size_t ns = st + 1, ne = end - 1;
    trim(b, &ns, &ne);
    if (ns == ne)
        return fail(p, at, "a section header needs a name between '[' and ']'");
    sa_node *s = sa_node_new(p->doc, SA_MAP, at);
    if (s == NULL || sa_node_set_key(p->doc, s, b + ns, ne - ns, at) < 0)
        return oom(p, at);
    sa_node_append(p->root, s);
    p->section = s;
    return 0;
}

static int env_split(sa_doc *doc, const sa_node *value, sa_node *out, size_t *added);

/* systemd: split an Environment= value into the root's "env" map (made on first use). */
static int add_env(ini *p, const sa_node *value)
{
    if (value->type != SA_STR)
        return 0;
    if (p->env == NULL) {
        p->env = sa_node_new(p->doc, SA_MAP, value->off);
        if (p->env == NULL || sa_node_set_key(p->doc, p->env, "env", 3, value->off) < 0)
            return oom(p, value->off);
        p->env->flags |= SA_NODE_SYNTH;
    }
    size_t added;
    return env_split(p->doc, value, p->env, &added) < 0 ? oom(p, value->off) : 0;
}

/* generic and systemd: blank, comment, [section] or key = value. */
static int line_ini(ini *p)
{
    const char *b = p->ln.buf;
    const size_t *m = p->ln.map;
    int generic = p->d == SA_INI_GENERIC;
    size_t st = 0, end = p->ln.len;
    trim(b, &st, &end);
    if (st == end || b[st] == '#' || b[st] == ';')
        return 0;
    if (b[st] == '[')
        return section(p, st, end);
    size_t d = st;
    while (d < end && b[d] != '=' && !(generic && b[d] == ':'))
        d++;
    if (d == end)
        return fail(p, m[st], generic ? "expected 'key = value' or a [section]"
                                      : "expected 'Key=Value' or a [Section]");
    size_t ks = st, ke = d, vs = d + 1, ve = end;
    trim(b, &ks, &ke);
    trim(b, &vs, &ve);
    if (ks == ke)
        return fail(p, m[d], b[d] == '=' ? "missing key name before '='"
                                         : "missing key name before ':'");
    size_t voff = m[vs];
    int quoted = 0;
    if (generic && ve - vs >= 2 && (b[vs] == '"' || b[vs] == '\'') && b[ve - 1] == b[vs]) {
        vs++;
        ve--;
        quoted = 1;
    }
    sa_node *parent = p->section ? p->section : p->root;
    sa_node *n = add_kv(p, parent, b + ks, ke - ks, m[ks], b + vs, ve - vs, voff, quoted);
    if (n == NULL)
        return -1;
    if (!generic && ke - ks == 11 && memcmp(b + ks, "Environment", 11) == 0)
        return add_env(p, n);
    return 0;
}

/* postgresql.conf names: a letter, '_' or a non-ASCII byte, then those, digits and '.'
 * (PostgreSQL's ID and QUALIFIED_ID). */
static int pg_name_start(char c)
{
    return is_alpha(c) || c == '_' || (unsigned char)c >= 0x80;
}

static int pg_name_char(char c)
{
    return pg_name_start(c) || is_digit(c) || c == '.';
}

/* A '...' string at ln[*pi] (the opening quote) decoded into p->v: '' and \' are quotes,
 * \b \f \n \r \t and octal \ooo as in PostgreSQL; any other \c is c. */
static int pg_string(ini *p, size_t *pi)
{
    const char *b = p->ln.buf;
    const size_t *m = p->ln.map;
    size_t i = *pi + 1, n = p->ln.len, open = m[*pi];
    for (;;) {
        if (i >= n)
            return fail(p, open, "unterminated quoted string (add the closing ')");
        char c = b[i];
        if (c == '\'') {
            if (i + 1 < n && b[i + 1] == '\'') {
                if (vput(p, '\'', m[i]) < 0)
                    return -1;
                i += 2;
                continue;
            }
            *pi = i + 1;
            return 0;
        }
        if (c == '\\' && i + 1 < n) {
            size_t at = m[i];
            char e = b[i + 1];
            i += 2;
            switch (e) {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default:
                c = e;
                if (e >= '0' && e <= '7') {
                    unsigned o = (unsigned)(e - '0');
                    for (int k = 0; k < 2 && i < n && b[i] >= '0' && b[i] <= '7'; k++)
                        o = o * 8 + (unsigned)(b[i++] - '0');
                    if ((o & 0xff) == 0)
                        return fail(p, at, "a \\0 escape (a NUL byte) is not allowed");
                    c = (char)(o & 0xff);
                }
                break;
            }
            if (vput(p, c, at) < 0)
                return -1;
            continue;
        }
        if (vput(p, c, m[i]) < 0)
            return -1;
        i++;
    }
}

/* postgresql.conf: name [=] value [# comment]; the key is stored lower-cased. */
static int line_pgconf(ini *p)
{
    const char *b = p->ln.buf;
    const size_t *m = p->ln.map;
    size_t i = 0, n = p->ln.len;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#')
        return 0;
    if (!pg_name_start(b[i]))
        return fail(p, m[i], "expected a parameter name (letters, digits, '_' and '.')");
    size_t ks = i;
    while (i < n && pg_name_char(b[i]))
        i++;
    size_t ke = i;
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && b[i] == '=') {
        i++;
        while (i < n && is_blank(b[i]))
            i++;
    }
    if (i >= n || b[i] == '#')
        return fail(p, m[i], "missing value after the parameter name (write name = value)");
    size_t voff = m[i];
    int quoted = b[i] == '\'';
    p->v.len = 0;
    if (quoted) {
        if (pg_string(p, &i) < 0)
            return -1;
    } else {
        for (; i < n && !is_blank(b[i]) && b[i] != '#'; i++)
            if (vput(p, b[i], m[i]) < 0)
                return -1;
    }
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && b[i] != '#')
        return fail(p, m[i], "unexpected text after the value (quote a value that has spaces)");
    size_t vl = p->v.len;
    for (size_t k = ks; k < ke; k++) {
        char c = b[k];
        if (vput(p, c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c, m[k]) < 0)
            return -1;
    }
    /* the value was decoded first: the key follows it in the same buffer */
    const char *v = p->v.buf ? p->v.buf : "";
    return add_kv(p, p->root, v + vl, ke - ks, m[ks], v, vl, voff, quoted) ? 0 : -1;
}

/* Encode code point cp as UTF-8 into p->v, every byte at offset at. */
static int put_utf8(ini *p, unsigned long cp, size_t at)
{
    char u[4];
    size_t ul;
    if (cp < 0x80) {
        u[0] = (char)cp;
        ul = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        ul = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        ul = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        ul = 4;
    }
    for (size_t k = 0; k < ul; k++)
        if (vput(p, u[k], at) < 0)
            return -1;
    return 0;
}

/* Four hex digits at ln[i..i+4) → *cp; 0 if they are not there. */
static int hex4(const ini *p, size_t i, unsigned long *cp)
{
    if (i > p->ln.len || p->ln.len - i < 4)
        return 0;
    unsigned long v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(p->ln.buf[i + k]);
        if (h < 0)
            return 0;
        v = v * 16 + (unsigned long)h;
    }
    *cp = v;
    return 1;
}

/* A properties escape at ln[*pi] == '\\' decoded into p->v (all bytes at the backslash's
 * offset): \t \n \r \f, \uXXXX (a surrogate pair makes one code point, a lone surrogate
 * becomes U+FFFD, \u0000 is refused), any other \c is c. */
static int prop_escape(ini *p, size_t *pi)
{
    const char *b = p->ln.buf;
    size_t i = *pi, n = p->ln.len, at = p->ln.map[i];
    if (i + 1 >= n) {  /* cannot happen after read_line; drop it */
        *pi = n;
        return 0;
    }
    char e = b[i + 1];
    if (e != 'u') {
        char c = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 'f' ? '\f' : e;
        *pi = i + 2;
        return vput(p, c, at);
    }
    unsigned long cp;
    if (!hex4(p, i + 2, &cp))
        return fail(p, at, "malformed \\uXXXX escape (four hex digits are required)");
    i += 6;
    if (cp == 0)
        return fail(p, at, "a \\u0000 escape (a NUL character) is not allowed");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned long lo;
        if (i + 1 < n && b[i] == '\\' && b[i + 1] == 'u' && hex4(p, i + 2, &lo) &&
            lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        } else {
            cp = 0xFFFD;
        }
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        cp = 0xFFFD;
    }
    *pi = i;
    return put_utf8(p, cp, at);
}

/* Java properties blanks. */
static int prop_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

/* Java/Ice properties: key, then blanks and one optional '=' or ':', then the value. The
 * key ends at the first unescaped '=', ':' or blank. Trailing unescaped blanks of the value
 * are dropped (Java keeps them; Ice and every reader of a scan report expect them gone). */
static int line_properties(ini *p)
{
    const char *b = p->ln.buf;
    const size_t *m = p->ln.map;
    size_t i = 0, n = p->ln.len;
    while (i < n && is_blank(b[i]))
        i++;
    if (i >= n || b[i] == '#' || b[i] == '!')
        return 0;
    size_t key_off = m[i];
    p->v.len = 0;
    while (i < n && b[i] != '=' && b[i] != ':' && !prop_blank(b[i])) {
        if (b[i] == '\\') {
            if (prop_escape(p, &i) < 0)
                return -1;
            continue;
        }
        if (vput(p, b[i], m[i]) < 0)
            return -1;
        i++;
    }
    size_t kl = p->v.len;
    if (kl == 0)
        return fail(p, key_off, "missing property name before the '=' or ':'");
    while (i < n && is_blank(b[i]))
        i++;
    if (i < n && (b[i] == '=' || b[i] == ':')) {
        i++;
        while (i < n && is_blank(b[i]))
            i++;
    }
    size_t voff = m[i], keep = kl;
    while (i < n) {
        if (b[i] == '\\') {
            if (prop_escape(p, &i) < 0)
                return -1;
            keep = p->v.len;
            continue;
        }
        if (vput(p, b[i], m[i]) < 0)
            return -1;
        if (!is_blank(b[i]))
            keep = p->v.len;
        i++;
    }
    return add_kv(p, p->root, p->v.buf, kl, key_off, p->v.buf + kl, keep - kl, voff, 0) ? 0
                                                                                        : -1;
}

/* ---- env files ------------------------------------------------------------------------ */

static int env_name_start(char c)
{
    return is_alpha(c) || c == '_';
}

static int env_name_char(char c)
{
    return env_name_start(c) || is_digit(c);
}

/* Does a line end at t[i] (LF, CRLF, or the end of the text)? */
static int env_eol(const char *t, size_t n, size_t i)
{
    return i >= n || t[i] == '\n' || (t[i] == '\r' && (i + 1 >= n || t[i + 1] == '\n'));
}

/* Bytes of the line end at t[i] (i < n and env_eol): 2 for CRLF, else 1. */
static size_t env_eol_len(const char *t, size_t n, size_t i)
{
    return t[i] == '\r' && i + 1 < n ? 2 : 1;
}

/* One shell word starting at t[*pi] decoded into p->v: unquoted text (\c is c), "double"
 * (\" \\ \$ \` escaped, other backslashes kept) and 'single' (literal) parts, up to an
 * unquoted blank or line end. Quotes may span lines; a backslash before a line end joins
 * the lines (outside single quotes). Sets *quoted when a quote was seen. */
static int env_word(ini *p, size_t *pi, int *quoted)
{
    const char *t = p->doc->text;
    size_t n = p->doc->len, i = *pi;
    p->v.len = 0;
    *quoted = 0;
    while (!env_eol(t, n, i) && t[i] != ' ' && t[i] != '\t') {
        char c = t[i];
        if (c == '\'' || c == '"') {
            size_t open = i++;
            *quoted = 1;
            for (;;) {
                if (i >= n)
                    return fail(p, open, c == '"' ? "a double-quoted value is never closed"
                                                  : "a single-quoted value is never closed");
                char d = t[i];
                if (d == c) {
                    i++;
                    break;
                }
                if (d == '\r' && i + 1 < n && t[i + 1] == '\n') {
                    i++;  /* CRLF inside quotes: keep the LF only */
                    continue;
                }
                if (c == '"' && d == '\\' && i + 1 < n) {
                    char e = t[i + 1];
                    if (e == '"' || e == '\\' || e == '$' || e == '`') {
                        if (vput(p, e, i) < 0)
                            return -1;
                        i += 2;
                        continue;
                    }
                    if (env_eol(t, n, i + 1)) {  /* backslash-newline: removed */
                        i += 1 + env_eol_len(t, n, i + 1);
                        continue;
                    }
                }
                if (vput(p, d, i) < 0)
                    return -1;
                i++;
            }
            continue;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                i++;
                continue;
            }
            if (env_eol(t, n, i + 1)) {
                i += 1 + env_eol_len(t, n, i + 1);
                continue;
            }
            if (vput(p, t[i + 1], i) < 0)
                return -1;
            i += 2;
            continue;
        }
        if (vput(p, c, i) < 0)
            return -1;
        i++;
    }
    *pi = i;
    return 0;
}

/* Env files, read straight from the text: [export] NAME=word [NAME=word ...] [# comment].
 * Lines that do not start with an assignment are shell code and skipped. */
static int parse_env(ini *p, size_t i)
{
    const char *t = p->doc->text;
    size_t n = p->doc->len;
    while (i < n) {
        while (i < n && (t[i] == ' ' || t[i] == '\t'))
            i++;
        if (n - i > 6 && memcmp(t + i, "export", 6) == 0 && (t[i + 6] == ' ' || t[i + 6] == '\t'))
            for (i += 6; i < n && (t[i] == ' ' || t[i] == '\t'); i++)
                ;
        while (i < n && env_name_start(t[i])) {
            size_t ks = i;
            while (i < n && env_name_char(t[i]))
                i++;
            if (i >= n || t[i] != '=')
                break;
            size_t ke = i++, voff = i;
            int quoted;
            if (env_word(p, &i, &quoted) < 0)
                return -1;
            if (!add_kv(p, p->root, t + ks, ke - ks, ks, p->v.buf ? p->v.buf : "", p->v.len,
                        voff, quoted))
                return -1;
            while (i < n && (t[i] == ' ' || t[i] == '\t'))
                i++;
        }
        /* the rest of the line: a comment, shell code, or nothing */
        const char *nl = i < n ? memchr(t + i, '\n', n - i) : NULL;
        i = nl ? (size_t)(nl - t) + 1 : n;
    }
    return 0;
}

/* ---- systemd Environment= ------------------------------------------------------------ */

static int env_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Is t[i..) the start of a systemd comment line (blanks, then '#' or ';')? */
static int sd_comment_at(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    return i < n && (t[i] == '#' || t[i] == ';');
}

/* File offsets of every byte of v->str (map has v->len + 1 slots), found by walking the
 * text from v->off the way read_line joined it: a ' ' in the value may stand for a '\' that
 * ended a line, after which comment lines were skipped. Never reads past doc->len; a value
 * that does not match the text (not made by this parser) maps the rest to where the walk
 * stopped. */
static void env_offsets(const sa_doc *doc, const sa_node *v, size_t *map)
{
    const char *t = doc->text;
    size_t n = doc->len, o = v->off < n ? v->off : n;
    int lost = 0;
    for (size_t k = 0; k < v->len; k++) {
        char c = v->str[k];
        if (!lost && o < n && t[o] == c) {
            map[k] = o++;
            continue;
        }
        if (!lost && c == ' ' && o < n && t[o] == '\\') {
            size_t q = o + 1;
            if (q < n && t[q] == '\r')
                q++;
            if (q >= n || t[q] == '\n') {
                map[k] = o;
                o = q < n ? q + 1 : n;
                while (o < n && sd_comment_at(t, n, o)) {
                    const char *nl = memchr(t + o, '\n', n - o);
                    o = nl ? (size_t)(nl - t) + 1 : n;
                }
                continue;
            }
        }
        lost = 1;
        map[k] = o;
    }
    map[v->len] = o;
}

/* Decode the escape at s[i] == '\\' (i + 1 < n) into *out; returns the bytes it used, or 0
 * for an escape systemd refuses (\x00 or a malformed \x). */
static size_t env_escape(const char *s, size_t n, size_t i, char *out)
{
    char e = s[i + 1];
    switch (e) {
    case 'n': *out = '\n'; return 2;
    case 't': *out = '\t'; return 2;
    case 'r': *out = '\r'; return 2;
    case 'a': *out = '\a'; return 2;
    case 'b': *out = '\b'; return 2;
    case 'f': *out = '\f'; return 2;
    case 'v': *out = '\v'; return 2;
    case 's': *out = ' '; return 2;
    case 'x': {
        if (n - i < 4)
            return 0;
        int h = hexval(s[i + 2]), l = hexval(s[i + 3]);
        if (h < 0 || l < 0 || (h | l) == 0)
            return 0;
        *out = (char)(h * 16 + l);
        return 4;
    }
    default:
        *out = e;
        return 2;
    }
}

/* Skip quote characters from s[i] (bounded by n): from where a decoded byte's text starts
 * to the byte itself. */
static size_t skip_quotes(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == '"' || s[i] == '\''))
        i++;
    return i;
}

/* The splitter behind sa_systemd_env_split, without the duplicate marking. *added counts
 * the members appended. 0, or -1 when out of memory or over the node budget. */
static int env_split(sa_doc *doc, const sa_node *value, sa_node *out, size_t *added)
{
    *added = 0;
    if (value->type != SA_STR || value->str == NULL || value->len == 0)
        return 0;
    const char *s = value->str;
    size_t n = value->len;
    if (n > SIZE_MAX / sizeof(size_t) - 1)
        return -1;
    size_t *off = sa_malloc((n + 1) * sizeof(*off));
    if (off == NULL)
        return -1;
    env_offsets(doc, value, off);
    sa_posbuf w = {0};  /* a decoded word; w.map: where each byte's text starts in s */
    int rc = 0;
    size_t i = 0;
    while (i < n && rc == 0) {
        while (i < n && env_ws(s[i]))
            i++;
        if (i >= n)
            break;
        char q = 0;
        int quoted = 0, bad = 0;
        size_t pend = SIZE_MAX;  /* index of the quotes just before the next byte */
        w.len = 0;
        while (i < n && (q || !env_ws(s[i]))) {
            char c = s[i];
            if ((c == '"' || c == '\'') && (!q || c == q)) {
                q = q ? 0 : c;
                quoted = 1;
                if (pend == SIZE_MAX)
                    pend = i;
                i++;
                continue;
            }
            size_t at = pend != SIZE_MAX ? pend : i, used = 1;
            pend = SIZE_MAX;
            if (c == '\\' && q != '\'') {
                used = i + 1 < n ? env_escape(s, n, i, &c) : 0;
                if (used == 0) {
                    bad = 1;
                    break;
                }
            }
            if (sa_posbuf_put(&w, c, at) < 0) {
                rc = -1;
                break;
            }
            i += used;
        }
        if (rc < 0 || bad || q)
            break;  /* systemd ignores the rest of a value after a syntax error */
        const char *eq = w.len ? memchr(w.buf, '=', w.len) : NULL;
        if (eq == NULL || eq == w.buf)
            continue;  /* not an assignment: systemd ignores it */
        size_t kl = (size_t)(eq - w.buf);
        int bad_name = 0;
        for (size_t k = 0; k < kl; k++)
            if ((unsigned char)w.buf[k] < 0x20 || w.buf[k] == 0x7f)
                bad_name = 1;
        if (bad_name)
            continue;
        size_t key_at = skip_quotes(s, n, w.map[0]);
        size_t val_at = kl + 1 < w.len ? w.map[kl + 1] : skip_quotes(s, n, w.map[kl]) + 1;
        if (val_at > n)
            val_at = n;
        sa_node *m = sa_node_scalar(doc, SA_STR, off[val_at], eq + 1, w.len - kl - 1);
        if (m == NULL || sa_node_set_key(doc, m, w.buf, kl, off[key_at]) < 0) {
            rc = -1;
            break;
        }
        if (quoted)
            m->flags |= SA_NODE_QUOTED;
        sa_node_append(out, m);
        (*added)++;
    }
    sa_posbuf_free(&w);
    sa_free(off);
    return rc;
}

/* Split one Environment= value, as the systemd parser keeps it, into assignments appended
 * to out_map (an SA_MAP) as SA_STR members VAR → value, in order, then mark the earlier of
 * repeated variables SA_NODE_DUP (the later setting wins, as in systemd).
 * Rules (systemd.exec, Environment=): words are separated by blanks; a word may have
 * double or single quotes anywhere ("VAR=a b" or VAR="a b"); outside single quotes a
 * backslash escapes (\n \t \s \xHH ..., other \c is c); a word without '=' or with an empty
 * name is skipped; an unclosed quote or a malformed escape ends the value there (systemd
 * ignores the rest). No %-specifier or $ expansion.
 * Offsets: key_off at the variable name's first byte, off at the value's first byte (its
 * opening quote when the value is quoted), both in the original text even across
 * continuation lines. Returns the number of members appended, or -1 when out of memory or
 * over the node budget (sa_doc_over_budget tells which). */
int sa_systemd_env_split(sa_doc *doc, const sa_node *value, sa_node *out_map)
{
    if (doc == NULL || value == NULL || out_map == NULL || out_map->type != SA_MAP)
        return -1;
    size_t added;
    if (env_split(doc, value, out_map, &added) < 0 || sa_map_mark_dups(out_map) < 0)
        return -1;
    return added > INT_MAX ? INT_MAX : (int)added;
}

/* ---- entry point ----------------------------------------------------------------------- */

static int mark_all(sa_node *m)
{
    if (sa_map_mark_dups(m) < 0)
        return -1;
    for (sa_node *c = m->first; c; c = c->next)
        if (c->type == SA_MAP && sa_map_mark_dups(c) < 0)
            return -1;
    return 0;
}

/* Parse doc->text in the given dialect into a map (see parse.h). 0, or -1 with *err. */
int sa_parse_ini(sa_doc *doc, sa_ini_dialect dialect, sa_perr *err)
{
    ini p = {.doc = doc, .err = err, .d = dialect};
    int rc = -1;
    memset(err, 0, sizeof(*err));
    size_t pos = 0;
    if (doc->len >= 3 && memcmp(doc->text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    if ((int)dialect < (int)SA_INI_GENERIC || (int)dialect > (int)SA_INI_PROPERTIES) {
        fail(&p, pos, "unknown INI dialect");
        goto done;
    }
    p.root = sa_node_new(doc, SA_MAP, pos);
    if (p.root == NULL) {
        oom(&p, pos);
        goto done;
    }
    doc->root = p.root;
    if (prescan(&p, pos) < 0)
        goto done;
    if (dialect == SA_INI_ENV) {
        if (parse_env(&p, pos) < 0)
            goto done;
    } else {
        while (pos < doc->len) {
            if (read_line(&p, &pos) < 0)
                goto done;
            int r;
            if (dialect == SA_INI_PGCONF)
                r = line_pgconf(&p);
            else if (dialect == SA_INI_PROPERTIES)
                r = line_properties(&p);
            else
                r = line_ini(&p);
            if (r < 0)
                goto done;
        }
    }
    if (p.env)
        sa_node_append(p.root, p.env);
    if (mark_all(p.root) < 0) {
        oom(&p, pos);
        goto done;
    }
    rc = 0;
done:
    sa_posbuf_free(&p.ln);
    sa_posbuf_free(&p.v);
    return rc;
}
