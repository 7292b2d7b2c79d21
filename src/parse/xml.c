/* xml.c — XML through libxml2 2.9, hardened (HARDENING.md), into the positioned tree.
 *
 * The bytes are parsed from memory on a fresh context with NONET, no entity substitution, no
 * DTD loading and a deny-all external entity loader (sa_xml_init). The context's own SAX
 * handlers refuse, before anything is expanded or applied: a document that declares any
 * entity (parsed, unparsed or parameter: this stops XXE and "billion laughs"), one that
 * refers to any entity but the five predefined ones (declared in a DTD we do not load, it
 * would silently vanish from a value), and one whose DTD gives an attribute a default value
 * (other XML readers, expat among them, would see an attribute that is not in our tree).
 *
 * libxml2 2.9 does quadratic work in places an attacker controls: the duplicate check of a
 * start tag's attributes, the namespace lookups for every element, the attribute
 * declarations of a DTD. So, before parsing, every start tag is measured (at most
 * MAX_TAG_ATTRS attributes), and while parsing, namespace declarations in scope and attribute
 * declarations are counted. libxml2 goes on parsing after a fatal error (without calling the
 * SAX handlers that count); the error handler stops it at the first one.
 *
 * Encodings: libxml2 is told to ignore the XML declaration's encoding (XML_PARSE_IGNORE_ENC)
 * and gets the encoding from us, so the measurement above reads the text the way libxml2
 * will. UTF-8 (and ASCII) is read as is; UTF-16 (by its byte order mark or "<?" signature)
 * and the declared ASCII-compatible encodings of an allowlist are converted by libxml2; any
 * other encoding is refused.
 *
 * Positions: xmlNode.line saturates at 65535, so a start-element hook records each element's
 * byte offset from the parser's input position (consumed + cur - base, which counts shrunk
 * buffers too; the start tag ends there and its '<' is the first one found backwards, since
 * '<' cannot occur inside attribute values), and an end-element hook where it ends. Attribute
 * positions come from one quote-aware scan of the start tag; the text's position (its first
 * character that is not blank) from a scan of the element's content that jumps over its
 * child elements. The characters handler cannot say it exactly: it gets references and
 * non-ASCII runs from private buffers, with the input position before or after the piece.
 * Offsets are exact for UTF-8.
 * In a converted document libxml2's buffer no longer matches the file's bytes: every node is
 * placed at the start of its element's line (libxml2 counts lines exactly).
 *
 * Errors: the first fatal error libxml2 reports (later ones are mostly its consequences),
 * control bytes removed and every word cut to a few bytes (names in it are input). libxml2
 * reports running out of memory while building its tree only to the thread's error handler
 * and goes on without the piece: a handler installed for the parse turns that into a failed
 * parse, never a tree with a value missing. */
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/parse.h"

#if LIBXML_VERSION >= 21200
typedef const xmlError *xerr_ptr;
#else
typedef xmlErrorPtr xerr_ptr;
#endif

enum {
    MAX_TAG_ATTRS = 1024,  /* attributes and namespace declarations in one start tag */
    MAX_NS_SCOPE = 256,    /* namespace declarations in scope at once */
    MAX_ATTR_DECLS = 256,  /* attribute declarations in the DTD */
    NAME_ECHO = 40,        /* bytes of a name quoted in a refusal */
    WORD_ECHO = 24         /* bytes of one word of a libxml2 message */
};

/* ---- set-up ------------------------------------------------------------------------------ */

/* Loads nothing: no DTD, entity or XInclude ever reaches the disk or the network. */
static xmlParserInputPtr deny_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL;
}

static char *xml_strdup(const char *s)
{
    return sa_strdup(s);
}

void sa_xml_init(void)
{
    /* libxml2 allocates through the project's hook, so allocation-failure tests reach it */
    xmlMemSetup(sa_free, sa_malloc, sa_realloc, xml_strdup);
    xmlInitParser();
    xmlSetExternalEntityLoader(deny_loader);
}

void sa_xml_cleanup(void)
{
    xmlCleanupParser();
}

/* ---- small text helpers ------------------------------------------------------------------ */

