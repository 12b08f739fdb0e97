#!/usr/bin/python3
"""What each part of the web client's wasm costs: per section, per area (SDL2, Dear ImGui,
nlohmann::json, libc++, each pm:: class, ...), per source file and per function, in raw bytes
and gzip -9 bytes. See bench/README.md, "First load: what the wasm is made of".

usage: wasm_size.py [--build DIR] [--target NAME] [--top N] [--files N] [--json FILE]
       wasm_size.py --wasm FILE.wasm [--build DIR] [--top N] [--json FILE]

With --build (default build-web), the target's link command (CMake's link.txt) is run again
into a temporary folder with --profiling-funcs (function names kept in the name section: the
code is the same as the shipped one, see the "code section" check it prints). Which source file
each function comes from is read from the link's inputs with llvm-nm. Nothing in the build's
dist/ is touched. With --wasm, an already linked module with a name section is read as it is
(source files from --build's link inputs if that folder exists).

Columns:
  raw        bytes of the function bodies (code section) or of the section
  gz alone   gzip -9 of those bodies concatenated: what the area weighs on its own
  gz saved   gzip -9 of the whole code section minus gzip -9 of it without those bodies:
             about what leaving the area out of the first load would save (computed for the
             25 largest rows of each table; '-' below them)
Functions inlined by the optimizer have no body of their own: their bytes count in their
callers' (e.g. pm::App::tick holds much of the UI code).
"""
import argparse
import collections
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import zlib

SECTION_NAMES = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount", 13: "tag"}


def dash(x):
    return "-" if x is None else str(x)


def gz(b):
    return len(zlib.compress(b, 9))


def leb(b, i):
    result = shift = 0
    while True:
        x = b[i]
        i += 1
        result |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return result, i


def parse_wasm(data):
    """Returns (sections, bodies, names): sections as (id, name, offset, size); bodies as
    (function index, offset, size) of each code body; names {function index: name}."""
    if data[:4] != b"\0asm":
        sys.exit("wasm_size.py: not a wasm module")
    i = 8
    sections = []
    while i < len(data):
        sid = data[i]
        n, j = leb(data, i + 1)
        name = SECTION_NAMES.get(sid, str(sid))
        if sid == 0:
            ln, k = leb(data, j)
            name = "custom:" + data[k:k + ln].decode("utf8", "replace")
        sections.append((sid, name, j, n))
        i = j + n
    imported_funcs = 0
    bodies = []
    names = {}
    for sid, name, o, n in sections:
        if sid == 2:
            count, j = leb(data, o)
            for _ in range(count):
                ln, j = leb(data, j)
                j += ln
                ln, j = leb(data, j)
                j += ln
                kind = data[j]
                j += 1
                if kind == 0:        # function: type index
                    _, j = leb(data, j)
                    imported_funcs += 1
                elif kind == 1:      # table: reftype, limits
                    j += 1
                    flags = data[j]
                    _, j = leb(data, j + 1)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 2:      # memory: limits
                    flags = data[j]
                    _, j = leb(data, j + 1)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 3:      # global: valtype, mutability
                    j += 2
                elif kind == 4:      # tag: attribute, type index
                    _, j = leb(data, j + 1)
        elif sid == 10:
            count, j = leb(data, o)
            for f in range(count):
                size, k = leb(data, j)
                bodies.append((imported_funcs + f, j, k + size - j))  # size prefix included
                j = k + size
        elif name == "custom:name":
            ln, j = leb(data, o)
            j += ln
            end = o + n
            while j < end:
                kind = data[j]
                size, j = leb(data, j + 1)
                if kind == 1:
                    count, k = leb(data, j)
                    for _ in range(count):
                        idx, k = leb(data, k)
                        ln, k = leb(data, k)
                        names[idx] = data[k:k + ln].decode("utf8", "replace")
                        k += ln
                j += size
    return sections, bodies, names


def demangle(names):
    if not names:
        return []
    out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True,
                         check=True).stdout.split("\n")
    return out[:len(names)]


# Areas, by demangled name first and then by the source file the function came from.
NAME_RULES = [
    ("nlohmann::json", lambda d: "nlohmann" in d),
    ("Dear ImGui", lambda d: re.match(r"(ImGui|Im[A-Z]|stbtt|stb_text|ImStb|STB_TEXTEDIT)", d)
     or "ImGui" in d.split("(")[0] or d.startswith("ImGui_Impl")),
    ("SDL2", lambda d: d.startswith(("SDL_", "Emscripten_", "SDL2", "GLES2_", "GL_", "SW_", "Blit"))),
    ("stb_image", lambda d: "stbi" in d),
    ("libc++", lambda d: d.startswith("std::") or "std::__2::" in d.split("(")[0]),
]


def file_area(obj):
    """Area of an input file of the link (None when it says nothing)."""
    if not obj:
        return None
    base = os.path.basename(obj)
    if "libSDL2" in obj:
        return "SDL2"
    if "imgui" in base:
        return "Dear ImGui"
    if re.search(r"libc\+\+|libc\+\+abi|libcxx", obj):
        return "libc++"
    if re.search(r"lib(c|compiler_rt|dlmalloc|emmalloc|stubs|c_rt|sockets|gl|html5|noexit)[-_.a-z0-9]*\.a", obj):
        return "libc and runtime"
    return None


