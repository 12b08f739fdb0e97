#!/usr/bin/env python3
"""Sync load: many labelers saving small changes to one task on a real serve.py.

Starts serve.py on an ephemeral port with a temporary database, then:

1. Save size and latency against the task size: one-object updates (PATCH)
   on a task of 10 objects and on one of 10,000; the bytes each request puts
   on the wire (request line, headers and body, counted at the socket) and
   its latency, median [min-max] over repeated runs.
2. Load: N labelers (threads, one keep-alive http.client connection each,
   own user and device id) each save one small change per second for the
   given time: create one object of their own, then update it. Each request
   carries a fresh op_id and the last revision its labeler saw (which other
   labelers keep making old). A request that fails on the wire is retried
   with the same op_id, as a sync engine would.
3. Check: read the document and the whole history back. Every acknowledged
   op_id must be in the history exactly once, no other op must be there, the
   revision must equal the number of saves, and every labeler's object must
   hold its last saved value.

It prints numbers and exits non-zero only when something broke (a lost or
duplicated op, a conflict, a failed request), never because of speed.

    python3 bench/sync_load.py              # 60 s of load
    python3 bench/sync_load.py --quick      # 10 s
    python3 bench/sync_load.py --seconds 30 --labelers 20 --runs 7
"""

import argparse
import base64
import http.client
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVE = os.path.join(ROOT, "serve.py")


# [SECTION] Fixtures

def png(width, height):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = (b"\x00" + b"\x80\x80\x80" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def rect(item_id, x):
    return {"id": item_id, "type": "rectangle", "frame": 0, "label": "car",
            "points": [x, 10.5, x + 40.25, 60.75], "attributes": {"color": "red"}}


def task_upload(task_id, n_objects):
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": task_id,
                     "media": [{"id": "img", "type": "image", "file": "img.png", "width": 64, "height": 48}],
                     "labels": [{"id": "car"}]},
            "files": {"img.png": base64.b64encode(png(64, 48)).decode("ascii")},
            "annotations": {"format": "polymark.annotations", "version": 1,
                            "objects": [rect("obj-%05d" % i, i % 1000) for i in range(n_objects)],
                            "tracks": []}}


class CountingConnection(http.client.HTTPConnection):
    """Counts the bytes each request puts on the socket."""

    sent = 0

    def send(self, data):
        self.sent += len(data)
        super().send(data)


def start_server(tmp):
    proc = subprocess.Popen([sys.executable, SERVE, "--port", "0", "--quiet",
                             "--db", os.path.join(tmp, "db.sqlite"), "--web", tmp],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("polymark: serving "):
        proc.kill()
        raise SystemExit("serve.py did not start: %r %s" % (line, proc.stderr.read()))
    url = urllib.parse.urlsplit(line.split()[-1])
    return proc, url.hostname, url.port


def call(conn, method, path, body=None):
    data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"null")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))]


def spread(values, fmt="%.2f"):
    return (fmt + " [" + fmt + "-" + fmt + "]") % (statistics.median(values), min(values), max(values))


# [SECTION] 1. Save size and latency against task size

def save_cost(host, port, runs, saves):
    conn = CountingConnection(host, port, timeout=60)
    rows = {}
    for task_id, n in (("size-a", 10), ("size-b", 10000)):  # ids of one length: same path bytes
        status, reply = call(conn, "POST", "/api/tasks", task_upload(task_id, n))
        assert status == 201, reply
        revision, sizes, medians = 0, [], []
        for run in range(runs):
            times = []
            for k in range(saves):
                body = {"base_revision": revision, "user": "bench", "device": "bench-size",
                        "operations": [{"op_id": "size.%d.%d" % (run, k), "kind": "object", "op": "update",
                                        "id": "obj-00005", "value": rect("obj-00005", 100 + k)}]}
                conn.sent = 0
                t0 = time.perf_counter()
                status, reply = call(conn, "PATCH", "/api/tasks/%s/annotations" % task_id, body)
                times.append((time.perf_counter() - t0) * 1000)
                assert status == 200, reply
                revision = reply["revision"]
                sizes.append(conn.sent)
            medians.append(statistics.median(times))
        status, whole = call(conn, "GET", "/api/tasks/%s/annotations" % task_id)
        rows[n] = (sizes, medians, len(json.dumps(whole["document"], separators=(",", ":"))))
    conn.close()
    return rows


# [SECTION] 2. Load

class Labeler(threading.Thread):
    def __init__(self, index, host, port, start, seconds, n_labelers):
        super().__init__(daemon=True)
        self.index, self.host, self.port = index, host, port
        self.device, self.user = "bench-dev-%02d" % index, "labeler-%02d" % index
        self.item = "lab-%02d" % index
        self.first = start + index / n_labelers  # spread the labelers over each second
        self.end = start + seconds
        self.latencies, self.acked, self.retries, self.conflicts, self.failures = [], [], 0, 0, []
        self.last_value = None
        self.revision = 0

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def run(self):
        conn = self.connect()
        k = 0
        while True:
            due = self.first + k
            if due >= self.end:
                break
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            value = rect(self.item, k)
            body = {"base_revision": self.revision, "user": self.user, "device": self.device,
                    "operations": [{"op_id": "%s.%d" % (self.device, k), "kind": "object",
                                    "op": "create" if k == 0 else "update", "id": self.item, "value": value}]}
            t0 = time.perf_counter()
            for attempt in range(5):
                try:
                    status, reply = call(conn, "PATCH", "/api/tasks/load/annotations", body)
                    break
                except (OSError, http.client.HTTPException):
                    self.retries += 1
                    conn.close()
                    conn = self.connect()
            else:
                self.failures.append("op %d: no answer after 5 tries" % k)
                k += 1
                continue
            self.latencies.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                self.acked.append(body["operations"][0]["op_id"])
                self.revision = reply["revision"]
                self.last_value = value
            elif status == 409:
                self.conflicts += 1
            else:
                self.failures.append("op %d: HTTP %d %s" % (k, status, reply))
            k += 1
        conn.close()


