#!/usr/bin/python3
"""Labelers under load: simulated labelers following the sync protocol, with faults.

Each labeler (an asyncio task, Debian's python3-aiohttp) does what the page and its sync engine
do (shared/polymark/sync.hpp, docs/API.md "Work queue"):

- asks the queue for its next job (``POST /api/queue/next``, one task per ten labelers);
- makes one edit a second on the job's frame (a new rectangle, then moves of it), each an
  operation with its own op id, journaled until the server acknowledges it;
- sends what is pending, one request at a time (``PATCH .../annotations``, base_revision = the
  last revision it saw); a request that fails or is unanswered after 20 s is resent with the
  same op ids (plus the edits made since) after the engine's back-off, uniform in
  [0, min(60 s, 1 s x 2^(failures-1))] (plus Retry-After for a 503);
- catches up every 30 s (``GET .../annotations?since=REV``);
- after 20 edits (``--edits-per-job``), once synced, submits the job (``PATCH .../jobs/J``
  ``{"stage": "review"}``) and takes the next.

At the end editing stops, every labeler gets up to 60 s to send what it still holds, and the
server's state is read back: every task's whole history and document. Lost = acknowledged ops
missing from the history; duplicated = op ids logged more than once; also ops in the history no
reply acknowledged, and objects whose stored value is not the last one sent. Numbers are
printed (and written as JSON with ``--json``); the exit status is non-zero only when something
broke (lost, duplicated, wrong values, a client left unsynced), never because it was slow.

What it runs against:

    bench/load_labelers.py --url http://HOST:PORT ...            # a running server or cluster
    bench/load_labelers.py --sqlite ...                          # starts 1 serve.py on SQLite
    bench/load_labelers.py --workers N ...                       # starts tools/cluster.py: PostgreSQL,
                                                                 #   N serve.py, nginx in front
    bench/load_labelers.py --workers 4 --labelers 500 --seconds 300 --faults

``--faults`` (with ``--workers``): one serve.py SIGKILLed and started again every 30 s (in turn,
from 15 s), PostgreSQL restarted once (at half time), nginx reloaded twice (at 30 % and 80 %).
Every failed request is set against these fault windows: "back to synced within its back-off"
means that after a fault ends, the labeler's next retry (after its back-off) succeeds; a failed
attempt that began after the fault it met was over is counted as late.
"""

import argparse
import asyncio
import base64
import bisect
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

try:
    import aiohttp
except ImportError:  # pragma: no cover
    sys.exit("load_labelers: needs Debian's python3-aiohttp (tools/setup.sh installs it)")

# The sync engine's settings (shared/polymark/sync.hpp, SyncSettings).
TIMEOUT = 20.0
BACKOFF_BASE = 1.0
BACKOFF_MAX = 60.0
CATCHUP_EVERY = 30.0
DRAIN_SECONDS = 60.0
FAULT_GRACE = 1.0  # seconds after a fault's end during which its failures still count as its own
MP4_FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"  # serve.py accepts media by their bytes


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


# [SECTION] Process accounting: CPU seconds of the server side, read from /proc

