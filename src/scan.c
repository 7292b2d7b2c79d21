/* scan.c — the pipeline (see scan.h): for each entry the walk yields, detect the service by
 * path (and, for ambiguous names, by a sniff of the first 4 KiB), read it safely within the
 * size cap, parse it with its format's parser, build the service's view, run the service's
 * rules. One file's trouble is recorded and the scan goes on. */
#include "secaudit/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "rules/engine.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"
#include "secaudit/suppress.h"
#include "secaudit/view.h"

enum { SNIFF_BYTES = 4096 };

/* ---- detection -------------------------------------------------------------------------- */
/* fnmatch(glob, s, flags), after two cheap necessary conditions: s starts with the glob's
 * literal head and ends with its literal tail (no '*', '?', '[', ']' or '\\' in them).
 * Most files fail them, and fnmatch costs far more. */
static int glob_match(const char *glob, const char *s, int flags)
{
    size_t head = strcspn(glob, "*?[]\\"), gl = strlen(glob);
    if (strncmp(glob, s, head) != 0)
        return 0;
    if (glob[head] == '\0')
        return s[head] == '\0';
    size_t tail = 0;
    while (tail < gl - head && !strchr("*?[]\\", glob[gl - 1 - tail]))
        tail++;
    size_t sl = strlen(s);
    if (sl < head + tail || memcmp(s + sl - tail, glob + gl - tail, tail) != 0)
        return 0;
    return fnmatch(glob, s, flags) == 0;
}

static int pattern_matches(const sa_filepat *f, const char *path)
{
    if (!f->has_slash) {
        const char *base = strrchr(path, '/');
        return glob_match(f->glob, base ? base + 1 : path, 0);
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
    return glob_match(f->glob, p, FNM_PATHNAME);
}

const sa_service *sa_detect(const sa_ruleset *rs, const char *path, const char *head,
                            int *needs_sniff, const sa_filepat **pat)
{
    *needs_sniff = 0;
    for (size_t s = 0; s < rs->n_services; s++) {
        const sa_service *svc = rs->services[s];
        for (size_t i = 0; i < svc->n_files; i++)
            if (!svc->files[i].sniff_set && !svc->files[i].also &&
                pattern_matches(&svc->files[i], path)) {
                *pat = &svc->files[i];
                return svc;
            }
    }
    for (size_t s = 0; s < rs->n_services; s++) {
        const sa_service *svc = rs->services[s];
        for (size_t i = 0; i < svc->n_files; i++) {
            const sa_filepat *f = &svc->files[i];
            if (!f->sniff_set || f->also || !pattern_matches(f, path))
                continue;
            if (head == NULL) {
                *needs_sniff = 1;
                return NULL;
            }
            if (regexec(&f->sniff, head, 0, NULL, 0) == 0) {
                *pat = f;
                return svc;
            }
        }
    }
    return NULL;
}

/* The services that judge a file besides the one that claims it (`also:` patterns), in
 * service order, at most one pattern each; head as for sa_detect (NULL: sniffs not tried,
 * *needs_sniff set when one could match). Their number. */
static size_t detect_also(const sa_ruleset *rs, const sa_service *primary, const char *path,
                          const char *head, const sa_service **svcs, const sa_filepat **pats,
                          size_t max, int *needs_sniff)
{
    size_t n = 0;
    *needs_sniff = 0;
    for (size_t s = 0; s < rs->n_services && n < max; s++) {
        const sa_service *svc = rs->services[s];
        if (svc == primary)
            continue;
        for (size_t i = 0; i < svc->n_files; i++) {
            const sa_filepat *f = &svc->files[i];
            if (!f->also || !pattern_matches(f, path))
                continue;
            if (f->sniff_set && head == NULL) {
                *needs_sniff = 1;
                continue;
            }
            if (f->sniff_set && regexec(&f->sniff, head, 0, NULL, 0) != 0)
                continue;
            svcs[n] = svc;
            pats[n++] = f;
            break;
        }
    }
    return n;
}

/* ---- parsing ----------------------------------------------------------------------------- */
static int p_json(sa_doc *d, sa_perr *e) { return sa_parse_json(d, e); }
static int p_yaml(sa_doc *d, sa_perr *e) { return sa_parse_yaml(d, e); }
static int p_xml(sa_doc *d, sa_perr *e) { return sa_parse_xml(d, e); }
static int p_pghba(sa_doc *d, sa_perr *e) { return sa_parse_pghba(d, e); }
static int p_iptables(sa_doc *d, sa_perr *e) { return sa_parse_iptables(d, e); }
static int p_nginx(sa_doc *d, sa_perr *e) { return sa_parse_nginx(d, e); }
static int p_ini(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_GENERIC, e); }
static int p_systemd(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_SYSTEMD, e); }
static int p_env(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_ENV, e); }
static int p_pgconf(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_PGCONF, e); }
static int p_props(sa_doc *d, sa_perr *e) { return sa_parse_ini(d, SA_INI_PROPERTIES, e); }

static const struct {
    const char *name;
    int (*fn)(sa_doc *, sa_perr *);
} parsers[] = {
    {"env", p_env},         {"ini", p_ini},         {"iptables", p_iptables},
    {"json", p_json},       {"nginx", p_nginx},     {"pgconf", p_pgconf},
    {"pghba", p_pghba},     {"properties", p_props}, {"systemd", p_systemd},
    {"xml", p_xml},         {"yaml", p_yaml},
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
/* A claimed file, read and parsed; owns its bytes, tree and line map. */
typedef struct parsed_file {
    char *path, *rel;
    const char *view;  /* the view of the pattern that claimed it (NULL: the service's) */
    struct stat st;
    size_t seq;
    sa_buf buf;
    sa_doc *doc;
    sa_linemap lines;
} parsed_file;

/* The files of one directory that a `merge: directory` service reads as one configuration.
 * Groups are kept while the walk is inside their directory (a stack along the current
 * path), then evaluated. */
typedef struct group {
    const sa_service *svc;
    char *dir;  /* display path of the directory, with a trailing '/' */
    parsed_file *files;
    size_t n, cap;
} group;

enum { MAX_GROUP_FILES = 256 };

typedef struct scan_ctx {
    const sa_ruleset *rs;
    const sa_scan_opts *opts;
    sa_result *res;
    size_t seq;
    int oom;
    const char *root;  /* the root being walked */
    group *groups;
    size_t n_groups, cap_groups;
    int parsed_counted;  /* the current file was counted in files_parsed */
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
    /* a file judged by two services would say the same thing twice */
    const sa_result *r = sc->res;
    if (r->n_notices && strcmp(r->notices[r->n_notices - 1].path, path) == 0 &&
        strcmp(r->notices[r->n_notices - 1].message, msg) == 0)
        return 0;
    if (sa_result_add_notice(sc->res, path, msg) < 0) {
        sc->oom = 1;
        return -1;
    }
    return 0;
}

static int error(scan_ctx *sc, const char *path, unsigned line, unsigned col,
                 const sa_service *svc, const char *msg)
{
    /* a file judged by two services fails the same way twice: once is enough */
    const sa_result *r = sc->res;
    const sa_error *last = r->n_errors ? &r->errors[r->n_errors - 1] : NULL;
    if (last && last->line == line && last->col == col && strcmp(last->file, path) == 0 &&
        strcmp(last->message, msg) == 0)
        return 0;
    if (sa_result_add_error(sc->res, path, line, col, svc ? svc->name : "", msg, sc->seq) < 0) {
        sc->oom = 1;
        return -1;
    }
    return 0;
}

static void parsed_free(parsed_file *f)
{
    sa_free(f->path);
    sa_free(f->rel);
    sa_buf_free(&f->buf);
    sa_doc_free(f->doc);
    sa_linemap_free(&f->lines);
}

static int report_perr(scan_ctx *sc, const parsed_file *f, const sa_service *svc,
                       const sa_perr *perr, const char *prefix)
{
    if (sa_alloc_failed(1)) {
        /* out of memory, not a bad file: the scan stops (exit 2) rather than report the
         * file as unparsable */
        sc->oom = 1;
        return -1;
    }
    unsigned line = perr->line, col = perr->col;
    if (!perr->has_linecol)
        sa_linemap_pos(&f->lines, perr->off, &line, &col);
    char msg[320];
    snprintf(msg, sizeof(msg), "%s%s", prefix, perr->msg);
    return error(sc, f->path, line, col, svc, msg);
}

/* Parse f's bytes with svc's parser. 1 parsed, 0 not parsed (an error is recorded), -1 out
 * of memory. */
static int parse_file(scan_ctx *sc, parsed_file *f, const sa_service *svc, const char *format)
{
    f->doc = sa_doc_new(f->buf.data, f->buf.len, &sc->opts->lim);
    if (f->doc == NULL || sa_linemap_init(&f->lines, f->buf.data, f->buf.len) < 0) {
        sc->oom = 1;
        return -1;
    }
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    sa_alloc_failed(1);
    if (sa_parse_format(format, f->doc, &perr) < 0) {
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "cannot parse as %s: ", format);
        return report_perr(sc, f, svc, &perr, prefix) < 0 ? -1 : 0;
    }
    if (sa_suppress_collect(sc->res, format, f->path, f->rel, f->seq, f->buf.data,
                            f->buf.len, &sc->opts->lim) < 0) {
        sc->oom = 1;
        return -1;
    }
    return 1;
}

