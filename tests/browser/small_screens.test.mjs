// Small canvases (issue 14): at 1920x1080, 1280x720, 800x600 and 480x360 every toolbar control is
// on the bar or in its More menu (opened with a real click), none overlaps another or leaves the
// canvas, each is drawn (the screenshot differs from a flat fill there), the status bar's items do
// not overlap, and the sidebar is beside the image or shown over it by Panels. Then: a fitted image
// stays fitted through a resize, and the second editor of one task on one page says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, decodePng, frames, until } from './harness.mjs';

const TOOLBAR = ['frame', 'fit', 'zoom-out', 'zoom-in', 'tool-select', 'tool-box', 'tool-polygon', 'tool-line', 'tool-points',
  'tool-ellipse', 'tool-scissors', 'tool-wand', 'tool-outline', 'label', 'snap', 'edges', 'track', 'undo', 'redo', 'panels', 'data', 'help'];
const SIZES = [[1920, 1080], [1280, 720], [800, 600], [480, 360]];
let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

const layout = async (page) => (await page.evaluate(() => polymark.getLayout())).controls;
const overlap = (a, b) => Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 0.5 &&
  Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 0.5;
const click = (page, c) => page.mouse.click(c.x + c.width / 2, c.y + c.height / 2);

function assertApart(controls, what) {
  for (let i = 0; i < controls.length; i++) {
    for (let j = i + 1; j < controls.length; j++) {
      assert.ok(!overlap(controls[i], controls[j]), `${what}: ${controls[i].id} overlaps ${controls[j].id}: ${JSON.stringify([controls[i], controls[j]])}`);
    }
  }
}

// Drawn: the pixels inside the control's rectangle are not one flat colour.
function assertDrawn(img, c) {
  const seen = new Set();
  for (let y = Math.ceil(c.y); y < Math.floor(c.y + c.height); y++) {
    for (let x = Math.ceil(c.x); x < Math.floor(c.x + c.width); x++) {
      const i = (y * img.width + x) * 4;
      seen.add((img.rgba[i] >> 3) * 1024 + (img.rgba[i + 1] >> 3) * 32 + (img.rgba[i + 2] >> 3));
    }
  }
  assert.ok(seen.size >= 2, `${c.id} is not drawn at ${JSON.stringify(c)}`);
}

for (const [width, height] of SIZES) {
  test(`at ${width}x${height} every control is reachable, drawn, inside the canvas and apart from the others`, async () => {
    const page = await openPage(browser, undefined, { viewport: { width, height } });
    assert.equal(await mountDemo(page, server.url), 'ready');
    await frames(page, 4);
    let controls = await layout(page);
    const bar = controls.filter((c) => c.place === 'toolbar');
    const onBar = bar.map((c) => c.id).filter((id) => id !== 'more');
    for (const c of bar) assert.ok(c.x >= 0 && c.x + c.width <= width && c.y >= 0 && c.y + c.height <= 34, `${c.id} leaves the toolbar: ${JSON.stringify(c)}`);
    assertApart(bar, 'toolbar');
    const status = controls.filter((c) => c.place === 'status');
    for (const c of status) assert.ok(c.x >= 0 && c.x + c.width <= width + 0.5 && c.y >= height - 26, `${c.id} leaves the status bar: ${JSON.stringify(c)}`);
    assertApart(status, 'status bar');
    for (const id of ['status-frame', 'status-sync']) assert.ok(status.some((c) => c.id === id), `${id} is not shown`);
    const img = decodePng(await page.screenshot());
    for (const c of bar) assertDrawn(img, c);

    let inMenu = [];
    const more = bar.find((c) => c.id === 'more');
    if (width >= 1280) assert.equal(more, undefined, 'a wide toolbar needs no More menu');
    if (more) {
      await click(page, more);
      await frames(page, 3);
      const menu = (await layout(page)).filter((c) => c.place === 'more');
      inMenu = menu.map((c) => c.id);
      assertApart(menu, 'More menu');
      for (const c of menu) assert.ok(c.x >= 0 && c.x + c.width <= width && c.y + c.height <= height, `${c.id} leaves the canvas: ${JSON.stringify(c)}`);
      const shot = decodePng(await page.screenshot());
      for (const c of menu) assertDrawn(shot, c);
      await page.keyboard.press('Escape');
      await frames(page, 2);
    }
    assert.deepEqual([...onBar, ...inMenu].sort(), [...TOOLBAR].sort(), 'every toolbar control is on the bar or in More, once');

    // The sidebar: beside the image when wide, hidden and then shown over it by Panels when narrow.
    controls = await layout(page);
    let sidebar = controls.find((c) => c.id === 'sidebar');
    if (width >= 640) {
      assert.ok(sidebar, 'the sidebar is shown');
      const v = await page.evaluate(() => polymark.getView());
      assert.ok(v.viewport.x + v.viewport.width <= sidebar.x + 0.5, 'the sidebar is beside the image');
    } else {
      assert.equal(sidebar, undefined, 'a narrow canvas starts without the sidebar');
      const panels = controls.find((c) => c.id === 'panels' || c.id === 'more');
      await click(page, panels);
      await frames(page, 3);
      if (panels.id === 'more') {
        await click(page, (await layout(page)).find((c) => c.id === 'panels' && c.place === 'more'));
        await frames(page, 3);
      }
      sidebar = (await layout(page)).find((c) => c.id === 'sidebar');
      assert.ok(sidebar, 'Panels shows the sidebar');
      assert.ok(sidebar.x >= 0 && sidebar.x + sidebar.width <= width + 0.5, JSON.stringify(sidebar));
    }
    assert.deepEqual(page.problems, []);
    await page.context().close();
  });
}

test('a fitted image is fitted again when the page shrinks, and a zoomed one keeps its centre', async () => {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 720 } });
  assert.equal(await mountDemo(page, server.url), 'ready');
  const fits = (v) => {
    const w = v.imageWidth * v.zoom; const h = v.imageHeight * v.zoom;
    return w <= v.viewport.width + 0.5 && h <= v.viewport.height + 0.5 && (v.viewport.width - w <= 33 || v.viewport.height - h <= 33);
  };
  assert.ok(fits(await page.evaluate(() => polymark.getView())));
  await page.setViewportSize({ width: 800, height: 600 });
  await until(page, () => polymark.getView().viewport.width < 600);
  assert.ok(fits(await page.evaluate(() => polymark.getView())), 'refitted at 800x600');
  const zoomed = await page.evaluate(() => { const v = polymark.getView(); return polymark.setView({ zoom: v.zoom * 3, offsetX: v.offsetX, offsetY: v.offsetY }); });
  await page.setViewportSize({ width: 1280, height: 720 });
  await until(page, () => polymark.getView().viewport.width > 600);
  const v = await page.evaluate(() => polymark.getView());
  assert.equal(v.zoom, zoomed.zoom, 'a zoomed view keeps its zoom');
  await page.context().close();
});

test('the second editor of one task on one page is read-only and says the other editor here has it', async () => {
  const page = await openPage(browser, `${server.url}/embed-example.html?task=test`, { viewport: { width: 1100, height: 500 } });
  await page.evaluate(() => window.editors);
  const statuses = await page.evaluate(() => window.editors.then((eds) => eds.map((e) => e.getSyncStatus())));
  const readOnly = statuses.filter((s) => s.state === 'read-only');
  assert.equal(readOnly.length, 1, JSON.stringify(statuses));
  assert.equal(readOnly[0].message, 'open in another editor on this page');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
