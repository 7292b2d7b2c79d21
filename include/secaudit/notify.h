/* notify.h — telling people what changed: mail through SMTP (libcurl, TLS always verified),
 * a JSON POST to a webhook, syslog lines. The command decides what to send (state.h's
 * changes) and whether a failure is fatal; these functions build and deliver.
 *
 * curl_global_init must have been called once (the command does it in main) before
 * sa_mail_send or sa_webhook_post. Buffers returned through char ** are sa_free'd by the
 * caller. Secrets (the SMTP password, the bearer token) are never copied into a message or an
 * error text. */
#ifndef SECAUDIT_NOTIFY_H
#define SECAUDIT_NOTIFY_H

#include <stddef.h>

#include "secaudit/finding.h"
#include "secaudit/report.h"
#include "secaudit/state.h"

typedef struct sa_notify_opts {
    const char *const *mail_to;  /* bare addresses (sa_notify_check_address) */
    size_t n_mail_to;
    const char *mail_from;
    const char *smtp_url;        /* smtp://host[:port] (STARTTLS required) or smtps:// */
    const char *smtp_user;       /* NULL: no AUTH */
    const char *smtp_password;   /* from SECAUDIT_SMTP_PASSWORD or --smtp-password-file */
    const char *smtp_ca_file;    /* NULL: the system's CAs */
    const char *post_url;        /* https://…, or http:// to the loopback host only */
    const char *post_ca_file;
    const char *bearer_token;    /* NULL: no Authorization header */
    long timeout;                /* seconds to connect; a whole delivery gets 3 times that */
    const char *host;            /* this host's name, for the subject and Message-ID */
} sa_notify_opts;

/* ---- checks (option parsing) --------------------------------------------------------- */
/* A bare address local@domain: printable ASCII, no space, control, quote, comma, angle
 * bracket or parenthesis, one '@' with text either side. 0 or -1. */
int sa_notify_check_address(const char *addr);
/* smtp:// or smtps:// with a host and no user name or password in it. 0, or -1 with the
 * reason in err. */
int sa_notify_check_smtp_url(const char *url, char *err, size_t errcap);
/* https://, or http:// to 127.0.0.1, [::1] or localhost only; no credentials. */
int sa_notify_check_post_url(const char *url, char *err, size_t errcap);
/* A header value (bearer token, password): printable ASCII only. 0 or -1. */
int sa_notify_check_token(const char *s);

/* ---- what is sent ------------------------------------------------------------------- */
/* The notification JSON: the JSON report of res plus a top-level "changes" object (new:
 * fingerprints of the new findings; resolved: the resolved entries described). */
int sa_notify_json(const sa_result *res, const sa_report_opts *ro, const sa_changes *ch,
                   char **out, size_t *len);
/* The plain-text summary of the changes (every byte from a scanned file escaped). */
int sa_notify_text(FILE *out, const sa_changes *ch, const char *host);
/* The whole RFC 5322 message, CRLF line ends: headers (Date, From, To, Subject, Message-ID,
 * MIME-Version), multipart/mixed of multipart/alternative (text/plain summary, text/html
 * report) and the notification JSON attached as application/json. date and msgid are given
 * (tests); NULL: now and a random one. Every part is base64. 0 or -1 (out of memory). */
int sa_mail_build(const sa_notify_opts *o, const sa_result *res, const sa_report_opts *ro,
                  const sa_changes *ch, const char *json, size_t json_len, const char *date,
                  const char *msgid, char **out, size_t *len);
/* "secaudit: N new, M resolved on HOST" (host: letters, digits, '.', '-', '_' kept, other
 * bytes '?'). */
void sa_mail_subject(char *buf, size_t cap, const sa_changes *ch, const char *host);

/* ---- delivery ----------------------------------------------------------------------- */
/* 0, or -1 with a sentence in err (libcurl's reason, the server's reply or HTTP status). */
int sa_mail_send(const sa_notify_opts *o, const char *msg, size_t len, char *err,
                 size_t errcap);
int sa_webhook_post(const sa_notify_opts *o, const char *body, size_t len, char *err,
                    size_t errcap);

/* ---- syslog ------------------------------------------------------------------------- */
/* One line: finding=new|resolved rule=ID severity=S file="…" line=N fingerprint=HEX
 * title="…". Quoted values escape '"' and '\' with a backslash and every control byte, DEL
 * and byte >= 0x80 that is not valid UTF-8 as \xNN, so a value cannot end the line or forge a
 * field. A rule id of other bytes than [A-Za-z0-9._-] is quoted too. Truncated to cap-1 bytes
 * (never inside an escape). Returns the length written. */
size_t sa_syslog_format(char *buf, size_t cap, int resolved, const char *rule_id,
                        sa_severity sev, const char *file, unsigned line,
                        const char *fingerprint, const char *title);
/* The syslog(3) priority of a severity (LOG_CRIT … LOG_INFO). */
int sa_syslog_priority(sa_severity sev);
/* openlog("secaudit", LOG_PID, LOG_DAEMON) and one line per change, then closelog. */
void sa_syslog_emit(const sa_changes *ch);

#endif
