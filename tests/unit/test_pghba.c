/* test_pghba.c — pg_hba.conf records: every field and list element at its exact position,
 * quoting ("" and quoted keywords), comma lists, continuation lines (also in quotes and
 * comments), IP + mask, the derived "reach" and "text", options, includes, errors with
 * their positions, limits, allocation failures and random input. */
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

static void parse_lim(parsed *p, const char *text, size_t len, const sa_limits *lim)
{
    parse_with(p, sa_parse_pghba, text, len, lim);
}

static void parse(parsed *p, const char *text)
{
    parse_ok(p, sa_parse_pghba, text);
}

static const sa_node *nth(const sa_node *m, size_t i)
{
    const sa_node *c = m->first;
    for (size_t k = 0; c && k < i; k++)
        c = c->next;
    if (c == NULL)
        fail_msg("no child %zu", i);
    return c;
}

static size_t nrecords(const parsed *p)
{
    return get(p->doc->root, "records")->count;
}

static const sa_node *record(const parsed *p, size_t i)
{
    return nth(get(p->doc->root, "records"), i);
}

/* n is SA_STR want at line:col. */
static void str_at(const parsed *p, const sa_node *n, const char *want, unsigned line,
                   unsigned col)
{
    assert_int_equal(n->type, SA_STR);
    if (n->len != strlen(want) || strcmp(n->str, want) != 0)
        fail_msg("'%s', expected '%s'", n->str, want);
    at(p, n->off, line, col);
}

/* Member key of m is SA_STR want at line:col (key_off too). */
static void mem(const parsed *p, const sa_node *m, const char *key, const char *want,
                unsigned line, unsigned col)
{
    const sa_node *n = get(m, key);
    str_at(p, n, want, line, col);
    at(p, n->key_off, line, col);
}

/* The exact member keys of a record, in order. */
static void keys(const sa_node *rec, const char *const *want, size_t n)
{
    assert_int_equal(rec->count, n);
    const sa_node *c = rec->first;
    for (size_t i = 0; i < n; i++, c = c->next)
        if (strcmp(c->key, want[i]) != 0)
            fail_msg("member %zu is '%s', expected '%s'", i, c->key, want[i]);
}

static const char *const host_keys[] = {"type",    "database", "user",  "address",
                                        "method",  "options",  "reach", "text"};
static const char *const mask_keys[] = {"type",   "database", "user",  "address", "mask",
                                        "method", "options",  "reach", "text"};
static const char *const local_keys[] = {"type",    "database", "user", "method",
                                         "options", "reach",    "text"};

static void fails_lim(const char *text, size_t len, const sa_limits *lim, unsigned line,
                      unsigned col, const char *msg)
{
    parsed p;
    parse_lim(&p, text, len, lim);
    int rc = p.rc;
    unsigned l, c;
    sa_linemap_pos(&p.lines, p.err.off, &l, &c);
    char got[256];
    snprintf(got, sizeof(got), "%s", p.err.msg);
    done(&p);
    if (rc != -1)
        fail_msg("parse succeeded, expected '%s' at %u:%u", msg, line, col);
    if (l != line || c != col || strstr(got, msg) == NULL)
        fail_msg("'%s' at %u:%u, expected '%s' at %u:%u", got, l, c, msg, line, col);
}

static void fails_at(const char *text, unsigned line, unsigned col, const char *msg)
{
    fails_lim(text, strlen(text), NULL, line, col, msg);
}

/* ---- the catalogue's examples ----------------------------------------------------------- */

