/* state.c — state files (see state.h): read with the project's positioned JSON parser, so
 * a damaged file is reported at file:line:col; written with jansson, atomically. */
#include "secaudit/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/jsonw.h"
#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/parse.h"
#include "secaudit/walk.h"

void sa_state_free(sa_state *st)
{
    for (size_t i = 0; i < st->n; i++) {
        sa_free(st->v[i].rule_id);
        sa_free(st->v[i].file);
        sa_free(st->v[i].title);
    }
    sa_free(st->v);
    memset(st, 0, sizeof(*st));
}

void sa_changes_free(sa_changes *ch)
{
    sa_free(ch->added);
    sa_free(ch->resolved);
    memset(ch, 0, sizeof(*ch));
}

int sa_state_tracks(const sa_finding *f, sa_severity min)
{
    return !f->suppressed && f->rule->severity >= min && f->baseline != SA_BASE_UNCHANGED;
}

typedef struct ctx {
    const char *path;
    sa_linemap lines;
    char *err;
    size_t errcap;
} ctx;

__attribute__((format(printf, 3, 4))) static int fail(ctx *c, size_t off, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    sa_linemap_errorv(&c->lines, c->path, off, c->err, c->errcap, "damaged state file: ", fmt,
                      ap);
    va_end(ap);
    return -1;
}

/* The string member k of the object o (its last occurrence), or NULL. */
static const sa_node *member(const sa_node *o, const char *k)
{
    return sa_map_get(o, k, strlen(k));
}

static int str_member(ctx *c, const sa_node *o, const char *k, const char **out)
{
    const sa_node *v = member(o, k);
    if (v == NULL)
        return fail(c, o->off, "entry without \"%s\"", k);
    if (v->type != SA_STR || memchr(v->str, '\0', v->len) != NULL)
        return fail(c, v->off, "\"%s\" must be a string", k);
    *out = v->str;
    return 0;
}

static int load_entry(ctx *c, const sa_node *e, sa_state_entry *se)
{
    const char *fp, *rule, *sev, *file, *title;
    if (e->type != SA_MAP)
        return fail(c, e->off, "each element of \"findings\" must be an object");
    if (str_member(c, e, "fingerprint", &fp) < 0 || str_member(c, e, "rule_id", &rule) < 0 ||
        str_member(c, e, "severity", &sev) < 0 || str_member(c, e, "file", &file) < 0 ||
        str_member(c, e, "title", &title) < 0)
        return -1;
    if (strlen(fp) != 16 || strspn(fp, "0123456789abcdef") != 16)
        return fail(c, member(e, "fingerprint")->off,
                    "\"fingerprint\" must be 16 lower-case hex digits");
    if (sa_severity_parse(sev, 0, &se->severity) < 0)
        return fail(c, member(e, "severity")->off,
                    "\"severity\" must be critical, high, medium, low or info");
    const sa_node *line = member(e, "line");
    if (line == NULL)
        return fail(c, e->off, "entry without \"line\"");
    char *end;
    errno = 0;
    unsigned long long l = line->type == SA_NUM ? strtoull(line->str, &end, 10) : 0;
    if (line->type != SA_NUM || errno || *end != '\0' || line->str[0] == '-' ||
        l > 0xffffffffULL)
        return fail(c, line->off, "\"line\" must be a number from 0 to 4294967295");
    memcpy(se->fingerprint, fp, 17);
    se->line = (unsigned)l;
    se->rule_id = sa_strdup(rule);
    se->file = sa_strdup(file);
    se->title = sa_strdup(title);
    if (se->rule_id == NULL || se->file == NULL || se->title == NULL) {
        snprintf(c->err, c->errcap, "out of memory");
        return -1;
    }
    return 0;
}

