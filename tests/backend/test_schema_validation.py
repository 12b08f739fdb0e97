"""serve.py validates documents and PATCH bodies with the JSON Schema files in docs/schema/.

The schema files are the one definition of the formats: serve.py reads its rules from them (a
stricter schema makes it refuse more), adds only what JSON Schema cannot state, and answers with
the code and JSON Pointer of the first error in the walk order of docs/SCHEMA.md section 7,
whichever of its two ways found the errors (python3-fastjsonschema's compiled check for valid
values, python3-jsonschema's full list of errors for the others).

Imports serve.py as a module (POLYMARK_SERVE_SCRIPT names another copy, e.g. an older one).
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from test_sync_routes import op

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCRIPT = os.environ.get("POLYMARK_SERVE_SCRIPT") or os.path.join(ROOT, "serve.py")
SCHEMA_DIR = os.path.join(ROOT, "docs", "schema")
GOLDEN = os.path.join(ROOT, "tests", "data", "schema")


def load_serve(schema_dir=SCHEMA_DIR, name="serve_under_test"):
    """A fresh serve.py module reading its schemas from ``schema_dir``."""
    previous = os.environ.get("POLYMARK_SCHEMA_DIR")
    os.environ["POLYMARK_SCHEMA_DIR"] = schema_dir
    # serve.py's modules live in its server/ package: a fresh serve.py needs a fresh package too.
    loaded = {key: sys.modules.pop(key) for key in list(sys.modules) if key == "server" or key.startswith("server.")}
    try:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for key in [key for key in sys.modules if key == "server" or key.startswith("server.")]:
            del sys.modules[key]
        sys.modules.update(loaded)
        if previous is None:
            del os.environ["POLYMARK_SCHEMA_DIR"]
        else:
            os.environ["POLYMARK_SCHEMA_DIR"] = previous


serve = load_serve()


def rect(item_id, frame=0, **extra):
    return dict({"id": item_id, "type": "rectangle", "frame": frame, "label": "car", "points": [1, 2, 3, 4]},
                **extra)


def track(item_id, frames=(0, 5)):
    return {"id": item_id, "type": "polygon", "label": "car", "keyframes": [
        {"id": f"{item_id}.k{f}", "frame": f, "points": [0, 0, 4, 0, 4, 4]} for f in frames]}


def doc(objects=(), tracks=()):
    return {"format": "polymark.annotations", "version": 1, "objects": list(objects), "tracks": list(tracks)}


def patch(*operations, **extra):
    return dict({"base_revision": 0, "operations": list(operations)}, **extra)


def document_verdict(module, value):
    try:
        module.validate_document(value, "test")
    except module.ImportFailure as e:
        return e.code, e.pointer
    return "ok", ""


def patch_verdict(module, body, user="u", device="d"):
    try:
        module.validate_patch(body, user, device)
    except module.ImportFailure as e:
        return e.code, e.pointer
    return "ok", ""


class BothWays:
    """Runs a check with serve.py's compiled fast path and with jsonschema alone."""

    def each_way(self):
        if not hasattr(serve, "_SCHEMAS"):  # a serve.py before the schema files were its rules
            yield "hand-written"
            return
        fast = serve._SCHEMAS.fast
        ways = [("jsonschema", {})] + ([("fastjsonschema", fast)] if fast else [])
        for name, table in ways:
            serve._SCHEMAS.fast = table
            try:
                yield name
            finally:
                serve._SCHEMAS.fast = fast


