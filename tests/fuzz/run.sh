#!/usr/bin/env bash
# Fuzzes one importer with libFuzzer under ASan and UBSan, seeded with the fixtures of
# tests/data/formats. Builds build-fuzz/ with clang first (incrementally, under the build lock).
#
#   tests/fuzz/run.sh FORMAT [libFuzzer options...]      FORMAT: coco, cvat, yolo, labelme, voc, mot, labelstudio, via
#   tests/fuzz/run.sh coco -runs=20000                    the short run of the test suite
#   tests/fuzz/run.sh coco -runs=10000000                 the long run (tests/fuzz/long_run.sh runs all)
#
# Exit status: libFuzzer's (0: no crash, leak, timeout or sanitizer report). A crash leaves its
# input in build-fuzz/crashes/FORMAT/.
set -euo pipefail
format=${1:?usage: tests/fuzz/run.sh FORMAT [libFuzzer options...]}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${POLYMARK_FUZZ_BUILD:-$root/build-fuzz}
data=$root/tests/data/formats
mkdir -p "$build"
(
  flock 9
  if [ ! -f "$build/CMakeCache.txt" ]; then
    CXX=clang++ cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$build" --target "fuzz_$format" -j2 >/dev/null
) 9>/tmp/pm-build.lock

# Seeds: every fixture of the format (YOLO: data.yaml, NUL, a label file, NUL, another; MOT:
# seqinfo.ini, NUL, gt.txt, NUL, labels.txt).
seeds=$build/seeds/$format
corpus=$build/corpus/$format
rm -rf "$seeds"
mkdir -p "$seeds" "$corpus" "$build/crashes/$format"
case $format in
  coco) cp "$data"/coco/*.json "$seeds/" ;;
  cvat) cp "$data"/cvat/*.xml "$seeds/" ;;
  labelme) cp "$data"/labelme/*.json "$seeds/" ;;
  voc) cp "$data"/voc/*.xml "$seeds/" ;;
  yolo)
    for d in "$data"/yolo/*/; do
      name=$(basename "$d")
      { cat "$d/data.yaml"; printf '\0'; cat "$d/labels/img1.txt"; printf '\0'; cat "$d/labels/img2.txt"; } > "$seeds/$name"
    done ;;
  labelstudio) cp "$data"/labelstudio/*.json "$seeds/" ;;
  via) cp "$data"/via/*.json "$seeds/" ;;
  mot)
    { cat "$data/mot/walk/seqinfo.ini"; printf '\0'; cat "$data/mot/walk/gt/gt.txt"; printf '\0'; cat "$data/mot/walk/gt/labels.txt"; } > "$seeds/walk"
    { printf '\0'; cat "$data/mot/det/det.txt"; } > "$seeds/det" ;;
  *) echo "unknown format $format" >&2; exit 2 ;;
esac
cd "$build/crashes/$format"
exec "$build/fuzz_$format" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" "$corpus" "$seeds"
