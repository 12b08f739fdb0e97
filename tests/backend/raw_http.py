"""Raw HTTP/1.1 over a socket: send bytes exactly as given, read one reply (standard library only).

http.client refuses to send much of what a hostile client sends (superscript digits in headers,
conflicting Content-Lengths, broken request lines), so the hostile-request tests and the fuzzer
write the bytes themselves and parse the reply here. A reply that never comes (the connection
closes or times out first) is ``NoAnswer``: the failure these tools exist to catch.
"""

import json
import socket


class NoAnswer(Exception):
    """The server closed the connection or timed out without a complete HTTP reply."""


class Reply:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        """The parsed body when it is JSON, else None."""
        if not (self.header("Content-Type") or "").startswith("application/json"):
            return None
        return json.loads(self.body.decode("utf-8"))

    def error(self):
        """The ``error`` object of a JSON error reply, or {}."""
        value = self.json()
        return value.get("error", {}) if isinstance(value, dict) else {}

    def __repr__(self):
        return f"Reply({self.status} {self.reason!r}, {self.body[:300]!r})"


def request_bytes(method, target, headers=(), body=b"", content_length=True):
    """Bytes of one request. ``headers`` is a list of (name, value) with str or bytes values."""
    def raw(text):
        return text if isinstance(text, bytes) else text.encode("latin-1", "surrogateescape")
    lines = [raw(method) + b" " + raw(target) + b" HTTP/1.1", b"Host: localhost"]
    lines += [raw(name) + b": " + raw(value) for name, value in headers]
    if content_length and body and not any(raw(n).lower() == b"content-length" for n, _ in headers):
        lines.append(b"Content-Length: %d" % len(body))
    if not any(raw(n).lower() == b"connection" for n, _ in headers):
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def exchange(host, port, data, timeout=20, head=False):
    """Send ``data`` and read one reply (a HEAD reply has no body). Raises NoAnswer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413, 400) before taking the whole body
        return read_reply(sock, head)


def read_reply(sock, head=False):
    buffer = b""
    try:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise NoAnswer(f"connection closed after {len(buffer)} bytes of reply: {buffer[:200]!r}")
            buffer += chunk
        head_bytes, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isascii() \
                or not parts[1].isdigit():
            raise NoAnswer(f"not an HTTP status line: {lines[0][:200]!r}")
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise NoAnswer(f"malformed reply header {line[:200]!r}")
            headers[name.strip().lower()] = value.strip()
        status = int(parts[1])
        if head or status in (204, 304) or 100 <= status < 200:
            return Reply(status, parts[2] if len(parts) > 2 else "", headers, b"")
        length = headers.get("content-length")
        if length is None:
            raise NoAnswer(f"reply {status} without Content-Length")
        length = int(length)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise NoAnswer(f"reply body ended after {len(rest)} of {length} bytes")
            rest += chunk
        return Reply(status, parts[2] if len(parts) > 2 else "", headers, rest[:length])
    except socket.timeout as e:
        raise NoAnswer(f"no complete reply in time ({len(buffer)} bytes read)") from e
    except ConnectionResetError as e:
        raise NoAnswer("connection reset without a reply") from e
