"""The work queue over real HTTP (docs/SCHEMA.md section 16): next, leases, expiry, priorities,
golden mixing, skips, and no double grant when several serve.py processes race for jobs.

Runs on the store under test (POLYMARK_TEST_DB=postgresql for PostgreSQL, as test_serve).
"""

import collections
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import ServerProcess, make_demo_dir, stop_serving  # noqa: E402

LEASE = 1.5  # seconds, short enough to watch one expire


def call(server, method, path, body=None, user=None, role="labeler"):
    headers = {"Content-Type": "application/json", "X-Polymark-Role": role}
    if user:
        headers["X-Polymark-User"] = user
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    try:
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"null")
    finally:
        conn.close()


class QueueMixin:
    processes = 1

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-queue-")
        db = os.path.join(self.tmp, "db", "p.sqlite")
        args = ["--db", db, "--web", self.tmp, "--quiet", "--lease-seconds", str(LEASE), "--golden-rate", "0.5"]
        self.servers = [ServerProcess(self.tmp, args + ["--import", make_demo_dir(self.tmp)]).start()]
        self.servers += [ServerProcess(self.tmp, args).start() for _ in range(self.processes - 1)]
        self.server = self.servers[0]
        # demo: 92 frames (2 images, a 90-frame video) in 10 jobs of 10 frames: ids 2..11 (1 was the whole task)
        self.ok("POST", "/api/tasks/demo/jobs", {"frames_per_job": 10}, role="manager")

    def tearDown(self):
        for server in self.servers[1:]:
            server.stop()
        stop_serving(self.server, self.tmp)

    def ok(self, method, path, body=None, user=None, role="labeler", server=None, expect=200):
        status, reply = call(server or self.server, method, path, body, user, role)
        self.assertEqual(status, expect, reply)
        return reply

    def next_job(self, user, server=None, **body):
        reply = self.ok("POST", "/api/queue/next", body, user=user, server=server)
        return reply["job"] and reply["job"]["id"]

    def save(self, user, n, server=None):
        op = {"op_id": f"{user}.{n}", "kind": "object", "op": "create", "id": f"{user}o{n}",
              "value": {"id": f"{user}o{n}", "type": "rectangle", "frame": 0, "label": "cat", "points": [0, 0, 1, 1]}}
        body = {"base_revision": 0, "device": f"{user}-tab", "operations": [op]}
        self.ok("PATCH", "/api/tasks/demo/annotations", body, user=user, role="manager", server=server)


