/* json.c — JSON with Orthanc's // and block comments into the positioned tree of doc.h.
 *
 * Three passes over a private copy of the file's bytes:
 *   1. blank: comments (string-aware) and a UTF-8 BOM become spaces; newlines inside block
 *      comments are kept, so every byte offset and line stays true;
 *   2. judge: jansson's json_loadb decides whether the copy is JSON (its grammar, its UTF-8
 *      and escape checks). Its tree is dropped at once: jansson keeps no positions. A fast
 *      strict validator (quick_valid) answers first for the common case of plain valid JSON
 *      and defers to jansson whenever it is not sure;
 *   3. build: a small structural scanner walks the copy, now known to be valid, and makes
 *      the nodes with their byte offsets. It is hand-written because no JSON library gives
 *      per-value positions (jansson's maintainer: not planned). It is iterative (no
 *      recursion at all) and applies the doc's depth, node and string limits.
 * When jansson refuses the text, a forward token scan ("locate") finds the token jansson
 * stopped on, so the error points at the unexpected token, or inside a string at the bad
 * escape or byte, rather than after it. Messages are our own: jansson's text may quote raw
 * input bytes.
 *
 * Choices a caller may notice: a lone UTF-16 surrogate (\uD800 alone) is an error (jansson
 * refuses it); \u0000 is accepted in values (str then holds a NUL: use len) but not in keys
 * (jansson refuses it); integers beyond 64 bits are accepted (the tree keeps the number's
 * text), numbers beyond the double range (1e999) are refused. */
#include "secaudit/parse.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"

/* jansson's compiled-in nesting limit (JSON_PARSER_MAX_DEPTH in its load.c). */
enum { JANSSON_MAX_DEPTH = 2048 };

/* Flags for the judge. JSON_DECODE_INT_AS_REAL keeps jansson from refusing integers past
 * 64 bits: only the number's text goes into the tree, so its C value does not matter. */
enum { JUDGE_FLAGS = JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL };

__attribute__((format(printf, 3, 4)))
static void set_err(sa_perr *err, size_t off, const char *fmt, ...)
{
    va_list ap;
    err->off = off;
    err->has_linecol = 0;
    err->line = err->col = 0;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* 1-based line and column (in code points) of off in text; for messages only. */
static void line_col(const char *text, size_t len, size_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1, c = 1;
    if (off > len)
        off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ---- pass 1: blank comments ---------------------------------------------------------- */

/* Turn a leading UTF-8 BOM, // comments (up to, not including, the newline) and block
 * comments (keeping their CR and LF bytes) in b[0..len) into spaces, in place. Strings are
 * skipped: a string ends at its closing quote, or at a newline (which jansson refuses
 * anyway); "\x" skips the escaped byte, so "\"" does not end it. Returns 0, or -1 with
 * *bad = offset of a block comment that is never closed (blanked to the end regardless). */
static int blank_comments(char *b, size_t len, size_t *bad)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB &&
        (unsigned char)b[2] == 0xBF) {
        memset(b, ' ', 3);
        i = 3;
    }
    while (i < len) {
        if (b[i] == '"') {
            i++;
            while (i < len && b[i] != '"' && b[i] != '\n') {
                if (b[i] == '\\' && i + 1 < len && b[i + 1] != '\n')
                    i += 2;
                else
                    i++;
            }
            if (i < len && b[i] == '"')
                i++;
        } else if (b[i] == '/' && i + 1 < len && b[i + 1] == '/') {
            while (i < len && b[i] != '\n')
                b[i++] = ' ';
        } else if (b[i] == '/' && i + 1 < len && b[i + 1] == '*') {
            size_t start = i;
            b[i] = b[i + 1] = ' ';
            i += 2;
            for (;;) {
                if (i >= len) {
                    *bad = start;
                    return -1;
                }
                if (b[i] == '*' && i + 1 < len && b[i + 1] == '/') {
                    b[i] = b[i + 1] = ' ';
                    i += 2;
                    break;
                }
                if (b[i] != '\n' && b[i] != '\r')
                    b[i] = ' ';
                i++;
            }
        } else {
            i++;
        }
    }
    return 0;
}

