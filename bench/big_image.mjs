#!/usr/bin/env node
// Big image benchmark for the Polymark web client (see bench/README.md, "Big images").
// Shows a 16000 x 16000 PNG (under a megabyte on the wire) in headless Chromium, after a small
// photo, and measures: the time from setFrame to the image on screen, the browser's peak resident
// memory while it loads, and its memory once the labeler is back on the photo. Fresh browser per
// run; prints each run, then median [min-max]. POLYMARK_DIST picks the build (old vs new).
//
// Also a module: tests/browser/big_images.test.mjs imports writePng() and browserRssMB() from here,
// so the test and the benchmark measure the same way.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, launchBrowser, openPage, until, dist } from '../tests/browser/harness.mjs';
import { spread, show } from './stats.mjs';

// A width x height RGB PNG of four flat quadrants (red, blue / green, yellow), streamed through
// zlib so that neither the writer nor the file needs the picture's size. headerOnly: the header
// of such a picture with almost no data behind it, as a decompression bomb has. checker [x, y, size]:
// a size x size patch of 1-pixel black and white squares there, detail that only full resolution
// shows (every reduced level averages it to grey).
const PNG_WRITER = `
import struct, sys, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
path, w, h, header_only = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1'
cx, cy, cs = [int(v) for v in sys.argv[5].split(',')] if len(sys.argv) > 5 else (0, 0, 0)
def checkered(row, y):
    if not (cy <= y < cy + cs): return row
    r = bytearray(row)
    for x in range(cx, cx + cs): r[1 + 3 * x:4 + 3 * x] = bytes([255, 255, 255]) if (x + y) % 2 == 0 else bytes([0, 0, 0])
    return bytes(r)
with open(path, 'wb') as f:
    f.write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)))
    c = zlib.compressobj(6)
    if header_only:
        data = c.compress(b'\\0' * 4096) + c.flush()
    else:
        top = b'\\0' + bytes([200, 40, 40]) * (w // 2) + bytes([40, 40, 200]) * (w - w // 2)
        bottom = b'\\0' + bytes([40, 200, 40]) * (w // 2) + bytes([220, 220, 40]) * (w - w // 2)
        data = b''.join(c.compress(checkered(top if y < h // 2 else bottom, y)) for y in range(h)) + c.flush()
    f.write(chunk(b'IDAT', data) + chunk(b'IEND', b''))
`;

export function writePng(file, width, height, headerOnly = false, checker = null) {
  execFileSync('python3', ['-c', PNG_WRITER, file, String(width), String(height), headerOnly ? '1' : '0', ...(checker ? [checker.join(',')] : [])]);
}

// The resident memory (MB) of the Chromium this node process launched: the sum of VmRSS over every
// process descending from it (browser, renderer, GPU, utilities).
export function browserRssMB() {
  const parent = new Map();
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone meanwhile */ }
  }
  const ours = (pid) => { for (let p = pid; p > 1; p = parent.get(p)) if (p === process.pid) return true; return false; };
  let kb = 0;
  for (const pid of parent.keys()) {
    if (pid === process.pid || !ours(pid)) continue;
    try {
      const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
      if (m) kb += Number(m[1]);
    } catch { /* gone meanwhile */ }
  }
  return kb / 1024;
}

// Samples the memory every 100 ms while `work` runs: {peak, result}.
export async function watchPeak(work) {
  let peak = browserRssMB();
  const timer = setInterval(() => { peak = Math.max(peak, browserRssMB()); }, 100);
  try {
    const result = await work();
    return { peak: Math.max(peak, browserRssMB()), result };
  } finally { clearInterval(timer); }
}

const settle = (page, n = 10) => page.evaluate((k) => new Promise((resolve) => {
  let left = k;
  const step = () => (--left <= 0 ? resolve() : requestAnimationFrame(step));
  requestAnimationFrame(step);
}), n);

const TIMEOUT_MS = Number(process.env.TIMEOUT_MS || 60000);