/* The nodes moved into one configuration's tree from other files (included files, spliced
 * in place), each with the index of its file. */
typedef struct splice {
    const sa_node **members;
    size_t *member_file;
    size_t n, cap;
} splice;

/* View and evaluate the files of one configuration: a single file; a file with the files it
 * includes already spliced into its tree (sp says which nodes came from which file); or,
 * when sp is NULL and n > 1, a merged directory whose files' top-level members are joined
 * into one map (their tree nodes move there). */
static int evaluate(scan_ctx *sc, const sa_service *svc, parsed_file *files, size_t n,
                    const splice *sp)
{
    int rc = 0;
    sa_eval_file *ef = sa_calloc(n, sizeof(*ef));
    const sa_node **members = NULL;
    size_t *member_file = NULL, n_members = 0;
    sa_doc *mdoc = NULL;
    sa_arena *scratch = sa_arena_new();
    if (ef == NULL || scratch == NULL)
        goto oom;
    for (size_t i = 0; i < n; i++)
        ef[i] = (sa_eval_file){.file = files[i].path, .rel = files[i].rel,
                               .lines = &files[i].lines, .st = &files[i].st,
                               .seq = files[i].seq, .root = files[i].doc->root};
    sa_doc *doc = files[0].doc;
    if (sp != NULL) {
        members = sp->members;
        member_file = sp->member_file;
        n_members = sp->n;
    } else if (n > 1) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            if (files[i].doc->root && files[i].doc->root->type == SA_MAP)
                total += files[i].doc->root->count;
        mdoc = sa_doc_new(NULL, 0, &sc->opts->lim);
        members = sa_calloc(total ? total : 1, sizeof(*members));
        member_file = sa_calloc(total ? total : 1, sizeof(*member_file));
        sa_node *root = mdoc ? sa_node_new(mdoc, SA_MAP, 0) : NULL;
        if (root == NULL || members == NULL || member_file == NULL)
            goto oom;
        mdoc->root = root;
        for (size_t i = 0; i < n; i++) {
            sa_node *fr = files[i].doc->root;
            if (fr == NULL || fr->type != SA_MAP) {
                if (error(sc, files[i].path, 1, 1, svc,
                          "the top level must be an object to be merged with the other "
                          "files of its directory") < 0)
                    goto oom;
                continue;
            }
            for (sa_node *m = fr->first, *next; m; m = next) {
                next = m->next;
                members[n_members] = m;
                member_file[n_members++] = i;
                sa_node_append(root, m);
            }
            fr->first = fr->last = NULL;
            fr->count = 0;
        }
        doc = mdoc;
    }
    sa_node *view = doc->root;
    const char *vname = files[0].view ? files[0].view : svc->view;
    const sa_view *v = sa_view_find(vname ? vname : "tree");
    sa_perr perr;
    memset(&perr, 0, sizeof(perr));
    sa_alloc_failed(1);
    if (v && v->fn(doc, &view, &perr) < 0) {
        rc = report_perr(sc, &files[0], svc, &perr, "");
        goto done;
    }
    if (view == NULL)
        goto done;
    sa_file_eval fe = {.svc = svc, .tree = doc->root, .view = view, .files = ef,
                       .n_files = n, .members = members, .member_file = member_file,
                       .n_members = n_members, .res = sc->res, .scratch = scratch};
    if (sa_engine_run(&fe) < 0)
        goto oom;
    goto done;
oom:
    sc->oom = 1;
    rc = -1;
done:
    sa_doc_free(mdoc);
    if (sp == NULL) {
        sa_free(members);
        sa_free(member_file);
    }
    sa_free(ef);
    sa_arena_free(scratch);
    return rc;
}

static int flush_group(scan_ctx *sc, group *g)
{
    int rc = g->n ? evaluate(sc, g->svc, g->files, g->n, NULL) : 0;
    for (size_t i = 0; i < g->n; i++)
        parsed_free(&g->files[i]);
    sa_free(g->files);
    sa_free(g->dir);
    memset(g, 0, sizeof(*g));
    return rc;
}

/* Evaluate the groups of directories the walk has left (all of them when path is NULL). */
static int flush_groups(scan_ctx *sc, const char *path)
{
    int rc = 0;
    while (sc->n_groups > 0) {
        group *g = &sc->groups[sc->n_groups - 1];
        if (path && strncmp(path, g->dir, strlen(g->dir)) == 0)
            break;
        if (flush_group(sc, g) < 0)
            rc = -1;
        sc->n_groups--;
    }
    return rc;
}

/* Open rel below the directory dirfd one component at a time, never following a symbolic
 * link and never leaving it ("..", absolute paths refused). A descriptor or -errno. */
static int open_beneath(int dirfd, const char *rel)
{
    char part[256];
    int fd = dirfd, owned = 0;
    const char *p = rel;
    for (;;) {
        while (*p == '/')
            p++;
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || n >= sizeof(part) || (n == 2 && p[0] == '.' && p[1] == '.')) {
            if (owned)
                close(fd);
            return -EINVAL;
        }
        memcpy(part, p, n);
        part[n] = '\0';
        int last = slash == NULL || slash[1 + strspn(slash + 1, "/")] == '\0';
        int nfd = openat(fd, part, last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                              O_CLOEXEC
                                        : O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        int e = errno;
        if (owned)
            close(fd);
        if (nfd < 0)
            return -e;
        if (last)
            return nfd;
        fd = nfd;
        owned = 1;
        p = slash + 1;
    }
}

/* Read the regular file open at fd (closed here) and parse it as format into *f, which takes
 * display. 1 parsed, 0 not (an error or note is recorded), -1 out of memory. */
static int load_aux(scan_ctx *sc, const sa_service *svc, int fd, char *display, const char *rel,
                    const char *format, size_t seq, parsed_file *f)
{
    memset(f, 0, sizeof(*f));
    f->path = display;
    f->rel = sa_strdup(rel);
    f->seq = seq;
    int r = -EINVAL;
    if (fstat(fd, &f->st) == 0 && S_ISREG(f->st.st_mode))
        r = f->rel ? sa_buf_read_upto(&f->buf, fd, sc->opts->lim.max_file_bytes + 1) : -ENOMEM;
    close(fd);
    if (r >= 0 && f->buf.data == NULL && (f->buf.data = sa_malloc(1)) != NULL)
        f->buf.data[0] = '\0';
    if (f->rel == NULL || r == -ENOMEM || (r >= 0 && f->buf.data == NULL)) {
        parsed_free(f);
        return -1;
    }
    if (r < 0 || f->buf.len > sc->opts->lim.max_file_bytes) {
        char msg[200];
        snprintf(msg, sizeof(msg), "%s; not assessed",
                 r == -EINVAL ? "not a regular file"
                 : r < 0      ? strerror(-r)
                              : "larger than the size limit");
        int e = error(sc, f->path, 0, 0, svc, msg);
        parsed_free(f);
        return e < 0 ? -1 : 0;
    }
    r = parse_file(sc, f, svc, format);
    if (r <= 0)
        parsed_free(f);
    return r;
}

/* The drop-ins of the unit files[0] (the .conf files of UNIT.d next to it, in name order), parsed as
 * systemd files and appended: systemd applies them after the unit. */
static int add_dropins(scan_ctx *sc, const sa_service *svc, const sa_walk_entry *e,
                       parsed_file *files, size_t *n, size_t max)
{
    char dname[NAME_MAX + 1];
    if (snprintf(dname, sizeof(dname), "%s.d", e->name) >= (int)sizeof(dname))
        return 0;
    int dfd = openat(e->dirfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return 0;
    }
    char *names[64];
    size_t nn = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL && nn < 64) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".conf") != 0)
            continue;
        if ((names[nn] = sa_strdup(de->d_name)) == NULL) {
            rc = -1;
            break;
        }
        nn++;
    }
    for (size_t i = 1; i < nn; i++)  /* a few names: insertion sort */
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    for (size_t i = 0; i < nn; i++) {
        if (rc == 0 && *n < max) {
            int fd = openat(dirfd(d), names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
                                                    O_NOCTTY | O_CLOEXEC);
            size_t pl = strlen(e->path) + strlen(names[i]) + 4;
            size_t rl = strlen(files[0].rel) + strlen(names[i]) + 4;
            char *display = sa_malloc(pl), *rel = sa_malloc(rl);
            if (display == NULL || rel == NULL) {
                rc = -1;
            } else if (fd >= 0) {
                snprintf(display, pl, "%s.d/%s", e->path, names[i]);
                snprintf(rel, rl, "%s.d/%s", files[0].rel, names[i]);
                int r = load_aux(sc, svc, fd, display, rel, "systemd", files[0].seq,
                                 &files[*n]);
                display = NULL;
                fd = -1;
                if (r < 0)
                    rc = -1;
                else if (r > 0)
                    (*n)++;
            }
            if (fd >= 0)
                close(fd);
            sa_free(display);
            sa_free(rel);
        }
        sa_free(names[i]);
    }
    closedir(d);
    return rc;
}

