"""A small stand-in for CVAT's review routes, for tests: it answers the way CVAT's REST API does for
just the routes the `cvat` profile's review section uses (profiles/cvat.json, docs/PROFILES.md
section 7). Standard library only. Not CVAT: no database, no organizations, no permissions beyond
"a known token".

Routes, with CVAT's payload shapes (its JobReadSerializer, IssueRead/WriteSerializer,
CommentRead/WriteSerializer) and status codes:
  GET    /api/jobs/{id}                         200 job, 404
  PATCH  /api/jobs/{id}        {stage?, state?, assignee?}: a stage change without a state sets
                                 state "new" (as CVAT's JobWriteSerializer.update does); 400 on a
                                 value outside CVAT's choices
  GET    /api/issues?job_id=&page=&page_size=   200 {count, next, previous, results}; `next` is an
                                 absolute URL built from the Host header
  POST   /api/issues           {frame, position, job, message, resolved?, assignee?} 201 issue;
                                 400 {"field": ["This field is required."]}; the message becomes
                                 the issue's first comment
  PATCH  /api/issues/{id}      resolved, position, assignee; frame, job and message are
                                 write-once (ignored on update, as CVAT's WriteOnceMixin does)
  DELETE /api/issues/{id}      204 (its comments go with it), 404
  GET    /api/comments?issue_id=&page=&page_size=
  POST   /api/comments         {issue, message} 201; 400 on a missing field or an unknown issue
  PATCH  /api/comments/{id}    message (issue is write-once)
  DELETE /api/comments/{id}    204, 404
  GET    /api/jobs/{id}/annotations             200 {version, tags, shapes, tracks} (empty: enough for
                                 a page to mount with the profile; annotations are not this fake's)
Every route needs `Authorization: Token <token>` of a known user (401 otherwise). Replies carry
CORS headers and OPTIONS is answered, so that a page on another origin (the browser tests) can
call it, as a CVAT configured for it would.
GET /_state (no token) dumps everything, for the tests.

Run: python3 fake_cvat.py --port N [--max-page-size 2] [--seed]   (prints "ready PORT" when listening)
"""
import argparse
import json
import threading
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "rejected", "completed")


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Store:
    def __init__(self, max_page_size):
        self.lock = threading.Lock()
        self.max_page_size = max_page_size
        self.users = {"reviewer-token": {"id": 3, "username": "rita"}, "other-token": {"id": 4, "username": "bo"}}
        self.jobs = {
            42: {"id": 42, "task_id": 9, "start_frame": 0, "stop_frame": 99, "stage": "annotation", "state": "new", "assignee": None},
            43: {"id": 43, "task_id": 9, "start_frame": 100, "stop_frame": 199, "stage": "annotation", "state": "new", "assignee": None},
        }
        self.issues = {}
        self.comments = {}
        self.next_issue = 1
        self.next_comment = 1
        self.log = []

    def user_json(self, user):
        return {"url": "/api/users/%d" % user["id"], "id": user["id"], "username": user["username"], "first_name": "", "last_name": ""}

    def job_json(self, job):
        status = "annotation" if job["stage"] == "annotation" else (
            "completed" if job["stage"] == "acceptance" and job["state"] == "completed" else "validation")
        out = dict(job, url="/api/jobs/%d" % job["id"], status=status, mode="annotation", dimension="2d", type="annotation",
                   frame_count=job["stop_frame"] - job["start_frame"] + 1, data_chunk_size=36, project_id=None)
        out["assignee"] = self.user_json(job["assignee"]) if job["assignee"] else None
        return out

    def issue_json(self, issue):
        count = sum(1 for c in self.comments.values() if c["issue"] == issue["id"])
        out = dict(issue)
        out["owner"] = self.user_json(issue["owner"])
        out["comments"] = {"url": "/api/comments?issue_id=%d" % issue["id"], "count": count}
        return out

    def comment_json(self, comment):
        out = dict(comment)
        out["owner"] = self.user_json(comment["owner"])
        return out

    def add_issue(self, user, job, frame, position, message, resolved=False):
        issue = {"id": self.next_issue, "frame": frame, "position": position, "job": job, "owner": user, "assignee": None,
                 "created_date": now(), "updated_date": now(), "resolved": resolved}
        self.next_issue += 1
        self.issues[issue["id"]] = issue
        self.add_comment(user, issue["id"], message)
        return issue

    def add_comment(self, user, issue_id, message):
        comment = {"id": self.next_comment, "issue": issue_id, "owner": user, "message": message,
                   "created_date": now(), "updated_date": now()}
        self.next_comment += 1
        self.comments[comment["id"]] = comment
        return comment

    def seed(self):
        bo = self.users["other-token"]
        for frame in (1, 5, 9):
            self.add_issue(bo, 42, frame, [10.0 * frame, 10.0, 10.0 * frame + 40, 50.0], "check frame %d" % frame)
        self.add_comment(bo, 3, "the occluded car too")
        self.add_issue(bo, 43, 120, [1.0, 2.0], "another job's issue")


