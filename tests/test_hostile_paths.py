#!/usr/bin/python3
"""End-to-end tests of config keys that stress the dotted view paths: an empty key (its path
once overran a stack buffer) and a key so long its path does not fit the path buffer (its
value must still be redacted where the service declares the path secret).

usage: test_hostile_paths.py SECAUDIT
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SECAUDIT = None


def scan(root, *args):
    p = subprocess.run([SECAUDIT, "scan", *args, root], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def findings(root, rule):
    rc, out, err = scan(root, "--format", "json")
    report = json.loads(out)
    return rc, err, sorted((f["line"], f["column"], f["key"], f["evidence"])
                           for f in report["findings"] if f["rule_id"] == rule)


class HostilePaths(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        with open(os.path.join(self.root, name), "w", encoding="utf-8") as f:
            f.write(text)

    def test_empty_user_name(self):
        # an empty password is shown as "" (nothing to hide), as for any other user
        self.write("orthanc.json", '{\n  "RemoteAccessAllowed" : true,\n'
                   '  "RegisteredUsers" : {\n    "" : ""\n  }\n}\n')
        rc, err, got = findings(self.root, "ORTHANC-USER-PASSWORD-IS-NAME")
        self.assertEqual(rc, 1)
        self.assertEqual(err, b"")
        self.assertEqual(got, [(4, 5, "RegisteredUsers.", "RegisteredUsers. = \"\"")])

    def test_empty_yaml_key(self):
        self.write("mongod.conf", 'net:\n  "": 1\n  bindIp: 0.0.0.0\n"":\n  "": x\n')
        rc, out, err = scan(self.root, "--format", "json")
        self.assertEqual(rc, 1)
        self.assertEqual(err, b"")
        ids = {f["rule_id"] for f in json.loads(out)["findings"]}
        self.assertIn("MONGODB-EXPOSED-NO-AUTH", ids)

    def test_long_user_name_password_redacted(self):
        user = "u" * 1100
        self.write("orthanc.json", json.dumps({
            "RemoteAccessAllowed": True, "AuthenticationEnabled": True,
            "RegisteredUsers": {user: "SECRETPW1", "bob": "SECRETPW2"}}, indent=2) + "\n")
        for fmt in ("text", "json"):
            rc, out, err = scan(self.root, "--format", fmt)
            self.assertEqual(rc, 1, fmt)
            self.assertNotIn(b"SECRETPW", out + err, fmt)
        rc, err, got = findings(self.root, "ORTHANC-USER-SHORT-PASSWORD")
        self.assertEqual([(line, col) for line, col, _, _ in got], [(5, 5), (6, 5)])
        self.assertEqual(got[1][3], "RegisteredUsers.bob = <redacted>")


if __name__ == "__main__":
    SECAUDIT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
