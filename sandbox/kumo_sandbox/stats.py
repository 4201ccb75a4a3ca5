"""Request statistics per account and operation, with a mutating flag.

Tests read them over HTTP (GET /_kumo/stats) to prove idempotency: a second
`apply` must make zero mutating calls. Every request that reaches the
sandbox is counted, including refused and faulted ones (an attempt to change
something is a mutating call, whether or not it succeeded).
"""
import threading

# Operations that change nothing although their names don't say so.
READ_ONLY_OPS = {"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetSessionToken",
                 "GetFederationToken", "DecodeAuthorizationMessage", "GetCallerIdentity",
                 "GenerateCredentialReport", "SimulatePrincipalPolicy", "SimulateCustomPolicy"}
READ_PREFIXES = ("Describe", "Get", "List", "Search", "Lookup", "BatchGet", "Head", "Validate", "Check")


def is_mutating(op: str) -> bool:
    if not op or op in READ_ONLY_OPS:
        return False
    return not op.startswith(READ_PREFIXES)


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self._ops = {}   # (account, service, op) -> [count, errors]
        self._faults = {}  # kind -> injected count

    def record(self, account, service, op):
        key = (account or "unknown", service or "unknown", op or "unknown")
        with self._lock:
            self._ops.setdefault(key, [0, 0])[0] += 1
        return key

    def record_status(self, key, status: int):
        if status >= 400:
            with self._lock:
                self._ops.setdefault(key, [0, 0])[1] += 1

    def record_fault(self, kind):
        with self._lock:
            self._faults[kind] = self._faults.get(kind, 0) + 1

    def reset(self):
        with self._lock:
            self._ops.clear()
            self._faults.clear()

    def snapshot(self) -> dict:
        """{"total", "mutating", "errors", "faults": {kind: injected},
        "accounts": {acct: {"total", "mutating", "errors",
        "operations": {"service:Op": {"count", "errors", "mutating"}}}}}"""
        with self._lock:
            items = sorted(self._ops.items())
            faults = dict(sorted(self._faults.items()))
        out = {"total": 0, "mutating": 0, "errors": 0, "faults": faults, "accounts": {}}
        for (account, service, op), (count, errors) in items:
            acct = out["accounts"].setdefault(account, {"total": 0, "mutating": 0, "errors": 0,
                                                        "operations": {}})
            mut = is_mutating(op)
            acct["operations"][f"{service}:{op}"] = {"count": count, "errors": errors, "mutating": mut}
            for d in (out, acct):
                d["total"] += count
                d["errors"] += errors
                if mut:
                    d["mutating"] += count
        return out