static int is_blank(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int starts(const char *t, size_t n, size_t i, const char *s)
{
    size_t l = strlen(s);
    return i <= n && n - i >= l && memcmp(t + i, s, l) == 0;
}

/* Index of the first s at or after i, or n. */
static size_t find(const char *t, size_t n, size_t i, const char *s)
{
    while (i < n && !starts(t, n, i, s))
        i++;
    return i < n ? i : n;
}

/* name, printable ASCII only ('?' for anything else), cut to NAME_ECHO bytes, into buf. */
static const char *printable(const xmlChar *name, char *buf, size_t cap)
{
    size_t o = 0;
    for (const xmlChar *p = name; p && *p && o < NAME_ECHO && o + 1 < cap; p++)
        buf[o++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
    buf[o] = '\0';
    return buf;
}

__attribute__((format(printf, 3, 4))) static void fail_off(sa_perr *err, size_t off,
                                                           const char *fmt, ...)
{
    va_list ap;
    err->off = off;
    err->has_linecol = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

/* ---- before libxml2: the encoding, and the width of every start tag ---------------------- */

/* The document as libxml2 will decode it: code units of w bytes (2: UTF-16). */
typedef struct units {
    const unsigned char *p;
    size_t n;  /* number of units */
    unsigned w;
    int be;    /* UTF-16 big-endian */
} units;

static unsigned unit(const units *u, size_t i)
{
    if (u->w == 1)
        return u->p[i];
    const unsigned char *q = u->p + 2 * i;
    return u->be ? (unsigned)q[0] << 8 | q[1] : (unsigned)q[1] << 8 | q[0];
}

/* Encodings (names upper-cased, '-', '_' and '.' dropped) in which every byte below 0x80 is
 * the ASCII character and never part of a multibyte one: markup means the same bytes as in
 * UTF-8, so the start-tag measurement holds. Shift_JIS is not one (0x5C is the yen sign). */
static int ascii_compatible(const char *norm)
{
    static const char *const exact[] = {"ASCII",  "USASCII", "KOI8R",  "KOI8U",  "EUCJP",
                                        "EUCKR",  "EUCCN",   "GB2312", "GBK",    "GB18030",
                                        "BIG5",   "LATIN1",  "LATIN2", "LATIN3", "LATIN4",
                                        "LATIN5", "LATIN6",  "LATIN7", "LATIN8", "LATIN9",
                                        "LATIN10"};
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(norm, exact[i]) == 0)
            return 1;
    static const char *const families[] = {"ISO8859", "WINDOWS125", "CP125"};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        size_t l = strlen(families[i]);
        if (strncmp(norm, families[i], l) == 0 && norm[l] >= '0' && norm[l] <= '9' &&
            (norm[l + 1] == '\0' || (norm[l + 1] >= '0' && norm[l + 1] <= '9' &&
                                     norm[l + 2] == '\0')))
            return 1;
    }
    return 0;
}

/* The encoding named by the XML declaration at the start of t, copied into enc (empty when
 * there is none or it is malformed: libxml2 then reads UTF-8 and reports the malformation).
 * Returns the name's offset. */
static size_t declared_encoding(const char *t, size_t n, char *enc, size_t cap)
{
    enc[0] = '\0';
    if (!starts(t, n, 0, "<?xml") || n < 6 || !is_blank((unsigned char)t[5]))
        return 0;
    size_t end = find(t, n < 1024 ? n : 1024, 5, "?>");
    size_t i = 5;
    while (i < end) {
        if (!(is_blank((unsigned char)t[i - 1]) && starts(t, end, i, "encoding"))) {
            i++;
            continue;
        }
        i += 8;
        while (i < end && is_blank((unsigned char)t[i]))
            i++;
        if (i >= end || t[i] != '=')
            return 0;
        i++;
        while (i < end && is_blank((unsigned char)t[i]))
            i++;
        if (i >= end || (t[i] != '"' && t[i] != '\''))
            return 0;
        char q = t[i++];
        size_t s = i;
        while (i < end && t[i] != q)
            i++;
        if (i >= end || i - s == 0 || i - s >= cap)
            return 0;
        memcpy(enc, t + s, i - s);
        enc[i - s] = '\0';
        return s;
    }
    return 0;
}

/* Decide how libxml2 reads the bytes, as xmlDetectCharEncoding does on the first four: fill
 * *u, and enc with an encoding to pass to libxml2 (empty: UTF-8 or its own detection).
 * -1 with *err for an encoding we do not read. */
static int sniff(const sa_doc *doc, units *u, char *enc, size_t cap, sa_perr *err)
{
    const unsigned char *p = (const unsigned char *)doc->text;
    size_t n = doc->len;
    *u = (units){.p = p, .n = n, .w = 1};
    enc[0] = '\0';
    if (n >= 4) {
        unsigned long b = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
                          (unsigned long)p[2] << 8 | p[3];
        if (b == 0x0000003CUL || b == 0x3C000000UL || b == 0x00003C00UL ||
            b == 0x003C0000UL || b == 0x4C6FA794UL) {
            fail_off(err, 0, "document is in UCS-4 or EBCDIC; convert the file to UTF-8");
            return -1;
        }
        int bom8 = p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF;
        if (b == 0x3C3F786DUL || bom8)
            ;  /* "<?xm" or a UTF-8 byte order mark */
        else if (b == 0x3C003F00UL || (p[0] == 0xFF && p[1] == 0xFE))
            *u = (units){.p = p, .n = n / 2, .w = 2, .be = 0};
        else if (b == 0x003C003FUL || (p[0] == 0xFE && p[1] == 0xFF))
            *u = (units){.p = p, .n = n / 2, .w = 2, .be = 1};
        if (u->w == 2 || bom8)
            return 0;  /* libxml2 converts UTF-16 itself; a BOM outranks the declaration */
    }
    char name[64], norm[64];
    size_t at = declared_encoding(doc->text, n, name, sizeof(name));
    if (name[0] == '\0')
        return 0;
    size_t k = 0;
    for (const char *s = name; *s && k + 1 < sizeof(norm); s++)
        if (*s != '-' && *s != '_' && *s != '.')
            norm[k++] = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
    norm[k] = '\0';
    if (strcmp(norm, "UTF8") == 0)
        return 0;
    if (!ascii_compatible(norm)) {
        char shown[NAME_ECHO + 1];
        fail_off(err, at, "document encoding %s is not supported; convert the file to UTF-8",
                 printable((const xmlChar *)name, shown, sizeof(shown)));
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80) {
            snprintf(enc, cap, "%s", name);  /* otherwise ASCII reads the same as UTF-8 */
            break;
        }
    return 0;
}

/* Refuse a start tag with more than MAX_TAG_ATTRS attributes before libxml2 checks them for
 * duplicates, pairwise. A tag's attributes lie between its '<' and the first '>' outside
 * quotes, and never past the next '<' (libxml2 ends the tag there, even inside a value): so
 * counting '=' outside quotes from every '<' (in comments too: a harmless over-count) to
 * there bounds what libxml2 collects, whatever it makes of the rest. Linear: the stretches
 * do not overlap. */
static int check_tags(const units *u, sa_perr *err)
{
    size_t i = 0;
    while (i < u->n) {
        if (unit(u, i) != '<') {
            i++;
            continue;
        }
        size_t start = i, eq = 0;
        unsigned q = 0;
        for (i++; i < u->n; i++) {
            unsigned c = unit(u, i);
            if (c == '<')
                break;
            if (q) {
                if (c == q)
                    q = 0;
            } else if (c == '"' || c == '\'') {
                q = c;
            } else if (c == '>') {
                break;
            } else if (c == '=' && ++eq > MAX_TAG_ATTRS) {
                fail_off(err, start * u->w, "start tag with more than %d attributes",
                         MAX_TAG_ATTRS);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- parse state and SAX hooks ----------------------------------------------------------- */

typedef struct xstate {
    sa_doc *doc;
    int refused;              /* a hook refused the document: refused_off, refused_msg */
    size_t refused_off;
    char refused_msg[sizeof(((sa_perr *)0)->msg)];
    int oom;                  /* libxml2 ran out of memory */
    int err_level;            /* the error kept (the first fatal one): its level, 0 if none */
    int err_line, err_col;
    char err_msg[200];
    size_t nodes;             /* the root, elements and attributes so far */
    unsigned attr_decls;
    unsigned long line;       /* converted input: a forward cursor, line number of line_off */
    size_t line_off;
    startElementNsSAX2Func start;  /* libxml2's own handlers */
    endElementNsSAX2Func end;
    attributeDeclSAXFunc attr_decl;
} xstate;

static int converted(const xmlParserCtxt *ctxt)
{
    return ctxt->input != NULL && ctxt->input->buf != NULL &&
           ctxt->input->buf->encoder != NULL;
}

/* Converted input: the byte offset of 1-based line in the file. Lines are asked for in
 * document order, so one forward cursor keeps the parse linear; an earlier line gets the
 * cursor's. Lines are counted as the line map counts them (0x0A bytes). */
static size_t line_start(xstate *st, unsigned long line)
{
    const char *t = st->doc->text;
    size_t n = st->doc->len;
    while (st->line < line && st->line_off < n) {
        const char *nl = memchr(t + st->line_off, '\n', n - st->line_off);
        if (nl == NULL)
            break;
        st->line_off = (size_t)(nl - t) + 1;
        st->line++;
    }
    return st->line_off;
}

/* Byte offset in the file of p, a position in the main input's buffer at or before cur,
 * clamped into the text. Exact unless libxml2 converts the input; then the start of p's
 * line. Trap: libxml2 shrinks its buffer as it goes, and `consumed` counts what it dropped. */
static size_t input_off(xmlParserCtxtPtr ctxt, xstate *st, const xmlChar *p)
{
    xmlParserInputPtr in = ctxt->input;
    size_t off, n = st->doc->len;
    if (ctxt->inputNr != 1 || in == NULL || in->base == NULL || p == NULL || p < in->base)
        return st->line_off;
    if (converted(ctxt)) {
        long line = in->line;
        for (const xmlChar *q = p; q < in->cur; q++)
            line -= *q == '\n';
        off = line_start(st, line > 0 ? (unsigned long)line : 1);
    } else {
        off = (size_t)in->consumed + (size_t)(p - in->base);
    }
    return off < n ? off : (n ? n - 1 : 0);
}

/* Keep the first refusal, stop the parser (it returns at its next check). */
__attribute__((format(printf, 3, 4))) static void refuse(xmlParserCtxtPtr ctxt, size_t off,
                                                         const char *fmt, ...)
{
    xstate *st = ctxt->_private;
    if (!st->refused) {
        va_list ap;
        st->refused = 1;
        st->refused_off = off;
        va_start(ap, fmt);
        vsnprintf(st->refused_msg, sizeof(st->refused_msg), fmt, ap);
        va_end(ap);
    }
    xmlStopParser(ctxt);
}

/* The first "<!ENTITY" that is markup (not inside a comment, a processing instruction or a
 * quoted literal), or SIZE_MAX. libxml2 parsed the prolog up to the first declaration
 * without error (its SAX handler ran), so this scan from the start agrees with it. */
static size_t first_entity_decl(const char *t, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (starts(t, n, i, "<!--"))
            i = find(t, n, i + 4, "-->") + 3;
        else if (starts(t, n, i, "<?"))
            i = find(t, n, i + 2, "?>") + 2;
        else if (t[i] == '"' || t[i] == '\'')
            i = find(t, n, i + 1, t[i] == '"' ? "\"" : "'") + 1;
        else if (starts(t, n, i, "<!ENTITY"))
            return i;
        else
            i++;
    }
    return SIZE_MAX;
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
    char shown[NAME_ECHO + 1];
    size_t off = converted(ctxt) ? SIZE_MAX : first_entity_decl(st->doc->text, st->doc->len);
    if (off == SIZE_MAX)
        off = input_off(ctxt, st, ctxt->input->cur);
    refuse(ctxt, off, "document declares entity %s; entities are refused",
           printable(name, shown, sizeof(shown)));
}

/* <!ENTITY x SYSTEM "..." NDATA n> reaches this handler, not entityDecl. */
static void on_unparsed_decl(void *ctx, const xmlChar *name, const xmlChar *public_id,
                             const xmlChar *system_id, const xmlChar *notation)
{
    (void)notation;
    on_entity_decl(ctx, name, XML_EXTERNAL_GENERAL_UNPARSED_ENTITY, public_id, system_id,
                   NULL);
}

/* libxml2 asks for every entity referred to but the predefined ones: "&x;" in content or an
 * attribute value, "%p;" in the DTD. None can be declared here, so the reference is to one
 * declared outside, which must not silently expand to nothing. The reference ends at cur;
 * its '&' or '%' is the name's length + 2 bytes before, when the bytes say so. */
static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    if (st->refused)
        return NULL;
    xmlParserInputPtr in = ctxt->input;
    const xmlChar *p = in->cur;
    size_t nl = strlen((const char *)name) + 2;
    if (p != NULL && in->base != NULL && (size_t)(p - in->base) >= nl && p[-1] == ';' &&
        (p[-(ptrdiff_t)nl] == '&' || p[-(ptrdiff_t)nl] == '%'))
        p -= nl;
    char shown[NAME_ECHO + 1];
    refuse(ctxt, input_off(ctxt, st, p), "document refers to entity %s; entities are refused",
           printable(name, shown, sizeof(shown)));
    return NULL;
}

/* An attribute declaration: handed on (the handler owns tree); one with a default value is
 * refused, at the value, and so is the (MAX_ATTR_DECLS + 1)th, at its end.
 * xmlParseAttributeListDecl has just read the declaration and the blanks after it: its last
 * byte is the last non-blank one before cur (the default's closing quote, if any). */
static void on_attr_decl(void *ctx, const xmlChar *elem, const xmlChar *name, int type,
                         int def, const xmlChar *value, xmlEnumerationPtr tree)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    st->attr_decl(ctx, elem, name, type, def, value, tree);
    if (st->refused)
        return;
    xmlParserInputPtr in = ctxt->input;
    const xmlChar *p = in->cur, *q = in->cur;
    while (q > in->base && is_blank(q[-1]))
        q--;
    char shown[NAME_ECHO + 1];
    if (value != NULL) {
        if (q > in->base && (q[-1] == '"' || q[-1] == '\'')) {
            const xmlChar *open = q - 1;
            while (open > in->base && open[-1] != q[-1])
                open--;
            if (open > in->base)
                p = open;  /* the value's first byte */
        }
        refuse(ctxt, input_off(ctxt, st, p),
               "document declares a default for attribute %s; attribute defaults are refused",
               printable(name, shown, sizeof(shown)));
    } else if (++st->attr_decls > MAX_ATTR_DECLS) {
        refuse(ctxt, input_off(ctxt, st, q), "DTD declares more than %d attributes",
               MAX_ATTR_DECLS);
    }
}

/* libxml2 builds the element, then we record where its start tag begins (node->_private,
 * offset + 1), count it against the node budget and its namespaces in scope. The start tag
 * ends at cur ('>' or "/>"); libxml2 does not shrink its buffer inside a start tag. */
static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    xmlNodePtr parent = ctxt->node;
    st->start(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
              nb_defaulted, attributes);
    xmlNodePtr node = ctxt->node;
    xmlParserInputPtr in = ctxt->input;
    if (node == NULL || node == parent || in == NULL || in->cur == NULL || in->base == NULL)
        return;  /* no new node: libxml2 ran out of memory and said so */
    size_t off;
    if (converted(ctxt)) {
        const xmlChar *p = in->cur;
        while (p > in->base && *p != '<')
            p--;
        off = input_off(ctxt, st, p);
    } else {
        off = input_off(ctxt, st, in->cur);
        while (off > 0 && st->doc->text[off] != '<')
            off--;
    }
    node->_private = (void *)(uintptr_t)(off + 1);
    st->nodes += 1 + (size_t)(nb_attributes > 0 ? nb_attributes : 0);
    if (st->nodes > st->doc->lim->max_nodes)
        refuse(ctxt, off, "document has too many nodes");
    else if (ctxt->nsNr / 2 > MAX_NS_SCOPE)
        refuse(ctxt, off, "more than %d namespace declarations in scope", MAX_NS_SCOPE);
}

/* Where the element ends (node->psvi, offset + 1: unused by libxml2 for elements): the end
 * tag's '>' (or "/>") has just been read. Only exact offsets are worth keeping. */
static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt->_private;
    xmlNodePtr node = ctxt->node;
    if (node != NULL && node->type == XML_ELEMENT_NODE && ctxt->input != NULL &&
        ctxt->input->cur != NULL && !converted(ctxt))
        node->psvi = (void *)(uintptr_t)(input_off(ctxt, st, ctxt->input->cur) + 1);
    st->end(ctx, localname, prefix, uri);
}

