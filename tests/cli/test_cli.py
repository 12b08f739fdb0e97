"""The `polymark` command line over real processes: convert, validate, frames, stats, exit codes,
stdin and stdout. POLYMARK_CLI names the binary (build/cli/polymark)."""
import json
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

CLI = os.environ.get("POLYMARK_CLI", str(Path(__file__).resolve().parents[2] / "build/cli/polymark"))
DATA = Path(__file__).resolve().parents[1] / "data/formats"


def run(*args, stdin=None):
    return subprocess.run([CLI, *map(str, args)], input=stdin, capture_output=True, timeout=120)


class ConvertTest(unittest.TestCase):
    def test_coco_to_cvat_and_back_through_files_gives_the_same_coco(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            r = run("convert", "--to", "polymark", "--task-out", tmp / "task.json", DATA / "coco/instances.json", tmp / "doc.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run("convert", "--task", tmp / "task.json", "--to", "coco", tmp / "doc.json", tmp / "back.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(json.loads((tmp / "back.json").read_text()), json.loads((DATA / "coco/instances.json").read_text()))

    def test_stdin_to_stdout_with_dashes(self):
        r = run("convert", "--from", "cvat", "--to", "polymark", "-", "-", stdin=(DATA / "cvat/video.xml").read_bytes())
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["format"], "polymark.annotations")
        self.assertEqual(len(doc["tracks"]), 2)

    def test_format_is_detected_when_from_is_not_given(self):
        r = run("convert", "--to", "coco", DATA / "labelme", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["images"]), 2)

    def test_a_yolo_folder_becomes_coco_and_a_coco_file_a_yolo_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = run("convert", "--task", DATA / "yolo/task.json", "--from", "yolo", "--to", "coco", DATA / "yolo/detect", Path(tmp) / "c.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            coco = json.loads((Path(tmp) / "c.json").read_text())
            self.assertEqual(len(coco["annotations"]), 4)
            self.assertEqual(coco["annotations"][1]["score"], 0.93)
            r = run("convert", "--task", DATA / "yolo/task.json", "--to", "yolo", Path(tmp) / "c.json", Path(tmp) / "out")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue((Path(tmp) / "out/data.yaml").exists())
            self.assertEqual(len((Path(tmp) / "out/labels/img1.txt").read_text().splitlines()), 3)

    def test_notes_say_what_was_converted_or_lost(self):
        r = run("convert", "--to", "coco", DATA / "cvat/images.xml", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"polylines left out", r.stderr)
        self.assertIn(b"tags left out", r.stderr)

    def test_a_format_of_several_files_refuses_stdout(self):
        r = run("convert", "--to", "yolo", "--task", DATA / "yolo/task.json", DATA / "coco/instances.json", "-")
        self.assertEqual(r.returncode, 1)  # the task has no street.jpg: the COCO file does not fit it
        r = run("convert", "--to", "labelme", DATA / "coco/instances.json", "-")
        self.assertEqual(r.returncode, 2, r.stderr)


class ExitCodeTest(unittest.TestCase):
    def test_usage_errors_exit_2(self):
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("convert", "--to", "coco", "--bogus", "x", "a", "b").returncode, 2)
        self.assertEqual(run("convert", "--to", "nope", "a", "b").returncode, 2)

    def test_unreadable_files_exit_3_naming_the_file(self):
        r = run("convert", "--to", "coco", "/nonexistent/in.json", "-")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"/nonexistent/in.json", r.stderr)

    def test_malformed_input_exits_1_with_one_message_naming_file_and_place(self):
        bad = b"<annotations>\n<image id='0' name='a.png'>\n<box label='x' xtl='1' ytl='q' xbr='2' ybr='2'/>\n</image>\n</annotations>"
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "bad.xml"
            p.write_bytes(bad)
            r = run("convert", "--to", "coco", p, Path(tmp) / "out.json")
            self.assertEqual(r.returncode, 1)
            lines = r.stderr.decode().strip().splitlines()
            self.assertEqual(len(lines), 1)
            self.assertIn("bad.xml:3:1", lines[0])
            self.assertIn("ytl", lines[0])
            self.assertFalse((Path(tmp) / "out.json").exists())  # nothing half-written


class ValidateTest(unittest.TestCase):
    def test_valid_documents_and_tasks_exit_0(self):
        r = run("validate", DATA / "yolo/task.json")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"valid task", r.stdout)

    def test_every_error_is_listed_with_its_path(self):
        doc = {"format": "polymark.annotations", "version": 1, "objects": [
            {"id": "a", "type": "rectangle", "frame": 0, "label": "car", "points": [5, 0, 1, 1]},
            {"id": "a", "type": "polygon", "frame": -1, "label": "car", "points": [0, 0, 1, 1, 2, 2]}]}
        r = run("validate", "-", stdin=json.dumps(doc).encode())
        self.assertEqual(r.returncode, 1)
        out = r.stdout.decode()
        self.assertIn("stdin#/objects/0/points: bad_box", out)
        self.assertIn("stdin#/objects/1/id: duplicate_id", out)
        self.assertIn("stdin#/objects/1/frame: out_of_range", out)

    def test_a_document_is_checked_against_a_task(self):
        doc = {"format": "polymark.annotations", "version": 1, "objects": [
            {"id": "a", "type": "rectangle", "frame": 5, "label": "dog", "points": [0, 0, 1, 1]}]}
        r = run("validate", "--task", DATA / "yolo/task.json", "-", stdin=json.dumps(doc).encode())
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"unknown_label", r.stdout)
        self.assertIn(b"out_of_range", r.stdout)


class FramesAndStatsTest(unittest.TestCase):
    def test_frames_prints_each_frames_shapes_with_tracks_interpolated(self):
        r = run("frames", DATA / "cvat/video.xml")
        self.assertEqual(r.returncode, 0, r.stderr)
        frames = [json.loads(line) for line in r.stdout.decode().splitlines()]
        self.assertEqual([f["frame"] for f in frames], list(range(10)))
        car = [s for s in frames[1]["shapes"] if s["id"] == "t0"][0]
        self.assertEqual(car["points"], [20, 11, 60, 41])  # between the keyframes at 10 and 14
        self.assertFalse(car["keyframe"])
        self.assertFalse(any(s["id"] == "t0" for s in frames[4]["shapes"]))  # outside from 16 to 20
        self.assertTrue(any(s["type"] == "tag" for s in frames[1]["shapes"]))

    def test_frames_takes_a_range(self):
        r = run("frames", "--first", 2, "--last", 3, DATA / "cvat/video.xml")
        self.assertEqual([json.loads(l)["frame"] for l in r.stdout.decode().splitlines()], [2, 3])

    def test_stats_counts_per_label_frame_and_track(self):
        r = run("stats", DATA / "cvat/video.xml")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = json.loads(r.stdout)
        self.assertEqual(s["tracks"], 2)
        self.assertEqual(s["per_label"]["car"]["keyframes"], 4)
        self.assertEqual(s["per_label"]["night"]["objects"], 1)
        car = [t for t in s["per_track"] if t["id"] == "t0"][0]
        self.assertEqual(car["visible_frames"], 3 + 5)  # 0-2, then 5-9
        self.assertEqual(s["shapes_per_frame"][1], 2)  # the car and the tag


if __name__ == "__main__":
    unittest.main()
