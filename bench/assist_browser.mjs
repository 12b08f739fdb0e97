// The assisted polygon tools in the browser (bench/README.md, "Assisted polygon tools"): ours (the
// assist worker, dist/assist_worker.js + polymark_assist.wasm) beside OpenCV.js (npm
// @techstark/opencv-js: IntelligentScissorsMB, which CVAT's scissors use, plus floodFill and
// grabCut as the peers of the wand and box tools), in one Chromium page and run, on generated
// 1920x1080 images whose outlines are known: real photographs (Debian's python3-skimage data,
// cached by tools/setup.sh) as background and as the texture of a pasted shape with a known mask,
// and a flat-coloured noisy shape for the wand.
//
// Scissors: the same anchors on the true outline for both, and between them the mouse moving
// along the outline (a path asked at each move); the closed polygon's IoU with the truth. Ours is
// timed inside the worker and as the page's round trip; OpenCV.js is timed around its calls, on
// the page's thread. Median [min-max] over --runs runs (5), each in a fresh page. Prints numbers;
// never fails on speed.
//
//   node bench/assist_browser.mjs [--runs 5] [--moves 20] [--anchors 6]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, decodePng, repo } from '../tests/browser/harness.mjs';
import { spread, show } from './stats.mjs';

const arg = (name, d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const runs = arg('--runs', 5), moves = arg('--moves', 20), anchorCount = arg('--anchors', 6);
const W = 1920, H = 1080;
const photos = path.join(process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark'), 'skimage/data');

// [SECTION] Images: a photograph as background, a blob textured by another photograph, a flat one.
const load = (name) => decodePng(fs.readFileSync(path.join(photos, name)));
function sampler(img, scale, ox, oy) {
  return (x, y, out) => {
    const u = Math.min(img.width - 1.001, Math.max(0, (x - ox) / scale)), v = Math.min(img.height - 1.001, Math.max(0, (y - oy) / scale));
    const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
    for (let c = 0; c < 3; c++) {
      const p = (yy, xx) => img.rgba[(yy * img.width + xx) * 4 + c];
      out[c] = (p(y0, x0) * (1 - fx) + p(y0, x0 + 1) * fx) * (1 - fy) + (p(y0 + 1, x0) * (1 - fx) + p(y0 + 1, x0 + 1) * fx) * fy;
    }
  };
}
// r(theta) of a blob: a circle with a few lobes.
const blob = (cx, cy, R, lobes) => ({ cx, cy, R, lobes, r: (t) => R * (1 + lobes.reduce((s, [k, a, ph]) => s + a * Math.sin(k * t + ph), 0)) });
const insideBlob = (b, x, y) => Math.hypot(x - b.cx, y - b.cy) < b.r(Math.atan2(y - b.cy, x - b.cx));

function makeImage(bgName, fgName, shape, flat) {
  const bg = load(bgName), fg = load(fgName);
  const rgba = new Uint8Array(W * H * 4), truth = new Uint8Array(W * H), flatTruth = new Uint8Array(W * H);
  const bgAt = sampler(bg, Math.max(W / bg.width, H / bg.height), 0, 0);
  const span = 2.6 * shape.R;
  const fgAt = sampler(fg, span / Math.min(fg.width, fg.height), shape.cx - span / 2, shape.cy - span / 2);
  let seed = 99;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const px = [0, 0, 0];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x, cx = x + 0.5, cy = y + 0.5;
      if (insideBlob(shape, cx, cy)) { fgAt(cx, cy, px); truth[i] = 1; }
      else if (Math.abs(cx - flat.cx) < flat.w / 2 && Math.abs(cy - flat.cy) < flat.h / 2 && Math.hypot(cx - flat.cx, cy - flat.cy) > flat.hole) {
        for (let c = 0; c < 3; c++) px[c] = flat.colour[c] + (rnd() - 0.5) * 30;
        flatTruth[i] = 1;
      } else bgAt(cx, cy, px);
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.max(0, Math.min(255, Math.round(px[c])));
      rgba[i * 4 + 3] = 255;
    }
  }
  // The flat shape's hole is filled in its truth: our polygons have no holes.
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (Math.abs(x + 0.5 - flat.cx) < flat.w / 2 && Math.abs(y + 0.5 - flat.cy) < flat.h / 2) flatTruth[y * W + x] = 1;
  const anchors = [];
  for (let k = 0; k <= anchorCount; k++) {
    const segment = [];
    for (let m = 0; m <= (k < anchorCount ? moves : 0); m++) {
      const t = ((k + m / (moves + 1)) / anchorCount) * 2 * Math.PI + 0.3;
      const r = shape.r(t) - 0.5;  // just inside the true outline
      segment.push([shape.cx + r * Math.cos(t), shape.cy + r * Math.sin(t)]);
    }
    anchors.push(segment);
  }
  // The box around the blob, its true extent plus 4 %.
  let x0 = W, y0 = H, x1 = 0, y1 = 0;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (truth[y * W + x]) { x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1); y0 = Math.min(y0, y); y1 = Math.max(y1, y + 1); }
  const mx = 0.04 * (x1 - x0), my = 0.04 * (y1 - y0);
  const box = [Math.max(0, x0 - mx), Math.max(0, y0 - my), Math.min(W, x1 + mx), Math.min(H, y1 + my)];
  return { name: `${fgName.replace('.png', '')} on ${bgName.replace('.png', '')}`, rgba, truth, flatTruth, anchors, box, wand: [flat.cx + flat.hole + 20, flat.cy] };
}