int sa_state_load(sa_state *st, const char *path, const sa_limits *lim, int *missing,
                  char *err, size_t errcap)
{
    memset(st, 0, sizeof(*st));
    *missing = 0;
    sa_buf buf;
    if (sa_read_user_file(path, lim->max_file_bytes, 0, &buf) < 0) {
        if (errno == ENOENT) {
            *missing = 1;
            return 0;
        }
        snprintf(err, errcap, "cannot read the state file %s: %s", path,
                 sa_read_user_file_error(errno));
        return -1;
    }
    ctx c = {.path = path, .err = err, .errcap = errcap};
    sa_doc *doc = sa_doc_new(buf.data ? buf.data : "", buf.len, lim);
    int rc = -1;
    if (doc == NULL || sa_linemap_init(&c.lines, doc->text, doc->len) < 0) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    if (sa_parse_json(doc, &perr) < 0) {
        if (perr.has_linecol)
            snprintf(err, errcap, "%s:%u:%u: damaged state file: %s", path, perr.line,
                     perr.col, perr.msg);
        else
            fail(&c, perr.off, "%s", perr.msg);
        goto done;
    }
    const sa_node *top = doc->root;
    if (top == NULL || top->type != SA_MAP) {
        fail(&c, top ? top->off : 0, "expected an object with \"secaudit_state\": %d",
             SA_STATE_VERSION);
        goto done;
    }
    const sa_node *ver = member(top, "secaudit_state");
    char want[16];
    snprintf(want, sizeof(want), "%d", SA_STATE_VERSION);
    if (ver == NULL || ver->type != SA_NUM || strcmp(ver->str, want) != 0) {
        fail(&c, ver ? ver->off : top->off, "expected \"secaudit_state\": %d",
             SA_STATE_VERSION);
        goto done;
    }
    const sa_node *fs = member(top, "findings");
    if (fs == NULL || fs->type != SA_LIST) {
        fail(&c, fs ? fs->off : top->off, "expected \"findings\": [...]");
        goto done;
    }
    st->v = sa_calloc(fs->count ? fs->count : 1, sizeof(*st->v));
    if (st->v == NULL) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    for (const sa_node *e = fs->first; e; e = e->next) {
        int r = load_entry(&c, e, &st->v[st->n]);
        st->n++;  /* its strings are freed with the state, complete or not */
        if (r < 0)
            goto done;
    }
    rc = 0;
done:
    sa_linemap_free(&c.lines);
    sa_doc_free(doc);
    sa_buf_free(&buf);
    if (rc < 0)
        sa_state_free(st);
    return rc;
}

