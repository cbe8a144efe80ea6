#!/bin/sh
# Times the file and signed_cookies engines in Go (djangosession/filestore,
# djangosession/cookiestore: BenchmarkLoad/BenchmarkSave) and in Django 3.2
# (Debian's /usr/bin/python3, bench/file_cookie.py) on the same session dicts
# (tiny, medium, large; built identically on both sides), in the same run,
# and prints the speed-up per engine, operation and size.
# Usage: bench/file_cookie.sh [go test -benchtime value, default 1s]
# BENCH_SECONDS sets the Django timing per case (default 1).
set -eu
cd "$(dirname "$0")/.."
benchtime=${1:-1s}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go test -run '^$' -bench '^Benchmark(Load|Save)$' -benchmem -count 3 \
	-benchtime "$benchtime" ./djangosession/filestore/ >"$tmp/file.txt"
go test -run '^$' -bench '^Benchmark(Load|Save)$' -benchmem -count 3 \
	-benchtime "$benchtime" ./djangosession/cookiestore/ >"$tmp/cookie.txt"
/usr/bin/python3 bench/file_cookie.py >"$tmp/django.txt"

# Go lines: BenchmarkLoad/medium-2  N  123 ns/op ... ; the best of -count.
# Django lines: ENGINE OP SIZE NS_PER_OP ENCODED_BYTES.
awk '
FILENAME ~ /(file|cookie)\.txt$/ {
	if ($1 !~ /^Benchmark/) next
	eng = FILENAME; sub(/.*\//, "", eng); sub(/\.txt$/, "", eng)
	split($1, p, "/"); op = tolower(substr(p[1], 10)); size = p[2]; sub(/-[0-9]+$/, "", size)
	for (i = 2; i <= NF; i++) {
		if ($(i+1) == "ns/op") ns = $i
		if ($(i+1) == "B/op") bo = $i
		if ($(i+1) == "allocs/op") al = $i
	}
	k = eng " " op " " size
	if (!(k in best) || ns + 0 < best[k] + 0) { best[k] = ns; bytes[k] = bo; allocs[k] = al }
	next
}
{ dj[$1 " " $2 " " $3] = $4; enc[$1 " " $3] = $5 }
END {
	printf "%-7s %-5s %-7s %9s %12s %14s %8s %9s %9s\n", "engine", "op", "size", "bytes", "Go µs/op", "Django µs/op", "ratio", "Go B/op", "allocs/op"
	ne = split("file cookie", engs, " "); n = split("load save", ops, " "); m = split("tiny medium large", sizes, " ")
	for (e = 1; e <= ne; e++) for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
		k = engs[e] " " ops[i] " " sizes[j]
		g = best[k] / 1000; d = dj[k] / 1000
		printf "%-7s %-5s %-7s %9s %12.2f %14.2f %7.1fx %9s %9s\n", engs[e], ops[i], sizes[j], enc[engs[e] " " sizes[j]], g, d, d / g, bytes[k], allocs[k]
	}
}' "$tmp/file.txt" "$tmp/cookie.txt" "$tmp/django.txt"
