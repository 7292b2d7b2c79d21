/* test_iptables.c — iptables-save files: tables, chains and rules at their exact positions,
 * quoting, negation (both forms), ports and states split at their items, counters, -I/-N,
 * the derived "text" and "line", errors with their positions ('#' not in column 1, missing
 * COMMIT, ...), limits, allocation failures and random input; and the iptables view's walk
 * (jumps with their conditions, -I order, catch-alls, loops, goto, RETURN, shadowing). */
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

static void parse_lim(parsed *p, const char *text, size_t len, const sa_limits *lim)
{
    parse_with(p, sa_parse_iptables, text, len, lim);
}

static void parse(parsed *p, const char *text)
{
    parse_ok(p, sa_parse_iptables, text);
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

static const sa_node *table(const parsed *p, const char *name)
{
    return get(get(p->doc->root, "tables"), name);
}

static const sa_node *rule(const parsed *p, const char *tname, size_t i)
{
    return nth(get(table(p, tname), "rules"), i);
}

static void str_at(const parsed *p, const sa_node *n, const char *want, unsigned line,
                   unsigned col)
{
    if (n->str == NULL || n->len != strlen(want) || strcmp(n->str, want) != 0)
        fail_msg("'%s', expected '%s'", n->str ? n->str : "(null)", want);
    at(p, n->off, line, col);
}

static void mem(const parsed *p, const sa_node *m, const char *key, const char *want,
                unsigned line, unsigned col)
{
    const sa_node *n = get(m, key);
    str_at(p, n, want, line, col);
    at(p, n->key_off, line, col);
}

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

static void test_example_default_accept(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              ":INPUT ACCEPT [0:0]\n"
              "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
              "COMMIT\n");
    const sa_node *tb = table(&p, "filter");
    at(&p, tb->off, 1, 1);
    at(&p, tb->key_off, 1, 2);
    const sa_node *in = get(get(tb, "chains"), "INPUT");
    at(&p, in->key_off, 2, 2);
    at(&p, in->off, 2, 1);
    mem(&p, in, "policy", "ACCEPT", 2, 8);
    const sa_node *r = rule(&p, "filter", 0);
    at(&p, r->off, 3, 1);
    mem(&p, r, "chain", "INPUT", 3, 4);
    mem(&p, r, "protocol", "tcp", 3, 13);
    assert_null(sa_map_get(r, "matches", 7));
    const sa_node *dp = get(r, "dports");
    assert_int_equal(dp->type, SA_LIST);
    assert_int_equal(dp->count, 1);
    str_at(&p, nth(dp, 0), "22", 3, 32);
    mem(&p, r, "jump", "ACCEPT", 3, 38);
    const sa_node *text = get(r, "text");
    assert_true(text->flags & SA_NODE_SYNTH);
    str_at(&p, text, "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", 3, 1);
    assert_string_equal(get(r, "line")->str, "3");
    assert_null(sa_map_get(r, "negated", 7));
    assert_null(sa_map_get(r, "other", 5));
    done(&p);
}

static void test_example_multiport(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              ":INPUT DROP [10:2000]\n"
              "[5:300] -A INPUT -p tcp -m multiport --dports 5432,27017,10000:10003 -j ACCEPT\n"
              "-A INPUT -j REJECT --reject-with icmp-host-prohibited\n"
              "COMMIT\n");
    const sa_node *r = rule(&p, "filter", 0);
    at(&p, r->off, 3, 9);
    const sa_node *dp = get(r, "dports");
    assert_int_equal(dp->count, 3);
    at(&p, dp->off, 3, 47);
    str_at(&p, nth(dp, 0), "5432", 3, 47);
    str_at(&p, nth(dp, 1), "27017", 3, 52);
    str_at(&p, nth(dp, 2), "10000:10003", 3, 58);
    str_at(&p, get(r, "text"),
           "-A INPUT -p tcp -m multiport --dports 5432,27017,10000:10003 -j ACCEPT", 3, 9);
    r = rule(&p, "filter", 1);
    mem(&p, r, "jump", "REJECT", 4, 13);
    /* a target's options are not conditions */
    assert_null(sa_map_get(r, "other", 5));
    assert_string_equal(get(r, "line")->str, "4");
    done(&p);
}

static void test_example_redundant(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              "-A INPUT -p tcp -m tcp --dport 27017 -j ACCEPT\n"
              "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 27017 -j ACCEPT\n"
              "COMMIT\n");
    const sa_node *r = rule(&p, "filter", 1);
    mem(&p, r, "source", "10.0.0.0/8", 3, 13);
    str_at(&p, nth(get(r, "dports"), 0), "27017", 3, 46);
    done(&p);
}

