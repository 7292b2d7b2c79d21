/* scan.c — the pipeline (see scan.h): for each entry the walk yields, detect the service by
 * path (and, for ambiguous names, by a sniff of the first 4 KiB), read it safely within the
 * size cap, parse it with its format's parser, build the service's view, run the service's
 * rules. One file's trouble is recorded and the scan goes on. */
#include "secaudit/scan.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rules/engine.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"
#include "secaudit/view.h"

enum { SNIFF_BYTES = 4096 };

/* ---- detection -------------------------------------------------------------------------- */
static int pattern_matches(const sa_filepat *f, const char *path)
{
    if (!f->has_slash) {
        const char *base = strrchr(path, '/');
        return fnmatch(f->glob, base ? base + 1 : path, 0) == 0;
    }
    size_t k = 1;
    for (const char *p = f->glob; *p; p++)
        k += *p == '/';
    /* the last k components of path */
    const char *p = path + strlen(path);
    size_t seen = 0;
    while (p > path) {
        p--;
        if (*p == '/' && ++seen == k) {
            p++;
            break;
        }
    }
    if (seen < k - 1)
        return 0;
    return fnmatch(f->glob, p, FNM_PATHNAME) == 0;
}

const sa_service *sa_detect(const sa_ruleset *rs, const char *path, const char *head,
                            int *needs_sniff)
{
    *needs_sniff = 0;
    for (size_t s = 0; s < rs->n_services; s++) {
        const sa_service *svc = rs->services[s];
        for (size_t i = 0; i < svc->n_files; i++)
            if (!svc->files[i].sniff_set && pattern_matches(&svc->files[i], path))
                return svc;
    }
    for (size_t s = 0; s < rs->n_services; s++) {
        const sa_service *svc = rs->services[s];
        for (size_t i = 0; i < svc->n_files; i++) {
            const sa_filepat *f = &svc->files[i];
            if (!f->sniff_set || !pattern_matches(f, path))
                continue;
            if (head == NULL) {
                *needs_sniff = 1;
                return NULL;
            }
            if (regexec(&f->sniff, head, 0, NULL, 0) == 0)
                return svc;
        }
    }
    return NULL;
}

/* ---- parsing ----------------------------------------------------------------------------- */
static int p_json(sa_doc *d, sa_perr *e) { return sa_parse_json(d, e); }
static int p_yaml(sa_doc *d, sa_perr *e) { return sa_parse_yaml(d, e); }
static int p_xml(sa_doc *d, sa_perr *e) { return sa_parse_xml(d, e); }
static int p_pghba(sa_doc *d, sa_perr *e) { return sa_parse_pghba(d, e); }
static int p_ini(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_GENERIC, e); }
static int p_systemd(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_SYSTEMD, e); }
static int p_env(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_ENV, e); }
static int p_pgconf(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_PGCONF, e); }
static int p_props(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_PROPERTIES, e); }

static const struct {
    const char *name;
    int (*fn)(sa_doc *, sa_perr *);
} parsers[] = {
    {"env", p_env},         {"ini", p_ini},         {"json", p_json},
    {"pgconf", p_pgconf},   {"pghba", p_pghba},     {"properties", p_props},
    {"systemd", p_systemd}, {"xml", p_xml},         {"yaml", p_yaml},
};

int sa_parse_format(const char *format, sa_doc *doc, sa_perr *err)
{
    for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++)
        if (strcmp(parsers[i].name, format) == 0)
            return parsers[i].fn(doc, err);
    err->off = 0;
    snprintf(err->msg, sizeof(err->msg), "no parser for format '%.40s'", format);
    return -1;
}

/* ---- the walk's callbacks ------------------------------------------------------------------ */
typedef struct scan_ctx {
    const sa_ruleset *rs;
    const sa_scan_opts *opts;
    sa_result *res;
    size_t seq;
    int oom;
} scan_ctx;

static const char *kind_name(mode_t m)
{
    if (S_ISLNK(m))
        return "a symbolic link";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    return "not a regular file";
}

static int note(scan_ctx *sc, const char *path, const char *msg)
{
    if (sa_result_add_notice(sc->res, path, msg) < 0) {
        sc->oom = 1;
        return -1;
    }
    return 0;
}

static int error(scan_ctx *sc, const char *path, unsigned line, unsigned col,
                 const sa_service *svc, const char *msg)
{
    if (sa_result_add_error(sc->res, path, line, col, svc ? svc->name : "", msg, sc->seq) < 0) {
        sc->oom = 1;
        return -1;
    }
    return 0;
}

