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

static json_t *jstr(const char *s)
{
    size_t n;
    char *clean = sa_utf8_clean(s, strlen(s), &n);
    if (clean == NULL)
        return NULL;
    json_t *j = json_stringn(clean, n);
    sa_free(clean);
    return j;
}

/* json_object_set_new and json_array_append_new take val in every case (a NULL container
 * included: they release val), so a failure leaks nothing and frees nothing twice. */
static void put(json_t *obj, const char *key, json_t *val, int *bad)
{
    if (val == NULL || json_object_set_new(obj, key, val) < 0)
        *bad = 1;
}

static void push(json_t *arr, json_t *val, int *bad)
{
    if (val == NULL || json_array_append_new(arr, val) < 0)
        *bad = 1;
}

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
    put(o, "text", text, &bad);
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
        put(art, "uri", uri_of("", rp, ""), &bad);
        char base[32];
        snprintf(base, sizeof(base), "ROOT%ld", root);
        put(art, "uriBaseId", json_string(base), &bad);
    } else {
        put(art, "uri", uri_of("", file, ""), &bad);
    }
    put(phys, "artifactLocation", art, &bad);
    if (line) {
        json_t *reg = json_object();
        put(reg, "startLine", json_integer(line), &bad);
        if (col)
            put(reg, "startColumn", json_integer(col), &bad);
        put(phys, "region", reg, &bad);
    }
    put(loc, "physicalLocation", phys, &bad);
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
    put(j, "id", jstr(r->id), &bad);
    put(j, "name", jstr(r->id), &bad);
    put(j, "shortDescription", text_obj(jstr(r->title)), &bad);
    put(j, "fullDescription", text_obj(jstr(r->rationale)), &bad);
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
        put(help, "text", jstr(text), &bad);
        put(help, "markdown", jstr(md), &bad);
        put(j, "help", help, &bad);
    } else {
        bad = 1;
    }
    sa_free(text);
    sa_free(md);
    for (size_t i = 0; i < r->n_refs; i++)
        if (strncmp(r->refs[i], "https://", 8) == 0 && !strpbrk(r->refs[i], " \t\"<>")) {
            put(j, "helpUri", json_string(r->refs[i]), &bad);
            break;
        }
    json_t *dc = json_object();
    put(dc, "level", json_string(level(r->severity)), &bad);
    put(j, "defaultConfiguration", dc, &bad);
    json_t *props = json_object(), *tags = json_array();
    push(tags, json_string("security"), &bad);
    push(tags, jstr(r->service->name), &bad);
    put(props, "tags", tags, &bad);
    put(props, "severity", json_string(sa_severity_name(r->severity)), &bad);
    const char *ss = sa_sarif_security_severity(r->severity);
    if (ss)
        put(props, "security-severity", json_string(ss), &bad);
    put(j, "properties", props, &bad);
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
    put(j, "secaudit/v1", json_string(fp), &bad);
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
    put(root, "$schema", json_string("https://json.schemastore.org/sarif-2.1.0.json"), &bad);
    put(root, "version", json_string("2.1.0"), &bad);
    json_t *runs = json_array(), *run = json_object();
    put(root, "runs", runs, &bad);
    push(runs, run, &bad);

    json_t *tool = json_object(), *driver = json_object(), *jrules = json_array();
    put(driver, "name", json_string("secaudit"), &bad);
    put(driver, "version", json_string(SECAUDIT_VERSION), &bad);
    put(driver, "semanticVersion", json_string(SECAUDIT_VERSION), &bad);
    for (size_t i = 0; i < nr && !bad; i++)
        push(jrules, rule_obj(rules[i]), &bad);
    put(driver, "rules", jrules, &bad);
    put(tool, "driver", driver, &bad);
    put(run, "tool", tool, &bad);

    /* invocation: success, and what could not be assessed */
    json_t *invs = json_array(), *inv = json_object(), *notes = json_array();
    put(inv, "executionSuccessful", json_boolean(res->n_errors == 0), &bad);
    for (size_t i = 0; i < res->n_errors && !bad; i++) {
        const sa_error *e = &res->errors[i];
        json_t *n = json_object(), *locs = json_array();
        put(n, "level", json_string("error"), &bad);
        put(n, "message", text_obj(jstr(e->message)), &bad);
        push(locs, location(res, e->file, NULL, -1, e->line, e->col), &bad);
        put(n, "locations", locs, &bad);
        if (e->service[0]) {
            json_t *p = json_object();
            put(p, "service", jstr(e->service), &bad);
            put(n, "properties", p, &bad);
        }
        push(notes, n, &bad);
    }
    for (size_t i = 0; i < res->n_notices && !bad; i++) {
        const sa_notice *nt = &res->notices[i];
        json_t *n = json_object(), *locs = json_array();
        put(n, "level", json_string("note"), &bad);
        put(n, "message", text_obj(jstr(nt->message)), &bad);
        push(locs, location(res, nt->path, NULL, -1, nt->line, 0), &bad);
        put(n, "locations", locs, &bad);
        push(notes, n, &bad);
    }
    put(inv, "toolExecutionNotifications", notes, &bad);
    push(invs, inv, &bad);
    put(run, "invocations", invs, &bad);

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
            put(b, "uri", uri_of("file://", abs, strcmp(abs, "/") == 0 ? "" : "/"), &bad);
        char desc[PATH_MAX + 64];
        snprintf(desc, sizeof(desc), "%s %s", is_file ? "the directory of the scanned file"
                                                      : "the scanned directory", rt);
        put(b, "description", text_obj(jstr(desc)), &bad);
        put(bases, key, b, &bad);
    }
    put(run, "originalUriBaseIds", bases, &bad);

    json_t *results = json_array();
    for (size_t i = 0; i < res->n_findings && !bad; i++) {
        const sa_finding *f = &res->findings[i];
        if (f->rule->severity < o->min_severity)
            continue;
        const sa_rule *key = f->rule, **hit = bsearch(&key, rules, nr, sizeof(*rules),
                                                     cmp_rule);
        json_t *r = json_object(), *locs = json_array();
        put(r, "ruleId", jstr(f->rule->id), &bad);
        put(r, "ruleIndex", json_integer(hit ? (json_int_t)(hit - rules) : 0), &bad);
        put(r, "level", json_string(level(f->rule->severity)), &bad);
        put(r, "message", text_obj(jstr(f->message)), &bad);
        /* the root and path come from the display path: with overlapping roots (a directory
         * and a file in it) the finding kept may have been reached through either */
        push(locs, location(res, f->file, NULL, -1, f->line, f->col), &bad);
        put(r, "locations", locs, &bad);
        put(r, "partialFingerprints", fingerprints(f->fingerprint), &bad);
        if (f->baseline)
            put(r, "baselineState",
                json_string(f->baseline == SA_BASE_NEW ? "new" : "unchanged"), &bad);
        if (f->suppressed) {
            json_t *ss = json_array(), *s = json_object();
            put(s, "kind", json_string(f->suppressed == SA_SUPP_INSOURCE ? "inSource"
                                                                          : "external"),
                &bad);
            put(s, "status", json_string("accepted"), &bad);
            put(s, "justification", jstr(f->suppress_reason), &bad);
            json_t *sp = json_object();
            put(sp, "origin", jstr(f->suppress_origin), &bad);
            put(s, "properties", sp, &bad);
            push(ss, s, &bad);
            put(r, "suppressions", ss, &bad);
        }
        json_t *props = json_object();
        put(props, "severity", json_string(sa_severity_name(f->rule->severity)), &bad);
        put(props, "service", jstr(f->rule->service->name), &bad);
        put(props, "key", jstr(f->key), &bad);
        put(props, "evidence", jstr(f->evidence), &bad);
        put(props, "source", json_string(f->source_default ? "default" : "explicit"), &bad);
        put(r, "properties", props, &bad);
        push(results, r, &bad);
    }
    for (size_t i = 0; i < res->n_absent && !bad; i++) {
        const sa_absent *a = &res->absent[i];
        json_t *r = json_object(), *locs = json_array();
        put(r, "ruleId", jstr(a->rule_id), &bad);
        if (a->rule) {
            const sa_rule *key = a->rule, **hit = bsearch(&key, rules, nr, sizeof(*rules),
                                                         cmp_rule);
            if (hit)
                put(r, "ruleIndex", json_integer((json_int_t)(hit - rules)), &bad);
        }
        put(r, "level", json_string(a->rule ? level(a->rule->severity) : "none"), &bad);
        char msg[600];
        snprintf(msg, sizeof(msg), "in the baseline, no longer found: %.500s",
                 a->rule ? a->rule->title : a->rule_id);
        put(r, "message", text_obj(jstr(msg)), &bad);
        push(locs, location(res, a->path, a->path, 0, a->line, 0), &bad);
        put(r, "locations", locs, &bad);
        put(r, "partialFingerprints", fingerprints(a->fingerprint), &bad);
        put(r, "baselineState", json_string("absent"), &bad);
        push(results, r, &bad);
    }
    put(run, "results", results, &bad);
    put(run, "columnKind", json_string("unicodeCodePoints"), &bad);

    sa_free(rules);
    int rc = -1;
    if (!bad && json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
        fputc('\n', out) != EOF && fflush(out) == 0)
        rc = 0;
    json_decref(root);
    return rc;
}
