/* baseline.h — accepted findings recorded once (`--write-baseline FILE`) and compared with
 * later scans (`--baseline FILE`): a finding whose fingerprint the baseline holds is
 * unchanged, any other is new; baseline entries no finding matches are absent. Fingerprints
 * hold no line, so moving a setting does not make it new. The file is JSON
 * (REPORT_FORMAT.md, "Baselines").
 *
 * Ownership: an sa_baseline owns its entries (sa_baseline_free); absent entries are copied
 * into the sa_result. */
#ifndef SECAUDIT_BASELINE_H
#define SECAUDIT_BASELINE_H

#include <stddef.h>
#include <stdio.h>

#include "secaudit/finding.h"
#include "secaudit/limits.h"
#include "secaudit/rules.h"

#define SA_BASELINE_VERSION 1

typedef struct sa_baseline_entry {
    char fingerprint[17];
    char *rule_id;
    char *path;
    unsigned line;
    int matched;
} sa_baseline_entry;

typedef struct sa_baseline {
    sa_baseline_entry *v;
    size_t n;
} sa_baseline;

/* Load a baseline file. 0, or -1 with a message in err. */
int sa_baseline_load(sa_baseline *b, const char *path, const sa_limits *lim, char *err,
                     size_t errcap);
void sa_baseline_free(sa_baseline *b);

/* Mark every finding of res (suppressed ones too, for SARIF's sake) new or unchanged (each
 * baseline entry matches one finding with its fingerprint), and copy the entries nothing
 * matched into res->absent (rules looked up in rs). 0, or -1 when out of memory. */
int sa_baseline_apply(sa_result *res, sa_baseline *b, const sa_ruleset *rs);

/* Write the baseline of res (every unsuppressed finding, at any severity) to out. 0 or -1. */
int sa_baseline_write(FILE *out, const sa_result *res);

#endif
