#!/usr/bin/python3
"""Polymark backend: a small HTTP server over SQLite or PostgreSQL (standard library, python3-jsonschema).

Usage:
    serve.py [--bind 127.0.0.1] [--port 8080] [--db ./polymark.sqlite | --db postgresql://...]
             [--web ./build-web/dist] [--media-root <db dir>/media]
             [--import DIR ...] [--quiet]
             [--token TOKEN ...] [--tokens-file FILE] [--max-body BYTES]
             [--cors-origin ORIGIN ...] [--tls-cert FILE --tls-key FILE]
             [--max-connections N] [--idle-timeout S] [--request-timeout S]
             [--lease-seconds S] [--golden-rate R]

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
    PATCH /api/tasks/{id}/jobs/{n}      move a job to another stage, assign it, set its
                                        queue "priority" (a manager)
    POST  /api/queue/next               the work queue (docs/SCHEMA.md section 16): {"task"?}
                                        -> {"job": {"task","id","start_frame","stop_frame",
                                        "priority"}, "lease": {"until","seconds"}}, or both
                                        null when no job is free; the same job while its
                                        lease runs; saving renews the lease
    POST  /api/queue/skip               {"task","job","reason"}: give back the job in hand,
                                        never to be handed to this user again (409
                                        not_leased for another job)
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
    --db postgresql://USER@HOST:PORT/DB   keep everything in PostgreSQL: any number of
        serve.py processes, on any machines, may serve the same tasks (see Storage).
    --lease-seconds S / --golden-rate R   the work queue's lease (300 s, renewed by
        every save of the holder) and share of jobs with golden frames (0.1).

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

Storage (server/store.py): schema version 8 keeps one row per object, track and review
item (with the frames it lies on) plus a change log with a fingerprint, role
and stage of each operation (and a deleted item's last value, a prediction's
first value), the jobs with their events (see Store and server/review.py), the
guideline versions with their files (v6) and which tasks are sets derived from
which (v8), the work queue's priorities, leases and skips (v9). ``--db FILE``
is SQLite (version 1 to 8 files are upgraded on start);
``--db postgresql://user@host:port/db`` is PostgreSQL (python3-psycopg),
which any number of serve.py processes may share: everything a request needs is
in the database (docs/SERVER.md, "Stores"). Media live under --media-root
(``./media`` with PostgreSQL), which processes on several machines must share.

The code is the server/ package beside this file; this file parses the options and starts it.
"""

import argparse
import math
import os
import signal
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The package beside this file; the names tests and tools use from serve.py stay importable here.
from server import queue, review  # noqa: E402
from server.connections import (ConnectionLimits, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS,  # noqa: E402
                                DEFAULT_REQUEST_TIMEOUT, MIN_REQUEST_RATE, descriptor_limit,
                                raise_descriptor_limit)
from server.errors import ImportFailure, StoreError  # noqa: E402
from server.http_server import Server  # noqa: E402
from server.imports import import_task_dir  # noqa: E402
from server.review import Principal  # noqa: E402,F401
from server.routes import DEFAULT_MAX_BODY  # noqa: E402
from server.store import open_store  # noqa: E402
from server.validation import (JsonLimitError, _SCHEMAS, document_rule_failures, load_json_file,  # noqa: E402,F401
                               parse_json, validate_document, validate_patch)

Store = open_store  # serve.Store(path or URL): the store serve.py would open, for tests and tools


# --------------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description="Polymark backend (HTTP + SQLite). Routes and options: the top "
                                            "of serve.py; the sync protocol: docs/SCHEMA.md section 11.")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port, 0 for any free one (default 8080)")
    p.add_argument("--db", default="./polymark.sqlite",
                   help="SQLite file (default ./polymark.sqlite), or a postgresql:// URL: any number of serve.py "
                        "processes may serve one PostgreSQL database")
    p.add_argument("--web", default="./build-web/dist", help="static client files (default ./build-web/dist)")
    p.add_argument("--media-root", help="where media files live (default: <db dir>/media; ./media with a "
                                         "postgresql:// --db)")
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
    p.add_argument("--lease-seconds", type=float, default=queue.DEFAULT_LEASE_SECONDS, metavar="SECONDS",
                   help="how long a job the work queue hands out stays the labeler's without a save "
                        f"(default {queue.DEFAULT_LEASE_SECONDS})")
    p.add_argument("--golden-rate", type=float, default=queue.DEFAULT_GOLDEN_RATE, metavar="RATE",
                   help="the share of a labeler's jobs that hold golden frames, when there are such jobs "
                        f"(default {queue.DEFAULT_GOLDEN_RATE})")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.max_body < 1:
        p.error("--max-body must be positive")
    if args.max_connections < 1:
        p.error("--max-connections must be positive")
    if not (0 < args.lease_seconds < math.inf and 0 <= args.golden_rate <= 1):
        p.error("--lease-seconds must be a positive number of seconds and --golden-rate between 0 and 1")
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

    db_url = args.db.startswith(("postgresql://", "postgres://"))
    db = args.db if db_url else os.path.abspath(args.db)
    media_root = os.path.abspath(args.media_root or ("media" if db_url else os.path.join(os.path.dirname(db), "media")))
    try:
        if not db_url:
            os.makedirs(os.path.dirname(db), exist_ok=True)
        os.makedirs(media_root, exist_ok=True)
        tokens = load_tokens(args)
        context = tls_context(args)
        store = open_store(db)
        store.lease_seconds, store.golden_rate = args.lease_seconds, args.golden_rate
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
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
