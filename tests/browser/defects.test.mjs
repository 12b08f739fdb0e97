// Issue 14's four editor defects, each driven with real mouse and keyboard events on a task of two
// photographs, a video and a third photograph (frames 0, 1, 2..13, 14): labels that refuse shape
// types they do not allow, tracks marked outside brought back, tracks that stay within their
// medium, and the selected shape winning a drag over a shape stacked above it.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWithStillVideo, photosAroundStillVideo, view, decodePng, until, frames as pageFrames, drag as pageDrag } from './harness.mjs';

const VIDEO_FRAMES = 12; const FRAMES = VIDEO_FRAMES + 3;
const FIRST_VIDEO = 2; const LAST_VIDEO = FIRST_VIDEO + VIDEO_FRAMES - 1; const LAST_PHOTO = FRAMES - 1;
let server; let browser; let page; let v;
before(async () => {
  ({ server, browser, page } = await startWithStillVideo('defects', VIDEO_FRAMES));
  const task = {
    format: 'polymark.task', version: 1, id: 'defects', name: 'Photographs and a video',
    media: photosAroundStillVideo(VIDEO_FRAMES),
    labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }, { id: 'person', name: 'Person', color: '#e6194b', types: ['rectangle', 'polygon'] },
      { id: 'weather', name: 'Weather', types: ['tag'] }],
  };
  await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.polymark = await Polymark.mount('#host', { taskObject: t });
    window.errors = [];
    polymark.on('error', (e) => errors.push(e));
  }, task);
});
after(async () => { await browser?.close(); await server?.stop(); });

beforeEach(async () => {
  await page.evaluate(() => { polymark.setAnnotations({ format: 'polymark.annotations', version: 1 }); polymark.setTool('select', null, { track: false }); errors.length = 0; });
  await goTo(0);
});

const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
const frames = (n = 3) => pageFrames(page, n);
async function shown() { await until(page, () => polymark.getView().frameShown, undefined, 20000); await frames(2); v = await view(page); }
async function goTo(frame) { await page.evaluate((f) => { polymark.setFrame(f); polymark.fit(); }, frame); await shown(); }
async function click(x, y) { await page.mouse.click(...S(x, y)); await frames(); }
async function press(key) { await page.keyboard.press(key); await frames(); }
const drag = (from, to, steps = 8) => pageDrag(page, from, to, steps);
const doc = () => page.evaluate(() => polymark.getAnnotations());
const state = (frame) => page.evaluate((f) => polymark.getFrameState(f).shapes, frame);
const tool = () => page.evaluate(() => polymark.getTool());
const selection = () => page.evaluate(() => polymark.getSelection());
const roundTrips = () => page.evaluate(() => { try { polymark.setAnnotations(polymark.getAnnotations()); return 'accepted'; } catch (e) { return e.code; } });

test('a label takes only the shape types it allows: the tool refuses the others, the picker does not offer them', async () => {
  // Person allows rectangles and polygons. Picked with the box tool, then the polyline tool taken:
  // nothing is drawn, and the labeler is told why.
  await page.evaluate(() => { polymark.setTool('rectangle', 'person'); polymark.setTool('polyline'); });
  for (const [x, y] of [[100, 100], [200, 120], [250, 200]]) await click(x, y);
  await press('Enter');
  assert.deepEqual((await doc()).objects ?? [], [], 'no polyline of Person');
  assert.ok((await page.evaluate(() => errors)).some((e) => e.code === 'type_not_allowed'), 'an error event says why');
  // The picker's keys: with the polyline tool, 2 (Person) and 3 (Weather, tags only) are not taken.
  await page.evaluate(() => polymark.setTool('polyline', 'cat'));
  await press('2');
  assert.equal((await tool()).label, 'cat');
  await press('3');
  assert.equal((await tool()).label, 'cat');
  const refused = await page.evaluate(() => { try { polymark.setTool('polyline', 'person'); return 'taken'; } catch (e) { return e.code; } });
  assert.equal(refused, 'type_not_allowed');
  // With the box tool, 2 is taken; a Cat polyline is drawn, and the document is one the task accepts.
  await page.evaluate(() => polymark.setTool('rectangle'));
  await press('2');
  assert.equal((await tool()).label, 'person');
  await page.evaluate(() => polymark.setTool('polyline', 'cat'));
  for (const [x, y] of [[100, 100], [200, 120], [250, 200]]) await click(x, y);
  await press('Enter');
  assert.deepEqual((await doc()).objects.map((o) => [o.type, o.label]), [['polyline', 'cat']]);
  assert.equal(await roundTrips(), 'accepted');
});

