"""The relation of annotation sets to their tasks (rules: server/sets.py)."""

import json

from . import store_review
from .sets import GOLDEN, parse_derived


def create_tables(conn):
    """The set relation (schema version 8); an older database gets it empty."""
    conn.execute("""CREATE TABLE task_sets (
        task_id TEXT PRIMARY KEY REFERENCES tasks(id) ON DELETE CASCADE,
        parent_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('golden', 'replica')),
        frames TEXT)""")
    conn.execute("CREATE INDEX task_sets_parent ON task_sets (parent_id)")


def record(conn, task_id, parent_id, kind, frames=None):
    conn.execute("INSERT INTO task_sets (task_id, parent_id, kind, frames) VALUES (?, ?, ?, ?)",
                 (task_id, parent_id, kind, None if frames is None else json.dumps(frames)))


def set_golden_frames(conn, task_id, frames):
    conn.execute("UPDATE task_sets SET frames = ? WHERE task_id = ?", (json.dumps(frames), task_id))


def relations(conn):
    """{derived task id: (parent id, kind)}."""
    return {task_id: (parent, kind) for task_id, parent, kind in
            conn.execute("SELECT task_id, parent_id, kind FROM task_sets")}


def sets_of(conn, parent_id):
    """The reply of GET .../sets: {"golden": {"id", "frames"} or None, "replicas": [{"id"}]}."""
    golden, replicas = None, []
    for task_id, kind, frames in conn.execute(
            "SELECT task_id, kind, frames FROM task_sets WHERE parent_id = ? ORDER BY task_id", (parent_id,)):
        if kind == GOLDEN:
            golden = {"id": task_id, "frames": json.loads(frames)}
        else:
            replicas.append((parse_derived(task_id)[2], {"id": task_id}))
    return {"golden": golden, "replicas": [entry for _, entry in sorted(replicas, key=lambda r: r[0])]}


def copy_job_ranges(conn, task_id, jobs, principal):
    """A replica's jobs: the parent's ranges under the same ids, in annotation, nobody assigned."""
    conn.execute("DELETE FROM jobs WHERE task_id = ?", (task_id,))
    for job in jobs.jobs:
        conn.execute("INSERT INTO jobs (task_id, id, start_frame, stop_frame) VALUES (?, ?, ?, ?)",
                     (task_id, job.id, job.start, job.stop))
        store_review.log_job_event(conn, task_id, job.id, "created", principal, 0, to_stage="annotation",
                             detail={"start_frame": job.start, "stop_frame": job.stop})
