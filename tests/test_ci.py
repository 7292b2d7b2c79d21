#!/usr/bin/python3
"""End-to-end tests of the CI gate: SARIF and JUnit validated against their schemas, the JSON
report against schemas/report.schema.json, inline suppressions per format, ignore files,
baselines, profiles, how they compose with --fail-on/--min-severity, and no secret in any
output format.

usage: test_ci.py SECAUDIT SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import jsonschema

# Every report format; a new format is one more entry (the secret test covers it at once).
FORMATS = ["text", "json", "sarif", "junit", "html"]

SECAUDIT = None
SRC = None
# SECAUDIT_WRAPPER="valgrind ..." runs every command under a tool (see test_cli.py)
WRAPPER = os.environ.get("SECAUDIT_WRAPPER", "").split()


def run(*args, env=None, cwd=None):
    e = dict(os.environ)
    e.pop("SECAUDIT_TODAY", None)
    e.update(env or {})
    return subprocess.run([*WRAPPER, SECAUDIT, *args], capture_output=True,
                          timeout=600 if WRAPPER else 60, env=e, cwd=cwd)


def scan_json(*args, **kw):
    p = run("scan", "--format", "json", *args, **kw)
    return p, json.loads(p.stdout)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def validate(schema_path, doc):
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in cls(schema).iter_errors(doc)]
    return errors


ORTHANC_SUPPRESSED = """{
  // secaudit:ignore ORTHANC-HTTPS-NO-VERIFY peers are on a private VLAN
  "HttpsVerifyPeers": false,
  "SslEnabled": false, // secaudit:ignore ORTHANC-HTTP-NO-TLS
  "RemoteAccessAllowed": true /* secaudit:ignore NOPE-1 nothing here */
}
"""
MONGO = """net:
  bindIp: 127.0.0.1
  tls:
    # secaudit:ignore MONGODB-TLS-ALLOW-INVALID-CERTS lab replica set, self-signed
    allowInvalidCertificates: true
security:
  authorization: enabled
"""
HBA = """local all all peer
host all all 0.0.0.0/0 trust  # secaudit:ignore PG-HBA-TRUST-WORLD,OTHER-RULE isolated test network
host all all 127.0.0.1/32 trust
"""
OMERO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<icegrid>
  <properties id="__ACTIVE__">
    <property name="omero.config.profile" value="default"/>
    <property name="omero.ldap.config" value="true"/>
    <!-- secaudit:ignore OMERO-LDAP-PLAINTEXT directory is on the same host -->
    <property name="omero.ldap.urls" value="ldap://ldap.corp.example:389"/>
  </properties>
</icegrid>
"""


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-ci-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tree(self):
        """A tree with suppressions of four comment syntaxes and a file that does not parse."""
        root = os.path.join(self.tmp, "tree")
        write(os.path.join(root, "etc/orthanc/orthanc.json"), ORTHANC_SUPPRESSED)
        write(os.path.join(root, "etc/mongod.conf"), MONGO)
        write(os.path.join(root, "etc/postgresql/pg_hba.conf"), HBA)
        write(os.path.join(root, "opt/omero/etc/grid/config.xml"), OMERO_XML)
        write(os.path.join(root, "srv/orthanc.json"), '{ "Name": "x", broken\n')
        return root

    def findings(self, rep, rule):
        return [f for f in rep["findings"] if f["rule_id"] == rule]


