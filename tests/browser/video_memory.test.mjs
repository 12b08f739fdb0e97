// The decoded-frame cache keeps the tab's memory bounded: 900 frames of a 1280x720 H.264 video
// are stepped through forward, then 200 frames back, with videoMemoryCapBytes = 48 MiB. The cache
// never holds more than the cap, no VideoFrame is left open beyond those it caches, the decoder's
// frame buffers are all released on destroy(), and the browser's process memory (renderer, GPU
// and browser processes, read through the DevTools protocol's memory-infra dumps) grows from its
// baseline by no more than the cap plus the overhead stated in bench/video_memory.mjs. Memory
// boundedness only; speed is bench/video_memory.mjs's business.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './harness.mjs';
import {
  MiB, OVERHEAD_PRIVATE_BYTES, OVERHEAD_SHARED_BYTES, MemoryProbe, makeVideo, mountVideo, networkEnableCalls,
  stepFrames, videoStats,
} from '../../bench/video_memory.mjs';

const VIDEO = { width: 1280, height: 720, frames: 1500, gop: 60 };
const CAP = 48 * MiB;
const STEPPED = 900;
const BACK = 200;
const SAMPLE_EVERY = 250;

let server; let browser; let page; let cdpPage; let probe;

before(async () => {
  const { file } = makeVideo(VIDEO);
  server = await startServer({ extraMedia: { 'v720.mp4': file } });
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  // Otherwise DevTools' network agent keeps every fetched byte of the video in the renderer.
  assert.ok(networkEnableCalls() > 0, 'the DevTools Network domain was enabled without the no-buffering patch');
  cdpPage = await page.context().newCDPSession(page);
  probe = new MemoryProbe(browser);
});
after(async () => { await browser?.close(); await server?.stop(); });

const mb = (n) => `${(n / MiB).toFixed(1)} MiB`;

test('stepping 900 frames forward and 200 back keeps the cache under its cap and the tab\'s memory under cap + overhead', async () => {
  await mountVideo(page, { url: '/media/extra/v720.mp4', frames: VIDEO.frames, capBytes: CAP });
  await cdpPage.send('HeapProfiler.collectGarbage');
  await new Promise((r) => setTimeout(r, 500));
  const base = await probe.dump();
  const samples = [];
  let maxCacheBytes = 0;
  const run = async (from, to) => {
    const r = await stepFrames(page, from, to);
    maxCacheBytes = Math.max(maxCacheBytes, r.maxCacheBytes);
    const m = await probe.dump();
    samples.push({ frame: to, m, stats: await videoStats(page) });
  };
  const last = STEPPED - 1;
  for (let f = 1; f <= last; f += SAMPLE_EVERY) await run(f, Math.min(last, f + SAMPLE_EVERY - 1));
  for (let f = last - 1; f >= last - BACK; f -= SAMPLE_EVERY) await run(f, Math.max(last - BACK, f - SAMPLE_EVERY + 1));

  const report = samples.map((s) => `frame ${s.frame}: private +${mb(s.m.privateBytes - base.privateBytes)}, ` +
    `shared +${mb(s.m.sharedBytes - base.sharedBytes)}, cache ${mb(s.stats.cacheBytes)} (${s.stats.cachedFrames} frames), ` +
    `decoder pool ${mb(s.m.renderer.pool)}`).join('\n  ');
  console.log(`  cap ${mb(CAP)}; baseline private ${mb(base.privateBytes)} shared ${mb(base.sharedBytes)}\n  ${report}`);

  // The cache honours its cap after every single step, and is used.
  assert.ok(maxCacheBytes <= CAP, `cacheBytes reached ${maxCacheBytes} > cap ${CAP}`);
  const end = await videoStats(page);
  assert.equal(end.capBytes, CAP);
  assert.ok(end.cachedFrames > 0, 'the cache holds frames');

  // No VideoFrame open beyond the cache's own: the app closes every frame it is handed. A draw
  // may still hold one for a moment: give it a few animation frames.
  await page.waitForFunction(async () => { const [s] = await polymark.getVideoStats(); return s.openFrames === s.cachedFrames; }, null, { timeout: 5000, polling: 100 })
    .catch(() => {});
  const settled = await videoStats(page);
  assert.equal(settled.openFrames, settled.cachedFrames, `open VideoFrames ${settled.openFrames} != cached ${settled.cachedFrames}`);

  // Process memory: peak growth over the baseline, two budgets (see bench/video_memory.mjs).
  const peakPrivate = Math.max(...samples.map((s) => s.m.privateBytes)) - base.privateBytes;
  const peakTotal = Math.max(...samples.map((s) => s.m.totalBytes)) - base.totalBytes;
  assert.ok(peakPrivate <= CAP + OVERHEAD_PRIVATE_BYTES,
    `private memory grew by ${mb(peakPrivate)} > cap ${mb(CAP)} + overhead ${mb(OVERHEAD_PRIVATE_BYTES)}`);
  assert.ok(peakTotal <= CAP + OVERHEAD_PRIVATE_BYTES + OVERHEAD_SHARED_BYTES,
    `total memory grew by ${mb(peakTotal)} > cap ${mb(CAP)} + overhead ${mb(OVERHEAD_PRIVATE_BYTES)} + shared ${mb(OVERHEAD_SHARED_BYTES)}`);
  // The decoder's frame buffers in use are the cached frames plus a few in flight, not more.
  const maxPoolUsed = Math.max(...samples.map((s) => s.m.renderer.poolUsed));
  assert.ok(maxPoolUsed <= CAP + 16 * MiB, `decoder frame buffers in use reached ${mb(maxPoolUsed)}`);

  // destroy() closes the source: every frame buffer of the decoder is released.
  await page.evaluate(() => polymark.destroy());
  await cdpPage.send('HeapProfiler.collectGarbage');
  await new Promise((r) => setTimeout(r, 1000));
  const gone = await probe.dump();
  assert.equal(gone.renderer.poolUsed, 0, `decoder frame buffers still in use after destroy(): ${mb(gone.renderer.poolUsed)}`);
  console.log(`  after destroy(): private ${mb(gone.privateBytes)} (baseline ${mb(base.privateBytes)}), decoder pool ${mb(gone.renderer.pool)}`);
});
