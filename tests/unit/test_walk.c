/* test_walk.c — the directory walk and file reads on real trees built under a mkdtemp
 * directory in /tmp (removed afterwards): exact visiting order, display paths, symlinks
 * (default and followed), loops and diamonds, FIFOs, files swapped between stat and open,
 * excludes, the depth limit and held descriptors, unreadable directories, one_file_system,
 * sa_buf_read_upto, callback stops and allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/limits.h"
#include "secaudit/walk.h"

/* ---- the scratch tree ---------------------------------------------------------------- */

static char tmpdir[64];
static int saved_cwd = -1;
static pid_t helper = -1;  /* a child changing the tree, stopped by teardown if still alive */

static void rm_tree_at(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlinkat(dfd, name, 0);
        return;
    }
    fchmodat(dfd, name, 0700, 0);
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d == NULL) {
            close(fd);
        } else {
            struct dirent *de;
            while ((de = readdir(d)) != NULL)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                    rm_tree_at(dirfd(d), de->d_name);
            closedir(d);
        }
    }
    unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Each test runs in a fresh directory under /tmp, which is also the working directory. */
static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/sa_walk_XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (saved_cwd < 0 || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    if (helper > 0) {
        kill(helper, SIGKILL);
        waitpid(helper, NULL, 0);
        helper = -1;
    }
    if (saved_cwd >= 0) {
        if (fchdir(saved_cwd) != 0)
            return -1;
        close(saved_cwd);
        saved_cwd = -1;
    }
    rm_tree_at(AT_FDCWD, tmpdir);
    struct stat st;
    return lstat(tmpdir, &st) == 0 ? -1 : 0;
}

static void mkd(const char *path)
{
    assert_int_equal(mkdir(path, 0755), 0);
}

static void mkf(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    size_t n = strlen(content);
    assert_int_equal(write(fd, content, n), (ssize_t)n);
    close(fd);
}

static void mkl(const char *target, const char *path)
{
    assert_int_equal(symlink(target, path), 0);
}

static ino_t ino_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_ino;
}

/* Descriptors open in this process (among the first 4096). */
static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

/* ---- a recorder of callbacks: one line per call, compared whole ------------------------ */

typedef struct rec rec;
struct rec {
    char log[8192];
    size_t len;
    int follow;                                   /* as in the options (for the checks) */
    int (*hook)(rec *r, const sa_walk_entry *e);  /* run after logging an entry */
    int stop_at;                                  /* return -42 from this file (1-based) */
    int nfiles;
    int racy;                                     /* the tree changes under the walk */
    void *data;
};

__attribute__((format(printf, 2, 3))) static void logf_(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->len, sizeof(r->log) - r->len, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(r->log) - r->len);
    r->len += (size_t)n;
}

static const char *kind(mode_t m)
{
    return S_ISREG(m)    ? "reg"
           : S_ISLNK(m)  ? "lnk"
           : S_ISFIFO(m) ? "fifo"
           : S_ISDIR(m)  ? "dir"
           : S_ISSOCK(m) ? "sock"
                         : "dev";
}

static const char *errname(int e)
{
    static char buf[16];
    switch (e) {
    case 0:
        return "0";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case ELOOP:
        return "ELOOP";
    case EINVAL:
        return "EINVAL";
    default:
        snprintf(buf, sizeof(buf), "%d", e);
        return buf;
    }
}

/* Logs "F path [rel] name kind", after checking that the entry is what it claims: dirfd +
 * name reach the very file st describes, name is rel's last component, path ends with rel. */
static int on_file(void *ctx, const sa_walk_entry *e)
{
    rec *r = ctx;
    struct stat st;
    int follow = (r->follow || e->rel[0] == '\0') && !S_ISLNK(e->st.st_mode);
    if (!r->racy) {
        assert_int_equal(fstatat(e->dirfd, e->name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW), 0);
        assert_true(st.st_dev == e->st.st_dev && st.st_ino == e->st.st_ino);
        assert_int_equal(st.st_mode, e->st.st_mode);
    }
    assert_false(S_ISDIR(e->st.st_mode));
    if (e->rel[0] != '\0') {
        const char *slash = strrchr(e->rel, '/');
        assert_string_equal(e->name, slash ? slash + 1 : e->rel);
        size_t pl = strlen(e->path), rl = strlen(e->rel);
        assert_true(pl > rl && strcmp(e->path + pl - rl, e->rel) == 0);
        assert_int_equal(e->path[pl - rl - 1], '/');
    } else {
        assert_string_equal(e->path, e->root);
    }
    logf_(r, "F %s [%s] %s %s\n", e->path, e->rel, e->name, kind(e->st.st_mode));
    r->nfiles++;
    if (r->hook) {
        int h = r->hook(r, e);
        if (h != 0)
            return h;
    }
    return r->nfiles == r->stop_at ? -42 : 0;
}

static void on_notice(void *ctx, const char *path, int err, const char *msg)
{
    rec *r = ctx;
    logf_(r, "N %s %s %s\n", path, errname(err), msg);
}

