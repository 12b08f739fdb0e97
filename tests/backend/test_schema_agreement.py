"""serve.py and the C++ reader accept exactly the same annotation documents.

A few thousand documents are made from the valid golden files (tests/data/schema/valid) with a
fixed seed: numbers swapped for huge or odd literals, deep nesting in meta and attributes, lone
surrogates in strings and member names, wrong types, long strings, removed and added keys, cut
text. Each is judged by serve.py's own parse_json + validate_document (imported as a module, the
path a PUT takes) and by the C++ reader (polymark_validate, built from shared/ only); both must
accept it or both refuse it with the same first error (code and JSON pointer). The limits of
docs/SCHEMA.md ("Limits") are also checked over real HTTP, on PUT and PATCH.

Needs POLYMARK_VALIDATE (set by ctest) naming the polymark_validate binary.
"""

import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
import serve  # noqa: E402
from test_serve import ServerProcess, make_demo_dir, stop_serving  # noqa: E402
from test_sync_routes import SyncMixin, document, op, rect  # noqa: E402

GOLDEN_VALID = os.path.join(ROOT, "tests", "data", "schema", "valid")
SEED = 21
COPIES_PER_GOLDEN = 200  # 15 golden files: 3,000 documents

# Literals that stand for themselves in the text: a JSON value can not hold them all (1e400).
ODD_NUMBERS = ["1" + "0" * 309, "-" + "9" * 400, "1e400", "-1e400", "1E+309", "1e308", "1e-400",
               "9007199254740991", "9007199254740992", "-9007199254740992", "1e30",
               "1000000000000000000000000000000", "18446744073709551616", "9223372036854775808",
               "-0", "0.0", "3.0", "2.5", "1e2", "-1", "1e15", "123456789012345678"]
ODD_VALUES = [None, True, False, "", "x", [], {}, "a" * 65, "a" * 5000, "car\ud800", "\udc00",
              "\ud83d\ude00", "é/~", [1, 2], {"a": 1}]


def python_verdict(data):
    """serve.py's answer to a PUT of these bytes: ("ok", "") or (code, pointer)."""
    try:
        value = serve.parse_json(data.decode("utf-8"))
    except serve.JsonLimitError as e:
        return e.code, e.pointer
    except (UnicodeDecodeError, ValueError):
        return "not_json", ""
    try:
        serve.validate_document(value, "request body")
    except serve.ImportFailure as e:
        return e.code, e.pointer
    return "ok", ""


def cpp_verdicts(paths):
    binary = os.environ.get("POLYMARK_VALIDATE")
    if not binary:
        raise AssertionError("POLYMARK_VALIDATE must name the polymark_validate binary (ctest sets it)")
    out = subprocess.run([binary], input="\n".join(paths) + "\n", capture_output=True, text=True,
                         encoding="utf-8", check=True, timeout=600).stdout
    verdicts = {}
    for line in out.splitlines():
        r = json.loads(line)
        verdicts[r["file"]] = ("ok", "") if r["ok"] else (r["code"], r["path"])
    return verdicts


def nested(depth, as_list=False):
    """JSON text of `depth` arrays or objects, one in the other (json.dumps would recurse)."""
    return ("[" * depth + "1" + "]" * depth) if as_list else ('{"k": ' * depth + "1" + "}" * depth)


