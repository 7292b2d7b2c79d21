/* test_xml.c — unit tests of the hardened XML parser (src/parse/xml.c): the tree's shape,
 * exact positions (past libxml2's 65535-line ceiling and its buffer shrinking too),
 * refusals (entities, XXE, billion laughs, attribute defaults, over-wide start tags,
 * namespaces), limits, encodings, the place and wording of errors, and allocation failures
 * in secaudit and in libxml2. Expected positions are counted by hand from the texts, or
 * recorded while a text is generated, never taken from the parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlmemory.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secaudit/alloc.h"
#include "secaudit/doc.h"
#include "secaudit/limits.h"
#include "secaudit/parse.h"

/* ---- libxml2's allocator with a failure hook (installed before sa_xml_init) ------------- */

static unsigned long lx_fail_at, lx_count;
static int lx_failed;

static int lx_fail(void)
{
    if (lx_fail_at == 0 || ++lx_count != lx_fail_at)
        return 0;
    lx_failed = 1;
    return 1;
}

static void *lx_malloc(size_t n)
{
    return lx_fail() ? NULL : malloc(n);
}

static void *lx_realloc(void *p, size_t n)
{
    return lx_fail() ? NULL : realloc(p, n);
}

static char *lx_strdup(const char *s)
{
    return lx_fail() ? NULL : strdup(s);
}

