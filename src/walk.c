/* walk.c — the safe, deterministic walk (see walk.h and HARDENING.md).
 *
 * Directories are opened relative to their held parent descriptor (openat, O_NOFOLLOW unless
 * following), their names read whole and sorted with strcmp, then visited depth-first. Every
 * entry is fstatat'ed without following links (unless asked); only directories are descended
 * and nothing but regular files is ever opened (sa_walk_open re-checks type, device and inode
 * on the open descriptor). Depth is bounded by lim->max_dir_depth, which also bounds the
 * descriptors held. When following links, a set of visited directories (dev, ino) makes every
 * directory entered once, so link loops and diamonds terminate.
 *
 * Excludes: a glob without '/' matches any single path component's name (so "*.bak" or
 * "node_modules" anywhere); a glob with '/' matches the path relative to the root
 * (FNM_PATHNAME). An excluded directory is not entered. With --one-file-system, directories on
 * another device are skipped quietly (like find -xdev). */
#include "secaudit/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secaudit/alloc.h"

typedef struct visited {
    dev_t *dev;
    ino_t *ino;
    size_t n, cap;
} visited;

typedef struct walker {
    const sa_walk_opts *o;
    sa_walk_file_fn on_file;
    sa_walk_notice_fn on_notice;
    void *ctx;
    const char *root;
    dev_t root_dev;
    visited seen;
    int stop;  /* a negative value from a callback, or -ENOMEM */
} walker;

static void notice(walker *w, const char *path, int err, const char *msg)
{
    if (w->on_notice)
        w->on_notice(w->ctx, path, err, msg);
}

/* 1 when (dev, ino) was seen before; else records it and returns 0 (-1 out of memory). */
static int seen_before(visited *v, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < v->n; i++)
        if (v->dev[i] == dev && v->ino[i] == ino)
            return 1;
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 64;
        dev_t *d = sa_realloc(v->dev, nc * sizeof(*d));
        if (d == NULL)
            return -1;
        v->dev = d;
        ino_t *i = sa_realloc(v->ino, nc * sizeof(*i));
        if (i == NULL)
            return -1;
        v->ino = i;
        v->cap = nc;
    }
    v->dev[v->n] = dev;
    v->ino[v->n] = ino;
    v->n++;
    return 0;
}

int sa_walk_excluded(const sa_walk_opts *opts, const char *rel, const char *name)
{
    for (size_t i = 0; i < opts->n_excludes; i++) {
        const char *g = opts->excludes[i];
        if (strchr(g, '/') == NULL) {
            if (fnmatch(g, name, 0) == 0)
                return 1;
        } else {
            while (*g == '/')
                g++;
            if (fnmatch(g, rel, FNM_PATHNAME) == 0)
                return 1;
        }
    }
    return 0;
}

/* root + "/" + rel with exactly one slash between them. */
static char *join(const char *root, const char *rel)
{
    size_t rl = strlen(root), l = strlen(rel);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    int slash = !(rl == 1 && root[0] == '/');
    char *p = sa_malloc(rl + (size_t)slash + l + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, root, rl);
    if (slash)
        p[rl] = '/';
    memcpy(p + rl + (size_t)slash, rel, l + 1);
    return p;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read and sort the names of the directory open at fd (which fdopendir takes over; a dup is
 * given). Returns the count, or -errno. */
static long read_names(int fd, char ***out)
{
    int dfd = dup(fd);
    if (dfd < 0)
        return -errno;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        int e = errno;
        close(dfd);
        return -e;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    long rc = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **v = sa_realloc(names, nc * sizeof(*v));
            if (v == NULL) {
                rc = -ENOMEM;
                break;
            }
            names = v;
            cap = nc;
        }
        if ((names[n] = sa_strdup(de->d_name)) == NULL) {
            rc = -ENOMEM;
            break;
        }
        n++;
    }
    if (rc == 0 && errno != 0 && de == NULL)
        rc = -errno;
    closedir(d);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            sa_free(names[i]);
        sa_free(names);
        return rc;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_name);
    *out = names;
    return (long)n;
}

static void walk_dir(walker *w, int dfd, const char *rel, unsigned depth);

/* Visit one entry of the directory open at dfd. */
static void visit(walker *w, int dfd, const char *name, const char *rel, unsigned depth)
{
    char *path = join(w->root, rel);
    if (path == NULL) {
        w->stop = -ENOMEM;
        return;
    }
    struct stat st;
    int flags = w->o->follow_symlinks ? 0 : AT_SYMLINK_NOFOLLOW;
    if (fstatat(dfd, name, &st, flags) != 0) {
        int e = errno;
        if (e == ENOENT && w->o->follow_symlinks &&
            fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            /* a dangling link: report it as the link it is */
        } else {
            if (e != ENOENT)
                notice(w, path, e, e == ELOOP ? "symbolic link loop; not assessed"
                                              : "cannot stat; not assessed");
            sa_free(path);
            return;
        }
    }
    if (sa_walk_excluded(w->o, rel, name)) {
        sa_free(path);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        sa_walk_entry e = {.root = w->root, .path = path, .rel = rel, .name = name,
                           .dirfd = dfd, .st = st};
        int r = w->on_file(w->ctx, &e);
        if (r < 0)
            w->stop = r;
        sa_free(path);
        return;
    }
    if (w->o->one_file_system && st.st_dev != w->root_dev) {
        sa_free(path);
        return;
    }
    if (depth + 1 > w->o->lim->max_dir_depth) {
        char msg[96];
        snprintf(msg, sizeof(msg), "directory depth limit (%u) reached; not descended",
                 w->o->lim->max_dir_depth);
        notice(w, path, 0, msg);
        sa_free(path);
        return;
    }
    if (w->o->follow_symlinks) {
        int s = seen_before(&w->seen, st.st_dev, st.st_ino);
        if (s < 0) {
            w->stop = -ENOMEM;
            sa_free(path);
            return;
        }
        if (s) {
            notice(w, path, ELOOP, "directory already visited (symbolic link loop); skipped");
            sa_free(path);
            return;
        }
    }
    int oflags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY;
    if (!w->o->follow_symlinks)
        oflags |= O_NOFOLLOW;
    int fd = openat(dfd, name, oflags);
    if (fd < 0) {
        int e = errno;
        if (e != ENOENT)
            notice(w, path, e, e == EACCES || e == EPERM ? "permission denied; not assessed"
                                                         : "cannot open directory; not assessed");
        sa_free(path);
        return;
    }
    struct stat dst;
    if (fstat(fd, &dst) != 0 || dst.st_dev != st.st_dev || dst.st_ino != st.st_ino) {
        notice(w, path, EINVAL, "directory replaced while being scanned; not assessed");
    } else {
        walk_dir(w, fd, rel, depth + 1);
    }
    close(fd);
    sa_free(path);
}

