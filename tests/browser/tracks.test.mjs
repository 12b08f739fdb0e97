// Tracks drawn and edited with real mouse and keyboard events on a video (a track lives within
// one medium): shapes that become keyframes where they are changed, interpolated in between, read
// back through the API. The video is one photograph held for 12 frames at 10 frames a second.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWithStillVideo, view, decodePng, until } from './harness.mjs';

let server; let browser; let page; let v;
const FRAMES = 12;
before(async () => {
  ({ server, browser, page } = await startWithStillVideo('tracks', FRAMES));
  const task = {
    format: 'polymark.task', version: 1, id: 'sequence', name: 'Image sequence',
    media: [{ id: 'still', type: 'video', url: '/media/extra/still.mp4', frames: FRAMES, fps: 10 }],
    labels: [{ id: 'car', name: 'Car', attributes: [{ id: 'parked', name: 'Parked', type: 'checkbox', default: false, mutable: true }] },
      { id: 'road', name: 'Road' }],
  };
  await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.polymark = await Polymark.mount('#host', { taskObject: t });
    window.changes = [];
    polymark.on('change', (e) => changes.push(e.command));
  }, task);
});
after(async () => { await browser?.close(); await server?.stop(); });

beforeEach(async () => {
  await page.evaluate(() => { polymark.setAnnotations({ format: 'polymark.annotations', version: 1 }); polymark.setTool('select'); polymark.setFrame(0); polymark.fit(); changes.length = 0; });
  await shown();
});

const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
const eps = () => 1.5 / v.zoom;
const near = (a, b, e, what) => assert.ok(Math.abs(a - b) <= e, `${what}: ${a} vs ${b}`);
async function frames(n = 3) {
  for (let i = 0; i < n; i++) await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
}
async function click(x, y) { await page.mouse.click(...S(x, y)); await frames(); }
async function drag(from, to, steps = 8) {
  await page.mouse.move(...S(...from));
  await frames(1);
  await page.mouse.down();
  await frames(1);
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(...S(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps));
    await frames(1);
  }
  await page.mouse.up();
  await frames();
}
async function press(key) { await page.keyboard.press(key); await frames(); }
// Mouse input reaches the canvas once the frame's picture is on screen.
async function shown() { await until(page, () => polymark.getView().frameShown, undefined, 20000); await frames(2); v = await view(page); }
async function goTo(frame) { await page.evaluate((f) => polymark.setFrame(f), frame); await shown(); }
const state = (frame) => page.evaluate((f) => polymark.getFrameState(f).shapes, frame);
const tracks = () => page.evaluate(() => polymark.getAnnotations().tracks);

test('a rectangle track drawn on frame 0 and moved on frame 10 is halfway on frame 5', async () => {
  assert.deepEqual(await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true })), { tool: 'rectangle', label: 'car', track: true });
  await drag([100, 100], [200, 160]);
  let [t] = await tracks();
  assert.equal(t.type, 'rectangle');
  assert.deepEqual(t.keyframes.map((k) => k.frame), [0]);
  assert.equal((await page.evaluate(() => polymark.getAnnotations().objects)).length, 0);
  // A track with one keyframe shows the same shape on every later frame.
  await goTo(10);
  const [shown] = await state(10);
  assert.equal(shown.id, t.id);
  assert.equal(shown.track, true);
  assert.equal(shown.keyframe, false);
  await drag([150, 130], [250, 230]);  // the body: a move, which makes frame 10 a keyframe
  [t] = await tracks();
  assert.deepEqual(t.keyframes.map((k) => k.frame), [0, 10]);
  const [mid] = await state(5);
  [150, 150, 250, 210].forEach((c, i) => near(mid.points[i], c, eps(), `frame 5 coordinate ${i}`));
  assert.equal(mid.keyframe, false);
  // Frame 0 is untouched; the move is one undo step.
  const [first] = await state(0);
  [100, 100, 200, 160].forEach((c, i) => near(first.points[i], c, eps(), `frame 0 coordinate ${i}`));
  assert.deepEqual(await page.evaluate(() => changes), ['draw rectangle', 'move shape']);
  await press('Control+z');
  assert.deepEqual((await tracks())[0].keyframes.map((k) => k.frame), [0]);
});

