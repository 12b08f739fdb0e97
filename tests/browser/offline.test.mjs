// Offline start-up (shell/sw.js): after one online visit the app starts with serve.py stopped or
// the browser offline, with the task, its last annotations and the image; a deploy replaces the
// cached build; nothing but GETs is touched; credentials are never stored.
// The suite serves a copy of the web build, so that it can play a deploy without touching it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Playwright's setOffline reaches the service worker's own fetches only with this set.
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = '1';
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sourceDist = process.env.POLYMARK_DIST || path.join(repo, 'build-web/dist');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-offline-'));
const dist = path.join(work, 'dist');

// The files whose bytes differ from the hashes stamped into sw.js (a build still writing them).
function unstampedFiles(dir) {
  const text = fs.readFileSync(path.join(dir, 'sw.js'), 'utf8');
  const build = JSON.parse(/\/\*POLYMARK_PRECACHE\*\/(.*?)\/\*END\*\//s.exec(text)[1]);
  return Object.entries(build.files).filter(([name, hash]) =>
    crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex').slice(0, hash.length) !== hash).map(([name]) => name);
}
for (let attempt = 0; ; attempt++) {
  fs.rmSync(dist, { recursive: true, force: true });
  fs.cpSync(sourceDist, dist, { recursive: true });
  const stale = unstampedFiles(dist);
  if (!stale.length) break;
  if (attempt === 150) throw new Error(`${sourceDist} does not match the hashes in its sw.js (${stale.join(', ')}): rebuild it`);
  await new Promise((r) => setTimeout(r, 2000));
}
process.env.POLYMARK_DIST = dist;
const { startServer, launchBrowser, openPage, mountDemo, decodePng, meanColour } = await import('./harness.mjs');
const cache = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');
const astronaut = fs.readFileSync(path.join(cache, 'demo/astronaut.png'));

function stampedBuild() {
  const text = fs.readFileSync(path.join(dist, 'sw.js'), 'utf8');
  return JSON.parse(/\/\*POLYMARK_PRECACHE\*\/(.*?)\/\*END\*\//s.exec(text)[1]);
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); fs.rmSync(work, { recursive: true, force: true }); });

const RECT = { id: 'kept-offline', type: 'rectangle', frame: 0, label: 'cat', points: [100, 100, 220, 180] };

// A server whose task already has one annotation, so that "the last annotations" means something.
async function serverWithAnnotation() {
  const server = await startServer();
  const current = await (await fetch(`${server.url}/api/tasks/test/annotations`)).json();
  const put = await fetch(`${server.url}/api/tasks/test/annotations`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': `"rev-${current.revision}"` },
    body: JSON.stringify({ format: 'polymark.annotations', version: 1, objects: [RECT] }),
  });
  assert.equal(put.status, 200);
  return server;
}

