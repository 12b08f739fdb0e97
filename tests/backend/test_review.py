"""Review over real HTTP: roles from the tokens file, jobs and their stages, who may write what in
which stage (every role x stage x action, allowed and refused), issues, comments and decisions
synced like annotations, and the role and stage in the history (docs/SCHEMA.md, section 13).

    python3 -m unittest tests/backend/test_review.py -v
"""

import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import MP4, PNG_A, ServerProcess, run_serve, write_json  # noqa: E402
from test_sync_routes import SyncMixin, op, rect  # noqa: E402

TOKENS = {"t-ana": {"user": "ana", "role": "labeler"}, "t-bo": {"user": "bo", "role": "labeler"},
          "t-rita": {"user": "rita", "role": "reviewer"}, "t-ravi": {"user": "ravi", "role": "reviewer"},
          "t-mia": {"user": "mia", "role": "manager"}, "t-old": "old"}
AS = {"labeler": "t-ana", "reviewer": "t-rita", "manager": "t-mia"}
USER = {"labeler": "ana", "reviewer": "rita", "manager": "mia"}
FRAMES = 4

# The contract, written out: who may do what on a job's frames in each stage.
WRITERS = {
    "object": {"annotation": {"labeler", "manager"}, "review": {"reviewer", "manager"}, "accepted": {"manager"}},
    "issue": {"annotation": {"manager"}, "review": {"reviewer", "manager"}, "accepted": {"manager"}},
    "decision": {"annotation": {"manager"}, "review": {"reviewer", "manager"}, "accepted": {"manager"}},
    "comment": {stage: {"labeler", "reviewer", "manager"} for stage in ("annotation", "review", "accepted")},
}
MOVES = {("annotation", "review"): {"labeler", "manager"}, ("review", "accepted"): {"reviewer", "manager"},
         ("review", "annotation"): {"reviewer", "manager"}, ("annotation", "accepted"): {"manager"},
         ("accepted", "review"): {"manager"}, ("accepted", "annotation"): {"manager"}}


def four_image_task(task_id):
    media = [{"id": f"img{i}", "type": "image", "file": f"img/{i}.png"} for i in range(FRAMES)]
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": task_id, "media": media,
                     "labels": [{"id": "cat"}]},
            "files": {f"img/{i}.png": base64.b64encode(PNG_A).decode("ascii") for i in range(FRAMES)}}


def four_frame_video_task(task_id):
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": task_id,
                     "media": [{"id": "clip", "type": "video", "file": "clip.mp4", "frames": FRAMES}],
                     "labels": [{"id": "cat"}]},
            "files": {"clip.mp4": base64.b64encode(MP4).decode("ascii")}}


def issue(issue_id, author, frame=0, status="open", **extra):
    return dict({"id": issue_id, "frame": frame, "points": [1, 1, 5, 5], "status": status, "author": author},
                **extra)


def comment(comment_id, issue_id, author, text="fix the box"):
    return {"id": comment_id, "issue": issue_id, "text": text, "author": author}


def decision(decision_id, item, author, verdict="rejected", frame=0):
    return {"id": decision_id, "item": item, "frame": frame, "verdict": verdict, "author": author,
            "reason": "too loose"}


