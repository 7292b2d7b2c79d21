/* xml.c — XML through libxml2, hardened (HARDENING.md), into the positioned tree.
 *
 * The bytes are parsed from memory on a fresh context with NONET, no entity substitution, no
 * DTD loading, and a deny-all external entity loader installed once by sa_xml_init. A
 * document that declares any entity is refused before anything is expanded (this stops XXE
 * and "billion laughs" alike); the refusal happens in the context's own entityDecl handler.
 *
 * Positions: xmlNode.line saturates at 65535, so a start-element hook records each element's
 * byte offset from the parser's input position (the start tag ends there; its '<' is found
 * backwards, since '<' cannot occur inside attribute values). Attribute positions come from
 * a quote-aware scan of the start tag. Offsets are exact for UTF-8 (and ASCII) documents; a
 * document in another encoding is converted by libxml2 and its offsets are approximate. */
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/parse.h"

typedef struct xstate {
    sa_doc *doc;
    int refused;
    char refused_name[48];
    startElementNsSAX2Func start;  /* libxml2's own handler */
} xstate;

static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

void sa_xml_init(void)
{
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_loader);
}

void sa_xml_cleanup(void)
{
    xmlCleanupParser();
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    (void)type;
    (void)public_id;
    (void)system_id;
    (void)content;
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    if (!st->refused) {
        st->refused = 1;
        /* printable, short */
        size_t o = 0;
        for (const xmlChar *p = name; p && *p && o + 1 < sizeof(st->refused_name) - 1; p++)
            st->refused_name[o++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
        st->refused_name[o] = '\0';
    }
    xmlStopParser(ctxt);
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    st->start(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
              nb_defaulted, attributes);
    xmlNodePtr node = ctxt->node;
    if (node == NULL || ctxt->input == NULL || ctxt->input->cur == NULL)
        return;
    size_t off = (size_t)ctxt->input->consumed + (size_t)(ctxt->input->cur - ctxt->input->base);
    const char *t = st->doc->text;
    if (off >= st->doc->len)
        off = st->doc->len ? st->doc->len - 1 : 0;
    while (off > 0 && t[off] != '<')
        off--;
    node->_private = (void *)(uintptr_t)(off + 1);
}

static size_t node_off(const xmlNode *n)
{
    uintptr_t p = (uintptr_t)n->_private;
    return p ? (size_t)(p - 1) : 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Find attribute qname in the start tag at off: its name's and its value's offsets. */
static int find_attr(const sa_doc *doc, size_t off, const char *qname, size_t *key_off,
                     size_t *val_off)
{
    const char *t = doc->text;
    size_t n = doc->len, i = off + 1, ql = strlen(qname);
    while (i < n && !is_space(t[i]) && t[i] != '>' && t[i] != '/')
        i++;  /* the element name */
    while (i < n) {
        while (i < n && is_space(t[i]))
            i++;
        if (i >= n || t[i] == '>' || t[i] == '/')
            return -1;
        size_t ns = i;
        while (i < n && !is_space(t[i]) && t[i] != '=' && t[i] != '>')
            i++;
        size_t nl = i - ns;
        while (i < n && is_space(t[i]))
            i++;
        if (i >= n || t[i] != '=')
            return -1;
        i++;
        while (i < n && is_space(t[i]))
            i++;
        if (i >= n || (t[i] != '"' && t[i] != '\''))
            return -1;
        char q = t[i++];
        size_t vs = i;
        while (i < n && t[i] != q)
            i++;
        if (nl == ql && memcmp(t + ns, qname, ql) == 0) {
            *key_off = ns;
            *val_off = vs;
            return 0;
        }
        i++;
    }
    return -1;
}

/* Offset of the first non-blank byte after the start tag at off ('>' outside quotes). */
static size_t content_off(const sa_doc *doc, size_t off)
{
    const char *t = doc->text;
    size_t n = doc->len, i = off;
    char q = 0;
    for (; i < n; i++) {
        if (q) {
            if (t[i] == q)
                q = 0;
        } else if (t[i] == '"' || t[i] == '\'') {
            q = t[i];
        } else if (t[i] == '>') {
            i++;
            break;
        }
    }
    while (i < n && is_space(t[i]))
        i++;
    return i;
}

typedef struct conv {
    sa_doc *doc;
    xmlDocPtr xdoc;
    sa_perr *err;
} conv;

static int conv_fail(conv *c, size_t off, const char *msg)
{
    c->err->off = off;
    c->err->has_linecol = 0;
    snprintf(c->err->msg, sizeof(c->err->msg), "%s", msg);
    return -1;
}

static int conv_oom(conv *c)
{
    return conv_fail(c, 0, sa_doc_over_budget(c->doc) ? "document has too many nodes"
                                                      : "out of memory");
}

static int qualified(const xmlNode *n, char *buf, size_t cap)
{
    int w = n->ns && n->ns->prefix
                ? snprintf(buf, cap, "%s:%s", (const char *)n->ns->prefix, (const char *)n->name)
                : snprintf(buf, cap, "%s", (const char *)n->name);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

static int convert(conv *c, const xmlNode *el, sa_node *parent, unsigned depth)
{
    if (depth > c->doc->lim->max_depth) {
        char msg[64];
        snprintf(msg, sizeof(msg), "nesting deeper than %u levels", c->doc->lim->max_depth);
        return conv_fail(c, node_off(el), msg);
    }
    char name[512];
    size_t off = node_off(el);
    if (qualified(el, name, sizeof(name)) < 0)
        return conv_fail(c, off, "element name too long");
    sa_node *m = sa_node_new(c->doc, SA_MAP, off);
    if (m == NULL || sa_node_set_key(c->doc, m, name, strlen(name), off) < 0)
        return conv_oom(c);
    sa_node_append(parent, m);
    for (const xmlAttr *a = el->properties; a; a = a->next) {
        char an[512];
        an[0] = '@';
        int w = a->ns && a->ns->prefix
                    ? snprintf(an + 1, sizeof(an) - 1, "%s:%s", (const char *)a->ns->prefix,
                               (const char *)a->name)
                    : snprintf(an + 1, sizeof(an) - 1, "%s", (const char *)a->name);
        if (w < 0 || (size_t)w >= sizeof(an) - 1)
            return conv_fail(c, off, "attribute name too long");
        xmlChar *v = xmlNodeListGetString(c->xdoc, a->children, 1);
        size_t vl = v ? strlen((const char *)v) : 0;
        if (vl > c->doc->lim->max_string) {
            xmlFree(v);
            return conv_fail(c, off, "attribute value too long");
        }
        size_t koff = off, voff = off;
        find_attr(c->doc, off, an + 1, &koff, &voff);
        sa_node *s = sa_node_scalar(c->doc, SA_STR, voff, v ? (const char *)v : "", vl);
        xmlFree(v);
        if (s == NULL || sa_node_set_key(c->doc, s, an, strlen(an), koff) < 0)
            return conv_oom(c);
        s->flags |= SA_NODE_QUOTED;
        sa_node_append(m, s);
    }
    /* text: the concatenated text and CDATA children, when not blank */
    size_t tl = 0;
    int blank = 1;
    for (const xmlNode *k = el->children; k; k = k->next) {
        if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) && k->content) {
            const char *s = (const char *)k->content;
            size_t l = strlen(s);
            tl += l;
            for (size_t i = 0; i < l && blank; i++)
                blank = is_space(s[i]);
        }
    }
    if (!blank) {
        if (tl > c->doc->lim->max_string)
            return conv_fail(c, off, "text too long");
        char *buf = sa_arena_alloc(c->doc->arena, tl + 1);
        if (buf == NULL)
            return conv_oom(c);
        size_t o = 0;
        for (const xmlNode *k = el->children; k; k = k->next)
            if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) && k->content) {
                size_t l = strlen((const char *)k->content);
                memcpy(buf + o, k->content, l);
                o += l;
            }
        buf[o] = '\0';
        sa_node *s = sa_node_new(c->doc, SA_STR, content_off(c->doc, off));
        if (s == NULL || sa_node_set_key(c->doc, s, "#text", 5, s->off) < 0)
            return conv_oom(c);
        s->str = buf;
        s->len = o;
        sa_node_append(m, s);
    }
    for (const xmlNode *k = el->children; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && convert(c, k, m, depth + 1) < 0)
            return -1;
    return sa_map_mark_dups(m) < 0 ? conv_oom(c) : 0;
}

