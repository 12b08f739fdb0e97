#!/usr/bin/python3
"""The video index (polymark_video_probe, reading as the browser will) against ffprobe and ffmpeg.

Environment:
    POLYMARK_VIDEO_PROBE   the polymark_video_probe binary (required)
    POLYMARK_MEDIA_CACHE   where the test videos are made and kept (default: a temporary folder);
                           they are made again when missing or older than make_test_videos.py
"""
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_test_videos  # noqa: E402

PROBE = os.environ.get("POLYMARK_VIDEO_PROBE", "")
_media = {}


def media():
    """(folder, manifest), making the videos once per run or when the generator changed."""
    if "dir" not in _media:
        folder = os.environ.get("POLYMARK_MEDIA_CACHE")
        if not folder:
            folder = tempfile.mkdtemp(prefix="polymark-media-")
            _media["temporary"] = True
        manifest = os.path.join(folder, "manifest.json")
        generator = os.path.join(HERE, "make_test_videos.py")
        if not os.path.exists(manifest) or os.path.getmtime(manifest) < os.path.getmtime(generator):
            subprocess.run([sys.executable, generator, folder], check=True, stdout=subprocess.DEVNULL)
        with open(manifest) as f:
            _media["manifest"] = json.load(f)
        _media["dir"] = folder
    return _media["dir"], _media["manifest"]


