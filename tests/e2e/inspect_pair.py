"""Independent inspection of one workflow pair in a kumo sandbox, with boto3.

    python3 tests/e2e/inspect_pair.py SANDBOX_DIR PAIR [SECRET_NAME]

Uses the sandbox's config and credentials files (profiles app and rds) and
prints one JSON object: how many of each resource the workflow makes exist
for PAIR (found by their deterministic names, shares by name and tag), the
names of every share and proxy tagged kumo:pair=PAIR (tagged_shares,
tagged_proxies: a renamed one is found too), and
the DB security group's ingress rules as sorted strings. The workflow specs
compare these counts with 1 after apply and 0 after destroy, and the DB SG
rules with their state before apply.
"""
import json
import os
import sys

import boto3


def session(sbdir, profile):
    os.environ["AWS_CONFIG_FILE"] = os.path.join(sbdir, "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(sbdir, "credentials")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        os.environ.pop(k, None)
    # the chaos specs inspect while the sandbox still throttles half the
    # calls: the independent reader must get through (0.5^30), its own
    # AssumeRole included
    os.environ["AWS_MAX_ATTEMPTS"] = "30"
    os.environ["AWS_RETRY_MODE"] = "standard"
    return boto3.session.Session(profile_name=profile)


def rules(group):
    out = []
    for p in group.get("IpPermissions", []):
        port = "%s-%s" % (p.get("FromPort"), p.get("ToPort"))
        for g in p.get("UserIdGroupPairs", []):
            out.append("%s/%s from %s" % (p["IpProtocol"], port, g["GroupId"]))
        for r in p.get("IpRanges", []):
            out.append("%s/%s from %s" % (p["IpProtocol"], port, r["CidrIp"]))
        for r in p.get("Ipv6Ranges", []):
            out.append("%s/%s from %s" % (p["IpProtocol"], port, r["CidrIpv6"]))
    return sorted(out)


def main(sbdir, pair, secret_name=None):
    with open(os.path.join(sbdir, "world.json")) as f:
        world = json.load(f)
    endpoint = world["endpoint"]
    app = session(sbdir, "app")
    rds = session(sbdir, "rds")
    ram = app.client("ram", endpoint_url=endpoint)
    rds_ec2 = rds.client("ec2", endpoint_url=endpoint)
    rds_rds = rds.client("rds", endpoint_url=endpoint)
    iam = rds.client("iam", endpoint_url=endpoint)
    sm = rds.client("secretsmanager", endpoint_url=endpoint)
    out = {}

    shares = []
    for page in ram.get_paginator("get_resource_shares").paginate(resourceOwner="SELF", name=pair + "-subnets"):
        for s in page["resourceShares"]:
            tags = {t["key"]: t["value"] for t in s.get("tags", [])}
            if s["status"] in ("ACTIVE", "PENDING") and tags.get("kumo:pair") == pair:
                shares.append(s["resourceShareArn"])
    out["share"] = len(shares)
    out["share_arns"] = sorted(shares)

    # every share and proxy carrying the pair's tag, whatever its name (renames)
    tagged = []
    for page in ram.get_paginator("get_resource_shares").paginate(
            resourceOwner="SELF", tagFilters=[{"tagKey": "kumo:pair", "tagValues": [pair]}]):
        tagged += [s["name"] for s in page["resourceShares"] if s["status"] in ("ACTIVE", "PENDING")]
    out["tagged_shares"] = sorted(tagged)
    tagged = []
    for p in rds_rds.describe_db_proxies()["DBProxies"]:
        tags = rds_rds.list_tags_for_resource(ResourceName=p["DBProxyArn"])["TagList"]
        if {"Key": "kumo:pair", "Value": pair} in tags:
            tagged.append(p["DBProxyName"])
    out["tagged_proxies"] = sorted(tagged)

    try:
        out["proxy"] = len(rds_rds.describe_db_proxies(DBProxyName=pair + "-proxy")["DBProxies"])
    except rds_rds.exceptions.DBProxyNotFoundFault:
        out["proxy"] = 0
    try:
        eps = rds_rds.describe_db_proxy_endpoints(DBProxyEndpointName=pair + "-app")["DBProxyEndpoints"]
        out["endpoint"] = len(eps)
    except (rds_rds.exceptions.DBProxyEndpointNotFoundFault, rds_rds.exceptions.DBProxyNotFoundFault):
        out["endpoint"] = 0

    for key, name in (("proxy_sg", "kumo-%s-proxy" % pair), ("endpoint_sg", "kumo-%s-endpoint" % pair)):
        groups = rds_ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]
        out[key] = len(groups)
        if key == "endpoint_sg":
            out["endpoint_sg_rules"] = sorted(r for g in groups for r in rules(g))

    try:
        iam.get_role(RoleName="kumo-%s-proxy-secret" % pair)
        out["role"] = 1
    except iam.exceptions.NoSuchEntityException:
        out["role"] = 0

    if secret_name:
        try:
            d = sm.describe_secret(SecretId=secret_name)
            out["secret"] = 0 if d.get("DeletedDate") else 1
        except sm.exceptions.ResourceNotFoundException:
            out["secret"] = 0

    db_sg = world["rds"]["db_security_group_id"]
    group = rds_ec2.describe_security_groups(GroupIds=[db_sg])["SecurityGroups"][0]
    out["db_sg_rules"] = rules(group)
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