static void test_example_trust_world(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "host  all  all  0.0.0.0/0  trust\n");
    assert_int_equal(nrecords(&p), 1);
    const sa_node *r = record(&p, 0);
    assert_int_equal(r->type, SA_MAP);
    at(&p, r->off, 1, 1);
    keys(r, host_keys, 8);
    mem(&p, r, "type", "host", 1, 1);
    const sa_node *db = get(r, "database");
    assert_int_equal(db->type, SA_LIST);
    assert_int_equal(db->count, 1);
    at(&p, db->off, 1, 7);
    str_at(&p, nth(db, 0), "all", 1, 7);
    assert_false(nth(db, 0)->flags & SA_NODE_QUOTED);
    str_at(&p, nth(get(r, "user"), 0), "all", 1, 12);
    mem(&p, r, "address", "0.0.0.0/0", 1, 17);
    mem(&p, r, "method", "trust", 1, 28);
    assert_int_equal(get(r, "options")->type, SA_MAP);
    assert_int_equal(get(r, "options")->count, 0);
    const sa_node *reach = get(r, "reach");
    assert_true(reach->flags & SA_NODE_SYNTH);
    str_at(&p, reach, "world", 1, 17);
    const sa_node *text = get(r, "text");
    assert_true(text->flags & SA_NODE_SYNTH);
    str_at(&p, text, "host all all 0.0.0.0/0 trust", 1, 1);
    done(&p);
}

static void test_example_shadowed(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "host     all  all  10.0.0.0/8   md5\n"
          "hostssl  all  all  10.1.0.0/16  scram-sha-256 clientcert=verify-full\n");
    assert_int_equal(nrecords(&p), 2);
    const sa_node *r = record(&p, 0);
    mem(&p, r, "address", "10.0.0.0/8", 1, 20);
    mem(&p, r, "method", "md5", 1, 33);
    str_at(&p, get(r, "reach"), "remote", 1, 20);
    r = record(&p, 1);
    keys(r, host_keys, 8);
    mem(&p, r, "type", "hostssl", 2, 1);
    str_at(&p, nth(get(r, "database"), 0), "all", 2, 10);
    str_at(&p, nth(get(r, "user"), 0), "all", 2, 15);
    mem(&p, r, "address", "10.1.0.0/16", 2, 20);
    mem(&p, r, "method", "scram-sha-256", 2, 33);
    const sa_node *o = get(r, "options");
    assert_int_equal(o->count, 1);
    at(&p, o->off, 2, 47);
    const sa_node *cc = get(o, "clientcert");
    str_at(&p, cc, "verify-full", 2, 58);
    at(&p, cc->key_off, 2, 47);
    str_at(&p, get(r, "text"), "hostssl all all 10.1.0.0/16 scram-sha-256 clientcert=verify-full",
           2, 1);
    done(&p);
}

static void test_example_continuation_ldap(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "host replication repl 0.0.0.0/0 \\\n"
          "     password\n"
          "host all all 192.168.0.0/16 ldap ldapserver=ldap.example.com ldapprefix=\"cn=\" "
          "ldapsuffix=\",dc=example,dc=com\"\n");
    assert_int_equal(nrecords(&p), 2);
    const sa_node *r = record(&p, 0);
    str_at(&p, nth(get(r, "database"), 0), "replication", 1, 6);
    str_at(&p, nth(get(r, "user"), 0), "repl", 1, 18);
    mem(&p, r, "address", "0.0.0.0/0", 1, 23);
    /* the method is on the continued line, positioned there */
    mem(&p, r, "method", "password", 2, 6);
    str_at(&p, get(r, "reach"), "world", 1, 23);
    str_at(&p, get(r, "text"), "host replication repl 0.0.0.0/0 password", 1, 1);

    r = record(&p, 1);
    at(&p, r->off, 3, 1);
    mem(&p, r, "address", "192.168.0.0/16", 3, 14);
    mem(&p, r, "method", "ldap", 3, 29);
    str_at(&p, get(r, "reach"), "remote", 3, 14);
    const sa_node *o = get(r, "options");
    assert_int_equal(o->count, 3);
    const sa_node *n = get(o, "ldapserver");
    str_at(&p, n, "ldap.example.com", 3, 45);
    at(&p, n->key_off, 3, 34);
    assert_false(n->flags & SA_NODE_QUOTED);
    /* a quoted value: quotes removed, positioned at its opening quote */
    n = get(o, "ldapprefix");
    str_at(&p, n, "cn=", 3, 73);
    at(&p, n->key_off, 3, 62);
    assert_true(n->flags & SA_NODE_QUOTED);
    n = get(o, "ldapsuffix");
    str_at(&p, n, ",dc=example,dc=com", 3, 90);
    at(&p, n->key_off, 3, 79);
    assert_true(n->flags & SA_NODE_QUOTED);
    str_at(&p, get(r, "text"),
           "host all all 192.168.0.0/16 ldap ldapserver=ldap.example.com ldapprefix=\"cn=\" "
           "ldapsuffix=\",dc=example,dc=com\"",
           3, 1);
    done(&p);
}