async function oneRun(server, size) {
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
    await page.goto(`${server.url}/?task=test`);
    await page.evaluate(() => window.polymarkMount);
    const task = {
      format: 'polymark.task', version: 1, id: 'bench-big',
      media: [{ id: 'photo', type: 'image', url: '/media/extra/astronaut.png' }, { id: 'big', type: 'image', url: '/media/extra/big.png' }],
      labels: [{ id: 'cat', name: 'Cat' }],
    };
    await page.evaluate(async (t) => {
      polymark.destroy();
      document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
      window.polymark = await Polymark.mount('#host', { taskObject: t });
      window.benchErrors = [];
      polymark.on('error', (e) => benchErrors.push(e.code + ': ' + e.message));
    }, task);
    await settle(page);
    await new Promise((r) => setTimeout(r, 1000));
    const before = browserRssMB();
    // Felt frame time while the image decodes: the gaps between animation frames of the page.
    await page.evaluate(() => {
      window.benchGaps = [];
      let last = performance.now();
      const tick = (t) => { benchGaps.push(t - last); last = t; if (window.benchGaps) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    });
    const started = performance.now();
    // Shown, or an error event (the old client could fail to allocate), or TIMEOUT_MS.
    const { peak, result: failure } = await watchPeak(async () => {
      await page.evaluate(() => polymark.setFrame(1));
      try {
        await until(page, (w) => { const v = polymark.getView(); return (v.imageWidth === w && v.frameShown) || benchErrors.length > 0; }, size, TIMEOUT_MS);
      } catch { return `not shown within ${TIMEOUT_MS} ms`; }
      const errors = await page.evaluate(() => benchErrors);
      if (errors.length) return errors[0];
      await settle(page, 2);
      return null;
    });
    const shownMs = failure ? null : performance.now() - started;
    const gaps = (await page.evaluate(() => { const g = benchGaps; window.benchGaps = null; return g; })).slice(1).sort((a, b) => a - b);
    const frameP95 = gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(gaps.length * 0.95))] : null;
    const frameMax = gaps.length ? gaps[gaps.length - 1] : null;
    await page.evaluate(() => polymark.setFrame(0));
    await settle(page);
    await new Promise((r) => setTimeout(r, 2000));
    const after = browserRssMB();
    return { shownMs, failure, before, peakGrowth: peak - before, afterGrowth: after - before, frameP95, frameMax };
  } finally {
    await browser.close();
  }
}

async function main() {
  const runs = Number(process.env.RUNS || 5);
  const size = Number(process.env.SIZE || 16000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-bench-big-'));
  writePng(path.join(tmp, 'big.png'), size, size);
  const demo = path.join(process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark'), 'demo');
  const server = await startServer({ extraMedia: { 'big.png': path.join(tmp, 'big.png'), 'astronaut.png': path.join(demo, 'astronaut.png') } });
  console.log(`big image: ${size} x ${size} PNG, ${(fs.statSync(path.join(tmp, 'big.png')).size / 1024).toFixed(0)} KB; build ${dist}; ${runs} runs`);
  const results = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await oneRun(server, size);
      results.push(r);
      console.log(`run ${i + 1}: ${r.failure ? 'FAILED (' + r.failure + ')' : 'shown in ' + r.shownMs.toFixed(0) + ' ms'}; browser ${r.before.toFixed(0)} MB before, peak +${r.peakGrowth.toFixed(0)} MB, after leaving +${r.afterGrowth.toFixed(0)} MB; frames while decoding p95 ${r.frameP95?.toFixed(1)} ms, max ${r.frameMax?.toFixed(1)} ms`);
    }
  } finally {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const pick = (k) => spread(results.map((r) => r[k]));
  console.log(`time to first view (ms):          ${show(pick('shownMs'), 0)}`);
  console.log(`browser memory growth, peak (MB): ${show(pick('peakGrowth'), 0)}`);
  console.log(`browser memory growth, after (MB):${show(pick('afterGrowth'), 0)}`);
  console.log(`felt frame while decoding, p95 (ms): ${show(pick('frameP95'), 1)}`);
  console.log(`felt frame while decoding, max (ms): ${show(pick('frameMax'), 1)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) main().catch((e) => { console.error(e); process.exit(1); });
