"""Signature and IAM checks (always on): good and bad signatures, unknown
keys, missing permissions, AssumeRole trust policies and sts:ExternalId,
session tokens, clock skew, unsigned and malformed requests, moto's two
SigV4 bugs (fixed), keep-alive, and that nothing can switch the checks off."""
import datetime
import hashlib
import http.client
import json
import unittest
import urllib.error
import urllib.request

import boto3
import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import util

SB = None
CFG = Config(retries={"total_max_attempts": 1})


def setUpModule():
    global SB
    SB = util.Sandbox().start()


def tearDownModule():
    SB.stop()


def code(fn):
    try:
        fn()
        return "OK"
    except botocore.exceptions.ClientError as e:
        return f'{e.response["Error"]["Code"]}/{e.response["ResponseMetadata"]["HTTPStatusCode"]}'


def keyed(service, akid, secret, token=None):
    s = boto3.Session(aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token,
                      region_name=SB.region)
    return s.client(service, endpoint_url=SB.endpoint, config=CFG)


def signed_raw(method, service, path_query, body=b"", headers=None, creds=None, when=None, sign_body=None):
    """Sign with botocore's SigV4 exactly over the given URI and body, send it raw."""
    akid, secret = creds or SB.keys()
    url = SB.endpoint + path_query
    h = {"Host": f"127.0.0.1:{SB.port}"}
    h.update(headers or {})
    req = AWSRequest(method=method, url=url, data=sign_body if sign_body is not None else body, headers=h)
    auth = SigV4Auth(Credentials(akid, secret), service, SB.region)
    if when:
        req.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        auth._timestamp = None
        orig = datetime.datetime

        class Frozen(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return when.replace(tzinfo=None)

            @classmethod
            def now(cls, tz=None):
                return when if tz else when.replace(tzinfo=None)
        botocore.auth.datetime.datetime = Frozen
        try:
            auth.add_auth(req)
        finally:
            botocore.auth.datetime.datetime = orig
    else:
        auth.add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", SB.port, timeout=10)
    conn.request(method, path_query, body=body, headers=dict(req.headers))
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data.decode()


class Signatures(unittest.TestCase):
    def test_deployer_identity(self):
        arn = SB.client("sts").get_caller_identity()["Arn"]
        self.assertEqual(arn, f"arn:aws:iam::{SB.world['accounts']['base']}:user/deployer")

    def test_bad_secret_is_refused_per_protocol(self):
        akid, _ = SB.keys()
        bad = "x" * 40
        self.assertEqual(code(lambda: keyed("sts", akid, bad).get_caller_identity()), "SignatureDoesNotMatch/403")
        self.assertEqual(code(lambda: keyed("rds", akid, bad).describe_db_proxies()), "SignatureDoesNotMatch/403")
        self.assertEqual(code(lambda: keyed("ec2", akid, bad).describe_vpcs()), "AuthFailure/401")
        self.assertEqual(code(lambda: keyed("ram", akid, bad).get_resource_shares(resourceOwner="SELF")),
                         "SignatureDoesNotMatch/403")
        self.assertEqual(code(lambda: keyed("secretsmanager", akid, bad).list_secrets()),
                         "SignatureDoesNotMatch/403")

    def test_unknown_key_is_refused(self):
        self.assertEqual(code(lambda: keyed("rds", "AKIAZZZZZZZZZZZZZZZZ", "x" * 40).describe_db_proxies()),
                         "InvalidClientTokenId/403")
        self.assertEqual(code(lambda: keyed("sts", "AKIAZZZZZZZZZZZZZZZZ", "x" * 40).get_caller_identity()),
                         "InvalidClientTokenId/403")

    def test_missing_permission_is_refused(self):
        # the deployer may only assume the two roles
        self.assertEqual(code(lambda: SB.client("rds").describe_db_proxies()), "AccessDenied/403")
        self.assertEqual(code(lambda: SB.client("ec2").describe_vpcs()), "UnauthorizedOperation/403")
        self.assertEqual(code(lambda: SB.client("iam").create_user(UserName="x")), "AccessDenied/403")
        self.assertEqual(code(lambda: SB.client("ram").get_resource_shares(resourceOwner="SELF")),
                         "AccessDenied/403")

    def test_empty_body_request_passes_verification(self):
        # moto hashed re-encoded parameters when the body was empty: RAM POST with no body
        self.assertTrue(SB.client("ram").enable_sharing_with_aws_organization()["returnValue"])
        # ... and a member account's signed call gets RAM's answer, not a signature error
        self.assertEqual(code(lambda: SB.client("ram", "app").enable_sharing_with_aws_organization()),
                         "OperationNotPermittedException/400")

    def test_session_tokens(self):
        c = SB.client("sts").assume_role(RoleArn=SB.world["roles"]["rds"]["arn"], RoleSessionName="tt",
                                         ExternalId=SB.world["roles"]["rds"]["external_id"])["Credentials"]
        k, s, t = c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]
        self.assertEqual(code(lambda: keyed("rds", k, s, t).describe_db_proxies()), "OK")
        self.assertEqual(code(lambda: keyed("rds", k, "y" * 40, t).describe_db_proxies()), "SignatureDoesNotMatch/403")
        self.assertEqual(code(lambda: keyed("rds", k, s, "forged").describe_db_proxies()), "InvalidClientTokenId/403")
        self.assertEqual(code(lambda: keyed("rds", k, s).describe_db_proxies()), "InvalidClientTokenId/403")
        self.assertEqual(code(lambda: keyed("ec2", k, s, t).describe_vpcs()), "OK")

    def test_unsigned_request_is_refused(self):
        req = urllib.request.Request(SB.endpoint + "/", data=b"Action=DescribeDBProxies&Version=2014-10-31",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn("MissingAuthenticationToken", cm.exception.read().decode())

    def test_malformed_authorization_is_refused(self):
        req = urllib.request.Request(SB.endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     headers={"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/x",
                                              "Content-Type": "application/x-www-form-urlencoded"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req)
        self.assertEqual(cm.exception.code, 400)
        self.assertIn("IncompleteSignature", cm.exception.read().decode())

    def test_clock_skew_is_refused(self):
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        ct = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        status, _ = signed_raw("POST", "sts", "/", body, ct)
        self.assertEqual(status, 200)
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
        status, text = signed_raw("POST", "sts", "/", body, ct, when=old)
        self.assertEqual(status, 403)
        self.assertIn("Signature expired", text)

    def test_tampered_body_is_refused(self):
        ct = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        status, text = signed_raw("POST", "sts", "/", b"Action=GetCallerIdentity&Version=2011-06-15", ct,
                                  sign_body=b"Action=GetCallerIdentity&Version=2011-06-16")
        self.assertEqual(status, 403)
        self.assertIn("SignatureDoesNotMatch", text)
        # a declared payload hash that isn't the body's
        h = dict(ct, **{"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()})
        status, text = signed_raw("POST", "sts", "/", b"Action=GetCallerIdentity&Version=2011-06-15", h)
        self.assertEqual(status, 400)
        self.assertIn("XAmzContentSHA256Mismatch", text)

    def test_moto_bug_requoted_query_is_fixed(self):
        # a GET whose query keeps %3A: werkzeug re-quotes it to ':'; AWS verifies what was sent
        creds = self._app_creds()
        q = ("/?Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag%3AName"
             "&Filter.1.Value.1=app-private-" + SB.world["app"]["subnets"][0]["az"][-1])
        status, text = signed_raw("GET", "ec2", q, b"", creds=creds)
        self.assertEqual(status, 200, text)
        self.assertIn(SB.world["app"]["subnets"][0]["id"], text)

    def test_form_body_is_verified_as_sent(self):
        # '%20' for a space and a raw ':' are not what Python's urlencode produces; AWS accepts both
        creds = self._app_creds()
        body = (b"Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=tag:Name"
                b"&Filter.1.Value.1=no%20such%20name")
        status, text = signed_raw("POST", "ec2", "/", body,
                                  {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, creds=creds)
        self.assertEqual(status, 200, text)
        self.assertIn("<subnetSet/>", text.replace(" ", ""))

    def test_libcurl_signer_with_a_chunked_body(self):
        # curl's built-in SigV4 (as kumo's HTTP layer can use) signs transfer-encoding,
        # which botocore's canonicalizer would skip
        import shutil
        import subprocess
        if not shutil.which("curl"):
            self.fail("curl is needed (Debian package curl)")
        akid, secret = SB.keys()
        for user, want in ((f"{akid}:{secret}", "<Arn>arn:aws:iam::123456789012:user/deployer</Arn>"),
                           (f"{akid}:{secret}x", "<Code>SignatureDoesNotMatch</Code>")):
            for extra in ([], ["-H", "Transfer-Encoding: chunked"]):
                out = subprocess.run(["curl", "-s", "--aws-sigv4", f"aws:amz:{SB.region}:sts", "--user", user,
                                      "-H", "Content-Type: application/x-www-form-urlencoded"] + extra +
                                     ["--data-binary", "Action=GetCallerIdentity&Version=2011-06-15",
                                      SB.endpoint + "/"], capture_output=True, text=True, timeout=30)
                self.assertIn(want, out.stdout, (user[:4], extra))

    def _app_creds(self):
        c = SB.client("sts").assume_role(RoleArn=SB.world["roles"]["app"]["arn"], RoleSessionName="raw",
                                         ExternalId=SB.world["roles"]["app"]["external_id"])["Credentials"]
        self._token = c["SessionToken"]
        return _TokenCreds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    def test_checks_cannot_be_switched_off(self):
        req = urllib.request.Request(SB.endpoint + "/moto-api/reset-auth", data=b"100",
                                     headers={"Content-Type": "text/plain"})
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req)
        self.assertEqual(cm.exception.code, 403)
        akid, _ = SB.keys()
        self.assertEqual(code(lambda: keyed("sts", akid, "z" * 40).get_caller_identity()),
                         "SignatureDoesNotMatch/403")

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", SB.port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/_kumo/health")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
            self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
        sock = conn.sock
        conn.request("GET", "/_kumo/health")
        conn.getresponse().read()
        self.assertIs(conn.sock, sock, "the connection was not reused")
        conn.request("GET", "/_kumo/health", headers={"Connection": "close"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.getheader("Connection").lower(), "close")
        conn.close()


class _TokenCreds(tuple):
    """(akid, secret) for signed_raw, plus the session token header."""
    def __new__(cls, akid, secret, token):
        t = super().__new__(cls, (akid, secret))
        t.token = token
        return t


_orig_signed_raw = signed_raw


def signed_raw(method, service, path_query, body=b"", headers=None, creds=None, **kw):  # noqa: F811
    if isinstance(creds, _TokenCreds):
        headers = dict(headers or {}, **{"X-Amz-Security-Token": creds.token})
    return _orig_signed_raw(method, service, path_query, body, headers, creds, **kw)


class AssumeRole(unittest.TestCase):
    def assume(self, role_arn, external_id=None, client=None, **kw):
        sts = client or SB.client("sts")
        args = dict(RoleArn=role_arn, RoleSessionName="tt", **kw)
        if external_id is not None:
            args["ExternalId"] = external_id
        return code(lambda: sts.assume_role(**args))

    def test_external_id_rules(self):
        for name in ("app", "rds"):
            role = SB.world["roles"][name]
            self.assertEqual(self.assume(role["arn"], role["external_id"]), "OK")
            self.assertEqual(self.assume(role["arn"], "wrong-external-id"), "AccessDenied/403")
            self.assertEqual(self.assume(role["arn"]), "AccessDenied/403")

    def test_roles_the_trust_policy_or_identity_policy_refuses(self):
        base = SB.world["accounts"]["base"]
        app_iam = SB.client("iam", "app")
        # trusts another account only
        app_iam.create_role(RoleName="trusts-other", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": "arn:aws:iam::999999999999:root"}}]}))
        arn = f"arn:aws:iam::{SB.world['accounts']['app']}:role/trusts-other"
        self.assertEqual(self.assume(arn, client=SB.client("sts", "app")), "AccessDenied/403")
        # trusts the base account, but the deployer's own policy doesn't allow this role
        app_iam.create_role(RoleName="trusts-base", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{base}:root"}}]}))
        self.assertEqual(self.assume(f"arn:aws:iam::{SB.world['accounts']['app']}:role/trusts-base"),
                         "AccessDenied/403")
        # a role that doesn't exist
        self.assertEqual(self.assume(f"arn:aws:iam::{SB.world['accounts']['app']}:role/nope"), "AccessDenied/403")

    def test_trust_conditions_and_deny(self):
        app = SB.world["accounts"]["app"]
        rds_iam = SB.client("iam", "rds")
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": app},
             "Condition": {"StringLike": {"sts:ExternalId": "team-*"}}},
            {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": "*"},
             "Condition": {"StringEquals": {"sts:ExternalId": "team-banned"}}}]}
        rds_iam.create_role(RoleName="from-app", AssumeRolePolicyDocument=json.dumps(doc))
        arn = f"arn:aws:iam::{SB.world['accounts']['rds']}:role/from-app"
        app_sts = SB.client("sts", "app")
        self.assertEqual(self.assume(arn, "team-orders", client=app_sts), "OK")
        self.assertEqual(self.assume(arn, "other", client=app_sts), "AccessDenied/403")
        self.assertEqual(self.assume(arn, "team-banned", client=app_sts), "AccessDenied/403")
        self.assertEqual(self.assume(arn, client=app_sts), "AccessDenied/403")
        # the RDS account's own deployer session is not the APP account
        self.assertEqual(self.assume(arn, "team-orders", client=SB.client("sts", "rds")), "AccessDenied/403")

    def test_pass_role_is_needed_to_give_a_proxy_its_role(self):
        rds_acct = SB.world["accounts"]["rds"]
        iam = SB.client("iam", "rds")
        iam.create_role(RoleName="rds-only", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"AWS": f"arn:aws:iam::{rds_acct}:root"}}]}))
        iam.put_role_policy(RoleName="rds-only", PolicyName="rds", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["rds:*", "ec2:Describe*"],
                                                    "Resource": "*"}]}))
        c = SB.client("sts", "rds").assume_role(RoleArn=f"arn:aws:iam::{rds_acct}:role/rds-only",
                                                RoleSessionName="limited")["Credentials"]
        rds = keyed("rds", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        args = dict(DBProxyName="passrole", EngineFamily="POSTGRESQL",
                    RoleArn=f"arn:aws:iam::{rds_acct}:role/kumo-deployer",
                    VpcSubnetIds=[s["id"] for s in SB.world["rds"]["subnets"]])
        try:
            rds.create_db_proxy(**args)
            self.fail("CreateDBProxy without iam:PassRole was accepted")
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "AccessDenied")
            self.assertIn("iam:PassRole", e.response["Error"]["Message"])
        # the admin role has it
        self.assertEqual(code(lambda: SB.client("rds", "rds").create_db_proxy(**args)), "OK")

    def test_duration_limits(self):
        role = SB.world["roles"]["app"]
        raw = SB.client("sts", parameter_validation=False)  # botocore would refuse 899 itself
        self.assertEqual(self.assume(role["arn"], role["external_id"], client=raw, DurationSeconds=899),
                         "ValidationError/400")
        self.assertEqual(self.assume(role["arn"], role["external_id"], DurationSeconds=7200), "ValidationError/400")
        self.assertEqual(self.assume(role["arn"], role["external_id"], DurationSeconds=900), "OK")

    def test_assumed_identity_acts_in_the_role_account(self):
        arn = SB.client("sts", "rds").get_caller_identity()["Arn"]
        self.assertRegex(arn, rf"^arn:aws:sts::{SB.world['accounts']['rds']}:assumed-role/kumo-deployer/")


