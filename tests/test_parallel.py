#!/usr/bin/python3
"""The parallel scan (-j N) writes exactly the report of the sequential one (-j 1): same
bytes in text and JSON, same exit code, on the demo tree and on a generated tree with many
services and every kind of trouble (merged directories, sniffed files, broken files, units
with drop-ins and environment files, symlinks, FIFOs, a directory loop).

usage: test_parallel.py SECAUDIT SOURCE_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SECAUDIT = None
SRC = None


def scan(jobs, *args):
    p = subprocess.run([SECAUDIT, "scan", "--no-color", "-j", str(jobs)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout, p.stderr


class Parallel(unittest.TestCase):
    tree = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sa-par-")
        cls.tree = os.path.join(cls.tmp, "tree")
        subprocess.run([sys.executable, os.path.join(SRC, "bench", "gen"), "tree", cls.tree,
                        "--files", "1500", "--configs", "300", "--edge", "25", "--seed", "7"],
                       check=True, stdout=subprocess.DEVNULL)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def same(self, *args, expect_rc=None):
        ref = scan(1, *args)
        if expect_rc is not None:
            self.assertEqual(ref[0], expect_rc)
        self.assertGreater(len(ref[1]), 0)
        for jobs in (2, 3, 8):
            got = scan(jobs, *args)
            self.assertEqual(got[0], ref[0], "exit code with -j %d" % jobs)
            self.assertEqual(got[1], ref[1], "report with -j %d" % jobs)
            self.assertEqual(got[2], ref[2], "stderr with -j %d" % jobs)
        return ref

    def test_demo_text(self):
        self.same(os.path.join(SRC, "fixtures", "demo"), expect_rc=1)

    def test_demo_json(self):
        self.same("-f", "json", os.path.join(SRC, "fixtures", "demo"), expect_rc=1)

    def test_tree_text(self):
        rc, out, _ = self.same(self.tree, expect_rc=1)
        text = out.decode()
        # the tree exercises the paths that reorder work: merged groups, notices, errors
        self.assertIn("orthanc/z.json:1:1: error: the top level must be an object", text)
        self.assertIn("note: a FIFO named like a OMERO file; not opened", text)
        self.assertIn("EnvironmentFile=/nonexistent/x.env cannot be read", text)
        self.assertIn("app/settings.json", text)

    def test_tree_json(self):
        self.same("-f", "json", self.tree, expect_rc=1)

    def test_tree_follow_symlinks(self):
        rc, out, _ = self.same("--follow-symlinks", self.tree, expect_rc=1)
        self.assertIn("loop", out.decode())

    def test_several_roots(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        self.same("-f", "json", demo, os.path.join(self.tree, "d0000"),
                  os.path.join(demo, "etc", "mongod.conf"), expect_rc=1)

    def test_suppressions_and_sarif(self):
        # secaudit:ignore comments are collected by the worker that parses the file
        root = os.path.join(self.tree, "supp")
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        with open(os.path.join(root, "etc", "pg_hba.conf"), "w") as f:
            f.write("# secaudit:ignore PG-HBA-TRUST-WORLD isolated lab\n"
                    "host all all 0.0.0.0/0 trust\n"
                    "# secaudit:ignore PG-HBA-TRUST-LOCAL\n"
                    "local all all trust\n")
        self.same("-f", "sarif", root, os.path.join(SRC, "fixtures", "demo"), expect_rc=1)
        rc, out, _err = scan(3, "-f", "json", root)
        self.assertEqual(rc, 1)
        self.assertIn(b'"reason": "isolated lab"', out)

    def test_jobs_default_and_usage(self):
        demo = os.path.join(SRC, "fixtures", "demo")
        p = subprocess.run([SECAUDIT, "scan", "--no-color", demo], stdout=subprocess.PIPE)
        self.assertEqual(p.stdout, scan(1, demo)[1])
        for bad in ("0", "x", "-3", "1025"):
            rc, out, err = scan(bad, demo)
            self.assertEqual(rc, 2)
            self.assertIn(b"--jobs", err)


if __name__ == "__main__":
    SECAUDIT, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1], verbosity=1)
