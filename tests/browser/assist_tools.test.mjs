// The assisted polygon tools in the real app: real mouse and keys in Chromium, the assist worker
// and its wasm on a picture with a known object (a noisy ellipse on a textured background), the
// polygons they make checked against the true outline, and each one undoable in one step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer, launchBrowser, openPage, frames, drag, view, until, clickControl, PYTHON } from './harness.mjs';
import { insidePolygon, boundsOf, iou } from './boxes.mjs';

const W = 640, H = 480;
const ELLIPSE = { cx: 320, cy: 240, rx: 130, ry: 85 };
const DISC = { w: 320, h: 240, cx: 150, cy: 120, r: 60 };

let server; let browser; let tmp;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-assist-'));
  const png = path.join(tmp, 'object.png');
  execFileSync(PYTHON, ['-c', `
import cv2, numpy as np
rng = np.random.default_rng(3)
y, x = np.mgrid[0:${H}, 0:${W}]
texture = cv2.GaussianBlur(rng.integers(0, 255, (${H}, ${W}, 3)).astype(np.uint8), (0, 0), 3)
image = (0.5 * texture + np.dstack([60 + x / 8, 110 + y / 10, 90 + 0 * x])).clip(0, 255)
inside = ((x + 0.5 - ${ELLIPSE.cx}) / ${ELLIPSE.rx}) ** 2 + ((y + 0.5 - ${ELLIPSE.cy}) / ${ELLIPSE.ry}) ** 2 <= 1
image[inside] = np.array([40, 60, 210]) + rng.normal(0, 8, (inside.sum(), 3))
cv2.imwrite(${JSON.stringify(png)}, image.clip(0, 255).astype(np.uint8))
`]);
  // A video whose disc differs from its background in hue only (luma within 4 of it): in grey
  // there is nothing to find; the tools see the frames in colour.
  const discPng = path.join(tmp, 'disc.png'); const discVideo = path.join(tmp, 'disc.mp4');
  execFileSync(PYTHON, ['-c', `
import cv2, numpy as np
rng = np.random.default_rng(5)
y, x = np.mgrid[0:${DISC.h}, 0:${DISC.w}]
image = np.zeros((${DISC.h}, ${DISC.w}, 3)) + np.array([100, 130, 60])  # BGR: green-teal, luma ~106
inside = (x + 0.5 - ${DISC.cx}) ** 2 + (y + 0.5 - ${DISC.cy}) ** 2 <= ${DISC.r} ** 2
image[inside] = np.array([70, 70, 200])  # BGR: red, luma ~108
image += rng.normal(0, 3, image.shape)
cv2.imwrite(${JSON.stringify(discPng)}, image.clip(0, 255).astype(np.uint8))
`]);
  execFileSync('ffmpeg', ['-y', '-loglevel', 'error', '-loop', '1', '-i', discPng, '-frames:v', '6', '-c:v', 'libx264',
    '-pix_fmt', 'yuv420p', '-crf', '10', discVideo]);
  server = await startServer({ extraMedia: { 'object.png': png, 'disc.mp4': discVideo } });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); fs.rmSync(tmp, { recursive: true, force: true }); });

const TASK = {
  format: 'polymark.task', version: 1, id: 'assist', media: [{ id: 'a', type: 'image', url: '/media/extra/object.png' }],
  labels: [{ id: 'thing', name: 'Thing', color: '#3cb44b' }],
};

async function mounted(task = TASK) {
  const page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  const outcome = await page.evaluate(async (task) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: task, sync: false });
      window.polymark.on('error', (e) => (window.errors = (window.errors || []).concat([e])));
      return 'ready';
    } catch (e) { return `${e.code}: ${e.message}`; }
  }, task);
  assert.equal(outcome, 'ready');
  return page;
}

// The label set, the canvas focused, then the tool's key: the tool it must pick.
async function pickByKey(page, key, tool) {
  await page.evaluate(() => polymark.setTool('select', 'thing'));
  await page.mouse.click(5, 300);  // the canvas takes the keys
  await page.keyboard.press(key);
  await frames(page);
  assert.equal(await page.evaluate(() => polymark.getTool().tool), tool, `${key.toUpperCase()} picks the ${tool} tool`);
}

