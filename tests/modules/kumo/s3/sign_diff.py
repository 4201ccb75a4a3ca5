"""botocore's side of the S3 request differential: for each request kumo made
(JSON lines from sign_diff.lua on stdin), botocore makes the same call with
the same settings at kumo's X-Amz-Date, and the two requests are compared:
method, URL, the signed headers' values, the signature, the body. Prints TAP.

botocore's own headers that kumo does not send (amz-sdk-invocation-id,
amz-sdk-request) are dropped before signing; User-Agent is never signed."""
import datetime
import json
import sys
from unittest import mock

import botocore.auth
import botocore.session
from botocore.config import Config


class Captured(Exception):
    def __init__(self, request):
        self.request = request


def strip_sdk_headers(request, **kwargs):
    for h in ("amz-sdk-invocation-id", "amz-sdk-request"):
        if h in request.headers:
            del request.headers[h]


def capture(request, **kwargs):
    raise Captured(request)


SESSION = botocore.session.get_session()
CLIENTS = {}


def client_for(case):
    key = (case["region"], case["endpoint_url"], json.dumps(case["s3"]), case["calc"], case.get("presign"))
    if key not in CLIENTS:
        # botocore presigns in SigV2 unless asked for s3v4 (kumo speaks SigV4 only)
        cfg = Config(s3=case["s3"] or None, request_checksum_calculation=case["calc"],
                     response_checksum_validation=case["calc"], retries={"max_attempts": 1},
                     signature_version="s3v4" if case.get("presign") else None)
        c = SESSION.create_client("s3", region_name=case["region"], endpoint_url=case["endpoint_url"],
                                  aws_access_key_id="AKIDEXAMPLE",
                                  aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  config=cfg)
        c.meta.events.register_first("before-sign.s3", strip_sdk_headers)
        c.meta.events.register("before-send.s3", capture)
        CLIENTS[key] = c
    return CLIENTS[key]


def snake(op):
    return botocore.xform_name(op)


def botocore_request(case, amz_date):
    t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    c = client_for(case)
    params = dict(case["params"])
    if "Body" in params:
        params["Body"] = params["Body"].encode("utf-8")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=t):
        try:
            getattr(c, snake(case["op"]))(**params)
        except Captured as e:
            return e.request
    raise AssertionError("botocore sent nothing")


def headers_of(pairs):
    return {k.lower(): v for k, v in pairs}


def compare_presign(case):
    from urllib.parse import parse_qsl, urlsplit
    t = datetime.datetime.fromtimestamp(case["time"], tz=datetime.timezone.utc)
    c = client_for(case)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=t):
        want = c.generate_presigned_url(snake(case["op"]), Params=case["params"], ExpiresIn=900)
    got = case["url"]
    gs, ws = urlsplit(got), urlsplit(want)
    diffs = []
    if (gs.scheme, gs.netloc, gs.path) != (ws.scheme, ws.netloc, ws.path):
        diffs.append(f"url {got} vs botocore {want}")
    gq, wq = sorted(parse_qsl(gs.query, keep_blank_values=True)), sorted(parse_qsl(ws.query, keep_blank_values=True))
    if gq != wq:
        diffs.append(f"query {gq} vs botocore {wq}")
    return "; ".join(diffs)


def compare(case):
    if case["error"] is not None:
        return "kumo raised: " + case["error"]
    if case.get("presign"):
        return compare_presign(case)
    kh = headers_of(case["headers"])
    req = botocore_request(case, kh["x-amz-date"])
    bh = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in req.headers.items()}
    diffs = []
    if req.method != case["method"]:
        diffs.append(f"method {case['method']} vs botocore {req.method}")
    if req.url != case["url"]:
        diffs.append(f"url {case['url']} vs botocore {req.url}")
    signed = bh.get("authorization", "").split("SignedHeaders=")[-1].split(",")[0].split(";")
    for name in sorted(set(signed) | {"authorization", "x-amz-content-sha256"}
                       | {h for h in bh if h.startswith("x-amz-checksum") or h == "content-md5"}
                       | {h for h in kh if h.startswith("x-amz-checksum") or h == "content-md5"}):
        if name in ("host",):
            continue
        if kh.get(name) != bh.get(name):
            diffs.append(f"{name}: {kh.get(name)!r} vs botocore {bh.get(name)!r}")
    body = req.body or b""
    if isinstance(body, str):
        body = body.encode()
    if hasattr(body, "read"):
        body = body.read()
    if body != case["body"].encode("utf-8"):
        diffs.append(f"body {case['body'][:80]!r} vs botocore {body[:80]!r}")
    return "; ".join(diffs)


def main():
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    print(f"1..{len(cases)}")
    bad = 0
    for i, case in enumerate(cases, 1):
        try:
            d = compare(case)
        except Exception as e:  # a botocore refusal is a difference too
            d = f"botocore raised {type(e).__name__}: {e}"
        if d:
            bad += 1
            print(f"not ok {i} - {case['case']}\n# {d}")
        else:
            print(f"ok {i} - {case['case']}")
    print(f"# {len(cases) - bad} of {len(cases)} S3 requests agree with botocore "
          f"{botocore.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
