/* report.h — report writers. Each is fed the same sorted sa_result and writes to a FILE;
 * output is byte-identical for identical input. Every byte that comes from a scanned file
 * (values, keys, paths) is escaped for the format: text output shows control bytes, C1
 * controls and invalid UTF-8 as \xNN so a value cannot drive the terminal; JSON escapes per
 * RFC 8259 and replaces invalid UTF-8 with U+FFFD; HTML and XML escape & < > " ' as
 * character references and replace invalid UTF-8 with U+FFFD. */
#ifndef SECAUDIT_REPORT_H
#define SECAUDIT_REPORT_H

#include <stdio.h>

#include "secaudit/finding.h"
#include "secaudit/rules.h"

typedef struct sa_report_opts {
    int color;                /* ANSI colours for severities (text only) */
    int quiet;                /* text: only the findings and errors, no summary line */
    sa_severity min_severity; /* findings below are not reported */
    sa_severity fail_on;      /* junit: findings that count toward exit 1 are failures */
} sa_report_opts;

/* 0, or -1 on a write error (errno set) or out of memory. */
int sa_report_text(FILE *out, const sa_result *res, const sa_report_opts *o);
int sa_report_json(FILE *out, const sa_result *res, const sa_report_opts *o);
/* SARIF 2.1.0, one run (REPORT_FORMAT.md, "SARIF"). */
int sa_report_sarif(FILE *out, const sa_result *res, const sa_report_opts *o);
/* JUnit XML: a testsuite per service, a testcase per rule and file (REPORT_FORMAT.md,
 * "JUnit"). */
int sa_report_junit(FILE *out, const sa_result *res, const sa_report_opts *o);
/* One self-contained HTML5 page: summary, inline SVG charts, a findings table with filters
 * and sorting (inline script), errors and notices; loads nothing (REPORT_FORMAT.md, "HTML"). */
int sa_report_html(FILE *out, const sa_result *res, const sa_report_opts *o);

/* SARIF security-severity of a severity ("9.5" for critical …), NULL for info. */
const char *sa_sarif_security_severity(sa_severity s);

/* Write s[0..len) to out with control bytes, DEL, C1 controls and invalid UTF-8 as \xNN and
 * backslash as \\. */
int sa_fput_escaped(FILE *out, const char *s, size_t len);
/* A valid-UTF-8 copy of s (invalid sequences → U+FFFD), sa_free'd by the caller. */
char *sa_utf8_clean(const char *s, size_t len, size_t *outlen);

#endif