/* ---- fields ------------------------------------------------------------------------------ */

static void test_ip_and_mask(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "host all all 192.168.1.0 255.255.255.0 md5\n"
          "host all all 0.0.0.0 0.0.0.0 trust\n"
          "host all all 127.0.0.1 255.255.255.255 trust\n"
          "host all all ::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff trust\n"
          "host all all :: :: reject\n"
          "host all all 127.0.0.1 0.0.0.0 trust\n"
          "host all all 127.0.0.0 255.0.255.0 trust\n");
    assert_int_equal(nrecords(&p), 7);
    const sa_node *r = record(&p, 0);
    keys(r, mask_keys, 9);
    mem(&p, r, "address", "192.168.1.0", 1, 14);
    mem(&p, r, "mask", "255.255.255.0", 1, 26);
    mem(&p, r, "method", "md5", 1, 40);
    str_at(&p, get(r, "reach"), "remote", 1, 14);
    str_at(&p, get(r, "text"), "host all all 192.168.1.0 255.255.255.0 md5", 1, 1);
    str_at(&p, get(record(&p, 1), "reach"), "world", 2, 14);
    mem(&p, record(&p, 1), "method", "trust", 2, 30);
    str_at(&p, get(record(&p, 2), "reach"), "loopback", 3, 14);
    str_at(&p, get(record(&p, 3), "reach"), "loopback", 4, 14);
    mem(&p, record(&p, 3), "method", "trust", 4, 58);
    str_at(&p, get(record(&p, 4), "reach"), "world", 5, 14);
    str_at(&p, get(record(&p, 5), "reach"), "world", 6, 14);
    /* a non-contiguous mask that still pins the first octet to 127 */
    str_at(&p, get(record(&p, 6), "reach"), "loopback", 7, 14);
    done(&p);
}

