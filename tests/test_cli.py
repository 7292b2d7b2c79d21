#!/usr/bin/python3
"""End-to-end tests of the secaudit command line: exit codes, the JSON report's shape and
exact findings on the demo tree, determinism, hostile trees (FIFO, symlink loop, terminal
escapes), secrets, atomic output, rule loading.

usage: test_cli.py SECAUDIT SOURCE_DIR
"""
import json
import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SECAUDIT = None
# SECAUDIT_WRAPPER="valgrind -q --error-exitcode=99 ..." runs every command under a tool; a
# report from it changes the exit code, which every test checks.
WRAPPER = os.environ.get("SECAUDIT_WRAPPER", "").split()
SRC = None

# Absent keys are judged by their defaults, reported at the document's root element (1:1 for
# JSON, the __ACTIVE__ profile for OMERO).
ORTHANC = "etc/orthanc/orthanc.json"
OMERO = "opt/omero/etc/grid/config.xml"
NGINX = "etc/nginx/conf.d/sre-proxy.conf"
DEMO_FINDINGS = [
    ("MONGODB-EXPOSED-NO-AUTH", "etc/mongod.conf", 7, 1, "default"),
    ("MONGODB-JAVASCRIPT-ENABLED", "etc/mongod.conf", 7, 1, "default"),
    ("MONGODB-LOCALHOST-AUTH-BYPASS", "etc/mongod.conf", 7, 1, "default"),
    ("MONGODB-BIND-ALL-INTERFACES", "etc/mongod.conf", 19, 3, "explicit"),
    ("MONGODB-TLS-NOT-REQUIRED", "etc/mongod.conf", 21, 5, "explicit"),
    ("MONGODB-TLS-ALLOW-INVALID-CERTS", "etc/mongod.conf", 23, 5, "explicit"),
    ("NGINX-NO-FRAME-OPTIONS", NGINX, 1, 1, "explicit"),
    ("NGINX-NO-NOSNIFF", NGINX, 1, 1, "explicit"),
    ("NGINX-SERVER-TOKENS", NGINX, 1, 1, "default"),
    ("NGINX-PLAIN-HTTP", NGINX, 2, 5, "explicit"),
    ("NGINX-PROXY-NO-VERIFY", NGINX, 3, 29, "default"),
    ("ORTHANC-DICOM-ALWAYS-ALLOW-ECHO", ORTHANC, 1, 1, "default"),
    ("ORTHANC-DICOM-ALWAYS-ALLOW-STORE", ORTHANC, 1, 1, "default"),
    ("ORTHANC-DICOM-NO-CALLED-AET-CHECK", ORTHANC, 1, 1, "default"),
    ("ORTHANC-DICOM-NO-TLS", ORTHANC, 1, 1, "default"),
    ("ORTHANC-DICOM-SERVER-ENABLED", ORTHANC, 1, 1, "default"),
    ("ORTHANC-HTTP-DESCRIBE-ERRORS", ORTHANC, 1, 1, "default"),
    ("ORTHANC-LIMIT-FIND-INSTANCES", ORTHANC, 1, 1, "default"),
    ("ORTHANC-WEBDAV-REMOTE", ORTHANC, 1, 1, "default"),
    ("ORTHANC-WEBDAV-UPLOAD", ORTHANC, 1, 1, "default"),
    ("ORTHANC-HTTP-NO-TLS", ORTHANC, 30, 3, "explicit"),
    ("ORTHANC-AUTH-NO-USERS", ORTHANC, 41, 3, "explicit"),
    ("ORTHANC-HTTPS-NO-VERIFY", ORTHANC, 57, 3, "explicit"),
    ("ORTHANC-LIMIT-FIND-RESULTS", ORTHANC, 65, 3, "explicit"),
    ("PG-HBA-TRUST-LOOPBACK", "etc/postgresql/16/main/pg_hba.conf", 21, 65, "explicit"),
    ("PG-HBA-NO-TLS-REMOTE", "etc/postgresql/16/main/pg_hba.conf", 25, 1, "explicit"),
    ("PG-HBA-TRUST-WORLD", "etc/postgresql/16/main/pg_hba.conf", 27, 65, "explicit"),
    ("OMERO-CLIENT-TCP", OMERO, 3, 3, "default"),
    ("OMERO-GLACIER2-ANON-CIPHERS", OMERO, 3, 3, "default"),
    ("OMERO-GLACIER2-OLD-TLS", OMERO, 3, 3, "default"),
    ("OMERO-GLACIER2-TLS-MAX-OLD", OMERO, 3, 3, "default"),
    ("OMERO-ROUTER-INSECURE-TCP", OMERO, 3, 3, "default"),
    ("OMERO-WEB-ALLOWED-HOSTS-ANY", OMERO, 3, 3, "default"),
    ("OMERO-WEB-CSRF-COOKIE-INSECURE", OMERO, 3, 3, "default"),
    ("OMERO-WEB-SESSION-COOKIE-INSECURE", OMERO, 3, 3, "default"),
    ("OMERO-LDAP-PLAINTEXT", OMERO, 11, 5, "explicit"),
]

