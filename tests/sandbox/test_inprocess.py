"""Checks that need the server's state at hand: the sandbox runs in this
process (still served over real HTTP on a free loopback port)."""
import datetime
import os
import sys
import tempfile
import threading
import unittest

import boto3
import botocore
from botocore.config import Config

import util

sys.path.insert(0, util.SANDBOX_PATH)

SB = None


def setUpModule():
    global SB
    from kumo_sandbox.server import Sandbox
    from kumo_sandbox import lifecycle
    SB = Sandbox(directory=tempfile.mkdtemp(prefix="kumo-sandbox-inproc-"), lifecycles=lifecycle.parse("all=0"))
    SB.listen(0)
    threading.Thread(target=SB.httpd.serve_forever, daemon=True).start()


def tearDownModule():
    SB.httpd.shutdown()
    SB.httpd.server_close()


def session(**kw):
    return boto3.Session(region_name=SB.region, **kw)


class InProcess(unittest.TestCase):
    def test_expired_session_credentials_are_refused(self):
        from moto.sts.models import sts_backends
        key = (SB.world["deployer"]["access_key_id"], SB.secret)
        sts = session(aws_access_key_id=key[0], aws_secret_access_key=key[1]).client(
            "sts", endpoint_url=SB.endpoint, config=Config(retries={"total_max_attempts": 1}))
        role = SB.world["roles"]["rds"]
        c = sts.assume_role(RoleArn=role["arn"], RoleSessionName="expiry", ExternalId=role["external_id"],
                            DurationSeconds=900)["Credentials"]
        rds = session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                      aws_session_token=c["SessionToken"]).client(
            "rds", endpoint_url=SB.endpoint, config=Config(retries={"total_max_attempts": 1}))
        rds.describe_db_proxies()
        for r in sts_backends[SB.world["accounts"]["rds"]]["aws"].assumed_roles:
            if r.access_key_id == c["AccessKeyId"]:
                r.expiration = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
                    datetime.timedelta(seconds=1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.describe_db_proxies()
        self.assertEqual(cm.exception.response["Error"]["Code"], "ExpiredToken")

    def test_reset_rebuilds_the_same_world(self):
        before = dict(SB.world)
        SB.reset()
        self.assertEqual(before["rds"], SB.world["rds"])
        self.assertEqual(before["app"], SB.world["app"])
        self.assertTrue(os.path.exists(os.path.join(SB.directory, "world.json")))
