/* test_pghba.c — pg_hba.conf records: fields and their exact positions, quoting, lists,
 * continuation lines, IP + mask, the derived "reach" and "text", includes, and errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct parsed {
    sa_doc *doc;
    sa_linemap lines;
    sa_perr err;
    int rc;
} parsed;

static void parse_n(parsed *p, const char *text, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->doc = sa_doc_new(text, len, NULL);
    assert_non_null(p->doc);
    assert_int_equal(sa_linemap_init(&p->lines, text, len), 0);
    p->rc = sa_parse_pghba(p->doc, &p->err);
}

static void parse(parsed *p, const char *text)
{
    parse_n(p, text, strlen(text));
}

static void done(parsed *p)
{
    sa_linemap_free(&p->lines);
    sa_doc_free(p->doc);
}

static void at(const parsed *p, size_t off, unsigned line, unsigned col)
{
    unsigned l, c;
    sa_linemap_pos(&p->lines, off, &l, &c);
    if (l != line || c != col)
        fail_msg("offset %zu is at %u:%u, expected %u:%u", off, l, c, line, col);
}

static const sa_node *get(const sa_node *m, const char *key)
{
    const sa_node *n = sa_map_get(m, key, strlen(key));
    if (n == NULL)
        fail_msg("no member '%s'", key);
    return n;
}

static const sa_node *record(const parsed *p, size_t i)
{
    const sa_node *r = get(p->doc->root, "records")->first;
    while (r && i--)
        r = r->next;
    assert_non_null(r);
    return r;
}

static void str_is(const sa_node *n, const char *want)
{
    assert_non_null(n->str);
    assert_string_equal(n->str, want);
    assert_int_equal(n->len, strlen(want));
}

static void fails_at_n(const char *text, size_t len, unsigned line, unsigned col,
                       const char *msg)
{
    parsed p;
    parse_n(&p, text, len);
    int rc = p.rc;
    unsigned l, c;
    sa_linemap_pos(&p.lines, p.err.off, &l, &c);
    char got[256];
    snprintf(got, sizeof(got), "%s", p.err.msg);
    done(&p);
    assert_int_equal(rc, -1);
    if (l != line || c != col)
        fail_msg("'%s' is at %u:%u, expected %u:%u", got, l, c, line, col);
    if (strstr(got, msg) == NULL)
        fail_msg("message '%s' lacks '%s'", got, msg);
}

static void fails_at(const char *text, unsigned line, unsigned col, const char *msg)
{
    fails_at_n(text, strlen(text), line, col, msg);
}

static void test_fields_and_positions(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "# comment\n"
              "local   all   postgres   peer\n"
              "\n"
              "host    sales,hr  alice,+admins  10.0.0.0/8  scram-sha-256  # trailing\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(get(p.doc->root, "records")->count, 2);
    const sa_node *r = record(&p, 0);
    at(&p, r->off, 2, 1);
    str_is(get(r, "type"), "local");
    str_is(get(r, "method"), "peer");
    at(&p, get(r, "method")->off, 2, 26);
    at(&p, get(r, "method")->key_off, 2, 26);
    str_is(get(r, "reach"), "local");
    str_is(get(r, "text"), "local all postgres peer");
    assert_null(sa_map_get(r, "address", 7));
    assert_int_equal(get(r, "options")->count, 0);

    r = record(&p, 1);
    const sa_node *db = get(r, "database");
    assert_int_equal(db->type, SA_LIST);
    assert_int_equal(db->count, 2);
    str_is(db->first, "sales");
    str_is(db->last, "hr");
    at(&p, db->first->off, 4, 9);
    at(&p, db->last->off, 4, 15);
    const sa_node *user = get(r, "user");
    str_is(user->last, "+admins");
    at(&p, user->last->off, 4, 25);
    str_is(get(r, "address"), "10.0.0.0/8");
    at(&p, get(r, "address")->off, 4, 34);
    str_is(get(r, "method"), "scram-sha-256");
    at(&p, get(r, "method")->off, 4, 46);
    str_is(get(r, "reach"), "remote");
    str_is(get(r, "text"), "host sales,hr alice,+admins 10.0.0.0/8 scram-sha-256");
    done(&p);
}

static void test_quoting(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "host \"all\" \"a b\",\"c,d\",\"say \"\"hi\"\"\" all scram-sha-256\n");
    assert_int_equal(p.rc, 0);
    const sa_node *r = record(&p, 0);
    const sa_node *db = get(r, "database");
    str_is(db->first, "all");
    assert_true(db->first->flags & SA_NODE_QUOTED);  /* a quoted keyword is a name */
    const sa_node *u = get(r, "user");
    assert_int_equal(u->count, 3);
    str_is(u->first, "a b");
    str_is(u->first->next, "c,d");
    str_is(u->last, "say \"hi\"");
    at(&p, u->last->off, 1, 24);
    /* the address "all" is a keyword: the whole world */
    str_is(get(r, "reach"), "world");
    str_is(get(r, "text"),
           "host \"all\" \"a b\",\"c,d\",\"say \"\"hi\"\"\" all scram-sha-256");
    done(&p);
}

