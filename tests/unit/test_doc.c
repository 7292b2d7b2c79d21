/* test_doc.c — unit tests of the document tree helpers (src/doc.c): sa_node_path, the dotted
 * path of a node, with empty keys (a hostile file may hold {"": …}) and list indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "secaudit/doc.h"
#include "secaudit/limits.h"
#include "secaudit/parse.h"

/* Parse JSON text, then give the path of the node reached by following the first child
 * `depth` times from the root's document member. */
static int path_of(const char *json, int depth, char *buf, size_t cap)
{
    sa_doc *doc = sa_doc_new(json, strlen(json), &sa_limits_default);
    assert_non_null(doc);
    sa_perr err;
    assert_int_equal(sa_parse_json(doc, &err), 0);
    const sa_node *n = doc->root;
    for (int i = 0; i < depth; i++) {
        assert_non_null(n->first);
        n = n->first;
    }
    int rc = sa_node_path(n, doc->root, buf, cap);
    sa_doc_free(doc);
    return rc;
}

static void test_plain(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(path_of("{\"a\": {\"b\": [1, {\"c\": 2}]}}", 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a.b.0");
    assert_int_equal(path_of("{\"a\": {\"b\": [{\"c\": 2}]}}", 4, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a.b.0.c");
}

/* The deepest key empty: "RegisteredUsers." used to be counted one byte short, and the
 * copy wrote the first key one byte before the buffer. */
static void test_empty_deepest_key(void **state)
{
    (void)state;
    char buf[64];
    memset(buf, 'Z', sizeof(buf));
    assert_int_equal(path_of("{\"RegisteredUsers\": {\"\": \"x\"}}", 2, buf + 8, 48), 0);
    assert_string_equal(buf + 8, "RegisteredUsers.");
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf[i], 'Z');
    assert_int_equal(path_of("{\"a\": {\"\": {\"\": 1}}}", 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a..");
}

static void test_empty_outer_keys(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(path_of("{\"\": {\"b\": 1}}", 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, ".b");
    assert_int_equal(path_of("{\"\": {\"a\": {\"\": 1}}}", 3, buf, sizeof(buf)), 0);
    assert_string_equal(buf, ".a.");
    assert_int_equal(path_of("{\"\": {\"\": 1}}", 2, buf, sizeof(buf)), 0);
    assert_string_equal(buf, ".");
    assert_int_equal(path_of("{\"\": 1}", 1, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
}

/* Too small a buffer is refused before anything is written past it. */
static void test_capacity(void **state)
{
    (void)state;
    char buf[32];
    memset(buf, 'Z', sizeof(buf));
    /* "ab." needs 4 bytes with the NUL */
    sa_doc *doc = sa_doc_new("{\"ab\": {\"\": 1}}", 15, &sa_limits_default);
    assert_non_null(doc);
    sa_perr err;
    assert_int_equal(sa_parse_json(doc, &err), 0);
    const sa_node *n = doc->root->first->first;
    assert_int_equal(sa_node_path(n, doc->root, buf + 8, 3), -1);
    assert_int_equal(sa_node_path(n, doc->root, buf + 8, 4), 0);
    assert_string_equal(buf + 8, "ab.");
    for (int i = 0; i < 8; i++)
        assert_int_equal(buf[i], 'Z');
    for (int i = 12; i < 32; i++)
        assert_int_equal(buf[i], 'Z');
    sa_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_empty_deepest_key),
        cmocka_unit_test(test_empty_outer_keys),
        cmocka_unit_test(test_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
