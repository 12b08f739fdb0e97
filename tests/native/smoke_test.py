"""The native client, run under Xvfb against the real serve.py, shows the task's first image.

The image is a PNG of four flat quadrants (red, green, blue, yellow). After `ready`, a
screenshot of the X root window must show each quadrant's colour on the matching side of the
viewport's centre: proof that the image was fetched, decoded, uploaded and drawn upright.
"""

import json
import os
import select
import subprocess
import sys
import tempfile
import time
import unittest
import zlib
import struct

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NATIVE = os.environ.get("POLYMARK_NATIVE_BIN", os.path.join(REPO, "build", "client", "polymark"))
WIDTH, HEIGHT = 800, 600
QUADRANTS = {"top_left": (230, 25, 75), "top_right": (60, 180, 75), "bottom_left": (0, 130, 200), "bottom_right": (255, 225, 25)}


def write_quadrant_png(path, w, h):
    rows = bytearray()
    for y in range(h):
        rows.append(0)
        for x in range(w):
            key = ("top_" if y < h // 2 else "bottom_") + ("left" if x < w // 2 else "right")
            rows.extend(QUADRANTS[key])
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def read_line(proc, deadline, what):
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line:
                return line.decode() if isinstance(line, bytes) else line
            raise AssertionError(f"{what} closed its output (exit {proc.poll()})")
    raise AssertionError(f"timed out waiting for {what}")


def parse_ppm(data):
    """Binary P6 with maxval 255, as ImageMagick writes it."""
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    assert parts[0] == b"P6" and parts[3] == b"255", parts
    w, h = int(parts[1]), int(parts[2])
    pixels = data[pos + 1:pos + 1 + w * h * 3]
    return w, h, lambda x, y: tuple(pixels[(y * w + x) * 3:(y * w + x) * 3 + 3])


class NativeClientSmokeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="polymark-native-")
        self.procs = []
        task_dir = os.path.join(self.tmp.name, "task")
        os.mkdir(task_dir)
        write_quadrant_png(os.path.join(task_dir, "quadrants.png"), 320, 200)
        with open(os.path.join(task_dir, "task.json"), "w") as f:
            json.dump({"format": "polymark.task", "version": 1, "id": "smoke", "name": "Smoke",
                       "media": [{"id": "q", "type": "image", "file": "quadrants.png"}],
                       "labels": [{"id": "thing", "name": "Thing"}]}, f)
        server = self.spawn([sys.executable, os.path.join(REPO, "serve.py"), "--port", "0", "--quiet",
                             "--db", os.path.join(self.tmp.name, "db.sqlite"), "--web", self.tmp.name,
                             "--import", task_dir])
        line = read_line(server, time.time() + 20, "serve.py")
        self.backend = line.split("serving ", 1)[1].strip().rstrip("/")
        read_fd, write_fd = os.pipe()
        self.spawn(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
                   pass_fds=(write_fd,), stdout=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            self.display = ":" + f.readline().strip()

    def spawn(self, args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        # Unbuffered, so that readline never holds lines that select() cannot see.
        proc = subprocess.Popen(args, bufsize=0, **kw)
        self.procs.append(proc)
        return proc

    def tearDown(self):
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        for proc in self.procs:
            if proc.stdout:
                proc.stdout.close()
        self.tmp.cleanup()

    def screenshot(self):
        xwd = subprocess.run(["xwd", "-root", "-silent", "-display", self.display], check=True, capture_output=True).stdout
        ppm = subprocess.run(["convert", "xwd:-", "ppm:-"], input=xwd, check=True, capture_output=True).stdout
        return parse_ppm(ppm)

    def test_native_client_draws_the_first_image_upright_after_ready(self):
        env = dict(os.environ, DISPLAY=self.display, LIBGL_ALWAYS_SOFTWARE="1")
        client = self.spawn([NATIVE, "--backend", self.backend, "--task", "smoke", "--size", f"{WIDTH}x{HEIGHT}",
                             "--exit-after-ready", "30"], env=env)
        deadline = time.time() + 60
        events = []
        while not any(e.get("event") == "view" for e in events):
            events.append(json.loads(read_line(client, deadline, "the native client")))
            self.assertNotIn("mountfailed", [e.get("event") for e in events], events)
        self.assertIn("ready", [e.get("event") for e in events])
        view = next(e["detail"] for e in events if e.get("event") == "view")
        self.assertEqual((view["imageWidth"], view["imageHeight"]), (320, 200))
        time.sleep(0.5)  # one more presented frame, so the screenshot is not mid-swap
        w, h, pixel = self.screenshot()
        self.assertEqual((w, h), (WIDTH, HEIGHT))
        # The middle of each quadrant, through the view the client reports (screen = offset + p * zoom).
        def on_screen(ix, iy):
            return round(view["offsetX"] + ix * view["zoom"]), round(view["offsetY"] + iy * view["zoom"])
        samples = {"top_left": on_screen(80, 50), "top_right": on_screen(240, 50),
                   "bottom_left": on_screen(80, 150), "bottom_right": on_screen(240, 150)}
        for name, (x, y) in samples.items():
            got = pixel(x, y)
            want = QUADRANTS[name]
            self.assertTrue(all(abs(a - b) <= 6 for a, b in zip(got, want)),
                            f"{name} at ({x},{y}) is {got}, expected {want}")
        # Left of the image, at mid-height, is the workspace background.
        left, middle = on_screen(0, 100)
        self.assertGreater(left, 4)
        self.assertNotIn(pixel(left - 4, middle), QUADRANTS.values())


if __name__ == "__main__":
    unittest.main()
