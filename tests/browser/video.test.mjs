// Video (shell/video.js + polymark_video.wasm): frame n is the n-th presented frame, read back
// from the decoded pixels, on H.264 with B-frames and an edit list, VP9 WebM and variable frame
// rate MP4; by WebCodecs and by the <video>-element fallback; the cache under its cap; broken
// files fail with errors naming the file and the frame, and the frames that can show still do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repo } from './harness.mjs';

const VIDEOS = ['h264_bframes.mp4', 'vp9.webm', 'vfr.mp4'];
const MORE_CONTAINERS = ['h264_fragmented.mp4', 'h264_bframes.mkv'];
const RANDOM_SEEKS = 200;

let server; let browser; let page; let tmp; let manifest; let corruptKeyFrame = -1; const extra = {};

// [SECTION] fixtures

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFrames(count, n, seed) {
  const next = mulberry32(seed);
  return Array.from({ length: n }, () => Math.floor(next() * count));
}

const ffmpeg = (...args) => execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

// Broken and unsupported files made from the generated ones.
function makeBrokenFiles(dir) {
  const files = {};
  // The B-frame MP4 with its 'moov' first, cut in the middle of its media data.
  const faststart = path.join(dir, 'faststart.mp4');
  ffmpeg('-i', path.join(dir, 'h264_bframes.mp4'), '-c', 'copy', '-movflags', '+faststart', faststart);
  const whole = fs.readFileSync(faststart);
  fs.writeFileSync(path.join(dir, 'truncated.mp4'), whole.subarray(0, Math.floor(whole.length * 0.6)));
  files['truncated.mp4'] = path.join(dir, 'truncated.mp4');
  // The VP9 WebM (120 frames) cut in the middle of a cluster.
  const webm = fs.readFileSync(path.join(dir, 'vp9.webm'));
  fs.writeFileSync(path.join(dir, 'truncated.webm'), webm.subarray(0, Math.floor(webm.length * 0.6)));
  files['truncated.webm'] = path.join(dir, 'truncated.webm');
  // The same file with one keyframe's bytes overwritten: that GOP cannot be decoded.
  const packets = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pos,size,flags', '-of', 'csv=p=0', faststart], { encoding: 'utf8' })
    .trim().split('\n').map((line) => { const [size, pos, flags] = line.split(','); return { size: Number(size), pos: Number(pos), key: flags.startsWith('K') }; });
  const keys = packets.filter((p) => p.key);
  const victim = keys[2];
  corruptKeyFrame = 60;  // the third keyframe of a GOP-30 file
  const corrupt = Buffer.from(whole);
  corrupt.fill(0xff, victim.pos, victim.pos + victim.size);
  fs.writeFileSync(path.join(dir, 'corrupt_sample.mp4'), corrupt);
  files['corrupt_sample.mp4'] = path.join(dir, 'corrupt_sample.mp4');
  // Random bytes named .mp4.
  const next = mulberry32(7);
  fs.writeFileSync(path.join(dir, 'random.mp4'), Buffer.from(Array.from({ length: 50000 }, () => Math.floor(next() * 256))));
  files['random.mp4'] = path.join(dir, 'random.mp4');
  // Codecs this Chromium cannot decode: HEVC (WebCodecs says no) and MPEG-4 Part 2 (the demuxer says no).
  try {
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1', '-c:v', 'libx265', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p', path.join(dir, 'hevc.mp4'));
    files['hevc.mp4'] = path.join(dir, 'hevc.mp4');
  } catch (e) { /* no libx265 in this ffmpeg: the test says so */ }
  ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '1', '-c:v', 'mpeg4', path.join(dir, 'mpeg4.mp4'));
  files['mpeg4.mp4'] = path.join(dir, 'mpeg4.mp4');
  return files;
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-video-'));
  execFileSync('/usr/bin/python3', [path.join(repo, 'tests/media/make_test_videos.py'), tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  manifest = JSON.parse(fs.readFileSync(path.join(tmp, 'manifest.json'), 'utf8'));
  for (const v of manifest.videos) extra[v.file] = path.join(tmp, v.file);
  Object.assign(extra, makeBrokenFiles(tmp));
  server = await startServer({ extraMedia: extra });
  browser = await launchBrowser();
  page = await openPage(browser, `${server.url}/api/tasks`);
  await page.addScriptTag({ url: '/video.js' });
  await page.evaluate(pageHelpers);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

// [SECTION] in the page

// Defines window.pm: open sources by id, read the frame-index code of tests/media/make_test_videos.py.
function pageHelpers() {
  const CELL = 32; const X = 32; const Y = 32; const COLUMNS = 8; const ROWS = 4;
  const sources = new Map();
  let nextId = 1;
  // The index shown in RGBA pixels of the grid rectangle (x 32..288, y 32..160), or -1.
  function readIndex(rgba) {
    const width = COLUMNS * CELL;
    const means = [];
    for (let r = 0; r < ROWS; r++) {
      const row = [];
      for (let c = 0; c < COLUMNS; c++) {
        let total = 0;
        for (let y = r * CELL + CELL / 4; y < r * CELL + 3 * CELL / 4; y++) {
          for (let x = c * CELL + CELL / 4; x < c * CELL + 3 * CELL / 4; x++) {
            const p = (y * width + x) * 4;
            total += rgba[p] + rgba[p + 1] + rgba[p + 2];
          }
        }
        row.push(total / (3 * (CELL / 2) ** 2));
      }
      means.push(row);
    }
    const whites = []; const blacks = [];
    for (const r of [0, 3]) for (let c = 0; c < COLUMNS; c++) ((c % 2 === 0) === (r === 0) ? whites : blacks).push(means[r][c]);
    if (Math.min(...whites) - Math.max(...blacks) < 64) return -1;
    const threshold = (whites.reduce((a, b) => a + b) / whites.length + blacks.reduce((a, b) => a + b) / blacks.length) / 2;
    let n = 0;
    for (const r of [1, 2]) for (let c = 0; c < COLUMNS; c++) n = n * 2 + (means[r][c] > threshold ? 1 : 0);
    return n;
  }
  const describe = (e) => ({ name: e && e.name, code: e && e.code, message: String(e && e.message), frame: e && e.frame, file: e && e.file, path: e && e.path });
  window.pm = {
    readIndex,
    async open(url, options) {
      try {
        const source = await PolymarkVideo.open(url, options);
        const id = nextId++;
        sources.set(id, source);
        return { id, mode: source.mode, codec: source.codec, frameCount: source.frameCount, width: source.width, height: source.height, frameTimes: Array.from(source.frameTimes), warnings: source.warnings };
      } catch (e) {
        return { error: describe(e) };
      }
    },
    source: (id) => sources.get(id),
    // Visits frames in order; returns what each showed (-1: no code; 'error:<code>' on rejection).
    async visit(id, frames, { checkCache = false, fresh = false, clearEach = false } = {}) {
      const source = sources.get(id);
      if (fresh) source.clearCache({ decoder: true });  // nothing cached: every pass decodes
      const shown = []; const errors = []; const cacheProblems = [];
      for (const n of frames) {
        if (clearEach) source.clearCache();
        try {
          const pixels = await source.readPixels(n, { x: X, y: Y, width: COLUMNS * CELL, height: ROWS * CELL });
          shown.push(readIndex(pixels));
        } catch (e) {
          shown.push('error:' + e.code);
          errors.push(describe(e));
        }
        if (checkCache) {
          const s = source.stats();
          if (s.cacheBytes > s.capBytes) cacheProblems.push(`after frame ${n}: ${s.cacheBytes} bytes cached, cap ${s.capBytes}`);
          if (s.openFrames !== s.cachedFrames) cacheProblems.push(`after frame ${n}: ${s.openFrames} open frames, ${s.cachedFrames} cached`);
        }
      }
      return { shown, errors, cacheProblems, stats: source.stats() };
    },
    async frameError(id, n) {
      try {
        const frame = await sources.get(id).frame(n);
        frame.close();
        return null;
      } catch (e) {
        return describe(e);
      }
    },
    close(id) {
      const source = sources.get(id);
      source.close();
      sources.delete(id);
      return source.stats();
    },
  };
}

const url = (file) => `/media/extra/${file}`;
const openSource = (file, options = {}) => page.evaluate(([u, o]) => pm.open(u, o), [url(file), options]);
const visit = (id, frames, options = {}) => page.evaluate(([i, f, o]) => pm.visit(i, f, o), [id, frames, options]);
const closeSource = (id) => page.evaluate((i) => pm.close(i), id);

function wrongFrames(frames, shown) {
  const wrong = [];
  frames.forEach((n, i) => { if (shown[i] !== n) wrong.push({ frame: n, shown: shown[i] }); });
  return wrong;
}

// Forward through every frame, backward through every frame, then random seeks.
function visitPlan(count, seed) {
  const forward = Array.from({ length: count }, (_, n) => n);
  return { forward, backward: [...forward].reverse(), random: randomFrames(count, RANDOM_SEEKS, seed) };
}

async function checkEveryFrame(file, options) {
  const info = manifest.videos.find((v) => v.file === file);
  const opened = await openSource(file, options);
  assert.equal(opened.error, undefined, JSON.stringify(opened.error));
  assert.equal(opened.frameCount, info.frames);
  assert.equal(opened.width, info.width);
  assert.equal(opened.height, info.height);
  // Times as the generator meant them, from the first frame's (fragmented MP4 keeps ffmpeg's
  // B-frame delay: it has no edit list to take it away).
  for (let n = 0; n < info.frames; n++) {
    const ours = opened.frameTimes[n] - opened.frameTimes[0]; const meant = info.pts[n] - info.pts[0];
    assert.ok(Math.abs(ours - meant) <= info.pts_tolerance, `${file} frame ${n}: pts ${ours} vs ${meant}`);
  }
  const plan = visitPlan(info.frames, 1234);
  const report = {};
  let decodedBefore = 0;
  for (const [pass, frames] of Object.entries(plan)) {
    // The element fallback keeps the frames it showed: clear them, so that every visit seeks.
    const r = await visit(opened.id, frames, { fresh: true, clearEach: !!options.forceElement });
    report[pass] = { frames: frames.length, wrong: wrongFrames(frames, r.shown), stats: r.stats, decoded: r.stats.decodedFrames - decodedBefore };
    decodedBefore = r.stats.decodedFrames;
  }
  const closed = await closeSource(opened.id);
  assert.equal(closed.openFrames, 0);
  return { mode: opened.mode, report };
}

function summary(file, result) {
  const parts = Object.entries(result.report).map(([pass, r]) => `${pass} ${r.frames - r.wrong.length}/${r.frames} (${r.decoded} decoded)`);
  return `${result.mode} ${file}: ${parts.join(', ')} right`;
}

// [SECTION] WebCodecs: every frame exact

for (const file of [...VIDEOS, ...MORE_CONTAINERS]) {
  test(`webcodecs: ${file}: forward, backward and ${RANDOM_SEEKS} random seeks each show their own frame index`, async () => {
    const result = await checkEveryFrame(file, {});
    console.log(summary(file, result));
    assert.equal(result.mode, 'webcodecs');
    for (const [pass, r] of Object.entries(result.report)) assert.deepEqual(r.wrong, [], `${pass} pass`);
    // Sequential forward stepping keeps the decoder running: no restart from a keyframe each step.
    const fwd = result.report.forward.stats;
    assert.ok(fwd.runs <= 2, `forward pass started ${fwd.runs} decoding runs`);
    assert.ok(fwd.decodedFrames <= fwd.samplesFed, 'every decoded frame was fed once');
    // Seeking forward skips the B-frames nothing refers to before the target (H.264 in MP4 and
    // Matroska); the frames still come out right above.
    // Stepping backward decodes each GOP's frames once and steps through them from the cache.
    assert.ok(result.report.backward.decoded <= 2 * result.report.backward.frames, `backward pass decoded ${result.report.backward.decoded} frames`);
    if (file.startsWith('h264')) assert.ok(result.report.random.stats.samplesSkipped > 0, 'no sample skipped');
    assert.equal(result.report.random.stats.heapBytesCopied, (2 * manifest.videos.find((v) => v.file === file).frames + RANDOM_SEEKS) * 256 * 128 * 4);
  });
}

// [SECTION] the <video> element fallback

for (const file of VIDEOS) {
  test(`element fallback: ${file}: forward, backward and ${RANDOM_SEEKS} random seeks each show their own frame index`, async () => {
    const result = await checkEveryFrame(file, { forceElement: true });
    console.log(summary(file, result));
    assert.equal(result.mode, 'element');
    // Measured in headless Chromium: seeking to the middle of a frame's display interval shows
    // exactly that frame on these files (see the accuracy note in shell/video.js).
    for (const [pass, r] of Object.entries(result.report)) assert.deepEqual(r.wrong, [], `${pass} pass`);
  });
}

// [SECTION] memory

test('the decoded-frame cache stays under its cap, every cached frame is open once, and close() closes them all', async () => {
  const info = manifest.videos.find((v) => v.file === 'h264_bframes.mp4');
  const frameBytes = info.width * info.height * 1.5;
  const opened = await openSource(info.file, { memoryCapBytes: 20 * frameBytes });
  const { forward, backward, random } = visitPlan(info.frames, 99);
  const r = await visit(opened.id, [...forward, ...backward, ...random.slice(0, 50)], { checkCache: true });
  assert.deepEqual(r.cacheProblems, []);
  assert.deepEqual(wrongFrames([...forward, ...backward, ...random.slice(0, 50)], r.shown), []);
  assert.ok(r.stats.cachedFrames > 0 && r.stats.cachedFrames <= 20, `${r.stats.cachedFrames} frames cached`);
  // Backward stepping decodes a GOP's frames once and steps through them from the cache.
  assert.ok(r.stats.decodedFrames < 4 * info.frames + 50 * 30, `${r.stats.decodedFrames} frames decoded`);
  const closed = await closeSource(opened.id);
  assert.equal(closed.openFrames, 0);
  assert.equal(closed.cachedFrames, 0);
});

test('a frame the caller holds stays valid after eviction and close, and counts as open until the caller closes it', async () => {
  const info = manifest.videos.find((v) => v.file === 'vp9.webm');
  const result = await page.evaluate(async ([u, cap]) => {
    const source = await PolymarkVideo.open(u, { memoryCapBytes: cap });
    const held = await source.frame(5);
    for (let n = 40; n < 60; n++) (await source.frame(n)).close();
    const before = source.stats();
    source.close();
    const whileHeld = source.stats().openFrames;
    const width = held.displayWidth;
    held.close();
    return { before, whileHeld, width, after: source.stats().openFrames };
  }, [url(info.file), 8 * info.width * info.height * 1.5]);
  assert.ok(result.before.cacheBytes <= result.before.capBytes);
  assert.equal(result.before.openFrames, result.before.cachedFrames + 1);
  assert.equal(result.whileHeld, 1);
  assert.equal(result.width, info.width);
  assert.equal(result.after, 0);
});

test('many requests at once, as when scrubbing: each resolves to its own frame', async () => {
  const frames = randomFrames(150, 60, 4321);
  const result = await page.evaluate(async ([u, list]) => {
    const source = await PolymarkVideo.open(u);
    const got = await Promise.all(list.map((n) => source.withFrame(n, async (frame) => {
      const canvas = new OffscreenCanvas(256, 128);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(frame, 32, 32, 256, 128, 0, 0, 256, 128);
      return pm.readIndex(ctx.getImageData(0, 0, 256, 128).data);
    })));
    await source.prefetch(list[list.length - 1], 1);
    const stats = source.stats();
    source.close();
    return { got, stats, after: source.stats() };
  }, [url('h264_bframes.mp4'), frames]);
  assert.deepEqual(result.got, frames);
  assert.equal(result.stats.openFrames, result.stats.cachedFrames);
  assert.equal(result.after.openFrames, 0);
});

test('close() while frames are being decoded: pending requests reject with "closed", no frame stays open', async () => {
  const result = await page.evaluate(async (u) => {
    const source = await PolymarkVideo.open(u);
    const pending = [100, 101, 40].map((n) => source.frame(n).then((f) => { f.close(); return 'resolved'; }, (e) => e.code));
    source.prefetch(100, 1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    source.close();
    const outcomes = await Promise.all(pending);
    await new Promise((resolve) => setTimeout(resolve, 200));  // outputs still in flight are closed on arrival
    const late = await source.frame(3).then(() => 'resolved', (e) => e.code);
    return { outcomes, late, stats: source.stats() };
  }, url('h264_bframes.mp4'));
  for (const o of result.outcomes) assert.ok(o === 'closed' || o === 'resolved', o);
  assert.equal(result.late, 'closed');
  assert.equal(result.stats.openFrames, 0);
  assert.equal(result.stats.cachedFrames, 0);
});

// [SECTION] GPU path

test('drawToTexture uploads the frame itself to a WebGL texture without copying pixels through memory', async () => {
  const info = manifest.videos.find((v) => v.file === 'h264_bframes.mp4');
  const result = await page.evaluate(async (u) => {
    const source = await PolymarkVideo.open(u);
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2');
    const texture = gl.createTexture();
    const other = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, other);
    const fb = gl.createFramebuffer();
    const shown = [];
    let size = null;
    for (const n of [0, 1, 77, 149, 3]) {
      size = await source.drawToTexture(gl, texture, n);
      if (gl.getParameter(gl.TEXTURE_BINDING_2D) !== other) return { error: 'texture binding not restored' };
      gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
      const rgba = new Uint8Array(256 * 128 * 4);
      gl.readPixels(32, 32, 256, 128, gl.RGBA, gl.UNSIGNED_BYTE, rgba);  // texture rows are top-down here
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
      shown.push(pm.readIndex(rgba));
    }
    const stats = source.stats();
    source.close();
    return { size, heapBytesCopied: stats.heapBytesCopied, shown };
  }, url(info.file));
  assert.equal(result.error, undefined);
  assert.deepEqual(result.size, { width: info.width, height: info.height });
  assert.equal(result.heapBytesCopied, 0);
  assert.deepEqual(result.shown, [0, 1, 77, 149, 3]);
});

// [SECTION] broken files

test('random bytes named .mp4: open() rejects naming the file', async () => {
  const r = await openSource('random.mp4');
  assert.equal(r.error.code, 'unknown_format');
  assert.equal(r.error.file, 'random.mp4');
  assert.match(r.error.message, /^random\.mp4: /);
});

test('a truncated MP4: the frames before the cut decode, the frames whose bytes are missing reject naming the frame', async () => {
  const opened = await openSource('truncated.mp4');
  assert.equal(opened.error, undefined, JSON.stringify(opened.error));
  assert.equal(opened.frameCount, 150);
  assert.equal(opened.warnings[0].code, 'truncated');
  const frames = Array.from({ length: 150 }, (_, n) => n);
  const r = await visit(opened.id, [...frames, 0, 1, 2]);
  const good = []; const missing = [];
  r.shown.forEach((x, i) => { if (x === frames.concat([0, 1, 2])[i]) good.push(i); else missing.push(x); });
  assert.ok(good.length >= 60, `${good.length} frames shown`);
  assert.ok(missing.length >= 30, `${missing.length} frames missing`);
  assert.ok(missing.every((x) => x === 'error:missing_bytes'), JSON.stringify(missing.slice(0, 5)));
  assert.deepEqual(r.shown.slice(-3), [0, 1, 2], 'earlier frames still decode after the failures');
  const e = r.errors[0];
  assert.equal(e.file, 'truncated.mp4');
  assert.ok(Number.isInteger(e.frame));
  assert.match(e.message, new RegExp(`^truncated\\.mp4: frame ${e.frame} `));
  await closeSource(opened.id);
});

test('a truncated WebM: the frames before the cut are indexed and decode, with a warning naming the file', async () => {
  const opened = await openSource('truncated.webm');
  assert.equal(opened.error, undefined, JSON.stringify(opened.error));
  assert.ok(opened.frameCount >= 50 && opened.frameCount < 120, `${opened.frameCount} frames indexed`);
  assert.equal(opened.warnings[0].code, 'truncated');
  assert.match(opened.warnings[0].message, /^truncated\.webm: .*truncated/);
  const frames = Array.from({ length: opened.frameCount }, (_, n) => n);
  const r = await visit(opened.id, [...frames, 0]);
  assert.deepEqual(r.shown, [...frames, 0]);
  await closeSource(opened.id);
});

test('a corrupt keyframe: its frames reject naming the frame, the decoder recovers for the others', async () => {
  const opened = await openSource('corrupt_sample.mp4');
  assert.equal(opened.error, undefined, JSON.stringify(opened.error));
  const frames = [0, 1, 59, corruptKeyFrame, corruptKeyFrame + 5, 95, 30, 149, corruptKeyFrame + 1, 2];
  const r = await visit(opened.id, frames);
  const byFrame = Object.fromEntries(frames.map((n, i) => [n, r.shown[i]]));
  for (const n of [0, 1, 59, 95, 30, 149, 2]) assert.equal(byFrame[n], n, `frame ${n}`);
  // The frames of the damaged GOP either fail with a decode error naming them, or (if the decoder
  // conceals the damage) show garbage that carries no code; never another frame's index.
  for (const n of [corruptKeyFrame, corruptKeyFrame + 5, corruptKeyFrame + 1]) {
    assert.ok(byFrame[n] === 'error:decode_failed' || byFrame[n] === -1 || byFrame[n] === n, `frame ${n}: ${byFrame[n]}`);
  }
  for (const e of r.errors) {
    assert.equal(e.code, 'decode_failed');
    assert.match(e.message, new RegExp(`^corrupt_sample\\.mp4: frame ${e.frame} `));
  }
  console.log(`corrupt keyframe ${corruptKeyFrame}: frames of its GOP gave ${JSON.stringify([corruptKeyFrame, corruptKeyFrame + 5, corruptKeyFrame + 1].map((n) => byFrame[n]))}`);
  await closeSource(opened.id);
});

test('HEVC in MP4, which this browser cannot decode: open() rejects naming the file and the codec', async (t) => {
  if (!extra['hevc.mp4']) return t.skip('ffmpeg has no libx265 here');
  const support = await page.evaluate(() => VideoDecoder.isConfigSupported({ codec: 'hvc1.1.6.L60.90' }).then((r) => r.supported));
  if (support) return t.skip('this Chromium decodes HEVC');
  const r = await openSource('hevc.mp4');
  assert.equal(r.error.code, 'unsupported_codec');
  assert.match(r.error.message, /^hevc\.mp4: .*\b(hvc1|hev1)\./);
});

test('MPEG-4 Part 2 in MP4: open() rejects naming the file and the codec', async () => {
  const r = await openSource('mpeg4.mp4');
  assert.equal(r.error.code, 'unsupported');
  assert.match(r.error.message, /^mpeg4\.mp4: .*mp4v/);
});

test('a missing file: open() rejects with the HTTP status, naming the file', async () => {
  const r = await openSource('nope.mp4');
  assert.equal(r.error.code, 'http_error');
  assert.match(r.error.message, /^nope\.mp4: .*404/);
});

test('no page errors', () => {
  assert.deepEqual(page.problems.filter((p) => !p.includes('nope.mp4') && !p.includes('404')), []);
});
