#!/usr/bin/python3
"""Cuts a TTF down to the glyphs the UI draws in every task (Latin, Latin Extended, punctuation,
arrows and the few symbols the UI uses). Scripts a task needs beyond that (Cyrillic, CJK, ...)
are loaded lazily per task, never shipped up front.
usage: subset_font.py SOURCE.ttf OUT.ttf"""
import sys

from fontTools import subset

UNICODES = "U+0020-00FF,U+0100-024F,U+2010-205E,U+2190-21FF,U+25A0-25FF,U+2026,U+00D7"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = sys.argv[1:]
    options = subset.Options()
    options.layout_features = []       # ImGui shapes no text: no GSUB/GPOS needed
    options.hinting = False            # stb_truetype ignores hinting
    options.name_IDs = [1, 2]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=subset.parse_unicodes(UNICODES))
    subsetter.subset(font)
    subset.save_font(font, out, options)


if __name__ == "__main__":
    main()
