"""Independent reads and edits of the `--accounts N` APP accounts of a kumo
sandbox, with boto3 (the rollout spec's second opinion).

    python3 tests/e2e/fleet.py SANDBOX_DIR untag ACCOUNT_ID KEY    # the VPC loses tag KEY
    python3 tests/e2e/fleet.py SANDBOX_DIR tag ACCOUNT_ID KEY VALUE
    python3 tests/e2e/fleet.py SANDBOX_DIR inspect
    python3 tests/e2e/fleet.py SANDBOX_DIR inspect-rds   # the --rds-accounts M accounts

Each APP account is reached as the deployer (profile base) assuming
OrganizationAccountAccessRole, as a rollout does. `inspect` prints one JSON
object: per account name, the RAM shares it owns tagged kumo:pair=<name>
(`shares`), and the proxy endpoints in the RDS account (`endpoints`, names),
and the RDS proxies (`proxies`, names). `inspect-rds` prints, per RDS
account of `--rds-accounts M` (by name), its proxies and proxy endpoints.
"""
import json
import os
import sys

import boto3


def base(sbdir):
    os.environ["AWS_CONFIG_FILE"] = os.path.join(sbdir, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(sbdir, "credentials")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(k, None)
    return boto3.session.Session(profile_name="base")


def account_session(world, sess, account):
    role = f"arn:aws:iam::{account}:role/{world['fleet']['role']}"
    c = sess.client("sts", endpoint_url=world["endpoint"]).assume_role(
        RoleArn=role, RoleSessionName="kumo-fleet-check")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name=world["region"])


def main(sbdir, cmd, *args):
    with open(os.path.join(sbdir, "world.json")) as f:
        world = json.load(f)
    ep = world["endpoint"]
    sess = base(sbdir)
    by_id = {a["id"]: a for a in world["fleet"]["accounts"]}
    if cmd in ("tag", "untag"):
        acct = by_id[args[0]]
        ec2 = account_session(world, sess, acct["id"]).client("ec2", endpoint_url=ep)
        if cmd == "untag":
            ec2.delete_tags(Resources=[acct["vpc_id"]], Tags=[{"Key": args[1]}])
        else:
            ec2.create_tags(Resources=[acct["vpc_id"]], Tags=[{"Key": args[1], "Value": args[2]}])
        print(json.dumps({"ok": True}))
        return
    if cmd == "inspect-rds":
        out = {}
        for a in world["rds_fleet"]["accounts"]:
            rds = account_session(world, sess, a["id"]).client("rds", endpoint_url=ep)
            out[a["name"]] = {
                "proxies": sorted(p["DBProxyName"] for p in rds.describe_db_proxies()["DBProxies"]),
                "endpoints": sorted(e["DBProxyEndpointName"]
                                    for e in rds.describe_db_proxy_endpoints()["DBProxyEndpoints"]
                                    if e.get("IsDefault") is not True)}
        print(json.dumps(out))
        return
    out = {"accounts": {}}
    for a in world["fleet"]["accounts"]:
        ram = account_session(world, sess, a["id"]).client("ram", endpoint_url=ep)
        n = 0
        for page in ram.get_paginator("get_resource_shares").paginate(resourceOwner="SELF"):
            for s in page["resourceShares"]:
                tags = {t["key"]: t["value"] for t in s.get("tags", [])}
                if s["status"] in ("ACTIVE", "PENDING") and tags.get("kumo:pair") == a["name"]:
                    n += 1
        out["accounts"][a["name"]] = {"shares": n}
    rds = boto3.session.Session(profile_name="rds").client("rds", endpoint_url=ep)
    out["proxies"] = sorted(p["DBProxyName"] for p in rds.describe_db_proxies()["DBProxies"])
    out["endpoints"] = sorted(e["DBProxyEndpointName"] for e in rds.describe_db_proxy_endpoints()["DBProxyEndpoints"]
                              if e.get("IsDefault") is not True)
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
