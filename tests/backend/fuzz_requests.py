#!/usr/bin/env python3
"""Fuzz serve.py's request parsing: every request must get a well-formed HTTP answer below 500.

Generates mutated requests from a seed and sends them as raw bytes to a real serve.py subprocess:
request lines, paths and query strings, every header the server reads, and bodies (valid PATCH,
PUT and POST bodies with one value mutated: huge or odd numbers, superscript digits, deep nesting,
lone surrogates as \\ud800 escapes, wrong types; or the bytes truncated, cut or spliced). Checks:

- a complete HTTP reply comes back (a request that gets none is what the sync client reads as
  "offline" and retries forever), with a status below 500 (501 only for a method no route has);
- an /api reply to a well-formed request line that is 4xx is JSON ``{"error": {"code",
  "message", ...}}`` and names what is wrong: a JSON pointer ("path"), a "header", a query
  "parameter" or the "target", unless the code is about the route or resource itself;
- the server logged no traceback and is still running at the end.

    python3 fuzz_requests.py                      # the short form run by ctest (seed 21, 2000)
    python3 fuzz_requests.py --executions 50000 --seed 7

Exits 1 with the failing requests (as Python byte literals, to replay) when any check fails.
"""

import argparse
import base64
import collections
import copy
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from raw_http import NoAnswer, read_reply, request_bytes  # noqa: E402
from test_serve import PNG_A, ServerProcess, make_demo_dir, write  # noqa: E402

TASK = "demo"
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# 4xx codes about the route or the resource, not about one field of the request
ROUTE_CODES = {"not_found", "method_not_allowed", "unauthorized", "too_large", "conflict",
               "precondition_required", "task_exists", "length_required",
               # review: what the role, the job's stage or its issues allow, not a field of the request
               "forbidden", "stage_changed", "open_issues", "no_open_issues", "jobs_in_progress"}
FIELD_KEYS = ("path", "header", "parameter", "target")

ODD_NUMBERS = ["\u00b2", "1\u00b3", "\u0663", "7" * 5000, "99999999999999999999", "9223372036854775808",
               "9223372036854775807", "-1", "0", "00000000000000000000001", "1e400", "1.5", "0x10", "",
               " 1", "1 ", "+1", "NaN", "\u00b9\u00b9", "12345678901234567890123"]
ODD_TEXT = ["", " ", "\u00e9", "\u00ff" * 300, "x" * 9000, "\"", "\\", "%00", "%ff", "%C2%B2", "\t",
            "rev-1", '"rev-1"', '"rev-\u00b2"', "W/\"x\", \"y\"", "*", ",,,,", "bytes=0-", "gzip;q=x",
            "Bearer ", "Bearer \u00ff\u00fe", "null"]
RAW_HEADER_BYTES = [b"\xff\xfe\xfd", b"\xc3\xa9", b"\xed\xa0\x80", b"\x80" * 50, b"a\x00b", b"\xe2\x80\xa8"]
HEADERS_READ = ["Content-Length", "Transfer-Encoding", "If-Match", "If-None-Match", "If-Modified-Since",
                "If-Range", "Range", "Accept-Encoding", "Origin", "Authorization", "X-Polymark-User",
                "X-Polymark-Device", "X-Polymark-Role", "Content-Type", "Access-Control-Request-Method",
                "Connection", "Expect"]


def rect(item_id, x=0):
    return {"id": item_id, "type": "rectangle", "frame": 0, "label": "cat", "points": [x, 0, x + 10, 10],
            "attributes": {"a": 1}, "meta": {"k": "v"}}


def track(item_id):
    return {"id": item_id, "type": "rectangle", "label": "cat",
            "keyframes": [{"id": item_id + ".k0", "frame": 0, "points": [0, 0, 5, 5]},
                          {"id": item_id + ".k9", "frame": 9, "points": [9, 0, 14, 5]}]}


# Guideline file names, fine and hostile (docs/SCHEMA.md section 14).
GUIDELINE_NAMES = ["a.png", "ex.jpg", "..", ".hidden", "a/b.png", "a\\b", "a\x00b", "x" * 300, "\u00e9.png", "%ff"]


