"""Labeling guidelines: versioned instructions of a task (docs/SCHEMA.md, section 14).

A task carries its labeling instructions as a list of versions, each immutable once written: a
text (a Markdown subset; the client renders it) and example images, with the author and the time.
Version 1 is the first; 0 stands for "no guidelines yet". A new version is written by a manager
(or by ``serve.py --import`` from a task directory's ``guidelines.md`` and ``guidelines/``
folder) on top of the version it was edited from: a ``base_version`` that is not the current
one is refused, so two managers editing at once do not silently undo each other.

Files carry over: a new version starts with every file of the previous one; a file named in the
request with base64 bytes is added or replaced, one named with ``null`` is removed. Bytes are
stored once per content (by SHA-256), so carrying a file over costs a row, not a copy.

What may be a file: an image a browser shows as pixels (PNG, JPEG, WebP, GIF), judged by its
bytes, never by its name; a name of 1 to 100 characters without a path (no ``/``, backslash,
NUL or other control characters, not ``.`` or ``..``, not hidden), at most FILE_BYTES each and
FILES_PER_VERSION of them. This module knows JSON values, not HTTP or SQL (server/store_guidelines.py writes them).
"""

import base64
import binascii
import hashlib

from server.review import with_article

TEXT_CHARS = 100_000            # characters of one version's text
FILE_BYTES = 4 * 1024 * 1024    # bytes of one example image
FILES_PER_VERSION = 32
NAME_CHARS = 100
EDITORS = ("manager",)          # who may write a new version
IMAGE_FORMATS = "PNG, JPEG, WebP or GIF"


class Refusal(Exception):
    """Outside data that cannot be taken: status, code, JSON pointer, message."""

    def __init__(self, status, code, where, message, extra=None):
        super().__init__(message)
        self.status, self.code, self.where, self.extra = status, code, where, extra or {}


# --------------------------------------------------------------------------- storage


# --------------------------------------------------------------------------- checks

