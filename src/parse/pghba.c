/* pghba.c — pg_hba.conf (PostgreSQL client authentication) into records (see parse.h).
 *
 * Hand-written on purpose: no library parses pg_hba.conf, let alone with positions, and
 * secaudit needs the exact offset of every field and list element. The tokenizer follows
 * PostgreSQL's own (src/backend/libpq/hba.c, next_token / next_field_expand, PG 14+):
 *   - a line ending in '\' continues on the next one (also inside quotes and comments); the
 *     '\' and the line break are removed, nothing is inserted;
 *   - blanks (space, tab, CR) separate fields; '#' outside quotes starts a comment;
 *   - '"' starts and ends quoting anywhere in a token; inside quotes "" is a literal quote;
 *     a token is "quoted" (a keyword such as "all" becomes a plain name) when it starts with
 *     a quote, as PostgreSQL's initial_quote;
 *   - commas outside quotes separate the tokens of a list; blanks and commas before a token
 *     are skipped, so "a, b" is one field of two tokens;
 *   - an unclosed quote is an error here (PostgreSQL silently ends the token at the line's
 *     end, which then fails later with a less helpful message).
 * Records: local DB USER METHOD [OPTIONS]; host|hostssl|hostnossl|hostgssenc|hostnogssenc
 * DB USER ADDRESS [MASK] METHOD [OPTIONS]; include / include_if_exists / include_dir PATH.
 * Offsets point into the original bytes, across continuation lines. The derived members
 * "reach" and "text" let rules stay data. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"
#include "secaudit/finding.h"
#include "secaudit/parse.h"

typedef struct tok {
    size_t dec;      /* first decoded byte in h->dec */
    size_t len;      /* decoded length */
    size_t raw;      /* first byte in the logical line (its opening quote when quoted) */
    size_t raw_end;  /* one past its last byte in the logical line */
    int quoted;      /* it started with a quote (PostgreSQL's initial_quote) */
    int has_quote;   /* a quote appeared anywhere in it */
} tok;

typedef struct field {
    size_t first, n;  /* its tokens: h->toks[first .. first + n) */
} field;

typedef struct hba {
    sa_doc *doc;
    sa_perr *err;
    sa_posbuf ln;   /* the logical line; ln.map[ln.len] = where it ends in the file */
    sa_posbuf dec;  /* decoded tokens of the line; dec.map[i] = index in ln of the byte */
    tok *toks;
    size_t ntok, captok;
    field *fields;
    size_t nf, capf;
} hba;

static int fail(hba *h, size_t off, const char *msg)
{
    h->err->off = off;
    h->err->has_linecol = 0;
    snprintf(h->err->msg, sizeof(h->err->msg), "%s", msg);
    return -1;
}

static int oom(hba *h, size_t off)
{
    return fail(h, off, sa_doc_over_budget(h->doc)
                            ? "too many records: the document's node limit was reached"
                            : "out of memory");
}

/* fail() with a message "<before>"<token>"<after>". */

