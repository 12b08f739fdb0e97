#!/usr/bin/python3
"""Gives every file the app loads after polymark.js a content-hashed name beside its plain one,
<stem>.<first 16 hex digits of its SHA-256>.<ext> (polymark_app.3f2a...e1.wasm, fonts/ui-latin.<h>.ttf),
and writes the map of plain names to their hashes into dist/polymark.js, through which every
loader and worker fetches (shell/src/assets.js; a name and its 16 digits, about 1 KB compressed for
the whole build). A server or CDN may then cache the hashed names for a year
as immutable (serve.py does: server/static.py), while index.html, polymark.js and sw.js keep their
names and are revalidated on every load. Run after stamp_bundle.py, before stamp_offline.py (which
precaches the hashed names and hashes polymark.js with the map in it).

The hashed file is a copy of the plain one, byte for byte. Only one file names others: the font
manifest (fonts/manifest.json) lists the font slices, by their hashed names once this has run, so
the leaves (the slices) are hashed first, then the manifest; the slices need no entry in polymark.js
(a page without other scripts than Latin fetches none of that). Everything else finds its files
through polymark.js's map (the emscripten glue its .wasm through locateFile), so a change to one
file changes that file's hashed name only (and polymark.js and sw.js; the manifest too for a slice).
The plain files stay, with the same bytes, for tools, benches and servers that ask for them by name.
Hashed copies of older builds are deleted, with their .gz and .br.
usage: stamp_names.py DIST_DIR"""
import hashlib
import json
import os
import re
import shutil
import sys

# The page and the scripts a host names directly: never renamed, always revalidated.
ENTRY = {"index.html", "polymark.js", "sw.js", "embed-example.html"}
HASH_DIGITS = 16
HASHED_RE = re.compile(r"\.[0-9a-f]{16}\.[a-z0-9]+$")  # the rule servers apply (server/static.py, nginx)
NOT_SERVED = (".gz", ".br", ".tmp")
MARKER = re.compile(r"/\*POLYMARK_NAMES\*/.*?/\*END\*/", re.S)
FONT_MANIFEST = "fonts/manifest.json"


def file_hash(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:HASH_DIGITS]


def hashed_name(name, digest):
    folder, base = os.path.split(name)
    stem, ext = os.path.splitext(base)
    return os.path.join(folder, f"{stem}.{digest}{ext}").replace(os.sep, "/")


def dist_files(dist):
    for folder, _, names in os.walk(dist):
        for n in names:
            yield os.path.relpath(os.path.join(folder, n), dist).replace(os.sep, "/")


def same_bytes(a, b):
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def unhashed(name):
    m = HASHED_RE.search(name)
    return name[:m.start()] + os.path.splitext(name)[1] if m else name


def name_slices(dist, names):
    """Writes the slices' hashed names into the font manifest (only when they changed, so that its
    time stays); returns the plain names of the slices it lists."""
    path = os.path.join(dist, FONT_MANIFEST)
    if not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    manifest = json.loads(text)
    listed = set()
    for font in manifest.get("fonts", []):
        plain = "fonts/" + unhashed(font["file"])
        if plain in names:
            font["file"] = names[plain].removeprefix("fonts/")
            listed.add(plain)
    rewritten = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"))
    if rewritten != text:
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(rewritten)
        os.replace(path + ".tmp", path)
    return listed


def main():
    dist = sys.argv[1]
    files = sorted(dist_files(dist))
    plain = [n for n in files if n not in ENTRY and not n.endswith(NOT_SERVED) and not HASHED_RE.search(n)]
    names = {}
    for name in plain:
        ext = os.path.splitext(name)[1]
        if not re.fullmatch(r"\.[a-z0-9]+", ext):
            sys.exit(f"stamp_names.py: {name}: a hashed name needs a lower-case extension")
    # Leaves first: the manifest is hashed once it names the slices' hashed copies.
    for name in plain:
        if name != FONT_MANIFEST:
            names[name] = hashed_name(name, file_hash(os.path.join(dist, name)))
    slices = name_slices(dist, names)
    if FONT_MANIFEST in plain:
        names[FONT_MANIFEST] = hashed_name(FONT_MANIFEST, file_hash(os.path.join(dist, FONT_MANIFEST)))
    for name, hashed in names.items():
        src, dst = os.path.join(dist, name), os.path.join(dist, hashed)
        if not (os.path.exists(dst) and same_bytes(src, dst)):
            shutil.copy2(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
            # The plain file's .gz and .br when they are of its bytes now (precompress.py's rule), so
            # that the same bytes are not compressed twice; serve.py checks them anyway.
            for suffix in (".gz", ".br"):
                if os.path.exists(src + suffix) and os.stat(src + suffix).st_mtime_ns >= os.stat(src).st_mtime_ns:
                    shutil.copy2(src + suffix, dst + suffix + ".tmp")
                    os.replace(dst + suffix + ".tmp", dst + suffix)
    # An older build's hashed copies: a file of this build's name with another hash.
    current = set(names.values())
    for name in files:
        core = name
        for suffix in (".gz", ".br"):
            core = core.removesuffix(suffix)
        m = HASHED_RE.search(core)
        if not m or core in current:
            continue
        original = core[:m.start()] + os.path.splitext(core)[1]
        if original in names:
            os.remove(os.path.join(dist, name))
    # The map, into polymark.js only: a file loaded later must not carry it (its name would then
    # depend on its own hash).
    digits = {name: hashed.rsplit(".", 2)[-2] for name, hashed in names.items() if name not in slices}
    stamp = "/*POLYMARK_NAMES*/" + json.dumps(digits, sort_keys=True, separators=(",", ":")) + "/*END*/"
    scripts = [n for n in files if n.endswith(".js") and (n in ENTRY or n in plain)]
    for name in scripts:
        path = os.path.join(dist, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        count = len(MARKER.findall(text))
        if name == "polymark.js":
            if count != 1 or not re.search(r"'/\*POLYMARK_NAMES\*/", text):
                sys.exit("stamp_names.py: no single names marker inside a '...' string in " + path)
            with open(path, "w", encoding="utf-8") as f:
                f.write(MARKER.sub(lambda _: stamp, text))
        elif count:
            sys.exit(f"stamp_names.py: {path} carries the names marker; only polymark.js may")


if __name__ == "__main__":
    main()
