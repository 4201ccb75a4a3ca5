# Client overhead per call (validation + serialize + SigV4 sign + parse + retry
# bookkeeping; network excluded), kumo beside botocore in the same run, on
# canned responses of four protocols (bench/client/cases.json). botocore's
# HTTP send is replaced through its own before-send event; kumo's through the
# session's transport function. Each figure is the best of CLIENT_BENCH_RUNS
# runs of CLIENT_BENCH_SECONDS seconds of CPU time (default 3 x 1 s). Goal: kumo's
# overhead <= 1/10 of botocore's (ratio >= 10).
set -u
runs=${CLIENT_BENCH_RUNS:-3}
secs=${CLIENT_BENCH_SECONDS:-1}
kumo=${KUMO:-bin/kumo}
cases=bench/client/cases.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq "$runs"); do
  "$kumo" run bench/client/client_bench.lua "$cases" "$secs" > "$tmp/kumo.$i" \
    || { echo "client: kumo bench failed"; exit 1; }
  python3 bench/client/client_botocore.py "$cases" "$secs" > "$tmp/boto.$i" \
    || { echo "client: botocore bench failed"; exit 1; }
done

# best rate per case name over the runs
best() { cat "$@" | awk '{ r = $1; $1 = ""; n = substr($0, 2); if (r > b[n]) b[n] = r; if (!(n in o)) { o[n] = ++k; names[k] = n } }
  END { for (i = 1; i <= k; i++) print b[names[i]] "\t" names[i] }'; }
best "$tmp"/kumo.* > "$tmp/kumo.best"
best "$tmp"/boto.* > "$tmp/boto.best"

printf '%-40s %12s %12s %14s %7s\n' "client call overhead" "kumo us/call" "botocore us" "kumo calls/s" "ratio"
join -t "$(printf '\t')" -1 2 -2 2 <(sort -t "$(printf '\t')" -k2 "$tmp/kumo.best") \
  <(sort -t "$(printf '\t')" -k2 "$tmp/boto.best") |
awk -F '\t' '{ k = $2; b = $3; printf "%-40s %12.1f %12.1f %14d %6.1fx\n", $1, 1e6 / k, 1e6 / b, k, k / b;
  lk += log(k); lb += log(b); n++ }
  END { if (n) printf "%-40s %12.1f %12.1f %14d %6.1fx  (goal >= 10x)\n", "geometric mean", 1e6 / exp(lk / n), 1e6 / exp(lb / n), exp(lk / n), exp((lk - lb) / n) }'

# Where kumo's time goes (one run): validation, serialization, signing and
# parsing measured alone; "client" is the rest of a call (this module's own work
# plus the garbage collection the call's tables cost).
echo
"$kumo" run bench/client/client_bench.lua "$cases" "$secs" breakdown || echo "client: breakdown failed"
