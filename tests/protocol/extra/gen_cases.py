#!/usr/bin/env python3
"""Writes kumo's own protocol cases (botocore's output-case format) beside
this file: prefix-headers.json, initial-response.json, unknown-union.json.

Each expectation is botocore's behaviour as botocore/parsers.py implements
it (and tests/protocol/botocore_check.py proves it against the installed
botocore on the same bytes): one suite per protocol the behaviour applies
to. Event-stream bodies are the base64 of binary frames built here.

    python3 tests/protocol/extra/gen_cases.py [DIR]   # writes the three files
                                                      # (DIR: this folder)
"""
import base64
import copy
import json
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

STRING = {"type": "string"}
INTEGER = {"type": "integer"}


def frame(headers, payload=b""):
    """One application/vnd.amazon.eventstream message (string headers)."""
    hs = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        hs += bytes([len(n)]) + n + bytes([7]) + len(v).to_bytes(2, "big") + v
    total = 16 + len(hs) + len(payload)
    prelude = total.to_bytes(4, "big") + len(hs).to_bytes(4, "big")
    msg = prelude + zlib.crc32(prelude).to_bytes(4, "big") + hs + payload
    return msg + zlib.crc32(msg).to_bytes(4, "big")


def event(etype, payload=b"", content_type="application/json"):
    return frame([(":message-type", "event"), (":event-type", etype),
                  (":content-type", content_type)], payload)


def b64(data):
    return base64.b64encode(data).decode()


def case(result=None, body="", headers=None, status=200, raises=None,
         output="OutputShape", wrapper=None, **extra):
    given = {"name": "OperationName", "output": {"shape": output}}
    if wrapper:
        given["output"]["resultWrapper"] = wrapper
    c = {"given": given}
    if raises is not None:
        c["raises"] = raises
    elif "errorCode" not in extra:
        c["result"] = result
    c.update(extra)
    c["response"] = {"status_code": status, "headers": headers or {}, "body": body}
    return c


def suite(description, protocol, shapes, cases, **meta):
    metadata = {"protocol": protocol}
    metadata.update(meta)
    return {"description": description, "metadata": metadata,
            "shapes": shapes, "cases": cases}


# ---------------------------------------------------------------------------
# httpPrefixHeaders with no header of the prefix: an empty map
# (botocore BaseRestParser._parse_header_map always returns its dict).
# ---------------------------------------------------------------------------

def prefix_headers():
    shapes = {
        "OutputShape": {"type": "structure", "members": {
            "Foo": {"shape": "StringType", "location": "header", "locationName": "X-Foo"},
            "FooMap": {"shape": "FooPrefixHeaders", "location": "headers",
                       "locationName": "X-Foo-"},
            "Count": {"shape": "IntegerType"}}},
        "PayloadOutput": {"type": "structure", "payload": "Data", "members": {
            "FooMap": {"shape": "FooPrefixHeaders", "location": "headers",
                       "locationName": "X-Foo-"},
            "Data": {"shape": "DataShape"}}},
        "DataShape": {"type": "structure", "members": {"Count": {"shape": "IntegerType"}}},
        "FooPrefixHeaders": {"type": "map", "key": {"shape": "StringType"},
                             "value": {"shape": "StringType"}},
        "PrefixedError": {"type": "structure", "exception": True,
                          "error": {"httpStatusCode": 400}, "members": {
                              "Meta": {"shape": "FooPrefixHeaders", "location": "headers",
                                       "locationName": "X-Meta-"},
                              "Reason": {"shape": "StringType"}}},
        "StringType": STRING,
        "IntegerType": INTEGER,
    }
    suites = []
    for proto in ("rest-json", "rest-xml"):
        xml = proto == "rest-xml"
        body = ("<OperationNameResponse><Count>2</Count></OperationNameResponse>" if xml
                else '{"Count": 2}')
        pbody = ("<DataShape><Count>2</Count></DataShape>" if xml else '{"Count": 2}')
        ebody = ("<ErrorResponse><Error><Type>Sender</Type><Code>PrefixedError</Code>"
                 "<Message>m</Message><Reason>r</Reason></Error></ErrorResponse>" if xml
                 else '{"__type": "PrefixedError", "message": "m", "Reason": "r"}')
        eheaders = {} if xml else {"X-Amzn-Errortype": "PrefixedError"}
        cases = [
            case({"Foo": "Foo", "FooMap": {}}, headers={"X-Foo": "Foo"}),
            case({"FooMap": {}, "Count": 2}, body=body),
            case({"Foo": "Foo", "FooMap": {"Abc": "Abc value", "Def": "Def value"}},
                 headers={"X-Foo": "Foo", "X-Foo-Abc": "Abc value", "X-Foo-Def": "Def value"}),
            case({"FooMap": {}, "Data": {"Count": 2}}, body=pbody, output="PayloadOutput",
                 headers={"X-Bar-Abc": "other prefix"}),
        ]
        err = case(body=ebody, headers=eheaders, status=400, errorCode="PrefixedError",
                   errorMessage="m", error={"Meta": {}, "Reason": "r"})
        err["given"]["errors"] = [{"shape": "PrefixedError"}]
        cases.append(err)
        suites.append(suite("Prefix headers, present and absent (" + proto + ")", proto,
                            copy.deepcopy(shapes), cases))
    return suites


