"""The sync routes of serve.py over real HTTP: PATCH/PUT/GET?since, POST /api/tasks, history,
auth, body limits, CORS, TLS and the upgrade of a version 1 database (standard library only).

Each class starts its own serve.py subprocess (see test_serve.py for the fixtures). Run from the
repository root:

    python3 -m unittest tests/backend/test_sync_routes.py -v
"""

import base64
import http.client
import io
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import (PNG_A, PNG_B, SCHEMA_VERSION, HttpMixin, ServerProcess, make_demo_dir,  # noqa: E402
                        sqlite_only, write, write_json, stop_serving)

GOLDEN = os.path.normpath(os.path.join(HERE, "..", "data", "schema"))


def rect(item_id, x=0, label="cat", **extra):
    value = {"id": item_id, "type": "rectangle", "frame": 0, "label": label,
             "points": [x, 0, x + 10, 10]}
    value.update(extra)
    return value


def track(item_id, x=0):
    return {"id": item_id, "type": "rectangle", "label": "cat",
            "keyframes": [{"id": item_id + ".k0", "frame": 0, "points": [x, 0, x + 5, 5]},
                          {"id": item_id + ".k9", "frame": 9, "points": [x + 9, 0, x + 14, 5]}]}


def document(objects=(), tracks=(), **extra):
    doc = {"format": "polymark.annotations", "version": 1, "objects": list(objects),
           "tracks": list(tracks)}
    doc.update(extra)
    return doc


def task_body(task_id, objects=None, png=PNG_A, name="T"):
    body = {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": name,
                     "media": [{"id": "img", "type": "image", "file": "img/a.png"}],
                     "labels": [{"id": "cat"}]},
            "files": {"img/a.png": base64.b64encode(png).decode("ascii")}}
    if objects is not None:
        body["annotations"] = document(objects)
    return body


def op(op_id, verb, item_id, value=None, kind="object", **extra):
    out = {"op_id": op_id, "kind": kind, "op": verb, "id": item_id}
    if value is not None:
        out["value"] = value
    out.update(extra)
    return out


class SyncMixin(HttpMixin):
    """JSON requests with bodies, on top of HttpMixin."""

    auth = {}

    def send(self, method, path, body=None, headers=None, conn=None):
        """(status, headers, parsed JSON or None)."""
        all_headers = dict(self.auth)
        all_headers.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=data, headers=all_headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            if own:
                conn.close()
        parsed = json.loads(raw) if raw and resp.headers.get("Content-Type", "").startswith(
            "application/json") else None
        return resp.status, resp.headers, parsed

    def patch(self, task_id, operations, base, device="dev-a", user="ann", expect=200, **kw):
        body = {"base_revision": base, "user": user, "device": device, "operations": operations}
        status, _, reply = self.send("PATCH", f"/api/tasks/{task_id}/annotations", body, **kw)
        self.assertEqual(status, expect, reply)
        return reply

    def new_task(self, task_id, objects=()):
        status, _, reply = self.send("POST", "/api/tasks", task_body(task_id, list(objects)))
        self.assertEqual(status, 201, reply)
        return task_id

    def doc(self, task_id):
        status, headers, reply = self.send("GET", f"/api/tasks/{task_id}/annotations")
        self.assertEqual(status, 200, reply)
        self.assertEqual(headers["ETag"], '"rev-%d"' % reply["revision"])
        return reply["revision"], reply["document"]

    def history(self, task_id, query=""):
        status, _, reply = self.send("GET", f"/api/tasks/{task_id}/history{query}")
        self.assertEqual(status, 200, reply)
        return reply["entries"]


# --------------------------------------------------------------------------- PATCH, PUT, since, history

