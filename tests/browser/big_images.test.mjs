// Huge images cost bounded memory and show fast: a 16000 x 16000 PNG (under a megabyte on the
// wire) is shown at a reduced level, drawn and picked in full-image pixels, and released when its
// frame is left. A decompression bomb's header is refused by name, and the other frames still work.
// A text file named .mp4 is reported once, as not a video. Media are made at test time. Zoomed in,
// the visible region is decoded at full resolution: a 1-pixel checkerboard the level shows grey.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, decodePng, until, drawRect, frames } from './harness.mjs';
import { writePng, browserRssMB, watchPeak } from '../../bench/big_image.mjs';

const BIG = 16000;
// Generous: the old code took 9.3 s here (and much longer on this 2-core machine while building).
const SHOW_WITHIN_MS = 20000;
// The old code grew the browser by about 4.4 GB for this image and never gave it back.
const PEAK_GROWTH_MB = 1200;
const KEPT_GROWTH_MB = 400;
// A 1-pixel black and white checkerboard in the red quadrant, off the level's 4-pixel grid.
const CHECKER = [1001, 1003, 300];
// The view settles for 150 ms, then the rows down to the region are inflated: generous on 2 cores.
const DETAIL_WITHIN_MS = 10000;

let server; let browser; let page; const errors = [];
let baselineMB = 0;  // the browser before the big image was first shown

const view = () => page.evaluate(() => polymark.getView());

async function showFrame(n, width) {
  await page.evaluate((f) => polymark.setFrame(f), n);
  await until(page, (w) => { const v = polymark.getView(); return v.imageWidth === w && v.frameShown; }, width, 60000);
  await frames(page, 3);
}

before(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-big-'));
  writePng(path.join(tmp, 'big.png'), BIG, BIG, false, CHECKER);
  writePng(path.join(tmp, 'bomb.png'), 30000, 30000, true);
  fs.writeFileSync(path.join(tmp, 'fake.mp4'), 'this is a text file, not a video\n'.repeat(40));
  const demo = path.join(process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark'), 'demo');
  server = await startServer({
    extraMedia: {
      'big.png': path.join(tmp, 'big.png'), 'bomb.png': path.join(tmp, 'bomb.png'), 'fake.mp4': path.join(tmp, 'fake.mp4'),
      'astronaut.png': path.join(demo, 'astronaut.png'), 'chelsea.png': path.join(demo, 'chelsea.png'),
    },
  });
  fs.rmSync(tmp, { recursive: true, force: true });
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  const task = {
    format: 'polymark.task', version: 1, id: 'big-images',
    media: [
      { id: 'photo', type: 'image', url: '/media/extra/astronaut.png' },
      { id: 'big', type: 'image', url: '/media/extra/big.png' },
      { id: 'bomb', type: 'image', url: '/media/extra/bomb.png' },
      { id: 'fake', type: 'video', url: '/media/extra/fake.mp4', frames: 5, fps: 25 },
      { id: 'cat', type: 'image', url: '/media/extra/chelsea.png' },
    ],
    labels: [{ id: 'cat', name: 'Cat' }],
  };
  const outcome = await page.evaluate(async (t) => {
    polymark.destroy();
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: t });
      return 'ready';
    } catch (e) { return e.code + ': ' + e.message; }
  }, task);
  assert.equal(outcome, 'ready');
  await page.exposeFunction('recordError', (e) => errors.push(e));
  await page.evaluate(() => polymark.on('error', (e) => window.recordError(e)));
});
after(async () => { await browser?.close(); await server?.stop(); });

test('a 16000 x 16000 png shows fast at a reduced level, with the browser memory bounded', async () => {
  await frames(page, 5);
  const baseline = browserRssMB();
  baselineMB = baseline;
  const started = Date.now();
  const { peak } = await watchPeak(() => showFrame(1, BIG));
  const elapsed = Date.now() - started;
  const v = await view();
  console.log(`big image: shown in ${elapsed} ms, level 1/${v.imageLevel}; browser ${baseline.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`);
  assert.ok(elapsed < SHOW_WITHIN_MS, `shown after ${elapsed} ms`);
  assert.equal(v.imageHeight, BIG);
  assert.ok(v.imageLevel > 1, 'shown at a reduced level');
  assert.ok(peak - baseline < PEAK_GROWTH_MB, `the browser grew by ${(peak - baseline).toFixed(0)} MB while showing it`);

  // The level lies exactly on the image: the quadrants meet at image (8000, 8000) on screen too.
  const shot = decodePng(await page.screenshot());
  const colourAt = (x, y) => {
    const i = (Math.round(v.offsetY + y * v.zoom) * shot.width + Math.round(v.offsetX + x * v.zoom)) * 4;
    return [...shot.rgba.subarray(i, i + 3)];
  };
  const near = (c, want) => c.every((x, k) => Math.abs(x - want[k]) < 30);
  const margin = 3 / v.zoom;  // three screen pixels from the border, in image pixels
  assert.ok(near(colourAt(8000 - margin, 8000 - margin), [200, 40, 40]), 'top left is red');
  assert.ok(near(colourAt(8000 + margin, 8000 - margin), [40, 40, 200]), 'top right is blue');
  assert.ok(near(colourAt(8000 - margin, 8000 + margin), [40, 200, 40]), 'bottom left is green');
  assert.ok(near(colourAt(8000 + margin, 8000 + margin), [220, 220, 40]), 'bottom right is yellow');
  assert.ok(near(colourAt(BIG - margin, BIG - margin), [220, 220, 40]), 'the far corner is the image, not past it');
});