/* ---- syntax ----------------------------------------------------------------------------- */

static void test_quoting(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              "-A INPUT -m comment --comment \"allow # \\\"db\\\" here\" -p tcp --dport 5432 "
              "-j ACCEPT\n"
              "-A INPUT -s \"10.0.0.0/8\" -j LOG --log-prefix \"IPT: \"\n"
              "COMMIT\n");
    const sa_node *r = rule(&p, "filter", 0);
    /* the comment's '#' is quoted text; --comment is no condition */
    assert_null(sa_map_get(r, "other", 5));
    str_at(&p, nth(get(r, "dports"), 0), "5432", 2, 68);
    str_at(&p, get(r, "text"),
           "-A INPUT -m comment --comment \"allow # \\\"db\\\" here\" -p tcp --dport 5432 "
           "-j ACCEPT",
           2, 1);
    r = rule(&p, "filter", 1);
    const sa_node *s = get(r, "source");
    str_at(&p, s, "10.0.0.0/8", 3, 13);
    assert_true(s->flags & SA_NODE_QUOTED);
    mem(&p, r, "jump", "LOG", 3, 29);
    done(&p);
}

static void test_negation(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              "-A INPUT ! -s 10.0.0.0/8 -p tcp ! --dport 22 -m state ! --state ESTABLISHED,RELATED -j ACCEPT\n"
              "-A INPUT -i ! lo -p udp -j DROP\n"
              "-A INPUT ! -p tcp -f ! --syn -j DROP\n"
              "COMMIT\n");
    const sa_node *r = rule(&p, "filter", 0);
    mem(&p, r, "source", "10.0.0.0/8", 2, 15);
    const sa_node *neg = get(r, "negated");
    assert_int_equal(neg->count, 3);
    at(&p, get(neg, "source")->off, 2, 10);
    at(&p, get(neg, "dports")->off, 2, 33);
    at(&p, get(neg, "state")->off, 2, 55);
    const sa_node *st = get(r, "state");
    assert_int_equal(st->count, 2);
    str_at(&p, nth(st, 0), "ESTABLISHED", 2, 65);
    str_at(&p, nth(st, 1), "RELATED", 2, 77);
    r = rule(&p, "filter", 1);
    mem(&p, r, "in", "lo", 3, 15);
    at(&p, get(get(r, "negated"), "in")->off, 3, 13);
    r = rule(&p, "filter", 2);
    neg = get(r, "negated");
    assert_non_null(sa_map_get(neg, "protocol", 8));
    assert_non_null(sa_map_get(neg, "syn", 3));
    assert_null(sa_map_get(neg, "fragment", 8));
    assert_int_equal(get(r, "fragment")->type, SA_BOOL);
    done(&p);
}

static void test_commands_and_chains(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "# Generated by iptables-save\n"
              "*nat\n"
              ":PREROUTING ACCEPT [0:0]\n"
              "COMMIT\n"
              "\n"
              "*filter\r\n"
              ":INPUT DROP\r\n"
              ":DB - [0:0]\n"
              "-N EXTRA\n"
              "-I INPUT 2 -p tcp --dport 5432 -j DB\n"
              "-I INPUT -j EXTRA\n"
              "--append DB -c 12 345 --src 10.0.0.0/8 -j ACCEPT\n"
              "-A INPUT -p tcp --sport 53 -m limit --limit 5/min -j ACCEPT\n"
              "COMMIT\n"
              "# Completed\n");
    assert_int_equal(get(p.doc->root, "tables")->count, 2);
    const sa_node *ch = get(table(&p, "filter"), "chains");
    assert_int_equal(ch->count, 3);
    mem(&p, get(ch, "INPUT"), "policy", "DROP", 7, 8);
    mem(&p, get(ch, "DB"), "policy", "-", 8, 5);
    const sa_node *ex = get(ch, "EXTRA");
    at(&p, ex->key_off, 9, 4);
    assert_true(get(ex, "policy")->flags & SA_NODE_SYNTH);
    const sa_node *r = rule(&p, "filter", 0);
    mem(&p, r, "insert", "2", 10, 10);
    mem(&p, r, "jump", "DB", 10, 35);
    r = rule(&p, "filter", 1);
    assert_string_equal(get(r, "insert")->str, "1");
    r = rule(&p, "filter", 2);
    mem(&p, r, "chain", "DB", 12, 10);
    mem(&p, r, "source", "10.0.0.0/8", 12, 29);
    str_at(&p, get(r, "text"), "--append DB --src 10.0.0.0/8 -j ACCEPT", 12, 1);
    r = rule(&p, "filter", 3);
    mem(&p, r, "other", "--sport --limit", 13, 17);
    assert_string_equal(get(r, "line")->str, "13");
    done(&p);
}

