"""Signatures per second of botocore's SigV4Auth (the AWS CLI's signer) on
the benchmark's request: an RDS DescribeDBProxies POST, header form, at the
same fixed time as bench/sigv4_bench.{c,lua}. add_auth runs whole (it
re-signs the same request, as on a retry); only its clock is fixed so the
signature can be compared with kumo's. Time is CPU time, as in the others.
Prints "<signatures per second> <signature>".
Usage: python3 bench/sigv4_botocore.py [SECONDS]
"""
import datetime
import sys
import time

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
fixed = datetime.datetime(2015, 8, 30, 12, 36, 0)  # 1440938160
botocore.auth.get_current_datetime = lambda: fixed

creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
signer = SigV4Auth(creds, "rds", "ap-northeast-1")
request = AWSRequest(
    method="POST", url="https://rds.ap-northeast-1.amazonaws.com/",
    data="Action=DescribeDBProxies&Version=2014-10-31",
    headers={"Host": "rds.ap-northeast-1.amazonaws.com",
             "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})

n = 0
t0 = time.process_time()
while True:
    for _ in range(500):
        signer.add_auth(request)
    n += 500
    t = time.process_time() - t0
    if t >= seconds:
        break
sig = request.headers["Authorization"].rsplit("Signature=", 1)[1]
print(f"{n / t:.0f} {sig}")
