"""The HTTP handler: every route of serve.py's docstring, over a Store."""

import contextlib
import email.utils
import hashlib
import hmac
import io
import json
import os
import re
import socket
import ssl
import stat
import sys
import threading
import time
import traceback
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from . import guidelines
from . import queue
from . import review
from . import sets
from .review import Principal, REVIEW_KINDS
from .connections import RequestClock
from .errors import BadPath, ImportFailure, RequestError
from .imports import import_task_upload
from .media import MEDIA_CSP, media_headers
from .static import (CHUNK, CODING_TAGS, COMPRESSIBLE, GZIP_MAX_FILE, accepts, client_cache_control, content_type,
                     parse_range, resolve_file, shown_text, split_request_path)
from .validation import (ITEM_ID_RE, JsonLimitError, TASK_ID_RE, _media_spans, frame_count, parse_json,
                         task_rule_failures, task_summary, validate_document, validate_patch)

DEFAULT_MAX_BODY = 32 * 1024 * 1024   # bytes of one request body (--max-body)
DRAIN_SECONDS = 2.0                   # how long an unread request body is read and dropped
DRAIN_BYTES = 64 * 1024 * 1024        # ... and how much of it, before the connection closes
MAX_PATCH_BODY = 8 * 1024 * 1024      # bytes of one PATCH body (413 beyond; the client halves its batch)
BIG_BODY_BYTES = 1024 * 1024          # API requests with bigger bodies are worked on one at a time...
BIG_BODY_WAIT = 60                    # ...each waiting at most this many seconds for its turn (else 503)
HISTORY_LIMIT = 10000                 # entries in one history reply (the default and the most)
SQLITE_INT_MAX = 2 ** 63 - 1          # the largest integer a query parameter may carry into SQLite
ASCII_DECIMAL_RE = re.compile(r"[0-9]{1,19}")  # not str.isdigit(): that also takes "²", which int() refuses
# What the page sends to another origin's API and media (docs/SERVER.md, "Another origin"): the
# sync's JSON bodies and token, who asks, conditional reads, and video's byte ranges.
CORS_ALLOW_HEADERS = ("Authorization, Content-Type, If-Match, If-None-Match, X-Polymark-User, X-Polymark-Device, "
                      "X-Polymark-Role, Range")
# What it may read of the replies beyond the safelisted ones: revisions (ETag), a created task's
# Location, why a token was refused, when to retry a 503, and a range reply's extent.
CORS_EXPOSE_HEADERS = "ETag, Location, WWW-Authenticate, Retry-After, Content-Range, Accept-Ranges"
DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                     socket.timeout)


_BIG_BODY_GATE = threading.Semaphore(1)  # see Handler.big_body_turn


