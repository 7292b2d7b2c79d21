/* suppress.h — suppressing accepted findings: `secaudit:ignore RULE-ID[,RULE-ID…] reason`
 * comments in the scanned files (collected while each file is parsed, one comment syntax per
 * format in one table), and ignore files (`--ignore FILE`, `.secaudit-ignore.yml` at a scanned
 * root) whose entries name a rule, a path glob, an optional fingerprint, a reason and an
 * optional expiry date. A suppressed finding stays in the result, marked with its kind and
 * reason; it never counts toward the exit code.
 *
 * Ownership: an sa_ignore_list owns its entries (sa_ignore_free); comments live in the
 * sa_result. */
#ifndef SECAUDIT_SUPPRESS_H
#define SECAUDIT_SUPPRESS_H

#include <stddef.h>

#include "secaudit/finding.h"
#include "secaudit/limits.h"
#include "secaudit/rules.h"

/* The name of the ignore file read at the top of a scanned directory. */
#define SA_IGNORE_FILE_NAME ".secaudit-ignore.yml"

/* Record the secaudit:ignore comments of a parsed file (format as in sa_parse_format) in
 * res, at most lim->max_ignore_comments (past it, a notice). A format without a row in the
 * comment table has none. Linear in len. 0, or -1 when out of memory. */
int sa_suppress_collect(sa_result *res, const char *format, const char *file, const char *rel,
                        size_t seq, const char *text, size_t len, const sa_limits *lim);

typedef struct sa_ignore_entry {
    char *rule, *path, *fingerprint, *reason;  /* fingerprint may be NULL */
    char expires[11];       /* "YYYY-MM-DD", or "" */
    char *origin;           /* the ignore file's path */
    unsigned line;          /* of the entry */
    long root;              /* index of the scan root it belongs to, -1: every root */
    int used;
} sa_ignore_entry;

typedef struct sa_ignore_list {
    sa_ignore_entry *v;
    size_t n, cap;
} sa_ignore_list;

/* Load an ignore file's entries into l (strict: unknown keys, missing fields, bad dates are
 * errors). 0; 1 when optional and the file does not exist; -1 with "path:line:col: message"
 * in err. */
int sa_ignore_load(sa_ignore_list *l, const char *path, long root, int optional,
                   const sa_limits *lim, char *err, size_t errcap);
void sa_ignore_free(sa_ignore_list *l);

/* Today's date in UTC as YYYY-MM-DD, or SECAUDIT_TODAY when set (for tests). 0, or -1 with
 * err when SECAUDIT_TODAY is not a valid date. */
int sa_today(char out[11], char *err, size_t errcap);
/* 1 when s is a valid YYYY-MM-DD date. */
int sa_date_valid(const char *s, size_t len);

typedef struct sa_suppress_opts {
    int inline_ignores;          /* honour secaudit:ignore comments */
    sa_ignore_list *ignores;     /* may be NULL */
    const char *today;           /* YYYY-MM-DD */
} sa_suppress_opts;

/* Mark the findings of res that a comment or an entry suppresses; add a finding of
 * SECAUDIT-IGNORE-NO-REASON for each comment without a reason, and notices for unused
 * comments and entries and for expired entries; sort res again. 0, or -1 when out of
 * memory. */
int sa_suppress_apply(sa_result *res, const sa_suppress_opts *o);

/* The built-in rule a comment without a reason is reported under. */
extern const sa_rule sa_rule_ignore_no_reason;

#endif
