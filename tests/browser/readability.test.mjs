// Readability (issue 14, frictions 5 to 8), each driven with real mouse and keyboard events on a task of two
// photographs, a corrupt image and a third photograph (frames 0..3): shapes made easier to see,
// frames numbered from 0 everywhere, refusals said in the status bar and fading, and objects named
// by label and number (with the frame a reload returns to).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, view, decodePng, meanColour, noticeShownIn, until, frames as pageFrames, drag as pageDrag } from './harness.mjs';

const WIDTH = 1280; const HEIGHT = 800;
const CAT = [60, 180, 75]; const WEATHER = [67, 99, 216]; const AMBER = [240, 190, 80];
// Where the toolbar's frame box is (after the previous-frame arrow), and the sidebar's objects
// search field and first row with this task's three labels, on a 1280 x 800 canvas.
const FRAME_BOX = [69, 18];
const SEARCH_FIELD = [1200, 159];
const FIRST_ROW = [1215, 209];
let server; let browser; let page; let v;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: WIDTH, height: HEIGHT } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  const task = {
    format: 'polymark.task', version: 1, id: 'frictions', name: 'Three photographs and a corrupt image',
    media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }, { id: 'b', type: 'image', url: '/media/test/chelsea.png' },
      { id: 'bad', type: 'image', url: '/media/test/corrupt.jpg' }, { id: 'c', type: 'image', url: '/media/test/coffee.jpg' }],
    labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }, { id: 'person', name: 'Person', color: '#e6194b' },
      { id: 'weather', name: 'Weather', color: '#4363d8', types: ['tag'] }],
  };
  await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.polymark = await Polymark.mount('#host', { taskObject: t, frame: 0 });
    window.errors = [];
    polymark.on('error', (e) => errors.push(e));
  }, task);
});
after(async () => { await browser?.close(); await server?.stop(); });

