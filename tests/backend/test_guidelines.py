"""Labeling guidelines over real HTTP (docs/SCHEMA.md, section 14): versions, who may publish one
(every role, allowed and refused), a stale base, files carried over, replaced and removed, hostile
file names, bad base64 and bytes that are not images, the files served with their type, and
--import of a task directory's guidelines.md and guidelines/ folder.

    python3 -m unittest tests/backend/test_guidelines.py -v
"""

import base64
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_review import TOKENS, four_image_task  # noqa: E402
from test_serve import (PNG_A, PNG_B, UNDO_V9, ServerProcess, db_query, run_serve, sqlite_only, write,  # noqa: E402
                        write_json)
from test_sync_routes import SyncMixin  # noqa: E402

AS = {"labeler": "t-ana", "reviewer": "t-rita", "manager": "t-mia"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64))
GIF = b"GIF89a" + bytes(32)
WEBP = b"RIFF\x20\x00\x00\x00WEBPVP8 " + bytes(24)


def b64(data):
    return base64.b64encode(data).decode("ascii")


class GuidelinesTest(SyncMixin, unittest.TestCase):
    """One server with a token per role; each test makes its own task."""

    auth = {"Authorization": "Bearer t-mia"}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-guidelines-")
        tokens = os.path.join(cls.tmp, "tokens.json")
        write_json(tokens, TOKENS)
        cls.db = os.path.join(cls.tmp, "db", "p.sqlite")
        cls.server = ServerProcess(cls.tmp, ["--db", cls.db, "--web", cls.tmp, "--quiet",
                                             "--tokens-file", tokens]).start()
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.stderr()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if "Traceback" in log:
            raise AssertionError("serve.py logged a traceback:\n" + log)

    def task(self):
        type(self).counter += 1
        task_id = f"g{self.counter}"
        status, _, reply = self.send("POST", "/api/tasks", four_image_task(task_id))
        self.assertEqual(status, 201, reply)
        return task_id

    def as_role(self, role):
        return {"Authorization": f"Bearer {AS[role]}"}

    def put(self, task_id, body, role="manager", expect=200):
        status, _, reply = self.send("PUT", f"/api/tasks/{task_id}/guidelines", body, self.as_role(role))
        self.assertEqual(status, expect, reply)
        return reply

    def get(self, path, role="labeler", expect=200):
        status, headers, reply = self.send("GET", path, headers=self.as_role(role))
        self.assertEqual(status, expect, reply)
        return reply

    def file(self, task_id, name, query=""):
        conn = self.connect()
        try:
            conn.request("GET", f"/api/tasks/{task_id}/guidelines/files/{name}{query}", headers=self.as_role("labeler"))
            resp = conn.getresponse()
            return resp.status, resp.headers, resp.read()
        finally:
            conn.close()

    # ---- versions

    def test_a_new_task_has_version_0_and_no_text(self):
        task_id = self.task()
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines"),
                         {"version": 0, "text": "", "files": [], "author": None, "at": None})
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines/versions"), {"current": 0, "versions": []})

    def test_each_put_makes_the_next_version_and_old_ones_stay_readable(self):
        task_id = self.task()
        one = self.put(task_id, {"text": "# Rules\nBox **tight**.", "base_version": 0, "files": {"a.png": b64(PNG_A)}})
        self.assertEqual((one["version"], one["author"], one["created"]), (1, "mia", True))
        self.assertEqual(one["files"], [{"name": "a.png", "type": "image/png", "size": len(PNG_A)}])
        self.assertRegex(one["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        two = self.put(task_id, {"text": "# Rules\nBox tight, ears included.", "base_version": 1})
        self.assertEqual(two["version"], 2)
        current = self.get(f"/api/tasks/{task_id}/guidelines")
        self.assertEqual((current["version"], current["text"]), (2, "# Rules\nBox tight, ears included."))
        old = self.get(f"/api/tasks/{task_id}/guidelines?version=1")
        self.assertEqual((old["version"], old["text"]), (1, "# Rules\nBox **tight**."))
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines?version=0")["version"], 0)
        versions = self.get(f"/api/tasks/{task_id}/guidelines/versions")
        self.assertEqual(versions["current"], 2)
        self.assertEqual([(v["version"], v["author"], v["files"]) for v in versions["versions"]],
                         [(1, "mia", 1), (2, "mia", 1)])
        status, _, reply = self.send("GET", f"/api/tasks/{task_id}/guidelines?version=3", headers=self.as_role("labeler"))
        self.assertEqual((status, reply["error"]["code"], reply["error"]["parameter"]), (404, "not_found", "version"))
        status, _, reply = self.send("GET", f"/api/tasks/{task_id}/guidelines?version=%C2%B2", headers=self.as_role("labeler"))
        self.assertEqual((status, reply["error"]["parameter"]), (400, "version"))

    def test_a_stale_base_version_is_409_and_writes_nothing(self):
        task_id = self.task()
        self.put(task_id, {"text": "one", "base_version": 0})
        self.put(task_id, {"text": "two", "base_version": 1})
        for stale in (0, 1, 3):
            reply = self.put(task_id, {"text": "mine", "base_version": stale}, expect=409)
            self.assertEqual((reply["error"]["code"], reply["error"]["path"], reply["version"]),
                             ("stale_version", "/base_version", 2))
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines")["text"], "two")

    # ---- roles

    def test_only_a_manager_publishes_every_role_reads(self):
        task_id = self.task()
        for role in ("labeler", "reviewer"):
            reply = self.put(task_id, {"text": "mine", "base_version": 0}, role=role, expect=403)
            self.assertEqual(reply["error"]["code"], "forbidden")
            self.assertIn(role, reply["error"]["message"])
            self.assertIn("manager", reply["error"]["message"])
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines")["version"], 0)
        self.put(task_id, {"text": "rules", "base_version": 0, "files": {"a.png": b64(PNG_A)}}, role="manager")
        for role in ("labeler", "reviewer", "manager"):
            self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines", role=role)["text"], "rules")
            self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines/versions", role=role)["current"], 1)
            status, _, data = self.file(task_id, "a.png")
            self.assertEqual((status, data), (200, PNG_A))

    def test_no_token_is_401_and_an_old_style_token_is_a_manager(self):
        task_id = self.task()
        status, _, reply = self.send("GET", f"/api/tasks/{task_id}/guidelines", headers={"Authorization": "Bearer nope"})
        self.assertEqual((status, reply["error"]["code"]), (401, "unauthorized"))
        status, _, reply = self.send("PUT", f"/api/tasks/{task_id}/guidelines", {"text": "x", "base_version": 0},
                                     {"Authorization": "Bearer t-old"})
        self.assertEqual((status, reply["version"], reply["author"]), (200, 1, "old"))

    def test_unknown_task_is_404(self):
        for method, path in (("GET", "/api/tasks/nope/guidelines"), ("GET", "/api/tasks/nope/guidelines/versions"),
                             ("GET", "/api/tasks/nope/guidelines/files/a.png")):
            status, _, reply = self.send(method, path)
            self.assertEqual((status, reply["error"]["code"]), (404, "not_found"), path)
        status, _, reply = self.send("PUT", "/api/tasks/nope/guidelines", {"text": "x", "base_version": 0})
        self.assertEqual(status, 404, reply)

    # ---- files

    def test_files_carry_over_unless_replaced_or_removed(self):
        task_id = self.task()
        self.put(task_id, {"text": "v1", "base_version": 0, "files": {"a.png": b64(PNG_A), "b.jpg": b64(JPEG)}})
        self.put(task_id, {"text": "v2", "base_version": 1, "files": {"a.png": b64(PNG_B), "c.gif": b64(GIF)}})
        three = self.put(task_id, {"text": "v3", "base_version": 2, "files": {"b.jpg": None, "d.webp": b64(WEBP)}})
        self.assertEqual([(f["name"], f["type"]) for f in three["files"]],
                         [("a.png", "image/png"), ("c.gif", "image/gif"), ("d.webp", "image/webp")])
        self.assertEqual(self.file(task_id, "a.png", "?version=1")[2], PNG_A)
        self.assertEqual(self.file(task_id, "a.png", "?version=2")[2], PNG_B)
        self.assertEqual(self.file(task_id, "a.png")[2], PNG_B)
        self.assertEqual(self.file(task_id, "b.jpg", "?version=2")[2], JPEG)
        status, _, body = self.file(task_id, "b.jpg")
        self.assertEqual((status, json.loads(body)["error"]["code"]), (404, "not_found"))
        reply = self.put(task_id, {"text": "v4", "base_version": 3, "files": {"zzz.png": None}}, expect=400)
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("unknown_file", "/files/zzz.png"))

    def test_files_are_served_with_their_type_and_never_sniffed(self):
        task_id = self.task()
        self.put(task_id, {"text": "x", "base_version": 0,
                           "files": {"a.png": b64(PNG_A), "photo.html": b64(JPEG)}})
        status, headers, data = self.file(task_id, "photo.html")
        self.assertEqual((status, headers["Content-Type"], data), (200, "image/jpeg", JPEG))
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertIn("sandbox", headers["Content-Security-Policy"])
        self.assertEqual(headers["Cache-Control"], "no-cache")
        status, headers, _ = self.file(task_id, "a.png", "?version=1")
        self.assertEqual((status, headers["Content-Type"]), (200, "image/png"))
        self.assertIn("immutable", headers["Cache-Control"])
        status, _, body = self.file(task_id, "a.png", "?version=2")
        self.assertEqual(status, 404, body)

    def test_bytes_that_are_not_an_image_are_refused(self):
        task_id = self.task()
        for name, data in (("page.png", b"<!doctype html><script>alert(1)</script>"),
                           ("pic.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), ("empty.png", b""),
                           ("clip.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")):
            reply = self.put(task_id, {"text": "x", "base_version": 0, "files": {name: b64(data)}}, expect=400)
            self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("bad_media", f"/files/{name}"), name)
        self.assertEqual(self.get(f"/api/tasks/{task_id}/guidelines")["version"], 0)

    def test_bad_base64_is_refused_at_its_file(self):
        task_id = self.task()
        for data in ("not base64!", "QUJ", 7):
            reply = self.put(task_id, {"text": "x", "base_version": 0, "files": {"a.png": data}}, expect=400)
            self.assertEqual(reply["error"]["path"], "/files/a.png", data)
            self.assertIn(reply["error"]["code"], ("bad_base64", "expected_string"))

    def test_hostile_file_names_are_refused(self):
        task_id = self.task()
        for name in ("..", "../a.png", "a/b.png", "a\\b.png", "a\x00.png", ".hidden.png", "", "x" * 101 + ".png",
                     "a\n.png", "."):
            reply = self.put(task_id, {"text": "x", "base_version": 0, "files": {name: b64(PNG_A)}}, expect=400)
            self.assertEqual(reply["error"]["code"], "bad_file_name", repr(name))
        for target in ("..%2Fetc", ".hidden", "a%5Cb", "a%00b", "%2e%2e"):
            status, _, body = self.file(task_id, target)
            self.assertEqual(status, 400, (target, body))
            self.assertEqual(json.loads(body)["error"]["code"] in ("bad_file_name", "bad_request"), True)

    def test_malformed_bodies_name_what_is_wrong(self):
        task_id = self.task()
        cases = [([], "not_object", ""), ({"text": "x"}, "missing_key", "/base_version"),
                 ({"base_version": 0}, "missing_key", "/text"),
                 ({"text": 5, "base_version": 0}, "expected_string", "/text"),
                 ({"text": "x", "base_version": "1"}, "expected_integer", "/base_version"),
                 ({"text": "x", "base_version": -1}, "expected_integer", "/base_version"),
                 ({"text": "x", "base_version": True}, "expected_integer", "/base_version"),
                 ({"text": "x", "base_version": 0, "files": []}, "expected_object", "/files"),
                 ({"text": "x", "base_version": 0, "extra": 1}, "unknown_key", "/extra"),
                 ({"text": "x" * 100_001, "base_version": 0}, "too_large", "/text")]
        for body, code, path in cases:
            reply = self.put(task_id, body, expect=400)
            self.assertEqual((reply["error"]["code"], reply["error"]["path"]), (code, path), body)
        status, _, reply = self.send("PUT", f"/api/tasks/{task_id}/guidelines", b"{not json", self.as_role("manager"))
        self.assertEqual((status, reply["error"]["code"]), (400, "not_json"))

    def test_size_limits(self):
        task_id = self.task()
        big = PNG_A + bytes(4 * 1024 * 1024)
        reply = self.put(task_id, {"text": "x", "base_version": 0, "files": {"big.png": b64(big)}}, expect=400)
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("too_large", "/files/big.png"))
        many = {f"{i}.png": b64(PNG_A) for i in range(33)}
        reply = self.put(task_id, {"text": "x", "base_version": 0, "files": many}, expect=400)
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("out_of_range", "/files"))

    def test_methods(self):
        task_id = self.task()
        status, headers, _ = self.send("POST", f"/api/tasks/{task_id}/guidelines", {})
        self.assertEqual(status, 405)
        self.assertIn("PUT", headers["Allow"])
        status, headers, _ = self.send("PUT", f"/api/tasks/{task_id}/guidelines/versions", {})
        self.assertEqual(status, 405)


