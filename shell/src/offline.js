// [SECTION] Offline start-up: the service worker (sw.js, beside polymark.js) keeps the build, the
// tasks opened and their media, so the app starts with no network after one online visit
// (docs/API.md, "Offline start-up"). Registered after `ready`, so it never slows the first load.
import { scriptUrl } from './util.js';
import { assetUrl } from './assets.js';

const offlineScopes = {}; // scope URL -> { state, version, error, scope, promise }, once per page
let persistAsked = false;

const offlineScope = (base, options) => new URL(options.offlineScope || base, location.href).href;

// The app's own page (same origin, inside the folder polymark.js is served from) registers
// unless told `offline: false`; any other page only with `offline: true`.
export function offlineWanted(base, options) {
  if (options.offline === false) return false;
  if (options.offline === true) return true;
  const b = new URL(base, location.href);
  return location.origin === b.origin && location.pathname.indexOf(b.pathname) === 0;
}

function askWorker(worker, message, timeoutMs) {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => reject(new Error('the service worker did not answer')), timeoutMs);
    channel.port1.onmessage = (e) => { clearTimeout(timer); resolve(e.data); };
    worker.postMessage(message, [channel.port2]);
  });
}

function whenActive(reg) {
  return new Promise((resolve, reject) => {
    const worker = reg.installing || reg.waiting || reg.active;
    if (!worker) return reject(new Error('no service worker after registration'));
    function check() {
      if (worker.state === 'activated') { worker.removeEventListener('statechange', check); resolve(worker); }
      else if (worker.state === 'redundant') {
        worker.removeEventListener('statechange', check);
        // Replaced by a newer one (a deploy during install): follow that one.
        if (reg.active && reg.active !== worker) resolve(reg.active);
        else reject(new Error('the service worker could not install (see its console)'));
      }
    }
    worker.addEventListener('statechange', check);
    check();
  });
}

function whenControlled() {
  if (navigator.serviceWorker.controller) return Promise.resolve(navigator.serviceWorker.controller);
  return new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('controllerchange', function once() {
      navigator.serviceWorker.removeEventListener('controllerchange', once);
      resolve(navigator.serviceWorker.controller);
    });
  });
}

// What this page fetched before the worker controlled it (the task, its annotations, images):
// the worker fetches it again into its caches, keeping what its rules keep.
function loadedUrls() {
  const urls = [];
  (performance.getEntriesByType ? performance.getEntriesByType('resource') : []).forEach((r) => {
    if (r.initiatorType === 'fetch' && urls.indexOf(r.name) < 0) urls.push(r.name);
  });
  return urls;
}

// report(code, message, where) tells the mount; auth(url): the headers this mount sends to that
// URL (its token), for the worker's warm-up.
export function startOffline(base, options, report, auth) {
  const scope = offlineScope(base, options);
  if (offlineScopes[scope]) return offlineScopes[scope];
  const status = offlineScopes[scope] = { state: 'installing', version: null, error: null, scope };
  if (!window.isSecureContext || !navigator.serviceWorker) {
    status.state = 'unsupported';
    status.error = 'service workers need https or localhost; this page is ' + location.protocol + '//' + location.host;
    report('offline_unavailable', status.error, scope);
    return status;
  }
  status.promise = navigator.serviceWorker.register(assetUrl(base, 'sw.js'), { scope, updateViaCache: 'none' })
    .then((reg) => {
      // Look for a deploy now: Chromium defers its own check while the worker keeps receiving
      // fetches (the sync's polls), and the next load must be the new build.
      reg.update().catch(() => { /* offline: the cached build serves */ });
      return whenActive(reg);
    })
    // A scope that does not cover this page: the worker serves other pages, not this one.
    .then((worker) => (location.href.indexOf(scope) === 0 ? whenControlled() : worker))
    .then((worker) => {
      // The task and annotations are fetched again by the worker: with this mount's credentials
      // (kept in the worker's memory for that fetch only; it stores their hash, never them).
      const urls = loadedUrls();
      const headers = {};
      urls.forEach((u) => { const h = auth ? auth(u) : {}; if (h.Authorization) headers[u] = h; });
      return askWorker(worker, { type: 'polymark-warm', urls, headers }, 60000).then(() => worker);
    })
    .then((worker) => askWorker(worker, { type: 'polymark-version' }, 5000))
    .then((answer) => { status.state = 'ready'; status.version = answer.version; }, (e) => {
      status.state = 'failed';
      status.error = String((e && e.message) || e);
      report('offline_unavailable', 'offline start-up is not available: ' + status.error, scope);
    });
  // A tab left open all day still learns of a deploy, so that its next load is the new build.
  setInterval(() => {
    navigator.serviceWorker.getRegistration(scope).then((r) => { if (r) return r.update(); }).catch(() => {});
  }, 3600 * 1000);
  if (!persistAsked && navigator.storage && navigator.storage.persist) {
    persistAsked = true;
    navigator.storage.persisted().then((p) => p || navigator.storage.persist()).catch(() => {});
  }
  return status;
}

/**
 * Removes this scope's Polymark service worker and its caches.
 * @param {{assetsUrl?: string, offlineScope?: string}} [options]
 * @returns {Promise<boolean>} true if one was there
 */
export function unregisterOffline(options) {
  options = options || {};
  if (!window.navigator || !navigator.serviceWorker) return Promise.resolve(false);
  const base = options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href;
  const scope = offlineScope(base, options);
  const scopePath = new URL(scope).pathname;
  delete offlineScopes[scope];
  return navigator.serviceWorker.getRegistration(scope).then((reg) => {
    const worker = reg && (reg.active || reg.waiting || reg.installing);
    const ours = reg && reg.scope === scope && worker && worker.scriptURL === assetUrl(base, 'sw.js');
    // The worker keeps serving this page until it unloads: it stops caching first.
    const retire = ours && reg.active ? askWorker(reg.active, { type: 'polymark-retire' }, 2000).catch(() => {}) : Promise.resolve();
    return retire.then(() => (ours ? reg.unregister() : false)).then((removed) => {
      if (!window.caches) return !!removed;
      return caches.keys().then((names) => Promise.all(names
        .filter((n) => n.indexOf('polymark:') === 0 && n.slice(-(scopePath.length + 1)) === '@' + scopePath)
        .map((n) => caches.delete(n)))).then(() => !!removed);
    });
  });
}

// {usage, quota, persisted} of this origin's storage, and the offline state of this scope.
export function storageReport(base, options) {
  const st = window.navigator && navigator.storage;
  const status = offlineScopes[offlineScope(base, options)];
  return Promise.all([
    st && st.estimate ? st.estimate().catch(() => ({})) : {},
    st && st.persisted ? st.persisted().catch(() => false) : false,
    // The build the worker controlling this page has now (a deploy may have replaced it).
    status && status.state === 'ready' && navigator.serviceWorker.controller
      ? askWorker(navigator.serviceWorker.controller, { type: 'polymark-version' }, 2000).then((a) => a.version, () => status.version)
      : status && status.version,
  ]).then((parts) => {
    if (status && parts[2]) status.version = parts[2];
    return {
      usage: parts[0].usage === undefined ? null : parts[0].usage,
      quota: parts[0].quota === undefined ? null : parts[0].quota,
      persisted: !!parts[1],
      offline: status ? { state: status.state, version: status.version, error: status.error } : { state: 'off', version: null, error: null },
    };
  });
}
