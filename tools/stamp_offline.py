#!/usr/bin/python3
"""Writes the build's file list and hashes into dist/sw.js (the service worker, shell/sw.js), so
that every deploy that changes a file changes sw.js, which the browser's update check notices:
the new worker caches the new build whole, checks each file against its hash, and deletes the
old build's cache. Run after stamp_bundle.py and stamp_names.py (they change polymark.js): the
files are listed by the names the app fetches, the content-hashed ones stamp_names.py wrote into
polymark.js, so that the worker answers exactly those requests.
usage: stamp_offline.py DIST_DIR"""
import hashlib
import json
import os
import re
import sys

from stamp_names import HASH_DIGITS, file_hash  # the same 16 hex digits of SHA-256 as the hashed names

# Fetched when the worker installs: what a task of images or videos needs to start, and the
# formats module, so that a kiosk offline from its first day still exports its labels, the
# guidelines panel, so that it reads the cached guidelines offline, the tracker and assisted
# tools, so that it labels offline as online, and queue mode, so that a queue page starts offline.
# By plain name; listed by the name the app fetches.
FILES = ["index.html", "polymark.js", "polymark_app.js", "polymark_app.wasm",
         "fonts/ui-latin.ttf", "fonts/manifest.json",
         "video.js", "polymark_video.js", "polymark_video.wasm",
         "format_worker.js", "polymark_formats.js", "polymark_formats.wasm", "guidelines.js",
         "tracking.js", "track_worker.js", "polymark_tracker.js", "polymark_tracker.wasm",
         "assist.js", "assist_worker.js", "polymark_assist.js", "polymark_assist.wasm", "queue.js"]


def fetched_names(dist):
    """Plain name -> content-hashed name, from the hashes stamp_names.py wrote into polymark.js."""
    with open(os.path.join(dist, "polymark.js"), encoding="utf-8") as f:
        m = re.search(r"/\*POLYMARK_NAMES\*/(.*?)/\*END\*/", f.read(), re.S)
    hashes = json.loads(m.group(1)) if m else {}
    return {name: f"{os.path.splitext(name)[0]}.{digits}{os.path.splitext(name)[1]}"
            for name, digits in hashes.items() if digits}


def main():
    dist = sys.argv[1]
    names = fetched_names(dist)
    fetched = [names.get(name, name) for name in FILES]
    files = {name: file_hash(os.path.join(dist, name)) for name in fetched}
    # The plain names of hashed files: the app never asks for them.
    hashed = re.compile(r"\.[0-9a-f]{16}(\.[a-z0-9]+)$")
    unasked = set()
    for folder, _, found in os.walk(dist):
        for n in found:
            name = os.path.relpath(os.path.join(folder, n), dist).replace(os.sep, "/")
            if hashed.search(name):
                unasked.add(hashed.sub(r"\1", name))
    # Cached only when a page asks for them: font slices for other scripts, the example page.
    optional = {}
    for folder, _, names in os.walk(dist):
        for n in names:
            name = os.path.relpath(os.path.join(folder, n), dist).replace(os.sep, "/")
            # Not the .gz and .br files tools/precompress.py writes: the server sends them in place of
            # their originals, a page never asks for them.
            if name not in files and name not in unasked and name != "sw.js" and not name.endswith((".gz", ".br", ".tmp")):
                optional[name] = file_hash(os.path.join(dist, name))
    optional = dict(sorted(optional.items()))
    version = hashlib.sha256(json.dumps([files, optional], sort_keys=True).encode()).hexdigest()[:HASH_DIGITS]
    build = {"version": version, "files": files, "optional": optional}
    path = os.path.join(dist, "sw.js")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stamped, count = re.subn(r"/\*POLYMARK_PRECACHE\*/.*?/\*END\*/",
                             lambda _: "/*POLYMARK_PRECACHE*/ " + json.dumps(build) + " /*END*/", text, flags=re.S)
    if count != 1:
        sys.exit("stamp_offline.py: no precache marker in " + path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(stamped)


if __name__ == "__main__":
    main()
