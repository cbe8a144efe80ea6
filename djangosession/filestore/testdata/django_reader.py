#!/usr/bin/python3
"""Load one file session with real Django in a loop, for the torn-write test.

    /usr/bin/python3 django_reader.py DIR KEY SECONDS SECRET_KEY < expected.json

expected.json is a JSON list of the session dicts a concurrent writer may
have left in the file. Every load must return one of them, under the same key
(an empty, torn or undecodable file would give {} or a new key). Prints one
JSON line: {"loads": n, "bad": n, "first_bad": ...}.
"""
import json
import sys
import time

import django
from django.conf import settings

directory, key, seconds, secret = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
expected = json.load(sys.stdin)
settings.configure(
    SECRET_KEY=secret,
    SESSION_ENGINE="django.contrib.sessions.backends.file",
    SESSION_FILE_PATH=directory,
    USE_TZ=True,
    INSTALLED_APPS=["django.contrib.sessions"],
)
django.setup()
from django.contrib.sessions.backends.file import SessionStore  # noqa: E402

loads = bad = 0
first_bad = None
print(json.dumps({"ready": True}), flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    s = SessionStore(key)
    data = s.load()
    loads += 1
    if data not in expected or s.session_key != key:
        bad += 1
        if first_bad is None:
            first_bad = {"data": data, "key": s.session_key}
print(json.dumps({"loads": loads, "bad": bad, "first_bad": first_bad}), flush=True)
