/* test_notify.c — the syslog line formatter (exact lines, escapes that keep a value from
 * forging a line or a field, truncation), severity → priority, the checks of addresses and
 * URLs, the mail subject, state files (diff, save, load, damaged files named at file:line)
 * and the MIME message's skeleton. The e2e.notify suite delivers through real servers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "secaudit/alloc.h"
#include "secaudit/notify.h"
#include "secaudit/state.h"

static void test_syslog_line(void **unused)
{
    (void)unused;
    char buf[1024];
    size_t n = sa_syslog_format(buf, sizeof(buf), 0, "MONGODB-BIND-ALL-INTERFACES",
                                SA_SEV_MEDIUM, "/etc/mongod.conf", 19, "0123456789abcdef",
                                "Listens on every interface");
    assert_string_equal(buf, "finding=new rule=MONGODB-BIND-ALL-INTERFACES severity=medium "
                             "file=\"/etc/mongod.conf\" line=19 fingerprint=0123456789abcdef "
                             "title=\"Listens on every interface\"");
    assert_int_equal(n, strlen(buf));
    /* a file name that tries to end the line and forge fields */
    sa_syslog_format(buf, sizeof(buf), 1, "X 1", SA_SEV_HIGH,
                     "/etc/a\" line=1\nsecaudit[1]: finding=new rule=FAKE\r\\.conf", 7,
                     "0123456789abcdef", "caf\xc3\xa9 \xff\x1b[31m");
    assert_string_equal(buf, "finding=resolved rule=\"X 1\" severity=high "
                             "file=\"/etc/a\\\" line=1\\x0asecaudit[1]: finding=new "
                             "rule=FAKE\\x0d\\\\.conf\" line=7 fingerprint=0123456789abcdef "
                             "title=\"caf\xc3\xa9 \\xff\\x1b[31m\"");
    assert_null(strchr(buf, '\n'));
    assert_null(strchr(buf, '\r'));
    /* C1 controls as UTF-8 are escaped too */
    sa_syslog_format(buf, sizeof(buf), 0, "R", SA_SEV_LOW, "\xc2\x85", 1, "0123456789abcdef",
                     "t");
    assert_non_null(strstr(buf, "file=\"\\xc2\\x85\""));
    /* truncation: NUL-terminated, never past cap, never half an escape */
    for (size_t cap = 1; cap < 120; cap++) {
        char small[120];
        memset(small, 'Z', sizeof(small));
        size_t l = sa_syslog_format(small, cap, 0, "R", SA_SEV_INFO, "\n\n\n\n\n\n\n\n", 1,
                                    "0123456789abcdef", "t");
        assert_true(l < cap);
        assert_int_equal(strlen(small), l);
        const char *e = strrchr(small, '\\');
        if (e)
            assert_true(strlen(e) >= 4);
    }
}

static void test_priorities(void **unused)
{
    (void)unused;
    assert_int_equal(sa_syslog_priority(SA_SEV_CRITICAL), LOG_CRIT);
    assert_int_equal(sa_syslog_priority(SA_SEV_HIGH), LOG_ERR);
    assert_int_equal(sa_syslog_priority(SA_SEV_MEDIUM), LOG_WARNING);
    assert_int_equal(sa_syslog_priority(SA_SEV_LOW), LOG_NOTICE);
    assert_int_equal(sa_syslog_priority(SA_SEV_INFO), LOG_INFO);
}

