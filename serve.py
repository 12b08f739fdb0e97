#!/usr/bin/python3
"""Polymark backend: a small HTTP server with a SQLite store (standard library + python3-jsonschema).

Usage:
    serve.py [--bind 127.0.0.1] [--port 8080] [--db ./polymark.sqlite]
             [--web ./build-web/dist] [--media-root <db dir>/media]
             [--import DIR ...] [--quiet]
             [--token TOKEN ...] [--tokens-file FILE] [--max-body BYTES]
             [--cors-origin ORIGIN ...] [--tls-cert FILE --tls-key FILE]
             [--max-connections N] [--idle-timeout S] [--request-timeout S]

On start it imports every --import DIR, then prints exactly one line to stdout,
``polymark: serving http://HOST:PORT/`` (``https://`` with TLS), and serves
until interrupted. ``--port 0`` picks a free port (the printed line carries
the real one). It listens on 127.0.0.1 unless ``--bind`` says otherwise.

Routes (any other method on a known route is 405 with ``Allow``; OPTIONS is 204):
    GET   /api/tasks                    {"tasks":[{"id","name","media_count","frames",
                                        "of"?,"set"?}]}: a derived task names its parent
                                        ("of") and "set": "golden" | "replica"; golden sets
                                        are listed to managers only
    POST  /api/tasks                    import a task: {"task": task v1 naming media by
                                        "file", "files": {name: base64}, "annotations"?:
                                        document v1} -> 201 {"id","created":true}; the
                                        same task again 200, other content under that id 409
    GET   /api/tasks/{id}               the stored task v1 JSON (media urls -> /media/...)
    GET   /api/tasks/{id}/annotations   {"revision": n, "document": {...}}, ETag "rev-n"
    GET   ...annotations?since=REV      {"revision","since","changes":[{"kind","id","value"
                                        (null: deleted),"revision","op_id","user","device"}]}
    PATCH /api/tasks/{id}/annotations   apply operations (the sync protocol, below)
    PUT   /api/tasks/{id}/annotations   replace the document; needs If-Match: "rev-n"
                                        (428 without, 412 when n is not current)
    GET   /api/tasks/{id}/history?after=REV&limit=N
                                        {"entries":[{"revision","op_id","kind","id","op",
                                        "user","device","role","stage","at","base_revision",
                                        "was" (deletes),"value" (a prediction's create)}]}
                                        oldest first; without after: from revision 0 (the
                                        predictions the task was created with)
    GET   /api/tasks/{id}/review[?since=REV]  issues, comments and decisions, as ?since= above
    PATCH /api/tasks/{id}/review        save them (the sync protocol with their kinds)
    GET   /api/tasks/{id}/jobs          {"revision","jobs":[job with "open_issues","events"]}
    POST  /api/tasks/{id}/jobs          split the task into jobs (a manager)
    GET   /api/tasks/{id}/jobs/{n}      {"revision","job"}
    PATCH /api/tasks/{id}/jobs/{n}      move a job to another stage, assign it
    GET   /api/tasks/{id}/guidelines[?version=N]  the labeling guidelines: {"version","text",
                                        "files":[{"name","type","size"}],"author","role","at"}
    GET   /api/tasks/{id}/guidelines/versions  {"current","versions":[...]}
    GET   /api/tasks/{id}/guidelines/files/{name}[?version=N]  an example image's bytes
    PUT   /api/tasks/{id}/guidelines    a manager publishes a new version: {"text", "files":
                                        {name: base64 or null}, "base_version"}; a stale base 409
    GET   /api/tasks/{id}/sets          a manager lists the sets derived from a task:
                                        {"golden": {"id","frames"} or null, "replicas":[{"id"}]}
    POST  /api/tasks/{id}/sets          a manager derives {"kind":"golden","frames":[...] or
                                        "per_job":K,"document"?} -> {id}@golden, or
                                        {"kind":"replicas","count":N} -> {id}@r1..@rN;
                                        201 when something was created, else 200; the reply
                                        as GET's
    /api/...                            anything else: 404
    /media/...                          files under --media-root (Cache-Control: max-age=3600),
                                        typed by their bytes, sandboxed (docs/SERVER.md)
    /...                                static client files under --web (Cache-Control:
                                        no-cache); "/" and directories serve index.html

API replies are JSON (``application/json; charset=utf-8``, ``Cache-Control:
no-store``); errors are ``{"error":{"code":..., "message":...}}``, plus what
is at fault: ``"path"`` (a JSON pointer into the request body), ``"header"``
(e.g. ``Content-Length``, ``X-Polymark-User``), ``"parameter"`` (a query
parameter) or ``"target"`` (``path`` or ``query``). Every request gets an
answer: numbers in headers and queries are ASCII digits only (``str.isdigit``
also takes "²"), at most 19 of them and at most 2^63-1 (what SQLite holds),
else 400; header values are read as UTF-8; a Range that is not one byte range
is ignored (RFC 9110), bounds past any file read as "the end"; an If-Match
other than the current ``"rev-N"`` is 412; empty lines before a request line
are skipped (RFC 9112). Whatever still fails unforeseen is logged (with
--quiet too) and answered ``500 {"error":{"code":"internal"}}``.
JSON bodies and files obey the limits of docs/SCHEMA.md section 12, as the C++
reader does: nesting at most 64 deep (``too_deep``, checked before parsing),
numbers finite doubles and integers within +-(2^53-1) (``out_of_range``),
strings without lone surrogates (``bad_string``), ``meta`` at most 32 deep.

Sync protocol (docs/SCHEMA.md, "Sync protocol"): a PATCH body is
``{"base_revision", "user", "device", "operations":[{"op_id", "kind":
"object"|"track", "op": "create"|"update"|"delete", "id", "value", "index"}]}``
(user and device may come from X-Polymark-User / X-Polymark-Device; a token
that names a user wins). One request is one transaction: operations whose
op_id is stored with the same content (kind, op, id, value, index) are
duplicates (skipped); an op_id stored with other content is 409 op_id_reused
("path" names it) and nothing is applied; any other operation conflicts when
another device changed its item after base_revision, when it creates an
existing id or updates/deletes a missing item. Any conflict: 409 with
"conflicts" and nothing applied. Otherwise the new operations are applied and
the revision grows by exactly one: 200 {"revision","applied","duplicates"}.
Limits per PATCH: at most 1000 operations (400 out_of_range; docs/schema/patch.v1.schema.json)
and MAX_PATCH_BODY (8 MiB) of body (413 before reading; the client halves its
batch). API requests with bodies over 1 MiB are worked on one at a time (503
with Retry-After after 60 s of waiting), which bounds the memory of a burst.
Everything a PATCH needs but the database is prepared before the write lock;
inside it the reads are batched and the checks run in memory (bench/
patch_worst_case.py measures the worst case).

Review (docs/SCHEMA.md section 13, server/review.py): every request acts as a
labeler, reviewer or manager; who may write what depends on the role and on the
stage (annotation, review, accepted) of each job whose frames the write touches;
a refused write is 403 naming the role, the job and its stage.

Options for serving beyond one's own machine:
    --token TOKEN / --tokens-file FILE   every /api request (but OPTIONS) needs
        ``Authorization: Bearer TOKEN``, else 401 with WWW-Authenticate. The
        file is JSON ``{"token": {"user": NAME, "role": ROLE}}`` (or, a manager:
        ``{"token": "user" or null}``); without tokens the role is the
        X-Polymark-Role header's (a manager when absent). Tokens are compared in
        constant time and never logged. /media and the client files stay open.
    --max-body BYTES   larger request bodies get 413 before being read (32 MiB).
    --cors-origin ORIGIN   (repeatable) cross-origin requests from exactly these
        origins get Access-Control-Allow-Origin; preflights get the allowed
        methods and headers. Other origins get no CORS headers. Off by default.
    --tls-cert FILE --tls-key FILE   serve https (PEM files, TLS 1.2 or newer).

Connections (docs/SERVER.md, "Connections and limits"): the listen backlog is
1024; each connection has its own thread, at most ``--max-connections`` (512)
of them, fewer when the descriptor limit (raised toward 64 + 4 per connection
on start) is lower. A connection beyond the cap gets ``503`` with
``Retry-After: 2`` and a JSON error (code ``busy``) at once, and is closed. A
connection that sends no request for ``--idle-timeout`` (15 s) is closed; a
request whose headers and body take longer than ``--request-timeout`` (30 s)
plus 1 s per KiB received is dropped. Out of descriptors, accepting pauses
for 0.1 s instead of spinning.

Files are served with explicit MIME types, ``ETag``/``Last-Modified`` (304 on
``If-None-Match``/``If-Modified-Since``), single HTTP ranges (206/416,
``Accept-Ranges: bytes``) and gzip for compressible types when the client
accepts it and the request is not ranged, once per version of a file and cached
in memory: a client file's ``.gz`` beside it when the build wrote one and it
decompresses to the file (zopfli, ``tools/precompress.py``), else compressed here.
Paths are percent-decoded, then refused when they hold NUL bytes (400), ``..``
or encoded slashes (400), or resolve (through symlinks) outside their root.

Import directory (``--import DIR``): ``DIR/task.json`` is a task v1 whose media
name a ``file`` inside DIR instead of a ``url``; optional
``DIR/annotations.json`` is the initial annotation document v1. Media files are
copied to ``<media-root>/<task id>/``; an image must be PNG, JPEG, WebP, AVIF or
GIF and a video MP4 or WebM by its bytes (else ``bad_media``). Re-importing an unchanged task changes
nothing; a changed task replaces the stored task but keeps its annotations.
Import errors name the file and a JSON pointer and exit with status 2.
POST /api/tasks runs the same checks (file names included) on its body.

Annotation sets (docs/SCHEMA.md section 15, server/sets.py): ``{id}@golden`` (a manager's
ground truth on some frames of task {id}) and ``{id}@r1`` .. ``@r9`` (consensus replicas, the
parent's job ranges unassigned) are ordinary tasks to every route above, sharing the parent's
media; every route on a golden set is 403 to labelers and reviewers. Imports refuse ``@`` in ids.

Guidelines (docs/SCHEMA.md section 14, server/guidelines.py): versions of a
task's instructions (text and example images), read by every role, written by
a manager on top of the current version; ``DIR/guidelines.md`` and the images
in ``DIR/guidelines/`` of an --import directory become a version.

Storage: SQLite schema version 8 keeps one row per object, track and review
item (with the frames it lies on) plus a change log with a fingerprint, role
and stage of each operation (and a deleted item's last value, a prediction's
first value), the jobs with their events (see Store and server/review.py), the
guideline versions with their files (v6) and which tasks are sets derived from
which (v8); version 1 to 7 databases are upgraded on start.
"""

import argparse
import base64
import binascii
import bisect
import collections
import contextlib
import email.utils
import errno
import filecmp
import functools
import gzip
import hashlib
import hmac
import importlib.util
import io
import json
import math
import os
import posixpath
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import stat
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zlib
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema  # Debian's python3-jsonschema: docs/schema/*.json are the formats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server import guidelines, review, sets  # noqa: E402 (the package beside this file)
from server.review import ANNOTATION_KINDS, REVIEW_KINDS, Principal  # noqa: E402

try:  # Debian's python3-fastjsonschema: the same schemas compiled to Python, to accept valid values fast
    import fastjsonschema
except ImportError:
    fastjsonschema = None

SCHEMA_VERSION = 8
TASK_FORMAT = "polymark.task"
DOCUMENT_FORMAT = "polymark.annotations"
TASK_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
TASK_KEYS = ("format", "version", "id", "name", "media", "labels", "settings", "meta")
MEDIA_KEYS = ("id", "type", "file", "name", "width", "height", "frames", "fps")

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = {".html", ".htm", ".js", ".mjs", ".css", ".json", ".map", ".txt",
                ".wasm", ".svg", ".ttf", ".otf"}
GZIP_MAX_FILE = 64 * 1024 * 1024      # bigger files are sent as they are
GZIP_CACHE_BYTES = 128 * 1024 * 1024  # total compressed bytes kept in memory
CHUNK = 256 * 1024
DEFAULT_MAX_BODY = 32 * 1024 * 1024   # bytes of one request body (--max-body)
DRAIN_SECONDS = 2.0                   # how long an unread request body is read and dropped
DRAIN_BYTES = 64 * 1024 * 1024        # ... and how much of it, before the connection closes
MAX_PATCH_BODY = 8 * 1024 * 1024      # bytes of one PATCH body (413 beyond; the client halves its batch)
BIG_BODY_BYTES = 1024 * 1024          # API requests with bigger bodies are worked on one at a time...
BIG_BODY_WAIT = 60                    # ...each waiting at most this many seconds for its turn (else 503)
HISTORY_LIMIT = 10000                 # entries in one history reply (the default and the most)
SQLITE_INT_MAX = 2 ** 63 - 1          # the largest integer a query parameter may carry into SQLite
ASCII_DECIMAL_RE = re.compile(r"[0-9]{1,19}")  # not str.isdigit(): that also takes "²", which int() refuses
CORS_ALLOW_HEADERS = ("Authorization, Content-Type, If-Match, If-None-Match, X-Polymark-User, X-Polymark-Device, "
                      "X-Polymark-Role")
DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                     socket.timeout)


# --------------------------------------------------------------------------- errors

class ImportFailure(Exception):
    """Invalid outside data: a task directory (exit status 2) or a request body (400).

    ``code`` is one of the error codes of docs/SCHEMA.md section 7 (or "invalid"),
    ``pointer`` the JSON pointer of the offending value.
    """

    def __init__(self, message, code="invalid", pointer_=""):
        super().__init__(message)
        self.code = code
        self.pointer = pointer_


class StoreError(Exception):
    """The database cannot be used (e.g. written by a newer serve.py)."""


class BadPath(Exception):
    """A request path that is malformed (400) rather than merely absent (404)."""


