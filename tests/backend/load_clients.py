"""Many simultaneous HTTP clients against one serve.py, for tests/backend/test_connections.py
and bench/burst.py (standard library only).

The server process comes from test_serve.ServerProcess; POLYMARK_SERVE_SCRIPT names another
serve.py to run instead (e.g. the previous version, to see a test fail on it).
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_serve  # noqa: E402
from test_sync_routes import op, rect, task_body  # noqa: E402,F401  (re-exported for callers)

if os.environ.get("POLYMARK_SERVE_SCRIPT"):
    test_serve.SERVE = os.path.abspath(os.environ["POLYMARK_SERVE_SCRIPT"])

_FLAGS = {}


def serve_script():
    return test_serve.SERVE


def supports_flag(flag, script=None):
    """Whether this serve.py knows a command-line flag (older versions lack the connection limits)."""
    script = script or serve_script()
    if script not in _FLAGS:
        out = subprocess.run([test_serve.PYTHON, script, "--help"], capture_output=True, text=True, timeout=30)
        _FLAGS[script] = out.stdout
    return flag in _FLAGS[script]


def known_flags(pairs, script=None):
    """[flag, value, ...] for the (flag, value) pairs this serve.py understands."""
    out = []
    for flag, value in pairs:
        if supports_flag(flag, script):
            out += [flag, str(value)]
    return out


def create_task(host, port, task_id):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("POST", "/api/tasks", body=json.dumps(task_body(task_id, [])),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status not in (200, 201):
            raise AssertionError(f"POST /api/tasks for {task_id!r} answered {resp.status}")
    finally:
        conn.close()


class Outcome:
    """One client's result: status (None when it got no answer), error, seconds, headers, body."""

    def __init__(self, status=None, error=None, seconds=0.0, headers=None, body=b""):
        self.status, self.error, self.seconds = status, error, seconds
        self.headers, self.body = headers or {}, body

    @property
    def timed_out(self):
        return self.error is not None and "timed out" in self.error


def simultaneous(host, port, requests, timeout):
    """Send every (method, path, body bytes or None) at the same instant, each on its own new
    connection from its own thread; returns one Outcome per request, in order.

    Every thread first waits at a barrier, so the connections arrive together; the latency
    counts from the barrier to the last byte of the reply (connect included)."""
    outcomes = [None] * len(requests)
    barrier = threading.Barrier(len(requests))

    def client(i, method, path, body):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        start = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            outcomes[i] = Outcome(resp.status, None, time.monotonic() - start, dict(resp.headers), data)
        except (OSError, http.client.HTTPException) as e:
            outcomes[i] = Outcome(None, f"{type(e).__name__}: {e}", time.monotonic() - start)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i, *r), daemon=True) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    return [o or Outcome(None, "client thread did not finish") for o in outcomes]


def patch_body(item_id, op_id, base_revision=0, device="burst"):
    return json.dumps({"base_revision": base_revision, "user": "load", "device": device,
                       "operations": [op(op_id, "create", item_id, rect(item_id))]}).encode("utf-8")


def percentile(values, fraction):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
