#!/usr/bin/python3
"""Django side of bench/file_cookie.sh: times the file and signed_cookies
engines of the installed Django (Debian's 3.2) on the same session dicts as
the Go benchmarks (djangosession/filestore and cookiestore bench_test.go).

Prints one line per case: ENGINE OP SIZE NS_PER_OP ENCODED_BYTES
"""
import os
import sys
import tempfile
import time

import django
from django.conf import settings

tmp = tempfile.mkdtemp(prefix="djs-bench-")
settings.configure(
    SECRET_KEY="spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    SESSION_FILE_PATH=tmp,
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()
from django.contrib.sessions.backends import file as file_engine  # noqa: E402
from django.contrib.sessions.backends import signed_cookies  # noqa: E402


def sessions():
    def login(d):
        d["_auth_user_id"] = "1"
        d["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        d["_auth_user_hash"] = "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5"
        return d

    def medium():
        d = login({})
        d["cart"] = [{"id": i, "name": "item-%d" % i, "price": i * 1.25, "qty": i % 3 + 1} for i in range(10)]
        d["flash"] = "Welcome back!"
        d["prefs"] = {"theme": "dark", "lang": "en-us", "tz": "Europe/Paris"}
        d["visits"] = 42
        return d

    large = medium()
    large["history"] = ["/page/%d?ref=%d" % (i, i * 7) for i in range(2000)]
    return [("tiny", {"a": 1}), ("medium", medium()), ("large", large)]


def timeit(fn, min_time=float(os.environ.get("BENCH_SECONDS", "1")), rounds=3):
    """Best of rounds of the mean time per call over min_time seconds (the
    Go side reports the best of go test -count 3)."""
    fn()
    best = None
    for _ in range(rounds):
        n, total, batch = 0, 0.0, 1
        while total < min_time:
            t0 = time.perf_counter()
            for _ in range(batch):
                fn()
            total += time.perf_counter() - t0
            n += batch
            batch *= 2
        per = total / n * 1e9
        best = per if best is None else min(best, per)
    return best


key = "benchmark0000000000000000000000a"
for name, data in sessions():
    s = file_engine.SessionStore(key)
    s._session_cache = dict(data)
    s.save(must_create=True)
    size = len(s.encode(data))

    def load():
        st = file_engine.SessionStore(key)
        d = st.load()
        assert st.session_key == key and d

    def save():
        st = file_engine.SessionStore(key)
        st._session_cache = data
        st.save()

    print("file load %s %.0f %d" % (name, timeit(load), size), flush=True)
    print("file save %s %.0f %d" % (name, timeit(save), size), flush=True)
    os.unlink(os.path.join(tmp, "sessionid" + key))

    c = signed_cookies.SessionStore()
    c._session_cache = dict(data)
    c.save()
    cookie = c.session_key

    def cload():
        st = signed_cookies.SessionStore(cookie)
        d = st.load()
        assert d and not st.modified

    def csave():
        st = signed_cookies.SessionStore()
        st._session_cache = data
        st.save()

    print("cookie load %s %.0f %d" % (name, timeit(cload), len(cookie)), flush=True)
    print("cookie save %s %.0f %d" % (name, timeit(csave), len(cookie)), flush=True)
os.rmdir(tmp)
