/* posbuf.h — a growable byte buffer that remembers, for every byte, the file offset it came
 * from: hand-written parsers join continuation lines and decode escapes into one, and still
 * report exact positions. Owns its arrays (sa_posbuf_free). */
#ifndef SECAUDIT_PARSE_POSBUF_H
#define SECAUDIT_PARSE_POSBUF_H

#include <stddef.h>

typedef struct sa_posbuf {
    char *buf;    /* bytes; the caller NUL-terminates when it needs to */
    size_t *map;  /* map[i]: file offset of buf[i] */
    size_t len, cap;
} sa_posbuf;

/* Make room for at least 2 more bytes. 0, or -1 when out of memory. */
int sa_posbuf_grow(sa_posbuf *b);

/* Append byte c that came from file offset off. 0, or -1 when out of memory. Inline: the
 * parsers call it for every byte. */
static inline int sa_posbuf_put(sa_posbuf *b, char c, size_t off)
{
    if (b->len + 2 > b->cap && sa_posbuf_grow(b) < 0)
        return -1;
    b->buf[b->len] = c;
    b->map[b->len++] = off;
    return 0;
}
void sa_posbuf_free(sa_posbuf *b);

/* At most 40 bytes of s[0..n) into dst for an error message, every byte that is not
 * printable ASCII shown as '?', "..." appended when cut. */
void sa_parse_echo(char *dst, size_t cap, const char *s, size_t n);

/* An IP address (v4 or v6) from s[0..n) into a (16 bytes of room): AF_INET, AF_INET6, or 0
 * when it is not one. */
int sa_parse_ip(const char *s, size_t n, unsigned char *a);

/* The checks every hand-written line parser makes before parsing text[start..len): no NUL
 * byte and no physical line (CR LF or LF ended) longer than max_line bytes. 0, or -1 with
 * *off at the first problem in file order and msg (cap bytes) saying what it is. */
int sa_text_prescan(const char *text, size_t len, size_t start, size_t max_line, size_t *off,
                    char *msg, size_t cap);

#endif
