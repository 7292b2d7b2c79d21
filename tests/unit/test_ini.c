/* test_ini.c — the INI dialects (generic INI, systemd units and their Environment= split,
 * env files, postgresql.conf, properties): exact line:col of keys and values, also across
 * continuation lines, CRLF, BOM, quotes, comments, duplicates, errors and limits; plus
 * allocation-failure and random-input runs that must fail cleanly or succeed. */
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

static void parse_lim(parsed *p, sa_ini_dialect d, const char *text, size_t len,
                      const sa_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->doc = sa_doc_new(text, len, lim);
    assert_non_null(p->doc);
    assert_int_equal(sa_linemap_init(&p->lines, text, len), 0);
    p->rc = sa_parse_ini(p->doc, d, &p->err);
}

static void parse(parsed *p, sa_ini_dialect d, const char *text)
{
    parse_lim(p, d, text, strlen(text), NULL);
    if (p->rc != 0)
        fail_msg("parse failed at offset %zu: %s", p->err.off, p->err.msg);
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

static const sa_node *nth(const sa_node *m, size_t i)
{
    const sa_node *c = m->first;
    while (c && i--)
        c = c->next;
    if (c == NULL)
        fail_msg("no child %zu", i);
    return c;
}

/* n is key → SA_STR want (want_len bytes), key at kl:kc and value at vl:vc. */
static void kvn(const parsed *p, const sa_node *n, const char *key, const char *want,
                size_t want_len, unsigned kl, unsigned kc, unsigned vl, unsigned vc)
{
    if (n->key == NULL || strcmp(n->key, key) != 0)
        fail_msg("key '%s', expected '%s'", n->key ? n->key : "(none)", key);
    assert_int_equal(n->type, SA_STR);
    if (n->len != want_len || memcmp(n->str, want, want_len) != 0)
        fail_msg("%s = '%s' (%zu bytes), expected '%s'", key, n->str, n->len, want);
    at(p, n->key_off, kl, kc);
    at(p, n->off, vl, vc);
}

/* The last member key of m is SA_STR want, key at kl:kc, value at vl:vc. */
static void kv(const parsed *p, const sa_node *m, const char *key, const char *want,
               unsigned kl, unsigned kc, unsigned vl, unsigned vc)
{
    kvn(p, get(m, key), key, want, strlen(want), kl, kc, vl, vc);
}

/* The last member key of m is SA_NULL, key at kl:kc, value position at vl:vc. */
static void knull(const parsed *p, const sa_node *m, const char *key, unsigned kl,
                  unsigned kc, unsigned vl, unsigned vc)
{
    const sa_node *n = get(m, key);
    assert_int_equal(n->type, SA_NULL);
    assert_int_equal(n->len, 0);
    at(p, n->key_off, kl, kc);
    at(p, n->off, vl, vc);
}

static void fails_lim(sa_ini_dialect d, const char *text, size_t len, const sa_limits *lim,
                      unsigned line, unsigned col, const char *msg)
{
    parsed p;
    parse_lim(&p, d, text, len, lim);
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

static void fails_at(sa_ini_dialect d, const char *text, unsigned line, unsigned col,
                     const char *msg)
{
    fails_lim(d, text, strlen(text), NULL, line, col, msg);
}

/* ---- generic ----------------------------------------------------------------------- */

static void test_generic(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_GENERIC,
          "top = 1\n"
          "; comment\n"
          "   # indented comment\n"
          "[db]\n"
          "  dme_superuser = admin:admin\n"
          "host: \"db.internal\"\n"
          "empty =\n"
          "url = http://x/a=b\n"
          "opt: x=y\n"
          "mixed = \"a'\n"
          "inline = v # not a comment\n"
          "  [ db ]  \n"
          "host = 'second'\n"
          "blank = \"\"\n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->type, SA_MAP);
    assert_int_equal(root->count, 3);
    kv(&p, root, "top", "1", 1, 1, 1, 7);
    const sa_node *db = nth(root, 1);
    assert_int_equal(db->type, SA_MAP);
    assert_string_equal(db->key, "db");
    at(&p, db->key_off, 4, 1);
    at(&p, db->off, 4, 1);
    assert_int_equal(db->count, 7);
    kv(&p, db, "dme_superuser", "admin:admin", 5, 3, 5, 19);
    /* quoted: quotes removed, the value's position is its opening quote */
    kv(&p, db, "host", "db.internal", 6, 1, 6, 7);
    assert_true(get(db, "host")->flags & SA_NODE_QUOTED);
    knull(&p, db, "empty", 7, 1, 7, 8);
    kv(&p, db, "url", "http://x/a=b", 8, 1, 8, 7);
    kv(&p, db, "opt", "x=y", 9, 1, 9, 6);
    assert_false(get(db, "opt")->flags & SA_NODE_QUOTED);
    /* quotes that do not match stay */
    kv(&p, db, "mixed", "\"a'", 10, 1, 10, 9);
    assert_false(get(db, "mixed")->flags & SA_NODE_QUOTED);
    kv(&p, db, "inline", "v # not a comment", 11, 1, 11, 10);
    /* sections repeat: kept in order, the earlier flagged */
    const sa_node *db2 = nth(root, 2);
    assert_ptr_equal(get(root, "db"), db2);
    at(&p, db2->key_off, 12, 3);
    assert_true(db->flags & SA_NODE_DUP);
    assert_false(db2->flags & SA_NODE_DUP);
    kv(&p, db2, "host", "second", 13, 1, 13, 8);
    kv(&p, db2, "blank", "", 14, 1, 14, 9);
    assert_true(get(db2, "blank")->flags & SA_NODE_QUOTED);
    done(&p);
}

static void test_generic_dups_in_section(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_GENERIC, "a=1\n[s]\nk=1\nk=2\nother=3\nk=3\n");
    const sa_node *s = get(p.doc->root, "s");
    assert_int_equal(s->count, 4);
    assert_true(nth(s, 0)->flags & SA_NODE_DUP);
    assert_true(nth(s, 1)->flags & SA_NODE_DUP);
    assert_false(nth(s, 2)->flags & SA_NODE_DUP);
    assert_false(nth(s, 3)->flags & SA_NODE_DUP);
    kv(&p, s, "k", "3", 6, 1, 6, 3);
    assert_false(get(p.doc->root, "a")->flags & SA_NODE_DUP);
    done(&p);
}

static void test_generic_continuation_crlf_bom(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_GENERIC,
          "\xEF\xBB\xBFk = a \\\r\n"
          "     b\r\n"
          "z = 2\r\n"
          "j = \\\n"
          "  tail\n"
          "# comment \\\n"
          "after = 1\n"
          "q = \"x \\\n"
          "y\"\n");
    const sa_node *root = p.doc->root;
    /* the BOM is no column; blanks around the join become one space; no CR in values */
    kv(&p, root, "k", "a b", 1, 1, 1, 5);
    kv(&p, root, "z", "2", 3, 1, 3, 5);
    /* a value that starts on the continued line is positioned there */
    kv(&p, root, "j", "tail", 4, 1, 5, 3);
    /* a comment line does not continue */
    kv(&p, root, "after", "1", 7, 1, 7, 9);
    kv(&p, root, "q", "x y", 8, 1, 8, 5);
    assert_true(get(root, "q")->flags & SA_NODE_QUOTED);
    assert_int_equal(root->count, 5);
    done(&p);
}

