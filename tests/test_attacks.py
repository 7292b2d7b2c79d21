#!/usr/bin/python3
"""A corpus of attacks on the scanner. Each test builds a tree in a temporary directory that
holds the attack next to a known-bad pg_hba.conf, scans it, and asserts that the scan ends
(a generous timeout, not a timed assertion), exits 0, 1 or 3, still reports the real finding
of the other file, prints valid UTF-8 / JSON, and prints nothing it must not (a marker from
a file it must never read, raw terminal escapes).

usage: test_attacks.py SECAUDIT SOURCE_DIR
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SECAUDIT = os.path.abspath(sys.argv[1])
SRC = os.path.abspath(sys.argv[2])
MARKER = "MARKER-7f3a9c-never-read"
BAD_HBA = "host all all 0.0.0.0/0 trust\n"   # PG-HBA-TRUST-WORLD at 1:24


def write(path, data, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


class Attack(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-attack-")
        os.chmod(self.tmp, 0o755)
        self.root = os.path.join(self.tmp, "root")
        write(os.path.join(self.root, "etc/postgresql/pg_hba.conf"), BAD_HBA)

    def tearDown(self):
        # rm copes with trees deeper than Python's recursion and with modes 000
        subprocess.run(["chmod", "-R", "u+rwx", self.tmp], capture_output=True)
        subprocess.run(["rm", "-rf", self.tmp], check=True)

    def scan(self, *args, timeout=120, as_user=None, env=None):
        cmd = [SECAUDIT, "scan", "--format", "json", *args, self.root]
        if as_user:
            cmd = ["setpriv", "--reuid=%d" % as_user, "--regid=%d" % as_user,
                   "--clear-groups", "--"] + cmd
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
        self.elapsed = time.monotonic() - t0
        sys.stderr.write("[%s: exit %d, %.2f s] " % (self.id().rsplit(".", 1)[1], p.returncode,
                                                   self.elapsed))
        self.assertIn(p.returncode, (0, 1, 3), p.stderr.decode(errors="replace"))
        out = p.stdout.decode("utf-8")   # valid UTF-8, or this raises
        rep = json.loads(out)
        self.assertNotIn(MARKER, out)
        self.assertNotIn(MARKER, p.stderr.decode(errors="replace"))
        self.assertNotIn(b"\x1b", p.stdout)
        self.assertNotIn(b"\x1b", p.stderr)
        hba = [f for f in rep["findings"] if f["rule_id"] == "PG-HBA-TRUST-WORLD"]
        self.assertEqual([(f["line"], f["column"]) for f in hba], [(1, 24)],
                         "the real finding next to the attack")
        return p, rep

    def errors_of(self, rep, name):
        return [e["message"] for e in rep["errors"] if e["file"].endswith(name)]

    # -- documents ------------------------------------------------------------------------
    def test_xxe_local_file_never_read(self):
        secret = os.path.join(self.tmp, "secret.txt")
        write(secret, MARKER + "\n")
        write(os.path.join(self.root, "opt/omero/etc/grid/config.xml"),
              '<?xml version="1.0"?>\n<!DOCTYPE icegrid [<!ENTITY x SYSTEM "file://%s">]>\n'
              '<icegrid><properties id="__ACTIVE__"><property name="omero.db.pass" '
              'value="&x;"/></properties></icegrid>\n' % secret)
        p, rep = self.scan()
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.errors_of(rep, "config.xml"),
                         ["cannot parse as xml: document declares entity x; entities are "
                          "refused"])

    def test_billion_laughs(self):
        ents = "".join('<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">'
                       % ((i,) + (i - 1,) * 10) for i in range(1, 10))
        write(os.path.join(self.root, "opt/omero/etc/grid/config.xml"),
              '<?xml version="1.0"?><!DOCTYPE icegrid [<!ENTITY l0 "lol">%s]>'
              '<icegrid a="&l9;"/>' % ents)
        _p, rep = self.scan()
        self.assertIn("entities are refused", self.errors_of(rep, "config.xml")[0])

    def test_yaml_alias_bomb(self):
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in range(1, 12):
            lines.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
        write(os.path.join(self.root, "etc/mongod.conf"), "\n".join(lines) + "\n")
        _p, rep = self.scan()
        self.assertEqual(len(self.errors_of(rep, "mongod.conf")), 1)

    def test_nested_200000_deep(self):
        n = 200000
        write(os.path.join(self.root, "etc/orthanc/orthanc.json"), "[" * n + "]" * n)
        write(os.path.join(self.root, "etc/mongod.conf"), "[" * n + "]" * n + "\n")
        write(os.path.join(self.root, "opt/omero/etc/grid/config.xml"),
              "<icegrid>" + "<a>" * n + "</a>" * n + "</icegrid>")
        _p, rep = self.scan()
        for name in ("orthanc.json", "mongod.conf", "config.xml"):
            msgs = self.errors_of(rep, name)
            self.assertEqual(len(msgs), 1, name)
            self.assertRegex(msgs[0].lower(), "(deeper than|excessive depth).*256")

    def test_48_mb_file(self):
        with open(os.path.join(self.root, "etc", "mongod.conf"), "wb") as f:
            f.write(b"# padding\n" * (48 * 1024 * 1024 // 10))
        _p, rep = self.scan()
        self.assertIn("larger than the size limit", self.errors_of(rep, "mongod.conf")[0])

    def test_file_growing_while_read(self):
        path = os.path.join(self.root, "etc", "mongod.conf")
        write(path, "net:\n  bindIp: 127.0.0.1\n")
        stop = threading.Event()

        def grow():
            with open(path, "a") as f:
                while not stop.is_set():
                    f.write("# more\n" * 1000)
                    f.flush()

        t = threading.Thread(target=grow)
        t.start()
        try:
            for _ in range(3):
                self.scan()
        finally:
            stop.set()
            t.join()

    def test_binary_nul_and_invalid_utf8(self):
        with open(os.path.join(self.root, "etc", "mongod.conf"), "wb") as f:
            f.write(bytes(range(256)) * 4096)
        write(os.path.join(self.root, "etc", "orthanc", "orthanc.json"),
              b'{ "RemoteAccessAllowed" : true, "Name" : "\xff\xfe\xc3\x28 \x00" }', mode="wb")
        write(os.path.join(self.root, "etc/postgresql/x/pg_hba.conf"),
              b"host all all 10.0.0.0/8 trust # \xff\xfe\x80 invalid\n", mode="wb")
        _p, rep = self.scan()
        self.assertEqual(len(self.errors_of(rep, "mongod.conf")), 1)
        self.assertEqual(len(self.errors_of(rep, "orthanc.json")), 1)
        self.assertIn("PG-HBA-TRUST-REMOTE", [f["rule_id"] for f in rep["findings"]])

    def test_crlf_and_bom(self):
        write(os.path.join(self.root, "etc/orthanc/orthanc.json"),
              b'\xef\xbb\xbf{\r\n  "HttpsVerifyPeers" : false\r\n}\r\n', mode="wb")
        write(os.path.join(self.root, "etc/postgresql/y/pg_hba.conf"),
              b"\xef\xbb\xbf# crlf\r\nlocal all all trust\r\n", mode="wb")
        _p, rep = self.scan()
        got = {(f["rule_id"], f["line"], f["column"]) for f in rep["findings"]}
        self.assertIn(("ORTHANC-HTTPS-NO-VERIFY", 2, 3), got)
        self.assertIn(("PG-HBA-TRUST-LOCAL", 2, 15), got)

    def test_terminal_escapes_in_values_and_names(self):
        esc = "\x1b]0;owned\x07\x1b[2J"
        write(os.path.join(self.root, "etc/orthanc/orthanc%s.json" % esc),
              '{ "RemoteAccessAllowed" : true, "AuthenticationEnabled" : false, "Name": "%s" }'
              % esc.replace("\x1b", "\\u001b").replace("\x07", "\\u0007"))
        write(os.path.join(self.root, "etc/postgresql/z/pg_hba.conf"),
              "host all all 0.0.0.0/0 trust%s\n" % esc)
        self.scan()
        # and the text report, which is for a terminal
        p = subprocess.run([SECAUDIT, "scan", self.root], capture_output=True, timeout=120)
        self.assertNotIn(b"\x1b", p.stdout + p.stderr)
        self.assertNotIn(b"\x07", p.stdout + p.stderr)

    # -- the file system --------------------------------------------------------------------
    def test_fifo_device_socket_named_like_configs(self):
        d = os.path.join(self.root, "etc")
        os.mkfifo(os.path.join(d, "mongod.conf"))
        try:
            os.mknod(os.path.join(d, "orthanc.json"), 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        except PermissionError:
            pass
        os.makedirs(os.path.join(d, "postgresql", "16"))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(d, "postgresql", "16", "pg_hba.conf"))
        try:
            _p, rep = self.scan(timeout=60)
        finally:
            s.close()
        notes = " ".join(n["message"] for n in rep["notices"])
        self.assertIn("not opened", notes)

    def test_symlink_loop_and_dev_zero(self):
        d = os.path.join(self.root, "etc")
        os.symlink("loop-b", os.path.join(d, "loop-a"))
        os.symlink("loop-a", os.path.join(d, "loop-b"))
        os.symlink(".", os.path.join(d, "self"))
        os.symlink("/dev/zero", os.path.join(d, "mongod.conf"))
        self.scan()
        self.scan("--follow-symlinks")

    def test_file_vanishes_or_turns_unreadable_mid_scan(self):
        # many claimed files; a thread removes and chmods them while the scan runs, as an
        # unprivileged user (root reads any file)
        d = os.path.join(self.root, "srv")
        for i in range(2000):
            write(os.path.join(d, "c%04d" % i, "mongod.conf"), "net:\n  bindIp: 0.0.0.0\n")
        for dirpath, _dirs, files in os.walk(self.tmp):
            os.chmod(dirpath, 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        stop = threading.Event()

        def churn():
            i = 0
            while not stop.is_set() and i < 2000:
                p = os.path.join(d, "c%04d" % i, "mongod.conf")
                if i % 2:
                    os.unlink(p)
                else:
                    os.chmod(p, 0)
                i += 1

        t = threading.Thread(target=churn)
        user = 65534 if shutil.which("setpriv") and os.geteuid() == 0 else None
        t.start()
        try:
            self.scan(as_user=user)
        finally:
            stop.set()
            t.join()

    def test_directory_10000_deep(self):
        # os.makedirs would hit PATH_MAX: create level by level relative to an open fd
        fd = os.open(self.root, os.O_RDONLY)
        for _ in range(10000):
            os.mkdir("d", dir_fd=fd)
            nfd = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        os.close(fd)
        p, rep = self.scan()
        self.assertTrue(any("deeper" in n["message"] or "depth" in n["message"]
                            for n in rep["notices"]), rep["notices"][:3])

    def test_100000_files_in_one_directory(self):
        d = os.path.join(self.root, "var", "spool")
        os.makedirs(d)
        for i in range(100000):
            open(os.path.join(d, "f%06d" % i), "w").close()
        p, rep = self.scan()
        self.assertEqual(rep["scanned"]["files_seen"], 100001)


class StrangerRules(unittest.TestCase):
    """A rule directory from a stranger (--rules) is untrusted input: each bad file ends in a
    clean error naming it (exit 2), quickly, or loads; never a crash or a hang."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-rules-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def load(self, name, data, *extra):
        d = os.path.join(self.tmp, name)
        os.mkdir(d)
        with open(os.path.join(d, "r.yml"), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        p = subprocess.run([SECAUDIT, "rules", "list", "--rules", d, *extra],
                           capture_output=True, timeout=120)
        self.assertNotIn(p.returncode, (-6, -11, 134, 139), p.stderr)
        return p

    def refused(self, name, data, *extra):
        p = self.load(name, data, *extra)
        self.assertEqual(p.returncode, 2, p.stdout[-300:])
        self.assertIn(b"r.yml", p.stderr)
        self.assertEqual(p.stderr.count(b"\n"), 1, p.stderr)
        return p

    RULE = ("  - id: X-%d\n    title: t\n    severity: low\n    when: a == 1\n"
            "    rationale: r\n    remediation: m\n")

    def test_huge_file(self):
        self.refused("huge", "service: orthanc\nrules:\n" + "# pad\n" * 300000)

    def test_deep_nesting(self):
        self.refused("deep", "service: orthanc\nx: " + "[" * 100000 + "]" * 100000 + "\n")

    def test_invalid_utf8_and_nul(self):
        self.refused("utf8", b"service: orthanc\nrules:\n  - id: \xff\xfe\x00\n")

    def test_regex_bombs(self):
        for i, rx in enumerate(("h" + "+" * 40, "((((a{99}){99}){99}){99})", "(" * 40 + "a" +
                                ")+" * 40)):
            self.refused("re%d" % i, "service: orthanc\nrules:\n" +
                         self.RULE.replace("a == 1", 'a =~ "%s"' % rx) % 1)
            self.refused("sniff%d" % i, "service: orthanc\nfiles:\n  - path: x.json\n"
                         "    sniff: '%s'\n" % rx)

    def test_many_rules(self):
        body = "service: orthanc\nrules:\n" + "".join(self.RULE % i for i in range(20000))
        p = self.load("many", body, "--limit", "max-rule-bytes=%d" % (len(body) + 1))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sum(l.startswith(b"X-") for l in p.stdout.splitlines()), 20000)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
