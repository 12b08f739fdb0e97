#!/usr/bin/python3
"""OpenCV's trackers (Debian python3-opencv 4.6: KCF, CSRT, MIL, and MOSSE from cv2.legacy) on
tracking sequences, from the first ground-truth box, with the same metrics as track_bench.

    /usr/bin/python3 bench/tracking/run_opencv.py SEQ_DIR... [--trackers KCF,CSRT,MIL,MOSSE]

Each frame is decoded once (not timed) and given, in colour as OpenCV's trackers expect, to every
tracker in turn; only init() and update() are timed. When a tracker reports a failure its box
stays where it was last (the policy of our tracker too). Single-threaded (cv2.setNumThreads(1)),
as the web runs. Prints a table and one "RESULT {json}" line per tracker and sequence.
"""
import argparse
import json
import os
import sys
import time

import cv2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import frame_files, iou, read_boxes, summarise  # noqa: E402

MAKERS = {
    "KCF": lambda: cv2.TrackerKCF_create(),
    "CSRT": lambda: cv2.TrackerCSRT_create(),
    "MIL": lambda: cv2.TrackerMIL_create(),
    "MOSSE": lambda: cv2.legacy.TrackerMOSSE_create(),
}


def run(seq, names):
    gt = read_boxes(os.path.join(seq, "groundtruth.txt"))
    files = frame_files(seq)[: len(gt)]
    trackers = {k: MAKERS[k]() for k in names}
    boxes = {k: tuple(gt[0]) for k in names}
    secs = {k: 0.0 for k in names}
    cpu = {k: 0.0 for k in names}
    ious = {k: [] for k in names}
    for i, path in enumerate(files):
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        for k, t in trackers.items():
            if i == 0:
                x, y, w, h = gt[0]
                t.init(frame, (int(round(x)), int(round(y)), int(round(w)), int(round(h))))
                continue
            t0, c0 = time.perf_counter(), time.thread_time()
            ok, box = t.update(frame)
            secs[k] += time.perf_counter() - t0
            cpu[k] += time.thread_time() - c0
            if ok:
                boxes[k] = tuple(float(v) for v in box)
            ious[k].append(iou(boxes[k], gt[i]))
    return {k: summarise(ious[k], secs[k], cpu[k]) for k in names}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sequences", nargs="+")
    ap.add_argument("--trackers", default="KCF,CSRT,MIL,MOSSE")
    a = ap.parse_args()
    cv2.setNumThreads(1)
    names = [n for n in a.trackers.split(",") if n]
    results = []
    print("%-8s %-20s %6s %9s %9s %8s %8s %11s" % ("tracker", "sequence", "frames", "fps", "cpu_fps", "meanIoU", "AUC",
                                                 "first_loss"))
    for seq in a.sequences:
        name = os.path.basename(os.path.normpath(seq))
        for k, r in run(seq, names).items():
            r.update(tracker="opencv-" + k, sequence=name)
            results.append(r)
            print("%-8s %-20s %6d %9.1f %9.1f %8.3f %8.3f %11d" % (k, name, r["frames"], r["fps"], r["cpu_fps"], r["mean_iou"],
                                                                r["auc"], r["first_loss"]), flush=True)
    for k in names:
        rs = [r for r in results if r["tracker"] == "opencv-" + k]
        print("%-8s %-20s %6s %9.1f %9.1f %8.3f %8.3f %11.1f" % (k, "average", "", sum(r["fps"] for r in rs) / len(rs),
                                                               sum(r["cpu_fps"] for r in rs) / len(rs),
                                                          sum(r["mean_iou"] for r in rs) / len(rs), sum(r["auc"] for r in rs) / len(rs),
                                                          sum(r["first_loss"] for r in rs) / len(rs)))
    for r in results:
        print("RESULT " + json.dumps(r))


if __name__ == "__main__":
    main()