class Sarif(Base):
    SCHEMA = "/work/shared/schemas/sarif-schema-2.1.0.json"

    def sarif(self, *args, **kw):
        p = run("scan", "--format", "sarif", *args, **kw)
        return p, json.loads(p.stdout)

    def test_valid_on_demo_and_on_errors_and_suppressions(self):
        schema = os.environ.get("SARIF_SCHEMA", self.SCHEMA)
        for target in (os.path.join(SRC, "fixtures/demo"), self.tree()):
            p, doc = self.sarif(target)
            self.assertEqual(validate(schema, doc), [], target)
            self.assertEqual(len(doc["runs"]), 1)
        self.assertEqual(p.returncode, 1)

    def test_rules_results_and_locations(self):
        p, doc = self.sarif("fixtures/demo", cwd=SRC)
        run0 = doc["runs"][0]
        rules = run0["tool"]["driver"]["rules"]
        ids = [r["id"] for r in rules]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertEqual(len(rules), 36)  # every demo finding is a different rule
        sev = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
        level = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
        for r in rules:
            for k in ("shortDescription", "fullDescription"):
                self.assertTrue(r[k]["text"])
            self.assertIn("How to fix", r["help"]["text"])
            self.assertIn("**How to fix**", r["help"]["markdown"])
            s = r["properties"]["severity"]
            self.assertEqual(r["properties"]["security-severity"], sev[s])
            self.assertEqual(r["defaultConfiguration"]["level"], level[s])
            self.assertEqual(r["properties"]["tags"][0], "security")
        hba = [x for x in run0["results"] if x["ruleId"] == "PG-HBA-TRUST-WORLD"][0]
        self.assertEqual(rules[hba["ruleIndex"]]["id"], "PG-HBA-TRUST-WORLD")
        self.assertEqual(hba["level"], "error")
        loc = hba["locations"][0]["physicalLocation"]
        self.assertEqual(loc["artifactLocation"],
                         {"uri": "etc/postgresql/16/main/pg_hba.conf", "uriBaseId": "ROOT0"})
        self.assertEqual(loc["region"], {"startLine": 27, "startColumn": 65})
        self.assertEqual(run0["originalUriBaseIds"]["ROOT0"]["uri"],
                         "file://" + os.path.join(SRC, "fixtures/demo") + "/")
        _p, j = scan_json("fixtures/demo", cwd=SRC)
        fp = [f for f in j["findings"] if f["rule_id"] == "PG-HBA-TRUST-WORLD"][0]["fingerprint"]
        self.assertEqual(hba["partialFingerprints"], {"secaudit/v1": fp})
        self.assertEqual(run0["columnKind"], "unicodeCodePoints")
        self.assertEqual(run0["invocations"][0]["executionSuccessful"], True)

    def test_overlapping_roots(self):
        _p, doc = self.sarif("fixtures/demo", "fixtures/demo/etc/mongod.conf", cwd=SRC)
        run0 = doc["runs"][0]
        self.assertEqual(run0["originalUriBaseIds"]["ROOT1"]["uri"],
                         "file://" + os.path.join(SRC, "fixtures/demo/etc") + "/")
        locs = {json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"],
                           sort_keys=True)
                for r in run0["results"] if r["ruleId"].startswith("MONGODB")}
        self.assertEqual(locs, {'{"uri": "mongod.conf", "uriBaseId": "ROOT1"}'})

    def test_errors_suppressions_notifications(self):
        root = self.tree()
        _p, doc = self.sarif(root)
        run0 = doc["runs"][0]
        inv = run0["invocations"][0]
        self.assertEqual(inv["executionSuccessful"], False)
        errs = [n for n in inv["toolExecutionNotifications"] if n["level"] == "error"]
        self.assertEqual(len(errs), 1)
        loc = errs[0]["locations"][0]["physicalLocation"]
        self.assertEqual(loc["artifactLocation"], {"uri": "srv/orthanc.json", "uriBaseId": "ROOT0"})
        self.assertEqual(loc["region"]["startLine"], 1)
        self.assertIn("cannot parse as json", errs[0]["message"]["text"])
        sup = [r for r in run0["results"] if r.get("suppressions")]
        self.assertEqual(sorted(r["ruleId"] for r in sup),
                         ["MONGODB-TLS-ALLOW-INVALID-CERTS", "OMERO-LDAP-PLAINTEXT",
                          "ORTHANC-HTTPS-NO-VERIFY", "PG-HBA-TRUST-WORLD"])
        v = [r for r in sup if r["ruleId"] == "ORTHANC-HTTPS-NO-VERIFY"][0]["suppressions"][0]
        self.assertEqual((v["kind"], v["justification"]), ("inSource", "peers are on a private VLAN"))
        notes = [n["message"]["text"] for n in inv["toolExecutionNotifications"]
                 if n["level"] == "note"]
        self.assertTrue(any("unused suppression" in n and "NOPE-1" in n for n in notes), notes)

    def test_byte_identical(self):
        root = self.tree()
        for fmt in FORMATS:
            a = run("scan", "--format", fmt, root)
            b = run("scan", "--format", fmt, root)
            self.assertEqual(a.stdout, b.stdout, fmt)


