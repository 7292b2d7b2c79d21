/* test_json.c — unit tests of the JSON parser (src/parse/json.c): comments, positions,
 * escapes, duplicates, limits, and the exact place and wording of errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/limits.h"
#include "secaudit/parse.h"

/* One parse: the doc, its result, its error and a line map of the text. */
typedef struct parsed {
    sa_doc *doc;
    int rc;
    sa_perr err;
    sa_linemap lm;
} parsed;

static void parse_n(parsed *p, const char *text, size_t len, const sa_limits *lim)
{
    p->doc = sa_doc_new(text, len, lim);
    assert_non_null(p->doc);
    assert_int_equal(sa_linemap_init(&p->lm, text, len), 0);
    p->rc = sa_parse_json(p->doc, &p->err);
}

static void parse(parsed *p, const char *text)
{
    parse_n(p, text, strlen(text), NULL);
}

static void done(parsed *p)
{
    sa_linemap_free(&p->lm);
    sa_doc_free(p->doc);
}

/* Assert that byte offset off sits at 1-based line:col. */
static void at(const parsed *p, size_t off, unsigned line, unsigned col)
{
    unsigned l, c;
    sa_linemap_pos(&p->lm, off, &l, &c);
    if (l != line || c != col)
        fail_msg("offset %zu is at %u:%u, expected %u:%u", off, l, c, line, col);
}

