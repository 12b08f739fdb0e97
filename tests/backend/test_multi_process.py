"""Several serve.py processes on one database, one task hammered through all of them.

Clients save with op ids through a random process, resend some requests to another process
(a retry whose reply was lost) and send some to two processes at the same instant (the same
retry racing itself). Then: every operation was acknowledged, applied by exactly one request,
logged once; the revisions of the applying requests are exactly 1..N, each client's only grow;
the document holds every client's last values. FaultTest checks the same while processes are
SIGKILLed and restarted and, on PostgreSQL, the database is restarted once. Meant for PostgreSQL
(POLYMARK_TEST_DB=postgresql, ctest "backend_multi_process_pg"); on SQLite the processes share the
file, which holds too.

    POLYMARK_TEST_DB=postgresql python3 test_multi_process.py [processes [clients [rounds]]]
"""

import collections
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import TEST_DB, ServerProcess, make_demo_dir, postgres_cluster, stop_serving  # noqa: E402

TASK = "demo"


def call(server, method, path, body=None):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request(method, path, None if body is None else json.dumps(body),
                     {"Content-Type": "application/json"} if body is not None else {})
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"null")
    finally:
        conn.close()


def rect(item_id, x):
    return {"id": item_id, "type": "rectangle", "frame": 0, "label": "cat", "points": [x, 1, x + 2, 3]}


class MultiProcessTest(unittest.TestCase):
    processes, clients, rounds = 3, 12, 30

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-multi-")
        db = os.path.join(self.tmp, "db", "p.sqlite")
        task_dir = make_demo_dir(self.tmp)
        args = ["--db", db, "--web", self.tmp, "--quiet"]
        self.servers = [ServerProcess(self.tmp, args + ["--import", task_dir]).start()]
        self.servers += [ServerProcess(self.tmp, args).start() for _ in range(self.processes - 1)]

    def tearDown(self):
        for server in self.servers[1:]:
            server.stop()
        stop_serving(self.servers[0], self.tmp)

    def test_op_ids_apply_once_and_revisions_grow_across_processes(self):
        lock = threading.Lock()
        replies = []          # (op_ids sent, reply) of every 200
        failures = []
        sent = {}             # op_id -> the value it carried (None for a delete)
        last_value = {}       # item id -> its value after the client's last operation
        per_client = collections.defaultdict(list)  # client -> revisions of its sequential replies
        counts = collections.Counter()

        def save(server, body):
            status, reply = call(server, "PATCH", f"/api/tasks/{TASK}/annotations", body)
            with lock:
                if status != 200:
                    failures.append((status, reply))
                else:
                    replies.append(([op["op_id"] for op in body["operations"]], reply))
            return status, reply

        def client(number):
            rng = random.Random(number)
            device = f"dev{number}"
            live, base, counter = set(), 0, 0
            for round_ in range(self.rounds):
                operations = []
                for _ in range(rng.randint(1, 3)):
                    counter += 1
                    item = f"c{number}i{rng.randint(0, 4)}"
                    if any(op["id"] == item for op in operations):
                        continue
                    op_id = f"{device}.{counter}"
                    if item in live and rng.random() < 0.2:
                        operations.append({"op_id": op_id, "kind": "object", "op": "delete", "id": item})
                        live.discard(item)
                        value = None
                    else:
                        value = rect(item, round_ * 10 + counter)
                        operations.append({"op_id": op_id, "kind": "object",
                                           "op": "update" if item in live else "create", "id": item, "value": value})
                        live.add(item)
                    with lock:
                        sent[op_id] = value
                        last_value[item] = value
                body = {"base_revision": base, "user": f"u{number}", "device": device, "operations": operations}
                first, second = rng.sample(self.servers, 2) if len(self.servers) > 1 else self.servers * 2
                roll = rng.random()
                if roll < 0.2:  # the same request to two processes at once: a retry racing the original
                    other = threading.Thread(target=save, args=(second, body))
                    other.start()
                    status, reply = save(first, body)
                    other.join()
                    counts["raced"] += 1
                else:
                    status, reply = save(first, body)
                    if roll < 0.45:  # its reply "lost": sent again through another process
                        status, reply = save(second, body)
                        counts["resent"] += 1
                if status != 200:
                    return
                with lock:
                    per_client[number].append(reply["revision"])
                base = reply["revision"]

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started

        self.assertEqual(failures, [])
        applied_by = collections.Counter()
        acknowledged = set()
        applying_revisions = []
        for ops, reply in replies:
            self.assertEqual(set(reply["applied"]) | set(reply["duplicates"]), set(ops))
            applied_by.update(reply["applied"])
            acknowledged.update(ops)
            if reply["applied"]:
                applying_revisions.append(reply["revision"])
        self.assertEqual(acknowledged, set(sent), "an operation was never acknowledged")
        self.assertEqual([op for op, n in applied_by.items() if n != 1], [], "an operation was applied twice")
        self.assertEqual(set(applied_by), set(sent), "an operation was never applied")
        self.assertEqual(sorted(applying_revisions), list(range(1, len(applying_revisions) + 1)),
                         "each applying request has its own revision, one above the one before")
        for number, revisions in per_client.items():
            self.assertEqual(revisions, sorted(set(revisions)), f"client {number}: revisions went back")

        # The log and the document, read through every process.
        for server in self.servers:
            status, history = call(server, "GET", f"/api/tasks/{TASK}/history?after=0&limit=10000")
            self.assertEqual(status, 200)
            logged = collections.Counter(e["op_id"] for e in history["entries"])
            self.assertEqual(logged, collections.Counter(set(sent)), "the change log lists each op id once")
            revisions = [e["revision"] for e in history["entries"]]
            self.assertEqual(revisions, sorted(revisions))
            status, current = call(server, "GET", f"/api/tasks/{TASK}/annotations")
            self.assertEqual(current["revision"], len(applying_revisions))
            stored = {o["id"]: o for o in current["document"]["objects"]}
            for item, value in last_value.items():
                self.assertEqual(stored.get(item), value, item)

        print(f"\n  {TEST_DB}: {self.processes} serve.py processes, {self.clients} clients: {len(replies)} saves "
              f"({counts['resent']} resent to another process, {counts['raced']} raced on two), {len(sent)} "
              f"operations, each applied once; revisions 1..{len(applying_revisions)}; {elapsed:.1f} s, "
              f"{len(replies) / elapsed:.0f} saves/s", file=sys.stderr)


