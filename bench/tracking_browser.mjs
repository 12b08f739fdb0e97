#!/usr/bin/env node
// "Track forward" in the browser (see bench/README.md, section "Tracking in the browser"): five
// objects tracked forward over 299 frames of a generated 1280x720 H.264 video
// (bench/tracking/make_video.py, known true boxes and outlines) by polymark.trackForward in
// Debian's headless Chromium, decode included, while the UI keeps drawing. Beside it, in the same
// page and on the same decoded frames, OpenCV.js (npm @techstark/opencv-js) TrackerMIL on the same
// five objects for the first frames. It prints numbers; it exits non-zero only when something
// broke, never for slowness.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repo, dist } from '../tests/browser/harness.mjs';
import { boundsOf, iou } from '../tests/browser/boxes.mjs';
import { percentile, mean, spread, fmt, show } from './stats.mjs';

const USAGE = `usage: node bench/tracking_browser.mjs [--runs N] [--peer-frames N] [--peer-runs N] [--no-warm]
       [--no-decode] [--video-dir DIR] [--json FILE]
  --runs N         runs, each on a fresh mount (destroy() and mount again) (default 5)
  --peer-frames N  frames OpenCV.js TrackerMIL tracks per run, from frame 0 (default 30)
  --peer-runs N    runs that also measure the peer (default: every run)
  --no-warm        skip the warm variant (a second run on the same mount, from frame 0 again)
  --no-decode      skip the decode-only line (readLuma of every frame through shell/video.js)
  --video-dir DIR  where the video is made and kept (default: $TMPDIR/polymark-bench-tracking)
  --json FILE      also write every number (and every run) as JSON to FILE
Env: POLYMARK_DIST (default build-web/dist), CHROMIUM (default /usr/bin/chromium).`;

const FRAMES = 300;          // the video's frames
const TRACK_FRAMES = 299;    // trackForward({frames}): frame 0 is given, 1..299 are tracked
const FPS = 30;
const TARGETS = { seconds: 10, uiP95Ms: 50 };
const OPENCV = path.join(repo, 'node_modules/@techstark/opencv-js/dist/opencv.js');

function parseArgs(argv) {
  const opts = { runs: 5, peerFrames: 30, peerRuns: null, warm: true, decode: true, videoDir: null, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    const count = (min, max = Infinity) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) usageError(`${arg} needs an integer from ${min}${max < Infinity ? ' to ' + max : ''}`);
      return n;
    };
    if (arg === '--runs') opts.runs = count(1);
    else if (arg === '--peer-frames') opts.peerFrames = count(2, FRAMES);
    else if (arg === '--peer-runs') opts.peerRuns = count(0);
    else if (arg === '--no-warm') opts.warm = false;
    else if (arg === '--no-decode') opts.decode = false;
    else if (arg === '--video-dir') opts.videoDir = value();
    else if (arg === '--json') opts.json = value();
    else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    else usageError(`unknown argument ${arg}`);
  }
  if (opts.peerRuns == null) opts.peerRuns = opts.runs;
  return opts;
}

