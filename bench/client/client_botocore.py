"""botocore's per-call client overhead with the network stubbed out.

The HTTP send is replaced through botocore's own ``before-send`` event by a
handler that returns a canned AWSResponse, so a call does everything else it
does against AWS: parameter validation, serialization, endpoint resolution,
signing (SigV4), parsing, retry bookkeeping. Prints one line per case:
``calls_per_second name`` (per second of CPU time). Usage: client_botocore.py CASES.json SECONDS
"""
import json
import sys
import time

import botocore.session
from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **kwargs):
        yield self._body


def main():
    cases = json.load(open(sys.argv[1]))
    seconds = float(sys.argv[2])
    session = botocore.session.get_session()
    session.set_credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    for case in cases:
        client = session.create_client(case["service"], region_name="us-east-1")
        body = case["body"].encode()
        headers = case["headers"]

        def send(request, **kwargs):
            return AWSResponse(request.url, 200, headers, _Raw(body))

        client.meta.events.register("before-send", send)
        call = getattr(client, case["botocore_op"])
        params = case["params"]
        call(**params)  # warm-up
        n, start = 0, time.process_time()
        deadline = start + seconds
        while True:
            for _ in range(20):
                call(**params)
            n += 20
            now = time.process_time()
            if now >= deadline:
                break
        print(f"{n / (now - start):.0f} {case['name']}", flush=True)


if __name__ == "__main__":
    main()