static sa_walk_opts opts_plain(void)
{
    sa_walk_opts o = {.lim = &sa_limits_default};
    return o;
}

/* Walks root with o, logging into r (reset first); returns sa_walk's value. */
static int walk(rec *r, const char *root, const sa_walk_opts *o)
{
    r->len = 0;
    r->log[0] = '\0';
    r->nfiles = 0;
    r->follow = o->follow_symlinks;
    return sa_walk(root, o, on_file, on_notice, r);
}

/* ---- order and paths ----------------------------------------------------------------- */

/* Built in an order unlike the expected one, so readdir order cannot pass for sorting. */
static void build_basic(void)
{
    mkd("t");
    mkd("t/empty");
    mkf("t/b", "B");
    mkf("t/a.conf", "x");
    mkf("t/a-x", "x");
    mkd("t/a");
    mkd("t/a/c");
    mkf("t/a/c/d.conf", "d");
    mkf("t/a/b.conf", "b");
    mkf("t/a/B.conf", "B");
}

static const char basic_expect[] =
    "F t/a/B.conf [a/B.conf] B.conf reg\n"
    "F t/a/b.conf [a/b.conf] b.conf reg\n"
    "F t/a/c/d.conf [a/c/d.conf] d.conf reg\n"
    "F t/a-x [a-x] a-x reg\n"
    "F t/a.conf [a.conf] a.conf reg\n"
    "F t/b [b] b reg\n";

static void test_order(void **state)
{
    (void)state;
    build_basic();
    sa_walk_opts o = opts_plain();
    rec r = {0};
    int before = count_fds();
    assert_int_equal(walk(&r, "t", &o), 0);
    /* by name in each directory, depth-first: a/ (and all below) before a-x, though a
       full-path sort would put "a-x" before "a/b.conf" */
    assert_string_equal(r.log, basic_expect);
    assert_int_equal(count_fds(), before);
}

static void test_display_paths(void **state)
{
    (void)state;
    build_basic();
    sa_walk_opts o = opts_plain();
    rec r = {0};

    assert_int_equal(walk(&r, "t/", &o), 0);
    assert_string_equal(r.log, basic_expect);
    assert_int_equal(walk(&r, "t//", &o), 0);
    assert_string_equal(r.log, basic_expect);

    assert_int_equal(walk(&r, "./t/a", &o), 0);
    assert_string_equal(r.log, "F ./t/a/B.conf [B.conf] B.conf reg\n"
                               "F ./t/a/b.conf [b.conf] b.conf reg\n"
                               "F ./t/a/c/d.conf [c/d.conf] d.conf reg\n");

    assert_int_equal(chdir("t/a"), 0);
    assert_int_equal(walk(&r, ".", &o), 0);
    assert_string_equal(r.log, "F ./B.conf [B.conf] B.conf reg\n"
                               "F ./b.conf [b.conf] b.conf reg\n"
                               "F ./c/d.conf [c/d.conf] d.conf reg\n");
    assert_int_equal(chdir(tmpdir), 0);

    /* the root as an absolute path is kept as given */
    char root[128], expect[512];
    snprintf(root, sizeof(root), "%s/t/a/c", tmpdir);
    assert_int_equal(walk(&r, root, &o), 0);
    snprintf(expect, sizeof(expect), "F %s/t/a/c/d.conf [d.conf] d.conf reg\n", tmpdir);
    assert_string_equal(r.log, expect);

    /* a symlink named as the root is followed */
    mkl("t", "lt");
    assert_int_equal(walk(&r, "lt", &o), 0);
    assert_non_null(strstr(r.log, "F lt/a/c/d.conf [a/c/d.conf] d.conf reg\n"));
    assert_int_equal(r.nfiles, 6);
}

/* sa_walk_open works on the entry, and reads the file the entry names. */
static int hook_open_read(rec *r, const sa_walk_entry *e)
{
    int fd = sa_walk_open(e, r->follow);
    if (fd < 0) {
        logf_(r, "  open %d\n", fd);
        return 0;
    }
    sa_buf b = {0};
    assert_int_equal(sa_buf_read_upto(&b, fd, 100), 1);
    logf_(r, "  read \"%s\"\n", b.data);
    sa_buf_free(&b);
    close(fd);
    return 0;
}

static void test_file_root(void **state)
{
    (void)state;
    build_basic();
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_open_read};
    int before = count_fds();

    assert_int_equal(walk(&r, "t/a/b.conf", &o), 0);
    assert_string_equal(r.log, "F t/a/b.conf [] b.conf reg\n  read \"b\"\n");

    char root[128], expect[512];
    snprintf(root, sizeof(root), "%s/t/b", tmpdir);
    assert_int_equal(walk(&r, root, &o), 0);
    snprintf(expect, sizeof(expect), "F %s [] b reg\n  read \"B\"\n", root);
    assert_string_equal(r.log, expect);

    /* a root symlink to a file is followed: st is the target's, and it opens */
    mkl("t/a/c/d.conf", "ld");
    assert_int_equal(walk(&r, "ld", &o), 0);
    assert_string_equal(r.log, "F ld [] ld reg\n  read \"d\"\n");

    /* a relative root without '/': dirfd is AT_FDCWD, name the root */
    assert_int_equal(chdir("t"), 0);
    r.hook = NULL;
    r.data = NULL;
    assert_int_equal(walk(&r, "b", &o), 0);
    assert_string_equal(r.log, "F b [] b reg\n");
    assert_int_equal(chdir(tmpdir), 0);
    assert_int_equal(count_fds(), before);
}

