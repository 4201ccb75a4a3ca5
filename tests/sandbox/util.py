"""Start and stop a kumo sandbox for tests: a free port, a temporary dir.

    with util.Sandbox(lifecycle="all=0") as sb:
        rds = sb.client("rds", profile="rds")
        ...
        sb.stats()  # GET /_kumo/stats

The server runs as a child process (`python3 -m kumo_sandbox`), exactly as
users run it; it is stopped with SIGTERM (then SIGKILL) by its pid.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SANDBOX_PATH = os.path.join(ROOT, "sandbox")


class Sandbox:
    def __init__(self, *args, lifecycle="all=0", faults=None, latency=None, org=True, org_sharing=True,
                 region=None, timeout=30, fault_seed=None, allow_moto_api=False):
        self.args = list(args)
        if lifecycle is not None:
            self.args += ["--lifecycle", lifecycle]
        if faults:
            self.args += ["--faults", faults if isinstance(faults, str) else json.dumps(faults)]
        if latency:
            self.args += ["--latency", str(latency)]
        if fault_seed is not None:
            self.args += ["--fault-seed", str(fault_seed)]
        if allow_moto_api:
            self.args.append("--allow-moto-api")
        if not org:
            self.args.append("--no-org")
        elif not org_sharing:
            self.args.append("--no-org-sharing")
        if region:
            self.args += ["--region", region]
        self.timeout = timeout
        self.proc = None
        self.dir = None

    # --- lifecycle -----------------------------------------------------------
    def start(self):
        self.dir = tempfile.mkdtemp(prefix="kumo-sandbox-test-")
        env = dict(os.environ, PYTHONPATH=SANDBOX_PATH)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "MOTO_ACCOUNT_ID"):
            env.pop(k, None)
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = open(self.log_path, "w")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "kumo_sandbox", "--port", "0",
                                      "--dir", self.dir] + self.args,
                                     stdout=subprocess.PIPE, stderr=self._log, env=env, text=True)
        self.exports = {}
        first = self.proc.stdout.readline()  # blocks until ready (or exit)
        if not first.startswith("# kumo sandbox at"):
            self.stop()
            raise RuntimeError(f"sandbox did not start: {first!r}; log: {open(self.log_path).read()[-2000:]}")
        self.ready_seconds = time.monotonic() - self.t0
        for line in iter(self.proc.stdout.readline, ""):
            if line.startswith("export "):
                k, _, v = line[len("export "):].strip().partition("=")
                self.exports[k] = v
            if line.startswith("# then"):
                break
        with open(os.path.join(self.dir, "world.json")) as f:
            self.world = json.load(f)
        self.endpoint = self.world["endpoint"]
        self.port = self.world["port"]
        self.region = self.world["region"]
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_log", None):
            self._log.close()
        if self.dir and not os.environ.get("KUMO_KEEP_SANDBOX_DIR"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- helpers ---------------------------------------------------------------
    def env(self):
        """The environment the written env.sh sets up."""
        env = dict(os.environ)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(k, None)
        env.update(self.exports)
        return env

    def session(self, profile="base"):
        """A boto3 session from the written config files (as users get it)."""
        import boto3
        import botocore.session
        core = botocore.session.Session(profile=profile)
        core.set_config_variable("config_file", os.path.join(self.dir, "config"))
        core.set_config_variable("credentials_file", os.path.join(self.dir, "credentials"))
        return boto3.Session(botocore_session=core, region_name=self.region)

    def client(self, service, profile="base", retries=1, **kw):
        from botocore.config import Config
        cfg = Config(retries={"total_max_attempts": retries, "mode": "standard"}, **kw)
        return self.session(profile).client(service, endpoint_url=self.endpoint, config=cfg)

    def keys(self):
        """The deployer's keys, read from the written credentials file."""
        import configparser
        cp = configparser.ConfigParser()
        cp.read(os.path.join(self.dir, "credentials"))
        return cp["base"]["aws_access_key_id"], cp["base"]["aws_secret_access_key"]

    def control(self, method, path, body=None):
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def stats(self):
        return self.control("GET", "/_kumo/stats")

    def reset_stats(self):
        return self.control("DELETE", "/_kumo/stats")

    def set_faults(self, rules, latency_ms=None, seed=None):
        body = {"rules": rules}
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if seed is not None:
            body["seed"] = seed
        return self.control("POST", "/_kumo/faults", body)

    def set_lifecycle(self, settings):
        return self.control("POST", "/_kumo/lifecycle", settings)

    def reset(self):
        return self.control("POST", "/_kumo/reset", {})
