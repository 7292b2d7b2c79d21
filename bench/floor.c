/* floor.c — the least work a scan of a tree can do, to measure secaudit against: walk the
 * tree as secaudit does (directories opened with openat relative to their parent, never
 * following a symbolic link, names sorted with strcmp, every entry fstatat'ed without
 * following), decide which files a service claims with the library's own sa_detect (the
 * built-in rule set, the same path patterns and the same 4 KiB sniff), and read each claimed
 * file whole. Nothing is parsed or evaluated.
 *
 * usage: floor PATH...   prints "files N claimed N bytes N" */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secaudit/rules.h"
#include "secaudit/scan.h"

enum { SNIFF = 4096, MAX_DEPTH = 64 };

static const sa_ruleset *rs;
static unsigned long n_files, n_claimed;
static unsigned long long n_bytes;
static char *buf;
static size_t cap;

/* Read the rest of fd after its first `have` bytes into buf. */
static void read_all(int fd, size_t have)
{
    size_t len = have;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            if ((buf = realloc(buf, cap + 1)) == NULL)
                exit(2);
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    n_bytes += len;
}

static void file(int dfd, const char *path, const char *name)
{
    n_files++;
    int needs_sniff = 0;
    const sa_filepat *pat = NULL;
    const sa_service *svc = sa_detect(rs, path, NULL, &needs_sniff, &pat);
    if (svc == NULL && !needs_sniff)
        return;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return;
    size_t have = 0;
    if (svc == NULL) {
        if (cap < SNIFF && (buf = realloc(buf, (cap = 1 << 16) + 1)) == NULL)
            exit(2);
        while (have < SNIFF) {
            ssize_t r = read(fd, buf + have, SNIFF - have);
            if (r <= 0)
                break;
            have += (size_t)r;
        }
        buf[have] = '\0';
        svc = sa_detect(rs, path, buf, &needs_sniff, &pat);
    }
    if (svc) {
        n_claimed++;
        read_all(fd, have);
    }
    close(fd);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void dir(int fd, const char *path, int depth)
{
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    char **names = NULL;
    size_t n = 0, ncap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == ncap && (names = realloc(names, (ncap = ncap ? 2 * ncap : 64) *
                                                     sizeof(*names))) == NULL)
            exit(2);
        if ((names[n++] = strdup(de->d_name)) == NULL)
            exit(2);
    }
    qsort(names, n, sizeof(*names), cmp);
    size_t pl = strlen(path);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]);
        char *p = malloc(pl + nl + 2);
        if (p == NULL)
            exit(2);
        memcpy(p, path, pl);
        size_t o = pl;
        if (o && p[o - 1] != '/')
            p[o++] = '/';
        memcpy(p + o, names[i], nl + 1);
        struct stat st;
        if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(st.st_mode)) {
                int sub = depth < MAX_DEPTH
                              ? openat(dirfd(d), names[i],
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                              : -1;
                if (sub >= 0)
                    dir(sub, p, depth + 1);
            } else if (S_ISREG(st.st_mode)) {
                file(dirfd(d), p, names[i]);
            }  /* symbolic links and special files: looked at, never opened */
        }
        free(p);
        free(names[i]);
    }
    free(names);
    closedir(d);
}

int main(int argc, char **argv)
{
    sa_ruleset *r = NULL;
    sa_rule_error err = {{0}};
    if (sa_ruleset_load_builtin(&r, &sa_limits_default, &err) < 0 ||
        sa_ruleset_finish(r, &err) < 0) {
        fprintf(stderr, "floor: %s\n", err.msg);
        return 2;
    }
    rs = r;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            perror(argv[i]);
            return 2;
        }
        if (S_ISDIR(st.st_mode)) {
            dir(fd, argv[i], 0);
        } else {
            close(fd);
            file(AT_FDCWD, argv[i], argv[i]);
        }
    }
    printf("files %lu claimed %lu bytes %llu\n", n_files, n_claimed, n_bytes);
    free(buf);
    sa_ruleset_free(r);
    return 0;
}
