/* checks.h — named checks written in C, for what a rule's condition cannot express. A rule
 * names one with `check: NAME`; the table in checks.c is the only registry. */
#ifndef SECAUDIT_RULES_CHECKS_H
#define SECAUDIT_RULES_CHECKS_H

#include "rules/engine.h"

/* Emit this rule's findings for the file (through sa_engine_emit). 0 or -1 (out of memory). */
typedef int (*sa_check_fn)(sa_file_eval *fe, const sa_rule *rule);

typedef struct sa_check {
    const char *name;
    sa_check_fn fn;
    const char *summary;
} sa_check;

const sa_check *sa_check_find(const char *name);
/* The whole table (for `rules show` and the documentation test). */
const sa_check *sa_check_table(size_t *n);

#endif
