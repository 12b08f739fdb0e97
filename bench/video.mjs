#!/usr/bin/env node
// Video frame access benchmark (see bench/README.md): stepping and random seeking in a 1080p
// H.264 High video with a keyframe every 60 frames, through shell/video.js in Debian's Chromium,
// by WebCodecs and, beside it, by the <video>-element fallback. It prints numbers; it exits
// non-zero only when something broke, never for slowness.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, repo, dist } from '../tests/browser/harness.mjs';
import { median, percentile, spread, fmt, show } from './stats.mjs';

const USAGE = `usage: node bench/video.mjs [--runs N] [--steps N] [--seeks N] [--videos DIR] [--json FILE]
  --runs N      runs, each in a fresh page (default 5)
  --steps N     next-frame steps per run and mode (default 100)
  --seeks N     random seeks per run and mode, fixed seed (default 60, at least 50)
  --videos DIR  reuse videos made by tests/media/make_test_videos.py DIR --big (default: make them
                in a temporary folder, about 30 s)
  --json FILE   also write every number (and every run) as JSON to FILE
Env: POLYMARK_DIST (default build-web/dist), CHROMIUM (default /usr/bin/chromium).`;

const VIDEO = 'h264_gop60_1080p.mp4';
const BUCKETS = [[0, 14], [15, 29], [30, 44], [45, 59]];
const TARGETS = { stepMs: 30, seekMs: 150 };
const SEED = 20240601;

function parseArgs(argv) {
  const opts = { runs: 5, steps: 100, seeks: 60, videos: null, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    const count = (min) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) usageError(`${arg} needs an integer >= ${min}`);
      return n;
    };
    if (arg === '--runs') opts.runs = count(1);
    else if (arg === '--steps') opts.steps = count(1);
    else if (arg === '--seeks') opts.seeks = count(50);
    else if (arg === '--videos') opts.videos = value();
    else if (arg === '--json') opts.json = value();
    else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    else usageError(`unknown argument ${arg}`);
  }
  return opts;
}

