// Pan and zoom by real mouse and keyboard events change getView() exactly as specified.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, view, until, decodePng, meanColour } from './harness.mjs';

let server; let browser; let page;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser);
  assert.equal(await mountDemo(page, server.url), 'ready');
});
after(async () => { await browser?.close(); await server?.stop(); });

const near = (a, b, eps, what) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`);
const imagePointAt = (v, x, y) => ({ x: (x - v.offsetX) / v.zoom, y: (y - v.offsetY) / v.zoom });

async function settle() {
  // Two animation frames: the wasm loop runs on requestAnimationFrame.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

test('a wheel notch zooms by 1.2 around the cursor, keeping the image point under it', async () => {
  await page.evaluate(() => polymark.fit());
  await settle();
  const before = await view(page);
  await page.mouse.move(400, 300);
  await page.mouse.wheel(0, -100);
  await until(page, (z) => polymark.getView().zoom !== z, before.zoom);
  const after = await view(page);
  near(after.zoom / before.zoom, 1.2, 1e-9, 'zoom factor');
  const p0 = imagePointAt(before, 400, 300); const p1 = imagePointAt(after, 400, 300);
  near(p1.x, p0.x, 1e-6, 'image x under cursor');
  near(p1.y, p0.y, 1e-6, 'image y under cursor');
  await page.mouse.wheel(0, 100);
  await until(page, (z) => Math.abs(polymark.getView().zoom - z) < 1e-9, before.zoom);
});

test('middle-drag pans by exactly the mouse movement', async () => {
  const before = await view(page);
  await page.mouse.move(500, 400);
  await page.mouse.down({ button: 'middle' });
  await page.mouse.move(530, 380, { steps: 4 });
  await page.mouse.move(560, 350, { steps: 4 });
  await page.mouse.up({ button: 'middle' });
  await settle();
  const after = await view(page);
  near(after.offsetX - before.offsetX, 60, 1e-6, 'pan x');
  near(after.offsetY - before.offsetY, -50, 1e-6, 'pan y');
  assert.equal(after.zoom, before.zoom);
});

test('space plus left-drag pans; a left-drag alone does not', async () => {
  const untouched = await view(page);
  await page.mouse.move(450, 350);
  await page.mouse.down();
  await page.mouse.move(480, 350, { steps: 3 });
  await page.mouse.up();
  await settle();
  const before = await view(page);
  assert.equal(before.offsetX, untouched.offsetX);
  assert.equal(before.offsetY, untouched.offsetY);
  await page.keyboard.down('Space');
  await settle();
  await page.mouse.down();
  await page.mouse.move(410, 370, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Space');
  await settle();
  const after = await view(page);
  near(after.offsetX - before.offsetX, -70, 1e-6, 'pan x'); // from 480 (where the plain drag ended) to 410
  near(after.offsetY - before.offsetY, 20, 1e-6, 'pan y');
});

test('] and [ zoom around the cursor, 0 fits the image again', async () => {
  await page.mouse.move(300, 250);
  const before = await view(page);
  await page.keyboard.press(']');
  await until(page, (z) => polymark.getView().zoom !== z, before.zoom);
  const zoomed = await view(page);
  near(zoomed.zoom / before.zoom, 1.2, 1e-9, 'key zoom in');
  const p0 = imagePointAt(before, 300, 250); const p1 = imagePointAt(zoomed, 300, 250);
  near(p1.x, p0.x, 1e-6, 'anchor x');
  await page.keyboard.press('[');
  await until(page, (z) => Math.abs(polymark.getView().zoom - z) < 1e-9, before.zoom);
  await page.keyboard.press('0');
  await until(page, () => { const v = polymark.getView(); return Math.abs(v.offsetY + 512 * v.zoom / 2 - (v.viewport.y + v.viewport.height / 2)) < 0.5; });
  const fitted = await view(page);
  near(fitted.zoom, Math.min((fitted.viewport.width - 32) / 512, (fitted.viewport.height - 32) / 512), 1e-9, 'fit zoom');
});

test('F and D step frames and fire frame events', async () => {
  await page.evaluate(() => { window.frames_seen = []; polymark.on('frame', (d) => frames_seen.push(d.frame)); });
  await page.mouse.move(500, 300);
  await page.keyboard.press('f');
  await until(page, () => polymark.getView().frame === 1);
  await page.keyboard.press('d');
  await until(page, () => polymark.getView().frame === 0);
  assert.deepEqual(await page.evaluate(() => window.frames_seen), [1, 0]);
  assert.deepEqual(page.problems, []);
});

test('an image wider than the largest GPU texture is shown whole, through tiles', async () => {
  const { WIDE } = await import('./harness.mjs');
  await page.evaluate(() => polymark.setFrame(5));
  await until(page, (w) => polymark.getView().imageWidth === w, WIDE.width);
  await page.evaluate(() => polymark.fit());
  await settle();
  const v = await view(page);
  const shot = decodePng(await page.screenshot());
  const y = Math.round(v.offsetY + (WIDE.height / 2) * v.zoom);
  const at = (ix) => meanColour(shot, Math.round(v.offsetX + ix * v.zoom) - 1, y - 1, 3, 3);
  const isRed = (c) => c[0] > 150 && c[2] < 100;
  const isBlue = (c) => c[2] > 150 && c[0] < 100;
  assert.ok(isRed(at(100)), `left of the image: ${at(100)}`);
  assert.ok(isRed(at(WIDE.split - 300)), `just left of the tile edge: ${at(WIDE.split - 300)}`);
  assert.ok(isBlue(at(WIDE.split + 300)), `the second tile: ${at(WIDE.split + 300)}`);
  assert.ok(isBlue(at(WIDE.width - 100)), `right end: ${at(WIDE.width - 100)}`);
  await page.evaluate(() => polymark.setFrame(0));
});

test('brightness, contrast and gamma change what is shown, never the pixels or the view', async () => {
  await page.evaluate(() => { polymark.setFrame(0); polymark.fit(); });
  await settle();
  const v = await view(page);
  const centre = [Math.round(v.offsetX + 256 * v.zoom), Math.round(v.offsetY + 256 * v.zoom)];
  const sample = async () => meanColour(decodePng(await page.screenshot()), centre[0] - 10, centre[1] - 10, 20, 20);
  const plain = await sample();
  const brighter = await page.evaluate(() => polymark.setImageAdjust({ brightness: 0.3 }));
  assert.deepEqual(brighter, { brightness: 0.3, contrast: 1, gamma: 1 });
  await settle();
  const lit = await sample();
  for (let k = 0; k < 3; k++) assert.ok(lit[k] >= Math.min(255, plain[k] + 40), `channel ${k}: ${plain[k]} -> ${lit[k]}`);
  await page.evaluate(() => polymark.setImageAdjust({ brightness: 0, contrast: 0.2 }));
  await settle();
  const flat = await sample();
  for (let k = 0; k < 3; k++) assert.ok(Math.abs(flat[k] - 128) < Math.abs(plain[k] - 128) + 1, `channel ${k} towards grey: ${plain[k]} -> ${flat[k]}`);
  await page.evaluate(() => polymark.setImageAdjust({ contrast: 1, gamma: 2.2 }));
  await settle();
  const gamma = await sample();
  assert.ok(gamma[0] > plain[0] + 10, `gamma lightens mid-tones: ${plain[0]} -> ${gamma[0]}`);
  assert.deepEqual((await view(page)).adjust, { brightness: 0, contrast: 1, gamma: 2.2 });
  await page.evaluate(() => polymark.setImageAdjust({ gamma: 1 }));
  await settle();
  assert.deepEqual(await sample(), plain);
  const bad = await page.evaluate(() => { try { polymark.setImageAdjust({ gamma: 'x' }); return 'accepted'; } catch (e) { return e.code; } });
  assert.equal(bad, 'bad_argument');
});

test('a WebP image, which the core does not read, is decoded by the browser and shown', async () => {
  const p = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  await p.goto(`${server.url}/?task=test`);
  await p.evaluate(() => window.polymarkMount.then((i) => i.destroy()));
  const url = await p.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 32;
    const g = c.getContext('2d');
    g.fillStyle = 'rgb(220,30,30)'; g.fillRect(0, 0, 32, 32);
    g.fillStyle = 'rgb(30,30,220)'; g.fillRect(32, 0, 32, 32);
    return c.toDataURL('image/webp', 1);
  });
  assert.match(url, /^data:image\/webp;base64,/);
  const task = { format: 'polymark.task', version: 1, id: 'webp', media: [{ id: 'w', type: 'image', url }], labels: [{ id: 'x' }] };
  assert.equal(await p.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try { window.polymark = await Polymark.mount('#host', { taskObject: t }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
  }, task), 'ready');
  const v = await view(p, 'window.polymark');
  assert.deepEqual([v.imageWidth, v.imageHeight], [64, 32]);
  const shot = decodePng(await p.screenshot());
  const at = (ix, iy) => meanColour(shot, Math.round(v.offsetX + ix * v.zoom) - 2, Math.round(v.offsetY + iy * v.zoom) - 2, 4, 4);
  const left = at(12, 16); const right = at(52, 16);
  assert.ok(left[0] > 180 && left[2] < 80, `left half ${left}`);
  assert.ok(right[2] > 180 && right[0] < 80, `right half ${right}`);
  await p.context().close();
});
