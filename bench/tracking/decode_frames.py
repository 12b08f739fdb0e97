#!/usr/bin/python3
"""Decodes a sequence's frames once into one raw file of 8-bit grey frames, which the C++ (native
and wasm) and OpenCV.js runners read, so that no runner times JPEG decoding.

A sequence folder holds frames (*.jpg / *.png, in img/ or in the folder itself, in name order with
numbers compared by value: 2 before 10) and groundtruth.txt; make_sequences.py writes that layout,
and so do the real sequences (bench/README.md).

    /usr/bin/python3 bench/tracking/decode_frames.py RAW_DIR SEQ_DIR...
writes RAW_DIR/<name>.gray (frames back to back, width*height bytes each, rows top-down) and
RAW_DIR/<name>.json ({"width", "height", "frames"}); skipped when already newer than the frames.
"""
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics import frame_files  # noqa: E402

VERSION = 2  # 2: frames in natural order (files decoded before it were in text order: 1, 10, 2)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seq in sys.argv[2:]:
        name = os.path.basename(os.path.normpath(seq))
        files = frame_files(seq)
        if not files:
            sys.exit("no frames in %s" % seq)
        raw, meta = os.path.join(out, name + ".gray"), os.path.join(out, name + ".json")
        newest = max(os.path.getmtime(f) for f in files)
        if os.path.exists(meta) and os.path.getmtime(meta) > newest:
            with open(meta) as f:
                if json.load(f).get("version") == VERSION:
                    continue
        w = h = None
        with open(raw, "wb") as f:
            for p in files:
                g = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
                if w is None:
                    h, w = g.shape
                elif g.shape != (h, w):
                    sys.exit("%s: size %s differs from the first frame's" % (p, g.shape))
                f.write(np.ascontiguousarray(g).tobytes())
        with open(meta, "w") as f:
            json.dump({"width": w, "height": h, "frames": len(files), "version": VERSION}, f)
        print("decoded", name, file=sys.stderr)


if __name__ == "__main__":
    main()
