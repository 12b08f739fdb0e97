// The app shows video frames exactly: a task whose media is a video (H.264 with B-frames and an
// edit list, VP9 WebM), stepped forward, backward and at random through setFrame and the keys;
// every frame's own index is read back from the canvas, as the labeler sees it. Video pixels go
// to the GPU without passing through the wasm heap. A broken video says which file and frame,
// and the labels survive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repo, decodePng, until } from './harness.mjs';

let server; let browser; let page; let manifest; const extra = {};

before(async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-video-app-'));
  execFileSync('/usr/bin/python3', [path.join(repo, 'tests/media/make_test_videos.py'), tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'manifest.json'), 'utf8'));
  for (const v of manifest.videos) extra[v.file] = path.join(tmp, v.file);
  const whole = fs.readFileSync(extra['h264_bframes.mp4']);
  fs.writeFileSync(path.join(tmp, 'cut.mp4'), whole.subarray(0, 3000));  // cut inside its first boxes
  extra['cut.mp4'] = path.join(tmp, 'cut.mp4');
  // The same video with its 'moov' first, cut in its media data: the frames before the cut show.
  const faststart = path.join(tmp, 'faststart.mp4');
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', extra['h264_bframes.mp4'], '-c', 'copy', '-movflags', '+faststart', faststart]);
  const moovFirst = fs.readFileSync(faststart);
  fs.writeFileSync(path.join(tmp, 'cut_media.mp4'), moovFirst.subarray(0, Math.floor(moovFirst.length * 0.6)));
  extra['cut_media.mp4'] = path.join(tmp, 'cut_media.mp4');
  server = await startServer({ extraMedia: extra });
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1100, height: 760 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
});
after(async () => { await browser?.close(); await server?.stop(); });

async function mountVideo(file, extraMedia = []) {
  const info = manifest.videos.find((v) => v.file === file);
  const task = {
    format: 'polymark.task', version: 1, id: 'video-' + file.replace(/[^a-z0-9]/g, ''),
    media: [{ id: 'v', type: 'video', url: `/media/extra/${file}`, frames: info.frames, fps: 30 }, ...extraMedia],
    labels: [{ id: 'car', name: 'Car' }],
  };
  const outcome = await page.evaluate(async (t) => {
    if (window.polymark && !polymark.destroyed) polymark.destroy();
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.errors = [];
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: t });
      polymark.on('error', (e) => errors.push(e));
      return 'ready';
    } catch (e) { return e.code + ': ' + e.message; }
  }, task);
  assert.equal(outcome, 'ready');
  return info;
}

async function frames(n) { for (let i = 0; i < n; i++) await page.evaluate(() => new Promise((r) => requestAnimationFrame(r))); }

// The frame index painted into the video (tests/media/make_test_videos.py: an 8 x 4 grid of
// 32 px cells at (32, 32); rows 0 and 3 are references, rows 1 and 2 the 16 bits), read from a
// screenshot through the view transform.
async function shownIndex() {
  const v = await page.evaluate(() => polymark.getView());
  // Only the grid's part of the page: small screenshots are quick to take and decode.
  const clip = { x: Math.floor(v.offsetX + 32 * v.zoom), y: Math.floor(v.offsetY + 32 * v.zoom), width: Math.ceil(256 * v.zoom), height: Math.ceil(128 * v.zoom) };
  const shot = decodePng(await page.screenshot({ clip }));
  const mean = (ix, iy) => {
    const sx = Math.round(v.offsetX + ix * v.zoom) - clip.x, sy = Math.round(v.offsetY + iy * v.zoom) - clip.y;
    const half = Math.max(1, Math.floor(8 * v.zoom));
    let sum = 0; let count = 0;
    for (let y = sy - half; y < sy + half; y++) {
      for (let x = sx - half; x < sx + half; x++) {
        const o = (y * shot.width + x) * 4;
        sum += (shot.rgba[o] + shot.rgba[o + 1] + shot.rgba[o + 2]) / 3;
        count++;
      }
    }
    return sum / count;
  };
  const cell = (c, r) => mean(32 + 32 * c + 16, 32 + 32 * r + 16);
  const whites = []; const blacks = [];
  for (let c = 0; c < 8; c++) {
    (c % 2 === 0 ? whites : blacks).push(cell(c, 0));
    (c % 2 === 0 ? blacks : whites).push(cell(c, 3));
  }
  const white = whites.reduce((a, b) => a + b) / whites.length, black = blacks.reduce((a, b) => a + b) / blacks.length;
  if (white - black < 64) return -1;
  const threshold = (white + black) / 2;
  let n = 0;
  for (let c = 0; c < 8; c++) n = (n << 1) | (cell(c, 1) > threshold ? 1 : 0);
  for (let c = 0; c < 8; c++) n = (n << 1) | (cell(c, 2) > threshold ? 1 : 0);
  return n;
}

async function showAndRead(frame) {
  await page.evaluate((f) => polymark.setFrame(f), frame);
  await until(page, () => polymark.getView().frameShown);
  await frames(2);
  return shownIndex();
}

