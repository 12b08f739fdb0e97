// A model's predictions confirmed with the real keyboard and mouse (docs/API.md, "Predictions"):
// Enter accepts the selected prediction and selects the next (the lowest score on this frame, then
// the frame the queue puts first), Delete rejects and moves on, dragging a prediction accepts it
// with the change, and undo brings a prediction back. The outcome reaches serve.py, and the
// manager view (U) counts it per label and score band.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, until, frames, moveShape, decodePng } from './harness.mjs';

let server; let browser; let page;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  assert.equal(await mountDemo(page, server.url, 'task=test'), 'ready');
});
after(async () => { await browser?.close(); await server?.stop(); });

const box = (id, frame, [x, y], source, score) => ({ id, type: 'rectangle', frame, label: 'cat', points: [x, y, x + 90, y + 70], source, ...(score === undefined ? {} : { score }) });
const object = (id) => page.evaluate((i) => polymark.getAnnotations().objects.find((o) => o.id === i) || null, id);
const selection = () => page.evaluate(() => polymark.getSelection());
const sourceOf = (o) => o.source ?? 'manual';  // the document leaves the default out
async function press(key) { await page.keyboard.press(key); await frames(page); }

// Pixels of the score chip's amber under a shape's bottom right corner.
async function amberUnder(points) {
  const v = await page.evaluate(() => polymark.getView());
  const x = Math.round(v.offsetX + points[2] * v.zoom); const y = Math.round(v.offsetY + points[3] * v.zoom);
  const shot = decodePng(await page.screenshot());
  let n = 0;
  for (let j = y; j < y + 18; j++) {
    for (let i = x - 40; i < x; i++) {
      const at = (j * shot.width + i) * 4;
      if (Math.abs(shot.rgba[at] - 200) < 30 && Math.abs(shot.rgba[at + 1] - 140) < 30 && shot.rgba[at + 2] < 60) n++;
    }
  }
  return n;
}

test('Enter accepts predictions lowest score first, Delete rejects and moves on, a drag accepts with the change, undo brings one back', async () => {
  await page.evaluate((doc) => polymark.setAnnotations(doc), {
    format: 'polymark.annotations', version: 1,
    objects: [box('sure', 0, [40, 40], 'model', 0.9), box('unsure', 0, [300, 330], 'model', 0.3),
      box('mine', 0, [200, 60], 'manual'), box('doubtful', 1, [100, 100], 'model', 0.1)],
  });
  // The model's predictions are on the server before the labeler acts, as pre-labels are.
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().state === 'saved' && polymark.getSyncStatus().pending === 0, undefined, 15000);
  await page.evaluate(() => { polymark.setFrame(0); polymark.fit(); });
  await until(page, () => polymark.getView().frameShown);
  await frames(page);
  const queue = await page.evaluate(() => polymark.getPredictionQueue());
  assert.deepEqual(queue.frames.map((f) => [f.frame, f.lowestScore, f.ids]), [[1, 0.1, ['doubtful']], [0, 0.3, ['unsure', 'sure']]]);
  assert.equal(queue.pending, 3);
  const chip = await amberUnder((await object('unsure')).points);
  assert.ok(chip > 40, `the score chip is drawn under the prediction (${chip} amber pixels)`);

  // Focus the canvas on an empty spot, then Enter: the lowest-scoring prediction of this frame.
  await page.mouse.click(5, 400);
  await frames(page);
  await press('Enter');
  assert.deepEqual(await selection(), ['unsure']);
  await press('Enter');
  const accepted = await object('unsure');
  assert.equal(sourceOf(accepted), 'manual');
  assert.equal(accepted.score, 0.3, 'the score stays on an accepted prediction');
  assert.deepEqual(await selection(), ['sure']);
  assert.ok(await amberUnder(accepted.points) < chip / 4, 'an accepted prediction loses its score chip');

  // Delete rejects it; the next is on the frame the queue puts first.
  await press('Delete');
  assert.equal(await object('sure'), null);
  await until(page, () => polymark.getView().frameShown && polymark.getView().frame === 1);
  assert.deepEqual(await selection(), ['doubtful']);

  // Dragging a prediction accepts it with the change, in one command.
  await frames(page);
  await moveShape(page, [140, 130], [170, 150]);
  const moved = await object('doubtful');
  assert.equal(sourceOf(moved), 'manual');
  assert.notDeepEqual(moved.points, [100, 100, 190, 170]);
  await press('Enter');
  assert.equal((await page.evaluate(() => polymark.getPredictionQueue())).pending, 0);
  await page.keyboard.press('Control+z');
  await frames(page);
  const back = await object('doubtful');
  assert.equal(sourceOf(back), 'model');
  assert.deepEqual(back.points, [100, 100, 190, 170]);
  assert.equal((await page.evaluate(() => polymark.getHistory())).done.slice(-2).join(', '), 'accept prediction, reject prediction');
  assert.equal(sourceOf(await object('mine')), 'manual');

  // serve.py has the outcome: the accepted one as a person's shape with its score, the rejected one gone.
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().state === 'saved' && polymark.getSyncStatus().pending === 0, undefined, 15000);
  const stored = (await (await fetch(`${server.url}/api/tasks/test/annotations`)).json()).document.objects;
  assert.deepEqual(stored.map((o) => [o.id, sourceOf(o), o.score ?? null]).sort(),
    [['doubtful', 'model', 0.1], ['mine', 'manual', null], ['unsure', 'manual', 0.3]]);

  // Redo moves it again: accepted with changes. The manager view's report counts each outcome
  // from serve.py's history (docs/QUALITY.md, "Model pre-labels").
  await page.keyboard.press('Control+Shift+z');
  await frames(page);
  assert.equal(sourceOf(await object('doubtful')), 'manual');
  await page.evaluate(() => polymark.flush());
  await until(page, () => polymark.getSyncStatus().state === 'saved' && polymark.getSyncStatus().pending === 0, undefined, 15000);
  await page.keyboard.press('u');
  await until(page, () => { const v = document.querySelector('.polymark-quality'); return v && v.style.display !== 'none'; }, undefined, 15000);
  await page.click('.polymark-quality button[data-kind="prelabels"]');
  await until(page, () => /3 predictions: 1 accepted unchanged, 1 edited, 1 rejected, 0 pending/.test(document.querySelector('.polymark-quality').textContent), undefined, 30000);
  const report = (await page.evaluate(() => polymark.getQualityReport('prelabels'))).report;
  assert.deepEqual(report.labels.map((l) => [l.label, l.accepted_unchanged, l.edited, l.rejected, l.pending]), [['cat', 1, 1, 1, 0]]);
  const bands = Object.fromEntries(report.bands.filter((b) => b.predictions).map((b) => [b.band, [b.accepted_unchanged, b.edited, b.rejected]]));
  assert.deepEqual(bands, { '[0.1,0.2)': [0, 1, 0], '[0.3,0.4)': [1, 0, 0], '[0.9,1]': [0, 0, 1] });
  assert.deepEqual(page.problems, []);
});