class Junit(Base):
    XSD = "/work/shared/schemas/junit-10.xsd"

    def check(self, root, *args):
        out = os.path.join(self.tmp, "r.xml")
        p = run("scan", "--format", "junit", "-o", out, *args, root)
        x = subprocess.run(["xmllint", "--noout", "--schema", self.XSD, out],
                           capture_output=True)
        self.assertEqual(x.returncode, 0, x.stderr.decode())
        with open(out, "rb") as f:
            return p, f.read().decode("utf-8")

    def test_valid_demo_and_errors(self):
        p, xml = self.check(os.path.join(SRC, "fixtures/demo"))
        self.assertEqual(p.returncode, 1)
        self.assertIn('<testsuites name="secaudit" tests="36" failures="36" errors="0">', xml)
        self.assertIn('<testsuite name="pg-hba" tests="3" failures="3" errors="0" skipped="0">',
                      xml)
        self.assertIn('message="%s/fixtures/demo/etc/postgresql/16/main/pg_hba.conf:27:65: ' % SRC,
                      xml)
        p, xml = self.check(self.tree())
        self.assertIn('<error type="incomplete" message="', xml)
        self.assertIn('<skipped message="suppressed: peers are on a private VLAN"/>', xml)

    def test_below_fail_on_passes_and_clean_scan(self):
        _p, xml = self.check(os.path.join(SRC, "fixtures/demo"), "--fail-on", "critical")
        self.assertIn('failures="3"', xml.splitlines()[1])
        self.assertIn("<system-out>", xml)
        os.makedirs(os.path.join(self.tmp, "empty"))
        p, xml = self.check(os.path.join(self.tmp, "empty"))
        self.assertEqual(p.returncode, 0)
        self.assertIn('<testcase name="scan: no findings" classname="secaudit"/>', xml)

    def test_escaping_and_invalid_characters(self):
        d = os.path.join(self.tmp, 'a&b<c>"q\'\x01\x7f')
        write(os.path.join(d, "orthanc.json"), '{ "HttpsVerifyPeers": false }\n')
        _p, xml = self.check(d)
        self.assertIn("a&amp;b&lt;c&gt;&quot;q&apos;\ufffd\x7f/orthanc.json", xml)
        self.assertIn("a&amp;b&lt;c&gt;\"q'\ufffd\x7f/orthanc.json:1:3: high", xml)


class JsonSchema(Base):
    def test_report_validates(self):
        schema = os.path.join(SRC, "schemas/report.schema.json")
        root = self.tree()
        base = os.path.join(self.tmp, "b.json")
        run("scan", "--write-baseline", base, root)
        write(os.path.join(root, "etc/more/orthanc.json"), '{ "HttpsVerifyPeers": false }\n')
        for args in (["fixtures/demo"], [root], ["--baseline", base, root]):
            _p, rep = scan_json(*args, cwd=SRC)
            self.assertEqual(validate(schema, rep), [], args)
        self.assertIn("baseline", rep)


