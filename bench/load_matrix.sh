#!/bin/bash
# The load matrix of bench/README.md, "Labelers under load": 1 serve.py on SQLite and 1, 2, 4
# serve.py on PostgreSQL behind nginx, at 500, 200 and 50 labelers, and the 500-labeler run with
# faults; one run each, most important first. Writes OUT/<name>.json and OUT/<name>.log.
#   bash bench/load_matrix.sh OUT [SECONDS]
set -u
out=${1:?usage: load_matrix.sh OUT [SECONDS]}
seconds=${2:-300}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
run() {
  local name=$1; shift
  echo "$(date -u '+%H:%M:%S') $name: start, load average $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/progress.txt"
  /usr/bin/python3 "$here/load_labelers.py" --seconds "$seconds" --json "$out/$name.json" "$@" > "$out/$name.log" 2>&1
  echo "$(date -u '+%H:%M:%S') $name: exit $?" >> "$out/progress.txt"
  sleep 5
}
for n in 500 200 50; do
  run "sqlite-$n" --sqlite --labelers "$n"
  run "pg1-$n" --workers 1 --labelers "$n"
  run "pg2-$n" --workers 2 --labelers "$n"
  run "pg4-$n" --workers 4 --labelers "$n"
  if [ "$n" = 500 ]; then run "pg4-500-faults" --workers 4 --labelers 500 --faults; fi
done
echo "$(date -u '+%H:%M:%S') done" >> "$out/progress.txt"