static int hook_root_entry(rec *r, const sa_walk_entry *e)
{
    (void)r;
    assert_int_equal(e->dirfd, AT_FDCWD);
    return 0;
}

static void test_file_root_cwd(void **state)
{
    (void)state;
    mkf("x.conf", "x");
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_root_entry};
    assert_int_equal(walk(&r, "x.conf", &o), 0);
    assert_string_equal(r.log, "F x.conf [] x.conf reg\n");
}

/* For the root "/", only check the joining: "/" + name, never "//name". */
static int on_file_slash(void *ctx, const sa_walk_entry *e)
{
    int *n = ctx;
    assert_int_equal(e->path[0], '/');
    assert_string_equal(e->path + 1, e->rel);
    assert_null(strchr(e->rel, '/'));
    assert_string_equal(e->root, "/");
    (*n)++;
    return 0;
}

static void on_notice_slash(void *ctx, const char *path, int err, const char *msg)
{
    int *n = ctx;
    (void)err;
    (void)msg;
    assert_int_equal(path[0], '/');
    assert_true(path[1] != '/' && path[1] != '\0');
    assert_null(strchr(path + 1, '/'));
    (*n)++;
}

static void test_root_slash(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_dir_depth = 0;  /* only the entries of "/" itself, directories as notices */
    sa_walk_opts o = {.lim = &lim};
    int n = 0;
    assert_int_equal(sa_walk("/", &o, on_file_slash, on_notice_slash, &n), 0);
    assert_true(n > 0);
}

/* ---- symlinks, loops, diamonds ------------------------------------------------------- */

static void build_links(void)
{
    mkd("t");
    mkd("out");
    mkf("out/x.conf", "x");
    mkf("t/b", "B");
    mkl("b", "t/lf");
    mkl("../out", "t/ld");
    mkl("nowhere", "t/dangling");
}

static void test_symlinks_default(void **state)
{
    (void)state;
    build_links();
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_open_read};
    assert_int_equal(walk(&r, "t", &o), 0);
    /* reported as links, never followed nor opened */
    assert_string_equal(r.log, "F t/b [b] b reg\n  read \"B\"\n"
                               "F t/dangling [dangling] dangling lnk\n  open -22\n"
                               "F t/ld [ld] ld lnk\n  open -22\n"
                               "F t/lf [lf] lf lnk\n  open -22\n");
}

static void test_symlinks_followed(void **state)
{
    (void)state;
    build_links();
    sa_walk_opts o = opts_plain();
    o.follow_symlinks = 1;
    rec r = {.hook = hook_open_read};
    assert_int_equal(walk(&r, "t", &o), 0);
    /* a dangling link cannot be followed: still reported as the link */
    assert_string_equal(r.log, "F t/b [b] b reg\n  read \"B\"\n"
                               "F t/dangling [dangling] dangling lnk\n  open -22\n"
                               "F t/ld/x.conf [ld/x.conf] x.conf reg\n  read \"x\"\n"
                               "F t/lf [lf] lf reg\n  read \"B\"\n");
}

static int hook_ino(rec *r, const sa_walk_entry *e)
{
    if (strcmp(e->name, "lf") == 0)
        *(ino_t *)r->data = e->st.st_ino;
    return 0;
}

static void test_followed_link_st_is_target(void **state)
{
    (void)state;
    build_links();
    sa_walk_opts o = opts_plain();
    o.follow_symlinks = 1;
    ino_t seen = 0;
    rec r = {.hook = hook_ino, .data = &seen};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_true(seen == ino_of("t/b"));
}

static void test_symlink_loop(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/a");
    mkf("t/a/f.conf", "f");
    mkl("..", "t/a/loop");
    mkl("self", "t/self");
    mkf("t/z.conf", "z");
    sa_walk_opts o = opts_plain();
    rec r = {0};

    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a/f.conf [a/f.conf] f.conf reg\n"
                               "F t/a/loop [a/loop] loop lnk\n"
                               "F t/self [self] self lnk\n"
                               "F t/z.conf [z.conf] z.conf reg\n");

    o.follow_symlinks = 1;
    alarm(5);
    assert_int_equal(walk(&r, "t", &o), 0);
    alarm(0);
    assert_string_equal(r.log,
                        "F t/a/f.conf [a/f.conf] f.conf reg\n"
                        "N t/a/loop ELOOP directory loop (it contains itself); not descended\n"
                        "F t/self [self] self lnk\n"
                        "F t/z.conf [z.conf] z.conf reg\n");
}

