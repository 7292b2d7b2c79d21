/* suppress.c — secaudit:ignore comments and ignore files (see suppress.h).
 *
 * Comments are found by a small lexer per comment syntax rather than by the format's parser:
 * the parsers (libxml2, jansson-grammar JSON, libyaml) drop comments, and all a suppression
 * needs is where a comment starts and on which line. The table `syntaxes` has one row per
 * format; adding a format is adding a row. */
#include "secaudit/suppress.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/parse.h"
#include "secaudit/walk.h"

static const char MARKER[] = "secaudit:ignore";
#define MARKER_LEN (sizeof(MARKER) - 1)

/* ---- the comment table ----------------------------------------------------------------- */
typedef enum cm_kind {
    CM_HASH,    /* line comments opened by one character (#, ;, !) */
    CM_CSTYLE,  /* // and block comments outside "strings" (Orthanc's JSON) */
    CM_XML      /* <!-- … --> outside CDATA sections */
} cm_kind;

typedef struct comment_syntax {
    const char *format;
    cm_kind kind;
    const char *line_open;    /* CM_HASH: characters that open a comment as a line's first
                                 non-blank character */
    const char *inline_open;  /* CM_HASH: characters that open a comment later on a line */
    int after_blank;          /* inline_open only after a blank (YAML, shell) */
    const char *quotes;       /* quote characters inside which an opener is text */
} comment_syntax;

static const comment_syntax syntaxes[] = {
    {"env", CM_HASH, "#", "#", 1, "\"'"},
    {"ini", CM_HASH, "#;", "", 0, ""},
    {"iptables", CM_HASH, "#", "", 0, ""},
    {"json", CM_CSTYLE, NULL, NULL, 0, NULL},
    {"nginx", CM_HASH, "#", "#", 0, "\"'"},
    {"pgconf", CM_HASH, "#", "#", 0, "'"},
    {"pghba", CM_HASH, "#", "#", 0, "\""},
    {"properties", CM_HASH, "#!", "", 0, ""},
    {"systemd", CM_HASH, "#;", "", 0, ""},
    {"xml", CM_XML, NULL, NULL, 0, NULL},
    {"yaml", CM_HASH, "#", "#", 1, "\"'"},
};

typedef struct lexer {
    sa_result *res;
    const char *file, *rel;
    size_t seq;
    const char *text;
    size_t len;
    size_t at, line, col;   /* position of byte `at`; markers come in increasing order, so
                               positions are counted forward once: O(n) for the file */
    size_t n, max;          /* comments recorded, and the ceiling */
    int oom;
} lexer;

/* Line and column of byte off (>= the previous call's), counted as sa_linemap_pos does:
 * code points, a byte order mark not a column. */
