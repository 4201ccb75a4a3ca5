"""kumo sandbox: a local two-account AWS cloud (moto, SigV4 + IAM always on).

usage: python3 -m kumo_sandbox [--port N] [--dir DIR] [--faults SPEC] [--fault-seed N] [--latency MS]
                               [--lifecycle SPEC] [--no-org] [--no-org-sharing] [--region R] [--log]
                               [--allow-moto-api] [--databases]
       python3 -m kumo_sandbox --check [--dir DIR | --port N]
"""
import argparse
import json
import os
import sys
import time
import urllib.request

DEFAULT_DIR = os.path.join(os.path.expanduser("~"), ".kumo", "sandbox")


def _parser():
    p = argparse.ArgumentParser(
        prog="kumo sandbox",
        description="Start the local two-account AWS cloud in the foreground (Ctrl-C stops it). "
                    "It prints the export lines that point the AWS CLI, boto3 and kumo at it. "
                    "Signatures and IAM permissions are always checked.")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: a free one)")
    p.add_argument("--dir", default=os.environ.get("KUMO_SANDBOX_DIR") or DEFAULT_DIR,
                   help=f"where to write config, credentials, env.sh, workflow.lua, world.json "
                        f"(default {DEFAULT_DIR})")
    p.add_argument("--faults", default=None,
                   help="fault rules: JSON, @FILE, or OP[@ACCOUNT][:KIND[:TIMES|:P%%]],... "
                        "(KIND: throttle, 5xx, 503, drop, lose, slowMS; P%%: that share of the calls)")
    p.add_argument("--fault-seed", type=int, default=None, metavar="N",
                   help="seed of the random draws of rate rules (same seed, same calls: same faults; "
                        "default: a random one, shown by GET /_kumo/faults)")
    p.add_argument("--latency", type=float, default=0.0, metavar="MS", help="delay every call by MS milliseconds")
    p.add_argument("--lifecycle", default=None,
                   help="status lifecycles: KIND=POLLS|SECONDSs,... with KIND proxy, endpoint, target, db "
                        "or all (default: 2 polls each; 0 = at once)")
    p.add_argument("--accounts", type=int, default=0, metavar="N",
                   help="also seed N APP accounts in the organizational unit `apps` (tagged VPC, subnets "
                        "in two AZs, app SG, OrganizationAccountAccessRole) for organization-wide rollouts")
    p.add_argument("--rds-accounts", type=int, default=0, metavar="M",
                   help="with --accounts: also seed M RDS accounts rds-01... in the organizational unit "
                        "`databases` (databases, secrets, OrganizationAccountAccessRole); APP accounts "
                        "are tagged rds=rds-NN in turn")
    p.add_argument("--no-org", action="store_true", help="APP and RDS are in no organization")
    p.add_argument("--no-org-sharing", action="store_true",
                   help="the organization exists but RAM sharing with it is not enabled")
    p.add_argument("--region", default="ap-northeast-1",
                   help="the region of the seeded world (default ap-northeast-1; the AWS CLI v1 "
                        "ignores endpoint_url for rds in us-east-1)")
    p.add_argument("--log", action="store_true",
                   help="print one line per call on stderr: account, service:operation, status, milliseconds")
    p.add_argument("--allow-moto-api", action="store_true",
                   help="serve moto's own unsigned /moto-api/ routes (recorder, reset, seed, state manager, "
                        "dashboard); refused by default, since they bypass the signature and IAM checks")
    p.add_argument("--databases", action="store_true",
                   help="run a real PostgreSQL 15 / MariaDB behind each seeded DB instance and an RDS-Proxy-like "
                        "listener per proxy endpoint (docs/connect.md; needs make deps)")
    p.add_argument("--check", action="store_true", help="tell whether a sandbox is running and healthy")
    p.add_argument("--exit-with", type=int, default=0, metavar="PID",
                   help="stop when process PID ends (test harnesses use it so that no sandbox outlives them)")
    return p