/* Copy libxml2's message src into dst[cap]: spaces and control bytes (C0, DEL) become one
 * space, C1 controls and broken UTF-8 '?', every word longer than WORD_ECHO bytes is cut at
 * a character boundary and marked "...", the advice to use XML_PARSE_HUGE (not advice for a
 * scanner's user) is dropped, and so are trailing spaces and a trailing period. */
static void tidy(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src, *end = p + strlen(src);
    const char *huge = strstr(src, " use XML_PARSE_HUGE option");
    if (huge != NULL)
        end = (const unsigned char *)huge;
    size_t o = 0, word = 0;
    int cut = 0;
    while (p < end && o + 1 < cap) {
        unsigned c = *p;
        if (c <= 0x20 || c == 0x7f) {
            if (o > 0 && dst[o - 1] != ' ')
                dst[o++] = ' ';
            word = 0;
            cut = 0;
            p++;
            continue;
        }
        size_t l = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
                 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
        int bad = l == 0 || (size_t)(end - p) < l;
        for (size_t k = 1; !bad && k < l; k++)
            bad = (p[k] & 0xC0) != 0x80;
        const char *ch = (const char *)p;
        if (bad || (c == 0xC2 && p[1] < 0xA0)) {  /* broken, or U+0080..U+009F */
            ch = "?";
            p += bad ? 1 : l;
            l = 1;
        } else {
            p += l;
        }
        if (cut)
            continue;
        if (word + l > WORD_ECHO) {
            if (o + 3 < cap) {
                memcpy(dst + o, "...", 3);
                o += 3;
            }
            cut = 1;
            continue;
        }
        if (o + l >= cap)
            break;
        memcpy(dst + o, ch, l);
        o += l;
        word += l;
    }
    while (o > 0 && dst[o - 1] == ' ')
        o--;
    if (o > 0 && dst[o - 1] == '.' && !(o >= 3 && dst[o - 2] == '.' && dst[o - 3] == '.'))
        o--;
    if (cap > 0)
        dst[o < cap ? o : cap - 1] = '\0';
}

