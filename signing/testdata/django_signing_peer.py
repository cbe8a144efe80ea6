#!/usr/bin/python3
"""Live Django peer for the signing package tests (signing/live_test.go).

Run with Debian's Django 3.2: /usr/bin/python3 django_signing_peer.py SEED COUNT

Phase 1 (Django -> Go): writes COUNT JSON lines {"kind": "token", ...}, each a
signing.dumps token of a seeded random value (unicode of every plane incl.
lone surrogates, big ints, floats at the edges, deep nesting, large
compressible payloads, both compress flags, several salts and keys) with the
value itself as json.dumps text, then a line {"kind": "end"}.

Phase 2 (Go -> Django): reads one JSON document from stdin:
  {"tokens": [{"token", "value_json", "key", "salt", "compressed"}...],
   "b64": [text...], "b62": [text...], "zlib": [hex...],
   "hmac": [{"salt", "value", "secret_hex", "algorithm"}...], "sep": [text...]}
and writes one line {"kind": "results", ...} with what Django makes of each:
loads outcome and strict comparison, b64_decode / b62_decode / zlib.decompress
results or exception texts, salted_hmac hexdigests, separator verdicts.
"""
import binascii
import json
import math
import random
import sys
import zlib

from django.conf import settings

SECRET_KEY = "spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
settings.configure(SECRET_KEY=SECRET_KEY)
import django  # noqa: E402

django.setup()
from django.core import signing  # noqa: E402
from django.utils import baseconv  # noqa: E402
from django.utils.crypto import salted_hmac  # noqa: E402

FROZEN = 1700000000
signing.time.time = lambda: FROZEN  # freeze the clock of signing only

seed, count = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)

EDGE_FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 1e16, 1e-7, 1e22, 1e-5, 123456789.123,
               sys.float_info.max, -sys.float_info.max, sys.float_info.min, 5e-324,
               2.0 ** 53, 2.0 ** 53 + 2, 1 / 3, float("nan"), float("inf"), float("-inf")]


def rand_char():
    r = rnd.random()
    if r < 0.4:
        return chr(rnd.randrange(0x20, 0x7f))
    if r < 0.5:
        return chr(rnd.randrange(0, 0x20))
    if r < 0.7:
        return chr(rnd.randrange(0x80, 0x800))
    if r < 0.85:
        c = rnd.randrange(0x800, 0x10000)
        return chr(c)  # includes lone surrogates D800-DFFF
    return chr(rnd.randrange(0x10000, 0x110000))


def rand_str(n=None):
    if n is None:
        n = rnd.randrange(0, 12)
    return "".join(rand_char() for _ in range(n))


def rand_scalar():
    k = rnd.randrange(9)
    if k == 0:
        return None
    if k == 1:
        return rnd.random() < 0.5
    if k == 2:
        return rnd.randrange(-2 ** 63, 2 ** 63)
    if k == 3:
        return rnd.choice([1, -1]) * rnd.randrange(2 ** 64, 2 ** 300)
    if k == 4:
        return rnd.choice(EDGE_FLOATS)
    if k == 5:
        return rnd.uniform(-1e6, 1e6) * 10 ** rnd.randrange(-300, 300)
    return rand_str()


def rand_value(depth=0):
    if depth > 6 or rnd.random() < 0.45:
        return rand_scalar()
    if rnd.random() < 0.5:
        return [rand_value(depth + 1) for _ in range(rnd.randrange(0, 5))]
    return {rand_str(): rand_value(depth + 1) for _ in range(rnd.randrange(0, 5))}


def big_value():
    word = rand_str(rnd.randrange(1, 6))
    return {"blob": word * rnd.randrange(1000, 20000), "items": [rand_value() for _ in range(50)],
            "deep": nested(rnd.randrange(20, 60))}


def nested(n):
    v = rand_scalar()
    for _ in range(n):
        v = [v] if rnd.random() < 0.5 else {"k": v}
    return v


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")


# ---- phase 1: Django signs, Go verifies ----
KEYS = [SECRET_KEY, "other-key-\u00e9\u20ac"]
for i in range(count):
    v = big_value() if i % 100 == 7 else rand_value()
    compress = rnd.random() < 0.5
    key = rnd.choice(KEYS)
    salt = rnd.choice([None, "django.contrib.sessions.SessionStore", "s\u00e4lt", ""])
    kw = {"key": key, "compress": compress}
    if salt is not None:
        kw["salt"] = salt
    token = signing.dumps(v, **kw)
    out({"kind": "token", "token": token, "value_json": json.dumps(v), "key": key,
         "salt": salt, "compress": compress, "now": FROZEN})
out({"kind": "end"})
sys.stdout.flush()

# ---- phase 2: Go signs and sends inputs, Django checks ----
req = json.loads(sys.stdin.read())


def strict_eq(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(strict_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(strict_eq(a[k], b[k]) for k in a)
    return a == b


def exc_text(e):
    return "%s: %s" % (type(e).__module__ + "." + type(e).__name__, e)


tok_results = []
for t in req["tokens"]:
    kw = {"key": t["key"]}
    if t["salt"] is not None:
        kw["salt"] = t["salt"]
    try:
        v = signing.loads(t["token"], **kw)
    except Exception as e:  # report, do not stop
        tok_results.append({"ok": False, "error": exc_text(e)})
        continue
    want = json.loads(t["value_json"])
    payload = t["token"].split(":")[0]
    tok_results.append({
        "ok": strict_eq(v, want),
        "dumps_equal": json.dumps(v, separators=(",", ":")) == t["value_json"],
        "compressed": payload.startswith("."),
    })


def attempt(fn):
    try:
        return {"ok": True, "result": fn()}
    except Exception as e:
        return {"ok": False, "error": exc_text(e)}


b64_results = [attempt(lambda s=s: signing.b64_decode(s.encode()).hex()) for s in req["b64"]]
b62_results = [attempt(lambda s=s: baseconv.base62.decode(s)) for s in req["b62"]]
zlib_results = [attempt(lambda z=z: zlib.decompress(bytes.fromhex(z)).hex()) for z in req["zlib"]]
hmac_results = [attempt(lambda h=h: salted_hmac(h["salt"], h["value"], bytes.fromhex(h["secret_hex"]),
                                                algorithm=h["algorithm"]).hexdigest()) for h in req["hmac"]]
sep_results = [attempt(lambda s=s: signing.Signer(sep=s).sign("v")) for s in req["sep"]]
out({"kind": "results", "tokens": tok_results, "b64": b64_results, "b62": b62_results,
     "zlib": zlib_results, "hmac": hmac_results, "sep": sep_results})
