"""The control API (plain HTTP + JSON, loopback only, no signature):

  GET    /_kumo/health          {"ok": true, "endpoint", "port", "pid", "uptime_s", ...}
  GET    /_kumo/world           the seeded world (world.json)
  GET    /_kumo/stats           requests per account and operation, with mutating flags
  DELETE /_kumo/stats           zero the statistics (also POST /_kumo/stats/reset)
  GET    /_kumo/faults          the fault rules with their seen/fired counts, latency_ms
  POST   /_kumo/faults          replace: a JSON list of rules, a compact spec string,
                                or {"rules": [...], "latency_ms": N, "seed": N}
                                (seed: the random draws of `rate` rules start over)
  POST   /_kumo/faults/add      append rules (same body)
  DELETE /_kumo/faults          no faults, no latency
  GET    /_kumo/lifecycle       the lifecycle settings
  POST   /_kumo/lifecycle       change them: {"proxy": 3, "endpoint": "1.5s", "db": 0}
  GET    /_kumo/listeners       --databases: the proxy endpoints' loopback ports per client
                                security group and the CA bundle (proxy_listener.py)
  GET    /_kumo/databases       --databases: the real servers behind the DB instances
  POST   /_kumo/reset           back to the freshly seeded world, start-up faults and
                                lifecycles, zero statistics (same ids as before)
"""
import json
import time

from . import faults as faults_mod, lifecycle


class Control:
    def __init__(self, sandbox):
        self.sandbox = sandbox

    @staticmethod
    def _reply(start_response, status, payload):
        data = (json.dumps(payload, indent=1, default=str) + "\n").encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def handle(self, environ, start_response, body):
        if environ.get("REMOTE_ADDR") not in ("127.0.0.1", "::1", None):
            return self._reply(start_response, "403 Forbidden", {"error": "the control API is loopback only"})
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        sb = self.sandbox
        try:
            if path == "/_kumo/health" and method == "GET":
                return self._reply(start_response, "200 OK", sb.health())
            if path == "/_kumo/world" and method == "GET":
                return self._reply(start_response, "200 OK", sb.world)
            if path == "/_kumo/stats":
                if method == "DELETE":
                    sb.stats.reset()
                return self._reply(start_response, "200 OK", sb.stats.snapshot())
            if path == "/_kumo/stats/reset" and method == "POST":
                sb.stats.reset()
                return self._reply(start_response, "200 OK", sb.stats.snapshot())
            if path == "/_kumo/faults":
                if method == "POST":
                    rules, latency, seed = _rules_from(body)
                    sb.faults.set(rules, latency, seed)
                elif method == "DELETE":
                    sb.faults.set([], 0)
                return self._reply(start_response, "200 OK", sb.faults.snapshot())
            if path == "/_kumo/faults/add" and method == "POST":
                rules, latency, seed = _rules_from(body)
                sb.faults.add(rules, seed)
                if latency is not None:
                    sb.faults.latency_ms = float(latency)
                return self._reply(start_response, "200 OK", sb.faults.snapshot())
            if path == "/_kumo/lifecycle":
                if method == "POST":
                    lifecycle.configure(json.loads(body or b"{}"))
                return self._reply(start_response, "200 OK", lifecycle.current())
            if path == "/_kumo/listeners" and method == "GET":
                if not sb.listeners:
                    return self._reply(start_response, "404 Not Found",
                                       {"error": "no listeners: start the sandbox with --databases"})
                return self._reply(start_response, "200 OK", sb.listeners.snapshot())
            if path == "/_kumo/databases" and method == "GET":
                if not sb.databases:
                    return self._reply(start_response, "404 Not Found",
                                       {"error": "no databases: start the sandbox with --databases"})
                return self._reply(start_response, "200 OK", sb.databases.snapshot())
            if path == "/_kumo/reset" and method == "POST":
                t0 = time.monotonic()
                sb.reset()
                return self._reply(start_response, "200 OK", {"ok": True, "seconds": round(time.monotonic() - t0, 3),
                                                             "world": sb.world})
        except (ValueError, faults_mod.FaultSpecError, lifecycle.LifecycleSpecError) as e:
            return self._reply(start_response, "400 Bad Request", {"error": str(e)})
        return self._reply(start_response, "404 Not Found",
                           {"error": f"no control route {method} {path}; see docs/sandbox.md"})


def _rules_from(body):
    text = (body or b"").decode("utf-8", "replace").strip()
    if not text:
        return [], None, None
    if text.startswith("{"):
        data = json.loads(text)
        if not data:  # {} (an empty Lua table encodes so): no rules
            return [], None, None
        if "rules" in data or "latency_ms" in data or "seed" in data:
            rules = data.get("rules") or []  # {} from Lua is an empty list too
            seed = data.get("seed")
            if seed is not None:
                seed = faults_mod.check_seed(seed)
            return faults_mod.parse(json.dumps(rules)), data.get("latency_ms"), seed
    return faults_mod.parse(text), None, None
