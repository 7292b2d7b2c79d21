/* syslog.c — one structured syslog line per new or resolved finding (notify.h;
 * REPORT_FORMAT.md, "Syslog lines"). */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "secaudit/notify.h"

typedef struct sink {
    char *buf;
    size_t cap, len;
    int full;
} sink;

/* Append s[0..n) whole, or nothing (and stop appending) when it does not fit. */
static void put(sink *k, const char *s, size_t n)
{
    if (k->full || k->len + n >= k->cap) {
        k->full = 1;
        return;
    }
    memcpy(k->buf + k->len, s, n);
    k->len += n;
    k->buf[k->len] = '\0';
}

static void puts_(sink *k, const char *s)
{
    put(k, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t l;
    unsigned min;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        l = 2, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        l = 3, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        l = 4, min = 0x10000;
    else
        return 0;
    if (l > n)
        return 0;
    unsigned cp = s[0] & (0x3f >> (l - 1));
    for (size_t i = 1; i < l; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    /* C1 controls (U+0080..U+009F) are escaped like C0 ones */
    return cp < 0xa0 ? 0 : l;
}

static void quoted(sink *k, const char *s)
{
    put(k, "\"", 1);
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(k, e, 2);
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            put(k, (const char *)&s[i], 1);
            i++;
        } else {
            size_t l = c >= 0x80 ? utf8_len((const unsigned char *)s + i, n - i) : 0;
            if (l) {
                put(k, s + i, l);
                i += l;
            } else {
                char e[5];
                snprintf(e, sizeof(e), "\\x%02x", c);
                put(k, e, 4);
                i++;
            }
        }
    }
    put(k, "\"", 1);
}

static void token_or_quoted(sink *k, const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
                  strlen(s))
        puts_(k, s);
    else
        quoted(k, s);
}

size_t sa_syslog_format(char *buf, size_t cap, int resolved, const char *rule_id,
                        sa_severity sev, const char *file, unsigned line,
                        const char *fingerprint, const char *title)
{
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    sink k = {buf, cap, 0, 0};
    char num[32];
    puts_(&k, resolved ? "finding=resolved rule=" : "finding=new rule=");
    token_or_quoted(&k, rule_id);
    puts_(&k, " severity=");
    puts_(&k, sa_severity_name(sev));
    puts_(&k, " file=");
    quoted(&k, file);
    snprintf(num, sizeof(num), " line=%u", line);
    puts_(&k, num);
    puts_(&k, " fingerprint=");
    token_or_quoted(&k, fingerprint);
    puts_(&k, " title=");
    quoted(&k, title);
    return k.len;
}

int sa_syslog_priority(sa_severity sev)
{
    switch (sev) {
    case SA_SEV_CRITICAL: return LOG_CRIT;
    case SA_SEV_HIGH: return LOG_ERR;
    case SA_SEV_MEDIUM: return LOG_WARNING;
    case SA_SEV_LOW: return LOG_NOTICE;
    default: return LOG_INFO;
    }
}

void sa_syslog_emit(const sa_changes *ch)
{
    char line[1024];
    openlog("secaudit", LOG_PID, LOG_DAEMON);
    for (size_t i = 0; i < ch->n_added; i++) {
        const sa_finding *f = ch->added[i];
        sa_syslog_format(line, sizeof(line), 0, f->rule->id, f->rule->severity, f->file,
                         f->line, f->fingerprint, f->rule->title);
        syslog(sa_syslog_priority(f->rule->severity), "%s", line);
    }
    for (size_t i = 0; i < ch->n_resolved; i++) {
        const sa_state_entry *e = ch->resolved[i];
        sa_syslog_format(line, sizeof(line), 1, e->rule_id, e->severity, e->file, e->line,
                         e->fingerprint, e->title);
        syslog(LOG_INFO, "%s", line);
    }
    closelog();
}