class ImportTest(unittest.TestCase):
    """--import DIR: guidelines.md and the guidelines/ folder become version 1; unchanged, nothing."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-guidelines-import-")
        self.dir = os.path.join(self.tmp, "task")
        write_json(os.path.join(self.dir, "task.json"),
                   {"format": "polymark.task", "version": 1, "id": "imp", "name": "Imp",
                    "media": [{"id": "a", "type": "image", "file": "a.png"}]})
        write(os.path.join(self.dir, "a.png"), PNG_A)
        write(os.path.join(self.dir, "guidelines.md"), "# Rules\n\n![tight](ex.png)\n")
        write(os.path.join(self.dir, "guidelines", "ex.png"), PNG_B)
        write(os.path.join(self.dir, "guidelines", ".DS_Store"), b"junk")
        self.db = os.path.join(self.tmp, "db", "p.sqlite")
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self):
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.tmp, "--quiet", "--import", self.dir]).start()
        return self.server

    def get(self, path):
        import http.client
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=15)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_import_makes_version_1_and_again_nothing_new(self):
        self.start()
        status, body = self.get("/api/tasks/imp/guidelines")
        reply = json.loads(body)
        self.assertEqual((status, reply["version"], reply["text"], reply["author"]),
                         (200, 1, "# Rules\n\n![tight](ex.png)\n", "serve.py --import"))
        self.assertEqual([f["name"] for f in reply["files"]], ["ex.png"])
        self.assertEqual(self.get("/api/tasks/imp/guidelines/files/ex.png"), (200, PNG_B))
        self.server.stop()
        self.start()  # the same directory again: no new version
        self.assertEqual(json.loads(self.get("/api/tasks/imp/guidelines/versions")[1])["current"], 1)
        self.server.stop()
        write(os.path.join(self.dir, "guidelines.md"), "# Rules\n\nChanged.\n")
        os.remove(os.path.join(self.dir, "guidelines", "ex.png"))
        self.start()  # changed: version 2, with exactly the folder's files
        reply = json.loads(self.get("/api/tasks/imp/guidelines")[1])
        self.assertEqual((reply["version"], reply["text"], reply["files"]), (2, "# Rules\n\nChanged.\n", []))

    def test_a_file_that_is_not_an_image_fails_the_import_naming_it(self):
        write(os.path.join(self.dir, "guidelines", "note.png"), b"<html>hi</html>")
        result = run_serve(["--db", self.db, "--web", self.tmp, "--import", self.dir])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("note.png", result.stderr)
        self.assertIn("not an image", result.stderr)
        # refused before anything was written
        self.assertEqual(db_query(self.db, "SELECT COUNT(*) FROM tasks"), [(0,)])

    def test_guidelines_that_are_not_utf8_fail_the_import(self):
        write(os.path.join(self.dir, "guidelines.md"), b"\xff\xfe bad")
        result = run_serve(["--db", self.db, "--web", self.tmp, "--import", self.dir])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("guidelines.md", result.stderr)


@sqlite_only
class UpgradeTest(unittest.TestCase):
    """A version 5 database (before guidelines) is upgraded on start and keeps its tasks."""

    def test_v5_database_gets_the_guideline_tables(self):
        tmp = tempfile.mkdtemp(prefix="pm-guidelines-upgrade-")
        try:
            db = os.path.join(tmp, "p.sqlite")
            task_dir = os.path.join(tmp, "task")
            write_json(os.path.join(task_dir, "task.json"),
                       {"format": "polymark.task", "version": 1, "id": "old", "name": "Old",
                        "media": [{"id": "a", "type": "image", "file": "a.png"}]})
            write(os.path.join(task_dir, "a.png"), PNG_A)
            server = ServerProcess(tmp, ["--db", db, "--web", tmp, "--quiet", "--import", task_dir]).start()
            server.stop()
            conn = sqlite3.connect(db)  # make it what a version 5 serve.py left
            for statement in UNDO_V9:
                conn.execute(statement)
            for table in ("task_sets", "guideline_files", "guideline_blobs", "guidelines"):
                conn.execute(f"DROP TABLE {table}")
            conn.execute("ALTER TABLE changes DROP COLUMN value")  # added in version 7
            conn.execute("PRAGMA user_version = 5")
            conn.commit()
            conn.close()
            server = ServerProcess(tmp, ["--db", db, "--web", tmp, "--quiet"]).start()
            try:
                import http.client
                conn = http.client.HTTPConnection(server.host, server.port, timeout=15)
                conn.request("GET", "/api/tasks/old/guidelines")
                resp = conn.getresponse()
                self.assertEqual((resp.status, json.loads(resp.read())["version"]), (200, 0))
                conn.close()
            finally:
                server.stop()
            conn = sqlite3.connect(db)
            try:
                from test_serve import SCHEMA_VERSION
                self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
                self.assertEqual(conn.execute("SELECT COUNT(*) FROM guidelines").fetchone()[0], 0)
            finally:
                conn.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
