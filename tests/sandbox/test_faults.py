"""Fault and latency injection (at start and at run time, per operation and
account) against boto3's retry logic, and the request statistics."""
import time
import unittest
import urllib.error

import botocore

import util

SB = None
RDS = "222222222222"


START = {}


def setUpModule():
    global SB
    SB = util.Sandbox(faults=f"DescribeDBProxies@{RDS}:throttle:2").start()
    # the --faults rule, before any test replaces the rules
    START["rules"] = SB.control("GET", "/_kumo/faults")["rules"]
    START["app"] = err(SB.client("rds", "app", retries=1).describe_db_proxies)
    START["once"] = err(SB.client("rds", "rds", retries=1).describe_db_proxies)
    START["retrying"] = err(SB.client("rds", "rds", retries=3).describe_db_proxies)
    START["stats"] = SB.stats()


def tearDownModule():
    SB.stop()


def err(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return f'{e.response["Error"]["Code"]}/{e.response["ResponseMetadata"]["HTTPStatusCode"]}'
    return "OK"


class Faults(unittest.TestCase):
    def setUp(self):
        SB.control("DELETE", "/_kumo/faults")

    def test_start_time_rule_and_retries(self):
        self.assertEqual([(r["op"], r["account"], r["kind"], r["times"]) for r in START["rules"]],
                         [("DescribeDBProxies", RDS, "throttle", 2)])
        self.assertEqual(START["app"], "OK")               # another account
        self.assertEqual(START["once"], "Throttling/400")  # no retry: the first throttle shows
        self.assertEqual(START["retrying"], "OK")          # second throttled, third passes
        ops = START["stats"]["accounts"][RDS]["operations"]["rds:DescribeDBProxies"]
        self.assertEqual((ops["count"], ops["errors"], ops["mutating"]), (3, 2, False))

    def test_throttling_codes_per_service(self):
        SB.set_faults([{"op": op, "kind": "throttle"} for op in
                       ("DescribeVpcs", "GetResourceShares", "ListSecrets", "GetCallerIdentity")])
        self.assertEqual(err(SB.client("ec2", "app").describe_vpcs), "RequestLimitExceeded/503")
        self.assertEqual(err(lambda: SB.client("ram", "app").get_resource_shares(resourceOwner="SELF")),
                         "ThrottlingException/429")
        self.assertEqual(err(SB.client("secretsmanager", "rds").list_secrets), "ThrottlingException/400")
        self.assertEqual(err(SB.client("sts").get_caller_identity), "Throttling/400")

    def test_server_errors_are_retried(self):
        SB.set_faults([{"op": "DescribeSubnets", "kind": "5xx", "times": 2},
                       {"op": "ListSecrets", "kind": "503", "times": 1}])
        self.assertEqual(err(SB.client("ec2", "app", retries=1).describe_subnets), "InternalError/500")
        self.assertEqual(err(SB.client("ec2", "app", retries=2).describe_subnets), "OK")
        self.assertEqual(err(SB.client("secretsmanager", "rds", retries=2).list_secrets), "OK")

    def test_dropped_connection(self):
        SB.set_faults([{"op": "GetCallerIdentity", "kind": "drop", "times": 1}])
        with self.assertRaises(botocore.exceptions.ConnectionClosedError):
            SB.client("sts", "base", retries=1).get_caller_identity()
        SB.set_faults([{"op": "GetCallerIdentity", "kind": "drop", "times": 1}])
        self.assertEqual(err(SB.client("sts", "base", retries=2).get_caller_identity), "OK")

    def test_delays_and_timeouts(self):
        SB.set_faults([{"op": "DescribeDBInstances", "kind": "delay", "delay_ms": 1500, "times": 1}])
        with self.assertRaises(botocore.exceptions.ReadTimeoutError):
            SB.client("rds", "rds", retries=1, read_timeout=0.7).describe_db_instances()
        SB.set_faults([{"op": "DescribeDBInstances", "kind": "delay", "delay_ms": 400, "times": 1}])
        rds = SB.client("rds", "rds")
        rds.describe_db_instances()  # credentials resolved before timing
        SB.set_faults([{"op": "DescribeDBInstances", "kind": "delay", "delay_ms": 400, "times": 1}])
        t0 = time.monotonic()
        rds.describe_db_instances()
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)

    def test_per_account_rules_and_skip(self):
        SB.set_faults([{"op": "DescribeSecurityGroups", "account": "111111111111", "kind": "5xx",
                        "skip": 1, "times": 1}])
        app, rds = SB.client("ec2", "app"), SB.client("ec2", "rds")
        self.assertEqual(err(rds.describe_security_groups), "OK")     # other account: untouched
        self.assertEqual(err(app.describe_security_groups), "OK")     # skipped
        self.assertEqual(err(app.describe_security_groups), "InternalError/500")
        self.assertEqual(err(app.describe_security_groups), "OK")     # spent
        rule = SB.control("GET", "/_kumo/faults")["rules"][0]
        self.assertEqual((rule["seen"], rule["fired"]), (3, 1))

    def test_latency_for_every_call(self):
        sts = SB.client("sts", "base")
        sts.get_caller_identity()
        SB.set_faults([], latency_ms=300)
        t0 = time.monotonic()
        sts.get_caller_identity()
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.assertEqual(SB.control("GET", "/_kumo/faults")["latency_ms"], 300)

    def test_compact_spec_at_run_time_and_bad_specs(self):
        SB.control("POST", "/_kumo/faults", "GetCallerIdentity:throttle:-1")
        for _ in range(3):
            self.assertEqual(err(SB.client("sts", "base").get_caller_identity), "Throttling/400")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            SB.control("POST", "/_kumo/faults", "GetCallerIdentity:sometimes")
        self.assertEqual(cm.exception.code, 400)
        self.assertIn("OP[@ACCOUNT][:KIND[:TIMES|:P%]]", cm.exception.read().decode())


