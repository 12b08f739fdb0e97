"""The SQLite store (the default): one file, writers of one process taking turns.

Every call opens its own connection, so the store is safe to share between request threads;
writes run in ``BEGIN IMMEDIATE`` transactions. Databases of schema versions 1 to 7 are upgraded
on start.
"""

import contextlib
import json
import sqlite3
import threading

from . import store_guidelines, store_queue, store_review, store_sets
from .errors import StoreError
from .store import SCHEMA_VERSION, Store
from .validation import canonical_json, document_header


class SqliteStore(Store):
    database_errors = (sqlite3.Error,)

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
                    store_review.create_tables(conn)
                if version < 5:
                    # A deleted item's last value, so a reviewer can see what was removed.
                    conn.execute("ALTER TABLE changes ADD COLUMN was TEXT")
                if version < 6:
                    store_guidelines.create_tables(conn)
                if version < 7:
                    # A prediction's first value: what a person confirmed, edited or rejected.
                    conn.execute("ALTER TABLE changes ADD COLUMN value TEXT")
                if version < 8:
                    store_sets.create_tables(conn)
                if version < 9:
                    store_queue.create_tables(conn)
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
            Store._insert_items(conn, task_id, document, revision, spans=False)
            conn.execute("UPDATE annotations SET document = ? WHERE task_id = ?",
                         (canonical_json(document_header(document)), task_id))


    @contextlib.contextmanager
    def _reading(self):
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            yield conn
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _write(self, work):
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
