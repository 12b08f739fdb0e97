// [SECTION] Fonts for other scripts: the UI font is Latin; the characters a task's names use
// beyond it (Cyrillic, Greek, CJK...) come from slices listed in fonts/manifest.json, fetched
// only when needed. A Latin-only task fetches nothing more.
import { fetchBytes } from './util.js';
import { assetUrl } from './assets.js';

let manifest = null;     // promise of fonts/manifest.json, once per page
const fontFiles = {};    // promise of each font file's bytes, once per page

// What fonts/ui-latin.ttf covers (tools/subset_font.py LATIN): ASCII and the other characters the UI writes.
const UI_CHARACTERS = [0xA0, 0xB7, 0xD7, 0x2013, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2026];
const latin = (c) => c < 0x7F || UI_CHARACTERS.indexOf(c) >= 0;

function taskCodePoints(task) {
  const seen = {};
  const scan = (text) => {
    if (typeof text !== 'string') return;
    for (let i = 0; i < text.length; i++) {
      const c = text.codePointAt(i);
      if (c > 0xFFFF) i++;
      if (!latin(c) && c <= 0xFFFF) seen[c] = true;
    }
  };
  if (task && typeof task === 'object') {
    scan(task.name);
    (Array.isArray(task.labels) ? task.labels : []).forEach((l) => {
      if (!l || typeof l !== 'object') return;
      scan(l.name);
      (Array.isArray(l.attributes) ? l.attributes : []).forEach((a) => {
        if (!a || typeof a !== 'object') return;
        scan(a.name);
        if (Array.isArray(a.values)) a.values.forEach(scan);
        scan(a['default']);
      });
    });
  }
  return Object.keys(seen).map(Number);
}

// The font slices holding these code points: [{ file, bytes }], each file fetched once per page.
function scriptFontsFor(base, codePoints) {
  const needed = codePoints.filter((c) => !latin(c) && c <= 0xFFFF);
  if (!needed.length) return Promise.resolve([]);
  if (!manifest) manifest = fetch(assetUrl(base, 'fonts/manifest.json')).then((r) => (r.ok ? r.json() : { fonts: [] })).catch(() => ({ fonts: [] }));
  return manifest.then((m) => {
    const files = [];
    (m.fonts || []).forEach((f) => {
      const used = needed.some((c) => f.ranges.some((r) => c >= r[0] && c <= r[1]));
      if (used) files.push(f.file);
    });
    return Promise.all(files.map((file) => {
      if (!fontFiles[file]) fontFiles[file] = fetchBytes(assetUrl(base, 'fonts/' + file), () => {}).catch(() => null);
      return fontFiles[file].then((bytes) => bytes && { file, bytes });
    })).then((fonts) => fonts.filter(Boolean));
  });
}

// The slices a task's names need and the characters to add to the atlas: { fonts, glyphs }.
export function loadScriptFonts(base, task) {
  const needed = taskCodePoints(task);
  return scriptFontsFor(base, needed).then((fonts) => ({ fonts, glyphs: needed.length ? String.fromCodePoint(...needed) : '' }));
}

// Characters typed or loaded later that the font atlas lacks: fetch the slices holding them and
// hand them to the module. `given` marks the files this instance already has.
export function createGlyphFeed(ctx, given) {
  function addGlyphs(codePoints, bytes) {
    const M = ctx.M;
    if (ctx.destroyed || !M) return;
    const cps = M._malloc(Math.max(4, codePoints.length * 4));
    M.HEAPU32.set(codePoints, cps >> 2);
    let font = 0;
    if (bytes) { font = M._malloc(bytes.length); M.HEAPU8.set(bytes, font); }
    M._pm_add_glyphs(cps, codePoints.length, font, bytes ? bytes.length : 0);
    M._free(cps);
  }
  return (codePoints) => {
    scriptFontsFor(ctx.base, codePoints).then((fonts) => {
      let added = false;
      fonts.forEach((f) => {
        if (given[f.file]) return;
        given[f.file] = true;
        addGlyphs(added ? [] : codePoints, f.bytes);
        added = true;
      });
      if (!added) addGlyphs(codePoints, null);
    });
  };
}
