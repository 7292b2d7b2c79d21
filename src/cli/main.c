/* main.c — the secaudit command line: `scan`, `rules list`, `rules show`. Options are one
 * table; exit codes are the enum below (README.md and REPORT_FORMAT.md document both). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rules/checks.h"
#include "secaudit/alloc.h"
#include "secaudit/baseline.h"
#include "secaudit/notify.h"
#include "secaudit/parse.h"
#include "secaudit/profile.h"
#include "secaudit/report.h"
#include "secaudit/rules.h"
#include "secaudit/scan.h"
#include "secaudit/state.h"
#include "secaudit/suppress.h"
#include "secaudit/view.h"
#include "secaudit/walk.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

enum exit_code {
    EXIT_CLEAN = 0,       /* no finding at or above --fail-on */
    EXIT_FINDINGS = 1,    /* at least one finding at or above --fail-on */
    EXIT_USAGE = 2,       /* usage, rule-file or internal error */
    EXIT_INCOMPLETE = 3,  /* nothing reached the threshold, but a claimed file could not be
                             read or parsed */
    EXIT_UNDELIVERED = 4, /* a notification (mail, webhook) could not be delivered; the
                             state was not advanced. Wins over 1 and 3, not over 2 */
};

enum opt_id {
    OPT_FORMAT = 'f', OPT_OUTPUT = 'o', OPT_QUIET = 'q', OPT_HELP = 'h', OPT_JOBS = 'j',
    OPT_FAIL_ON = 256, OPT_MIN_SEVERITY, OPT_RULES, OPT_EXCLUDE, OPT_MAX_FILE_SIZE,
    OPT_FOLLOW, OPT_ONE_FS, OPT_NO_COLOR, OPT_VERSION, OPT_SERVICE, OPT_ASSUME_VERSION,
    OPT_PROFILE, OPT_IGNORE, OPT_NO_INLINE_IGNORES, OPT_BASELINE, OPT_WRITE_BASELINE,
    OPT_LIMIT, OPT_STATE, OPT_MAIL_TO, OPT_MAIL_FROM, OPT_SMTP_URL, OPT_SMTP_USER,
    OPT_SMTP_PASSWORD_FILE, OPT_SMTP_CA_FILE, OPT_POST_URL, OPT_POST_CA_FILE, OPT_NET_TIMEOUT,
    OPT_SYSLOG,
};

/* The option table, sorted by name. */
static const struct option options[] = {
    {"assume-version", required_argument, NULL, OPT_ASSUME_VERSION},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"exclude", required_argument, NULL, OPT_EXCLUDE},
    {"fail-on", required_argument, NULL, OPT_FAIL_ON},
    {"follow-symlinks", no_argument, NULL, OPT_FOLLOW},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"help", no_argument, NULL, OPT_HELP},
    {"ignore", required_argument, NULL, OPT_IGNORE},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"mail-from", required_argument, NULL, OPT_MAIL_FROM},
    {"mail-to", required_argument, NULL, OPT_MAIL_TO},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    {"min-severity", required_argument, NULL, OPT_MIN_SEVERITY},
    {"net-timeout", required_argument, NULL, OPT_NET_TIMEOUT},
    {"no-color", no_argument, NULL, OPT_NO_COLOR},
    {"no-inline-ignores", no_argument, NULL, OPT_NO_INLINE_IGNORES},
    {"one-file-system", no_argument, NULL, OPT_ONE_FS},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"post-ca-file", required_argument, NULL, OPT_POST_CA_FILE},
    {"post-url", required_argument, NULL, OPT_POST_URL},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"rules", required_argument, NULL, OPT_RULES},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"smtp-ca-file", required_argument, NULL, OPT_SMTP_CA_FILE},
    {"smtp-password-file", required_argument, NULL, OPT_SMTP_PASSWORD_FILE},
    {"smtp-url", required_argument, NULL, OPT_SMTP_URL},
    {"smtp-user", required_argument, NULL, OPT_SMTP_USER},
    {"state", required_argument, NULL, OPT_STATE},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"version", no_argument, NULL, OPT_VERSION},
    {"write-baseline", required_argument, NULL, OPT_WRITE_BASELINE},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "usage: secaudit scan [options] [PATH...]     audit config files (default PATH: /etc)\n"
    "       secaudit rules list [--service NAME]  list the rules\n"
    "       secaudit rules show ID                one rule: why, how to fix, references\n"
    "       secaudit --version | --help\n"
    "\n"
    "scan options:\n"
    "  -f, --format FORMAT         report format: text (default), json, sarif, junit,\n"
    "                              html\n"
    "  -o, --output FILE           write the report to FILE (atomically) instead of stdout\n"
    "      --fail-on LEVEL         exit 1 when a finding is at or above LEVEL: critical, high,\n"
    "                              medium, low, info or none (default: low)\n"
    "      --min-severity LEVEL    report only findings at or above LEVEL (default: info)\n"
    "      --rules DIR             also load DIR/*.yml; a rule with the same id replaces\n"
    "                              the built-in one (repeatable)\n"
    "      --assume-version S=V    judge service S's absent keys by version V's defaults,\n"
    "                              e.g. orthanc=1.5.7 (repeatable)\n"
    "      --exclude GLOB          skip matching files and directories (repeatable)\n"
    "      --max-file-size BYTES   larger files are not assessed (default: 16777216)\n"
    "      --follow-symlinks       follow symbolic links below the given paths\n"
    "      --one-file-system       do not cross into other file systems\n"
    "      --no-color              no colours (also when NO_COLOR is set)\n"
    "  -q, --quiet                 text: findings and errors only, no notes or summary\n"
    "      --profile FILE          read options from a YAML profile first (the command line\n"
    "                              wins), e.g. audit/ci.yml\n"
    "      --ignore FILE           suppress findings listed in FILE (repeatable); a root's\n"
    "                              .secaudit-ignore.yml is read too\n"
    "      --no-inline-ignores     disregard secaudit:ignore comments in scanned files\n"
    "      --baseline FILE         only findings not in FILE count toward the exit code\n"
    "      --write-baseline FILE   record the current findings as the baseline in FILE\n"
    "      --limit NAME=N          raise or lower one limit on untrusted input (README,\n"
    "                              \"Limits\"), e.g. --limit max-depth=512\n"
    "  -j, --jobs N                files parsed and evaluated at once (default: the number\n"
    "                              of online CPUs; 1: all in one thread); same report\n"
    "\n"
    "notification options (README, \"Running from cron\"):\n"
    "      --state FILE            remember what was delivered; notify only what is new or\n"
    "                              resolved since (nothing when nothing changed)\n"
    "      --mail-to ADDR          mail the changes to ADDR (repeatable); needs --mail-from\n"
    "                              and --smtp-url\n"
    "      --mail-from ADDR        the sender address\n"
    "      --smtp-url URL          smtp://HOST:587 (STARTTLS required) or smtps://HOST:465\n"
    "      --smtp-user USER        log in as USER; the password comes from the environment\n"
    "                              (SECAUDIT_SMTP_PASSWORD) or --smtp-password-file\n"
    "      --smtp-password-file FILE  read the SMTP password from FILE's first line\n"
    "      --smtp-ca-file FILE     trust the CA certificates in FILE for the SMTP server\n"
    "      --post-url URL          POST the JSON report with the changes to URL (https://;\n"
    "                              http:// only to the loopback host); bearer token from\n"
    "                              SECAUDIT_WEBHOOK_TOKEN\n"
    "      --post-ca-file FILE     trust the CA certificates in FILE for the webhook\n"
    "      --net-timeout SECONDS   connect timeout of a delivery (default: 30); a whole\n"
    "                              delivery gets three times as long\n"
    "      --syslog                one syslog line per new (and resolved) finding\n"
    "\n"
    "exit status: 0 clean, 1 findings at or above --fail-on, 2 usage/rule/internal error,\n"
    "3 some claimed file could not be read or parsed (and nothing reached --fail-on),\n"
    "4 a notification could not be delivered (wins over 1 and 3; the state is kept)\n";

