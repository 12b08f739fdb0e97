// Review against a CVAT-shaped server through the built-in `cvat` profile's review section
// (docs/PROFILES.md section 7): the page is mounted with `profile: 'cvat'` and a CVAT job, and
// tests/backend/fake_cvat.py answers CVAT's /api/jobs, /api/issues and /api/comments as CVAT does
// (token auth, pages of two with absolute `next` URLs, the issue's required first message). The
// page reads the job and the other reviewer's issues, opens an issue with its text, replies,
// resolves it, moves the job; a decision, which CVAT has not, stays set aside in the page. Every
// check reads the fake over HTTP from node, or the page through the embedding API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startServer, launchBrowser, openPage, repo, until, PYTHON } from './harness.mjs';

let server; let browser; let cvat; let task;

async function startFakeCvat() {
  const proc = spawn(PYTHON, [path.join(repo, 'tests', 'backend', 'fake_cvat.py'), '--port', '0', '--seed', '--max-page-size', '2'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => { out += d; const m = out.match(/ready (\d+)/); if (m) resolve(Number(m[1])); });
    proc.once('exit', () => reject(new Error('fake_cvat.py exited before it was ready')));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    state: async () => (await fetch(`${url}/_state`)).json(),
    stop: () => new Promise((r) => { if (proc.exitCode !== null) return r(); proc.once('exit', r); proc.kill(); }),
  };
}

before(async () => {
  server = await startServer();
  cvat = await startFakeCvat();
  browser = await launchBrowser();
  task = await (await fetch(`${server.url}/api/tasks/test`)).json();
  task.id = 'cvat-review-test';
  for (const m of task.media) m.url = new URL(m.url, server.url + '/').href;
});
after(async () => { await browser?.close(); await cvat?.stop(); await server?.stop(); });

const review = (page) => page.evaluate(() => polymark.getReview());

async function saved(page) {
  try {
    await until(page, () => { const r = polymark.getReview(); return r.sync.state !== 'saving' && r.sync.pending === 0; }, undefined, 15000);
  } catch (e) {
    throw new Error('never saved: ' + JSON.stringify(await review(page)));
  }
}

test('a reviewer on CVAT: the job, the other reviewer\'s issues, an issue with its text, a reply, a resolve, a move; a decision stays here', async () => {
  const page = await openPage(browser, `${server.url}/?task=test`, { viewport: { width: 1280, height: 800 } });
  await page.evaluate(() => window.polymarkMount.then(() => polymark.destroy()));
  const outcome = await page.evaluate(async ({ t, backend }) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try {
      window.polymark = await Polymark.mount('#host', {
        taskObject: t, backend, profile: 'cvat', token: 'reviewer-token', user: 'rita', role: 'reviewer', offline: false,
        profileContext: { vars: { job: 42 } },
        sync: { debounceMs: 100, backoffBaseMs: 200, backoffMaxMs: 1000, catchupIntervalMs: 500 },
      });
      return 'ready';
    } catch (e) { return e.code + ': ' + e.message; }
  }, { t: task, backend: cvat.url });
  assert.equal(outcome, 'ready');

  // CVAT's job and the other reviewer's three issues with their threads (pages of two).
  try {
    await until(page, () => { const r = polymark.getReview(); return r.jobs.length === 1 && r.issues.length === 3; }, undefined, 15000);
  } catch (e) { throw new Error('never read: ' + JSON.stringify(await review(page))); }
  let r = await review(page);
  assert.deepEqual([r.jobs[0].id, r.jobs[0].stage, r.jobs[0].start_frame, r.jobs[0].stop_frame], [42, 'annotation', 0, 99]);
  const third = r.issues.find((i) => i.id === 'cvat-issue-3');
  assert.deepEqual(third.comments.map((c) => [c.text, c.author]), [['check frame 9', 'bo'], ['the occluded car too', 'bo']]);

  // Ours: an issue with its text (one POST with CVAT's message), a reply, resolved.
  const id = await page.evaluate(() => polymark.openIssue({ points: [10, 20, 110, 70], text: 'the box cuts the wheel', frame: 0, item: 'car' }));
  await saved(page);
  await page.evaluate((issue) => polymark.replyToIssue({ issue, text: 'and the mirror' }), id);
  await saved(page);
  await page.evaluate((issue) => polymark.setIssueStatus({ issue, status: 'resolved' }), id);
  await saved(page);
  // A decision: CVAT has no per-object accept or reject; it is set aside here, named, not lost.
  await page.evaluate(() => polymark.decide({ item: 'car', verdict: 'rejected', reason: 'too loose', frame: 0 }));
  await until(page, () => polymark.getReview().sync.setAsideList.length === 1, undefined, 15000);
  r = await review(page);
  assert.equal(r.sync.setAsideList[0].kind, 'decision');
  assert.match(r.sync.setAsideList[0].message, /CVAT has no per-object accept or reject/);

  await page.evaluate(() => polymark.setJobStage({ job: 42, stage: 'review' }));
  await until(page, () => polymark.getReview().jobs[0].stage === 'review', undefined, 15000);

  const state = await cvat.state();
  const ours = state.issues.filter((i) => i.owner.username === 'rita');
  assert.equal(ours.length, 1);
  assert.deepEqual([ours[0].job, ours[0].frame, ours[0].position, ours[0].resolved], [42, 0, [10, 20, 110, 70], true]);
  assert.deepEqual(state.comments.filter((c) => c.issue === ours[0].id).map((c) => c.message), ['the box cuts the wheel', 'and the mirror']);
  const job = state.jobs.find((j) => j.id === 42);
  assert.deepEqual([job.stage, job.state], ['validation', 'new']);
  assert.ok(!state.log.some((line) => line.includes('/api/tasks/')), 'no serve.py route was asked of CVAT');
  await page.close();
});
