"""Behaviour tests of serve.py over real HTTP (standard library only).

Each test class starts its own serve.py subprocess on an ephemeral port with a
temporary database, web directory and imported task, so classes can run in
parallel. Run from the repository root:

    python3 -m unittest tests/backend/test_serve.py -v

The server runs under the interpreter running the tests, or under
$POLYMARK_SERVE_PYTHON when that is set.
"""

import atexit
import brotli  # Debian python3-brotli, as serve.py uses
import gzip
import hashlib
import http.client
import importlib.util
import json
import os
import queue
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
# $POLYMARK_SERVE_SCRIPT runs the suites against another serve.py (e.g. the last commit's, to see a test fail).
SERVE = os.environ.get("POLYMARK_SERVE_SCRIPT") or os.path.normpath(os.path.join(HERE, "..", "..", "serve.py"))
PYTHON = os.environ.get("POLYMARK_SERVE_PYTHON") or sys.executable
START_TIMEOUT = 30
EMPTY_DOC = {"format": "polymark.annotations", "version": 1, "objects": [], "tracks": []}
SECRET = "TOP-SECRET-7f3a9c"
# $POLYMARK_TEST_DB=postgresql runs the suites on PostgreSQL: every --db file a test gives serve.py
# becomes a database of one throwaway cluster (tools/pg_cluster.py), started on first use.
TEST_DB = os.environ.get("POLYMARK_TEST_DB") or "sqlite"
sqlite_only = unittest.skipIf(TEST_DB != "sqlite", "reads or writes the SQLite file itself")


# --------------------------------------------------------------------------- fixtures

def make_png(width, height, rgb):
    """A valid RGB PNG of one colour, built by hand (zlib + struct)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def pseudo_random_bytes(n, seed=12345):
    """Deterministic incompressible-ish bytes (a linear congruential generator)."""
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (1103515245 * x + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return bytes(out)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def write_json(path, value):
    write(path, json.dumps(value, indent=2))


# The schema version this serve.py writes (9: the work queue).
SCHEMA_VERSION = 9
# What makes a version 9 SQLite file one of version 8 (the upgrade tests go further back from there).
UNDO_V9 = ("DROP TABLE queue_users", "DROP TABLE queue_skips",
           *(f"ALTER TABLE jobs DROP COLUMN {c}" for c in ("priority", "lease_user", "lease_until")))
PNG_A = make_png(4, 3, (255, 0, 0))
PNG_B = make_png(2, 2, (0, 128, 255))
# An MP4's leading ftyp box (serve.py accepts media by their bytes), then filler.
MP4_FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
MP4 = MP4_FTYP + pseudo_random_bytes(24 * 1024 - len(MP4_FTYP))
WEBM_EBML = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm"
ANNOTATIONS = {"format": "polymark.annotations", "version": 1,
               "objects": [{"id": "o1", "type": "rectangle", "frame": 0, "label": "cat",
                            "points": [0.5, 0.5, 3.25, 2.0]}],
               "tracks": [], "meta": {"note": "héllo"}}


def demo_task_json():
    return {"format": "polymark.task", "version": 1, "id": "demo", "name": "Demo task",
            "media": [{"id": "a", "type": "image", "file": "a.png", "width": 4, "height": 3},
                      {"id": "b", "type": "image", "file": "sub/b.png", "name": "Bee"},
                      {"id": "clip", "type": "video", "file": "clip.mp4", "frames": 90, "fps": 30}],
            "labels": [{"id": "cat", "name": "Cat", "color": "#e6194b", "types": ["rectangle"]}],
            "settings": {"clamp": "clip"}}


def make_demo_dir(root):
    d = os.path.join(root, "demo-task")
    write(os.path.join(d, "a.png"), PNG_A)
    write(os.path.join(d, "sub", "b.png"), PNG_B)
    write(os.path.join(d, "clip.mp4"), MP4)
    write_json(os.path.join(d, "task.json"), demo_task_json())
    write_json(os.path.join(d, "annotations.json"), ANNOTATIONS)
    return d


def make_second_dir(root):
    """A task without annotations.json and a video of unknown length."""
    d = os.path.join(root, "second-task")
    write(os.path.join(d, "only.png"), PNG_B)
    write(os.path.join(d, "v.webm"), WEBM_EBML + bytes(100))
    write_json(os.path.join(d, "task.json"), {
        "format": "polymark.task", "version": 1, "id": "second.2", "name": "Second",
        "media": [{"id": "p", "type": "image", "file": "only.png"},
                  {"id": "v", "type": "video", "file": "v.webm"}]})
    return d


# --------------------------------------------------------------------------- server process

_pg = {"cluster": None, "databases": {}}
_pg_lock = threading.Lock()


def postgres_cluster():
    """The cluster of this test process (started on first use, stopped at exit)."""
    with _pg_lock:
        if _pg["cluster"] is None:
            sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
            import pg_cluster
            _pg["cluster"] = pg_cluster.Cluster().start()
            atexit.register(_pg["cluster"].stop)
        return _pg["cluster"]


def postgres_url(db_path):
    """The database standing for the SQLite file ``db_path``: the same one for every start on it."""
    cluster = postgres_cluster()
    with _pg_lock:
        if db_path not in _pg["databases"]:
            name = "pm_" + hashlib.sha1(os.path.abspath(db_path).encode()).hexdigest()[:20]
            _pg["databases"][db_path] = cluster.create_database(name)
        return _pg["databases"][db_path]


def db_query(db_path, sql):
    """Run ``sql`` on the database serve.py keeps for ``db_path`` (the SQLite file, or its PostgreSQL
    database) and commit; the rows of a query, else []."""
    if TEST_DB == "postgresql":
        import psycopg
        with psycopg.connect(postgres_url(db_path), autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(sql).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def store_location(db_path):
    """What serve.py's --db names for ``db_path`` under the store being tested."""
    return postgres_url(db_path) if TEST_DB == "postgresql" else db_path