/* Parse, view and evaluate one file's bytes. */
static int assess(scan_ctx *sc, const sa_walk_entry *e, const sa_service *svc,
                  const sa_buf *buf)
{
    int rc = 0;
    sa_linemap lines = {0};
    sa_doc *doc = sa_doc_new(buf->data, buf->len, &sc->opts->lim);
    sa_arena *scratch = sa_arena_new();
    if (doc == NULL || scratch == NULL || sa_linemap_init(&lines, buf->data, buf->len) < 0) {
        sc->oom = 1;
        rc = -1;
        goto done;
    }
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    if (sa_parse_format(svc->format, doc, &perr) < 0) {
        unsigned line = perr.line, col = perr.col;
        if (!perr.has_linecol)
            sa_linemap_pos(&lines, perr.off, &line, &col);
        char msg[320];
        snprintf(msg, sizeof(msg), "cannot parse as %s: %s", svc->format, perr.msg);
        rc = error(sc, e->path, line, col, svc, msg);
        goto done;
    }
    sa_node *view = doc->root;
    const sa_view *v = sa_view_find(svc->view ? svc->view : "tree");
    if (v && v->fn(doc, &view, &perr) < 0) {
        unsigned line = perr.line, col = perr.col;
        if (!perr.has_linecol)
            sa_linemap_pos(&lines, perr.off, &line, &col);
        rc = error(sc, e->path, line, col, svc, perr.msg);
        goto done;
    }
    sc->res->files_parsed++;
    if (view == NULL)
        goto done;
    const char *rel = e->rel[0] ? e->rel : e->name;
    sa_file_eval fe = {.svc = svc, .doc = doc, .view = view, .lines = &lines,
                       .file = e->path, .rel = rel, .st = &e->st, .seq = sc->seq,
                       .res = sc->res, .scratch = scratch};
    if (sa_engine_run(&fe) < 0) {
        sc->oom = 1;
        rc = -1;
    }
done:
    sa_linemap_free(&lines);
    sa_arena_free(scratch);
    sa_doc_free(doc);
    return rc;
}

static int on_file(void *ctx, const sa_walk_entry *e)
{
    scan_ctx *sc = ctx;
    sc->seq++;
    int regular = S_ISREG(e->st.st_mode);
    if (regular)
        sc->res->files_seen++;
    int needs_sniff = 0;
    const sa_service *svc = sa_detect(sc->rs, e->path, NULL, &needs_sniff);
    if (svc == NULL && !needs_sniff)
        return 0;
    char msg[300];
    if (!regular) {
        if (svc == NULL)
            return 0;
        snprintf(msg, sizeof(msg), "%s named like a %s file; not opened%s",
                 kind_name(e->st.st_mode), svc->title,
                 S_ISLNK(e->st.st_mode) ? " (use --follow-symlinks to follow it)" : "");
        return note(sc, e->path, msg);
    }
    int fd = sa_walk_open(e, sc->opts->follow_symlinks);
    if (fd < 0) {
        if (fd == -ENOENT)
            return 0;  /* vanished since the walk saw it */
        snprintf(msg, sizeof(msg), "cannot open: %s; not assessed",
                 fd == -EINVAL ? "the file was replaced while being scanned" : strerror(-fd));
        return svc ? error(sc, e->path, 0, 0, svc, msg) : note(sc, e->path, msg);
    }
    sa_buf buf = {0};
    int rc = 0;
    int r = sa_buf_read_upto(&buf, fd, SNIFF_BYTES);
    if (r >= 0 && svc == NULL) {
        char head[SNIFF_BYTES + 1];
        size_t n = buf.len < SNIFF_BYTES ? buf.len : SNIFF_BYTES;
        memcpy(head, buf.data ? buf.data : "", n);
        head[n] = '\0';
        svc = sa_detect(sc->rs, e->path, head, &needs_sniff);
        if (svc == NULL)
            goto done;
    }
    if (r == 0)
        r = sa_buf_read_upto(&buf, fd, sc->opts->lim.max_file_bytes + 1);
    if (r < 0) {
        snprintf(msg, sizeof(msg), "cannot read: %s; not assessed", strerror(-r));
        rc = error(sc, e->path, 0, 0, svc, msg);
        goto done;
    }
    if (buf.len > sc->opts->lim.max_file_bytes) {
        snprintf(msg, sizeof(msg),
                 "larger than the size limit of %zu bytes; not assessed (see --max-file-size)",
                 sc->opts->lim.max_file_bytes);
        rc = error(sc, e->path, 0, 0, svc, msg);
        goto done;
    }
    if (buf.data == NULL) {
        buf.data = sa_malloc(1);
        if (buf.data == NULL) {
            sc->oom = 1;
            rc = -1;
            goto done;
        }
        buf.data[0] = '\0';
    }
    rc = assess(sc, e, svc, &buf);
done:
    close(fd);
    sa_buf_free(&buf);
    return rc;
}

static void on_notice(void *ctx, const char *path, int err, const char *msg)
{
    scan_ctx *sc = ctx;
    (void)err;
    note(sc, path, msg);
}

int sa_scan(const sa_ruleset *rs, const sa_scan_opts *opts, sa_result *res)
{
    scan_ctx sc = {.rs = rs, .opts = opts, .res = res};
    res->roots = sa_calloc(opts->n_roots ? opts->n_roots : 1, sizeof(char *));
    if (res->roots == NULL)
        return -1;
    for (size_t i = 0; i < opts->n_roots; i++) {
        if ((res->roots[i] = sa_strdup(opts->roots[i])) == NULL)
            return -1;
        res->n_roots++;
    }
    sa_walk_opts wo = {.follow_symlinks = opts->follow_symlinks,
                       .one_file_system = opts->one_file_system,
                       .excludes = opts->excludes,
                       .n_excludes = opts->n_excludes,
                       .lim = &opts->lim};
    for (size_t i = 0; i < opts->n_roots && !sc.oom; i++) {
        int r = sa_walk(opts->roots[i], &wo, on_file, on_notice, &sc);
        if (r < 0 && !sc.oom) {
            char msg[300];
            snprintf(msg, sizeof(msg), "cannot scan: %s", strerror(-r));
            if (sa_result_add_error(res, opts->roots[i], 0, 0, "", msg, ++sc.seq) < 0)
                sc.oom = 1;
        }
    }
    sa_result_sort(res);
    return sc.oom ? -1 : 0;
}
