/* walk.c — the safe, deterministic directory walk and the safe reads of the files it finds
 * (walk.h is the contract, HARDENING.md "Directory walk" the rules).
 *
 * How: each directory is opened relative to its parent's held descriptor (openat with
 * O_DIRECTORY, and O_NOFOLLOW unless following links), checked against the fstatat that chose
 * it (same dev/ino), its names are read whole, sorted with strcmp and then visited
 * depth-first, so the order never depends on the file system. Every entry is fstatat'ed
 * without following links (unless asked). Only directories are descended; everything else
 * goes to the caller, and nothing but a regular file is ever opened (sa_walk_open re-checks
 * type, device and inode on the open descriptor, so a FIFO or another file swapped in between
 * is refused, never read).
 *
 * Choices a caller may notice:
 * - The root is followed if it is a symlink (like find -H). A root that is not a directory is
 *   handed to on_file with rel "", path = the root as given, name = its last component and
 *   dirfd = an O_PATH descriptor of its parent (AT_FDCWD when the root has no '/').
 * - Display paths are root + "/" + rel with exactly one '/': "/" gives "/etc", "a/" "a/x".
 * - Depth: the root is level 0; a directory at level max_dir_depth + 1 is not entered
 *   (notice "directory depth limit (N) reached; not descended", err 0). N is capped at
 *   HARD_DIR_DEPTH whatever the limits say, to bound the C stack. One descriptor is held per
 *   level, plus one briefly while a directory is listed.
 * - A directory that is one of its own ancestors (dev, ino) is never re-entered (notice with
 *   ELOOP): a symlink loop when following, or a bind mount of a parent without following.
 *   When following, every directory is entered once: one reached again by another path
 *   (a "diamond") is skipped quietly, its content having been reported already.
 * - one_file_system: directories on another device than the root are skipped quietly
 *   (like find -xdev); files are not checked.
 * - Entries that vanish between listing and use (ENOENT) are skipped quietly. EACCES/EPERM
 *   give "permission denied; not assessed"; a directory replaced while being entered gives a
 *   notice; other errors give a notice naming the error. No single entry stops the walk; only
 *   a negative value from on_file or running out of memory does.
 * - With following on, a link that cannot be followed (dangling, or a link loop) is handed
 *   to on_file as the link it is (S_ISLNK).
 *
 * Excludes (sa_walk_excluded, fnmatch globs): a glob without '/' matches any single path
 * component's name, at any depth ("*.bak", "node_modules"); a glob with '/' matches the whole
 * path relative to the root with FNM_PATHNAME ('*' stops at '/'), and leading '/'s anchor it
 * at the root ("/a/b" is "a/b"). An excluded directory is not entered, so "a/b" also drops
 * everything below a/b. Excluded entries are not even stat'ed. The root itself is never
 * matched. */
#define _GNU_SOURCE 1 /* O_PATH (Linux): a file root's parent is held without read access */

#include "secaudit/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secaudit/alloc.h"

#ifndef O_PATH
#define O_PATH O_RDONLY
#endif

/* A ceiling under lim->max_dir_depth: each level costs two C stack frames. */
#define HARD_DIR_DEPTH 4096u
/* Largest single read(2) in sa_buf_read_upto. */
#define READ_CHUNK ((size_t)1 << 20)

typedef struct devino {
    dev_t dev;
    ino_t ino;
} devino;

/* An open-addressing hash set of (dev, ino); used only when following links. */
typedef struct dirset {
    devino *key;
    unsigned char *used;
    size_t n, cap;  /* cap is 0 or a power of two; n <= cap / 2 */
} dirset;

typedef struct walker {
    const sa_walk_opts *o;
    unsigned max_depth;
    sa_walk_file_fn on_file;
    sa_walk_notice_fn on_notice;
    void *ctx;
    const char *root;
    dev_t root_dev;
    devino *chain;  /* the directories being walked, root first (loop detection) */
    size_t chain_n, chain_cap;
    dirset seen;
    int stop;  /* a negative value from on_file, or -ENOMEM */
} walker;

static void notice(walker *w, const char *path, int err, const char *msg)
{
    if (w->on_notice)
        w->on_notice(w->ctx, path, err, msg);
}

