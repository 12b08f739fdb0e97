#!/usr/bin/env bash
# The tracking bench end to end, tables at the end (bench/README.md, "Tracking"):
#   1. the sequences: the synthetic ones (made once, cached in the build folder) and the real ones
#      (every folder with a groundtruth.txt under $TRACKING_DATA, default ../shared/data/tracking
#      beside the repository, and under bench/data/);
#   2. decodes every sequence's frames once into raw grey frames (decode_frames.py);
#   3. Polymark's tracker natively (g++ -O3) and in wasm (em++ -O3 -msimd128, run in node);
#   4. OpenCV's KCF, CSRT, MIL and MOSSE (python3-opencv), and OpenCV.js TrackerMIL in node;
#   5. summarise.py: the real and the synthetic group apart, and the targets.
# Every runner writes its boxes, one row per frame from frame 1, to BUILD_DIR/tracking/boxes/<tracker>/.
# Usage: bench/tracking/run_all.sh [BUILD_DIR]   (default build-track; output in BUILD_DIR/tracking)
# Environment:
#   ONLY=name,name      only these sequences (real or synthetic); synthetic ones not named are not made
#   TRACKING_DATA=DIR   where the real sequences are (default: ../shared/data/tracking from the repo)
#   REUSE_PEERS=1       keep the OpenCV and OpenCV.js results of an earlier run when they exist (they do
#                       not depend on our code and take most of the time)
#   MIL_FRAMES=N        (default 100) OpenCV.js MIL on the first N frames of each sequence only: it runs
#                       at a few frames per second
#   SHARED_DIR=DIR      compile our tracker from DIR/polymark/tracker.cpp (default: the repository's
#                       shared/), e.g. a `git archive` of another commit, to compare before and after
#   STEPS=sequences     stop after steps 1-2 and print the plan ("GROUP NAME PATH" a sequence, then
#                       "speed PATH" or "speed none"), for tests
# The 100x100 speed line runs on the synthetic `translation` sequence (a 1280x720 frame, the target's
# case) and is skipped when ONLY leaves that sequence out.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mkdir -p "${1:-$here/build-track}" && cd "${1:-$here/build-track}" && pwd)
work="$build/tracking"
mil_frames=${MIL_FRAMES:-100}
real_data=${TRACKING_DATA:-$here/../shared/data/tracking}
shared=${SHARED_DIR:-$here/shared}
py=/usr/bin/python3
export NODE_PATH=/usr/share/nodejs   # emcc's optimizer needs Debian's acorn
mkdir -p "$work/wasm" "$work/raw"
log() { printf '[tracking] %s\n' "$*" >&2; }
wanted() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# [SECTION] 1-2. Sequences and raw frames
missing=()
for name in $("$py" "$here/bench/tracking/make_sequences.py" --list); do
  wanted "$name" || continue
  # .complete per sequence; the one in sequences/ is what runs before 2026-12-06 left when all were made.
  [ -f "$work/sequences/$name/.complete" ] || [ -f "$work/sequences/.complete" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "making ${#missing[@]} synthetic sequences (about 15 s each)"
  "$py" "$here/bench/tracking/make_sequences.py" "$work/sequences" --only "$(IFS=,; echo "${missing[*]}")"
fi
seqs=()
: > "$work/groups.txt"
add_group() {  # GROUP DIR...
  local group=$1 d name
  shift
  for d in "$@"; do
    [ -f "$d/groundtruth.txt" ] || continue
    name=$(basename "$d")
    wanted "$name" || continue
    seqs+=("${d%/}")
    printf '%s %s\n' "$group" "$name" >> "$work/groups.txt"
  done
}
add_group real "$real_data"/*/ "$here"/bench/data/*/
if [ -d "$work/sequences" ]; then add_group synthetic "$work"/sequences/*/; fi
[ ${#seqs[@]} -gt 0 ] || { log "no sequences${ONLY:+ named in ONLY=$ONLY}"; exit 1; }
[ -d "$real_data" ] || log "no real sequences: $real_data does not exist (set TRACKING_DATA)"
log "sequences: ${#seqs[@]} ($(cut -d' ' -f1 "$work/groups.txt" | sort | uniq -c | xargs))"
speed_seq=""   # the speed line: a 100x100 box on the translation sequence's object, 1280x720
if wanted translation && [ -f "$work/sequences/translation/groundtruth.txt" ]; then speed_seq="$work/sequences/translation"; fi
"$py" "$here/bench/tracking/decode_frames.py" "$work/raw" "${seqs[@]}"
if [ "${STEPS:-}" = sequences ]; then
  paste -d' ' "$work/groups.txt" <(printf '%s\n' "${seqs[@]}")
  echo "speed ${speed_seq:-none}"
  exit 0
fi

# [SECTION] 3. Polymark, native and wasm
# The tracker and the core files it includes that have a .cpp of their own (fft.cpp, ...), followed
# to the end, so that the bench builds whatever the tracker is split into.
srcs=()
pending=("$shared/polymark/tracker.cpp")
while [ ${#pending[@]} -gt 0 ]; do
  f=${pending[0]}
  pending=("${pending[@]:1}")
  [[ " ${srcs[*]} " == *" $f "* ]] && continue
  srcs+=("$f")
  for inc in $(sed -n 's/^#include "polymark\/\([a-z_0-9]*\)\.hpp".*/\1/p' "$f" "${f%.cpp}.hpp" 2>/dev/null); do
    [ -f "$shared/polymark/$inc.cpp" ] && pending+=("$shared/polymark/$inc.cpp")
  done
done
log "building the native bench (from $shared: ${srcs[*]##*/})"
c++ -O3 -std=c++17 -fno-math-errno -I "$shared" "$here/bench/tracking/track_bench.cpp" "${srcs[@]}" -o "$work/track_bench"
log "building the wasm bench (em++ -O3 -msimd128)"
em++ -O3 -msimd128 -fno-math-errno -std=c++17 -fwasm-exceptions -sALLOW_MEMORY_GROWTH=1 -sNODERAWFS=1 \
  -sENVIRONMENT=node -I "$shared" "$here/bench/tracking/track_bench.cpp" "${srcs[@]}" \
  -o "$work/wasm/track_bench.js"
mv "$work/wasm/track_bench.js" "$work/wasm/track_bench.cjs"   # the repo's package.json says "type": "module"
node -e 'WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11])) || process.exit(1)' \
  || { log "this node has no WebAssembly SIMD"; exit 1; }
# A runner that could not run a sequence says so on stderr and goes on; its status is logged, not fatal.
run() {  # OUTPUT_FILE COMMAND...
  local out=$1
  shift
  "$@" | tee -a "$out" || log "$(basename "$out"): some sequences could not be run (see above)"
}
mkdir -p "$work/boxes/polymark" "$work/boxes/polymark-wasm"
log "Polymark native"
: > "$work/native.txt"
run "$work/native.txt" "$work/track_bench" "$work/raw" "${seqs[@]}" --boxes "$work/boxes/polymark"
[ -z "$speed_seq" ] || run "$work/native.txt" "$work/track_bench" "$work/raw" "$speed_seq" --speed100
log "Polymark wasm ($(node --version))"
: > "$work/wasm.txt"
run "$work/wasm.txt" node --no-experimental-fetch "$work/wasm/track_bench.cjs" "$work/raw" "${seqs[@]}" --boxes "$work/boxes/polymark-wasm"
[ -z "$speed_seq" ] || run "$work/wasm.txt" node --no-experimental-fetch "$work/wasm/track_bench.cjs" "$work/raw" "$speed_seq" --speed100
[ -n "$speed_seq" ] || log "no 100x100 speed line: ONLY leaves out the translation sequence"

# [SECTION] 4. The peers
if [ "${REUSE_PEERS:-0}" = 1 ] && [ -s "$work/opencv.txt" ]; then
  log "reusing $work/opencv.txt"
else
  log "OpenCV $("$py" -c 'import cv2; print(cv2.__version__)') KCF, CSRT, MIL, MOSSE (python, one thread)"
  : > "$work/opencv.txt.part"
  run "$work/opencv.txt.part" "$py" "$here/bench/tracking/run_opencv.py" "${seqs[@]}" --boxes "$work/boxes"
  mv "$work/opencv.txt.part" "$work/opencv.txt"
fi
if [ "${REUSE_PEERS:-0}" = 1 ] && [ -s "$work/opencvjs.txt" ]; then
  log "reusing $work/opencvjs.txt"
else
  log "OpenCV.js TrackerMIL (first $mil_frames frames of each sequence)"
  : > "$work/opencvjs.txt.part"
  (cd "$here" && run "$work/opencvjs.txt.part" node --no-experimental-fetch bench/tracking/run_opencvjs.cjs "$work/raw" "${seqs[@]}" \
    --frames "$mil_frames" --boxes "$work/boxes")
  mv "$work/opencvjs.txt.part" "$work/opencvjs.txt"
fi

# [SECTION] 5. The tables
echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" "$here/bench/tracking/summarise.py" --groups "$work/groups.txt" \
  "$work/native.txt" "$work/wasm.txt" "$work/opencv.txt" "$work/opencvjs.txt" | tee "$work/summary.txt"