# ---------------------------------------------------------------------------
# Event streams: the JSON protocol's initial-response event holds the
# output's other members (botocore JSONParser._handle_event_stream); the REST
# protocols bind them to HTTP, and an initial-response message there is not
# an event (botocore's EventStream yields only events of the stream).
# ---------------------------------------------------------------------------

def stream_shapes(payload_member):
    shapes = {
        "EventStream": {"type": "structure", "eventstream": True, "members": {
            "TypeA": {"shape": "TypeAEvent"}, "TypeB": {"shape": "TypeBEvent"}}},
        "TypeAEvent": {"type": "structure", "event": True, "members": {
            "Payload": {"shape": "BlobType", "eventpayload": True}}},
        "TypeBEvent": {"type": "structure", "event": True, "members": {
            "StringField": {"shape": "StringType"}, "IntegerField": {"shape": "IntegerType"}}},
        "StringType": STRING,
        "IntegerType": INTEGER,
        "TimestampType": {"type": "timestamp"},
        "BlobType": {"type": "blob"},
    }
    if payload_member:
        shapes["OutputShape"] = {"type": "structure", "payload": "Stream", "members": {
            "Stream": {"shape": "EventStream"},
            "Session": {"shape": "StringType", "location": "header",
                        "locationName": "x-session"}}}
    else:
        shapes["OutputShape"] = {"type": "structure", "members": {
            "Count": {"shape": "IntegerType"},
            "Label": {"shape": "StringType", "locationName": "label"},
            "Created": {"shape": "TimestampType"},
            "Stream": {"shape": "EventStream"}}}
    return shapes


