"""The boto3 baseline of bench/fleet.lua: the same fleet with Python threads.

Tuned the way the boto3 docs allow: one Session and one STS client made up
front and shared (clients are thread-safe), each thread AssumeRoles into the
RDS account, makes its rds client from the shared Session under a lock
(Session.client is not thread-safe; sharing it shares the loaded models), then
DescribeDBProxies every DELAY s until the proxy is available (boto3 has no
waiter for RDS Proxy; this is the loop people write). A Session per thread
instead costs about 1 GB and 5x the time for 50 threads on the 2-core box.
One task alone first, then N threads at once. Prints one JSON line:
{"t_one", "t_fleet", "n", "failed", "rss_mb", "hwm_mb"}.

usage: python3 bench/fleet_boto3.py PARAMS.json   (written by bench/fleet.lua)
"""
import json
import sys
import threading
import time

import boto3


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


LOCK = threading.Lock()


def task(p, shared, name, i):
    session, sts = shared
    creds = sts.assume_role(RoleArn=p["role_arn"], ExternalId=p["external_id"],
                            RoleSessionName=f"boto-{i}")["Credentials"]
    with LOCK:
        rds = session.client("rds", endpoint_url=p["endpoint"],
                             aws_access_key_id=creds["AccessKeyId"],
                             aws_secret_access_key=creds["SecretAccessKey"],
                             aws_session_token=creds["SessionToken"])
    for attempt in range(p["polls"] + 20):
        proxy = rds.describe_db_proxies(DBProxyName=name)["DBProxies"][0]
        if proxy["Status"] == "available":
            return proxy
        time.sleep(p["delay"])
    raise RuntimeError(f"{name}: not available after {attempt + 1} polls")


def main():
    with open(sys.argv[1]) as f:
        p = json.load(f)
    names = p["boto"]
    n = len(names) - 1
    session = boto3.Session(profile_name="base", region_name=p["region"])
    shared = (session, session.client("sts"))
    session.client("rds", endpoint_url=p["endpoint"])  # warm-up: load the models, as kumo's run does
    t0 = time.monotonic()
    task(p, shared, names[0], 0)
    t_one = time.monotonic() - t0

    errors = []

    def run(name, i):
        try:
            task(p, shared, name, i)
        except Exception as e:  # one failing thread must not stop the others
            errors.append(f"{name}: {e}")

    threads = [threading.Thread(target=run, args=(name, i)) for i, name in enumerate(names[1:], 1)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_fleet = time.monotonic() - t0
    for e in errors[:3]:
        print(e, file=sys.stderr)
    print(json.dumps({"t_one": t_one, "t_fleet": t_fleet, "n": n, "failed": len(errors),
                      "rss_mb": status_mb("VmRSS"), "hwm_mb": status_mb("VmHWM")}))


if __name__ == "__main__":
    main()
