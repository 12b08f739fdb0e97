// The manager view's measures in the browser, as labelers' managers run them (bench/README.md,
// "Quality"): the quality worker (dist/quality_worker.js + polymark_quality.wasm) scores 100,000
// shapes against a golden set, merges a 3-way consensus over 10,000 frames and reports throughput
// over 1,000,000 history events, while the page's app is zoomed with the mouse wheel. Prints,
// per measure, the module's time (inside the worker), the wall time of the call (the worker
// fetching its inputs, as it fetches serve.py's routes, and its JSON in and out included), and the page's frame intervals
// and the app's frame times meanwhile. Median [min-max] of --runs runs (5). Never fails on speed.
//
//   node bench/quality_browser.mjs [--runs 5]
import { startServer, launchBrowser, openPage, mountDemo, until, frames } from '../tests/browser/harness.mjs';
import { spread, show, percentile } from './stats.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;

// Runs in the page: the calls, generated once (a seeded generator, the same every run).
function generate() {
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const labels = ['car', 'person', 'bike', 'sign'];
  const shape = (id, frame, label) => {
    const kind = rnd();
    const x = rnd() * 1800, y = rnd() * 1000, w = 20 + rnd() * 120, h = 20 + rnd() * 120;
    if (kind < 0.6) return { id, type: 'rectangle', frame, label, points: [x, y, x + w, y + h], ...(rnd() < 1 / 3 ? { rotation: rnd() * 90 } : {}) };
    if (kind < 0.9) {
      const points = [];
      for (let i = 0; i < 12; i++) {
        const a = (i / 12) * 2 * Math.PI, r = (i % 2 ? 0.5 : 1) * w / 2;
        points.push(x + w / 2 + r * Math.cos(a), y + h / 2 + r * Math.sin(a));
      }
      return { id, type: 'polygon', frame, label, points };
    }
    const points = [];
    for (let i = 0; i < 5; i++) points.push(x + rnd() * w, y + rnd() * h);
    return { id, type: 'points', frame, label, points };
  };
  const jitter = (s, id, by) => ({ ...s, id, points: s.points.map((v) => v + (rnd() - 0.5) * by) });
  const doc = (objects) => ({ format: 'polymark.annotations', version: 1, objects, tracks: [] });
  // Golden: 10 shapes a frame on 10,000 frames; the job moves each a little, drops 5 %, relabels
  // 2 % and adds 5 %; 40 labelers of 250 frames each.
  const gt = [], job = [];
  for (let f = 0; f < 10000; f++) {
    for (let k = 0; k < 10; k++) {
      const s = shape(`g${f}_${k}`, f, labels[k % 4]);
      gt.push(s);
      const r = rnd();
      if (r < 0.05) continue;
      const j = jitter(s, `j${f}_${k}`, 4);
      if (r < 0.07) j.label = labels[(k + 1) % 4];
      job.push(j);
      if (rnd() < 0.05) job.push(shape(`x${f}_${k}`, f, labels[k % 4]));
    }
  }
  const labelers = [];
  for (let l = 0; l < 40; l++) labelers.push({ name: `labeler${l}`, frames: Array.from({ length: 250 }, (_, i) => l * 250 + i) });
  // Each input is served as a Blob URL, which the worker fetches as it fetches serve.py's routes.
  const served = (key, value, index) => ({ key, index, url: URL.createObjectURL(new Blob([JSON.stringify(value)], { type: 'application/json' })), headers: {} });
  const golden = { call: { op: 'golden', labelers }, inputs: [served('gt', doc(gt)), served('job', doc(job))] };
  // Consensus: 3 sets of about 50,000 shapes on 10,000 frames, each a jittered copy of 5 a frame
  // with 10 % left out.
  const base = gt.filter((s) => Number(s.id.split('_')[1]) < 5);
  const sets = [0, 1, 2].map((n) => doc(base.filter(() => rnd() >= 0.1).map((s) => jitter(s, `s${n}_${s.id}`, 5))));
  const consensus = { call: { op: 'consensus', names: ['r1', 'r2', 'r3'] }, inputs: sets.map((d, i) => served('sets', d, i)) };
  // Throughput: 1,000,000 history events of 40 users over 21 days; 25,000 decisions.
  const entries = new Array(1000000);
  const start = Date.UTC(2026, 10, 1, 8);
  for (let i = 0; i < entries.length; i++) {
    const user = i % 40, day = Math.floor(i / 47620);
    const at = new Date(start + day * 86400000 + (Math.floor(i / 40) % 1190) * 30000).toISOString();
    entries[i] = { revision: i + 1, op_id: `o${i}`, kind: 'object', id: `i${i % 200000}`, op: i < 200000 ? 'create' : 'update', user: `user${user}`, at };
  }
  const decisions = [];
  for (let i = 0; i < 25000; i++) decisions.push({ id: `d${i}`, item: `i${i * 8}`, frame: 0, verdict: i % 3 ? 'accepted' : 'rejected', author: 'rev' });
  const throughput = { call: { op: 'throughput' }, inputs: [served('history', { entries }), served('review', decisions)] };
  window.qualityCalls = { golden, consensus, throughput };
  return { golden: gt.length + job.length, consensus: sets.reduce((n, s) => n + s.objects.length, 0), throughput: entries.length };
}

