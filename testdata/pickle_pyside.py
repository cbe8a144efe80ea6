#!/usr/bin/python3
"""Python side of the pickle_compat tests (run with Debian's /usr/bin/python3).

  pickle_pyside.py expected > testdata/pickle_expected.json
      Unpickle every pickle in the vector files (pickle.json, and the pickle
      cases of session_encode.json, signed_cookies.json, cache_values.json) and
      write each value in the tagged form below, so Go can compare what it
      reads without parsing Python reprs.
  pickle_pyside.py gen SEED COUNT
      Print JSON: COUNT random session-like values pickled at protocols 0
      to 5, each with its tagged form.
  pickle_pyside.py check < JSON
      Read [{"orig_hex", "go_hex"}...]; unpickle both, compare with strict
      type-aware equality and print the mismatches as JSON.

Tagged form: null/true/false as themselves; {"int": "123"}, {"float":
"<16 hex digits of the IEEE bits>"}, {"str": "<hex of UTF-8 surrogatepass>"},
{"bytes"|"bytearray": hex}, {"list"|"tuple"|"set"|"frozenset": [...]} (set
items sorted by their JSON), {"dict"|"ordered_dict": [[k, v], ...]},
{"datetime": [y,mo,d,h,mi,s,us,fold], "tz": TZ}, {"date": [y,m,d]},
{"time": [h,mi,s,us,fold], "tz": TZ}, {"timedelta": [d,s,us]},
{"decimal": str}, {"uuid": str}, {"tzinfo": TZ}, {"object": "?"};
TZ = null | {"utc": 1} | {"pytz_utc": 1} | {"fixed": offset_us, "name": str|null}
| {"zoneinfo": key} | {"opaque": 1}.
"""
import base64
import collections
import datetime
import decimal
import json
import os
import pickle
import random
import re
import struct
import sys
import uuid
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def tz_tag(tz):
    if tz is None:
        return None
    if tz is datetime.timezone.utc:
        return {"utc": 1}
    if type(tz) is datetime.timezone:
        args = tz.__getinitargs__()
        off = args[0]
        us = (off.days * 86400 + off.seconds) * 1000000 + off.microseconds
        return {"fixed": us, "name": args[1] if len(args) > 1 else None}
    mod = type(tz).__module__
    if mod.startswith("pytz") and type(tz).__name__ == "UTC":
        return {"pytz_utc": 1}
    if mod == "zoneinfo" or type(tz).__name__ == "ZoneInfo":
        return {"zoneinfo": tz.key}
    return {"opaque": 1}


