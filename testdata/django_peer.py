#!/usr/bin/python3
"""Django's side of the djsession interoperability tests.

Run with Debian's interpreter (it has python3-django 3.2 and the database and
cache client libraries):

    /usr/bin/python3 testdata/django_peer.py [--config JSON|@PATH] SUBCOMMAND [ARGS...] < stdin

The same script runs Django 4.2 and 5.2 (Debian's trixie and sid packages,
unpacked by scripts/setup.sh) when their tree comes first on PYTHONPATH:

    PYTHONPATH=/opt/djsession-peers/django-5.2/usr/lib/python3/dist-packages /usr/bin/python3 ...

It speaks exactly the machine protocol of CLI_PROTOCOL.md (the contract the Go
CLI `djsession` implements too), but every answer is computed by real Django:
a settings module made of the config's own setting names, the configured
SessionStore, django.core.signing, django.contrib.auth.login()/get_user().
Nothing here re-implements a Django algorithm; where the protocol needs a fact
Django does not return directly (was a decode verified? was a session
flushed?), the code observes Django's own objects rather than guessing.

Output: one JSON line on stdout (ASCII, Python's json), logs on stderr.
Exit codes: 0 ok, 1 error {"error": ...}, 2 usage, 3 unsupported.

Extensions beyond CLI_PROTOCOL.md (used by tests only):

* `batch`: stdin is JSON lines {"config": {...}?, "cmd": str, "args": [...],
  "stdin": {...}?}; stdout is one line {"rc": int, "out": {...}} per input
  line, in order. A line's "config" REPLACES the --config of the batch for
  that line (it is not merged). Django's settings can be configured only once
  per process, so the batch process routes every line to a child process
  that holds one configuration; children are started on first use of a
  configuration and kept until the batch ends (at most MAX_CHILDREN at once).
  The `http` subcommand is not available in batch mode.
* Values that JSON cannot carry (pickle serializer only: datetimes, tuples,
  bytes, sets, dicts with non-string keys, ...) are written with the tags of
  testdata/vectors ({"$datetime": isoformat}, {"$tuple": [...]}, ...). Input
  values are taken literally, unless the stdin object has "tagged": true, in
  which case the same tags are turned back into Python objects.
* `loads` failures after a valid signature (bad JSON, bad zlib) report
  kind "malformed"; `decode` and `read` report exit 1 with kind "exception"
  where Django 3.2 itself raises (for example binascii.Error out of
  SessionBase.decode for some garbage inputs).

Django 3.2 specifics that show in the answers (they are Django's behaviour,
reported as is): no SECRET_KEY_FALLBACKS (ignored), SHA-1 signatures always
accepted, DEFAULT_HASHING_ALGORITHM honoured, USE_TZ defaults to False, no
RedisCache (exit 3), set_expiry(datetime) with the JSON serializer makes the
save fail (exit 1), an ISO-string _session_expiry breaks get_expiry_date().
Later releases differ where Django does: 4.x/5.x store set_expiry(datetime)
as an ISO string, take SECRET_KEY_FALLBACKS (and cycle the key when only a
fallback matches the auth hash), have RedisCache, and from 5.0 have no
PickleSerializer and default USE_TZ to True.
"""

import base64
import datetime
import decimal
import io
import json
import os
import subprocess
import sys
import uuid

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNSUPPORTED = 0, 1, 2, 3

# Upper bound on live configurations (child processes) in one batch.
MAX_CHILDREN = 16

# Apps the peer needs: sessions for the stores and the migration, auth (and
# its dependency contenttypes) for login()/get_user() and the User model.
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
]

# Config keys that are protocol-level, not Django settings.
NON_SETTINGS = {"TARGET_DJANGO_VERSION"}

ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "file": "django.contrib.sessions.backends.file",
    "cache": "django.contrib.sessions.backends.cache",
    "cached_db": "django.contrib.sessions.backends.cached_db",
    "signed_cookies": "django.contrib.sessions.backends.signed_cookies",
}