/* The EnvironmentFile=s named in the [Service] section of the unit files files[0..units),
 * read inside the scanned root and parsed as env files, appended to files[]. A path is taken
 * as it is when the root contains it (scanning / or /etc), else below the root (a system
 * image such as fixtures/demo). A missing file named with a leading '-' is skipped, as
 * systemd does. */
static int add_env_files(scan_ctx *sc, const sa_service *svc, parsed_file *files,
                         size_t units, size_t *n, size_t max)
{
    for (size_t u = 0; u < units; u++) {
        const sa_node *root = files[u].doc->root;
        const sa_node *service = root ? sa_map_get(root, "Service", 7) : NULL;
        if (service == NULL || service->type != SA_MAP)
            continue;
        for (const sa_node *c = service->first; c && *n < max; c = c->next) {
            if (strcmp(c->key, "EnvironmentFile") != 0 || c->str == NULL || c->len == 0)
                continue;
            int optional = c->str[0] == '-';
            const char *path = c->str + optional;
            char msg[400];
            if (path[0] != '/' || strpbrk(path, "*?[") != NULL) {
                snprintf(msg, sizeof(msg),
                         "EnvironmentFile=%.200s is not a plain absolute path; not read", path);
                if (note(sc, files[u].path, msg) < 0)
                    return -1;
                continue;
            }
            size_t rl = strlen(sc->root);
            while (rl > 1 && sc->root[rl - 1] == '/')
                rl--;
            int is_slash = rl == 1 && sc->root[0] == '/';
            const char *rel = path + 1;
            if (!is_slash && strncmp(path, sc->root, rl) == 0 && path[rl] == '/')
                rel = path + rl + 1;
            int rfd = open(sc->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            int fd = rfd < 0 ? -errno : open_beneath(rfd, rel);
            if (rfd >= 0)
                close(rfd);
            if (fd < 0) {
                if (optional && fd == -ENOENT)
                    continue;
                snprintf(msg, sizeof(msg),
                         "EnvironmentFile=%.200s cannot be read inside the scanned tree (%s); "
                         "not assessed",
                         path, strerror(-fd));
                if (note(sc, files[u].path, msg) < 0)
                    return -1;
                continue;
            }
            size_t dl = rl + strlen(rel) + 2;
            char *display = sa_malloc(dl);
            if (display == NULL) {
                close(fd);
                return -1;
            }
            snprintf(display, dl, "%.*s/%s", (int)(is_slash ? 0 : rl), sc->root, rel);
            int r = load_aux(sc, svc, fd, display, rel, "env", files[0].seq, &files[*n]);
            if (r < 0)
                return -1;
            if (r > 0)
                (*n)++;
        }
    }
    return 0;
}

/* An IPv4 iptables-save file (rules.v4, sysconfig's iptables) is judged with its IPv6
 * sibling in the same directory (rules.v6, ip6tables), so the view can tell when IPv6 is
 * left open: the sibling is parsed into files[*n] (its "tables" renamed "ipv6_tables", so
 * the merge in evaluate() keeps both), and files[0]'s root gets a synthetic member
 * ipv6_sibling {name, status: present | missing | unparsed}. The sibling is claimed and
 * judged on its own as well, so a parse error found in it here is left to that scan. */
static int add_ipv6_sibling(scan_ctx *sc, const sa_service *svc, const sa_walk_entry *e,
                            parsed_file *files, size_t *n)
{
    const char *sib = strcmp(e->name, "rules.v4") == 0   ? "rules.v6"
                      : strcmp(e->name, "iptables") == 0 ? "ip6tables"
                                                         : NULL;
    sa_node *root = files[0].doc->root;
    if (sib == NULL || root == NULL || root->type != SA_MAP)
        return 0;
    const char *status = "unparsed";
    int fd = openat(e->dirfd, sib, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        status = "missing";
    } else if (fd >= 0) {
        size_t dl = strlen(e->path) - strlen(e->name), rl = strlen(files[0].rel);
        size_t rdl = rl >= strlen(e->name) ? rl - strlen(e->name) : 0;
        char *display = sa_malloc(dl + strlen(sib) + 1), *rel = sa_malloc(rdl + strlen(sib) + 1);
        if (display == NULL || rel == NULL) {
            close(fd);
            sa_free(display);
            sa_free(rel);
            return -1;
        }
        snprintf(display, dl + strlen(sib) + 1, "%.*s%s", (int)dl, e->path, sib);
        snprintf(rel, rdl + strlen(sib) + 1, "%.*s%s", (int)rdl, files[0].rel, sib);
        size_t n_err = sc->res->n_errors;
        int r = load_aux(sc, svc, fd, display, rel, "iptables", files[0].seq, &files[*n]);
        sa_free(rel);
        if (r < 0)
            return -1;
        while (sc->res->n_errors > n_err) {
            sa_error *x = &sc->res->errors[--sc->res->n_errors];
            sa_free(x->file);
            sa_free(x->service);
            sa_free(x->message);
        }
        sa_node *t = r > 0 ? files[*n].doc->root : NULL;
        if (t && t->type == SA_MAP && t->first && t->first->key &&
            strcmp(t->first->key, "tables") == 0) {
            sa_node_set_static_key(t->first, "ipv6_tables", t->first->key_off);
            (*n)++;
            status = "present";
        } else if (r > 0) {
            parsed_free(&files[*n]);
        }
    }
    sa_doc *doc = files[0].doc;
    sa_node *m = sa_node_new(doc, SA_MAP, root->off);
    sa_node *name = sa_node_scalar(doc, SA_STR, root->off, sib, strlen(sib));
    sa_node *st = sa_node_scalar(doc, SA_STR, root->off, status, strlen(status));
    if (m == NULL || name == NULL || st == NULL)
        return sa_doc_over_budget(doc) ? 0 : -1;
    sa_node_set_static_key(m, "ipv6_sibling", root->off);
    sa_node_set_static_key(name, "name", root->off);
    sa_node_set_static_key(st, "status", root->off);
    m->flags |= SA_NODE_SYNTH;
    sa_node_append(m, name);
    sa_node_append(m, st);
    sa_node_append(root, m);
    return 0;
}

/* ---- includes -----------------------------------------------------------------------------
 * nginx, postgresql.conf and pg_hba.conf include other files. The included files are read
 * inside the scanned tree (as EnvironmentFile=s are), parsed with the including file's
 * format, and their top-level content is spliced into the including tree in place of the
 * include directive, so rules see the configuration the server reads, in its order (pg_hba's
 * first match, postgresql.conf's last setting wins, nginx's inheritance); every spliced node
 * remembers its file, so findings point at the included file's own lines. */
enum { MAX_CONF_FILES = 4096 };

/* One configuration read from several files: files[0] is the one the walk claimed. */
typedef struct conf {
    parsed_file *files;
    size_t n, cap;
    size_t bytes;  /* read for it so far: at most the file size limit in all (a file that
                      includes itself many times costs no more than one large file) */
    splice sp;
} conf;

static void conf_free(conf *c)
{
    for (size_t i = 0; i < c->n; i++)
        parsed_free(&c->files[i]);
    sa_free(c->files);
    sa_free(c->sp.members);
    sa_free(c->sp.member_file);
    memset(c, 0, sizeof(*c));
}

/* Room for one more file in c. 0, or -1 when out of memory. */
static int conf_reserve(conf *c)
{
    if (c->n < c->cap)
        return 0;
    size_t nc = c->cap ? c->cap * 2 : 8;
    parsed_file *v = sa_realloc(c->files, nc * sizeof(*v));
    if (v == NULL)
        return -1;
    c->files = v;
    c->cap = nc;
    return 0;
}

static int splice_add(splice *sp, const sa_node *node, size_t file)
{
    if (sp->n == sp->cap) {
        size_t nc = sp->cap ? sp->cap * 2 : 16;
        const sa_node **m = sa_realloc(sp->members, nc * sizeof(*m));
        if (m == NULL)
            return -1;
        sp->members = m;
        size_t *f = sa_realloc(sp->member_file, nc * sizeof(*f));
        if (f == NULL)
            return -1;
        sp->member_file = f;
        sp->cap = nc;
    }
    sp->members[sp->n] = node;
    sp->member_file[sp->n++] = file;
    return 0;
}

/* The file of c whose content holds node (0 when it was not spliced in). */
static size_t conf_file_of(const conf *c, const sa_node *node)
{
    for (; node; node = node->parent)
        for (size_t i = c->sp.n; i-- > 0;)
            if (c->sp.members[i] == node)
                return c->sp.member_file[i];
    return 0;
}

/* Move every child of from into container, before at (at the end when at is NULL), each
 * remembered as file's. */
static int splice_in(conf *c, sa_node *container, sa_node *at, sa_node *from, size_t file)
{
    sa_node *prev = at == NULL ? container->last : NULL;
    if (at != NULL)
        for (sa_node *k = container->first; k != at; k = k->next)
            prev = k;
    for (sa_node *k = from->first, *next; k; k = next) {
        next = k->next;
        if (splice_add(&c->sp, k, file) < 0)
            return -1;
        k->parent = container;
        k->next = at;
        if (prev)
            prev->next = k;
        else
            container->first = k;
        if (at == NULL)
            container->last = k;
        prev = k;
        container->count++;
    }
    from->first = from->last = NULL;
    from->count = 0;
    return 0;
}

static void unlink_child(sa_node *container, sa_node *node)
{
    sa_node *prev = NULL;
    for (sa_node *k = container->first; k && k != node; k = k->next)
        prev = k;
    if (prev)
        prev->next = node->next;
    else
        container->first = node->next;
    if (container->last == node)
        container->last = prev;
    container->count--;
    node->next = NULL;
    node->parent = NULL;
}

/* The directory part of a path (without the trailing '/'; "" for a bare name). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return sa_strdup("");
    return sa_strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = sa_malloc(la + lb + 2);
    if (s == NULL)
        return NULL;
    memcpy(s, a, la);
    size_t o = la;
    if (la && a[la - 1] != '/' && lb)
        s[o++] = '/';
    memcpy(s + o, b, lb + 1);
    return s;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum inc_kind { INC_FILE, INC_OPTIONAL, INC_DIR, INC_GLOB };

/* c->files[c->n] was just read: count it in files_parsed when it is part of the service's own
 * configuration (not pg_hba's look at postgresql.conf, which is assessed on its own) and not
 * already read for this configuration (a snippet included by several servers). */
static void added(scan_ctx *sc, const sa_service *svc, const char *format, conf *c)
{
    const struct stat *st = &c->files[c->n].st;
    int fresh = strcmp(format, svc->format) == 0;
    for (size_t i = 0; fresh && i < c->n; i++)
        fresh = c->files[i].st.st_dev != st->st_dev || c->files[i].st.st_ino != st->st_ino;
    if (fresh)
        sc->res->files_parsed++;
    c->bytes += c->files[c->n].buf.len;
    c->n++;
}

/* The scan root as a directory, without trailing '/': a root that is a file stands for its
 * directory. NULL when out of memory. */
static char *root_dir(const scan_ctx *sc, const conf *c)
{
    char *r = strcmp(c->files[0].path, sc->root) == 0 ? dir_of(sc->root) : sa_strdup(sc->root);
    size_t rl = r ? strlen(r) : 0;
    while (rl > 1 && r[rl - 1] == '/')
        r[--rl] = '\0';
    return r;
}

/* An absolute path as a path below rootdir: inside the root when the root contains it (a
 * scan of / or /etc), else below it as in a system image (a scan of fixtures/demo). */
static const char *in_root(const char *rootdir, const char *abs)
{
    size_t rl = strlen(rootdir);
    if (!(rl == 1 && rootdir[0] == '/') && strncmp(abs, rootdir, rl) == 0 && abs[rl] == '/')
        return abs + rl + 1;
    return abs + 1;
}

/* The display path of rel below rootdir. */
static char *show(const char *rootdir, const char *rel)
{
    return strcmp(rootdir, "/") == 0 ? join("/", rel) : join(rootdir, rel);
}

/* rel with "." and "x/.." removed, in place; -1 when it climbs above its start. */
static int normalize(char *rel)
{
    char *out = rel;
    const char *p = rel;
    while (*p) {
        while (*p == '/')
            p++;
        const char *e = p + strcspn(p, "/");
        size_t n = (size_t)(e - p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (out == rel)
                return -1;
            while (out > rel && out[-1] != '/')
                out--;
            if (out > rel)
                out--;
        } else {
            if (out != rel)
                *out++ = '/';
            memmove(out, p, n);
            out += n;
        }
        p = e;
    }
    *out = '\0';
    return 0;
}

/* An included name that is a symbolic link (Debian's sites-enabled/default): nginx and
 * PostgreSQL follow it, so its target is read, when it lies inside the scanned tree. dfd is
 * the directory holding the link, dir_rel that directory below rootdir. A descriptor with
 * *rel (sa_malloc'd) the target below rootdir, or -errno (-EXDEV: the target is outside). */
static int follow_link(const char *rootdir, int dfd, const char *dir_rel, const char *name,
                       char **rel)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    char *r = target[0] == '/' ? sa_strdup(in_root(rootdir, target)) : join(dir_rel, target);
    if (r == NULL)
        return -ENOMEM;
    if (normalize(r) < 0 || r[0] == '\0') {
        sa_free(r);
        return -EXDEV;  /* above the root */
    }
    int rfd = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int fd = rfd < 0 ? -errno : open_beneath(rfd, r);
    if (rfd >= 0)
        close(rfd);
    if (fd < 0) {
        sa_free(r);
        return fd;
    }
    *rel = r;
    return fd;
}