def tag(v):
    t = type(v)
    if v is None or t is bool:
        return v
    if t is int:
        return {"int": str(v)}
    if t is float:
        return {"float": struct.pack(">d", v).hex()}
    if t is str:
        return {"str": v.encode("utf-8", "surrogatepass").hex()}
    if t is bytes:
        return {"bytes": v.hex()}
    if t is bytearray:
        return {"bytearray": bytes(v).hex()}
    if t is list:
        return {"list": [tag(x) for x in v]}
    if t is tuple:
        return {"tuple": [tag(x) for x in v]}
    if t is set or t is frozenset:
        items = sorted((tag(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
        return {t.__name__: items}
    if t is dict:
        return {"dict": [[tag(k), tag(x)] for k, x in v.items()]}
    if t is collections.OrderedDict:
        return {"ordered_dict": [[tag(k), tag(x)] for k, x in v.items()]}
    if t is datetime.datetime:
        return {"datetime": [v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.fold],
                "tz": tz_tag(v.tzinfo)}
    if t is datetime.date:
        return {"date": [v.year, v.month, v.day]}
    if t is datetime.time:
        return {"time": [v.hour, v.minute, v.second, v.microsecond, v.fold], "tz": tz_tag(v.tzinfo)}
    if t is datetime.timedelta:
        return {"timedelta": [v.days, v.seconds, v.microseconds]}
    if t is decimal.Decimal:
        return {"decimal": str(v)}
    if t is uuid.UUID:
        return {"uuid": str(v)}
    if isinstance(v, datetime.tzinfo):
        return {"tzinfo": tz_tag(v)}
    return {"object": "?"}


def try_tag(b):
    try:
        return {"tagged": tag(pickle.loads(b))}
    except Exception as e:  # noqa: BLE001 - record what Python says
        return {"error": "%s: %s" % (type(e).__name__, e)}


def signed_payload(s):
    """The pickle inside a signed value 'payload:ts:sig' (maybe compressed)."""
    if not isinstance(s, str) or s.count(":") < 2:
        return None
    payload = s.split(":")[0]
    compressed = payload.startswith(".")
    if compressed:
        payload = payload[1:]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        if compressed:
            raw = zlib.decompress(raw)
    except Exception:  # noqa: BLE001
        return None
    return raw if raw[:1] == b"\x80" else None


def walk(node, path, out):
    if isinstance(node, dict):
        pickled = node.get("flags") == 1 or "pickle_protocol" in node
        for k, v in node.items():
            p = path + [k]
            if k == "value_hex" and pickled and isinstance(v, str):
                out.append((p, "hex", bytes.fromhex(v)))
            elif k in ("result", "input", "cookie_value", "cookie", "value") and isinstance(v, str):
                raw = signed_payload(v)
                if raw is not None:
                    out.append((p, "signed", raw))
            else:
                walk(v, p, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, path + [i], out)


def expected():
    vec = os.path.join(HERE, "vectors")
    entries = []
    cases = json.load(open(os.path.join(vec, "pickle.json")))["cases"]
    for i, c in enumerate(cases):
        if "pickle_hex" in c:
            e = {"file": "pickle.json", "case": i, "path": ["pickle_hex"], "kind": "hex",
                 "protocol": c.get("protocol"), "python_version": c.get("python_version"),
                 "pickle_hex": c["pickle_hex"]}
            e.update(try_tag(bytes.fromhex(c["pickle_hex"])))
            entries.append(e)
    for name in ("session_encode.json", "signed_cookies.json", "cache_values.json"):
        cases = json.load(open(os.path.join(vec, name)))["cases"]
        for i, c in enumerate(cases):
            found = []
            walk(c, [], found)
            for path, kind, raw in found:
                e = {"file": name, "case": i, "path": path, "kind": kind,
                     "protocol": raw[1], "python_version": c.get("python_version"),
                     "pickle_hex": raw.hex()}
                e.update(try_tag(raw))
                entries.append(e)
    json.dump({"generated_by": "testdata/pickle_pyside.py expected",
               "python_version": sys.version.split()[0], "entries": entries},
              sys.stdout, indent=1)
    sys.stdout.write("\n")


# ---- random values -------------------------------------------------------

# Decoded at run time: constants loaded from a .pyc are not CPython's
# one-character singletons, which would make identity differ from a
# session's strings.
WORDS = [w.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass") for w in [
    "", "a", "é", "_auth_user_id", "django.contrib.auth.backends.ModelBackend",
    "caf\u00e9 \u20ac \U0001F600", "line\nbreak", "\x00nul", "\ud800lone", "x" * 300]]


def rnd_str(r, key=False):
    """A str as a session holds it: keys interned (literals, or keys of one
    json.loads call, are one object), values freshly computed objects."""
    k = r.random()
    if k < 0.3:
        s = r.choice(WORDS)
    else:
        n = r.randrange(0, 40)
        alphabet = "abcxyz019 _-\u00e9\u00ff\u0100\u20ac\U0001F600\ud83d"
        s = "".join(r.choice(alphabet) for _ in range(n))
    if len(s) == 1:
        return chr(ord(s))  # CPython's one-character singleton (for < U+0100)
    if key and re.fullmatch(r"[A-Za-z0-9_]+", s):
        return sys.intern(s)
    return (s + ".")[:-1]  # a distinct object


def rnd_int(r):
    return r.choice([0, 1, 255, 256, 65535, 65536, -1, -256, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
                     2**63, -2**63, 2**64, -(2**64), 2**2100, -(2**2100) + 1, r.randrange(-10**30, 10**30),
                     r.randrange(-300, 300)])


def rnd_float(r):
    return r.choice([0.0, -0.0, 1.5, 0.1, 1e300, -1e-300, float("inf"), float("-inf"), float("nan"),
                     r.uniform(-1e6, 1e6)])


def rnd_tz(r):
    k = r.randrange(6)
    if k == 0:
        return None
    if k == 1:
        return datetime.timezone.utc
    if k == 2:
        return datetime.timezone(datetime.timedelta(minutes=r.randrange(-1439, 1440)))
    if k == 3:
        return datetime.timezone(datetime.timedelta(hours=5, minutes=30), "IST")
    if k == 4:
        try:
            import zoneinfo
            return zoneinfo.ZoneInfo(r.choice(["Europe/Paris", "America/New_York", "UTC"]))
        except Exception:  # noqa: BLE001
            return None
    try:
        import pytz
        return pytz.utc
    except Exception:  # noqa: BLE001
        return None


def rnd_scalar(r):
    k = r.randrange(16)
    if k == 0:
        return None
    if k == 1:
        return r.random() < 0.5
    if k == 2:
        return rnd_int(r)
    if k == 3:
        return rnd_float(r)
    if k in (4, 5):
        return rnd_str(r)
    if k == 6:
        return bytes(r.randrange(256) for _ in range(r.randrange(0, 20)))
    if k == 7:
        return bytearray(r.randrange(256) for _ in range(r.randrange(0, 5)))
    if k == 8:
        return datetime.datetime(r.randrange(1, 10000), r.randrange(1, 13), r.randrange(1, 29),
                                 r.randrange(24), r.randrange(60), r.randrange(60),
                                 r.choice([0, r.randrange(1000000)]), tzinfo=rnd_tz(r),
                                 fold=r.choice([0, 0, 1]))
    if k == 9:
        return datetime.date(r.randrange(1, 10000), r.randrange(1, 13), r.randrange(1, 29))
    if k == 10:
        tz = rnd_tz(r)
        if tz is not None and not isinstance(tz, datetime.timezone):
            tz = None
        return datetime.time(r.randrange(24), r.randrange(60), r.randrange(60),
                             r.choice([0, r.randrange(1000000)]), tzinfo=tz, fold=r.choice([0, 1]))
    if k == 11:
        return datetime.timedelta(days=r.randrange(-999999999, 999999999), seconds=r.randrange(86400),
                                  microseconds=r.randrange(1000000))
    if k == 12:
        return decimal.Decimal(r.choice(["1.50", "-0", "1E+2", "NaN", "-Infinity", "0.000001", "123456789.987654321",
                                         str(r.randrange(-10**9, 10**9))]))
    if k == 13:
        return uuid.UUID(int=r.getrandbits(128))
    if k == 14:
        return rnd_tz(r)
    return r.randrange(100)


def rnd_hashable(r, depth):
    k = r.randrange(5)
    if k == 0:
        return rnd_int(r)
    if k == 1 and depth < 3:
        return tuple(rnd_hashable(r, depth + 1) for _ in range(r.randrange(0, 5)))
    if k == 2:
        return frozenset(rnd_int(r) for _ in range(r.randrange(0, 4)))
    if k == 3:
        return r.choice([None, True, False, 1.5, b"k", uuid.UUID(int=r.getrandbits(128)),
                         datetime.date(2023, 1, r.randrange(1, 28)), decimal.Decimal("2.5")])
    return rnd_str(r)


def as_key(r, k):
    """A dict key: identifier-like strings interned, like literals."""
    if isinstance(k, str) and len(k) > 1 and re.fullmatch(r"[A-Za-z0-9_]+", k):
        return sys.intern(k)
    return k


def rnd_value(r, depth=0):
    if depth >= 4 or r.random() < 0.45:
        return rnd_scalar(r)
    k = r.randrange(7)
    n = r.choice([0, 1, 2, 3, 4, 7])
    if k == 0:
        return [rnd_value(r, depth + 1) for _ in range(n)]
    if k == 1:
        return tuple(rnd_value(r, depth + 1) for _ in range(n))
    if k == 2:
        return {rnd_str(r, True): rnd_value(r, depth + 1) for _ in range(n)}
    if k == 3:
        return {as_key(r, rnd_hashable(r, depth)): rnd_value(r, depth + 1) for _ in range(n)}
    if k == 4:
        return set(rnd_hashable(r, depth) for _ in range(n))
    if k == 5:
        return collections.OrderedDict((rnd_str(r, True), rnd_value(r, depth + 1)) for _ in range(n))
    return frozenset(rnd_hashable(r, depth) for _ in range(n))


def special_values():
    """Values that exercise batching, framing and sharing."""
    shared = ["shared"]
    big = "y" * 70000
    return [
        list(range(999)), list(range(1000)), list(range(1001)), list(range(2001)),
        {i: i for i in range(1000)}, {i: i for i in range(1001)}, {i: None for i in range(2000)},
        set(range(1000)), set(range(1001)), frozenset(range(1500)),
        collections.OrderedDict((str(i), i) for i in range(1000)),
        collections.OrderedDict((str(i), i) for i in range(1001)),
        [shared, shared], {"a": shared, "b": [shared]},
        [b"z" * 140000], ["x" * 70000, "y"], [big, 1, (big + ".")[:-1]], bytes(range(256)) * 260,
        [[i, str(i)] for i in range(9000)],
        {"k%d" % i: "v" * (i % 50) for i in range(3000)},
        bytearray(b"q" * 70000),
        [datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.timezone.utc),
         datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)],
        [uuid.UUID(int=5), uuid.UUID(int=2**127)],
        ["", "", "a", "a", "é", "é", "ab", "a" + "bc"[:1]], {"ab": 1, "x": {"ab": 2}},
        [b"", b"", bytearray(), bytearray(), (), ()],
        2**(8 * 300), -(2**(8 * 300 - 1)), -(2**(8 * 300 - 1)) - 1,
    ]


