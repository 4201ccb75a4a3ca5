"""Where moto differs from AWS, the sandbox follows AWS's API reference (the
sentence each rule follows is quoted where the sandbox implements it). Every
test here fails against stock moto 5.2: security-group rules (revoke without
the description, by rule id, atomic requests, DescribeSecurityGroupRules),
DependencyViolation for referenced groups, RAM clientToken, Secrets Manager
ClientRequestToken, the target group's settings, moto's unsigned API, and the
random and lost-answer faults."""
import json
import unittest
import urllib.error
import urllib.request
import uuid

import botocore

import util

SB = None
APP, RDS = "111111111111", "222222222222"


def setUpModule():
    global SB
    SB = util.Sandbox(fault_seed=7).start()


def tearDownModule():
    SB.stop()


def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return "OK"


def message(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Message"]
    return "OK"


def pg(port, group, description=None, owner=None):
    pair = {"GroupId": group}
    if description is not None:
        pair["Description"] = description
    if owner:
        pair["UserId"] = owner
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [pair]}


def cidr(port, block, description=None):
    r = {"CidrIp": block}
    if description is not None:
        r["Description"] = description
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [r]}


class SecurityGroupRules(unittest.TestCase):
    def setUp(self):
        self.ec2 = SB.client("ec2", "rds")
        vpc = SB.world["rds"]["vpc_id"]
        n = uuid.uuid4().hex[:6]
        self.a = self.ec2.create_security_group(GroupName=f"a-{n}", Description="x", VpcId=vpc)["GroupId"]
        self.b = self.ec2.create_security_group(GroupName=f"b-{n}", Description="x", VpcId=vpc)["GroupId"]

    def ingress(self, group=None):
        rules = self.ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group or self.a]}])["SecurityGroupRules"]
        return {r["SecurityGroupRuleId"]: r for r in rules if not r["IsEgress"]}

    def test_revoke_without_the_description(self):
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[
            pg(5432, self.b, "from the proxy"), cidr(22, "10.0.0.0/8", "ssh")])
        self.assertEqual(len(self.ingress()), 2)
        self.ec2.revoke_security_group_ingress(GroupId=self.a, IpPermissions=[pg(5432, self.b)])
        self.ec2.revoke_security_group_ingress(GroupId=self.a, IpPermissions=[cidr(22, "10.0.0.0/8")])
        self.assertEqual(self.ingress(), {})
        # a different description still names the same rule
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[pg(5432, self.b, "one")])
        self.ec2.revoke_security_group_ingress(GroupId=self.a, IpPermissions=[pg(5432, self.b, "another")])
        self.assertEqual(self.ingress(), {})

    def test_same_rule_with_another_description_is_a_duplicate(self):
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[pg(5432, self.b, "one")])
        self.assertEqual(err(lambda: self.ec2.authorize_security_group_ingress(
            GroupId=self.a, IpPermissions=[pg(5432, self.b, "two")])), "InvalidPermission.Duplicate")
        self.assertEqual([r["Description"] for r in self.ingress().values()], ["one"])

    def test_rule_ids_agree_between_authorize_describe_and_revoke(self):
        out = self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[
            pg(5432, self.b, "db"), cidr(22, "10.1.0.0/16")])
        added = {r["SecurityGroupRuleId"]: r for r in out["SecurityGroupRules"]}
        self.assertEqual(len(added), 2)  # moto: only the last permission's rules
        seen = self.ingress()
        self.assertEqual(set(seen), set(added))
        ref = [r for r in seen.values() if "ReferencedGroupInfo" in r][0]
        self.assertEqual((ref["ReferencedGroupInfo"]["GroupId"], ref["Description"], ref["GroupOwnerId"]),
                         (self.b, "db", RDS))
        by_id = self.ec2.describe_security_group_rules(SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])
        self.assertEqual([r["SecurityGroupRuleId"] for r in by_id["SecurityGroupRules"]], [ref["SecurityGroupRuleId"]])
        gone = self.ec2.revoke_security_group_ingress(GroupId=self.a, SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])
        self.assertEqual([r["SecurityGroupRuleId"] for r in gone["RevokedSecurityGroupRules"]],
                         [ref["SecurityGroupRuleId"]])
        self.assertEqual(set(self.ingress()), set(added) - {ref["SecurityGroupRuleId"]})
        self.assertEqual(err(lambda: self.ec2.describe_security_group_rules(
            SecurityGroupRuleIds=[ref["SecurityGroupRuleId"]])), "InvalidSecurityGroupRuleId.NotFound")

    def test_egress_by_rule_id(self):
        out = self.ec2.authorize_security_group_egress(GroupId=self.a, IpPermissions=[pg(5432, self.b)])
        rid = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        self.ec2.revoke_security_group_egress(GroupId=self.a, SecurityGroupRuleIds=[rid])
        rules = self.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [self.a]}])
        self.assertNotIn(rid, [r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"]])

    def test_a_request_succeeds_or_fails_whole(self):
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[cidr(22, "10.2.0.0/16")])
        # authorize: the second permission is a duplicate, so the first is not added either
        self.assertEqual(err(lambda: self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[
            pg(5432, self.b), cidr(22, "10.2.0.0/16")])), "InvalidPermission.Duplicate")
        self.assertEqual(len(self.ingress()), 1)
        # revoke: EC2 API reference: "an InvalidPermission.NotFound client error is
        # returned, and no rules are revoked"
        self.assertEqual(err(lambda: self.ec2.revoke_security_group_ingress(GroupId=self.a, IpPermissions=[
            cidr(22, "10.2.0.0/16"), cidr(23, "10.2.0.0/16")])), "InvalidPermission.NotFound")
        self.assertEqual(len(self.ingress()), 1)

    def test_a_referenced_group_cannot_be_deleted(self):
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[pg(5432, self.b)])
        self.assertEqual(err(lambda: self.ec2.delete_security_group(GroupId=self.b)), "DependencyViolation")
        self.assertIn(self.a, message(lambda: self.ec2.delete_security_group(GroupId=self.b)))
        # a group's rule that names the group itself doesn't keep it alive
        self.ec2.authorize_security_group_ingress(GroupId=self.a, IpPermissions=[pg(1, self.a)])
        self.ec2.delete_security_group(GroupId=self.a)
        self.ec2.delete_security_group(GroupId=self.b)  # no longer referenced
        self.assertEqual(err(lambda: self.ec2.describe_security_groups(GroupIds=[self.b])), "InvalidGroup.NotFound")


