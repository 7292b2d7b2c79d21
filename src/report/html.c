/* html.c — the HTML report (REPORT_FORMAT.md, "HTML"): one self-contained HTML5 page for a
 * person, e.g. mailed by a nightly run. A summary (counts per severity, files assessed,
 * errors), two bar charts drawn as inline SVG here in C (by severity, and by service stacked
 * by severity) so they show without JavaScript, a findings table — a row per reported
 * finding with data-* attributes, its rationale, remediation and references in a <details> —
 * and the errors and notices. A small inline script filters the rows by severity and service,
 * sorts them by a column and keeps "N of M findings" current; it only moves rows and sets
 * textContent, never builds markup from data.
 *
 * Nothing is loaded from anywhere: no external script, style, font or image, and a
 * Content-Security-Policy that forbids any load. Every string that reaches the page from a
 * scanned file or a rule file is made valid UTF-8 (sa_utf8_clean) and escaped: & < > " ' as
 * character references, control characters other than tab, LF and CR as U+FFFD. No
 * timestamps: identical input, identical bytes. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"

/* A writer with a sticky error: after the first failed write or allocation, nothing more is
 * written and sa_report_html returns -1. */
typedef struct hw {
    FILE *out;
    int bad;
} hw;

static void put(hw *w, const char *s)
{
    if (!w->bad && fputs(s, w->out) == EOF)
        w->bad = 1;
}

__attribute__((format(printf, 2, 3))) static void pf(hw *w, const char *fmt, ...)
{
    if (w->bad)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(w->out, fmt, ap) < 0)
        w->bad = 1;
    va_end(ap);
}

/* s as HTML text or the value of a double- or single-quoted attribute; path: text with a
 * line-break opportunity (<wbr>) after each '/'. */
static void hput_as(hw *w, const char *s, int path)
{
    if (w->bad)
        return;
    size_t n;
    char *c = sa_utf8_clean(s, strlen(s), &n);
    if (c == NULL) {
        w->bad = 1;
        return;
    }
    size_t i = 0;
    while (i < n && !w->bad) {
        size_t run = i;
        while (run < n && c[run] != '&' && c[run] != '<' && c[run] != '>' && c[run] != '"' &&
               c[run] != '\'' && !(path && c[run] == '/') &&
               ((unsigned char)c[run] >= 0x20 || c[run] == '\t' || c[run] == '\n' ||
                c[run] == '\r'))
            run++;
        if (run > i && fwrite(c + i, 1, run - i, w->out) != run - i)
            w->bad = 1;
        if (run == n || w->bad)
            break;
        switch (c[run]) {
        case '&': put(w, "&amp;"); break;
        case '<': put(w, "&lt;"); break;
        case '>': put(w, "&gt;"); break;
        case '"': put(w, "&quot;"); break;
        case '\'': put(w, "&#39;"); break;
        case '/': put(w, "/<wbr>"); break;
        default: put(w, "\xEF\xBF\xBD"); break;  /* a control character */
        }
        i = run + 1;
    }
    sa_free(c);
}

static void hput(hw *w, const char *s)
{
    hput_as(w, s, 0);
}

static const char *const sev_color[] = {"#64748b", "#2563eb", "#ca8a04", "#ea580c", "#b91c1c"};

