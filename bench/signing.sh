#!/bin/sh
# Times signing.Dumps/Loads in Go and django.core.signing.dumps/loads in
# Django 3.2 (Debian's /usr/bin/python3) on the same inputs
# (testdata/bench/*.json), in the same run, and prints the speed-up per size.
# Usage: bench/signing.sh [go test -benchtime value, default 1s]
set -eu
cd "$(dirname "$0")/.."
benchtime=${1:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -run '^$' -bench '^Benchmark(Dumps|Loads)$' -benchmem -count 3 \
	-benchtime "$benchtime" ./signing/ >"$tmp/go.txt"
/usr/bin/python3 bench/signing_django.py >"$tmp/django.txt"

# Go lines: BenchmarkLoads/large-2  N  123 ns/op ... ; keep the best of -count.
awk '
FNR == NR {
	split($1, p, "/"); op = tolower(substr(p[1], 10)); size = p[2]; sub(/-[0-9]+$/, "", size)
	for (i = 2; i <= NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "B/op") bo = $i
		if ($(i+1) == "allocs/op") al = $i
	}
	k = op " " size
	if (!(k in best) || ns < best[k]) { best[k] = ns; bytes[k] = bo; allocs[k] = al }
	next
}
{ dj[$1 " " $2] = $3 }
END {
	printf "%-6s %-7s %12s %12s %8s %10s %9s\n", "op", "size", "Go µs/op", "Django µs/op", "ratio", "Go B/op", "allocs/op"
	n = split("dumps loads", ops, " "); m = split("tiny medium large", sizes, " ")
	for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
		k = ops[i] " " sizes[j]
		g = best[k] / 1000
		printf "%-6s %-7s %12.2f %12.2f %7.2fx %10s %9s\n", ops[i], sizes[j], g, dj[k], dj[k] / g, bytes[k], allocs[k]
	}
}' "$tmp/go.txt" "$tmp/django.txt"