/* Read the files an include names into c (appended; *first and *count say which), parsed as
 * format. path is absolute (inside the scanned tree, as for EnvironmentFile=) or relative to
 * the directory base (a display path and its path relative to the scan root). A wildcard is
 * allowed in the last component (kind INC_GLOB; INC_DIR reads a directory's *.conf files),
 * matches are read in name order. What cannot be read is a notice on from, not an error. */
static int read_include(scan_ctx *sc, const sa_service *svc, const char *format, conf *c,
                        const char *from, const char *base_disp, const char *base_rel,
                        const char *path, enum inc_kind kind, size_t *first, size_t *count)
{
    char msg[600];
    *first = c->n;
    *count = 0;
    char *dpath = NULL, *rpath = NULL, *opendir_at = NULL, *sub = NULL;
    int rc = 0, fd = -1;
    DIR *d = NULL;
    char **names = NULL;
    size_t nn = 0;
    char *rootdir = root_dir(sc, c);
    if (rootdir == NULL)
        return -1;
    if (path[0] == '/') {
        const char *rel = in_root(rootdir, path);
        opendir_at = sa_strdup(rootdir);
        sub = sa_strdup(rel);
        rpath = sa_strdup(rel);
        dpath = show(rootdir, rel);
    } else {
        opendir_at = sa_strdup(base_disp[0] ? base_disp : ".");
        sub = sa_strdup(path);
        rpath = join(base_rel, path);
        dpath = join(base_disp, path);
    }
    if (opendir_at == NULL || sub == NULL || rpath == NULL || dpath == NULL)
        goto oom;
    /* split off the last component when it is a pattern or a directory to list */
    char *last = strrchr(sub, '/');
    const char *pattern = kind == INC_DIR ? "*.conf" : NULL;
    if (kind == INC_GLOB && strpbrk(last ? last + 1 : sub, "*?[") != NULL) {
        pattern = last ? last + 1 : sub;
        if (last)
            *last = '\0';
        else
            sub[0] = '\0';
        char *rs = strrchr(rpath, '/'), *ds = strrchr(dpath, '/');
        if (rs)
            *rs = '\0';
        else
            rpath[0] = '\0';
        if (ds)
            *ds = '\0';
    } else if (kind == INC_GLOB) {
        kind = INC_FILE;
    }
    if (strpbrk(sub, "*?[") != NULL) {
        snprintf(msg, sizeof(msg),
                 "include %.300s: a wildcard before the last component is not followed; not "
                 "assessed", path);
        rc = note(sc, from, msg);
        goto done;
    }
    int rfd = open(opendir_at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fd = rfd < 0 ? -errno : sub[0] ? open_beneath(rfd, sub) : dup(rfd);
    if (rfd >= 0)
        close(rfd);
    if (fd == -ELOOP && pattern == NULL) {
        /* the named file is a symbolic link: follow it inside the tree */
        char *dir_rel = dir_of(rpath), *target = NULL;
        const char *base = strrchr(rpath, '/') ? strrchr(rpath, '/') + 1 : rpath;
        int r0 = open(rootdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int dfd = r0 < 0 || dir_rel == NULL ? -1 : dir_rel[0] ? open_beneath(r0, dir_rel)
                                                               : dup(r0);
        if (r0 >= 0)
            close(r0);
        fd = dfd < 0 ? -ELOOP : follow_link(rootdir, dfd, dir_rel, base, &target);
        if (dfd >= 0)
            close(dfd);
        sa_free(dir_rel);
        if (fd == -ENOMEM)
            goto oom;
        if (fd >= 0) {
            sa_free(rpath);
            sa_free(dpath);
            rpath = target;
            dpath = show(rootdir, target);
            if (dpath == NULL)
                goto oom;
        }
    }
    if (fd < 0) {
        if (kind == INC_OPTIONAL && fd == -ENOENT)
            goto done;
        if (pattern && kind == INC_GLOB && fd == -ENOENT)
            goto done;  /* nginx: a pattern that matches nothing, its directory included */
        snprintf(msg, sizeof(msg), "include %.300s cannot be read inside the scanned tree (%s); "
                 "not assessed", path, strerror(-fd));
        rc = note(sc, from, msg);
        goto done;
    }
    if (pattern == NULL) {
        if (c->n == MAX_CONF_FILES || c->bytes > sc->opts->lim.max_file_bytes)
            goto too_many;
        if (conf_reserve(c) < 0)
            goto oom;
        char *disp = dpath;
        dpath = NULL;
        int r = load_aux(sc, svc, fd, disp, rpath, format, c->files[0].seq, &c->files[c->n]);
        fd = -1;
        if (r < 0)
            goto oom;
        if (r > 0) {
            added(sc, svc, format, c);
            *count = 1;
        }
        goto done;
    }
    if ((d = fdopendir(fd)) == NULL) {
        snprintf(msg, sizeof(msg), "include %.300s: %s; not assessed", path, strerror(errno));
        rc = note(sc, from, msg);
        goto done;
    }
    fd = -1;
    size_t capn = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (fnmatch(pattern, de->d_name, FNM_PERIOD) != 0 || strcmp(de->d_name, ".") == 0 ||
            strcmp(de->d_name, "..") == 0)
            continue;
        if (nn == capn) {
            size_t nc = capn ? capn * 2 : 16;
            char **v = sa_realloc(names, nc * sizeof(*v));
            if (v == NULL)
                goto oom;
            names = v;
            capn = nc;
        }
        if ((names[nn] = sa_strdup(de->d_name)) == NULL)
            goto oom;
        nn++;
    }
    if (nn > 1)
        qsort(names, nn, sizeof(*names), cmp_name);
    for (size_t i = 0; i < nn; i++) {
        int ffd = openat(dirfd(d), names[i], O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
                                                O_CLOEXEC);
        char *linked = NULL;
        if (ffd < 0 && errno == ELOOP) {
            ffd = follow_link(rootdir, dirfd(d), rpath, names[i], &linked);
            if (ffd == -ENOMEM)
                goto oom;
            if (ffd < 0) {
                snprintf(msg, sizeof(msg), "include %.200s: %.100s is a link to a file that "
                         "cannot be read inside the scanned tree (%s); not assessed", path,
                         names[i], strerror(-ffd == EXDEV ? ENOENT : -ffd));
                if (note(sc, from, msg) < 0)
                    goto oom;
                continue;
            }
        }
        struct stat st;
        if (ffd < 0 || fstat(ffd, &st) < 0 || !S_ISREG(st.st_mode)) {
            if (ffd >= 0)
                close(ffd);  /* a subdirectory, a FIFO: nginx and PostgreSQL read files */
            sa_free(linked);
            continue;
        }
        if (c->n == MAX_CONF_FILES || c->bytes > sc->opts->lim.max_file_bytes) {
            close(ffd);
            goto too_many;
        }
        if (conf_reserve(c) < 0) {
            close(ffd);
            sa_free(linked);
            goto oom;
        }
        char *disp = linked ? show(rootdir, linked) : join(dpath, names[i]);
        char *rel = linked ? linked : join(rpath, names[i]);
        if (disp == NULL || rel == NULL) {
            close(ffd);
            sa_free(disp);
            sa_free(rel);
            goto oom;
        }
        int r = load_aux(sc, svc, ffd, disp, rel, format, c->files[0].seq, &c->files[c->n]);
        sa_free(rel);
        if (r < 0)
            goto oom;
        if (r > 0) {
            added(sc, svc, format, c);
            (*count)++;
        }
    }
    goto done;
too_many:
    snprintf(msg, sizeof(msg), "more than %d files or %zu bytes included (an include cycle?); "
             "the rest is not assessed", MAX_CONF_FILES, sc->opts->lim.max_file_bytes);
    rc = note(sc, c->files[0].path, msg);
    goto done;
oom:
    rc = -1;
done:
    if (d)
        closedir(d);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < nn; i++)
        sa_free(names[i]);
    sa_free(names);
    sa_free(opendir_at);
    sa_free(rootdir);
    sa_free(sub);
    sa_free(rpath);
    sa_free(dpath);
    return rc;
}