static const char style[] =
    "<style>\n"
    ":root{--bg:#f6f7f9;--card:#fff;--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;"
    "--critical:#b91c1c;--high:#ea580c;--medium:#ca8a04;--low:#2563eb;--info:#64748b}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
    "sans-serif}\n"
    "header{background:#111827;color:#f9fafb;padding:20px 32px}\n"
    "header h1{margin:0 0 4px;font-size:22px;font-weight:600}\n"
    "header p{margin:0;color:#d1d5db}\n"
    "main{padding:24px 32px;max-width:1400px}\n"
    "h2{font-size:17px;margin:28px 0 12px}\n"
    "section:first-child h2{margin-top:0}\n"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "font-size:12.5px;overflow-wrap:anywhere}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-left:5px solid "
    "var(--c);border-radius:8px;padding:10px 16px;min-width:120px}\n"
    ".card .n{display:block;font-size:26px;font-weight:700;color:var(--c)}\n"
    ".card .l{color:var(--muted);text-transform:capitalize}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:16px;margin-top:16px}\n"
    "figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:12px 16px}\n"
    "figcaption{font-weight:600;margin-bottom:6px}\n"
    "svg text{font:12px system-ui,sans-serif;fill:var(--ink)}\n"
    ".legend{display:flex;gap:12px;color:var(--muted);font-size:12px;margin-top:4px}\n"
    ".legend i{display:inline-block;width:10px;height:10px;border-radius:2px;"
    "margin-right:4px;vertical-align:-1px}\n"
    ".controls{display:flex;flex-wrap:wrap;align-items:center;gap:16px;background:var(--card);"
    "border:1px solid var(--line);border-radius:8px 8px 0 0;padding:10px 14px}\n"
    ".controls select{font:inherit;padding:3px 6px;border:1px solid #d1d5db;"
    "border-radius:6px;background:#fff}\n"
    ".controls .count{margin-left:auto;color:var(--muted)}\n"
    "table{width:100%;border-collapse:collapse;background:var(--card)}\n"
    "table.findings{border:1px solid var(--line);border-top:0;table-layout:fixed}\n"
    "table.findings th:nth-child(1){width:96px}\n"
    "table.findings th:nth-child(2){width:230px}\n"
    "table.findings th:nth-child(3){width:104px}\n"
    "table.findings th:nth-child(4){width:250px}\n"
    "th,td{text-align:left;vertical-align:top;padding:8px 10px;border-top:1px solid "
    "var(--line)}\n"
    "th{background:#f9fafb;font-weight:600;white-space:nowrap}\n"
    "th button{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:0;"
    "cursor:pointer}\n"
    "th button::after{content:\" \\2195\";color:#9ca3af}\n"
    "th[aria-sort=ascending] button::after{content:\" \\2191\";color:var(--ink)}\n"
    "th[aria-sort=descending] button::after{content:\" \\2193\";color:var(--ink)}\n"
    "tbody tr:hover{background:#fafafa}\n"
    ".sev{display:inline-block;min-width:64px;text-align:center;padding:1px 8px;"
    "border-radius:10px;color:#fff;font-size:12px;font-weight:600;background:var(--c)}\n"
    ".f-title{font-weight:600}\n"
    ".f-msg{margin-top:2px}\n"
    ".f-ev{margin-top:4px;color:#374151}\n"
    ".tag{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;"
    "font-size:11px;background:#e5e7eb;color:#374151}\n"
    ".tag.new{background:#fee2e2;color:#991b1b}\n"
    "tr.suppressed td{opacity:.6}\n"
    "details{margin-top:6px}\n"
    "summary{cursor:pointer;color:#1d4ed8}\n"
    "details p{margin:6px 0}\n"
    "details ul{margin:4px 0;padding-left:20px}\n"
    ".muted{color:var(--muted)}\n"
    ".empty{padding:16px;text-align:center;color:var(--muted);background:var(--card);"
    "border:1px solid var(--line);border-top:0}\n"
    "footer{padding:16px 32px 32px;color:var(--muted);font-size:12px}\n"
    ".controls button{font:inherit;padding:3px 10px;border:1px solid #d1d5db;"
    "border-radius:6px;background:#fff;cursor:pointer}\n"
    "@media print{.controls{display:none}}\n"
    "</style>\n";

/* Filters and sorting. Reads data-* attributes and dataset values only as strings to
 * compare; writes only `hidden`, aria-sort, row order and textContent. */