/* Every reach class, with the edge cases. */
static void test_reach(void **state)
{
    (void)state;
    static const struct {
        const char *addr, *reach;
    } cases[] = {
        {"127.0.0.1/32", "loopback"},   {"127.0.0.1/0", "world"},
        {"127.0.0.0/8", "loopback"},    {"127.0.0.0/7", "remote"},
        {"::1/128", "loopback"},        {"::1/127", "remote"},
        {"10.0.0.0/8", "remote"},       {"10.0.0.0/0", "world"},
        {"0.0.0.0/0", "world"},         {"::/0", "world"},
        {"::0/0", "world"},             {"192.168.0.1/32", "remote"},
        {"samenet", "remote"},          {"samehost", "samehost"},
        {"all", "world"},               {"localhost", "loopback"},
        {"LocalHost", "loopback"},      {".example.com", "remote"},
        {"db.example.com", "remote"},   {"\"all\"", "remote"},
        {"\"10.0.0.0/0\"", "world"},    {"::ffff:127.0.0.1/128", "loopback"},
        {"::ffff:127.0.0.0/104", "loopback"}, {"::ffff:127.0.0.0/103", "remote"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char line[128];
        snprintf(line, sizeof(line), "hostssl all all %s trust\n", cases[i].addr);
        parsed p;
        parse(&p, line);
        const sa_node *r = record(&p, 0);
        const sa_node *reach = get(r, "reach");
        if (strcmp(reach->str, cases[i].reach) != 0)
            fail_msg("%s: reach %s, expected %s", cases[i].addr, reach->str, cases[i].reach);
        at(&p, reach->off, 1, 17);
        mem(&p, r, "method", "trust", 1, 18 + (unsigned)strlen(cases[i].addr));
        done(&p);
    }
    parsed p;
    parse(&p, "local all all trust\n");
    const sa_node *r = record(&p, 0);
    keys(r, local_keys, 7);
    str_at(&p, get(r, "reach"), "local", 1, 1);
    mem(&p, r, "method", "trust", 1, 15);
    assert_null(sa_map_get(r, "address", 7));
    done(&p);
}

static void test_quoting_and_lists(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "local db1,\"db,2\",db3 +admins,\"x y\" peer\n"
          "host \"all\" all 10.0.0.0/8 md5 # a comment, \"quoted\"\n"
          "local \"a\"\"b\" a\"ll\" scram-sha-256\n"
          "local a, b all trust\n"
          "local \"\",x all peer,\n"
          "local \"my \\\n"
          "db\" all peer\n"
          "# comment \\\n"
          "local all all trust\n"
          "local all all peer map=a,map=\"b\" map=c\n");
    assert_int_equal(nrecords(&p), 7);
    /* a list split outside quotes, each element at its own place */
    const sa_node *r = record(&p, 0);
    const sa_node *db = get(r, "database");
    assert_int_equal(db->count, 3);
    at(&p, db->off, 1, 7);
    str_at(&p, nth(db, 0), "db1", 1, 7);
    str_at(&p, nth(db, 1), "db,2", 1, 11);
    assert_true(nth(db, 1)->flags & SA_NODE_QUOTED);
    str_at(&p, nth(db, 2), "db3", 1, 18);
    const sa_node *user = get(r, "user");
    assert_int_equal(user->count, 2);
    str_at(&p, nth(user, 0), "+admins", 1, 22);
    str_at(&p, nth(user, 1), "x y", 1, 30);
    mem(&p, r, "method", "peer", 1, 36);
    str_at(&p, get(r, "text"), "local db1,\"db,2\",db3 +admins,\"x y\" peer", 1, 1);
    /* a quoted keyword is a plain name: flagged quoted */
    r = record(&p, 1);
    str_at(&p, nth(get(r, "database"), 0), "all", 2, 6);
    assert_true(nth(get(r, "database"), 0)->flags & SA_NODE_QUOTED);
    assert_false(nth(get(r, "user"), 0)->flags & SA_NODE_QUOTED);
    mem(&p, r, "method", "md5", 2, 27);
    str_at(&p, get(r, "text"), "host \"all\" all 10.0.0.0/8 md5", 2, 1);
    /* "" inside quotes is a quote; a quote later in a token does not make it quoted
     * (PostgreSQL: only a leading quote does) */
    r = record(&p, 2);
    str_at(&p, nth(get(r, "database"), 0), "a\"b", 3, 7);
    assert_true(nth(get(r, "database"), 0)->flags & SA_NODE_QUOTED);
    str_at(&p, nth(get(r, "user"), 0), "all", 3, 14);
    assert_false(nth(get(r, "user"), 0)->flags & SA_NODE_QUOTED);
    mem(&p, r, "method", "scram-sha-256", 3, 20);
    /* blanks after a comma continue the list */
    r = record(&p, 3);
    db = get(r, "database");
    assert_int_equal(db->count, 2);
    str_at(&p, nth(db, 0), "a", 4, 7);
    str_at(&p, nth(db, 1), "b", 4, 10);
    str_at(&p, nth(get(r, "user"), 0), "all", 4, 12);
    mem(&p, r, "method", "trust", 4, 16);
    str_at(&p, get(r, "text"), "local a, b all trust", 4, 1);
    /* an empty quoted name counts; a trailing comma ends the list */
    r = record(&p, 4);
    db = get(r, "database");
    assert_int_equal(db->count, 2);
    str_at(&p, nth(db, 0), "", 5, 7);
    assert_true(nth(db, 0)->flags & SA_NODE_QUOTED);
    str_at(&p, nth(db, 1), "x", 5, 10);
    str_at(&p, nth(get(r, "user"), 0), "all", 5, 12);
    mem(&p, r, "method", "peer", 5, 16);
    str_at(&p, get(r, "text"), "local \"\",x all peer", 5, 1);
    /* a continuation inside quotes: joined without a space */
    r = record(&p, 5);
    str_at(&p, nth(get(r, "database"), 0), "my db", 6, 7);
    mem(&p, r, "method", "peer", 7, 9);
    str_at(&p, get(r, "text"), "local \"my db\" all peer", 6, 1);
    /* a comment that ends in '\' swallows the next line (PostgreSQL joins first) */
    r = record(&p, 6);
    at(&p, r->off, 10, 1);
    /* options: each token of a comma list is an option of its own; dups marked */
    const sa_node *o = get(r, "options");
    assert_int_equal(o->count, 3);
    at(&p, o->off, 10, 20);
    str_at(&p, nth(o, 0), "a", 10, 24);
    assert_true(nth(o, 0)->flags & SA_NODE_DUP);
    str_at(&p, nth(o, 1), "b", 10, 30);
    at(&p, nth(o, 1)->key_off, 10, 26);
    assert_true(nth(o, 1)->flags & SA_NODE_DUP);
    str_at(&p, nth(o, 2), "c", 10, 38);
    assert_false(nth(o, 2)->flags & SA_NODE_DUP);
    done(&p);

    /* commas before a token are skipped, as in PostgreSQL: no empty elements */
    parse(&p, "local ,a,,b all peer\n");
    db = get(record(&p, 0), "database");
    assert_int_equal(db->count, 2);
    at(&p, db->off, 1, 8);
    str_at(&p, nth(db, 0), "a", 1, 8);
    str_at(&p, nth(db, 1), "b", 1, 11);
    mem(&p, record(&p, 0), "method", "peer", 1, 17);
    done(&p);
}

