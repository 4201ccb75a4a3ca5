"""botocore side of bench/parts.d/20-models.sh: same figures, same format."""
import json, os, sys, time
import botocore.session
from botocore import serialize, parsers

HERE = os.path.dirname(os.path.abspath(__file__))

def best(n, fn):
    return min(fn() for _ in range(n))

for name in sys.argv[1:]:
    def one():
        s = botocore.session.Session()
        t0 = time.process_time()
        s.get_service_model(name)
        return (time.process_time() - t0) * 1000
    print("load.%s %.3f" % (name, best(5, one)))

session = botocore.session.Session()
for c in json.load(open(os.path.join(HERE, "calls.json"))):
    sm = session.get_service_model(c["service"])
    op = sm.operation_model(c["op"])
    ser = serialize.create_serializer(sm.metadata["protocol"] if sm.metadata["protocol"] != "smithy-rpc-v2-cbor" else "json", include_validation=False)
    par = parsers.create_parser(sm.metadata["protocol"])
    body = open(os.path.join(HERE, c["body_file"]), "rb").read()
    res = {"status_code": c["status"], "headers": {"x-amzn-requestid": "r"}, "body": body}
    out = par.parse(res, op.output_shape)
    assert out, c["op"]
    N = 500
    def run():
        t0 = time.process_time()
        for _ in range(N):
            ser.serialize_to_request(c["params"], op)
            par.parse(res, op.output_shape)
        return (time.process_time() - t0) / N * 1e6
    print("call.%s.%s %.2f" % (c["service"], c["op"], best(5, run)))
