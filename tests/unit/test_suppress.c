/* test_suppress.c — secaudit:ignore comments found per comment syntax at exact lines and
 * columns (and not inside strings or quotes), which line a comment covers, reasons, unused
 * comments and the no-reason finding; ignore files (strict keys, dates, expiry); profiles
 * against an option table; baselines written and read back; the SARIF and JUnit writers;
 * every step under allocation failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/baseline.h"
#include "secaudit/profile.h"
#include "secaudit/report.h"
#include "secaudit/suppress.h"

typedef struct expect {
    unsigned line, col;
    int alone;
    const char *rules, *reason;
} expect;

static void check(const char *format, const char *text, const expect *w, size_t n)
{
    sa_result res;
    memset(&res, 0, sizeof(res));
    assert_int_equal(sa_suppress_collect(&res, format, "f", "f", 1, text, strlen(text), &sa_limits_default), 0);
    if (res.n_comments != n)
        fail_msg("%s: %zu comments, expected %zu", format, res.n_comments, n);
    for (size_t i = 0; i < n; i++) {
        const sa_ignore_comment *c = &res.comments[i];
        if (c->line != w[i].line || c->col != w[i].col || c->alone != w[i].alone ||
            strcmp(c->rules, w[i].rules) != 0 || strcmp(c->reason, w[i].reason) != 0)
            fail_msg("%s #%zu: %u:%u alone=%d rules='%s' reason='%s'", format, i, c->line,
                     c->col, c->alone, c->rules, c->reason);
    }
    sa_result_free(&res);
}

static void test_syntaxes(void **state)
{
    (void)state;
    const expect json[] = {{2, 6, 1, "A", "why not"}, {3, 14, 0, "B,C", "two rules"},
                           {6, 4, 1, "D", "in a block"}};
    check("json",
          "{\n  // secaudit:ignore A why not\n  \"x\": 1, /* secaudit:ignore B,C two rules */\n"
          "  \"s\": \"// secaudit:ignore Z in a string\",\n"
          "  /*\n   secaudit:ignore D in a block\n  */\n}\n",
          json, 3);
    check("json", "/*\n * x\n * secaudit:ignore D in a block\n */\n{}\n",
          (const expect[]){{3, 4, 1, "D", "in a block"}}, 1);
    check("yaml",
          "a: 1 # secaudit:ignore A trailing\n# secaudit:ignore B own line\n"
          "b: 'x # secaudit:ignore Q quoted'\nc: x#secaudit:ignore R no blank\n",
          (const expect[]){{1, 8, 0, "A", "trailing"}, {2, 3, 1, "B", "own line"}}, 2);
    check("xml",
          "<a>\n  <!-- secaudit:ignore A xml reason -->\n  <b/> <!-- secaudit:ignore B x -->\n"
          "  <![CDATA[ <!-- secaudit:ignore C no --> ]]>\n</a>\n",
          (const expect[]){{2, 8, 1, "A", "xml reason"}, {3, 13, 0, "B", "x"}}, 2);
    check("pghba",
          "host all all 0.0.0.0/0 trust # secaudit:ignore A r\n"
          "host all \"a#b secaudit:ignore Q\" all trust\n#secaudit:ignore B\n",
          (const expect[]){{1, 32, 0, "A", "r"}, {3, 2, 1, "B", ""}}, 2);
    check("ini", "; secaudit:ignore A r\nk = v # secaudit:ignore B value\n",
          (const expect[]){{1, 3, 1, "A", "r"}}, 1);
    check("systemd", "[Service]\n# secaudit:ignore A r\nExecStart=/x # secaudit:ignore B v\n",
          (const expect[]){{2, 3, 1, "A", "r"}}, 1);
    check("properties", "! secaudit:ignore A r\nk=v # secaudit:ignore B value\n",
          (const expect[]){{1, 3, 1, "A", "r"}}, 1);
    check("pgconf", "ssl = off # secaudit:ignore A r\nx = 'a # secaudit:ignore B'\n",
          (const expect[]){{1, 13, 0, "A", "r"}}, 1);
    check("env", "A=1 # secaudit:ignore A r\nB=\"x # secaudit:ignore B\"\n",
          (const expect[]){{1, 7, 0, "A", "r"}}, 1);
    /* not markers */
    check("yaml", "# secaudit:ignored A r\n# secaudit:ignore-all\n", NULL, 0);
    check("no-such-format", "# secaudit:ignore A r\n", NULL, 0);
}

