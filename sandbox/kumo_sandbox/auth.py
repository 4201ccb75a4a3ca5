"""Signature and IAM checks, always on.

moto verifies SigV4 and evaluates IAM policies once its "no auth" allowance
(INITIAL_NO_AUTH_ACTION_COUNT) is used up; the sandbox sets it to 0 before it
listens and refuses `/moto-api/reset-auth`, so nothing is ever unchecked.

On top of moto:
  * moto's two SigV4 bugs are fixed: it hashed the parsed parameters when the
    raw body was empty, and it verified against werkzeug's re-quoted URL.
    The raw request (context.py) is verified instead, as AWS does, over
    exactly the headers the client signed (botocore's canonicalizer skips
    transfer-encoding and user-agent, which curl and others may sign).
  * AssumeRole enforces the role's trust policy (principals, Deny, and
    conditions such as sts:ExternalId), the caller's identity policies for
    the role's ARN, the role's existence and DurationSeconds limits. moto
    alone lets anybody assume any role in another account.
  * expired session credentials are refused (ExpiredToken); CreateDBProxy and
    ModifyDBProxy with a RoleArn need iam:PassRole on that role.
  * AssumeRoleWithWebIdentity (unsigned, as in AWS) needs an OIDC provider in
    the role's account matching the token's issuer and audience, and a trust
    policy for that provider (the token's signature isn't verified).
  * auth errors of json/rest-json services are JSON; EC2 says
    UnauthorizedOperation for a missing permission, as AWS does.
"""
import json
import re

from botocore.auth import SigV4Auth, _host_from_url
from botocore.awsrequest import AWSRequest, HTTPHeaders
from moto import settings
from moto.core.exceptions import JsonRESTError, _RESTError
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model, utcnow
from moto.iam import access_control
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from . import context


class AuthError(_RESTError):
    def __init__(self, code, message, status):
        super().__init__(code, message)
        self.code = status


def access_denied(principal_arn, action, resource=None):
    msg = f"User: {principal_arn} is not authorized to perform: {action}"
    if resource:
        msg += f" on resource: {resource}"
    return AuthError("AccessDenied", msg, 403)


def _param(data, key):
    v = (data or {}).get(key)
    if isinstance(v, list):
        v = v[0] if v else None
    return v


# --- 1. verify the request as sent ----------------------------------------
def _create_aws_request(self):
    signed = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
    headers = self._create_headers_for_aws_request(signed, self._headers)
    raw_uri = context.raw_uri()
    body = context.raw_body()
    if body is None:  # outside the gateway (not expected): moto's own view
        body = self._body or self._data
    request = AWSRequest(method=self._method, url=raw_uri or self._path, data=body, headers=headers)
    request.context["timestamp"] = headers["X-Amz-Date"]
    return request


class ExactSigV4(SigV4Auth):
    """botocore never signs some headers (transfer-encoding, user-agent, expect,
    x-amzn-trace-id); a client that does (curl signs transfer-encoding) is
    right, and AWS canonicalizes exactly the SignedHeaders the client named.
    The request here carries only those headers, so all of them are used."""

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            header_map[name.lower()] = value
        if "host" not in header_map:
            header_map["host"] = _host_from_url(request.url)
        return header_map


def _create_auth(self, credentials):
    return ExactSigV4(credentials, self._service, self._region)


# --- 2. AssumeRole: trust policy + identity policy ----------------------------
def _as_list(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _action_matches(patterns, action):
    for p in _as_list(patterns):
        rx = "^" + re.escape(p).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        if re.match(rx, action, re.IGNORECASE):
            return True
    return False


def _principal_matches(principal, caller_arn, caller_account):
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    role_arn = None
    m = re.match(r"arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/", caller_arn)
    if m:
        role_arn = f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}"
    for v in _as_list(principal.get("AWS")):
        if v == "*" or v == caller_account or v == caller_arn:
            return True
        if re.fullmatch(rf"arn:aws[\w-]*:iam::{caller_account}:root", v):
            return True
        if role_arn and re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/(?:.*/)?" + re.escape(role_arn.split("/")[-1]), v) \
                and v.split(":")[4] == role_arn.split(":")[4]:
            return True
    return False


