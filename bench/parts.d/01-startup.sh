# Start-up time: `kumo -e 'print(1)'` against `aws --version` (the AWS CLI
# in the default python3) and plain `lua5.4` for reference. Uses hyperfine
# when installed, else a loop timed with date +%s%N. Goal: kumo <= 1/30 of
# the AWS CLI. BENCH_KUMO_RUNS / BENCH_AWS_RUNS change the run counts.
set -u
KUMO=${KUMO:-bin/kumo}
kruns=${BENCH_KUMO_RUNS:-200}
aruns=${BENCH_AWS_RUNS:-10}

# mean wall milliseconds of RUNS runs of a command (after one warm-up run)
mean_ms() {
  local runs=$1
  shift
  "$@" >/dev/null 2>&1
  if command -v hyperfine >/dev/null; then
    local json
    json=$(mktemp)
    hyperfine -N -w 1 -r "$runs" --export-json "$json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1
    python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$json"
    rm -f "$json"
    return
  fi
  local start end i
  start=$(date +%s%N)
  for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1; done
  end=$(date +%s%N)
  awk -v ns=$((end - start)) -v n="$runs" 'BEGIN { printf "%.3f", ns / n / 1e6 }'
}

if [ ! -x "$KUMO" ]; then echo "startup: $KUMO not built"; exit 1; fi
if ! command -v aws >/dev/null; then echo "startup: aws (AWS CLI) not found"; exit 1; fi
tool=$(command -v hyperfine >/dev/null && echo hyperfine || echo "shell loop, date +%s%N")
echo "start-up time, mean of N runs ($tool)"
k=$(mean_ms "$kruns" "$KUMO" -e 'print(1)')
l=$(mean_ms "$kruns" lua5.4 -e 'print(1)')
a=$(mean_ms "$aruns" aws --version)
printf '  %-34s %9.2f ms  (%d runs)\n' "kumo -e 'print(1)'" "$k" "$kruns"
printf '  %-34s %9.2f ms  (%d runs)\n' "lua5.4 -e 'print(1)' (reference)" "$l" "$kruns"
printf '  %-34s %9.2f ms  (%d runs, %s)\n' "aws --version" "$a" "$aruns" "$(aws --version 2>&1 | cut -d' ' -f1)"
awk -v k="$k" -v a="$a" 'BEGIN {
  r = k / a
  printf "  ratio kumo/aws: 1/%.0f (%.4f); goal <= 1/30: %s\n", a / k, r, (r <= 1 / 30 ? "met" : "NOT met")
}'
# no start-up work a script does not use: what is loaded before line one
loaded=$("$KUMO" -e 'local n = {} for k in pairs(package.loaded) do n[#n + 1] = k end table.sort(n) print(table.concat(n, " "))')
echo "  Lua modules loaded when a script starts: $loaded"
echo "  (kumo.* natives sit in package.preload; libcurl is initialised on the first request)"