static void test_generic_errors(void **state)
{
    (void)state;
    fails_at(SA_INI_GENERIC, "a = 1\n  just words\n", 2, 3,
             "expected 'key = value' or a [section]");
    fails_at(SA_INI_GENERIC, "[open\n", 1, 1, "must end with ']'");
    fails_at(SA_INI_GENERIC, "x=1\n [a] b\n", 2, 2, "must end with ']'");
    fails_at(SA_INI_GENERIC, "[  ]\n", 1, 1, "needs a name");
    fails_at(SA_INI_GENERIC, "  = 1\n", 1, 3, "missing key name before '='");
    fails_at(SA_INI_GENERIC, "a=1\n: 1\n", 2, 1, "missing key name before ':'");
}

/* ---- systemd ------------------------------------------------------------------------ */

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
          "; and this one\n"
          "  PYRO_LOGWIRE=true\n"
          "ExecStart=/usr/bin/pyro5-ns \\\n"
          "    -n 0.0.0.0\n"
          "; comment\n"
          "Key:with=colon\n"
          "Empty=\n"
          "Quoted=\"x y\"\n"
          "Even=a\\\\\n"
          "Next = 1\n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 3);
    const sa_node *unit = get(root, "Unit");
    at(&p, unit->off, 1, 1);
    kv(&p, unit, "Description", "Pyro name server # not a comment", 2, 1, 2, 13);
    const sa_node *svc = get(root, "Service");
    at(&p, svc->key_off, 3, 1);
    kv(&p, svc, "User", "root", 4, 1, 4, 6);
    /* values as written: no unquoting, continuation '\' replaced by a space, next line kept
     * as written, comment lines inside the continuation skipped */
    kvn(&p, nth(svc, 1), "Environment",
        "\"PYRO_HOST=0.0.0.0\" PYRO_SERIALIZERS_ACCEPTED=serpent,pickle", 60, 5, 1, 5, 13);
    assert_true(nth(svc, 1)->flags & SA_NODE_DUP);
    assert_false(nth(svc, 1)->flags & SA_NODE_QUOTED);
    kv(&p, svc, "Environment", "PYRO_HOST=127.0.0.1    PYRO_LOGWIRE=true", 6, 1, 6, 13);
    kv(&p, svc, "ExecStart", "/usr/bin/pyro5-ns      -n 0.0.0.0", 10, 1, 10, 11);
    kv(&p, svc, "Key:with", "colon", 13, 1, 13, 10);
    knull(&p, svc, "Empty", 14, 1, 14, 7);
    kv(&p, svc, "Quoted", "\"x y\"", 15, 1, 15, 8);
    assert_false(get(svc, "Quoted")->flags & SA_NODE_QUOTED);
    /* an even run of backslashes does not continue */
    kv(&p, svc, "Even", "a\\\\", 16, 1, 16, 6);
    kv(&p, svc, "Next", "1", 17, 1, 17, 8);
    /* Environment= split into the synthetic root member "env", later settings last */
    const sa_node *env = nth(root, 2);
    assert_string_equal(env->key, "env");
    assert_int_equal(env->type, SA_MAP);
    assert_true(env->flags & SA_NODE_SYNTH);
    assert_int_equal(env->count, 4);
    kvn(&p, nth(env, 0), "PYRO_HOST", "0.0.0.0", 7, 5, 14, 5, 24);
    assert_true(nth(env, 0)->flags & SA_NODE_DUP);
    assert_true(nth(env, 0)->flags & SA_NODE_QUOTED);
    kv(&p, env, "PYRO_SERIALIZERS_ACCEPTED", "serpent,pickle", 5, 33, 5, 59);
    kv(&p, env, "PYRO_HOST", "127.0.0.1", 6, 13, 6, 23);
    assert_false(get(env, "PYRO_HOST")->flags & SA_NODE_DUP);
    /* after a continuation and two skipped comment lines: still the exact place */
    kv(&p, env, "PYRO_LOGWIRE", "true", 9, 3, 9, 16);
    done(&p);
}