static void pos_at(lexer *lx, size_t off, unsigned *line, unsigned *col)
{
    for (; lx->at < off; lx->at++) {
        unsigned char c = (unsigned char)lx->text[lx->at];
        if (c == '\n') {
            lx->line++;
            lx->col = 1;
        } else if ((c & 0xC0) != 0x80) {
            lx->col++;
        }
    }
    *line = (unsigned)lx->line;
    *col = (unsigned)lx->col;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int is_id_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* A comment's text text[st..end) (without its opener and closer); alone: nothing but blanks
 * before it on its line. Record each marker it holds. */
static void comment(lexer *lx, size_t st, size_t end, int alone)
{
    const char *t = lx->text;
    for (size_t i = st; i + MARKER_LEN <= end; i++) {
        if (t[i] != 's' || memcmp(t + i, MARKER, MARKER_LEN) != 0)
            continue;
        size_t p = i + MARKER_LEN;
        if (p < end && !is_blank(t[p]) && t[p] != '\n')
            continue;  /* secaudit:ignored, secaudit:ignore-foo: not a marker */
        /* a marker inside a multi-line comment is "alone" unless text precedes it on its
         * line (the walk back stops at the comment's start: linear over the file) */
        size_t ls = i;
        while (ls > st && t[ls - 1] != '\n')
            ls--;
        int own_line = alone;
        if (ls > st) {
            own_line = 1;
            for (size_t k = ls; k < i; k++)
                if (!is_blank(t[k]) && t[k] != '*')
                    own_line = 0;
        }
        size_t lend = p;
        while (lend < end && t[lend] != '\n')
            lend++;
        while (p < lend && is_blank(t[p]))
            p++;
        size_t rs = p;
        while (p < lend && (is_id_char(t[p]) || t[p] == ','))
            p++;
        size_t re = p;
        while (p < lend && is_blank(t[p]))
            p++;
        size_t ws = p, we = lend;
        while (we > ws && is_blank(t[we - 1]))
            we--;
        sa_result *r = lx->res;
        if (lx->n == lx->max) {
            char msg[160];
            snprintf(msg, sizeof(msg), "more than %zu secaudit:ignore comments; the rest are "
                     "not read", lx->max);
            lx->n++;
            if (sa_result_add_notice(r, lx->file, msg) < 0)
                lx->oom = 1;
            return;
        }
        if (lx->n > lx->max)
            return;
        if (r->n_comments == r->cap_comments) {
            size_t nc = r->cap_comments ? r->cap_comments * 2 : 16;
            sa_ignore_comment *v = sa_realloc(r->comments, nc * sizeof(*v));
            if (v == NULL) {
                lx->oom = 1;
                return;
            }
            r->comments = v;
            r->cap_comments = nc;
        }
        sa_ignore_comment *c = &r->comments[r->n_comments];
        memset(c, 0, sizeof(*c));
        pos_at(lx, i, &c->line, &c->col);
        c->alone = own_line;
        c->seq = lx->seq;
        c->file = sa_strdup(lx->file);
        c->rel = sa_strdup(lx->rel);
        c->rules = sa_strndup(t + rs, re - rs);
        c->reason = sa_strndup(t + ws, we - ws);
        if (c->file == NULL || c->rel == NULL || c->rules == NULL || c->reason == NULL) {
            sa_free(c->file);
            sa_free(c->rel);
            sa_free(c->rules);
            sa_free(c->reason);
            lx->oom = 1;
            return;
        }
        r->n_comments++;
        lx->n++;
        i = lend > i ? lend - 1 : i;
    }
}

static void lex_hash(lexer *lx, const comment_syntax *sx)
{
    const char *t = lx->text;
    size_t i = 0, n = lx->len;
    while (i < n && !lx->oom) {
        size_t ls = i;
        while (i < n && is_blank(t[i]))
            i++;
        size_t le = i;
        while (le < n && t[le] != '\n')
            le++;
        if (i < n && t[i] != '\n' && strchr(sx->line_open, t[i])) {
            comment(lx, i + 1, le, 1);
        } else {
            char q = 0;
            for (size_t k = i; k < le; k++) {
                char c = t[k];
                if (q) {
                    if (c == '\\' && q == '"' && k + 1 < le)
                        k++;
                    else if (c == q)
                        q = 0;
                } else if (c != '\0' && strchr(sx->quotes, c)) {
                    q = c;
                } else if (c != '\0' && strchr(sx->inline_open, c) &&
                           (!sx->after_blank || k == ls || is_blank(t[k - 1]))) {
                    comment(lx, k + 1, le, 0);
                    break;
                }
            }
        }
        i = le + 1;
    }
}

static void lex_cstyle(lexer *lx)
{
    const char *t = lx->text;
    size_t n = lx->len;
    int content = 0;  /* something other than blanks precedes on this line */
    for (size_t i = 0; i < n && !lx->oom; i++) {
        char c = t[i];
        if (c == '\n') {
            content = 0;
        } else if (c == '"') {
            content = 1;
            for (i++; i < n && t[i] != '"' && t[i] != '\n'; i++)
                if (t[i] == '\\')
                    i++;
        } else if (c == '/' && i + 1 < n && t[i + 1] == '/') {
            size_t e = i + 2;
            while (e < n && t[e] != '\n')
                e++;
            comment(lx, i + 2, e, !content);
            i = e - 1;
        } else if (c == '/' && i + 1 < n && t[i + 1] == '*') {
            size_t e = i + 2;
            while (e + 1 < n && !(t[e] == '*' && t[e + 1] == '/'))
                e++;
            if (e + 1 >= n)
                e = n;
            comment(lx, i + 2, e, !content);
            content = 1;
            i = e + 1;
        } else if (!is_blank(c)) {
            content = 1;
        }
    }
}

static const char *find(const char *t, size_t from, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = from; i + k <= n; i++)
        if (t[i] == needle[0] && memcmp(t + i, needle, k) == 0)
            return t + i;
    return NULL;
}