/* The context's structured error handler. Keeps the first fatal error (or the first error,
 * until a fatal one comes), notes running out of memory, and at a fatal error sets the
 * parser's state to EOF: libxml2 would otherwise parse on (with SAX off, so unmeasured) to
 * the end. Only the state is set: xmlStopParser would free the buffer that the caller of
 * the error routine may still be reading. Two of libxml2's size limits are said in words a
 * user can act on: its 10 MB text node arrives as "out of memory" from xmlSAX2Characters,
 * and Debian's 2.9.14 gives up with "Huge input lookup" past 10 MB of input at some places. */
static void on_error(void *ctx, xerr_ptr e)
{
    xmlParserCtxtPtr ctxt = ctx;
    xstate *st = ctxt != NULL ? ctxt->_private : NULL;
    if (st == NULL || e == NULL || e->level < XML_ERR_ERROR)
        return;
    const char *msg = e->message != NULL ? e->message : "not well-formed XML";
    const char *plain = NULL;
    if (e->code == XML_ERR_NO_MEMORY && strstr(msg, "huge text node") != NULL)
        plain = "text longer than libxml2's limit of 10000000 bytes";
    else if (e->code == XML_ERR_INTERNAL_ERROR && strstr(msg, "Huge input lookup") != NULL)
        plain = "document too large for libxml2 (10000000 bytes)";
    if (e->code == XML_ERR_NO_MEMORY && plain == NULL)
        st->oom = 1;
    if (e->level == XML_ERR_FATAL || e->code == XML_ERR_NO_MEMORY)
        ctxt->instate = XML_PARSER_EOF;
    int level = plain != NULL ? XML_ERR_FATAL : (int)e->level;
    if (st->err_level == XML_ERR_FATAL || (st->err_level && level != XML_ERR_FATAL))
        return;
    st->err_level = level;
    st->err_line = e->line;
    st->err_col = e->int2;
    if (plain != NULL)
        snprintf(st->err_msg, sizeof(st->err_msg), "%s", plain);
    else
        tidy(st->err_msg, sizeof(st->err_msg), msg);
}

