/* finding.c — the result list (findings, errors, notices), secret redaction and
 * fingerprints. */
#include "secaudit/finding.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "secaudit/alloc.h"

int sa_finding_set_strings(sa_finding *f, const char *file, const char *rel, const char *key,
                           const char *message, const char *evidence, const char *note)
{
    const char *in[] = {file, rel, key, message, evidence, note};
    size_t total = 0;
    for (size_t i = 0; i < 6; i++)
        total += in[i] ? strlen(in[i]) + 1 : 0;
    char *block = sa_malloc(total ? total : 1), *p = block;
    if (block == NULL)
        return -1;
    char **out[] = {&f->file, &f->rel, &f->key, &f->message, &f->evidence, &f->default_note};
    for (size_t i = 0; i < 6; i++) {
        if (in[i] == NULL) {
            *out[i] = NULL;
            continue;
        }
        size_t n = strlen(in[i]) + 1;
        memcpy(p, in[i], n);
        *out[i] = p;
        p += n;
    }
    return 0;
}

static void free_finding(sa_finding *f)
{
    sa_free(f->file);  /* and with it every string of the finding (finding.h) */
    sa_free(f->suppress_reason);
    sa_free(f->suppress_origin);
}

void sa_result_free(sa_result *r)
{
    for (size_t i = 0; i < r->n_findings; i++)
        free_finding(&r->findings[i]);
    sa_free(r->findings);
    for (size_t i = 0; i < r->n_errors; i++) {
        sa_free(r->errors[i].file);
        sa_free(r->errors[i].service);
        sa_free(r->errors[i].message);
    }
    sa_free(r->errors);
    for (size_t i = 0; i < r->n_notices; i++) {
        sa_free(r->notices[i].path);
        sa_free(r->notices[i].message);
    }
    sa_free(r->notices);
    for (size_t i = 0; i < r->n_roots; i++)
        sa_free(r->roots[i]);
    sa_free(r->roots);
    for (size_t i = 0; i < r->n_comments; i++) {
        sa_free(r->comments[i].file);
        sa_free(r->comments[i].rel);
        sa_free(r->comments[i].rules);
        sa_free(r->comments[i].reason);
    }
    sa_free(r->comments);
    for (size_t i = 0; i < r->n_absent; i++) {
        sa_free(r->absent[i].rule_id);
        sa_free(r->absent[i].path);
    }
    sa_free(r->absent);
    memset(r, 0, sizeof(*r));
}

/* Grow *v (elements of size sz) to hold n+1; 0 or -1. */
static int grow(void **v, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / sz)
        return -1;
    void *p = sa_realloc(*v, nc * sz);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

int sa_result_add_error(sa_result *r, const char *file, unsigned line, unsigned col,
                        const char *service, const char *message, size_t seq)
{
    if (grow((void **)&r->errors, &r->cap_errors, r->n_errors, sizeof(sa_error)) < 0)
        return -1;
    sa_error *e = &r->errors[r->n_errors];
    memset(e, 0, sizeof(*e));
    e->file = sa_strdup(file);
    e->service = sa_strdup(service ? service : "");
    e->message = sa_strdup(message);
    if (e->file == NULL || e->service == NULL || e->message == NULL) {
        sa_free(e->file);
        sa_free(e->service);
        sa_free(e->message);
        return -1;
    }
    e->line = line;
    e->col = col;
    e->seq = seq;
    r->n_errors++;
    return 0;
}

int sa_result_add_notice(sa_result *r, const char *path, const char *message)
{
    return sa_result_add_notice_at(r, path, 0, message);
}

int sa_finding_counts(const sa_finding *f, sa_severity fail_on, sa_severity min)
{
    sa_severity s = f->rule->severity;
    return fail_on != SA_SEV_NONE && s >= fail_on && s >= min &&
           f->suppressed == SA_SUPP_NONE && f->baseline != SA_BASE_UNCHANGED;
}

