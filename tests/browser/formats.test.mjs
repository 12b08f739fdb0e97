// Import and export in the page: a real file picker and a real drop, the formats module in its
// worker, the mapping step by mouse, one command (one undo step) saved to a real serve.py, exports
// downloaded, bad files refused with their place, and cancelling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, mountDemo, frames, until, clickControl } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-formats-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// COCO instances on two of the test task's photographs, with the task's own label names.
const COCO = {
  images: [{ id: 1, file_name: 'astronaut.png', width: 512, height: 512 }, { id: 2, file_name: 'chelsea.png', width: 451, height: 300 }],
  categories: [{ id: 1, name: 'cat' }, { id: 2, name: 'Person' }],
  annotations: [
    { id: 1, image_id: 1, category_id: 2, bbox: [10, 20, 100, 200], area: 20000, iscrowd: 0, segmentation: [] },
    { id: 2, image_id: 2, category_id: 1, bbox: [10, 10, 90, 90], area: 8100, iscrowd: 0, segmentation: [[10, 10, 100, 10, 100, 100, 10, 100]] },
    { id: 3, image_id: 2, category_id: 1, bbox: [200, 50, 40, 30], area: 1200, iscrowd: 0, segmentation: [] },
  ],
};
// LabelMe on one photograph, with a label the task lacks ("dog").
const LABELME = {
  version: '5.2.1', flags: {}, imagePath: 'chelsea.png', imageData: null, imageHeight: 300, imageWidth: 451,
  shapes: [
    { label: 'dog', points: [[20, 30], [120, 130]], shape_type: 'rectangle', group_id: null, flags: {} },
    { label: 'person', points: [[200, 40], [260, 40], [230, 120]], shape_type: 'polygon', group_id: null, flags: {} },
  ],
};

const layout = async (page) => (await page.evaluate(() => polymark.getLayout())).controls;
const serverDoc = async () => (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document;

async function fresh() {
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });  // the Data menu on the toolbar
  assert.equal(await mountDemo(page, server.url), 'ready');
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1, objects: [] }));
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().pending === 0);
  return page;
}

test('a COCO file picked through the Data menu joins the document as one undo step, saved to serve.py in one request', async () => {
  const page = await fresh();
  const file = path.join(tmp, 'vendor-coco.json');
  fs.writeFileSync(file, JSON.stringify(COCO));
  const patches = [];
  page.on('request', (r) => { if (r.method() === 'PATCH' && r.url().includes('/annotations')) patches.push(r.url()); });
  await clickControl(page, 'data');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), clickControl(page, 'data-import')]);
  assert.ok(chooser.isMultiple(), 'several files (a YOLO folder\'s) may be picked at once');
  await chooser.setFiles(file);
  await until(page, () => polymark.getAnnotations().objects.length === 3);
  const doc = await page.evaluate(() => polymark.getAnnotations());
  assert.deepEqual(doc.objects.map((o) => [o.frame, o.label, o.type]).sort(),
    [[0, 'person', 'rectangle'], [1, 'cat', 'polygon'], [1, 'cat', 'rectangle']].sort());
  const history = await page.evaluate(() => polymark.getHistory());
  assert.equal(history.done.at(-1), 'import vendor-coco.json');
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().pending === 0);
  assert.equal((await serverDoc()).objects.length, 3);
  assert.equal(patches.length, 1, 'the import went to the server as one save');
  assert.equal(await page.evaluate(() => polymark.undo()), true);
  assert.equal(await page.evaluate(() => polymark.getAnnotations().objects.length), 0, 'one undo takes the whole import back');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a file dropped on the canvas with a label the task lacks stops at the mapping step; mapped by mouse, its shapes take the chosen label', async () => {
  const page = await fresh();
  await page.evaluate(() => { window.importEvents = []; polymark.on('import', (d) => window.importEvents.push(d)); });
  // A real drop event carrying a real File, as a file dragged from the desktop gives.
  await page.evaluate((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], 'chelsea.json', { type: 'application/json' }));
    const target = polymark.canvas.parentElement;
    for (const type of ['dragenter', 'dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, JSON.stringify(LABELME));
  await until(page, () => window.importEvents.some((e) => e.state === 'mapping'));
  const mapping = await page.evaluate(() => window.importEvents.find((e) => e.state === 'mapping'));
  assert.deepEqual(mapping.unknown.map((u) => [u.name, u.objects]), [['dog', 1]]);
  const controls = await layout(page);
  assert.ok(controls.find((c) => c.id === 'map-import'), 'the dialog shows its Import button');
  assert.equal(await page.evaluate(() => polymark.getAnnotations().objects.length), 0, 'nothing is imported before the labels are mapped');
  await clickControl(page, 'map-0');
  await clickControl(page, 'map-0-cat');
  await clickControl(page, 'map-import');
  await until(page, () => window.importEvents.some((e) => e.state === 'done'));
  const doc = await page.evaluate(() => polymark.getAnnotations());
  assert.deepEqual(doc.objects.map((o) => [o.frame, o.label, o.type]).sort(), [[1, 'cat', 'rectangle'], [1, 'person', 'polygon']]);
  assert.equal(doc.objects.find((o) => o.type === 'rectangle').points.join(), '20,30,120,130');
  assert.ok(!(await layout(page)).some((c) => c.id === 'map-import'), 'the dialog closed');
  await page.context().close();
});

