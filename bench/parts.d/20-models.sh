#!/usr/bin/env bash
# Model load time per service (kumo.model, fresh load) beside botocore's
# (a new Session's get_service_model: JSON load + ServiceModel), and the
# protocol layer alone (serialize + parse of one call, no signing, no
# network) beside botocore's serializer + parser, in the same run.
set -u
cd "$(dirname "$0")/../.." || exit 2
services="sts iam ec2 rds ram secretsmanager kms organizations cloudwatch logs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bin/kumo run bench/lib/models.lua $services >"$tmp/kumo.txt" || { echo "kumo bench failed"; exit 1; }
python3 bench/lib/models_botocore.py $services >"$tmp/boto.txt" || { echo "botocore bench failed"; exit 1; }

python3 - "$tmp/kumo.txt" "$tmp/boto.txt" <<'PY'
import sys
def read(p):
    d = {}
    for line in open(p):
        k, v = line.split()
        d[k] = float(v)
    return d
k, b = read(sys.argv[1]), read(sys.argv[2])
print("model load, ms (best of 5, fresh each time)")
print("  %-16s %10s %10s %8s" % ("service", "kumo", "botocore", "ratio"))
for key in [x for x in k if x.startswith("load.")]:
    name = key[5:]
    print("  %-16s %10.2f %10.2f %7.1fx" % (name, k[key], b[key], b[key] / k[key]))
print("protocol layer per call, us (serialize + parse, best of 5 runs)")
print("  %-34s %10s %10s %8s" % ("call", "kumo", "botocore", "ratio"))
for key in [x for x in k if x.startswith("call.")]:
    print("  %-34s %10.1f %10.1f %7.1fx" % (key[5:], k[key], b[key], b[key] / k[key]))
PY