/* Assert the parse failed at line:col with a message containing want. */
static void fails_at(const parsed *p, unsigned line, unsigned col, const char *want)
{
    assert_int_equal(p->rc, -1);
    assert_int_equal(p->err.has_linecol, 0);
    at(p, p->err.off, line, col);
    if (strstr(p->err.msg, want) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", p->err.msg, want);
}

static const sa_node *get(const sa_node *map, const char *key)
{
    const sa_node *n = sa_map_get(map, key, strlen(key));
    if (n == NULL)
        fail_msg("no member \"%s\"", key);
    return n;
}

static const sa_node *nth(const sa_node *list, size_t i)
{
    const sa_node *n = list->first;
    while (n && i--)
        n = n->next;
    assert_non_null(n);
    return n;
}

static void is_str(const sa_node *n, const char *s)
{
    assert_int_equal(n->type, SA_STR);
    assert_int_equal(n->len, strlen(s));
    assert_memory_equal(n->str, s, n->len);
    assert_true(n->flags & SA_NODE_QUOTED);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- comments and positions ---------------------------------------------------------- */

static const char orthanc[] =
    "// Orthanc configuration\n"                                        /* 1 */
    "{\n"                                                               /* 2 */
    "  /* General */\n"                                                 /* 3 */
    "  \"Name\" : \"MyOrthanc\",   // the name\n"                       /* 4 */
    "  \"HttpPort\" : 8042,\n"                                          /* 5 */
    "  /* a block comment\n"                                            /* 6 */
    "     over two lines with \"quotes\" and // slashes */\n"          /* 7 */
    "  \"RemoteAccessAllowed\" : true, /* inline */ \"SslEnabled\": false,\n" /* 8 */
    "  \"RegisteredUsers\" : { \"alice\" : \"secret\" },\n"             /* 9 */
    "  \"DicomModalities\" : {\n"                                       /* 10 */
    "    \"pacs\" : [ \"PACS\", \"192.168.0.1\", 104 ]\n"               /* 11 */
    "  },\n"                                                            /* 12 */
    "  \"OrthancPeers\" : { \"peer\" : { \"Url\" : \"http://host:8042/\" } },\n" /* 13 */
    "  \"StorageDirectory\" : null//end\n"                              /* 14 */
    "}\n";                                                              /* 15 */

static void test_orthanc_config(void **state)
{
    (void)state;
    parsed p;
    parse(&p, orthanc);
    assert_int_equal(p.rc, 0);
    const sa_node *root = p.doc->root;
    assert_int_equal(root->type, SA_MAP);
    at(&p, root->off, 2, 1);
    assert_int_equal(root->count, 8);

    const sa_node *n = get(root, "Name");
    at(&p, n->key_off, 4, 3);
    at(&p, n->off, 4, 12);
    is_str(n, "MyOrthanc");

    n = get(root, "HttpPort");
    at(&p, n->key_off, 5, 3);
    at(&p, n->off, 5, 16);
    assert_int_equal(n->type, SA_NUM);
    assert_string_equal(n->str, "8042");

    n = get(root, "RemoteAccessAllowed");
    at(&p, n->key_off, 8, 3);
    at(&p, n->off, 8, 27);
    assert_int_equal(n->type, SA_BOOL);
    assert_string_equal(n->str, "true");

    n = get(root, "SslEnabled");
    at(&p, n->key_off, 8, 46);
    at(&p, n->off, 8, 60);
    assert_int_equal(n->type, SA_BOOL);
    assert_string_equal(n->str, "false");

    n = get(get(root, "RegisteredUsers"), "alice");
    at(&p, n->key_off, 9, 25);
    at(&p, n->off, 9, 35);
    is_str(n, "secret");

    const sa_node *pacs = get(get(root, "DicomModalities"), "pacs");
    assert_int_equal(pacs->type, SA_LIST);
    at(&p, pacs->key_off, 11, 5);
    at(&p, pacs->off, 11, 14);
    assert_int_equal(pacs->count, 3);
    at(&p, nth(pacs, 1)->off, 11, 24);
    is_str(nth(pacs, 1), "192.168.0.1");
    at(&p, nth(pacs, 2)->off, 11, 39);
    assert_string_equal(nth(pacs, 2)->str, "104");

    n = get(get(get(root, "OrthancPeers"), "peer"), "Url");
    at(&p, n->key_off, 13, 33);
    at(&p, n->off, 13, 41);
    is_str(n, "http://host:8042/");

    n = get(root, "StorageDirectory");
    at(&p, n->off, 14, 24);
    assert_int_equal(n->type, SA_NULL);
    assert_null(n->str);
    assert_ptr_equal(n->parent, root);
    done(&p);
}

static void test_comment_lookalikes_in_strings(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\"a\": \"x // y /* z */ w\", /* c */ \"b\": \"\\\"// q\\\\\" // \"\n"
              ", \"c\": \"/*\" /* \" */ }");
    assert_int_equal(p.rc, 0);
    is_str(get(p.doc->root, "a"), "x // y /* z */ w");
    is_str(get(p.doc->root, "b"), "\"// q\\");
    is_str(get(p.doc->root, "c"), "/*");
    at(&p, get(p.doc->root, "c")->key_off, 2, 3);
    assert_int_equal(p.doc->root->count, 3);
    done(&p);
}

static void test_crlf(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\r\n  \"a\": 1, // note\r\n  /* x\r\n  y */ \"b\": [\r\n    \"c\"\r\n  ]\r\n}\r\n");
    assert_int_equal(p.rc, 0);
    const sa_node *a = get(p.doc->root, "a"), *b = get(p.doc->root, "b");
    at(&p, a->key_off, 2, 3);
    at(&p, a->off, 2, 8);
    at(&p, b->key_off, 4, 8);
    at(&p, b->off, 4, 13);
    at(&p, b->first->off, 5, 5);
    is_str(b->first, "c");
    done(&p);
}

static void test_bom(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "\xEF\xBB\xBF{\"a\": 1}");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.doc->root->off, 3);
    assert_int_equal(get(p.doc->root, "a")->key_off, 4);
    at(&p, get(p.doc->root, "a")->key_off, 1, 2);  /* a leading BOM is not a column */
    done(&p);

    parse(&p, "{\"a\": 1}\xEF\xBB\xBF");  /* only a leading BOM is ignored */
    fails_at(&p, 1, 9, "unexpected character (byte 0xEF)");
    done(&p);
}

static void test_multibyte_column(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\"\xC3\xA9\": \"\xC3\xBC\", \"k\": 1}");
    assert_int_equal(p.rc, 0);
    const sa_node *k = get(p.doc->root, "k");
    assert_int_equal(k->key_off, 13);
    at(&p, k->key_off, 1, 12);
    at(&p, k->off, 1, 17);
    is_str(get(p.doc->root, "\xC3\xA9"), "\xC3\xBC");
    done(&p);
}

/* ---- values -------------------------------------------------------------------------- */