static int cmp_entry(const void *a, const void *b)
{
    const sa_state_entry *x = a, *y = b;
    int c = strcmp(x->fingerprint, y->fingerprint);
    if (c)
        return c;
    c = strcmp(x->file, y->file);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

int sa_state_diff(const sa_result *res, sa_state *st, sa_severity min, sa_changes *ch)
{
    memset(ch, 0, sizeof(*ch));
    for (size_t i = 0; i < st->n; i++)
        st->v[i].matched = 0;
    if (st->n > 1)
        qsort(st->v, st->n, sizeof(*st->v), cmp_entry);
    ch->added = sa_calloc(res->n_findings ? res->n_findings : 1, sizeof(*ch->added));
    ch->resolved = sa_calloc(st->n ? st->n : 1, sizeof(*ch->resolved));
    if (ch->added == NULL || ch->resolved == NULL) {
        sa_changes_free(ch);
        return -1;
    }
    for (size_t i = 0; i < res->n_findings; i++) {
        const sa_finding *f = &res->findings[i];
        if (!sa_state_tracks(f, min))
            continue;
        size_t lo = 0, hi = st->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(st->v[mid].fingerprint, f->fingerprint) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        int found = 0;
        for (; lo < st->n && strcmp(st->v[lo].fingerprint, f->fingerprint) == 0; lo++)
            if (!st->v[lo].matched) {
                st->v[lo].matched = 1;
                found = 1;
                break;
            }
        if (!found)
            ch->added[ch->n_added++] = f;
    }
    for (size_t i = 0; i < st->n; i++) {
        if (st->v[i].matched)
            continue;
        /* a file that could not be assessed this time has not been fixed */
        for (size_t j = 0; j < res->n_errors && !st->v[i].matched; j++)
            if (strcmp(res->errors[j].file, st->v[i].file) == 0)
                st->v[i].matched = 2;
        if (!st->v[i].matched)
            ch->resolved[ch->n_resolved++] = &st->v[i];
    }
    return 0;
}

static json_t *kept_entry(const sa_state_entry *se, int *bad)
{
    json_t *e = json_object();
    if (e) {
        sa_jput(e, "fingerprint", json_string(se->fingerprint), bad);
        sa_jput(e, "rule_id", sa_jstr(se->rule_id), bad);
        sa_jput(e, "severity", json_string(sa_severity_name(se->severity)), bad);
        sa_jput(e, "file", sa_jstr(se->file), bad);
        sa_jput(e, "line", json_integer(se->line), bad);
        sa_jput(e, "title", sa_jstr(se->title), bad);
    }
    return e;
}

static int write_state(FILE *out, const sa_result *res, const sa_state *st, sa_severity min)
{
    int bad = 0;
    json_t *root = json_object();
    if (root == NULL)
        return -1;
    sa_jput(root, "secaudit_state", json_integer(SA_STATE_VERSION), &bad);
    json_t *tool = sa_jtool(&bad);
    sa_jput(root, "tool", tool, &bad);
    json_t *fs = json_array();
    for (size_t i = 0; fs && i < res->n_findings && !bad; i++) {
        const sa_finding *f = &res->findings[i];
        if (!sa_state_tracks(f, min))
            continue;
        json_t *e = json_object();
        if (e) {
            sa_jput(e, "fingerprint", json_string(f->fingerprint), &bad);
            sa_jput(e, "rule_id", sa_jstr(f->rule->id), &bad);
            sa_jput(e, "severity", json_string(sa_severity_name(f->rule->severity)), &bad);
            sa_jput(e, "file", sa_jstr(f->file), &bad);
            sa_jput(e, "line", json_integer(f->line), &bad);
            sa_jput(e, "title", sa_jstr(f->rule->title), &bad);
        }
        sa_jpush(fs, e, &bad);
    }
    for (size_t i = 0; fs && st && i < st->n && !bad; i++)
        if (st->v[i].matched == 2)
            sa_jpush(fs, kept_entry(&st->v[i], &bad), &bad);
    sa_jput(root, "findings", fs, &bad);
    return sa_jdump(out, root, bad);
}

int sa_state_save(const char *path, const sa_result *res, const sa_state *st,
                  sa_severity min, char *err, size_t errcap)
{
    const char *slash = strrchr(path, '/');
    char tmp[PATH_MAX];
    int n = slash ? snprintf(tmp, sizeof(tmp), "%.*s/.secaudit-state-XXXXXX",
                             (int)(slash - path), path)
                  : snprintf(tmp, sizeof(tmp), ".secaudit-state-XXXXXX");
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        snprintf(err, errcap, "cannot write the state file %s: path too long", path);
        return -1;
    }
    int fd = mkstemp(tmp);  /* mode 0600 */
    if (fd < 0) {
        snprintf(err, errcap, "cannot write the state file next to %s: %s", path,
                 strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int rc = -1;
    if (f == NULL) {
        close(fd);
    } else {
        errno = 0;
        if (fchmod(fd, 0600) == 0 && write_state(f, res, st, min) == 0 && fflush(f) == 0 &&
            fsync(fd) == 0)
            rc = 0;
        int e = errno;
        if (fclose(f) != 0)
            rc = -1;
        else
            errno = e;
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -1;
    }
    if (rc < 0) {
        snprintf(err, errcap, "cannot write the state file %s: %s", path,
                 errno ? strerror(errno) : "out of memory");
        unlink(tmp);
        return -1;
    }
    /* the rename is durable once the directory is */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
             slash ? path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
}
