// The manager view with the real mouse and keyboard (docs/API.md, "Quality"): labelers draw on
// their jobs' frames in their own browsers, a manager opens the view with U and reads golden-frame
// scores per labeler (one got a label wrong), merges a 3-way consensus of replicas into the task
// and undoes it with Ctrl+Z, and reads throughput per person, exported as CSV.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, until, frames, drawRect } from './harness.mjs';

let server; let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); });

const MANAGER = { 'Content-Type': 'application/json', 'X-Polymark-Role': 'manager', 'X-Polymark-User': 'mia' };
async function api(task, p, init) {
  const r = await fetch(`${server.url}/api/tasks/${task}${p}`, Object.assign({ headers: MANAGER }, init));
  const body = await r.json();
  assert.ok(r.ok, `${init?.method || 'GET'} ${task}${p}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}
const box = (id, frame, label, [x1, y1, x2, y2]) => ({ id, type: 'rectangle', frame, label, points: [x1, y1, x2, y2] });
const doc = (objects) => ({ format: 'polymark.annotations', version: 1, objects, tracks: [] });

async function person(user, role, task = 'test') {
  const page = await openPage(browser, undefined, { viewport: { width: 1200, height: 800 } });
  assert.equal(await mountDemo(page, server.url, `task=${task}&user=${user}&role=${role}`), 'ready');
  return page;
}

async function onFrame(page, frame) {
  await page.evaluate((f) => { polymark.setFrame(f); polymark.fit(); }, frame);
  await until(page, (f) => polymark.getView().frameShown && polymark.getView().frame === f, frame);
  await frames(page);
}

async function saved(page) {
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().state === 'saved' && polymark.getSyncStatus().pending === 0, undefined, 15000);
}

// The manager view's bars: {name: value} of the chart titled `title`.
const barsOf = (page, title) => page.evaluate((t) => {
  const view = document.querySelector('.polymark-quality');
  const chart = Array.from(view.querySelectorAll('div')).find((d) => d.firstChild && d.firstChild.textContent === t);
  if (!chart) return null;
  return Object.fromEntries(Array.from(chart.querySelectorAll('.polymark-quality-bar')).map((b) => [b.dataset.name, b.dataset.value === '' ? null : Number(b.dataset.value)]));
}, title);

async function openView(page) {
  await page.mouse.click(5, 400);  // the canvas has the keys
  await frames(page);
  await page.keyboard.press('u');
  await until(page, () => { const v = document.querySelector('.polymark-quality'); return v && v.style.display !== 'none'; }, undefined, 15000);
}

// Waits until the view's status line matches `pattern`; a timeout says what it showed instead.
async function status(page, pattern, timeout = 30000) {
  try {
    await until(page, (source) => new RegExp(source).test(document.querySelector('.polymark-quality-status').textContent), pattern.source, timeout);
  } catch (e) {
    const shown = await page.evaluate(() => document.querySelector('.polymark-quality-status').textContent);
    throw new Error(`the view's status stayed "${shown}", not ${pattern}`);
  }
}

async function tab(page, kind) {
  await page.click(`.polymark-quality button[data-kind="${kind}"]`);
  await status(page, /measured in/);
}

test('golden frames score each labeler on the golden frames of their job; the one who got a label wrong scores lower', async () => {
  // Two jobs: frames 0-1 for ana, 2-5 for ben. Frames 0, 1 and 4 are golden, with the manager's labels.
  await api('test', '/jobs', { method: 'POST', body: JSON.stringify({ jobs: [
    { start_frame: 0, stop_frame: 1, assignee: 'ana' }, { start_frame: 2, stop_frame: null, assignee: 'ben' }] }) });
  const golden = await api('test', '/sets', { method: 'POST', body: JSON.stringify({ kind: 'golden', frames: [0, 1, 4], document: doc([
    box('g0', 0, 'cat', [100, 100, 260, 240]), box('g1', 1, 'cat', [120, 80, 300, 260]), box('g4', 4, 'person', [50, 60, 250, 300])]) }) });
  assert.deepEqual(golden.golden.frames, [0, 1, 4]);

  // The labelers see nothing of it and draw with the mouse: ana labels frame 1's cat a person.
  const ana = await person('ana', 'labeler');
  assert.deepEqual((await ana.evaluate(() => polymark.getAnnotations())).objects, []);
  await onFrame(ana, 0);
  await drawRect(ana, [100, 100], [260, 240], 'cat');
  await onFrame(ana, 1);
  await drawRect(ana, [120, 80], [300, 260], 'person');
  await saved(ana);
  const ben = await person('ben', 'labeler');
  await onFrame(ben, 4);
  await drawRect(ben, [52, 58], [250, 302], 'person');
  await saved(ben);

  const mia = await person('mia', 'manager');
  await openView(mia);
  await status(mia, /measured in/);
  const perLabeler = await barsOf(mia, 'Accuracy per labeler');
  assert.equal(perLabeler.ben, 1);
  assert.ok(Math.abs(perLabeler.ana - 1 / 3) < 1e-9, `ana: 1 valid of 2 golden and 2 drawn (${perLabeler.ana})`);
  const report = await mia.evaluate(() => polymark.getQualityReport('golden'));
  assert.deepEqual(report.labelers.map((l) => [l.name, l.frames]), [['ana', [0, 1]], ['ben', [4]]]);
  assert.equal(report.report.summary.valid, 2);
  assert.equal(report.report.summary.mislabelled_gt, 1);
  const confusion = report.report.confusion;
  assert.equal(confusion.rows[confusion.labels.indexOf('cat')][confusion.labels.indexOf('person')], 1);

  // The labeler cannot read the golden set, even by asking.
  const refused = await ana.evaluate(() => polymark.getQualityReport('golden').then(() => 'read', (e) => e.code));
  assert.equal(refused, 'forbidden');
  for (const p of [ana, ben, mia]) await p.close();
});

