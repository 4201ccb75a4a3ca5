"""RDS extensions: proxy endpoints (create, describe, modify, delete, errors
as the model names them), status lifecycles (polls, seconds, changed at run
time), deletions that take time, DB instance lifecycle, target health."""
import json
import time
import unittest

import botocore

import util

SB = None


def setUpModule():
    global SB
    SB = util.Sandbox(lifecycle="proxy=2,endpoint=2,target=2,db=2").start()


def tearDownModule():
    SB.stop()


def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "OK"


class Env:
    """A proxy for the seeded PostgreSQL DB, with a correct role, secret and SGs."""
    n = 0

    def __init__(self, key="postgres", sg_rule=True, role_policy=True):
        Env.n += 1
        w = SB.world
        self.w = w
        self.db = w["rds"]["databases"][key]
        self.rds, self.ec2, self.iam = SB.client("rds", "rds"), SB.client("ec2", "rds"), SB.client("iam", "rds")
        self.name = f"t{Env.n}"
        self.proxy_sg = self.ec2.create_security_group(GroupName=f"{self.name}-px", Description="px",
                                                       VpcId=w["rds"]["vpc_id"])["GroupId"]
        self.rule = {"IpProtocol": "tcp", "FromPort": self.db["port"], "ToPort": self.db["port"],
                     "UserIdGroupPairs": [{"GroupId": self.proxy_sg}]}
        if sg_rule:
            self.ec2.authorize_security_group_ingress(GroupId=w["rds"]["db_security_group_id"],
                                                      IpPermissions=[self.rule])
        self.role = self.iam.create_role(RoleName=f"{self.name}-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "rds.amazonaws.com"}}]}))["Role"]["Arn"]
        if role_policy:
            self.allow_secret()

    def allow_secret(self):
        self.iam.put_role_policy(RoleName=f"{self.name}-role", PolicyName="s", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": self.db["secret_arn"]}]}))

    def proxy(self, wait=True, **kw):
        args = dict(DBProxyName=f"{self.name}-proxy", EngineFamily=self.db["engine_family"], RoleArn=self.role,
                    VpcSubnetIds=[s["id"] for s in self.w["rds"]["subnets"]], VpcSecurityGroupIds=[self.proxy_sg],
                    Auth=[{"AuthScheme": "SECRETS", "SecretArn": self.db["secret_arn"], "IAMAuth": "DISABLED"}])
        args.update(kw)
        p = self.rds.create_db_proxy(**args)["DBProxy"]
        if wait:
            for _ in range(5):
                if self.rds.describe_db_proxies(DBProxyName=p["DBProxyName"])["DBProxies"][0]["Status"] == "available":
                    break
        return p

    def endpoint_sg(self):
        return self.ec2.create_security_group(GroupName=f"{self.name}-ep", Description="ep",
                                              VpcId=self.w["app"]["vpc_id"])["GroupId"]

    def share(self):
        ram = SB.client("ram", "app")
        return ram.create_resource_share(name=f"{self.name}-share", principals=[self.w["accounts"]["rds"]],
                                         resourceArns=[s["arn"] for s in self.w["app"]["subnets"][:2]],
                                         allowExternalPrincipals=False)["resourceShare"]["resourceShareArn"]


class Endpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = Env()
        cls.env.share()
        cls.px = cls.env.proxy()
        cls.sg = cls.env.endpoint_sg()
        cls.subnets = [s["id"] for s in SB.world["app"]["subnets"][:2]]

    def test_create_describe_modify_delete(self):
        rds, name = self.env.rds, "ep-crud"
        ep = rds.create_db_proxy_endpoint(DBProxyName=self.px["DBProxyName"], DBProxyEndpointName=name,
                                          VpcSubnetIds=self.subnets, VpcSecurityGroupIds=[self.sg],
                                          Tags=[{"Key": "k", "Value": "v"}])["DBProxyEndpoint"]
        self.assertEqual((ep["Status"], ep["IsDefault"], ep["TargetRole"], ep["VpcId"]),
                         ("creating", False, "READ_WRITE", SB.world["app"]["vpc_id"]))
        self.assertRegex(ep["Endpoint"], rf"^{name}\.endpoint\.proxy-\w+\.{SB.region}\.rds\.amazonaws\.com$")
        polls = [rds.describe_db_proxy_endpoints(DBProxyEndpointName=name)["DBProxyEndpoints"][0]["Status"]
                 for _ in range(3)]
        self.assertEqual(polls, ["creating", "available", "available"])
        all_eps = rds.describe_db_proxy_endpoints(DBProxyName=self.px["DBProxyName"])["DBProxyEndpoints"]
        self.assertEqual(sorted((e["DBProxyEndpointName"], e["IsDefault"]) for e in all_eps),
                         [("default", True), (name, False)])
        self.assertEqual(rds.list_tags_for_resource(ResourceName=ep["DBProxyEndpointArn"])["TagList"],
                         [{"Key": "k", "Value": "v"}])
        m = rds.modify_db_proxy_endpoint(DBProxyEndpointName=name, NewDBProxyEndpointName="ep-renamed")
        self.assertEqual(m["DBProxyEndpoint"]["Status"], "modifying")
        self.assertTrue(m["DBProxyEndpoint"]["Endpoint"].startswith("ep-renamed.endpoint."))
        self.assertEqual(err(lambda: rds.delete_db_proxy_endpoint(DBProxyEndpointName="ep-renamed")),
                         "InvalidDBProxyEndpointStateFault")
        for _ in range(3):
            rds.describe_db_proxy_endpoints(DBProxyEndpointName="ep-renamed")
        d = rds.delete_db_proxy_endpoint(DBProxyEndpointName="ep-renamed")["DBProxyEndpoint"]
        self.assertEqual(d["Status"], "deleting")
        self.assertEqual(rds.describe_db_proxy_endpoints(DBProxyEndpointName="ep-renamed")["DBProxyEndpoints"][0]
                         ["Status"], "deleting")
        self.assertEqual(err(lambda: rds.describe_db_proxy_endpoints(DBProxyEndpointName="ep-renamed")),
                         "DBProxyEndpointNotFoundFault")

    def test_modeled_errors(self):
        rds, px = self.env.rds, self.px["DBProxyName"]
        rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep-dup", VpcSubnetIds=self.subnets,
                                     VpcSecurityGroupIds=[self.sg])
        cases = [
            (lambda: rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep-dup",
                                                  VpcSubnetIds=self.subnets, VpcSecurityGroupIds=[self.sg]),
             "DBProxyEndpointAlreadyExistsFault"),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName="nope", DBProxyEndpointName="ep-x",
                                                  VpcSubnetIds=self.subnets), "DBProxyNotFoundFault"),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep-x",
                                                  VpcSubnetIds=["subnet-0123456789abcdef0"]), "InvalidSubnet"),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep-x",
                                                  VpcSubnetIds=self.subnets + [SB.world["rds"]["subnets"][0]["id"]]),
             "InvalidSubnet"),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep--bad",
                                                  VpcSubnetIds=self.subnets), "InvalidParameterValue"),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName=px, DBProxyEndpointName="ep-x",
                                                  VpcSubnetIds=self.subnets,
                                                  VpcSecurityGroupIds=[SB.world["app"]["security_group_id"]]),
             "InvalidParameterValue"),  # another account's group
            (lambda: rds.describe_db_proxy_endpoints(DBProxyEndpointName="nope"), "DBProxyEndpointNotFoundFault"),
            (lambda: rds.describe_db_proxy_endpoints(DBProxyName="nope"), "DBProxyNotFoundFault"),
            (lambda: rds.modify_db_proxy_endpoint(DBProxyEndpointName="nope", NewDBProxyEndpointName="x"),
             "DBProxyEndpointNotFoundFault"),
            (lambda: rds.delete_db_proxy_endpoint(DBProxyEndpointName="nope"), "DBProxyEndpointNotFoundFault"),
            (lambda: rds.describe_db_proxies(DBProxyName="nope"), "DBProxyNotFoundFault"),
            (lambda: rds.describe_db_proxy_targets(DBProxyName="nope"), "DBProxyNotFoundFault"),
            (lambda: rds.describe_db_proxy_target_groups(DBProxyName="nope"), "DBProxyNotFoundFault"),
            (lambda: rds.register_db_proxy_targets(DBProxyName=px, DBInstanceIdentifiers=["nope"]),
             "DBInstanceNotFound"),
            (lambda: rds.deregister_db_proxy_targets(DBProxyName=px, DBInstanceIdentifiers=["nope"]),
             "DBProxyTargetNotFoundFault"),
            (lambda: rds.describe_db_proxy_target_groups(DBProxyName=px, TargetGroupName="other"),
             "DBProxyTargetGroupNotFoundFault"),
            (lambda: rds.modify_db_proxy_target_group(DBProxyName=px, TargetGroupName="default",
                                                      ConnectionPoolConfig={"SessionPinningFilters":
                                                                            ["EXCLUDE_VARIABLE_SETS"]}),
             "InvalidParameterValue"),  # PostgreSQL
            (lambda: rds.create_db_proxy(DBProxyName=px, EngineFamily="POSTGRESQL", RoleArn=self.env.role,
                                         VpcSubnetIds=[s["id"] for s in SB.world["rds"]["subnets"]]),
             "DBProxyAlreadyExistsFault"),
            (lambda: rds.create_db_proxy(DBProxyName="one-az", EngineFamily="POSTGRESQL", RoleArn=self.env.role,
                                         VpcSubnetIds=[SB.world["rds"]["subnets"][0]["id"]]), "InvalidSubnet"),
        ]
        for i, (fn, want) in enumerate(cases):
            self.assertEqual((i, err(fn)), (i, want))

    def test_default_security_group_in_a_shared_vpc_never_works(self):
        # without VpcSecurityGroupIds AWS uses the VPC's default group, which belongs to the owner
        rds = self.env.rds
        ep = rds.create_db_proxy_endpoint(DBProxyName=self.px["DBProxyName"], DBProxyEndpointName="ep-nosg",
                                          VpcSubnetIds=self.subnets)["DBProxyEndpoint"]
        self.assertEqual(len(ep["VpcSecurityGroupIds"]), 1)
        polls = [rds.describe_db_proxy_endpoints(DBProxyEndpointName="ep-nosg")["DBProxyEndpoints"][0]["Status"]
                 for _ in range(3)]
        self.assertEqual(polls, ["creating", "incompatible-network", "incompatible-network"])

    def test_names_are_lower_case(self):
        rds = self.env.rds
        rds.create_db_proxy_endpoint(DBProxyName=self.px["DBProxyName"].upper(), DBProxyEndpointName="EP-Upper",
                                     VpcSubnetIds=self.subnets, VpcSecurityGroupIds=[self.sg])
        self.assertEqual(rds.describe_db_proxy_endpoints(DBProxyEndpointName="ep-upper")["DBProxyEndpoints"][0]
                         ["DBProxyEndpointName"], "ep-upper")


