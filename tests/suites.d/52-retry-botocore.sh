# kumo.retry against botocore (the default python3's) on the same grid of
# failed attempts: standard mode, the AWS_NEW_RETRIES_2026 behaviour and
# legacy mode; retry or not, the backoff delay (random() fixed) and the
# retry-quota cost must all agree. Each mode counts as one test (the case
# counts are printed above it).
set -u
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
run() { # label mode new2026
  local out
  if [ "$3" = true ]; then
    AWS_NEW_RETRIES_2026=true python3 tests/retry/botocore_cases.py "$2" > "$tmp/cases" || { echo "$1: botocore side failed"; fail=$((fail + 1)); return; }
  else
    env -u AWS_NEW_RETRIES_2026 python3 tests/retry/botocore_cases.py "$2" > "$tmp/cases" || { echo "$1: botocore side failed"; fail=$((fail + 1)); return; }
  fi
  out=$("$kumo" run tests/retry/compare.lua "$2" "$3" < "$tmp/cases") || { echo "$out"; echo "$1: kumo side failed"; fail=$((fail + 1)); return; }
  echo "$out"
  local line=${out##*$'\n'}
  local p f
  p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")
  f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")
  if [ "$f" -eq 0 ] && [ "$p" -gt 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}
run standard standard false
run standard-2026 standard true
run legacy legacy false
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
