/* sarif.c — the SARIF 2.1.0 report (REPORT_FORMAT.md, "SARIF"): one run, the rules that
 * fired in tool.driver.rules (in id order), a result per reported finding with its location
 * relative to its scan root (uriBaseId ROOTn, the roots' absolute file: URIs in
 * originalUriBaseIds), files that could not be assessed as tool execution notifications.
 * Built with jansson, keys in insertion order: identical input, identical bytes. */
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"
#include "report/jsonw.h"

const char *sa_sarif_security_severity(sa_severity s)
{
    static const char *const v[] = {NULL, "3.0", "5.5", "8.0", "9.5"};
    return s <= SA_SEV_CRITICAL ? v[s] : NULL;
}

static const char *level(sa_severity s)
{
    return s >= SA_SEV_HIGH ? "error" : s == SA_SEV_MEDIUM ? "warning" : "note";
}

/* A URI reference for a path: every byte but unreserved characters and '/' percent-encoded
 * (so any byte string, UTF-8 or not, makes a valid URI). */
static json_t *uri_of(const char *prefix, const char *path, const char *suffix)
{
    size_t n = strlen(path);
    size_t cap = strlen(prefix) + n * 3 + strlen(suffix) + 1;
    char *u = sa_malloc(cap);
    if (u == NULL)
        return NULL;
    size_t o = strlen(prefix);
    memcpy(u, prefix, o);
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            u[o++] = (char)c;
        } else {
            u[o++] = '%';
            u[o++] = hex[c >> 4];
            u[o++] = hex[c & 15];
        }
    }
    strcpy(u + o, suffix);
    json_t *j = json_string(u);
    sa_free(u);
    return j;
}