SIGNED_COOKIES_SALT = "django.contrib.sessions.backends.signed_cookies"

SUBCOMMANDS = [
    "capabilities", "dumps", "loads", "encode", "decode", "migrate", "write",
    "read", "modify", "delete", "cycle", "clear-expired", "login-session",
    "verify-auth", "http",
]


class Exit(Exception):
    """Ends a subcommand with an exit code and one JSON object."""

    def __init__(self, rc, out):
        super().__init__(rc, out)
        self.rc = rc
        self.out = out


def usage(msg):
    raise Exit(EXIT_USAGE, {"error": "usage: " + msg})


def unsupported(msg):
    raise Exit(EXIT_UNSUPPORTED, {"unsupported": msg})


def describe(exc):
    """'module.Class: message' (builtins without module), as in the vectors."""
    cls = type(exc)
    name = cls.__qualname__
    if cls.__module__ not in ("builtins", "__main__"):
        name = cls.__module__ + "." + name
    return "%s: %s" % (name, exc)


def dump_line(obj):
    # ensure_ascii: every non-ASCII code point (lone surrogates included) as
    # \uXXXX; allow_nan: NaN/Infinity as Python writes them.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":"))


# ---------------------------------------------------------------------------
# Tagged values (the testdata/vectors convention) for what JSON cannot carry.

