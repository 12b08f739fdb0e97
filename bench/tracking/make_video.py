#!/usr/bin/python3
"""Makes one H.264 MP4 with several objects moving at once, and its ground truth, for the browser
test and benchmark of "track forward".

Objects are textured crops of different photographs (Debian's python3-skimage sample images: the
cat's face, the astronaut, the coffee cup, the motorcycle, cells, coins, the cameraman, the rocket,
the retina), cut along a smooth random outline and pasted with an anti-aliased mask on one
photograph (bricks) scaled to fill the frame, by make_sequences.py's machinery. Each object keeps
to its own cell of a grid over the frame, so that objects never overlap and stay inside the frame
(both asserted for every frame, boxes at least 12 px apart and 6 px inside), and moves smoothly
(a sum of sinusoids, at most 5 px per frame at any outline vertex, asserted at 6) with a mild scale
change (0.91x-1.13x). No rotation, occlusion, blur, noise or lighting change: the video is meant to
be trackable, to check the keyframes the tracker writes. Everything comes from --seed: the same
arguments make the same truth JSON (the MP4's bytes depend on the ffmpeg/x264 version).

    /usr/bin/python3 bench/tracking/make_video.py OUT_DIR [--objects 5] [--frames 300]
        [--width 1280] [--height 720] [--seed 7] [--fps 30]

writes OUT_DIR/moving.mp4 (libx264, yuv420p, CRF 18, GOP 60, 2 B-frames, faststart) and
OUT_DIR/moving.json:
    {"width", "height", "frames", "fps", "args": {...}, "background", "encoder",
     "objects": [{"name", "photo", "boxes": [[x, y, w, h] per frame],
                  "polygons": [[x0, y0, x1, y1, ...] per frame]}]}
Coordinates are in pixels, (0, 0) the top-left corner of the top-left pixel's centre (as OpenCV
draws), 2 decimals; a box is the bounding box of the true outline. After writing, the MP4 is
decoded back (cv2.VideoCapture) and its frame count and its first and last frames checked against
the rendered ones. Does nothing when OUT_DIR/moving.json is newer than this script and
make_sequences.py and was made with the same arguments.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_sequences as ms  # noqa: E402

BACKGROUND = "brick"
# Objects, best textured first: name, photograph, crop centre and radius in the photograph's
# pixels, aspect (width / height of the outline before its random shape).
OBJECTS = [
    ("cat", "chelsea", 245, 150, 80, 1.0),
    ("astronaut", "astronaut", 210, 110, 75, 1.0),
    ("cup", "coffee", 330, 160, 110, 1.2),
    ("motorcycle", "motorcycle_left", 380, 260, 140, 1.4),
    ("cells", "immunohistochemistry", 230, 260, 110, 1.0),
    ("coins", "coins", 190, 150, 85, 1.0),
    ("cameraman", "camera", 250, 170, 80, 1.0),
    ("rocket", "rocket", 320, 330, 90, 1.0),
    ("retina", "retina", 330, 640, 200, 1.0),
]
GAP = 6           # px between an object's box and its cell's edge (so >= 12 between objects)
VMAX = 5.0        # px per frame, any outline vertex, that paths are made to
VMAX_ASSERT = 6.0
SIZE_MIN, SIZE_MAX = 60.0, 160.0   # box sides, px, at every frame
SCALE_MID, SCALE_AMP = 1.02, 0.11  # scale over time: SCALE_MID + SCALE_AMP * sin(...)


def resized_sprite(sprite, f):
    """The sprite's texture and outline resampled by f (INTER_AREA), so that it is drawn near 1x."""
    h, w = sprite.texture.shape[:2]
    tex = cv2.resize(sprite.texture, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    fx, fy = tex.shape[1] / w, tex.shape[0] / h
    poly = (sprite.polygon + 0.5) * np.array([fx, fy]) - 0.5
    return ms.Sprite(tex, poly)


def fill_background(img, w, h):
    s = max(w / img.shape[1], h / img.shape[0])
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    big = cv2.resize(img, (max(w, round(img.shape[1] * s)), max(h, round(img.shape[0] * s))), interpolation=interp)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return big[y0:y0 + h, x0:x0 + w].copy()


def grid(k, w, h):
    cols = min(k, max(1, math.ceil(math.sqrt(k * w / h))))
    rows = math.ceil(k / cols)
    return rows, cols


def outlines(sprite, path, scale):
    """Outline per frame, as make_sequences.place() computes it (no rotation): (n, m, 2)."""
    rel = sprite.polygon - sprite.centre
    return rel[None, :, :] * scale[:, None, None] + path[:, None, :]


def plan(a, photos):
    """Each object: its sprite, centre path (n, 2) and scale (n,). All from a.seed."""
    n, W, H, k = a.frames, a.width, a.height, a.objects
    rows, cols = grid(k, W, H)
    rng = np.random.default_rng(a.seed)
    cells = rng.permutation(rows * cols)[:k]
    out = []
    t = np.arange(n, dtype=np.float64)
    for i in range(k):
        name, ph, cx, cy, rad, aspect = OBJECTS[i]
        r = np.random.default_rng([a.seed, i])
        sp = ms.cut_sprite(photos[ph], cx, cy, rad, r, aspect)
        scale = SCALE_MID + SCALE_AMP * np.sin(2 * np.pi * r.uniform(0.5, 1.0) * min(1.0, n / 100) * t / n + r.uniform(0, 2 * np.pi))
        smin, smax = float(scale.min()), float(scale.max())
        # Size: the outline's box long side at scale 1 is L, the short side L / asp.
        ext = sp.polygon.max(axis=0) - sp.polygon.min(axis=0)
        asp = float(ext.max() / ext.min())
        cw, ch = W / cols, H / rows
        fit = min((cw - 2 * GAP - 80) / (ext[0] / ext.max()), (ch - 2 * GAP - 60) / (ext[1] / ext.max())) / smax
        lo = SIZE_MIN * asp / smin + 1
        hi = min(SIZE_MAX / smax - 1, fit)
        if lo > hi:
            sys.exit("%d objects do not fit in %dx%d with %d-%d px boxes and room to move" % (k, W, H, SIZE_MIN, SIZE_MAX))
        L = r.uniform(max(lo, min(85.0, hi)), hi)
        sp = resized_sprite(sp, L / ext.max())
        rel = sp.polygon - sp.centre
        # The centre's range that keeps the box GAP px inside the cell at the largest scale.
        row, col = divmod(int(cells[i]), cols)
        x0, x1 = col * cw + GAP - rel[:, 0].min() * smax, (col + 1) * cw - GAP - rel[:, 0].max() * smax
        y0, y1 = row * ch + GAP - rel[:, 1].min() * smax, (row + 1) * ch - GAP - rel[:, 1].max() * smax
        assert x1 > x0 and y1 > y0, (name, x0, x1, y0, y1)
        p = ms.smooth_path(r, n, (1.0, 1.0), max(0.5, 1.5 * min(1.0, n / 300)))
        p = (p - (p.max(axis=0) + p.min(axis=0)) / 2) / np.maximum((p.max(axis=0) - p.min(axis=0)) / 2, 1e-9)
        mid, half = np.array([(x0 + x1) / 2, (y0 + y1) / 2]), np.array([(x1 - x0) / 2, (y1 - y0) / 2])
        amp = 1.0
        for _ in range(60):  # shrink the path about the cell's middle until no vertex moves > VMAX
            path = mid + amp * half * p
            step = np.linalg.norm(np.diff(outlines(sp, path, scale), axis=0), axis=2).max() if n > 1 else 0.0
            if step <= VMAX:
                break
            amp *= 0.97 * VMAX / step if step > VMAX * 1.03 else 0.99
        out.append(dict(name=name, photo=ph, sprite=sp, path=path, scale=scale, cell=(row, col)))
    return out


def check(objs, a):
    """Asserts the video's promises from the true outlines; returns a few numbers."""
    W, H = a.width, a.height
    boxes = []
    vmax, side_lo, side_hi, s_lo, s_hi = 0.0, 1e9, 0.0, 1e9, 0.0
    for o in objs:
        P = outlines(o["sprite"], o["path"], o["scale"])
        lo, hi = P.min(axis=1), P.max(axis=1)
        assert (lo >= GAP - 1e-6).all() and (hi[:, 0] <= W - GAP + 1e-6).all() and (hi[:, 1] <= H - GAP + 1e-6).all(), \
            "%s leaves the frame" % o["name"]
        wh = hi - lo
        side_lo, side_hi = min(side_lo, wh.min()), max(side_hi, wh.max())
        assert SIZE_MIN <= wh.min() and wh.max() <= SIZE_MAX, (o["name"], wh.min(), wh.max())
        s_lo, s_hi = min(s_lo, o["scale"].min()), max(s_hi, o["scale"].max())
        assert 0.85 <= o["scale"].min() and o["scale"].max() <= 1.2
        if len(P) > 1:
            v = np.linalg.norm(np.diff(P, axis=0), axis=2).max()
            vmax = max(vmax, v)
            assert v <= VMAX_ASSERT, (o["name"], v)
        boxes.append((lo, hi))
    min_gap = float("inf")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (l1, h1), (l2, h2) = boxes[i], boxes[j]
            # Boxes are apart when they are apart along x or along y; the gap is the larger one.
            gap = np.maximum(np.maximum(l2[:, 0] - h1[:, 0], l1[:, 0] - h2[:, 0]),
                             np.maximum(l2[:, 1] - h1[:, 1], l1[:, 1] - h2[:, 1]))
            assert (gap > 0).all(), "%s and %s overlap at frame %d" % (objs[i]["name"], objs[j]["name"], int(np.argmin(gap)))
            min_gap = min(min_gap, float(gap.min()))
    return dict(max_step_px=round(float(vmax), 2), min_gap_px=round(min_gap, 2) if boxes[1:] else None,
                box_sides_px=[round(float(side_lo), 1), round(float(side_hi), 1)],
                scale=[round(float(s_lo), 3), round(float(s_hi), 3)])


def h264_encoder():
    enc = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=True).stdout
    names = [line.split()[1] for line in enc.splitlines() if len(line.split()) > 1 and "264" in line.split()[1]]
    if "libx264" in names:
        return "libx264", ["-preset", "veryfast", "-crf", "18"]
    for e in ["h264_vaapi", "h264_qsv", "h264_nvenc", "h264_v4l2m2m", "h264_omx"]:
        if e in names:
            print("libx264 is missing: using %s" % e, file=sys.stderr)
            return e, ["-b:v", "12M"]
    sys.exit("ffmpeg has no H.264 encoder: %s" % names)