async function stopServer(server) {
  await server.stop();
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${server.url}/api/tasks`); } catch (e) { return; }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('serve.py still answers');
}

// Polls getStorage() until the offline state settles (worker active, this page's data cached).
function offlineSettled(page) {
  return page.evaluate(async () => {
    for (let i = 0; i < 600; i++) {
      const s = await window.polymark.getStorage();
      if (s.offline.state !== 'installing') return s;
      await new Promise((r) => setTimeout(r, 100));
    }
    return window.polymark.getStorage();
  });
}

// The first visit, online: the app is mounted and the worker has cached what it needs.
async function visit(server) {
  const page = await openPage(browser, null);
  assert.equal(await mountDemo(page, server.url), 'ready');
  const storage = await offlineSettled(page);
  assert.equal(storage.offline.state, 'ready', JSON.stringify(storage));
  return { page, storage };
}

// Reloads with the browser's HTTP cache emptied first (media are sent with max-age=3600, which
// would otherwise answer for an hour without the worker): what shows came from the worker.
async function reloadMounted(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await cdp.detach();
  await page.reload();
  return page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code + ' ' + e.message));
}

// What a reload without the backend must show: the task, its last annotations, the image drawn.
async function assertTaskShown(page) {
  assert.equal((await page.evaluate(() => polymark.getTask())).id, 'test');
  const doc = await page.evaluate(() => polymark.getAnnotations());
  assert.deepEqual(doc.objects.map((o) => o.id), ['kept-offline']);
  assert.deepEqual(doc.objects[0].points, RECT.points);
  const v = await page.evaluate(() => polymark.getView());
  assert.equal(v.frameShown, true);
  assert.equal(v.imageWidth, 512);
  // The photograph's centre is on screen (outside the rectangle), not the background.
  const shot = decodePng(await page.screenshot());
  const cx = Math.round(v.offsetX + 300 * v.zoom); const cy = Math.round(v.offsetY + 300 * v.zoom);
  const onScreen = meanColour(shot, cx - 3, cy - 3, 6, 6);
  const expected = meanColour(decodePng(astronaut), 297, 297, 6, 6);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(onScreen[k] - expected[k]) < 30, `channel ${k}: ${onScreen[k]} vs ${expected[k]}`);
}

test('first visit online: the worker activates with the whole build, the task, its annotations and the image cached', async () => {
  const server = await serverWithAnnotation();
  try {
    const build = stampedBuild();
    assert.match(build.version, /^[0-9a-f]{16}$/);
    const { page, storage } = await visit(server);
    assert.equal(storage.offline.version, build.version);
    assert.ok(storage.usage > 0, 'usage ' + storage.usage);
    assert.ok(storage.quota > storage.usage, 'quota ' + storage.quota);
    assert.equal(typeof storage.persisted, 'boolean');
    const seen = await page.evaluate(async (files) => {
      const names = await caches.keys();
      const app = await caches.open(names.find((n) => n.startsWith('polymark:app:')));
      const sizes = {};
      for (const f of files) { const r = await app.match(f); sizes[f] = r ? (await r.arrayBuffer()).byteLength : -1; }
      const api = await caches.open('polymark:api@/');
      const annotations = await api.match('/api/tasks/test/annotations');
      const media = await caches.open('polymark:media@/');
      const image = await media.match('/media/test/astronaut.png');
      return {
        names, sizes, controller: navigator.serviceWorker.controller && navigator.serviceWorker.controller.scriptURL,
        task: !!(await api.match('/api/tasks/test')),
        annotations: annotations ? await annotations.json() : null,
        image: image ? (await image.arrayBuffer()).byteLength : -1,
      };
    }, Object.keys(build.files));
    assert.equal(seen.controller, `${server.url}/sw.js`);
    assert.deepEqual(seen.names.sort(), [`polymark:api@/`, `polymark:app:${build.version}@/`, 'polymark:media@/']);
    for (const [file, size] of Object.entries(seen.sizes)) assert.equal(size, fs.statSync(path.join(dist, file)).size, file);
    assert.ok(seen.task, 'the task is cached');
    assert.deepEqual(seen.annotations.document.objects.map((o) => o.id), ['kept-offline']);
    assert.equal(seen.image, astronaut.length);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  } finally { await server.stop(); }
});

test('serve.py stopped: a reload starts the app from the cache with the task, its annotations and the image', async () => {
  const server = await serverWithAnnotation();
  try {
    const { page } = await visit(server);
    await stopServer(server);
    assert.equal(await reloadMounted(page), 'ready');
    await assertTaskShown(page);
    // Nothing the start needs failed to load. The sync's polls for changes (?since=) are not the
    // worker's to answer (a cached delta would be wrong): they fail until the backend is back. Nor
    // are review's reads (jobs, review items, the guideline version), which come after the start
    // and are not cached yet.
    const sincePoll = /\/(annotations|review)\?since=\d+|\/api\/tasks\/test\/(jobs|review|guidelines\/versions) *$/;
    assert.deepEqual(page.problems.filter((p) => !sincePoll.test(p)), [], 'nothing failed to load');
    const probe = await page.evaluate(async () => {
      const ann = await fetch('/api/tasks/test/annotations');
      const range = async (header) => {
        const r = await fetch('/media/test/astronaut.png', { headers: { Range: header } });
        return { status: r.status, contentRange: r.headers.get('Content-Range'), bytes: Array.from(new Uint8Array(await r.arrayBuffer())) };
      };
      let patch;
      try { patch = 'answered ' + (await fetch('/api/tasks/test/annotations', { method: 'PATCH', body: '{}' })).status; } catch (e) { patch = 'network error'; }
      return { fromCache: ann.headers.get('X-Polymark-From-Cache'), mid: await range('bytes=100-199'), tail: await range('bytes=-10'), past: await range(`bytes=${1 << 30}-`), patch };
    });
    assert.equal(probe.fromCache, '1');
    // Ranges (as video.js asks for them) are cut from the cached whole file.
    assert.equal(probe.mid.status, 206);
    assert.equal(probe.mid.contentRange, `bytes 100-199/${astronaut.length}`);
    assert.deepEqual(probe.mid.bytes, Array.from(astronaut.subarray(100, 200)));
    assert.deepEqual(probe.tail.bytes, Array.from(astronaut.subarray(astronaut.length - 10)));
    assert.equal(probe.past.status, 416);
    // Edits are never answered by the worker: with the backend gone they fail, for the journal to keep.
    assert.equal(probe.patch, 'network error');
    await page.context().close();
  } finally { await server.stop(); }
});

test('changes another device synced after the load, seen by a poll, are in the offline copy', async () => {
  const server = await serverWithAnnotation();
  try {
    const { page } = await visit(server);
    const before = await (await fetch(`${server.url}/api/tasks/test/annotations`)).json();
    const later = { id: 'synced-later', type: 'rectangle', frame: 0, label: 'person', points: [300, 300, 360, 380] };
    const patch = await fetch(`${server.url}/api/tasks/test/annotations`, {
      method: 'PATCH', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ base_revision: before.revision, user: 'other', device: 'tablet', operations: [{ op_id: 'other-1', kind: 'object', op: 'create', id: later.id, value: later }] }),
    });
    assert.equal(patch.status, 200);
    // The poll the sync makes; the worker passes it on and refreshes its copy in the background.
    const ids = await page.evaluate(async (rev) => {
      await (await fetch(`/api/tasks/test/annotations?since=${rev}`)).json();
      const api = await caches.open('polymark:api@/');
      for (let i = 0; i < 100; i++) {
        const doc = (await (await api.match('/api/tasks/test/annotations')).json()).document;
        if (doc.objects.length > 1) return doc.objects.map((o) => o.id);
        await new Promise((r) => setTimeout(r, 50));
      }
      return null;
    }, before.revision);
    assert.deepEqual(ids, ['kept-offline', 'synced-later']);
    const polls = await page.evaluate(async () => (await caches.open('polymark:api@/')).keys().then((k) => k.map((r) => r.url).filter((u) => u.includes('since='))));
    assert.deepEqual(polls, [], 'a poll reply was cached');
    await stopServer(server);
    assert.equal(await reloadMounted(page), 'ready');
    assert.deepEqual((await page.evaluate(() => polymark.getAnnotations())).objects.map((o) => o.id), ['kept-offline', 'synced-later']);
    await page.context().close();
  } finally { await server.stop(); }
});

test('a task behind a token: the first visit caches it with the token, and with serve.py stopped a mount with that token starts from the cache', async () => {
  const server = await startServer({ args: ['--token', 'kiosk-secret'] });
  try {
    const page = await openPage(browser, null);
    await page.goto(`${server.url}/?task=test`);
    assert.match(await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => e.code)), /^http_401$/, 'the page\'s own mount has no token');
    const mount = () => page.evaluate(async () => {
      if (window.polymark && !window.polymark.destroyed) window.polymark.destroy();
      document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
      try { window.polymark = await Polymark.mount('#host', { task: 'test', token: 'kiosk-secret' }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
    });
    assert.equal(await mount(), 'ready');
    const storage = await offlineSettled(page);
    assert.equal(storage.offline.state, 'ready', JSON.stringify(storage));
    await stopServer(server);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.clearBrowserCache');
    await cdp.detach();
    await page.reload();
    await page.evaluate(() => window.polymarkMount.catch(() => null));
    assert.equal(await mount(), 'ready');
    assert.equal((await page.evaluate(() => polymark.getTask())).id, 'test');
    assert.equal((await page.evaluate(() => polymark.getView())).frameShown, true);
    await page.context().close();
  } finally { await server.stop(); }
});

test('browser offline (worker fetches included): a reload starts the app with the task, its annotations and the image', async () => {
  const server = await serverWithAnnotation();
  try {
    const { page } = await visit(server);
    await page.context().setOffline(true);
    assert.equal(await reloadMounted(page), 'ready');
    await assertTaskShown(page);
    // The worker's own fetch failed too: the annotations came from the fallback copy.
    assert.equal(await page.evaluate(async () => (await fetch('/api/tasks/test/annotations')).headers.get('X-Polymark-From-Cache')), '1');
    await page.context().setOffline(false);
    // Back online the backend's reply is the one given (network-first), not the copy.
    assert.equal(await page.evaluate(async () => (await fetch('/api/tasks/test/annotations')).headers.get('X-Polymark-From-Cache')), null);
    await page.context().close();
  } finally { await server.stop(); }
});

test('an Authorization header is never stored, and a cached reply only goes back to the same credentials', async () => {
  const server = await serverWithAnnotation();
  try {
    const { page } = await visit(server);
    const secret = 'Bearer s3cret-token-1234';
    const stored = await page.evaluate(async (auth) => {
      await fetch('/api/tasks/test', { headers: { Authorization: auth } });
      const api = await caches.open('polymark:api@/');
      for (let i = 0; i < 100; i++) {
        const r = await api.match('/api/tasks/test');
        if (r && r.headers.get('X-Polymark-Auth')) break;
        await new Promise((ok) => setTimeout(ok, 50));
      }
      const out = [];
      for (const req of await api.keys()) {
        const r = await api.match(req);
        out.push({ url: req.url, requestHeaders: [...req.headers], responseHeaders: [...r.headers], body: await r.text() });
      }
      return out;
    }, secret);
    assert.ok(!JSON.stringify(stored).includes('s3cret'), 'the token is stored somewhere');
    const task = stored.find((s) => s.url.endsWith('/api/tasks/test'));
    assert.deepEqual(task.requestHeaders, []);
    const tag = Object.fromEntries(task.responseHeaders)['x-polymark-auth'];
    assert.equal(tag, crypto.createHash('sha256').update(secret).digest('hex'));
    // Offline, a request without those credentials does not get the reply made for them.
    await stopServer(server);
    const anonymous = await page.evaluate(async () => { try { return (await fetch('/api/tasks/test')).status; } catch (e) { return 'network error'; } });
    assert.equal(anonymous, 'network error');
    const same = await page.evaluate(async (auth) => (await fetch('/api/tasks/test', { headers: { Authorization: auth } })).headers.get('X-Polymark-From-Cache'), secret);
    assert.equal(same, '1');
    await page.context().close();
  } finally { await server.stop(); }
});

test('offline: false registers nothing; unregisterOffline removes the worker and every Polymark cache', async () => {
  const server = await startServer();
  try {
    const off = await openPage(browser, null);
    assert.equal(await mountDemo(off, server.url, 'task=test&offline=0'), 'ready');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await off.evaluate(() => polymark.getStorage())).offline.state, 'off');
    assert.equal(await off.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
    await off.context().close();

    const { page } = await visit(server);
    assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 1);
    assert.equal(await page.evaluate(() => polymark.unregisterOffline()), true);
    assert.equal(await page.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).length), 0);
    assert.deepEqual(await page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith('polymark:'))), []);
    await page.context().close();
  } finally { await server.stop(); }
});

test('a failed registration is an error event, never an exception, and the app keeps running', async () => {
  const server = await startServer();
  const sw = path.join(dist, 'sw.js');
  fs.renameSync(sw, sw + '.away');
  try {
    const page = await openPage(browser, null);
    await page.addInitScript(() => {
      window.offlineErrors = [];
      let held;
      Object.defineProperty(window, 'polymarkMount', {
        configurable: true,
        get() { return held; },
        set(p) { held = p; p.then((pm) => pm.on('error', (e) => window.offlineErrors.push(e)), () => {}); },
      });
    });
    assert.equal(await mountDemo(page, server.url), 'ready');
    const storage = await offlineSettled(page);
    assert.equal(storage.offline.state, 'failed');
    const errors = await page.evaluate(() => window.offlineErrors);
    assert.deepEqual(errors.map((e) => [e.code, e.fatal]), [['offline_unavailable', false]]);
    assert.equal((await page.evaluate(() => polymark.getView())).frameShown, true);
    assert.deepEqual(page.problems.filter((p) => p.startsWith('pageerror')), []);
    await page.context().close();
  } finally { fs.renameSync(sw + '.away', sw); await server.stop(); }
});

test('a video task opened online plays offline: ranges are served from the whole file the worker cached', async () => {
  const server = await startServer();
  try {
    const clip = path.join(work, 'clip.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-t', '1',
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip]);
    const task = { format: 'polymark.task', version: 1, id: 'clip', name: 'Video offline',
      media: [{ id: 'v', type: 'video', file: 'clip.mp4', frames: 30, fps: 30 }], labels: [{ id: 'car', name: 'Car' }] };
    const posted = await fetch(`${server.url}/api/tasks`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ task, files: { 'clip.mp4': fs.readFileSync(clip).toString('base64') } }) });
    assert.equal(posted.status, 201);
    const page = await openPage(browser, null);
    assert.equal(await mountDemo(page, server.url, 'task=clip'), 'ready');
    assert.equal((await offlineSettled(page)).offline.state, 'ready');
    const videoUrl = (await page.evaluate(() => polymark.getVideoStats()))[0].url;
    const cachedSize = await page.evaluate(async (url) => {
      const media = await caches.open('polymark:media@/');
      for (let i = 0; i < 200; i++) {
        const r = await media.match(url);
        if (r) return (await r.arrayBuffer()).byteLength;
        await new Promise((ok) => setTimeout(ok, 50));
      }
      return -1;
    }, videoUrl);
    assert.equal(cachedSize, fs.statSync(clip).size);
    await stopServer(server);
    assert.equal(await reloadMounted(page), 'ready');
    await page.evaluate(() => polymark.setFrame(20));
    await page.waitForFunction(() => polymark.getView().frameShown && polymark.getView().frame === 20, null, { timeout: 15000 });
    const stats = (await page.evaluate(() => polymark.getVideoStats()))[0];
    assert.ok(stats.decodedFrames > 0, JSON.stringify(stats));
    await page.context().close();
  } finally { await server.stop(); }
});

// Last: it changes the served build.
test('a new deploy replaces the cached build on the next online load, and the old cache is deleted', async () => {
  const server = await serverWithAnnotation();
  const index = path.join(dist, 'index.html');
  const original = fs.readFileSync(index, 'utf8');
  try {
    const v1 = stampedBuild().version;
    const { page } = await visit(server);
    // The deploy: a changed page, and the build's stamp written again as the build does.
    fs.writeFileSync(index, original.replace('<title>', '<meta name="polymark-deploy" content="2">\n<title>'));
    execFileSync('/usr/bin/python3', [path.join(repo, 'tools/stamp_offline.py'), dist]);
    const v2 = stampedBuild().version;
    assert.notEqual(v2, v1);
    // This load finds the new sw.js; the new build is installed, verified and takes over.
    assert.equal(await reloadMounted(page), 'ready');
    const names = await page.evaluate(async (v) => {
      for (let i = 0; i < 600; i++) {  // up to a minute: the install fetches the whole build
        const keys = await caches.keys();
        if (keys.includes(`polymark:app:${v}@/`) && !keys.some((k) => k.startsWith('polymark:app:') && !k.includes(v))) return keys;
        await new Promise((r) => setTimeout(r, 100));
      }
      return caches.keys();
    }, v2);
    assert.ok(names.includes(`polymark:app:${v2}@/`), names.join());
    assert.ok(!names.includes(`polymark:app:${v1}@/`), 'the old build is still cached: ' + names.join());
    // The next load, even with no backend at all, is the new build.
    await stopServer(server);
    assert.equal(await reloadMounted(page), 'ready');
    assert.equal(await page.evaluate(() => document.querySelector('meta[name="polymark-deploy"]')?.content), '2');
    assert.equal((await offlineSettled(page)).offline.version, v2);
    await assertTaskShown(page);
    await page.context().close();
  } finally {
    fs.writeFileSync(index, original);
    execFileSync('/usr/bin/python3', [path.join(repo, 'tools/stamp_offline.py'), dist]);
    await server.stop();
  }
});