const images = [
  makeImage('coffee.png', 'chelsea.png', blob(760, 540, 300, [[3, 0.12, 0.4], [5, 0.05, 1.1]]), { cx: 1560, cy: 300, w: 420, h: 260, hole: 50, colour: [60, 90, 220] }),
  makeImage('motorcycle_left.png', 'astronaut.png', blob(1100, 560, 330, [[2, 0.10, 0.0], [4, 0.06, 2.0]]), { cx: 330, cy: 780, w: 380, h: 300, hole: 0, colour: [40, 170, 80] }),
  makeImage('astronaut.png', 'coffee.png', blob(900, 500, 280, [[3, 0.15, 1.5], [7, 0.03, 0.2]]), { cx: 1580, cy: 820, w: 400, h: 240, hole: 60, colour: [240, 220, 60] }),
];

// [SECTION] The page: serve.py serving the build, OpenCV.js and the images through routes.
const server = await startServer();
const browser = await launchBrowser();
const page = await openPage(browser, undefined);
await page.route('**/bench/opencv.js', (r) => r.fulfill({ contentType: 'text/javascript', body: fs.readFileSync(path.join(repo, 'node_modules/@techstark/opencv-js/dist/opencv.js')) }));
await page.route('**/bench/image-*', (r) => {
  const [, k, kind] = r.request().url().match(/image-(\d+)\.(\w+)$/);
  const im = images[Number(k)];
  r.fulfill({ contentType: 'application/octet-stream', body: Buffer.from(kind === 'rgba' ? im.rgba : kind === 'truth' ? im.truth : im.flatTruth) });
});
// A fresh page per run: OpenCV.js runs out of memory after a dozen 1080p images in one page.
// Ours then starts each run with a new worker (its first image includes the wasm's compilation).
async function freshPage() {
  await page.goto(`${server.url}/fonts/manifest.json`);
  await page.addScriptTag({ url: '/bench/opencv.js' });
  await page.evaluate(async () => {
    let cv = window.cv;
    if (cv instanceof Promise) cv = await cv;
    while (!cv.Mat) await new Promise((r) => setTimeout(r, 50));
    window.cvReady = cv;
    const w = new Worker('/assist_worker.js');
    const pending = new Map();
    w.onmessage = (e) => {
      const m = e.data;
      const key = m.type === 'image-ready' ? 'image' : m.id;
      if (m.type === 'progress') return;
      const p = pending.get(key);
      if (p) { pending.delete(key); p(m); }
    };
    let next = 1;
    window.ours = (message, transfer) => new Promise((resolve) => {
      const id = message.type === 'image' ? 'image' : next++;
      if (message.type !== 'image') message.id = id;
      pending.set(id, resolve);
      w.postMessage(message, transfer || []);
    });
  });
}