/* Many comments on one long line: the ceiling holds, and positions stay exact past it. */
static void test_ceiling(void **state)
{
    (void)state;
    static const char one[] = "/* secaudit:ignore A r */ ";
    size_t n = 20000, k = sizeof(one) - 1;
    char *text = malloc(n * k + 1);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++)
        memcpy(text + i * k, one, k);
    text[n * k] = '\0';
    sa_result res;
    memset(&res, 0, sizeof(res));
    sa_limits lim = sa_limits_default;
    assert_int_equal(sa_suppress_collect(&res, "json", "f", "f", 1, text, n * k, &lim), 0);
    assert_int_equal(res.n_comments, 10000);
    assert_int_equal(res.comments[9999].line, 1);
    assert_int_equal(res.comments[9999].col, 9999 * k + 4);
    assert_int_equal(res.comments[1].alone, 0);
    assert_int_equal(res.n_notices, 1);
    assert_string_equal(res.notices[0].message,
                        "more than 10000 secaudit:ignore comments; the rest are not read");
    sa_result_free(&res);
    free(text);
}

static sa_service svc = {.name = "s", .title = "S", .format = "json"};
static sa_rule rule_a = {.id = "A", .title = "a", .severity = SA_SEV_HIGH, .service = &svc,
                         .rationale = "r", .remediation = "fix & <it>", .origin = "t"};
static sa_rule rule_b = {.id = "B", .title = "b", .severity = SA_SEV_LOW, .service = &svc,
                         .rationale = "r", .remediation = "m", .origin = "t"};

static int add_finding(sa_result *r, const sa_rule *rule, unsigned line, const char *key)
{
    if (r->n_findings == r->cap_findings) {
        size_t nc = r->cap_findings ? r->cap_findings * 2 : 4;
        sa_finding *v = sa_realloc(r->findings, nc * sizeof(*v));
        if (v == NULL)
            return -1;
        r->findings = v;
        r->cap_findings = nc;
    }
    sa_finding *f = &r->findings[r->n_findings];
    memset(f, 0, sizeof(*f));
    f->rule = rule;
    f->line = line;
    f->col = 3;
    f->seq = 1;
    if (sa_finding_set_strings(f, "root/f.json", "f.json", key, "msg \x01 <&>", "k = v",
                               NULL) < 0)
        return -1;
    r->n_findings++;
    const char *parts[] = {rule->id, f->rel, key, "v"};
    sa_fingerprint(parts, 4, f->fingerprint);
    return 0;
}

static const char FILE_TEXT[] = "{\n"
                                "  // secaudit:ignore A accepted here\n"
                                "  \"a\": 1,\n"
                                "  \"b\": 2, // secaudit:ignore A,B only b\n"
                                "  \"c\": 3 // secaudit:ignore B\n"
                                "}\n";

/* Build a result with findings A@3, B@4, A@5, B@5 and the comments of FILE_TEXT, then apply.
 * 0 or -1 (OOM somewhere). */
static int build(sa_result *res, sa_ignore_list *ign)
{
    memset(res, 0, sizeof(*res));
    res->roots = sa_calloc(1, sizeof(char *));
    if (res->roots == NULL || (res->roots[0] = sa_strdup("root")) == NULL)
        return -1;
    res->n_roots = 1;
    if (add_finding(res, &rule_a, 3, "a") < 0 || add_finding(res, &rule_b, 4, "b") < 0 ||
        add_finding(res, &rule_a, 5, "c") < 0 || add_finding(res, &rule_b, 5, "c") < 0)
        return -1;
    if (sa_suppress_collect(res, "json", "root/f.json", "f.json", 1, FILE_TEXT,
                            sizeof(FILE_TEXT) - 1, &sa_limits_default) < 0)
        return -1;
    sa_suppress_opts o = {.inline_ignores = 1, .ignores = ign, .today = "2030-06-01"};
    return sa_suppress_apply(res, &o);
}

