#!/usr/bin/env python3
"""The worst PATCH serve.py accepts: its memory, how long it holds the write lock, and what it
does to another labeler's small save meanwhile.

Each run starts a fresh serve.py (ephemeral port, temporary database) holding one task of
--items objects and a second task for the other labeler, then sends the worst-case PATCH: as
many operations as serve.py takes in one request (its MAX_OPERATIONS) and a body as large as it
takes (MAX_PATCH_BODY, or --max-body for a serve.py without one). Every operation creates a
track with as many keyframes as fit, and every other one asks for the same list index (creates
at one spot: the case that used to renumber the list again and again). Meanwhile:

- a probe opens the SQLite file itself and tries ``BEGIN IMMEDIATE`` without waiting every
  2 ms: the longest stretch it could not is how long serve.py held the write lock;
- another labeler saves one small change on the other task every 50 ms: its slowest save;
- the server's RSS (/proc/PID/status) before, at its peak (VmHWM) and after.

Then four worst-case PATCHes at once (on four tasks), for the peak RSS of a burst.

Prints the median [min-max] over --runs runs. It judges nothing and exits non-zero only when a
worst-case PATCH itself failed (failed small saves and burst PATCHes are counted: the old serve.py
failed them, "database is locked"). ``--serve OLD.py`` measures another serve.py (e.g. ``git show HEAD:serve.py``).

    python3 bench/patch_worst_case.py
    python3 bench/patch_worst_case.py --runs 5 --serve /tmp/serve_old.py --items 2000
"""

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "backend"))
import test_serve  # noqa: E402  (ServerProcess, make_demo_dir: the test suite's server fixture)
from test_sync_routes import task_body  # noqa: E402

MIB = 1024 * 1024


