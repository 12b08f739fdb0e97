#!/usr/bin/python3
"""Writes NAME.gz and NAME.br beside every compressible file of the built client (dist/): gzip
with zopfli, the format every browser reads, about 5 % smaller than zlib's level 9; brotli at its
highest quality, which every browser since 2017 reads, about 15 % smaller again (57 KB of the
first load's wasm). serve.py sends NAME.br, else NAME.gz, as the request's Accept-Encoding allows,
in place of NAME when it decompresses to NAME (checked once per version of the file), so a missing
or stale one costs bytes, never correctness. Only files whose .gz or .br is missing or older than
they are get compressed again, and files of the same bytes (a content-hashed copy and its plain
file, tools/stamp_names.py) once.
usage: precompress.py DIST_DIR"""
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys

COMPRESSIBLE = {".html", ".js", ".css", ".json", ".wasm", ".svg", ".ttf", ".md"}
MIN_BYTES = 256  # smaller files gain nothing worth a second file


# Each coding: its suffix and the command that writes it to stdout.
CODERS = {".gz": ["zopfli", "-c"], ".br": ["brotli", "-q", "11", "-w", "24", "-c"]}


def stale(path, suffix):
    try:
        return os.stat(path + suffix).st_mtime_ns < os.stat(path).st_mtime_ns
    except FileNotFoundError:
        return True


def compress(job):
    path, suffix = job
    tmp = path + suffix + ".tmp"
    with open(tmp, "wb") as out:
        subprocess.run(CODERS[suffix] + [path], stdout=out, check=True)
    os.replace(tmp, path + suffix)
    return path


def main():
    dist = sys.argv[1]
    suffixes = []
    for suffix, command in CODERS.items():
        if shutil.which(command[0]):
            suffixes.append(suffix)
        else:
            print(f"precompress.py: {command[0]} is not installed (tools/setup.sh installs it): no {suffix} "
                  "files, serve.py sends what it has or compresses with gzip itself", file=sys.stderr)
    todo = []
    for folder, _, names in os.walk(dist):
        for n in names:
            path = os.path.join(folder, n)
            if os.path.splitext(n)[1] in COMPRESSIBLE and os.path.getsize(path) >= MIN_BYTES:
                todo += [(path, suffix) for suffix in suffixes if stale(path, suffix)]
    same = {}  # (bytes' SHA-256, suffix) -> the paths to write it for
    for path, suffix in todo:
        with open(path, "rb") as f:
            same.setdefault((hashlib.sha256(f.read()).digest(), suffix), []).append(path)
    jobs = [(paths[0], suffix) for (_, suffix), paths in same.items()]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(compress, sorted(jobs, key=lambda job: os.path.getsize(job[0]), reverse=True)))
    for (_, suffix), paths in same.items():
        for other in paths[1:]:
            shutil.copyfile(paths[0] + suffix, other + suffix + ".tmp")
            os.replace(other + suffix + ".tmp", other + suffix)


if __name__ == "__main__":
    main()
