// The static client ready for a CDN (docs/API.md, "Hosting the client"): every file loaded after
// polymark.js has a content-hashed name, byte for byte its plain file, precompressed, which the app
// (its loaders and its workers) fetches and serve.py marks immutable; a rebuild changing one file
// renames only that file; and the API on another origin serves the whole app: a page of origin A
// loads a task from a serve.py of origin B, a box drawn with the real mouse is saved there, and a
// backend that does not allow A is refused by the browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { dist, repo, startServer, launchBrowser, openPage, mountDemo, until, drawRect, stillVideo } from './harness.mjs';

const HASHED = /\.[0-9a-f]{16}\.[a-z0-9]+$/;  // the rule serve.py and the nginx configuration apply
const IMMUTABLE = 'public, max-age=31536000, immutable';
const ENTRY = ['index.html', 'polymark.js', 'sw.js', 'embed-example.html'];
const PYTHON = '/usr/bin/python3';

const sha16 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 16);
// Plain name -> the hashed name the app fetches, from the hashes stamped into polymark.js.
const namesIn = (folder) => {
  const m = /\/\*POLYMARK_NAMES\*\/(.*?)\/\*END\*\//s.exec(fs.readFileSync(path.join(folder, 'polymark.js'), 'utf8'));
  assert.ok(m, 'polymark.js carries the names marker');
  return Object.fromEntries(Object.entries(JSON.parse(m[1])).filter(([, h]) => h)
    .map(([name, h]) => [name, name.replace(/(\.[a-z0-9]+)$/, `.${h}$1`)]));
};
const precacheIn = (folder) => {
  const m = /\/\*POLYMARK_PRECACHE\*\/(.*?)\/\*END\*\//s.exec(fs.readFileSync(path.join(folder, 'sw.js'), 'utf8'));
  return JSON.parse(m[1]);
};
function filesUnder(folder) {
  const out = [];
  const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).forEach((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p); else out.push(path.relative(folder, p).split(path.sep).join('/'));
  });
  walk(folder);
  return out.sort();
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('every file loaded after polymark.js has a hashed copy: its own SHA-256 in the name, its plain bytes, .gz and .br', () => {
  const names = namesIn(dist);
  const loaded = ['polymark_app.js', 'polymark_app.wasm', 'video.js', 'polymark_video.js', 'polymark_video.wasm',
    'format_worker.js', 'polymark_formats.js', 'polymark_formats.wasm', 'guidelines.js', 'tracking.js', 'track_worker.js',
    'polymark_tracker.js', 'polymark_tracker.wasm', 'assist.js', 'assist_worker.js', 'polymark_assist.js', 'polymark_assist.wasm',
    'quality.js', 'quality_worker.js', 'polymark_quality.js', 'polymark_quality.wasm', 'polymark_profile.js', 'polymark_profile.wasm',
    'fonts/ui-latin.ttf', 'fonts/manifest.json', 'profiles/cvat.json'];
  for (const plain of loaded) assert.ok(names[plain], `${plain} has a hashed name`);
  for (const entry of ENTRY) assert.equal(names[entry], undefined, `${entry} keeps its name`);
  for (const [plain, hashed] of Object.entries(names)) {
    const bytes = fs.readFileSync(path.join(dist, plain));
    const ext = path.extname(plain);
    assert.equal(hashed, `${plain.slice(0, -ext.length)}.${sha16(bytes)}${ext}`);
    assert.match(hashed, HASHED);
    assert.ok(bytes.equals(fs.readFileSync(path.join(dist, hashed))), `${hashed} holds the bytes of ${plain}`);
    if (['.js', '.wasm', '.ttf', '.json'].includes(ext) && bytes.length >= 256) {
      assert.ok(zlib.gunzipSync(fs.readFileSync(path.join(dist, hashed + '.gz'))).equals(bytes), `${hashed}.gz`);
      assert.ok(zlib.brotliDecompressSync(fs.readFileSync(path.join(dist, hashed + '.br'))).equals(bytes), `${hashed}.br`);
    }
  }
  // The font slices by the hashed names the (hashed) manifest gives, not through polymark.js.
  const manifest = JSON.parse(fs.readFileSync(path.join(dist, names['fonts/manifest.json']), 'utf8'));
  assert.ok(manifest.fonts.length > 3);
  for (const { file } of manifest.fonts) {
    const plain = file.replace(/\.[0-9a-f]{16}(\.ttf)$/, '$1');
    assert.equal(names['fonts/' + plain], undefined, `${plain} is named by the manifest only`);
    const bytes = fs.readFileSync(path.join(dist, 'fonts', plain));
    assert.equal(file, plain.replace(/\.ttf$/, `.${sha16(bytes)}.ttf`));
    assert.ok(bytes.equals(fs.readFileSync(path.join(dist, 'fonts', file))), file);
  }
  // The service worker precaches the names the app fetches, not the plain ones.
  const build = precacheIn(dist);
  for (const plain of ['polymark_app.wasm', 'polymark_app.js', 'fonts/ui-latin.ttf', 'track_worker.js', 'polymark_assist.wasm']) {
    assert.ok(build.files[names[plain]], `sw.js precaches ${names[plain]}`);
    assert.equal(build.files[plain], undefined, `sw.js does not precache the plain ${plain}`);
  }
  for (const entry of ['index.html', 'polymark.js']) assert.ok(build.files[entry], entry);
  // Only polymark.js carries the map: a later script's name would otherwise depend on itself.
  for (const name of filesUnder(dist).filter((n) => n.endsWith('.js') && n !== 'polymark.js')) {
    assert.doesNotMatch(fs.readFileSync(path.join(dist, name), 'utf8'), /POLYMARK_NAMES/, name);
  }
});

