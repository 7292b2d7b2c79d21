/* parsed.h — what the parser unit tests share: parse a text with one parser into a doc and
 * its line map, free them, check that a byte offset is at an expected line:column, and get
 * a member that must be there. Include after <cmocka.h>. */
#ifndef SECAUDIT_TESTS_PARSED_H
#define SECAUDIT_TESTS_PARSED_H

#include <string.h>

#include "secaudit/parse.h"

typedef int (*parser_fn)(sa_doc *doc, sa_perr *err);

typedef struct parsed {
    sa_doc *doc;
    sa_linemap lines;
    sa_perr err;
    int rc;
} parsed;

static inline void parse_with(parsed *p, parser_fn fn, const char *text, size_t len,
                              const sa_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->doc = sa_doc_new(text, len, lim);
    assert_non_null(p->doc);
    assert_int_equal(sa_linemap_init(&p->lines, text, len), 0);
    p->rc = fn(p->doc, &p->err);
}

/* Parse text, which must parse. */
static inline void parse_ok(parsed *p, parser_fn fn, const char *text)
{
    parse_with(p, fn, text, strlen(text), NULL);
    if (p->rc != 0)
        fail_msg("parse failed at offset %zu: %s", p->err.off, p->err.msg);
}

static inline void done(parsed *p)
{
    sa_linemap_free(&p->lines);
    sa_doc_free(p->doc);
}

static inline void at(const parsed *p, size_t off, unsigned line, unsigned col)
{
    unsigned l, c;
    sa_linemap_pos(&p->lines, off, &l, &c);
    if (l != line || c != col)
        fail_msg("offset %zu is at %u:%u, expected %u:%u", off, l, c, line, col);
}

static inline const sa_node *get(const sa_node *m, const char *key)
{
    const sa_node *n = sa_map_get(m, key, strlen(key));
    if (n == NULL)
        fail_msg("no member '%s'", key);
    return n;
}

#endif