static void test_systemd_errors(void **state)
{
    (void)state;
    fails_at(SA_INI_SYSTEMD, "[Service]\nUser root\n", 2, 1,
             "expected 'Key=Value' or a [Section]");
    /* ':' is no delimiter in systemd */
    fails_at(SA_INI_SYSTEMD, "[Service]\nUser: root\n", 2, 1, "expected 'Key=Value'");
    fails_at(SA_INI_SYSTEMD, "[Service\nUser=root\n", 1, 1, "must end with ']'");
    fails_at(SA_INI_SYSTEMD, "[Service]\n =root\n", 2, 2, "missing key name");
}

/* sa_systemd_env_split on its own: quoting, escapes, skipped words, offsets, dups. */
static void test_env_split(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_SYSTEMD,
          "[Service]\n"
          "Environment=A=1 \"B=two words\" C=\"q \\\"y\\\"\" D='s p' E= F=a\\tb noeq =bad "
          "A=last\n"
          "Environment=X=1 \"Y=2\n"
          "Environment=\n");
    const sa_node *svc = get(p.doc->root, "Service");
    sa_node *out = sa_node_new(p.doc, SA_MAP, 0);
    assert_non_null(out);
    assert_int_equal(sa_systemd_env_split(p.doc, nth(svc, 0), out), 7);
    assert_int_equal(out->count, 7);
    kvn(&p, nth(out, 0), "A", "1", 1, 2, 13, 2, 15);
    assert_true(nth(out, 0)->flags & SA_NODE_DUP);
    assert_false(nth(out, 0)->flags & SA_NODE_QUOTED);
    /* quotes around the whole assignment: key at the name, value at its first byte */
    kvn(&p, nth(out, 1), "B", "two words", 9, 2, 18, 2, 20);
    assert_true(nth(out, 1)->flags & SA_NODE_QUOTED);
    /* quotes around the value: the value's position is its opening quote */
    kvn(&p, nth(out, 2), "C", "q \"y\"", 5, 2, 31, 2, 33);
    kvn(&p, nth(out, 3), "D", "s p", 3, 2, 43, 2, 45);
    /* an empty value: positioned just after the '=' */
    kvn(&p, nth(out, 4), "E", "", 0, 2, 51, 2, 53);
    kvn(&p, nth(out, 5), "F", "a\tb", 3, 2, 54, 2, 56);
    kvn(&p, nth(out, 6), "A", "last", 4, 2, 71, 2, 73);
    assert_false(nth(out, 6)->flags & SA_NODE_DUP);

    /* an unclosed quote ends the value: what came before it stands */
    sa_node *out2 = sa_node_new(p.doc, SA_MAP, 0);
    assert_non_null(out2);
    assert_int_equal(sa_systemd_env_split(p.doc, nth(svc, 1), out2), 1);
    kvn(&p, nth(out2, 0), "X", "1", 1, 3, 13, 3, 15);
    /* an empty Environment= (SA_NULL) adds nothing; bad arguments are refused */
    assert_int_equal(nth(svc, 2)->type, SA_NULL);
    assert_int_equal(sa_systemd_env_split(p.doc, nth(svc, 2), out2), 0);
    assert_int_equal(sa_systemd_env_split(p.doc, nth(svc, 0), NULL), -1);
    sa_node *list = sa_node_new(p.doc, SA_LIST, 0);
    assert_non_null(list);
    assert_int_equal(sa_systemd_env_split(p.doc, nth(svc, 0), list), -1);
    /* the parser's own "env": the same split of every Environment= line, in order */
    const sa_node *env = get(p.doc->root, "env");
    assert_int_equal(env->count, 8);
    kvn(&p, nth(env, 7), "X", "1", 1, 3, 13, 3, 15);
    done(&p);
}