class CrossAccountReferences(unittest.TestCase):
    def test_the_rds_accounts_group_referenced_from_the_app_vpc(self):
        w = SB.world
        SB.client("ram", "app").create_resource_share(
            name="xref", principals=[RDS], resourceArns=[s["arn"] for s in w["app"]["subnets"][:2]])
        ec2r, ec2a = SB.client("ec2", "rds"), SB.client("ec2", "app")
        ep = ec2r.create_security_group(GroupName="xref-ep", Description="x", VpcId=w["app"]["vpc_id"])["GroupId"]
        client = ec2a.create_security_group(GroupName="xref-cl", Description="x",
                                            VpcId=w["app"]["vpc_id"])["GroupId"]
        ec2a.authorize_security_group_egress(GroupId=client, IpPermissions=[pg(5432, ep, "to the proxy", RDS)])
        self.assertEqual(err(lambda: ec2r.delete_security_group(GroupId=ep)), "DependencyViolation")
        ec2a.revoke_security_group_egress(GroupId=client, IpPermissions=[pg(5432, ep, owner=RDS)])
        ec2r.delete_security_group(GroupId=ep)
        self.assertEqual(err(lambda: ec2r.describe_security_groups(GroupIds=[ep])), "InvalidGroup.NotFound")


class ClientTokens(unittest.TestCase):
    def test_create_resource_share_once_per_token(self):
        ram = SB.client("ram", "app")
        token = str(uuid.uuid4())
        first = ram.create_resource_share(name="tok", principals=[RDS], clientToken=token)
        again = ram.create_resource_share(name="tok", principals=[RDS], clientToken=token)
        self.assertEqual(again["resourceShare"]["resourceShareArn"], first["resourceShare"]["resourceShareArn"])
        self.assertEqual(again["clientToken"], token)
        self.assertEqual(len(ram.get_resource_shares(resourceOwner="SELF", name="tok")["resourceShares"]), 1)
        self.assertEqual(err(lambda: ram.create_resource_share(name="tok2", principals=[RDS], clientToken=token)),
                         "IdempotentParameterMismatchException")
        self.assertEqual(ram.get_resource_shares(resourceOwner="SELF", name="tok2")["resourceShares"], [])
        # another token: another share
        ram.create_resource_share(name="tok", principals=[RDS], clientToken=str(uuid.uuid4()))
        self.assertEqual(len(ram.get_resource_shares(resourceOwner="SELF", name="tok")["resourceShares"]), 2)

    def test_associate_disassociate_delete_with_tokens(self):
        ram = SB.client("ram", "app")
        subnets = [s["arn"] for s in SB.world["app"]["subnets"]]
        arn = ram.create_resource_share(name="tok-assoc", principals=[RDS],
                                        resourceArns=subnets[:1])["resourceShare"]["resourceShareArn"]
        t = str(uuid.uuid4())
        ram.associate_resource_share(resourceShareArn=arn, resourceArns=subnets[1:2], clientToken=t)
        ram.associate_resource_share(resourceShareArn=arn, resourceArns=subnets[1:2], clientToken=t)
        self.assertEqual(err(lambda: ram.associate_resource_share(resourceShareArn=arn, resourceArns=subnets[2:3],
                                                                  clientToken=t)),
                         "IdempotentParameterMismatchException")
        listed = ram.list_resources(resourceOwner="SELF", resourceShareArns=[arn])["resources"]
        self.assertEqual(sorted(r["arn"] for r in listed), sorted(subnets[:2]))
        d = str(uuid.uuid4())
        ram.disassociate_resource_share(resourceShareArn=arn, resourceArns=subnets[1:2], clientToken=d)
        ram.disassociate_resource_share(resourceShareArn=arn, resourceArns=subnets[1:2], clientToken=d)
        listed = ram.list_resources(resourceOwner="SELF", resourceShareArns=[arn])["resources"]
        self.assertEqual([r["arn"] for r in listed], subnets[:1])
        x = str(uuid.uuid4())
        self.assertTrue(ram.delete_resource_share(resourceShareArn=arn, clientToken=x)["returnValue"])
        self.assertEqual(ram.delete_resource_share(resourceShareArn=arn, clientToken=x)["clientToken"], x)
        self.assertEqual(ram.get_resource_shares(resourceOwner="SELF", resourceShareArns=[arn])
                         ["resourceShares"][0]["status"], "DELETED")

    def test_create_secret_with_a_client_request_token(self):
        sm = SB.client("secretsmanager", "rds")
        token = str(uuid.uuid4())
        first = sm.create_secret(Name="tok/secret", SecretString="v1", ClientRequestToken=token)
        again = sm.create_secret(Name="tok/secret", SecretString="v1", ClientRequestToken=token)
        self.assertEqual((again["ARN"], again["VersionId"]), (first["ARN"], token))
        self.assertEqual(err(lambda: sm.create_secret(Name="tok/secret", SecretString="v2",
                                                      ClientRequestToken=token)), "ResourceExistsException")
        self.assertEqual(err(lambda: sm.create_secret(Name="tok/secret", SecretString="v1",
                                                      ClientRequestToken=str(uuid.uuid4()))),
                         "ResourceExistsException")
        self.assertEqual(sm.get_secret_value(SecretId="tok/secret")["SecretString"], "v1")
        sm.delete_secret(SecretId="tok/secret")
        # moto answers the retry with the deleted secret; AWS refuses it
        self.assertEqual(err(lambda: sm.create_secret(Name="tok/secret", SecretString="v1",
                                                      ClientRequestToken=token)), "InvalidRequestException")


