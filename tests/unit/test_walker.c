/* test_walker.c — the safe directory walker (src/walk.c, contract in walk.h), tested on real
 * trees built in a fresh mkdtemp directory under /tmp that is the working directory during
 * each test and is removed afterwards. Every walk's callbacks are recorded as strings
 * ("<type> <path>|<rel>|<name>" per file, "<path>|<err>|<msg>" per notice) and compared whole
 * with the expected lists, so order, display paths and types are all checked exactly. */
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
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/limits.h"
#include "secaudit/walk.h"

#define MAX_REC 64

/* ---- scratch directory ------------------------------------------------------------------ */

static char scratch[64];
static int home_fd = -1;

/* Removes name under dfd and everything below it, never following links. */
static void remove_tree(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        (void)fchmodat(dfd, name, 0700, 0);
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            DIR *d = fdopendir(fd);
            if (d != NULL) {
                struct dirent *de;
                while ((de = readdir(d)) != NULL) {
                    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        remove_tree(dirfd(d), de->d_name);
                }
                closedir(d);
            } else {
                close(fd);
            }
        }
        (void)unlinkat(dfd, name, AT_REMOVEDIR);
    } else {
        (void)unlinkat(dfd, name, 0);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(scratch, sizeof(scratch), "/tmp/sa_walker_XXXXXX");
    if (mkdtemp(scratch) == NULL)
        return -1;
    home_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (home_fd < 0 || chdir(scratch) != 0)
        return -1;
    return 0;
}

static void recs_free(void);

static int teardown(void **state)
{
    (void)state;
    alarm(0);
    recs_free();
    sa_alloc_fail_at(0);
    int rc = 0;
    if (home_fd >= 0) {
        if (fchdir(home_fd) != 0)
            rc = -1;
        close(home_fd);
        home_fd = -1;
    }
    remove_tree(AT_FDCWD, scratch);
    struct stat st;
    if (lstat(scratch, &st) == 0)
        rc = -1;
    return rc;
}

/* mkdir -p for a relative path. */
static void mkdirs(const char *path)
{
    char buf[256];
    size_t n = strlen(path);
    assert_true(n < sizeof(buf));
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0755) != 0)
                assert_int_equal(errno, EEXIST);
            buf[i] = c;
        }
    }
}