# --------------------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    """Routes requests to the API, the media root or the static client files."""

    protocol_version = "HTTP/1.1"
    # A request line too broken to carry a version still gets a status line and headers (the
    # stdlib's default, HTTP/0.9, would answer with a bare body that no client can read as a reply).
    default_request_version = "HTTP/1.1"
    timeout = None  # per write and TLS handshake: set from the server's limits in setup()
    # Headers and body go out in separate writes; with Nagle on, the body waits for the
    # client's delayed ACK of the headers (~40 ms per small reply on keep-alive connections).
    disable_nagle_algorithm = True

    # ---- entry points

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_OPTIONS(self):
        self.dispatch()

    def setup(self):
        limits = self.server.limits
        self.timeout = limits.request_timeout  # bounds each write and the TLS handshake
        super().setup()
        self.rfile.close()  # replaced by a reader that knows when a request started
        self.reader = RequestClock(self.connection, limits.idle_timeout, limits.request_timeout)
        self.rfile = io.BufferedReader(self.reader)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def handle(self):
        """Requests on one connection until it closes, is idle too long, or a request is too slow."""
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection:
                self.reader.await_next_request()
                self.handle_one_request()
        except DISCONNECT_ERRORS:
            self.close_connection = True
            return
        if getattr(self, "body_unread", False):
            self.drain_before_close()

    def drain_before_close(self):
        """After a reply sent without reading the request body (a 413, an early 400), read and drop
        what the client still sends, for a short while: closing with unread input sends a reset,
        which can destroy the reply before the client reads it, and the sync client would take the
        lost reply for being offline and send the same request again forever."""
        sock = self.connection
        try:
            self.wfile.flush()
            sock.shutdown(socket.SHUT_WR)
            deadline, budget = time.monotonic() + DRAIN_SECONDS, DRAIN_BYTES
            while budget > 0 and time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    break
                budget -= len(chunk)
        except (OSError, ValueError):
            pass

    def version_string(self):
        return "polymark"

    def parse_request(self):
        # RFC 9112 section 2.2: empty lines before a request line are skipped, not a silent close.
        for _ in range(4):
            if self.raw_requestline not in (b"\r\n", b"\n"):
                break
            self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.requestline, self.request_version, self.command = "", self.default_request_version, None
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        return super().parse_request()

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # ---- routing

    def dispatch(self):
        """Answer one request, whatever happens: what slipped past every check is a logged 500."""
        self.response_started = False
        self.is_api = self.path == "/api" or self.path.startswith(("/api/", "/api?"))
        try:
            self.route()
        except DISCONNECT_ERRORS:
            raise
        except Exception as e:  # noqa: BLE001 (the last resort: the client must get an answer)
            self.answer_internal_error(e)

    def answer_internal_error(self, error):
        # Straight to stderr, --quiet or not: --quiet silences the access log, not failures.
        sys.stderr.write(f"{self.log_date_time_string()} polymark: internal error on {self.command} "
                         f"{self.path[:200]!r}:\n{''.join(traceback.format_exception(error))}")
        sys.stderr.flush()
        self.close_connection = True  # the request body may be unread; the connection cannot be reused
        if self.response_started:
            return  # a reply is partly out: closing the connection is all that is left
        self._headers_buffer = []  # a reply begun but not sent yet is dropped for this one
        message = f"the server failed on this request ({type(error).__name__}); the failure is logged"
        if self.is_api:
            self.send_json_error(500, "internal", message)
        else:
            self.send_text(500, message + "\n")

    def route(self):
        self.client_wants_close = self.close_connection
        self.cors_origin = None
        self.body_unread = bool(self.headers.get("Transfer-Encoding")
                                or (self.headers.get("Content-Length") or "0").strip() != "0")
        if self.body_unread:
            self.close_connection = True  # until read_json_body() has read the request body
        is_api = self.is_api
        origin = self.headers.get("Origin")
        if origin is not None and origin in self.server.cors_origins:
            self.cors_origin = origin
        try:
            too_big = self.body_too_big()
        except RequestError as e:
            return self.send_json(e.status, e.body()) if is_api else self.send_text(e.status, e.message + "\n")
        if too_big:
            return self.send_json_error(413, "too_large", too_big) if is_api else \
                self.send_text(413, too_big + "\n")
        try:
            segments = split_request_path(self.path)
        except BadPath as e:
            if is_api:
                return self.send_json(400, RequestError(400, "bad_request", str(e), field={"target": "path"}).body())
            return self.send_text(400, f"bad request: {e}\n")
        if segments[:1] == ["api"]:
            return self.route_api(segments[1:])
        if self.command == "OPTIONS":
            return self.send_options("GET, HEAD, OPTIONS")
        if self.command not in ("GET", "HEAD"):
            return self.send_text(405, "method not allowed\n", {"Allow": "GET, HEAD"})
        if segments[:1] == ["media"]:
            return self.serve_file(self.server.media_root, segments[1:], "max-age=3600", media=True)
        return self.serve_file(self.server.web_root, segments, client_cache_control(segments[-1] if segments else ""),
                               index=True)

    def route_api(self, parts):
        store = self.server.store
        if parts == ["tasks"]:
            handlers = {"GET": self.api_list_tasks, "POST": self.api_post_task}
        elif len(parts) == 2 and parts[0] == "tasks":
            handlers = {"GET": self.api_get_task}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "annotations":
            handlers = {"GET": self.api_get_annotations, "PUT": self.api_put_annotations,
                        "PATCH": self.api_patch_annotations}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "history":
            handlers = {"GET": self.api_history}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "review":
            handlers = {"GET": self.api_get_review, "PATCH": self.api_patch_review}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "jobs":
            handlers = {"GET": self.api_list_jobs, "POST": self.api_split_jobs}
        elif len(parts) == 4 and parts[0] == "tasks" and parts[2] == "jobs":
            handlers = {"GET": self.api_get_job, "PATCH": self.api_update_job}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "guidelines":
            handlers = {"GET": self.api_get_guidelines, "PUT": self.api_put_guidelines}
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "sets":
            handlers = {"GET": self.api_get_sets, "POST": self.api_post_sets}
        elif parts[:1] == ["tasks"] and parts[2:] == ["guidelines", "versions"]:
            handlers = {"GET": self.api_guideline_versions}
        elif len(parts) == 5 and parts[0] == "tasks" and parts[2:4] == ["guidelines", "files"]:
            handlers = {"GET": self.api_guideline_file}
        elif parts == ["queue", "next"]:
            handlers = {"POST": self.api_queue_next}
        elif parts == ["queue", "skip"]:
            handlers = {"POST": self.api_queue_skip}
        else:
            handlers = None
        if self.command == "OPTIONS":  # CORS preflight: answered without credentials
            allow = ", ".join(["GET", "HEAD", *[m for m in handlers or () if m != "GET"], "OPTIONS"])
            return self.send_options(allow)
        if not self.authorized():
            return self.send_json_error(401, "unauthorized", "a valid 'Authorization: Bearer' token is needed",
                                        {"WWW-Authenticate": 'Bearer realm="polymark"'})
        if handlers is None:
            return self.send_json_error(404, "not_found", f"no API route {self.api_path(parts)}")
        handler = handlers.get("GET" if self.command == "HEAD" else self.command)
        if handler is None:
            allow = ", ".join(["GET", "HEAD", *[m for m in handlers if m != "GET"]])
            return self.send_json_error(405, "method_not_allowed",
                                        f"{self.command} is not allowed on {self.api_path(parts)}",
                                        {"Allow": allow})
        if parts[0] == "tasks" and len(parts) >= 2 and not sets.is_route_task_id(parts[1], TASK_ID_RE):
            return self.task_not_found(parts[1])
        try:
            with self.big_body_turn():
                if parts[0] == "tasks" and len(parts) >= 2:
                    self.refuse_hidden_task(parts[1])
                handler(store, parts)
        except RequestError as e:
            self.send_json(e.status, e.body(), e.headers)
        except store.refused_errors as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.send_json_error(400, "unstorable", f"the database cannot store a value of this request: {reason}")
        except store.database_errors as e:
            self.log_error("database error: %s", e)
            self.send_json_error(500, "internal", "database error")

    @staticmethod
    def api_path(parts):
        return "/api/" + "/".join(urllib.parse.quote(p) for p in parts)

    # ---- request parts: credentials, body, query

    def authorized(self):
        """Whether the request carries a configured token (always, without --token/--tokens-file).

        Every configured token is compared, in constant time, so neither which
        token matched nor how much of one did shows in the timing.
        """
        self.token_user = self.token_role = None
        tokens = self.server.tokens
        if not tokens:
            return True
        scheme, _, candidate = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not candidate.strip():
            return False
        digest = hashlib.sha256(candidate.strip().encode("utf-8", "surrogateescape")).digest()
        found = False
        for token_digest, user, role in tokens:
            if hmac.compare_digest(digest, token_digest):
                found, self.token_user, self.token_role = True, user, role
        return found

    def content_length(self):
        """The declared body size: 0 without a body; RequestError for chunked or malformed."""
        if self.headers.get("Transfer-Encoding"):
            raise RequestError.bad_header("Transfer-Encoding", "send the body with a Content-Length",
                                          411, "length_required")
        return self.declared_length()

    def declared_length(self):
        """Content-Length as an int (0 when absent); 400 naming the header when it is not a byte count.

        Several Content-Length headers must agree: a body two parsers could frame differently is refused.
        """
        values = [v.strip() for v in self.headers.get_all("Content-Length") or ()]
        if not values:
            return 0
        if len(set(values)) > 1:
            raise RequestError.bad_header("Content-Length", f"{len(values)} different values")
        if not ASCII_DECIMAL_RE.fullmatch(values[0]):
            raise RequestError.bad_header("Content-Length", f"{shown_text(values[0])} is not a byte count "
                                          "(ASCII digits, at most 19)")
        return int(values[0])

    @contextlib.contextmanager
    def big_body_turn(self):
        """Requests with a body over BIG_BODY_BYTES run one at a time (the others wait their turn).

        Parsed JSON takes ~10 times its text in memory, so a few big bodies at once would
        multiply the peak; one at a time costs no throughput, as the work holds the GIL anyway.
        A request that waited BIG_BODY_WAIT seconds gets 503 with Retry-After, its body unread.
        """
        if self.declared_length() <= BIG_BODY_BYTES:
            yield
            return
        if not _BIG_BODY_GATE.acquire(timeout=BIG_BODY_WAIT):
            raise RequestError(503, "busy", f"another request with a body over {BIG_BODY_BYTES} bytes is "
                               f"being worked on; try again shortly", headers={"Retry-After": "5"})
        try:
            yield
        finally:
            _BIG_BODY_GATE.release()

    def body_too_big(self):
        """A message when the declared body exceeds its limit (checked before reading it).

        A PATCH has its own, smaller limit (MAX_PATCH_BODY) than --max-body: its work is bounded per
        request. RequestError when Content-Length is malformed.
        """
        length = self.declared_length()
        limit = self.server.max_body
        if self.command == "PATCH" and self.is_api:
            limit = min(limit, MAX_PATCH_BODY)
        if length > limit:
            return f"the request body of {length} bytes exceeds the limit of {limit} bytes"
        return None

    def read_json_body(self, allow_empty=False):
        """The body's JSON value; None for an empty body when ``allow_empty``."""
        length = self.content_length()
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise RequestError(400, "bad_request", "the request body ended early")
        self.close_connection = self.client_wants_close  # the body is read: keep-alive is safe
        self.body_unread = False
        if allow_empty and not body:
            return None
        try:
            return parse_json(body.decode("utf-8"))
        except JsonLimitError as e:  # within the JSON but beyond a limit: named at its pointer
            raise RequestError(400, e.code, f"request body: {e}", path=e.pointer) from e
        except (UnicodeDecodeError, ValueError) as e:
            raise RequestError(400, "not_json", f"the request body is not JSON: {e}", path="") from e
        except RecursionError as e:  # parse_json bounds the depth first; this is the backstop
            raise RequestError(400, "not_json", "the request body is not JSON: nested too deeply",
                               path="") from e

    def query(self, allowed, strict=True):
        """The query parameters (one value each); others are refused, or ignored unless ``strict``."""
        query = urllib.parse.urlsplit(self.path).query
        try:
            pairs = urllib.parse.parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query),
                                           errors="strict")
        except (ValueError, UnicodeDecodeError) as e:
            raise RequestError(400, "bad_request", f"malformed query string: {e}",
                               field={"target": "query"}) from e
        out = {}
        for key, value in pairs:
            if key not in allowed:
                if not strict:
                    continue
                raise RequestError.bad_parameter(key[:80], "unknown")
            if key in out:
                raise RequestError.bad_parameter(key, "given twice")
            out[key] = value
        return out

    @staticmethod
    def query_int(params, key, default, minimum=0, maximum=SQLITE_INT_MAX):
        """An integer parameter in [minimum, maximum]: ASCII digits only, small enough for SQLite."""
        if key not in params:
            return default
        value = params[key]
        if not ASCII_DECIMAL_RE.fullmatch(value) or not minimum <= int(value) <= maximum:
            raise RequestError.bad_parameter(key, f"must be an integer from {minimum} to {maximum}, "
                                                  f"not {shown_text(value)}")
        return int(value)

    # ---- API handlers

    def api_list_tasks(self, store, parts):
        role = self.principal(None).role
        relations = store.set_relations()
        tasks = []
        for task_id, task in store.list_tasks():
            parent, kind = relations.get(task_id, (None, None))
            if not sets.listed(kind, role):
                continue
            entry = task_summary(task)
            if parent is not None:
                entry.update({"of": parent, "set": kind})
            tasks.append(entry)
        self.send_json(200, {"tasks": tasks})

    def api_get_task(self, store, parts):
        task = store.get_task(parts[1])
        if task is None:
            return self.task_not_found(parts[1])
        self.send_json(200, task)

    def api_get_annotations(self, store, parts):
        params = self.query(("since",), strict=False)  # cache-busting parameters stay harmless
        if "since" in params:
            since = self.query_int(params, "since", 0)
            found = store.changes_since(parts[1], since)
            if found is None:
                return self.task_not_found(parts[1])
            revision, changes = found
            return self.send_json(200, {"revision": revision, "since": since, "changes": changes})
        found = store.get_annotations(parts[1])
        if found is None:
            return self.task_not_found(parts[1])
        revision, document = found
        etag = f'"rev-{revision}"'
        if etag_matches(self.headers.get("If-None-Match"), [etag]):
            return self.send_not_modified({"ETag": etag, "Cache-Control": "no-store"})
        self.send_json(200, {"revision": revision, "document": document}, {"ETag": etag})

    def api_put_annotations(self, store, parts):
        if_match = self.headers.get("If-Match")
        if if_match is None:
            raise RequestError(428, "precondition_required",
                               'replacing the document needs If-Match: "rev-N" (the revision it replaces)')
        # Our ETags are "rev-N" with N a revision (19 ASCII digits at most): any other If-Match,
        # superscripts or 5,000 digits included, names no current revision and gets the 412.
        m = re.fullmatch(r'\s*"rev-([0-9]{1,19})"\s*', if_match)
        document = self.read_json_body()
        try:
            validate_document(document, "request body", parts[1])
        except ImportFailure as e:
            raise RequestError.invalid(e) from e
        task = store.get_task(parts[1])
        if task is not None:
            self.check_against_task(task, [((key, i), key[:-1], item) for key in ("objects", "tracks")
                                           for i, item in enumerate(document.get(key) or ())])
        outcome = store.save_annotations(parts[1], document, int(m.group(1)), self.principal(None)) if m \
            else ("stale",)
        if outcome[0] == "forbidden":
            where = f"{outcome[1]}: " if outcome[1] else ""
            raise RequestError(403, "forbidden", f"request body: {where}{outcome[2]}; nothing was replaced",
                               path=outcome[1])
        if outcome[0] == "invalid":
            raise RequestError(400, "duplicate_id", f"request body: {outcome[1]}: {outcome[2]}; nothing was "
                               "replaced", path=outcome[1])
        revision = outcome[1] if outcome[0] == "ok" else None
        if revision is None:
            current = store.get_annotations(parts[1])
            if current is None:
                return self.task_not_found(parts[1])
            raise RequestError(412, "precondition_failed",
                               f"header If-Match: the document is at revision {current[0]}, "
                               f"not {shown_text(if_match.strip())}",
                               extra={"revision": current[0]}, field={"header": "If-Match"})
        self.send_json(200, {"revision": revision}, {"ETag": f'"rev-{revision}"'})

    def api_patch_annotations(self, store, parts, schema="patch"):
        body = self.read_json_body()
        who = self.principal(body)
        try:
            base_revision, who.user, who.device, operations = validate_patch(body, who.user, who.device, schema)
        except ImportFailure as e:
            raise RequestError.invalid(e) from e
        task = store.get_task(parts[1])
        if task is not None:
            self.check_against_task(task, [(("operations", i, "value"), op["kind"], op.get("value"))
                                           for i, op in enumerate(operations)
                                           if op.get("op") in ("create", "update") and op.get("kind") in ("object", "track")])
        outcome = store.apply_operations(parts[1], base_revision, who, operations)
        if outcome[0] == "not_found":
            return self.task_not_found(parts[1])
        if outcome[0] == "future":
            raise RequestError(400, "out_of_range",
                               f"request body: /base_revision: {base_revision} is newer than the task's "
                               f"revision {outcome[1]}", extra={"revision": outcome[1]}, path="/base_revision")
        if outcome[0] == "reused":
            _, at, op_id, stored_revision = outcome
            raise RequestError(409, "op_id_reused",
                               f"request body: /operations/{at}/op_id: op_id {op_id!r} was applied at revision "
                               f"{stored_revision} with other content; a new change needs a new op_id; "
                               "nothing was applied",
                               extra={"op_id": op_id, "revision": stored_revision},
                               path=f"/operations/{at}/op_id")
        if outcome[0] in ("invalid", "unknown_reference"):
            code = "duplicate_id" if outcome[0] == "invalid" else outcome[0]
            raise RequestError(400, code, f"request body: {outcome[1]}: {outcome[2]}; "
                               "nothing was applied", path=outcome[1])
        if outcome[0] == "forbidden":
            raise RequestError(403, "forbidden", f"request body: {outcome[1]}: {outcome[2]}; nothing was applied",
                               path=outcome[1])
        if outcome[0] == "conflict":
            _, current, conflicts = outcome
            ids = ", ".join(f"{c['kind']} {c['id']!r}" for c in conflicts[:10])
            more = f" and {len(conflicts) - 10} more" if len(conflicts) > 10 else ""
            raise RequestError(409, "conflict", f"changed elsewhere since revision {base_revision}, "
                               f"missing or already existing: {ids}{more}; nothing was applied",
                               extra={"revision": current, "conflicts": conflicts})
        _, revision, applied, duplicates = outcome
        self.send_json(200, {"revision": revision, "applied": applied, "duplicates": duplicates},
                       {"ETag": f'"rev-{revision}"'})

    def api_post_task(self, store, parts):
        who = self.principal(None)
        if who.role != "manager":
            raise RequestError(403, "forbidden", f"{review.with_article(who.role)} may not import tasks; a manager may")
        body = self.read_json_body()
        try:
            task, outcome = import_task_upload(store, body, self.server.media_root_path)
        except ImportFailure as e:
            raise RequestError.invalid(e) from e
        if outcome == "different":
            raise RequestError(409, "task_exists",
                               f"task {task['id']!r} exists with other content; nothing was changed")
        if outcome == "created":
            self.log_message("imported task %r over HTTP", task["id"])
        self.send_json(201 if outcome == "created" else 200,
                       {"id": task["id"], "created": outcome == "created"},
                       {"Location": self.api_path(["tasks", task["id"]])})

    def api_history(self, store, parts):
        params = self.query(("after", "limit", "item"))
        after = self.query_int(params, "after", -1)  # none: from the start (revision 0: the import's predictions)
        limit = self.query_int(params, "limit", HISTORY_LIMIT, minimum=1, maximum=HISTORY_LIMIT)
        item = params.get("item")
        if item is not None and not ITEM_ID_RE.fullmatch(item):
            raise RequestError.bad_parameter("item", "not an item id")
        entries = store.history(parts[1], after, limit, item)
        if entries is None:
            return self.task_not_found(parts[1])
        self.send_json(200, {"entries": entries})

    # ---- review: jobs, stages, issues, comments, decisions (docs/SCHEMA.md, section 13)

    def api_get_review(self, store, parts):
        params = self.query(("since",), strict=False)
        since = self.query_int(params, "since", 0)
        found = store.changes_since(parts[1], since, REVIEW_KINDS, live_only="since" not in params)
        if found is None:
            return self.task_not_found(parts[1])
        revision, changes = found
        self.send_json(200, {"revision": revision, "since": since, "changes": changes})

    def api_patch_review(self, store, parts):
        self.api_patch_annotations(store, parts, "review")

    def api_list_jobs(self, store, parts):
        found = store.list_jobs(parts[1])
        if found is None:
            return self.task_not_found(parts[1])
        self.send_json(200, {"revision": found[0], "jobs": found[1]})

    def job_id(self, parts):
        if not ASCII_DECIMAL_RE.fullmatch(parts[3]) or not 0 < int(parts[3]) <= SQLITE_INT_MAX:
            raise RequestError(404, "not_found", f"no job {shown_text(parts[3])} (job ids are positive integers)")
        return int(parts[3])

    def api_get_job(self, store, parts):
        job_id = self.job_id(parts)
        found = store.list_jobs(parts[1])
        if found is None:
            return self.task_not_found(parts[1])
        job = next((j for j in found[1] if j["id"] == job_id), None)
        if job is None:
            raise RequestError(404, "not_found", f"task {parts[1]!r} has no job {job_id}")
        self.send_json(200, {"revision": found[0], "job": job})

    def api_split_jobs(self, store, parts):
        body = self.read_json_body()
        who = self.principal(None)
        task = store.get_task(parts[1])
        if task is None:
            return self.task_not_found(parts[1])
        ranges = review.plan_jobs(body, _media_spans(task))
        if isinstance(ranges, tuple):
            where, message = ranges
            raise RequestError(400, "invalid", f"request body: {where or '(root)'}: {message}", path=where)
        outcome = store.split_jobs(parts[1], ranges, who)
        if outcome[0] == "not_found":
            return self.task_not_found(parts[1])
        if outcome[0] == "forbidden":
            raise RequestError(403, "forbidden", outcome[1])
        if outcome[0] == "busy":
            raise RequestError(409, "jobs_in_progress", f"{outcome[1]}; nothing was changed")
        self.send_json(200, {"jobs": outcome[1]})

    def api_update_job(self, store, parts):
        job_id = self.job_id(parts)
        body = self.read_json_body()
        who = self.principal(None)
        if not isinstance(body, dict) or not body or set(body) - {"stage", "from", "assignee", "reviewer", "priority"}:
            raise RequestError(400, "invalid", "request body: expected {stage?, from?, assignee?, reviewer?, "
                                               "priority?} with at least one of them", path="")
        priority = body.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, (int, float)):
            raise RequestError(400, "expected_number", "request body: /priority: expected a number (higher: "
                               "handed out sooner)", path="/priority")
        for key in ("stage", "from"):
            if key in body and body[key] not in review.STAGES:
                raise RequestError(400, "bad_enum", f"request body: /{key}: {shown_text(str(body[key]))} is not "
                                   f"one of {', '.join(review.STAGES)}", path=f"/{key}")
        for key in ("assignee", "reviewer"):
            if key in body and body[key] is not None and (not isinstance(body[key], str)
                                                          or not 0 < len(body[key]) <= 128):
                raise RequestError(400, "expected_string", f"request body: /{key}: expected a user name "
                                   "(1 to 128 characters) or null", path=f"/{key}")
        outcome = store.update_job(parts[1], job_id, body, who)
        if outcome[0] == "not_found":
            raise RequestError(404, "not_found", outcome[1])
        if outcome[0] == "forbidden":
            raise RequestError(403, "forbidden", outcome[1])
        if outcome[0] == "refused":
            raise RequestError(409, outcome[1], outcome[2])
        self.send_json(200, {"job": outcome[1]})

    # ---- the work queue (docs/SCHEMA.md, section 16)

    def queue_body(self, keys, required):
        body = self.read_json_body(allow_empty=not required)
        body = {} if body is None else body
        if not isinstance(body, dict) or set(body) - set(keys) or not set(required) <= set(body):
            raise RequestError(400, "invalid", f"request body: expected {{{', '.join(keys)}}}"
                               + (f" with {', '.join(required)}" if required else ""), path="")
        task = body.get("task")
        if task is not None and (not isinstance(task, str) or not sets.is_route_task_id(task, TASK_ID_RE)):
            raise RequestError(400, "bad_id", "request body: /task: not a task id", path="/task")
        if task is not None and sets.is_golden(task):
            raise RequestError(404, "not_found", f"task {task!r} not found")
        return body

    def api_queue_next(self, store, parts):
        body = self.queue_body(("task", "user", "device"), ())
        who = self.principal(body)
        refusal = queue.next_refusal(who)
        if refusal:
            raise RequestError(403 if who.user else 400, "forbidden" if who.user else "missing_key", refusal,
                               path=None if who.user else "/user")
        outcome = store.queue_next(who, body.get("task"))
        if outcome[0] == "not_found":
            return self.task_not_found(body["task"])
        self.send_json(200, outcome[1] if outcome[0] == "ok" else {"job": None, "lease": None})

    def api_queue_skip(self, store, parts):
        body = self.queue_body(("task", "job", "reason", "user", "device"), ("task", "job", "reason"))
        who = self.principal(body)
        job, reason = body["job"], body["reason"]
        if isinstance(job, bool) or not isinstance(job, int) or not 0 < job <= SQLITE_INT_MAX:
            raise RequestError(400, "expected_integer", "request body: /job: expected a job id", path="/job")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > queue.MAX_REASON:
            raise RequestError(400, "expected_string", f"request body: /reason: say why, in 1 to {queue.MAX_REASON} "
                               "characters", path="/reason")
        if not who.user:
            raise RequestError(400, "missing_key", queue.next_refusal(who), path="/user")
        outcome = store.queue_skip(who, body["task"], job, reason)
        if outcome[0] == "not_found":
            raise RequestError(404, "not_found", outcome[1])
        if outcome[0] == "refused":
            raise RequestError(409, "not_leased", outcome[1])
        self.send_json(200, {"skipped": True})

    # ---- guidelines: versioned labeling instructions (docs/SCHEMA.md, section 14)

    def guideline_version_parameter(self, params, current):
        """?version=N: None when absent; 404 for a version the task does not have (yet)."""
        if "version" not in params:
            return None
        version = self.query_int(params, "version", 0)
        if version > current:
            raise RequestError(404, "not_found", f"no guidelines version {version}: the latest is {current}",
                               field={"parameter": "version"})
        return version

    def api_get_guidelines(self, store, parts):
        params = self.query(("version",), strict=False)
        found = store.get_guidelines(parts[1])
        if found is None:
            return self.task_not_found(parts[1])
        version = self.guideline_version_parameter(params, found[0])
        if version is not None and version != found[0]:
            found = store.get_guidelines(parts[1], version)
        self.send_json(200, found[1])

    def api_guideline_versions(self, store, parts):
        versions = store.guideline_versions(parts[1])
        if versions is None:
            return self.task_not_found(parts[1])
        self.send_json(200, {"current": versions[-1]["version"] if versions else 0, "versions": versions})

    def api_guideline_file(self, store, parts):
        name = parts[4]
        problem = guidelines.name_problem(name)
        if problem:
            raise RequestError(400, "bad_file_name", f"guideline file name {shown_text(name)}: {problem}",
                               field={"target": "path"})
        params = self.query(("version",), strict=False)
        found = store.guideline_file(parts[1], None, name)
        if found is None:
            return self.task_not_found(parts[1])
        version = self.guideline_version_parameter(params, found[0])
        if version is not None and version != found[0]:
            found = store.guideline_file(parts[1], version, name)
        if found[1] is None:
            shown = found[0] if version is None else version
            raise RequestError(404, "not_found", f"guidelines version {shown} of task {parts[1]!r} have no file "
                               f"{shown_text(name)}")
        _, data = found[1]
        sniffed = guidelines.sniff_image(data)
        headers = {"Content-Type": sniffed[1] if sniffed else "application/octet-stream",
                   "X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": MEDIA_CSP,
                   "ETag": '"' + hashlib.sha256(data).hexdigest()[:32] + '"',
                   # A version never changes: a file asked for by version may be kept; "current" may not.
                   "Cache-Control": "private, max-age=86400, immutable" if version is not None else "no-cache"}
        if not sniffed:
            headers["Content-Disposition"] = "attachment"
        self.send_body(200, data, headers)

    def api_put_guidelines(self, store, parts):
        body = self.read_json_body()
        who = self.principal(None)
        if store.get_task(parts[1]) is None:
            return self.task_not_found(parts[1])
        refusal = guidelines.edit_refusal(who.role, parts[1])
        if refusal:  # before the files are decoded; the write checks again in its transaction
            raise RequestError(403, "forbidden", refusal, path="")
        try:
            base, plan = guidelines.plan_put(body)
            outcome = store.put_guidelines(parts[1], plan, who, base)
        except guidelines.Refusal as e:
            raise RequestError(e.status, e.code, str(e), extra=e.extra, path=e.where) from None
        if outcome[0] == "not_found":
            return self.task_not_found(parts[1])
        if outcome[0] == "forbidden":
            raise RequestError(403, "forbidden", outcome[1], path="")
        found = store.get_guidelines(parts[1], outcome[1])
        self.send_json(200, dict(found[1], created=outcome[2]))

    # ---- annotation sets: golden frames and consensus replicas (docs/SCHEMA.md, section 15)

    def refuse_hidden_task(self, task_id):
        """403 on every route of a golden set for anyone but a manager."""
        if not sets.is_golden(task_id):
            return  # other tasks' reads do not look at the role
        refusal = sets.hidden_refusal(task_id, self.principal(None).role)
        if refusal:
            raise RequestError(403, "forbidden", refusal)

    def sets_parent(self, parts, who, action):
        """The parent task of a sets route, after the checks every sets route makes; None: 404 sent."""
        refusal = sets.manager_only_refusal(who.role, action)
        if refusal:
            raise RequestError(403, "forbidden", refusal)
        if sets.parse_derived(parts[1]):
            raise RequestError(400, "derived_task", f"task {parts[1]!r} is itself an annotation set; "
                               "sets are made from the task it was derived from", field={"target": "path"})
        task = self.server.store.get_task(parts[1])
        if task is None:
            self.task_not_found(parts[1])
        return task

    def api_get_sets(self, store, parts):
        if self.sets_parent(parts, self.principal(None), "list the annotation sets of a task") is None:
            return
        self.send_json(200, store.get_sets(parts[1]))

    def api_post_sets(self, store, parts):
        who = self.principal(None)
        task = self.sets_parent(parts, who, "create annotation sets")
        if task is None:
            return
        body = self.read_json_body()
        try:
            plan = sets.plan_request(body, parts[1], frame_count(task), store.task_jobs(parts[1]))
        except sets.Refusal as e:
            raise RequestError(e.status, e.code, f"request body: {e.where or '(root)'}: {e}", path=e.where) from None
        if isinstance(plan, sets.ReplicaPlan):
            outcome = store.derive_replicas(parts[1], plan.count, who)
        else:
            if plan.document is not None:
                self.check_golden_document(task, plan)
            outcome = store.derive_golden(parts[1], plan.frames, plan.document, who)
        if outcome[0] == "not_found":
            return self.task_not_found(parts[1])
        if outcome[0] == "invalid":
            raise RequestError(400, "duplicate_id", f"request body: /document{outcome[1]}: {outcome[2]}; "
                               "nothing was changed", path="/document" + outcome[1])
        self.send_json(201 if outcome[0] == "created" else 200, outcome[1])

    def check_golden_document(self, task, plan):
        """A golden set's seed document: checked as PUT .../annotations checks one, on golden frames only."""
        document = plan.document
        try:
            validate_document(document, "request body", task["id"], prefix="/document")
        except ImportFailure as e:
            raise RequestError.invalid(e) from e
        self.check_against_task(task, [(("document", key, i), key[:-1], item) for key in ("objects", "tracks")
                                       for i, item in enumerate(document.get(key) or ())])
        outside = sets.frames_outside(document, plan.frames)
        if outside:
            where, message = outside
            raise RequestError(400, "not_golden_frame", f"request body: /document{where}: {message}; nothing "
                               "was changed", path="/document" + where)

    def principal(self, body):
        """Who writes: user and device (``who``) and the role. With tokens the role is the token's;
        without, the X-Polymark-Role header's (default manager: an open server trusts its callers)."""
        user, device = self.who(body)
        if self.server.tokens:
            role = self.token_role
        else:
            role = self.header_text("X-Polymark-Role")
            if role is None:
                role = "manager"
            elif role not in review.ROLES:
                raise RequestError.bad_header("X-Polymark-Role", f"{shown_text(role)} is not one of "
                                              f"{', '.join(review.ROLES)}")
        return Principal(user, role, device)

    def who(self, body):
        """(user, device) of a write: the token's user first, then the body, then the headers.

        Header values are read as UTF-8 (HTTP hands them over as Latin-1); invalid UTF-8 is a 400
        naming the header.
        """
        body = body if isinstance(body, dict) else {}
        user = body.get("user", self.header_text("X-Polymark-User"))
        device = body.get("device", self.header_text("X-Polymark-Device"))
        if self.token_user:
            user = self.token_user
        return user, device

    def header_text(self, name):
        value = self.headers.get(name)
        if value is None:
            return None
        try:
            return value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            raise RequestError.bad_header(name, "not UTF-8 text") from None

    @staticmethod
    def check_against_task(task, items):
        """422 naming the item, its label and the JSON pointer when the task refuses an item."""
        failure = task_rule_failures(task, items)
        if failure:
            code, where, message = failure
            raise RequestError(422, code, f"request body: {where}: {message}; nothing was applied", path=where)

    def task_not_found(self, task_id):
        shown = task_id if len(task_id) <= 80 else task_id[:80] + "..."
        self.send_json_error(404, "not_found", f"task {shown!r} not found")

    # ---- responses

    def flush_headers(self):
        self.response_started = True  # from here on bytes of a reply may be on the wire
        super().flush_headers()

    def send_json(self, status, value, headers=None):
        # backslashreplace: a lone surrogate quoted back from a request becomes its JSON escape
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")
        all_headers = {"Content-Type": "application/json; charset=utf-8",
                       "Cache-Control": "no-store"}
        all_headers.update(headers or {})
        self.send_body(status, body, all_headers)

    def send_options(self, allow):
        """204 to OPTIONS; a CORS preflight from an allowed origin also gets the Access-Control-* grants."""
        self.send_response(204)
        self.send_header("Allow", allow)
        self.send_header("Cache-Control", "no-store")
        if self.cors_origin and self.headers.get("Access-Control-Request-Method"):
            self.send_header("Access-Control-Allow-Methods", allow)
            self.send_header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
            self.send_header("Access-Control-Max-Age", "600")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def end_headers(self):
        if self.server.cors_origins:
            self.send_header("Vary", "Origin")
        if getattr(self, "cors_origin", None):
            self.send_header("Access-Control-Allow-Origin", self.cors_origin)
            self.send_header("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS)
        super().end_headers()

    def send_json_error(self, status, code, message, headers=None):
        self.send_json(status, {"error": {"code": code, "message": message}}, headers)

    def send_text(self, status, text, headers=None):
        all_headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
        all_headers.update(headers or {})
        self.send_body(status, text.encode("utf-8"), all_headers)

    def send_body(self, status, body, headers):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_not_modified(self, headers):
        self.send_response(304)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    # ---- files

    def serve_file(self, root, segments, cache_control, index=False, media=False):
        path = resolve_file(root, segments)
        if path and index and os.path.isdir(path):
            if not self.path.split("?", 1)[0].endswith("/"):
                return self.redirect_to_directory(segments)
            path = resolve_file(root, segments + ["index.html"])
            cache_control = client_cache_control("index.html")
        if not path:
            return self.send_text(404, "not found\n")
        try:
            f = open(path, "rb")
        except OSError:
            return self.send_text(404, "not found\n")
        with f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return self.send_text(404, "not found\n")
            self.send_file(f, path, st, cache_control, media)

    def redirect_to_directory(self, segments):
        query = self.path.partition("?")[2]
        location = "/" + "".join(urllib.parse.quote(s) + "/" for s in segments)
        location += "?" + query if query else ""
        self.send_body(301, b"", {"Location": location, "Cache-Control": "no-cache"})

    def send_file(self, f, path, st, cache_control, media=False):
        ext = os.path.splitext(path)[1].lower()
        compressible = ext in COMPRESSIBLE and not media
        tag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
        range_header = self.headers.get("Range")
        accepted = self.headers.get("Accept-Encoding")
        whole = compressible and range_header is None and st.st_size <= GZIP_MAX_FILE
        raw = []

        def read():  # once, for either coding
            if not raw:
                raw.append(f.read())
            return raw[0]
        coding, body = None, None
        if whole and accepts(accepted, "br"):  # the build's .br only, else gzip
            body = self.server.gzip_cache.get(path, st, read, precompress=True, coding="br")
            coding = "br" if body is not None else None
        if whole and coding is None and accepts(accepted, "gzip"):
            body = self.server.gzip_cache.get(path, st, read, precompress=True)
            coding = "gzip"
        etag = f'"{tag}-{CODING_TAGS[coding]}"' if coding else f'"{tag}"'
        headers = {"ETag": etag,
                   "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
                   "Cache-Control": cache_control,
                   "Accept-Ranges": "bytes"}
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if self.not_modified(st, [f'"{tag}"'] + [f'"{tag}-{t}"' for t in CODING_TAGS.values()]):
            return self.send_not_modified(headers)
        headers["Content-Type"] = content_type(path)
        headers["X-Content-Type-Options"] = "nosniff"
        if media:
            headers.update(media_headers(f))
        if coding:
            headers["Content-Encoding"] = coding
            return self.send_body(200, body, headers)
        byte_range = None
        if range_header is not None and self.if_range_holds(st, f'"{tag}"'):
            byte_range = parse_range(range_header, st.st_size)
        if byte_range == "unsatisfiable":
            headers["Content-Range"] = f"bytes */{st.st_size}"
            return self.send_body(416, b"", headers)
        status, start, length = 200, 0, st.st_size
        if byte_range:
            status, start, length = 206, byte_range[0], byte_range[1] - byte_range[0] + 1
            headers["Content-Range"] = f"bytes {byte_range[0]}-{byte_range[1]}/{st.st_size}"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD":
            self.copy_range(f, start, length)

    def not_modified(self, st, etags):
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            return etag_matches(inm, etags)
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return False
            return int(st.st_mtime) <= since
        return False

    def if_range_holds(self, st, etag):
        value = self.headers.get("If-Range")
        if value is None:
            return True
        value = value.strip()
        if value.startswith(('"', 'W/')):
            return value == etag
        return value == email.utils.formatdate(st.st_mtime, usegmt=True)

    def copy_range(self, f, start, length):
        f.seek(start)
        while length > 0:
            chunk = f.read(min(CHUNK, length))
            if not chunk:
                break  # the file shrank under us; the client sees a short body
            self.wfile.write(chunk)
            length -= len(chunk)


def etag_matches(header, etags):
    """If-None-Match comparison (weak, as RFC 9110 asks for it)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = {e.strip().removeprefix("W/") for e in header.split(",")}
    return any(e in wanted for e in etags)
