/* fuzz.c — the fuzz targets, one per input the scanner takes from strangers. Built twice:
 * with libFuzzer (-DSECAUDIT_FUZZ=ON, clang) for campaigns, and with driver.c as a plain
 * program that replays a corpus on every ctest run. FUZZ_TARGET (a string) picks the target:
 *
 *   json yaml xml ini systemd env pgconf properties pghba nginx iptables   one parser
 *                                                   (sa_parse_format); nginx, iptables: and
 *                                                   its view
 *   rules                                                   a rule file (load + finish)
 *   expr                                                    a condition (sa_expr_compile)
 *   e2e     the first byte picks a file name a service claims; the rest is that file,
 *           scanned as a tree (walk, detect, parse, view, evaluate, suppressions) and
 *           rendered in every report format into memory
 *
 * Every target must end with its memory released: leaks are findings too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/expr.h"
#include "secaudit/parse.h"
#include "secaudit/report.h"
#include "secaudit/rules.h"
#include "secaudit/scan.h"
#include "secaudit/suppress.h"
#include "secaudit/view.h"

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET must name the target"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sa_ruleset *builtin;   /* e2e: the built-in rules, loaded once */
static char root[64];         /* e2e: a private directory the inputs are written into */

/* e2e: the names a service claims, one per value of the first byte (mod the count) */
static const char *const e2e_paths[] = {
    "etc/orthanc/orthanc.json",      "etc/mongod.conf",
    "etc/postgresql/16/main/pg_hba.conf", "opt/omero/etc/grid/config.xml",
    "etc/systemd/system/pyro.service", "etc/default/pyro-app",
    "opt/omero/etc/grid/templates.xml", "etc/glacier2/router.cfg",
    "etc/nginx/nginx.conf",           "etc/postgresql/16/main/postgresql.conf",
};
#define N_PATHS (sizeof(e2e_paths) / sizeof(e2e_paths[0]))

static int mkdirs(const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) < 0 && access(buf, F_OK) < 0)
                return -1;
            *p = '/';
        }
    return 0;
}

/* e2e: remove the private directory tree (its files are unlinked after each input) */
static void remove_root(void)
{
    for (size_t i = 0; i < N_PATHS; i++) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", root, e2e_paths[i]);
        unlink(p);
        for (char *s = strrchr(p, '/'); s && s > p + strlen(root); s = strrchr(p, '/')) {
            *s = '\0';
            rmdir(p);
        }
    }
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sa_xml_init();
    if (strcmp(FUZZ_TARGET, "e2e") == 0) {
        sa_rule_error err;
        if (sa_ruleset_load_builtin(&builtin, NULL, &err) < 0 ||
            sa_ruleset_finish(builtin, &err) < 0) {
            fprintf(stderr, "fuzz: built-in rules: %s\n", err.msg);
            abort();
        }
        snprintf(root, sizeof(root), "/tmp/secaudit-fuzz-XXXXXX");
        if (mkdtemp(root) == NULL)
            abort();
        atexit(remove_root);
        for (size_t i = 0; i < N_PATHS; i++) {
            char p[256];
            snprintf(p, sizeof(p), "%s/%s", root, e2e_paths[i]);
            if (mkdirs(p) < 0)
                abort();
        }
    }
    return 0;
}

/* Visit every node of a parsed tree without recursion: its offsets lie inside the text, its
 * line:col resolves, and its dotted path (what findings and same_as use) can be built. */
static void walk_tree(const sa_doc *doc, const sa_linemap *lm)
{
    const sa_node *top = doc->root, *n = top;
    char path[512];
    while (n != NULL) {
        unsigned l, c;
        if (n->off > doc->len || n->key_off > doc->len)
            __builtin_trap();
        sa_linemap_pos(lm, n->off, &l, &c);
        (void)sa_node_path(n, top, path, sizeof(path));
        if (n->first != NULL) {
            n = n->first;
            continue;
        }
        while (n != top && n->next == NULL)
            n = n->parent;
        if (n == top)
            break;
        n = n->next;
    }
}

static void parse_one(const char *format, const uint8_t *data, size_t size)
{
    sa_doc *doc = sa_doc_new((const char *)data, size, &sa_limits_default);
    if (doc == NULL)
        return;
    sa_perr err;
    memset(&err, 0, sizeof(err));
    if (sa_parse_format(format, doc, &err) == 0) {
        /* positions of every node resolve */
        sa_linemap lm;
        if (sa_linemap_init(&lm, (const char *)data, size) == 0) {
            if (doc->root)
                walk_tree(doc, &lm);
            sa_linemap_free(&lm);
        }
        /* a pack whose view does the analysis: the view runs on what was parsed too */
        const sa_view *v = strcmp(format, "nginx") == 0      ? sa_view_find("nginx")
                           : strcmp(format, "iptables") == 0 ? sa_view_find("iptables")
                                                             : NULL;
        sa_node *out = NULL;
        if (v)
            v->fn(doc, &out, &err);
    }
    sa_doc_free(doc);
}

static void rules_one(const uint8_t *data, size_t size)
{
    sa_ruleset *rs = sa_calloc(1, sizeof(*rs));
    if (rs == NULL)
        return;
    rs->lim = sa_limits_default;
    sa_rule_error err;
    if (sa_ruleset_load_buffer(rs, "fuzz.yml", (const char *)data, size, &err) == 0)
        (void)sa_ruleset_finish(rs, &err);
    sa_ruleset_free(rs);
}

static void expr_one(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    if (src == NULL)
        return;
    memcpy(src, data, size);
    src[size] = '\0';
    sa_expr *e = NULL;
    size_t col;
    char msg[256];
    if (sa_expr_compile(src, &sa_limits_default, &e, &col, msg, sizeof(msg)) == 0)
        sa_expr_free(e);
    free(src);
}

static void render(const sa_result *res)
{
    int (*const writers[])(FILE *, const sa_result *, const sa_report_opts *) = {
        sa_report_text, sa_report_json, sa_report_sarif, sa_report_junit, sa_report_html};
    sa_report_opts o = {.color = 1, .min_severity = SA_SEV_INFO, .fail_on = SA_SEV_LOW};
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (f == NULL)
            continue;
        (void)writers[i](f, res, &o);
        fclose(f);
        free(buf);
    }
}

static void e2e_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", root, e2e_paths[data[0] % N_PATHS]);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        abort();
    if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1)
        abort();
    fclose(f);
    const char *roots[] = {root};
    sa_scan_opts so = {.roots = roots, .n_roots = 1, .lim = sa_limits_default, .jobs = 1};
    sa_result res;
    memset(&res, 0, sizeof(res));
    if (sa_scan(builtin, &so, &res) == 0) {
        sa_suppress_opts sup = {.inline_ignores = 1, .ignores = NULL, .today = "2026-01-01"};
        if (sa_suppress_apply(&res, &sup) == 0)
            render(&res);
    }
    sa_result_free(&res);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[] = {"json", "yaml", "xml", "ini", "systemd", "env",
                                          "pgconf", "properties", "pghba", "nginx",
                                          "iptables"};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(FUZZ_TARGET, formats[i]) == 0) {
            parse_one(formats[i], data, size);
            return 0;
        }
    if (strcmp(FUZZ_TARGET, "rules") == 0)
        rules_one(data, size);
    else if (strcmp(FUZZ_TARGET, "expr") == 0)
        expr_one(data, size);
    else if (strcmp(FUZZ_TARGET, "e2e") == 0)
        e2e_one(data, size);
    return 0;
}