/* ---- env files ----------------------------------------------------------------------- */

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
          "EMPTY=\n"
          "ESC=\"a\\\"b\\\\c\\$d\\`e\\n\"\n"
          "A=1 B=2 # two\n"
          "MULTI=\"line1\n"
          "line2\"\n"
          "NEXT=x\r\n"
          "export\n"
          "J=a\\\n"
          "b\n"
          "EQ==x\n"
          "QE=''\n"
          "\texport\tTAB=1 cmd arg\n"
          "1BAD=x\n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 14);
    kv(&p, root, "ENABLED", "1", 2, 1, 2, 9);
    kv(&p, root, "PYRO_HOST", "0.0.0.0", 3, 8, 3, 18);
    assert_true(get(root, "PYRO_HOST")->flags & SA_NODE_QUOTED);
    kv(&p, root, "PYRO_HMAC_KEY", "s3cr$t x", 4, 1, 4, 15);
    kv(&p, root, "NAME", "a b#c", 5, 1, 5, 6);
    assert_false(get(root, "NAME")->flags & SA_NODE_QUOTED);
    knull(&p, root, "EMPTY", 7, 1, 7, 7);
    kv(&p, root, "ESC", "a\"b\\c$d`e\\n", 8, 1, 8, 5);
    kv(&p, root, "A", "1", 9, 1, 9, 3);
    kv(&p, root, "B", "2", 9, 5, 9, 7);
    kv(&p, root, "MULTI", "line1\nline2", 10, 1, 10, 7);
    kv(&p, root, "NEXT", "x", 12, 1, 12, 6);
    kv(&p, root, "J", "ab", 14, 1, 14, 3);
    kv(&p, root, "EQ", "=x", 16, 1, 16, 4);
    kv(&p, root, "QE", "", 17, 1, 17, 4);
    assert_int_equal(get(root, "QE")->type, SA_STR);
    assert_true(get(root, "QE")->flags & SA_NODE_QUOTED);
    kv(&p, root, "TAB", "1", 18, 9, 18, 13);
    assert_null(sa_map_get(root, "1BAD", 4));
    assert_null(sa_map_get(root, "cmd", 3));
    done(&p);

    parse(&p, SA_INI_ENV, "K=1\nK=2\n");
    assert_true(nth(p.doc->root, 0)->flags & SA_NODE_DUP);
    kv(&p, p.doc->root, "K", "2", 2, 1, 2, 3);
    done(&p);

    fails_at(SA_INI_ENV, "OK=1\nA=\"open\n", 2, 3, "double-quoted value is never closed");
    fails_at(SA_INI_ENV, "A=x'open\n\n", 1, 4, "single-quoted value is never closed");
}