static void test_include_records(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "include /etc/postgresql/extra.conf\n"
          "  include_if_exists \"my file.conf\"   # optional\n"
          "include_dir conf.d\n"
          "local all all peer\n");
    assert_int_equal(nrecords(&p), 4);
    static const char *const inc_keys[] = {"type", "path", "text"};
    const sa_node *r = record(&p, 0);
    keys(r, inc_keys, 3);
    mem(&p, r, "type", "include", 1, 1);
    mem(&p, r, "path", "/etc/postgresql/extra.conf", 1, 9);
    str_at(&p, get(r, "text"), "include /etc/postgresql/extra.conf", 1, 1);
    r = record(&p, 1);
    at(&p, r->off, 2, 3);
    mem(&p, r, "type", "include_if_exists", 2, 3);
    mem(&p, r, "path", "my file.conf", 2, 21);
    assert_true(get(r, "path")->flags & SA_NODE_QUOTED);
    r = record(&p, 2);
    mem(&p, r, "type", "include_dir", 3, 1);
    mem(&p, r, "path", "conf.d", 3, 13);
    mem(&p, record(&p, 3), "method", "peer", 4, 15);
    done(&p);
    fails_at("include\n", 1, 8, "exactly one file or directory name");
    fails_at("include_dir a b\n", 1, 15, "exactly one file or directory name");
    fails_at("include a,b\n", 1, 11, "multiple values specified for the included path");
}

