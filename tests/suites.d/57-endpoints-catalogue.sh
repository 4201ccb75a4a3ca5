# kumo.endpoints against botocore for every service of the catalogue (424):
# per service, no region, us-east-1, one more aws region drawn per service
# (seeded), cn-north-1 and us-gov-west-1, each plain, FIPS, dual-stack and
# FIPS + dual-stack (~8,500 cases): host, signing region and signing name
# agree, or both refuse. One test per service; the cases that differ for a
# written reason are in tests/endpoints/known_catalogue.lua. (Suite 53 does
# every region of every partition for the ten services the workflow uses.)
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/endpoints/botocore_catalogue.py > "$tmp/cases" \
  || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
exec "$kumo" run tests/endpoints/compare_catalogue.lua tests/endpoints/known_catalogue.lua < "$tmp/cases"