function usageError(message) {
  console.error(`tracking_browser.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

// [SECTION] numbers

// make_video.py's pixel centres are whole numbers; ours are at +0.5 (docs/SCHEMA.md).
function truthOf(json) {
  return json.objects.map((o) => ({
    name: o.name,
    boxes: o.boxes.map(([x, y, w, h]) => [x + 0.5, y + 0.5, w, h]),
    polygons: o.polygons.map((p) => p.map((v) => v + 0.5)),
  }));
}

// [SECTION] in the page

// Mounts the video task with five tracks (fresh instance each time). Runs in the browser.
async function mountInPage({ task, annotations }) {
  if (window.polymark && !polymark.destroyed) polymark.destroy();
  document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
  window.benchErrors = [];
  window.polymark = await Polymark.mount('#host', { taskObject: task, annotations });
  polymark.on('error', (e) => benchErrors.push(e));
  return polymark.getView();
}

// One trackForward run with the rAF intervals recorded meanwhile. Runs in the browser.
async function trackInPage({ ids, frames }) {
  if (polymark.getView().frame !== 0) {
    polymark.setFrame(0);
    while (!polymark.getView().frameShown) await new Promise((r) => requestAnimationFrame(r));
  }
  // Two quiet frames so the rAF loop starts from a steady state.
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  polymark.takeFrameTimes();
  const intervals = [];
  let last = null;
  let recording = true;
  const loop = () => {
    const now = performance.now();
    if (last != null) intervals.push(now - last);
    last = now;
    if (recording) requestAnimationFrame(loop);
  };
  // Long animation frames (> 50 ms, Chromium's LoAF): how much of them is script on the main thread.
  const loaf = { count: 0, durationMs: 0, scriptMs: 0, supported: PerformanceObserver.supportedEntryTypes.includes('long-animation-frame') };
  const observer = loaf.supported ? new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      loaf.count++; loaf.durationMs += e.duration;
      for (const sc of e.scripts || []) loaf.scriptMs += sc.duration;
    }
  }) : null;
  observer?.observe({ type: 'long-animation-frame', buffered: false });
  requestAnimationFrame(loop);
  const t0 = performance.now();
  let outcome;
  try {
    outcome = await polymark.trackForward({ ids, frames });
  } catch (e) {
    recording = false;
    return { error: `${e.code || e.name}: ${e.message}` };
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  recording = false;
  if (observer) { for (const e of observer.takeRecords()) { loaf.count++; loaf.durationMs += e.duration; for (const sc of e.scripts || []) loaf.scriptMs += sc.duration; } observer.disconnect(); }
  const frameTimes = polymark.takeFrameTimes();
  const tracks = polymark.getAnnotations().tracks.map((t) => ({
    id: t.id,
    keyframes: t.keyframes.filter((k) => k.source === 'auto').map((k) => ({ frame: k.frame, points: k.points })),
  }));
  const videoStats = await polymark.getVideoStats();
  return { wallSeconds, outcome, frameTimes, intervals, tracks, videoStats, loaf, errors: benchErrors.map((e) => `${e.where}:${e.code}: ${e.message}`) };
}

// The same mount idle (nothing tracked) for ms: the baseline UI frame and rAF interval.
async function idleInPage({ ms }) {
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  polymark.takeFrameTimes();
  const intervals = [];
  let last = null;
  const t0 = performance.now();
  await new Promise((resolve) => {
    const loop = () => {
      const now = performance.now();
      if (last != null) intervals.push(now - last);
      last = now;
      if (now - t0 < ms) requestAnimationFrame(loop); else resolve();
    };
    requestAnimationFrame(loop);
  });
  return { intervals, frameTimes: polymark.takeFrameTimes() };
}

// Decode only: readLuma of every frame in order through shell/video.js, as the tracker reads them.
async function decodeInPage({ url, frames }) {
  const source = await PolymarkVideo.open(url);
  const t0 = performance.now();
  let channels = 0;
  for (let n = 0; n < frames; n++) channels = (await source.readLuma(n)).channels;
  const seconds = (performance.now() - t0) / 1000;
  source.close();
  return { seconds, channels, mode: source.mode };
}

// OpenCV.js TrackerMIL on the same frames: one tracker per object from the first true box,
// frames read with shell/video.js readLuma (the luma plane, or RGBA converted to grey).
// Only init() and update() count as tracking; "with decode" is the whole loop's wall time.
async function peerInPage({ url, frames, boxes }) {
  const cv = window.cv;
  const source = await PolymarkVideo.open(url);
  const tStart = performance.now();
  let decodeMs = 0, convertMs = 0, initMs = 0, updateMs = 0, channels = 0;
  let mat = null, rgba = null;
  const trackers = boxes.map(() => new cv.TrackerMIL());
  const current = boxes.map((b) => b.slice());
  const out = boxes.map(() => []);  // per object: [frame, x, y, w, h, ok]
  const updateMsPerObject = boxes.map(() => 0);
  for (let n = 0; n < frames; n++) {
    let t = performance.now();
    const luma = await source.readLuma(n);
    decodeMs += performance.now() - t;
    t = performance.now();
    channels = luma.channels;
    if (!mat) mat = new cv.Mat(luma.height, luma.width, cv.CV_8UC1);
    if (luma.channels === 1) mat.data.set(luma.pixels);
    else {
      if (!rgba) rgba = new cv.Mat(luma.height, luma.width, cv.CV_8UC4);
      rgba.data.set(luma.pixels);
      cv.cvtColor(rgba, mat, cv.COLOR_RGBA2GRAY);
    }
    convertMs += performance.now() - t;
    for (let i = 0; i < trackers.length; i++) {
      t = performance.now();
      if (n === 0) {
        const [x, y, w, h] = boxes[i].map(Math.round);
        trackers[i].init(mat, new cv.Rect(x, y, w, h));
        initMs += performance.now() - t;
        continue;
      }
      const [ok, r] = trackers[i].update(mat);
      const dt = performance.now() - t;
      updateMs += dt;
      updateMsPerObject[i] += dt;
      if (ok) current[i] = [r.x, r.y, r.width, r.height];
      out[i].push([n, ...current[i], ok ? 1 : 0]);
    }
  }
  const wallMs = performance.now() - tStart;
  for (const tr of trackers) if (tr.delete) tr.delete();
  mat?.delete(); rgba?.delete();
  source.close();
  return { wallMs, decodeMs, convertMs, initMs, updateMs, updateMsPerObject, channels, boxes: out };
}

// [SECTION] main

function progress(text) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K  ${text}`);
}