static void test_apply(void **state)
{
    (void)state;
    sa_result res;
    assert_int_equal(build(&res, NULL), 0);
    /* findings sorted by line: A@3 (own-line comment above), B@4 (trailing), A@5, B@5,
     * NO-REASON@5 */
    assert_int_equal(res.n_findings, 5);
    assert_int_equal(res.findings[0].suppressed, SA_SUPP_INSOURCE);
    assert_string_equal(res.findings[0].suppress_reason, "accepted here");
    assert_string_equal(res.findings[0].suppress_origin, "root/f.json:2");
    assert_int_equal(res.findings[1].suppressed, SA_SUPP_INSOURCE);
    assert_string_equal(res.findings[1].suppress_reason, "only b");
    /* a trailing comment on line 4 does not reach line 5; line 5's comment has no reason */
    assert_int_equal(res.findings[2].suppressed, SA_SUPP_NONE);
    assert_int_equal(res.findings[3].suppressed, SA_SUPP_NONE);
    assert_string_equal(res.findings[4].rule->id, "SECAUDIT-IGNORE-NO-REASON");
    assert_int_equal(res.findings[4].line, 5);
    assert_int_equal(res.findings[4].col, 13);
    /* A of "A,B" on line 4 matched nothing */
    assert_int_equal(res.n_notices, 1);
    assert_int_equal(res.notices[0].line, 4);
    assert_string_equal(res.notices[0].message,
                        "unused suppression: secaudit:ignore A matches no finding it covers");
    assert_false(sa_finding_counts(&res.findings[0], SA_SEV_LOW, SA_SEV_INFO));
    assert_true(sa_finding_counts(&res.findings[2], SA_SEV_LOW, SA_SEV_INFO));
    sa_result_free(&res);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/secaudit-unit-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_ignore_file(void **state)
{
    (void)state;
    char err[512];
    char *p = write_tmp("ignore:\n"
                        "  - rule: A\n    path: '*.json'\n    reason: external one\n"
                        "  - rule: B\n    path: f.json\n    reason: old\n"
                        "    expires: 2030-05-31\n");
    sa_ignore_list l = {0};
    assert_int_equal(sa_ignore_load(&l, p, 0, 0, &sa_limits_default, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[1].line, 5);
    assert_string_equal(l.v[1].expires, "2030-05-31");
    sa_result res;
    assert_int_equal(build(&res, &l), 0);
    /* A@5 now suppressed externally; B@5 not (entry expired yesterday) */
    assert_int_equal(res.findings[2].suppressed, SA_SUPP_EXTERNAL);
    assert_string_equal(res.findings[2].suppress_reason, "external one");
    assert_int_equal(res.findings[3].suppressed, SA_SUPP_NONE);
    int expired = 0;
    for (size_t i = 0; i < res.n_notices; i++)
        if (strstr(res.notices[i].message, "expired on 2030-05-31") &&
            res.notices[i].line == 5 && strcmp(res.notices[i].path, p) == 0)
            expired = 1;
    assert_true(expired);
    sa_result_free(&res);
    sa_ignore_free(&l);
    unlink(p);
    free(p);

    assert_int_equal(sa_ignore_load(&l, "/nonexistent/x.yml", 0, 1, &sa_limits_default, err,
                                    sizeof(err)),
                     1);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"ignore:\n  - rule: A\n    path: x\n    reason: r\n    why: x\n",
         ":5:5: unknown key 'why'"},
        {"ignore:\n  - rule: A\n    path: x\n    reason: r\n    expires: 2031-02-29\n",
         ":5:14: expires: '2031-02-29' is not a date"},
        {"ignore:\n  - rule: A\n    reason: r\n", ":2:5: the entry has no 'path'"},
        {"ignore:\n  - rule: A\n    path: x\n    reason: r\n    fingerprint: XYZ\n",
         ":2:5: fingerprint: expected 16 lower-case hex digits"},
        {"ignore: 3\n", ":1:9: 'ignore' must be a list"},
        {"- a\n", ":1:1: expected a mapping"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = write_tmp(bad[i].text);
        memset(&l, 0, sizeof(l));
        assert_int_equal(sa_ignore_load(&l, p, 0, 0, &sa_limits_default, err, sizeof(err)),
                         -1);
        char want[256];
        snprintf(want, sizeof(want), "%s%s", p, bad[i].msg);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("got '%s', want '%s'", err, want);
        sa_ignore_free(&l);
        unlink(p);
        free(p);
    }
    assert_true(sa_date_valid("2024-02-29", 10));
    assert_false(sa_date_valid("2023-02-29", 10));
    assert_false(sa_date_valid("2023-13-01", 10));
    assert_false(sa_date_valid("2023-1-01", 9));
}

static const struct option opts[] = {
    {"format", required_argument, NULL, 'f'}, {"exclude", required_argument, NULL, 1},
    {"quiet", no_argument, NULL, 'q'},         {"profile", required_argument, NULL, 2},
    {"mail-to", required_argument, NULL, 3},   {NULL, 0, NULL, 0},
};

static void test_profile(void **state)
{
    (void)state;
    char err[512];
    char *p = write_tmp("format: sarif\nexclude: [a, 'b c']\nquiet: true\nmail-to: x@y\n");
    sa_profile pr;
    assert_int_equal(sa_profile_load(&pr, p, opts, &sa_limits_default, err, sizeof(err)), 0);
    assert_int_equal(pr.argc, 6);
    const char *want[] = {"profile", "--format=sarif", "--exclude=a", "--exclude=b c",
                          "--quiet", "--mail-to=x@y"};
    const unsigned lines[] = {0, 1, 2, 2, 3, 4};
    for (int i = 0; i < 6; i++) {
        assert_string_equal(pr.argv[i], want[i]);
        if (i)
            assert_int_equal(pr.lines[i], lines[i]);
    }
    assert_null(pr.argv[6]);
    sa_profile_free(&pr);
    unlink(p);
    free(p);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"format: json\nformt: x\n", ":2:1: unknown option 'formt'"},
        {"profile: x\n", ":1:1: 'profile' cannot be set in a profile"},
        {"quiet: 1\n", ":1:8: 'quiet' takes no value"},
        {"format: {a: 1}\n", ":1:9: 'format' needs a value"},
        {"exclude: [[a]]\n", ":1:11: 'exclude': each element must be a single value"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = write_tmp(bad[i].text);
        assert_int_equal(sa_profile_load(&pr, p, opts, &sa_limits_default, err, sizeof(err)),
                         -1);
        char w[256];
        snprintf(w, sizeof(w), "%s%s", p, bad[i].msg);
        if (strncmp(err, w, strlen(w)) != 0)
            fail_msg("got '%s', want '%s'", err, w);
        unlink(p);
        free(p);
    }
}