class TargetGroupSettings(unittest.TestCase):
    def test_every_setting_is_reported_back(self):
        w = SB.world
        db = w["rds"]["databases"]["mysql"] if "mysql" in w["rds"]["databases"] else \
            [d for d in w["rds"]["databases"].values() if d["engine_family"] == "MYSQL"][0]
        rds, iam, ec2 = SB.client("rds", "rds"), SB.client("iam", "rds"), SB.client("ec2", "rds")
        role = iam.create_role(RoleName="tg-role", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "rds.amazonaws.com"}}]}))["Role"]["Arn"]
        sg = ec2.create_security_group(GroupName="tg-px", Description="x", VpcId=w["rds"]["vpc_id"])["GroupId"]
        rds.create_db_proxy(DBProxyName="tg", EngineFamily="MYSQL", RoleArn=role,
                            VpcSubnetIds=[s["id"] for s in w["rds"]["subnets"]], VpcSecurityGroupIds=[sg],
                            Auth=[{"AuthScheme": "SECRETS", "SecretArn": db["secret_arn"], "IAMAuth": "DISABLED"}])
        rds.describe_db_proxies(DBProxyName="tg")  # lifecycle all=0: available
        want = {"MaxConnectionsPercent": 80, "MaxIdleConnectionsPercent": 30, "ConnectionBorrowTimeout": 45,
                "SessionPinningFilters": ["EXCLUDE_VARIABLE_SETS"], "InitQuery": "SET time_zone = '+00:00'"}
        rds.modify_db_proxy_target_group(DBProxyName="tg", TargetGroupName="default", ConnectionPoolConfig=want)

        def pool():
            return rds.describe_db_proxy_target_groups(DBProxyName="tg")["TargetGroups"][0]["ConnectionPoolConfig"]
        self.assertEqual(pool(), want)
        # settings left out keep their values (moto halves MaxIdleConnectionsPercent)
        rds.modify_db_proxy_target_group(DBProxyName="tg", TargetGroupName="default",
                                         ConnectionPoolConfig={"ConnectionBorrowTimeout": 60})
        self.assertEqual(pool(), dict(want, ConnectionBorrowTimeout=60))
        # ConnectionPoolConfiguration.InitQuery: "you can choose to leave it empty"
        rds.modify_db_proxy_target_group(DBProxyName="tg", TargetGroupName="default",
                                         ConnectionPoolConfig={"InitQuery": ""})
        self.assertNotIn("InitQuery", pool())
        self.assertEqual(pool()["MaxIdleConnectionsPercent"], 30)
        # "If you specify MaxIdleConnectionsPercent, then you must also include a value
        # for this parameter [MaxConnectionsPercent]."
        self.assertIn("MaxConnectionsPercent", message(lambda: rds.modify_db_proxy_target_group(
            DBProxyName="tg", TargetGroupName="default", ConnectionPoolConfig={"MaxIdleConnectionsPercent": 10})))
        self.assertEqual(pool()["MaxIdleConnectionsPercent"], 30)