/* PostgreSQL's include directives (postgresql.conf and pg_hba.conf alike; the parsers give
 * pg_hba's keywords in lower case, and postgresql.conf's names are case-blind). */
static int include_kind(const char *word, enum inc_kind *kind)
{
    if (strcasecmp(word, "include") == 0)
        *kind = INC_FILE;
    else if (strcasecmp(word, "include_if_exists") == 0)
        *kind = INC_OPTIONAL;
    else if (strcasecmp(word, "include_dir") == 0)
        *kind = INC_DIR;
    else
        return 0;
    return 1;
}

/* Is node an include directive of format? Sets the path it names and its kind. */
static int include_of(const char *format, const sa_node *node, const sa_node *root,
                      const char **path, enum inc_kind *kind)
{
    if (strcmp(format, "nginx") == 0) {
        if (node->key == NULL || strcmp(node->key, "include") != 0 ||
            node->type != SA_LIST || node->first == NULL || node->first->type != SA_STR)
            return 0;
        *path = node->first->str;
        *kind = INC_GLOB;
        return 1;
    }
    if (strcmp(format, "pgconf") == 0) {
        if (node->parent != root || node->key == NULL || node->str == NULL)
            return 0;
        if (!include_kind(node->key, kind))
            return 0;
        *path = node->str;
        return 1;
    }
    if (strcmp(format, "pghba") == 0 && node->type == SA_MAP && node->parent &&
        node->parent->type == SA_LIST) {
        const sa_node *t = sa_map_get(node, "type", 4), *p = sa_map_get(node, "path", 4);
        if (t == NULL || p == NULL || t->str == NULL || p->str == NULL)
            return 0;
        if (!include_kind(t->str, kind))
            return 0;
        *path = p->str;
        return 1;
    }
    return 0;
}

/* The part of a parsed file that an include splices in: the records of a pg_hba file, the
 * top level of the others. */
static sa_node *content_of(const char *format, sa_node *root)
{
    if (root == NULL || root->type != SA_MAP)
        return NULL;
    if (strcmp(format, "pghba") == 0) {
        sa_node *r = sa_map_get(root, "records", 7);
        return r && r->type == SA_LIST ? r : NULL;
    }
    return root;
}

/* Resolve every include below top (a tree of c, whose own file is c->files[top_file]), in
 * document order, included files' own includes too. nginx resolves relative paths against
 * the main configuration's directory, PostgreSQL against the including file's. */
static int resolve_includes(scan_ctx *sc, const sa_service *svc, const char *format, conf *c,
                            sa_node *top, size_t top_file)
{
    int nginx = strcmp(format, "nginx") == 0;
    sa_node *n = top;
    while (n != NULL) {
        const char *path;
        enum inc_kind kind;
        if (n != top && include_of(format, n, top, &path, &kind)) {
            size_t f = conf_file_of(c, n);
            if (f == 0)
                f = top_file;
            const parsed_file *pf = &c->files[nginx ? top_file : f];
            char *bd = dir_of(pf->path), *br = dir_of(pf->rel);
            size_t first = 0, count = 0;
            int r = bd && br ? read_include(sc, svc, format, c, c->files[f].path, bd, br, path,
                                            kind, &first, &count)
                             : -1;
            sa_free(bd);
            sa_free(br);
            if (r < 0)
                return -1;
            sa_node *container = n->parent, *next = n->next, *firstnew = NULL;
            for (size_t i = first; i < first + count; i++) {
                sa_node *from = content_of(format, c->files[i].doc->root);
                if (from == NULL || from->first == NULL)
                    continue;
                if (firstnew == NULL)
                    firstnew = from->first;
                if (splice_in(c, container, n, from, i) < 0)
                    return -1;
            }
            unlink_child(container, n);
            /* go on with the spliced nodes (their own includes), then what followed */
            n = firstnew ? firstnew : next;
            if (n == NULL) {
                for (n = container; n && n != top && n->next == NULL;)
                    n = n->parent;
                n = n && n != top ? n->next : NULL;
            }
            continue;
        }
        if (n->first) {
            n = n->first;
            continue;
        }
        while (n && n != top && n->next == NULL)
            n = n->parent;
        n = n && n != top ? n->next : NULL;
    }
    return 0;
}


/* The last member of map named name, in any case (PostgreSQL's names are case-blind). */
static sa_node *get_nocase(const sa_node *map, const char *name)
{
    sa_node *hit = NULL;
    for (sa_node *m = map ? map->first : NULL; m; m = m->next)
        if (m->key && strcasecmp(m->key, name) == 0)
            hit = m;
    return hit;
}

