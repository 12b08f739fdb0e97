#!/usr/bin/env node
// Video memory benchmark for the Polymark web client (see bench/README.md, "Video memory").
// Steps through every frame of a 10,000-frame 1920x1080 H.264 video in headless Chromium with the
// decoded-frame cache capped (`videoMemoryCapBytes`), and samples the browser's process memory
// through the DevTools protocol every few hundred frames. Prints per sample and a summary; exits
// non-zero when the memory growth over the baseline exceeds the cap plus the overhead stated
// below, or when something broke.
//
// Also a module: tests/browser/video_memory.test.mjs imports makeVideo(), MemoryProbe and the
// overhead constants from here, so the test and the benchmark measure the same way.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, launchBrowser, openPage, repo, dist } from '../tests/browser/harness.mjs';

export const MiB = 1024 * 1024;

// [SECTION] the stated overhead
//
// Memory the tab may use beyond the cap, measured from a baseline taken after the video is
// mounted and its first frame shown. Two budgets, because Chromium keeps two different kinds:
//
// OVERHEAD_PRIVATE_BYTES: private (non-shared) memory of the page's renderer, the GPU process and
// the browser process beyond the cap. What it pays for, per process:
//   renderer  the decoder's frame-buffer pool beyond the frames the cache holds (reference frames,
//             outputs in flight, buffers freed but not yet returned to the allocator), the fetched
//             file bytes video.js keeps (BYTE_CACHE_BYTES, 32 MiB), EncodedVideoChunk copies and
//             fetch buffers waiting for V8's garbage collector, the WebGL upload's transfer
//             buffers and allocator slack;
//   GPU       the video texture (1080p RGBA, 8 MiB) and SwiftShader's staging copies;
//   browser   IPC and bookkeeping.
// OVERHEAD_SHARED_BYTES: Chromium's discardable shared memory in the renderer. In this browser
// (WebGL on SwiftShader) texImage2D(VideoFrame) takes the software path: each frame is painted
// through a cc::PaintImage, and cc's software image-decode cache keeps the RGBA result of every
// frame drawn (8 MiB at 1080p) as *unlocked discardable memory* ("cc/image_memory" in
// memory-infra). Those entries are never reused (each frame is a new image) and are purged only
// when Chromium's discardable-memory budget is reached (observed: it levels off at ~514 MiB,
// whatever the cap) or under memory pressure. It does not depend on the cap and is not ours to
// free; with a hardware-accelerated WebGL context the upload is a GPU copy and this cache is
// not used.
export const OVERHEAD_PRIVATE_BYTES = 160 * MiB;
export const OVERHEAD_SHARED_BYTES = 544 * MiB;

// [SECTION] no response bodies kept for DevTools
//
// Playwright enables the DevTools Network domain on every page, and Chromium's network agent then
// keeps a copy of every fetch() response body in the renderer (Network.enable's default
// maxTotalBufferSize: 200 MB per page) so that DevTools could show it. video.js reads the video
// with fetch(), so without this the renderer grows by the bytes fetched (~10 MB per 100 frames
// here) up to ~190 MiB: memory the test driver causes, not the app. Playwright has no option for
// it; this patches its CDP session (playwright-core 1.48, in this process) so that Network.enable
// asks for no buffering. networkEnableCalls() tells whether the patch took effect.
const requireHere = createRequire(import.meta.url);
let patchedEnables = 0;
{
  const root = path.dirname(requireHere.resolve('playwright-core/package.json'));
  const { CRSession } = requireHere(path.join(root, 'lib/server/chromium/crConnection.js'));
  if (!CRSession || typeof CRSession.prototype.send !== 'function') throw new Error('playwright-core internals changed: cannot turn off response body buffering');
  const send = CRSession.prototype.send;
  if (!send.polymarkNoBodies) {
    CRSession.prototype.send = function (method, params) {
      if (method === 'Network.enable') {
        params = { ...(params || {}), maxTotalBufferSize: 0, maxResourceBufferSize: 0 };
        patchedEnables++;
      }
      return send.call(this, method, params);
    };
    CRSession.prototype.send.polymarkNoBodies = true;
  }
}
export const networkEnableCalls = () => patchedEnables;

// [SECTION] the test video

const cacheRoot = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');