static int group_setup(void **state)
{
    (void)state;
    /* after sa_xml_init, which routes libxml2 through sa_malloc: these hooks count
     * libxml2's own allocations only (sa_malloc is malloc, so blocks mix safely) */
    sa_xml_init();
    if (xmlMemSetup(free, lx_malloc, lx_realloc, lx_strdup) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sa_xml_cleanup();
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

typedef struct run {
    sa_doc *doc;
    int rc;
    sa_perr err;
    sa_linemap lm;
} run;

static void parse_lim(run *r, const char *text, size_t len, const sa_limits *lim)
{
    r->doc = sa_doc_new(text, len, lim ? lim : &sa_limits_default);
    assert_non_null(r->doc);
    assert_int_equal(sa_linemap_init(&r->lm, text, len), 0);
    r->rc = sa_parse_xml(r->doc, &r->err);
}

static void parse(run *r, const char *text)
{
    parse_lim(r, text, strlen(text), NULL);
}

static void finish_run(run *r)
{
    sa_linemap_free(&r->lm);
    sa_doc_free(r->doc);
}

static void check_at(const run *r, size_t off, unsigned line, unsigned col)
{
    unsigned l, c;
    sa_linemap_pos(&r->lm, off, &l, &c);
    if (l != line || c != col)
        fail_msg("offset %zu is at %u:%u, expected %u:%u", off, l, c, line, col);
}

/* A message fit for a user: not empty, printable, no trailing period. */
static void check_msg(const char *msg)
{
    size_t n = strlen(msg);
    assert_true(n > 0 && n < 256);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
            fail_msg("control byte in \"%s\"", msg);
    if (msg[n - 1] == '.' && !(n >= 3 && msg[n - 2] == '.' && msg[n - 3] == '.'))
        fail_msg("trailing period in \"%s\"", msg);
}

/* Refused by secaudit at a byte offset that is line:col, with exactly msg. */
static void refused_at(const run *r, unsigned line, unsigned col, const char *msg)
{
    assert_int_equal(r->rc, -1);
    assert_int_equal(r->err.has_linecol, 0);
    assert_string_equal(r->err.msg, msg);
    check_at(r, r->err.off, line, col);
    check_msg(r->err.msg);
}

/* Rejected by libxml2 at line:col (its own report), with exactly msg. */
static void lib_error_at(const run *r, unsigned line, unsigned col, const char *msg)
{
    assert_int_equal(r->rc, -1);
    assert_int_equal(r->err.has_linecol, 1);
    assert_string_equal(r->err.msg, msg);
    if (r->err.line != line || r->err.col != col)
        fail_msg("error at %u:%u, expected %u:%u", r->err.line, r->err.col, line, col);
    check_msg(r->err.msg);
}

static const sa_node *child(const sa_node *map, size_t i)
{
    assert_non_null(map);
    const sa_node *n = map->first;
    while (n != NULL && i-- > 0)
        n = n->next;
    assert_non_null(n);
    return n;
}

static const sa_node *member(const sa_node *map, const char *key)
{
    const sa_node *n = sa_map_get(map, key, strlen(key));
    if (n == NULL)
        fail_msg("no member \"%s\"", key);
    return n;
}

/* An element: a map named name with count members, its offsets at its '<' (line:col). */
static void is_elem(const run *r, const sa_node *n, const char *name, size_t count,
                    unsigned line, unsigned col)
{
    assert_int_equal(n->type, SA_MAP);
    assert_string_equal(n->key, name);
    assert_int_equal(n->key_len, strlen(name));
    assert_int_equal(n->count, count);
    assert_int_equal(n->key_off, n->off);
    assert_null(n->str);
    check_at(r, n->off, line, col);
    assert_int_equal(r->doc->text[n->off], '<');
}

/* An attribute "@name" = value: its name at kl:kc, its value (after the quote) at vl:vc. */
static void is_attr(const run *r, const sa_node *n, const char *key, const char *value,
                    unsigned kl, unsigned kc, unsigned vl, unsigned vc)
{
    assert_int_equal(n->type, SA_STR);
    assert_string_equal(n->key, key);
    assert_int_equal(n->len, strlen(value));
    assert_memory_equal(n->str, value, n->len + 1);
    assert_true(n->flags & SA_NODE_QUOTED);
    assert_int_equal(n->count, 0);
    check_at(r, n->key_off, kl, kc);
    check_at(r, n->off, vl, vc);
}

static void is_text(const run *r, const sa_node *n, const char *value, unsigned line,
                    unsigned col)
{
    assert_int_equal(n->type, SA_STR);
    assert_string_equal(n->key, "#text");
    assert_int_equal(n->len, strlen(value));
    assert_memory_equal(n->str, value, n->len + 1);
    assert_false(n->flags & SA_NODE_QUOTED);
    assert_int_equal(n->key_off, n->off);
    check_at(r, n->off, line, col);
}

static int contains(const char *s, size_t n, const char *needle)
{
    size_t l = strlen(needle);
    for (size_t i = 0; l <= n && i <= n - l; i++)
        if (memcmp(s + i, needle, l) == 0)
            return 1;
    return 0;
}

/* needle occurs in no key and no scalar of the tree below n (iterative walk). */
static void nowhere(const sa_node *n, const char *needle)
{
    const sa_node *top = n;
    while (n != NULL) {
        if (n->str && contains(n->str, n->len, needle))
            fail_msg("\"%s\" found in a value", needle);
        if (n->key && strstr(n->key, needle))
            fail_msg("\"%s\" found in a key", needle);
        if (n->first) {
            n = n->first;
            continue;
        }
        while (n != NULL && n != top && n->next == NULL)
            n = n->parent;
        n = n == NULL || n == top ? NULL : n->next;
    }
}

static double since(clock_t t0)
{
    return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* A growable text for generated documents. */
typedef struct gen {
    char *s;
    size_t len, cap;
} gen;

__attribute__((format(printf, 2, 3))) static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int w = vsnprintf(g->s ? g->s + g->len : NULL, g->s ? g->cap - g->len : 0, fmt, ap);
        va_end(ap);
        assert_true(w >= 0);
        if (g->s && (size_t)w < g->cap - g->len) {
            g->len += (size_t)w;
            return;
        }
        g->cap = (g->cap + (size_t)w + 1) * 2;
        g->s = realloc(g->s, g->cap);
        assert_non_null(g->s);
    }
}

/* ---- tree shape and positions ----------------------------------------------------------- */

static const char omero[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                       /* 1 */
    "<icegrid>\n"                                                        /* 2 */
    "  <properties id=\"__ACTIVE__\">\n"                                 /* 3 */
    "    <property name=\"omero.db.pass\" value=\"secret\"/>\n"          /* 4 */
    "    <property name=\"omero.db.user\"   value=\"omero\" />\n"        /* 5 */
    "  </properties>\n"                                                  /* 6 */
    "  <!-- the profile OMERO falls back to -->\n"                       /* 7 */
    "  <properties id=\"default\">\n"                                    /* 8 */
    "\t<property name=\"omero.data.dir\" value=\"/OMERO\"/>\n"           /* 9 */
    "    <?ignored processing instruction?>\n"                           /* 10 */
    "  </properties>\n"                                                  /* 11 */
    "</icegrid>\n";                                                      /* 12 */

static void test_omero_config(void **state)
{
    (void)state;
    run r;
    parse(&r, omero);
    assert_int_equal(r.rc, 0);
    const sa_node *root = r.doc->root;
    assert_int_equal(root->type, SA_MAP);
    assert_null(root->key);
    assert_int_equal(root->off, 0);
    assert_int_equal(root->count, 1);
    assert_null(root->parent);

    const sa_node *grid = root->first;
    is_elem(&r, grid, "icegrid", 2, 2, 1);
    assert_int_equal(grid->off, 39);  /* 38 bytes of declaration and its newline */
    assert_ptr_equal(grid->parent, root);

    const sa_node *active = child(grid, 0), *deflt = child(grid, 1);
    is_elem(&r, active, "properties", 3, 3, 3);
    is_elem(&r, deflt, "properties", 2, 8, 3);
    assert_true(active->flags & SA_NODE_DUP);  /* a later member has the same key */
    assert_false(deflt->flags & SA_NODE_DUP);
    assert_ptr_equal(member(grid, "properties"), deflt);
    is_attr(&r, child(active, 0), "@id", "__ACTIVE__", 3, 15, 3, 19);
    is_attr(&r, child(deflt, 0), "@id", "default", 8, 15, 8, 19);

    const sa_node *pass = child(active, 1), *user = child(active, 2);
    is_elem(&r, pass, "property", 2, 4, 5);
    is_attr(&r, child(pass, 0), "@name", "omero.db.pass", 4, 15, 4, 21);
    is_attr(&r, child(pass, 1), "@value", "secret", 4, 36, 4, 43);
    is_elem(&r, user, "property", 2, 5, 5);
    is_attr(&r, child(user, 0), "@name", "omero.db.user", 5, 15, 5, 21);
    is_attr(&r, child(user, 1), "@value", "omero", 5, 38, 5, 45);
    assert_true(pass->flags & SA_NODE_DUP);
    assert_false(user->flags & SA_NODE_DUP);
    /* the key offset is the name's first byte, the value's the byte after its quote */
    assert_memory_equal(omero + child(pass, 1)->key_off, "value=\"secret", 13);
    assert_memory_equal(omero + child(pass, 1)->off, "secret\"", 7);

    /* a tab is one column; comments and processing instructions are not members */
    const sa_node *dir = child(deflt, 1);
    is_elem(&r, dir, "property", 2, 9, 2);
    is_attr(&r, member(dir, "@name"), "@name", "omero.data.dir", 9, 12, 9, 18);
    is_attr(&r, member(dir, "@value"), "@value", "/OMERO", 9, 34, 9, 41);

    char path[128];
    assert_int_equal(sa_node_path(child(pass, 1), root, path, sizeof(path)), 0);
    assert_string_equal(path, "icegrid.properties.property.@value");
    finish_run(&r);
}

static void test_attribute_values(void **state)
{
    (void)state;
    static const char text[] =
        "<r>\n"                                                              /* 1 */
        "  <a v=\"R&amp;D &#x41;&#66;&lt;&gt;&quot;&apos;&#xE9;\"/>\n"       /* 2 */
        "  <b v='it \"is\"' w = 'two'/>\n"                                   /* 3 */
        "  <c\n"                                                             /* 4 */
        "     first=\"1\"\n"                                                 /* 5 */
        "     second =\n"                                                    /* 6 */
        "       \"2\"/>\n"                                                   /* 7 */
        "  <d v=\"x\n"                                                       /* 8 */
        "y\" e=\"\" f='&#38;amp;'/>\n"                                       /* 9 */
        "</r>\n";
    run r;
    parse(&r, text);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 4, 1, 1);
    const sa_node *a = child(top, 0), *b = child(top, 1), *c = child(top, 2),
                  *d = child(top, 3);
    is_elem(&r, a, "a", 1, 2, 3);
    /* references resolved: &amp; &#x41; &#66; the other predefined ones, and é */
    is_attr(&r, child(a, 0), "@v", "R&D AB<>\"'\xC3\xA9", 2, 6, 2, 9);
    is_attr(&r, child(b, 0), "@v", "it \"is\"", 3, 6, 3, 9);
    is_attr(&r, child(b, 1), "@w", "two", 3, 18, 3, 23);  /* blanks around '=' */
    is_elem(&r, c, "c", 2, 4, 3);
    is_attr(&r, child(c, 0), "@first", "1", 5, 6, 5, 13);
    is_attr(&r, child(c, 1), "@second", "2", 6, 6, 7, 9);
    /* a newline in a value reads as a space (XML 1.0, 3.3.3); &#38;amp; is "&amp;" */
    is_elem(&r, d, "d", 3, 8, 3);
    is_attr(&r, child(d, 0), "@v", "x y", 8, 6, 8, 9);
    is_attr(&r, child(d, 1), "@e", "", 9, 4, 9, 7);
    is_attr(&r, child(d, 2), "@f", "&amp;", 9, 9, 9, 12);
    finish_run(&r);
}

static void test_text(void **state)
{
    (void)state;
    static const char text[] =
        "<r>\n"                                                   /* 1 */
        "  <a>  hello  </a>\n"                                    /* 2 */
        "  <b>  \n   </b>\n"                                      /* 3, 4 */
        "  <c><![CDATA[ <x>&amp;]]></c>\n"                        /* 5 */
        "  <d k=\"v>\"><!-- first --><?pi?>one<e/>two<![CDATA[!]]></d>\n" /* 6 */
        "  <f>&#32;&#x9;&#10;<g/>\n"                              /* 7 */
        "    late</f>\n"                                          /* 8 */
        "  <h>&#x20;&lt;</h>\n"                                   /* 9 */
        "  <i><![CDATA[  ]]>\n"                                   /* 10 */
        "   <!-- x -->&#65;</i>\n"                                /* 11 */
        "</r>\n";
    run r;
    parse(&r, text);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    /* blanks between r's children are not text */
    is_elem(&r, top, "r", 7, 1, 1);
    /* kept as written, placed at the first character that is not blank */
    const sa_node *a = child(top, 0);
    is_elem(&r, a, "a", 1, 2, 3);
    is_text(&r, a->first, "  hello  ", 2, 8);
    is_elem(&r, child(top, 1), "b", 0, 3, 3);
    /* CDATA is literal; its place is its own first character that is not blank */
    is_text(&r, child(top, 2)->first, " <x>&amp;", 5, 16);
    /* pieces around a child are joined; '>' inside a value does not end the start tag;
     * members in document order */
    const sa_node *d = child(top, 3);
    is_elem(&r, d, "d", 3, 6, 3);
    is_attr(&r, child(d, 0), "@k", "v>", 6, 6, 6, 9);
    is_text(&r, child(d, 1), "onetwo!", 6, 33);
    is_elem(&r, child(d, 2), "e", 0, 6, 36);
    /* character references to blanks are blanks; the text comes after the child */
    const sa_node *f = child(top, 4);
    is_elem(&r, f, "f", 2, 7, 3);
    is_elem(&r, child(f, 0), "g", 0, 7, 21);
    is_text(&r, child(f, 1), " \t\n\n    late", 8, 5);
    /* a reference that is not blank is where the text starts */
    is_text(&r, child(top, 5)->first, " <", 9, 12);
    is_text(&r, child(top, 6)->first, "  \n   A", 11, 14);
    finish_run(&r);
}

static void test_namespaces(void **state)
{
    (void)state;
    static const char text[] =
        "<r xmlns=\"urn:d\" xmlns:n=\"urn:n\">\n"                        /* 1 */
        "  <n:el n:at=\"v\" plain=\"p\" xmlns:q=\"urn:q\" q:b=\"2\"/>\n" /* 2 */
        "  <u:el u:a=\"1\"/>\n"                                          /* 3 */
        "  <x xml:lang=\"en\"/>\n"                                       /* 4 */
        "</r>\n";
    run r;
    parse(&r, text);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 3, 1, 1);  /* namespace declarations are not attributes */
    const sa_node *el = child(top, 0);
    is_elem(&r, el, "n:el", 3, 2, 3);
    is_attr(&r, child(el, 0), "@n:at", "v", 2, 9, 2, 15);
    is_attr(&r, child(el, 1), "@plain", "p", 2, 18, 2, 25);
    is_attr(&r, child(el, 2), "@q:b", "2", 2, 44, 2, 49);
    /* an undeclared prefix is kept as written */
    is_elem(&r, child(top, 1), "u:el", 1, 3, 3);
    is_attr(&r, child(top, 1)->first, "@u:a", "1", 3, 9, 3, 14);
    is_attr(&r, child(top, 2)->first, "@xml:lang", "en", 4, 6, 4, 16);
    finish_run(&r);
}

