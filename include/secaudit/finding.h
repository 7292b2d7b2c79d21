/* finding.h — findings and scan errors, the one list every report writer is fed.
 *
 * Ownership: an sa_result owns its findings' and errors' strings (sa_result_free); a
 * finding points at its rule, which the ruleset owns and which must outlive the result. The
 * strings of one finding (file, rel, key, message, evidence, default_note) are a single
 * allocation that starts at `file`: sa_free(f->file) releases them all. */
#ifndef SECAUDIT_FINDING_H
#define SECAUDIT_FINDING_H

#include <stddef.h>

#include "secaudit/rules.h"

/* How a finding is suppressed (suppress.h): not, by a secaudit:ignore comment in the file,
 * or by an entry of an ignore file. */
typedef enum sa_supp_kind { SA_SUPP_NONE, SA_SUPP_INSOURCE, SA_SUPP_EXTERNAL } sa_supp_kind;
/* Its state against a baseline (baseline.h): no baseline given, new, or in the baseline. */
typedef enum sa_base_state { SA_BASE_NONE, SA_BASE_NEW, SA_BASE_UNCHANGED } sa_base_state;

typedef struct sa_finding {
    const sa_rule *rule;
    char *file;            /* display path (the root as given joined with the relative path) */
    char *rel;             /* path relative to its scan root (basename for a file root) */
    unsigned line, col;    /* 1-based; col counts code points */
    char *key;             /* the config key or record the finding is about */
    char *message;
    char *evidence;        /* "key = value", secrets redacted, at most ~200 bytes */
    int source_default;    /* 1: the service's default applies (the key is absent) */
    char *default_note;    /* the default's note when source_default, else NULL */
    char fingerprint[17];  /* 16 hex digits: rule + rel + key + redacted value */
    size_t seq;            /* order of the file in the walk */
    sa_supp_kind suppressed;
    char *suppress_reason; /* the suppression's reason when suppressed, else NULL */
    char *suppress_origin; /* "file:line" of the comment or ignore-file entry, else NULL */
    sa_base_state baseline;
} sa_finding;

typedef struct sa_error {
    char *file;
    unsigned line, col;    /* 0 when the problem has no position (unreadable file) */
    char *service;         /* the service that claims the file */
    char *message;
    size_t seq;
} sa_error;

typedef struct sa_notice {  /* something not assessed that no service claimed, or a note
                               about a suppression (unused, expired) */
    char *path;
    char *message;
    unsigned line;          /* 0: no position */
} sa_notice;

/* A secaudit:ignore comment met in a parsed file (suppress.c). */
typedef struct sa_ignore_comment {
    char *file;             /* display path, as findings have it */
    char *rel;
    unsigned line, col;     /* of the marker */
    int alone;              /* the comment is the only thing on its line: it covers the next */
    char *rules;            /* "ID1,ID2" as written ("" when none) */
    char *reason;           /* "" when none */
    size_t seq;
    unsigned used;          /* bit i: the i-th rule id named suppressed a finding */
} sa_ignore_comment;

/* A baseline entry no finding of this scan matches (baseline.c). */
typedef struct sa_absent {
    char fingerprint[17];
    char *rule_id;
    char *path;             /* relative to its root */
    unsigned line;
    const sa_rule *rule;    /* the rule when the ruleset still has it, else NULL */
} sa_absent;

typedef struct sa_result {
    sa_finding *findings;
    size_t n_findings, cap_findings;
    sa_error *errors;
    size_t n_errors, cap_errors;
    sa_notice *notices;
    size_t n_notices, cap_notices;
    char **roots;
    size_t n_roots;
    size_t files_seen;     /* regular files the walk met */
    size_t files_parsed;   /* claimed files parsed and evaluated */
    sa_ignore_comment *comments;  /* secaudit:ignore comments of the parsed files */
    size_t n_comments, cap_comments;
    int has_baseline;      /* a baseline was applied */
    sa_absent *absent;     /* its entries no finding matched */
    size_t n_absent;
} sa_result;

void sa_result_free(sa_result *r);
/* Copy a finding's strings into the one allocation that starts at f->file (file must not
 * be NULL; note may be). 0, or -1 when out of memory (f's strings untouched). */
int sa_finding_set_strings(sa_finding *f, const char *file, const char *rel, const char *key,
                           const char *message, const char *evidence, const char *note);
/* Append copies; 0 or -1 when out of memory. */
int sa_result_add_error(sa_result *r, const char *file, unsigned line, unsigned col,
                        const char *service, const char *message, size_t seq);
int sa_result_add_notice(sa_result *r, const char *path, const char *message);
/* Move src's findings, errors, notices and ignore comments to the end of dst's (in their order) and add its
 * counts; src is left empty. 0, or -1 when out of memory (src then keeps what was not
 * moved). */
int sa_result_take(sa_result *dst, sa_result *src);
/* Sort findings by (seq, line, col, rule id, key) and errors by (seq, line): the order of
 * every report. */
int sa_result_sort(sa_result *r);  /* 0, or -1 when out of memory */

/* Does f count toward exit code 1: shown (>= min), at or above fail_on, not suppressed and
 * not unchanged since the baseline. */
int sa_finding_counts(const sa_finding *f, sa_severity fail_on, sa_severity min);
/* A notice with a line (0: none). */
int sa_result_add_notice_at(sa_result *r, const char *path, unsigned line, const char *msg);

/* Which scan root holds the display path file: *root gets its index and *rel the path below
 * it (a file root: its base name). 0, or -1 when no root holds it. */
int sa_result_locate(const sa_result *r, const char *file, size_t *root, const char **rel);

/* Counts of findings per severity (index sa_severity). */
void sa_result_counts(const sa_result *r, size_t counts[5]);

/* Secret handling: is the value under this key (last path component) or view path secret? */
int sa_key_is_secret(const char *key, size_t len);
/* Write a printable, redacted form of value to out (NUL-terminated, truncated to cap-1
 * bytes with "…" when longer). secret: replace all of it. URL credentials and
 * user:password forms under user-like keys are masked in any case. */
void sa_redact(const char *key, size_t keylen, const char *value, size_t len, int secret,
               char *out, size_t cap);

/* FNV-1a 64-bit of the NUL-separated parts, as 16 lower-case hex digits + NUL. */
void sa_fingerprint(const char *const *parts, size_t n, char out[17]);

#endif