static void test_diamond_entered_once(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/a");
    mkf("t/a/f.conf", "f");
    mkl("a", "t/m");
    mkl("a", "t/z");
    mkl("t", "t2");
    sa_walk_opts o = opts_plain();
    o.follow_symlinks = 1;
    rec r = {0};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a/f.conf [a/f.conf] f.conf reg\n");

    /* without following, the links are links */
    o.follow_symlinks = 0;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a/f.conf [a/f.conf] f.conf reg\n"
                               "F t/m [m] m lnk\n"
                               "F t/z [z] z lnk\n");
}

/* ---- FIFOs and files swapped between the walk's stat and the open -------------------- */

static int hook_open_rc(rec *r, const sa_walk_entry *e)
{
    int fd = sa_walk_open(e, r->follow);
    logf_(r, "  open %s\n", fd >= 0 ? "ok" : fd == -EINVAL ? "EINVAL" : strerror(-fd));
    if (fd >= 0)
        close(fd);
    return 0;
}

static void test_fifo(void **state)
{
    (void)state;
    mkd("t");
    assert_int_equal(mkfifo("t/app.conf", 0644), 0);
    mkf("t/b.conf", "b");
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_open_rc};
    alarm(5);  /* opening the FIFO would block forever: fail loudly instead */
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/app.conf [app.conf] app.conf fifo\n  open EINVAL\n"
                               "F t/b.conf [b.conf] b.conf reg\n  open ok\n");
    o.follow_symlinks = 1;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/app.conf [app.conf] app.conf fifo\n  open EINVAL\n"
                               "F t/b.conf [b.conf] b.conf reg\n  open ok\n");
    /* a FIFO named as the root goes to on_file too */
    assert_int_equal(walk(&r, "t/app.conf", &o), 0);
    assert_string_equal(r.log, "F t/app.conf [] app.conf fifo\n  open EINVAL\n");
    alarm(0);
}

/* In the callback, before opening: put something else where the entry was. */
static int hook_swap(rec *r, const sa_walk_entry *e)
{
    if (strcmp(e->name, "f.conf") == 0) {
        assert_int_equal(mkfifo("t/fifo.tmp", 0644), 0);
        assert_int_equal(rename("t/fifo.tmp", "t/f.conf"), 0);
    } else if (strcmp(e->name, "l.conf") == 0) {
        assert_int_equal(symlink("z.conf", "t/link.tmp"), 0);
        assert_int_equal(rename("t/link.tmp", "t/l.conf"), 0);
    } else if (strcmp(e->name, "r.conf") == 0) {
        assert_int_equal(rename("t/y.other", "t/r.conf"), 0);
    } else if (strcmp(e->name, "v.conf") == 0) {
        assert_int_equal(unlink("t/v.conf"), 0);
    }
    return hook_open_rc(r, e);
}

static void test_swapped_files(void **state)
{
    (void)state;
    mkd("t");
    mkf("t/f.conf", "f");
    mkf("t/l.conf", "l");
    mkf("t/r.conf", "r");
    mkf("t/v.conf", "v");
    mkf("t/y.other", "y");
    mkf("t/z.conf", "z");
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_swap};
    alarm(5);
    assert_int_equal(walk(&r, "t", &o), 0);
    alarm(0);
    /* FIFO swapped in: opened without blocking, refused; symlink swapped in: ELOOP; another
       file renamed over it: refused; deleted: ENOENT. y.other, renamed away, vanished
       quietly */
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "F t/f.conf [f.conf] f.conf reg\n  open EINVAL\n"
             "F t/l.conf [l.conf] l.conf reg\n  open %s\n"
             "F t/r.conf [r.conf] r.conf reg\n  open EINVAL\n"
             "F t/v.conf [v.conf] v.conf reg\n  open %s\n"
             "F t/z.conf [z.conf] z.conf reg\n  open ok\n",
             strerror(ELOOP), strerror(ENOENT));
    assert_string_equal(r.log, expect);
}

/* The entry of a regular file, faked to be a FIFO by st: refused before any open. */
static void test_open_refuses_non_regular_entry(void **state)
{
    (void)state;
    assert_int_equal(mkfifo("p", 0644), 0);
    sa_walk_entry e = {.root = "p", .path = "p", .rel = "p", .name = "p", .dirfd = AT_FDCWD};
    assert_int_equal(lstat("p", &e.st), 0);
    alarm(5);
    assert_int_equal(sa_walk_open(&e, 0), -EINVAL);
    assert_int_equal(sa_walk_open(&e, 1), -EINVAL);
    /* st claims a regular file but a FIFO is there: opened non-blocking, then refused */
    e.st.st_mode = S_IFREG | 0644;
    assert_int_equal(sa_walk_open(&e, 0), -EINVAL);
    alarm(0);
}