def load(host, port, n_labelers, seconds):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    status, reply = call(conn, "POST", "/api/tasks", task_upload("load", 0))
    assert status == 201, reply
    conn.close()  # idle through the load it would meet serve.py's keep-alive timeout (60 s)
    start = time.monotonic() + 0.5
    labelers = [Labeler(i, host, port, start, seconds, n_labelers) for i in range(n_labelers)]
    for lab in labelers:
        lab.start()
    for lab in labelers:
        lab.join(seconds + 120)
    wall = time.monotonic() - start

    # Read everything back.
    conn = http.client.HTTPConnection(host, port, timeout=60)
    status, whole = call(conn, "GET", "/api/tasks/load/annotations")
    history, after = [], 0
    while True:
        status, page = call(conn, "GET", "/api/tasks/load/history?after=%d&limit=10000" % after)
        history += page["entries"]
        if len(page["entries"]) < 10000:
            break
        after = page["entries"][-1]["revision"]  # pages never end inside a revision
    conn.close()
    return labelers, wall, whole, history


# [SECTION] Main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60, help="length of the load phase (default 60)")
    p.add_argument("--quick", action="store_true", help="10 s of load and fewer size runs")
    p.add_argument("--labelers", type=int, default=50, help="simulated labelers (default 50)")
    p.add_argument("--runs", type=int, default=5, help="runs of the size/latency part (default 5)")
    p.add_argument("--saves", type=int, default=40, help="saves per run in the size/latency part (default 40)")
    args = p.parse_args()
    if args.quick:
        args.seconds, args.runs = 10, 3

    tmp = tempfile.mkdtemp(prefix="polymark-sync-load-")
    proc, host, port = start_server(tmp)
    ok = True
    try:
        print("sync_load: serve.py at %s:%d, Python %s, %d CPUs, load average %s" % (
            host, port, sys.version.split()[0], os.cpu_count(),
            " ".join("%.2f" % v for v in os.getloadavg())))
        print()
        print("1. One-object save (PATCH update) against task size: %d runs of %d saves; "
              "median [min-max]" % (args.runs, args.saves))
        rows = save_cost(host, port, args.runs, args.saves)
        print("   %-22s %-26s %-28s %s" % ("objects in the task", "request bytes on the wire",
                                          "latency ms (run medians)", "whole document bytes"))
        for n, (sizes, medians, doc_bytes) in rows.items():
            print("   %-22s %-26s %-28s %d" % ("{:,}".format(n), spread(sizes, "%d"), spread(medians), doc_bytes))
        sizes_10, sizes_10k = rows[10][0], rows[10000][0]
        constant = sizes_10 == sizes_10k  # save by save (sizes grow only with the digits of numbers)
        print("   the request size is %s and %s 2 KB" % (
            "the same for both" if constant else "NOT the same", "under" if max(sizes_10k) < 2000 else "OVER"))
        ok &= max(sizes_10k) < 2000
        print()

        print("2. Load: %d labelers, one save per second each, %g s" % (args.labelers, args.seconds))
        labelers, wall, whole, history = load(host, port, args.labelers, args.seconds)
        latencies = [t for lab in labelers for t in lab.latencies]
        acked = [op_id for lab in labelers for op_id in lab.acked]
        sent = sum(len(lab.latencies) for lab in labelers) + sum(len(lab.failures) for lab in labelers)
        print("   saves sent %d, acknowledged %d, in %.1f s (%.1f saves/s)" % (
            sent, len(acked), wall, len(acked) / wall))
        print("   retries after a failed connection %d, conflicts %d, failed saves %d" % (
            sum(lab.retries for lab in labelers), sum(lab.conflicts for lab in labelers),
            sum(len(lab.failures) for lab in labelers)))
        if latencies:
            print("   save latency ms: p50 %.2f  p95 %.2f  p99 %.2f  max %.2f" % (
                percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99), max(latencies)))
        for lab in labelers:
            for failure in lab.failures[:3]:
                print("   %s: %s" % (lab.device, failure))
        print()

        print("3. Read back")
        logged = [e["op_id"] for e in history]
        lost = set(acked) - set(logged)
        duplicated = len(logged) - len(set(logged))
        unexpected = set(logged) - set(acked)
        objects = {o["id"]: o for o in whole["document"]["objects"]}
        wrong = [lab.device for lab in labelers if objects.get(lab.item) != lab.last_value]
        print("   history entries %d, revision %d" % (len(logged), whole["revision"]))
        print("   lost ops %d, duplicated ops %d, ops nobody acknowledged %d, objects not at their "
              "last save %d" % (len(lost), duplicated, len(unexpected), len(wrong)))
        ok &= not (lost or duplicated or unexpected or wrong)
        ok &= whole["revision"] == len(acked)
        ok &= all(not lab.failures and not lab.conflicts for lab in labelers)
        print()
        print("sync_load: %s" % ("OK" if ok else "SOMETHING BROKE (see above)"))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
