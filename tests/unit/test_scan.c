/* test_scan.c — the scan pipeline as a library (src/scan.c, src/pool.c): the parallel scan
 * gives the sequential scan's result, element by element, and survives the failure of any
 * allocation (no crash, no leak: ASan and valgrind watch) with every thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/finding.h"
#include "secaudit/parse.h"
#include "secaudit/rules.h"
#include "secaudit/scan.h"

static const char *const demo[] = {SECAUDIT_SOURCE_DIR "/fixtures/demo",
                                   SECAUDIT_SOURCE_DIR "/fixtures/demo/etc/mongod.conf"};

static sa_ruleset *load(void)
{
    sa_ruleset *rs = NULL;
    sa_rule_error err = {{0}};
    assert_int_equal(sa_ruleset_load_builtin(&rs, &sa_limits_default, &err), 0);
    assert_int_equal(sa_ruleset_finish(rs, &err), 0);
    return rs;
}

static int scan(const sa_ruleset *rs, unsigned jobs, sa_result *res)
{
    sa_scan_opts o = {.roots = demo, .n_roots = 2, .lim = sa_limits_default, .jobs = jobs};
    memset(res, 0, sizeof(*res));
    return sa_scan(rs, &o, res);
}

static void same_result(const sa_result *a, const sa_result *b)
{
    assert_int_equal(a->n_findings, b->n_findings);
    assert_int_equal(a->n_errors, b->n_errors);
    assert_int_equal(a->n_notices, b->n_notices);
    assert_int_equal(a->files_seen, b->files_seen);
    assert_int_equal(a->files_parsed, b->files_parsed);
    for (size_t i = 0; i < a->n_findings; i++) {
        const sa_finding *x = &a->findings[i], *y = &b->findings[i];
        assert_ptr_equal(x->rule, y->rule);
        assert_string_equal(x->file, y->file);
        assert_string_equal(x->key, y->key);
        assert_string_equal(x->message, y->message);
        assert_string_equal(x->evidence, y->evidence);
        assert_int_equal(x->line, y->line);
        assert_int_equal(x->col, y->col);
        assert_int_equal(x->seq, y->seq);
    }
    for (size_t i = 0; i < a->n_notices; i++) {
        assert_string_equal(a->notices[i].path, b->notices[i].path);
        assert_string_equal(a->notices[i].message, b->notices[i].message);
    }
}

static void test_parallel_equals_sequential(void **state)
{
    (void)state;
    sa_ruleset *rs = load();
    sa_result one, many;
    assert_int_equal(scan(rs, 1, &one), 0);
    assert_true(one.n_findings > 20);
    for (unsigned jobs = 2; jobs <= 5; jobs++) {
        assert_int_equal(scan(rs, jobs, &many), 0);
        same_result(&one, &many);
        sa_result_free(&many);
    }
    sa_result_free(&one);
    sa_ruleset_free(rs);
}

/* Fail the nth allocation for every n until a scan makes fewer than n (then nothing
 * failed and the result must be whole). A failed scan returns -1 and its partial result
 * is freed like any other. */
static void test_allocation_failures(void **state)
{
    (void)state;
    sa_ruleset *rs = load();
    sa_result ref;
    assert_int_equal(scan(rs, 1, &ref), 0);
    for (unsigned jobs = 1; jobs <= 3; jobs += 2) {
        int whole = 0;
        for (unsigned long n = 1; n < 200000 && !whole; n++) {
            sa_result res;
            sa_alloc_fail_at(n);
            int rc = scan(rs, jobs, &res);
            unsigned long made = sa_alloc_fail_at(0);
            assert_true(rc == 0 || rc == -1);
            if (made < n) {
                assert_int_equal(rc, 0);
                same_result(&ref, &res);
                whole = 1;
            }
            sa_result_free(&res);
        }
        assert_true(whole);
    }
    sa_result_free(&ref);
    sa_ruleset_free(rs);
}

int main(void)
{
    sa_xml_init();
    sa_json_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_equals_sequential),
        cmocka_unit_test(test_allocation_failures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sa_xml_cleanup();
    return rc;
}