// Runs in the page: one call to a fresh worker, the page's frames watched meanwhile.
function measureCall(kind) {
  return new Promise((resolve) => {
    const worker = new Worker('quality_worker.js');
    const intervals = [];
    let last = performance.now(), watching = true;
    const tick = (t) => { intervals.push(t - last); last = t; if (watching) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    polymark.takeFrameTimes();
    const started = performance.now();
    worker.onmessage = (e) => {
      const wall = performance.now() - started;
      watching = false;
      worker.terminate();
      const ok = !!(e.data.reply && e.data.reply.report);
      resolve({ ok, error: ok ? null : JSON.stringify(e.data).slice(0, 300), moduleMs: e.data.ms, timing: e.data.timing, wallMs: wall, intervals, appFrames: polymark.takeFrameTimes().frameTimesMs });
    };
    const { call, inputs } = window.qualityCalls[kind];
    worker.postMessage({ id: 1, moduleUrl: new URL('polymark_quality.js', location.href).href, call: { ...call }, inputs });
  });
}

const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await openPage(browser, undefined, { viewport: { width: 1200, height: 800 } });
  if (await mountDemo(page, server.url, 'task=test') !== 'ready') throw new Error('the app did not start');
  await until(page, () => polymark.getView().frameShown);
  const sizes = await page.evaluate(generate);
  console.log(`Polymark quality measures in the browser (quality worker, wasm; median [min-max] of ${runs} runs)`);
  console.log(`  golden: ${sizes.golden} shapes (golden set and job), consensus: ${sizes.consensus} shapes in 3 sets, throughput: ${sizes.throughput} events`);
  const results = { golden: [], consensus: [], throughput: [] };
  for (let r = 0; r < runs; r++) {
    for (const kind of Object.keys(results)) {
      // The labeler keeps working: the mouse wheel zooms the app in and out while the worker runs.
      let zooming = true;
      const zoomer = (async () => {
        for (let i = 0; zooming; i++) {
          await page.mouse.move(600, 400);
          await page.mouse.wheel(0, i % 2 ? 120 : -120);
          await frames(page, 2);
        }
      })();
      const result = await page.evaluate(measureCall, kind);
      zooming = false;
      await zoomer;
      if (!result.ok) throw new Error(`${kind}: ${result.error}`);
      results[kind].push(result);
    }
  }
  const row = (what, xs, unit) => console.log(`  ${what.padEnd(62)} ${show(spread(xs))} ${unit}`);
  for (const [kind, rs] of Object.entries(results)) {
    console.log(`${kind}`);
    row('inputs fetched and parsed (in the worker)', rs.map((x) => x.timing.gather), 'ms');
    row('the call written as JSON into the module', rs.map((x) => x.timing.encode), 'ms');
    row('the module: read the call, measure, write the report', rs.map((x) => x.timing.module), 'ms');
    row('the answer parsed', rs.map((x) => x.timing.decode), 'ms');
    row('the call, wall, as the page waits for it', rs.map((x) => x.wallMs), 'ms');
    row('page frame interval p95 meanwhile', rs.map((x) => percentile(x.intervals, 95)), 'ms');
    row('app frame time p95 meanwhile (frames drawn: median ' + spread(rs.map((x) => x.appFrames.length)).median + ')', rs.map((x) => percentile(x.appFrames, 95)), 'ms');
  }
} finally {
  await browser.close();
  await server.stop();
}
