#!/usr/bin/env python3
"""Polymark backend: a small HTTP server with a SQLite store (standard library only).

Usage:
    serve.py [--bind 127.0.0.1] [--port 8080] [--db ./polymark.sqlite]
             [--web ./build-web/dist] [--media-root <db dir>/media]
             [--import DIR ...] [--quiet]

On start it imports every --import DIR, then prints exactly one line to stdout,
``polymark: serving http://HOST:PORT/``, and serves until interrupted.
``--port 0`` picks a free port (the printed line carries the real one).

Routes (GET and HEAD; any other method on a known route is 405 with ``Allow``):
    /api/tasks                    {"tasks":[{"id","name","media_count","frames"}]}
    /api/tasks/{id}               the stored task v1 JSON (media urls -> /media/...)
    /api/tasks/{id}/annotations   {"revision": n, "document": {...}}, ETag "rev-n"
    /api/...                      anything else: 404
    /media/...                    files under --media-root (Cache-Control: max-age=3600)
    /...                          static client files under --web (Cache-Control:
                                  no-cache); "/" and directories serve index.html

API replies are JSON (``application/json; charset=utf-8``, ``Cache-Control:
no-store``); errors are ``{"error":{"code":..., "message":...}}``.

Files are served with explicit MIME types, ``ETag``/``Last-Modified`` (304 on
``If-None-Match``/``If-Modified-Since``), single HTTP ranges (206/416,
``Accept-Ranges: bytes``) and gzip for compressible types when the client
accepts it and the request is not ranged (compressed once, cached in memory).
Paths are percent-decoded, then refused when they hold NUL bytes (400), ``..``
or encoded slashes (400), or resolve (through symlinks) outside their root.

Import directory (``--import DIR``): ``DIR/task.json`` is a task v1 whose media
name a ``file`` inside DIR instead of a ``url``; optional
``DIR/annotations.json`` is the initial annotation document v1. Media files are
copied to ``<media-root>/<task id>/``. Re-importing an unchanged task changes
nothing; a changed task replaces the stored task but keeps its annotations.
Import errors name the file and a JSON pointer and exit with status 2.
"""

import argparse
import collections
import email.utils
import gzip
import json
import os
import posixpath
import re
import shutil
import signal
import socket
import sqlite3
import stat
import sys
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCHEMA_VERSION = 1
TASK_FORMAT = "polymark.task"
DOCUMENT_FORMAT = "polymark.annotations"
TASK_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
TASK_KEYS = ("format", "version", "id", "name", "media", "labels", "settings", "meta")
MEDIA_KEYS = ("id", "type", "file", "name", "width", "height", "frames", "fps")
DOCUMENT_KEYS = ("format", "version", "objects", "tracks", "meta")

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
DISCONNECT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                     socket.timeout)


# --------------------------------------------------------------------------- errors

class ImportFailure(Exception):
    """A task directory could not be imported (reported with exit status 2)."""


class StoreError(Exception):
    """The database cannot be used (e.g. written by a newer serve.py)."""


class BadPath(Exception):
    """A request path that is malformed (400) rather than merely absent (404)."""


# --------------------------------------------------------------------------- store

