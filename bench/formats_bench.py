#!/usr/bin/env python3
"""Import and export speed of `polymark` (build/cli/polymark) on big files, beside Python's floor
in the same run (docs/FORMATS.md, "Speed"):

  COCO, 100,000 images and 1,000,000 polygon annotations (generated): `polymark stats` (the import)
  and `polymark convert --to coco` (import and export), time and peak memory, against Python's
  json.load of the file plus the per-image index pycocotools builds (createIndex).
  CVAT XML video, 1,000 tracks x 1,000 frames (every frame listed, as CVAT writes): the same
  against xml.etree.ElementTree.parse.

  python3 bench/formats_bench.py [--images N --annotations N --tracks N --frames N] [--runs R]

Prints one line per measure: median of R runs [min-max], peak RSS, and the ratio to the floor.
The generated files are cached in build/bench-formats/.
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = os.environ.get("POLYMARK_CLI", str(ROOT / "build/cli/polymark"))
WORK = ROOT / "build/bench-formats"


def make_coco(path, images, annotations):
    rng = random.Random(15)
    with open(path, "w") as f:
        f.write('{"info":{"description":"polymark bench"},"licenses":[],"categories":[')
        f.write(",".join('{"id":%d,"name":"class %d","supercategory":""}' % (c, c) for c in range(1, 81)))
        f.write('],"images":[')
        f.write(",".join('{"id":%d,"file_name":"%012d.jpg","width":640,"height":480}' % (i, i) for i in range(1, images + 1)))
        f.write('],"annotations":[')
        for a in range(1, annotations + 1):
            cx, cy, r = rng.uniform(50, 590), rng.uniform(50, 430), rng.uniform(5, 45)
            pts = []
            for k in range(8):  # an octagon-ish polygon, 2 decimals as COCO files have
                import math
                t = k * math.pi / 4
                pts += ["%.2f" % (cx + r * math.cos(t)), "%.2f" % (cy + r * math.sin(t))]
            f.write(("," if a > 1 else "") + '{"id":%d,"image_id":%d,"category_id":%d,"segmentation":[[%s]],"area":%.2f,"bbox":[%.2f,%.2f,%.2f,%.2f],"iscrowd":0}'
                    % (a, 1 + (a - 1) % images, 1 + a % 80, ",".join(pts), 2.83 * r * r, cx - r, cy - r, 2 * r, 2 * r))
        f.write("]}")


def make_cvat(path, tracks, frames):
    with open(path, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n  <meta><task><size>%d</size><mode>interpolation</mode>'
                '<start_frame>0</start_frame><stop_frame>%d</stop_frame><labels><label><name>car</name><attributes/></label></labels>'
                '<original_size><width>1920</width><height>1080</height></original_size></task></meta>\n' % (frames, frames - 1))
        for t in range(tracks):
            f.write('  <track id="%d" label="car" source="manual">\n' % t)
            x0, y0 = (t * 37) % 1800, (t * 53) % 1000
            for fr in range(frames):
                key = 1 if fr % 10 == 0 else 0
                x, y = x0 + (fr % 100) * 0.5, y0 + (fr % 50) * 0.25
                f.write('    <box frame="%d" keyframe="%d" outside="0" occluded="0" xtl="%.2f" ytl="%.2f" xbr="%.2f" ybr="%.2f" z_order="0"/>\n'
                        % (fr, key, x, y, x + 40, y + 30))
            f.write("  </track>\n")
        f.write("</annotations>\n")


PY_COCO = r'''
import json, sys, collections
d = json.load(open(sys.argv[1]))
anns, imgs, cats = {}, {}, {}
img_to_anns, cat_to_imgs = collections.defaultdict(list), collections.defaultdict(list)
for a in d["annotations"]:
    img_to_anns[a["image_id"]].append(a); anns[a["id"]] = a
for i in d["images"]: imgs[i["id"]] = i
for c in d["categories"]: cats[c["id"]] = c
for a in d["annotations"]: cat_to_imgs[a["category_id"]].append(a["image_id"])
print(len(anns), len(imgs))
'''
PY_XML = r'''
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
print(sum(1 for _ in root.iter("box")))
'''


def timed(cmd):
    """Wall seconds and the child's peak RSS in MB (each command in a fresh process: wait4)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t
    err = p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(map(str, cmd)), err))
    return elapsed, usage.ru_maxrss / 1024


def measure(name, cmd, runs, size_mb, floor=None):
    results = [timed(cmd) for _ in range(runs)]
    times = [r[0] for r in results]
    rss = max(r[1] for r in results)
    med = statistics.median(times)
    line = "%-44s %8.2f s [%.2f-%.2f]  peak %7.0f MB (%.2fx file)" % (name, med, min(times), max(times), rss, rss / size_mb)
    if floor:
        line += "  %.1fx faster than the floor" % (floor / med)
    print(line, flush=True)
    return med


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--annotations", type=int, default=1_000_000)
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    coco = WORK / ("coco_%d_%d.json" % (a.images, a.annotations))
    cvat = WORK / ("cvat_%d_%d.xml" % (a.tracks, a.frames))
    if not coco.exists():
        make_coco(coco, a.images, a.annotations)
    if not cvat.exists():
        make_cvat(cvat, a.tracks, a.frames)
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    mb = coco.stat().st_size / 2**20
    print("COCO: %d images, %d polygons, %.0f MB" % (a.images, a.annotations, mb))
    floor = measure("python json.load + pycocotools index", [sys.executable, "-c", PY_COCO, coco], a.runs, mb)
    measure("polymark stats (import)", [CLI, "stats", "--from", "coco", coco], a.runs, mb, floor)
    measure("polymark convert coco -> coco (import+export)", [CLI, "convert", "--from", "coco", "--to", "coco", coco, out / "c.json"], a.runs, mb, floor)
    mb = cvat.stat().st_size / 2**20
    print("CVAT XML video: %d tracks x %d frames, %.0f MB" % (a.tracks, a.frames, mb))
    floor = measure("python xml.etree.ElementTree.parse", [sys.executable, "-c", PY_XML, cvat], a.runs, mb)
    measure("polymark stats (import)", [CLI, "stats", "--from", "cvat", cvat], a.runs, mb, floor)
    measure("polymark convert cvat -> cvat (import+export)", [CLI, "convert", "--from", "cvat", "--to", "cvat", cvat, out / "c.xml"], a.runs, mb, floor)


if __name__ == "__main__":
    main()
