/* Polymark service worker: the app starts with no network after one online visit.
 * Registered by polymark.js (docs/API.md, "Offline start-up"); its scope is the folder it is
 * served from. It must not depend on the page: it sees only requests, caches and messages.
 *
 * Three caches, named per scope so that two deployments on one origin never touch each other:
 *   polymark:app:<build>@<scope>  the build's files, filled on install from the stamped list below,
 *                                 each checked against its SHA-256; one per build, old ones deleted
 *                                 on activate. Cache-first: an update is a new sw.js (the stamp
 *                                 changes), found by the browser's update check on every load.
 *   polymark:api@<scope>          task, annotations, review, jobs and guidelines GETs: network-first with a timeout, the
 *                                 cached copy only when the backend cannot answer; refreshed when
 *                                 a sync poll (?since=, itself never cached) shows a newer revision.
 *   polymark:media@<scope>        media of opened tasks: cache-first, revalidated in the background;
 *                                 HTTP ranges are cut from a cached whole file.
 * Anything that is not a GET (PATCH, PUT, POST, HEAD) never reaches a handler here. */
'use strict';

// [SECTION] The build, stamped by tools/stamp_offline.py: files fetched on install ("files") and
// files cached when the page first asks for them ("optional": font slices, the example page),
// each with the first 16 hex digits of its SHA-256; "version" is a hash of both lists.
const BUILD = /*POLYMARK_PRECACHE*/ { version: 'unstamped', files: {}, optional: {} } /*END*/;

const BASE = new URL('./', self.location.href);
const SCOPE = BASE.pathname;
const APP_PREFIX = 'polymark:app:';
const APP_CACHE = APP_PREFIX + BUILD.version + '@' + SCOPE;
const API_CACHE = 'polymark:api@' + SCOPE;
const MEDIA_CACHE = 'polymark:media@' + SCOPE;
const API_TIMEOUT_MS = 3000;                 // a backend that accepts but never answers
const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;   // videos up to this size are kept whole for offline
const AUTH_HEADER = 'X-Polymark-Auth';       // SHA-256 of the Authorization a response was for
const FROM_CACHE_HEADER = 'X-Polymark-From-Cache';
const REVISION_HEADER = 'X-Polymark-Revision';   // the revision of a cached annotations, review or jobs reply
const API_PATH = /\/api\/tasks\/([A-Za-z0-9_.:-]{1,64})(\/annotations|\/review|\/jobs)?$/;
// The task's guidelines (docs/SCHEMA.md section 14): the current version, the list of versions
// and a version's example images, network-first like the task, so that they read offline too.
const GUIDELINES_PATH = /\/api\/tasks\/[A-Za-z0-9_.:-]{1,64}\/guidelines(\/versions|\/files\/[^/]+)?$/;

// [SECTION] Small helpers