def encode(a, objs, bg, out_mp4, encoder, enc_opts):
    W, H = a.width, a.height
    tmp = os.path.join(os.path.dirname(out_mp4), ".moving.tmp.mp4")
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", "%dx%d" % (W, H), "-r", str(a.fps), "-i", "-",
           "-c:v", encoder, "-pix_fmt", "yuv420p"] + enc_opts + \
          ["-g", "60", "-bf", "2", "-movflags", "+faststart", tmp]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    first = last = None
    try:
        for f in range(a.frames):
            frame = bg.copy()
            for o in objs:
                poly = ms.place(o["sprite"], frame, o["path"][f, 0], o["path"][f, 1], o["scale"][f], 0)
                assert np.allclose(poly, outlines(o["sprite"], o["path"][f:f + 1], o["scale"][f:f + 1])[0])
            if f == 0:
                first = frame
            if f == a.frames - 1:
                last = frame
            proc.stdin.write(frame.tobytes())
    finally:
        proc.stdin.close()
        rc = proc.wait()
    if rc != 0:
        sys.exit("ffmpeg failed (%d): %s" % (rc, " ".join(cmd)))
    os.replace(tmp, out_mp4)
    return first, last


def verify(out_mp4, a, objs, first, last):
    cap = cv2.VideoCapture(out_mp4)
    n, dec_first, dec_last = 0, None, None
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        if n == 0:
            dec_first = fr
        dec_last = fr
        n += 1
    cap.release()
    print("decoded %d frames (expected %d)" % (n, a.frames))
    assert n == a.frames, "decoded %d frames, expected %d" % (n, a.frames)
    worst = 0.0
    res = {}
    for label, f, ref, dec in [("first", 0, first, dec_first), ("last", a.frames - 1, last, dec_last)]:
        assert dec.shape == ref.shape, (dec.shape, ref.shape)
        gr, gd = (cv2.cvtColor(x, cv2.COLOR_BGR2GRAY).astype(np.float32) for x in (ref, dec))
        whole = float(np.abs(gr - gd).mean())
        parts = []
        for o in objs:
            P = outlines(o["sprite"], o["path"][f:f + 1], o["scale"][f:f + 1])[0]
            x0, y0 = np.floor(P.min(axis=0)).astype(int)
            x1, y1 = np.ceil(P.max(axis=0)).astype(int) + 1
            g = float(np.abs(gr[y0:y1, x0:x1] - gd[y0:y1, x0:x1]).mean())
            c = float(np.abs(ref[y0:y1, x0:x1].astype(np.float32) - dec[y0:y1, x0:x1].astype(np.float32)).mean())
            parts.append("%s grey %.2f bgr %.2f" % (o["name"], g, c))
            res.setdefault(label, {})[o["name"]] = round(g, 2)
            worst = max(worst, g)
        print("frame %d (%s): mean |decoded - rendered|, grey levels: whole frame %.2f; in boxes: %s"
              % (f, label, whole, "; ".join(parts)))
    assert worst < 6, "decoded frames differ from the rendered ones by %.2f grey levels in a box" % worst
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--objects", type=int, default=5)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--fps", type=int, default=30)
    a = ap.parse_args()
    if not 1 <= a.objects <= len(OBJECTS):
        ap.error("--objects: 1 to %d" % len(OBJECTS))
    if a.frames < 1 or a.fps < 1 or a.width < 64 or a.height < 64 or a.width % 2 or a.height % 2:
        ap.error("--frames and --fps >= 1; --width and --height even and >= 64 (yuv420p)")
    args = dict(objects=a.objects, frames=a.frames, width=a.width, height=a.height, seed=a.seed, fps=a.fps)
    out_json, out_mp4 = os.path.join(a.out, "moving.json"), os.path.join(a.out, "moving.mp4")
    newest_src = max(os.path.getmtime(os.path.abspath(__file__)), os.path.getmtime(ms.__file__))
    if os.path.exists(out_json) and os.path.exists(out_mp4) and os.path.getmtime(out_json) > newest_src:
        try:
            with open(out_json) as f:
                same = json.load(f).get("args") == args
        except ValueError:
            same = False
        if same:
            print("up to date: %s" % out_json)
            return
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    names = set([BACKGROUND] + [o[1] for o in OBJECTS[:a.objects]])
    photos = {k: ms.photo(k) for k in names}
    objs = plan(a, photos)
    stats = check(objs, a)
    print("objects: %s; %s" % (", ".join("%s (cell %d,%d)" % (o["name"], *o["cell"]) for o in objs), stats))
    bg = fill_background(photos[BACKGROUND], a.width, a.height)
    encoder, enc_opts = h264_encoder()
    first, last = encode(a, objs, bg, out_mp4, encoder, enc_opts)
    t1 = time.time()
    verify(out_mp4, a, objs, first, last)

    def r2(v):
        return [round(float(x), 2) for x in v]

    objects = []
    for o in objs:
        P = outlines(o["sprite"], o["path"], o["scale"])
        lo, hi = P.min(axis=1), P.max(axis=1)
        objects.append(dict(name=o["name"], photo=o["photo"],
                            boxes=[r2([l[0], l[1], h[0] - l[0], h[1] - l[1]]) for l, h in zip(lo, hi)],
                            polygons=[r2(p.reshape(-1)) for p in P]))
    truth = dict(width=a.width, height=a.height, frames=a.frames, fps=a.fps, args=args, background=BACKGROUND,
                 encoder=encoder, checks=stats, objects=objects)
    tmp = out_json + ".tmp"
    with open(tmp, "w") as f:
        f.write("{\n")
        keys = [k for k in truth if k != "objects"]
        for k in keys:
            f.write(" %s: %s,\n" % (json.dumps(k), json.dumps(truth[k], separators=(",", ":"))))
        f.write(' "objects": [\n%s\n ]\n}\n' % ",\n".join("  " + json.dumps(o, separators=(",", ":")) for o in objects))
    json.load(open(tmp))
    os.replace(tmp, out_json)
    print("wrote %s (%.1f MB) and %s in %.1f s (render+encode %.1f s, verify %.1f s)"
          % (out_mp4, os.path.getsize(out_mp4) / 1e6, out_json, time.time() - t0, t1 - t0, time.time() - t1))


if __name__ == "__main__":
    main()