// An H.264 MP4 (testsrc2, yuv420p, ultrafast, keyframe every `gop` frames), cached under
// $POLYMARK_CACHE/bench and reused when present. Returns {file, seconds (0 when reused)}.
export function makeVideo({ width, height, frames, gop = 60, dir = path.join(cacheRoot, 'bench'), log = () => {} }) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `testsrc2_${width}x${height}_${frames}f_g${gop}.mp4`);
  const done = file + '.done';  // written after ffmpeg succeeded: a cut-off file is never reused
  if (fs.existsSync(file) && fs.existsSync(done)) return { file, seconds: 0 };
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  log(`generating ${path.basename(file)} with ffmpeg (ultrafast, 2 threads)...`);
  const started = Date.now();
  try {
    execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=30`, '-frames:v', String(frames),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-pix_fmt', 'yuv420p',
      '-threads', '2', '-movflags', '+faststart', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fs.writeFileSync(done, JSON.stringify({ width, height, frames, gop, bytes: fs.statSync(file).size }) + '\n');
  return { file, seconds: (Date.now() - started) / 1000 };
}

// [SECTION] process memory through the DevTools protocol
//
// A browser-level CDP session; each sample is one memory-infra dump: Tracing.start with only the
// 'disabled-by-default-memory-infra' category and no periodic triggers, Tracing.requestMemoryDump
// (levelOfDetail 'light'), Tracing.end; the dump arrives in Tracing.dataCollected as one
// 'process_memory_dump' event per process. From it, per process:
//   pf      process_totals.private_footprint_bytes: Chromium's "memory footprint" (on Linux the
//           resident anonymous pages plus swap); excludes shared memory.
//   peakRss process_totals.peak_resident_set_size: the peak RSS since the previous dump (Chromium
//           resets it at each dump), so transients between samples are seen.
//   shared  the renderer's 'discardable' allocator: discardable shared memory it holds (cc's
//           decoded-image cache; see OVERHEAD_SHARED_BYTES).
//   pool    'media/frame_buffers/memory_pool': the video decoder's frame buffers (used + free).
//   ccImage 'cc/image_memory'.
// The page's renderer is the renderer process whose dump has a 'webgl' allocator (the only page
// with a WebGL context). The GPU process and the browser process are named by the trace's
// process_name metadata. As a cross-check outside the protocol, /proc/<pid>/status is read at
// the same moment (RssAnon + RssShmem).
export class MemoryProbe {
  constructor(browser) { this.browser = browser; this.session = null; this.rendererPid = null; }

  async dump() {
    if (!this.session) this.session = await this.browser.newBrowserCDPSession();
    const cdp = this.session;
    const events = [];
    const onData = (e) => { for (const v of e.value) events.push(v); };
    cdp.on('Tracing.dataCollected', onData);
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    try {
      await cdp.send('Tracing.start', {
        transferMode: 'ReportEvents',
        traceConfig: { includedCategories: ['disabled-by-default-memory-infra'], excludedCategories: ['*'], memoryDumpConfig: { triggers: [] } },
      });
      const reply = await cdp.send('Tracing.requestMemoryDump', { deterministic: false, levelOfDetail: 'light' });
      await cdp.send('Tracing.end');
      await complete;
      if (!reply.success) throw new Error('Tracing.requestMemoryDump did not succeed');
    } finally {
      cdp.off('Tracing.dataCollected', onData);
    }
    const names = {};
    for (const e of events) if (e.ph === 'M' && e.name === 'process_name') names[e.pid] = e.args.name;
    const procs = {};
    for (const e of events) {
      if (e.ph !== 'v' || !e.args || !e.args.dumps) continue;
      const p = procs[e.pid] ||= { pid: e.pid, name: names[e.pid] || '?', totals: null, allocators: {} };
      if (e.args.dumps.process_totals) p.totals = e.args.dumps.process_totals;
      Object.assign(p.allocators, e.args.dumps.allocators || {});
    }
    const size = (p, key) => {
      const a = p && p.allocators[key];
      return a && a.attrs && a.attrs.size ? parseInt(a.attrs.size.value, 16) : 0;
    };
    const list = Object.values(procs);
    if (!this.rendererPid) {
      const page = list.filter((p) => /Renderer/.test(p.name) && p.allocators.webgl);
      if (page.length !== 1) throw new Error(`cannot tell the page's renderer: ${page.length} renderer(s) with WebGL`);
      this.rendererPid = page[0].pid;
    }
    const pick = (test) => list.find(test) || null;
    const renderer = pick((p) => p.pid === this.rendererPid);
    const gpu = pick((p) => p.name === 'GPU Process');
    const browserProc = pick((p) => p.name === 'Browser');
    if (!renderer || !gpu || !browserProc) throw new Error(`memory dump lacks a process: renderer ${!!renderer}, GPU ${!!gpu}, browser ${!!browserProc}`);
    const totals = (p) => ({
      pid: p.pid,
      pf: p.totals ? parseInt(p.totals.private_footprint_bytes, 16) : 0,
      peakRss: p.totals && p.totals.peak_resident_set_size ? parseInt(p.totals.peak_resident_set_size, 16) : 0,
      proc: procStatus(p.pid),
    });
    const r = totals(renderer); const g = totals(gpu); const b = totals(browserProc);
    r.shared = size(renderer, 'discardable');
    const poolKey = Object.keys(renderer.allocators).find((k) => /^media\/frame_buffers\/memory_pool\/0x[0-9A-Fa-f]+$/.test(k));
    const usedKey = Object.keys(renderer.allocators).find((k) => /^media\/frame_buffers\/memory_pool\/used\/0x[0-9A-Fa-f]+$/.test(k));
    r.pool = poolKey ? size(renderer, poolKey) : 0;
    r.poolUsed = usedKey ? size(renderer, usedKey) : 0;
    r.ccImage = size(renderer, 'cc/image_memory');
    r.partitionAlloc = size(renderer, 'partition_alloc');
    r.v8 = size(renderer, 'v8');
    const privateBytes = r.pf + g.pf + b.pf;
    const procSum = [r, g, b].reduce((s, p) => s + (p.proc ? p.proc.anon + p.proc.shmem : 0), 0);
    return { renderer: r, gpu: g, browser: b, privateBytes, sharedBytes: r.shared, totalBytes: privateBytes + r.shared, procBytes: procSum };
  }
}