class RequestError(Exception):
    """An API error reply: status, code, message and extra top-level keys."""

    def __init__(self, status, code, message, extra=None, headers=None, path=None, field=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra, self.headers, self.path = extra or {}, headers, path
        self.field = field  # {"header": name}, {"parameter": name} or {"target": "path"|"query"}: what is wrong

    @classmethod
    def bad_header(cls, name, message, status=400, code="bad_request"):
        return cls(status, code, f"header {name}: {message}", field={"header": name})

    @classmethod
    def bad_parameter(cls, name, message):
        return cls(400, "bad_request", f"query parameter {name!r}: {message}", field={"parameter": name})

    @classmethod
    def invalid(cls, failure):
        """400 for invalid outside data; the message and "path" name the JSON pointer."""
        return cls(400, failure.code, str(failure), path=failure.pointer)

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.path is not None:
            error["path"] = self.path
        error.update(self.field or {})
        return {"error": error, **self.extra}


# --------------------------------------------------------------------------- store

class Store:
    """SQLite storage of tasks, their annotation items and the change log.

    Schema (version 8):
      tasks        one row per task: the task v1 JSON
      annotations  one row per task: its revision and the document header
                   (format, version, meta; objects and tracks live in items)
      items        one row per object, track or review item id: kind, list
                   position, value (NULL once deleted: ids are never reused, so
                   the row stays as a tombstone), who changed it last at which
                   revision, and (v4) the frames it lies on, role and time
      changes      the change log: one row per applied operation; op_id is
                   unique per task, which makes retried requests idempotent;
                   op_hash (v3) fingerprints the operation, so an op_id sent
                   again with other content is refused rather than dropped;
                   role and stage (v4) say who wrote it in which job stage;
                   was (v5) holds the value a delete removed; value (v7)
                   the value a model's prediction was created with (an object
                   or track of source "model"), for the pre-label report
      jobs, job_events  (v4) frame ranges with their stage and assignment, and
                   every stage move and assignment (server/review.py)
      guidelines, guideline_files, guideline_blobs  (v6) the versions of a
                   task's labeling guidelines, their files, and the files' bytes
                   once per content (server/guidelines.py)
      task_sets    (v8) the tasks derived from another: its golden set or a
                   consensus replica, with the golden frames (server/sets.py)

    A PATCH touches only the rows of the items it names, whatever the size of
    the document. Every call opens its own connection, so a Store is safe to
    share between request threads; writes run in ``BEGIN IMMEDIATE``
    transactions.
    """

    def __init__(self, path):
        self.path = path
        # Writers of this process take turns here: waiting in SQLite's busy handler (sleep and
        # poll) let hundreds of simultaneous PATCHes starve each other for 20 s and more.
        self._write_turn = threading.Lock()
        self._migrate()

    def _connect(self):
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def _migrate(self):
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: database schema version {version} is newer than "
                                 f"this serve.py understands ({SCHEMA_VERSION})")
            if version < SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                if version < 1:
                    self._create_v1(conn)
                if version < 2:
                    self._upgrade_v1_to_v2(conn)
                if version < 3:
                    # Rows logged before v3 keep op_hash NULL: an op_id among them stays a plain duplicate.
                    conn.execute("ALTER TABLE changes ADD COLUMN op_hash TEXT")
                if version < 4:
                    review.create_tables(conn)
                if version < 5:
                    # A deleted item's last value, so a reviewer can see what was removed.
                    conn.execute("ALTER TABLE changes ADD COLUMN was TEXT")
                if version < 6:
                    guidelines.create_tables(conn)
                if version < 7:
                    # A prediction's first value: what a person confirmed, edited or rejected.
                    conn.execute("ALTER TABLE changes ADD COLUMN value TEXT")
                if version < 8:
                    sets.create_tables(conn)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()

    @staticmethod
    def _create_v1(conn):
        conn.execute("""CREATE TABLE IF NOT EXISTS tasks (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            task TEXT NOT NULL,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")
        conn.execute("""CREATE TABLE IF NOT EXISTS annotations (
            task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
            revision INTEGER NOT NULL,
            document TEXT NOT NULL,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))""")

    @staticmethod
    def _upgrade_v1_to_v2(conn):
        """Move objects and tracks out of each stored document into item rows.

        Documents keep their revision, order and content (even ones the v1
        server accepted without checking them deeply). An item without a
        usable unique id gets a key no id can take ("~" is not an id
        character), so it is kept but cannot be addressed by operations.
        """
        conn.execute("""CREATE TABLE items (
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            kind TEXT NOT NULL,
            position REAL NOT NULL,
            value TEXT,
            revision INTEGER NOT NULL,
            op_id TEXT, user TEXT, device TEXT,
            PRIMARY KEY (task_id, id))""")
        conn.execute("CREATE INDEX items_order ON items (task_id, kind, position)")
        conn.execute("CREATE INDEX items_revision ON items (task_id, revision)")
        conn.execute("""CREATE TABLE changes (
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            revision INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            op_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            op TEXT NOT NULL,
            user TEXT, device TEXT,
            at TEXT NOT NULL,
            base_revision INTEGER,
            PRIMARY KEY (task_id, revision, seq),
            UNIQUE (task_id, op_id))""")
        conn.execute("CREATE INDEX changes_item ON changes (task_id, id, revision)")
        conn.execute("""CREATE TABLE keyframe_ids (
            task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            track_id TEXT NOT NULL,
            PRIMARY KEY (task_id, id))""")
        conn.execute("CREATE INDEX keyframe_ids_track ON keyframe_ids (task_id, track_id)")
        rows = conn.execute("SELECT task_id, revision, document FROM annotations").fetchall()
        for task_id, revision, text in rows:
            document = json.loads(text)
            Store._insert_items(conn, task_id, document, revision)
            conn.execute("UPDATE annotations SET document = ? WHERE task_id = ?",
                         (canonical_json(document_header(document)), task_id))

    @staticmethod
    def _insert_items(conn, task_id, document, revision):
        """Item rows for a whole document (a new task or a migrated one), in list order."""
        rows, used = [], set()
        for key in ("objects", "tracks"):
            items = document.get(key, [])
            for i, item in enumerate(items if isinstance(items, list) else []):
                item_id = item.get("id") if isinstance(item, dict) else None
                if not isinstance(item_id, str) or not ITEM_ID_RE.fullmatch(item_id) or item_id in used:
                    item_id = f"~legacy.{key}.{i}"
                used.add(item_id)
                span = review.item_span(key[:-1], item) or (None, None)
                rows.append((task_id, item_id, key[:-1], float(i + 1), compact_json(item), revision, *span))
                if key == "tracks":
                    Store._set_keyframe_ids(conn, task_id, item_id, item)
        if conn.execute("SELECT 1 FROM pragma_table_info('items') WHERE name = 'frame_lo'").fetchone():
            conn.executemany("INSERT INTO items (task_id, id, kind, position, value, revision, frame_lo, frame_hi) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        else:  # migrating a v1 database: the v4 columns come later
            conn.executemany("INSERT INTO items (task_id, id, kind, position, value, revision) "
                             "VALUES (?, ?, ?, ?, ?, ?)", [row[:6] for row in rows])

    @staticmethod
    def _set_keyframe_ids(conn, task_id, track_id, track):
        """Record the keyframe ids of a track (None: of a deleted track or an object)."""
        conn.execute("DELETE FROM keyframe_ids WHERE task_id = ? AND track_id = ?", (task_id, track_id))
        keyframes = track.get("keyframes") if isinstance(track, dict) else None
        ids = [(task_id, kf["id"], track_id) for kf in (keyframes if isinstance(keyframes, list) else [])
               if isinstance(kf, dict) and isinstance(kf.get("id"), str)]
        # OR IGNORE: only documents the v1 server took unchecked can repeat an id
        conn.executemany("INSERT OR IGNORE INTO keyframe_ids (task_id, id, track_id) VALUES (?, ?, ?)", ids)

    # ---- reads

    def list_tasks(self):
        """All tasks as (id, task dict), ordered by id."""
        conn = self._connect()
        try:
            rows = conn.execute("SELECT id, task FROM tasks ORDER BY id").fetchall()
        finally:
            conn.close()
        return [(row[0], json.loads(row[1])) for row in rows]

    def get_task(self, task_id):
        conn = self._connect()
        try:
            row = conn.execute("SELECT task FROM tasks WHERE id = ?", (task_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else json.loads(row[0])

    def get_annotations(self, task_id):
        """(revision, document dict) or None when the task is unknown.

        Objects and tracks come in list order (creation order or the create
        "index" hint), read in one transaction so the revision matches them.
        """
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            row = conn.execute("SELECT revision, document FROM annotations WHERE task_id = ?",
                               (task_id,)).fetchone()
            if row is None:
                return None
            document = json.loads(row[1])
            lists = {"object": [], "track": []}
            for kind, value in conn.execute(
                    "SELECT kind, value FROM items WHERE task_id = ? AND value IS NOT NULL "
                    "AND kind IN ('object', 'track') ORDER BY kind, position", (task_id,)):
                lists[kind].append(json.loads(value))
            conn.execute("COMMIT")
        finally:
            conn.close()
        out = {"format": document.get("format"), "version": document.get("version"),
               "objects": lists["object"], "tracks": lists["track"]}
        out.update((k, v) for k, v in document.items() if k not in out)
        return row[0], out

    def changes_since(self, task_id, since, kinds=ANNOTATION_KINDS, live_only=False):
        """(revision, [change]) of every item of ``kinds`` changed after ``since``, or None.

        Changes of review items also say the writer's role and when (``at``); ``live_only`` leaves
        deleted items out (a whole listing rather than a catch-up).
        """
        def work(conn):
            marks = ", ".join("?" * len(kinds))
            rows = conn.execute("SELECT kind, id, value, revision, op_id, user, device, role, at FROM items "
                                f"WHERE task_id = ? AND revision > ? AND kind IN ({marks})"
                                + (" AND value IS NOT NULL" if live_only else "")
                                + " ORDER BY revision, kind, position", (task_id, since, *kinds))
            changes = []
            for kind, item_id, value, revision, op_id, user, device, role, at in rows:
                change = {"kind": kind, "id": item_id, "value": None if value is None else json.loads(value),
                          "revision": revision, "op_id": op_id, "user": user, "device": device}
                if kind in REVIEW_KINDS:
                    change.update(role=role, at=at)
                changes.append(change)
            return changes
        return self._read(task_id, work)

    def _read(self, task_id, work):
        """(revision, work(conn)) read in one transaction, or None when the task is unknown."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            result = work(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
        return row[0], result

    def history(self, task_id, after, limit, item=None):
        """The change log after revision ``after``, oldest first, or None for an unknown task.

        At most ``limit`` entries, except that the last revision is always
        complete, so the last entry's revision is the ``after`` of the next page.
        ``item`` keeps only the entries of that id. A delete entry carries the
        item's last value as ``was``; the create of a model's prediction carries
        the value it was created with as ``value``.
        """
        columns = "revision, op_id, kind, id, op, user, device, role, stage, at, base_revision, was, seq, value"
        only = " AND id = ?" if item is not None else ""
        extra = (item,) if item is not None else ()
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            if conn.execute("SELECT 1 FROM annotations WHERE task_id = ?", (task_id,)).fetchone() is None:
                return None
            rows = conn.execute(f"SELECT {columns} FROM changes WHERE task_id = ? AND revision > ?{only} "
                                "ORDER BY revision, seq LIMIT ?", (task_id, after, *extra, limit)).fetchall()
            if len(rows) == limit:
                rows += conn.execute(f"SELECT {columns} FROM changes WHERE task_id = ? AND revision = ?{only} "
                                     "AND seq > ? ORDER BY seq", (task_id, rows[-1][0], *extra, rows[-1][12])).fetchall()
            conn.execute("COMMIT")
        finally:
            conn.close()
        keys = ("revision", "op_id", "kind", "id", "op", "user", "device", "role", "stage", "at", "base_revision")
        entries = []
        for row in rows:
            entry = dict(zip(keys, row))
            if row[11] is not None:
                entry["was"] = json.loads(row[11])
            if row[13] is not None:
                entry["value"] = json.loads(row[13])
            entries.append(entry)
        return entries

    # ---- writes

    def _write(self, work):
        """Run ``work(conn)`` in one BEGIN IMMEDIATE transaction; it returns (commit?, result)."""
        with self._write_turn:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                commit, result = work(conn)
                conn.execute("COMMIT" if commit else "ROLLBACK")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                conn.close()

    def put_task(self, task, initial_document, replace=True):
        """Store a task. Returns "created", "unchanged", "updated" or "different".

        A new task gets ``initial_document`` at revision 0; an existing task
        keeps its annotations whatever happens to the task itself. With
        ``replace=False`` a changed task is not stored ("different").
        """
        text = canonical_json(task)

        def work(conn):
            row = conn.execute("SELECT task FROM tasks WHERE id = ?", (task["id"],)).fetchone()
            if row is not None and canonical_json(json.loads(row[0])) == text:
                return True, "unchanged"
            if row is not None and not replace:
                return False, "different"
            if row is not None:
                conn.execute("UPDATE tasks SET name = ?, task = ?, "
                             "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
                             (task["name"], text, task["id"]))
                return True, "updated"
            self._insert_new_task(conn, task, initial_document)
            return True, "created"
        return self._write(work)

    def _insert_new_task(self, conn, task, initial_document):
        """The rows of a new task: the task, its document at revision 0 and its one default job."""
        conn.execute("INSERT INTO tasks (id, name, task) VALUES (?, ?, ?)",
                     (task["id"], task["name"], canonical_json(task)))
        conn.execute("INSERT INTO annotations (task_id, revision, document) VALUES (?, 0, ?)",
                     (task["id"], canonical_json(document_header(initial_document))))
        self._insert_items(conn, task["id"], initial_document, 0)
        # The predictions a task starts with are logged as creates of revision 0, with their
        # values: what people then confirm, edit or reject (the pre-label report).
        log = ChangeLog(conn, task["id"], 0, Principal(None, "manager"), None)
        log.add_many([(f"import/0/{n}", kind, item["id"], "create", None, None, item)
                      for n, (kind, item) in enumerate(
                          (key[:-1], item) for key in ("objects", "tracks") for item in initial_document.get(key, [])
                          if is_prediction(key[:-1], item))])
        review.add_default_job(conn, task["id"])

    def save_annotations(self, task_id, document, base_revision, who):
        """Replace the objects and tracks if the stored revision is ``base_revision``.

        Only items that differ are written; each created, changed or deleted
        item is logged (op_id "put/<revision>/<n>", which no client op_id can
        be), plus one "document" entry for the replacement itself. Review items
        (issues, comments, decisions) are not part of the document and stay.
        Returns ("ok", revision), ("stale",) on a revision conflict or unknown
        task, ("invalid", pointer, message) for an id a review item holds, or
        ("forbidden", pointer, message) for a change ``who`` may not make.
        """
        return self._write(lambda conn: self._replace_document(conn, task_id, document, base_revision, who))

    def _replace_document(self, conn, task_id, document, base_revision, who):
        """save_annotations inside a write transaction: (commit?, outcome)."""
        row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?",
                           (task_id,)).fetchone()
        if row is None or row[0] != base_revision:
            return False, ("stale",)
        revision = base_revision + 1
        log = ChangeLog(conn, task_id, revision, who, base_revision)
        old = {item_id: (kind, value, lo, hi) for item_id, kind, value, lo, hi in conn.execute(
            "SELECT id, kind, value, frame_lo, frame_hi FROM items WHERE task_id = ?", (task_id,))}
        writes, wanted = [], set()  # writes: (touch, position)
        for key in ("objects", "tracks"):
            kind = key[:-1]
            for i, item in enumerate(document.get(key, [])):
                item_id, text = item["id"], compact_json(item)
                wanted.add(item_id)
                before = old.get(item_id)
                if before is not None and before[0] in REVIEW_KINDS:
                    return False, ("invalid", f"/{key}/{i}/id",
                                   f"id {item_id!r} is already a review {before[0]} of this task")
                if before is not None and before[0] == kind and before[1] == text:
                    conn.execute("UPDATE items SET position = ? WHERE task_id = ? AND id = ?",
                                 (float(i + 1), task_id, item_id))
                    continue
                old_span = before[2:] if before is not None and before[1] is not None else None
                if before is not None and before[1] is not None and before[0] != kind:
                    writes.append((review.Touch(f"/{key}/{i}", before[0], "delete", item_id, old_span,
                                                None, None, None), None))
                    old_span = None
                verb = "update" if before is not None and before[0] == kind and before[1] else "create"
                writes.append((review.Touch(f"/{key}/{i}", kind, verb, item_id, old_span, None,
                                            review.item_span(kind, item), item), (text, float(i + 1))))
        for item_id, (kind, value, lo, hi) in old.items():
            if item_id not in wanted and value is not None and kind in ANNOTATION_KINDS:
                writes.append((review.Touch("", kind, "delete", item_id, (lo, hi) if lo is not None else None,
                                            None, None, None), None))
        refusal, stages = review.check_writes(conn, task_id, who, [t for t, _ in writes], lambda _: None)
        if refusal:
            return False, refusal
        for (touch, place), stage in zip(writes, stages):
            op_id = f"put/{revision}/{log.seq}"
            log.add(op_id, touch.kind, touch.id, touch.verb, stage=stage, value=touch.new_value)
            if place is None:
                log.delete_item(touch.id, op_id)
            else:
                log.set_item(touch.kind, touch.id, place[0], place[1], op_id, touch.new_span)
        conn.execute("DELETE FROM keyframe_ids WHERE task_id = ?", (task_id,))
        for item in document.get("tracks", []):
            self._set_keyframe_ids(conn, task_id, item["id"], item)
        log.add(f"put/{revision}/{log.seq}", "document", "", "replace")
        conn.execute("UPDATE annotations SET revision = ?, document = ?, "
                     "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE task_id = ?",
                     (revision, canonical_json(document_header(document)), task_id))
        return True, ("ok", revision)

    def apply_operations(self, task_id, base_revision, who, operations):
        """Apply a PATCH's operations atomically (see the module docstring), as ``who`` (a Principal).

        Returns ("not_found",), ("future", current), ("reused", operation index, op_id, revision)
        for an op_id stored with other content, ("conflict", current, [conflict]), ("invalid",
        pointer, message) for an id another item or keyframe holds or a comment or decision about
        nothing live, ("forbidden", pointer, message) for a write the role, the stage of a job it
        touches or the job's assignment refuses (server/review.py), or ("ok", revision, applied
        op_ids, duplicate op_ids).

        The write lock is held for a bounded, short time: everything that needs no database
        (fingerprints, value texts, keyframe ids) is prepared before it, the stored state the
        operations touch is read with a few batched queries, the checks then run in memory, and
        the writes are batched; no step costs more than O(log n) per operation in the size of the
        document, but for at most one ordered read of a list per request (creates with "index").
        """
        prepared = [_PreparedOp(at, op) for at, op in enumerate(operations)]
        # What the writes need that the stored state cannot change, computed before the lock:
        # the ids to read, and each touched item's keyframe ids as the request leaves them.
        item_ids = list({p.id: None for p in prepared})
        keyframe_ids = list({kf: None for p in prepared for kf in p.keyframe_ids})
        final_keyframes = {p.id: () if p.verb == "delete" else p.keyframe_ids for p in prepared}
        device = who.device

        def work(conn):
            row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?",
                               (task_id,)).fetchone()
            if row is None:
                return False, ("not_found",)
            current = row[0]
            if base_revision > current:
                return False, ("future", current)
            stored = {op_id: (revision, digest) for op_id, revision, digest in _select_in(
                conn, "SELECT op_id, revision, op_hash FROM changes WHERE task_id = ? AND op_id IN ({})",
                (task_id,), [p.op_id for p in prepared])}
            new, duplicates, duplicate_revisions = [], [], []
            for p in prepared:
                found = stored.get(p.op_id)
                if found is None:
                    new.append(p)
                elif found[1] is not None and found[1] != p.digest:
                    return False, ("reused", p.at, p.op_id, found[0])
                else:
                    duplicates.append(p.op_id)
                    duplicate_revisions.append(found[0])
            if not new:
                return False, ("ok", max(duplicate_revisions, default=current), [], duplicates)

            ids = item_ids if len(new) == len(prepared) else list({p.id: None for p in new})
            items = {r[0]: r[1:] for r in _select_in(
                conn, "SELECT id, kind, value, revision, user, device, position, frame_lo, frame_hi FROM items "
                      "WHERE task_id = ? AND id IN ({})", (task_id,), ids)}
            elsewhere = set(_select_in(
                conn, "SELECT DISTINCT id, kind FROM changes WHERE task_id = ? AND revision > ? "
                      "AND device IS NOT ? AND id IN ({})", (task_id, base_revision, device), ids))
            conflicts = self._conflicts(new, items, elsewhere)
            if conflicts:
                return False, ("conflict", current, conflicts)
            clash = self._id_clash(conn, task_id, new, items, ids, keyframe_ids)
            if clash:
                return False, ("invalid",) + clash
            refusal, stages = review.check_writes(conn, task_id, who, self._touches(new, items),
                                                  self._stored_lookup(conn, task_id, items))
            if refusal:
                return False, refusal

            revision = current + 1
            log = ChangeLog(conn, task_id, revision, who, base_revision)
            log.add_many([(p.op_id, p.kind, p.id, p.verb, p.digest, stage, p.value) for p, stage in zip(new, stages)])
            places = {kind: _ListPlaces(conn, task_id, kind) for kind in {p.kind for p in new}}
            row_of = {item_id: (item[0], item[5]) for item_id, item in items.items()}  # id -> (kind, position)
            for p in new:  # in order: a create's place depends on the creates and deletes before it
                place = places[p.kind]
                if p.verb == "delete":
                    place.deleted(p.id, row_of[p.id][1])
                    log.delete_item(p.id, p.op_id)
                    continue
                position = None
                if p.verb == "create":
                    old = row_of.get(p.id)
                    position = place.created(p.id, p.index, old[1] if old and old[0] == p.kind else None)
                    for item_id, moved in place.take_renumbered().items():
                        if item_id in row_of:
                            row_of[item_id] = (p.kind, moved)
                    row_of[p.id] = (p.kind, position)
                log.set_item(p.kind, p.id, p.text, position, p.op_id, p.span)
            touched = final_keyframes if len(new) == len(prepared) else \
                {p.id: () if p.verb == "delete" else p.keyframe_ids for p in new}
            conn.executemany("DELETE FROM keyframe_ids WHERE task_id = ? AND track_id = ?",
                             ((task_id, track_id) for track_id in touched))
            conn.executemany("INSERT OR IGNORE INTO keyframe_ids (task_id, id, track_id) VALUES (?, ?, ?)",
                             ((task_id, kf, track_id) for track_id, kfs in touched.items() for kf in kfs))
            conn.execute("UPDATE annotations SET revision = ?, "
                         "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE task_id = ?",
                         (revision, task_id))
            return True, ("ok", revision, [p.op_id for p in new], duplicates)
        return self._write(work)

    # ---- guidelines (server/guidelines.py has the rules)

    def get_guidelines(self, task_id, version=None):
        """(current version, the guidelines at ``version`` (None: current) or None) or None for an unknown task."""
        found = self._read(task_id, lambda conn: (guidelines.current_version(conn, task_id),
                                                  guidelines.read_version(conn, task_id, version)))
        return None if found is None else found[1]

    def guideline_versions(self, task_id):
        found = self._read(task_id, lambda conn: guidelines.list_versions(conn, task_id))
        return None if found is None else found[1]

    def guideline_file(self, task_id, version, name):
        """(current version, (MIME type, bytes) or None) or None for an unknown task; version None: current."""
        def work(conn):
            current = guidelines.current_version(conn, task_id)
            return current, guidelines.read_file(conn, task_id, current if version is None else version, name)
        found = self._read(task_id, work)
        return None if found is None else found[1]

    def put_guidelines(self, task_id, plan, who, base_version=None):
        """Write a new version. ("ok", version, created), ("not_found",) or ("forbidden", message);
        raises guidelines.Refusal for a stale base or a file list that does not fit."""
        def work(conn):
            if conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is None:
                return False, ("not_found",)
            refusal = guidelines.edit_refusal(who.role, task_id)
            if refusal:
                return False, ("forbidden", refusal)
            version, created = guidelines.write_version(conn, task_id, plan, who.user, who.role, base_version)
            return created, ("ok", version, created)
        return self._write(work)

    # ---- jobs (server/review.py has the rules)

    def list_jobs(self, task_id):
        """(revision, [job JSON with "open_issues" and "events"]) or None for an unknown task."""
        def work(conn):
            events = review.job_events(conn, task_id)
            jobs = []
            for job in review.load_jobs(conn, task_id).jobs:
                entry = job.to_json()
                entry["open_issues"] = review.open_issue_count(conn, task_id, job)
                entry["events"] = events.get(job.id, [])
                jobs.append(entry)
            return jobs
        return self._read(task_id, work)

    def split_jobs(self, task_id, ranges, who):
        """Replace a task's jobs. ("ok", [job]), ("not_found",) or ("busy", message) when a job
        has left annotation (its review would lose its frames), ("forbidden", message)."""
        def work(conn):
            row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return False, ("not_found",)
            if who.role != "manager":
                return False, ("forbidden", f"{review.with_article(who.role)} may not split a task into jobs; a manager may")
            moved = [j for j in review.load_jobs(conn, task_id).jobs if j.stage != "annotation"]
            if moved:
                return False, ("busy", f"job {moved[0].id} is in stage {moved[0].stage}: a task is split into "
                                       "jobs only while every job is in annotation")
            jobs = review.replace_jobs(conn, task_id, ranges, who, row[0])
            return True, ("ok", [j.to_json() for j in jobs.jobs])
        return self._write(work)

    def update_job(self, task_id, job_id, change, who):
        """Move a job to another stage and/or (re)assign it; ``change`` is the checked request body.

        Returns ("ok", job JSON), ("not_found", what), ("forbidden", message) or ("refused", code,
        message) for a stage that moved meanwhile (``from``), open issues at acceptance or none
        on a return.
        """
        def work(conn):
            row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return False, ("not_found", f"task {task_id!r} not found")
            job = review.load_jobs(conn, task_id).by_id(job_id)
            if job is None:
                return False, ("not_found", f"task {task_id!r} has no job {job_id}")
            revision = row[0]
            if "from" in change and change["from"] != job.stage:
                return False, ("refused", "stage_changed", f"job {job.id} is in stage {job.stage}, not "
                                                           f"{change['from']}; nothing was changed")
            assigning = [key for key in ("assignee", "reviewer") if key in change]
            if assigning and who.role != "manager":
                return False, ("forbidden", f"{review.with_article(who.role)} may not change the {assigning[0]} of job "
                                            f"{job.id}; a manager may")
            for key in assigning:
                if change[key] != getattr(job, key):
                    conn.execute(f"UPDATE jobs SET {key} = ? WHERE task_id = ? AND id = ?",
                                 (change[key], task_id, job.id))
                    review.log_job_event(conn, task_id, job.id, "assigned", who, revision,
                                         detail={key: change[key]})
            stage = change.get("stage", job.stage)
            if stage != job.stage:
                refusal = review.move_refusal(who, job, stage)
                if refusal:
                    return False, ("forbidden", refusal)
                issues = review.open_issue_count(conn, task_id, job)
                if stage == "accepted" and issues:
                    return False, ("refused", "open_issues", f"job {job.id} has {issues} open "
                                   f"issue{'s' if issues != 1 else ''}; they are resolved before it is accepted")
                if job.stage == "review" and stage == "annotation" and not issues:
                    return False, ("refused", "no_open_issues", f"job {job.id} goes back to annotation with at "
                                   "least one open issue saying what to fix")
                reviewed = revision if job.stage == "review" else job.reviewed_revision
                conn.execute("UPDATE jobs SET stage = ?, reviewed_revision = ? WHERE task_id = ? AND id = ?",
                             (stage, reviewed, task_id, job.id))
                review.log_job_event(conn, task_id, job.id, "stage", who, revision, job.stage, stage)
            return True, ("ok", review.load_jobs(conn, task_id).by_id(job_id).to_json())
        return self._write(work)

    # ---- annotation sets: golden frames and consensus replicas (server/sets.py has the rules)

    def set_relations(self):
        """{derived task id: (parent id, "golden" | "replica")}."""
        conn = self._connect()
        try:
            return sets.relations(conn)
        finally:
            conn.close()

    def task_jobs(self, task_id):
        """review.Jobs of a task (none for an unknown one)."""
        conn = self._connect()
        try:
            return review.load_jobs(conn, task_id)
        finally:
            conn.close()

    def get_sets(self, parent_id):
        """The sets of a task as GET .../sets replies, or None for an unknown task."""
        found = self._read(parent_id, lambda conn: sets.sets_of(conn, parent_id))
        return None if found is None else found[1]

    @staticmethod
    def _stored_task(conn, task_id):
        row = conn.execute("SELECT task FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def derive_golden(self, parent_id, frames, document, who):
        """Create the golden set of a task or replace its frames (and, given one, its document).

        Returns ("created" | "replaced", sets reply), ("not_found",), or a refusal of
        save_annotations (("invalid", pointer, message)) for the document.
        """
        def work(conn):
            parent = self._stored_task(conn, parent_id)
            if parent is None:
                return False, ("not_found",)
            task_id = sets.golden_id(parent_id)
            if self._stored_task(conn, task_id) is None:
                self._insert_new_task(conn, sets.derived_task(parent, task_id), document or empty_document())
                conn.execute("DELETE FROM jobs WHERE task_id = ?", (task_id,))
                sets.record(conn, task_id, parent_id, sets.GOLDEN, frames)
                return True, ("created", sets.sets_of(conn, parent_id))
            if document is not None:
                revision = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()[0]
                commit, outcome = self._replace_document(conn, task_id, document, revision, who)
                if not commit:
                    return False, outcome
            sets.set_golden_frames(conn, task_id, frames)
            return True, ("replaced", sets.sets_of(conn, parent_id))
        return self._write(work)

    def derive_replicas(self, parent_id, count, who):
        """Create the replicas 1..count a task lacks, each with the parent's job ranges.

        Returns ("created" | "unchanged", sets reply) or ("not_found",).
        """
        def work(conn):
            parent = self._stored_task(conn, parent_id)
            if parent is None:
                return False, ("not_found",)
            jobs = review.load_jobs(conn, parent_id)
            created = False
            for number in range(1, count + 1):
                task_id = sets.replica_id(parent_id, number)
                if self._stored_task(conn, task_id) is not None:
                    continue
                self._insert_new_task(conn, sets.derived_task(parent, task_id), empty_document())
                sets.copy_job_ranges(conn, task_id, jobs, who)
                sets.record(conn, task_id, parent_id, sets.REPLICA)
                created = True
            return created, ("created" if created else "unchanged", sets.sets_of(conn, parent_id))
        return self._write(work)

    @staticmethod
    def _touches(new, items):
        """review.Touch of each new operation, old values as the operations before it leave them."""
        now = {item_id: (item[1], (item[6], item[7]) if item[6] is not None else None)
               for item_id, item in items.items() if item[1] is not None}  # id -> (value text or dict, span)
        touches = []
        for p in new:
            old_text, old_span = now.get(p.id, (None, None))
            old_value = None
            if p.kind in REVIEW_KINDS and old_text is not None:
                old_value = json.loads(old_text) if isinstance(old_text, str) else old_text
            touches.append(review.Touch(f"/operations/{p.at}", p.kind, p.verb, p.id, old_span, old_value,
                                        p.span, p.value))
            if p.verb == "delete":
                now.pop(p.id, None)
            else:
                now[p.id] = (p.value, p.span)
        return touches

    @staticmethod
    def _stored_lookup(conn, task_id, items):
        """id -> (kind, span) of a live stored item, read on first use beyond ``items``."""
        known = {item_id: (item[0], (item[6], item[7]) if item[6] is not None else None) if item[1] is not None
                 else None for item_id, item in items.items()}

        def stored(item_id):
            if not isinstance(item_id, str):
                return None
            if item_id not in known:
                row = conn.execute("SELECT kind, frame_lo, frame_hi FROM items WHERE task_id = ? AND id = ? "
                                   "AND value IS NOT NULL", (task_id, item_id)).fetchone()
                known[item_id] = None if row is None else (row[0], (row[1], row[2]) if row[1] is not None else None)
            return known[item_id]
        return stored

    @staticmethod
    def _conflicts(new, items, elsewhere):
        """The conflicts of section 11, rule 2, against the stored state ``items`` (id -> row)."""
        conflicts, live = [], {}  # live: id -> kind or None, as this request leaves it
        for p in new:
            item = items.get(p.id)
            if p.id not in live:
                live[p.id] = item[0] if item and item[1] is not None else None
            now = live[p.id]
            if ((p.id, p.kind) in elsewhere or (p.verb == "create" and now is not None)
                    or (p.verb != "create" and now != p.kind)):
                conflicts.append({
                    "kind": p.kind, "id": p.id, "op_id": p.op_id,
                    "server": json.loads(item[1]) if item and item[1] is not None else None,
                    "revision": item[2] if item else None,
                    "user": item[3] if item else None, "device": item[4] if item else None})
            live[p.id] = None if p.verb == "delete" else p.kind
        return conflicts

    @staticmethod
    def _id_clash(conn, task_id, new, items, ids, keyframe_ids):
        """(pointer, message) for the first created or updated value whose id or keyframe ids another
        item or keyframe of the task holds (the one namespace of docs/SCHEMA.md), else None.

        Operations see the ones before them: a deleted track frees its keyframe ids.
        """
        owner = dict(_select_in(conn, "SELECT id, track_id FROM keyframe_ids WHERE task_id = ? AND id IN ({})",
                                (task_id,), ids + keyframe_ids))
        live = {item_id: kind for item_id, kind in _select_in(
            conn, "SELECT id, kind FROM items WHERE task_id = ? AND value IS NOT NULL AND id IN ({})",
            (task_id,), keyframe_ids)}
        live.update((item_id, item[0] if item[1] is not None else None) for item_id, item in items.items())
        owned = collections.defaultdict(set)  # track id -> its keyframe ids among those read
        for kf, track_id in owner.items():
            owned[track_id].add(kf)
        for p in new:
            for kf in owned.pop(p.id, ()):
                del owner[kf]
            if p.verb == "delete":
                live[p.id] = None
                continue
            if owner.get(p.id, p.id) != p.id:
                return f"/operations/{p.at}/id", f"id {p.id!r} is a keyframe of track {owner[p.id]!r}"
            for k, kf in enumerate(p.keyframe_ids):
                holder = owner.get(kf)
                if live.get(kf) is not None:
                    return (f"/operations/{p.at}/value/keyframes/{k}/id",
                            f"keyframe id {kf!r} is already an {live[kf]}")
                if holder is not None and holder != p.id:
                    return (f"/operations/{p.at}/value/keyframes/{k}/id",
                            f"keyframe id {kf!r} is already a keyframe of track {holder!r}")
            live[p.id] = p.kind
            for kf in p.keyframe_ids:
                owner[kf] = p.id
                owned[p.id].add(kf)
        return None


def _select_in(conn, sql, params, values, chunk=500):
    """Rows of ``sql`` whose ``IN ({})`` takes ``values``, in chunks below SQLite's variable limit."""
    rows = []
    for start in range(0, len(values), chunk):
        part = values[start:start + chunk]
        rows += conn.execute(sql.format(", ".join("?" * len(part))), (*params, *part)).fetchall()
    return rows


class _PreparedOp:
    """One validated operation with what its write needs, computed before the write lock is taken."""

    __slots__ = ("at", "op_id", "kind", "verb", "id", "index", "value", "text", "span", "keyframe_ids", "digest")

    def __init__(self, at, op):
        self.at, self.op_id, self.kind, self.verb, self.id = at, op["op_id"], op["kind"], op["op"], op["id"]
        self.index = op.get("index")
        value = self.value = op.get("value")
        self.text = None if value is None else compact_json(value)
        self.span = review.item_span(self.kind, value)
        keyframes = value.get("keyframes", []) if self.kind == "track" and value else []
        self.keyframe_ids = [kf["id"] for kf in keyframes]
        self.digest = operation_digest(op)


def operation_digest(op):
    """The fingerprint of an operation's content (all but its op_id), as changes.op_hash keeps it."""
    content = [op["kind"], op["op"], op["id"], op.get("value"), op.get("index")]
    return hashlib.sha256(canonical_json(content).encode("utf-8", "surrogatepass")).hexdigest()[:32]


class _ListPlaces:
    """List positions of the items one PATCH creates in one kind's list (objects or tracks).

    Positions are floats: a create goes after the last position, back to its old place when the
    id comes back (an undo), or between the neighbours at its "index". The live items are read
    once, in order, and only when a create names an index; an index past the end costs nothing.
    When two neighbours leave no room between them, only a window of live items around them is
    spread out again (doubling until gaps of at least 1 appear), so creates at one spot cost
    O(log n) amortised, never a renumbering of the whole list per create.
    """

    def __init__(self, conn, task_id, kind):
        self.conn, self.task_id, self.kind = conn, task_id, kind
        self.last = conn.execute("SELECT MAX(position) FROM items WHERE task_id = ? AND kind = ?",
                                 (task_id, kind)).fetchone()[0] or 0.0
        self.live = None  # sorted positions of the live items, once an index needs them
        self.live_ids = None  # their ids, in the same order
        self.renumbered = {}  # id -> new position, after a window was spread out

    def _load(self):
        rows = self.conn.execute("SELECT position, id FROM items WHERE task_id = ? AND kind = ? "
                                 "AND value IS NOT NULL ORDER BY position", (self.task_id, self.kind)).fetchall()
        self.live, self.live_ids = [r[0] for r in rows], [r[1] for r in rows]

    def take_renumbered(self):
        moved, self.renumbered = self.renumbered, {}
        return moved

    def deleted(self, item_id, position):
        if self.live is None:
            return
        at = bisect.bisect_left(self.live, position)
        while at < len(self.live) and self.live[at] == position:
            if self.live_ids[at] == item_id:
                del self.live[at], self.live_ids[at]
                return
            at += 1

    def created(self, item_id, index, old_position):
        """The position of a created item; ``old_position`` is its place before it was deleted."""
        if index is None:
            position = old_position if old_position is not None else self.last + 1.0
        else:
            if self.live is None:
                self._load()
            position = self._at_index(min(index, len(self.live)))  # 10**30 is just "the end"
        self.last = max(self.last, position)
        if self.live is not None:
            at = bisect.bisect_right(self.live, position)
            self.live.insert(at, position)
            self.live_ids.insert(at, item_id)
        return position

    def _at_index(self, index):
        if index == len(self.live):
            return self.last + 1.0 if index else 1.0
        before = self.live[index - 1] if index else self.live[0] - 2.0
        after = self.live[index]
        middle = (before + after) / 2
        if before < middle < after:
            return middle
        self._spread(index)
        return self._at_index(index)

    def _spread(self, index):
        """Give the live items around ``index`` even gaps of at least 1 (rare, O(window))."""
        count = len(self.live)
        half = 8
        while True:
            lo, hi = max(index - half, 0), min(index + half, count)
            floor = self.live[lo - 1] if lo else self.live[0] - 2.0 * (hi - lo + 1)
            ceil = self.live[hi] if hi < count else self.last + 2.0 * (hi - lo + 1)
            step = (ceil - floor) / (hi - lo + 1)
            if step >= 1.0 or (lo == 0 and hi == count):
                break
            half *= 2
        for j in range(lo, hi):
            self.live[j] = floor + step * (j - lo + 1)
            self.renumbered[self.live_ids[j]] = self.live[j]
        self.last = max(self.last, self.live[hi - 1])
        self.conn.executemany("UPDATE items SET position = ? WHERE task_id = ? AND id = ?",
                              [(self.live[j], self.task_id, self.live_ids[j]) for j in range(lo, hi)])


def is_prediction(kind, value):
    """An object or track a model made and no person has confirmed: source "model" (a track's
    own or one of its keyframes')."""
    if kind not in ANNOTATION_KINDS or not isinstance(value, dict):
        return False
    if value.get("source") == "model":
        return True
    return kind == "track" and any(isinstance(k, dict) and k.get("source") == "model"
                                   for k in value.get("keyframes", ()))


class ChangeLog:
    """Writes the change log rows and item rows of one new revision."""

    def __init__(self, conn, task_id, revision, who, base_revision):
        self.conn, self.task_id, self.revision = conn, task_id, revision
        self.user, self.device, self.role = who.user, who.device, who.role
        self.base_revision = base_revision
        self.at = review.now_text()
        self.seq = 0

    def add(self, op_id, kind, item_id, op, digest=None, stage=None, value=None):
        self.add_many([(op_id, kind, item_id, op, digest, stage, value)])

    def add_many(self, entries):
        """Log (op_id, kind, id, op, op_hash or None, stage or None, value or None) entries, in order,
        in one statement; the value is kept only where a model's prediction is created."""
        rows = [(self.task_id, self.revision, self.seq + n, op_id, kind, item_id, op, self.user,
                 self.device, self.role, stage, self.at, self.base_revision, digest,
                 compact_json(value) if op == "create" and is_prediction(kind, value) else None)
                for n, (op_id, kind, item_id, op, digest, stage, value) in enumerate(entries)]
        self.conn.executemany("INSERT INTO changes (task_id, revision, seq, op_id, kind, id, op, user, "
                              "device, role, stage, at, base_revision, op_hash, value) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.seq += len(rows)

    def set_item(self, kind, item_id, text, position, op_id, span=None):
        """Insert or update an item row; ``position`` None keeps the stored one."""
        lo, hi = span or (None, None)
        self.conn.execute(
            "INSERT INTO items (task_id, id, kind, position, value, revision, op_id, user, device, role, at, "
            "frame_lo, frame_hi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, id) DO "
            "UPDATE SET kind = excluded.kind, position = COALESCE(?, items.position), value = excluded.value, "
            "revision = excluded.revision, op_id = excluded.op_id, user = excluded.user, "
            "device = excluded.device, role = excluded.role, at = excluded.at, frame_lo = excluded.frame_lo, "
            "frame_hi = excluded.frame_hi",
            (self.task_id, item_id, kind, position if position is not None else 0.0, text,
             self.revision, op_id, self.user, self.device, self.role, self.at, lo, hi, position))

    def delete_item(self, item_id, op_id):
        """Tombstone an item; its last value moves to the change row of ``op_id`` (logged first)."""
        self.conn.execute("UPDATE changes SET was = (SELECT value FROM items WHERE task_id = ? AND id = ?) "
                          "WHERE task_id = ? AND op_id = ?", (self.task_id, item_id, self.task_id, op_id))
        self.conn.execute("UPDATE items SET value = NULL, revision = ?, op_id = ?, user = ?, device = ?, "
                          "role = ?, at = ? WHERE task_id = ? AND id = ?",
                          (self.revision, op_id, self.user, self.device, self.role, self.at,
                           self.task_id, item_id))


def document_header(document):
    """The document without its objects and tracks (what the annotations row keeps)."""
    return {k: v for k, v in document.items() if k not in ("objects", "tracks")}


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compact_json(value):
    """An item as stored: compact, keys in the writer's order."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def frame_count(task):
    """A task's number of frames, or None when a video's is not known."""
    spans = _media_spans(task)
    if len(spans) != len(task.get("media") or ()):
        return None
    return spans[-1][1] if spans else 0


def task_summary(task):
    """The /api/tasks entry of one task."""
    media = task.get("media", [])
    frames = 0
    for m in media:
        if m.get("type") == "image":
            frames += 1
        elif isinstance(m.get("frames"), int):
            frames += m["frames"]
    return {"id": task["id"], "name": task.get("name", task["id"]),
            "media_count": len(media), "frames": frames}


# --------------------------------------------------------------------------- import

# Limits of every JSON text (docs/SCHEMA.md, "Limits"); the C++ reader applies the same
# (shared/polymark/json_reader.hpp), and tests/backend/test_schema_agreement.py holds both to it.
MAX_JSON_DEPTH = 64          # arrays and objects open at once; the root is depth 1
MAX_META_DEPTH = 32          # inside a document's meta (meta itself is level 1)
MAX_EXACT_INTEGER = 2 ** 53 - 1
_STRING_TOKEN = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_NOT_A_BRACKET = re.compile(_STRING_TOKEN + r'|[^"\[\]{}]+', re.DOTALL)
_DEPTH_TOKEN = re.compile(_STRING_TOKEN + r'|[\[\]{},:]', re.DOTALL)
# Text that may hold a number beyond 2^53 or past a double's range, or a surrogate escape:
# only then are numbers read through Python code and the value walked (big bodies stay fast).
_LONG_DIGITS = re.compile(r'[0-9]{16}')           # two searches: faster than one alternation
_BIG_EXPONENT = re.compile(r'[eE][+-]?0*[0-9]{3}')
_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')
_LONE_SURROGATE = re.compile('[\ud800-\udfff]')


class JsonLimitError(ValueError):
    """A JSON text beyond a limit: ``code`` (too_deep, out_of_range, bad_string) at ``pointer``."""

    def __init__(self, code, pointer_, message):
        super().__init__(message)
        self.code, self.pointer = code, pointer_


class _Unrepresentable:
    """Stands for a number literal no double holds, until its pointer is known."""

    def __init__(self, text):
        self.text = text


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_float(text):
    value = float(text)
    return value if math.isfinite(value) else _Unrepresentable(text)


def _read_int(text):
    # Beyond 2^53 an integer literal means the double it rounds to, as it does for the C++ reader.
    if len(text) < 16:
        return int(text)
    if len(text) < 400:
        value = int(text)
        if abs(value) <= MAX_EXACT_INTEGER:
            return value
    return _read_float(text)


def _nesting_depth(text):
    depth = deepest = 0
    for c in _NOT_A_BRACKET.sub("", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def _key_text(token):
    try:
        key = json.loads(token if len(token) > 1 and token.endswith('"') else token + '"')
    except ValueError:
        key = token[1:]
    return _LONE_SURROGATE.sub("\ufffd", key)


def _too_deep_pointer(text):
    """The pointer of the first array or object opened past MAX_JSON_DEPTH, in text order."""
    levels = []  # [is_object, expecting_key, key, index]
    for m in _DEPTH_TOKEN.finditer(text):
        token = m.group()
        c = token[0]
        if c in "[{":
            if len(levels) >= MAX_JSON_DEPTH:
                return pointer(*(lv[2] if lv[0] else lv[3] for lv in levels))
            levels.append([c == "{", c == "{", "", 0])
        elif c in "]}":
            if levels:
                levels.pop()
        elif c == ",":
            if levels:
                if levels[-1][0]:
                    levels[-1][1] = True
                else:
                    levels[-1][3] += 1
        elif c == ":":
            if levels and levels[-1][0]:
                levels[-1][1] = False
        elif levels and levels[-1][0] and levels[-1][1]:
            levels[-1][2] = _key_text(token)
    return None


def _first_unreadable(value, parts, strings):
    """(code, pointer, message) of the first number no double holds or lone surrogate, in text order."""
    if isinstance(value, _Unrepresentable):
        shown = value.text[:24] + ("..." if len(value.text) > 24 else "")
        return "out_of_range", pointer(*parts), f"the number {shown} is too large for a double"
    if isinstance(value, str):
        if strings and _LONE_SURROGATE.search(value):
            return "bad_string", pointer(*parts), "a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape) is not Unicode text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if strings and _LONE_SURROGATE.search(key):
                return ("bad_string", pointer(*parts, _LONE_SURROGATE.sub("\ufffd", key)),
                        "the member name holds a lone UTF-16 surrogate: it is not Unicode text")
            found = _first_unreadable(item, parts + (key,), strings)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_unreadable(item, parts + (i,), strings)
            if found:
                return found
    return None


def parse_json(text):
    """JSON text to a value, within the limits of docs/SCHEMA.md ("Limits"), checked in order:

    nested past MAX_JSON_DEPTH (JsonLimitError too_deep), not JSON (ValueError), then the first
    number no double holds (out_of_range) or lone surrogate (bad_string) in text order. Integers
    beyond 2^53 read as the double they round to.
    """
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        where = _too_deep_pointer(text)
        raise JsonLimitError("too_deep", where, f"{where or '(root)'}: nested more than "
                                                f"{MAX_JSON_DEPTH} arrays and objects deep")
    risky_numbers = bool(_LONG_DIGITS.search(text) or _BIG_EXPONENT.search(text))
    strings = bool(_SURROGATE_ESCAPE.search(text))
    if not risky_numbers:
        value = json.loads(text, parse_constant=_reject_constant)
    else:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_read_float,
                           parse_int=_read_int)
    if risky_numbers or strings:
        found = _first_unreadable(value, (), strings)
        if found:
            code, where, message = found
            raise JsonLimitError(code, where, f"{where or '(root)'}: {message}")
    return value


def load_json_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImportFailure(f"{path}: cannot read: {e.strerror}") from e
    try:
        return parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ImportFailure(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except JsonLimitError as e:
        raise ImportFailure(f"{path}: {e}", e.code, e.pointer) from e
    except ValueError as e:
        raise ImportFailure(f"{path}: not valid JSON: {e}") from e


def pointer(*parts):
    """RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Checker:
    """Stops at the first structural error of one JSON value, as ImportFailure.

    ``file_path`` names the value for people (a file, or "request body");
    ``prefix`` is the JSON pointer of the value inside what was read, so a
    request body's errors point into the body (``/operations/3/value/points``).
    """

    def __init__(self, file_path, context="", prefix=""):
        self.file_path = file_path
        self.context = context
        self.prefix = prefix

    def fail(self, ptr, message, code="invalid"):
        ptr = self.prefix + ptr
        where = ptr or "(root)"
        raise ImportFailure(f"{self.file_path}: {where}: {message}{self.context}", code, ptr)

    def object(self, value, ptr):
        if not isinstance(value, dict):
            self.fail(ptr, "expected a JSON object", "expected_object")
        return value

    def keys(self, obj, ptr, allowed, hint=None):
        for key in obj:
            if key not in allowed:
                extra = (hint or {}).get(key, "")
                self.fail(ptr + pointer(key), f"unknown key {key!r}{extra}", "unknown_key")

    def require(self, obj, ptr, key):
        if key not in obj:
            self.fail(ptr + pointer(key), f"missing required key {key!r}", "missing_key")
        return obj[key]

    def string(self, value, ptr, nonempty=False):
        if not isinstance(value, str) or (nonempty and not value):
            self.fail(ptr, "expected a non-empty string" if nonempty else "expected a string",
                      "expected_string")
        return value

    def integer(self, value, ptr, minimum=None):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 3.0 reads as 3 (docs/SCHEMA.md, section 3)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(ptr, "expected an integer", "expected_integer")
        if abs(value) > MAX_EXACT_INTEGER:
            self.fail(ptr, "must lie within -(2^53-1) and 2^53-1 (an integer a double holds exactly)",
                      "out_of_range")
        if minimum is not None and value < minimum:
            self.fail(ptr, f"must be {minimum} or more", "out_of_range")
        return value

    def number(self, value, ptr):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.fail(ptr, "expected a number", "expected_number")
        return value

    def array(self, value, ptr):
        if not isinstance(value, list):
            self.fail(ptr, "expected an array", "expected_array")
        return value


def check_relative_file(name):
    """Why ``name`` is not a safe relative file name, or None if it is."""
    if not name:
        return "empty file name"
    if "\x00" in name:
        return "file name holds a NUL byte"
    if "\\" in name:
        return "backslashes are not allowed (use '/')"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "absolute paths are not allowed"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "'..', '.' and empty path components are not allowed"
        if part.startswith("."):
            return "hidden path components (starting with '.') are not allowed"
    return None


def check_header(ck, value, expected_format, what, allowed_keys):
    """The root of a task or document: an object with our format, version 1 and known keys."""
    if not isinstance(value, dict):
        ck.fail("", "expected a JSON object", "not_object")
    fmt = ck.string(ck.require(value, "", "format"), "/format")
    if fmt != expected_format:
        ck.fail("/format", f"must be {expected_format!r}, not {fmt!r}", "wrong_format")
    version = ck.integer(ck.require(value, "", "version"), "/version")
    if version != 1:
        ck.fail("/version", f"{what} version {version} is not supported (this serve.py reads version 1)",
                "unsupported_version")
    ck.keys(value, "", allowed_keys)


def validate_task(task, file_path, task_dir, prefix="", dir_label=None):
    """Check an import task.json; returns (task for the store, [(source, rel name)]).

    Media files are looked up in ``task_dir`` (named ``dir_label`` in messages).
    """
    ck = _Checker(file_path, prefix=prefix)
    check_header(ck, task, TASK_FORMAT, "task", TASK_KEYS)
    task_id = ck.string(ck.require(task, "", "id"), "/id")
    if not TASK_ID_RE.fullmatch(task_id) or task_id.startswith("."):
        ck.fail("/id", f"task id {task_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                       "and must not start with '.'")
    ck.context = f" (task {task_id!r})"
    name = ck.string(task.get("name", task_id), "/name")
    media = ck.array(ck.require(task, "", "media"), "/media")
    if not media:
        ck.fail("/media", "a task needs at least one image or video")
    out_media, files, seen = [], [], set()
    for i, item in enumerate(media):
        entry, source, rel = validate_media(ck, item, pointer("media", i), task_id, task_dir, seen,
                                            dir_label or task_dir)
        out_media.append(entry)
        files.append((source, rel))
    if "labels" in task:
        validate_labels(ck, task["labels"])
    if "settings" in task:
        ck.object(task["settings"], "/settings")
    if "meta" in task:
        ck.object(task["meta"], "/meta")
    stored = dict(task)
    stored["name"] = name
    stored["media"] = out_media
    return stored, files


def validate_media(ck, item, ptr, task_id, task_dir, seen_ids, dir_label):
    ck.object(item, ptr)
    ck.keys(item, ptr, MEDIA_KEYS,
            {"url": ": an import task.json names each medium by 'file' (relative to its "
                    "directory); serve.py writes the url"})
    media_id = ck.string(ck.require(item, ptr, "id"), ptr + "/id")
    if not ITEM_ID_RE.fullmatch(media_id):
        ck.fail(ptr + "/id", f"media id {media_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . : -")
    if media_id in seen_ids:
        ck.fail(ptr + "/id", f"media id {media_id!r} is used twice")
    seen_ids.add(media_id)
    mtype = ck.string(ck.require(item, ptr, "type"), ptr + "/type")
    if mtype not in ("image", "video"):
        ck.fail(ptr + "/type", f"media type {mtype!r} must be 'image' or 'video'")
    rel = ck.string(ck.require(item, ptr, "file"), ptr + "/file")
    problem = check_relative_file(rel)
    if problem:
        ck.fail(ptr + "/file", f"unsafe file name {rel!r}: {problem}", "bad_file_name")
    source = os.path.join(task_dir, *rel.split("/"))
    real_dir = os.path.realpath(task_dir)
    if not is_within(os.path.realpath(source), real_dir):
        ck.fail(ptr + "/file", f"file {rel!r} resolves outside the task directory")
    if not os.path.isfile(source):
        ck.fail(ptr + "/file", f"file {rel!r} does not exist in {dir_label}")
    if mtype in ("image", "video"):
        problem = check_media_file(source, mtype)
        if problem:
            ck.fail(ptr + "/file", f"file {rel!r} {problem}", "bad_media")
    if "name" in item:
        ck.string(item["name"], ptr + "/name")
    for key in ("width", "height"):
        if key in item:
            ck.integer(item[key], f"{ptr}/{key}", minimum=1)
    if "frames" in item:
        frames = ck.integer(item["frames"], ptr + "/frames", minimum=1)
        if mtype == "image" and frames != 1:
            ck.fail(ptr + "/frames", "an image has exactly 1 frame")
    if "fps" in item and ck.number(item["fps"], ptr + "/fps") <= 0:
        ck.fail(ptr + "/fps", "must be positive")
    entry = {k: v for k, v in item.items() if k != "file"}
    entry["url"] = "/media/" + urllib.parse.quote(task_id) + "/" + urllib.parse.quote(rel)
    entry.setdefault("name", posixpath.basename(rel))
    return entry, source, rel


def validate_labels(ck, labels):
    ck.array(labels, "/labels")
    seen = set()
    for i, label in enumerate(labels):
        ptr = pointer("labels", i)
        ck.object(label, ptr)
        label_id = ck.string(ck.require(label, ptr, "id"), ptr + "/id")
        if not ITEM_ID_RE.fullmatch(label_id):
            ck.fail(ptr + "/id", f"label id {label_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . : -")
        if label_id in seen:
            ck.fail(ptr + "/id", f"label id {label_id!r} is used twice")
        seen.add(label_id)


# docs/schema/*.json are the one definition of the annotation document and of the PATCH body:
# values are checked against them (python3-jsonschema, Debian's 4.10 or later), and here only
# by the rules JSON Schema cannot state (docs/SCHEMA.md, section 8). Errors keep the codes and
# pointers of docs/SCHEMA.md section 7: of every error found, the one first in its walk order
# is reported, as a reader that stops at the first error would.
SCHEMA_DIR = os.environ.get("POLYMARK_SCHEMA_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "docs", "schema")
SCHEMA_FILES = {"annotations": "annotations.v1.schema.json", "patch": "patch.v1.schema.json",
                "review": "review.v1.schema.json"}
BOX_TYPES = ("rectangle", "ellipse")
POINT_TYPES = ("rectangle", "ellipse", "polygon", "polyline", "points")  # the schema has their counts

# Walk order of docs/SCHEMA.md section 7 per kind of value; None is where unknown keys go.
_WALK_ORDER = {
    "document": ("format", "version", None, "objects", "tracks", "meta"),
    "object": ("id", "type", "frame", "label", None, "points", "rotation", "attributes", "source",
               "score", "z", "group", "occluded", "guideline", "meta"),
    "track": ("id", "type", "label", None, "keyframes", "attributes", "source", "group",
              "interpolation", "guideline", "meta"),
    "keyframe": ("id", "frame", None, "points", "rotation", "outside", "occluded", "z",
                 "attributes", "source", "score", "meta"),
    "patch": (None, "base_revision", "user", "device", "operations"),
    "operation": (None, "op_id", "kind", "op", "id", "value", "index"),
}
_LIST_OF = {("document", "objects"): "object", ("document", "tracks"): "track",
            ("track", "keyframes"): "keyframe", ("patch", "operations"): "operation"}
_TYPE_CODES = {"object": ("expected_object", "a JSON object"), "array": ("expected_array", "an array"),
               "string": ("expected_string", "a string"), "integer": ("expected_integer", "an integer"),
               "number": ("expected_number", "a number"), "boolean": ("expected_boolean", "true or false")}
# Where an error sorts among the errors of the same value: its type first, then the value's own
# rules, then (after its children) the rules about the whole of it.
_BEFORE, _CHILD, _AFTER = 0, 1, 2
_PHASE = {"missing_key": (_BEFORE, -1), "unknown_key": (_BEFORE, -1), "not_object": (_BEFORE, 0),
          "duplicate_id": (_BEFORE, 2), "bad_points": (_AFTER, 0), "bad_box": (_AFTER, 1)}


@functools.lru_cache(maxsize=None)
def _ecma_regex(pattern):
    # ECMA-262 "$" ends the text; Python's also matches before a final newline ("a\n").
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$")
                      else pattern)


def _ecma_pattern(validator, pattern, instance, schema):
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _with_borrowed_defs(schema, schemas):
    """``schema`` with the $defs it refers to in other files ("<$id>#/$defs/x") copied into its own,
    so that every reference is local: jsonschema 4.10 cannot follow a reference out of a
    file whose $id is a URN and then resolve that file's own "#/..." references."""
    by_id = {s["$id"]: s for s in schemas}
    defs = {}

    def local(node):
        if isinstance(node, list):
            return [local(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and value.split("#")[0] in by_id and value.split("#")[0] != schema["$id"]:
                for name, definition in by_id[value.split("#")[0]].get("$defs", {}).items():
                    defs[name] = definition
                value = "#" + value.split("#", 1)[1]
            out[key] = local(value)
        return out

    merged = local(schema)
    done = {}
    while len(done) < len(defs):  # borrowed definitions may borrow from further files
        for name in [n for n in defs if n not in done]:
            done[name] = local(defs[name])
    for name, definition in done.items():
        if merged.setdefault("$defs", {}).setdefault(name, definition) is not definition:
            raise ValueError(f"{schema['$id']}: $defs/{name} is defined in two files")
    return merged


class _Schemas:
    """A validator per schema file, made once. Before jsonschema 4.18 the reference resolver
    keeps state while it works, so each call gets a validator of its own."""

    def __init__(self, directory):
        loaded = []
        for file_name in SCHEMA_FILES.values():
            with open(os.path.join(directory, file_name), encoding="utf-8") as f:
                loaded.append(json.load(f))
        self.schemas = {name: _with_borrowed_defs(schema, loaded)
                        for name, schema in zip(SCHEMA_FILES, loaded)}
        self.classes = {name: jsonschema.validators.extend(
            jsonschema.validators.validator_for(schema), {"pattern": _ecma_pattern})
            for name, schema in self.schemas.items()}
        self.fast = {name: fastjsonschema.compile(schema) for name, schema in self.schemas.items()} \
            if fastjsonschema else {}
        self.shared = None
        if importlib.util.find_spec("referencing"):  # jsonschema 4.18 and later: immutable, thread-safe
            self.shared = {name: cls(self.schemas[name]) for name, cls in self.classes.items()}

    def validator(self, name):
        if self.shared is not None:
            return self.shared[name]
        return self.classes[name](self.schemas[name])


_SCHEMAS = _Schemas(SCHEMA_DIR)
MAX_OPERATIONS = _SCHEMAS.schemas["patch"]["properties"]["operations"]["maxItems"]  # in one PATCH


def _as_integer(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 reads as 3 (docs/SCHEMA.md, section 3)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _failures_of(error):
    """[(code, parts, message)] for one jsonschema error, in the terms of docs/SCHEMA.md section 7."""
    parts = tuple(error.absolute_path)
    keyword, instance, owner = error.validator, error.instance, (error.absolute_path or [None])[-1]
    if keyword == "type":
        if isinstance(error.validator_value, list):  # only attribute values have a choice of types
            return [("bad_attribute", parts, "an attribute value is a string, a number or a boolean")]
        if not parts:
            return [("not_object", parts, "expected a JSON object")]
        code, words = _TYPE_CODES[error.validator_value]
        return [(code, parts, "expected " + words)]
    if keyword == "required":
        return [("missing_key", parts + (key,), f"missing required key {key!r}")
                for key in error.validator_value if key not in instance]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [("unknown_key", parts + (key,), f"unknown key {key!r}") for key in instance if key not in known]
    if keyword == "not" and list(error.validator_value) == ["required"]:  # a key this variant forbids
        if not isinstance(instance, dict):
            return []  # "required" holds for any other value; its type is the error
        return [("unknown_key", parts + (key,), f"key {key!r} is not allowed here")
                for key in error.validator_value["required"]]
    if keyword == "pattern":
        return [("bad_id", parts, f"{owner} {instance[:80]!r} must match {error.validator_value}")]
    if keyword == "minLength":
        return [("expected_string", parts, "expected a non-empty string")]
    if keyword in ("minItems", "maxItems") and owner == "points":
        return [("bad_points", parts, f"{len(instance)} numbers are too few or too many for this type")]
    if keyword in ("minimum", "maximum", "minItems", "maxItems", "maxLength"):
        return [("out_of_range", parts, error.message)]
    if keyword == "const" and owner == "format":
        return [("wrong_format", parts, f"must be {error.validator_value!r}, not {instance!r}")]
    if keyword == "const" and owner == "version":
        number = _as_integer(instance)
        if number is not None and abs(number) > MAX_EXACT_INTEGER:
            return [("out_of_range", parts, "must lie within -(2^53-1) and 2^53-1")]
        return [("unsupported_version", parts,
                 f"version {instance} is not supported (this serve.py reads version {error.validator_value})")]
    if keyword in ("enum", "const") and not isinstance(instance, str):  # every enumeration is of strings
        return [("expected_string", parts, "expected a string")]
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        return [("bad_enum", parts, f"{instance!r} is not one of {', '.join(map(str, allowed))}")]
    return [("invalid", parts, error.message)]


def _walk_key(root, kind, parts, code, after=False):
    """Where an error at ``parts`` comes in the walk order of docs/SCHEMA.md section 7."""
    key, value = [], root
    for depth, part in enumerate(parts):
        order = _WALK_ORDER.get(kind) if isinstance(value, dict) else None
        if order is None:
            position = (part if isinstance(part, int) else
                        list(value).index(part) if isinstance(value, dict) and part in value else 0, 0)
        elif (part not in order or code == "unknown_key" and depth == len(parts) - 1
              and not (kind == "operation" and part in ("value", "index"))):
            position = (order.index(None), list(value).index(part) if part in value else 0)
        else:
            position = (order.index(part), 0)
        key.append((_CHILD,) + position)
        if isinstance(value, list):
            kind = kind[1:] if isinstance(kind, str) and kind.startswith("[") else "free"
            value = value[part] if isinstance(part, int) and part < len(value) else None
        elif isinstance(value, dict):
            listed = _LIST_OF.get((kind, part))
            kind = ("[" + listed) if listed else (
                value.get("kind") if kind == "operation" and part == "value" else "free")
            value = value.get(part)
        else:
            kind, value = "free", None
    key.append((_AFTER, 9) if after else
               _PHASE.get(code, (_BEFORE, 0) if code.startswith("expected_") else (_BEFORE, 1)))
    return key


def _points_rules(points, parts, shape_type, out):
    if shape_type not in POINT_TYPES or not isinstance(points, list):
        return
    n = len(points)
    if n % 2:
        out.append(("bad_points", parts, f"{n} numbers do not make the points of a {shape_type}", None))
    elif shape_type in BOX_TYPES and n == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in points):
        if points[0] > points[2] or points[1] > points[3]:
            out.append(("bad_box", parts, "a box needs x1 <= x2 and y1 <= y2", None))


def _meta_rules(owner, parts, out):
    """meta nests at most MAX_META_DEPTH levels (so a document fits in any request)."""
    meta = owner.get("meta")
    if not isinstance(meta, dict):
        return
    stack = [(meta, parts + ("meta",), 1)]
    while stack:
        item, where, level = stack.pop()
        if level > MAX_META_DEPTH:
            out.append(("too_deep", where, f"nested more than {MAX_META_DEPTH} levels deep in meta", None))
            return
        children = item.items() if isinstance(item, dict) else enumerate(item)
        stack.extend(reversed([(child, where + (key,), level + 1) for key, child in children
                               if isinstance(child, (dict, list))]))


def _item_rules(value, parts, kind, ids, out):
    """The rules of one object or track JSON Schema cannot state (ids in the one namespace ``ids``)."""
    if not isinstance(value, dict):
        return

    def register(item_id, where):
        if isinstance(item_id, str):  # an invalid id fails earlier in the walk, by the schema
            if item_id in ids:
                out.append(("duplicate_id", where, f"id {item_id!r} is already used in this document", None))
            ids.add(item_id)

    register(value.get("id"), parts + ("id",))
    shape_type = value.get("type")
    if kind == "object":
        if shape_type != "tag":
            _points_rules(value.get("points"), parts + ("points",), shape_type, out)
    elif isinstance(value.get("keyframes"), list):
        previous = None
        for k, kf in enumerate(value["keyframes"]):
            if not isinstance(kf, dict):
                continue
            kp = parts + ("keyframes", k)
            register(kf.get("id"), kp + ("id",))
            _points_rules(kf.get("points"), kp + ("points",), shape_type, out)
            _meta_rules(kf, kp, out)
            frame = _as_integer(kf.get("frame"))
            if frame is not None:
                if previous is not None and frame <= previous:
                    out.append(("keyframe_order", kp + ("frame",),
                                f"keyframe frame {frame} is not after {previous}", kp))
                previous = frame
    _meta_rules(value, parts, out)


def _document_rules(doc, out):
    if isinstance(doc, dict):
        ids = set()
        for key in ("objects", "tracks"):
            if isinstance(doc.get(key), list):
                for i, item in enumerate(doc[key]):
                    _item_rules(item, (key, i), key[:-1], ids, out)
        _meta_rules(doc, (), out)


def document_rule_failures(doc):
    """[(code, pointer)] that the rules JSON Schema cannot state find in a document, in walk order."""
    found = []
    _document_rules(doc, found)
    found.sort(key=lambda f: _walk_key(doc, "document", f[3] if f[3] is not None else f[1], f[0],
                                       f[3] is not None))
    return [(code, pointer(*parts)) for code, parts, _, _ in found]


def _first_failure(name, value, kind, rules, file_path, context="", prefix=""):
    """Raises ImportFailure with the first error of ``value`` in walk order, if any."""
    found = []
    rules(found)
    if not found and name in _SCHEMAS.fast:
        try:
            _SCHEMAS.fast[name](value)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema lists every error, to find the first in walk order
    found += [(code, parts, message, None) for error in _SCHEMAS.validator(name).iter_errors(value)
              for code, parts, message in _failures_of(error)]
    if not found:
        return
    code, parts, message, after = min(found, key=lambda f: _walk_key(
        value, kind, f[3] if f[3] is not None else f[1], f[0], f[3] is not None))
    where = prefix + pointer(*parts)
    raise ImportFailure(f"{file_path}: {where or '(root)'}: {message}{context}", code, where)


def validate_document(doc, file_path, task_id=None, prefix=""):
    """Structural check of an annotation document v1 (docs/SCHEMA.md sections 3-8).

    Raises ImportFailure with the code and JSON pointer of the first error. The task check
    (labels, frame counts) is the client's; ids are unique document-wide.
    """
    _first_failure("annotations", doc, "document", lambda out: _document_rules(doc, out), file_path,
                   f" (task {task_id!r})" if task_id else "", prefix)
    return doc


def validate_patch(body, user, device, schema="patch"):
    """Check a PATCH body; returns (base_revision, user, device, [operation]). Raises ImportFailure.

    ``user`` and ``device`` are what the request says (body, headers or token). Each value is
    checked as a whole Object or Track with its own ids unique (``schema`` "patch"), or as a whole
    issue, comment or decision (``schema`` "review": PATCH /api/tasks/{id}/review).
    """
    def rules(out):
        if not isinstance(body, dict):
            return
        for key, value in (("user", user), ("device", device)):
            if value is None:
                out.append(("missing_key", (key,), f"missing {key!r} (in the body or the "
                                                   f"X-Polymark-{key.title()} header)", None))
            elif not isinstance(value, str) or not value:
                out.append(("expected_string", (key,), "expected a non-empty string", None))
            elif len(value) > 128:
                out.append(("out_of_range", (key,), f"{key} is longer than 128 characters", None))
        op_ids = set()
        for i, op in enumerate(body.get("operations") if isinstance(body.get("operations"), list) else ()):
            if not isinstance(op, dict):
                continue
            parts = ("operations", i)
            if isinstance(op.get("op_id"), str):
                if op["op_id"] in op_ids:
                    out.append(("duplicate_id", parts + ("op_id",),
                                f"op_id {op['op_id']!r} is used twice in this request", None))
                op_ids.add(op["op_id"])
            value = op.get("value")
            kinds = ANNOTATION_KINDS if schema == "patch" else REVIEW_KINDS
            if op.get("op") in ("create", "update") and op.get("kind") in kinds and isinstance(value, dict):
                if schema == "patch":
                    _item_rules(value, parts + ("value",), op["kind"], set(), out)
                elif op["kind"] == "issue":
                    _points_rules(value.get("points"), parts + ("value", "points"), "rectangle", out)
                if value.get("id") != op.get("id"):
                    out.append(("bad_id", parts + ("value", "id"), f"value id {value.get('id')!r} is not "
                                f"the operation's id {op.get('id')!r}", parts + ("value",)))

    _first_failure(schema, body, "patch", rules, "request body")
    operations = []
    for op in body["operations"]:
        entry = {key: op[key] for key in ("op_id", "kind", "op", "id", "value") if key in op}
        if "index" in op:
            entry["index"] = _as_integer(op["index"])
        operations.append(entry)
    return _as_integer(body["base_revision"]), user, device, operations


def _media_spans(task):
    """[(first, end)] frames of each medium of a task, in order, as far as frame counts are known:
    an image is 1 frame; a video without "frames" ends the list (what follows it is not known)."""
    spans, first = [], 0
    for medium in task.get("media") or ():
        count = 1 if isinstance(medium, dict) and medium.get("type") == "image" else \
            medium.get("frames") if isinstance(medium, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            break
        spans.append((first, first + count))
        first += count
    return spans


def task_rule_failures(task, items):
    """What a task refuses in objects and tracks that are otherwise valid (docs/SCHEMA.md section 7):
    a label whose "types" exclude the shape's type (type_not_allowed), a track whose keyframes lie in
    two media (track_crosses_media). ``items`` is [(parts, kind, value)]; returns the first failure
    as (code, pointer, message), or None. Unknown labels are the client's to report."""
    labels = {label.get("id"): label for label in task.get("labels") or () if isinstance(label, dict)}
    spans = _media_spans(task)

    def medium_of(frame):
        for index, (first, end) in enumerate(spans):
            if first <= frame < end:
                return index
        return None

    for parts, kind, value in items:
        if not isinstance(value, dict):
            continue
        label, shape_type = labels.get(value.get("label")), value.get("type")
        types = label.get("types") if label else None
        if isinstance(types, list) and types and shape_type not in types:
            return ("type_not_allowed", pointer(*parts, "type"),
                    f"{kind} {value.get('id')!r}: label {value.get('label')!r} does not allow "
                    f"{shape_type} shapes (it allows {', '.join(map(str, types))})")
        if kind == "track" and isinstance(value.get("keyframes"), list):
            first_medium = None
            for k, keyframe in enumerate(value["keyframes"]):
                frame = _as_integer(keyframe.get("frame")) if isinstance(keyframe, dict) else None
                medium = medium_of(frame) if frame is not None else None
                if medium is None:
                    continue
                if first_medium is None:
                    first_medium = medium
                elif medium != first_medium:
                    return ("track_crosses_media", pointer(*parts, "keyframes", k, "frame"),
                            f"track {value.get('id')!r} (label {value.get('label')!r}): keyframe frame {frame} "
                            f"is in another medium than its first keyframe; a track lives within one video "
                            f"or one image")
    return None


def empty_document():
    return {"format": DOCUMENT_FORMAT, "version": 1, "objects": [], "tracks": []}


def copy_media(files, dest_dir):
    """Copy (source, rel name) pairs below dest_dir; unchanged copies are skipped."""
    for source, rel in files:
        dest = os.path.join(dest_dir, *rel.split("/"))
        st = os.stat(source)
        try:
            dt = os.stat(dest)
            if dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
                continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = dest + ".importing"
        shutil.copy2(source, tmp)
        os.replace(tmp, dest)


_BIG_BODY_GATE = threading.Semaphore(1)  # see Handler.big_body_turn
_IMPORT_LOCK = threading.Lock()  # one import at a time: check, copy media, store


def import_task(store, raw_task, raw_document, where, media_root, replace=True):
    """Validate and store one task; the single import path of --import and POST /api/tasks.

    ``where`` says where things come from: "task_label"/"document_label" (names
    in messages), "task_prefix"/"document_prefix" (JSON pointer prefixes),
    "dir" (where media files are) and "dir_label". Returns (task, outcome),
    outcome as Store.put_task. With ``replace=False`` a task id that exists
    with other content (task JSON or media bytes) is "different" and nothing
    is written. Raises ImportFailure.
    """
    task, files = validate_task(raw_task, where["task_label"], where["dir"],
                                where.get("task_prefix", ""), where.get("dir_label"))
    if raw_document is None:
        document = empty_document()
    else:
        document = validate_document(raw_document, where["document_label"], task["id"],
                                     where.get("document_prefix", ""))
    dest = os.path.join(media_root, task["id"])
    with _IMPORT_LOCK:
        if not replace:
            stored = store.get_task(task["id"])
            if stored is not None:
                same = canonical_json(stored) == canonical_json(task) and all(
                    os.path.isfile(os.path.join(dest, *rel.split("/")))
                    and filecmp.cmp(source, os.path.join(dest, *rel.split("/")), shallow=False)
                    for source, rel in files)
                return task, "unchanged" if same else "different"
        try:
            copy_media(files, dest)
        except OSError as e:
            raise ImportFailure(f"{where['dir_label'] or where['dir']}: copying media for task "
                                f"{task['id']!r} failed: {e}") from e
        return task, store.put_task(task, document, replace)


def import_task_dir(store, task_dir, media_root, log):
    """Import one task directory into the store; raises ImportFailure."""
    task_path = os.path.join(task_dir, "task.json")
    if not os.path.isdir(task_dir):
        raise ImportFailure(f"{task_dir}: not a directory")
    raw_task = load_json_file(task_path)
    doc_path = os.path.join(task_dir, "annotations.json")
    raw_document = load_json_file(doc_path) if os.path.exists(doc_path) else None
    plan = read_guidelines_dir(task_dir)  # checked before anything is written
    task, outcome = import_task(store, raw_task, raw_document,
                                {"task_label": task_path, "document_label": doc_path,
                                 "dir": task_dir, "dir_label": task_dir}, media_root)
    if outcome == "updated":
        log(f"polymark: task {task['id']!r} changed in {task_path}: task replaced, "
            "annotations kept")
    elif outcome == "created":
        log(f"polymark: imported task {task['id']!r} from {task_dir}")
    if plan is not None:
        who = review.Principal(GUIDELINES_IMPORT_AUTHOR, "manager")
        _, version, created = store.put_guidelines(task["id"], plan, who)
        if created:
            log(f"polymark: task {task['id']!r}: guidelines version {version} from {task_dir}")
    return outcome


GUIDELINES_IMPORT_AUTHOR = "serve.py --import"


def read_guidelines_dir(task_dir):
    """A task directory's ``guidelines.md`` and ``guidelines/`` images as a plan for
    server/guidelines.py, or None without ``guidelines.md``; raises ImportFailure naming the file."""
    text_path = os.path.join(task_dir, "guidelines.md")
    if not os.path.exists(text_path):
        return None
    try:
        with open(text_path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ImportFailure(f"{text_path}: cannot be read as UTF-8 text: {e}") from e
    files = []
    folder = os.path.join(task_dir, "guidelines")
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue  # editors' and systems' hidden files
            if not os.path.isfile(path):
                raise ImportFailure(f"{path}: not a file (the guidelines folder holds example images only)")
            with open(path, "rb") as f:
                files.append((name, f.read(guidelines.FILE_BYTES + 1)))
    try:
        return guidelines.plan_import(text.lstrip("\ufeff"), files, text_path)
    except guidelines.Refusal as e:
        raise ImportFailure(str(e), e.code) from None


def import_task_upload(store, body, media_root):
    """POST /api/tasks: {"task", "files": {name: base64}, "annotations"?} -> (task, outcome).

    File names get the same checks as a task's media names before anything
    touches the disk; the files are then staged in a temporary directory and
    imported through import_task like an --import directory.
    """
    ck = _Checker("request body")
    if not isinstance(body, dict):
        ck.fail("", "expected a JSON object", "not_object")
    ck.keys(body, "", ("task", "files", "annotations"))
    raw_task = ck.require(body, "", "task")
    files = ck.object(body.get("files", {}), "/files")
    decoded = []
    for name, data in files.items():
        ptr = pointer("files", name)
        problem = check_relative_file(name)
        if problem:
            ck.fail(ptr, f"unsafe file name {name!r}: {problem}", "bad_file_name")
        try:
            decoded.append((name, base64.b64decode(ck.string(data, ptr), validate=True)))
        except (binascii.Error, ValueError):
            ck.fail(ptr, "not base64 data", "bad_base64")
    staging = tempfile.mkdtemp(prefix="polymark-upload-")
    try:
        for name, data in decoded:
            path = os.path.join(staging, *name.split("/"))
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "xb") as f:
                    f.write(data)
            except OSError as e:
                ck.fail(pointer("files", name), f"cannot store file {name!r}: {e.strerror}",
                        "bad_file_name")
        return import_task(store, raw_task, body.get("annotations"),
                           {"task_label": "request body", "task_prefix": "/task",
                            "document_label": "request body", "document_prefix": "/annotations",
                            "dir": staging, "dir_label": "the request's files"},
                           media_root, replace=False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------- files

def is_within(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def split_request_path(raw_path):
    """Percent-decoded path segments of a request target (query dropped).

    Raises BadPath for NUL bytes, invalid UTF-8, '..' and encoded slashes.
    Empty and '.' segments are dropped.
    """
    if not raw_path.startswith("/"):
        raw_path = urllib.parse.urlsplit(raw_path).path  # absolute-form request target
        if not raw_path.startswith("/"):
            raise BadPath("request target is not a path")
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    segments = []
    for raw in path.split("/"):
        try:
            seg = urllib.parse.unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadPath("path is not UTF-8") from e
        if "\x00" in seg:
            raise BadPath("NUL byte in path")
        if "/" in seg or "\\" in seg:
            raise BadPath("encoded slash in path")
        if seg == "..":
            raise BadPath("'..' in path")
        if seg not in ("", "."):
            segments.append(seg)
    return segments


def resolve_file(root, segments):
    """Real path of segments under root, or None if absent, hidden or escaping."""
    if root is None or any(s.startswith(".") for s in segments):
        return None
    candidate = os.path.realpath(os.path.join(root, *segments))
    if not is_within(candidate, root):
        return None
    return candidate


# [SECTION] What uploaded media is: decided by its bytes, never by its name
MEDIA_SNIFF_BYTES = 64
MEDIA_CSP = "default-src 'none'; sandbox"
MEDIA_FORMATS = "PNG, JPEG, WebP, AVIF, GIF, MP4 or WebM"
_IMAGE_BRANDS = {b"avif": "AVIF", b"avis": "AVIF"}
_UNSUPPORTED_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
                       b"crx ", b"jp2 ", b"jpx "}


def sniff_media(head):
    """(kind, format name, MIME type) of a media file from its first bytes, or None.

    Only formats a browser decodes as pixels are known: a file that could be a document (HTML,
    SVG, XML, PDF, script) is not media, whatever its name says.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "PNG", "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "JPEG", "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "GIF", "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "WebP", "image/webp"
    if head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        if size < 16 or size % 4:
            return None
        brands = [head[i:i + 4] for i in range(8, min(size, len(head)), 4) if i != 12]
        if any(b in _IMAGE_BRANDS for b in brands):
            return "image", "AVIF", "image/avif"
        if any(b in _UNSUPPORTED_BRANDS for b in brands[:1]):
            return None
        return "video", "MP4", "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        doc_type = head.find(b"\x42\x82")  # the EBML DocType element, then its size and text
        if doc_type > 0 and b"webm" in head[doc_type + 2:doc_type + 12]:
            return "video", "WebM", "video/webm"
    return None


def describe_non_media(head):
    """A few words on what a refused file looks like, for the error message."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for marker, what in ((b"<!doctype html", "HTML"), (b"<html", "HTML"), (b"<svg", "SVG"),
                         (b"<?xml", "XML"), (b"%pdf", "PDF"), (b"<", "markup")):
        if text.startswith(marker):
            return what
    if not head:
        return "an empty file"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "Matroska, not WebM"
    if head[4:8] == b"ftyp":
        return "HEIF/HEIC or another ISO media file that browsers do not show"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "text"
    return "an unknown format"


def check_media_file(path, expected_kind):
    """None when the file at path is an image (or video) browsers show, else why not."""
    try:
        with open(path, "rb") as f:
            head = f.read(MEDIA_SNIFF_BYTES)
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    found = sniff_media(head)
    if found is None:
        return f"is not {MEDIA_FORMATS} (its bytes look like {describe_non_media(head)})"
    kind, name, _ = found
    if kind != expected_kind:
        return f"is {'an' if kind == 'image' else 'a'} {kind} ({name}), not {'an' if expected_kind == 'image' else 'a'} {expected_kind}"
    return None


def media_headers(f):
    """Headers of a file under /media/: its type from its bytes (never a document type), and a
    sandbox so that even a file a browser is tricked into opening runs no script on our origin."""
    head = f.read(MEDIA_SNIFF_BYTES)
    f.seek(0)
    found = sniff_media(head)
    headers = {"Content-Type": found[2] if found else "application/octet-stream",
               "Content-Security-Policy": MEDIA_CSP}
    if not found:
        headers["Content-Disposition"] = "attachment"
    return headers


def content_type(path):
    return MIME_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


def shown_text(value, limit=40):
    """A request value quoted for an error message: cut short, lone surrogates escaped."""
    return repr(value[:limit] + ("..." if len(value) > limit else ""))


def range_number(digits, size):
    """A Range bound as an int; bounds of more than 19 digits are past any file, so they read as ``size``."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else size


def parse_range(header, size):
    """Single byte range: (start, end) inclusive, "unsatisfiable", or None (ignore).

    As RFC 9110 allows, a Range that is not one well-formed byte range is ignored (the whole
    file, 200), never an error; only ASCII digits count (``str.isdigit`` takes "²").
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None  # malformed or several ranges: serve the whole file
    first, last = m.group(1), m.group(2)
    if first == "":
        n = range_number(last, size)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = range_number(first, size)
    end = size - 1 if last == "" else range_number(last, size)
    if last != "" and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def accepts_gzip(header):
    """Whether an Accept-Encoding header allows gzip (q > 0)."""
    if not header:
        return False
    qualities = {}
    for part in header.split(","):
        fields = part.strip().split(";")
        coding = fields[0].strip().lower()
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding:
            qualities[coding] = q
    if "gzip" in qualities:
        return qualities["gzip"] > 0
    return qualities.get("*", 0) > 0


def precompressed(path, raw):
    """The bytes of PATH.gz when the build wrote one (tools/precompress.py: zopfli, 5 % smaller
    than zlib's level 9) and it holds exactly RAW, PATH's bytes now; None otherwise."""
    try:
        with open(path + ".gz", "rb") as g:
            if not stat.S_ISREG(os.fstat(g.fileno()).st_mode):
                return None
            body = g.read(GZIP_MAX_FILE + 1)
        return body if gzip.decompress(body) == raw else None
    except (OSError, EOFError, zlib.error):
        return None


class GzipCache:
    """Compressed file bodies keyed by (path, mtime, size), bounded in total size. Each version is
    compressed once, so at the highest level."""

    def __init__(self, limit=GZIP_CACHE_BYTES):
        self.limit = limit
        self.entries = collections.OrderedDict()  # path -> ((mtime_ns, size), bytes)
        self.total = 0
        self.lock = threading.Lock()

    def get(self, path, st, read, precompress=False):
        key = (st.st_mtime_ns, st.st_size)
        with self.lock:  # held while compressing: each version is compressed once
            hit = self.entries.get(path)
            if hit and hit[0] == key:
                self.entries.move_to_end(path)
                return hit[1]
            raw = read()
            body = (precompress and precompressed(path, raw)) or gzip.compress(raw, compresslevel=9, mtime=0)
            if hit:
                self.total -= len(hit[1])
                del self.entries[path]
            self.entries[path] = (key, body)
            self.total += len(body)
            while self.total > self.limit and len(self.entries) > 1:
                _, (_, old) = self.entries.popitem(last=False)
                self.total -= len(old)
            return body


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
        return self.serve_file(self.server.web_root, segments, "no-cache", index=True)

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
        if len(parts) >= 2 and not sets.is_route_task_id(parts[1], TASK_ID_RE):
            return self.task_not_found(parts[1])
        try:
            with self.big_body_turn():
                if len(parts) >= 2:
                    self.refuse_hidden_task(parts[1])
                handler(store, parts)
        except RequestError as e:
            self.send_json(e.status, e.body(), e.headers)
        except sqlite3.Error as e:
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

    def read_json_body(self):
        length = self.content_length()
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise RequestError(400, "bad_request", "the request body ended early")
        self.close_connection = self.client_wants_close  # the body is read: keep-alive is safe
        self.body_unread = False
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
        if not isinstance(body, dict) or not body or set(body) - {"stage", "from", "assignee", "reviewer"}:
            raise RequestError(400, "invalid", "request body: expected {stage?, from?, assignee?, reviewer?} "
                                               "with at least one of them", path="")
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
            self.send_header("Access-Control-Expose-Headers", "ETag, Location, WWW-Authenticate")
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
        use_gzip = (compressible and range_header is None and st.st_size <= GZIP_MAX_FILE
                    and accepts_gzip(self.headers.get("Accept-Encoding")))
        etag = f'"{tag}-gz"' if use_gzip else f'"{tag}"'
        headers = {"ETag": etag,
                   "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
                   "Cache-Control": cache_control,
                   "Accept-Ranges": "bytes"}
        if compressible:
            headers["Vary"] = "Accept-Encoding"
        if self.not_modified(st, [f'"{tag}"', f'"{tag}-gz"']):
            return self.send_not_modified(headers)
        headers["Content-Type"] = content_type(path)
        headers["X-Content-Type-Options"] = "nosniff"
        if media:
            headers.update(media_headers(f))
        if use_gzip:
            body = self.server.gzip_cache.get(path, st, f.read, precompress=not media)
            headers["Content-Encoding"] = "gzip"
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


# [SECTION] Connections: backlog, cap, time-outs, polite refusal

LISTEN_BACKLOG = 1024          # connections the kernel queues before accept (Python's default is 5)
DEFAULT_MAX_CONNECTIONS = 512  # open connections, each with its thread (--max-connections)
DEFAULT_IDLE_TIMEOUT = 15      # seconds a connection may wait for its next request (--idle-timeout)
DEFAULT_REQUEST_TIMEOUT = 30   # seconds to receive one request's headers and body (--request-timeout) ...
MIN_REQUEST_RATE = 1024        # ... plus one second per this many bytes received, for slow links
BUSY_RETRY_AFTER = 2           # seconds, in the Retry-After of a 503 when every connection is taken
REFUSED_LINGER = 1.0           # seconds a refused socket stays half-open so the client reads its 503
MAX_LINGERING = 256            # refused sockets kept half-open at once; beyond, the oldest is closed
FDS_PER_CONNECTION = 4         # its socket, and SQLite's database, -wal and -shm files while it works
FD_RESERVE = 64                # descriptors kept for the listener, imports, media files, logs
ACCEPT_BACKOFF = 0.1           # seconds to pause accepting when the process is out of descriptors
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

ConnectionLimits = collections.namedtuple(
    "ConnectionLimits", "max_connections idle_timeout request_timeout",
    defaults=(DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT))


def descriptor_limit():
    """The soft RLIMIT_NOFILE, or None where it is unknown or unlimited."""
    try:
        import resource
    except ImportError:  # not on every platform
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_descriptor_limit(max_connections):
    """Raise the soft descriptor limit toward what max_connections needs (up to the hard limit)."""
    try:
        import resource
    except ImportError:
        return
    wanted = FD_RESERVE + FDS_PER_CONNECTION * max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # connection_cap() then fits the cap to the limit that is


def connection_cap(max_connections):
    """max_connections, lowered so that every connection at work still finds its descriptors."""
    limit = descriptor_limit()
    if limit is None:
        return max_connections
    return max(1, min(max_connections, (limit - FD_RESERVE) // FDS_PER_CONNECTION))


def busy_reply(cap):
    body = compact_json({"error": {
        "code": "busy", "retry_after": BUSY_RETRY_AFTER,
        "message": f"the server holds its limit of {cap} connections; retry after {BUSY_RETRY_AFTER} s"}})
    body = body.encode("utf-8")
    head = (f"HTTP/1.1 503 Service Unavailable\r\nServer: polymark\r\n"
            f"Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n"
            f"Retry-After: {BUSY_RETRY_AFTER}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


def discard_input(sock):
    """Read and drop what the peer has sent so far on a non-blocking socket (unread input makes
    close send a reset, which can destroy the reply before the client reads it)."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


class RequestClock(socket.SocketIO):
    """The read side of one connection, with its two time-outs.

    Between requests a read may wait idle_timeout. Once the first byte of a request
    arrives, the whole request (headers and body) must arrive within request_timeout,
    plus one second per MIN_REQUEST_RATE bytes received: a trickling client (slowloris)
    is dropped, a big upload over a slow link is not. Writes keep request_timeout.
    """

    def __init__(self, sock, idle_timeout, request_timeout):
        super().__init__(sock, "rb")
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.await_next_request()

    def await_next_request(self):
        self.started = None
        self.received = 0

    def readinto(self, buffer):
        if self.started is None:
            wait = self.idle_timeout
        else:
            wait = self.started + self.request_timeout + self.received / MIN_REQUEST_RATE - time.monotonic()
            if wait <= 0:
                raise TimeoutError("the request arrived too slowly")
        self._sock.settimeout(wait)
        try:
            n = super().readinto(buffer)
        finally:
            self._sock.settimeout(self.request_timeout)
        if n:
            if self.started is None:
                self.started = time.monotonic()
            self.received += n
        return n


class Server(ThreadingHTTPServer):
    """One thread per connection, at most limits.max_connections of them (fewer when the
    descriptor limit is low); the connections beyond get 503 with Retry-After at once, from
    the accepting thread, and are closed."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, store, web_root, media_root, quiet, tokens=None, max_body=DEFAULT_MAX_BODY,
                 cors_origins=(), tls_context=None, limits=ConnectionLimits()):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.limits = limits
        self.max_connections = connection_cap(limits.max_connections)
        self._free_slots = threading.BoundedSemaphore(self.max_connections)
        self._slots_lock = threading.Lock()
        self._holding = set()  # id() of the connections that hold a slot
        self._busy_reply = busy_reply(self.max_connections)
        self._refused = collections.deque()  # (close at, socket): half-open until their 503 is read
        super().__init__(address, Handler)
        self.store = store
        self.web_root = web_root
        self.media_root = media_root
        self.media_root_path = media_root
        self.quiet = quiet
        self.gzip_cache = GzipCache()
        # [(sha256 of a token, user or None)]: only digests are kept, compared in constant time
        self.tokens = [(hashlib.sha256(t.encode("utf-8")).digest(), u, r) for t, (u, r) in (tokens or {}).items()]
        self.max_body = max_body
        self.cors_origins = frozenset(cors_origins)
        self.tls_context = tls_context

    def get_request(self):
        try:
            return super().get_request()
        except OSError as e:
            if e.errno in FD_EXHAUSTED:
                # The listener stays readable: retrying at once would spin a core and serve nobody.
                time.sleep(ACCEPT_BACKOFF)
            raise

    def process_request(self, request, client_address):
        if not self._free_slots.acquire(blocking=False):
            return self.refuse_busy(request)
        try:
            if self.tls_context is not None:
                # The handshake runs in the request's thread (Handler.setup), never in the accept loop.
                request = self.tls_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except BaseException:
            self._free_slots.release()
            raise
        with self._slots_lock:
            self._holding.add(id(request))
        try:
            super().process_request(request, client_address)
        except BaseException:
            # The thread may have started, and even ended, before this (a signal): free the slot once.
            self.release_slot(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.release_slot(request)

    def release_slot(self, request):
        """Free the connection slot of request once, whoever gets here first."""
        with self._slots_lock:
            if id(request) not in self._holding:
                return
            self._holding.discard(id(request))
        self._free_slots.release()

    def refuse_busy(self, sock):
        """503 + Retry-After without a thread: one non-blocking send, then half-close."""
        if self.tls_context is not None:  # no handshake in the accept loop, so nothing polite to say
            return self.shutdown_request(sock)
        try:
            sock.setblocking(False)
            discard_input(sock)
            sock.send(self._busy_reply)  # small: fits an empty send buffer
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return sock.close()
        self._refused.append((time.monotonic() + REFUSED_LINGER, sock))
        while len(self._refused) > MAX_LINGERING:
            self.close_refused(self._refused.popleft()[1])

    @staticmethod
    def close_refused(sock):
        discard_input(sock)
        sock.close()

    def service_actions(self):
        super().service_actions()
        now = time.monotonic()
        while self._refused and self._refused[0][0] <= now:
            self.close_refused(self._refused.popleft()[1])

    def server_close(self):
        super().server_close()
        while self._refused:
            self.close_refused(self._refused.popleft()[1])

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, DISCONNECT_ERRORS + (ssl.SSLError,)):  # incl. failed TLS handshakes
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description="Polymark backend (HTTP + SQLite). Routes and options: the top "
                                            "of serve.py; the sync protocol: docs/SCHEMA.md section 11.")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (default 8080)")
    p.add_argument("--db", default="./polymark.sqlite", help="SQLite file (default ./polymark.sqlite)")
    p.add_argument("--web", default="./build-web/dist", help="static client files (default ./build-web/dist)")
    p.add_argument("--media-root", help="where media files live (default: <db dir>/media)")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="DIR",
                   help="import a task directory (task.json + media); may repeat")
    p.add_argument("--quiet", action="store_true", help="no access log on stderr")
    p.add_argument("--token", action="append", default=[], metavar="TOKEN",
                   help="require 'Authorization: Bearer TOKEN' on /api (may repeat; visible in the "
                        "process list, so prefer --tokens-file)")
    p.add_argument("--tokens-file", metavar="FILE",
                   help='JSON {"token": "user name" or null}: accepted tokens and whom they name')
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help=f"largest request body; bigger ones get 413 unread (default {DEFAULT_MAX_BODY})")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow cross-origin requests from ORIGIN, e.g. https://portal.example "
                        "(may repeat; default: no CORS)")
    p.add_argument("--tls-cert", metavar="FILE", help="serve https with this PEM certificate (chain)")
    p.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    p.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS, metavar="N",
                   help="open connections (one thread each); more get 503 with Retry-After "
                        f"(default {DEFAULT_MAX_CONNECTIONS}, lowered to fit the descriptor limit)")
    p.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                   help=f"close a connection that sends no request for this long (default {DEFAULT_IDLE_TIMEOUT})")
    p.add_argument("--request-timeout", type=float, default=DEFAULT_REQUEST_TIMEOUT, metavar="SECONDS",
                   help="drop a request whose headers and body take longer than this, plus 1 s per "
                        f"{MIN_REQUEST_RATE} bytes received (default {DEFAULT_REQUEST_TIMEOUT})")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.max_body < 1:
        p.error("--max-body must be positive")
    if args.max_connections < 1:
        p.error("--max-connections must be positive")
    if not (0 < args.idle_timeout < math.inf and 0 < args.request_timeout < math.inf):
        p.error("--idle-timeout and --request-timeout must be positive numbers of seconds")
    return args


def load_tokens(args):
    """{token: (user or None, role)} from --token and --tokens-file; raises ImportFailure (never
    shows a token). A token of --token, or one whose entry is a user name or null, is a manager's."""
    tokens = {t: (None, "manager") for t in args.token}
    if args.tokens_file:
        value = load_json_file(args.tokens_file)
        if not isinstance(value, dict):
            raise ImportFailure(f"{args.tokens_file}: expected a JSON object {{token: user}}")
        for i, (token, entry) in enumerate(value.items()):
            where = f"{args.tokens_file}: entry {i + 1}"
            if isinstance(entry, dict):
                if set(entry) - {"user", "role"} or entry.get("role") not in review.ROLES \
                        or not isinstance(entry.get("user"), str) or not entry["user"]:
                    raise ImportFailure(f"{where}: expected {{\"user\": name, \"role\": one of "
                                        f"{', '.join(review.ROLES)}}}")
                user, role = entry["user"], entry["role"]
            elif entry is None or isinstance(entry, str):
                user, role = entry or None, "manager"
            else:
                raise ImportFailure(f"{where}: a token's entry is a user name, null or {{\"user\", \"role\"}}")
            if not token:
                raise ImportFailure(f"{where}: a token must be a non-empty string")
            tokens[token] = (user, role)
    if any(not t or t != t.strip() for t in tokens):
        raise ImportFailure("a token must be non-empty and carry no surrounding spaces")
    return tokens


def tls_context(args):
    if not args.tls_cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as e:
        raise ImportFailure(f"cannot load --tls-cert/--tls-key: {e}") from e
    return context


def real_root(path):
    return os.path.realpath(path) if os.path.isdir(path) else None


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)

    def log(message):
        print(message, file=sys.stderr, flush=True)

    db_path = os.path.abspath(args.db)
    media_root = os.path.abspath(args.media_root or os.path.join(os.path.dirname(db_path), "media"))
    try:
        os.makedirs(os.path.dirname(db_path), exist_ok=True)
        os.makedirs(media_root, exist_ok=True)
        tokens = load_tokens(args)
        context = tls_context(args)
        store = Store(db_path)
        for task_dir in args.imports:
            import_task_dir(store, os.path.abspath(task_dir), media_root, log)
    except (ImportFailure, StoreError) as e:
        log(f"polymark: error: {e}")
        return 2
    except OSError as e:
        log(f"polymark: error: {e}")
        return 1

    raise_descriptor_limit(args.max_connections)
    limits = ConnectionLimits(args.max_connections, args.idle_timeout, args.request_timeout)
    web_root = real_root(args.web)
    if web_root is None:
        log(f"polymark: warning: web directory {args.web} does not exist; only the API and media are served")
    try:
        server = Server((args.bind, args.port), store, web_root, real_root(media_root), args.quiet,
                        tokens, args.max_body, args.cors_origin, context, limits)
    except OSError as e:
        log(f"polymark: error: cannot listen on {args.bind}:{args.port}: {e.strerror}")
        return 1
    if server.max_connections < args.max_connections:
        log(f"polymark: warning: at most {server.max_connections} connections, not {args.max_connections}: "
            f"the descriptor limit is {descriptor_limit()}")
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if context else "http"
    print(f"polymark: serving {scheme}://{shown}:{port}/", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