/* postgresql.conf: its includes, then postgresql.auto.conf (ALTER SYSTEM), read last so its
 * settings win: in data_directory when the configuration sets it (Debian), else next to
 * postgresql.conf (a data directory holding both). A missing auto file is not a notice: a
 * cluster where ALTER SYSTEM was never used may have none, and /etc scans do not reach
 * /var/lib. */
static int resolve_pgconf(scan_ctx *sc, const sa_service *svc, conf *c, size_t top_file)
{
    sa_node *top = c->files[top_file].doc->root;
    if (top == NULL || resolve_includes(sc, svc, "pgconf", c, top, top_file) < 0)
        return -1;
    const sa_node *dd = get_nocase(top, "data_directory");
    char *auto_path = dd && dd->str && dd->len ? join(dd->str, "postgresql.auto.conf")
                                               : sa_strdup("postgresql.auto.conf");
    char *bd = dir_of(c->files[top_file].path), *br = dir_of(c->files[top_file].rel);
    size_t first = 0, count = 0;
    int r = auto_path && bd && br ? read_include(sc, svc, "pgconf", c,
                                                 c->files[top_file].path, bd, br, auto_path,
                                                 INC_OPTIONAL, &first, &count)
                                  : -1;
    sa_free(auto_path);
    sa_free(bd);
    sa_free(br);
    if (r < 0)
        return -1;
    if (count == 1 && c->files[first].doc->root &&
        splice_in(c, top, NULL, c->files[first].doc->root, first) < 0)
        return -1;
    return 0;
}

/* pg_hba.conf judged with its server's settings: postgresql.conf next to it (the layout of
 * Debian's /etc/postgresql/V/C and of a data directory), with its includes and auto file,
 * gives the records' document a member server.ssl (a copy of the effective setting that
 * points at it); no member when the file is not there or does not set ssl. */
static int add_hba_server(scan_ctx *sc, const sa_service *svc, conf *c)
{
    sa_doc *doc = c->files[0].doc;
    char *bd = dir_of(c->files[0].path), *br = dir_of(c->files[0].rel);
    size_t first = 0, count = 0;
    int r = bd && br ? read_include(sc, svc, "pgconf", c, c->files[0].path, bd, br,
                                    "postgresql.conf", INC_OPTIONAL, &first, &count)
                     : -1;
    sa_free(bd);
    sa_free(br);
    if (r < 0)
        return -1;
    if (count != 1 || doc->root == NULL || c->files[first].doc->root == NULL)
        return 0;
    sa_node *pgroot = c->files[first].doc->root;
    if (splice_add(&c->sp, pgroot, first) < 0 || resolve_pgconf(sc, svc, c, first) < 0)
        return -1;
    sa_node *server = sa_node_new(doc, SA_MAP, 0);
    if (server == NULL)
        return -1;
    server->flags |= SA_NODE_SYNTH;
    sa_node_set_static_key(server, "server", 0);
    sa_node_append(doc->root, server);
    const sa_node *ssl = get_nocase(pgroot, "ssl");
    if (ssl == NULL || ssl->str == NULL)
        return 0;
    sa_node *copy = sa_node_scalar(doc, ssl->type, ssl->off, ssl->str, ssl->len);
    if (copy == NULL)
        return -1;
    copy->flags |= SA_NODE_SYNTH;
    copy->origin = ssl;
    sa_node_set_static_key(copy, "ssl", ssl->key_off);
    sa_node_append(server, copy);
    return 0;
}

/* A file of a format with includes (nginx, pgconf, pghba), with what it includes and, for
 * pg_hba.conf, its server's ssl setting, evaluated as one configuration. Takes *f. */
static int assess_with_includes(scan_ctx *sc, const sa_service *svc, const char *format,
                                parsed_file *f)
{
    conf c = {0};
    if (conf_reserve(&c) < 0) {
        parsed_free(f);
        return -1;
    }
    c.files[0] = *f;
    c.n = 1;
    int rc;
    if (strcmp(format, "pgconf") == 0)
        rc = resolve_pgconf(sc, svc, &c, 0);
    else
        rc = resolve_includes(sc, svc, format, &c, c.files[0].doc->root, 0);
    if (rc == 0 && strcmp(format, "pghba") == 0)
        rc = add_hba_server(sc, svc, &c);
    if (rc == 0)
        rc = evaluate(sc, svc, c.files, c.n, &c.sp);
    conf_free(&c);
    return rc;
}

/* Evaluate files[0..n) as one configuration (unless reading them failed: rc < 0), then free
 * them. */
static int evaluate_all(scan_ctx *sc, const sa_service *svc, parsed_file *files, size_t n,
                        int rc)
{
    if (rc == 0)
        rc = evaluate(sc, svc, files, n, NULL);
    for (size_t i = 0; i < n; i++)
        parsed_free(&files[i]);
    if (rc < 0)
        sc->oom = 1;
    return rc;
}

/* Parse a claimed file and evaluate it, or keep it for its directory's group. Takes the
 * bytes in buf. */
static int assess(scan_ctx *sc, const sa_walk_entry *e, const sa_service *svc,
                  const char *format, const char *view, sa_buf *buf)
{
    parsed_file f = {.st = e->st, .seq = sc->seq, .buf = *buf, .view = view};
    memset(buf, 0, sizeof(*buf));
    f.path = sa_strdup(e->path);
    f.rel = sa_strdup(e->rel[0] ? e->rel : e->name);
    if (f.path == NULL || f.rel == NULL) {
        parsed_free(&f);
        sc->oom = 1;
        return -1;
    }
    int r = parse_file(sc, &f, svc, format);
    if (r > 0 && !sc->parsed_counted) {
        /* counted here only, once per file: a drop-in or environment file read with its
         * unit was, or will be, counted on its own, and a file several services judge is
         * one file */
        sc->res->files_parsed++;
        sc->parsed_counted = 1;
    }
    size_t el = strlen(e->name);
    if (r > 0 && strcmp(format, "systemd") == 0 && el > 8 &&
        strcmp(e->name + el - 8, ".service") == 0) {
        /* a unit, its drop-ins and the environment files they name are one configuration */
        enum { MAX_UNIT_FILES = 32 };
        parsed_file files[MAX_UNIT_FILES];
        size_t n = 1;
        files[0] = f;
        int rc = add_dropins(sc, svc, e, files, &n, MAX_UNIT_FILES / 2);
        if (rc == 0)
            rc = add_env_files(sc, svc, files, n, &n, MAX_UNIT_FILES);
        return evaluate_all(sc, svc, files, n, rc);
    }
    if (r > 0 && strcmp(format, "iptables") == 0) {
        /* an IPv4 rules file and its IPv6 sibling are judged together */
        parsed_file files[2];
        size_t n = 1;
        files[0] = f;
        int rc = add_ipv6_sibling(sc, svc, e, files, &n);
        return evaluate_all(sc, svc, files, n, rc);
    }
    if (r > 0 && (strcmp(format, "nginx") == 0 || strcmp(format, "pgconf") == 0 ||
                  strcmp(format, "pghba") == 0)) {
        int rc = assess_with_includes(sc, svc, format, &f);
        if (rc < 0)
            sc->oom = 1;
        return rc;
    }
    if (r <= 0 || !svc->merge_dir) {
        int rc = r < 0 ? -1 : r == 0 ? 0 : evaluate(sc, svc, &f, 1, NULL);
        parsed_free(&f);
        return rc;
    }
    /* merge: join the group of this directory (the top of the stack) or start one */
    size_t dl = strlen(e->path) - strlen(e->name);
    group *g = sc->n_groups ? &sc->groups[sc->n_groups - 1] : NULL;
    if (g == NULL || g->svc != svc || strlen(g->dir) != dl ||
        strncmp(g->dir, e->path, dl) != 0) {
        if (sc->n_groups == sc->cap_groups) {
            size_t nc = sc->cap_groups ? sc->cap_groups * 2 : 8;
            group *v = sa_realloc(sc->groups, nc * sizeof(*v));
            if (v == NULL)
                goto oom;
            sc->groups = v;
            sc->cap_groups = nc;
        }
        g = &sc->groups[sc->n_groups];
        memset(g, 0, sizeof(*g));
        g->svc = svc;
        if ((g->dir = sa_strndup(e->path, dl)) == NULL)
            goto oom;
        sc->n_groups++;
    }
    if (g->n == MAX_GROUP_FILES) {
        char msg[128];
        snprintf(msg, sizeof(msg), "more than %d %s files in one directory; not assessed",
                 MAX_GROUP_FILES, svc->title);
        int rc = error(sc, f.path, 0, 0, svc, msg);
        parsed_free(&f);
        return rc;
    }
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 4;
        parsed_file *v = sa_realloc(g->files, nc * sizeof(*v));
        if (v == NULL)
            goto oom;
        g->files = v;
        g->cap = nc;
    }
    g->files[g->n++] = f;
    return 0;
oom:
    parsed_free(&f);
    sc->oom = 1;
    return -1;
}