/* While the options of a profile are parsed: the profile, for messages. */
static const sa_profile *cur_profile;

__attribute__((format(printf, 1, 2))) static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("secaudit: ", stderr);
    if (cur_profile && optind > 0 && optind - 1 < cur_profile->argc)
        fprintf(stderr, "%s:%u: ", cur_profile->path, cur_profile->lines[optind - 1]);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'secaudit --help'.\n", stderr);
}

typedef struct cli {
    const char *format;
    const char *output;
    sa_severity fail_on, min_severity;
    const char **rule_dirs;
    size_t n_rule_dirs;
    const char **versions;
    size_t n_versions;
    const char **excludes;
    size_t n_excludes;
    const char *service;
    int follow, one_fs, no_color, quiet;
    sa_limits lim;
    const char **ignores;
    size_t n_ignores;
    int no_inline_ignores;
    const char *baseline, *write_baseline;
    const char *profile;
    unsigned jobs;  /* 0: the number of online CPUs */
    const char *state;
    const char **mail_to;
    size_t n_mail_to;
    const char *mail_from, *smtp_url, *smtp_user, *smtp_password_file, *smtp_ca_file;
    const char *post_url, *post_ca_file;
    long net_timeout;
    int syslog;
} cli;

/* The report formats, one row each. */
static const struct {
    const char *name;
    int (*write)(FILE *, const sa_result *, const sa_report_opts *);
} formats[] = {
    {"html", sa_report_html},
    {"json", sa_report_json},
    {"junit", sa_report_junit},
    {"sarif", sa_report_sarif},
    {"text", sa_report_text},
};

static int push_arg(const char ***v, size_t *n, const char *arg)
{
    const char **nv = sa_realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    nv[(*n)++] = arg;
    *v = nv;
    return 0;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v == 0 || v > (unsigned long long)SIZE_MAX / 2)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* --limit NAME=N: one field of sa_limits (README, "Limits"). Depths are capped so that no
 * setting can make a parser or the walk exhaust the stack. */
