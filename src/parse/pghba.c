/* pghba.c — pg_hba.conf records (PostgreSQL client authentication).
 *
 * Hand-written: no library parses pg_hba.conf, and secaudit needs every field's exact
 * position. The grammar follows PostgreSQL's own tokenizer (src/backend/libpq/hba.c) and the
 * documentation (client-auth.sgml):
 *   - one record per line; a line ending in '\' continues on the next (PostgreSQL 14+), also
 *     inside quotes and after a '#';
 *   - fields are separated by blanks; '#' outside quotes starts a comment;
 *   - '"' quotes protect blanks, commas and '#'; inside quotes '""' is a literal quote; a
 *     quoted keyword ("all") is a literal name;
 *   - a field may be a comma-separated list (database, user);
 *   - local DB USER METHOD [OPTIONS]; host* DB USER ADDRESS [MASK] METHOD [OPTIONS];
 *     include / include_if_exists / include_dir PATH (PostgreSQL 16+).
 * Offsets point into the original bytes, across continuation lines. Derived members "reach"
 * and "text" (see parse.h) let rules stay data. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "parse/posbuf.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct tok {
    char *s;       /* decoded text (quotes removed), arena */
    size_t len;
    size_t off;    /* offset of the token's first byte in the file */
    int quoted;
} tok;

typedef struct field {
    tok *toks;
    size_t n;
    size_t off;        /* first byte of the field */
    size_t raw_start;  /* index into the logical line */
    size_t raw_end;
} field;


typedef struct hba {
    sa_doc *doc;
    sa_perr *err;
    sa_posbuf ln;  /* the logical line (continuations joined), NUL-terminated;
                      ln.map[ln.len] = where the line ends */
    field *fields;
    size_t nf, capf;
    char *scratch;
    size_t scratch_cap;
} hba;

static int fail(hba *h, size_t off, const char *msg)
{
    h->err->off = off;
    h->err->has_linecol = 0;
    snprintf(h->err->msg, sizeof(h->err->msg), "%s", msg);
    return -1;
}

static int oom(hba *h)
{
    return fail(h, 0, sa_doc_over_budget(h->doc) ? "too many records (node limit reached)"
                                                : "out of memory");
}

static int line_put(hba *h, char c, size_t off)
{
    return sa_posbuf_put(&h->ln, c, off);
}