function usageError(message) {
  console.error(`video.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

// [SECTION] numbers

function mulberry32(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// [SECTION] in the page

// Measures one mode in the page. Runs in the browser: everything it needs is inside.
async function measureInPage({ url, mode, steps, seekFrames }) {
  const CELL = 32;
  const readIndex = (frame) => {  // the frame-index code of tests/media/make_test_videos.py
    const canvas = new OffscreenCanvas(256, 128);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(frame, 32, 32, 256, 128, 0, 0, 256, 128);
    const rgba = ctx.getImageData(0, 0, 256, 128).data;
    const mean = (r, c) => {
      let total = 0;
      for (let y = r * CELL + 8; y < r * CELL + 24; y++) for (let x = c * CELL + 8; x < c * CELL + 24; x++) { const p = (y * 256 + x) * 4; total += rgba[p] + rgba[p + 1] + rgba[p + 2]; }
      return total / (3 * 256);
    };
    const white = (mean(0, 0) + mean(3, 1)) / 2; const black = (mean(0, 1) + mean(3, 0)) / 2;
    if (white - black < 64) return -1;
    let n = 0;
    for (const r of [1, 2]) for (let c = 0; c < 8; c++) n = n * 2 + (mean(r, c) > (white + black) / 2 ? 1 : 0);
    return n;
  };
  const forceElement = mode === 'element';
  const canvas = document.createElement('canvas');
  canvas.width = 1920; canvas.height = 1080;
  const gl = canvas.getContext('webgl2');
  const texture = gl.createTexture();
  const out = { mode, wrong: 0, checked: 0 };

  let t0 = performance.now();
  const source = await PolymarkVideo.open(url, { forceElement });
  out.openMs = performance.now() - t0;
  out.mode = source.mode;
  const keyframeBefore = (n) => { let k = n; while (k > 0 && !source.keyframes[k]) k--; return k; };

  // Stepping to the next frame once it is prefetched, up to a texture (gl.finish: really there).
  const start = 30;
  (await source.frame(start)).close();
  out.stepPrefetched = []; out.stepFrame = [];
  for (let n = start; n < start + steps; n++) {
    await source.prefetch(n, 1);
    t0 = performance.now();
    const frame = await source.frame(n + 1);
    out.stepFrame.push(performance.now() - t0);
    frame.close();
    t0 = performance.now();
    await source.drawToTexture(gl, texture, n + 1);
    gl.finish();
    out.stepPrefetched.push(out.stepFrame[out.stepFrame.length - 1] + performance.now() - t0);
  }
  // Stepping back to back, as fast as frames come: decoding keeps up or it does not.
  out.stepBackToBack = [];
  const from = start + steps + 40;
  (await source.frame(from)).close();
  for (let n = from; n < from + steps && n + 1 < source.frameCount; n++) {
    t0 = performance.now();
    await source.drawToTexture(gl, texture, n + 1);
    gl.finish();
    out.stepBackToBack.push(performance.now() - t0);
  }
  out.heapBytesCopiedDisplaying = source.stats().heapBytesCopied;
  source.close();

  // Random seeks from a cold start each: nothing cached, the decoder reset, no prefetch.
  const seeker = await PolymarkVideo.open(url, { forceElement, autoPrefetch: false });
  out.seeks = [];
  for (const n of seekFrames) {
    seeker.clearCache({ decoder: true });
    t0 = performance.now();
    const frame = await seeker.frame(n);
    const ms = performance.now() - t0;
    out.seeks.push({ frame: n, distance: n - keyframeBefore(n), ms });
    out.checked++;
    if (readIndex(frame) !== n) out.wrong++;
    frame.close();
  }
  out.stats = seeker.stats();
  seeker.close();
  return out;
}

// [SECTION] main

function summarise(runs) {
  const pick = (f) => spread(runs.map(f));
  const result = {
    openMs: pick((r) => r.openMs),
    stepFrameMedian: pick((r) => median(r.stepFrame)),
    stepPrefetchedMedian: pick((r) => median(r.stepPrefetched)),
    stepPrefetchedP95: pick((r) => percentile(r.stepPrefetched, 95)),
    stepBackToBackMedian: pick((r) => median(r.stepBackToBack)),
    stepBackToBackP95: pick((r) => percentile(r.stepBackToBack, 95)),
    seekMedian: pick((r) => median(r.seeks.map((s) => s.ms))),
    buckets: BUCKETS.map(([lo, hi]) => ({
      range: `${lo}-${hi}`,
      seeks: runs[0].seeks.filter((s) => s.distance >= lo && s.distance <= hi).length,
      median: pick((r) => median(r.seeks.filter((s) => s.distance >= lo && s.distance <= hi).map((s) => s.ms))),
    })),
    wrong: runs.reduce((a, r) => a + r.wrong, 0),
    checked: runs.reduce((a, r) => a + r.checked, 0),
    heapBytesCopiedDisplaying: Math.max(...runs.map((r) => r.heapBytesCopiedDisplaying)),
  };
  return result;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(dist, 'video.js')) || !fs.existsSync(path.join(dist, 'polymark_video.wasm'))) {
    throw new Error(`${dist}/video.js or polymark_video.wasm is missing: run ./tools/build.sh web`);
  }
  let videos = opts.videos;
  let made = null;
  if (!videos) videos = made = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-bench-video-'));
  const file = path.join(videos, VIDEO);
  if (!fs.existsSync(file)) {
    console.error(`making the test videos in ${videos} (about 30 s)...`);
    execFileSync('/usr/bin/python3', [path.join(repo, 'tests/media/make_test_videos.py'), videos, '--big'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const server = await startServer({ extraMedia: { [VIDEO]: file } });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    server.stop();
    if (made) fs.rmSync(made, { recursive: true, force: true });
  };
  process.on('exit', stop);  // also on errors and Ctrl-C
  const browser = await launchBrowser();
  try {
    const next = mulberry32(SEED);
    const frameCount = 600;
    const seekFrames = Array.from({ length: opts.seeks }, () => Math.floor(next() * frameCount));
    const url = `/media/extra/${VIDEO}`;
    const runs = { webcodecs: [], element: [] };
    for (let i = 0; i < opts.runs; i++) {
      for (const mode of ['webcodecs', 'element']) {
        if (process.stderr.isTTY) process.stderr.write(`\r  run ${i + 1}/${opts.runs}: ${mode}   `);
        const context = await browser.newContext();
        const page = await context.newPage();
        const problems = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await page.goto(`${server.url}/api/tasks`);
        await page.addScriptTag({ url: '/video.js' });
        const r = await page.evaluate(measureInPage, { url, mode, steps: opts.steps, seekFrames });
        if (problems.length) throw new Error(`page errors: ${problems.join('; ')}`);
        runs[mode].push(r);
        await context.close();
      }
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

    const s = { webcodecs: summarise(runs.webcodecs), element: summarise(runs.element) };
    const actualModes = [...new Set(runs.webcodecs.map((r) => r.mode))];
    console.log('Polymark video benchmark');
    console.log(`  video    ${VIDEO}: 1920x1080 H.264 High, keyframe every 60 frames, 600 frames, ${fs.statSync(file).size.toLocaleString('en-US')} bytes`);
    console.log(`  browser  Chromium ${browser.version()} (headless; WebGL on SwiftShader)`);
    console.log(`  machine  ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`  runs     ${opts.runs}, each in a fresh page; ${opts.steps} steps and ${opts.seeks} seeks (seed ${SEED}) per run and mode`);
    console.log(`  numbers  ms, the median of the run medians [min-max of the run medians]`);
    if (actualModes[0] !== 'webcodecs') console.log(`  NOTE: WebCodecs was not used (mode ${actualModes.join(',')})`);
    const row = (label, a, b) => console.log(`  ${label.padEnd(52)}${a.padEnd(26)}${b}`);
    console.log('');
    row('', 'WebCodecs', '<video> element fallback');
    row('open (size, index over Range requests)', show(s.webcodecs.openMs), show(s.element.openMs));
    row('next frame, prefetched: VideoFrame ready', show(s.webcodecs.stepFrameMedian), show(s.element.stepFrameMedian));
    row('next frame, prefetched: on a GL texture, median', show(s.webcodecs.stepPrefetchedMedian), show(s.element.stepPrefetchedMedian));
    row('next frame, prefetched: on a GL texture, p95', show(s.webcodecs.stepPrefetchedP95), show(s.element.stepPrefetchedP95));
    row('next frame, back to back: median', show(s.webcodecs.stepBackToBackMedian), show(s.element.stepBackToBackMedian));
    row('next frame, back to back: p95', show(s.webcodecs.stepBackToBackP95), show(s.element.stepBackToBackP95));
    row(`random seek, all ${opts.seeks}`, show(s.webcodecs.seekMedian), show(s.element.seekMedian));
    s.webcodecs.buckets.forEach((b, i) => {
      row(`  frames after the keyframe ${b.range} (${b.seeks} seeks)`, show(b.median), show(s.element.buckets[i].median));
    });
    row('wrong frames among the seeks (read back)', `${s.webcodecs.wrong} of ${s.webcodecs.checked}`, `${s.element.wrong} of ${s.element.checked}`);
    row('heap bytes copied while displaying', String(s.webcodecs.heapBytesCopiedDisplaying), String(s.element.heapBytesCopiedDisplaying));
    console.log('');
    const step = s.webcodecs.stepPrefetchedMedian.median; const seek = s.webcodecs.seekMedian.median;
    console.log(`  target: next frame once prefetched, median < ${TARGETS.stepMs} ms: ${step < TARGETS.stepMs ? 'met' : 'NOT met'} (${fmt(step)})`);
    console.log(`  target: random seek, median < ${TARGETS.seekMs} ms: ${seek < TARGETS.seekMs ? 'met' : 'NOT met'} (${fmt(seek)}; per bucket above)`);
    if (opts.json) {
      fs.writeFileSync(opts.json, JSON.stringify({ video: VIDEO, seed: SEED, options: opts, summary: s, runs }, null, 2) + '\n');
      console.log(`\nJSON written to ${opts.json}`);
    }
  } finally {
    await browser.close();
    stop();  // serve.py would keep node alive
  }
}

main().catch((e) => {
  console.error(`\nvideo.mjs: ${e.message}`);
  process.exit(1);
});