class WebIdentity(unittest.TestCase):
    @staticmethod
    def jwt(**claims):
        import base64
        enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
        return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJl"

    def test_unsigned_web_identity_against_the_oidc_provider_and_trust(self):
        import time as _t
        app = SB.world["accounts"]["app"]
        iam = SB.client("iam", "app")
        provider = iam.create_open_id_connect_provider(Url="https://token.example.com/ci", ClientIDList=["sts.amazonaws.com"],
                                                       ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
        iam.create_role(RoleName="ci-deploy", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity", "Principal": {"Federated": provider},
                "Condition": {"StringLike": {"token.example.com/ci:sub": "repo:orders/*"}}}]}))
        arn = f"arn:aws:iam::{app}:role/ci-deploy"
        sts = boto3.client("sts", endpoint_url=SB.endpoint, region_name=SB.region, config=CFG,
                           aws_access_key_id="x", aws_secret_access_key="x")

        def assume(token):
            return code(lambda: sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="ci",
                                                                  WebIdentityToken=token))
        now = int(_t.time())
        good = dict(iss="https://token.example.com/ci", aud="sts.amazonaws.com", sub="repo:orders/main", exp=now + 600)
        # boto3 sends this call unsigned, as AWS allows
        self.assertEqual(assume(self.jwt(**good)), "OK")
        self.assertEqual(assume(self.jwt(**dict(good, sub="repo:other/main"))), "AccessDenied/403")
        self.assertEqual(assume(self.jwt(**dict(good, aud="someone-else"))), "InvalidIdentityToken/400")
        self.assertEqual(assume(self.jwt(**dict(good, iss="https://evil.example.com"))), "InvalidIdentityToken/400")
        self.assertEqual(assume(self.jwt(**dict(good, exp=now - 5))), "ExpiredTokenException/400")
        self.assertEqual(assume("not-a-jwt"), "InvalidIdentityToken/400")
        c = sts.assume_role_with_web_identity(RoleArn=arn, RoleSessionName="ci",
                                              WebIdentityToken=self.jwt(**good))["Credentials"]
        who = keyed("sts", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]).get_caller_identity()
        self.assertEqual(who["Arn"], f"arn:aws:sts::{app}:assumed-role/ci-deploy/ci")
