"""Annotation sets over real HTTP: golden frames and consensus replicas derived from a task
(docs/SCHEMA.md, section 15): derived task ids, manager-only golden sets, per-job frame picks,
replica jobs, and the upgrade of a version 7 database.

    python3 -m unittest tests/backend/test_sets.py -v
"""

import base64
import os
import shutil
import sqlite3
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import MP4, SCHEMA_VERSION, UNDO_V9, ServerProcess, sqlite_only, write_json  # noqa: E402
from test_sync_routes import SyncMixin, document, op, rect  # noqa: E402

TOKENS = {"t-ana": {"user": "ana", "role": "labeler"}, "t-bo": {"user": "bo", "role": "labeler"},
          "t-rita": {"user": "rita", "role": "reviewer"}, "t-mia": {"user": "mia", "role": "manager"}}
AS = {"labeler": "t-ana", "reviewer": "t-rita", "manager": "t-mia", "bo": "t-bo"}
FRAMES = 40


def video_task(task_id, frames=FRAMES):
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": task_id,
                     "media": [{"id": "clip", "type": "video", "file": "clip.mp4", "frames": frames}],
                     "labels": [{"id": "cat"}]},
            "files": {"clip.mp4": base64.b64encode(MP4).decode("ascii")}}


def box(item_id, frame):
    return rect(item_id, frame=frame)


def keyframed(item_id, frames):
    return {"id": item_id, "type": "rectangle", "label": "cat",
            "keyframes": [{"id": f"{item_id}.k{f}", "frame": f, "points": [0, 0, 5, 5]} for f in frames]}


def start_server(tmp, name):
    tokens = os.path.join(tmp, "tokens.json")
    write_json(tokens, TOKENS)
    return ServerProcess(tmp, ["--db", os.path.join(tmp, name, "p.sqlite"), "--web", tmp, "--quiet",
                               "--tokens-file", tokens]).start()