class Mutator:
    """One document, one defect (sometimes two), from a seeded random stream."""

    def __init__(self, rng):
        self.rng = rng

    def places(self, value, path=()):
        yield path
        if isinstance(value, dict):
            for key, item in value.items():
                yield from self.places(item, path + (key,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                yield from self.places(item, path + (i,))

    @staticmethod
    def get(value, path):
        for part in path:
            value = value[part]
        return value

    def set(self, doc, path, new):
        if not path:
            return new
        self.get(doc, path[:-1])[path[-1]] = new
        return doc

    def mutate(self, doc):
        """(text, how): the mutated document as JSON text."""
        rng = self.rng
        literals = {}

        def literal(text):
            mark = "@@literal%d@@" % len(literals)
            literals[mark] = text
            return mark

        doc = copy.deepcopy(doc)
        places = list(self.places(doc))
        path = rng.choice(places)
        target = self.get(doc, path)
        kind = rng.choice(["number", "number", "number", "value", "value", "deep_meta", "deep_value",
                           "surrogate_key", "drop_key", "add_key", "long_string", "cut", "integer_field"])
        how = kind
        if kind == "number":
            numbers = [p for p in places if isinstance(self.get(doc, p), (int, float))
                       and not isinstance(self.get(doc, p), bool)]
            path = rng.choice(numbers or places)
            doc = self.set(doc, path, literal(rng.choice(ODD_NUMBERS)))
        elif kind == "integer_field":
            fields = [p for p in places if p and p[-1] in ("frame", "z", "version")]
            path = rng.choice(fields or places)
            doc = self.set(doc, path, literal(rng.choice(ODD_NUMBERS)))
        elif kind == "value":
            doc = self.set(doc, path, copy.deepcopy(rng.choice(ODD_VALUES)))
        elif kind == "deep_meta":
            owners = [p for p in places if isinstance(self.get(doc, p), dict) and "id" in self.get(doc, p)]
            owner = self.get(doc, rng.choice(owners)) if owners else doc
            depth = rng.choice([30, 31, 32, 33, 40, 60, 62, 63, 64, 65, 70, 990])
            owner["meta"] = literal(nested(depth, as_list=rng.random() < 0.3))
            how += " %d" % depth
        elif kind == "deep_value":
            depth = rng.choice([2, 10, 60, 61, 62, 63, 64, 65, 100])
            doc = self.set(doc, path, literal(nested(depth, as_list=rng.random() < 0.5)))
            how += " %d" % depth
        elif kind == "surrogate_key":
            owners = [p for p in places if isinstance(self.get(doc, p), dict)]
            owner = self.get(doc, rng.choice(owners))
            owner[rng.choice(["meta", "a\udc00", "\ud800"])] = {"b\ud800c": 1} if rng.random() < 0.5 else 1
        elif kind == "drop_key":
            owners = [p for p in places if isinstance(self.get(doc, p), dict) and self.get(doc, p)]
            if owners:
                owner = self.get(doc, rng.choice(owners))
                del owner[rng.choice(list(owner))]
        elif kind == "add_key":
            owners = [p for p in places if isinstance(self.get(doc, p), dict)]
            owner = self.get(doc, rng.choice(owners))
            owner[rng.choice(["extra", "meta", "attributes", "rotation", "z", "occluded", "group", "guideline"])] = \
                copy.deepcopy(rng.choice(ODD_VALUES + [literal(rng.choice(ODD_NUMBERS))]))
        elif kind == "long_string":
            strings = [p for p in places if isinstance(self.get(doc, p), str)]
            if strings:
                p = rng.choice(strings)
                doc = self.set(doc, p, self.get(doc, p) * rng.choice([2, 30, 1000]))
        text = json.dumps(doc)
        for mark, lit in literals.items():
            text = text.replace('"%s"' % mark, lit)
        if kind == "cut":
            text = text[:rng.randrange(len(text))]
        elif rng.random() < 0.05:
            text = "[" * rng.choice([63, 64, 65, 100000]) + text
            how += " +brackets"
        return text.encode("utf-8"), how


class ServePyAndCppReaderAgree(unittest.TestCase):

    def test_generated_documents_get_the_same_verdict_from_both(self):
        rng = random.Random(SEED)
        mutator = Mutator(rng)
        goldens = []
        for name in sorted(os.listdir(GOLDEN_VALID)):
            with open(os.path.join(GOLDEN_VALID, name), encoding="utf-8") as f:
                goldens.append((name, json.load(f)))
        self.assertGreaterEqual(len(goldens), 10)
        tmp = tempfile.mkdtemp(prefix="pm-agree-")
        try:
            cases = {}
            for name, doc in goldens:
                for n in range(COPIES_PER_GOLDEN):
                    data, how = mutator.mutate(doc)
                    path = os.path.join(tmp, "%s.%04d.json" % (name[:-5], n))
                    with open(path, "wb") as f:
                        f.write(data)
                    cases[path] = (how, data)
            cpp = cpp_verdicts(list(cases))
            self.assertEqual(set(cases), set(cpp), "polymark_validate left files out")
            disagreements, refused, codes = [], 0, set()
            for path, (how, data) in cases.items():
                py = python_verdict(data)
                refused += py[0] != "ok"
                codes.add(py[0])
                if py != cpp[path]:
                    disagreements.append("%s (%s): serve.py %s, C++ %s" % (os.path.basename(path), how, py, cpp[path]))
            self.assertEqual([], disagreements[:20], "%d of %d documents judged differently" % (len(disagreements), len(cases)))
            # The corpus exercises the limits, not only the structure.
            self.assertGreater(refused, len(cases) // 3)
            self.assertGreater(len(cases) - refused, len(cases) // 10)
            for code in ("too_deep", "out_of_range", "bad_string", "not_json", "expected_integer"):
                self.assertIn(code, codes)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_parse_json_never_recurses_past_the_limit(self):
        for text in ("[" * 100000, "[" * 100000 + "]" * 100000, '{"a":' * 50000 + "1" + "}" * 50000):
            with self.subTest(size=len(text)):
                with self.assertRaises(serve.JsonLimitError) as caught:
                    serve.parse_json(text)
                self.assertEqual("too_deep", caught.exception.code)


class LimitsOverHttp(SyncMixin, unittest.TestCase):
    """The cases of issue 21 against a real serve.py: each refused with its code and pointer."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-limits-")
        cls.server = ServerProcess(cls.tmp, ["--db", os.path.join(cls.tmp, "db.sqlite"), "--web", cls.tmp,
                                             "--quiet", "--import", make_demo_dir(cls.tmp)]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    def patch_text(self, task_id, value_text, base, op_id):
        body = ('{"base_revision": %d, "user": "ann", "device": "dev-a", "operations": [{"op_id": "%s", '
                '"kind": "object", "op": "create", "id": "o1", "value": %s}]}' % (base, op_id, value_text))
        return self.send("PATCH", f"/api/tasks/{task_id}/annotations", body.encode("utf-8"))

    def test_values_beyond_the_limits_are_refused_at_their_pointer_and_later_saves_go_through(self):
        self.new_task("limits")
        base = '{"id": "o1", "type": "rectangle", "frame": %s, "label": "cat", "points": [0, 0, %s, 5]%s}'
        cases = [
            ("309-digit coordinate", base % ("0", "1" + "0" * 309, ""), "out_of_range", "/operations/0/value/points/2"),
            ("400-digit coordinate", base % ("0", "1" + "0" * 400, ""), "out_of_range", "/operations/0/value/points/2"),
            ("z of 1e400", base % ("0", "9", ', "z": 1e400'), "out_of_range", "/operations/0/value/z"),
            ("frame of 10^30", base % ("1" + "0" * 30, "9", ""), "out_of_range", "/operations/0/value/frame"),
            ("meta 990 deep", base % ("0", "9", ', "meta": ' + nested(989)), "too_deep",
             "/operations/0/value/meta" + "/k" * 60),
            ("meta 40 deep", base % ("0", "9", ', "meta": ' + nested(39)), "too_deep",
             "/operations/0/value/meta" + "/k" * 32),
            ("lone surrogate label", base.replace('"cat"', '"c\\ud800"') % ("0", "9", ""), "bad_string",
             "/operations/0/value/label"),
            ("lone surrogate meta key", base % ("0", "9", ', "meta": {"\\udc00": 1}'), "bad_string",
             "/operations/0/value/meta/\ufffd"),
        ]
        for n, (what, value_text, code, where) in enumerate(cases):
            with self.subTest(what):
                status, _, reply = self.patch_text("limits", value_text, 0, "bad%d" % n)
                self.assertEqual(400, status, reply)
                self.assertEqual(code, reply["error"]["code"], reply)
                self.assertEqual(where, reply["error"]["path"], reply)
        status, _, reply = self.send("PATCH", "/api/tasks/limits/annotations", ("[" * 100000).encode())
        self.assertEqual((400, "too_deep"), (status, reply["error"]["code"]), reply)
        reply = self.patch("limits", [op("good1", "create", "o1", rect("o1"))], 0)
        self.assertEqual(1, reply["revision"])
        revision, doc = self.doc("limits")
        self.assertEqual(["o1"], [o["id"] for o in doc["objects"]])

    def test_put_refuses_a_document_beyond_the_limits(self):
        self.new_task("limits-put")
        text = json.dumps(document([rect("o1")])).replace('"points": [0, 0, 10, 10]',
                                                          '"points": [0, 0, %s, 10]' % ("9" * 309))
        status, _, reply = self.send("PUT", "/api/tasks/limits-put/annotations", text.encode(),
                                     {"If-Match": '"rev-0"'})
        self.assertEqual((400, "out_of_range", "/objects/0/points/2"),
                         (status, reply["error"]["code"], reply["error"]["path"]), reply)


if __name__ == "__main__":
    unittest.main()
