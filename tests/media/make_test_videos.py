#!/usr/bin/python3
"""Makes test videos whose frames show their own index, and a manifest of what each should hold.

    /usr/bin/python3 tests/media/make_test_videos.py OUT_DIR [--big]

Standard library only; needs ffmpeg (Debian's 5.1: libx264, libvpx-vp9). Raw RGB frames are piped
to ffmpeg, so every frame's content is known by construction: frame n (the n-th frame shown,
counting from 0) shows the number n.

The frame-index code (the browser tests read the same layout; keep both in step)
----------------------------------------------------------------------------------
All coordinates are image pixels, origin at the top-left, x to the right, y down.

* A grid of 8 columns x 4 rows of CELL = 32 px square cells, its top-left corner at (32, 32):
  cell (column c, row r) covers x in [32 + 32c, 64 + 32c) and y in [32 + 32r, 64 + 32r).
  The grid spans x in [32, 288) and y in [32, 160); videos are at least 320 x 176.
* Every cell is pure white (255, 255, 255) or pure black (0, 0, 0):
    row 0   reference: cell c is white when c is even, black when c is odd
    row 1   bits 15..8 of n, column 0 holding bit 15; white = 1
    row 2   bits 7..0 of n, column 0 holding bit 7; white = 1
    row 3   reference, inverted: cell c is black when c is even, white when c is odd
* A quiet zone of flat grey (128, 128, 128) surrounds the grid: x in [16, 304), y in [16, 176)
  outside the cells. Everything else is a moving diagonal stripe pattern, so that the encoder
  makes real predicted frames.

Reading a frame back (`read_frame_index`): average the centre 16 x 16 px of every cell (the mean of
R, G and B), take the threshold halfway between the mean of the white reference cells and the
mean of the black reference cells, and require every reference cell on its side of the threshold
with at least 64 levels of contrast; otherwise the frame carries no code. Colour conversion and
compression move pixel values by a few levels; the coarse pure black/white cells survive them.

The manifest (`manifest.json` in OUT_DIR) lists for every file: its frame count, size, codec
family, keyframe interval, and the presentation time of every frame as the generator meant it,
with the tolerance a container's time units allow (WebM stores milliseconds).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

CELL = 32
GRID_X, GRID_Y = 32, 32
COLUMNS, ROWS = 8, 4
QUIET = 16
WHITE, BLACK, GREY = 255, 0, 128


def _cell_values(n):
    """The 4 x 8 cell colours (255 or 0) showing frame index n."""
    rows = [[WHITE if c % 2 == 0 else BLACK for c in range(COLUMNS)]]
    rows.append([WHITE if (n >> (15 - c)) & 1 else BLACK for c in range(COLUMNS)])
    rows.append([WHITE if (n >> (7 - c)) & 1 else BLACK for c in range(COLUMNS)])
    rows.append([BLACK if c % 2 == 0 else WHITE for c in range(COLUMNS)])
    return rows


class FramePainter:
    """Paints RGB24 frames of a given size: the code for n over a moving stripe background."""

    def __init__(self, width, height):
        if width < GRID_X + COLUMNS * CELL + QUIET or height < GRID_Y + ROWS * CELL + QUIET:
            raise ValueError("frames must be at least 320 x 176")
        self.width, self.height = width, height
        period = 64
        stripe = b"".join(bytes((70, 90, 200)) if (x % period) < period // 2 else bytes((200, 160, 60))
                          for x in range(period))
        self.stripes = stripe * (width // period + 3)
        self.period = period

    def frame(self, n):
        w = self.width
        cells = _cell_values(n)
        quiet_x0, quiet_x1 = GRID_X - QUIET, GRID_X + COLUMNS * CELL + QUIET
        quiet_y0, quiet_y1 = GRID_Y - QUIET, GRID_Y + ROWS * CELL + QUIET
        grey = bytes((GREY, GREY, GREY))
        code_rows = []
        for r in range(ROWS):
            row = grey * QUIET
            for c in range(COLUMNS):
                row += bytes((cells[r][c],) * 3) * CELL
            code_rows.append(row + grey * QUIET)
        quiet_row = grey * (quiet_x1 - quiet_x0)
        out = bytearray()
        for y in range(self.height):
            shift = (y + 4 * n) % self.period
            row = bytearray(self.stripes[3 * shift:3 * (shift + w)])
            if quiet_y0 <= y < quiet_y1:
                if GRID_Y <= y < GRID_Y + ROWS * CELL:
                    middle = code_rows[(y - GRID_Y) // CELL]
                else:
                    middle = quiet_row
                row[3 * quiet_x0:3 * quiet_x1] = middle
            out += row
        return bytes(out)


def read_frame_index(pixels, width, height, channels=3):
    """The frame index shown in an RGB (channels=3) or RGBA (channels=4) buffer, or None."""
    if width < GRID_X + COLUMNS * CELL or height < GRID_Y + ROWS * CELL:
        return None
    stride = width * channels
    means = []
    for r in range(ROWS):
        row = []
        for c in range(COLUMNS):
            x0, y0 = GRID_X + c * CELL + CELL // 4, GRID_Y + r * CELL + CELL // 4
            total = 0
            for y in range(y0, y0 + CELL // 2):
                base = y * stride + x0 * channels
                for x in range(CELL // 2):
                    p = base + x * channels
                    total += pixels[p] + pixels[p + 1] + pixels[p + 2]
            row.append(total / (3 * (CELL // 2) ** 2))
        means.append(row)
    expected = _cell_values(0)
    whites = [means[r][c] for r in (0, 3) for c in range(COLUMNS) if expected[r][c] == WHITE]
    blacks = [means[r][c] for r in (0, 3) for c in range(COLUMNS) if expected[r][c] == BLACK]
    if min(whites) - max(blacks) < 64:
        return None
    threshold = (sum(whites) / len(whites) + sum(blacks) / len(blacks)) / 2
    n = 0
    for r in (1, 2):
        for c in range(COLUMNS):
            n = n << 1 | (1 if means[r][c] > threshold else 0)
    return n


def _encode(out_path, painter, count, input_rate, encoder_args, filters=None):
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{painter.width}x{painter.height}",
               "-framerate", str(input_rate), "-i", "-"]
    if filters:
        command += ["-vf", filters]
    command += encoder_args + [out_path]
    encoder = subprocess.Popen(command, stdin=subprocess.PIPE)
    try:
        for n in range(count):
            encoder.stdin.write(painter.frame(n))
    finally:
        encoder.stdin.close()
    if encoder.wait() != 0:
        raise RuntimeError(f"ffmpeg failed making {out_path}")


def _has_edit_list(path):
    """True when an MP4 carries an 'elst' box (ffmpeg writes one for the B-frame delay)."""
    with open(path, "rb") as f:
        data = f.read()
    return b"elst" in data


# Variable frame rate: durations cycle through 2, 4, 1, 2, 3 sixtieths of a second
# (1/30, 1/15, 1/60, 1/30, 1/20 s), so pts(n) = 12 * (n // 5) + START[n % 5] sixtieths.
VFR_STEPS = [2, 4, 1, 2, 3]
VFR_STARTS = [0, 2, 6, 7, 9]


def _vfr_pts(n):
    return (sum(VFR_STEPS) * (n // 5) + VFR_STARTS[n % 5]) / 60


def make_videos(out_dir, big=False):
    os.makedirs(out_dir, exist_ok=True)
    small = FramePainter(320, 240)
    videos = []

    name = "h264_bframes.mp4"
    count = 150
    _encode(os.path.join(out_dir, name), small, count, 30,
            ["-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p"])
    if not _has_edit_list(os.path.join(out_dir, name)):
        raise RuntimeError(f"{name} has no edit list; the test needs ffmpeg's B-frame edit list")
    videos.append({"file": name, "frames": count, "width": 320, "height": 240, "codec": "avc1",
                   "keyframe_interval": 30, "pts": [n / 30 for n in range(count)], "pts_tolerance": 1e-6})

    name = "vp9.webm"
    count = 120
    _encode(os.path.join(out_dir, name), small, count, 30,
            ["-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-g", "30", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"])
    videos.append({"file": name, "frames": count, "width": 320, "height": 240, "codec": "vp09",
                   "keyframe_interval": 30, "pts": [n / 30 for n in range(count)], "pts_tolerance": 0.0005 + 1e-9})

    name = "vfr.mp4"
    count = 100
    steps = "+".join(f"{start}*eq(mod(N,5),{i})" for i, start in enumerate(VFR_STARTS) if start)
    _encode(os.path.join(out_dir, name), FramePainter(320, 240), count, 60,
            ["-fps_mode", "passthrough", "-c:v", "libx264", "-g", "30", "-pix_fmt", "yuv420p",
             "-video_track_timescale", "600"],
            filters=f"setpts='({sum(VFR_STEPS)}*floor(N/5)+{steps})/(60*TB)'")
    videos.append({"file": name, "frames": count, "width": 320, "height": 240, "codec": "avc1",
                   "keyframe_interval": 30, "pts": [_vfr_pts(n) for n in range(count)], "pts_tolerance": 1e-6})

    # The same H.264 stream in two more containers: fragmented MP4 and Matroska (B-frames in
    # decode order with presentation timestamps).
    for name, args in (("h264_fragmented.mp4", ["-movflags", "frag_keyframe+empty_moov+default_base_moof"]),
                       ("h264_bframes.mkv", [])):
        command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i",
                   os.path.join(out_dir, "h264_bframes.mp4"), "-c", "copy"] + args + [os.path.join(out_dir, name)]
        subprocess.run(command, check=True)
        tolerance = 1e-6 if name.endswith(".mp4") else 0.0005 + 1e-9
        videos.append({"file": name, "frames": 150, "width": 320, "height": 240, "codec": "avc1",
                       "keyframe_interval": 30, "pts": [n / 30 for n in range(150)], "pts_tolerance": tolerance})

    if big:
        name = "h264_gop60_1080p.mp4"
        count = 600
        _encode(os.path.join(out_dir, name), FramePainter(1920, 1080), count, 30,
                ["-c:v", "libx264", "-g", "60", "-keyint_min", "60", "-pix_fmt", "yuv420p"])
        videos.append({"file": name, "frames": count, "width": 1920, "height": 1080, "codec": "avc1",
                       "keyframe_interval": 60, "pts": [n / 30 for n in range(count)], "pts_tolerance": 1e-6})

    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"version": 1, "videos": videos}, f, indent=1)
    return videos


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    if len(args) != 1 or any(a not in ("--big",) for a in argv[1:] if a.startswith("--")):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if not shutil.which("ffmpeg"):
        print("make_test_videos: ffmpeg is not installed", file=sys.stderr)
        return 2
    out_dir = args[0]
    # Write into a scratch folder and move finished files in, so that an interrupted run never
    # leaves a manifest beside half-written videos.
    os.makedirs(out_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(dir=out_dir, prefix=".making-")
    try:
        videos = make_videos(scratch, big="--big" in argv)
        for video in videos:
            os.replace(os.path.join(scratch, video["file"]), os.path.join(out_dir, video["file"]))
        os.replace(os.path.join(scratch, "manifest.json"), os.path.join(out_dir, "manifest.json"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for video in videos:
        print(f"{video['file']}: {video['frames']} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