/* Errors without a parser context (building the tree, buffers) go to the thread's structured
 * handler, which sa_parse_xml points here while it runs: only running out of memory matters,
 * since libxml2 then goes on with a piece of the tree silently missing. */
static void on_global_error(void *data, xerr_ptr e)
{
    xstate *st = data;
    if (e != NULL && e->code == XML_ERR_NO_MEMORY)
        st->oom = 1;
}

/* ---- conversion into the positioned tree ------------------------------------------------- */

typedef struct conv {
    sa_doc *doc;
    sa_perr *err;
    int approx;  /* converted input: every node at its element's line start */
} conv;

static size_t node_off(const xmlNode *n)
{
    uintptr_t p = (uintptr_t)n->_private;
    return p ? (size_t)(p - 1) : 0;
}

static size_t node_end(const xmlNode *n)
{
    uintptr_t p = (uintptr_t)n->psvi;
    return p ? (size_t)(p - 1) : 0;
}

static const xmlNode *next_element(const xmlNode *n)
{
    while (n != NULL && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static int conv_oom(conv *c, size_t off)
{
    fail_off(c->err, off, "%s",
             sa_doc_over_budget(c->doc) ? "document has too many nodes" : "out of memory");
    return -1;
}

/* key = prefix ":" name (prefix may be NULL), after lead ("@" or ""), in the arena. */
static int set_qname(conv *c, sa_node *node, const char *lead, const xmlNs *ns,
                     const xmlChar *name, size_t key_off, const char *what)
{
    const char *pre = ns != NULL && ns->prefix != NULL ? (const char *)ns->prefix : NULL;
    size_t ll = strlen(lead), pl = pre ? strlen(pre) + 1 : 0;
    size_t nl = name ? strlen((const char *)name) : 0;
    size_t len = ll + pl + nl;  /* each part is a C string in memory: no overflow */
    if (len > c->doc->lim->max_string) {
        fail_off(c->err, key_off, "%s name too long", what);
        return -1;
    }
    char *k = sa_arena_alloc(c->doc->arena, len + 1);
    if (k == NULL)
        return conv_oom(c, key_off);
    memcpy(k, lead, ll);
    if (pre) {
        memcpy(k + ll, pre, pl - 1);
        k[ll + pl - 1] = ':';
    }
    if (nl)
        memcpy(k + ll + pl, name, nl);
    k[len] = '\0';
    node->key = k;
    node->key_len = len;
    node->key_off = key_off;
    return 0;
}

/* One attribute of a start tag, from *pos on: its name [*name_off, +*name_len) and the
 * offset of its value (after the quote); *pos moves past the value. -1 at the tag's end. */
static int next_attr(const sa_doc *doc, size_t *pos, size_t *name_off, size_t *name_len,
                     size_t *val_off)
{
    const char *t = doc->text;
    size_t n = doc->len, i = *pos;
    while (i < n && is_blank((unsigned char)t[i]))
        i++;
    if (i >= n || t[i] == '>' || t[i] == '/')
        return -1;
    size_t ns = i;
    while (i < n && !is_blank((unsigned char)t[i]) && t[i] != '=' && t[i] != '>')
        i++;
    *name_off = ns;
    *name_len = i - ns;
    while (i < n && is_blank((unsigned char)t[i]))
        i++;
    if (i >= n || t[i] != '=')
        return -1;
    i++;
    while (i < n && is_blank((unsigned char)t[i]))
        i++;
    if (i >= n || (t[i] != '"' && t[i] != '\''))
        return -1;
    char q = t[i++];
    *val_off = i;
    while (i < n && t[i] != q)
        i++;
    *pos = i < n ? i + 1 : n;
    return 0;
}

/* The offset after the start tag at off: past the first '>' outside quotes. */
static size_t tag_end(const sa_doc *doc, size_t off)
{
    const char *t = doc->text;
    size_t n = doc->len;
    char q = 0;
    for (size_t i = off + 1; i < n; i++) {
        if (q) {
            if (t[i] == q)
                q = 0;
        } else if (t[i] == '"' || t[i] == '\'') {
            q = t[i];
        } else if (t[i] == '>') {
            return i + 1;
        }
    }
    return n;
}

/* Value of the character reference at t[i] ("&#...;"), saturated; *after past its ';'. */
static unsigned long char_ref(const char *t, size_t n, size_t i, size_t *after)
{
    unsigned long v = 0;
    int hex = i + 2 < n && t[i + 2] == 'x';
    size_t k = i + (hex ? 3 : 2);
    for (; k < n && t[k] != ';'; k++) {
        unsigned d = t[k] >= '0' && t[k] <= '9'   ? (unsigned)(t[k] - '0')
                     : t[k] >= 'a' && t[k] <= 'f' ? (unsigned)(t[k] - 'a' + 10)
                     : t[k] >= 'A' && t[k] <= 'F' ? (unsigned)(t[k] - 'A' + 10)
                                                   : 0;
        if (v < 0x1000000UL)
            v = v * (hex ? 16 : 10) + d;
    }
    *after = k < n ? k + 1 : n;
    return v;
}

/* Where el's text is first not blank: the first character of its content that is not blank
 * and not markup (inside a CDATA section: the section's own first such character; a
 * reference: its '&'). The document is well formed, so this lexer agrees with libxml2's;
 * child elements are jumped over by the offsets the SAX hooks recorded, so every byte is
 * looked at by one element only. SIZE_MAX when there is none (it disagrees). */
static size_t text_start(const sa_doc *doc, const xmlNode *el)
{
    const char *t = doc->text;
    size_t n = doc->len, i = tag_end(doc, node_off(el));
    const xmlNode *k = next_element(el->children);
    while (i < n) {
        unsigned char ch = (unsigned char)t[i];
        if (ch == '<') {
            if (starts(t, n, i, "</"))
                break;
            if (starts(t, n, i, "<!--")) {
                i = find(t, n, i + 4, "-->") + 3;
            } else if (starts(t, n, i, "<![CDATA[")) {
                size_t e = find(t, n, i + 9, "]]>");
                for (size_t j = i + 9; j < e; j++)
                    if (!is_blank((unsigned char)t[j]))
                        return j;
                i = e + 3;
            } else if (starts(t, n, i, "<?")) {
                i = find(t, n, i + 2, "?>") + 2;
            } else {
                if (k == NULL || node_off(k) != i || node_end(k) <= i)
                    break;
                i = node_end(k);
                k = next_element(k->next);
            }
            continue;
        }
        if (ch == '&') {
            size_t after;
            unsigned long v = t[i + 1 < n ? i + 1 : i] == '#' ? char_ref(t, n, i, &after) : 'x';
            if (v == ' ' || v == '\t' || v == '\n' || v == '\r') {
                i = after;
                continue;
            }
            return i;
        }
        if (!is_blank(ch))
            return i;
        i++;
    }
    return SIZE_MAX;
}

/* Measure the text of an attribute or element: its text (and CDATA) children. Attributes
 * and elements have no other children here (entity references are refused); one would be a
 * reference we did not refuse, so it fails. *len: the joined length, *blank: only blanks. */
static int measure_text(conv *c, const xmlNode *first, size_t off, size_t *len, int *blank)
{
    size_t total = 0;
    *blank = 1;
    for (const xmlNode *k = first; k != NULL; k = k->next) {
        if (k->type == XML_ENTITY_REF_NODE) {
            char shown[NAME_ECHO + 1];
            fail_off(c->err, off, "document refers to entity %s; entities are refused",
                     printable(k->name, shown, sizeof(shown)));
            return -1;
        }
        if ((k->type != XML_TEXT_NODE && k->type != XML_CDATA_SECTION_NODE) ||
            k->content == NULL)
            continue;
        const char *s = (const char *)k->content;
        size_t l = strlen(s);
        for (size_t i = 0; i < l && *blank; i++)
            *blank = is_blank((unsigned char)s[i]);
        total += l;  /* bounded by the bytes libxml2 holds: no overflow */
    }
    *len = total;
    return 0;
}

/* A scalar node at off holding the text children of first joined (len bytes, measured). */
static sa_node *text_node(conv *c, const xmlNode *first, size_t off, size_t len,
                          const char *what)
{
    if (len > c->doc->lim->max_string) {
        fail_off(c->err, off, "%s too long", what);
        return NULL;
    }
    sa_node *s = sa_node_new(c->doc, SA_STR, off);
    char *buf = s ? sa_arena_alloc(c->doc->arena, len + 1) : NULL;
    if (buf == NULL) {
        conv_oom(c, off);
        return NULL;
    }
    size_t o = 0;
    for (const xmlNode *k = first; k != NULL; k = k->next)
        if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) &&
            k->content != NULL) {
            size_t l = strlen((const char *)k->content);
            memcpy(buf + o, k->content, l);
            o += l;
        }
    buf[o] = '\0';
    s->str = buf;
    s->len = o;
    return s;
}

