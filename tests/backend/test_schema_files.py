"""The JSON Schema files in docs/schema/ against the golden files in tests/data/.

Checks that every valid golden file validates, that every invalid one whose defect JSON Schema can
express is rejected (near the expected JSON Pointer), and that every invalid one marked
"schema_catches": false is accepted by the schema and caught instead by the few rules the schema
cannot state (for documents serve.py's own checks of them; for tasks re-stated below). The C++
validator is tested against the same golden files by tests/unit/document_test.cpp and task_test.cpp.

Run from the repository root: /usr/bin/python3 -m unittest tests/backend/test_schema_files.py -v
Needs Debian's python3-jsonschema (4.10 has draft 2020-12); without it the tests fail, never skip.
"""
import json
import math
import pathlib
import re
import sys
import unittest

try:
    import jsonschema
except ImportError:  # reported as a failure by every test below
    jsonschema = None

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import serve  # noqa: E402  (the rules the schema cannot state are serve.py's: one copy of them)
SCHEMA_DIR = ROOT / "docs" / "schema"
DATA = ROOT / "tests" / "data"
DEMO_TASK = ROOT / "assets" / "demo" / "task.json"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pointer_get(doc, pointer):
    """Resolves an RFC 6901 JSON Pointer; raises KeyError/IndexError/TypeError if it does not resolve."""
    if pointer == "":
        return doc
    assert pointer.startswith("/"), pointer
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc


def pointer_of(parts):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


# [SECTION] The rules JSON Schema cannot express, in the walk order of docs/SCHEMA.md.

MAX_JSON_DEPTH, MAX_META_DEPTH = 64, 32  # docs/SCHEMA.md, "Limits"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def first_too_deep(value, parts=(), depth=1, limit=MAX_JSON_DEPTH):
    """The pointer of the first array or object nested past `limit`, in document order."""
    if not isinstance(value, (dict, list)):
        return None
    if depth > limit:
        return pointer_of(parts)
    for key, item in (value.items() if isinstance(value, dict) else enumerate(value)):
        found = first_too_deep(item, parts + (key,), depth + 1, limit)
        if found is not None:
            return found
    return None


def first_unreadable(value, parts=()):
    """A number no double holds (Python reads 1e400 as inf, 10^309 as an int) or a lone surrogate."""
    if isinstance(value, float) and not math.isfinite(value):
        return ("out_of_range", pointer_of(parts))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 1024:
        return ("out_of_range", pointer_of(parts))
    if isinstance(value, str) and LONE_SURROGATE.search(value):
        return ("bad_string", pointer_of(parts))
    for key, item in (value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()):
        if isinstance(key, str) and LONE_SURROGATE.search(key):
            return ("bad_string", pointer_of(parts + (LONE_SURROGATE.sub("\ufffd", key),)))
        found = first_unreadable(item, parts + (key,))
        if found:
            return found
    return None


def limit_errors(value):
    """The limits of every JSON text, checked before anything else (docs/SCHEMA.md, "Limits")."""
    deep = first_too_deep(value)
    if deep is not None:
        return [("too_deep", deep)]
    found = first_unreadable(value)
    return [found] if found else []


def document_extra_errors(doc):
    """serve.py's own checks of the rules the schema cannot state, first error first."""
    return limit_errors(doc) or serve.document_rule_failures(doc)


def task_extra_errors(task):
    if limit_errors(task):
        return limit_errors(task)
    errors = []
    media_ids = set()
    for i, m in enumerate(task.get("media", [])):
        if m.get("id") in media_ids:
            errors.append(("duplicate_id", "/media/%d/id" % i))
        media_ids.add(m.get("id"))
    label_ids = set()
    for i, label in enumerate(task.get("labels", [])):
        attribute_ids = set()
        for k, a in enumerate(label.get("attributes", [])):
            path = "/labels/%d/attributes/%d" % (i, k)
            if a.get("type") == "number" and a.get("min", 0) > a.get("max", 0):
                errors.append(("out_of_range", path + "/max"))
            if "default" in a:
                d = a["default"]
                if a.get("type") in ("select", "radio") and d not in a.get("values", []):
                    errors.append(("bad_attribute", path + "/default"))
                if a.get("type") == "number" and not (a.get("min", 0) <= d <= a.get("max", 0)):
                    errors.append(("bad_attribute", path + "/default"))
            if a.get("id") in attribute_ids:
                errors.append(("duplicate_id", path + "/id"))
            attribute_ids.add(a.get("id"))
        if label.get("id") in label_ids:
            errors.append(("duplicate_id", "/labels/%d/id" % i))
        label_ids.add(label.get("id"))
    return errors