/* Read the logical line starting at *pos into h->ln; advances *pos past it. */
static int read_line(hba *h, size_t *pos)
{
    const char *t = h->doc->text;
    size_t n = h->doc->len, i = *pos, end = i;
    h->ln.len = 0;
    for (;;) {
        size_t st = i;
        while (i < n && t[i] != '\n')
            i++;
        end = i;  /* exclusive, before '\n' */
        if (end > st && t[end - 1] == '\r')
            end--;
        int cont = end > st && t[end - 1] == '\\';
        if (cont)
            end--;
        for (size_t k = st; k < end; k++) {
            if (t[k] == '\0')
                return fail(h, k, "NUL byte in text");
            if (h->ln.len >= h->doc->lim->max_string)
                return fail(h, st, "line is too long");
            if (line_put(h, t[k], k) < 0)
                return oom(h);
        }
        if (i < n)
            i++;  /* the '\n' */
        if (!cont || i >= n)
            break;
    }
    /* map[len]: where the logical line ends, for "end-of-line before ..." errors */
    if (line_put(h, '\0', end) < 0)
        return oom(h);
    h->ln.len--;
    *pos = i;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Split h->ln into fields of comma-separated tokens. */
static int tokenize(hba *h)
{
    const char *b = h->ln.buf;
    size_t i = 0, n = h->ln.len;
    h->nf = 0;
    /* decoded tokens are built here, then copied to the arena at their exact size */
    if (h->scratch_cap < n + 1) {
        char *sc = sa_realloc(h->scratch, n + 1);
        if (sc == NULL)
            return oom(h);
        h->scratch = sc;
        h->scratch_cap = n + 1;
    }
    for (;;) {
        while (i < n && is_blank(b[i]))
            i++;
        if (i >= n || b[i] == '#')
            return 0;
        if (h->nf == h->capf) {
            size_t nc = h->capf ? h->capf * 2 : 8;
            field *v = sa_realloc(h->fields, nc * sizeof(*v));
            if (v == NULL)
                return oom(h);
            h->fields = v;
            h->capf = nc;
        }
        field *f = &h->fields[h->nf++];
        memset(f, 0, sizeof(*f));
        f->off = h->ln.map[i];
        f->raw_start = i;
        size_t captoks = 0;
        int more = 1;
        while (more) {
            /* one token, up to a blank, a ',' or a '#' outside quotes */
            size_t tst = i, o = 0;
            int in_quote = 0, was_quote = 0, saw_quote = 0;
            char *dst = h->scratch;
            more = 0;
            while (i < n && (!is_blank(b[i]) || in_quote)) {
                char c = b[i];
                if (c == '#' && !in_quote) {
                    n = i;  /* the rest of the line is a comment */
                    break;
                }
                if (c == ',' && !in_quote) {
                    more = 1;
                    i++;
                    break;
                }
                if (c != '"' || was_quote)
                    dst[o++] = c;
                was_quote = in_quote && c == '"' ? !was_quote : 0;
                if (c == '"') {
                    in_quote = !in_quote;
                    saw_quote = 1;
                }
                i++;
            }
            if (in_quote)
                return fail(h, h->ln.map[tst], "unterminated quoted string");
            if (f->n == captoks) {
                size_t nc = captoks ? captoks * 2 : 4;
                tok *v = sa_arena_alloc(h->doc->arena, nc * sizeof(*v));
                if (v == NULL)
                    return oom(h);
                if (f->n)
                    memcpy(v, f->toks, f->n * sizeof(*v));
                f->toks = v;
                captoks = nc;
            }
            char *text = sa_arena_strndup(h->doc->arena, dst, o);
            if (text == NULL)
                return oom(h);
            f->toks[f->n++] = (tok){.s = text, .len = o, .off = h->ln.map[tst],
                                   .quoted = saw_quote};
            if (more && (i >= n || is_blank(b[i]) || b[i] == '#'))
                more = 0;  /* a trailing comma ends the list */
        }
        f->raw_end = i;
        while (f->raw_end > f->raw_start && (is_blank(b[f->raw_end - 1])))
            f->raw_end--;
    }
}

static int is_kw(const tok *t, const char *kw)
{
    return !t->quoted && strcmp(t->s, kw) == 0;
}

static sa_node *str_node(hba *h, const tok *t, const char *key)
{
    sa_node *n = sa_node_scalar(h->doc, SA_STR, t->off, t->s, t->len);
    if (n == NULL || sa_node_set_key(h->doc, n, key, strlen(key), t->off) < 0)
        return NULL;
    if (t->quoted)
        n->flags |= SA_NODE_QUOTED;
    return n;
}

static int add_str(hba *h, sa_node *rec, const tok *t, const char *key)
{
    sa_node *n = str_node(h, t, key);
    if (n == NULL)
        return oom(h);
    sa_node_append(rec, n);
    return 0;
}

static int add_list(hba *h, sa_node *rec, const field *f, const char *key)
{
    sa_node *l = sa_node_new(h->doc, SA_LIST, f->off);
    if (l == NULL || sa_node_set_key(h->doc, l, key, strlen(key), f->off) < 0)
        return oom(h);
    for (size_t i = 0; i < f->n; i++) {
        sa_node *n = sa_node_scalar(h->doc, SA_STR, f->toks[i].off, f->toks[i].s,
                                    f->toks[i].len);
        if (n == NULL)
            return oom(h);
        if (f->toks[i].quoted)
            n->flags |= SA_NODE_QUOTED;
        sa_node_append(l, n);
    }
    sa_node_append(rec, l);
    return 0;
}

static int add_synth(hba *h, sa_node *rec, const char *key, const char *val, size_t len,
                     size_t off)
{
    sa_node *n = sa_node_scalar(h->doc, SA_STR, off, val, len);
    if (n == NULL || sa_node_set_key(h->doc, n, key, strlen(key), off) < 0)
        return oom(h);
    n->flags |= SA_NODE_SYNTH;
    sa_node_append(rec, n);
    return 0;
}

static const char *const methods[] = {"trust", "reject", "scram-sha-256", "md5", "password",
                                      "gss", "sspi", "ident", "peer", "ldap", "radius",
                                      "cert", "pam", "bsd", "oauth"};

/* A single-token field, or an error naming what was expected. */
static const tok *single(hba *h, const field *f, const char *what)
{
    if (f->n != 1) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s must be a single value, not a list", what);
        fail(h, f->off, msg);
        return NULL;
    }
    return &f->toks[0];
}

