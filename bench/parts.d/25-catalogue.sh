#!/usr/bin/env bash
# Lazy models: loading a service and its first call (ec2, s3, dynamodb)
# against a local server (bench/catalogue/server.py), kumo beside botocore,
# each in a fresh process, best of CATALOGUE_BENCH_RUNS (default 5):
# "in process" from before `require "kumo.aws"` / before botocore's Session
# (model inflate + decode, session, client, endpoint rules, sign, send,
# parse) to the answer; "whole process" is the wall clock of the process
# (kumo's start-up; python's start and `import botocore`). Goal: kumo <= 1/5
# of botocore's time (ratio >= 5). Also: start-up with all 424 models
# shipped (no model is read at start) and the models' size in the tree.
set -u
cd "$(dirname "$0")/../.." || exit 2
kumo=${KUMO:-bin/kumo}
runs=${CATALOGUE_BENCH_RUNS:-5}
tmp=$(mktemp -d)
python3 bench/catalogue/server.py > "$tmp/port" &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")
[ -n "$port" ] || { echo "catalogue: the local server did not start"; exit 1; }

now() { date +%s%N; }
for svc in ec2 s3 dynamodb; do
  for i in $(seq "$runs"); do
    t=$(now); "$kumo" run bench/catalogue/first_call.lua "$svc" "$port" >> "$tmp/kumo.in" \
      || { echo "catalogue: kumo $svc failed"; exit 1; }
    echo "$(( ($(now) - t) / 1000 )) $svc" >> "$tmp/kumo.wall"
    t=$(now); python3 bench/catalogue/first_call_botocore.py "$svc" "$port" >> "$tmp/boto.in" \
      || { echo "catalogue: botocore $svc failed"; exit 1; }
    echo "$(( ($(now) - t) / 1000 )) $svc" >> "$tmp/boto.wall"
  done
done
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
def best(name, scale=1.0):
    b = {}
    for line in open(d + "/" + name):
        v, s = line.split()
        v = float(v) * scale
        b[s] = min(b.get(s, v), v)
    return b
ki, bi = best("kumo.in"), best("boto.in")
kw, bw = best("kumo.wall", 1e-3), best("boto.wall", 1e-3)
print("load + first call, ms (best of runs, fresh process each)")
print("  %-10s %12s %12s %7s   %12s %12s %7s" % ("service", "kumo", "botocore", "ratio",
                                                 "kumo wall", "boto wall", "ratio"))
for s in ("ec2", "s3", "dynamodb"):
    print("  %-10s %12.1f %12.1f %6.1fx   %12.1f %12.1f %6.1fx" % (
        s, ki[s], bi[s], bi[s] / ki[s], kw[s], bw[s], bw[s] / kw[s]))
print("  (in process: from before require \"kumo.aws\" / botocore's Session; "
      "wall: the whole process; goal ratio >= 5)")
PY
t=$(now); for _ in 1 2 3 4 5; do "$kumo" -e 'require "kumo.aws"' || exit 1; done
echo "start-up with 424 models shipped: $(( ($(now) - t) / 5000000 )) ms per 'kumo -e require \"kumo.aws\"' (no model read)"
du -sb modules/kumo/models | awk '{ printf "models in the tree: %.2f MB (%d services, zlib)\n", $1 / 1e6, 424 }'
