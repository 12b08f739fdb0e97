"""JSON limits, task and document validation (docs/SCHEMA.md sections 7, 8 and 12), JSON helpers."""

import functools
import importlib.util
import json
import math
import os
import posixpath
import re
import urllib.parse

import jsonschema  # Debian's python3-jsonschema: docs/schema/*.json are the formats

try:  # Debian's python3-fastjsonschema: the same schemas compiled to Python, to accept valid values fast
    import fastjsonschema
except ImportError:
    fastjsonschema = None

from .review import ANNOTATION_KINDS, REVIEW_KINDS
from .errors import ImportFailure
from .media import check_media_file
from .static import is_within

TASK_FORMAT = "polymark.task"
DOCUMENT_FORMAT = "polymark.annotations"
TASK_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ITEM_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
TASK_KEYS = ("format", "version", "id", "name", "media", "labels", "settings", "meta")
MEDIA_KEYS = ("id", "type", "file", "name", "width", "height", "frames", "fps")


def document_header(document):
    """The document without its objects and tracks (what the annotations row keeps)."""
    return {k: v for k, v in document.items() if k not in ("objects", "tracks")}


def canonical_json(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def compact_json(value):
    """An item as stored: compact, keys in the writer's order."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def frame_count(task):
    """A task's number of frames, or None when a video's is not known."""
    spans = _media_spans(task)
    if len(spans) != len(task.get("media") or ()):
        return None
    return spans[-1][1] if spans else 0


def task_summary(task):
    """The /api/tasks entry of one task."""
    media = task.get("media", [])
    frames = 0
    for m in media:
        if m.get("type") == "image":
            frames += 1
        elif isinstance(m.get("frames"), int):
            frames += m["frames"]
    return {"id": task["id"], "name": task.get("name", task["id"]),
            "media_count": len(media), "frames": frames}


# --------------------------------------------------------------------------- import

# Limits of every JSON text (docs/SCHEMA.md, "Limits"); the C++ reader applies the same
# (shared/polymark/json_reader.hpp), and tests/backend/test_schema_agreement.py holds both to it.
MAX_JSON_DEPTH = 64          # arrays and objects open at once; the root is depth 1
MAX_META_DEPTH = 32          # inside a document's meta (meta itself is level 1)
MAX_EXACT_INTEGER = 2 ** 53 - 1
_STRING_TOKEN = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_NOT_A_BRACKET = re.compile(_STRING_TOKEN + r'|[^"\[\]{}]+', re.DOTALL)
_DEPTH_TOKEN = re.compile(_STRING_TOKEN + r'|[\[\]{},:]', re.DOTALL)
# Text that may hold a number beyond 2^53 or past a double's range, or a surrogate escape:
# only then are numbers read through Python code and the value walked (big bodies stay fast).
_LONG_DIGITS = re.compile(r'[0-9]{16}')           # two searches: faster than one alternation
_BIG_EXPONENT = re.compile(r'[eE][+-]?0*[0-9]{3}')
_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')
_LONE_SURROGATE = re.compile('[\ud800-\udfff]')


class JsonLimitError(ValueError):
    """A JSON text beyond a limit: ``code`` (too_deep, out_of_range, bad_string) at ``pointer``."""

    def __init__(self, code, pointer_, message):
        super().__init__(message)
        self.code, self.pointer = code, pointer_


class _Unrepresentable:
    """Stands for a number literal no double holds, until its pointer is known."""

    def __init__(self, text):
        self.text = text


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def _read_float(text):
    value = float(text)
    return value if math.isfinite(value) else _Unrepresentable(text)


def _read_int(text):
    # Beyond 2^53 an integer literal means the double it rounds to, as it does for the C++ reader.
    if len(text) < 16:
        return int(text)
    if len(text) < 400:
        value = int(text)
        if abs(value) <= MAX_EXACT_INTEGER:
            return value
    return _read_float(text)


def _nesting_depth(text):
    depth = deepest = 0
    for c in _NOT_A_BRACKET.sub("", text):
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def _key_text(token):
    try:
        key = json.loads(token if len(token) > 1 and token.endswith('"') else token + '"')
    except ValueError:
        key = token[1:]
    return _LONE_SURROGATE.sub("\ufffd", key)


def _too_deep_pointer(text):
    """The pointer of the first array or object opened past MAX_JSON_DEPTH, in text order."""
    levels = []  # [is_object, expecting_key, key, index]
    for m in _DEPTH_TOKEN.finditer(text):
        token = m.group()
        c = token[0]
        if c in "[{":
            if len(levels) >= MAX_JSON_DEPTH:
                return pointer(*(lv[2] if lv[0] else lv[3] for lv in levels))
            levels.append([c == "{", c == "{", "", 0])
        elif c in "]}":
            if levels:
                levels.pop()
        elif c == ",":
            if levels:
                if levels[-1][0]:
                    levels[-1][1] = True
                else:
                    levels[-1][3] += 1
        elif c == ":":
            if levels and levels[-1][0]:
                levels[-1][1] = False
        elif levels and levels[-1][0] and levels[-1][1]:
            levels[-1][2] = _key_text(token)
    return None


def _first_unreadable(value, parts, strings):
    """(code, pointer, message) of the first number no double holds or lone surrogate, in text order."""
    if isinstance(value, _Unrepresentable):
        shown = value.text[:24] + ("..." if len(value.text) > 24 else "")
        return "out_of_range", pointer(*parts), f"the number {shown} is too large for a double"
    if isinstance(value, str):
        if strings and _LONE_SURROGATE.search(value):
            return "bad_string", pointer(*parts), "a lone UTF-16 surrogate (an unpaired \\ud800-\\udfff escape) is not Unicode text"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if strings and _LONE_SURROGATE.search(key):
                return ("bad_string", pointer(*parts, _LONE_SURROGATE.sub("\ufffd", key)),
                        "the member name holds a lone UTF-16 surrogate: it is not Unicode text")
            found = _first_unreadable(item, parts + (key,), strings)
            if found:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_unreadable(item, parts + (i,), strings)
            if found:
                return found
    return None


def parse_json(text):
    """JSON text to a value, within the limits of docs/SCHEMA.md ("Limits"), checked in order:

    nested past MAX_JSON_DEPTH (JsonLimitError too_deep), not JSON (ValueError), then the first
    number no double holds (out_of_range) or lone surrogate (bad_string) in text order. Integers
    beyond 2^53 read as the double they round to.
    """
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        where = _too_deep_pointer(text)
        raise JsonLimitError("too_deep", where, f"{where or '(root)'}: nested more than "
                                                f"{MAX_JSON_DEPTH} arrays and objects deep")
    risky_numbers = bool(_LONG_DIGITS.search(text) or _BIG_EXPONENT.search(text))
    strings = bool(_SURROGATE_ESCAPE.search(text))
    if not risky_numbers:
        value = json.loads(text, parse_constant=_reject_constant)
    else:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_read_float,
                           parse_int=_read_int)
    if risky_numbers or strings:
        found = _first_unreadable(value, (), strings)
        if found:
            code, where, message = found
            raise JsonLimitError(code, where, f"{where or '(root)'}: {message}")
    return value


def load_json_file(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImportFailure(f"{path}: cannot read: {e.strerror}") from e
    try:
        return parse_json(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ImportFailure(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except JsonLimitError as e:
        raise ImportFailure(f"{path}: {e}", e.code, e.pointer) from e
    except ValueError as e:
        raise ImportFailure(f"{path}: not valid JSON: {e}") from e


def pointer(*parts):
    """RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Checker:
    """Stops at the first structural error of one JSON value, as ImportFailure.

    ``file_path`` names the value for people (a file, or "request body");
    ``prefix`` is the JSON pointer of the value inside what was read, so a
    request body's errors point into the body (``/operations/3/value/points``).
    """

    def __init__(self, file_path, context="", prefix=""):
        self.file_path = file_path
        self.context = context
        self.prefix = prefix

    def fail(self, ptr, message, code="invalid"):
        ptr = self.prefix + ptr
        where = ptr or "(root)"
        raise ImportFailure(f"{self.file_path}: {where}: {message}{self.context}", code, ptr)

    def object(self, value, ptr):
        if not isinstance(value, dict):
            self.fail(ptr, "expected a JSON object", "expected_object")
        return value

    def keys(self, obj, ptr, allowed, hint=None):
        for key in obj:
            if key not in allowed:
                extra = (hint or {}).get(key, "")
                self.fail(ptr + pointer(key), f"unknown key {key!r}{extra}", "unknown_key")

    def require(self, obj, ptr, key):
        if key not in obj:
            self.fail(ptr + pointer(key), f"missing required key {key!r}", "missing_key")
        return obj[key]

    def string(self, value, ptr, nonempty=False):
        if not isinstance(value, str) or (nonempty and not value):
            self.fail(ptr, "expected a non-empty string" if nonempty else "expected a string",
                      "expected_string")
        return value

    def integer(self, value, ptr, minimum=None):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 3.0 reads as 3 (docs/SCHEMA.md, section 3)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(ptr, "expected an integer", "expected_integer")
        if abs(value) > MAX_EXACT_INTEGER:
            self.fail(ptr, "must lie within -(2^53-1) and 2^53-1 (an integer a double holds exactly)",
                      "out_of_range")
        if minimum is not None and value < minimum:
            self.fail(ptr, f"must be {minimum} or more", "out_of_range")
        return value

    def number(self, value, ptr):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            self.fail(ptr, "expected a number", "expected_number")
        return value

    def array(self, value, ptr):
        if not isinstance(value, list):
            self.fail(ptr, "expected an array", "expected_array")
        return value


def check_relative_file(name):
    """Why ``name`` is not a safe relative file name, or None if it is."""
    if not name:
        return "empty file name"
    if "\x00" in name:
        return "file name holds a NUL byte"
    if "\\" in name:
        return "backslashes are not allowed (use '/')"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "absolute paths are not allowed"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "'..', '.' and empty path components are not allowed"
        if part.startswith("."):
            return "hidden path components (starting with '.') are not allowed"
    return None


def check_header(ck, value, expected_format, what, allowed_keys):
    """The root of a task or document: an object with our format, version 1 and known keys."""
    if not isinstance(value, dict):
        ck.fail("", "expected a JSON object", "not_object")
    fmt = ck.string(ck.require(value, "", "format"), "/format")
    if fmt != expected_format:
        ck.fail("/format", f"must be {expected_format!r}, not {fmt!r}", "wrong_format")
    version = ck.integer(ck.require(value, "", "version"), "/version")
    if version != 1:
        ck.fail("/version", f"{what} version {version} is not supported (this serve.py reads version 1)",
                "unsupported_version")
    ck.keys(value, "", allowed_keys)


def validate_task(task, file_path, task_dir, prefix="", dir_label=None):
    """Check an import task.json; returns (task for the store, [(source, rel name)]).

    Media files are looked up in ``task_dir`` (named ``dir_label`` in messages).
    """
    ck = _Checker(file_path, prefix=prefix)
    check_header(ck, task, TASK_FORMAT, "task", TASK_KEYS)
    task_id = ck.string(ck.require(task, "", "id"), "/id")
    if not TASK_ID_RE.fullmatch(task_id) or task_id.startswith("."):
        ck.fail("/id", f"task id {task_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                       "and must not start with '.'")
    ck.context = f" (task {task_id!r})"
    name = ck.string(task.get("name", task_id), "/name")
    media = ck.array(ck.require(task, "", "media"), "/media")
    if not media:
        ck.fail("/media", "a task needs at least one image or video")
    out_media, files, seen = [], [], set()
    for i, item in enumerate(media):
        entry, source, rel = validate_media(ck, item, pointer("media", i), task_id, task_dir, seen,
                                            dir_label or task_dir)
        out_media.append(entry)
        files.append((source, rel))
    if "labels" in task:
        validate_labels(ck, task["labels"])
    if "settings" in task:
        ck.object(task["settings"], "/settings")
    if "meta" in task:
        ck.object(task["meta"], "/meta")
    stored = dict(task)
    stored["name"] = name
    stored["media"] = out_media
    return stored, files


def validate_media(ck, item, ptr, task_id, task_dir, seen_ids, dir_label):
    ck.object(item, ptr)
    ck.keys(item, ptr, MEDIA_KEYS,
            {"url": ": an import task.json names each medium by 'file' (relative to its "
                    "directory); serve.py writes the url"})
    media_id = ck.string(ck.require(item, ptr, "id"), ptr + "/id")
    if not ITEM_ID_RE.fullmatch(media_id):
        ck.fail(ptr + "/id", f"media id {media_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . : -")
    if media_id in seen_ids:
        ck.fail(ptr + "/id", f"media id {media_id!r} is used twice")
    seen_ids.add(media_id)
    mtype = ck.string(ck.require(item, ptr, "type"), ptr + "/type")
    if mtype not in ("image", "video"):
        ck.fail(ptr + "/type", f"media type {mtype!r} must be 'image' or 'video'")
    rel = ck.string(ck.require(item, ptr, "file"), ptr + "/file")
    problem = check_relative_file(rel)
    if problem:
        ck.fail(ptr + "/file", f"unsafe file name {rel!r}: {problem}", "bad_file_name")
    source = os.path.join(task_dir, *rel.split("/"))
    real_dir = os.path.realpath(task_dir)
    if not is_within(os.path.realpath(source), real_dir):
        ck.fail(ptr + "/file", f"file {rel!r} resolves outside the task directory")
    if not os.path.isfile(source):
        ck.fail(ptr + "/file", f"file {rel!r} does not exist in {dir_label}")
    if mtype in ("image", "video"):
        problem = check_media_file(source, mtype)
        if problem:
            ck.fail(ptr + "/file", f"file {rel!r} {problem}", "bad_media")
    if "name" in item:
        ck.string(item["name"], ptr + "/name")
    for key in ("width", "height"):
        if key in item:
            ck.integer(item[key], f"{ptr}/{key}", minimum=1)
    if "frames" in item:
        frames = ck.integer(item["frames"], ptr + "/frames", minimum=1)
        if mtype == "image" and frames != 1:
            ck.fail(ptr + "/frames", "an image has exactly 1 frame")
    if "fps" in item and ck.number(item["fps"], ptr + "/fps") <= 0:
        ck.fail(ptr + "/fps", "must be positive")
    entry = {k: v for k, v in item.items() if k != "file"}
    entry["url"] = "/media/" + urllib.parse.quote(task_id) + "/" + urllib.parse.quote(rel)
    entry.setdefault("name", posixpath.basename(rel))
    return entry, source, rel


def validate_labels(ck, labels):
    ck.array(labels, "/labels")
    seen = set()
    for i, label in enumerate(labels):
        ptr = pointer("labels", i)
        ck.object(label, ptr)
        label_id = ck.string(ck.require(label, ptr, "id"), ptr + "/id")
        if not ITEM_ID_RE.fullmatch(label_id):
            ck.fail(ptr + "/id", f"label id {label_id!r} must be 1 to 64 characters from A-Z a-z 0-9 _ . : -")
        if label_id in seen:
            ck.fail(ptr + "/id", f"label id {label_id!r} is used twice")
        seen.add(label_id)


# docs/schema/*.json are the one definition of the annotation document and of the PATCH body:
# values are checked against them (python3-jsonschema, Debian's 4.10 or later), and here only
# by the rules JSON Schema cannot state (docs/SCHEMA.md, section 8). Errors keep the codes and
# pointers of docs/SCHEMA.md section 7: of every error found, the one first in its walk order
# is reported, as a reader that stops at the first error would.
SCHEMA_DIR = os.environ.get("POLYMARK_SCHEMA_DIR") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "schema")
SCHEMA_FILES = {"annotations": "annotations.v1.schema.json", "patch": "patch.v1.schema.json",
                "review": "review.v1.schema.json"}
BOX_TYPES = ("rectangle", "ellipse")
POINT_TYPES = ("rectangle", "ellipse", "polygon", "polyline", "points")  # the schema has their counts

# Walk order of docs/SCHEMA.md section 7 per kind of value; None is where unknown keys go.
_WALK_ORDER = {
    "document": ("format", "version", None, "objects", "tracks", "meta"),
    "object": ("id", "type", "frame", "label", None, "points", "rotation", "attributes", "source",
               "score", "z", "group", "occluded", "guideline", "meta"),
    "track": ("id", "type", "label", None, "keyframes", "attributes", "source", "group",
              "interpolation", "guideline", "meta"),
    "keyframe": ("id", "frame", None, "points", "rotation", "outside", "occluded", "z",
                 "attributes", "source", "score", "meta"),
    "patch": (None, "base_revision", "user", "device", "operations"),
    "operation": (None, "op_id", "kind", "op", "id", "value", "index"),
}
_LIST_OF = {("document", "objects"): "object", ("document", "tracks"): "track",
            ("track", "keyframes"): "keyframe", ("patch", "operations"): "operation"}
_TYPE_CODES = {"object": ("expected_object", "a JSON object"), "array": ("expected_array", "an array"),
               "string": ("expected_string", "a string"), "integer": ("expected_integer", "an integer"),
               "number": ("expected_number", "a number"), "boolean": ("expected_boolean", "true or false")}
# Where an error sorts among the errors of the same value: its type first, then the value's own
# rules, then (after its children) the rules about the whole of it.
_BEFORE, _CHILD, _AFTER = 0, 1, 2
_PHASE = {"missing_key": (_BEFORE, -1), "unknown_key": (_BEFORE, -1), "not_object": (_BEFORE, 0),
          "duplicate_id": (_BEFORE, 2), "bad_points": (_AFTER, 0), "bad_box": (_AFTER, 1)}


@functools.lru_cache(maxsize=None)
def _ecma_regex(pattern):
    # ECMA-262 "$" ends the text; Python's also matches before a final newline ("a\n").
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith("\\$")
                      else pattern)


