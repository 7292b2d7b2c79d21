/* limits.c — the default ceilings (documented in README.md, "Limits"). */
#include "secaudit/limits.h"

const sa_limits sa_limits_default = {
    .max_file_bytes = 16u * 1024 * 1024,
    .max_depth = 256,
    .max_nodes = 4000000,
    .max_string = 1024 * 1024,
    .max_alias_nodes = 100000,
    .max_dir_depth = 128,
    .max_rule_bytes = 1024 * 1024,
    .max_regex = 1024,
    .max_ignore_comments = 10000,
};
