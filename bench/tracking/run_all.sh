#!/usr/bin/env bash
# The tracking bench end to end, one table at the end (bench/README.md, "Tracking"):
#   1. makes the synthetic sequences (once; cached in the build folder) and takes every real
#      sequence folder under bench/data/ that has a groundtruth.txt;
#   2. decodes every sequence's frames once into raw grey frames (decode_frames.py);
#   3. Polymark's tracker natively (g++ -O3) and in wasm (em++ -O3 -msimd128, run in node);
#   4. OpenCV's KCF, CSRT, MIL and MOSSE (python3-opencv), and OpenCV.js TrackerMIL in node;
#   5. summarise.py: one table, and the targets.
# Usage: bench/tracking/run_all.sh [BUILD_DIR]   (default build-track; output in BUILD_DIR/tracking)
# REUSE_PEERS=1 keeps the OpenCV and OpenCV.js results of an earlier run when they exist (they do not
# depend on our code and take most of the time). MIL_FRAMES=N (default 100) limits OpenCV.js MIL to the first N frames of each sequence: it runs
# at a few frames per second. ONLY=name,name limits the synthetic sequences.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mkdir -p "${1:-$here/build-track}" && cd "${1:-$here/build-track}" && pwd)
work="$build/tracking"
mil_frames=${MIL_FRAMES:-100}
py=/usr/bin/python3
export NODE_PATH=/usr/share/nodejs   # emcc's optimizer needs Debian's acorn
mkdir -p "$work/wasm" "$work/raw"
log() { printf '[tracking] %s\n' "$*" >&2; }

# [SECTION] 1-2. Sequences and raw frames
if [ ! -f "$work/sequences/.complete" ]; then
  log "making the synthetic sequences (a few minutes)"
  "$py" "$here/bench/tracking/make_sequences.py" "$work/sequences"
  touch "$work/sequences/.complete"
fi
seqs=()
for d in "$work"/sequences/*/ "$here"/bench/data/*/; do
  [ -f "$d/groundtruth.txt" ] || continue
  name=$(basename "$d")
  if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$name,"* ]]; then continue; fi
  seqs+=("${d%/}")
done
log "sequences: ${#seqs[@]}"
speed_seq="${seqs[0]}"   # the speed line: a 100x100 box on the translation sequence's object
for s in "${seqs[@]}"; do if [ "$(basename "$s")" = translation ]; then speed_seq=$s; fi; done
"$py" "$here/bench/tracking/decode_frames.py" "$work/raw" "${seqs[@]}"

# [SECTION] 3. Polymark, native and wasm
log "building the native bench"
c++ -O3 -std=c++17 -fno-math-errno -I "$here/shared" "$here/bench/tracking/track_bench.cpp" \
  "$here/shared/polymark/tracker.cpp" -o "$work/track_bench"
log "building the wasm bench (em++ -O3 -msimd128)"
em++ -O3 -msimd128 -fno-math-errno -std=c++17 -fwasm-exceptions -sALLOW_MEMORY_GROWTH=1 -sNODERAWFS=1 \
  -sENVIRONMENT=node -I "$here/shared" "$here/bench/tracking/track_bench.cpp" "$here/shared/polymark/tracker.cpp" \
  -o "$work/wasm/track_bench.js"
mv "$work/wasm/track_bench.js" "$work/wasm/track_bench.cjs"   # the repo's package.json says "type": "module"
node -e 'WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11])) || process.exit(1)' \
  || { log "this node has no WebAssembly SIMD"; exit 1; }
log "Polymark native"
"$work/track_bench" "$work/raw" "${seqs[@]}" | tee "$work/native.txt"
"$work/track_bench" "$work/raw" "$speed_seq" --speed100 | tee -a "$work/native.txt"
log "Polymark wasm ($(node --version))"
node --no-experimental-fetch "$work/wasm/track_bench.cjs" "$work/raw" "${seqs[@]}" | tee "$work/wasm.txt"
node --no-experimental-fetch "$work/wasm/track_bench.cjs" "$work/raw" "$speed_seq" --speed100 | tee -a "$work/wasm.txt"

# [SECTION] 4. The peers
if [ "${REUSE_PEERS:-0}" = 1 ] && [ -s "$work/opencv.txt" ]; then
  log "reusing $work/opencv.txt"
else
  log "OpenCV $("$py" -c 'import cv2; print(cv2.__version__)') KCF, CSRT, MIL, MOSSE (python, one thread)"
  "$py" "$here/bench/tracking/run_opencv.py" "${seqs[@]}" | tee "$work/opencv.txt.part"
  mv "$work/opencv.txt.part" "$work/opencv.txt"
fi
if [ "${REUSE_PEERS:-0}" = 1 ] && [ -s "$work/opencvjs.txt" ]; then
  log "reusing $work/opencvjs.txt"
else
  log "OpenCV.js TrackerMIL (first $mil_frames frames of each sequence)"
  (cd "$here" && node --no-experimental-fetch bench/tracking/run_opencvjs.cjs "$work/raw" "${seqs[@]}" --frames "$mil_frames") \
    | tee "$work/opencvjs.txt.part"
  mv "$work/opencvjs.txt.part" "$work/opencvjs.txt"
fi

# [SECTION] 5. One table
echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" "$here/bench/tracking/summarise.py" "$work/native.txt" "$work/wasm.txt" "$work/opencv.txt" "$work/opencvjs.txt" \
  | tee "$work/summary.txt"