int sa_result_add_notice_at(sa_result *r, const char *path, unsigned line, const char *message)
{
    if (grow((void **)&r->notices, &r->cap_notices, r->n_notices, sizeof(sa_notice)) < 0)
        return -1;
    sa_notice *n = &r->notices[r->n_notices];
    n->path = sa_strdup(path);
    n->message = sa_strdup(message);
    n->line = line;
    if (n->path == NULL || n->message == NULL) {
        sa_free(n->path);
        sa_free(n->message);
        return -1;
    }
    r->n_notices++;
    return 0;
}

/* Make room for n more elements in *v (length len, capacity *cap); 0 or -1. */
static int reserve(void **v, size_t *cap, size_t len, size_t n, size_t sz)
{
    if (n <= *cap - len)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc - len < n) {
        if (nc > SIZE_MAX / 2 / sz)
            return -1;
        nc *= 2;
    }
    void *p = sa_realloc(*v, nc * sz);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = nc;
    return 0;
}

int sa_result_take(sa_result *dst, sa_result *src)
{
    if (reserve((void **)&dst->findings, &dst->cap_findings, dst->n_findings,
                src->n_findings, sizeof(sa_finding)) < 0 ||
        reserve((void **)&dst->errors, &dst->cap_errors, dst->n_errors, src->n_errors,
                sizeof(sa_error)) < 0 ||
        reserve((void **)&dst->notices, &dst->cap_notices, dst->n_notices, src->n_notices,
                sizeof(sa_notice)) < 0 ||
        reserve((void **)&dst->comments, &dst->cap_comments, dst->n_comments,
                src->n_comments, sizeof(sa_ignore_comment)) < 0)
        return -1;
    if (src->n_comments)
        memcpy(dst->comments + dst->n_comments, src->comments,
               src->n_comments * sizeof(sa_ignore_comment));
    dst->n_comments += src->n_comments;
    src->n_comments = 0;
    if (src->n_findings)
        memcpy(dst->findings + dst->n_findings, src->findings,
               src->n_findings * sizeof(sa_finding));
    if (src->n_errors)
        memcpy(dst->errors + dst->n_errors, src->errors, src->n_errors * sizeof(sa_error));
    if (src->n_notices)
        memcpy(dst->notices + dst->n_notices, src->notices, src->n_notices * sizeof(sa_notice));
    dst->n_findings += src->n_findings;
    dst->n_errors += src->n_errors;
    dst->n_notices += src->n_notices;
    dst->files_seen += src->files_seen;
    dst->files_parsed += src->files_parsed;
    src->n_findings = src->n_errors = src->n_notices = 0;
    src->files_seen = src->files_parsed = 0;
    return 0;
}

static int cmp_finding(const void *a, const void *b)
{
    const sa_finding *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    /* the files one configuration includes share its place in the walk */
    int fc = strcmp(x->file, y->file);
    if (fc)
        return fc;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    int c = strcmp(x->rule->id, y->rule->id);
    if (c)
        return c;
    return strcmp(x->key, y->key);
}

static int cmp_error(const void *a, const void *b)
{
    const sa_error *x = a, *y = b;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    int fc = strcmp(x->file, y->file);
    if (fc)
        return fc;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return strcmp(x->message, y->message);
}

/* Groups equal identities (rule, file, position, key), lowest seq first. Rules are compared
 * by address (one object per id): the order between different rules does not matter here. */
static int cmp_identity(const void *a, const void *b)
{
    const sa_finding *x = a, *y = b;
    int c = x->rule == y->rule ? 0 : (uintptr_t)x->rule < (uintptr_t)y->rule ? -1 : 1;
    if (c == 0)
        c = strcmp(x->file, y->file);
    if (c == 0 && x->line != y->line)
        c = x->line < y->line ? -1 : 1;
    if (c == 0 && x->col != y->col)
        c = x->col < y->col ? -1 : 1;
    if (c == 0)
        c = strcmp(x->key, y->key);
    if (c == 0 && x->seq != y->seq)
        c = x->seq < y->seq ? -1 : 1;
    return c;
}

