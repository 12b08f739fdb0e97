"""tools/cluster.py: PostgreSQL, 2 serve.py and nginx in front, under simulated labelers.

20 labelers of bench/load_labelers.py save through nginx for 20 s while one serve.py hangs with
requests in flight (SIGSTOP), is SIGKILLed and started again: nginx must send every request the
dead process held to the other one (saves included: they carry op ids), so no labeler sees a
failed request, and reading the database back finds every acknowledged op once and nothing else.
Then the static files: content-hashed names cached as immutable, the rest revalidated, the
build's .gz and .br sent as they are. Skipped only when nginx is not installed.
"""

import asyncio
import gzip
import http.client
import os
import shutil
import sys
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import cluster  # noqa: E402
import load_labelers  # noqa: E402

HASHED = "polymark_app.0123456789abcdef.wasm"
HASHED_FONT = "fonts/ui-latin.fedcba9876543210.ttf"
IMMUTABLE = "public, max-age=31536000, immutable"


def make_dist(root):
    """A small build: the page, polymark.js with its .gz and .br, hashed files."""
    dist = os.path.join(root, "dist")
    os.makedirs(os.path.join(dist, "fonts"))
    files = {"index.html": b"<!doctype html><title>p</title>", "polymark.js": b"var Polymark = 1;\n" * 200,
             "sw.js": b"self.x = 1;\n", HASHED: b"\0asm\1\0\0\0", HASHED_FONT: b"\0\1\0\0font"}
    for name, data in files.items():
        with open(os.path.join(dist, name), "wb") as f:
            f.write(data)
    with open(os.path.join(dist, "polymark.js.gz"), "wb") as f:
        f.write(gzip.compress(files["polymark.js"]))
    with open(os.path.join(dist, "polymark.js.br"), "wb") as f:
        f.write(b"not really brotli, but nginx sends it as it is")
    return dist


@unittest.skipIf(cluster.nginx_available(), f"{cluster.nginx_available()}: the cluster test needs Debian's nginx")
class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-cluster-")
        os.chmod(cls.tmp, 0o711)  # run by root, PostgreSQL and nginx's workers run as other users
        cls.dist = make_dist(cls.tmp)
        try:
            cls.system = load_labelers.ClusterSystem(os.path.join(cls.tmp, "c"), 2, cls.dist, durable=False).start()
        except BaseException:  # tearDownClass does not run after a failed setUpClass
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.c = cls.system.c

    @classmethod
    def tearDownClass(cls):
        cls.system.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.c.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            reply = conn.getresponse()
            return reply.status, dict((k.lower(), v) for k, v in reply.getheaders()), reply.read()
        finally:
            conn.close()

    def test_a_killed_worker_costs_labelers_nothing_and_nothing_is_lost_or_doubled(self):
        args = types.SimpleNamespace(url=None, sqlite=False, workers=2, labelers=20, seconds=20.0,
                                     edits_per_job=5, labelers_per_task=10, faults=True, seed=7,
                                     fault_plan=[(8.0, "hang-kill", 0)], verbose=False)
        r = asyncio.run(load_labelers.run(args, self.system))
        self.assertEqual([w[2] for w in r["fault_windows"]], ["SIGSTOP, SIGKILL serve.py 0 + restart"])
        self.assertGreater(r["saves_slower_than_hang"], 0,
                           "no save was in flight in the hung process: the fault tested nothing")
        self.assertEqual(r["errors"], {}, "nginx must resend what the killed process held to the other one")
        self.assertGreater(r["ops_acknowledged"], 200)
        self.assertEqual(r["ops_acknowledged"], r["ops_sent"])
        self.assertEqual(r["ops_lost"], 0)
        self.assertEqual(r["ops_duplicated"], 0)
        self.assertEqual(r["ops_unknown"], 0)
        self.assertEqual(r["ops_logged_unacknowledged"], 0)
        self.assertEqual(r["objects_wrong"], 0)
        self.assertEqual(r["clients_unsynced"], 0)
        self.assertGreater(r["jobs_submitted"], 20)
        status, _, body = self.get("/api/tasks")
        self.assertEqual(status, 200, "the restarted worker and the other one still answer through nginx")

    def test_static_files_hashed_names_are_immutable_the_rest_revalidated(self):
        for path, expected in (("/", "no-cache"), ("/index.html", "no-cache"), ("/polymark.js", "no-cache"),
                               ("/sw.js", "no-cache"), ("/" + HASHED, IMMUTABLE), ("/" + HASHED_FONT, IMMUTABLE)):
            status, headers, _ = self.get(path)
            self.assertEqual(status, 200, path)
            self.assertEqual(headers.get("cache-control"), expected, path)
        status, headers, _ = self.get("/polymark_app.0123456789ABCDEF.wasm")
        self.assertEqual(status, 404)
        self.assertEqual(self.get("/" + HASHED)[1].get("content-type"), "application/wasm")

    def test_the_builds_precompressed_files_are_sent(self):
        status, headers, body = self.get("/polymark.js", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, headers.get("content-encoding")), (200, "gzip"))
        self.assertEqual(gzip.decompress(body), b"var Polymark = 1;\n" * 200)
        status, headers, body = self.get("/polymark.js")
        self.assertEqual((headers.get("content-encoding"), body), (None, b"var Polymark = 1;\n" * 200))
        if os.path.exists(cluster.BROTLI_MODULE):
            status, headers, body = self.get("/polymark.js", {"Accept-Encoding": "br, gzip"})
            self.assertEqual((headers.get("content-encoding"), body[:10]), ("br", b"not really"))


if __name__ == "__main__":
    unittest.main()