test('a polygon track whose vertex count changes on frame 10 interpolates on frame 5', async () => {
  await page.evaluate(() => polymark.setTool('polygon', 'road', { track: true }));
  for (const [x, y] of [[100, 100], [200, 100], [200, 200], [100, 200]]) await click(x, y);
  await press('Enter');
  const id = (await tracks())[0].id;
  await goTo(10);
  await page.evaluate((i) => polymark.select([i]), id);
  await frames();
  // Drag the top edge's midpoint handle up: a fifth vertex, and the frame becomes a keyframe.
  await drag([150, 100], [150, 60]);
  const [t] = await tracks();
  assert.deepEqual(t.keyframes.map((k) => k.points.length), [8, 10]);
  const [mid] = await state(5);
  assert.equal(mid.type, 'polygon');
  const ys = mid.points.filter((_, i) => i % 2 === 1);
  const xs = mid.points.filter((_, i) => i % 2 === 0);
  // Halfway: the square with its top edge pulled halfway (20 px) up at the middle.
  near(Math.min(...ys), 80, 2, 'top of frame 5');
  near(Math.max(...ys), 200, eps(), 'bottom');
  near(Math.min(...xs), 100, eps(), 'left');
  near(Math.max(...xs), 200, eps(), 'right');
  assert.ok(mid.points.every(Number.isFinite));
});

test('K, O and Q change a selected track from the current frame on, each one undo step', async () => {
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true }));
  await drag([100, 100], [200, 160]);
  const id = (await tracks())[0].id;
  await goTo(4);
  await page.evaluate((i) => polymark.select([i]), id);
  await press('k');
  assert.deepEqual((await tracks())[0].keyframes.map((k) => k.frame), [0, 4]);
  await press('k');
  assert.deepEqual((await tracks())[0].keyframes.map((k) => k.frame), [0]);
  await press('q');
  assert.equal((await state(6))[0].occluded, true);
  assert.equal((await state(3))[0].occluded, undefined);
  await goTo(7);
  await page.evaluate((i) => polymark.select([i]), id);
  await press('o');
  assert.equal((await state(7)).length, 0, 'outside from frame 7');
  assert.equal((await state(6)).length, 1);
  // E and R jump between the track's keyframes.
  await press('e');
  assert.equal((await view(page)).frame, 4);
  await press('r');
  assert.equal((await view(page)).frame, 7);
  assert.deepEqual(await page.evaluate(() => changes), ['draw rectangle', 'toggle keyframe', 'toggle keyframe', 'toggle occluded', 'toggle outside']);
  await press('Control+z');
  assert.equal((await state(7)).length, 1);
});

test('shapes on several frames merge into one track with M, and Ctrl+B propagates a shape', async () => {
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: false }));
  await drag([100, 100], [200, 160]);
  await goTo(3);
  await page.evaluate(() => polymark.setTool('rectangle', 'car'));
  await drag([300, 100], [400, 160]);
  const objs = await page.evaluate(() => polymark.getAnnotations().objects);
  assert.equal(objs.length, 2);
  // Select the shape on frame 3, then merge: the one on frame 0 is added through the API.
  await page.evaluate((ids) => polymark.select(ids), [objs[1].id]);
  await page.keyboard.press('m');
  await frames();
  let doc = await page.evaluate(() => polymark.getAnnotations());
  // Merging one shape makes a one-shape track that ends after its frame.
  assert.equal(doc.objects.length, 1);
  assert.deepEqual(doc.tracks[0].keyframes.map((k) => [k.frame, !!k.outside]), [[3, false], [4, true]]);
  await press('Control+z');
  doc = await page.evaluate(() => polymark.getAnnotations());
  assert.equal(doc.objects.length, 2);
  assert.equal(doc.tracks.length, 0);
  // Ctrl+B: the selected shape is copied onto the next 10 frames (up to the last one).
  await goTo(0);
  await page.evaluate((ids) => polymark.select(ids), [objs[0].id]);
  await press('Control+b');
  doc = await page.evaluate(() => polymark.getAnnotations());
  assert.deepEqual(doc.objects.map((o) => o.frame).sort((a, b) => a - b), [0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(await page.evaluate(() => changes.at(-1)), 'propagate 10 frames');
});

