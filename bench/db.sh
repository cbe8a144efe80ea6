#!/bin/sh
# Speed of the db engine (djangosession/dbstore), and Go against Django 3.2
# on the same PostgreSQL row.
#
#   bench/db.sh [COUNT]      (COUNT = go test -count, default 3)
#
# 1. Creates a scratch PostgreSQL database (127.0.0.1:5432, user postgres),
#    where Django 3.2 (/usr/bin/python3) creates django_session, writes a
#    medium session and times SessionStore(key).load() and a bare psycopg2
#    SELECT (timeit).
# 2. Runs the Go benchmarks: Load/Save/Create/BareSelect on SQLite,
#    PostgreSQL (lib/pq and pgx) and MariaDB, and LoadDjangoRow, which loads
#    Django's very row.
# 3. Prints load / bare-select ratios and the Django / Go speedup.
set -eu
cd "$(dirname "$0")/.."
COUNT=${1:-3}
PY=${DJS_PYTHON:-/usr/bin/python3}
PGHOST=${DJS_PG_HOST:-127.0.0.1} PGPORT=${DJS_PG_PORT:-5432} PGUSER=${DJS_PG_USER:-postgres}
export PGHOST PGPORT PGUSER
DB=djs_bench_$$
SECRET=bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz
OUT=$(mktemp -d)
cleanup() { psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$OUT"; }
trap cleanup EXIT INT TERM
psql -q -d postgres -c "CREATE DATABASE $DB" >/dev/null

echo "== Django 3.2: SessionStore(key).load() on PostgreSQL (timeit, 7 x 1000 calls)"
DJ=$("$PY" bench/db_django.py "{\"ENGINE\":\"django.db.backends.postgresql\",\"NAME\":\"$DB\",\"HOST\":\"$PGHOST\",\"PORT\":\"$PGPORT\",\"USER\":\"$PGUSER\"}" "$SECRET" 1000)
echo "$DJ"
KEY=$(printf '%s' "$DJ" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key"])')

echo "== Go benchmarks (-count $COUNT)"
DJS_BENCH_PG_DSN="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable" DJS_BENCH_KEY=$KEY DJS_BENCH_SECRET_KEY=$SECRET \
	go test -run '^$' -bench 'BenchmarkLoad|BenchmarkBareSelect|BenchmarkSave|BenchmarkCreate' -benchmem -count "$COUNT" \
	./djangosession/dbstore 2>/dev/null | grep -E '^(Benchmark|ok|FAIL)' | tee "$OUT/go.txt"

echo "== Summary (medians)"
printf '%s' "$DJ" > "$OUT/django.json"
"$PY" - "$OUT/go.txt" "$OUT/django.json" <<'PYEOF'
import json, re, statistics, sys
ns, cpu = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op", line)
    if m:
        ns.setdefault(m.group(1), []).append(float(m.group(2)))
        c = re.search(r"([\d.]+) cpu-ns/op", line)
        if c:
            cpu.setdefault(m.group(1), []).append(float(c.group(1)))
med = {k: statistics.median(v) for k, v in ns.items()}
medcpu = {k: statistics.median(v) for k, v in cpu.items()}
dj = json.load(open(sys.argv[2]))
print("%-50s %12s %14s" % ("benchmark", "wall us/op", "client CPU us"))
for name in sorted(med):
    c = medcpu.get(name)
    print("%-50s %12.1f %14s" % (name, med[name] / 1000, "%.1f" % (c / 1000) if c else "-"))
print()
for db in ("sqlite", "pq", "pgx", "mysql"):
    load, bare = med.get("BenchmarkLoad/" + db), med.get("BenchmarkBareSelect/%s/prepared" % db)
    bare_u = med.get("BenchmarkBareSelect/%s/unprepared" % db)
    if load and bare:
        print("%-7s Load / bare SELECT: %.2fx (prepared bare), %.2fx (unprepared bare)" % (db, load / bare, load / bare_u))
djl = dj["django_load"]["median_us"]
djc = dj["django_load"]["cpu_median_us"]
print("Django 3.2 SessionStore.load(): %.1f us wall (min %.1f), %.1f us client CPU; bare psycopg2 SELECT %.1f us wall, %.1f us CPU"
      % (djl, dj["django_load"]["min_us"], djc, dj["psycopg2_bare"]["median_us"], dj["psycopg2_bare"]["cpu_median_us"]))
for drv in ("postgres", "pgx"):
    load = med.get("BenchmarkLoadDjangoRow/%s/Load" % drv)
    bare = med.get("BenchmarkLoadDjangoRow/%s/BareSelect" % drv)
    if load:
        lc = medcpu.get("BenchmarkLoadDjangoRow/%s/Load" % drv, 0)
        bc = medcpu.get("BenchmarkLoadDjangoRow/%s/BareSelect" % drv, 1)
        print("Go Load of Django's row (%s): %.1f us wall = %.2fx its bare SELECT; %.1f us CPU (bare %.1f); Django/Go: %.1fx wall, %.1fx CPU"
              % ("lib/pq" if drv == "postgres" else "pgx", load / 1000, load / bare, lc / 1000, bc / 1000,
                 djl / (load / 1000), djc / (lc / 1000) if lc else 0))
PYEOF
