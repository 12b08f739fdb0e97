#!/usr/bin/python3
"""Builds the UI fonts.

  subset_font.py latin SOURCE.ttf OUT.ttf
      The font every task loads: ASCII and the few other characters the UI writes (no-break
      space, middle dot, multiplication sign, dashes, curly quotes, bullet, ellipsis).
  subset_font.py slices OUTDIR LATIN_SOURCE.ttf CJK_SOURCE.ttf
      Fonts for other scripts, loaded lazily: OUTDIR/extra-*.ttf and OUTDIR/manifest.json, which
      lists the code points each file covers. The rest of Latin-1 (accented letters of Western
      European languages) comes in one small file, Latin Extended (A, B and Additional: Central
      European, Turkish, Vietnamese...) comes whole in one file, the other punctuation, arrows and
      geometric shapes in another, Cyrillic and Greek in a third; CJK is
      cut into slices of 512 code points, so that a task fetches only the slices holding the
      characters its labels use, and a Latin-only task fetches none.
"""
import json
import os
import sys

from fontTools import subset
from fontTools.ttLib import TTFont

LATIN = "U+0020-007E,U+00A0,U+00B7,U+00D7,U+2013,U+2014,U+2018,U+2019,U+201C,U+201D,U+2022,U+2026"
SYMBOLS = [(0x2010, 0x205E), (0x2190, 0x21FF), (0x25A0, 0x25FF)]
LATIN_EXTENDED = [(0x0100, 0x024F), (0x1E00, 0x1EFF)]
CYRILLIC_GREEK = [(0x0370, 0x03FF), (0x0400, 0x052F), (0x1F00, 0x1FFF)]
SLICE = 512


def subset_to(source, out, unicodes):
    options = subset.Options()
    options.layout_features = []       # ImGui shapes no text: no GSUB/GPOS needed
    options.drop_tables += ["GDEF", "GPOS", "GSUB", "gasp"]  # nor kerning: not even empty tables
    options.hinting = False            # stb_truetype ignores hinting
    options.name_IDs = [1, 2]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    subset.save_font(font, out, options)


def ranges(code_points):
    out = []
    for c in sorted(code_points):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def slices(outdir, latin_source, cjk_source):
    os.makedirs(outdir, exist_ok=True)
    manifest = []
    noto = TTFont(latin_source).getBestCmap()
    latin = set(subset.parse_unicodes(LATIN))
    latin1 = [c for c in noto if 0xA0 <= c <= 0xFF and c not in latin]
    subset_to(latin_source, os.path.join(outdir, "extra-latin-1.ttf"), latin1)
    manifest.append({"file": "extra-latin-1.ttf", "ranges": ranges(latin1)})
    extended = [c for c in noto if any(a <= c <= b for a, b in LATIN_EXTENDED)]
    subset_to(latin_source, os.path.join(outdir, "extra-latin-extended.ttf"), extended)
    manifest.append({"file": "extra-latin-extended.ttf", "ranges": ranges(extended)})
    symbols = [c for c in noto if any(a <= c <= b for a, b in SYMBOLS) and c not in latin]
    subset_to(latin_source, os.path.join(outdir, "extra-symbols.ttf"), symbols)
    manifest.append({"file": "extra-symbols.ttf", "ranges": ranges(symbols)})
    cyrillic = [c for c in noto if any(a <= c <= b for a, b in CYRILLIC_GREEK)]
    subset_to(latin_source, os.path.join(outdir, "extra-cyrillic-greek.ttf"), cyrillic)
    manifest.append({"file": "extra-cyrillic-greek.ttf", "ranges": ranges(cyrillic)})
    cjk = sorted(c for c in TTFont(cjk_source).getBestCmap() if c >= 0x2E80)
    for i in range(0, len(cjk), SLICE):
        part = cjk[i:i + SLICE]
        name = "extra-cjk-%02d.ttf" % (i // SLICE)
        subset_to(cjk_source, os.path.join(outdir, name), part)
        manifest.append({"file": name, "ranges": ranges(part)})
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"fonts": manifest}, f, separators=(",", ":"))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "latin":
        subset_to(sys.argv[2], sys.argv[3], subset.parse_unicodes(LATIN))
    elif len(sys.argv) == 5 and sys.argv[1] == "slices":
        slices(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
