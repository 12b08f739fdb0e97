// [SECTION] Sync bridge (docs/API.md, "Sync"). The engine (shared/polymark/sync.hpp) decides;
// this page stores its journal in IndexedDB (one record per key, never IDBFS: two tabs would
// clobber each other's files), keeps one writer per task across tabs with Web Locks, and performs
// its requests with timeouts, driven by timers (animation frames stop in hidden tabs).
import { apiUrl } from './backend.js';

const SYNC_DB = 'polymark-sync';
const SYNC_TICK_MS = 250;
let syncDb = null; // promise of the database, once per page

function openSyncDb() {
  if (syncDb) return syncDb;
  syncDb = new Promise((resolve, reject) => {
    if (!window.indexedDB) return reject(new Error('this browser has no IndexedDB'));
    const req = indexedDB.open(SYNC_DB, 1);
    req.onupgradeneeded = () => {
      const db = req.result;
      // journal: [task key, record key] -> record text; devices: task key -> device id
      if (!db.objectStoreNames.contains('journal')) db.createObjectStore('journal');
      if (!db.objectStoreNames.contains('devices')) db.createObjectStore('devices');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error('IndexedDB could not be opened'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
  });
  syncDb.catch(() => { syncDb = null; });
  return syncDb;
}

const journalRange = (taskKey) => IDBKeyRange.bound([taskKey], [taskKey, []]);

function newDeviceId() {
  const bytes = new Uint8Array(9);
  crypto.getRandomValues(bytes);
  return 'web.' + Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

// This browser's device id for the task (made once, kept beside the journal) and the
// journal's record texts.
function readJournal(taskKey) {
  return openSyncDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(['journal', 'devices'], 'readwrite');
    const out = { deviceId: null, records: [] };
    const devices = tx.objectStore('devices');
    devices.get(taskKey).onsuccess = (e) => {
      out.deviceId = e.target.result;
      if (typeof out.deviceId !== 'string') { out.deviceId = newDeviceId(); devices.put(out.deviceId, taskKey); }
    };
    tx.objectStore('journal').getAll(journalRange(taskKey)).onsuccess = (e) => { out.records = e.target.result.filter((t) => typeof t === 'string'); };
    tx.oncomplete = () => resolve(out);
    tx.onerror = tx.onabort = () => reject(tx.error || new Error('the journal could not be read'));
  }));
}

// Puts before deletes, in one transaction; resolves once it is committed to disk.
function writeJournal(taskKey, batch) {
  return openSyncDb().then((db) => new Promise((resolve, reject) => {
    let tx;
    try { tx = db.transaction('journal', 'readwrite', { durability: 'strict' }); } catch (e) { tx = db.transaction('journal', 'readwrite'); }
    const store = tx.objectStore('journal');
    (batch.put || []).forEach((r) => store.put(r.text, [taskKey, r.key]));
    (batch['delete'] || []).forEach((key) => store['delete']([taskKey, key]));
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error || new Error('the journal could not be written'));
  }));
}

// Calls granted() once this page holds the task's writer lock; waiting() first when another
// tab holds it. Returns a function that releases the lock (or stops waiting).
function lockTask(name, granted, waiting) {
  if (!window.navigator || !navigator.locks) { granted(); return () => {}; }
  let release = null;
  let stopped = false;
  const controller = new AbortController();
  const hold = () => {
    if (stopped) return undefined;
    granted();
    return new Promise((r) => { release = r; });
  };
  navigator.locks.request(name, { ifAvailable: true }, (lock) => {
    if (lock) return hold();
    if (stopped) return undefined;
    waiting();
    navigator.locks.request(name, { signal: controller.signal }, hold).catch(() => {});
    return undefined;
  }).catch(() => {});
  return () => { stopped = true; controller.abort(); if (release) release(); };
}

// The sync settings of a mount: null when the task is not the backend's or sync is off.
function syncSettings(options) {
  if (options.annotations || options.sync === false) return null;
  if (!options.profile && (!options.task || options.taskObject)) return null;
  const s = options.sync && typeof options.sync === 'object' ? options.sync : {};
  const out = {};
  ['debounceMs', 'maxDelayMs', 'timeoutMs', 'backoffBaseMs', 'backoffMaxMs', 'catchupIntervalMs'].forEach((k) => {
    if (typeof s[k] === 'number' && isFinite(s[k]) && s[k] >= 0) out[k] = s[k];
  });
  out.userId = typeof options.user === 'string' && options.user ? options.user : 'anonymous';
  return out;
}