/* ---- postgresql.conf ----------------------------------------------------------------- */

static void test_pgconf(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_PGCONF,
          "# comment\n"
          "Listen_Addresses = '*'          # all\n"
          "ssl off\n"
          "password_encryption=md5#c\n"
          "ssl_ciphers = 'HIGH:!aNULL'\n"
          "s = 'it''s \\'q\\' a\\\\b\\n\\101'\n"
          "include_dir 'conf.d'\n"
          "ssl = on\r\n"
          "  shared_buffers = 128MB\n"
          "log.x = 1\n"
          "tab\t=\t''\n"
          "   \n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 10);
    /* keys are stored lower-cased; the key's position is still the name as written */
    kv(&p, root, "listen_addresses", "*", 2, 1, 2, 20);
    assert_true(get(root, "listen_addresses")->flags & SA_NODE_QUOTED);
    kvn(&p, nth(root, 1), "ssl", "off", 3, 3, 1, 3, 5);
    assert_true(nth(root, 1)->flags & SA_NODE_DUP);
    kv(&p, root, "password_encryption", "md5", 4, 1, 4, 21);
    assert_false(get(root, "password_encryption")->flags & SA_NODE_QUOTED);
    kv(&p, root, "ssl_ciphers", "HIGH:!aNULL", 5, 1, 5, 15);
    kv(&p, root, "s", "it's 'q' a\\b\nA", 6, 1, 6, 5);
    kv(&p, root, "include_dir", "conf.d", 7, 1, 7, 13);
    /* the last occurrence wins: CR is not part of it */
    kv(&p, root, "ssl", "on", 8, 1, 8, 7);
    assert_false(get(root, "ssl")->flags & SA_NODE_DUP);
    kv(&p, root, "shared_buffers", "128MB", 9, 3, 9, 20);
    kv(&p, root, "log.x", "1", 10, 1, 10, 9);
    kv(&p, root, "tab", "", 11, 1, 11, 7);
    assert_true(get(root, "tab")->flags & SA_NODE_QUOTED);
    done(&p);
}

static void test_pgconf_errors(void **state)
{
    (void)state;
    fails_at(SA_INI_PGCONF, "ssl =\n", 1, 6, "missing value");
    fails_at(SA_INI_PGCONF, "ssl = # off\n", 1, 7, "missing value");
    fails_at(SA_INI_PGCONF, "a = 1\nb = 'open\n", 2, 5, "unterminated quoted string");
    fails_at(SA_INI_PGCONF, "a = 'x\\'\n", 1, 5, "unterminated quoted string");
    fails_at(SA_INI_PGCONF, "listen_addresses = 0.0.0.0 ::\n", 1, 28,
             "unexpected text after the value");
    fails_at(SA_INI_PGCONF, "= 1\n", 1, 1, "expected a parameter name");
    fails_at(SA_INI_PGCONF, "[section]\n", 1, 1, "expected a parameter name");
    fails_at(SA_INI_PGCONF, "a = 'x\\0y'\n", 1, 7, "\\0 escape");
}

/* ---- properties ----------------------------------------------------------------------- */