static void test_escapes(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "[\"caf\\u00e9\", \"\\ud83d\\ude00!\", \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\","
              " \"x\\u0000y\", \"\\u20AC\"]");
    assert_int_equal(p.rc, 0);
    const sa_node *l = p.doc->root;
    assert_int_equal(l->count, 5);
    is_str(nth(l, 0), "caf\xC3\xA9");
    is_str(nth(l, 1), "\xF0\x9F\x98\x80!");
    is_str(nth(l, 2), "a\"b\\c/d\b\f\n\r\t");
    assert_int_equal(nth(l, 3)->len, 3);
    assert_memory_equal(nth(l, 3)->str, "x\0y", 4);
    is_str(nth(l, 4), "\xE2\x82\xAC");
    done(&p);

    parse(&p, "{\"k\\u00e9\\n\": 1}");  /* keys are decoded the same way */
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.doc->root->first->key_len, 4);
    assert_string_equal(p.doc->root->first->key, "k\xC3\xA9\n");
    assert_int_equal(p.doc->root->first->key_off, 1);
    done(&p);
}

static void test_string_errors(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "[\"ok\",\n \"ab\\ud800x\"]");  /* lone high surrogate */
    fails_at(&p, 2, 5, "unpaired UTF-16 surrogate");
    done(&p);
    parse(&p, "[\"\\udc00\"]");  /* lone low surrogate */
    fails_at(&p, 1, 3, "unpaired UTF-16 surrogate");
    done(&p);
    parse(&p, "{\"a\": \"c:\\windows\"}");
    fails_at(&p, 1, 10, "invalid escape");
    done(&p);
    parse(&p, "[\"\\u12G4\"]");
    fails_at(&p, 1, 3, "four hex digits");
    done(&p);
    parse(&p, "{\"a\": \"open,\n \"b\": 1}");
    fails_at(&p, 1, 7, "not closed on its line");
    done(&p);
    parse(&p, "{\"a\": \"open");
    fails_at(&p, 1, 7, "the file ends before its closing");
    done(&p);
    parse(&p, "[\"tab\there\"]");
    fails_at(&p, 1, 6, "control byte 0x09");
    done(&p);
    parse(&p, "{\"a\\u0000\": 1}");
    fails_at(&p, 1, 2, "a key must not contain \\u0000");
    done(&p);
}

static void test_numbers_and_scalars(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "[-0.5e+10, 1E3, 0, 123456789012345678901234567890, true, false, null]");
    assert_int_equal(p.rc, 0);
    const sa_node *l = p.doc->root;
    const char *num[] = {"-0.5e+10", "1E3", "0", "123456789012345678901234567890"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(nth(l, i)->type, SA_NUM);
        assert_string_equal(nth(l, i)->str, num[i]);
        assert_int_equal(nth(l, i)->len, strlen(num[i]));
        assert_int_equal(nth(l, i)->flags & SA_NODE_QUOTED, 0);
    }
    assert_int_equal(nth(l, 4)->type, SA_BOOL);
    assert_string_equal(nth(l, 4)->str, "true");
    assert_string_equal(nth(l, 5)->str, "false");
    assert_int_equal(nth(l, 6)->type, SA_NULL);
    at(&p, nth(l, 6)->off, 1, 65);
    done(&p);

    parse(&p, "[1, 1e999]");
    fails_at(&p, 1, 5, "a number is too large");
    done(&p);
    parse(&p, "[01]");
    fails_at(&p, 1, 2, "invalid number");
    done(&p);
}

static void test_top_level_scalar(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "  42 // answer\n");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.doc->root->type, SA_NUM);
    assert_string_equal(p.doc->root->str, "42");
    assert_int_equal(p.doc->root->off, 2);
    assert_null(p.doc->root->parent);
    done(&p);
    parse(&p, "\"x\"");
    assert_int_equal(p.rc, 0);
    is_str(p.doc->root, "x");
    done(&p);
    parse(&p, "null");
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.doc->root->type, SA_NULL);
    done(&p);
    parse(&p, "[] {}");
    fails_at(&p, 1, 4, "unexpected text after the end of the JSON value");
    done(&p);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\"a\": 1, \"b\": {\"x\": 1, \"x\": 2, \"x\": 3}, \"a\": 2, \"c\": {}}");
    assert_int_equal(p.rc, 0);
    const sa_node *root = p.doc->root;
    assert_int_equal(root->count, 4);
    const sa_node *a1 = nth(root, 0), *a2 = nth(root, 2);
    assert_string_equal(a1->key, "a");
    assert_string_equal(a2->key, "a");
    assert_int_equal(a1->flags & SA_NODE_DUP, SA_NODE_DUP);
    assert_int_equal(a2->flags & SA_NODE_DUP, 0);
    assert_int_equal(nth(root, 1)->flags & SA_NODE_DUP, 0);
    assert_ptr_equal(get(root, "a"), a2);  /* last wins for a reader */
    assert_string_equal(a2->str, "2");
    const sa_node *b = get(root, "b");
    assert_int_equal(nth(b, 0)->flags & SA_NODE_DUP, SA_NODE_DUP);
    assert_int_equal(nth(b, 1)->flags & SA_NODE_DUP, SA_NODE_DUP);
    assert_int_equal(nth(b, 2)->flags & SA_NODE_DUP, 0);
    assert_int_equal(get(root, "c")->count, 0);
    done(&p);
}

