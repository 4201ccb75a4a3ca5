#!/usr/bin/env python3
"""Compares botocore's and kumo's serialized requests for the catalogue's
generated inputs (botocore_side.py, kumo_side.lua) and reports agreement
per protocol; prints TAP, one test per service.

    python3 compare.py BOTOCORE.jsonl KUMO.jsonl KNOWN.json [-v]

Compared: the method; the URL's scheme, host (with the host prefix) and
path exactly, its query as the multiset of its (still percent-encoded)
key=value pairs; the headers a serializer sets (names case-insensitive;
Content-Length, Host and User-Agent are the HTTP layer's); the body parsed
per protocol: form pairs (query, ec2), JSON values (json, rest-json
bodies), the XML tree (rest-xml bodies), else bytes.  Both sides refusing
an input is agreement.

KNOWN.json lists the differences explained as botocore's (its bugs, or an
equivalent spelling it chose): entries {"rule", "protocols" (list or "*"),
"why"}, where rule names one of RULES below: a rewrite of kumo's request
into what botocore's quirk makes of it.  An input whose requests agree once
the rules of its protocol are applied counts as explained (not as agreeing);
a rule that explains no input is stale and fails.
"""
import copy
import re
import base64
import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from urllib.parse import parse_qsl, urlsplit

IGNORED_HEADERS = {"content-length", "host", "user-agent"}


def norm_json(v):
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, dict):
        return {k: norm_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm_json(x) for x in v]
    return v


def xml_tree(e):
    tag = e.tag.split("}")[-1]
    ns = e.tag[1:].split("}")[0] if e.tag.startswith("{") else None
    return [tag, ns, sorted(e.attrib.items()), (e.text or "").strip(),
            [xml_tree(c) for c in e]]


def body_of(protocol, headers, raw):
    ctype = headers.get("content-type", "")
    if protocol in ("query", "ec2"):
        return ["form", sorted(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))]
    if raw and ("json" in ctype or protocol == "json" or raw[:1] in (b"{", b"[")):
        try:
            return ["json", norm_json(json.loads(raw))]
        except ValueError:
            pass
    if raw and protocol == "rest-xml" and "xml" in ctype or raw.startswith(b"<"):
        try:
            return ["xml", xml_tree(ET.fromstring(raw))]
        except ET.ParseError:
            pass
    return ["bytes", raw.decode("latin-1")]


def request_of(protocol, side):
    if "err" in side:
        return {"refusal": True}
    u = urlsplit(side["url"])
    headers = side["headers"]
    if isinstance(headers, list):
        merged = {}
        for name, value in headers:
            name = name.lower()
            merged[name] = merged[name] + "," + value if name in merged else value
        headers = merged
    headers = {k.lower(): v for k, v in headers.items() if k.lower() not in IGNORED_HEADERS}
    return {
        "method": side["method"],
        "url": [u.scheme, u.netloc, u.path, sorted(u.query.split("&")) if u.query else []],
        "headers": headers,
        "body": body_of(protocol, headers, base64.b64decode(side["body"])),
    }


def map_strings(v, fn):
    if isinstance(v, str):
        return fn(v)
    if isinstance(v, dict):
        return {k: map_strings(x, fn) for k, x in v.items()}
    if isinstance(v, tuple):
        return tuple(map_strings(x, fn) for x in v)
    if isinstance(v, list):
        return [map_strings(x, fn) for x in v]
    return v


def truncate_epochs(v):
    """Epoch-seconds numbers (generated ones are >= 1e8; no other generated
    number is) lose their fraction."""
    if isinstance(v, float) and v >= 1e8:
        return int(v)
    if isinstance(v, dict):
        return {k: truncate_epochs(x) for k, x in v.items()}
    if isinstance(v, list):
        return [truncate_epochs(x) for x in v]
    return v


EPOCH_TEXT = re.compile(r"(^|=)(\d{9,10})\.\d+$")
ISO_MILLIS = re.compile(r"(\d\d(?::|%3A)\d\d)\.(\d{3})Z")
ISO_FRACTION = re.compile(r"(\d\d:\d\d)\.\d+Z$")


def rule_epoch_fraction(req, boto):
    body = req["body"]
    if body[0] == "json":
        req["body"] = ["json", truncate_epochs(body[1])]
    fn = lambda s: EPOCH_TEXT.sub(r"\1\2", s)
    req["url"][3] = [fn(q) for q in req["url"][3]]
    req["headers"] = {k: fn(v) for k, v in req["headers"].items()}
    return req


def rule_header_iso_fraction(req, boto):
    req["headers"] = {k: ISO_FRACTION.sub(r"\1Z", v) for k, v in req["headers"].items()}
    return req


