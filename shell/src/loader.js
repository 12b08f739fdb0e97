// [SECTION] Loader: the module code, the wasm (fetched and compiled once per page) and the UI
// font, with one progress total; shell/video.js only when a task shows a video.
import { PolymarkError, fetchBytes, loadScriptTag } from './util.js';
import { assetUrl } from './assets.js';

// Sizes of the files a mount downloads, stamped in by the build (tools/stamp_bundle.py) so the
// progress bar is true even when the server compresses. Inside a string, so that the bundler
// keeps the markers stamp_bundle.py looks for; they are taken out before parsing.
const BUNDLE = JSON.parse('/*POLYMARK_BUNDLE*/ {"polymark_app.js": 0, "polymark_app.wasm": 0, "fonts/ui-latin.ttf": 0} /*END*/'
  .replace(/\/\*[A-Z_]+\*\//g, ''));

let shared = null;      // { promise } of { factory, wasmModule, font }, once per page
let videoScript = null; // promise of window.PolymarkVideo, once per page

function loadAppScript(url, onBytes, size) {
  if (window.createPolymarkModule) return Promise.resolve(window.createPolymarkModule);
  return loadScriptTag(url, 'createPolymarkModule').then((factory) => { onBytes(size); return factory; });
}

// progress: { update(loaded, total), done() }
export function loadShared(base, progress) {
  if (shared) return shared.promise.then((s) => { progress.done(); return s; });
  const listeners = [progress];
  let loaded = 0;
  let total = 0;
  Object.keys(BUNDLE).forEach((k) => { total += BUNDLE[k]; });
  const onBytes = (n) => {
    loaded += n;
    listeners.forEach((l) => l.update(loaded, total));
  };
  const promise = Promise.all([
    loadAppScript(assetUrl(base, 'polymark_app.js'), onBytes, BUNDLE['polymark_app.js']),
    fetchBytes(assetUrl(base, 'polymark_app.wasm'), onBytes).then((bytes) => WebAssembly.compile(bytes).catch((e) => {
      throw PolymarkError('load_failed', 'polymark_app.wasm could not be compiled: ' + e.message);
    })),
    // The UI font: the app draws every text with it (the web build has no font of its own), so
    // a page that cannot fetch it does not mount (load_failed, like the wasm).
    fetchBytes(assetUrl(base, 'fonts/ui-latin.ttf'), onBytes),
  ]).then((parts) => {
    listeners.forEach((l) => l.done());
    return { factory: parts[0], wasmModule: parts[1], font: parts[2] };
  });
  shared = { promise };
  promise.catch(() => { shared = null; });
  return promise;
}

export function loadVideoScript(base) {
  if (window.PolymarkVideo) return Promise.resolve(window.PolymarkVideo);
  if (!videoScript) {
    videoScript = loadScriptTag(assetUrl(base, 'video.js'), 'PolymarkVideo');
    videoScript.catch(() => { videoScript = null; });
  }
  return videoScript;
}
