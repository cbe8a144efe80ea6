"""Django 3.2's cache and cached_db session engines, timed with timeit.

    /usr/bin/python3 bench/cache_django.py MEMCACHED_ADDR SQLITE_PATH [N]

Prints one JSON object: microseconds per call (best of 7 runs of N) for
SessionStore(key).load() and an update save() of the login session, per
memcached client, and the cached_db load (cache hit).
"""
import json
import sys
import timeit

import django
from django.conf import settings

addr, sqlite_path = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
settings.configure(
    SECRET_KEY="bench",
    INSTALLED_APPS=["django.contrib.sessions"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path}},
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": addr},
        "pylibmc": {"BACKEND": "django.core.cache.backends.memcached.PyLibMCCache", "LOCATION": addr},
    },
)
django.setup()
from django.core.management import call_command  # noqa: E402
from django.contrib.sessions.backends import cache as cache_engine  # noqa: E402
from django.contrib.sessions.backends import cached_db  # noqa: E402
from django.core.cache import caches  # noqa: E402

call_command("migrate", "sessions", verbosity=0)
LOGIN = {
    "_auth_user_id": "1",
    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
    "_auth_user_hash": "0618db4cc18c08b09c2268f1900e29d1cf5eef02f321e78135302313d1fe7aa5",
}
out = {}


def us(fn):
    return min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6


for alias in ("default", "pylibmc"):
    class Store(cache_engine.SessionStore):
        pass
    Store._cache = None
    store = cache_engine.SessionStore()
    store._cache = caches[alias]
    store.update(LOGIN)
    store.save()
    key = store.session_key

    def load(key=key, alias=alias):
        s = cache_engine.SessionStore(key)
        s._cache = caches[alias]
        s.load()

    def save(store=store):
        store.modified = True
        store.save()

    name = "pymemcache" if alias == "default" else "pylibmc"
    out["load_" + name] = us(load)
    out["save_" + name] = us(save)

cs = cached_db.SessionStore()
cs.update(LOGIN)
cs.save()
out["cached_db_load_hit"] = us(lambda: cached_db.SessionStore(cs.session_key).load())
out["cached_db_save"] = us(lambda: cs.save())
print(json.dumps(out))