function analyseRun(r, truth, ids) {
  if (r.error) throw new Error(`trackForward rejected: ${r.error}`);
  const o = r.outcome;
  const perObject = ids.map((id, i) => {
    const t = r.tracks.find((x) => x.id === id);
    const ious = t.keyframes.map((k) => iou(boundsOf(k.points), truth[i].boxes[k.frame]));
    const state = o.objects.find((x) => x.id === id);
    return { id, keyframes: t.keyframes.length, meanIou: mean(ious), minIou: ious.length ? Math.min(...ious) : null,
      state: state?.state, frame: state?.frame, confidence: state?.confidence, message: state?.message };
  });
  const allIous = [];
  ids.forEach((id, i) => {
    const t = r.tracks.find((x) => x.id === id);
    for (const k of t.keyframes) allIous.push(iou(boundsOf(k.points), truth[i].boxes[k.frame]));
  });
  const objectFrames = perObject.reduce((a, p) => a + p.keyframes, 0);
  const ft = r.frameTimes.frameTimesMs;
  return {
    state: o.state,
    wallSeconds: r.wallSeconds,
    seconds: o.seconds,
    workerTrackingS: o.trackingMs != null ? o.trackingMs / 1000 : null,
    workerWaitingS: o.waitingMs != null ? o.waitingMs / 1000 : null,
    framesTracked: o.framesTracked,
    objectFrames,
    objectFps: objectFrames / r.wallSeconds,
    framesDrawn: r.frameTimes.framesDrawn,
    uiP50: percentile(ft, 50), uiP95: percentile(ft, 95), uiMax: ft.length ? Math.max(...ft) : null,
    rafCount: r.intervals.length,
    rafP50: percentile(r.intervals, 50), rafP95: percentile(r.intervals, 95), rafMax: r.intervals.length ? Math.max(...r.intervals) : null,
    loafCount: r.loaf.supported ? r.loaf.count : null,
    loafShare: r.loaf.supported ? r.loaf.durationMs / 1000 / r.wallSeconds : null,
    loafScriptShare: r.loaf.supported ? r.loaf.scriptMs / 1000 / r.wallSeconds : null,
    uiCpuShare: ft.reduce((a, b) => a + b, 0) / 1000 / r.wallSeconds,
    meanIou: mean(allIous),
    done: perObject.filter((p) => p.state === 'done').length,
    perObject,
    videoMode: r.videoStats?.[0]?.mode,
    decodedFrames: r.videoStats?.[0]?.decodedFrames,
    errors: r.errors,
  };
}