test('the timeline jumps on a click, moves a dragged keyframe, and Space plays and pauses', async () => {
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true }));
  await drag([100, 100], [200, 160]);
  await goTo(10);
  await drag([150, 130], [250, 230]);
  const view0 = await view(page);
  // The timeline sits under the canvas: a 26 px header, then one 16 px row per track; its frame
  // axis starts 128 px in and ends 12 px before the canvas's right edge.
  const x0 = 128; const width = view0.viewport.width - x0 - 12;
  const xOf = (f) => x0 + (width * f) / (FRAMES - 1);
  const rowY = view0.viewport.y + view0.viewport.height + 26 + 8;
  await page.mouse.click(xOf(3), rowY);
  await frames();
  assert.equal((await view(page)).frame, 3);
  await page.mouse.move(xOf(10), rowY);
  await frames(1);
  await page.mouse.down();
  for (let i = 1; i <= 6; i++) { await page.mouse.move(xOf(10 - (4 * i) / 6), rowY); await frames(1); }
  await page.mouse.up();
  await frames();
  assert.deepEqual((await tracks())[0].keyframes.map((k) => k.frame), [0, 6]);
  assert.equal(await page.evaluate(() => changes.at(-1)), 'move keyframe to frame 6');
  // Space tapped over the canvas plays at 10 frames a second (the video's rate), tapped again pauses.
  await goTo(0);
  await page.mouse.move(...S(400, 400));
  await page.keyboard.press('Space');
  await page.waitForTimeout(600);
  const playing = (await view(page)).frame;
  assert.ok(playing >= 2, `frame ${playing} after 0.6 s of playback`);
  await page.keyboard.press('Space');
  await frames(3);
  const paused = (await view(page)).frame;
  await page.waitForTimeout(400);
  assert.equal((await view(page)).frame, paused);
});

test('S splits the selected track at this frame and Shift+Delete deletes it from here on', async () => {
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true }));
  await drag([100, 100], [200, 160]);
  const id = (await tracks())[0].id;
  await goTo(6);
  await page.evaluate((i) => polymark.select([i]), id);
  await press('s');
  let all = await tracks();
  assert.equal(all.length, 2);
  assert.deepEqual(all[0].keyframes.map((k) => [k.frame, !!k.outside]), [[0, false], [6, true]]);
  assert.deepEqual(all[1].keyframes.map((k) => k.frame), [6]);
  // The new part is selected: on frame 6 only it is shown.
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), [all[1].id]);
  assert.deepEqual((await state(6)).map((s) => s.id), [all[1].id]);
  await goTo(9);
  await page.evaluate((i) => polymark.select([i]), all[1].id);
  await press('Shift+Delete');
  all = await tracks();
  assert.deepEqual(all[1].keyframes.map((k) => [k.frame, !!k.outside]), [[6, false], [9, true]]);
  assert.equal((await state(9)).length, 0);
  assert.equal((await state(8)).length, 1);
  assert.deepEqual(await page.evaluate(() => changes), ['draw rectangle', 'split track', 'delete track from frame 9']);
});

test('an occluded track is drawn with a dashed outline, solid on the frames before', async () => {
  // Which screen pixels of the top edge's row (±1 row) the outline covers, against the frame drawn
  // with no shapes at all (every frame shows the same image).
  const shot = async () => decodePng(await page.screenshot());
  const background = await shot();
  const edgeCoverage = (img) => {
    const y = Math.round(v.offsetY + 100 * v.zoom);
    const x0 = Math.round(v.offsetX + 110 * v.zoom); const x1 = Math.round(v.offsetX + 190 * v.zoom);
    const covered = [];
    for (let x = x0; x < x1; x++) {
      let diff = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const i = ((y + dy) * img.width + x) * 4;
        diff = Math.max(diff, Math.abs(img.rgba[i] - background.rgba[i]) + Math.abs(img.rgba[i + 1] - background.rgba[i + 1]) + Math.abs(img.rgba[i + 2] - background.rgba[i + 2]));
      }
      covered.push(diff > 60);
    }
    const gaps = covered.filter((c, i) => !c && (i === 0 || covered[i - 1])).length;
    return { fraction: covered.filter(Boolean).length / covered.length, gaps };
  };
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true }));
  await drag([100, 100], [200, 160]);
  await page.mouse.move(...S(400, 400));  // off the shape: a hovered shape is drawn filled
  const id = (await tracks())[0].id;
  await goTo(4);
  await page.evaluate((i) => polymark.select([i]), id);
  await press('q');
  for (const selected of [false, true]) {
    await goTo(2);
    await page.evaluate(([i, s]) => polymark.select(s ? [i] : []), [id, selected]);
    await frames();
    const solid = edgeCoverage(await shot());
    await goTo(6);
    await page.evaluate(([i, s]) => polymark.select(s ? [i] : []), [id, selected]);
    await frames();
    const dashed = edgeCoverage(await shot());
    const what = selected ? 'selected' : 'not selected';
    assert.ok(solid.fraction > 0.95 && solid.gaps === 0, `${what}, frame 2 (visible): ${JSON.stringify(solid)}`);
    assert.ok(dashed.fraction > 0.4 && dashed.fraction < 0.8 && dashed.gaps >= 4, `${what}, frame 6 (occluded): ${JSON.stringify(dashed)}`);
  }
});
