"""Status lifecycles: `creating` -> `available` after N polls or S seconds.

Each kind of resource (proxy, endpoint, target, db) has a setting, chosen at
start (--lifecycle) or changed at run time (POST /_kumo/lifecycle). A setting
is stored in moto's state manager under the kind's model name, so moto's own
`/moto-api/state-manager/set-transition` works as well:

  {"progression": "immediate"}            next state at once
  {"progression": "manual", "times": N}   next state on the Nth describe
  {"progression": "time", "seconds": S}   next state S seconds after the last change

Deletions use the same setting: `deleting` lasts as long as `creating`.
"""
import copy
import re
import time

from moto.moto_api import state_manager

MODELS = {
    "proxy": "rds::dbproxy",
    "endpoint": "rds::dbproxyendpoint",
    "target": "rds::dbproxytarget",
    "db": "rds::dbinstance",
}

# The lifecycle of RDS resources with a lower-case status, and of targets.
RESOURCE = {"creating": "available", "modifying": "available", "deleting": "deleted",
            "backing-up": "available", "starting": "available", "stopping": "stopped"}
TARGET = {"REGISTERING": "AVAILABLE"}

DEFAULTS = {"proxy": 2, "endpoint": 2, "target": 2, "db": 2}


class LifecycleSpecError(ValueError):
    pass


def transition_for(value):
    """A state-manager transition from a number of polls (int) or a string:
    '3' (polls), '1.5s' (seconds), '0' or 'immediate'."""
    if isinstance(value, dict):
        return dict(value)
    text = str(value).strip().lower()
    if text in ("0", "immediate", "now"):
        return {"progression": "immediate"}
    m = re.fullmatch(r"(\d+(?:\.\d+)?)s", text)
    if m:
        return {"progression": "time", "seconds": float(m.group(1))}
    if re.fullmatch(r"\d+", text):
        n = int(text)
        return {"progression": "manual", "times": n} if n > 0 else {"progression": "immediate"}
    raise LifecycleSpecError(
        f"lifecycle: '{value}' is not a setting; use a number of polls (e.g. 2), "
        "seconds (e.g. 1.5s) or 0 for at once")


def parse(spec: str) -> dict:
    """Parse 'proxy=3,endpoint=1s,target=0,db=2' (or 'all=N') into {kind: transition}."""
    out = {}
    for part in filter(None, (p.strip() for p in (spec or "").split(","))):
        kind, sep, value = part.partition("=")
        kind = kind.strip()
        if not sep:
            raise LifecycleSpecError(f"lifecycle: '{part}' must be KIND=SETTING, e.g. proxy=2")
        kinds = list(MODELS) if kind == "all" else [kind]
        for k in kinds:
            if k not in MODELS:
                raise LifecycleSpecError(
                    f"lifecycle: unknown kind '{k}'; use one of {', '.join(MODELS)} or all")
            out[k] = transition_for(value)
    return out


def register_defaults(settings=None) -> None:
    """Install the default settings (DEFAULTS overridden by `settings`)."""
    for kind, model in MODELS.items():
        state_manager.register_default_transition(model, transition_for(DEFAULTS[kind]))
        state_manager.unset_transition(model)
    configure(settings or {})


def configure(settings: dict) -> None:
    """Change settings at run time: {kind: transition or polls/'Ns'}."""
    for kind, value in settings.items():
        if kind not in MODELS:
            raise LifecycleSpecError(f"lifecycle: unknown kind '{kind}'; use one of {', '.join(MODELS)}")
        state_manager.set_transition(MODELS[kind], transition_for(value))


def current() -> dict:
    return {kind: state_manager.get_transition(model) for kind, model in MODELS.items()}


class Lifecycle:
    """The status of one resource. `poll()` is called by each describe that
    returns the resource; `status` moves along `graph` as the setting says."""

    def __init__(self, kind: str, status: str, graph=None):
        self.kind = kind
        self.graph = graph or (TARGET if kind == "target" else RESOURCE)
        self.force(status)

    def force(self, status: str) -> None:
        """Put the resource in `status` now (e.g. 'modifying', 'deleting')."""
        self._status = status
        self._polls = 0
        self._since = time.monotonic()

    def poll(self) -> None:
        self._polls += 1

    @property
    def status(self) -> str:
        nxt = self.graph.get(self._status)
        if nxt is None:
            return self._status
        t = state_manager.get_transition(MODELS[self.kind])
        p = t.get("progression")
        if p == "manual":
            if self._polls >= int(t.get("times", 1)):
                self.force(nxt)
        elif p == "time":
            if time.monotonic() - self._since >= float(t.get("seconds", 1)):
                self.force(nxt)
        else:  # immediate (or unknown: do not strand the resource)
            while nxt is not None:
                self._status = nxt
                nxt = self.graph.get(nxt)
        return self._status


def view(obj, status: str):
    """A shallow copy of a model object whose `status` reads as `status`:
    AWS answers a create with `creating` and a delete with `deleting`, whatever
    the lifecycle setting says."""
    v = copy.copy(obj)
    v.__dict__["_kumo_status_view"] = status
    return v
