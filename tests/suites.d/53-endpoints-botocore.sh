# kumo.endpoints against botocore (the default python3's, rule-set based) for
# every region of every partition (and no region) and the ten shipped
# services, plain, FIPS, dual-stack and FIPS + dual-stack (STS also with
# sts_regional_endpoints = legacy): host, signing region and signing name
# must agree, or both refuse (one test per case).
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/endpoints/botocore_endpoints.py > "$tmp/cases" || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
exec "$kumo" run tests/endpoints/compare.lua < "$tmp/cases"
