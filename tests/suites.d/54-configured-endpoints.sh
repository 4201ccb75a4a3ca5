# Configured endpoint URLs against botocore (the default python3's): the same
# AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL / [services] section / profile
# endpoint_url / ignore switches / client endpoint_url give the same URL (one
# test per scenario).
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/endpoints/botocore_configured.py > "$tmp/cases" || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
exec "$kumo" run tests/endpoints/compare_configured.lua < "$tmp/cases"