/* A notice for err on path: "permission denied; not assessed" for EACCES/EPERM, else
 * "<what>: <strerror>; not assessed". */
static void notice_errno(walker *w, const char *path, int err, const char *what)
{
    if (err == EACCES || err == EPERM) {
        notice(w, path, err, "permission denied; not assessed");
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: %s; not assessed", what, strerror(err));
    notice(w, path, err, msg);
}

static size_t hash_devino(dev_t dev, ino_t ino)
{
    uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15u ^ (uint64_t)ino;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    return (size_t)h;
}

static int dirset_has(const dirset *s, dev_t dev, ino_t ino)
{
    if (s->cap == 0)
        return 0;
    for (size_t i = hash_devino(dev, ino) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->used[i])
            return 0;
        if (s->key[i].dev == dev && s->key[i].ino == ino)
            return 1;
    }
}

static void dirset_put(dirset *s, dev_t dev, ino_t ino)
{
    size_t i = hash_devino(dev, ino) & (s->cap - 1);
    while (s->used[i] && !(s->key[i].dev == dev && s->key[i].ino == ino))
        i = (i + 1) & (s->cap - 1);
    if (!s->used[i]) {
        s->used[i] = 1;
        s->key[i].dev = dev;
        s->key[i].ino = ino;
        s->n++;
    }
}

/* Adds (dev, ino), growing the table so it stays at most half full. 0, or -ENOMEM (the set
 * is unchanged then). */
static int dirset_add(dirset *s, dev_t dev, ino_t ino)
{
    if (s->n + 1 > s->cap / 2) {
        size_t nc = s->cap ? s->cap : 64;
        while (s->n + 1 > nc / 2) {
            if (nc > SIZE_MAX / 2 / sizeof(devino))
                return -ENOMEM;
            nc *= 2;
        }
        dirset ns = {.key = sa_malloc(nc * sizeof(devino)), .used = sa_calloc(nc, 1),
                     .cap = nc};
        if (ns.key == NULL || ns.used == NULL) {
            sa_free(ns.key);
            sa_free(ns.used);
            return -ENOMEM;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->used[i])
                dirset_put(&ns, s->key[i].dev, s->key[i].ino);
        sa_free(s->key);
        sa_free(s->used);
        *s = ns;
    }
    dirset_put(s, dev, ino);
    return 0;
}

/* Is (dev, ino) one of the directories being walked (an ancestor of the entry)? */
static int on_chain(const walker *w, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < w->chain_n; i++)
        if (w->chain[i].dev == dev && w->chain[i].ino == ino)
            return 1;
    return 0;
}

static int chain_push(walker *w, dev_t dev, ino_t ino)
{
    if (w->chain_n == w->chain_cap) {
        size_t nc = w->chain_cap ? w->chain_cap * 2 : 16;
        if (nc > SIZE_MAX / sizeof(devino))
            return -ENOMEM;
        devino *p = sa_realloc(w->chain, nc * sizeof(devino));
        if (p == NULL)
            return -ENOMEM;
        w->chain = p;
        w->chain_cap = nc;
    }
    w->chain[w->chain_n].dev = dev;
    w->chain[w->chain_n].ino = ino;
    w->chain_n++;
    return 0;
}

/* The exclude rules of the header comment. rel is the path relative to the root, name its
 * last component; empty globs never match. */
