/* scan.h — the pipeline for a set of roots: walk → detect → parse → view → evaluate, into an
 * sa_result (findings, errors, notices, counts).
 *
 * Ownership: the caller owns opts, the ruleset (which must outlive the result) and the
 * result (sa_result_free). */
#ifndef SECAUDIT_SCAN_H
#define SECAUDIT_SCAN_H

#include <stddef.h>

#include "secaudit/finding.h"
#include "secaudit/limits.h"
#include "secaudit/parse.h"
#include "secaudit/rules.h"
#include "secaudit/walk.h"

typedef struct sa_scan_opts {
    const char *const *roots;
    size_t n_roots;
    int follow_symlinks;
    int one_file_system;
    const char *const *excludes;
    size_t n_excludes;
    sa_limits lim;
    unsigned jobs;  /* threads that read, parse and evaluate files; 0 or 1: all in the
                       calling thread. The result is the same whatever the number. */
} sa_scan_opts;

/* Scan every root into res (which must be zeroed). A root that cannot be opened is an error
 * in res, not a failure. Returns 0, or -1 when out of memory (res then holds what was found
 * so far and must still be freed). */
int sa_scan(const sa_ruleset *rs, const sa_scan_opts *opts, sa_result *res);

/* Which service claims a file with this display path, given its first bytes (head, NUL-
 * terminated, may be NULL when not read yet)? Sets *needs_sniff when only a sniff pattern
 * could claim it and head was NULL, and *pat to the claiming pattern. NULL when no service
 * claims it. */
const sa_service *sa_detect(const sa_ruleset *rs, const char *path, const char *head,
                            int *needs_sniff, const sa_filepat **pat);

/* Parse text as format ("json", "pghba", …) into doc. 0, or -1 with err. */
int sa_parse_format(const char *format, sa_doc *doc, sa_perr *err);

#endif
