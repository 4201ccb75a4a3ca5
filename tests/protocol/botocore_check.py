#!/usr/bin/env python3
"""Runs the output cases of protocol test files (botocore's format) through
the installed botocore's response parsers and checks botocore gives each
case's expectation, as tests/protocol/run.lua checks kumo on the same bytes.
Together they make the cases a differential test: a case that passes both
is a place where kumo and botocore agree.

    python3 tests/protocol/botocore_check.py [-v] FILE...

A case's expectation is `result` (the parsed output), `errorCode` /
`errorMessage` / `error` (an error response, parsed as botocore's client
does: the generic error, then the modeled error shape), or `raises` (a
parse error; botocore's own message differs from kumo's, so only the
failure is checked here). A case with `botocoreDiffers` (the reason) is one
where kumo knowingly does not do what botocore does: botocore must still
give something else, else the note is stale and the runner says so.
Prints `N passed, N failed`.
"""
import base64
import datetime
import json
import sys

from botocore import parsers
from botocore.awsrequest import HeadersDict
from botocore.eventstream import EventStream
from botocore.model import OperationModel, ServiceModel


class Body(bytes):
    """A response body that is also a raw stream (for EventStream)."""

    def stream(self, **_):
        yield bytes(self)


def plain(v):
    """botocore's parsed values as JSON-like values (the cases' terms)."""
    if isinstance(v, EventStream):
        return [plain(e) for e in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    return v


def same(exp, act, path="result"):
    """Compare as run.lua does: an expected null is an absent member."""
    if isinstance(exp, dict):
        if not isinstance(act, dict):
            return f"{path}: expected {exp!r}, got {act!r}"
        for k, v in exp.items():
            if v is None and k not in act:
                continue
            why = same(v, act.get(k), f"{path}.{k}")
            if why:
                return why
        for k in act:
            if k not in exp:
                return f"{path}: unexpected member {k} = {act[k]!r}"
        return None
    if isinstance(exp, list):
        if not isinstance(act, list) or len(act) != len(exp):
            return f"{path}: expected {exp!r}, got {act!r}"
        for i, (e, a) in enumerate(zip(exp, act)):
            why = same(e, a, f"{path}[{i}]")
            if why:
                return why
        return None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) \
            and isinstance(act, (int, float)) and not isinstance(act, bool):
        if abs(exp - act) < 1e-6 * max(1, abs(exp)):
            return None
    if exp == act and type(exp) is type(act):
        return None
    return f"{path}: expected {exp!r}, got {act!r}"


def response_of(case, output_shape):
    r = case["response"]
    body = r.get("body", "").encode()
    if output_shape is not None and output_shape.event_stream_name:
        body = base64.b64decode(body)
    elif output_shape is not None and "payload" in output_shape.serialization:
        member = output_shape.members[output_shape.serialization["payload"]]
        if member.serialization.get("eventstream"):
            body = base64.b64decode(body)
    headers = HeadersDict(r.get("headers", {}))  # case-insensitive, as a real response
    return {"status_code": r["status_code"], "headers": headers, "body": Body(body),
            "context": {"operation_name": case["given"]["name"]}}


def check(suite, case):
    model = ServiceModel({"metadata": suite["metadata"], "shapes": suite["shapes"],
                          "operations": {case["given"]["name"]: case["given"]}})
    op = OperationModel(case["given"], model, case["given"]["name"])
    parser = parsers.create_parser(suite["metadata"]["protocol"])
    res = response_of(case, op.output_shape)
    if "raises" in case:
        try:
            parsed = plain(parser.parse(res, op.output_shape))
        except Exception:  # noqa: BLE001 - any parse failure is what is expected
            return None
        return f"expected a parse error, got {parsed!r}"
    if "errorCode" in case:
        parsed = parser.parse(res, op.output_shape)
        code = parsed.get("Error", {}).get("Code")
        if code != case["errorCode"]:
            return f"error code: expected {case['errorCode']}, got {code}"
        if "errorMessage" in case and parsed["Error"].get("Message") != case["errorMessage"]:
            return f"error message: expected {case['errorMessage']!r}, got {parsed['Error']!r}"
        fields = {}
        for shape in op.error_shapes:
            if shape.error_code == code:
                fields = plain(parser.parse(res, shape))
        return same(case.get("error", {}), fields, "error")
    return same(case.get("result", {}), plain(parser.parse(res, op.output_shape)))


def main(argv):
    verbose = "-v" in argv
    files = [a for a in argv if a != "-v"]
    passed = failed = known = 0
    stale = []
    for path in files:
        with open(path) as f:
            suites = json.load(f)
        for suite in suites:
            for i, case in enumerate(suite["cases"], 1):
                name = case.get("id") or f"{path}: {suite['description']} #{i}"
                try:
                    why = check(suite, case)
                except Exception as e:  # noqa: BLE001 - reported as the case's failure
                    why = f"raised {type(e).__name__}: {e}"
                differs = case.get("botocoreDiffers")
                if differs and why:
                    known += 1
                    if verbose:
                        print(f"diff {name} ({differs})\n   {why}")
                elif differs:
                    passed += 1
                    stale.append(name)
                elif why:
                    failed += 1
                    print(f"FAIL {name}\n   {why}")
                else:
                    passed += 1
                    if verbose:
                        print(f"ok   {name}")
    for name in stale:
        print(f"note: botocore now agrees, drop its botocoreDiffers: {name}")
    if known:
        print(f"{known} known differences from botocore (botocoreDiffers in the cases)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
