"""Fault and latency injection per operation and account.

A rule (JSON; all keys optional except what makes sense):
  {"op": "DescribeDBProxies" | "*", "service": "rds", "account": "222222222222",
   "kind": "throttle" | "5xx" | "503" | "drop" | "delay" | "error" | "corrupt",
   ("corrupt": the call is carried out and its 2xx body arrives with one byte
   flipped, headers untouched: what a checksum must catch)
   "code": "...", "status": 400, "message": "...",
   "times": 2 (-1 = every matching call), "skip": 0, "delay_ms": 0}
`skip` matching calls pass first, the next `times` are hit, then the rule
is spent. `delay_ms` sleeps before answering (with kind "delay" the call
then succeeds). `drop` closes the connection without an answer; `lose`
carries the call out (the state changes) and then closes the connection
without the answer, as when a response is lost on the way back.

`rate` (0 < rate <= 1) makes a rule hit only that share of the matching calls
(after `skip`), drawn at random; such a rule has no limit unless `times` is
given. The draws come from one generator per rule, seeded with the sandbox's
fault seed (`--fault-seed N`, or `seed` in the control API body) and the
rule's position, so the same seed and the same sequence of calls give the
same faults.

Several rules: they are tried in order; each matching rule that is not spent
gets one draw (a rule without `rate` always hits) and the first hit wins, so
later rules are not tried. With 25 % throttle, 10 % 503 and 5 % drop, a call
is throttled with p = 0.25, answered 503 with p = 0.75 * 0.10 = 0.075 and
dropped with p = 0.75 * 0.90 * 0.05 = 0.03375.

Compact form for the command line (comma-separated):
  OP[@ACCOUNT][:KIND[:TIMES|:P%]]  e.g. DescribeDBProxies:throttle:2,CreateDBProxy@222222222222:5xx,*:503:10%
  KIND = throttle | 5xx | 503 | drop | lose | slowMS (e.g. slow1500: a delay of 1500 ms)
"""
import json
import random
import re
import threading

# The codes each service really uses (botocore retries all of them).
THROTTLE = {"ec2": ("RequestLimitExceeded", 503), "ram": ("ThrottlingException", 429),
            "secretsmanager": ("ThrottlingException", 400)}
THROTTLE_DEFAULT = ("Throttling", 400)
SERVER = {"ec2": ("InternalError", 500), "ram": ("ServerInternalException", 500),
          "secretsmanager": ("InternalServiceError", 500), "iam": ("ServiceFailure", 500)}
SERVER_DEFAULT = ("InternalFailure", 500)
KINDS = ("throttle", "5xx", "503", "drop", "lose", "delay", "error", "corrupt")


class FaultSpecError(ValueError):
    pass


def _normalise(rule):
    if not isinstance(rule, dict):
        raise FaultSpecError(f"faults: each rule must be an object, got {rule!r}")
    r = dict(rule)
    r.setdefault("op", "*")
    if "kind" not in r:
        r["kind"] = "drop" if r.get("drop") else ("error" if r.get("status") or r.get("code") else
                                                   ("delay" if r.get("delay_ms") or r.get("delay") else "throttle"))
    if r["kind"] not in KINDS:
        raise FaultSpecError(f"faults: kind {r['kind']!r} is unknown; use one of {', '.join(KINDS)}")
    if "delay" in r and "delay_ms" not in r:  # seconds, as in the prototype
        r["delay_ms"] = float(r.pop("delay")) * 1000
    if r.get("rate") is not None:
        try:
            r["rate"] = float(r["rate"])
        except (TypeError, ValueError):
            raise FaultSpecError(f"faults: rate must be a number in (0, 1], got {r['rate']!r}")
        if not 0 < r["rate"] <= 1:
            raise FaultSpecError(f"faults: rate must be in (0, 1] (0.25 = a quarter of the calls), got {r['rate']}")
    else:
        r.pop("rate", None)
    try:
        # a rate rule hits that share of the calls with no limit, unless times is given
        r["times"] = int(r.get("times", -1 if "rate" in r else 1))
        r["skip"] = int(r.get("skip", 0))
        r["delay_ms"] = float(r.get("delay_ms", 0) or 0)
    except (TypeError, ValueError):
        raise FaultSpecError("faults: times and skip must be integers and delay_ms a number of milliseconds")
    return r