static void test_continuation(void **state)
{
    (void)state;
    parsed p;
    /* the catalogue's example: cleartext replication split across two lines */
    parse(&p, "host replication repl 0.0.0.0/0 \\\n     password\r\n"
              "host all all 192.168.0.0/16 ldap ldapserver=ldap.example.com ldapprefix=\"cn=\" "
              "ldapsuffix=\",dc=example,dc=com\"\n");
    assert_int_equal(p.rc, 0);
    const sa_node *r = record(&p, 0);
    str_is(get(r, "method"), "password");
    at(&p, get(r, "method")->off, 2, 6);  /* on the continuation line */
    str_is(get(r, "reach"), "world");
    str_is(get(r, "text"), "host replication repl 0.0.0.0/0 password");
    r = record(&p, 1);
    at(&p, r->off, 3, 1);
    const sa_node *o = get(r, "options");
    assert_int_equal(o->count, 3);
    str_is(get(o, "ldapserver"), "ldap.example.com");
    str_is(get(o, "ldapprefix"), "cn=");
    str_is(get(o, "ldapsuffix"), ",dc=example,dc=com");
    at(&p, get(o, "ldapsuffix")->key_off, 3, 79);
    at(&p, get(o, "ldapprefix")->key_off, 3, 62);
    done(&p);
}

static void test_ip_and_mask(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "host all all 10.1.2.3 255.255.0.0 md5\n"
              "host all all 0.0.0.0 0.0.0.0 trust\n"
              "host all all 127.0.0.1 255.255.255.255 trust\n"
              "host all all ::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff trust\n");
    assert_int_equal(p.rc, 0);
    const sa_node *r = record(&p, 0);
    str_is(get(r, "address"), "10.1.2.3");
    str_is(get(r, "mask"), "255.255.0.0");
    at(&p, get(r, "mask")->off, 1, 23);
    str_is(get(r, "method"), "md5");
    at(&p, get(r, "method")->off, 1, 35);
    str_is(get(r, "reach"), "remote");
    str_is(get(record(&p, 1), "reach"), "world");
    str_is(get(record(&p, 2), "reach"), "loopback");
    str_is(get(record(&p, 3), "reach"), "loopback");
    done(&p);
}

static void reach_is(const char *addr, const char *want)
{
    char text[200];
    snprintf(text, sizeof(text), "hostssl all all %s cert\n", addr);
    parsed p;
    parse(&p, text);
    if (p.rc != 0)
        fail_msg("%s: %s", addr, p.err.msg);
    const sa_node *r = get(record(&p, 0), "reach");
    if (strcmp(r->str, want) != 0)
        fail_msg("reach of %s is %s, expected %s", addr, r->str, want);
    done(&p);
}

static void test_reach(void **state)
{
    (void)state;
    reach_is("0.0.0.0/0", "world");
    reach_is("::/0", "world");
    reach_is("::0/0", "world");
    reach_is("10.0.0.0/0", "world");
    reach_is("127.0.0.1/0", "world");
    reach_is("all", "world");
    reach_is("127.0.0.1/32", "loopback");
    reach_is("127.0.0.0/8", "loopback");
    reach_is("127.0.0.0/7", "remote");
    reach_is("::1/128", "loopback");
    reach_is("::1/64", "remote");
    reach_is("localhost", "loopback");
    reach_is("samehost", "samehost");
    reach_is("samenet", "remote");
    reach_is("10.0.0.0/8", "remote");
    reach_is(".example.com", "remote");
    reach_is("db.example.com", "remote");
    reach_is("\"all\"", "remote");  /* a host literally named all */
}

