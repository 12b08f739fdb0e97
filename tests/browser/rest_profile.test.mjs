// The same editing flow against a backend nobody here wrote: json-server 0.17.4 from npm, reached
// through the built-in `rest` profile (profiles/rest.json) and no code of ours on its side. Shapes
// drawn and moved with the real mouse arrive in json-server's collections; json-server stopped
// mid-session holds the edits in the journal until it is back; a change another client makes in
// json-server reaches the page (the profile states last-writer-wins, and the status bar says so).
// Every check reads json-server over HTTP from node, or the page through the embedding API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, mountDemo, repo, until, frames, drawRect, moveShape, plainPath } from './harness.mjs';

const JSON_SERVER = path.join(repo, 'node_modules', '.bin', 'json-server');
let server; let browser; let rest; let task;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

// json-server on a fixed port and db.json, so that it can be stopped and started again on both.
async function startJsonServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-json-server-'));
  const db = path.join(dir, 'db.json');
  fs.writeFileSync(db, JSON.stringify({ objects: [], tracks: [] }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc = null;
  const launch = async () => {
    proc = spawn(JSON_SERVER, [db, '--port', String(port), '--host', '127.0.0.1', '--quiet'], { cwd: dir, stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      try { if ((await fetch(`${url}/db`)).ok) return; } catch { /* not up yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('json-server did not start');
  };
  await launch();
  return {
    url,
    db: async () => (await fetch(`${url}/db`)).json(),
    async halt() { const p = proc; if (p && p.exitCode === null && p.signalCode === null) await new Promise((r) => { p.once('exit', r); p.kill(); }); },
    resume: launch,
    async stop() { await this.halt(); fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }); },
  };
}

before(async () => {
  assert.ok(fs.existsSync(JSON_SERVER), 'json-server is installed by the setup (npm)');
  server = await startServer();
  rest = await startJsonServer();
  browser = await launchBrowser();
  // The test task, with its media at absolute URLs on serve.py: the backend is json-server.
  task = await (await fetch(`${server.url}/api/tasks/test`)).json();
  task.id = 'rest-test';
  for (const m of task.media) m.url = new URL(m.url, server.url + '/').href;
});
after(async () => { await browser?.close(); await rest?.stop(); await server?.stop(); });

async function open() {
  const page = await openPage(browser, `${server.url}/?task=test`, { viewport: { width: 1280, height: 800 } });
  await page.evaluate(() => window.polymarkMount.then(() => polymark.destroy()));
  const outcome = await page.evaluate(async ({ t, backend }) => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    window.syncEvents = [];
    window.errors = [];
    try {
      window.polymark = await Polymark.mount('#host', {
        taskObject: t, backend, profile: 'rest', offline: false,
        sync: { debounceMs: 100, backoffBaseMs: 200, backoffMaxMs: 1000, catchupIntervalMs: 500 },
      });
      polymark.on('sync', (e) => syncEvents.push(e));
      polymark.on('error', (e) => errors.push(e));
      return 'ready';
    } catch (e) { return e.code + ': ' + e.message; }
  }, { t: task, backend: rest.url });
  assert.equal(outcome, 'ready');
  return page;
}

async function waitSaved(page, extra = 'true', timeout = 20000) {
  try {
    await until(page, (x) => { const st = polymark.getSyncStatus(); return st.state === 'saved' && st.pending === 0 && st.localWrites === 0 && eval(x); }, extra, timeout);
  } catch {
    throw new Error(`never saved (${extra}): ${JSON.stringify(await page.evaluate(() => polymark.getSyncStatus()))}`);
  }
}

const objects = (page) => page.evaluate(() => polymark.getAnnotations().objects);

// The code that runs profiles is a module of its own (polymark_profile.wasm): a labeler's first
// load without a profile never fetches it.
test('only a mount with a profile fetches the profile module, once per page, and it refuses an invalid profile by path', async () => {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  const requests = [];
  page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  assert.equal(await mountDemo(page, server.url), 'ready');
  const fetched = (name) => requests.filter((p) => plainPath(p).endsWith('/' + name)).length;
  assert.equal(fetched('polymark_profile.js') + fetched('polymark_profile.wasm'), 0, 'a mount without a profile loaded the profile module');

  const mount = (profile) => page.evaluate(async ({ t, backend, profile }) => {
    await polymark.destroy();
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try {
      window.polymark = await Polymark.mount('#host', { taskObject: t, backend, profile, offline: false });
      return { ok: true, sync: polymark.getSyncStatus().profile };
    } catch (e) { return { ok: false, code: e.code, message: e.message, where: e.where }; }
  }, { t: task, backend: rest.url, profile });
  assert.deepEqual(await mount('rest'), { ok: true, sync: 'rest' });
  assert.equal(fetched('polymark_profile.js'), 1);
  assert.equal(fetched('polymark_profile.wasm'), 1);

  const broken = JSON.parse(fs.readFileSync(path.join(repo, 'profiles', 'rest.json'), 'utf8'));
  broken.load.method = 42;
  const refused = await mount(broken);
  assert.equal(refused.ok, false);
  assert.match(refused.message, /the backend profile is invalid at \/load\/method/);
  assert.equal(refused.where, 'options.profile/load/method');
  assert.equal(fetched('polymark_profile.js'), 1, 'the module is loaded once per page');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('shapes drawn, moved and deleted with the mouse and keys arrive in json-server through the rest profile', async () => {
  const page = await open();
  const status = await page.evaluate(() => polymark.getSyncStatus());
  assert.equal(status.profile, 'rest');
  assert.match(status.lastWriterWins, /last save of an item wins/, 'the profile states what it cannot guarantee');

  await drawRect(page, [60, 60], [160, 140]);
  await drawRect(page, [220, 80], [300, 200]);
  await waitSaved(page);
  let db = await rest.db();
  const mine = await objects(page);
  assert.equal(db.objects.length, 2);
  for (const o of mine) {
    const stored = db.objects.find((x) => x.id === o.id);
    assert.ok(stored, `${o.id} is in json-server`);
    assert.deepEqual(stored.points, o.points);
    assert.equal(stored.label, 'cat');
  }

  await moveShape(page, [110, 100], [140, 130]);
  const moved = (await objects(page))[0];
  assert.notDeepEqual(moved.points, mine[0].points);
  await waitSaved(page);
  db = await rest.db();
  assert.deepEqual(db.objects.find((x) => x.id === moved.id).points, moved.points);

  await page.keyboard.press('Delete');
  await frames(page);
  await waitSaved(page);
  db = await rest.db();
  assert.deepEqual(db.objects.map((x) => x.id), [mine[1].id]);
  assert.deepEqual(await page.evaluate(() => errors), []);
  await page.close();
});

test('json-server stopped mid-session: edits wait in the journal, then all arrive once it is back', async () => {
  const page = await open();
  await waitSaved(page);
  const before = (await rest.db()).objects.length;
  await rest.halt();
  await drawRect(page, [60, 300], [140, 380]);
  await drawRect(page, [200, 300], [280, 380]);
  await until(page, () => polymark.getSyncStatus().state === 'offline', undefined, 15000);
  assert.equal((await page.evaluate(() => polymark.getSyncStatus())).pending, 2);
  await drawRect(page, [320, 300], [400, 380]);
  await rest.resume();
  await page.evaluate(() => polymark.flush());
  await waitSaved(page);
  const db = await rest.db();
  const ids = (await objects(page)).map((o) => o.id);
  assert.equal(db.objects.length, before + 3, 'three new objects, none twice');
  assert.deepEqual(db.objects.map((o) => o.id).sort(), ids.sort(), 'json-server holds exactly what the page holds');
  await page.close();
});

test('a change another client makes in json-server reaches the page at the next catch-up', async () => {
  const page = await open();
  await waitSaved(page);
  const [first] = await objects(page);
  const changed = { ...first, points: [10, 10, 50, 50] };
  const r = await fetch(`${rest.url}/objects/${encodeURIComponent(first.id)}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(changed) });
  assert.equal(r.status, 200);
  await until(page, (id) => { const o = polymark.getAnnotations().objects.find((x) => x.id === id); return o && o.points[2] === 50; }, first.id, 15000);
  await page.close();
  // A new page reads json-server's state through the profile.
  const again = await open();
  await waitSaved(again);
  const db = await rest.db();
  assert.deepEqual((await objects(again)).map((o) => o.id).sort(), db.objects.map((o) => o.id).sort());
  await again.close();
});
