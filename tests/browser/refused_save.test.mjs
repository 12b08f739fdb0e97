// A save the server refuses for its content (docs/API.md, "Sync", set aside): a real serve.py with
// a small --max-body refuses one object whose meta is too large even alone (413 at a batch of one
// op). That object is set aside and listed; shapes drawn with the real mouse before and after it
// still reach the server (read back over HTTP), and a reload keeps the refused one listed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, until, decodePng, drawRect } from './harness.mjs';

const MAX_BODY = 4096;
let server; let browser;
before(async () => {
  server = await startServer({ args: ['--max-body', String(MAX_BODY)] });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); });

const serverDoc = async () => (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document;
const serverIds = async () => (await serverDoc()).objects.map((o) => o.id);
const status = (page) => page.evaluate(() => polymark.getSyncStatus());
const objects = (page) => page.evaluate(() => polymark.getAnnotations().objects);

async function waitStatus(page, condition, what, timeout = 20000) {
  try {
    await until(page, (x) => { const st = polymark.getSyncStatus(); return st.localWrites === 0 && eval(x); }, condition, timeout);
  } catch (e) {
    throw new Error(`${what} never happened: ${JSON.stringify(await status(page))}`);
  }
}

// The set-aside window (dark red, client/ui/workspace.cpp) under the toolbar at the top left.
async function setAsidePanelShown(page) {
  const shot = decodePng(await page.screenshot({ clip: { x: 0, y: 34, width: 300, height: 120 } }));
  let red = 0;
  for (let i = 0; i < shot.rgba.length; i += 4) {
    const [r, g, b] = [shot.rgba[i], shot.rgba[i + 1], shot.rgba[i + 2]];
    if (Math.abs(r - 110) <= 12 && Math.abs(g - 28) <= 12 && Math.abs(b - 36) <= 12) ++red;
  }
  return red > 2000;
}

test('an object too large for the server is set aside and listed while shapes drawn before and after it are saved, across a reload', async () => {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  assert.equal(await mountDemo(page, server.url), 'ready');
  await waitStatus(page, "st.state === 'saved'", 'the first save');
  assert.equal(await setAsidePanelShown(page), false);

  await drawRect(page, [300, 300], [350, 340]);
  const [first] = (await objects(page)).slice(-1);
  await waitStatus(page, "st.state === 'saved'", 'saving the first shape');
  assert.ok((await serverIds()).includes(first.id));

  // One object whose meta alone is larger than the server takes: added through the embedding
  // API (a portal's setAnnotations), saved like any edit.
  const big = { ...first, id: 'too-big', points: [380, 300, 430, 340], meta: { note: 'n'.repeat(2 * MAX_BODY) } };
  await page.evaluate((o) => {
    const doc = polymark.getAnnotations();
    doc.objects.push(o);
    polymark.setAnnotations(doc);
  }, big);
  await page.evaluate(() => polymark.flush());

  // The save after it goes through, refused object or not (read back from the server).
  await drawRect(page, [300, 400], [350, 440]);
  const [second] = (await objects(page)).slice(-1);
  await page.evaluate(() => polymark.flush());
  const deadline = Date.now() + 20000;
  while (!(await serverIds()).includes(second.id)) {
    if (Date.now() > deadline) assert.fail(`the shape drawn after the refused one never reached the server: ${JSON.stringify(await status(page))}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await waitStatus(page, `st.state === 'set-aside' && st.pending === 0 && st.set_aside === 1`, 'setting the refused object aside');
  const ids = await serverIds();
  assert.ok(ids.includes(first.id) && ids.includes(second.id), JSON.stringify(ids));
  assert.ok(!ids.includes('too-big'));

  const st = await status(page);
  assert.equal(st.setAsideList.length, 1);
  const [entry] = st.setAsideList;
  assert.equal(entry.kind, 'object');
  assert.equal(entry.id, 'too-big');
  assert.equal(entry.label, first.label);
  assert.equal(entry.code, 'too_large');
  assert.ok(entry.message.length > 0 && typeof entry.op_id === 'string' && typeof entry.path === 'string', JSON.stringify(entry));
  assert.ok((await objects(page)).some((o) => o.id === 'too-big'), 'kept in the local document');
  await until(page, () => true);
  assert.equal(await setAsidePanelShown(page), true, 'the page lists the refused change');

  // A reload (the IndexedDB journal) keeps it listed, and in the document, and still unsent.
  await page.reload();
  assert.equal(await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code)), 'ready');
  await waitStatus(page, "st.state === 'set-aside'", 'the set-aside item after the reload');
  const reloaded = await status(page);
  assert.deepEqual(reloaded.setAsideList.map((e) => [e.id, e.code]), [['too-big', 'too_large']]);
  assert.ok((await objects(page)).some((o) => o.id === 'too-big'));
  assert.equal(await setAsidePanelShown(page), true);

  // Drawn after the reload: saved too.
  await drawRect(page, [380, 400], [430, 440]);
  const [third] = (await objects(page)).slice(-1);
  await waitStatus(page, `st.state === 'set-aside' && st.pending === 0`, 'saving after the reload');
  assert.ok((await serverIds()).includes(third.id));

  // Discarded: the object goes back to the server's version (it never existed there).
  await page.evaluate(() => polymark.discardSetAside('too-big'));
  await waitStatus(page, "st.state === 'saved' && st.set_aside === 0", 'discarding');
  assert.ok(!(await objects(page)).some((o) => o.id === 'too-big'));
  assert.deepEqual(await objects(page), (await serverDoc()).objects);
  assert.equal(await setAsidePanelShown(page), false);
  assert.deepEqual(page.problems.filter((p) => !p.includes('413')), []);
  await page.context().close();
});
