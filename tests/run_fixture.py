#!/usr/bin/python3
"""Rule fixture runner: one fixture directory holds an `expect` file and config trees.

expect lines:
    rule: RULE-ID                      the rules this fixture is about (one or more)
    args: --assume-version x=1         extra scan arguments (optional)
    chmod: 0644 REL                    set a file's mode before the scan (git keeps no modes)
    absent: RULE-ID                    a rule that must not fire anywhere in this fixture
    at-most: SEVERITY SUBDIR           no finding of any rule above SEVERITY in SUBDIR (a
                                       hardened configuration)
    finding: REL:LINE:COL SOURCE [ID]  one expected finding of those rules (ID required when
                                       the fixture names several rules), in report order

The runner scans the directory's subdirectories (each one a root, like a system image) with
--format json and checks that the findings of the named
rules are exactly the expected ones, that no file failed to parse, that every named rule
fires at least once, and that a near miss exists (a subdirectory whose name starts with
"miss") so each rule has a configuration that must not fire.

usage: run_fixture.py SECAUDIT FIXTURE_DIR
       run_fixture.py SECAUDIT --coverage FIXTURES_ROOT   (every rule has a fixture)
"""
import json
import os
import subprocess
import sys


SEVERITIES = ["info", "low", "medium", "high", "critical"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def parse_expect(path):
    rules, args, findings, modes, absent, at_most = [], [], [], [], [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition(":")
            value = value.strip()
            if key == "rule":
                rules.append(value)
            elif key == "args":
                args.extend(value.split())
            elif key == "finding":
                findings.append(value)
            elif key == "absent":
                absent.append(value)
            elif key == "at-most":
                sev, rel = value.split(None, 1)
                if sev not in SEVERITIES:
                    fail("%s:%d: unknown severity %s" % (path, n, sev))
                at_most.append((sev, rel))
            elif key == "chmod":
                mode, rel = value.split(None, 1)
                modes.append((int(mode, 8), rel))
            else:
                fail("%s:%d: unknown line" % (path, n))
    if not rules:
        fail("%s: no 'rule:' line" % path)
    return rules, args, findings, modes, absent, at_most


def run_fixture(secaudit, d):
    rules, args, expected, modes, absent, at_most = parse_expect(os.path.join(d, "expect"))
    for mode, rel in modes:
        os.chmod(os.path.join(d, rel), mode)
    # each subdirectory is a root of its own (a system image: EnvironmentFile=/etc/x of a
    # unit in fire/etc/systemd/system is read from fire/etc/x)
    roots = [os.path.join(d, e) for e in sorted(os.listdir(d))
             if os.path.isdir(os.path.join(d, e))]
    proc = subprocess.run([secaudit, "scan", "--format", "json", *args, *roots],
                          capture_output=True, timeout=60)
    if proc.returncode not in (0, 1):
        fail("exit %d: %s" % (proc.returncode, proc.stderr.decode(errors="replace")))
    report = json.loads(proc.stdout)
    if report["errors"]:
        fail("errors: %r" % report["errors"])
    prefix = d.rstrip("/") + "/"
    for sev, rel in at_most:
        under = prefix + rel.rstrip("/") + "/"
        for f in report["findings"]:
            if f["file"].startswith(under) and \
                    SEVERITIES.index(f["severity"]) > SEVERITIES.index(sev):
                fail("%s (%s) fires at %s:%d, above %s in %s" %
                     (f["rule_id"], f["severity"], f["file"], f["line"], sev, rel))
    got = []
    fired = set()
    for f in report["findings"]:
        if f["rule_id"] in absent:
            fail("%s fires at %s:%d, and must not here" % (f["rule_id"], f["file"], f["line"]))
        if f["rule_id"] not in rules:
            continue
        fired.add(f["rule_id"])
        rel = f["file"][len(prefix):] if f["file"].startswith(prefix) else f["file"]
        line = "%s:%d:%d %s" % (rel, f["line"], f["column"], f["source"])
        if len(rules) > 1:
            line += " " + f["rule_id"]
        got.append(line)
    if got != expected:
        fail("findings differ\n  expected:\n    %s\n  got:\n    %s" %
             ("\n    ".join(expected) or "(none)", "\n    ".join(got) or "(none)"))
    for r in rules:
        if r not in fired:
            fail("rule %s never fires in this fixture" % r)
    if not any(e.startswith("miss") for e in os.listdir(d)):
        fail("no near-miss directory (miss*) in %s" % d)
    print("ok: %s (%d findings)" % (d, len(got)))


def coverage(secaudit, root):
    proc = subprocess.run([secaudit, "rules", "list"], capture_output=True, check=True)
    all_rules = {line.split()[0] for line in proc.stdout.decode().splitlines() if line}
    covered = set()
    for dirpath, _dirs, files in os.walk(root):
        if "expect" in files:
            covered.update(parse_expect(os.path.join(dirpath, "expect"))[0])
    missing = sorted(all_rules - covered)
    if missing:
        fail("rules without a fixture: " + ", ".join(missing))
    unknown = sorted(covered - all_rules)
    if unknown:
        fail("fixtures name unknown rules: " + ", ".join(unknown))
    print("ok: all %d rules have fixtures" % len(all_rules))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--coverage":
        coverage(sys.argv[1], sys.argv[3])
    elif len(sys.argv) == 3:
        run_fixture(sys.argv[1], sys.argv[2])
    else:
        fail(__doc__)
