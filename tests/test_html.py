#!/usr/bin/python3
"""The HTML report (--format html) without a browser: the demo tree's counts and rows agree
with the JSON report, the page loads nothing (CSP, no external reference of any kind: every
URL is the href of a rule reference link, which is a click, never a load), and hostile bytes
from scanned files — in a path, a key, a value, invalid UTF-8, control characters — come out
exactly escaped, never as markup. tests/html/check_html.mjs does the same in Chromium.

usage: test_html.py SECAUDIT SOURCE_DIR
"""
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

SECAUDIT = None
SRC = None
WRAPPER = os.environ.get("SECAUDIT_WRAPPER", "").split()

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")
# A directory name and values that try to break out of text, attributes and the script.
HOSTILE_DIR = "a<b>\"c'&d\x1bz"
HBA = b"host <img/src=x/onerror=alert(1)>&\xff all 0.0.0.0/0 trust\n"
MONGO = b'net:\n  bindIp: "0.0.0.0,</script><script>alert(2)</script>"\n'


def run(*args, cwd=None):
    return subprocess.run([*WRAPPER, SECAUDIT, *args], capture_output=True, cwd=cwd,
                          timeout=600 if WRAPPER else 60)


class Page(html.parser.HTMLParser):
    """Tags with their attributes, the text of <style> and <script>, and the finding rows."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []          # (tag, {attr: value})
        self.raw = {"style": [], "script": []}
        self.rows = []          # data-* of each finding row
        self.text = []
        self._in = None
        self.ids = {}           # id -> text of the element (first text chunk)
        self._id = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in self.raw:
            self._in = tag
        if tag == "tr" and "finding" in (a.get("class") or "").split():
            self.rows.append({k[5:]: v for k, v in a.items() if k.startswith("data-")})
        if "id" in a:
            self._id = a["id"]

    def handle_endtag(self, tag):
        if tag == self._in:
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.raw[self._in].append(data)
        else:
            self.text.append(data)
        if self._id is not None:
            self.ids.setdefault(self._id, data)
            self._id = None


def parse(data):
    p = Page()
    p.feed(data.decode("utf-8"))   # valid UTF-8, or this raises
    p.close()
    return p


class Html(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="secaudit-html-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def scan(self, *args, cwd=None):
        out = os.path.join(self.tmp, "r.html")
        p = run("scan", "--format", "html", "-o", out, *args, cwd=cwd)
        self.assertIn(p.returncode, (0, 1, 3), p.stderr.decode(errors="replace"))
        with open(out, "rb") as f:
            return p, f.read()

    def assert_loads_nothing(self, data, page):
        self.assertEqual([a["content"] for t, a in page.tags
                          if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"],
                         [CSP])
        self.assertTrue(data.startswith(b"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
                                        b"<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-"
                                        b"Security-Policy\""))
        for tag, a in page.tags:
            self.assertNotIn(tag, ("link", "img", "iframe", "object", "embed", "base", "form",
                                   "audio", "video", "source", "image", "use", "frame"))
            self.assertNotIn("src", a, tag)
            for k, v in a.items():
                self.assertFalse(k.startswith("on"), (tag, k))
                if tag == "a" and k == "href":
                    self.assertRegex(v, r"^https?://", "a link is a rule reference")
                    self.assertEqual(a.get("rel"), "noopener noreferrer")
                    continue
                self.assertNotIn("://", v or "", (tag, k))
                self.assertNotIn("url(", v or "", (tag, k))
        self.assertEqual(len(page.raw["script"]), 1)
        for kind in ("style", "script"):
            code = "".join(page.raw[kind])
            for bad in ("://", "url(", "@import", "fetch(", "XMLHttpRequest", "innerHTML",
                        "eval(", "import("):
                self.assertNotIn(bad, code, kind)
        # an http(s) URL appears only in the findings (a reference link or text of a file's
        # or a rule's), never in the page's own frame
        frame = re.sub(rb"<tbody>\n<tr class=\"finding.*?</tbody>", b"", data, flags=re.S)
        self.assertNotRegex(frame, rb"https?://")

    def test_demo(self):
        p, data = self.scan("fixtures/demo", cwd=SRC)
        self.assertEqual(p.returncode, 1)
        page = parse(data)
        _p, rep = (lambda q: (q, json.loads(q.stdout)))(
            run("scan", "--format", "json", "fixtures/demo", cwd=SRC))
        s = rep["summary"]
        self.assertEqual((s["critical"], s["high"], s["medium"], s["low"], s["total"]),
                         (3, 6, 16, 11, 36))  # test_cli.py's numbers
        for sev in ("critical", "high", "medium", "low", "info", "errors", "total"):
            key = "count-" + sev if sev != "total" else "total"
            self.assertEqual(int(page.ids[key]), s[sev], sev)
        self.assertEqual(page.ids["files-parsed"], "5")
        self.assertEqual(page.ids["files-seen"], "8")
        self.assertIn(b"<title>secaudit report: 36 findings (3 critical, 6 high, 16 medium, "
                      b"11 low)</title>", data)
        self.assertEqual(page.ids["shown-count"], "36")
        self.assertEqual(page.ids["rows-count"], "36")
        self.assertEqual(len(page.rows), 36)
        got = [(r["rule"], r["severity"], r["service"], r["file"], int(r["line"]),
                int(r["col"]), r["fingerprint"]) for r in page.rows]
        want = [(f["rule_id"], f["severity"], f["service"], f["file"], f["line"], f["column"],
                 f["fingerprint"]) for f in rep["findings"]]
        self.assertEqual(got, want)
        self.assertEqual([int(r["index"]) for r in page.rows], list(range(36)))
        # the charts are drawn without a script: a bar per severity and per service
        svg = re.search(rb'<svg id="chart-severity".*?</svg>', data, re.S).group(0)
        self.assertEqual(svg.count(b"<title>"), 4)   # info has no findings: no bar
        svg = re.search(rb'<svg id="chart-service".*?</svg>', data, re.S).group(0)
        self.assertEqual(re.findall(rb'text-anchor="end">([^<]*)<', svg),
                         [b"mongodb", b"nginx", b"omero", b"orthanc", b"pg-hba"])
        # rationale and remediation of every finding
        self.assertEqual(data.count(b"<details>"), 36)
        self.assertIn(b"<strong>Fix:</strong> Use scram-sha-256", data)
        self.assert_loads_nothing(data, page)
        # identical input, identical bytes
        self.assertEqual(self.scan("fixtures/demo", cwd=SRC)[1], data)

    def test_min_severity(self):
        _p, data = self.scan("--min-severity", "critical", os.path.join(SRC, "fixtures/demo"))
        page = parse(data)
        self.assertEqual({r["severity"] for r in page.rows}, {"critical"})
        self.assertEqual(len(page.rows), 3)
        self.assertEqual(page.ids["count-high"], "0")

    def hostile_tree(self):
        root = os.path.join(self.tmp, "t", HOSTILE_DIR)
        os.makedirs(os.path.join(root, "etc/postgresql"))
        with open(os.path.join(root, "etc/postgresql/pg_hba.conf"), "wb") as f:
            f.write(HBA)
        with open(os.path.join(root, "etc/mongod.conf"), "wb") as f:
            f.write(MONGO)
        return root

    def test_hostile_bytes_are_text(self):
        root = self.hostile_tree()
        p, data = self.scan(HOSTILE_DIR, cwd=os.path.dirname(root))
        self.assertEqual(p.returncode, 1)
        page = parse(data)
        esc_dir = b"a&lt;b&gt;&quot;c&#39;&amp;d\xef\xbf\xbdz"
        # exact escapes: in text, in attributes, in the key, the message and the evidence
        self.assertIn(b"<td class=\"loc\"><code>" + esc_dir +
                      b"/<wbr>etc/<wbr>postgresql/<wbr>pg_hba.conf:1:",
                      data)
        self.assertIn(b" data-file=\"" + esc_dir + b"/etc/mongod.conf\"", data)
        self.assertIn(b"Key <code>host &lt;img/src=x/onerror=alert(1)&gt;&amp;\xef\xbf\xbd all "
                      b"0.0.0.0/0 trust</code>", data)
        self.assertIn(b"<div class=\"f-msg\">&#39;host &lt;img/src=x/onerror=alert(1)&gt;"
                      b"&amp;\xef\xbf\xbd all 0.0.0.0/0 trust&#39; lets", data)
        self.assertIn(b"<code>net.bindIp = 0.0.0.0,&lt;/script&gt;&lt;script&gt;alert(2)"
                      b"&lt;/script&gt;</code>", data)
        self.assertIn(b"scanned: <code>" + esc_dir + b"</code>", data)
        # nothing became markup: one script element (the report's), no img, no handler
        self.assertEqual(data.count(b"<script"), 1)
        self.assertEqual(data.count(b"</script"), 1)
        self.assertNotIn(b"<img", data)
        self.assertNotIn(b"\x1b", data)
        self.assertNotIn(b"\xff", data)
        # and the parsed page reads the original characters back
        paths = {r["file"] for r in page.rows}
        self.assertEqual(paths, {HOSTILE_DIR.replace("\x1b", "\ufffd") + "/etc/mongod.conf",
                                 HOSTILE_DIR.replace("\x1b", "\ufffd") +
                                 "/etc/postgresql/pg_hba.conf"})
        self.assertIn("net.bindIp = 0.0.0.0,</script><script>alert(2)</script>", "".join(page.text))
        self.assert_loads_nothing(data, page)

    def test_hostile_rule_file(self):
        """A rule file from --rules is escaped like a scanned file; a reference that is not
        http(s) is text, never a link (no javascript: URL)."""
        rules = os.path.join(self.tmp, "rules")
        os.makedirs(rules)
        with open(os.path.join(rules, "site.yml"), "w") as f:
            f.write("""service: mongodb
