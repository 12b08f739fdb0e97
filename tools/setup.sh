#!/usr/bin/env bash
# Sets up everything Polymark needs on a fresh Debian 12 machine, idempotently:
#   1. Debian packages (toolchains, libraries, Chromium, ffmpeg, fonts);
#   2. Debian source packages the web build compiles (Dear ImGui 1.90.1, SDL2 2.26.5),
#      fetched and verified by apt, unpacked into the cache, never into the repo;
#   3. SDL2 built for the web with emscripten (slow: cached);
#   4. npm tooling from package-lock.json (esbuild for the build, the browser driver for tests);
#   5. demo media (real photographs from python3-skimage, a short video made with ffmpeg) and the
#      demo's guidelines with their example image.
# Cache: $POLYMARK_CACHE (default ~/.cache/polymark). Every step is skipped when its
# stamp exists, so running this again costs about a second.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${POLYMARK_CACHE:-$HOME/.cache/polymark}
mkdir -p "$cache"
log() { printf '[setup] %s\n' "$*" >&2; }
sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# [SECTION] 1. Debian packages
packages=(
  build-essential cmake pkg-config dpkg-dev ca-certificates
  emscripten nodejs
  libsdl2-dev libgl-dev libgl1-mesa-dri libcurl4-openssl-dev
  nlohmann-json3-dev libstb-dev catch2
  chromium ffmpeg xvfb xauth x11-apps imagemagick
  fonts-dejavu-core fonts-noto-core fonts-droid-fallback python3-fonttools python3-jsonschema sqlite3
  python3-numpy python3-opencv python3-skimage python3-shapely
  python3-fastjsonschema
  postgresql python3-psycopg python3-aiohttp nginx libnginx-mod-http-brotli-static brotli python3-brotli
  zopfli
  clang
  libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs: the machine may already have a newer node outside dpkg; keep it.
if command -v node >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -q
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# [SECTION] 2. Debian source packages, verified by apt (signatures and hashes)
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
fi
fetch_source() { # suite package=version dir-name
  local suite=$1 spec=$2 dir=$3
  [ -f "$cache/src/$dir/.polymark-ok" ] && return 0
  [ -n "$mirror" ] || { log "no Debian mirror found in the apt configuration"; exit 1; }
  log "fetching Debian source $spec ($suite)"
  local apt_dir="$cache/apt-$suite"
  mkdir -p "$apt_dir/lists/partial" "$cache/src"
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$apt_dir/sources.list"
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
  mkdir -p "$apt_dir/cache/archives/partial"
  apt-get "${opts[@]}" update -q >&2
  rm -rf "$cache/src/work-$dir" && mkdir -p "$cache/src/work-$dir"
  (cd "$cache/src/work-$dir" && apt-get "${opts[@]}" source -q --download-only "$spec" >&2 && dpkg-source -x --no-check ./*.dsc unpacked >&2)
  rm -rf "${cache:?}/src/$dir" && mv "$cache/src/work-$dir/unpacked" "$cache/src/$dir" && rm -rf "$cache/src/work-$dir"
  touch "$cache/src/$dir/.polymark-ok"
}
fetch_source trixie imgui=1.90.1+ds-1 imgui-1.90.1
fetch_source bookworm libsdl2=2.26.5+dfsg-1 SDL2-2.26.5

# [SECTION] 3. SDL2 for the web (about 5 minutes on 2 cores, once per set of options)
# Built with only what the client uses (video, events, timers; no audio, joystick, software
# renderer or blitters) and for size: cmake/sdl2_web_options.txt, one CMake argument a line.
# The cache folder is named after that file's hash, so changing an option builds a new
# library beside the old one (never over it) and cmake/dependencies.cmake finds it by the
# same hash.
export NODE_PATH=/usr/share/nodejs
sdl_options_file="$here/cmake/sdl2_web_options.txt"
sdl_key=$(sha256sum "$sdl_options_file" | cut -c1-12)
sdl_web="$cache/sdl2-web-$sdl_key"
if [ ! -f "$sdl_web/.polymark-ok" ]; then
  log "building SDL2 2.26.5 for the web with emscripten into $sdl_web (once; about 5 minutes)"
  sdl_options=()
  while IFS= read -r line; do
    case "$line" in ''|'#'*) ;; *) sdl_options+=("$line") ;; esac
  done < "$sdl_options_file"
  rm -rf "$sdl_web-build" "$sdl_web"
  emcmake cmake -S "$cache/src/SDL2-2.26.5" -B "$sdl_web-build" "${sdl_options[@]}" \
    -DCMAKE_INSTALL_PREFIX="$sdl_web" >&2
  emmake make -C "$sdl_web-build" -j"$(nproc)" >&2
  make -C "$sdl_web-build" install >&2
  touch "$sdl_web/.polymark-ok"
fi

# [SECTION] 4. npm tooling (esbuild, browser driver; versions pinned by package-lock.json)
if [ ! -f "$here/node_modules/.polymark-ok" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.polymark-ok" ]; then
  log "installing npm tooling (esbuild, browser driver)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  touch "$here/node_modules/.polymark-ok"
fi

# [SECTION] 5. Demo media: real photographs and a short video
"$here/tools/make_demo_media.sh" "$cache"
cp "$here/assets/demo/task.json" "$cache/demo/task.json"
# The demo's labeling guidelines (serve.py --import makes them version 1) and their example image:
# the demo's own cat photograph with a tight box drawn on its face.
cp "$here/assets/demo/guidelines.md" "$cache/demo/guidelines.md"
if [ ! -f "$cache/demo/guidelines/cat_box.jpg" ]; then
  mkdir -p "$cache/demo/guidelines"
  ffmpeg -v error -y -i "$cache/demo/chelsea.png" \
    -vf "drawbox=x=130:y=40:w=210:h=220:color=0x3cb44b:t=4,scale=300:-2" -q:v 4 "$cache/demo/guidelines/cat_box.jpg"
fi
