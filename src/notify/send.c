/* send.c — delivery through libcurl (notify.h): SMTP with TLS required (STARTTLS on
 * smtp://, implicit TLS on smtps://) and an HTTPS POST, peer and host always verified, with
 * connect and total timeouts. No redirect is followed and no other protocol is allowed. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "secaudit/alloc.h"
#include "secaudit/notify.h"

typedef struct reader {
    const char *p;
    size_t left;
} reader;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
    reader *r = userdata;
    size_t n = size * nitems;
    if (n > r->left)
        n = r->left;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return n;
}

static size_t discard_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* The options every delivery shares. */
static int common(CURL *h, const char *url, const char *protocols, const char *ca_file,
                  long timeout, char *errbuf)
{
    long t = timeout > 0 ? timeout : 30;
    return curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
                   (ca_file && curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) != CURLE_OK) ||
                   curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, t) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_TIMEOUT, 3 * t) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED) != CURLE_OK ||
                   curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK
               ? -1
               : 0;
}

static void reason(char *err, size_t errcap, const char *what, const char *url, CURLcode rc,
                   const char *errbuf)
{
    snprintf(err, errcap, "%s %s failed: %s", what, url,
             errbuf[0] ? errbuf : curl_easy_strerror(rc));
    size_t n = strlen(err);
    while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
        err[--n] = '\0';
}

int sa_mail_send(const sa_notify_opts *o, const char *msg, size_t len, char *err,
                 size_t errcap)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    struct curl_slist *rcpt = NULL;
    char from[300];
    int rc = -1;
    if (h == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < o->n_mail_to; i++) {
        char a[300];
        snprintf(a, sizeof(a), "<%s>", o->mail_to[i]);
        struct curl_slist *n = curl_slist_append(rcpt, a);
        if (n == NULL) {
            snprintf(err, errcap, "out of memory");
            goto done;
        }
        rcpt = n;
    }
    snprintf(from, sizeof(from), "<%s>", o->mail_from);
    reader r = {msg, len};
    if (common(h, o->smtp_url, "smtp,smtps", o->smtp_ca_file, o->timeout, errbuf) < 0 ||
        curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_READDATA, &r) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        (o->smtp_user && (curl_easy_setopt(h, CURLOPT_USERNAME, o->smtp_user) != CURLE_OK ||
                          curl_easy_setopt(h, CURLOPT_PASSWORD, o->smtp_password) !=
                              CURLE_OK))) {
        snprintf(err, errcap, "cannot set up the mail delivery (libcurl %s lacks a needed "
                              "feature)", curl_version_info(CURLVERSION_NOW)->version);
        goto done;
    }
    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        if (c == CURLE_USE_SSL_FAILED)
            snprintf(err, errcap, "mail delivery through %s failed: the server does not "
                                  "offer STARTTLS, and secaudit never sends mail unencrypted",
                     o->smtp_url);
        else if (c == CURLE_LOGIN_DENIED)
            snprintf(err, errcap, "mail delivery through %s failed: the server refused the "
                                  "login of user '%s' (check SECAUDIT_SMTP_PASSWORD or "
                                  "--smtp-password-file)", o->smtp_url, o->smtp_user);
        else
            reason(err, errcap, "mail delivery through", o->smtp_url, c, errbuf);
        goto done;
    }
    rc = 0;
done:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    return rc;
}

int sa_webhook_post(const sa_notify_opts *o, const char *body, size_t len, char *err,
                    size_t errcap)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char *auth = NULL;
    int rc = -1;
    if (h == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    struct curl_slist *n = curl_slist_append(NULL, "Content-Type: application/json");
    if (n)
        hdr = n;
    if (n && o->bearer_token) {
        size_t an = strlen(o->bearer_token) + 32;
        if ((auth = sa_malloc(an)) != NULL) {
            snprintf(auth, an, "Authorization: Bearer %s", o->bearer_token);
            n = curl_slist_append(hdr, auth);
            if (n)
                hdr = n;
        } else {
            n = NULL;
        }
    }
    if (n == NULL) {
        snprintf(err, errcap, "out of memory");
        goto done;
    }
    n = curl_slist_append(hdr, "Expect:");
    if (n)
        hdr = n;
    if (common(h, o->post_url, "http,https", o->post_ca_file, o->timeout, errbuf) < 0 ||
        curl_easy_setopt(h, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_USERAGENT, "secaudit/" SECAUDIT_VERSION) != CURLE_OK ||
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb) != CURLE_OK) {
        snprintf(err, errcap, "cannot set up the webhook POST (libcurl %s lacks a needed "
                              "feature)", curl_version_info(CURLVERSION_NOW)->version);
        goto done;
    }
    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        reason(err, errcap, "the POST to", o->post_url, c, errbuf);
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        snprintf(err, errcap, "the POST to %s failed: the server answered HTTP %ld",
                 o->post_url, status);
        goto done;
    }
    rc = 0;
done:
    if (auth) {
        memset(auth, 0, strlen(auth));
        sa_free(auth);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return rc;
}