function procStatus(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => { const m = text.match(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm')); return m ? Number(m[1]) * 1024 : 0; };
    return { rss: kb('VmRSS'), anon: kb('RssAnon'), shmem: kb('RssShmem') };
  } catch {
    return null;  // not on this machine (a remote browser) or gone
  }
}

// [SECTION] mounting and stepping

// Mounts Polymark on `page` (already at the server's origin with polymark.js loaded) with a task
// whose only media is the video, and waits for frame 0 on screen.
export async function mountVideo(page, { url, frames, capBytes, timeout = 120000 }) {
  const task = {
    format: 'polymark.task', version: 1, id: 'video-memory',
    media: [{ id: 'v', type: 'video', url, frames, fps: 30 }],
    labels: [{ id: 'car', name: 'Car' }],
  };
  const outcome = await page.evaluate(async ([t, cap]) => {
    if (window.polymark && !polymark.destroyed) polymark.destroy();
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.videoErrors = [];
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: t, videoMemoryCapBytes: cap });
      polymark.on('error', (e) => videoErrors.push(e.message));
      return 'ready';
    } catch (e) { return `${e.code}: ${e.message}`; }
  }, [task, capBytes]);
  if (outcome !== 'ready') throw new Error(`mount failed: ${outcome}`);
  await page.waitForFunction(() => polymark.getView().frameShown, null, { timeout, polling: 50 });
}

// Steps through frames `from`..`to` (inclusive, either direction) in the page: setFrame(n), then
// animation frames until the view reports frame n shown. Returns per-step milliseconds and the
// largest cacheBytes / cachedFrames / openFrames seen after any step.
export function stepFrames(page, from, to, { timeoutMs = 60000 } = {}) {
  return page.evaluate(async ([from, to, timeoutMs]) => {
    const raf = () => new Promise((resolve) => requestAnimationFrame(resolve));
    const d = to >= from ? 1 : -1;
    const ms = [];
    let maxCacheBytes = 0; let maxCached = 0; let maxOpen = 0;
    for (let f = from; f !== to + d; f += d) {
      const t0 = performance.now();
      polymark.setFrame(f);
      for (;;) {
        await raf();
        const v = polymark.getView();
        if (v.frame === f && v.frameShown) break;
        if (videoErrors.length) throw new Error(`frame ${f}: ${videoErrors[0]}`);
        if (performance.now() - t0 > timeoutMs) throw new Error(`frame ${f} not shown within ${timeoutMs} ms`);
      }
      ms.push(performance.now() - t0);
      const [s] = await polymark.getVideoStats();
      maxCacheBytes = Math.max(maxCacheBytes, s.cacheBytes);
      maxCached = Math.max(maxCached, s.cachedFrames);
      maxOpen = Math.max(maxOpen, s.openFrames);
    }
    return { ms, maxCacheBytes, maxCached, maxOpen };
  }, [from, to, timeoutMs]);
}