static void test_properties(void **state)
{
    (void)state;
    parsed p;
    parse(&p, SA_INI_PROPERTIES,
          "# comment \\\n"
          "! also a comment\n"
          "Ice.Default.Host = 0.0.0.0\n"
          "key2:value2\n"
          "key3 value3\n"
          "key\\ with\\ spaces = v\n"
          "multi = first \\\n"
          "      second\n"
          "esc = a\\tb\\u00e9\\u20AC\\=\\:\\\\\\q\n"
          "empty =\n"
          "bare\n"
          "even = x\\\\\n"
          "trail = v \\  \r\n"
          "emoji = \\uD83D\\uDE00\\uD800x\n"
          "cont = \\\n"
          "   # not a comment\n"
          "   \t  \n");
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 12);
    kv(&p, root, "Ice.Default.Host", "0.0.0.0", 3, 1, 3, 20);
    kv(&p, root, "key2", "value2", 4, 1, 4, 6);
    kv(&p, root, "key3", "value3", 5, 1, 5, 6);
    kv(&p, root, "key with spaces", "v", 6, 1, 6, 21);
    kv(&p, root, "multi", "first second", 7, 1, 7, 9);
    kv(&p, root, "esc", "a\tb\xC3\xA9\xE2\x82\xAC=:\\q", 9, 1, 9, 7);
    knull(&p, root, "empty", 10, 1, 10, 8);
    knull(&p, root, "bare", 11, 1, 11, 5);
    kv(&p, root, "even", "x\\", 12, 1, 12, 8);
    /* trailing unescaped blanks dropped, an escaped one kept; no CR */
    kv(&p, root, "trail", "v  ", 13, 1, 13, 9);
    kv(&p, root, "emoji", "\xF0\x9F\x98\x80\xEF\xBF\xBDx", 14, 1, 14, 9);
    /* a value that starts on the continued line; a '#' there is no comment */
    kv(&p, root, "cont", "# not a comment", 15, 1, 16, 4);
    done(&p);

    parse(&p, SA_INI_PROPERTIES, "\xEF\xBB\xBF" "a.b=1\r\nc.d = x \\\r\n   y\r\na.b: 2\r\n");
    kv(&p, p.doc->root, "c.d", "x y", 2, 1, 2, 7);
    kv(&p, p.doc->root, "a.b", "2", 4, 1, 4, 6);
    assert_true(nth(p.doc->root, 0)->flags & SA_NODE_DUP);
    done(&p);
}

static void test_properties_errors(void **state)
{
    (void)state;
    fails_at(SA_INI_PROPERTIES, "a = 1\nb = x\\u12G4\n", 2, 6, "malformed \\uXXXX escape");
    fails_at(SA_INI_PROPERTIES, "b = \\u12\n", 1, 5, "malformed \\uXXXX escape");
    fails_at(SA_INI_PROPERTIES, "a=1\n  =x\n", 2, 3, "missing property name");
    fails_at(SA_INI_PROPERTIES, "a = \\u0000\n", 1, 5, "\\u0000");
}

/* ---- every dialect ---------------------------------------------------------------------- */

static const sa_ini_dialect all_dialects[] = {SA_INI_GENERIC, SA_INI_SYSTEMD, SA_INI_ENV,
                                              SA_INI_PGCONF, SA_INI_PROPERTIES};
enum { N_DIALECTS = sizeof(all_dialects) / sizeof(all_dialects[0]) };

static void test_bom_crlf_every_dialect(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_DIALECTS; i++) {
        parsed p;
        parse(&p, all_dialects[i], "\xEF\xBB\xBF" "a=1\r\nb=two\r\n\r\n");
        assert_int_equal(p.doc->root->count, 2);
        kv(&p, p.doc->root, "a", "1", 1, 1, 1, 3);
        kv(&p, p.doc->root, "b", "two", 2, 1, 2, 3);
        done(&p);
    }
}

static void test_limits_every_dialect(void **state)
{
    (void)state;
    static const char nul[] = "a=1\nb=x\0y\n";
    for (size_t i = 0; i < N_DIALECTS; i++) {
        sa_ini_dialect d = all_dialects[i];
        fails_lim(d, nul, sizeof(nul) - 1, NULL, 2, 4, "NUL byte in text");
        sa_limits lim = sa_limits_default;
        lim.max_string = 8;
        /* 8 bytes pass, 9 do not; the CR of a CRLF does not count */
        fails_lim(d, "a=123456\r\nb=1234567\n", 20, &lim, 2, 1,
                  "line is longer than the limit of 8 bytes");
        lim.max_nodes = 3;  /* the root and two keys */
        fails_lim(d, "a=1\nb=2\nc=3\n", 12, &lim, 3, 1, "node limit");
    }
    /* joined lines count as one */
    sa_limits lim = sa_limits_default;
    lim.max_string = 8;
    fails_lim(SA_INI_SYSTEMD, "a=12345\\\n6789\n", 14, &lim, 1, 1, "continuations joined");
    fails_lim(SA_INI_PROPERTIES, "x=1\na=12345\\\n6789\n", 18, &lim, 2, 1,
              "continuations joined");
    /* a multi-line quoted env value is bounded too */
    fails_lim(SA_INI_ENV, "A=\"1234\n5678\n\"\n", 15, &lim, 2, 4, "value is longer");
    fails_at((sa_ini_dialect)99, "a=1\n", 1, 1, "unknown INI dialect");
}