int sa_parse_xml(sa_doc *doc, sa_perr *err)
{
    memset(err, 0, sizeof(*err));
    if (doc->len > INT32_MAX) {
        snprintf(err->msg, sizeof(err->msg), "document too large");
        return -1;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL || ctxt->sax == NULL) {
        xmlFreeParserCtxt(ctxt);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -1;
    }
    xstate st = {.doc = doc, .start = ctxt->sax->startElementNs};
    if (st.start == NULL)
        st.start = xmlSAX2StartElementNs;
    ctxt->_private = &st;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->entityDecl = on_entity_decl;
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
#if defined(LIBXML_VERSION) && LIBXML_VERSION >= 21300
    opts |= XML_PARSE_NO_XXE;
#endif
    xmlDocPtr xdoc = xmlCtxtReadMemory(ctxt, doc->len ? doc->text : "", (int)doc->len, NULL,
                                       NULL, opts);
    int rc = -1;
    if (st.refused) {
        err->has_linecol = 0;
        /* point at the declaration: the first "<!ENTITY" */
        const char *p = doc->len ? doc->text : "";
        size_t off = 0;
        for (size_t i = 0; i + 8 <= doc->len; i++)
            if (memcmp(p + i, "<!ENTITY", 8) == 0) {
                off = i;
                break;
            }
        err->off = off;
        snprintf(err->msg, sizeof(err->msg), "document declares entity %s; entities are refused",
                 st.refused_name);
    } else if (xdoc == NULL || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        if (e && e->message) {
            char msg[200];
            size_t o = 0;
            for (const char *m = e->message; *m && o + 1 < sizeof(msg); m++)
                msg[o++] = (unsigned char)*m < 0x20 ? ' ' : *m;
            while (o > 0 && msg[o - 1] == ' ')
                o--;
            msg[o] = '\0';
            /* libxml2's advice to lift its limits is not advice for a scanner's user */
            char *huge = strstr(msg, " use XML_PARSE_HUGE option");
            if (huge)
                *huge = '\0';
            snprintf(err->msg, sizeof(err->msg), "%s", msg);
            if (e->line > 0) {
                err->has_linecol = 1;
                err->line = (unsigned)e->line;
                err->col = e->int2 > 0 ? (unsigned)e->int2 : 1;
            }
        } else {
            snprintf(err->msg, sizeof(err->msg), "not well-formed XML");
        }
    } else {
        conv c = {.doc = doc, .xdoc = xdoc, .err = err};
        sa_node *root = sa_node_new(doc, SA_MAP, 0);
        xmlNodePtr top = xmlDocGetRootElement(xdoc);
        if (root == NULL) {
            conv_oom(&c);
        } else if (top == NULL) {
            conv_fail(&c, 0, "no root element");
        } else {
            doc->root = root;
            rc = convert(&c, top, root, 1);
        }
    }
    xmlFreeDoc(xdoc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}
