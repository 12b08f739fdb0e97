// [SECTION] Backend: its URLs, the Authorization header, the backend profile, and the prefetch.
// The task, its annotations and the first image are fetched while the wasm downloads and
// compiles, and the first image is decoded meanwhile too. The module's fetch and decode
// (client/platform/web_library.js) take a reply or pixels from here when the app asks for the
// same URL, so the URLs are built exactly as the app builds them.
import { PolymarkError, decodeToRgba, imageHeaderSize, loadScriptTag } from './util.js';
import { assetUrl } from './assets.js';

// The first image is decoded ahead only up to this size; a bigger one the app decodes at a
// reduced level (docs/API.md, "Images"), and a bomb it refuses by its header.
const PREDECODE_MAX_PIXELS = 4096 * 4096;

function predecode(reply) {
  if (reply.status !== 200 || !reply.bytes) return Promise.resolve(null);
  const size = imageHeaderSize(reply.bytes);
  if (!size || size.width * size.height > PREDECODE_MAX_PIXELS) return Promise.resolve(null);
  return decodeToRgba(new Blob([reply.bytes]))
    .then((r) => Object.assign(r, { size: reply.bytes.length }), () => null);
}

const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export const apiUrl = (backend, path) => backend.replace(/\/+$/, '') + path;

function mediaUrl(backend, url) {
  if (url.indexOf('://') >= 0 || url.indexOf('data:') === 0 || url.indexOf('blob:') === 0) return url;
  return apiUrl(backend, url.charAt(0) === '/' ? url : '/' + url);
}

function fetchReply(url, headers) {
  return fetch(url, { credentials: 'same-origin', headers: headers || {} })
    .then((response) => response.arrayBuffer().then((b) => ({ status: response.status, bytes: new Uint8Array(b), error: '' })))
    .catch((e) => ({ status: 0, bytes: null, error: String((e && e.message) || e) }));
}

function firstImageUrl(task, frame, backend) {
  if (!task || !Array.isArray(task.media)) return null;
  for (let i = 0; i < task.media.length; ++i) {
    const m = task.media[i] || {};
    const frames = m.type === 'video' ? (m.frames | 0) : 1;
    if (frame < frames) return m.type === 'image' && typeof m.url === 'string' && m.url ? mediaUrl(backend, m.url) : null;
    frame -= frames;
  }
  return null;
}

// The Authorization header for a request to the backend's API, and only there (never to media
// hosts): the `token` mount option, or the one setToken() gave last.
export function authHeaders(options, token, url) {
  if (!token) return {};
  const api = new URL(apiUrl(options.backend || '', '/api/'), document.baseURI).href;
  return new URL(url, document.baseURI).href.indexOf(api) === 0 ? { Authorization: 'Bearer ' + token } : {};
}

// Where a panel loaded later (guidelines, the manager view) sends its requests: the URL of a
// task's route and the headers naming who asks.
export function taskRoutes(ctx) {
  const o = ctx.options;
  return {
    url: (task, path) => new URL(apiUrl(o.backend || '', '/api/tasks/' + encodeURIComponent(task) + path), document.baseURI).href,
    headers: (url) => {
      const h = Object.assign({}, ctx.auth(url));
      if (typeof o.role === 'string') h['X-Polymark-Role'] = o.role;
      if (typeof o.user === 'string') h['X-Polymark-User'] = o.user;
      return h;
    },
  };
}

// Returns the replies being fetched and the first image's pixels being decoded, by URL, and a
// promise of the task (or null).
export function prefetchStart(options) {
  const replies = {};
  const decoded = {};
  if (options.taskObject) return { replies, decoded, task: Promise.resolve(options.taskObject) };
  if (!options.task || !ID_PATTERN.test(options.task)) return { replies, decoded, task: Promise.resolve(null) };
  const backend = options.backend || '';
  const taskUrl = apiUrl(backend, '/api/tasks/' + options.task);
  const auth = authHeaders(options, options.token, taskUrl);
  replies[taskUrl] = fetchReply(taskUrl, auth);
  if (!options.annotations && !options.profile) replies[taskUrl + '/annotations'] = fetchReply(taskUrl + '/annotations', auth);
  const task = replies[taskUrl].then((reply) => {
    if (reply.status !== 200) return null;
    let parsed;
    try { parsed = JSON.parse(new TextDecoder().decode(reply.bytes)); } catch (e) { return null; }
    const url = firstImageUrl(parsed, options.frame | 0, backend);
    if (url && !replies[url]) {
      replies[url] = fetchReply(url);
      decoded[url] = replies[url].then(predecode);
    }
    return parsed;
  });
  return { replies, decoded, task };
}

// The `profile` mount option: a built-in name (fetched from the build's profiles/), a URL, or
// the profile itself. Checked by the core when the module starts (docs/PROFILES.md).
// Resolves with { profile, module } (the profile module instance that runs it), or null.
export function loadProfile(base, profile) {
  if (profile === undefined || profile === null) return Promise.resolve(null);
  return Promise.all([profileJson(base, profile), profileModule(base)]).then(([json, module]) => ({ profile: json, module }));
}

function profileJson(base, profile) {
  if (typeof profile === 'object') return Promise.resolve(profile);
  if (typeof profile !== 'string' || !profile) return Promise.reject(PolymarkError('bad_options', 'options.profile must be a profile name, a URL or a profile object'));
  const url = /^[a-z][a-z0-9-]*$/.test(profile) ? assetUrl(base, 'profiles/' + profile + '.json') : new URL(profile, document.baseURI).href;
  return fetch(url).then((r) => {
    if (!r.ok) throw PolymarkError('bad_profile', 'the backend profile ' + JSON.stringify(profile) + ' could not be fetched from ' + url + ' (HTTP ' + r.status + ')');
    return r.json().catch(() => { throw PolymarkError('bad_profile', 'the backend profile at ' + url + ' is not JSON'); });
  }, (e) => {
    throw PolymarkError('bad_profile', 'the backend profile ' + JSON.stringify(profile) + ' could not be fetched from ' + url + ': ' + ((e && e.message) || e));
  });
}

// The module that runs backend profiles (polymark_profile.wasm): one instance per page and
// build, fetched by the first mount with a profile; mounts without one never load it.
const profileModules = new Map();

function profileModule(base) {
  if (profileModules.has(base)) return profileModules.get(base);
  const url = assetUrl(base, 'polymark_profile.js');
  const promise = (window.createPolymarkProfileModule ? Promise.resolve(window.createPolymarkProfileModule) : loadScriptTag(url, 'createPolymarkProfileModule'))
    .then((factory) => {
      if (typeof factory !== 'function') throw new Error(url + ' did not define createPolymarkProfileModule');
      return factory({ locateFile: (name) => assetUrl(base, name) });
    })
    .catch((e) => {
      profileModules.delete(base);  // a later mount may try again
      throw PolymarkError('load_failed', 'the backend profile module could not be loaded from ' + url + ': ' + ((e && e.message) || e));
    });
  profileModules.set(base, promise);
  return promise;
}