/* Every node of a successful parse lies inside the text; keys and strings are sized. */
static void check_tree(const sa_node *n, size_t len)
{
    assert_true(n->off <= len);
    assert_true(n->key_off <= len);
    if (n->key)
        assert_int_equal(strlen(n->key) <= n->key_len, 1);
    if (n->type == SA_STR || n->type == SA_NULL)
        assert_non_null(n->str);
    size_t count = 0;
    for (const sa_node *c = n->first; c; c = c->next) {
        assert_ptr_equal(c->parent, n);
        check_tree(c, len);
        count++;
    }
    assert_int_equal(count, n->count);
}

/* An error message is a sentence: not empty, no trailing period, no control bytes. */
static void check_msg(const sa_perr *e, size_t len)
{
    size_t n = strlen(e->msg);
    assert_true(n > 0);
    assert_true(e->msg[n - 1] != '.');
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)e->msg[i] >= 0x20 && e->msg[i] != 0x7f);
    assert_true(e->off <= len);
}

/* Each allocation failing in turn: the parse fails cleanly (no crash, no leak under
 * ASan/valgrind) until enough allocations succeed. */
static void test_alloc_failures(void **state)
{
    (void)state;
    static const char *const texts[N_DIALECTS] = {
        "[s]\nk = \"v\" \\\n w\n[t]\nk: 1\n",
        "[Service]\nEnvironment=A=1 \"B=2 3\" \\\n C='x'\nUser=root\n",
        "export A=\"x\ny\" B='z'\nC=1\n",
        "a = 'x''y'\nB 2\n",
        "a\\u00e9 = b \\\n c\nd:e\n",
    };
    for (size_t i = 0; i < N_DIALECTS; i++) {
        int ok = 0;
        for (unsigned long k = 1; k < 500 && !ok; k++) {
            size_t len = strlen(texts[i]);
            sa_alloc_fail_at(k);
            sa_doc *doc = sa_doc_new(texts[i], len, NULL);
            sa_perr err;
            int rc = doc ? sa_parse_ini(doc, all_dialects[i], &err) : -1;
            sa_alloc_fail_at(0);
            if (doc && rc < 0)
                check_msg(&err, len);
            ok = rc == 0;
            if (ok)
                check_tree(doc->root, len);
            sa_doc_free(doc);
        }
        assert_true(ok);
    }
}

/* Random bytes from an alphabet of the characters that matter: every dialect must either
 * succeed with a sane tree or fail with a sane error. Deterministic (fixed seed). */
static void test_random_inputs(void **state)
{
    (void)state;
    static const char alpha[] = "ab=:#;![] \t\r\n\\\"'u0eE$`x,.\xC3\xA9\xEF\xBB\xBF";
    unsigned long seed = 12345;
    char buf[96];
    for (int iter = 0; iter < 4000; iter++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t len = (seed >> 33) % sizeof(buf);
        for (size_t k = 0; k < len; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[k] = alpha[(seed >> 33) % (sizeof(alpha) - 1)];
        }
        sa_limits lim = sa_limits_default;
        lim.max_string = 1 + (size_t)(iter % 40);
        for (size_t i = 0; i < N_DIALECTS; i++) {
            sa_doc *doc = sa_doc_new(buf, len, &lim);
            assert_non_null(doc);
            sa_perr err;
            if (sa_parse_ini(doc, all_dialects[i], &err) == 0)
                check_tree(doc->root, len);
            else
                check_msg(&err, len);
            sa_doc_free(doc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_generic_dups_in_section),
        cmocka_unit_test(test_generic_continuation_crlf_bom),
        cmocka_unit_test(test_generic_errors),
        cmocka_unit_test(test_systemd),
        cmocka_unit_test(test_systemd_errors),
        cmocka_unit_test(test_env_split),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_pgconf),
        cmocka_unit_test(test_pgconf_errors),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_properties_errors),
        cmocka_unit_test(test_bom_crlf_every_dialect),
        cmocka_unit_test(test_limits_every_dialect),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
