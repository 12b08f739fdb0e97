// "Track forward" in the browser: a generated H.264 video of photographs moving over a photograph
// (bench/tracking/make_video.py, known true boxes and outlines), decoded by Chromium. A rectangle
// track and a polygon track, and a point, are selected and tracked with the T key; the keyframes the tracker
// wrote are compared with the truth. It never replaces a person's keyframe, is one undo step,
// cancels with Esc keeping what it wrote, and bad input (a box outside the image, a target under
// 4 pixels, frames that cannot be decoded) gets a message per object and no keyframe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repo } from './harness.mjs';
import { boundsOf, iou } from './boxes.mjs';

let server; let browser; let page; let truth;
const FRAMES = 90;

before(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-tracking-'));
  execFileSync('/usr/bin/python3', [path.join(repo, 'bench/tracking/make_video.py'), tmp, '--frames', String(FRAMES), '--objects', '2',
    '--width', '640', '--height', '360'], { stdio: ['ignore', 'ignore', 'inherit'] });
  truth = JSON.parse(fs.readFileSync(path.join(tmp, 'moving.json'), 'utf8'));
  // The same video cut at 60 % of its bytes ('moov' first): the frames past the cut cannot be read.
  const whole = fs.readFileSync(path.join(tmp, 'moving.mp4'));
  fs.writeFileSync(path.join(tmp, 'cut.mp4'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  server = await startServer({ extraMedia: { 'moving.mp4': path.join(tmp, 'moving.mp4'), 'cut.mp4': path.join(tmp, 'cut.mp4') } });
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1100, height: 700 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
});
after(async () => { await browser?.close(); await server?.stop(); });

// make_video.py's pixel centres are whole numbers; ours are at +0.5 (docs/SCHEMA.md).
const boxAt = (o, f) => { const [x, y, w, h] = truth.objects[o].boxes[f]; return [x + 0.5, y + 0.5, w, h]; };
const outlineAt = (o, f) => truth.objects[o].polygons[f].map((v) => v + 0.5);
const corners = ([x, y, w, h]) => [x, y, x + w, y + h];

async function mount(file, tracks, { noWorker = false, cores = 0 } = {}) {
  const task = {
    format: 'polymark.task', version: 1, id: 'tracking-' + file.replace(/[^a-z0-9]/g, ''),
    media: [{ id: 'v', type: 'video', url: `/media/extra/${file}`, frames: FRAMES, fps: 30 }],
    labels: [{ id: 'thing', name: 'Thing' }],
  };
  const annotations = { format: 'polymark.annotations', version: 1, objects: [], tracks };
  const outcome = await page.evaluate(async ({ t, a, noWorker, cores }) => {
    if (window.polymark && !polymark.destroyed) polymark.destroy();
    if (cores) Object.defineProperty(navigator, 'hardwareConcurrency', { value: cores, configurable: true });
    if (noWorker) { window.savedWorker = window.savedWorker || window.Worker; delete window.Worker; } else if (window.savedWorker) window.Worker = window.savedWorker;
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.errors = [];
    window.trackingEvents = [];
    try {
      // frame 0: every test starts there (a mount otherwise opens where the last one of this task left off).
      window.polymark = await Polymark.mount('#host', { taskObject: t, annotations: a, frame: 0 });
      polymark.on('error', (e) => errors.push(e));
      polymark.on('tracking', (e) => trackingEvents.push(e));
      return 'ready';
    } catch (e) { return e.code + ': ' + e.message; }
  }, { t: task, a: annotations, noWorker, cores });
  assert.equal(outcome, 'ready');
  await page.mouse.move(300, 300);
}

const rectTrack = (id, box, more = []) => ({ id, type: 'rectangle', label: 'thing', keyframes: [{ id: id + '.k0', frame: 0, points: corners(box) }, ...more] });
const polyTrack = (id, points) => ({ id, type: 'polygon', label: 'thing', keyframes: [{ id: id + '.k0', frame: 0, points }] });

async function clickCentre([x, y, w, h]) {
  const v = await page.evaluate(() => polymark.getView());
  await page.mouse.click(v.offsetX + (x + w / 2) * v.zoom, v.offsetY + (y + h / 2) * v.zoom);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// The run's last `tracking` event (state other than running).
async function finished(timeout = 60000) {
  await page.waitForFunction(() => trackingEvents.some((e) => e.state !== 'running'), undefined, { timeout, polling: 50 });
  return page.evaluate(() => trackingEvents.find((e) => e.state !== 'running'));
}
const tracks = async () => (await page.evaluate(() => polymark.getAnnotations())).tracks;

test('T tracks the selected rectangle and polygon through the video: automatic keyframes on every frame, within the truth', async () => {
  // Four cores: the two objects go to two workers (one core stays with the page).
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0)), polyTrack('p', outlineAt(1, 0))], { cores: 4 });
  // The labeler clicks the rectangle, Shift+clicks the polygon, presses T.
  await clickCentre(boxAt(0, 0));
  await page.keyboard.down('Shift');
  await clickCentre(boxAt(1, 0));
  await page.keyboard.up('Shift');
  assert.deepEqual((await page.evaluate(() => polymark.getSelection())).sort(), ['p', 'r']);
  await page.keyboard.press('t');
  const result = await finished();
  assert.equal(result.state, 'done');
  assert.equal(result.written, true);
  assert.equal(result.inWorker, true, 'tracked in a Web Worker, off the page\'s thread');
  assert.equal(result.workers, 2);
  assert.deepEqual(result.objects.map((o) => [o.id, o.state]), [['r', 'done'], ['p', 'done']]);
  const events = await page.evaluate(() => trackingEvents.length);
  assert.ok(events >= 2, 'a running event, then the end');

  const [r, p] = await tracks();
  for (const [t, o] of [[r, 0], [p, 1]]) {
    assert.deepEqual(t.keyframes.map((k) => k.frame), Array.from({ length: FRAMES }, (_, i) => i), `${t.id}: a keyframe on every frame`);
    assert.equal(t.keyframes[0].source, undefined, 'the first keyframe stays the person\'s');
    assert.ok(t.keyframes.slice(1).every((k) => k.source === 'auto'), `${t.id}: written keyframes are marked automatic`);
    const ious = t.keyframes.map((k) => iou(boundsOf(k.points), boxAt(o, k.frame)));
    const mean = ious.reduce((a, b) => a + b, 0) / ious.length;
    assert.ok(mean > 0.8, `${t.id}: mean IoU with the truth ${mean.toFixed(3)}`);
    assert.ok(Math.min(...ious) > 0.6, `${t.id}: worst IoU ${Math.min(...ious).toFixed(3)}`);
    const end = boxAt(o, FRAMES - 1), got = boundsOf(t.keyframes[FRAMES - 1].points);
    const dc = Math.hypot(got[0] + got[2] / 2 - end[0] - end[2] / 2, got[1] + got[3] / 2 - end[1] - end[3] / 2);
    assert.ok(dc < 6, `${t.id}: last frame's centre off by ${dc.toFixed(1)} px`);
  }
  assert.equal(p.keyframes[FRAMES - 1].points.length, outlineAt(1, 0).length, 'the polygon keeps its vertices');

  // Everything it wrote is one undo step.
  const history = await page.evaluate(() => polymark.getHistory());
  assert.equal(history.done.length, 1);
  assert.equal(await page.evaluate(() => polymark.undo()), true);
  assert.deepEqual((await tracks()).map((t) => t.keyframes.length), [1, 1]);
  assert.equal(await page.evaluate(() => polymark.redo()), true);
  assert.deepEqual((await tracks()).map((t) => t.keyframes.length), [FRAMES, FRAMES]);
  assert.deepEqual(await page.evaluate(() => errors), []);
});