def _like(pattern, value):
    rx = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(rx, value, re.DOTALL) is not None


_OPS = {
    "stringequals": lambda e, a: a == e,
    "stringequalsignorecase": lambda e, a: a.lower() == e.lower(),
    "stringlike": lambda e, a: _like(e, a),
    "arnequals": lambda e, a: a == e,
    "arnlike": lambda e, a: _like(e, a),
    "bool": lambda e, a: str(a).lower() == str(e).lower(),
}
_NEGATED = {"stringnotequals": "stringequals", "stringnotequalsignorecase": "stringequalsignorecase",
            "stringnotlike": "stringlike", "arnnotequals": "arnequals", "arnnotlike": "arnlike"}


def _conditions_hold(conditions, ctx):
    """IAM condition evaluation for the keys AssumeRole knows. An operator
    the sandbox doesn't know fails closed (the statement doesn't apply)."""
    for op, block in (conditions or {}).items():
        name = op.lower()
        for prefix in ("forallvalues:", "foranyvalue:"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        if_exists = name.endswith("ifexists")
        if if_exists:
            name = name[:-len("ifexists")]
        for key, expected in (block or {}).items():
            actual = ctx.get(key.lower())
            expected = [str(e) for e in _as_list(expected)]
            if name == "null":
                want_absent = expected[0].lower() == "true"
                if (actual is None) != want_absent:
                    return False
                continue
            if name in _NEGATED:
                if actual is None:
                    continue
                if any(_OPS[_NEGATED[name]](e, actual) for e in expected):
                    return False
                continue
            if name not in _OPS:
                return False
            if actual is None:
                if if_exists:
                    continue
                return False
            if not any(_OPS[name](e, actual) for e in expected):
                return False
    return True


def trust_allows(document, caller_arn, caller_account, ctx):
    """Does the role's trust policy let `caller_arn` assume the role?"""
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    allowed = False
    for s in _as_list(doc.get("Statement")):
        if not _action_matches(s.get("Action"), "sts:AssumeRole"):
            continue
        if "Principal" not in s or not _principal_matches(s["Principal"], caller_arn, caller_account):
            continue
        if not _conditions_hold(s.get("Condition"), ctx):
            continue
        if s.get("Effect") == "Deny":
            return False
        if s.get("Effect") == "Allow":
            allowed = True
    return allowed


def identity_allows(policies, action, resource):
    """The one IAM evaluator of identity policies (documents as strings or dicts):
    an explicit Deny wins, else some Allow must match (moto's IAMPolicy). Used for
    the caller's policies here and for a proxy role's in health.py."""
    permitted = False
    for p in policies:
        result = IAMPolicy(p).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return False
        if result == PermissionResult.PERMITTED:
            permitted = True
    return permitted


def _check_assume_role(req):
    role_arn = _param(req._data, "RoleArn") or ""
    caller = req._access_key.arn
    caller_account = req.account_id
    m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)", role_arn)
    if not m:
        raise AuthError("ValidationError", f"'{role_arn}' is not a valid role ARN (RoleArn).", 400)
    external_id = _param(req._data, "ExternalId")
    if external_id is not None and not re.fullmatch(r"[\w+=,.@:/-]{2,1224}", external_id):
        raise AuthError("ValidationError", "ExternalId must be 2-1224 characters of [\\w+=,.@:/-].", 400)
    if not identity_allows(req._access_key.collect_policies(), "sts:AssumeRole", role_arn):
        raise access_denied(caller, "sts:AssumeRole", role_arn)
    try:
        role = iam_backends[m.group(1)]["aws"].get_role(m.group(2))
    except NotFoundException:
        raise access_denied(caller, "sts:AssumeRole", role_arn)
    ctx = {"sts:externalid": external_id, "aws:principalaccount": caller_account,
           "aws:principalarn": caller, "sts:rolesessionname": _param(req._data, "RoleSessionName")}
    am = re.match(r"arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/", caller)
    if am:
        ctx["aws:principalarn"] = f"arn:{am.group(1)}:iam::{am.group(2)}:role/{am.group(3)}"
    if not trust_allows(role.assume_role_policy_document, caller, caller_account, ctx):
        raise access_denied(caller, "sts:AssumeRole", role_arn)
    duration = _param(req._data, "DurationSeconds")
    if duration is not None:
        d = int(duration)
        if d < 900:
            raise AuthError("ValidationError",
                            f"1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy "
                            "constraint: Member must have value greater than or equal to 900", 400)
        if d > int(role.max_session_duration or 3600):
            raise AuthError("ValidationError",
                            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)


