/* escape.c — escaping untrusted bytes for the terminal, and UTF-8 clean-up for JSON. */
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/report.h"

/* Length of a valid UTF-8 sequence at s (1-4), or 0 when invalid (overlongs, surrogates and
 * values past U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len;
    unsigned cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int sa_fput_escaped(FILE *out, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* a run of printable ASCII goes out at once */
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x7F && s[run] != '\\')
            run++;
        if (run > i) {
            if (fwrite(s + i, 1, run - i, out) != run - i)
                return -1;
            i = run;
            continue;
        }
        size_t n = utf8_len(s + i, len - i);
        if (n == 1 && s[i] == '\\') {
            if (fputs("\\\\", out) == EOF)
                return -1;
        } else if (n == 2 && s[i] == 0xC2 && s[i + 1] < 0xA0) {
            /* C1 control characters (U+0080..U+009F): CSI and friends on some terminals */
            if (fprintf(out, "\\x%02x\\x%02x", s[i], s[i + 1]) < 0)
                return -1;
        } else if (n > 1) {
            if (fwrite(s + i, 1, n, out) != n)
                return -1;
        } else {
            if (fprintf(out, "\\x%02x", s[i]) < 0)
                return -1;
            n = 1;
        }
        i += n;
    }
    return 0;
}

char *sa_utf8_clean(const char *str, size_t len, size_t *outlen)
{
    const unsigned char *s = (const unsigned char *)str;
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = sa_malloc(len * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        size_t n = utf8_len(s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}