/* A directory and a symlink to a directory outside swapped back and forth (renameat2
 * RENAME_EXCHANGE) by a child while the walk runs: whatever the timing, nothing outside
 * the root is ever reported, and a swap caught between fstatat and openat is a notice. */
static int hook_no_secret(rec *r, const sa_walk_entry *e)
{
    (void)r;
    if (strstr(e->path, "secret") != NULL)
        fail_msg("walked outside the root: %s", e->path);
    return 0;
}

static void test_directory_swapped_for_symlink(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/d");
    mkf("t/d/inner.conf", "");
    mkd("out");
    mkf("out/secret.conf", "");
    mkl("../out", "t/e");
    if (syscall(SYS_renameat2, AT_FDCWD, "t/d", AT_FDCWD, "t/e", 2 /* RENAME_EXCHANGE */) != 0) {
        print_message("renameat2(RENAME_EXCHANGE) unsupported here; skipped\n");
        skip();
    }
    pid_t parent = getpid(), pid = fork();
    assert_true(pid >= 0);
    helper = pid;
    if (pid == 0) {
        alarm(90);  /* never outlive a parent that failed */
        while (getppid() == parent)
            syscall(SYS_renameat2, AT_FDCWD, "t/d", AT_FDCWD, "t/e", 2);
        _exit(0);
    }
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_no_secret, .racy = 1};
    int replaced = 0;
    alarm(60);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(walk(&r, "t", &o), 0);
        for (const char *p = r.log; *p; p = strchr(p, '\n') + 1) {
            if (*p != 'N')
                continue;
            replaced++;
            if (strncmp(p, "N t/d ", 6) != 0 && strncmp(p, "N t/e ", 6) != 0)
                fail_msg("unexpected notice: %s", p);
            if (strstr(p, " directory replaced while being scanned; not assessed\n") == NULL)
                fail_msg("unexpected notice: %s", p);
        }
    }
    alarm(0);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    helper = -1;
    print_message("%d swaps caught between fstatat and openat\n", replaced);
}

/* ---- excludes ------------------------------------------------------------------------ */

static void test_excluded_rules(void **state)
{
    (void)state;
    const char *g1[] = {"*.bak", "node_modules"};
    sa_walk_opts o = {.excludes = g1, .n_excludes = 2};
    assert_int_equal(sa_walk_excluded(&o, "x.bak", "x.bak"), 1);
    assert_int_equal(sa_walk_excluded(&o, "a/b/x.bak", "x.bak"), 1);
    assert_int_equal(sa_walk_excluded(&o, "a/node_modules", "node_modules"), 1);
    assert_int_equal(sa_walk_excluded(&o, "x.bak.conf", "x.bak.conf"), 0);
    assert_int_equal(sa_walk_excluded(&o, "node_modules.conf", "node_modules.conf"), 0);

    const char *g2[] = {"a/*.conf", "/top.conf"};
    sa_walk_opts o2 = {.excludes = g2, .n_excludes = 2};
    assert_int_equal(sa_walk_excluded(&o2, "a/x.conf", "x.conf"), 1);
    assert_int_equal(sa_walk_excluded(&o2, "a/c/x.conf", "x.conf"), 0);  /* FNM_PATHNAME */
    assert_int_equal(sa_walk_excluded(&o2, "b/a/x.conf", "x.conf"), 0);  /* whole rel */
    assert_int_equal(sa_walk_excluded(&o2, "top.conf", "top.conf"), 1);
    assert_int_equal(sa_walk_excluded(&o2, "b/top.conf", "top.conf"), 0);

    sa_walk_opts none = {0};
    assert_int_equal(sa_walk_excluded(&none, "x", "x"), 0);
}

static void test_excludes_in_walk(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/a");
    mkd("t/a/c");
    mkd("t/a/node_modules");
    mkd("t/b");
    mkd("t/b/a");
    mkd("t/b/a/c");
    mkd("t/node_modules");
    mkf("t/a/x.bak", "");
    mkf("t/a/y.conf", "");
    mkf("t/a/c/d.conf", "");
    mkf("t/a/node_modules/q.conf", "");
    mkf("t/b/a/c/keep.conf", "");
    mkf("t/b/top.conf", "");
    mkf("t/node_modules/p.conf", "");
    mkf("t/top.conf", "");
    const char *ex[] = {"*.bak", "node_modules", "a/c", "/top.conf"};
    sa_walk_opts o = opts_plain();
    o.excludes = ex;
    o.n_excludes = 4;
    rec r = {0};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a/y.conf [a/y.conf] y.conf reg\n"
                               "F t/b/a/c/keep.conf [b/a/c/keep.conf] keep.conf reg\n"
                               "F t/b/top.conf [b/top.conf] top.conf reg\n");

    /* an excluded directory is not even entered: its unreadable content makes no notice
       (as root the mode does not matter, and the listing would still be missing) */
    assert_int_equal(chmod("t/node_modules", 0), 0);
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a/y.conf [a/y.conf] y.conf reg\n"
                               "F t/b/a/c/keep.conf [b/a/c/keep.conf] keep.conf reg\n"
                               "F t/b/top.conf [b/top.conf] top.conf reg\n");
}