static void test_baseline_and_writers(void **state)
{
    (void)state;
    sa_result res;
    assert_int_equal(build(&res, NULL), 0);
    char *path = write_tmp("");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(sa_baseline_write(f, &res), 0);
    fclose(f);
    char err[512];
    sa_baseline b;
    assert_int_equal(sa_baseline_load(&b, path, &sa_limits_default, err, sizeof(err)), 0);
    assert_int_equal(b.n, 3);  /* the two suppressed findings are not in it */
    sa_ruleset rs = {0};
    /* drop one finding from the result: its entry becomes absent */
    sa_result res2;
    assert_int_equal(build(&res2, NULL), 0);
    assert_int_equal(sa_baseline_apply(&res2, &b, &rs), 0);
    assert_int_equal(res2.findings[2].baseline, SA_BASE_UNCHANGED);
    assert_false(sa_finding_counts(&res2.findings[2], SA_SEV_LOW, SA_SEV_INFO));
    assert_int_equal(res2.n_absent, 0);
    sa_result_free(&res2);
    sa_baseline_free(&b);
    unlink(path);
    free(path);

    sa_report_opts ro = {.min_severity = SA_SEV_INFO, .fail_on = SA_SEV_LOW};
    char *buf = NULL;
    size_t len = 0;
    f = open_memstream(&buf, &len);
    assert_int_equal(sa_report_junit(f, &res, &ro), 0);
    fclose(f);
    assert_non_null(strstr(buf, "message=\"root/f.json:5:3: msg \xEF\xBF\xBD &lt;&amp;&gt;\""));
    assert_non_null(strstr(buf, "How to fix: fix &amp; &lt;it&gt;</failure>"));
    assert_non_null(strstr(buf, "k = v [suppressed: only b]"));
    free(buf);
    f = open_memstream(&buf, &len);
    assert_int_equal(sa_report_sarif(f, &res, &ro), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"security-severity\": \"8.0\""));
    assert_non_null(strstr(buf, "\"kind\": \"inSource\""));
    free(buf);
    sa_result_free(&res);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    char *ipath = write_tmp("ignore:\n  - rule: A\n    path: '*'\n    reason: r\n"
                            "    expires: 2000-01-01\n  - rule: B\n    path: '*'\n"
                            "    reason: r\n");
    char *ppath = write_tmp("format: sarif\nexclude: [a, b]\nquiet: true\n");
    int ok = 0;
    for (unsigned long k = 1; k < 2000 && !ok; k++) {
        char err[512];
        sa_ignore_list l = {0};
        sa_profile pr;
        sa_result res;
        memset(&res, 0, sizeof(res));
        sa_alloc_fail_at(k);
        int rc = sa_ignore_load(&l, ipath, 0, 0, &sa_limits_default, err, sizeof(err));
        if (rc == 0)
            rc = build(&res, &l);
        if (rc == 0) {
            rc = sa_profile_load(&pr, ppath, opts, &sa_limits_default, err, sizeof(err));
            if (rc == 0)
                sa_profile_free(&pr);
        }
        if (rc == 0) {
            sa_report_opts ro = {.min_severity = SA_SEV_INFO, .fail_on = SA_SEV_LOW};
            FILE *f = fopen("/dev/null", "w");
            rc = sa_report_junit(f, &res, &ro) | sa_report_sarif(f, &res, &ro) |
                 sa_report_json(f, &res, &ro) | sa_baseline_write(f, &res);
            fclose(f);
        }
        sa_alloc_fail_at(0);
        ok = rc == 0;
        sa_result_free(&res);
        sa_ignore_free(&l);
    }
    assert_true(ok);
    unlink(ipath);
    unlink(ppath);
    free(ipath);
    free(ppath);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntaxes),         cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_ignore_file),      cmocka_unit_test(test_profile),
        cmocka_unit_test(test_baseline_and_writers), cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
