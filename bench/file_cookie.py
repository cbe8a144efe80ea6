#!/usr/bin/python3
"""Django side of bench/file_cookie.sh: times the file and signed_cookies
engines of the installed Django (Debian's 3.2) on the same session dicts as
the Go benchmarks (djangosession/filestore and cookiestore bench_test.go,
which take them from internal/vectors.BenchSessions).

Prints one line per case: ENGINE OP SIZE WALL_NS_PER_OP CPU_NS_PER_OP ENCODED_BYTES
"""
import json
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
    """tiny, medium and large are testdata/bench/*.json, the sizes the issues
    define (auth-only ~170 B, ~1 KB, ~16 KB of compressible JSON); xlarge is
    a 44 KB session with a history of 2000 URLs. The Go side reads and builds
    the same dicts (internal/vectors.BenchSessions)."""
    bench_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "bench")
    out = []
    for name in ("tiny", "medium", "large"):
        with open(os.path.join(bench_dir, name + ".json"), encoding="utf-8") as f:
            out.append((name, json.load(f)))
    x = {
        "_auth_user_id": "1",
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5",
    }
    x["cart"] = [{"id": i, "name": "item-%d" % i, "price": i * 1.25, "qty": i % 3 + 1} for i in range(10)]
    x["flash"] = "Welcome back!"
    x["prefs"] = {"theme": "dark", "lang": "en-us", "tz": "Europe/Paris"}
    x["visits"] = 42
    x["history"] = ["/page/%d?ref=%d" % (i, i * 7) for i in range(2000)]
    out.append(("xlarge", x))
    return out


def timeit(fn, min_time=float(os.environ.get("BENCH_SECONDS", "0.3")),
           rounds=int(os.environ.get("BENCH_COUNT", "5"))):
    """(wall ns, CPU ns) per call: the best of rounds of the mean over
    min_time seconds, as the Go side reports the best of go test -count.
    CPU time (time.process_time: user+system of the process) is what
    compares fairly on a machine shared with other work."""
    fn()
    best_wall = best_cpu = None
    for _ in range(rounds):
        n, total, batch = 0, 0.0, 1
        c0 = time.process_time()
        while total < min_time:
            t0 = time.perf_counter()
            for _ in range(batch):
                fn()
            total += time.perf_counter() - t0
            n += batch
            batch *= 2
        cpu = (time.process_time() - c0) / n * 1e9
        wall = total / n * 1e9
        best_wall = wall if best_wall is None else min(best_wall, wall)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    return best_wall, best_cpu


def line(engine, op, size, fn, nbytes):
    wall, cpu = timeit(fn)
    print("%s %s %s %.0f %.0f %d" % (engine, op, size, wall, cpu, nbytes), flush=True)


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

    line("file", "load", name, load, size)
    line("file", "save", name, save, size)
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

    line("cookie", "load", name, cload, len(cookie))
    line("cookie", "save", name, csave, len(cookie))
os.rmdir(tmp)
