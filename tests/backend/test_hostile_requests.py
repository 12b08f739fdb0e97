"""Hostile requests to serve.py over raw sockets: every one gets an HTTP answer, and a malformed
one a 400 naming the header, query parameter or JSON pointer at fault (standard library only).

The sync client reads a request that gets no answer as "offline" and retries it forever, so a
request that kills its connection stalls a labeler for good. Also: an op_id sent again with other
content is refused (409 op_id_reused), and the work of one PATCH is bounded.

Run from the repository root (POLYMARK_SERVE_SCRIPT=/tmp/serve_old.py runs them against another
serve.py, e.g. the last commit's):

    python3 -m unittest tests/backend/test_hostile_requests.py -v
"""

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from raw_http import NoAnswer, exchange, request_bytes  # noqa: E402
from test_serve import (SCHEMA_VERSION, TEST_DB, UNDO_V9, ServerPerTest, ServerProcess, db_query,  # noqa: E402
                        make_demo_dir, sqlite_only, write)
from test_sync_routes import SyncMixin, op, rect, task_body, track  # noqa: E402

SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
DIGITS_5000 = "7" * 5000    # past Python's 4,300-digit limit of int()
BEYOND_SQLITE = "99999999999999999999"


class HostileRequestsTest(SyncMixin, unittest.TestCase):
    """One server (API, a web root with one file); each test makes its own task."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-hostile-")
        cls.db = os.path.join(cls.tmp, "db", "polymark.sqlite")
        cls.web = os.path.join(cls.tmp, "web")
        cls.file_bytes = bytes(range(256)) * 4
        write(os.path.join(cls.web, "data.bin"), cls.file_bytes)
        cls.server = ServerProcess(cls.tmp, ["--db", cls.db, "--web", cls.web, "--quiet",
                                             "--import", make_demo_dir(cls.tmp)]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def raw(self, method, target, headers=(), body=b""):
        data = request_bytes(method, target, headers, body if isinstance(body, bytes) else body.encode())
        try:
            return exchange(self.server.host, self.server.port, data)
        except NoAnswer as e:
            self.fail(f"{method} {target[:80]} got no HTTP answer: {e}")

    def assert_bad(self, reply, status=400, code="bad_request", **field):
        """A JSON error of ``status``/``code`` whose error object names ``field`` (header=, parameter=, path=)."""
        error = reply.error()
        self.assertEqual((reply.status, error.get("code")), (status, code), reply)
        for key, value in field.items():
            self.assertEqual(error.get(key), value, reply)
        self.assertTrue(error.get("message"), reply)

    def patch_body(self, operations, base=0, **extra):
        body = {"base_revision": base, "user": "ann", "device": "dev-h", "operations": operations}
        body.update(extra)
        return json.dumps(body)  # ASCII: a lone surrogate goes out as its escape, as a hostile client sends it

    # ---- headers

    def test_a_nul_character_in_a_user_name_is_kept_or_refused_never_a_500(self):
        self.new_task("nul", [])
        body = {"base_revision": 0, "user": "a\u0000b", "device": "d\u0000", "operations": [
            op("nul.1", "create", "r", rect("r"))]}
        status, _, reply = self.send("PATCH", "/api/tasks/nul/annotations", body)
        if TEST_DB == "postgresql":  # PostgreSQL's text cannot hold U+0000; nothing is applied
            self.assertEqual((status, reply["error"]["code"]), (400, "unstorable"), reply)
            self.assertEqual(self.doc("nul")[0], 0)
        else:
            self.assertEqual(status, 200, reply)
        status, _, reply = self.send("PUT", "/api/tasks/nul/guidelines", {"text": "\u0000", "files": {},
                                                                          "base_version": 0})
        self.assertIn(status, (200, 400), reply)

    def test_content_length_with_superscript_digits_is_a_400_naming_the_header(self):
        t = self.new_task("h-cl")
        for value in (SUPERSCRIPT_TWO, "1" + SUPERSCRIPT_TWO, DIGITS_5000, "-1", "0x10", "1 2"):
            with self.subTest(content_length=value[:10]):
                reply = self.raw("PATCH", f"/api/tasks/{t}/annotations", [("Content-Length", value)], b"{}")
                self.assert_bad(reply, header="Content-Length")

    def test_conflicting_content_lengths_are_refused(self):
        t = self.new_task("h-cl2")
        body = self.patch_body([]).encode()
        reply = self.raw("PATCH", f"/api/tasks/{t}/annotations",
                         [("Content-Length", str(len(body))), ("Content-Length", "2")], body)
        self.assert_bad(reply, header="Content-Length")

    def test_if_match_with_5000_digits_or_superscripts_is_a_412_naming_the_header(self):
        t = self.new_task("h-ifm")
        doc = {"format": "polymark.annotations", "version": 1, "objects": [], "tracks": []}
        for value in (f'"rev-{DIGITS_5000}"', f'"rev-{SUPERSCRIPT_TWO}"', f'"rev-{BEYOND_SQLITE}"'):
            with self.subTest(if_match=value[:12]):
                reply = self.raw("PUT", f"/api/tasks/{t}/annotations", [("If-Match", value)], json.dumps(doc))
                self.assert_bad(reply, 412, "precondition_failed", header="If-Match")
                self.assertEqual(reply.json()["revision"], 0)
                self.assertLess(len(reply.body), 600)  # the 5,000 digits are not echoed back

    def test_range_with_superscripts_or_5000_digits_is_answered(self):
        path = "/data.bin"
        size = len(self.file_bytes)
        cases = [(f"bytes={SUPERSCRIPT_TWO}-5", 200, self.file_bytes),     # not a byte range: ignored
                 (f"bytes=0-{SUPERSCRIPT_TWO}", 200, self.file_bytes),
                 (f"bytes={DIGITS_5000}-", 416, b""),                        # starts past the end
                 (f"bytes=10-{DIGITS_5000}", 206, self.file_bytes[10:]),     # ends past the end: to the end
                 (f"bytes=-{DIGITS_5000}", 206, self.file_bytes),            # a suffix longer than the file
                 (f"bytes=0000000000000000000000010-11", 206, self.file_bytes[10:12])]
        for value, status, body in cases:
            with self.subTest(range=value[:20]):
                reply = self.raw("GET", path, [("Range", value)])
                self.assertEqual((reply.status, reply.body), (status, body), reply)
                if status == 416:
                    self.assertEqual(reply.header("Content-Range"), f"bytes */{size}")

    def test_user_header_is_read_as_utf8_and_invalid_utf8_is_a_400(self):
        t = self.new_task("h-user")
        body = json.dumps({"base_revision": 0, "operations": [op("u.1", "create", "o1", rect("o1"))]})
        reply = self.raw("PATCH", f"/api/tasks/{t}/annotations",
                         [("X-Polymark-User", "Hédda".encode("utf-8")), ("X-Polymark-Device", b"kiosk")], body)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(self.history(t)[0]["user"], "Hédda")
        body = json.dumps({"base_revision": 1, "operations": [op("u.2", "delete", "o1")]})
        reply = self.raw("PATCH", f"/api/tasks/{t}/annotations",
                         [("X-Polymark-User", b"\xff\xfe"), ("X-Polymark-Device", b"kiosk")], body)
        self.assert_bad(reply, header="X-Polymark-User")

    # ---- query strings

    def test_since_with_superscripts_or_beyond_sqlite_is_a_400_naming_the_parameter(self):
        t = self.new_task("h-since")
        for value in ("%C2%B2", BEYOND_SQLITE, "9223372036854775808",
                      DIGITS_5000, "%D9%A3"):
            with self.subTest(since=value[:24]):
                reply = self.raw("GET", f"/api/tasks/{t}/annotations?since={value}")
                self.assert_bad(reply, parameter="since")
        reply = self.raw("GET", f"/api/tasks/{t}/annotations?since=9223372036854775807")
        self.assertEqual((reply.status, reply.json()["changes"]), (200, []))

    def test_history_after_and_limit_with_odd_numbers_are_400s_naming_the_parameter(self):
        t = self.new_task("h-hist")
        for key in ("after", "limit"):
            for value in ("%C2%B2", BEYOND_SQLITE, DIGITS_5000):
                with self.subTest(key=key, value=value[:24]):
                    reply = self.raw("GET", f"/api/tasks/{t}/history?{key}={value}")
                    self.assert_bad(reply, parameter=key)

    # ---- bodies

    def test_body_of_100000_brackets_is_a_400_too_deep(self):
        t = self.new_task("h-deep")
        for body in ("[" * 100000, '{"a":' * 100000, self.patch_body([], meta="x")[:-1] + ',"x":' + "[" * 100000):
            with self.subTest(body=body[:30]):
                reply = self.raw("PATCH", f"/api/tasks/{t}/annotations", [("Content-Type", "application/json")], body)
                self.assertEqual(reply.status, 400, reply)
                self.assertEqual(reply.error()["code"], "too_deep", reply)
                self.assertTrue(reply.error()["path"].startswith(("/0/0/0", "/a/a/a", "/x/0/0")), reply)

    def test_op_index_of_10_to_the_30_is_a_400_naming_the_index(self):
        t = self.new_task("h-index", [rect("a"), rect("b")])
        body = self.patch_body([op("i.1", "create", "c", rect("c"), index=10 ** 30)])
        reply = self.raw("PATCH", f"/api/tasks/{t}/annotations", [], body)
        self.assertEqual((reply.status, reply.error().get("path")), (400, "/operations/0/index"), reply)
        self.assertEqual(self.doc(t)[0], 0)

    def test_op_index_past_the_end_within_range_puts_the_item_last(self):
        t = self.new_task("h-index2", [rect("a"), rect("b")])
        self.patch(t, [op("j.1", "create", "c", rect("c"), index=2 ** 53 - 1)], base=0)
        self.assertEqual([o["id"] for o in self.doc(t)[1]["objects"]], ["a", "b", "c"])

    def test_base_revision_beyond_sqlite_is_a_400(self):
        t = self.new_task("h-base")
        reply = self.raw("PATCH", f"/api/tasks/{t}/annotations", [],
                         self.patch_body([op("b.1", "create", "o", rect("o"))], base=10 ** 30))
        self.assertEqual(reply.status, 400, reply)
        self.assertIn(reply.error().get("path"), ("/base_revision", None))

    def test_lone_surrogates_in_labels_users_and_meta_keys_are_400s_naming_the_pointer(self):
        t = self.new_task("h-surrogate")
        cases = [(self.patch_body([op("s.1", "create", "o", rect("o", label="\ud800"))]),
                  "/operations/0/value/label"),
                 (self.patch_body([op("s.2", "create", "o", rect("o"))], user="\udfff"), "/user"),
                 (self.patch_body([op("s.3", "create", "o", rect("o", meta={"\udc00k": 1}))]),
                  "/operations/0/value/meta/\ufffdk")]  # the pointer shows the surrogate as U+FFFD
        for body, path in cases:
            with self.subTest(path=path):
                reply = self.raw("PATCH", f"/api/tasks/{t}/annotations", [], body)
                self.assertEqual((reply.status, reply.error().get("path")), (400, path), reply)
        self.assertEqual(self.doc(t)[0], 0)

    # ---- op ids

    def test_op_id_sent_again_with_other_content_is_refused_and_nothing_applies(self):
        t = self.new_task("h-reuse", [rect("a")])
        self.patch(t, [op("r.1", "update", "a", rect("a", 1))], base=0)
        self.patch(t, [op("r.1", "update", "a", rect("a", 1))], base=0)  # the same content: a duplicate
        status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", {
            "base_revision": 1, "user": "ann", "device": "dev-a",
            "operations": [op("r.2", "create", "b", rect("b")), op("r.1", "update", "a", rect("a", 99))]})
        self.assertEqual((status, reply["error"]["code"], reply["error"]["path"], reply["op_id"], reply["revision"]),
                         (409, "op_id_reused", "/operations/1/op_id", "r.1", 1), reply)
        self.assertEqual([o["id"] for o in self.doc(t)[1]["objects"]], ["a"])
        self.assertEqual(self.doc(t)[1]["objects"][0]["points"][0], 1)
        for other in (op("r.1", "delete", "a"), op("r.1", "update", "a", track("a"), kind="track")):
            with self.subTest(other=other):
                reply = self.patch(t, [other], base=1, expect=409)
                self.assertEqual(reply["error"]["code"], "op_id_reused")

    def test_op_id_reuse_is_found_for_tracks_and_deletes(self):
        t = self.new_task("h-reuse2")
        self.patch(t, [op("q.1", "create", "tr", track("tr"), kind="track")], base=0)
        moved = track("tr", 3)
        self.assertEqual(self.patch(t, [op("q.1", "create", "tr", moved, kind="track")], base=0,
                                    expect=409)["error"]["code"], "op_id_reused")
        self.patch(t, [op("q.2", "delete", "tr", kind="track")], base=1)
        self.assertEqual(self.patch(t, [op("q.2", "delete", "tr2", kind="track")], base=2,
                                    expect=409)["error"]["path"], "/operations/0/op_id")
        self.assertEqual(self.patch(t, [op("q.2", "delete", "tr", kind="track")], base=2)["duplicates"], ["q.2"])

    # ---- bounded work

    def test_more_operations_than_the_limit_are_refused_before_any_work(self):
        t = self.new_task("h-many")
        ops = [op(f"m.{i}", "create", f"o{i}", rect(f"o{i}")) for i in range(1001)]
        reply = self.patch(t, ops, base=0, expect=400)
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("out_of_range", "/operations"))
        self.assertEqual(len(self.patch(t, ops[:1000], base=0)["applied"]), 1000)

    def test_patch_body_beyond_its_limit_is_a_413_before_reading(self):
        t = self.new_task("h-big")
        declared = 8 * 1024 * 1024 + 1
        data = request_bytes("PATCH", f"/api/tasks/{t}/annotations", [("Content-Length", str(declared))], b"{")
        reply = exchange(self.server.host, self.server.port, data)
        self.assertEqual((reply.status, reply.error()["code"]), (413, "too_large"), reply)

    def test_creates_at_one_index_keep_their_order(self):
        t = self.new_task("h-order", [rect("a"), rect("z")])
        ops = [op(f"k.{i}", "create", f"n{i}", rect(f"n{i}"), index=1) for i in range(300)]
        self.patch(t, ops, base=0)
        ids = [o["id"] for o in self.doc(t)[1]["objects"]]
        self.assertEqual(ids, ["a"] + [f"n{i}" for i in reversed(range(300))] + ["z"])


class LastResortTest(SyncMixin, unittest.TestCase):
    """A failure nobody foresaw (here: a corrupted row) is a logged 500 with a JSON body, not silence."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-lastresort-")
        self.db = os.path.join(self.tmp, "db", "polymark.sqlite")
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.tmp, "--quiet",
                                               "--import", make_demo_dir(self.tmp)]).start()

    def tearDown(self):
        self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_unforeseen_failure_is_a_500_internal_and_the_server_goes_on(self):
        status, _, _ = self.send("POST", "/api/tasks", task_body("broken", [rect("a")]))
        self.assertEqual(status, 201)
        db_query(self.db, "UPDATE items SET value = '{not json' WHERE task_id = 'broken'")
        data = request_bytes("GET", "/api/tasks/broken/annotations")
        reply = exchange(self.server.host, self.server.port, data)
        self.assertEqual((reply.status, reply.error()["code"]), (500, "internal"), reply)
        self.assertEqual(self.send("GET", "/api/tasks")[0], 200)
        self.assertEqual(self.server.stderr().count("Traceback"), 1)