class Inline(Base):
    def test_each_comment_syntax(self):
        root = self.tree()
        p, rep = scan_json(root)
        got = sorted((f["rule_id"], f["line"], f["suppression"]["reason"])
                     for f in rep["findings"] if "suppression" in f)
        self.assertEqual(got, [
            ("MONGODB-TLS-ALLOW-INVALID-CERTS", 5, "lab replica set, self-signed"),
            ("OMERO-LDAP-PLAINTEXT", 7, "directory is on the same host"),
            ("ORTHANC-HTTPS-NO-VERIFY", 3, "peers are on a private VLAN"),
            ("PG-HBA-TRUST-WORLD", 2, "isolated test network"),
        ])
        # a trailing comment covers its own line only: 127.0.0.1 trust on line 3 still fires
        self.assertEqual([f["line"] for f in self.findings(rep, "PG-HBA-TRUST-LOOPBACK")], [3])
        self.assertEqual(rep["summary"]["suppressed"], 4)
        # no reason: not applied, and reported as a finding at the marker
        nr = self.findings(rep, "SECAUDIT-IGNORE-NO-REASON")
        self.assertEqual([(f["line"], f["column"], f["severity"]) for f in nr], [(4, 27, "low")])
        self.assertEqual(len(self.findings(rep, "ORTHANC-HTTP-NO-TLS")), 1)
        self.assertNotIn("suppression", self.findings(rep, "ORTHANC-HTTP-NO-TLS")[0])
        unused = [n for n in rep["notices"] if "unused suppression" in n["message"]]
        self.assertEqual([(os.path.basename(n["path"]), n["line"], n["message"]) for n in unused],
                         [("orthanc.json", 5, "unused suppression: secaudit:ignore NOPE-1 "
                                              "matches no finding it covers"),
                          ("pg_hba.conf", 2, "unused suppression: secaudit:ignore OTHER-RULE "
                                             "matches no finding it covers")])

    def test_no_reason_rule_is_documented(self):
        p = run("rules", "show", "SECAUDIT-IGNORE-NO-REASON")
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode()
        self.assertIn("severity:    low", out)
        self.assertIn("how to fix:", out)

    def test_text_omits_and_counts(self):
        root = self.tree()
        p = run("scan", root)
        out = p.stdout.decode()
        self.assertNotIn("ORTHANC-HTTPS-NO-VERIFY", out)
        self.assertIn("; 4 suppressed;", out.splitlines()[-1])

    def test_no_inline_ignores(self):
        root = self.tree()
        _p, rep = scan_json("--no-inline-ignores", root)
        self.assertFalse(any("suppression" in f for f in rep["findings"]))
        self.assertEqual(self.findings(rep, "SECAUDIT-IGNORE-NO-REASON"), [])
        self.assertFalse(any("suppression" in n["message"] for n in rep["notices"]))

    def test_properties_comment_line(self):
        write(os.path.join(self.tmp, "etc/glacier2/router.cfg"),
              "Glacier2.Client.Endpoints=ssl -p 4064\n"
              "! secaudit:ignore ICE-SSL-ANON-CIPHERS legacy clients until 2027\n"
              "IceSSL.Ciphers=ADH\n")
        _p, rep = scan_json(self.tmp)
        f = self.findings(rep, "ICE-SSL-ANON-CIPHERS")[0]
        self.assertEqual((f["line"], f["suppression"]["reason"]), (3, "legacy clients until 2027"))

    def test_drop_in_read_with_its_unit_and_alone(self):
        # a drop-in is parsed on its own and again with its unit: its comments count once
        unit = os.path.join(self.tmp, "etc/systemd/system/app.service")
        write(unit, "[Service]\nEnvironment=PYRO_SSL=false\n")
        write(unit + ".d/net.conf",
              "[Service]\n# secaudit:ignore PYRO-HOST-NO-SSL tunnel only, see ticket 42\n"
              "Environment=PYRO_HOST=10.0.0.5\n# secaudit:ignore PYRO-LOGWIRE\n")
        _p, rep = scan_json(self.tmp)
        host = self.findings(rep, "PYRO-HOST-NO-SSL")
        self.assertEqual([(f["line"], f["suppression"]["reason"]) for f in host],
                         [(3, "tunnel only, see ticket 42")])
        self.assertEqual([f["line"] for f in self.findings(rep, "SECAUDIT-IGNORE-NO-REASON")],
                         [4])
        self.assertEqual([n for n in rep["notices"] if "suppression" in n["message"]], [])

    def test_marker_in_a_string_is_not_a_comment(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "Name": "// secaudit:ignore ORTHANC-HTTPS-NO-VERIFY no",\n'
              '  "HttpsVerifyPeers": false\n}\n')
        _p, rep = scan_json(self.tmp)
        self.assertNotIn("suppression", self.findings(rep, "ORTHANC-HTTPS-NO-VERIFY")[0])

    def test_suppressed_never_counts(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "RemoteAccessAllowed": false,\n  "AuthenticationEnabled": true,\n'
              '  "RegisteredUsers": { "a": "a-long-enough-passphrase-42" },\n'
              '  "HttpsVerifyPeers": false // secaudit:ignore ORTHANC-HTTPS-NO-VERIFY lab\n}\n')
        os.chmod(os.path.join(self.tmp, "orthanc.json"), 0o600)
        p, rep = scan_json("--min-severity", "high", self.tmp)
        self.assertEqual([f["rule_id"] for f in rep["findings"]], ["ORTHANC-HTTPS-NO-VERIFY"])
        self.assertEqual(p.returncode, 0)