/* Two different findings can share a fingerprint (rule + file + key + value) when the key
 * that told them apart was redacted, or a file repeats a record verbatim. Fingerprints must
 * name one finding each (baselines, suppressions): the 2nd, 3rd … of a group, in report
 * order, get the group's fingerprint hashed with their ordinal. One pass over the sorted
 * findings with an open-addressing table of the fingerprints seen (linear, not a sort).
 * -1 when out of memory. */
static int unique_fingerprints(sa_result *r)
{
    if (r->n_findings < 2)
        return 0;
    if (r->n_findings >= UINT32_MAX / 2)
        return -1;
    size_t cap = 16;
    while (cap < r->n_findings + r->n_findings / 2)
        cap *= 2;
    struct slot {
        uint32_t first, count;  /* first: index of the group's first finding + 1 (0: empty) */
    } *t = sa_calloc(cap, sizeof(*t));
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < r->n_findings; i++) {
        sa_finding *f = &r->findings[i];
        uint64_t h = strtoull(f->fingerprint, NULL, 16);
        size_t k = (size_t)(h ^ (h >> 29)) & (cap - 1);
        while (t[k].first && strcmp(r->findings[t[k].first - 1].fingerprint, f->fingerprint))
            k = (k + 1) & (cap - 1);
        if (t[k].first == 0) {
            t[k] = (struct slot){.first = (uint32_t)i + 1, .count = 1};
            continue;
        }
        char ord[24];
        snprintf(ord, sizeof(ord), "#%u", (unsigned)t[k].count++);
        const char *parts[] = {r->findings[t[k].first - 1].fingerprint, ord};
        sa_fingerprint(parts, 2, f->fingerprint);
    }
    sa_free(t);
    return 0;
}

int sa_result_sort(sa_result *r)
{
    /* the same finding reached twice (an env file judged alone and through the unit that
     * names it) is reported once */
    if (r->n_findings > 1) {
        qsort(r->findings, r->n_findings, sizeof(sa_finding), cmp_identity);
        size_t o = 1;
        for (size_t i = 1; i < r->n_findings; i++) {
            sa_finding *p = &r->findings[o - 1], *f = &r->findings[i];
            if (p->rule == f->rule && strcmp(p->file, f->file) == 0 && p->line == f->line &&
                p->col == f->col && strcmp(p->key, f->key) == 0)
                free_finding(f);
            else
                r->findings[o++] = *f;
        }
        r->n_findings = o;
    }
    if (r->n_findings > 1)
        qsort(r->findings, r->n_findings, sizeof(sa_finding), cmp_finding);
    if (r->n_errors > 1)
        qsort(r->errors, r->n_errors, sizeof(sa_error), cmp_error);
    return unique_fingerprints(r);
}

int sa_result_locate(const sa_result *r, const char *file, size_t *root, const char **rel)
{
    size_t best_len = 0;
    int found = 0;
    for (size_t i = 0; i < r->n_roots; i++) {
        const char *rt = r->roots[i];
        size_t n = strlen(rt);
        while (n > 1 && rt[n - 1] == '/')
            n--;
        const char *rest = NULL;
        if (strlen(file) == n && strncmp(file, rt, n) == 0) {
            const char *b = strrchr(file, '/');
            rest = b && b[1] ? b + 1 : file;
        } else if (strncmp(file, rt, n) == 0 && (file[n] == '/' || (n == 1 && rt[0] == '/'))) {
            rest = file + n;
            while (*rest == '/')
                rest++;
        }
        if (rest && (!found || n > best_len)) {
            found = 1;
            best_len = n;
            *root = i;
            *rel = rest;
        }
    }
    return found ? 0 : -1;
}

void sa_result_counts(const sa_result *r, size_t counts[5])
{
    memset(counts, 0, 5 * sizeof(size_t));
    for (size_t i = 0; i < r->n_findings; i++)
        counts[r->findings[i].rule->severity]++;
}