def check(args):
    endpoint = None
    if args.port:
        endpoint = f"http://127.0.0.1:{args.port}"
    else:
        try:
            with open(os.path.join(args.dir, "world.json")) as f:
                endpoint = json.load(f)["endpoint"]
        except (OSError, ValueError, KeyError):
            print(f"kumo sandbox: none found: {args.dir}/world.json is missing; "
                  "start one with 'kumo sandbox' or pass --port/--dir", file=sys.stderr)
            return 1
    try:
        with urllib.request.urlopen(endpoint + "/_kumo/health", timeout=3) as r:
            health = json.load(r)
    except Exception as e:
        print(f"kumo sandbox: not running at {endpoint} ({getattr(e, 'reason', e)})", file=sys.stderr)
        return 1
    if not isinstance(health, dict) or health.get("service") != "kumo-sandbox" or not health.get("ok"):
        print(f"kumo sandbox: something else answers at {endpoint}, not a healthy kumo sandbox", file=sys.stderr)
        return 1
    print(f"kumo sandbox: healthy at {health['endpoint']} (pid {health['pid']}, up {health['uptime_s']:.0f} s, "
          f"organization: {health['organization']}, dir {health['dir']})")
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.check:
        return check(args)
    t0 = time.monotonic()
    from . import moto_version_problem
    problem = moto_version_problem()
    if problem:
        print(f"kumo sandbox: {problem}", file=sys.stderr)
        return 1
    # imports after parsing: --help and --check stay fast
    from . import faults, lifecycle
    from .server import Sandbox
    try:
        rules = faults.parse(args.faults)
        lifecycles = lifecycle.parse(args.lifecycle) if args.lifecycle else {}
    except (faults.FaultSpecError, lifecycle.LifecycleSpecError) as e:
        print(f"kumo sandbox: {e}", file=sys.stderr)
        return 2
    if args.latency < 0:
        print("kumo sandbox: --latency must be >= 0 milliseconds", file=sys.stderr)
        return 2
    if not 0 <= args.accounts <= 500 or (args.accounts and args.no_org):
        print("kumo sandbox: --accounts takes 0..500 and needs the organization (not with --no-org)",
              file=sys.stderr)
        return 2
    if not 0 <= args.rds_accounts <= 50 or (args.rds_accounts and not args.accounts):
        print("kumo sandbox: --rds-accounts takes 0..50 and needs --accounts N (the APP accounts that use them)",
              file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("kumo sandbox: --port must be 0..65535 (0 picks a free port)", file=sys.stderr)
        return 2
    if os.environ.get("MOTO_ACCOUNT_ID"):
        # moto would put every request in that one account
        del os.environ["MOTO_ACCOUNT_ID"]
    directory = os.path.abspath(args.dir)
    sb = Sandbox(region=args.region, organization=not args.no_org, org_sharing=not args.no_org_sharing,
                 fault_rules=rules, latency_ms=args.latency, lifecycles=lifecycles, directory=directory,
                 log_requests=args.log, fault_seed=args.fault_seed, allow_moto_api=args.allow_moto_api,
                 databases=args.databases, accounts=args.accounts, rds_accounts=args.rds_accounts)
    from .databases import DatabaseError
    try:
        sb.listen(args.port)
    except DatabaseError as e:
        print(f"kumo sandbox: --databases: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"kumo sandbox: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}; "
              "choose another --port (0 picks a free one)", file=sys.stderr)
        return 1
    from .profiles import env_lines
    w = sb.world
    print(f"# kumo sandbox at {sb.endpoint} (ready in {time.monotonic() - t0:.1f} s; "
          f"accounts base {w['accounts']['base']}, app {w['accounts']['app']}, rds {w['accounts']['rds']}; "
          f"organization: {w['organization_mode']})")
    if w.get("fleet"):
        print(f"# organization unit {w['fleet']['ou_name']} ({w['fleet']['ou_id']}): "
              f"{len(w['fleet']['accounts'])} APP accounts, role {w['fleet']['role']} (world.json: fleet)")
    if w.get("rds_fleet"):
        print(f"# organization unit {w['rds_fleet']['ou_name']} ({w['rds_fleet']['ou_id']}): "
              f"{len(w['rds_fleet']['accounts'])} RDS accounts, role {w['rds_fleet']['role']} "
              "(world.json: rds_fleet)")
    print(f"# files in {directory}: config credentials env.sh workflow.lua world.json"
          + (" databases.json listeners.json rds-ca-bundle.pem" if args.databases else ""))
    for line in env_lines(w, sb.endpoint, directory):
        print(line)
    print("# then e.g.: aws --profile app sts get-caller-identity    (Ctrl-C stops the sandbox)", flush=True)
    if args.exit_with:
        sb.exit_with(args.exit_with)
    sb.serve_forever()
    print("# kumo sandbox stopped", file=sys.stderr, flush=True)
    sys.stdout.flush()
    # nothing is left to clean up: skip the interpreter's slow teardown of moto
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
