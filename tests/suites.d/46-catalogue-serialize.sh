# The whole catalogue's serializers against botocore's: for every operation
# of every service (424), seeded inputs generated from the input shape (3 per
# operation, ~55,000) serialized by botocore (tests/protocol/catalogue/
# botocore_side.py) and by kumo (kumo_side.lua), then compared per protocol
# (compare.py): method, URL with query, headers, body parsed per protocol.
# Differences botocore is known for are rules in known.json, each with why.
# One test per service, plus one for stale rules; agreement per protocol is
# printed at the end.
set -u
kumo=${KUMO:-bin/kumo}
dir=tests/protocol/catalogue
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$dir/botocore_side.py" --per-op "${KUMO_CATALOGUE_PER_OP:-3}" > "$tmp/botocore.jsonl" \
  || { echo "botocore side failed"; echo "0 passed, 1 failed"; exit 1; }
"$kumo" run "$dir/kumo_side.lua" < "$tmp/botocore.jsonl" > "$tmp/kumo.jsonl" \
  || { echo "kumo side failed"; echo "0 passed, 1 failed"; exit 1; }
exec python3 "$dir/compare.py" "$tmp/botocore.jsonl" "$tmp/kumo.jsonl" "$dir/known.json"
