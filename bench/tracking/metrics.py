"""Tracking ground truth, frame order and metrics shared by the Python runners and summarise.py.

The C++ runner (track_bench.cpp) and the JS one (run_opencvjs.cjs) implement the same rules; the
tests in tests/bench/ check that all three score the boxes they write alike.

Ground truth (groundtruth.txt), one row per frame, numbers separated by commas, tabs, semicolons
or spaces:
  - 4 numbers: x,y,w,h (top-left corner and size, 0-based pixels);
  - 8 numbers: a VOT rotated box x1,y1,...,x4,y4, read as its axis-aligned bounding box
    (min/max of the corners), as the VOT toolkit's own conversion to a rectangle does;
  - `nan` in any field (OTB/LaSOT/UAV style): the frame exists but the target is absent.
Any other count of numbers is an error naming the line: never guess.

Scoring (bench/README.md, "What the numbers mean"): frame 1 is the given box and is not scored;
frames where the target is absent are left out of every overlap and distance average, and a box the
tracker still reports on them counts in a separate column (`absent_boxed`).
"""
import math
import os
import re


class TruthError(ValueError):
    pass


def parse_truth_row(text, where=""):
    """One ground-truth row: (x, y, w, h), or None when the target is absent; TruthError when the row
    is neither 4 nor 8 numbers."""
    fields = [f for f in re.split(r"[\s,;]+", text.strip()) if f]
    try:
        vals = [float(f) for f in fields]
    except ValueError:
        raise TruthError("%s: not numbers: %r" % (where, text.strip()))
    if len(vals) not in (4, 8):
        raise TruthError("%s: %d numbers; expected 4 (x,y,w,h) or 8 (a VOT polygon)" % (where, len(vals)))
    if any(math.isnan(v) for v in vals):
        return None
    if len(vals) == 8:
        xs, ys = vals[0::2], vals[1::2]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    return tuple(vals)


def read_truth(path):
    """Every row of a groundtruth.txt, one per frame (blank lines skipped): boxes or None (absent)."""
    rows = []
    with open(path) as f:
        for k, line in enumerate(f, 1):
            if line.strip():
                rows.append(parse_truth_row(line, "%s:%d" % (path, k)))
    return rows


def natural_key(name):
    """Sort key that orders the numbers inside names by value: 1, 2, 10 (not 1, 10, 2)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


def frame_files(seq):
    d = os.path.join(seq, "img") if os.path.isdir(os.path.join(seq, "img")) else seq
    files = sorted((f for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg", ".png"))), key=natural_key)
    return [os.path.join(d, f) for f in files]


def clip_box(box, width, height):
    """The part of box inside a width x height frame (w or h 0 when nothing is)."""
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], float(width)), min(box[1] + box[3], float(height))
    return (x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    u = a[2] * a[3] + b[2] * b[3] - i
    return i / u if u > 0 else 0.0


def centre_distance(a, b):
    return math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2)


def score(truth, boxes, reported):
    """Accuracy of one run. truth: rows from read_truth (None = absent); boxes: the tracker's box per
    frame (frame 0 the given one); reported: per frame, whether the tracker said it sees the target
    (OpenCV's ok, our not-lost). Frame 0 is not scored; absent frames are left out of the averages."""
    ious, dists = [], []
    absent = absent_boxed = 0
    first_loss = None
    for i in range(1, len(boxes)):
        if truth[i] is None:
            absent += 1
            absent_boxed += bool(reported[i])
            continue
        v = iou(boxes[i], truth[i])
        if v < 0.1 and first_loss is None:
            first_loss = len(ious)
        ious.append(v)
        dists.append(centre_distance(boxes[i], truth[i]))
    n = len(ious)
    return {"scored": n, "absent": absent, "absent_boxed": absent_boxed,
            "mean_iou": sum(ious) / n if n else 0.0,
            "auc": sum(sum(1 for v in ious if v > t / 20) / n for t in range(21)) / 21 if n else 0.0,
            "precision20": sum(1 for d in dists if d <= 20) / n if n else 0.0,
            "first_loss": n if first_loss is None else first_loss}


def summarise(truth, boxes, reported, seconds, cpu_seconds):
    """score() plus speed: seconds and cpu_seconds are wall and CPU time spent in update()."""
    updates = len(boxes) - 1
    r = {"frames": len(boxes), "fps": updates / seconds if seconds > 0 else 0.0,
         "cpu_fps": updates / cpu_seconds if cpu_seconds > 0 else 0.0}
    r.update(score(truth, boxes, reported))
    return r


def write_boxes(path, boxes, reported):
    """One row per frame from frame 1 (the given box), x,y,w,h,reported: OTB's result layout plus
    a column saying whether the tracker reported the target on that frame."""
    with open(path, "w") as f:
        for b, ok in zip(boxes, reported):
            f.write("%.3f,%.3f,%.3f,%.3f,%d\n" % (b[0], b[1], b[2], b[3], int(bool(ok))))


def read_result_boxes(path):
    """A boxes file any runner wrote: (boxes, reported)."""
    boxes, reported = [], []
    with open(path) as f:
        for line in f:
            v = [float(x) for x in line.strip().split(",") if x]
            if v:
                boxes.append(tuple(v[:4]))
                reported.append(bool(v[4]) if len(v) > 4 else True)
    return boxes, reported