# --- 2b. AssumeRoleWithWebIdentity: unsigned, checked against IAM's OIDC provider
UNSIGNED_ACTIONS = ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML")


def _b64url_json(part):
    import base64
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def check_web_identity(resp):
    """What AWS checks before it answers AssumeRoleWithWebIdentity: a JWT whose
    issuer is an OIDC provider registered in the role's account, an audience
    among the provider's client ids, not expired, and a trust policy that lets
    that provider (Federated) assume the role under its conditions
    (`<issuer>:aud`, `<issuer>:sub`). The sandbox can't check the token's
    signature against the issuer's keys: it doesn't."""
    role_arn = resp._get_param("RoleArn") or ""
    token = resp._get_param("WebIdentityToken") or ""
    m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)", role_arn)
    if not m:
        raise AuthError("ValidationError", f"'{role_arn}' is not a valid role ARN (RoleArn).", 400)
    try:
        claims = _b64url_json(token.split(".")[1])
    except Exception:
        raise AuthError("InvalidIdentityToken", "The web identity token is not a JWT (header.payload.signature).", 400)
    issuer = str(claims.get("iss", "")).replace("https://", "", 1).rstrip("/")
    account = m.group(1)
    iam = iam_backends[account]["aws"]
    provider_arn = f"arn:aws:iam::{account}:oidc-provider/{issuer}"
    provider = iam.open_id_providers.get(provider_arn)
    if provider is None:
        raise AuthError("InvalidIdentityToken",
                        f"No OpenIDConnect provider found in your account for https://{issuer}", 400)
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(a in (provider.client_id_list or []) for a in auds):
        raise AuthError("InvalidIdentityToken", "Incorrect token audience", 400)
    exp = claims.get("exp")
    if exp is not None and float(exp) < __import__("time").time():
        raise AuthError("ExpiredTokenException", "Token expired: current date/time is past the token's exp", 400)
    try:
        role = iam.get_role(m.group(2))
    except NotFoundException:
        raise AuthError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
    ctx = {f"{issuer}:aud".lower(): auds[0], f"{issuer}:sub".lower(): claims.get("sub"),
           "sts:rolesessionname": resp._get_param("RoleSessionName")}
    doc = json.loads(role.assume_role_policy_document)
    allowed = False
    for st in _as_list(doc.get("Statement")):
        if not _action_matches(st.get("Action"), "sts:AssumeRoleWithWebIdentity"):
            continue
        fed = st.get("Principal", {}).get("Federated") if isinstance(st.get("Principal"), dict) else None
        if provider_arn not in _as_list(fed):
            continue
        if not _conditions_hold({op: {k.lower(): v for k, v in block.items()}
                                 for op, block in (st.get("Condition") or {}).items()}, ctx):
            continue
        if st.get("Effect") == "Deny":
            allowed = False
            break
        allowed = allowed or st.get("Effect") == "Allow"
    if not allowed:
        raise AuthError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)


# Calls that hand a role to a service: the caller also needs iam:PassRole on it.
PASSES_ROLE = {"rds:CreateDBProxy": "RoleArn", "rds:ModifyDBProxy": "RoleArn"}


def check_action_permitted(self, resource):
    if self._action == "sts:AssumeRole":
        return _check_assume_role(self)
    _ORIG["check_action_permitted"](self, resource)
    role_arn = _param(self._data, PASSES_ROLE.get(self._action, "-"))
    if role_arn and not identity_allows(self._access_key.collect_policies(), "iam:PassRole", role_arn):
        raise access_denied(self._access_key.arn, "iam:PassRole", role_arn)