test('a single point on an object, selected and tracked with T, stays on the same spot of it', async () => {
  // The mean of the outline's vertices is one spot of the object however it moves and scales.
  const spot = (f) => { const o = outlineAt(1, f), n = o.length / 2; let x = 0, y = 0; for (let i = 0; i < o.length; i += 2) { x += o[i]; y += o[i + 1]; } return [x / n, y / n]; };
  await mount('moving.mp4', [{ id: 'pt', type: 'points', label: 'thing', keyframes: [{ id: 'pt.k0', frame: 0, points: spot(0) }] }]);
  await clickCentre([...spot(0), 0, 0]);
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), ['pt']);
  await page.keyboard.press('t');
  const result = await finished();
  assert.deepEqual(result.objects.map((o) => [o.id, o.state]), [['pt', 'done']]);
  const [pt] = await tracks();
  assert.equal(pt.keyframes.length, FRAMES);
  const off = pt.keyframes.map((k) => Math.hypot(k.points[0] - spot(k.frame)[0], k.points[1] - spot(k.frame)[1]));
  const mean = off.reduce((a, b) => a + b, 0) / off.length;
  assert.ok(mean < 3 && Math.max(...off) < 8, `the point is off the spot by ${mean.toFixed(2)} px on average, ${Math.max(...off).toFixed(2)} px at worst`);
});

test('a person\'s keyframe is never replaced: the tracker restarts from it', async () => {
  // The person's keyframe at frame 40 is the truth moved 6 px right: what follows starts from it.
  const [x, y, w, h] = boxAt(0, 40);
  const manual = { id: 'r.k40', frame: 40, points: corners([x + 6, y, w, h]) };
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0), [manual])]);
  const started = await page.evaluate(() => polymark.trackForward({ ids: ['r'], frames: 60 }));
  assert.equal(started.state, 'done');
  const [r] = await tracks();
  assert.deepEqual(r.keyframes.map((k) => k.frame), Array.from({ length: 61 }, (_, i) => i));
  const k40 = r.keyframes[40];
  assert.deepEqual([k40.id, k40.points, k40.source], [manual.id, manual.points, undefined]);
  // Right after it, the shape is near the person's box (shifted), not the tracker's old estimate.
  const after = boundsOf(r.keyframes[41].points);
  assert.ok(iou(after, [x + 6, y, w, h]) > 0.7, 'frame 41 follows the corrected box');
  // Tracking again from frame 0 over automatic keyframes replaces them, still as one step.
  const again = await page.evaluate(() => polymark.trackForward({ ids: ['r'], frames: 30 }));
  assert.equal(again.state, 'done');
  assert.equal((await page.evaluate(() => polymark.getHistory())).done.length, 2);
  assert.equal((await tracks())[0].keyframes.length, 61);
});