def rule_iso_microseconds(req, boto):
    fn = lambda s: ISO_MILLIS.sub(r"\1.\g<2>000Z", s)
    req["url"] = map_strings(req["url"], fn)
    req["body"] = map_strings(req["body"], fn)
    return req


def drop_header(name, values=None):
    def rule(req, boto):
        v = req["headers"].get(name)
        if v is not None and name not in boto["headers"] and (values is None or v in values):
            del req["headers"][name]
        return req
    return rule


RULES = {
    "epoch-seconds-fraction": rule_epoch_fraction,
    "header-iso8601-fraction": rule_header_iso_fraction,
    "iso8601-microseconds": rule_iso_microseconds,
    "xml-content-type": drop_header("content-type"),
    "payload-content-type": drop_header("content-type",
                                        ("application/octet-stream", "text/plain")),
    "content-md5": drop_header("content-md5"),
}


def differences(protocol, b, k, rules=()):
    """The fields that differ, and the rules that made a difference vanish."""
    rb, rk = request_of(protocol, b), request_of(protocol, k)
    if rb.get("refusal") or rk.get("refusal"):
        if rb.get("refusal") and rk.get("refusal"):
            return {}, []
        return {"refusal": (b.get("err"), k.get("err"))}, []
    fields = ("method", "url", "headers", "body")
    diff = {f: (rb[f], rk[f]) for f in fields if rb[f] != rk[f]}
    if not diff or not rules:
        return diff, []
    used = []
    for name in rules:
        before = copy.deepcopy(rk)
        rk = RULES[name](rk, rb)
        if rk != before:
            used.append(name)
    after = {f: (rb[f], rk[f]) for f in fields if rb[f] != rk[f]}
    return (diff, []) if after else ({}, used)


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv
    with open(args[2], encoding="utf-8") as f:
        known = json.load(f)["rules"]
    for e in known:
        if e["rule"] not in RULES:
            raise SystemExit("compare.py: %s names no rule of compare.py" % e["rule"])
    kumo = {}
    with open(args[1], encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            kumo[r["id"]] = r
    per_service = defaultdict(lambda: {"p": None, "n": 0, "agree": 0, "explained": 0,
                                       "skipped": 0, "bad": []})
    per_protocol = defaultdict(lambda: [0, 0, 0, 0])  # inputs, agree, explained, skipped
    used = set()
    with open(args[0], encoding="utf-8") as f:
        for line in f:
            c = json.loads(line)
            s = per_service[c["s"]]
            s["p"] = c["p"]
            pp = per_protocol[c["p"]]
            if "skip" in c:
                s["skipped"] += 1
                pp[3] += 1
                continue
            s["n"] += 1
            pp[0] += 1
            k = kumo.get(c["id"])
            if k is None:
                s["bad"].append((c, {"missing": "kumo wrote no line for this input"}))
                continue
            rules = [e["rule"] for e in known
                     if e["protocols"] == "*" or c["p"] in e["protocols"]]
            plain, _ = differences(c["p"], c["b"], k)
            if not plain:
                s["agree"] += 1
                pp[1] += 1
                continue
            diff, by = differences(c["p"], c["b"], k, rules)
            if diff:
                s["bad"].append((c, diff))
            else:
                used.update(by)
                s["explained"] += 1
                pp[2] += 1
    n = 0
    failed = 0
    for name in sorted(per_service):
        s = per_service[name]
        n += 1
        ok = not s["bad"]
        print("%s %d - %s (%s): %d inputs, %d agree, %d explained as botocore's, %d skipped"
              % ("ok" if ok else "not ok", n, name, s["p"], s["n"], s["agree"], s["explained"],
                 s["skipped"]))
        if not ok:
            failed += 1
            for c, d in s["bad"][: (20 if verbose else 3)]:
                print("#   %s.%s input %s" % (c["s"], c["o"], json.dumps(c.get("in"),
                                                                           ensure_ascii=False)[:300]))
                for field, (bv, kv) in d.items():
                    print("#     %s: botocore %s" % (field, json.dumps(bv, ensure_ascii=False)[:600]))
                    print("#     %s: kumo     %s" % (field, json.dumps(kv, ensure_ascii=False)[:600]))
    n += 1
    stale = [e for e in known if e["rule"] not in used]
    print("%s %d - every rule of the known differences still explains some input"
          % ("not ok" if stale else "ok", n))
    for e in stale:
        print("#   stale: %s" % json.dumps(e))
    if stale:
        failed += 1
    print("# agreement per protocol (inputs: agree / explained as botocore's; event-stream "
          "inputs skipped):")
    for p in sorted(per_protocol):
        t, a, x, sk = per_protocol[p]
        print("#   %-18s %6d inputs  %6d agree (%.2f%%)  %d explained  %d skipped"
              % (p, t, a, 100.0 * a / max(t, 1), x, sk))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
