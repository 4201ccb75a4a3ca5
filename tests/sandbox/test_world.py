"""The seeded world, the files written for users, the AWS CLI against the
written config, reset, and the `kumo sandbox` command (start, --check, stop)."""
import json
import os
import re
import signal
import stat
import subprocess
import unittest

import util

SB = None
KUMO = os.path.join(util.ROOT, "bin", "kumo")


def setUpModule():
    global SB
    SB = util.Sandbox().start()


def tearDownModule():
    SB.stop()


class World(unittest.TestCase):
    def test_accounts_and_organization(self):
        w = SB.world
        self.assertEqual(w["accounts"], {"base": "123456789012", "app": "111111111111", "rds": "222222222222"})
        ids = {SB.client("organizations", p).describe_organization()["Organization"]["Id"] for p in ("app", "rds")}
        self.assertEqual(ids, {w["organization"]["id"]})
        self.assertEqual(SB.client("organizations", "app").describe_organization()["Organization"]
                         ["MasterAccountId"], w["accounts"]["base"])

    def test_vpcs_overlap_and_subnets_span_two_azs(self):
        w = SB.world
        for side in ("app", "rds"):
            ec2 = SB.client("ec2", side)
            vpc = ec2.describe_vpcs(VpcIds=[w[side]["vpc_id"]])["Vpcs"][0]
            self.assertEqual(vpc["CidrBlock"], "10.0.0.0/16")
            subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [w[side]["vpc_id"]]}])["Subnets"]
            self.assertEqual({s["SubnetId"] for s in subnets}, {s["id"] for s in w[side]["subnets"]})
            self.assertGreaterEqual(len({s["AvailabilityZoneId"] for s in subnets}), 2)
            self.assertFalse(any(s["DefaultForAz"] for s in subnets))
        sg = SB.client("ec2", "app").describe_security_groups(GroupIds=[w["app"]["security_group_id"]])
        self.assertEqual(sg["SecurityGroups"][0]["VpcId"], w["app"]["vpc_id"])

    def test_databases_and_secrets(self):
        w = SB.world
        rds, sm = SB.client("rds", "rds"), SB.client("secretsmanager", "rds")
        engines = {}
        for key, db in w["rds"]["databases"].items():
            d = rds.describe_db_instances(DBInstanceIdentifier=db["id"])["DBInstances"][0]
            self.assertEqual(d["DBInstanceStatus"], "available")
            self.assertEqual(d["DBSubnetGroup"]["VpcId"], w["rds"]["vpc_id"])
            self.assertEqual([g["VpcSecurityGroupId"] for g in d["VpcSecurityGroups"]],
                             [w["rds"]["db_security_group_id"]])
            self.assertEqual(d["Endpoint"]["Port"], db["port"])
            secret = json.loads(sm.get_secret_value(SecretId=db["secret_arn"])["SecretString"])
            self.assertEqual(secret["username"], db["username"])
            self.assertTrue(len(secret["password"]) >= 16)
            engines[key] = (d["Engine"], db["engine_family"])
        self.assertEqual(engines, {"postgres": ("postgres", "POSTGRESQL"), "mysql": ("mysql", "MYSQL")})

    def test_files(self):
        d = SB.dir
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, "credentials")).st_mode), 0o600)
        creds = open(os.path.join(d, "credentials")).read()
        self.assertIn("[base]", creds)
        config = open(os.path.join(d, "config")).read()
        for name in ("app", "rds"):
            role = SB.world["roles"][name]
            block = config.split(f"[profile {name}]")[1].split("[profile")[0]
            for line in (f"role_arn = {role['arn']}", "source_profile = base",
                         f"external_id = {role['external_id']}", f"endpoint_url = {SB.endpoint}"):
                self.assertIn(line, block)
        env = open(os.path.join(d, "env.sh")).read()
        self.assertIn(f"export AWS_ENDPOINT_URL={SB.endpoint}", env)
        self.assertIn(f"export AWS_CONFIG_FILE={d}/config", env)
        self.assertNotIn("AWS_PROFILE", env)
        self.assertNotIn(SB.keys()[1], env + config + json.dumps(SB.world))  # the secret stays in credentials
        self.assertEqual(SB.exports["AWS_ENDPOINT_URL"], SB.endpoint)
        world = json.load(open(os.path.join(d, "world.json")))
        self.assertEqual(world["port"], SB.port)

    def test_workflow_config_is_valid_lua_with_both_engines(self):
        if not os.path.exists(KUMO):
            self.skipTest("bin/kumo is not built")
        path = os.path.join(SB.dir, "workflow.lua")
        out = subprocess.run([KUMO, "-e", f"""
            local c = dofile({json.dumps(path)})
            for _, p in ipairs(c.pairs) do
              print(p.name, p.rds.engine_family, p.app.vpc_id, #p.app.subnet_ids, p.rds.secret_arn,
                    p.app.client_security_group_ids[1], p.endpoint.name, p.app.profile, p.rds.profile)
            end
            print(c.region)"""], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.strip().splitlines()
        w = SB.world
        self.assertEqual(lines[-1], w["region"])
        fam = {}
        for line in lines[:-1]:
            name, family, vpc, n, secret, sg, ep, ap, rp = line.split("\t")
            self.assertEqual((vpc, n, sg, ap, rp), (w["app"]["vpc_id"], "2", w["app"]["security_group_id"],
                                                     "app", "rds"))
            fam[family] = secret
        self.assertEqual(fam, {"POSTGRESQL": w["rds"]["databases"]["postgres"]["secret_arn"],
                               "MYSQL": w["rds"]["databases"]["mysql"]["secret_arn"]})

    def test_aws_cli_against_the_written_config(self):
        env = SB.env()
        env["HOME"] = SB.dir  # a fresh ~/.aws/cli/cache
        for profile, account in (("app", "111111111111"), ("rds", "222222222222"), ("base", "123456789012")):
            out = subprocess.run(["aws", "--profile", profile, "sts", "get-caller-identity", "--output", "json"],
                                 capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(json.loads(out.stdout)["Account"], account)
        out = subprocess.run(["aws", "--profile", "rds", "rds", "describe-db-instances", "--query",
                              "DBInstances[].DBInstanceIdentifier", "--output", "text"],
                             capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(sorted(out.stdout.split()), ["orders-mysql", "orders-pg"])

    def test_reset_restores_the_same_world_and_keeps_sessions(self):
        rds = SB.client("rds", "rds")
        ec2 = SB.client("ec2", "rds")
        ec2.create_security_group(GroupName="scratch", Description="x", VpcId=SB.world["rds"]["vpc_id"])
        rds.describe_db_instances()
        before = json.load(open(os.path.join(SB.dir, "world.json")))
        out = SB.reset()
        self.assertTrue(out["ok"])
        after = json.load(open(os.path.join(SB.dir, "world.json")))
        self.assertEqual(before["app"], after["app"])
        self.assertEqual(before["rds"], after["rds"])
        self.assertEqual(SB.stats()["total"], 0)
        # the same (cached) session credentials still work, the scratch group is gone
        names = [g["GroupName"] for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [SB.world["rds"]["vpc_id"]]}])["SecurityGroups"]]
        self.assertNotIn("scratch", names)
        self.assertIn("orders-db", names)


