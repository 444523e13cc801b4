"""Shared helpers for the benchmarks: a psql runner and median timing.

The benchmarks talk to the server through psql (no client library needed) and time whole
statements from the client side; every contender pays the same per-call overhead.
"""
import os
import statistics
import subprocess
import time


def psql(sql, db=None, capture=False):
    cmd = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]
    if db:
        cmd += ["-d", db]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout.strip() if capture else None


def timed(fn, repeats):
    """Runs fn `repeats` times; returns the list of wall-clock seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def timed_interleaved(contenders, repeats):
    """contenders: list of (name, fn). Runs them round-robin `repeats` times, so that a noisy
    spell on the machine hits every contender alike; returns a list of (name, times)."""
    times = {name: [] for name, _ in contenders}
    for _ in range(repeats):
        for name, fn in contenders:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return [(name, times[name]) for name, _ in contenders]


def paired_ratio(times, base_times):
    """Median over rounds of times[i] / base_times[i] (for round-robin runs)."""
    return statistics.median(t / b for t, b in zip(times, base_times))


def median(times):
    return statistics.median(times)


def report(title, rows, baseline):
    """rows: list of (name, times). Prints medians and the ratio to `baseline`'s median."""
    base = median(dict(rows)[baseline])
    print(f"\n{title}")
    print(f"{'contender':<44} {'median s':>10} {'min s':>9} {'runs':>5} {'vs ' + baseline:>22}")
    for name, times in rows:
        m = median(times)
        print(f"{name:<44} {m:>10.3f} {min(times):>9.3f} {len(times):>5} {m / base:>21.2f}x")


def data_file():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "shared", "data", "online_retail.csv.gz")
    return os.path.abspath(path) if os.path.exists(path) else None