class MotoApi(unittest.TestCase):
    ROUTES = ("/moto-api/", "/moto-api/reset", "/moto-api/seed?a=42", "/moto-api/recorder/start-recording",
              "/moto-api/state-manager/get-transition?model_name=rds::dbproxy", "/moto-api/data.json")

    def get(self, sb, path, method="GET"):
        req = urllib.request.Request(sb.endpoint + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_refused_by_default(self):
        for path in self.ROUTES:
            for method in ("GET", "POST"):
                status, body = self.get(SB, path, method)
                self.assertEqual(status, 403, path)
                self.assertIn("--allow-moto-api", body, path)
        # nothing was reset: the seeded world is still there
        self.assertTrue(SB.client("rds", "rds").describe_db_instances()["DBInstances"])

    def test_served_with_the_flag_except_reset_auth(self):
        with util.Sandbox(allow_moto_api=True) as sb:
            status, body = self.get(sb, "/moto-api/state-manager/get-transition?model_name=rds::dbproxy")
            self.assertEqual(status, 200)
            self.assertIn("progression", body)
            status, body = self.get(sb, "/moto-api/reset-auth", "POST")
            self.assertEqual(status, 403)


class ErrorTexts(unittest.TestCase):
    """EC2 names one id in plain text; moto writes Python reprs ({'vpc-1'}, {'CidrIp': ...})."""
    REPR = ("{'", "['", "'}", "']", "None")

    def test_no_python_reprs(self):
        ec2, rds = SB.client("ec2", "rds"), SB.client("rds", "rds")
        sg = SB.world["rds"]["db_security_group_id"]
        cases = [
            (lambda: ec2.describe_vpcs(VpcIds=["vpc-0aa", "vpc-0bb"]), "The vpc ID 'vpc-0aa' does not exist"),
            (lambda: ec2.describe_security_groups(GroupIds=["sg-0bb", "sg-0aa"]),
             "The security group 'sg-0aa' does not exist"),
            (lambda: ec2.create_security_group(GroupName="x", Description="x", VpcId="vpc-0cc"),
             "The vpc ID 'vpc-0cc' does not exist"),
            (lambda: ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[cidr(1, "10.0.0.0/33")]),
             "Value (10.0.0.0/33) for parameter cidrIp is invalid. This is not a valid CIDR block."),
            # moto: HTML 500 for a filter it lacks
            (lambda: ec2.describe_security_groups(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]), None),
            (lambda: ec2.describe_subnets(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]), None),
            (lambda: ec2.describe_security_group_rules(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]),
             None),
            (lambda: rds.create_db_proxy_endpoint(DBProxyName="none", DBProxyEndpointName="Bad--name",
                                                  VpcSubnetIds=["subnet-1"]), None),
        ]
        for fn, want in cases:
            text = message(fn)
            self.assertNotEqual(text, "OK")
            for r in self.REPR:
                self.assertNotIn(r, text)
            if want:
                self.assertEqual(text, want)
            elif "filter" in text:
                self.assertTrue(text.startswith("The filter 'no-such-filter' is invalid"), text)