/* ---- syntax errors ------------------------------------------------------------------- */

static void test_missing_comma(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\n  \"Name\" : \"x\", // c\n  \"HttpPort\" : 8042\n  \"SslEnabled\" : true\n}\n");
    fails_at(&p, 4, 3, "expected ',' or '}' after a member (a ',' is missing)");
    done(&p);
    parse(&p, "[1,\n 2\n 3]");
    fails_at(&p, 3, 2, "expected ',' or ']' after an element (a ',' is missing)");
    done(&p);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\"a\": 1,\n}");
    fails_at(&p, 1, 8, "a ',' before '}' is not allowed (trailing comma)");
    done(&p);
    parse(&p, "[1, 2, ]");
    fails_at(&p, 1, 6, "a ',' before ']' is not allowed (trailing comma)");
    done(&p);
    parse(&p, "{\"a\" 1}");
    fails_at(&p, 1, 6, "expected ':' after the key");
    done(&p);
    parse(&p, "{a: 1}");
    fails_at(&p, 1, 2, "unknown word");
    done(&p);
    parse(&p, "{1: 1}");
    fails_at(&p, 1, 2, "expected a key in double quotes or '}'");
    done(&p);
    parse(&p, "{'a': 1}");
    fails_at(&p, 1, 2, "strings need double quotes");
    done(&p);
    parse(&p, "{\"a\": }");
    fails_at(&p, 1, 7, "expected a value");
    done(&p);
    parse(&p, "[True]");
    fails_at(&p, 1, 2, "unknown word");
    done(&p);
    parse(&p, "[1 / 2]");
    fails_at(&p, 1, 4, "a '/' that does not start");
    done(&p);
    parse(&p, "{\n  \"a\": [1, 2\n}");
    fails_at(&p, 3, 1, "expected ',' or ']' after an element");
    done(&p);
    parse(&p, "{\n  \"a\": {\n    \"b\": 1\n");
    fails_at(&p, 4, 1, "the file ends before the object opened at line 2, column 8 is closed");
    done(&p);
    parse(&p, "[[1]");
    fails_at(&p, 1, 5, "the array opened at line 1, column 1");
    done(&p);
}

