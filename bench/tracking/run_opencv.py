#!/usr/bin/python3
"""OpenCV's trackers (Debian python3-opencv 4.6: KCF, CSRT, MIL, and MOSSE from cv2.legacy) on
tracking sequences, from the first ground-truth box, with the same metrics as track_bench.

    /usr/bin/python3 bench/tracking/run_opencv.py SEQ_DIR... [--trackers KCF,CSRT,MIL,MOSSE] [--boxes DIR]

Each frame is decoded once (not timed) and given, in colour as OpenCV's trackers expect, to every
tracker in turn; only init() and update() are timed. When a tracker reports a failure its box
stays where it was last (the policy of our tracker too). The first box is clipped to the frame,
as every runner does. Single-threaded (cv2.setNumThreads(1)), as the web runs. Prints a table and
one "RESULT {json}" line per tracker and sequence; --boxes DIR also writes each run's boxes to
DIR/<tracker>/<sequence>.txt (metrics.write_boxes). A sequence that cannot be run (unreadable
ground truth, no first box) is reported on stderr and skipped; the exit status is then 1.
"""

import argparse
import json
import os
import sys
import time

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import TruthError, clip_box, frame_files, read_truth, summarise, write_boxes  # noqa: E402

MAKERS = {
    "KCF": lambda: cv2.TrackerKCF_create(),
    "CSRT": lambda: cv2.TrackerCSRT_create(),
    "MIL": lambda: cv2.TrackerMIL_create(),
    "MOSSE": lambda: cv2.legacy.TrackerMOSSE_create(),
}


def run(seq, names):
    truth = read_truth(os.path.join(seq, "groundtruth.txt"))
    files = frame_files(seq)[: len(truth)]
    if len(files) < 2:
        raise TruthError("%s: fewer than 2 frames with ground truth" % seq)
    if truth[0] is None:
        raise TruthError("%s: the first frame has no box (nan): nothing to start from" % seq)
    trackers = {k: MAKERS[k]() for k in names}
    boxes = {k: [] for k in names}
    reported = {k: [] for k in names}
    secs = {k: 0.0 for k in names}
    cpu = {k: 0.0 for k in names}
    for i, path in enumerate(files):
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        for k, t in trackers.items():
            if i == 0:
                x, y, w, h = clip_box(truth[0], frame.shape[1], frame.shape[0])
                x0, y0 = int(round(x)), int(round(y))
                x1, y1 = int(round(x + w)), int(round(y + h))
                t.init(frame, (x0, y0, x1 - x0, y1 - y0))
                boxes[k].append((float(x0), float(y0), float(x1 - x0), float(y1 - y0)))
                reported[k].append(True)
                continue
            t0, c0 = time.perf_counter(), time.thread_time()
            ok, box = t.update(frame)
            secs[k] += time.perf_counter() - t0
            cpu[k] += time.thread_time() - c0
            boxes[k].append(tuple(float(v) for v in box) if ok else boxes[k][-1])
            reported[k].append(bool(ok))
    return {k: (summarise(truth, boxes[k], reported[k], secs[k], cpu[k]), boxes[k], reported[k]) for k in names}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sequences", nargs="+")
    ap.add_argument("--trackers", default="KCF,CSRT,MIL,MOSSE")
    ap.add_argument("--boxes", default="", help="write each run's boxes to DIR/<tracker>/<sequence>.txt")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    names = [n for n in a.trackers.split(",") if n]
    results = []
    failed = 0
    print("%-8s %-20s %6s %9s %9s %8s %8s %8s %11s %7s" % ("tracker", "sequence", "frames", "fps", "cpu_fps", "meanIoU", "AUC",
                                                         "prec20", "first_loss", "absent"))
    for seq in a.sequences:
        name = os.path.basename(os.path.normpath(seq))
        try:
            runs = run(seq, names)
        except (TruthError, OSError, cv2.error) as e:
            print("%s: skipped: %s" % (name, e), file=sys.stderr)
            failed += 1
            continue
        for k, (r, boxes, reported) in runs.items():
            r.update(tracker="opencv-" + k, sequence=name)
            results.append(r)
            if a.boxes:
                os.makedirs(os.path.join(a.boxes, "opencv-" + k), exist_ok=True)
                write_boxes(os.path.join(a.boxes, "opencv-" + k, name + ".txt"), boxes, reported)
            print("%-8s %-20s %6d %9.1f %9.1f %8.3f %8.3f %8.3f %11d %3d/%-3d" % (
                k, name, r["frames"], r["fps"], r["cpu_fps"], r["mean_iou"], r["auc"], r["precision20"], r["first_loss"],
                r["absent_boxed"], r["absent"]), flush=True)
    for k in names:
        rs = [r for r in results if r["tracker"] == "opencv-" + k]
        if not rs:
            continue
        avg = {f: sum(r[f] for r in rs) / len(rs) for f in ("fps", "cpu_fps", "mean_iou", "auc", "precision20", "first_loss")}
        print("%-8s %-20s %6s %9.1f %9.1f %8.3f %8.3f %8.3f %11.1f" % (k, "average", "", avg["fps"], avg["cpu_fps"],
                                                                      avg["mean_iou"], avg["auc"], avg["precision20"],
                                                                      avg["first_loss"]))
    for r in results:
        print("RESULT " + json.dumps(r))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