int sa_walk_excluded(const sa_walk_opts *opts, const char *rel, const char *name)
{
    if (opts == NULL || opts->excludes == NULL)
        return 0;
    for (size_t i = 0; i < opts->n_excludes; i++) {
        const char *g = opts->excludes[i];
        if (g == NULL || *g == '\0')
            continue;
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

/* a + "/" + b (sep = 1) or a + b (sep = 0), freshly allocated; NULL when out of memory. */
static char *concat(const char *a, size_t al, int sep, const char *b)
{
    size_t bl = strlen(b);
    if (al > SIZE_MAX - 2 - bl)
        return NULL;
    char *p = sa_malloc(al + (size_t)sep + bl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, a, al);
    if (sep)
        p[al] = '/';
    memcpy(p + al + (size_t)sep, b, bl + 1);
    return p;
}

/* The display path: the root with its trailing '/'s dropped, one '/', rel ("" → the root as
 * given). "/" + "etc" is "/etc", "a//" + "x" is "a/x". */
static char *display_path(const char *root, const char *rel)
{
    if (*rel == '\0')
        return sa_strdup(root);
    size_t rl = strlen(root);
    while (rl > 1 && root[rl - 1] == '/')
        rl--;
    if (rl == 1 && root[0] == '/')
        return concat(root, 1, 0, rel);
    return concat(root, rl, 1, rel);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sa_free(names[i]);
    sa_free(names);
}

/* Lists the directory open at fd ("." and ".." left out) into *out, sorted with strcmp.
 * fd stays open and usable: the listing goes through a duplicate that fdopendir owns.
 * Returns the count (*out owned by the caller, NULL when 0), or -errno. */
static long read_names(int fd, char ***out)
{
    *out = NULL;
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
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
    long rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = -errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            if (nc > SIZE_MAX / sizeof(*names) || nc > (size_t)LONG_MAX) {
                rc = -ENOMEM;
                break;
            }
            char **v = sa_realloc(names, nc * sizeof(*names));
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
    closedir(d);
    if (rc < 0) {
        free_names(names, n);
        return rc;
    }
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_name);
    *out = names;
    return (long)n;
}

static void walk_dir(walker *w, int dfd, const char *rel, unsigned depth);

/* Descends into the directory name of dfd (display path, relative path rel, at level
 * depth + 1), whose fstatat gave st. Applies one_file_system, the loop check, the visited set
 * and the depth limit, then opens it without following (unless asked) and checks it is still
 * the directory st describes before walking it. */
static void enter_dir(walker *w, int dfd, const char *name, const char *path, const char *rel,
                      const struct stat *st, unsigned depth)
{
    if (w->o->one_file_system && st->st_dev != w->root_dev)
        return;
    if (on_chain(w, st->st_dev, st->st_ino)) {
        notice(w, path, ELOOP, "directory loop (it contains itself); not descended");
        return;
    }
    if (w->o->follow_symlinks && dirset_has(&w->seen, st->st_dev, st->st_ino))
        return;
    if (depth >= w->max_depth) {
        char msg[80];
        snprintf(msg, sizeof(msg), "directory depth limit (%u) reached; not descended",
                 w->max_depth);
        notice(w, path, 0, msg);
        return;
    }
    int oflags = O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC;
    if (!w->o->follow_symlinks)
        oflags |= O_NOFOLLOW;
    int fd = openat(dfd, name, oflags);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP || e == ENOTDIR)
            notice(w, path, e, "directory replaced while being scanned; not assessed");
        else if (e != ENOENT)
            notice_errno(w, path, e, "cannot open directory");
        return;
    }
    struct stat dst;
    if (fstat(fd, &dst) != 0 || !S_ISDIR(dst.st_mode) || dst.st_dev != st->st_dev ||
        dst.st_ino != st->st_ino) {
        notice(w, path, EINVAL, "directory replaced while being scanned; not assessed");
        close(fd);
        return;
    }
    if ((w->o->follow_symlinks && dirset_add(&w->seen, dst.st_dev, dst.st_ino) < 0) ||
        chain_push(w, dst.st_dev, dst.st_ino) < 0) {
        w->stop = -ENOMEM;
        close(fd);
        return;
    }
    walk_dir(w, fd, rel, depth + 1);
    w->chain_n--;
    close(fd);
}

/* Visits the entry name of the directory open at dfd (level depth), rel being its path
 * relative to the root. */