static void test_checks(void **unused)
{
    (void)unused;
    assert_int_equal(sa_notify_check_address("ops@example.org"), 0);
    assert_int_equal(sa_notify_check_address("a+b.c@sub.example.org"), 0);
    const char *bad[] = {"", "ops", "@example.org", "ops@", "a@b@c", "ops@example.org\r\n",
                         "ops@exa\nmple.org", "Ops <ops@example.org>", "a b@example.org",
                         "a,b@example.org", "\"a\"@example.org", "caf\xc3\xa9@example.org",
                         "a@example.org\x7f"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sa_notify_check_address(bad[i]), -1);
    char err[200];
    assert_int_equal(sa_notify_check_smtp_url("smtp://mail.example.org:587", err, 200), 0);
    assert_int_equal(sa_notify_check_smtp_url("smtps://mail.example.org:465", err, 200), 0);
    assert_int_equal(sa_notify_check_smtp_url("SMTP://127.0.0.1", err, 200), 0);
    const char *bad_smtp[] = {"http://mail.example.org", "smtp://u:p@mail.example.org",
                              "smtp://u@mail.example.org", "smtp://mail.example.org\r\n",
                              "imap://mail.example.org", "mail.example.org:587"};
    for (size_t i = 0; i < sizeof(bad_smtp) / sizeof(bad_smtp[0]); i++)
        assert_int_equal(sa_notify_check_smtp_url(bad_smtp[i], err, 200), -1);
    assert_int_equal(sa_notify_check_post_url("https://hooks.example.org/x", err, 200), 0);
    assert_int_equal(sa_notify_check_post_url("http://127.0.0.1:8080/x", err, 200), 0);
    assert_int_equal(sa_notify_check_post_url("http://[::1]/x", err, 200), 0);
    assert_int_equal(sa_notify_check_post_url("http://localhost/x", err, 200), 0);
    const char *bad_post[] = {"http://hooks.example.org/x", "http://127.0.0.2/x",
                              "https://u:p@hooks.example.org/x", "ftp://hooks.example.org/",
                              "http://localhost.example.org/x", "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof(bad_post) / sizeof(bad_post[0]); i++)
        assert_int_equal(sa_notify_check_post_url(bad_post[i], err, 200), -1);
    assert_int_equal(sa_notify_check_token("abc.DEF-123_~+/="), 0);
    assert_int_equal(sa_notify_check_token("abc\r\nX-Evil: 1"), -1);
    assert_int_equal(sa_notify_check_token(""), -1);
}

static sa_service svc = {.name = "svc", .title = "Svc"};
static sa_rule rule_a = {.id = "A-1", .title = "First", .severity = SA_SEV_HIGH,
                         .service = &svc};
static sa_rule rule_b = {.id = "B-2", .title = "Second", .severity = SA_SEV_LOW,
                         .service = &svc};

static void add(sa_result *r, const sa_rule *rule, const char *file, unsigned line,
                const char *fp)
{
    r->findings = sa_realloc(r->findings, (r->n_findings + 1) * sizeof(*r->findings));
    assert_non_null(r->findings);
    sa_finding *f = &r->findings[r->n_findings++];
    memset(f, 0, sizeof(*f));
    f->rule = rule;
    assert_int_equal(sa_finding_set_strings(f, file, file, "k", "m", "k = v", NULL), 0);
    f->line = line;
    memcpy(f->fingerprint, fp, 17);
}

static void free_result(sa_result *r)
{
    sa_result_free(r);
    memset(r, 0, sizeof(*r));
}

static void test_state(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/secaudit-state-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], err[700];
    snprintf(path, sizeof(path), "%s/state.json", dir);
    sa_state st;
    int missing;
    assert_int_equal(sa_state_load(&st, path, &sa_limits_default, &missing, err, 700), 0);
    assert_int_equal(missing, 1);
    assert_int_equal(st.n, 0);

    sa_result r = {0};
    add(&r, &rule_a, "/etc/a.conf", 3, "00000000000000aa");
    add(&r, &rule_b, "/etc/b.conf", 9, "00000000000000bb");
    add(&r, &rule_b, "/etc/b.conf", 10, "00000000000000bb");  /* same fingerprint twice */
    sa_changes ch;
    assert_int_equal(sa_state_diff(&r, &st, SA_SEV_INFO, &ch), 0);
    assert_int_equal(ch.n_added, 3);
    assert_int_equal(ch.n_resolved, 0);
    sa_changes_free(&ch);
    assert_int_equal(sa_state_save(path, &r, &st, SA_SEV_INFO, err, 700), 0);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    sa_state_free(&st);

    /* next run: a fixed, one of the two b's fixed, c new */
    free_result(&r);
    add(&r, &rule_b, "/etc/b.conf", 12, "00000000000000bb");
    add(&r, &rule_a, "/etc/c.conf", 1, "00000000000000cc");
    assert_int_equal(sa_state_load(&st, path, &sa_limits_default, &missing, err, 700), 0);
    assert_int_equal(missing, 0);
    assert_int_equal(st.n, 3);
    assert_int_equal(sa_state_diff(&r, &st, SA_SEV_INFO, &ch), 0);
    assert_int_equal(ch.n_added, 1);
    assert_string_equal(ch.added[0]->fingerprint, "00000000000000cc");
    assert_int_equal(ch.n_resolved, 2);
    assert_string_equal(ch.resolved[0]->fingerprint, "00000000000000aa");
    assert_string_equal(ch.resolved[0]->rule_id, "A-1");
    assert_string_equal(ch.resolved[0]->title, "First");
    assert_string_equal(ch.resolved[0]->file, "/etc/a.conf");
    assert_int_equal(ch.resolved[0]->line, 3);
    assert_int_equal(ch.resolved[0]->severity, SA_SEV_HIGH);
    assert_string_equal(ch.resolved[1]->fingerprint, "00000000000000bb");

    /* the subject, and the message's skeleton */
    char subj[200];
    sa_mail_subject(subj, sizeof(subj), &ch, "web-1.example\r\nBcc: x");
    assert_string_equal(subj, "secaudit: 1 new, 2 resolved on web-1.example??Bcc??x");
    const char *to[] = {"ops@example.org", "sec@example.org"};
    sa_notify_opts o = {.mail_to = to, .n_mail_to = 2, .mail_from = "s@example.org",
                        .host = "web-1"};
    sa_report_opts ro = {.min_severity = SA_SEV_INFO, .fail_on = SA_SEV_LOW};
    char *msg;
    size_t len;
    r.n_roots = 0;
    assert_int_equal(sa_mail_build(&o, &r, &ro, &ch, "{}\n", 3,
                                   "Sat, 05 Dec 2026 20:00:00 +0000", "<x@web-1>", &msg, &len),
                     0);
    assert_int_equal(strlen(msg), len);
    const char *hdr = "Date: Sat, 05 Dec 2026 20:00:00 +0000\r\nFrom: <s@example.org>\r\n"
                      "To: <ops@example.org>,\r\n <sec@example.org>\r\n"
                      "Subject: secaudit: 1 new, 2 resolved on web-1\r\n"
                      "Message-ID: <x@web-1>\r\nMIME-Version: 1.0\r\n";
    assert_memory_equal(msg, hdr, strlen(hdr));
    for (size_t i = 0; i < len; i++)
        if (msg[i] == '\n')
            assert_true(i > 0 && msg[i - 1] == '\r');
    assert_non_null(strstr(msg, "Content-Type: multipart/alternative;"));
    assert_non_null(strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "Content-Type: text/html; charset=utf-8\r\n"));
    assert_non_null(strstr(msg, "Content-Type: application/json\r\nContent-Transfer-Encoding: "
                                "base64\r\nContent-Disposition: attachment; "
                                "filename=\"secaudit-report.json\"\r\n\r\ne30K\r\n"));
    sa_free(msg);
    sa_changes_free(&ch);
    assert_int_equal(sa_state_save(path, &r, &st, SA_SEV_INFO, err, 700), 0);
    sa_state_free(&st);
    free_result(&r);

    /* b.conf cannot be read this time: its finding is kept, not resolved */
    add(&r, &rule_a, "/etc/c.conf", 1, "00000000000000cc");
    assert_int_equal(sa_result_add_error(&r, "/etc/b.conf", 0, 0, "svc", "unreadable", 0), 0);
    assert_int_equal(sa_state_load(&st, path, &sa_limits_default, &missing, err, 700), 0);
    assert_int_equal(st.n, 2);
    assert_int_equal(sa_state_diff(&r, &st, SA_SEV_INFO, &ch), 0);
    assert_int_equal(ch.n_added, 0);
    assert_int_equal(ch.n_resolved, 0);
    sa_changes_free(&ch);
    assert_int_equal(sa_state_save(path, &r, &st, SA_SEV_INFO, err, 700), 0);
    sa_state_free(&st);
    assert_int_equal(sa_state_load(&st, path, &sa_limits_default, &missing, err, 700), 0);
    assert_int_equal(st.n, 2);
    assert_string_equal(st.v[1].fingerprint, "00000000000000bb");
    assert_int_equal(st.v[1].line, 12);
    sa_state_free(&st);
    free_result(&r);

    /* damaged files: named at file:line:col, never reset */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", ":1:1: damaged state file"},
        {"{\"secaudit_state\": 2, \"findings\": []}", ":1:20: damaged state file: expected "
                                                      "\"secaudit_state\": 1"},
        {"{\"secaudit_state\": 1,\n\"findings\": [\n{\"fingerprint\": \"00\"}]}",
         ":3:1: damaged state file: entry without \"rule_id\""},
        {"{\"secaudit_state\": 1, \"findings\": [{\"fingerprint\": \"zz\", \"rule_id\": "
         "\"A\",\n\"severity\": \"high\", \"file\": \"f\", \"title\": \"t\", \"line\": 1}]}",
         ":1:52: damaged state file: \"fingerprint\" must be 16"},
        {"{\"secaudit_state\": 1, \"findings\": [{\"fingerprint\": \"00000000000000aa\", "
         "\"rule_id\": \"A\",\n\"severity\": \"bad\", \"file\": \"f\", \"title\": \"t\", "
         "\"line\": 1}]}",
         ":2:13: damaged state file: \"severity\" must be"},
        {"{\"secaudit_state\": 1, \"findings\": [{\"fingerprint\": \"00000000000000aa\", "
         "\"rule_id\": \"A\",\n\"severity\": \"low\", \"file\": \"f\", \"title\": \"t\", "
         "\"line\": -1}]}",
         ":2:55: damaged state file: \"line\" must be"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bad[i].text, f);
        fclose(f);
        err[0] = '\0';
        assert_int_equal(sa_state_load(&st, path, &sa_limits_default, &missing, err, 700), -1);
        assert_int_equal(st.n, 0);
        if (strncmp(err, path, strlen(path)) != 0 || strstr(err, bad[i].want) == NULL)
            fail_msg("case %zu: got '%s', want '%s'", i, err, bad[i].want);
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syslog_line), cmocka_unit_test(test_priorities),
        cmocka_unit_test(test_checks), cmocka_unit_test(test_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