def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def machine_busy():
    """(busy, total) jiffies of all cores, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Accounting:
    """CPU seconds used by each part of the system under test during the run, process by process:
    sampled every few seconds and just before a fault, so a process killed or restarted keeps the
    seconds it had used (less at most one sampling interval of PostgreSQL backends that ended)."""

    def __init__(self, system):
        self.system = system
        self.base, self.last = {}, {}

    def sample(self):
        for key, seconds in (self.system.cpu() if self.system else {}).items():
            self.base.setdefault(key, 0.0)
            self.last[key] = seconds

    def begin(self):
        self.base = dict(self.system.cpu()) if self.system else {}
        self.last = dict(self.base)
        self.t0 = time.monotonic()
        self.busy0 = machine_busy()
        self.self0 = sum(os.times()[:2])

    def end(self):
        self.sample()
        used = collections.Counter()
        for (part, _), seconds in self.last.items():
            used[part] += seconds - self.base[(part, _)]
        busy1 = machine_busy()
        wall = time.monotonic() - self.t0
        used["load generator"] = sum(os.times()[:2]) - self.self0
        machine = (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1]) * os.cpu_count()
        return dict(used), wall, machine


# [SECTION] The system under test

class SqliteServer:
    """One serve.py on a SQLite file, no nginx."""

    def __init__(self, root, dist):
        self.root, self.dist = root, dist
        self.workers = 1

    def start(self):
        self.log = open(os.path.join(self.root, "serve.log"), "wb")
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "serve.py"), "--port", "0", "--quiet",
                                      "--db", os.path.join(self.root, "db.sqlite"), "--web", self.dist],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=self.root)
        line = self.proc.stdout.readline()
        if not line.startswith("polymark: serving "):
            self.proc.kill()
            raise SystemExit(f"load_labelers: serve.py did not start: {line!r}")
        self.url = line.split()[-1].rstrip("/")
        return self

    def cpu(self):
        return {("serve.py", self.proc.pid): cpu_seconds(self.proc.pid)}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class ClusterSystem:
    """tools/cluster.py: PostgreSQL, N serve.py, nginx."""

    def __init__(self, root, workers, dist, durable=True):
        import cluster
        self.c = cluster.Cluster(root, workers=workers, dist=dist, durable=durable)
        self.workers = workers

    def start(self):
        self.c.start()
        self.url = self.c.url
        return self

    def pg_pid(self):
        try:
            with open(os.path.join(self.c.pg.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def cpu(self):
        out = {("serve.py", p.pid): cpu_seconds(p.pid) for p in self.c.procs.values() if p.poll() is None}
        for part, pid in (("postgres", self.pg_pid()), ("nginx", self.c._nginx_pid())):
            if pid:
                for each in [pid] + children_of(pid):
                    out[(part, each)] = cpu_seconds(each)
        return out

    def stop(self):
        self.c.stop()


# [SECTION] One labeler

class Shared:
    """What all labelers share: the session, the clock, the counters."""

    def __init__(self, url, session, end):
        self.url, self.session, self.end = url, session, end
        self.save_ms = []          # latency of every answered save (200)
        self.ack_ms = []           # edit made -> acknowledged
        self.errors = collections.Counter()
        self.requests = collections.Counter()
        self.failures = []         # (start, end, what) of every failed attempt (no reply, 5xx)
        self.fault_windows = []    # (start, end, what)
        self.episodes = []         # (first failure, synced again, failed attempts)
        self.no_work = 0
        self.submitted = 0
        self.stop_editing = False
        self.verbose = True
        self.saves_held = 0        # save attempts that took at least a hang-kill's hang (answered or not)


class Labeler:
    def __init__(self, index, task, shared, edits_per_job, rng):
        self.i, self.task, self.s = index, task, shared
        self.user = f"lab{index:04d}"
        self.device = f"load.{index:04d}"
        self.edits_per_job = edits_per_job
        self.rng = rng
        self.pending = []          # ops not yet acknowledged, oldest first: (op, made at)
        self.counter = 0
        self.revision = 0
        self.sent_ops = {}         # op_id -> value (every op made)
        self.acked = []            # op ids acknowledged by a reply
        self.last_value = {}       # object id -> value last sent
        self.failures_in_row = 0
        self.episode = None        # (first failure time, failed attempts)
        self.last_catchup = time.monotonic()
        self.wake = asyncio.Event()
        self.headers = {"Content-Type": "application/json", "X-Polymark-User": self.user,
                        "X-Polymark-Role": "labeler", "X-Polymark-Device": self.device}

    async def request(self, kind, method, path, body=None):
        """(status or None, reply or error name, seconds). Failures are recorded for the fault check."""
        t0 = time.monotonic()
        self.s.requests[kind] += 1
        try:
            async with self.s.session.request(method, self.s.url + path, headers=self.headers,
                                              data=None if body is None else json.dumps(body, separators=(",", ":")),
                                              timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as r:
                raw = await r.read()
                status = r.status
        except asyncio.TimeoutError:
            status, reply = None, "timeout"
        except aiohttp.ClientError as e:
            status, reply = None, type(e).__name__
        else:
            try:
                reply = json.loads(raw or b"null")
            except ValueError:
                reply = {"raw": raw[:200].decode("utf-8", "replace")}
        t1 = time.monotonic()
        if kind == "save" and t1 - t0 >= HANG_SECONDS * 0.9:
            self.s.saves_held += 1
        if status is None or status >= 500:
            what = reply if status is None else f"HTTP {status}"
            self.s.errors[f"{kind}: {what}"] += 1
            self.s.failures.append((t0, t1, kind))
        return status, reply, t1 - t0

    async def backoff(self, reply=None):
        self.failures_in_row += 1
        delay = self.rng.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures_in_row - 1)))
        if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
            delay += float(reply["error"].get("retry_after") or 0)
        await asyncio.sleep(delay)

    # The sync engine: one request in flight; saves first, catch-ups when idle.
    async def sender(self):
        while True:
            if not self.pending:
                if self.s.stop_editing and not self.editing:
                    return
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=1.0)
                except asyncio.TimeoutError:
                    pass
                self.wake.clear()
                if not self.pending and time.monotonic() - self.last_catchup >= CATCHUP_EVERY:
                    await self.catch_up()
                continue
            await self.save()

    async def save(self):
        batch = self.pending[:1000]
        body = {"base_revision": self.revision, "user": self.user, "device": self.device,
                "operations": [op for op, _ in batch]}
        status, reply, seconds = await self.request("save", "PATCH", f"/api/tasks/{self.task}/annotations", body)
        now = time.monotonic()
        if status == 200:
            self.s.save_ms.append(seconds * 1000)
            done = set(reply.get("applied", [])) | set(reply.get("duplicates", []))
            kept = []
            for op, made in batch:
                if op["op_id"] in done:
                    self.acked.append(op["op_id"])
                    self.s.ack_ms.append((now - made) * 1000)
                else:
                    kept.append((op, made))
            if kept:
                self.s.errors["save: op not acknowledged in a 200"] += len(kept)
            self.pending = kept + self.pending[len(batch):]
            self.revision = max(self.revision, reply.get("revision", 0))
            self.failures_in_row = 0
            if self.episode and not self.pending:
                self.s.episodes.append((self.episode[0], now, self.episode[1]))
                self.episode = None
            return
        if status is not None and status < 500:
            # a refusal is a bug of this generator or of the server: keep the ops, say so
            self.s.errors[f"save: HTTP {status} {reply.get('error', {}).get('code') if isinstance(reply, dict) else ''}"] += 1
        if self.episode is None:
            self.episode = [now, 0]
        self.episode[1] += 1
        await self.backoff(reply)

    async def catch_up(self):
        self.last_catchup = time.monotonic()
        status, reply, _ = await self.request("catch-up", "GET", f"/api/tasks/{self.task}/annotations?since={self.revision}")
        if status == 200:
            self.revision = max(self.revision, reply.get("revision", 0))

    def edit(self, job, k):
        self.counter += 1
        op_id = f"{self.device}.{self.counter}"
        item = f"{self.device}.j{job['id']}"
        x = 10 + (self.counter % 500)
        value = {"id": item, "type": "rectangle", "frame": job["start_frame"], "label": "car",
                 "points": [x, 20, x + 40.5, 60.25]}
        op = {"op_id": op_id, "kind": "object", "op": "create" if k == 0 else "update", "id": item, "value": value}
        self.sent_ops[op_id] = value
        self.last_value[item] = value
        self.pending.append((op, time.monotonic()))
        self.wake.set()

    async def call_until_answered(self, kind, method, path, body=None):
        """A request the labeler's page repeats until it gets an answer below 500 (or the run ends)."""
        failures = 0
        while True:
            status, reply, _ = await self.request(kind, method, path, body)
            if status is not None and status < 500:
                return status, reply
            failures += 1
            if time.monotonic() > self.s.end + DRAIN_SECONDS:
                return status, reply
            await asyncio.sleep(self.rng.uniform(0, min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (failures - 1))))

    async def run(self):
        self.editing = True
        sender = asyncio.ensure_future(self.sender())
        await asyncio.sleep(self.rng.uniform(0, 1))
        tick = time.monotonic()
        try:
            while time.monotonic() < self.s.end:
                status, reply = await self.call_until_answered("next", "POST", "/api/queue/next", {"task": self.task})
                if status != 200:
                    self.s.errors[f"next: HTTP {status}"] += 1
                    await asyncio.sleep(2)
                    continue
                job = reply.get("job")
                if not job:
                    self.s.no_work += 1
                    await asyncio.sleep(5)
                    continue
                for k in range(self.edits_per_job):
                    tick = max(tick + 1.0, time.monotonic() - 1.0)
                    await asyncio.sleep(max(0.0, tick - time.monotonic()))
                    if time.monotonic() >= self.s.end:
                        return
                    self.edit(job, k)
                while self.pending and time.monotonic() < self.s.end:  # submit only what is saved
                    await asyncio.sleep(0.2)
                if self.pending:
                    return
                await self.submit(job)
        finally:
            self.editing = False
            self.wake.set()
            try:
                await asyncio.wait_for(sender, timeout=max(1.0, self.s.end + DRAIN_SECONDS - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def submit(self, job):
        path = f"/api/tasks/{self.task}/jobs/{job['id']}"
        status, reply = await self.call_until_answered("submit", "PATCH", path, {"stage": "review"})
        if status == 200:
            self.s.submitted += 1
            return
        # a submit whose reply was lost and that nginx or the page sent again finds the job moved
        check, got = await self.call_until_answered("submit", "GET", path)
        if check == 200 and got["job"]["stage"] != "annotation":
            self.s.submitted += 1
        else:
            self.s.errors[f"submit: HTTP {status}"] += 1


# [SECTION] Setup and read-back

def task_body(task_id, frames):
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": task_id,
                     "media": [{"id": "v", "type": "video", "file": "v.mp4", "frames": frames, "fps": 30}],
                     "labels": [{"id": "car", "name": "Car", "types": ["rectangle"]}]},
            "files": {"v.mp4": base64.b64encode(MP4_FTYP + bytes(1000)).decode("ascii")}}