/* ---- secrets ---------------------------------------------------------------------------- */
/* Split a key into words at '.', '_', '-', ' ' and lower→upper case changes, and test each
 * word against a list. */
static int key_has_word(const char *key, size_t len, const char *const *words, size_t nw)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !isalnum((unsigned char)key[i]))
            i++;
        size_t st = i;
        if (i < len)
            i++;
        while (i < len && isalnum((unsigned char)key[i]) &&
               !(isupper((unsigned char)key[i]) && islower((unsigned char)key[i - 1])))
            i++;
        size_t n = i - st;
        for (size_t w = 0; w < nw; w++)
            if (n && strlen(words[w]) == n && strncasecmp(key + st, words[w], n) == 0)
                return 1;
    }
    return 0;
}

int sa_key_is_secret(const char *key, size_t len)
{
    static const char *const words[] = {
        "pass", "password", "passwd", "pwd", "passphrase", "secret", "token", "credential",
        "credentials", "apikey", "privatekey", "keypasswd", "bindpasswd", "ldapbindpasswd",
        "storepass", "keypass", "hmac"};
    if (key == NULL)
        return 0;
    return key_has_word(key, len, words, sizeof(words) / sizeof(words[0]));
}

static int key_is_userlike(const char *key, size_t len)
{
    static const char *const words[] = {"user", "superuser", "login", "auth", "credentials",
                                        "dsn", "uri", "url", "connection"};
    return key != NULL && key_has_word(key, len, words, sizeof(words) / sizeof(words[0]));
}

/* Copy src into out escaping nothing (writers escape), truncating with "…". */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 1 < cap; i++)
        out[(*o)++] = s[i];
    out[*o] = '\0';
}

void sa_redact(const char *key, size_t keylen, const char *value, size_t len, int secret,
               char *out, size_t cap)
{
    size_t o = 0;
    static const char red[] = "<redacted>";
    if (cap == 0)
        return;
    out[0] = '\0';
    if (secret || sa_key_is_secret(key, keylen)) {
        if (len == 0)
            put(out, cap, &o, "\"\"", 2);
        else
            put(out, cap, &o, red, sizeof(red) - 1);
        return;
    }
    size_t limit = cap > 8 ? cap - 8 : cap;  /* room for "…" */
    size_t i = 0;
    while (i < len) {
        /* scheme://user:password@host → scheme://user:<redacted>@host */
        if (i + 3 <= len && memcmp(value + i, "://", 3) == 0) {
            put(out, cap, &o, "://", 3);
            i += 3;
            size_t st = i, colon = 0, at = 0;
            for (size_t k = i; k < len && value[k] != '/' && value[k] != ' ' &&
                               value[k] != ',' && value[k] != '\n';
                 k++) {
                if (value[k] == ':' && !colon)
                    colon = k;
                if (value[k] == '@')
                    at = k;
            }
            if (at && colon && colon < at) {
                put(out, cap, &o, value + st, colon + 1 - st);
                put(out, cap, &o, red, sizeof(red) - 1);
                i = at;
            }
            continue;
        }
        if (o >= limit) {
            put(out, cap, &o, "\xe2\x80\xa6", 3);
            return;
        }
        out[o++] = value[i++];
        out[o] = '\0';
    }
    /* user:password under a user-like key: keep the user */
    if (key_is_userlike(key, keylen) && memchr(value, '@', len) == NULL &&
        memchr(value, '/', len) == NULL) {
        const char *c = memchr(value, ':', len);
        if (c && c > value && (size_t)(c - value) + 1 < len &&
            memchr(value, ' ', len) == NULL) {
            o = 0;
            put(out, cap, &o, value, (size_t)(c - value) + 1);
            put(out, cap, &o, red, sizeof(red) - 1);
        }
    }
}

void sa_fingerprint(const char *const *parts, size_t n, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
            h ^= *p;
            h *= 0x100000001b3ULL;
        }
        h ^= 0xff;  /* separator that no UTF-8 text holds */
        h *= 0x100000001b3ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}
