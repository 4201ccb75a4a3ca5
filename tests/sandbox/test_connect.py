"""The proxy listener's IAM token check (proxy_listener.verify_token), against
tokens made by botocore (an independent signer) for principals of the seeded
world: the sandbox runs in this process, without --databases."""
import datetime
import sys
import tempfile
import threading
import unittest
from unittest import mock

import boto3
from botocore.config import Config

import util

sys.path.insert(0, util.SANDBOX_PATH)

SB = None
HOST = "orders-pg-app.endpoint.proxy-abcdefghijkl.ap-northeast-1.rds.amazonaws.com"
PROXY_ARN = "arn:aws:rds:ap-northeast-1:222222222222:db-proxy:prx-0123456789abcdef0"


def setUpModule():
    global SB
    from kumo_sandbox.server import Sandbox
    from kumo_sandbox import lifecycle
    SB = Sandbox(directory=tempfile.mkdtemp(prefix="kumo-sandbox-connect-"), lifecycles=lifecycle.parse("all=0"))
    SB.listen(0)
    threading.Thread(target=SB.httpd.serve_forever, daemon=True).start()


def tearDownModule():
    SB.httpd.shutdown()
    SB.httpd.server_close()


def _deployer():
    return boto3.Session(region_name=SB.region, aws_access_key_id=SB.world["deployer"]["access_key_id"],
                         aws_secret_access_key=SB.secret)


def _role_session(name="rds"):
    role = SB.world["roles"][name]
    sts = _deployer().client("sts", endpoint_url=SB.endpoint, config=Config(retries={"total_max_attempts": 1}))
    c = sts.assume_role(RoleArn=role["arn"], RoleSessionName="connect-test", ExternalId=role["external_id"])["Credentials"]
    return boto3.Session(region_name=SB.region, aws_access_key_id=c["AccessKeyId"],
                         aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def token(session, user="orders_admin", host=HOST, port=5432):
    return session.client("rds", endpoint_url=SB.endpoint).generate_db_auth_token(host, port, user)


def check(tok, user="orders_admin"):
    from kumo_sandbox.proxy_listener import verify_token
    return verify_token(tok, HOST, 5432, user, SB.region, PROXY_ARN, SB.gateway.moto_lock)


class Token(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rds = _role_session("rds")

    def test_a_token_of_an_allowed_identity_passes(self):
        self.assertIsNone(check(token(self.rds)))

    def test_a_token_checked_seconds_after_it_was_made_passes(self):
        made = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=42)
        with mock.patch("botocore.auth.get_current_datetime", return_value=made.replace(tzinfo=None)):
            tok = token(self.rds)
        self.assertIn("X-Amz-Date=" + made.strftime("%Y%m%dT%H%M%SZ"), tok)
        self.assertIsNone(check(tok))

    def test_an_expired_token_is_refused(self):
        made = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        with mock.patch("botocore.auth.get_current_datetime", return_value=made.replace(tzinfo=None)):
            tok = token(self.rds)
        self.assertRegex(check(tok), r"^expired \d+ s ago$")

    def test_a_token_for_another_user_is_refused(self):
        self.assertEqual("made for user 'someone_else', not 'orders_admin'", check(token(self.rds, user="someone_else")))

    def test_a_token_for_another_endpoint_is_refused(self):
        self.assertIn("not for " + HOST + ":5432", check(token(self.rds, host="other.example.com")))
        self.assertIn("not for " + HOST + ":5432", check(token(self.rds, port=3306)))

    def test_an_altered_token_is_refused(self):
        tok = token(self.rds)
        sig = tok[-64:]
        bad = tok[:-64] + ("0" if sig[0] != "0" else "1") + sig[1:]
        self.assertIn("the signature does not match", check(bad))

    def test_a_password_is_no_token(self):
        self.assertIn("not an IAM auth token", check("hunter2"))

    def test_an_identity_without_rds_db_connect_is_refused(self):
        # the deployer may assume the roles and read the organization, nothing else
        problem = check(token(_deployer()))
        self.assertIn("is not allowed rds-db:connect on arn:aws:rds-db:ap-northeast-1:222222222222:dbuser:"
                      "prx-0123456789abcdef0/orders_admin", problem)


if __name__ == "__main__":
    unittest.main()
