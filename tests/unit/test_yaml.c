/* test_yaml.c — sa_parse_yaml: tree shape, scalar types, exact byte offsets and line:col
 * (multibyte text, CRLF, BOM), aliases, and hostile documents (billion laughs, cycles, deep
 * nesting, long scalars, %TAG floods) failing fast with exact positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/limits.h"
#include "secaudit/parse.h"

/* ---- helpers ------------------------------------------------------------------------ */

static sa_doc *parse_ok_n(const char *text, size_t len, const sa_limits *lim)
{
    sa_doc *doc = sa_doc_new(text, len, lim);
    assert_non_null(doc);
    sa_perr err;
    int rc = sa_parse_yaml(doc, &err);
    if (rc != 0)
        print_message("unexpected error at %zu: %s\n", err.off, err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(doc->root);
    return doc;
}

static sa_doc *parse_ok(const char *text)
{
    return parse_ok_n(text, strlen(text), NULL);
}

/* Parse text expecting failure; err gets the error. */
static void parse_fail_n(const char *text, size_t len, const sa_limits *lim, sa_perr *err)
{
    sa_doc *doc = sa_doc_new(text, len, lim);
    assert_non_null(doc);
    assert_int_equal(sa_parse_yaml(doc, err), -1);
    assert_int_equal(err->has_linecol, 0);
    assert_true(err->off <= len);
    size_t n = strlen(err->msg);
    assert_true(n > 0);
    assert_true(err->msg[n - 1] != '.');
    sa_doc_free(doc);
}

static void line_col(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
    sa_linemap map;
    assert_int_equal(sa_linemap_init(&map, text, len), 0);
    sa_linemap_pos(&map, off, line, col);
    sa_linemap_free(&map);
}

#define assert_pos(doc, off, l, c)                                        \
    do {                                                                  \
        unsigned line_, col_;                                             \
        line_col((doc)->text, (doc)->len, (off), &line_, &col_);          \
        assert_int_equal(line_, (l));                                     \
        assert_int_equal(col_, (c));                                      \
    } while (0)

static void expect_error(const char *text, size_t len, const sa_limits *lim, const char *msg,
                         unsigned line, unsigned col)
{
    sa_perr err;
    parse_fail_n(text, len, lim, &err);
    assert_string_equal(err.msg, msg);
    unsigned l, c;
    line_col(text, len, err.off, &l, &c);
    assert_int_equal(l, line);
    assert_int_equal(c, col);
}

/* Member of a map by a dotted path ("net.tls.mode"). */
static sa_node *get(sa_node *node, const char *path)
{
    while (node && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        node = sa_map_get(node, path, n);
        path += n + (dot != NULL);
    }
    return node;
}

static sa_node *child(sa_node *list, size_t i)
{
    assert_non_null(list);
    sa_node *c = list->first;
    while (c && i--)
        c = c->next;
    assert_non_null(c);
    return c;
}

static void assert_scalar(const sa_node *n, sa_type type, const char *str)
{
    assert_non_null(n);
    assert_int_equal(n->type, type);
    assert_non_null(n->str);
    assert_int_equal(n->len, strlen(str));
    assert_string_equal(n->str, str);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- well-formed documents ---------------------------------------------------------- */

static const char mongod_conf[] =
    "# mongod.conf\n"                                    /* 1 */
    "storage:\n"                                         /* 2 */
    "  dbPath: /var/lib/mongodb\n"                       /* 3 */
    "net:\n"                                             /* 4 */
    "  port: 27017\n"                                    /* 5 */
    "  bindIp: 0.0.0.0\n"                                /* 6 */
    "  tls:\n"                                           /* 7 */
    "    mode: requireTLS\n"                             /* 8 */
    "    certificateKeyFile: \"/etc/ssl/mongo.pem\"\n"   /* 9 */
    "security:\n"                                        /* 10 */
    "  authorization: enabled\n"                         /* 11 */
    "  javascriptEnabled: false\n"                       /* 12 */
    "setParameter:\n"                                    /* 13 */
    "  enableLocalhostAuthBypass: null\n";               /* 14 */

static void test_mongod_conf(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok(mongod_conf);
    sa_node *root = doc->root;
    assert_int_equal(root->type, SA_MAP);
    assert_int_equal(root->count, 4);
    assert_pos(doc, root->off, 2, 1);

    sa_node *net = get(root, "net");
    assert_int_equal(net->type, SA_MAP);
    assert_int_equal(net->count, 3);
    assert_pos(doc, net->key_off, 4, 1);
    assert_pos(doc, net->off, 5, 3);  /* a block mapping starts at its first key */

    sa_node *port = get(root, "net.port");
    assert_scalar(port, SA_NUM, "27017");
    assert_pos(doc, port->key_off, 5, 3);
    assert_pos(doc, port->off, 5, 9);

    sa_node *bind = get(root, "net.bindIp");
    assert_scalar(bind, SA_STR, "0.0.0.0");
    assert_int_equal(bind->flags & SA_NODE_QUOTED, 0);
    assert_string_equal(bind->key, "bindIp");
    assert_int_equal(bind->key_len, 6);
    assert_pos(doc, bind->key_off, 6, 3);
    assert_pos(doc, bind->off, 6, 11);
    assert_memory_equal(doc->text + bind->off, "0.0.0.0", 7);

    sa_node *mode = get(root, "net.tls.mode");
    assert_scalar(mode, SA_STR, "requireTLS");
    assert_pos(doc, mode->key_off, 8, 5);
    assert_pos(doc, mode->off, 8, 11);
    assert_ptr_equal(mode->parent, get(root, "net.tls"));

    sa_node *cert = get(root, "net.tls.certificateKeyFile");
    assert_scalar(cert, SA_STR, "/etc/ssl/mongo.pem");
    assert_int_equal(cert->flags & SA_NODE_QUOTED, SA_NODE_QUOTED);
    assert_pos(doc, cert->key_off, 9, 5);
    assert_pos(doc, cert->off, 9, 25);  /* the opening quote */
    assert_int_equal(doc->text[cert->off], '"');

    sa_node *authz = get(root, "security.authorization");
    assert_scalar(authz, SA_STR, "enabled");
    assert_pos(doc, authz->key_off, 11, 3);
    assert_pos(doc, authz->off, 11, 18);

    sa_node *js = get(root, "security.javascriptEnabled");
    assert_scalar(js, SA_BOOL, "false");
    assert_pos(doc, js->off, 12, 22);

    sa_node *bypass = get(root, "setParameter.enableLocalhostAuthBypass");
    assert_scalar(bypass, SA_NULL, "null");
    assert_int_equal(root->last, get(root, "setParameter"));
    sa_doc_free(doc);
}

static void test_scalar_types(void **state)
{
    (void)state;
    static const struct {
        sa_type type;
        const char *str;
        unsigned flags;
    } want[] = {
        {SA_BOOL, "true", 0},  {SA_BOOL, "true", 0},   {SA_BOOL, "true", 0},
        {SA_BOOL, "false", 0}, {SA_BOOL, "false", 0},  {SA_BOOL, "false", 0},
        {SA_STR, "yes", 0},    {SA_STR, "tRUE", 0},    {SA_NULL, "null", 0},
        {SA_NULL, "Null", 0},  {SA_NULL, "NULL", 0},   {SA_NULL, "~", 0},
        {SA_NULL, "", 0},      {SA_NUM, "42", 0},      {SA_NUM, "-17", 0},
        {SA_NUM, "+3", 0},     {SA_NUM, "0x1F", 0},    {SA_NUM, "0o17", 0},
        {SA_NUM, "0755", 0},   {SA_NUM, "3.14", 0},    {SA_NUM, "-.5", 0},
        {SA_NUM, "1.", 0},     {SA_NUM, "1e3", 0},     {SA_NUM, "2.5E-3", 0},
        {SA_NUM, ".inf", 0},   {SA_NUM, "-.Inf", 0},   {SA_NUM, "+.INF", 0},
        {SA_NUM, ".nan", 0},   {SA_NUM, ".NaN", 0},    {SA_STR, "-.nan", 0},
        {SA_STR, "1_000", 0},  {SA_STR, "0x", 0},      {SA_STR, "0o8", 0},
        {SA_STR, "1e", 0},     {SA_STR, ".", 0},       {SA_STR, "12:30", 0},
        {SA_STR, "1.2.3", 0},  {SA_STR, "true", SA_NODE_QUOTED},
        {SA_STR, "null", SA_NODE_QUOTED},              {SA_STR, "42", SA_NODE_QUOTED},
        {SA_STR, "", SA_NODE_QUOTED},                  {SA_STR, "lit\n", 0},
        {SA_STR, "fold ed\n", 0},                      {SA_NUM, "7", 0},
    };
    const char *text = "- true\n- True\n- TRUE\n- false\n- False\n- FALSE\n"
                       "- yes\n- tRUE\n- null\n- Null\n- NULL\n- ~\n-\n"
                       "- 42\n- -17\n- +3\n- 0x1F\n- 0o17\n- 0755\n- 3.14\n- -.5\n- 1.\n"
                       "- 1e3\n- 2.5E-3\n- .inf\n- -.Inf\n- +.INF\n- .nan\n- .NaN\n- -.nan\n"
                       "- 1_000\n- 0x\n- 0o8\n- 1e\n- .\n- 12:30\n- 1.2.3\n"
                       "- \"true\"\n- 'null'\n- \"42\"\n- ''\n"
                       "- |\n  lit\n- >\n  fold\n  ed\n- !!str 7\n";
    sa_doc *doc = parse_ok(text);
    assert_int_equal(doc->root->type, SA_LIST);
    assert_int_equal(doc->root->count, sizeof(want) / sizeof(want[0]));
    size_t i = 0;
    for (sa_node *n = doc->root->first; n; n = n->next, i++) {
        assert_scalar(n, want[i].type, want[i].str);
        assert_int_equal(n->flags, want[i].flags);
        assert_null(n->key);
    }
    sa_doc_free(doc);
}

static void test_escapes_and_nul(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("s: \"a\\tb\\x41\\u00e9\\0z\"\n");
    sa_node *s = get(doc->root, "s");
    assert_int_equal(s->type, SA_STR);
    assert_int_equal(s->len, 8);
    assert_memory_equal(s->str, "a\tbA\xc3\xa9\0z", 8);
    assert_int_equal(s->str[8], '\0');
    sa_doc_free(doc);
}

static void test_sequences(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("block:\n"                   /* 1 */
                           "  - a\n"                    /* 2 */
                           "  - b\n"                    /* 3 */
                           "flow: [c, \"d\", [e]]\n"    /* 4 */
                           "indentless:\n"              /* 5 */
                           "- f\n"                      /* 6 */
                           "- g\n"                      /* 7 */
                           "empty: []\n"                /* 8 */
                           "nothing:\n");               /* 9 */
    sa_node *root = doc->root;
    sa_node *block = get(root, "block");
    assert_int_equal(block->type, SA_LIST);
    assert_int_equal(block->count, 2);
    assert_null(block->str);
    assert_pos(doc, block->off, 2, 3);
    assert_scalar(child(block, 0), SA_STR, "a");
    assert_pos(doc, child(block, 0)->off, 2, 5);
    assert_pos(doc, child(block, 1)->off, 3, 5);
    assert_null(child(block, 1)->key);

    sa_node *flow = get(root, "flow");
    assert_int_equal(flow->type, SA_LIST);
    assert_int_equal(flow->count, 3);
    assert_pos(doc, flow->off, 4, 7);
    assert_pos(doc, child(flow, 0)->off, 4, 8);
    assert_scalar(child(flow, 1), SA_STR, "d");
    assert_int_equal(child(flow, 1)->flags, SA_NODE_QUOTED);
    assert_pos(doc, child(flow, 1)->off, 4, 11);
    sa_node *inner = child(flow, 2);
    assert_int_equal(inner->type, SA_LIST);
    assert_pos(doc, inner->off, 4, 16);
    assert_scalar(child(inner, 0), SA_STR, "e");
    assert_pos(doc, child(inner, 0)->off, 4, 17);

    sa_node *il = get(root, "indentless");
    assert_int_equal(il->type, SA_LIST);
    assert_int_equal(il->count, 2);
    assert_pos(doc, il->off, 6, 1);
    assert_scalar(child(il, 1), SA_STR, "g");
    assert_pos(doc, child(il, 1)->off, 7, 3);

    sa_node *empty = get(root, "empty");
    assert_int_equal(empty->type, SA_LIST);
    assert_int_equal(empty->count, 0);
    assert_null(empty->first);
    assert_pos(doc, empty->off, 8, 8);

    sa_node *nothing = get(root, "nothing");
    assert_scalar(nothing, SA_NULL, "");
    assert_pos(doc, nothing->key_off, 9, 1);
    assert_pos(doc, nothing->off, 9, 9);  /* an empty value sits just after its ':' */
    sa_doc_free(doc);
}

static void test_multibyte_same_line(void **state)
{
    (void)state;
    /* é is 2 bytes, к л ю ч 2 bytes each, ü 2 bytes */
    sa_doc *doc = parse_ok("a: {é: 1, ключ: ü, z: 2}\n");
    sa_node *a = get(doc->root, "a");
    sa_node *k = get(a, "ключ");
    assert_scalar(k, SA_STR, "ü");
    assert_int_equal(k->key_off, 11);
    assert_pos(doc, k->key_off, 1, 11);
    assert_memory_equal(doc->text + k->key_off, "ключ", strlen("ключ"));
    assert_int_equal(k->off, 21);
    assert_pos(doc, k->off, 1, 17);
    sa_node *z = get(a, "z");
    assert_int_equal(z->key_off, 25);
    assert_pos(doc, z->key_off, 1, 20);
    assert_int_equal(z->off, 28);
    assert_pos(doc, z->off, 1, 23);
    sa_doc_free(doc);

    doc = parse_ok("ü: €\n");
    sa_node *u = get(doc->root, "ü");
    assert_scalar(u, SA_STR, "€");
    assert_int_equal(u->key_off, 0);
    assert_int_equal(u->off, 4);
    assert_pos(doc, u->off, 1, 4);
    sa_doc_free(doc);
}

static void test_multibyte_previous_line(void **state)
{
    (void)state;
    const char *line1 = "# ünïcödé ✓ 😀 end\n";
    char text[128];
    snprintf(text, sizeof(text), "%skey: value\nnext: [x, ü]\n", line1);
    sa_doc *doc = parse_ok(text);
    size_t l1 = strlen(line1);
    sa_node *key = get(doc->root, "key");
    assert_int_equal(key->key_off, l1);
    assert_int_equal(key->off, l1 + 5);
    assert_pos(doc, key->off, 2, 6);
    sa_node *next = get(doc->root, "next");
    assert_int_equal(next->key_off, l1 + 11);
    assert_pos(doc, next->off, 3, 7);
    assert_int_equal(child(next, 1)->off, l1 + 11 + 10);
    assert_pos(doc, child(next, 1)->off, 3, 11);
    sa_doc_free(doc);
}

static void test_crlf(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("a: 1\r\nb:\r\n  - x\r\n  - \"y\"\r\nc: |\r\n  t\r\n");
    sa_node *b = get(doc->root, "b");
    assert_int_equal(b->key_off, 6);
    assert_pos(doc, b->key_off, 2, 1);
    assert_pos(doc, b->off, 3, 3);
    assert_scalar(child(b, 0), SA_STR, "x");
    assert_pos(doc, child(b, 0)->off, 3, 5);
    assert_scalar(child(b, 1), SA_STR, "y");
    assert_pos(doc, child(b, 1)->off, 4, 5);
    sa_node *c = get(doc->root, "c");
    assert_scalar(c, SA_STR, "t\n");  /* line breaks are normalised */
    assert_pos(doc, c->key_off, 5, 1);
    sa_doc_free(doc);

    /* libyaml also breaks lines at a lone CR and at NEL; offsets stay byte-exact */
    doc = parse_ok("a: 1\rb: 2\xc2\x85" "c: é\n");
    assert_int_equal(get(doc->root, "b")->key_off, 5);
    assert_int_equal(get(doc->root, "c")->key_off, 11);
    assert_int_equal(get(doc->root, "c")->off, 14);
    assert_scalar(get(doc->root, "c"), SA_STR, "é");
    sa_doc_free(doc);

    expect_error("a: 1\r\nb: 2\r\n\tc: 3\r\n", 19, NULL,
                 "found a tab character that violates indentation "
                 "(while scanning a plain scalar that starts at line 2, column 4)", 3, 1);
}

static void test_bom(void **state)
{
    (void)state;
    const char *text = "\xef\xbb\xbf" "a: 1\nb: [x]\n";
    sa_doc *doc = parse_ok(text);
    sa_node *a = get(doc->root, "a");
    assert_int_equal(doc->root->off, 3);
    assert_int_equal(a->key_off, 3);
    assert_pos(doc, a->key_off, 1, 1);  /* the BOM is not a column */
    assert_int_equal(a->off, 6);
    sa_node *b = get(doc->root, "b");
    assert_int_equal(b->key_off, 8);
    assert_pos(doc, b->key_off, 2, 1);
    assert_int_equal(child(b, 0)->off, 12);
    assert_pos(doc, child(b, 0)->off, 2, 5);
    sa_doc_free(doc);

    /* document markers and directives after a BOM still start their line */
    doc = parse_ok("\xef\xbb\xbf%YAML 1.1\n--- [x]\n");
    assert_int_equal(doc->root->type, SA_LIST);
    assert_int_equal(doc->root->off, 17);
    assert_int_equal(child(doc->root, 0)->off, 18);
    sa_doc_free(doc);

    sa_perr err;
    parse_fail_n("\xef\xbb\xbf" "a: b: c\n", 11, NULL, &err);
    assert_int_equal(err.off, 7);
    assert_string_equal(err.msg, "mapping values are not allowed in this context");

    parse_fail_n("\xff\xfe" "a\0:\0", 6, NULL, &err);
    assert_int_equal(err.off, 0);
    assert_string_equal(err.msg, "the file is UTF-16; only UTF-8 YAML can be read");
}

static void test_alias_copy(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("base: &base\n"          /* 1 */
                           "  host: h\n"            /* 2 */
                           "  port: 1\n"            /* 3 */
                           "  tls: {mode: x}\n"     /* 4 */
                           "other: *base\n"         /* 5 */
                           "k: &s val\n"            /* 6 */
                           "list: [*s, *s]\n"       /* 7 */
                           "*s : aliased key\n"     /* 8 */
                           "m:\n"                   /* 9 */
                           "  <<: *base\n"          /* 10 */
                           "  port: 2\n");          /* 11 */
    sa_node *root = doc->root;
    sa_node *base = get(root, "base");
    sa_node *other = get(root, "other");
    assert_int_equal(base->type, SA_MAP);
    assert_pos(doc, base->off, 1, 7);  /* a node starts at its anchor */
    assert_int_equal(other->type, SA_MAP);
    assert_ptr_not_equal(other, base);
    assert_int_equal(other->count, 3);
    assert_string_equal(other->key, "other");
    assert_pos(doc, other->key_off, 5, 1);
    assert_pos(doc, other->off, 5, 8);  /* the copy's root sits at the alias */
    assert_int_equal(doc->text[other->off], '*');

    sa_node *oh = get(other, "host"), *bh = get(base, "host");
    assert_ptr_not_equal(oh, bh);
    assert_ptr_equal(oh->parent, other);
    assert_scalar(oh, SA_STR, "h");
    assert_int_equal(oh->off, bh->off);       /* inner nodes keep their places */
    assert_int_equal(oh->key_off, bh->key_off);
    assert_pos(doc, oh->off, 2, 9);
    assert_scalar(get(other, "port"), SA_NUM, "1");
    sa_node *otls = get(other, "tls");
    assert_int_equal(otls->type, SA_MAP);
    assert_ptr_not_equal(otls, get(base, "tls"));
    assert_ptr_equal(otls->parent, other);
    assert_ptr_equal(otls->last, otls->first);
    assert_scalar(get(otls, "mode"), SA_STR, "x");
    assert_ptr_equal(get(otls, "mode")->parent, otls);
    assert_pos(doc, get(otls, "mode")->off, 4, 15);
    assert_null(otls->next);

    sa_node *k = get(root, "k");
    assert_scalar(k, SA_STR, "val");
    assert_pos(doc, k->off, 6, 4);
    sa_node *list = get(root, "list");
    assert_int_equal(list->count, 2);
    assert_scalar(child(list, 0), SA_STR, "val");
    assert_null(child(list, 0)->key);
    assert_pos(doc, child(list, 0)->off, 7, 8);
    assert_pos(doc, child(list, 1)->off, 7, 12);

    sa_node *ak = get(root, "val");
    assert_scalar(ak, SA_STR, "aliased key");
    assert_pos(doc, ak->key_off, 8, 1);

    sa_node *m = get(root, "m");
    assert_int_equal(m->count, 2);
    sa_node *merge = get(m, "<<");  /* merge keys are ordinary keys */
    assert_int_equal(merge->type, SA_MAP);
    assert_int_equal(merge->count, 3);
    assert_scalar(get(m, "port"), SA_NUM, "2");
    assert_int_equal(root->count, 6);
    sa_doc_free(doc);
}

static void test_duplicates_flagged(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("a: 1\nb: 2\na: 3\n");
    sa_node *first = doc->root->first;
    assert_int_equal(first->flags & SA_NODE_DUP, SA_NODE_DUP);
    assert_int_equal(child(doc->root, 1)->flags & SA_NODE_DUP, 0);
    assert_int_equal(doc->root->last->flags & SA_NODE_DUP, 0);
    assert_scalar(get(doc->root, "a"), SA_NUM, "3");
    sa_doc_free(doc);
}

static void test_tags_ignored(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("%TAG !e! tag:example.com,2000:\n"
                           "--- !e!conf\n"
                           "a: !!str 12\n"
                           "b: !e!thing {c: !!int \"3\"}\n");
    assert_scalar(get(doc->root, "a"), SA_NUM, "12");
    assert_scalar(get(doc->root, "b.c"), SA_STR, "3");
    assert_pos(doc, get(doc->root, "a")->off, 3, 4);
    sa_doc_free(doc);
}

static void test_first_document_only(void **state)
{
    (void)state;
    /* the second document is not even valid: it must not be read */
    sa_doc *doc = parse_ok("a: 1\n---\n\t: [bad\n");
    assert_int_equal(doc->root->type, SA_MAP);
    assert_int_equal(doc->root->count, 1);
    assert_scalar(get(doc->root, "a"), SA_NUM, "1");
    sa_doc_free(doc);

    doc = parse_ok("--- first\n...\n--- second\n");
    assert_scalar(doc->root, SA_STR, "first");
    assert_int_equal(doc->root->off, 4);
    sa_doc_free(doc);
}

static void test_empty_input(void **state)
{
    (void)state;
    const char *texts[] = {"", "# only a comment\n", "\n\n   \n"};
    for (size_t i = 0; i < 3; i++) {
        sa_doc *doc = parse_ok(texts[i]);
        assert_scalar(doc->root, SA_NULL, "");
        assert_int_equal(doc->root->off, 0);
        assert_null(doc->root->key);
        sa_doc_free(doc);
    }
    sa_doc *doc = sa_doc_new(NULL, 0, NULL);
    sa_perr err;
    assert_int_equal(sa_parse_yaml(doc, &err), 0);
    assert_int_equal(doc->root->type, SA_NULL);
    sa_doc_free(doc);

    doc = parse_ok("---\n");  /* an empty document */
    assert_scalar(doc->root, SA_NULL, "");
    sa_doc_free(doc);
}

/* ---- hostile and broken documents --------------------------------------------------- */

static void test_billion_laughs(void **state)
{
    (void)state;
    char text[4096];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof(text) - n, "a: &a [");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"lol\"", i ? ", " : "");
    n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
    for (char c = 'b'; c <= 'i'; c++) {
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%c: &%c [", c, c);
        for (int i = 0; i < 9; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s*%c", i ? ", " : "", c - 1);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "]\n");
    }
    assert_true(n < sizeof(text) - 1);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sa_doc *doc = sa_doc_new(text, n, NULL);
    sa_perr err;
    assert_int_equal(sa_parse_yaml(doc, &err), -1);
    /* a: 10 nodes, b: 91, c: 820, d: 7381, e: 66430; copies so far 90 + 819 + 7380 + 66429
     * = 74718; the first *e on line f would bring 66430 more */
    assert_string_equal(err.msg, "aliases expand to more than 100000 nodes");
    unsigned l, c;
    line_col(text, n, err.off, &l, &c);
    assert_int_equal(l, 6);
    assert_int_equal(c, 8);
    assert_true(doc->nodes < 80000);
    assert_true(sa_arena_used(doc->arena) < 80000 * 2 * sizeof(sa_node));
    sa_doc_free(doc);
    assert_true(seconds_since(&t0) < 5.0);

    /* the same document under a larger budget parses up to the next level */
    sa_limits lim = sa_limits_default;
    lim.max_alias_nodes = 74718;
    expect_error(text, n, &lim, "aliases expand to more than 74718 nodes", 6, 8);
    lim.max_alias_nodes = 74717;  /* now the ninth *d on line e is one too many */
    expect_error(text, n, &lim, "aliases expand to more than 74717 nodes", 5, 40);
}

static void test_alias_cycle(void **state)
{
    (void)state;
    expect_error("&a [*a]\n", 8, NULL, "alias *a refers to a node that contains it", 1, 5);
    expect_error("x: &m\n  k: {j: *m}\n", 19, NULL,
                 "alias *m refers to a node that contains it", 2, 10);
}

static void test_undefined_alias(void **state)
{
    (void)state;
    expect_error("a: *nope\nb: &nope 1\n", 20, NULL,
                 "alias *nope refers to an anchor that is not defined before it", 1, 4);
    /* a long anchor name is cut in the message */
    char text[200];
    int n = snprintf(text, sizeof(text), "a: *%0100d\n", 7);
    sa_perr err;
    parse_fail_n(text, (size_t)n, NULL, &err);
    assert_string_equal(err.msg, "alias *00000000000000000000000000000000... refers to an "
                                 "anchor that is not defined before it");
}

static void test_anchor_redefined(void **state)
{
    (void)state;
    sa_doc *doc = parse_ok("a: &x 1\nb: &x [2]\nc: *x\nd: &x [&x 3, *x]\n");
    sa_node *c = get(doc->root, "c");
    assert_int_equal(c->type, SA_LIST);
    assert_scalar(child(c, 0), SA_NUM, "2");
    sa_node *d = get(doc->root, "d");  /* the inner &x wins while the outer is open */
    assert_scalar(child(d, 1), SA_NUM, "3");
    sa_doc_free(doc);
}

static void test_many_anchors(void **state)
{
    (void)state;
    /* 20,000 anchors and an alias to each: linear, and every alias finds its own anchor */
    size_t cap = 20000 * 40, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(text + n, cap - n, "k%d: &a%d v%d\n", i, i, i);
    for (int i = 0; i < 20000; i += 997)
        n += (size_t)snprintf(text + n, cap - n, "r%d: *a%d\n", i, i);
    sa_doc *doc = parse_ok_n(text, n, NULL);
    assert_scalar(get(doc->root, "r0"), SA_STR, "v0");
    assert_scalar(get(doc->root, "r19940"), SA_STR, "v19940");
    sa_doc_free(doc);
    free(text);
}

static void test_deep_nesting(void **state)
{
    (void)state;
    size_t n = 200000;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '[', n);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sa_perr err;
    parse_fail_n(text, n, NULL, &err);
    assert_string_equal(err.msg, "nesting deeper than 256 levels");
    assert_int_equal(err.off, 256);
    assert_true(seconds_since(&t0) < 5.0);

    for (size_t i = 0; i + 4 <= n; i += 4)
        memcpy(text + i, "{a: ", 4);
    parse_fail_n(text, n, NULL, &err);
    assert_string_equal(err.msg, "nesting deeper than 256 levels");
    assert_int_equal(err.off, 256 * 4);
    free(text);

    /* block nesting, and the exact boundary */
    sa_limits lim = sa_limits_default;
    lim.max_depth = 3;
    sa_doc *doc = parse_ok_n("a:\n  b:\n    - x\n", 16, &lim);
    assert_scalar(child(get(doc->root, "a.b"), 0), SA_STR, "x");
    sa_doc_free(doc);
    expect_error("a:\n  b:\n    - [x]\n", 18, &lim, "nesting deeper than 3 levels", 3, 7);
}