/* Whether the attribute's qualified name (prefix:name as libxml2 keeps it) is src[0..n). */
static int attr_named(const xmlAttr *a, const char *src, size_t n)
{
    const char *pre = a->ns != NULL && a->ns->prefix != NULL ? (const char *)a->ns->prefix
                                                               : NULL;
    size_t pl = pre ? strlen(pre) : 0, nl = strlen((const char *)a->name);
    if (pre && (n != pl + 1 + nl || memcmp(src, pre, pl) != 0 || src[pl] != ':'))
        return 0;
    if (pre)
        src += pl + 1, n -= pl + 1;
    return n == nl && memcmp(src, a->name, nl) == 0;
}

/* The map of element el, appended to up: key, attributes, and its text ("#text", appended
 * last for now: finish() moves it among the child elements). *out gets the map. */
static int enter(conv *c, const xmlNode *el, sa_node *up, sa_node **out)
{
    sa_doc *doc = c->doc;
    size_t off = el->_private ? node_off(el) : up->off;
    sa_node *m = sa_node_new(doc, SA_MAP, off);
    if (m == NULL)
        return conv_oom(c, off);
    if (set_qname(c, m, "", el->ns, el->name, off, "element") < 0)
        return -1;
    sa_node_append(up, m);
    *out = m;

    /* attributes, in source order: one forward scan of the start tag finds them all */
    int exact = !c->approx && off < doc->len && doc->text[off] == '<';
    size_t pos = off + 1;
    while (exact && pos < doc->len && !is_blank((unsigned char)doc->text[pos]) &&
           doc->text[pos] != '>' && doc->text[pos] != '/')
        pos++;
    for (const xmlAttr *a = el->properties; a != NULL; a = a->next) {
        size_t koff = off, voff = off, no, nl, vl;
        int blank;
        while (exact) {
            if (next_attr(doc, &pos, &no, &nl, &voff) < 0) {
                exact = 0;  /* not where we think: the element's offset from now on */
                voff = off;
            } else if (attr_named(a, doc->text + no, nl)) {
                koff = no;
                break;
            }
        }
        if (measure_text(c, a->children, voff, &vl, &blank) < 0)
            return -1;
        sa_node *s = text_node(c, a->children, voff, vl, "attribute value");
        if (s == NULL || set_qname(c, s, "@", a->ns, a->name, koff, "attribute") < 0)
            return -1;
        s->flags |= SA_NODE_QUOTED;
        sa_node_append(m, s);
    }

    /* text: its text and CDATA children joined, when not blank */
    size_t tl;
    int blank;
    if (measure_text(c, el->children, off, &tl, &blank) < 0)
        return -1;
    if (!blank) {
        size_t toff = c->approx ? off : text_start(doc, el);
        if (toff == SIZE_MAX)
            toff = tag_end(doc, off);
        sa_node *s = text_node(c, el->children, toff, tl, "text");
        if (s == NULL)
            return -1;
        if (sa_node_set_key(doc, s, "#text", 5, toff) < 0)
            return conv_oom(c, toff);
        sa_node_append(m, s);
    }
    return 0;
}

