// Saving to the backend (docs/API.md, "Sync"): edits drawn with the real mouse reach a real
// serve.py, survive the server going away and the page reloading (the IndexedDB journal), arrive
// once each, and two devices editing one object end in a conflict the second one is shown.
// Every check reads the server over HTTP from node, or the page through the embedding API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, view, until, decodePng, frames, drag, drawRect, moveShape } from './harness.mjs';

let server; let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); });

const serverDoc = async () => (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document;
const serverHistory = async () => (await (await fetch(`${server.url}/api/tasks/test/history`)).json()).entries;
const status = (page) => page.evaluate(() => polymark.getSyncStatus());
const objects = (page) => page.evaluate(() => polymark.getAnnotations().objects);

// A fresh browser context (its own IndexedDB: another device) with the app's page mounted, the
// `sync` events recorded, and the status settled.
async function device(query = 'task=test') {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  assert.equal(await mountDemo(page, server.url, query), 'ready');
  await page.evaluate(() => { window.syncEvents = []; polymark.on('sync', (e) => syncEvents.push(e)); });
  await waitState(page, 'saved');
  return page;
}

async function waitState(page, state, extra = 'true', timeout = 15000) {
  try {
    await until(page, ([s, x]) => { const st = polymark.getSyncStatus(); return (s === null || st.state === s) && st.localWrites === 0 && eval(x); }, [state, extra], timeout);
  } catch (e) {
    throw new Error(`sync state never became ${state} (${extra}): ${JSON.stringify(await status(page))}`);
  }
}

async function press(page, key) { await page.keyboard.press(key); await frames(page); }

const byId = (list) => Object.fromEntries(list.map((o) => [o.id, o]));

test('a drawn shape is saved to the server, and the status goes saving then saved', async () => {
  const page = await device();
  const before = (await serverDoc()).objects.length;
  await drawRect(page, [60, 60], [160, 140]);
  const [drawn] = (await objects(page)).slice(-1);
  await waitState(page, 'saved', 'st.pending === 0');
  const doc = await serverDoc();
  assert.equal(doc.objects.length, before + 1);
  assert.deepEqual(byId(doc.objects)[drawn.id], drawn);
  const states = await page.evaluate(() => syncEvents.map((e) => e.state));
  assert.ok(states.indexOf('saving') >= 0 && states.lastIndexOf('saved') > states.indexOf('saving'), states.join(','));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('edits made while the server is down wait as pending and all arrive after it restarts', async () => {
  const page = await device();
  await server.halt();
  await drawRect(page, [200, 60], [300, 140]);
  await drawRect(page, [200, 200], [300, 280]);
  await moveShape(page, [250, 100], [280, 130]);  // the first one
  await press(page, 'Control+z');
  await press(page, 'Control+Shift+z');
  await page.evaluate(() => polymark.flush());
  await waitState(page, 'offline', 'st.pending > 0');
  const offline = await status(page);
  assert.ok(offline.pending >= 2, JSON.stringify(offline));
  assert.ok(offline.message, 'an offline status says why');
  await server.resume();
  await page.mouse.click(5, 400);  // focus the canvas for the shortcut (an empty spot)
  await press(page, 'Control+s');
  await waitState(page, 'saved', 'st.pending === 0');
  const local = await objects(page);
  assert.deepEqual((await serverDoc()).objects, local);
  const ids = local.map((o) => o.id);
  const moved = local.find((o) => Math.abs(o.points[0] - 230) < 2);
  assert.ok(moved, 'the move (undone and redone) reached the server: ' + JSON.stringify(local));
  assert.equal(new Set(ids).size, ids.length);
  await page.context().close();
});

test('edits made offline survive a reload with the server still down, then arrive once each', async () => {
  const page = await device();
  // Offline start-up (the service worker) must be ready, or the reload cannot load the app.
  const offline = await page.evaluate(async () => {
    for (let i = 0; i < 600; i++) {
      const s = await polymark.getStorage();
      if (s.offline.state !== 'installing') return s.offline.state;
      await new Promise((r) => setTimeout(r, 100));
    }
    return 'installing';
  });
  assert.equal(offline, 'ready');
  await server.halt();
  await drawRect(page, [350, 60], [450, 140]);
  await drawRect(page, [350, 200], [450, 280]);
  await waitState(page, null, 'st.pending === 2');  // stored locally (localWrites 0), not on the server
  const drawn = (await objects(page)).slice(-2);
  await page.reload();
  assert.equal(await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code)), 'ready');
  const restored = byId(await objects(page));
  for (const o of drawn) assert.deepEqual(restored[o.id], o, 'restored from the journal: ' + o.id);
  assert.equal((await status(page)).pending, 2);
  await server.resume();
  await page.evaluate(() => polymark.flush());
  await waitState(page, 'saved', 'st.pending === 0');
  const doc = byId((await serverDoc()).objects);
  for (const o of drawn) assert.deepEqual(doc[o.id], o);
  const history = await serverHistory();
  const opIds = history.map((e) => e.op_id);
  assert.equal(new Set(opIds).size, opIds.length, 'no op applied twice');
  for (const o of drawn) assert.equal(history.filter((e) => e.id === o.id).length, 1, 'one change for ' + o.id);
  assert.deepEqual((await serverDoc()).objects, await objects(page));
  await page.context().close();
});

test('two devices editing one object: the second one is held in conflict and shown both values', async () => {
  const first = await device();
  await drawRect(first, [60, 300], [160, 380]);
  await waitState(first, 'saved', 'st.pending === 0');
  const [shared] = (await objects(first)).slice(-1);
  const second = await device();
  assert.deepEqual(byId(await objects(second))[shared.id], shared);
  await moveShape(first, [110, 340], [130, 340]);
  await waitState(first, 'saved', 'st.pending === 0');
  await moveShape(second, [110, 340], [110, 370]);
  await second.evaluate(() => polymark.flush());
  await waitState(second, 'conflict', 'st.conflicts === 1');
  const st = await status(second);
  assert.equal(st.conflictList.length, 1);
  const [c] = st.conflictList;
  assert.equal(c.id, shared.id);
  const onServer = byId((await serverDoc()).objects)[shared.id];
  const mine = byId(await objects(second))[shared.id];
  assert.deepEqual(c.theirs, onServer);
  assert.deepEqual(c.mine, mine);
  assert.notDeepEqual(c.mine, c.theirs);
  assert.ok(Math.abs(onServer.points[0] - 80) < 2 && Math.abs(onServer.points[1] - 300) < 2, 'the first device\'s move stayed on the server: ' + JSON.stringify(onServer));
  assert.equal((await status(first)).state, 'saved');
  // The server's version is drawn dashed (magenta) over the canvas: sampled along its top edge.
  const edge = async () => {
    await frames(second);
    const png = decodePng(await second.screenshot());
    const v = await view(second);
    const [x0, y0, x1] = onServer.points;
    const out = [];
    for (let x = x0 + 4; x < x1 - 4; x += 1) {
      const i = (Math.round(v.offsetY + y0 * v.zoom) * png.width + Math.round(v.offsetX + x * v.zoom)) * 4;
      out.push([png.rgba[i], png.rgba[i + 1], png.rgba[i + 2]]);
    }
    return out;
  };
  const magenta = (px) => px.filter(([r, g, b]) => r > 200 && g < 120 && b > 200).length;
  const withConflict = await edge();
  assert.ok(magenta(withConflict) > 10, 'the server\'s version is drawn dashed: ' + magenta(withConflict));
  // Keeping mine sends it again, based on the server's revision: it lands, and the conflict ends.
  await second.evaluate((id) => polymark.resolveConflict(id, 'mine'), shared.id);
  await waitState(second, 'saved', 'st.pending === 0 && st.conflicts === 0');
  assert.deepEqual(byId((await serverDoc()).objects)[shared.id], mine);
  const resolved = await edge();
  assert.equal(magenta(resolved), 0, 'no dashed version once the conflict is resolved');
  const changed = resolved.filter((px, i) => px.reduce((d, c, k) => d + Math.abs(c - withConflict[i][k]), 0) > 90).length;
  assert.ok(changed > 10, 'the dashes were over the canvas, not the image: ' + changed);
  const again = await second.evaluate((id) => { try { polymark.resolveConflict(id, 'mine'); return 'resolved'; } catch (e) { return e.code; } }, shared.id);
  assert.equal(again, 'not_found');
  await first.context().close();
  await second.context().close();
});

test('a track both devices changed: their shape on this frame is drawn dashed, and taking theirs puts it in the document', async () => {
  const first = await device();
  await first.evaluate(() => polymark.setTool('rectangle', 'cat', { track: true }));
  await drag(first, [300, 60], [400, 140]);
  await first.evaluate(() => polymark.setTool('select'));
  await waitState(first, 'saved', 'st.pending === 0');
  const tracks = (page) => page.evaluate(() => polymark.getAnnotations().tracks);
  const [shared] = (await tracks(first)).slice(-1);
  const second = await device();
  await moveShape(first, [350, 100], [350, 130]);
  await waitState(first, 'saved', 'st.pending === 0');
  await moveShape(second, [350, 100], [390, 100]);
  await second.evaluate(() => polymark.flush());
  await waitState(second, 'conflict', 'st.conflicts === 1');
  const [c] = (await status(second)).conflictList;
  assert.equal(c.kind, 'track');
  assert.equal(c.id, shared.id);
  const theirs = byId((await serverDoc()).tracks)[shared.id];
  assert.deepEqual(c.theirs, theirs);
  const [x0, y0, x1] = theirs.keyframes[0].points;
  assert.ok(Math.abs(y0 - 90) < 2, 'the first device moved it down: ' + JSON.stringify(theirs.keyframes[0].points));
  // Their keyframe's top edge, dashed in magenta (the local shape is 30 px higher and 40 px right).
  const magentaOnEdge = async () => {
    await frames(second);
    const png = decodePng(await second.screenshot());
    const v = await view(second);
    let n = 0;
    for (let x = x0 + 4; x < x1 - 4; x += 1) {
      const i = (Math.round(v.offsetY + y0 * v.zoom) * png.width + Math.round(v.offsetX + x * v.zoom)) * 4;
      if (png.rgba[i] > 200 && png.rgba[i + 1] < 120 && png.rgba[i + 2] > 200) n++;
    }
    return n;
  };
  assert.ok(await magentaOnEdge() > 10, 'their track is drawn dashed');
  await second.evaluate((id) => polymark.resolveConflict(id, 'theirs'), shared.id);
  await waitState(second, 'saved', 'st.pending === 0 && st.conflicts === 0');
  assert.deepEqual(byId(await tracks(second))[shared.id], theirs, 'taking theirs puts the server\'s track in the document');
  assert.deepEqual(byId((await serverDoc()).tracks)[shared.id], theirs, 'and leaves the server as it was');
  assert.equal(await magentaOnEdge(), 0);
  await first.context().close();
  await second.context().close();
});

test('when the wasm instance aborts, the same instance starts again and replays the journal', async () => {
  const page = await device();
  await until(page, () => polymark.getStorage().then((s) => s.offline.state !== 'installing'), undefined, 60000);
  // The restart below happens with the server down, so it needs what the service worker keeps:
  // wait until the worker controls the page and holds the task, its annotations and the image
  // (its warm-up runs after install; under load it can end after the state has settled).
  await until(page, async () => {
    if (!navigator.serviceWorker.controller) return false;
    const api = await caches.open('polymark:api@/');
    const media = await caches.open('polymark:media@/');
    return !!(await api.match('/api/tasks/test')) && !!(await api.match('/api/tasks/test/annotations'))
      && !!(await media.match('/media/test/astronaut.png'));
  }, undefined, 60000);
  await server.halt();
  await drawRect(page, [360, 380], [460, 460]);
  await waitState(page, null, 'st.pending === 1');
  const [drawn] = (await objects(page)).slice(-1);
  await page.evaluate(() => { window.errors = []; polymark.on('error', (e) => errors.push(e)); window.before = polymark.canvas; polymark.debugAbort(); });
  await until(page, () => {
    try { return polymark.canvas !== window.before && polymark.getView().frameShown; } catch (e) { return false; }
  }, undefined, 60000);  // a fresh wasm instance, compiled and started while other suites load the machine
  const aborted = await page.evaluate(() => errors.filter((e) => e.code === 'aborted'));
  assert.equal(aborted.length, 1);
  assert.equal(aborted[0].fatal, false);
  assert.deepEqual(byId(await objects(page))[drawn.id], drawn, 'the journal was replayed into the fresh instance');
  await server.resume();
  await page.evaluate(() => polymark.flush());
  await waitState(page, 'saved', 'st.pending === 0');
  assert.deepEqual(byId((await serverDoc()).objects)[drawn.id], drawn);
  const opIds = (await serverHistory()).map((e) => e.op_id);
  assert.equal(new Set(opIds).size, opIds.length);
  await page.context().close();
});

test('a second tab of the same task is read-only until the first one closes, then takes over', async () => {
  const first = await device();
  const second = await first.context().newPage();
  second.problems = [];
  assert.equal(await mountDemo(second, server.url), 'ready');
  await until(second, () => polymark.getSyncStatus().state === 'read-only');
  assert.equal((await status(second)).message, 'open in another tab');
  const before = (await objects(second)).length;
  await drawRect(second, [300, 300], [340, 340]);
  assert.equal((await objects(second)).length, before, 'a read-only tab makes no edit');
  await first.close();
  await waitState(second, 'saved');
  await drawRect(second, [300, 300], [340, 340]);
  const [drawn] = (await objects(second)).slice(-1);
  await waitState(second, 'saved', 'st.pending === 0');
  assert.deepEqual(byId((await serverDoc()).objects)[drawn.id], drawn);
  await second.context().close();
});

test('with token auth: saves carry the token, a refused token means needs-auth until setToken, and the journal never holds it', async () => {
  const TOKEN = 'tok-' + Math.random().toString(36).slice(2);
  const guarded = await startServer({ args: ['--token', TOKEN] });
  try {
    const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
    await page.goto(`${guarded.url}/?task=unused&offline=0`);
    await page.evaluate(() => window.polymarkMount.catch(() => {}));
    const mounted = await page.evaluate(async (t) => {
      document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
      try { window.polymark = await Polymark.mount('#host', { task: 'test', token: t, user: 'ann', sync: { debounceMs: 200 } }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
    }, TOKEN);
    assert.equal(mounted, 'ready');
    await waitState(page, 'saved');
    await page.evaluate(() => polymark.setToken('not-the-token'));
    await drawRect(page, [40, 40], [90, 90]);
    await waitState(page, 'needs-auth', 'st.pending === 1');
    const journal = await page.evaluate(() => new Promise((resolve) => {
      const open = indexedDB.open('polymark-sync');
      open.onsuccess = () => { const all = open.result.transaction('journal').objectStore('journal').getAll(); all.onsuccess = () => resolve(all.result); };
    }));
    assert.ok(journal.length >= 1);
    assert.ok(journal.every((t) => !t.includes(TOKEN) && !t.includes('not-the-token')), 'no token in the journal');
    await page.evaluate((t) => polymark.setToken(t), TOKEN);
    await waitState(page, 'saved', 'st.pending === 0');
    const doc = await (await fetch(`${guarded.url}/api/tasks/test/annotations`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    const [drawn] = (await objects(page)).slice(-1);
    assert.deepEqual(byId(doc.document.objects)[drawn.id], drawn);
    const history = await (await fetch(`${guarded.url}/api/tasks/test/history`, { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
    assert.equal(history.entries.find((e) => e.id === drawn.id).user, 'ann');
    await page.context().close();
  } finally {
    await guarded.stop();
  }
});

test('sync: false keeps every edit in the page: nothing is sent, the status is off', async () => {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/?task=unused&offline=0`);
  await page.evaluate(() => window.polymarkMount.catch(() => {}));
  const requests = [];
  page.on('request', (r) => { if (r.method() !== 'GET' || r.url().includes('since=')) requests.push(r.method() + ' ' + r.url()); });
  const mounted = await page.evaluate(async () => {
    document.body.innerHTML = '<div id="host" style="position:fixed;inset:0"></div>';
    try { window.polymark = await Polymark.mount('#host', { task: 'test', sync: false }); return 'ready'; } catch (e) { return e.code; }
  });
  assert.equal(mounted, 'ready');
  const before = (await serverDoc()).objects.length;
  const local = (await objects(page)).length;
  await drawRect(page, [10, 470], [40, 500]);
  assert.equal((await objects(page)).length, local + 1, 'the edit was made');
  await page.evaluate(() => polymark.flush());
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await status(page)).state, 'off');
  assert.equal((await serverDoc()).objects.length, before);
  assert.deepEqual(requests, []);
  await page.context().close();
});
