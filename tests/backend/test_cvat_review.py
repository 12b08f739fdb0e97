"""The `cvat` profile's review section end to end, over real HTTP, against fake_cvat.py (CVAT's
review routes as CVAT answers them: its status codes, pagination with absolute `next` URLs, the
issue's required first message, write-once fields).

The fake is seeded with another reviewer's issues on job 42 (and one on job 43) and pages of two
items, so that every listing follows `next`. The hidden Catch2 case "[cvat-review]" of
polymark_unit_tests then runs the unchanged review SyncEngine through pm::ReviewProfileSync:
reads the job and submits it, takes the other reviewer's issues by catch-up, opens an issue with
its first comment (losing one reply on the way), replies, resolves it, records a decision (set
aside: CVAT has none) and accepts the job. This test checks what the fake ended with.
Needs POLYMARK_UNIT_TESTS (the test binary; ctest sets it).
"""
import json
import os
import subprocess
import threading
import unittest
import urllib.error
import urllib.request

from fake_cvat import make_server


class FakeCvatAnswersLikeCvat(unittest.TestCase):
    """The fake itself: the shapes and codes the profile relies on."""

    def setUp(self):
        self.server, self.store = make_server(0, max_page_size=2, seed=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def call(self, method, path, body=None, token="reviewer-token"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method)
        if token:
            req.add_header("Authorization", "Token " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, json.loads(text) if text else None

    def test_an_issue_needs_its_message_and_answers_201_with_the_owner(self):
        status, body = self.call("POST", "/api/issues", {"frame": 0, "position": [1, 2], "job": 42})
        self.assertEqual(status, 400)
        self.assertEqual(body, {"message": ["This field is required."]})
        status, body = self.call("POST", "/api/issues", {"frame": 0, "position": [1, 2, 3, 4], "job": 42, "message": "m"})
        self.assertEqual(status, 201)
        self.assertEqual(body["owner"]["username"], "rita")
        self.assertEqual(body["comments"]["count"], 1)

    def test_lists_are_paginated_with_absolute_next_urls(self):
        status, body = self.call("GET", "/api/issues?job_id=42&page_size=100")
        self.assertEqual(status, 200)
        self.assertEqual(body["count"], 3)
        self.assertEqual(len(body["results"]), 2)
        self.assertTrue(body["next"].startswith("http://127.0.0.1:%d/api/issues?" % self.port))

    def test_a_stage_change_without_a_state_resets_it_to_new(self):
        self.call("PATCH", "/api/jobs/42", {"state": "in progress"})
        status, body = self.call("PATCH", "/api/jobs/42", {"stage": "validation"})
        self.assertEqual((status, body["stage"], body["state"]), (200, "validation", "new"))
        status, body = self.call("PATCH", "/api/jobs/42", {"stage": "review"})
        self.assertEqual(status, 400)

    def test_no_token_is_401(self):
        status, _ = self.call("GET", "/api/jobs/42", token=None)
        self.assertEqual(status, 401)


class ReviewThroughTheCvatProfile(unittest.TestCase):
    def setUp(self):
        self.binary = os.environ.get("POLYMARK_UNIT_TESTS")
        if not self.binary or not os.path.exists(self.binary):
            self.fail("POLYMARK_UNIT_TESTS must name the built polymark_unit_tests")
        self.server, self.store = make_server(0, max_page_size=2, seed=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def test_the_review_engine_through_the_profile_leaves_cvat_as_the_reviewer_meant(self):
        env = dict(os.environ, POLYMARK_FAKE_CVAT_PORT=str(self.port))
        run = subprocess.run([self.binary, "[cvat-review]"], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("All tests passed", run.stdout)
        s = self.store
        ours = [i for i in s.issues.values() if i["owner"]["username"] == "rita"]
        # One issue, not two (a lost create reply was found, not posted again), resolved, as a box.
        self.assertEqual(len(ours), 1)
        issue = ours[0]
        self.assertEqual((issue["job"], issue["frame"], issue["position"], issue["resolved"]), (42, 3, [10.0, 20.0, 110.0, 70.0], True))
        thread = sorted((c for c in s.comments.values() if c["issue"] == issue["id"]), key=lambda c: c["id"])
        self.assertEqual([c["message"] for c in thread], ["the box cuts the wheel", "and the mirror"])
        # The other reviewer's items are untouched; the job went annotation -> validation -> acceptance.
        self.assertEqual(len([i for i in s.issues.values() if i["owner"]["username"] == "bo"]), 4)
        self.assertEqual((s.jobs[42]["stage"], s.jobs[42]["state"]), ("acceptance", "completed"))
        # Nothing but CVAT's routes was called, and never a decision.
        self.assertFalse([line for line in s.log if "decision" in line])
        self.assertIn("PATCH /api/jobs/42", s.log)


if __name__ == "__main__":
    unittest.main()
