// The editor driven by real mouse and keyboard events in Chromium; every result is checked
// through the embedding API (getAnnotations, getSelection, getHistory, change events).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, view } from './harness.mjs';

let server; let browser; let page; let v;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  assert.equal(await mountDemo(page, server.url), 'ready');
  await page.evaluate(() => { window.changes = []; polymark.on('change', (e) => changes.push(e)); });
});
after(async () => { await browser?.close(); await server?.stop(); });

const EMPTY = { format: 'polymark.annotations', version: 1, objects: [] };
beforeEach(async () => {
  await page.evaluate((d) => { polymark.setAnnotations(d); polymark.setTool('select'); polymark.setFrame(0); polymark.fit(); changes.length = 0; }, EMPTY);
  await frames();
  v = await view(page);
});

// Image pixels to page pixels (the canvas fills the page).
const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
const near = (a, b, eps, what) => assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} vs ${b}`);
const eps = () => 1.5 / v.zoom;  // one and a half screen pixels, in image pixels
async function frames(n = 3) {
  for (let i = 0; i < n; i++) await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
}
async function click(x, y, options) { await page.mouse.click(...S(x, y), options); await frames(); }
async function drag(from, to, { steps = 8, button = 'left' } = {}) {
  await page.mouse.move(...S(...from));
  await frames(1);
  await page.mouse.down({ button });
  await frames(1);
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(...S(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps));
    await frames(1);
  }
  await page.mouse.up({ button });
  await frames();
}
async function press(key) { await page.keyboard.press(key); await frames(); }
const objects = () => page.evaluate(() => polymark.getAnnotations().objects);
const load = (objs) => page.evaluate((o) => { polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: o }); }, objs);
const poly = (id, points, extra = {}) => ({ id, type: 'polygon', frame: 0, label: 'cat', points, ...extra });
const setTool = (tool, label) => page.evaluate(([t, l]) => polymark.setTool(t, l), [tool, label]);

test('a rectangle is drawn by dragging, in image pixels, as one undoable command', async () => {
  await setTool('rectangle', 'person');
  await drag([100, 120], [300, 260]);
  const [r] = await objects();
  assert.equal(r.type, 'rectangle');
  assert.equal(r.label, 'person');
  [100, 120, 300, 260].forEach((c, i) => near(r.points[i], c, eps(), `coordinate ${i}`));
  assert.deepEqual(await page.evaluate(() => changes.map((c) => c.command)), ['draw rectangle']);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), [r.id]);
  await press('Control+z');
  assert.equal((await objects()).length, 0);
  await press('Control+Shift+z');
  assert.equal((await objects()).length, 1);
  await press('Control+z');
  await press('Control+y');
  assert.equal((await objects()).length, 1);
});

test('a polygon closes on its first vertex, or with Enter; N draws again with the same label', async () => {
  await setTool('polygon', 'cat');
  await click(100, 100); await click(200, 100); await click(150, 200); await click(100.5, 100.5);
  let objs = await objects();
  assert.equal(objs.length, 1);
  assert.equal(objs[0].points.length, 6);
  await press('n');
  assert.deepEqual(await page.evaluate(() => polymark.getTool()), { tool: 'polygon', label: 'cat', track: false, drawing: false });
  await click(300, 300); await click(400, 300); await click(400, 400); await click(300, 400);
  await press('Enter');
  objs = await objects();
  assert.equal(objs.length, 2);
  assert.equal(objs[1].points.length, 8);
  assert.equal(objs[1].label, 'cat');
});

test('Esc cancels a drawing and Backspace removes the last placed vertex', async () => {
  await setTool('polygon', 'cat');
  await click(100, 100); await click(200, 100); await click(150, 200);
  await press('Escape');
  await press('Enter');
  assert.equal((await objects()).length, 0);
  await setTool('polyline', 'cat');
  await click(100, 100); await click(200, 100); await click(300, 150);
  await press('Backspace');
  await press('Enter');
  const [line] = await objects();
  assert.equal(line.type, 'polyline');
  assert.equal(line.points.length, 4);
});

test('Shift+drag lays polygon vertices freehand at a fixed screen spacing', async () => {
  await setTool('polygon', 'cat');
  await click(100, 100);
  await page.keyboard.down('Shift');
  await drag([100, 100], [100 + 200, 100], { steps: 40 });
  await page.keyboard.up('Shift');
  await click(200, 250);
  await press('Enter');
  const [p] = await objects();
  const n = p.points.length / 2;
  // 200 image pixels at 8 screen pixels per vertex.
  const expected = (200 * v.zoom) / 8;
  assert.ok(n >= expected * 0.6 && n <= expected + 4, `${n} vertices for about ${expected}`);
});

test('points, ellipses and polylines are drawn with their own tools', async () => {
  await setTool('points', 'person');
  await click(50, 50); await click(60, 70);
  await press('Enter');
  await setTool('ellipse', 'person');
  await drag([200, 200], [260, 240]);
  const objs = await objects();
  assert.deepEqual(objs.map((o) => o.type), ['points', 'ellipse']);
  assert.equal(objs[0].points.length, 4);
  near(objs[1].points[2], 260, eps(), 'ellipse x2');
});

test('a click selects the topmost shape by z-order; Tab cycles; a box selects several', async () => {
  await load([poly('low', [100, 100, 300, 100, 300, 300, 100, 300], { z: 5 }), poly('high', [150, 150, 250, 150, 250, 250, 150, 250], { z: 1 }),
    poly('other', [350, 350, 450, 350, 450, 450])]);
  await frames();
  await click(200, 200);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), ['low']);  // z 5 is on top of z 1
  await press('Tab');
  const next = await page.evaluate(() => polymark.getSelection());
  assert.equal(next.length, 1);
  assert.notEqual(next[0], 'low');
  await press('Escape');
  await drag([90, 90], [320, 320]);
  assert.deepEqual((await page.evaluate(() => polymark.getSelection())).sort(), ['high', 'low']);
});

test('dragging a shape moves it as one command; locked shapes do not move', async () => {
  await load([poly('a', [100, 100, 200, 100, 150, 200])]);
  await frames();
  await click(150, 130);
  await drag([150, 130], [190, 170], { steps: 12 });
  const [a] = await objects();
  near(a.points[0], 140, eps(), 'moved x');
  near(a.points[1], 140, eps(), 'moved y');
  assert.deepEqual(await page.evaluate(() => changes.map((c) => c.command)), ['move shape']);
  await press('l');
  await drag([190, 170], [250, 250]);
  near((await objects())[0].points[0], 140, eps(), 'locked x');
});

test('vertices are dragged, inserted at edge midpoints and deleted, never below three', async () => {
  await load([poly('a', [100, 100, 300, 100, 300, 300, 100, 300])]);
  await frames();
  await click(200, 200);
  await drag([300, 300], [350, 320]);
  let [a] = await objects();
  near(a.points[4], 350, eps(), 'dragged vertex x');
  await drag([200, 100], [200, 60]);  // midpoint of the top edge
  [a] = await objects();
  assert.equal(a.points.length, 10);
  near(a.points[3], 60, eps(), 'inserted vertex y');
  await page.keyboard.down('Alt');
  await click(200, 60);
  await page.keyboard.up('Alt');
  assert.equal((await objects())[0].points.length, 8);
  await click(100, 300, { button: 'right' });
  assert.equal((await objects())[0].points.length, 6);
  await click(100, 100, { button: 'right' });
  assert.equal((await objects())[0].points.length, 6, 'a polygon keeps three vertices');
});

test('the rotation handle turns a rectangle about its centre', async () => {
  await load([{ id: 'r', type: 'rectangle', frame: 0, label: 'person', points: [200, 200, 300, 260] }]);
  await frames();
  await click(250, 230);
  // The handle sits above the top edge's middle; drag it to the right of the centre.
  const above = 200 - (6 * 6) / v.zoom;  // 6 pick radii of 6 screen pixels above the box's half height
  await drag([250, above + 0.5], [400, 230], { steps: 10 });
  const [r] = await objects();
  near(r.rotation, 90, 1, 'rotation');
  assert.deepEqual(r.points, [200, 200, 300, 260]);
});

test('Shift+click on a vertex redraws part of a polygon up to another vertex', async () => {
  await load([poly('a', [100, 100, 300, 100, 300, 140, 100, 140])]);
  await frames();
  await click(200, 120);
  await page.keyboard.down('Shift');
  await click(100, 100);
  await page.keyboard.up('Shift');
  await click(200, 40);
  await click(300, 100);
  const [a] = await objects();
  // The short side (the top edge) is replaced by the path through (200,40).
  assert.equal(a.points.length, 10);
  assert.ok(a.points.some((c, i) => i % 2 === 1 && Math.abs(c - 40) < eps()), JSON.stringify(a.points));
});

test('Shift held on the last click of a redraw replaces the longer side instead', async () => {
  await load([poly('a', [100, 100, 300, 100, 300, 140, 100, 140])]);
  await frames();
  await click(200, 120);
  await page.keyboard.down('Shift');
  await click(100, 100);
  await page.keyboard.up('Shift');
  await click(200, 40);
  await page.keyboard.down('Shift');
  await click(300, 100);
  await page.keyboard.up('Shift');
  const [a] = await objects();
  // The long way round (right, bottom and left edges) is gone: the top edge and the path remain.
  assert.equal(a.points.length, 6, JSON.stringify(a.points));
  const ys = a.points.filter((_, i) => i % 2 === 1);
  assert.ok(ys.every((y) => y < 140 - eps()), JSON.stringify(a.points));
  assert.ok(ys.some((y) => Math.abs(y - 40) < eps()), JSON.stringify(a.points));
  assert.deepEqual(await page.evaluate(() => polymark.getHistory().done.at(-1)), 'redraw polygon part');
});

test('a new vertex snaps to a neighbour\'s vertex, unless Ctrl is held', async () => {
  await load([poly('n', [100, 100, 200, 100, 200, 200])]);
  await frames();
  await setTool('polygon', 'cat');
  await click(202, 102);  // within the snap radius of (200,100)
  await click(300, 100);
  await page.keyboard.down('Control');
  await click(202, 198);
  await page.keyboard.up('Control');
  await press('Enter');
  const [, p] = await objects();
  assert.deepEqual([p.points[0], p.points[1]], [200, 100]);
  near(p.points[4], 202, eps(), 'unsnapped x');
  assert.notEqual(p.points[4], 200);
});

test('delete, copy and paste to another image, duplicate, z-order, hide and relabel', async () => {
  await load([poly('a', [100, 100, 200, 100, 150, 200]), poly('b', [300, 300, 400, 300, 350, 400])]);
  await frames();
  await click(150, 130);
  await press('Control+c');
  await press('Equal');
  let objs = await objects();
  assert.ok(objs.find((o) => o.id === 'a').z > 0, 'brought to front');
  await press('Minus');
  objs = await objects();
  assert.ok(objs.find((o) => o.id === 'a').z < 0, 'sent to back');
  await press('Control+2');
  assert.equal((await objects()).find((o) => o.id === 'a').label, 'person');
  await press('Control+d');
  assert.equal((await objects()).length, 3);
  await press('Delete');
  assert.equal((await objects()).length, 2);
  await page.evaluate(() => polymark.setFrame(1));
  await frames();
  await page.mouse.move(...S(200, 150));
  await press('Control+v');
  objs = await objects();
  const pasted = objs.find((o) => o.frame === 1);
  assert.ok(pasted, 'pasted on frame 1');
  assert.notEqual(pasted.id, 'a');
  await page.evaluate(() => polymark.setFrame(0));
  await frames();
  await click(350, 330);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), ['b']);
  await press('h');
  await press('Escape');
  await click(350, 330);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), [], 'a hidden shape is not picked');
});

test('label hotkeys pick the next shape\'s label; a shape drawn past the border is clipped', async () => {
  await setTool('rectangle', 'cat');
  await page.mouse.move(...S(200, 200));
  await press('2');
  await drag([450, 450], [600, 560]);
  const [r] = await objects();
  assert.equal(r.label, 'person');
  near(r.points[0], 450, eps(), 'x1');
  assert.equal(r.points[2], 512);
  assert.equal(r.points[3], 512);
});

test('a tag is added from the labels panel', async () => {
  // The "+tag" buttons sit at the right edge of the labels panel, one row per label.
  await page.mouse.click(1280 - 30, 75);
  await frames();
  const objs = await objects();
  assert.equal(objs.length, 1, JSON.stringify(objs));
  assert.equal(objs[0].type, 'tag');
  assert.equal(objs[0].label, 'cat');
});

// A page with one rectangle selected whose label has a text attribute "Note".
async function mountNotes(context) {
  const p = await context.newPage();
  await p.goto(`${server.url}/?task=test`);
  await p.evaluate(() => window.polymarkMount);
  await p.evaluate(() => polymark.destroy());
  const task = { format: 'polymark.task', version: 1, id: 'notes', media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
    labels: [{ id: 'thing', name: 'Thing', attributes: [{ id: 'note', name: 'Note', type: 'text' }] }] };
  await p.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.polymark = await Polymark.mount('#host', { taskObject: t, annotations: { format: 'polymark.annotations', version: 1,
      objects: [{ id: 'r', type: 'rectangle', frame: 0, label: 'thing', points: [10, 10, 100, 100], attributes: { note: '' } }] } });
    polymark.select(['r']);
  }, task);
  await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  return p;
}
const NOTE_FIELD = [1080, 404];  // with one label, the attributes panel puts "Note" here on a 1280x800 canvas
async function pageFrames(p, n) { for (let i = 0; i < n; i++) await p.evaluate(() => new Promise((r) => requestAnimationFrame(r))); }

test('text typed and pasted from the OS clipboard lands in a text attribute as one command', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const p = await mountNotes(context);
  await p.mouse.click(...NOTE_FIELD);
  await p.keyboard.type('ab ');
  await p.evaluate(() => navigator.clipboard.writeText('Привет, 2 cats'));
  await p.keyboard.press('Control+V');
  // The pasted text enters the field once the frames have seen Ctrl released.
  await pageFrames(p, 20);
  await p.mouse.click(1100, 650);  // elsewhere in the sidebar: the field is left, the edit committed
  await pageFrames(p, 2);
  const doc = await p.evaluate(() => polymark.getAnnotations());
  assert.equal(doc.objects[0].attributes.note, 'ab Привет, 2 cats');
  assert.deepEqual(await p.evaluate(() => polymark.getHistory().done), ['set Note']);
  await context.close();
});

test('an input method composes Chinese into a text attribute, and its glyphs are fetched', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await mountNotes(context);
  assert.deepEqual(await p.evaluate(() => polymark.missingGlyphs('中文')), [0x4e2d, 0x6587]);
  await p.mouse.click(...NOTE_FIELD);
  await p.keyboard.type('ab');
  await pageFrames(p, 3);
  // While ImGui edits text, the focus is on the page's text entry, placed over the field.
  const entry = await p.evaluate(() => { const e = document.activeElement; const r = e.getBoundingClientRect(); return { tag: e.tagName, x: r.left, y: r.top, right: r.right }; });
  assert.equal(entry.tag, 'TEXTAREA');
  // At the field's caret: in the sidebar, right of the image's viewport, on the field's row.
  const vp = await p.evaluate(() => polymark.getView().viewport);
  assert.ok(Math.abs(entry.y - NOTE_FIELD[1]) < 20 && entry.x > vp.x + vp.width && entry.right < 1280, JSON.stringify({ entry, vp }));
  // Chromium's input-method hooks: a composition in progress, then committed.
  const cdp = await context.newCDPSession(p);
  await cdp.send('Input.imeSetComposition', { text: 'zhong', selectionStart: 5, selectionEnd: 5 });
  await pageFrames(p, 2);
  await cdp.send('Input.imeSetComposition', { text: '中文', selectionStart: 2, selectionEnd: 2 });
  await pageFrames(p, 2);
  await cdp.send('Input.insertText', { text: '中文' });
  await pageFrames(p, 3);
  await p.keyboard.type('x');
  await p.keyboard.press('Backspace');
  await p.keyboard.type('!');
  await pageFrames(p, 3);
  await p.mouse.click(1100, 650);
  await pageFrames(p, 2);
  const doc = await p.evaluate(() => polymark.getAnnotations());
  assert.equal(doc.objects[0].attributes.note, 'ab中文!');
  assert.deepEqual(await p.evaluate(() => polymark.getHistory().done), ['set Note']);
  // The task's names are Latin: the CJK glyphs came with the typing.
  let missing = null;
  for (let i = 0; i < 50 && (missing = await p.evaluate(() => polymark.missingGlyphs('中文'))).length; i++) await pageFrames(p, 2);
  assert.deepEqual(missing, []);
  await context.close();
});
