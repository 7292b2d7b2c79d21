#!/usr/bin/python3
"""Real configuration files from real packages: installs Debian's nginx, postgresql and orthanc
(apt-get, when missing) and scans their stock files in /etc. Every file parses, nothing is
left unread, and the findings are exactly the ones those stock files deserve:

  nginx 1.22.1     nginx.conf enables TLSv1 and TLSv1.1 in the http block; the default site
                   (sites-enabled/default, a link to sites-available/default) serves content on
                   plain port 80, without framing or nosniff headers, with server_tokens on
  postgresql 15    pg_hba.conf is peer / scram-sha-256 on loopback only: nothing; postgresql.conf
                   leaves log_connections off
  orthanc 1.10.1   remote access off but no authentication for local clients; the DICOM server on
                   without TLS or AE title checks, accepting echo and store from anyone; no limits
                   on find results; before 1.12.0 the REST API can write files anywhere

usage: test_real.py SECAUDIT
"""
import json
import os
import subprocess
import sys
import unittest

SECAUDIT = None
PACKAGES = {"nginx": "1.22.1", "postgresql": "15", "orthanc": "1.10.1"}
ROOTS = ["/etc/nginx", "/etc/postgresql", "/etc/orthanc"]
WRAPPER = os.environ.get("SECAUDIT_WRAPPER", "").split()

NGINX = "/etc/nginx/sites-available/default"
PGCONF = "/etc/postgresql/15/main/postgresql.conf"
ORTHANC = "/etc/orthanc/orthanc.json"
EXPECTED = [
    ("NGINX-SSL-PROTOCOLS-TLS1", "/etc/nginx/nginx.conf", 33, 16, "explicit", "medium"),
    ("NGINX-NO-FRAME-OPTIONS", NGINX, 21, 1, "explicit", "low"),
    ("NGINX-NO-NOSNIFF", NGINX, 21, 1, "explicit", "low"),
    ("NGINX-SERVER-TOKENS", NGINX, 21, 1, "default", "low"),
    ("NGINX-PLAIN-HTTP", NGINX, 22, 2, "explicit", "medium"),
    ("PG-NO-CONNECTION-LOG", PGCONF, 1, 1, "default", "low"),
    ("ORTHANC-LOCAL-NO-AUTH", "/etc/orthanc/credentials.json", 1, 1, "default", "medium"),
    ("ORTHANC-REST-WRITE-FILESYSTEM", "/etc/orthanc/credentials.json", 1, 1, "default", "high"),
    ("ORTHANC-DICOM-SERVER-ENABLED", ORTHANC, 121, 3, "explicit", "low"),
    ("ORTHANC-DICOM-NO-CALLED-AET-CHECK", ORTHANC, 129, 3, "explicit", "low"),
    ("ORTHANC-DICOM-NO-TLS", ORTHANC, 239, 3, "explicit", "medium"),
    ("ORTHANC-DICOM-ALWAYS-ALLOW-ECHO", ORTHANC, 276, 3, "explicit", "low"),
    ("ORTHANC-DICOM-ALWAYS-ALLOW-STORE", ORTHANC, 281, 3, "explicit", "medium"),
    ("ORTHANC-LIMIT-FIND-RESULTS", ORTHANC, 551, 3, "explicit", "medium"),
    ("ORTHANC-LIMIT-FIND-INSTANCES", ORTHANC, 555, 3, "explicit", "medium"),
]


def installed_version(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Status} ${Version}", pkg],
                       capture_output=True, text=True)
    if p.returncode != 0 or not p.stdout.startswith("install ok installed "):
        return None
    return p.stdout.split()[-1]


def ensure_installed():
    missing = [p for p in PACKAGES if installed_version(p) is None]
    if missing:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        p = subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env,
                           capture_output=True, text=True, timeout=1200)
        if p.returncode != 0:
            p = subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            p = subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env,
                               capture_output=True, text=True, timeout=1200)
        if p.returncode != 0:
            sys.exit("cannot install %s: %s" % (" ".join(missing), p.stderr[-2000:]))


class StockDebian(unittest.TestCase):
    def test_versions_are_the_ones_judged(self):
        # the expected lines below belong to these versions of the stock files
        for pkg, want in PACKAGES.items():
            got = installed_version(pkg)
            self.assertTrue(got and (got == want or got.startswith(want + "-") or
                                     got.startswith(want + "+")), (pkg, got))

    def test_stock_files(self):
        args = []
        for pkg, svc in (("nginx", "nginx"), ("postgresql", "postgresql"),
                         ("orthanc", "orthanc")):
            args += ["--assume-version", "%s=%s" % (svc, PACKAGES[pkg])]
        p = subprocess.run([*WRAPPER, SECAUDIT, "scan", "--format", "json", *args, *ROOTS],
                           capture_output=True, timeout=300)
        self.assertEqual(p.returncode, 1, p.stderr.decode())
        rep = json.loads(p.stdout)
        self.assertEqual(rep["errors"], [])
        self.assertEqual(rep["notices"], [])
        got = [(f["rule_id"], f["file"], f["line"], f["column"], f["source"], f["severity"])
               for f in rep["findings"]]
        self.assertEqual(got, EXPECTED)
        # every file of the three services was parsed: nginx.conf with the mime.types and the
        # site it includes, pg_hba.conf and postgresql.conf, Orthanc's four JSON files
        self.assertEqual(rep["scanned"]["files_parsed"], 9)
        # pg_hba.conf was judged (and found clean), with postgresql.conf's ssl setting
        self.assertTrue(os.path.exists("/etc/postgresql/15/main/pg_hba.conf"))


if __name__ == "__main__":
    SECAUDIT = sys.argv.pop(1)
    ensure_installed()
    unittest.main(verbosity=2)
