"""boto3's side of the DynamoDB marshalling differential. Values travel as
tagged JSON both sides read the same way: {"$n": text} a Decimal, {"$b":
base64} Binary, {"$set": [...]} a set, null None, arrays lists, objects dicts.

  python3 dynamodb_diff.py gen SEED COUNT   -> JSON lines {value, av | error}
  boto3's TypeSerializer gives av (B as base64) or the error's type."""
import base64
import json
import random
import sys
from decimal import Decimal

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer


def native(v):
    if isinstance(v, dict):
        if "$n" in v:
            return Decimal(v["$n"])
        if "$b" in v:
            return Binary(base64.b64decode(v["$b"]))
        if "$set" in v:
            return set(native(x) for x in v["$set"])
        return {k: native(x) for k, x in v.items()}
    if isinstance(v, list):
        return [native(x) for x in v]
    return v


def wire(av):
    """An AttributeValue with binaries as base64 (as on the wire)."""
    (tag, v), = av.items()
    if tag == "B":
        return {"B": base64.b64encode(bytes(v)).decode()}
    if tag == "BS":
        return {"BS": sorted(base64.b64encode(bytes(b)).decode() for b in v)}
    if tag in ("SS", "NS"):
        return {tag: sorted(v)}
    if tag == "L":
        return {"L": [wire(x) for x in v]}
    if tag == "M":
        return {"M": {k: wire(x) for k, x in v.items()}}
    return {tag: v}


NUMBERS = ["0", "-0", "1", "-1", "007", "1.50", "0.000001", "0.0000001", "1e3", "1E+3", "-2.5e-3",
           "123456789012345678901234567890123456789", "12345678901234567890123456789012345678",
           "9.99e126", "1e127", "1e-128", "1e-130", "3.14159265358979323846", "100", "1.0", "-0.0",
           "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1e-6", "1e-7", "12e5",
           "0e10", "0.0e-3"]
STRINGS = ["", "a", "héllo", "日本", "x" * 40, "1.5", "true", "null"]


def gen_value(rng, depth=0):
    r = rng.random()
    if depth > 2 or r < 0.55:
        k = rng.randrange(6)
        if k == 0:
            return {"$n": rng.choice(NUMBERS)}
        if k == 1:
            return rng.choice(STRINGS)
        if k == 2:
            return rng.choice([True, False])
        if k == 3:
            return None
        if k == 4:
            return {"$b": base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randrange(5)))).decode()}
        return rng.randrange(-10**6, 10**6)
    if r < 0.7:
        kind = rng.randrange(3)
        n = rng.randrange(1, 4)
        if kind == 0:
            return {"$set": sorted({rng.choice(STRINGS[1:]) for _ in range(n)})}
        if kind == 1:
            return {"$set": sorted({rng.choice(NUMBERS[:12]) for _ in range(n)}, key=str)
                    and [{"$n": x} for x in sorted({rng.choice(["1", "2.5", "-3", "1e3", "0.1"]) for _ in range(n)})]}
        return {"$set": [{"$b": base64.b64encode(bytes([i, rng.randrange(256)])).decode()} for i in range(n)]}
    if r < 0.85:
        return [gen_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": gen_value(rng, depth + 1) for i in range(rng.randrange(4))}


def main():
    seed, count = int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    ser, de = TypeSerializer(), TypeDeserializer()
    for i in range(count):
        v = gen_value(rng) if i >= len(NUMBERS) else {"$n": NUMBERS[i]}
        out = {"value": v}
        try:
            av = ser.serialize(native(v))
            out["av"] = wire(av)
            # and back: the deserializer's value, re-tagged
            out["back"] = tagged(de.deserialize(av))
        except Exception as e:
            out["error"] = type(e).__name__
        print(json.dumps(out))


def tagged(v):
    if isinstance(v, Decimal):
        return {"$n": str(v)}
    if isinstance(v, Binary):
        return {"$b": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, set):
        items = [tagged(x) for x in v]
        return {"$set": sorted(items, key=lambda x: json.dumps(x, sort_keys=True))}
    if isinstance(v, dict):
        return {k: tagged(x) for k, x in v.items()}
    if isinstance(v, list):
        return [tagged(x) for x in v]
    return v


if __name__ == "__main__":
    main()
