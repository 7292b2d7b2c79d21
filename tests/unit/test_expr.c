/* test_expr.c — the condition language: compile errors with columns, comparison semantics,
 * greedy dotted paths, missing values, defaults by version, functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/expr.h"
#include "secaudit/parse.h"

static const char view_json[] =
    "{\n"
    "  \"a\": { \"b\": true, \"c\": { \"d\": \"deep\" } },\n"
    "  \"a.b\": false,\n"
    "  \"n\": \"0\",\n"
    "  \"num\": 42,\n"
    "  \"s\": \"TCP,ssl\",\n"
    "  \"l\": [1, 2, 3],\n"
    "  \"m\": {},\n"
    "  \"u\": \"ldap://user:pw@ldap.corp.example:389/dc=x\",\n"
    "  \"yes\": \"Yes\",\n"
    "  \"weird key\": \"w\",\n"
    "  \"dup\": 1, \"dup\": 2\n"
    "}\n";

typedef struct fixture {
    sa_doc *doc;
    sa_doc *defs;
    sa_service svc;
    sa_default defaults[4];
    sa_arena *scratch;
} fixture;

static int setup(void **state)
{
    fixture *f = sa_calloc(1, sizeof(*f));
    sa_perr err;
    f->doc = sa_doc_new(view_json, strlen(view_json), NULL);
    assert_int_equal(sa_parse_json(f->doc, &err), 0);
    /* default values live in another document, as they do in rule files */
    static const char defs[] = "[false, \"ssl,tcp\", true]";
    f->defs = sa_doc_new(defs, strlen(defs), NULL);
    assert_int_equal(sa_parse_json(f->defs, &err), 0);
    const sa_node *d0 = f->defs->root->first, *d1 = d0->next, *d2 = d1->next;
    size_t col;
    char msg[128];
    f->defaults[0] = (sa_default){.key = "auth", .same_as = "remote", .since = "1.5.8"};
    assert_int_equal(sa_path_compile("remote", &f->defaults[0].same_as_path, &col, msg,
                                     sizeof(msg)), 0);
    f->defaults[1] = (sa_default){.key = "auth", .value = d0, .until = "1.5.7"};
    f->defaults[2] = (sa_default){.key = "transports", .value = d1, .note = "props"};
    f->defaults[3] = (sa_default){.key = "mods.*.allow", .value = d2};
    f->svc.name = "t";
    f->svc.defaults = f->defaults;
    f->svc.n_defaults = 4;
    f->svc.version = "2.0";
    f->scratch = sa_arena_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sa_expr_free(f->defaults[0].same_as_path);
    sa_doc_free(f->doc);
    sa_doc_free(f->defs);
    sa_arena_free(f->scratch);
    sa_free(f);
    return 0;
}

/* Evaluate src against root; fails the test when it does not compile. */
static int eval_on(fixture *f, const sa_node *root, const char *src)
{
    sa_expr *e = NULL;
    size_t col = 0;
    char msg[200];
    if (sa_expr_compile(src, NULL, &e, &col, msg, sizeof(msg)) != 0)
        fail_msg("'%s' does not compile: %s at %zu", src, msg, col);
    sa_eval_ctx ctx = {.svc = &f->svc, .root = root, .base = root, .scratch = f->scratch};
    int r = sa_expr_eval(e, &ctx);
    sa_expr_free(e);
    return r;
}

static int eval(fixture *f, const char *src)
{
    return eval_on(f, f->doc->root, src);
}

