# The sandbox (kumo sandbox): time until ready (listening, world seeded,
# files written) and boto3 calls per second with every signature and IAM
# policy verified, beside stock `moto_server` (no checks, no seed) measured
# in the same run. Goal: ready <= 3 s. SANDBOX_BENCH_RUNS starts (default 3),
# SANDBOX_BENCH_CALLS calls (default 300).
set -u
export PYTHONPATH="$PWD/sandbox"
python3 - "${SANDBOX_BENCH_RUNS:-3}" "${SANDBOX_BENCH_CALLS:-300}" <<'PY'
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request
import boto3
from botocore.config import Config

runs, calls = int(sys.argv[1]), int(sys.argv[2])


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def start_sandbox():
    d = tempfile.mkdtemp()
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "kumo_sandbox", "--port", "0", "--dir", d, "--lifecycle", "all=0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if line.startswith("# then"):
            break
    return p, d, time.monotonic() - t0


def start_moto():
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen(["moto_server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).read()
            break
        except Exception:
            time.sleep(0.02)
    return p, port, time.monotonic() - t0


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def rate(client, n):
    client.describe_db_proxies()
    t0 = time.monotonic()
    for _ in range(n):
        client.describe_db_proxies()
    return n / (time.monotonic() - t0)


cfg = Config(retries={"total_max_attempts": 1})
ready = []
for _ in range(runs):
    p, d, secs = start_sandbox()
    ready.append(secs)
    if len(ready) < runs:
        stop(p); shutil.rmtree(d, ignore_errors=True)
print(f"sandbox ready: median {statistics.median(ready):.2f} s of {runs} starts "
      f"(min {min(ready):.2f}, max {max(ready):.2f}); goal <= 3 s; load average {os.getloadavg()[0]:.1f}")
import botocore.session
core = botocore.session.Session(profile="rds")
core.set_config_variable("config_file", os.path.join(d, "config"))
core.set_config_variable("credentials_file", os.path.join(d, "credentials"))
rds = boto3.Session(botocore_session=core).client("rds", config=cfg)
sb_rate = rate(rds, calls)
stop(p); shutil.rmtree(d, ignore_errors=True)

mp, port, moto_ready = start_moto()
plain = boto3.client("rds", endpoint_url=f"http://127.0.0.1:{port}", region_name="ap-northeast-1",
                     aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x", config=cfg)
moto_rate = rate(plain, calls)
stop(mp)
print(f"moto_server ready (no checks, no seed): {moto_ready:.2f} s; sandbox/moto_server ratio "
      f"{statistics.median(ready) / moto_ready:.1f}x")
print(f"boto3 DescribeDBProxies: sandbox {sb_rate:.0f} calls/s (SigV4 + IAM verified, keep-alive), "
      f"moto_server {moto_rate:.0f} calls/s (unchecked); ratio {sb_rate / moto_rate:.2f}")
PY
