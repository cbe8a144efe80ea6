#!/bin/sh
# Go pickle_compat vs CPython pickle on the same session dicts, side by side.
# Usage: bench/pickle.sh [benchtime] [count]   (default 1s, 5)
#
# Per core: the Go benchmarks run with -cpu 1 (GOMAXPROCS=1) and both sides
# are compared on process CPU time (Go: the cpu-ns/op metric, CPython:
# time.process_time), best of the runs, so that other load on the machine
# inflates neither figure.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench '^Benchmark(Loads|Dumps)$' -benchmem -cpu 1 -benchtime "${1:-1s}" -count "${2:-5}" ./pickle_compat/ | tee "$out"
# keep the best of the runs per benchmark (lowest CPU time)
/usr/bin/python3 - "$out" <<'PY'
import re, sys
best = {}
for line in open(sys.argv[1]):
    m = re.match(r"^(Benchmark\S+)\s+\d+\s+.*?([\d.]+) cpu-ns/op", line)
    if m and (m.group(1) not in best or float(m.group(2)) < best[m.group(1)][0]):
        best[m.group(1)] = (float(m.group(2)), line)
open(sys.argv[1], "w").write("".join(l for _, l in best.values()))
PY
echo
/usr/bin/python3 bench/pickle_cpython.py "$out"