// Runs in the page: one image, every tool, both sides; returns the numbers.
async function measure(k, meta) {
  return page.evaluate(async ({ k, meta, W, H }) => {
    const cv = window.cvReady;
    const now = () => performance.now();
    const get = async (kind) => new Uint8Array(await (await fetch(`/bench/image-${k}.${kind}`)).arrayBuffer());
    const rgba = await get('rgba'), truth = await get('truth'), flatTruth = await get('flat');
    // IoU of a polygon (even-odd, at pixel centres) or of a mask with a truth mask.
    const fill = (pts) => {
      const m = new Uint8Array(W * H), n = pts.length / 2, xs = [];
      for (let y = 0; y < H; y++) {
        const yc = y + 0.5;
        xs.length = 0;
        for (let i = 0; i < n; i++) {
          const j = (i + 1) % n, ay = pts[2 * i + 1], by = pts[2 * j + 1];
          if ((ay <= yc) !== (by <= yc)) xs.push(pts[2 * i] + ((yc - ay) / (by - ay)) * (pts[2 * j] - pts[2 * i]));
        }
        xs.sort((a, b) => a - b);
        for (let q = 0; q + 1 < xs.length; q += 2) {
          for (let x = Math.max(0, Math.ceil(xs[q] - 0.5)); x < Math.min(W, Math.ceil(xs[q + 1] - 0.5)); x++) m[y * W + x] = 1;
        }
      }
      return m;
    };
    const iou = (m, t) => { let a = 0, b = 0; for (let i = 0; i < t.length; i++) { a += m[i] & t[i]; b += m[i] | t[i]; } return a / b; };
    const out = {};

    // [SECTION] Ours.
    let t0 = now();
    const ready = await window.ours({ type: 'image', key: 'k' + k, width: W, height: H, pixels: rgba.slice().buffer }, []);
    out.oursSetupRoundTrip = now() - t0;
    out.oursSetup = ready.ms;
    const anchorMs = [], moveMs = [], moveTrip = [];
    let polygon = [];
    for (let a = 0; a < meta.anchors.length - 1; a++) {
      const [ax, ay] = meta.anchors[a][0];
      t0 = now();
      const an = await window.ours({ type: 'anchor', x: ax, y: ay });
      anchorMs.push(an.ms);
      const seg = meta.anchors[a].slice(1).concat([meta.anchors[a + 1][0]]);
      let last = null;
      for (const [x, y] of seg) {
        t0 = now();
        last = await window.ours({ type: 'path', x, y });
        moveTrip.push(now() - t0);
        moveMs.push(last.ms);
      }
      polygon = polygon.concat(Array.from(last.points).slice(0, -2));
    }
    // The worst case apart: right after each anchor, the pointer jumps across the object (a
    // request whose target lies beyond its settle budget ends straight at the pointer).
    const jumpMs = [];
    for (let a = 0; a < meta.anchors.length - 1; a++) {
      await window.ours({ type: 'anchor', x: meta.anchors[a][0][0], y: meta.anchors[a][0][1] });
      const [jx, jy] = meta.anchors[(a + 3) % (meta.anchors.length - 1)][0];
      jumpMs.push((await window.ours({ type: 'path', x: jx, y: jy })).ms);
    }
    out.ours = { anchorMs, moveMs, moveTrip, jumpMs, iou: iou(fill(polygon), truth), vertices: polygon.length / 2 };
    t0 = now();
    const wand = await window.ours({ type: 'wand', x: meta.wand[0], y: meta.wand[1], tolerance: 40, max_vertices: 64 });
    out.oursWand = { ms: wand.ms, trip: now() - t0, iou: wand.points ? iou(fill(wand.points), flatTruth) : null, vertices: wand.points ? wand.points.length / 2 : null };
    t0 = now();
    const [x1, y1, x2, y2] = meta.box;
    const box = await window.ours({ type: 'box', x1, y1, x2, y2, max_vertices: 64 });
    out.oursBox = { ms: box.ms, trip: now() - t0, iou: box.points ? iou(fill(box.points), truth) : null, vertices: box.points ? box.points.length / 2 : null };

    // [SECTION] OpenCV.js, on the page's thread.
    const src = new cv.Mat(H, W, cv.CV_8UC4);
    src.data.set(rgba);
    const rgb = new cv.Mat();
    cv.cvtColor(src, rgb, cv.COLOR_RGBA2RGB);
    src.delete();
    for (const [name, configure] of [['cv', (s) => { s.setEdgeFeatureCannyParameters(32, 100); s.setGradientMagnitudeMaxLimit(200); }], ['cvDefault', () => {}]]) {
      const tool = new cv.segmentation_IntelligentScissorsMB();
      configure(tool);
      t0 = now();
      tool.applyImage(rgb);
      const setup = now() - t0;
      const anchorMs = [], moveMs = [];
      let polygon = [];
      for (let a = 0; a < meta.anchors.length - 1; a++) {
        const [ax, ay] = meta.anchors[a][0];
        t0 = now();
        tool.buildMap(new cv.Point(Math.floor(ax), Math.floor(ay)));
        anchorMs.push(now() - t0);
        const seg = meta.anchors[a].slice(1).concat([meta.anchors[a + 1][0]]);
        let pts = null;
        for (const [x, y] of seg) {
          const contour = new cv.Mat();
          t0 = now();
          tool.getContour(new cv.Point(Math.floor(x), Math.floor(y)), contour);
          moveMs.push(now() - t0);
          pts = Array.from(contour.data32S).map((v) => v + 0.5);
          contour.delete();
        }
        polygon = polygon.concat(pts.slice(0, -2));
      }
      const jumpMs = [];
      for (let a = 0; a < meta.anchors.length - 1; a++) {
        const [jx, jy] = meta.anchors[(a + 3) % (meta.anchors.length - 1)][0];
        const contour = new cv.Mat();
        t0 = now();
        tool.getContour(new cv.Point(Math.floor(jx), Math.floor(jy)), contour);
        jumpMs.push(now() - t0);
        contour.delete();
      }
      tool.delete();
      out[name] = { setup, anchorMs, moveMs, jumpMs, iou: iou(fill(polygon), truth), vertices: polygon.length / 2 };
    }
    // The wand's peer: floodFill (fixed range, 4-connected) and the largest outer contour.
    try {
      const mask = cv.Mat.zeros(H + 2, W + 2, cv.CV_8UC1);
      const t = 40;
      t0 = now();
      cv.floodFill(rgb, mask, new cv.Point(Math.floor(meta.wand[0]), Math.floor(meta.wand[1])), new cv.Scalar(0, 0, 0, 0), new cv.Rect(),
        new cv.Scalar(t, t, t, 0), new cv.Scalar(t, t, t, 0), 4 | cv.FLOODFILL_FIXED_RANGE | cv.FLOODFILL_MASK_ONLY | (255 << 8));
      // floodFill marks the mask's 1-pixel border too: the contours are those of the inside.
      const view = mask.roi(new cv.Rect(1, 1, W, H)), inner = view.clone();
      view.delete();
      const contours = new cv.MatVector(), hierarchy = new cv.Mat();
      cv.findContours(inner, contours, hierarchy, cv.RETR_EXTERNAL, cv.CHAIN_APPROX_SIMPLE);
      let best = null, bestArea = -1;
      for (let i = 0; i < contours.size(); i++) { const c = contours.get(i); const a = cv.contourArea(c); if (a > bestArea) { bestArea = a; best && best.delete(); best = c; } else c.delete(); }
      const approx = new cv.Mat();
      cv.approxPolyDP(best, approx, 1.0, true);
      const ms = now() - t0;
      const pts = Array.from(approx.data32S).map((v) => v + 0.5);
      out.cvWand = { ms, iou: iou(fill(pts), flatTruth), vertices: pts.length / 2 };
      [mask, inner, contours, hierarchy, best, approx].forEach((m) => m.delete());
    } catch (e) { out.cvWand = { error: String(e) }; }
    // The box's peer: grabCut (5 iterations) on the same region ours reads: the box and 15 % around it.
    try {
      const bw = x2 - x1, bh = y2 - y1, margin = Math.max(8, 0.15 * Math.max(bw, bh));
      const cx0 = Math.max(0, Math.floor(x1 - margin)), cy0 = Math.max(0, Math.floor(y1 - margin));
      const cx1 = Math.min(W, Math.ceil(x2 + margin)), cy1 = Math.min(H, Math.ceil(y2 + margin));
      const view = rgb.roi(new cv.Rect(cx0, cy0, cx1 - cx0, cy1 - cy0)), crop = view.clone();
      view.delete();
      const mask = new cv.Mat(), bgd = new cv.Mat(), fgd = new cv.Mat();
      t0 = now();
      cv.grabCut(crop, mask, new cv.Rect(Math.round(x1 - cx0), Math.round(y1 - cy0), Math.round(bw), Math.round(bh)), bgd, fgd, 5, cv.GC_INIT_WITH_RECT);
      const ms = now() - t0;
      const m = new Uint8Array(W * H);
      for (let y = cy0; y < cy1; y++) for (let x = cx0; x < cx1; x++) { const v = mask.data[(y - cy0) * (cx1 - cx0) + x - cx0]; m[y * W + x] = v === 1 || v === 3 ? 1 : 0; }
      out.cvBox = { ms, iou: iou(m, truth), vertices: null };
      [crop, mask, bgd, fgd].forEach((q) => q.delete());
    } catch (e) { out.cvBox = { error: String(e) }; }
    rgb.delete();
    return out;
  }, { k, meta, W, H });
}

