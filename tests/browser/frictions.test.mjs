// Issue 14's frictions 1-4, each driven with real mouse and keyboard events on a 1280x800 page: a
// shape's label and its keys' actions by mouse (a context menu, label pickers), an objects list
// click that leaves a shape in view where it is, undo of an edit on another frame taking the
// labeler there, and a sidebar whose controls stay put as the selection changes. The task: two
// photographs, a video and a third photograph (frames 0, 1, 2..13, 14).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startWithStillVideo, photosAroundStillVideo, view, until, frames as pageFrames, drag as pageDrag } from './harness.mjs';

const VIDEO_FRAMES = 12; const FIRST_VIDEO = 2;
let server; let browser; let page; let v;
before(async () => {
  ({ server, browser, page } = await startWithStillVideo('frictions', VIDEO_FRAMES));
  const task = {
    format: 'polymark.task', version: 1, id: 'frictions', name: 'Photographs and a video',
    media: photosAroundStillVideo(VIDEO_FRAMES),
    labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b', attributes: [{ id: 'pose', name: 'Pose', type: 'radio', values: ['standing', 'sitting'] }] },
      { id: 'person', name: 'Person', color: '#e6194b', types: ['rectangle', 'polygon'] },
      { id: 'road', name: 'Road', color: '#4363d8', types: ['polyline'] },
      { id: 'weather', name: 'Weather', types: ['tag'] }],
  };
  await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.polymark = await Polymark.mount('#host', { taskObject: t });
  }, task);
});
after(async () => { await browser?.close(); await server?.stop(); });

beforeEach(async () => {
  await page.evaluate(() => { polymark.setAnnotations({ format: 'polymark.annotations', version: 1 }); polymark.setTool('select', 'cat', { track: false }); });
  await goTo(0);
});

const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
const frames = (n = 3) => pageFrames(page, n);
async function shown() { await until(page, () => polymark.getView().frameShown, undefined, 20000); await frames(2); v = await view(page); }
async function goTo(frame) { await page.evaluate((f) => { polymark.setFrame(f); polymark.fit(); }, frame); await shown(); }
async function click(x, y) { await page.mouse.click(...S(x, y)); await frames(); }
async function clickAt([x, y]) { await page.mouse.click(x, y); await frames(); }
async function press(key) { await page.keyboard.press(key); await frames(); }
const drag = (from, to, steps = 8) => pageDrag(page, from, to, steps);
const doc = () => page.evaluate(() => polymark.getAnnotations());
const done = async () => (await page.evaluate(() => polymark.getHistory())).done;
const selection = () => page.evaluate(() => polymark.getSelection());
async function drawBox(from, to, label = 'cat', track = false) {
  await page.evaluate(([l, t]) => polymark.setTool('rectangle', l, { track: t }), [label, track]);
  await drag(from, to);
  await page.evaluate(() => polymark.setTool('select', null, { track: false }));
}

// Measured on this page (15 px font: rows 19 px apart; 8 px window padding): the shape menu opens
// just below and right of the cursor; its Label submenu to its right, level with the Label item;
// a combo's list under it.
const ROW = 19;
const menuItem = (at, row, separators = 0) => [at[0] + 40, at[1] + 14 + row * ROW + separators * 4];
const SUBMENU = (at, row) => [at[0] + 190, at[1] + 14 + row * ROW];
const dropdownItem = ([x, y], row) => [x, y + 23 + row * ROW];
// The sidebar (x 980..1280): with four labels, the Person row of the labels panel, the first row
// of the objects list (its label box, its text), the label box and the Pose radio "sitting" under
// Attributes, the Image header and, opened, its brightness slider (at a fraction of its range).
const PERSON_ROW = [1050, 93];
const ROW_LABEL = [1105, 227];
const ROW_TEXT = [1230, 227];
const ATTRIBUTES_LABEL = [1050, 438];
const POSE_SITTING = [1110, 460];
const IMAGE_HEADER = [1100, 670];
const BRIGHTNESS = (t) => [988 + 195 * t, 695];
async function openMenu(x, y) {
  const at = S(x, y);
  await page.mouse.click(...at, { button: 'right' });
  await frames();
  return at;
}

