#!/usr/bin/env python3
"""The botocore side of the catalogue's differential serializer test.

For every operation of every service botocore has a service-2 model of,
generates inputs from the operation's input shape (seeded: the same
inputs on every run; several per operation, covering nested structures,
lists, maps, blobs, timestamps, enums, documents, unions, host labels and
the URI, query, header and prefix-header bindings) and writes one JSON line
per input: the input and botocore's serialized request for it (method,
URL at https://svc.example.com with host prefix and query, headers, body in
base64), from botocore's own serializer and its prepare_request_dict.
kumo_side.lua serializes the same inputs; compare.py sets the two side by
side.

    python3 botocore_side.py [--per-op N] [--seed S] [SERVICE...] > cases.jsonl

Inputs are JSON values both sides read alike: blobs are text, timestamps
are epoch numbers or ISO 8601 text, floats are never integral (JSON cannot
tell 2.0 from 2).  Idempotency tokens are always given (botocore fills
them in a handler, not in its serializer).  Event stream inputs are left
out (botocore sends them over HTTP/2 only; neither side serializes them
into a body).
"""
import argparse
import base64
import json
import random
import sys
import zlib

from botocore.awsrequest import AWSRequest, prepare_request_dict
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.serialize import create_serializer
from botocore.utils import PRIORITY_ORDERED_SUPPORTED_PROTOCOLS

ENDPOINT = "https://svc.example.com"

# Text that tests the encodings: spaces, reserved and unreserved marks,
# slashes, non-ASCII, and XML/JSON specials.
TEXTS = ["alpha", "a b", "x/y", "\u00fc-\u00f1 \u6771", "a+b=c&d", "~t_.-", "q?#%",
         "<tag>&\"'", "123", "CamelCase"]
HEADER_TEXTS = ["alpha", "a b", "a+b=c&d", "~t_.-", "123", "v1,v2"]
LABEL_TEXTS = ["alpha", "a b", "x~y", "a+b", "\u00fc", "q?#%", "a:b"]
GREEDY_TEXTS = ["dir/sub/key", "a b/c+d", "x~y/z", "//double", "x"]
HOST_LABELS = ["alpha", "b2c", "my-name"]
TIMES = [1700000000, 1700000000.5, "2024-02-29T12:34:56Z", "2024-02-29T12:34:56.789Z",
         0, 1234567890.125]
FLOATS = [0.5, 1.25, -3.5, 12345.75, 1e-7 + 0.5]
DEPTH = 4


def protocol_of(meta):
    offered = meta.get("protocols") or [meta["protocol"]]
    for p in PRIORITY_ORDERED_SUPPORTED_PROTOCOLS:
        if p in offered:
            return p
    return offered[0]