# --- 3. errors as AWS gives them ------------------------------------------------
def _raise_access_denied(self):
    if self._service == "ec2":
        raise AuthError("UnauthorizedOperation", "You are not authorized to perform this operation.", 403)
    raise access_denied(self._access_key.arn, self._action)


def _raise_invalid_access_key(self, reason):
    if reason == "ExpiredToken":
        raise AuthError("ExpiredToken", "The security token included in the request is expired", 400)
    return _ORIG["_raise_invalid_access_key"](self, reason)


def _assumed_role_key_init(self, account_id, partition, access_key_id, headers):
    _ORIG["AssumedRoleAccessKey.__init__"](self, account_id, partition, access_key_id, headers)
    for role in sts_backends[account_id][partition].assumed_roles:
        if role.access_key_id == access_key_id and role.expiration < utcnow():
            raise access_control.CreateAccessKeyFailure(reason="ExpiredToken")


def _collect_policies(self):
    try:
        return _ORIG["collect_policies"](self)
    except NotFoundException:  # the role was deleted: nothing is allowed
        return []


def _authenticate(self, resource="*"):
    if "Authorization" not in self.headers and self._get_action() in UNSIGNED_ACTIONS:
        if self._get_action() == "AssumeRoleWithWebIdentity":
            return check_web_identity(self)
        raise AuthError("InvalidAction", "The sandbox does not support AssumeRoleWithSAML.", 400)
    try:
        _ORIG["authenticate"](self, resource)
    except _RESTError as e:
        if isinstance(e, JsonRESTError):
            raise
        try:
            protocol = get_service_model(self.boto3_service_name).protocol
        except Exception:
            protocol = "query"
        if protocol in ("json", "rest-json"):
            raise e.to_json()
        raise


_ORIG = {}


def install():
    """Patch moto and switch the checks on for every request."""
    Base = access_control.IAMRequestBase
    Req = access_control.IAMRequest
    Key = access_control.AssumedRoleAccessKey
    _ORIG["check_action_permitted"] = Base.check_action_permitted
    _ORIG["_raise_invalid_access_key"] = Req._raise_invalid_access_key
    _ORIG["AssumedRoleAccessKey.__init__"] = Key.__init__
    _ORIG["collect_policies"] = Key.collect_policies
    _ORIG["authenticate"] = BaseResponse._authenticate_and_authorize_normal_action
    Base._create_aws_request = _create_aws_request
    Req._create_auth = _create_auth
    Base.check_action_permitted = check_action_permitted
    Req._raise_access_denied = _raise_access_denied
    Req._raise_invalid_access_key = _raise_invalid_access_key
    Key.__init__ = _assumed_role_key_init
    Key.collect_policies = _collect_policies
    BaseResponse._authenticate_and_authorize_normal_action = _authenticate
    enforce()


def enforce():
    """No request goes unchecked (moto counts 'free' requests up to this)."""
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


# --- 4. presigned URLs (SigV4 query form) ------------------------------------
# AWS: "Amazon S3 ... authenticates a presigned URL by the signature in its
# query string: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires,
# X-Amz-SignedHeaders and X-Amz-Signature" and refuses it once "the
# X-Amz-Expires period (at most 604800 seconds, 7 days) from X-Amz-Date" has
# passed (S3 API reference, "Authenticating Requests: Using Query Parameters").
# moto verifies only Authorization headers, so the gateway verifies the query
# signature here, exactly, and then hands moto the same request signed in the
# header form for the same credentials: moto's IAM checks still decide.
_PRESIGN_KEYS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                 "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token")
MAX_PRESIGN_EXPIRES = 604800