def store_args(args):
    """serve.py's arguments for the store under test: on PostgreSQL, ``--db FILE`` becomes the URL of
    FILE's database and media stay where they would be beside FILE."""
    args = list(args)
    if TEST_DB != "postgresql" or "--db" not in args:
        return args
    at = args.index("--db") + 1
    path = args[at]
    args[at] = postgres_url(path)
    if "--media-root" not in args:
        args += ["--media-root", os.path.join(os.path.dirname(os.path.abspath(path)), "media")]
    return args


class ServerProcess:
    """serve.py as a subprocess; stderr goes to a file for later inspection."""

    def __init__(self, workdir, args):
        self.stderr_path = os.path.join(workdir, "stderr-%d.log" % time.monotonic_ns())
        self.args = store_args(args)
        self.proc = None
        self.url = None

    def start(self):
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([PYTHON, SERVE, "--port", "0", *self.args],
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise AssertionError("serve.py printed nothing in %ds: %s" % (START_TIMEOUT, self.stderr()))
        prefix = "polymark: serving "
        if not line.startswith(prefix) or not line.endswith("/\n"):
            self.stop()
            raise AssertionError("unexpected first line %r; stderr: %s" % (line, self.stderr()))
        self.url = line[len(prefix):].strip()
        parts = urllib.parse.urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
        self._stderr.close()
        return self.proc.returncode

    def stderr(self):
        with open(self.stderr_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()


def stop_serving(server, tmp):
    """Stop serve.py, remove its folder, and fail when it logged a traceback: every request must
    be answered on purpose, none by an exception that slipped through."""
    server.stop()
    log = server.stderr()
    shutil.rmtree(tmp, ignore_errors=True)
    if "Traceback" in log:
        raise AssertionError("serve.py logged a traceback:\n" + log)


class ServerPerTest:
    """A folder and database of its own for each test; start_serving() runs serve.py on them (again
    after a stop, on the same database), and tearDown stops it and removes the folder."""

    tmp_prefix = "pm-test-"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.tmp_prefix)
        self.db = os.path.join(self.tmp, "db", "polymark.sqlite")
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start_serving(self, *args):
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.tmp, "--quiet", *args]).start()
        return self.server


