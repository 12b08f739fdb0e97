#!/usr/bin/env bash
# Sets up what is missing, builds both targets, and runs every test suite through ctest:
# unit (C++), backend (serve.py over HTTP), browser (Chromium against serve.py), native smoke.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/tools/setup.sh"
"$here/tools/build.sh" all
cd "$here/build"
ctest --output-on-failure -j"$(nproc)" "$@"
