/* walk.h — a safe, deterministic walk over the trees to scan, and safe reads of the files
 * in them (see HARDENING.md: openat with held descriptors, no symlinks unless asked,
 * regular files only, size cap, sorted order).
 *
 * Ownership: an sa_walk_entry and its strings are valid only during the callback that
 * receives it. An sa_buf owns its data; release it with sa_buf_free. */
#ifndef SECAUDIT_WALK_H
#define SECAUDIT_WALK_H

#include <stddef.h>
#include <sys/stat.h>
#include "secaudit/limits.h"

typedef struct sa_walk_opts {
    int follow_symlinks;           /* follow symlinks to files and directories */
    int one_file_system;           /* do not descend into directories on another device */
    const char *const *excludes;   /* globs: without "/" they match any path component's
                                      name; with "/" the path relative to the root */
    size_t n_excludes;
    const sa_limits *lim;          /* max_dir_depth */
} sa_walk_opts;

typedef struct sa_walk_entry {
    const char *root;   /* the root as given */
    const char *path;   /* display path: root joined with rel ("" rel → root itself) */
    const char *rel;    /* path relative to the root; "" when the root is this file */
    const char *name;   /* last component */
    int dirfd;          /* descriptor of the directory holding the entry (AT_FDCWD for a
                           root that is a file given by a relative path) */
    struct stat st;     /* fstatat of the entry: lstat-like unless following symlinks */
} sa_walk_entry;

/* Called for every entry that is not a directory (regular files, and also symlinks that are
 * not followed, FIFOs, sockets, devices: look at st.st_mode; only regular files may be
 * opened). Return 0 to go on, a negative value to stop the walk (sa_walk returns it). */
typedef int (*sa_walk_file_fn)(void *ctx, const sa_walk_entry *e);
/* Called when something is not assessed: an unreadable directory (err = EACCES/EPERM), a
 * directory past max_dir_depth, a directory loop, a vanished entry. msg is a sentence. */
typedef void (*sa_walk_notice_fn)(void *ctx, const char *path, int err, const char *msg);

/* Walk root depth-first in byte order of names (strcmp). A root that is a symlink is
 * followed (it was named on purpose); below it, symlinks are followed only when asked.
 * Excluded directories are not entered. Returns 0, a negative value from a callback, or
 * -errno when root itself cannot be opened (nothing is walked then). */
int sa_walk(const char *root, const sa_walk_opts *opts, sa_walk_file_fn on_file,
            sa_walk_notice_fn on_notice, void *ctx);

/* Open a regular file found by the walk: openat(O_RDONLY|O_NOFOLLOW unless following|
 * O_NONBLOCK|O_NOCTTY|O_CLOEXEC), then fstat: it must be a regular file with the dev/ino
 * of e->st (when following, of the target). Returns a descriptor, or -errno (-ELOOP for a
 * symlink raced in, -EINVAL when it is not the same regular file any more). */
int sa_walk_open(const sa_walk_entry *e, int follow_symlinks);

typedef struct sa_buf {
    char *data;   /* NUL-terminated after each read (data[len] == 0) */
    size_t len;
    size_t cap;
} sa_buf;

/* Read from fd until buf->len >= want or end of file. Returns 1 at end of file, 0 when want
 * bytes are there, -errno on a read error. EINTR/EAGAIN are retried. */
int sa_buf_read_upto(sa_buf *buf, int fd, size_t want);
void sa_buf_free(sa_buf *buf);

/* Read a whole file named by the user or found at a scan root (a profile, an ignore file, a
 * baseline): a regular file of at most max bytes, opened without blocking on a FIFO, and
 * without following a final symbolic link when nofollow. 0, or -1 with errno set (EINVAL:
 * not a regular file, EFBIG: larger than max, ELOOP: a link when nofollow) and buf empty. */
int sa_read_user_file(const char *path, size_t max, int nofollow, sa_buf *buf);
/* The reason for a failed sa_read_user_file, for messages. */
const char *sa_read_user_file_error(int err);

/* Does glob match this path (relative, "/"-separated) under the exclude rules above? */
int sa_walk_excluded(const sa_walk_opts *opts, const char *rel, const char *name);

#endif