def initial_response():
    type_a = event("TypeA", b"somebytes", "application/octet-stream")
    type_b = event("TypeB", b'{"StringField": "somestring", "IntegerField": 123}')
    events = [{"TypeA": {"Payload": "somebytes"}},
              {"TypeB": {"StringField": "somestring", "IntegerField": 123}}]
    suites = []
    for version in ("1.0", "1.1"):
        cases = [
            case({"Count": 3, "Label": "x", "Created": 1422172800, "Stream": events},
                 body=b64(event("initial-response",
                                b'{"Count": 3, "label": "x", "Created": 1422172800}')
                          + type_a + type_b)),
            case({"Stream": []}, body=b64(event("initial-response", b"{}"))),
            case({"Stream": events[1:]}, body=b64(event("initial-response") + type_b)),
            case(raises="not initial-response", body=b64(type_a + type_b)),
            case(raises="not initial-response",
                 body=b64(type_a + event("initial-response", b'{"Count": 3}'))),
            case(raises="no initial-response", body=""),
            case(raises="Boom", body=b64(frame([(":message-type", "exception"),
                                                (":exception-type", "Boom")], b"{}"))),
        ]
        suites.append(suite("Event stream initial response (json " + version + ")", "json",
                            stream_shapes(False), cases, jsonVersion=version,
                            targetPrefix="Svc"))
    for proto in ("rest-json", "rest-xml"):
        initial = event("initial-response", b"" if proto == "rest-xml" else b"{}")
        if proto == "rest-xml":
            type_b = event("TypeB", b"<TypeB><StringField>somestring</StringField>"
                           b"<IntegerField>123</IntegerField></TypeB>", "text/xml")
        cases = [
            case({"Session": "s-1", "Stream": events},
                 headers={"x-session": "s-1"}, body=b64(initial + type_a + type_b)),
            case({"Stream": events[:1]}, body=b64(type_a)),
        ]
        suites.append(suite("Event stream initial-response message is no event (" + proto
                            + ")", proto, stream_shapes(True), cases))
    return suites


# ---------------------------------------------------------------------------
# Unions: exactly one member set; a member the model does not know comes
# back as {"SDK_UNKNOWN_MEMBER": {"name": "<wire name>"}} (botocore
# ResponseParser._has_unknown_tagged_union_member, for every protocol).
# ---------------------------------------------------------------------------

def union_shapes(xml):
    members = {
        "S": {"shape": "StringType"},
        "L": {"shape": "ListType"},
        "St": {"shape": "Inner"},
        "Renamed": {"shape": "StringType", "locationName": "renamed_on_wire"},
    }
    if xml:
        members["FL"] = {"shape": "ListType", "flattened": True}
    return {
        "OutputShape": {"type": "structure", "members": {
            "Union": {"shape": "UnionType"}, "Unions": {"shape": "UnionList"},
            "After": {"shape": "StringType"}}},
        "UnionType": {"type": "structure", "union": True, "members": members},
        "UnionList": {"type": "list", "member": {"shape": "UnionType"}},
        "ListType": {"type": "list", "member": {"shape": "StringType"}},
        "Inner": {"type": "structure", "members": {"Foo": {"shape": "StringType"}}},
        "StringType": STRING,
    }


# botocore checks the one member left after dropping `__type` and nulls, but
# names the first key of the whole object (`_get_first_key(value)`), so it
# reports `__type`, or a known member sent as null, as the unknown member.
# kumo names the member it checked: Smithy's JSON protocols say `__type` in a
# union is to be ignored (AwsJson10DeserializeIgnoreType), and a null member
# is not set.
TYPE_FIRST = ("botocore names the first key, __type, as the unknown member; kumo names the "
              "member it found unknown (Smithy: __type in a union is ignored)")
NULL_FIRST = ("botocore names the first key, S (a known member sent as null), as the unknown "
              "member; kumo names the member it found unknown (a null member is not set)")


def json_union_cases():
    unknown = {"SDK_UNKNOWN_MEMBER": {"name": "Newer"}}
    return [
        case({"Union": {"S": "v"}, "After": "a"}, body='{"Union": {"S": "v"}, "After": "a"}'),
        case({"Union": {"St": {"Foo": "f"}}}, body='{"Union": {"St": {"Foo": "f"}}}'),
        case({"Union": {"Renamed": "v"}}, body='{"Union": {"renamed_on_wire": "v"}}'),
        case({"Union": unknown, "After": "a"},
             body='{"Union": {"Newer": {"x": 1}}, "After": "a"}'),
        case({"Union": unknown}, body='{"Union": {"Newer": 1, "__type": "ns#UnionType"}}'),
        case({"Union": unknown}, body='{"Union": {"__type": "ns#UnionType", "Newer": 1}}',
             botocoreDiffers=TYPE_FIRST),
        case({"Union": unknown}, body='{"Union": {"S": null, "Newer": "x"}}',
             botocoreDiffers=NULL_FIRST),
        case({"Union": {"SDK_UNKNOWN_MEMBER": {"name": "Renamed"}}},
             body='{"Union": {"Renamed": "member name, not the wire name"}}'),
        case({"Unions": [{"S": "a"}, unknown, {"L": ["x"]}]},
             body='{"Unions": [{"S": "a"}, {"Newer": true}, {"L": ["x"]}]}'),
        case(raises="must have exactly one member set",
             body='{"Union": {"S": "a", "L": ["b"]}}'),
        case(raises="must have exactly one member set", body='{"Union": {"S": "a", "Newer": 1}}'),
        case(raises="must have exactly one member set", body='{"Union": {}}'),
    ]