static const char script[] =
    "<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var table = document.getElementById('findings');\n"
    "  if (!table) return;\n"
    "  var tbody = table.tBodies[0];\n"
    "  var rows = Array.prototype.slice.call(tbody.rows);\n"
    "  var sev = document.getElementById('filter-severity');\n"
    "  var svc = document.getElementById('filter-service');\n"
    "  var sup = document.getElementById('filter-suppressed');\n"
    "  var onlyNew = document.getElementById('filter-new');\n"
    "  var shown = document.getElementById('shown-count');\n"
    "  var empty = document.getElementById('no-match');\n"
    "  function apply() {\n"
    "    var n = 0;\n"
    "    rows.forEach(function (r) {\n"
    "      var d = r.dataset;\n"
    "      var ok = (!sev.value || d.severity === sev.value) &&\n"
    "        (!svc.value || d.service === svc.value) &&\n"
    "        !(sup && sup.checked && d.suppressed) &&\n"
    "        !(onlyNew && onlyNew.checked && d.baseline !== 'new');\n"
    "      r.hidden = !ok;\n"
    "      if (ok) n++;\n"
    "    });\n"
    "    shown.textContent = String(n);\n"
    "    empty.hidden = n !== 0;\n"
    "  }\n"
    "  var expand = document.getElementById('expand-all');\n"
    "  expand.addEventListener('click', function () {\n"
    "    var open = expand.getAttribute('aria-pressed') !== 'true';\n"
    "    Array.prototype.forEach.call(tbody.querySelectorAll('details'), function (d) {\n"
    "      d.open = open;\n"
    "    });\n"
    "    expand.setAttribute('aria-pressed', String(open));\n"
    "    expand.textContent = open ? 'Collapse all' : 'Expand all';\n"
    "  });\n"
    "  [sev, svc, sup, onlyNew].forEach(function (e) {\n"
    "    if (e) e.addEventListener('change', apply);\n"
    "  });\n"
    "  function key(r, k) {\n"
    "    var d = r.dataset;\n"
    "    if (k === 'severity') return [Number(d.rank)];\n"
    "    if (k === 'location') return [d.file, Number(d.line), Number(d.col)];\n"
    "    if (k === 'title') return [r.querySelector('.f-title').textContent];\n"
    "    return [d[k]];\n"
    "  }\n"
    "  function cmp(a, b) {\n"
    "    for (var i = 0; i < a.length; i++) {\n"
    "      if (a[i] < b[i]) return -1;\n"
    "      if (a[i] > b[i]) return 1;\n"
    "    }\n"
    "    return 0;\n"
    "  }\n"
    "  var current = null, dir = 1;\n"
    "  var buttons = table.querySelectorAll('thead button[data-sort]');\n"
    "  Array.prototype.forEach.call(buttons, function (b) {\n"
    "    b.addEventListener('click', function () {\n"
    "      var k = b.dataset.sort;\n"
    "      dir = current === k ? -dir : k === 'severity' ? -1 : 1;\n"
    "      current = k;\n"
    "      rows.sort(function (x, y) {\n"
    "        return dir * cmp(key(x, k), key(y, k)) ||\n"
    "          Number(x.dataset.index) - Number(y.dataset.index);\n"
    "      });\n"
    "      rows.forEach(function (r) { tbody.appendChild(r); });\n"
    "      Array.prototype.forEach.call(buttons, function (o) {\n"
    "        o.parentNode.setAttribute('aria-sort', o === b ?\n"
    "          (dir > 0 ? 'ascending' : 'descending') : 'none');\n"
    "      });\n"
    "    });\n"
    "  });\n"
    "  apply();\n"
    "})();\n"
    "</script>\n";

/* The distinct services of the reported findings, in name order, with their unsuppressed
 * counts per severity and their row counts. */
typedef struct svc_count {
    const char *name;
    size_t sev[5];
    size_t rows;   /* reported, suppressed included */
} svc_count;

static int shown(const sa_finding *f, const sa_report_opts *o)
{
    return f->rule->severity >= o->min_severity;
}

/* A horizontal bar chart: n bars, bar i of segments seg[i][0..5) (severity order, drawn
 * critical first), labelled label[i], scaled to the largest total. stacked: the labels are
 * not severities (a segment's tooltip then names its bar). */