/* Creates a file (and its parent directories) holding content. */
static void mkfile(const char *path, const char *content)
{
    const char *slash = strrchr(path, '/');
    if (slash != NULL) {
        char dir[256];
        size_t n = (size_t)(slash - path);
        assert_true(n < sizeof(dir));
        memcpy(dir, path, n);
        dir[n] = '\0';
        mkdirs(dir);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    size_t len = strlen(content);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
}

static void mklink(const char *target, const char *path)
{
    assert_int_equal(symlink(target, path), 0);
}

/* ---- recording the callbacks ------------------------------------------------------------ */

typedef struct rec rec;
typedef int (*hook_fn)(rec *r, const sa_walk_entry *e);

struct rec {
    const char *root;     /* what sa_walk was given: e->root must be this string */
    char *ent[MAX_REC];
    size_t n;             /* on_file calls (also those past MAX_REC) */
    char *note[MAX_REC];
    size_t nn;            /* notices */
    int bad;              /* entries whose dirfd/name/root do not match the contract */
    hook_fn hook;         /* run after recording; its value is on_file's */
    int hook_rc;          /* scratch for hooks */
    int hook_rc2;
    char hook_data[64];
};

static char type_char(mode_t m)
{
    if (S_ISREG(m))
        return 'f';
    if (S_ISLNK(m))
        return 'l';
    if (S_ISFIFO(m))
        return 'p';
    if (S_ISDIR(m))
        return 'd';
    if (S_ISSOCK(m))
        return 's';
    return 'o';
}

static int on_file(void *ctx, const sa_walk_entry *e)
{
    rec *r = ctx;
    if (r->n < MAX_REC) {
        size_t len = strlen(e->path) + strlen(e->rel) + strlen(e->name) + 8;
        char *s = malloc(len);
        assert_non_null(s);
        snprintf(s, len, "%c %s|%s|%s", type_char(e->st.st_mode), e->path, e->rel, e->name);
        r->ent[r->n] = s;
    }
    r->n++;
    /* the entry must be reachable as (dirfd, name), without or with following */
    struct stat a, b;
    int ok = (fstatat(e->dirfd, e->name, &a, AT_SYMLINK_NOFOLLOW) == 0 &&
              a.st_dev == e->st.st_dev && a.st_ino == e->st.st_ino) ||
             (fstatat(e->dirfd, e->name, &b, 0) == 0 && b.st_dev == e->st.st_dev &&
              b.st_ino == e->st.st_ino);
    if (!ok || r->root == NULL || strcmp(e->root, r->root) != 0 || strchr(e->name, '/'))
        r->bad++;
    return r->hook ? r->hook(r, e) : 0;
}

static void on_notice(void *ctx, const char *path, int err, const char *msg)
{
    rec *r = ctx;
    if (r->nn < MAX_REC) {
        size_t len = strlen(path) + strlen(msg) + 32;
        char *s = malloc(len);
        assert_non_null(s);
        snprintf(s, len, "%s|%d|%s", path, err, msg);
        r->note[r->nn] = s;
    }
    r->nn++;
}

static void rec_clear(rec *r)
{
    for (size_t i = 0; i < r->n && i < MAX_REC; i++)
        free(r->ent[i]);
    for (size_t i = 0; i < r->nn && i < MAX_REC; i++)
        free(r->note[i]);
    r->n = r->nn = 0;
    r->bad = 0;
}

static rec recs[2];

/* A cleared recorder; teardown frees what the recorders hold even after a failed test. */
static rec *rec_new(int i)
{
    rec_clear(&recs[i]);
    memset(&recs[i], 0, sizeof(recs[i]));
    return &recs[i];
}

static void recs_free(void)
{
    rec_clear(&recs[0]);
    rec_clear(&recs[1]);
}

static int run(rec *r, const char *root, const sa_walk_opts *o)
{
    rec_clear(r);
    r->root = root;
    return sa_walk(root, o, on_file, on_notice, r);
}

/* Compares a recorded list with the expected one, printing both on a mismatch. */
static void expect_list(char *const *got, size_t n_got, const char *const *want, size_t n_want,
                        const char *what)
{
    int same = n_got == n_want;
    for (size_t i = 0; same && i < n_want; i++)
        same = strcmp(got[i], want[i]) == 0;
    if (!same) {
        print_message("%s: got %zu\n", what, n_got);
        for (size_t i = 0; i < n_got && i < MAX_REC; i++)
            print_message("  [%s]\n", got[i]);
        print_message("%s: wanted %zu\n", what, n_want);
        for (size_t i = 0; i < n_want; i++)
            print_message("  [%s]\n", want[i]);
        fail();
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define EXPECT_ENTRIES(r, ...)                                                              \
    do {                                                                                   \
        static const char *const want_[] = {__VA_ARGS__};                                  \
        expect_list((r)->ent, (r)->n, want_, NELEM(want_), "entries");                      \
        assert_int_equal((r)->bad, 0);                                                     \
    } while (0)
#define EXPECT_NO_ENTRIES(r) assert_int_equal((r)->n, 0)
#define EXPECT_NOTICES(r, ...)                                                              \
    do {                                                                                   \
        static const char *const want_[] = {__VA_ARGS__};                                  \
        expect_list((r)->note, (r)->nn, want_, NELEM(want_), "notices");                    \
    } while (0)
#define EXPECT_NO_NOTICES(r) expect_list((r)->note, (r)->nn, NULL, 0, "notices")

/* The tree of the ordering tests: names chosen so strcmp order differs from whole-path order
 * ("a" < "a.conf" per component, but "a.conf" < "a/..." as paths), from case-folding ("B"
 * first) and from a signed-char compare ("\xc3\xa9" last). */
static void order_tree(void)
{
    mkfile("DIR/b", "b\n");
    mkfile("DIR/a/c/x", "x\n");
    mkfile("DIR/a/b.conf", "k=v\n");
    mkfile("DIR/a.conf", "a\n");
    mkfile("DIR/B", "B\n");
    mkfile("DIR/z", "z\n");
    mkfile("DIR/\xc3\xa9", "e\n");
    mkdirs("DIR/empty");
    mkdirs("DIR/a/d/e");
}

/* ---- order and display paths ------------------------------------------------------------ */

static void test_order_relative_root(void **state)
{
    (void)state;
    order_tree();
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/B|B|B", "f DIR/a/b.conf|a/b.conf|b.conf", "f DIR/a/c/x|a/c/x|x",
                   "f DIR/a.conf|a.conf|a.conf", "f DIR/b|b|b", "f DIR/z|z|z",
                   "f DIR/\xc3\xa9|\xc3\xa9|\xc3\xa9");
    EXPECT_NO_NOTICES(r);
    rec_clear(r);
}

static void test_order_trailing_slashes(void **state)
{
    (void)state;
    order_tree();
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR/", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/B|B|B", "f DIR/a/b.conf|a/b.conf|b.conf", "f DIR/a/c/x|a/c/x|x",
                   "f DIR/a.conf|a.conf|a.conf", "f DIR/b|b|b", "f DIR/z|z|z",
                   "f DIR/\xc3\xa9|\xc3\xa9|\xc3\xa9");
    EXPECT_NO_NOTICES(r);

    /* several slashes collapse into one; "./DIR" is kept as given */
    assert_int_equal(run(r, "./DIR//", NULL), 0);
    assert_int_equal(r->n, 7);
    assert_string_equal(r->ent[1], "f ./DIR/a/b.conf|a/b.conf|b.conf");
    assert_string_equal(r->ent[6], "f ./DIR/\xc3\xa9|\xc3\xa9|\xc3\xa9");
    assert_int_equal(r->bad, 0);
    rec_clear(r);
}

static void test_order_absolute_root(void **state)
{
    (void)state;
    order_tree();
    char root[128], want0[256], want2[256];
    snprintf(root, sizeof(root), "%s/DIR", scratch);
    snprintf(want0, sizeof(want0), "f %s/DIR/B|B|B", scratch);
    snprintf(want2, sizeof(want2), "f %s/DIR/a/c/x|a/c/x|x", scratch);
    rec *r = rec_new(0);
    assert_int_equal(run(r, root, NULL), 0);
    assert_int_equal(r->n, 7);
    assert_string_equal(r->ent[0], want0);
    assert_string_equal(r->ent[2], want2);
    assert_int_equal(r->bad, 0);
    rec_clear(r);
}

/* A file root: rel "", path the root as given, name its last component. */
static void test_file_root(void **state)
{
    (void)state;
    order_tree();
    mkfile("top.conf", "top\n");
    mklink("DIR/a/b.conf", "lnk.conf");
    rec *r = rec_new(0);

    assert_int_equal(run(r, "DIR/a/b.conf", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/a/b.conf||b.conf");
    EXPECT_NO_NOTICES(r);

    assert_int_equal(run(r, "top.conf", NULL), 0);
    EXPECT_ENTRIES(r, "f top.conf||top.conf");

    char abs[128], want[256];
    snprintf(abs, sizeof(abs), "%s/top.conf", scratch);
    snprintf(want, sizeof(want), "f %s||top.conf", abs);
    assert_int_equal(run(r, abs, NULL), 0);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->ent[0], want);
    assert_int_equal(r->bad, 0);

    /* a root that is a symlink is followed: reported as the regular file it names */
    assert_int_equal(run(r, "lnk.conf", NULL), 0);
    EXPECT_ENTRIES(r, "f lnk.conf||lnk.conf");

    /* a file root with a trailing slash is not a directory */
    assert_int_equal(run(r, "top.conf/", NULL), -ENOTDIR);
    EXPECT_NO_ENTRIES(r);
    rec_clear(r);
}

/* Reads a whole small file through sa_walk_open into hook_data. */
static int hook_read(rec *r, const sa_walk_entry *e)
{
    int fd = sa_walk_open(e, 0);
    r->hook_rc = fd;
    if (fd >= 0) {
        ssize_t n = read(fd, r->hook_data, sizeof(r->hook_data) - 1);
        r->hook_data[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    return 0;
}

static void test_file_root_open(void **state)
{
    (void)state;
    mkfile("sub/one.conf", "one\n");
    mkfile("two.conf", "two\n");
    rec *r = rec_new(0);
    r->hook = hook_read;
    assert_int_equal(run(r, "sub/one.conf", NULL), 0);
    assert_true(r->hook_rc >= 0);
    assert_string_equal(r->hook_data, "one\n");
    assert_int_equal(run(r, "two.conf", NULL), 0);
    assert_true(r->hook_rc >= 0);
    assert_string_equal(r->hook_data, "two\n");
    rec_clear(r);
}

/* Stops at the first file; the walk of "/" is kept cheap by a depth limit of 0. */
static int hook_stop_first(rec *r, const sa_walk_entry *e)
{
    (void)r;
    (void)e;
    return -100;
}

static void test_root_slash_join(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_dir_depth = 0;
    sa_walk_opts o = {.lim = &lim};
    rec *r = rec_new(0);
    r->hook = hook_stop_first;
    int rc = run(r, "/", &o);
    assert_true(rc == 0 || rc == -100);
    assert_true(r->n + r->nn > 0);
    /* every directory of "/" gets a depth notice, "/name", never "//name" */
    for (size_t i = 0; i < r->nn && i < MAX_REC; i++) {
        assert_int_equal(r->note[i][0], '/');
        assert_true(r->note[i][1] != '/' && r->note[i][1] != '|');
        assert_non_null(strstr(r->note[i], "|0|directory depth limit (0) reached"));
    }
    if (r->n > 0) {
        assert_int_equal(rc, -100);
        assert_int_equal(r->n, 1);
        /* "<t> /name|name|name" */
        const char *s = r->ent[0];
        const char *bar = strchr(s, '|');
        assert_non_null(bar);
        assert_memory_equal(s + 2, "/", 1);
        assert_true(s[3] != '/');
        assert_memory_equal(s + 3, bar + 1, (size_t)(bar - s - 3));
        assert_int_equal(r->bad, 0);
    }
    rec_clear(r);
}

/* ---- symlinks --------------------------------------------------------------------------- */

static int hook_open_links(rec *r, const sa_walk_entry *e)
{
    if (strcmp(e->name, "ld") == 0) {
        r->hook_rc = sa_walk_open(e, 0);
        r->hook_rc2 = sa_walk_open(e, 1);
    } else if (strcmp(e->name, "lf") == 0) {
        int fd0 = sa_walk_open(e, 0);
        int fd1 = sa_walk_open(e, 1);
        snprintf(r->hook_data, sizeof(r->hook_data), "%d %d", fd0 < 0 ? fd0 : 1,
                 fd1 < 0 ? fd1 : 1);
        if (fd0 >= 0)
            close(fd0);
        if (fd1 >= 0)
            close(fd1);
    }
    return 0;
}

static void link_tree(void)
{
    mkfile("DIR/f", "f\n");
    mkfile("DIR/d/inner", "i\n");
    mklink("f", "DIR/lf");
    mklink("d", "DIR/ld");
    mkfile("outside/o.conf", "o\n");
    mklink("../outside", "DIR/lo");
}

static void test_symlinks_not_followed(void **state)
{
    (void)state;
    link_tree();
    rec *r = rec_new(0);
    r->hook = hook_open_links;
    assert_int_equal(run(r, "DIR", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/d/inner|d/inner|inner", "f DIR/f|f|f", "l DIR/ld|ld|ld",
                   "l DIR/lf|lf|lf", "l DIR/lo|lo|lo");
    EXPECT_NO_NOTICES(r);
    /* a link (to a directory or a file) is never opened */
    assert_int_equal(r->hook_rc, -EINVAL);
    assert_int_equal(r->hook_rc2, -EINVAL);
    char want[32];
    snprintf(want, sizeof(want), "%d %d", -EINVAL, -EINVAL);
    assert_string_equal(r->hook_data, want);
    rec_clear(r);
}

static void test_symlinks_followed(void **state)
{
    (void)state;
    link_tree();
    struct stat fst;
    assert_int_equal(stat("DIR/f", &fst), 0);
    sa_walk_opts o = {.follow_symlinks = 1};
    rec *r = rec_new(0);
    r->hook = hook_open_links;
    assert_int_equal(run(r, "DIR", &o), 0);
    /* ld -> d is the directory d again (entered once, skipped quietly); lo is descended */
    EXPECT_ENTRIES(r, "f DIR/d/inner|d/inner|inner", "f DIR/f|f|f", "f DIR/lf|lf|lf",
                   "f DIR/lo/o.conf|lo/o.conf|o.conf");
    EXPECT_NO_NOTICES(r);
    /* the followed link opens only when following is asked of sa_walk_open too */
    char want[32];
    snprintf(want, sizeof(want), "%d 1", -ELOOP);
    assert_string_equal(r->hook_data, want);
    rec_clear(r);
}

static void test_symlink_loop_and_dangling(void **state)
{
    (void)state;
    mkfile("DIR/d/f", "f\n");
    mkfile("DIR/e/g", "g\n");
    mklink("..", "DIR/d/loop");
    mklink("../d", "DIR/e/tod");
    mklink("nowhere", "DIR/dangling");
    mklink("self", "DIR/self");
    alarm(10);
    sa_walk_opts o = {.follow_symlinks = 1};
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR", &o), 0);
    /* d entered once (not again through e/tod), the loop noticed, the bad links reported */
    EXPECT_ENTRIES(r, "f DIR/d/f|d/f|f", "l DIR/dangling|dangling|dangling", "f DIR/e/g|e/g|g",
                   "l DIR/self|self|self");
    EXPECT_NOTICES(r, "DIR/d/loop|40|directory loop (it contains itself); not descended");
    assert_int_equal(ELOOP, 40);

    /* without following, every link is just a link */
    assert_int_equal(run(r, "DIR", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/d/f|d/f|f", "l DIR/d/loop|d/loop|loop",
                   "l DIR/dangling|dangling|dangling", "f DIR/e/g|e/g|g", "l DIR/e/tod|e/tod|tod",
                   "l DIR/self|self|self");
    EXPECT_NO_NOTICES(r);
    alarm(0);
    rec_clear(r);
}

/* ---- FIFOs and files swapped between stat and open --------------------------------------- */

static int hook_open_all(rec *r, const sa_walk_entry *e)
{
    int fd = sa_walk_open(e, 0);
    if (strcmp(e->name, "pg_hba.conf") == 0)
        r->hook_rc = fd;
    else if (strcmp(e->name, "ld") == 0)
        r->hook_rc2 = fd;
    if (fd >= 0)
        close(fd);
    return 0;
}

static void test_fifo_never_blocks(void **state)
{
    (void)state;
    mkdirs("DIR/d");
    mkfile("DIR/d/x", "x\n");
    assert_int_equal(mkfifo("DIR/pg_hba.conf", 0644), 0);
    mklink("d", "DIR/ld");
    alarm(10);
    rec *r = rec_new(0);
    r->hook = hook_open_all;
    r->hook_rc = 1;
    r->hook_rc2 = 1;
    assert_int_equal(run(r, "DIR", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/d/x|d/x|x", "l DIR/ld|ld|ld", "p DIR/pg_hba.conf|pg_hba.conf|"
                   "pg_hba.conf");
    assert_int_equal(r->hook_rc, -EINVAL);   /* never opened: not a regular file */
    assert_int_equal(r->hook_rc2, -EINVAL);

    sa_walk_opts o = {.follow_symlinks = 1};
    r->hook_rc = 1;
    assert_int_equal(run(r, "DIR", &o), 0);
    EXPECT_ENTRIES(r, "f DIR/d/x|d/x|x", "p DIR/pg_hba.conf|pg_hba.conf|pg_hba.conf");
    assert_int_equal(r->hook_rc, -EINVAL);

    /* a FIFO named as the root is handed over, not opened */
    assert_int_equal(run(r, "DIR/pg_hba.conf", NULL), 0);
    EXPECT_ENTRIES(r, "p DIR/pg_hba.conf||pg_hba.conf");
    alarm(0);
    rec_clear(r);
}

/* Swaps something else in for "a.conf" after the walk's stat, then opens the entry. */
static int hook_swap(rec *r, const sa_walk_entry *e)
{
    if (strcmp(e->name, "a.conf") != 0)
        return 0;
    if (strcmp(r->hook_data, "rename") == 0)
        assert_int_equal(renameat(e->dirfd, "z.new", e->dirfd, "a.conf"), 0);
    else if (strcmp(r->hook_data, "fifo") == 0)
        assert_true(unlinkat(e->dirfd, "a.conf", 0) == 0 &&
                    mkfifoat(e->dirfd, "a.conf", 0644) == 0);
    else if (strcmp(r->hook_data, "link") == 0)
        assert_true(unlinkat(e->dirfd, "a.conf", 0) == 0 &&
                    symlinkat("z.new", e->dirfd, "a.conf") == 0);
    int fd = sa_walk_open(e, 0);
    r->hook_rc = fd;
    if (fd >= 0) {
        char buf[16] = {0};
        r->hook_rc2 = (int)read(fd, buf, sizeof(buf) - 1);
        snprintf(r->hook_data, sizeof(r->hook_data), "read:%s", buf);
        close(fd);
    }
    return 0;
}

static void test_open_and_swap(void **state)
{
    (void)state;
    alarm(10);
    rec *r = rec_new(0);
    r->hook = hook_swap;

    mkfile("DIR/a.conf", "first\n");
    mkfile("DIR/z.new", "second\n");
    assert_int_equal(run(r, "DIR", NULL), 0);
    assert_true(r->hook_rc >= 0);
    assert_string_equal(r->hook_data, "read:first\n");
    assert_int_equal(r->n, 2);

    /* renamed over: another inode at the same name */
    snprintf(r->hook_data, sizeof(r->hook_data), "rename");
    assert_int_equal(run(r, "DIR", NULL), 0);
    assert_int_equal(r->hook_rc, -EINVAL);
    /* z.new vanished after the listing: skipped quietly */
    EXPECT_ENTRIES(r, "f DIR/a.conf|a.conf|a.conf");
    EXPECT_NO_NOTICES(r);

    /* a FIFO swapped in: refused without blocking */
    mkfile("DIR/z.new", "third\n");
    snprintf(r->hook_data, sizeof(r->hook_data), "fifo");
    assert_int_equal(run(r, "DIR", NULL), 0);
    assert_int_equal(r->hook_rc, -EINVAL);
    assert_int_equal(unlink("DIR/a.conf"), 0);

    /* a symlink swapped in: ELOOP, never followed */
    mkfile("DIR/a.conf", "fourth\n");
    snprintf(r->hook_data, sizeof(r->hook_data), "link");
    assert_int_equal(run(r, "DIR", NULL), 0);
    assert_int_equal(r->hook_rc, -ELOOP);
    alarm(0);
    rec_clear(r);
}

/* ---- excludes --------------------------------------------------------------------------- */

static void test_excludes(void **state)
{
    (void)state;
    mkfile("DIR/a/b.conf", "1");
    mkfile("DIR/a/b.conf.bak", "2");
    mkfile("DIR/x.bak", "3");
    mkfile("DIR/sub/y.bak", "4");
    mkfile("DIR/sub/y.bak.txt", "5");
    mkfile("DIR/skip/f", "6");
    mkfile("DIR/q/skip/f", "7");
    mkfile("DIR/q/skipped", "8");
    mkfile("DIR/a/c/x", "9");
    mkfile("DIR/a/c/deep/z", "10");
    mkfile("DIR/a/cc/x", "11");
    mkfile("DIR/b/a/c/x", "12");
    mkfile("DIR/bak.dir.bak/inside", "13");
    static const char *const globs[] = {"*.bak", "skip", "a/c/*"};
    sa_walk_opts o = {.excludes = globs, .n_excludes = 3};
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR", &o), 0);
    EXPECT_ENTRIES(r, "f DIR/a/b.conf|a/b.conf|b.conf", "f DIR/a/cc/x|a/cc/x|x",
                   "f DIR/b/a/c/x|b/a/c/x|x", "f DIR/q/skipped|q/skipped|skipped",
                   "f DIR/sub/y.bak.txt|sub/y.bak.txt|y.bak.txt");
    EXPECT_NO_NOTICES(r);

    /* the matching rules themselves */
    assert_int_equal(sa_walk_excluded(&o, "a/c/x", "x"), 1);
    assert_int_equal(sa_walk_excluded(&o, "a/c/x/y", "y"), 0);
    assert_int_equal(sa_walk_excluded(&o, "a/c", "c"), 0);
    assert_int_equal(sa_walk_excluded(&o, "b/a/c/x", "x"), 0);
    assert_int_equal(sa_walk_excluded(&o, "q/skip", "skip"), 1);
    assert_int_equal(sa_walk_excluded(&o, "q/skipx", "skipx"), 0);
    assert_int_equal(sa_walk_excluded(&o, "d/e.bak", "e.bak"), 1);
    assert_int_equal(sa_walk_excluded(NULL, "d/e.bak", "e.bak"), 0);
    static const char *const anchored[] = {"", "/a/c/*"};
    sa_walk_opts o2 = {.excludes = anchored, .n_excludes = 2};
    assert_int_equal(sa_walk_excluded(&o2, "a/c/x", "x"), 1);
    assert_int_equal(sa_walk_excluded(&o2, "x", "x"), 0);

    /* the root itself is never matched by the excludes */
    static const char *const dirglob[] = {"DIR"};
    sa_walk_opts o3 = {.excludes = dirglob, .n_excludes = 1};
    assert_int_equal(run(r, "DIR/skip", &o3), 0);
    EXPECT_ENTRIES(r, "f DIR/skip/f|f|f");
    rec_clear(r);
}

/* ---- limits, devices, stops, errors ----------------------------------------------------- */

static void test_max_dir_depth(void **state)
{
    (void)state;
    mkfile("DIR/f0", "0");
    mkfile("DIR/l1/f1", "1");
    mkfile("DIR/l1/l2/f2", "2");
    mkfile("DIR/l1/l2/l3/f3", "3");
    mkfile("DIR/l1/l2/l3/l4/f4", "4");
    sa_limits lim = sa_limits_default;
    lim.max_dir_depth = 2;
    sa_walk_opts o = {.lim = &lim};
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR", &o), 0);
    EXPECT_ENTRIES(r, "f DIR/f0|f0|f0", "f DIR/l1/f1|l1/f1|f1", "f DIR/l1/l2/f2|l1/l2/f2|f2");
    EXPECT_NOTICES(r, "DIR/l1/l2/l3|0|directory depth limit (2) reached; not descended");

    lim.max_dir_depth = 0;
    assert_int_equal(run(r, "DIR/", &o), 0);
    EXPECT_ENTRIES(r, "f DIR/f0|f0|f0");
    EXPECT_NOTICES(r, "DIR/l1|0|directory depth limit (0) reached; not descended");

    lim.max_dir_depth = 4;
    assert_int_equal(run(r, "DIR", &o), 0);
    assert_int_equal(r->n, 5);
    EXPECT_NO_NOTICES(r);

    /* the default limits apply when none are given */
    assert_int_equal(run(r, "DIR", NULL), 0);
    assert_int_equal(r->n, 5);
    rec_clear(r);
}

static void test_one_file_system(void **state)
{
    (void)state;
    mkfile("DIR/a/f", "f");
    mkfile("DIR/g", "g");
    sa_walk_opts o = {.one_file_system = 1};
    rec *r = rec_new(0);
    assert_int_equal(run(r, "DIR", &o), 0);
    EXPECT_ENTRIES(r, "f DIR/a/f|a/f|f", "f DIR/g|g|g");
    EXPECT_NO_NOTICES(r);

    /* a directory on another device (/dev/shm when it is one), reached through a followed
     * link, is skipped quietly with one_file_system and walked without */
    struct stat here, shm;
    if (stat(".", &here) != 0 || stat("/dev/shm", &shm) != 0 || here.st_dev == shm.st_dev) {
        rec_clear(r);
        return;
    }
    char other[64];
    snprintf(other, sizeof(other), "/dev/shm/sa_walker_XXXXXX");
    if (mkdtemp(other) == NULL) {
        rec_clear(r);
        return;
    }
    char path[96];
    snprintf(path, sizeof(path), "%s/o", other);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    close(fd);
    mklink(other, "DIR/m");
    o.follow_symlinks = 1;
    int rc1 = run(r, "DIR", &o);
    size_t n1 = r->n, nn1 = r->nn;
    o.one_file_system = 0;
    int rc2 = run(r, "DIR", &o);
    size_t n2 = r->n;
    int last_ok = r->n == 3 && strcmp(r->ent[2], "f DIR/m/o|m/o|o") == 0;
    unlink(path);
    rmdir(other);
    assert_int_equal(rc1, 0);
    assert_int_equal(n1, 2);
    assert_int_equal(nn1, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(n2, 3);
    assert_true(last_ok);
    rec_clear(r);
}

static int hook_stop_second(rec *r, const sa_walk_entry *e)
{
    (void)e;
    return r->n == 2 ? -7 : 5;  /* a positive value goes on */
}

static void test_callback_stops(void **state)
{
    (void)state;
    mkfile("DIR/a", "a");
    mkfile("DIR/b/c", "c");
    mkfile("DIR/d", "d");
    rec *r = rec_new(0);
    r->hook = hook_stop_second;
    assert_int_equal(run(r, "DIR", NULL), -7);
    EXPECT_ENTRIES(r, "f DIR/a|a|a", "f DIR/b/c|b/c|c");

    r->hook = hook_stop_first;
    assert_int_equal(run(r, "DIR/d", NULL), -100);
    EXPECT_ENTRIES(r, "f DIR/d||d");

    /* positive values do not stop the walk, and sa_walk returns 0 */
    r->hook = hook_stop_second;
    assert_int_equal(run(r, "DIR/b", NULL), 0);
    EXPECT_ENTRIES(r, "f DIR/b/c|c|c");
    rec_clear(r);
}

static void test_missing_root(void **state)
{
    (void)state;
    rec *r = rec_new(0);
    assert_int_equal(run(r, "nope", NULL), -ENOENT);
    assert_int_equal(run(r, "nope/deeper/", NULL), -ENOENT);
    char abs[128];
    snprintf(abs, sizeof(abs), "%s/nope", scratch);
    assert_int_equal(run(r, abs, NULL), -ENOENT);
    EXPECT_NO_ENTRIES(r);
    EXPECT_NO_NOTICES(r);
    rec_clear(r);
}

static void test_unreadable_directory(void **state)
{
    (void)state;
    if (geteuid() == 0)
        skip();
    mkfile("DIR/a", "a");
    mkfile("DIR/locked/f", "f");
    mkfile("DIR/z", "z");
    assert_int_equal(chmod("DIR/locked", 0), 0);
    rec *r = rec_new(0);
    int rc = run(r, "DIR", NULL);
    assert_int_equal(chmod("DIR/locked", 0755), 0);
    assert_int_equal(rc, 0);
    EXPECT_ENTRIES(r, "f DIR/a|a|a", "f DIR/z|z|z");
    char want[64];
    snprintf(want, sizeof(want), "DIR/locked|%d|permission denied; not assessed", EACCES);
    assert_int_equal(r->nn, 1);
    assert_string_equal(r->note[0], want);
    rec_clear(r);
}

/* ---- sa_buf_read_upto ------------------------------------------------------------------- */

static void test_buf_read_upto(void **state)
{
    (void)state;
    static char content[10001];
    for (size_t i = 0; i < 10000; i++)
        content[i] = (char)('a' + i % 26);
    content[10000] = '\0';
    mkfile("big", content);
    mkfile("empty", "");

    int fd = open("big", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    sa_buf b = {0};
    assert_int_equal(sa_buf_read_upto(&b, fd, 100), 0);
    assert_int_equal(b.len, 100);
    assert_true(b.cap <= 101);
    assert_memory_equal(b.data, content, 100);
    assert_int_equal(b.data[100], '\0');

    assert_int_equal(sa_buf_read_upto(&b, fd, 20000), 1);
    assert_int_equal(b.len, 10000);
    assert_memory_equal(b.data, content, 10000);
    assert_int_equal(b.data[10000], '\0');
    assert_true(b.cap <= 20001);

    /* at end of file already: 1 again, nothing changed */
    assert_int_equal(sa_buf_read_upto(&b, fd, 20000), 1);
    assert_int_equal(b.len, 10000);
    /* a want already met: 0 without reading */
    assert_int_equal(sa_buf_read_upto(&b, fd, 50), 0);
    assert_int_equal(b.len, 10000);
    sa_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    close(fd);

    /* exactly the file's size: 0 (the end is not seen yet), one more byte: 1 */
    fd = open("big", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10000), 0);
    assert_int_equal(b.len, 10000);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10001), 1);
    assert_int_equal(b.len, 10000);
    assert_string_equal(b.data, content);
    sa_buf_free(&b);
    close(fd);

    fd = open("empty", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 4096), 1);
    assert_int_equal(b.len, 0);
    assert_non_null(b.data);
    assert_int_equal(b.data[0], '\0');
    sa_buf_free(&b);
    close(fd);

    /* a huge want (the file size limit) costs a buffer the size of the file, not of want
     * nor of a read chunk */
    fd = open("big", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, sa_limits_default.max_file_bytes + 1), 1);
    assert_int_equal(b.len, 10000);
    assert_string_equal(b.data, content);
    assert_true(b.cap <= 2 * 10001);
    sa_buf_free(&b);
    close(fd);

    /* a file of several read chunks (3 MiB + 5), in pieces of odd sizes */
    const size_t big = ((size_t)3 << 20) + 5;
    char *blob = malloc(big);
    assert_non_null(blob);
    for (size_t i = 0; i < big; i++)
        blob[i] = (char)(i * 7 % 251 + 1);
    fd = open("huge", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, blob, big), (ssize_t)big);
    close(fd);
    fd = open("huge", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 4096), 0);
    assert_int_equal(b.len, 4096);
    assert_int_equal(sa_buf_read_upto(&b, fd, big), 0);
    assert_int_equal(b.len, big);
    assert_int_equal(sa_buf_read_upto(&b, fd, big + 1), 1);
    assert_int_equal(b.len, big);
    assert_true(b.cap <= big + 2);  /* never past the last want + 1 */
    assert_memory_equal(b.data, blob, big);
    assert_int_equal(b.data[big], '\0');
    sa_buf_free(&b);
    close(fd);
    free(blob);

    /* a pipe whose writer is gone: everything, then end of file */
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "pipe data", 9), 9);
    close(p[1]);
    assert_int_equal(sa_buf_read_upto(&b, p[0], 1000), 1);
    assert_int_equal(b.len, 9);
    assert_string_equal(b.data, "pipe data");
    sa_buf_free(&b);
    close(p[0]);

    /* a read error is returned as -errno */
    fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sa_buf_read_upto(&b, fd, 10), -EISDIR);
    sa_buf_free(&b);
    close(fd);
}

