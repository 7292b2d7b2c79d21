/* test_hba.c — pg_hba first-match analysis (src/rules/hba.c): address parsing (CIDR, IPv4
 * and IPv6, address + mask, host bits, non-contiguous masks, keywords and host names),
 * address and token containment, the method strength order, the catalogue's example, an
 * allocation-failure sweep, and the index against the naive pairwise comparison on
 * generated files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/hba.h"
#include "secaudit/alloc.h"
#include "secaudit/parse.h"

static int addr(const char *s, const char *mask, sa_hba_addr *out)
{
    int quoted = s[0] == '"';
    const char *t = quoted ? s + 1 : s;
    size_t n = strlen(t) - (quoted ? 1 : 0);
    return sa_hba_addr_parse(t, n, quoted, mask, mask ? strlen(mask) : 0, out);
}

/* e ⊇ l for addresses written "ADDR" or "ADDR MASK" */
static int contains(const char *e, const char *l)
{
    char eb[80], lb[80];
    sa_hba_addr ea, la;
    snprintf(eb, sizeof(eb), "%s", e);
    snprintf(lb, sizeof(lb), "%s", l);
    char *em = strchr(eb, ' '), *lm = strchr(lb, ' ');
    if (em)
        *em++ = '\0';
    if (lm)
        *lm++ = '\0';
    assert_int_not_equal(addr(eb, em, &ea), SA_HBA_ADDR_BAD);
    assert_int_not_equal(addr(lb, lm, &la), SA_HBA_ADDR_BAD);
    return sa_hba_addr_contains(&ea, &la);
}