/* Every element, attribute and text of a 1.5 MB document is exactly where it was written:
 * the parser's position survives libxml2 shrinking its buffer near the end. */
static void test_positions_large(void **state)
{
    (void)state;
    enum { N = 30000 };
    size_t *el = malloc(N * sizeof(size_t)), *key = malloc(N * sizeof(size_t)),
           *val = malloc(N * sizeof(size_t)), *txt = malloc(N * sizeof(size_t));
    assert_true(el && key && val && txt);
    gen g = {0};
    put(&g, "<?xml version=\"1.0\"?>\n<r>\n");
    for (int i = 0; i < N; i++) {
        if (i % 7 == 0)
            put(&g, "  <!-- comment %d with <tags> & such -->\r\n", i);
        if (i % 11 == 0)
            put(&g, "<?pi %d?>", i);
        put(&g, "%*s", i % 5, "");
        el[i] = g.len;
        put(&g, "<e%d\n   ", i % 3);
        key[i] = g.len;
        put(&g, "k%d = '", i);
        val[i] = g.len;
        put(&g, "\xC3\xA9%d'", i);
        if (i % 4 == 0) {
            put(&g, "/>");
            txt[i] = SIZE_MAX;
        } else if (i % 4 == 1) {
            put(&g, ">");
            txt[i] = g.len;
            put(&g, "t%d</e%d>", i, i % 3);
        } else if (i % 4 == 2) {
            put(&g, "> <x/> ");
            txt[i] = g.len + 9;
            put(&g, "<![CDATA[\xE2\x82\xAC%d]]></e%d  >", i, i % 3);
        } else {
            put(&g, ">\n ");
            txt[i] = g.len;
            put(&g, "&amp;%d<!-- -->\n</e%d>", i, i % 3);
        }
        put(&g, "\n");
    }
    put(&g, "</r>\n");
    assert_true(g.len > 1500000);
    run r;
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    assert_int_equal(top->count, N);
    int i = 0;
    for (const sa_node *e = top->first; e; e = e->next, i++) {
        char name[8], k[16];
        snprintf(name, sizeof(name), "e%d", i % 3);
        snprintf(k, sizeof(k), "@k%d", i);
        assert_string_equal(e->key, name);
        assert_int_equal(e->off, el[i]);
        const sa_node *a = e->first;
        assert_string_equal(a->key, k);
        assert_int_equal(a->key_off, key[i]);
        assert_int_equal(a->off, val[i]);
        if (txt[i] == SIZE_MAX) {
            assert_int_equal(e->count, 1);
        } else {
            const sa_node *t = member(e, "#text");
            assert_int_equal(t->off, txt[i]);
            assert_int_equal(e->count, i % 4 == 2 ? 3 : 2);
        }
    }
    assert_int_equal(i, N);
    finish_run(&r);
    free(g.s);
    free(el);
    free(key);
    free(val);
    free(txt);
}