class Lifecycles(unittest.TestCase):
    def test_proxy_polls_then_deletion_takes_time(self):
        env = Env()
        rds = env.rds
        p = env.proxy(wait=False)
        name = p["DBProxyName"]
        self.assertEqual(p["Status"], "creating")
        self.assertEqual(err(lambda: rds.create_db_proxy_endpoint(
            DBProxyName=name, DBProxyEndpointName=f"{name}-ep",
            VpcSubnetIds=[s["id"] for s in SB.world["rds"]["subnets"]])), "InvalidDBProxyStateFault")
        self.assertEqual(err(lambda: rds.register_db_proxy_targets(DBProxyName=name,
                                                                   DBInstanceIdentifiers=[env.db["id"]])),
                         "InvalidDBProxyStateFault")
        polls = [rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]["Status"] for _ in range(3)]
        self.assertEqual(polls, ["creating", "available", "available"])
        m = rds.modify_db_proxy(DBProxyName=name, IdleClientTimeout=900)["DBProxy"]
        self.assertEqual((m["Status"], m["IdleClientTimeout"]), ("modifying", 900))
        polls = [rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]["Status"] for _ in range(2)]
        self.assertEqual(polls, ["modifying", "available"])
        self.assertEqual(rds.delete_db_proxy(DBProxyName=name)["DBProxy"]["Status"], "deleting")
        self.assertEqual(err(lambda: rds.delete_db_proxy(DBProxyName=name)), "DBProxyNotFoundFault")
        self.assertEqual(rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]["Status"], "deleting")
        self.assertEqual(err(lambda: rds.describe_db_proxies(DBProxyName=name)), "DBProxyNotFoundFault")

    def test_seconds_and_run_time_changes(self):
        env = Env()
        SB.set_lifecycle({"proxy": "0.6s"})
        try:
            name = env.proxy(wait=False)["DBProxyName"]
            statuses = [env.rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]["Status"] for _ in range(4)]
            self.assertEqual(statuses, ["creating"] * 4)
            time.sleep(0.7)
            self.assertEqual(env.rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]["Status"], "available")
            SB.set_lifecycle({"proxy": 0})
            self.assertEqual(SB.control("GET", "/_kumo/lifecycle")["proxy"], {"progression": "immediate"})
            name2 = env.proxy(wait=False, DBProxyName=f"{env.name}-p2")["DBProxyName"]
            self.assertEqual(env.rds.describe_db_proxies(DBProxyName=name2)["DBProxies"][0]["Status"], "available")
        finally:
            SB.set_lifecycle({"proxy": 2})

    def test_db_instance_lifecycle(self):
        rds = SB.client("rds", "rds")
        db = rds.create_db_instance(DBInstanceIdentifier="scratch-db", Engine="postgres",
                                    DBInstanceClass="db.t3.micro", MasterUsername="u", MasterUserPassword="p" * 12,
                                    AllocatedStorage=20, DBSubnetGroupName=SB.world["rds"]["db_subnet_group"])
        self.assertEqual(db["DBInstance"]["DBInstanceStatus"], "creating")
        polls = [rds.describe_db_instances(DBInstanceIdentifier="scratch-db")["DBInstances"][0]["DBInstanceStatus"]
                 for _ in range(3)]
        self.assertEqual(polls, ["creating", "available", "available"])
        d = rds.delete_db_instance(DBInstanceIdentifier="scratch-db", SkipFinalSnapshot=True)
        self.assertEqual(d["DBInstance"]["DBInstanceStatus"], "deleting")
        self.assertEqual(rds.describe_db_instances(DBInstanceIdentifier="scratch-db")["DBInstances"][0]
                         ["DBInstanceStatus"], "deleting")
        self.assertEqual(err(lambda: rds.describe_db_instances(DBInstanceIdentifier="scratch-db")),
                         "DBInstanceNotFound")
        # and the botocore waiter works against it
        rds.create_db_instance(DBInstanceIdentifier="scratch-db2", Engine="mysql", DBInstanceClass="db.t3.micro",
                               MasterUsername="u", MasterUserPassword="p" * 12, AllocatedStorage=20)
        rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier="scratch-db2",
                                                      WaiterConfig={"Delay": 0, "MaxAttempts": 5})


