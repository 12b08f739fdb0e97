"""The guideline versions, their files and the files' bytes (rules: server/guidelines.py)."""

import hashlib

from . import guidelines
from .review import now_text


def create_tables(conn):
    """The guideline tables (schema version 6); an older database gets them empty."""
    conn.execute("""CREATE TABLE IF NOT EXISTS guidelines (
        task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        text TEXT NOT NULL,
        author TEXT, role TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (task_id, version))""")
    conn.execute("""CREATE TABLE IF NOT EXISTS guideline_files (
        task_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        name TEXT NOT NULL,
        type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL REFERENCES guideline_blobs(sha256),
        PRIMARY KEY (task_id, version, name),
        FOREIGN KEY (task_id, version) REFERENCES guidelines(task_id, version) ON DELETE CASCADE)""")
    conn.execute("""CREATE TABLE IF NOT EXISTS guideline_blobs (
        sha256 TEXT PRIMARY KEY,
        data BLOB NOT NULL)""")


def current_version(conn, task_id):
    row = conn.execute("SELECT MAX(version) FROM guidelines WHERE task_id = ?", (task_id,)).fetchone()
    return row[0] or 0


def read_version(conn, task_id, version=None):
    """The guidelines at ``version`` (None: the current one) as the API's JSON, or None when absent."""
    if version is None:
        version = current_version(conn, task_id)
    if version == 0:
        return {"version": 0, "text": "", "files": [], "author": None, "at": None}
    row = conn.execute("SELECT text, author, role, at FROM guidelines WHERE task_id = ? AND version = ?",
                       (task_id, version)).fetchone()
    if row is None:
        return None
    files = conn.execute("SELECT name, type, size FROM guideline_files WHERE task_id = ? AND version = ? "
                         "ORDER BY name", (task_id, version)).fetchall()
    return {"version": version, "text": row[0], "files": [{"name": n, "type": t, "size": s} for n, t, s in files],
            "author": row[1], "role": row[2], "at": row[3]}


def list_versions(conn, task_id):
    """Every version, oldest first: {"version", "author", "role", "at", "chars", "files"} (a count)."""
    rows = conn.execute("SELECT g.version, g.author, g.role, g.at, length(g.text), "
                        "(SELECT COUNT(*) FROM guideline_files f WHERE f.task_id = g.task_id AND f.version = g.version) "
                        "FROM guidelines g WHERE g.task_id = ? ORDER BY g.version", (task_id,)).fetchall()
    return [{"version": v, "author": a, "role": r, "at": at, "chars": c, "files": n} for v, a, r, at, c, n in rows]


def read_file(conn, task_id, version, name):
    """(MIME type, bytes) of a file of a version, or None."""
    row = conn.execute("SELECT f.type, b.data FROM guideline_files f JOIN guideline_blobs b ON b.sha256 = f.sha256 "
                       "WHERE f.task_id = ? AND f.version = ? AND f.name = ?", (task_id, version, name)).fetchone()
    return None if row is None else (row[0], bytes(row[1]))


def _file_rows(conn, task_id, version):
    return {name: (mime, size, digest) for name, mime, size, digest in conn.execute(
        "SELECT name, type, size, sha256 FROM guideline_files WHERE task_id = ? AND version = ?", (task_id, version))}


def write_version(conn, task_id, plan, author, role, base_version=None):
    """Write a new version from ``plan`` (from plan_put or plan_import) inside the caller's transaction.

    ``base_version`` None (an import) writes on top of whatever is current. Returns (version,
    created): an import equal to the current version writes nothing. Raises Refusal (409) for a
    stale base, (400) for the removal of a file the base does not have or too many files.
    """
    current = current_version(conn, task_id)
    files = _file_rows(conn, task_id, current) if current and not plan["replace_files"] else {}
    files = guidelines.next_files(task_id, current, files, plan, base_version)
    if base_version is None and current:
        same_text = conn.execute("SELECT text FROM guidelines WHERE task_id = ? AND version = ?",
                                 (task_id, current)).fetchone()[0] == plan["text"]
        if same_text and files == _file_rows(conn, task_id, current):
            return current, False
    version = current + 1
    conn.execute("INSERT INTO guidelines (task_id, version, text, author, role, at) VALUES (?, ?, ?, ?, ?, ?)",
                 (task_id, version, plan["text"], author, role, now_text()))
    conn.executemany("INSERT INTO guideline_blobs (sha256, data) VALUES (?, ?) ON CONFLICT DO NOTHING",
                     [(hashlib.sha256(data).hexdigest(), data) for _, data in plan["add"].values()])
    conn.executemany("INSERT INTO guideline_files (task_id, version, name, type, size, sha256) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(task_id, version, name, mime, size, digest) for name, (mime, size, digest) in files.items()])
    return version, True
