"""Static files: paths kept inside their root, MIME types, ranges, the compressed bodies' cache."""

import collections
import gzip
import os
import re
import stat
import threading
import urllib.parse
import zlib

try:
    import brotli  # Debian's python3-brotli: checks the build's .br files (tools/precompress.py)
except ImportError:
    brotli = None

from .errors import BadPath

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".map": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = {".html", ".htm", ".js", ".mjs", ".css", ".json", ".map", ".txt",
                ".wasm", ".svg", ".ttf", ".otf"}
GZIP_MAX_FILE = 64 * 1024 * 1024      # bigger files are sent as they are
CODING_TAGS = {"gzip": "gz", "br": "br"}  # what a compressed body's ETag ends with
GZIP_CACHE_BYTES = 128 * 1024 * 1024  # total compressed bytes kept in memory
CHUNK = 256 * 1024

# The client's files by kind (tools/stamp_names.py): a content-hashed name never changes content,
# so a browser or CDN keeps it a year without asking; the rest (index.html, polymark.js, sw.js and
# every plain name) is revalidated on each use, a 304 while the ETag holds. nginx configurations
# apply the same pattern; keep them in step.
HASHED_NAME_RE = re.compile(r"\.[0-9a-f]{16}\.[a-z0-9]+$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def client_cache_control(name):
    """Cache-Control for the client file NAME (its last path segment)."""
    return IMMUTABLE if HASHED_NAME_RE.search(name) else REVALIDATE


# --------------------------------------------------------------------------- files

def is_within(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def split_request_path(raw_path):
    """Percent-decoded path segments of a request target (query dropped).

    Raises BadPath for NUL bytes, invalid UTF-8, '..' and encoded slashes.
    Empty and '.' segments are dropped.
    """
    if not raw_path.startswith("/"):
        raw_path = urllib.parse.urlsplit(raw_path).path  # absolute-form request target
        if not raw_path.startswith("/"):
            raise BadPath("request target is not a path")
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    segments = []
    for raw in path.split("/"):
        try:
            seg = urllib.parse.unquote_to_bytes(raw).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadPath("path is not UTF-8") from e
        if "\x00" in seg:
            raise BadPath("NUL byte in path")
        if "/" in seg or "\\" in seg:
            raise BadPath("encoded slash in path")
        if seg == "..":
            raise BadPath("'..' in path")
        if seg not in ("", "."):
            segments.append(seg)
    return segments


def resolve_file(root, segments):
    """Real path of segments under root, or None if absent, hidden or escaping."""
    if root is None or any(s.startswith(".") for s in segments):
        return None
    candidate = os.path.realpath(os.path.join(root, *segments))
    if not is_within(candidate, root):
        return None
    return candidate


def content_type(path):
    return MIME_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")


def shown_text(value, limit=40):
    """A request value quoted for an error message: cut short, lone surrogates escaped."""
    return repr(value[:limit] + ("..." if len(value) > limit else ""))


def range_number(digits, size):
    """A Range bound as an int; bounds of more than 19 digits are past any file, so they read as ``size``."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 else size


def parse_range(header, size):
    """Single byte range: (start, end) inclusive, "unsatisfiable", or None (ignore).

    As RFC 9110 allows, a Range that is not one well-formed byte range is ignored (the whole
    file, 200), never an error; only ASCII digits count (``str.isdigit`` takes "²").
    """
    m = re.fullmatch(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None  # malformed or several ranges: serve the whole file
    first, last = m.group(1), m.group(2)
    if first == "":
        n = range_number(last, size)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = range_number(first, size)
    end = size - 1 if last == "" else range_number(last, size)
    if last != "" and end < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(end, size - 1)


def accepts(header, coding):
    """Whether an Accept-Encoding header allows CODING (q > 0), by name or by *."""
    if not header:
        return False
    qualities = {}
    for part in header.split(","):
        fields = part.strip().split(";")
        name = fields[0].strip().lower()
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            qualities[name] = q
    if coding in qualities:
        return qualities[coding] > 0
    return qualities.get("*", 0) > 0


DECODE_ERRORS = (OSError, EOFError, ValueError, zlib.error) + ((brotli.error,) if brotli else ())


def brotli_decompress(body):
    if brotli is None:
        raise ValueError("no brotli decoder")
    return brotli.decompress(body)


# What the build writes beside a client file (tools/precompress.py), per coding: the suffix and
# how to check that it holds the file.
PRECOMPRESSED = {"gzip": (".gz", gzip.decompress), "br": (".br", brotli_decompress)}


def precompressed(path, raw, coding="gzip"):
    """The bytes of PATH.gz (zopfli, 5 % smaller than zlib's level 9) or PATH.br (brotli, 15 %
    smaller than that) when the build wrote one and it holds exactly RAW, PATH's bytes now; None
    otherwise."""
    suffix, decompress = PRECOMPRESSED[coding]
    try:
        with open(path + suffix, "rb") as g:
            if not stat.S_ISREG(os.fstat(g.fileno()).st_mode):
                return None
            body = g.read(GZIP_MAX_FILE + 1)
        return body if decompress(body) == raw else None
    except DECODE_ERRORS:
        return None


class GzipCache:
    """Compressed file bodies keyed by (path, coding) and (mtime, size), bounded in total size.
    Each version is compressed once, so at the highest level; brotli only as the build wrote it
    (None when it did not, or wrote something else)."""

    def __init__(self, limit=GZIP_CACHE_BYTES):
        self.limit = limit
        self.entries = collections.OrderedDict()  # (path, coding) -> ((mtime_ns, size), bytes or None)
        self.total = 0
        self.lock = threading.Lock()

    def get(self, path, st, read, precompress=False, coding="gzip"):
        key = (st.st_mtime_ns, st.st_size)
        with self.lock:  # held while compressing: each version is compressed once
            hit = self.entries.get((path, coding))
            if hit and hit[0] == key:
                self.entries.move_to_end((path, coding))
                return hit[1]
            raw = read()
            if coding == "br":
                body = precompress and precompressed(path, raw, "br") or None
            else:
                body = (precompress and precompressed(path, raw)) or gzip.compress(raw, compresslevel=9, mtime=0)
            if hit:
                self.total -= len(hit[1] or b"")
                del self.entries[(path, coding)]
            self.entries[(path, coding)] = (key, body)
            self.total += len(body or b"")
            while self.total > self.limit and len(self.entries) > 1:
                _, (_, old) = self.entries.popitem(last=False)
                self.total -= len(old or b"")
            return body