static void test_alias_depth(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_depth = 5;
    const char *text = "a: &a [[1]]\nb: [[*a]]\n";
    sa_doc *doc = parse_ok_n(text, strlen(text), &lim);
    assert_scalar(child(child(child(child(get(doc->root, "b"), 0), 0), 0), 0), SA_NUM, "1");
    sa_doc_free(doc);
    lim.max_depth = 4;
    expect_error(text, strlen(text), &lim, "nesting deeper than 4 levels", 2, 6);
}

static void test_tab_indentation(void **state)
{
    (void)state;
    expect_error("net:\n\tport: 1\n", 14, NULL,
                 "found character that cannot start any token "
                 "(while scanning for the next token)", 2, 1);
}

static void test_libyaml_errors(void **state)
{
    (void)state;
    /* the problem's place, with where the broken construct began */
    expect_error("a:\n  - 1\n - 2\n", 14, NULL,
                 "did not find expected key "
                 "(while parsing a block mapping that starts at line 1, column 1)", 3, 2);
    expect_error("é: b: c\n", 9, NULL, "mapping values are not allowed in this context", 1, 5);
    /* at the end of the input, the place to look is where the unclosed thing opened */
    expect_error("a: 1\nb: \"abc\n", 13, NULL,
                 "found unexpected end of stream (while scanning a quoted scalar)", 2, 4);
    expect_error("a: [1, 2\n", 9, NULL,
                 "did not find expected ',' or ']' (while parsing a flow sequence)", 1, 4);
    /* reader errors: exact byte */
    sa_perr err;
    parse_fail_n("a: \"x\x01\"\n", 8, NULL, &err);
    assert_int_equal(err.off, 5);
    assert_string_equal(err.msg, "control characters are not allowed (U+0001)");
    parse_fail_n("ab: c\nd: \xff\n", 11, NULL, &err);
    assert_int_equal(err.off, 9);
    assert_string_equal(err.msg, "invalid leading UTF-8 octet (byte 0xFF)");
    parse_fail_n("a: b\0c\n", 7, NULL, &err);
    assert_int_equal(err.off, 4);
    assert_string_equal(err.msg, "control characters are not allowed (U+0000)");
}