class Generator:
    """Mutated requests from one seeded random source."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.counter = 0

    def pick(self, items):
        return items[self.rng.randrange(len(items))]

    # ---- valid bodies to mutate

    def patch_body(self):
        r, ops = self.rng, []
        for _ in range(r.randint(1, 4)):
            self.counter += 1
            kind = self.pick(["object", "track"])
            item = f"{kind[0]}{r.randrange(30)}"
            verb = self.pick(["create", "update", "delete"])
            op = {"op_id": f"fz.{self.counter % 500}", "kind": kind, "op": verb, "id": item}
            if verb != "delete":
                op["value"] = rect(item, r.randrange(100)) if kind == "object" else track(item)
            if verb == "create" and r.random() < 0.3:
                op["index"] = r.randrange(5)
            ops.append(op)
        return {"base_revision": self.revision_guess(), "user": "fuzz", "device": self.pick(["d1", "d2"]),
                "operations": ops}

    def review_body(self):
        """A PATCH of issues, comments and decisions about the objects patch_body makes."""
        r, ops = self.rng, []
        for _ in range(r.randint(1, 4)):
            self.counter += 1
            kind = self.pick(["issue", "comment", "decision"])
            item = f"{kind[0]}{r.randrange(30)}"
            verb = self.pick(["create", "update", "delete"])
            op = {"op_id": f"fz.{self.counter % 500}", "kind": kind, "op": verb, "id": item}
            value = {"issue": {"id": item, "frame": 0, "points": [1, 1, 5, 5], "status": self.pick(["open", "resolved"]),
                               "author": "fuzz"},
                     "comment": {"id": item, "issue": f"i{r.randrange(30)}", "text": "why", "author": "fuzz"},
                     "decision": {"id": item, "item": f"o{r.randrange(30)}", "frame": 0,
                                  "verdict": self.pick(["accepted", "rejected"]), "author": "fuzz"}}[kind]
            if verb != "delete":
                op["value"] = value
            ops.append(op)
        return {"base_revision": self.revision_guess(), "user": "fuzz", "device": self.pick(["d1", "d2"]),
                "operations": ops}

    def job_body(self):
        return self.pick([{"stage": self.pick(["annotation", "review", "accepted"])},
                          {"stage": "review", "from": "annotation"}, {"assignee": "fuzz", "reviewer": None}])

    def split_body(self):
        return self.pick([{"frames_per_job": self.rng.randint(1, 3)}, {"per_medium": True},
                          {"jobs": [{"start_frame": 0, "stop_frame": None}]}])

    def sets_body(self):
        return self.pick([{"kind": "golden", "frames": [0, self.rng.randint(1, 91)]},
                          {"kind": "golden", "per_job": self.rng.randint(1, 3)},
                          {"kind": "golden", "frames": [0], "document": self.put_body()},
                          {"kind": "replicas", "count": self.rng.randint(2, 9)}])

    def revision_guess(self):
        """Mostly a revision the task may be at (the fuzzed PATCHes and PUTs move it)."""
        return self.rng.randrange(0, 3) + self.counter // 40

    def put_body(self):
        return {"format": "polymark.annotations", "version": 1,
                "objects": [rect(f"p{i}", i) for i in range(self.rng.randint(0, 3))],
                "tracks": [track("pt")] if self.rng.random() < 0.5 else [], "meta": {"qa": "ok"}}

    def guidelines_body(self):
        files = {self.pick(GUIDELINE_NAMES): self.pick([base64.b64encode(PNG_A).decode("ascii"), None, "QUJ", ""])
                 for _ in range(self.rng.randint(0, 3))}
        return {"text": self.pick(["# Rules\n\nBox **tight**.", "", "x" * 200]), "files": files,
                "base_version": self.rng.randrange(-1, 4)}

    def post_body(self):
        task_id = f"fz{self.rng.randrange(20)}"
        return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": "F",
                         "media": [{"id": "img", "type": "image", "file": "img/a.png"}], "labels": [{"id": "cat"}]},
                "files": {"img/a.png": base64.b64encode(PNG_A).decode("ascii")},
                "annotations": {"format": "polymark.annotations", "version": 1, "objects": [rect("o1")]}}

    # ---- mutations

    def odd_value(self):
        r = self.rng
        choice = r.randrange(12)
        if choice == 0:
            return 10 ** r.choice([19, 20, 30, 309, 400])
        if choice == 1:
            return -(10 ** r.choice([19, 30]))
        if choice == 2:
            return self.pick(["\u00b2", "\ud800", "\udfff", "a\udc80b", "\u0000", "\u202e", "x" * 70000])
        if choice == 3:
            depth = self.pick([10, 100, 500, 1000, 5000])
            value = []
            for _ in range(depth):
                value = [value]
            return value
        if choice == 4:
            return self.pick([None, True, False, [], {}, "", 0, -1, 1.5, 2 ** 53, 2 ** 63, -0.0])
        if choice == 5:
            return {"\ud800": 1, "ok": "\udbff"}
        if choice == 6:
            return [r.random() * 10 ** r.randrange(300) for _ in range(r.randrange(1, 9))]
        if choice == 7:
            return self.pick(["create", "update", "delete", "object", "track", "tag", "rectangle"])
        if choice == 8:
            return "fz." + self.pick(["1", "2", "3", "\u00b2", "a/b", "x" * 200])
        if choice == 9:
            return [0, 0, 10, 10] * r.randrange(1, 300)
        if choice == 10:
            return {"id": "o1", "type": "rectangle", "frame": 10 ** 20, "label": "cat", "points": [0, 0, 1, 1]}
        return r.randrange(-5, 100)

    def mutate_value(self, value):
        """Replace (or add, or drop) one node somewhere in a JSON value."""
        value = copy.deepcopy(value)
        nodes = []

        def walk(node):
            if isinstance(node, dict):
                for key in list(node):
                    nodes.append((node, key))
                    walk(node[key])
            elif isinstance(node, list):
                for i in range(len(node)):
                    nodes.append((node, i))
                    walk(node[i])
        walk(value)
        for _ in range(self.rng.randint(1, 3)):
            if not nodes:
                return self.odd_value()
            parent, key = self.pick(nodes)
            action = self.rng.random()
            if action < 0.75:
                parent[key] = self.odd_value()
            elif action < 0.85 and isinstance(parent, dict):
                parent.pop(key, None)
            elif isinstance(parent, dict):
                parent[self.pick(["\ud800x", "extra", "index", "value", "op_id", "user"])] = self.odd_value()
            else:
                parent.append(self.odd_value())
        return value

    def encode(self, value):
        """JSON text with lone surrogates as escapes and numbers as long as Python writes them."""
        try:
            text = json.dumps(value, ensure_ascii=self.rng.random() < 0.8)
        except (ValueError, RecursionError):
            text = "[" * 5000
        return text.encode("utf-8", "surrogatepass")

    def mutate_bytes(self, data):
        r = self.rng
        choice = r.randrange(7)
        if choice == 0 and data:
            return data[:r.randrange(len(data))]
        if choice == 1:
            at = r.randrange(len(data) + 1)
            return data[:at] + bytes(r.randrange(256) for _ in range(r.randint(1, 8))) + data[at:]
        if choice == 2:
            return self.pick([b"[" * 100000, b'{"a":' * 100000, b"", b"null", b"\xef\xbb\xbf{}", b"NaN",
                              b'{"base_revision":1e999}', b'"\\ud800"', b"\xff\xfe{", b"{} {}", b"[1,]"])
        if choice == 3:
            return data.replace(b"0", "\u00b2".encode("utf-8"), 1)
        if choice == 4:
            return data.replace(b'"fuzz"', b'"\\ud800"').replace(b'"cat"', b'"\\udfff"')
        return data

    # ---- requests

    def target(self, method):
        r = self.rng
        base = self.pick([f"/api/tasks/{TASK}/annotations", f"/api/tasks/{TASK}/history", "/api/tasks",
                          f"/api/tasks/{TASK}", "/data.bin", f"/media/{TASK}/a.png", "/", "/api", "/api/x",
                          f"/api/tasks/{TASK}/review", f"/api/tasks/{TASK}/jobs", f"/api/tasks/{TASK}/jobs/1",
                          f"/api/tasks/{TASK}/jobs/{urllib.parse.quote(self.pick(ODD_NUMBERS))}",
                          f"/api/tasks/{TASK}/guidelines", f"/api/tasks/{TASK}/guidelines/versions",
                          f"/api/tasks/{TASK}/guidelines/files/" + urllib.parse.quote(self.pick(GUIDELINE_NAMES)),
                          f"/api/tasks/{TASK}/sets", f"/api/tasks/{TASK}@golden/annotations",
                          f"/api/tasks/{TASK}@r1/annotations", f"/api/tasks/{TASK}@r2/jobs/1"])
        if base.endswith(("annotations", "review")) and method in ("GET", "HEAD") and r.random() < 0.6:
            base += "?since=" + self.query_value()
        elif "/guidelines" in base and not base.endswith("versions") and r.random() < 0.6:
            base += "?version=" + self.query_value()
        elif base.endswith("history") and r.random() < 0.8:
            base += "?" + "&".join(f"{k}={self.query_value()}" for k in r.sample(["after", "limit", "item"], r.randint(1, 3)))
        if r.random() < 0.15:
            base += self.pick(["?", "?&", "?a=1&a=2", "?since=1&since=2", "?%ff=1", "?x", "#frag", "%00",
                               "/..", "/%2e%2e/x", "%2f", "/%C0%AF", "?" + "a=b&" * 3000, "/\u00e9",
                               "?since=%F0%9F%98%80"])
        if r.random() < 0.05:
            base = self.pick(["*", "http://x/api/tasks", "api/tasks", "//api/tasks", "/" + "a" * 9000])
        return base.encode("utf-8", "surrogatepass")

    def query_value(self):
        """An odd number as a client would put it in a URL (percent-encoded), now and then raw."""
        value = self.pick(ODD_NUMBERS)
        return value if self.rng.random() < 0.1 else urllib.parse.quote(value, safe="%")

    def body_for(self, method, target):
        if method == "PATCH" and target.endswith(b"/review"):
            value = self.review_body()
        elif method == "PATCH" and b"/jobs/" in target:
            value = self.job_body()
        elif method == "POST" and target.endswith(b"/jobs"):
            value = self.split_body()
        elif method == "POST" and target.endswith(b"/sets"):
            value = self.sets_body()
        elif method == "PATCH":
            value = self.patch_body()
        elif method == "PUT" and target.endswith(b"/guidelines"):
            value = self.guidelines_body()
        elif method == "PUT":
            value = self.put_body()
        elif method == "POST":
            value = self.post_body()
        else:
            return b"" if self.rng.random() < 0.8 else b"{}"
        roll = self.rng.random()
        if roll < 0.55:
            value = self.mutate_value(value)
        data = self.encode(value)
        if roll > 0.8:
            data = self.mutate_bytes(data)
        return data

    def headers(self, method, body):
        r, headers = self.rng, []
        if method == "PUT":
            headers.append(("If-Match", f'"rev-{self.revision_guess()}"'))
        for _ in range(r.randint(0, 4)):
            name = self.pick(HEADERS_READ)
            if r.random() < 0.15:
                value = self.pick(RAW_HEADER_BYTES)
            elif name in ("Content-Length", "Range", "If-Match", "If-Range") and r.random() < 0.6:
                number = self.pick(ODD_NUMBERS)
                value = {"Range": f"bytes={number}-{self.pick(ODD_NUMBERS)}", "If-Match": f'"rev-{number}"',
                         "If-Range": f'"{number}"'}.get(name, number)
            else:
                value = self.pick(ODD_TEXT)
            headers.append((name, value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value))
        names = [n.lower() for n, _ in headers]
        if "content-length" not in names and "transfer-encoding" not in names and body:
            headers.append(("Content-Length", str(len(body))))
        return headers

    def request(self):
        """(bytes, well_formed_line, method, target)."""
        r = self.rng
        method = self.pick(KNOWN_METHODS) if r.random() < 0.95 else self.pick(
            ["get", "FOO", "PATCH\x00", "G T", "", "BREW", "PRI"])
        target = self.target(method)
        body = self.body_for(method, target)
        data = request_bytes(method, target, self.headers(method, body), body, content_length=False)
        # a space or control byte in the target breaks the request line itself
        well_formed = method in KNOWN_METHODS and all(b > 0x20 and b != 0x7f for b in target)
        if r.random() < 0.03:
            data = self.pick([data.replace(b"HTTP/1.1", b"HTTP/9.9", 1), data.replace(b"\r\n", b"\n"),
                              data[:r.randrange(1, max(2, len(data)))], b"\r\n" + data,
                              data.replace(b"Host:", b"Host :", 1), data.replace(b"\r\n\r\n", b"\r\n x\r\n\r\n", 1)])
            well_formed = False
        return data, well_formed, method, target


def check(reply, well_formed, method, target):
    """A problem with a reply, or None."""
    # 501 (no such method) and 505 (no such HTTP version) are the right answers to broken request lines
    if reply.status >= 500 and not (reply.status in (501, 505) and not well_formed):
        return f"status {reply.status}"
    is_api = target == b"/api" or target.startswith((b"/api/", b"/api?"))
    if not (well_formed and is_api and 400 <= reply.status < 500 and method != "HEAD"):
        return None
    try:
        error = reply.json()["error"]
    except (TypeError, KeyError, ValueError) as e:
        return f"a {reply.status} without a JSON error body ({e!r})"
    if not isinstance(error.get("code"), str) or not isinstance(error.get("message"), str):
        return "an error without code and message"
    if error["code"] not in ROUTE_CODES and not any(key in error for key in FIELD_KEYS):
        return f"a {reply.status} {error['code']} that names no field"
    return None


def send(host, port, data, head):
    with socket.create_connection((host, port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # a declared body longer than the bytes sent ends here
        except OSError:
            pass  # answered (413, 400) and closed before taking everything: the reply is still there
        return read_reply(sock, head)


def run(executions, seed, verbose=False):
    tmp = tempfile.mkdtemp(prefix="pm-fuzz-")
    failures, statuses = [], collections.Counter()
    server = None
    try:
        write(os.path.join(tmp, "web", "data.bin"), bytes(range(256)) * 16)
        server = ServerProcess(tmp, ["--db", os.path.join(tmp, "db", "polymark.sqlite"), "--web",
                                     os.path.join(tmp, "web"), "--quiet", "--import", make_demo_dir(tmp)]).start()
        generator = Generator(seed)
        started = time.monotonic()
        for n in range(executions):
            data, well_formed, method, target = generator.request()
            try:
                reply = send(server.host, server.port, data, method == "HEAD")
                problem = check(reply, well_formed, method, target)
                statuses[reply.status] += 1
            except NoAnswer as e:
                problem, reply = f"no answer: {e}", None
                statuses["none"] += 1
            if problem:
                failures.append((n, problem, data, reply))
                if verbose or len(failures) <= 3:
                    print(f"execution {n}: {problem}\n  request: {data[:600]!r}\n  reply: {reply!r}", file=sys.stderr)
                if server.proc.poll() is not None:
                    failures.append((n, "serve.py exited", b"", None))
                    break
                if len(failures) >= 50:
                    break
        elapsed = time.monotonic() - started
        alive = server.proc.poll() is None
        time.sleep(0.2)  # the last request's log lines
        log = server.stderr()  # read before stopping: what shutdown itself logs is not about requests
    finally:
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    tracebacks = log.count("Traceback")
    print(f"fuzz_requests: seed {seed}: {n + 1} executions in {elapsed:.1f} s, "
          f"{len(failures)} failures, {tracebacks} tracebacks logged, server {'alive' if alive else 'DEAD'}; "
          f"statuses {dict(sorted(statuses.items(), key=str))}")
    if tracebacks:
        print(log[-4000:], file=sys.stderr)
    return not failures and not tracebacks and alive


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--verbose", action="store_true", help="print every failure, not the first 3")
    args = parser.parse_args()
    return 0 if run(args.executions, args.seed, args.verbose) else 1


if __name__ == "__main__":
    sys.exit(main())
