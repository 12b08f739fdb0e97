"""Tracking metrics shared by the Python runners (the C++ and JS runners compute the same)."""
import os


def read_boxes(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.replace(",", " ").replace("\t", " ").replace(";", " ").split()
            if line:
                rows.append([float(v) for v in line[:4]])
    return rows


def frame_files(seq):
    d = os.path.join(seq, "img") if os.path.isdir(os.path.join(seq, "img")) else seq
    files = sorted(f for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    return [os.path.join(d, f) for f in files]


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    i = ix * iy
    u = a[2] * a[3] + b[2] * b[3] - i
    return i / u if u > 0 else 0.0


def summarise(ious, seconds, cpu_seconds):
    """ious: frames 1..n-1 (frame 0 is the given box); seconds, cpu_seconds: wall and CPU time
    spent in update()."""
    n = len(ious)
    auc = sum(sum(1 for v in ious if v > t / 20) / n for t in range(21)) / 21
    first_loss = next((i for i, v in enumerate(ious) if v < 0.1), n)
    return {"frames": n + 1, "fps": n / seconds if seconds > 0 else 0.0,
            "cpu_fps": n / cpu_seconds if cpu_seconds > 0 else 0.0, "mean_iou": sum(ious) / n,
            "auc": auc, "first_loss": first_loss}