static void test_unterminated_block_comment(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\n  \"a\": 1, /* open\n  \"b\": 2\n}\n");
    fails_at(&p, 2, 11, "a /* comment is not closed");
    done(&p);
    parse(&p, "{\"a\": 1} /* trailing");  /* valid JSON before it: still an error */
    fails_at(&p, 1, 10, "a /* comment is not closed");
    done(&p);
    parse(&p, "{\"a\" 1, /* open");  /* an earlier problem is reported first */
    fails_at(&p, 1, 6, "expected ':' after the key");
    done(&p);
    parse(&p, "[\"/*\", 1] // /* in a line comment is nothing\n");
    assert_int_equal(p.rc, 0);
    done(&p);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "{\"a\": \"x\xFFy\"}");
    fails_at(&p, 1, 9, "not valid UTF-8 here (byte 0xFF)");
    done(&p);
    parse(&p, "{\n \"a\": \"\xC3\xA9\xC3\x28\"}");  /* a valid é, then a broken sequence */
    fails_at(&p, 2, 9, "byte 0xC3");
    done(&p);
    parse(&p, "[\"\xED\xA0\x80\"]");  /* an encoded surrogate */
    fails_at(&p, 1, 3, "not valid UTF-8");
    done(&p);
    parse(&p, "[1] // caf\xFF in a comment is blanked\n");
    assert_int_equal(p.rc, 0);
    done(&p);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    parsed p;
    static const char outside[] = "{\"a\": 1,\0 \"b\": 2}";
    parse_n(&p, outside, sizeof(outside) - 1, NULL);
    fails_at(&p, 1, 9, "unexpected control byte 0x00");
    assert_int_equal(p.err.off, 8);
    done(&p);
    static const char inside[] = "[\"a\0b\"]";
    parse_n(&p, inside, sizeof(inside) - 1, NULL);
    fails_at(&p, 1, 4, "control byte 0x00");
    done(&p);
    static const char after_number[] = "[1\0]";  /* jansson alone would accept it */
    parse_n(&p, after_number, sizeof(after_number) - 1, NULL);
    fails_at(&p, 1, 3, "unexpected control byte 0x00");
    done(&p);
    static const char after_word[] = "{\"a\": true\0, \"b\": x}";  /* NUL first */
    parse_n(&p, after_word, sizeof(after_word) - 1, NULL);
    fails_at(&p, 1, 11, "unexpected control byte 0x00");
    done(&p);
    static const char top[] = "2\0";
    parse_n(&p, top, sizeof(top) - 1, NULL);
    fails_at(&p, 1, 2, "unexpected control byte 0x00");
    done(&p);
    static const char only[] = "\0";
    parse_n(&p, only, 1, NULL);
    fails_at(&p, 1, 1, "unexpected control byte 0x00");
    done(&p);
}

static void test_empty(void **state)
{
    (void)state;
    parsed p;
    parse_n(&p, "", 0, NULL);
    fails_at(&p, 1, 1, "the file holds no JSON value");
    assert_null(p.doc->root);
    done(&p);
    parse(&p, " \n // only a comment\n /* and another */ \n");
    fails_at(&p, 1, 1, "the file holds no JSON value");
    done(&p);
}

/* ---- limits -------------------------------------------------------------------------- */

static void test_depth_limit(void **state)
{
    (void)state;
    parsed p;
    char *open = repeat('[', 300), *close = repeat(']', 300);
    char *text = malloc(601);
    assert_non_null(text);
    snprintf(text, 601, "%s%s", open, close);
    parse(&p, text);  /* valid for jansson (< 2048), too deep for us */
    fails_at(&p, 1, 257, "nesting deeper than 256 levels");
    assert_string_equal(p.err.msg, "nesting deeper than 256 levels");
    done(&p);

    snprintf(text, 601, "%.256s%.256s", open, close);  /* exactly the limit */
    parse(&p, text);
    assert_int_equal(p.rc, 0);
    const sa_node *n = p.doc->root;
    unsigned levels = 1;
    while (n->first) {
        n = n->first;
        levels++;
    }
    assert_int_equal(levels, 256);
    assert_int_equal(n->off, 255);
    done(&p);

    snprintf(text, 601, "%.300s x", open);  /* too deep and broken: depth comes first */
    parse(&p, text);
    fails_at(&p, 1, 257, "nesting deeper than 256 levels");
    done(&p);

    sa_limits lim = sa_limits_default;
    lim.max_depth = 3;
    parse_n(&p, "{\"a\": [{}, {\"b\": {}}]}", 22, &lim);
    fails_at(&p, 1, 18, "nesting deeper than 3 levels");
    done(&p);
    free(open);
    free(close);
    free(text);
}

static void test_deep_brackets_fast(void **state)
{
    (void)state;
    parsed p;
    char *text = repeat('[', 200000);
    clock_t t0 = clock();
    parse(&p, text);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    fails_at(&p, 1, 257, "nesting deeper than 256 levels");
    done(&p);

    sa_limits lim = sa_limits_default;  /* beyond jansson's own limit, its limit holds */
    lim.max_depth = 100000;
    parse_n(&p, text, 200000, &lim);
    fails_at(&p, 1, 2049, "nesting deeper than 2048 levels");
    done(&p);
    free(text);

    text = repeat('{', 200000);
    parse(&p, text);
    fails_at(&p, 1, 2, "expected a key in double quotes or '}'");
    done(&p);
    free(text);
    if (secs > 1.0)
        fail_msg("200,000 '[' took %.2f s", secs);
}