/* A token's decoded text (the buffer is NULL while no byte was decoded: a line of "" ). */
static const char *tok_text(const hba *h, const tok *t)
{
    return h->dec.buf ? h->dec.buf + t->dec : "";
}
static int fail_tok(hba *h, const tok *t, size_t off, const char *before, const char *after)
{
    char e[48], msg[200];
    sa_parse_echo(e, sizeof(e), tok_text(h, t), t->len);
    snprintf(msg, sizeof(msg), "%s\"%s\"%s", before, e, after);
    return fail(h, off, msg);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The file offset of logical-line byte i (i <= ln.len). */
static size_t at(const hba *h, size_t i)
{
    return h->ln.map[i];
}

/* Reject NUL bytes and physical lines longer than max_string before parsing. */
static int prescan(hba *h, size_t start)
{
    char msg[128];
    size_t off;
    if (sa_text_prescan(h->doc->text, h->doc->len, start, h->doc->lim->max_string, &off, msg,
                        sizeof(msg)) < 0)
        return fail(h, off, msg);
    return 0;
}

/* Assemble the logical line at *pos into h->ln (trailing CRs cut, "\\\n" joins), move *pos
 * past it, and set ln.map[ln.len] to the offset where it ends. */
static int read_line(hba *h, size_t *pos)
{
    const char *t = h->doc->text;
    size_t n = h->doc->len, i = *pos, end = i;
    h->ln.len = 0;
    for (;;) {
        size_t st = i;
        const char *nl = memchr(t + i, '\n', n - i);
        end = nl ? (size_t)(nl - t) : n;
        i = nl ? end + 1 : n;
        while (end > st && t[end - 1] == '\r')
            end--;
        int cont = end > st && t[end - 1] == '\\';
        if (cont)
            end--;
        for (size_t k = st; k < end; k++)
            if (sa_posbuf_put(&h->ln, t[k], k) < 0)
                return oom(h, k);
        if (h->ln.len > h->doc->lim->max_string) {
            char msg[128];
            snprintf(msg, sizeof(msg),
                     "line (continuations joined) is longer than the limit of %zu bytes",
                     h->doc->lim->max_string);
            return fail(h, *pos, msg);
        }
        if (!cont || i >= n)
            break;
    }
    if (sa_posbuf_put(&h->ln, '\0', end) < 0)
        return oom(h, end);
    h->ln.len--;
    *pos = i;
    return 0;
}

static int push_tok(hba *h, const tok *t)
{
    if (h->ntok == h->captok) {
        size_t nc = h->captok ? h->captok * 2 : 16;
        if (nc > SIZE_MAX / sizeof(tok))
            return oom(h, at(h, t->raw));
        tok *v = sa_realloc(h->toks, nc * sizeof(*v));
        if (v == NULL)
            return oom(h, at(h, t->raw));
        h->toks = v;
        h->captok = nc;
    }
    h->toks[h->ntok++] = *t;
    return 0;
}

static int push_field(hba *h, size_t first, size_t n)
{
    if (h->nf == h->capf) {
        size_t nc = h->capf ? h->capf * 2 : 8;
        if (nc > SIZE_MAX / sizeof(field))
            return oom(h, 0);
        field *v = sa_realloc(h->fields, nc * sizeof(*v));
        if (v == NULL)
            return oom(h, 0);
        h->fields = v;
        h->capf = nc;
    }
    h->fields[h->nf++] = (field){.first = first, .n = n};
    return 0;
}

/* One token from ln[*pi]: blanks and commas before it are skipped. Returns 1 with *t set
 * (*comma: it ended at an unquoted comma), 0 when the line (or a comment) ends first, -1
 * on error. */
static int next_token(hba *h, size_t *pi, tok *t, int *comma)
{
    const char *b = h->ln.buf;
    size_t i = *pi, n = h->ln.len;
    *comma = 0;
    while (i < n && (is_blank(b[i]) || b[i] == ','))
        i++;
    if (i >= n || b[i] == '#') {
        *pi = n;
        return 0;
    }
    int in_quote = 0, was_quote = 0;
    size_t open = i;
    *t = (tok){.dec = h->dec.len, .raw = i};
    while (i < n && (in_quote || !is_blank(b[i]))) {
        char c = b[i];
        if (c == '#' && !in_quote)
            break;  /* the rest is a comment: the caller stops at it */
        if (c == ',' && !in_quote) {
            *comma = 1;
            break;
        }
        if (c != '"' || was_quote) {
            if (sa_posbuf_put(&h->dec, c, i) < 0)
                return oom(h, at(h, i));
        }
        was_quote = in_quote && c == '"' ? !was_quote : 0;
        if (c == '"') {
            in_quote = !in_quote;
            t->has_quote = 1;
            if (h->dec.len == t->dec)
                t->quoted = 1;
            if (in_quote)
                open = i;
        }
        i++;
    }
    if (in_quote)
        return fail(h, at(h, open), "a quoted name is not closed before the end of the line");
    t->len = h->dec.len - t->dec;
    t->raw_end = i;
    /* a '#' ends the line: leave *pi on it so the next call sees the comment */
    *pi = i < n && b[i] == ',' ? i + 1 : i;
    return 1;
}

/* Split h->ln into fields of tokens (PostgreSQL's next_field_expand). */
static int tokenize(hba *h)
{
    size_t i = 0;
    h->nf = h->ntok = 0;
    h->dec.len = 0;
    for (;;) {
        size_t first = h->ntok;
        int comma = 1, r = 0;
        tok t;
        while (comma) {
            r = next_token(h, &i, &t, &comma);
            if (r < 0)
                return -1;
            if (r == 0)
                break;
            if (push_tok(h, &t) < 0)
                return -1;
        }
        if (h->ntok == first)
            return 0;
        if (push_field(h, first, h->ntok - first) < 0)
            return -1;
        if (r == 0)
            return 0;  /* a list ran into the end of the line */
    }
}

static const tok *ftok(const hba *h, size_t f, size_t k)
{
    return &h->toks[h->fields[f].first + k];
}

static size_t field_off(const hba *h, size_t f)
{
    return at(h, ftok(h, f, 0)->raw);
}

static int tok_eq(const hba *h, const tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->len == n && memcmp(tok_text(h, t), s, n) == 0;
}

/* An unquoted keyword (PostgreSQL's token_is_keyword). */
static int tok_kw(const hba *h, const tok *t, const char *kw)
{
    return !t->quoted && tok_eq(h, t, kw);
}

/* The single token of field f, or an error saying the field holds a list. */
static const tok *single(hba *h, size_t f, const char *what)
{
    if (h->fields[f].n != 1) {
        char msg[160];
        snprintf(msg, sizeof(msg), "multiple values specified for %s (write one value)", what);
        fail(h, at(h, ftok(h, f, 1)->raw), msg);
        return NULL;
    }
    return ftok(h, f, 0);
}

/* A member key → token text (SA_STR, SA_NODE_QUOTED when quoted) at the token. */
static sa_node *tok_node(hba *h, const tok *t, const char *key)
{
    size_t off = at(h, t->raw);
    sa_node *n = sa_node_scalar(h->doc, SA_STR, off, tok_text(h, t), t->len);
    if (n == NULL) {
        oom(h, off);
        return NULL;
    }
    if (key)
        sa_node_set_static_key(n, key, off);
    if (t->quoted)
        n->flags |= SA_NODE_QUOTED;
    return n;
}

static int add_tok(hba *h, sa_node *rec, const tok *t, const char *key)
{
    sa_node *n = tok_node(h, t, key);
    if (n == NULL)
        return -1;
    sa_node_append(rec, n);
    return 0;
}

/* key → list of the field's tokens, positioned at the field. */
static int add_list(hba *h, sa_node *rec, size_t f, const char *key)
{
    size_t off = field_off(h, f);
    sa_node *l = sa_node_new(h->doc, SA_LIST, off);
    if (l == NULL)
        return oom(h, off);
    sa_node_set_static_key(l, key, off);
    for (size_t k = 0; k < h->fields[f].n; k++) {
        sa_node *n = tok_node(h, ftok(h, f, k), NULL);
        if (n == NULL)
            return -1;
        sa_node_append(l, n);
    }
    sa_node_append(rec, l);
    return 0;
}

static int add_synth(hba *h, sa_node *rec, const char *key, const char *val, size_t len,
                     size_t off)
{
    sa_node *n = sa_node_scalar(h->doc, SA_STR, off, val, len);
    if (n == NULL)
        return oom(h, off);
    sa_node_set_static_key(n, key, off);
    n->flags |= SA_NODE_SYNTH;
    sa_node_append(rec, n);
    return 0;
}

/* "text": the fields as written (quotes kept, continuations joined), separated by one
 * space. A field runs from its first token to the end of its last. The value of an option
 * whose name says it is secret (ldapbindpasswd, radiussecrets) is written <redacted>: the
 * text names a record in reports and fingerprints. */
static int add_text(hba *h, sa_node *rec)
{
    static const char red[] = "<redacted>";
    size_t total = 0;
    for (size_t f = 0; f < h->nf; f++)
        total += ftok(h, f, h->fields[f].n - 1)->raw_end - ftok(h, f, 0)->raw + 1 +
                 sizeof(red);
    char *s = sa_arena_alloc(h->doc->arena, total + 1);
    if (s == NULL)
        return oom(h, field_off(h, 0));
    size_t o = 0;
    for (size_t f = 0; f < h->nf; f++) {
        size_t st = ftok(h, f, 0)->raw, end = ftok(h, f, h->fields[f].n - 1)->raw_end;
        if (f)
            s[o++] = ' ';
        const char *eq = f > 3 ? memchr(h->ln.buf + st, '=', end - st) : NULL;
        if (eq && sa_key_is_secret(h->ln.buf + st, (size_t)(eq - (h->ln.buf + st)))) {
            size_t kl = (size_t)(eq - (h->ln.buf + st)) + 1;
            memcpy(s + o, h->ln.buf + st, kl);
            memcpy(s + o + kl, red, sizeof(red) - 1);
            o += kl + sizeof(red) - 1;
            continue;
        }
        memcpy(s + o, h->ln.buf + st, end - st);
        o += end - st;
    }
    s[o] = '\0';
    /* the arena string is the value: no second copy */
    size_t off = field_off(h, 0);
    sa_node *n = sa_node_new(h->doc, SA_STR, off);
    if (n == NULL)
        return oom(h, off);
    sa_node_set_static_key(n, "text", off);
    n->str = s;
    n->len = o;
    n->flags |= SA_NODE_SYNTH;
    sa_node_append(rec, n);
    return 0;
}

static const char *const methods[] = {"trust", "reject", "scram-sha-256", "md5", "password",
                                      "gss",   "sspi",   "ident",         "peer", "ldap",
                                      "radius", "cert",  "pam",           "bsd",  "oauth"};

/* The reach of the range addr/mask (alen 4 or 16 bytes): "world" when the mask is empty,
 * "loopback" when every address of the range is in 127.0.0.0/8 (also written IPv4-mapped,
 * ::ffff:127.0.0.0/104) or the range is ::1/128, else "remote". Works for any mask, also a
 * non-contiguous one. */
static const char *range_reach(const unsigned char *a, const unsigned char *m, size_t alen)
{
    size_t zero = 0, ones = 0;
    for (size_t k = 0; k < alen; k++) {
        zero += m[k] == 0;
        ones += m[k] == 0xff;
    }
    if (zero == alen)
        return "world";
    if (alen == 4)
        return m[0] == 0xff && a[0] == 127 ? "loopback" : "remote";
    static const unsigned char lo6[16] = {[15] = 1};
    if (ones == 16 && memcmp(a, lo6, 16) == 0)
        return "loopback";
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    int mask_covers = 1;
    for (size_t k = 0; k < 13; k++)
        mask_covers &= m[k] == 0xff;
    if (mask_covers && memcmp(a, mapped, 12) == 0 && a[12] == 127)
        return "loopback";
    return "remote";
}

/* The address field at *fi (and a mask field after a bare IP address): members "address"
 * and maybe "mask", *reach set, *fi moved past them. */
static int parse_address(hba *h, sa_node *rec, size_t *fi, const char **reach,
                         size_t *reach_off)
{
    const tok *t = single(h, *fi, "the host address");
    if (t == NULL || add_tok(h, rec, t, "address") < 0)
        return -1;
    *reach_off = at(h, t->raw);
    (*fi)++;
    if (tok_kw(h, t, "all")) {
        *reach = "world";
        return 0;
    }
    if (tok_kw(h, t, "samehost")) {
        *reach = "samehost";
        return 0;
    }
    if (tok_kw(h, t, "samenet")) {
        *reach = "remote";
        return 0;
    }
    const char *s = tok_text(h, t);
    const char *slash = memchr(s, '/', t->len);
    size_t il = slash ? (size_t)(slash - s) : t->len;
    unsigned char a[16] = {0}, m[16] = {0};
    int af = sa_parse_ip(s, il, a);
    if (af == 0) {
        if (slash)
            return fail_tok(h, t, at(h, t->raw), "invalid IP address ",
                            " (a CIDR range is an IP address, '/' and a prefix length)");
        /* a host name; ".example.com" matches a domain suffix */
        *reach = t->len == 9 && strncasecmp(s, "localhost", 9) == 0 ? "loopback" : "remote";
        return 0;
    }
    size_t alen = af == AF_INET ? 4 : 16;
    if (slash) {
        size_t pl = t->len - il - 1, bits = 0, maxbits = alen * 8;
        int ok = pl >= 1 && pl <= 3;
        for (size_t k = 0; ok && k < pl; k++) {
            char c = slash[1 + k];
            ok = c >= '0' && c <= '9';
            bits = bits * 10 + (size_t)(c - '0');
        }
        if (!ok || bits > maxbits) {
            /* point at the prefix, just after the '/' as written */
            size_t off = at(h, h->dec.map[t->dec + il] + 1);
            return fail_tok(h, t, off, "invalid CIDR mask in address ",
                            af == AF_INET ? " (the prefix length must be 0 to 32)"
                                          : " (the prefix length must be 0 to 128)");
        }
        for (size_t k = 0; k < bits; k++)
            m[k / 8] |= (unsigned char)(0x80u >> (k % 8));
        *reach = range_reach(a, m, alen);
        return 0;
    }
    /* a bare IP address: the next field is its netmask */
    if (*fi >= h->nf)
        return fail(h, at(h, h->ln.len),
                    "end-of-line before netmask specification (an IP address without "
                    "/prefix needs a mask field)");
    const tok *mt = single(h, *fi, "the netmask");
    if (mt == NULL)
        return -1;
    int maf = sa_parse_ip(tok_text(h, mt), mt->len, m);
    if (maf == 0)
        return fail_tok(h, mt, at(h, mt->raw), "invalid IP mask ", "");
    if (maf != af)
        return fail(h, at(h, mt->raw), "IP address and mask do not match (one is IPv4, the "
                                       "other IPv6)");
    if (add_tok(h, rec, mt, "mask") < 0)
        return -1;
    (*fi)++;
    *reach = range_reach(a, m, alen);
    return 0;
}

/* The options after the method: every token NAME=VALUE is a member of the "options" map
 * (PostgreSQL reads each token of a comma list as an option of its own). */
static int parse_options(hba *h, sa_node *rec, size_t fi)
{
    size_t off = fi < h->nf ? field_off(h, fi) : at(h, h->ln.len);
    sa_node *opts = sa_node_new(h->doc, SA_MAP, off);
    if (opts == NULL)
        return oom(h, off);
    sa_node_set_static_key(opts, "options", off);
    for (; fi < h->nf; fi++) {
        for (size_t k = 0; k < h->fields[fi].n; k++) {
            const tok *t = ftok(h, fi, k);
            const char *s = tok_text(h, t);
            const char *eq = memchr(s, '=', t->len);
            if (eq == NULL)
                return fail_tok(h, t, at(h, t->raw), "authentication option not in "
                                                     "name=value format: ", "");
            size_t nl = (size_t)(eq - s);
            if (nl == 0)
                return fail(h, at(h, t->raw), "authentication option has no name before '='");
            /* where the '=' was written; the value starts right after it */
            size_t raw_eq = h->dec.map[t->dec + nl], vs = raw_eq + 1;
            size_t name_off = at(h, h->dec.map[t->dec]);
            sa_node *n = sa_node_scalar(h->doc, SA_STR, at(h, vs), eq + 1, t->len - nl - 1);
            if (n == NULL || sa_node_set_key(h->doc, n, s, nl, name_off) < 0)
                return oom(h, name_off);
            if (memchr(h->ln.buf + vs, '"', t->raw_end - vs))
                n->flags |= SA_NODE_QUOTED;
            sa_node_append(opts, n);
        }
    }
    if (sa_map_mark_dups(opts) < 0)
        return oom(h, off);
    sa_node_append(rec, opts);
    return 0;
}

/* One record from the fields of the current line, appended to records. */
static int parse_record(hba *h, sa_node *records)
{
    size_t end_off = at(h, h->ln.len), rec_off = field_off(h, 0);
    const tok *type = single(h, 0, "the connection type");
    if (type == NULL)
        return -1;
    sa_node *rec = sa_node_new(h->doc, SA_MAP, rec_off);
    if (rec == NULL)
        return oom(h, rec_off);
    if (add_tok(h, rec, type, "type") < 0)
        return -1;
    if (tok_eq(h, type, "include") || tok_eq(h, type, "include_if_exists") ||
        tok_eq(h, type, "include_dir")) {
        if (h->nf != 2)
            return fail(h, h->nf < 2 ? end_off : field_off(h, 2),
                        "an include line takes exactly one file or directory name");
        const tok *p = single(h, 1, "the included path");
        if (p == NULL || add_tok(h, rec, p, "path") < 0 || add_text(h, rec) < 0)
            return -1;
        sa_node_append(records, rec);
        return 0;
    }
    int local = tok_eq(h, type, "local");
    int host = tok_eq(h, type, "host") || tok_eq(h, type, "hostssl") ||
               tok_eq(h, type, "hostnossl") || tok_eq(h, type, "hostgssenc") ||
               tok_eq(h, type, "hostnogssenc");
    if (!local && !host)
        return fail_tok(h, type, rec_off, "invalid connection type ",
                        " (expected local, host, hostssl, hostnossl, hostgssenc, "
                        "hostnogssenc or include)");
    size_t fi = 1;
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before database specification");
    if (add_list(h, rec, fi++, "database") < 0)
        return -1;
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before role specification");
    if (add_list(h, rec, fi++, "user") < 0)
        return -1;
    const char *reach = "local";
    size_t reach_off = rec_off;
    if (host) {
        if (fi >= h->nf)
            return fail(h, end_off, "end-of-line before IP address specification");
        if (parse_address(h, rec, &fi, &reach, &reach_off) < 0)
            return -1;
    }
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before authentication method");
    const tok *m = single(h, fi, "the authentication method");
    if (m == NULL)
        return -1;
    size_t k = 0, nm = sizeof(methods) / sizeof(methods[0]);
    while (k < nm && !tok_eq(h, m, methods[k]))
        k++;
    if (k == nm)
        return fail_tok(h, m, at(h, m->raw), "invalid authentication method ",
                        " (methods are lower-case: trust, reject, scram-sha-256, md5, ...)");
    if (add_tok(h, rec, m, "method") < 0 || parse_options(h, rec, fi + 1) < 0)
        return -1;
    if (add_synth(h, rec, "reach", reach, strlen(reach), reach_off) < 0 || add_text(h, rec) < 0)
        return -1;
    sa_node_append(records, rec);
    return 0;
}

/* Parse doc->text as pg_hba.conf (see parse.h). 0, or -1 with *err. */
int sa_parse_pghba(sa_doc *doc, sa_perr *err)
{
    hba h = {.doc = doc, .err = err};
    int rc = -1;
    memset(err, 0, sizeof(*err));
    size_t pos = 0;
    if (doc->len >= 3 && memcmp(doc->text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    sa_node *root = sa_node_new(doc, SA_MAP, pos);
    sa_node *records = sa_node_new(doc, SA_LIST, pos);
    if (root == NULL || records == NULL ||
        sa_node_set_key(doc, records, "records", 7, pos) < 0) {
        oom(&h, pos);
        goto done;
    }
    sa_node_append(root, records);
    doc->root = root;
    if (prescan(&h, pos) < 0)
        goto done;
    while (pos < doc->len) {
        if (read_line(&h, &pos) < 0 || tokenize(&h) < 0)
            goto done;
        if (h.nf > 0 && parse_record(&h, records) < 0)
            goto done;
    }
    rc = 0;
done:
    sa_posbuf_free(&h.ln);
    sa_posbuf_free(&h.dec);
    sa_free(h.toks);
    sa_free(h.fields);
    return rc;
}
