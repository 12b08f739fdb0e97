/* Polymark embedding API: Polymark.mount(element, options) -> Promise<instance>.
 * The contract is docs/API.md. This file loads the WebAssembly module once per page (bytes and
 * compiled module are shared), then makes one independent module instance per mount, with its
 * own canvas, its own keyboard focus and its own teardown. No global CSS, no window listeners
 * left behind after destroy(). */
(function (global) {
  'use strict';

  // Sizes of the files a mount downloads, stamped in by the build (tools/stamp_bundle.py) so the
  // progress bar is true even when the server compresses.
  var BUNDLE = /*POLYMARK_BUNDLE*/ { 'polymark_app.js': 0, 'polymark_app.wasm': 0, 'fonts/ui-latin.ttf': 0 } /*END*/;
  var EVENTS = ['ready', 'error', 'change', 'frame', 'sync', 'tracking'];
  var scriptUrl = (global.document && document.currentScript && document.currentScript.src) || '';
  var instances = 0;
  var shared = null; // { factory, wasmModule, font } promise, loaded once per page

  function PolymarkError(code, message, details) {
    var e = new Error(message);
    e.name = 'PolymarkError';
    e.code = code;
    e.details = details || [];
    Object.setPrototypeOf(e, PolymarkError.prototype);
    return e;
  }
  PolymarkError.prototype = Object.create(Error.prototype, { constructor: { value: PolymarkError } });

  function assetUrl(base, name) { return new URL(name, base).href; }

  // Fetches a file as bytes, reporting the bytes as they arrive.
  function fetchBytes(url, onBytes) {
    return fetch(url).then(function (response) {
      if (!response.ok) throw PolymarkError('load_failed', 'could not load ' + url + ' (HTTP ' + response.status + ')');
      if (!response.body || !response.body.getReader) {
        return response.arrayBuffer().then(function (b) { onBytes(b.byteLength); return new Uint8Array(b); });
      }
      var reader = response.body.getReader();
      var chunks = [];
      var total = 0;
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) {
            var out = new Uint8Array(total);
            var at = 0;
            chunks.forEach(function (c) { out.set(c, at); at += c.length; });
            return out;
          }
          chunks.push(step.value);
          total += step.value.length;
          onBytes(step.value.length);
          return pump();
        });
      }
      return pump();
    }, function (e) {
      throw PolymarkError('load_failed', 'could not load ' + url + ': ' + (e && e.message ? e.message : e));
    });
  }

  // [SECTION] Prefetch: the task, its annotations and the first image are fetched while the wasm
  // downloads and compiles. The module's fetch (client/platform/web_library.js) takes a reply from
  // here when the app asks for the same URL, so the URLs are built exactly as App builds them.
  var ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

  function apiUrl(backend, path) { return backend.replace(/\/+$/, '') + path; }

  function mediaUrl(backend, url) {
    if (url.indexOf('://') >= 0 || url.indexOf('data:') === 0 || url.indexOf('blob:') === 0) return url;
    return apiUrl(backend, url.charAt(0) === '/' ? url : '/' + url);
  }

  function fetchReply(url, headers) {
    return fetch(url, { credentials: 'same-origin', headers: headers || {} }).then(function (response) {
      return response.arrayBuffer().then(function (b) { return { status: response.status, bytes: new Uint8Array(b), error: '' }; });
    }).catch(function (e) { return { status: 0, bytes: null, error: String((e && e.message) || e) }; });
  }

  function firstImageUrl(task, frame, backend) {
    if (!task || !Array.isArray(task.media)) return null;
    for (var i = 0; i < task.media.length; ++i) {
      var m = task.media[i] || {};
      var frames = m.type === 'video' ? (m.frames | 0) : 1;
      if (frame < frames) return m.type === 'image' && typeof m.url === 'string' && m.url ? mediaUrl(backend, m.url) : null;
      frame -= frames;
    }
    return null;
  }

  // The Authorization header for a request to the backend's API, and only there (never to media
  // hosts): the `token` mount option, or the one setToken() gave last.
  function authHeaders(options, token, url) {
    if (!token) return {};
    var api = new URL(apiUrl(options.backend || '', '/api/'), document.baseURI).href;
    return new URL(url, document.baseURI).href.indexOf(api) === 0 ? { Authorization: 'Bearer ' + token } : {};
  }

  // Returns the replies being fetched, by URL, and a promise of the task (or null).
  function prefetchStart(options) {
    var replies = {};
    if (options.taskObject) return { replies: replies, task: Promise.resolve(options.taskObject) };
    if (!options.task || !ID_PATTERN.test(options.task)) return { replies: replies, task: Promise.resolve(null) };
    var backend = options.backend || '';
    var taskUrl = apiUrl(backend, '/api/tasks/' + options.task);
    var auth = authHeaders(options, options.token, taskUrl);
    replies[taskUrl] = fetchReply(taskUrl, auth);
    if (!options.annotations && !options.profile) replies[taskUrl + '/annotations'] = fetchReply(taskUrl + '/annotations', auth);
    var task = replies[taskUrl].then(function (reply) {
      if (reply.status !== 200) return null;
      var parsed;
      try { parsed = JSON.parse(new TextDecoder().decode(reply.bytes)); } catch (e) { return null; }
      var url = firstImageUrl(parsed, options.frame | 0, backend);
      if (url && !replies[url]) replies[url] = fetchReply(url);
      return parsed;
    });
    return { replies: replies, task: task };
  }

  // [SECTION] Fonts for other scripts: the UI font is Latin; the characters a task's names use
  // beyond it (Cyrillic, Greek, CJK...) come from slices listed in fonts/manifest.json, fetched
  // only when needed. A Latin-only task fetches nothing more.
  function latin(c) {
    return c < 0x250 || (c >= 0x2010 && c <= 0x205E) || (c >= 0x2190 && c <= 0x21FF) || (c >= 0x25A0 && c <= 0x25FF);
  }

  function taskCodePoints(task) {
    var seen = {};
    function scan(text) {
      if (typeof text !== 'string') return;
      for (var i = 0; i < text.length; i++) {
        var c = text.codePointAt(i);
        if (c > 0xFFFF) i++;
        if (!latin(c) && c <= 0xFFFF) seen[c] = true;
      }
    }
    if (task && typeof task === 'object') {
      scan(task.name);
      (Array.isArray(task.labels) ? task.labels : []).forEach(function (l) {
        if (!l || typeof l !== 'object') return;
        scan(l.name);
        (Array.isArray(l.attributes) ? l.attributes : []).forEach(function (a) {
          if (!a || typeof a !== 'object') return;
          scan(a.name);
          if (Array.isArray(a.values)) a.values.forEach(scan);
          scan(a['default']);
        });
      });
    }
    return Object.keys(seen).map(Number);
  }

  var manifest = null; // promise of fonts/manifest.json, once per page
  var fontFiles = {};  // promise of each font file's bytes, once per page

  // The font slices holding these code points: [{ file, bytes }], each file fetched once per page.
  function scriptFontsFor(base, codePoints) {
    var needed = codePoints.filter(function (c) { return !latin(c) && c <= 0xFFFF; });
    if (!needed.length) return Promise.resolve([]);
    if (!manifest) manifest = fetch(assetUrl(base, 'fonts/manifest.json')).then(function (r) { return r.ok ? r.json() : { fonts: [] }; }).catch(function () { return { fonts: [] }; });
    return manifest.then(function (m) {
      var files = [];
      (m.fonts || []).forEach(function (f) {
        var used = needed.some(function (c) { return f.ranges.some(function (r) { return c >= r[0] && c <= r[1]; }); });
        if (used) files.push(f.file);
      });
      return Promise.all(files.map(function (file) {
        if (!fontFiles[file]) fontFiles[file] = fetchBytes(assetUrl(base, 'fonts/' + file), function () {}).catch(function () { return null; });
        return fontFiles[file].then(function (bytes) { return bytes && { file: file, bytes: bytes }; });
      })).then(function (fonts) { return fonts.filter(Boolean); });
    });
  }

  function loadScriptFonts(base, task) {
    var needed = taskCodePoints(task);
    return scriptFontsFor(base, needed).then(function (fonts) {
      return { fonts: fonts, glyphs: needed.length ? String.fromCodePoint.apply(String, needed) : '' };
    });
  }

  // [SECTION] Video: shell/video.js and its demuxer module load only when a task shows a video.
  var videoScript = null; // promise of window.PolymarkVideo, once per page

  function loadVideoScript(base) {
    if (global.PolymarkVideo) return Promise.resolve(global.PolymarkVideo);
    if (!videoScript) {
      videoScript = new Promise(function (resolve, reject) {
        var tag = document.createElement('script');
        tag.src = assetUrl(base, 'video.js');
        tag.async = true;
        tag.onload = function () { resolve(global.PolymarkVideo); };
        tag.onerror = function () { tag.remove(); videoScript = null; reject(PolymarkError('load_failed', 'could not load ' + tag.src)); };
        document.head.appendChild(tag);
      });
    }
    return videoScript;
  }

  // A plain script tag (not a blob) keeps portals with a strict Content-Security-Policy working.
  function loadScript(url, onBytes, size) {
    if (global.createPolymarkModule) return Promise.resolve(global.createPolymarkModule);
    return new Promise(function (resolve, reject) {
      var tag = document.createElement('script');
      tag.src = url;
      tag.async = true;
      tag.onload = function () { onBytes(size); resolve(global.createPolymarkModule); };
      tag.onerror = function () { tag.remove(); reject(PolymarkError('load_failed', 'could not load ' + url)); };
      document.head.appendChild(tag);
    });
  }

  // Loads the module code, the wasm (compiled once) and the UI font, with one progress total.
  function loadShared(base, progress) {
    if (shared) return shared.promise.then(function (s) { progress.done(); return s; });
    var listeners = [progress];
    var loaded = 0;
    var total = 0;
    Object.keys(BUNDLE).forEach(function (k) { total += BUNDLE[k]; });
    function onBytes(n) {
      loaded += n;
      listeners.forEach(function (l) { l.update(loaded, total); });
    }
    var promise = Promise.all([
      loadScript(assetUrl(base, 'polymark_app.js'), onBytes, BUNDLE['polymark_app.js']),
      fetchBytes(assetUrl(base, 'polymark_app.wasm'), onBytes).then(function (bytes) {
        return WebAssembly.compile(bytes).catch(function (e) {
          throw PolymarkError('load_failed', 'polymark_app.wasm could not be compiled: ' + e.message);
        });
      }),
      fetchBytes(assetUrl(base, 'fonts/ui-latin.ttf'), onBytes).catch(function () { return null; }),
    ]).then(function (parts) {
      listeners.forEach(function (l) { l.done(); });
      return { factory: parts[0], wasmModule: parts[1], font: parts[2] };
    });
    shared = { promise: promise };
    promise.catch(function () { shared = null; });
    return promise;
  }

  // [SECTION] Offline start-up: the service worker (sw.js, beside this file) keeps the build, the
  // tasks opened and their media, so the app starts with no network after one online visit
  // (docs/API.md, "Offline start-up"). Registered after `ready`, so it never slows the first load.
  var offlineScopes = {}; // scope URL -> { state, version, error, promise }, once per page
  var persistAsked = false;

  function offlineScope(base, options) {
    return new URL(options.offlineScope || base, location.href).href;
  }

  // The app's own page (same origin, inside the folder polymark.js is served from) registers
  // unless told `offline: false`; any other page only with `offline: true`.
  function offlineWanted(base, options) {
    if (options.offline === false) return false;
    if (options.offline === true) return true;
    var b = new URL(base, location.href);
    return location.origin === b.origin && location.pathname.indexOf(b.pathname) === 0;
  }

  function askWorker(worker, message, timeoutMs) {
    return new Promise(function (resolve, reject) {
      var channel = new MessageChannel();
      var timer = setTimeout(function () { reject(new Error('the service worker did not answer')); }, timeoutMs);
      channel.port1.onmessage = function (e) { clearTimeout(timer); resolve(e.data); };
      worker.postMessage(message, [channel.port2]);
    });
  }

  function whenActive(reg) {
    return new Promise(function (resolve, reject) {
      var worker = reg.installing || reg.waiting || reg.active;
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
    return new Promise(function (resolve) {
      navigator.serviceWorker.addEventListener('controllerchange', function once() {
        navigator.serviceWorker.removeEventListener('controllerchange', once);
        resolve(navigator.serviceWorker.controller);
      });
    });
  }

  // What this page fetched before the worker controlled it (the task, its annotations, images):
  // the worker fetches it again into its caches, keeping what its rules keep.
  function loadedUrls() {
    var urls = [];
    (performance.getEntriesByType ? performance.getEntriesByType('resource') : []).forEach(function (r) {
      if (r.initiatorType === 'fetch' && urls.indexOf(r.name) < 0) urls.push(r.name);
    });
    return urls;
  }

  // auth(url): the headers this mount sends to that URL (its token), for the worker's warm-up.
  function startOffline(base, options, report, auth) {
    var scope = offlineScope(base, options);
    if (offlineScopes[scope]) return offlineScopes[scope];
    var status = offlineScopes[scope] = { state: 'installing', version: null, error: null, scope: scope };
    if (!global.isSecureContext || !navigator.serviceWorker) {
      status.state = 'unsupported';
      status.error = 'service workers need https or localhost; this page is ' + location.protocol + '//' + location.host;
      report('offline_unavailable', status.error, scope);
      return status;
    }
    status.promise = navigator.serviceWorker.register(assetUrl(base, 'sw.js'), { scope: scope, updateViaCache: 'none' })
      .then(function (reg) {
        // Look for a deploy now: Chromium defers its own check while the worker keeps receiving
        // fetches (the sync's polls), and the next load must be the new build.
        reg.update().catch(function () { /* offline: the cached build serves */ });
        return whenActive(reg);
      })
      .then(function (worker) {
        // A scope that does not cover this page: the worker serves other pages, not this one.
        return location.href.indexOf(scope) === 0 ? whenControlled() : worker;
      })
      .then(function (worker) {
        // The task and annotations are fetched again by the worker: with this mount's credentials
        // (kept in the worker's memory for that fetch only; it stores their hash, never them).
        var urls = loadedUrls();
        var headers = {};
        urls.forEach(function (u) { var h = auth ? auth(u) : {}; if (h.Authorization) headers[u] = h; });
        return askWorker(worker, { type: 'polymark-warm', urls: urls, headers: headers }, 60000).then(function () { return worker; });
      })
      .then(function (worker) { return askWorker(worker, { type: 'polymark-version' }, 5000); })
      .then(function (answer) { status.state = 'ready'; status.version = answer.version; }, function (e) {
        status.state = 'failed';
        status.error = String((e && e.message) || e);
        report('offline_unavailable', 'offline start-up is not available: ' + status.error, scope);
      });
    // A tab left open all day still learns of a deploy, so that its next load is the new build.
    setInterval(function () {
      navigator.serviceWorker.getRegistration(scope).then(function (r) { if (r) return r.update(); }).catch(function () {});
    }, 3600 * 1000);
    if (!persistAsked && navigator.storage && navigator.storage.persist) {
      persistAsked = true;
      navigator.storage.persisted().then(function (p) { return p || navigator.storage.persist(); }).catch(function () {});
    }
    return status;
  }

  // Removes this scope's Polymark service worker and its caches. Resolves true if one was there.
  function unregisterOffline(options) {
    options = options || {};
    if (!global.navigator || !navigator.serviceWorker) return Promise.resolve(false);
    var base = options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href;
    var scope = offlineScope(base, options);
    var scopePath = new URL(scope).pathname;
    delete offlineScopes[scope];
    return navigator.serviceWorker.getRegistration(scope).then(function (reg) {
      var worker = reg && (reg.active || reg.waiting || reg.installing);
      var ours = reg && reg.scope === scope && worker && worker.scriptURL === assetUrl(base, 'sw.js');
      // The worker keeps serving this page until it unloads: it stops caching first.
      var retire = ours && reg.active ? askWorker(reg.active, { type: 'polymark-retire' }, 2000).catch(function () {}) : Promise.resolve();
      return retire.then(function () { return ours ? reg.unregister() : false; }).then(function (removed) {
        if (!global.caches) return !!removed;
        return caches.keys().then(function (names) {
          return Promise.all(names.filter(function (n) { return n.indexOf('polymark:') === 0 && n.slice(-(scopePath.length + 1)) === '@' + scopePath; })
            .map(function (n) { return caches.delete(n); }));
        }).then(function () { return !!removed; });
      });
    });
  }

  // {usage, quota, persisted} of this origin's storage, and the offline state of this scope.
  function storageReport(base, options) {
    var st = global.navigator && navigator.storage;
    var status = offlineScopes[offlineScope(base, options)];
    return Promise.all([
      st && st.estimate ? st.estimate().catch(function () { return {}; }) : {},
      st && st.persisted ? st.persisted().catch(function () { return false; }) : false,
      // The build the worker controlling this page has now (a deploy may have replaced it).
      status && status.state === 'ready' && navigator.serviceWorker.controller
        ? askWorker(navigator.serviceWorker.controller, { type: 'polymark-version' }, 2000).then(function (a) { return a.version; }, function () { return status.version; })
        : status && status.version,
    ]).then(function (parts) {
      if (status && parts[2]) status.version = parts[2];
      return {
        usage: parts[0].usage === undefined ? null : parts[0].usage,
        quota: parts[0].quota === undefined ? null : parts[0].quota,
        persisted: !!parts[1],
        offline: status ? { state: status.state, version: status.version, error: status.error } : { state: 'off', version: null, error: null },
      };
    });
  }

  // [SECTION] Sync (docs/API.md, "Sync"). The engine (shared/polymark/sync.hpp) decides; this
  // page stores its journal in IndexedDB (one record per key, never IDBFS: two tabs would clobber
  // each other's files), keeps one writer per task across tabs with Web Locks, and performs its
  // requests with timeouts, driven by timers (animation frames stop in hidden tabs).
  var SYNC_DB = 'polymark-sync';
  var SYNC_TICK_MS = 250;
  var syncDb = null; // promise of the database, once per page

  function openSyncDb() {
    if (syncDb) return syncDb;
    syncDb = new Promise(function (resolve, reject) {
      if (!global.indexedDB) return reject(new Error('this browser has no IndexedDB'));
      var req = indexedDB.open(SYNC_DB, 1);
      req.onupgradeneeded = function () {
        var db = req.result;
        // journal: [task key, record key] -> record text; devices: task key -> device id
        if (!db.objectStoreNames.contains('journal')) db.createObjectStore('journal');
        if (!db.objectStoreNames.contains('devices')) db.createObjectStore('devices');
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error || new Error('IndexedDB could not be opened')); };
      req.onblocked = function () { reject(new Error('IndexedDB is blocked by another tab')); };
    });
    syncDb.catch(function () { syncDb = null; });
    return syncDb;
  }

  function journalRange(taskKey) { return IDBKeyRange.bound([taskKey], [taskKey, []]); }

  function newDeviceId() {
    var bytes = new Uint8Array(9);
    crypto.getRandomValues(bytes);
    return 'web.' + Array.from(bytes, function (b) { return (b % 36).toString(36); }).join('');
  }

  // This browser's device id for the task (made once, kept beside the journal) and the
  // journal's record texts.
  function readJournal(taskKey) {
    return openSyncDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(['journal', 'devices'], 'readwrite');
        var out = { deviceId: null, records: [] };
        var devices = tx.objectStore('devices');
        devices.get(taskKey).onsuccess = function (e) {
          out.deviceId = e.target.result;
          if (typeof out.deviceId !== 'string') { out.deviceId = newDeviceId(); devices.put(out.deviceId, taskKey); }
        };
        tx.objectStore('journal').getAll(journalRange(taskKey)).onsuccess = function (e) { out.records = e.target.result.filter(function (t) { return typeof t === 'string'; }); };
        tx.oncomplete = function () { resolve(out); };
        tx.onerror = tx.onabort = function () { reject(tx.error || new Error('the journal could not be read')); };
      });
    });
  }

  // Puts before deletes, in one transaction; resolves once it is committed to disk.
  function writeJournal(taskKey, batch) {
    return openSyncDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx;
        try { tx = db.transaction('journal', 'readwrite', { durability: 'strict' }); } catch (e) { tx = db.transaction('journal', 'readwrite'); }
        var store = tx.objectStore('journal');
        (batch.put || []).forEach(function (r) { store.put(r.text, [taskKey, r.key]); });
        (batch['delete'] || []).forEach(function (key) { store['delete']([taskKey, key]); });
        tx.oncomplete = function () { resolve(); };
        tx.onerror = tx.onabort = function () { reject(tx.error || new Error('the journal could not be written')); };
      });
    });
  }

  // Calls granted() once this page holds the task's writer lock; waiting() first when another
  // tab holds it. Returns a function that releases the lock (or stops waiting).
  function lockTask(name, granted, waiting) {
    if (!global.navigator || !navigator.locks) { granted(); return function () {}; }
    var release = null;
    var stopped = false;
    var controller = new AbortController();
    function hold() {
      if (stopped) return undefined;
      granted();
      return new Promise(function (r) { release = r; });
    }
    navigator.locks.request(name, { ifAvailable: true }, function (lock) {
      if (lock) return hold();
      if (stopped) return undefined;
      waiting();
      navigator.locks.request(name, { signal: controller.signal }, hold).catch(function () {});
      return undefined;
    }).catch(function () {});
    return function () { stopped = true; controller.abort(); if (release) release(); };
  }

  // The sync settings of a mount: null when the task is not the backend's or sync is off.
  function syncSettings(options) {
    if (options.annotations || options.sync === false) return null;
    if (!options.profile && (!options.task || options.taskObject)) return null;
    var s = options.sync && typeof options.sync === 'object' ? options.sync : {};
    var out = {};
    ['debounceMs', 'maxDelayMs', 'timeoutMs', 'backoffBaseMs', 'backoffMaxMs', 'catchupIntervalMs'].forEach(function (k) {
      if (typeof s[k] === 'number' && isFinite(s[k]) && s[k] >= 0) out[k] = s[k];
    });
    out.userId = typeof options.user === 'string' && options.user ? options.user : 'anonymous';
    return out;
  }

  // The `profile` mount option: a built-in name (fetched from the build's profiles/), a URL, or
  // the profile itself. Checked by the core when the module starts (docs/PROFILES.md).
  function loadProfile(base, profile) {
    if (profile === undefined || profile === null) return Promise.resolve(null);
    if (typeof profile === 'object') return Promise.resolve(profile);
    if (typeof profile !== 'string' || !profile) return Promise.reject(PolymarkError('bad_options', 'options.profile must be a profile name, a URL or a profile object'));
    var url = /^[a-z][a-z0-9-]*$/.test(profile) ? base + 'profiles/' + profile + '.json' : new URL(profile, document.baseURI).href;
    return fetch(url).then(function (r) {
      if (!r.ok) throw PolymarkError('bad_profile', 'the backend profile ' + JSON.stringify(profile) + ' could not be fetched from ' + url + ' (HTTP ' + r.status + ')');
      return r.json().catch(function () { throw PolymarkError('bad_profile', 'the backend profile at ' + url + ' is not JSON'); });
    }, function (e) {
      throw PolymarkError('bad_profile', 'the backend profile ' + JSON.stringify(profile) + ' could not be fetched from ' + url + ': ' + ((e && e.message) || e));
    });
  }

  function el(tag, style, text) {
    var node = document.createElement(tag);
    if (style) node.style.cssText = style;
    if (text) node.textContent = text;
    return node;
  }

  function mount(element, options) {
    options = options || {};
    if (typeof element === 'string') element = document.querySelector(element);
    if (!element || !element.appendChild) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs a DOM element to mount into'));
    if (!options.task && !options.taskObject) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs options.task (a task id) or options.taskObject'));
    if (typeof global.WebGL2RenderingContext === 'undefined') {
      return Promise.reject(PolymarkError('webgl2_unavailable', 'This browser has no WebGL2, which Polymark needs to draw. Use a current Chrome, Edge, Firefox or Safari, or enable hardware acceleration.'));
    }
    var base = options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href;
    var id = ++instances;
    var listeners = {};
    EVENTS.forEach(function (n) { listeners[n] = []; });
    var destroyed = false;
    var ready = false;
    var M = null;
    var cleanups = [];
    var prefetched = prefetchStart(options);
    var scriptFonts = prefetched.task.then(function (task) { return loadScriptFonts(base, task); });

    // [SECTION] Sync: the writer lock is asked for and the journal read while the module loads,
    // so the engine restores it before the first edit. Calls into the module wait until its
    // main() runs (the factory resolves before it).
    var sync = syncSettings(options);
    var token = typeof options.token === 'string' ? options.token : '';
    var taskId = options.task || (options.taskObject && options.taskObject.id) || '';
    var syncTaskKey = !sync ? '' : new URL(apiUrl(options.backend || '', '/api/tasks/' + encodeURIComponent(taskId)), document.baseURI).href +
      (options.profile ? '#profile=' + (typeof options.profile === 'string' ? options.profile : options.profile.name) : '');
    var profileSetup = loadProfile(base, options.profile);
    var syncRunning = false;
    var syncQueue = [];
    var syncFetches = [];
    var releaseLock = function () {};
    function whenRunning(fn) {
      if (syncRunning && M && !destroyed) fn();
      else syncQueue.push(fn);
    }
    function syncCall(method, args) {
      if (destroyed || !M || !syncRunning) return;
      try { call(method, args); } catch (e) { /* a stopped instance: nothing to tell */ }
    }
    // An async result for the module's inbox: deliver(M, ...texts as C strings valid during the call).
    function toModule(deliver, texts) {
      if (destroyed || !M || !syncRunning) return;
      var ptrs = [];
      try {
        (texts || []).forEach(function (t) { var n = M.lengthBytesUTF8(t) + 1; var p = M._malloc(n); M.stringToUTF8(t, p, n); ptrs.push(p); });
        deliver.apply(null, [M].concat(ptrs));
        ptrs.forEach(function (p) { M._free(p); });
      } catch (e) { /* a stopped instance: nothing to tell */ }
    }
    var syncSetup = !sync ? Promise.resolve(null) : new Promise(function (resolve) {
      var started = false;
      releaseLock = lockTask('polymark-sync:' + syncTaskKey, function () {
        readJournal(syncTaskKey).catch(function (e) {
          emitOnceListening('error', { code: 'journal_failed', message: 'the sync journal could not be read: ' + ((e && e.message) || e), where: 'indexedDB', fatal: false });
          return { deviceId: newDeviceId(), records: [] };
        }).then(function (j) {
          if (!started) {
            started = true;
            sync.deviceId = j.deviceId;
            sync.journal = j.records;
            return resolve(sync);
          }
          whenRunning(function () { toModule(function (m, records, device) { m._pm_sync_journal_read(records, device); }, [JSON.stringify(j.records), j.deviceId]); });
        });
      }, function () {
        // Another tab of this task holds the lock: read-only here until it closes.
        started = true;
        sync.deviceId = newDeviceId();
        sync.journal = null;
        resolve(sync);
      });
    });
    function syncRequest(r) {
      var controller = new AbortController();
      var timedOut = false;
      var timer = setTimeout(function () { timedOut = true; controller.abort(); }, Math.max(1, r.timeoutMs));
      syncFetches.push(controller);
      function done(deliver, texts) {
        clearTimeout(timer);
        var i = syncFetches.indexOf(controller);
        if (i >= 0) syncFetches.splice(i, 1);
        toModule(deliver, texts);
      }
      var init = { method: r.method, headers: r.headers, signal: controller.signal, credentials: 'same-origin', cache: 'no-store' };
      // keepalive lets a save started by pagehide finish after the page is gone (bodies < 64 KB).
      if (r.method !== 'GET') { init.body = r.body; if (r.body.length < 60000) init.keepalive = true; }
      fetch(r.url, init).then(function (response) {
        return response.text().then(function (text) { done(function (m, body) { m._pm_sync_reply(r.seq, response.status, body); }, [text]); });
      }).catch(function () { done(function (m) { m._pm_sync_failure(r.seq, timedOut ? 1 : 0); }); });
    }
    function syncJournal(batch) {
      writeJournal(syncTaskKey, batch).then(function () { toModule(function (m, message) { m._pm_sync_journal_written(1, message); }, ['']); },
        function (e) { toModule(function (m, message) { m._pm_sync_journal_written(0, message); }, [String((e && e.message) || e)]); });
    }
    if (sync) {
      var syncTimer = setInterval(function () { toModule(function (m) { m._pm_sync_tick(); }); }, SYNC_TICK_MS);
      cleanups.push(function () {
        clearInterval(syncTimer);
        releaseLock();
        syncFetches.forEach(function (c) { c.abort(); });
        syncFetches = [];
      });
      // Send what is pending when the page goes away or out of sight; fetch news when it is back.
      listen(document, 'visibilitychange', function () {
        if (document.visibilityState === 'hidden') syncCall('flush');
        else toModule(function (m) { m._pm_sync_catchup(); });
      });
      listen(global, 'pagehide', function () { syncCall('flush'); });
      listen(global, 'online', function () { syncCall('flush'); });
    }

    // [SECTION] DOM: a wrapper filling the element, the canvas, an overlay for loading and errors
    var wrapper = el('div', 'position:relative;width:100%;height:100%;min-height:120px;overflow:hidden;background:#26282c;');
    wrapper.className = 'polymark';
    var canvas = el('canvas', 'display:block;position:absolute;left:0;top:0;width:100%;height:100%;outline:none;touch-action:none;');
    canvas.id = 'polymark-canvas-' + id;
    canvas.tabIndex = 0;
    canvas.setAttribute('aria-label', 'Polymark annotation canvas');
    canvas.oncontextmenu = function (e) { e.preventDefault(); };
    var overlay = el('div', 'position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:10px;font:14px system-ui,sans-serif;color:#ddd;background:#26282c;');
    var label = el('div', '', 'Loading Polymark…');
    var bar = el('div', 'width:min(320px,70%);height:6px;border-radius:3px;background:#44474d;overflow:hidden;');
    var fill = el('div', 'width:0%;height:100%;background:#4f9cf9;transition:width 80ms linear;');
    bar.appendChild(fill);
    overlay.appendChild(label);
    overlay.appendChild(bar);
    wrapper.appendChild(canvas);
    wrapper.appendChild(overlay);
    element.appendChild(wrapper);

    function showMessage(title, text) {
      overlay.style.display = 'flex';
      overlay.style.background = 'rgba(30,31,34,0.92)';
      overlay.textContent = '';
      overlay.appendChild(el('div', 'font-weight:600;color:#ff9c8a;', title));
      overlay.appendChild(el('div', 'max-width:80%;text-align:center;line-height:1.4;', text));
    }

    function listen(target, name, fn, opts) {
      target.addEventListener(name, fn, opts);
      cleanups.push(function () { target.removeEventListener(name, fn, opts); });
    }

    function emit(name, detail) {
      (listeners[name] || []).slice().forEach(function (fn) {
        try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }
    // Events found while mounting (a video's warning) wait until the host could listen: just
    // after the mount promise resolves.
    var heldEvents = [];
    var trackingWaiters = [];  // trackForward() promises, settled by the run's last `tracking` event
    // [SECTION] Tracking in a Web Worker (shell/track_worker.js): the app hands over a job
    // (PlatformPort::start_tracking_worker); this page reads its frames a few ahead (video: the
    // decoder's luma plane; images: decoded here) and transfers them; the worker tracks; its
    // progress and what it wrote go back to the app's inbox (_pm_tracking_progress, _pm_tracking_done).
    // Objects are shared out over workers, one core left for the page (its decoding, drawing and
    // input): one worker on two cores, up to three on four or more. Every worker gets every frame
    // it needs. (Measured on two cores: a second worker only starved the decoder.)
    var tracker = null;  // {spec, asked: Set, parts: [{worker, ids, next, status, done}]}
    var trackWorkers = [];  // kept across runs: each loads the module once
    var TRACK_READ_AHEAD = 12;
    function trackerWorker(i) {
      if (trackWorkers[i]) return trackWorkers[i];
      // A worker script must be same-origin: a tiny one made here loads ours from wherever
      // polymark.js came from (importScripts may cross origins).
      var boot = 'importScripts(' + JSON.stringify(new URL('track_worker.js', base).href) + ');';
      trackWorkers[i] = new Worker(URL.createObjectURL(new Blob([boot], { type: 'text/javascript' })));
      return trackWorkers[i];
    }
    function trackStart(spec) {
      var count = Math.max(1, Math.min(3, spec.ids.length, ((navigator.hardwareConcurrency | 0) || 2) - 1));
      var t = { spec: spec, asked: new Set(), parts: [] };
      try {
        for (var i = 0; i < count; i++) t.parts.push({ worker: trackerWorker(i), ids: [], next: spec.start, status: null, done: null });
      } catch (e) { return false; }
      spec.ids.forEach(function (id, k) { t.parts[k % count].ids.push(id); });
      tracker = t;
      t.parts.forEach(function (part) {
        part.worker.onmessage = function (e) { trackMessage(t, part, e.data); };
        part.worker.onerror = function (e) {
          trackMessage(t, part, { type: 'started', ok: false, errors: [{ message: 'the tracking worker stopped: ' + (e.message || 'unknown error') }] });
        };
        part.worker.postMessage({ type: 'start', spec: Object.assign({}, spec, { ids: part.ids, idPrefix: spec.idPrefix + t.parts.indexOf(part) + '.' }),
          moduleUrl: new URL('polymark_tracker.js', base).href });
      });
      return true;
    }
    // The parts' statuses as one, objects in the order the app gave them.
    function trackMerged(t, state) {
      var st = t.parts.map(function (p) { return (p.done && p.done.status) || p.status || {}; });
      var objects = [];
      t.spec.ids.forEach(function (id) {
        st.forEach(function (s) { (s.objects || []).forEach(function (o) { if (o.id === id) objects.push(o); }); });
      });
      var num = function (k, f) { return st.map(function (s) { return s[k] || 0; }).reduce(function (a, b) { return f(a, b); }); };
      return { state: state, startFrame: t.spec.start, lastFrame: t.spec.lastFrame, progress: num('progress', Math.min),
        framesTracked: num('framesTracked', Math.max), objects: objects, trackingMs: num('trackingMs', Math.max), waitingMs: num('waitingMs', Math.max), workers: t.parts.length };
    }
    function trackMessage(t, part, m) {
      if (tracker !== t || destroyed) return;
      if (m.type === 'started') {
        if (!m.ok) {
          tracker = null;
          t.parts.forEach(function (p) { if (p !== part) p.worker.postMessage({ type: 'cancel' }); });
          return toModule(function (mod, status, written) { mod._pm_tracking_done(status, written); },
            [JSON.stringify({ state: 'failed', message: (m.errors || []).map(function (x) { return x.message; }).join('; ') }), '[]']);
        }
        part.status = m.status;
        part.next = m.next;
        trackRead(t);
      } else if (m.type === 'fed') {
        part.next = m.next;
        trackRead(t);
      } else if (m.type === 'status') {
        part.status = m.status;
        toModule(function (mod, status) { mod._pm_tracking_progress(status); }, [JSON.stringify(trackMerged(t, 'running'))]);
      } else if (m.type === 'done') {
        part.done = m;
        part.next = -1;
        if (t.parts.some(function (p) { return !p.done; })) return trackRead(t);
        tracker = null;
        var cancelled = t.parts.some(function (p) { return p.done.status && p.done.status.state === 'cancelled'; });
        var written = [].concat.apply([], t.parts.map(function (p) { return p.done.written || []; }));
        toModule(function (mod, status, text) { mod._pm_tracking_done(status, text); }, [JSON.stringify(trackMerged(t, cancelled ? 'cancelled' : 'done')), JSON.stringify(written)]);
      }
    }
    // Where task frame f is: the media item and the frame inside it.
    function trackLocate(t, f) {
      var media = t.spec.media;
      for (var i = 0; i < media.length; i++) {
        if (f >= media[i].first && f < media[i].first + media[i].frames) return { media: media[i], local: f - media[i].first };
      }
      return null;
    }
    // Reads ahead of the slowest worker; each frame read once, sent to every worker still before it.
    function trackRead(t) {
      var running = t.parts.filter(function (p) { return p.next >= 0; });
      if (!running.length) return;
      var from = Math.min.apply(null, running.map(function (p) { return p.next; }));
      for (var f = from; f <= Math.min(t.spec.lastFrame, from + TRACK_READ_AHEAD); f++) {
        if (t.asked.has(f)) continue;
        t.asked.add(f);
        (function (frame) {
          var where = trackLocate(t, frame);
          var read = !where ? Promise.reject(new Error('frame ' + (frame + 1) + ' is outside the task'))
            : where.media.type === 'video' ? openVideo(where.media.url).then(function (s) { return s.readLuma(where.local); })
            : decodeImageForTracking(where.media.url);
          read.then(function (r) {
            if (tracker !== t) return;
            var to = t.parts.filter(function (p) { return p.next >= 0 && p.next <= frame; });
            to.forEach(function (p, k) {
              var last = k === to.length - 1;
              var pixels = last ? r.pixels : r.pixels.slice();
              p.worker.postMessage({ type: 'frame', frame: frame, width: r.width, height: r.height, channels: r.channels, pixels: pixels }, [pixels.buffer]);
            });
          }, function (e) {
            if (tracker !== t) return;
            t.parts.forEach(function (p) { if (p.next >= 0 && p.next <= frame) p.worker.postMessage({ type: 'failed', frame: frame, reason: String((e && e.message) || e) }); });
          });
        })(f);
      }
    }
    function decodeImageForTracking(url) {
      return fetch(url, { credentials: 'same-origin' }).then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + url);
        return r.blob();
      }).then(function (blob) {
        return createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
      }).then(function (bitmap) {
        var c = new OffscreenCanvas(bitmap.width, bitmap.height);
        var g = c.getContext('2d', { willReadFrequently: true });
        g.drawImage(bitmap, 0, 0);
        var data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
        bitmap.close();
        return { width: c.width, height: c.height, channels: 4, pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
      });
    }
    function trackCancel() { if (tracker) tracker.parts.forEach(function (p) { p.worker.postMessage({ type: 'cancel' }); }); }
    cleanups.push(function () { trackWorkers.forEach(function (w) { w.terminate(); }); trackWorkers = []; tracker = null; });
    function emitOnceListening(name, detail) {
      if (ready) emit(name, detail);
      else heldEvents.push([name, detail]);
    }

    // Canvas focus: SDL cancels mousedown's default, so a click would never focus the canvas.
    // While a text field is edited the focus stays on the input-method element.
    listen(canvas, 'pointerdown', function () {
      if (document.activeElement !== canvas && document.activeElement !== ime) canvas.focus({ preventScroll: true });
    });

    // [SECTION] Text entry beyond SDL: OS paste and input methods (CJK typing). SDL hears keys on
    // the wrapper, so they reach it from the canvas and from `ime`, a textarea that holds the
    // focus while ImGui edits text and is placed over the field, where the input method shows its
    // composition. Composed and pasted text goes to the field through _pm_insert_text.
    var ime = el('textarea', 'position:absolute;left:0;top:0;width:1px;height:1px;padding:0 2px;margin:0;border:0;outline:1px solid #4f9cf9;resize:none;overflow:hidden;white-space:pre;opacity:0;z-index:1;pointer-events:none;color:#fff;background:#1d1f22;font:15px system-ui,sans-serif;');
    ime.setAttribute('autocomplete', 'off');
    ime.setAttribute('autocorrect', 'off');
    ime.setAttribute('autocapitalize', 'off');
    ime.setAttribute('spellcheck', 'false');
    ime.setAttribute('aria-label', 'Polymark text entry');
    ime.id = 'polymark-ime-' + id;
    wrapper.appendChild(ime);
    var composing = false;

    function insertText(text) {
      if (!text || !M) return;
      var size = M.lengthBytesUTF8(text) + 1;
      var ptr = M._malloc(size);
      M.stringToUTF8(text, ptr, size);
      M._pm_insert_text(ptr);
      M._free(ptr);
    }
    function showComposition(on) {
      composing = on;
      ime.style.opacity = on ? '1' : '0';
      ime.style.width = on ? Math.max(4, ime.scrollWidth + 4) + 'px' : '1px';
    }
    function placeTextInput(visible, x, y, lineHeight) {
      if (visible) {
        ime.style.left = x + 'px';
        ime.style.top = y + 'px';
        ime.style.height = Math.max(1, lineHeight) + 'px';
        ime.style.lineHeight = Math.max(1, lineHeight) + 'px';
        if (document.activeElement === canvas) ime.focus({ preventScroll: true });
      } else {
        if (composing) { ime.value = ''; showComposition(false); }
        if (document.activeElement === ime) canvas.focus({ preventScroll: true });
      }
    }
    listen(wrapper, 'keydown', function (e) {
      // Keys that belong to a composition are the input method's, not SDL's (which would cancel
      // Backspace and arrows); Ctrl+V is left to the browser so that its paste event brings the text.
      var paste = (e.ctrlKey || e.metaKey) && (e.key === 'v' || e.key === 'V');
      if (e.isComposing || e.keyCode === 229 || (paste && M && M._pm_wants_text())) e.stopImmediatePropagation();
    }, true);
    listen(wrapper, 'paste', function (e) {
      if (!M || !M._pm_wants_text()) return;
      e.preventDefault();
      insertText((e.clipboardData && e.clipboardData.getData('text/plain')) || '');
    });
    listen(ime, 'compositionstart', function () { showComposition(true); });
    listen(ime, 'compositionupdate', function () { setTimeout(function () { if (composing) showComposition(true); }); });
    listen(ime, 'compositionend', function (e) {
      var text = ime.value || e.data || '';
      ime.value = '';
      showComposition(false);
      insertText(text);
    });
    // Text that arrives without key events (virtual keyboards, emoji pickers, dictation).
    listen(ime, 'input', function (e) {
      if (composing || e.isComposing || !ime.value) return;
      var text = ime.value;
      ime.value = '';
      insertText(text);
    });

    // Characters typed or loaded that the font atlas lacks: fetch the slices holding them.
    var fontsGiven = {};
    function addGlyphs(codePoints, bytes) {
      if (destroyed || !M) return;
      var cps = M._malloc(Math.max(4, codePoints.length * 4));
      M.HEAPU32.set(codePoints, cps >> 2);
      var font = 0;
      if (bytes) { font = M._malloc(bytes.length); M.HEAPU8.set(bytes, font); }
      M._pm_add_glyphs(cps, codePoints.length, font, bytes ? bytes.length : 0);
      M._free(cps);
    }
    function needGlyphs(codePoints) {
      scriptFontsFor(base, codePoints).then(function (fonts) {
        var added = false;
        fonts.forEach(function (f) {
          if (fontsGiven[f.file]) return;
          fontsGiven[f.file] = true;
          addGlyphs(added ? [] : codePoints, f.bytes);
          added = true;
        });
        if (!added) addGlyphs(codePoints, null);
      });
    }
    listen(canvas, 'webglcontextlost', function (e) {
      e.preventDefault();
      showMessage('The graphics context was lost', 'The browser took the GPU away from this page. Your labels are kept: getAnnotations() still works. Reload to continue drawing.');
      emit('error', { code: 'webgl_context_lost', message: 'the WebGL2 context was lost', where: 'canvas', fatal: false });
    });

    var instance = {
      getAnnotations: function () { return call('getAnnotations'); },
      setAnnotations: function (doc) {
        if (doc === null || typeof doc !== 'object') throw PolymarkError('invalid_document', 'setAnnotations needs an annotation document object');
        call('setAnnotations', doc);
      },
      getView: function () { return call('getView'); },
      setFrame: function (frame) { call('setFrame', frame); },
      fit: function () { call('fit'); },
      setView: function (view) { return call('setView', view); },
      setImageAdjust: function (adjust) { return call('setImageAdjust', adjust); },
      takeFrameTimes: function () { return call('takeFrameTimes'); },
      missingGlyphs: function (text) { return call('missingGlyphs', String(text)); },
      getTask: function () { return call('getTask'); },
      undo: function () { return call('undo'); },
      redo: function () { return call('redo'); },
      getHistory: function () { return call('getHistory'); },
      setTool: function (tool, label, opts) {
        var track = opts && typeof opts === 'object' && 'track' in opts ? opts.track : null;
        return call('setTool', { tool: tool, label: label === undefined ? null : label, track: track });
      },
      getFrameState: function (frame) { return call('getFrameState', frame); },
      // Diagnostics for tests and benchmarks: the decoder's counters of each open video.
      getVideoStats: function () {
        return Promise.all(Object.keys(videos).map(function (url) {
          return videos[url].then(function (s) { var st = s.stats(); st.url = url; st.frameCount = s.frameCount; return st; }, function () { return null; });
        })).then(function (all) { return all.filter(Boolean); });
      },
      getTool: function () { return call('getTool'); },
      getSelection: function () { return call('getSelection'); },
      getSyncStatus: function () { return call('getSyncStatus'); },
      // Resolves with the run's outcome when it ends (done, cancelled); rejects when it cannot start.
      trackForward: function (opts) {
        var started;
        try { started = call('trackForward', opts === undefined ? null : opts); } catch (e) { return Promise.reject(e); }
        return new Promise(function (res) {
          if (started.state !== 'running') return res(started);
          trackingWaiters.push(res);
        });
      },
      cancelTracking: function () { return call('cancelTracking'); },
      getTracking: function () { return call('getTracking'); },
      // Diagnostics for tests: stops the wasm instance as a crash would (it then remounts).
      debugAbort: function () { try { call('debugAbort'); } catch (e) { /* the abort itself */ } },
      flush: function () { return call('flush'); },
      setToken: function (t) {
        if (typeof t !== 'string') throw PolymarkError('bad_argument', 'setToken needs a string');
        token = t;
        whenRunning(function () { syncCall('setToken', t); });
      },
      resolveConflict: function (id, choice) { return call('resolveConflict', { id: String(id), choice: choice }); },
      resolveAllConflicts: function (choice) { return call('resolveConflict', { id: '', all: true, choice: choice }); },
      // Changes the server refused for their content (docs/API.md, "Sync"); ids: one id, a list, or none (all).
      retrySetAside: function (ids) { return call('retrySetAside', { ids: ids === undefined || ids === null ? null : [].concat(ids).map(String) }); },
      discardSetAside: function (ids) { return call('discardSetAside', { ids: ids === undefined || ids === null ? null : [].concat(ids).map(String) }); },
      getStorage: function () { return storageReport(base, options); },
      unregisterOffline: function () { return unregisterOffline(options); },
      select: function (ids) { return call('select', ids); },
      on: function (name, fn) { checkEvent(name, fn); listeners[name].push(fn); return instance; },
      off: function (name, fn) {
        checkEvent(name, fn);
        var i = listeners[name].indexOf(fn);
        if (i >= 0) listeners[name].splice(i, 1);
        return instance;
      },
      destroy: destroy,
      get canvas() { return canvas; },
      get destroyed() { return destroyed; },
    };

    function checkEvent(name, fn) {
      if (EVENTS.indexOf(name) < 0) throw PolymarkError('bad_event', 'unknown event "' + name + '"; events are ' + EVENTS.join(', '));
      if (typeof fn !== 'function') throw PolymarkError('bad_listener', 'a listener for "' + name + '" must be a function');
    }

    function call(method, args) {
      if (destroyed) throw PolymarkError('destroyed', 'this Polymark instance was destroyed');
      if (!M) throw PolymarkError('not_ready', 'Polymark is still loading');
      var argText = '';
      try {
        if (args !== undefined) argText = JSON.stringify(args);
      } catch (e) {  // a cycle, or nesting past the engine's stack: the data's fault, not a crash
        throw PolymarkError(method === 'setAnnotations' ? 'invalid_document' : 'bad_argument',
          method + ': the argument cannot be written as JSON (' + ((e && e.message) || e) + '); docs/SCHEMA.md section 12 limits nesting to 64 levels');
      }
      var mLen = M.lengthBytesUTF8(method) + 1;
      var aLen = M.lengthBytesUTF8(argText) + 1;
      var mPtr = M._malloc(mLen);
      var aPtr = M._malloc(aLen);
      M.stringToUTF8(method, mPtr, mLen);
      M.stringToUTF8(argText, aPtr, aLen);
      var reply;
      try {
        reply = JSON.parse(M.UTF8ToString(M._pm_call(mPtr, aPtr)));
      } finally {
        M._free(mPtr);
        M._free(aPtr);
      }
      if (!reply.ok) {
        var first = reply.errors[0];
        var code = method === 'setAnnotations' ? 'invalid_document' : first.code;
        var where = first.path ? ' (at ' + first.path + ')' : '';
        var more = reply.errors.length > 1 ? ' (and ' + (reply.errors.length - 1) + ' more)' : '';
        throw PolymarkError(code, first.message + (first.message.indexOf(first.path) >= 0 ? '' : where) + more, reply.errors);
      }
      return reply.value;
    }

    // This instance's open videos, by URL: one decoder and frame cache each.
    var videos = {};
    function openVideo(url) {
      if (!videos[url]) {
        videos[url] = loadVideoScript(base).then(function (PV) {
          var settings = { assetsUrl: base, forceElement: !!options.videoElement };
          if (options.videoMemoryCapBytes > 0) settings.memoryCapBytes = options.videoMemoryCapBytes;
          return PV.open(new URL(url, document.baseURI).href, settings);
        }).then(function (source) {
          // A file cut short still shows the frames before the cut: said once, not fatal.
          source.warnings.forEach(function (w) { emitOnceListening('error', { code: w.code, message: w.message, where: url, fatal: false }); });
          return source;
        });
        videos[url].catch(function () { delete videos[url]; }); // a failed open is retried on the next frame asked
      }
      return videos[url];
    }
    cleanups.push(function () {
      Object.keys(videos).forEach(function (url) { videos[url].then(function (s) { s.close(); }, function () {}); });
      videos = {};
    });

    // After an abort: this instance object stays the host's handle, now driving a fresh mount of
    // the same options in the same element; the host's listeners move over to it.
    function remount() {
      if (destroyed) return;
      var kept = {};
      EVENTS.forEach(function (n) { kept[n] = listeners[n].slice(); });
      destroy();
      var again = Object.assign({}, options, { _remounts: (options._remounts | 0) + 1 });
      mount(element, again).then(adopt, function (e) { if (e && e.instance) adopt(e.instance); });
      function adopt(fresh) {
        Object.keys(fresh).forEach(function (k) {
          var d = Object.getOwnPropertyDescriptor(fresh, k);
          if (typeof d.value === 'function') instance[k] = d.value;
          else if (d.get) Object.defineProperty(instance, k, { get: d.get, configurable: true, enumerable: true });
        });
        EVENTS.forEach(function (n) { kept[n].forEach(function (fn) { fresh.on(n, fn); }); });
      }
    }

    function destroy() {
      if (destroyed) return;
      destroyed = true;
      // A run dies with its instance: what it wrote never became a command.
      trackingWaiters.forEach(function (res) { res({ state: 'stopped', objects: [], written: false }); });
      trackingWaiters = [];
      if (M) {
        try { M._pm_destroy(); } catch (e) { /* an aborted instance has nothing left to stop */ }
        M.polymarkDestroyed = true;
      }
      var gl = canvas.getContext('webgl2');
      var lose = gl && gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      cleanups.forEach(function (fn) { fn(); });
      cleanups = [];
      wrapper.remove();
      EVENTS.forEach(function (n) { listeners[n] = []; });
      M = null;
    }

    // Offline start-up once the first image is on screen; errors are events, never thrown.
    function offlineAfterReady() {
      if (destroyed) return;
      var report = function (code, message, where) { emit('error', { code: code, message: message, where: where, fatal: false }); };
      try {
        if (offlineWanted(base, options)) startOffline(base, options, report, function (url) { return authHeaders(options, token, url); });
        else if (options.offline === false) unregisterOffline(options).catch(function (e) { report('offline_unavailable', String((e && e.message) || e), 'sw.js'); });
      } catch (e) {
        report('offline_unavailable', String((e && e.message) || e), 'sw.js');
      }
    }

    // [SECTION] Start: shared bytes, then this instance's module
    return new Promise(function (resolve, reject) {
      var settled = false;
      function fail(error) {
        if (settled) return;
        settled = true;
        showMessage('Polymark could not start', error.message);
        reject(error);
      }
      var progress = {
        update: function (loaded, total) {
          var pct = total ? Math.min(100, (100 * loaded) / total) : 0;
          fill.style.width = pct.toFixed(1) + '%';
          label.textContent = 'Loading Polymark… ' + Math.round(loaded / 1024) + (total ? ' of ' + Math.round(total / 1024) : '') + ' KB';
        },
        done: function () { fill.style.width = '100%'; label.textContent = 'Opening the task…'; },
      };
      Promise.all([loadShared(base, progress), scriptFonts, syncSetup, profileSetup]).then(function (parts) {
        var s = parts[0];
        if (destroyed) return fail(PolymarkError('destroyed', 'destroyed before it finished loading'));
        var rect = wrapper.getBoundingClientRect();
        var module = {
          canvas: canvas,
          polymarkOptions: {
            backend: options.backend || '',
            task: options.task || '',
            taskObject: options.taskObject || null,
            annotations: options.annotations || null,
            frame: options.frame | 0,
            sync: parts[2],
            profile: parts[3],
            profileContext: options.profileContext || null,
            token: token,
            glyphs: parts[1].glyphs,
            width: Math.max(1, Math.round(rect.width)),
            height: Math.max(1, Math.round(rect.height)),
          },
          polymarkFont: s.font,
          polymarkPrefetch: prefetched.replies,
          polymarkExtraFonts: parts[1].fonts.map(function (f) { fontsGiven[f.file] = true; return f.bytes; }),
          polymarkTextInputArea: placeTextInput,
          polymarkNeedGlyphs: needGlyphs,
          polymarkVideo: openVideo,
          polymarkSync: { journal: syncJournal, request: syncRequest },
          polymarkTrack: { start: trackStart, cancel: trackCancel },
          polymarkAuth: function (url) { return authHeaders(options, token, url); },
          polymarkEmit: function (name, detail) {
            if (destroyed) return;
            if (!syncRunning && M) {
              // Events come from main() onwards: the module takes calls now.
              syncRunning = true;
              var queued = syncQueue;
              syncQueue = [];
              queued.forEach(function (fn) { fn(); });
            }
            if (name === 'ready') {
              ready = true;
              overlay.style.display = 'none';
              if (!settled) { settled = true; resolve(instance); }
              setTimeout(offlineAfterReady);
              setTimeout(function () {
                var held = heldEvents;
                heldEvents = [];
                held.forEach(function (e) { if (!destroyed) emit(e[0], e[1]); });
              });
            } else if (name === 'mountfailed') {
              var e = PolymarkError(detail.code, detail.message);
              e.where = detail.where;
              e.instance = instance; // still running: the labeler can move to another frame
              overlay.style.display = 'none';
              emit('error', { code: detail.code, message: detail.message, where: detail.where, fatal: false });
              if (!settled) { settled = true; reject(e); }
              return;
            } else if (name === 'error' && detail.fatal && !ready) {
              var f = PolymarkError(detail.code, detail.message);
              f.where = detail.where;
              emit('error', detail);
              return fail(f);
            }
            if (name === 'error' && !detail.fatal && !ready) {
              // Found while loading (an object of the document left out): the host hears it once it can listen.
              heldEvents.push([name, detail]);
              return;
            }
            if (name === 'tracking' && detail.state !== 'running') {
              var waiting = trackingWaiters;
              trackingWaiters = [];
              waiting.forEach(function (res) { res(detail); });
            }
            emit(name, detail);
          },
          instantiateWasm: function (imports, receive) {
            WebAssembly.instantiate(s.wasmModule, imports).then(function (inst) { receive(inst, s.wasmModule); },
              function (e) { fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + e.message)); });
            return {};
          },
          preRun: [function (mod) {
            // SDL 2.26.5 looks up "#canvas" and listens for keys on window: draw on this canvas,
            // and hear keys on this wrapper only (from the canvas and from the text entry).
            mod.specialHTMLTargets['#canvas'] = canvas;
            mod.specialHTMLTargets['#polymark-keys-' + id] = wrapper;
            mod.ENV.SDL_EMSCRIPTEN_KEYBOARD_ELEMENT = '#polymark-keys-' + id;
          }],
          print: function (text) { if (options.debug) console.log('[polymark]', text); },
          printErr: function (text) { if (options.debug) console.warn('[polymark]', text); },
          onAbort: function (what) {
            // A mounted instance starts again in place: a fresh module restores the journal, so
            // nothing saved locally is lost. At most a few times per mount, so a crash at start
            // cannot loop.
            var again = ready && !destroyed && options.remountOnAbort !== false && (options._remounts | 0) < 3;
            emit('error', { code: 'aborted', message: 'the WebAssembly instance aborted: ' + what + (again ? '; starting again' : ''), where: 'wasm', fatal: !again });
            if (again) { setTimeout(remount); return; }
            showMessage('Polymark stopped', 'An internal error stopped the editor (' + what + '). Reload the page.');
            fail(PolymarkError('aborted', 'the WebAssembly instance aborted: ' + what));
          },
        };
        s.factory(module).then(function (m) {
          if (destroyed) { try { m._pm_destroy(); } catch (e) { /* already gone */ } return; }
          M = m;
          var resize = function () {
            if (destroyed || !M) return;
            var r = wrapper.getBoundingClientRect();
            M._pm_resize(Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)));
          };
          var observer = new ResizeObserver(resize);
          observer.observe(wrapper);
          cleanups.push(function () { observer.disconnect(); });
          watchPixelRatio(resize);
          resize();
        }, function (e) { fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + (e && e.message ? e.message : e))); });
      }, fail);
    });

    // devicePixelRatio changes (browser zoom, another monitor) do not resize the element.
    function watchPixelRatio(onChange) {
      if (!global.matchMedia) return;
      var query = null;
      function arm() {
        if (query) query.removeEventListener('change', changed);
        query = global.matchMedia('(resolution: ' + (global.devicePixelRatio || 1) + 'dppx)');
        query.addEventListener('change', changed);
      }
      function changed() { arm(); onChange(); }
      arm();
      cleanups.push(function () { if (query) query.removeEventListener('change', changed); });
    }
  }

  global.Polymark = { mount: mount, unregisterOffline: unregisterOffline, PolymarkError: PolymarkError, events: EVENTS.slice(), version: '0.1.0' };
})(typeof window !== 'undefined' ? window : this);