const screen = (v, p) => [v.offsetX + p[0] * v.zoom, v.offsetY + p[1] * v.zoom];
const polygons = (page) => page.evaluate(() => polymark.getAnnotations().objects.filter((o) => o.type === 'polygon'));
const insideEllipse = (x, y) => ((x - ELLIPSE.cx) / ELLIPSE.rx) ** 2 + ((y - ELLIPSE.cy) / ELLIPSE.ry) ** 2 <= 1;
// IoU of a polygon with the ellipse, sampled at every pixel centre.
function iouWithEllipse(points) {
  let both = 0, either = 0;
  for (let y = 0.5; y < H; y++) for (let x = 0.5; x < W; x++) {
    const a = insidePolygon(points, x, y), b = insideEllipse(x, y);
    both += a && b; either += a || b;
  }
  return both / either;
}
const onEllipse = (degrees) => [ELLIPSE.cx + ELLIPSE.rx * Math.cos((degrees * Math.PI) / 180), ELLIPSE.cy + ELLIPSE.ry * Math.sin((degrees * Math.PI) / 180)];

test('a wand click outlines the object under it as one polygon, one undo step, and the wand stays on', async () => {
  const page = await mounted();
  await pickByKey(page, 'j', 'wand');
  const v = await view(page);
  await page.mouse.click(...screen(v, [ELLIPSE.cx + 10, ELLIPSE.cy - 5]));
  await until(page, () => polymark.getAnnotations().objects.length === 1);
  const [o] = await polygons(page);
  assert.equal(o.label, 'thing');
  const iou = iouWithEllipse(o.points);
  assert.ok(iou >= 0.93, `the wand's polygon matches the object (IoU ${iou.toFixed(3)})`);
  assert.ok(o.points.length / 2 <= 160, 'within the vertex budget');
  assert.equal((await page.evaluate(() => polymark.getTool())).tool, 'wand');
  await page.keyboard.press('Control+z');
  await until(page, () => polymark.getAnnotations().objects.length === 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('on a video frame the wand sees colour: a disc that differs from its background in hue only is outlined', async () => {
  const page = await mounted({ format: 'polymark.task', version: 1, id: 'assist-video', labels: TASK.labels,
    media: [{ id: 'v', type: 'video', url: '/media/extra/disc.mp4', frames: 6, fps: 10 }] });
  await until(page, () => polymark.getView().frameShown, undefined, 20000);
  await pickByKey(page, 'j', 'wand');
  const v = await view(page);
  await page.mouse.click(...screen(v, [DISC.cx + 5, DISC.cy - 8]));
  await until(page, () => polymark.getAnnotations().objects.length === 1 || (window.errors || []).length > 0, undefined, 20000);
  assert.deepEqual(await page.evaluate(() => window.errors || []), []);
  const [o] = await polygons(page);
  let both = 0, either = 0;
  for (let y = 0.5; y < DISC.h; y++) for (let x = 0.5; x < DISC.w; x++) {
    const a = insidePolygon(o.points, x, y), b = (x - DISC.cx) ** 2 + (y - DISC.cy) ** 2 <= DISC.r ** 2;
    both += a && b; either += a || b;
  }
  assert.ok(both / either >= 0.9, `the wand's polygon is the disc (IoU ${(both / either).toFixed(3)})`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('scissors clicks around the object follow its edge between anchors, and Enter closes the polygon', async () => {
  const page = await mounted();
  await pickByKey(page, 'y', 'scissors');
  const v = await view(page);
  const anchors = [0, 90, 180, 270].map(onEllipse);
  for (let k = 0; k < anchors.length; k++) {
    const from = anchors[(k + anchors.length - 1) % anchors.length], to = anchors[k];
    if (k > 0) for (let s = 1; s <= 6; s++) {  // the cursor travels to the next anchor, as a hand does
      await page.mouse.move(...screen(v, [from[0] + ((to[0] - from[0]) * s) / 6, from[1] + ((to[1] - from[1]) * s) / 6]));
      await frames(page, 1);
    }
    await page.mouse.click(...screen(v, to));
    await frames(page, 2);
  }
  await page.keyboard.press('Enter');
  await until(page, () => polymark.getAnnotations().objects.length === 1);
  const [o] = await polygons(page);
  const iou = iouWithEllipse(o.points);
  // Straight edges between the four anchors would give a diamond of IoU 2/pi = 0.64.
  assert.ok(iou >= 0.9, `the outline followed the edge (IoU ${iou.toFixed(3)})`);
  assert.equal(await page.evaluate(() => polymark.getTool().tool), 'select');
  await page.keyboard.press('Control+z');
  await until(page, () => polymark.getAnnotations().objects.length === 0);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a box dragged around the object becomes its outline', async () => {
  const page = await mounted();
  await pickByKey(page, 'b', 'outline');
  await drag(page, [ELLIPSE.cx - ELLIPSE.rx - 25, ELLIPSE.cy - ELLIPSE.ry - 25], [ELLIPSE.cx + ELLIPSE.rx + 25, ELLIPSE.cy + ELLIPSE.ry + 25]);
  await until(page, () => polymark.getAnnotations().objects.length === 1, undefined, 20000);
  const [o] = await polygons(page);
  const iou = iouWithEllipse(o.points);
  assert.ok(iou >= 0.9, `the box's object was outlined (IoU ${iou.toFixed(3)})`);
  assert.equal(await page.evaluate(() => polymark.getTool().tool), 'outline');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a loose box, selected, is redrawn tight around the object by one outline box; Esc, and the next box is a new shape', async () => {
  const page = await mounted();
  await page.evaluate(() => polymark.setTool('rectangle', 'thing'));
  await drag(page, [ELLIPSE.cx - ELLIPSE.rx + 30, ELLIPSE.cy - ELLIPSE.ry - 40], [ELLIPSE.cx + ELLIPSE.rx + 45, ELLIPSE.cy + ELLIPSE.ry - 20]);
  await until(page, () => polymark.getAnnotations().objects.length === 1);
  const [loose] = await page.evaluate(() => polymark.getAnnotations().objects);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), [loose.id]);
  await page.keyboard.press('b');  // the canvas has the keys since the drag; the box stays selected
  await frames(page);
  assert.equal(await page.evaluate(() => polymark.getTool().tool), 'outline');
  await drag(page, [ELLIPSE.cx - ELLIPSE.rx - 25, ELLIPSE.cy - ELLIPSE.ry - 25], [ELLIPSE.cx + ELLIPSE.rx + 25, ELLIPSE.cy + ELLIPSE.ry + 25]);
  await until(page, () => polymark.getHistory().done.length === 2, undefined, 20000);
  assert.deepEqual(await page.evaluate(() => polymark.getHistory().done), ['draw rectangle', 'redraw with the outline']);
  const objects = await page.evaluate(() => polymark.getAnnotations().objects);
  assert.equal(objects.length, 1, 'the box was redrawn, not joined by a polygon');
  assert.equal(objects[0].id, loose.id);
  assert.equal(objects[0].type, 'rectangle');
  const tight = [ELLIPSE.cx - ELLIPSE.rx, ELLIPSE.cy - ELLIPSE.ry, 2 * ELLIPSE.rx, 2 * ELLIPSE.ry];
  const found = iou(boundsOf(objects[0].points), tight);
  assert.ok(found >= 0.9, `the box fits the object now (IoU ${found.toFixed(3)})`);
  await page.keyboard.press('Escape');
  await frames(page);
  await drag(page, [ELLIPSE.cx - ELLIPSE.rx - 25, ELLIPSE.cy - ELLIPSE.ry - 25], [ELLIPSE.cx + ELLIPSE.rx + 25, ELLIPSE.cy + ELLIPSE.ry + 25]);
  await until(page, () => polymark.getAnnotations().objects.length === 2, undefined, 20000);
  await page.keyboard.press('Control+z');
  await until(page, () => polymark.getAnnotations().objects.length === 1);
  await page.keyboard.press('Control+z');
  await until(page, () => polymark.getAnnotations().objects[0].type === 'rectangle' && polymark.getHistory().done.length === 1);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('with Edges on, a vertex dragged near the object lands on its edge', async () => {
  const page = await mounted();
  const right = onEllipse(0);
  await page.evaluate((points) => polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [
    { id: 'p', type: 'polygon', frame: 0, label: 'thing', points } ] }), [right[0] + 30, right[1], 300, 100, 200, 300]);
  await clickControl(page, 'edges');
  const v = await view(page);
  await page.mouse.click(...screen(v, [330, 213]));  // inside: selects the polygon
  await frames(page);
  await drag(page, [right[0] + 30, right[1]], [right[0] + 4, right[1] + 1], 6);
  await page.waitForTimeout(300);  // the snap's answer, then the release takes it
  const [o] = await polygons(page);
  const [x, y] = o.points;
  assert.ok(Math.abs(x - right[0]) <= 2 && Math.abs(y - right[1]) <= 3, `the vertex snapped onto the edge: ${x}, ${y}`);
  await page.context().close();
});
