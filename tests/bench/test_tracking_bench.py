"""The tracking bench's tools (bench/tracking/) on tiny sequences made here: how they read ground
truth and frames, what they write and how they score, and what run_all.sh runs.

    POLYMARK_TRACK_BENCH=build/bench/polymark_track_bench /usr/bin/python3 -m unittest -v test_tracking_bench

Needs python3-opencv and python3-numpy (Debian) and, for the OpenCV.js runner, node and the npm
package @techstark/opencv-js in the repository's node_modules. The end-to-end run of run_all.sh
also compiles the tracker with c++ and em++ (a few minutes).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import cv2
import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(REPO, "bench", "tracking")
sys.path.insert(0, TOOLS)
import metrics  # noqa: E402

PY = "/usr/bin/python3"  # the bench's scripts run on Debian's python (python3-opencv)
W, H, SIDE = 120, 90, 24


def object_at(i, start=(40, 30)):
    """Where the test object is in frame i (0-based): top-left corner of a SIDE x SIDE square."""
    return start[0] + 2 * i, start[1] + i


def make_sequence(root, name, frames=12, truth=None, polygons=False, start=(40, 30)):
    """A textured square moving 2 px right and 1 px down a frame over a smooth background, frames
    named 1.png ... N.png (in text order 10, 11, 12 would come before 2). truth(i, x, y) gives
    ground-truth row i (default x,y,w,h)."""
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "img"))
    rng = np.random.default_rng(5)
    bg = cv2.GaussianBlur(rng.integers(0, 256, (H, W), dtype=np.uint8), (0, 0), 4)
    patch = rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8)
    rows, polys = [], []
    for i in range(frames):
        x, y = object_at(i, start)
        f = bg.copy()
        f[max(y, 0):y + SIDE, max(x, 0):x + SIDE] = patch[max(-y, 0):, max(-x, 0):]
        cv2.imwrite(os.path.join(d, "img", "%d.png" % (i + 1)), f)
        rows.append(truth(i, x, y) if truth else "%d,%d,%d,%d" % (x, y, SIDE, SIDE))
        polys.append("%d,%d,%d,%d,%d,%d,%d,%d" % (x, y, x + SIDE, y, x + SIDE, y + SIDE, x, y + SIDE))
    with open(os.path.join(d, "groundtruth.txt"), "w") as f:
        f.write("\n".join(rows) + "\n")
    if polygons:
        with open(os.path.join(d, "polygons.txt"), "w") as f:
            f.write("\n".join(polys) + "\n")
    return d


def absent_in_4_and_5(i, x, y):
    return "nan,nan,nan,nan" if i in (4, 5) else "%d,%d,%d,%d" % (x, y, SIDE, SIDE)


def vot_polygon(i, x, y):
    return "%d,%d,%d,%d,%d,%d,%d,%d" % (x, y + SIDE, x, y, x + SIDE, y, x + SIDE, y + SIDE)


def results(stdout):
    return {r["sequence"]: r for r in (json.loads(l[7:]) for l in stdout.splitlines() if l.startswith("RESULT "))}


class FrameOrder(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        d = os.path.join(self.tmp, "seq", "img")
        os.makedirs(d)
        for i in range(1, 13):  # frame i is flat grey 10*i
            cv2.imwrite(os.path.join(d, "%d.png" % i), np.full((8, 8), 10 * i, np.uint8))
        with open(os.path.join(self.tmp, "seq", "groundtruth.txt"), "w") as f:
            f.write("1,1,4,4\n" * 12)

    def test_frame_files_are_in_number_order_not_text_order(self):
        names = [os.path.basename(p) for p in metrics.frame_files(os.path.join(self.tmp, "seq"))]
        self.assertEqual(names, ["%d.png" % i for i in range(1, 13)])

    def test_decode_frames_writes_the_frames_in_number_order(self):
        raw = os.path.join(self.tmp, "raw")
        subprocess.run([PY, os.path.join(TOOLS, "decode_frames.py"), raw, os.path.join(self.tmp, "seq")], check=True)
        data = np.fromfile(os.path.join(raw, "seq.gray"), np.uint8).reshape(12, 64)
        self.assertEqual(list(data[:, 0]), [10 * i for i in range(1, 13)])


class TruthRows(unittest.TestCase):
    def test_four_numbers_are_a_box_in_any_separator(self):
        self.assertEqual(metrics.parse_truth_row("1,2\t3 4"), (1, 2, 3, 4))

    def test_eight_numbers_are_a_vot_polygon_read_as_its_bounding_box(self):
        self.assertEqual(metrics.parse_truth_row("10,40,5,20,30,0,35,20"), (5, 0, 30, 40))

    def test_nan_is_an_absent_target(self):
        self.assertIsNone(metrics.parse_truth_row("nan,nan,nan,nan"))
        self.assertIsNone(metrics.parse_truth_row("NaN NaN NaN NaN"))

    def test_other_counts_are_refused_naming_the_line(self):
        with self.assertRaises(metrics.TruthError) as e:
            metrics.parse_truth_row("1,2,3,4,5", "gt.txt:7")
        self.assertIn("gt.txt:7", str(e.exception))


class Scoring(unittest.TestCase):
    def test_absent_frames_are_left_out_of_the_averages_and_boxes_on_them_counted(self):
        truth = [(0, 0, 10, 10), (0, 0, 10, 10), None, None, (50, 50, 10, 10)]
        boxes = [(0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10)]
        s = metrics.score(truth, boxes, [True, True, True, False, True])
        self.assertEqual((s["scored"], s["absent"], s["absent_boxed"]), (2, 2, 1))
        self.assertAlmostEqual(s["mean_iou"], 0.5)       # frames 1 (IoU 1) and 4 (IoU 0)
        self.assertAlmostEqual(s["precision20"], 0.5)    # frame 4 is 70 px off
        self.assertAlmostEqual(s["auc"], 0.5 * 20 / 21)  # frame 1 passes every threshold but 1.0, frame 4 none
        self.assertEqual(s["first_loss"], 1)

    def test_precision_counts_centres_within_20_px(self):
        truth = [(0, 0, 10, 10)] * 3
        s = metrics.score(truth, [(0, 0, 10, 10), (20, 0, 10, 10), (20.5, 0, 10, 10)], [True] * 3)
        self.assertAlmostEqual(s["precision20"], 0.5)


class RunnerContract:
    """What every runner (ours in C++, OpenCV in Python, OpenCV.js) must do alike. Subclasses set
    `tracker` (the name in RESULT lines and the boxes folder) and run(raw, seqs, boxes_dir)."""
    tracker = ""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.raw = os.path.join(self.tmp, "raw")
        self.boxes = os.path.join(self.tmp, "boxes")

    def decode(self, *seqs):
        subprocess.run([PY, os.path.join(TOOLS, "decode_frames.py"), self.raw, *seqs], check=True, capture_output=True)

    def check(self, proc, seq, frames):
        """The run's RESULT for seq agrees with its boxes file, scored by metrics.py; returns both."""
        name = os.path.basename(seq)
        self.assertIn(name, results(proc.stdout), proc.stdout + proc.stderr)
        r = results(proc.stdout)[name]
        truth = metrics.read_truth(os.path.join(seq, "groundtruth.txt"))
        boxes, reported = metrics.read_result_boxes(self.boxes_file(name))
        self.assertEqual(len(boxes), frames, "one row per frame, from frame 1")
        first = metrics.clip_box(truth[0], W, H)
        for got, want in zip(boxes[0], first):
            self.assertAlmostEqual(got, want, delta=0.5, msg="row 1 is the given (clipped) box")
        want = metrics.score(truth, boxes, reported)
        for k in ("scored", "absent", "absent_boxed", "first_loss"):
            self.assertEqual(r[k], want[k], k)
        for k in ("mean_iou", "auc", "precision20"):
            self.assertAlmostEqual(r[k], want[k], delta=0.01, msg=k)
        self.assertEqual(r["frames"], frames)
        return r, want

    def boxes_file(self, name):
        return os.path.join(self.boxes, self.tracker, name + ".txt")

    def test_clean_sequence_is_tracked_and_scored_from_frame_two(self):
        seq = make_sequence(self.tmp, "clean")
        self.decode(seq)
        proc = self.run_tracker([seq])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r, _ = self.check(proc, seq, 12)
        self.assertEqual(r["scored"], 11)
        self.assertGreater(r["mean_iou"], 0.5, "frames and ground truth line up")
        self.assertGreater(r["precision20"], 0.9)

    def test_absent_frames_keep_their_place_and_are_scored_apart(self):
        seq = make_sequence(self.tmp, "absent", truth=absent_in_4_and_5)
        self.decode(seq)
        proc = self.run_tracker([seq])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r, _ = self.check(proc, seq, 12)
        self.assertEqual((r["scored"], r["absent"]), (9, 2))
        self.assertGreater(r["mean_iou"], 0.5, "the frames after the absent ones are still paired with their truth")

    def test_vot_polygon_rows_are_read_as_their_bounding_box(self):
        seq = make_sequence(self.tmp, "vot", truth=vot_polygon)
        self.decode(seq)
        proc = self.run_tracker([seq])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(results(proc.stdout)["vot"]["mean_iou"], 0.6, "scored against the polygon's bounding box")
        self.check(proc, seq, 12)

    def test_a_first_box_partly_outside_is_clipped_and_the_run_goes_on(self):
        outside = make_sequence(self.tmp, "outside", start=(-6, 30),
                                truth=lambda i, x, y: "%d,%d,%d,%d" % (x, y, SIDE, SIDE))
        clean = make_sequence(self.tmp, "clean")
        self.decode(outside, clean)
        proc = self.run_tracker([outside, clean])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.check(proc, outside, 12)
        self.check(proc, clean, 12)

    def test_a_sequence_that_cannot_run_is_skipped_and_the_others_run(self):
        bad = make_sequence(self.tmp, "bad", truth=lambda i, x, y: "1,2,3,4,5")
        clean = make_sequence(self.tmp, "clean")
        self.decode(bad, clean)
        proc = self.run_tracker([bad, clean])
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("bad", results(proc.stdout))
        self.check(proc, clean, 12)