class ReviewTest(SyncMixin, unittest.TestCase):
    """One server with a token per role; each test makes its own four-frame task (two jobs)."""

    auth = {"Authorization": "Bearer t-mia"}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-review-")
        tokens = os.path.join(cls.tmp, "tokens.json")
        write_json(tokens, TOKENS)
        cls.server = ServerProcess(cls.tmp, ["--db", os.path.join(cls.tmp, "db", "p.sqlite"), "--web", cls.tmp,
                                             "--quiet", "--tokens-file", tokens]).start()
        cls.counter = 0

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- helpers

    def call(self, role_or_token, method, path, body=None, expect=200):
        token = AS.get(role_or_token, role_or_token)
        status, _, reply = self.send(method, path, body, headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(status, expect, f"{method} {path} as {role_or_token}: {reply}")
        return reply

    def fresh_task(self, jobs=2, make=four_image_task):
        type(self).counter += 1
        task_id = f"rv{self.counter}"
        self.call("manager", "POST", "/api/tasks", make(task_id), expect=201)
        self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", {"frames_per_job": FRAMES // jobs})
        return task_id

    def next_id(self, prefix):
        type(self).counter += 1
        return f"{prefix}{self.counter}"

    def revision(self, task_id):
        return self.call("manager", "GET", f"/api/tasks/{task_id}/jobs")["revision"]

    def write(self, role, task_id, kind, verb, item_id, value=None, expect=200, token=None):
        path = f"/api/tasks/{task_id}/" + ("annotations" if kind in ("object", "track") else "review")
        body = {"base_revision": self.revision(task_id), "device": "dev-" + role,
                "operations": [op(self.next_id("op"), verb, item_id, value, kind=kind)]}
        return self.call(token or role, "PATCH", path, body, expect)

    def job(self, task_id, job_id):
        return self.call("manager", "GET", f"/api/tasks/{task_id}/jobs/{job_id}")["job"]

    def first_job(self, task_id):
        return self.call("manager", "GET", f"/api/tasks/{task_id}/jobs")["jobs"][0]["id"]

    def set_open_issues(self, task_id, wanted):
        """Leave exactly ``wanted`` (0 or 1) open issues on frame 0, as the manager."""
        reply = self.call("manager", "GET", f"/api/tasks/{task_id}/review")
        for change in reply["changes"]:
            if change["kind"] == "issue" and change["value"]["status"] == "open":
                self.write("manager", task_id, "issue", "update", change["id"],
                           dict(change["value"], status="resolved"))
        if wanted:
            issue_id = self.next_id("i")
            self.write("manager", task_id, "issue", "create", issue_id, issue(issue_id, "mia"))

    def move(self, role, task_id, job_id, stage, expect=200):
        return self.call(role, "PATCH", f"/api/tasks/{task_id}/jobs/{job_id}", {"stage": stage}, expect)

    def put_in_stage(self, task_id, job_id, stage):
        """The manager moves a job to ``stage`` (through review, so an issue-free return is not needed)."""
        current = self.job(task_id, job_id)["stage"]
        if current != stage:
            self.set_open_issues(task_id, 0)
            self.move("manager", task_id, job_id, stage)

    # ---- the tables

    def test_every_role_may_write_exactly_what_the_stage_allows(self):
        for stage in ("annotation", "review", "accepted"):
            task_id = self.fresh_task()
            job_id = self.first_job(task_id)
            # What the writes are about: an object and an open issue on frame 0, made in annotation.
            self.write("manager", task_id, "object", "create", "car", rect("car"))
            self.write("manager", task_id, "issue", "create", "iss", issue("iss", "mia"))
            self.put_in_stage(task_id, job_id, stage)
            for role in ("labeler", "reviewer", "manager"):
                with self.subTest(stage=stage, role=role):
                    user = USER[role]
                    attempts = [
                        ("object", "create", f"o-{role}", rect(f"o-{role}")),
                        ("object", "update", "car", rect("car", x=len(role))),
                        ("issue", "create", f"i-{role}", issue(f"i-{role}", user, status="resolved")),
                        ("comment", "create", f"c-{role}", comment(f"c-{role}", "iss", user)),
                        ("decision", "create", f"d-{role}", decision(f"d-{role}", "car", user)),
                    ]
                    for kind, verb, item_id, value in attempts:
                        allowed = role in WRITERS[kind][stage]
                        reply = self.write(role, task_id, kind, verb, item_id, value, expect=200 if allowed else 403)
                        if not allowed:
                            message = reply["error"]["message"]
                            self.assertEqual(reply["error"]["code"], "forbidden")
                            self.assertIn(f"{role} may not", message)
                            self.assertIn(f"stage {stage}", message)
                            self.assertEqual(reply["error"]["path"], "/operations/0")
            # A refused write applied nothing: the object is as the last allowed writer left it.
            self.assertEqual(len([o for o in self.doc(task_id)[1]["objects"] if o["id"].startswith("o-")]),
                             len([r for r in ("labeler", "reviewer", "manager") if r in WRITERS["object"][stage]]))

    def test_every_role_may_move_a_job_exactly_as_the_table_says(self):
        for (before, after), roles in sorted(MOVES.items()):
            for role in ("labeler", "reviewer", "manager"):
                with self.subTest(move=f"{before}->{after}", role=role):
                    task_id = self.fresh_task()
                    job_id = self.first_job(task_id)
                    self.put_in_stage(task_id, job_id, before)
                    self.set_open_issues(task_id, 1 if after == "annotation" else 0)
                    allowed = role in roles
                    reply = self.move(role, task_id, job_id, after, expect=200 if allowed else 403)
                    if allowed:
                        self.assertEqual(reply["job"]["stage"], after)
                    else:
                        self.assertIn(f"{role} may not move job {job_id} from stage {before} to {after}",
                                      reply["error"]["message"])
                        self.assertEqual(self.job(task_id, job_id)["stage"], before)

    # ---- stages

    def test_a_job_is_accepted_only_without_open_issues_and_returned_only_with_one(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        self.write("labeler", task_id, "object", "create", "car", rect("car"))
        self.move("labeler", task_id, job_id, "review")
        reply = self.move("reviewer", task_id, job_id, "annotation", expect=409)
        self.assertEqual(reply["error"]["code"], "no_open_issues")
        self.write("reviewer", task_id, "issue", "create", "loose", issue("loose", "rita", item="car"))
        reply = self.move("reviewer", task_id, job_id, "accepted", expect=409)
        self.assertEqual(reply["error"]["code"], "open_issues")
        self.assertIn("1 open issue;", reply["error"]["message"])
        returned_at = self.revision(task_id)
        job = self.move("reviewer", task_id, job_id, "annotation")["job"]
        self.assertEqual((job["stage"], job["reviewed_revision"]), ("annotation", returned_at))
        listed = self.call("labeler", "GET", f"/api/tasks/{task_id}/jobs")["jobs"][0]
        self.assertEqual(listed["open_issues"], 1)
        self.assertEqual([(e["event"], e["from"], e["to"], e["user"], e["role"]) for e in listed["events"]][-2:],
                         [("stage", "annotation", "review", "ana", "labeler"),
                          ("stage", "review", "annotation", "rita", "reviewer")])

    def test_a_stage_that_moved_meanwhile_is_a_409_and_nothing_changes(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        self.move("labeler", task_id, job_id, "review")
        reply = self.call("labeler", "PATCH", f"/api/tasks/{task_id}/jobs/{job_id}",
                          {"stage": "review", "from": "annotation"}, expect=409)
        self.assertEqual(reply["error"]["code"], "stage_changed")
        self.call("labeler", "PATCH", f"/api/tasks/{task_id}/jobs/{job_id}", {"stage": "sleeping"}, expect=400)
        self.call("labeler", "PATCH", f"/api/tasks/{task_id}/jobs/99", {"stage": "review"}, expect=404)
        self.call("labeler", "PATCH", f"/api/tasks/{task_id}/jobs/x", {"stage": "review"}, expect=404)

    def test_assigned_jobs_are_written_by_their_labeler_and_reviewed_by_their_reviewer(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        reply = self.call("labeler", "PATCH", f"/api/tasks/{task_id}/jobs/{job_id}", {"assignee": "ana"},
                          expect=403)
        self.assertIn("labeler may not change the assignee", reply["error"]["message"])
        self.call("manager", "PATCH", f"/api/tasks/{task_id}/jobs/{job_id}", {"assignee": "ana", "reviewer": "rita"})
        reply = self.write("labeler", task_id, "object", "create", "b1", rect("b1"), token="t-bo", expect=403)
        self.assertIn("assigned to 'ana', not to 'bo'", reply["error"]["message"])
        self.write("labeler", task_id, "object", "create", "a1", rect("a1"))
        # Frames of the other job (2 and 3) are open to any labeler.
        self.write("labeler", task_id, "object", "create", "b2", dict(rect("b2"), frame=2), token="t-bo")
        self.move("labeler", task_id, job_id, "review")
        reply = self.write("reviewer", task_id, "issue", "create", "i1", issue("i1", "ravi"), token="t-ravi",
                           expect=403)
        self.assertIn("reviewed by 'rita', not by 'ravi'", reply["error"]["message"])
        self.write("reviewer", task_id, "issue", "create", "i1", issue("i1", "rita"))

    def test_a_write_over_two_jobs_needs_both(self):
        task_id = self.fresh_task(make=four_frame_video_task)
        jobs = self.call("manager", "GET", f"/api/tasks/{task_id}/jobs")["jobs"]
        self.move("labeler", task_id, jobs[1]["id"], "review")
        track = {"id": "t1", "type": "rectangle", "label": "cat", "keyframes": [
            {"id": "t1.a", "frame": 0, "points": [0, 0, 5, 5]}, {"id": "t1.b", "frame": 3, "points": [5, 5, 9, 9]}]}
        reply = self.write("labeler", task_id, "track", "create", "t1", track, expect=403)
        self.assertIn(f"(job {jobs[1]['id']}) in stage review", reply["error"]["message"])
        track["keyframes"][1]["frame"] = 1
        self.write("labeler", task_id, "track", "create", "t1", track)

    def test_replacing_the_whole_document_is_checked_item_by_item(self):
        task_id = self.fresh_task()
        jobs = self.call("manager", "GET", f"/api/tasks/{task_id}/jobs")["jobs"]
        self.write("manager", task_id, "object", "create", "late", dict(rect("late"), frame=3))
        self.move("labeler", task_id, jobs[1]["id"], "review")
        revision, document = self.doc(task_id)
        mine = dict(document, objects=document["objects"] + [rect("mine")])
        status, _, _ = self.send("PUT", f"/api/tasks/{task_id}/annotations", mine,
                                 headers={"Authorization": "Bearer t-ana", "If-Match": f'"rev-{revision}"'})
        self.assertEqual(status, 200)
        revision, document = self.doc(task_id)
        gone = dict(document, objects=[o for o in document["objects"] if o["id"] != "late"])
        status, _, reply = self.send("PUT", f"/api/tasks/{task_id}/annotations", gone,
                                     headers={"Authorization": "Bearer t-ana", "If-Match": f'"rev-{revision}"'})
        self.assertEqual((status, reply["error"]["code"]), (403, "forbidden"), reply)
        self.assertIn("labeler may not delete objects on frames 2-3", reply["error"]["message"])
        self.assertEqual(self.doc(task_id)[0], revision)

    # ---- review items

    def test_issues_comments_and_decisions_sync_like_annotations(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        self.write("labeler", task_id, "object", "create", "car", rect("car"))
        self.move("labeler", task_id, job_id, "review")
        base = self.revision(task_id)
        body = {"base_revision": base, "device": "rita-tab", "operations": [
            op("rita.1", "create", "i1", issue("i1", "rita", item="car"), kind="issue"),
            op("rita.2", "create", "c1", comment("c1", "i1", "rita", "the box cuts the mirror"), kind="comment"),
            op("rita.3", "create", "d1", decision("d1", "car", "rita"), kind="decision")]}
        first = self.call("reviewer", "PATCH", f"/api/tasks/{task_id}/review", body)
        again = self.call("reviewer", "PATCH", f"/api/tasks/{task_id}/review", body)
        self.assertEqual((again["applied"], again["duplicates"]), ([], ["rita.1", "rita.2", "rita.3"]))
        listed = self.call("labeler", "GET", f"/api/tasks/{task_id}/review")
        self.assertEqual([(c["kind"], c["id"], c["user"], c["role"], c["revision"]) for c in listed["changes"]],
                         [("comment", "c1", "rita", "reviewer", first["revision"]),
                          ("decision", "d1", "rita", "reviewer", first["revision"]),
                          ("issue", "i1", "rita", "reviewer", first["revision"])])
        self.assertTrue(all(c["at"].endswith("Z") for c in listed["changes"]))
        # Review items are not annotations: neither the document nor its catch-up lists them.
        revision, document = self.doc(task_id)
        self.assertEqual([o["id"] for o in document["objects"]], ["car"])
        self.assertNotIn("issues", document)
        status, _, since = self.send("GET", f"/api/tasks/{task_id}/annotations?since={base}",
                                     headers={"Authorization": "Bearer t-ana"})
        self.assertEqual((status, since["changes"]), (200, []))
        # The labeler answers, back in annotation; the reviewer resolves; catch-up sees both.
        self.move("reviewer", task_id, job_id, "annotation")
        self.write("labeler", task_id, "comment", "create", "c2", comment("c2", "i1", "ana", "fixed"))
        mark = self.revision(task_id)
        self.write("reviewer", task_id, "issue", "update", "i1", issue("i1", "rita", item="car", status="resolved"),
                   expect=403)  # in annotation only a manager changes issues
        self.move("labeler", task_id, job_id, "review")
        self.write("reviewer", task_id, "issue", "update", "i1", issue("i1", "rita", item="car", status="resolved"))
        since = self.call("labeler", "GET", f"/api/tasks/{task_id}/review?since={mark}")
        self.assertEqual([(c["id"], c["value"]["status"]) for c in since["changes"]], [("i1", "resolved")])
        self.move("reviewer", task_id, job_id, "accepted")

    def test_review_items_are_checked_for_author_and_what_they_are_about(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        self.write("labeler", task_id, "object", "create", "car", rect("car"))
        self.move("labeler", task_id, job_id, "review")
        reply = self.write("reviewer", task_id, "issue", "create", "i1", issue("i1", "ana"), expect=403)
        self.assertIn("author must be the writer, 'rita'", reply["error"]["message"])
        self.write("reviewer", task_id, "issue", "create", "i1", issue("i1", "rita"))
        reply = self.write("reviewer", task_id, "issue", "update", "i1", issue("i1", "ravi"), expect=403)
        self.assertIn("the author ('rita') cannot change", reply["error"]["message"])
        reply = self.write("reviewer", task_id, "comment", "create", "c9", comment("c9", "nope", "rita"), expect=400)
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), ("unknown_reference", "/operations/0/value/issue"))
        reply = self.write("reviewer", task_id, "decision", "create", "d9", decision("d9", "i1", "rita"), expect=400)
        self.assertIn("is not a live object or track", reply["error"]["message"])
        self.write("labeler", task_id, "comment", "create", "c1", comment("c1", "i1", "ana"))
        reply = self.write("reviewer", task_id, "comment", "delete", "c1", token="t-ravi", expect=403)
        self.assertIn("comment 'c1' is 'ana''s: only they or a manager may delete it", reply["error"]["message"])
        self.write("labeler", task_id, "comment", "update", "c1", comment("c1", "i1", "ana", "fixed now"))
        self.write("labeler", task_id, "comment", "delete", "c1")
        reply = self.write("reviewer", task_id, "issue", "create", "car", issue("car", "rita"), expect=409)
        self.assertEqual(reply["error"]["code"], "conflict")  # one id namespace across annotations and review
        self.write("reviewer", task_id, "issue", "create", "i2", dict(issue("i2", "rita"), points=[5, 5, 1, 1]),
                   expect=400)
        body = {"base_revision": 0, "device": "d", "operations": [op("x.1", "create", "o1", rect("o1"))]}
        self.call("reviewer", "PATCH", f"/api/tasks/{task_id}/review", body, expect=400)
        body["operations"] = [op("x.1", "create", "i3", issue("i3", "rita"), kind="issue")]
        self.call("reviewer", "PATCH", f"/api/tasks/{task_id}/annotations", body, expect=400)

    def test_the_history_names_each_change_s_role_and_stage(self):
        task_id = self.fresh_task()
        job_id = self.first_job(task_id)
        self.write("labeler", task_id, "object", "create", "car", rect("car"))
        self.move("labeler", task_id, job_id, "review")
        self.write("reviewer", task_id, "object", "update", "car", rect("car", x=3))
        self.write("reviewer", task_id, "decision", "create", "d1", decision("d1", "car", "rita", "accepted"))
        entries = self.call("manager", "GET", f"/api/tasks/{task_id}/history")["entries"]
        self.assertEqual([(e["kind"], e["op"], e["user"], e["role"], e["stage"]) for e in entries],
                         [("object", "create", "ana", "labeler", "annotation"),
                          ("object", "update", "rita", "reviewer", "review"),
                          ("decision", "create", "rita", "reviewer", "review")])

    # ---- jobs

    def test_only_a_manager_splits_a_task_and_only_while_every_job_is_in_annotation(self):
        task_id = self.fresh_task(jobs=1)
        reply = self.call("labeler", "POST", f"/api/tasks/{task_id}/jobs", {"frames_per_job": 1}, expect=403)
        self.assertIn("labeler may not split", reply["error"]["message"])
        jobs = self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", {"frames_per_job": 3})["jobs"]
        self.assertEqual([(j["start_frame"], j["stop_frame"], j["stage"]) for j in jobs],
                         [(0, 2, "annotation"), (3, 3, "annotation")])
        jobs = self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", {"per_medium": True})["jobs"]
        self.assertEqual([(j["start_frame"], j["stop_frame"]) for j in jobs], [(f, f) for f in range(FRAMES)])
        self.assertEqual(len({j["id"] for j in jobs}), FRAMES)
        for bad in ({"jobs": [{"start_frame": 0, "stop_frame": 1}, {"start_frame": 3, "stop_frame": None}]},
                    {"jobs": [{"start_frame": 0, "stop_frame": None}, {"start_frame": 1, "stop_frame": 2}]},
                    {"frames_per_job": 0}, {"frames_per_job": 2, "per_medium": True}, [], {"jobs": []}):
            with self.subTest(body=bad):
                self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", bad, expect=400)
        jobs = self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", {"jobs": [
            {"start_frame": 0, "stop_frame": 0, "assignee": "ana"}, {"start_frame": 1, "stop_frame": None}]})["jobs"]
        self.assertEqual([(j["stop_frame"], j["assignee"]) for j in jobs], [(0, "ana"), (None, None)])
        self.move("labeler", task_id, jobs[0]["id"], "review")
        reply = self.call("manager", "POST", f"/api/tasks/{task_id}/jobs", {"frames_per_job": 2}, expect=409)
        self.assertIn("in stage review", reply["error"]["message"])

    def test_a_new_task_has_one_job_over_every_frame(self):
        type(self).counter += 1
        task_id = f"one{self.counter}"
        self.call("manager", "POST", "/api/tasks", four_image_task(task_id), expect=201)
        jobs = self.call("labeler", "GET", f"/api/tasks/{task_id}/jobs")["jobs"]
        self.assertEqual([(j["start_frame"], j["stop_frame"], j["stage"], j["assignee"]) for j in jobs],
                         [(0, None, "annotation", None)])

    def test_only_a_manager_imports_tasks_and_a_legacy_token_is_a_manager(self):
        reply = self.call("labeler", "POST", "/api/tasks", four_image_task("nope"), expect=403)
        self.assertIn("labeler may not import tasks", reply["error"]["message"])
        self.call("t-old", "POST", "/api/tasks", four_image_task("legacy"), expect=201)


class OpenServerRoleTest(SyncMixin, unittest.TestCase):
    """Without tokens the role is X-Polymark-Role's, a manager's when absent."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-review-open-")
        cls.server = ServerProcess(cls.tmp, ["--db", os.path.join(cls.tmp, "db", "p.sqlite"), "--web", cls.tmp,
                                             "--quiet"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_role_header_is_enforced_and_checked(self):
        status, _, _ = self.send("POST", "/api/tasks", four_image_task("open"))
        self.assertEqual(status, 201)
        status, _, reply = self.send("PATCH", "/api/tasks/open/jobs/1", {"stage": "review"},
                                     headers={"X-Polymark-Role": "reviewer"})
        self.assertEqual(status, 403, reply)
        status, _, reply = self.send("PATCH", "/api/tasks/open/jobs/1", {"stage": "review"},
                                     headers={"X-Polymark-Role": "boss"})
        self.assertEqual((status, reply["error"]["header"]), (400, "X-Polymark-Role"))
        status, _, reply = self.send("PATCH", "/api/tasks/open/jobs/1", {"stage": "accepted"})
        self.assertEqual((status, reply["job"]["stage"]), (200, "accepted"))
        body = {"base_revision": 0, "user": "u", "device": "d", "operations": [op("a.1", "create", "o", rect("o"))]}
        status, _, reply = self.send("PATCH", "/api/tasks/open/annotations", body,
                                     headers={"X-Polymark-Role": "labeler"})
        self.assertEqual(status, 403, reply)
        self.assertIn("labeler may not create objects on frames 0 on (job 1) in stage accepted",
                      reply["error"]["message"])


class TokensFileTest(unittest.TestCase):
    def test_a_role_that_does_not_exist_stops_the_server_with_the_entry_named(self):
        tmp = tempfile.mkdtemp(prefix="pm-review-tokens-")
        try:
            path = os.path.join(tmp, "tokens.json")
            with open(path, "w") as f:
                json.dump({"a": {"user": "ana", "role": "labeler"}, "b": {"user": "bo", "role": "boss"}}, f)
            result = run_serve(["--db", os.path.join(tmp, "p.sqlite"), "--tokens-file", path])
            self.assertEqual(result.returncode, 2)
            self.assertIn("entry 2", result.stderr)
            self.assertIn("labeler, reviewer, manager", result.stderr)
            self.assertNotIn('"b"', result.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