class Stats(unittest.TestCase):
    def setUp(self):
        SB.control("DELETE", "/_kumo/faults")

    def test_mutating_and_read_only_per_account(self):
        ec2 = SB.client("ec2", "rds")
        ec2.describe_vpcs()  # credentials first (AssumeRole counts in the base account, read-only)
        SB.reset_stats()
        ec2.describe_vpcs()
        g = ec2.create_security_group(GroupName="stats", Description="x", VpcId=SB.world["rds"]["vpc_id"])
        ec2.delete_security_group(GroupId=g["GroupId"])
        self.assertEqual(err(lambda: ec2.delete_security_group(GroupId=g["GroupId"])), "InvalidGroup.NotFound/400")
        st = SB.stats()
        self.assertEqual((st["total"], st["mutating"], st["errors"]), (4, 3, 1))
        ops = st["accounts"][RDS]["operations"]
        self.assertEqual(ops["ec2:DescribeVpcs"], {"count": 1, "errors": 0, "mutating": False})
        self.assertEqual(ops["ec2:DeleteSecurityGroup"], {"count": 2, "errors": 1, "mutating": True})
        self.assertEqual(SB.control("DELETE", "/_kumo/stats")["total"], 0)

    def test_assume_role_and_rest_json_names(self):
        SB.reset_stats()
        SB.client("ram", "app").get_resource_shares(resourceOwner="SELF")
        st = SB.stats()
        self.assertEqual(st["mutating"], 0)
        self.assertEqual(st["accounts"]["123456789012"]["operations"]["sts:AssumeRole"]["mutating"], False)
        self.assertIn("ram:GetResourceShares", st["accounts"]["111111111111"]["operations"])


class Concurrency(unittest.TestCase):
    def test_parallel_writes_to_one_group_are_all_kept(self):
        # moto alone can lose rules when calls on one group overlap; AWS doesn't
        import concurrent.futures
        SB.control("DELETE", "/_kumo/faults")
        ec2 = SB.client("ec2", "rds")
        vpc = SB.world["rds"]["vpc_id"]
        target = ec2.create_security_group(GroupName="many", Description="x", VpcId=vpc)["GroupId"]
        sources = [ec2.create_security_group(GroupName=f"src{i}", Description="x", VpcId=vpc)["GroupId"]
                   for i in range(16)]
        clients = [SB.client("ec2", "rds") for _ in range(8)]

        def add(i):
            clients[i % 8].authorize_security_group_ingress(GroupId=target, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                "UserIdGroupPairs": [{"GroupId": sources[i]}]}])
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(add, range(16)))
        perms = ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"][0]["IpPermissions"]
        got = {g["GroupId"] for p in perms for g in p["UserIdGroupPairs"]}
        self.assertEqual(got, set(sources))