class TargetHealth(unittest.TestCase):
    def targets(self, env, name, n=3):
        return [env.rds.describe_db_proxy_targets(DBProxyName=name)["Targets"][0]["TargetHealth"] for _ in range(n)]

    def test_registering_then_available_with_endpoint_and_port(self):
        env = Env("mysql")
        name = env.proxy()["DBProxyName"]
        t = env.rds.register_db_proxy_targets(DBProxyName=name, DBInstanceIdentifiers=[env.db["id"]])
        t = t["DBProxyTargets"][0]
        self.assertEqual((t["TargetHealth"]["State"], t["Port"], t["Type"], t["RdsResourceId"]),
                         ("REGISTERING", 3306, "RDS_INSTANCE", env.db["id"]))
        self.assertEqual([h["State"] for h in self.targets(env, name)], ["REGISTERING", "AVAILABLE", "AVAILABLE"])
        self.assertEqual(err(lambda: env.rds.register_db_proxy_targets(DBProxyName=name,
                                                                       DBInstanceIdentifiers=[env.db["id"]])),
                         "DBProxyTargetAlreadyRegisteredFault")

    def test_auth_failure_until_the_role_may_read_the_secret(self):
        env = Env(role_policy=False)
        name = env.proxy()["DBProxyName"]
        env.rds.register_db_proxy_targets(DBProxyName=name, DBInstanceIdentifiers=[env.db["id"]])
        h = self.targets(env, name)[-1]
        self.assertEqual((h["State"], h["Reason"]), ("UNAVAILABLE", "AUTH_FAILURE"))
        self.assertIn("secretsmanager:GetSecretValue", h["Description"])
        env.allow_secret()
        self.assertEqual(self.targets(env, name, 1)[0], {"State": "AVAILABLE"})

    def test_unreachable_until_the_db_security_group_admits_the_proxy(self):
        env = Env(sg_rule=False)
        name = env.proxy()["DBProxyName"]
        env.rds.register_db_proxy_targets(DBProxyName=name, DBInstanceIdentifiers=[env.db["id"]])
        h = self.targets(env, name)[-1]
        self.assertEqual((h["State"], h["Reason"]), ("UNAVAILABLE", "UNREACHABLE"))
        env.ec2.authorize_security_group_ingress(GroupId=SB.world["rds"]["db_security_group_id"],
                                                 IpPermissions=[env.rule])
        self.assertEqual(self.targets(env, name, 1)[0], {"State": "AVAILABLE"})

    def test_wrong_credentials_in_the_secret(self):
        env = Env(role_policy=False)
        sm = SB.client("secretsmanager", "rds")
        arn = sm.create_secret(Name=f"{env.name}-wrong", SecretString=json.dumps(
            {"username": env.db["username"], "password": "not-the-password"}))["ARN"]
        env.iam.put_role_policy(RoleName=f"{env.name}-role", PolicyName="s", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": arn}]}))
        name = env.proxy(Auth=[{"AuthScheme": "SECRETS", "SecretArn": arn}])["DBProxyName"]
        env.rds.register_db_proxy_targets(DBProxyName=name, DBInstanceIdentifiers=[env.db["id"]])
        h = self.targets(env, name)[-1]
        self.assertEqual((h["State"], h["Reason"]), ("UNAVAILABLE", "AUTH_FAILURE"))


class AuroraCluster(unittest.TestCase):
    def test_a_cluster_target_lists_its_instances(self):
        w = SB.world
        rds, ec2 = SB.client("rds", "rds"), SB.client("ec2", "rds")
        pw = "aurora-password-1"
        rds.create_db_cluster(DBClusterIdentifier="aurora1", Engine="aurora-postgresql", MasterUsername="boss",
                              MasterUserPassword=pw, DBSubnetGroupName=w["rds"]["db_subnet_group"],
                              VpcSecurityGroupIds=[w["rds"]["db_security_group_id"]])
        for i in (1, 2):
            rds.create_db_instance(DBInstanceIdentifier=f"aurora1-{i}", DBClusterIdentifier="aurora1",
                                   Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
            rds.get_waiter("db_instance_available").wait(DBInstanceIdentifier=f"aurora1-{i}",
                                                          WaiterConfig={"Delay": 0, "MaxAttempts": 5})
        env = Env()
        sm = SB.client("secretsmanager", "rds")
        arn = sm.create_secret(Name="aurora1-creds", SecretString=json.dumps({"username": "boss", "password": pw}))
        env.iam.put_role_policy(RoleName=f"{env.name}-role", PolicyName="a", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": arn["ARN"]}]}))
        name = env.proxy(Auth=[{"AuthScheme": "SECRETS", "SecretArn": arn["ARN"]}])["DBProxyName"]
        rds.register_db_proxy_targets(DBProxyName=name, DBClusterIdentifiers=["aurora1"])
        for _ in range(3):
            targets = rds.describe_db_proxy_targets(DBProxyName=name)["Targets"]
        kinds = sorted((t["Type"], t["RdsResourceId"], t.get("TargetHealth", {}).get("State"), t.get("Role"))
                       for t in targets)
        self.assertNotIn("UNAVAILABLE", str(targets), targets)
        self.assertEqual([k[:3] for k in kinds], [("RDS_INSTANCE", "aurora1-1", "AVAILABLE"),
                                                  ("RDS_INSTANCE", "aurora1-2", "AVAILABLE"),
                                                  ("TRACKED_CLUSTER", "aurora1", None)])
        self.assertEqual(sorted(k[3] for k in kinds[:2]), ["READ_ONLY", "READ_WRITE"])
        rds.deregister_db_proxy_targets(DBProxyName=name, DBClusterIdentifiers=["aurora1"])
        self.assertEqual(rds.describe_db_proxy_targets(DBProxyName=name)["Targets"], [])
