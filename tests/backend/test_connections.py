"""serve.py under bursts, idle and slow connections, and out of file descriptors: real sockets
against a real serve.py subprocess (standard library only). Run from the repository root:

    python3 -m unittest tests/backend/test_connections.py -v

POLYMARK_SERVE_SCRIPT=/tmp/serve_old.py runs the same tests against another serve.py (flags it
does not know are left out).
"""

import json
import os
import shutil
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from load_clients import create_task, known_flags, patch_body, simultaneous  # noqa: E402
from test_serve import ServerProcess, stop_serving  # noqa: E402

BURST = 200
CLIENT_TIMEOUT = 8  # seconds; the old backlog of 5 made some of 200 clients wait 14 s and more


def start_server(test_class, prefix, limits):
    test_class.tmp = tempfile.mkdtemp(prefix=prefix)
    db = os.path.join(test_class.tmp, "db", "polymark.sqlite")
    test_class.server = ServerProcess(test_class.tmp, ["--db", db, "--web", test_class.tmp, "--quiet",
                                                       *known_flags(limits)]).start()


def stop_server(test_class):
    stop_serving(test_class.server, test_class.tmp)


def open_idle(server, count):
    """Connections that send nothing."""
    return [socket.create_connection((server.host, server.port), timeout=10) for _ in range(count)]