// [SECTION] Runs and the tables.
const metas = images.map((im) => ({ anchors: im.anchors, box: im.box, wand: im.wand }));
const all = [];
for (let run = 0; run < runs; run++) {
  await freshPage();
  const per = [];
  for (let k = 0; k < images.length; k++) per.push(await measure(k, metas[k]));
  all.push(per);
  process.stderr.write(`run ${run + 1}/${runs} done\n`);
}
await browser.close();
await server.stop();

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const maxOf = (xs) => Math.max(...xs);
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(0.95 * xs.length) - 1];
// Over the images of a run, then median [min-max] over the runs.
const over = (f) => spread(all.map((per) => mean(per.map(f))));
const worst = (f) => spread(all.map((per) => maxOf(per.map(f))));
console.log(`Assisted polygon tools, ${W}x${H}, ${images.length} images (${images.map((i) => i.name).join('; ')}), ` +
  `${anchorCount} anchors x ${moves + 1} moves each; median [min-max] of ${runs} runs; times in ms (per image: mean over the images)`);
console.log('\nIntelligent scissors');
const rowsScissors = [
  ['ours, in the worker', (p) => p.oursSetup, (p) => mean(p.ours.anchorMs), (p) => mean(p.ours.moveMs), (p) => p95(p.ours.moveMs), (p) => maxOf(p.ours.moveMs), (p) => p.ours.iou],
  ['ours, page round trip', (p) => p.oursSetupRoundTrip, null, (p) => mean(p.ours.moveTrip), (p) => p95(p.ours.moveTrip), (p) => maxOf(p.ours.moveTrip), null],
  ['OpenCV.js IntelligentScissorsMB (Canny 32/100, limit 200)', (p) => p.cv.setup, (p) => mean(p.cv.anchorMs), (p) => mean(p.cv.moveMs), (p) => p95(p.cv.moveMs), (p) => maxOf(p.cv.moveMs), (p) => p.cv.iou],
  ['OpenCV.js IntelligentScissorsMB (defaults)', (p) => p.cvDefault.setup, (p) => mean(p.cvDefault.anchorMs), (p) => mean(p.cvDefault.moveMs), (p) => p95(p.cvDefault.moveMs), (p) => maxOf(p.cvDefault.moveMs), (p) => p.cvDefault.iou],
];
console.log(['', 'setup', 'anchor', 'move mean', 'move p95', 'move max', 'IoU'].join(' | '));
for (const [name, ...fs] of rowsScissors) {
  console.log([name, ...fs.map((f, i) => (f ? (i === 4 ? show(worst(f)) : show(over(f), i === 5 ? 3 : undefined)) : '-'))].join(' | '));
}
console.log(`a jump across the object right after an anchor (ms, mean of the anchors): ours in the worker ${show(over((p) => mean(p.ours.jumpMs)))}, ` +
  `worst ${show(worst((p) => maxOf(p.ours.jumpMs)))}; OpenCV.js getContour after its buildMap ${show(over((p) => mean(p.cv.jumpMs)))}`);
