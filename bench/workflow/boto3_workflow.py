"""The flagship workflow as a minimal, sequential boto3 script: the peer kumo's
apply and destroy are measured against (calls made, wall time).

It does what a careful engineer would write by hand for the sandbox's pairs
(world.json, one pair per seeded database), with no plan, no journal and no
verification beyond the waits the procedure needs:

  apply:   RAM share (+ wait ACTIVE/ASSOCIATED), IAM role + inline policy,
           proxy SG, DB SG rule, CreateDBProxy (+ wait available),
           RegisterDBProxyTargets (+ wait AVAILABLE), endpoint SG + rule,
           CreateDBProxyEndpoint (+ wait available)
  destroy: the same in reverse, waiting where AWS deletes asynchronously.

Usage: python3 boto3_workflow.py WORLD_JSON apply|destroy [DELAY_S]
Credentials and endpoint come from the sandbox's env.sh (profiles app, rds).
Prints nothing on success; exits 1 with the error otherwise.
"""
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError

world = json.load(open(sys.argv[1]))
action = sys.argv[2]
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
region = world["region"]
app = boto3.Session(profile_name="app", region_name=region)
rds_s = boto3.Session(profile_name="rds", region_name=region)
ram = app.client("ram")
ec2, iam, rds = rds_s.client("ec2"), rds_s.client("iam"), rds_s.client("rds")
RDS_ACCOUNT = world["accounts"]["rds"]
APP_ACCOUNT = world["accounts"]["app"]


def poll(fn, done, what):
    for _ in range(600):
        if done(fn()):
            return
        time.sleep(delay)
    raise SystemExit(f"timed out waiting for {what}")


def names(key):
    base = f"bench-{key}"
    return dict(share=f"{base}-share", role=f"{base}-role", proxy=f"{base}-proxy",
                proxy_sg=f"{base}-proxy-sg", endpoint_sg=f"{base}-endpoint-sg", endpoint=f"{base}-app")


def apply_pair(key, db):
    n = names(key)
    subnets = [s["arn"] for s in world["app"]["subnets"][:2]]
    share = ram.create_resource_share(name=n["share"], resourceArns=subnets, principals=[RDS_ACCOUNT],
                                      allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]
    for kind in ("RESOURCE", "PRINCIPAL"):
        poll(lambda: ram.get_resource_share_associations(associationType=kind, resourceShareArns=[share]),
             lambda o: o["resourceShareAssociations"] and all(
                 a["status"] == "ASSOCIATED" for a in o["resourceShareAssociations"]), "share " + kind)
    role = iam.create_role(RoleName=n["role"], AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "rds.amazonaws.com"}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=n["role"], PolicyName="secret", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                "Resource": db["secret_arn"]}]}))
    proxy_sg = ec2.create_security_group(GroupName=n["proxy_sg"], Description="proxy",
                                         VpcId=world["rds"]["vpc_id"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=world["rds"]["db_security_group_id"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": db["port"], "ToPort": db["port"],
         "UserIdGroupPairs": [{"GroupId": proxy_sg}]}])
    rds.create_db_proxy(DBProxyName=n["proxy"], EngineFamily=db["engine_family"], RoleArn=role,
                        VpcSubnetIds=[s["id"] for s in world["rds"]["subnets"]], VpcSecurityGroupIds=[proxy_sg],
                        RequireTLS=True, IdleClientTimeout=1800,
                        Auth=[{"AuthScheme": "SECRETS", "SecretArn": db["secret_arn"], "IAMAuth": "DISABLED"}])
    poll(lambda: rds.describe_db_proxies(DBProxyName=n["proxy"]),
         lambda o: o["DBProxies"][0]["Status"] == "available", "proxy")
    rds.register_db_proxy_targets(DBProxyName=n["proxy"], DBInstanceIdentifiers=[db["id"]])
    poll(lambda: rds.describe_db_proxy_targets(DBProxyName=n["proxy"]),
         lambda o: all(t.get("TargetHealth", {}).get("State") == "AVAILABLE" for t in o["Targets"]), "targets")
    ep_sg = ec2.create_security_group(GroupName=n["endpoint_sg"], Description="endpoint",
                                      VpcId=world["app"]["vpc_id"])["GroupId"]
    port = 5432 if db["engine_family"] == "POSTGRESQL" else 3306
    ec2.authorize_security_group_ingress(GroupId=ep_sg, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
         "UserIdGroupPairs": [{"GroupId": world["app"]["security_group_id"], "UserId": APP_ACCOUNT}]}])
    rds.create_db_proxy_endpoint(DBProxyName=n["proxy"], DBProxyEndpointName=n["endpoint"],
                                 VpcSubnetIds=[s["id"] for s in world["app"]["subnets"][:2]],
                                 VpcSecurityGroupIds=[ep_sg])
    poll(lambda: rds.describe_db_proxy_endpoints(DBProxyEndpointName=n["endpoint"]),
         lambda o: o["DBProxyEndpoints"][0]["Status"] == "available", "endpoint")


def gone(fn, code):
    try:
        fn()
        return False
    except ClientError as e:
        if e.response["Error"]["Code"] == code:
            return True
        raise


def destroy_pair(key, db):
    n = names(key)
    rds.delete_db_proxy_endpoint(DBProxyEndpointName=n["endpoint"])
    poll(lambda: gone(lambda: rds.describe_db_proxy_endpoints(DBProxyEndpointName=n["endpoint"]),
                      "DBProxyEndpointNotFoundFault"), bool, "endpoint deletion")
    ep_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [n["endpoint_sg"]]}])
    ec2.delete_security_group(GroupId=ep_sg["SecurityGroups"][0]["GroupId"])
    rds.delete_db_proxy(DBProxyName=n["proxy"])
    poll(lambda: gone(lambda: rds.describe_db_proxies(DBProxyName=n["proxy"]), "DBProxyNotFoundFault"),
         bool, "proxy deletion")
    proxy_sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [n["proxy_sg"]]}])
    proxy_sg = proxy_sg["SecurityGroups"][0]["GroupId"]
    ec2.revoke_security_group_ingress(GroupId=world["rds"]["db_security_group_id"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": db["port"], "ToPort": db["port"],
         "UserIdGroupPairs": [{"GroupId": proxy_sg}]}])
    ec2.delete_security_group(GroupId=proxy_sg)
    iam.delete_role_policy(RoleName=n["role"], PolicyName="secret")
    iam.delete_role(RoleName=n["role"])
    shares = ram.get_resource_shares(resourceOwner="SELF", name=n["share"])["resourceShares"]
    for s in shares:
        if s["status"] == "ACTIVE":
            ram.delete_resource_share(resourceShareArn=s["resourceShareArn"])


for key, db in world["rds"]["databases"].items():
    (apply_pair if action == "apply" else destroy_pair)(key, db)