/* Lines past 65535, where libxml2's xmlNode.line saturates. */
static void test_big_line_numbers(void **state)
{
    (void)state;
    gen g = {0};
    put(&g, "<r>\n");
    for (unsigned line = 2; line < 100003; line++) {
        if (line == 70000)
            put(&g, "  <a x=\"1\"/>\n");
        else if (line == 100000)
            put(&g, "\t<b  y=\"2\">t</b>\n");
        else
            put(&g, "<!-- %u -->\n", line);
    }
    put(&g, "</r>\n");  /* line 100003 */
    run r;
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 2, 1, 1);
    const sa_node *a = child(top, 0), *b = child(top, 1);
    is_elem(&r, a, "a", 1, 70000, 3);
    is_attr(&r, a->first, "@x", "1", 70000, 6, 70000, 9);
    is_elem(&r, b, "b", 2, 100000, 2);
    is_attr(&r, b->first, "@y", "2", 100000, 6, 100000, 9);
    is_text(&r, child(b, 1), "t", 100000, 12);
    finish_run(&r);

    /* libxml2's own error lines do not saturate either (XML_PARSE_BIG_LINES) */
    memcpy(strstr(g.s, "\t<b  y=\"2\">t</b>"), "\t<b  y=\"2\">t</c>", 16);
    parse_lim(&r, g.s, g.len, NULL);
    lib_error_at(&r, 100000, 17, "Opening and ending tag mismatch: b line 100000 and c");
    finish_run(&r);
    free(g.s);
}

static void test_crlf(void **state)
{
    (void)state;
    run r;
    parse(&r, "<r>\r\n  <a b=\"1\"\r\n     c=\"2\">\r\nx\r\ny</a>\r\n</r>\r\n");
    assert_int_equal(r.rc, 0);
    const sa_node *a = r.doc->root->first->first;
    is_elem(&r, a, "a", 3, 2, 3);
    is_attr(&r, child(a, 0), "@b", "1", 2, 6, 2, 9);
    is_attr(&r, child(a, 1), "@c", "2", 3, 6, 3, 9);
    is_text(&r, child(a, 2), "\nx\ny", 4, 1);  /* XML reads CRLF as LF */
    finish_run(&r);

    parse(&r, "<r>\r\n<a>\r\n</b>");
    lib_error_at(&r, 3, 5, "Opening and ending tag mismatch: a line 2 and b");
    finish_run(&r);
}

static void test_bom(void **state)
{
    (void)state;
    run r;
    parse(&r, "\xEF\xBB\xBF<r a=\"1\"/>");
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    assert_int_equal(top->off, 3);  /* the offset counts the BOM's bytes ... */
    is_elem(&r, top, "r", 1, 1, 1); /* ... the column does not */
    assert_int_equal(top->first->key_off, 6);
    is_attr(&r, top->first, "@a", "1", 1, 4, 1, 7);
    finish_run(&r);

    parse(&r, "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<r>\n <s t='u'/></r>");
    assert_int_equal(r.rc, 0);
    top = r.doc->root->first;
    is_elem(&r, top, "r", 1, 2, 1);
    is_attr(&r, top->first->first, "@t", "u", 3, 5, 3, 8);
    finish_run(&r);

    parse(&r, "\xEF\xBB\xBF<r>");  /* libxml2 does not count the BOM either */
    lib_error_at(&r, 1, 4, "Premature end of data in tag r line 1");
    finish_run(&r);
}

static void test_multibyte_columns(void **state)
{
    (void)state;
    static const char text[] =
        "<r>\n"
        /* <a t="éé" é="中" b="1"/> */
        "<a t=\"\xC3\xA9\xC3\xA9\" \xC3\xA9=\"\xE4\xB8\xAD\" b=\"1\"/>\n"
        /* <él x="y"/>🔑<k v=""/></r> */
        "<\xC3\xA9l x=\"y\"/>\xF0\x9F\x94\x91<k v=\"\"/></r>";
    run r;
    parse(&r, text);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 4, 1, 1);
    const sa_node *a = child(top, 0);
    is_elem(&r, a, "a", 3, 2, 1);
    is_attr(&r, child(a, 0), "@t", "\xC3\xA9\xC3\xA9", 2, 4, 2, 7);
    is_attr(&r, child(a, 1), "@\xC3\xA9", "\xE4\xB8\xAD", 2, 11, 2, 14);
    is_attr(&r, child(a, 2), "@b", "1", 2, 17, 2, 20);
    assert_int_equal(child(a, 2)->key_off - a->off, 21);  /* bytes, not columns */
    is_elem(&r, child(top, 1), "\xC3\xA9l", 1, 3, 1);
    is_attr(&r, child(top, 1)->first, "@x", "y", 3, 5, 3, 8);
    is_text(&r, child(top, 2), "\n\n\xF0\x9F\x94\x91", 3, 12);
    is_elem(&r, child(top, 3), "k", 1, 3, 13);
    is_attr(&r, child(top, 3)->first, "@v", "", 3, 16, 3, 19);
    finish_run(&r);
}

/* ---- entities and external resources ---------------------------------------------------- */