function analysePeer(p, truth) {
  const perObject = p.boxes.map((list, i) => mean(list.map(([n, x, y, w, h]) => iou([x + 0.5, y + 0.5, w, h], truth[i].boxes[n]))));
  const updates = p.boxes.reduce((a, l) => a + l.length, 0);
  return {
    frames: p.boxes[0].length + 1,
    objectFrames: updates,
    trackingFps: updates / (p.updateMs / 1000),
    withDecodeFps: updates / (p.wallMs / 1000),
    decodeMsPerFrame: p.decodeMs / (p.boxes[0].length + 1),
    initMs: p.initMs,
    meanIou: mean(perObject),
    perObject,
    perObjectFps: p.updateMsPerObject.map((ms) => p.boxes[0].length / (ms / 1000)),
    channels: p.channels,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const f of ['polymark.js', 'video.js', 'polymark_video.wasm', 'polymark_app.wasm']) {
    if (!fs.existsSync(path.join(dist, f))) throw new Error(`${dist}/${f} is missing: the web build is needed (./tools/build.sh web)`);
  }
  if (!fs.existsSync(OPENCV)) throw new Error(`${OPENCV} is missing: npm install`);
  const loadStart = os.loadavg();
  const videoDir = opts.videoDir || path.join(os.tmpdir(), 'polymark-bench-tracking');
  fs.mkdirSync(videoDir, { recursive: true });
  progress(`making the video in ${videoDir} (once, a few seconds)...`);
  execFileSync('/usr/bin/python3', [path.join(repo, 'bench/tracking/make_video.py'), videoDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const json = JSON.parse(fs.readFileSync(path.join(videoDir, 'moving.json'), 'utf8'));
  if (json.frames !== FRAMES || json.width !== 1280 || json.height !== 720 || json.objects.length !== 5) {
    throw new Error(`unexpected video in ${videoDir}: ${json.width}x${json.height}, ${json.frames} frames, ${json.objects.length} objects`);
  }
  const truth = truthOf(json);
  const file = path.join(videoDir, 'moving.mp4');

  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const server = await startServer({ extraMedia: { 'moving.mp4': file } });
  let stopped = false;
  const stop = () => { if (!stopped) { stopped = true; server.stop(); } };
  process.on('exit', stop);
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}/?task=test`);
    await page.evaluate(() => window.polymarkMount);
    await page.evaluate(() => polymark.destroy());

    const url = '/media/extra/moving.mp4';
    const ids = ['o0', 'o1', 'o2', 'o3', 'o4'];
    const corners = ([x, y, w, h]) => [x, y, x + w, y + h];
    const tracks = ids.map((id, i) => (i % 2 === 0
      ? { id, type: 'rectangle', label: 'thing', keyframes: [{ id: id + '.k0', frame: 0, points: corners(truth[i].boxes[0]) }] }
      : { id, type: 'polygon', label: 'thing', keyframes: [{ id: id + '.k0', frame: 0, points: truth[i].polygons[0] }] }));
    const task = { format: 'polymark.task', version: 1, id: 'bench-tracking', name: 'Tracking benchmark',
      media: [{ id: 'v', type: 'video', url, frames: FRAMES, fps: FPS }], labels: [{ id: 'thing', name: 'Thing' }] };
    const annotations = { format: 'polymark.annotations', version: 1, objects: [], tracks };

    // OpenCV.js into the same page (a 10.9 MB script with the wasm inside), ready before run 1.
    progress('loading OpenCV.js into the page...');
    let t0 = Date.now();
    await page.addScriptTag({ path: OPENCV });
    await page.waitForFunction(() => window.cv && typeof window.cv.Mat === 'function' && typeof window.cv.TrackerMIL === 'function', undefined, { timeout: 120000, polling: 100 });
    const opencvLoadSeconds = (Date.now() - t0) / 1000;
    const opencvVersion = await page.evaluate(() => { try { return cv.getBuildInformation().match(/General configuration for OpenCV ([^\s=]+)/)?.[1] || '?'; } catch { return '?'; } });

    // One mount, discarded: compiles the app's wasm and loads shell/video.js once.
    progress('warm-up mount...');
    await page.evaluate(mountInPage, { task, annotations });

    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      const run = { index: i + 1 };
      progress(`run ${i + 1}/${opts.runs}: cold (fresh mount)...`);
      await page.evaluate(mountInPage, { task, annotations });
      run.loadStart = os.loadavg()[0];
      progress(`run ${i + 1}/${opts.runs}: idle baseline...`);
      const idle = await page.evaluate(idleInPage, { ms: 2000 });
      const ift = idle.frameTimes.frameTimesMs;
      run.idle = { framesDrawn: idle.frameTimes.framesDrawn, uiP50: percentile(ift, 50), uiP95: percentile(ift, 95),
        rafCount: idle.intervals.length, rafP50: percentile(idle.intervals, 50), rafP95: percentile(idle.intervals, 95) };
      run.cold = analyseRun(await page.evaluate(trackInPage, { ids, frames: TRACK_FRAMES }), truth, ids);
      if (opts.warm) {
        progress(`run ${i + 1}/${opts.runs}: warm (same mount, from frame 0 again)...`);
        run.warm = analyseRun(await page.evaluate(trackInPage, { ids, frames: TRACK_FRAMES }), truth, ids);
      }
      await page.evaluate(() => polymark.destroy());
      if (opts.decode) {
        progress(`run ${i + 1}/${opts.runs}: decode only...`);
        run.decode = await page.evaluate(decodeInPage, { url, frames: FRAMES });
      }
      if (i < opts.peerRuns) {
        progress(`run ${i + 1}/${opts.runs}: OpenCV.js TrackerMIL, ${opts.peerFrames} frames...`);
        const p = await page.evaluate(peerInPage, { url, frames: opts.peerFrames, boxes: json.objects.map((o) => o.boxes[0]) });
        run.peer = analysePeer(p, truth);
        run.peerRaw = { wallMs: p.wallMs, decodeMs: p.decodeMs, convertMs: p.convertMs, initMs: p.initMs, updateMs: p.updateMs };
      }
      runs.push(run);
    }
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    if (page.problems.length) throw new Error(`page problems: ${page.problems.join('; ')}`);
    const loadEnd = os.loadavg();

    // [SECTION] report
    const cold = (f) => spread(runs.map((r) => f(r.cold)));
    const warm = (f) => spread(runs.map((r) => (r.warm ? f(r.warm) : null)));
    const peer = (f) => spread(runs.map((r) => (r.peer ? f(r.peer) : null)));
    const load = (l) => l.map((x) => x.toFixed(2)).join(' ');
    console.log('Polymark "track forward" in the browser');
    console.log(`  video    moving.mp4 (bench/tracking/make_video.py): 1280x720 H.264, ${FRAMES} frames at ${FPS} fps, 5 objects, ${fs.statSync(file).size.toLocaleString('en-US')} bytes`);
    console.log(`  tracks   o0 ${truth[0].name}, o2 ${truth[2].name}, o4 ${truth[4].name}: rectangles; o1 ${truth[1].name}, o3 ${truth[3].name}: polygons; from the truth at frame 0`);
    console.log(`  call     polymark.trackForward({ids: all 5, frames: ${TRACK_FRAMES}}) from frame 0`);
    console.log(`  browser  Chromium ${browser.version()} (headless, WebGL on SwiftShader), viewport 1280x800; video mode ${runs[0].cold.videoMode}`);
    console.log(`  machine  ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
    console.log(`  load     at start ${load(loadStart)}, at end ${load(loadEnd)} (1, 5, 15 min)`);
    console.log(`  date     ${new Date().toISOString()}`);
    console.log(`  runs     ${opts.runs}: cold = a fresh mount (destroy() + mount) each; warm = a second run on the same mount from frame 0`);
    console.log('');

    const perRunRow = (label, w, f, d) => console.log(`  ${label.padEnd(40)}${runs.map((r) => fmt(f(r), d).padStart(8)).join('')}   ${show(spread(runs.map(f)), d).padEnd(w)}`);
    console.log(`  ${'cold runs'.padEnd(40)}${runs.map((r) => ('#' + r.index).padStart(8)).join('')}   median [min-max]`);
    perRunRow('wall s, call to resolve (in the page)', 0, (r) => r.cold.wallSeconds, 2);
    perRunRow('outcome.seconds', 0, (r) => r.cold.seconds, 2);
    perRunRow('  of which the worker tracked, s', 0, (r) => r.cold.workerTrackingS, 2);
    perRunRow('  and waited for frames, s', 0, (r) => r.cold.workerWaitingS, 2);
    perRunRow('framesTracked', 0, (r) => r.cold.framesTracked, 0);
    perRunRow('objects done (of 5)', 0, (r) => r.cold.done, 0);
    perRunRow('object-frames written', 0, (r) => r.cold.objectFrames, 0);
    perRunRow('object-frames / s (wall)', 0, (r) => r.cold.objectFps, 1);
    perRunRow('UI frames drawn', 0, (r) => r.cold.framesDrawn, 0);
    perRunRow('UI frame CPU ms p50', 0, (r) => r.cold.uiP50, 1);
    perRunRow('UI frame CPU ms p95', 0, (r) => r.cold.uiP95, 1);
    perRunRow('UI frame CPU ms max', 0, (r) => r.cold.uiMax, 1);
    perRunRow('rAF intervals', 0, (r) => r.cold.rafCount, 0);
    perRunRow('rAF interval ms p50', 0, (r) => r.cold.rafP50, 1);
    perRunRow('rAF interval ms p95', 0, (r) => r.cold.rafP95, 1);
    perRunRow('rAF interval ms max', 0, (r) => r.cold.rafMax, 1);
    perRunRow('share of wall in UI frame CPU', 0, (r) => r.cold.uiCpuShare, 2);
    perRunRow('long animation frames (> 50 ms)', 0, (r) => r.cold.loafCount, 0);
    perRunRow('  their share of wall', 0, (r) => r.cold.loafShare, 2);
    perRunRow('  share of wall in script within them', 0, (r) => r.cold.loafScriptShare, 2);
    perRunRow('mean IoU, all written keyframes', 0, (r) => r.cold.meanIou, 3);
    ids.forEach((id, i) => perRunRow(`  mean IoU ${id} (${truth[i].name}, ${i % 2 ? 'polygon' : 'rectangle'})`, 0, (r) => r.cold.perObject[i].meanIou, 3));
    perRunRow('1-min load average at the run\'s start', 0, (r) => r.loadStart, 2);
    console.log('');
    console.log(`  ${'idle baseline (same mount, 2 s before)'.padEnd(40)}${runs.map((r) => ('#' + r.index).padStart(8)).join('')}   median [min-max]`);
    perRunRow('UI frames drawn', 0, (r) => r.idle.framesDrawn, 0);
    perRunRow('UI frame CPU ms p50', 0, (r) => r.idle.uiP50, 1);
    perRunRow('UI frame CPU ms p95', 0, (r) => r.idle.uiP95, 1);
    perRunRow('rAF interval ms p50', 0, (r) => r.idle.rafP50, 1);
    perRunRow('rAF interval ms p95', 0, (r) => r.idle.rafP95, 1);
    if (opts.warm) {
      console.log('');
      console.log(`  ${'warm runs (same mount, again from 0)'.padEnd(40)}${runs.map((r) => ('#' + r.index).padStart(8)).join('')}   median [min-max]`);
      perRunRow('wall s, call to resolve (in the page)', 0, (r) => r.warm.wallSeconds, 2);
      perRunRow('outcome.seconds', 0, (r) => r.warm.seconds, 2);
      perRunRow('objects done (of 5)', 0, (r) => r.warm.done, 0);
      perRunRow('object-frames / s (wall)', 0, (r) => r.warm.objectFps, 1);
      perRunRow('UI frame CPU ms p50', 0, (r) => r.warm.uiP50, 1);
      perRunRow('UI frame CPU ms p95', 0, (r) => r.warm.uiP95, 1);
      perRunRow('UI frame CPU ms max', 0, (r) => r.warm.uiMax, 1);
      perRunRow('rAF interval ms p50', 0, (r) => r.warm.rafP50, 1);
      perRunRow('rAF interval ms p95', 0, (r) => r.warm.rafP95, 1);
      perRunRow('rAF interval ms max', 0, (r) => r.warm.rafMax, 1);
      perRunRow('mean IoU, all written keyframes', 0, (r) => r.warm.meanIou, 3);
      perRunRow('frames decoded by the source (total)', 0, (r) => r.warm.decodedFrames, 0);
    }
    if (opts.decode) {
      console.log('');
      console.log(`  ${'decode only (no app instance)'.padEnd(40)}${runs.map((r) => ('#' + r.index).padStart(8)).join('')}   median [min-max]`);
      perRunRow(`readLuma frames 0-${FRAMES - 1}, s`, 0, (r) => r.decode.seconds, 2);
      perRunRow('  ms per frame', 0, (r) => r.decode.seconds * 1000 / FRAMES, 1);
      perRunRow('  channels readLuma gave (1: luma plane)', 0, (r) => r.decode.channels, 0);
    }
    const peerRuns = runs.filter((r) => r.peer);
    if (peerRuns.length) {
      const pr = (label, f, d) => console.log(`  ${label.padEnd(40)}${runs.map((r) => (r.peer ? fmt(f(r), d) : '-').padStart(8)).join('')}   ${show(spread(peerRuns.map(f)), d)}`);
      console.log('');
      console.log(`  ${`peer: OpenCV.js ${opencvVersion} TrackerMIL x5`.padEnd(40)}${runs.map((r) => ('#' + r.index).padStart(8)).join('')}   median [min-max]`);
      console.log(`  (same page, frames 0-${opts.peerFrames - 1} read by shell/video.js readLuma, grey; OpenCV.js loaded in ${opencvLoadSeconds.toFixed(1)} s)`);
      pr('object-frames tracked', (r) => r.peer.objectFrames, 0);
      pr('object-frames / s, update() only', (r) => r.peer.trackingFps, 2);
      pr('object-frames / s, with decode + init', (r) => r.peer.withDecodeFps, 2);
      pr('init() ms, 5 trackers', (r) => r.peer.initMs, 0);
      pr('decode ms per frame (readLuma)', (r) => r.peer.decodeMsPerFrame, 1);
      pr('mean IoU', (r) => r.peer.meanIou, 3);
      ids.forEach((id, i) => pr(`  ${id} (${truth[i].name}): IoU`, (r) => r.peer.perObject[i], 3));
      ids.forEach((id, i) => pr(`  ${id} (${truth[i].name}): fps, update()`, (r) => r.peer.perObjectFps[i], 2));
      console.log('');
      const oursFps = cold((r) => r.objectFps).median;
      const peerTrack = peer((r) => r.trackingFps).median;
      const peerAll = peer((r) => r.withDecodeFps).median;
      console.log(`  ratio ours / peer, object-frames per second (medians): ${fmt(oursFps / peerAll, 1)}x against the peer with decode,`);
      console.log(`    ${fmt(oursFps / peerTrack, 1)}x against the peer's update() alone (ours always includes decode and drawing the UI)`);
    }
    console.log('');
    const total = cold((r) => r.wallSeconds);
    const p95 = cold((r) => r.uiP95);
    const raf95 = cold((r) => r.rafP95);
    const allDone = runs.every((r) => r.cold.done === 5);
    const met = (ok) => (ok ? 'met' : 'NOT met');
    console.log(`  target: 5 objects x ${TRACK_FRAMES} frames of 720p, decode included, < ${TARGETS.seconds} s: ${met(total.median < TARGETS.seconds)} (median ${fmt(total.median, 2)} s, worst ${fmt(total.max, 2)} s${allDone ? ', all 5 done in every run' : ', NOT all objects done in every run'})`);
    console.log(`  target: UI frame time p95 < ${TARGETS.uiP95Ms} ms meanwhile: ${met(p95.median < TARGETS.uiP95Ms)} (takeFrameTimes CPU ms: median p95 ${fmt(p95.median, 1)}, worst ${fmt(p95.max, 1)}; felt, rAF interval: median p95 ${fmt(raf95.median, 1)}, worst ${fmt(raf95.max, 1)}${raf95.median < TARGETS.uiP95Ms ? '' : ' - over the target'})`);
    const notDone = runs.flatMap((r) => r.cold.perObject.filter((p) => p.state !== 'done').map((p) => `run ${r.index}: ${p.id} ${p.state} at frame ${p.frame}${p.message ? ' (' + p.message + ')' : ''}`));
    if (notDone.length) console.log(`  objects not done: ${notDone.join('; ')}`);
    const errors = runs.flatMap((r) => [...r.cold.errors, ...(r.warm?.errors || [])]);
    if (errors.length) console.log(`  app error events: ${[...new Set(errors)].join('; ')}`);
    if (opts.json) {
      fs.writeFileSync(opts.json, JSON.stringify({ options: opts, loadStart, loadEnd, opencvVersion, opencvLoadSeconds, runs }, null, 2) + '\n');
      console.log(`\nJSON written to ${opts.json}`);
    }
  } finally {
    await browser.close();
    stop();
  }
}

main().catch((e) => {
  console.error(`\ntracking_browser.mjs: ${e.stack || e.message}`);
  process.exit(1);
});