static void lex_xml(lexer *lx)
{
    const char *t = lx->text;
    size_t n = lx->len, i = 0;
    while (i < n && !lx->oom) {
        const char *lt = memchr(t + i, '<', n - i);
        if (lt == NULL)
            break;
        size_t p = (size_t)(lt - t);
        if (n - p >= 9 && memcmp(lt, "<![CDATA[", 9) == 0) {
            const char *e = find(t, p + 9, n, "]]>");
            i = e ? (size_t)(e - t) + 3 : n;
        } else if (n - p >= 4 && memcmp(lt, "<!--", 4) == 0) {
            const char *e = find(t, p + 4, n, "-->");
            size_t end = e ? (size_t)(e - t) : n;
            int alone = 1;
            for (size_t k = p; k > 0 && t[k - 1] != '\n'; k--)
                if (!is_blank(t[k - 1]))
                    alone = 0;
            comment(lx, p + 4, end, alone);
            i = e ? end + 3 : n;
        } else {
            i = p + 1;
        }
    }
}

int sa_suppress_collect(sa_result *res, const char *format, const char *file, const char *rel,
                        size_t seq, const char *text, size_t len, const sa_limits *lim)
{
    const comment_syntax *sx = NULL;
    for (size_t i = 0; i < sizeof(syntaxes) / sizeof(syntaxes[0]); i++)
        if (strcmp(syntaxes[i].format, format) == 0)
            sx = &syntaxes[i];
    if (sx == NULL || text == NULL || find(text, 0, len, MARKER) == NULL)
        return 0;
    lexer lx = {.res = res, .file = file, .rel = rel, .seq = seq, .text = text, .len = len,
                .line = 1, .col = 1, .max = lim->max_ignore_comments};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        lx.at = 3;  /* a byte order mark is not a column */
    if (sx->kind == CM_HASH)
        lex_hash(&lx, sx);
    else if (sx->kind == CM_CSTYLE)
        lex_cstyle(&lx);
    else
        lex_xml(&lx);
    return lx.oom ? -1 : 0;
}

/* ---- dates ----------------------------------------------------------------------------- */
int sa_date_valid(const char *s, size_t len)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (size_t i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    int y = atoi(s), m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int sa_today(char out[11], char *err, size_t errcap)
{
    const char *env = getenv("SECAUDIT_TODAY");
    if (env && *env) {
        if (!sa_date_valid(env, strlen(env))) {
            snprintf(err, errcap, "SECAUDIT_TODAY: '%.40s' is not a date (YYYY-MM-DD)", env);
            return -1;
        }
        memcpy(out, env, 11);
        return 0;
    }
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10) {
        snprintf(err, errcap, "cannot tell today's date");
        return -1;
    }
    return 0;
}

/* ---- ignore files ---------------------------------------------------------------------- */
void sa_ignore_free(sa_ignore_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        sa_ignore_entry *e = &l->v[i];
        sa_free(e->rule);
        sa_free(e->path);
        sa_free(e->fingerprint);
        sa_free(e->reason);
        sa_free(e->origin);
    }
    sa_free(l->v);
    memset(l, 0, sizeof(*l));
}

typedef struct loader {
    const char *path;
    sa_linemap lines;
    char *err;
    size_t errcap;
} loader;

__attribute__((format(printf, 4, 5))) static int fail(loader *ld, size_t off, int at_key,
                                                      const char *fmt, ...);