test('a shape drawn on the reduced level is stored and picked in full-image pixels', async () => {
  await drawRect(page, [4000, 4000], [12000, 10000], 'cat');
  const [rect] = await page.evaluate(() => polymark.getAnnotations().objects.filter((o) => o.type === 'rectangle'));
  assert.ok(rect, 'a rectangle was drawn');
  const v = await view();
  const tolerance = 2 / v.zoom;  // two screen pixels
  [4000, 4000, 12000, 10000].forEach((want, i) => assert.ok(Math.abs(rect.points[i] - want) <= tolerance, `coordinate ${i}: ${rect.points[i]} vs ${want}`));
  await page.evaluate(() => polymark.select([]));
  await page.mouse.click(v.offsetX + 8000 * v.zoom, v.offsetY + 7000 * v.zoom);
  await frames(page);
  const selected = await page.evaluate(() => polymark.getSelection());
  assert.deepEqual(selected, [rect.id]);
});

test('zoomed in, the visible region is decoded at full resolution, placed exactly, and released when zoomed out', async () => {
  await page.evaluate(() => polymark.fit());
  await frames(page, 3);
  let v = await view();
  const level = v.imageLevel;
  assert.equal(v.imageDetail, null, 'fitted: the level alone');
  // The real wheel, notch by notch, around the middle of the checkerboard.
  const spot = [CHECKER[0] + CHECKER[2] / 2, CHECKER[1] + CHECKER[2] / 2];
  await page.mouse.move(v.offsetX + spot[0] * v.zoom, v.offsetY + spot[1] * v.zoom);
  while (v.zoom < 3) {
    await page.mouse.wheel(0, -100);
    await until(page, (z) => polymark.getView().zoom !== z, v.zoom);
    v = await view();
  }
  const zoomedAt = Date.now();
  await until(page, () => polymark.getView().imageDetail !== null, undefined, DETAIL_WITHIN_MS);
  const detailMs = Date.now() - zoomedAt;
  await frames(page, 3);
  v = await view();
  const d = v.imageDetail;
  console.log(`detail: ${JSON.stringify(d)} shown ${detailMs} ms after the last wheel step (zoom ${v.zoom.toFixed(2)}, level 1/${level})`);
  assert.equal(d.level, 1, 'full resolution at this zoom');
  const rss = browserRssMB();
  assert.ok(rss - baselineMB < PEAK_GROWTH_MB, `the browser grew by ${(rss - baselineMB).toFixed(0)} MB with the detail shown`);
  // The region holds the whole view.
  const left = -v.offsetX / v.zoom, top = -v.offsetY / v.zoom;
  assert.ok(d.x <= Math.max(0, left) + 1 && d.y <= Math.max(0, top) + 1, `region ${JSON.stringify(d)} starts left of and above the view`);
  assert.ok(d.x + d.width >= left + v.viewport.width / v.zoom - 1 && d.y + d.height >= top + v.viewport.height / v.zoom - 1, 'and ends past it');
  // Each image pixel of the checkerboard is its own colour on screen, exactly where it lies.
  const shot = decodePng(await page.screenshot());
  const colourAt = (x, y) => {
    const i = (Math.floor(v.offsetY + (y + 0.5) * v.zoom) * shot.width + Math.floor(v.offsetX + (x + 0.5) * v.zoom)) * 4;
    return [...shot.rgba.subarray(i, i + 3)];
  };
  for (let dy = -3; dy <= 3; dy++) {
    for (let dx = -3; dx <= 3; dx++) {
      const x = Math.floor(spot[0]) + dx, y = Math.floor(spot[1]) + dy;
      const want = (x + y) % 2 === 0 ? 255 : 0;
      const got = colourAt(x, y);
      assert.ok(got.every((c) => Math.abs(c - want) < 40), `image pixel (${x}, ${y}) is ${got}, not ${want}: the full-resolution checkerboard`);
    }
  }
  // Zoomed out again past the level's resolution (the wheel again): the region is released.
  while (v.zoom * level > 1) {
    await page.mouse.wheel(0, 100);
    await until(page, (z) => polymark.getView().zoom !== z, v.zoom);
    v = await view();
  }
  await until(page, () => polymark.getView().imageDetail === null, undefined, 5000);

  // A jump far down the image (rows to inflate before the region): how long until the detail shows,
  // and how long the frames are meanwhile (the decode is sliced over frames).
  const far = [4000.5, 12000.5];
  await page.evaluate(([x, y]) => {
    const g = polymark.getView();
    polymark.setView({ zoom: 2, offsetX: g.viewport.width / 2 - x * 2, offsetY: g.viewport.height / 2 - y * 2 });
    window.frameGaps = [];
    let last = performance.now();
    const tick = (t) => { window.frameGaps.push(t - last); last = t; if (window.frameGaps.length < 2000) window.frameRaf = requestAnimationFrame(tick); };
    window.frameRaf = requestAnimationFrame(tick);
  }, far);
  const jumpedAt = Date.now();
  await until(page, () => polymark.getView().imageDetail !== null, undefined, DETAIL_WITHIN_MS * 2);
  const jumpMs = Date.now() - jumpedAt;
  const gaps = await page.evaluate(() => { cancelAnimationFrame(window.frameRaf); return window.frameGaps.slice(1).sort((a, b) => a - b); });
  v = await view();
  console.log(`detail after a jump to rows near ${far[1]}: ${JSON.stringify(v.imageDetail)} in ${jumpMs} ms; frame gaps meanwhile: median ${gaps[gaps.length >> 1]?.toFixed(0)} ms, max ${gaps[gaps.length - 1]?.toFixed(0)} ms over ${gaps.length}`);
  assert.ok(v.imageDetail.x <= far[0] && v.imageDetail.y <= far[1] && v.imageDetail.x + v.imageDetail.width > far[0] && v.imageDetail.y + v.imageDetail.height > far[1]);
  // Back to the whole image: the region goes with the zoom.
  await page.evaluate(() => polymark.fit());
  await until(page, () => polymark.getView().imageDetail === null, undefined, 5000);
});

