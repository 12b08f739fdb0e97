// Labeling guidelines with the real mouse and keyboard in two browser contexts (docs/API.md,
// "Guidelines"): a labeler sees the task's guidelines beside the canvas, with the example image
// and no markup from the server's text; G hides and shows them; a manager publishes v2 from the
// panel; the labeler sees the notice and v2, a box drawn after carries guideline 2 on the server,
// and the box drawn before is listed as made under v1, a click stepping to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage, mountDemo, until, frames, drawRect } from './harness.mjs';

let server; let browser;
before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); });

const cache = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');
const api = async (p, init) => (await fetch(`${server.url}/api/tasks/test${p}`, init)).json();

const V1 = [
  '# Boxes',
  '',
  'Draw **tight** boxes around the *visible* part; see [the handbook](https://example.org/handbook).',
  'Not a link: [click](javascript:alert(1)). Not markup: <img src=x onerror="window.pwned=1">',
  '',
  '- one box per cat',
  '- `Occluded` when hidden',
  '',
  '![A tight box](example.png)',
].join('\n');

async function person(user, role) {
  const page = await openPage(browser, undefined, { viewport: { width: 1200, height: 800 } });
  assert.equal(await mountDemo(page, server.url, `task=test&user=${user}&role=${role}`), 'ready');
  await until(page, () => polymark.getReview().sync.state === 'saved', undefined, 15000);
  return page;
}

const panel = (page) => page.evaluate(() => {
  const p = document.querySelector('.polymark-guidelines');
  if (!p || !p.isConnected) return null;
  const img = p.querySelector('img');
  return {
    text: p.textContent,
    width: p.getBoundingClientRect().width,
    canvasWidth: polymark.canvas.getBoundingClientRect().width,
    wrapperWidth: p.parentElement.getBoundingClientRect().width,
    image: img && { src: img.src, loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth },
    links: Array.from(p.querySelectorAll('a')).map((a) => [a.href, a.rel, a.target]),
    scripts: p.querySelectorAll('script, [onerror], iframe').length,
    editable: Array.from(p.querySelectorAll('button')).some((b) => b.textContent === 'Edit' && b.offsetParent !== null),
    older: Array.from(p.querySelectorAll('.polymark-guidelines-older button')).map((b) => b.dataset.id),
  };
});

async function saved(page) {
  await until(page, () => polymark.getSyncStatus().state === 'saved' && polymark.getSyncStatus().pending === 0, undefined, 15000);
}