def _pointer(*parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def name_problem(name):
    """Why ``name`` cannot name a guideline file, or None."""
    if not isinstance(name, str) or not name:
        return "empty"
    if len(name) > NAME_CHARS:
        return f"longer than {NAME_CHARS} characters"
    if name in (".", ".."):
        return "not a file name"
    if "/" in name or "\\" in name:
        return "holds a path separator (a file name, not a path)"
    if "\x00" in name:
        return "holds a NUL character"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "holds a control character"
    if name.startswith("."):
        return "hidden (starts with '.')"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        return "not Unicode text"
    return None


def sniff_image(data):
    """(format name, MIME type) of image bytes a browser shows, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG", "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG", "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF", "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP", "image/webp"
    return None


def check_image(data, where, label):
    """(MIME type, data) of an acceptable example image; Refusal naming ``label`` otherwise."""
    if len(data) > FILE_BYTES:
        raise Refusal(400, "too_large", where, f"{label}: {len(data)} bytes, more than the {FILE_BYTES} "
                      "bytes an example image may have")
    found = sniff_image(data)
    if found is None:
        looks = "empty" if not data else "text" if all(32 <= c < 127 or c in (9, 10, 13) for c in data[:64]) \
            else "of an unknown format"
        raise Refusal(400, "bad_media", where, f"{label}: not an image ({IMAGE_FORMATS}); its bytes are {looks}")
    return found[1], data


def _check_text(text, where, label):
    if not isinstance(text, str):
        raise Refusal(400, "expected_string", where, f"{label}: the text must be a string")
    if len(text) > TEXT_CHARS:
        raise Refusal(400, "too_large", where, f"{label}: {len(text)} characters, more than {TEXT_CHARS}")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise Refusal(400, "bad_string", where, f"{label}: not Unicode text")


def edit_refusal(role, task_id):
    """Why ``role`` may not write guidelines, or None."""
    if role in EDITORS:
        return None
    return (f"guidelines of task {task_id!r}: {with_article(role)} may not publish a new version; "
            f"{' or '.join(with_article(r) for r in EDITORS)} may")


def plan_put(body):
    """A PUT body {"text", "files"?: {name: base64 | null}, "base_version"} -> (base_version, plan).

    Raises Refusal (400) naming the JSON pointer of what is wrong.
    """
    if not isinstance(body, dict):
        raise Refusal(400, "not_object", "", "request body: expected a JSON object {text, files?, base_version}")
    for key in body:
        if key not in ("text", "files", "base_version"):
            raise Refusal(400, "unknown_key", _pointer(key), f"request body: unknown key {key[:40]!r} "
                          "(expected text, files, base_version)")
    for key in ("text", "base_version"):
        if key not in body:
            raise Refusal(400, "missing_key", "/" + key, f"request body: /{key} is required")
    base = body["base_version"]
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise Refusal(400, "expected_integer", "/base_version",
                      "request body: /base_version: expected the version the edit started from (an integer >= 0)")
    _check_text(body["text"], "/text", "request body: /text")
    files = body.get("files", {})
    if not isinstance(files, dict):
        raise Refusal(400, "expected_object", "/files", "request body: /files: expected {name: base64 or null}")
    plan = {"text": body["text"], "add": {}, "remove": [], "replace_files": False}
    for name, data in files.items():
        where = _pointer("files", name)
        problem = name_problem(name)
        if problem:
            raise Refusal(400, "bad_file_name", where, f"request body: file name {name[:60]!r}: {problem}")
        if data is None:
            plan["remove"].append(name)
            continue
        if not isinstance(data, str):
            raise Refusal(400, "expected_string", where, f"request body: {where}: expected base64 text or null")
        if len(data) > (FILE_BYTES + 2) // 3 * 4 + 4:
            raise Refusal(400, "too_large", where, f"request body: {where}: more than the {FILE_BYTES} bytes "
                          "an example image may have")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise Refusal(400, "bad_base64", where, f"request body: {where}: not base64 data") from None
        plan["add"][name] = check_image(raw, where, f"request body: {where} ({name!r})")
    return base, plan


def plan_import(text, files, label):
    """A task directory's guidelines: its text and [(name, bytes)] -> plan (the files are all of them).

    Raises Refusal naming ``label`` and the file.
    """
    _check_text(text, "", label)
    plan = {"text": text, "add": {}, "remove": [], "replace_files": True}
    for name, data in files:
        problem = name_problem(name)
        if problem:
            raise Refusal(400, "bad_file_name", "", f"{label}: file name {name[:60]!r}: {problem}")
        plan["add"][name] = check_image(data, "", f"{label}: guidelines/{name}")
    if len(files) > FILES_PER_VERSION:
        raise Refusal(400, "out_of_range", "", f"{label}: at most {FILES_PER_VERSION} example images, "
                      f"not {len(files)}")
    return plan


def next_files(task_id, current, files, plan, base_version):
    """The files {name: (MIME type, size, sha256)} of the version ``plan`` makes on top of version
    ``current``, whose files are ``files``. Raises Refusal (409) for a stale base, (400) for the
    removal of a file the base does not have or too many files."""
    if base_version is not None and base_version != current:
        raise Refusal(409, "stale_version", "/base_version",
                      f"the guidelines of task {task_id!r} are at version {current}, not {base_version}: "
                      "read them again and redo the edit on top", {"version": current})
    files = dict(files)
    for name in plan["remove"]:
        if name not in files:
            raise Refusal(400, "unknown_file", _pointer("files", name),
                          f"request body: /files/{name}: version {current} has no file {name!r} to remove")
        del files[name]
    for name, (mime, data) in plan["add"].items():
        files[name] = (mime, len(data), hashlib.sha256(data).hexdigest())
    if len(files) > FILES_PER_VERSION:
        raise Refusal(400, "out_of_range", "/files", f"a version holds at most {FILES_PER_VERSION} files, "
                      f"this one would hold {len(files)}")
    return files