/* ---- depth and descriptors ----------------------------------------------------------- */

static void build_deep(void)
{
    mkd("t");
    mkd("t/l1");
    mkd("t/l1/l2");
    mkd("t/l1/l2/l3");
    mkf("t/l1/f1.conf", "");
    mkf("t/l1/l2/f2.conf", "");
    mkf("t/l1/l2/l3/f3.conf", "");
    mkf("t/f0.conf", "");
}

static void test_depth_limit(void **state)
{
    (void)state;
    build_deep();
    sa_limits lim = sa_limits_default;
    sa_walk_opts o = {.lim = &lim};
    rec r = {0};

    lim.max_dir_depth = 1;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log,
                        "F t/f0.conf [f0.conf] f0.conf reg\n"
                        "F t/l1/f1.conf [l1/f1.conf] f1.conf reg\n"
                        "N t/l1/l2 0 directory depth limit (1) reached; not descended\n");

    lim.max_dir_depth = 0;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/f0.conf [f0.conf] f0.conf reg\n"
                               "N t/l1 0 directory depth limit (0) reached; not descended\n");

    lim.max_dir_depth = 2;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log,
                        "F t/f0.conf [f0.conf] f0.conf reg\n"
                        "F t/l1/f1.conf [l1/f1.conf] f1.conf reg\n"
                        "F t/l1/l2/f2.conf [l1/l2/f2.conf] f2.conf reg\n"
                        "N t/l1/l2/l3 0 directory depth limit (2) reached; not descended\n");

    lim.max_dir_depth = 3;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/f0.conf [f0.conf] f0.conf reg\n"
                               "F t/l1/f1.conf [l1/f1.conf] f1.conf reg\n"
                               "F t/l1/l2/f2.conf [l1/l2/f2.conf] f2.conf reg\n"
                               "F t/l1/l2/l3/f3.conf [l1/l2/l3/f3.conf] f3.conf reg\n");
}

/* At the deepest file, one descriptor per level is held (t, l1, l2, l3), nothing more. */
static int hook_fds(rec *r, const sa_walk_entry *e)
{
    if (strcmp(e->name, "f3.conf") == 0)
        logf_(r, "  held %d\n", count_fds() - *(int *)r->data);
    return 0;
}

static void test_descriptors_held(void **state)
{
    (void)state;
    build_deep();
    sa_walk_opts o = opts_plain();
    int base = count_fds();
    rec r = {.hook = hook_fds, .data = &base};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_non_null(strstr(r.log, "F t/l1/l2/l3/f3.conf [l1/l2/l3/f3.conf] f3.conf reg\n"
                                  "  held 4\n"));
    assert_int_equal(count_fds(), base);
}

/* ---- errors, stops and budgets ------------------------------------------------------- */

static void test_missing_root(void **state)
{
    (void)state;
    mkf("file", "x");
    sa_walk_opts o = opts_plain();
    rec r = {0};
    assert_int_equal(walk(&r, "nope", &o), -ENOENT);
    assert_int_equal(walk(&r, "nope/deeper", &o), -ENOENT);
    assert_int_equal(walk(&r, "file/x", &o), -ENOTDIR);
    assert_int_equal(walk(&r, "file/", &o), -ENOTDIR);
    assert_int_equal(walk(&r, "", &o), -ENOENT);
    assert_string_equal(r.log, "");
}

static void test_callback_stops(void **state)
{
    (void)state;
    build_basic();
    sa_walk_opts o = opts_plain();
    rec r = {.stop_at = 2};
    int before = count_fds();
    assert_int_equal(walk(&r, "t", &o), -42);
    assert_string_equal(r.log, "F t/a/B.conf [a/B.conf] B.conf reg\n"
                               "F t/a/b.conf [a/b.conf] b.conf reg\n");
    assert_int_equal(count_fds(), before);
    r.stop_at = 1;
    assert_int_equal(walk(&r, "t/b", &o), -42);
    assert_int_equal(count_fds(), before);
}

static int hook_delete(rec *r, const sa_walk_entry *e)
{
    (void)r;
    if (strcmp(e->name, "a.conf") == 0) {
        assert_int_equal(unlink("t/b.conf"), 0);
        assert_int_equal(unlink("t/c/x.conf"), 0);
        assert_int_equal(rmdir("t/c"), 0);
    }
    return 0;
}

/* Entries listed but gone by the time they are visited are skipped without a notice. */
static void test_vanished_entries(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/c");
    mkf("t/c/x.conf", "");
    mkf("t/a.conf", "");
    mkf("t/b.conf", "");
    mkf("t/d.conf", "");
    sa_walk_opts o = opts_plain();
    rec r = {.hook = hook_delete};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a.conf [a.conf] a.conf reg\n"
                               "F t/d.conf [d.conf] d.conf reg\n");
}

