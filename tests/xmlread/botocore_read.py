#!/usr/bin/env python3
"""botocore's parse of the client bench's canned query and ec2 responses
(bench/client/cases.json), as JSON for tests/xmlread/xmlread_spec.lua:
{case name: {"result": output without ResponseMetadata, "request_id": id}}.
Timestamps are seconds since the epoch, blobs their bytes as text.

    python3 tests/xmlread/botocore_read.py bench/client/cases.json
"""
import datetime
import json
import sys

import botocore.session
from botocore import parsers
from botocore.awsrequest import HeadersDict


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    return v


def main(path):
    with open(path) as f:
        cases = json.load(f)
    session = botocore.session.get_session()
    out = {}
    for case in cases:
        model = session.get_service_model(case["service"])
        if model.protocol not in ("query", "ec2"):
            continue
        op = model.operation_model(case["op"])
        res = {"status_code": 200, "headers": HeadersDict(case.get("headers") or {}),
               "body": case["body"].encode()}
        parsed = parsers.create_parser(model.protocol).parse(res, op.output_shape)
        rid = parsed.get("ResponseMetadata", {}).get("RequestId")
        out[case["name"]] = {"result": plain(parsed), "request_id": rid}
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
