#!/bin/sh
# Times the file and signed_cookies engines in Go (djangosession/filestore,
# djangosession/cookiestore: BenchmarkLoad/BenchmarkSave) and in Django 3.2
# (Debian's /usr/bin/python3, bench/file_cookie.py) on the same session dicts
# (tiny, medium, large: testdata/bench/*.json, the sizes the issues define;
# xlarge: a 44 KB session of 2000 URLs, built identically on both sides), in
# the same run, and prints the speed-up per engine, operation and size, by
# wall time and by CPU time (user+system of the process: the fair measure
# when the machine is shared with other work). Each side reports its best
# of BENCH_COUNT rounds. Go runs with -cpu 1 (GOMAXPROCS=1), as in
# bench/signing.sh: one core of Go, collector included, against
# single-threaded Python (with a second P the collector's idle-time mark
# workers would add CPU time that one core never spends).
# Usage: bench/file_cookie.sh [go test -benchtime, default 300ms]
# Environment: BENCH_COUNT (default 5), BENCH_SECONDS (Django seconds per
# round, default 0.3).
set -eu
cd "$(dirname "$0")/.."
benchtime=${1:-300ms}
count=${BENCH_COUNT:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -run '^$' -bench '^Benchmark(Load|Save)$' -benchmem -cpu 1 -count "$count" \
	-benchtime "$benchtime" ./djangosession/filestore/ >"$tmp/file.txt"
go test -run '^$' -bench '^Benchmark(Load|Save)$' -benchmem -cpu 1 -count "$count" \
	-benchtime "$benchtime" ./djangosession/cookiestore/ >"$tmp/cookie.txt"
BENCH_COUNT=$count /usr/bin/python3 bench/file_cookie.py >"$tmp/django.txt"

# Go lines: BenchmarkLoad/medium-2  N  123 ns/op ... 456 cpu-ns/op ... ;
# the best of -count for each metric.
# Django lines: ENGINE OP SIZE WALL_NS CPU_NS ENCODED_BYTES.
awk '
FILENAME ~ /(file|cookie)\.txt$/ {
	if ($1 !~ /^Benchmark/) next
	eng = FILENAME; sub(/.*\//, "", eng); sub(/\.txt$/, "", eng)
	split($1, p, "/"); op = tolower(substr(p[1], 10)); size = p[2]; sub(/-[0-9]+$/, "", size)
	for (i = 2; i <= NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "cpu-ns/op") cpu = $i
		if ($(i+1) == "B/op") bo = $i
		if ($(i+1) == "allocs/op") al = $i
	}
	k = eng " " op " " size
	if (!(k in best) || ns + 0 < best[k] + 0) best[k] = ns
	if (!(k in bcpu) || cpu + 0 < bcpu[k] + 0) bcpu[k] = cpu
	bytes[k] = bo; allocs[k] = al
	next
}
{ dj[$1 " " $2 " " $3] = $4; djc[$1 " " $2 " " $3] = $5; enc[$1 " " $3] = $6 }
END {
	printf "%-6s %-4s %-6s %6s | %9s %9s %6s | %9s %9s %6s | %7s %6s\n", "engine", "op", "size", "bytes", "Go wall", "Dj wall", "ratio", "Go cpu", "Dj cpu", "ratio", "B/op", "allocs"
	ne = split("file cookie", engs, " "); n = split("load save", ops, " "); m = split("tiny medium large xlarge", sizes, " ")
	for (e = 1; e <= ne; e++) for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
		k = engs[e] " " ops[i] " " sizes[j]
		g = best[k] / 1000; d = dj[k] / 1000; gc = bcpu[k] / 1000; dc = djc[k] / 1000
		printf "%-6s %-4s %-6s %6s | %8.1fµ %8.1fµ %5.1fx | %8.1fµ %8.1fµ %5.1fx | %7s %6s\n", engs[e], ops[i], sizes[j], enc[engs[e] " " sizes[j]], g, d, d / g, gc, dc, (gc > 0 ? dc / gc : 0), bytes[k], allocs[k]
	}
}' "$tmp/file.txt" "$tmp/cookie.txt" "$tmp/django.txt"