/* ---- strings ------------------------------------------------------------------------- */

typedef enum str_problem {
    SP_NONE,
    SP_UNCLOSED_EOF,   /* at the opening quote */
    SP_UNCLOSED_LINE,  /* at the opening quote */
    SP_CONTROL,        /* at the control byte */
    SP_ESCAPE,         /* at the backslash */
    SP_HEX,            /* at the backslash of \u */
    SP_SURROGATE       /* at the backslash of \u */
} str_problem;

typedef struct str_scan {
    size_t end;        /* just past the closing quote */
    size_t dlen;       /* decoded length in bytes */
    str_problem why;
    size_t bad;        /* offset of the problem */
} str_scan;

/* The value of the four hex digits at b[i..i+4), or -1 (also when they run past len). */
static long hex4(const char *b, size_t len, size_t i)
{
    long v = 0;
    if (i > len || len - i < 4)
        return -1;
    for (size_t k = i; k < i + 4; k++) {
        char c = b[k];
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t utf8_put(char *out, long cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Scan the JSON string whose opening quote is at b[q] (q < len) under jansson's rules: no
 * byte below 0x20, escapes \" \\ \/ \b \f \n \r \t \uXXXX, a high surrogate escape must be
 * followed by a low one, a low one must follow a high one. Other bytes are copied as they
 * are (jansson has checked the UTF-8). When out is not NULL the decoded bytes are written
 * there; the caller gives room for s->dlen bytes from a first call with out == NULL (the
 * decoded length never exceeds the raw length). Returns 0, or -1 with s->why and s->bad. */
static int scan_string(const char *b, size_t len, size_t q, char *out, str_scan *s)
{
    size_t i = q + 1, n = 0;
    s->why = SP_NONE;
    for (;;) {
        if (i >= len) {
            s->why = SP_UNCLOSED_EOF;
            s->bad = q;
            return -1;
        }
        unsigned char c = (unsigned char)b[i];
        if (c == '"')
            break;
        if (c < 0x20) {
            s->why = c == '\n' ? SP_UNCLOSED_LINE : SP_CONTROL;
            s->bad = c == '\n' ? q : i;
            return -1;
        }
        if (c != '\\') {
            if (out)
                out[n] = (char)c;
            n++;
            i++;
            continue;
        }
        if (i + 1 >= len) {
            s->why = SP_ESCAPE;
            s->bad = i;
            return -1;
        }
        char e = b[i + 1], d;
        switch (e) {
        case '"': d = '"'; break;
        case '\\': d = '\\'; break;
        case '/': d = '/'; break;
        case 'b': d = '\b'; break;
        case 'f': d = '\f'; break;
        case 'n': d = '\n'; break;
        case 'r': d = '\r'; break;
        case 't': d = '\t'; break;
        case 'u': d = 0; break;
        default:
            s->why = SP_ESCAPE;
            s->bad = i;
            return -1;
        }
        if (e != 'u') {
            if (out)
                out[n] = d;
            n++;
            i += 2;
            continue;
        }
        long cp = hex4(b, len, i + 2);
        if (cp < 0) {
            s->why = SP_HEX;
            s->bad = i;
            return -1;
        }
        size_t esc = i;
        i += 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            s->why = SP_SURROGATE;
            s->bad = esc;
            return -1;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            long lo = -1;
            if (i + 1 < len && b[i] == '\\' && b[i + 1] == 'u')
                lo = hex4(b, len, i + 2);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                s->why = SP_SURROGATE;
                s->bad = esc;
                return -1;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (out)
            n += utf8_put(out + n, cp);
        else
            n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
    s->end = i + 1;
    s->dlen = n;
    return 0;
}

static void string_error(sa_perr *err, const char *b, const str_scan *s)
{
    switch (s->why) {
    case SP_UNCLOSED_EOF:
        set_err(err, s->bad, "a string is not closed: the file ends before its closing '\"'");
        break;
    case SP_UNCLOSED_LINE:
        set_err(err, s->bad, "a string is not closed on its line (a '\"' is missing)");
        break;
    case SP_CONTROL:
        set_err(err, s->bad,
                "a string holds the control byte 0x%02X; write it as an escape such as \\t "
                "or \\u%04X", (unsigned)(unsigned char)b[s->bad],
                (unsigned)(unsigned char)b[s->bad]);
        break;
    case SP_ESCAPE:
        set_err(err, s->bad,
                "invalid escape in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX; "
                "a backslash is written \\\\)");
        break;
    case SP_HEX:
        set_err(err, s->bad, "a \\u escape needs four hex digits");
        break;
    case SP_SURROGATE:
        set_err(err, s->bad,
                "a \\u escape is an unpaired UTF-16 surrogate (\\uD800-\\uDFFF come in pairs)");
        break;
    case SP_NONE:
        set_err(err, s->bad, "invalid string");
        break;
    }
}

/* ---- locating jansson's error -------------------------------------------------------- */

typedef enum tok_kind {
    TK_EOF,
    TK_PUNCT,     /* { } [ ] : , */
    TK_STR,
    TK_NUM,
    TK_WORD,      /* true false null */
    TK_STR_BAD,
    TK_NUM_BAD,
    TK_WORD_BAD,
    TK_CTRL,      /* a byte below 0x20 (not whitespace) or 0x7F */
    TK_OTHER      /* any other character */
} tok_kind;

typedef struct tok {
    tok_kind kind;
    size_t start, end;
    str_scan str;  /* for TK_STR_BAD */
} tok;

/* The JSON number at b[i..): returns its end; *ok is 0 when it breaks the grammar (the end
 * then covers what jansson consumed). Mirrors jansson's lexer: no leading zeros, digits
 * after '.', digits after the exponent sign. */
static size_t scan_number(const char *b, size_t len, size_t i, int *ok)
{
    *ok = 0;
    if (i < len && b[i] == '-')
        i++;
    if (i < len && b[i] == '0') {
        i++;
        if (i < len && is_digit(b[i]))
            return i;
    } else if (i < len && is_digit(b[i])) {
        while (i < len && is_digit(b[i]))
            i++;
    } else {
        return i;
    }
    if (i < len && b[i] == '.') {
        i++;
        if (i >= len || !is_digit(b[i]))
            return i;
        while (i < len && is_digit(b[i]))
            i++;
    }
    if (i < len && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < len && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i >= len || !is_digit(b[i]))
            return i;
        while (i < len && is_digit(b[i]))
            i++;
    }
    *ok = 1;
    return i;
}

/* ---- the fast path: a strict validator that jansson never contradicts ------------------
 * Most files are valid JSON, and jansson's full decode (a hash table and an allocation per
 * value) cost more than the rest of the parse. quick_valid accepts a subset of what jansson
 * accepts: plain RFC 8259 JSON with well-formed UTF-8, at most QUICK_MAX_DEPTH deep. Anything
 * it is unsure of (a \u escape of a surrogate or of NUL, an exponent or a very long number,
 * which jansson may refuse as out of range, any error at all) sends the text to jansson,
 * which then decides and gives the error. So the result never depends on which path ran. */
enum { QUICK_MAX_DEPTH = 1000, QUICK_MAX_NUMBER = 300 };

/* A string whose opening quote is at b[*i]; moves *i past the closing quote. 1 when it is
 * surely valid. */
static int quick_string(const char *b, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)b;
    size_t k = *i + 1;
    while (k < len) {
        unsigned c = s[k];
        if (c == '"') {
            *i = k + 1;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (k + 1 >= len)
                return 0;
            char e = b[k + 1];
            if (e == 'u') {
                long cp = hex4(b, len, k + 2);
                if (cp <= 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                    return 0;
                k += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                k += 2;
            } else {
                return 0;
            }
            continue;
        }
        if (c < 0x80) {
            k++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF)
            n = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 4, cp = c & 0x07;
        else
            return 0;
        if (len - k < n)
            return 0;
        for (size_t m = 1; m < n; m++) {
            if ((s[k + m] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[k + m] & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        k += n;
    }
    return 0;
}

/* 1 when b[0..len) is surely one JSON value that jansson accepts. */
static int quick_valid(const char *b, size_t len)
{
    char close[QUICK_MAX_DEPTH];
    size_t depth = 0, i = 0;
    enum { VALUE, KEY, AFTER } want = VALUE;
    for (;;) {
        while (i < len && is_ws(b[i]))
            i++;
        if (want == AFTER) {
            if (depth == 0)
                return i == len;
            if (i == len)
                return 0;
            if (b[i] == ',') {
                i++;
                want = close[depth - 1] == '}' ? KEY : VALUE;
            } else if (b[i] == close[depth - 1]) {
                i++;
                depth--;
            } else {
                return 0;
            }
            continue;
        }
        if (i == len)
            return 0;
        if (want == KEY) {
            if (b[i] != '"' || !quick_string(b, len, &i))
                return 0;
            while (i < len && is_ws(b[i]))
                i++;
            if (i == len || b[i] != ':')
                return 0;
            i++;
            want = VALUE;
            continue;
        }
        char c = b[i];
        want = AFTER;
        if (c == '{' || c == '[') {
            if (depth == QUICK_MAX_DEPTH)
                return 0;
            close[depth++] = c == '{' ? '}' : ']';
            i++;
            while (i < len && is_ws(b[i]))
                i++;
            if (i < len && b[i] == close[depth - 1]) {
                i++;
                depth--;
            } else {
                want = c == '{' ? KEY : VALUE;
            }
        } else if (c == '"') {
            if (!quick_string(b, len, &i))
                return 0;
        } else if (c == '-' || is_digit(c)) {
            int ok;
            size_t end = scan_number(b, len, i, &ok);
            if (!ok || end - i > QUICK_MAX_NUMBER || memchr(b + i, 'e', end - i) ||
                memchr(b + i, 'E', end - i))
                return 0;
            i = end;
        } else if (len - i >= 4 && (memcmp(b + i, "true", 4) == 0 ||
                                    memcmp(b + i, "null", 4) == 0)) {
            i += 4;
        } else if (len - i >= 5 && memcmp(b + i, "false", 5) == 0) {
            i += 5;
        } else {
            return 0;
        }
    }
}

/* The token starting at or after pos (whitespace skipped), as jansson's lexer cuts it. */
static void next_token(const char *b, size_t len, size_t pos, tok *t)
{
    while (pos < len && is_ws(b[pos]))
        pos++;
    t->start = pos;
    if (pos >= len) {
        t->kind = TK_EOF;
        t->end = len;
        return;
    }
    unsigned char c = (unsigned char)b[pos];
    int ok;
    if (c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
        t->kind = TK_PUNCT;
        t->end = pos + 1;
    } else if (c == '"') {
        if (scan_string(b, len, pos, NULL, &t->str) == 0) {
            t->kind = TK_STR;
            t->end = t->str.end;
        } else {
            t->kind = TK_STR_BAD;
            t->end = len;
        }
    } else if (c == '-' || is_digit((char)c)) {
        t->end = scan_number(b, len, pos, &ok);
        if (t->end == pos)
            t->end = pos + 1;
        t->kind = ok ? TK_NUM : TK_NUM_BAD;
    } else if (is_alpha((char)c)) {
        size_t e = pos;
        while (e < len && is_alpha(b[e]))
            e++;
        size_t n = e - pos;
        t->end = e;
        t->kind = (n == 4 && memcmp(b + pos, "true", 4) == 0) ||
                          (n == 5 && memcmp(b + pos, "false", 5) == 0) ||
                          (n == 4 && memcmp(b + pos, "null", 4) == 0)
                      ? TK_WORD
                      : TK_WORD_BAD;
    } else if (c < 0x20 || c == 0x7F) {
        t->kind = TK_CTRL;
        t->end = pos + 1;
    } else {
        size_t e = pos + 1;
        while (e < len && e < pos + 4 && ((unsigned char)b[e] & 0xC0) == 0x80)
            e++;
        t->kind = TK_OTHER;
        t->end = e;
    }
}

static int is_open(const char *b, const tok *t)
{
    return t->kind == TK_PUNCT && (b[t->start] == '{' || b[t->start] == '[');
}

static int is_close(const char *b, const tok *t)
{
    return t->kind == TK_PUNCT && (b[t->start] == '}' || b[t->start] == ']');
}

/* Can this token start a value? */
static int starts_value(const char *b, const tok *t)
{
    return t->kind == TK_STR || t->kind == TK_NUM || t->kind == TK_WORD || is_open(b, t);
}

static int text_is(const json_error_t *je, const char *prefix)
{
    return strncmp(je->text, prefix, strlen(prefix)) == 0;
}

/* Fill err for a text jansson refused (its error in je), b[0..len) being the blanked copy.
 * jansson's position is the number of bytes it consumed: just past the token it stopped on,
 * or at the byte it could not decode. Tokens are cut again from the start up to that point
 * (tracking nesting, so a depth limit crossed earlier is reported first), and the error
 * lands on the token's first byte, or on the problem inside a string. */
static void locate(const sa_doc *doc, const char *b, size_t len, const json_error_t *je,
                   sa_perr *err)
{
    enum json_error_code code = json_error_code(je);
    if (code == json_error_out_of_memory) {
        set_err(err, 0, "out of memory while reading JSON");
        return;
    }
    size_t p = je->position > 0 ? (size_t)je->position : 0;
    if (p > len)
        p = len;
    size_t target = p ? p - 1 : 0;
    unsigned cap = doc->lim->max_depth < JANSSON_MAX_DEPTH ? doc->lim->max_depth
                                                           : JANSSON_MAX_DEPTH;
    size_t *open = sa_malloc(((size_t)cap + 1) * sizeof(*open));
    if (open == NULL) {
        set_err(err, 0, "out of memory while reading JSON");
        return;
    }
    unsigned depth = 0;
    tok t, prev = {.kind = TK_EOF};
    size_t pos = 0;
    for (;;) {
        next_token(b, len, pos, &t);
        if (is_open(b, &t)) {
            if (depth >= cap) {
                set_err(err, t.start, "nesting deeper than %u levels", cap);
                goto done;
            }
            open[depth++] = t.start;
        } else if (is_close(b, &t) && depth > 0) {
            depth--;
        }
        if (t.kind == TK_EOF || t.kind >= TK_STR_BAD || t.end > target)
            break;
        prev = t;
        pos = t.end;
    }

    unsigned char c0 = t.start < len ? (unsigned char)b[t.start] : 0;
    if (code == json_error_invalid_utf8) {
        size_t at = p < len ? p : (len ? len - 1 : 0);
        set_err(err, at, "the file is not valid UTF-8 here (byte 0x%02X)",
                len ? (unsigned)(unsigned char)b[at] : 0u);
    } else if (code == json_error_stack_overflow) {
        set_err(err, t.start, "nesting deeper than %u levels", cap);
    } else if (code == json_error_null_byte_in_key) {
        set_err(err, t.start, "a key must not contain \\u0000");
    } else if (t.kind == TK_STR_BAD) {
        string_error(err, b, &t.str);
    } else if (t.kind == TK_NUM_BAD) {
        set_err(err, t.start,
                "invalid number (JSON numbers look like -12, 0.5 or 1e3, without leading "
                "zeros)");
    } else if (t.kind == TK_WORD_BAD) {
        set_err(err, t.start,
                "unknown word: strings need double quotes; true, false and null are lower "
                "case");
    } else if (t.kind == TK_CTRL) {
        set_err(err, t.start, "unexpected control byte 0x%02X", (unsigned)c0);
    } else if (t.kind == TK_OTHER) {
        if (c0 == '\'')
            set_err(err, t.start, "strings need double quotes, not single quotes");
        else if (c0 == '/')
            set_err(err, t.start, "a '/' that does not start a // or /* comment");
        else if (c0 < 0x80)
            set_err(err, t.start, "unexpected character '%c'", (char)c0);
        else
            set_err(err, t.start, "unexpected character (byte 0x%02X)", (unsigned)c0);
    } else if (code == json_error_numeric_overflow) {
        set_err(err, t.start, "a number is too large");
    } else if (t.kind == TK_EOF || (code == json_error_premature_end_of_input && p >= len)) {
        if (depth == 0) {
            set_err(err, 0, "the file holds no JSON value");
        } else {
            unsigned l, c;
            size_t o = open[depth - 1];
            line_col(doc->text, doc->len, o, &l, &c);
            if (b[o] == '{')
                set_err(err, len, "the file ends before the object opened at line %u, "
                        "column %u is closed with '}'", l, c);
            else
                set_err(err, len, "the file ends before the array opened at line %u, "
                        "column %u is closed with ']'", l, c);
        }
    } else if (text_is(je, "string or '}' expected")) {
        if (c0 == '}' && prev.kind == TK_PUNCT && b[prev.start] == ',')
            set_err(err, prev.start, "a ',' before '}' is not allowed (trailing comma)");
        else
            set_err(err, t.start, "expected a key in double quotes or '}'");
    } else if (text_is(je, "':' expected")) {
        set_err(err, t.start, "expected ':' after the key");
    } else if (text_is(je, "'}' expected")) {
        if (starts_value(b, &t))
            set_err(err, t.start, "expected ',' or '}' after a member (a ',' is missing)");
        else
            set_err(err, t.start, "expected ',' or '}' after a member");
    } else if (text_is(je, "']' expected")) {
        if (starts_value(b, &t))
            set_err(err, t.start, "expected ',' or ']' after an element (a ',' is missing)");
        else
            set_err(err, t.start, "expected ',' or ']' after an element");
    } else if (text_is(je, "unexpected token")) {
        if (c0 == ']' && prev.kind == TK_PUNCT && b[prev.start] == ',')
            set_err(err, prev.start, "a ',' before ']' is not allowed (trailing comma)");
        else
            set_err(err, t.start, "expected a value");
    } else if (text_is(je, "end of file expected")) {
        set_err(err, t.start, "unexpected text after the end of the JSON value");
    } else {
        set_err(err, t.start, "invalid JSON here");
    }
done:
    sa_free(open);
}

/* ---- pass 3: build the tree ---------------------------------------------------------- */

typedef struct builder {
    sa_doc *doc;
    const char *b;    /* the blanked copy, valid JSON */
    size_t len, pos;
    sa_perr *err;
    char *key;        /* the current member's decoded key (scratch, sa_malloc) */
    size_t key_cap, key_len, key_off;
} builder;

static void skip_ws(builder *bd)
{
    while (bd->pos < bd->len && is_ws(bd->b[bd->pos]))
        bd->pos++;
}

static int oom(builder *bd, size_t off)
{
    set_err(bd->err, off, "out of memory while reading JSON");
    return -1;
}

/* Should not happen: jansson accepted the text. Kept so a disagreement is an error, never
 * a read past the end. */
static int internal(builder *bd)
{
    set_err(bd->err, bd->pos, "the JSON could not be read here (internal error)");
    return -1;
}

static sa_node *make_node(builder *bd, sa_type type, size_t off)
{
    sa_node *n = sa_node_new(bd->doc, type, off);
    if (n == NULL) {
        if (sa_doc_over_budget(bd->doc))
            set_err(bd->err, off, "more than %zu values", bd->doc->lim->max_nodes);
        else
            oom(bd, off);
    }
    return n;
}

/* Decode the string at bd->pos. With key set, into the scratch key buffer; otherwise into a
 * new SA_STR node returned in *out. Checks max_string on the decoded length. */
static int read_string(builder *bd, int key, sa_node **out)
{
    size_t q = bd->pos;
    str_scan s;
    if (scan_string(bd->b, bd->len, q, NULL, &s) < 0) {
        string_error(bd->err, bd->b, &s);
        return -1;
    }
    if (s.dlen > bd->doc->lim->max_string) {
        set_err(bd->err, q, "a %s longer than %zu bytes", key ? "key" : "string",
                bd->doc->lim->max_string);
        return -1;
    }
    char *dst;
    if (key) {
        if (s.dlen + 1 > bd->key_cap) {
            char *k = sa_realloc(bd->key, s.dlen + 1);
            if (k == NULL)
                return oom(bd, q);
            bd->key = k;
            bd->key_cap = s.dlen + 1;
        }
        dst = bd->key;
        bd->key_len = s.dlen;
        bd->key_off = q;
    } else {
        sa_node *n = make_node(bd, SA_STR, q);
        if (n == NULL)
            return -1;
        dst = sa_arena_alloc(bd->doc->arena, s.dlen + 1);
        if (dst == NULL)
            return oom(bd, q);
        n->str = dst;
        n->len = s.dlen;
        n->flags |= SA_NODE_QUOTED;
        *out = n;
    }
    if (scan_string(bd->b, bd->len, q, dst, &s) < 0)
        return internal(bd);
    dst[s.dlen] = '\0';
    bd->pos = s.end;
    return 0;
}

/* Read the value at bd->pos (whitespace skipped) into *out. A container is returned just
 * opened (bd->pos past its bracket), *depth counting it. */
static int read_value(builder *bd, unsigned *depth, sa_node **out)
{
    skip_ws(bd);
    if (bd->pos >= bd->len)
        return internal(bd);
    size_t at = bd->pos;
    const char *b = bd->b + at;
    size_t rest = bd->len - at;
    char c = *b;
    if (c == '{' || c == '[') {
        if (*depth >= bd->doc->lim->max_depth) {
            set_err(bd->err, at, "nesting deeper than %u levels", bd->doc->lim->max_depth);
            return -1;
        }
        *out = make_node(bd, c == '{' ? SA_MAP : SA_LIST, at);
        if (*out == NULL)
            return -1;
        ++*depth;
        bd->pos++;
        return 0;
    }
    if (c == '"')
        return read_string(bd, 0, out);
    if (c == '-' || is_digit(c)) {
        int ok;
        size_t end = scan_number(bd->b, bd->len, at, &ok);
        if (!ok)
            return internal(bd);
        if (end - at > bd->doc->lim->max_string) {
            set_err(bd->err, at, "a number longer than %zu bytes", bd->doc->lim->max_string);
            return -1;
        }
        *out = make_node(bd, SA_NUM, at);
        if (*out == NULL)
            return -1;
        if (((*out)->str = sa_arena_strndup(bd->doc->arena, b, end - at)) == NULL)
            return oom(bd, at);
        (*out)->len = end - at;
        bd->pos = end;
        return 0;
    }
    sa_type type;
    size_t n;
    if (rest >= 4 && memcmp(b, "true", 4) == 0) {
        type = SA_BOOL;
        n = 4;
    } else if (rest >= 5 && memcmp(b, "false", 5) == 0) {
        type = SA_BOOL;
        n = 5;
    } else if (rest >= 4 && memcmp(b, "null", 4) == 0) {
        type = SA_NULL;
        n = 4;
    } else {
        return internal(bd);
    }
    *out = make_node(bd, type, at);
    if (*out == NULL)
        return -1;
    if (type == SA_BOOL) {
        if (((*out)->str = sa_arena_strndup(bd->doc->arena, b, n)) == NULL)
            return oom(bd, at);
        (*out)->len = n;
    }
    bd->pos = at + n;
    return 0;
}

/* Build doc->root from the blanked copy, which jansson has accepted. One loop, no
 * recursion: cur is the innermost open container, its parent pointer the way back up. */
static int build(builder *bd)
{
    sa_node *cur = NULL;
    unsigned depth = 0;
    for (;;) {
        /* a value (a member's key first when cur is a map) */
        if (cur != NULL && cur->type == SA_MAP) {
            skip_ws(bd);
            if (bd->pos >= bd->len || bd->b[bd->pos] != '"')
                return internal(bd);
            if (read_string(bd, 1, NULL) < 0)
                return -1;
            skip_ws(bd);
            if (bd->pos >= bd->len || bd->b[bd->pos] != ':')
                return internal(bd);
            bd->pos++;
        }
        sa_node *n = NULL;
        if (read_value(bd, &depth, &n) < 0)
            return -1;
        if (cur == NULL) {
            bd->doc->root = n;
        } else {
            if (cur->type == SA_MAP &&
                sa_node_set_key(bd->doc, n, bd->key, bd->key_len, bd->key_off) < 0)
                return oom(bd, bd->key_off);
            sa_node_append(cur, n);
        }
        if (n->type == SA_MAP || n->type == SA_LIST) {
            cur = n;
            skip_ws(bd);
            char close = n->type == SA_MAP ? '}' : ']';
            if (bd->pos >= bd->len || bd->b[bd->pos] != close)
                continue;  /* its first member or element */
            /* empty: the loop below closes it */
        }
        /* after a value: ',' goes on in cur; '}' / ']' close cur and go up */
        for (;;) {
            skip_ws(bd);
            if (cur == NULL) {
                if (bd->pos != bd->len)
                    return internal(bd);
                return 0;
            }
            if (bd->pos >= bd->len)
                return internal(bd);
            char c = bd->b[bd->pos];
            if (c == ',') {
                bd->pos++;
                break;
            }
            if (c != (cur->type == SA_MAP ? '}' : ']'))
                return internal(bd);
            bd->pos++;
            if (cur->type == SA_MAP && sa_map_mark_dups(cur) < 0)
                return oom(bd, cur->off);
            cur = cur->parent;
            depth--;
        }
    }
}

/* ---- entry points -------------------------------------------------------------------- */

void sa_json_init(void)
{
    static int done;
    if (!done) {
        /* jansson allocates through the project's hook (allocation-failure tests reach it) */
        json_set_alloc_funcs(sa_malloc, sa_free);
        json_object_seed(0);
        done = 1;
    }
}

/* See parse.h. The error offset is always a byte offset (has_linecol stays 0). Problems
 * found before jansson runs (a raw NUL byte, an unterminated block comment) are reported
 * unless jansson finds one earlier in the file. */
int sa_parse_json(sa_doc *doc, sa_perr *err)
{
    sa_perr dummy;
    if (err == NULL)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    doc->root = NULL;
    size_t len = doc->len;
    if (len > doc->lim->max_file_bytes) {
        set_err(err, 0, "the file is larger than %zu bytes", doc->lim->max_file_bytes);
        return -1;
    }
    if (len > INT_MAX) {  /* jansson reports positions as int */
        set_err(err, 0, "the file is too large to read as JSON");
        return -1;
    }
    char *b = sa_malloc(len);
    if (b == NULL) {
        set_err(err, 0, "out of memory while reading JSON");
        return -1;
    }
    if (len)
        memcpy(b, doc->text, len);
    size_t comment = 0;
    int unclosed = blank_comments(b, len, &comment) < 0;
    /* jansson drops a NUL byte that follows a number or a word (its lexer reads a NUL
     * pushed back as "nothing buffered"), so "[1\0]" passes it: find raw NULs ourselves.
     * Those left after blanking are outside comments. */
    const char *nul = len ? memchr(b, '\0', len) : NULL;

    int rc = -1, have = 0;
    json_error_t je;
    if (!quick_valid(b, len)) {  /* when it is valid, jansson would accept it: no need to ask */
        json_t *j = json_loadb(b, len, JUDGE_FLAGS, &je);
        if (j == NULL) {
            locate(doc, b, len, &je, err);
            have = 1;
        } else {
            json_decref(j);
        }
    }
    /* the first problem in the file wins; a NUL inside a string keeps jansson's message */
    if (nul != NULL && (!have || err->off > (size_t)(nul - b))) {
        set_err(err, (size_t)(nul - b), "unexpected control byte 0x00");
        have = 1;
    }
    if (unclosed && (!have || err->off >= comment)) {
        set_err(err, comment, "a /* comment is not closed (a */ is missing)");
        have = 1;
    }
    if (!have) {
        builder bd = {.doc = doc, .b = b, .len = len, .err = err};
        rc = build(&bd);
        sa_free(bd.key);
    }
    sa_free(b);
    return rc;
}