/* ---- allocation failures ---------------------------------------------------------------- */

/* Walks root with every allocation failing in turn: each run gives 0 (the failure was not
 * reached) or -ENOMEM (it was), reports a prefix of the full run's entries and notices, and
 * frees everything (the sanitizer / valgrind check leaks). */
static void torture(const char *root, const sa_walk_opts *o, unsigned long min_allocs)
{
    rec *full = rec_new(1), *r = rec_new(0);
    assert_int_equal(run(full, root, o), 0);
    assert_true(full->n > 0 && full->n <= MAX_REC);
    unsigned long n;
    for (n = 1; n < 100000; n++) {
        sa_alloc_fail_at(n);
        int rc = run(r, root, o);
        unsigned long made = sa_alloc_fail_at(0);
        if (made < n) {
            /* the failure was not reached: a complete, identical walk */
            assert_int_equal(rc, 0);
            expect_list(r->ent, r->n, (const char *const *)full->ent, full->n, "entries");
            expect_list(r->note, r->nn, (const char *const *)full->note, full->nn, "notices");
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        assert_true(r->n <= full->n && r->nn <= full->nn);
        for (size_t i = 0; i < r->n; i++)
            assert_string_equal(r->ent[i], full->ent[i]);
        for (size_t i = 0; i < r->nn; i++)
            assert_string_equal(r->note[i], full->note[i]);
    }
    assert_true(n > min_allocs);
    assert_true(n < 100000);
    rec_clear(r);
    rec_clear(full);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    alarm(60);
    order_tree();
    mkfile("DIR/a/c/skip.bak", "s");
    mklink("..", "DIR/a/d/loop");
    mklink("../a", "DIR/a/d/e/up");
    mklink("nowhere", "DIR/dangling");
    /* enough directories to grow the ancestor chain and the visited set past their first
     * allocations */
    char deep[512] = "DIR/deep";
    for (int i = 0; i < 20; i++)
        strcat(deep, "/d");
    mkdirs(deep);
    for (int i = 0; i < 40; i++) {
        char p[64];
        snprintf(p, sizeof(p), "DIR/many/s%02d", i);
        mkdirs(p);
    }
    strcat(deep, "/leaf");
    mkfile(deep, "l");
    static const char *const globs[] = {"*.bak", "a/c/nothing"};
    sa_walk_opts plain = {.excludes = globs, .n_excludes = 2};
    sa_walk_opts follow = {.follow_symlinks = 1, .excludes = globs, .n_excludes = 2};
    torture("DIR", &plain, 20);
    torture("DIR/", &follow, 20);
    torture("DIR/a/b.conf", &plain, 1);

    /* sa_buf_read_upto: -ENOMEM or success, nothing leaked */
    mkfile("data", "0123456789abcdef");
    for (unsigned long n = 1; n < 100; n++) {
        int fd = open("data", O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        sa_buf b = {0};
        sa_alloc_fail_at(n);
        int rc = sa_buf_read_upto(&b, fd, 8);
        if (rc == 0)
            rc = sa_buf_read_upto(&b, fd, 100);
        unsigned long made = sa_alloc_fail_at(0);
        close(fd);
        if (made < n) {
            assert_int_equal(rc, 1);
            assert_string_equal(b.data, "0123456789abcdef");
            sa_buf_free(&b);
            break;
        }
        assert_int_equal(rc, -ENOMEM);
        if (b.data != NULL)
            assert_int_equal(b.data[b.len], '\0');
        sa_buf_free(&b);
    }
    alarm(0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_order_relative_root),
        T(test_order_trailing_slashes),
        T(test_order_absolute_root),
        T(test_file_root),
        T(test_file_root_open),
        T(test_root_slash_join),
        T(test_symlinks_not_followed),
        T(test_symlinks_followed),
        T(test_symlink_loop_and_dangling),
        T(test_fifo_never_blocks),
        T(test_open_and_swap),
        T(test_excludes),
        T(test_max_dir_depth),
        T(test_one_file_system),
        T(test_callback_stops),
        T(test_missing_root),
        T(test_unreadable_directory),
        T(test_buf_read_upto),
        T(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