test('importAnnotations maps, skips or refuses unknown labels as the host asks, and replace leaves only the file', async () => {
  const page = await fresh();
  const file = { name: 'chelsea.json', data: JSON.stringify(LABELME) };
  const refused = await page.evaluate((f) => polymark.importAnnotations(f, { unknownLabels: 'fail' }).then(() => 'imported', (e) => [e.code, e.message]), file);
  assert.equal(refused[0], 'unmapped_label');
  assert.match(refused[1], /dog/);
  const skipped = await page.evaluate((f) => polymark.importAnnotations(f, { unknownLabels: 'skip' }), file);
  assert.equal(skipped.added, 1);
  assert.equal(skipped.format, 'labelme');
  assert.ok(skipped.notes.some((n) => /skipped/.test(n)), skipped.notes.join('; '));
  const mapped = await page.evaluate((f) => polymark.importAnnotations(f, { labelMap: { dog: 'cat' } }), file);
  assert.equal(mapped.added, 2);
  assert.equal(await page.evaluate(() => polymark.getAnnotations().objects.length), 3, 'merge adds, renaming ids already used');
  const replaced = await page.evaluate((c) => polymark.importAnnotations({ name: 'c.json', data: c }, { mode: 'replace' }), JSON.stringify(COCO));
  assert.equal(replaced.removed, 3);
  assert.equal(replaced.added, 3);
  const again = await page.evaluate((c) => polymark.importAnnotations({ name: 'c.json', data: c }, { mode: 'replace' }), JSON.stringify(COCO));
  assert.deepEqual([again.added, again.updated, again.removed, again.unchanged], [0, 0, 0, 3], 'the same file again changes nothing');
  await page.context().close();
});

test('exports: COCO through the API, YOLO as a zip that imports back unchanged, and a download from the Data menu', async () => {
  const page = await fresh();
  await page.evaluate((c) => polymark.importAnnotations({ name: 'c.json', data: c }), JSON.stringify(COCO));
  const coco = await page.evaluate(async () => {
    const f = await polymark.exportAnnotations({ format: 'coco' });
    return { name: f.name, json: JSON.parse(await f.text()) };
  });
  assert.equal(coco.name, 'test-coco-annotations.json');
  assert.equal(coco.json.annotations.length, 3);
  assert.deepEqual(coco.json.categories.map((c) => c.name), ['Cat', 'Person']);
  const onFrame1 = await page.evaluate(async () => JSON.parse(await (await polymark.exportAnnotations({ format: 'coco', frames: [1, 1] })).text()).annotations.length);
  assert.equal(onFrame1, 2, 'frames: [1, 1] exports only frame 1\'s shapes');
  // YOLO needs the images' sizes: the app learnt them from the photographs it showed.
  await page.evaluate(() => polymark.setFrame(1));
  await until(page, () => polymark.getView().frameShown);
  const yolo = await page.evaluate(async () => {
    const f = await polymark.exportAnnotations({ format: 'yolo' });
    const back = await polymark.importAnnotations(f, { mode: 'replace' });
    return { name: f.name, head: Array.from(new Uint8Array(await f.slice(0, 2).arrayBuffer())), back };
  });
  assert.equal(yolo.name, 'test-yolo.zip');
  assert.deepEqual(yolo.head, [0x50, 0x4b]);
  assert.equal(yolo.back.format, 'yolo');
  assert.equal(yolo.back.added + yolo.back.updated + yolo.back.unchanged, 3);
  await clickControl(page, 'data');
  const [download] = await Promise.all([page.waitForEvent('download'), clickControl(page, 'data-export-cvat')]);
  assert.equal(download.suggestedFilename(), 'test-cvat-annotations.xml');
  const xml = fs.readFileSync(await download.path(), 'utf8');
  assert.match(xml, /<annotations>/);
  assert.equal((xml.match(/<box |<polygon /g) || []).length, 3);
  await page.context().close();
});

