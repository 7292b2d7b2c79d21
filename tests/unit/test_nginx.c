/* test_nginx.c — nginx configuration files: directives and arguments at their exact
 * positions, blocks, nginx's token rules ('#' only at a token start, quotes and escapes,
 * ${var}, '}' inside a bare token), errors with their positions, the depth limit,
 * allocation failures, and the nginx view on a small configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/parse.h"
#include "parsed.h"
#include "secaudit/view.h"

static void parse_lim(parsed *p, const char *text, const sa_limits *lim)
{
    parse_with(p, sa_parse_nginx, text, strlen(text), lim);
}

static void parse(parsed *p, const char *text)
{
    parse_ok(p, sa_parse_nginx, text);
}

/* The i-th argument of directive d. */
static const sa_node *arg(const sa_node *d, size_t i)
{
    const sa_node *a = d->first;
    while (a && i--)
        a = a->next;
    if (a == NULL || a->type != SA_STR)
        fail_msg("directive %s has no argument %zu", d->key, i);
    return a;
}

static const sa_node *block(const sa_node *d)
{
    assert_int_equal(d->type, SA_LIST);
    assert_non_null(d->last);
    assert_int_equal(d->last->type, SA_MAP);
    return d->last;
}

static void test_directives_and_blocks(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "events {}\n"
              "http {\n"
              "  server_tokens off;\n"
              "  server {\n"
              "    listen 443 ssl;\n"
              "    location /api/ { proxy_pass http://10.0.0.5:8080; }\n"
              "  }\n"
              "}\n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 2);
    const sa_node *events = get(root, "events");
    assert_int_equal(events->count, 1);  /* just its (empty) block */
    assert_int_equal(block(events)->count, 0);
    const sa_node *http = block(get(root, "http"));
    const sa_node *tokens = get(http, "server_tokens");
    at(&p, tokens->key_off, 3, 3);
    assert_int_equal(tokens->count, 1);
    assert_string_equal(arg(tokens, 0)->str, "off");
    at(&p, arg(tokens, 0)->off, 3, 17);
    const sa_node *server = block(get(http, "server"));
    const sa_node *listen = get(server, "listen");
    assert_int_equal(listen->count, 2);
    assert_string_equal(arg(listen, 1)->str, "ssl");
    at(&p, arg(listen, 1)->off, 5, 16);
    const sa_node *loc = get(server, "location");
    assert_string_equal(arg(loc, 0)->str, "/api/");
    const sa_node *pp = get(block(loc), "proxy_pass");
    at(&p, pp->key_off, 6, 22);
    assert_string_equal(arg(pp, 0)->str, "http://10.0.0.5:8080");
    at(&p, arg(pp, 0)->off, 6, 33);
    done(&p);
}

static void test_tokens(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "a b#c; # a comment\n"
              "h X \"a \\\"q\\\" b\" always;\n"
              "t 'x\\ty' \\;z;\n"
              "set $v ${host}x;\n"
              "odd a};\n"
              "\xEF\xBB\xBF;x;\n"
              "name\n  # comment between\n  value;\n");
    const sa_node *r = p.doc->root;
    const sa_node *a = get(r, "a");
    assert_int_equal(a->count, 1);
    assert_string_equal(arg(a, 0)->str, "b#c");
    const sa_node *h = get(r, "h");
    assert_string_equal(arg(h, 1)->str, "a \"q\" b");
    assert_true(arg(h, 1)->flags & SA_NODE_QUOTED);
    at(&p, arg(h, 1)->off, 2, 5);  /* at the opening quote */
    assert_false(arg(h, 2)->flags & SA_NODE_QUOTED);
    const sa_node *t = get(r, "t");
    assert_string_equal(arg(t, 0)->str, "x\ty");
    assert_string_equal(arg(t, 1)->str, "\\;z");  /* an escaped ';' does not end the token */
    assert_string_equal(arg(get(r, "set"), 1)->str, "${host}x");
    assert_string_equal(arg(get(r, "odd"), 0)->str, "a}");
    /* a BOM inside the file is a byte of a token, not skipped */
    assert_int_equal(get(r, "\xEF\xBB\xBF")->count, 0);
    assert_int_equal(get(r, "x")->count, 0);
    const sa_node *name = get(r, "name");
    assert_string_equal(arg(name, 0)->str, "value");
    at(&p, arg(name, 0)->off, 9, 3);
    done(&p);
}

static void test_bom_at_start(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "\xEF\xBB\xBFuser www-data;\n");
    const sa_node *u = get(p.doc->root, "user");
    at(&p, u->key_off, 1, 1);
    assert_string_equal(arg(u, 0)->str, "www-data");
    done(&p);
}

static void expect_error(const char *text, unsigned line, unsigned col, const char *msg)
{
    parsed p;
    parse_lim(&p, text, NULL);
    assert_int_equal(p.rc, -1);
    assert_false(p.err.has_linecol);
    at(&p, p.err.off, line, col);
    if (strstr(p.err.msg, msg) == NULL)
        fail_msg("message '%s' does not say '%s'", p.err.msg, msg);
    done(&p);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("a \"b\"c;\n", 1, 6, "after a closing quote");
    expect_error("a \"b;\n", 1, 3, "unterminated quoted string");
    expect_error("x;\n}\n", 2, 1, "no block is open");
    expect_error("http {\n  a b }\n", 2, 7, "has no ';'");
    expect_error("a b", 1, 4, "the last directive has no ';'");
    expect_error("http {\n server {\n", 3, 1, "a block is not closed");
    expect_error("  ;\n", 1, 3, "unexpected ';'");
    expect_error("{ a; }\n", 1, 1, "unexpected '{'");
}