/* Reach of an address: "world", "loopback" or "remote". bits < 0: no prefix given. */
static const char *reach_of_ip(int af, const unsigned char *a, int bits)
{
    size_t alen = af == AF_INET ? 4 : 16;
    if (bits == 0)
        return "world";
    if (af == AF_INET)
        return a[0] == 127 && (bits < 0 || bits >= 8) ? "loopback" : "remote";
    static const unsigned char one[16] = {[15] = 1};
    if (memcmp(a, one, alen) == 0 && (bits < 0 || bits == 128))
        return "loopback";
    /* IPv4-mapped loopback ::ffff:127.0.0.0/104 */
    static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(a, mapped, 12) == 0 && a[12] == 127 && (bits < 0 || bits >= 104))
        return "loopback";
    return "remote";
}

static int mask_bits(const unsigned char *m, size_t len)
{
    int bits = 0;
    size_t i = 0;
    for (; i < len && m[i] == 0xff; i++)
        bits += 8;
    if (i < len) {
        unsigned char c = m[i];
        while (c & 0x80) {
            bits++;
            c = (unsigned char)(c << 1);
        }
        if (c != 0)
            return -2;  /* not contiguous */
        for (i++; i < len; i++)
            if (m[i] != 0)
                return -2;
    }
    return bits;
}

/* Parse the address (and maybe mask) fields at fields[*fi]; appends members, sets *reach. */
static int parse_address(hba *h, sa_node *rec, size_t *fi, const char **reach)
{
    const tok *t = single(h, &h->fields[*fi], "the address");
    if (t == NULL)
        return -1;
    if (add_str(h, rec, t, "address") < 0)
        return -1;
    (*fi)++;
    if (is_kw(t, "all")) {
        *reach = "world";
        return 0;
    }
    if (is_kw(t, "samehost")) {
        *reach = "samehost";
        return 0;
    }
    if (is_kw(t, "samenet")) {
        *reach = "remote";
        return 0;
    }
    unsigned char a[16];
    char ip[64];
    const char *slash = strchr(t->s, '/');
    if (slash) {
        size_t il = (size_t)(slash - t->s);
        if (il >= sizeof(ip))
            return fail(h, t->off, "invalid IP address");
        memcpy(ip, t->s, il);
        ip[il] = '\0';
        int af = strchr(ip, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(af, ip, a) != 1)
            return fail(h, t->off, "invalid IP address");
        const char *p = slash + 1;
        int bits = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 4) {
            bits = bits * 10 + (*p++ - '0');
            digits++;
        }
        if (*p != '\0' || digits == 0 || bits > (af == AF_INET ? 32 : 128))
            return fail(h, t->off + il + 1, "invalid CIDR mask in address");
        *reach = reach_of_ip(af, a, bits);
        return 0;
    }
    int af = 0;
    if (t->len < sizeof(ip) && !t->quoted) {
        if (inet_pton(AF_INET, t->s, a) == 1)
            af = AF_INET;
        else if (inet_pton(AF_INET6, t->s, a) == 1)
            af = AF_INET6;
    }
    if (af == 0) {
        /* a host name (".example.com" matches a suffix) */
        *reach = strcmp(t->s, "localhost") == 0 ? "loopback" : "remote";
        return 0;
    }
    /* an IP address without a prefix: the next field is its mask */
    if (*fi >= h->nf)
        return fail(h, h->ln.map[h->ln.len],
                    "IP address without a CIDR prefix needs a separate netmask field");
    const tok *m = single(h, &h->fields[*fi], "the netmask");
    if (m == NULL)
        return -1;
    unsigned char mb[16];
    if (m->len >= sizeof(ip) || inet_pton(af, m->s, mb) != 1)
        return fail(h, m->off, "invalid IP mask");
    if (add_str(h, rec, m, "mask") < 0)
        return -1;
    (*fi)++;
    int bits = mask_bits(mb, af == AF_INET ? 4 : 16);
    if (bits == -2)  /* a non-contiguous mask: judge by whether it is empty */
        bits = memcmp(mb, (const unsigned char[16]){0}, af == AF_INET ? 4 : 16) ? 1 : 0;
    *reach = reach_of_ip(af, a, bits);
    return 0;
}

