"""serve.py as a CDN origin and as an API on another origin, over real HTTP: content-hashed client
files are immutable for a year, the page, polymark.js, sw.js and plain names are revalidated (a 304
while they hold), and a page of an allowed origin gets the preflights and headers its saves and
video reads need, while other origins get none.

    cd tests/backend && python3 -m unittest -v test_cdn_headers
"""

import gzip
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_serve import HttpMixin, ServerProcess, make_demo_dir, stop_serving, write  # noqa: E402

IMMUTABLE = "public, max-age=31536000, immutable"
HASH = "0123456789abcdef"
SCRIPT = b"window.x = 1;\n" * 40  # big enough to be precompressed


def comma_set(value):
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


class CdnHeadersTest(HttpMixin, unittest.TestCase):
    ORIGIN = "http://127.0.0.1:5999"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pm-cdn-")
        web = os.path.join(cls.tmp, "web")
        for name in ("index.html", "polymark.js", "sw.js", "polymark_app.js", f"polymark_app.{HASH}.js",
                     f"fonts/ui-latin.{HASH}.ttf", "polymark_app.0123456789abcde.js",
                     "polymark_app.0123456789ABCDEF.js", f"polymark_app.{HASH}0.js"):
            write(os.path.join(web, name), SCRIPT)
        # The build's precompressed copy of a hashed file (tools/precompress.py), sent in its place.
        write(os.path.join(web, f"polymark_app.{HASH}.js.gz"), gzip.compress(SCRIPT))
        cls.server = ServerProcess(cls.tmp, [
            "--db", os.path.join(cls.tmp, "db", "p.sqlite"), "--web", web,
            "--import", make_demo_dir(cls.tmp), "--cors-origin", cls.ORIGIN]).start()

    @classmethod
    def tearDownClass(cls):
        stop_serving(cls.server, cls.tmp)

    # ---- Cache-Control by kind of file

    def test_content_hashed_names_are_cached_a_year_as_immutable(self):
        for path in (f"/polymark_app.{HASH}.js", f"/fonts/ui-latin.{HASH}.ttf"):
            for encoding in ("identity", "gzip"):
                with self.subTest(path=path, encoding=encoding):
                    status, headers, body = self.request("GET", path, {"Accept-Encoding": encoding})
                    self.assertEqual(status, 200)
                    self.assertEqual(headers["Cache-Control"], IMMUTABLE)
        status, headers, _ = self.request("GET", f"/polymark_app.{HASH}.js", {"Accept-Encoding": "gzip"})
        self.assertEqual(headers["Content-Encoding"], "gzip")

    def test_the_page_entry_scripts_and_plain_names_are_revalidated(self):
        for path in ("/", "/index.html", "/polymark.js", "/sw.js", "/polymark_app.js",
                     # not the naming rule: 15 or 17 hex digits, upper-case hex
                     "/polymark_app.0123456789abcde.js", f"/polymark_app.{HASH}0.js",
                     "/polymark_app.0123456789ABCDEF.js"):
            with self.subTest(path=path):
                status, headers, _ = self.request("GET", path)
                self.assertEqual(status, 200)
                self.assertEqual(headers["Cache-Control"], "no-cache")
                self.assertTrue(headers["ETag"] and headers["Last-Modified"])

    def test_a_missing_hashed_name_is_not_cached(self):
        status, headers, _ = self.request("GET", "/polymark_app.fedcba9876543210.js")
        self.assertEqual(status, 404)
        self.assertEqual(headers["Cache-Control"], "no-store")

    def test_revalidating_an_unchanged_file_is_a_304(self):
        for path in ("/polymark.js", "/", "/sw.js"):
            for encoding in ("identity", "gzip", "br"):
                with self.subTest(path=path, encoding=encoding):
                    status, headers, _ = self.request("GET", path, {"Accept-Encoding": encoding})
                    self.assertEqual(status, 200)
                    etag, modified = headers["ETag"], headers["Last-Modified"]
                    status, headers, body = self.request("GET", path, {"Accept-Encoding": encoding,
                                                                       "If-None-Match": etag})
                    self.assertEqual((status, body), (304, b""))
                    self.assertEqual(headers["Cache-Control"], "no-cache")
                    self.assertEqual(headers["ETag"], etag)
                    status, _, body = self.request("GET", path, {"Accept-Encoding": encoding,
                                                                 "If-Modified-Since": modified})
                    self.assertEqual((status, body), (304, b""))
        status, _, body = self.request("GET", "/polymark.js", {"If-None-Match": '"an-older-build"'})
        self.assertEqual(status, 200)
        self.assertEqual(body, SCRIPT)

    # ---- the API on another origin

    def preflight(self, path, method, headers, origin=None):
        return self.request("OPTIONS", path, {"Origin": origin or self.ORIGIN, "Access-Control-Request-Method": method,
                                              "Access-Control-Request-Headers": headers})

    def test_preflights_grant_what_the_apps_saves_send(self):
        app_headers = "authorization,content-type,x-polymark-device,x-polymark-role,x-polymark-user"
        for path, method in (("/api/tasks/demo/annotations", "PATCH"), ("/api/tasks/demo/review", "PATCH"),
                             ("/api/tasks", "POST"), ("/api/queue/next", "POST"),
                             ("/api/tasks/demo/annotations", "PUT")):
            with self.subTest(path=path, method=method):
                status, headers, _ = self.preflight(path, method, app_headers)
                self.assertEqual(status, 204)
                self.assertEqual(headers["Access-Control-Allow-Origin"], self.ORIGIN)
                self.assertIn(method.lower(), comma_set(headers["Access-Control-Allow-Methods"]))
                self.assertLessEqual(comma_set(app_headers), comma_set(headers["Access-Control-Allow-Headers"]))
                self.assertIn("Origin", headers.get_all("Vary"))

    def test_a_video_read_by_ranges_is_granted_and_its_extent_readable(self):
        status, headers, _ = self.preflight("/media/demo/clip.mp4", "GET", "range")
        self.assertEqual(status, 204)
        self.assertIn("range", comma_set(headers["Access-Control-Allow-Headers"]))
        status, headers, _ = self.request("GET", "/media/demo/clip.mp4", {"Origin": self.ORIGIN, "Range": "bytes=0-9"})
        self.assertEqual(status, 206)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.ORIGIN)
        self.assertLessEqual({"content-range", "accept-ranges"}, comma_set(headers["Access-Control-Expose-Headers"]))

    def test_replies_expose_the_headers_the_app_reads(self):
        status, headers, _ = self.request("GET", "/api/tasks/demo/annotations", {"Origin": self.ORIGIN})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], self.ORIGIN)
        self.assertLessEqual({"etag", "location", "www-authenticate", "retry-after"},
                             comma_set(headers["Access-Control-Expose-Headers"]))

    def test_another_origin_gets_no_grant(self):
        status, headers, _ = self.preflight("/api/tasks/demo/annotations", "PATCH", "content-type",
                                            origin="http://127.0.0.1:6000")
        self.assertEqual(status, 204)
        for name in ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                     "Access-Control-Expose-Headers"):
            self.assertIsNone(headers[name], name)
        status, headers, _ = self.request("GET", "/api/tasks/demo/annotations", {"Origin": "http://localhost:5999"})
        self.assertEqual(status, 200)
        self.assertIsNone(headers["Access-Control-Allow-Origin"])


if __name__ == "__main__":
    unittest.main()
