#!/usr/bin/python3
"""Allocation-failure torture of the whole command: `secaudit scan` of the demo tree with the
1st, 2nd, ... Nth allocation failing in turn (SECAUDIT_ALLOC_FAIL_AT, a test hook; libxml2's
and jansson's allocations go through the same hook), until a run makes fewer allocations
than the one that would fail. Every run must end either

  - with exit 2, nothing written to the -o file, and one line on stderr saying memory ran
    out, or
  - with the exit code and the report bytes of the run without failures (the failure hit
    an allocation whose absence changes nothing, e.g. an optional cache),

never with a crash, a hang, or a different report. The sanitizer build runs the same sweep
with leak detection, so every failure path must also release what it holds.

With FORMAT the report is written in that format (default sarif); with LAST only the last
LAST allocations are failed in turn (one thread): those of the report writer, which come after
the scan's (torture.html).

usage: test_torture.py SECAUDIT SOURCE_DIR [STEP [FORMAT [LAST]]]
"""
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SECAUDIT, SRC = sys.argv[1], sys.argv[2]
STEP = int(sys.argv[3]) if len(sys.argv) > 3 else 1
FORMAT = sys.argv[4] if len(sys.argv) > 4 else "sarif"
LAST = int(sys.argv[5]) if len(sys.argv) > 5 else 0
DEMO = os.path.join(SRC, "fixtures", "demo")


def scan(out, jobs, fail_at=None, count=False):
    env = dict(os.environ)
    env.pop("SECAUDIT_ALLOC_FAIL_AT", None)
    if fail_at is not None:
        env["SECAUDIT_ALLOC_FAIL_AT"] = str(fail_at)
    if count:
        env["SECAUDIT_ALLOC_COUNT"] = "1"
    return subprocess.run([SECAUDIT, "scan", "-j", str(jobs), "--format", FORMAT, "-o", out,
                           DEMO], capture_output=True, timeout=120, env=env)


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="secaudit-torture-") as tmp:
        ref_out = os.path.join(tmp, "ref." + FORMAT)
        ref = scan(ref_out, 1, fail_at=10**12, count=True)
        total = int(ref.stderr.decode().split()[1])
        with open(ref_out, "rb") as f:
            ref_bytes = f.read()

        def one(arg):
            n, jobs = arg
            out = os.path.join(tmp, "r%d-%d.%s" % (n, jobs, FORMAT))
            p = scan(out, jobs, fail_at=n)
            err = p.stderr.decode(errors="replace")
            if p.returncode == 2:
                ok = (not os.path.exists(out) and err.count("\n") == 1 and
                      ("out of memory" in err or "Cannot allocate memory" in err))
            elif p.returncode == ref.returncode and os.path.exists(out):
                with open(out, "rb") as f:
                    ok = f.read() == ref_bytes
            else:
                ok = False
            if os.path.exists(out):
                os.unlink(out)
            return None if ok else (n, jobs, p.returncode, err[-300:])

        # every allocation with one thread; every STEP*7th with two (where the Nth falls
        # then depends on the threads' interleaving, so only cleanliness is asserted)
        if LAST:
            runs = [(n, 1) for n in range(max(1, total + 1 - LAST), total + 2, STEP)]
        else:
            runs = [(n, 1) for n in range(1, total + 2, STEP)]
            runs += [(n, 2) for n in range(1, total + 2, STEP * 7)]
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            for r in pool.map(one, runs):
                if r:
                    failures.append(r)
    print("%d allocations in a demo scan; %d runs; %d unclean" %
          (total, len(runs), len(failures)))
    for f in failures[:20]:
        print("FAIL: allocation %d, -j %d: exit %d: %s" % f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
