/* message.c — what a notification says: the notification JSON (the report plus "changes"),
 * the plain-text summary and the whole MIME message (notify.h). Parts are written to memory
 * streams (open_memstream: the C library's malloc, freed with free() right after the bytes
 * are copied into an sa_malloc buffer). */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "report/jsonw.h"
#include "secaudit/alloc.h"
#include "secaudit/notify.h"

/* Close the memory stream f over *mem and copy its bytes into an sa_malloc buffer. */
static int take(FILE *f, char **mem, size_t *memlen, int ok, char **out, size_t *len)
{
    if (fclose(f) != 0)
        ok = 0;
    *out = NULL;
    if (ok && (*out = sa_malloc(*memlen + 1)) != NULL) {
        memcpy(*out, *mem, *memlen);
        (*out)[*memlen] = '\0';
        *len = *memlen;
    }
    free(*mem);
    *mem = NULL;
    return *out ? 0 : -1;
}

int sa_notify_json(const sa_result *res, const sa_report_opts *ro, const sa_changes *ch,
                   char **out, size_t *len)
{
    char *mem = NULL;
    size_t memlen = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (f == NULL)
        return -1;
    char *rep;
    size_t replen;
    if (take(f, &mem, &memlen, sa_report_json(f, res, ro) == 0, &rep, &replen) < 0)
        return -1;
    json_error_t je;
    json_t *root = json_loadb(rep, replen, 0, &je);
    sa_free(rep);
    if (root == NULL)
        return -1;
    int bad = 0;
    json_t *c = json_object(), *added = json_array(), *resolved = json_array();
    for (size_t i = 0; added && i < ch->n_added; i++)
        sa_jpush(added, json_string(ch->added[i]->fingerprint), &bad);
    for (size_t i = 0; resolved && i < ch->n_resolved; i++) {
        const sa_state_entry *e = ch->resolved[i];
        json_t *j = json_object();
        if (j) {
            sa_jput(j, "fingerprint", json_string(e->fingerprint), &bad);
            sa_jput(j, "rule_id", sa_jstr(e->rule_id), &bad);
            sa_jput(j, "severity", json_string(sa_severity_name(e->severity)), &bad);
            sa_jput(j, "file", sa_jstr(e->file), &bad);
            sa_jput(j, "line", json_integer(e->line), &bad);
            sa_jput(j, "title", sa_jstr(e->title), &bad);
        }
        sa_jpush(resolved, j, &bad);
    }
    sa_jput(c, "new", added, &bad);
    sa_jput(c, "resolved", resolved, &bad);
    sa_jput(root, "changes", c, &bad);
    if ((f = open_memstream(&mem, &memlen)) == NULL) {
        json_decref(root);
        return -1;
    }
    int ok = !bad && json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 &&
             fputc('\n', f) != EOF;
    json_decref(root);
    return take(f, &mem, &memlen, ok, out, len);
}

static void line_of(FILE *out, const char *file, unsigned line, sa_severity sev,
                    const char *rule, const char *title)
{
    fputs("  ", out);
    sa_fput_escaped(out, file, strlen(file));
    fprintf(out, ":%u  %s  ", line, sa_severity_name(sev));
    sa_fput_escaped(out, rule, strlen(rule));
    fputs("  ", out);
    sa_fput_escaped(out, title, strlen(title));
    fputs("\r\n", out);
}

int sa_notify_text(FILE *out, const sa_changes *ch, const char *host)
{
    fputs("secaudit on ", out);
    sa_fput_escaped(out, host, strlen(host));
    fprintf(out, ": %zu new, %zu resolved since the last report.\r\n", ch->n_added,
            ch->n_resolved);
    if (ch->n_added) {
        fputs("\r\nNew findings:\r\n", out);
        for (size_t i = 0; i < ch->n_added; i++) {
            const sa_finding *f = ch->added[i];
            line_of(out, f->file, f->line, f->rule->severity, f->rule->id, f->rule->title);
        }
    }
    if (ch->n_resolved) {
        fputs("\r\nResolved findings:\r\n", out);
        for (size_t i = 0; i < ch->n_resolved; i++) {
            const sa_state_entry *e = ch->resolved[i];
            line_of(out, e->file, e->line, e->severity, e->rule_id, e->title);
        }
    }
    fputs("\r\nThe full report is attached: HTML (this message's other view) and JSON.\r\n"
          "'secaudit rules show RULE-ID' explains a rule and how to fix what it finds.\r\n",
          out);
    return ferror(out) ? -1 : 0;
}