static json_t *text_obj(json_t *text)
{
    json_t *o = json_object();
    int bad = 0;
    sa_jput(o, "text", text, &bad);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* { physicalLocation: { artifactLocation: {uri, uriBaseId?}, region? } } */
static json_t *location(const sa_result *res, const char *file, const char *rel, long root,
                        unsigned line, unsigned col)
{
    int bad = 0;
    json_t *loc = json_object(), *phys = json_object(), *art = json_object();
    size_t r = 0;
    const char *rp = rel;
    if (root < 0 && sa_result_locate(res, file, &r, &rp) == 0)
        root = (long)r;
    if (root >= 0 && rp) {
        sa_jput(art, "uri", uri_of("", rp, ""), &bad);
        char base[32];
        snprintf(base, sizeof(base), "ROOT%ld", root);
        sa_jput(art, "uriBaseId", json_string(base), &bad);
    } else {
        sa_jput(art, "uri", uri_of("", file, ""), &bad);
    }
    sa_jput(phys, "artifactLocation", art, &bad);
    if (line) {
        json_t *reg = json_object();
        sa_jput(reg, "startLine", json_integer(line), &bad);
        if (col)
            sa_jput(reg, "startColumn", json_integer(col), &bad);
        sa_jput(phys, "region", reg, &bad);
    }
    sa_jput(loc, "physicalLocation", phys, &bad);
    if (bad) {
        json_decref(loc);
        return NULL;
    }
    return loc;
}

static int cmp_rule(const void *a, const void *b)
{
    const sa_rule *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

static json_t *rule_obj(const sa_rule *r)
{
    int bad = 0;
    json_t *j = json_object();
    sa_jput(j, "id", sa_jstr(r->id), &bad);
    sa_jput(j, "name", sa_jstr(r->id), &bad);
    sa_jput(j, "shortDescription", text_obj(sa_jstr(r->title)), &bad);
    sa_jput(j, "fullDescription", text_obj(sa_jstr(r->rationale)), &bad);
    /* help: the remediation, then the references */
    size_t cap = strlen(r->title) + strlen(r->rationale) + strlen(r->remediation) + 128;
    for (size_t i = 0; i < r->n_refs; i++)
        cap += strlen(r->refs[i]) + 8;
    char *text = sa_malloc(cap), *md = sa_malloc(cap);
    if (text && md) {
        size_t t = (size_t)snprintf(text, cap, "How to fix: %s", r->remediation);
        size_t m = (size_t)snprintf(md, cap, "**%s**\n\n%s\n\n**How to fix**\n\n%s", r->title,
                                    r->rationale, r->remediation);
        if (r->n_refs) {
            t += (size_t)snprintf(text + t, cap - t, "\nReferences:");
            m += (size_t)snprintf(md + m, cap - m, "\n\n**References**\n");
        }
        for (size_t i = 0; i < r->n_refs; i++) {
            t += (size_t)snprintf(text + t, cap - t, "\n- %s", r->refs[i]);
            m += (size_t)snprintf(md + m, cap - m, "\n- %s", r->refs[i]);
        }
        json_t *help = json_object();
        sa_jput(help, "text", sa_jstr(text), &bad);
        sa_jput(help, "markdown", sa_jstr(md), &bad);
        sa_jput(j, "help", help, &bad);
    } else {
        bad = 1;
    }
    sa_free(text);
    sa_free(md);
    for (size_t i = 0; i < r->n_refs; i++)
        if (strncmp(r->refs[i], "https://", 8) == 0 && !strpbrk(r->refs[i], " \t\"<>")) {
            sa_jput(j, "helpUri", json_string(r->refs[i]), &bad);
            break;
        }
    json_t *dc = json_object();
    sa_jput(dc, "level", json_string(level(r->severity)), &bad);
    sa_jput(j, "defaultConfiguration", dc, &bad);
    json_t *props = json_object(), *tags = json_array();
    sa_jpush(tags, json_string("security"), &bad);
    sa_jpush(tags, sa_jstr(r->service->name), &bad);
    sa_jput(props, "tags", tags, &bad);
    sa_jput(props, "severity", json_string(sa_severity_name(r->severity)), &bad);
    const char *ss = sa_sarif_security_severity(r->severity);
    if (ss)
        sa_jput(props, "security-severity", json_string(ss), &bad);
    sa_jput(j, "properties", props, &bad);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *fingerprints(const char *fp)
{
    json_t *j = json_object();
    int bad = 0;
    sa_jput(j, "secaudit/v1", json_string(fp), &bad);
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int sa_report_sarif(FILE *out, const sa_result *res, const sa_report_opts *o)
{
    int bad = 0;
    /* the rules to describe: those of the reported findings and of absent baseline entries */
    size_t nr = 0;
    const sa_rule **rules = sa_calloc(res->n_findings + res->n_absent + 1, sizeof(*rules));
    if (rules == NULL)
        return -1;
    for (size_t i = 0; i < res->n_findings; i++)
        if (res->findings[i].rule->severity >= o->min_severity)
            rules[nr++] = res->findings[i].rule;
    for (size_t i = 0; i < res->n_absent; i++)
        if (res->absent[i].rule)
            rules[nr++] = res->absent[i].rule;
    if (nr > 1)
        qsort(rules, nr, sizeof(*rules), cmp_rule);
    size_t u = 0;
    for (size_t i = 0; i < nr; i++)
        if (u == 0 || strcmp(rules[u - 1]->id, rules[i]->id) != 0)
            rules[u++] = rules[i];
    nr = u;

    json_t *root = json_object();
    sa_jput(root, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"), &bad);
    sa_jput(root, "version", json_string("2.1.0"), &bad);
    json_t *runs = json_array(), *run = json_object();
    sa_jput(root, "runs", runs, &bad);
    sa_jpush(runs, run, &bad);

    json_t *tool = json_object(), *driver = json_object(), *jrules = json_array();
    sa_jput(driver, "name", json_string("secaudit"), &bad);
    sa_jput(driver, "version", json_string(SECAUDIT_VERSION), &bad);
    sa_jput(driver, "semanticVersion", json_string(SECAUDIT_VERSION), &bad);
    for (size_t i = 0; i < nr && !bad; i++)
        sa_jpush(jrules, rule_obj(rules[i]), &bad);
    sa_jput(driver, "rules", jrules, &bad);
    sa_jput(tool, "driver", driver, &bad);
    sa_jput(run, "tool", tool, &bad);

    /* invocation: success, and what could not be assessed */
    json_t *invs = json_array(), *inv = json_object(), *notes = json_array();
    sa_jput(inv, "executionSuccessful", json_boolean(res->n_errors == 0), &bad);
    for (size_t i = 0; i < res->n_errors && !bad; i++) {
        const sa_error *e = &res->errors[i];
        json_t *n = json_object(), *locs = json_array();
        sa_jput(n, "level", json_string("error"), &bad);
        sa_jput(n, "message", text_obj(sa_jstr(e->message)), &bad);
        sa_jpush(locs, location(res, e->file, NULL, -1, e->line, e->col), &bad);
        sa_jput(n, "locations", locs, &bad);
        if (e->service[0]) {
            json_t *p = json_object();
            sa_jput(p, "service", sa_jstr(e->service), &bad);
            sa_jput(n, "properties", p, &bad);
        }
        sa_jpush(notes, n, &bad);
    }
    for (size_t i = 0; i < res->n_notices && !bad; i++) {
        const sa_notice *nt = &res->notices[i];
        json_t *n = json_object(), *locs = json_array();
        sa_jput(n, "level", json_string("note"), &bad);
        sa_jput(n, "message", text_obj(sa_jstr(nt->message)), &bad);
        sa_jpush(locs, location(res, nt->path, NULL, -1, nt->line, 0), &bad);
        sa_jput(n, "locations", locs, &bad);
        sa_jpush(notes, n, &bad);
    }
    sa_jput(inv, "toolExecutionNotifications", notes, &bad);
    sa_jpush(invs, inv, &bad);
    sa_jput(run, "invocations", invs, &bad);

    /* the roots */
    json_t *bases = json_object();
    for (size_t i = 0; i < res->n_roots && !bad; i++) {
        char key[32], abs[PATH_MAX];
        snprintf(key, sizeof(key), "ROOT%zu", i);
        json_t *b = json_object();
        struct stat st;
        const char *rt = res->roots[i];
        int is_file = stat(rt, &st) == 0 && !S_ISDIR(st.st_mode);
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", rt);
        if (is_file) {
            char *slash = strrchr(dir, '/');
            if (slash == NULL)
                snprintf(dir, sizeof(dir), ".");
            else if (slash == dir)
                dir[1] = '\0';
            else
                *slash = '\0';
        }
        if (realpath(dir, abs) != NULL)
            sa_jput(b, "uri", uri_of("file://", abs, strcmp(abs, "/") == 0 ? "" : "/"), &bad);
        char desc[PATH_MAX + 64];
        snprintf(desc, sizeof(desc), "%s %s", is_file ? "the directory of the scanned file"
                                                      : "the scanned directory", rt);
        sa_jput(b, "description", text_obj(sa_jstr(desc)), &bad);
        sa_jput(bases, key, b, &bad);
    }
    sa_jput(run, "originalUriBaseIds", bases, &bad);

    json_t *results = json_array();
    for (size_t i = 0; i < res->n_findings && !bad; i++) {
        const sa_finding *f = &res->findings[i];
        if (f->rule->severity < o->min_severity)
            continue;
        const sa_rule *key = f->rule, **hit = bsearch(&key, rules, nr, sizeof(*rules),
                                                     cmp_rule);
        json_t *r = json_object(), *locs = json_array();
        sa_jput(r, "ruleId", sa_jstr(f->rule->id), &bad);
        sa_jput(r, "ruleIndex", json_integer(hit ? (json_int_t)(hit - rules) : 0), &bad);
        sa_jput(r, "level", json_string(level(f->rule->severity)), &bad);
        sa_jput(r, "message", text_obj(sa_jstr(f->message)), &bad);
        /* the root and path come from the display path: with overlapping roots (a directory
         * and a file in it) the finding kept may have been reached through either */
        sa_jpush(locs, location(res, f->file, NULL, -1, f->line, f->col), &bad);
        sa_jput(r, "locations", locs, &bad);
        sa_jput(r, "partialFingerprints", fingerprints(f->fingerprint), &bad);
        if (f->baseline)
            sa_jput(r, "baselineState",
                json_string(f->baseline == SA_BASE_NEW ? "new" : "unchanged"), &bad);
        if (f->suppressed) {
            json_t *ss = json_array(), *s = json_object();
            sa_jput(s, "kind", json_string(f->suppressed == SA_SUPP_INSOURCE ? "inSource"
                                                                          : "external"),
                &bad);
            sa_jput(s, "status", json_string("accepted"), &bad);
            sa_jput(s, "justification", sa_jstr(f->suppress_reason), &bad);
            json_t *sp = json_object();
            sa_jput(sp, "origin", sa_jstr(f->suppress_origin), &bad);
            sa_jput(s, "properties", sp, &bad);
            sa_jpush(ss, s, &bad);
            sa_jput(r, "suppressions", ss, &bad);
        }
        json_t *props = json_object();
        sa_jput(props, "severity", json_string(sa_severity_name(f->rule->severity)), &bad);
        sa_jput(props, "service", sa_jstr(f->rule->service->name), &bad);
        sa_jput(props, "key", sa_jstr(f->key), &bad);
        sa_jput(props, "evidence", sa_jstr(f->evidence), &bad);
        sa_jput(props, "source", json_string(f->source_default ? "default" : "explicit"), &bad);
        sa_jput(r, "properties", props, &bad);
        sa_jpush(results, r, &bad);
    }
    for (size_t i = 0; i < res->n_absent && !bad; i++) {
        const sa_absent *a = &res->absent[i];
        json_t *r = json_object(), *locs = json_array();
        sa_jput(r, "ruleId", sa_jstr(a->rule_id), &bad);
        if (a->rule) {
            const sa_rule *key = a->rule, **hit = bsearch(&key, rules, nr, sizeof(*rules),
                                                         cmp_rule);
            if (hit)
                sa_jput(r, "ruleIndex", json_integer((json_int_t)(hit - rules)), &bad);
        }
        sa_jput(r, "level", json_string(a->rule ? level(a->rule->severity) : "none"), &bad);
        char msg[600];
        snprintf(msg, sizeof(msg), "in the baseline, no longer found: %.500s",
                 a->rule ? a->rule->title : a->rule_id);
        sa_jput(r, "message", text_obj(sa_jstr(msg)), &bad);
        sa_jpush(locs, location(res, a->path, a->path, 0, a->line, 0), &bad);
        sa_jput(r, "locations", locs, &bad);
        sa_jput(r, "partialFingerprints", fingerprints(a->fingerprint), &bad);
        sa_jput(r, "baselineState", json_string("absent"), &bad);
        sa_jpush(results, r, &bad);
    }
    sa_jput(run, "results", results, &bad);
    sa_jput(run, "columnKind", json_string("unicodeCodePoints"), &bad);

    sa_free(rules);
    return sa_jdump(out, root, bad);
}
