#!/usr/bin/env node
// Review speed benchmark (see bench/README.md): could a first-day reviewer judge 500 objects an
// hour with the keyboard? That is 7.2 s per object, most of it looking; this measures what the
// tool takes of it. A job of 500 boxes on one image goes to review; in each run a reviewer page
// (real Chromium, real key presses) presses W once and then A for each of 100 objects (A accepts
// the selected object and steps to the next). Per decision: the milliseconds from the key's
// keydown in the page to the `review` event that says the decision is recorded (journaled, queued
// for the server), and the C++ frame times meanwhile (takeFrameTimes); per run: the time until
// every decision is saved on serve.py. Prints numbers; exits non-zero only when something broke.
import { startServer, launchBrowser, openPage, mountDemo, until, frames } from '../tests/browser/harness.mjs';

const arg = (name, fallback) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : fallback; };
const RUNS = Number(arg('--runs', 5));
const PER_RUN = Number(arg('--objects', 100));
const SHOT = arg('--screenshot', '');

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const median = (xs) => quantile(xs, 0.5);
const f1 = (x) => x.toFixed(1);

function boxes(count) {
  const objects = [];
  const cols = 25;
  for (let i = 0; i < count; i++) {
    const x = 10 + (i % cols) * 19.5; const y = 10 + Math.floor(i / cols) * 24;
    objects.push({ id: `b${i}`, type: 'rectangle', frame: 0, label: i % 3 ? 'cat' : 'dog', points: [x, y, x + 15, y + 19] });
  }
  return objects;
}

const server = await startServer();
const browser = await launchBrowser();
try {
  const api = (path, init) => fetch(`${server.url}/api/tasks/test${path}`, init);
  const current = await (await api('/annotations')).json();
  const document = { ...current.document, objects: boxes(RUNS * PER_RUN) };
  let r = await api('/annotations', { method: 'PUT', headers: { 'Content-Type': 'application/json', 'If-Match': `"rev-${current.revision}"` }, body: JSON.stringify(document) });
  if (r.status !== 200) throw new Error('PUT annotations: ' + r.status + ' ' + await r.text());
  r = await api('/jobs/1', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ stage: 'review', from: 'annotation' }) });
  if (r.status !== 200) throw new Error('PATCH job: ' + r.status + ' ' + await r.text());

  const runs = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await openPage(browser, undefined, { viewport: { width: 1366, height: 768 } });
    if (await mountDemo(page, server.url, `task=test&user=rev${run}&role=reviewer`) !== 'ready') throw new Error('mount failed');
    await until(page, () => polymark.getReview().sync.state === 'saved' && polymark.getReview().jobs.length > 0, undefined, 15000);
    await page.evaluate(() => {
      window.__keydown = 0;
      window.__latencies = [];
      window.addEventListener('keydown', (e) => { if (e.key === 'a') window.__keydown = performance.now(); }, true);
      polymark.on('review', () => { if (window.__keydown) { window.__latencies.push(performance.now() - window.__keydown); window.__keydown = 0; } });
    });
    await page.mouse.click(5, 450);
    // Walk to this run's first object (each run judges the next hundred).
    for (let i = 0; i <= run * PER_RUN; i++) await page.keyboard.press('w');
    await frames(page);
    await page.evaluate(() => polymark.takeFrameTimes());
    const started = Date.now();
    for (let i = 0; i < PER_RUN; i++) {
      await page.keyboard.press('a');
      await page.waitForFunction((n) => window.__latencies.length >= n, i + 1);
      if (SHOT && run === 0 && i === 10) await page.screenshot({ path: SHOT });
    }
    const keyed = Date.now() - started;
    const frameTimes = (await page.evaluate(() => polymark.takeFrameTimes())).frameTimesMs;
    await until(page, () => polymark.getReview().sync.pending === 0 && polymark.getReview().sync.state === 'saved', undefined, 60000);
    const savedMs = Date.now() - started;
    const latencies = await page.evaluate(() => window.__latencies);
    const decisions = (await (await api('/review')).json()).changes.filter((c) => c.kind === 'decision' && c.user === `rev${run}`);
    if (decisions.length !== PER_RUN) throw new Error(`run ${run}: ${decisions.length} decisions saved, not ${PER_RUN}`);
    runs.push({ latency: median(latencies), p95: quantile(latencies, 0.95), frameP95: quantile(frameTimes, 0.95), frameMax: Math.max(...frameTimes), keyed, savedMs });
    await page.context().close();
  }
  const line = (name, key, unit) => {
    const xs = runs.map((x) => x[key]);
    console.log(`${name.padEnd(46)} median ${f1(median(xs)).padStart(8)} ${unit}  min ${f1(Math.min(...xs)).padStart(8)}  max ${f1(Math.max(...xs)).padStart(8)}`);
  };
  console.log(`review walk: ${RUNS} runs x ${PER_RUN} objects accepted with A (1366x768, headless Chromium)`);
  line('A keydown -> decision recorded, median', 'latency', 'ms');
  line('A keydown -> decision recorded, p95', 'p95', 'ms');
  line('C++ frame time p95 while judging', 'frameP95', 'ms');
  line('C++ frame time max while judging', 'frameMax', 'ms');
  line(`${PER_RUN} decisions keyed (script, no looking)`, 'keyed', 'ms');
  line(`${PER_RUN} decisions saved on serve.py`, 'savedMs', 'ms');
  const perObject = median(runs.map((x) => x.keyed / PER_RUN));
  console.log(`tool time per object ${f1(perObject)} ms of the 7200 ms that 500 objects an hour allow (${f1((100 * perObject) / 7200)} %)`);
} finally {
  await browser.close();
  await server.stop();
}
