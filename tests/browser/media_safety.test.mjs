// A file under /media/ never runs script on the app's origin: an HTML or SVG page left in the
// media folder (by an older serve.py that accepted it, or by hand) is opened in the browser the
// way an attacker would send a labeler to it, and its script must not reach the origin's
// IndexedDB, where the sync journal lives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, launchBrowser, openPage } from './harness.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-media-safety-'));
const planted = {
  'evil.html': '<!doctype html><script>indexedDB.open("pwned-html"); document.title = "ran";</script>',
  'evil.svg': '<svg xmlns="http://www.w3.org/2000/svg" onload="indexedDB.open(\'pwned-svg\')"><rect width="9" height="9"/></svg>',
  'evil.png': '<!doctype html><script>indexedDB.open("pwned-png")</script>',
};
for (const [name, text] of Object.entries(planted)) fs.writeFileSync(path.join(tmp, name), text);

let server; let browser;
before(async () => {
  server = await startServer({ extraMedia: Object.fromEntries(Object.keys(planted).map((n) => [n, path.join(tmp, n)])) });
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); await server?.stop(); fs.rmSync(tmp, { recursive: true, force: true }); });

test('HTML and SVG pages in the media folder, opened directly or framed, run no script on the origin', async () => {
  const page = await openPage(browser);
  for (const name of Object.keys(planted)) {
    const url = `${server.url}/media/extra/${name}`;
    // Opened as a link: a download now; before, a page of our origin.
    await page.goto(url, { timeout: 5000 }).catch(() => {});
    await page.waitForTimeout(300);
    // Framed and embedded by a page of the origin: the sandbox keeps it scriptless too.
    await page.goto(`${server.url}/embed-example.html`, { timeout: 5000 }).catch(() => {});
    await page.evaluate((src) => new Promise((resolve) => {
      const frame = document.createElement('iframe'); frame.src = src; frame.onload = resolve; document.body.append(frame);
      const object = document.createElement('object'); object.data = src; document.body.append(object);
      setTimeout(resolve, 1500);
    }), url);
    await page.waitForTimeout(300);
  }
  await page.goto(`${server.url}/embed-example.html`);
  const databases = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.deepEqual(databases.filter((n) => n.startsWith('pwned')), [], 'a planted page opened IndexedDB on the app origin');
});

test('the planted files come back as sandboxed downloads, never as documents', async () => {
  for (const name of Object.keys(planted)) {
    const r = await fetch(`${server.url}/media/extra/${name}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream', name);
    assert.equal(r.headers.get('content-disposition'), 'attachment', name);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', name);
    assert.match(r.headers.get('content-security-policy'), /sandbox/, name);
  }
});
