"""botocore's adaptive rate limiter on a fake clock, for kumo.ratelimit's
differential spec (tests/modules/kumo/ratelimit_botocore_spec.lua).

Prints one JSON line per event: the event (`send` or `response` with
`throttled`), its time, and botocore's state after it: whether the token
bucket is on, its fill rate, capacity and tokens, the measured rate, the
CUBIC parameters, and for a send whether a token was taken
(`acquire(block=False)`, the non-blocking form of `on_sending_request`).
"""
import json
import random
import sys

from botocore.exceptions import CapacityNotAvailableError
from botocore.retries import adaptive, bucket, standard, throttling


class FakeClock(bucket.Clock):
    def __init__(self, t):
        self.t = t

    def current_time(self):
        return self.t


def run(seed, p_throttle, n, out):
    rnd = random.Random(seed)
    clock = FakeClock(1000.0 + rnd.random())
    limiter = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=clock.current_time()),
        rate_clocker=adaptive.RateClocker(clock),
        token_bucket=bucket.TokenBucket(max_rate=1, clock=clock),
        throttling_detector=standard.ThrottlingErrorDetector(standard.RetryEventAdapter()),
        clock=clock,
    )
    # the detector is replaced by the recorded classification
    throttled = {"v": False}
    limiter._throttling_detector = type("D", (), {"is_throttling_error": lambda self, **kw: throttled["v"]})()
    out.write(json.dumps({"seed": seed, "start": clock.t}) + "\n")
    for _ in range(n):
        clock.t += rnd.choice([0.0, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 1.3, 2.0, rnd.random() * 4])
        ev = {"t": clock.t}
        if rnd.random() < 0.5:
            ev["event"] = "send"
            ok = True
            if limiter._enabled:
                try:
                    limiter._token_bucket.acquire(block=False)
                except CapacityNotAvailableError:
                    ok = False
            ev["acquired"] = ok
        else:
            ev["event"] = "response"
            throttled["v"] = rnd.random() < p_throttle
            ev["throttled"] = throttled["v"]
            limiter.on_receiving_response()
        tb = limiter._token_bucket
        cp = limiter._rate_adjustor.get_params_snapshot()
        ev.update(enabled=limiter._enabled, fill_rate=tb.max_rate, max_capacity=tb.max_capacity,
                  capacity=tb.available_capacity, measured=limiter._rate_clocker.measured_rate,
                  w_max=cp.w_max, k=cp.k, last_fail=cp.last_fail)
        out.write(json.dumps(ev) + "\n")


if __name__ == "__main__":
    for seed, p in [(1, 0.05), (2, 0.2), (3, 0.5), (4, 0.0), (5, 0.9), (6, 0.3)]:
        run(seed, p, int(sys.argv[1]) if len(sys.argv) > 1 else 400, sys.stdout)