def to_tagged(v):
    """Convert a Python value to JSON-able data, tagging non-JSON types."""
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, str):
        return str(v)  # SafeString and other str subclasses
    if isinstance(v, list):
        return [to_tagged(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [to_tagged(x) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v):
            return {str(k): to_tagged(x) for k, x in v.items()}
        return {"$dict_items": [[to_tagged(k), to_tagged(x)] for k, x in v.items()]}
    if isinstance(v, datetime.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, datetime.date):
        return {"$date": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"$time": v.isoformat()}
    if isinstance(v, datetime.timedelta):
        return {"$timedelta": [v.days, v.seconds, v.microseconds]}
    if isinstance(v, decimal.Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, uuid.UUID):
        return {"$uuid": str(v)}
    if isinstance(v, bytes):
        return {"$bytes_hex": v.hex()}
    if isinstance(v, bytearray):
        return {"$bytearray_hex": bytes(v).hex()}
    if isinstance(v, frozenset):
        return {"$frozenset": [to_tagged(x) for x in v]}
    if isinstance(v, set):
        return {"$set": [to_tagged(x) for x in v]}
    return {"$repr": repr(v), "$type": type(v).__module__ + "." + type(v).__qualname__}


def from_tagged(v):
    """Inverse of to_tagged for the tags it writes (used with "tagged": true)."""
    if isinstance(v, list):
        return [from_tagged(x) for x in v]
    if not isinstance(v, dict):
        return v
    if len(v) == 1:
        (tag, x), = v.items()
        if tag == "$datetime":
            return datetime.datetime.fromisoformat(x)
        if tag == "$date":
            return datetime.date.fromisoformat(x)
        if tag == "$time":
            return datetime.time.fromisoformat(x)
        if tag == "$timedelta":
            return datetime.timedelta(days=x[0], seconds=x[1], microseconds=x[2])
        if tag == "$decimal":
            return decimal.Decimal(x)
        if tag == "$uuid":
            return uuid.UUID(x)
        if tag == "$bytes_hex":
            return bytes.fromhex(x)
        if tag == "$bytearray_hex":
            return bytearray.fromhex(x)
        if tag == "$tuple":
            return tuple(from_tagged(e) for e in x)
        if tag == "$set":
            return set(from_tagged(e) for e in x)
        if tag == "$frozenset":
            return frozenset(from_tagged(e) for e in x)
        if tag == "$float":
            return float(x)
        if tag == "$dict_items":
            return {from_tagged(k): from_tagged(e) for k, e in x}
    return {k: from_tagged(x) for k, x in v.items()}


# ---------------------------------------------------------------------------
# Configuration and Django setup (once per process: Django's settings
# cannot be replaced once loaded).

def parse_config(text):
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            usage("--config: " + describe(e))
    try:
        cfg = json.loads(text)
    except ValueError as e:
        usage("--config is not JSON: %s" % e)
    if not isinstance(cfg, dict):
        usage("--config must be a JSON object")
    return cfg


class Peer:
    """One configuration; Django is set up from it on first need."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.ready = False
        self.failed = None  # the exception of a failed setup, re-raised

    def setup(self):
        if self.ready:
            return
        if self.failed is not None:
            # Django's settings cannot be loaded twice: report the first error.
            raise self.failed
        try:
            self._setup()
        except Exception as e:
            self.failed = e
            raise

    def _setup(self):
        import types
        import django
        cfg = self.cfg
        # Django 3.2 has no RedisCache; refuse before Django fails obscurely.
        engine = cfg.get("SESSION_ENGINE", ENGINES["db"])
        if engine in (ENGINES["cache"], ENGINES["cached_db"]) and django.VERSION < (4, 0):
            alias = cfg.get("SESSION_CACHE_ALIAS", "default")
            backend = (cfg.get("CACHES") or {}).get(alias, {}).get("BACKEND", "")
            if backend.startswith("django.core.cache.backends.redis"):
                unsupported("RedisCache needs Django >= 4.0; this peer runs Django %s" % django.get_version())
        # The config becomes a real settings module rather than going through
        # settings.configure(): only Settings.__init__ does what a deployed
        # project gets, notably os.environ["TZ"] = TIME_ZONE + tzset(), which
        # makes naive "now" (USE_TZ=False) and file mtimes local to TIME_ZONE.
        # Upper-case names only, as Django reads from a module; unknown ones
        # are harmless there too.
        module = types.ModuleType("django_peer_settings")
        for k, v in cfg.items():
            if isinstance(k, str) and k.isupper() and k not in NON_SETTINGS:
                setattr(module, k, v)
        module.INSTALLED_APPS = INSTALLED_APPS
        if not hasattr(module, "ALLOWED_HOSTS"):
            module.ALLOWED_HOSTS = ["*"]
        sys.modules[module.__name__] = module
        os.environ["DJANGO_SETTINGS_MODULE"] = module.__name__
        django.setup()
        # login() sends user_logged_in, whose receiver saves last_login to
        # auth_user; the peer's users live in memory only.
        from django.contrib.auth.signals import user_logged_in
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        self.ready = True

    # -- helpers -----------------------------------------------------------

    def store_class(self):
        from importlib import import_module
        from django.conf import settings
        return import_module(settings.SESSION_ENGINE).SessionStore

    def is_signed_cookies(self):
        from django.conf import settings
        return settings.SESSION_ENGINE == ENGINES["signed_cookies"]

    def new_store(self, key=None):
        return self.store_class()(session_key=key)

    def run(self, cmd, args, stdin):
        """Run one subcommand; returns (rc, out)."""
        handler = COMMANDS.get(cmd)
        if handler is None:
            usage("unknown subcommand %r (known: %s)" % (cmd, ", ".join(SUBCOMMANDS)))
        fn, nargs, needs_stdin = handler
        if not (nargs[0] <= len(args) <= nargs[1]):
            usage("%s takes %s argument(s), got %d" % (
                cmd, nargs[0] if nargs[0] == nargs[1] else "%d-%d" % nargs, len(args)))
        if needs_stdin == "required" and not isinstance(stdin, dict):
            usage("%s reads a JSON object from stdin" % cmd)
        if stdin is not None and not isinstance(stdin, dict):
            usage("stdin must be a JSON object")
        if args and args[0] == "-" and cmd in KEY_COMMANDS:
            if not isinstance(stdin, dict) or not isinstance(stdin.get("key"), str):
                usage('a key given as "-" is read from stdin as {"key": "..."}')
            args = [stdin["key"]] + list(args[1:])
        stdin = stdin or {}
        if stdin.get("tagged") is True:
            stdin = {k: (from_tagged(v) if k != "tagged" else v) for k, v in stdin.items()}
        if cmd != "capabilities":
            self.setup()
        return fn(self, args, stdin)


def field(stdin, name, types, default=None, required=False):
    if name not in stdin:
        if required:
            usage("stdin needs %r" % name)
        return default
    v = stdin[name]
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in _as_tuple(types)):
        usage("stdin %r has the wrong type" % name)
    return v


def _as_tuple(t):
    return t if isinstance(t, tuple) else (t,)


# ---------------------------------------------------------------------------
# Expiry helpers.

def parse_expiry(v):
    """The protocol's expiry value -> the argument of SessionBase.set_expiry."""
    import django
    from django.conf import settings
    from django.utils import timezone
    if v is None or isinstance(v, (datetime.datetime, datetime.timedelta)):
        return v
    if isinstance(v, bool):
        usage("expiry must be null, an integer or an ISO-8601 string")
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            dt = datetime.datetime.fromisoformat(v)  # CPython 3.11 accepts "Z"
        except ValueError as e:
            usage("expiry: %s" % e)
        # A Django app with USE_TZ=False works with naive local times; it
        # would hand set_expiry() the local wall-clock time.
        if not settings.USE_TZ and timezone.is_aware(dt):
            dt = timezone.make_naive(dt)
        elif timezone.is_aware(dt) and dt.utcoffset() == datetime.timedelta(0):
            # What timezone.now() + timedelta gives: tzinfo pytz.UTC in 3.2
            # (visible in a pickled _session_expiry), datetime's own UTC from
            # 4.0 (django.utils.timezone.utc is gone in 5.0).
            utc = timezone.utc if django.VERSION < (4, 0) else datetime.timezone.utc
            dt = dt.astimezone(utc)
        return dt
    usage("expiry must be null, an integer or an ISO-8601 string")


def epoch(dt):
    """Unix time of a datetime from get_expiry_date() (naive = TIME_ZONE)."""
    from django.utils import timezone
    if timezone.is_naive(dt):
        tz = timezone.get_default_timezone()
        if hasattr(tz, "localize"):  # pytz (Django 3.2 default)
            dt = tz.localize(dt, is_dst=False)
        else:
            dt = dt.replace(tzinfo=tz)
    return dt.timestamp()


def expiry_info(s):
    age = s.get_expiry_age()
    date = s.get_expiry_date()
    return {"expiry_age": to_tagged(age), "expire_date": date.isoformat(), "expire_ts": epoch(date)}


# ---------------------------------------------------------------------------
# Decoding with a verdict.

def decode_checked(store, session_data):
    """Return (what Django's decode() returns, whether it verified).

    SessionBase.decode() returns {} both for a valid empty session and for
    data that failed verification, so the verdict is taken from the paths
    decode() itself tries: the current signed format, then (3.2 only) the
    pre-3.1 format, checked with Django's own _hash. Exceptions that decode()
    lets out (3.2 only) propagate.
    """
    import django
    from django.core import signing
    from django.utils.crypto import constant_time_compare
    result = type(store).decode(store, session_data)
    try:
        signing.loads(session_data, salt=store.key_salt, serializer=store.serializer)
        return result, True
    except Exception:
        pass
    if django.VERSION >= (4, 0):
        return result, False
    try:
        raw = base64.b64decode(session_data.encode("ascii"))
        digest, serialized = raw.split(b":", 1)
        if not constant_time_compare(digest.decode(), store._hash(serialized)):
            return result, False
        store.serializer().loads(serialized)
        return result, True
    except Exception:
        return result, False


def raised(e):
    return Exit(EXIT_ERROR, {"error": describe(e), "kind": "exception"})


# ---------------------------------------------------------------------------
# Subcommands. Each takes (peer, args, stdin dict) and returns (rc, out).

def cmd_capabilities(peer, args, stdin):
    databases = ["sqlite"]
    for name, module in (("postgresql", "psycopg2"), ("mysql", "MySQLdb")):
        try:
            __import__(module)
            databases.append(name)
        except ImportError:
            pass
    backends = []
    for name, module in (("pymemcache", "pymemcache"), ("pylibmc", "pylibmc")):
        try:
            __import__(module)
            backends.append(name)
        except ImportError:
            pass
    import django
    if django.VERSION >= (4, 0):
        try:
            __import__("redis")
            backends.append("redis")
        except ImportError:
            pass
    return EXIT_OK, {
        "implementation": "django %s (python peer, CPython %s)" % (
            django.get_version(), sys.version.split()[0]),
        "engines": list(ENGINES),
        "serializers": ["json", "pickle"] if django.VERSION < (5, 0) else ["json"],
        "cache_backends": backends,
        "databases": databases,
        "secret_key_fallbacks": django.VERSION >= (4, 1),
        # 3.2 verifies SHA-1 signatures besides its DEFAULT_HASHING_ALGORITHM.
        "hashing_algorithms": ["sha256", "sha1"] if django.VERSION < (4, 0) else ["sha256"],
        "subcommands": SUBCOMMANDS,
        "http": True,
    }


def cmd_dumps(peer, args, stdin):
    from django.core import signing
    if "value" not in stdin:
        usage("stdin needs 'value'")
    salt = field(stdin, "salt", str, "django.core.signing")
    compress = field(stdin, "compress", bool, False)
    return EXIT_OK, {"token": signing.dumps(stdin["value"], salt=salt, compress=compress)}


def cmd_loads(peer, args, stdin):
    from django.core import signing
    token = field(stdin, "token", str, required=True)
    salt = field(stdin, "salt", str, "django.core.signing")
    max_age = field(stdin, "max_age", (int, float, type(None)), None)
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as e:
        return EXIT_ERROR, {"error": describe(e), "kind": "expired"}
    except signing.BadSignature as e:
        return EXIT_ERROR, {"error": describe(e), "kind": "bad_signature"}
    except Exception as e:  # valid signature, undecodable payload
        return EXIT_ERROR, {"error": describe(e), "kind": "malformed"}
    return EXIT_OK, {"value": value}


def cmd_encode(peer, args, stdin):
    data = field(stdin, "data", dict, required=True)
    s = peer.new_store()
    if peer.is_signed_cookies():
        # The cookie value is the session: SessionStore._get_session_key().
        s._session_cache = data
        return EXIT_OK, {"session_data": s._get_session_key()}
    return EXIT_OK, {"session_data": s.encode(data)}


def cmd_decode(peer, args, stdin):
    value = field(stdin, "session_data", str, required=True)
    if peer.is_signed_cookies():
        # load() turns any failure into create(), which only sets modified.
        s = peer.new_store(value)
        data = s.load()
        valid = not s.modified
    else:
        try:
            data, valid = decode_checked(peer.new_store(), value)
        except Exception as e:
            raise raised(e)
    if not valid:
        data = {}
    return EXIT_OK, {"data": to_tagged(data), "valid": valid}


def cmd_migrate(peer, args, stdin):
    from django.core.management import call_command
    # fake_initial: a django_session table created by someone else (the Go
    # side) is adopted, as Django does for an existing schema.
    call_command("migrate", "sessions", fake_initial=True, interactive=False,
                 verbosity=0, stdout=io.StringIO())
    return EXIT_OK, {"ok": True}


def cmd_write(peer, args, stdin):
    data = field(stdin, "data", dict, required=True)
    s = peer.new_store()
    for k, v in data.items():
        s[k] = v
    expiry = stdin.get("expiry")
    if expiry is not None:
        s.set_expiry(parse_expiry(expiry))
    s.save()
    out = {"session_key": s.session_key}
    out.update(expiry_info(s))
    return EXIT_OK, out


def cmd_read(peer, args, stdin):
    key = args[0]
    s = peer.new_store(key)
    verdict = {"valid": True}

    def decode(session_data):
        data, ok = decode_checked(s, session_data)
        verdict["valid"] = verdict["valid"] and ok
        return data

    s.decode = decode  # observe the verdict of the load below
    try:
        data = s._get_session()  # what any access to request.session triggers
    except Exception as e:
        raise raised(e)
    if peer.is_signed_cookies():
        exists = not s.modified
    else:
        # A store that finds nothing (missing, expired, invalid key) drops
        # its key; the file store even creates a fresh one.
        exists = s.session_key is not None and s.session_key == key
    exists = exists and verdict["valid"]
    out = {"exists": exists, "data": to_tagged(data) if exists else {}}
    try:
        out.update(expiry_info(s))
        out["expire_at_browser_close"] = s.get_expire_at_browser_close()
    except Exception as e:
        # e.g. Django 3.2 with an ISO-string _session_expiry (written by 4.1+)
        out.update({"error": describe(e), "kind": "exception"})
        return EXIT_ERROR, out
    return EXIT_OK, out


def cmd_modify(peer, args, stdin):
    s = peer.new_store(args[0])
    for k in field(stdin, "delete", list, []):
        s.pop(k, None)
    for k, v in field(stdin, "set", dict, {}).items():
        s[k] = v
    if "expiry" in stdin:
        s.set_expiry(parse_expiry(stdin["expiry"]))
    s.save()
    return EXIT_OK, {"session_key": s.session_key}


def cmd_delete(peer, args, stdin):
    peer.new_store(args[0]).delete()
    return EXIT_OK, {"ok": True}


def cmd_cycle(peer, args, stdin):
    s = peer.new_store(args[0])
    s.cycle_key()
    s.save()
    return EXIT_OK, {"session_key": s.session_key}


def cmd_clear_expired(peer, args, stdin):
    peer.store_class().clear_expired()
    return EXIT_OK, {"ok": True}


def make_user(user_id, password_hash):
    """An unsaved auth.User as the database would return it."""
    from django.contrib.auth import get_user_model
    User = get_user_model()
    return User(pk=User._meta.pk.to_python(user_id), password=password_hash)


def cmd_login_session(peer, args, stdin):
    from django.contrib.auth import login
    from django.http import HttpRequest
    user_id, password_hash = args
    request = HttpRequest()
    request.session = peer.new_store()
    login(request, make_user(user_id, password_hash),
          backend="django.contrib.auth.backends.ModelBackend")
    # What SessionMiddleware does at the end of the request.
    request.session.save()
    return EXIT_OK, {"session_key": request.session.session_key}


def cmd_verify_auth(peer, args, stdin):
    from django.contrib.auth import get_user
    from django.contrib.auth.backends import ModelBackend
    from django.http import HttpRequest
    key, password_hash = args
    request = HttpRequest()
    request.session = s = peer.new_store(key)
    flushed = spy(s, "flush")
    cycled = spy(s, "cycle_key")

    # ModelBackend.get_user() normally reads auth_user; here the user the
    # session names has the password field given on the command line. The
    # rest (is_active check, hash comparison, flush) is Django's own code.
    def backend_get_user(self, user_id):
        user = make_user(user_id, password_hash)
        return user if self.user_can_authenticate(user) else None

    original = ModelBackend.get_user
    ModelBackend.get_user = backend_get_user
    try:
        user = get_user(request)
    finally:
        ModelBackend.get_user = original
    accepted = bool(user.is_authenticated)
    # Only a hash made with a fallback secret cycles the key here (4.1+).
    rotated = cycled["called"]
    if s.modified and not s.is_empty():
        s.save()  # SessionMiddleware would
    return EXIT_OK, {"accepted": accepted, "rotated": rotated,
                     "flushed": flushed["called"], "session_key_after": s.session_key}


def spy(obj, name):
    """Wrap obj.name so that the returned {"called": bool} records a call."""
    seen = {"called": False}
    real = getattr(obj, name)

    def wrapper(*args, **kwargs):
        seen["called"] = True
        return real(*args, **kwargs)

    setattr(obj, name, wrapper)
    return seen


def cmd_http(peer, args, stdin):
    """Serve Django's SessionMiddleware on 127.0.0.1 until SIGTERM/lifetime."""
    import signal
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import JsonResponse
    from django.urls import path
    try:
        port = int(args[0])
        lifetime = float(args[1]) if len(args) > 1 else None
    except ValueError:
        usage("http PORT [LIFETIME_S]")

    def set_view(request):
        for k, v in request.GET.items():
            request.session[k] = v
        return JsonResponse({"ok": True})

    def get_view(request):
        name = request.GET.get("k", "")
        return JsonResponse({"exists": name in request.session,
                             "value": to_tagged(request.session.get(name)),
                             "data": to_tagged(dict(request.session.items()))})

    def flush_view(request):
        request.session.flush()
        return JsonResponse({"ok": True})

    class URLConf:
        urlpatterns = [path("set", set_view), path("get", get_view), path("flush", flush_view)]

    settings.ROOT_URLCONF = URLConf
    settings.MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]

    class Handler(WSGIRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("http: " + (fmt % a) + "\n")

    server = make_server("127.0.0.1", port, WSGIHandler(), handler_class=Handler)
    stop = lambda *a: threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    if lifetime is not None:
        timer = threading.Timer(lifetime, stop)
        timer.daemon = True
        timer.start()
    sys.stdout.write(dump_line({"listening": "http://127.0.0.1:%d" % server.server_port}) + "\n")
    sys.stdout.flush()
    server.serve_forever(poll_interval=0.1)
    server.server_close()
    return EXIT_OK, None


# name -> (function, (min args, max args), stdin: "required" | "optional")
COMMANDS = {
    "capabilities": (cmd_capabilities, (0, 0), "optional"),
    "dumps": (cmd_dumps, (0, 0), "required"),
    "loads": (cmd_loads, (0, 0), "required"),
    "encode": (cmd_encode, (0, 0), "required"),
    "decode": (cmd_decode, (0, 0), "required"),
    "migrate": (cmd_migrate, (0, 0), "optional"),
    "write": (cmd_write, (0, 0), "required"),
    "read": (cmd_read, (1, 1), "optional"),
    "modify": (cmd_modify, (1, 1), "required"),
    "delete": (cmd_delete, (1, 1), "optional"),
    "cycle": (cmd_cycle, (1, 1), "optional"),
    "clear-expired": (cmd_clear_expired, (0, 0), "optional"),
    "login-session": (cmd_login_session, (2, 2), "optional"),
    "verify-auth": (cmd_verify_auth, (2, 2), "optional"),
    "http": (cmd_http, (1, 2), "optional"),
}
# Subcommands whose first argument is a session key ("-" = from stdin).
KEY_COMMANDS = {"read", "modify", "delete", "cycle", "verify-auth"}
# Subcommands that never read stdin in single mode.
NO_STDIN = {"capabilities", "migrate", "clear-expired", "login-session", "http"}


def run_safely(peer, cmd, args, stdin):
    """peer.run with every failure mapped to the protocol's exit codes."""
    try:
        rc, out = peer.run(cmd, args, stdin)
    except Exit as e:
        rc, out = e.rc, e.out
    except Exception as e:
        rc, out = EXIT_ERROR, {"error": describe(e)}
    if rc == EXIT_ERROR and peer.ready:
        # A failed statement can leave a connection unusable (PostgreSQL's
        # aborted transaction); start the next command afresh.
        from django.db import connections
        connections.close_all()
    return rc, out


# ---------------------------------------------------------------------------
# Batch mode.

def batch_child(peer):
    """One configuration: read {"cmd","args","stdin"} lines, answer each."""
    for line in io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8"):
        req = json.loads(line)
        rc, out = run_safely(peer, req.get("cmd"), req.get("args") or [], req.get("stdin"))
        sys.stdout.write(batch_answer(rc, out))
        sys.stdout.flush()
    return None


def batch_answer(rc, out):
    # Always exactly '{"rc":N,"out":' + object + '}': readers may split it
    # textually (the object may hold NaN, which strict JSON parsers refuse).
    return '{"rc":%d,"out":%s}\n' % (rc, dump_line(out))


def batch(base_cfg):
    """Route each line to the child process that holds its configuration."""
    children = {}  # canonical config JSON -> Popen, in least-recently-used order

    def child_for(cfg):
        key = json.dumps(cfg, sort_keys=True)
        child = children.pop(key, None)
        if child is None or child.poll() is not None:
            while len(children) >= MAX_CHILDREN:
                old = children.pop(next(iter(children)))
                old.stdin.close()
                old.wait()
            child = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--config", json.dumps(cfg), "_batch-child"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="ascii")
        children[key] = child
        return key, child

    try:
        for line in io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8"):
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict) or not isinstance(req.get("cmd"), str):
                    raise ValueError("each line must be an object with a string 'cmd'")
                cfg = req.get("config", base_cfg)
                if not isinstance(cfg, dict):
                    raise ValueError("'config' must be an object")
                if req["cmd"] == "http":
                    raise ValueError("http is not available in batch mode")
            except ValueError as e:
                sys.stdout.write(batch_answer(EXIT_USAGE, {"error": "usage: %s" % e}))
                sys.stdout.flush()
                continue
            key, child = child_for(cfg)
            msg = {"cmd": req["cmd"], "args": req.get("args") or [], "stdin": req.get("stdin")}
            try:
                child.stdin.write(dump_line(msg) + "\n")
                child.stdin.flush()
                answer = child.stdout.readline()
            except OSError:
                answer = ""
            if not answer:
                children.pop(key, None)
                answer = batch_answer(EXIT_ERROR, {"error": "peer child process died (exit %s)" % child.wait()})
            sys.stdout.write(answer)
            sys.stdout.flush()
    finally:
        for child in children.values():
            child.stdin.close()
        for child in children.values():
            child.wait()


# ---------------------------------------------------------------------------

def main(argv):
    cfg = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        if argv[i] == "--config" and i + 1 < len(argv):
            cfg = parse_config(argv[i + 1])
            i += 2
        elif argv[i].startswith("--config="):
            cfg = parse_config(argv[i][len("--config="):])
            i += 1
        else:
            usage("unknown option %r" % argv[i])
    if i >= len(argv):
        usage("django_peer.py [--config JSON|@PATH] SUBCOMMAND [ARGS...]")
    cmd, args = argv[i], argv[i + 1:]
    if cmd == "batch":
        batch(cfg)
        return EXIT_OK, None
    peer = Peer(cfg)
    if cmd == "_batch-child":
        batch_child(peer)
        return EXIT_OK, None
    stdin = None
    if cmd in COMMANDS and cmd not in NO_STDIN:
        try:
            text = sys.stdin.buffer.read().decode("utf-8")  # whatever the locale
            if text.strip():
                stdin = json.loads(text)
        except ValueError as e:
            usage("stdin is not UTF-8 JSON: %s" % e)
    return run_safely(peer, cmd, args, stdin)


if __name__ == "__main__":
    try:
        rc, out = main(sys.argv[1:])
    except Exit as e:
        rc, out = e.rc, e.out
    if out is not None:
        sys.stdout.write(dump_line(out) + "\n")
    sys.stdout.flush()
    sys.exit(rc)
