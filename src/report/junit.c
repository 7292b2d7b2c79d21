/* junit.c — the JUnit XML report (REPORT_FORMAT.md, "JUnit"), for CI systems that show test
 * results (GitLab's artifacts:reports:junit, Jenkins). A testsuite per service, a testcase per
 * rule and file with findings: it fails when one of its findings counts toward exit code 1
 * (a <failure> each), is skipped when all of its findings are suppressed, and passes
 * otherwise (its findings listed in <system-out>). A claimed file that could not be assessed
 * is a testcase with an <error>. A scan with neither is one passing testcase. No timestamps
 * or durations: identical input, identical bytes.
 *
 * Written by hand, not through libxml2's writer: the output is a fixed shape and the one
 * delicate part — text from scanned files — is escaped here exactly: &<>"' as entities,
 * tab/newline/CR in attributes as character references, and characters XML 1.0 forbids
 * (other C0 controls, U+FFFE, U+FFFF) and invalid UTF-8 replaced by U+FFFD. */
#include <stdlib.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"

/* Write s as XML character data (attr: inside a double-quoted attribute). */
static int xput(FILE *out, const char *s, int attr)
{
    size_t n;
    char *c = sa_utf8_clean(s, strlen(s), &n);
    if (c == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char ch = (unsigned char)c[i];
        const char *rep = NULL;
        char num[8];
        switch (ch) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        case '\'': rep = attr ? "&apos;" : NULL; break;
        case '\t': case '\n': case '\r':
            if (attr) {
                snprintf(num, sizeof(num), "&#%d;", ch);
                rep = num;
            }
            break;
        default:
            if (ch < 0x20)
                rep = "\xEF\xBF\xBD";
            else if (ch == 0xEF && i + 2 < n && (unsigned char)c[i + 1] == 0xBF &&
                     ((unsigned char)c[i + 2] == 0xBE || (unsigned char)c[i + 2] == 0xBF)) {
                rep = "\xEF\xBF\xBD";  /* U+FFFE, U+FFFF */
                i += 2;
            }
        }
        if (rep ? fputs(rep, out) == EOF : putc(ch, out) == EOF)
            rc = -1;
    }
    sa_free(c);
    return rc;
}

/* One testcase: findings idx[0..n) (same rule, same file). */
typedef struct tcase {
    const char *service;
    const sa_rule *rule;      /* NULL: an error testcase */
    const char *file;
    size_t first;             /* index of the first finding / the error */
    size_t order;
    int failures, counted, suppressed, total;
} tcase;

