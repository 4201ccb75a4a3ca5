# Credentials: what a multi-account script pays per run to act in two
# accounts (AssumeRole into APP and RDS, then GetCallerIdentity in each),
# against a sandbox started here. kumo shares the AWS CLI's
# ~/.aws/cli/cache, so a second run (or a run after the AWS CLI) makes no
# AssumeRole call; boto3 keeps them in memory and assumes again in every
# process. Also: cached credential look-ups per second (the check every
# signed call makes). Figures: median of BENCH_RUNS runs (default 5).
set -u
runs=${BENCH_RUNS:-5}
kumo=${KUMO:-bin/kumo}
tmp=$(mktemp -d)
PYTHONPATH=sandbox python3 -m kumo_sandbox --port 0 --dir "$tmp/sb" --exit-with $$ >"$tmp/log" 2>&1 &
trap 'kill $(python3 -c "import json;print(json.load(open(\"$tmp/sb/world.json\"))[\"pid\"])" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 300); do [ -s "$tmp/sb/world.json" ] && break; sleep 0.1; done
[ -s "$tmp/sb/world.json" ] || { echo "credentials: the sandbox did not start"; cat "$tmp/log"; exit 1; }
endpoint=$(python3 -c "import json;print(json.load(open('$tmp/sb/world.json'))['endpoint'])")
export HOME="$tmp/home" AWS_CONFIG_FILE="$tmp/sb/config" AWS_SHARED_CREDENTIALS_FILE="$tmp/sb/credentials"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
mkdir -p "$HOME"

assumes() {   # AssumeRole calls since the last reset
  curl -s "$endpoint/_kumo/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(sum(o["count"] for a in s["accounts"].values() for k, o in a["operations"].items() if k.endswith("AssumeRole")))'
}
reset() { curl -s -X DELETE "$endpoint/_kumo/stats" >/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# warm up (model loading, first connections)
"$kumo" run bench/credentials_run.lua >/dev/null; python3 bench/credentials_boto3.py >/dev/null

cold=(); warm=(); boto=(); cli=()
reset
for _ in $(seq "$runs"); do rm -rf "$HOME/.aws/cli/cache"; cold+=("$("$kumo" run bench/credentials_run.lua)"); done
cold_assumes=$(assumes); reset
for _ in $(seq "$runs"); do warm+=("$("$kumo" run bench/credentials_run.lua)"); done
warm_assumes=$(assumes); reset
for _ in $(seq "$runs"); do boto+=("$(python3 bench/credentials_boto3.py)"); done
boto_assumes=$(assumes); reset
for _ in $(seq "$runs"); do
  s=$(date +%s.%N)
  aws sts get-caller-identity --profile app >/dev/null && aws sts get-caller-identity --profile rds >/dev/null
  cli+=("$(echo "$(date +%s.%N) - $s" | bc)")
done
cli_assumes=$(assumes)
c=$(printf '%s\n' "${cold[@]}" | median); w=$(printf '%s\n' "${warm[@]}" | median)
b=$(printf '%s\n' "${boto[@]}" | median); a=$(printf '%s\n' "${cli[@]}" | median)
kget=$("$kumo" run bench/credentials_run.lua get 200000)
bget=$(python3 bench/credentials_boto3.py get 200000)

echo "Acting in two accounts (APP, RDS) per run, median of $runs runs (seconds after start-up):"
awk -v c="$c" -v w="$w" -v b="$b" -v a="$a" -v r="$runs" -v ca="$cold_assumes" -v wa="$warm_assumes" \
    -v ba="$boto_assumes" -v aa="$cli_assumes" 'BEGIN {
  printf "  %-44s %7.3f s  AssumeRole calls in %d runs: %d\n", "kumo, empty cache", c, r, ca
  printf "  %-44s %7.3f s  AssumeRole calls in %d runs: %d  (%.1fx faster than boto3)\n", "kumo, shared ~/.aws/cli/cache", w, r, wa, b / w
  printf "  %-44s %7.3f s  AssumeRole calls in %d runs: %d\n", "boto3 (in-memory cache only)", b, r, ba
  printf "  %-44s %7.3f s  AssumeRole calls in %d runs: %d  (2 processes, incl. start-up)\n", "aws CLI v1, cache written by kumo", a, r, aa
}'
awk -v k="$kget" -v p="$bget" 'BEGIN {
  printf "Cached credential look-ups: kumo provider:get() %d /s, botocore get_frozen_credentials() %d /s (%.1fx)\n", k, p, k / p }'
