"""The listening server: accepts connections within the cap and hands them to routes.Handler."""

import collections
import hashlib
import socket
import ssl
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from .connections import (ACCEPT_BACKOFF, ConnectionLimits, FD_EXHAUSTED, LISTEN_BACKLOG, MAX_LINGERING,
                          REFUSED_LINGER, busy_reply, connection_cap, discard_input)
from .routes import DEFAULT_MAX_BODY, DISCONNECT_ERRORS, Handler
from .static import GzipCache

class Server(ThreadingHTTPServer):
    """One thread per connection, at most limits.max_connections of them (fewer when the
    descriptor limit is low); the connections beyond get 503 with Retry-After at once, from
    the accepting thread, and are closed."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, store, web_root, media_root, quiet, tokens=None, max_body=DEFAULT_MAX_BODY,
                 cors_origins=(), tls_context=None, limits=ConnectionLimits()):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.limits = limits
        self.max_connections = connection_cap(limits.max_connections)
        self._free_slots = threading.BoundedSemaphore(self.max_connections)
        self._slots_lock = threading.Lock()
        self._holding = set()  # id() of the connections that hold a slot
        self._busy_reply = busy_reply(self.max_connections)
        self._refused = collections.deque()  # (close at, socket): half-open until their 503 is read
        super().__init__(address, Handler)
        self.store = store
        self.web_root = web_root
        self.media_root = media_root
        self.media_root_path = media_root
        self.quiet = quiet
        self.gzip_cache = GzipCache()
        # [(sha256 of a token, user or None)]: only digests are kept, compared in constant time
        self.tokens = [(hashlib.sha256(t.encode("utf-8")).digest(), u, r) for t, (u, r) in (tokens or {}).items()]
        self.max_body = max_body
        self.cors_origins = frozenset(cors_origins)
        self.tls_context = tls_context

    def get_request(self):
        try:
            return super().get_request()
        except OSError as e:
            if e.errno in FD_EXHAUSTED:
                # The listener stays readable: retrying at once would spin a core and serve nobody.
                time.sleep(ACCEPT_BACKOFF)
            raise

    def process_request(self, request, client_address):
        if not self._free_slots.acquire(blocking=False):
            return self.refuse_busy(request)
        try:
            if self.tls_context is not None:
                # The handshake runs in the request's thread (Handler.setup), never in the accept loop.
                request = self.tls_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        except BaseException:
            self._free_slots.release()
            raise
        with self._slots_lock:
            self._holding.add(id(request))
        try:
            super().process_request(request, client_address)
        except BaseException:
            # The thread may have started, and even ended, before this (a signal): free the slot once.
            self.release_slot(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.release_slot(request)

    def release_slot(self, request):
        """Free the connection slot of request once, whoever gets here first."""
        with self._slots_lock:
            if id(request) not in self._holding:
                return
            self._holding.discard(id(request))
        self._free_slots.release()

    def refuse_busy(self, sock):
        """503 + Retry-After without a thread: one non-blocking send, then half-close."""
        if self.tls_context is not None:  # no handshake in the accept loop, so nothing polite to say
            return self.shutdown_request(sock)
        try:
            sock.setblocking(False)
            discard_input(sock)
            sock.send(self._busy_reply)  # small: fits an empty send buffer
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return sock.close()
        self._refused.append((time.monotonic() + REFUSED_LINGER, sock))
        while len(self._refused) > MAX_LINGERING:
            self.close_refused(self._refused.popleft()[1])

    @staticmethod
    def close_refused(sock):
        discard_input(sock)
        sock.close()

    def service_actions(self):
        super().service_actions()
        now = time.monotonic()
        while self._refused and self._refused[0][0] <= now:
            self.close_refused(self._refused.popleft()[1])

    def server_close(self):
        super().server_close()
        while self._refused:
            self.close_refused(self._refused.popleft()[1])

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, DISCONNECT_ERRORS + (ssl.SSLError,)):  # incl. failed TLS handshakes
            return
        super().handle_error(request, client_address)
