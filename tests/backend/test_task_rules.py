"""What serve.py refuses against the task it holds, over real HTTP (docs/SCHEMA.md sections 6, 7
and 11): a shape whose label's "types" exclude its type, and a track whose keyframes lie in two
media. Each is a 422 naming the item, its label and the JSON pointer; nothing is applied.

    python3 -m unittest tests/backend/test_task_rules.py -v
"""

import base64
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import MP4, PNG_A, PNG_B, ServerProcess, make_demo_dir, stop_serving  # noqa: E402
from test_sync_routes import SyncMixin, document, op  # noqa: E402


def shape(item_id, shape_type, label, frame=0):
    points = {"rectangle": [0, 0, 2, 2], "polyline": [0, 0, 2, 1, 3, 2], "polygon": [0, 0, 2, 0, 2, 2]}[shape_type]
    return {"id": item_id, "type": shape_type, "frame": frame, "label": label, "points": points}


def track(item_id, frames, label="cat"):
    return {"id": item_id, "type": "rectangle", "label": label,
            "keyframes": [{"id": f"{item_id}.k{f}", "frame": f, "points": [0, 0, 2, 2]} for f in frames]}


class TaskRulesTest(SyncMixin, unittest.TestCase):
    """A task of two images (frames 0 and 1), a video of 10 frames (2..11) and an image (12)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-task-rules-")
        cls.server = ServerProcess(cls.tmp, ["--db", os.path.join(cls.tmp, "db", "polymark.sqlite"), "--web", cls.tmp,
                                             "--quiet", "--import", make_demo_dir(cls.tmp)]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    def new_task(self, task_id, objects=()):
        files = {"a.png": PNG_A, "b.png": PNG_B, "clip.mp4": MP4}
        body = {"task": {"format": "polymark.task", "version": 1, "id": task_id, "name": "Rules",
                         "media": [{"id": "a", "type": "image", "file": "a.png"},
                                   {"id": "b", "type": "image", "file": "b.png"},
                                   {"id": "clip", "type": "video", "file": "clip.mp4", "frames": 10},
                                   {"id": "c", "type": "image", "file": "a.png"}],
                         "labels": [{"id": "cat"}, {"id": "person", "types": ["rectangle", "polygon"]},
                                    {"id": "weather", "types": ["tag"]}]},
                "files": {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}}
        if objects:
            body["annotations"] = document(objects)
        status, _, reply = self.send("POST", "/api/tasks", body)
        self.assertEqual(status, 201, reply)
        return task_id

    def assert_refused(self, reply, code, path, *named):
        self.assertEqual((reply["error"]["code"], reply["error"]["path"]), (code, path), reply)
        for text in named:
            self.assertIn(text, reply["error"]["message"])

    def test_a_shape_its_label_does_not_allow_is_refused_naming_the_object_and_label(self):
        t = self.new_task("types")
        reply = self.patch(t, [op("p.1", "create", "ok", shape("ok", "rectangle", "cat")),
                               op("p.2", "create", "line", shape("line", "polyline", "person"))], base=0, expect=422)
        self.assert_refused(reply, "type_not_allowed", "/operations/1/value/type", "'line'", "'person'")
        self.assertEqual(self.doc(t), (0, document()), "nothing was applied")
        self.patch(t, [op("p.3", "create", "box", shape("box", "rectangle", "person")),
                       op("p.4", "create", "free", shape("free", "polyline", "cat"))], base=0)
        reply = self.patch(t, [op("p.5", "update", "box", shape("box", "polyline", "person"))], base=1, expect=422)
        self.assert_refused(reply, "type_not_allowed", "/operations/0/value/type", "'box'", "'person'")
        reply = self.patch(t, [op("p.6", "update", "free", shape("free", "polyline", "weather"))], base=1, expect=422)
        self.assert_refused(reply, "type_not_allowed", "/operations/0/value/type", "'free'", "'weather'")
        status, _, reply = self.send("PUT", f"/api/tasks/{t}/annotations",
                                     document([shape("box", "rectangle", "person"), shape("poly", "polyline", "person")]),
                                     {"If-Match": '"rev-1"'})
        self.assertEqual(status, 422, reply)
        self.assert_refused(reply, "type_not_allowed", "/objects/1/type", "'poly'", "'person'")
        self.assertEqual(self.doc(t)[0], 1)

    def test_a_track_lives_within_one_medium(self):
        t = self.new_task("media")
        reply = self.patch(t, [op("m.1", "create", "across", track("across", [0, 1]), kind="track")], base=0, expect=422)
        self.assert_refused(reply, "track_crosses_media", "/operations/0/value/keyframes/1/frame", "'across'", "'cat'")
        reply = self.patch(t, [op("m.2", "create", "out", track("out", [2, 11, 12]), kind="track")], base=0, expect=422)
        self.assert_refused(reply, "track_crosses_media", "/operations/0/value/keyframes/2/frame", "'out'")
        self.patch(t, [op("m.3", "create", "video", track("video", [2, 6, 11]), kind="track"),
                       op("m.4", "create", "photo", track("photo", [12]), kind="track")], base=0)
        reply = self.patch(t, [op("m.5", "update", "video", track("video", [1, 6]), kind="track")], base=1, expect=422)
        self.assert_refused(reply, "track_crosses_media", "/operations/0/value/keyframes/1/frame", "'video'")
        status, _, reply = self.send("PUT", f"/api/tasks/{t}/annotations", document([], [track("x", [10, 12])]),
                                     {"If-Match": '"rev-1"'})
        self.assertEqual(status, 422, reply)
        self.assert_refused(reply, "track_crosses_media", "/tracks/0/keyframes/1/frame", "'x'")
        self.assertEqual(self.doc(t)[0], 1)


if __name__ == "__main__":
    unittest.main()