class IgnoreFile(Base):
    def test_root_file_and_option(self):
        root = self.tree()
        write(os.path.join(root, ".secaudit-ignore.yml"),
              "ignore:\n"
              "  - rule: PG-HBA-TRUST-LOOPBACK\n    path: ./etc/postgresql/*\n"
              "    reason: local test cluster\n    expires: 2030-01-31\n"
              "  - rule: ORTHANC-HTTP-NO-TLS\n    path: '*'\n    reason: old entry\n"
              "    expires: 2020-01-01\n")
        env = {"SECAUDIT_TODAY": "2030-01-31"}
        _p, rep = scan_json(root, env=env)
        f = self.findings(rep, "PG-HBA-TRUST-LOOPBACK")[0]
        self.assertEqual(f["suppression"]["kind"], "external")
        self.assertEqual(f["suppression"]["origin"], root + "/.secaudit-ignore.yml:2")
        self.assertNotIn("suppression", self.findings(rep, "ORTHANC-HTTP-NO-TLS")[0])
        exp = [n for n in rep["notices"] if "expired" in n["message"]]
        self.assertEqual([(n["line"], n["message"]) for n in exp],
                         [(6, "ignore entry for ORTHANC-HTTP-NO-TLS expired on 2020-01-01; "
                              "it no longer suppresses")])
        _p, rep = scan_json(root, env={"SECAUDIT_TODAY": "2030-02-01"})
        self.assertNotIn("suppression", self.findings(rep, "PG-HBA-TRUST-LOOPBACK")[0])
        # --ignore FILE with a fingerprint
        fp = self.findings(rep, "ORTHANC-HTTP-NO-TLS")[0]["fingerprint"]
        ign = os.path.join(self.tmp, "ign.yml")
        write(ign, "ignore:\n  - rule: ORTHANC-HTTP-NO-TLS\n    path: '*/orthanc.json'\n"
                   "    fingerprint: %s\n    reason: accepted by the security team\n" % fp)
        _p, rep = scan_json("--ignore", ign, root, env=env)
        self.assertEqual(self.findings(rep, "ORTHANC-HTTP-NO-TLS")[0]["suppression"]["reason"],
                         "accepted by the security team")

    def test_root_file_applies_to_its_root_only(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        for d in (a, b):
            write(os.path.join(d, "orthanc.json"), '{ "HttpsVerifyPeers": false }\n')
        write(os.path.join(a, ".secaudit-ignore.yml"),
              "ignore:\n  - rule: ORTHANC-HTTPS-NO-VERIFY\n    path: orthanc.json\n"
              "    reason: only in a\n")
        _p, rep = scan_json(a, b)
        got = [(f["file"], "suppression" in f)
               for f in self.findings(rep, "ORTHANC-HTTPS-NO-VERIFY")]
        self.assertEqual(got, [(a + "/orthanc.json", True), (b + "/orthanc.json", False)])

    def test_strict(self):
        ign = os.path.join(self.tmp, "ign.yml")
        cases = [
            ("ignore:\n  - rule: X\n    path: a\n    reason: r\n    expire: 2030-01-01\n",
             ":5:5: unknown key 'expire'"),
            ("ignore:\n  - rule: X\n    path: a\n", ":2:5: the entry has no 'reason'"),
            ("ignore:\n  - rule: X\n    path: a\n    reason: r\n    expires: 2030-02-30\n",
             ":5:14: expires: '2030-02-30' is not a date"),
            ("ignores: []\n", ":1:1: unknown key 'ignores'"),
        ]
        for text, msg in cases:
            write(ign, text)
            p = run("scan", "--ignore", ign, self.tmp)
            self.assertEqual(p.returncode, 2, text)
            self.assertIn(ign + msg, p.stderr.decode(), text)
        p = run("scan", self.tmp, env={"SECAUDIT_TODAY": "yesterday"})
        self.assertEqual(p.returncode, 2)


class Baseline(Base):
    def test_lines_inserted_above_do_not_make_new(self):
        root = self.tree()
        base = os.path.join(self.tmp, "base.json")
        p = run("scan", "--write-baseline", base, root)
        self.assertEqual(p.returncode, 1)
        with open(base, encoding="utf-8") as f:
            b = json.load(f)
        self.assertEqual(b["secaudit_baseline"], 1)
        _p, rep = scan_json(root)
        self.assertEqual(len(b["findings"]),
                         len([f for f in rep["findings"] if "suppression" not in f]))
        self.assertEqual(sorted(os.listdir(self.tmp)), ["base.json", "tree"])  # atomic
        # edit: insert lines above every finding of pg_hba.conf; add one new finding
        hba = os.path.join(root, "etc/postgresql/pg_hba.conf")
        with open(hba, encoding="utf-8") as f:
            text = f.read()
        write(hba, "# comment\n# another\n\n" + text)
        write(os.path.join(root, "etc/more/orthanc.json"), '{ "HttpsVerifyPeers": false }\n')
        p, rep = scan_json("--baseline", base, root)
        self.assertEqual(p.returncode, 1)
        lb = self.findings(rep, "PG-HBA-TRUST-LOOPBACK")[0]
        self.assertEqual((lb["line"], lb["baseline"]), (6, "unchanged"))
        new = [f for f in rep["findings"]
               if f.get("baseline") == "new" and "suppression" not in f]
        self.assertEqual({f["file"] for f in new}, {root + "/etc/more/orthanc.json"})
        self.assertEqual(rep["baseline"]["new"], len(new))
        self.assertEqual(rep["baseline"]["absent"], [])
        # only new findings count: remove the new file, exit 3 (the parse error) not 1
        os.remove(os.path.join(root, "etc/more/orthanc.json"))
        p, rep = scan_json("--baseline", base, root)
        self.assertEqual(p.returncode, 3)
        # a fixed finding is absent (JSON and SARIF). Line 3 was also a dead record (line 2's
        # 0.0.0.0/0 covers it): scram-sha-256 alone would make it a strict record shadowed by
        # line 2's trust, a new finding; on ::1 it is neither
        write(hba, text.replace("127.0.0.1/32 trust", "::1/128 scram-sha-256"))
        os.remove(os.path.join(root, "srv/orthanc.json"))
        p, rep = scan_json("--baseline", base, root)
        self.assertEqual(p.returncode, 0)
        self.assertEqual([(a["rule_id"], a["path"], a["line"]) for a in rep["baseline"]["absent"]],
                         [("PG-HBA-TRUST-LOOPBACK", "etc/postgresql/pg_hba.conf", 3),
                          ("PG-HBA-DEAD-RECORD", "etc/postgresql/pg_hba.conf", 3)])
        # an entry of a rule that no longer exists is absent too, with level none
        with open(base, encoding="utf-8") as f:
            b = json.load(f)
        b["findings"].append({"fingerprint": "0123456789abcdef", "rule_id": "GONE-RULE",
                              "path": "etc/gone.conf", "line": 4})
        with open(base, "w", encoding="utf-8") as f:
            json.dump(b, f)
        p = run("scan", "--format", "sarif", "--baseline", base, root)
        doc = json.loads(p.stdout)
        self.assertEqual(validate(Sarif.SCHEMA, doc), [])
        res = doc["runs"][0]["results"]
        gone = [r for r in res if r["ruleId"] == "GONE-RULE"][0]
        self.assertEqual((gone["level"], gone["baselineState"]), ("none", "absent"))
        self.assertNotIn("ruleIndex", gone)
        states = {r["baselineState"] for r in res if "suppressions" not in r}
        self.assertEqual(states, {"unchanged", "absent"})
        # suppressed findings are never in a baseline (an expired suppression must bite)
        self.assertEqual({r["baselineState"] for r in res if "suppressions" in r}, {"new"})
        p = run("scan", "--baseline", base, root)
        self.assertIn(", 0 new since the baseline", p.stdout.decode().splitlines()[-1])

    def test_bad_baseline(self):
        bad = os.path.join(self.tmp, "bad.json")
        write(bad, '{"findings": []}')
        p = run("scan", "--baseline", bad, self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a secaudit baseline", p.stderr.decode())


class Compose(Base):
    """The table in README.md: what is shown and what counts toward exit 1."""

    def test_table(self):
        write(os.path.join(self.tmp, "orthanc.json"),
              '{\n  "RemoteAccessAllowed": false,\n  "AuthenticationEnabled": true,\n'
              '  "RegisteredUsers": { "a": "a-long-enough-passphrase-42" },\n  "DicomServerEnabled": false,\n'
              '  "HttpDescribeErrors": false,\n  "LimitFindResults": 100,\n'
              '  "LimitFindInstances": 100,\n  "WebDavEnabled": false,\n'
              '  "HttpsVerifyPeers": false\n}\n')
        os.chmod(os.path.join(self.tmp, "orthanc.json"), 0o600)
        _p, rep = scan_json(self.tmp)
        self.assertEqual([f["rule_id"] for f in rep["findings"]], ["ORTHANC-HTTPS-NO-VERIFY"])
        high = ["--fail-on", "high"]
        self.assertEqual(run("scan", *high, self.tmp).returncode, 1)
        self.assertEqual(run("scan", "--fail-on", "critical", self.tmp).returncode, 0)
        self.assertEqual(run("scan", "--min-severity", "critical", self.tmp).returncode, 0)
        base = os.path.join(self.tmp, "b.json")
        self.assertEqual(run("scan", "--write-baseline", base, self.tmp).returncode, 1)
        p = run("scan", "--baseline", base, self.tmp)
        self.assertEqual(p.returncode, 0)
        self.assertIn("[in the baseline]", p.stdout.decode())
        ign = os.path.join(self.tmp, "i.yml")
        write(ign, "ignore:\n  - rule: ORTHANC-HTTPS-NO-VERIFY\n    path: orthanc.json\n"
                   "    reason: r\n")
        p = run("scan", "--ignore", ign, self.tmp)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.decode().startswith("0 findings; 1 suppressed;"))


class Secrets(Base):
    def test_no_secret_in_any_output(self):
        secrets = ["Orth4nc-Us3r-Pw-991", "Om3ro-Ld4p-Bind-772", "Ini-Us3r-Pw-k8",
                   "Pg-Ld4p-Bind-Pw-31"]
        root = os.path.join(self.tmp, "t")
        write(os.path.join(root, "etc/orthanc/orthanc.json"),
              '{ "RemoteAccessAllowed": true, "AuthenticationEnabled": true,\n'
              '  "RegisteredUsers": { "alice": "%s" }, "HttpsVerifyPeers": false }\n'
              % secrets[0])
        write(os.path.join(root, "opt/omero/etc/grid/config.xml"),
              OMERO_XML.replace('<!-- secaudit:ignore OMERO-LDAP-PLAINTEXT directory is on the same host -->',
                                '<property name="omero.ldap.password" value="%s"/>' % secrets[1]))
        write(os.path.join(root, "etc/systemd/system/pyro-ns.service"),
              "[Service]\nExecStart=/usr/bin/pyro5-ns -n 0.0.0.0\n"
              "Environment=PYRO_HOST=0.0.0.0 DB_URL=postgres://svc:%s@db/x\n"
              "Environment=PYRO_USER=svc:%s\n" % (secrets[2], secrets[2]))
        write(os.path.join(root, "etc/postgresql/pg_hba.conf"),
              'host all all 0.0.0.0/0 ldap ldapserver=ldap.example ldapbinddn="cn=pg" '
              'ldapbindpasswd=%s\nhost all all 0.0.0.0/0 trust\n' % secrets[3])
        base = os.path.join(self.tmp, "base.json")
        outputs = {}
        for fmt in FORMATS:
            p = run("scan", "--format", fmt, "--write-baseline", base, root)
            self.assertIn(p.returncode, (1, 3), fmt)
            outputs[fmt] = p.stdout + p.stderr
            with open(base, "rb") as f:
                outputs["baseline"] = f.read()
        _p, rep = scan_json(root)
        self.assertGreaterEqual(len({f["file"] for f in rep["findings"]}), 3)
        for name, data in outputs.items():
            self.assertTrue(data, name)
            for s in secrets:
                self.assertNotIn(s.encode(), data, (name, s))


class Profile(Base):
    def test_profile_then_command_line(self):
        prof = os.path.join(self.tmp, "p.yml")
        demo = os.path.join(SRC, "fixtures/demo")
        write(prof, "format: json\nfail-on: critical\nexclude:\n  - pg_hba.conf\n"
                    "  - mongod.conf\nno-color: true\n")
        p = run("scan", "--profile", prof, demo)
        rep = json.loads(p.stdout)
        self.assertEqual(p.returncode, 1)  # ORTHANC-AUTH-NO-USERS is critical
        self.assertFalse(any(f["service"] in ("pg-hba", "mongodb") for f in rep["findings"]))
        p = run("scan", "--profile=" + prof, "--format", "text", "--fail-on", "none", demo)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.decode().endswith("files assessed\n"))

    def test_shipped_profile(self):
        prof = os.path.join(SRC, "audit/ci.yml")
        out = os.path.join(self.tmp, "r.sarif")
        p = run("scan", "--profile", prof, "--output", out, "fixtures/demo", cwd=SRC)
        self.assertEqual(p.returncode, 1, p.stderr)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["version"], "2.1.0")

    def test_strict(self):
        prof = os.path.join(self.tmp, "p.yml")
        for text, msg in [("format: json\nfial-on: high\n", ":2:1: unknown option 'fial-on'"),
                          ("profile: x.yml\n", ":1:1: 'profile' cannot be set"),
                          ("quiet: yes please\n", ":1:8: 'quiet' takes no value"),
                          ("format: pdf\n", ":1: unknown format 'pdf'")]:
            write(prof, text)
            p = run("scan", "--profile", prof, self.tmp)
            self.assertEqual(p.returncode, 2, text)
            self.assertIn(prof + msg, p.stderr.decode(), text)


if __name__ == "__main__":
    SECAUDIT, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=1)
