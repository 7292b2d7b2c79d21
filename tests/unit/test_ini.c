/* test_ini.c — the INI dialects: generic INI, systemd units (with Environment= split),
 * env files, postgresql.conf and properties; exact positions across continuation lines. */
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

static void parse_n(parsed *p, sa_ini_dialect d, const char *text, size_t len)
{
    memset(p, 0, sizeof(*p));
    p->doc = sa_doc_new(text, len, NULL);
    assert_non_null(p->doc);
    assert_int_equal(sa_linemap_init(&p->lines, text, len), 0);
    p->rc = sa_parse_ini(p->doc, d, &p->err);
}

static void parse(parsed *p, sa_ini_dialect d, const char *text)
{
    parse_n(p, d, text, strlen(text));
    if (p->rc != 0)
        fail_msg("parse failed: %s", p->err.msg);
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

/* member key of m is at kl:kc with value want at vl:vc */
static void kv(const parsed *p, const sa_node *m, const char *key, const char *want,
               unsigned kl, unsigned kc, unsigned vl, unsigned vc)
{
    const sa_node *n = get(m, key);
    assert_int_equal(n->type, SA_STR);
    if (strcmp(n->str, want) != 0 || n->len != strlen(want))
        fail_msg("%s = '%s', expected '%s'", key, n->str, want);
    at(p, n->key_off, kl, kc);
    at(p, n->off, vl, vc);
}

static void fails_at(sa_ini_dialect d, const char *text, unsigned line, unsigned col,
                     const char *msg)
{
    parsed p;
    parse_n(&p, d, text, strlen(text));
    int rc = p.rc;
    unsigned l, c;
    sa_linemap_pos(&p.lines, p.err.off, &l, &c);
    char got[256];
    snprintf(got, sizeof(got), "%s", p.err.msg);
    done(&p);
    assert_int_equal(rc, -1);
    if (l != line || c != col || strstr(got, msg) == NULL)
        fail_msg("'%s' at %u:%u, expected '%s' at %u:%u", got, l, c, msg, line, col);
}

static void test_generic(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_GENERIC,
          "top = 1\n"
          "; comment\n"
          "# comment\n"
          "[db]\n"
          "  dme_superuser = admin:admin\n"
          "host: \"db.internal\"\n"
          "empty =\n"
          "url = http://x/a=b\n"
          "[db]\n"
          "host = 'second'\n");
    const sa_node *root = p.doc->root;
    kv(&p, root, "top", "1", 1, 1, 1, 7);
    const sa_node *db = root->first->next;
    assert_string_equal(db->key, "db");
    at(&p, db->key_off, 4, 1);
    kv(&p, db, "dme_superuser", "admin:admin", 5, 3, 5, 19);
    kv(&p, db, "host", "db.internal", 6, 1, 6, 7);
    assert_true(get(db, "host")->flags & SA_NODE_QUOTED);
    kv(&p, db, "empty", "", 7, 1, 7, 8);
    kv(&p, db, "url", "http://x/a=b", 8, 1, 8, 7);
    /* sections repeat; the last wins in a lookup, the earlier is flagged */
    assert_true(db->flags & SA_NODE_DUP);
    kv(&p, get(root, "db"), "host", "second", 10, 1, 10, 8);
    done(&p);
}

static void test_generic_continuation_crlf_bom(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_GENERIC, "\xEF\xBB\xBFk = a \\\r\n  b\r\nz = 2\r\n");
    kv(&p, p.doc->root, "k", "a    b", 1, 1, 1, 5);
    kv(&p, p.doc->root, "z", "2", 3, 1, 3, 5);
    done(&p);
}

static void test_generic_errors(void **state)
{
    (void)state;
    fails_at(SA_INI_GENERIC, "a = 1\njust words\n", 2, 1, "expected 'key = value'");
    fails_at(SA_INI_GENERIC, "[open\n", 1, 1, "without a closing ']'");
    fails_at(SA_INI_GENERIC, " = 1\n", 1, 2, "missing key name");
}