class FaultTest(unittest.TestCase):
    """The same guarantees while processes are SIGKILLed and restarted (and, on PostgreSQL, the
    database restarted once): clients resend every unanswered save, with the same op ids, to
    whichever process is up, as the sync engine does."""

    processes, clients, batches, kills = 3, 8, 40, 8

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-faults-")
        self.args = ["--db", os.path.join(self.tmp, "db", "p.sqlite"), "--web", self.tmp, "--quiet"]
        first = ServerProcess(self.tmp, self.args + ["--import", make_demo_dir(self.tmp)]).start()
        self.servers = [first] + [ServerProcess(self.tmp, self.args).start() for _ in range(self.processes - 1)]
        self.retired = []
        self.lock = threading.Lock()

    def tearDown(self):
        for server in self.servers + self.retired:
            server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def live(self, rng):
        with self.lock:
            return rng.choice(self.servers)

    def test_kills_and_restarts_lose_and_double_nothing(self):
        sent, last_value, per_client, failures = {}, {}, collections.defaultdict(list), []
        stats = collections.Counter()
        done = threading.Event()

        def client(number):
            rng = random.Random(1000 + number)
            device, live = f"f{number}", set()
            for batch in range(self.batches):
                operations = []
                for k in range(2):
                    item = f"f{number}i{rng.randint(0, 3)}"
                    if any(op["id"] == item for op in operations):
                        continue
                    value = rect(item, batch * 10 + k)
                    operations.append({"op_id": f"{device}.{batch}.{k}", "kind": "object",
                                       "op": "update" if item in live else "create", "id": item, "value": value})
                    live.add(item)
                    with self.lock:
                        sent[operations[-1]["op_id"]] = value
                        last_value[item] = value
                body = {"base_revision": 0, "user": f"u{number}", "device": device, "operations": operations}
                deadline = time.monotonic() + 60
                while True:
                    server = self.live(rng)
                    try:
                        status, reply = call(server, "PATCH", f"/api/tasks/{TASK}/annotations", body)
                    except (OSError, http.client.HTTPException, ValueError):
                        status, reply = None, None
                    with self.lock:
                        stats["attempts"] += 1
                    if status == 200:
                        break
                    if status is not None and status < 500:
                        failures.append((status, reply))
                        return
                    with self.lock:
                        stats["unanswered or 5xx"] += 1
                    if time.monotonic() > deadline:
                        failures.append(("gave up", batch))
                        return
                    time.sleep(rng.uniform(0.02, 0.2))
                with self.lock:
                    per_client[number].append(reply["revision"])

        def faults():
            rng = random.Random(7)
            for n in range(self.kills):
                if done.wait(0.25):
                    return
                with self.lock:
                    slot = rng.randrange(len(self.servers))
                    victim = self.servers[slot]
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait()
                replacement = ServerProcess(self.tmp, self.args).start()
                with self.lock:
                    self.servers[slot] = replacement
                    self.retired.append(victim)
                    stats["kills"] += 1
                if n == self.kills // 2 and TEST_DB == "postgresql":
                    postgres_cluster().restart()
                    stats["database restarts"] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(self.clients)]
        killer = threading.Thread(target=faults)
        started = time.monotonic()
        killer.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        killer.join()
        elapsed = time.monotonic() - started

        self.assertEqual(failures, [])
        server = self.servers[0]
        status, history = call(server, "GET", f"/api/tasks/{TASK}/history?after=0&limit=10000")
        self.assertEqual(status, 200)
        logged = collections.Counter(e["op_id"] for e in history["entries"])
        self.assertEqual(logged, collections.Counter(set(sent)), "every operation logged exactly once")
        status, current = call(server, "GET", f"/api/tasks/{TASK}/annotations")
        revisions = sorted({e["revision"] for e in history["entries"]})
        self.assertEqual(revisions, list(range(1, current["revision"] + 1)), "one revision per applied save")
        for number, seen in per_client.items():
            self.assertEqual(seen, sorted(set(seen)), f"client {number}: revisions went back")
        stored = {o["id"]: o for o in current["document"]["objects"]}
        for item, value in last_value.items():
            self.assertEqual(stored.get(item), value, item)
        for server in self.servers + self.retired:
            self.assertNotIn("Traceback", server.stderr())
        print(f"\n  {TEST_DB}: {self.processes} processes, {stats['kills']} SIGKILLs and restarts, "
              f"{stats['database restarts']} database restarts; {self.clients} clients, "
              f"{self.clients * self.batches} saves in {stats['attempts']} attempts "
              f"({stats['unanswered or 5xx']} unanswered or 5xx, resent), {len(sent)} operations each "
              f"applied once, revisions 1..{current['revision']}; {elapsed:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    for name, value in zip(("processes", "clients", "rounds"), [int(a) for a in sys.argv[1:4] if a.isdigit()]):
        setattr(MultiProcessTest, name, value)
    sys.argv = sys.argv[:1] + [a for a in sys.argv[1:] if not a.isdigit()]
    unittest.main()