def parse(spec):
    """Rules from JSON (a list or one object), @FILE, or the compact form."""
    if spec is None or not str(spec).strip():
        return []
    text = str(spec).strip()
    if text.startswith("@"):
        with open(text[1:]) as f:
            text = f.read().strip()
    if text.startswith("[") or text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise FaultSpecError(f"faults: not valid JSON: {e}")
        return [_normalise(r) for r in (data if isinstance(data, list) else [data])]
    rules = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = re.fullmatch(r"([\w*]+)(?:@(\d{12}))?(?::(throttle|5xx|503|drop|lose|slow\d+))?"
                         r"(?::(-?\d+|\d+(?:\.\d+)?%))?", part)
        if not m:
            raise FaultSpecError(
                f"faults: '{part}' is not OP[@ACCOUNT][:KIND[:TIMES|:P%]] "
                "(KIND: throttle, 5xx, 503, drop, lose, slowMS), e.g. DescribeDBProxies:throttle:2 or *:throttle:25%")
        kind = m.group(3) or "throttle"
        count = m.group(4) or "1"
        if count.endswith("%"):
            rule = {"op": m.group(1), "rate": float(count[:-1]) / 100}
        else:
            rule = {"op": m.group(1), "times": int(count)}
        if m.group(2):
            rule["account"] = m.group(2)
        if kind.startswith("slow"):
            rule.update(kind="delay", delay_ms=float(kind[4:]))
        else:
            rule["kind"] = kind
        rules.append(_normalise(rule))
    return rules


def check_seed(seed):
    """The seed as an int, or raise FaultSpecError naming it."""
    if isinstance(seed, bool):
        seed = None
    try:
        return int(seed)
    except (TypeError, ValueError):
        raise FaultSpecError(f"faults: seed must be an integer, got {seed!r}")


class Faults:
    def __init__(self, rules=None, latency_ms=0.0, seed=None):
        self._lock = threading.Lock()
        self.latency_ms = float(latency_ms or 0)
        # without a seed, one is picked and reported (GET /_kumo/faults), so a run
        # can be repeated
        self.seed = check_seed(seed) if seed is not None else random.SystemRandom().randrange(1 << 31)
        self.rules = []
        self._rngs = []
        self.set(rules or [])

    def _rng(self, index):
        return random.Random(f"{self.seed}:{index}")

    def set(self, rules, latency_ms=None, seed=None):
        with self._lock:
            if seed is not None:
                self.seed = check_seed(seed)
            self.rules = [dict(_normalise(r), seen=0, fired=0) for r in rules]
            self._rngs = [self._rng(i) for i in range(len(self.rules))]
            if latency_ms is not None:
                self.latency_ms = float(latency_ms)

    def add(self, rules, seed=None):
        with self._lock:
            if seed is not None:
                self.seed = check_seed(seed)
            self.rules += [dict(_normalise(r), seen=0, fired=0) for r in rules]
            self._rngs += [self._rng(i) for i in range(len(self._rngs), len(self.rules))]

    def snapshot(self):
        with self._lock:
            return {"latency_ms": self.latency_ms, "seed": self.seed, "rules": [dict(r) for r in self.rules]}

    def match(self, service, op, account):
        """The rule that hits this call (counted), or None."""
        with self._lock:
            for r, rng in zip(self.rules, self._rngs):
                if r["op"] != "*" and r["op"].lower() != (op or "").lower():
                    continue
                if r.get("service") and r["service"] != service:
                    continue
                if r.get("account") and r["account"] != account:
                    continue
                r["seen"] += 1
                if r["seen"] <= r["skip"]:
                    continue
                if 0 <= r["times"] <= r["fired"]:
                    continue
                if "rate" in r and rng.random() >= r["rate"]:
                    continue  # this rule's draw missed: the next rule gets its own
                r["fired"] += 1
                return dict(r)
        return None


def error_for(rule, service):
    """(code, http status, message) of an error rule."""
    kind = rule["kind"]
    if kind == "throttle":
        code, status = THROTTLE.get(service, THROTTLE_DEFAULT)
        message = "Rate exceeded"
    elif kind == "503":
        code, status = ("ServiceUnavailableException" if service in ("ram",) else "ServiceUnavailable"), 503
        message = "Service is unavailable. Try again later."
    elif kind == "5xx":
        code, status = SERVER.get(service, SERVER_DEFAULT)
        message = "An internal error occurred. Try again later."
    else:
        code, status, message = "InternalFailure", 500, "Injected failure"
    return (rule.get("code") or code, int(rule.get("status") or status), rule.get("message") or message)
