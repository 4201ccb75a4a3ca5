"""jmespath.py timings for the same cases: name<TAB>parse_us<TAB>search_us."""
import json, os, subprocess, sys, time
import jmespath

here = os.path.dirname(os.path.abspath(__file__))
# the waiter cases are defined in Lua; kumo prints them as JSON
cases = json.loads(subprocess.check_output(
    [sys.argv[1], "-e", "local c = dofile(%r); print(require('kumo.json').encode(c))" % (here + "/cases.lua")]))
for suite in json.load(open(os.path.join(here, "benchmarks.json"))):
    for c in suite["cases"]:
        cases.append({"name": c["comment"], "given": suite["given"], "expression": c["expression"]})

def best(n, fn):
    b = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        b = min(b, (time.perf_counter() - t) / n)
    return b * 1e6

from jmespath import parser
for c in cases:
    parse_us = best(300, lambda: parser.Parser().parse(c["expression"]) if parser.Parser._CACHE.clear() is None else None)
    compiled = jmespath.compile(c["expression"])
    search_us = best(2000, lambda: compiled.search(c["given"]))
    print("%s\t%.2f\t%.2f" % (c["name"], parse_us, search_us))