static void chart(hw *w, const char *id, const char *caption, size_t n,
                  const char *const *label, const size_t (*seg)[5], int stacked)
{
    enum { LABEL_W = 120, BAR_W = 260, ROW_H = 26, PAD = 4 };
    size_t max = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t = 0;
        for (int s = 0; s < 5; s++)
            t += seg[i][s];
        if (t > max)
            max = t;
    }
    unsigned width = LABEL_W + BAR_W + 50, height = (unsigned)(n ? n : 1) * ROW_H + 2 * PAD;
    pf(w, "<figure><figcaption id=\"%s-caption\">", id);
    put(w, caption);
    pf(w, "</figcaption>\n<svg id=\"%s\" role=\"img\" "
          "aria-labelledby=\"%s-caption\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\">\n",
       id, id, width, height, width, height);
    if (n == 0)
        pf(w, "<text x=\"0\" y=\"%d\" fill=\"#6b7280\">no findings</text>\n", PAD + 17);
    for (size_t i = 0; i < n; i++) {
        unsigned y = PAD + (unsigned)i * ROW_H;
        size_t t = 0;
        for (int s = 0; s < 5; s++)
            t += seg[i][s];
        pf(w, "<g><text x=\"%d\" y=\"%u\" text-anchor=\"end\">", LABEL_W - 8, y + 17);
        hput(w, label[i]);
        put(w, "</text>");
        pf(w, "<rect x=\"%d\" y=\"%u\" width=\"%d\" height=\"%d\" rx=\"3\" fill=\"#f3f4f6\"/>",
           LABEL_W, y + 3, BAR_W, ROW_H - 6);
        /* segments end at cum * BAR_W / max: integer pixels, no rounding drift */
        size_t cum = 0;
        for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO && max; s--) {
            if (!seg[i][s])
                continue;
            size_t x0 = cum * BAR_W / max;
            cum += seg[i][s];
            size_t x1 = cum * BAR_W / max;
            if (x1 == x0)
                x1 = x0 + 1;
            pf(w, "<rect x=\"%zu\" y=\"%u\" width=\"%zu\" height=\"%d\" fill=\"%s\">"
                  "<title>",
               LABEL_W + x0, y + 3, x1 - x0, ROW_H - 6, sev_color[s]);
            if (stacked) {
                hput(w, label[i]);
                put(w, ": ");
            }
            pf(w, "%zu %s</title></rect>", seg[i][s], sa_severity_name((sa_severity)s));
        }
        pf(w, "<text x=\"%zu\" y=\"%u\">%zu</text></g>\n",
           LABEL_W + (max ? t * BAR_W / max : 0) + 6, y + 17, t);
    }
    put(w, "</svg>\n");
}

static void legend(hw *w)
{
    put(w, "<div class=\"legend\">");
    for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO; s--)
        pf(w, "<span><i style=\"background:%s\"></i>%s</span>", sev_color[s],
           sa_severity_name((sa_severity)s));
    put(w, "</div>");
}

/* Is s a reference to show as a link: an http(s) URL (a click, never a load). */
static int is_link(const char *s)
{
    return strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0;
}