def classify(demangled, obj):
    """Third-party code by name (templates land in whichever object used them first), then
    our code by the source file it came from, then the system libraries."""
    for area, rule in NAME_RULES:
        if rule(demangled):
            return area
    area = file_area(obj)
    if area:
        return area
    if obj:
        short = source_of(obj)
        m = re.match(r".*\((.*)\)$", short)
        return "ours: " + (m.group(1) if m else short)
    if re.match(r"(?:[\w:<>, *&]*\s)?pm::", demangled) or demangled.startswith("pm_"):
        return "ours (no input file found)"
    return "libc and runtime"


def source_of(obj):
    """A short name for an input file of the link: the source file of an object, or
    archive(member)."""
    m = re.match(r"(.*?)\((.*)\)$", obj)
    if m:
        archive, member = m.groups()
        return "%s(%s)" % (os.path.basename(archive), member.replace(".cpp.o", ".cpp").replace(".c.o", ".c"))
    path = obj.replace(".cpp.o", ".cpp").replace(".c.o", ".c")
    parts = path.split("/")
    if "CMakeFiles" in parts:  # .../CMakeFiles/target.dir/sub/file.cpp.o -> sub/file.cpp
        k = parts.index("CMakeFiles")
        rest = parts[k + 2:]
        return "/".join(p for p in rest if p != "__") or path
    return os.path.basename(path)


def object_owners(link_dir, cwd):
    """{symbol: input file} for every function the link's own inputs define (objects and
    static archives named in CMake's response files), read with llvm-nm. Emscripten's system
    libraries are not listed there: their functions fall back to the name rules."""
    inputs = []
    for rsp in sorted(os.listdir(link_dir)):
        if rsp.startswith("objects") or rsp == "linkLibs.rsp":
            with open(os.path.join(link_dir, rsp)) as f:
                inputs += [a for a in shlex.split(f.read()) if a.endswith((".o", ".a"))]
    owners = {}
    for path in inputs:
        full = os.path.normpath(os.path.join(cwd, path))
        out = subprocess.run(["llvm-nm", "-A", "--defined-only", full], capture_output=True,
                             text=True).stdout
        for line in out.splitlines():
            m = re.match(r"(.*?): [0-9a-fA-F-]+ ([TtWw]) (.*)$", line)
            if not m:
                continue
            where, symbol = m.group(1), m.group(3)
            if where.startswith(full + ":"):   # archive:member
                where = "%s(%s)" % (full, where[len(full) + 1:])
            owners.setdefault(symbol, where)
    return owners


def link_dir_of(build, target):
    for root, dirs, files in os.walk(build):
        if os.path.basename(root) == target + ".dir" and "link.txt" in files:
            return root, os.path.dirname(os.path.dirname(root))  # CMake links from the target's folder
    return None, None


def relink(build, target, outdir):
    """Runs the target's link command again with function names kept; returns the new wasm and
    the shipped one."""
    link_dir, cwd = link_dir_of(build, target)
    if not link_dir:
        sys.exit("wasm_size.py: no link.txt for target %s under %s: build it first "
                 "(tools/build.sh web)" % (target, build))
    with open(os.path.join(link_dir, "link.txt")) as f:
        args = shlex.split(f.read())
    try:
        k = args.index("-o")
    except ValueError:
        sys.exit("wasm_size.py: no -o in %s/link.txt" % link_dir)
    shipped = os.path.normpath(os.path.join(cwd, args[k + 1]))
    args[k + 1] = os.path.join(outdir, "module.js")
    args += ["--profiling-funcs"]
    env = dict(os.environ, NODE_PATH=os.environ.get("NODE_PATH", "/usr/share/nodejs"))
    subprocess.run(args, cwd=cwd, env=env, check=True)
    return os.path.join(outdir, "module.wasm"), shipped[:-3] + ".wasm"


def code_section(data, sections):
    for sid, _, o, n in sections:
        if sid == 10:
            return n
    return 0


