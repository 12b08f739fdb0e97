#!/usr/bin/env bash
# Makes the demo task's media in $1/demo: real photographs from Debian's python3-skimage
# (extracted from the .deb, nothing installed) and a short H.264 video panned over one of
# them with ffmpeg. Idempotent: skipped when the stamp exists.
set -euo pipefail
cache=$1
out="$cache/demo"
[ -f "$out/.polymark-ok" ] && exit 0
log() { printf '[setup] %s\n' "$*" >&2; }
log "making demo media in $out"
sk="$cache/skimage"
if [ ! -d "$sk/data" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -q python3-skimage >&2 && dpkg -x python3-skimage_*.deb x)
  mkdir -p "$sk" && rm -rf "$sk/data"
  mv "$tmp"/x/usr/lib/python3/dist-packages/skimage/data "$sk/data"
  rm -rf "$tmp"
fi
rm -rf "$out" && mkdir -p "$out"
cp "$sk/data/astronaut.png" "$out/astronaut.png"
cp "$sk/data/chelsea.png" "$out/chelsea.png"
# JPEG and WebP copies exercise the other decoders the labelers' data comes in.
ffmpeg -v error -y -i "$sk/data/coffee.png" -q:v 3 "$out/coffee.jpg"
cp "$sk/data/motorcycle_left.png" "$out/motorcycle.png"
# Three seconds of 640x360 H.264 panning and zooming over the cat photograph.
ffmpeg -v error -y -loop 1 -i "$sk/data/chelsea.png" \
  -vf "scale=1280:-2,zoompan=z='1+0.3*on/90':x='iw/2-(iw/zoom/2)+on*2':y='ih/2-(ih/zoom/2)':d=1:s=640x360:fps=30" \
  -frames:v 90 -c:v libx264 -pix_fmt yuv420p -movflags +faststart "$out/chelsea_pan.mp4"
touch "$out/.polymark-ok"