/* After m's children: move its "#text" (appended after the attributes) behind the child
 * elements that start before it, so members are in document order; mark repeated keys. */
static int finish(conv *c, sa_node *m)
{
    sa_node *prev = NULL, *t = m->first;
    while (t != NULL && !(t->type == SA_STR && t->key_len == 5 && memcmp(t->key, "#text", 5) == 0))
        prev = t, t = t->next;
    if (t != NULL) {
        sa_node *after = NULL;
        for (sa_node *k = t->next; k != NULL && k->off < t->off; k = k->next)
            after = k;
        if (after != NULL) {
            if (prev != NULL)
                prev->next = t->next;
            else
                m->first = t->next;
            t->next = after->next;
            after->next = t;
            if (m->last == after)
                m->last = t;
        }
    }
    return sa_map_mark_dups(m) < 0 ? conv_oom(c, m->off) : 0;
}

/* The element tree below top, into root. Iterative: the libxml2 tree's own links are the
 * stack, so depth costs no C stack; depth is checked against the doc's limit. */
static int convert(conv *c, const xmlNode *top, sa_node *root)
{
    const xmlNode *x = top;
    sa_node *up = root, *m = NULL;
    unsigned depth = 1;
    for (;;) {
        if (depth > c->doc->lim->max_depth) {
            fail_off(c->err, node_off(x), "nesting deeper than %u levels",
                     c->doc->lim->max_depth);
            return -1;
        }
        if (enter(c, x, up, &m) < 0)
            return -1;
        const xmlNode *k = next_element(x->children);
        if (k != NULL) {
            up = m;
            x = k;
            depth++;
            continue;
        }
        for (;;) {
            if (finish(c, m) < 0)
                return -1;
            if (x == top)
                return 0;
            const xmlNode *s = next_element(x->next);
            if (s != NULL) {
                x = s;
                break;
            }
            x = x->parent;
            m = up;
            up = up->parent;
            depth--;
        }
    }
}

