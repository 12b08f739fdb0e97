// The bundled embedding API: dist/polymark.js is one classic script (no import/export, no module
// files beside it for the page to fetch) that defines window.Polymark, stamped with the sizes of
// the files a mount downloads; in Chromium, a mount fetches no module or source map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { dist, startServer, launchBrowser, openPage, mountDemo, plainPath } from './harness.mjs';

const bundle = () => fs.readFileSync(path.join(dist, 'polymark.js'), 'utf8');

test('polymark.js is a classic script that defines Polymark.mount and nothing else global', () => {
  const text = bundle();
  // A classic script: compiling it as one fails on an import or export statement.
  const script = new vm.Script(text, { filename: 'polymark.js' });
  assert.doesNotMatch(text, /\bimport\s*\(/, 'no dynamic import of a module');
  assert.doesNotMatch(text, /sourceMappingURL/, 'no source map on the first load');
  const window = {};
  const context = vm.createContext({
    window, URL, Promise, Error, Object, JSON, Math, Array, String, Number, setTimeout,
    document: { currentScript: { src: 'https://host.example/app/polymark.js' } },
  });
  script.runInContext(context);
  assert.deepEqual(Object.keys(window), ['Polymark']);
  const P = window.Polymark;
  assert.equal(typeof P.mount, 'function');
  assert.equal(typeof P.unregisterOffline, 'function');
  assert.deepEqual(Array.from(P.events), ['ready', 'error', 'change', 'frame', 'sync', 'tracking', 'import', 'review', 'guidelines',
    'jobAssigned', 'jobSubmitted', 'jobSkipped', 'queueEmpty']);
  const e = P.PolymarkError('bad_options', 'x');
  assert.ok(e instanceof P.PolymarkError && e instanceof Error);
  assert.equal(e.code, 'bad_options');
});

test('the build stamped the download sizes into the bundle', () => {
  const m = /\/\*POLYMARK_BUNDLE\*\/(.*?)\/\*END\*\//s.exec(bundle());
  assert.ok(m, 'the bundle marker is there');
  const sizes = JSON.parse(m[1]);
  for (const f of ['polymark_app.js', 'polymark_app.wasm', 'fonts/ui-latin.ttf']) {
    assert.equal(sizes[f], fs.statSync(path.join(dist, f)).size, f);
  }
});

test('dist holds no module sources or source maps, and every script in it is classic', () => {
  const names = fs.readdirSync(dist);
  assert.ok(!names.includes('src'), 'no shell/src copied into dist');
  for (const name of names) {
    assert.doesNotMatch(name, /\.(mjs|map)$/, name);
    if (name.endsWith('.js')) assert.doesNotThrow(() => new vm.Script(fs.readFileSync(path.join(dist, name), 'utf8')), name);
  }
});

test('a mount in Chromium fetches no module file, and no script but the known ones', async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const page = await openPage(browser);
    const scripts = [];
    page.on('request', (r) => { if (r.resourceType() === 'script' || /\.(m?js|map)(\?|$)/.test(r.url())) scripts.push(plainPath(new URL(r.url()).pathname)); });
    assert.equal(await mountDemo(page, server.url), 'ready');
    assert.equal(await page.evaluate(() => typeof window.Polymark.mount), 'function');
    // sw.js: the service worker, registered after ready (sometimes in time to be seen here).
    const known = ['/polymark.js', '/polymark_app.js', '/sw.js'];
    assert.deepEqual([...new Set(scripts)].filter((s) => !known.includes(s)), []);
    assert.ok(scripts.includes('/polymark.js') && scripts.includes('/polymark_app.js'), scripts.join(' '));
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
    await server.stop();
  }
});
