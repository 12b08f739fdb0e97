#!/usr/bin/python3
"""A Polymark cluster on one machine: PostgreSQL, N serve.py processes and nginx in front.

    python3 tools/cluster.py start DIR --workers N [--port P] [--dist PATH]   # prints the URL
    python3 tools/cluster.py stop DIR

PostgreSQL runs from DIR/pg (tools/pg_cluster.py: a throwaway data folder, as Debian's
``postgres`` user when run by root), the workers are ``serve.py --db postgresql://...`` on free
ports of 127.0.0.1 (logs DIR/worker-K.log, media under DIR/media, shared), and Debian's nginx
runs with its own configuration, pid, logs and temp folders in DIR/nginx, listening on P (default
a free high port) on 127.0.0.1: the load balancer for /api/ and /media/ and the static file server
of the built client (``--dist``, default build-web/dist of this checkout, else /work/main's).
The configuration is deploy/nginx.conf.in filled in; docs/DEPLOY.md says how to run the same on
several machines. What runs is written to DIR/cluster.json, which ``stop`` reads.

As a module: ``with Cluster(dir, workers=2) as c: c.url`` starts one and stops it afterwards;
``kill_worker(k)``, ``start_worker(k)``, ``restart_postgres()`` and ``reload_nginx()`` are the
faults bench/load_labelers.py injects. Errors are ClusterError with what failed and its log.
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pg_cluster  # noqa: E402

SERVE = os.path.join(ROOT, "serve.py")
TEMPLATE = os.path.join(ROOT, "deploy", "nginx.conf.in")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
BROTLI_MODULE = "/usr/lib/nginx/modules/ngx_http_brotli_static_module.so"
NGINX_USER_AS_ROOT = "nobody"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
START_TIMEOUT = 60


class ClusterError(RuntimeError):
    pass


def default_dist():
    for candidate in (os.path.join(ROOT, "build-web", "dist"), "/work/main/build-web/dist"):
        if os.path.isfile(os.path.join(candidate, "index.html")):
            return candidate
    return os.path.join(ROOT, "build-web", "dist")


def nginx_available():
    """None when nginx can run here, else why not."""
    if not os.path.exists(NGINX):
        return "nginx is not installed (tools/setup.sh installs Debian's nginx)"
    return None


def tail(path, chars=2000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return ""


def wait_port(port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Cluster:
    def __init__(self, root, workers=2, port=None, dist=None, durable=True, serve_args=(),
                 access_log=False):
        self.root = os.path.abspath(root)
        self.workers = workers
        self.port = port
        self.dist = os.path.abspath(dist or default_dist())
        self.durable = durable
        self.serve_args = list(serve_args)
        self.access_log = access_log
        self.pg = None
        self.db_url = None
        self.worker_ports = []
        self.procs = {}  # worker index -> Popen (this process's children only)
        self.prefix = os.path.join(self.root, "nginx")
        self.conf = os.path.join(self.prefix, "nginx.conf")

    # [SECTION] start and stop

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        why = nginx_available()
        if why:
            raise ClusterError(why)
        if self.workers < 1:
            raise ClusterError(f"--workers must be at least 1, not {self.workers}")
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(os.path.join(self.root, "media"), exist_ok=True)
        if os.geteuid() == 0:
            # PostgreSQL (as postgres) and nginx's workers (as nobody) must reach their folders in DIR.
            os.chmod(self.root, os.stat(self.root).st_mode | 0o711)
            parent = os.path.dirname(self.root)
            while parent != os.path.dirname(parent):
                if not os.stat(parent).st_mode & 0o001:
                    raise ClusterError(f"{parent} is closed to other users: run by root, PostgreSQL and nginx's "
                                       f"workers run as other users and cannot reach {self.root}; give it o+x or "
                                       f"choose another folder")
                parent = os.path.dirname(parent)
        try:
            self.pg = pg_cluster.Cluster(os.path.join(self.root, "pg"), durable=self.durable).start()
            exists = self.pg.psql("SELECT 1 FROM pg_database WHERE datname = 'polymark'").strip()
            self.db_url = self.pg.url("polymark") if exists else self.pg.create_database("polymark")
            self.worker_ports = [pg_cluster.free_port() for _ in range(self.workers)]
            self.port = self.port or pg_cluster.free_port()
            # The first creates the schema; the others wait for it (docs/SERVER.md, "Stores").
            for k in range(self.workers):
                self.start_worker(k, wait=False)
            for k in range(self.workers):
                self._wait_worker(k)
            self._write_nginx_conf()
            self._nginx("-t")
            self._nginx()
            if not wait_port(self.port, 20):
                raise ClusterError(f"nginx did not listen on port {self.port}: "
                                   f"{tail(os.path.join(self.prefix, 'error.log'))}")
            self._save_state()
        except subprocess.CalledProcessError as e:
            self.stop()
            raise ClusterError(f"{' '.join(e.cmd)} failed: {(e.stderr or '').strip()}") from e
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        state = self._load_state()
        pid = self._nginx_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
            except ProcessLookupError:
                pass
            self._wait_gone(pid, 10)
        pids = {k: p.pid for k, p in self.procs.items()}
        for k, worker_pid in enumerate(state.get("worker_pids", [])):
            pids.setdefault(k, worker_pid)
        for worker_pid in pids.values():
            if worker_pid and self._is_serve(worker_pid):
                os.kill(worker_pid, signal.SIGTERM)
        for k, worker_pid in pids.items():
            if worker_pid and not self._wait_gone(worker_pid, 10) and self._is_serve(worker_pid):
                os.kill(worker_pid, signal.SIGKILL)
            proc = self.procs.pop(k, None)
            if proc:
                proc.wait(10)
        pg = self.pg or pg_cluster.Cluster(os.path.join(self.root, "pg"), port=state.get("pg_port"))
        pg.stop(remove=False)
        if os.path.exists(self._state_path()):
            os.remove(self._state_path())

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # [SECTION] workers

    def start_worker(self, k, wait=True):
        """Start worker k on its port (again, after a kill: nginx's upstream stays valid)."""
        log = open(os.path.join(self.root, f"worker-{k}.log"), "ab")
        args = [PYTHON, SERVE, "--bind", "127.0.0.1", "--port", str(self.worker_ports[k]),
                "--db", self.db_url, "--web", self.dist, "--media-root", os.path.join(self.root, "media"),
                "--quiet", *self.serve_args]
        self.procs[k] = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True, cwd=self.root)
        log.close()
        if wait:
            self._wait_worker(k)
        return self.procs[k].pid

    def _wait_worker(self, k):
        proc = self.procs[k]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ClusterError(f"serve.py worker {k} exited with status {proc.returncode}: "
                                   f"{tail(os.path.join(self.root, f'worker-{k}.log'))}")
            try:
                with socket.create_connection(("127.0.0.1", self.worker_ports[k]), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise ClusterError(f"serve.py worker {k} did not listen in {START_TIMEOUT} s: "
                           f"{tail(os.path.join(self.root, f'worker-{k}.log'))}")

    def kill_worker(self, k):
        """SIGKILL worker k (a crash: nothing is flushed or answered)."""
        proc = self.procs[k]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def restart_postgres(self):
        self.pg.restart()

    # [SECTION] nginx

    def _write_nginx_conf(self):
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.prefix, "tmp", sub), exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # nginx's workers drop root; they write only the temp folders and read the build.
            account = pwd.getpwnam(NGINX_USER_AS_ROOT)
            user = f"user {NGINX_USER_AS_ROOT} {self._group_of(account)};"
            for dirpath, _, _ in os.walk(os.path.join(self.prefix, "tmp")):
                os.chown(dirpath, account.pw_uid, account.pw_gid)
            os.chmod(self.prefix, os.stat(self.prefix).st_mode | 0o711)
        brotli = os.path.exists(BROTLI_MODULE)
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;" for p in self.worker_ports)
        values = {
            "@USER@": user,
            "@LOAD_MODULES@": f"load_module {BROTLI_MODULE};" if brotli else "",
            "@PREFIX@": self.prefix,
            "@ACCESS_LOG@": (os.path.join(self.prefix, "access.log") + " combined buffer=64k flush=2s")
            if self.access_log else "off",
            "@SERVERS@": servers,
            "@LISTEN@": f"127.0.0.1:{self.port}",
            "@DIST@": self.dist,
            "@BROTLI@": "        brotli_static on;" if brotli else "",
        }
        with open(TEMPLATE) as f:
            text = f.read()
        for name, value in values.items():
            text = text.replace(name, value)
        with open(self.conf, "w") as f:
            f.write(text)

    @staticmethod
    def _group_of(account):
        import grp
        try:
            return grp.getgrgid(account.pw_gid).gr_name
        except KeyError:
            return str(account.pw_gid)

    def _nginx(self, *args):
        command = [NGINX, "-p", self.prefix, "-c", self.conf, "-e", os.path.join(self.prefix, "error.log"), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise ClusterError(f"nginx {' '.join(args) or 'start'} failed: {result.stderr.strip()} "
                               f"{tail(os.path.join(self.prefix, 'error.log'))}")
        return result

    def reload_nginx(self):
        """Re-read the configuration: new workers take over, old ones finish their requests."""
        self._nginx("-s", "reload")

    def _nginx_pid(self):
        try:
            with open(os.path.join(self.prefix, "nginx.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # [SECTION] state

    def _state_path(self):
        return os.path.join(self.root, "cluster.json")

    def _save_state(self):
        state = {"url": self.url, "db": self.db_url, "pg_port": self.pg.port, "dist": self.dist,
                 "worker_ports": self.worker_ports, "worker_pids": [self.procs[k].pid for k in range(self.workers)]}
        with open(self._state_path(), "w") as f:
            json.dump(state, f, indent=1)

    def _load_state(self):
        try:
            with open(self._state_path()) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _is_serve(pid):
        """Whether pid is still one of our serve.py processes (never signal a reused pid)."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return SERVE.encode() in f.read()
        except OSError:
            return False

    @staticmethod
    def _wait_gone(pid, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            try:  # our own child: reap it
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return True
            except ChildProcessError:
                pass
            time.sleep(0.05)
        return False


def main(argv):
    p = argparse.ArgumentParser(description="Start or stop PostgreSQL, N serve.py and nginx in front.")
    p.add_argument("action", choices=("start", "stop"))
    p.add_argument("dir", help="its folder (database, logs, nginx configuration)")
    p.add_argument("--workers", type=int, default=2, help="serve.py processes (default 2)")
    p.add_argument("--port", type=int, help="nginx's port on 127.0.0.1 (default: a free one)")
    p.add_argument("--dist", help="the built client (default build-web/dist)")
    p.add_argument("--access-log", action="store_true", help="nginx writes DIR/nginx/access.log")
    args, serve_args = p.parse_known_args(argv)
    cluster = Cluster(args.dir, workers=args.workers, port=args.port, dist=args.dist,
                      serve_args=serve_args, access_log=args.access_log)
    try:
        if args.action == "stop":
            cluster.stop()
            return 0
        cluster.start()
    except (ClusterError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"cluster: {e}", file=sys.stderr)
        return 1
    print(cluster.url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