test('Esc cancels a run: what was tracked stays, as one undo step, and nothing past it', async () => {
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0))]);
  await clickCentre(boxAt(0, 0));
  assert.deepEqual(await page.evaluate(() => polymark.getSelection()), ['r']);
  await page.keyboard.press('t');
  await page.waitForFunction(() => polymark.getTracking() && polymark.getTracking().state === 'running' && polymark.getTracking().framesTracked >= 3);
  await page.keyboard.press('Escape');
  const result = await finished();
  assert.equal(result.state, 'cancelled');
  const [r] = await tracks();
  const frames = r.keyframes.map((k) => k.frame);
  assert.ok(frames.length >= 3 && frames.length < FRAMES, `kept ${frames.length} keyframes`);
  assert.deepEqual(frames, Array.from({ length: frames.length }, (_, i) => i), 'no gap, nothing past the last tracked frame');
  assert.equal((await page.evaluate(() => polymark.getHistory())).done.length, 1);
  assert.equal(await page.evaluate(() => polymark.getTracking().state), 'cancelled');
});

test('bad input: a box outside the image and a 3-pixel target get their own message; the others are tracked', async () => {
  await mount('moving.mp4', [
    rectTrack('out', [700, 400, 40, 40]),
    rectTrack('tiny', [100, 100, 3, 3]),
    rectTrack('r', boxAt(0, 0)),
  ]);
  const result = await page.evaluate(() => polymark.trackForward({ ids: ['out', 'tiny', 'r'], frames: 10 }));
  const byId = Object.fromEntries(result.objects.map((o) => [o.id, o]));
  assert.equal(byId.out.state, 'failed');
  assert.match(byId.out.message, /^track out on frame 1: its shape lies outside the 640x360 image, nothing to track$/);
  assert.equal(byId.tiny.state, 'failed');
  assert.match(byId.tiny.message, /track tiny.*4/);
  assert.equal(byId.r.state, 'done');
  const t = Object.fromEntries((await tracks()).map((x) => [x.id, x]));
  assert.equal(t.out.keyframes.length, 1);
  assert.equal(t.tiny.keyframes.length, 1);
  assert.equal(t.r.keyframes.length, 11);
  const codes = await page.evaluate(() => errors.map((e) => e.where + ':' + e.code));
  assert.ok(codes.includes('out:tracking_failed') || codes.includes('out:cannot_track'), codes.join(' '));
  // Bad arguments are refused with a reason, and nothing starts.
  const refused = await page.evaluate(() => polymark.trackForward({ ids: ['nope'] }).then(() => 'started', (e) => e.code + ': ' + e.message));
  assert.match(refused, /^(not_found|no_tracks|bad_argument)/);
  const negative = await page.evaluate(() => polymark.trackForward({ ids: ['r'], frames: -2 }).then(() => 'started', (e) => e.code));
  assert.equal(negative, 'bad_argument');
});

test('frames that cannot be decoded stop the run before them, with the frame named; what came before is kept', async () => {
  await mount('cut.mp4', [rectTrack('r', boxAt(0, 0))]);
  const result = await page.evaluate(() => polymark.trackForward({ ids: ['r'] }));
  const [o] = result.objects;
  assert.equal(o.state, 'failed');
  assert.match(o.message, /frame \d+/);
  const [r] = await tracks();
  const last = r.keyframes[r.keyframes.length - 1].frame;
  assert.ok(last > 5 && last < FRAMES - 1, `tracked up to frame ${last}`);
  assert.ok(o.frame > last, 'nothing written for the frame that failed or after it');
  const ious = r.keyframes.map((k) => iou(boundsOf(k.points), boxAt(0, k.frame)));
  assert.ok(Math.min(...ious) > 0.6);
  assert.equal(await page.evaluate(() => polymark.getAnnotations().tracks.length), 1, 'the labels survive');
});

test('without Web Workers the page tracks in its own thread, sliced across frames, with the same keyframes', async () => {
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0))]);
  const inWorker = await page.evaluate(() => polymark.trackForward({ ids: ['r'], frames: 30 }));
  const viaWorker = (await tracks())[0].keyframes;
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0))], { noWorker: true });
  const here = await page.evaluate(() => polymark.trackForward({ ids: ['r'], frames: 30 }));
  assert.deepEqual([inWorker.inWorker, inWorker.workers, here.inWorker, here.state], [true, 1, false, 'done']);
  const local = (await tracks())[0].keyframes;
  assert.equal(local.length, 31);
  const worst = Math.max(...local.flatMap((k, i) => k.points.map((v, j) => Math.abs(v - viaWorker[i].points[j]))));
  assert.ok(worst < 1e-6, `the same tracker on the same pixels gives the same shapes (largest difference ${worst} px)`);
  await mount('moving.mp4', [rectTrack('r', boxAt(0, 0))]);
});