def gen(seed, count):
    r = random.Random(seed)
    values = special_values() + [rnd_value(r) for _ in range(count)]
    out = []
    for i, v in enumerate(values):
        entry = {"i": i, "tagged": {}, "pickles": {}, "repr": repr(v) if len(repr(v)) < 20000 else None}
        for proto in (0, 1, 2, 3, 4, 5):
            b = pickle.dumps(v, protocol=proto)
            entry["pickles"][str(proto)] = b.hex()
            # what a reader must produce (protocols < 4 drop datetime.fold)
            entry["tagged"][str(proto)] = tag(pickle.loads(b))
        out.append(entry)
    json.dump(out, sys.stdout)


class Plain:
    """A user class pickled with its __dict__ (NEWOBJ + BUILD)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class Reduced:
    """A class with a custom __reduce__ (REDUCE of a module function)."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __reduce__(self):
        return (make_reduced, (self.a, self.b))


def make_reduced(a, b):
    return Reduced(a, b)


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


class NewArgsEx:
    """Pickled with NEWOBJ_EX at protocol 4+."""

    def __new__(cls, *args, **kw):
        o = object.__new__(cls)
        o.args, o.kw = args, kw
        return o

    def __getnewargs_ex__(self):
        return self.args, self.kw


class MyList(list):
    pass