# [SECTION] Tests

class SchemaFiles(unittest.TestCase):
    kind = None  # set by subclasses

    def setUp(self):
        if jsonschema is None:
            self.fail("python3-jsonschema is not installed: apt-get install python3-jsonschema "
                      "(these tests must not be skipped)")
        self.schema = load(SCHEMA_DIR / self.schema_file)
        self.validator_class = jsonschema.validators.validator_for(self.schema, default=None)
        self.validator = self.validator_class(self.schema) if self.validator_class else None

    def golden(self, which):
        files = sorted(p for p in (DATA / self.data_dir / which).glob("*.json") if p.name != "expectations.json")
        self.assertTrue(files, "no golden files in %s" % (DATA / self.data_dir / which))
        return files

    def schema_errors(self, doc):
        return list(self.validator.iter_errors(doc))

    def test_schema_is_a_valid_draft_2020_12_schema(self):
        self.assertIs(self.validator_class, jsonschema.Draft202012Validator)
        jsonschema.Draft202012Validator.check_schema(self.schema)

    def test_every_valid_golden_file_validates(self):
        files = self.golden("valid")
        self.assertGreaterEqual(len(files), self.min_valid)
        for path in files:
            with self.subTest(file=path.name):
                doc = load(path)
                errors = self.schema_errors(doc)
                self.assertEqual([], ["%s: %s" % (pointer_of(e.absolute_path), e.message) for e in errors])
                self.assertEqual([], self.extra_errors(doc), "a rule the schema cannot express")

    def test_every_invalid_golden_file_has_an_expectation_and_one_defect(self):
        expectations = load(DATA / self.data_dir / "invalid" / "expectations.json")
        files = {p.name for p in self.golden("invalid")}
        self.assertGreaterEqual(len(files), self.min_invalid)
        self.assertEqual(files, set(expectations), "invalid files and expectations.json must name the same files")
        schema_md = (ROOT / "docs" / "SCHEMA.md").read_text(encoding="utf-8")
        for name, expected in sorted(expectations.items()):
            with self.subTest(file=name):
                self.assertEqual({"code", "path"}, set(expected) - {"schema_catches"})
                code, path = expected["code"], expected["path"]
                self.assertIn("`%s`" % code, schema_md, "error code not documented in docs/SCHEMA.md")
                self.assertTrue(path == "" or path.startswith("/"), "not a JSON Pointer: %r" % path)
                try:
                    doc = load(DATA / self.data_dir / "invalid" / name)
                except ValueError:
                    self.assertEqual("not_json", code)
                    self.assertIs(expected.get("schema_catches"), False)
                    continue
                if code in ("not_object",):
                    self.assertNotIsInstance(doc, dict)
                else:
                    # The pointer's parent exists (a missing key points where the key would be).
                    pointer_get(doc, path.rsplit("/", 1)[0])
                errors = self.schema_errors(doc)
                if expected.get("schema_catches", True):
                    self.assertTrue(errors, "the schema accepts a document that must fail with %s at %s" % (code, path))
                    where = [pointer_of(e.absolute_path) for e in errors]
                    near = [w for w in where if path == w or path.startswith(w + "/")]
                    self.assertTrue(near, "schema errors at %s, none at or above %s" % (where, path))
                else:
                    # The one defect is one the schema cannot express: the schema accepts the file,
                    # and the rules it cannot express find exactly the expected error first.
                    self.assertEqual([], ["%s: %s" % (pointer_of(e.absolute_path), e.message) for e in errors])
                    extra = self.extra_errors(doc)
                    self.assertTrue(extra, "schema_catches is false but no other rule catches it")
                    self.assertEqual((code, path), extra[0])


class AnnotationSchema(SchemaFiles):
    schema_file = "annotations.v1.schema.json"
    data_dir = "schema"
    min_valid, min_invalid = 8, 14
    extra_errors = staticmethod(document_extra_errors)


class TaskSchema(SchemaFiles):
    schema_file = "task.v1.schema.json"
    data_dir = "task"
    min_valid, min_invalid = 2, 5
    extra_errors = staticmethod(task_extra_errors)

    def test_demo_task_validates(self):
        if not DEMO_TASK.exists():
            self.skipTest("no %s yet" % DEMO_TASK.relative_to(ROOT))
        task = load(DEMO_TASK)
        errors = self.schema_errors(task)
        self.assertEqual([], ["%s: %s" % (pointer_of(e.absolute_path), e.message) for e in errors])
        self.assertEqual([], self.extra_errors(task))


del SchemaFiles  # the base class holds no tests of its own

if __name__ == "__main__":
    unittest.main()
