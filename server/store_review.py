"""The review tables: jobs, their events and the issues on their frames (rules: server/review.py)."""

import json

from .review import Job, Jobs, item_span, now_text


def create_tables(conn):
    """The review tables (schema version 4) and the columns it adds to items and changes."""
    conn.execute("""CREATE TABLE jobs (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        start_frame INTEGER NOT NULL,
        stop_frame INTEGER,
        stage TEXT NOT NULL DEFAULT 'annotation' CHECK (stage IN ('annotation', 'review', 'accepted')),
        assignee TEXT, reviewer TEXT,
        reviewed_revision INTEGER,
        PRIMARY KEY (task_id, id))""")
    conn.execute("""CREATE TABLE job_events (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL,
        event TEXT NOT NULL,
        from_stage TEXT, to_stage TEXT,
        user TEXT, role TEXT, at TEXT NOT NULL,
        revision INTEGER NOT NULL,
        detail TEXT)""")
    conn.execute("CREATE INDEX job_events_job ON job_events (task_id, job_id, seq)")
    for column in ("frame_lo INTEGER", "frame_hi INTEGER", "role TEXT", "at TEXT"):
        conn.execute(f"ALTER TABLE items ADD COLUMN {column}")
    conn.execute("CREATE INDEX items_frames ON items (task_id, frame_lo)")
    for column in ("role TEXT", "stage TEXT"):
        conn.execute(f"ALTER TABLE changes ADD COLUMN {column}")
    for item_id, task_id, kind, value in conn.execute(
            "SELECT id, task_id, kind, value FROM items WHERE value IS NOT NULL").fetchall():
        span = item_span(kind, json.loads(value))
        if span:
            conn.execute("UPDATE items SET frame_lo = ?, frame_hi = ? WHERE task_id = ? AND id = ?",
                         (span[0], span[1], task_id, item_id))
    for (task_id,) in conn.execute("SELECT id FROM tasks").fetchall():
        add_default_job(conn, task_id)


def add_default_job(conn, task_id):
    """A new task's one job: every frame, in annotation, nobody assigned."""
    conn.execute("INSERT INTO jobs (task_id, id, start_frame, stop_frame) VALUES (?, 1, 0, NULL)", (task_id,))


def load_jobs(conn, task_id):
    return Jobs([Job(*row) for row in conn.execute(
        "SELECT id, start_frame, stop_frame, stage, assignee, reviewer, reviewed_revision FROM jobs "
        "WHERE task_id = ? ORDER BY start_frame", (task_id,))])


def job_events(conn, task_id):
    """{job id: [event]} oldest first."""
    out = {}
    for job_id, event, from_stage, to_stage, user, role, at, revision, detail in conn.execute(
            "SELECT job_id, event, from_stage, to_stage, \"user\", role, at, revision, detail FROM job_events "
            "WHERE task_id = ? ORDER BY seq", (task_id,)):
        entry = {"event": event, "from": from_stage, "to": to_stage, "user": user, "role": role,
                 "at": at, "revision": revision}
        if detail:
            entry["detail"] = json.loads(detail)
        out.setdefault(job_id, []).append(entry)
    return out


def log_job_event(conn, task_id, job_id, event, principal, revision, from_stage=None, to_stage=None,
                  detail=None):
    conn.execute("INSERT INTO job_events (task_id, job_id, event, from_stage, to_stage, \"user\", role, at, "
                 "revision, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (task_id, job_id, event, from_stage, to_stage, principal.user, principal.role, now_text(),
                  revision, None if detail is None else json.dumps(detail, sort_keys=True)))


def open_issue_count(conn, task_id, job):
    """Open issues pinned to a frame of ``job``."""
    count = 0
    stop = job.stop if job.stop is not None else 2 ** 62
    for (value,) in conn.execute("SELECT value FROM items WHERE task_id = ? AND kind = 'issue' AND value "
                                 "IS NOT NULL AND frame_lo >= ? AND frame_lo <= ?", (task_id, job.start, stop)):
        count += json.loads(value).get("status") == "open"
    return count


def replace_jobs(conn, task_id, ranges, principal, revision):
    """Swap a task's jobs for ``ranges``; new ids continue after the highest ever used."""
    top = conn.execute("SELECT MAX(id) FROM jobs WHERE task_id = ?", (task_id,)).fetchone()[0] or 0
    top = max(top, conn.execute("SELECT MAX(job_id) FROM job_events WHERE task_id = ?",
                                (task_id,)).fetchone()[0] or 0)
    conn.execute("DELETE FROM jobs WHERE task_id = ?", (task_id,))
    conn.executemany("INSERT INTO jobs (task_id, id, start_frame, stop_frame, assignee, reviewer) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(task_id, top + 1 + n, start, stop, assignee, reviewer)
                      for n, (start, stop, assignee, reviewer) in enumerate(ranges)])
    for n, (start, stop, _, _) in enumerate(ranges):
        log_job_event(conn, task_id, top + 1 + n, "created", principal, revision,
                      to_stage="annotation", detail={"start_frame": start, "stop_frame": stop})
    return load_jobs(conn, task_id)
