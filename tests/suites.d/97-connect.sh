# The procedure's last step for real: real PostgreSQL 15 / MariaDB behind the
# sandbox's RDS-Proxy-like listeners; psql, mysql and `verify --connect`
# through the endpoints (TLS, secrets, IAM tokens, security-group hops), and
# the listener's IAM token check against botocore's tokens. Needs the
# database packages of tools/deps.sh. Prints "N passed, N failed".
set -u
for c in psql mysql mariadbd mariadb-install-db /usr/lib/postgresql/15/bin/initdb; do
  if ! command -v "$c" >/dev/null 2>&1; then
    echo "connect: $c is missing: run make deps (tools/deps.sh installs postgresql-15 and mariadb-server)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done
py=$(mktemp); tap=$(mktemp)
trap 'rm -f "$py" "$tap"' EXIT
python3 tests/sandbox/run.py test_connect > "$py" 2>&1
py_rc=$?
sed '$d' "$py"   # its own total goes into ours
bin/kumo run /usr/bin/busted -o TAP tests/e2e/connect_spec.lua > "$tap" 2>&1
tap_rc=$?
cat "$tap"
read -r pp pf < <(tail -n 1 "$py" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p')
tp=$(grep -cE '^ok [0-9]+' "$tap"); tf=$(grep -cE '^not ok [0-9]+' "$tap")
[ -n "${pp:-}" ] || { pp=0; pf=1; }
[ "$tap_rc" -ne 0 ] && [ "$tf" -eq 0 ] && tf=1   # busted died before its report
echo "$((pp + tp)) passed, $((pf + tf)) failed"
[ "$py_rc" -eq 0 ] && [ "$tap_rc" -eq 0 ]