static void test_source_matches(void **state)
{
    (void)state;
    parsed p;
    parse(&p, "*filter\n"
              "-A INPUT -m set --match-set admins src -p tcp --dport 6379 -j ACCEPT\n"
              "-A INPUT -m iprange --src-range 10.0.0.1-10.0.0.9 -j ACCEPT\n"
              "-A INPUT -m set --match-set blocked dst -j DROP\n"
              "COMMIT\n");
    mem(&p, rule(&p, "filter", 0), "source_match", "admins", 2, 29);
    mem(&p, rule(&p, "filter", 1), "source_match", "10.0.0.1-10.0.0.9", 3, 33);
    const sa_node *r = rule(&p, "filter", 2);
    assert_null(sa_map_get(r, "source_match", 12));
    mem(&p, r, "other", "--match-set", 4, 17);
    done(&p);
}

static void test_errors(void **state)
{
    (void)state;
    fails_at("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT # ssh\nCOMMIT\n", 2, 38,
             "'#' comment must start in column 1");
    fails_at("*filter\n  # indented\nCOMMIT\n", 2, 3, "'#' comment must start in column 1");
    fails_at("*filter\n-A INPUT -j DROP #\nCOMMIT\n", 2, 18, "'#' comment must start");
    fails_at("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", 1, 1,
             "table 'filter' is never closed with COMMIT");
    fails_at("*filter\n*nat\nCOMMIT\n", 2, 1, "table 'filter' is not closed with COMMIT");
    fails_at("-A INPUT -j DROP\n", 1, 1, "outside a table");
    fails_at("COMMIT\n", 1, 1, "COMMIT without a table");
    fails_at("*filter\n:INPUT REJECT [0:0]\nCOMMIT\n", 2, 8, "invalid chain policy 'REJECT'");
    fails_at("*filter\n:INPUT ACCEPT [0:x]\nCOMMIT\n", 2, 15, "invalid counters");
    fails_at("*filter\n:INPUT\nCOMMIT\n", 2, 7, "no policy");
    fails_at("*filter\n-D INPUT 1\nCOMMIT\n", 2, 1, "unexpected '-D'");
    fails_at("*filter\n-A INPUT -s\nCOMMIT\n", 2, 12, "option -s needs an argument");
    fails_at("*filter\n-A INPUT -s 1.2.3.4 -s 5.6.7.8 -j DROP\nCOMMIT\n", 2, 21,
             "multiple -s options");
    fails_at("*filter\n-A INPUT ! -j DROP\nCOMMIT\n", 2, 10, "cannot negate");
    fails_at("*filter\n-A INPUT ! \nCOMMIT\n", 2, 10, "'!' must be followed");
    fails_at("*filter\n-A INPUT --comment \"open\nCOMMIT\n", 2, 20, "quoted argument is not "
                                                                   "closed");
    fails_at("*filter\n-A INPUT foo\nCOMMIT\n", 2, 10, "bad argument 'foo'");
    fails_at("*filter\n-A\nCOMMIT\n", 2, 3, "followed by a chain name");
    fails_at("*filter\n-A INPUT -t nat -j DROP\nCOMMIT\n", 2, 10, "cannot appear inside");
    fails_at("*filter\n-A INPUT -j DROP\nCOMMIT\nfoo\n", 4, 1, "unexpected 'foo'");
    fails_at("*filter\nCOMMIT junk\n", 2, 8, "unexpected 'junk' after COMMIT");
    fails_at("*filter\n[1:2]\nCOMMIT\n", 2, 6, "counters must be followed by a rule");
    fails_lim("*filter\n-A INPUT\0 -j DROP\nCOMMIT\n", 34, NULL, 2, 9, "NUL");
}

static void test_limits(void **state)
{
    (void)state;
    sa_limits lim = sa_limits_default;
    lim.max_string = 20;
    fails_lim("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n", 50, &lim, 2, 1,
              "longer than");
    lim = sa_limits_default;
    lim.max_nodes = 12;
    fails_lim("*filter\n-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n",
              67, &lim, 2, 1, "node limit");
}

