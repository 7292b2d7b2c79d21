/* text.c — the report for a person at a terminal: findings grouped by file as
 * "line:col  severity  RULE-ID  message", the evidence beneath, then errors, notices and a
 * summary line. Colours only when asked (a terminal without NO_COLOR); every byte from a
 * scanned file is escaped. */
#include <stdio.h>
#include <string.h>

#include "secaudit/report.h"

static const char *const sev_color[] = {
    "\033[36m",    /* info: cyan */
    "\033[34m",    /* low: blue */
    "\033[33m",    /* medium: yellow */
    "\033[31m",    /* high: red */
    "\033[1;31m",  /* critical: bold red */
};

static int esc(FILE *out, const char *s)
{
    return sa_fput_escaped(out, s, strlen(s));
}

int sa_report_text(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    const char *last_file = NULL;
    size_t shown = 0, counts[5] = {0}, suppressed = 0, n_new = 0;
    for (size_t i = 0; i < res->n_findings; i++) {
        const sa_finding *f = &res->findings[i];
        sa_severity sev = f->rule->severity;
        if (sev < o->min_severity)
            continue;
        if (f->suppressed) {
            suppressed++;
            continue;
        }
        n_new += f->baseline == SA_BASE_NEW;
        counts[sev]++;
        shown++;
        if (last_file == NULL || strcmp(last_file, f->file) != 0) {
            if (last_file && fputc('\n', out) == EOF)
                return -1;
            if ((o->color && fputs("\033[1m", out) == EOF) || esc(out, f->file) < 0 ||
                (o->color && fputs("\033[0m", out) == EOF) || fputc('\n', out) == EOF)
                return -1;
            last_file = f->file;
        }
        char pos[32];
        snprintf(pos, sizeof(pos), "%u:%u", f->line, f->col);
        if (fprintf(out, "  %-8s %s%-8s%s %s  ", pos, o->color ? sev_color[sev] : "",
                    sa_severity_name(sev), o->color ? "\033[0m" : "", f->rule->id) < 0 ||
            esc(out, f->message) < 0 || fputc('\n', out) == EOF)
            return -1;
        if (fputs("           ", out) == EOF || esc(out, f->evidence) < 0 ||
            (f->source_default && fputs(" [not set in the file]", out) == EOF) ||
            (f->baseline == SA_BASE_UNCHANGED && fputs(" [in the baseline]", out) == EOF) ||
            fputc('\n', out) == EOF)
            return -1;
    }
    if (shown && (res->n_errors || res->n_notices) && fputc('\n', out) == EOF)
        return -1;
    for (size_t i = 0; i < res->n_errors; i++) {
        const sa_error *e = &res->errors[i];
        if (esc(out, e->file) < 0)
            return -1;
        if (e->line && fprintf(out, ":%u:%u", e->line, e->col) < 0)
            return -1;
        if (fprintf(out, ": %serror%s: ", o->color ? "\033[1;31m" : "",
                    o->color ? "\033[0m" : "") < 0 ||
            esc(out, e->message) < 0 || fputc('\n', out) == EOF)
            return -1;
    }
    if (!o->quiet) {
        for (size_t i = 0; i < res->n_notices; i++) {
            const sa_notice *n = &res->notices[i];
            if (esc(out, n->path) < 0 || (n->line && fprintf(out, ":%u", n->line) < 0) ||
                fputs(": note: ", out) == EOF ||
                esc(out, n->message) < 0 || fputc('\n', out) == EOF)
                return -1;
        }
        if ((shown || res->n_errors || res->n_notices) && fputc('\n', out) == EOF)
            return -1;
        if (fprintf(out, "%zu finding%s", shown, shown == 1 ? "" : "s") < 0)
            return -1;
        if (shown) {
            const char *sep = " (";
            for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO; s--) {
                if (!counts[s])
                    continue;
                if (fprintf(out, "%s%zu %s", sep, counts[s], sa_severity_name(s)) < 0)
                    return -1;
                sep = ", ";
            }
            if (fputc(')', out) == EOF)
                return -1;
        }
        if (res->has_baseline && fprintf(out, ", %zu new since the baseline", n_new) < 0)
            return -1;
        if (suppressed && fprintf(out, "; %zu suppressed", suppressed) < 0)
            return -1;
        if (fprintf(out, "; %zu of %zu file%s assessed", res->files_parsed, res->files_seen,
                    res->files_seen == 1 ? "" : "s") < 0)
            return -1;
        if (res->n_errors &&
            fprintf(out, "; %zu could not be assessed", res->n_errors) < 0)
            return -1;
        if (fputc('\n', out) == EOF)
            return -1;
    }
    return fflush(out) == 0 ? 0 : -1;
}
