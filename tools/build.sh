#!/usr/bin/env bash
# Builds the web client (build-web/dist) and the native client and tests (build). Incremental.
# Needs tools/setup.sh once (the web build bundles shell/src with its npm esbuild).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export NODE_PATH=/usr/share/nodejs   # emcc's optimizer needs Debian's acorn
jobs=$(nproc)
what=${1:-all}
if [ "$what" = all ] || [ "$what" = web ]; then
  [ -f "$here/build-web/CMakeCache.txt" ] || emcmake cmake -S "$here" -B "$here/build-web" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$here/build-web" -j"$jobs" >&2
fi
if [ "$what" = all ] || [ "$what" = native ]; then
  [ -f "$here/build/CMakeCache.txt" ] || cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$here/build" -j"$jobs" >&2
fi