static void test_scalar_keys_only(void **state)
{
    (void)state;
    expect_error("? [a]\n: 1\n", 10, NULL, "only scalar keys are supported", 1, 3);
    expect_error("x: {{a: 1}: 2}\n", 15, NULL, "only scalar keys are supported", 1, 5);
    expect_error("m: &m {x: 1}\n*m : 2\n", 20, NULL, "only scalar keys are supported", 2, 1);
}

static void test_max_string(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_string = 8;
    sa_doc *doc = parse_ok_n("a: 12345678\n", 12, &lim);
    assert_scalar(get(doc->root, "a"), SA_NUM, "12345678");
    sa_doc_free(doc);
    expect_error("a: 123456789\n", 13, &lim, "a scalar is longer than 8 bytes", 1, 4);
    expect_error("b: 1\nlongkeyname: 1\n", 20, &lim, "a scalar is longer than 8 bytes", 2, 1);
    expect_error("a: |\n  abcdefgh\n", 16, &lim, "a scalar is longer than 8 bytes", 1, 4);
    expect_error("a: &anchorname 1\n", 17, &lim, "an anchor name is longer than 8 bytes", 1, 4);
}

static void test_node_budget(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_nodes = 5;
    sa_doc *doc = parse_ok_n("[1, 2, 3, 4]", 12, &lim);
    assert_int_equal(doc->nodes, 5);
    sa_doc_free(doc);
    expect_error("[1, 2, 3, 4, 5]", 15, &lim, "the document has more than 5 nodes", 1, 14);
    lim.max_nodes = 6;
    expect_error("a: &a [1, 2]\nb: *a\n", 19, &lim, "the document has more than 6 nodes", 2,
                 4);
}

