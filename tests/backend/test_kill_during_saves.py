"""serve.py killed with SIGKILL while saves arrive loses nothing and applies nothing twice
(standard library only).

A client sends PATCHes of a few operations each, one after another, and retries every request
that got no answer with the same op ids (as the real client does), while serve.py is killed
and restarted on the same database. At the end every operation is applied exactly once, the
document holds every item with its last value, revisions only grow, and SQLite's integrity
check is ok. Run from the repository root (the optional argument is the number of kills):

    python3 tests/backend/test_kill_during_saves.py [KILLS]
    python3 -m unittest tests/backend/test_kill_during_saves.py -v
"""

import http.client
import json
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from load_clients import create_task, op, rect  # noqa: E402
from test_serve import TEST_DB, ServerPerTest  # noqa: E402

KILLS = 12
OPS_PER_REQUEST = 4
REQUEST_TIMEOUT = 3  # seconds a save may take before the client gives up on that attempt
TASK = "kill"


class Saver:
    """The client: numbered batches of creates and updates, each retried until it gets a 200."""

    def __init__(self):
        self.address = None          # (host, port) of the running server, None while it is down
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent = []               # [(op_id, item id, value)] of every batch that got its 200
        self.revisions = []          # revision of each 200, in order
        self.attempts = 0
        self.unanswered = 0
        self.error = None

    def set_address(self, address):
        with self.lock:
            self.address = address

    def batch(self, n):
        """Batch n: creates two items and updates two earlier ones (the same every time it is sent)."""
        ops = []
        for k in range(OPS_PER_REQUEST):
            op_id = f"b{n}.{k}"
            if k < 2 or n == 0:
                item, value = f"i{n}.{k}", rect(f"i{n}.{k}", x=n)
                ops.append(op(op_id, "create", item, value))
            else:
                item, value = f"i{n - 1}.{k - 2}", rect(f"i{n - 1}.{k - 2}", x=1000 + n)
                ops.append(op(op_id, "update", item, value))
        return ops

    def run(self):
        try:
            n, base = 0, 0
            while not self.stop.is_set():
                ops = self.batch(n)
                body = json.dumps({"base_revision": base, "user": "kill", "device": "kill-dev",
                                   "operations": ops}).encode("utf-8")
                while not self.stop.is_set():
                    reply = self.send(body)
                    if reply is not None:
                        break
                    self.unanswered += 1
                    time.sleep(0.05)
                else:
                    return
                if sorted(reply["applied"] + reply["duplicates"]) != sorted(o["op_id"] for o in ops):
                    raise AssertionError(f"batch {n}: reply names other operations: {reply}")
                self.sent += [(o["op_id"], o["id"], o["value"]) for o in ops]
                self.revisions.append(reply["revision"])
                base = reply["revision"]
                n += 1
        except Exception as e:  # noqa: BLE001 (reported by the test thread)
            self.error = e

    def send(self, body):
        """The parsed 200 reply, or None when there was no answer (server down or killed)."""
        with self.lock:
            address = self.address
        if address is None:
            return None
        self.attempts += 1
        conn = http.client.HTTPConnection(*address, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("PATCH", f"/api/tasks/{TASK}/annotations", body=body,
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        if resp.status in (502, 503, 504):
            return None
        if resp.status != 200:
            raise AssertionError(f"a save got {resp.status}: {data[:300]!r}")
        return json.loads(data)


def get_json(address, path):
    conn = http.client.HTTPConnection(*address, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise AssertionError(f"GET {path}: {resp.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


class KillDuringSavesTest(ServerPerTest, unittest.TestCase):
    kills = KILLS
    tmp_prefix = "pm-kill-"

    def start(self):
        server = self.start_serving()
        return (server.host, server.port)

    def test_sigkill_during_saves_loses_nothing_and_duplicates_nothing(self):
        address = self.start()
        create_task(*address, TASK)
        saver = Saver()
        saver.set_address(address)
        client = threading.Thread(target=saver.run, daemon=True)
        client.start()
        rng = random.Random(21)
        for _ in range(self.kills):
            time.sleep(rng.uniform(0.1, 0.5))  # saves are flowing: the kill lands in or between them
            saver.set_address(None)
            os.kill(self.server.proc.pid, signal.SIGKILL)
            self.server.proc.wait(10)
            self.server.stop()
            saver.set_address(self.start())
        time.sleep(0.5)
        saver.stop.set()
        client.join(30)
        self.assertIsNone(saver.error)
        self.assertGreater(len(saver.revisions), self.kills, "too few saves went through to prove anything")
        address = (self.server.host, self.server.port)

        history = get_json(address, f"/api/tasks/{TASK}/history?after=0")["entries"]
        ids = [e["op_id"] for e in history]
        sent_ids = [op_id for op_id, _, _ in saver.sent]
        self.assertEqual(sorted(set(ids)), sorted(ids), "an operation was applied twice")
        self.assertTrue(set(sent_ids) <= set(ids),
                        f"lost operations: {sorted(set(sent_ids) - set(ids))[:10]}")
        # Operations of a batch still unanswered when the client stopped may be applied, nothing else.
        extra = set(ids) - set(sent_ids)
        self.assertTrue(all(i.startswith(f"b{len(saver.revisions)}.") for i in extra), sorted(extra))
        revisions = [e["revision"] for e in history]
        self.assertEqual(revisions, sorted(revisions))
        self.assertEqual(saver.revisions, sorted(set(saver.revisions)), "revisions did not strictly grow")

        expected = {}
        for _, item, value in saver.sent:
            expected[item] = value
        objects = get_json(address, f"/api/tasks/{TASK}/annotations")["document"]["objects"]
        stored = {o["id"]: o for o in objects}
        self.assertEqual(len(stored), len(objects), "an item appears twice in the document")
        for item, value in expected.items():
            self.assertEqual(stored.get(item, {}).get("points"), value["points"], item)

        self.server.stop()
        if TEST_DB == "sqlite":
            conn = sqlite3.connect(self.db)
            try:
                self.assertEqual(conn.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            finally:
                conn.close()
        print(f"\n  {self.kills} kills, {len(saver.revisions)} saves ({len(sent_ids)} operations), "
              f"{saver.unanswered} unanswered attempts retried", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].isdigit():
        KillDuringSavesTest.kills = int(sys.argv.pop(1))
    unittest.main()