static void test_xxe_refused(void **state)
{
    (void)state;
    run r;
    parse(&r, "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>");
    refused_at(&r, 1, 14, "document declares entity x; entities are refused");
    assert_null(r.doc->root);  /* refused before any tree is made: nothing of the file */
    assert_int_equal(r.doc->nodes, 0);
    assert_null(strstr(r.err.msg, "root:"));
    finish_run(&r);

    /* the place skips "<!ENTITY" in comments, processing instructions and literals */
    static const char text[] =
        "<?xml version=\"1.0\"?>\n"                          /* 1 */
        "<!-- <!ENTITY in a comment -->\n"                   /* 2 */
        "<!DOCTYPE r [\n"                                    /* 3 */
        "  <?pi <!ENTITY in a PI ?>\n"                       /* 4 */
        "  <!NOTATION n SYSTEM \"<!ENTITY in a literal\">\n" /* 5 */
        "  <!ELEMENT r (#PCDATA)>\n"                         /* 6 */
        "  <!ENTITY x SYSTEM \"file:///etc/passwd\">\n"      /* 7 */
        "]>\n"
        "<r a=\"&x;\">&x;</r>\n";
    parse(&r, text);
    refused_at(&r, 7, 3, "document declares entity x; entities are refused");
    assert_null(r.doc->root);
    finish_run(&r);

    /* internal, parameter and unparsed entities alike: nothing is ever expanded */
    parse(&r, "<!DOCTYPE r [\n<!ENTITY greeting \"expanded\">\n]>\n<r>&greeting;</r>");
    refused_at(&r, 2, 1, "document declares entity greeting; entities are refused");
    finish_run(&r);
    parse(&r, "<!DOCTYPE r [\n  <!ENTITY % p SYSTEM \"file:///etc/passwd\">\n  %p;\n]>\n<r/>");
    refused_at(&r, 2, 3, "document declares entity p; entities are refused");
    finish_run(&r);
    parse(&r, "<!DOCTYPE r [\n<!NOTATION n SYSTEM \"v\">\n"
              "<!ENTITY pic SYSTEM \"file:///etc/passwd\" NDATA n>\n]>\n<r/>");
    refused_at(&r, 3, 1, "document declares entity pic; entities are refused");
    finish_run(&r);

    /* a long name is not echoed whole */
    char big[400], want[128];
    char name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(big, sizeof(big), "<!DOCTYPE r [<!ENTITY %s \"v\">]><r/>", name);
    snprintf(want, sizeof(want), "document declares entity %.40s; entities are refused", name);
    parse(&r, big);
    refused_at(&r, 1, 14, want);
    finish_run(&r);
}

/* References to entities that are not declared here (an external DTD would declare them) are
 * refused, not dropped from the value. */
static void test_undeclared_entity_refused(void **state)
{
    (void)state;
    run r;
    parse(&r, "<!DOCTYPE r SYSTEM \"r.dtd\">\n<r>\n  <p name=\"pass\" value=\"&secret;\"/>\n</r>");
    refused_at(&r, 3, 25, "document refers to entity secret; entities are refused");
    finish_run(&r);
    parse(&r, "<r>\n  pre &ext; post</r>");
    refused_at(&r, 2, 7, "document refers to entity ext; entities are refused");
    finish_run(&r);
    parse(&r, "<!DOCTYPE r SYSTEM \"x.dtd\" [\n  %pe;\n]>\n<r/>");
    refused_at(&r, 2, 3, "document refers to entity pe; entities are refused");
    finish_run(&r);
}

static int loads;

static xmlParserInputPtr counting_loader(const char *url, const char *id,
                                         xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    loads++;
    return NULL;
}

/* Nothing outside the document is ever read: the external subset is not loaded, the
 * loader sa_xml_init installs refuses everything, and the parse never even asks. */
static void test_nothing_loaded(void **state)
{
    (void)state;
    char dtd[] = "/tmp/secaudit_test_xml_XXXXXX";
    int fd = mkstemp(dtd);
    assert_true(fd >= 0);
    static const char decls[] = "<!ENTITY x \"LEAKED\">\n<!ATTLIST r d CDATA \"DEFAULTED\">\n";
    assert_int_equal(write(fd, decls, sizeof(decls) - 1), (ssize_t)(sizeof(decls) - 1));
    close(fd);

    /* the installed loader refuses a file libxml2's default loader would open */
    xmlExternalEntityLoader installed = xmlGetExternalEntityLoader();
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    assert_non_null(ctxt);
    assert_null(installed(dtd, NULL, ctxt));
    xmlParserInputPtr in = xmlNoNetExternalEntityLoader(dtd, NULL, ctxt);
    assert_non_null(in);  /* so the assertion above can fail */
    xmlFreeInputStream(in);
    xmlFreeParserCtxt(ctxt);

    xmlSetExternalEntityLoader(counting_loader);
    loads = 0;
    run r;
    parse(&r, "<!DOCTYPE r SYSTEM \"file:///etc/passwd\"><r/>");
    assert_int_equal(r.rc, 0);
    is_elem(&r, r.doc->root->first, "r", 0, 1, 41);
    nowhere(r.doc->root, "root");
    finish_run(&r);

    char text[256];
    snprintf(text, sizeof(text), "<!DOCTYPE r SYSTEM \"%s\">\n<r a=\"1\"/>", dtd);
    parse(&r, text);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 1, 2, 1);  /* no defaulted attribute "d" */
    is_attr(&r, top->first, "@a", "1", 2, 4, 2, 7);
    nowhere(r.doc->root, "DEFAULTED");
    finish_run(&r);

    snprintf(text, sizeof(text), "<!DOCTYPE r SYSTEM \"file://%s\">\n<r>v=&x;</r>", dtd);
    parse(&r, text);
    refused_at(&r, 2, 6, "document refers to entity x; entities are refused");
    assert_null(r.doc->root);
    finish_run(&r);

    parse(&r, "<!DOCTYPE r PUBLIC \"-//X//DTD//EN\" \"http://127.0.0.1:1/r.dtd\"><r/>");
    assert_int_equal(r.rc, 0);
    finish_run(&r);
    assert_int_equal(loads, 0);
    xmlSetExternalEntityLoader(installed);
    unlink(dtd);
}

