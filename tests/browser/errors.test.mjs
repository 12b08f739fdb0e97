// Bad input never crashes the app: missing and corrupt images, invalid documents, NaN
// coordinates, unknown tasks and tasks with wrong types each give a readable error that names
// what and where, in the UI and through the error event, and the app keeps running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, view, until, decodePng, noticeShownIn } from './harness.mjs';

let server; let browser; let page;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser);
  assert.equal(await mountDemo(page, server.url), 'ready');
  await page.evaluate(() => { window.errors = []; polymark.on('error', (e) => errors.push(e)); });
});
after(async () => { await browser?.close(); await server?.stop(); });

async function noticeShown() {
  return noticeShownIn(decodePng(await page.screenshot()), await view(page));
}

test('a corrupt image gives an error naming the file, in the UI and as an event', async () => {
  assert.equal(await noticeShown(), false);
  await page.evaluate(() => polymark.setFrame(2));
  await until(page, () => errors.length === 1);
  const [e] = await page.evaluate(() => errors);
  assert.equal(e.code, 'decode_failed');
  assert.match(e.where, /\/media\/test\/corrupt\.jpg$/);
  assert.match(e.message, /corrupt\.jpg/);
  assert.equal(e.fatal, false);
  assert.equal(await noticeShown(), true);
});

test('a missing image gives a not_found error naming its URL', async () => {
  await page.evaluate(() => polymark.setFrame(3));
  await until(page, () => errors.length === 2);
  const e = await page.evaluate(() => errors[1]);
  assert.equal(e.code, 'not_found');
  assert.match(e.where, /gone\.png$/);
});

test('after bad media the app keeps running and shows good images again', async () => {
  await page.evaluate(() => polymark.setFrame(4));
  await until(page, () => polymark.getView().imageWidth === 600);
  await page.evaluate(() => polymark.setFrame(0));
  await until(page, () => polymark.getView().imageWidth === 512);
  // The only console line allowed is Chromium's own report of the deliberately missing file.
  const unexpected = page.problems.filter((p) => !/404 \(Not Found\) .*\/media\/test\/gone\.png$/.test(p));
  assert.deepEqual(unexpected, []);
});

test('an invalid document is refused with its JSON pointer and the current one is kept', async () => {
  const good = { format: 'polymark.annotations', version: 1, objects: [
    { id: 'o1', type: 'polygon', frame: 0, label: 'cat', points: [10.25, 20.5, 300.125, 40, 1234.5678901234567, 400] }] };
  await page.evaluate((d) => polymark.setAnnotations(d), good);
  const bad = await page.evaluate(() => {
    try {
      polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [{ id: 'o2', type: 'polygon', frame: 0, label: 'cat', points: [1, 2, 3] }] });
      return null;
    } catch (e) { return { name: e.name, code: e.code, details: e.details, message: e.message }; }
  });
  assert.equal(bad.name, 'PolymarkError');
  assert.equal(bad.code, 'invalid_document');
  assert.equal(bad.details[0].code, 'bad_points');
  assert.equal(bad.details[0].path, '/objects/0/points');
  assert.match(bad.message, /\/objects\/0/);
  const kept = await page.evaluate(() => polymark.getAnnotations());
  assert.deepEqual(kept.objects[0].points, good.objects[0].points);
});

test('NaN coordinates are refused naming the coordinate', async () => {
  const err = await page.evaluate(() => {
    try {
      polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [{ id: 'r', type: 'rectangle', frame: 0, label: 'cat', points: [0, 0, NaN, 5] }] });
      return null;
    } catch (e) { return e.details[0]; }
  });
  assert.equal(err.code, 'expected_number');
  assert.equal(err.path, '/objects/0/points/2');
});

test('documents naming labels the task does not have are refused', async () => {
  const err = await page.evaluate(() => {
    try {
      polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [{ id: 'r', type: 'rectangle', frame: 0, label: 'horse', points: [0, 0, 5, 5] }] });
      return null;
    } catch (e) { return e.details[0]; }
  });
  assert.equal(err.code, 'unknown_label');
  assert.equal(err.path, '/objects/0/label');
});

test('an unknown task rejects mount with not_found and a readable message on screen', async () => {
  const p = await openPage(browser);
  assert.equal(await mountDemo(p, server.url, 'task=nope'), 'rejected: not_found');
  const text = await p.locator('#app').innerText();
  assert.match(text, /not found/);
  assert.match(text, /nope/);
});

test('a role that is not labeler, reviewer or manager rejects mount by name', async () => {
  const p = await openPage(browser);
  await p.goto(server.url + '/embed-example.html?task=test');
  const result = await p.evaluate(() => Polymark.mount(document.getElementById('left'), { task: 'test', role: 'admin' })
    .then((i) => { i.destroy(); return null; }, (e) => ({ code: e.code, message: e.message })));
  assert.equal(result?.code, 'bad_options');
  assert.match(result.message, /options\.role must be "labeler", "reviewer" or "manager", not "admin"/);
});

test('a task with wrong types rejects mount naming the JSON pointer', async () => {
  const p = await openPage(browser);
  await p.goto(server.url + '/embed-example.html?task=test');
  const result = await p.evaluate(() => Polymark.mount(document.getElementById('left'), {
    taskObject: { format: 'polymark.task', version: 1, id: 'inline', media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png', width: 'wide' }] },
  }).then(() => null, (e) => ({ code: e.code, where: e.where, message: e.message })));
  assert.equal(result.code, 'expected_integer');
  assert.equal(result.where, '/media/0/width');
  assert.match(result.message, /\/media\/0\/width/);
});

test('when the first image is broken, mount rejects but hands over the running instance', async () => {
  const p = await openPage(browser);
  assert.equal(await mountDemo(p, server.url, 'task=test&frame=2'), 'rejected: decode_failed');
  const after = await p.evaluate(async () => {
    polymark.setFrame(0);
    await new Promise((r) => { const t = setInterval(() => { if (polymark.getView().imageWidth) { clearInterval(t); r(); } }, 20); });
    return polymark.getView().imageWidth;
  });
  assert.equal(after, 512);
});