static void test_tag_directive_flood(void **state)
{
    (void)state;
    size_t cap = 120 * 40, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, cap - n, "%%TAG !t%d! tag:x,2000:\n", i);
    size_t keep = n;
    n += (size_t)snprintf(text + n, cap - n, "--- a\n");
    sa_doc *doc = parse_ok_n(text, n, NULL);
    assert_scalar(doc->root, SA_STR, "a");
    sa_doc_free(doc);
    n = keep;
    n += (size_t)snprintf(text + n, cap - n, "%%TAG !u! tag:x,2000:\n--- a\n");
    expect_error(text, n, NULL, "more than 100 %TAG directives", 101, 1);
    free(text);
}

/* Every allocation of ours failing in turn: an error, never a crash or a leak. */
static void test_allocation_failures(void **state)
{
    (void)state;
    const char *text = "a: &a {b: [1, 2, {c: d}]}\nx: *a\ny: [*a, *a]\n";
    int succeeded = 0;
    for (unsigned long nth = 1; nth < 1000 && !succeeded; nth++) {
        sa_doc *doc = sa_doc_new(text, strlen(text), NULL);
        assert_non_null(doc);
        sa_perr err;
        sa_alloc_fail_at(nth);
        int rc = sa_parse_yaml(doc, &err);
        sa_alloc_fail_at(0);
        if (rc == 0) {
            succeeded = 1;
            assert_int_equal(get(doc->root, "y")->count, 2);
        } else {
            assert_string_equal(err.msg, "out of memory while reading YAML");
        }
        sa_doc_free(doc);
    }
    assert_true(succeeded);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mongod_conf),
        cmocka_unit_test(test_scalar_types),
        cmocka_unit_test(test_escapes_and_nul),
        cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_multibyte_same_line),
        cmocka_unit_test(test_multibyte_previous_line),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_alias_copy),
        cmocka_unit_test(test_duplicates_flagged),
        cmocka_unit_test(test_tags_ignored),
        cmocka_unit_test(test_first_document_only),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_alias_cycle),
        cmocka_unit_test(test_undefined_alias),
        cmocka_unit_test(test_anchor_redefined),
        cmocka_unit_test(test_many_anchors),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_alias_depth),
        cmocka_unit_test(test_tab_indentation),
        cmocka_unit_test(test_libyaml_errors),
        cmocka_unit_test(test_scalar_keys_only),
        cmocka_unit_test(test_max_string),
        cmocka_unit_test(test_node_budget),
        cmocka_unit_test(test_tag_directive_flood),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