class RandomFaults(unittest.TestCase):
    def tearDown(self):
        SB.control("DELETE", "/_kumo/faults")

    def pattern(self, sts, n=60):
        out = []
        for _ in range(n):
            try:
                sts.get_caller_identity()
                out.append(".")
            except botocore.exceptions.ClientError as e:
                out.append({"Throttling": "T", "ServiceUnavailable": "U"}[e.response["Error"]["Code"]])
            except botocore.exceptions.ConnectionClosedError:
                out.append("D")
        return "".join(out)

    def test_seed_from_the_command_line(self):
        self.assertEqual(SB.control("GET", "/_kumo/faults")["seed"], 7)

    def test_stacked_rates_are_reproducible_and_counted_by_kind(self):
        sts = SB.client("sts", "base")
        sts.get_caller_identity()
        rules = [{"op": "GetCallerIdentity", "kind": "throttle", "rate": 0.25},
                 {"op": "GetCallerIdentity", "kind": "503", "rate": 0.10},
                 {"op": "GetCallerIdentity", "kind": "drop", "rate": 0.05}]
        SB.set_faults(rules, seed=42)
        SB.reset_stats()
        one = self.pattern(sts)
        counted = SB.stats()["faults"]
        SB.set_faults(rules, seed=42)
        two = self.pattern(sts)
        SB.set_faults(rules, seed=43)
        three = self.pattern(sts)
        self.assertEqual(one, two)
        self.assertNotEqual(one, three)
        self.assertTrue(set("TU.") <= set(one + three), one + three)
        self.assertEqual({k: v for k, v in counted.items() if v},
                         {k: n for k, n in (("throttle", one.count("T")), ("503", one.count("U")),
                                            ("drop", one.count("D"))) if n})
        snap = SB.control("GET", "/_kumo/faults")
        self.assertEqual((snap["seed"], snap["rules"][0]["times"], snap["rules"][0]["rate"]), (43, -1, 0.25))

    def test_first_hit_wins_in_order(self):
        sts = SB.client("sts", "base")
        SB.set_faults([{"op": "*", "kind": "throttle", "rate": 1}, {"op": "*", "kind": "503", "rate": 1}])
        self.assertEqual(self.pattern(sts, 5), "TTTTT")
        rules = SB.control("GET", "/_kumo/faults")["rules"]
        self.assertEqual([r["fired"] for r in rules], [5, 0])

    def test_rate_share_over_many_calls(self):
        sts = SB.client("sts", "base")
        SB.control("POST", "/_kumo/faults", "GetCallerIdentity:throttle:25%")
        got = self.pattern(sts, 200).count("T")
        self.assertTrue(25 <= got <= 75, got)  # 50 expected; far outside means the rate is not applied

    def test_bad_rates_are_named(self):
        for body in ({"rules": [{"op": "*", "kind": "throttle", "rate": 1.5}]},
                     {"rules": [{"op": "*", "kind": "throttle", "rate": 0}]}, "*:throttle:150%"):
            with self.assertRaises(urllib.error.HTTPError) as cm:
                SB.control("POST", "/_kumo/faults", body)
            self.assertEqual(cm.exception.code, 400)
            self.assertIn("rate must be in (0, 1]", cm.exception.read().decode())
        with self.assertRaises(urllib.error.HTTPError) as cm:
            SB.control("POST", "/_kumo/faults", {"rules": [], "seed": "abc"})
        self.assertIn("seed must be an integer", cm.exception.read().decode())

    def test_lose_acts_then_drops_the_answer(self):
        ec2 = SB.client("ec2", "rds")
        ec2.describe_vpcs()
        SB.control("POST", "/_kumo/faults", "CreateSecurityGroup:lose:1")
        with self.assertRaises(botocore.exceptions.ConnectionClosedError):
            ec2.create_security_group(GroupName="lost", Description="x", VpcId=SB.world["rds"]["vpc_id"])
        found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["lost"]}])
        self.assertEqual(len(found["SecurityGroups"]), 1)  # the call was carried out
        # a retry now meets the group the lost call made
        self.assertEqual(err(lambda: ec2.create_security_group(GroupName="lost", Description="x",
                                                               VpcId=SB.world["rds"]["vpc_id"])),
                         "InvalidGroup.Duplicate")
        self.assertGreaterEqual(SB.stats()["faults"].get("lose", 0), 1)


if __name__ == "__main__":
    unittest.main()