test('a malformed file is refused with the file and the place named, nothing imported, and the page keeps working', async () => {
  const page = await fresh();
  const bad = { ...COCO, annotations: [COCO.annotations[0], { ...COCO.annotations[1], segmentation: 'wide' }] };
  const error = await page.evaluate((c) => polymark.importAnnotations({ name: 'broken.json', data: c }).then(() => null, (e) => ({ code: e.code, message: e.message, where: e.where })), JSON.stringify(bad));
  assert.ok(error, 'the import was refused');
  assert.match(error.where, /broken\.json/);
  assert.match(error.where, /#\/annotations\/1\/segmentation$/);
  assert.match(error.message, /expected a list of polygons or an RLE object/);
  const notJson = await page.evaluate(() => polymark.importAnnotations({ name: 'notes.txt', data: 'hello there' }).then(() => null, (e) => e.code));
  assert.ok(notJson, 'text that is no format is refused');
  assert.equal(await page.evaluate(() => polymark.getAnnotations().objects.length), 0);
  // Through the picker the same refusal is a notice, and the app goes on.
  const file = path.join(tmp, 'broken.json');
  fs.writeFileSync(file, JSON.stringify(bad));
  await page.evaluate(() => { window.errors = []; polymark.on('error', (e) => window.errors.push(e)); });
  await clickControl(page, 'data');
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), clickControl(page, 'data-import')]);
  await chooser.setFiles(file);
  const seen = await (await until(page, () => window.errors.find((e) => /broken\.json/.test(e.where)))).jsonValue();
  assert.equal(seen.fatal, false);
  assert.equal(await page.evaluate(() => polymark.setTool('rectangle', 'cat').tool), 'rectangle', 'the editor still answers');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('cancelling an import stops it: nothing is imported and the next import runs', async () => {
  const page = await fresh();
  const outcome = await page.evaluate(async () => {
    const images = [{ id: 1, file_name: 'astronaut.png', width: 512, height: 512 }];
    const annotations = [];
    for (let i = 0; i < 60000; i++) annotations.push({ id: i + 1, image_id: 1, category_id: 1, bbox: [i % 400, 10, 20, 20], area: 400, iscrowd: 0, segmentation: [] });
    const text = JSON.stringify({ images, categories: [{ id: 1, name: 'cat' }], annotations });
    const controller = new AbortController();
    const stages = [];
    const result = await polymark.importAnnotations({ name: 'big.json', data: text }, {
      signal: controller.signal,
      onProgress: (p) => { stages.push(p.stage); if (p.stage === 'converting') controller.abort(); },
    }).then(() => 'imported', (e) => e.code);
    return { result, stages, objects: polymark.getAnnotations().objects.length };
  });
  assert.equal(outcome.result, 'cancelled');
  assert.equal(outcome.objects, 0);
  const next = await page.evaluate((c) => polymark.importAnnotations({ name: 'c.json', data: c }).then((r) => r.added), JSON.stringify(COCO));
  assert.equal(next, 3);
  await page.context().close();
});