def _ecma_pattern(validator, pattern, instance, schema):
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _with_borrowed_defs(schema, schemas):
    """``schema`` with the $defs it refers to in other files ("<$id>#/$defs/x") copied into its own,
    so that every reference is local: jsonschema 4.10 cannot follow a reference out of a
    file whose $id is a URN and then resolve that file's own "#/..." references."""
    by_id = {s["$id"]: s for s in schemas}
    defs = {}

    def local(node):
        if isinstance(node, list):
            return [local(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "$ref" and value.split("#")[0] in by_id and value.split("#")[0] != schema["$id"]:
                for name, definition in by_id[value.split("#")[0]].get("$defs", {}).items():
                    defs[name] = definition
                value = "#" + value.split("#", 1)[1]
            out[key] = local(value)
        return out

    merged = local(schema)
    done = {}
    while len(done) < len(defs):  # borrowed definitions may borrow from further files
        for name in [n for n in defs if n not in done]:
            done[name] = local(defs[name])
    for name, definition in done.items():
        if merged.setdefault("$defs", {}).setdefault(name, definition) is not definition:
            raise ValueError(f"{schema['$id']}: $defs/{name} is defined in two files")
    return merged


class _Schemas:
    """A validator per schema file, made once. Before jsonschema 4.18 the reference resolver
    keeps state while it works, so each call gets a validator of its own."""

    def __init__(self, directory):
        loaded = []
        for file_name in SCHEMA_FILES.values():
            with open(os.path.join(directory, file_name), encoding="utf-8") as f:
                loaded.append(json.load(f))
        self.schemas = {name: _with_borrowed_defs(schema, loaded)
                        for name, schema in zip(SCHEMA_FILES, loaded)}
        self.classes = {name: jsonschema.validators.extend(
            jsonschema.validators.validator_for(schema), {"pattern": _ecma_pattern})
            for name, schema in self.schemas.items()}
        self.fast = {name: fastjsonschema.compile(schema) for name, schema in self.schemas.items()} \
            if fastjsonschema else {}
        self.shared = None
        if importlib.util.find_spec("referencing"):  # jsonschema 4.18 and later: immutable, thread-safe
            self.shared = {name: cls(self.schemas[name]) for name, cls in self.classes.items()}

    def validator(self, name):
        if self.shared is not None:
            return self.shared[name]
        return self.classes[name](self.schemas[name])


_SCHEMAS = _Schemas(SCHEMA_DIR)
MAX_OPERATIONS = _SCHEMAS.schemas["patch"]["properties"]["operations"]["maxItems"]  # in one PATCH


def _as_integer(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 reads as 3 (docs/SCHEMA.md, section 3)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _failures_of(error):
    """[(code, parts, message)] for one jsonschema error, in the terms of docs/SCHEMA.md section 7."""
    parts = tuple(error.absolute_path)
    keyword, instance, owner = error.validator, error.instance, (error.absolute_path or [None])[-1]
    if keyword == "type":
        if isinstance(error.validator_value, list):  # only attribute values have a choice of types
            return [("bad_attribute", parts, "an attribute value is a string, a number or a boolean")]
        if not parts:
            return [("not_object", parts, "expected a JSON object")]
        code, words = _TYPE_CODES[error.validator_value]
        return [(code, parts, "expected " + words)]
    if keyword == "required":
        return [("missing_key", parts + (key,), f"missing required key {key!r}")
                for key in error.validator_value if key not in instance]
    if keyword == "additionalProperties":
        known = error.schema.get("properties", {})
        return [("unknown_key", parts + (key,), f"unknown key {key!r}") for key in instance if key not in known]
    if keyword == "not" and list(error.validator_value) == ["required"]:  # a key this variant forbids
        if not isinstance(instance, dict):
            return []  # "required" holds for any other value; its type is the error
        return [("unknown_key", parts + (key,), f"key {key!r} is not allowed here")
                for key in error.validator_value["required"]]
    if keyword == "pattern":
        return [("bad_id", parts, f"{owner} {instance[:80]!r} must match {error.validator_value}")]
    if keyword == "minLength":
        return [("expected_string", parts, "expected a non-empty string")]
    if keyword in ("minItems", "maxItems") and owner == "points":
        return [("bad_points", parts, f"{len(instance)} numbers are too few or too many for this type")]
    if keyword in ("minimum", "maximum", "minItems", "maxItems", "maxLength"):
        return [("out_of_range", parts, error.message)]
    if keyword == "const" and owner == "format":
        return [("wrong_format", parts, f"must be {error.validator_value!r}, not {instance!r}")]
    if keyword == "const" and owner == "version":
        number = _as_integer(instance)
        if number is not None and abs(number) > MAX_EXACT_INTEGER:
            return [("out_of_range", parts, "must lie within -(2^53-1) and 2^53-1")]
        return [("unsupported_version", parts,
                 f"version {instance} is not supported (this serve.py reads version {error.validator_value})")]
    if keyword in ("enum", "const") and not isinstance(instance, str):  # every enumeration is of strings
        return [("expected_string", parts, "expected a string")]
    if keyword in ("enum", "const"):
        allowed = error.validator_value if keyword == "enum" else [error.validator_value]
        return [("bad_enum", parts, f"{instance!r} is not one of {', '.join(map(str, allowed))}")]
    return [("invalid", parts, error.message)]


def _walk_key(root, kind, parts, code, after=False):
    """Where an error at ``parts`` comes in the walk order of docs/SCHEMA.md section 7."""
    key, value = [], root
    for depth, part in enumerate(parts):
        order = _WALK_ORDER.get(kind) if isinstance(value, dict) else None
        if order is None:
            position = (part if isinstance(part, int) else
                        list(value).index(part) if isinstance(value, dict) and part in value else 0, 0)
        elif (part not in order or code == "unknown_key" and depth == len(parts) - 1
              and not (kind == "operation" and part in ("value", "index"))):
            position = (order.index(None), list(value).index(part) if part in value else 0)
        else:
            position = (order.index(part), 0)
        key.append((_CHILD,) + position)
        if isinstance(value, list):
            kind = kind[1:] if isinstance(kind, str) and kind.startswith("[") else "free"
            value = value[part] if isinstance(part, int) and part < len(value) else None
        elif isinstance(value, dict):
            listed = _LIST_OF.get((kind, part))
            kind = ("[" + listed) if listed else (
                value.get("kind") if kind == "operation" and part == "value" else "free")
            value = value.get(part)
        else:
            kind, value = "free", None
    key.append((_AFTER, 9) if after else
               _PHASE.get(code, (_BEFORE, 0) if code.startswith("expected_") else (_BEFORE, 1)))
    return key


def _points_rules(points, parts, shape_type, out):
    if shape_type not in POINT_TYPES or not isinstance(points, list):
        return
    n = len(points)
    if n % 2:
        out.append(("bad_points", parts, f"{n} numbers do not make the points of a {shape_type}", None))
    elif shape_type in BOX_TYPES and n == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in points):
        if points[0] > points[2] or points[1] > points[3]:
            out.append(("bad_box", parts, "a box needs x1 <= x2 and y1 <= y2", None))


def _meta_rules(owner, parts, out):
    """meta nests at most MAX_META_DEPTH levels (so a document fits in any request)."""
    meta = owner.get("meta")
    if not isinstance(meta, dict):
        return
    stack = [(meta, parts + ("meta",), 1)]
    while stack:
        item, where, level = stack.pop()
        if level > MAX_META_DEPTH:
            out.append(("too_deep", where, f"nested more than {MAX_META_DEPTH} levels deep in meta", None))
            return
        children = item.items() if isinstance(item, dict) else enumerate(item)
        stack.extend(reversed([(child, where + (key,), level + 1) for key, child in children
                               if isinstance(child, (dict, list))]))


def _item_rules(value, parts, kind, ids, out):
    """The rules of one object or track JSON Schema cannot state (ids in the one namespace ``ids``)."""
    if not isinstance(value, dict):
        return

    def register(item_id, where):
        if isinstance(item_id, str):  # an invalid id fails earlier in the walk, by the schema
            if item_id in ids:
                out.append(("duplicate_id", where, f"id {item_id!r} is already used in this document", None))
            ids.add(item_id)

    register(value.get("id"), parts + ("id",))
    shape_type = value.get("type")
    if kind == "object":
        if shape_type != "tag":
            _points_rules(value.get("points"), parts + ("points",), shape_type, out)
    elif isinstance(value.get("keyframes"), list):
        previous = None
        for k, kf in enumerate(value["keyframes"]):
            if not isinstance(kf, dict):
                continue
            kp = parts + ("keyframes", k)
            register(kf.get("id"), kp + ("id",))
            _points_rules(kf.get("points"), kp + ("points",), shape_type, out)
            _meta_rules(kf, kp, out)
            frame = _as_integer(kf.get("frame"))
            if frame is not None:
                if previous is not None and frame <= previous:
                    out.append(("keyframe_order", kp + ("frame",),
                                f"keyframe frame {frame} is not after {previous}", kp))
                previous = frame
    _meta_rules(value, parts, out)


def _document_rules(doc, out):
    if isinstance(doc, dict):
        ids = set()
        for key in ("objects", "tracks"):
            if isinstance(doc.get(key), list):
                for i, item in enumerate(doc[key]):
                    _item_rules(item, (key, i), key[:-1], ids, out)
        _meta_rules(doc, (), out)


def document_rule_failures(doc):
    """[(code, pointer)] that the rules JSON Schema cannot state find in a document, in walk order."""
    found = []
    _document_rules(doc, found)
    found.sort(key=lambda f: _walk_key(doc, "document", f[3] if f[3] is not None else f[1], f[0],
                                       f[3] is not None))
    return [(code, pointer(*parts)) for code, parts, _, _ in found]


def _first_failure(name, value, kind, rules, file_path, context="", prefix=""):
    """Raises ImportFailure with the first error of ``value`` in walk order, if any."""
    found = []
    rules(found)
    if not found and name in _SCHEMAS.fast:
        try:
            _SCHEMAS.fast[name](value)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema lists every error, to find the first in walk order
    found += [(code, parts, message, None) for error in _SCHEMAS.validator(name).iter_errors(value)
              for code, parts, message in _failures_of(error)]
    if not found:
        return
    code, parts, message, after = min(found, key=lambda f: _walk_key(
        value, kind, f[3] if f[3] is not None else f[1], f[0], f[3] is not None))
    where = prefix + pointer(*parts)
    raise ImportFailure(f"{file_path}: {where or '(root)'}: {message}{context}", code, where)


def validate_document(doc, file_path, task_id=None, prefix=""):
    """Structural check of an annotation document v1 (docs/SCHEMA.md sections 3-8).

    Raises ImportFailure with the code and JSON pointer of the first error. The task check
    (labels, frame counts) is the client's; ids are unique document-wide.
    """
    _first_failure("annotations", doc, "document", lambda out: _document_rules(doc, out), file_path,
                   f" (task {task_id!r})" if task_id else "", prefix)
    return doc


def validate_patch(body, user, device, schema="patch"):
    """Check a PATCH body; returns (base_revision, user, device, [operation]). Raises ImportFailure.

    ``user`` and ``device`` are what the request says (body, headers or token). Each value is
    checked as a whole Object or Track with its own ids unique (``schema`` "patch"), or as a whole
    issue, comment or decision (``schema`` "review": PATCH /api/tasks/{id}/review).
    """
    def rules(out):
        if not isinstance(body, dict):
            return
        for key, value in (("user", user), ("device", device)):
            if value is None:
                out.append(("missing_key", (key,), f"missing {key!r} (in the body or the "
                                                   f"X-Polymark-{key.title()} header)", None))
            elif not isinstance(value, str) or not value:
                out.append(("expected_string", (key,), "expected a non-empty string", None))
            elif len(value) > 128:
                out.append(("out_of_range", (key,), f"{key} is longer than 128 characters", None))
        op_ids = set()
        for i, op in enumerate(body.get("operations") if isinstance(body.get("operations"), list) else ()):
            if not isinstance(op, dict):
                continue
            parts = ("operations", i)
            if isinstance(op.get("op_id"), str):
                if op["op_id"] in op_ids:
                    out.append(("duplicate_id", parts + ("op_id",),
                                f"op_id {op['op_id']!r} is used twice in this request", None))
                op_ids.add(op["op_id"])
            value = op.get("value")
            kinds = ANNOTATION_KINDS if schema == "patch" else REVIEW_KINDS
            if op.get("op") in ("create", "update") and op.get("kind") in kinds and isinstance(value, dict):
                if schema == "patch":
                    _item_rules(value, parts + ("value",), op["kind"], set(), out)
                elif op["kind"] == "issue":
                    _points_rules(value.get("points"), parts + ("value", "points"), "rectangle", out)
                if value.get("id") != op.get("id"):
                    out.append(("bad_id", parts + ("value", "id"), f"value id {value.get('id')!r} is not "
                                f"the operation's id {op.get('id')!r}", parts + ("value",)))

    _first_failure(schema, body, "patch", rules, "request body")
    operations = []
    for op in body["operations"]:
        entry = {key: op[key] for key in ("op_id", "kind", "op", "id", "value") if key in op}
        if "index" in op:
            entry["index"] = _as_integer(op["index"])
        operations.append(entry)
    return _as_integer(body["base_revision"]), user, device, operations


def _media_spans(task):
    """[(first, end)] frames of each medium of a task, in order, as far as frame counts are known:
    an image is 1 frame; a video without "frames" ends the list (what follows it is not known)."""
    spans, first = [], 0
    for medium in task.get("media") or ():
        count = 1 if isinstance(medium, dict) and medium.get("type") == "image" else \
            medium.get("frames") if isinstance(medium, dict) else None
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            break
        spans.append((first, first + count))
        first += count
    return spans


def task_rule_failures(task, items):
    """What a task refuses in objects and tracks that are otherwise valid (docs/SCHEMA.md section 7):
    a label whose "types" exclude the shape's type (type_not_allowed), a track whose keyframes lie in
    two media (track_crosses_media). ``items`` is [(parts, kind, value)]; returns the first failure
    as (code, pointer, message), or None. Unknown labels are the client's to report."""
    labels = {label.get("id"): label for label in task.get("labels") or () if isinstance(label, dict)}
    spans = _media_spans(task)

    def medium_of(frame):
        for index, (first, end) in enumerate(spans):
            if first <= frame < end:
                return index
        return None

    for parts, kind, value in items:
        if not isinstance(value, dict):
            continue
        label, shape_type = labels.get(value.get("label")), value.get("type")
        types = label.get("types") if label else None
        if isinstance(types, list) and types and shape_type not in types:
            return ("type_not_allowed", pointer(*parts, "type"),
                    f"{kind} {value.get('id')!r}: label {value.get('label')!r} does not allow "
                    f"{shape_type} shapes (it allows {', '.join(map(str, types))})")
        if kind == "track" and isinstance(value.get("keyframes"), list):
            first_medium = None
            for k, keyframe in enumerate(value["keyframes"]):
                frame = _as_integer(keyframe.get("frame")) if isinstance(keyframe, dict) else None
                medium = medium_of(frame) if frame is not None else None
                if medium is None:
                    continue
                if first_medium is None:
                    first_medium = medium
                elif medium != first_medium:
                    return ("track_crosses_media", pointer(*parts, "keyframes", k, "frame"),
                            f"track {value.get('id')!r} (label {value.get('label')!r}): keyframe frame {frame} "
                            f"is in another medium than its first keyframe; a track lives within one video "
                            f"or one image")
    return None


def empty_document():
    return {"format": DOCUMENT_FORMAT, "version": 1, "objects": [], "tracks": []}
