# Per-operation endpoints: kumo's call path (Client:endpoint(entry, params),
# S3's per-call resolver) against botocore for every operation with endpoint
# context parameters of the nine services that have them, three regions, sample
# inputs (~1,000 cases, tests/endpoints/botocore_operations.py); then the
# unit spec (neptune-graph called at a loopback logging server, the cache, the
# S3 builtIns, account_id_endpoint_mode).
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/endpoints/botocore_operations.py > "$tmp/cases" \
  || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
"$kumo" run tests/endpoints/compare_operations.lua < "$tmp/cases" || rc=$?
KUMO_ROOT=$PWD PATH=$PWD/bin:$PATH "$kumo" run /usr/bin/busted -o TAP \
  tests/modules/kumo/endpoints_operation_spec.lua || rc=$?
exit ${rc:-0}