/* The per-file job: detect, read, parse, view, evaluate one entry of the walk into sc->res
 * (a file of a `merge: directory` service joins sc's group instead). sc->seq is the entry's
 * place in the walk. */
static int scan_entry(scan_ctx *sc, const sa_walk_entry *e)
{
    enum { MAX_ALSO = 4 };
    int regular = S_ISREG(e->st.st_mode);
    int needs_sniff = 0, also_sniff = 0;
    const sa_filepat *pat = NULL, *also_pat[MAX_ALSO];
    const sa_service *also[MAX_ALSO];
    const sa_service *svc = sa_detect(sc->rs, e->path, NULL, &needs_sniff, &pat);
    struct stat mst;
    if (svc && pat->included_by && fstatat(e->dirfd, pat->included_by, &mst, 0) == 0 &&
        S_ISREG(mst.st_mode))
        svc = NULL;  /* a fragment its main configuration includes: judged through it */
    size_t n_also = detect_also(sc->rs, svc, e->path, NULL, also, also_pat, MAX_ALSO,
                                &also_sniff);
    if (svc == NULL && !needs_sniff && n_also == 0 && !also_sniff)
        return 0;
    /* the service named in notes and errors about the file as a whole */
    const sa_service *claimer = svc ? svc : n_also ? also[0] : NULL;
    char msg[300];
    if (!regular) {
        if (claimer == NULL)
            return 0;
        snprintf(msg, sizeof(msg), "%s named like a %s file; not opened%s",
                 kind_name(e->st.st_mode), claimer->title,
                 S_ISLNK(e->st.st_mode) ? " (use --follow-symlinks to follow it)" : "");
        return note(sc, e->path, msg);
    }
    int fd = sa_walk_open(e, sc->opts->follow_symlinks);
    if (fd < 0) {
        if (fd == -ENOENT)
            return 0;  /* vanished since the walk saw it */
        snprintf(msg, sizeof(msg), "cannot open: %s; not assessed",
                 fd == -EINVAL ? "the file was replaced while being scanned" : strerror(-fd));
        return claimer ? error(sc, e->path, 0, 0, claimer, msg) : note(sc, e->path, msg);
    }
    sa_buf buf = {0}, copies[MAX_ALSO];
    memset(copies, 0, sizeof(copies));
    int rc = 0;
    int r = sa_buf_read_upto(&buf, fd, SNIFF_BYTES);
    if (r >= 0 && (svc == NULL || also_sniff)) {
        char head[SNIFF_BYTES + 1];
        size_t n = buf.len < SNIFF_BYTES ? buf.len : SNIFF_BYTES;
        memcpy(head, buf.data ? buf.data : "", n);
        head[n] = '\0';
        if (svc == NULL)
            svc = sa_detect(sc->rs, e->path, head, &needs_sniff, &pat);
        n_also = detect_also(sc->rs, svc, e->path, head, also, also_pat, MAX_ALSO,
                             &also_sniff);
        claimer = svc ? svc : n_also ? also[0] : NULL;
        if (claimer == NULL)
            goto done;
    }
    if (r == 0)
        r = sa_buf_read_upto(&buf, fd, sc->opts->lim.max_file_bytes + 1);
    if (r == -ENOMEM) {
        sc->oom = 1;  /* our memory, not the file: the scan stops */
        rc = -1;
        goto done;
    }
    if (r < 0) {
        snprintf(msg, sizeof(msg), "cannot read: %s; not assessed", strerror(-r));
        rc = error(sc, e->path, 0, 0, claimer, msg);
        goto done;
    }
    if (buf.len > sc->opts->lim.max_file_bytes) {
        snprintf(msg, sizeof(msg),
                 "larger than the size limit of %zu bytes; not assessed (see --max-file-size)",
                 sc->opts->lim.max_file_bytes);
        rc = error(sc, e->path, 0, 0, claimer, msg);
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
    /* every further claim gets its own copy of the bytes (assess takes the buffer) */
    for (size_t k = 0; k < n_also; k++) {
        if (svc == NULL && k == 0)
            continue;  /* the first further claim takes buf itself */
        copies[k].data = sa_malloc(buf.len + 1);
        if (copies[k].data == NULL) {
            sc->oom = 1;
            rc = -1;
            goto done;
        }
        memcpy(copies[k].data, buf.data, buf.len);
        copies[k].data[buf.len] = '\0';
        copies[k].len = buf.len;
        copies[k].cap = buf.len + 1;
    }
    sc->parsed_counted = 0;
    if (svc)
        rc = assess(sc, e, svc, pat->format ? pat->format : svc->format, pat->view, &buf);
    for (size_t k = 0; rc >= 0 && k < n_also; k++)
        rc = assess(sc, e, also[k],
                    also_pat[k]->format ? also_pat[k]->format : also[k]->format,
                    also_pat[k]->view, svc ? &copies[k] : k == 0 ? &buf : &copies[k]);
done:
    close(fd);
    sa_buf_free(&buf);
    for (size_t k = 0; k < MAX_ALSO; k++)
        sa_buf_free(&copies[k]);
    return rc;
}

static int on_file(void *ctx, const sa_walk_entry *e)
{
    scan_ctx *sc = ctx;
    sc->seq++;
    if (sc->n_groups && flush_groups(sc, e->path) < 0)
        return -1;
    if (S_ISREG(e->st.st_mode))
        sc->res->files_seen++;
    return scan_entry(sc, e);
}

static void on_notice(void *ctx, const char *path, int err, const char *msg)
{
    scan_ctx *sc = ctx;
    (void)err;
    note(sc, path, msg);
}

static int scan_parallel(const sa_ruleset *rs, const sa_scan_opts *opts, sa_result *res);

int sa_scan(const sa_ruleset *rs, const sa_scan_opts *opts, sa_result *res)
{
    if (opts->jobs > 1) {
        int r = scan_parallel(rs, opts, res);
        if (r != -2)
            return r;  /* -2: no thread could be started; scan in this one */
    }
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
        sc.root = opts->roots[i];
        int r = sa_walk(opts->roots[i], &wo, on_file, on_notice, &sc);
        if (flush_groups(&sc, NULL) < 0)
            sc.oom = 1;
        if (r == -ENOMEM)
            sc.oom = 1;
        if (r < 0 && !sc.oom) {
            char msg[300];
            snprintf(msg, sizeof(msg), "cannot scan: %s", strerror(-r));
            if (sa_result_add_error(res, opts->roots[i], 0, 0, "", msg, ++sc.seq) < 0)
                sc.oom = 1;
        }
    }
    flush_groups(&sc, NULL);
    sa_free(sc.groups);
    if (sa_result_sort(res) < 0)
        sc.oom = 1;
    return sc.oom ? -1 : 0;
}

/* ---- parallel scan ------------------------------------------------------------------------
 * The calling thread walks and detects; a pool of opts->jobs threads runs scan_entry on the
 * claimed files; results come back in walk order (pool.h) and are appended to the result as
 * the sequential scan would have made them, so every report is byte-identical whatever the
 * number of threads. Only findings, errors and notices are kept; each file's bytes and tree
 * are freed by the worker that made them. A job is one claimed entry, or the claimed files
 * of one directory that a `merge: directory` service reads as one configuration (submitted
 * when the walk leaves the directory, where the sequential scan evaluates the group), or a
 * notice of the walk (no work; it keeps its place in the order). */
#include "pool.h"

typedef struct job_entry {
    char *path, *rel, *name;
    struct stat st;
    size_t seq;
} job_entry;

typedef struct job {
    const sa_ruleset *rs;
    const sa_scan_opts *opts;
    const char *root;
    int dirfd;            /* a duplicate of the entries' directory descriptor, or -1 */
    job_entry *ents;
    size_t n, cap;
    size_t flush_seq;     /* the walk's position when a group is evaluated */
    const sa_service *svc;  /* a group's service; NULL for a single entry */
    char *dir;            /* a group's directory (display path with a trailing '/') */
    char *notice_path, *notice_msg;  /* a notice of the walk */
    sa_result res;
    int oom;
} job;

typedef struct par_ctx {
    const sa_ruleset *rs;
    const sa_scan_opts *opts;
    sa_result *res;
    const char *root;
    sa_pool *pool;
    size_t seq;
    int oom;
    job **groups;  /* open groups along the current path, innermost last */
    size_t n_groups, cap_groups;
} par_ctx;

static void job_free(job *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->n; i++) {
        sa_free(j->ents[i].path);
        sa_free(j->ents[i].rel);
        sa_free(j->ents[i].name);
    }
    sa_free(j->ents);
    if (j->dirfd >= 0)
        close(j->dirfd);
    sa_free(j->dir);
    sa_free(j->notice_path);
    sa_free(j->notice_msg);
    sa_result_free(&j->res);
    sa_free(j);
}

static job *job_new(par_ctx *pc)
{
    job *j = sa_calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->rs = pc->rs;
    j->opts = pc->opts;
    j->root = pc->root;
    j->dirfd = -1;
    return j;
}