test('a 3-way consensus of replicas merges into the task as one step that Ctrl+Z undoes', async () => {
  const mia = await person('mia', 'manager');
  await openView(mia);
  // No replicas yet: the view offers to make them.
  await mia.click('.polymark-quality button[data-kind="consensus"]');
  await until(mia, () => Array.from(document.querySelectorAll('.polymark-quality button')).some((b) => b.textContent === 'Create'), undefined, 15000);
  const create = await mia.evaluateHandle(() => Array.from(document.querySelectorAll('.polymark-quality button')).find((b) => b.textContent === 'Create'));
  await create.click();
  await status(mia, /Replicas: test@r1, test@r2, test@r3/);

  // Three labelers on frame 4: two agree on a box, the third drew it a little off and one more of its own.
  const sets = [
    [box('a', 4, 'cat', [300, 40, 420, 160])],
    [box('b', 4, 'cat', [304, 42, 420, 164])],
    [box('c', 4, 'cat', [296, 40, 424, 158]), box('c2', 4, 'person', [10, 10, 60, 60])],
  ];
  for (let i = 0; i < 3; i++) {
    const task = `test@r${i + 1}`;
    const current = await api(task, '/annotations');
    await api(task, '/annotations', { method: 'PUT', headers: Object.assign({ 'If-Match': `"rev-${current.revision}"` }, MANAGER), body: JSON.stringify(doc(sets[i])) });
  }
  await tab(mia, 'consensus');
  const agreement = await barsOf(mia, 'Agreement per labeler (replica)');
  assert.deepEqual(Object.keys(agreement), ['test@r1', 'test@r2', 'test@r3']);
  const perLabel = await barsOf(mia, 'Agreement per label');
  assert.deepEqual(Object.keys(perLabel), ['cat', 'person']);
  assert.equal(perLabel.person, 0, 'the lone person box agrees with nobody');
  assert.ok(perLabel.cat > 0.8, `the three cats mostly agree (${perLabel.cat})`);
  const before = (await mia.evaluate(() => polymark.getAnnotations())).objects.length;
  await mia.click('.polymark-quality button[data-action="merge"]');
  await status(mia, /Merged: 1 shapes added/);
  const merged = (await mia.evaluate(() => polymark.getAnnotations())).objects.filter((o) => o.frame === 4 && o.label === 'cat' && o.id.startsWith('consensus'));
  assert.equal(merged.length, 1);
  assert.equal((await mia.evaluate(() => polymark.getAnnotations())).objects.length, before + 1, 'the lone person box is below the quorum');
  const exported = JSON.parse(await mia.evaluate(() => polymark.exportQualityReport('consensus').then((b) => b.text())));
  assert.equal(exported.report.format, 'polymark.consensus-report');
  assert.deepEqual(exported.merged.objects.map((o) => [o.frame, o.label]), [[4, 'cat']]);

  // Close the view (Esc), then Ctrl+Z on the canvas takes the whole merge back.
  await mia.keyboard.press('Escape');
  await until(mia, () => document.querySelector('.polymark-quality').style.display === 'none');
  await mia.mouse.click(5, 400);
  await frames(mia);
  await mia.keyboard.press('Control+z');
  await frames(mia);
  assert.equal((await mia.evaluate(() => polymark.getAnnotations())).objects.length, before);
  await saved(mia);
  await mia.close();
});

test('throughput per person from the history, drawn per day and exported as CSV', async () => {
  const mia = await person('mia', 'manager');
  await openView(mia);
  await tab(mia, 'throughput');
  const rates = await barsOf(mia, 'Objects per active hour');
  assert.ok('ana' in rates && 'ben' in rates, JSON.stringify(rates));
  const csv = await mia.evaluate(() => polymark.exportQualityReport('throughput', { format: 'csv' }).then((b) => b.text()));
  const rows = csv.trim().split('\r\n').map((r) => r.split(','));
  assert.equal(rows[0][0], 'user');
  const anaAll = rows.find((r) => r[0] === 'ana' && r[1] === '(all)');
  assert.equal(Number(anaAll[rows[0].indexOf('created')]), 2);
  // The view's own button downloads the same table.
  const clicked = await mia.evaluate(() => new Promise((resolve) => {
    const original = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () { HTMLAnchorElement.prototype.click = original; resolve(this.download); };
    Array.from(document.querySelectorAll('.polymark-quality button')).find((b) => b.textContent === 'Export CSV').click();
  }));
  assert.equal(clicked, 'test-throughput.csv');
  assert.deepEqual(mia.problems, []);
  await mia.close();
});