export const videoStats = async (page) => (await page.evaluate(() => polymark.getVideoStats()))[0];

// JS heap of the page (Performance.getMetrics JSHeapUsedSize), a secondary line.
export async function jsHeap(cdpPage) {
  const { metrics } = await cdpPage.send('Performance.getMetrics');
  const m = metrics.find((x) => x.name === 'JSHeapUsedSize');
  return m ? m.value : 0;
}

// [SECTION] the benchmark

const USAGE = `usage: node bench/video_memory.mjs [--caps MiB,MiB] [--frames N] [--sample-every N] [--json FILE]
  --caps LIST         videoMemoryCapBytes of each run, MiB (default 256,64); one fresh browser per run
  --frames N          frames stepped through, from 0 (default 10000: the whole video)
  --sample-every N    frames between memory samples (default 250)
  --json FILE         also write every sample and the summary as JSON
Env: POLYMARK_DIST (default build-web/dist), POLYMARK_CACHE (video cached in
     $POLYMARK_CACHE/bench, default ~/.cache/polymark), CHROMIUM (default /usr/bin/chromium).`;

const VIDEO = { width: 1920, height: 1080, frames: 10000, gop: 60 };
const VIEWPORT = { width: 1280, height: 800 };

function parseArgs(argv) {
  const opts = { caps: [256, 64], frames: VIDEO.frames, sampleEvery: 250, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => { if (i + 1 >= argv.length) usageError(`${arg} needs a value`); return argv[++i]; };
    const int = (v, min, max) => { const n = Number(v); if (!Number.isInteger(n) || n < min || n > max) usageError(`${arg} needs an integer in ${min}..${max}`); return n; };
    if (arg === '--caps') opts.caps = value().split(',').map((v) => int(v, 1, 65536));
    else if (arg === '--frames') opts.frames = int(value(), 2, VIDEO.frames);
    else if (arg === '--sample-every') opts.sampleEvery = int(value(), 1, VIDEO.frames);
    else if (arg === '--json') opts.json = value();
    else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    else usageError(`unknown argument ${arg}`);
  }
  return opts;
}