console.log(`ours, setup of the page's first image (a fresh worker): ${show(spread(all.map((per) => per[0].oursSetup)))}; of the later ones: ${show(spread(all.map((per) => mean(per.slice(1).map((p) => p.oursSetup)))))}`);
const ratio = (a, b) => spread(all.map((per) => mean(per.map(b)) / mean(per.map(a))));
console.log(`OpenCV.js (Canny) / ours in the worker: setup ${show(ratio((p) => p.oursSetup, (p) => p.cv.setup))}x, ` +
  `anchor + first move ${show(ratio((p) => mean(p.ours.anchorMs) + p.ours.moveMs[0], (p) => mean(p.cv.anchorMs) + p.cv.moveMs[0]))}x, ` +
  `move mean ${show(ratio((p) => mean(p.ours.moveMs), (p) => mean(p.cv.moveMs)))}x`);
console.log('\nMagic wand (a flat-coloured noisy shape, tolerance 40) and box to polygon (the textured blob, box 4 % larger)');
console.log(['', 'ms', 'IoU', 'vertices'].join(' | '));
for (const [name, f] of [['ours wand, in the worker', (p) => p.oursWand], ['ours wand, page round trip', (p) => ({ ...p.oursWand, ms: p.oursWand.trip })],
  ['OpenCV.js floodFill + findContours + approxPolyDP(1 px)', (p) => p.cvWand],
  ['ours box, in the worker (5 cuts, steps yielding)', (p) => p.oursBox], ['ours box, page round trip', (p) => ({ ...p.oursBox, ms: p.oursBox.trip })],
  ['OpenCV.js grabCut (5 iterations, box and 15 % margin, mask)', (p) => p.cvBox]]) {
  const ok = all.every((per) => per.every((p) => !f(p).error));
  if (!ok) { console.log(`${name} | error: ${all[0].map((p) => f(p).error).find(Boolean)}`); continue; }
  console.log([name, show(over((p) => f(p).ms)), show(over((p) => f(p).iou ?? 0), 3), f(all[0][0]).vertices == null ? '-' : show(over((p) => f(p).vertices), 0)].join(' | '));
}
console.log(`OpenCV.js / ours in the worker: wand ${show(ratio((p) => p.oursWand.ms, (p) => p.cvWand.ms ?? NaN))}x, box ${show(ratio((p) => p.oursBox.ms, (p) => p.cvBox.ms ?? NaN))}x`);
