#!/usr/bin/python3
"""Writes the sizes of the files a mount downloads into dist/polymark.js, so that the loading
bar shows true progress whatever the server's compression.
usage: stamp_bundle.py DIST_DIR"""
import json
import os
import re
import sys

FILES = ["polymark_app.js", "polymark_app.wasm", "fonts/ui-latin.ttf"]


def main():
    dist = sys.argv[1]
    sizes = {name: os.path.getsize(os.path.join(dist, name)) for name in FILES}
    path = os.path.join(dist, "polymark.js")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    stamped, count = re.subn(r"/\*POLYMARK_BUNDLE\*/.*?/\*END\*/",
                             "/*POLYMARK_BUNDLE*/ " + json.dumps(sizes) + " /*END*/", text, flags=re.S)
    if count != 1:
        sys.exit("stamp_bundle.py: no bundle marker in " + path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(stamped)


if __name__ == "__main__":
    main()
