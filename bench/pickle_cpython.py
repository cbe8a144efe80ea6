#!/usr/bin/python3
"""Time CPython's pickle.loads / pickle.dumps (protocol 5) on the session
dicts of testdata/bench/{tiny,medium,large}.json and print them beside the
Go figures of `go test -bench 'Loads|Dumps' -cpu 1 ./pickle_compat` (read
from the file named as the first argument, if any), with the ratio Go /
CPython. Both sides are CPU time per op (time.process_time here, the
cpu-ns/op metric on the Go side), best of several runs, so that other
processes loading the machine do not skew the comparison.

Run through bench/pickle.sh, which runs both in one go.
"""
import json
import os
import pickle
import re
import sys
import time
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ("tiny", "medium", "large")


def best_ns(fn):
    t = timeit.Timer(fn, timer=time.process_time)
    n, _ = t.autorange()
    return min(t.repeat(repeat=7, number=n)) / n * 1e9


def go_figures(path):
    out = {}
    if not path:
        return out
    # "-N" suffix only when GOMAXPROCS > 1; the figure used is cpu-ns/op
    pat = re.compile(r"^Benchmark(Loads|Dumps)/([a-z]+)(?:-\d+)?\s+\d+\s+.*?([\d.]+) cpu-ns/op\s+(\d+) B/op\s+(\d+) allocs/op")
    for line in open(path):
        m = pat.match(line.strip())
        if m:
            out[(m.group(1), m.group(2))] = (float(m.group(3)), int(m.group(4)), int(m.group(5)))
    return out


def main():
    go = go_figures(sys.argv[1] if len(sys.argv) > 1 else None)
    print("CPython %s, pickle protocol 5" % sys.version.split()[0])
    print("%-7s %-6s %8s %14s %14s %9s %12s" % ("op", "input", "bytes", "CPy cpu-ns/op", "Go cpu-ns/op", "Go/CPy", "Go allocs/op"))
    for name in SIZES:
        with open(os.path.join(ROOT, "testdata", "bench", name + ".json")) as f:
            d = json.load(f)
        p = pickle.dumps(d, 5)
        for op, fn in (("Loads", lambda: pickle.loads(p)), ("Dumps", lambda: pickle.dumps(d, 5))):
            ns = best_ns(fn)
            g = go.get((op, name))
            if g:
                print("%-7s %-6s %8d %14.0f %14.0f %8.2fx %12d" % (op, name, len(p), ns, g[0], g[0] / ns, g[2]))
            else:
                print("%-7s %-6s %8d %14.0f %14s" % (op, name, len(p), ns, "-"))


if __name__ == "__main__":
    main()