function usageError(message) {
  console.error(`video_memory.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const mb = (n) => (n / MiB).toFixed(1);
const lp = (s, n) => String(s).padStart(n);

const HEADER = `${lp('frame', 6)}${lp('rend.pf', 9)}${lp('rend.shm', 9)}${lp('gpu.pf', 8)}${lp('brw.pf', 8)}${lp('total', 8)}${lp('+base', 8)}` +
  `${lp('cache', 7)}${lp('cached', 7)}${lp('open', 5)}${lp('pool', 7)}${lp('ccimg', 7)}${lp('pa', 6)}${lp('jsheap', 7)}${lp('pkRSS', 7)}${lp('proc', 8)}${lp('ms/f', 6)}`;

function row(frame, m, base, stats, heap, stepMs) {
  return `${lp(frame, 6)}${lp(mb(m.renderer.pf), 9)}${lp(mb(m.renderer.shared), 9)}${lp(mb(m.gpu.pf), 8)}${lp(mb(m.browser.pf), 8)}` +
    `${lp(mb(m.totalBytes), 8)}${lp(mb(m.totalBytes - base.totalBytes), 8)}${lp(mb(stats.cacheBytes), 7)}${lp(stats.cachedFrames, 7)}${lp(stats.openFrames, 5)}` +
    `${lp(mb(m.renderer.pool), 7)}${lp(mb(m.renderer.ccImage), 7)}${lp(mb(m.renderer.partitionAlloc), 6)}${lp(mb(heap), 7)}${lp(mb(m.renderer.peakRss), 7)}` +
    `${lp(m.procBytes ? mb(m.procBytes) : '-', 8)}${lp(stepMs == null ? '-' : stepMs.toFixed(0), 6)}`;
}

async function runCap(server, capMiB, opts) {
  const capBytes = capMiB * MiB;
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, undefined, { viewport: VIEWPORT });
    // Load polymark.js through the ordinary page, then mount the video task in its place.
    await page.goto(`${server.url}/?task=test`);
    await page.evaluate(() => window.polymarkMount);
    await page.evaluate(() => polymark.destroy());
    if (!networkEnableCalls()) throw new Error('the DevTools Network domain was enabled without the no-buffering patch');
    const cdpPage = await page.context().newCDPSession(page);
    await cdpPage.send('Performance.enable');
    const probe = new MemoryProbe(browser);
    await mountVideo(page, { url: '/media/extra/video.mp4', frames: VIDEO.frames, capBytes });
    // Baseline: frame 0 on screen, the decoder and WebGL set up, garbage collected, one second quiet.
    await cdpPage.send('HeapProfiler.collectGarbage');
    await new Promise((r) => setTimeout(r, 1000));
    const base = await probe.dump();
    const samples = [];
    const record = async (frame, stepMs) => {
      const m = frame === 0 ? base : await probe.dump();
      const stats = await videoStats(page);
      const heap = await jsHeap(cdpPage);
      samples.push({ frame, memory: m, stats, jsHeap: heap, stepMsMedian: stepMs });
      console.log(row(frame, m, base, stats, heap, stepMs));
    };
    console.log(`\n== cap ${capMiB} MiB (videoMemoryCapBytes ${capBytes}); renderer pid ${probe.rendererPid}, GPU pid ${base.gpu.pid}, browser pid ${base.browser.pid}`);
    console.log(HEADER);
    await record(0, null);
    const allMs = [];
    let maxCacheBytes = 0; let maxCached = 0; let maxOpen = 0;
    const last = opts.frames - 1;
    for (let from = 1; from <= last; from += opts.sampleEvery) {
      const to = Math.min(last, from + opts.sampleEvery - 1);
      const r = await stepFrames(page, from, to);
      allMs.push(...r.ms);
      maxCacheBytes = Math.max(maxCacheBytes, r.maxCacheBytes);
      maxCached = Math.max(maxCached, r.maxCached);
      maxOpen = Math.max(maxOpen, r.maxOpen);
      await record(to, median(r.ms));
    }
    const final = samples[samples.length - 1];
    // After a forced garbage collection: what stays once V8's garbage is gone.
    await cdpPage.send('HeapProfiler.collectGarbage');
    await new Promise((r) => setTimeout(r, 1000));
    const afterGc = await probe.dump();
    const endStats = await videoStats(page);
    const peakOf = (key) => samples.reduce((best, s) => (key(s.memory) > key(best.memory) ? s : best), samples[0]);
    const peakTotal = peakOf((m) => m.totalBytes);
    const peakPrivate = peakOf((m) => m.privateBytes);
    const peakShared = peakOf((m) => m.sharedBytes);
    const stepSeconds = allMs.reduce((s, x) => s + x, 0) / 1000;
    const summary = {
      capMiB, capBytes, frames: opts.frames,
      baseline: { totalBytes: base.totalBytes, privateBytes: base.privateBytes, sharedBytes: base.sharedBytes, renderer: base.renderer.pf, gpu: base.gpu.pf, browser: base.browser.pf },
      peak: { totalBytes: peakTotal.memory.totalBytes, atFrame: peakTotal.frame, privateBytes: peakPrivate.memory.privateBytes, privateAtFrame: peakPrivate.frame, sharedBytes: peakShared.memory.sharedBytes },
      final: { totalBytes: final.memory.totalBytes, privateBytes: final.memory.privateBytes, sharedBytes: final.memory.sharedBytes },
      finalAfterGc: { totalBytes: afterGc.totalBytes, privateBytes: afterGc.privateBytes, sharedBytes: afterGc.sharedBytes, renderer: afterGc.renderer.pf, pool: afterGc.renderer.pool, partitionAlloc: afterGc.renderer.partitionAlloc },
      growth: {
        privateBytes: peakPrivate.memory.privateBytes - base.privateBytes,
        sharedBytes: peakShared.memory.sharedBytes - base.sharedBytes,
        totalBytes: peakTotal.memory.totalBytes - base.totalBytes,
      },
      rendererPeakRssBytes: Math.max(...samples.map((s) => s.memory.renderer.peakRss)),
      maxDecoderPoolBytes: Math.max(...samples.map((s) => s.memory.renderer.pool)),
      cache: { maxCacheBytes, maxCachedFrames: maxCached, maxOpenFrames: maxOpen, endCachedFrames: endStats.cachedFrames, endOpenFrames: endStats.openFrames },
      decoder: { decodedFrames: endStats.decodedFrames, runs: endStats.runs, samplesFed: endStats.samplesFed, requests: endStats.requests, fetchedBytes: endStats.fetchedBytes },
      steps: allMs.length, stepSeconds, stepsPerSecond: allMs.length / stepSeconds,
      stepMs: { median: median(allMs), p95: pct(allMs, 0.95), max: Math.max(...allMs) },
      budget: {
        privateBytes: capBytes + OVERHEAD_PRIVATE_BYTES,
        totalBytes: capBytes + OVERHEAD_PRIVATE_BYTES + OVERHEAD_SHARED_BYTES,
      },
      problems: page.problems.slice(0, 10),
    };
    summary.within = {
      cache: maxCacheBytes <= capBytes,
      private: summary.growth.privateBytes <= summary.budget.privateBytes,
      total: summary.growth.totalBytes <= summary.budget.totalBytes,
      frames: endStats.openFrames === endStats.cachedFrames,
    };
    printSummary(summary);
    return { summary, samples: samples.map((s) => ({ frame: s.frame, stepMsMedian: s.stepMsMedian, jsHeap: s.jsHeap, stats: s.stats, memory: s.memory })) };
  } finally {
    await browser.close();
  }
}

function printSummary(s) {
  const ok = (b) => (b ? 'within' : 'EXCEEDED');
  console.log(`-- summary, cap ${s.capMiB} MiB, ${s.steps} steps (MB = MiB)`);
  console.log(`  baseline (frame 0 shown, after GC): total ${mb(s.baseline.totalBytes)} = private ${mb(s.baseline.privateBytes)} ` +
    `(renderer ${mb(s.baseline.renderer)}, GPU ${mb(s.baseline.gpu)}, browser ${mb(s.baseline.browser)}) + renderer shared ${mb(s.baseline.sharedBytes)}`);
  console.log(`  peak:  total ${mb(s.peak.totalBytes)} (frame ${s.peak.atFrame}); private ${mb(s.peak.privateBytes)} (frame ${s.peak.privateAtFrame}); shared ${mb(s.peak.sharedBytes)}`);
  console.log(`  final: total ${mb(s.final.totalBytes)}; private ${mb(s.final.privateBytes)}; after a forced GC: total ${mb(s.finalAfterGc.totalBytes)}, ` +
    `private ${mb(s.finalAfterGc.privateBytes)} (renderer ${mb(s.finalAfterGc.renderer)}, decoder pool ${mb(s.finalAfterGc.pool)}, partition_alloc ${mb(s.finalAfterGc.partitionAlloc)})`);
  console.log(`  growth peak - baseline: private ${mb(s.growth.privateBytes)} vs cap ${s.capMiB} + overhead ${mb(OVERHEAD_PRIVATE_BYTES)} = ${mb(s.budget.privateBytes)}: ${ok(s.within.private)}`);
  console.log(`                          total   ${mb(s.growth.totalBytes)} vs cap ${s.capMiB} + overhead ${mb(OVERHEAD_PRIVATE_BYTES)} + shared ${mb(OVERHEAD_SHARED_BYTES)} = ${mb(s.budget.totalBytes)}: ${ok(s.within.total)}`);
  console.log(`  renderer peak RSS (any moment, memory-infra): ${mb(s.rendererPeakRssBytes)}; decoder frame-buffer pool max ${mb(s.maxDecoderPoolBytes)}`);
  console.log(`  frame cache: max ${mb(s.cache.maxCacheBytes)} (${ok(s.within.cache)} the cap), max ${s.cache.maxCachedFrames} frames; ` +
    `end: ${s.cache.endCachedFrames} cached, ${s.cache.endOpenFrames} open VideoFrames (${s.within.frames ? 'none leaked' : 'LEAK'})`);
  console.log(`  decoder: ${s.decoder.decodedFrames} frames decoded for ${s.steps + 1} shown (${(s.decoder.decodedFrames / (s.steps + 1)).toFixed(2)}x), ` +
    `${s.decoder.runs} runs from a keyframe, ${s.decoder.requests} HTTP requests, ${mb(s.decoder.fetchedBytes)} fetched`);
  console.log(`  stepping: ${s.stepsPerSecond.toFixed(1)} steps/s; per step median ${s.stepMs.median.toFixed(1)} ms, p95 ${s.stepMs.p95.toFixed(1)} ms, max ${s.stepMs.max.toFixed(0)} ms`);
  if (s.problems.length) console.log(`  page problems: ${s.problems.join(' | ')}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const f of ['index.html', 'polymark.js', 'video.js', 'polymark_video.wasm']) {
    if (!fs.existsSync(path.join(dist, f))) throw new Error(`${path.join(dist, f)} is missing: run ./tools/build.sh web`);
  }
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const video = makeVideo({ ...VIDEO, log: (m) => console.log(m) });
  const server = await startServer({ extraMedia: { 'video.mp4': video.file } });
  process.on('exit', () => server.stop());
  const git = (...args) => { try { return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim(); } catch { return null; } };
  console.log('Polymark video memory benchmark');
  console.log(`  client   ${dist} (commit ${git('rev-parse', '--short', 'HEAD') ?? '?'})`);
  console.log(`  video    ${video.file} (${(fs.statSync(video.file).size / 1e6).toFixed(0)} MB, ${VIDEO.width}x${VIDEO.height}, ${VIDEO.frames} frames, ` +
    `H.264 ultrafast, keyframe every ${VIDEO.gop})${video.seconds ? `, generated in ${video.seconds.toFixed(0)} s` : ', cached'}`);
  console.log(`  machine  ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
  console.log(`  viewport ${VIEWPORT.width}x${VIEWPORT.height}; stepping frames 0..${opts.frames - 1}; memory sampled every ${opts.sampleEvery} frames`);
  console.log(`  memory   CDP memory-infra dumps (browser session): private footprint per process; renderer shared = its`);
  console.log(`           discardable shared memory; total = renderer + GPU + browser private + renderer shared. proc = the`);
  console.log(`           same three pids' RssAnon+RssShmem from /proc (cross-check). pkRSS = renderer peak RSS since the last sample.`);
  console.log(`           cache = getVideoStats().cacheBytes; pool = decoder frame buffers; ccimg = cc/image_memory; pa = partition_alloc.`);
  const runs = [];
  for (const cap of opts.caps) {
    const r = await runCap(server, cap, opts);
    r.summary.loadavg = os.loadavg();
    runs.push(r);
  }
  console.log('\n== all runs (MiB)');
  console.log(`  ${lp('cap', 5)}${lp('growth.private', 16)}${lp('budget', 8)}${lp('growth.total', 14)}${lp('budget', 8)}${lp('steps/s', 9)}${lp('ms/step', 9)}  verdict`);
  let failed = false;
  for (const { summary: s } of runs) {
    const good = s.within.private && s.within.total && s.within.cache && s.within.frames;
    failed ||= !good;
    console.log(`  ${lp(s.capMiB, 5)}${lp(mb(s.growth.privateBytes), 16)}${lp(mb(s.budget.privateBytes), 8)}${lp(mb(s.growth.totalBytes), 14)}` +
      `${lp(mb(s.budget.totalBytes), 8)}${lp(s.stepsPerSecond.toFixed(1), 9)}${lp(s.stepMs.median.toFixed(1), 9)}  ${good ? 'ok' : 'OVER BUDGET'}`);
  }
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({
      video: { ...VIDEO, file: video.file }, viewport: VIEWPORT,
      overhead: { privateBytes: OVERHEAD_PRIVATE_BYTES, sharedBytes: OVERHEAD_SHARED_BYTES }, runs,
    }, null, 1) + '\n');
    console.log(`\nJSON written to ${opts.json}`);
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(`\nvideo_memory.mjs: ${e.stack || e.message}`);
    process.exit(1);
  });
}