void sa_mail_subject(char *buf, size_t cap, const sa_changes *ch, const char *host)
{
    char h[256];
    size_t n = 0;
    for (const char *p = host; *p && n < sizeof(h) - 1; p++) {
        char x = *p;
        int ok = (x >= 'a' && x <= 'z') || (x >= 'A' && x <= 'Z') || (x >= '0' && x <= '9') ||
                 x == '.' || x == '-' || x == '_';
        h[n++] = ok ? x : '?';
    }
    h[n] = '\0';
    snprintf(buf, cap, "secaudit: %zu new, %zu resolved on %s", ch->n_added, ch->n_resolved,
             h);
}

/* base64 of data, CRLF after every 76 characters and at the end. */
static void put_base64(FILE *out, const unsigned char *d, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63],
                     i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
        fwrite(q, 1, 4, out);
        col += 4;
        if (col == 76) {
            fputs("\r\n", out);
            col = 0;
        }
    }
    if (col)
        fputs("\r\n", out);
}

static void part_header(FILE *out, const char *boundary, const char *type,
                        const char *disposition)
{
    fprintf(out, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\n", boundary,
            type);
    if (disposition)
        fprintf(out, "Content-Disposition: %s\r\n", disposition);
    fputs("\r\n", out);
}

int sa_mail_build(const sa_notify_opts *o, const sa_result *res, const sa_report_opts *ro,
                  const sa_changes *ch, const char *json, size_t json_len, const char *date,
                  const char *msgid, char **out, size_t *len)
{
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        memcpy(rnd, &t, sizeof(t));
        memset(rnd + sizeof(t), 0x5a, sizeof(rnd) - sizeof(t));
    }
    char hex[25];
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    char datebuf[64], idbuf[400], subject[400], mixed[64], alt[64];
    if (date == NULL) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(datebuf, sizeof(datebuf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        date = datebuf;
    }
    sa_mail_subject(subject, sizeof(subject), ch, o->host);
    if (msgid == NULL) {
        /* the part after '@' is the subject's cleaned host name */
        const char *h = strstr(subject, " on ") ? strrchr(subject, ' ') + 1 : "localhost";
        snprintf(idbuf, sizeof(idbuf), "<%s.%lld@%s>", hex, (long long)time(NULL),
                 *h ? h : "localhost");
        msgid = idbuf;
    }
    snprintf(mixed, sizeof(mixed), "=_secaudit_mixed_%s", hex);
    snprintf(alt, sizeof(alt), "=_secaudit_alt_%s", hex);

    /* the text and HTML parts first, each in a buffer of its own */
    char *mem = NULL, *text = NULL, *html = NULL;
    size_t memlen = 0, text_len = 0, html_len = 0;
    FILE *f = open_memstream(&mem, &memlen);
    if (f == NULL || take(f, &mem, &memlen, sa_notify_text(f, ch, o->host) == 0, &text,
                          &text_len) < 0)
        return -1;
    if ((f = open_memstream(&mem, &memlen)) == NULL ||
        take(f, &mem, &memlen, sa_report_html(f, res, ro) == 0, &html, &html_len) < 0) {
        sa_free(text);
        return -1;
    }
    if ((f = open_memstream(&mem, &memlen)) == NULL) {
        sa_free(text);
        sa_free(html);
        return -1;
    }
    fprintf(f, "Date: %s\r\nFrom: <%s>\r\nTo: ", date, o->mail_from);
    for (size_t i = 0; i < o->n_mail_to; i++)
        fprintf(f, "%s<%s>", i ? ",\r\n " : "", o->mail_to[i]);
    fprintf(f, "\r\nSubject: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
               "Auto-Submitted: auto-generated\r\n"
               "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
               "This is a MIME message: a summary, an HTML report and a JSON report.\r\n",
            subject, msgid, mixed);
    fprintf(f, "--%s\r\nContent-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", mixed,
            alt);
    part_header(f, alt, "text/plain; charset=utf-8", NULL);
    put_base64(f, (const unsigned char *)text, text_len);
    part_header(f, alt, "text/html; charset=utf-8", NULL);
    put_base64(f, (const unsigned char *)html, html_len);
    fprintf(f, "--%s--\r\n", alt);
    part_header(f, mixed, "application/json",
                "attachment; filename=\"secaudit-report.json\"");
    put_base64(f, (const unsigned char *)json, json_len);
    fprintf(f, "--%s--\r\n", mixed);
    sa_free(text);
    sa_free(html);
    return take(f, &mem, &memlen, !ferror(f), out, len);
}