static void test_systemd(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_SYSTEMD,
          "[Unit]\n"
          "Description=Pyro name server # not a comment\n"
          "[Service]\n"
          "User=root\n"
          "Environment=\"PYRO_HOST=0.0.0.0\" PYRO_SERIALIZERS_ACCEPTED=serpent,pickle\n"
          "Environment=PYRO_HOST=127.0.0.1 \\\n"
          "# skipped comment\n"
          "  PYRO_LOGWIRE=true\n"
          "ExecStart=/usr/bin/pyro5-ns \\\n"
          "    -n 0.0.0.0\n");
    const sa_node *root = p.doc->root;
    const sa_node *unit = get(root, "Unit");
    kv(&p, unit, "Description", "Pyro name server # not a comment", 2, 1, 2, 13);
    const sa_node *svc = get(root, "Service");
    kv(&p, svc, "User", "root", 4, 1, 4, 6);
    kv(&p, svc, "ExecStart", "/usr/bin/pyro5-ns      -n 0.0.0.0", 9, 1, 9, 11);
    /* Environment= split into variables, later settings last */
    const sa_node *env = get(root, "env");
    assert_true(env->flags & SA_NODE_SYNTH);
    assert_int_equal(env->count, 4);
    kv(&p, env, "PYRO_SERIALIZERS_ACCEPTED", "serpent,pickle", 5, 33, 5, 59);
    kv(&p, env, "PYRO_HOST", "127.0.0.1", 6, 13, 6, 23);
    assert_true(env->first->flags & SA_NODE_DUP);
    assert_string_equal(env->first->str, "0.0.0.0");
    at(&p, env->first->key_off, 5, 14);
    kv(&p, env, "PYRO_LOGWIRE", "true", 8, 3, 8, 16);
    done(&p);
}

static void test_env(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_ENV,
          "# /etc/default/pyro4-nsd\n"
          "ENABLED=1\n"
          "export PYRO_HOST=\"0.0.0.0\"  # all interfaces\n"
          "PYRO_HMAC_KEY='s3cr$t x'\n"
          "NAME=a\\ b#c\n"
          "if [ -f /x ]; then . /x; fi\n"
          "EMPTY=\n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 5);
    kv(&p, root, "ENABLED", "1", 2, 1, 2, 9);
    kv(&p, root, "PYRO_HOST", "0.0.0.0", 3, 8, 3, 18);
    assert_true(get(root, "PYRO_HOST")->flags & SA_NODE_QUOTED);
    kv(&p, root, "PYRO_HMAC_KEY", "s3cr$t x", 4, 1, 4, 15);
    kv(&p, root, "NAME", "a b#c", 5, 1, 5, 6);
    kv(&p, root, "EMPTY", "", 7, 1, 7, 7);
    done(&p);
    fails_at(SA_INI_ENV, "A=\"open\n", 1, 3, "unterminated quoted value");
}

static void test_pgconf(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_PGCONF,
          "# comment\n"
          "Listen_Addresses = '*'\t\t# what IP address(es) to listen on\n"
          "ssl off\n"
          "ssl_ciphers = 'HIGH:MEDIUM:+3DES:!aNULL' # allowed SSL ciphers\n"
          "password_encryption=md5\n"
          "search_path = '\"$user\", public'\n"
          "quoted = 'it''s \\'x\\''\n"
          "ssl = on\n");
    const sa_node *root = p.doc->root;
    kv(&p, root, "listen_addresses", "*", 2, 1, 2, 20);  /* names are case-insensitive */
    assert_true(get(root, "listen_addresses")->flags & SA_NODE_QUOTED);
    kv(&p, root, "ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL", 4, 1, 4, 15);
    kv(&p, root, "password_encryption", "md5", 5, 1, 5, 21);
    kv(&p, root, "search_path", "\"$user\", public", 6, 1, 6, 15);
    kv(&p, root, "quoted", "it's 'x'", 7, 1, 7, 10);
    /* the last occurrence wins */
    kv(&p, root, "ssl", "on", 8, 1, 8, 7);
    assert_true(root->first->next->flags & SA_NODE_DUP);
    done(&p);
    fails_at(SA_INI_PGCONF, "ssl = on off\n", 1, 10, "unexpected text after the value");
    fails_at(SA_INI_PGCONF, "ssl =\n", 1, 6, "missing value");
    fails_at(SA_INI_PGCONF, "x = 'open\n", 1, 5, "unterminated quoted string");
    fails_at(SA_INI_PGCONF, "= 1\n", 1, 1, "expected a parameter name");
}

