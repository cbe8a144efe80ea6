#!/bin/sh
# Times signing.Dumps/Loads in Go and django.core.signing.dumps/loads in
# Django 3.2 (Debian's /usr/bin/python3) on the same inputs
# (testdata/bench/*.json), in the same run, and prints the speed-up per size.
# The ratio compares CPU time per operation (Go: cpu-ns/op, Django:
# time.process_time), which a busy machine distorts far less than wall
# time; wall-clock figures are printed beside it. Go and Django runs are
# interleaved and the best of each kept.
# Go runs with -test.cpu 1 (GOMAXPROCS=1): single-threaded Python is
# compared with one core of Go, garbage collector included.
# Usage: bench/signing.sh [rounds, default 2] [go -benchtime, default 1s]
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-2}
benchtime=${2:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -c -o "$tmp/signing.test" ./signing/
: >"$tmp/go.txt"
: >"$tmp/django.txt"
i=0
while [ "$i" -lt "$rounds" ]; do
	(cd signing && "$tmp/signing.test" -test.run '^$' -test.bench '^Benchmark(Dumps|Loads)$' \
		-test.benchmem -test.cpu 1 -test.benchtime "$benchtime") | grep '^Benchmark' >>"$tmp/go.txt"
	/usr/bin/python3 bench/signing_django.py >>"$tmp/django.txt"
	i=$((i + 1))
done

# Go lines: BenchmarkLoads/large-2  N  123 ns/op  456 cpu-ns/op  789 B/op  3 allocs/op
awk '
FNR == NR {
	split($1, p, "/"); op = tolower(substr(p[1], 10)); size = p[2]; sub(/-[0-9]+$/, "", size)
	for (i = 2; i < NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "cpu-ns/op") cpu = $i
		if ($(i+1) == "B/op") bo = $i
		if ($(i+1) == "allocs/op") al = $i
	}
	k = op " " size
	if (!(k in gcpu) || cpu < gcpu[k]) { gcpu[k] = cpu; bytes[k] = bo; allocs[k] = al }
	if (!(k in gwall) || ns < gwall[k]) gwall[k] = ns
	next
}
{
	k = $1 " " $2
	if (!(k in dcpu) || $3 < dcpu[k]) dcpu[k] = $3
	if (!(k in dwall) || $4 < dwall[k]) dwall[k] = $4
}
END {
	printf "%-6s %-7s %10s %10s %7s   %10s %10s %7s %8s %7s\n", "op", "size", "Go cpu-µs", "Dj cpu-µs", "ratio",
		"Go wall-µs", "Dj wall-µs", "ratio", "Go B/op", "allocs"
	n = split("dumps loads", ops, " "); m = split("tiny medium large", sizes, " ")
	for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
		k = ops[i] " " sizes[j]
		gc = gcpu[k] / 1000; gw = gwall[k] / 1000
		printf "%-6s %-7s %10.2f %10.2f %6.2fx   %10.2f %10.2f %6.2fx %8s %7s\n", ops[i], sizes[j],
			gc, dcpu[k], dcpu[k] / gc, gw, dwall[k], dwall[k] / gw, bytes[k], allocs[k]
	}
}' "$tmp/go.txt" "$tmp/django.txt"
