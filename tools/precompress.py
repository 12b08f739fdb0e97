#!/usr/bin/python3
"""Writes NAME.gz beside every compressible file of the built client (dist/), with zopfli: the
same gzip format every browser reads, about 5 % smaller than zlib's level 9 (19 KB of the first
load's wasm). serve.py sends NAME.gz in place of compressing NAME when it decompresses to NAME
(checked once per version of the file), so a missing or stale .gz costs bytes, never correctness.
Only files whose .gz is missing or older than they are get compressed again.
usage: precompress.py DIST_DIR"""
import concurrent.futures
import os
import shutil
import subprocess
import sys

COMPRESSIBLE = {".html", ".js", ".css", ".json", ".wasm", ".svg", ".ttf", ".md"}
MIN_BYTES = 256  # smaller files gain nothing worth a second file


def stale(path):
    try:
        return os.stat(path + ".gz").st_mtime_ns < os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return True


def compress(path):
    tmp = path + ".gz.tmp"
    with open(tmp, "wb") as out:
        subprocess.run(["zopfli", "-c", path], stdout=out, check=True)
    os.replace(tmp, path + ".gz")
    return path


def main():
    dist = sys.argv[1]
    if not shutil.which("zopfli"):
        print("precompress.py: zopfli is not installed (tools/setup.sh installs it); serve.py will "
              "compress the client files itself", file=sys.stderr)
        return
    todo = []
    for folder, _, names in os.walk(dist):
        for n in names:
            path = os.path.join(folder, n)
            if (os.path.splitext(n)[1] in COMPRESSIBLE and os.path.getsize(path) >= MIN_BYTES
                    and stale(path)):
                todo.append(path)
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(compress, sorted(todo, key=os.path.getsize, reverse=True)))


if __name__ == "__main__":
    main()