test('a track marked outside stays selectable, from the frame keys and the timeline, so O brings it back', async () => {
  await goTo(FIRST_VIDEO);
  await page.evaluate(() => polymark.setTool('rectangle', 'cat', { track: true }));
  await drag([100, 100], [200, 160]);
  const id = (await doc()).tracks[0].id;
  await goTo(6);
  await click(150, 130);
  assert.deepEqual(await selection(), [id]);
  await press('o');
  assert.equal((await state(6)).length, 0, 'outside from frame 6');
  // F three times: the track is outside on frame 9, and still selected there.
  for (let i = 0; i < 3; i++) await press('f');
  await shown();
  assert.equal(v.frame, 9);
  assert.deepEqual(await selection(), [id], 'the outside track stays selected on a frame change');
  await press('o');
  assert.equal((await state(9)).length, 1, 'back from frame 9');
  assert.equal((await state(8)).length, 0);
  await press('Control+z');
  assert.equal((await state(9)).length, 0);
  // Its timeline row takes it on a frame where it is outside: a 26 px header, then 16 px rows;
  // the frame axis starts 128 px in and ends 12 px before the canvas's right edge.
  await press('Escape');
  assert.deepEqual(await selection(), []);
  const xOf = (f) => 128 + ((v.viewport.width - 128 - 12) * f) / (FRAMES - 1);
  await page.mouse.click(xOf(10), v.viewport.y + v.viewport.height + 26 + 8);
  await shown();
  assert.equal(v.frame, 10);
  assert.deepEqual(await selection(), [id], 'the timeline row selects its track');
  await press('o');
  assert.equal((await state(10)).length, 1);
  assert.equal(await roundTrips(), 'accepted');
});

test('a track lives within its medium: never on the other photographs or the video, and Track turns off past a video', async () => {
  // A track on the first photograph.
  await page.evaluate(() => polymark.setTool('rectangle', 'cat', { track: true }));
  await drag([100, 100], [200, 160]);
  assert.equal((await doc()).tracks.length, 1);
  assert.equal((await state(0)).length, 1);
  for (const f of [1, FIRST_VIDEO, 7, LAST_PHOTO]) assert.deepEqual(await state(f), [], `not on frame ${f}`);
  // F to the second photograph: Track is off there, and the box drawn is a single-frame shape.
  await press('f');
  await shown();
  assert.equal(v.frame, 1);
  assert.equal((await tool()).track, false);
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  await drag([100, 100], [200, 160]);
  let d = await doc();
  assert.deepEqual([d.objects.length, d.tracks.length], [1, 1]);
  // A track on the video runs to the video's last frame and no further.
  await goTo(FIRST_VIDEO + 2);
  await page.evaluate(() => polymark.setTool('rectangle', 'cat', { track: true }));
  await drag([300, 100], [400, 160]);
  d = await doc();
  assert.equal(d.tracks.length, 2);
  const onVideo = d.tracks[1].id;
  assert.deepEqual((await state(LAST_VIDEO)).map((s) => s.id), [onVideo]);
  assert.deepEqual(await state(FIRST_VIDEO), []);
  await goTo(LAST_VIDEO);
  await press('f');
  await shown();
  assert.equal(v.frame, LAST_PHOTO);
  assert.deepEqual(await state(LAST_PHOTO), [], 'the video\'s track stops at its last frame');
  assert.equal((await tool()).track, false, 'Track is off past the video');
  assert.equal(await roundTrips(), 'accepted');
  // A document whose track crosses from one photograph to the next is refused.
  const across = await page.evaluate(() => {
    try {
      polymark.setAnnotations({ format: 'polymark.annotations', version: 1, tracks: [{ id: 'x', type: 'rectangle', label: 'cat',
        keyframes: [{ id: 'x0', frame: 0, points: [1, 1, 9, 9] }, { id: 'x1', frame: 1, points: [1, 1, 9, 9] }] }] });
      return 'accepted';
    } catch (e) { return [e.code, e.details[0].code, e.details[0].path]; }
  });
  assert.deepEqual(across, ['invalid_document', 'track_crosses_media', '/tracks/0/keyframes/1/frame']);
});