def required(body, fields):
    missing = {f: ["This field is required."] for f in fields if f not in body}
    return missing or None


class Handler(BaseHTTPRequestHandler):
    store = None

    def log_message(self, *args):
        pass

    def reply(self, status, payload=None):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.cors()
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def cors(self):
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, PATCH, PUT, DELETE, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-Polymark-Role, X-Polymark-User, X-Polymark-Device")

    def do_OPTIONS(self):
        self.send_response(204)
        self.cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            value = json.loads(self.rfile.read(length))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def user(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Token "):
            return None
        return self.store.users.get(auth[6:])

    def page(self, items, query, route, filters):
        try:
            size = min(int(query.get("page_size", ["10"])[0]), self.store.max_page_size)
            number = int(query.get("page", ["1"])[0])
        except ValueError:
            return self.reply(404, {"detail": "Invalid page."})
        first = (number - 1) * size
        if number < 1 or (first >= len(items) and number != 1):
            return self.reply(404, {"detail": "Invalid page."})
        host = self.headers.get("Host", "localhost")

        def link(n):
            q = dict(filters, page=n, page_size=query.get("page_size", ["10"])[0])
            return "http://%s%s?%s" % (host, route, urllib.parse.urlencode(q))
        self.reply(200, {"count": len(items), "next": link(number + 1) if first + size < len(items) else None,
                         "previous": link(number - 1) if number > 1 else None, "results": items[first:first + size]})

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        s = self.store
        if url.path == "/_state":
            with s.lock:
                return self.reply(200, {"jobs": list(s.jobs.values()), "issues": [s.issue_json(i) for i in s.issues.values()],
                                        "comments": [s.comment_json(c) for c in s.comments.values()], "log": s.log})
        user = self.user()
        if user is None:
            return self.reply(401, {"detail": "Authentication credentials were not provided."})
        body = self.body() if method in ("POST", "PATCH") else {}
        if body is None:
            return self.reply(400, {"detail": "JSON parse error"})
        with s.lock:
            s.log.append("%s %s" % (method, self.path))
            if len(parts) < 2 or parts[0] != "api":
                return self.reply(404, {"detail": "Not found."})
            kind, ident = parts[1], (parts[2] if len(parts) > 2 else None)
            if ident is not None and not ident.isdigit():
                return self.reply(404, {"detail": "Not found."})
            ident = int(ident) if ident is not None else None
            if kind == "jobs" and ident is not None and len(parts) == 4 and parts[3] == "annotations" and method == "GET":
                if ident not in s.jobs:
                    return self.reply(404, {"detail": "Not found."})
                return self.reply(200, {"version": 0, "tags": [], "shapes": [], "tracks": []})
            if kind == "jobs" and ident is not None and len(parts) == 3:
                job = s.jobs.get(ident)
                if job is None:
                    return self.reply(404, {"detail": "Not found."})
                if method == "GET":
                    return self.reply(200, s.job_json(job))
                if method == "PATCH":
                    if "stage" in body and body["stage"] not in STAGES:
                        return self.reply(400, {"stage": ['"%s" is not a valid choice.' % body["stage"]]})
                    if "state" in body and body["state"] not in STATES:
                        return self.reply(400, {"state": ['"%s" is not a valid choice.' % body["state"]]})
                    stage = body.get("stage", job["stage"])
                    state = body.get("state", "new" if stage != job["stage"] else job["state"])
                    job["stage"], job["state"] = stage, state
                    return self.reply(200, s.job_json(job))
            if kind == "issues":
                if ident is None and method == "GET":
                    items = [s.issue_json(i) for i in s.issues.values() if "job_id" not in query or str(i["job"]) == query["job_id"][0]]
                    filters = {"job_id": query["job_id"][0]} if "job_id" in query else {}
                    return self.page(items, query, "/api/issues", filters)
                if ident is None and method == "POST":
                    missing = required(body, ("frame", "position", "job", "message"))
                    if missing:
                        return self.reply(400, missing)
                    position = body["position"]
                    if not isinstance(position, list) or not position or not all(isinstance(v, (int, float)) for v in position):
                        return self.reply(400, {"position": ["This list may not be empty." if position == [] else "A valid number is required."]})
                    if body["job"] not in s.jobs:
                        return self.reply(400, {"job": ['Invalid pk "%s" - object does not exist.' % body["job"]]})
                    if not isinstance(body["message"], str) or not body["message"]:
                        return self.reply(400, {"message": ["This field may not be blank."]})
                    issue = s.add_issue(user, body["job"], body["frame"], [float(v) for v in position], body["message"], bool(body.get("resolved", False)))
                    return self.reply(201, s.issue_json(issue))
                issue = s.issues.get(ident)
                if issue is None:
                    return self.reply(404, {"detail": "Not found."})
                if method == "GET":
                    return self.reply(200, s.issue_json(issue))
                if method == "PATCH":
                    for key in ("resolved", "position", "assignee"):  # frame, job, message: write-once
                        if key in body:
                            issue[key] = body[key]
                    issue["updated_date"] = now()
                    return self.reply(200, s.issue_json(issue))
                if method == "DELETE":
                    del s.issues[ident]
                    for cid in [c["id"] for c in s.comments.values() if c["issue"] == ident]:
                        del s.comments[cid]
                    return self.reply(204)
            if kind == "comments":
                if ident is None and method == "GET":
                    items = [s.comment_json(c) for c in s.comments.values() if "issue_id" not in query or str(c["issue"]) == query["issue_id"][0]]
                    filters = {"issue_id": query["issue_id"][0]} if "issue_id" in query else {}
                    return self.page(items, query, "/api/comments", filters)
                if ident is None and method == "POST":
                    missing = required(body, ("issue", "message"))
                    if missing:
                        return self.reply(400, missing)
                    if body["issue"] not in s.issues:
                        return self.reply(400, {"issue": ['Invalid pk "%s" - object does not exist.' % body["issue"]]})
                    return self.reply(201, s.comment_json(s.add_comment(user, body["issue"], body["message"])))
                comment = s.comments.get(ident)
                if comment is None:
                    return self.reply(404, {"detail": "Not found."})
                if method == "GET":
                    return self.reply(200, s.comment_json(comment))
                if method == "PATCH":
                    if "message" in body:  # issue: write-once
                        comment["message"] = body["message"]
                        comment["updated_date"] = now()
                    return self.reply(200, s.comment_json(comment))
                if method == "DELETE":
                    del s.comments[ident]
                    return self.reply(204)
            return self.reply(405 if kind in ("jobs", "issues", "comments") else 404, {"detail": 'Method "%s" not allowed.' % method})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


def make_server(port, max_page_size=100, seed=False):
    store = Store(max_page_size)
    if seed:
        store.seed()
    handler = type("FakeCvatHandler", (Handler,), {"store": store})
    return ThreadingHTTPServer(("127.0.0.1", port), handler), store


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-page-size", type=int, default=100)
    parser.add_argument("--seed", action="store_true")
    args = parser.parse_args()
    server, _ = make_server(args.port, args.max_page_size, args.seed)
    print("ready", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