class SyncRoutesTest(SyncMixin, unittest.TestCase):
    """One server without auth; each test makes its own task through POST /api/tasks."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-sync-")
        cls.db = os.path.join(cls.tmp, "db", "polymark.sqlite")
        cls.media = os.path.join(cls.tmp, "db", "media")
        cls.server = ServerProcess(cls.tmp, ["--db", cls.db, "--web", cls.tmp, "--quiet",
                                             "--import", make_demo_dir(cls.tmp)]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    # ---- POST /api/tasks

    def test_post_task_imports_task_media_and_annotations(self):
        body = task_body("posted", [rect("o1")])
        status, headers, reply = self.send("POST", "/api/tasks", body)
        self.assertEqual((status, reply), (201, {"id": "posted", "created": True}))
        self.assertEqual(headers["Location"], "/api/tasks/posted")
        status, _, task = self.send("GET", "/api/tasks/posted")
        self.assertEqual(task["media"], [{"id": "img", "type": "image", "url": "/media/posted/img/a.png",
                                          "name": "a.png"}])
        self.assertEqual(self.request("GET", "/media/posted/img/a.png")[2], PNG_A)
        self.assertEqual(self.doc("posted"), (0, document([rect("o1")])))
        # The same task again changes nothing; other content under its id is refused.
        status, _, reply = self.send("POST", "/api/tasks", body)
        self.assertEqual((status, reply), (200, {"id": "posted", "created": False}))
        for other in (task_body("posted", [rect("o1")], name="Renamed"),
                      task_body("posted", [rect("o1")], png=PNG_B)):
            status, _, reply = self.send("POST", "/api/tasks", other)
            self.assertEqual((status, reply["error"]["code"]), (409, "task_exists"))
        self.assertEqual(self.request("GET", "/media/posted/img/a.png")[2], PNG_A)
        self.assertEqual(self.send("GET", "/api/tasks/posted")[2]["name"], "T")

    def test_post_task_refuses_hostile_file_names(self):
        outside = os.path.join(self.tmp, "escaped.png")
        cases = [("files", "../escaped.png", "/files/..~1escaped.png"),
                 ("files", outside, "/files/" + outside.replace("/", "~1")),
                 ("files", "img/\x00a.png", "/files/img~1\x00a.png"),
                 ("files", "..\\escaped.png", "/files/..\\escaped.png"),
                 ("files", ".hidden.png", "/files/.hidden.png"),
                 ("media", "../escaped.png", "/task/media/0/file"),
                 ("media", outside, "/task/media/0/file"),
                 ("media", "img/\x00a.png", "/task/media/0/file")]
        for i, (where, name, path) in enumerate(cases):
            with self.subTest(where=where, name=name):
                body = task_body("hostile%d" % i)
                if where == "files":
                    body["files"][name] = body["files"]["img/a.png"]
                else:
                    body["task"]["media"][0]["file"] = name
                status, _, reply = self.send("POST", "/api/tasks", body)
                self.assertEqual(status, 400, reply)
                self.assertEqual(reply["error"]["path"], path)
                self.assertEqual(reply["error"]["code"], "bad_file_name")
                self.assertFalse(os.path.exists(outside))
                self.assertFalse(os.path.exists(os.path.join(self.media, "hostile%d" % i)))
                self.assertEqual(self.send("GET", "/api/tasks/hostile%d" % i)[0], 404)

    def test_post_task_invalid_bodies_name_the_pointer(self):
        bad_points = task_body("badpost", [rect("o1")])
        bad_points["annotations"]["objects"][0]["points"] = [0, 0, 1]
        missing_file = task_body("badpost")
        missing_file["task"]["media"][0]["file"] = "img/other.png"
        bad_base64 = task_body("badpost")
        bad_base64["files"]["img/a.png"] = "not base64!"
        cases = [(bad_points, "bad_points", "/annotations/objects/0/points"),
                 (missing_file, "invalid", "/task/media/0/file"),
                 (bad_base64, "bad_base64", "/files/img~1a.png"),
                 ({"task": {"format": "polymark.task", "version": 2}}, "unsupported_version",
                  "/task/version"),
                 ({"files": {}}, "missing_key", "/task")]
        for body, code, path in cases:
            with self.subTest(path=path):
                status, _, reply = self.send("POST", "/api/tasks", body)
                self.assertEqual((status, reply["error"]["code"], reply["error"]["path"]),
                                 (400, code, path))
                self.assertIn(path, reply["error"]["message"])
                self.assertNotIn("polymark-upload-", reply["error"]["message"])
        self.assertEqual(self.send("GET", "/api/tasks/badpost")[0], 404)

    # ---- PATCH

    def test_patch_creates_updates_deletes_one_revision_per_request(self):
        t = self.new_task("p-basic", [rect("o1")])
        reply = self.patch(t, [op("a.1", "create", "o2", rect("o2", 5)),
                               op("a.2", "create", "t1", track("t1"), kind="track"),
                               op("a.3", "update", "o1", rect("o1", 7))], base=0)
        self.assertEqual(reply, {"revision": 1, "applied": ["a.1", "a.2", "a.3"], "duplicates": []})
        reply = self.patch(t, [op("a.4", "delete", "o2"), op("a.5", "create", "o0", rect("o0"), index=0)],
                           base=1)
        self.assertEqual(reply["revision"], 2)
        revision, doc = self.doc(t)
        self.assertEqual(revision, 2)
        self.assertEqual(doc, document([rect("o0"), rect("o1", 7)], [track("t1")]))

    def test_create_index_places_the_item(self):
        t = self.new_task("p-index", [rect("a"), rect("b"), rect("c")])
        self.patch(t, [op("i.1", "create", "x", rect("x"), index=1)], base=0)
        self.patch(t, [op("i.2", "create", "y", rect("y"), index=99)], base=1)
        self.patch(t, [op("i.3", "create", "z", rect("z"), index=4)], base=2)
        for n in range(60):  # many inserts at one spot exhaust the room between two doubles
            self.patch(t, [op("i.n%d" % n, "create", "n%d" % n, rect("n%d" % n), index=1)], base=3 + n)
        ids = [o["id"] for o in self.doc(t)[1]["objects"]]
        self.assertEqual(ids, ["a"] + ["n%d" % n for n in reversed(range(60))] + ["x", "b", "c", "z", "y"])

    def test_retried_request_is_applied_once(self):
        t = self.new_task("p-retry", [rect("o1")])
        body = [op("r.1", "update", "o1", rect("o1", 3)), op("r.2", "create", "o2", rect("o2"))]
        first = self.patch(t, body, base=0)
        second = self.patch(t, body, base=0)
        self.assertEqual(first, {"revision": 1, "applied": ["r.1", "r.2"], "duplicates": []})
        self.assertEqual(second, {"revision": 1, "applied": [], "duplicates": ["r.1", "r.2"]})
        self.assertEqual(self.doc(t), (1, document([rect("o1", 3), rect("o2")])))
        self.assertEqual([e["op_id"] for e in self.history(t)], ["r.1", "r.2"])
        # A retry that also carries a new operation applies only the new one.
        third = self.patch(t, body + [op("r.3", "delete", "o2")], base=0)
        self.assertEqual(third, {"revision": 2, "applied": ["r.3"], "duplicates": ["r.1", "r.2"]})
        # Duplicates are recognised even when their items were changed since by others.
        self.patch(t, [op("b.1", "update", "o1", rect("o1", 99))], base=2, device="dev-b")
        again = self.patch(t, body, base=0)
        self.assertEqual(again, {"revision": 1, "applied": [], "duplicates": ["r.1", "r.2"]})
        self.assertEqual(self.doc(t)[1]["objects"], [rect("o1", 99)])

    def test_conflict_shows_exactly_the_items_changed_by_another_device(self):
        t = self.new_task("p-conflict", [rect("o1"), rect("o2"), rect("o3")])
        self.patch(t, [op("a.1", "update", "o1", rect("o1", 1)), op("a.2", "update", "o2", rect("o2", 2))],
                   base=0, device="laptop", user="alice")
        status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", {
            "base_revision": 0, "user": "bob", "device": "tablet",
            "operations": [op("b.1", "update", "o1", rect("o1", 10)), op("b.2", "delete", "o2"),
                           op("b.3", "update", "o3", rect("o3", 30))]})
        self.assertEqual(status, 409)
        self.assertEqual(reply["error"]["code"], "conflict")
        self.assertEqual(reply["revision"], 1)
        self.assertEqual(reply["conflicts"], [
            {"kind": "object", "id": "o1", "op_id": "b.1", "server": rect("o1", 1), "revision": 1,
             "user": "alice", "device": "laptop"},
            {"kind": "object", "id": "o2", "op_id": "b.2", "server": rect("o2", 2), "revision": 1,
             "user": "alice", "device": "laptop"}])
        # Nothing was applied, not even the untouched o3.
        self.assertEqual(self.doc(t), (1, document([rect("o1", 1), rect("o2", 2), rect("o3")])))
        self.assertEqual(len(self.history(t)), 2)
        # After catching up to revision 1 the same edits go through.
        self.patch(t, [op("b.1", "update", "o1", rect("o1", 10))], base=1, device="tablet", user="bob")

    def test_untouched_items_merge_even_with_an_old_base(self):
        t = self.new_task("p-merge", [rect("o1"), rect("o2")])
        for n in range(3):
            self.patch(t, [op("a.%d" % n, "update", "o1", rect("o1", n))], base=n, device="laptop")
        reply = self.patch(t, [op("b.1", "update", "o2", rect("o2", 5)),
                               op("b.2", "create", "o3", rect("o3"))], base=0, device="tablet")
        self.assertEqual(reply["revision"], 4)
        self.assertEqual(self.doc(t)[1]["objects"], [rect("o1", 2), rect("o2", 5), rect("o3")])

    def test_same_device_pipelined_requests_with_an_old_base_are_not_conflicts(self):
        t = self.new_task("p-pipe", [rect("o1")])
        raw = b""
        for n in range(3):
            body = json.dumps({"base_revision": 0, "user": "ann", "device": "dev-a", "operations": [
                op("p.%d" % n, "update", "o1", rect("o1", n + 1))]}).encode()
            raw += (b"PATCH /api/tasks/p-pipe/annotations HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        class SharedReader(io.BufferedReader):
            def close(self):  # HTTPResponse closes its file after each body; the next reply follows
                pass

        with socket.create_connection((self.server.host, self.server.port), timeout=15) as s:
            s.sendall(raw)  # three requests on one connection before reading any reply
            f = SharedReader(socket.SocketIO(s, "rb"))
            replies = []
            for _ in range(3):
                resp = http.client.HTTPResponse(s)
                resp.fp = f
                resp.begin()
                replies.append((resp.status, json.loads(resp.read())))
        self.assertEqual(replies, [(200, {"revision": n + 1, "applied": ["p.%d" % n], "duplicates": []})
                                   for n in range(3)])
        self.assertEqual(self.doc(t), (3, document([rect("o1", 3)])))
        # Another device with the same old base does conflict on that object.
        self.patch(t, [op("q.1", "update", "o1", rect("o1", 9))], base=0, device="dev-b", expect=409)

    def test_create_existing_or_change_missing_is_a_conflict(self):
        t = self.new_task("p-exist", [rect("o1")])
        self.patch(t, [op("t.1", "create", "tr", track("tr"), kind="track")], base=0)
        cases = [(op("c.1", "create", "o1", rect("o1", 4)), rect("o1"), 0),
                 (op("c.2", "create", "tr", rect("tr")), track("tr"), 1),  # one id namespace
                 (op("c.3", "update", "nope", rect("nope")), None, None),
                 (op("c.4", "delete", "nope"), None, None),
                 (op("c.5", "update", "o1", track("o1"), kind="track"), rect("o1"), 0)]
        for operation, server, revision in cases:
            with self.subTest(op=operation["op_id"]):
                reply = self.patch(t, [operation], base=1, expect=409)
                self.assertEqual([(c["op_id"], c["server"], c["revision"]) for c in reply["conflicts"]],
                                 [(operation["op_id"], server, revision)])
        # A deleted id can come back (an undo), in its old place.
        self.patch(t, [op("d.1", "create", "o2", rect("o2"))], base=1)
        self.patch(t, [op("d.2", "delete", "o1")], base=2)
        self.patch(t, [op("d.3", "update", "o1", rect("o1", 1))], base=3, expect=409)
        self.patch(t, [op("d.4", "create", "o1", rect("o1", 1))], base=3)
        self.assertEqual(self.doc(t)[1]["objects"], [rect("o1", 1), rect("o2")])
        # Operations in one request see the ones before them.
        self.patch(t, [op("e.1", "create", "o9", rect("o9")), op("e.2", "update", "o9", rect("o9", 2)),
                       op("e.3", "delete", "o9")], base=4)
        self.assertEqual([o["id"] for o in self.doc(t)[1]["objects"]], ["o1", "o2"])

    def test_ids_stay_unique_across_items_and_keyframes(self):
        t = self.new_task("p-ids", [rect("o1")])
        self.patch(t, [op("k.0", "create", "tr", track("tr"), kind="track")], base=0)
        other = track("tr2")
        other["keyframes"][1]["id"] = "tr.k9"
        cases = [([op("k.1", "create", "tr.k0", rect("tr.k0"))], "/operations/0/id"),
                 ([op("k.0b", "update", "o1", rect("o1")),
                   op("k.1", "create", "tr2", other, kind="track")], "/operations/1/value/keyframes/1/id"),
                 ([op("k.1", "create", "tr3", dict(track("tr3"), keyframes=[
                     {"id": "o1", "frame": 0, "points": [0, 0, 1, 1]}]), kind="track")],
                  "/operations/0/value/keyframes/0/id")]
        for operations, path in cases:
            with self.subTest(path=path):
                reply = self.patch(t, operations, base=1, expect=400)
                self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("duplicate_id", path))
        self.assertEqual(self.doc(t), (1, document([rect("o1")], [track("tr")])))
        # A track keeps its own keyframe ids; a deleted track frees them, even earlier in one request.
        self.patch(t, [op("k.2", "update", "tr", track("tr", 3), kind="track")], base=1)
        self.patch(t, [op("k.3", "delete", "tr", kind="track"), op("k.4", "create", "tr2", other, kind="track")],
                   base=2)
        self.assertEqual(self.doc(t), (3, document([rect("o1")], [other])))
        # A whole-document PUT re-registers the keyframe ids.
        status, _, _ = self.send("PUT", f"/api/tasks/{t}/annotations", document([rect("o1")]),
                                 {"If-Match": '"rev-3"'})
        self.assertEqual(status, 200)
        self.patch(t, [op("k.5", "create", "tr.k9", rect("tr.k9"))], base=4)

    def test_patch_validation_names_the_pointer(self):
        t = self.new_task("p-valid", [rect("o1")])
        good = op("v.0", "update", "o1", rect("o1"))
        polygon = {"id": "o2", "type": "polygon", "frame": 0, "label": "cat", "points": [0, 0, 1, 1]}
        cases = [
            ([good, dict(good, op_id="v.1"), dict(good, op_id="v.2"), op("v.3", "create", "o2", polygon)],
             "bad_points", "/operations/3/value/points"),
            ([op("v.1", "update", "o1", rect("o2"))], "bad_id", "/operations/0/value/id"),
            ([op("v.1", "delete", "o1", rect("o1"))], "unknown_key", "/operations/0/value"),
            ([op("v.1", "create", "o3", None)], "missing_key", "/operations/0/value"),
            ([op("bad op id!", "delete", "o1")], "bad_id", "/operations/0/op_id"),
            ([op("x" * 129, "delete", "o1")], "bad_id", "/operations/0/op_id"),
            ([good, dict(good)], "duplicate_id", "/operations/1/op_id"),
            ([op("v.1", "move", "o1")], "bad_enum", "/operations/0/op"),
            ([op("v.1", "delete", "o1", kind="shape")], "bad_enum", "/operations/0/kind"),
            ([op("v.1", "update", "o1", rect("o1"), index=0)], "unknown_key", "/operations/0/index"),
            ([op("v.1", "create", "o4", rect("o4"), index=-1)], "out_of_range", "/operations/0/index"),
            ([op("v.1", "create", "t", dict(track("t"), type="tag"), kind="track")], "bad_enum",
             "/operations/0/value/type"),
            ([op("v.1", "create", "t", dict(track("t"), keyframes=[]), kind="track")], "out_of_range",
             "/operations/0/value/keyframes"),
            ([op("v.1", "create", "o5", rect("o5", color="red"))], "unknown_key", "/operations/0/value/color"),
            ([dict(good, extra=1)], "unknown_key", "/operations/0/extra"),
        ]
        for operations, code, path in cases:
            with self.subTest(path=path, code=code):
                body = {"base_revision": 0, "user": "ann", "device": "d", "operations": operations}
                status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", body)
                self.assertEqual((status, reply["error"]["code"], reply["error"]["path"]), (400, code, path))
                self.assertIn(path, reply["error"]["message"])
        for body, code, path in [({"base_revision": 0, "user": "a", "operations": []}, "missing_key", "/device"),
                                 ({"base_revision": -1, "user": "a", "device": "d", "operations": []},
                                  "out_of_range", "/base_revision"),
                                 ({"base_revision": 0, "user": "", "device": "d", "operations": []},
                                  "expected_string", "/user"),
                                 ([], "not_object", "")]:
            with self.subTest(body=body):
                status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", body)
                self.assertEqual((status, reply["error"]["code"], reply["error"]["path"]), (400, code, path))
        status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", b'{"base_revision": 0,')
        self.assertEqual((status, reply["error"]["code"]), (400, "not_json"))
        status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations",
                                     b'{"base_revision": 0, "x": 1e400}')
        self.assertEqual((status, reply["error"]["code"], reply["error"]["path"]), (400, "out_of_range", "/x"))
        reply = self.patch(t, [good], base=5, expect=400)
        self.assertEqual((reply["error"]["code"], reply["revision"]), ("out_of_range", 0))
        self.assertEqual(self.doc(t), (0, document([rect("o1")])))
        self.assertEqual(self.send("PATCH", "/api/tasks/absent/annotations",
                                   {"base_revision": 0, "user": "a", "device": "d", "operations": []})[0], 404)

    def test_user_and_device_from_headers(self):
        t = self.new_task("p-headers", [rect("o1")])
        body = {"base_revision": 0, "operations": [op("h.1", "update", "o1", rect("o1", 1))]}
        status, _, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", body,
                                     {"X-Polymark-User": "hedda", "X-Polymark-Device": "kiosk-3"})
        self.assertEqual(status, 200, reply)
        entry = self.history(t)[0]
        self.assertEqual((entry["user"], entry["device"]), ("hedda", "kiosk-3"))

    def test_keep_alive_after_a_patch(self):
        t = self.new_task("p-alive", [rect("o1")])
        conn = self.connect()
        try:
            for n in range(3):
                body = {"base_revision": n, "user": "a", "device": "d",
                        "operations": [op("k.%d" % n, "update", "o1", rect("o1", n))]}
                status, headers, reply = self.send("PATCH", f"/api/tasks/{t}/annotations", body, conn=conn)
                self.assertEqual(status, 200)
                self.assertNotEqual(headers.get("Connection"), "close")
            sock = conn.sock
            self.assertEqual(self.send("GET", f"/api/tasks/{t}/annotations", conn=conn)[0], 200)
            self.assertIs(conn.sock, sock)  # the same connection served all four requests
        finally:
            conn.close()

    # ---- GET ?since

    def test_since_returns_latest_state_of_changed_items(self):
        t = self.new_task("p-since", [rect("o1"), rect("o2"), rect("o3")])
        self.patch(t, [op("s.1", "update", "o1", rect("o1", 1))], base=0, device="d1", user="u1")
        self.patch(t, [op("s.2", "update", "o2", rect("o2", 2)), op("s.3", "delete", "o3")], base=1,
                   device="d2", user="u2")
        self.patch(t, [op("s.4", "update", "o1", rect("o1", 4)),
                       op("s.5", "create", "tr", track("tr"), kind="track")], base=2, device="d1", user="u1")
        status, _, reply = self.send("GET", f"/api/tasks/{t}/annotations?since=1")
        self.assertEqual(status, 200)
        self.assertEqual(reply, {"revision": 3, "since": 1, "changes": [
            {"kind": "object", "id": "o2", "value": rect("o2", 2), "revision": 2, "op_id": "s.2",
             "user": "u2", "device": "d2"},
            {"kind": "object", "id": "o3", "value": None, "revision": 2, "op_id": "s.3",
             "user": "u2", "device": "d2"},
            {"kind": "object", "id": "o1", "value": rect("o1", 4), "revision": 3, "op_id": "s.4",
             "user": "u1", "device": "d1"},
            {"kind": "track", "id": "tr", "value": track("tr"), "revision": 3, "op_id": "s.5",
             "user": "u1", "device": "d1"}]})
        self.assertEqual(self.send("GET", f"/api/tasks/{t}/annotations?since=3")[2]["changes"], [])
        self.assertEqual(self.send("GET", f"/api/tasks/{t}/annotations?since=2&v=9")[2]["since"], 2)
        self.assertEqual(self.send("GET", f"/api/tasks/{t}/annotations?v=9")[2]["revision"], 3)
        self.assertEqual(len(self.send("GET", f"/api/tasks/{t}/annotations?since=0")[2]["changes"]), 4)
        for bad in ("x", "-1", "", "1.5", "1&since=2", "%ff"):
            with self.subTest(since=bad):
                status, _, reply = self.send("GET", f"/api/tasks/{t}/annotations?since={bad}")
                self.assertEqual((status, reply["error"]["code"]), (400, "bad_request"))
        self.assertEqual(self.send("GET", "/api/tasks/absent/annotations?since=0")[0], 404)

    # ---- PUT

    def test_put_needs_the_current_revision(self):
        t = self.new_task("p-put", [rect("o1"), rect("o2")])
        replacement = document([rect("o2", 5), rect("o3")], [track("tr")], meta={"qa": "ok"})
        path = f"/api/tasks/{t}/annotations"
        status, _, reply = self.send("PUT", path, replacement)
        self.assertEqual((status, reply["error"]["code"]), (428, "precondition_required"))
        self.patch(t, [op("x.1", "update", "o1", rect("o1", 1))], base=0)
        for stale in ('"rev-0"', '"rev-7"', "rev-1", "*"):
            with self.subTest(if_match=stale):
                status, _, reply = self.send("PUT", path, replacement, {"If-Match": stale})
                self.assertEqual((status, reply["error"]["code"], reply["revision"]),
                                 (412, "precondition_failed", 1))
        self.assertEqual(self.doc(t)[0], 1)
        status, headers, reply = self.send("PUT", path, replacement,
                                           {"If-Match": '"rev-1"', "X-Polymark-User": "lead",
                                            "X-Polymark-Device": "desk"})
        self.assertEqual((status, reply, headers["ETag"]), (200, {"revision": 2}, '"rev-2"'))
        self.assertEqual(self.doc(t), (2, replacement))
        entries = [(e["op"], e["kind"], e["id"], e["user"], e["device"], e["base_revision"])
                   for e in self.history(t, "?after=1")]
        self.assertEqual(sorted(entries), sorted([
            ("update", "object", "o2", "lead", "desk", 1), ("create", "object", "o3", "lead", "desk", 1),
            ("create", "track", "tr", "lead", "desk", 1), ("delete", "object", "o1", "lead", "desk", 1),
            ("replace", "document", "", "lead", "desk", 1)]))
        # A device that edited o1 from revision 1 now conflicts with the replacement.
        self.patch(t, [op("y.1", "update", "o1", rect("o1", 3))], base=1, expect=409)
        bad = document([rect("o1"), rect("o1")])
        status, _, reply = self.send("PUT", path, bad, {"If-Match": '"rev-2"'})
        self.assertEqual((status, reply["error"]["code"], reply["error"]["path"]),
                         (400, "duplicate_id", "/objects/1/id"))

    def test_put_validates_like_the_golden_files(self):
        t = self.new_task("p-golden")
        with open(os.path.join(GOLDEN, "invalid", "expectations.json"), encoding="utf-8") as f:
            expectations = json.load(f)
        revision = 0
        for name in sorted(os.listdir(os.path.join(GOLDEN, "valid"))):
            with self.subTest(valid=name):
                with open(os.path.join(GOLDEN, "valid", name), "rb") as f:
                    status, _, reply = self.send("PUT", f"/api/tasks/{t}/annotations", f.read(),
                                                 {"If-Match": '"rev-%d"' % revision})
                self.assertEqual(status, 200, reply)
                revision = reply["revision"]
        for name, expected in sorted(expectations.items()):
            with self.subTest(invalid=name):
                with open(os.path.join(GOLDEN, "invalid", name), "rb") as f:
                    status, _, reply = self.send("PUT", f"/api/tasks/{t}/annotations", f.read(),
                                                 {"If-Match": '"rev-%d"' % revision})
                self.assertEqual(status, 400, reply)
                self.assertEqual(reply["error"]["code"], expected["code"])
                if expected["code"] != "not_json":
                    self.assertEqual(reply["error"]["path"], expected["path"])

    # ---- history

    def test_history_is_an_audit_trail(self):
        t = self.new_task("p-history", [rect("o1")])
        self.patch(t, [op("h.1", "update", "o1", rect("o1", 1)), op("h.2", "create", "o2", rect("o2"))],
                   base=0, device="laptop", user="alice")
        self.patch(t, [op("h.3", "delete", "o2")], base=1, device="phone", user="bob")
        entries = self.history(t)
        self.assertEqual([{k: e[k] for k in ("revision", "op_id", "kind", "id", "op", "user", "device",
                                            "base_revision")} for e in entries], [
            {"revision": 1, "op_id": "h.1", "kind": "object", "id": "o1", "op": "update", "user": "alice",
             "device": "laptop", "base_revision": 0},
            {"revision": 1, "op_id": "h.2", "kind": "object", "id": "o2", "op": "create", "user": "alice",
             "device": "laptop", "base_revision": 0},
            {"revision": 2, "op_id": "h.3", "kind": "object", "id": "o2", "op": "delete", "user": "bob",
             "device": "phone", "base_revision": 1}])
        for e in entries:
            self.assertRegex(e["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertLess(abs(time.mktime(time.strptime(e["at"][:19], "%Y-%m-%dT%H:%M:%S"))
                                - time.mktime(time.gmtime())), 120)
        self.assertEqual([e["op_id"] for e in self.history(t, "?after=1")], ["h.3"])
        self.assertEqual([e["op_id"] for e in self.history(t, "?after=0&limit=2")], ["h.1", "h.2"])
        # A page never ends inside a revision: the last entry's revision is the next page's "after".
        self.assertEqual([e["op_id"] for e in self.history(t, "?after=0&limit=1")], ["h.1", "h.2"])
        for bad in ("?limit=0", "?after=x", "?limit=100001", "?since=1"):
            with self.subTest(query=bad):
                self.assertEqual(self.send("GET", f"/api/tasks/{t}/history{bad}")[0], 400)
        self.assertEqual(self.send("GET", "/api/tasks/absent/history")[0], 404)

    def test_history_of_one_item_and_the_value_a_delete_removed(self):
        t = self.new_task("p-history-item", [rect("o1"), rect("o3", 7)])
        self.patch(t, [op("i.1", "update", "o1", rect("o1", 1)), op("i.2", "create", "o2", rect("o2", 2))],
                   base=0, user="alice")
        self.patch(t, [op("i.3", "delete", "o2")], base=1, user="bob")
        self.assertEqual([e["op_id"] for e in self.history(t, "?item=o2")], ["i.2", "i.3"])
        self.assertEqual([e["op_id"] for e in self.history(t, "?item=o1&after=0")], ["i.1"])
        self.assertEqual(self.history(t, "?item=nobody"), [])
        deleted = self.history(t, "?item=o2")
        self.assertNotIn("was", deleted[0])
        self.assertEqual(deleted[1]["was"], rect("o2", 2))
        # A PUT that leaves an item out deletes it, and keeps its value the same way.
        revision, document_now = self.doc(t)
        document_now["objects"] = [o for o in document_now["objects"] if o["id"] != "o3"]
        status, _, reply = self.send("PUT", f"/api/tasks/{t}/annotations", document_now,
                                     {"If-Match": '"rev-%d"' % revision})
        self.assertEqual(status, 200, reply)
        put_delete = self.history(t, "?item=o3")
        self.assertEqual([e["op"] for e in put_delete], ["delete"])
        self.assertEqual(put_delete[0]["was"], rect("o3", 7))
        for bad in ("?item=", "?item=a%2Fb", "?item=o1&item=o2"):
            with self.subTest(query=bad):
                self.assertEqual(self.send("GET", f"/api/tasks/{t}/history{bad}")[0], 400)

    def test_history_keeps_the_value_a_prediction_was_created_with_and_no_other(self):
        predicted = dict(rect("p1", 3), source="model", score=0.25)
        t = self.new_task("p-history-predictions", [predicted, rect("m1")])
        self.patch(t, [op("k.1", "create", "p2", dict(rect("p2", 4), source="model", score=0.5)),
                       op("k.2", "create", "m2", rect("m2", 5)),
                       op("k.3", "update", "p1", dict(rect("p1", 9), source="manual", score=0.25))], base=0, user="ana")
        by_id = {}
        for e in self.history(t):
            by_id.setdefault(e["id"], []).append(e)
        self.assertEqual(by_id["p2"][0]["value"], dict(rect("p2", 4), source="model", score=0.5))
        self.assertNotIn("value", by_id["m2"][0])   # a person's create: its value is in the document
        self.assertNotIn("value", by_id["p1"][-1])  # an update never carries one
        imported = [e for e in self.history(t) if e["id"] == "p1" and e["op"] == "create"]
        self.assertEqual(imported[0]["value"], predicted)  # the task's import keeps it too
        self.assertEqual((imported[0]["revision"], imported[0]["role"]), (0, "manager"))
        self.assertEqual([e["id"] for e in self.history(t, "?after=0") if e["revision"] == 0], [])

    def test_cors_is_off_by_default(self):
        status, headers, _ = self.send("GET", "/api/tasks", headers={"Origin": "https://portal.example"})
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Access-Control-Allow-Origin"])
        self.assertIsNone(headers["Vary"])


# --------------------------------------------------------------------------- auth, limits, CORS

class AuthLimitsCorsTest(SyncMixin, unittest.TestCase):
    TOKEN = "tok-CLI-5a1e0c9d"
    FILE_TOKEN = "tok-FILE-77b2e4f1"
    WRONG = "tok-WRONG-0b9d3a66"
    ORIGIN = "https://portal.example"
    auth = {"Authorization": "Bearer " + TOKEN}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-auth-")
        tokens = os.path.join(cls.tmp, "tokens.json")
        write_json(tokens, {cls.FILE_TOKEN: "alice"})
        cls.server = ServerProcess(cls.tmp, [
            "--db", os.path.join(cls.tmp, "db", "p.sqlite"), "--web", cls.tmp,
            "--import", make_demo_dir(cls.tmp), "--token", cls.TOKEN, "--tokens-file", tokens,
            "--max-body", "4096", "--cors-origin", cls.ORIGIN, "--cors-origin", "http://localhost:5173"]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    def test_api_needs_a_bearer_token(self):
        for headers in ({}, {"Authorization": "Bearer " + self.WRONG}, {"Authorization": self.TOKEN},
                        {"Authorization": "Basic " + self.TOKEN}, {"Authorization": "Bearer "},
                        {"Authorization": "Bearer " + self.TOKEN[:-1]}):
            with self.subTest(headers=headers):
                status, resp, body = self.request("GET", "/api/tasks/demo/annotations", headers)
                self.assertEqual(status, 401)
                self.assertEqual(resp["WWW-Authenticate"], 'Bearer realm="polymark"')
                self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")
        status, _, body = self.request("PATCH", "/api/tasks/demo/annotations", {})
        self.assertEqual(status, 401)
        for token in (self.TOKEN, self.FILE_TOKEN):
            with self.subTest(token=token):
                status, _, _ = self.request("GET", "/api/tasks", {"Authorization": "bearer " + token})
                self.assertEqual(status, 200)

    def test_a_token_that_names_a_user_is_the_user(self):
        body = {"base_revision": 0, "user": "mallory", "device": "d",
                "operations": [op("auth.1", "create", "a1", rect("a1"))]}
        status, _, reply = self.send("PATCH", "/api/tasks/demo/annotations", body,
                                     {"Authorization": "Bearer " + self.FILE_TOKEN})
        self.assertEqual(status, 200, reply)
        entry = [e for e in self.history("demo") if e["op_id"] == "auth.1"][0]
        self.assertEqual(entry["user"], "alice")

    def test_tokens_never_reach_the_log(self):
        self.request("GET", "/api/tasks?log-probe=auth", {"Authorization": "Bearer " + self.WRONG})
        self.request("GET", "/api/tasks?log-probe=ok", self.auth)
        self.request("GET", "/api/tasks?log-probe=file", {"Authorization": "Bearer " + self.FILE_TOKEN})
        deadline = time.monotonic() + 5
        while "log-probe=file" not in self.server.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = self.server.stderr()
        self.assertIn("log-probe=auth HTTP/1.1\" 401", log)
        for secret in (self.TOKEN, self.FILE_TOKEN, self.WRONG):
            self.assertNotIn(secret, log)

    def test_oversized_body_is_refused_before_reading(self):
        status, _, reply = self.send("PATCH", "/api/tasks/demo/annotations", b"x" * 5000)
        self.assertEqual((status, reply["error"]["code"]), (413, "too_large"))
        # Declared but never sent: an answer still comes at once, so the body was not awaited.
        with socket.create_connection((self.server.host, self.server.port), timeout=5) as s:
            s.sendall(b"POST /api/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.TOKEN.encode()
                      + b"\r\nContent-Length: 100000000\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 413 "))
        body = {"base_revision": 0, "user": "u", "device": "d", "operations": []}
        self.assertEqual(self.send("PATCH", "/api/tasks/demo/annotations", body)[0], 200)

    def test_cors_for_allowed_origins_only(self):
        status, headers, _ = self.send("GET", "/api/tasks", headers={"Origin": self.ORIGIN})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.ORIGIN)
        self.assertIn("Origin", headers.get_all("Vary"))
        self.assertIn("ETag", headers["Access-Control-Expose-Headers"])
        status, headers, _ = self.send("GET", "/api/tasks", headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Access-Control-Allow-Origin"])
        preflight = {"Origin": self.ORIGIN, "Access-Control-Request-Method": "PATCH",
                     "Access-Control-Request-Headers": "authorization, if-match, x-polymark-device"}
        status, headers, body = self.request("OPTIONS", "/api/tasks/demo/annotations", preflight)
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.ORIGIN)
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET, HEAD, PUT, PATCH, OPTIONS")
        allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
        self.assertLessEqual({"authorization", "if-match", "x-polymark-user", "x-polymark-device",
                              "content-type"}, allowed)
        status, headers, _ = self.request("OPTIONS", "/api/tasks/demo/annotations",
                                          dict(preflight, Origin="https://evil.example"))
        self.assertEqual(status, 204)
        for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
                     "Access-Control-Allow-Headers"):
            self.assertIsNone(headers[name])
        # A refused request from an allowed origin still carries CORS headers, so the page can read it.
        status, headers, _ = self.request("GET", "/api/tasks", {"Origin": "http://localhost:5173"})
        self.assertEqual((status, headers["Access-Control-Allow-Origin"]), (401, "http://localhost:5173"))


# --------------------------------------------------------------------------- TLS

class TlsTest(SyncMixin, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("the openssl command is not installed, so no certificate can be made")
        cls.tmp = tempfile.mkdtemp(prefix="pm-tls-")
        cls.cert, cls.key = os.path.join(cls.tmp, "cert.pem"), os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-days", "1", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", cls.key, "-out", cls.cert], check=True, capture_output=True, timeout=60)
        cls.server = ServerProcess(cls.tmp, ["--db", os.path.join(cls.tmp, "db", "p.sqlite"), "--web", cls.tmp,
                                             "--import", make_demo_dir(cls.tmp), "--quiet",
                                             "--tls-cert", cls.cert, "--tls-key", cls.key]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    def connect(self):
        context = ssl.create_default_context(cafile=self.cert)
        return http.client.HTTPSConnection(self.server.host, self.server.port, context=context, timeout=15)

    def test_serves_https_with_the_given_certificate(self):
        self.assertEqual(self.server.url, "https://127.0.0.1:%d/" % self.server.port)
        self.assertEqual(self.doc("demo")[0], 0)
        self.patch("demo", [op("tls.1", "create", "t1", rect("t1"))], base=0)
        self.assertEqual(self.request("GET", "/media/demo/a.png")[2], PNG_A)

    def test_untrusted_and_plain_clients_are_refused_and_server_lives_on(self):
        plain = http.client.HTTPConnection(self.server.host, self.server.port, timeout=5)
        with self.assertRaises((http.client.HTTPException, OSError)):
            plain.request("GET", "/api/tasks")
            plain.getresponse().read()
        plain.close()
        untrusting = http.client.HTTPSConnection(self.server.host, self.server.port, timeout=5,
                                                 context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLError):
            untrusting.request("GET", "/api/tasks")
        untrusting.close()
        silent = socket.create_connection((self.server.host, self.server.port), timeout=5)
        try:  # a client that never sends a handshake must not stop the others
            self.assertEqual(self.send("GET", "/api/tasks")[0], 200)
        finally:
            silent.close()


# --------------------------------------------------------------------------- migration

V1_SCHEMA = """
CREATE TABLE tasks (id TEXT PRIMARY KEY, name TEXT NOT NULL, task TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE annotations (task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
    revision INTEGER NOT NULL, document TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
PRAGMA user_version = 1;
"""


@sqlite_only
class MigrationTest(SyncMixin, unittest.TestCase):
    """A database written by the version 1 serve.py (its exact tables) is upgraded in place."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-migrate-")
        self.db = os.path.join(self.tmp, "db", "polymark.sqlite")
        os.makedirs(os.path.dirname(self.db))
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_v1_database_keeps_its_documents(self):
        task = {"format": "polymark.task", "version": 1, "id": "old", "name": "Old",
                "media": [{"id": "a", "type": "image", "url": "/media/old/a.png", "name": "a.png"}]}
        legacy = {"type": "rectangle", "frame": 0, "label": "cat", "points": [0, 0, 1, 1]}  # no id: v1 took it
        doc = document([rect("z9"), rect("a1", 3), legacy], [track("tr")], meta={"note": "héllo"})
        conn = sqlite3.connect(self.db)
        conn.executescript(V1_SCHEMA)
        conn.execute("INSERT INTO tasks (id, name, task) VALUES ('old', 'Old', ?)", (json.dumps(task),))
        conn.execute("INSERT INTO annotations (task_id, revision, document) VALUES ('old', 7, ?)",
                     (json.dumps(doc, sort_keys=True),))
        conn.commit()
        conn.close()
        write(os.path.join(self.tmp, "db", "media", "old", "a.png"), PNG_A)
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.tmp, "--quiet"]).start()
        self.assertEqual(self.doc("old"), (7, doc))
        self.assertEqual(self.send("GET", "/api/tasks/old")[2], task)
        self.assertEqual(self.send("GET", "/api/tasks/old/annotations?since=6")[2]["revision"], 7)
        self.assertEqual(self.history("old"), [])
        self.patch("old", [op("m.1", "update", "a1", rect("a1", 4)), op("m.2", "create", "n1", rect("n1"))],
                   base=7)
        self.assertEqual(self.doc("old"), (8, document([rect("z9"), rect("a1", 4), legacy, rect("n1")],
                                                       [track("tr")], meta={"note": "héllo"})))
        self.server.stop()
        self.server = None
        conn = sqlite3.connect(self.db)
        try:
            self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
        finally:
            conn.close()
        # Starting again on the upgraded database changes nothing.
        self.server = ServerProcess(self.tmp, ["--db", self.db, "--web", self.tmp, "--quiet"]).start()
        self.assertEqual(self.doc("old")[0], 8)


if __name__ == "__main__":
    unittest.main()