static void test_string_limit(void **state)
{
    (void)state;
    parsed p;
    sa_limits lim = sa_limits_default;
    lim.max_string = 4;
    const char *ok = "{\"abcd\": \"\\u00e9\\u00e9\", \"k\": 1234}";
    parse_n(&p, ok, strlen(ok), &lim);  /* decoded lengths count */
    assert_int_equal(p.rc, 0);
    done(&p);
    const char *s = "[\"abcd\", \"abcde\"]";
    parse_n(&p, s, strlen(s), &lim);
    fails_at(&p, 1, 10, "a string longer than 4 bytes");
    done(&p);
    const char *k = "{\"abcde\": 1}";
    parse_n(&p, k, strlen(k), &lim);
    fails_at(&p, 1, 2, "a key longer than 4 bytes");
    done(&p);
    const char *n = "[12345]";
    parse_n(&p, n, strlen(n), &lim);
    fails_at(&p, 1, 2, "a number longer than 4 bytes");
    done(&p);
}

static void test_node_budget(void **state)
{
    (void)state;
    parsed p;
    sa_limits lim = sa_limits_default;
    lim.max_nodes = 3;
    parse_n(&p, "[1, 2, 3]", 9, &lim);
    fails_at(&p, 1, 8, "more than 3 values");
    done(&p);
    parse_n(&p, "[1, 2]", 6, &lim);
    assert_int_equal(p.rc, 0);
    assert_int_equal(p.doc->nodes, 3);
    done(&p);

    lim.max_file_bytes = 5;
    parse_n(&p, "[1, 2]", 6, &lim);
    fails_at(&p, 1, 1, "the file is larger than 5 bytes");
    done(&p);
}

/* Fail each allocation in turn: every failure is a clean "out of memory" error. */
static void test_allocation_failures(void **state)
{
    (void)state;
    unsigned long nth_fail;
    int ok = 0;
    for (nth_fail = 1; nth_fail < 1000 && !ok; nth_fail++) {
        sa_doc *doc = sa_doc_new(orthanc, sizeof(orthanc) - 1, NULL);
        assert_non_null(doc);
        sa_perr err;
        sa_alloc_fail_at(nth_fail);
        int rc = sa_parse_json(doc, &err);
        sa_alloc_fail_at(0);
        if (rc == 0) {
            ok = 1;
            assert_int_equal(doc->root->count, 8);
        } else {
            assert_string_equal(err.msg, "out of memory while reading JSON");
        }
        sa_doc_free(doc);
    }
    assert_true(ok);
    assert_true(nth_fail > 3);  /* the copy, the arena, the key scratch at least */
}

/* Every error message: non-empty, no trailing period, no control bytes, an offset inside
 * the text. Every success: each node's offset points at the byte its type starts with. */
static void check_tree(const char *text, size_t len, const sa_node *n)
{
    for (; n; n = n->next) {
        assert_true(n->off < len);
        char c = text[n->off];
        switch (n->type) {
        case SA_MAP: assert_int_equal(c, '{'); break;
        case SA_LIST: assert_int_equal(c, '['); break;
        case SA_STR: assert_int_equal(c, '"'); break;
        case SA_NUM: assert_true(c == '-' || (c >= '0' && c <= '9')); break;
        case SA_BOOL: assert_true(c == 't' || c == 'f'); break;
        case SA_NULL: assert_int_equal(c, 'n'); break;
        }
        if (n->parent && n->parent->type == SA_MAP)
            assert_int_equal(text[n->key_off], '"');
        check_tree(text, len, n->first);
    }
}

static void check_result(const char *text, size_t len)
{
    sa_doc *doc = sa_doc_new(text, len, NULL);
    assert_non_null(doc);
    sa_perr err;
    if (sa_parse_json(doc, &err) == 0) {
        check_tree(text, len, doc->root);
    } else {
        size_t m = strlen(err.msg);
        assert_true(m > 0 && m < sizeof(err.msg) - 1);
        assert_true(err.msg[m - 1] != '.');
        for (size_t i = 0; i < m; i++)
            assert_true((unsigned char)err.msg[i] >= 0x20 && err.msg[i] != 0x7F);
        assert_true(err.off <= len);
    }
    sa_doc_free(doc);
}

