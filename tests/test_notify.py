#!/usr/bin/python3
"""Notifications against real servers on 127.0.0.1: an SMTP server (aiosmtpd) that demands
STARTTLS and AUTH with a certificate from a CA made here, one that offers no STARTTLS, and an
HTTPS webhook. --state: only what changed is sent, nothing when nothing changed, a failed
delivery exits 4 and keeps the state so the next run sends the same changes. No secret from
a scanned file in any message. Also: option checks, corrupt state files, --syslog, and the
audit/ unit files pass secaudit's own systemd rules.

Run with Debian's /usr/bin/python3 (python3-aiosmtpd imports only there).

usage: test_notify.py SECAUDIT SOURCE_DIR
"""
import base64
import email
import email.policy
import http.server
import json
import logging
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import unittest

import jsonschema
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

SECAUDIT = None
SRC = None
USER, PASSWORD, TOKEN = "cron", "Smtp-Pw-4471", "Hook-Tok-8812"
SECRETS = ["Orth4nc-Us3r-Pw-991", "Ini-Us3r-Pw-k8", PASSWORD, TOKEN]
HOST = socket.gethostname()
# SECAUDIT_WRAPPER="valgrind ..." runs every secaudit command under a tool (test_cli.py)
WRAPPER = os.environ.get("SECAUDIT_WRAPPER", "").split()
# aiosmtpd logs the refused handshakes the tests provoke, with tracebacks
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_server_cert(d, ca):
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", "srv.csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)


class Inbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos),
                           bytes(envelope.original_content)))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class Hook(http.server.BaseHTTPRequestHandler):
    received = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        self.send_response(Hook.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="secaudit-pki-")
        make_ca(cls.pki, "ca")
        make_ca(cls.pki, "other-ca")
        make_server_cert(cls.pki, "ca")
        cls.ca = os.path.join(cls.pki, "ca.pem")
        cls.other_ca = os.path.join(cls.pki, "other-ca.pem")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(cls.pki, "srv.pem"), os.path.join(cls.pki, "srv.key"))
        cls.inbox = Inbox()
        cls.smtp_port = free_port()
        cls.smtp = Controller(cls.inbox, hostname="127.0.0.1", port=cls.smtp_port,
                              tls_context=ctx, require_starttls=True, auth_required=True,
                              auth_require_tls=True, authenticator=authenticator)
        cls.smtp.start()
        cls.plain_inbox = Inbox()
        cls.plain_port = free_port()
        cls.plain = Controller(cls.plain_inbox, hostname="127.0.0.1", port=cls.plain_port,
                               auth_require_tls=False, authenticator=authenticator)
        cls.plain.start()
        # implicit TLS (smtps://)
        cls.tls_inbox = Inbox()
        cls.tls_port = free_port()
        cls.tls = Controller(cls.tls_inbox, hostname="127.0.0.1", port=cls.tls_port,
                             ssl_context=ctx, auth_required=True, authenticator=authenticator,
                             auth_require_tls=False)  # aiosmtpd 1.4 counts STARTTLS only
        cls.tls.start()
        hctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        hctx.load_cert_chain(os.path.join(cls.pki, "srv.pem"),
                             os.path.join(cls.pki, "srv.key"))
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        cls.httpd.socket = hctx.wrap_socket(cls.httpd.socket, server_side=True)
        cls.hook_url = "https://127.0.0.1:%d/hook" % cls.httpd.server_address[1]
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.plain_httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
        cls.plain_hook_url = "http://127.0.0.1:%d/hook" % cls.plain_httpd.server_address[1]
        threading.Thread(target=cls.plain_httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.smtp.stop()
        cls.plain.stop()
        cls.tls.stop()
        for h in (cls.httpd, cls.plain_httpd):
            h.shutdown()
            h.server_close()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-notify-")
        self.root = os.path.join(self.tmp, "tree")
        shutil.copytree(os.path.join(SRC, "fixtures/demo"), self.root)
        # files with secrets that make findings of their own
        write(os.path.join(self.root, "etc/orthanc/orthanc.json"),
              '{ "RemoteAccessAllowed": true, "AuthenticationEnabled": true,\n'
              '  "RegisteredUsers": { "alice": "%s" }, "HttpsVerifyPeers": false }\n'
              % SECRETS[0])
        write(os.path.join(self.root, "etc/systemd/system/pyro-ns.service"),
              "[Service]\nExecStart=/usr/bin/pyro5-ns -n 0.0.0.0\n"
              "Environment=PYRO_HOST=0.0.0.0 DB_URL=postgres://svc:%s@db/x\n"
              "Environment=PYRO_USER=svc:%s\n" % (SECRETS[1], SECRETS[1]))
        self.state = os.path.join(self.tmp, "state", "secaudit.json")
        os.makedirs(os.path.dirname(self.state))
        self.inbox.mails.clear()
        self.plain_inbox.mails.clear()
        self.tls_inbox.mails.clear()
        Hook.received.clear()
        Hook.status = 200

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_secaudit(self, *args, env=None):
        e = dict(os.environ)
        e.pop("SECAUDIT_SMTP_PASSWORD", None)
        e.pop("SECAUDIT_WEBHOOK_TOKEN", None)
        e.update(env or {})
        return subprocess.run([*WRAPPER, SECAUDIT, "scan", "-o",
                               os.path.join(self.tmp, "out.txt"), *args],
                              capture_output=True, timeout=600 if WRAPPER else 60, env=e)

    def mail(self, port=None, ca=None, password=PASSWORD, extra=()):
        return self.run_secaudit(
            "--state", self.state, "--mail-to", "ops@example.org", "--mail-to",
            "sec@example.org", "--mail-from", "secaudit@example.org", "--smtp-url",
            "smtp://127.0.0.1:%d" % (port or self.smtp_port), "--smtp-user", USER,
            "--smtp-ca-file", ca or self.ca, "--net-timeout", "10", *extra, self.root,
            env={"SECAUDIT_SMTP_PASSWORD": password})

    def findings(self):
        p = subprocess.run([SECAUDIT, "scan", "--format", "json", self.root],
                           capture_output=True, timeout=60)
        return json.loads(p.stdout)["findings"]

    def state_bytes(self):
        try:
            with open(self.state, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def parse(self, raw):
        """The message's parts, checked for structure and line ends."""
        self.assertTrue(raw.endswith(b"\r\n"))
        for line in raw.split(b"\r\n"):
            self.assertNotIn(b"\n", line)
            self.assertNotIn(b"\r", line)
            self.assertLessEqual(len(line), 998)
        for s in SECRETS:
            self.assertNotIn(s.encode(), raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg.get_content_type(), "multipart/mixed")
        self.assertEqual(msg["MIME-Version"], "1.0")
        self.assertEqual(msg["From"], "secaudit@example.org")
        self.assertEqual([str(a.addr_spec) for a in msg["To"].addresses],
                         ["ops@example.org", "sec@example.org"])
        self.assertTrue(msg["Date"].datetime is not None)
        self.assertRegex(msg["Message-ID"], r"^<[0-9a-f]{24}\.\d+@[^<>@\s]+>$")
        top = list(msg.iter_parts())
        self.assertEqual([p.get_content_type() for p in top],
                         ["multipart/alternative", "application/json"])
        alt = list(top[0].iter_parts())
        self.assertEqual([p.get_content_type() for p in alt], ["text/plain", "text/html"])
        att = top[1]
        self.assertEqual(att.get_content_disposition(), "attachment")
        self.assertEqual(att.get_filename(), "secaudit-report.json")
        self.assertEqual(att["Content-Transfer-Encoding"], "base64")
        text = alt[0].get_payload(decode=True).decode("utf-8")
        html = alt[1].get_payload(decode=True).decode("utf-8")
        doc = json.loads(att.get_payload(decode=True))
        # the attachment is the JSON report (schemas/report.schema.json) plus "changes"
        report = {k: v for k, v in doc.items() if k != "changes"}
        with open(os.path.join(SRC, "schemas/report.schema.json")) as f:
            schema = json.load(f)
        cls = jsonschema.validators.validator_for(schema)
        self.assertEqual([e.message for e in cls(schema).iter_errors(report)], [])
        for s in SECRETS:
            for part in (text, html, json.dumps(doc)):
                self.assertNotIn(s, part)
        return msg, text, html, doc


class Mail(Base):
    def test_changes_only(self):
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 1)
        mail_from, rcpt, raw = self.inbox.mails[0]
        self.assertEqual(mail_from, "secaudit@example.org")
        self.assertEqual(rcpt, ["ops@example.org", "sec@example.org"])
        msg, text, html, doc = self.parse(raw)
        findings = self.findings()
        n = len(findings)
        self.assertGreater(n, 20)
        self.assertEqual(msg["Subject"], "secaudit: %d new, 0 resolved on %s" % (n, HOST))
        self.assertEqual(len(doc["findings"]), n)
        self.assertEqual(len(doc["changes"]["new"]), n)
        self.assertEqual(doc["changes"]["resolved"], [])
        self.assertIn("%d new, 0 resolved" % n, text)
        for f in findings:
            self.assertIn("%s:%d  %s  %s  %s" % (f["file"], f["line"], f["severity"],
                                                  f["rule_id"], f["title"]), text)
        self.assertIn("<html", html.lower())
        st = os.stat(self.state)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(self.state) as f:
            sd = json.load(f)
        self.assertEqual(sd["secaudit_state"], 1)
        self.assertEqual(sorted(e["fingerprint"] for e in sd["findings"]),
                         sorted(f["fingerprint"] for f in findings))
        self.assertEqual([x for x in os.listdir(os.path.dirname(self.state))],
                         ["secaudit.json"])

        # nothing changed: nothing sent, the exit code is the findings'
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 1)

        # one setting changed: its old finding resolved, its new one new
        conf = os.path.join(self.root, "etc/mongod.conf")
        with open(conf) as f:
            old = f.read()
        write(conf, old.replace("mode: preferTLS", "mode: allowTLS"))
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 2)
        msg, text, html, doc = self.parse(self.inbox.mails[1][2])
        self.assertEqual(msg["Subject"], "secaudit: 1 new, 1 resolved on %s" % HOST)
        new = [f for f in doc["findings"] if f["fingerprint"] in doc["changes"]["new"]]
        self.assertEqual([(f["rule_id"], f["evidence"]) for f in new],
                         [("MONGODB-TLS-NOT-REQUIRED", "net.tls.mode = allowTLS")])
        res = doc["changes"]["resolved"]
        self.assertEqual([(r["rule_id"], r["file"], r["line"]) for r in res],
                         [("MONGODB-TLS-NOT-REQUIRED", conf, 21)])
        self.assertIn("New findings:\r\n  %s:%d  %s  MONGODB-TLS-NOT-REQUIRED  %s\r\n"
                      % (conf, new[0]["line"], new[0]["severity"], new[0]["title"]), text)
        self.assertIn("Resolved findings:\r\n  %s:21  %s  MONGODB-TLS-NOT-REQUIRED  %s\r\n"
                      % (conf, new[0]["severity"], new[0]["title"]), text)
        self.assertEqual(text.count("MONGODB-TLS-NOT-REQUIRED"), 2)

        # fixed: one resolved, nothing new
        write(conf, old.replace("mode: preferTLS", "mode: requireTLS"))
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 3)
        msg, text, _html, doc = self.parse(self.inbox.mails[2][2])
        self.assertEqual(msg["Subject"], "secaudit: 0 new, 1 resolved on %s" % HOST)
        self.assertEqual(doc["changes"]["new"], [])
        self.assertEqual(len(doc["changes"]["resolved"]), 1)

    def test_unknown_ca_loses_nothing(self):
        p = self.mail(ca=self.other_ca)
        self.assertEqual(p.returncode, 4, p.stderr)
        err = p.stderr.decode()
        self.assertIn("mail delivery through smtp://127.0.0.1:%d failed" % self.smtp_port, err)
        self.assertIn("certificate", err.lower())
        self.assertIn("was not updated", err)
        self.assertEqual(self.inbox.mails, [])
        self.assertIsNone(self.state_bytes())
        # the next run, with the right CA, sends every change
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 1)
        _msg, _t, _h, doc = self.parse(self.inbox.mails[0][2])
        self.assertEqual(len(doc["changes"]["new"]), len(self.findings()))
        # a change, a failure, then the same change delivered
        before = self.state_bytes()
        os.remove(os.path.join(self.root, "etc/mongod.conf"))
        p = self.mail(ca=self.other_ca)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertEqual(self.state_bytes(), before)
        p = self.mail()
        self.assertEqual(p.returncode, 1, p.stderr)
        msg, _t, _h, doc = self.parse(self.inbox.mails[1][2])
        self.assertEqual(msg["Subject"], "secaudit: 0 new, 6 resolved on %s" % HOST)

    def test_wrong_password(self):
        p = self.mail(password="not-the-password")
        self.assertEqual(p.returncode, 4, p.stderr)
        err = p.stderr.decode()
        self.assertIn("refused the login of user 'cron'", err)
        self.assertNotIn("not-the-password", err)
        self.assertEqual(err.count("\n"), 2, err)
        self.assertEqual(self.inbox.mails, [])
        self.assertIsNone(self.state_bytes())

    def test_no_starttls_refused(self):
        p = self.mail(port=self.plain_port)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("does not offer STARTTLS", p.stderr.decode())
        self.assertEqual(self.plain_inbox.mails, [])
        self.assertIsNone(self.state_bytes())

    def test_smtps(self):
        p = self.run_secaudit("--state", self.state, "--mail-to", "ops@example.org",
                              "--mail-from", "a@example.org", "--smtp-url",
                              "smtps://127.0.0.1:%d" % self.tls_port, "--smtp-user", USER,
                              "--smtp-ca-file", self.ca, self.root,
                              env={"SECAUDIT_SMTP_PASSWORD": PASSWORD})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.tls_inbox.mails), 1)
        self.parse_one(self.tls_inbox.mails[0][2])

    def parse_one(self, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(msg["To"], "ops@example.org")
        self.assertEqual(msg.get_content_type(), "multipart/mixed")

    def test_password_file(self):
        pw = os.path.join(self.tmp, "pw")
        write(pw, PASSWORD + "\n")
        p = self.run_secaudit("--mail-to", "ops@example.org", "--mail-from", "a@example.org",
                              "--smtp-url", "smtp://127.0.0.1:%d" % self.smtp_port,
                              "--smtp-user", USER, "--smtp-password-file", pw,
                              "--smtp-ca-file", self.ca, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(self.inbox.mails), 1)


class Webhook(Base):
    def post(self, *extra):
        return self.run_secaudit("--state", self.state, "--post-url", self.hook_url,
                                 "--post-ca-file", self.ca, *extra, self.root,
                                 env={"SECAUDIT_WEBHOOK_TOKEN": TOKEN})

    def test_post_and_failure(self):
        Hook.status = 500
        p = self.post()
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("HTTP 500", p.stderr.decode())
        self.assertIsNone(self.state_bytes())
        self.assertEqual(len(Hook.received), 1)
        Hook.status = 204
        p = self.post()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(Hook.received), 2)
        headers, body = Hook.received[1]
        self.assertEqual(headers["Authorization"], "Bearer " + TOKEN)
        self.assertEqual(headers["Content-Type"], "application/json")
        doc = json.loads(body)
        n = len(self.findings())
        self.assertEqual(len(doc["findings"]), n)
        self.assertEqual(len(doc["changes"]["new"]), n)
        for s in SECRETS[:2]:
            self.assertNotIn(s.encode(), body)
        self.assertIsNotNone(self.state_bytes())
        # no change: no POST
        p = self.post()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(Hook.received), 2)

    def test_plain_http_to_loopback(self):
        p = self.run_secaudit("--post-url", self.plain_hook_url, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(len(Hook.received), 1)
        headers, body = Hook.received[0]
        self.assertNotIn("Authorization", headers)
        self.assertIn("changes", json.loads(body))

    def test_unknown_ca(self):
        p = self.run_secaudit("--state", self.state, "--post-url", self.hook_url,
                              "--post-ca-file", self.other_ca, self.root)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertEqual(Hook.received, [])
        self.assertIsNone(self.state_bytes())


class Options(Base):
    def expect_usage(self, *args, says, env=None):
        p = self.run_secaudit(*args, self.root, env=env)
        self.assertEqual(p.returncode, 2, (args, p.stderr))
        self.assertIn(says, p.stderr.decode())
        self.assertEqual(self.inbox.mails, [])

    def test_refused(self):
        mail = ["--mail-from", "a@example.org", "--smtp-url", "smtp://127.0.0.1:25"]
        self.expect_usage("--mail-to", "a@example.org\r\nBcc: x@example.org", *mail,
                          says="not a plain address")
        self.expect_usage("--mail-to", "Ops <a@example.org>", *mail, says="not a plain address")
        self.expect_usage("--mail-to", "a@example.org", "--mail-from", "b@example.org\n",
                          "--smtp-url", "smtp://127.0.0.1:25", says="not a plain address")
        self.expect_usage("--mail-to", "a@example.org", "--mail-from", "a@example.org",
                          "--smtp-url", "smtp://u:pw@127.0.0.1:25", says="credentials")
        self.expect_usage("--mail-to", "a@example.org", "--mail-from", "a@example.org",
                          "--smtp-url", "http://127.0.0.1:25", says="smtp://")
        self.expect_usage("--mail-to", "a@example.org", says="--mail-from")
        self.expect_usage(*mail[2:], says="--mail-to")
        self.expect_usage("--mail-to", "a@example.org", *mail, "--smtp-user", "u",
                          says="SECAUDIT_SMTP_PASSWORD")
        self.expect_usage("--post-url", "http://example.org/x", says="127.0.0.1")
        self.expect_usage("--post-url", "https://u:p@example.org/x", says="credentials")
        self.expect_usage("--post-url", "ftp://example.org/x", says="https://")
        self.expect_usage("--net-timeout", "0", says="--net-timeout")

    def test_corrupt_state(self):
        write(self.state, '{"secaudit_state": 1,\n "findings": [\n  {"fingerprint": 7}\n]}\n')
        before = self.state_bytes()
        p = self.run_secaudit("--state", self.state, self.root)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:3:" % self.state, p.stderr.decode())
        self.assertEqual(self.state_bytes(), before)
        write(self.state, '{"secaudit_state": 1,\n "findings": [\n')
        p = self.run_secaudit("--state", self.state, self.root)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("%s:" % self.state, p.stderr.decode())


class Syslog(Base):
    def test_exit_codes(self):
        p = self.run_secaudit("--syslog", "--state", self.state, self.root)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIsNotNone(self.state_bytes())
        p = self.run_secaudit("--syslog", "--state", self.state, "--fail-on", "none",
                              self.root)
        self.assertEqual(p.returncode, 0, p.stderr)


class AuditUnits(unittest.TestCase):
    def scan(self, root, *args):
        p = subprocess.run([SECAUDIT, "scan", "--format", "json", *args, root],
                           capture_output=True, timeout=60)
        return p, json.loads(p.stdout)

    def test_units_pass_own_rules(self):
        p, doc = self.scan(os.path.join(SRC, "audit"))
        above = [(f["rule_id"], f["file"]) for f in doc["findings"]
                 if f["severity"] not in ("low", "info")]
        self.assertEqual(above, [])
        self.assertEqual(doc["errors"], [])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(doc["scanned"]["files_parsed"], 1)
        # the rules do judge the unit: without its hardening it is flagged
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(SRC, "audit/secaudit.service")) as f:
                unit = [l for l in f if not l.startswith(
                    ("DynamicUser=", "User=", "NoNewPrivileges=", "ProtectSystem=",
                     "PrivateTmp="))]
            with open(os.path.join(d, "secaudit.service"), "w") as f:
                f.writelines(unit)
            _p, doc = self.scan(d)
            self.assertEqual(sorted(f["rule_id"] for f in doc["findings"]),
                             ["SYSTEMD-NETWORK-DAEMON-AS-ROOT", "SYSTEMD-NO-NEW-PRIVILEGES",
                              "SYSTEMD-NO-PRIVATE-TMP", "SYSTEMD-NO-PROTECT-SYSTEM"])

    def test_cron_profile_loads(self):
        with tempfile.TemporaryDirectory() as d:
            state = os.path.join(d, "state.json")
            p = subprocess.run([SECAUDIT, "scan", "--profile",
                                os.path.join(SRC, "audit/cron.yml"), "--state", state,
                                "--output", os.path.join(d, "r.json"),
                                os.path.join(SRC, "fixtures/demo")],
                               capture_output=True, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertTrue(os.path.exists(state))
            with open(os.path.join(d, "r.json")) as f:
                self.assertTrue(json.load(f)["findings"])


if __name__ == "__main__":
    SECAUDIT = os.path.abspath(sys.argv.pop(1))
    SRC = os.path.abspath(sys.argv.pop(1))
    unittest.main()