static void walk_dir(walker *w, int dfd, const char *rel, unsigned depth)
{
    char **names = NULL;
    long n = read_names(dfd, &names);
    if (n < 0) {
        if (n == -ENOMEM) {
            w->stop = -ENOMEM;
            return;
        }
        char *path = rel[0] ? join(w->root, rel) : sa_strdup(w->root);
        if (path) {
            notice(w, path, (int)-n, n == -EACCES || n == -EPERM
                                         ? "permission denied; not assessed"
                                         : "cannot read directory; not assessed");
            sa_free(path);
        }
        return;
    }
    for (long i = 0; i < n; i++) {
        if (w->stop == 0) {
            size_t rl = strlen(rel), nl = strlen(names[i]);
            char *crel = sa_malloc(rl + nl + 2);
            if (crel == NULL) {
                w->stop = -ENOMEM;
            } else {
                if (rl) {
                    memcpy(crel, rel, rl);
                    crel[rl] = '/';
                    memcpy(crel + rl + 1, names[i], nl + 1);
                } else {
                    memcpy(crel, names[i], nl + 1);
                }
                visit(w, dfd, names[i], crel, depth);
                sa_free(crel);
            }
        }
        sa_free(names[i]);
    }
    sa_free(names);
}

int sa_walk(const char *root, const sa_walk_opts *opts, sa_walk_file_fn on_file,
            sa_walk_notice_fn on_notice, void *ctx)
{
    walker w = {.o = opts, .on_file = on_file, .on_notice = on_notice, .ctx = ctx,
                .root = root};
    struct stat st;
    if (stat(root, &st) != 0)
        return -errno;
    w.root_dev = st.st_dev;
    if (!S_ISDIR(st.st_mode)) {
        /* a file root: open its parent directory, so sa_walk_open works as for any entry */
        const char *slash = strrchr(root, '/');
        const char *name = slash ? slash + 1 : root;
        int dfd = AT_FDCWD;
        if (slash) {
            size_t dl = slash == root ? 1 : (size_t)(slash - root);
            char *dir = sa_strndup(root, dl);
            if (dir == NULL)
                return -ENOMEM;
            dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            sa_free(dir);
            if (dfd < 0)
                return -errno;
        }
        if (*name == '\0') {
            if (dfd != AT_FDCWD)
                close(dfd);
            return -EISDIR;
        }
        /* the root is followed: it was named on purpose */
        sa_walk_entry e = {.root = root, .path = root, .rel = "", .name = name, .dirfd = dfd,
                           .st = st};
        int r = on_file(ctx, &e);
        if (dfd != AT_FDCWD)
            close(dfd);
        return r < 0 ? r : 0;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -errno;
    if (opts->follow_symlinks && seen_before(&w.seen, st.st_dev, st.st_ino) < 0) {
        close(fd);
        sa_free(w.seen.dev);
        sa_free(w.seen.ino);
        return -ENOMEM;
    }
    walk_dir(&w, fd, "", 0);
    close(fd);
    sa_free(w.seen.dev);
    sa_free(w.seen.ino);
    return w.stop < 0 ? w.stop : 0;
}

int sa_walk_open(const sa_walk_entry *e, int follow_symlinks)
{
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    /* a file root was followed on purpose; below it, links only when asked */
    if (!follow_symlinks && e->rel[0] != '\0')
        flags |= O_NOFOLLOW;
    if (!S_ISREG(e->st.st_mode))
        return -EINVAL;
    int fd = openat(e->dirfd, e->name, flags);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != e->st.st_dev ||
        st.st_ino != e->st.st_ino) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

int sa_buf_read_upto(sa_buf *buf, int fd, size_t want)
{
    while (buf->len < want) {
        size_t chunk = want - buf->len;
        if (chunk > 1024 * 1024)
            chunk = 1024 * 1024;
        if (buf->cap < buf->len + chunk + 1) {
            size_t nc = buf->cap ? buf->cap : 4096;
            while (nc < buf->len + chunk + 1) {
                if (nc > SIZE_MAX / 2)
                    return -ENOMEM;
                nc *= 2;
            }
            char *p = sa_realloc(buf->data, nc);
            if (p == NULL)
                return -ENOMEM;
            buf->data = p;
            buf->cap = nc;
        }
        ssize_t r = read(fd, buf->data + buf->len, chunk);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -errno;
        }
        if (r == 0) {
            buf->data[buf->len] = '\0';
            return 1;
        }
        buf->len += (size_t)r;
        buf->data[buf->len] = '\0';
    }
    return 0;
}

void sa_buf_free(sa_buf *buf)
{
    sa_free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
