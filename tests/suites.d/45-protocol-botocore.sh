# kumo's own protocol cases (tests/protocol/extra: prefix headers, the JSON
# event stream's initial-response, unknown union members) through botocore's
# parsers: botocore must give each expectation on the same bytes that suite
# 40 gives kumo, so the cases are a differential test. The case files must
# be what gen_cases.py writes (no hand edits that drift from it).
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 tests/protocol/extra/gen_cases.py "$tmp" || { echo "0 passed, 1 failed"; exit 1; }
stale=0
for f in tests/protocol/extra/*.json; do
  if ! cmp -s "$f" "$tmp/$(basename "$f")"; then
    echo "FAIL $f is not what tests/protocol/extra/gen_cases.py writes"
    stale=$((stale + 1))
  fi
done
out=$(python3 tests/protocol/botocore_check.py tests/protocol/extra/*.json)
rc=$?
echo "$out"
line=${out##*$'\n'}
p=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p' <<<"$line")
n=$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p' <<<"$line")
[ "$rc" -ne 0 ] && [ "${n:-0}" -eq 0 ] && n=1
echo "${p:-0} passed, $(( ${n:-1} + stale )) failed"
[ "${n:-1}" -eq 0 ] && [ "$stale" -eq 0 ]
