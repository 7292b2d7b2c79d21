/* posbuf.c — see posbuf.h. */
#include "parse/posbuf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"

int sa_posbuf_grow(sa_posbuf *b)
{
    if (b->cap > SIZE_MAX / 2 / sizeof(size_t))
        return -1;
    size_t nc = b->cap ? b->cap * 2 : 256;
    char *nb = sa_realloc(b->buf, nc);
    if (nb == NULL)
        return -1;
    b->buf = nb;
    size_t *m = sa_realloc(b->map, nc * sizeof(size_t));
    if (m == NULL)
        return -1;
    b->map = m;
    b->cap = nc;
    return 0;
}

void sa_posbuf_free(sa_posbuf *b)
{
    sa_free(b->buf);
    sa_free(b->map);
    b->buf = NULL;
    b->map = NULL;
    b->len = b->cap = 0;
}

int sa_text_prescan(const char *text, size_t len, size_t start, size_t max_line, size_t *off,
                    char *msg, size_t cap)
{
    size_t st = start;
    for (size_t i = start; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            size_t end = i;
            if (end > st && text[end - 1] == '\r')
                end--;
            if (end - st > max_line) {
                *off = st;
                snprintf(msg, cap, "line is longer than the limit of %zu bytes", max_line);
                return -1;
            }
            st = i + 1;
        } else if (text[i] == '\0') {
            *off = i;
            snprintf(msg, cap, "NUL byte in text");
            return -1;
        }
    }
    return 0;
}

void sa_parse_echo(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0, lim = n > 40 ? 40 : n;
    for (size_t i = 0; i < lim && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n > lim && o + 4 <= cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

int sa_parse_ip(const char *s, size_t n, unsigned char *a)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n))
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, a) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, buf, a) == 1)
        return AF_INET6;
    return 0;
}