static void test_addr_parse(void **state)
{
    (void)state;
    sa_hba_addr a;
    static const unsigned char n10[4] = {10, 0, 0, 0}, n10_1[4] = {10, 1, 0, 0},
                               m_nc[4] = {255, 0, 255, 0};
    assert_int_equal(addr("10.1.2.3/8", NULL, &a), SA_HBA_ADDR_V4);  /* host bits set */
    assert_int_equal(a.plen, 8);
    assert_true(a.contiguous);
    assert_memory_equal(a.net, n10, 4);
    assert_int_equal(addr("10.1.2.3", "255.255.0.0", &a), SA_HBA_ADDR_V4);
    assert_int_equal(a.plen, 16);
    assert_true(a.contiguous);
    assert_memory_equal(a.net, n10_1, 4);
    assert_int_equal(addr("10.1.2.3", "255.0.255.0", &a), SA_HBA_ADDR_V4);
    assert_int_equal(a.plen, 8);
    assert_false(a.contiguous);
    assert_memory_equal(a.mask, m_nc, 4);
    assert_int_equal(addr("0.0.0.0", "0.0.0.0", &a), SA_HBA_ADDR_V4);
    assert_int_equal(a.plen, 0);
    assert_true(a.contiguous);
    assert_int_equal(addr("10.0.0.0/32", NULL, &a), SA_HBA_ADDR_V4);
    assert_int_equal(a.plen, 32);
    assert_int_equal(addr("2001:db8::1/48", NULL, &a), SA_HBA_ADDR_V6);
    assert_int_equal(a.plen, 48);
    assert_int_equal(addr("::/0", NULL, &a), SA_HBA_ADDR_V6);
    assert_int_equal(a.plen, 0);
    assert_int_equal(addr("::1/128", NULL, &a), SA_HBA_ADDR_V6);
    assert_int_equal(a.plen, 128);
    assert_int_equal(addr("fe80::", "ffff:ffff::", &a), SA_HBA_ADDR_V6);
    assert_int_equal(a.plen, 32);
    assert_int_equal(addr("all", NULL, &a), SA_HBA_ADDR_ALL);
    assert_int_equal(addr("\"all\"", NULL, &a), SA_HBA_ADDR_TOKEN);  /* a host named all */
    assert_true(a.quoted);
    assert_int_equal(addr("samenet", NULL, &a), SA_HBA_ADDR_TOKEN);
    assert_int_equal(addr("samehost", NULL, &a), SA_HBA_ADDR_TOKEN);
    assert_int_equal(addr(".example.com", NULL, &a), SA_HBA_ADDR_TOKEN);
    assert_int_equal(a.tok_len, 12);
    /* what the parser refuses */
    assert_int_equal(addr("10.0.0.0/33", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("::/129", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0/x", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0/", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0/0008", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("db/8", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0", "ffff::", &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("10.0.0.0/8", "255.0.0.0", &a), SA_HBA_ADDR_BAD);
    assert_int_equal(addr("", NULL, &a), SA_HBA_ADDR_BAD);
    assert_int_equal(sa_hba_addr_parse(NULL, 0, 0, NULL, 0, &a), SA_HBA_ADDR_BAD);
}

static void test_addr_contains(void **state)
{
    (void)state;
    /* CIDR containment, both directions */
    assert_true(contains("10.0.0.0/8", "10.1.0.0/16"));
    assert_false(contains("10.1.0.0/16", "10.0.0.0/8"));
    assert_true(contains("10.0.0.0/8", "10.0.0.0/8"));
    assert_false(contains("10.0.0.0/8", "11.0.0.0/16"));
    assert_true(contains("10.1.2.3/8", "10.200.0.0/16"));  /* E's host bits do not count */
    assert_true(contains("10.0.0.0/8", "10.255.255.255/32"));
    assert_true(contains("0.0.0.0/0", "203.0.113.9/32"));
    assert_true(contains("0.0.0.0 0.0.0.0", "203.0.113.0/24"));
    /* address + mask is the same range as its CIDR */
    assert_true(contains("10.1.0.0 255.255.0.0", "10.1.0.0/16"));
    assert_true(contains("10.1.0.0/16", "10.1.0.0 255.255.0.0"));
    assert_true(contains("10.0.0.0/8", "10.1.0.0 255.255.0.0"));
    assert_false(contains("10.1.0.0 255.255.0.0", "10.0.0.0/8"));
    /* non-contiguous masks: x matches when its masked bits agree */
    assert_true(contains("10.0.0.0 255.0.255.0", "10.5.0.7/32"));
    assert_false(contains("10.0.0.0 255.0.255.0", "10.5.0.0/16"));
    assert_true(contains("10.0.0.0/8", "10.0.0.0 255.0.255.0"));
    assert_false(contains("10.0.0.0/16", "10.0.0.0 255.0.255.0"));
    /* IPv6 */
    assert_true(contains("2001:db8::/32", "2001:db8:1::/48"));
    assert_false(contains("2001:db8:1::/48", "2001:db8::/32"));
    assert_false(contains("2001:db8::/32", "2001:db9::/48"));
    assert_true(contains("::/0", "::1/128"));
    assert_true(contains("fe80:: ffff:ffff::", "fe80::1/128"));
    /* families never mix */
    assert_false(contains("0.0.0.0/0", "::/0"));
    assert_false(contains("0.0.0.0/0", "::ffff:10.0.0.0/104"));
    assert_false(contains("::/0", "10.0.0.0/8"));
    assert_false(contains("::ffff:0:0/96", "10.0.0.0/8"));
    /* all: every IPv4 and IPv6 range, and all; nothing but all contains all */
    assert_true(contains("all", "0.0.0.0/0"));
    assert_true(contains("all", "::/0"));
    assert_true(contains("all", "10.1.2.3/32"));
    assert_true(contains("all", "all"));
    assert_false(contains("0.0.0.0/0", "all"));
    assert_false(contains("::/0", "all"));
    /* tokens: only the identical token (host names, samenet and samehost are only
     * "possibly" covered by a range or all) */
    assert_true(contains("samenet", "samenet"));
    assert_true(contains("db.example.com", "db.example.com"));
    assert_false(contains("samenet", "samehost"));
    assert_false(contains(".example.com", "db.example.com"));
    assert_false(contains("all", "samenet"));
    assert_false(contains("all", "db.example.com"));
    assert_false(contains("0.0.0.0/0", "samehost"));
    assert_false(contains("samenet", "10.0.0.0/8"));
    assert_false(contains("\"samenet\"", "samenet"));
    assert_false(contains("db.example.com", "10.0.0.1/32"));
}

static int tok(int field, const char *e, const char *l)
{
    int eq = e[0] == '"', lq = l[0] == '"';
    const char *et = eq ? e + 1 : e, *lt = lq ? l + 1 : l;
    return sa_hba_token_contains(field, et, strlen(et) - (eq ? 1 : 0), eq, lt,
                                 strlen(lt) - (lq ? 1 : 0), lq);
}

static void test_tokens(void **state)
{
    (void)state;
    const int D = SA_HBA_FIELD_DB, U = SA_HBA_FIELD_USER;
    /* database: all covers names, sameuser, samerole, samegroup, regexes, a database
     * named "replication", all; not the replication keyword, not @file */
    assert_true(tok(D, "all", "sales"));
    assert_true(tok(D, "all", "\"sales\""));
    assert_true(tok(D, "all", "sameuser"));
    assert_true(tok(D, "all", "samerole"));
    assert_true(tok(D, "all", "samegroup"));
    assert_true(tok(D, "all", "/^app"));
    assert_true(tok(D, "all", "\"replication\""));
    assert_true(tok(D, "all", "\"all\""));
    assert_true(tok(D, "all", "all"));
    assert_false(tok(D, "all", "replication"));
    assert_false(tok(D, "all", "@dbs"));
    assert_false(tok(D, "\"all\"", "all"));   /* a database named all */
    assert_false(tok(D, "\"all\"", "sales"));
    assert_true(tok(D, "replication", "replication"));
    assert_false(tok(D, "replication", "\"replication\""));
    assert_false(tok(D, "sameuser", "samerole"));
    assert_true(tok(D, "sameuser", "sameuser"));
    assert_false(tok(D, "sameuser", "alice"));
    assert_true(tok(D, "sales", "\"sales\""));  /* a name is the same quoted or not */
    assert_false(tok(D, "sales", "Sales"));
    assert_false(tok(D, "sales", "sales2"));
    assert_true(tok(D, "@dbs", "@dbs"));
    assert_false(tok(D, "@dbs", "\"@dbs\""));
    assert_false(tok(D, "/^app", "app1"));     /* a regex only possibly matches a name */
    assert_true(tok(D, "/^app", "/^app"));
    /* user: all covers everything; +role, @file, /regex only themselves */
    assert_true(tok(U, "all", "alice"));
    assert_true(tok(U, "all", "+admins"));
    assert_true(tok(U, "all", "@users"));
    assert_true(tok(U, "all", "/^svc"));
    assert_true(tok(U, "all", "replication"));
    assert_false(tok(U, "+admins", "alice"));
    assert_true(tok(U, "+admins", "+admins"));
    assert_false(tok(U, "\"+admins\"", "+admins"));
    assert_false(tok(U, "alice", "all"));
    assert_false(tok(U, "\"all\"", "alice"));  /* a role named all */
    assert_true(tok(U, "sameuser", "\"sameuser\""));  /* no keyword in the user field */
}

static void test_strength(void **state)
{
    (void)state;
    const char *order[] = {"trust", "password", "md5", "scram-sha-256", "cert", "reject"};
    for (size_t k = 1; k < sizeof(order) / sizeof(order[0]); k++)
        assert_true(sa_hba_method_strength(order[k - 1], 0, NULL) <
                    sa_hba_method_strength(order[k], 0, NULL));
    assert_int_equal(sa_hba_method_strength("ident", 0, NULL), 1);
    assert_int_equal(sa_hba_method_strength("ident", 1, NULL), 3);  /* peer on local */
    assert_int_equal(sa_hba_method_strength("ldap", 0, NULL), 1);
    assert_int_equal(sa_hba_method_strength("gss", 0, NULL),
                     sa_hba_method_strength("scram-sha-256", 0, NULL));
    assert_int_equal(sa_hba_method_strength("scram-sha-256", 0, "verify-full"), 4);
    assert_int_equal(sa_hba_method_strength("md5", 0, "verify-ca"), 3);
    assert_int_equal(sa_hba_method_strength("trust", 0, "verify-full"), 4);
    assert_int_equal(sa_hba_method_strength("reject", 0, "verify-full"), 5);
    assert_int_equal(sa_hba_method_strength("cert", 0, "verify-ca"), 4);
    assert_int_equal(sa_hba_method_strength("md5", 0, "1"), 2);
    assert_int_equal(sa_hba_method_strength("Trust", 0, NULL), -1);
}

typedef struct parsed {
    sa_doc *doc;
    const sa_node *records;
    size_t n;
} parsed;

static void parse(parsed *p, const char *text, size_t len)
{
    sa_limits lim = sa_limits_default;
    lim.max_nodes = 10000000;
    static sa_limits keep;
    keep = lim;
    p->doc = sa_doc_new(text, len, &keep);
    assert_non_null(p->doc);
    sa_perr err;
    if (sa_parse_pghba(p->doc, &err) != 0)
        fail_msg("parse failed at offset %zu: %s", err.off, err.msg);
    p->records = sa_map_get(p->doc->root, "records", 7);
    assert_non_null(p->records);
    p->n = p->records->count;
}

static void test_catalogue_example(void **state)
{
    (void)state;
    static const char text[] =
        "host     all  all  10.0.0.0/8   md5\n"
        "hostssl  all  all  10.1.0.0/16  scram-sha-256 clientcert=verify-full\n"
        "host     all  all  10.1.0.0/16  md5\n"
        "include  other.conf\n"
        "hostssl  all  all  10.2.0.0/16  scram-sha-256\n"
        "host     replication all 10.3.0.0/16 scram-sha-256\n";
    parsed p;
    parse(&p, text, sizeof(text) - 1);
    size_t first[6];
    unsigned char strict[6];
    for (int naive = 0; naive < 2; naive++) {
        assert_int_equal(sa_hba_first_match(p.records, naive, first, strict), 0);
        assert_true(first[0] == SIZE_MAX);
        assert_true(first[1] == 0 && strict[1]);
        assert_true(first[2] == 0 && !strict[2]);
        assert_true(first[3] == SIZE_MAX);  /* the include line */
        assert_true(first[4] == 0 && strict[4]);
        assert_true(first[5] == SIZE_MAX);  /* all does not cover replication */
    }
    sa_doc_free(p.doc);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    static const char text[] = "host all all 10.0.0.0/8 md5\n"
                               "host all all 10.1.0.0/16 scram-sha-256\n"
                               "local all all peer\n";
    parsed p;
    parse(&p, text, sizeof(text) - 1);
    size_t first[3];
    unsigned char strict[3];
    int ok = 0;
    for (unsigned long k = 1; k < 100 && !ok; k++) {
        sa_alloc_fail_at(k);
        int rc = sa_hba_first_match(p.records, 0, first, strict);
        sa_alloc_fail_at(0);
        assert_true(rc == 0 || rc == -1);
        ok = rc == 0;
    }
    assert_true(ok);
    assert_true(first[1] == 0 && strict[1]);
    sa_doc_free(p.doc);
}

static uint64_t rnd_state;
static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rnd_state >> 33) % n);
}

