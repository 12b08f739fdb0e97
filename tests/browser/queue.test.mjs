// Queue mode with the real mouse and keyboard (docs/API.md, "Work queue"): the served page with
// ?queue=1 asks serve.py for a job, opens its task at its first frame, and after a submit (Ctrl+Enter,
// or the bar's Submit) or a skip with a reason (Ctrl+K) opens the next job by itself, of the same
// task or of another, with no reload; with no job left it says so and asks again until work comes.
// Offline, nothing is submitted before its labels are saved and the job stays editable. Every step
// is checked on serve.py over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, until, frames } from './harness.mjs';

const cache = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');
const QUEUE_EVENTS = ['jobAssigned', 'jobSubmitted', 'jobSkipped', 'queueEmpty'];

let browser;
const servers = [];
const dirs = [];
before(async () => { browser = await launchBrowser(); });
after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

// A second task, `other`: one photograph (its one job is the whole task).
function otherTaskDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-queue-other-'));
  dirs.push(dir);
  fs.copyFileSync(path.join(cache, 'demo', 'coffee.jpg'), path.join(dir, 'coffee.jpg'));
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify({
    format: 'polymark.task', version: 1, id: 'other', name: 'Another task',
    media: [{ id: 'coffee', type: 'image', file: 'coffee.jpg' }],
    labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }],
  }));
  return dir;
}

async function call(server, method, route, body, role = 'manager') {
  const reply = await fetch(`${server.url}${route}`, {
    method, headers: { 'Content-Type': 'application/json', 'X-Polymark-Role': role, 'X-Polymark-User': 'boss' }, body: body && JSON.stringify(body),
  });
  const json = await reply.json();
  assert.equal(reply.status, 200, JSON.stringify(json));
  return json;
}

// serve.py with the test task split into jobs: 2 (frame 0), 3 (frames 1-3), 4 (frames 4 to the end);
// with `other`, its job 1 comes second (priorities: higher first).
async function queuedServer({ other = false, args = [] } = {}) {
  const server = await startServer({ args: (other ? ['--import', otherTaskDir()] : []).concat(args) });
  servers.push(server);
  await call(server, 'POST', '/api/tasks/test/jobs', { jobs: [{ start_frame: 0, stop_frame: 0 }, { start_frame: 1, stop_frame: 3 }, { start_frame: 4, stop_frame: null }] });
  await call(server, 'PATCH', '/api/tasks/test/jobs/2', { priority: 3 });
  if (other) await call(server, 'PATCH', '/api/tasks/other/jobs/1', { priority: 2 });
  await call(server, 'PATCH', '/api/tasks/test/jobs/3', { priority: 1 });
  return server;
}

const job = (server, task, id) => call(server, 'GET', `/api/tasks/${task}/jobs/${id}`).then((r) => r.job);
const objects = (server, task) => call(server, 'GET', `/api/tasks/${task}/annotations`).then((r) => r.document.objects);