test('the labeler reads the guidelines beside the canvas; a manager publishes v2; new boxes carry v2, older ones are traced', async () => {
  const example = fs.readFileSync(path.join(cache, 'demo', 'chelsea.png'));
  const published = await api('/guidelines', {
    method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-Polymark-Role': 'manager', 'X-Polymark-User': 'mia' },
    body: JSON.stringify({ text: V1, base_version: 0, files: { 'example.png': example.toString('base64') } }),
  });
  assert.equal(published.version, 1);

  // The labeler: the panel opens by itself with v1, its example image, and none of the text's markup.
  const ana = await person('ana', 'labeler');
  await until(ana, () => { const p = document.querySelector('.polymark-guidelines img'); return p && p.complete && p.naturalWidth > 0; }, undefined, 15000);
  let seen = await panel(ana);
  assert.match(seen.text, /Guidelines v1/);
  assert.match(seen.text, /v1 by mia/);
  assert.match(seen.text, /Draw tight boxes around the visible part/);
  assert.match(seen.text, /<img src=x onerror="window.pwned=1">/, 'raw HTML is shown as text');
  assert.equal(seen.scripts, 0);
  assert.equal(await ana.evaluate(() => window.pwned), undefined);
  assert.deepEqual(seen.links, [['https://example.org/handbook', 'noopener noreferrer', '_blank']]);
  assert.match(seen.text, /\[click\]\(javascript:alert\(1\)\)/);
  assert.ok(seen.image.src.startsWith('blob:'), seen.image.src);
  assert.equal(seen.image.width, 451);
  assert.equal(seen.editable, false, 'a labeler has no Edit');
  assert.ok(seen.canvasWidth <= seen.wrapperWidth - seen.width + 1, `the canvas shrank beside the panel: ${JSON.stringify(seen)}`);
  const narrowView = (await ana.evaluate(() => polymark.getView())).viewport;

  // A box drawn now carries guideline 1 to the server.
  await drawRect(ana, [60, 60], [160, 140]);
  await saved(ana);
  const first = (await api('/annotations')).document.objects.slice(-1)[0];
  assert.equal(first.guideline, 1);

  // G, with the canvas focused, hides the panel (the canvas takes the room back) and shows it again.
  await ana.mouse.click(5, 450);
  await ana.keyboard.press('g');
  await until(ana, () => !document.querySelector('.polymark-guidelines'));
  await until(ana, (w) => polymark.getView().viewport.width > w, narrowView.width);
  await ana.keyboard.press('g');
  await until(ana, () => !!document.querySelector('.polymark-guidelines'));

  // The manager: the same panel with Edit; the text changed with the keyboard, published as v2.
  const mia = await person('mia', 'manager');
  await until(mia, () => !!document.querySelector('.polymark-guidelines img'), undefined, 15000);
  assert.equal((await panel(mia)).editable, true);
  await mia.getByRole('button', { name: 'Edit' }).click();
  const area = mia.getByRole('textbox', { name: 'Guidelines text (Markdown)' });
  await area.click();
  await mia.keyboard.press('Control+End');
  await mia.keyboard.type('\n\nBoxes include the ears.');
  await mia.getByRole('button', { name: 'Publish v2' }).click();
  await until(mia, () => /Guidelines v2/.test(document.querySelector('.polymark-guidelines').textContent), undefined, 15000);
  const v2 = await api('/guidelines');
  assert.equal(v2.version, 2);
  assert.equal(v2.author, 'mia');
  assert.ok(v2.text.endsWith('Boxes include the ears.'), v2.text);
  assert.deepEqual(v2.files.map((f) => f.name), ['example.png'], 'the example carried over');

  // The labeler, working on: catches up, sees the notice and v2 (the image read again for v2).
  for (let i = 0; i < 30; i++) {
    await ana.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    if (await ana.evaluate(() => /Guidelines changed to v2/.test((document.querySelector('.polymark-guidelines') || {}).textContent || ''))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await until(ana, () => /Guidelines changed to v2/.test(document.querySelector('.polymark-guidelines').textContent) &&
    /Boxes include the ears/.test(document.querySelector('.polymark-guidelines').textContent), undefined, 15000);
  seen = await panel(ana);
  assert.match(seen.text, /Guidelines v2/);

  // A box drawn after carries guideline 2; the first one stays at 1 and is listed as older.
  await drawRect(ana, [200, 200], [300, 280]);
  await saved(ana);
  const doc = (await api('/annotations')).document;
  const second = doc.objects.slice(-1)[0];
  assert.notEqual(second.id, first.id);
  assert.equal(second.guideline, 2);
  assert.equal(doc.objects.find((o) => o.id === first.id).guideline, 1);
  await until(ana, (id) => Array.from(document.querySelectorAll('.polymark-guidelines-older button')).some((b) => b.dataset.id === id), first.id);
  seen = await panel(ana);
  assert.match(seen.text, /1 object on this task was made under an older version/);
  assert.deepEqual(seen.older, [first.id]);

  // A click on it steps to it: its frame, selected.
  await ana.evaluate(() => polymark.select([]));
  await ana.locator(`.polymark-guidelines-older button[data-id="${first.id}"]`).click();
  await frames(ana);
  assert.deepEqual(await ana.evaluate(() => polymark.getSelection()), [first.id]);
  assert.equal((await ana.evaluate(() => polymark.getView())).frame, first.frame);

  assert.deepEqual(ana.problems, []);
  assert.deepEqual(mia.problems, []);
  await ana.context().close();
  await mia.context().close();
});

test('a stale edit is refused: the panel says another manager published meanwhile and nothing is written', async () => {
  const page = await person('mia', 'manager');
  await until(page, () => !!document.querySelector('.polymark-guidelines'), undefined, 15000);
  const current = (await api('/guidelines')).version;
  const reply = await page.evaluate((base) => polymark.setGuidelines({ text: 'stale', baseVersion: base }).then(() => 'published', (e) => e.code), current - 1);
  assert.equal(reply, 'stale_version');
  assert.equal((await api('/guidelines')).version, current);
  const labeler = await person('bo', 'labeler');
  const refused = await labeler.evaluate(() => polymark.setGuidelines({ text: 'mine' }).then(() => 'published', (e) => e.code));
  assert.equal(refused, 'forbidden');
  await page.context().close();
  await labeler.context().close();
});