class OursNative(RunnerContract, unittest.TestCase):
    tracker = ""  # track_bench --boxes DIR writes DIR/<name>.txt

    def run_tracker(self, seqs):
        exe = os.environ.get("POLYMARK_TRACK_BENCH")
        self.assertTrue(exe and os.path.exists(exe), "POLYMARK_TRACK_BENCH must name the built polymark_track_bench")
        os.makedirs(self.boxes, exist_ok=True)
        return subprocess.run([exe, self.raw, *seqs, "--boxes", self.boxes], capture_output=True, text=True, timeout=120)

    def table_row(self, stdout, name):
        return next(l.split() for l in stdout.splitlines() if l.startswith(name + " "))

    def test_polygon_iou_is_a_dash_without_polygons_and_a_number_with_them(self):
        plain = make_sequence(self.tmp, "plain")
        poly = make_sequence(self.tmp, "poly", polygons=True)
        self.decode(plain, poly)
        proc = self.run_tracker([plain, poly])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        header = proc.stdout.splitlines()[0].split()
        col = header.index("polyIoU")
        self.assertEqual(self.table_row(proc.stdout, "plain")[col], "-")
        self.assertGreater(float(self.table_row(proc.stdout, "poly")[col]), 0.5)
        self.assertNotIn("poly_iou", results(proc.stdout)["plain"])
        self.assertGreater(results(proc.stdout)["poly"]["poly_iou"], 0.5)