static void test_properties(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_PROPERTIES,
          "# Ice properties\n"
          "! also a comment\n"
          "IceSSL.VerifyPeer=0\n"
          "IceSSL.Ciphers : ADH:!LOW\n"
          "Ice.Default.Host 0.0.0.0\n"
          "key\\ with\\=odd = v\\u00e9\\tx\n"
          "long = a,\\\n"
          "       b\n"
          "path = C:\\\\dir\n");
    const sa_node *root = p.doc->root;
    kv(&p, root, "IceSSL.VerifyPeer", "0", 3, 1, 3, 19);
    kv(&p, root, "IceSSL.Ciphers", "ADH:!LOW", 4, 1, 4, 18);
    kv(&p, root, "Ice.Default.Host", "0.0.0.0", 5, 1, 5, 18);
    kv(&p, root, "key with=odd", "v\xc3\xa9\tx", 6, 1, 6, 18);
    kv(&p, root, "long", "a,b", 7, 1, 7, 8);
    at(&p, get(root, "long")->off, 7, 8);
    kv(&p, root, "path", "C:\\dir", 9, 1, 9, 8);
    done(&p);
    fails_at(SA_INI_PROPERTIES, "k = \\u12\n", 1, 5, "malformed \\uXXXX escape");
}

static void test_limits_and_nul(void **state)
{
    (void)state;
    static const char nul[] = "a = 1\nb = x\0y\n";
    parsed p;
    parse_n(&p, SA_INI_GENERIC, nul, sizeof(nul) - 1);
    assert_int_equal(p.rc, -1);
    at(&p, p.err.off, 2, 6);
    assert_string_equal(p.err.msg, "NUL byte in text");
    done(&p);

    sa_limits lim = sa_limits_default;
    lim.max_string = 16;
    const char *text = "short = 1\nthis_line_is_too_long = 1\n";
    sa_doc *doc = sa_doc_new(text, strlen(text), &lim);
    sa_perr err;
    assert_int_equal(sa_parse_ini(doc, SA_INI_GENERIC, &err), -1);
    assert_string_equal(err.msg, "line is too long");
    assert_int_equal(err.off, 10);
    sa_doc_free(doc);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    const char *text = "[Service]\nEnvironment=A=1 \"B=2 3\"\nUser=x \\\n y\n";
    for (unsigned long n = 1;; n++) {
        sa_alloc_fail_at(n);
        sa_doc *doc = sa_doc_new(text, strlen(text), NULL);
        sa_perr err;
        memset(&err, 0, sizeof(err));
        int rc = doc ? sa_parse_ini(doc, SA_INI_SYSTEMD, &err) : -1;
        unsigned long made = sa_alloc_fail_at(0);
        int had_doc = doc != NULL;
        sa_doc_free(doc);
        if (made < n) {
            assert_int_equal(rc, 0);
            break;
        }
        if (rc != 0 && had_doc)
            assert_string_equal(err.msg, "out of memory");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_generic_continuation_crlf_bom),
        cmocka_unit_test(test_generic_errors),
        cmocka_unit_test(test_systemd),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_pgconf),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_limits_and_nul),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