for (const file of ['h264_bframes.mp4', 'vp9.webm', 'vfr.mp4']) {
  test(`every visited frame of ${file} shows its own index: forward, backward and random`, async () => {
    const info = await mountVideo(file);
    assert.equal(await page.evaluate(() => polymark.getTask().frames), info.frames);
    const visits = [];
    for (let f = 0; f < 40; f++) visits.push(f);
    for (let f = 45; f >= 25; f--) visits.push(f);
    let seed = 11;
    for (let i = 0; i < 25; i++) { seed = (seed * 1103515245 + 12345) % 2147483648; visits.push(seed % info.frames); }
    visits.push(info.frames - 1);
    const wrong = [];
    for (const f of visits) {
      const got = await showAndRead(f);
      if (got !== f) wrong.push(`${f} showed ${got}`);
    }
    assert.deepEqual(wrong, [], `${wrong.length} wrong of ${visits.length}`);
    // F steps one frame, as the labeler does it.
    await page.mouse.click(300, 400);
    await page.evaluate(() => polymark.setFrame(10));
    await until(page, () => polymark.getView().frameShown);
    await page.keyboard.press('f');
    await until(page, () => polymark.getView().frame === 11 && polymark.getView().frameShown);
    await frames(2);
    assert.equal(await shownIndex(), 11);
    // Display never copies pixels into the wasm heap.
    const stats = await page.evaluate(() => polymark.getVideoStats());
    assert.equal(stats.length, 1);
    assert.equal(stats[0].heapBytesCopied, 0);
    assert.ok(stats[0].cacheBytes <= stats[0].capBytes);
  });
}

test('a track drawn on a video is interpolated between keyframes on its frames', async () => {
  await mountVideo('h264_bframes.mp4');
  await page.evaluate(() => polymark.setTool('rectangle', 'car', { track: true }));
  const v = await page.evaluate(() => polymark.getView());
  const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
  await page.mouse.move(...S(40, 40)); await page.mouse.down();
  for (let i = 1; i <= 5; i++) { await page.mouse.move(...S(40 + 12 * i, 40 + 8 * i)); await frames(1); }
  await page.mouse.up();
  await frames(2);
  const doc = await page.evaluate(() => polymark.getAnnotations());
  assert.equal(doc.tracks.length, 1);
  const [shape] = await page.evaluate(() => polymark.getFrameState(100).shapes);
  assert.equal(shape.track, true);
});

test('a video that cannot be read names its file, and the other media and the labels stay usable', async () => {
  await mountVideo('h264_bframes.mp4', [{ id: 'cut', type: 'video', url: '/media/extra/cut.mp4', frames: 10, fps: 30 }]);
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1,
    objects: [{ id: 'keep', type: 'rectangle', frame: 0, label: 'car', points: [1, 1, 20, 20] }] }));
  const info = manifest.videos.find((x) => x.file === 'h264_bframes.mp4');
  await page.evaluate((f) => polymark.setFrame(f), info.frames + 2);
  await until(page, () => errors.length > 0, undefined, 20000);
  const e = await page.evaluate(() => errors[0]);
  assert.match(e.message, /cut\.mp4/);
  assert.match(e.message, /frame 2 of /);
  assert.equal(e.fatal, false);
  assert.equal(await showAndRead(5), 5, 'the good video still shows its frames');
  assert.equal((await page.evaluate(() => polymark.getAnnotations().objects))[0].id, 'keep');
});

test('a video cut short in its media data says so once, shows the frames before the cut and names each missing one', async () => {
  const info = manifest.videos.find((x) => x.file === 'h264_bframes.mp4');
  const task = {
    format: 'polymark.task', version: 1, id: 'video-cut-media',
    media: [{ id: 'v', type: 'video', url: '/media/extra/cut_media.mp4', frames: info.frames, fps: 30 }],
    labels: [{ id: 'car', name: 'Car' }],
  };
  await page.evaluate(async (t) => {
    if (window.polymark && !polymark.destroyed) polymark.destroy();
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.errors = [];
    window.polymark = await Polymark.mount('#host', { taskObject: t });
    polymark.on('error', (e) => errors.push(e));
  }, task);
  assert.equal(await showAndRead(10), 10);
  const warned = await page.evaluate(() => errors.filter((e) => e.code === 'truncated'));
  assert.equal(warned.length, 1, JSON.stringify(warned));
  assert.equal(warned[0].where, '/media/extra/cut_media.mp4');
  assert.match(warned[0].message, /^cut_media\.mp4: .*truncated/);
  assert.equal(warned[0].fatal, false);
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1,
    objects: [{ id: 'keep', type: 'rectangle', frame: 0, label: 'car', points: [1, 1, 20, 20] }] }));
  await page.evaluate((f) => polymark.setFrame(f), info.frames - 3);
  await until(page, () => errors.some((e) => e.code !== 'truncated'), undefined, 20000);
  const missing = await page.evaluate(() => errors.find((e) => e.code !== 'truncated'));
  assert.match(missing.message, /cut_media\.mp4/);
  assert.match(missing.message, new RegExp(`frame ${info.frames - 3}`));
  assert.equal(await showAndRead(4), 4, 'the frames before the cut still show');
  assert.equal((await page.evaluate(() => polymark.getAnnotations().objects))[0].id, 'keep');
});
