"""The work queue's leases, grants and skips (rules: server/queue.py)."""

import json

from . import queue, sets, store_review
from .review import now_text


def create_tables(conn):
    """Schema version 9: the queue's columns of jobs and its two tables."""
    conn.execute("ALTER TABLE jobs ADD COLUMN priority DOUBLE PRECISION NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE jobs ADD COLUMN lease_user TEXT")
    conn.execute("ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION")
    conn.execute("""CREATE TABLE queue_users (
        labeler TEXT PRIMARY KEY,
        grants INTEGER NOT NULL DEFAULT 0)""")
    conn.execute("""CREATE TABLE queue_skips (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        job_id INTEGER NOT NULL,
        labeler TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (task_id, job_id, labeler))""")


def _golden_frames(conn):
    """{parent task id: set of its golden frames}."""
    return {parent: set(json.loads(frames or "[]")) for parent, frames in conn.execute(
        "SELECT parent_id, frames FROM task_sets WHERE kind = 'golden'")}


def grant_next(conn, who, task_id, lock, lease_seconds, golden_rate, now):
    """The job ``who`` works on next, leased to them: ("ok", reply) or ("none",)."""
    conn.execute("INSERT INTO queue_users (labeler, grants) VALUES (?, 0) ON CONFLICT DO NOTHING", (who.user,))
    grants = conn.execute("SELECT grants FROM queue_users WHERE labeler = ?" + lock, (who.user,)).fetchone()[0]
    until = now + lease_seconds
    only = " AND j.task_id = ?" if task_id is not None else ""
    extra = (task_id,) if task_id is not None else ()
    held = conn.execute("SELECT j.task_id, j.id, j.start_frame, j.stop_frame, j.priority FROM jobs j WHERE "
                        f"j.lease_user = ? AND j.lease_until > ? AND j.stage = 'annotation'{only} "
                        "ORDER BY j.lease_until DESC LIMIT 1", (who.user, now, *extra)).fetchone()
    if held is not None:  # a retried next, or one from another tab: the same job, not a second one
        conn.execute("UPDATE jobs SET lease_until = ? WHERE task_id = ? AND id = ?", (until, held[0], held[1]))
        return "ok", queue.lease_reply(*held, until, lease_seconds)
    golden = _golden_frames(conn)
    rows = conn.execute(
        "SELECT j.task_id, j.id, j.start_frame, j.stop_frame, j.priority FROM jobs j WHERE j.stage = 'annotation' "
        "AND (j.assignee IS NULL OR j.assignee = ?) AND (j.lease_user IS NULL OR j.lease_until <= ?) "
        "AND NOT EXISTS (SELECT 1 FROM queue_skips s WHERE s.task_id = j.task_id AND s.job_id = j.id "
        "AND s.labeler = ?) AND NOT EXISTS (SELECT 1 FROM task_sets t WHERE t.task_id = j.task_id AND t.kind = ?)"
        + only, (who.user, now, who.user, sets.GOLDEN, *extra)).fetchall()
    due = golden_rate > 0 and queue.golden_due(grants, golden_rate)

    def order(row):
        is_golden = queue.holds_golden(golden.get(row[0], ()), row[2], row[3])
        return (is_golden != due, -row[4], row[0], row[2])
    for row in sorted(rows, key=order):
        taken = conn.execute("UPDATE jobs SET lease_user = ?, lease_until = ? WHERE task_id = ? AND id = ? "
                             "AND stage = 'annotation' AND (lease_user IS NULL OR lease_until <= ?)",
                             (who.user, until, row[0], row[1], now)).rowcount
        if taken != 1:  # granted meanwhile by another process (a store without row locks up front)
            continue
        conn.execute("UPDATE queue_users SET grants = grants + 1 WHERE labeler = ?", (who.user,))
        revision = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (row[0],)).fetchone()[0]
        store_review.log_job_event(conn, row[0], row[1], "leased", who, revision, detail={"until": queue.iso(until)})
        return "ok", queue.lease_reply(*row, until, lease_seconds)
    return ("none",)


def skip(conn, who, task_id, job_id, reason, lock):
    """End ``who``'s lease of a job, never to be handed to them again: ("ok",) or ("refused", message)."""
    row = conn.execute("SELECT lease_user, stage FROM jobs WHERE task_id = ? AND id = ?" + lock,
                       (task_id, job_id)).fetchone()
    if row is None:
        return "not_found", f"task {task_id!r} has no job {job_id}"
    if row[0] != who.user or row[1] != "annotation":
        return "refused", (f"job {job_id} of task {task_id!r} is not leased to {who.user!r}; only the job in hand "
                           "is skipped")
    release(conn, task_id, job_id)
    conn.execute("INSERT INTO queue_skips (task_id, job_id, labeler, reason, at) VALUES (?, ?, ?, ?, ?) "
                 "ON CONFLICT (task_id, job_id, labeler) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                 (task_id, job_id, who.user, reason, now_text()))
    revision = conn.execute("SELECT revision FROM annotations WHERE task_id = ?", (task_id,)).fetchone()[0]
    store_review.log_job_event(conn, task_id, job_id, "skipped", who, revision, detail={"reason": reason})
    return ("ok",)


def held_by_another(conn, who, task_id, job_id, now):
    """The user who holds a live lease on the job, when that is not ``who``, else None: a labeler
    whose lease ran out, and whose job was handed to someone else, does not submit it."""
    row = conn.execute("SELECT lease_user, lease_until FROM jobs WHERE task_id = ? AND id = ?",
                       (task_id, job_id)).fetchone()
    if row is None or row[0] is None or row[0] == who.user or row[1] is None or row[1] <= now:
        return None
    return row[0]


def renew(conn, task_id, user, until):
    """Saving is activity: the leases ``user`` holds on the task's jobs run again from now."""
    conn.execute("UPDATE jobs SET lease_until = ? WHERE task_id = ? AND lease_user = ? AND stage = 'annotation'",
                 (until, task_id, user))


def release(conn, task_id, job_id):
    """A job that leaves annotation is nobody's lease any more."""
    conn.execute("UPDATE jobs SET lease_user = NULL, lease_until = NULL WHERE task_id = ? AND id = ?",
                 (task_id, job_id))
