#!/usr/bin/env bash
# The long fuzzing run of every importer: 10 million executions each, or an hour each
# (whichever ends first; POLYMARK_FUZZ_SECONDS and POLYMARK_FUZZ_RUNS change that), one after
# another. POLYMARK_FUZZ_FORMATS picks some of them ("coco cvat") so the run can span sessions.
# Prints each fuzzer's final stats; exits non-zero on the first crash.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${POLYMARK_FUZZ_RUNS:-10000000}
seconds=${POLYMARK_FUZZ_SECONDS:-3600}
for format in ${POLYMARK_FUZZ_FORMATS:-coco cvat yolo labelme voc mot labelstudio via}; do
  echo "== $format: up to $runs executions or $seconds s"
  # -timeout=60: on a busy machine (builds beside a fuzzer at nice 19) a unit can wait seconds for
  # a core; libFuzzer's default of 10 s then reports a hang that is not one.
  set +e
  "$here/run.sh" "$format" -runs="$runs" -max_total_time="$seconds" -timeout=60 2>&1 | grep -E '^stat::|ERROR|SUMMARY|Done'
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || { echo "== $format: fuzzer exited with $status (see build-fuzz/crashes/$format)"; exit "$status"; }
done
