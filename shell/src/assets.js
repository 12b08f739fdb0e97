// [SECTION] The build's files by name. The build (tools/stamp_names.py) gives every file loaded
// after polymark.js a content-hashed name (polymark_app.<16 hex>.wasm) that a server or CDN may
// cache as immutable, and stamps the map of plain to hashed names here; everything the page,
// its lazily loaded scripts and its workers fetch goes through assetUrl (the later scripts and
// the workers get their URLs from the page: they never carry the map, whose names depend on
// their own bytes). Unstamped (a build without the step), every name is its plain self.
import { loadScriptTag } from './util.js';

// Inside a single-quoted string (a double quote in it keeps the minifier's quotes single) so that
// the bundler keeps the markers; they are taken out before parsing.
// Plain name -> the 16 hex digits of its hashed name.
const HASHES = JSON.parse('/*POLYMARK_NAMES*/ {"": ""} /*END*/'.replace(/\/\*[A-Z_]+\*\//g, ''));

// 'fonts/ui-latin.ttf' -> 'fonts/ui-latin.<16 hex>.ttf' when the build hashed it.
function fetchedName(name) {
  const hash = Object.prototype.hasOwnProperty.call(HASHES, name) && HASHES[name];
  return hash ? name.replace(/(\.[a-z0-9]+)$/, '.' + hash + '$1') : name;
}

/**
 * The URL of the build's file `name` (its plain name, e.g. 'polymark_app.wasm' or
 * 'fonts/ui-latin.ttf') in the folder `base`: its hashed name when the build gave it one.
 */
export const assetUrl = (base, name) => new URL(fetchedName(name), base).href;

// The URLs of an emscripten module's glue and wasm, as a worker or a later script takes them.
export const moduleUrls = (base, stem) => ({ moduleUrl: assetUrl(base, stem + '.js'), wasmUrl: assetUrl(base, stem + '.wasm') });

// A script bundled apart (dist/<file>) and loaded once per page on first need: a promise of the
// global it defines.
export function lazyGlobal(base, file, name) {
  return window[name] ? Promise.resolve(window[name]) : loadScriptTag(assetUrl(base, file), name);
}