// The tasks whose writer lock a mount of this page holds: a second editor of the same task on
// this page is told that, not "another tab".
const writersHere = new Map();  // task key -> mounts holding it

// One mount's side of the sync: the writer lock is asked for and the journal read while the
// module loads, so the engine restores it before the first edit. Returns `setup` (a promise of
// the module's sync settings, or null) and the `journal` and `request` callbacks the module calls.
export function createSyncBridge(ctx) {
  const { options } = ctx;
  const sync = syncSettings(options);
  if (!sync) return { setup: Promise.resolve(null), journal: () => {}, request: () => {} };
  const taskId = options.task || (options.taskObject && options.taskObject.id) || '';
  const taskKey = new URL(apiUrl(options.backend || '', '/api/tasks/' + encodeURIComponent(taskId)), document.baseURI).href +
    (options.profile ? '#profile=' + (typeof options.profile === 'string' ? options.profile : options.profile.name) : '');
  let fetches = [];
  let releaseLock = () => {};
  let heldHere = false;

  const setup = new Promise((resolve) => {
    let started = false;
    releaseLock = lockTask('polymark-sync:' + taskKey, () => {
      writersHere.set(taskKey, (writersHere.get(taskKey) || 0) + 1);
      heldHere = true;
      readJournal(taskKey).catch((e) => {
        ctx.events.emitOnceListening('error', { code: 'journal_failed', message: 'the sync journal could not be read: ' + ((e && e.message) || e), where: 'indexedDB', fatal: false });
        return { deviceId: newDeviceId(), records: [] };
      }).then((j) => {
        if (!started) {
          started = true;
          sync.deviceId = j.deviceId;
          sync.journal = j.records;
          return resolve(sync);
        }
        ctx.whenRunning(() => ctx.toModule((m, records, device) => m._pm_sync_journal_read(records, device), [JSON.stringify(j.records), j.deviceId]));
      });
    }, () => {
      // Another tab (or editor of this page) holds the task's lock: read-only here until it closes.
      started = true;
      sync.deviceId = newDeviceId();
      sync.journal = null;
      sync.writerOnThisPage = writersHere.has(taskKey);
      resolve(sync);
    });
  });

  function request(r) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, Math.max(1, r.timeoutMs));
    fetches.push(controller);
    const done = (deliver, texts) => {
      clearTimeout(timer);
      const i = fetches.indexOf(controller);
      if (i >= 0) fetches.splice(i, 1);
      ctx.toModule(deliver, texts);
    };
    const init = { method: r.method, headers: r.headers, signal: controller.signal, credentials: 'same-origin', cache: 'no-store' };
    // keepalive lets a save started by pagehide finish after the page is gone (bodies < 64 KB).
    if (r.method !== 'GET') { init.body = r.body; if (r.body.length < 60000) init.keepalive = true; }
    fetch(r.url, init).then((response) => response.text().then((text) => {
      done((m, body) => m._pm_sync_reply(r.seq, response.status, body), [text]);
    })).catch(() => done((m) => m._pm_sync_failure(r.seq, timedOut ? 1 : 0)));
  }

  function journal(batch) {
    writeJournal(taskKey, batch).then(() => ctx.toModule((m, message) => m._pm_sync_journal_written(1, message), ['']),
      (e) => ctx.toModule((m, message) => m._pm_sync_journal_written(0, message), [String((e && e.message) || e)]));
  }

  const timer = setInterval(() => ctx.toModule((m) => m._pm_sync_tick()), SYNC_TICK_MS);
  ctx.cleanups.push(() => {
    clearInterval(timer);
    releaseLock();
    if (heldHere) {
      heldHere = false;
      const n = (writersHere.get(taskKey) || 1) - 1;
      if (n > 0) writersHere.set(taskKey, n); else writersHere.delete(taskKey);
    }
    fetches.forEach((c) => c.abort());
    fetches = [];
  });
  // Send what is pending when the page goes away or out of sight; fetch news when it is back.
  ctx.listen(document, 'visibilitychange', () => {
    if (document.visibilityState === 'hidden') ctx.syncCall('flush');
    else ctx.toModule((m) => m._pm_sync_catchup());
  });
  ctx.listen(window, 'pagehide', () => ctx.syncCall('flush'));
  ctx.listen(window, 'online', () => ctx.syncCall('flush'));
  return { setup, journal, request };
}