/* Unreadable things, seen by an unprivileged walker: run in-process, or as root in a child
 * that drops to nobody. The child reports its log through a pipe. */
static void unreadable_walk(rec *r)
{
    sa_walk_opts o = opts_plain();
    int rc = walk(r, "t", &o);
    logf_(r, "rc %d\n", rc);
    rc = sa_walk("t/locked", &o, on_file, on_notice, r);
    logf_(r, "locked root %d\n", rc);
}

static void test_unreadable(void **state)
{
    (void)state;
    mkd("t");
    mkd("t/locked");
    mkf("t/locked/f.conf", "");
    mkd("t/noexec");
    mkf("t/noexec/g.conf", "");
    mkf("t/open.conf", "");
    assert_int_equal(chmod("t/locked", 0), 0);
    assert_int_equal(chmod("t/noexec", 0444), 0);
    assert_int_equal(chmod(tmpdir, 0755), 0);
    rec r = {0};
    if (geteuid() != 0) {
        unreadable_walk(&r);
    } else {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(77);
            unreadable_walk(&r);
            _exit(write(p[1], r.log, r.len) == (ssize_t)r.len ? 0 : 1);
        }
        close(p[1]);
        alarm(10);
        ssize_t n;
        while ((n = read(p[0], r.log + r.len, sizeof(r.log) - 1 - r.len)) > 0)
            r.len += (size_t)n;
        r.log[r.len] = '\0';
        close(p[0]);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        alarm(0);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            print_message("running as root and cannot drop to uid 65534: "
                          "EACCES cannot be observed; skipped\n");
            skip();
        }
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* t/noexec can be listed but not searched: each entry is "permission denied" */
    assert_string_equal(r.log, "N t/locked EACCES permission denied; not assessed\n"
                               "N t/noexec/g.conf EACCES permission denied; not assessed\n"
                               "F t/open.conf [open.conf] open.conf reg\n"
                               "rc 0\n"
                               "locked root -13\n");
}

/* A symlink to a directory of /proc (another device): followed, then kept out by
 * one_file_system, quietly. */
static void test_one_file_system(void **state)
{
    (void)state;
    const char *target = "/proc/sys/kernel/random";
    struct stat pst, tst;
    if (stat(target, &pst) != 0 || stat(".", &tst) != 0 || pst.st_dev == tst.st_dev ||
        stat("/proc/sys/kernel/random/boot_id", &pst) != 0) {
        print_message("%s missing or on the same device; skipped\n", target);
        skip();
    }
    mkd("t");
    mkf("t/a.conf", "");
    mkl(target, "t/p");
    sa_walk_opts o = opts_plain();
    o.follow_symlinks = 1;
    rec r = {0};
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_non_null(strstr(r.log, "F t/p/boot_id [p/boot_id] boot_id reg\n"));
    o.one_file_system = 1;
    assert_int_equal(walk(&r, "t", &o), 0);
    assert_string_equal(r.log, "F t/a.conf [a.conf] a.conf reg\n");
}

/* Every allocation failing in turn: the walk returns -ENOMEM (nothing leaks, ASan and
 * valgrind check), and once no allocation fails, the full result. */
static void test_allocation_failures(void **state)
{
    (void)state;
    build_basic();
    mkl("a", "t/link");  /* a diamond when following: exercises the visited set */
    sa_walk_opts o = opts_plain();
    o.follow_symlinks = 1;
    rec r = {0};
    int before = count_fds();
    unsigned long n;
    for (n = 1; n < 1000; n++) {
        sa_alloc_fail_at(n);
        int rc = walk(&r, "t", &o);
        unsigned long made = sa_alloc_fail_at(0);
        assert_int_equal(count_fds(), before);
        if (made < n) {
            assert_int_equal(rc, 0);
            assert_string_equal(r.log, basic_expect);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
    }
    assert_true(n > 10 && n < 1000);

    /* a file root: its parent path is copied */
    sa_alloc_fail_at(1);
    int rc = walk(&r, "t/b", &o);
    sa_alloc_fail_at(0);
    assert_int_equal(rc, -ENOMEM);
    assert_string_equal(r.log, "");
}

/* ---- sa_buf_read_upto ---------------------------------------------------------------- */

static void write_pattern(const char *path, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    char block[4096];
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof(block) ? n - off : sizeof(block);
        for (size_t i = 0; i < k; i++)
            block[i] = (char)('a' + (off + i) % 26);
        assert_int_equal(write(fd, block, k), (ssize_t)k);
        off += k;
    }
    close(fd);
}

static void check_pattern(const sa_buf *b, size_t n)
{
    assert_int_equal(b->len, n);
    assert_non_null(b->data);
    for (size_t i = 0; i < n; i++)
        if (b->data[i] != (char)('a' + i % 26))
            fail_msg("byte %zu is %d", i, b->data[i]);
    assert_int_equal(b->data[n], '\0');
    assert_true(b->cap > n);
}