static void test_billion_laughs(void **state)
{
    (void)state;
    gen g = {0};
    put(&g, "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
    for (int i = 1; i <= 9; i++) {
        put(&g, " <!ENTITY lol%d \"", i);
        for (int k = 0; k < 10; k++)
            put(&g, i == 1 ? "&lol;" : "&lol%d;", i - 1);
        put(&g, "\">\n");
    }
    put(&g, "]>\n<lolz>&lol9;</lolz>\n");
    clock_t t0 = clock();
    run r;
    parse_lim(&r, g.s, g.len, NULL);
    assert_true(since(t0) < 0.5);
    refused_at(&r, 3, 2, "document declares entity lol; entities are refused");
    assert_true(r.doc->nodes < 2);
    finish_run(&r);
    free(g.s);
}

/* An attribute default in the DTD would be seen by other readers (expat applies them) but
 * is not in our tree: refused. Declarations without one are kept to a small number. */
static void test_attribute_declarations(void **state)
{
    (void)state;
    run r;
    parse(&r, "<!DOCTYPE r [<!ATTLIST r d CDATA \"DEFAULTED\">]>\n<r a=\"1\"/>");
    refused_at(&r, 1, 35, "document declares a default for attribute d; attribute defaults "
                          "are refused");
    finish_run(&r);
    parse(&r, "<!DOCTYPE r [\n<!ATTLIST r\n  a CDATA #IMPLIED\n  v CDATA #FIXED 'x' >\n]><r/>");
    refused_at(&r, 4, 19, "document declares a default for attribute v; attribute defaults "
                          "are refused");
    finish_run(&r);

    gen g = {0};
    put(&g, "<!DOCTYPE r [\n<!ATTLIST r\n");
    for (int i = 0; i < 256; i++)
        put(&g, " a%d CDATA #IMPLIED\n", i);
    put(&g, ">\n]>\n<r a0=\"0\"/>");
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, 0);
    is_attr(&r, r.doc->root->first->first, "@a0", "0", 261, 4, 261, 8);
    finish_run(&r);
    g.len = 0;
    put(&g, "<!DOCTYPE r [\n<!ATTLIST r\n");
    for (int i = 0; i < 257; i++)
        put(&g, " a%d ID #IMPLIED\n", i);
    put(&g, ">\n]>\n<r/>");
    parse_lim(&r, g.s, g.len, NULL);
    refused_at(&r, 259, 18, "DTD declares more than 256 attributes");
    finish_run(&r);
    free(g.s);
}

/* ---- work and limits -------------------------------------------------------------------- */

static void test_deep_nesting(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *s = malloc((size_t)N * 7);
    assert_non_null(s);
    for (size_t i = 0; i < N; i++)
        memcpy(s + 3 * i, "<a>", 3);
    for (size_t i = 0; i < N; i++)
        memcpy(s + 3 * (size_t)N + 4 * i, "</a>", 4);
    clock_t t0 = clock();
    run r;
    parse_lim(&r, s, (size_t)N * 7, NULL);
    assert_true(since(t0) < 2.0);
    /* libxml2 stops at its own limit first: the 258th start tag, at byte 3 * 257 */
    lib_error_at(&r, 1, 772, "Excessive depth in document: 256");
    finish_run(&r);
    free(s);

    /* the doc's own limit, without recursion */
    gen g = {0};
    for (int i = 0; i < 20; i++)
        put(&g, "<a>\n");
    for (int i = 0; i < 20; i++)
        put(&g, "</a>");
    sa_limits lim = sa_limits_default;
    lim.max_depth = 10;
    parse_lim(&r, g.s, g.len, &lim);
    refused_at(&r, 11, 1, "nesting deeper than 10 levels");
    finish_run(&r);
    lim.max_depth = 20;
    parse_lim(&r, g.s, g.len, &lim);
    assert_int_equal(r.rc, 0);
    const sa_node *n = r.doc->root;
    for (unsigned i = 1; i <= 20; i++) {
        n = n->first;
        is_elem(&r, n, "a", i < 20, i, 1);
    }
    finish_run(&r);
    free(g.s);
}

static void test_limits(void **state)
{
    (void)state;
    static const char three[] = "<r><a x=\"1\"/><b/><c/></r>";
    sa_limits lim = sa_limits_default;
    lim.max_nodes = 5;  /* the root, r, a, @x, b: c is one too many (while parsing) */
    run r;
    parse_lim(&r, three, strlen(three), &lim);
    refused_at(&r, 1, 18, "document has too many nodes");
    finish_run(&r);
    lim.max_nodes = 6;
    parse_lim(&r, three, strlen(three), &lim);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.doc->nodes, 6);
    finish_run(&r);
    /* text nodes count too (while converting) */
    lim.max_nodes = 5;
    parse_lim(&r, "<r><a>t</a><b/><c/></r>", 23, &lim);
    refused_at(&r, 1, 16, "document has too many nodes");
    finish_run(&r);

    lim = sa_limits_default;
    lim.max_string = 8;
    static const char *const texts[] = {
        "<r>\n<a v=\"12345678\"/><b v=\"123456789\"/></r>",
        "<r>\n  <t>12345678</t><u> 123456789</u></r>",
        "<r>\n<abcdefgh/><abcdefghi/></r>",
        "<r>\n<a bcdefgh='' bcdefghi=''/></r>",
    };
    static const unsigned cols[] = {24, 22, 12, 15};
    static const char *const msgs[] = {"attribute value too long", "text too long",
                                       "element name too long", "attribute name too long"};
    for (size_t i = 0; i < 4; i++) {
        parse_lim(&r, texts[i], strlen(texts[i]), &lim);
        refused_at(&r, 2, cols[i], msgs[i]);
        finish_run(&r);
    }
}

/* libxml2 2.9 checks a start tag's attributes for duplicates pairwise: a tag with a million
 * of them would take hours. Wider tags than 1024 attributes are refused before it looks. */
static void test_wide_start_tags(void **state)
{
    (void)state;
    gen g = {0};
    put(&g, "<r>\n<e");
    for (int i = 0; i < 1024; i++)
        put(&g, " a%d='%d'", i, i);
    put(&g, "/></r>");
    run r;
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.doc->root->first->first->count, 1024);
    finish_run(&r);

    g.len = 0;
    put(&g, "<r>\n<!-- a=b --><e x='>'");  /* '=' counted from every '<', quotes kept apart */
    for (int i = 0; i < 1024; i++)
        put(&g, " a%d='='", i);
    put(&g, "/></r>");
    parse_lim(&r, g.s, g.len, NULL);
    refused_at(&r, 2, 13, "start tag with more than 1024 attributes");
    finish_run(&r);

    /* half a million attributes: refused at once */
    g.len = 0;
    put(&g, "<r");
    for (int i = 0; i < 500000; i++)
        put(&g, " a%d=''", i);
    put(&g, "/>");
    clock_t t0 = clock();
    parse_lim(&r, g.s, g.len, NULL);
    assert_true(since(t0) < 1.0);
    refused_at(&r, 1, 1, "start tag with more than 1024 attributes");
    finish_run(&r);
    free(g.s);
}

/* Every element looks its namespace up through all those in scope: their number is bounded,
 * and libxml2 is stopped at its first fatal error rather than parsing on unmeasured. */
