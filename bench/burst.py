#!/usr/bin/env python3
"""Burst: 200 and 1,000 clients arriving at the same instant at serve.py, the new one beside an
older one (default: the committed serve.py, `git show HEAD:serve.py`).

Each client opens its own connection (all threads start together at a barrier), sends one GET
of a small annotation document or one PATCH creating its own object, and reads the reply, with a
client time-out. Per burst: answered 2xx, answered 503 (full: Retry-After), other statuses, no
answer (time-out or reset), and latency p50/p95/max over the answered ones. Each burst runs
--runs times (old and new alternate); the table shows median [min-max] over the runs.

It prints numbers and exits 0 whatever they are.

    python3 bench/burst.py                       # 5 runs of 200 and 1000, GET and PATCH
    python3 bench/burst.py --runs 3 --sizes 200
    python3 bench/burst.py --old /tmp/serve_old.py
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "backend"))
import load_clients  # noqa: E402
import test_serve  # noqa: E402


def start(script, workdir):
    test_serve.SERVE = script
    os.makedirs(workdir)
    server = test_serve.ServerProcess(workdir, ["--db", os.path.join(workdir, "p.sqlite"), "--web", workdir,
                                                "--quiet"]).start()
    load_clients.create_task(server.host, server.port, "get")
    load_clients.create_task(server.host, server.port, "patch")
    return server


def burst(server, method, size, run, timeout):
    if method == "GET":
        requests = [("GET", "/api/tasks/get/annotations", None)] * size
    else:
        requests = [("PATCH", "/api/tasks/patch/annotations",
                     load_clients.patch_body(f"r{run}s{size}c{i}", f"r{run}s{size}c{i}")) for i in range(size)]
    outcomes = load_clients.simultaneous(server.host, server.port, requests, timeout)
    answered = [o.seconds for o in outcomes if o.status is not None]
    return {
        "ok": sum(1 for o in outcomes if o.status is not None and 200 <= o.status < 300),
        "busy": sum(1 for o in outcomes if o.status == 503),
        "other": sum(1 for o in outcomes if o.status is not None and o.status != 503 and not 200 <= o.status < 300),
        "timeouts": sum(1 for o in outcomes if o.timed_out),
        "lost": sum(1 for o in outcomes if o.status is None),
        "p50": load_clients.percentile(answered, 0.50) * 1000 if answered else float("nan"),
        "p95": load_clients.percentile(answered, 0.95) * 1000 if answered else float("nan"),
        "max": max(answered) * 1000 if answered else float("nan"),
    }


def summary(values, digits=0):
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    p.add_argument("--timeout", type=float, default=20, help="client time-out, seconds (default 20)")
    p.add_argument("--old", help="the older serve.py (default: git show HEAD:serve.py)")
    p.add_argument("--new", default=os.path.join(ROOT, "serve.py"))
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="pm-burst-")
    old = args.old
    if not old:
        old = os.path.join(tmp, "serve_old.py")
        with open(old, "wb") as f:
            f.write(subprocess.run(["git", "-C", ROOT, "show", "HEAD:serve.py"], check=True,
                                   capture_output=True).stdout)
    servers = {}
    try:
        servers = {"old": start(old, os.path.join(tmp, "old")), "new": start(args.new, os.path.join(tmp, "new"))}
        results = {}
        for run in range(args.runs):
            for name, server in servers.items():
                for size in args.sizes:
                    for method in ("GET", "PATCH"):
                        r = burst(server, method, size, run, args.timeout)
                        results.setdefault((size, method, name), []).append(r)
                        print(f"run {run + 1} {name:3} {method:5} {size:5}: {r['ok']} ok, {r['busy']} 503, "
                              f"{r['other']} other, {r['lost']} no answer ({r['timeouts']} time-outs); "
                              f"p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, max {r['max']:.1f} ms",
                              file=sys.stderr, flush=True)
        print(f"\nmedian [min-max] over {args.runs} runs; latency of answered requests, ms; "
              f"client time-out {args.timeout:g} s")
        print("| clients | request | serve.py | 2xx | 503 | no answer | time-outs | p50 ms | p95 ms | max ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for size in args.sizes:
            for method in ("GET", "PATCH"):
                for name in servers:
                    rs = results[(size, method, name)]
                    cols = [summary([r[k] for r in rs]) for k in ("ok", "busy", "lost", "timeouts")]
                    cols += [summary([r[k] for r in rs], 1) for k in ("p50", "p95", "max")]
                    print(f"| {size} | {method} | {name} | " + " | ".join(cols) + " |")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