static void visit(walker *w, int dfd, const char *name, const char *rel, unsigned depth)
{
    if (sa_walk_excluded(w->o, rel, name))
        return;
    char *path = display_path(w->root, rel);
    if (path == NULL) {
        w->stop = -ENOMEM;
        return;
    }
    struct stat st;
    int follow = w->o->follow_symlinks;
    if (fstatat(dfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
        int e = errno;
        /* following: a dangling link or a link loop is reported as the link it is */
        if (!(follow && (e == ENOENT || e == ELOOP) &&
              fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))) {
            if (e != ENOENT)
                notice_errno(w, path, e, "cannot read file information");
            sa_free(path);
            return;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        enter_dir(w, dfd, name, path, rel, &st, depth);
    } else {
        sa_walk_entry e = {.root = w->root, .path = path, .rel = rel, .name = name,
                           .dirfd = dfd, .st = st};
        int r = w->on_file(w->ctx, &e);
        if (r < 0)
            w->stop = r;
    }
    sa_free(path);
}

/* Lists the directory open at dfd (relative path rel, level depth) and visits its entries in
 * strcmp order, until w->stop. Frees its listing before returning. */
static void walk_dir(walker *w, int dfd, const char *rel, unsigned depth)
{
    char **names;
    long n = read_names(dfd, &names);
    if (n < 0) {
        if (n == -ENOMEM) {
            w->stop = -ENOMEM;
            return;
        }
        char *path = display_path(w->root, rel);
        if (path == NULL) {
            w->stop = -ENOMEM;
            return;
        }
        notice_errno(w, path, (int)-n, "cannot read directory");
        sa_free(path);
        return;
    }
    size_t rl = strlen(rel);
    for (size_t i = 0; i < (size_t)n && w->stop == 0; i++) {
        char *crel = rl ? concat(rel, rl, 1, names[i]) : sa_strdup(names[i]);
        if (crel == NULL) {
            w->stop = -ENOMEM;
            break;
        }
        visit(w, dfd, names[i], crel, depth);
        sa_free(crel);
    }
    free_names(names, (size_t)n);
}

/* A root that is not a directory: hold its parent (O_PATH: no read access needed), stat it
 * again through that descriptor (following: the root was named on purpose) and hand it to
 * on_file. Returns on_file's value if negative, 0, or -errno. */
static int walk_file_root(walker *w)
{
    const char *root = w->root;
    const char *slash = strrchr(root, '/');
    const char *name = slash ? slash + 1 : root;
    if (*name == '\0')
        return -EISDIR;
    int dfd = AT_FDCWD;
    if (slash) {
        char *dir = sa_strndup(root, slash == root ? 1 : (size_t)(slash - root));
        if (dir == NULL)
            return -ENOMEM;
        dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int e = errno;
        sa_free(dir);
        if (dfd < 0)
            return -e;
    }
    struct stat st;
    int r;
    if (fstatat(dfd, name, &st, 0) != 0) {
        r = -errno;
    } else if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;  /* it was not a directory a moment ago: replaced, give up */
    } else {
        sa_walk_entry e = {.root = root, .path = root, .rel = "", .name = name, .dirfd = dfd,
                           .st = st};
        r = w->on_file(w->ctx, &e);
        if (r > 0)
            r = 0;
    }
    if (dfd != AT_FDCWD)
        close(dfd);
    return r;
}

/* Stats the root (following), then walks a directory root or hands a file root to on_file.
 * opts may be NULL and opts->lim NULL (the defaults); on_notice may be NULL. Frees all it
 * allocated and closes every descriptor it opened before returning, stopped or not. */