class Command(unittest.TestCase):
    def test_kumo_sandbox_start_check_stop(self):
        if not os.path.exists(KUMO):
            self.skipTest("bin/kumo is not built")
        d = os.path.join(SB.dir, "cmd")
        env = SB.env()
        env.pop("KUMO_SANDBOX_DIR", None)
        p = subprocess.Popen([KUMO, "sandbox", "--port", "0", "--dir", d, "--lifecycle", "all=0", "--log"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            first = p.stdout.readline()
            m = re.match(r"# kumo sandbox at (http://127\.0\.0\.1:\d+) \(ready in ([\d.]+) s", first)
            self.assertIsNotNone(m, first)
            exports = []
            for line in p.stdout:
                if line.startswith("export "):
                    exports.append(line.split("=")[0][len("export "):])
                if line.startswith("# then"):
                    break
            self.assertEqual(exports[:5], ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION",
                                           "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"])
            chk = subprocess.run([KUMO, "sandbox", "--check", "--dir", d], capture_output=True, text=True,
                                 env=env, timeout=30)
            self.assertEqual(chk.returncode, 0, chk.stderr)
            self.assertIn("healthy at " + m.group(1), chk.stdout)
            import boto3
            import configparser
            cp = configparser.ConfigParser()
            cp.read(os.path.join(d, "credentials"))
            boto3.client("sts", endpoint_url=m.group(1), region_name="ap-northeast-1",
                         aws_access_key_id=cp["base"]["aws_access_key_id"],
                         aws_secret_access_key=cp["base"]["aws_secret_access_key"]).get_caller_identity()
        finally:
            p.send_signal(signal.SIGTERM)
            rc = p.wait(15)
            p.stdout.close()
            log = p.stderr.read()
            p.stderr.close()
        self.assertEqual(rc, 0)
        # --log: one line per call, no secrets
        self.assertRegex(log, r"\d\d:\d\d:\d\d 123456789012 sts:GetCallerIdentity 200 \d+ ms")
        self.assertNotIn(cp["base"]["aws_secret_access_key"], log)
        chk = subprocess.run([KUMO, "sandbox", "--check", "--dir", d], capture_output=True, text=True,
                             env=env, timeout=30)
        self.assertEqual(chk.returncode, 1)
        self.assertIn("not running", chk.stderr)

    def test_bad_options_are_usage_errors(self):
        env = SB.env()
        for args, needle in ((["--faults", "Nope:weird"], "faults:"), (["--lifecycle", "proxy=soon"], "lifecycle:"),
                             (["--latency", "-5"], "--latency")):
            out = subprocess.run(["python3", "-m", "kumo_sandbox", "--dir", os.path.join(SB.dir, "bad")] + args,
                                 capture_output=True, text=True, timeout=30,
                                 env=dict(env, PYTHONPATH=util.SANDBOX_PATH))
            self.assertEqual(out.returncode, 2, out.stderr)
            self.assertIn(needle, out.stderr)

    def test_another_moto_release_is_refused(self):
        # another series, and another patch release of the pinned one
        for version in ("5.3.1", "5.2.2"):
            fake = os.path.join(SB.dir, "fake-moto-" + version)
            os.makedirs(os.path.join(fake, "moto"), exist_ok=True)
            with open(os.path.join(fake, "moto", "__init__.py"), "w") as f:
                f.write(f'__version__ = "{version}"\n')
            out = subprocess.run(["python3", "-m", "kumo_sandbox", "--dir", os.path.join(SB.dir, "fake")],
                                 capture_output=True, text=True, timeout=30,
                                 env=dict(SB.env(), PYTHONPATH=fake + os.pathsep + util.SANDBOX_PATH))
            self.assertEqual(out.returncode, 1, out.stderr)
            self.assertIn(f"moto {version} is installed, but the sandbox is written for moto 5.2.1",
                          out.stderr)

    def test_port_in_use(self):
        out = subprocess.run(["python3", "-m", "kumo_sandbox", "--port", str(SB.port), "--dir",
                              os.path.join(SB.dir, "busy")], capture_output=True, text=True, timeout=60,
                             env=dict(SB.env(), PYTHONPATH=util.SANDBOX_PATH))
        self.assertEqual(out.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{SB.port}", out.stderr)

    def test_loopback_only(self):
        # the listening socket is bound to 127.0.0.1 (0100007F in /proc/net/tcp), not to 0.0.0.0
        port = f"{SB.port:04X}"
        rows = [l.split() for l in open("/proc/net/tcp").read().splitlines()[1:]]
        listening = [r[1] for r in rows if r[1].endswith(":" + port) and r[3] == "0A"]
        self.assertEqual(listening, ["0100007F:" + port])