static void compile_error(const char *src, size_t want_col, const char *want_msg)
{
    sa_expr *e = NULL;
    size_t col = 0;
    char msg[200] = "";
    assert_int_equal(sa_expr_compile(src, NULL, &e, &col, msg, sizeof(msg)), -1);
    assert_null(e);
    assert_int_equal(col, want_col);
    if (strstr(msg, want_msg) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", src, msg, want_msg);
}

static void test_compile_errors(void **state)
{
    (void)state;
    compile_error("a ==", 5, "unexpected end of condition");
    compile_error("a == && b", 6, "unexpected character");
    compile_error("(a == 1", 1, "unclosed '('");
    compile_error("frob(a)", 1, "unknown function 'frob'");
    compile_error("exists(1)", 1, "exists() takes a path");
    compile_error("len(a, b)", 1, "different number of arguments");
    compile_error("a =~ b", 3, "must be a quoted regular expression");
    compile_error("a =~ \"(\"", 3, "bad regular expression");
    compile_error("a == \"open", 6, "unterminated string");
    compile_error("a b", 3, "unexpected text after the condition");
    compile_error("since(1)", 1, "since() takes a quoted version");
}

static void test_comparisons(void **state)
{
    fixture *f = *state;
    assert_int_equal(eval(f, "num == 42"), 1);
    assert_int_equal(eval(f, "num > 41 && num <= 42 && num < 43 && num >= 42"), 1);
    assert_int_equal(eval(f, "n == 0"), 1);            /* "0" read as a number */
    assert_int_equal(eval(f, "n == false"), 1);        /* "0" read as a boolean */
    assert_int_equal(eval(f, "n == \"0\""), 1);
    assert_int_equal(eval(f, "yes == true"), 1);       /* case-insensitive yes */
    assert_int_equal(eval(f, "s == \"TCP,ssl\""), 1);
    assert_int_equal(eval(f, "s == \"tcp,ssl\""), 0);  /* strings are exact */
    assert_int_equal(eval(f, "s != \"x\""), 1);
    assert_int_equal(eval(f, "s == true"), 0);         /* not a boolean: not equal */
    assert_int_equal(eval(f, "s != true"), 1);
    assert_int_equal(eval(f, "s > 1"), 0);             /* relational is numeric only */
    assert_int_equal(eval(f, "s =~ \"^TCP\" && s !~ \"udp\""), 1);
    assert_int_equal(eval(f, "lower(s) =~ \"(^|,)tcp(,|$)\""), 1);
    assert_int_equal(eval(f, "m == 0"), 0);            /* maps equal nothing */
    assert_int_equal(eval(f, "dup == 2"), 1);          /* last occurrence */
}

static void test_paths(void **state)
{
    fixture *f = *state;
    assert_int_equal(eval(f, "a.b == false"), 1);       /* greedy: the key "a.b" first */
    assert_int_equal(eval(f, "a[\"b\"] == true"), 1);   /* bracket: never joined */
    assert_int_equal(eval(f, "a.c.d == \"deep\""), 1);  /* "a.c.d", "a.c" fail; a → c.d → c,d */
    assert_int_equal(eval(f, "[\"weird key\"] == \"w\""), 1);
    assert_int_equal(eval(f, "l[1] == 2 && l[2] == 3"), 1);
    assert_int_equal(eval(f, "$.num == 42"), 1);
    assert_int_equal(eval(f, "len(l) == 3 && len(m) == 0 && len(s) == 7"), 1);
}

static void test_missing(void **state)
{
    fixture *f = *state;
    assert_int_equal(eval(f, "zz == 1"), 0);
    assert_int_equal(eval(f, "zz != 1"), 0);  /* every comparison with missing is false */
    assert_int_equal(eval(f, "zz =~ \"x\""), 0);
    assert_int_equal(eval(f, "zz !~ \"x\""), 0);
    assert_int_equal(eval(f, "!(zz == 1)"), 1);
    assert_int_equal(eval(f, "!exists(zz) && exists(a.c)"), 1);
    assert_int_equal(eval(f, "zz"), 0);
    assert_int_equal(eval(f, "a.b.c == 1"), 0);
}

static void test_logic(void **state)
{
    fixture *f = *state;
    assert_int_equal(eval(f, "true || false && false"), 1);  /* && binds tighter */
    assert_int_equal(eval(f, "(true || false) && false"), 0);
    assert_int_equal(eval(f, "!false && !!true"), 1);
    assert_int_equal(eval(f, "a[\"b\"]"), 1);  /* a bare boolean path */
}

static void test_functions(void **state)
{
    fixture *f = *state;
    assert_int_equal(eval(f, "url_host(u) == \"ldap.corp.example\""), 1);
    assert_int_equal(eval(f, "loopback(\"127.0.0.1, ::1,localhost:27017\")"), 1);
    assert_int_equal(eval(f, "loopback(\"127.0.0.1,10.0.0.1\")"), 0);
    assert_int_equal(eval(f, "since(\"2.0\") && since(\"1.9.9\") && !since(\"2.0.1\")"), 1);
    assert_int_equal(sa_is_loopback_list("[::1]:27017", 11), 1);
    assert_int_equal(sa_is_loopback_list("0.0.0.0", 7), 0);
    assert_int_equal(sa_is_loopback_list("", 0), 0);
    assert_int_equal(sa_is_loopback_list("127.255.0.9", 11), 1);
    assert_int_equal(sa_is_loopback_list("::", 2), 0);
    /* the shared LDAP check: any ldap:// URL of the list to a host that is not loopback */
    assert_int_equal(eval(f, "ldap_plaintext(\"ldap://ad.corp:389\")"), 1);
    assert_int_equal(eval(f, "ldap_plaintext(\"ldaps://a.corp LDAP://u:pw@b.corp/dc=x\")"), 1);
    assert_int_equal(eval(f, "ldap_plaintext(\"ldaps://a.corp,ldap://[::1]:389\")"), 0);
    assert_int_equal(eval(f, "ldap_plaintext(\"ldap://127.0.0.1 ldapi:/// ldap:///\")"), 0);
    assert_int_equal(eval(f, "ldap_plaintext(\"ldap://localhost:389/dc=x?uid\")"), 0);
    assert_int_equal(eval(f, "ldap_plaintext(\"see ldap://\")"), 0);
    assert_int_equal(eval(f, "ldap_plaintext(zz)"), 0);  /* missing: false */
}

static void test_defaults_by_version(void **state)
{
    fixture *f = *state;
    static const char remote_on[] = "{\"remote\": true, \"mods\": {\"x\": {}}}";
    sa_perr err;
    sa_doc *d = sa_doc_new(remote_on, strlen(remote_on), NULL);
    assert_int_equal(sa_parse_json(d, &err), 0);
    /* 2.0: auth follows remote */
    assert_int_equal(eval_on(f, d->root, "auth == true"), 1);
    assert_int_equal(eval_on(f, d->root, "exists(auth)"), 0);
    assert_int_equal(eval_on(f, d->root, "transports =~ \"tcp\""), 1);
    assert_int_equal(eval_on(f, d->root, "mods.x.allow == true"), 1);
    assert_int_equal(eval_on(f, d->root, "mods.y.allow == true"), 1);  /* pattern match */
    /* 1.5.7: auth absent means false */
    f->svc.assumed_version = "1.5.7";
    assert_int_equal(eval_on(f, d->root, "auth == false"), 1);
    f->svc.assumed_version = NULL;

    sa_expr *p = NULL;
    size_t col;
    char msg[64];
    assert_int_equal(sa_path_compile("transports", &p, &col, msg, sizeof(msg)), 0);
    sa_eval_ctx ctx = {.svc = &f->svc, .root = d->root, .base = d->root,
                       .scratch = f->scratch};
    sa_resolved r;
    assert_int_equal(sa_path_resolve(p, &ctx, &r), 1);
    assert_ptr_equal(r.def, &f->defaults[2]);
    assert_ptr_equal(r.nearest, d->root);
    assert_string_equal(r.node->str, "ssl,tcp");
    sa_expr_free(p);
    sa_doc_free(d);
}

static void test_path_compile(void **state)
{
    (void)state;
    sa_expr *p = NULL;
    size_t col = 0;
    char msg[64];
    assert_int_equal(sa_path_compile("records", &p, &col, msg, sizeof(msg)), 0);
    sa_expr_free(p);
    assert_int_equal(sa_path_compile("a[\"b.c\"].d[0]", &p, &col, msg, sizeof(msg)), 0);
    sa_expr_free(p);
    assert_int_equal(sa_path_compile("a == 1", &p, &col, msg, sizeof(msg)), -1);
    assert_int_equal(col, 3);
    assert_int_equal(sa_path_compile("", &p, &col, msg, sizeof(msg)), -1);
}

static void test_node_path(void **state)
{
    (void)state;
    static const char text[] = "{\"a\": [{\"x\": 0}, {\"b.c\": 1}]}";
    sa_perr err;
    sa_doc *d = sa_doc_new(text, strlen(text), NULL);
    assert_int_equal(sa_parse_json(d, &err), 0);
    const sa_node *b = d->root->first->last->first;
    char buf[32];
    assert_int_equal(sa_node_path(b, d->root, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "a.1.b.c");
    assert_int_equal(sa_node_path(d->root, d->root, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(sa_node_path(b, d->root, buf, 7), -1);  /* needs 8 bytes */
    assert_int_equal(sa_node_path(b, d->root, buf, 8), 0);
    sa_doc_free(d);
}

/* A map of many members is looked up through an index: same answers as the linear scan,
 * the last of repeated keys wins, joined keys are tried longest first, absent stays absent,
 * and one context answers many lookups on several large maps. */
static void test_large_map_index(void **state)
{
    fixture *f = *state;
    enum { N = 3000 };
    size_t cap = N * 40 + 256, n = 0;
    char *text = sa_malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "{\"k7\": \"first\", \"x.y\": 1, \"x\": {\"y\": 2},"
                                             " \"sub\": {");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"s%d\": %d", i ? ", " : "", i, i);
    n += (size_t)snprintf(text + n, cap - n, "}");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n, ", \"k%d\": %d", i, i);
    n += (size_t)snprintf(text + n, cap - n, ", \"k7\": \"last\"}");
    sa_doc *d = sa_doc_new(text, n, NULL);
    sa_perr err;
    assert_int_equal(sa_parse_json(d, &err), 0);
    assert_int_equal(eval_on(f, d->root, "k0 == 0 && k2999 == 2999 && k1500 == 1500"), 1);
    assert_int_equal(eval_on(f, d->root, "k7 == \"last\""), 1);
    assert_int_equal(eval_on(f, d->root, "x.y == 1 && x[\"y\"] == 2"), 1);
    assert_int_equal(eval_on(f, d->root, "exists(k3000) || exists(s1)"), 0);
    assert_int_equal(eval_on(f, d->root, "sub.s2999 == 2999 && sub.s0 == 0"), 1);
    /* one context, many lookups on two large maps */
    sa_expr *e = NULL;
    size_t col = 0;
    char msg[200];
    assert_int_equal(sa_expr_compile("sub.s10 == 10 && k10 == 10 && !exists(sub.k10)", NULL,
                                     &e, &col, msg, sizeof(msg)), 0);
    sa_eval_ctx ctx = {.svc = &f->svc, .root = d->root, .base = d->root, .scratch = f->scratch};
    for (int i = 0; i < 1000; i++)
        assert_int_equal(sa_expr_eval(e, &ctx), 1);
    assert_non_null(ctx.maps);
    sa_expr_free(e);
    sa_doc_free(d);
    sa_free(text);
}

/* Regular expressions whose compiled form would be huge are refused before regcomp. */
static void test_regex_bombs_refused(void **state)
{
    (void)state;
    char msg[128];
    static const char *const ok[] = {
        "^[[:space:]]*ldap://", "(^|,)[[:space:]]*(tcp|ws)[[:space:]]*(,|$)", "a{2,5}b+c*d?",
        "x\\++", "[+*]+", "((a|b)+c)*", "[]a+]+", "(a{10}){10}"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (sa_regex_check(ok[i], msg, sizeof(msg)) != 0)
            fail_msg("refused %s: %s", ok[i], msg);
    static const char *const bad[] = {
        "h++++++++++++++++++++++++++++++++", "a*+", "a{2}{3}", "((((a{99}){99}){99}){99})",
        "(((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sa_regex_check(bad[i], msg, sizeof(msg)), -1);
    /* through the condition compiler: an error with the regex's column, no regcomp */
    sa_expr *e = NULL;
    size_t col = 0;
    assert_int_equal(sa_expr_compile("x =~ \"h+++++++++++\"", &sa_limits_default, &e, &col,
                                     msg, sizeof(msg)), -1);
    assert_string_equal(msg, "regular expression applies a quantifier to a quantifier");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regex_bombs_refused),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_large_map_index),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_logic),
        cmocka_unit_test(test_functions),
        cmocka_unit_test(test_defaults_by_version),
        cmocka_unit_test(test_path_compile),
        cmocka_unit_test(test_node_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