static void test_read_upto(void **state)
{
    (void)state;
    write_pattern("f", 10000);
    int fd = open("f", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    sa_buf b = {0};
    assert_int_equal(sa_buf_read_upto(&b, fd, 100), 0);
    check_pattern(&b, 100);  /* exactly what was asked: the rest is still to be read */
    assert_true(b.cap <= 101);
    assert_int_equal(sa_buf_read_upto(&b, fd, 100), 0);
    check_pattern(&b, 100);
    assert_int_equal(sa_buf_read_upto(&b, fd, 5000), 0);
    check_pattern(&b, 5000);
    assert_int_equal(sa_buf_read_upto(&b, fd, 20000), 1);
    check_pattern(&b, 10000);
    assert_int_equal(sa_buf_read_upto(&b, fd, 20000), 1);
    check_pattern(&b, 10000);
    sa_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);

    /* exactly the file's size: not known to be the end yet; one more: the end */
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10000), 0);
    check_pattern(&b, 10000);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10001), 1);
    check_pattern(&b, 10000);
    sa_buf_free(&b);

    /* a buffer with more room than asked for still stops at want */
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    b.data = sa_malloc(8192);
    assert_non_null(b.data);
    b.cap = 8192;
    assert_int_equal(sa_buf_read_upto(&b, fd, 100), 0);
    check_pattern(&b, 100);
    assert_int_equal(b.cap, 8192);
    sa_buf_free(&b);
    close(fd);

    /* an empty file, and want 0: data is still a string */
    mkf("empty", "");
    fd = open("empty", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(sa_buf_read_upto(&b, fd, 16), 1);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    sa_buf_free(&b);
    close(fd);
}

/* More than one chunk (reads are at most 1 MiB), and the buffer never past want + 1. */
static void test_read_upto_large(void **state)
{
    (void)state;
    size_t n = 3 * 1024 * 1024 + 5;
    write_pattern("big", n);
    int fd = open("big", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    sa_buf b = {0};
    assert_int_equal(sa_buf_read_upto(&b, fd, n + 1), 1);
    check_pattern(&b, n);
    assert_true(b.cap <= n + 2);  /* never more than want + 1 */
    sa_buf_free(&b);

    /* a cap: read one byte past it and stop */
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 1024 * 1024 + 1), 0);
    check_pattern(&b, 1024 * 1024 + 1);
    sa_buf_free(&b);
    close(fd);
}

static void test_read_upto_pipe(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (write(p[1], "hello", 5) != 5)
            _exit(1);
        nanosleep(&ts, NULL);
        if (write(p[1], " world", 6) != 6)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    alarm(5);
    sa_buf b = {0};
    /* EAGAIN while the writer sleeps: retried, and the data arrives in two pieces */
    assert_int_equal(sa_buf_read_upto(&b, p[0], 100), 1);
    alarm(0);
    assert_string_equal(b.data, "hello world");
    assert_int_equal(b.len, 11);
    sa_buf_free(&b);
    close(p[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_read_upto_errors(void **state)
{
    (void)state;
    mkd("d");
    int fd = open("d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    sa_buf b = {0};
    assert_int_equal(sa_buf_read_upto(&b, fd, 10), -EISDIR);
    assert_int_equal(b.len, 0);
    sa_buf_free(&b);
    close(fd);

    fd = open("w", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10), -EBADF);
    sa_buf_free(&b);
    close(fd);

    write_pattern("f", 9000);
    fd = open("f", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    sa_alloc_fail_at(1);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10), -ENOMEM);
    sa_alloc_fail_at(0);
    assert_null(b.data);
    /* growth failing keeps what was read */
    assert_int_equal(sa_buf_read_upto(&b, fd, 10), 0);
    check_pattern(&b, 10);
    sa_alloc_fail_at(1);
    assert_int_equal(sa_buf_read_upto(&b, fd, 9000), -ENOMEM);
    sa_alloc_fail_at(0);
    check_pattern(&b, 10);
    assert_int_equal(sa_buf_read_upto(&b, fd, 9001), 1);
    check_pattern(&b, 9000);
    sa_buf_free(&b);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_order),
        T(test_display_paths),
        T(test_file_root),
        T(test_file_root_cwd),
        T(test_root_slash),
        T(test_symlinks_default),
        T(test_symlinks_followed),
        T(test_followed_link_st_is_target),
        T(test_symlink_loop),
        T(test_diamond_entered_once),
        T(test_fifo),
        T(test_swapped_files),
        T(test_open_refuses_non_regular_entry),
        T(test_directory_swapped_for_symlink),
        T(test_excluded_rules),
        T(test_excludes_in_walk),
        T(test_depth_limit),
        T(test_descriptors_held),
        T(test_missing_root),
        T(test_callback_stops),
        T(test_vanished_entries),
        T(test_unreadable),
        T(test_one_file_system),
        T(test_allocation_failures),
        T(test_read_upto),
        T(test_read_upto_large),
        T(test_read_upto_pipe),
        T(test_read_upto_errors),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
