/* check.c — what the command line accepts for addresses, URLs and tokens (notify.h). Every
 * check runs at option parsing, so a bad value stops the run (exit 2) before anything is
 * scanned or sent. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "secaudit/notify.h"

int sa_notify_check_address(const char *addr)
{
    const char *at = strchr(addr, '@');
    if (at == NULL || at == addr || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
        strlen(addr) > 254)
        return -1;
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),:;<>[\\]", *p) != NULL)
            return -1;
    return 0;
}

int sa_notify_check_token(const char *s)
{
    if (*s == '\0')
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return -1;
    return 0;
}

/* Parse url; 0 with the scheme and host (curl_free'd by the caller), or -1 with a reason. */
static int split(const char *url, char **scheme, char **host, char *err, size_t errcap)
{
    *scheme = *host = NULL;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f) {
            snprintf(err, errcap, "the URL must be printable ASCII without spaces");
            return -1;
        }
    CURLU *u = curl_url();
    if (u == NULL) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    int rc = -1;
    char *user = NULL, *pass = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        snprintf(err, errcap, "not a URL");
    } else if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER ||
               curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) != CURLUE_NO_PASSWORD) {
        snprintf(err, errcap, "credentials do not belong in the URL (the command line is "
                              "visible to every user of the host)");
    } else if (curl_url_get(u, CURLUPART_SCHEME, scheme, 0) != CURLUE_OK ||
               curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK || **host == '\0') {
        snprintf(err, errcap, "the URL needs a scheme and a host");
    } else {
        rc = 0;
    }
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    if (rc < 0) {
        curl_free(*scheme);
        curl_free(*host);
        *scheme = *host = NULL;
    }
    return rc;
}

int sa_notify_check_smtp_url(const char *url, char *err, size_t errcap)
{
    char *scheme, *host;
    if (split(url, &scheme, &host, err, errcap) < 0)
        return -1;
    int rc = 0;
    if (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0) {
        snprintf(err, errcap, "expected smtp://HOST:PORT (STARTTLS) or smtps://HOST:PORT");
        rc = -1;
    }
    curl_free(scheme);
    curl_free(host);
    return rc;
}

int sa_notify_check_post_url(const char *url, char *err, size_t errcap)
{
    char *scheme, *host;
    if (split(url, &scheme, &host, err, errcap) < 0)
        return -1;
    int rc = 0;
    if (strcasecmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcasecmp(scheme, "http") == 0) {
        if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "[::1]") != 0 &&
            strcasecmp(host, "localhost") != 0) {
            snprintf(err, errcap, "plain http is allowed only to 127.0.0.1, [::1] or "
                                  "localhost; use https://");
            rc = -1;
        }
    } else {
        snprintf(err, errcap, "expected https://HOST/PATH");
        rc = -1;
    }
    curl_free(scheme);
    curl_free(host);
    return rc;
}