static void test_crlf_bom_blank_lines(void **state)
{
    (void)state;
    parsed p;
    parse(&p,
          "\xEF\xBB\xBF" "local all all peer\r\n"
          "\r\n"
          "   # only a comment\r\n"
          "\t\r\n"
          "host all all 10.0.0.0/8 md5 \r\n"
          "host all all 10.0.0.0/8 md5 \\\r\n"
          "  map=x\r\n");
    assert_int_equal(nrecords(&p), 3);
    /* the BOM is no column; the CR is not part of the method */
    mem(&p, record(&p, 0), "method", "peer", 1, 15);
    mem(&p, record(&p, 1), "method", "md5", 5, 25);
    mem(&p, record(&p, 2), "method", "md5", 6, 25);
    str_at(&p, get(get(record(&p, 2), "options"), "map"), "x", 7, 7);
    done(&p);
    parse(&p, "");
    assert_int_equal(nrecords(&p), 0);
    done(&p);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    fails_at("local all all Trust\n", 1, 15, "invalid authentication method \"Trust\"");
    fails_at("local all all\n", 1, 14, "end-of-line before authentication method");
    fails_at("local all # no user\n", 1, 20, "end-of-line before role specification");
    fails_at("local\n", 1, 6, "end-of-line before database specification");
    fails_at("host all all\n", 1, 13, "end-of-line before IP address specification");
    fails_at("host all all 10.0.0.1\n", 1, 22, "end-of-line before netmask specification");
    /* a bare IP address takes the next field as its mask */
    fails_at("host all all 10.0.0.1 md5\n", 1, 23, "invalid IP mask \"md5\"");
    fails_at("host all all 10.0.0.1 ffff:: md5\n", 1, 23, "IP address and mask do not match");
    fails_at("hots all all 1.2.3.4/32 md5\n", 1, 1, "invalid connection type \"hots\"");
    fails_at("local all all peer\nHOST all all 1.2.3.4/32 md5\n", 2, 1,
             "invalid connection type \"HOST\"");
    fails_at("host all all 10.0.0.0/33 md5\n", 1, 23, "invalid CIDR mask in address");
    fails_at("host all all ::1/129 md5\n", 1, 18, "invalid CIDR mask in address");
    fails_at("host all all 10.0.0.0/ md5\n", 1, 23, "invalid CIDR mask in address");
    fails_at("host all all 10.0.0.0/+8 md5\n", 1, 23, "invalid CIDR mask in address");
    fails_at("host all all 10.0.0.300/8 md5\n", 1, 14, "invalid IP address \"10.0.0.300/8\"");
    fails_at("host all all db.example.com/24 md5\n", 1, 14, "invalid IP address");
    fails_at("host all all 10.0.0.0/8,10.1.0.0/16 md5\n", 1, 25,
             "multiple values specified for the host address");
    fails_at("local all all peer,md5\n", 1, 20, "multiple values specified");
    fails_at("local,host all all peer\n", 1, 7, "multiple values specified");
    fails_at("local all all peer map\n", 1, 20,
             "authentication option not in name=value format: \"map\"");
    fails_at("local all all peer =x\n", 1, 20, "authentication option has no name");
    fails_at("local \"db all peer\n", 1, 7, "not closed");
    /* echoes are short and printable */
    fails_at("local all all \"\x1b[31mreallyreallyreallyreallyreallylongmethodname\"\n", 1,
             15, "invalid authentication method \"?[31mreallyreallyreallyreallyreallylongm...\"");
}

static void test_limits(void **state)
{
    (void)state;
    static const char nul[] = "local all all peer\nlocal a\0b all peer\n";
    fails_lim(nul, sizeof(nul) - 1, NULL, 2, 8, "NUL byte in text");
    sa_limits lim = sa_limits_default;
    lim.max_string = 18;
    fails_lim("local all all peer\nlocal all all trust\n", 39, &lim, 2, 1,
              "line is longer than the limit of 18 bytes");
    fails_lim("local all \\\nall peer x=1\n", 25, &lim, 1, 1, "continuations joined");
    lim = sa_limits_default;
    lim.max_nodes = 12;  /* root, records, then 10 nodes per local record */
    parsed p;
    parse_lim(&p, "local all all peer\n", 19, &lim);
    assert_int_equal(p.rc, 0);
    done(&p);
    fails_lim("local all all peer\nlocal all all peer\n", 38, &lim, 2, 1, "node limit");
}