/* A generated file of n records. narrow 1: a small vocabulary (containment everywhere,
 * some lists longer than the index takes); 0: mostly hosts and ranges in a small space,
 * some broad ranges; 2: the same in a larger space (few dead records). */
static char *gen(size_t n, int narrow, size_t *len)
{
    static const char *const types[] = {"local", "host", "hostssl", "hostnossl", "hostgssenc",
                                        "hostnogssenc"};
    static const char *const dbs[] = {"all", "replication", "sameuser", "db1", "db2",
                                      "\"db1\"", "@f", "/^d", "db1,db2", "all,replication"};
    static const char *const users[] = {"all", "alice", "bob", "+admins", "alice,bob",
                                        "\"+admins\"", "all,alice"};
    static const char *const addrs[] = {
        "all", "0.0.0.0/0", "::/0", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
        "10.1.2.3/32", "10.1.2.3 255.255.255.255", "10.0.0.0 255.0.255.0",
        "10.1.0.0 255.255.0.0", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48",
        "fd00::/8", "samenet", "samehost", "db.example.com", ".example.com"};
    static const char *const methods[] = {"trust", "md5", "scram-sha-256", "cert", "reject",
                                          "password", "ident", "peer",
                                          "md5 clientcert=verify-full"};
    size_t cap = n * 700 + 1;
    char *buf = sa_malloc(cap);
    assert_non_null(buf);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *t = types[rnd(6)];
        const char *d = dbs[rnd(narrow == 1 ? 10 : 5)], *u = users[rnd(7)];
        /* now and then lists longer than the index takes (partially indexed records) */
        static const char long_db[] = "db1,db2,db3,db4,db5,db6,db7,db8,db9,db10,db11,db12,"
                                      "db13,db14,db15,db16,db17";
        static char long_user[64 * 8];
        if (long_user[0] == '\0')
            for (int k = 0; k < 70; k++)
                snprintf(long_user + strlen(long_user), sizeof(long_user) - strlen(long_user),
                         "%su%d", k ? "," : "", k);
        if (narrow == 1 && rnd(40) == 0)
            d = long_db;
        if (narrow == 1 && rnd(80) == 0)
            u = long_user;
        const char *m = methods[rnd(9)];
        char a[64];
        unsigned spread = narrow == 2 ? 64 : 4;  /* 2: sparse, few dead records */
        if (narrow == 1 || rnd(narrow == 2 ? 100 : 10) < 2)
            snprintf(a, sizeof(a), "%s", addrs[rnd(18)]);
        else if (rnd(3))
            snprintf(a, sizeof(a), "10.%u.%u.%u/32", rnd(spread), rnd(2 * spread),
                     rnd(4 * spread));
        else
            snprintf(a, sizeof(a), "10.%u.%u.0/%u", rnd(spread), rnd(2 * spread), 20 + rnd(9));
        if (strcmp(t, "local") == 0)
            o += (size_t)snprintf(buf + o, cap - o, "%s %s %s %s\n", t, d, u, m);
        else
            o += (size_t)snprintf(buf + o, cap - o, "%s %s %s %s %s\n", t, d, u, a, m);
    }
    *len = o;
    return buf;
}

