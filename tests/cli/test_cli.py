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


class MoreFormatsTest(unittest.TestCase):
    """MOT, Label Studio and VIA 2 over real processes: detected, converted both ways, --labels."""

    def test_a_mot_sequence_becomes_cvat_tracks_and_comes_back_with_the_same_rows(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            r = run("convert", "--to", "cvat", "--task-out", tmp / "task.json", DATA / "mot/walk", tmp / "walk.xml")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual((tmp / "walk.xml").read_text().count("<track "), 4)  # 3 identities, 1 box of id -1
            r = run("convert", "--to", "mot", DATA / "mot/walk", tmp / "out")
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = lambda p: sorted(tuple(float(v) for v in line.split(",")) for line in p.read_text().splitlines() if line)
            want = [r[:8] + ((1.0,) if r[8] == -1 else r[8:]) for r in rows(DATA / "mot/walk/gt/gt.txt")]
            self.assertEqual(rows(tmp / "out/gt/gt.txt"), sorted(want))
            self.assertIn("seqLength=12", (tmp / "out/seqinfo.ini").read_text())

    def test_mot_detections_with_labels_given_on_the_command_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            names = Path(tmp) / "names.txt"
            names.write_text("pedestrian\n")
            r = run("convert", "--from", "mot", "--labels", names, "--to", "polymark", DATA / "mot/det/det.txt", "-")
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            self.assertEqual({o["label"] for o in doc["objects"]}, {"pedestrian"})
            self.assertEqual(doc["objects"][0]["source"], "model")
            self.assertEqual(doc["objects"][0]["score"], 0.67)
            self.assertIn(b"scores outside 0..1 kept in meta.score", r.stderr)
            r = run("convert", "--from", "coco", "--labels", names, "--to", "polymark", DATA / "coco/instances.json", "-")
            self.assertEqual(r.returncode, 2)

    def test_label_studio_is_detected_and_written_back_with_its_predictions(self):
        r = run("convert", "--to", "labelstudio", DATA / "labelstudio/images.json", "-")
        self.assertEqual(r.returncode, 0, r.stderr)
        tasks = json.loads(r.stdout)
        self.assertEqual(len(tasks), 2)
        self.assertEqual(tasks[0]["predictions"][0]["result"][0]["score"], 0.91)
        self.assertEqual(len(tasks[0]["annotations"][0]["result"]), 8)
        r = run("stats", DATA / "labelstudio/video.json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["tracks"], 3)

    def test_via_project_to_labelme_and_back_to_via(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            r = run("convert", "--to", "polymark", "--task-out", tmp / "task.json", DATA / "via/project.json", tmp / "doc.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = run("convert", "--task", tmp / "task.json", "--to", "via", tmp / "doc.json", tmp / "via.json")
            self.assertEqual(r.returncode, 0, r.stderr)
            project = json.loads((tmp / "via.json").read_text())
            regions = [len(v["regions"]) for v in project["_via_img_metadata"].values()]
            self.assertEqual(regions, [7, 1])
            r = run("validate", "--task", tmp / "task.json", tmp / "doc.json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_errors_of_the_new_formats_exit_1_naming_file_and_place(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "gt.txt"
            p.write_text("1,1,0,0,5,5,1,1,1\n2,1,0,0,5\n")
            r = run("convert", "--to", "polymark", p, "-")
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"gt.txt:2:1: expected 6 to 10 comma-separated numbers", r.stderr)
            p = Path(tmp) / "ls.json"
            p.write_text('[{"data":{"image":"a.jpg"},"annotations":[{"result":[{"type":"polygonlabels","original_width":10,"original_height":10,"value":{"points":[[1,2]],"polygonlabels":["x"]}}]}]}]')
            r = run("convert", "--to", "polymark", p, "-")
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"ls.json#/0/annotations/0/result/0/value/points: a polygon needs 3 or more points, not 1", r.stderr)


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


def box(id, label, x1, y1, x2, y2, frame=0, **extra):
    return {"id": id, "type": "rectangle", "frame": frame, "label": label, "points": [x1, y1, x2, y2], **extra}


def document(*objects):
    return {"format": "polymark.annotations", "version": 1, "objects": list(objects)}


class QualityTest(unittest.TestCase):
    """`polymark quality`: golden reports, consensus with its merged document, throughput, pre-labels."""

    def write(self, tmp, name, value):
        path = Path(tmp) / name
        path.write_text(json.dumps(value) if not isinstance(value, str) else value)
        return path

    def golden_files(self, tmp):
        gt = self.write(tmp, "gt.json", document(box("A", "car", 0, 0, 10, 10), box("B", "car", 20, 0, 30, 10),
                                                 box("C", "person", 50, 50, 60, 60)))
        job = self.write(tmp, "job.json", document(box("a", "car", 0, 0, 10, 10), box("b", "car", 22, 0, 32, 10),
                                                   box("c", "truck", 50, 50, 60, 60), box("d", "person", 100, 100, 110, 110)))
        return gt, job

    def test_golden_prints_the_report_with_hand_scored_counts(self):
        with tempfile.TemporaryDirectory() as tmp:
            gt, job = self.golden_files(tmp)
            r = run("quality", "golden", "--gt", gt, "--job", job)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            self.assertEqual((report["format"], report["version"]), ("polymark.quality-report", 1))
            s = report["summary"]
            self.assertEqual((s["valid"], s["missing"], s["extra"], s["mislabelled_gt"]), (2, 0, 1, 1))
            self.assertAlmostEqual(s["accuracy"], 0.4)
            self.assertEqual(report["mislabelled"][0]["job_label"], "truck")
            self.assertEqual(len(report["low_overlap"]), 1)

    def test_golden_threshold_frames_and_output_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            gt, job = self.golden_files(tmp)
            out = Path(tmp) / "report.json"
            r = run("quality", "golden", "--gt", gt, "--job", job, "--threshold", "0.7", "--frames", "0-2,5", "-o", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, b"")
            report = json.loads(out.read_text())
            self.assertEqual(report["summary"]["valid"], 1)
            self.assertEqual([f["frame"] for f in report["per_frame"]], [0, 1, 2, 5])
            self.assertEqual(report["settings"]["threshold"], 0.7)

    def test_golden_usage_invalid_and_unreadable_inputs_exit_2_1_3(self):
        with tempfile.TemporaryDirectory() as tmp:
            gt, job = self.golden_files(tmp)
            self.assertEqual(run("quality", "golden", "--gt", gt).returncode, 2)
            self.assertEqual(run("quality", "golden", "--gt", gt, "--job", job, "--threshold", "2").returncode, 2)
            self.assertEqual(run("quality", "golden", "--gt", gt, "--job", job, "--frames", "3-1").returncode, 2)
            self.assertEqual(run("quality", "nothing").returncode, 2)
            bad = self.write(tmp, "bad.json", document({"id": "x", "type": "rectangle", "frame": 0, "label": "car", "points": [5, 0, 1, 1]}))
            r = run("quality", "golden", "--gt", bad, "--job", job)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"bad.json#/objects/0/points", r.stderr)
            r = run("quality", "golden", "--gt", Path(tmp) / "none.json", "--job", job)
            self.assertEqual(r.returncode, 3)
            self.assertIn(b"none.json", r.stderr)

    def test_consensus_writes_the_merged_document_and_the_agreement_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            a = self.write(tmp, "a.json", document(box("a0", "car", 0, 0, 10, 10)))
            b = self.write(tmp, "b.json", document(box("b0", "car", 0, 0, 12, 10)))
            c = self.write(tmp, "c.json", document(box("c0", "car", 0, 0, 14, 10), box("c1", "dog", 100, 100, 110, 110)))
            merged = Path(tmp) / "merged.json"
            r = run("quality", "consensus", "--quorum", "0.5", "--merged", merged, a, b, c)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            self.assertEqual(report["format"], "polymark.consensus-report")
            self.assertEqual(report["settings"]["quorum_votes"], 2)
            self.assertEqual(report["job"], {"agreement": report["job"]["agreement"], "groups": 2, "merged": 1})
            self.assertEqual([s["name"] for s in report["sets"]], [str(a), str(b), str(c)])
            doc = json.loads(merged.read_text())
            self.assertEqual(doc["objects"][0]["points"], [0, 0, 12, 10])
            self.assertEqual(doc["objects"][0]["meta"]["consensus"]["members"][1], {"set": 1, "id": "b0"})
            self.assertEqual(run("validate", merged).returncode, 0)
            self.assertEqual(run("quality", "consensus", a).returncode, 2)
            self.assertEqual(run("quality", "consensus", "--quorum", "0", a, b).returncode, 2)

    def test_throughput_reads_history_and_decisions_and_names_a_bad_time(self):
        with tempfile.TemporaryDirectory() as tmp:
            entry = lambda rev, op, id, at: {"revision": rev, "op_id": "x%d" % rev, "kind": "object", "id": id, "op": op,
                                             "user": "ana", "device": "d", "role": "labeler", "stage": "annotation", "at": at}
            history = self.write(tmp, "h.json", {"entries": [entry(1, "create", "o1", "2026-12-07T10:00:00.000Z"),
                                                             entry(2, "update", "o1", "2026-12-07T10:00:30.000Z"),
                                                             entry(3, "create", "o2", "2026-12-07T10:05:00.000Z")]})
            decisions = self.write(tmp, "d.json", {"changes": [{"kind": "decision", "id": "d1", "value": {
                "id": "d1", "item": "o1", "frame": 0, "verdict": "accepted", "author": "rita"}}]})
            r = run("quality", "throughput", "--history", history, "--decisions", decisions)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            ana = report["users"][0]
            self.assertEqual((ana["created"], ana["edited"], ana["active_s"]), (2, 1, 30))
            self.assertEqual(ana["first_pass_acceptance"], 1)
            bad = self.write(tmp, "bad.json", {"entries": [entry(1, "create", "o1", "2026-12-07 10:00")]})
            r = run("quality", "throughput", "--history", bad)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"/entries/0/at", r.stderr)

    def test_prelabels_counts_what_became_of_the_predictions_and_names_a_bad_score(self):
        with tempfile.TemporaryDirectory() as tmp:
            def entry(rev, op, item, user="importer"):
                e = {"revision": rev, "op_id": "x%d" % rev, "kind": "object", "id": item["id"], "op": op, "user": user,
                     "device": "d", "role": "labeler", "stage": "annotation", "at": "2026-12-07T10:00:%02d.000Z" % rev,
                     "base_revision": rev - 1}
                e["was" if op == "delete" else "value"] = item
                return e
            kept = box("p1", "car", 0, 0, 10, 10, source="model", score=0.95)
            moved = box("p2", "car", 20, 0, 30, 10, source="model", score=0.42)
            wrong = box("p3", "dog", 50, 50, 60, 60, source="model", score=0.3)
            waiting = box("p4", "dog", 70, 70, 80, 80, source="model")
            kept_now = {**kept, "source": "manual"}
            moved_now = {**moved, "source": "manual", "points": [21, 0, 31, 10]}
            history = self.write(tmp, "h.json", {"entries": [
                entry(1, "create", kept), entry(2, "create", moved), entry(3, "create", wrong), entry(4, "create", waiting),
                entry(5, "update", kept_now, "ana"), entry(6, "update", moved_now, "ana"), entry(7, "delete", wrong, "ana")]})
            doc = self.write(tmp, "doc.json", document(kept_now, moved_now, waiting))
            r = run("quality", "prelabels", "--history", history, "--document", doc)
            self.assertEqual(r.returncode, 0, r.stderr)
            report = json.loads(r.stdout)
            self.assertEqual((report["format"], report["version"]), ("polymark.prelabel-report", 1))
            t = report["totals"]
            self.assertEqual((t["accepted_unchanged"], t["edited"], t["rejected"], t["pending"]), (1, 1, 1, 1))
            self.assertAlmostEqual(t["acceptance_rate"], 2 / 3)
            self.assertEqual([(b["band"], b["predictions"]) for b in report["bands"] if b["predictions"]],
                             [("[0.3,0.4)", 1), ("[0.4,0.5)", 1), ("[0.9,1]", 1), ("none", 1)])
            self.assertEqual([(l["label"], l["rejected"], l["pending"]) for l in report["labels"]], [("car", 0, 0), ("dog", 1, 1)])
            r = run("quality", "prelabels", "--history", history, "--document", doc, "--band-width", "0.5")
            self.assertEqual([b["band"] for b in json.loads(r.stdout)["bands"]], ["[0,0.5)", "[0.5,1]", "none"])
            bad = json.loads(history.read_text())
            bad["entries"][2]["value"]["score"] = 7
            bad = self.write(tmp, "bad.json", bad)
            r = run("quality", "prelabels", "--history", bad, "--document", doc)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"bad.json#/entries/2/value/score", r.stderr)
            self.assertEqual(run("quality", "prelabels", "--history", history).returncode, 2)
            self.assertEqual(run("quality", "prelabels", "--history", history, "--document", doc, "--band-width", "0").returncode, 2)


if __name__ == "__main__":
    unittest.main()