def report(wasm_path, owners, shipped, top, top_files, json_path, saved_for=25):
    data = open(wasm_path, "rb").read()
    sections, bodies, names = parse_wasm(data)
    owner_names = list(owners.keys())
    owners_dem = dict(zip(demangle(owner_names), owner_names))
    raw_names = [names.get(idx, "f%d" % idx) for idx, _, _ in bodies]
    dem = demangle(raw_names)

    funcs = []
    for (idx, o, size), name, d in zip(bodies, raw_names, dem):
        obj = owners.get(name) or owners.get(owners_dem.get(d, ""), None)
        funcs.append({"name": d, "symbol": name, "offset": o, "bytes": size, "object": obj,
                      "area": classify(d, obj), "file": source_of(obj) if obj else "(system library)"})

    code_bytes = b"".join(data[f["offset"]:f["offset"] + f["bytes"]] for f in funcs)
    code_gz = gz(code_bytes)

    def group(key):
        groups = collections.OrderedDict()
        for f in funcs:
            groups.setdefault(f[key], []).append(f)
        rows = []
        for k, fs in groups.items():
            alone = b"".join(data[f["offset"]:f["offset"] + f["bytes"]] for f in fs)
            rows.append({key: k, "functions": len(fs), "bytes": len(alone), "gz_alone": gz(alone),
                         "gz_saved": None, "members": fs})
        rows.sort(key=lambda r: -r["bytes"])
        for r in rows[:saved_for]:   # a compression of the whole code section each: the largest only
            ids = set(id(f) for f in r["members"])
            rest = b"".join(data[f["offset"]:f["offset"] + f["bytes"]] for f in funcs if id(f) not in ids)
            r["gz_saved"] = code_gz - gz(rest)
        for r in rows:
            del r["members"]
        return rows

    print("%s: %d bytes, gzip -9 %d" % (wasm_path, len(data), gz(data)))
    if shipped and os.path.exists(shipped):
        sdata = open(shipped, "rb").read()
        ssec, _, _ = parse_wasm(sdata)
        here, there = code_section(data, sections), code_section(sdata, ssec)
        print("shipped %s: %d bytes, gzip -9 %d; code section %d here, %d shipped%s" % (
            shipped, len(sdata), gz(sdata), here, there,
            "" if abs(here - there) <= there // 1000
            else "  (differs by more than 0.1%: the build is older or newer than its link inputs)"))

    print("\nSections")
    print("  %-24s %10s %10s" % ("section", "raw", "gz alone"))
    sec_rows = []
    for sid, name, o, n in sections:
        z = gz(data[o:o + n])
        sec_rows.append({"section": name, "bytes": n, "gz_alone": z})
        print("  %-24s %10d %10d" % (name, n, z))

    area_rows = group("area")
    print("\nCode by area (%d functions, %d bytes, gzip -9 %d)" % (len(funcs), len(code_bytes), code_gz))
    print("  %-40s %6s %9s %9s %9s" % ("area", "funcs", "raw", "gz alone", "gz saved"))
    for r in area_rows:
        print("  %-40s %6d %9d %9d %9s" % (r["area"][:40], r["functions"], r["bytes"], r["gz_alone"], dash(r["gz_saved"])))

    file_rows = []
    if owners:
        file_rows = group("file")
        print("\nCode by source file (link inputs), largest %d of %d" % (min(top_files, len(file_rows)), len(file_rows)))
        print("  %-56s %6s %9s %9s %9s" % ("file", "funcs", "raw", "gz alone", "gz saved"))
        for r in file_rows[:top_files]:
            print("  %-56s %6d %9d %9d %9s" % (r["file"][-56:], r["functions"], r["bytes"], r["gz_alone"], dash(r["gz_saved"])))

    print("\nLargest %d functions" % top)
    print("  %8s %8s  %-22s %s" % ("raw", "gz", "area", "function"))
    for f in sorted(funcs, key=lambda f: -f["bytes"])[:top]:
        body = data[f["offset"]:f["offset"] + f["bytes"]]
        print("  %8d %8d  %-22s %s" % (f["bytes"], gz(body), f["area"][:22], f["name"][:110]))

    if json_path:
        with open(json_path, "w") as out:
            json.dump({"wasm": wasm_path, "bytes": len(data), "gzip": gz(data), "sections": sec_rows,
                       "code": {"bytes": len(code_bytes), "gzip": code_gz}, "areas": area_rows,
                       "files": file_rows,
                       "functions": [{k: f[k] for k in ("name", "bytes", "area", "file")} for f in funcs]},
                      out, indent=1)
        print("\nJSON written to " + json_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=None, help="CMake build folder (default build-web)")
    ap.add_argument("--target", default="polymark_app_web", help="CMake target to relink")
    ap.add_argument("--wasm", help="read this wasm (with a name section) instead of relinking")
    ap.add_argument("--keep", help="relink into this folder and keep it (default: a temporary one)")
    ap.add_argument("--top", type=int, default=40, help="functions listed (default 40)")
    ap.add_argument("--files", type=int, default=60, help="source files listed (default 60)")
    ap.add_argument("--json", help="also write every number as JSON")
    a = ap.parse_args()
    build = os.path.abspath(a.build or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build-web"))
    link_dir, cwd = link_dir_of(build, a.target) if os.path.isdir(build) else (None, None)
    owners = object_owners(link_dir, cwd) if link_dir else {}
    if a.wasm:
        report(a.wasm, owners, None, a.top, a.files, a.json)
        return
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        wasm, shipped = relink(build, a.target, os.path.abspath(a.keep))
        report(wasm, owners, shipped, a.top, a.files, a.json)
    else:
        with tempfile.TemporaryDirectory(prefix="polymark-wasm-size-") as tmp:
            wasm, shipped = relink(build, a.target, tmp)
            report(wasm, owners, shipped, a.top, a.files, a.json)


if __name__ == "__main__":
    main()
