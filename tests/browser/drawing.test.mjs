// Drawing without a GPU: headless Chromium's WebGL is SwiftShader, a software rasteriser, so
// drawing "auto" goes through the scene cache. The cache must show what direct drawing shows,
// follow every change at once, keep pans cheap, and give back a sharp still frame at DPR 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, frames, drag, view, decodePng, until } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

const TASK = {
  format: 'polymark.task', version: 1, id: 'drawing', media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
  labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }, { id: 'person', name: 'Person', color: '#e6194b' }],
};
const SCENE = {
  format: 'polymark.annotations', version: 1, objects: [
    { id: 'box', type: 'rectangle', frame: 0, label: 'cat', points: [40, 40, 200, 160] },
    { id: 'turned', type: 'rectangle', frame: 0, label: 'person', points: [260, 60, 420, 180], rotation: 25, occluded: true },
    { id: 'poly', type: 'polygon', frame: 0, label: 'person', points: [60, 260, 220, 240, 240, 420, 120, 460, 50, 380] },
    { id: 'line', type: 'polyline', frame: 0, label: 'cat', points: [280, 280, 360, 300, 400, 420, 470, 380] },
    { id: 'dots', type: 'points', frame: 0, label: 'cat', points: [300, 460, 330, 470, 360, 455] },
    { id: 'oval', type: 'ellipse', frame: 0, label: 'person', points: [380, 220, 480, 270] },
  ],
};

// A page with polymark.js and one inline mount (no backend) drawing as asked.
async function mounted(drawing, { dpr = 1 } = {}) {
  const page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  if (dpr !== 1) {
    await page.context().close();
    const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, deviceScaleFactor: dpr });
    return mountIn(await context.newPage(), drawing);
  }
  return mountIn(page, drawing);
}
async function mountIn(page, drawing) {
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  const outcome = await page.evaluate(async ({ task, scene, drawing }) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: task, annotations: scene, drawing });
      return 'ready';
    } catch (e) { return `${e.code}: ${e.message}`; }
  }, { task: TASK, scene: SCENE, drawing });
  return { page, outcome };
}

// The viewport's pixels (device pixels), once the view has been still long enough to settle.
async function viewportPixels(page) {
  await page.waitForTimeout(400);
  await frames(page, 3);
  const v = await view(page);
  const shot = decodePng(await page.screenshot({ clip: { x: v.viewport.x, y: v.viewport.y, width: v.viewport.width, height: v.viewport.height } }));
  return shot;
}
const pixel = (img, x, y) => Array.from(img.rgba.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3));

test('drawing "auto" goes through the scene cache on a software rasteriser, and says so', async () => {
  const { page, outcome } = await mounted(undefined);
  assert.equal(outcome, 'ready');
  const r = await page.evaluate(() => polymark.getRendering());
  assert.match(r.renderer, /swiftshader/i, 'headless Chromium draws WebGL with SwiftShader');
  assert.equal(r.software, true);
  assert.equal(r.drawing, 'cached');
  assert.ok(r.sceneCaptures >= 1, 'the first frame painted the scene into the cache');
  await page.context().close();
});

test('a cached frame shows what a direct frame shows, pixel for pixel', async () => {
  const direct = await mounted('direct');
  const cached = await mounted('cached');
  assert.equal((await direct.page.evaluate(() => polymark.getRendering())).drawing, 'direct');
  assert.equal((await direct.page.evaluate(() => polymark.getRendering())).sceneCaptures, 0);
  for (const { page } of [direct, cached]) await page.evaluate(() => polymark.setView({ zoom: 1.3, offsetX: 10, offsetY: 50 }));
  const a = await viewportPixels(direct.page);
  const b = await viewportPixels(cached.page);
  assert.equal(a.width, b.width);
  let differing = 0; let worst = 0;
  for (let i = 0; i < a.rgba.length; i += 4) {
    const d = Math.max(Math.abs(a.rgba[i] - b.rgba[i]), Math.abs(a.rgba[i + 1] - b.rgba[i + 1]), Math.abs(a.rgba[i + 2] - b.rgba[i + 2]));
    worst = Math.max(worst, d);
    if (d > 2) differing++;
  }
  assert.ok(differing < a.width * a.height * 0.001, `${differing} of ${a.width * a.height} pixels differ (worst by ${worst})`);
  for (const { page } of [direct, cached]) await page.context().close();
});