static void test_includes(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "include_dir conf.d\ninclude_if_exists \"extra hba.conf\"\n");
    assert_int_equal(p.rc, 0);
    str_is(get(record(&p, 0), "type"), "include_dir");
    str_is(get(record(&p, 0), "path"), "conf.d");
    str_is(get(record(&p, 1), "path"), "extra hba.conf");
    at(&p, get(record(&p, 1), "path")->off, 2, 19);
    done(&p);
}

static void test_bom_crlf_empty(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "\xEF\xBB\xBFlocal all all trust\r\n\r\n# end\r\n");
    assert_int_equal(p.rc, 0);
    at(&p, record(&p, 0)->off, 1, 1);
    str_is(get(record(&p, 0), "method"), "trust");
    at(&p, get(record(&p, 0), "method")->off, 1, 15);
    done(&p);
    parse(&p, "");
    assert_int_equal(p.rc, 0);
    assert_int_equal(get(p.doc->root, "records")->count, 0);
    done(&p);
}

static void test_errors(void **state)
{
    (void)state;
    fails_at("local all all Trust\n", 1, 15, "invalid authentication method \"Trust\"");
    fails_at("\nhost all all 10.0.0.0/8\n", 2, 24, "end-of-line before authentication method");
    fails_at("host all\n", 1, 9, "end-of-line before role specification");
    fails_at("hots all all 10.0.0.0/8 md5\n", 1, 1, "invalid connection type \"hots\"");
    fails_at("host all all 10.0.0.0/33 md5\n", 1, 23, "invalid CIDR mask");
    fails_at("host all all 10.0.0.300/8 md5\n", 1, 14, "invalid IP address");
    fails_at("host all all 10.0.0.1 md5\n", 1, 23, "invalid IP mask");
    fails_at("host all all 10.0.0.1\n", 1, 22, "needs a separate netmask");
    fails_at("host all all all md5 \"quoted\"=1\n", 1, 22, "not in name=value format");
    fails_at("host \"all all all md5\n", 1, 6, "unterminated quoted string");
    static const char nul[] = "local all all trust\nlocal a\0b all trust\n";
    fails_at_n(nul, sizeof(nul) - 1, 2, 8, "NUL byte");
    fails_at("local all,all all a,b\n", 1, 19, "must be a single value");
}

static void test_long_lists_linear(void **state)
{
    (void)state;
    /* 200,000 users in one record: the tokenizer must not be quadratic in memory */
    size_t n = 200000;
    char *text = sa_malloc(n * 2 + 64);
    size_t o = (size_t)sprintf(text, "host all ");
    for (size_t i = 0; i < n; i++) {
        text[o++] = 'u';
        text[o++] = ',';
    }
    o--;
    strcpy(text + o, " 10.0.0.0/8 md5\n");
    parsed p;
    parse(&p, text);
    assert_int_equal(p.rc, 0);
    assert_int_equal(get(record(&p, 0), "user")->count, n);
    assert_true(sa_arena_used(p.doc->arena) < 64u * 1024 * 1024);
    done(&p);
    sa_free(text);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    const char *text = "local all all peer\nhost db u 10.0.0.0/8 ldap ldapserver=x ldaptls=1\n";
    for (unsigned long n = 1;; n++) {
        sa_alloc_fail_at(n);
        parsed p;
        memset(&p, 0, sizeof(p));
        p.doc = sa_doc_new(text, strlen(text), NULL);
        int rc = p.doc ? sa_parse_pghba(p.doc, &p.err) : -1;
        unsigned long made = sa_alloc_fail_at(0);
        int had_doc = p.doc != NULL;
        sa_doc_free(p.doc);
        if (made < n) {  /* the failure was never reached: a complete run */
            assert_int_equal(rc, 0);
            break;
        }
        if (rc == 0)
            continue;  /* the failed allocation was not needed */
        assert_int_equal(rc, -1);
        if (had_doc)
            assert_string_equal(p.err.msg, "out of memory");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_positions),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_continuation),
        cmocka_unit_test(test_ip_and_mask),
        cmocka_unit_test(test_reach),
        cmocka_unit_test(test_includes),
        cmocka_unit_test(test_bom_crlf_empty),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_long_lists_linear),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
