"""Reference side of kumo.sigv4's differential test: botocore's signers.

Generates randomized requests (methods, paths with odd characters, queries,
repeated and odd headers, bodies, session tokens, hosts with ports) and signs
each with botocore (SigV4Auth, S3SigV4Auth, SigV4QueryAuth,
S3SigV4QueryAuth) at a fixed time. Writes JSON: a list of cases, each with
the kumo.sigv4 fields and what botocore produced. tests/sigv4/differential.lua
signs the same cases with kumo and compares.

botocore signs the query of a URL as it stands (it does not re-encode it), so
queries and S3 paths are generated canonically encoded, as botocore's own
serializers would produce them; kumo decodes and re-encodes, so both agree.

Usage: python3 tests/sigv4/differential.py [--seed N] [--count N] > cases.json
"""

import argparse
import copy
import datetime
import json
import random
import sys
from urllib.parse import parse_qsl, quote, urlsplit

import botocore.auth
from botocore.auth import (S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth,
                           SigV4QueryAuth)
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"]
HOSTS = [
    "example.amazonaws.com", "rds.ap-northeast-1.amazonaws.com",
    "Mixed.Case.AmazonAWS.com", "localhost:4566", "127.0.0.1:8443",
    "bucket.s3.us-west-2.amazonaws.com", "[::1]:9000",
]
REGIONS = ["us-east-1", "ap-northeast-1", "eu-west-3", "us-gov-west-1",
           "cn-north-1"]
SERVICES = ["rds", "ec2", "s3", "sts", "iam", "execute-api", "service"]
# Path characters, odd ones included ('?' and '#' would end the path).
PATH_CHARS = (list("abcXYZ019-._~") +
              [" ", "$", "+", "=", "@", ":", "!", "*", "'", "(", ")", ",",
               ";", "%", "&", "\u1234", "\u00e9", "\U0001F600", "[", "]"])
TEXT_CHARS = list("abcXYZ019-._~ !$&'()*+,;=:@/?%#[]\"<>\\^`{|}") + [
    "\u1234", "\u00e9", "\t"]
HEADER_NAMES = ["X-Custom", "x-amz-meta-Foo", "My-Header1", "Content-Type",
                "Accept", "Cache-Control", "X-Amz-Target", "x-amz-meta-bar",
                "X-!#$%&'*+.^_`|~", "ETag", "Content-MD5", "If-Match"]
UNSIGNED_NAMES = ["User-Agent", "Expect", "Connection", "X-Amzn-Trace-Id",
                  "Transfer-Encoding", "Keep-Alive", "TE", "Upgrade"]
VALUE_CHARS = list("abcXYZ019-._~!\"#$%&'()*+,/:;<=>?@[\\]^`{|}") + [
    "\u00e9", "\u1234"]
SPACES = [" ", "  ", "\t", " \t ", "\n  ", "\r\n\t"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def rand_str(rng, chars, lo, hi):
    return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))


def rand_path(rng, encoded):
    segs = []
    for _ in range(rng.randint(0, 5)):
        r = rng.random()
        if r < 0.08:
            segs.append("")
        elif r < 0.14:
            segs.append(".")
        elif r < 0.2:
            segs.append("..")
        else:
            segs.append(rand_str(rng, PATH_CHARS, 1, 8))
    path = "/" + "/".join(segs)
    if segs and rng.random() < 0.3:
        path += "/"
    if encoded:  # S3: the key as botocore's serializer encodes it
        path = quote(path, safe="/~")
    return path


def rand_query(rng, unique):
    pairs = []
    keys = set()
    for _ in range(rng.randint(0, 6)):
        k = quote(rand_str(rng, TEXT_CHARS, 1, 6), safe="-_.~")
        if unique and k in keys:
            continue
        keys.add(k)
        r = rng.random()
        if r < 0.15:
            pairs.append(k)  # no '=': signed as "k="
        elif r < 0.3:
            pairs.append(k + "=")
        else:
            pairs.append(k + "=" + quote(rand_str(rng, TEXT_CHARS, 1, 10),
                                         safe="-_.~"))
        if not unique and rng.random() < 0.15:  # a repeated key
            pairs.append(k + "=" + quote(rand_str(rng, TEXT_CHARS, 0, 4),
                                         safe="-_.~"))
    rng.shuffle(pairs)
    return "&".join(pairs)


def rand_value(rng):
    words = [rand_str(rng, VALUE_CHARS, 0, 8)
             for _ in range(rng.randint(0, 3))]
    v = ""
    for w in words:
        v += (rng.choice(SPACES) if rng.random() < 0.4 else " ") + w
    if rng.random() < 0.3:
        v += rng.choice(SPACES)
    if rng.random() < 0.5:
        v = v.strip(" \t\r\n")
    return v


def rand_case_name(rng, name):
    return "".join(c.upper() if rng.random() < 0.5 else c.lower()
                   for c in name)