test('right-click on a shape opens its menu: its label (only those its type allows), duplicate, order, lock, delete; each one undo step', async () => {
  await drawBox([100, 100], [200, 160]);
  await drawBox([150, 130], [260, 220]);
  const [a, b] = (await doc()).objects;
  // Label: a submenu to the right of the menu, listing Cat and Person (Road and Weather take
  // no rectangles). Person is taken.
  let at = await openMenu(120, 110);
  assert.deepEqual(await selection(), [a.id], 'the right-clicked shape is selected');
  await page.mouse.move(...menuItem(at, 0));
  await frames(6);
  await page.mouse.move(...SUBMENU(at, 0));
  await frames();
  await clickAt(SUBMENU(at, 1));
  let [a1] = (await doc()).objects;
  assert.equal(a1.label, 'person');
  assert.deepEqual((await done()).at(-1), 'change label');
  // A third entry (Road or Weather) would be under Person: there is none, a click there changes nothing.
  at = await openMenu(120, 110);
  await page.mouse.move(...menuItem(at, 0));
  await frames(6);
  await page.mouse.move(...SUBMENU(at, 0));
  await frames();
  await clickAt(SUBMENU(at, 2));
  assert.equal((await doc()).objects[0].label, 'person');
  assert.equal((await done()).length, 3);
  await press('Escape');
  // Bring to front: the lower box now has the higher z.
  at = await openMenu(120, 110);
  await clickAt(menuItem(at, 2));
  [a1] = (await doc()).objects;
  const b1 = (await doc()).objects[1];
  assert.ok((a1.z ?? 0) > (b1.z ?? 0), `bring to front: ${a1.z} over ${b1.z}`);
  assert.equal((await done()).at(-1), 'bring to front');
  // Duplicate: a third box, selected.
  at = await openMenu(120, 110);
  await clickAt(menuItem(at, 1));
  assert.equal((await doc()).objects.length, 3);
  assert.equal((await done()).at(-1), 'paste shape');
  // Delete the second box by its menu; Ctrl+Z brings it back.
  at = await openMenu(250, 210);
  assert.deepEqual(await selection(), [b.id]);
  await clickAt(menuItem(at, 5, 1));
  assert.deepEqual((await doc()).objects.map((o) => o.id).includes(b.id), false, 'deleted');
  await press('Control+z');
  assert.equal((await doc()).objects.length, 3);
  // Lock: the box stays put under a drag.
  at = await openMenu(250, 210);
  await clickAt(menuItem(at, 4));
  const before = (await doc()).objects.find((o) => o.id === b.id).points;
  await drag([250, 210], [300, 260]);
  assert.deepEqual((await doc()).objects.find((o) => o.id === b.id).points, before, 'locked');
});

test('a track\'s menu has keyframe and outside, each one undo step', async () => {
  await goTo(FIRST_VIDEO + 2);
  await drawBox([100, 100], [200, 160], 'cat', true);
  await goTo(FIRST_VIDEO + 5);
  const id = (await doc()).tracks[0].id;
  let at = await openMenu(150, 130);
  assert.deepEqual(await selection(), [id]);
  await clickAt(menuItem(at, 5, 1));
  assert.deepEqual((await doc()).tracks[0].keyframes.map((k) => k.frame), [FIRST_VIDEO + 2, FIRST_VIDEO + 5]);
  assert.equal((await done()).at(-1), 'toggle keyframe');
  at = await openMenu(150, 130);
  await clickAt(menuItem(at, 6, 1));
  assert.equal((await page.evaluate((f) => polymark.getFrameState(f).shapes, FIRST_VIDEO + 5)).length, 0, 'outside from here');
  assert.equal((await done()).at(-1), 'toggle outside');
  await press('Control+z');
  assert.equal((await page.evaluate((f) => polymark.getFrameState(f).shapes, FIRST_VIDEO + 5)).length, 1);
});

test('the label box under Attributes and on an objects list row relabel the shape, offering only the labels its type allows', async () => {
  // A polyline of Cat: Cat and Road take polylines, Person and Weather do not.
  await page.evaluate(() => polymark.setTool('polyline', 'cat'));
  for (const [x, y] of [[100, 100], [200, 120], [250, 200]]) await click(x, y);
  await press('Enter');
  const [line] = (await doc()).objects;
  assert.deepEqual(await selection(), [line.id]);
  // Under Attributes: the box opens downwards; its second entry is Road.
  await clickAt(ATTRIBUTES_LABEL);
  await clickAt(dropdownItem(ATTRIBUTES_LABEL, 1));
  assert.equal((await doc()).objects[0].label, 'road');
  assert.deepEqual(await done(), ['draw polyline', 'change label']);
  // A third entry would be there: nothing is, nothing changes.
  await clickAt(ATTRIBUTES_LABEL);
  await clickAt(dropdownItem(ATTRIBUTES_LABEL, 2));
  assert.equal((await doc()).objects[0].label, 'road');
  // On the object's row of the objects list: its first entry, Cat.
  await clickAt(ROW_LABEL);
  await clickAt(dropdownItem(ROW_LABEL, 0));
  assert.equal((await doc()).objects[0].label, 'cat');
  assert.deepEqual(await done(), ['draw polyline', 'change label', 'change label']);
  await press('Control+z');
  assert.equal((await doc()).objects[0].label, 'road');
});