/* The index against every pair: what it reports is a real container no earlier than the
 * first one; a strict claim names exactly the first container; and it misses little. */
static void differential(size_t n, int narrow, size_t min_agree_pct)
{
    size_t len;
    char *text = gen(n, narrow, &len);
    parsed p;
    parse(&p, text, len);
    size_t *fi = sa_malloc(p.n * sizeof(size_t)), *fn = sa_malloc(p.n * sizeof(size_t));
    unsigned char *si = sa_malloc(p.n), *sn = sa_malloc(p.n);
    assert_true(fi && fn && si && sn);
    assert_int_equal(sa_hba_first_match(p.records, 0, fi, si), 0);
    assert_int_equal(sa_hba_first_match(p.records, 1, fn, sn), 0);
    size_t agree = 0, dead = 0;
    for (size_t i = 0; i < p.n; i++) {
        dead += fn[i] != SIZE_MAX;
        if (fi[i] == fn[i] && si[i] == sn[i])
            agree++;
        if (fi[i] == SIZE_MAX)
            continue;
        if (fn[i] == SIZE_MAX || fn[i] > fi[i] || fi[i] >= i)
            fail_msg("record %zu: index says %zu, naive %zu", i, fi[i], fn[i]);
        if (si[i] && (fn[i] != fi[i] || !sn[i]))
            fail_msg("record %zu: strict by %zu, naive first %zu strict %d", i, fi[i], fn[i],
                     sn[i]);
    }
    print_message("%zu records, %zu dead (naive), index agrees on %zu\n", p.n, dead, agree);
    if (agree * 100 < p.n * min_agree_pct)
        fail_msg("index agrees with the naive analysis on %zu of %zu records", agree, p.n);
    assert_true(dead > 0);
    sa_free(fi);
    sa_free(fn);
    sa_free(si);
    sa_free(sn);
    sa_doc_free(p.doc);
    sa_free(text);
}

static void test_index_against_naive(void **state)
{
    (void)state;
    rnd_state = 1;
    for (int k = 0; k < 4; k++)
        differential(3000, 0, 100);  /* nothing exceeds the caps: identical */
    rnd_state = 3;
    for (int k = 0; k < 2; k++)
        differential(5000, 2, 100);  /* sparse: few dead records, identical */
    rnd_state = 7;
    for (int k = 0; k < 4; k++)
        differential(2000, 1, 75);   /* partial records: conservative, still sound */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),
        cmocka_unit_test(test_addr_contains),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_strength),
        cmocka_unit_test(test_catalogue_example),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_index_against_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