/* ---- robustness ------------------------------------------------------------------------------ */

static void check_tree(const sa_node *n, size_t len)
{
    assert_true(n->off <= len);
    assert_true(n->key_off <= len);
    if (n->type == SA_STR)
        assert_non_null(n->str);
    size_t count = 0;
    for (const sa_node *c = n->first; c; c = c->next) {
        assert_ptr_equal(c->parent, n);
        check_tree(c, len);
        count++;
    }
    assert_int_equal(count, n->count);
}

static void check_msg(const sa_perr *e, size_t len)
{
    size_t n = strlen(e->msg);
    assert_true(n > 0);
    assert_true(e->msg[n - 1] != '.');
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)e->msg[i] >= 0x20 && (unsigned char)e->msg[i] < 0x7f);
    assert_true(e->off <= len);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    static const char text[] =
        "local \"a\"\"b\",c all peer map=x\n"
        "host all all 10.0.0.1 255.0.0.0 ldap ldapprefix=\"cn=\" \\\n  ldaptls=1\n"
        "include x.conf\n";
    size_t len = sizeof(text) - 1;
    int ok = 0;
    for (unsigned long k = 1; k < 500 && !ok; k++) {
        sa_alloc_fail_at(k);
        sa_doc *doc = sa_doc_new(text, len, NULL);
        sa_perr err;
        int rc = doc ? sa_parse_pghba(doc, &err) : -1;
        sa_alloc_fail_at(0);
        if (doc && rc < 0)
            check_msg(&err, len);
        ok = rc == 0;
        if (ok) {
            check_tree(doc->root, len);
            assert_int_equal(get(doc->root, "records")->count, 3);
        }
        sa_doc_free(doc);
    }
    assert_true(ok);
}

static void test_random_inputs(void **state)
{
    (void)state;
    static const char *const words[] = {
        "local", "host", "hostssl", "all", "\"all\"", "10.0.0.0/8", "::1", "127.0.0.1",
        "255.255.255.0", "trust", "md5", "peer", "map=x", "a=\"b c\"", ",", "\"", "\"\"",
        "#", "\\\n", "\n", " ", "\t", "\r\n", "include", "x", "/", "0", "é", "\xEF\xBB\xBF",
    };
    enum { NW = sizeof(words) / sizeof(words[0]) };
    unsigned long seed = 987654321;
    char buf[160];
    for (int iter = 0; iter < 6000; iter++) {
        size_t len = 0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t nwords = (seed >> 33) % 14;
        for (size_t k = 0; k < nwords; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *w = words[(seed >> 33) % NW];
            size_t wl = strlen(w);
            if (len + wl + 1 > sizeof(buf))
                break;
            memcpy(buf + len, w, wl);
            len += wl;
            if ((seed >> 40) % 3)
                buf[len++] = ' ';
        }
        sa_limits lim = sa_limits_default;
        lim.max_string = 4 + (size_t)(iter % 60);
        sa_doc *doc = sa_doc_new(buf, len, &lim);
        assert_non_null(doc);
        sa_perr err;
        if (sa_parse_pghba(doc, &err) == 0)
            check_tree(doc->root, len);
        else
            check_msg(&err, len);
        sa_doc_free(doc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_trust_world),
        cmocka_unit_test(test_example_shadowed),
        cmocka_unit_test(test_example_continuation_ldap),
        cmocka_unit_test(test_ip_and_mask),
        cmocka_unit_test(test_reach),
        cmocka_unit_test(test_quoting_and_lists),
        cmocka_unit_test(test_include_records),
        cmocka_unit_test(test_crlf_bom_blank_lines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
