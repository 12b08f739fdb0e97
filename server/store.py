"""The store: tasks, annotation items, the change log, jobs, guidelines and sets in a database."""

import bisect
import collections
import hashlib
import json
import time

from . import guidelines, queue, review, sets, store_guidelines, store_queue, store_review, store_sets
from .review import ANNOTATION_KINDS, Principal, REVIEW_KINDS
from .validation import ITEM_ID_RE, canonical_json, compact_json, document_header, empty_document

SCHEMA_VERSION = 9


def open_store(db):
    """The store ``--db`` names: a ``postgresql://`` URL, or else the path of a SQLite file."""
    if db.startswith(("postgresql://", "postgres://")):
        from .store_postgres import PostgresStore  # psycopg is needed only then
        return PostgresStore(db)
    from .store_sqlite import SqliteStore
    return SqliteStore(db)


# --------------------------------------------------------------------------- store

class Store:
    """Tasks, their annotation items, the change log, jobs, guidelines and sets in one database.

    The interface every route uses: reads (list_tasks, get_task, get_annotations, changes_since,
    history, the guideline, job and set reads) and writes (put_task, save_annotations,
    apply_operations, put_guidelines, split_jobs, update_job, derive_golden, derive_replicas),
    each one transaction. Two implementations: SqliteStore (server/store_sqlite.py, the default)
    and PostgresStore (server/store_postgres.py); open_store picks one from ``--db``. They share
    this class's SQL and that of store_review, store_guidelines, store_sets and store_queue (the
    rules those apply are in review, guidelines, sets and queue, without SQL), written to run on
    both (``?`` placeholders, ``ON CONFLICT``, ``IS DISTINCT FROM``, ``"user"`` quoted); a
    subclass gives connections, transactions and the schema.

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
    the document. Nothing a request needs lives in the process: any number of
    processes may share one PostgreSQL database. A write that reads a task's
    revision or row first locks it (``FOR_UPDATE``), so writes to one task take
    turns in the database and each sees the one before it; the unique op_id and
    (revision, seq) keys of the change log hold even if that were ever missed.
    """

    FOR_UPDATE = ""  # appended to the first read of a write: the row lock of a dialect that needs one
    lease_seconds = queue.DEFAULT_LEASE_SECONDS  # the work queue's (server/queue.py), set from serve.py's options
    golden_rate = queue.DEFAULT_GOLDEN_RATE
    database_errors = ()  # what a failing database raises (answered 500 "database error")
    refused_errors = ()  # what it raises for a value it cannot keep (answered 400 "unstorable")

    def _lock_revision(self, conn, task_id):
        """(revision,) of a task, its row locked for the rest of the write; None for an unknown task."""
        return conn.execute("SELECT revision FROM annotations WHERE task_id = ?" + self.FOR_UPDATE,
                            (task_id,)).fetchone()

    def _reading(self):
        """A context manager: a connection in a read transaction that sees one consistent state."""
        raise NotImplementedError

    def _write(self, work):
        """Run ``work(conn)`` in one write transaction; it returns (commit?, result)."""
        raise NotImplementedError

    def close(self):
        """Release the connections the store keeps."""

    @staticmethod
    def _insert_items(conn, task_id, document, revision, spans=True):
        """Item rows for a whole document (a new task or a migrated one), in list order; ``spans``
        False for a version 1 SQLite database, whose frame columns come with version 4."""
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
        if spans:
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
        # DO NOTHING: only documents the v1 server took unchecked can repeat an id
        conn.executemany("INSERT INTO keyframe_ids (task_id, id, track_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                         ids)

    # ---- reads

    def list_tasks(self):
        """All tasks as (id, task dict), ordered by id."""
        with self._reading() as conn:
            rows = conn.execute("SELECT id, task FROM tasks ORDER BY id").fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

    def get_task(self, task_id):
        with self._reading() as conn:
            row = conn.execute("SELECT task FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def get_annotations(self, task_id):
        """(revision, document dict) or None when the task is unknown.

        Objects and tracks come in list order (creation order or the create
        "index" hint), read in one transaction so the revision matches them.
        """
        with self._reading() as conn:
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
            rows = conn.execute("SELECT kind, id, value, revision, op_id, \"user\", device, role, at FROM items "
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
        with self._reading() as conn:
            row = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()
            if row is None:
                return None
            result = work(conn)
        return row[0], result

    def history(self, task_id, after, limit, item=None):
        """The change log after revision ``after``, oldest first, or None for an unknown task.

        At most ``limit`` entries, except that the last revision is always
        complete, so the last entry's revision is the ``after`` of the next page.
        ``item`` keeps only the entries of that id. A delete entry carries the
        item's last value as ``was``; the create of a model's prediction carries
        the value it was created with as ``value``.
        """
        columns = "revision, op_id, kind, id, op, \"user\", device, role, stage, at, base_revision, was, seq, value"
        only = " AND id = ?" if item is not None else ""
        extra = (item,) if item is not None else ()
        with self._reading() as conn:
            if conn.execute("SELECT 1 FROM annotations WHERE task_id = ?", (task_id,)).fetchone() is None:
                return None
            rows = conn.execute(f"SELECT {columns} FROM changes WHERE task_id = ? AND revision > ?{only} "
                                "ORDER BY revision, seq LIMIT ?", (task_id, after, *extra, limit)).fetchall()
            if len(rows) == limit:
                rows += conn.execute(f"SELECT {columns} FROM changes WHERE task_id = ? AND revision = ?{only} "
                                     "AND seq > ? ORDER BY seq", (task_id, rows[-1][0], *extra, rows[-1][12])).fetchall()
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

    def put_task(self, task, initial_document, replace=True):
        """Store a task. Returns "created", "unchanged", "updated" or "different".

        A new task gets ``initial_document`` at revision 0; an existing task
        keeps its annotations whatever happens to the task itself. With
        ``replace=False`` a changed task is not stored ("different").
        """
        text = canonical_json(task)

        def work(conn):
            row = conn.execute("SELECT task FROM tasks WHERE id = ?" + self.FOR_UPDATE, (task["id"],)).fetchone()
            if row is not None and canonical_json(json.loads(row[0])) == text:
                return True, "unchanged"
            if row is not None and not replace:
                return False, "different"
            if row is not None:
                conn.execute("UPDATE tasks SET name = ?, task = ?, "
                             "updated_at = ? WHERE id = ?",
                             (task["name"], text, review.now_text(), task["id"]))
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
        store_review.add_default_job(conn, task["id"])

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
        row = self._lock_revision(conn, task_id)
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
        refusal, stages = review.check_writes(store_review.load_jobs(conn, task_id), who, [t for t, _ in writes],
                                               lambda _: None)
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
        conn.execute("UPDATE annotations SET revision = ?, document = ?, updated_at = ? WHERE task_id = ?",
                     (revision, canonical_json(document_header(document)), log.at, task_id))
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
            row = self._lock_revision(conn, task_id)
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
                conn, "SELECT id, kind, value, revision, \"user\", device, position, frame_lo, frame_hi FROM items "
                      "WHERE task_id = ? AND id IN ({})", (task_id,), ids)}
            elsewhere = set(_select_in(
                conn, "SELECT DISTINCT id, kind FROM changes WHERE task_id = ? AND revision > ? "
                      "AND device IS DISTINCT FROM ? AND id IN ({})", (task_id, base_revision, device), ids))
            conflicts = self._conflicts(new, items, elsewhere)
            if conflicts:
                return False, ("conflict", current, conflicts)
            clash = self._id_clash(conn, task_id, new, items, ids, keyframe_ids)
            if clash:
                return False, ("invalid",) + clash
            refusal, stages = review.check_writes(store_review.load_jobs(conn, task_id), who, self._touches(new, items),
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
            conn.executemany("INSERT INTO keyframe_ids (task_id, id, track_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             ((task_id, kf, track_id) for track_id, kfs in touched.items() for kf in kfs))
            conn.execute("UPDATE annotations SET revision = ?, updated_at = ? WHERE task_id = ?",
                         (revision, log.at, task_id))
            if who.user:
                store_queue.renew(conn, task_id, who.user, time.time() + self.lease_seconds)
            return True, ("ok", revision, [p.op_id for p in new], duplicates)
        return self._write(work)

    # ---- guidelines (server/guidelines.py has the rules)

    def get_guidelines(self, task_id, version=None):
        """(current version, the guidelines at ``version`` (None: current) or None) or None for an unknown task."""
        found = self._read(task_id, lambda conn: (store_guidelines.current_version(conn, task_id),
                                                  store_guidelines.read_version(conn, task_id, version)))
        return None if found is None else found[1]

    def guideline_versions(self, task_id):
        found = self._read(task_id, lambda conn: store_guidelines.list_versions(conn, task_id))
        return None if found is None else found[1]

    def guideline_file(self, task_id, version, name):
        """(current version, (MIME type, bytes) or None) or None for an unknown task; version None: current."""
        def work(conn):
            current = store_guidelines.current_version(conn, task_id)
            return current, store_guidelines.read_file(conn, task_id, current if version is None else version, name)
        found = self._read(task_id, work)
        return None if found is None else found[1]

    def put_guidelines(self, task_id, plan, who, base_version=None):
        """Write a new version. ("ok", version, created), ("not_found",) or ("forbidden", message);
        raises guidelines.Refusal for a stale base or a file list that does not fit."""
        def work(conn):
            if conn.execute("SELECT 1 FROM tasks WHERE id = ?" + self.FOR_UPDATE, (task_id,)).fetchone() is None:
                return False, ("not_found",)
            refusal = guidelines.edit_refusal(who.role, task_id)
            if refusal:
                return False, ("forbidden", refusal)
            version, created = store_guidelines.write_version(conn, task_id, plan, who.user, who.role, base_version)
            return created, ("ok", version, created)
        return self._write(work)

    # ---- jobs (server/review.py has the rules)

    def list_jobs(self, task_id):
        """(revision, [job JSON with "open_issues" and "events"]) or None for an unknown task."""
        def work(conn):
            events = store_review.job_events(conn, task_id)
            jobs = []
            for job in store_review.load_jobs(conn, task_id).jobs:
                entry = job.to_json()
                entry["open_issues"] = store_review.open_issue_count(conn, task_id, job)
                entry["events"] = events.get(job.id, [])
                jobs.append(entry)
            return jobs
        return self._read(task_id, work)

    def split_jobs(self, task_id, ranges, who):
        """Replace a task's jobs. ("ok", [job]), ("not_found",) or ("busy", message) when a job
        has left annotation (its review would lose its frames), ("forbidden", message)."""
        def work(conn):
            row = self._lock_revision(conn, task_id)
            if row is None:
                return False, ("not_found",)
            if who.role != "manager":
                return False, ("forbidden", f"{review.with_article(who.role)} may not split a task into jobs; a manager may")
            moved = [j for j in store_review.load_jobs(conn, task_id).jobs if j.stage != "annotation"]
            if moved:
                return False, ("busy", f"job {moved[0].id} is in stage {moved[0].stage}: a task is split into "
                                       "jobs only while every job is in annotation")
            jobs = store_review.replace_jobs(conn, task_id, ranges, who, row[0])
            return True, ("ok", [j.to_json() for j in jobs.jobs])
        return self._write(work)

    def update_job(self, task_id, job_id, change, who):
        """Move a job to another stage and/or (re)assign it; ``change`` is the checked request body.

        Returns ("ok", job JSON), ("not_found", what), ("forbidden", message) or ("refused", code,
        message) for a stage that moved meanwhile (``from``), open issues at acceptance or none
        on a return.
        """
        def work(conn):
            row = self._lock_revision(conn, task_id)
            if row is None:
                return False, ("not_found", f"task {task_id!r} not found")
            job = store_review.load_jobs(conn, task_id).by_id(job_id)
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
            if "priority" in change:
                if who.role != "manager":
                    return False, ("forbidden", f"{review.with_article(who.role)} may not change the priority of "
                                                f"job {job.id}; a manager may")
                conn.execute("UPDATE jobs SET priority = ? WHERE task_id = ? AND id = ?",
                             (float(change["priority"]), task_id, job.id))
            for key in assigning:
                if change[key] != getattr(job, key):
                    conn.execute(f"UPDATE jobs SET {key} = ? WHERE task_id = ? AND id = ?",
                                 (change[key], task_id, job.id))
                    store_review.log_job_event(conn, task_id, job.id, "assigned", who, revision,
                                         detail={key: change[key]})
            stage = change.get("stage", job.stage)
            if stage != job.stage:
                refusal = review.move_refusal(who, job, stage)
                if refusal:
                    return False, ("forbidden", refusal)
                holder = store_queue.held_by_another(conn, who, task_id, job.id, time.time()) if who.role == "labeler" else None
                if holder:
                    return False, ("refused", "leased_elsewhere", f"job {job.id} is leased to {holder!r} now: your lease "
                                   "ran out and the queue handed it on; your edits are saved, ask the queue for the next job")
                issues = store_review.open_issue_count(conn, task_id, job)
                if stage == "accepted" and issues:
                    return False, ("refused", "open_issues", f"job {job.id} has {issues} open "
                                   f"issue{'s' if issues != 1 else ''}; they are resolved before it is accepted")
                if job.stage == "review" and stage == "annotation" and not issues:
                    return False, ("refused", "no_open_issues", f"job {job.id} goes back to annotation with at "
                                   "least one open issue saying what to fix")
                reviewed = revision if job.stage == "review" else job.reviewed_revision
                conn.execute("UPDATE jobs SET stage = ?, reviewed_revision = ? WHERE task_id = ? AND id = ?",
                             (stage, reviewed, task_id, job.id))
                store_review.log_job_event(conn, task_id, job.id, "stage", who, revision, job.stage, stage)
                if job.stage == "annotation":
                    store_queue.release(conn, task_id, job.id)
            return True, ("ok", store_review.load_jobs(conn, task_id).by_id(job_id).to_json())
        return self._write(work)

    # ---- the work queue (server/queue.py has the rules)

    def queue_next(self, who, task_id=None):
        """("ok", {"job", "lease"}) with the job leased to ``who``, ("none",) when nothing is free,
        or ("not_found",) for an unknown ``task_id``."""
        def work(conn):
            if task_id is not None and conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone() is None:
                return False, ("not_found",)
            outcome = store_queue.grant_next(conn, who, task_id, self.FOR_UPDATE, self.lease_seconds, self.golden_rate,
                                       time.time())
            return outcome[0] == "ok", outcome
        return self._write(work)

    def queue_skip(self, who, task_id, job_id, reason):
        """("ok",), ("not_found", message) or ("refused", message) for a job not in ``who``'s hands."""
        def work(conn):
            outcome = store_queue.skip(conn, who, task_id, job_id, reason, self.FOR_UPDATE)
            return outcome[0] == "ok", outcome
        return self._write(work)

    # ---- annotation sets: golden frames and consensus replicas (server/sets.py has the rules)

    def set_relations(self):
        """{derived task id: (parent id, "golden" | "replica")}."""
        with self._reading() as conn:
            return store_sets.relations(conn)

    def task_jobs(self, task_id):
        """review.Jobs of a task (none for an unknown one)."""
        with self._reading() as conn:
            return store_review.load_jobs(conn, task_id)

    def get_sets(self, parent_id):
        """The sets of a task as GET .../sets replies, or None for an unknown task."""
        found = self._read(parent_id, lambda conn: store_sets.sets_of(conn, parent_id))
        return None if found is None else found[1]

    def _stored_task(self, conn, task_id):
        row = conn.execute("SELECT task FROM tasks WHERE id = ?" + self.FOR_UPDATE, (task_id,)).fetchone()
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
                store_sets.record(conn, task_id, parent_id, sets.GOLDEN, frames)
                return True, ("created", store_sets.sets_of(conn, parent_id))
            if document is not None:
                revision = self._lock_revision(conn, task_id)[0]
                commit, outcome = self._replace_document(conn, task_id, document, revision, who)
                if not commit:
                    return False, outcome
            store_sets.set_golden_frames(conn, task_id, frames)
            return True, ("replaced", store_sets.sets_of(conn, parent_id))
        return self._write(work)

    def derive_replicas(self, parent_id, count, who):
        """Create the replicas 1..count a task lacks, each with the parent's job ranges.

        Returns ("created" | "unchanged", sets reply) or ("not_found",).
        """
        def work(conn):
            parent = self._stored_task(conn, parent_id)
            if parent is None:
                return False, ("not_found",)
            jobs = store_review.load_jobs(conn, parent_id)
            created = False
            for number in range(1, count + 1):
                task_id = sets.replica_id(parent_id, number)
                if self._stored_task(conn, task_id) is not None:
                    continue
                self._insert_new_task(conn, sets.derived_task(parent, task_id), empty_document())
                store_sets.copy_job_ranges(conn, task_id, jobs, who)
                store_sets.record(conn, task_id, parent_id, sets.REPLICA)
                created = True
            return created, ("created" if created else "unchanged", store_sets.sets_of(conn, parent_id))
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
        self.conn.executemany("INSERT INTO changes (task_id, revision, seq, op_id, kind, id, op, \"user\", "
                              "device, role, stage, at, base_revision, op_hash, value) "
                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.seq += len(rows)

    def set_item(self, kind, item_id, text, position, op_id, span=None):
        """Insert or update an item row; ``position`` None keeps the stored one."""
        lo, hi = span or (None, None)
        self.conn.execute(
            "INSERT INTO items (task_id, id, kind, position, value, revision, op_id, \"user\", device, role, at, "
            "frame_lo, frame_hi) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_id, id) DO "
            "UPDATE SET kind = excluded.kind, position = COALESCE(?, items.position), value = excluded.value, "
            "revision = excluded.revision, op_id = excluded.op_id, \"user\" = excluded.\"user\", "
            "device = excluded.device, role = excluded.role, at = excluded.at, frame_lo = excluded.frame_lo, "
            "frame_hi = excluded.frame_hi",
            (self.task_id, item_id, kind, position if position is not None else 0.0, text,
             self.revision, op_id, self.user, self.device, self.role, self.at, lo, hi, position))

    def delete_item(self, item_id, op_id):
        """Tombstone an item; its last value moves to the change row of ``op_id`` (logged first)."""
        self.conn.execute("UPDATE changes SET was = (SELECT value FROM items WHERE task_id = ? AND id = ?) "
                          "WHERE task_id = ? AND op_id = ?", (self.task_id, item_id, self.task_id, op_id))
        self.conn.execute("UPDATE items SET value = NULL, revision = ?, op_id = ?, \"user\" = ?, device = ?, "
                          "role = ?, at = ? WHERE task_id = ? AND id = ?",
                          (self.revision, op_id, self.user, self.device, self.role, self.at,
                           self.task_id, item_id))