def closed_by_server(sock, within):
    """Whether the server closes (EOF or reset) the connection within `within` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def get(server, path="/api/tasks", timeout=10):
    out = simultaneous(server.host, server.port, [("GET", path, None)], timeout)[0]
    return out


class BurstTest(unittest.TestCase):
    """Hundreds of clients arriving at the same instant all get their answer."""

    @classmethod
    def setUpClass(cls):
        start_server(cls, "pm-burst-", [])
        create_task(cls.server.host, cls.server.port, "burst")

    @classmethod
    def tearDownClass(cls):
        stop_server(cls)

    def assert_all_answered(self, outcomes, expected_status):
        failed = [o.error or o.status for o in outcomes if o.status != expected_status]
        self.assertEqual(failed, [], f"{len(failed)} of {len(outcomes)} clients got no {expected_status}")

    def test_200_simultaneous_gets_are_all_answered(self):
        outcomes = simultaneous(self.server.host, self.server.port,
                                [("GET", "/api/tasks/burst/annotations", None)] * BURST, CLIENT_TIMEOUT)
        self.assert_all_answered(outcomes, 200)

    def test_200_simultaneous_patches_are_all_applied(self):
        requests = [("PATCH", "/api/tasks/burst/annotations", patch_body(f"p{i}", f"burst-op-{i}"))
                    for i in range(BURST)]
        outcomes = simultaneous(self.server.host, self.server.port, requests, CLIENT_TIMEOUT)
        self.assert_all_answered(outcomes, 200)
        doc = json.loads(get(self.server, "/api/tasks/burst/annotations").body)
        ids = {o["id"] for o in doc["document"]["objects"]}
        self.assertTrue({f"p{i}" for i in range(BURST)} <= ids)


class LimitsTest(unittest.TestCase):
    """A small cap and short time-outs: what happens beyond them."""

    CAP = 8
    IDLE = 1.5
    REQUEST = 2.0

    @classmethod
    def setUpClass(cls):
        start_server(cls, "pm-limits-", [("--max-connections", cls.CAP), ("--idle-timeout", cls.IDLE),
                                         ("--request-timeout", cls.REQUEST)])

    @classmethod
    def tearDownClass(cls):
        stop_server(cls)

    def setUp(self):
        time.sleep(self.IDLE + 0.5)  # connections of the previous test are gone

    def test_connections_beyond_the_cap_get_503_with_retry_after_and_serving_resumes(self):
        idle = open_idle(self.server, self.CAP)
        try:
            time.sleep(0.3)  # the server has accepted them all
            refused = get(self.server)
            self.assertEqual(refused.status, 503, refused.error)
            self.assertGreater(int(refused.headers.get("Retry-After", "0")), 0)
            self.assertEqual(json.loads(refused.body)["error"]["code"], "busy")
            for sock in idle:  # idle connections are closed after the idle time-out ...
                self.assertTrue(closed_by_server(sock, self.IDLE + 3))
        finally:
            for sock in idle:
                sock.close()
        self.assertEqual(get(self.server).status, 200)  # ... and their slots serve again

    def test_refusals_when_full_are_answered_at_once(self):
        idle = open_idle(self.server, self.CAP)
        try:
            time.sleep(0.3)
            outcomes = simultaneous(self.server.host, self.server.port, [("GET", "/api/tasks", None)] * 50, 5)
        finally:
            for sock in idle:
                sock.close()
        self.assertEqual([o.status for o in outcomes], [503] * 50, [o.error for o in outcomes if o.error][:3])
        self.assertLess(max(o.seconds for o in outcomes), 1.0)

    def test_a_request_trickled_byte_by_byte_is_dropped_after_the_request_timeout(self):
        sock = socket.create_connection((self.server.host, self.server.port), timeout=10)
        try:
            sock.sendall(b"GET /api/tasks HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            dropped = False
            while time.monotonic() - start < self.REQUEST + 4:  # one header byte every 0.2 s
                try:
                    sock.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    dropped = True
                    break
                if closed_by_server(sock, 0.2):
                    dropped = True
                    break
            self.assertTrue(dropped, "a trickling request kept its connection")
            self.assertLess(time.monotonic() - start, self.REQUEST + 2)
        finally:
            sock.close()
        self.assertEqual(get(self.server).status, 200)

    def test_a_request_that_keeps_flowing_is_not_cut_short(self):
        body = patch_body("flow", "flow-op")
        create_task(self.server.host, self.server.port, "flow")
        head = (f"PATCH /api/tasks/flow/annotations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        with socket.create_connection((self.server.host, self.server.port), timeout=10) as sock:
            sock.sendall(head)
            time.sleep(self.IDLE + 0.3)  # longer than the idle time-out, inside the request time-out
            sock.sendall(body)
            reply = sock.recv(65536)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200 "), reply[:80])


class OutOfDescriptorsTest(unittest.TestCase):
    """Out of file descriptors, the accepting loop must pause, not spin."""

    @classmethod
    def setUpClass(cls):
        start_server(cls, "pm-fds-", [("--idle-timeout", 2)])

    @classmethod
    def tearDownClass(cls):
        stop_server(cls)

    def test_out_of_descriptors_the_server_backs_off_and_recovers(self):
        import resource
        pid = self.server.proc.pid
        open_now = len(os.listdir(f"/proc/{pid}/fd"))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_now + 10, open_now + 10))
        idle = open_idle(self.server, 14)  # 10 accepted at most; the rest wait in the backlog
        try:
            time.sleep(0.5)
            before = cpu_seconds(pid)
            time.sleep(2)
            spent = cpu_seconds(pid) - before
        finally:
            for sock in idle:
                sock.close()
        self.assertLess(spent, 0.5, f"the server used {spent:.2f} s of CPU in 2 s while out of descriptors")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and get(self.server, timeout=3).status != 200:
            time.sleep(0.2)
        self.assertEqual(get(self.server).status, 200)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RefusedBodyTest(unittest.TestCase):
    """A request refused before its body is read still gets its answer: the server reads and drops
    the rest of the body before it closes, since closing on unread input resets the connection and
    can destroy the reply, which a sync client takes for being offline."""

    @classmethod
    def setUpClass(cls):
        start_server(cls, "pm-refused-body-", [])
        create_task(cls.server.host, cls.server.port, "big")

    @classmethod
    def tearDownClass(cls):
        stop_server(cls)

    def test_a_patch_over_the_size_limit_gets_its_413_while_the_client_still_sends(self):
        body = b'{"operations": [' + b" " * (40 * 1024 * 1024) + b"]}"  # past --max-body as well as the PATCH limit
        for attempt in range(3):
            with self.subTest(attempt=attempt), socket.create_connection((self.server.host, self.server.port), timeout=20) as s:
                s.sendall(b"PATCH /api/tasks/big/annotations HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
                try:
                    s.sendall(body)
                except (BrokenPipeError, ConnectionResetError) as e:
                    self.fail(f"the server reset the connection while the body was sent: {e!r}")
                reply = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    reply += chunk
                head, _, payload = reply.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 413 "), head[:80])
                self.assertEqual(json.loads(payload)["error"]["code"], "too_large")


if __name__ == "__main__":
    unittest.main()
