/* state.h — what the last successful delivery told (`--state FILE`): the fingerprint of
 * each finding notified, with enough to describe it once it is resolved (rule id, severity,
 * file, line, title). A run compares its findings with the state: a finding no entry matches
 * is new, an entry no finding matches is resolved. The state is written only after every
 * notification of the run was delivered, atomically (a temporary file in the same directory,
 * fsync, rename; mode 0600). The format is JSON (REPORT_FORMAT.md, "State files").
 *
 * Ownership: an sa_state owns its entries (sa_state_free); sa_changes points into the result
 * and the state it was computed from, which must outlive it. */
#ifndef SECAUDIT_STATE_H
#define SECAUDIT_STATE_H

#include <stddef.h>

#include "secaudit/finding.h"
#include "secaudit/limits.h"
#include "secaudit/rules.h"

#define SA_STATE_VERSION 1

typedef struct sa_state_entry {
    char fingerprint[17];
    char *rule_id;
    sa_severity severity;
    char *file;       /* display path */
    unsigned line;
    char *title;
    int matched;      /* set by sa_state_diff: 1 matched, 2 kept (its file had an error) */
} sa_state_entry;

typedef struct sa_state {
    sa_state_entry *v;
    size_t n;
} sa_state;

typedef struct sa_changes {
    const sa_finding **added;        /* findings of the run no state entry matches */
    size_t n_added;
    const sa_state_entry **resolved; /* state entries no finding of the run matches */
    size_t n_resolved;
} sa_changes;

/* Does the run notify about f: not suppressed, at or above min, not unchanged against a
 * --baseline. The state records exactly these. */
int sa_state_tracks(const sa_finding *f, sa_severity min);

/* Load a state file. A file that does not exist is an empty state (*missing set to 1): the
 * first run. 0, or -1 with "file:line:col: what is wrong" (or a read error) in err. */
int sa_state_load(sa_state *st, const char *path, const sa_limits *lim, int *missing,
                  char *err, size_t errcap);
void sa_state_free(sa_state *st);

/* The changes of res against st (st may be empty: every tracked finding is new). Entries and
 * findings with the same fingerprint match one to one. An unmatched entry whose file has an
 * error in res (unreadable, unparsable this time) is kept (matched = 2), not resolved: the
 * file was not assessed, not fixed. 0, or -1 when out of memory. */
int sa_state_diff(const sa_result *res, sa_state *st, sa_severity min, sa_changes *ch);
void sa_changes_free(sa_changes *ch);

/* Write the state of res (its tracked findings, and the entries of st that sa_state_diff
 * kept; st may be NULL) to path atomically, mode 0600. 0, or -1 with a message in err. */
int sa_state_save(const char *path, const sa_result *res, const sa_state *st,
                  sa_severity min, char *err, size_t errcap);

#endif