class Store:
    """SQLite storage of tasks and their current annotation document.

    Every call opens its own connection, so a Store is safe to share between
    request threads; writes run in ``BEGIN IMMEDIATE`` transactions.
    """

    def __init__(self, path):
        self.path = path
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
            if version < 1:
                conn.execute("BEGIN IMMEDIATE")
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
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: {e}") from e
        finally:
            conn.close()

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
        """(revision, document dict) or None when the task is unknown."""
        conn = self._connect()
        try:
            row = conn.execute("SELECT revision, document FROM annotations WHERE task_id = ?",
                               (task_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else (row[0], json.loads(row[1]))

    def put_task(self, task, initial_document):
        """Store a task. Returns "created", "unchanged" or "updated".

        A new task gets ``initial_document`` at revision 0; an existing task
        keeps its annotations whatever happens to the task itself.
        """
        text = canonical_json(task)
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT task FROM tasks WHERE id = ?", (task["id"],)).fetchone()
            if row is not None and canonical_json(json.loads(row[0])) == text:
                outcome = "unchanged"
            elif row is not None:
                conn.execute("UPDATE tasks SET name = ?, task = ?, "
                             "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?",
                             (task["name"], text, task["id"]))
                outcome = "updated"
            else:
                conn.execute("INSERT INTO tasks (id, name, task) VALUES (?, ?, ?)",
                             (task["id"], task["name"], text))
                outcome = "created"
            if outcome == "created" or conn.execute(
                    "SELECT 1 FROM annotations WHERE task_id = ?", (task["id"],)).fetchone() is None:
                conn.execute("INSERT INTO annotations (task_id, revision, document) VALUES (?, 0, ?)",
                             (task["id"], canonical_json(initial_document)))
            conn.execute("COMMIT")
            return outcome
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def save_annotations(self, task_id, document, base_revision):
        """Replace the document if the stored revision is ``base_revision``.

        Returns the new revision, or None on a revision conflict or unknown task.
        """
        conn = self._connect()
        try:
            cur = conn.execute(
                "UPDATE annotations SET revision = revision + 1, document = ?, "
                "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
                "WHERE task_id = ? AND revision = ?",
                (canonical_json(document), task_id, base_revision))
            return base_revision + 1 if cur.rowcount == 1 else None
        finally:
            conn.close()


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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

def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def load_json_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImportFailure(f"{path}: cannot read: {e.strerror}") from e
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as e:
        raise ImportFailure(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except ValueError as e:
        raise ImportFailure(f"{path}: not valid JSON: {e}") from e


def pointer(*parts):
    """RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Checker:
    """Collects the first structural error of one JSON file as ImportFailure."""

    def __init__(self, file_path, context=""):
        self.file_path = file_path
        self.context = context

    def fail(self, ptr, message):
        where = ptr or "(root)"
        raise ImportFailure(f"{self.file_path}: {where}: {message}{self.context}")

    def object(self, value, ptr):
        if not isinstance(value, dict):
            self.fail(ptr, "expected a JSON object")
        return value

    def keys(self, obj, ptr, allowed, hint=None):
        for key in obj:
            if key not in allowed:
                extra = (hint or {}).get(key, "")
                self.fail(ptr + pointer(key), f"unknown key {key!r}{extra}")

    def require(self, obj, ptr, key):
        if key not in obj:
            self.fail(ptr + pointer(key), f"missing required key {key!r}")
        return obj[key]

    def string(self, value, ptr):
        if not isinstance(value, str):
            self.fail(ptr, "expected a string")
        return value

    def integer(self, value, ptr, minimum=None):
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(ptr, "expected an integer")
        if minimum is not None and value < minimum:
            self.fail(ptr, f"must be {minimum} or more")
        return value

    def number(self, value, ptr):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.fail(ptr, "expected a number")
        return value

    def array(self, value, ptr):
        if not isinstance(value, list):
            self.fail(ptr, "expected an array")
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
    ck.object(value, "")
    fmt = ck.string(ck.require(value, "", "format"), "/format")
    if fmt != expected_format:
        ck.fail("/format", f"must be {expected_format!r}, not {fmt!r}")
    version = ck.integer(ck.require(value, "", "version"), "/version")
    if version != 1:
        ck.fail("/version", f"{what} version {version} is not supported (this serve.py reads version 1)")
    ck.keys(value, "", allowed_keys)


def validate_task(task, file_path, task_dir):
    """Check an import task.json; returns (task for the store, [(source, rel name)])."""
    ck = _Checker(file_path)
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
        entry, source, rel = validate_media(ck, item, pointer("media", i), task_id, task_dir, seen)
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


def validate_media(ck, item, ptr, task_id, task_dir, seen_ids):
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
        ck.fail(ptr + "/file", f"unsafe file name {rel!r}: {problem}")
    source = os.path.join(task_dir, *rel.split("/"))
    real_dir = os.path.realpath(task_dir)
    if not is_within(os.path.realpath(source), real_dir):
        ck.fail(ptr + "/file", f"file {rel!r} resolves outside the task directory")
    if not os.path.isfile(source):
        ck.fail(ptr + "/file", f"file {rel!r} does not exist in {task_dir}")
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


def validate_document(doc, file_path, task_id):
    """Top-level structural check of an annotations.json (document v1)."""
    ck = _Checker(file_path, f" (task {task_id!r})")
    check_header(ck, doc, DOCUMENT_FORMAT, "document", DOCUMENT_KEYS)
    for key in ("objects", "tracks"):
        for i, item in enumerate(ck.array(doc.get(key, []), "/" + key)):
            ck.object(item, pointer(key, i))
    if "meta" in doc:
        ck.object(doc["meta"], "/meta")
    return doc


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


def import_task_dir(store, task_dir, media_root, log):
    """Import one task directory into the store; raises ImportFailure."""
    task_path = os.path.join(task_dir, "task.json")
    if not os.path.isdir(task_dir):
        raise ImportFailure(f"{task_dir}: not a directory")
    task, files = validate_task(load_json_file(task_path), task_path, task_dir)
    doc_path = os.path.join(task_dir, "annotations.json")
    if os.path.exists(doc_path):
        document = validate_document(load_json_file(doc_path), doc_path, task["id"])
    else:
        document = empty_document()
    try:
        copy_media(files, os.path.join(media_root, task["id"]))
    except OSError as e:
        raise ImportFailure(f"{task_dir}: copying media for task {task['id']!r} failed: {e}") from e
    outcome = store.put_task(task, document)
    if outcome == "updated":
        log(f"polymark: task {task['id']!r} changed in {task_path}: task replaced, "
            "annotations kept")
    elif outcome == "created":
        log(f"polymark: imported task {task['id']!r} from {task_dir}")
    return outcome


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


def content_type(path):
    return MIME_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


def parse_range(header, size):
    """Single byte range: (start, end) inclusive, "unsatisfiable", or None (ignore)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None  # malformed or several ranges: serve the whole file
    first, last = m.group(1), m.group(2)
    if first == "":
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else int(last)
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


class GzipCache:
    """Compressed file bodies keyed by (path, mtime, size), bounded in total size."""

    def __init__(self, limit=GZIP_CACHE_BYTES):
        self.limit = limit
        self.entries = collections.OrderedDict()  # path -> ((mtime_ns, size), bytes)
        self.total = 0
        self.lock = threading.Lock()

    def get(self, path, st, read):
        key = (st.st_mtime_ns, st.st_size)
        with self.lock:  # held while compressing: each version is compressed once
            hit = self.entries.get(path)
            if hit and hit[0] == key:
                self.entries.move_to_end(path)
                return hit[1]
            body = gzip.compress(read(), compresslevel=6, mtime=0)
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
    timeout = 60  # seconds an idle keep-alive connection may hold a thread

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

    def handle(self):
        try:
            super().handle()
        except DISCONNECT_ERRORS:
            self.close_connection = True

    def version_string(self):
        return "polymark"

    def log_message(self, format, *args):  # noqa: A002 (BaseHTTPRequestHandler's name)
        if not self.server.quiet:
            super().log_message(format, *args)

    # ---- routing

    def dispatch(self):
        if self.command not in ("GET", "HEAD"):
            self.close_connection = True  # a request body, if any, is never read
        is_api = self.path == "/api" or self.path.startswith(("/api/", "/api?"))
        try:
            segments = split_request_path(self.path)
        except BadPath as e:
            if is_api:
                return self.send_json_error(400, "bad_request", str(e))
            return self.send_text(400, f"bad request: {e}\n")
        if segments[:1] == ["api"]:
            return self.route_api(segments[1:])
        if self.command not in ("GET", "HEAD"):
            return self.send_text(405, "method not allowed\n", {"Allow": "GET, HEAD"})
        if segments[:1] == ["media"]:
            return self.serve_file(self.server.media_root, segments[1:], "max-age=3600")
        return self.serve_file(self.server.web_root, segments, "no-cache", index=True)

    def route_api(self, parts):
        store = self.server.store
        if parts == ["tasks"]:
            handler = self.api_list_tasks
        elif len(parts) == 2 and parts[0] == "tasks":
            handler = self.api_get_task
        elif len(parts) == 3 and parts[0] == "tasks" and parts[2] == "annotations":
            handler = self.api_get_annotations
        else:
            return self.send_json_error(404, "not_found", f"no API route {self.api_path(parts)}")
        if self.command not in ("GET", "HEAD"):
            return self.send_json_error(405, "method_not_allowed",
                                        f"{self.command} is not allowed on {self.api_path(parts)}",
                                        {"Allow": "GET, HEAD"})
        try:
            handler(store, parts)
        except sqlite3.Error as e:
            self.log_error("database error: %s", e)
            self.send_json_error(500, "internal", "database error")

    @staticmethod
    def api_path(parts):
        return "/api/" + "/".join(urllib.parse.quote(p) for p in parts)

    # ---- API handlers

    def api_list_tasks(self, store, parts):
        tasks = [task_summary(task) for _, task in store.list_tasks()]
        self.send_json(200, {"tasks": tasks})

    def api_get_task(self, store, parts):
        task = store.get_task(parts[1]) if TASK_ID_RE.fullmatch(parts[1]) else None
        if task is None:
            return self.task_not_found(parts[1])
        self.send_json(200, task)

    def api_get_annotations(self, store, parts):
        found = store.get_annotations(parts[1]) if TASK_ID_RE.fullmatch(parts[1]) else None
        if found is None:
            return self.task_not_found(parts[1])
        revision, document = found
        etag = f'"rev-{revision}"'
        if etag_matches(self.headers.get("If-None-Match"), [etag]):
            return self.send_not_modified({"ETag": etag, "Cache-Control": "no-store"})
        self.send_json(200, {"revision": revision, "document": document}, {"ETag": etag})

    def task_not_found(self, task_id):
        shown = task_id if len(task_id) <= 80 else task_id[:80] + "..."
        self.send_json_error(404, "not_found", f"task {shown!r} not found")

    # ---- responses

    def send_json(self, status, value, headers=None):
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        all_headers = {"Content-Type": "application/json; charset=utf-8",
                       "Cache-Control": "no-store"}
        all_headers.update(headers or {})
        self.send_body(status, body, all_headers)

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

    def serve_file(self, root, segments, cache_control, index=False):
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
            self.send_file(f, path, st, cache_control)

    def redirect_to_directory(self, segments):
        query = self.path.partition("?")[2]
        location = "/" + "".join(urllib.parse.quote(s) + "/" for s in segments)
        location += "?" + query if query else ""
        self.send_body(301, b"", {"Location": location, "Cache-Control": "no-cache"})

    def send_file(self, f, path, st, cache_control):
        ext = os.path.splitext(path)[1].lower()
        compressible = ext in COMPRESSIBLE
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
        if use_gzip:
            body = self.server.gzip_cache.get(path, st, f.read)
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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, store, web_root, media_root, quiet):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.store = store
        self.web_root = web_root
        self.media_root = media_root
        self.quiet = quiet
        self.gzip_cache = GzipCache()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, DISCONNECT_ERRORS):
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description="Polymark backend (HTTP + SQLite).")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (default 8080)")
    p.add_argument("--db", default="./polymark.sqlite", help="SQLite file (default ./polymark.sqlite)")
    p.add_argument("--web", default="./build-web/dist", help="static client files (default ./build-web/dist)")
    p.add_argument("--media-root", help="where media files live (default: <db dir>/media)")
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="DIR",
                   help="import a task directory (task.json + media); may repeat")
    p.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return p.parse_args(argv)


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
        store = Store(db_path)
        for task_dir in args.imports:
            import_task_dir(store, os.path.abspath(task_dir), media_root, log)
    except (ImportFailure, StoreError) as e:
        log(f"polymark: error: {e}")
        return 2
    except OSError as e:
        log(f"polymark: error: {e}")
        return 1

    web_root = real_root(args.web)
    if web_root is None:
        log(f"polymark: warning: web directory {args.web} does not exist; only the API and media are served")
    try:
        server = Server((args.bind, args.port), store, web_root, real_root(media_root), args.quiet)
    except OSError as e:
        log(f"polymark: error: cannot listen on {args.bind}:{args.port}: {e.strerror}")
        return 1
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"polymark: serving http://{shown}:{port}/", flush=True)

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
