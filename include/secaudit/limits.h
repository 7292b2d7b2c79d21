/* limits.h — every ceiling secaudit applies to untrusted input, in one place.
 * A value of sa_limits is plain data: copy it, change a field, pass a pointer. */
#ifndef SECAUDIT_LIMITS_H
#define SECAUDIT_LIMITS_H

#include <stddef.h>

typedef struct sa_limits {
    size_t max_file_bytes;   /* bytes read from one file; larger files are an error */
    unsigned max_depth;      /* nesting of maps/lists/elements inside one document */
    size_t max_nodes;        /* nodes in one document tree, aliases expanded included */
    size_t max_string;       /* bytes in one scalar, key or line */
    size_t max_alias_nodes;  /* nodes copied through YAML aliases in one document */
    unsigned max_dir_depth;  /* directory levels below a scan root */
    size_t max_rule_bytes;   /* bytes in one rule file */
    size_t max_regex;        /* bytes in one regular expression of a rule file */
    size_t max_ignore_comments;  /* secaudit:ignore comments read from one file */
} sa_limits;

/* 16 MiB, depth 256, 4,000,000 nodes, 1 MiB scalars, 100,000 alias nodes,
 * 128 directory levels, 1 MiB rule files, 1,024-byte regexes, 10,000 secaudit:ignore
 * comments per file. */
extern const sa_limits sa_limits_default;

#endif
