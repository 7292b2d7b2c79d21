/* rules.h — the rule table: services (file patterns, format, view, defaults) and their rules,
 * loaded from YAML rule files (the built-in set compiled into the binary, plus --rules DIR).
 *
 * Ownership: an sa_ruleset owns everything it points to, including the parsed rule files
 * (defaults point into them); sa_ruleset_free releases it all. Rules and services stay
 * valid as long as the ruleset. */
#ifndef SECAUDIT_RULES_H
#define SECAUDIT_RULES_H

#include <regex.h>
#include <stddef.h>

#include "secaudit/doc.h"
#include "secaudit/limits.h"

typedef enum sa_severity {
    SA_SEV_INFO,
    SA_SEV_LOW,
    SA_SEV_MEDIUM,
    SA_SEV_HIGH,
    SA_SEV_CRITICAL,
    SA_SEV_NONE  /* only as a --fail-on threshold: nothing fails */
} sa_severity;

const char *sa_severity_name(sa_severity s);
/* "critical".."info" (and "none" when allow_none); 0 on success, -1 if unknown. */
int sa_severity_parse(const char *s, int allow_none, sa_severity *out);

typedef struct sa_expr sa_expr;  /* a compiled condition (expr.h) */

typedef struct sa_filepat {
    char *glob;        /* without "/": the file's name; with "/": the trailing components */
    int has_slash;
    int sniff_set;     /* 1: the file is claimed only when sniff matches its first 4 KiB */
    regex_t sniff;
    char *sniff_src;
    char *format;      /* the format of files this pattern claims (NULL: the service's) */
    char *view;        /* the view they are read through (NULL: the service's) */
    int also;          /* `also: true`: the file is judged by this service as well as by the
                          one that claims it (systemd units: every unit, Pyro's included) */
    char *included_by; /* a path relative to the file's directory: when it exists, the file
                          is not judged on its own (that main configuration includes it) */
} sa_filepat;

typedef struct sa_default {
    char *key;             /* a path in the service's view; "*" matches one component */
    const sa_node *value;  /* literal value (points into the rule file's tree), or NULL */
    char *same_as;         /* or: the value of this other path */
    sa_expr *same_as_path; /* same_as, compiled */
    char *since, *until;   /* versions the default holds for (inclusive), either may be NULL */
    char *note;            /* said in the report, e.g. "Orthanc >= 1.5.8" */
} sa_default;

typedef struct sa_rule {
    char *id;
    char *title;
    sa_severity severity;
    struct sa_service *service;
    char *when_src;       /* the condition as written */
    sa_expr *when;        /* compiled condition (NULL when check is used) */
    char *check;          /* name of a C check (checks.c) instead of, or alongside, when */
    char *for_each;       /* evaluate once per element of this list/map (NULL: once) */
    char *at;             /* path whose position the finding takes (relative to the element) */
    char *key;            /* path whose value labels the finding (default: the at path) */
    sa_expr *each_path, *at_path, *key_path;  /* the three above, compiled */
    char *message;        /* sentence with {key} and {value} placeholders (default: title) */
    char *rationale;
    char *remediation;
    char **refs;
    size_t n_refs;
    char *origin;         /* rule file and line: "rules/orthanc.yml:42" */
} sa_rule;

typedef struct sa_service {
    char *name;           /* "orthanc" */
    char *title;          /* "Orthanc" */
    char *description;
    char *format;         /* json | yaml | xml | ini | systemd | env | pgconf | properties | pghba */
    char *view;           /* tree | omero-config */
    char *version;        /* version whose defaults apply when the user names none */
    int merge_dir;        /* `merge: directory`: the claimed files of one directory are one
                             configuration (their top-level members merged) */
    sa_filepat *files;
    size_t n_files;
    char **secrets;       /* view paths whose values are secret ("*" matches one component) */
    size_t n_secrets;
    sa_default *defaults;
    size_t n_defaults;
    sa_rule **rules;      /* this service's rules, in id order */
    size_t n_rules;
    char *assumed_version;  /* set by sa_ruleset_assume_version, else NULL */
} sa_service;

typedef struct sa_ruleset {
    sa_service **services;  /* in name order */
    size_t n_services;
    sa_rule **rules;        /* every rule, in id order */
    size_t n_rules;
    struct sa_rulefile *files;  /* loaded rule files (private) */
    sa_limits lim;
} sa_ruleset;

/* Where a load failed: "path:line:col: message". */
typedef struct sa_rule_error {
    char msg[512];
} sa_rule_error;

/* Load the built-in rule files; 0 or -1 with err filled. */
int sa_ruleset_load_builtin(sa_ruleset **out, const sa_limits *lim, sa_rule_error *err);
/* Load every *.yml / *.yaml file in dir (sorted) into rs; a rule whose id exists replaces
 * it; a service that exists gains the file's patterns, defaults and rules. 0 or -1. */
int sa_ruleset_load_dir(sa_ruleset *rs, const char *dir, sa_rule_error *err);
/* Load one rule file from memory (name is used in messages). 0 or -1. */
int sa_ruleset_load_buffer(sa_ruleset *rs, const char *name, const char *data, size_t len,
                           sa_rule_error *err);
/* Sort services and rules and check references; call after the last load. 0 or -1. */
int sa_ruleset_finish(sa_ruleset *rs, sa_rule_error *err);
void sa_ruleset_free(sa_ruleset *rs);

const sa_rule *sa_ruleset_find_rule(const sa_ruleset *rs, const char *id);
sa_service *sa_ruleset_find_service(const sa_ruleset *rs, const char *name);
/* Does rule read the key of default d (its condition, for_each or at names it as a whole
 * word; a "PREFIX.*.NAME" default counts for a rule iterating PREFIX that reads NAME)? For
 * `rules show` and the coverage tables. */
int sa_rule_reads_default(const sa_rule *rule, const sa_default *d);

/* "orthanc=1.5.7": the defaults of that version apply. 0, or -1 for an unknown service. */
int sa_ruleset_assume_version(sa_ruleset *rs, const char *spec, sa_rule_error *err);

/* Compare dotted versions numerically ("1.10" > "1.9"); <0, 0, >0. */
int sa_version_cmp(const char *a, const char *b);

#endif
