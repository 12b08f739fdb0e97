#!/usr/bin/python3
"""Makes the synthetic tracking sequences the tracking bench runs on.

Each sequence is 300 frames of 1280x720: an object cut from a real photograph (Debian's
python3-skimage sample images) along a polygon, moving over another photograph, with one kind of
difficulty each (translation, scale 0.5x-2x, rotation, motion blur, noise, illumination, partial
and full occlusion, lookalike distractors, sizes 16-300 px) and a mixed one. Everything comes
from fixed seeds: the same command makes the same frames.

Output, per sequence, the layout of a real sequence folder (bench/data/<name>/):
    <out>/<name>/img/00001.jpg ...   frames, JPEG quality 92
    <out>/<name>/groundtruth.txt     x,y,w,h per frame: the bounding box of the true outline
    <out>/<name>/polygons.txt        x0,y0,x1,y1,... per frame: the true outline
    <out>/<name>/meta.json           what the sequence tests

    <out>/<name>/.complete           written last: the sequence is whole

    /usr/bin/python3 bench/tracking/make_sequences.py OUT_DIR [--frames 300] [--only NAME,...]
    /usr/bin/python3 bench/tracking/make_sequences.py --list      the names, one a line
"""
import argparse
import json
import math
import os
import sys

import cv2
import numpy as np
from skimage import data as skdata

W, H = 1280, 720


DATA = os.path.dirname(skdata.__file__)
FILES = {"astronaut": "astronaut.png", "coffee": "coffee.png", "chelsea": "chelsea.png", "rocket": "rocket.jpg",
         "motorcycle_left": "motorcycle_left.png", "hubble_deep_field": "hubble_deep_field.jpg",
         "retina": "retina.jpg", "gravel": "gravel.png", "grass": "grass.png", "brick": "brick.png",
         "camera": "camera.png", "coins": "coins.png", "page": "page.png", "immunohistochemistry": "ihc.png"}


def photo(name):
    img = cv2.imread(os.path.join(DATA, FILES[name]), cv2.IMREAD_COLOR)
    if img is None:
        sys.exit("cannot read %s from %s (Debian package python3-skimage)" % (FILES[name], DATA))
    return img