class OpenCV(RunnerContract, unittest.TestCase):
    tracker = "opencv-KCF"

    def run_tracker(self, seqs):
        return subprocess.run([PY, os.path.join(TOOLS, "run_opencv.py"), *seqs, "--trackers", "KCF", "--boxes", self.boxes],
                              capture_output=True, text=True, timeout=120)


class OpenCVjs(RunnerContract, unittest.TestCase):
    tracker = "opencvjs-MIL"

    def run_tracker(self, seqs):
        return subprocess.run(["node", "--no-experimental-fetch", os.path.join(TOOLS, "run_opencvjs.cjs"), self.raw, *seqs,
                               "--boxes", self.boxes], capture_output=True, text=True, timeout=300, cwd=REPO)


def run_all(build, env, timeout):
    """run_all.sh in its own process group, killed whole if it overruns."""
    p = subprocess.Popen(["bash", os.path.join(TOOLS, "run_all.sh"), build], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=REPO)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        raise AssertionError("run_all.sh did not finish within %d s:\n%s" % (timeout, err[-3000:]))
    return p.returncode, out, err


class RunAll(unittest.TestCase):
    """run_all.sh on a temporary build folder, with a tiny real sequence (TRACKING_DATA) and a tiny
    stand-in for the synthetic translation sequence, so that nothing slow is made."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.real = os.path.join(self.tmp, "real")
        make_sequence(self.real, "tiny_real", truth=absent_in_4_and_5)
        self.build = os.path.join(self.tmp, "build")
        self.synthetic = os.path.join(self.build, "tracking", "sequences")
        make_sequence(self.synthetic, "translation", polygons=True)
        open(os.path.join(self.synthetic, "translation", ".complete"), "w").close()
        self.env = dict(os.environ, TRACKING_DATA=self.real)

    def plan(self, only):
        rc, out, err = run_all(self.build, dict(self.env, ONLY=only, STEPS="sequences"), 60)
        self.assertEqual(rc, 0, err)
        return [l.split() for l in out.splitlines()]

    def made_synthetic(self):
        return sorted(n for n in os.listdir(self.synthetic) if n != "translation")

    def test_only_real_sequences_makes_no_synthetic_one_and_runs_no_speed_line(self):
        plan = self.plan("tiny_real")
        self.assertEqual(self.made_synthetic(), [])
        self.assertEqual(plan, [["real", "tiny_real", os.path.join(self.real, "tiny_real")], ["speed", "none"]])

    def test_only_makes_the_synthetic_sequences_it_names(self):
        plan = self.plan("tiny_real,scale_up")
        self.assertEqual(self.made_synthetic(), ["scale_up"])
        self.assertEqual([p[:2] for p in plan[:-1]], [["real", "tiny_real"], ["synthetic", "scale_up"]])
        self.assertEqual(plan[-1], ["speed", "none"])

    def test_the_speed_line_runs_on_translation(self):
        plan = self.plan("tiny_real,translation")
        self.assertEqual(plan[-1], ["speed", os.path.join(self.synthetic, "translation")])

    def test_end_to_end_every_runner_writes_boxes_and_the_groups_are_reported_apart(self):
        rc, out, err = run_all(self.build, dict(self.env, ONLY="tiny_real,translation", MIL_FRAMES="12"), 1200)
        self.assertEqual(rc, 0, err[-3000:])
        boxes = os.path.join(self.build, "tracking", "boxes")
        for t in ("polymark", "polymark-wasm", "opencv-KCF", "opencv-CSRT", "opencv-MIL", "opencv-MOSSE", "opencvjs-MIL"):
            for s in ("tiny_real", "translation"):
                got, _ = metrics.read_result_boxes(os.path.join(boxes, t, s + ".txt"))
                self.assertEqual(len(got), 12, (t, s))
        self.assertIn("real: 1 sequences", out)
        self.assertIn("synthetic: 1 sequences", out)
        self.assertIn("Precision at 20 px", out)
        self.assertRegex(out, r"polymark-wasm-100x100 +on translation")
        self.assertRegex(out, r"\[(met|MISSED)\] real: mean AUC >= OpenCV CSRT's")


class Summarise(unittest.TestCase):
    def test_groups_are_reported_apart_and_the_real_group_is_judged_against_csrt(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        lines = []
        for tracker, seq, auc, prec in [("polymark-wasm", "r1", 0.40, 0.5), ("opencv-CSRT", "r1", 0.60, 0.7),
                                        ("polymark-wasm", "r2", 0.90, 1.0), ("opencv-CSRT", "r2", 0.50, 0.6),
                                        ("polymark-wasm", "s1", 0.80, 0.9), ("opencv-CSRT", "s1", 0.20, 0.1)]:
            lines.append("RESULT " + json.dumps({"tracker": tracker, "sequence": seq, "frames": 10, "fps": 100, "cpu_fps": 100,
                                                 "mean_iou": auc, "auc": auc, "precision20": prec, "first_loss": 9,
                                                 "absent": 0, "absent_boxed": 0}))
        with open(os.path.join(tmp, "r.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(tmp, "groups.txt"), "w") as f:
            f.write("real r1\nreal r2\nsynthetic s1\n")
        out = subprocess.run([PY, os.path.join(TOOLS, "summarise.py"), "--groups", os.path.join(tmp, "groups.txt"),
                              os.path.join(tmp, "r.txt")], capture_output=True, text=True, check=True).stdout
        real, synthetic = out.split("synthetic: 1 sequences")[0], out.split("synthetic: 1 sequences")[1].split("Targets")[0]
        self.assertIn("real: 2 sequences", real)
        self.assertNotIn("s1", real)
        self.assertNotIn("r1", synthetic)
        avg = next(l.split() for l in real.splitlines() if l.startswith("polymark-wasm ") and len(l.split()) > 8)
        self.assertEqual(avg[6:8], ["0.650", "0.750"])  # AUC and precision averaged over r1 and r2
        self.assertIn("[met] real: mean AUC >= OpenCV CSRT's: polymark-wasm 0.650 vs 0.550", out)
        self.assertIn("[MISSED] real: no sequence below 0.5 AUC where CSRT is above 0.5: r1 0.400 vs 0.600", out)


if __name__ == "__main__":
    unittest.main()