beforeEach(async () => {
  await page.evaluate(() => {
    polymark.setAnnotations({ format: 'polymark.annotations', version: 1 });
    polymark.setTool('select');
    polymark.setShapeStyle({ outlineWidth: 1.5, fillOpacity: 0.25, captions: false });
    errors.length = 0;
  });
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
const names = (frame = 0) => page.evaluate((f) => polymark.getFrameState(f).shapes.map((s) => s.name), frame);
const codes = () => page.evaluate(() => errors.map((e) => e.code));
const shot = async () => decodePng(await page.screenshot());
const near = (c, want, tolerance = 40) => c.every((x, k) => Math.abs(x - want[k]) < tolerance);
const pixel = (png, x, y) => { const i = (Math.round(y) * png.width + Math.round(x)) * 4; return [png.rgba[i], png.rgba[i + 1], png.rgba[i + 2]]; };
const diff = (a, b) => a.reduce((d, c, k) => d + Math.abs(c - b[k]), 0);
// Pixels of the status bar's message column (x from 640 on) in a colour.
function statusPixels(png, colour) {
  let n = 0;
  for (let y = HEIGHT - 24; y < HEIGHT - 2; y++) for (let x = 640; x < WIDTH - 20; x++) if (near(pixel(png, x, y), colour, 30)) n++;
  return n;
}
async function typeInto([x, y], text) {
  await page.mouse.click(x, y);
  await frames(2);
  await page.keyboard.press('Control+a');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text);
  await frames(2);
}

test('frames are numbered from 0 everywhere: the frame box takes the number the API and the events use', async () => {
  await page.evaluate(() => { window.framesSeen = []; polymark.on('frame', (e) => framesSeen.push(e.frame)); });
  await typeInto(FRAME_BOX, '3');
  await press('Enter');
  await shown();
  assert.equal(v.frame, 3, 'frame 3 is the fourth image');
  assert.equal(await page.evaluate(() => polymark.getView().imageWidth), 600, 'the coffee photograph');
  await typeInto(FRAME_BOX, '0');
  await press('Enter');
  await shown();
  assert.equal(v.frame, 0, 'frame 0 is the first');
  assert.deepEqual(await page.evaluate(() => framesSeen), [3, 0]);
  // A frame the task does not have is refused, and the labeler is told why.
  await typeInto(FRAME_BOX, '4');
  await press('Enter');
  assert.equal((await view(page)).frame, 0);
  assert.deepEqual(await codes(), ['out_of_range']);
});

// Waits until no refusal shows in the status bar (they fade after 5 seconds); returns how long that took.
async function untilNoRefusal(timeout = 10000) {
  const start = Date.now();
  while (statusPixels(await shot(), AMBER) > 0) {
    if (Date.now() - start > timeout) return -1;
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - start;
}

test('a refused key says why in the status bar and fades; a problem that needs the labeler stays', async () => {
  assert.ok(await untilNoRefusal() >= 0, 'the last test\'s refusal fades');
  // Enter on a polygon of two points: nothing drawn, the draft kept, the reason said.
  await page.evaluate(() => polymark.setTool('polygon', 'cat'));
  await click(100, 100);
  await click(300, 100);
  await press('Enter');
  assert.deepEqual((await doc()).objects ?? [], []);
  assert.deepEqual(await codes(), ['too_few_points']);
  const said = await shot();
  assert.ok(statusPixels(said, AMBER) > 20, 'the status bar says why');
  // Where problems stack as red notices (bottom right of the canvas area), nothing.
  const red = (png) => noticeShownIn(png, v);
  assert.equal(red(said), false, 'not a red notice');
  // It fades after a few seconds, with nothing else happening.
  const took = await untilNoRefusal();
  assert.ok(took > 3000, `faded after a few seconds: ${took} ms`);
  // The draft was kept: a third point and Enter draw the polygon.
  await click(200, 250);
  await press('Enter');
  assert.equal((await doc()).objects.length, 1);
  // Delete with nothing selected says so too.
  await press('Escape');
  await press('Escape');
  await press('Delete');
  assert.deepEqual((await codes()).slice(1), ['nothing_selected']);
  // A corrupt image is a problem that stays on screen until dismissed.
  await page.evaluate(() => polymark.setFrame(2));
  await until(page, () => errors.some((e) => e.code === 'decode_failed'));
  await frames(3);
  assert.equal(red(await shot()), true);
  await new Promise((r) => setTimeout(r, 6500));
  await frames(3);
  assert.equal(red(await shot()), true, 'still there after the refusals faded');
});

test('objects are named by label and number: in the objects list, getFrameState; a midpoint drag is "insert vertex"', async () => {
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  await drag([50, 50], [150, 120]);
  await page.evaluate(() => polymark.setTool('rectangle', 'person'));
  await drag([200, 50], [300, 120]);
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  await drag([50, 200], [150, 300]);
  await page.evaluate(() => polymark.setTool('select'));
  const ids = (await doc()).objects.map((o) => o.id);
  assert.deepEqual(await names(), ['Cat 1', 'Person 1', 'Cat 2']);
  // Numbers belong to the document, not to the frame: a Cat on the next image is Cat 3.
  await goTo(1);
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  await drag([50, 50], [150, 120]);
  await page.evaluate(() => polymark.setTool('select'));
  assert.deepEqual(await names(1), ['Cat 3']);
  await goTo(0);
  assert.deepEqual(await names(), ['Cat 1', 'Person 1', 'Cat 2']);
  // The objects list finds "cat 2" by its name; a click on its row selects it.
  await typeInto(SEARCH_FIELD, 'cat 2 ');
  await press('Enter');  // the field is left
  await page.mouse.move(...FIRST_ROW);
  await frames();
  await page.mouse.click(...FIRST_ROW);
  await frames();
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), [ids[2]]);
  await typeInto(SEARCH_FIELD, '');
  // Clicks on the empty canvas left of the image: the field is left, the selection cleared.
  for (let i = 0; i < 2; i++) { await page.mouse.click(5, HEIGHT / 2); await frames(); }
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), []);
  await goTo(0);  // the list's click centred the view on the box
  // An edge's midpoint dragged: the history says a vertex was inserted.
  await page.evaluate(() => polymark.setTool('polygon', 'cat'));
  for (const [x, y] of [[300, 250], [450, 250], [450, 400]]) await click(x, y);
  await press('Enter');
  await page.evaluate(() => polymark.setTool('select'));
  await click(420, 300);
  await drag([375, 250], [375, 220]);
  const history = await page.evaluate(() => polymark.getHistory().done);
  assert.equal(history.at(-1), 'insert vertex');
  assert.equal((await doc()).objects.at(-1).points.length, 8);
});

