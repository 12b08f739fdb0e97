#!/usr/bin/env node
// Editor speed benchmark (see bench/README.md). Prints numbers; exits non-zero only when
// something broke, never because something was slow.
//   1. 5,000 polygons of 30 vertices, all visible, filled and outlined, on one image: 600 scripted
//      frames of panning and zooming at devicePixelRatio 1 and 2. Ours: the C++ frame time
//      (takeFrameTimes: input, UI, building and submitting draw data; not the swap), and the
//      wall-clock interval between frames. Peer, same browser, same run: the same scene as SVG
//      polygons under one transformed group, which is how CVAT draws (svg.js), wall-clock interval.
//   2. 100,000 boxes, the same way (fewer frames: the peer takes long over each).
//   3. Dragging a vertex of one 10,000-vertex polygon with real mouse events: C++ frame time.
// Headless Chromium's WebGL is SwiftShader, a software rasteriser: Polymark draws through its
// scene cache there (drawing "auto"); --direct also measures drawing "direct", every shape every
// frame, which is what a GPU does well and a software rasteriser slowly.
// Picking among 10,000 shapes is measured natively by build/bench/polymark_core_bench.
import { startServer, launchBrowser } from '../tests/browser/harness.mjs';

// usage: node bench/editor.mjs [--runs N] [--only panzoom|boxes|drag] [--dpr 1|2] [--direct]
//   --dpr N   pan/zoom at that devicePixelRatio only (default: 1 and 2; each takes ~half the time)
//   --direct  also pan/zoom with drawing "direct" (slow under SwiftShader: minutes per run)
const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const RUNS = Number(arg('--runs', 5));
const ONLY = arg('--only', '');
const DPRS = arg('--dpr', '') ? [Number(arg('--dpr', ''))] : [1, 2];
const DIRECT = process.argv.includes('--direct');
if (!DPRS.every((d) => d === 1 || d === 2)) { console.error('--dpr must be 1 or 2'); process.exit(2); }
const FRAMES = 600;
const BOX_FRAMES = 120;

function polygonScene(width, height, count, vertices) {
  const cols = Math.ceil(Math.sqrt((count * width) / height));
  const rows = Math.ceil(count / cols);
  const cw = width / cols; const ch = height / rows;
  const objects = [];
  for (let i = 0; i < count; i++) {
    const cx = (i % cols + 0.5) * cw; const cy = (Math.floor(i / cols) + 0.5) * ch;
    const points = [];
    for (let k = 0; k < vertices; k++) {
      const a = (2 * Math.PI * k) / vertices;
      const r = (0.45 - 0.12 * (k % 2)) * Math.min(cw, ch);  // a star: concave
      points.push(cx + r * Math.cos(a), cy + r * Math.sin(a));
    }
    objects.push({ id: `p${i}`, type: 'polygon', frame: 0, label: i % 2 ? 'cat' : 'person', points });
  }
  return { format: 'polymark.annotations', version: 1, objects };
}

// 100,000 boxes in a grid over the image, a quarter of them turned.
function boxScene(width, height, count) {
  const cols = Math.ceil(Math.sqrt((count * width) / height));
  const rows = Math.ceil(count / cols);
  const cw = width / cols; const ch = height / rows;
  const objects = [];
  for (let i = 0; i < count; i++) {
    const x = (i % cols) * cw; const y = Math.floor(i / cols) * ch;
    objects.push({ id: `b${i}`, type: 'rectangle', frame: 0, label: i % 2 ? 'cat' : 'person',
      points: [x + 0.1 * cw, y + 0.1 * ch, x + 0.85 * cw, y + 0.8 * ch], rotation: i % 4 === 0 ? 20 : 0 });
  }
  return { format: 'polymark.annotations', version: 1, objects };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const percentile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const summary = (xs) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}]`;

// The pan/zoom script: frame i's view, around the fitted view.
function scriptedView(fit, i, frames) {
  const t = i / frames;
  const zoom = fit.zoom * (1 + 2.5 * (0.5 - 0.5 * Math.cos(2 * Math.PI * t)));
  const cx = fit.viewport.x + fit.viewport.width / 2 + 120 * Math.sin(6 * Math.PI * t);
  const cy = fit.viewport.y + fit.viewport.height / 2 + 80 * Math.cos(4 * Math.PI * t);
  // Keep image centre near (cx, cy).
  return { zoom, offsetX: cx - (fit.imageWidth / 2) * zoom, offsetY: cy - (fit.imageHeight / 2) * zoom };
}

async function oursPanZoom(browser, url, dpr, scene, drawing, frames) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: dpr });
  const page = await context.newPage();
  // Mounted inline (no backend): what is measured is drawing, not saving the scene.
  await page.goto(`${url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  await page.evaluate(async ({ scene, drawing }) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    const task = { format: 'polymark.task', version: 1, id: 'bench', media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
      labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }, { id: 'person', name: 'Person', color: '#e6194b' }] };
    window.polymark = await Polymark.mount('#host', { taskObject: task, annotations: scene, drawing });
  }, { scene, drawing });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const fit = await page.evaluate(() => { polymark.fit(); return polymark.getView(); });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  await page.evaluate(() => polymark.takeFrameTimes());
  const views = Array.from({ length: frames }, (_, i) => scriptedView(fit, i, frames));
  const wall = await page.evaluate(async (vs) => {
    const gaps = [];
    let last = performance.now();
    for (const v of vs) {
      polymark.setView(v);
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    return gaps;
  }, views);
  const { frameTimesMs } = await page.evaluate(() => polymark.takeFrameTimes());
  const rendering = await page.evaluate(() => polymark.getRendering());
  await context.close();
  return { cpu: frameTimesMs, wall: wall.slice(1), rendering };
}

