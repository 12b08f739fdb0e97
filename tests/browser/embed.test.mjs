// Embedding for real: two instances on one page are independent, keys reach only the focused
// one, a host <input> keeps its keys, and mount/destroy cycles leave nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, until } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

async function openTwo() {
  const page = await openPage(browser, null, { viewport: { width: 1100, height: 600 } });
  await page.goto(`${server.url}/embed-example.html?task=test&right=1`);
  await page.evaluate(() => window.editors.then(([a, b]) => { window.left = a; window.right = b; }));
  return page;
}

const centreOf = async (page, id) => {
  const box = await page.locator('#' + id).boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
};

test('two instances draw their own images on their own canvases', async () => {
  const page = await openTwo();
  const [l, r] = await page.evaluate(() => [left.getView(), right.getView()]);
  assert.equal(l.frame, 0);
  assert.equal(l.imageWidth, 512);
  assert.equal(r.frame, 1);
  assert.equal(r.imageWidth, 451);
  const ids = await page.evaluate(() => [left.canvas.id, right.canvas.id, left.canvas.parentElement.parentElement.id, right.canvas.parentElement.parentElement.id]);
  assert.notEqual(ids[0], ids[1]);
  assert.deepEqual(ids.slice(2), ['left', 'right']);
  assert.deepEqual(page.problems, []);
});

test('keys reach only the focused instance; the wheel only the one under the cursor', async () => {
  const page = await openTwo();
  const l0 = await page.evaluate(() => left.getView());
  const r0 = await page.evaluate(() => right.getView());
  const rc = await centreOf(page, 'right');
  await page.mouse.click(rc.x, rc.y);
  await page.keyboard.press(']');
  await until(page, (z) => right.getView().zoom !== z, r0.zoom);
  await page.keyboard.press('d');
  await until(page, () => right.getView().frame === 0);
  const l1 = await page.evaluate(() => left.getView());
  assert.equal(l1.zoom, l0.zoom);
  assert.equal(l1.frame, 0);
  const lc = await centreOf(page, 'left');
  await page.mouse.click(lc.x, lc.y);
  await page.keyboard.press('f');
  await until(page, () => left.getView().frame === 1);
  const r1 = await page.evaluate(() => right.getView());
  assert.equal(r1.frame, 0);
  await page.mouse.move(lc.x, lc.y);
  await page.mouse.wheel(0, -100);
  await until(page, (z) => left.getView().zoom !== z, l0.zoom);
  assert.equal(await page.evaluate(() => right.getView().zoom), r1.zoom);
});

test('a host input keeps Backspace, arrows, Tab and Ctrl+V while instances are mounted', async () => {
  const page = await openTwo();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const rc = await centreOf(page, 'right');
  await page.mouse.click(rc.x, rc.y); // an instance had focus before
  await page.click('#host-input');
  await page.keyboard.type('labels');
  await page.keyboard.press('Backspace');
  assert.equal(await page.inputValue('#host-input'), 'label');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.type('X');
  assert.equal(await page.inputValue('#host-input'), 'labXel');
  await page.evaluate(() => navigator.clipboard.writeText('-pasted'));
  await page.keyboard.press('End');
  await page.keyboard.press('Control+V');
  assert.equal(await page.inputValue('#host-input'), 'labXel-pasted');
  // Typing F and D in the host input must not step the instances' frames.
  await page.keyboard.type('fd');
  assert.deepEqual(await page.evaluate(() => [left.getView().frame, right.getView().frame]), [0, 1]);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'polymark-canvas-1');
});

test('twenty mount/destroy cycles leave no listeners and no live WebGL contexts', async () => {
  const page = await openPage(browser);
  await page.addInitScript(() => {
    window.glContexts = [];
    const original = HTMLCanvasElement.prototype.getContext;
    HTMLCanvasElement.prototype.getContext = function (type, attrs) {
      const ctx = original.call(this, type, attrs);
      if (ctx && (type === 'webgl2' || type === 'webgl') && !window.glContexts.includes(ctx)) window.glContexts.push(ctx);
      return ctx;
    };
  });
  await page.goto(`${server.url}/embed-example.html?task=test`);
  await page.evaluate(() => window.editors.then((list) => list.forEach((e) => e.destroy())));
  const cdp = await page.context().newCDPSession(page);
  const listenerCount = async () => {
    let total = 0;
    for (const expr of ['window', 'document']) {
      const { result } = await cdp.send('Runtime.evaluate', { expression: expr });
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
      total += listeners.length;
    }
    return total;
  };
  const baseline = await listenerCount();
  const cycles = await page.evaluate(async () => {
    const host = document.getElementById('left');
    let done = 0;
    for (let i = 0; i < 20; i++) {
      const pm = await Polymark.mount(host, { task: 'test', frame: i % 2 });
      if (pm.getView().imageWidth === 0) throw new Error('cycle ' + i + ' showed no image');
      pm.destroy();
      done++;
    }
    return done;
  });
  assert.equal(cycles, 20);
  assert.equal(await listenerCount(), baseline);
  const live = await page.evaluate(() => window.glContexts.filter((c) => !c.isContextLost()).length);
  assert.equal(live, 0);
  assert.equal(await page.evaluate(() => document.querySelectorAll('canvas').length), 0);
  // The page still mounts after the cycles: no context starvation.
  assert.equal(await page.evaluate(() => Polymark.mount(document.getElementById('right'), { task: 'test' }).then(() => 'ok')), 'ok');
  assert.deepEqual(page.problems.filter((p) => !/WebGL context was lost|CONTEXT_LOST/.test(p)), []);
});

test('calls on a destroyed instance fail with a clear error instead of touching freed memory', async () => {
  const page = await openTwo();
  const result = await page.evaluate(() => { left.destroy(); try { left.getView(); return 'no error'; } catch (e) { return e.code; } });
  assert.equal(result, 'destroyed');
  assert.equal(await page.evaluate(() => right.getView().imageWidth), 451);
});
