// A task whose stored annotations hold one object no reader can take (a 309-digit coordinate, as
// serve.py stored it before docs/SCHEMA.md section 12) still opens: the good objects are listed and
// editable with the real mouse, the bad one is named in a notice and an `error` event and stays on
// the server. And setAnnotations refuses what the server would refuse (meta 990 deep) with its code
// and pointer, while later edits keep being saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, view, until, decodePng, noticeShownIn, moveShape } from './harness.mjs';

let server; let browser; let tmp; let db;
const rect = (id, x, y) => ({ id, type: 'rectangle', frame: 0, label: 'cat', points: [x, y, x + 100, y + 80] });
const HUGE = '1' + '0'.repeat(309);

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-bad-data-'));
  db = path.join(tmp, 'db.sqlite');
  server = await startServer({ args: ['--db', db] });  // the last --db wins: a database this test can open
  browser = await launchBrowser();
  const operations = [rect('good1', 60, 60), rect('bad', 200, 60), rect('good2', 300, 250)].map((value, n) =>
    ({ op_id: 'seed' + n, kind: 'object', op: 'create', id: value.id, value }));
  const reply = await fetch(`${server.url}/api/tasks/test/annotations`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ base_revision: 0, user: 'seed', device: 'seed', operations }),
  });
  assert.equal(reply.status, 200, await reply.text());
  // What an older serve.py stored for a PATCH carrying this coordinate (compact JSON of Python's int).
  const stored = '{"id":"bad","type":"rectangle","frame":0,"label":"cat","points":[200,60,' + HUGE + ',140]}';
  execFileSync('python3', ['-c', `import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
with conn:
    assert conn.execute("UPDATE items SET value = ? WHERE task_id = 'test' AND id = 'bad'", (sys.argv[2],)).rowcount == 1
conn.close()`, db, stored]);
});
after(async () => { await browser?.close(); await server?.stop(); fs.rmSync(tmp, { recursive: true, force: true }); });

const serverObjects = async () => (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document.objects;
const byId = (list) => Object.fromEntries(list.map((o) => [o.id, o]));

async function saved(page) {
  await until(page, () => { const s = polymark.getSyncStatus(); return s.state === 'saved' && s.pending === 0 && s.localWrites === 0; }, undefined, 15000);
}

async function noticeShown(page) {
  return noticeShownIn(decodePng(await page.screenshot()), await view(page));
}

test('a task with one unreadable object opens with the others editable, names it, and keeps it on the server', async () => {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  // Listen the way a host does, in the mount promise's own callback: what was found while loading
  // is told just after it resolves (the page's script mounts as it loads, so wrap mount first).
  await page.addInitScript(() => {
    let api;
    Object.defineProperty(window, 'Polymark', {
      configurable: true,
      get: () => api,
      set: (value) => {
        const mount = value.mount;
        value.mount = (element, options) => mount(element, options).then((instance) => {
          window.errors = [];
          instance.on('error', (e) => window.errors.push(e));
          return instance;
        });
        api = value;
      },
    });
  });
  await page.goto(`${server.url}/?task=test`);
  const mounted = await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code + ' ' + e.message));
  assert.equal(mounted, 'ready');
  await until(page, () => errors.length >= 1);
  const errors = await page.evaluate(() => errors);
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.equal(errors[0].fatal, false);
  assert.equal(errors[0].code, 'out_of_range');
  assert.equal(errors[0].where, '/objects/1/points/2');
  assert.deepEqual(errors[0].skipped, { kind: 'object', id: 'bad', path: '/objects/1' });
  assert.match(errors[0].message, /"bad"/);
  assert.equal(await noticeShown(page), true);
  assert.deepEqual((await page.evaluate(() => polymark.getAnnotations().objects)).map((o) => o.id), ['good1', 'good2']);
  await saved(page);

  await moveShape(page, [110, 100], [150, 130]);
  await until(page, () => polymark.getAnnotations().objects[0].points[0] !== 60);
  const moved = (await page.evaluate(() => polymark.getAnnotations().objects))[0];
  assert.ok(Math.abs(moved.points[0] - 100) < 3 && Math.abs(moved.points[1] - 90) < 3, JSON.stringify(moved.points));
  await saved(page);
  const onServer = byId(await serverObjects());
  assert.deepEqual(onServer.good1.points, moved.points);
  assert.deepEqual(Object.keys(onServer).sort(), ['bad', 'good1', 'good2'], 'the object left out is not deleted by later saves');
  assert.equal(onServer.bad.points[2], Infinity);  // still the stored 309-digit number
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('setAnnotations refuses meta 990 deep with its code and pointer, and later edits are still saved', async () => {
  // Without the unreadable object, so that only setAnnotations is on trial here.
  const head = await fetch(`${server.url}/api/tasks/test/annotations`);
  const revision = (await head.json()).revision;
  const removal = await fetch(`${server.url}/api/tasks/test/annotations`, {
    method: 'PATCH', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ base_revision: revision, user: 'seed', device: 'seed', operations: [{ op_id: 'unseed', kind: 'object', op: 'delete', id: 'bad' }] }),
  });
  assert.equal(removal.status, 200, await removal.text());
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/?task=test`);
  assert.equal(await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code)), 'ready');
  await saved(page);
  const refusal = await page.evaluate(() => {
    const doc = polymark.getAnnotations();
    const meta = {};
    let level = meta;
    for (let i = 1; i < 990; i++) { level.k = {}; level = level.k; }
    doc.objects[0].meta = meta;
    try { polymark.setAnnotations(doc); return null; } catch (e) { return { code: e.code, details: e.details }; }
  });
  assert.ok(refusal, 'setAnnotations accepted meta nested 990 deep');
  assert.equal(refusal.code, 'invalid_document');
  assert.equal(refusal.details[0].code, 'too_deep');
  assert.equal(refusal.details[0].path, '/objects/0/meta' + '/k'.repeat(61));
  assert.equal(await page.evaluate(() => polymark.getAnnotations().objects[0].meta), undefined);

  // Deeper than the page's own JSON.stringify can go, and a cycle: a PolymarkError, not a RangeError.
  const unwritable = await page.evaluate(() => {
    const out = [];
    const deep = polymark.getAnnotations();
    let level = deep.meta = {};
    for (let i = 0; i < 200000; i++) { level.k = {}; level = level.k; }
    const cyclic = polymark.getAnnotations();
    cyclic.meta = { self: null }; cyclic.meta.self = cyclic.meta;
    for (const doc of [deep, cyclic]) {
      try { polymark.setAnnotations(doc); out.push('accepted'); } catch (e) { out.push(e.name + ' ' + e.code); }
    }
    return out;
  });
  assert.deepEqual(unwritable, ['PolymarkError invalid_document', 'PolymarkError invalid_document']);

  const before = byId(await serverObjects()).good2.points;
  await moveShape(page, [350, 290], [380, 310]);
  await until(page, (x) => polymark.getAnnotations().objects[1].points[0] !== x, before[0]);
  await saved(page);
  const after = byId(await serverObjects()).good2.points;
  assert.ok(Math.abs(after[0] - (before[0] + 30)) < 3 && Math.abs(after[1] - (before[1] + 20)) < 3, JSON.stringify(after));
  assert.notEqual((await page.evaluate(() => polymark.getSyncStatus())).state, 'error');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
