"""Uploaded media cannot run script on the app's origin (issue 21, item 1), over real HTTP.

A task's media are accepted by their bytes (PNG, JPEG, WebP, AVIF, GIF as images; MP4, WebM as
videos), never by their names; everything under /media/ is served with the type its bytes show,
`nosniff` and a sandboxing Content-Security-Policy, and a file that is not media (one planted in
the media folder by hand, or left there by an older serve.py) is served as an attachment of type
application/octet-stream, never as a document.

    python3 -m unittest tests/backend/test_media_safety.py -v
"""

import base64
import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import MP4_FTYP, PNG_A, WEBM_EBML, HttpMixin, ServerProcess, run_serve, write, write_json  # noqa: E402

HTML = b"<!doctype html><script>indexedDB.open('pwned')</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="indexedDB.open(\'pwned\')"/>'
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64)
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(64)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)
WEBM = WEBM_EBML + bytes(64)
MKV = WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska")
MP4 = MP4_FTYP + bytes(256)

GOOD = {"a.png": ("image", PNG_A, "image/png"), "b.jpg": ("image", JPEG, "image/jpeg"),
        "c.gif": ("image", GIF, "image/gif"), "d.webp": ("image", WEBP, "image/webp"),
        "e.avif": ("image", AVIF, "image/avif"), "f.mp4": ("video", MP4, "video/mp4"),
        "g.webm": ("video", WEBM, "video/webm")}


def upload(task_id, files, kinds=None):
    """A POST /api/tasks body naming each file as one medium."""
    media = [{"id": "m%d" % i, "type": (kinds or {}).get(name) or ("video" if name.endswith((".mp4", ".webm")) else "image"),
              "file": name} for i, name in enumerate(files)]
    return {"task": {"format": "polymark.task", "version": 1, "id": task_id, "media": media},
            "files": {name: base64.b64encode(data).decode("ascii") for name, data in files.items()}}


class MediaSafetyTest(HttpMixin, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-media-")
        cls.media = os.path.join(cls.tmp, "media")
        cls.server = ServerProcess(cls.tmp, ["--quiet", "--db", os.path.join(cls.tmp, "db.sqlite"),
                                             "--media-root", cls.media]).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def post(self, body):
        conn = self.connect()
        try:
            conn.request("POST", "/api/tasks", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        finally:
            conn.close()

    def test_html_and_svg_uploaded_as_images_are_refused_naming_the_file(self):
        for i, (name, data, looks) in enumerate([("x.html", HTML, "HTML"), ("x.svg", SVG, "SVG"),
                                                 ("x.png", HTML, "HTML"), ("notes.jpg", b"hello\n", "text"),
                                                 ("empty.png", b"", "an empty file")]):
            with self.subTest(name=name, looks=looks):
                status, reply = self.post(upload("evil%d" % i, {name: data}))
                self.assertEqual(status, 400, reply)
                self.assertEqual(reply["error"]["code"], "bad_media")
                self.assertEqual(reply["error"]["path"], "/task/media/0/file")
                self.assertIn(repr(name), reply["error"]["message"])
                self.assertIn("look like " + looks, reply["error"]["message"])
                status, _, _ = self.request("GET", "/media/evil%d/%s" % (i, name))
                self.assertEqual(status, 404, "nothing of a refused task reaches the media folder")

    def test_a_video_given_as_an_image_and_heic_and_matroska_are_refused(self):
        cases = [("clip.mp4", MP4, "image", "is a video (MP4), not an image"),
                 ("photo.png", PNG_A, "video", "is an image (PNG), not a video"),
                 ("photo.heic", HEIC, "image", "HEIF/HEIC"),
                 ("clip.mkv", MKV, "video", "Matroska, not WebM")]
        for i, (name, data, kind, says) in enumerate(cases):
            with self.subTest(name=name):
                status, reply = self.post(upload("mismatch%d" % i, {name: data}, {name: kind}))
                self.assertEqual(status, 400, reply)
                self.assertEqual(reply["error"]["code"], "bad_media")
                self.assertIn(says, reply["error"]["message"])

    def test_every_supported_format_is_accepted_and_served_with_the_type_of_its_bytes(self):
        # Names are swapped on purpose: the bytes decide the type, never the extension.
        files = {"as-" + name + ".html": data for name, (_, data, _) in GOOD.items()}
        kinds = {"as-" + name + ".html": kind for name, (kind, _, _) in GOOD.items()}
        status, reply = self.post(upload("formats", files, kinds))
        self.assertEqual(status, 201, reply)
        for name, (_, data, mime) in GOOD.items():
            with self.subTest(name=name):
                status, headers, body = self.request("GET", "/media/formats/as-%s.html" % name,
                                                     {"Accept-Encoding": "gzip"})
                self.assertEqual(status, 200)
                self.assertEqual(body, data)
                self.assertEqual(headers["Content-Type"], mime)
                self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
                self.assertIn("sandbox", headers["Content-Security-Policy"])
                self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
                self.assertIsNone(headers.get("Content-Encoding"))

    def test_a_document_planted_in_the_media_folder_is_served_as_a_sandboxed_download(self):
        for name, data in (("planted.html", HTML), ("planted.svg", SVG), ("planted.xml", b"<?xml version='1.0'?><a/>")):
            write(os.path.join(self.media, "old", name), data)
            for method in ("GET", "HEAD"):
                with self.subTest(name=name, method=method):
                    status, headers, body = self.request(method, "/media/old/" + name)
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["Content-Type"], "application/octet-stream")
                    self.assertEqual(headers["Content-Disposition"], "attachment")
                    self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
                    self.assertIn("sandbox", headers["Content-Security-Policy"])
                    if method == "GET":
                        self.assertEqual(body, data)

    def test_ranges_of_a_video_keep_its_type_and_sandbox(self):
        status, reply = self.post(upload("ranged", {"v.mp4": MP4}))
        self.assertEqual(status, 201, reply)
        status, headers, body = self.request("GET", "/media/ranged/v.mp4", {"Range": "bytes=100-199"})
        self.assertEqual(status, 206)
        self.assertEqual(body, MP4[100:200])
        self.assertEqual(headers["Content-Type"], "video/mp4")
        self.assertIn("sandbox", headers["Content-Security-Policy"])


class ImportDirectoryMediaTest(unittest.TestCase):
    def test_import_of_a_directory_with_an_svg_image_fails_naming_file_and_pointer(self):
        tmp = tempfile.mkdtemp(prefix="pm-media-import-")
        try:
            d = os.path.join(tmp, "task")
            write(os.path.join(d, "logo.svg"), SVG)
            write_json(os.path.join(d, "task.json"), {"format": "polymark.task", "version": 1, "id": "svg",
                                                      "media": [{"id": "l", "type": "image", "file": "logo.svg"}]})
            result = run_serve(["--db", os.path.join(tmp, "db.sqlite"), "--import", d])
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn("/media/0/file", result.stderr)
            self.assertIn("'logo.svg' is not PNG, JPEG, WebP, AVIF, GIF, MP4 or WebM", result.stderr)
            self.assertEqual(result.stdout, "")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