rules:
  - id: SITE-XSS
    title: "<b onmouseover=alert(1)>bold</b>"
    severity: high
    when: exists(net)
    at: net
    rationale: "a & b < c"
    remediation: "'quoted' \\"double\\""
    references:
      - "javascript:alert(1)"
      - "https://example.org/?a=1&b=<2>"
""")
        root = os.path.join(self.tmp, "t")
        os.makedirs(os.path.join(root, "etc"))
        with open(os.path.join(root, "etc/mongod.conf"), "w") as f:
            f.write("net:\n  port: 27017\n")
        _p, data = self.scan("--rules", rules, root)
        page = parse(data)
        self.assertIn(b'<div class="f-title">&lt;b onmouseover=alert(1)&gt;bold&lt;/b&gt;</div>',
                      data)
        self.assertIn(b"<strong>Why:</strong> a &amp; b &lt; c</p>", data)
        self.assertIn(b"<strong>Fix:</strong> &#39;quoted&#39; &quot;double&quot;</p>", data)
        self.assertIn(b"<li>javascript:alert(1)</li>", data)
        self.assertIn(b'<li><a href="https://example.org/?a=1&amp;b=&lt;2&gt;" rel="noopener '
                      b'noreferrer" target="_blank">https://example.org/?a=1&amp;b=&lt;2&gt;</a>'
                      b'</li>', data)
        self.assertNotIn(b"<b ", data)
        self.assertFalse([a for t, a in page.tags if t == "a" and
                          not a["href"].startswith("https://")])
        self.assert_loads_nothing(data, page)

    def test_suppressed_baseline_errors_notices(self):
        root = os.path.join(self.tmp, "t")
        os.makedirs(os.path.join(root, "etc/postgresql"))
        os.makedirs(os.path.join(root, "srv"))
        with open(os.path.join(root, "etc/postgresql/pg_hba.conf"), "w") as f:
            f.write("host all all 0.0.0.0/0 trust  # secaudit:ignore PG-HBA-TRUST-WORLD,NOPE-2 "
                    "lab <net>\nhost all all 127.0.0.1/32 trust\nhost all all 192.168.0.0/16 trust\n")
        with open(os.path.join(root, "srv/orthanc.json"), "w") as f:
            f.write('{ "Name": "<x>", broken\n')
        base = os.path.join(self.tmp, "base.json")
        run("scan", "--write-baseline", base, root)
        hba = os.path.join(root, "etc/postgresql/pg_hba.conf")
        with open(hba) as f:
            text = f.read().replace("192.168.0.0/16", "10.0.0.0/8")
        with open(hba, "w") as f:
            f.write(text)
        p, data = self.scan("--baseline", base, root)
        page = parse(data)
        sup = [r for r in page.rows if "suppressed" in r]
        self.assertEqual([(r["rule"], r["suppressed"]) for r in sup],
                         [("PG-HBA-TRUST-WORLD", "inSource")])
        self.assertIn(b"lab &lt;net&gt;</div>", data)
        self.assertIn(b"; 1 suppressed", data)
        self.assertIn(b'id="filter-suppressed"', data)
        self.assertIn(b'id="filter-new"', data)
        # lines 2 and 3 (trust, and dead: line 1 matches them first), line 3 edited
        self.assertEqual(sorted((r.get("baseline"), r["rule"]) for r in page.rows
                                if "suppressed" not in r),
                         [("new", "PG-HBA-DEAD-RECORD"), ("new", "PG-HBA-TRUST-REMOTE"),
                          ("unchanged", "PG-HBA-DEAD-RECORD"),
                          ("unchanged", "PG-HBA-TRUST-LOOPBACK")])
        self.assertRegex(data, rb'<ul id="absent">\n<li><code>PG-HBA-[A-Z-]+</code> at <code>'
                               rb'etc/postgresql/pg_hba\.conf:3</code>')
        self.assertIn(b"<table id=\"errors\">", data)
        self.assertRegex(data, rb"<code>[^<]*/srv/orthanc\.json:1:\d+</code></td><td>orthanc"
                               rb"</td><td>cannot parse as json")
        self.assertIn(b"<ul id=\"notices\">", data)
        self.assertRegex(data, rb"unused suppression[^<]*NOPE-2")
        self.assertEqual(page.ids["count-errors"], "1")
        self.assert_loads_nothing(data, page)

    def test_no_findings(self):
        root = os.path.join(self.tmp, "empty")
        os.makedirs(root)
        p, data = self.scan(root)
        self.assertEqual(p.returncode, 0)
        page = parse(data)
        self.assertEqual(page.rows, [])
        self.assertIn(b'<div class="empty" id="no-match">No findings.</div>', data)
        self.assertIn(b"<title>secaudit report: 0 findings</title>", data)


if __name__ == "__main__":
    SECAUDIT = os.path.abspath(sys.argv[1])
    SRC = os.path.abspath(sys.argv[2])
    unittest.main(argv=[sys.argv[0], "-v"])