def rand_headers(rng, host, form):
    headers = []
    if rng.random() < 0.5:
        headers.append([rng.choice(["Host", "host", "HOST"]), host.lower()])
    for _ in range(rng.randint(0, 6)):
        name = rng.choice(HEADER_NAMES)
        if form == "query" and name.lower() == "content-type":
            continue  # botocore drops its own form content type there
        headers.append([rand_case_name(rng, name), rand_value(rng)])
        if rng.random() < 0.2:  # the same name again, maybe other case
            headers.append([rand_case_name(rng, name), rand_value(rng)])
    if rng.random() < 0.3:
        headers.append([rng.choice(UNSIGNED_NAMES), rand_value(rng)])
    rng.shuffle(headers)
    return headers


def fixed_now(t):
    dt = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return lambda: dt.replace(tzinfo=None)


def botocore_sign(signer, req, t):
    """add_auth's own steps at a fixed time, keeping each stage."""
    ts = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    req.context["timestamp"] = ts.strftime("%Y%m%dT%H%M%SZ")
    signer._modify_request_before_signing(req)
    cr = signer.canonical_request(req)
    sts = signer.string_to_sign(req, cr)
    sig = signer.signature(sts, req)
    signer._inject_signature_to_request(req, sig)
    return cr, sts, sig


def make_case(rng, i):
    variant = rng.choice(["v4", "v4", "v4", "v4-unsigned", "s3", "query",
                          "query", "s3-query"])
    form = "query" if "query" in variant else "header"
    s3 = variant.startswith("s3")
    scheme = "https" if variant == "v4-unsigned" or rng.random() < 0.8 \
        else "http"
    host = rng.choice(HOSTS)
    url_host = host
    if rng.random() < 0.1 and ":" not in host:
        url_host = host + (":443" if scheme == "https" else ":80")
    path = rand_path(rng, s3)
    query = rand_query(rng, unique=(form == "query"))
    url = f"{scheme}://{url_host}{path}" + (f"?{query}" if query else "")
    method = rng.choice(METHODS)
    headers = rand_headers(rng, host, form)
    body = b""
    if form == "header" and rng.random() < 0.6:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    key_id = "AKIA" + rand_str(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16)
    secret = rand_str(rng, B64, 40, 40)
    token = None
    if rng.random() < 0.4:
        token = rand_str(rng, B64 + "=", 40, 300)
    t = rng.randint(946684800, 2082758399)  # 2000 .. 2035
    region = rng.choice(REGIONS)
    service = "s3" if s3 else rng.choice(SERVICES)
    expires = rng.randint(1, 604800)
    amz_date = datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if form == "header" and rng.random() < 0.15:  # a retried request
        headers.append(["Authorization", "AWS4-HMAC-SHA256 stale"])
    if form == "header" and rng.random() < 0.15:  # carried X-Amz-Date
        headers.append([rand_case_name(rng, "X-Amz-Date"), amz_date])
    if form == "header" and token and rng.random() < 0.2:
        headers.append(["X-Amz-Security-Token", token])  # carried token

    creds = Credentials(key_id, secret, token)
    if variant in ("v4", "v4-unsigned"):
        signer = SigV4Auth(creds, service, region)
    elif variant == "s3":
        signer = S3SigV4Auth(creds, service, region)
    elif variant == "query":
        signer = SigV4QueryAuth(creds, service, region, expires=expires)
    else:
        signer = S3SigV4QueryAuth(creds, service, region, expires=expires)

    def request():
        req = AWSRequest(method=method, url=url, data=body)
        for n, v in headers:
            req.headers[n] = v
        if variant == "v4-unsigned":
            req.context["payload_signing_enabled"] = False
        return req

    req = request()
    cr, sts, sig = botocore_sign(signer, req, t)

    # The same through add_auth itself (clock patched), as a cross-check.
    check = request()
    saved = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = fixed_now(t)
    try:
        copy.copy(signer).add_auth(check)
    finally:
        botocore.auth.get_current_datetime = saved
    if form == "header":
        assert check.headers["Authorization"] == req.headers["Authorization"]
    else:
        assert check.url == req.url

    expect = {"canonical_request": cr, "string_to_sign": sts,
              "signature": sig}
    if form == "header":
        expect["authorization"] = req.headers["Authorization"]
        given = {n.lower() for n, _ in headers}
        expect["added"] = sorted(
            [n.lower(), v] for n, v in req.headers.items()
            if n.lower() not in given or n.lower() == "authorization")
    else:
        expect["query"] = sorted(
            f"{k}={v}" for k, v in parse_qsl(urlsplit(req.url).query,
                                             keep_blank_values=True))

    fields = {
        "method": method, "url": url, "headers": headers,
        "body_hex": body.hex(), "region": region, "service": service,
        "access_key_id": key_id, "secret_access_key": secret,
        "session_token": token, "time": t,
        "normalize_path": not s3,
        "sign_body_hash_header": variant in ("s3", "v4-unsigned"),
        "unsigned_payload": variant in ("v4-unsigned", "s3-query"),
    }
    if form == "query":
        fields["expires"] = expires
    return {"id": i, "variant": variant, "form": form, "fields": fields,
            "expect": expect}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=20150830)
    ap.add_argument("--count", type=int, default=400)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    cases = [make_case(rng, i) for i in range(1, args.count + 1)]
    json.dump({"seed": args.seed, "cases": cases}, sys.stdout)


if __name__ == "__main__":
    main()