int sa_walk(const char *root, const sa_walk_opts *opts, sa_walk_file_fn on_file,
            sa_walk_notice_fn on_notice, void *ctx)
{
    static const sa_walk_opts no_opts;
    if (opts == NULL)
        opts = &no_opts;
    const sa_limits *lim = opts->lim ? opts->lim : &sa_limits_default;
    walker w = {.o = opts, .on_file = on_file, .on_notice = on_notice, .ctx = ctx,
                .root = root};
    w.max_depth = lim->max_dir_depth < HARD_DIR_DEPTH ? lim->max_dir_depth : HARD_DIR_DEPTH;
    struct stat st;
    if (stat(root, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return walk_file_root(&w);
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    w.root_dev = st.st_dev;
    int r = 0;
    if ((opts->follow_symlinks && dirset_add(&w.seen, st.st_dev, st.st_ino) < 0) ||
        chain_push(&w, st.st_dev, st.st_ino) < 0) {
        r = -ENOMEM;
    } else {
        walk_dir(&w, fd, "", 0);
        r = w.stop;
    }
    close(fd);
    sa_free(w.chain);
    sa_free(w.seen.key);
    sa_free(w.seen.used);
    return r < 0 ? r : 0;
}

/* Opens e (a regular file by e->st) for reading. O_NONBLOCK makes a FIFO swapped in since the
 * walk's fstatat open without blocking, and the fstat of the descriptor then refuses it (or
 * any other file put there: dev/ino must be e->st's). O_NOFOLLOW turns a symlink raced in into
 * -ELOOP. The descriptor stays non-blocking, which changes nothing for a regular file. */
int sa_walk_open(const sa_walk_entry *e, int follow_symlinks)
{
    if (!S_ISREG(e->st.st_mode))
        return -EINVAL;
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    /* a root file was followed on purpose (its st is the target's); below it, only if asked */
    if (!follow_symlinks && e->rel[0] != '\0')
        flags |= O_NOFOLLOW;
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

/* Makes room for at least need bytes (need counts the terminating NUL): doubles, but never
 * past limit (want + 1) unless need itself is larger. 0 or -ENOMEM (buf unchanged). */
static int buf_reserve(sa_buf *buf, size_t need, size_t limit)
{
    if (buf->data != NULL && buf->cap >= need)
        return 0;
    size_t nc = buf->cap >= 4096 / 2 ? buf->cap : 4096 / 2;
    nc = nc <= SIZE_MAX / 2 ? nc * 2 : SIZE_MAX;
    if (nc > limit)
        nc = limit;
    if (nc < need)
        nc = need;
    char *p = sa_realloc(buf->data, nc);
    if (p == NULL)
        return -ENOMEM;
    if (buf->data == NULL)
        p[0] = '\0';
    buf->data = p;
    buf->cap = nc;
    return 0;
}

/* Reads until want bytes are held or end of file, growing geometrically but never past
 * want + 1 bytes; st_size is never consulted. EINTR is retried; EAGAIN (a non-blocking pipe
 * or socket) waits in poll(2) rather than spinning, so like a blocking read it waits for a
 * writer: pass only descriptors that cannot stall (sa_walk_open gives regular files). On
 * -ENOMEM or a read error buf keeps what was read, still NUL-terminated if data != NULL. */
int sa_buf_read_upto(sa_buf *buf, int fd, size_t want)
{
    /* data is non-NULL and NUL-terminated after any call that does not fail */
    if (buf->len == SIZE_MAX || buf_reserve(buf, buf->len + 1, buf->len + 1) < 0)
        return -ENOMEM;
    buf->data[buf->len] = '\0';
    size_t limit = want < SIZE_MAX ? want + 1 : SIZE_MAX;
    while (buf->len < want) {
        /* ask for room for one more byte only: buf_reserve then doubles, so a small file
         * costs a small buffer however large want is (not a READ_CHUNK-sized one) */
        if (buf->len > SIZE_MAX - 2 || buf_reserve(buf, buf->len + 2, limit) < 0)
            return -ENOMEM;
        /* read into all the room there is, but never past want nor more than READ_CHUNK */
        size_t room = buf->cap - 1 - buf->len;
        if (room > want - buf->len)
            room = want - buf->len;
        if (room > READ_CHUNK)
            room = READ_CHUNK;
        ssize_t r = read(fd, buf->data + buf->len, room);
        if (r < 0) {
            int e = errno;
            if (e == EINTR)
                continue;
            if (e == EAGAIN || e == EWOULDBLOCK) {
                /* a non-blocking descriptor with nothing yet: wait instead of spinning */
                struct pollfd p = {.fd = fd, .events = POLLIN};
                if (poll(&p, 1, -1) < 0 && errno != EINTR)
                    return -errno;
                continue;
            }
            return -e;
        }
        if (r == 0)
            return 1;
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

int sa_read_user_file(const char *path, size_t max, int nofollow, sa_buf *buf)
{
    memset(buf, 0, sizeof(*buf));
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                            (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0)
        return -1;
    struct stat st;
    int r = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? sa_buf_read_upto(buf, fd, max + 1)
                                                       : -EINVAL;
    close(fd);
    if (r >= 0 && buf->len > max)
        r = -EFBIG;
    if (r < 0) {
        sa_buf_free(buf);
        errno = -r;
        return -1;
    }
    return 0;
}

const char *sa_read_user_file_error(int err)
{
    return err == EINVAL ? "not a regular file"
           : err == EFBIG ? "larger than the size limit"
                          : strerror(err);
}
