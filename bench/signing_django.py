#!/usr/bin/python3
"""Time Django's signing.dumps / signing.loads on the benchmark inputs.

Run with Debian's Django 3.2: /usr/bin/python3 bench/signing_django.py [DIR]
DIR defaults to testdata/bench next to this script's parent. The inputs are
the same JSON files the Go benchmarks (signing/bench_test.go) read. Output,
one line per measurement, for bench/signing.sh to parse:

    <op> <size> <CPU microseconds per op> <wall microseconds per op>

dumps uses compress=True, as SessionBase.encode does; loads reads the token
that dumps produced. The best of several repeats is reported, as timeit
recommends (the minimum is the least disturbed by other processes). CPU time
(time.process_time) is what bench/signing.sh compares, because on a shared
machine wall time also counts the time other processes hold the CPU; the Go
benchmarks report the same quantity as cpu-ns/op.
"""
import json
import os
import sys
import time
import timeit

from django.conf import settings

settings.configure(SECRET_KEY="spec-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")

import django  # noqa: E402

django.setup()
from django.core import signing  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
bench_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "testdata", "bench")

for name in ("tiny", "medium", "large"):
    with open(os.path.join(bench_dir, name + ".json"), encoding="utf-8") as f:
        value = json.load(f)
    token = signing.dumps(value, compress=True)
    assert signing.loads(token) == value
    for op, fn in (
        ("dumps", lambda: signing.dumps(value, compress=True)),
        ("loads", lambda: signing.loads(token)),
    ):
        timer = timeit.Timer(fn)
        number, _ = timer.autorange()
        number = max(number, 1)
        wall = min(timer.repeat(repeat=5, number=number)) / number
        cpu_timer = timeit.Timer(fn, timer=time.process_time)
        cpu = min(cpu_timer.repeat(repeat=5, number=number)) / number
        print("%s %s %.3f %.3f" % (op, name, cpu * 1e6, wall * 1e6), flush=True)