/* ---- the parser -------------------------------------------------------------------------- */

int sa_parse_xml(sa_doc *doc, sa_perr *err)
{
    memset(err, 0, sizeof(*err));
    if (doc->len > INT32_MAX) {
        fail_off(err, 0, "document too large");
        return -1;
    }
    units u;
    char enc[64];
    if (sniff(doc, &u, enc, sizeof(enc), err) < 0 || check_tags(&u, err) < 0)
        return -1;

    xstate st = {.doc = doc, .line = 1, .nodes = 1};
    xmlStructuredErrorFunc old_handler = xmlStructuredError;
    void *old_handler_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(&st, on_global_error);
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL || ctxt->sax == NULL) {
        xmlFreeParserCtxt(ctxt);
        xmlSetStructuredErrorFunc(old_handler_ctx, old_handler);
        fail_off(err, 0, "out of memory");
        return -1;
    }
    /* ctxt->sax belongs to this context: the hooks never leak into another parse */
    st.start = ctxt->sax->startElementNs ? ctxt->sax->startElementNs : xmlSAX2StartElementNs;
    st.end = ctxt->sax->endElementNs ? ctxt->sax->endElementNs : xmlSAX2EndElementNs;
    st.attr_decl = ctxt->sax->attributeDecl ? ctxt->sax->attributeDecl : xmlSAX2AttributeDecl;
    ctxt->_private = &st;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->unparsedEntityDecl = on_unparsed_decl;
    ctxt->sax->getEntity = on_get_entity;
    ctxt->sax->getParameterEntity = on_get_entity;
    ctxt->sax->attributeDecl = on_attr_decl;
    ctxt->sax->serror = on_error;
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
               XML_PARSE_BIG_LINES | XML_PARSE_IGNORE_ENC;
#if LIBXML_VERSION >= 21300
    opts |= XML_PARSE_NO_XXE;
#endif
    xmlDocPtr xdoc = xmlCtxtReadMemory(ctxt, doc->len ? doc->text : "", (int)doc->len, NULL,
                                       enc[0] ? enc : NULL, opts);
    int rc = -1;
    if (st.refused) {
        fail_off(err, st.refused_off, "%s", st.refused_msg);
    } else if (st.oom) {
        fail_off(err, 0, "out of memory");
    } else if (xdoc == NULL || !ctxt->wellFormed || ctxt->disableSAX) {
        /* disableSAX without an error: libxml2 stopped building the tree; never trust it */
        xerr_ptr last = xmlCtxtGetLastError(ctxt);
        if (st.err_level == 0 && last != NULL && last->code != XML_ERR_OK) {
            st.err_level = last->level;
            st.err_line = last->line;
            st.err_col = last->int2;
            tidy(st.err_msg, sizeof(st.err_msg),
                 last->message ? last->message : "not well-formed XML");
        }
        snprintf(err->msg, sizeof(err->msg), "%s",
                 st.err_level ? st.err_msg : "not well-formed XML");
        if (st.err_level && st.err_line > 0) {
            err->has_linecol = 1;
            err->line = (unsigned)st.err_line;
            err->col = st.err_col > 0 ? (unsigned)st.err_col : 1;
        }
    } else {
        conv c = {.doc = doc, .err = err, .approx = u.w != 1 || enc[0] != '\0'};
        sa_node *root = sa_node_new(doc, SA_MAP, 0);
        const xmlNode *top = xmlDocGetRootElement(xdoc);
        if (root == NULL) {
            conv_oom(&c, 0);
        } else if (top == NULL) {
            fail_off(err, 0, "no root element");
        } else {
            doc->root = root;
            rc = convert(&c, top, root);
        }
        if (rc == 0 && st.oom)
            rc = conv_oom(&c, 0);
    }
    xmlFreeDoc(xdoc);
    xmlFreeParserCtxt(ctxt);
    xmlSetStructuredErrorFunc(old_handler_ctx, old_handler);
    return rc;
}