/* The record's fields joined by single spaces as written (quotes kept). */
static int add_text(hba *h, sa_node *rec)
{
    size_t total = 0;
    for (size_t i = 0; i < h->nf; i++)
        total += h->fields[i].raw_end - h->fields[i].raw_start + 1;
    char *s = sa_arena_alloc(h->doc->arena, total + 1);
    if (s == NULL)
        return oom(h);
    size_t o = 0;
    for (size_t i = 0; i < h->nf; i++) {
        size_t l = h->fields[i].raw_end - h->fields[i].raw_start;
        if (i)
            s[o++] = ' ';
        memcpy(s + o, h->ln.buf + h->fields[i].raw_start, l);
        o += l;
    }
    s[o] = '\0';
    return add_synth(h, rec, "text", s, o, h->fields[0].off);
}

static int parse_record(hba *h, sa_node *records)
{
    field *f = h->fields;
    const tok *type = single(h, &f[0], "the connection type");
    if (type == NULL)
        return -1;
    sa_node *rec = sa_node_new(h->doc, SA_MAP, f[0].off);
    if (rec == NULL)
        return oom(h);
    if (add_str(h, rec, type, "type") < 0)
        return -1;
    size_t end_off = h->ln.map[h->ln.len];
    int local = is_kw(type, "local");
    int host = is_kw(type, "host") || is_kw(type, "hostssl") || is_kw(type, "hostnossl") ||
               is_kw(type, "hostgssenc") || is_kw(type, "hostnogssenc");
    if (is_kw(type, "include") || is_kw(type, "include_if_exists") ||
        is_kw(type, "include_dir")) {
        if (h->nf != 2)
            return fail(h, h->nf < 2 ? end_off : f[2].off,
                        "an include record takes exactly one file or directory name");
        const tok *p = single(h, &f[1], "the included path");
        if (p == NULL || add_str(h, rec, p, "path") < 0)
            return -1;
        sa_node_append(records, rec);
        return add_text(h, rec);
    }
    if (!local && !host) {
        char msg[128];
        snprintf(msg, sizeof(msg), "invalid connection type \"%.40s\"", type->s);
        return fail(h, type->off, msg);
    }
    size_t fi = 1;
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before database specification");
    if (add_list(h, rec, &f[fi++], "database") < 0)
        return -1;
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before role specification");
    if (add_list(h, rec, &f[fi++], "user") < 0)
        return -1;
    const char *reach = "local";
    if (host) {
        if (fi >= h->nf)
            return fail(h, end_off, "end-of-line before IP address specification");
        if (parse_address(h, rec, &fi, &reach) < 0)
            return -1;
    }
    if (fi >= h->nf)
        return fail(h, end_off, "end-of-line before authentication method");
    const tok *m = single(h, &f[fi], "the authentication method");
    if (m == NULL)
        return -1;
    size_t k;
    for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
        if (strcmp(m->s, methods[k]) == 0)
            break;
    if (k == sizeof(methods) / sizeof(methods[0])) {
        char msg[128];
        snprintf(msg, sizeof(msg), "invalid authentication method \"%.40s\"", m->s);
        return fail(h, m->off, msg);
    }
    if (add_str(h, rec, m, "method") < 0)
        return -1;
    fi++;
    sa_node *opts = sa_node_new(h->doc, SA_MAP, fi < h->nf ? f[fi].off : end_off);
    if (opts == NULL || sa_node_set_key(h->doc, opts, "options", 7, opts->off) < 0)
        return oom(h);
    for (; fi < h->nf; fi++) {
        /* name=value; the tokenizer split on commas, so rejoin the field's tokens */
        const tok *t = &f[fi].toks[0];
        const char *eq = strchr(t->s, '=');
        if (eq == NULL || eq == t->s || h->ln.buf[f[fi].raw_start] == '"')
            return fail(h, t->off, "authentication option not in name=value format");
        size_t nl = (size_t)(eq - t->s);
        size_t vl = 0;
        for (size_t j = 0; j < f[fi].n; j++)
            vl += f[fi].toks[j].len + 1;
        char *v = sa_arena_alloc(h->doc->arena, vl + 1);
        if (v == NULL)
            return oom(h);
        size_t o = 0;
        const char *first = eq + 1;
        memcpy(v, first, t->len - nl - 1);
        o = t->len - nl - 1;
        for (size_t j = 1; j < f[fi].n; j++) {
            v[o++] = ',';
            memcpy(v + o, f[fi].toks[j].s, f[fi].toks[j].len);
            o += f[fi].toks[j].len;
        }
        v[o] = '\0';
        /* the value's offset: just after '=' (plus its opening quote when quoted) */
        size_t voff = t->off + nl + 1;
        sa_node *n = sa_node_scalar(h->doc, SA_STR, voff, v, o);
        if (n == NULL || sa_node_set_key(h->doc, n, t->s, nl, t->off) < 0)
            return oom(h);
        sa_node_append(opts, n);
    }
    sa_node_append(rec, opts);
    if (sa_map_mark_dups(opts) < 0)
        return oom(h);
    if (add_synth(h, rec, "reach", reach, strlen(reach), f[0].off) < 0 || add_text(h, rec) < 0)
        return -1;
    sa_node_append(records, rec);
    return 0;
}

int sa_parse_pghba(sa_doc *doc, sa_perr *err)
{
    hba h = {.doc = doc, .err = err};
    int rc = -1;
    memset(err, 0, sizeof(*err));
    sa_node *root = sa_node_new(doc, SA_MAP, 0);
    sa_node *records = sa_node_new(doc, SA_LIST, 0);
    if (root == NULL || records == NULL || sa_node_set_key(doc, records, "records", 7, 0) < 0) {
        oom(&h);
        goto done;
    }
    sa_node_append(root, records);
    doc->root = root;
    size_t pos = 0;
    if (doc->len >= 3 && memcmp(doc->text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < doc->len) {
        if (read_line(&h, &pos) < 0 || tokenize(&h) < 0)
            goto done;
        if (h.nf == 0)
            continue;
        if (parse_record(&h, records) < 0)
            goto done;
    }
    rc = 0;
done:
    sa_posbuf_free(&h.ln);
    sa_free(h.fields);
    sa_free(h.scratch);
    return rc;
}