// CVAT draws shapes as SVG polygons in a group whose transform carries pan and zoom.
async function svgPanZoom(browser, dpr, scene, fit, frames) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: dpr });
  const page = await context.newPage();
  await page.setContent('<body style="margin:0;background:#26282c"><svg id="s" width="1280" height="800"><g id="g"></g></svg></body>');
  await page.evaluate((objects) => {
    const g = document.getElementById('g');
    const ns = 'http://www.w3.org/2000/svg';
    for (const o of objects) {
      let p;
      if (o.type === 'rectangle') {
        const [x1, y1, x2, y2] = o.points;
        p = document.createElementNS(ns, 'rect');
        for (const [k, v] of [['x', x1], ['y', y1], ['width', x2 - x1], ['height', y2 - y1]]) p.setAttribute(k, String(v));
        if (o.rotation) p.setAttribute('transform', `rotate(${o.rotation} ${(x1 + x2) / 2} ${(y1 + y2) / 2})`);
      } else {
        p = document.createElementNS(ns, 'polygon');
        const pts = [];
        for (let i = 0; i < o.points.length; i += 2) pts.push(`${o.points[i]},${o.points[i + 1]}`);
        p.setAttribute('points', pts.join(' '));
      }
      p.setAttribute('fill', o.label === 'cat' ? 'rgba(60,180,75,0.25)' : 'rgba(230,25,75,0.25)');
      p.setAttribute('stroke', o.label === 'cat' ? '#3cb44b' : '#e6194b');
      p.setAttribute('stroke-width', '1.5');
      p.setAttribute('vector-effect', 'non-scaling-stroke');
      g.appendChild(p);
    }
  }, scene.objects);
  const views = Array.from({ length: frames }, (_, i) => scriptedView(fit, i, frames));
  const wall = await page.evaluate(async (vs) => {
    const g = document.getElementById('g');
    await new Promise((r) => requestAnimationFrame(r));
    const gaps = [];
    let last = performance.now();
    for (const v of vs) {
      g.setAttribute('transform', `translate(${v.offsetX} ${v.offsetY}) scale(${v.zoom})`);
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    return gaps;
  }, views);
  await context.close();
  return wall.slice(1);
}

async function vertexDrag(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  const n = 10000; const points = [];
  for (let k = 0; k < n; k++) {
    const a = (2 * Math.PI * k) / n; const r = 200 + 20 * Math.sin(a * 40);
    points.push(256 + r * Math.cos(a), 256 + r * Math.sin(a));
  }
  await page.evaluate((p) => polymark.setAnnotations({ format: 'polymark.annotations', version: 1,
    objects: [{ id: 'big', type: 'polygon', frame: 0, label: 'cat', points: p }] }), points);
  const v = await page.evaluate(() => { polymark.fit(); polymark.select(['big']); return polymark.getView(); });
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const [x, y] = [v.offsetX + points[0] * v.zoom, v.offsetY + points[1] * v.zoom];
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.evaluate(() => polymark.takeFrameTimes());
  for (let i = 1; i <= 120; i++) {
    await page.mouse.move(x + i * 0.5, y + Math.sin(i / 10) * 20);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  }
  const { frameTimesMs } = await page.evaluate(() => polymark.takeFrameTimes());
  await page.mouse.up();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const history = await page.evaluate(() => polymark.getHistory().done);
  await context.close();
  if (history.join() !== 'move vertex') throw new Error(`the vertex drag did not commit one command: ${history}`);
  return frameTimesMs;
}