static void check_tree(const sa_node *n, size_t len)
{
    assert_true(n->off <= len);
    assert_true(n->key_off <= len);
    if (n->type != SA_MAP && n->type != SA_LIST)
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
        "*filter\n:INPUT DROP [0:0]\n:DB - [0:0]\n-N X\n"
        "[1:2] -A INPUT ! -s 10.0.0.0/8 -p tcp -m multiport --dports 1,2,3 -m state --state "
        "NEW -m limit --limit 1/s -j DB\n"
        "-I INPUT 1 -m comment --comment \"a b\" -j LOG --log-prefix \"x\"\nCOMMIT\n";
    size_t len = sizeof(text) - 1;
    int ok = 0;
    for (unsigned long k = 1; k < 1000 && !ok; k++) {
        sa_alloc_fail_at(k);
        sa_doc *doc = sa_doc_new(text, len, NULL);
        sa_perr err;
        int rc = doc ? sa_parse_iptables(doc, &err) : -1;
        sa_alloc_fail_at(0);
        if (doc && rc < 0)
            check_msg(&err, len);
        ok = rc == 0;
        if (ok) {
            check_tree(doc->root, len);
            assert_int_equal(get(get(get(doc->root, "tables"), "filter"), "rules")->count, 2);
        }
        sa_doc_free(doc);
    }
    assert_true(ok);
}

static void test_random_inputs(void **state)
{
    (void)state;
    static const char *const words[] = {
        "*filter", "*nat", "COMMIT", ":INPUT", "ACCEPT", "DROP", "-", "[0:0]", "[1:",
        "-A", "-I", "-N", "INPUT", "-s", "!", "-p", "tcp", "--dport", "--dports", "1,2",
        "5432:6000", "-m", "state", "--state", "NEW", "-j", "\"", "\"a b\"", "\\", "#",
        "\n", "\n", "\n", " ", "\t", "\r\n", "-c", "1", "x", "é", "\xEF\xBB\xBF", "--foo",
    };
    enum { NW = sizeof(words) / sizeof(words[0]) };
    unsigned long seed = 123456789;
    char buf[200];
    for (int iter = 0; iter < 8000; iter++) {
        size_t len = 0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t nwords = (seed >> 33) % 20;
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
        lim.max_nodes = 5 + (size_t)(iter % 80);
        sa_doc *doc = sa_doc_new(buf, len, &lim);
        assert_non_null(doc);
        sa_perr err;
        if (sa_parse_iptables(doc, &err) == 0)
            check_tree(doc->root, len);
        else
            check_msg(&err, len);
        sa_doc_free(doc);
    }
}

/* ---- the iptables view ----------------------------------------------------------------- */

typedef struct viewed {
    parsed p;
    sa_node *view;
} viewed;

static void view_of(viewed *v, const char *text)
{
    parse(&v->p, text);
    const sa_view *iv = sa_view_find("iptables");
    assert_non_null(iv);
    sa_perr err;
    memset(&err, 0, sizeof(err));
    v->view = NULL;
    if (iv->fn(v->p.doc, &v->view, &err) != 0)
        fail_msg("view failed: %s", err.msg);
    assert_non_null(v->view);
}

/* The view's list key as "line:value" items joined by " | " (value of member m). */
static void list_is(const viewed *v, const char *key, const char *m, const char *want)
{
    char got[1024] = "";
    size_t o = 0;
    const sa_node *l = sa_map_get(v->view, key, strlen(key));
    for (const sa_node *e = l ? l->first : NULL; e && o < sizeof(got); e = e->next) {
        const sa_node *x = get(e, m);
        unsigned line, col;
        sa_linemap_pos(&v->p.lines, x->key_off, &line, &col);
        o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%u:%u %s", o ? " | " : "", line, col,
                              x->str);
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s: '%s', expected '%s'", key, got, want);
}

static void test_view_jumps_and_context(void **state)
{
    (void)state;
    viewed v;
    view_of(&v, "*filter\n"
                ":INPUT DROP [0:0]\n"
                ":DB - [0:0]\n"
                ":LAN - [0:0]\n"
                "-A INPUT -i lo -j DB\n"
                "-A INPUT -s 10.0.0.0/8 -j LAN\n"
                "-A INPUT -p tcp -m tcp --dport 6379 -j DB\n"
                "-A INPUT -p tcp -m tcp ! --dport 5432 -j ACCEPT\n"
                "-A DB -j ACCEPT\n"
                "-A LAN -p tcp -m tcp --dport 5432 -j ACCEPT\n"
                "COMMIT\n");
    /* via -i lo: nothing; via --dport 6379: 6379 only; ! --dport 5432: every other port
     * (at the rule: no port item names them) */
    list_is(&v, "exposed", "ports",
            "8:1 27017/tcp, 6379/tcp | 8:1 3306/tcp, 5000/tcp, 6000/tcp, 8080/tcp, 10000/tcp, "
            "10001/tcp, 10002/tcp, 10003/tcp | 9:1 6379/tcp");
    assert_null(sa_map_get(v.view, "input_open", 10));
    assert_null(sa_map_get(v.view, "shadowed", 8));
    done(&v.p);
}