static void test_mutations(void **state)
{
    (void)state;
    size_t len = sizeof(orthanc) - 1;
    char *buf = malloc(len);
    assert_non_null(buf);
    static const char alphabet[] = "{}[]:,\"\\/*\n \x00\x01\xC3\xA9\xFF" "0-e.tn";
    unsigned long seed = 12345;
    for (int round = 0; round < 3000; round++) {
        memcpy(buf, orthanc, len);
        int edits = 1 + round % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 6364136223846793005ul + 1442695040888963407ul;
            size_t pos = (size_t)(seed >> 33) % len;
            buf[pos] = alphabet[(seed >> 13) % (sizeof(alphabet) - 1)];
        }
        size_t cut = round % 7 == 0 ? (size_t)(seed >> 40) % len : len;
        check_result(buf, cut);
    }
    free(buf);
}

static int setup(void **state)
{
    (void)state;
    sa_json_init();
    sa_json_init();  /* twice is harmless */
    return 0;
}

/* The fast validator that spares most files jansson's decode must never accept what
 * jansson refuses, nor refuse on its own: over many mutations of valid JSON (grammar tokens,
 * escapes, surrogates, bad UTF-8, exponents, long numbers), the parse succeeds exactly when
 * jansson accepts the text. */
static void test_fast_path_agrees_with_jansson(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "{\"a\" : [1, -2.5, true, false, null, \"x\\u00e9\\n\"], \"b\" : {}}",
        "[ {\"k\":\"\\ud83d\\ude00\"}, 0, -0.0e+1, 123456789012345678901234567890 ]",
        "{\"\xc3\xa9\" : \"\xe2\x82\xac\xf0\x9f\x98\x80\", \"n\" : [[[[]]]]}",
        "\"top\"",
        "  7  ",
    };
    static const char *const pieces[] = {
        "{", "}", "[", "]", "\"", ":", ",", " ", "\n", "\\", "\\u", "\\u0000", "\\ud800",
        "\\udc00", "\\ud83d\\ude00", "0", "01", "-", ".", "e", "E+", "1e999", "true", "nul",
        "\xc3", "\xa9", "\xe2\x82\xac", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80",
        "\x01", "\x7f", "x", "\t", "\\q", "\\/",
    };
    unsigned long rng = 12345;
    char buf[512];
    int accepted = 0, refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        rng = rng * 6364136223846793005UL + 1442695040888963407UL;
        const char *seed = seeds[(rng >> 33) % (sizeof(seeds) / sizeof(seeds[0]))];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        int muts = (int)((rng >> 40) % 3);
        for (int m = 0; m < muts; m++) {
            rng = rng * 6364136223846793005UL + 1442695040888963407UL;
            const char *pc = pieces[(rng >> 33) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t pl = strlen(pc), at = (size_t)((rng >> 45) % (len + 1));
            size_t cut = (rng >> 20) % 2 && at < len ? 1 : 0;  /* replace a byte or insert */
            if (len - cut + pl >= sizeof(buf))
                break;
            memmove(buf + at + pl, buf + at + cut, len - at - cut);
            memcpy(buf + at, pc, pl);
            len = len - cut + pl;
        }
        json_error_t je;
        json_t *j = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL |
                                             JSON_DECODE_INT_AS_REAL, &je);
        parsed p;
        parse_n(&p, buf, len, NULL);
        if ((j != NULL) != (p.rc == 0))
            fail_msg("jansson %s but the parser %s: %.*s", j ? "accepts" : "refuses",
                     p.rc == 0 ? "accepts" : "refuses", (int)len, buf);
        if (j) {
            accepted++;
            json_decref(j);
        } else {
            refused++;
        }
        done(&p);
    }
    assert_true(accepted > 1000 && refused > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orthanc_config),
        cmocka_unit_test(test_fast_path_agrees_with_jansson),
        cmocka_unit_test(test_comment_lookalikes_in_strings),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_multibyte_column),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_numbers_and_scalars),
        cmocka_unit_test(test_top_level_scalar),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_missing_comma),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unterminated_block_comment),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_deep_brackets_fast),
        cmocka_unit_test(test_string_limit),
        cmocka_unit_test(test_node_budget),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