static void test_limits(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_depth = 3;
    parsed p;
    parse_lim(&p, "a { b { c; } }\n", &lim);
    assert_int_equal(p.rc, 0);
    done(&p);
    parse_lim(&p, "a { b { c { d; } } }\n", &lim);
    assert_int_equal(p.rc, -1);
    at(&p, p.err.off, 1, 11);
    assert_string_equal(p.err.msg, "nesting deeper than 3 levels");
    done(&p);
    lim = sa_limits_default;
    lim.max_string = 4;
    parse_lim(&p, "abcd efghi;\n", &lim);
    assert_int_equal(p.rc, -1);
    at(&p, p.err.off, 1, 6);
    done(&p);
    lim = sa_limits_default;
    lim.max_nodes = 5;
    parse_lim(&p, "a; b; c; d; e; f;\n", &lim);
    assert_int_equal(p.rc, -1);
    assert_string_equal(p.err.msg, "too many directives: the document's node limit was reached");
    done(&p);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    static const char text[] = "http { server { listen 80; add_header X-Frame-Options DENY; "
                               "location / { proxy_pass https://h; } } }\n";
    int ok = 0;
    for (unsigned long k = 1; k < 500 && !ok; k++) {
        sa_alloc_fail_at(k);
        sa_doc *doc = sa_doc_new(text, sizeof(text) - 1, NULL);
        sa_perr err;
        memset(&err, 0, sizeof(err));
        int rc = doc ? sa_parse_nginx(doc, &err) : -1;
        sa_node *view = NULL;
        if (rc == 0)
            rc = sa_view_find("nginx")->fn(doc, &view, &err);
        sa_alloc_fail_at(0);
        if (doc && rc < 0)
            assert_string_equal(err.msg, "out of memory");
        ok = rc == 0;
        sa_doc_free(doc);
    }
    assert_true(ok);
}

static const sa_node *member(const sa_node *m, const char *key)
{
    return sa_map_get(m, key, strlen(key));
}

static void test_view(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "http {\n"
              "  ssl_protocols TLSv1.2 TLSv1.3;\n"
              "  add_header Strict-Transport-Security max-age=1 always;\n"
              "  upstream app { server 127.0.0.1:81; server [::1]:81; }\n"
              "  server {\n"
              "    listen 443 ssl; listen 80;\n"
              "    server_name a.example;\n"
              "    location / { proxy_pass http://app; }\n"
              "    location /x/ { add_header X-Frame-Options DENY; proxy_pass https://b:1/; }\n"
              "  }\n"
              "  server { listen 80; return 301 https://$host$request_uri; }\n"
              "}\n");
    sa_node *view = NULL;
    assert_int_equal(sa_view_find("nginx")->fn(p.doc, &view, &p.err), 0);
    const sa_node *servers = member(view, "servers");
    assert_int_equal(servers->count, 2);
    const sa_node *s0 = servers->first, *s1 = s0->next;
    assert_string_equal(member(s0, "name")->str, "a.example");
    assert_string_equal(member(s0, "tls")->str, "true");
    assert_string_equal(member(s0, "plain")->str, "80");
    at(&p, member(s0, "plain")->key_off, 6, 21);
    assert_string_equal(member(s0, "redirect_only")->str, "false");
    assert_string_equal(member(s0, "ssl_protocols")->str, "TLSv1.2 TLSv1.3");  /* inherited */
    at(&p, member(s0, "ssl_protocols")->off, 2, 17);
    assert_string_equal(member(s0, "security_headers")->str, "strict-transport-security");
    assert_null(member(s0, "server_tokens"));  /* not set anywhere: the default applies */
    assert_string_equal(member(s1, "name")->str, "*:80");
    assert_string_equal(member(s1, "redirect_only")->str, "true");
    const sa_node *dropped = member(view, "dropped");
    assert_int_equal(dropped->count, 1);
    assert_string_equal(member(dropped->first, "header")->str, "strict-transport-security");
    assert_string_equal(member(dropped->first, "block")->str, "location /x/");
    at(&p, member(dropped->first, "header")->key_off, 9, 20);
    const sa_node *proxies = member(view, "proxies");
    assert_int_equal(proxies->count, 2);
    assert_string_equal(member(proxies->first, "host")->str, "app");
    assert_string_equal(member(proxies->first, "loopback")->str, "true");  /* its upstream */
    assert_string_equal(member(proxies->last, "scheme")->str, "https");
    assert_string_equal(member(proxies->last, "loopback")->str, "false");
    assert_null(member(proxies->last, "verify"));
    assert_int_equal(member(view, "protocols")->count, 1);
    assert_int_equal(member(view, "headers")->count, 2);
    done(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives_and_blocks),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_bom_at_start),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