static void test_view_order_and_catch_all(void **state)
{
    (void)state;
    viewed v;
    /* the final REJECT appended first; -I rules before it; a DROP covering 5432 first */
    view_of(&v, "*filter\n"
                ":INPUT ACCEPT [0:0]\n"
                "-A INPUT -m comment --comment \"end\" -j REJECT\n"
                "-I INPUT -p tcp -m multiport --dports 5432,3306 -j ACCEPT\n"
                "-I INPUT -p tcp -m tcp --dport 5432 -j DROP\n"
                "-I INPUT 3 -p udp -m udp --dport 5060 -m state --state ESTABLISHED -j ACCEPT\n"
                "-A INPUT -p tcp -m tcp --dport 8080 -j ACCEPT\n"
                "COMMIT\n");
    list_is(&v, "exposed", "ports", "4:44 3306/tcp");
    list_is(&v, "unreachable", "after", "7:1 -A INPUT -m comment --comment \"end\" -j REJECT");
    assert_null(sa_map_get(v.view, "input_open", 10));
    done(&v.p);
}

static void test_view_open_and_shadow(void **state)
{
    (void)state;
    viewed v;
    view_of(&v, "*filter\n"
                ":INPUT ACCEPT [0:0]\n"
                ":FORWARD ACCEPT [0:0]\n"
                "-A INPUT -s 0.0.0.0/0 -p tcp -m tcp --dport 27017 -j ACCEPT\n"
                "-A INPUT -s 10.0.0.0/8 -p tcp -m multiport --dports 22,27017 -j ACCEPT\n"
                "-A INPUT -p tcp -j DROP\n"
                "-A FORWARD -i eth0 -j DROP\n"
                "COMMIT\n");
    list_is(&v, "shadowed", "ports",
            "5:56 27017/tcp (line 4 already accepts it from any source)");
    const sa_node *o = get(v.view, "input_open");
    at(&v.p, o->key_off, 2, 8);
    o = get(v.view, "forward_open");
    at(&v.p, o->key_off, 3, 10);
    done(&v.p);
}

static void test_view_loops_goto_return(void **state)
{
    (void)state;
    viewed v;
    view_of(&v, "*filter\n"
                ":INPUT ACCEPT [0:0]\n"
                ":A - [0:0]\n"
                ":B - [0:0]\n"
                "-A INPUT -j A\n"
                "-A A -j B\n"
                "-A B -j A\n"
                "-A B -j RETURN\n"
                "-A B -p tcp -m tcp --dport 5432 -j ACCEPT\n"
                "-A A -g B\n"
                "-A A -p tcp -m tcp --dport 3306 -j ACCEPT\n"
                "-A INPUT -j DROP\n"
                "COMMIT\n");
    assert_null(sa_map_get(v.view, "exposed", 7));
    assert_null(sa_map_get(v.view, "input_open", 10));
    list_is(&v, "unreachable", "after", "11:1 -A A -g B | 9:1 -A B -j RETURN");
    done(&v.p);
}

static void test_view_accept_all_and_no_filter(void **state)
{
    (void)state;
    viewed v;
    view_of(&v, "*filter\n"
                ":INPUT DROP [0:0]\n"
                "-A INPUT -m comment --comment x -j ACCEPT\n"
                "COMMIT\n");
    const sa_node *o = get(v.view, "input_open");
    at(&v.p, o->key_off, 3, 1);
    done(&v.p);
    view_of(&v, "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n");
    assert_int_equal(v.view->count, 0);
    done(&v.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_default_accept),
        cmocka_unit_test(test_example_multiport),
        cmocka_unit_test(test_example_redundant),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_commands_and_chains),
        cmocka_unit_test(test_source_matches),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_random_inputs),
        cmocka_unit_test(test_view_jumps_and_context),
        cmocka_unit_test(test_view_order_and_catch_all),
        cmocka_unit_test(test_view_open_and_shadow),
        cmocka_unit_test(test_view_loops_goto_return),
        cmocka_unit_test(test_view_accept_all_and_no_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