FINDING_KEYS = ["rule_id", "title", "severity", "service", "file", "line", "column", "key",
                "message", "source", "evidence", "fingerprint"]
TOP_KEYS = ["schema_version", "tool", "scanned", "findings", "errors", "notices", "summary"]


def run(*args, env=None, timeout=60, cwd=None):
    return subprocess.run([*WRAPPER, SECAUDIT, *args], capture_output=True,
                          timeout=timeout * (10 if WRAPPER else 1), env=env,
                          cwd=cwd)


def scan_json(*args, **kw):
    p = run("scan", "--format", "json", *args, **kw)
    return p, json.loads(p.stdout) if p.stdout else None


def write(path, text, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-test-")

    def tearDown(self):
        for root, dirs, _files in os.walk(self.tmp):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o755)
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class Demo(unittest.TestCase):
    """The bundled demo tree: exact findings, exact lines, the README's promise."""

    def setUp(self):
        self.demo = os.path.join(SRC, "fixtures", "demo")

    def test_exact_findings(self):
        p, rep = scan_json("fixtures/demo", cwd=SRC)
        self.assertEqual(p.returncode, 1, p.stderr)
        got = [(f["rule_id"], f["file"], f["line"], f["column"], f["source"])
               for f in rep["findings"]]
        want = [(r, "fixtures/demo/" + f, l, c, s) for r, f, l, c, s in DEMO_FINDINGS]
        self.assertEqual(got, want)
        self.assertEqual(rep["errors"], [])
        self.assertEqual(rep["scanned"], {"roots": ["fixtures/demo"], "files_seen": 8,
                                          "files_parsed": 5})
        self.assertEqual(rep["summary"], {"critical": 3, "high": 6, "medium": 16, "low": 11,
                                          "info": 0, "total": 36, "errors": 0,
                                          "suppressed": 0})

    def test_json_shape(self):
        _p, rep = scan_json(self.demo)
        self.assertEqual(list(rep.keys()), TOP_KEYS)
        self.assertEqual(rep["schema_version"], "1.0")
        self.assertEqual(rep["tool"]["name"], "secaudit")
        for f in rep["findings"]:
            self.assertEqual(list(f.keys()), FINDING_KEYS)
            self.assertRegex(f["fingerprint"], r"^[0-9a-f]{16}$")
            self.assertIn(f["severity"], ["critical", "high", "medium", "low", "info"])
        ldap = [f for f in rep["findings"] if f["rule_id"] == "OMERO-LDAP-PLAINTEXT"][0]
        self.assertEqual(ldap["key"], "omero.ldap.urls")
        self.assertEqual(ldap["evidence"], "omero.ldap.urls = ldap://ldap.corp.example:389")
        self.assertEqual(ldap["service"], "omero")
        tcp = [f for f in rep["findings"] if f["rule_id"] == "OMERO-CLIENT-TCP"][0]
        self.assertEqual(tcp["evidence"],
                         "omero.client.icetransports = ssl,tcp (default: etc/omero.properties)")
        hba = [f for f in rep["findings"] if f["rule_id"] == "PG-HBA-TRUST-WORLD"][0]
        self.assertEqual(hba["key"], "host all all 0.0.0.0/0 trust")

    def test_byte_identical(self):
        for fmt in ("json", "text"):
            a = run("scan", "--format", fmt, self.demo)
            b = run("scan", "--format", fmt, self.demo)
            self.assertEqual(a.stdout, b.stdout, fmt)
            self.assertTrue(a.stdout)

    def test_text_report(self):
        p = run("scan", "fixtures/demo", cwd=SRC)
        self.assertEqual(p.returncode, 1)
        out = p.stdout.decode()
        self.assertIn("fixtures/demo/etc/postgresql/16/main/pg_hba.conf\n", out)
        self.assertIn("  27:65    critical PG-HBA-TRUST-WORLD  ", out)
        self.assertNotIn("\033", out)  # not a terminal: no colours
        self.assertTrue(out.endswith(
            "36 findings (3 critical, 6 high, 16 medium, 11 low); 5 of 8 files assessed\n"), out)

    def test_secret_not_printed(self):
        for fmt in ("json", "text"):
            p = run("scan", "--format", fmt, self.demo)
            self.assertNotIn(b"Xq7-not-shown", p.stdout)
            self.assertNotIn(b"Xq7-not-shown", p.stderr)

    def test_fingerprint_stable_when_lines_move(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copytree(self.demo, d, dirs_exist_ok=True)
            _p, before = scan_json(d)
            path = os.path.join(d, "etc/postgresql/16/main/pg_hba.conf")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            write(path, "# a new comment\n# and another\n" + text)
            _p, after = scan_json(d)
            fp = lambda rep: sorted((f["rule_id"], f["fingerprint"]) for f in rep["findings"])
            self.assertEqual(fp(before), fp(after))
            lines = [f["line"] for f in after["findings"] if f["rule_id"] == "PG-HBA-TRUST-WORLD"]
            self.assertEqual(lines, [29])


class ExitCodes(Tmp):
    def test_clean_tree_exits_0(self):
        write(os.path.join(self.tmp, "mongod.conf"),
              "net:\n  bindIp: 127.0.0.1\nsecurity:\n  authorization: enabled\n"
              "  javascriptEnabled: false\nsetParameter:\n  enableLocalhostAuthBypass: false\n")
        p, rep = scan_json(self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(rep["findings"], [])
        self.assertEqual(rep["scanned"]["files_parsed"], 1)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run("scan", "--format", "xml", self.tmp).returncode, 2)
        self.assertEqual(run("scan", "--fail-on", "severe", self.tmp).returncode, 2)
        self.assertEqual(run("scan", "--bogus").returncode, 2)
        self.assertEqual(run("scan", "--max-file-size", "-5", self.tmp).returncode, 2)
        p = run("scan", os.path.join(self.tmp, "nope"))
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"No such file or directory", p.stderr)
        self.assertEqual(run("frobnicate").returncode, 2)
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("rules", "show", "NO-SUCH-RULE").returncode, 2)

    def test_unparsable_claimed_file_exits_3(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "RemoteAccessAllowed" : true\n  "SslEnabled" : true\n}\n')
        p, rep = scan_json(self.tmp)
        self.assertEqual(p.returncode, 3)
        self.assertEqual(len(rep["errors"]), 1)
        e = rep["errors"][0]
        self.assertEqual((e["file"], e["line"], e["service"]),
                         (os.path.join(self.tmp, "orthanc.json"), 3, "orthanc"))
        self.assertIn("cannot parse as json", e["message"])
        self.assertEqual(rep["summary"]["errors"], 1)

    def test_findings_win_over_3(self):
        write(os.path.join(self.tmp, "a/orthanc.json"), "{ broken")
        write(os.path.join(self.tmp, "b/mongod.conf"), "net:\n  bindIpAll: true\n")
        p, rep = scan_json(self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(rep["errors"]), 1)
        self.assertEqual([f["rule_id"] for f in rep["findings"]],
                         ["MONGODB-EXPOSED-NO-AUTH", "MONGODB-JAVASCRIPT-ENABLED",
                          "MONGODB-LOCALHOST-AUTH-BYPASS", "MONGODB-TLS-NOT-REQUIRED",
                          "MONGODB-BIND-IP-ALL"])

    def test_fail_on_and_min_severity(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        self.assertEqual(run("scan", "--fail-on", "critical", demo).returncode, 1)
        self.assertEqual(run("scan", "--fail-on", "none", demo).returncode, 0)
        p, rep = scan_json("--min-severity", "critical", demo)
        self.assertEqual(p.returncode, 1)
        self.assertEqual({f["severity"] for f in rep["findings"]}, {"critical"})
        self.assertEqual(rep["summary"]["total"], 3)
        # only medium findings in this tree: hidden by --min-severity high, so exit 0
        write(os.path.join(self.tmp, "orthanc.json"), '{ "Name": "x" }\n')
        p, rep = scan_json("--min-severity", "high", self.tmp)
        self.assertEqual((p.returncode, rep["findings"]), (0, []))
        self.assertEqual(run("scan", "--fail-on", "high", self.tmp).returncode, 0)
        self.assertEqual(run("scan", "--fail-on", "medium", self.tmp).returncode, 1)

    def test_size_cap(self):
        write(os.path.join(self.tmp, "orthanc.json"), '{ "Name": "%s" }\n' % ("x" * 5000))
        p, rep = scan_json("--max-file-size", "4096", self.tmp)
        self.assertEqual(p.returncode, 3)
        self.assertIn("larger than the size limit of 4096 bytes", rep["errors"][0]["message"])


class Hostile(Tmp):
    def test_fifo_and_symlink_loop(self):
        os.mkfifo(os.path.join(self.tmp, "pg_hba.conf"))
        os.makedirs(os.path.join(self.tmp, "d"))
        os.symlink("..", os.path.join(self.tmp, "d", "loop"))
        os.symlink("/dev/zero", os.path.join(self.tmp, "mongod.conf"))
        write(os.path.join(self.tmp, "d", "orthanc.json"), '{ "HttpsVerifyPeers": false }\n')
        for extra in ([], ["--follow-symlinks"]):
            p, rep = scan_json(*extra, self.tmp, timeout=30)
            self.assertEqual(p.returncode, 1, extra)
            ids = [f["rule_id"] for f in rep["findings"]]
            self.assertIn("ORTHANC-HTTPS-NO-VERIFY", ids)
            notes = "\n".join(n["message"] for n in rep["notices"])
            self.assertIn("a FIFO named like a PostgreSQL pg_hba.conf file; not opened", notes)
            self.assertEqual(rep["errors"], [])
        self.assertEqual(len([f for f in rep["findings"]
                              if f["rule_id"] == "ORTHANC-HTTPS-NO-VERIFY"]), 1)

    def test_terminal_escapes_never_reach_the_terminal(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{ "\\u001b]0;owned\\u0007\\u001b[2J": 1, "\\u001b]0;owned\\u0007\\u001b[2J": 2,'
              ' "\\u009b31m": 1, "\\u009b31m": 2 }\n')
        p = run("scan", "--no-color", self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn(b"\x1b", p.stdout)
        self.assertNotIn(b"\x07", p.stdout)
        self.assertNotIn("\u009b".encode(), p.stdout)
        self.assertIn(b"\\x1b]0;owned\\x07\\x1b[2J", p.stdout)
        self.assertIn(b"\\xc2\\x9b31m", p.stdout)
        _p, rep = scan_json(self.tmp)
        dups = [f for f in rep["findings"] if f["rule_id"] == "ORTHANC-DUPLICATE-KEY"]
        self.assertEqual(len(dups), 2)
        self.assertEqual(dups[0]["key"], "\u001b]0;owned\u0007\u001b[2J")
        self.assertIn(b'"key": "\\u001B]0;owned\\u0007\\u001B[2J"', _p.stdout)

    def test_duplicate_secret_is_redacted(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{ "RegisteredUsers": { "alice": "first-S3cret", "alice": "second-S3cret" } }\n')
        for fmt in ("json", "text"):
            p = run("scan", "--format", fmt, self.tmp)
            self.assertNotIn(b"S3cret", p.stdout)
        _p, rep = scan_json(self.tmp)
        dup = [f for f in rep["findings"] if f["rule_id"] == "ORTHANC-DUPLICATE-KEY"]
        self.assertEqual(len(dup), 1)
        self.assertEqual(dup[0]["evidence"], "alice = <redacted>")
        self.assertEqual((dup[0]["line"], dup[0]["column"]), (1, 24))

    def test_password_equal_to_user_name_never_printed(self):
        # the user name is the password: the key and the fingerprint must not carry it
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "RemoteAccessAllowed": true,\n  "RegisteredUsers": {\n'
              '    "Kq9zWmPeLr": "kq9zwmpelr",\n    "Tv4nHs8Yxc": "Tv4nHs8Yxc"\n  }\n}\n',
              mode=0o600)
        for fmt in ("json", "text"):
            p = run("scan", "--format", fmt, self.tmp)
            self.assertNotIn(b"kq9zwmpelr", p.stdout.lower())
            self.assertNotIn(b"tv4nhs8yxc", p.stdout.lower())
        _p, rep = scan_json(self.tmp)
        same = [f for f in rep["findings"] if f["rule_id"] == "ORTHANC-USER-PASSWORD-IS-NAME"]
        self.assertEqual([(f["line"], f["column"], f["key"], f["evidence"]) for f in same],
                         [(4, 5, "RegisteredUsers.<redacted>",
                           "RegisteredUsers.<redacted> = <redacted>"),
                          (5, 5, "RegisteredUsers.<redacted>",
                           "RegisteredUsers.<redacted> = <redacted>")])
        fps = [f["fingerprint"] for f in rep["findings"]]
        self.assertEqual(len(fps), len(set(fps)))  # one fingerprint per finding

    def test_files_read_with_a_unit_are_counted_once(self):
        unit = os.path.join(self.tmp, "etc", "systemd", "system", "app.service")
        write(unit, "[Service]\nEnvironmentFile=/etc/default/app\nEnvironment=PYRO_SSL=false\n")
        write(unit + ".d/x.conf", "[Service]\nEnvironment=PYRO_HOST=127.0.0.1\n")
        write(os.path.join(self.tmp, "etc", "default", "app"), "PYRO_LOGWIRE=false\n")
        _p, rep = scan_json(self.tmp)
        self.assertEqual(rep["scanned"]["files_seen"], 3)
        self.assertEqual(rep["scanned"]["files_parsed"], 3)

    def test_a_unit_judged_by_two_services(self):
        # Pyro claims the unit, the systemd pack judges it too: both sets of findings, one
        # file parsed, one copy of any note
        write(os.path.join(self.tmp, "etc/systemd/system/ns.service"),
              "[Unit]\nAfter=network.target\n[Service]\n"
              "ExecStart=/usr/bin/python3 -m Pyro5.nameserver -n 0.0.0.0\n"
              "EnvironmentFile=/etc/default/missing\n")
        _p, rep = scan_json("-j", "1", self.tmp)
        got = sorted((f["service"], f["rule_id"]) for f in rep["findings"])
        self.assertIn(("pyro", "PYRO-NS-EXPOSED"), got)
        self.assertIn(("systemd", "SYSTEMD-NETWORK-DAEMON-AS-ROOT"), got)
        self.assertEqual(rep["scanned"]["files_parsed"], 1)
        self.assertEqual(len(rep["notices"]), 1, rep["notices"])
        self.assertEqual(scan_json("-j", "3", self.tmp)[1], rep)

    def test_unreadable_claimed_file(self):
        if os.geteuid() == 0:
            self.skipTest("root reads every file")
        write(os.path.join(self.tmp, "pg_hba.conf"), "local all all trust\n", mode=0)
        p, rep = scan_json(self.tmp)
        self.assertEqual(p.returncode, 3)
        self.assertIn("Permission denied", rep["errors"][0]["message"])

    def test_binary_garbage(self):
        with open(os.path.join(self.tmp, "mongod.conf"), "wb") as f:
            f.write(bytes(range(256)) * 64)
        with open(os.path.join(self.tmp, "pg_hba.conf"), "wb") as f:
            f.write(b"host all all 0.0.0.0/0 trust\n\x00\xff\xfe garbage\n")
        p, rep = scan_json(self.tmp)
        self.assertEqual(p.returncode, 3)
        self.assertEqual(len(rep["errors"]), 2)


class FirstMatch(Tmp):
    """pg_hba first-match analysis: the messages name the earlier record (its file when it
    is another one), fingerprints do not move with it, secrets stay redacted."""

    def first_match(self, rep):
        return [(f["rule_id"], os.path.relpath(f["file"], self.tmp), f["line"], f["message"])
                for f in rep["findings"]
                if f["rule_id"] in ("PG-HBA-DEAD-RECORD", "PG-HBA-STRICT-SHADOWED")]

    def test_messages_name_the_earlier_record(self):
        write(os.path.join(self.tmp, "pg/pg_hba.conf"),
              "host     all  all  10.0.0.0/8   md5\n"
              "hostssl  all  all  10.1.0.0/16  scram-sha-256 clientcert=verify-full\n"
              "include_dir conf.d\n"
              "host all all 10.9.0.0/16 md5\n")
        write(os.path.join(self.tmp, "pg/conf.d/10-a.conf"),
              "# included\nhost all all 10.5.0.0/16 reject\n")
        _p, rep = scan_json(self.tmp)
        first = "line 1 (`host all all 10.0.0.0/8 md5`)"
        self.assertEqual(self.first_match(rep), [
            ("PG-HBA-STRICT-SHADOWED", "pg/conf.d/10-a.conf", 2,
             "the stricter record on line 2 never applies: line 1 of %s/pg/pg_hba.conf "
             "(`host all all 10.0.0.0/8 md5`) accepts these connections with md5 first"
             % self.tmp),
            ("PG-HBA-STRICT-SHADOWED", "pg/pg_hba.conf", 2,
             "the stricter record on line 2 never applies: %s accepts these connections "
             "with md5 first" % first),
            ("PG-HBA-DEAD-RECORD", "pg/pg_hba.conf", 4,
             "never used: %s matches every connection it would" % first)])

    def test_fingerprint_stable_and_secret_redacted(self):
        path = os.path.join(self.tmp, "pg_hba.conf")
        text = ('host all all 0.0.0.0/0 ldap ldapserver=ldap.example ldapbinddn="cn=pg" '
                'ldapbindpasswd=Sw0rdf1shXyz ldaptls=1\n'
                "hostssl all all 192.0.2.0/24 scram-sha-256\n")
        write(path, text)
        p, before = scan_json(self.tmp)
        self.assertNotIn(b"Sw0rdf1shXyz", p.stdout)
        msgs = [m for *_x, m in self.first_match(before)]
        self.assertEqual(len(msgs), 1)
        self.assertIn("ldapbindpasswd=<redacted>", msgs[0])
        write(path, "# moved\n\n" + text)
        _p, after = scan_json(self.tmp)
        fp = lambda rep: [(f["rule_id"], f["fingerprint"]) for f in rep["findings"]
                          if f["rule_id"] == "PG-HBA-STRICT-SHADOWED"]
        self.assertEqual(len(fp(before)), 1)
        self.assertEqual(fp(before), fp(after))
        self.assertEqual([(line, m[:55]) for _r, _f, line, m in self.first_match(after)],
                         [(4, "the stricter record on line 4 never applies: line 3 (`h")])


class Output(Tmp):
    def test_output_file_atomic(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        out = os.path.join(self.tmp, "r.json")
        p = run("scan", "--format", "json", "-o", out, demo)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        with open(out, "rb") as f:
            data = f.read()
        self.assertEqual(data, run("scan", "--format", "json", demo).stdout)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["r.json"])
        p = run("scan", "-o", os.path.join(self.tmp, "no/such/dir/r.txt"), demo)
        self.assertEqual(p.returncode, 2)
        # a path that is not a regular file is written to, never replaced
        fifo = os.path.join(self.tmp, "report.fifo")
        os.mkfifo(fifo)
        reader = subprocess.Popen(["cat", fifo], stdout=subprocess.PIPE)
        p = run("scan", "--format", "json", "-o", fifo, demo)
        got = reader.communicate(timeout=30)[0]
        self.assertEqual(p.returncode, 1)
        self.assertEqual(got, data)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["r.json", "report.fifo"])
        self.assertEqual(run("scan", "-o", self.tmp, demo).returncode, 2)

    def test_colour_only_on_a_terminal(self):
        demo = os.path.join(SRC, "fixtures", "demo")

        def on_pty(extra_env, *args):
            env = dict(os.environ)
            env.pop("NO_COLOR", None)
            env.update(extra_env)
            master, slave = pty.openpty()
            proc = subprocess.Popen([*WRAPPER, SECAUDIT, "scan", *args, demo], stdout=slave,
                                    stderr=subprocess.DEVNULL, env=env)
            os.close(slave)
            data = b""
            while True:
                r, _w, _x = select.select([master], [], [], 20)
                if not r:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            proc.wait(timeout=20)
            os.close(master)
            return data

        self.assertIn(b"\033[1;31mcritical", on_pty({}))
        self.assertNotIn(b"\033", on_pty({"NO_COLOR": "1"}))
        self.assertNotIn(b"\033", on_pty({}, "--no-color"))


class Rules(Tmp):
    def test_list_and_show(self):
        p = run("rules", "list")
        self.assertEqual(p.returncode, 0)
        ids = [l.split()[0] for l in p.stdout.decode().splitlines()]
        self.assertEqual(ids, sorted(ids))
        self.assertIn("PG-HBA-TRUST-WORLD", ids)
        p = run("rules", "list", "--service", "mongodb")
        self.assertEqual({l.split()[2] for l in p.stdout.decode().splitlines()}, {"mongodb"})
        p = run("rules", "show", "ORTHANC-AUTH-NO-USERS")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0)
        for want in ("severity:    critical", "why it matters:", "how to fix:", "references:",
                     "orthanc/orthanc", "defined in:  rules/orthanc.yml:"):
            self.assertIn(want, out)
        self.assertEqual(run("rules", "list", "--service", "nope").returncode, 2)
        # the defaults the rule reads, for the assumed version
        want = ("\ndefaults:    when the file does not set a key (Orthanc 1.12.4 assumed; "
                "--assume-version orthanc=VERSION to change)\n"
                "  HttpServerEnabled = true\n"
                "  RemoteAccessAllowed = false\n"
                "  AuthenticationEnabled = the value of RemoteAccessAllowed: Orthanc >= 1.5.8: "
                "absent means the value of RemoteAccessAllowed\n"
                "  AuthenticationEnabled = false: Orthanc <= 1.5.7: absent means off\n"
                "\nwhy it matters:\n")
        self.assertIn(want, run("rules", "show", "ORTHANC-REMOTE-NO-AUTH").stdout.decode())
        out = run("rules", "show", "ORTHANC-REMOTE-NO-AUTH", "--assume-version",
                  "orthanc=1.5.7").stdout.decode()
        self.assertIn("(Orthanc 1.5.7 assumed;", out)
        self.assertNotIn("defaults:", run("rules", "show", "PG-HBA-TRUST-WORLD").stdout.decode())
        # lists are as wide as the longest id: the severity column lines up
        cols = {l.index(" critical") for l in run("rules", "list").stdout.decode().splitlines()
                if " critical " in l}
        self.assertEqual(len(cols), 1)

    def test_user_rule_replaces_builtin_and_sees_secrets_redacted(self):
        write(os.path.join(self.tmp, "rules", "site.yml"), """service: omero
rules:
  - id: ORTHANC-LIMIT-FIND-RESULTS
    title: replaced
    severity: info
    when: "false"
    rationale: r
    remediation: r
  - id: SITE-OMERO-DB-PASS
    title: database password in config.xml
    severity: low
    when: exists(omero.db.pass)
    at: omero.db.pass
    rationale: r
    remediation: r
""")
        demo = os.path.join(SRC, "fixtures", "demo")
        p, rep = scan_json("--rules", os.path.join(self.tmp, "rules"), demo)
        self.assertEqual(p.returncode, 1, p.stderr)
        ids = [f["rule_id"] for f in rep["findings"]]
        self.assertNotIn("ORTHANC-LIMIT-FIND-RESULTS", ids)
        site = [f for f in rep["findings"] if f["rule_id"] == "SITE-OMERO-DB-PASS"]
        self.assertEqual(len(site), 1)
        self.assertEqual((site[0]["line"], site[0]["column"]), (9, 5))
        self.assertEqual(site[0]["evidence"], "omero.db.pass = <redacted>")
        self.assertNotIn(b"Xq7-not-shown", p.stdout)

    def test_bad_rule_file_names_line_and_column(self):
        write(os.path.join(self.tmp, "r", "bad.yml"), """service: mongodb
rules:
  - id: SITE-X
    title: t
    sevrity: high
""")
        p = run("scan", "--rules", os.path.join(self.tmp, "r"), self.tmp)
        self.assertEqual(p.returncode, 2)
        err = p.stderr.decode()
        self.assertIn("bad.yml:5:5: unknown key 'sevrity' in a rule", err)
        write(os.path.join(self.tmp, "r", "bad.yml"), """service: mongodb
rules:
  - id: SITE-X
    title: t
    severity: high
    rationale: r
    remediation: r
    when: net.bindIp == && true
""")
        p = run("scan", "--rules", os.path.join(self.tmp, "r"), self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.yml:8:11: condition of SITE-X, character 15", p.stderr.decode())

    def test_duplicate_id_and_missing_fields(self):
        rule = """  - id: SITE-X
    title: t
    severity: high
    when: exists(net)
    rationale: r
    remediation: r
"""
        write(os.path.join(self.tmp, "r", "dup.yml"), "service: mongodb\nrules:\n" + rule + rule)
        p = run("scan", "--rules", os.path.join(self.tmp, "r"), self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("dup.yml:9:9: rule id SITE-X is used twice", p.stderr.decode())
        write(os.path.join(self.tmp, "r", "dup.yml"),
              "service: mongodb\nrules:\n  - id: SITE-Y\n    title: t\n")
        p = run("rules", "list", "--rules", os.path.join(self.tmp, "r"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("dup.yml:3:5: rule is missing 'severity'", p.stderr.decode())
        write(os.path.join(self.tmp, "r", "dup.yml"),
              "service: newsvc\nfiles:\n  - path: x.conf\nrules: []\n")
        p = run("rules", "list", "--rules", os.path.join(self.tmp, "r"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("dup.yml:1:1: a new service needs 'format'", p.stderr.decode())

    def test_limit_option(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        p, rep = scan_json("--limit", "max-depth=2", demo)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(sorted((e["file"].rsplit("/", 1)[1], e["message"]) for e in rep["errors"]),
                         [("config.xml", "cannot parse as xml: nesting deeper than 2 levels"),
                          ("mongod.conf", "cannot parse as yaml: nesting deeper than 2 levels"),
                          ("sre-proxy.conf",
                           "cannot parse as nginx: nesting deeper than 2 levels")])
        for bad in ("max-depth=0", "max-depth=4097", "nope=3", "max-depth", "max-nodes=x"):
            p = run("scan", "--limit", bad, demo)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--limit", p.stderr)
        # a stranger's rule file is held to the run's limits, the built-in ones are not
        self.assertEqual(run("rules", "list", "--limit", "max-rule-bytes=10").returncode, 0)
        write(os.path.join(self.tmp, "mine.yml"), "service: orthanc\nrules: []\n")
        p = run("rules", "list", "--rules", self.tmp, "--limit", "max-rule-bytes=10")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"mine.yml", p.stderr)

    def test_version_help_quiet(self):
        p = run("--version")
        self.assertEqual((p.returncode, p.stdout), (0, b"secaudit 0.1.0\n"))
        p = run("scan", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--fail-on LEVEL", p.stdout)
        demo = os.path.join(SRC, "fixtures", "demo")
        p = run("scan", "-q", demo)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn(b"findings (", p.stdout)
        self.assertIn(b"PG-HBA-TRUST-WORLD", p.stdout)

    def test_exclude(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        _p, rep = scan_json("--exclude", "mongod.conf", "--exclude", "opt", demo)
        services = {f["service"] for f in rep["findings"]}
        self.assertEqual(services, {"nginx", "orthanc", "pg-hba"})

    def test_assume_version(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "RemoteAccessAllowed": true,\n  "SslEnabled": true\n}\n')
        _p, rep = scan_json(self.tmp)
        ids = [f["rule_id"] for f in rep["findings"]]
        self.assertIn("ORTHANC-AUTH-NO-USERS", ids)
        self.assertNotIn("ORTHANC-REMOTE-NO-AUTH", ids)
        _p, rep = scan_json("--assume-version", "orthanc=1.5.7", self.tmp)
        ids = [f["rule_id"] for f in rep["findings"]]
        self.assertNotIn("ORTHANC-AUTH-NO-USERS", ids)
        f = [f for f in rep["findings"] if f["rule_id"] == "ORTHANC-REMOTE-NO-AUTH"][0]
        self.assertEqual(f["source"], "default")
        self.assertEqual(f["evidence"], "AuthenticationEnabled = false "
                         "(default: Orthanc <= 1.5.7: absent means off)")
        self.assertEqual(run("scan", "--assume-version", "apache=1", self.tmp).returncode, 2)


if __name__ == "__main__":
    SECAUDIT = os.path.abspath(sys.argv[1])
    SRC = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v"])