test('shapes are easier to see: outline width and fill, names on all shapes (I), tags as chips, points as large as a click reaches', async () => {
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [
    { id: 'box', type: 'rectangle', frame: 0, label: 'cat', points: [100, 100, 300, 300] },
    { id: 'pt', type: 'points', frame: 0, label: 'cat', points: [420, 420] }] }));
  await page.mouse.move(5, HEIGHT / 2);  // away from the shapes: nothing hovered
  await frames();
  // Outline width: 3 screen pixels above the box's top edge is image at 1.5 px, outline at 8.
  const edge = [S(200, 100)[0], S(200, 100)[1] - 3];
  const thin = await shot();
  await page.evaluate(() => polymark.setShapeStyle({ outlineWidth: 8 }));
  await frames();
  const thick = await shot();
  assert.ok(diff(pixel(thin, ...edge), CAT) > 60 && diff(pixel(thick, ...edge), CAT) < 40, `thicker outline: ${pixel(thin, ...edge)} -> ${pixel(thick, ...edge)}`);
  // Fill opacity: the box's inside, from image to nearly the label's colour.
  const inside = S(200, 200);
  await page.evaluate(() => polymark.setShapeStyle({ fillOpacity: 0 }));
  await frames();
  const clear = pixel(await shot(), ...inside);
  await page.evaluate(() => polymark.setShapeStyle({ fillOpacity: 1 }));
  await frames();
  const filled = pixel(await shot(), ...inside);
  assert.ok(diff(filled, CAT) < 40 && diff(clear, filled) > 60, `fill: ${clear} -> ${filled}`);
  assert.deepEqual(await page.evaluate(() => polymark.getView().shapeStyle), { outlineWidth: 8, fillOpacity: 1, captions: false });
  await page.evaluate(() => polymark.setShapeStyle({ outlineWidth: 1.5, fillOpacity: 0.25 }));
  await frames();
  // I names every shape: a caption above the box's top left corner.
  const label = [Math.round(S(100, 100)[0] + 12), Math.round(S(100, 100)[1] - 9)];
  const plain = await shot();
  await page.mouse.click(5, HEIGHT / 2);  // the canvas takes the keys; a click on empty canvas selects nothing
  await press('i');
  const named = await shot();
  assert.equal(await page.evaluate(() => polymark.getView().shapeStyle.captions), true);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), []);
  assert.ok(diff(meanColour(plain, label[0] - 8, label[1] - 4, 16, 8), meanColour(named, label[0] - 8, label[1] - 4, 16, 8)) > 40, 'a caption');
  await press('i');
  assert.equal(await page.evaluate(() => polymark.getView().shapeStyle.captions), false);
  // A point is drawn as far out as a click takes it: 4.5 screen pixels from its centre is its
  // colour, and a click 5.5 pixels away selects it.
  const [px, py] = S(420, 420);
  assert.ok(diff(pixel(named, px + 4.5, py), CAT) < 60, `the point's disc: ${pixel(named, px + 4.5, py)}`);
  await page.mouse.click(px + 5.5, py);
  await frames();
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), ['pt']);
  // A tag of the frame: a chip in the viewport's top left corner.
  const chip = [v.viewport.x + 14, v.viewport.y + 16];
  assert.ok(diff(pixel(named, ...chip), WEATHER) > 60);
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [
    { id: 'rain', type: 'tag', frame: 0, label: 'weather' }] }));
  await frames();
  assert.ok(diff(pixel(await shot(), ...chip), WEATHER) < 50, 'the tag is shown');
});

test('a reload opens on the frame the labeler was on; a frame in the address wins', async () => {
  const p = await openPage(browser, undefined, { viewport: { width: WIDTH, height: HEIGHT } });
  await p.goto(`${server.url}/?task=test`);
  await p.evaluate(() => window.polymarkMount);
  const pv = await p.evaluate(() => polymark.getView());
  await p.mouse.click(pv.viewport.x + pv.viewport.width / 2, pv.viewport.y + pv.viewport.height / 2);
  await p.keyboard.press('f');
  await until(p, () => polymark.getView().frame === 1);
  await p.reload();
  await p.evaluate(() => window.polymarkMount);
  assert.equal(await p.evaluate(() => polymark.getView().frame), 1, 'back on frame 1');
  await p.goto(`${server.url}/?task=test&frame=0`);
  await p.evaluate(() => window.polymarkMount);
  assert.equal(await p.evaluate(() => polymark.getView().frame), 0);
  assert.deepEqual(p.problems, []);
  await p.context().close();
});
