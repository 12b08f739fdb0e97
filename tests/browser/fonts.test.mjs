// Labels in any script: the glyphs a task's names need are loaded with it (Cyrillic, CJK), only
// the slices holding them, and a Latin-only task fetches no font but the Latin one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, mountDemo, plainPath } from './harness.mjs';

let server; let browser;
before(async () => { server = await startServer(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await server?.stop(); });

function fontRequests(page) {
  const seen = [];
  page.on('request', (r) => { const p = plainPath(new URL(r.url()).pathname); if (p.startsWith('/fonts/')) seen.push(p); });
  return seen;
}

test('a task named in ASCII fetches the UI font and nothing else', async () => {
  const page = await openPage(browser);
  const fonts = fontRequests(page);
  assert.equal(await mountDemo(page, server.url), 'ready');
  assert.deepEqual(fonts, ['/fonts/ui-latin.ttf']);
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('Cat, Person: 0-9 · ×')), []);
  // Accented letters come with the task that uses them, or when typed (a later test).
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('é ü')), [0xe9, 0xfc]);
  await page.context().close();
});

test('Cyrillic and Chinese labels get their glyphs, from the slices that hold them only', async () => {
  const page = await openPage(browser);
  assert.equal(await mountDemo(page, server.url), 'ready');
  await page.evaluate(() => polymark.destroy());
  const fonts = fontRequests(page);
  const task = {
    format: 'polymark.task', version: 1, id: 'scripts', name: 'Кошки и собаки',
    media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
    labels: [{ id: 'cat', name: 'Кошка' }, { id: 'cat-zh', name: '猫' },
      { id: 'dog-zh', name: '狗', attributes: [{ id: 'colour', name: '颜色', type: 'select', values: ['白色', 'Чёрный'] }] }],
  };
  const outcome = await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="width:900px;height:600px"></div>';
    try { window.polymark = await Polymark.mount('#host', { taskObject: t }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
  }, task);
  assert.equal(outcome, 'ready');
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('Кошки и собаки Кошка 猫 狗 颜色 白色 Чёрный')), []);
  // Only the characters the task uses are in the atlas: one it does not use is missing.
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('鼠')), [0x9f20]);
  assert.ok(fonts.includes('/fonts/manifest.json'));
  assert.ok(!fonts.includes('/fonts/ui-latin.ttf'), 'the Latin font is loaded once per page');
  assert.ok(fonts.includes('/fonts/extra-cyrillic-greek.ttf'));
  const cjk = fonts.filter((f) => f.startsWith('/fonts/extra-cjk-'));
  assert.ok(cjk.length >= 1 && cjk.length <= 5, `CJK slices fetched: ${cjk}`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('Latin-1 and Latin Extended labels (Polish, Turkish, Vietnamese) and other punctuation bring their three slices, and only those', async () => {
  const page = await openPage(browser);
  assert.equal(await mountDemo(page, server.url), 'ready');
  // ASCII and the UI's punctuation are in the first font; the accented letters of Latin-1 (ó),
  // Latin Extended and the other punctuation (per mille here) are not, until a task needs them.
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('Żółw – “ok”… · × ‰')), [0x17b, 0xf3, 0x142, 0x2030]);
  await page.evaluate(() => polymark.destroy());
  const fonts = fontRequests(page);
  const task = { format: 'polymark.task', version: 1, id: 'extended', name: 'Żółw',
    media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
    labels: [{ id: 'tree', name: 'Ağaç' }, { id: 'boat', name: 'Thuyền' }, { id: 'slope', name: 'Slope ‰' }] };
  const outcome = await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="width:900px;height:600px"></div>';
    try { window.polymark = await Polymark.mount('#host', { taskObject: t }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
  }, task);
  assert.equal(outcome, 'ready');
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('Żółw Ağaç Thuyền Slope ‰')), []);
  assert.deepEqual(fonts.filter((f) => f.startsWith('/fonts/extra-')).sort(), ['/fonts/extra-latin-1.ttf', '/fonts/extra-latin-extended.ttf', '/fonts/extra-symbols.ttf']);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('text values in a loaded document bring the glyphs they need, a Latin task none before', async () => {
  const page = await openPage(browser);
  const fonts = fontRequests(page);
  assert.equal(await mountDemo(page, server.url), 'ready');
  await page.evaluate(() => polymark.destroy());
  const task = { format: 'polymark.task', version: 1, id: 'plates', media: [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }],
    labels: [{ id: 'car', name: 'Car', attributes: [{ id: 'plate', name: 'Plate', type: 'text' }] }] };
  const outcome = await page.evaluate(async (t) => {
    document.body.innerHTML = '<div id="host" style="width:900px;height:600px"></div>';
    try { window.polymark = await Polymark.mount('#host', { taskObject: t }); return 'ready'; } catch (e) { return e.code + ': ' + e.message; }
  }, task);
  assert.equal(outcome, 'ready');
  assert.deepEqual(fonts, ['/fonts/ui-latin.ttf']);
  await page.evaluate(() => polymark.setAnnotations({ format: 'polymark.annotations', version: 1,
    objects: [{ id: 'r', type: 'rectangle', frame: 0, label: 'car', points: [10, 10, 100, 100], attributes: { plate: 'Москва 北京' } }] }));
  let missing = null;
  for (let i = 0; i < 50 && (missing = await page.evaluate(() => polymark.missingGlyphs('Москва 北京'))).length; i++) {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
  }
  assert.deepEqual(missing, []);
  assert.ok(fonts.includes('/fonts/extra-cyrillic-greek.ttf'), fonts.join());
  assert.ok(fonts.some((f) => f.startsWith('/fonts/extra-cjk-')), fonts.join());
  // Only what the text uses: other characters of the same slices are still not in the atlas.
  assert.deepEqual(await page.evaluate(() => polymark.missingGlyphs('鼠')), [0x9f20]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

// The web build has no font of its own (cmake/imgui_web_sources.cmake): a page that cannot fetch
// the UI font does not mount, and says which file was missing (load_failed, docs/API.md).
test('without the UI font the mount is refused with load_failed naming the font', async () => {
  const page = await openPage(browser);
  await page.route(/\/fonts\/ui-latin(\.[0-9a-f]{16})?\.ttf$/, (route) => route.fulfill({ status: 404, body: 'gone' }));
  await page.goto(`${server.url}/?task=test`);
  const outcome = await page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => e.code + ': ' + e.message));
  assert.match(outcome, /^load_failed: .*fonts\/ui-latin(\.[0-9a-f]{16})?\.ttf/);
  await page.context().close();
});
