"""The outermost WSGI middleware.

For every request it: reads the whole body (so nothing is left on a
keep-alive socket), records the raw URI and body for signature checks
(context.py), routes the control API (/_kumo/...), refuses what would weaken
the checks (/moto-api/reset-auth) and, unless the sandbox was started with
--allow-moto-api, every other unsigned /moto-api/ route, refuses unsigned or malformed requests as
AWS does, counts the call (stats.py), applies fault and latency rules
(faults.py), and hands the rest to moto.
"""
import hashlib
import io
import json
import re
import socket
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs

from moto.core.utils import get_service_model
from moto.iam.models import iam_backends

from . import context, faults as faults_mod

SKEW_SECONDS = 15 * 60
_PROTOCOLS = {}
_REST_OPS = {}


def protocol_of(service):
    if service not in _PROTOCOLS:
        try:
            _PROTOCOLS[service] = get_service_model(service).protocol
        except Exception:
            _PROTOCOLS[service] = "query"
    return _PROTOCOLS[service]


def _rest_ops(service):
    """{(METHOD, path): OperationName} of a rest-json service (RAM)."""
    if service not in _REST_OPS:
        table = {}
        try:
            model = get_service_model(service)
            for name in model.operation_names:
                http = model.operation_model(name).http
                table[(http["method"], http["requestUri"].split("?")[0].rstrip("/") or "/")] = name
        except Exception:
            pass
        _REST_OPS[service] = table
    return _REST_OPS[service]


def operation_of(environ, body, service):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    ctype = environ.get("CONTENT_TYPE", "")
    if body and "x-www-form-urlencoded" in ctype:
        q = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in q:
            return q["Action"][0]
    m = re.search(r"(?:^|&)Action=([^&]+)", environ.get("QUERY_STRING", ""))
    if m:
        return m.group(1)
    if service == "s3":
        return s3_operation(environ)
    path = environ.get("PATH_INFO", "/").rstrip("/") or "/"
    return _rest_ops(service).get((environ.get("REQUEST_METHOD", "GET"), path), path.strip("/"))


_S3_BUCKET_SUB = {"location": "GetBucketLocation", "versioning": "GetBucketVersioning",
                  "policy": "GetBucketPolicy", "tagging": "GetBucketTagging", "acl": "GetBucketAcl",
                  "uploads": "ListMultipartUploads", "versions": "ListObjectVersions"}


def s3_operation(environ):
    """The S3 operation of a request, for statistics and fault rules (S3's
    URIs carry the bucket and key, so the REST table cannot name them):
    the object-level ones by method and query, the common bucket ones too."""
    m = environ.get("REQUEST_METHOD", "GET")
    q = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    host = environ.get("HTTP_HOST", "")
    path = environ.get("PATH_INFO", "/")
    # virtual-hosted (bucket.host) or path style (/bucket/key)
    parts = path.lstrip("/").split("/", 1)
    virtual = bool(re.match(r"^[^.:]+\.(?!\d+\.)[^:]*(localhost|amazonaws\.com)", host))
    has_key = (bool(path.lstrip("/")) if virtual else len(parts) > 1 and parts[1] != "")
    has_bucket = virtual or bool(parts[0])
    if not has_bucket:
        return "ListBuckets"
    if has_key:
        if "uploadId" in q:
            return {"PUT": "UploadPart", "POST": "CompleteMultipartUpload",
                    "DELETE": "AbortMultipartUpload", "GET": "ListParts"}.get(m, "UploadPart")
        if "uploads" in q:
            return "CreateMultipartUpload"
        if m == "PUT":
            return "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(m, "Object")
    if "delete" in q and m == "POST":
        return "DeleteObjects"
    if m == "GET":
        for k, op in _S3_BUCKET_SUB.items():
            if k in q:
                return op
        return "ListObjectsV2" if q.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(m, "Bucket")


class Credential:
    """The parts of an Authorization header (None when absent or malformed)."""
    RX = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([\w-]+)/([\w-]+)/aws4_request,"
                    r"\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$")

    def __init__(self, header):
        m = self.RX.match((header or "").strip())
        self.ok = m is not None
        if m:
            self.akid, self.date, self.region, self.service, signed, _ = m.groups()
            self.signed = signed.lower().split(";")
        else:
            self.akid = self.region = self.service = None
            self.signed = []
            loose = re.search(r"Credential=([^/,\s]+)/\d+/([\w-]+)/([\w-]+)/", header or "")
            if loose:
                self.akid, self.region, self.service = loose.groups()