class DocumentsAreCheckedAgainstTheSchema(BothWays, unittest.TestCase):
    def test_every_golden_document_gets_its_expected_first_error(self):
        with open(os.path.join(GOLDEN, "invalid", "expectations.json"), encoding="utf-8") as f:
            expectations = json.load(f)
        for way in self.each_way():
            for name in sorted(os.listdir(os.path.join(GOLDEN, "valid"))):
                with self.subTest(way=way, valid=name), open(os.path.join(GOLDEN, "valid", name), "rb") as f:
                    self.assertEqual(("ok", ""), document_verdict(serve, serve.parse_json(f.read().decode())))
            for name, expected in sorted(expectations.items()):
                with open(os.path.join(GOLDEN, "invalid", name), "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                try:
                    value = serve.parse_json(text)
                except ValueError:
                    continue  # the limits of the text, before any schema (test_schema_agreement)
                with self.subTest(way=way, invalid=name):
                    self.assertEqual((expected["code"], expected["path"]), document_verdict(serve, value))

    def test_the_first_error_in_walk_order_wins_over_the_schemas_own_order(self):
        cases = [
            # a duplicate id (a rule of serve.py) comes before the same object's bad type (the schema)
            (doc([rect("a"), rect("a", type="hexagon")]), ("duplicate_id", "/objects/1/id")),
            # an odd count of points (serve.py) comes before a later object's negative frame (the schema)
            (doc([{"id": "p", "type": "polygon", "frame": 0, "label": "x", "points": [0, 0, 1, 1, 2]},
                  rect("b", frame=-1)]), ("bad_points", "/objects/0/points")),
            # numbers are checked before their count, the count before the box
            (doc([rect("r", points=[3, 0, 1, "x", 5])]), ("expected_number", "/objects/0/points/3")),
            (doc([rect("r", points=[3, 0, 1, 1, 5])]), ("bad_points", "/objects/0/points")),
            (doc([rect("r", points=[3, 0, 1, 1])]), ("bad_box", "/objects/0/points")),
            # unknown keys come after the label and before the points
            (doc([rect("r", label="", colour="red")]), ("expected_string", "/objects/0/label")),
            (doc([rect("r", colour="red", points=[1])]), ("unknown_key", "/objects/0/colour")),
            (doc([{"id": "p", "type": "polygon", "frame": 0, "label": "x", "points": [0, 0, 1, 1, 2, 2],
                   "rotation": 5}]), ("unknown_key", "/objects/0/rotation")),
            # a keyframe's order is checked after the whole keyframe
            (doc(tracks=[track("t", (4, 2))]), ("keyframe_order", "/tracks/0/keyframes/1/frame")),
            (doc(tracks=[dict(track("t", (4, 2)), keyframes=[
                {"id": "k4", "frame": 4, "points": [0, 0, 4, 0, 4, 4]},
                {"id": "k2", "frame": 2, "points": [0, 0, 4, 0, 4, 4], "z": 1.5}])]),
             ("expected_integer", "/tracks/0/keyframes/1/z")),
            # the type of a value first, then its other rules
            (dict(doc(), version="1"), ("expected_integer", "/version")),
            (dict(doc(), version=2), ("unsupported_version", "/version")),
            (dict(doc(), version=1e30), ("out_of_range", "/version")),
            (dict(doc(), format=7), ("expected_string", "/format")),
            (doc([rect("r", source=3)]), ("expected_string", "/objects/0/source")),
            # the pattern of ids is the schema's, read as ECMA-262 reads it: "$" ends the text
            (doc([rect("a\n")]), ("bad_id", "/objects/0/id")),
            (doc([rect("r", meta=json.loads("[" * 0 + '{"a":' * 33 + "1" + "}" * 33))]),
             ("too_deep", "/objects/0/meta" + "/a" * 32)),
        ]
        for way in self.each_way():
            for value, expected in cases:
                with self.subTest(way=way, expected=expected):
                    self.assertEqual(expected, document_verdict(serve, value))


class PatchBodiesAreCheckedAgainstTheSchema(BothWays, unittest.TestCase):
    def test_malformed_operations_are_refused_at_their_pointer(self):
        cases = [
            (patch(op("a", "delete", "o1", rect("o1"))), ("unknown_key", "/operations/0/value")),
            (patch(op("a", "update", "o1", rect("o1"), index=0)), ("unknown_key", "/operations/0/index")),
            (patch(op("a", "update", "o1", rect("o1"), index="x")), ("unknown_key", "/operations/0/index")),
            (patch(op("a", "create", "o1")), ("missing_key", "/operations/0/value")),
            (patch(op("a", "create", "o1", rect("o1")), op("a", "create", "o2", rect("o2"))),
             ("duplicate_id", "/operations/1/op_id")),
            (patch(op("a", "create", "o1", rect("o2"))), ("bad_id", "/operations/0/value/id")),
            (patch(op("a", "create", "o1", rect("o2", frame=-1))), ("out_of_range", "/operations/0/value/frame")),
            (patch(op("a b", "create", "o1", rect("o1"))), ("bad_id", "/operations/0/op_id")),
            (patch(op("a", "create", "t", track("t", (3, 1)), kind="track")),
             ("keyframe_order", "/operations/0/value/keyframes/1/frame")),
            (patch(op("a", "create", "t", dict(track("t"), keyframes=[
                {"id": "t", "frame": 0, "points": [0, 0, 1, 0, 1, 1]}]), kind="track")),
             ("duplicate_id", "/operations/0/value/keyframes/0/id")),
            (patch(op("a", "create", "o1", rect("o1")), extra=1), ("unknown_key", "/extra")),
            (patch(op("a", "move", "o1", rect("o1"))), ("bad_enum", "/operations/0/op")),
            (patch(*[op(f"a{i}", "delete", f"o{i}") for i in range(1001)]), ("out_of_range", "/operations")),
            (dict(patch(), base_revision=1e30), ("out_of_range", "/base_revision")),
            (dict(patch(), base_revision=-1), ("out_of_range", "/base_revision")),
        ]
        for way in self.each_way():
            for body, expected in cases:
                with self.subTest(way=way, expected=expected):
                    self.assertEqual(expected, patch_verdict(serve, body))

    def test_user_and_device_come_from_the_body_or_the_request(self):
        body = patch(op("a", "delete", "o1"))
        for way in self.each_way():
            with self.subTest(way=way):
                self.assertEqual(("missing_key", "/user"), patch_verdict(serve, body, None, "d"))
                self.assertEqual(("out_of_range", "/device"), patch_verdict(serve, body, "u", "d" * 129))
                self.assertEqual(("ok", ""), patch_verdict(serve, body, "u", "d"))

    def test_an_accepted_patch_reads_integers_written_as_whole_doubles(self):
        base_revision, user, device, operations = serve.validate_patch(
            patch(op("a", "create", "o1", rect("o1"), index=2.0), base_revision=3.0), "u", "d")
        self.assertEqual((3, "u", "d"), (base_revision, user, device))
        self.assertEqual([{"op_id": "a", "kind": "object", "op": "create", "id": "o1", "value": rect("o1"),
                           "index": 2}], operations)
        self.assertIs(type(operations[0]["index"]), int)


class TheSchemaFilesAreTheRules(unittest.TestCase):
    """A change to docs/schema/ changes what serve.py accepts, with no change to serve.py."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pm-schema-")
        self.schema_dir = os.path.join(self.tmp, "schema")
        shutil.copytree(SCHEMA_DIR, self.schema_dir)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def edit(self, file_name, change):
        path = os.path.join(self.schema_dir, file_name)
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        change(schema)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(schema, f)

    def test_a_stricter_schema_makes_serve_py_refuse_more(self):
        def short_labels(schema):
            schema["$defs"]["label"]["maxLength"] = 3

        def fewer_operations(schema):
            schema["properties"]["operations"]["maxItems"] = 2

        self.edit("annotations.v1.schema.json", short_labels)
        self.edit("patch.v1.schema.json", fewer_operations)
        strict = load_serve(self.schema_dir, "serve_strict")
        long_label = doc([rect("r", label="bicycle")])
        three = patch(*[op(f"a{i}", "delete", f"o{i}") for i in range(3)])
        self.assertEqual(("ok", ""), document_verdict(serve, long_label))
        self.assertEqual(("out_of_range", "/objects/0/label"), document_verdict(strict, long_label))
        self.assertEqual(("ok", ""), patch_verdict(serve, three))
        self.assertEqual(("out_of_range", "/operations"), patch_verdict(strict, three))
        # the operation's value is checked with the annotation schema's own object
        self.assertEqual(("out_of_range", "/operations/0/value/label"),
                         patch_verdict(strict, patch(op("a", "create", "r", rect("r", label="bicycle")))))

    def test_serve_py_will_not_start_without_its_schema_files(self):
        os.remove(os.path.join(self.schema_dir, "patch.v1.schema.json"))
        env = dict(os.environ, POLYMARK_SCHEMA_DIR=self.schema_dir)
        run = subprocess.run([sys.executable, SCRIPT, "--port", "0", "--db", os.path.join(self.tmp, "db.sqlite")],
                             env=env, capture_output=True, text=True, timeout=20)
        self.assertNotEqual(0, run.returncode)
        self.assertIn("patch.v1.schema.json", run.stderr)


if __name__ == "__main__":
    unittest.main()