class QueueTest(QueueMixin, unittest.TestCase):
    def test_next_leases_one_job_per_labeler_and_a_retry_gets_the_same(self):
        reply = self.ok("POST", "/api/queue/next", user="ana")
        self.assertEqual(reply["job"], {"task": "demo", "id": 2, "start_frame": 0, "stop_frame": 9, "priority": 0})
        self.assertEqual(reply["lease"]["seconds"], LEASE)
        self.assertEqual(self.next_job("ana"), 2)  # a retried next
        self.assertEqual(self.next_job("bo"), 3)
        self.assertEqual(self.next_job("cy", task="demo"), 4)
        events = self.ok("GET", "/api/tasks/demo/jobs", role="manager")["jobs"][0]["events"]
        self.assertEqual([(e["event"], e["user"]) for e in events][-1], ("leased", "ana"))

    def test_an_expired_lease_goes_back_to_the_queue_and_saving_renews_one(self):
        self.assertEqual(self.next_job("ana"), 2)
        self.assertEqual(self.next_job("bo"), 3)
        for n in range(4):  # bo keeps saving: activity renews the lease past its first expiry
            time.sleep(LEASE / 2)
            self.save("bo", n)
        self.assertEqual(self.next_job("cy"), 2, "ana's lease expired: her job is free again")
        self.assertEqual(self.next_job("dee"), 4, "bo's lease was renewed by saving: his job stays his")
        self.assertEqual(self.next_job("ana"), 5, "ana's old job is cy's now")

    def test_a_labeler_whose_lease_ran_out_cannot_submit_the_job_handed_on(self):
        self.assertEqual(self.next_job("ana"), 2)
        time.sleep(LEASE + 0.2)
        self.assertEqual(self.next_job("bo"), 2, "ana's lease ran out: the job is bo's")
        status, reply = call(self.server, "PATCH", "/api/tasks/demo/jobs/2", {"stage": "review"}, user="ana")
        self.assertEqual(status, 409, reply)
        self.assertEqual(reply["error"]["code"], "leased_elsewhere")
        self.assertIn("'bo'", reply["error"]["message"])
        self.ok("PATCH", "/api/tasks/demo/jobs/2", {"stage": "review"}, user="bo")

    def test_a_lease_that_ran_out_with_nobody_else_on_the_job_still_submits(self):
        self.assertEqual(self.next_job("ana"), 2)
        time.sleep(LEASE + 0.2)
        self.ok("PATCH", "/api/tasks/demo/jobs/2", {"stage": "review"}, user="ana")

    def test_priorities_come_first_and_a_submit_ends_the_lease(self):
        self.ok("PATCH", "/api/tasks/demo/jobs/8", {"priority": 5}, role="manager")
        self.ok("PATCH", "/api/tasks/demo/jobs/5", {"priority": 2.5}, role="manager")
        self.ok("PATCH", "/api/tasks/demo/jobs/5", {"priority": 1}, role="labeler", expect=403)
        self.ok("PATCH", "/api/tasks/demo/jobs/5", {"priority": "high"}, role="manager", expect=400)
        self.assertEqual(self.next_job("ana"), 8)
        self.assertEqual(self.next_job("bo"), 5)
        self.ok("PATCH", "/api/tasks/demo/jobs/8", {"stage": "review"}, user="ana")
        self.assertEqual(self.next_job("ana"), 2, "submitted: the next job, not the one in review")

    def test_skip_with_a_reason_hands_the_job_to_others_only(self):
        self.assertEqual(self.next_job("ana"), 2)
        reply = self.ok("POST", "/api/queue/skip", {"task": "demo", "job": 2, "reason": "too blurry"}, user="bo",
                        expect=409)
        self.assertEqual(reply["error"]["code"], "not_leased")
        self.ok("POST", "/api/queue/skip", {"task": "demo", "job": 2, "reason": " "}, user="ana", expect=400)
        self.ok("POST", "/api/queue/skip", {"task": "demo", "job": 2}, user="ana", expect=400)
        self.ok("POST", "/api/queue/skip", {"task": "demo", "job": 2, "reason": "too blurry"}, user="ana")
        self.assertEqual(self.next_job("ana"), 3, "a skipped job is never handed to its skipper again")
        self.assertEqual(self.next_job("bo"), 2, "but to the others, at once")
        events = self.ok("GET", "/api/tasks/demo/jobs/2", role="manager")["job"]["events"]
        skipped = [e for e in events if e["event"] == "skipped"]
        self.assertEqual([(e["user"], e["detail"]) for e in skipped], [("ana", {"reason": "too blurry"})])

    def test_golden_jobs_are_mixed_in_at_the_rate_and_golden_sets_are_never_handed_out(self):
        self.ok("POST", "/api/tasks/demo/sets", {"kind": "golden", "frames": [55]}, role="manager", expect=201)
        # rate 0.5: a labeler's 2nd, 4th, ... jobs hold golden frames while there are such jobs
        self.assertEqual(self.next_job("ana"), 2)
        self.ok("PATCH", "/api/tasks/demo/jobs/2", {"stage": "review"}, user="ana")
        self.assertEqual(self.next_job("ana"), 7, "job 7 (frames 50-59) holds golden frame 55")
        reply = self.ok("POST", "/api/queue/next", {"task": "demo@golden"}, user="bo", expect=404)
        self.assertEqual(reply["error"]["code"], "not_found")
        granted = {self.next_job(f"u{n}") for n in range(12)}
        self.assertEqual(granted, {3, 4, 5, 6, 8, 9, 10, 11, None}, "every free job once; golden set jobs never")

    def test_who_may_ask(self):
        self.ok("POST", "/api/queue/next", {}, user="rita", role="reviewer", expect=403)
        reply = self.ok("POST", "/api/queue/next", {}, expect=400)
        self.assertEqual(reply["error"]["path"], "/user")
        self.ok("POST", "/api/queue/next", {"task": "nope"}, user="ana", expect=404)
        self.ok("POST", "/api/queue/next", {"bogus": 1}, user="ana", expect=400)
        self.ok("GET", "/api/queue/next", user="ana", expect=405)


class QueueRaceTest(QueueMixin, unittest.TestCase):
    """Labelers asking through three processes at once, each twice at the same instant."""

    processes = 3

    def test_no_job_is_granted_twice_across_processes(self):
        grants = collections.defaultdict(list)  # user -> job ids granted
        lock = threading.Lock()

        def ask(user, server):
            job = self.next_job(user, server=server)
            with lock:
                grants[user].append(job)

        users = [f"l{n}" for n in range(12)]
        threads = [threading.Thread(target=ask, args=(user, self.servers[(n + k) % len(self.servers)]))
                   for n, user in enumerate(users) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        holders = collections.defaultdict(set)
        for user, jobs in grants.items():
            self.assertEqual(len(set(jobs)), 1, f"{user} got two different jobs: {jobs}")
            if jobs[0] is not None:
                holders[jobs[0]].add(user)
        self.assertEqual({job: len(users_) for job, users_ in holders.items() if len(users_) > 1}, {},
                         "a job was granted to two labelers")
        self.assertEqual(sorted(holders), list(range(2, 12)), "all ten jobs handed out")
        self.assertEqual(sum(1 for jobs in grants.values() if jobs[0] is None), 2, "two labelers left waiting")

    def test_leases_are_renewed_expired_and_skipped_through_any_process(self):
        first, second, third = self.servers
        self.assertEqual(self.next_job("ana", server=first), 2)
        for n in range(4):  # saving through another process renews the lease all the same
            time.sleep(LEASE / 2)
            self.save("ana", n, server=second)
        self.assertEqual(self.next_job("bo", server=third), 3, "ana's job stays hers while she saves")
        self.assertEqual(self.next_job("ana", server=third), 2, "and a next through any process gives it back")
        time.sleep(LEASE + 0.3)
        self.assertEqual(self.next_job("cy", server=second), 2, "expired: handed out by another process")
        self.ok("POST", "/api/queue/skip", {"task": "demo", "job": 3, "reason": "not a car in sight"}, user="bo",
                server=first)
        self.assertEqual(self.next_job("bo", server=second), 4)
        self.assertEqual(self.next_job("dee", server=third), 3, "bo's skip freed job 3 for the others")


if __name__ == "__main__":
    unittest.main()
