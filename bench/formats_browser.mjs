// Import in the browser: a generated COCO file of N images and M polygons imported into a mounted
// task through importAnnotations (the formats worker, the plan, the parts fed to the app, the one
// command), in headless Chromium on a real serve.py. Prints, per run, the import's wall time and
// its stages (from onProgress), and the page's frame intervals while it ran (requestAnimationFrame:
// p50, p95, max; and p95 per stage), median of the runs [min-max]; and the size of the file.
//
//   node bench/formats_browser.mjs [--images N] [--annotations M] [--runs R]
//
// The task is mounted inline (taskObject of N images, the first one served, the others never
// opened) without a backend: sync's cost is not in these numbers (see bench/README.md).
import { startServer, launchBrowser, openPage } from '../tests/browser/harness.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const IMAGES = arg('images', 10000);
const ANNOTATIONS = arg('annotations', 100000);
const RUNS = arg('runs', 5);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };
const fmt = (xs, unit = '') => `${median(xs).toFixed(1)}${unit} [${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}]`;

const server = await startServer();
const browser = await launchBrowser();
const results = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}/?task=test`);
    await page.evaluate(() => window.polymarkMount);
    await page.evaluate(() => polymark.destroy());
    const r = await page.evaluate(async ({ images, annotations }) => {
      const task = { format: 'polymark.task', version: 1, id: 'bench', labels: [{ id: 'cat', name: 'cat' }, { id: 'person', name: 'person' }],
        media: Array.from({ length: images }, (_, i) => ({ id: 'm' + i, type: 'image', url: i === 0 ? '/media/test/astronaut.png' : '/missing/' + i + '.jpg', name: 'img' + i + '.jpg', width: 640, height: 480 })) };
      document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
      window.polymark = await Polymark.mount('#host', { taskObject: task });
      // The file: COCO instances, polygons of 8 vertices around random centres.
      const cocoImages = task.media.map((m, i) => ({ id: i + 1, file_name: m.name, width: 640, height: 480 }));
      const parts = [];
      let seed = 7;
      const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
      for (let a = 0; a < annotations; a++) {
        const cx = 40 + rand() * 560, cy = 40 + rand() * 400, r = 10 + rand() * 25;
        const poly = [];
        for (let k = 0; k < 8; k++) poly.push(+(cx + r * Math.cos(k * Math.PI / 4)).toFixed(2), +(cy + r * Math.sin(k * Math.PI / 4)).toFixed(2));
        parts.push(JSON.stringify({ id: a + 1, image_id: 1 + (a % images), category_id: 1 + (a % 2), segmentation: [poly], area: 3.1 * r * r, bbox: [cx - r, cy - r, 2 * r, 2 * r], iscrowd: 0 }));
      }
      const text = '{"images":' + JSON.stringify(cocoImages) + ',"categories":[{"id":1,"name":"cat"},{"id":2,"name":"person"}],"annotations":[' + parts.join(',') + ']}';
      const file = new File([text], 'bench-coco.json');
      // Frame intervals while the import runs.
      const intervals = [], byStage = {};
      let last = performance.now(), running = true, stage = null;
      const tick = (t) => { intervals.push(t - last); (byStage[stage] = byStage[stage] || []).push(t - last); last = t; if (running) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      const stages = {};
      const began = performance.now();
      let stageBegan = began;
      const outcome = await polymark.importAnnotations(file, {
        onProgress: (p) => {
          if (p.stage !== stage) { const now = performance.now(); if (stage) stages[stage] = (stages[stage] || 0) + now - stageBegan; stage = p.stage; stageBegan = now; }
        },
      });
      const ended = performance.now();
      if (stage) stages[stage] = (stages[stage] || 0) + ended - stageBegan;
      running = false;
      delete byStage.null;
      return { ms: ended - began, stages, byStage, intervals: intervals.slice(1), added: outcome.added, bytes: text.length, objects: polymark.getAnnotations().objects.length };
    }, { images: IMAGES, annotations: ANNOTATIONS });
    results.push(r);
    console.log(`run ${run + 1}: ${(r.ms / 1000).toFixed(2)} s, ${r.added} added, frames p95 ${pct(r.intervals, 0.95).toFixed(1)} ms, max ${Math.max(...r.intervals).toFixed(1)} ms, stages ${Object.entries(r.stages).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')}`);
    await page.context().close();
  }
} finally {
  await browser.close();
  await server.stop();
}
const ms = results.map((r) => r.ms / 1000);
console.log(`\nCOCO ${IMAGES} images, ${ANNOTATIONS} polygons, ${(results[0].bytes / 1e6).toFixed(1)} MB; ${RUNS} runs, median [min-max]`);
console.log(`  import wall time      ${fmt(ms, ' s')}   (${(results[0].bytes / 1e6 / median(ms)).toFixed(1)} MB/s)`);
for (const stage of Object.keys(results[0].stages)) console.log(`  ${stage.padEnd(22)}${fmt(results.map((r) => (r.stages[stage] || 0) / 1000), ' s')}`);
console.log(`  frame interval p50    ${fmt(results.map((r) => pct(r.intervals, 0.5)), ' ms')}`);
console.log(`  frame interval p95    ${fmt(results.map((r) => pct(r.intervals, 0.95)), ' ms')}`);
console.log(`  frame interval max    ${fmt(results.map((r) => Math.max(...r.intervals)), ' ms')}`);
for (const stage of Object.keys(results[0].byStage))
  console.log(`  frame p95 ${stage.padEnd(12)}${fmt(results.map((r) => pct(r.byStage[stage] || [0], 0.95)), ' ms')}`);