test('an edit, the outline width and the image adjustments show at once through the cache', async () => {
  const { page } = await mounted('cached');
  await page.evaluate(() => polymark.setView({ zoom: 1.2, offsetX: 20, offsetY: 60 }));
  const v = await view(page);
  const at = (x, y) => [Math.round(x * v.zoom + v.offsetX - v.viewport.x), Math.round(y * v.zoom + v.offsetY - v.viewport.y)];
  const green = (p) => p[1] > 140 && p[0] < 120 && p[2] < 120;
  let img = await viewportPixels(page);
  assert.ok(green(pixel(img, ...at(70, 160))), `the box's bottom edge is drawn: ${pixel(img, ...at(70, 160))}`);
  assert.ok(!green(pixel(img, ...at(230, 160))));
  // A real mouse drag moves the box 60 image pixels right: its bottom edge's left end goes, a new right end shows.
  await page.evaluate(() => polymark.setTool('select'));
  await page.mouse.click(...[100 * v.zoom + v.offsetX, 100 * v.zoom + v.offsetY]);
  await frames(page);
  await drag(page, [100, 100], [160, 100], 10);
  assert.deepEqual((await page.evaluate(() => polymark.getAnnotations())).objects.find((o) => o.id === 'box').points, [100, 40, 260, 160]);
  await page.evaluate(() => polymark.select([]));
  img = await viewportPixels(page);
  assert.ok(!green(pixel(img, ...at(70, 160))), `the old edge is gone: ${pixel(img, ...at(70, 160))}`);
  assert.ok(green(pixel(img, ...at(230, 160))), `the moved edge is drawn: ${pixel(img, ...at(230, 160))}`);
  // Wider outlines reach a pixel three CSS pixels off the edge.
  const beside = [at(230, 160)[0], at(230, 160)[1] + 3];
  assert.ok(!green(pixel(img, ...beside)));
  await page.evaluate(() => polymark.setShapeStyle({ outlineWidth: 8 }));
  img = await viewportPixels(page);
  assert.ok(green(pixel(img, ...beside)), `an 8 px outline reaches 3 px out: ${pixel(img, ...beside)}`);
  // Brightness raised: the image's pixels brighten.
  const inside = at(300, 240);
  const before = pixel(img, ...inside);
  await page.evaluate(() => polymark.setImageAdjust({ brightness: 0.4 }));
  img = await viewportPixels(page);
  const after = pixel(img, ...inside);
  assert.ok(after[0] + after[1] + after[2] > before[0] + before[1] + before[2] + 150, `brighter: ${before} -> ${after}`);
  await page.context().close();
});

test('panning with the mouse shows the cache without painting the scene every frame, and the still frame is sharp at DPR 2', async () => {
  const { page } = await mounted('auto', { dpr: 2 });
  await page.evaluate(() => polymark.setView({ zoom: 1.2, offsetX: 20, offsetY: 60 }));
  await viewportPixels(page);
  const before = await page.evaluate(() => polymark.getRendering());
  const v = await view(page);
  // A middle-button drag pans: 24 moves, one per frame.
  const x0 = v.viewport.x + v.viewport.width / 2; const y0 = v.viewport.y + v.viewport.height / 2;
  await page.mouse.move(x0, y0);
  await page.mouse.down({ button: 'middle' });
  const canvasWidths = [];
  for (let i = 1; i <= 24; i++) {
    await page.mouse.move(x0 + i * 4, y0 + i * 2);
    await frames(page, 1);
    canvasWidths.push(await page.evaluate(() => { const c = document.querySelector('#host canvas'); return c.width / c.clientWidth; }));
    if (process.env.DEBUG_DRAWING) console.log(JSON.stringify(await page.evaluate(() => [polymark.getRendering(), performance.now()])));
  }
  await page.mouse.up({ button: 'middle' });
  const moved = await view(page);
  assert.ok(Math.abs(moved.offsetX - v.offsetX - 96) < 2 && Math.abs(moved.offsetY - v.offsetY - 48) < 2, `panned by (96, 48): ${JSON.stringify(moved)}`);
  const during = await page.evaluate(() => polymark.getRendering());
  assert.ok(during.sceneCaptures - before.sceneCaptures <= 2, `the scene was painted ${during.sceneCaptures - before.sceneCaptures} times for 24 frames of panning`);
  assert.ok(during.reducedFrames > before.reducedFrames, 'frames were drawn at one pixel per CSS pixel while moving');
  assert.ok(canvasWidths.includes(1), `while panning, the canvas held 1 pixel per CSS pixel: ${canvasWidths}`);
  // Still: the canvas holds 2 pixels per CSS pixel again.
  await until(page, () => { const c = document.querySelector('#host canvas'); return c.width === 2 * c.clientWidth; });
  await page.context().close();
});

test('options.drawing takes auto, cached or direct, and refuses anything else by name', async () => {
  const { page, outcome } = await mounted('fast');
  assert.match(outcome, /^bad_options: options\.drawing must be "auto", "cached" or "direct"/);
  await page.context().close();
});