test('a rebuild that changes one file changes only its hashed name, polymark.js and sw.js', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-cdn-'));
  try {
    for (const name of filesUnder(dist).filter((n) => !/\.(gz|br)$/.test(n))) {
      fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
      fs.copyFileSync(path.join(dist, name), path.join(tmp, name));
    }
    const read = (name) => fs.readFileSync(path.join(tmp, name));
    const beforeFiles = Object.fromEntries(filesUnder(tmp).map((n) => [n, sha16(read(n))]));
    const beforeNames = namesIn(tmp);
    fs.appendFileSync(path.join(tmp, 'guidelines.js'), '\n// another build\n');
    // The build's steps after bundling, in its order (cmake/web.cmake).
    for (const step of ['stamp_names.py', 'stamp_offline.py']) execFileSync(PYTHON, [path.join(repo, 'tools', step), tmp]);
    const afterNames = namesIn(tmp);
    const afterFiles = Object.fromEntries(filesUnder(tmp).map((n) => [n, sha16(read(n))]));
    const changedNames = Object.keys(afterNames).filter((k) => afterNames[k] !== beforeNames[k]);
    assert.deepEqual(changedNames, ['guidelines.js']);
    assert.equal(afterNames['guidelines.js'], `guidelines.${sha16(read('guidelines.js'))}.js`);
    const changed = Object.keys({ ...beforeFiles, ...afterFiles }).filter((n) => beforeFiles[n] !== afterFiles[n]).sort();
    assert.deepEqual(changed, [beforeNames['guidelines.js'], afterNames['guidelines.js'], 'guidelines.js', 'polymark.js', 'sw.js'].sort());
    assert.equal(afterFiles[beforeNames['guidelines.js']], undefined, 'the old hashed copy is gone');
    const build = precacheIn(tmp);
    assert.ok(build.files[afterNames['guidelines.js']] && !build.files[beforeNames['guidelines.js']]);
    assert.notEqual(build.version, precacheIn(dist).version);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const clientPath = (url) => {
  const u = new URL(url);
  return /^https?:$/.test(u.protocol) && !u.pathname.startsWith('/api/') && !u.pathname.startsWith('/media/') ? u.pathname.slice(1) : null;
};

// Client files the page and its workers requested, with the status and Cache-Control served.
function recordFiles(context) {
  const seen = [];
  context.on('response', async (r) => {
    const p = clientPath(r.url());
    if (p !== null) seen.push({ path: p, status: r.status(), cacheControl: (await r.allHeaders())['cache-control'] ?? null });
  });
  return seen;
}

test('the app and its workers fetch the hashed names, immutable, and a second visit revalidates only the entry files', async () => {
  const server = await startServer();
  try {
    const names = namesIn(dist);
    const plainOfHashed = new Set(Object.keys(names));
    const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    const seen = recordFiles(page.context());
    assert.equal(await mountDemo(page, server.url, 'task=test&offline=0'), 'ready');
    // An export runs the formats worker, which takes its glue and wasm names from the page.
    const exported = await page.evaluate(async () => JSON.parse(await (await polymark.exportAnnotations({ format: 'coco' })).text()));
    assert.ok(Array.isArray(exported.images));
    const later = seen.filter((r) => !['', 'index.html', 'polymark.js', 'sw.js'].includes(r.path));
    for (const plain of ['polymark_app.js', 'polymark_app.wasm', 'fonts/ui-latin.ttf', 'format_worker.js', 'polymark_formats.js', 'polymark_formats.wasm']) {
      assert.ok(later.some((r) => r.path === names[plain]), `${names[plain]} fetched: ${later.map((r) => r.path).join(' ')}`);
    }
    for (const r of later) {
      assert.match(r.path, HASHED, `${r.path} is a hashed name`);
      assert.ok(!plainOfHashed.has(r.path), `no plain name fetched: ${r.path}`);
      assert.equal(r.status, 200, r.path);
      assert.equal(r.cacheControl, IMMUTABLE, r.path);
    }
    assert.equal(seen.find((r) => r.path === 'polymark.js').cacheControl, 'no-cache');
    assert.deepEqual(page.problems, []);

    // A second visit in the same browser: polymark.js is asked again and answered 304 (a few
    // hundred bytes of headers, no body), the hashed files come from the HTTP cache unasked (0 bytes).
    const again = await page.context().newPage();
    assert.equal(await mountDemo(again, server.url, 'task=test&offline=0'), 'ready');
    const transfers = await again.evaluate(() => performance.getEntriesByType('resource')
      .map((e) => ({ path: new URL(e.name).pathname.slice(1), transfer: e.transferSize, body: e.decodedBodySize })));
    const script = transfers.find((t) => t.path === 'polymark.js');
    assert.ok(script.transfer > 0 && script.transfer < 1000 && script.body > 10000, JSON.stringify(script));
    const hashed = transfers.filter((t) => HASHED.test(t.path));
    assert.ok(hashed.length >= 3 && hashed.every((t) => t.transfer === 0), JSON.stringify(hashed));
    await page.context().close();
  } finally {
    await server.stop();
  }
});

test('the API on another origin: a task loaded from it, a box drawn with the mouse saved to it; a backend not allowing the page is refused', async () => {
  const pages = await startServer();                       // origin A: the page and the client files
  const origin = new URL(pages.url).origin;
  const videoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-cdn-video-'));
  const api = await startServer({ args: ['--cors-origin', origin], extraMedia: { 'still.mp4': stillVideo(videoDir, 6) } });  // origin B: the backend
  assert.notEqual(new URL(api.url).origin, origin);
  const doc = async (server) => (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document;
  try {
    const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    const requests = [];
    page.on('request', (r) => requests.push({ url: r.url(), method: r.method() }));
    assert.equal(await mountDemo(page, pages.url, `task=test&backend=${encodeURIComponent(api.url)}&offline=0&user=ana&role=labeler`), 'ready');
    const before = (await doc(api)).objects.length;
    await drawRect(page, [60, 60], [180, 150]);
    const [drawn] = (await page.evaluate(() => polymark.getAnnotations().objects)).slice(-1);
    await until(page, () => { const s = polymark.getSyncStatus(); return s.state === 'saved' && s.pending === 0 && s.localWrites === 0; }, undefined, 20000);
    const saved = await doc(api);
    assert.equal(saved.objects.length, before + 1);
    assert.deepEqual(saved.objects.find((o) => o.id === drawn.id), drawn);
    assert.equal((await doc(pages)).objects.length, before, 'nothing was saved to the page\'s own server');
    assert.ok(requests.some((r) => r.method === 'PATCH' && r.url.startsWith(api.url + '/api/tasks/test/annotations')));
    assert.ok(requests.some((r) => r.url.startsWith(api.url + '/media/')), 'the images came from the backend');
    // A video of the other origin: read by byte ranges, whose extent (Content-Range) the page
    // may read only when the backend exposes it.
    const video = await page.evaluate(async (url) => {
      polymark.destroy();
      document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
      const taskObject = { format: 'polymark.task', version: 1, id: 'cross-video', media: [{ id: 'v', type: 'video', url, frames: 6, fps: 10 }], labels: [{ id: 'cat' }] };
      try { window.polymark = await Polymark.mount('#host', { taskObject }); return 'ready'; } catch (e) { return `rejected: ${e.code} ${e.message}`; }
    }, `${api.url}/media/extra/still.mp4`);
    assert.equal(video, 'ready');
    assert.ok(requests.some((r) => r.url === `${api.url}/media/extra/still.mp4`));
    assert.deepEqual(page.problems, []);
    await page.context().close();

    // The page served by B names A as its backend; A allows no other origin.
    const refused = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    const outcome = await mountDemo(refused, api.url, `task=test&backend=${encodeURIComponent(pages.url)}&offline=0`);
    assert.match(outcome, /^rejected: /);
    assert.ok(refused.problems.some((p) => /CORS|Access-Control-Allow-Origin/.test(p)), refused.problems.join('\n'));
    await refused.context().close();
  } finally {
    await api.stop();
    await pages.stop();
    fs.rmSync(videoDir, { recursive: true, force: true });
  }
});
