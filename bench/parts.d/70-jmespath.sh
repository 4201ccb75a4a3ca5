#!/usr/bin/env bash
# kumo.jmespath beside jmespath.py (the library botocore and the AWS CLI use),
# in the same run: a fresh parse (+ compile for kumo) and one evaluation of the
# compiled form, per case: the waiter paths kumo evaluates on every poll, and
# upstream's JMESPath benchmark cases (bench/jmespath/benchmarks.json).
set -u
cd "$(dirname "$0")/../.." || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin/kumo run bench/jmespath/bench.lua >"$tmp/kumo.txt" || { echo "kumo bench failed"; exit 1; }
python3 bench/jmespath/bench_py.py bin/kumo >"$tmp/py.txt" || { echo "jmespath.py bench failed"; exit 1; }
python3 - "$tmp/kumo.txt" "$tmp/py.txt" <<'PY'
import math, sys
def read(p):
    rows = []
    for line in open(p):
        name, parse, search = line.rstrip("\n").split("\t")
        rows.append((name, float(parse), float(search)))
    return rows
k, p = read(sys.argv[1]), read(sys.argv[2])
print("JMESPath, microseconds per operation (best of 5); ratio = jmespath.py / kumo")
print("  %-32s %9s %9s %7s   %9s %9s %7s" % ("case", "parse", "py", "ratio", "search", "py", "ratio"))
lp, ls = [], []
for (name, kp, ks), (_, pp, ps) in zip(k, p):
    rp, rs = pp / kp, ps / max(ks, 1e-3)
    lp.append(math.log(rp)); ls.append(math.log(rs))
    print("  %-32s %9.2f %9.2f %6.1fx   %9.2f %9.2f %6.1fx" % (name[:32], kp, pp, rp, ks, ps, rs))
print("  geometric mean ratio: parse %.1fx, search %.1fx (compiled forms are cached: a waiter parses each path once)"
      % (math.exp(sum(lp) / len(lp)), math.exp(sum(ls) / len(ls))))
PY
