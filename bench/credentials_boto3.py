"""The same "script run" with boto3 (default python3): profiles app and rds,
GetCallerIdentity in both. botocore keeps assumed-role credentials in memory
only, so every process calls AssumeRole again. Prints the seconds (after
imports). With "get N": N get_frozen_credentials() calls, prints calls/s."""
import sys
import time
import boto3

if len(sys.argv) > 1 and sys.argv[1] == "get":
    creds = boto3.Session(profile_name="app").get_credentials()
    creds.get_frozen_credentials()
    n = int(sys.argv[2])
    t0 = time.monotonic()
    for _ in range(n):
        creds.get_frozen_credentials()
    print("%.0f" % (n / (time.monotonic() - t0)))
    sys.exit(0)
t0 = time.monotonic()
for name in ("app", "rds"):
    boto3.Session(profile_name=name).client("sts").get_caller_identity()
print("%.3f" % (time.monotonic() - t0))