def serve_limits(path):
    """(max operations, max PATCH body bytes) of a serve.py, read from the file itself."""
    spec = importlib.util.spec_from_file_location("serve_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    body = getattr(module, "MAX_PATCH_BODY", module.DEFAULT_MAX_BODY)
    return module.MAX_OPERATIONS, body


def rect(item_id, x):
    return {"id": item_id, "type": "rectangle", "frame": 0, "label": "cat", "points": [x, 0, x + 10, 10]}


def worst_patch(prefix, operations, body_bytes, index):
    """The biggest body of ``operations`` track creates that stays under ``body_bytes``."""
    def body(keyframes):
        ops = []
        for i in range(operations):
            tid = f"{prefix}{i}"
            value = {"id": tid, "type": "rectangle", "label": "cat",
                     "keyframes": [{"id": f"{tid}.{k}", "frame": k, "points": [k, 1.5, k + 20, 40.25]}
                                   for k in range(keyframes)]}
            op = {"op_id": f"{prefix}.op.{i}", "kind": "track", "op": "create", "id": tid, "value": value}
            if i % 2:
                op["index"] = index
            ops.append(op)
        return json.dumps({"base_revision": 0, "user": "bench", "device": "big", "operations": ops},
                          separators=(",", ":")).encode()
    one = len(body(1))
    per_keyframe = len(body(2)) - one
    keyframes = max(1, 1 + (body_bytes - one) // per_keyframe)
    data = body(keyframes)
    while len(data) > body_bytes and keyframes > 1:
        keyframes -= 1
        data = body(keyframes)
    return data, keyframes


def rss(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # MiB
    return 0.0


def send(server, method, path, data, timeout=600):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


class LockProbe(threading.Thread):
    """The longest time the database's write lock could not be taken, polled every 2 ms."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db, self.stop, self.longest = db, threading.Event(), 0.0

    def run(self):
        conn = sqlite3.connect(self.db, timeout=0, isolation_level=None)
        locked_since = None
        while not self.stop.is_set():
            now = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                if locked_since is not None:
                    self.longest = max(self.longest, now - locked_since)
                locked_since = None
            except sqlite3.OperationalError:
                locked_since = locked_since or now
            time.sleep(0.002)
        if locked_since is not None:
            self.longest = max(self.longest, time.perf_counter() - locked_since)
        conn.close()


class SmallSaver(threading.Thread):
    """Another labeler: one small update on another task every 50 ms; keeps the slowest and the failures."""

    def __init__(self, server, task_id):
        super().__init__(daemon=True)
        self.server, self.task_id = server, task_id
        self.stop, self.slowest, self.count, self.failures = threading.Event(), 0.0, 0, []

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            body = json.dumps({"base_revision": 0, "user": "other", "device": "small", "operations": [
                {"op_id": f"small.{n}", "kind": "object", "op": "update", "id": "s0", "value": rect("s0", n)}]})
            started = time.perf_counter()
            status, reply = send(self.server, "PATCH", f"/api/tasks/{self.task_id}/annotations", body.encode())
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.count += 1
            if status != 200:
                self.failures.append((status, reply[:200]))
            time.sleep(0.05)


def one_run(serve_path, items, operations, body_bytes, burst):
    tmp = tempfile.mkdtemp(prefix="pm-bench-patch-")
    db = os.path.join(tmp, "db", "polymark.sqlite")
    test_serve.SERVE = serve_path
    server = test_serve.ServerProcess(tmp, ["--db", db, "--web", tmp, "--quiet"]).start()
    try:
        for task_id, objects in [("big", [rect(f"o{i}", i) for i in range(items)]), ("other", [rect("s0", 0)])] + \
                [(f"burst{b}", [rect(f"o{i}", i) for i in range(items)]) for b in range(burst)]:
            status, reply = send(server, "POST", "/api/tasks", json.dumps(task_body(task_id, objects)).encode())
            assert status == 201, (status, reply[:300])
        data, keyframes = worst_patch("w", operations, body_bytes, items // 2)
        pid = server.proc.pid
        before = rss(pid, "VmRSS")
        probe, saver = LockProbe(db), SmallSaver(server, "other")
        probe.start()
        saver.start()
        time.sleep(0.3)
        started = time.perf_counter()
        status, reply = send(server, "PATCH", "/api/tasks/big/annotations", data)
        elapsed = time.perf_counter() - started
        time.sleep(0.3)
        probe.stop.set()
        saver.stop.set()
        probe.join()
        saver.join()
        if status != 200:
            raise SystemExit(f"the worst-case PATCH got {status}: {reply[:300]!r}")
        if saver.failures:
            print(f"  small saves that failed during it: {len(saver.failures)}, e.g. {saver.failures[0]}")
        peak, after = rss(pid, "VmHWM"), rss(pid, "VmRSS")

        results = [None] * burst
        bodies = [worst_patch(f"b{b}x", operations, body_bytes, items // 2)[0] for b in range(burst)]

        def big(b):
            results[b] = send(server, "PATCH", f"/api/tasks/burst{b}/annotations", bodies[b])
        threads = [threading.Thread(target=big, args=(b,)) for b in range(burst)]
        burst_started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        burst_elapsed = time.perf_counter() - burst_started
        failed = [r for r in results if r is None or r[0] != 200]
        if failed:
            print(f"  burst PATCHes that failed: {len(failed)}, e.g. {failed[0][:1] if failed[0] else None} "
                  f"{failed[0][1][:120] if failed[0] else b''!r}")
        return {"body MiB": len(data) / MIB, "keyframes per track": keyframes,
                "PATCH s": elapsed, "write lock held s (longest)": probe.longest,
                "small save slowest s": saver.slowest, "small saves during it": saver.count,
                "small saves failed": len(saver.failures),
                "RSS before MiB": before, "RSS peak MiB": peak, "RSS growth at peak MiB": peak - before,
                "RSS kept (growth) MiB": after - before,
                f"{burst} at once: s": burst_elapsed, f"{burst} at once: failed": len(failed),
                f"{burst} at once: RSS peak MiB": rss(pid, "VmHWM")}
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--items", type=int, default=2000, help="objects already in the task")
    parser.add_argument("--serve", default=os.path.join(ROOT, "serve.py"), help="the serve.py to measure")
    parser.add_argument("--operations", type=int, help="default: the serve.py's MAX_OPERATIONS")
    parser.add_argument("--body-bytes", type=int, help="default: the serve.py's PATCH body limit")
    parser.add_argument("--burst", type=int, default=4, help="worst-case PATCHes at once after the single one")
    args = parser.parse_args()
    max_ops, max_body = serve_limits(args.serve)
    operations, body_bytes = args.operations or max_ops, args.body_bytes or max_body
    print(f"serve.py: {args.serve}\nworst-case PATCH: {operations} track creates in at most {body_bytes} bytes, "
          f"half at one index, on a task of {args.items} objects; {args.runs} runs")
    runs = []
    for n in range(args.runs):
        runs.append(one_run(args.serve, args.items, operations, body_bytes, args.burst))
        print(f"  run {n + 1}: " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in runs[-1].items()), flush=True)
    print("median [min-max]:")
    for key in runs[0]:
        values = [r[key] for r in runs]
        print(f"  {key:32s} {statistics.median(values):9.2f}  [{min(values):.2f}-{max(values):.2f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