class Gen:
    def __init__(self, rnd):
        self.r = rnd

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def scalar(self, shape, loc=None, ref=None):
        t = shape.type_name
        r = self.r
        if t == "string":
            if shape.enum:
                return self.pick(shape.enum)
            if ref is not None and ref.serialization.get("hostLabel"):
                return self.pick(HOST_LABELS)
            if loc == "header":
                if shape.serialization.get("jsonvalue") or (ref is not None and
                                                             ref.serialization.get("jsonvalue")):
                    return {"k": "v", "n": [1, 2]}
                return self.pick(HEADER_TEXTS)
            if loc == "uri":
                return self.pick(LABEL_TEXTS)
            return self.pick(TEXTS)
        if t in ("integer", "long"):
            return r.randrange(0, 100000)
        if t in ("float", "double"):
            return self.pick(FLOATS)
        if t == "boolean":
            return r.random() < 0.5
        if t == "blob":
            return "blob \u00e9 data %d" % r.randrange(100)
        if t == "timestamp":
            return self.pick(TIMES)
        raise ValueError("no scalar " + t)

    def value(self, shape, depth, loc=None, ref=None, located=False):
        t = shape.type_name
        r = self.r
        if t == "structure":
            if shape.metadata.get("document"):
                return {"doc": [1, "two", {"three": True}]}
            return self.structure(shape, depth, located)
        if t == "list":
            n = 0 if r.random() < 0.1 else r.randrange(1, 3)
            if depth >= DEPTH:
                n = min(n, 1)
            member_loc = loc if loc in ("header", "querystring") else None
            return [self.value(shape.member, depth + 1, member_loc) for _ in range(n)]
        if t == "map":
            n = r.randrange(1, 3)
            out = {}
            for i in range(n):  # (keys are sorted below)
                k = shape.key
                key = self.pick(k.enum) if k.enum else ("key%d" % i if loc == "headers"
                                                         else self.pick(["k1", "k 2", "k/3", "k\u00e94"]))
                vloc = "header" if loc == "headers" else ("querystring" if loc == "querystring" else None)
                out[key] = self.value(shape.value, depth + 1, vloc)
            # in key order: kumo (a Lua table has none) sends map entries
            # sorted, botocore in the dict's order; the order means nothing
            return dict(sorted(out.items()))
        return self.scalar(shape, loc, ref)

    def structure(self, shape, depth, located=False):
        r = self.r
        members = shape.members
        required = set(shape.required_members)
        out = {}
        if shape.is_tagged_union:
            names = [n for n, m in members.items() if not is_eventstream(m)]
            if names:
                name = self.pick(names)
                out[name] = self.value(members[name], depth + 1)
            return out
        for name, m in members.items():
            if is_eventstream(m):
                continue
            token = m.metadata.get("idempotencyToken")
            loc = m.serialization.get("location") if located else None
            if loc == "statusCode":
                continue
            if name in required or token or loc == "uri":
                pass
            elif depth >= DEPTH or r.random() < 0.4:
                continue
            if token:
                out[name] = "token-%08x" % r.randrange(1 << 32)
                continue
            if loc == "uri" and m.type_name == "string" and not m.enum:
                out[name] = self.pick(LABEL_TEXTS)
                continue
            out[name] = self.value(m, depth + 1, loc, m)
        return out


def is_eventstream(shape):
    return bool(shape.serialization.get("eventstream") or shape.metadata.get("eventstream"))


def has_eventstream_input(op):
    shape = op.input_shape
    return shape is not None and any(is_eventstream(m) for m in shape.members.values())


def greedy_members(op):
    """Members bound to a greedy URI label ({Key+})."""
    uri = op.http.get("requestUri", "")
    out = set()
    for part in uri.split("{")[1:]:
        name = part.split("}")[0]
        if name.endswith("+"):
            out.add(name[:-1])
    return out


def jsonable(v):
    return json.loads(json.dumps(v))


def request_of(serializer, op, params):
    d = serializer.serialize_to_request(params, op)
    prepare_request_dict(d, ENDPOINT)
    # the request botocore would send: AWSRequest form-encodes a dict body
    req = AWSRequest(method=d["method"], url=d["url"], data=d["body"],
                     headers=d["headers"]).prepare()
    body = req.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    return {"method": req.method, "url": req.url,
            "headers": {k.lower(): v if isinstance(v, str) else v.decode("latin-1")
                        for k, v in req.headers.items()},
            "body": base64.b64encode(body or b"").decode("ascii")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-op", type=int, default=3)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("services", nargs="*")
    args = ap.parse_args()
    loader = Loader()
    services = args.services or loader.list_available_services("service-2")
    out = sys.stdout
    n = 0
    for svc_name in services:
        raw = loader.load_service_model(svc_name, "service-2")
        protocol = protocol_of(raw["metadata"])
        model = ServiceModel(raw, svc_name)
        serializer = create_serializer(protocol, include_validation=False)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            if has_eventstream_input(op):
                out.write(json.dumps({"id": n, "s": svc_name, "o": op_name, "p": protocol,
                                      "skip": "event stream input"}) + "\n")
                n += 1
                continue
            greedy = greedy_members(op)
            for i in range(args.per_op):
                rnd = random.Random(zlib.crc32(("%s.%s.%d.%d" % (svc_name, op_name, i, args.seed))
                                               .encode()))
                gen = Gen(rnd)
                params = gen.structure(op.input_shape, 0, located=True) if op.input_shape else {}
                for g in greedy:
                    if g in params and isinstance(params[g], str):
                        params[g] = gen.pick(GREEDY_TEXTS)
                params = jsonable(params)
                line = {"id": n, "s": svc_name, "o": op_name, "p": protocol, "in": params}
                try:
                    line["b"] = request_of(serializer, op, params)
                except Exception as e:  # both sides refusing is agreement
                    line["b"] = {"err": "%s: %s" % (type(e).__name__, e)}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                n += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