async function labeler(server) {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/?queue=1&user=ana&role=labeler&offline=0`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate((names) => {
    window.queueLog = [];
    names.forEach((n) => polymark.on(n, (d) => queueLog.push([n, d.job ? d.job.task + '/' + d.job.id : null, d.reason || null])));
  }, QUEUE_EVENTS);
  return page;
}

// Waits until the job in hand is task/id, on its first frame, with its picture on screen.
async function opened(page, task, id, frame) {
  await until(page, ([t, i, f]) => {
    const j = polymark.getJob();
    if (!j || j.job.task !== t || j.job.id !== i) return false;
    try { const v = polymark.getView(); return polymark.getTask().id === t && v.frame === f && v.frameShown; } catch (e) { return false; }
  }, [task, id, frame], 20000);
  await frames(page);
}

// A rectangle drawn with a real mouse drag between two image points (the canvas sits under the
// queue's bar, so screen points are the canvas's place plus the view's).
async function drawBox(page, from, to) {
  await page.evaluate(() => polymark.setTool('rectangle', 'cat'));
  const { v, box } = await page.evaluate(() => ({ v: polymark.getView(), box: polymark.canvas.getBoundingClientRect().toJSON() }));
  const at = (x, y) => [box.x + v.offsetX + x * v.zoom, box.y + v.offsetY + y * v.zoom];
  await page.mouse.move(...at(...from));
  await frames(page, 1);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    await page.mouse.move(...at(from[0] + ((to[0] - from[0]) * i) / 8, from[1] + ((to[1] - from[1]) * i) / 8));
    await frames(page, 1);
  }
  await page.mouse.up();
  await frames(page);
  await page.evaluate(() => polymark.setTool('select'));
}

const barText = (page) => page.evaluate(() => document.querySelector('[data-polymark=queue-job]').textContent + ' | ' + document.querySelector('[data-polymark=queue-note]').textContent);

test('a submit opens the next job by itself, of this task or another; a skip records its reason; an empty queue says so and asks again', async () => {
  const server = await queuedServer({ other: true });
  const page = await labeler(server);
  await opened(page, 'test', 2, 0);
  assert.match(await barText(page), /Job 2 · test · frame 0/);

  // Job 2: a box with the mouse; a polygon begun is not submitted half drawn (Esc cancels it);
  // then Ctrl+Enter. The next job is of the other task: its editor replaces this one.
  await drawBox(page, [100, 100], [220, 200]);
  await page.evaluate(() => polymark.setTool('polygon', 'cat'));
  const { v, box } = await page.evaluate(() => ({ v: polymark.getView(), box: polymark.canvas.getBoundingClientRect().toJSON() }));
  for (const [x, y] of [[300, 300], [400, 300]]) {
    await page.mouse.click(box.x + v.offsetX + x * v.zoom, box.y + v.offsetY + y * v.zoom);
    await frames(page);
  }
  await page.keyboard.press('Control+Enter');
  await until(page, () => polymark.getQueue().code === 'drawing');
  assert.equal((await page.evaluate(() => polymark.getJob())).job.id, 2, 'still job 2');
  await page.keyboard.press('Escape');
  await frames(page);
  await page.evaluate(() => polymark.setTool('select'));
  await page.keyboard.press('Control+Enter');
  await opened(page, 'other', 1, 0);
  assert.match(await barText(page), /Job 1 · other · frame 0/);
  const first = await objects(server, 'test');
  assert.equal(first.length, 1, 'the box drawn in job 2 reached the server before the submit');
  assert.equal(first[0].frame, 0);
  assert.equal(first[0].label, 'cat');
  assert.equal((await job(server, 'test', 2)).stage, 'review');

  // Job 1 of `other`: a box, then the bar's Submit button. Back to the test task, at job 3's first frame.
  await drawBox(page, [50, 50], [150, 120]);
  await page.click('[data-polymark=queue-submit]');
  await opened(page, 'test', 3, 1);
  assert.match(await barText(page), /Job 3 · test · frames 1–3/);
  assert.equal((await objects(server, 'other')).length, 1);
  assert.equal((await job(server, 'other', 1)).stage, 'review');

  // Skip job 3 with Ctrl+K: a reason from the list and words typed. Job 4 is of the same task:
  // the same editor moves to its first frame.
  await page.evaluate(() => { window.editorCanvas = polymark.canvas; });
  await page.keyboard.press('Control+k');
  await page.waitForSelector('[data-polymark=queue-skip-dialog]');
  await page.click('text=Nothing to label');
  await page.click('[data-polymark=queue-skip-dialog] input[type=text]');
  await page.keyboard.type('only sky');
  await page.click('[data-polymark=queue-skip-confirm]');
  await opened(page, 'test', 4, 4);
  assert.ok(await page.evaluate(() => polymark.canvas === window.editorCanvas), 'a job of the same task keeps its editor');
  assert.match(await barText(page), /Job 4 · test · frames 4–5/, 'a job to the end of the task: its last frame named');
  const skipped = (await job(server, 'test', 3)).events.filter((e) => e.event === 'skipped');
  assert.deepEqual(skipped.map((e) => [e.user, e.detail.reason]), [['ana', 'Nothing to label: only sky']]);
  assert.equal((await job(server, 'test', 3)).stage, 'annotation', 'a skipped job stays in the queue for others');

  // Job 4 submitted with nothing drawn: no job is left for ana.
  await page.keyboard.press('Control+Enter');
  await until(page, () => polymark.getQueue().state === 'empty', undefined, 15000);
  const message = await page.locator('[data-polymark=queue-message]');
  assert.ok(await message.isVisible());
  assert.match(await message.textContent(), /No work right now/);
  assert.equal(await page.evaluate(() => polymark.getJob()), null);
  assert.equal((await job(server, 'test', 4)).stage, 'review');

  // A manager returns job 2 to annotation, with an issue saying what to fix: the page, asking
  // again with back-off, opens it.
  const issue = { id: 'fix-1', frame: 0, points: [10, 10], status: 'open', author: 'boss' };
  await call(server, 'PATCH', '/api/tasks/test/review', { base_revision: 0, device: 'boss-tab', operations: [{ op_id: 'boss.1', kind: 'issue', op: 'create', id: issue.id, value: issue }] });
  await call(server, 'PATCH', '/api/tasks/test/jobs/2', { stage: 'annotation' });
  await opened(page, 'test', 2, 0);
  assert.ok(!(await message.isVisible()));
  const log = await page.evaluate(() => queueLog);  // the first jobAssigned may come before the listeners
  assert.deepEqual(log.slice(log.findIndex((e) => e[0] === 'jobSubmitted')), [
    ['jobSubmitted', 'test/2', null], ['jobAssigned', 'other/1', null],
    ['jobSubmitted', 'other/1', null], ['jobAssigned', 'test/3', null],
    ['jobSkipped', 'test/3', 'Nothing to label: only sky'], ['jobAssigned', 'test/4', null],
    ['jobSubmitted', 'test/4', null], ['queueEmpty', null, null], ['jobAssigned', 'test/2', null],
  ]);
  assert.deepEqual(page.problems.filter((p) => !/Failed to load resource/.test(p)), []);
  await page.context().close();
});

test('offline, a submit waits for the labels to be saved, the job stays editable, and everything reaches the server later', async () => {
  const server = await queuedServer();
  const page = await labeler(server);
  await opened(page, 'test', 2, 0);
  await drawBox(page, [60, 60], [160, 160]);
  await until(page, () => polymark.getSyncStatus().state === 'saved', undefined, 15000);

  await server.halt();
  await drawBox(page, [250, 250], [350, 330]);
  await page.keyboard.press('Control+Enter');
  await until(page, () => polymark.getQueue().code === 'not_saved', undefined, 15000);
  assert.match(await barText(page), /Job 2 · test · frame 0 \| Job 2 was not submitted/, 'the bar tells the labeler');
  assert.equal((await page.evaluate(() => polymark.getJob())).job.id, 2);

  // Asking for another job offline: a notice, and the job in hand stays open and editable.
  const asked = await page.evaluate(() => polymark.nextJob().then(() => 'resolved', (e) => e.code));
  assert.equal(asked, 'network');
  assert.deepEqual(await page.evaluate(() => { const q = polymark.getQueue(); return [q.state, q.code, q.job.id]; }), ['offline', 'network', 2]);
  assert.match(await barText(page), /Job 2 stays open/);
  await drawBox(page, [300, 60], [400, 140]);
  assert.equal((await page.evaluate(() => polymark.getAnnotations())).objects.length, 3);

  await server.resume();
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().state === 'saved', undefined, 20000);
  await page.click('[data-polymark=queue-submit]');
  await opened(page, 'test', 3, 1);
  assert.equal((await objects(server, 'test')).length, 3, 'the boxes drawn offline reached the server');
  assert.equal((await job(server, 'test', 2)).stage, 'review');
  await page.context().close();
});

test('at start: no user is bad_options, a reviewer is refused, and with no free job the page waits for one', async () => {
  const server = await queuedServer();
  const page = await openPage(browser, undefined, { viewport: { width: 1000, height: 700 } });
  const outcome = async (query) => {
    await page.goto(`${server.url}/?queue=1&offline=0&${query}`);
    return page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => e.code));
  };
  assert.equal(await outcome('role=labeler'), 'bad_options');
  assert.equal(await outcome('user=rita&role=reviewer'), 'forbidden');

  // bo, cy and dee hold every job: ana's mount resolves with no job, and says so.
  for (const user of ['bo', 'cy', 'dee']) {
    const reply = await fetch(`${server.url}/api/queue/next`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Polymark-User': user, 'X-Polymark-Role': 'labeler' }, body: '{}' });
    assert.ok((await reply.json()).job);
  }
  assert.equal(await outcome('user=ana&role=labeler'), 'ready');
  assert.deepEqual(await page.evaluate(() => [polymark.getJob(), polymark.getQueue().state]), [null, 'empty']);
  assert.ok(await page.locator('[data-polymark=queue-message]').isVisible());
  assert.equal(await page.evaluate(() => { try { polymark.getAnnotations(); return 'no error'; } catch (e) { return e.code; } }), 'no_job');

  // cy skips the job she holds: it is free for others at once, and ana's page, asking again, opens it.
  const skip = await fetch(`${server.url}/api/queue/skip`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Polymark-User': 'cy', 'X-Polymark-Role': 'labeler' }, body: JSON.stringify({ task: 'test', job: 3, reason: 'not mine' }) });
  assert.equal(skip.status, 200);
  await opened(page, 'test', 3, 1);
  assert.ok(!(await page.locator('[data-polymark=queue-message]').isVisible()));

  // At the smallest size the editor supports, the bar still holds both buttons.
  await page.setViewportSize({ width: 480, height: 360 });
  await frames(page);
  for (const which of ['queue-skip', 'queue-submit']) {
    const b = await page.locator(`[data-polymark=${which}]`).boundingBox();
    assert.ok(b && b.x >= 0 && b.x + b.width <= 480 && b.y + b.height <= 40, `${which} in view at 480x360: ${JSON.stringify(b)}`);
  }
  await page.context().close();
});

test('the lease of a labeler who works without saving is renewed; an idle page lets it run out', async () => {
  const server = await queuedServer({ args: ['--lease-seconds', '5'] });
  const page = await labeler(server);
  await opened(page, 'test', 2, 0);
  const askAs = async (user) => {
    const reply = await fetch(`${server.url}/api/queue/next`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Polymark-User': user, 'X-Polymark-Role': 'labeler' }, body: '{}' });
    return (await reply.json()).job.id;
  };
  // Clicks on the image for over twice the lease, saving nothing.
  const { v, box } = await page.evaluate(() => ({ v: polymark.getView(), box: polymark.canvas.getBoundingClientRect().toJSON() }));
  for (const began = Date.now(); Date.now() - began < 11000;) {
    await page.mouse.click(box.x + v.offsetX + 20 * v.zoom, box.y + v.offsetY + 20 * v.zoom);
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(await page.evaluate(() => polymark.getSyncStatus().acked_revision), 0, 'nothing was saved');
  assert.equal(await askAs('bo'), 3, 'job 2 is still ana\'s');
  // Idle for over twice the lease: it runs out, and the job goes to the next labeler who asks.
  await new Promise((r) => setTimeout(r, 11000));
  assert.equal(await askAs('cy'), 2);
  await page.context().close();
});

test('offline start: the job in hand opens again from the offline copy, editable, and its edits reach the server later', async () => {
  const server = await queuedServer();
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/?queue=1&user=ana&role=labeler`);  // the app's own page: offline start-up on
  await page.evaluate(() => window.polymarkMount);
  await opened(page, 'test', 2, 0);
  assert.equal(await page.evaluate(async () => {
    for (let i = 0; i < 600; i++) {
      const s = await polymark.getStorage();
      if (s.offline.state !== 'installing') return s.offline.state;
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'still installing';
  }), 'ready');
  await drawBox(page, [60, 60], [160, 160]);
  await until(page, () => polymark.getSyncStatus().state === 'saved', undefined, 15000);

  await server.halt();
  await page.reload();
  assert.equal(await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code)), 'ready');
  await opened(page, 'test', 2, 0);
  assert.deepEqual(await page.evaluate(() => { const q = polymark.getQueue(); return [q.state, q.code]; }), ['offline', 'network']);
  await drawBox(page, [250, 250], [350, 330]);
  assert.equal((await page.evaluate(() => polymark.getAnnotations())).objects.length, 2);

  await server.resume();
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getQueue().state === 'working' && polymark.getSyncStatus().state === 'saved', undefined, 30000);
  assert.equal((await objects(server, 'test')).length, 2, 'the box drawn after the offline start reached the server');
  await page.click('[data-polymark=queue-submit]');
  await opened(page, 'test', 3, 1);
  assert.equal((await job(server, 'test', 2)).stage, 'review');
  await page.context().close();
});