def _secret_for(akid, token):
    """The secret key of an access key id (an IAM user's or an assumed role's)."""
    for backend in list(iam_backends.values()):
        iam = backend.get("aws") if hasattr(backend, "get") else None
        if iam is not None and akid in iam.access_keys:
            return iam.access_keys[akid].secret_access_key, None
    for backend in list(sts_backends.values()):
        sts = backend.get("aws") if hasattr(backend, "get") else None
        for role in getattr(sts, "assumed_roles", []):
            if role.access_key_id == akid:
                if token != role.session_token:
                    return None, ("InvalidToken", "The provided token is malformed or otherwise invalid.", 400)
                if role.expiration < utcnow():
                    return None, ("ExpiredToken", "The provided token has expired.", 400)
                return role.secret_access_key, None
    return None, ("InvalidAccessKeyId",
                  "The AWS Access Key Id you provided does not exist in our records.", 403)


def _quote(s):
    from urllib.parse import quote
    return quote(s, safe="-_.~")


def verify_presigned(environ, body, raw_uri):
    """Check a presigned request. Returns (refusal, None) or (None, rewrite)
    where rewrite = (raw_uri_without_signature, headers_to_add)."""
    import hashlib
    import hmac
    import time as _time
    from datetime import datetime, timezone
    from urllib.parse import unquote
    path, _, query = raw_uri.partition("?")
    pairs = []
    for part in query.split("&") if query else []:
        k, _, v = part.partition("=")
        pairs.append((unquote(k), unquote(v), part))
    q = {k: v for k, v, _ in pairs}
    if q.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return ("AuthorizationQueryParametersError",
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"", 400), None
    for k in _PRESIGN_KEYS[:6]:
        if k not in q:
            return ("AuthorizationQueryParametersError",
                    f"Query-string authentication version 4 requires the {k} parameter.", 400), None
    try:
        akid, date, region, service, term = q["X-Amz-Credential"].split("/")
        t = datetime.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        expires = int(q["X-Amz-Expires"])
    except ValueError:
        return ("AuthorizationQueryParametersError", "Malformed X-Amz-Credential, X-Amz-Date or "
                "X-Amz-Expires.", 400), None
    if term != "aws4_request" or date != q["X-Amz-Date"][:8]:
        return ("AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter.", 400), None
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        return ("AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400), None
    now = _time.time()
    if now > t.timestamp() + expires:
        return ("AccessDenied", "Request has expired", 403), None
    if t.timestamp() > now + 15 * 60:
        return ("AccessDenied", "Request is not valid yet", 403), None
    secret, refusal = _secret_for(akid, q.get("X-Amz-Security-Token"))
    if refusal:
        return refusal, None
    signed = q["X-Amz-SignedHeaders"].lower().split(";")
    if "host" not in signed:
        return ("AccessDenied", "The host header must be signed.", 403), None
    headers = {}
    for name in signed:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name == "content-type":
            key = "CONTENT_TYPE"
        elif name == "content-length":
            key = "CONTENT_LENGTH"
        if key not in environ:
            return ("AccessDenied", f"There were headers present in the request which were not signed "
                    f"or are missing: {name}", 403), None
        headers[name] = " ".join(str(environ[key]).split())
    canon_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted((k, v) for k, v, _ in pairs
                                                                         if k != "X-Amz-Signature"))
    payload = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "UNSIGNED-PAYLOAD")
    canonical = "\n".join([environ.get("REQUEST_METHOD", "GET"), path, canon_query,
                           "".join(f"{n}:{headers[n]}\n" for n in signed), ";".join(signed), payload])
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", q["X-Amz-Date"], scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, q["X-Amz-Signature"]):
        return ("SignatureDoesNotMatch", "The request signature we calculated does not match the "
                "signature you provided. Check your key and signing method.", 403), None
    # the same request in the header form, for moto (same principal, now)
    rest = "&".join(raw for k, _, raw in pairs if k not in _PRESIGN_KEYS)
    new_uri = path + ("?" + rest if rest else "")
    from botocore.auth import S3SigV4Auth
    from botocore.credentials import Credentials
    host = environ.get("HTTP_HOST", "localhost")
    req = AWSRequest(method=environ.get("REQUEST_METHOD", "GET"), url=f"http://{host}{new_uri}",
                     data=body, headers={"host": host})
    token = q.get("X-Amz-Security-Token")
    S3SigV4Auth(Credentials(akid, secret, token), service, region).add_auth(req)
    add = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    return None, (new_uri, add)