static int set_limit(sa_limits *lim, const char *arg)
{
    static const struct {
        const char *name;
        size_t off, max;
        int is_unsigned;
    } fields[] = {
        {"max-alias-nodes", offsetof(sa_limits, max_alias_nodes), SIZE_MAX / 2, 0},
        {"max-depth", offsetof(sa_limits, max_depth), 4096, 1},
        {"max-dir-depth", offsetof(sa_limits, max_dir_depth), 4096, 1},
        {"max-file-bytes", offsetof(sa_limits, max_file_bytes), SIZE_MAX / 2, 0},
        {"max-ignore-comments", offsetof(sa_limits, max_ignore_comments), SIZE_MAX / 2, 0},
        {"max-nodes", offsetof(sa_limits, max_nodes), SIZE_MAX / 2, 0},
        {"max-regex", offsetof(sa_limits, max_regex), 65536, 0},
        {"max-rule-bytes", offsetof(sa_limits, max_rule_bytes), SIZE_MAX / 2, 0},
        {"max-string", offsetof(sa_limits, max_string), SIZE_MAX / 2, 0},
    };
    const char *eq = strchr(arg, '=');
    for (size_t i = 0; eq && i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strlen(fields[i].name) != (size_t)(eq - arg) ||
            strncmp(fields[i].name, arg, (size_t)(eq - arg)) != 0)
            continue;
        size_t v;
        if (parse_size(eq + 1, &v) < 0 || v > fields[i].max) {
            usage_error("--limit %s: not a number from 1 to %zu", arg, fields[i].max);
            return -1;
        }
        char *field = (char *)lim + fields[i].off;
        if (fields[i].is_unsigned) {
            unsigned u = (unsigned)v;
            memcpy(field, &u, sizeof(u));
        } else {
            memcpy(field, &v, sizeof(v));
        }
        return 0;
    }
    usage_error("--limit '%s': expected NAME=N with NAME one of max-alias-nodes, max-depth, "
                "max-dir-depth, max-file-bytes, max-ignore-comments, max-nodes, max-regex, "
                "max-rule-bytes, max-string", arg);
    return -1;
}

/* s for a message: control bytes and DEL as '?', at most 200 bytes. */
static const char *shown(const char *s, char buf[204])
{
    size_t n = 0;
    for (; s[n] && n < 200; n++)
        buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    if (s[n])
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    buf[n] = '\0';
    return buf;
}