static int fail(loader *ld, size_t off, int at_key, const char *fmt, ...)
{
    (void)at_key;
    unsigned line, col;
    sa_linemap_pos(&ld->lines, off, &line, &col);
    int n = snprintf(ld->err, ld->errcap, "%s:%u:%u: ", ld->path, line, col);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < ld->errcap)
        vsnprintf(ld->err + n, ld->errcap - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int scalar(const sa_node *v)
{
    return v->type == SA_STR || v->type == SA_NUM;
}

static int load_entry(loader *ld, const sa_node *m, sa_ignore_entry *e)
{
    if (m->type != SA_MAP)
        return fail(ld, m->off, 0, "an ignore entry must be a mapping with rule, path and "
                                   "reason");
    for (const sa_node *k = m->first; k; k = k->next) {
        char **dst = NULL;
        if (strcmp(k->key, "rule") == 0)
            dst = &e->rule;
        else if (strcmp(k->key, "path") == 0)
            dst = &e->path;
        else if (strcmp(k->key, "fingerprint") == 0)
            dst = &e->fingerprint;
        else if (strcmp(k->key, "reason") == 0)
            dst = &e->reason;
        else if (strcmp(k->key, "expires") != 0)
            return fail(ld, k->key_off, 1, "unknown key '%.60s' (expected rule, path, "
                        "fingerprint, reason or expires)", k->key);
        if (!scalar(k) || k->len == 0 || memchr(k->str, '\0', k->len))
            return fail(ld, k->off, 0, "'%s' needs a non-empty text value", k->key);
        if (dst == NULL) {
            if (!sa_date_valid(k->str, k->len))
                return fail(ld, k->off, 0, "expires: '%.40s' is not a date (YYYY-MM-DD)",
                            k->str);
            memcpy(e->expires, k->str, 11);
            continue;
        }
        if (*dst != NULL)
            return fail(ld, k->key_off, 1, "'%s' is given twice", k->key);
        if ((*dst = sa_strndup(k->str, k->len)) == NULL)
            return fail(ld, k->off, 0, "out of memory");
    }
    const char *missing = e->rule == NULL ? "rule" : e->path == NULL ? "path"
                          : e->reason == NULL ? "reason" : NULL;
    if (missing)
        return fail(ld, m->off, 0, "the entry has no '%s' (rule, path and reason are required)",
                    missing);
    while (e->path[0] == '.' && e->path[1] == '/')  /* "./etc/x" is "etc/x" */
        memmove(e->path, e->path + 2, strlen(e->path + 2) + 1);
    if (e->fingerprint) {
        size_t n = strlen(e->fingerprint);
        if (n != 16 || strspn(e->fingerprint, "0123456789abcdef") != 16)
            return fail(ld, m->off, 0, "fingerprint: expected 16 lower-case hex digits");
    }
    return 0;
}

int sa_ignore_load(sa_ignore_list *l, const char *path, long root, int optional,
                   const sa_limits *lim, char *err, size_t errcap)
{
    sa_buf buf;
    if (sa_read_user_file(path, lim->max_file_bytes, 1, &buf) < 0) {
        if (optional && errno == ENOENT)
            return 1;
        snprintf(err, errcap, "cannot read the ignore file %s: %s", path,
                 sa_read_user_file_error(errno));
        return -1;
    }
    loader ld = {.path = path, .err = err, .errcap = errcap};
    sa_doc *doc = sa_doc_new(buf.data ? buf.data : "", buf.len, lim);
    int rc = -1;
    if (doc == NULL || sa_linemap_init(&ld.lines, doc->text, doc->len) < 0) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    if (sa_parse_yaml(doc, &perr) < 0) {
        if (perr.has_linecol)
            snprintf(err, errcap, "%s:%u:%u: %s", path, perr.line, perr.col, perr.msg);
        else
            fail(&ld, perr.off, 0, "%s", perr.msg);
        goto done;
    }
    const sa_node *top = doc->root;
    if (top == NULL || top->type == SA_NULL) {
        rc = 0;  /* an empty file ignores nothing */
        goto done;
    }
    if (top->type != SA_MAP) {
        fail(&ld, top->off, 0, "expected a mapping with the key 'ignore'");
        goto done;
    }
    for (const sa_node *k = top->first; k; k = k->next) {
        if (strcmp(k->key, "ignore") != 0) {
            fail(&ld, k->key_off, 1, "unknown key '%.60s' (expected 'ignore')", k->key);
            goto done;
        }
        if (k->type == SA_NULL)
            continue;
        if (k->type != SA_LIST) {
            fail(&ld, k->off, 0, "'ignore' must be a list of entries");
            goto done;
        }
        for (const sa_node *m = k->first; m; m = m->next) {
            if (l->n == l->cap) {
                size_t nc = l->cap ? l->cap * 2 : 16;
                sa_ignore_entry *v = sa_realloc(l->v, nc * sizeof(*v));
                if (v == NULL) {
                    snprintf(err, errcap, "out of memory");
                    goto done;
                }
                l->v = v;
                l->cap = nc;
            }
            sa_ignore_entry *e = &l->v[l->n++];
            memset(e, 0, sizeof(*e));
            e->root = root;
            unsigned col;
            sa_linemap_pos(&ld.lines, m->off, &e->line, &col);
            if ((e->origin = sa_strdup(path)) == NULL) {
                snprintf(err, errcap, "out of memory");
                goto done;
            }
            if (load_entry(&ld, m, e) < 0)
                goto done;
        }
    }
    rc = 0;
done:
    sa_linemap_free(&ld.lines);
    sa_doc_free(doc);
    sa_buf_free(&buf);
    return rc;
}

/* ---- applying -------------------------------------------------------------------------- */
static sa_service ignore_service = {
    .name = "secaudit",
    .title = "secaudit",
    .description = "secaudit's own checks of its suppressions",
    .format = "",
};

static char *ignore_refs[] = {"REPORT_FORMAT.md, section \"Suppressions\""};

const sa_rule sa_rule_ignore_no_reason = {
    .id = "SECAUDIT-IGNORE-NO-REASON",
    .title = "secaudit:ignore comment without a reason",
    .severity = SA_SEV_LOW,
    .service = &ignore_service,
    .rationale = "A suppression must say why the finding is accepted, so that a reviewer can "
                 "judge it later. A secaudit:ignore comment without a reason suppresses "
                 "nothing.",
    .remediation = "Write the reason after the rule ids: "
                   "'secaudit:ignore RULE-ID the reason the setting is accepted'.",
    .refs = ignore_refs,
    .n_refs = 1,
    .origin = "built-in",
};

static int cmp_comment(const void *a, const void *b)
{
    const sa_ignore_comment *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

/* Does the comment list "ID1,ID2" name id? Its 1-based place in the list, or 0. */
static unsigned names_rule(const char *rules, const char *id)
{
    size_t n = strlen(id);
    unsigned idx = 1;
    for (const char *p = rules; *p; idx++) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && memcmp(p, id, n) == 0)
            return idx;
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

static int set_supp(sa_finding *f, sa_supp_kind kind, const char *reason, const char *file,
                    unsigned line)
{
    char origin[4200];
    snprintf(origin, sizeof(origin), "%.4000s:%u", file, line);
    f->suppress_reason = sa_strdup(reason);
    f->suppress_origin = sa_strdup(origin);
    if (f->suppress_reason == NULL || f->suppress_origin == NULL)
        return -1;
    f->suppressed = kind;
    return 0;
}

/* Try the comments on (file, line) for f. 1 suppressed, 0 not, -1 OOM. */
static int try_comments(sa_result *res, sa_finding *f, unsigned line, int need_alone)
{
    sa_ignore_comment key = {.file = f->file, .line = line, .col = 0};
    /* first comment of (file, line): lower bound */
    size_t lo = 0, hi = res->n_comments;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_comment(&res->comments[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < res->n_comments; i++) {
        sa_ignore_comment *c = &res->comments[i];
        if (c->line != line || strcmp(c->file, f->file) != 0)
            break;
        unsigned idx = c->reason[0] ? names_rule(c->rules, f->rule->id) : 0;
        if ((need_alone && !c->alone) || idx == 0)
            continue;
        /* one bit per rule id named (ids past the 31st count as used) */
        c->used |= idx < 32 ? 1u << idx : 1u;
        return set_supp(f, SA_SUPP_INSOURCE, c->reason, c->file, c->line) < 0 ? -1 : 1;
    }
    return 0;
}

/* Is f below the scan root with index root? */
static int under_root(const sa_result *res, const sa_finding *f, long root)
{
    size_t r;
    const char *rel;
    return root < 0 || (sa_result_locate(res, f->file, &r, &rel) == 0 && r == (size_t)root);
}

static int add_no_reason(sa_result *res, const sa_ignore_comment *c)
{
    if (res->n_findings == res->cap_findings) {
        size_t nc = res->cap_findings ? res->cap_findings * 2 : 16;
        sa_finding *v = sa_realloc(res->findings, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        res->findings = v;
        res->cap_findings = nc;
    }
    sa_finding *f = &res->findings[res->n_findings];
    memset(f, 0, sizeof(*f));
    char msg[600], ev[600];
    snprintf(msg, sizeof(msg),
             "secaudit:ignore %.400s has no reason, so it suppresses nothing",
             c->rules[0] ? c->rules : "(no rule id)");
    snprintf(ev, sizeof(ev), "secaudit:ignore %.400s", c->rules);
    f->rule = &sa_rule_ignore_no_reason;
    if (sa_finding_set_strings(f, c->file, c->rel, "secaudit:ignore", msg, ev, NULL) < 0)
        return -1;
    f->line = c->line;
    f->col = c->col;
    f->seq = c->seq;
    const char *parts[] = {f->rule->id, c->rel, f->key, c->rules};
    sa_fingerprint(parts, 4, f->fingerprint);
    res->n_findings++;
    return 0;
}

int sa_suppress_apply(sa_result *res, const sa_suppress_opts *o)
{
    char msg[700];
    if (o->inline_ignores) {
        if (res->n_comments > 1)
            qsort(res->comments, res->n_comments, sizeof(*res->comments), cmp_comment);
        /* a file read twice (a drop-in on its own and with its unit) gave its comments twice */
        size_t kept = res->n_comments ? 1 : 0;
        for (size_t i = 1; i < res->n_comments; i++) {
            sa_ignore_comment *c = &res->comments[i];
            if (cmp_comment(&res->comments[kept - 1], c) == 0) {
                sa_free(c->file);
                sa_free(c->rel);
                sa_free(c->rules);
                sa_free(c->reason);
            } else {
                res->comments[kept++] = *c;
            }
        }
        res->n_comments = kept;
        size_t n = res->n_findings;
        for (size_t i = 0; i < res->n_comments; i++)
            if (res->comments[i].reason[0] == '\0' && add_no_reason(res, &res->comments[i]) < 0)
                return -1;
        for (size_t i = 0; i < n; i++) {
            sa_finding *f = &res->findings[i];
            int r = try_comments(res, f, f->line, 0);
            if (r == 0 && f->line > 1)
                r = try_comments(res, f, f->line - 1, 1);
            if (r < 0)
                return -1;
        }
        for (size_t i = 0; i < res->n_comments; i++) {
            const sa_ignore_comment *c = &res->comments[i];
            if (c->reason[0] == '\0')
                continue;
            /* each rule id the comment names that suppressed nothing */
            unsigned idx = 1;
            for (const char *p = c->rules;; idx++) {
                const char *e = strchr(p, ',');
                int len = (int)(e ? (size_t)(e - p) : strlen(p));
                if (len > 0 && idx < 32 && !(c->used & (1u << idx)) && !(c->used & 1u)) {
                    snprintf(msg, sizeof(msg),
                             "unused suppression: secaudit:ignore %.*s matches no finding it "
                             "covers",
                             len > 300 ? 300 : len, p);
                    if (sa_result_add_notice_at(res, c->file, c->line, msg) < 0)
                        return -1;
                }
                if (e == NULL)
                    break;
                p = e + 1;
            }
            if (c->rules[0] == '\0' &&
                sa_result_add_notice_at(res, c->file, c->line,
                                        "secaudit:ignore names no rule id; it suppresses "
                                        "nothing") < 0)
                return -1;
        }
    }
    sa_ignore_list *l = o->ignores;
    for (size_t k = 0; l && k < l->n; k++) {
        sa_ignore_entry *e = &l->v[k];
        int expired = e->expires[0] && strcmp(o->today, e->expires) > 0;
        if (expired) {
            snprintf(msg, sizeof(msg),
                     "ignore entry for %.200s expired on %s; it no longer suppresses", e->rule,
                     e->expires);
            if (sa_result_add_notice_at(res, e->origin, e->line, msg) < 0)
                return -1;
            continue;
        }
        for (size_t i = 0; i < res->n_findings; i++) {
            sa_finding *f = &res->findings[i];
            if (f->suppressed || strcmp(f->rule->id, e->rule) != 0 ||
                (e->fingerprint && strcmp(e->fingerprint, f->fingerprint) != 0) ||
                fnmatch(e->path, f->rel, 0) != 0 || !under_root(res, f, e->root))
                continue;
            if (set_supp(f, SA_SUPP_EXTERNAL, e->reason, e->origin, e->line) < 0)
                return -1;
            e->used = 1;
        }
        if (!e->used) {
            snprintf(msg, sizeof(msg), "unused suppression: the ignore entry for %.200s "
                     "matches no finding", e->rule);
            if (sa_result_add_notice_at(res, e->origin, e->line, msg) < 0)
                return -1;
        }
    }
    return sa_result_sort(res);
}