static int cmp_case(const void *a, const void *b)
{
    const tcase *x = a, *y = b;
    int c = strcmp(x->service, y->service);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int finding_line(FILE *out, const sa_finding *f, const char *prefix)
{
    if (fprintf(out, "%s", prefix) < 0 || xput(out, f->file, 0) < 0 ||
        fprintf(out, ":%u:%u: %s %s: ", f->line, f->col, sa_severity_name(f->rule->severity),
                f->rule->id) < 0 ||
        xput(out, f->message, 0) < 0 || fputs("\n    ", out) == EOF ||
        xput(out, f->evidence, 0) < 0)
        return -1;
    if (f->suppressed && (fputs(" [suppressed: ", out) == EOF ||
                          xput(out, f->suppress_reason, 0) < 0 || fputc(']', out) == EOF))
        return -1;
    if (f->baseline == SA_BASE_UNCHANGED && fputs(" [in the baseline]", out) == EOF)
        return -1;
    return fputc('\n', out) == EOF ? -1 : 0;
}

int sa_report_junit(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    tcase *cases = sa_calloc(res->n_findings + res->n_errors + 1, sizeof(*cases));
    if (cases == NULL)
        return -1;
    size_t nc = 0;
    /* group findings by (rule, file), in report order; findings are sorted by the walk order
     * of their file (seq), so a case is searched among the cases of the same seq */
    size_t file_start = 0;
    for (size_t i = 0; i < res->n_findings; i++) {
        const sa_finding *f = &res->findings[i];
        if (f->rule->severity < o->min_severity)
            continue;
        if (nc && res->findings[cases[nc - 1].first].seq != f->seq)
            file_start = nc;
        tcase *c = NULL;
        for (size_t k = file_start; k < nc; k++)
            if (cases[k].rule == f->rule && strcmp(cases[k].file, f->file) == 0)
                c = &cases[k];
        if (c == NULL) {
            c = &cases[nc];
            *c = (tcase){.service = f->rule->service->name, .rule = f->rule, .file = f->file,
                         .first = i, .order = nc};
            nc++;
        }
        c->total++;
        c->suppressed += f->suppressed != SA_SUPP_NONE;
        c->counted += sa_finding_counts(f, o->fail_on, o->min_severity);
    }
    for (size_t i = 0; i < res->n_errors; i++) {
        const sa_error *e = &res->errors[i];
        cases[nc] = (tcase){.service = e->service[0] ? e->service : "secaudit", .file = e->file,
                            .first = i, .order = nc};
        nc++;
    }
    qsort(cases, nc, sizeof(*cases), cmp_case);

    size_t t_fail = 0, t_err = 0;
    for (size_t i = 0; i < nc; i++) {
        t_fail += cases[i].rule && cases[i].counted;
        t_err += cases[i].rule == NULL;
    }
    int rc = -1;
    if (fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuites name=\"secaudit\" tests=\"%zu\" failures=\"%zu\" "
                     "errors=\"%zu\">\n",
                nc ? nc : 1, t_fail, t_err) < 0)
        goto done;
    if (nc == 0) {
        if (fprintf(out, "  <testsuite name=\"secaudit\" tests=\"1\" failures=\"0\" "
                         "errors=\"0\" skipped=\"0\">\n"
                         "    <testcase name=\"scan: no findings\" classname=\"secaudit\"/>\n"
                         "  </testsuite>\n") < 0)
            goto done;
    }
    for (size_t s = 0; s < nc;) {
        size_t e = s, fails = 0, errs = 0, skips = 0;
        while (e < nc && strcmp(cases[e].service, cases[s].service) == 0) {
            const tcase *c = &cases[e];
            fails += c->rule && c->counted;
            errs += c->rule == NULL;
            skips += c->rule && c->suppressed == c->total;
            e++;
        }
        if (fputs("  <testsuite name=\"", out) == EOF || xput(out, cases[s].service, 1) < 0 ||
            fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\">\n",
                    e - s, fails, errs, skips) < 0)
            goto done;
        for (size_t k = s; k < e; k++) {
            const tcase *c = &cases[k];
            if (fputs("    <testcase name=\"", out) == EOF ||
                (c->rule && (xput(out, c->rule->id, 1) < 0 || fputc(' ', out) == EOF)) ||
                (!c->rule && fputs("assess ", out) == EOF) || xput(out, c->file, 1) < 0 ||
                fputs("\" classname=\"secaudit.", out) == EOF ||
                xput(out, c->service, 1) < 0 || fputs("\">\n", out) == EOF)
                goto done;
            if (c->rule == NULL) {
                const sa_error *er = &res->errors[c->first];
                char pos[48] = "";
                if (er->line)
                    snprintf(pos, sizeof(pos), ":%u:%u", er->line, er->col);
                if (fputs("      <error type=\"incomplete\" message=\"", out) == EOF ||
                    xput(out, er->file, 1) < 0 || fprintf(out, "%s: ", pos) < 0 ||
                    xput(out, er->message, 1) < 0 || fputs("\">", out) == EOF ||
                    xput(out, er->file, 0) < 0 || fprintf(out, "%s: ", pos) < 0 ||
                    xput(out, er->message, 0) < 0 || fputs("</error>\n", out) == EOF)
                    goto done;
            } else {
                int other = 0;
                size_t seq = res->findings[c->first].seq;
                for (size_t i = c->first; i < res->n_findings && res->findings[i].seq == seq;
                     i++) {
                    const sa_finding *f = &res->findings[i];
                    if (f->rule != c->rule || strcmp(f->file, c->file) != 0 ||
                        f->rule->severity < o->min_severity)
                        continue;
                    if (!sa_finding_counts(f, o->fail_on, o->min_severity)) {
                        other = 1;
                        continue;
                    }
                    if (fprintf(out, "      <failure type=\"%s\" message=\"",
                                sa_severity_name(f->rule->severity)) < 0 ||
                        xput(out, f->file, 1) < 0 ||
                        fprintf(out, ":%u:%u: ", f->line, f->col) < 0 ||
                        xput(out, f->message, 1) < 0 || fputs("\">", out) == EOF ||
                        finding_line(out, f, "") < 0 || fputs("How to fix: ", out) == EOF ||
                        xput(out, f->rule->remediation, 0) < 0 ||
                        fputs("</failure>\n", out) == EOF)
                        goto done;
                }
                if (c->suppressed == c->total) {
                    const sa_finding *f = &res->findings[c->first];
                    if (fputs("      <skipped message=\"suppressed: ", out) == EOF ||
                        xput(out, f->suppress_reason, 1) < 0 || fputs("\"/>\n", out) == EOF)
                        goto done;
                }
                if (other) {
                    if (fputs("      <system-out>", out) == EOF)
                        goto done;
                    for (size_t i = c->first;
                         i < res->n_findings && res->findings[i].seq == seq; i++) {
                        const sa_finding *f = &res->findings[i];
                        if (f->rule == c->rule && strcmp(f->file, c->file) == 0 &&
                            f->rule->severity >= o->min_severity &&
                            !sa_finding_counts(f, o->fail_on, o->min_severity) &&
                            finding_line(out, f, "") < 0)
                            goto done;
                    }
                    if (fputs("</system-out>\n", out) == EOF)
                        goto done;
                }
            }
            if (fputs("    </testcase>\n", out) == EOF)
                goto done;
        }
        if (fputs("  </testsuite>\n", out) == EOF)
            goto done;
        s = e;
    }
    if (fputs("</testsuites>\n", out) == EOF || fflush(out) != 0)
        goto done;
    rc = 0;
done:
    sa_free(cases);
    return rc;
}
