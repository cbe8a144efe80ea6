"""Django 3.2 side of bench/db.sh: create django_session in the given
PostgreSQL database, write the same medium session as the Go benchmarks
(dbstore.mediumSession), and time SessionStore(key).load() and a bare
psycopg2 SELECT on that row. Prints one JSON line."""
import json
import statistics
import sys
import time
import timeit

import django
from django.conf import settings

db = json.loads(sys.argv[1])
secret = sys.argv[2]
settings.configure(
    DATABASES={"default": db}, USE_TZ=True, SECRET_KEY=secret,
    INSTALLED_APPS=["django.contrib.sessions"],
    SESSION_ENGINE="django.contrib.sessions.backends.db",
)
django.setup()

import io
from django.core.management import call_command
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection

call_command("migrate", "sessions", interactive=False, verbosity=0, stdout=io.StringIO())

s = SessionStore()
s["_auth_user_id"] = "42"
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = "3f1c1e0f2a5b7c9d8e6f4a2b1c3d5e7f9a8b6c4d2e0f1a3b5c7d9e8f6a4b2c1d"
s["_csrftoken"] = "Qm8r3ZbV1tYp6XkL0sNwE9uJ4cHdG7fA2oIeRxT5yPlKjMnBvCqWzSaDgFhUiO"
for i in range(16):
    s["cart_%02d" % i] = {"sku": "SKU-%06d" % (i * 7919), "qty": i % 5 + 1, "price": i * 3.25 + 0.99}
s["last_seen"] = "2023-11-14T22:13:20.123456+00:00"
s["flags"] = [True, False, None, "beta"]
s.save()
key = s.session_key
assert SessionStore(key).load()["_auth_user_id"] == "42"

number, repeat = int(sys.argv[3]), 7


def per_call(stmt):
    """Wall time, and client CPU time (time.process_time) per call: CPU
    does not grow while waiting for the server or for a busy machine."""
    times = timeit.repeat(stmt, number=number, repeat=repeat)
    cpu = timeit.repeat(stmt, number=number, repeat=repeat, timer=time.process_time)
    per = [t / number * 1e6 for t in times]
    per_cpu = [t / number * 1e6 for t in cpu]
    return {"min_us": min(per), "median_us": statistics.median(per),
            "cpu_median_us": statistics.median(per_cpu)}


load = per_call(lambda: SessionStore(key).load())
cur = connection.cursor()


def bare():
    cur.execute("SELECT session_data FROM django_session WHERE session_key = %s", [key])
    cur.fetchone()


bare_t = per_call(bare)
print(json.dumps({"key": key, "session_data_len": len(s._get_session_from_db().session_data),
                  "django_load": load, "psycopg2_bare": bare_t}))