// One scene at one devicePixelRatio: ours (cached, and direct with --direct) and the SVG peer, run by run.
async function panZoomSet(browser, url, dpr, scene, frames) {
  const drawings = DIRECT ? ['auto', 'direct'] : ['auto'];
  const ours = Object.fromEntries(drawings.map((d) => [d, { cpuMed: [], cpuP95: [], wallMed: [], wallP95: [], captures: [], reduced: [] }]));
  const svgMed = []; const svgP95 = [];
  let fit = null;
  for (let r = 0; r < RUNS; r++) {
    for (const drawing of drawings) {
      const run = await oursPanZoom(browser, url, dpr, scene, drawing, frames);
      if (run.cpu.length < frames * 0.9) throw new Error(`only ${run.cpu.length} frames were drawn`);
      const o = ours[drawing];
      o.cpuMed.push(median(run.cpu)); o.cpuP95.push(percentile(run.cpu, 0.95));
      o.wallMed.push(median(run.wall)); o.wallP95.push(percentile(run.wall, 0.95));
      o.captures.push(run.rendering.sceneCaptures); o.reduced.push(run.rendering.reducedFrames);
      if (drawing === 'auto' && run.rendering.drawing !== 'cached') console.log(`  (drawing "auto" chose ${run.rendering.drawing} on ${run.rendering.renderer})`);
    }
    if (!fit) {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const p = await ctx.newPage();
      await p.goto(`${url}/?task=test`);
      await p.evaluate(() => window.polymarkMount);
      fit = await p.evaluate(() => polymark.getView());
      await ctx.close();
    }
    const svg = await svgPanZoom(browser, dpr, scene, fit, frames);
    svgMed.push(median(svg)); svgP95.push(percentile(svg, 0.95));
  }
  console.log(`devicePixelRatio ${dpr}`);
  for (const drawing of drawings) {
    const o = ours[drawing];
    const name = drawing === 'auto' ? 'Polymark (drawing auto)  ' : 'Polymark (drawing direct)';
    console.log(`  ${name} C++ frame time   median ${summary(o.cpuMed)}   p95 ${summary(o.cpuP95)}`);
    console.log(`  ${name} frame interval   median ${summary(o.wallMed)}   p95 ${summary(o.wallP95)}` +
      (drawing === 'auto' ? `   (scene painted ${median(o.captures)} times, ${median(o.reduced)} frames at 1 px per CSS px)` : ''));
  }
  console.log(`  peer: SVG, as CVAT draws        frame interval   median ${summary(svgMed)}   p95 ${summary(svgP95)}`);
  console.log(`  ratio SVG / Polymark auto, frame interval: median of runs ${(median(svgMed) / median(ours.auto.wallMed)).toFixed(2)}x`);
}

const server = await startServer();
const browser = await launchBrowser();
try {
  console.log('Polymark editor benchmark');
  console.log(`  ${RUNS} runs; ms per frame: median of the runs' medians [min-max of them]; p95 likewise\n`);
  if (!ONLY || ONLY === 'panzoom') {
    const scene = polygonScene(512, 512, 5000, 30);
    console.log(`Scene: ${scene.objects.length} polygons x 30 vertices on a 512x512 image; ${FRAMES} frames of pan and zoom per run (target: C++ median < 4)`);
    for (const dpr of DPRS) await panZoomSet(browser, server.url, dpr, scene, FRAMES);
  }
  if (!ONLY || ONLY === 'boxes') {
    const scene = boxScene(512, 512, 100000);
    console.log(`\nScene: ${scene.objects.length} boxes (a quarter turned) on a 512x512 image; ${BOX_FRAMES} frames of pan and zoom per run (target: C++ median <= 8)`);
    for (const dpr of DPRS) await panZoomSet(browser, server.url, dpr, scene, BOX_FRAMES);
  }
  const drag = [];
  const dragP95 = [];
  for (let r = 0; r < (ONLY && ONLY !== 'drag' ? 0 : RUNS); r++) {
    const times = await vertexDrag(browser, server.url);
    drag.push(median(times)); dragP95.push(percentile(times, 0.95));
  }
  if (drag.length) console.log('\nDragging a vertex of a 10,000-vertex polygon (real mouse events, 120 frames per run)');
  if (drag.length) console.log(`  Polymark C++ frame time        median ${summary(drag)}   p95 ${summary(dragP95)}   (target: < 4)`);
} finally {
  await browser.close();
  server.stop();
}