async def manager_call(session, url, method, path, body=None):
    headers = {"Content-Type": "application/json", "X-Polymark-Role": "manager", "X-Polymark-User": "boss"}
    for attempt in range(20):
        try:
            async with session.request(method, url + path, headers=headers,
                                       data=None if body is None else json.dumps(body),
                                       timeout=aiohttp.ClientTimeout(total=120)) as r:
                data = await r.read()
                if r.status < 500:
                    return r.status, json.loads(data or b"null")
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(1 + attempt)
    raise SystemExit(f"load_labelers: {method} {path} got no answer")


async def setup_tasks(session, url, tasks, frames):
    async def one(t):
        status, reply = await manager_call(session, url, "POST", "/api/tasks", task_body(t, frames))
        if status not in (200, 201):
            raise SystemExit(f"load_labelers: POST /api/tasks {t}: {status} {reply}")
        status, reply = await manager_call(session, url, "POST", f"/api/tasks/{t}/jobs", {"frames_per_job": 1})
        if status != 200:
            raise SystemExit(f"load_labelers: splitting {t} into jobs: {status} {reply}")
    for start in range(0, len(tasks), 8):
        await asyncio.gather(*(one(t) for t in tasks[start:start + 8]))


async def read_back(session, url, tasks):
    history, documents = {}, {}
    for t in tasks:
        entries, after = [], None
        while True:
            query = "limit=10000" + ("" if after is None else f"&after={after}")
            status, page = await manager_call(session, url, "GET", f"/api/tasks/{t}/history?{query}")
            if status != 200:
                raise SystemExit(f"load_labelers: history of {t}: {status} {page}")
            entries += page["entries"]
            if len(page["entries"]) < 10000:
                break
            after = page["entries"][-1]["revision"]
        history[t] = entries
        status, whole = await manager_call(session, url, "GET", f"/api/tasks/{t}/annotations")
        documents[t] = whole["document"]
    return history, documents