static void test_namespace_scope(void **state)
{
    (void)state;
    gen g = {0};
    put(&g, "<r");
    for (int i = 0; i < 200; i++)
        put(&g, " xmlns:p%d='urn:%d'", i, i);
    put(&g, ">\n <a");
    for (int i = 0; i < 56; i++)
        put(&g, " xmlns:q%d='urn:%d'", i, i);
    put(&g, ">\n  <b xmlns:z='urn:z'/></a></r>");
    run r;
    parse_lim(&r, g.s, g.len, NULL);
    refused_at(&r, 3, 3, "more than 256 namespace declarations in scope");
    finish_run(&r);

    /* after a fatal error: 200 levels of 200 namespaces each, then 300,000 elements that
     * would each be looked up through 40,000 of them */
    g.len = 0;
    put(&g, "<r>\n<x a='1' a='2'/>\n");
    for (int d = 0; d < 200; d++) {
        put(&g, "<n");
        for (int i = 0; i < 200; i++)
            put(&g, " xmlns:p%d='urn:%d:%d'", i, d, i);
        put(&g, ">");
    }
    for (int i = 0; i < 300000; i++)
        put(&g, "<e/>");
    clock_t t0 = clock();
    parse_lim(&r, g.s, g.len, NULL);
    assert_true(since(t0) < 2.0);
    lib_error_at(&r, 2, 15, "Attribute a redefined");
    finish_run(&r);
    free(g.s);
}

/* libxml2's own size limits (without XML_PARSE_HUGE, which is never set) are reported in
 * words a user can act on, at libxml2's position: inside the text, inside the last tag. */
static void test_libxml2_size_limits(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_string = 64u << 20;
    size_t cap = 11u << 20, o = 3;
    char *s = malloc(cap);
    assert_non_null(s);
    memcpy(s, "<r>", 3);
    while (o < 10200000) {
        memcpy(s + o, "\xC3\xA9", 2);  /* 5,100,000 characters of text */
        o += 2;
    }
    memcpy(s + o, "</r>", 4);
    run r;
    parse_lim(&r, s, o + 4, &lim);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err.msg, "text longer than libxml2's limit of 10000000 bytes");
    assert_int_equal(r.err.has_linecol, 1);
    assert_int_equal(r.err.line, 1);
    assert_true(r.err.col > 4 + 5000000 && r.err.col <= 4 + 5100000);
    finish_run(&r);

    /* Debian's 2.9.14 gives up on a long last start tag 10 MB into its input */
    o = 3;
    while (o < 10100000) {
        memset(s + o, 'x', 1000);
        memcpy(s + o + 1000, "<!---->", 7);
        o += 1007;
    }
    size_t tag = o;
    o += (size_t)snprintf(s + o, cap - o, "<b");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(s + o, cap - o, " a%d=''", i);
    o += (size_t)snprintf(s + o, cap - o, "/></r>");
    parse_lim(&r, s, o, &lim);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err.msg, "document too large for libxml2 (10000000 bytes)");
    assert_int_equal(r.err.line, 1);
    assert_true(r.err.col > tag + 1 && r.err.col <= o);
    finish_run(&r);
    free(s);
}

/* ---- encodings -------------------------------------------------------------------------- */

static void test_encodings(void **state)
{
    (void)state;
    /* declared Latin-1 and using it: converted by libxml2, nodes at their element's line */
    static const char latin[] =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"  /* 1 */
        "<r>\n"                                            /* 2 */
        "  <a v=\"\xE9t\xE9\">caf\xE9</a>\n"               /* 3: été, café */
        "  <b/>\n"                                         /* 4 */
        "</r>\n";
    run r;
    parse(&r, latin);
    assert_int_equal(r.rc, 0);
    const sa_node *top = r.doc->root->first;
    is_elem(&r, top, "r", 2, 2, 1);
    const sa_node *a = child(top, 0);
    assert_string_equal(a->key, "a");
    check_at(&r, a->off, 3, 1);
    assert_string_equal(child(a, 0)->str, "\xC3\xA9t\xC3\xA9");
    check_at(&r, child(a, 0)->off, 3, 1);
    assert_string_equal(child(a, 1)->str, "caf\xC3\xA9");
    check_at(&r, child(a, 1)->off, 3, 1);
    check_at(&r, child(top, 1)->off, 4, 1);
    finish_run(&r);

    /* declared Latin-1 but all ASCII: read as it is, positions exact */
    parse(&r, "<?xml version='1.0' encoding='latin1'?>\n<r>\n <a v='x'/></r>");
    assert_int_equal(r.rc, 0);
    is_attr(&r, r.doc->root->first->first->first, "@v", "x", 3, 5, 3, 8);
    finish_run(&r);

    /* UTF-16 with a byte order mark: converted */
    static const char u16[] = "\xFF\xFE<\0r\0 \0a\0=\0\"\0\xE9\0\"\0>\0t\0<\0/\0r\0>\0";
    parse_lim(&r, u16, sizeof(u16) - 1, NULL);
    assert_int_equal(r.rc, 0);
    top = r.doc->root->first;
    assert_string_equal(top->key, "r");
    assert_string_equal(member(top, "@a")->str, "\xC3\xA9");
    assert_string_equal(member(top, "#text")->str, "t");
    finish_run(&r);

    /* a wide start tag in UTF-16 is measured in UTF-16 */
    gen g = {0};
    put(&g, "\xFF\xFE");
    const char *tag = "<r";
    for (int i = 0; i < 1100; i++) {
        char att[32];
        snprintf(att, sizeof(att), "%s a%d=''", i == 0 ? tag : "", i);
        for (const char *c = att; *c; c++)
            put(&g, "%c%c", *c, 0);
    }
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err.msg, "start tag with more than 1024 attributes");
    assert_int_equal(r.err.off, 2);
    finish_run(&r);
    free(g.s);

    /* encodings whose bytes could hide markup are refused */
    parse(&r, "<?xml version=\"1.0\" encoding=\"UTF-7\"?><r a=\"+AD0-\"/>");
    refused_at(&r, 1, 31, "document encoding UTF-7 is not supported; convert the file to UTF-8");
    finish_run(&r);
    parse(&r, "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><r/>");
    refused_at(&r, 1, 31, "document encoding Shift_JIS is not supported; convert the file to "
                          "UTF-8");
    finish_run(&r);
    parse_lim(&r, "\0\0\0<\0\0\0r\0\0\0/\0\0\0>", 16, NULL);
    refused_at(&r, 1, 1, "document is in UCS-4 or EBCDIC; convert the file to UTF-8");
    finish_run(&r);

    /* bytes that are not UTF-8 in a document that does not declare otherwise */
    parse(&r, "<r>\n\xFF</r>");
    lib_error_at(&r, 2, 1, "Input is not proper UTF-8, indicate encoding ! Bytes: 0xFF 0x3C "
                           "0x2F 0x72");
    finish_run(&r);
}