class MyDict(dict):
    pass


def opaque_values():
    import enum
    vals = [
        Plain(a=1, b="two", c=[1, 2], d={"k": (3, 4)}),
        {"user": Plain(name="x", when=datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc))},
        Reduced(1, "b"), [Reduced(2, None), Reduced(3, 4.5)],
        Slotted(1, [2]), NewArgsEx(1, 2, k="v"),
        MyList([1, 2, 3]), MyList([1]), MyDict(a=1, b=2), MyDict(),
        collections.defaultdict(list, {"a": [1]}), collections.Counter("hello"),
        collections.deque([1, 2, 3]),
        enum.Enum("Color", "RED GREEN", module=__name__),
        ZoneNoCache(),
    ]
    try:
        import pytz
        vals.append(pytz.timezone("Europe/Paris").localize(datetime.datetime(2023, 7, 1, 12)))
        vals.append(pytz.timezone("Asia/Tokyo"))
    except ImportError:
        pass
    try:
        import django
        from django.conf import settings
        if not settings.configured:
            settings.configure(USE_I18N=True)
        django.setup()
        from django.utils.functional import lazystr
        from django.utils.safestring import mark_safe
        from django.utils.translation import gettext_lazy, ngettext_lazy
        vals += [gettext_lazy("hello"), lazystr("hello"), mark_safe("<b>"),
                 {"msg": mark_safe("<i>x</i>"), "lazy": [gettext_lazy("a"), gettext_lazy("b")]},
                 ngettext_lazy("%d apple", "%d apples", 3)]
    except ImportError:
        pass
    return [v for v in vals if v is not None]


def ZoneNoCache():
    try:
        import zoneinfo
        return datetime.datetime(2023, 1, 1, tzinfo=zoneinfo.ZoneInfo.no_cache("Europe/Paris"))
    except Exception:  # noqa: BLE001
        return None


def opaque():
    out = []
    for i, v in enumerate(opaque_values()):
        for proto in (2, 4, 5):
            try:
                b = pickle.dumps(v, protocol=proto)
            except Exception:  # noqa: BLE001
                continue
            # Python itself must re-pickle what it unpickles identically,
            # or byte-identity is not expected from Go either.
            again = pickle.dumps(pickle.loads(b), protocol=proto)
            out.append({"i": i, "protocol": proto, "hex": b.hex(), "stable": again == b,
                        "repr": repr(v)[:80]})
    json.dump(out, sys.stdout)


def check():
    items = json.load(sys.stdin)
    bad = []
    for it in items:
        try:
            want = pickle.loads(bytes.fromhex(it["orig_hex"]))
            got = pickle.loads(bytes.fromhex(it["go_hex"]))
        except Exception as e:  # noqa: BLE001
            bad.append({"id": it.get("id"), "error": "%s: %s" % (type(e).__name__, e)})
            continue
        if tag(want) != tag(got):
            bad.append({"id": it.get("id"), "want": repr(want)[:300], "got": repr(got)[:300]})
    json.dump({"checked": len(items), "mismatches": bad}, sys.stdout)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "expected":
        expected()
    elif cmd == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "check":
        check()
    elif cmd == "opaque":
        opaque()
    else:
        sys.exit(__doc__)
