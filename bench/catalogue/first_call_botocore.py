#!/usr/bin/env python3
"""botocore side of bench/parts.d/25-catalogue.sh: a new Session's client
creation and first call against the local server, timed from before the
Session (after `import botocore.session`, whose cost the process's wall
clock shows). Prints "<ms> <service>".
Usage: first_call_botocore.py SERVICE PORT"""
import os
import sys
import time

import botocore.session

service, port = sys.argv[1], sys.argv[2]
for k in list(os.environ):
    if k.startswith("AWS_"):
        del os.environ[k]
os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
t0 = time.monotonic()
s = botocore.session.get_session()
c = s.create_client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:" + port,
                    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                    aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
if service == "ec2":
    out = c.describe_regions()
elif service == "s3":
    out = c.list_buckets()
else:
    out = c.list_tables()
assert out
print("%.2f %s" % ((time.monotonic() - t0) * 1000, service))