def setUpModule():
    if not PROBE or not os.access(PROBE, os.X_OK):
        raise RuntimeError(f"POLYMARK_VIDEO_PROBE must name the polymark_video_probe binary (got {PROBE!r})")
    for tool in ("ffmpeg", "ffprobe"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is needed (Debian's ffmpeg package; tools/setup.sh installs it)")


def tearDownModule():
    if _media.get("temporary"):
        shutil.rmtree(_media["dir"], ignore_errors=True)


def run_probe(path, *args):
    return subprocess.run([PROBE, *args, path], capture_output=True, text=True, timeout=60)


def probe_index(path, *args):
    result = run_probe(path, *args)
    if result.returncode != 0:
        raise AssertionError(f"polymark_video_probe failed on {path}: {result.stderr}")
    return json.loads(result.stdout)


def ffprobe_packets(path):
    """The video packets in decode order, with exact times as Fractions of a second."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets", "-show_data_hash", "MD5",
                          "-show_entries", "packet=pts,dts,duration,flags,pos,size,data_hash:stream=time_base",
                          "-of", "json", path], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    num, den = data["streams"][0]["time_base"].split("/")
    base = Fraction(int(num), int(den))
    packets = []
    for p in data["packets"]:
        packets.append({"pts": int(p["pts"]) * base, "dts": int(p.get("dts", p["pts"])) * base,
                        "duration": int(p.get("duration", 0)) * base, "key": "K" in p["flags"],
                        "discard": "D" in p["flags"], "pos": int(p.get("pos", -1)), "size": int(p["size"]),
                        "md5": p["data_hash"].split(":", 1)[1]})
    return packets


def decoded_indices(path, width, height):
    """The frame index shown in every frame ffmpeg decodes from the file, in presentation order."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    size = width * height * 3
    return [make_test_videos.read_frame_index(raw[i:i + size], width, height) for i in range(0, len(raw), size)]


def elementary_stream(index, data, first, last):
    """Samples first..last (decode order) as a stream ffmpeg decodes without a container:
    H.264 Annex B (parameter sets from the avcC description, then start codes), or VP9 in IVF."""
    samples = {f["decode"]: f for f in index["frames"]}
    chosen = [data[samples[d]["offset"]:samples[d]["offset"] + samples[d]["size"]] for d in range(first, last + 1)]
    if index["codec"].startswith("avc1"):
        avcc = bytes.fromhex(index["description"])
        length_size = (avcc[4] & 3) + 1
        out = bytearray()
        at = 5
        for count_mask in (0x1F, 0xFF):
            count = avcc[at] & count_mask
            at += 1
            for _ in range(count):
                n = struct.unpack(">H", avcc[at:at + 2])[0]
                out += b"\0\0\0\1" + avcc[at + 2:at + 2 + n]
                at += 2 + n
        for sample in chosen:
            i = 0
            while i < len(sample):
                n = int.from_bytes(sample[i:i + length_size], "big")
                out += b"\0\0\0\1" + sample[i + length_size:i + length_size + n]
                i += length_size + n
        return "h264", bytes(out)
    out = bytearray(b"DKIF" + struct.pack("<HHIHHIIII", 0, 32, 0x30395056, index["width"], index["height"], 1000, 1,
                                          len(chosen), 0))
    for i, sample in enumerate(chosen):
        out += struct.pack("<IQ", len(sample), i) + sample
    return "ivf", bytes(out)


class VideoIndexMatchesFfprobe(unittest.TestCase):
    def test_every_presented_frame_matches_ffprobe_in_order_time_place_size_and_keyframe(self):
        folder, manifest = media()
        for video in manifest["videos"]:
            with self.subTest(video=video["file"]):
                path = os.path.join(folder, video["file"])
                ours = probe_index(path)
                packets = ffprobe_packets(path)
                shown = sorted((p for p in packets if not p["discard"]), key=lambda p: p["pts"])
                self.assertEqual(len(ours["frames"]), len(shown))
                self.assertEqual(ours["samples"], len(packets))
                with open(path, "rb") as f:
                    data = f.read()
                container_mp4 = ours["container"] == "mp4"
                for n, (frame, packet) in enumerate(zip(ours["frames"], shown)):
                    where = f"frame {n}"
                    self.assertAlmostEqual(frame["pts"], float(packet["pts"]), delta=1e-6, msg=where)
                    self.assertEqual(Fraction(frame["pts_ticks"], ours["timescale"]), packet["pts"], where)
                    self.assertEqual(frame["size"], packet["size"], where)
                    self.assertEqual(frame["key"], packet["key"], where)
                    payload = data[frame["offset"]:frame["offset"] + frame["size"]]
                    self.assertEqual(hashlib.md5(payload).hexdigest(), packet["md5"], where)
                    if container_mp4:
                        self.assertEqual(frame["offset"], packet["pos"], where)
                    # The decode position is the packet's place in decode order.
                    self.assertIs(packets[frame["decode"]], packet, where)

    def test_frames_show_at_the_times_the_generator_meant(self):
        folder, manifest = media()
        for video in manifest["videos"]:
            with self.subTest(video=video["file"]):
                ours = probe_index(os.path.join(folder, video["file"]))
                self.assertEqual(len(ours["frames"]), video["frames"])
                self.assertEqual((ours["width"], ours["height"]), (video["width"], video["height"]))
                self.assertTrue(ours["codec"].startswith(video["codec"] + "."), ours["codec"])
                first = ours["frames"][0]["pts"] - video["pts"][0]  # fragmented MP4 keeps ffmpeg's B-frame delay
                for n, (frame, meant) in enumerate(zip(ours["frames"], video["pts"])):
                    self.assertAlmostEqual(frame["pts"] - first, meant, delta=video["pts_tolerance"], msg=f"frame {n}")
                keyframes = [n for n, f in enumerate(ours["frames"]) if f["key"]]
                self.assertEqual(keyframes[0], 0)
                self.assertTrue(all(b - a <= video["keyframe_interval"] for a, b in zip(keyframes, keyframes[1:])), keyframes)
                self.assertGreaterEqual(len(keyframes), video["frames"] // video["keyframe_interval"])

    def test_the_codec_strings_are_the_ones_webcodecs_expects(self):
        folder, _ = media()
        expected = {"h264_bframes.mp4": "avc1.64000d", "vp9.webm": "vp09.00.20.08", "vfr.mp4": "avc1.64",
                    "h264_bframes.mkv": "avc1.64000d", "h264_fragmented.mp4": "avc1.64000d"}
        for name, codec in expected.items():
            with self.subTest(video=name):
                ours = probe_index(os.path.join(folder, name))
                self.assertTrue(ours["codec"].startswith(codec), ours["codec"])
                if codec.startswith("avc1"):
                    self.assertEqual(bytes.fromhex(ours["description"])[0], 1)  # avcC configurationVersion
                else:
                    self.assertEqual(ours["description"], "")

    def test_the_edit_list_moves_the_first_shown_frame_to_zero_like_ffmpeg(self):
        folder, _ = media()
        path = os.path.join(folder, "h264_bframes.mp4")
        with open(path, "rb") as f:
            data = f.read()
        at = data.index(b"elst")
        version, count = data[at + 4], struct.unpack(">I", data[at + 8:at + 12])[0]
        self.assertEqual((version, count), (0, 1))
        media_time = struct.unpack(">i", data[at + 16:at + 20])[0]
        self.assertGreater(media_time, 0)  # x264's B-frames delay the first composition time
        ours = probe_index(path)
        self.assertEqual(ours["frames"][0]["pts_ticks"], 0)
        self.assertEqual(ours["frames"][0]["decode"], 0)
        packets = ffprobe_packets(path)
        self.assertLess(packets[0]["dts"], 0)  # ffmpeg shows the same shift on decode times

    def test_ffmpeg_decodes_frame_n_showing_n_so_the_generator_is_right(self):
        folder, manifest = media()
        for video in manifest["videos"]:
            with self.subTest(video=video["file"]):
                shown = decoded_indices(os.path.join(folder, video["file"]), video["width"], video["height"])
                self.assertEqual(shown, list(range(video["frames"])))

    def test_decoding_from_decode_from_to_the_frame_gives_frame_n(self):
        folder, manifest = media()
        for video in manifest["videos"]:
            path = os.path.join(folder, video["file"])
            ours = probe_index(path)
            with open(path, "rb") as f:
                data = f.read()
            frames = ours["frames"]
            count = len(frames)
            keys = [n for n, f in enumerate(frames) if f["key"]]
            picks = {0, 1, 2, count - 1, count - 2} | {k + d for k in keys for d in (-2, -1, 0, 1) if 0 <= k + d < count}
            picks |= set(random.Random(7).sample(range(count), 6))
            pts_of_sample = {f["decode"]: f["pts_ticks"] for f in frames}
            for n in sorted(picks):
                with self.subTest(video=video["file"], frame=n):
                    first, last = frames[n]["decode_from"], frames[n]["decode"]
                    self.assertTrue(frames[[f["decode"] for f in frames].index(first)]["key"])
                    self.assertLessEqual(first, last)
                    fmt, stream = elementary_stream(ours, data, first, last)
                    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", fmt, "-i", "-", "-fps_mode", "passthrough",
                                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                                         input=stream, capture_output=True, check=True).stdout
                    size = ours["width"] * ours["height"] * 3
                    self.assertEqual(len(raw) // size, last - first + 1)
                    order = sorted(range(first, last + 1), key=lambda d: pts_of_sample[d])
                    at = order.index(last) * size
                    shown = make_test_videos.read_frame_index(raw[at:at + size], ours["width"], ours["height"])
                    self.assertEqual(shown, n)

    def test_reading_a_few_bytes_at_a_time_gives_the_same_index(self):
        folder, manifest = media()
        for video in manifest["videos"]:
            with self.subTest(video=video["file"]):
                path = os.path.join(folder, video["file"])
                whole = probe_index(path)
                small = probe_index(path, "--chunk", "7")
                self.assertEqual(small["frames"], whole["frames"])
                self.assertEqual(small["codec"], whole["codec"])

    def test_an_mp4_index_reads_a_small_part_of_the_file(self):
        folder, _ = media()
        for name in ("h264_bframes.mp4", "vfr.mp4"):
            with self.subTest(video=name):
                ours = probe_index(os.path.join(folder, name), "--chunk", "4096")
                self.assertLess(ours["bytes_read"], ours["file_size"] // 4)
                self.assertLessEqual(ours["reads"], 4)

    def test_the_variable_frame_rate_durations_follow_the_timestamps(self):
        folder, _ = media()
        ours = probe_index(os.path.join(folder, "vfr.mp4"))
        steps = [round(f["dur"] / ours["timescale"] * 60) for f in ours["frames"][:-1]]
        self.assertEqual(steps, [make_test_videos.VFR_STEPS[n % 5] for n in range(len(steps))])


class BrokenFilesAreClearErrors(unittest.TestCase):
    """Every broken file ends the probe with status 1 and a message naming what and where."""

    def broken(self, name, data, *expected):
        folder = tempfile.mkdtemp(prefix="polymark-broken-")
        try:
            path = os.path.join(folder, name)
            with open(path, "wb") as f:
                f.write(data)
            result = run_probe(path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, "")
        for words in expected:
            self.assertIn(words, result.stderr)
        return result.stderr

    def top_level_boxes(self, data):
        boxes, at = {}, 0
        while at + 8 <= len(data):
            size, kind = struct.unpack(">I4s", data[at:at + 8])
            boxes[kind.decode()] = (at, size)
            at += size
        return boxes

    def test_an_mp4_cut_inside_the_moov_names_the_moov_and_its_offset(self):
        folder, _ = media()
        with open(os.path.join(folder, "h264_bframes.mp4"), "rb") as f:
            data = f.read()
        at, size = self.top_level_boxes(data)["moov"]
        self.broken("cut_moov.mp4", data[:at + size // 2], "'moov'", f"offset {at}", "truncated")

    def test_an_mp4_cut_inside_the_media_data_names_the_mdat_and_its_offset(self):
        folder, _ = media()
        with open(os.path.join(folder, "h264_bframes.mp4"), "rb") as f:
            data = f.read()
        at, size = self.top_level_boxes(data)["mdat"]
        self.broken("cut_mdat.mp4", data[:at + size // 2], "'mdat'", f"offset {at}", "truncated")

    def test_a_box_larger_than_the_file_is_named_with_its_offset(self):
        ftyp = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 512, b"isom")
        self.broken("huge_box.mp4", ftyp + struct.pack(">I4s", 0x7FFFFFF0, b"free") + bytes(100), "'free'", "offset 20")

    def test_a_hostile_sample_count_is_refused(self):
        folder, _ = media()
        with open(os.path.join(folder, "h264_bframes.mp4"), "rb") as f:
            data = bytearray(f.read())
        at = data.index(b"stsz")
        data[at + 12:at + 16] = struct.pack(">I", 0xFFFFFFF0)  # sample_count
        self.broken("hostile_count.mp4", bytes(data), "stsz", "offset")

    def test_random_bytes_are_not_a_video(self):
        self.broken("random.bin", bytes(random.Random(1).getrandbits(8) for _ in range(4096)), "neither an MP4 nor a WebM")

    def test_an_empty_file_is_named_empty(self):
        self.broken("empty.mp4", b"", "empty")

    def test_a_webm_cut_inside_a_cluster_keeps_the_frames_before_the_cut_with_a_warning(self):
        folder, _ = media()
        whole_path = os.path.join(folder, "vp9.webm")
        with open(whole_path, "rb") as f:
            data = f.read()
        whole = json.loads(run_probe(whole_path).stdout)
        scratch = tempfile.mkdtemp(prefix="polymark-cut-")
        try:
            path = os.path.join(scratch, "cut.webm")
            with open(path, "wb") as f:
                f.write(data[:len(data) // 2])
            result = run_probe(path)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("warning", result.stderr)
        self.assertIn("truncated", result.stderr)
        self.assertIn("offset", result.stderr)
        cut = json.loads(result.stdout)
        self.assertTrue(0 < len(cut["frames"]) < len(whole["frames"]), len(cut["frames"]))
        # The frames kept are the whole file's first frames, each wholly inside the cut file.
        self.assertEqual(cut["frames"], whole["frames"][:len(cut["frames"])])
        self.assertTrue(all(f["offset"] + f["size"] <= len(data) // 2 for f in cut["frames"]))

    def test_every_prefix_and_byte_flip_of_a_small_file_ends_cleanly(self):
        folder, _ = media()
        for name in ("h264_bframes.mp4", "vp9.webm"):
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
            rng = random.Random(3)
            scratch = tempfile.mkdtemp(prefix="polymark-fuzz-")
            try:
                for trial in range(40):
                    mutated = bytearray(data[:rng.randrange(len(data))] if trial % 2 else data)
                    for _ in range(8):
                        if mutated:
                            mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
                    path = os.path.join(scratch, f"{trial}-{name}")
                    with open(path, "wb") as f:
                        f.write(mutated)
                    result = run_probe(path)
                    with self.subTest(video=name, trial=trial):
                        self.assertIn(result.returncode, (0, 1), result.stderr)
                        if result.returncode == 1:
                            self.assertTrue(result.stderr.startswith("polymark_video_probe: "))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if not PROBE:
        sys.exit("set POLYMARK_VIDEO_PROBE to the polymark_video_probe binary")
    unittest.main()