static void finding_row(hw *w, const sa_finding *f, size_t index)
{
    const sa_rule *r = f->rule;
    sa_severity sev = r->severity;
    pf(w, "<tr class=\"finding%s\" data-index=\"%zu\" data-severity=\"%s\" data-rank=\"%d\" "
          "data-service=\"",
       f->suppressed ? " suppressed" : "", index, sa_severity_name(sev), (int)sev);
    hput(w, r->service->name);
    put(w, "\" data-rule=\"");
    hput(w, r->id);
    put(w, "\" data-file=\"");
    hput(w, f->file);
    pf(w, "\" data-line=\"%u\" data-col=\"%u\" data-fingerprint=\"%s\"", f->line, f->col,
       f->fingerprint);
    if (f->suppressed)
        pf(w, " data-suppressed=\"%s\"",
           f->suppressed == SA_SUPP_INSOURCE ? "inSource" : "external");
    if (f->baseline)
        pf(w, " data-baseline=\"%s\"", f->baseline == SA_BASE_NEW ? "new" : "unchanged");
    pf(w, ">\n<td><span class=\"sev\" style=\"--c:var(--%s)\">%s</span></td>\n<td><code>",
       sa_severity_name(sev), sa_severity_name(sev));
    hput(w, r->id);
    put(w, "</code></td>\n<td>");
    hput(w, r->service->name);
    put(w, "</td>\n<td class=\"loc\"><code>");
    hput_as(w, f->file, 1);
    pf(w, ":%u:%u</code></td>\n<td><div class=\"f-title\">", f->line, f->col);
    hput(w, r->title);
    if (f->baseline == SA_BASE_NEW)
        put(w, "<span class=\"tag new\">new</span>");
    else if (f->baseline == SA_BASE_UNCHANGED)
        put(w, "<span class=\"tag\">in the baseline</span>");
    if (f->suppressed)
        put(w, "<span class=\"tag\">suppressed</span>");
    put(w, "</div>\n<div class=\"f-msg\">");
    hput(w, f->message);
    put(w, "</div>\n<div class=\"f-ev\"><code>");
    hput(w, f->evidence);
    put(w, "</code>");
    if (f->source_default)
        put(w, " <span class=\"muted\">(not set in the file)</span>");
    put(w, "</div>\n");
    if (f->suppressed) {
        put(w, "<div class=\"muted\">Suppressed at ");
        hput(w, f->suppress_origin ? f->suppress_origin : "");
        put(w, ": ");
        hput(w, f->suppress_reason ? f->suppress_reason : "");
        put(w, "</div>\n");
    }
    put(w, "<details><summary>Why it matters and how to fix it</summary>\n<p><strong>Why:"
           "</strong> ");
    hput(w, r->rationale ? r->rationale : "");
    put(w, "</p>\n<p><strong>Fix:</strong> ");
    hput(w, r->remediation ? r->remediation : "");
    put(w, "</p>\n");
    if (r->n_refs) {
        put(w, "<p><strong>References:</strong></p><ul class=\"refs\">");
        for (size_t i = 0; i < r->n_refs; i++) {
            put(w, "<li>");
            if (is_link(r->refs[i])) {
                put(w, "<a href=\"");
                hput(w, r->refs[i]);
                put(w, "\" rel=\"noopener noreferrer\" target=\"_blank\">");
                hput(w, r->refs[i]);
                put(w, "</a>");
            } else {
                hput(w, r->refs[i]);
            }
            put(w, "</li>");
        }
        put(w, "</ul>\n");
    }
    pf(w, "<p class=\"muted\">Key <code>");
    hput(w, f->key);
    pf(w, "</code> &middot; fingerprint <code>%s</code></p>\n</details></td>\n</tr>\n",
       f->fingerprint);
}

static int cmp_svc(const void *a, const void *b)
{
    return strcmp(((const svc_count *)a)->name, ((const svc_count *)b)->name);
}