# [SECTION] Faults

def default_fault_plan(seconds, workers):
    """[(seconds from the start, fault, worker)]: a serve.py killed and restarted every 30 s from
    15 s, in turn; PostgreSQL restarted at half time; nginx reloaded at 30 % and 80 %."""
    plan = [(15.0 + 30.0 * n, "kill", n % workers) for n in range(int(seconds // 30) + 1) if 15.0 + 30.0 * n < seconds]
    plan += [(seconds * 0.5, "postgres", None), (seconds * 0.3, "nginx", None), (seconds * 0.8, "nginx", None)]
    return sorted(plan, key=lambda p: p[0])


HANG_SECONDS = 1.5


async def inject_faults(system, shared, accounting, plan, t0):
    """Faults: "kill" (SIGKILL, then start again), "hang-kill" (SIGSTOP, so requests pile up in
    it, SIGKILL after HANG_SECONDS, start again), "postgres" (restart), "nginx" (reload)."""
    loop = asyncio.get_running_loop()
    for at, what, k in plan:
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        start = time.monotonic()
        await loop.run_in_executor(None, accounting.sample)
        if what in ("kill", "hang-kill"):
            if what == "hang-kill":
                system.c.procs[k].send_signal(signal.SIGSTOP)
                await asyncio.sleep(HANG_SECONDS)
            await loop.run_in_executor(None, system.c.kill_worker, k)
            await loop.run_in_executor(None, system.c.start_worker, k)
            label = f"{'SIGSTOP, SIGKILL' if what == 'hang-kill' else 'SIGKILL'} serve.py {k} + restart"
        elif what == "postgres":
            await loop.run_in_executor(None, system.c.restart_postgres)
            label = "PostgreSQL restart"
        elif what == "nginx":
            await loop.run_in_executor(None, system.c.reload_nginx)
            label = "nginx reload"
        else:
            raise ValueError(f"unknown fault {what!r}")
        shared.fault_windows.append((start, time.monotonic(), label))
        if shared.verbose:
            print(f"  fault at {start - t0:6.1f} s: {label} ({time.monotonic() - start:.2f} s)", flush=True)


def judge_failures(shared):
    """Failed attempts inside a fault window (and its grace), and those after it: late."""
    def window_of(t0, t1):
        for w0, w1, what in shared.fault_windows:
            if t0 <= w1 + FAULT_GRACE and t1 >= w0:
                return what
        return None
    inside = collections.Counter()
    outside = 0
    for t0, t1, kind in shared.failures:
        what = window_of(t0, t1)
        if what:
            inside[what.split(" ")[0]] += 1
        else:
            outside += 1
    # An episode is late when one of the failures that ended inside it fell outside every fault
    # window: its first retry after the fault was over failed too.
    stray = sorted(t1 for t0, t1, _ in shared.failures if window_of(t0, t1) is None)
    late_episodes = 0
    for first, synced, attempts in shared.episodes:
        i = bisect.bisect_left(stray, first - 0.001)
        if i < len(stray) and stray[i] <= synced:
            late_episodes += 1
    return inside, outside, late_episodes


# [SECTION] Main

async def run(args, system):
    url = args.url or system.url
    tasks_n = max(1, -(-args.labelers // args.labelers_per_task))
    tasks = [f"load{n:03d}" for n in range(tasks_n)]
    jobs_each = int(args.seconds / (args.edits_per_job + 1) + 3)
    frames = args.labelers_per_task * jobs_each * 2
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=10, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        t_setup = time.monotonic()
        await setup_tasks(session, url, tasks, frames)
        if getattr(args, "verbose", True):
            print(f"  {len(tasks)} tasks of {frames} one-frame jobs set up in {time.monotonic() - t_setup:.1f} s", flush=True)

        accounting = Accounting(system)
        t0 = time.monotonic()
        shared = Shared(url, session, t0 + args.seconds)
        shared.verbose = getattr(args, "verbose", True)
        rng = random.Random(args.seed)
        labelers = [Labeler(i, tasks[i // args.labelers_per_task], shared, args.edits_per_job,
                            random.Random(rng.random())) for i in range(args.labelers)]
        loads = []

        async def sample_load():
            while time.monotonic() < shared.end:
                loads.append(os.getloadavg()[0])
                for _ in range(2):
                    await asyncio.get_running_loop().run_in_executor(None, accounting.sample)
                    await asyncio.sleep(5)

        accounting.begin()
        jobs = [asyncio.ensure_future(lab.run()) for lab in labelers]
        extra = [asyncio.ensure_future(sample_load())]
        if args.faults:
            plan = getattr(args, "fault_plan", None) or default_fault_plan(args.seconds, system.workers)
            extra.append(asyncio.ensure_future(inject_faults(system, shared, accounting, plan, t0)))
        await asyncio.sleep(args.seconds)
        acked_at_end = len(shared.save_ms)
        used, wall, machine = accounting.end()
        shared.stop_editing = True
        await asyncio.gather(*jobs)
        for e in extra:
            e.cancel()
        drained = time.monotonic() - shared.end
        history, documents = await read_back(session, url, tasks)

    # Read-back checks
    sent = {op_id: v for lab in labelers for op_id, v in lab.sent_ops.items()}
    acked = set(op_id for lab in labelers for op_id in lab.acked)
    logged = collections.Counter(e["op_id"] for t in tasks for e in history[t] if e["op_id"].startswith("load."))
    lost = [op_id for op_id in acked if op_id not in logged]
    duplicated = sum(c - 1 for c in logged.values() if c > 1)
    unacked_logged = [op_id for op_id in logged if op_id not in acked]
    unknown = [op_id for op_id in logged if op_id not in sent]
    unsynced = sum(1 for lab in labelers if lab.pending)
    values = {o["id"]: o for t in tasks for o in documents[t]["objects"]}
    wrong = sum(1 for lab in labelers for item, v in lab.last_value.items()
                if not lab.pending and any((values.get(item) or {}).get(k) != x for k, x in v.items()))
    inside, outside, late = judge_failures(shared)
    saves_per_s = acked_at_end / args.seconds
    result = {
        "mode": "sqlite" if args.sqlite else ("url" if args.url else f"postgresql x{args.workers} + nginx"),
        "labelers": args.labelers, "seconds": args.seconds, "faults": args.faults,
        "load_average_mean": round(sum(loads) / len(loads), 2) if loads else None,
        "load_average_max": round(max(loads), 2) if loads else None,
        "saves_per_s": round(saves_per_s, 1),
        "save_ms": {p: round(percentile(shared.save_ms, p), 1) for p in (50, 95, 99)} if shared.save_ms else None,
        "edit_to_ack_ms": {p: round(percentile(shared.ack_ms, p), 1) for p in (50, 95, 99)} if shared.ack_ms else None,
        "requests": dict(shared.requests), "errors": dict(shared.errors),
        "ops_sent": len(sent), "ops_acknowledged": len(acked), "ops_lost": len(lost),
        "ops_duplicated": duplicated, "ops_logged_unacknowledged": len(unacked_logged),
        "ops_unknown": len(unknown), "objects_wrong": wrong, "clients_unsynced": unsynced,
        "drain_seconds": round(drained, 1), "jobs_submitted": shared.submitted, "no_work": shared.no_work,
        "cpu_seconds": {k: round(v, 1) for k, v in used.items()}, "wall": round(wall, 1),
        "machine_cores_busy": round(machine, 2),
        "fault_windows": [(round(a - t0, 1), round(b - a, 2), w) for a, b, w in shared.fault_windows],
        "failed_attempts_in_faults": dict(inside), "failed_attempts_outside_faults": outside,
        "episodes": len(shared.episodes), "episodes_late": late,
        "episode_max_s": round(max((b - a for a, b, _ in shared.episodes), default=0.0), 2),
        "episode_max_attempts": max((n for _, _, n in shared.episodes), default=0),
        "saves_slower_than_hang": shared.saves_held,
    }
    server_cpu = sum(v for k, v in used.items() if k != "load generator")
    result["server_cpu_ms_per_save"] = round(server_cpu / max(1, acked_at_end) * 1000, 2)
    return result


def report(r):
    print(f"load_labelers: {r['mode']}, {r['labelers']} labelers, {r['seconds']:g} s"
          f"{', faults' if r['faults'] else ''}; load average mean {r['load_average_mean']} max {r['load_average_max']}")
    print(f"  saves/s sustained {r['saves_per_s']}; save latency ms p50 {r['save_ms'] and r['save_ms'][50]}"
          f" p95 {r['save_ms'] and r['save_ms'][95]} p99 {r['save_ms'] and r['save_ms'][99]};"
          f" edit to acknowledged ms p50/p95/p99 {r['edit_to_ack_ms'] and '/'.join(str(v) for v in r['edit_to_ack_ms'].values())}")
    print(f"  requests {r['requests']}")
    print(f"  errors {sum(r['errors'].values())}: {r['errors']}")
    print(f"  ops sent {r['ops_sent']}, acknowledged {r['ops_acknowledged']}, lost {r['ops_lost']}, "
          f"duplicated {r['ops_duplicated']}; logged but unacknowledged {r['ops_logged_unacknowledged']}, "
          f"unknown {r['ops_unknown']}, objects not at their last value {r['objects_wrong']}, "
          f"clients unsynced {r['clients_unsynced']} (drained in {r['drain_seconds']} s)")
    print(f"  jobs submitted {r['jobs_submitted']}, queue empty {r['no_work']} times")
    print(f"  CPU seconds {r['cpu_seconds']} over {r['wall']} s; server side {r['server_cpu_ms_per_save']} ms "
          f"per save; machine busy {r['machine_cores_busy']} of {os.cpu_count()} cores")
    if r["faults"]:
        print(f"  faults {r['fault_windows']}")
        print(f"  failed attempts in fault windows {r['failed_attempts_in_faults']}, outside "
              f"{r['failed_attempts_outside_faults']}; episodes {r['episodes']} (late {r['episodes_late']}, "
              f"longest {r['episode_max_s']} s, most attempts {r['episode_max_attempts']})")
    broken = (r["ops_lost"] or r["ops_duplicated"] or r["ops_unknown"] or r["objects_wrong"]
              or r["clients_unsynced"])
    print(f"load_labelers: {'SOMETHING BROKE (see above)' if broken else 'OK'}", flush=True)
    return 1 if broken else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help="a running server or cluster (no faults)")
    target.add_argument("--sqlite", action="store_true", help="start one serve.py on SQLite")
    target.add_argument("--workers", type=int, help="start tools/cluster.py with N serve.py")
    p.add_argument("--labelers", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--edits-per-job", type=int, default=20)
    p.add_argument("--labelers-per-task", type=int, default=10)
    p.add_argument("--faults", action="store_true", help="kill/restart serve.py, restart PostgreSQL, reload nginx")
    p.add_argument("--dist", help="the built client (default build-web/dist)")
    p.add_argument("--dir", help="keep the cluster or database here (default: a temporary folder)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="also write the numbers to this file")
    args = p.parse_args(argv)
    if args.faults and not args.workers:
        p.error("--faults needs --workers (the generator starts the cluster it breaks)")
    root = args.dir or tempfile.mkdtemp(prefix="pm-load-")
    os.makedirs(root, exist_ok=True)
    import cluster
    dist = args.dist or cluster.default_dist()
    system = None
    if args.sqlite:
        system = SqliteServer(root, dist).start()
    elif args.workers:
        system = ClusterSystem(root, args.workers, dist).start()
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    try:
        print(f"load_labelers: {args.labelers} labelers for {args.seconds:g} s against "
              f"{args.url or system.url}; {os.cpu_count()} CPUs, load average "
              f"{' '.join('%.2f' % v for v in os.getloadavg())}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
              flush=True)
        result = asyncio.run(run(args, system))
    finally:
        if system:
            system.stop()
    result["started_utc"] = started
    status = report(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    if not args.dir:
        import shutil
        shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
