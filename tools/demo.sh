#!/usr/bin/env bash
# make demo: start the local two-account cloud (kumo sandbox), run the
# cross-account RDS Proxy workflow against it (plan -> apply -> verify ->
# apply again -> destroy), show the result and the request statistics, stop
# the sandbox. Without the workflow script, it shows the seeded world with
# the AWS CLI instead. Exit status 0 when every step succeeded.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
KUMO=${KUMO:-$ROOT/bin/kumo}
DIR=$(mktemp -d /tmp/kumo-demo.XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail=0
run() {  # run a command, show it, remember a failure
  printf '$ %s\n' "$*"
  "$@" || { echo "demo: step failed (exit $?): $*" >&2; fail=1; }
}

step "kumo sandbox: starting the local cloud (SigV4 + IAM checked on every call)"
"$KUMO" sandbox --port 0 --dir "$DIR/sandbox" --lifecycle all=2 --exit-with $$ --databases \
  > "$DIR/sandbox.out" 2> "$DIR/sandbox.log" &
PID=$!
for _ in $(seq 1 600); do
  grep -q '^# then' "$DIR/sandbox.out" 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q '^# then' "$DIR/sandbox.out" 2>/dev/null; then
  echo "demo: the sandbox did not start:" >&2
  cat "$DIR/sandbox.out" "$DIR/sandbox.log" >&2
  exit 1
fi
head -1 "$DIR/sandbox.out"
grep '^kumo sandbox: databases' "$DIR/sandbox.log"
# shellcheck disable=SC1091
. "$DIR/sandbox/env.sh"
export HOME="$DIR"   # a private ~/.aws/cli/cache for the AWS CLI
# the sandbox's lifecycles take 2 polls; poll every second rather than AWS's 15-30 s
export KUMO_WAITER_DELAY=${KUMO_WAITER_DELAY:-1}
CONFIG="$DIR/sandbox/workflow.lua"
stats() {
  curl -s "$KUMO_SANDBOX_ENDPOINT/_kumo/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
print("  sandbox statistics: %d calls, %d mutating, %d error answers (not-found included)" % (s["total"], s["mutating"], s["errors"]))
for acct, a in sorted(s["accounts"].items()):
    print("    account %s: %d calls, %d mutating" % (acct, a["total"], a["mutating"]))'
}
reset_stats() { curl -s -X DELETE "$KUMO_SANDBOX_ENDPOINT/_kumo/stats" > /dev/null; }
# The procedure's "Trying it", in the sandbox: each endpoint's name resolves
# nowhere, so the client dials the loopback port the sandbox publishes for
# the APP clients' security group (listeners.json) and verifies the name
# (psql: host=NAME hostaddr=127.0.0.1) or the address (mysql) against the
# sandbox's CA bundle. The password comes from the secret, through the
# environment (never on a command line).
try_it() {
  local sg lines dns port fam secret pw
  sg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["app"]["security_group_id"])' "$DIR/sandbox/world.json")
  lines=$(python3 -c '
import json, sys
l = json.load(open(sys.argv[1]))
for dns, e in sorted(l["endpoints"].items()):
    print(dns, e["client_ports"][sys.argv[2]], e["engine_family"])' "$DIR/sandbox/listeners.json" "$sg") || { fail=1; return; }
  while read -r dns port fam; do
    case $fam in
      POSTGRESQL) secret=kumo/orders-pg ;;
      *) secret=kumo/orders-mysql ;;
    esac
    pw=$(aws --profile rds secretsmanager get-secret-value --secret-id "$secret" --query SecretString --output text \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["password"])')
    if [ "$fam" = POSTGRESQL ]; then
      printf '$ psql "host=%s hostaddr=127.0.0.1 port=%s user=orders_admin dbname=orders sslmode=verify-full sslrootcert=rds-ca-bundle.pem" -c ...\n' "$dns" "$port"
      PGPASSWORD=$pw psql -X "host=$dns hostaddr=127.0.0.1 port=$port user=orders_admin dbname=orders sslmode=verify-full sslrootcert=$DIR/sandbox/rds-ca-bundle.pem" \
        -c "SELECT current_user, inet_server_port() AS db_port, version()" -c '\conninfo' || { echo "demo: psql failed" >&2; fail=1; }
    else
      printf '$ mysql -h 127.0.0.1 -P %s -u orders_admin --ssl --ssl-ca=rds-ca-bundle.pem --ssl-verify-server-cert orders -e ...   (%s)\n' "$port" "$dns"
      MYSQL_PWD=$pw mysql -h 127.0.0.1 -P "$port" -u orders_admin --ssl --ssl-ca="$DIR/sandbox/rds-ca-bundle.pem" \
        --ssl-verify-server-cert orders -t -e "SELECT current_user(), @@port AS db_port, version(); \\s" \
        | grep -E '^[|+]|SSL:' || { echo "demo: mysql failed" >&2; fail=1; }
    fi
  done <<< "$lines"
}

