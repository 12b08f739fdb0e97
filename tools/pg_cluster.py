#!/usr/bin/python3
"""A throwaway PostgreSQL server (Debian's postgresql 15) for tests, benchmarks and trying serve.py.

    python3 tools/pg_cluster.py start DIR [--port N]   # initdb DIR/data, start, print the URL of db "polymark"
    python3 tools/pg_cluster.py stop DIR               # stop it (the data stays in DIR until you remove it)

As a module: ``with Cluster() as pg: url = pg.create_database("x")`` starts one in a temporary
folder and removes it afterwards. PostgreSQL refuses to run as root: run by root, the server runs
as Debian's ``postgres`` user (runuser), its folder given to that user. It listens on 127.0.0.1 at
a free port and on a unix socket in its folder, trusts local connections (a test machine, never a
shared one), and with ``durable=False`` (tests) skips fsync.
"""

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

SERVICE_USER = "postgres"


def bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (tools/setup.sh installs Debian's postgresql)")
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, root=None, port=None, durable=False):
        self.own_root = root is None
        self.root = root or tempfile.mkdtemp(prefix="pm-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = port or free_port()
        self.durable = durable
        self.bin = bin_dir()
        self.as_root = os.geteuid() == 0

    def _run(self, *args, check=True):
        command = [os.path.join(self.bin, args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        if self.as_root:
            account = pwd.getpwnam(SERVICE_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-sync")
        if self.running():
            return self
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.root}",
                   "-c max_connections=300", "-c shared_buffers=64MB"]
        if not self.durable:
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        result = self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l",
                           os.path.join(self.root, "server.log"), "-o", " ".join(options), check=False)
        if result.returncode != 0:
            log = ""
            if os.path.exists(os.path.join(self.root, "server.log")):
                with open(os.path.join(self.root, "server.log"), errors="replace") as f:
                    log = f.read()[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n{log}")
        return self

    def running(self):
        return (os.path.exists(os.path.join(self.data, "postmaster.pid"))
                and self._run("pg_ctl", "status", "-D", self.data, check=False).returncode == 0)

    def stop(self, remove=None):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data, check=False)
        if self.own_root if remove is None else remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self):
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", self.data, check=False)
        return self.start()

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql, database="postgres"):
        result = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At",
                                 "-d", self.url(database), "-c", sql],
                                check=True, capture_output=True, text=True, timeout=60)
        return result.stdout

    def create_database(self, name):
        """Create database ``name`` (letters, digits, underscores) and return its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}")
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    p = argparse.ArgumentParser(description="Start or stop a throwaway PostgreSQL for serve.py.")
    p.add_argument("action", choices=("start", "stop"))
    p.add_argument("dir", help="its folder (data, socket, log)")
    p.add_argument("--port", type=int, default=5433)
    args = p.parse_args(argv)
    root = os.path.abspath(args.dir)
    cluster = Cluster(root, args.port, durable=True)
    if args.action == "stop":
        cluster.stop(remove=False)
        return 0
    cluster.start()
    exists = cluster.psql("SELECT 1 FROM pg_database WHERE datname = 'polymark'").strip()
    url = cluster.url("polymark") if exists else cluster.create_database("polymark")
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