static int job_add(job *j, const sa_walk_entry *e, size_t seq)
{
    /* the walk closes its descriptor when it leaves the directory: keep a duplicate */
    if (j->n == 0 && e->dirfd != AT_FDCWD &&
        (j->dirfd = fcntl(e->dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
        return -1;
    if (j->n == j->cap) {
        size_t nc = j->cap ? j->cap * 2 : 1;
        job_entry *v = sa_realloc(j->ents, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        j->ents = v;
        j->cap = nc;
    }
    job_entry *je = &j->ents[j->n];
    je->path = sa_strdup(e->path);
    je->rel = sa_strdup(e->rel);
    je->name = sa_strdup(e->name);
    je->st = e->st;
    je->seq = seq;
    j->n++;
    return je->path && je->rel && je->name ? 0 : -1;
}

/* In a worker: run the sequential per-file code on the job's entries into j->res. */
static void job_work(void *item)
{
    job *j = item;
    scan_ctx sc = {.rs = j->rs, .opts = j->opts, .res = &j->res, .root = j->root};
    for (size_t i = 0; i < j->n && !sc.oom; i++) {
        const job_entry *je = &j->ents[i];
        sa_walk_entry e = {.root = j->root, .path = je->path, .rel = je->rel,
                           .name = je->name, .dirfd = j->dirfd >= 0 ? j->dirfd : AT_FDCWD,
                           .st = je->st};
        sc.seq = je->seq;
        if (scan_entry(&sc, &e) < 0)
            sc.oom = 1;
    }
    sc.seq = j->flush_seq;
    if (flush_groups(&sc, NULL) < 0)
        sc.oom = 1;
    sa_free(sc.groups);
    j->oom = sc.oom;
}

/* In the walking thread, in walk order. */
static void job_done(void *ctx, void *item)
{
    par_ctx *pc = ctx;
    job *j = item;
    if (j->notice_msg && sa_result_add_notice(pc->res, j->notice_path, j->notice_msg) < 0)
        pc->oom = 1;
    if (j->oom || sa_result_take(pc->res, &j->res) < 0)
        pc->oom = 1;
    job_free(j);
}

/* Submit the groups the walk has left (all when path is NULL), innermost first. */
static void par_flush_groups(par_ctx *pc, const char *path)
{
    while (pc->n_groups > 0) {
        job *g = pc->groups[pc->n_groups - 1];
        if (path && strncmp(path, g->dir, strlen(g->dir)) == 0)
            break;
        g->flush_seq = pc->seq;
        sa_pool_submit(pc->pool, g, 1);
        pc->n_groups--;
    }
}

/* Detection as scan_entry does it, with a sniff of the first bytes where the name alone does
 * not decide. 1 with *merge set to the `merge: directory` service that claims e (or NULL),
 * 0 when no service claims it (nothing to do), 1 with *merge NULL when the sniff could not
 * read the file (the job reports it). */
static int detect_merge(par_ctx *pc, const sa_walk_entry *e, const sa_service **merge)
{
    int needs_sniff = 0;
    const sa_filepat *pat = NULL;
    const sa_service *svc = sa_detect(pc->rs, e->path, NULL, &needs_sniff, &pat);
    /* a file an `also:` pattern may claim is a job too (scan_entry decides, with the bytes) */
    const sa_service *a[1];
    const sa_filepat *ap[1];
    int also_sniff = 0;
    int also = detect_also(pc->rs, NULL, e->path, NULL, a, ap, 1, &also_sniff) > 0 ||
               also_sniff;
    *merge = NULL;
    if (svc || !needs_sniff) {
        *merge = svc && svc->merge_dir && S_ISREG(e->st.st_mode) ? svc : NULL;
        return svc != NULL || also;
    }
    if (!S_ISREG(e->st.st_mode))
        return also;  /* a sniff needs bytes: scan_entry says nothing either */
    int fd = sa_walk_open(e, pc->opts->follow_symlinks);
    if (fd < 0)
        return 1;
    char head[SNIFF_BYTES + 1];
    size_t n = 0;
    while (n < SNIFF_BYTES) {
        ssize_t r = read(fd, head + n, SNIFF_BYTES - n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            close(fd);
            return 1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    head[n] = '\0';
    svc = sa_detect(pc->rs, e->path, head, &needs_sniff, &pat);
    *merge = svc && svc->merge_dir ? svc : NULL;
    return svc != NULL || also;
}

static int par_on_file(void *ctx, const sa_walk_entry *e)
{
    par_ctx *pc = ctx;
    if (pc->oom)
        return -1;
    pc->seq++;
    if (pc->n_groups)
        par_flush_groups(pc, e->path);
    int regular = S_ISREG(e->st.st_mode);
    if (regular)
        pc->res->files_seen++;
    const sa_service *msvc;
    if (!detect_merge(pc, e, &msvc))
        return 0;
    job *j = NULL;
    if (msvc) {
        size_t dl = strlen(e->path) - strlen(e->name);
        job *g = pc->n_groups ? pc->groups[pc->n_groups - 1] : NULL;
        if (g == NULL || g->svc != msvc || strlen(g->dir) != dl ||
            strncmp(g->dir, e->path, dl) != 0) {
            if (pc->n_groups == pc->cap_groups) {
                size_t nc = pc->cap_groups ? pc->cap_groups * 2 : 8;
                job **v = sa_realloc(pc->groups, nc * sizeof(*v));
                if (v == NULL)
                    goto oom;
                pc->groups = v;
                pc->cap_groups = nc;
            }
            if ((g = job_new(pc)) == NULL)
                goto oom;
            pc->groups[pc->n_groups++] = g;
            g->svc = msvc;
            if ((g->dir = sa_strndup(e->path, dl)) == NULL)
                goto oom;
        }
        if (job_add(g, e, pc->seq) < 0)
            goto oom;
        return 0;
    }
    if ((j = job_new(pc)) == NULL || job_add(j, e, pc->seq) < 0)
        goto oom;
    j->flush_seq = pc->seq;
    sa_pool_submit(pc->pool, j, 1);
    return 0;
oom:
    job_free(j);
    pc->oom = 1;
    return -1;
}

static void par_on_notice(void *ctx, const char *path, int err, const char *msg)
{
    par_ctx *pc = ctx;
    (void)err;
    job *j = job_new(pc);
    if (j == NULL || (j->notice_path = sa_strdup(path)) == NULL ||
        (j->notice_msg = sa_strdup(msg)) == NULL) {
        job_free(j);
        pc->oom = 1;
        return;
    }
    sa_pool_submit(pc->pool, j, 0);
}

/* 0, -1 when out of memory, -2 when the pool could not be made (res untouched). */
static int scan_parallel(const sa_ruleset *rs, const sa_scan_opts *opts, sa_result *res)
{
    par_ctx pc = {.rs = rs, .opts = opts, .res = res};
    /* enough jobs per thread that a long file at the head of the order (whose result must
     * be taken first) does not leave the other threads idle */
    pc.pool = sa_pool_new(opts->jobs, 16 * (size_t)opts->jobs + 16, job_work, job_done, &pc);
    if (pc.pool == NULL)
        return -2;
    res->roots = sa_calloc(opts->n_roots ? opts->n_roots : 1, sizeof(char *));
    for (size_t i = 0; res->roots && i < opts->n_roots; i++) {
        if ((res->roots[i] = sa_strdup(opts->roots[i])) == NULL)
            break;
        res->n_roots++;
    }
    if (res->roots == NULL || res->n_roots < opts->n_roots) {
        sa_pool_free(pc.pool);
        return -1;
    }
    sa_walk_opts wo = {.follow_symlinks = opts->follow_symlinks,
                       .one_file_system = opts->one_file_system,
                       .excludes = opts->excludes,
                       .n_excludes = opts->n_excludes,
                       .lim = &opts->lim};
    for (size_t i = 0; i < opts->n_roots && !pc.oom; i++) {
        pc.root = opts->roots[i];
        int r = sa_walk(opts->roots[i], &wo, par_on_file, par_on_notice, &pc);
        if (pc.oom) {
            for (size_t g = 0; g < pc.n_groups; g++)
                job_free(pc.groups[g]);
            pc.n_groups = 0;
        }
        par_flush_groups(&pc, NULL);
        sa_pool_drain(pc.pool);
        if (r == -ENOMEM)
            pc.oom = 1;
        if (r < 0 && !pc.oom) {
            char msg[300];
            snprintf(msg, sizeof(msg), "cannot scan: %s", strerror(-r));
            if (sa_result_add_error(res, opts->roots[i], 0, 0, "", msg, ++pc.seq) < 0)
                pc.oom = 1;
        }
    }
    sa_pool_free(pc.pool);
    for (size_t g = 0; g < pc.n_groups; g++)
        job_free(pc.groups[g]);
    sa_free(pc.groups);
    if (sa_result_sort(res) < 0)
        pc.oom = 1;
    return pc.oom ? -1 : 0;
}