test('leaving the big image releases it: going back and forth does not grow the browser', async () => {
  await showFrame(0, 512);
  await frames(page, 10);
  const samples = [];
  for (let round = 0; round < 3; round++) {
    await showFrame(1, BIG);
    await showFrame(0, 512);
    await frames(page, 10);
    samples.push(browserRssMB());
  }
  console.log('after each round trip (MB):', samples.map((m) => m.toFixed(0)).join(', '));
  assert.ok(samples[2] - baselineMB < KEPT_GROWTH_MB, `${(samples[2] - baselineMB).toFixed(0)} MB more than before the big image was first shown`);
  assert.ok(samples[2] - samples[0] < KEPT_GROWTH_MB / 2, `grew by ${(samples[2] - samples[0]).toFixed(0)} MB over two more round trips`);
});

test('a decompression bomb is refused as too_large by its header, and the other frames still work', async () => {
  errors.length = 0;
  await page.evaluate(() => polymark.setFrame(2));
  const started = Date.now();
  while (!errors.some((e) => e.code === 'too_large') && Date.now() - started < 15000) await frames(page, 2);
  const refused = errors.find((e) => e.code === 'too_large');
  assert.ok(refused, 'errors: ' + JSON.stringify(errors));
  assert.match(refused.message, /^bomb\.png is 30000 x 30000 pixels \(900 megapixels\), above the limit of 268 megapixels/);
  assert.match(refused.where, /bomb\.png$/);
  await showFrame(8, 451);  // chelsea.png, after the five frames of fake.mp4
  await showFrame(1, BIG);
});

test('a text file named .mp4 is reported once, as not a video', async () => {
  errors.length = 0;
  await page.evaluate(() => polymark.setFrame(3));
  const started = Date.now();
  while (Date.now() - started < 6000) await frames(page, 2);
  const about = errors.filter((e) => /fake\.mp4/.test(e.where + e.message));
  assert.equal(about.length, 1, JSON.stringify(errors, null, 1));
  assert.match(about[0].message, /fake\.mp4/);
  assert.match(about[0].message, /not a video/);
  await showFrame(0, 512);
  assert.deepEqual(page.problems.filter((p) => !/fake\.mp4|bomb\.png/.test(p)), []);
});