step "who am I: the deployer and its two roles (profiles from $DIR/sandbox/config)"
for p in base app rds; do
  printf '%-5s ' "$p"
  "$KUMO" -e "local aws = require('kumo.aws')
    print(aws.session{ profile = '$p' }:client('sts'):GetCallerIdentity{}.Arn)" 2>/dev/null \
  || aws --profile "$p" sts get-caller-identity --query Arn --output text || fail=1
done

if [ -f scripts/rds-proxy-share.lua ]; then
  WF=(run "$KUMO" run scripts/rds-proxy-share.lua)
  step "plan (read-only)"
  reset_stats; "${WF[@]}" plan --config "$CONFIG"; stats
  step "apply: share the subnets, create the proxy and the cross-account endpoint"
  reset_stats; "${WF[@]}" apply --config "$CONFIG"; stats
  step "verify the live result"
  "${WF[@]}" verify --config "$CONFIG"
  step "apply again: converged, so zero mutating calls"
  reset_stats; "${WF[@]}" apply --config "$CONFIG"; stats
  mut=$(curl -s "$KUMO_SANDBOX_ENDPOINT/_kumo/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mutating"])')
  [ "$mut" = 0 ] || { echo "demo: the second apply made $mut mutating calls" >&2; fail=1; }
  step "connect for real: verify --connect (psql/mysql, TLS verify-full, the secret's user)"
  run "$KUMO" run scripts/rds-proxy-share.lua verify --connect --quiet --config "$CONFIG" > "$DIR/connect.txt"
  cat "$DIR/connect.txt"
  step "try it: the procedure's own commands through each endpoint, from the APP clients' security group"
  try_it
  step "destroy: teardown in order, waiting for each deletion"
  reset_stats; "${WF[@]}" destroy --config "$CONFIG"; stats
else
  step "the seeded world through the AWS CLI (the workflow script is not there yet)"
  run aws --profile app ec2 describe-subnets --filters "Name=vpc-id,Values=$(python3 -c \
    'import json,sys; print(json.load(open(sys.argv[1]))["app"]["vpc_id"])' "$DIR/sandbox/world.json")" \
    --query 'Subnets[].[SubnetId,AvailabilityZoneId,CidrBlock]' --output table
  run aws --profile rds rds describe-db-instances \
    --query 'DBInstances[].[DBInstanceIdentifier,Engine,DBInstanceStatus,Endpoint.Port]' --output table
  stats
fi

step "stopping the sandbox"
kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=
if [ -s "$DIR/connect.txt" ]; then
  step "the procedure's last step, as it ran through each endpoint before the teardown"
  grep -E '^pair |note: connect:|problem: connect' "$DIR/connect.txt"
fi
if [ "$fail" -eq 0 ]; then echo "demo: done, every step succeeded"; else echo "demo: some steps failed" >&2; fi
exit "$fail"
