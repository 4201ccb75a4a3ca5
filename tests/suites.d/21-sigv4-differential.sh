# kumo.sigv4 against botocore's signers (default python3) on randomized
# requests: header form (SigV4Auth, S3SigV4Auth, unsigned payload) and query
# form (SigV4QueryAuth, S3SigV4QueryAuth). SIGV4_DIFF_SEED / _COUNT override.
set -eu
seed="${SIGV4_DIFF_SEED:-20150830}"
count="${SIGV4_DIFF_COUNT:-500}"
cases=$(mktemp)
trap 'rm -f "$cases"' EXIT
python3 tests/sigv4/differential.py --seed "$seed" --count "$count" >"$cases"
echo "differential: seed $seed, $count cases (botocore $(python3 -c 'import botocore; print(botocore.__version__)'))"
bin/kumo run tests/sigv4/differential.lua "$cases"