int sa_report_html(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    hw w = {.out = out};
    size_t counts[5] = {0}, sev_rows[5] = {0}, total = 0, rows = 0, n_suppressed = 0,
           n_new = 0;
    /* services: at most one per reported finding, +1 so the allocation is never 0 bytes */
    svc_count *svcs = sa_calloc(res->n_findings + 1, sizeof(*svcs));
    const char **labels = sa_calloc(res->n_findings + 5, sizeof(*labels));
    size_t (*segs)[5] = sa_calloc(res->n_findings + 5, sizeof(*segs));
    size_t ns = 0;
    if (svcs == NULL || labels == NULL || segs == NULL) {
        w.bad = 1;
        goto done;
    }
    for (size_t i = 0; i < res->n_findings; i++) {
        const sa_finding *f = &res->findings[i];
        if (!shown(f, o))
            continue;
        sa_severity sev = f->rule->severity;
        const char *name = f->rule->service->name;
        size_t k = 0;
        while (k < ns && strcmp(svcs[k].name, name) != 0)
            k++;
        if (k == ns)
            svcs[ns++].name = name;
        svcs[k].rows++;
        sev_rows[sev]++;
        rows++;
        if (f->suppressed) {
            n_suppressed++;
            continue;
        }
        counts[sev]++;
        svcs[k].sev[sev]++;
        total++;
        n_new += f->baseline == SA_BASE_NEW;
    }
    qsort(svcs, ns, sizeof(*svcs), cmp_svc);

    /* head */
    put(&w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    pf(&w, "<meta name=\"generator\" content=\"secaudit %s\">\n<title>secaudit report: %zu "
           "finding%s",
       SECAUDIT_VERSION, total, total == 1 ? "" : "s");
    const char *sep = " (";
    for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO; s--) {
        if (!counts[s])
            continue;
        pf(&w, "%s%zu %s", sep, counts[s], sa_severity_name((sa_severity)s));
        sep = ", ";
    }
    if (total)
        put(&w, ")");
    put(&w, "</title>\n");
    put(&w, style);
    put(&w, "</head>\n<body>\n<header>\n<h1>secaudit report</h1>\n<p id=\"scope\">");
    pf(&w, "<span id=\"total\">%zu</span> finding%s", total, total == 1 ? "" : "s");
    if (res->has_baseline)
        pf(&w, ", %zu new since the baseline", n_new);
    if (n_suppressed)
        pf(&w, "; %zu suppressed", n_suppressed);
    pf(&w, "; <span id=\"files-parsed\">%zu</span> of <span id=\"files-seen\">%zu</span> "
           "file%s assessed; <span id=\"errors-count\">%zu</span> error%s",
       res->files_parsed, res->files_seen, res->files_seen == 1 ? "" : "s", res->n_errors,
       res->n_errors == 1 ? "" : "s");
    if (res->n_roots) {
        put(&w, " &middot; scanned: ");
        for (size_t i = 0; i < res->n_roots; i++) {
            if (i)
                put(&w, ", ");
            put(&w, "<code>");
            hput(&w, res->roots[i]);
            put(&w, "</code>");
        }
    }
    put(&w, "</p>\n</header>\n<main>\n");

    /* summary */
    put(&w, "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">\n");
    for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO; s--) {
        const char *name = sa_severity_name((sa_severity)s);
        pf(&w, "<div class=\"card\" style=\"--c:var(--%s)\" data-severity=\"%s\"><span "
               "class=\"n\" id=\"count-%s\">%zu</span><span class=\"l\">%s</span></div>\n",
           name, name, name, counts[s], name);
    }
    pf(&w, "<div class=\"card\" style=\"--c:%s\"><span class=\"n\" id=\"count-errors\">%zu"
           "</span><span class=\"l\">errors</span></div>\n",
       res->n_errors ? "var(--critical)" : "#9ca3af", res->n_errors);
    put(&w, "</div>\n<div class=\"charts\">\n");
    for (int s = SA_SEV_CRITICAL, i = 0; s >= SA_SEV_INFO; s--, i++) {
        labels[i] = sa_severity_name((sa_severity)s);
        memset(segs[i], 0, sizeof(segs[i]));
        segs[i][s] = counts[s];
    }
    chart(&w, "chart-severity", "Findings by severity", 5, labels, (const size_t(*)[5])segs,
          0);
    put(&w, "</figure>\n");
    for (size_t k = 0; k < ns; k++) {
        labels[k] = svcs[k].name;
        memcpy(segs[k], svcs[k].sev, sizeof(segs[k]));
    }
    chart(&w, "chart-service", "Findings by service", ns, labels, (const size_t(*)[5])segs,
          1);
    legend(&w);
    put(&w, "</figure>\n</div>\n</section>\n");

    /* findings */
    put(&w, "<section>\n<h2>Findings</h2>\n<div class=\"controls\">\n"
            "<label>Severity <select id=\"filter-severity\"><option value=\"\">all</option>");
    for (int s = SA_SEV_CRITICAL; s >= SA_SEV_INFO; s--)
        pf(&w, "<option value=\"%s\">%s (%zu)</option>", sa_severity_name((sa_severity)s),
           sa_severity_name((sa_severity)s), sev_rows[s]);
    put(&w, "</select></label>\n<label>Service <select id=\"filter-service\">"
            "<option value=\"\">all</option>");
    for (size_t k = 0; k < ns; k++) {
        put(&w, "<option value=\"");
        hput(&w, svcs[k].name);
        put(&w, "\">");
        hput(&w, svcs[k].name);
        pf(&w, " (%zu)</option>", svcs[k].rows);
    }
    put(&w, "</select></label>\n");
    if (n_suppressed)
        put(&w, "<label><input type=\"checkbox\" id=\"filter-suppressed\"> hide suppressed"
                "</label>\n");
    if (res->has_baseline)
        put(&w, "<label><input type=\"checkbox\" id=\"filter-new\"> only new since the "
                "baseline</label>\n");
    put(&w, "<button type=\"button\" id=\"expand-all\" aria-pressed=\"false\">Expand all"
            "</button>\n");
    pf(&w, "<span class=\"count\" id=\"shown\"><span id=\"shown-count\">%zu</span> of "
           "<span id=\"rows-count\">%zu</span> findings</span>\n</div>\n",
       rows, rows);
    put(&w, "<table class=\"findings\" id=\"findings\">\n<thead><tr>"
            "<th aria-sort=\"none\"><button type=\"button\" data-sort=\"severity\">Severity"
            "</button></th>"
            "<th aria-sort=\"none\"><button type=\"button\" data-sort=\"rule\">Rule</button>"
            "</th>"
            "<th aria-sort=\"none\"><button type=\"button\" data-sort=\"service\">Service"
            "</button></th>"
            "<th aria-sort=\"none\"><button type=\"button\" data-sort=\"location\">Location"
            "</button></th>"
            "<th aria-sort=\"none\"><button type=\"button\" data-sort=\"title\">Finding"
            "</button></th>"
            "</tr></thead>\n<tbody>\n");
    for (size_t i = 0, index = 0; i < res->n_findings && !w.bad; i++)
        if (shown(&res->findings[i], o))
            finding_row(&w, &res->findings[i], index++);
    pf(&w, "</tbody>\n</table>\n<div class=\"empty\" id=\"no-match\"%s>No findings%s.</div>\n"
           "</section>\n",
       rows ? " hidden" : "", rows ? " match the filters" : "");

    /* errors, notices, resolved */
    if (res->n_errors) {
        put(&w, "<section>\n<h2>Errors: files that could not be assessed</h2>\n"
                "<table id=\"errors\">\n<thead><tr><th>File</th><th>Service</th>"
                "<th>Problem</th></tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < res->n_errors; i++) {
            const sa_error *e = &res->errors[i];
            put(&w, "<tr><td><code>");
            hput(&w, e->file);
            if (e->line)
                pf(&w, ":%u:%u", e->line, e->col);
            put(&w, "</code></td><td>");
            hput(&w, e->service);
            put(&w, "</td><td>");
            hput(&w, e->message);
            put(&w, "</td></tr>\n");
        }
        put(&w, "</tbody>\n</table>\n</section>\n");
    }
    if (res->n_notices) {
        put(&w, "<section>\n<h2>Notices</h2>\n<ul id=\"notices\">\n");
        for (size_t i = 0; i < res->n_notices; i++) {
            const sa_notice *n = &res->notices[i];
            put(&w, "<li><code>");
            hput(&w, n->path);
            if (n->line)
                pf(&w, ":%u", n->line);
            put(&w, "</code>: ");
            hput(&w, n->message);
            put(&w, "</li>\n");
        }
        put(&w, "</ul>\n</section>\n");
    }
    if (res->has_baseline && res->n_absent) {
        put(&w, "<section>\n<h2>Resolved since the baseline</h2>\n<ul id=\"absent\">\n");
        for (size_t i = 0; i < res->n_absent; i++) {
            const sa_absent *a = &res->absent[i];
            put(&w, "<li><code>");
            hput(&w, a->rule_id);
            put(&w, "</code> at <code>");
            hput(&w, a->path);
            pf(&w, ":%u</code> <span class=\"muted\">(fingerprint ", a->line);
            hput(&w, a->fingerprint);
            put(&w, ")</span></li>\n");
        }
        put(&w, "</ul>\n</section>\n");
    }
    pf(&w, "</main>\n<footer>Generated by secaudit %s. This page loads nothing from the "
           "network.</footer>\n",
       SECAUDIT_VERSION);
    put(&w, script);
    put(&w, "</body>\n</html>\n");
done:
    sa_free(svcs);
    sa_free(labels);
    sa_free(segs);
    if (!w.bad && fflush(out) != 0)
        w.bad = 1;
    return w.bad ? -1 : 0;
}