class Gateway:
    def __init__(self, app, sandbox):
        self.app = app
        self.sandbox = sandbox
        self._accounts = {}
        # moto's backends are not thread-safe (e.g. two AuthorizeSecurityGroupIngress
        # on one group at once can lose a rule). AWS is: one call at a time inside
        # moto. Faults and latency sleep outside the lock; the GIL serialized the
        # work anyway, so throughput stays the same.
        self.moto_lock = threading.RLock()

    # --- helpers ------------------------------------------------------------
    def account_of(self, akid):
        if not akid:
            return "anonymous"
        if akid in self._accounts:
            return self._accounts[akid]
        for account_id, backend in list(iam_backends.items()):
            if "aws" in backend.keys() and akid in backend["aws"].access_keys:
                self._accounts[akid] = account_id
                return account_id
        return "unknown"

    def forget_accounts(self):
        self._accounts.clear()

    @staticmethod
    def error(start_response, service, code, message, status):
        rid = str(uuid.uuid4())
        protocol = protocol_of(service) if service else "query"
        if protocol == "ec2":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                    f'<Message>{_xml(message)}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>')
            ctype = "text/xml;charset=UTF-8"
        elif protocol == "rest-xml":  # S3: a bare <Error> root, as S3 answers
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                    f'<Message>{_xml(message)}</Message><RequestId>{rid}</RequestId></Error>')
            ctype = "application/xml"
        elif protocol in ("query",):
            body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}'
                    f'</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>')
            ctype = "text/xml"
        else:
            body = json.dumps({"__type": code, "message": message, "Message": message})
            ctype = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        data = body.encode()
        start_response(f"{status} {_REASONS.get(status, 'Error')}",
                       [("Content-Type", ctype), ("Content-Length", str(len(data))),
                        ("x-amzn-RequestId", rid), ("x-amzn-ErrorType", code)])
        return [data]

    def _precheck(self, environ, body, cred, op=None):
        """AWS's refusals before any signature math: (code, message, status) or None."""
        header = environ.get("HTTP_AUTHORIZATION")
        if not header and op in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
            return None  # unsigned by design; auth.py checks the token and the trust policy
        if not header:
            return ("MissingAuthenticationToken", "Request is missing Authentication Token", 403)
        if not cred.ok:
            return ("IncompleteSignature", "Authorization header requires 'Credential', 'SignedHeaders' and "
                    "'Signature' parameters (AWS4-HMAC-SHA256).", 400)
        if "host" not in cred.signed or "x-amz-date" not in cred.signed:
            return ("IncompleteSignature", "The 'host' and 'x-amz-date' headers must be signed.", 400)
        amz_date = environ.get("HTTP_X_AMZ_DATE", "")
        try:
            t = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return ("IncompleteSignature", f"X-Amz-Date '{amz_date}' is not in the form YYYYMMDDTHHMMSSZ.", 400)
        if abs(time.time() - t.timestamp()) > SKEW_SECONDS:
            now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            if cred.service == "ec2":
                return ("RequestExpired", f"Request has expired (X-Amz-Date {amz_date}, now {now}).", 400)
            return ("SignatureDoesNotMatch",
                    f"Signature expired: {amz_date} is now earlier than {now} (more than 15 minutes of skew).",
                    403)
        if cred.date != amz_date[:8]:
            return ("SignatureDoesNotMatch", "The credential scope date does not match X-Amz-Date.", 403)
        bad = _checksum_refusal(environ, body)
        if bad:
            return bad
        declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
        if declared and declared != "UNSIGNED-PAYLOAD" and declared != hashlib.sha256(body).hexdigest():
            return ("XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.", 400)
        return None

    # --- WSGI ---------------------------------------------------------------
    def __call__(self, environ, start_response):
        try:
            n = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            n = 0
        if n > 0:
            body = environ["wsgi.input"].read(n)
        elif environ.get("wsgi.input_terminated"):  # chunked: read to its end
            body = environ["wsgi.input"].read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_kumo/") or path == "/_kumo":
            return self.sandbox.control.handle(environ, start_response, body)
        if path.startswith("/moto-api"):
            if path.startswith("/moto-api/reset-auth"):
                return self.error(start_response, None, "AccessDenied",
                                  "The sandbox always verifies signatures and permissions; "
                                  "/moto-api/reset-auth is disabled.", 403)
            if not self.sandbox.allow_moto_api:
                # moto's own routes are unsigned: anyone on the machine could change
                # state (seed, reset, state manager) behind the checks' back
                return self.error(start_response, None, "AccessDenied",
                                  f"{path} is moto's unsigned API, refused by default; use the sandbox's "
                                  "control API (/_kumo/..., see docs/sandbox.md) or start the sandbox with "
                                  "--allow-moto-api.", 403)
            if path.rstrip("/") == "/moto-api/reset":
                return self.sandbox.control.handle(dict(environ, PATH_INFO="/_kumo/reset"),
                                                   start_response, body)
            with self.moto_lock:
                return list(self.app(environ, start_response))

        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not raw:
            raw = path + ("?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else "")
        presigned_refusal = None
        if not environ.get("HTTP_AUTHORIZATION") and "X-Amz-Signature=" in environ.get("QUERY_STRING", ""):
            # a presigned URL: verified here (auth.verify_presigned), then the
            # same request goes on signed in the header form
            from .auth import verify_presigned
            presigned_refusal, rewrite = verify_presigned(environ, body, raw)
            if rewrite:
                raw, add = rewrite
                environ["RAW_URI"] = environ["REQUEST_URI"] = raw
                environ["QUERY_STRING"] = raw.partition("?")[2]
                for k, v in add.items():
                    environ["HTTP_" + k.upper().replace("-", "_")] = v
        cred = Credential(environ.get("HTTP_AUTHORIZATION"))
        if presigned_refusal:
            loose = re.search(r"X-Amz-Credential=[^%&/]+(?:%2F|/)\d+(?:%2F|/)[\w-]+(?:%2F|/)([\w-]+)",
                              environ.get("QUERY_STRING", ""))
            cred.service = loose.group(1) if loose else None
        service = cred.service
        op = operation_of(environ, body, service)
        account = self.account_of(cred.akid)
        key = self.sandbox.stats.record(account, service, op)

        t0 = time.monotonic()

        def counted_start_response(status, headers, exc_info=None):
            try:
                self.sandbox.stats.record_status(key, int(status.split()[0]))
            except ValueError:
                pass
            if self.sandbox.log_requests:
                # account, service:operation, status, time; never headers or bodies (secrets)
                print(f"{time.strftime('%H:%M:%S')} {account} {service}:{op} {status.split()[0]} "
                      f"{(time.monotonic() - t0) * 1000:.0f} ms", file=sys.stderr, flush=True)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        refusal = presigned_refusal or self._precheck(environ, body, cred, op)
        if refusal:
            return self.error(counted_start_response, service, *refusal)

        faults = self.sandbox.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        rule = faults.match(service, op, account)
        if rule:
            self.sandbox.stats.record_fault(rule["kind"])
            if rule["delay_ms"]:
                time.sleep(rule["delay_ms"] / 1000.0)
            if rule["kind"] == "drop":
                return self._drop(environ, counted_start_response)
            if rule["kind"] not in ("delay", "lose", "corrupt"):
                code, status, message = faults_mod.error_for(rule, service)
                return self.error(counted_start_response, service, code, message, status)

        if rule and rule["kind"] == "lose":
            # the call is carried out in full; only its answer is lost
            answered = []

            def keep_status(status, headers, exc_info=None):
                answered.append(status)
            with self.moto_lock:
                context.begin(raw, body)
                try:
                    list(self.app(environ, keep_status))
                finally:
                    context.end()
            if answered:  # the statistics count what the server did, not the lost answer
                self.sandbox.stats.record_status(key, int(answered[0].split()[0]))
            return self._drop(environ, start_response)
        with self.moto_lock:
            context.begin(raw, body)
            try:
                chunks = list(self.app(environ, counted_start_response))
            finally:
                context.end()
        if rule and rule["kind"] == "corrupt":
            chunks = _corrupt(chunks)
        return chunks

    @staticmethod
    def _drop(environ, start_response):
        """Close the connection without an answer."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        start_response("500 Dropped", [("Content-Length", "0"), ("Connection", "close")])
        return [b""]


def _corrupt(chunks):
    """The body with its middle byte flipped (the length stays the same)."""
    data = b"".join(chunks)
    if not data:
        return chunks
    i = len(data) // 2
    return [data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]]


_CRC32C_TABLE = []


def _crc32c(data):
    """CRC-32C (Castagnoli), bytewise: Python has none built in."""
    if not _CRC32C_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC32C_TABLE.append(c)
    c = 0xFFFFFFFF
    t = _CRC32C_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


CRC32C_MAX = 1 << 20  # pure Python: ~1 s per MiB; larger CRC32C bodies go unchecked


def _checksum_refusal(environ, body):
    """AWS (PutObject, "Checking object integrity"): "If the checksum that you
    specify doesn't match the object, Amazon S3 returns a BadDigest error" —
    for x-amz-checksum-crc32 / -crc32c / -sha1 / -sha256 and Content-MD5;
    moto stores whatever it is told. Bodies in aws-chunked encoding carry
    their checksum in a trailer and are not checked here."""
    import base64
    import struct
    import zlib
    if "aws-chunked" in environ.get("HTTP_CONTENT_ENCODING", ""):
        return None
    checks = {
        "HTTP_X_AMZ_CHECKSUM_CRC32": ("CRC32", lambda b: struct.pack(">I", zlib.crc32(b) & 0xFFFFFFFF)),
        "HTTP_X_AMZ_CHECKSUM_SHA1": ("SHA1", lambda b: hashlib.sha1(b).digest()),
        "HTTP_X_AMZ_CHECKSUM_SHA256": ("SHA256", lambda b: hashlib.sha256(b).digest()),
        "HTTP_CONTENT_MD5": ("Content-MD5", lambda b: hashlib.md5(b).digest()),
    }
    if len(body) <= CRC32C_MAX:
        checks["HTTP_X_AMZ_CHECKSUM_CRC32C"] = ("CRC32C", lambda b: struct.pack(">I", _crc32c(b)))
    for key, (name, fn) in checks.items():
        declared = environ.get(key)
        if declared is None:
            continue
        if base64.b64encode(fn(body)).decode() != declared.strip():
            if name == "Content-MD5":
                return ("BadDigest", "The Content-MD5 you specified did not match what we received.", 400)
            return ("BadDigest", f"The {name} you specified did not match the calculated checksum.", 400)
    return None


def _xml(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}
