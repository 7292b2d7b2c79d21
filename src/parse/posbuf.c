/* posbuf.c — see posbuf.h. */
#include "parse/posbuf.h"

#include <stdint.h>

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
