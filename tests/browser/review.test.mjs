// Review with the real mouse and keyboard in two browser contexts (docs/API.md, "Review"): a
// labeler submits a job, a reviewer steps to the shape with W, rejects it with a reason (an issue
// pinned to the shape) and returns the job; the labeler sees the issue, fixes the shape and replies;
// the reviewer resolves the issue and accepts the job. Then the same with the labeler offline while
// the reviewer works (what changed since the last review highlighted on the reviewer's canvas; the
// labeler's fix and reply kept through an offline reload). serve.py enforces the roles
// (X-Polymark-Role) and every step is checked on the server over HTTP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

// Playwright's setOffline reaches the service worker's own fetches only with this set (the
// offline labeler's page is served by the worker).
process.env.PW_EXPERIMENTAL_SERVICE_WORKER_NETWORK_EVENTS = '1';
const { startServer, launchBrowser, openPage, mountDemo, until, frames, drawRect, moveShape, decodePng } = await import('./harness.mjs');

let server; let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); });

const api = async (path) => (await fetch(`${server.url}/api/tasks/test${path}`)).json();
const review = (page) => page.evaluate(() => polymark.getReview());

async function person(user, role) {
  // Tall enough for the sidebar's Review section to show a thread without scrolling.
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 1200 } });
  assert.equal(await mountDemo(page, server.url, `task=test&user=${user}&role=${role}`), 'ready');
  await until(page, () => { const r = polymark.getReview(); return r.sync.state === 'saved' && r.jobs.length > 0; }, undefined, 15000);
  return page;
}

// What a page shown again does: catch up with the server (annotations, review items, jobs).
async function catchUp(page) {
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
}