test('a click on an objects list row moves the view only for a shape not wholly in view, and never zooms', async () => {
  await drawBox([50, 60], [150, 140]);
  await press('Escape');
  const fitted = await view(page);
  await clickAt(ROW_TEXT);
  const id = (await doc()).objects[0].id;
  assert.deepEqual(await selection(), [id]);
  let now = await view(page);
  assert.deepEqual([now.zoom, now.offsetX, now.offsetY], [fitted.zoom, fitted.offsetX, fitted.offsetY], 'in view: the view stays');
  // Zoomed in on the far corner, the box is out of view: the click brings it in, at the same zoom.
  await page.mouse.move(...S(500, 500));
  for (let i = 0; i < 6; i++) await press(']');
  const zoomed = await view(page);
  const inView = (w) => {
    const x0 = w.offsetX + 50 * w.zoom; const y0 = w.offsetY + 60 * w.zoom; const x1 = w.offsetX + 150 * w.zoom; const y1 = w.offsetY + 140 * w.zoom;
    return x0 >= w.viewport.x && y0 >= w.viewport.y && x1 <= w.viewport.x + w.viewport.width && y1 <= w.viewport.y + w.viewport.height;
  };
  assert.equal(inView(zoomed), false);
  await press('Escape');
  await clickAt(ROW_TEXT);
  now = await view(page);
  assert.equal(now.zoom, zoomed.zoom, 'the zoom is kept');
  assert.ok(inView(now), `the box is in view: ${JSON.stringify(now)}`);
});

test('undo and redo of an edit on another frame go to that frame', async () => {
  await drawBox([100, 100], [200, 160]);
  const drawn = (await doc()).objects[0].points;
  await click(150, 130);
  await drag([150, 130], [250, 230]);
  const moved = (await doc()).objects[0].points;
  await press('f');
  await shown();
  assert.equal(v.frame, 1);
  await press('Control+z');
  await shown();
  assert.equal(v.frame, 0, 'undo went to frame 0');
  assert.deepEqual((await doc()).objects[0].points, drawn);
  await press('f');
  await press('f');
  await shown();
  assert.equal(v.frame, 2);
  await press('Control+Shift+z');
  await shown();
  assert.equal(v.frame, 0, 'redo went to frame 0');
  assert.deepEqual((await doc()).objects[0].points, moved);
  // An undo seen on the current frame stays there.
  await press('Control+z');
  assert.equal((await view(page)).frame, 0);
});

test('sidebar controls stay where they were when the selection or the tool changes', async () => {
  await goTo(FIRST_VIDEO);
  await drawBox([100, 100], [200, 160]);
  await drawBox([300, 100], [400, 160], 'cat', true);
  await press('Escape');
  const [box] = (await doc()).objects;
  const [track] = (await doc()).tracks;
  const label = async () => (await page.evaluate(() => polymark.getTool())).label;
  const brightness = async () => (await view(page)).adjust.brightness;
  // Nothing selected: the Person row of the labels panel takes the click.
  await clickAt(PERSON_ROW);
  assert.equal(await label(), 'person');
  await press('1');
  // The box selected: Pose "sitting" under Attributes.
  await click(150, 130);
  assert.deepEqual(await selection(), [box.id]);
  await clickAt(POSE_SITTING);
  assert.equal((await doc()).objects[0].attributes.pose, 'sitting');
  // The track selected: the Person row and Pose "sitting" are where they were.
  await click(350, 130);
  assert.deepEqual(await selection(), [track.id]);
  await clickAt(PERSON_ROW);
  assert.equal(await label(), 'person', 'the labels panel is where it was with a track selected');
  await press('1');
  await clickAt(POSE_SITTING);
  const t = (await doc()).tracks[0];
  assert.equal(t.attributes?.pose ?? t.keyframes[0].attributes?.pose, 'sitting', 'Pose is where it was with a track selected');
  assert.equal((await done()).at(-1), 'set Pose');
  // Below Attributes, the Image panel, opened with nothing selected: its brightness slider stays
  // put with a shape, a track, another tool (each click takes the other side of the slider).
  await press('Escape');
  await clickAt(IMAGE_HEADER);
  await clickAt(BRIGHTNESS(0.75));
  assert.ok(await brightness() > 0.1, 'the slider took the click');
  await click(150, 130);
  await clickAt(BRIGHTNESS(0.25));
  assert.ok(await brightness() < -0.1, 'the slider is where it was with a shape selected');
  await click(350, 130);
  await clickAt(BRIGHTNESS(0.75));
  assert.ok(await brightness() > 0.1, 'the slider is where it was with a track selected');
  await page.evaluate(() => polymark.setTool('polygon', 'cat'));
  await frames();
  await clickAt(BRIGHTNESS(0.25));
  assert.ok(await brightness() < -0.1, 'the slider is where it was with another tool');
});