/* Parse argv from optind on; returns -1 on a usage error (already reported). */
static int parse_options(int argc, char **argv, cli *c)
{
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, ":f:o:qhj:", options, NULL)) != -1) {
        switch (ch) {
        case OPT_FORMAT: {
            size_t i = 0, n = sizeof(formats) / sizeof(formats[0]);
            while (i < n && strcmp(formats[i].name, optarg) != 0)
                i++;
            if (i == n) {
                usage_error("unknown format '%s' (expected text, json, sarif, junit or html)",
                            optarg);
                return -1;
            }
            c->format = optarg;
            break;
        }
        case OPT_PROFILE:  /* read before the other options (cmd_scan) */
            if (cur_profile || c->profile == NULL || strcmp(c->profile, optarg) != 0) {
                usage_error("--profile FILE: only 'scan' reads a profile, given once, with the "
                            "option written in full%s", "");
                return -1;
            }
            break;
        case OPT_IGNORE:
            if (push_arg(&c->ignores, &c->n_ignores, optarg) < 0)
                return -1;
            break;
        case OPT_NO_INLINE_IGNORES:
            c->no_inline_ignores = 1;
            break;
        case OPT_BASELINE:
            c->baseline = optarg;
            break;
        case OPT_WRITE_BASELINE:
            c->write_baseline = optarg;
            break;
        case OPT_OUTPUT:
            c->output = optarg;
            break;
        case OPT_QUIET:
            c->quiet = 1;
            break;
        case OPT_FAIL_ON:
            if (sa_severity_parse(optarg, 1, &c->fail_on) < 0) {
                usage_error("--fail-on: unknown level '%s' (expected critical, high, medium, "
                            "low, info or none)", optarg);
                return -1;
            }
            break;
        case OPT_MIN_SEVERITY:
            if (sa_severity_parse(optarg, 0, &c->min_severity) < 0) {
                usage_error("--min-severity: unknown level '%s' (expected critical, high, "
                            "medium, low or info)", optarg);
                return -1;
            }
            break;
        case OPT_RULES:
            if (push_arg(&c->rule_dirs, &c->n_rule_dirs, optarg) < 0)
                return -1;
            break;
        case OPT_ASSUME_VERSION:
            if (push_arg(&c->versions, &c->n_versions, optarg) < 0)
                return -1;
            break;
        case OPT_EXCLUDE:
            if (push_arg(&c->excludes, &c->n_excludes, optarg) < 0)
                return -1;
            break;
        case OPT_LIMIT:
            if (set_limit(&c->lim, optarg) < 0)
                return -1;
            break;
        case OPT_MAX_FILE_SIZE:
            if (parse_size(optarg, &c->lim.max_file_bytes) < 0) {
                usage_error("--max-file-size: '%s' is not a positive number of bytes", optarg);
                return -1;
            }
            break;
        case OPT_JOBS: {
            size_t n;
            if (parse_size(optarg, &n) < 0 || n > 1024) {
                usage_error("--jobs: '%s' is not a number of threads from 1 to 1024", optarg);
                return -1;
            }
            c->jobs = (unsigned)n;
            break;
        }
        case OPT_FOLLOW:
            c->follow = 1;
            break;
        case OPT_STATE:
            c->state = optarg;
            break;
        case OPT_MAIL_TO:
            if (sa_notify_check_address(optarg) < 0) {
                char b[204];
                usage_error("--mail-to: '%s' is not a plain address like ops@example.org (no "
                            "name, spaces, control characters or line breaks)",
                            shown(optarg, b));
                return -1;
            }
            if (push_arg(&c->mail_to, &c->n_mail_to, optarg) < 0)
                return -1;
            break;
        case OPT_MAIL_FROM:
            if (sa_notify_check_address(optarg) < 0) {
                char b[204];
                usage_error("--mail-from: '%s' is not a plain address like "
                            "secaudit@example.org (no name, spaces, control characters or line "
                            "breaks)", shown(optarg, b));
                return -1;
            }
            c->mail_from = optarg;
            break;
        case OPT_SMTP_URL:
        case OPT_POST_URL: {
            char why[200];
            int r = ch == OPT_SMTP_URL ? sa_notify_check_smtp_url(optarg, why, sizeof(why))
                                       : sa_notify_check_post_url(optarg, why, sizeof(why));
            if (r < 0) {
                usage_error("--%s: %s", ch == OPT_SMTP_URL ? "smtp-url" : "post-url", why);
                return -1;
            }
            *(ch == OPT_SMTP_URL ? &c->smtp_url : &c->post_url) = optarg;
            break;
        }
        case OPT_SMTP_USER:
            if (sa_notify_check_token(optarg) < 0) {
                usage_error("--smtp-user: printable characters only%s", "");
                return -1;
            }
            c->smtp_user = optarg;
            break;
        case OPT_SMTP_PASSWORD_FILE:
            c->smtp_password_file = optarg;
            break;
        case OPT_SMTP_CA_FILE:
            c->smtp_ca_file = optarg;
            break;
        case OPT_POST_CA_FILE:
            c->post_ca_file = optarg;
            break;
        case OPT_NET_TIMEOUT: {
            size_t n;
            if (parse_size(optarg, &n) < 0 || n > 3600) {
                usage_error("--net-timeout: '%s' is not a number of seconds from 1 to 3600",
                            optarg);
                return -1;
            }
            c->net_timeout = (long)n;
            break;
        }
        case OPT_SYSLOG:
            c->syslog = 1;
            break;
        case OPT_ONE_FS:
            c->one_fs = 1;
            break;
        case OPT_NO_COLOR:
            c->no_color = 1;
            break;
        case OPT_SERVICE:
            c->service = optarg;
            break;
        case OPT_HELP:
            fputs(usage_text, stdout);
            exit(EXIT_CLEAN);
        case OPT_VERSION:
            printf("secaudit %s\n", SECAUDIT_VERSION);
            exit(EXIT_CLEAN);
        case ':':
            usage_error("option '%s' needs a value", argv[optind - 1]);
            return -1;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    return 0;
}

static sa_ruleset *load_rules(const cli *c)
{
    sa_rule_error err = {{0}};
    sa_ruleset *rs = NULL;
    /* the built-in rules are ours: default limits; --rules files are a stranger's: the
     * limits of this run (--limit) */
    int rc = sa_ruleset_load_builtin(&rs, NULL, &err);
    if (rs)
        rs->lim = c->lim;
    for (size_t i = 0; rc == 0 && i < c->n_rule_dirs; i++)
        rc = sa_ruleset_load_dir(rs, c->rule_dirs[i], &err);
    if (rc == 0)
        rc = sa_ruleset_finish(rs, &err);
    for (size_t i = 0; rc == 0 && i < c->n_versions; i++)
        rc = sa_ruleset_assume_version(rs, c->versions[i], &err);
    if (rc < 0) {
        fputs("secaudit: ", stderr);
        sa_fput_escaped(stderr, err.msg, strlen(err.msg));
        fputc('\n', stderr);
        sa_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

/* The format name write_atomic is given for a baseline file. */
static const char baseline_format[] = "baseline";

static int write_report_as(FILE *f, const cli *c, const sa_result *res,
                           const sa_report_opts *ro)
{
    if (c->format == baseline_format)
        return sa_baseline_write(f, res);
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (strcmp(formats[i].name, c->format) == 0)
            return formats[i].write(f, res, ro);
    return -1;
}

/* The report in c's format; -1 with errno set (ENOMEM when a writer ran out of memory). */
static int write_report(FILE *f, const cli *c, const sa_result *res, const sa_report_opts *ro)
{
    sa_alloc_failed(1);
    int rc = write_report_as(f, c, res, ro);
    if (rc < 0 && sa_alloc_failed(1))
        errno = ENOMEM;
    return rc;
}

/* Write the report to path through a temporary file in the same directory and rename(2), so
 * readers see the old report or the new one, never a part. A path that exists and is not a
 * regular file (/dev/null, /dev/stdout, a FIFO) is written to directly: replacing it with a
 * file would be wrong. */
static int write_atomic(const char *path, const cli *c, const sa_result *res,
                        const sa_report_opts *ro)
{
    struct stat pst;
    if (stat(path, &pst) == 0 && !S_ISREG(pst.st_mode)) {
        if (S_ISDIR(pst.st_mode)) {
            fprintf(stderr, "secaudit: cannot write the report to %s: Is a directory\n", path);
            return -1;
        }
        FILE *f = fopen(path, "w");
        int rc = f ? write_report(f, c, res, ro) : -1;
        if (f && fclose(f) != 0)
            rc = -1;
        if (rc < 0)
            fprintf(stderr, "secaudit: cannot write the report to %s: %s\n", path,
                    strerror(errno));
        return rc;
    }
    const char *slash = strrchr(path, '/');
    char tmp[PATH_MAX];
    int n = slash ? snprintf(tmp, sizeof(tmp), "%.*s/.secaudit-report-XXXXXX",
                             (int)(slash - path), path)
                  : snprintf(tmp, sizeof(tmp), ".secaudit-report-XXXXXX");
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "secaudit: output path too long\n");
        return -1;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "secaudit: cannot write the report next to %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    mode_t mask = umask(0);
    umask(mask);
    FILE *f = fdopen(fd, "w");
    int rc = -1;
    if (f == NULL) {
        close(fd);
    } else {
        if (write_report(f, c, res, ro) == 0 && fchmod(fd, 0666 & ~mask) == 0 &&
            fflush(f) == 0 && fsync(fd) == 0)
            rc = 0;
        if (fclose(f) != 0)
            rc = -1;
        if (rc == 0 && rename(tmp, path) != 0)
            rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "secaudit: cannot write the report to %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* The ignore files that apply: each directory root's .secaudit-ignore.yml and --ignore
 * FILEs. 0, or -1 (reported). */
static int load_ignores(const cli *c, const char *const *roots, size_t n_roots,
                        sa_ignore_list *ign)
{
    char err[700];
    for (size_t i = 0; i < n_roots; i++) {
        struct stat st;
        if (stat(roots[i], &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        size_t n = strlen(roots[i]) + sizeof(SA_IGNORE_FILE_NAME) + 2;
        char *path = sa_malloc(n);
        if (path == NULL) {
            fprintf(stderr, "secaudit: out of memory\n");
            return -1;
        }
        snprintf(path, n, "%s/%s", roots[i], SA_IGNORE_FILE_NAME);
        int r = sa_ignore_load(ign, path, (long)i, 1, &c->lim, err, sizeof(err));
        sa_free(path);
        if (r < 0)
            goto bad;
    }
    for (size_t i = 0; i < c->n_ignores; i++)
        if (sa_ignore_load(ign, c->ignores[i], -1, 0, &c->lim, err, sizeof(err)) < 0)
            goto bad;
    return 0;
bad:
    fputs("secaudit: ", stderr);
    sa_fput_escaped(stderr, err, strlen(err));
    fputc('\n', stderr);
    return -1;
}

/* The notification options hang together: 0, or -1 (reported). */
static int check_notify(const cli *c)
{
    const char *lone = !c->n_mail_to && c->mail_from        ? "--mail-from"
                       : !c->n_mail_to && c->smtp_url        ? "--smtp-url"
                       : !c->n_mail_to && c->smtp_user       ? "--smtp-user"
                       : !c->n_mail_to && c->smtp_ca_file    ? "--smtp-ca-file"
                       : !c->n_mail_to && c->smtp_password_file ? "--smtp-password-file"
                                                                : NULL;
    if (lone) {
        usage_error("%s is for mail: give --mail-to ADDR too", lone);
        return -1;
    }
    if (c->n_mail_to && (c->mail_from == NULL || c->smtp_url == NULL)) {
        usage_error("--mail-to needs --mail-from ADDR and --smtp-url smtp://HOST:587 (or "
                    "smtps://HOST:465)%s", "");
        return -1;
    }
    if (c->smtp_password_file && c->smtp_user == NULL) {
        usage_error("--smtp-password-file needs --smtp-user USER%s", "");
        return -1;
    }
    if (c->post_ca_file && c->post_url == NULL) {
        usage_error("--post-ca-file is for the webhook: give --post-url URL too%s", "");
        return -1;
    }
    return 0;
}

/* The SMTP password for --smtp-user: --smtp-password-file's first line, else
 * SECAUDIT_SMTP_PASSWORD. An sa_malloc'd copy, or NULL (reported). */
static char *smtp_password(const cli *c)
{
    char *pw = NULL;
    if (c->smtp_password_file) {
        sa_buf buf;
        if (sa_read_user_file(c->smtp_password_file, 4096, 0, &buf) < 0) {
            fprintf(stderr, "secaudit: cannot read the SMTP password from %s: %s\n",
                    c->smtp_password_file, sa_read_user_file_error(errno));
            return NULL;
        }
        size_t n = buf.data ? strcspn(buf.data, "\r\n") : 0;
        pw = sa_strndup(buf.data ? buf.data : "", n);
        if (buf.data)
            memset(buf.data, 0, buf.len);
        sa_buf_free(&buf);
    } else {
        const char *env = getenv("SECAUDIT_SMTP_PASSWORD");
        if (env == NULL || *env == '\0') {
            fprintf(stderr, "secaudit: --smtp-user needs a password: set "
                            "SECAUDIT_SMTP_PASSWORD or give --smtp-password-file FILE\n");
            return NULL;
        }
        pw = sa_strdup(env);
    }
    if (pw == NULL) {
        fprintf(stderr, "secaudit: out of memory\n");
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)pw; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "secaudit: the SMTP password holds a control character\n");
            memset(pw, 0, strlen(pw));
            sa_free(pw);
            return NULL;
        }
    if (*pw == '\0') {
        fprintf(stderr, "secaudit: the SMTP password in %s is empty\n",
                c->smtp_password_file);
        sa_free(pw);
        return NULL;
    }
    return pw;
}

/* Tell what changed since the state (mail, webhook, syslog). 0 when everything was
 * delivered (or nothing had to be), 1 when a delivery failed (reported), -1 when out of
 * memory. */
static int notify(const cli *c, const sa_notify_opts *no, const sa_result *res,
                  const sa_report_opts *ro, const sa_changes *ch)
{
    if (ch->n_added == 0 && ch->n_resolved == 0)
        return 0;
    if (c->syslog)
        sa_syslog_emit(ch);
    if (!c->n_mail_to && !c->post_url)
        return 0;
    char *json = NULL, *msg = NULL, err[CURL_ERROR_SIZE + 600];
    size_t json_len = 0, msg_len = 0;
    int failed = 0;
    if (sa_notify_json(res, ro, ch, &json, &json_len) < 0)
        return -1;
    if (c->n_mail_to) {
        if (sa_mail_build(no, res, ro, ch, json, json_len, NULL, NULL, &msg, &msg_len) < 0) {
            sa_free(json);
            return -1;
        }
        if (sa_mail_send(no, msg, msg_len, err, sizeof(err)) < 0) {
            fputs("secaudit: ", stderr);
            sa_fput_escaped(stderr, err, strlen(err));
            fputc('\n', stderr);
            failed = 1;
        }
        sa_free(msg);
    }
    if (c->post_url && sa_webhook_post(no, json, json_len, err, sizeof(err)) < 0) {
        fputs("secaudit: ", stderr);
        sa_fput_escaped(stderr, err, strlen(err));
        fputc('\n', stderr);
        failed = 1;
    }
    sa_free(json);
    return failed;
}

static int cmd_scan(int argc, char **argv)
{
    cli c = {.format = "text", .fail_on = SA_SEV_LOW, .min_severity = SA_SEV_INFO,
             .lim = sa_limits_default};
    int code = EXIT_USAGE;
    sa_ruleset *rs = NULL;
    sa_result res = {0};
    sa_profile prof = {0};
    sa_ignore_list ign = {0};
    sa_baseline bl = {0};
    sa_state state = {0};
    char *password = NULL;
    char host[256] = "localhost";
    char err[700];
    /* a profile's options come first, so the command line's win */
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--profile") == 0 && i + 1 < argc) {
            c.profile = argv[i + 1];
            break;
        }
        if (strncmp(argv[i], "--profile=", 10) == 0) {
            c.profile = argv[i] + 10;
            break;
        }
    }
    if (c.profile) {
        if (sa_profile_load(&prof, c.profile, options, &c.lim, err, sizeof(err)) < 0) {
            fputs("secaudit: ", stderr);
            sa_fput_escaped(stderr, err, strlen(err));
            fputc('\n', stderr);
            goto done;
        }
        cur_profile = &prof;
        optind = 0;
        int r = parse_options(prof.argc, prof.argv, &c);
        cur_profile = NULL;
        if (r < 0)
            goto done;
    }
    optind = 0;
    if (parse_options(argc - 1, argv + 1, &c) < 0)
        goto done;
    if (c.service) {
        usage_error("--service belongs to 'rules list'%s", "");
        goto done;
    }
    if (check_notify(&c) < 0)
        goto done;
    const char *token = getenv("SECAUDIT_WEBHOOK_TOKEN");
    if (token && *token == '\0')
        token = NULL;
    if (c.post_url && token && sa_notify_check_token(token) < 0) {
        fprintf(stderr, "secaudit: SECAUDIT_WEBHOOK_TOKEN must be printable ASCII\n");
        goto done;
    }
    if (c.smtp_user && (password = smtp_password(&c)) == NULL)
        goto done;
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    int state_missing = 0;
    if (c.state && sa_state_load(&state, c.state, &c.lim, &state_missing, err, sizeof(err)) < 0) {
        fputs("secaudit: ", stderr);
        sa_fput_escaped(stderr, err, strlen(err));
        fputs(" (secaudit does not start over on its own: fix or remove the file)\n", stderr);
        goto done;
    }
    const char *const default_root[] = {"/etc"};
    const char *const *roots = (const char *const *)argv + 1 + optind;
    size_t n_roots = (size_t)(argc - 1 - optind);
    if (n_roots == 0) {
        roots = default_root;
        n_roots = 1;
    }
    for (size_t i = 0; i < n_roots; i++) {
        struct stat st;
        if (stat(roots[i], &st) != 0) {
            fprintf(stderr, "secaudit: cannot scan '%s': %s\n", roots[i], strerror(errno));
            goto done;
        }
    }
    char today[11];
    if (sa_today(today, err, sizeof(err)) < 0) {
        fprintf(stderr, "secaudit: %s\n", err);
        goto done;
    }
    if (load_ignores(&c, roots, n_roots, &ign) < 0)
        goto done;
    if (c.baseline && sa_baseline_load(&bl, c.baseline, &c.lim, err, sizeof(err)) < 0) {
        fputs("secaudit: ", stderr);
        sa_fput_escaped(stderr, err, strlen(err));
        fputc('\n', stderr);
        goto done;
    }
    if ((rs = load_rules(&c)) == NULL)
        goto done;
    sa_scan_opts so = {.roots = roots, .n_roots = n_roots, .follow_symlinks = c.follow,
                       .one_file_system = c.one_fs,
                       .excludes = (const char *const *)c.excludes,
                       .n_excludes = c.n_excludes, .lim = c.lim, .jobs = c.jobs};
    if (so.jobs == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        so.jobs = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;
    }
    sa_suppress_opts sup = {.inline_ignores = !c.no_inline_ignores, .ignores = &ign,
                            .today = today};
    if (sa_scan(rs, &so, &res) < 0 || sa_suppress_apply(&res, &sup) < 0 ||
        (c.baseline && sa_baseline_apply(&res, &bl, rs) < 0)) {
        fprintf(stderr, "secaudit: out of memory\n");
        goto done;
    }
    const char *nc = getenv("NO_COLOR");
    sa_report_opts ro = {.color = !c.output && !c.no_color && !(nc && *nc) &&
                                  isatty(STDOUT_FILENO),
                         .quiet = c.quiet, .min_severity = c.min_severity,
                         .fail_on = c.fail_on};
    if (c.write_baseline) {
        cli bc = c;
        bc.format = baseline_format;
        if (write_atomic(c.write_baseline, &bc, &res, &ro) < 0)
            goto done;
    }
    int w;
    if (c.output) {
        w = write_atomic(c.output, &c, &res, &ro);
    } else {
        w = write_report(stdout, &c, &res, &ro);
        if (w < 0)
            fprintf(stderr, "secaudit: cannot write the report: %s\n", strerror(errno));
    }
    if (w < 0)
        goto done;
    if (c.state || c.n_mail_to || c.post_url || c.syslog) {
        sa_notify_opts no = {.mail_to = (const char *const *)c.mail_to,
                             .n_mail_to = c.n_mail_to, .mail_from = c.mail_from,
                             .smtp_url = c.smtp_url, .smtp_user = c.smtp_user,
                             .smtp_password = password, .smtp_ca_file = c.smtp_ca_file,
                             .post_url = c.post_url, .post_ca_file = c.post_ca_file,
                             .bearer_token = token,
                             .timeout = c.net_timeout ? c.net_timeout : 30, .host = host};
        sa_changes ch;
        if (sa_state_diff(&res, &state, c.min_severity, &ch) < 0) {
            fprintf(stderr, "secaudit: out of memory\n");
            goto done;
        }
        int r = notify(&c, &no, &res, &ro, &ch);
        sa_changes_free(&ch);
        if (r < 0) {
            fprintf(stderr, "secaudit: out of memory\n");
            goto done;
        }
        if (r > 0) {
            if (c.state)
                fprintf(stderr, "secaudit: %s was not updated: the next run reports the same "
                                "changes\n", c.state);
            code = EXIT_UNDELIVERED;
            goto done;
        }
        if (c.state && sa_state_save(c.state, &res, &state, c.min_severity, err,
                                     sizeof(err)) < 0) {
            fprintf(stderr, "secaudit: %s (the notifications of this run were delivered; the "
                            "next run repeats them)\n", err);
            goto done;
        }
    }
    code = EXIT_CLEAN;
    for (size_t i = 0; i < res.n_findings; i++)
        if (sa_finding_counts(&res.findings[i], c.fail_on, c.min_severity))
            code = EXIT_FINDINGS;
    if (code == EXIT_CLEAN && res.n_errors)
        code = EXIT_INCOMPLETE;
done:
    sa_state_free(&state);
    if (password) {
        memset(password, 0, strlen(password));
        sa_free(password);
    }
    sa_free(c.mail_to);
    sa_result_free(&res);
    sa_ruleset_free(rs);
    sa_profile_free(&prof);
    sa_ignore_free(&ign);
    sa_baseline_free(&bl);
    sa_free(c.rule_dirs);
    sa_free(c.versions);
    sa_free(c.excludes);
    sa_free(c.ignores);
    return code;
}

static void print_field(const char *name, const char *value)
{
    printf("%-13s", name);
    sa_fput_escaped(stdout, value, strlen(value));
    putchar('\n');
}

/* The defaults the rule reads, for the version assumed. */
static void print_defaults(const sa_rule *r)
{
    const sa_service *svc = r->service;
    int any = 0;
    for (size_t i = 0; i < svc->n_defaults; i++) {
        const sa_default *d = &svc->defaults[i];
        if (!sa_rule_reads_default(r, d))
            continue;
        if (!any) {
            const char *v = svc->assumed_version ? svc->assumed_version : svc->version;
            printf("\ndefaults:    when the file does not set a key");
            if (v)
                printf(" (%s %s assumed; --assume-version %s=VERSION to change)", svc->title, v,
                       svc->name);
            putchar('\n');
            any = 1;
        }
        fputs("  ", stdout);
        sa_fput_escaped(stdout, d->key, strlen(d->key));
        fputs(" = ", stdout);
        if (d->same_as) {
            fputs("the value of ", stdout);
            sa_fput_escaped(stdout, d->same_as, strlen(d->same_as));
        } else if (d->value && d->value->type == SA_MAP) {
            fputs(d->value->count ? "{...}" : "{}", stdout);
        } else if (d->value && d->value->type == SA_LIST) {
            fputs(d->value->count ? "[...]" : "[]", stdout);
        } else if (d->value && d->value->str) {
            sa_fput_escaped(stdout, d->value->str, d->value->len);
        }
        /* the versions, unless the note already says them */
        int says = d->note && ((d->since && strstr(d->note, d->since)) ||
                               (d->until && strstr(d->note, d->until)));
        if ((d->since || d->until) && !says) {
            printf(" (%s %s ", svc->title, d->since ? ">=" : "<=");
            const char *v = d->since ? d->since : d->until;
            sa_fput_escaped(stdout, v, strlen(v));
            if (d->since && d->until) {
                printf(", <= ");
                sa_fput_escaped(stdout, d->until, strlen(d->until));
            }
            putchar(')');
        }
        if (d->note) {
            fputs(": ", stdout);
            sa_fput_escaped(stdout, d->note, strlen(d->note));
        }
        putchar('\n');
    }
}

static int cmd_rules(int argc, char **argv)
{
    cli c = {.format = "text", .lim = sa_limits_default};
    if (argc < 3 || (strcmp(argv[2], "list") != 0 && strcmp(argv[2], "show") != 0)) {
        usage_error("'rules' needs 'list' or 'show ID'%s", "");
        return EXIT_USAGE;
    }
    int show = strcmp(argv[2], "show") == 0;
    optind = 3;
    int code = EXIT_USAGE;
    sa_ruleset *rs = NULL;
    if (parse_options(argc, argv, &c) < 0)
        goto done;
    if (show != (optind + 1 == argc) || (!show && optind != argc)) {
        usage_error(show ? "'rules show' needs exactly one rule id%s"
                         : "'rules list' takes no arguments%s", "");
        goto done;
    }
    if ((rs = load_rules(&c)) == NULL)
        goto done;
    if (!show) {
        if (c.service && sa_ruleset_find_service(rs, c.service) == NULL) {
            usage_error("unknown service '%s' (see 'secaudit rules list')", c.service);
            goto done;
        }
        /* columns as wide as the longest id and service name listed */
        int wid = 0, wsvc = 0;
        for (size_t i = 0; i < rs->n_rules; i++) {
            const sa_rule *r = rs->rules[i];
            if (c.service && strcmp(r->service->name, c.service) != 0)
                continue;
            wid = MAX(wid, (int)strlen(r->id));
            wsvc = MAX(wsvc, (int)strlen(r->service->name));
        }
        for (size_t i = 0; i < rs->n_rules; i++) {
            const sa_rule *r = rs->rules[i];
            if (c.service && strcmp(r->service->name, c.service) != 0)
                continue;
            printf("%-*s %-8s %-*s ", wid, r->id, sa_severity_name(r->severity), wsvc,
                   r->service->name);
            sa_fput_escaped(stdout, r->title, strlen(r->title));
            putchar('\n');
        }
        code = EXIT_CLEAN;
        goto done;
    }
    const sa_rule *r = sa_ruleset_find_rule(rs, argv[optind]);
    if (r == NULL && strcmp(argv[optind], sa_rule_ignore_no_reason.id) == 0)
        r = &sa_rule_ignore_no_reason;  /* built in, outside the rule files */
    if (r == NULL) {
        usage_error("no rule with id '%s' (see 'secaudit rules list')", argv[optind]);
        goto done;
    }
    const sa_service *svc = r->service;
    print_field("id:", r->id);
    print_field("title:", r->title);
    print_field("severity:", sa_severity_name(r->severity));
    print_field("service:", svc->title);
    printf("%-13s", "files:");
    if (svc->n_files == 0)
        fputs("(secaudit:ignore comments in any file)\n", stdout);
    for (size_t i = 0; i < svc->n_files; i++) {
        sa_fput_escaped(stdout, svc->files[i].glob, strlen(svc->files[i].glob));
        if (svc->files[i].sniff_set)
            fputs(" (when the content matches)", stdout);
        fputs(i + 1 < svc->n_files ? ", " : "\n", stdout);
    }
    if (r->when_src)
        print_field("condition:", r->when_src);
    if (r->check) {
        const sa_check *chk = sa_check_find(r->check);
        printf("%-13s%s: %s\n", "check:", r->check, chk ? chk->summary : "");
    }
    if (r->for_each)
        print_field("for each:", r->for_each);
    if (r->at)
        print_field("points at:", r->at);
    print_field("defined in:", r->origin);
    print_defaults(r);
    printf("\nwhy it matters:\n  ");
    sa_fput_escaped(stdout, r->rationale, strlen(r->rationale));
    printf("\n\nhow to fix:\n  ");
    sa_fput_escaped(stdout, r->remediation, strlen(r->remediation));
    putchar('\n');
    if (r->n_refs) {
        printf("\nreferences:\n");
        for (size_t i = 0; i < r->n_refs; i++) {
            fputs("  ", stdout);
            sa_fput_escaped(stdout, r->refs[i], strlen(r->refs[i]));
            putchar('\n');
        }
    }
    code = EXIT_CLEAN;
done:
    sa_ruleset_free(rs);
    sa_free(c.rule_dirs);
    sa_free(c.versions);
    sa_free(c.excludes);
    sa_free(c.ignores);
    return code;
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* A scan allocates and frees a document per file. By default glibc gives the freed top
     * of the heap back to the kernel after each file (and large blocks are mmap'ed and
     * unmapped each time), so the next file faults in fresh zeroed pages: about 30 % of the
     * CPU of a tree scan (bench/RESULTS.md). Keep up to 32 MiB of freed memory instead. */
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
    sa_xml_init();
    sa_json_init();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "secaudit: cannot initialise libcurl\n");
        return EXIT_USAGE;
    }
    /* For tests only (README, "Limits and failure"): fail the Nth allocation of this run. */
    const char *fail_at = getenv("SECAUDIT_ALLOC_FAIL_AT");
    if (fail_at && *fail_at)
        sa_alloc_fail_at(strtoul(fail_at, NULL, 10));
    int code;
    if (argc < 2) {
        usage_error("missing command (scan or rules)%s", "");
        code = EXIT_USAGE;
    } else if (strcmp(argv[1], "scan") == 0) {
        code = cmd_scan(argc, argv);
    } else if (strcmp(argv[1], "rules") == 0) {
        code = cmd_rules(argc, argv);
    } else if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        code = EXIT_CLEAN;
    } else if (strcmp(argv[1], "--version") == 0) {
        printf("secaudit %s\n", SECAUDIT_VERSION);
        code = EXIT_CLEAN;
    } else {
        usage_error("unknown command '%s' (expected scan or rules)", argv[1]);
        code = EXIT_USAGE;
    }
    if (fail_at && *fail_at && getenv("SECAUDIT_ALLOC_COUNT"))
        fprintf(stderr, "secaudit: %lu allocations\n", sa_alloc_fail_at(0));
    sa_xml_cleanup();
    curl_global_cleanup();
    if (fflush(stdout) != 0 && code != EXIT_USAGE) {
        fprintf(stderr, "secaudit: cannot write to standard output\n");
        code = EXIT_USAGE;
    }
    return code;
}
