#!/usr/bin/env python3
"""Run the sandbox's unittest suites (test_*.py here), several at a time
(each starts its own sandbox), and print `N passed, N failed` last.

usage: tests/sandbox/run.py [-j N] [PATTERN...]   (PATTERN: part of a module name)
"""
import argparse
import concurrent.futures
import glob
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class _Result(unittest.TextTestResult):
    pass


def run_module(name):
    """Child mode: run one module, print its report and a RESULT line."""
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.loadTestsFromName(name)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print(f"RESULT {passed} {failed + len(result.skipped)}", flush=True)
    return 0 if failed == 0 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-j", type=int, default=3)
    ap.add_argument("--module")
    ap.add_argument("patterns", nargs="*")
    args = ap.parse_args()
    if args.module:
        return run_module(args.module)
    modules = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "test_*.py")))
    if args.patterns:
        modules = [m for m in modules if any(p in m for p in args.patterns)]

    def child(m):
        t0 = time.monotonic()
        p = subprocess.run([sys.executable, __file__, "--module", m], capture_output=True, text=True,
                           cwd=HERE, timeout=600)
        return m, p.returncode, p.stdout + p.stderr, time.monotonic() - t0

    total_pass = total_fail = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.j) as pool:
        for m, rc, out, secs in pool.map(child, modules):
            print(f"--- {m} ({secs:.1f} s)")
            print(out.rstrip())
            line = [l for l in out.splitlines() if l.startswith("RESULT ")]
            if line:
                p, f = map(int, line[-1].split()[1:3])
            else:
                p, f = 0, 1
            total_pass += p
            total_fail += f
    print(f"{total_pass} passed, {total_fail} failed")
    return 0 if total_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
