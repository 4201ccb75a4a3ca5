# The procedure's last step for real: real PostgreSQL 15 / MariaDB behind the
# sandbox's RDS-Proxy-like listeners; psql, mysql and `verify --connect`
# through the endpoints (TLS, secrets, IAM tokens, security-group hops).
# Needs the database packages of tools/deps.sh.
for c in psql mysql mariadbd /usr/lib/postgresql/15/bin/initdb; do
  command -v "$c" >/dev/null 2>&1 || { echo "1..0 # missing $c: run make deps"; echo "not ok 1 - $c is installed"; exit 1; }
done
exec bin/kumo run /usr/bin/busted -o TAP tests/e2e/connect_spec.lua