def run_serve(args, timeout=30):
    """Run serve.py to completion (for imports that must fail before serving)."""
    return subprocess.run([PYTHON, SERVE, "--port", "0", "--quiet", *store_args(args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)


class HttpMixin:
    """Small HTTP helpers bound to cls.server."""

    def connect(self):
        return http.client.HTTPConnection(self.server.host, self.server.port, timeout=15)

    def request(self, method, path, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, resp.headers, body
        finally:
            if own:
                conn.close()

    def get_json(self, path, expect_status=200):
        status, headers, body = self.request("GET", path)
        self.assertEqual(status, expect_status, body)
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(int(headers["Content-Length"]), len(body))
        return json.loads(body.decode("utf-8")), headers

    def raw_request(self, request_bytes):
        """Send bytes as they are; return the status code of the reply."""
        with socket.create_connection((self.server.host, self.server.port), timeout=15) as s:
            s.sendall(request_bytes)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
        return int(data.split(b" ", 2)[1]), data


# --------------------------------------------------------------------------- main server

class ServeTest(HttpMixin, unittest.TestCase):
    """One server with two imported tasks and a small web directory."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-serve-")
        t = cls.tmp
        cls.web = os.path.join(t, "web")
        cls.index_html = "<!doctype html><title>Polymark</title><script src=app.js></script>\n" * 20
        cls.app_js = ("export function hello(name) { return 'hello ' + name; }\n" * 200).encode()
        cls.wasm = b"\x00asm\x01\x00\x00\x00" + bytes(range(256)) * 64 + b"\x00" * 4096
        cls.big = pseudo_random_bytes(4 * 1024 * 1024, seed=7)
        write(os.path.join(cls.web, "index.html"), cls.index_html)
        write(os.path.join(cls.web, "app.js"), cls.app_js)
        write(os.path.join(cls.web, "polymark.wasm"), cls.wasm)
        write(os.path.join(cls.web, "style.css"), "body { margin: 0 }\n" * 50)
        write(os.path.join(cls.web, "sub", "index.html"), "<p>sub</p>")
        write(os.path.join(cls.web, "big.bin"), cls.big)
        write(os.path.join(cls.web, "empty.mp4"), b"")
        write(os.path.join(cls.web, ".hidden"), SECRET)
        write(os.path.join(t, "secret.txt"), SECRET)
        write(os.path.join(t, "serve.py"), SECRET)
        os.symlink(os.path.join(t, "secret.txt"), os.path.join(cls.web, "escape.txt"))
        os.symlink(t, os.path.join(cls.web, "escape-dir"))
        os.symlink(os.path.join(cls.web, "app.js"), os.path.join(cls.web, "alias.js"))
        cls.db = os.path.join(t, "db", "polymark.sqlite")
        cls.demo_dir = make_demo_dir(t)
        cls.second_dir = make_second_dir(t)
        cls.server = ServerProcess(t, ["--db", cls.db, "--web", cls.web,
                                       "--import", cls.demo_dir, "--import", cls.second_dir]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.stderr()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if "Traceback" in log:
            raise AssertionError("serve.py logged a traceback:\n" + log)

    # ---- startup and storage

    def test_prints_loopback_url(self):
        self.assertEqual(self.server.host, "127.0.0.1")
        self.assertEqual(self.server.url, "http://127.0.0.1:%d/" % self.server.port)

    @sqlite_only
    def test_database_schema_version_and_wal(self):
        conn = sqlite3.connect(self.db)
        try:
            self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
            self.assertEqual(conn.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        finally:
            conn.close()

    def test_media_copied_under_db_dir(self):
        media = os.path.join(os.path.dirname(self.db), "media", "demo")
        with open(os.path.join(media, "sub", "b.png"), "rb") as f:
            self.assertEqual(f.read(), PNG_B)

    # ---- API

    def test_lists_tasks(self):
        body, _ = self.get_json("/api/tasks")
        self.assertEqual(body, {"tasks": [
            {"id": "demo", "name": "Demo task", "media_count": 3, "frames": 92},
            {"id": "second.2", "name": "Second", "media_count": 2, "frames": 1}]})

    def test_task_json_has_rewritten_media_urls(self):
        body, _ = self.get_json("/api/tasks/demo")
        expected = demo_task_json()
        expected["media"] = [
            {"id": "a", "type": "image", "url": "/media/demo/a.png", "name": "a.png",
             "width": 4, "height": 3},
            {"id": "b", "type": "image", "url": "/media/demo/sub/b.png", "name": "Bee"},
            {"id": "clip", "type": "video", "url": "/media/demo/clip.mp4", "name": "clip.mp4",
             "frames": 90, "fps": 30}]
        self.assertEqual(body, expected)

    def test_task_media_urls_serve_the_files(self):
        body, _ = self.get_json("/api/tasks/demo")
        wanted = {"a": PNG_A, "b": PNG_B, "clip": MP4}
        for m in body["media"]:
            with self.subTest(url=m["url"]):
                status, headers, data = self.request("GET", m["url"])
                self.assertEqual(status, 200)
                self.assertEqual(data, wanted[m["id"]])

    def test_annotations_from_import_at_revision_0(self):
        body, headers = self.get_json("/api/tasks/demo/annotations")
        self.assertEqual(body, {"revision": 0, "document": ANNOTATIONS})
        self.assertEqual(headers["ETag"], '"rev-0"')

    def test_annotations_default_to_empty_document(self):
        body, headers = self.get_json("/api/tasks/second.2/annotations")
        self.assertEqual(body, {"revision": 0, "document": EMPTY_DOC})
        self.assertEqual(headers["ETag"], '"rev-0"')

    def test_annotations_if_none_match_304(self):
        status, headers, body = self.request("GET", "/api/tasks/demo/annotations",
                                             {"If-None-Match": '"rev-0"'})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(headers["ETag"], '"rev-0"')

    def test_unknown_task_404_json(self):
        for path in ("/api/tasks/nope", "/api/tasks/nope/annotations"):
            with self.subTest(path=path):
                body, _ = self.get_json(path, expect_status=404)
                self.assertEqual(body, {"error": {"code": "not_found",
                                                  "message": "task 'nope' not found"}})

    def test_unknown_api_route_404_json(self):
        for path in ("/api", "/api/nope", "/api/tasks/demo/other", "/api/tasks/demo/annotations/x"):
            with self.subTest(path=path):
                body, _ = self.get_json(path, expect_status=404)
                self.assertEqual(body["error"]["code"], "not_found")

    def test_wrong_method_405_with_allow(self):
        for method, path, allow in (("DELETE", "/api/tasks", "GET, HEAD, POST"),
                                    ("DELETE", "/api/tasks/demo", "GET, HEAD"),
                                    ("POST", "/api/tasks/demo/annotations", "GET, HEAD, PUT, PATCH"),
                                    ("PUT", "/api/tasks/demo/history", "GET, HEAD"),
                                    ("POST", "/app.js", "GET, HEAD")):
            with self.subTest(method=method, path=path):
                status, headers, body = self.request(method, path)
                self.assertEqual(status, 405)
                self.assertEqual(headers["Allow"], allow)
                if path.startswith("/api/"):
                    self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")
                    self.assertEqual(json.loads(body)["error"]["code"], "method_not_allowed")

    def test_head_on_api(self):
        _, _, get_body = self.request("GET", "/api/tasks")
        status, headers, body = self.request("HEAD", "/api/tasks")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(int(headers["Content-Length"]), len(get_body))
        self.assertEqual(headers["Content-Type"], "application/json; charset=utf-8")

    # ---- static files and MIME types

    def test_root_serves_index_html(self):
        status, headers, body = self.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(body.decode(), self.index_html)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-cache")

    def test_directory_redirect_and_index(self):
        status, headers, _ = self.request("GET", "/sub?x=1")
        self.assertEqual(status, 301)
        self.assertEqual(headers["Location"], "/sub/?x=1")
        status, _, body = self.request("GET", "/sub/")
        self.assertEqual((status, body), (200, b"<p>sub</p>"))

    def test_mime_types(self):
        cases = [("/polymark.wasm", "application/wasm"),
                 ("/app.js", "text/javascript; charset=utf-8"),
                 ("/style.css", "text/css; charset=utf-8"),
                 ("/index.html", "text/html; charset=utf-8"),
                 ("/big.bin", "application/octet-stream"),
                 ("/media/demo/a.png", "image/png"),
                 ("/media/demo/clip.mp4", "video/mp4"),
                 ("/media/second.2/v.webm", "video/webm")]
        for path, mime in cases:
            with self.subTest(path=path):
                status, headers, _ = self.request("HEAD", path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["Content-Type"], mime)
                self.assertEqual(headers["Accept-Ranges"], "bytes")

    def test_cache_control(self):
        self.assertEqual(self.request("HEAD", "/app.js")[1]["Cache-Control"], "no-cache")
        self.assertEqual(self.request("HEAD", "/media/demo/a.png")[1]["Cache-Control"], "max-age=3600")

    def test_missing_files_404(self):
        for path in ("/nope.js", "/media/demo/nope.png", "/media/nope/a.png", "/media/demo"):
            with self.subTest(path=path):
                self.assertEqual(self.request("GET", path)[0], 404)

    def test_head_on_file(self):
        conn = self.connect()
        try:
            status, headers, body = self.request("HEAD", "/media/demo/clip.mp4", conn=conn)
            self.assertEqual((status, body), (200, b""))
            self.assertEqual(int(headers["Content-Length"]), len(MP4))
            self.assertIn("ETag", headers)
            self.assertIn("Last-Modified", headers)
            # The connection stays usable: HEAD sent no stray body bytes.
            status, _, body = self.request("GET", "/media/demo/a.png", conn=conn)
            self.assertEqual((status, body), (200, PNG_A))
        finally:
            conn.close()

    # ---- ranges

    def get_range(self, path, range_value, extra=None):
        headers = {"Range": range_value}
        headers.update(extra or {})
        return self.request("GET", path, headers)

    def test_range_closed(self):
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=100-1123")
        self.assertEqual(status, 206)
        self.assertEqual(headers["Content-Range"], "bytes 100-1123/%d" % len(MP4))
        self.assertEqual(int(headers["Content-Length"]), 1024)
        self.assertEqual(body, MP4[100:1124])

    def test_range_suffix(self):
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=-500")
        self.assertEqual(status, 206)
        self.assertEqual(headers["Content-Range"], "bytes %d-%d/%d" % (len(MP4) - 500, len(MP4) - 1, len(MP4)))
        self.assertEqual(body, MP4[-500:])

    def test_range_open_ended(self):
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=20000-")
        self.assertEqual(status, 206)
        self.assertEqual(headers["Content-Range"], "bytes 20000-%d/%d" % (len(MP4) - 1, len(MP4)))
        self.assertEqual(body, MP4[20000:])

    def test_range_end_clamped_and_single_byte(self):
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=24000-99999999")
        self.assertEqual((status, body), (206, MP4[24000:]))
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=0-0")
        self.assertEqual((status, body), (206, MP4[:1]))
        self.assertEqual(headers["Content-Range"], "bytes 0-0/%d" % len(MP4))

    def test_range_unsatisfiable_416(self):
        for value in ("bytes=%d-" % len(MP4), "bytes=99999-100000", "bytes=-0"):
            with self.subTest(range=value):
                status, headers, _ = self.get_range("/media/demo/clip.mp4", value)
                self.assertEqual(status, 416)
                self.assertEqual(headers["Content-Range"], "bytes */%d" % len(MP4))

    def test_range_suffix_longer_than_file_is_whole_file(self):
        status, headers, body = self.get_range("/media/demo/clip.mp4", "bytes=-%d" % (10 * len(MP4)))
        self.assertEqual((status, body), (206, MP4))
        self.assertEqual(headers["Content-Range"], "bytes 0-%d/%d" % (len(MP4) - 1, len(MP4)))

    def test_range_on_empty_file_416(self):
        # How a client learns that a video is empty: a first ranged read answered 416 with the size.
        for value in ("bytes=0-65535", "bytes=0-", "bytes=-10"):
            with self.subTest(range=value):
                status, headers, body = self.get_range("/empty.mp4", value)
                self.assertEqual((status, body), (416, b""))
                self.assertEqual(headers["Content-Range"], "bytes */0")

    def test_ranged_replies_carry_accept_ranges_and_no_gzip(self):
        for value, status in (("bytes=0-99", 206), ("bytes=%d-" % len(MP4), 416)):
            with self.subTest(range=value):
                got, headers, _ = self.get_range("/media/demo/clip.mp4", value, {"Accept-Encoding": "gzip"})
                self.assertEqual(got, status)
                self.assertEqual(headers["Accept-Ranges"], "bytes")
                self.assertNotIn("Content-Encoding", headers)

    def test_head_with_range(self):
        conn = self.connect()
        try:
            status, headers, body = self.request("HEAD", "/media/demo/clip.mp4", {"Range": "bytes=10-19"}, conn=conn)
            self.assertEqual((status, body), (206, b""))
            self.assertEqual(headers["Content-Range"], "bytes 10-19/%d" % len(MP4))
            self.assertEqual(int(headers["Content-Length"]), 10)
            status, headers, body = self.request("HEAD", "/media/demo/clip.mp4", {"Range": "bytes=%d-" % len(MP4)}, conn=conn)
            self.assertEqual((status, body), (416, b""))
            self.assertEqual(headers["Content-Range"], "bytes */%d" % len(MP4))
            # No stray body bytes: the connection still serves the next request.
            status, _, body = self.request("GET", "/media/demo/clip.mp4", {"Range": "bytes=0-3"}, conn=conn)
            self.assertEqual((status, body), (206, MP4[:4]))
        finally:
            conn.close()

    def test_range_ignored_when_multiple_or_malformed(self):
        for value in ("bytes=0-1,5-9", "items=0-5", "bytes=9-2"):
            with self.subTest(range=value):
                status, _, body = self.get_range("/media/demo/clip.mp4", value)
                self.assertEqual((status, body), (200, MP4))

    def test_if_range(self):
        etag = self.request("HEAD", "/media/demo/clip.mp4")[1]["ETag"]
        status, _, body = self.get_range("/media/demo/clip.mp4", "bytes=0-9", {"If-Range": etag})
        self.assertEqual((status, body), (206, MP4[:10]))
        status, _, body = self.get_range("/media/demo/clip.mp4", "bytes=0-9", {"If-Range": '"stale"'})
        self.assertEqual((status, body), (200, MP4))

    def test_range_on_large_file(self):
        start = 3 * 1024 * 1024 + 17
        status, _, body = self.get_range("/big.bin", "bytes=%d-%d" % (start, start + 300000))
        self.assertEqual((status, body), (206, self.big[start:start + 300001]))

    # ---- gzip

    def test_gzip_js_and_wasm(self):
        for path, raw in (("/app.js", self.app_js), ("/polymark.wasm", self.wasm)):
            with self.subTest(path=path):
                status, headers, body = self.request("GET", path, {"Accept-Encoding": "gzip, deflate"})
                self.assertEqual(status, 200)
                self.assertEqual(headers["Content-Encoding"], "gzip")
                self.assertEqual(headers["Vary"], "Accept-Encoding")
                self.assertEqual(int(headers["Content-Length"]), len(body))
                self.assertLess(len(body), len(raw))
                self.assertEqual(gzip.decompress(body), raw)
                # Served again from the cache: same bytes.
                self.assertEqual(self.request("GET", path, {"Accept-Encoding": "gzip"})[2], body)

    def test_no_gzip_when_not_accepted(self):
        for accept in (None, "identity", "gzip;q=0", "br"):
            with self.subTest(accept=accept):
                headers = {"Accept-Encoding": accept} if accept else {}
                status, resp, body = self.request("GET", "/app.js", headers)
                self.assertEqual(status, 200)
                self.assertIsNone(resp["Content-Encoding"])
                self.assertEqual(resp["Vary"], "Accept-Encoding")
                self.assertEqual(body, self.app_js)

    def test_no_gzip_when_ranged(self):
        status, headers, body = self.get_range("/app.js", "bytes=10-19", {"Accept-Encoding": "gzip"})
        self.assertEqual(status, 206)
        self.assertIsNone(headers["Content-Encoding"])
        self.assertEqual(body, self.app_js[10:20])

    def test_no_gzip_for_images_and_video(self):
        for path in ("/media/demo/a.png", "/media/demo/clip.mp4"):
            with self.subTest(path=path):
                _, headers, _ = self.request("GET", path, {"Accept-Encoding": "gzip"})
                self.assertIsNone(headers["Content-Encoding"])

    def test_gzip_cache_follows_file_changes(self):
        path = os.path.join(self.web, "changing.js")
        write(path, "var v = 1;\n" * 100)
        _, _, first = self.request("GET", "/changing.js", {"Accept-Encoding": "gzip"})
        self.assertEqual(gzip.decompress(first), b"var v = 1;\n" * 100)
        write(path, "var v = 22;\n" * 100)
        _, _, second = self.request("GET", "/changing.js", {"Accept-Encoding": "gzip"})
        self.assertEqual(gzip.decompress(second), b"var v = 22;\n" * 100)

    def test_the_builds_precompressed_file_is_sent_when_it_holds_the_file(self):
        # Marked bytes in the .gz prove which one was sent: the build's (tools/precompress.py),
        # older or newer than its source alike, as long as it decompresses to the source.
        source = os.path.join(self.web, "pre.js")
        raw = b"var pre = 1;\n" * 200
        write(source, raw)
        marked = gzip.compress(raw, compresslevel=1, mtime=0)  # level 1: not what serve.py makes
        write(source + ".gz", marked)
        past = os.stat(source).st_mtime_ns - 10**9
        os.utime(source + ".gz", ns=(past, past))
        status, headers, body = self.request("GET", "/pre.js", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, headers["Content-Encoding"]), (200, "gzip"))
        self.assertEqual(body, marked)
        self.assertEqual(self.request("GET", "/pre.js")[2], raw)  # and the plain file without gzip

    def test_a_precompressed_file_of_other_bytes_is_never_sent(self):
        source = os.path.join(self.web, "stale.js")
        raw = b"var stale = 2;\n" * 200
        cases = {
            "the same size, another text": gzip.compress(raw.replace(b"2", b"3"), 1, mtime=0),
            "another size": gzip.compress(raw + b"//", 1, mtime=0),
            "not gzip": b"plain text, not gzip, yet long enough" * 3,
            "cut short": gzip.compress(raw, 1, mtime=0)[:-9],
        }
        for name, gz in cases.items():
            with self.subTest(name):
                write(source, raw)
                write(source + ".gz", gz)
                status, headers, body = self.request("GET", "/stale.js", {"Accept-Encoding": "gzip"})
                self.assertEqual((status, headers["Content-Encoding"]), (200, "gzip"))
                self.assertNotEqual(body, gz)
                self.assertEqual(gzip.decompress(body), raw)

    def test_the_builds_brotli_file_is_sent_to_a_browser_that_takes_brotli_and_only_then(self):
        source = os.path.join(self.web, "br.js")
        raw = b"var br = 1;\n" * 200
        write(source, raw)
        marked = brotli.compress(raw, quality=1)
        write(source + ".br", marked)
        write(source + ".gz", gzip.compress(raw, 1, mtime=0))
        status, headers, body = self.request("GET", "/br.js", {"Accept-Encoding": "gzip, deflate, br"})
        self.assertEqual((status, headers["Content-Encoding"], body), (200, "br", marked))
        self.assertIn("Accept-Encoding", headers["Vary"])
        etag = headers["ETag"]
        status, headers, _ = self.request("GET", "/br.js", {"Accept-Encoding": "gzip, br", "If-None-Match": etag})
        self.assertEqual((status, headers["ETag"]), (304, etag))
        for accepted in ("gzip", "gzip, br;q=0"):
            with self.subTest(accepted):
                status, headers, body = self.request("GET", "/br.js", {"Accept-Encoding": accepted})
                self.assertEqual((status, headers["Content-Encoding"], gzip.decompress(body)), (200, "gzip", raw))
        self.assertEqual(self.request("GET", "/br.js")[2], raw)

    def test_a_brotli_file_of_other_bytes_is_never_sent_and_gzip_takes_its_place(self):
        source = os.path.join(self.web, "stale-br.js")
        raw = b"var stale = 2;\n" * 200
        cases = {
            "another text": brotli.compress(raw.replace(b"2", b"3"), quality=1),
            "not brotli": b"plain text, not brotli, yet long enough" * 3,
            "cut short": brotli.compress(raw, quality=1)[:-3],
        }
        for name, br in cases.items():
            with self.subTest(name):
                write(source, raw)
                write(source + ".br", br)
                status, headers, body = self.request("GET", "/stale-br.js", {"Accept-Encoding": "br, gzip"})
                self.assertEqual((status, headers["Content-Encoding"]), (200, "gzip"))
                self.assertEqual(gzip.decompress(body), raw)

    # ---- conditional requests

    def test_if_none_match_304(self):
        status, headers, _ = self.request("GET", "/app.js")
        etag = headers["ETag"]
        self.assertTrue(etag.startswith('"') and etag.endswith('"'), etag)
        status, headers, body = self.request("GET", "/app.js", {"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(headers["ETag"], etag)
        status, _, body = self.request("GET", "/app.js", {"If-None-Match": '"other"'})
        self.assertEqual((status, body), (200, self.app_js))

    def test_if_none_match_304_for_gzip_variant(self):
        _, headers, _ = self.request("GET", "/app.js", {"Accept-Encoding": "gzip"})
        gz_etag = headers["ETag"]
        _, plain_headers, _ = self.request("GET", "/app.js")
        self.assertNotEqual(gz_etag, plain_headers["ETag"])
        status, _, body = self.request("GET", "/app.js", {"If-None-Match": gz_etag,
                                                          "Accept-Encoding": "gzip"})
        self.assertEqual((status, body), (304, b""))

    def test_if_modified_since_304(self):
        last_modified = self.request("HEAD", "/media/demo/a.png")[1]["Last-Modified"]
        status, _, body = self.request("GET", "/media/demo/a.png", {"If-Modified-Since": last_modified})
        self.assertEqual((status, body), (304, b""))

    # ---- path safety

    def test_traversal_never_leaks(self):
        cases = [("/../serve.py", 400), ("/..%2fserve.py", 400), ("/%2e%2e/serve.py", 400),
                 ("/media/%2e%2e/secret.txt", 400), ("/media/../secret.txt", 400),
                 ("/media/demo%2f..%2f..%2fsecret.txt", 400),
                 ("/media/demo/..%2f..%2f..%2fsecret.txt", 400),
                 ("/%2e%2e%2f%2e%2e%2fsecret.txt", 400), ("/..%5csecret.txt", 400),
                 ("/sub/%2e%2e/%2e%2e/secret.txt", 400), ("/api/tasks/..%2f..%2fsecret.txt", 400),
                 ("/index.html%00.txt", 400), ("/%00", 400), ("/%ff%fe", 400),
                 ("/escape.txt", 404), ("/escape-dir/secret.txt", 404), ("/.hidden", 404),
                 ("/media/demo/../../secret.txt", 400), ("//secret.txt", 404)]
        for path, expected in cases:
            with self.subTest(path=path):
                status, _, body = self.request("GET", path)
                self.assertEqual(status, expected, body[:200])
                self.assertNotIn(SECRET.encode(), body)
                self.assertNotIn(b"Polymark backend", body)

    def test_literal_nul_in_request_line_400(self):
        status, data = self.raw_request(b"GET /app.js\x00.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertNotIn(b"hello", data)

    def test_symlink_inside_root_is_served(self):
        status, _, body = self.request("GET", "/alias.js")
        self.assertEqual((status, body), (200, self.app_js))

    def test_query_string_ignored(self):
        status, _, body = self.request("GET", "/app.js?v=123")
        self.assertEqual((status, body), (200, self.app_js))

    # ---- robustness

    def test_client_disconnect_mid_body(self):
        for _ in range(3):
            s = socket.create_connection((self.server.host, self.server.port), timeout=10)
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(1024)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # reset while the server is still writing
        time.sleep(0.3)
        status, _, body = self.request("GET", "/media/demo/a.png")
        self.assertEqual((status, body), (200, PNG_A))
        self.assertIsNone(self.server.proc.poll())

    def test_concurrent_requests(self):
        results = []

        def worker():
            for _ in range(10):
                results.append(self.request("GET", "/api/tasks/demo/annotations")[0])
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(results, [200] * 80)

    def test_access_log_on_stderr(self):
        self.request("GET", "/api/tasks?log-probe=1")
        deadline = time.monotonic() + 5
        while "log-probe=1" not in self.server.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn('"GET /api/tasks?log-probe=1 HTTP/1.1" 200', self.server.stderr())


# --------------------------------------------------------------------------- import

class ImportTest(HttpMixin, unittest.TestCase):
    """Import validation, hostile names and re-import (each case its own process)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-import-")
        self.db = os.path.join(self.tmp, "db", "polymark.sqlite")
        self.web = os.path.join(self.tmp, "web")
        write(os.path.join(self.web, "index.html"), "<p>x</p>")
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *imports, quiet=True):
        args = ["--db", self.db, "--web", self.web]
        for d in imports:
            args += ["--import", d]
        if quiet:
            args.append("--quiet")
        self.server = ServerProcess(self.tmp, args).start()
        return self.server

    def stop(self):
        code = self.server.stop()
        self.server = None
        return code

    def task_dir_with(self, media, name="t", **task_extra):
        d = os.path.join(self.tmp, name)
        write(os.path.join(d, "img.png"), PNG_A)
        task = {"format": "polymark.task", "version": 1, "id": "t1", "name": "T", "media": media}
        task.update(task_extra)
        write_json(os.path.join(d, "task.json"), task)
        return d

    def assert_import_fails(self, task_dir, *fragments):
        result = run_serve(["--db", self.db, "--web", self.web, "--import", task_dir])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        return result.stderr

    # ---- hostile file names

    def test_hostile_file_names_rejected(self):
        write(os.path.join(self.tmp, "outside.png"), PNG_B)
        good = {"id": "ok", "type": "image", "file": "img.png"}
        hostile = ["../outside.png", os.path.join(self.tmp, "outside.png"), "sub/../../outside.png",
                   "..\\outside.png", ".hidden.png", "a//b.png", "./img.png", "C:/x.png", ""]
        for i, name in enumerate(hostile):
            with self.subTest(name=name):
                d = self.task_dir_with([good, {"id": "bad", "type": "image", "file": name}],
                                       name="hostile%d" % i)
                self.assert_import_fails(d, os.path.join(d, "task.json"), "/media/1/file",
                                         repr(name), "task 't1'")
                self.assertFalse(os.path.exists(os.path.join(self.tmp, "db", "media", "t1")))

    def test_symlink_escaping_task_dir_rejected(self):
        write(os.path.join(self.tmp, "outside.png"), PNG_B)
        d = self.task_dir_with([{"id": "bad", "type": "image", "file": "link.png"}])
        os.symlink(os.path.join(self.tmp, "outside.png"), os.path.join(d, "link.png"))
        self.assert_import_fails(d, "task.json", "/media/0/file", "'link.png'", "outside the task directory")

    # ---- structural validation

    def test_structural_errors_name_file_and_pointer(self):
        img = {"id": "i", "type": "image", "file": "img.png"}
        cases = [
            ({"format": "nope"}, "/format"),
            ({"version": 2}, "/version"),
            ({"version": "1"}, "/version"),
            ({"id": "bad id!"}, "/id"),
            ({"id": ".."}, "/id"),
            ({"id": "x" * 65}, "/id"),
            ({"media": []}, "/media"),
            ({"media": {}}, "/media"),
            ({"media": [{"id": "i", "type": "audio", "file": "img.png"}]}, "/media/0/type"),
            ({"media": [img, {"id": "j", "type": "image", "url": "/x.png"}]}, "/media/1/url"),
            ({"media": [img, dict(img)]}, "/media/1/id"),
            ({"media": [{"id": "i", "type": "image", "file": "missing.png"}]}, "/media/0/file"),
            ({"media": [{"id": "i", "type": "image", "file": "img.png", "width": 0}]}, "/media/0/width"),
            ({"extra": 1}, "/extra"),
            ({"labels": [{"id": "a"}, {"id": "a"}]}, "/labels/1/id"),
        ]
        for i, (patch, ptr) in enumerate(cases):
            with self.subTest(patch=patch):
                d = os.path.join(self.tmp, "bad%d" % i)
                write(os.path.join(d, "img.png"), PNG_A)
                task = {"format": "polymark.task", "version": 1, "id": "t1", "media": [img]}
                task.update(patch)
                write_json(os.path.join(d, "task.json"), task)
                self.assert_import_fails(d, os.path.join(d, "task.json") + ": " + ptr + ":")

    def test_invalid_json_and_missing_task(self):
        d = os.path.join(self.tmp, "broken")
        write(os.path.join(d, "task.json"), '{"format": "polymark.task",')
        self.assert_import_fails(d, os.path.join(d, "task.json"), "not valid JSON")
        write(os.path.join(d, "task.json"), '{"format": NaN}')
        self.assert_import_fails(d, "NaN")
        self.assert_import_fails(os.path.join(self.tmp, "absent"), "absent")

    def test_bad_annotations_json(self):
        d = self.task_dir_with([{"id": "i", "type": "image", "file": "img.png"}])
        write_json(os.path.join(d, "annotations.json"), {"format": "other", "version": 1})
        self.assert_import_fails(d, os.path.join(d, "annotations.json") + ": /format:")
        write_json(os.path.join(d, "annotations.json"), {"format": "polymark.annotations",
                                                         "version": 1, "objects": {}})
        self.assert_import_fails(d, "/objects")

    def test_newer_schema_refused(self):
        os.makedirs(os.path.dirname(self.db))
        if TEST_DB == "postgresql":
            db_query(self.db, "CREATE TABLE polymark_schema (version INTEGER NOT NULL); "
                              "INSERT INTO polymark_schema VALUES (99)")
        else:
            conn = sqlite3.connect(self.db)
            conn.execute("PRAGMA user_version = 99")
            conn.close()
        result = run_serve(["--db", self.db, "--web", self.web])
        self.assertEqual(result.returncode, 2)
        self.assertIn("schema version 99", result.stderr)

    # ---- re-import

    def load_serve_module(self):
        spec = importlib.util.spec_from_file_location("polymark_serve", SERVE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_reimport_is_idempotent_and_keeps_annotations(self):
        d = make_demo_dir(self.tmp)
        self.start(d)
        first_task, _ = self.get_json("/api/tasks/demo")
        self.assertEqual(self.stop(), 0)

        edited = dict(ANNOTATIONS, objects=[])
        serve = self.load_serve_module()
        store, manager = serve.Store(store_location(self.db)), serve.Principal(None, "manager")
        self.assertEqual(store.save_annotations("demo", edited, 0, manager), ("ok", 1))
        self.assertEqual(store.save_annotations("demo", edited, 0, manager), ("stale",))
        store.close()

        self.start(d)
        task, _ = self.get_json("/api/tasks/demo")
        self.assertEqual(task, first_task)
        body, headers = self.get_json("/api/tasks/demo/annotations")
        self.assertEqual(body, {"revision": 1, "document": edited})
        self.assertEqual(headers["ETag"], '"rev-1"')
        listing, _ = self.get_json("/api/tasks")
        self.assertEqual(len(listing["tasks"]), 1)
        self.stop()

        # A changed task replaces the stored task but keeps the annotations.
        changed = demo_task_json()
        changed["name"] = "Renamed"
        write_json(os.path.join(d, "task.json"), changed)
        self.start(d)
        task, _ = self.get_json("/api/tasks/demo")
        self.assertEqual(task["name"], "Renamed")
        body, _ = self.get_json("/api/tasks/demo/annotations")
        self.assertEqual(body["revision"], 1)
        self.assertIn("annotations kept", self.server.stderr())

    def test_quiet_has_no_access_log(self):
        self.start(make_demo_dir(self.tmp), quiet=True)
        self.get_json("/api/tasks")
        self.assertEqual(self.stop(), 0)
        self.assertNotIn("GET /api/tasks", self.server_stderr_after_stop())

    def server_stderr_after_stop(self):
        logs = [f for f in os.listdir(self.tmp) if f.startswith("stderr-")]
        text = ""
        for name in logs:
            with open(os.path.join(self.tmp, name), encoding="utf-8") as f:
                text += f.read()
        return text

    def test_media_root_option(self):
        media_root = os.path.join(self.tmp, "elsewhere")
        d = make_second_dir(self.tmp)
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.web, "--quiet",
                                               "--media-root", media_root, "--import", d]).start()
        with open(os.path.join(media_root, "second.2", "only.png"), "rb") as f:
            self.assertEqual(f.read(), PNG_B)
        status, _, body = self.request("GET", "/media/second.2/only.png")
        self.assertEqual((status, body), (200, PNG_B))


if __name__ == "__main__":
    unittest.main()