class SetsMixin(SyncMixin):

    def call(self, who, method, path, body=None, expect=200):
        token = AS.get(who, who)
        status, _, reply = self.send(method, path, body, headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(status, expect, f"{method} {path} as {who}: {reply}")
        return reply

    def import_task(self, task_id, frames=FRAMES):
        self.call("manager", "POST", "/api/tasks", video_task(task_id, frames), expect=201)
        return task_id

    def split(self, task_id, body):
        return self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", body)["jobs"]

    def make_sets(self, task_id, body, expect=201, who="manager"):
        return self.call(who, "POST", f"/api/tasks/{task_id}/sets", body, expect)

    def error(self, reply, code):
        self.assertEqual(reply["error"]["code"], code, reply)
        return reply["error"]


class SetsTest(SetsMixin, unittest.TestCase):
    """One server with a token per role; each test makes its own task."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-sets-")
        cls.server = start_server(cls.tmp, "db")
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        log = cls.server.stderr()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if "Traceback" in log:
            raise AssertionError("serve.py logged a traceback:\n" + log)

    def fresh_task(self):
        type(self).counter += 1
        return self.import_task(f"st{self.counter}")

    # ---- golden sets

    def test_golden_set_by_frames_is_a_task_of_the_parent_frames_without_jobs(self):
        parent = self.fresh_task()
        reply = self.make_sets(parent, {"kind": "golden", "frames": [12, 0, 39]})
        golden = f"{parent}@golden"
        self.assertEqual(reply, {"golden": {"id": golden, "frames": [0, 12, 39]}, "replicas": []})
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}/sets"), reply)
        parent_task = self.call("manager", "GET", f"/api/tasks/{parent}")
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{golden}"), dict(parent_task, id=golden))
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{golden}/jobs")["jobs"], [])
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{golden}/annotations")["document"]["objects"], [])
        again = self.make_sets(parent, {"kind": "golden", "frames": [5]}, expect=200)
        self.assertEqual(again["golden"], {"id": golden, "frames": [5]})

    def test_golden_set_per_job_takes_k_frames_inside_each_job(self):
        parent = self.fresh_task()
        jobs = self.split(parent, {"frames_per_job": 10})
        frames = self.make_sets(parent, {"kind": "golden", "per_job": 3})["golden"]["frames"]
        self.assertEqual(frames, sorted(set(frames)))
        for job in jobs:
            inside = [f for f in frames if job["start_frame"] <= f <= job["stop_frame"]]
            self.assertEqual(len(inside), 3, (job, frames))
        self.assertEqual(len(frames), 3 * len(jobs))
        everything = self.make_sets(parent, {"kind": "golden", "per_job": 11}, expect=200)["golden"]["frames"]
        self.assertEqual(everything, list(range(FRAMES)))

    def test_per_job_picks_are_the_same_on_another_server(self):
        parent = self.fresh_task()
        self.split(parent, {"frames_per_job": 8})
        here = self.make_sets(parent, {"kind": "golden", "per_job": 2})["golden"]["frames"]
        self.assertEqual(self.make_sets(parent, {"kind": "golden", "per_job": 2}, expect=200)["golden"]["frames"],
                         here)
        self.server = start_server(self.tmp, "other-db")  # this test's requests go there until deleted
        try:
            self.import_task(parent)
            self.split(parent, {"frames_per_job": 8})
            there = self.make_sets(parent, {"kind": "golden", "per_job": 2})["golden"]["frames"]
        finally:
            self.server.stop()
            del self.server
        self.assertEqual(there, here)
        elsewhere = self.fresh_task()
        self.split(elsewhere, {"frames_per_job": 8})
        picks = self.make_sets(elsewhere, {"kind": "golden", "per_job": 2})["golden"]["frames"]
        self.assertNotEqual(picks, here, "the picks depend on the task id")

    def test_per_job_needs_a_task_split_into_jobs(self):
        parent = self.fresh_task()
        error = self.error(self.make_sets(parent, {"kind": "golden", "per_job": 2}, expect=400), "no_jobs")
        self.assertIn("split", error["message"])
        self.assertIsNone(self.call("manager", "GET", f"/api/tasks/{parent}/sets")["golden"])

    def test_a_document_seeds_the_golden_set_on_golden_frames_only(self):
        parent = self.fresh_task()
        seed = document([box("g1", 5), box("g2", 20)], [keyframed("gt", [5, 20])])
        self.make_sets(parent, {"kind": "golden", "frames": [5, 20], "document": seed})
        stored = self.call("manager", "GET", f"/api/tasks/{parent}@golden/annotations")
        self.assertEqual(stored["document"]["objects"], seed["objects"])
        self.assertEqual(stored["document"]["tracks"], seed["tracks"])
        outside = [
            (document([box("g1", 5), box("g3", 6)]), "/document/objects/1/frame"),
            (document([], [keyframed("gt", [5, 7])]), "/document/tracks/0/keyframes/1/frame"),
        ]
        for body, path in outside:
            reply = self.make_sets(parent, {"kind": "golden", "frames": [5, 20], "document": body}, expect=400)
            self.assertEqual(self.error(reply, "not_golden_frame")["path"], path)
        broken = document([{"id": "g1", "type": "rectangle", "frame": 5, "points": [0, 0, 1, 1]}])
        reply = self.make_sets(parent, {"kind": "golden", "frames": [5], "document": broken}, expect=400)
        self.assertTrue(reply["error"]["path"].startswith("/document/objects/0"), reply)
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}/sets")["golden"]["frames"], [5, 20])
        replaced = self.make_sets(parent, {"kind": "golden", "frames": [5], "document": document([box("g9", 5)])},
                                  expect=200)
        self.assertEqual(replaced["golden"]["frames"], [5])
        objects = self.call("manager", "GET", f"/api/tasks/{parent}@golden/annotations")["document"]["objects"]
        self.assertEqual([o["id"] for o in objects], ["g9"])

    def test_bad_bodies_name_their_path_and_create_nothing(self):
        parent = self.fresh_task()
        cases = [
            ({"kind": "golden", "frames": [0, FRAMES]}, "/frames/1"),
            ({"kind": "golden", "frames": [3, 4, 3]}, "/frames/2"),
            ({"kind": "golden", "frames": [-1]}, "/frames/0"),
            ({"kind": "golden", "frames": [True]}, "/frames/0"),
            ({"kind": "golden", "frames": ["1"]}, "/frames/0"),
            ({"kind": "golden", "frames": []}, "/frames"),
            ({"kind": "golden", "frames": [1], "per_job": 1}, ""),
            ({"kind": "golden"}, ""),
            ({"kind": "golden", "per_job": 0}, "/per_job"),
            ({"kind": "golden", "frames": [1], "count": 2}, "/count"),
            ({"kind": "replicas", "count": 1}, "/count"),
            ({"kind": "replicas", "count": 10}, "/count"),
            ({"kind": "replicas", "count": 2, "frames": [1]}, "/frames"),
            ({"kind": "silver", "frames": [1]}, "/kind"),
            ([], ""),
        ]
        for body, path in cases:
            reply = self.make_sets(parent, body, expect=400)
            self.assertEqual(reply["error"]["path"], path, body)
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}/sets"), {"golden": None, "replicas": []})

    def test_every_golden_route_is_refused_to_labelers_and_reviewers(self):
        parent = self.fresh_task()
        self.make_sets(parent, {"kind": "golden", "frames": [1, 2]})
        golden = f"/api/tasks/{parent}@golden"
        patch = {"base_revision": 0, "device": "d", "operations": [op("o1", "create", "x", box("x", 1))]}
        requests = [
            ("GET", golden, None), ("GET", golden + "/annotations", None),
            ("GET", golden + "/annotations?since=0", None),
            ("PATCH", golden + "/annotations", patch), ("PUT", golden + "/annotations", document()),
            ("GET", golden + "/history", None), ("GET", golden + "/review", None),
            ("PATCH", golden + "/review", patch), ("GET", golden + "/jobs", None),
            ("POST", golden + "/jobs", {"frames_per_job": 2}), ("GET", golden + "/jobs/1", None),
            ("PATCH", golden + "/jobs/1", {"stage": "review"}), ("GET", golden + "/guidelines", None),
            ("GET", golden + "/guidelines/versions", None), ("GET", golden + "/guidelines/files/a.png", None),
            ("PUT", golden + "/guidelines", {"text": "x", "base_version": 0}),
            ("GET", golden + "/sets", None), ("POST", golden + "/sets", {"kind": "replicas", "count": 2}),
            ("HEAD", golden, None),
        ]
        for role in ("labeler", "reviewer"):
            for method, path, body in requests:
                status, _, reply = self.send(method, path, body, headers={"Authorization": f"Bearer {AS[role]}"})
                self.assertEqual(status, 403, f"{method} {path} as {role}: {reply}")
                if method != "HEAD":
                    self.assertIn(f"golden set of task {parent!r} is for managers",
                                  self.error(reply, "forbidden")["message"])
        self.assertEqual(self.call("manager", "GET", golden + "/annotations")["revision"], 0)

    def test_sets_routes_are_for_managers(self):
        parent = self.fresh_task()
        for role in ("labeler", "reviewer"):
            reply = self.call(role, "GET", f"/api/tasks/{parent}/sets", expect=403)
            message = self.error(reply, "forbidden")["message"]
            self.assertIn(f"a {role} may not", message)
            self.assertIn("a manager may", message)
            body = {"kind": "golden", "frames": [1]}
            message = self.error(self.make_sets(parent, body, expect=403, who=role), "forbidden")["message"]
            self.assertIn(f"a {role} may not create annotation sets", message)
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}/sets"), {"golden": None, "replicas": []})

    def test_a_golden_set_changes_nothing_a_labeler_sees_of_the_parent(self):
        parent = self.fresh_task()
        self.split(parent, {"frames_per_job": 10})
        self.call("manager", "PATCH", f"/api/tasks/{parent}/annotations",
                  {"base_revision": 0, "device": "d", "operations": [op("p1", "create", "p", box("p", 3))]})

        def seen():
            listing = [t for t in self.call("labeler", "GET", "/api/tasks")["tasks"] if t["id"].startswith(parent)]
            return (listing, self.call("labeler", "GET", f"/api/tasks/{parent}"),
                    self.call("labeler", "GET", f"/api/tasks/{parent}/annotations"),
                    self.call("labeler", "GET", f"/api/tasks/{parent}/jobs"),
                    self.call("labeler", "GET", f"/api/tasks/{parent}/history"),
                    self.call("labeler", "GET", f"/api/tasks/{parent}/review"))

        before = seen()
        self.make_sets(parent, {"kind": "golden", "per_job": 2, "document": document()})
        self.make_sets(parent, {"kind": "golden", "frames": [3], "document": document([box("g", 3)])}, expect=200)
        self.assertEqual(seen(), before)
        self.assertEqual(len(before[0]), 1)

    def test_the_task_list_names_sets_and_hides_golden_ones_from_non_managers(self):
        parent = self.fresh_task()
        self.make_sets(parent, {"kind": "golden", "frames": [0]})
        self.make_sets(parent, {"kind": "replicas", "count": 2})

        def listed(role):
            return {t["id"]: (t.get("of"), t.get("set")) for t in self.call(role, "GET", "/api/tasks")["tasks"]
                    if t["id"].startswith(parent + "@") or t["id"] == parent}

        self.assertEqual(listed("manager"), {parent: (None, None), f"{parent}@golden": (parent, "golden"),
                                             f"{parent}@r1": (parent, "replica"), f"{parent}@r2": (parent, "replica")})
        for role in ("labeler", "reviewer"):
            self.assertEqual(listed(role), {parent: (None, None), f"{parent}@r1": (parent, "replica"),
                                            f"{parent}@r2": (parent, "replica")})
        entry = next(t for t in self.call("manager", "GET", "/api/tasks")["tasks"] if t["id"] == f"{parent}@r1")
        self.assertEqual(entry["frames"], FRAMES)

    # ---- replicas

    def test_replicas_copy_the_parent_jobs_unassigned(self):
        parent = self.fresh_task()
        self.split(parent, {"jobs": [{"start_frame": 0, "stop_frame": 19, "assignee": "ana", "reviewer": "rita"},
                                     {"start_frame": 20, "stop_frame": None, "assignee": "bo"}]})
        parent_jobs = self.call("manager", "GET", f"/api/tasks/{parent}/jobs")["jobs"]
        reply = self.make_sets(parent, {"kind": "replicas", "count": 3})
        self.assertEqual(reply, {"golden": None, "replicas": [{"id": f"{parent}@r{k}"} for k in (1, 2, 3)]})
        for k in (1, 2, 3):
            jobs = self.call("manager", "GET", f"/api/tasks/{parent}@r{k}/jobs")["jobs"]
            self.assertEqual([(j["id"], j["start_frame"], j["stop_frame"]) for j in jobs],
                             [(j["id"], j["start_frame"], j["stop_frame"]) for j in parent_jobs])
            self.assertEqual({(j["stage"], j["assignee"], j["reviewer"]) for j in jobs}, {("annotation", None, None)})
            replica = self.call("labeler", "GET", f"/api/tasks/{parent}@r{k}/annotations")
            self.assertEqual(replica["document"]["objects"], [])

    def test_a_replica_job_is_assigned_and_synced_without_touching_the_parent(self):
        parent = self.fresh_task()
        self.split(parent, {"frames_per_job": 20})
        self.make_sets(parent, {"kind": "replicas", "count": 2})
        replica = f"{parent}@r2"
        first_job = self.call("manager", "GET", f"/api/tasks/{replica}/jobs")["jobs"][0]["id"]
        job = self.call("manager", "PATCH", f"/api/tasks/{replica}/jobs/{first_job}", {"assignee": "bo"})["job"]
        self.assertEqual(job["assignee"], "bo")
        body = {"base_revision": 0, "device": "bo-laptop", "operations": [op("b1", "create", "c1", box("c1", 4))]}
        self.assertEqual(self.call("bo", "PATCH", f"/api/tasks/{replica}/annotations", body)["revision"], 1)
        body = {"base_revision": 1, "device": "ana-laptop", "operations": [op("a1", "create", "c2", box("c2", 5))]}
        self.error(self.call("labeler", "PATCH", f"/api/tasks/{replica}/annotations", body, expect=403), "forbidden")
        objects = self.call("bo", "GET", f"/api/tasks/{replica}/annotations")["document"]["objects"]
        self.assertEqual([o["id"] for o in objects], ["c1"])
        self.assertEqual(self.call("bo", "GET", f"/api/tasks/{replica}/annotations?since=0")["changes"][0]["id"], "c1")
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}/annotations")["revision"], 0)
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{parent}@r1/annotations")["revision"], 0)
        self.assertIsNone(self.call("manager", "GET", f"/api/tasks/{parent}/jobs")["jobs"][0]["assignee"])
        # Asking again keeps what exists; a larger count adds the missing replicas only.
        self.assertEqual(len(self.make_sets(parent, {"kind": "replicas", "count": 2}, expect=200)["replicas"]), 2)
        self.assertEqual(len(self.make_sets(parent, {"kind": "replicas", "count": 4})["replicas"]), 4)
        self.assertEqual(self.call("manager", "GET", f"/api/tasks/{replica}/annotations")["revision"], 1)

    # ---- ids

    def test_sets_are_not_derived_from_sets_nor_from_unknown_tasks(self):
        parent = self.fresh_task()
        self.make_sets(parent, {"kind": "replicas", "count": 2})
        self.make_sets(parent, {"kind": "golden", "frames": [0]})
        for derived in (f"{parent}@r1", f"{parent}@golden"):
            reply = self.make_sets(derived, {"kind": "replicas", "count": 2}, expect=400)
            self.error(reply, "derived_task")
            self.error(self.call("manager", "GET", f"/api/tasks/{derived}/sets", expect=400), "derived_task")
        self.error(self.make_sets("nosuch", {"kind": "golden", "frames": [0]}, expect=404), "not_found")
        self.error(self.call("manager", "GET", "/api/tasks/nosuch/sets", expect=404), "not_found")
        for missing in (f"{parent}@r3", f"{parent}@r0", f"{parent}@r10", f"{parent}@silver", "nosuch@golden"):
            self.error(self.call("manager", "GET", f"/api/tasks/{missing}", expect=404), "not_found")

    def test_imports_refuse_ids_with_an_at_sign(self):
        parent = self.fresh_task()
        for task_id in (f"{parent}@golden", f"{parent}@r1", "a@b"):
            reply = self.call("manager", "POST", "/api/tasks", video_task(task_id), expect=400)
            self.assertEqual(reply["error"]["path"], "/task/id", reply)
        self.error(self.call("manager", "GET", f"/api/tasks/{parent}@golden", expect=404), "not_found")


class OpenServerTest(SetsMixin, unittest.TestCase):
    """Without tokens the role is X-Polymark-Role's (a manager's when absent), for sets too."""

    def test_the_role_header_guards_the_golden_set(self):
        tmp = tempfile.mkdtemp(prefix="pm-sets-open-")
        try:
            self.server = ServerProcess(tmp, ["--db", os.path.join(tmp, "p.sqlite"), "--web", tmp, "--quiet"]).start()
            try:
                self.assertEqual(self.send("POST", "/api/tasks", video_task("open"))[0], 201)
                status, _, reply = self.send("POST", "/api/tasks/open/sets", {"kind": "golden", "frames": [2]})
                self.assertEqual(status, 201, reply)
                self.assertEqual(self.send("GET", "/api/tasks/open@golden/annotations")[0], 200)
                for role in ("labeler", "reviewer"):
                    headers = {"X-Polymark-Role": role, "X-Polymark-User": "someone"}
                    status, _, reply = self.send("GET", "/api/tasks/open@golden/annotations", headers=headers)
                    self.assertEqual((status, reply["error"]["code"]), (403, "forbidden"))
                    status, _, reply = self.send("GET", "/api/tasks", headers=headers)
                    self.assertEqual([t["id"] for t in reply["tasks"]], ["open"])
            finally:
                self.server.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@sqlite_only
class UpgradeTest(SetsMixin, unittest.TestCase):
    """A version 7 database (before annotation sets) is upgraded on start and keeps its tasks."""

    def test_v7_database_gets_the_sets_table(self):
        tmp = tempfile.mkdtemp(prefix="pm-sets-upgrade-")
        try:
            self.server = start_server(tmp, "db")
            self.import_task("old")
            self.server.stop()
            db = os.path.join(tmp, "db", "p.sqlite")
            conn = sqlite3.connect(db)  # make it what a version 7 serve.py left
            for statement in UNDO_V9:
                conn.execute(statement)
            conn.execute("DROP TABLE task_sets")
            conn.execute("PRAGMA user_version = 7")
            conn.commit()
            conn.close()
            self.server = start_server(tmp, "db")
            try:
                self.assertEqual(self.call("manager", "GET", "/api/tasks/old/sets"), {"golden": None, "replicas": []})
                self.make_sets("old", {"kind": "golden", "frames": [1]})
                self.assertEqual(self.call("manager", "GET", "/api/tasks/old@golden")["id"], "old@golden")
            finally:
                self.server.stop()
            conn = sqlite3.connect(db)
            try:
                self.assertEqual(conn.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
                self.assertEqual(conn.execute("SELECT task_id, parent_id, kind FROM task_sets").fetchall(),
                                 [("old@golden", "old", "golden")])
            finally:
                conn.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
