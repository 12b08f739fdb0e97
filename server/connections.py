"""Connections: backlog, cap, time-outs, polite refusal (docs/SERVER.md)."""

import collections
import errno
import socket
import time

from .validation import compact_json

# [SECTION] Connections: backlog, cap, time-outs, polite refusal

LISTEN_BACKLOG = 1024          # connections the kernel queues before accept (Python's default is 5)
DEFAULT_MAX_CONNECTIONS = 512  # open connections, each with its thread (--max-connections)
DEFAULT_IDLE_TIMEOUT = 15      # seconds a connection may wait for its next request (--idle-timeout)
DEFAULT_REQUEST_TIMEOUT = 30   # seconds to receive one request's headers and body (--request-timeout) ...
MIN_REQUEST_RATE = 1024        # ... plus one second per this many bytes received, for slow links
BUSY_RETRY_AFTER = 2           # seconds, in the Retry-After of a 503 when every connection is taken
REFUSED_LINGER = 1.0           # seconds a refused socket stays half-open so the client reads its 503
MAX_LINGERING = 256            # refused sockets kept half-open at once; beyond, the oldest is closed
FDS_PER_CONNECTION = 4         # its socket, and SQLite's database, -wal and -shm files while it works
FD_RESERVE = 64                # descriptors kept for the listener, imports, media files, logs
ACCEPT_BACKOFF = 0.1           # seconds to pause accepting when the process is out of descriptors
FD_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}

ConnectionLimits = collections.namedtuple(
    "ConnectionLimits", "max_connections idle_timeout request_timeout",
    defaults=(DEFAULT_MAX_CONNECTIONS, DEFAULT_IDLE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT))


def descriptor_limit():
    """The soft RLIMIT_NOFILE, or None where it is unknown or unlimited."""
    try:
        import resource
    except ImportError:  # not on every platform
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_descriptor_limit(max_connections):
    """Raise the soft descriptor limit toward what max_connections needs (up to the hard limit)."""
    try:
        import resource
    except ImportError:
        return
    wanted = FD_RESERVE + FDS_PER_CONNECTION * max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass  # connection_cap() then fits the cap to the limit that is


def connection_cap(max_connections):
    """max_connections, lowered so that every connection at work still finds its descriptors."""
    limit = descriptor_limit()
    if limit is None:
        return max_connections
    return max(1, min(max_connections, (limit - FD_RESERVE) // FDS_PER_CONNECTION))


def busy_reply(cap):
    body = compact_json({"error": {
        "code": "busy", "retry_after": BUSY_RETRY_AFTER,
        "message": f"the server holds its limit of {cap} connections; retry after {BUSY_RETRY_AFTER} s"}})
    body = body.encode("utf-8")
    head = (f"HTTP/1.1 503 Service Unavailable\r\nServer: polymark\r\n"
            f"Content-Type: application/json; charset=utf-8\r\nCache-Control: no-store\r\n"
            f"Retry-After: {BUSY_RETRY_AFTER}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode("ascii") + body


def discard_input(sock):
    """Read and drop what the peer has sent so far on a non-blocking socket (unread input makes
    close send a reset, which can destroy the reply before the client reads it)."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass


class RequestClock(socket.SocketIO):
    """The read side of one connection, with its two time-outs.

    Between requests a read may wait idle_timeout. Once the first byte of a request
    arrives, the whole request (headers and body) must arrive within request_timeout,
    plus one second per MIN_REQUEST_RATE bytes received: a trickling client (slowloris)
    is dropped, a big upload over a slow link is not. Writes keep request_timeout.
    """

    def __init__(self, sock, idle_timeout, request_timeout):
        super().__init__(sock, "rb")
        self.idle_timeout = idle_timeout
        self.request_timeout = request_timeout
        self.await_next_request()

    def await_next_request(self):
        self.started = None
        self.received = 0

    def readinto(self, buffer):
        if self.started is None:
            wait = self.idle_timeout
        else:
            wait = self.started + self.request_timeout + self.received / MIN_REQUEST_RATE - time.monotonic()
            if wait <= 0:
                raise TimeoutError("the request arrived too slowly")
        self._sock.settimeout(wait)
        try:
            n = super().readinto(buffer)
        finally:
            self._sock.settimeout(self.request_timeout)
        if n:
            if self.started is None:
                self.started = time.monotonic()
            self.received += n
        return n
