/* profile.h — option profiles (`--profile FILE`): a YAML mapping whose keys are the long
 * option names of the command line without "--" (`format: sarif`, `fail-on: high`,
 * `exclude: [a, b]`), turned into arguments that are parsed before the command line's, so
 * the command line wins. The option table itself decides what a profile may hold: an option
 * added to the table works in profiles with no change here.
 *
 * Ownership: an sa_profile owns its argument strings (sa_profile_free). */
#ifndef SECAUDIT_PROFILE_H
#define SECAUDIT_PROFILE_H

#include <getopt.h>
#include <stddef.h>

#include "secaudit/limits.h"

typedef struct sa_profile {
    char **argv;        /* argv[0] is a placeholder; then "--name=value" or "--name" */
    int argc;
    unsigned *lines;    /* line in the profile of each argument */
    char *path;
} sa_profile;

/* Load path against the option table opts (NULL-terminated). A key that is no option, or one
 * a profile cannot hold (profile, help, version), a list for an option without a value, or a
 * value that is not a scalar is refused. 0, or -1 with "path:line:col: message" in err. */
int sa_profile_load(sa_profile *p, const char *path, const struct option *opts,
                    const sa_limits *lim, char *err, size_t errcap);
void sa_profile_free(sa_profile *p);

#endif
