#!/usr/bin/env bash
# Sets up what is missing, builds the web client, and serves it with the demo task on
# http://127.0.0.1:8080 (override with PORT=... or BIND=...). Labels are kept in .polymark/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${POLYMARK_CACHE:-$HOME/.cache/polymark}
"$here/tools/setup.sh"
"$here/tools/build.sh" web
mkdir -p "$here/.polymark"
echo "Polymark: open http://${BIND:-127.0.0.1}:${PORT:-8080}/ in a browser (Ctrl+C stops the server)" >&2
exec /usr/bin/python3 "$here/serve.py" --bind "${BIND:-127.0.0.1}" --port "${PORT:-8080}" \
  --db "$here/.polymark/polymark.sqlite" --web "$here/build-web/dist" --import "$cache/demo"