def blob_polygon(rng, n=24, roughness=0.18):
    """A smooth random star-shaped outline around (0, 0) with a mean radius of 1."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(1, 4):
        r += roughness / k * rng.standard_normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.45, 1.6)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


class Sprite:
    """An object: a texture and an outline polygon, in texture pixels."""

    def __init__(self, texture, polygon):
        self.texture = texture
        self.polygon = polygon.astype(np.float64)
        self.mask = np.zeros(texture.shape[:2], np.uint8)
        cv2.fillPoly(self.mask, [np.round(self.polygon * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        c = self.polygon.mean(axis=0)
        self.centre = c
        self.size = float(np.sqrt(cv2.contourArea(self.polygon.astype(np.float32))))


def cut_sprite(img, cx, cy, radius, rng, aspect=1.0):
    poly = blob_polygon(rng) * np.array([radius * aspect, radius]) + np.array([cx, cy])
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    return Sprite(img[y0:y1, x0:x1].copy(), poly - np.array([x0, y0]))


def horse_sprite(texture_img):
    mask = cv2.imread(os.path.join(DATA, "horse.png"), cv2.IMREAD_GRAYSCALE)
    mask = (mask < 128).astype(np.uint8)  # the horse is dark on white
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(contours, key=cv2.contourArea)
    poly = cv2.approxPolyDP(c, 1.5, True)[:, 0, :].astype(np.float64)
    h, w = mask.shape
    tex = cv2.resize(texture_img, (w, h), interpolation=cv2.INTER_AREA)
    return Sprite(tex, poly)


def background_canvas(img, scale):
    """The photograph enlarged enough to pan a 1280x720 view over it."""
    s = max((W + 400) / img.shape[1], (H + 300) / img.shape[0]) * scale
    return cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)


def smooth_path(rng, n, amp, speed):
    """A smooth path of n points: a sum of three sinusoids per axis."""
    t = np.arange(n, dtype=np.float64)
    out = np.zeros((n, 2))
    for axis in range(2):
        for k in range(3):
            f = speed * (0.6 + 0.8 * rng.uniform()) / (k + 1)
            out[:, axis] += amp[axis] / (k + 1.5) * np.sin(2 * np.pi * f * t / n + rng.uniform(0, 2 * np.pi))
    return out


def place(sprite, frame, cx, cy, scale, angle_deg, gain=1.0, out_mask=None):
    """Draws the sprite centred at (cx, cy); returns its outline in frame pixels.

    Clips to the frame's own size (the sequences' frames are all W x H; make_video.py's need not be)."""
    fh, fw = frame.shape[:2]
    a = math.radians(angle_deg)
    ca, sa = math.cos(a) * scale, math.sin(a) * scale
    ox, oy = sprite.centre
    M = np.array([[ca, -sa, cx - (ca * ox - sa * oy)], [sa, ca, cy - (sa * ox + ca * oy)]])
    poly = sprite.polygon @ M[:, :2].T + M[:, 2]
    x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
    bx0, by0, bx1, by1 = max(x0, 0), max(y0, 0), min(x1, fw), min(y1, fh)
    if bx1 > bx0 and by1 > by0:
        Ml = M.copy()
        Ml[:, 2] -= [bx0, by0]
        size = (bx1 - bx0, by1 - by0)
        tex = cv2.warpAffine(sprite.texture, Ml, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        m = cv2.warpAffine(sprite.mask, Ml, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        alpha = (m.astype(np.float32) / 255.0)[..., None]
        roi = frame[by0:by1, bx0:bx1].astype(np.float32)
        frame[by0:by1, bx0:bx1] = (roi * (1 - alpha) + tex.astype(np.float32) * gain * alpha).clip(0, 255).astype(np.uint8)
        if out_mask is not None:
            out_mask[by0:by1, bx0:bx1] = np.maximum(out_mask[by0:by1, bx0:bx1], m)
    return poly


def motion_blur(frame, dx, dy):
    length = math.hypot(dx, dy)
    if length < 1.5:
        return frame
    k = int(math.ceil(length)) | 1
    kernel = np.zeros((k, k), np.float32)
    c = k // 2
    for i in range(4 * k):
        t = i / (4 * k - 1) - 0.5
        x, y = c + t * dx, c + t * dy
        kernel[int(round(y)), int(round(x))] += 1
    kernel /= kernel.sum()
    return cv2.filter2D(frame, -1, kernel)


# [SECTION] The sequences

# Their names, in the order sequences() makes them (run_all.sh asks for them with --list).
NAMES = ["translation", "fast_motion_blur", "scale_up", "scale_down", "rotation", "noise", "illumination",
         "partial_occlusion", "full_occlusion", "distractors", "tiny", "large", "mixed"]

def sequences(n):
    """Each: name, description, and a function (rng, frame index) -> drawn frame + outline."""
    photos = {k: photo(k) for k in ["astronaut", "coffee", "chelsea", "rocket", "motorcycle_left",
                                     "hubble_deep_field", "retina", "gravel", "grass", "brick", "camera",
                                     "coins", "page", "immunohistochemistry"]}
    out = []

    def seq(name, what, bg, sprite, path, scale, angle, bg_scale=1.0, pan=(0.0, 0.0), effects=None,
            distractors=(), occluders=()):
        canvas = background_canvas(photos[bg], bg_scale)
        out.append(dict(name=name, what=what, canvas=canvas, sprite=sprite, path=path, scale=scale,
                        angle=angle, pan=pan, effects=effects or {}, distractors=distractors,
                        occluders=occluders))

    t = np.arange(n)
    ease = 0.5 - 0.5 * np.cos(np.pi * t / (n - 1))  # 0 -> 1, smooth

    def centre_path(seed, amp=(380, 200), speed=2.0):
        r = np.random.default_rng(seed)
        return smooth_path(r, n, amp, speed) + np.array([W / 2, H / 2])

    def sprite_from(img, cx, cy, radius, seed, aspect=1.0):
        return cut_sprite(photos[img], cx, cy, radius, np.random.default_rng(seed), aspect)

    cat = sprite_from("chelsea", 250, 120, 70, 1)                # the cat's face
    astro = sprite_from("astronaut", 220, 110, 75, 2)            # the astronaut's face and helmet
    cup = sprite_from("coffee", 330, 160, 110, 3, 1.2)           # the cup
    rocket = sprite_from("rocket", 320, 240, 100, 4, 0.6)
    moto = sprite_from("motorcycle_left", 380, 260, 140, 5, 1.4)
    coin = sprite_from("coins", 180, 180, 26, 6)
    horse = horse_sprite(photos["chelsea"])

    def sized(sprite, px):  # scale that makes the sprite about px pixels across
        return px / (2 * np.sqrt(cv2.contourArea(sprite.polygon.astype(np.float32)) / np.pi))

    ones = np.ones(n)
    zeros = np.zeros(n)
    seq("translation", "100 px object, smooth motion up to ~8 px/frame, camera still", "grass", cat,
        centre_path(11), sized(cat, 100) * ones, zeros)
    seq("fast_motion_blur", "70 px object, fast motion (up to ~20 px/frame) with motion blur", "brick", astro,
        centre_path(12, (450, 230), 5.0), sized(astro, 70) * ones, zeros, effects={"blur": True})
    seq("scale_up", "60 -> 120 -> 100 px: scale 1x to 2x and back to 1.7x, slow motion", "gravel", cup,
        centre_path(13, (200, 100), 1.0), sized(cup, 60) * (1 + np.sin(np.pi * 0.75 * t / (n - 1))), zeros)
    seq("scale_down", "200 -> 100 px: scale 1x to 0.5x, slow motion", "retina", moto,
        centre_path(14, (150, 80), 1.0), sized(moto, 200) * (1 - 0.5 * ease), zeros)
    seq("rotation", "120 px object turning in-plane by up to +-70 degrees", "hubble_deep_field", rocket,
        centre_path(15, (250, 120), 1.0), sized(rocket, 120) * ones, 70 * np.sin(2 * np.pi * t / n * 1.5))
    seq("noise", "80 px object, Gaussian noise sigma 25 on every frame", "astronaut", cup,
        centre_path(16), sized(cup, 80) * ones, zeros, bg_scale=1.3, effects={"noise": 25})
    seq("illumination", "90 px object, brightness 0.35x-1.5x over time and a moving shadow", "camera", astro,
        centre_path(17), sized(astro, 90) * ones, zeros, effects={"light": True})
    seq("partial_occlusion", "100 px object, cards from another photo covering up to ~60% of it", "grass", moto,
        centre_path(18, (300, 150), 1.5), sized(moto, 100) * ones, zeros,
        occluders=[dict(img="page", size=(120, 400), start=60, end=100, cover=0.6),
                   dict(img="brick", size=(400, 90), start=160, end=200, cover=0.5),
                   dict(img="page", size=(110, 400), start=240, end=280, cover=0.55)])
    seq("full_occlusion", "90 px object, fully hidden by a card for ~25 frames twice", "gravel", cat,
        centre_path(19, (250, 120), 1.2), sized(cat, 90) * ones, zeros,
        occluders=[dict(img="page", size=(260, 520), start=80, end=135, cover=1.5),
                   dict(img="brick", size=(260, 520), start=200, end=255, cover=1.5)])
    seq("distractors", "60 px coin among four lookalike coins that cross its path", "brick", coin,
        centre_path(20, (300, 160), 1.5), sized(coin, 60) * ones, zeros,
        distractors=[dict(sprite=sprite_from("coins", x, y, 26, 30 + i), seed=40 + i)
                     for i, (x, y) in enumerate([(100, 120), (260, 80), (330, 200), (60, 250)])])
    seq("tiny", "16-24 px object moving fast relative to its size", "retina", coin,
        centre_path(21, (350, 180), 1.5), sized(coin, 20) * (1 + 0.2 * np.sin(2 * np.pi * t / n)), zeros)
    seq("large", "300 px horse (a real outline), slow motion, scale 0.9x-1.1x", "hubble_deep_field", horse,
        centre_path(22, (180, 60), 1.0), sized(horse, 300) * (1 + 0.1 * np.sin(2 * np.pi * t / n)), zeros)
    seq("mixed", "70-140 px: motion, scale, rotation, light, noise and a passing card together", "coffee", rocket,
        centre_path(23, (350, 170), 2.0), sized(rocket, 70) * (1 + ease), 30 * np.sin(2 * np.pi * t / n),
        pan=(0.6, 0.3), effects={"noise": 10, "light": True, "blur": True},
        occluders=[dict(img="page", size=(100, 400), start=150, end=190, cover=0.45)])
    return out, photos


def render(spec, photos, n, out_dir):
    name = spec["name"]
    d = os.path.join(out_dir, name)
    os.makedirs(os.path.join(d, "img"), exist_ok=True)
    rng = np.random.default_rng(sum(map(ord, name)) * 7919)
    canvas = spec["canvas"]
    sprite = spec["sprite"]
    path, scale, angle = spec["path"], spec["scale"], spec["angle"]
    ch, cw = canvas.shape[:2]
    px, py = spec["pan"]
    dists = []
    for k, dsp in enumerate(spec["distractors"]):
        r = np.random.default_rng(dsp["seed"])
        dp = smooth_path(r, n, (420, 220), 2.5) + np.array([W / 2, H / 2])
        dists.append((dsp["sprite"], dp))
    occl = []
    for o in spec["occluders"]:
        img = photos[o["img"]]
        card = cv2.resize(img, (o["size"][0], o["size"][1]), interpolation=cv2.INTER_AREA)
        occl.append((card, o))
    gts, polys = [], []
    for i in range(n):
        ox = int(np.clip(200 + px * i, 0, cw - W))
        oy = int(np.clip(150 + py * i, 0, ch - H))
        frame = canvas[oy:oy + H, ox:ox + W].copy()
        for ds, dp in dists:
            place(ds, frame, dp[i, 0], dp[i, 1], scale[i] * 0.95, 0)
        cx, cy = path[i]
        poly = place(sprite, frame, cx, cy, scale[i], angle[i])
        for card, o in occl:
            if o["start"] <= i < o["end"]:
                # The card slides in from one side until it covers `cover` of the object's width
                # (height, for a wide card) at the middle of its interval, then back out.
                u = (i - o["start"]) / (o["end"] - o["start"])
                bw, bh = card.shape[1], card.shape[0]
                lo, hi = poly.min(axis=0), poly.max(axis=0)
                reach = o["cover"] * math.sin(math.pi * u)
                if bw < bh:
                    x = lo[0] + reach * (hi[0] - lo[0]) - bw
                    y = cy - bh / 2
                else:
                    x = cx - bw / 2
                    y = lo[1] + reach * (hi[1] - lo[1]) - bh
                x0, y0 = int(round(x)), int(round(y))
                fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + bw, W), min(y0 + bh, H)
                if fx1 > fx0 and fy1 > fy0:
                    frame[fy0:fy1, fx0:fx1] = card[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
        eff = spec["effects"]
        if eff.get("blur") and i > 0:
            dx, dy = path[i] - path[i - 1]
            frame = motion_blur(frame, dx, dy)
        if eff.get("light"):
            gain = 0.925 + 0.575 * math.sin(2 * math.pi * i / n * 1.3)
            shadow_x = (i / n) * (W + 800) - 400
            xs = np.arange(W, dtype=np.float32)
            shade = 1 - 0.5 * np.exp(-((xs - shadow_x) / 220.0) ** 2)
            frame = (frame.astype(np.float32) * gain * shade[None, :, None]).clip(0, 255).astype(np.uint8)
        if eff.get("noise"):
            noise = rng.standard_normal(frame.shape).astype(np.float32) * eff["noise"]
            frame = (frame.astype(np.float32) + noise).clip(0, 255).astype(np.uint8)
        cv2.imwrite(os.path.join(d, "img", "%05d.jpg" % (i + 1)), frame, [cv2.IMWRITE_JPEG_QUALITY, 92])
        x0, y0 = poly.min(axis=0)
        x1, y1 = poly.max(axis=0)
        gts.append("%.2f,%.2f,%.2f,%.2f" % (x0, y0, x1 - x0, y1 - y0))
        polys.append(",".join("%.2f" % v for v in poly.reshape(-1)))
    with open(os.path.join(d, "groundtruth.txt"), "w") as f:
        f.write("\n".join(gts) + "\n")
    with open(os.path.join(d, "polygons.txt"), "w") as f:
        f.write("\n".join(polys) + "\n")
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"name": name, "what": spec["what"], "frames": n, "width": W, "height": H}, f, indent=1)
    open(os.path.join(d, ".complete"), "w").close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true", help="print the sequence names and exit")
    a = ap.parse_args()
    if a.list:
        print("\n".join(NAMES))
        return
    if not a.out:
        ap.error("OUT_DIR is needed")
    specs, photos = sequences(a.frames)
    assert [x["name"] for x in specs] == NAMES
    only = set(filter(None, a.only.split(",")))
    unknown = only - {s["name"] for s in specs}
    if unknown:
        sys.exit("no synthetic sequence named %s" % ", ".join(sorted(unknown)))
    for s in specs:
        if only and s["name"] not in only:
            continue
        render(s, photos, a.frames, a.out)
        print("made", s["name"], file=sys.stderr)


if __name__ == "__main__":
    main()
