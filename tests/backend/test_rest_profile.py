"""The `rest` backend profile (profiles/rest.json) against a real json-server 0.17.4 from npm
(package.json devDependencies): a backend nobody here wrote, driven by a profile and no code.

The test starts json-server on a free port with an empty db.json in a temporary folder, then
runs the hidden Catch2 case "[json-server]" of polymark_unit_tests, which builds every request
with pm::to_backend from the profile, sends it over HTTP, reads the collections back through
pm::from_backend and checks create, update and delete item by item; and, on a fresh server,
"[json-server-sync]": the unchanged SyncEngine saving through pm::ProfileSync, with a lost reply
and a late one, then another client's change arriving by catch-up.
Needs POLYMARK_UNIT_TESTS (the test binary; ctest sets it) and `npm install` done at the root.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JSON_SERVER = os.path.join(ROOT, "node_modules", ".bin", "json-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RestProfileAgainstJsonServer(unittest.TestCase):
    def setUp(self):
        self.binary = os.environ.get("POLYMARK_UNIT_TESTS")
        if not self.binary or not os.path.exists(self.binary):
            self.fail("POLYMARK_UNIT_TESTS must name the built polymark_unit_tests")
        if not os.path.exists(JSON_SERVER):
            self.fail("json-server is missing: run `npm install` at the repository root")
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "db.json")
        with open(self.db, "w") as f:
            json.dump({"objects": [], "tracks": []}, f)
        self.port = free_port()
        self.server = subprocess.Popen(
            [JSON_SERVER, self.db, "--port", str(self.port), "--host", "127.0.0.1", "--quiet"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.dir.name)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/db", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                out = self.server.stdout.read().decode(errors="replace") if self.server.stdout else ""
                self.fail(f"json-server did not start: {out}")
            time.sleep(0.2)

    def tearDown(self):
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()
        if self.server.stdout:
            self.server.stdout.close()
        self.dir.cleanup()

    def test_create_update_delete_through_the_profile_read_back_equal(self):
        env = dict(os.environ, POLYMARK_JSON_SERVER_PORT=str(self.port))
        run = subprocess.run([self.binary, "[json-server]"], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("All tests passed", run.stdout)
        # What json-server persisted is Polymark JSON, unchanged by the trip: the deleted items are
        # gone and the updated rectangle holds its new points.
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/db", timeout=5) as r:
            db = json.load(r)
        self.assertEqual(db["tracks"], [])
        self.assertEqual([o["id"] for o in db["objects"]], ["r1"])
        self.assertEqual(db["objects"][0]["points"], [11, 21, 111, 71])

    def test_the_sync_engine_through_profile_sync_leaves_the_client_document(self):
        env = dict(os.environ, POLYMARK_JSON_SERVER_PORT=str(self.port))
        run = subprocess.run([self.binary, "[json-server-sync]"], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("All tests passed", run.stdout)
        # Each item once (a lost create reply did not make a second r1 or p1), p1 deleted, and r1
        # as the other client left it (the client took it by catch-up).
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/db", timeout=5) as r:
            db = json.load(r)
        self.assertEqual([o["id"] for o in db["objects"]], ["r1"])
        self.assertEqual(db["objects"][0]["points"], [300, 10, 340, 30])
        self.assertEqual([t["id"] for t in db["tracks"]], ["t1"])

    def test_the_profile_declares_last_writer_wins(self):
        with open(os.path.join(ROOT, "profiles", "rest.json")) as f:
            profile = json.load(f)
        self.assertFalse(profile["guarantees"]["conflicts"]["kept"])
        self.assertTrue(profile["guarantees"]["conflicts"]["why"])


if __name__ == "__main__":
    unittest.main()