def xml_union_cases(open_tag, close_tag, wrapper=None):
    def body(inner):
        return open_tag + inner + close_tag

    unknown = {"SDK_UNKNOWN_MEMBER": {"name": "Newer"}}
    kw = {"wrapper": wrapper} if wrapper else {}
    return [
        case({"Union": {"S": "v"}, "After": "a"},
             body=body("<Union><S>v</S></Union><After>a</After>"), **kw),
        case({"Union": {"L": ["a", "b"]}},
             body=body("<Union><L><member>a</member><member>b</member></L></Union>"), **kw),
        case({"Union": {"FL": ["a", "b"]}}, body=body("<Union><FL>a</FL><FL>b</FL></Union>"), **kw),
        case({"Union": {"St": {"Foo": "f"}}}, body=body("<Union><St><Foo>f</Foo></St></Union>"), **kw),
        case({"Union": {"Renamed": "v"}},
             body=body("<Union><renamed_on_wire>v</renamed_on_wire></Union>"), **kw),
        case({"Union": unknown, "After": "a"},
             body=body("<Union><Newer><x>1</x></Newer></Union><After>a</After>"), **kw),
        case({"Union": unknown},
             body=body('<Union xmlns:n="urn:x"><n:Newer>1</n:Newer></Union>'), **kw),
        case({"Unions": [{"S": "a"}, unknown, {"L": ["x"]}]},
             body=body("<Unions><member><S>a</S></member><member><Newer>t</Newer></member>"
                       "<member><L><member>x</member></L></member></Unions>"), **kw),
        case(raises="must have exactly one member set",
             body=body("<Union><S>a</S><L><member>b</member></L></Union>"), **kw),
        case(raises="must have exactly one member set",
             body=body("<Union><S>a</S><Newer>1</Newer></Union>"), **kw),
        case(raises="must have exactly one member set", body=body("<Union></Union>"), **kw),
    ]


def unknown_union():
    suites = []
    for version in ("1.0", "1.1"):
        suites.append(suite("Unions with unknown members (json " + version + ")", "json",
                            union_shapes(False), json_union_cases(), jsonVersion=version,
                            targetPrefix="Svc"))
    suites.append(suite("Unions with unknown members (rest-json)", "rest-json",
                        union_shapes(False), json_union_cases()))
    suites.append(suite("Unions with unknown members (rest-xml)", "rest-xml", union_shapes(True),
                        xml_union_cases("<OperationNameResponse>", "</OperationNameResponse>")))
    suites.append(suite("Unions with unknown members (query)", "query", union_shapes(True),
                        xml_union_cases("<OperationNameResponse><OperationNameResult>",
                                        "</OperationNameResult><ResponseMetadata><RequestId>r"
                                        "</RequestId></ResponseMetadata></OperationNameResponse>",
                                        wrapper="OperationNameResult")))
    suites.append(suite("Unions with unknown members (ec2)", "ec2", union_shapes(True),
                        xml_union_cases("<OperationNameResponse>",
                                        "<requestId>r</requestId></OperationNameResponse>")))
    return suites


def write(name, suites):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(suites, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    OUT = sys.argv[1] if len(sys.argv) > 1 else HERE
    write("prefix-headers.json", prefix_headers())
    write("initial-response.json", initial_response())
    write("unknown-union.json", unknown_union())