async function sha256Hex(data) {
  const digest = await crypto.subtle.digest('SHA-256', typeof data === 'string' ? new TextEncoder().encode(data) : data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The Authorization of a request, hashed: stored beside a response instead of the header itself,
// so that a cached reply is only ever given back to a request carrying the same credentials.
async function authTag(request) {
  const auth = request.headers.get('Authorization');
  return auth ? sha256Hex(auth) : '';
}

function noStore(response) {
  return /(^|,)\s*no-store\b/i.test(response.headers.get('Cache-Control') || '');
}

// A copy to store: keyed later by URL only (no request headers kept), tagged with the auth hash.
async function storable(response, tag, extra) {
  const headers = new Headers();
  for (const name of ['Content-Type', 'ETag', 'Last-Modified', 'Cache-Control']) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  headers.set(AUTH_HEADER, tag);
  for (const [k, v] of Object.entries(extra || {})) headers.set(k, v);
  const body = await response.blob();
  return new Response(body, { status: 200, statusText: 'OK', headers });
}

function withHeader(response, name, value) {
  const headers = new Headers(response.headers);
  headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

function urlKey(url) {
  const u = new URL(url);
  u.hash = '';
  return u.href;
}

// Reads without creating the cache (caches.open would), so that nothing reappears after
// unregisterOffline() deleted them while this worker still serves the page.
function lookup(cacheName, key) {
  return caches.match(key, { cacheName });
}

// Set by polymark.js before it unregisters this worker: from then on everything goes to the network.
let retired = false;

// Puts into a cache; when the quota is reached, the oldest half of the media cache goes first.
async function put(cacheName, key, response) {
  if (retired) return;
  const cache = await caches.open(cacheName);
  try {
    await cache.put(key, response.clone());
  } catch (e) {
    if (!e || e.name !== 'QuotaExceededError') throw e;
    const media = await caches.open(MEDIA_CACHE);
    const keys = await media.keys();
    await Promise.all(keys.slice(0, Math.ceil(keys.length / 2)).map((k) => media.delete(k)));
    await cache.put(key, response);
  }
}

// [SECTION] Install and activate: one atomic cache per build

// A content-hashed name (tools/stamp_names.py) never changes its bytes: the copy the page's own
// load left in the HTTP cache is taken without asking the server; other names are revalidated.
const HASHED_NAME = /\.[0-9a-f]{16}\.[a-z0-9]+$/;

async function fetchVerified(name, hash) {
  const url = new URL(name, BASE).href;
  const response = await fetch(url, { cache: HASHED_NAME.test(name) ? 'default' : 'no-cache', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  if ((await sha256Hex(bytes)).slice(0, hash.length) !== hash) {
    throw new Error(`${name} is not the file of build ${BUILD.version} (a deploy in progress?)`);
  }
  const headers = { 'Content-Type': response.headers.get('Content-Type') || 'application/octet-stream', 'X-Polymark-Hash': hash };
  return { url, response: new Response(bytes, { status: 200, statusText: 'OK', headers }) };
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(APP_CACHE);
    await Promise.all(Object.entries(BUILD.files).map(async ([name, hash]) => {
      const url = new URL(name, BASE).href;
      const held = await cache.match(url);
      if (held && held.headers.get('X-Polymark-Hash') === hash) return; // an install that resumes
      const got = await fetchVerified(name, hash);
      await cache.put(got.url, got.response);
    }));
    // Optional files an earlier build had cached (font slices a task needed) stay available
    // offline: copied when unchanged, fetched again when the new build changed them.
    const names = await caches.keys();
    for (const old of names.filter((n) => n.startsWith(APP_PREFIX) && n.endsWith('@' + SCOPE) && n !== APP_CACHE)) {
      const oldCache = await caches.open(old);
      for (const request of await oldCache.keys()) {
        const name = request.url.slice(BASE.href.length);
        const hash = BUILD.optional[name];
        if (!request.url.startsWith(BASE.href) || !hash || await cache.match(request.url)) continue;
        const response = await oldCache.match(request);
        try {
          if (response.headers.get('X-Polymark-Hash') === hash) await cache.put(request.url, response);
          else { const got = await fetchVerified(name, hash); await cache.put(got.url, got.response); }
        } catch (e) { /* an optional file: fetched again when the page asks for it */ }
      }
    }
    // The new build serves the next load: the browser's own update check found this sw.js.
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(APP_PREFIX) && name.endsWith('@' + SCOPE) && name !== APP_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// [SECTION] Routing: only GETs; everything not recognised goes to the network untouched

// Media URLs of the cached tasks (resolved as the app resolves them). Rebuilt from the API cache
// when the worker starts; null until then.
let mediaIndex = null;
const mediaIndexReady = rebuildMediaIndex().catch(() => { mediaIndex = new Set(); });

function taskMediaUrls(taskUrl, task) {
  const backend = taskUrl.slice(0, taskUrl.search(/\/api\/tasks\//));
  const out = [];
  for (const m of (task && Array.isArray(task.media) ? task.media : [])) {
    if (!m || typeof m.url !== 'string' || !m.url) continue;
    const raw = m.url.indexOf('://') >= 0 ? m.url : backend + (m.url.charAt(0) === '/' ? m.url : '/' + m.url);
    if (/^https?:/.test(raw)) out.push(urlKey(raw));
  }
  return out;
}

async function rebuildMediaIndex() {
  const index = new Set();
  if (!(await caches.has(API_CACHE))) { mediaIndex = index; return; }
  const cache = await caches.open(API_CACHE);
  for (const request of await cache.keys()) {
    const m = API_PATH.exec(new URL(request.url).pathname);
    if (!m || m[2]) continue;
    const response = await cache.match(request);
    try { taskMediaUrls(request.url, await response.json()).forEach((u) => index.add(u)); } catch (e) { /* not JSON: no media */ }
  }
  mediaIndex = index;
}

function appFileName(url) {
  if (url.search || !url.href.startsWith(BASE.href)) return null;
  const name = url.href.slice(BASE.href.length);
  return name in BUILD.files || name in BUILD.optional ? name : null;
}

function isAppPage(url) {
  return url.origin === BASE.origin && (url.pathname === SCOPE || url.pathname === SCOPE + 'index.html');
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || retired) return;
  const url = new URL(request.url);
  if (request.mode === 'navigate') {
    if (isAppPage(url)) event.respondWith(appFile('index.html', request));
    return;
  }
  const name = appFileName(url);
  if (name) return event.respondWith(appFile(name, request));
  if (API_PATH.test(url.pathname)) {
    if (!url.search) return event.respondWith(apiNetworkFirst(event, request));
    // The sync's poll for changes: passed through, never cached; a newer revision than the
    // cached copy's refreshes that copy, so that an offline reload shows what was last seen.
    if (url.searchParams.has('since') && API_PATH.exec(url.pathname)[2]) return event.respondWith(observeChanges(event, request, url));
    return;
  }
  if (GUIDELINES_PATH.test(url.pathname)) {
    if (!url.search || /^\?version=\d+$/.test(url.search)) event.respondWith(apiNetworkFirst(event, request));
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
  if (mediaIndex) {
    if (mediaIndex.has(urlKey(url))) event.respondWith(media(event, request));
    return;
  }
  // The worker just started and does not know the media URLs yet: decide once it does.
  if (request.destination === '') {
    event.respondWith(mediaIndexReady.then(() => (mediaIndex.has(urlKey(url)) ? media(event, request) : fetch(request))));
  }
});

// [SECTION] App files: cache-first from this build's cache

async function appFile(name, request) {
  const url = new URL(name, BASE).href;
  const hit = await lookup(APP_CACHE, url);
  if (hit) return hit;
  const response = await fetch(request);
  // An optional file enters this build's cache only when it is this build's file.
  const hash = BUILD.optional[name];
  if (hash && response.ok && !noStore(response)) {
    const bytes = await response.clone().arrayBuffer();
    if ((await sha256Hex(bytes)).slice(0, hash.length) === hash) {
      await put(APP_CACHE, url, new Response(bytes, { headers: { 'Content-Type': response.headers.get('Content-Type') || 'application/octet-stream', 'X-Polymark-Hash': hash } }));
    }
  }
  return response;
}

// [SECTION] Task, annotations, review and jobs: network-first, with a timeout; the cache only as a
// fallback (an offline labeler still sees the reviewer's issues and the job's stage).
// The backend says no-store on these replies. They are kept anyway, on purpose and only here:
// the copy is given back only when the backend cannot answer (offline, refused, timed out, 5xx),
// only to a request with the same credentials, and marked with X-Polymark-From-Cache.

async function apiNetworkFirst(event, request) {
  const tag = await authTag(request);
  const key = urlKey(request.url);
  const fallback = async () => {
    const hit = await lookup(API_CACHE, key);
    return hit && hit.headers.get(AUTH_HEADER) === tag ? withHeader(hit, FROM_CACHE_HEADER, '1') : null;
  };
  const network = fetch(request).then((response) => {
    if (response.status === 200) event.waitUntil(storeApi(key, response.clone(), tag));
    return response;
  });
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, API_TIMEOUT_MS, 'timeout'); });
  try {
    const first = await Promise.race([network, timeout]);
    if (first !== 'timeout' && first.status < 500) return first;
    const cached = await fallback();
    if (cached) return cached;
    return first === 'timeout' ? await network : first;
  } catch (e) {
    const cached = await fallback();
    if (cached) return cached;
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function storeApi(key, response, tag) {
  let copy = await storable(response, tag);
  const m = API_PATH.exec(new URL(key).pathname);
  if (m && m[2]) {
    try {
      const revision = (await copy.clone().json()).revision;
      if (Number.isInteger(revision)) copy = withHeader(copy, REVISION_HEADER, String(revision));
    } catch (e) { /* not JSON: kept as it is */ }
  }
  await put(API_CACHE, key, copy.clone());
  if (m && !m[2]) {
    try {
      const urls = taskMediaUrls(key, await copy.json());
      await mediaIndexReady;
      urls.forEach((u) => mediaIndex.add(u));
    } catch (e) { /* not JSON: no media */ }
  }
}

const refreshing = new Set(); // annotation URLs being fetched again after a poll saw changes

async function observeChanges(event, request, url) {
  const response = await fetch(request);
  if (response.status === 200) event.waitUntil(refreshIfNewer(request, url.origin + url.pathname, response.clone()).catch(() => {}));
  return response;
}

async function refreshIfNewer(request, key, response) {
  const polled = (await response.json()).revision;
  const held = await lookup(API_CACHE, key);
  const tag = await authTag(request);
  if (!held || held.headers.get(AUTH_HEADER) !== tag || refreshing.has(key)) return;
  const known = held.headers.has(REVISION_HEADER) ? Number(held.headers.get(REVISION_HEADER)) : -1;
  if (!(polled > known)) return;
  refreshing.add(key);
  try {
    const fresh = await fetch(key, { headers: new Headers(request.headers), credentials: request.credentials, mode: request.mode, cache: 'no-store' });
    if (fresh.status === 200) await storeApi(key, fresh, tag);
  } finally {
    refreshing.delete(key);
  }
}

// [SECTION] Media: cache-first with a background revalidation; ranges cut from a whole file

const revalidated = new Set(); // URLs checked against the server since this worker started
const wholeFetches = new Set(); // videos being fetched whole in the background

async function media(event, request) {
  const key = urlKey(request.url);
  const tag = await authTag(request);
  const held = await lookup(MEDIA_CACHE, key);
  const hit = held && held.headers.get(AUTH_HEADER) === tag ? held : null;
  const range = request.headers.get('Range');
  if (range) {
    if (hit) return rangeOf(hit, range);
    const response = await fetch(request);
    const total = /\/(\d+)\s*$/.exec(response.headers.get('Content-Range') || '');
    if (response.status === 206 && total && Number(total[1]) <= WHOLE_FILE_LIMIT && !wholeFetches.has(key)) {
      wholeFetches.add(key);
      event.waitUntil(fetchWhole(request, key, tag).finally(() => wholeFetches.delete(key)));
    }
    return response;
  }
  if (hit) {
    if (!revalidated.has(key)) { revalidated.add(key); event.waitUntil(revalidate(request, key, hit, tag).catch(() => revalidated.delete(key))); }
    return hit;
  }
  const response = await fetch(request);
  if (response.status === 200 && response.type !== 'opaque' && !noStore(response)) {
    event.waitUntil(storable(response.clone(), tag).then((copy) => put(MEDIA_CACHE, key, copy)).catch(() => {}));
  }
  return response;
}

function headersWithout(request, name) {
  const headers = new Headers(request.headers);
  headers.delete(name);
  return headers;
}

async function fetchWhole(request, key, tag) {
  const response = await fetch(request.url, { headers: headersWithout(request, 'Range'), credentials: request.credentials, mode: request.mode });
  if (response.status !== 200 || noStore(response)) return;
  await put(MEDIA_CACHE, key, await storable(response, tag));
}

async function revalidate(request, key, held, tag) {
  const headers = headersWithout(request, 'Range');
  if (held.headers.get('ETag')) headers.set('If-None-Match', held.headers.get('ETag'));
  else if (held.headers.get('Last-Modified')) headers.set('If-Modified-Since', held.headers.get('Last-Modified'));
  const response = await fetch(request.url, { headers, credentials: request.credentials, mode: request.mode, cache: 'no-cache' });
  if (response.status === 200 && !noStore(response)) await put(MEDIA_CACHE, key, await storable(response, tag));
  else if (response.status === 404 || response.status === 410 || (response.status === 200 && noStore(response))) {
    if (!retired && await caches.has(MEDIA_CACHE)) await (await caches.open(MEDIA_CACHE)).delete(key);
  }
}

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a cached whole file: 206, or 416 outside it.
// Anything else (several ranges) gets the whole file, as a server that ignores Range would answer.
async function rangeOf(whole, header) {
  const blob = await whole.blob();
  const size = blob.size;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return new Response(blob, { status: 200, headers: whole.headers });
  let start;
  let end;
  if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = Number(m[2]) > 0 ? size - 1 : -1; } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) {
    return new Response(null, { status: 416, statusText: 'Range Not Satisfiable', headers: { 'Content-Range': `bytes */${size}` } });
  }
  const headers = new Headers({
    'Content-Type': whole.headers.get('Content-Type') || 'application/octet-stream',
    'Content-Range': `bytes ${start}-${end}/${size}`,
    'Content-Length': String(end - start + 1),
    'Accept-Ranges': 'bytes',
  });
  if (whole.headers.get('ETag')) headers.set('ETag', whole.headers.get('ETag'));
  return new Response(blob.slice(start, end + 1), { status: 206, statusText: 'Partial Content', headers });
}

// [SECTION] Messages from polymark.js, answered on the port they bring

self.addEventListener('message', (event) => {
  const data = event.data || {};
  const port = event.ports && event.ports[0];
  const reply = (value) => { if (port) port.postMessage(value); };
  if (data.type === 'polymark-retire') {
    retired = true;
    reply({ ok: true });
  } else if (data.type === 'polymark-version') {
    reply({ version: BUILD.version, scope: BASE.href });
  } else if (data.type === 'polymark-warm') {
    // The first visit loaded the task, its annotations and images before this worker controlled
    // the page: fetch those again into the caches (tasks first, so their media are known).
    event.waitUntil(warm(event, Array.isArray(data.urls) ? data.urls : [], data.headers && typeof data.headers === 'object' ? data.headers : {}).then(
      (n) => reply({ ok: true, cached: n }), (e) => reply({ ok: false, error: String(e && e.message || e) })));
  }
});

// headers: per URL, the Authorization the page sends there (a token-protected task): the fetch
// carries it, the stored copy only its hash (authTag), as for the page's own requests.
async function warm(event, urls, headers) {
  await mediaIndexReady;
  let cached = 0;
  const api = urls.filter((u) => { try { const x = new URL(u); return API_PATH.test(x.pathname) && !x.search; } catch (e) { return false; } });
  for (const u of api) {
    const request = new Request(u, { credentials: 'same-origin', headers: headers[u] || {} });
    const response = await fetch(request).catch(() => null);
    if (response && response.status === 200) { await storeApi(urlKey(u), response, await authTag(request)); cached++; }
  }
  for (const u of urls) {
    let key;
    try { key = urlKey(u); } catch (e) { continue; }
    if (!mediaIndex.has(key) || await lookup(MEDIA_CACHE, key)) continue;
    const response = await fetch(u, { credentials: 'same-origin' }).catch(() => null);
    if (response && response.status === 200 && !noStore(response)) { await put(MEDIA_CACHE, key, await storable(response, '')); cached++; }
  }
  return cached;
}
