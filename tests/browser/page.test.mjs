// The page: loading, ready, the first image really on screen, the canvas following its
// container and the device pixel ratio, no console errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { startServer, launchBrowser, openPage, mountDemo, view, until, decodePng, meanColour, plainPath } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

test('mount resolves on ready and the first image is drawn centred on the canvas', async () => {
  const page = await openPage(browser);
  const readyEvents = [];
  await page.exposeFunction('recordReady', (d) => readyEvents.push(d));
  assert.equal(await mountDemo(page, server.url), 'ready');
  const v = await view(page);
  assert.equal(v.frame, 0);
  assert.equal(v.imageWidth, 512);
  assert.equal(v.imageHeight, 512);
  // Fitted: the whole image inside the viewport, centred.
  const right = v.offsetX + 512 * v.zoom; const bottom = v.offsetY + 512 * v.zoom;
  assert.ok(v.offsetX >= v.viewport.x - 0.5 && right <= v.viewport.x + v.viewport.width + 0.5);
  assert.ok(Math.abs((v.offsetY + bottom) / 2 - (v.viewport.y + v.viewport.height / 2)) < 1);
  // What is on screen at the image centre is the photograph's centre, not the background.
  const shot = decodePng(await page.screenshot());
  const cx = Math.round(v.offsetX + 256 * v.zoom); const cy = Math.round(v.offsetY + 256 * v.zoom);
  const onScreen = meanColour(shot, cx - 3, cy - 3, 6, 6);
  const photo = decodePng(fs.readFileSync(path.join(process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark'), 'demo/astronaut.png')));
  const expected = meanColour(photo, 253, 253, 6, 6);
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(onScreen[k] - expected[k]) < 30, `channel ${k}: ${onScreen[k]} vs ${expected[k]}`);
  assert.deepEqual(page.problems, []);
});

test('the loading bar counts real bytes up to the whole bundle', async () => {
  const page = await openPage(browser);
  await page.addInitScript(() => {
    window.progressSeen = [];
    new MutationObserver((records) => {
      for (const r of records) if (r.target.style && r.target.style.width && r.target.style.width.endsWith('%')) window.progressSeen.push(parseFloat(r.target.style.width));
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['style'] });
  });
  assert.equal(await mountDemo(page, server.url), 'ready');
  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.length >= 2, 'progress updated more than once: ' + seen);
  assert.equal(seen[seen.length - 1], 100);
  assert.ok(seen.some((p) => p > 0 && p < 100), 'an intermediate value was shown: ' + seen);
});

test('the canvas follows its container (not only the window) and the device pixel ratio', async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 600 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  assert.equal(await mountDemo(page, server.url), 'ready');
  // Once the view is still (on a software rasteriser a moving view is drawn at 1 px per CSS px).
  await until(page, () => polymark.canvas.width === 1800);
  let size = await page.evaluate(() => ({ w: polymark.canvas.width, h: polymark.canvas.height, dpr: polymark.getView().devicePixelRatio }));
  assert.equal(size.dpr, 2);
  assert.equal(size.w, 1800);
  assert.equal(size.h, 1200);
  // Shrink the container without touching the window: a ResizeObserver must notice.
  await page.evaluate(() => { const app = document.getElementById('app'); app.style.right = '300px'; app.style.bottom = '200px'; });
  await until(page, () => polymark.canvas.width === 1200 && polymark.getView().viewport.width === 600);
  size = await page.evaluate(() => ({ w: polymark.canvas.width, h: polymark.canvas.height }));
  assert.equal(size.h, 800);
  await context.close();
});

test('the demo task opens on the page a labeler gets', async () => {
  const page = await openPage(browser);
  assert.equal(await mountDemo(page, server.url, 'task=test&frame=1'), 'ready');
  const v = await view(page);
  assert.equal(v.frame, 1);
  assert.equal(v.imageWidth, 451);
  assert.deepEqual(page.problems, []);
});

test('the task, its annotations and the first image are each fetched once, while the wasm loads', async () => {
  const page = await openPage(browser);
  const requests = [];
  // Path and query: the sync catch-up (?since=) is not the annotations document.
  page.on('request', (r) => { const u = new URL(r.url()); requests.push({ url: u.pathname + u.search }); });
  assert.equal(await mountDemo(page, server.url), 'ready');
  const count = (p) => requests.filter((r) => r.url === p).length;
  assert.equal(count('/api/tasks/test'), 1);
  assert.equal(count('/api/tasks/test/annotations'), 1);
  assert.equal(count('/media/test/astronaut.png'), 1);
  // The task is asked for before the wasm has arrived, not after the module started.
  const wasm = requests.find((r) => plainPath(r.url).endsWith('polymark_app.wasm'));
  const task = requests.find((r) => r.url === '/api/tasks/test');
  assert.ok(requests.indexOf(task) < requests.indexOf(wasm), 'the task was requested only after the wasm');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the first image is decoded once, while the wasm loads, and shown from those pixels', async () => {
  const page = await openPage(browser);
  await page.addInitScript(() => {
    window.decodes = [];
    const decode = window.createImageBitmap;
    window.createImageBitmap = function (...args) {
      window.decodes.push({ at: performance.now() });
      return decode.apply(this, args);
    };
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = function (...args) { window.instantiatedAt = performance.now(); return instantiate.apply(this, args); };
  });
  // A slow wasm (as on a slow link, where the image is small beside it): the image is here and
  // decoded long before the module can start.
  await page.route(/\/polymark_app(\.[0-9a-f]{16})?\.wasm$/, async (route) => { await new Promise((r) => setTimeout(r, 1500)); await route.continue(); });
  assert.equal(await mountDemo(page, server.url), 'ready');
  const seen = await page.evaluate(() => ({ decodes: window.decodes, instantiatedAt: window.instantiatedAt }));
  assert.equal(seen.decodes.length, 1, 'the first image was decoded ' + seen.decodes.length + ' times before ready');
  assert.ok(seen.decodes[0].at < seen.instantiatedAt, 'the first image was decoded only after the module started');
  const v = await view(page);
  assert.equal(v.imageWidth, 512);
  assert.equal(v.frameShown, true);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