/* ---- malformed input -------------------------------------------------------------------- */

static void test_malformed(void **state)
{
    (void)state;
    run r;
    parse(&r, "<r>\n  <a>text");
    lib_error_at(&r, 2, 10, "Premature end of data in tag a line 2");
    finish_run(&r);
    /* the first error, not its consequences ("Premature end of data in tag r") */
    parse(&r, "<r>\n <x>\n</r>");
    lib_error_at(&r, 3, 5, "Opening and ending tag mismatch: x line 2 and r");
    finish_run(&r);
    parse(&r, "<r>\n  <a b=1/></r>");
    lib_error_at(&r, 2, 8, "AttValue: \" or ' expected");
    finish_run(&r);
    parse(&r, "<r>\n<a b=\"x<y\"/></r>");
    lib_error_at(&r, 2, 8, "Unescaped '<' not allowed in attributes values");
    finish_run(&r);
    parse(&r, "<r/>\n<r2/>");
    lib_error_at(&r, 2, 1, "Extra content at the end of the document");
    finish_run(&r);
    parse_lim(&r, "", 0, NULL);
    lib_error_at(&r, 1, 1, "Document is empty");
    assert_null(r.doc->root);
    finish_run(&r);
    parse(&r, "<?xml version=\"1.0\"?>\n<!-- only a comment -->\n");
    lib_error_at(&r, 3, 1, "Start tag expected, '<' not found");
    finish_run(&r);
    parse_lim(&r, "<r>a\0b</r>", 10, NULL);
    lib_error_at(&r, 1, 5, "Char 0x0 out of allowed range");
    finish_run(&r);

    /* names from the input are cut in the message, between characters */
    char text[1024], name[301];
    memset(name, 'a', 300);
    name[300] = '\0';
    snprintf(text, sizeof(text), "<%s>\n</%sb>", name, name);
    parse(&r, text);
    lib_error_at(&r, 2, 305, "Opening and ending tag mismatch: aaaaaaaaaaaaaaaaaaaaaaaa... "
                             "line 1 and aaaaaaaaaaaaaaaaaaaaaaaa...");
    finish_run(&r);
    gen g = {0};
    put(&g, "<");
    for (int i = 0; i < 100; i++)
        put(&g, "\xC3\xA9");
    put(&g, "></x>");
    parse_lim(&r, g.s, g.len, NULL);
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err.msg, "Opening and ending tag mismatch: \xC3\xA9\xC3\xA9\xC3\xA9"
                                   "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
                                   "\xC3\xA9\xC3\xA9... line 1 and x");
    finish_run(&r);
    free(g.s);
}

/* ---- allocation failures ---------------------------------------------------------------- */

static const char torture_doc[] =
    "<?xml version=\"1.0\"?>\n"
    "<icegrid xmlns:x=\"urn:x\">\n"
    "  <properties id=\"a\"><property name=\"n\" value=\"v&amp;w\"/></properties>\n"
    "  <properties id=\"b\"/>\n"
    "  <x:t x:a=\"1\"><k/>text<![CDATA[cd]]><!-- c --></x:t>\n"
    "</icegrid>\n";

/* Every node's key, type, offsets, flags and text in tree order. */
static void dump(const sa_node *n, gen *g)
{
    for (; n; n = n->next) {
        put(g, "(%s %d %zu %zu %u [%s]", n->key ? n->key : "-", (int)n->type, n->off,
            n->key_off, n->flags, n->str ? n->str : "");
        dump(n->first, g);
        put(g, ")");
    }
}

static char *reference_dump(void)
{
    run r;
    parse(&r, torture_doc);
    assert_int_equal(r.rc, 0);
    gen g = {0};
    dump(r.doc->root, &g);
    assert_non_null(strstr(g.s, "[v&w]"));
    assert_non_null(strstr(g.s, "(k 4"));
    assert_non_null(strstr(g.s, "[textcd]"));
    finish_run(&r);
    return g.s;
}

static void test_alloc_failure(void **state)
{
    (void)state;
    char *want = reference_dump();
    int completed = 0;
    unsigned long n;
    for (n = 1; n < 10000 && !completed; n++) {
        sa_doc *doc = sa_doc_new(torture_doc, sizeof(torture_doc) - 1, NULL);
        assert_non_null(doc);
        sa_perr err;
        sa_alloc_fail_at(n);
        int rc = sa_parse_xml(doc, &err);
        completed = sa_alloc_fail_at(0) < n;
        if (rc == 0) {
            gen g = {0};
            dump(doc->root, &g);
            assert_string_equal(g.s, want);
            free(g.s);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "out of memory");
            assert_false(completed);
        }
        sa_doc_free(doc);
    }
    assert_true(completed && n > 4);
    free(want);
}

/* libxml2's own allocations: a failure while it builds its tree reaches no parser context,
 * so without care a value would silently be missing from a "successful" parse. */
static void test_libxml2_alloc_failure(void **state)
{
    (void)state;
    char *want = reference_dump();
    int completed = 0, failed = 0;
    for (unsigned long n = 1; n < 20000 && !completed; n++) {
        sa_doc *doc = sa_doc_new(torture_doc, sizeof(torture_doc) - 1, NULL);
        assert_non_null(doc);
        sa_perr err;
        lx_count = 0;
        lx_failed = 0;
        lx_fail_at = n;
        int rc = sa_parse_xml(doc, &err);
        lx_fail_at = 0;
        completed = !lx_failed;
        if (rc == 0) {
            gen g = {0};
            dump(doc->root, &g);
            if (strcmp(g.s, want) != 0)
                fail_msg("allocation %lu failed and the tree is\n%s\nnot\n%s", n, g.s, want);
            free(g.s);
        } else {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "out of memory");
            failed++;
        }
        sa_doc_free(doc);
    }
    assert_true(completed);
    assert_true(failed > 20);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_omero_config),
        cmocka_unit_test(test_attribute_values),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_namespaces),
        cmocka_unit_test(test_positions_large),
        cmocka_unit_test(test_big_line_numbers),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_multibyte_columns),
        cmocka_unit_test(test_xxe_refused),
        cmocka_unit_test(test_undeclared_entity_refused),
        cmocka_unit_test(test_nothing_loaded),
        cmocka_unit_test(test_billion_laughs),
        cmocka_unit_test(test_attribute_declarations),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_wide_start_tags),
        cmocka_unit_test(test_namespace_scope),
        cmocka_unit_test(test_libxml2_size_limits),
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_libxml2_alloc_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