@sqlite_only
class SchemaUpgradeTest(ServerPerTest, SyncMixin, unittest.TestCase):
    """A version 2 database (no op fingerprints) is upgraded; its old op_ids stay plain duplicates."""

    tmp_prefix = "pm-v2-"

    def start(self):
        self.start_serving("--import", make_demo_dir(self.tmp))

    def test_v2_database_is_upgraded_and_old_op_ids_stay_duplicates(self):
        self.start()
        self.new_task("v2", [rect("a")])
        self.patch("v2", [op("old.1", "update", "a", rect("a", 1))], base=0)
        self.server.stop()
        conn = sqlite3.connect(self.db)  # make it what a version 2 serve.py wrote
        for statement in UNDO_V9:
            conn.execute(statement)
        conn.execute("ALTER TABLE changes DROP COLUMN op_hash")
        for statement in ("DROP TABLE task_sets", "DROP TABLE jobs", "DROP TABLE job_events", "DROP INDEX items_frames",
                          *(f"ALTER TABLE items DROP COLUMN {c}" for c in ("frame_lo", "frame_hi", "role", "at")),
                          *(f"ALTER TABLE changes DROP COLUMN {c}" for c in ("role", "stage", "was", "value"))):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
        conn.close()
        self.start()
        self.assertEqual(self.patch("v2", [op("old.1", "update", "a", rect("a", 5))], base=0)["duplicates"],
                         ["old.1"])
        self.patch("v2", [op("new.1", "update", "a", rect("a", 2))], base=1)
        self.assertEqual(self.patch("v2", [op("new.1", "update", "a", rect("a", 3))], base=2,
                                    expect=409)["error"]["code"], "op_id_reused")
        self.assertEqual(self.doc("v2")[1]["objects"][0]["points"][0], 2)
        conn = sqlite3.connect(self.db)
        try:
            self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