test('the selected shape wins a drag inside it; a click cycles through stacked shapes; hover fills the one a press takes', async () => {
  // A polygon, then a box around it: the box is on top.
  await page.evaluate(() => polymark.setTool('polygon', 'cat'));
  for (const [x, y] of [[150, 150], [250, 150], [250, 250], [150, 250]]) await click(x, y);
  await press('Enter');
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  await drag([100, 100], [300, 300]);
  await page.evaluate(() => polymark.setTool('select'));
  const [poly, box] = (await doc()).objects;
  assert.deepEqual([poly.type, box.type], ['polygon', 'rectangle']);
  // The polygon selected (as from the objects list), dragged from its inside: it moves; the box
  // around and above it does not.
  await page.evaluate((id) => polymark.select([id]), poly.id);
  await frames();
  await drag([200, 200], [220, 210]);
  const [polyAfter, boxAfter] = (await doc()).objects;
  assert.deepEqual(boxAfter.points, box.points, 'the box stays where it was');
  assert.ok(Math.abs(polyAfter.points[0] - (poly.points[0] + 20)) < 1.5 && Math.abs(polyAfter.points[1] - (poly.points[1] + 10)) < 1.5,
    `the polygon moved: ${JSON.stringify(polyAfter.points)}`);
  assert.deepEqual(await selection(), [poly.id]);
  // Clicks on the stack: the topmost first, then the one below it, round and round.
  await press('Escape');
  await click(200, 200);
  assert.deepEqual(await selection(), [box.id], 'a click takes the topmost shape');
  await click(200, 200);
  assert.deepEqual(await selection(), [poly.id], 'a second click takes the one below it');
  await click(200, 200);
  assert.deepEqual(await selection(), [box.id], 'clicks go round the stack');
  // Hover: the shape a press would take is named and drawn filled, with its vertices.
  await press('Escape');
  const px = (png, x, y) => { const i = (Math.round(v.offsetY + y * v.zoom) * png.width + Math.round(v.offsetX + x * v.zoom)) * 4; return [png.rgba[i], png.rgba[i + 1], png.rgba[i + 2]]; };
  const diff = (a, b) => a.reduce((d, c, k) => d + Math.abs(c - b[k]), 0);
  await page.mouse.move(...S(450, 450));
  await frames();
  assert.equal((await view(page)).hovered, null);
  const away = decodePng(await page.screenshot());
  await page.mouse.move(...S(120, 200));
  await frames();
  assert.equal((await view(page)).hovered, box.id);
  const over = decodePng(await page.screenshot());
  assert.ok(diff(px(away, 115, 280), px(over, 115, 280)) > 30, 'the hovered box is filled');
  assert.ok(diff(px(away, 100, 100), px(over, 100, 100)) > 60, 'and shows its corner handles');
  await page.evaluate((id) => polymark.select([id]), poly.id);
  await page.mouse.move(...S(215, 215));
  await frames();
  assert.equal((await view(page)).hovered, poly.id, 'over both, the selected polygon is what a press takes');
});