// Catches up until fn(arg) holds in the page (a catch-up that went out just before a change misses it).
async function caughtUp(page, fn, arg) {
  for (let i = 0; i < 30; i++) {
    await catchUp(page);
    if (await page.evaluate(`(${fn})(${JSON.stringify(arg)})`)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('never caught up: ' + fn + ' ' + JSON.stringify(await page.evaluate(() => [polymark.getReview(), polymark.getSyncStatus()])));
}

async function click(page, id) {
  await frames(page);
  const c = await page.evaluate((want) => polymark.getLayout().controls.find((x) => x.id === want), id);
  assert.ok(c, `control ${id} is on screen: ${JSON.stringify(await page.evaluate(() => polymark.getLayout().controls.map((x) => x.id)))}`);
  await page.mouse.click(c.x + c.width / 2, c.y + c.height / 2);
  await frames(page);
}

// Clicks a text field and waits until the page's text input has the keyboard (what is typed before
// goes to the canvas's shortcuts, as it would for a person typing too early).
async function typeInto(page, id, text) {
  await click(page, id);
  await until(page, () => document.activeElement && document.activeElement.tagName === 'TEXTAREA');
  await page.keyboard.type(text);
  await frames(page);
}

// Focuses the canvas and presses W until the walk selects `id`.
async function walkTo(page, id) {
  await page.mouse.click(5, 450);
  const walked = [];
  for (let i = 0; i < 20 && !walked.includes(id); i++) {
    await page.keyboard.press('w');
    await frames(page);
    walked.push(...await page.evaluate(() => polymark.getSelection()));
  }
  assert.ok(walked.includes(id), `W reached the shape: ${walked}`);
}

async function stage(page, want) {
  try {
    await until(page, (s) => polymark.getReview().jobs[0].stage === s, want, 15000);
  } catch (e) {
    throw new Error(`never in stage ${want}: ` + JSON.stringify([(await api('/jobs')).jobs, await page.evaluate(() => polymark.getReview())]));
  }
}

// Clicks Reject and waits until the verdict is in the app (the typed reason and the click reach
// ImGui a frame at a time: only then is there something to save).
async function reject(page, id) {
  await click(page, 'review-reject');
  await until(page, (item) => polymark.getReview().decisions.some((d) => d.item === item && d.verdict === 'rejected'), id, 15000);
  await saved(page);
}

async function saved(page) {
  try {
    await until(page, () => polymark.getReview().sync.state === 'saved' && polymark.getReview().sync.pending === 0 &&
      polymark.getSyncStatus().state === 'saved', undefined, 15000);
  } catch (e) {
    throw new Error('never saved: ' + JSON.stringify(await page.evaluate(() => [polymark.getReview(), polymark.getSyncStatus()])));
  }
}

test('a reviewer rejects a shape with an issue, the labeler fixes it and replies, the reviewer accepts the job', async () => {
  const ana = await person('ana', 'labeler');
  const rita = await person('rita', 'reviewer');

  await drawRect(ana, [60, 60], [160, 140]);
  await saved(ana);
  const [box] = (await ana.evaluate(() => polymark.getAnnotations().objects)).slice(-1);
  await click(ana, 'review-submit');
  await stage(ana, 'review');
  assert.equal((await api('/jobs')).jobs[0].stage, 'review');

  // The reviewer: catches up, steps to the shape with W, says why and rejects it, returns the job.
  await caughtUp(rita, (id) => polymark.getReview().jobs[0].stage === 'review' && polymark.getAnnotations().objects.some((o) => o.id === id), box.id);
  await walkTo(rita, box.id);
  await typeInto(rita, 'review-words', 'the box cuts the mirror');
  await reject(rita, box.id);
  await rita.screenshot({ path: process.env.POLYMARK_REVIEW_SHOT || '/tmp/polymark-review.png' });
  await click(rita, 'review-return');
  await stage(rita, 'annotation');

  const items = (await api('/review')).changes;
  const issue = items.find((c) => c.kind === 'issue');
  assert.equal(issue.value.item, box.id);
  assert.equal(issue.value.status, 'open');
  assert.deepEqual(issue.value.points, box.points);
  assert.equal(issue.role, 'reviewer');
  assert.deepEqual(items.filter((c) => c.kind === 'comment').map((c) => [c.value.text, c.user]), [['the box cuts the mirror', 'rita']]);
  assert.equal(items.find((c) => c.kind === 'decision').value.verdict, 'rejected');

  // The labeler: sees the issue, fixes the shape with the mouse, answers in the thread, submits.
  await caughtUp(ana, () => polymark.getReview().jobs[0].stage === 'annotation' && polymark.getReview().issues.length === 1);
  await moveShape(ana, [110, 100], [130, 110]);
  await click(ana, 'review-issue-1');
  await typeInto(ana, 'review-issue-1-reply', 'moved it onto the mirror');
  await ana.keyboard.press('Enter');
  await frames(ana);
  await saved(ana);
  await click(ana, 'review-submit');
  await stage(ana, 'review');

  // The reviewer: reads the answer, resolves the issue, accepts the job.
  await caughtUp(rita, () => polymark.getReview().jobs[0].stage === 'review' && polymark.getReview().issues[0].comments.length === 2);
  await click(rita, 'review-issue-1');
  await click(rita, 'review-issue-1-status');
  await saved(rita);
  await click(rita, 'review-accept-job');
  await stage(rita, 'accepted');

  const job = (await api('/jobs')).jobs[0];
  assert.equal(job.stage, 'accepted');
  assert.deepEqual(job.events.filter((e) => e.event === 'stage').map((e) => [e.to, e.user, e.role]),
    [['review', 'ana', 'labeler'], ['annotation', 'rita', 'reviewer'], ['review', 'ana', 'labeler'], ['accepted', 'rita', 'reviewer']]);
  const history = (await api('/history')).entries.filter((e) => e.id === box.id);
  assert.deepEqual(history.map((e) => [e.op, e.user, e.role, e.stage]),
    [['create', 'ana', 'labeler', 'annotation'], ['update', 'ana', 'labeler', 'annotation']]);
  const thread = (await api('/review')).changes.filter((c) => c.kind === 'comment').map((c) => [c.value.text, c.role]);
  assert.deepEqual(thread.sort(), [['moved it onto the mirror', 'labeler'], ['the box cuts the mirror', 'reviewer']]);
  assert.equal((await api('/review')).changes.find((c) => c.kind === 'issue').value.status, 'resolved');
  assert.deepEqual(ana.problems, []);
  assert.deepEqual(rita.problems, []);
  await ana.context().close();
  await rita.context().close();
});

test('a labeler cannot change a job under review: the server refuses, the edit is set aside and says why', async () => {
  const ana = await person('bo', 'labeler');
  await until(ana, () => polymark.getReview().jobs[0].stage === 'accepted' || polymark.getReview().jobs[0].stage === 'review', undefined, 15000);
  await drawRect(ana, [300, 60], [380, 140]);
  await until(ana, () => polymark.getSyncStatus().set_aside === 1, undefined, 15000);
  const refused = (await ana.evaluate(() => polymark.getSyncStatus())).setAsideList[0];
  assert.equal(refused.code, 'forbidden');
  assert.match(refused.message, /a labeler may not create objects .* in stage accepted/);
  await ana.context().close();
});

// Whether some pixel of the screenshot strip around (x, y) is near `rgb`.
function colourNear(shot, x, y, w, h, rgb) {
  for (let j = Math.max(0, y); j < Math.min(shot.height, y + h); j++) {
    for (let i = Math.max(0, x); i < Math.min(shot.width, x + w); i++) {
      const at = (j * shot.width + i) * 4;
      if (rgb.every((c, k) => Math.abs(shot.rgba[at + k] - c) < 40)) return true;
    }
  }
  return false;
}

// The middle of a box's top edge (image points) on the page's screen, as a strip to search.
async function topEdge(page, points) {
  const v = await page.evaluate(() => polymark.getView());
  const x = v.offsetX + ((points[0] + points[2]) / 2) * v.zoom; const y = v.offsetY + points[1] * v.zoom;
  return [Math.round(x) - 12, Math.round(y) - 4, 24, 9];
}

const GREEN = [80, 230, 120]; const RED = [255, 80, 80];

test('the labeler offline while the reviewer works: changes highlighted, the fix and the reply kept through an offline reload', async () => {
  // A manager reopens the job the first test accepted (no role header: an open serve.py's manager).
  const reopened = await fetch(`${server.url}/api/tasks/test/jobs/1`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ stage: 'annotation', from: 'accepted' }) });
  assert.equal(reopened.status, 200, await reopened.text());
  const before = (await api('/annotations')).document.objects;
  const old = before[before.length - 1];

  const ana = await person('cy', 'labeler');
  const offline = await ana.evaluate(async () => {
    for (let i = 0; i < 600; i++) {
      const s = await polymark.getStorage();
      if (s.offline.state !== 'installing') return s.offline.state;
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'still installing';
  });
  assert.equal(offline, 'ready');
  await drawRect(ana, [300, 200], [400, 280]);
  await ana.evaluate((id) => polymark.select([id]), old.id);
  await frames(ana);
  await ana.keyboard.press('Delete');
  await saved(ana);
  const objects = await ana.evaluate(() => polymark.getAnnotations().objects);
  assert.ok(!objects.some((o) => o.id === old.id), 'the old shape is deleted');
  const box = objects[objects.length - 1];
  await click(ana, 'review-submit');
  await stage(ana, 'review');
  await ana.context().setOffline(true);

  // The reviewer: the new shape is outlined green, the deleted one red where it was.
  const rita = await person('rita', 'reviewer');
  await caughtUp(rita, (id) => polymark.getReview().changes_since_review.some((c) => c.id === id), box.id);
  assert.deepEqual((await review(rita)).changes_since_review.map((c) => [c.id, c.change, c.user]).sort(),
    [[box.id, 'new', 'cy'], [old.id, 'deleted', 'cy']].sort());
  await frames(rita);
  let shot = decodePng(await rita.screenshot());
  assert.ok(colourNear(shot, ...(await topEdge(rita, box.points)), GREEN), 'the new shape is outlined green');
  assert.ok(colourNear(shot, ...(await topEdge(rita, old.points)), RED), 'a red outline shows where the deleted shape was');
  // W steps to it; its history is read from the server when asked for; rejected with a reason.
  await walkTo(rita, box.id);
  const asked = rita.waitForRequest((r) => r.url().includes(`/history?item=${box.id}`));
  await click(rita, 'review-history');
  await asked;
  await typeInto(rita, 'review-words', 'label the whole car');
  await reject(rita, box.id);
  await click(rita, 'review-return');
  await stage(rita, 'annotation');
  await frames(rita);
  shot = decodePng(await rita.screenshot());
  assert.ok(!colourNear(shot, ...(await topEdge(rita, box.points)), GREEN), 'highlights end with the review');

  // The labeler comes back, sees the issue; offline again, fixes the shape and replies, reloads.
  await ana.context().setOffline(false);
  await caughtUp(ana, () => polymark.getReview().jobs[0].stage === 'annotation' && polymark.getReview().issues.some((i) => i.status === 'open'));
  await until(ana, async () => {
    const cached = await (await caches.open('polymark:api@/')).match('/api/tasks/test/review');
    return cached && (await cached.json()).changes.some((c) => c.kind === 'issue' && c.value.status === 'open');
  }, undefined, 15000);
  await ana.context().setOffline(true);
  await moveShape(ana, [350, 240], [330, 230]);
  const issue = (await review(ana)).issues.find((i) => i.status === 'open');
  await click(ana, 'review-issue-1');  // open issues come first
  await typeInto(ana, 'review-issue-1-reply', 'whole car now');
  await ana.keyboard.press('Enter');
  // The typed reply reaches the app a few frames later on a busy machine.
  await until(ana, (id) => polymark.getReview().issues.some((i) => i.id === id && i.comments.some((c) => c.text === 'whole car now')), issue.id, 15000);
  const moved = (await ana.evaluate((id) => polymark.getAnnotations().objects.find((o) => o.id === id), box.id)).points;
  assert.notDeepEqual(moved, box.points);
  assert.ok((await review(ana)).sync.pending > 0, 'the reply waits for the network');
  await ana.reload();
  assert.equal(await ana.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code + ' ' + e.message)), 'ready');
  await until(ana, (args) => {
    const r = polymark.getReview();
    const shape = polymark.getAnnotations().objects.find((o) => o.id === args.id);
    return r.jobs.length > 0 && r.issues.some((i) => i.comments.some((c) => c.text === 'whole car now')) &&
      shape && JSON.stringify(shape.points) === JSON.stringify(args.moved);
  }, { id: box.id, moved }, 15000);
  await ana.context().setOffline(false);
  await saved(ana);
  const thread = (await api('/review')).changes.filter((c) => c.kind === 'comment' && c.value.issue === issue.id).map((c) => [c.value.text, c.user]);
  assert.deepEqual(thread.sort(), [['label the whole car', 'rita'], ['whole car now', 'cy']]);
  assert.deepEqual((await api('/annotations')).document.objects.find((o) => o.id === box.id).points, moved);
  await click(ana, 'review-submit');
  await stage(ana, 'review');

  // The reviewer reads the answer, resolves the issue and accepts.
  await caughtUp(rita, (id) => polymark.getReview().jobs[0].stage === 'review' &&
    polymark.getReview().issues.find((i) => i.id === id).comments.length === 2, issue.id);
  await rita.evaluate((id) => polymark.setIssueStatus({ issue: id, status: 'resolved' }), issue.id);
  await saved(rita);
  await click(rita, 'review-accept-job');
  await stage(rita, 'accepted');
  assert.equal((await api('/jobs')).jobs[0].stage, 'accepted');
  assert.deepEqual(rita.problems, []);
  await ana.context().close();
  await rita.context().close();
});
