# kumo.endpoints against botocore (the default python3's, rule-set based) for
# every region of every partition and the ten shipped services: host,
# signing region and signing name of the plain endpoint must agree (one test
# per service); FIPS / dual-stack agreement is printed for information.
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/endpoints/botocore_endpoints.py > "$tmp/cases" || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
exec "$kumo" run tests/endpoints/compare.lua < "$tmp/cases"
