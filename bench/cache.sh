#!/bin/sh
# Speed of the cache and cached_db engines (djangosession/cachestore,
# djangosession/cacheddb), and Django 3.2's on the same memcached.
#
#   bench/cache.sh [COUNT]      (COUNT = go test -count, default 3)
#
# Starts a private memcached, times Django 3.2's SessionStore load/save for
# PyMemcacheCache and PyLibMCCache and cached_db (bench/cache_django.py),
# then runs the Go benchmarks (memcached in both flavors, Redis, cached_db on
# SQLite; each starts its own servers).
set -eu
cd "$(dirname "$0")/.."
COUNT=${1:-3}
PY=${DJS_PYTHON:-/usr/bin/python3}
OUT=$(mktemp -d)
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ROOT=""
[ "$(id -u)" = 0 ] && ROOT="-u root"
/usr/bin/memcached -l 127.0.0.1 -p "$PORT" -U 0 -m 64 $ROOT &
MC=$!
cleanup() { kill "$MC" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT INT TERM
sleep 0.5

echo "== Django 3.2 (us per call, best of 7 x 1000)"
"$PY" bench/cache_django.py "127.0.0.1:$PORT" "$OUT/db.sqlite3" 1000

echo "== Go benchmarks (-count $COUNT)"
go test -run '^$' -bench 'BenchmarkLoad|BenchmarkSave' -benchmem -count "$COUNT" \
	./djangosession/cachestore ./djangosession/cacheddb 2>/dev/null | grep -E '^(Benchmark|ok|FAIL)'
