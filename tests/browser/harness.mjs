// Shared by the browser suites: a real serve.py on an ephemeral port with a test task made of
// real photographs plus broken media, and Debian's Chromium driven through playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const dist = process.env.POLYMARK_DIST || path.join(repo, 'build-web/dist');
// A client file's path without the content hash the build puts in the names the app fetches
// (tools/stamp_names.py): '/polymark_app.<16 hex>.wasm' -> '/polymark_app.wasm'.
export const plainPath = (p) => p.replace(/\.[0-9a-f]{16}(\.[a-z0-9]+)$/, '$1');
// serve.py runs on Debian's python, whose packages (python3-jsonschema) tools/setup.sh installs.
export const PYTHON = process.env.POLYMARK_PYTHON || '/usr/bin/python3';
const cache = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');

// 9000x64, wider than a GPU texture may be (8192 here): red up to x=8192, blue after it.
export const WIDE = { width: 9000, height: 64, split: 8192 };
function wideTwoColourPng() {
  const { width, height, split } = WIDE;
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set(x < split ? [220, 30, 30] : [30, 30, 220], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4); sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A task: two photographs, a corrupt JPEG, an image deleted after import (404), a third photo,
// and an image wider than the GPU's largest texture.
function makeTestTask(dir) {
  const demo = path.join(cache, 'demo');
  fs.copyFileSync(path.join(demo, 'astronaut.png'), path.join(dir, 'astronaut.png'));
  fs.copyFileSync(path.join(demo, 'chelsea.png'), path.join(dir, 'chelsea.png'));
  fs.copyFileSync(path.join(demo, 'coffee.jpg'), path.join(dir, 'coffee.jpg'));
  const corrupt = Buffer.alloc(4096, 0x5a);
  corrupt[0] = 0xff; corrupt[1] = 0xd8; corrupt[2] = 0xff; corrupt[3] = 0xe0;
  fs.writeFileSync(path.join(dir, 'corrupt.jpg'), corrupt);
  fs.writeFileSync(path.join(dir, 'gone.png'), fs.readFileSync(path.join(demo, 'chelsea.png')));
  fs.writeFileSync(path.join(dir, 'wide.png'), wideTwoColourPng());
  const task = {
    format: 'polymark.task', version: 1, id: 'test', name: 'Browser test task',
    media: [
      { id: 'astronaut', type: 'image', file: 'astronaut.png' },
      { id: 'chelsea', type: 'image', file: 'chelsea.png' },
      { id: 'corrupt', type: 'image', file: 'corrupt.jpg' },
      { id: 'gone', type: 'image', file: 'gone.png' },
      { id: 'coffee', type: 'image', file: 'coffee.jpg' },
      { id: 'wide', type: 'image', file: 'wide.png' },
    ],
    labels: [{ id: 'cat', name: 'Cat', color: '#3cb44b' }, { id: 'person', name: 'Person', color: '#e6194b' }],
  };
  fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify(task));
}

// A still photograph of the demo set as a video of `frames` frames at 10 a second in `dir`
// (H.264, near-lossless, so that every frame shows the same pixels); returns its path.
export function stillVideo(dir, frames, photo = 'astronaut.png') {
  const file = path.join(dir, `still-${path.parse(photo).name}-${frames}.mp4`);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-loop', '1', '-framerate', '10', '-i', path.join(cache, 'demo', photo),
    '-frames:v', String(frames), '-c:v', 'libx264', '-crf', '8', '-pix_fmt', 'yuv420p', '-g', '4', file]);
  return file;
}

// A serve.py that also serves a still video of `frames` frames at /media/extra/still.mp4, a
// browser, and a 1280x800 page with polymark.js loaded and nothing mounted: for suites that
// mount a task object of their own.
export async function startWithStillVideo(prefix, frames) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `polymark-${prefix}-`));
  const server = await startServer({ extraMedia: { 'still.mp4': stillVideo(tmp, frames) } });
  const browser = await launchBrowser();
  const page = await openPage(browser, undefined, { viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/?task=test`);
  await page.evaluate(() => window.polymarkMount);
  await page.evaluate(() => polymark.destroy());
  return { server, browser, page };
}

// The media of a task on startWithStillVideo's server: two photographs, the still video
// (frames 2 to frames + 1), a third photograph.
export function photosAroundStillVideo(frames) {
  return [{ id: 'a', type: 'image', url: '/media/test/astronaut.png' }, { id: 'b', type: 'image', url: '/media/test/chelsea.png' },
    { id: 'v', type: 'video', url: '/media/extra/still.mp4', frames, fps: 10 },
    { id: 'c', type: 'image', url: '/media/test/astronaut.png' }];
}

// extraMedia: {name: source file path}: each file is copied in and served at /media/extra/<name>.
// args: more serve.py options (e.g. ['--token', 'T']).
export async function startServer({ extraMedia = {}, args = [] } = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-browser-'));
  const taskDir = path.join(tmp, 'task');
  fs.mkdirSync(taskDir);
  makeTestTask(taskDir);
  const media = path.join(tmp, 'media');
  for (const [name, source] of Object.entries(extraMedia)) {
    fs.mkdirSync(path.dirname(path.join(media, 'extra', name)), { recursive: true });
    fs.copyFileSync(source, path.join(media, 'extra', name));
  }
  // One serve.py process; halt() and resume() stop and start it again on the same port and
  // database (a server restart, as the sync tests need).
  let proc = null;
  const launch = async (port) => {
    proc = spawn(PYTHON, [path.join(repo, 'serve.py'), '--port', String(port), '--quiet',
      '--db', path.join(tmp, 'db.sqlite'), '--web', dist, '--media-root', media, '--import', taskDir, ...args],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    const started = proc;
    const found = await new Promise((resolve, reject) => {
      let text = '';
      started.stdout.on('data', (chunk) => {
        text += chunk;
        const m = text.match(/serving (http:\/\/\S+?)\/?\s/);
        if (m) resolve(m[1]);
      });
      started.on('exit', (code) => reject(new Error('serve.py exited with ' + code)));
      setTimeout(() => reject(new Error('serve.py did not start')), 15000);
    });
    fs.rmSync(path.join(media, 'test', 'gone.png'), { force: true });
    return found;
  };
  const url = await launch(0);
  const port = Number(new URL(url).port);
  return {
    url,
    // Stops serve.py and, once it has exited (it may be writing its database as it goes),
    // removes its folder. Await it where what follows needs the server gone.
    stop() {
      const p = proc;
      const remove = () => fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(remove());
      return new Promise((resolve, reject) => {
        p.once('exit', () => { try { resolve(remove()); } catch (e) { reject(e); } });
        p.kill();
      });
    },
    async halt() {
      const p = proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise((resolve) => { p.once('exit', resolve); p.kill(); });
    },
    async resume() { await launch(port); },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
      '--disable-features=Translate,MediaRouter,OptimizationHints'],
  });
}

// A page that records console errors, uncaught exceptions and failed requests.
export async function openPage(browser, url, { viewport = { width: 1000, height: 700 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  // Chromium itself logs every failed resource load; the URL is in the message's location.
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push('console: ' + m.text() + ' ' + (m.location().url || '')); });
  page.on('pageerror', (e) => page.problems.push('pageerror: ' + e.message));
  if (url) await page.goto(url);
  return page;
}

export async function mountDemo(page, base, query = 'task=test') {
  await page.goto(`${base}/?${query}`);
  return page.evaluate(() => window.polymarkMount.then(() => 'ready', (e) => 'rejected: ' + e.code));
}

export const view = (page, handle = 'window.polymark') => page.evaluate(`${handle}.getView()`);

// Waits for n animation frames of the page (the app has drawn what the input did).
export async function frames(page, n = 3) {
  for (let i = 0; i < n; i++) await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
}

// A real mouse drag between two image points, through the view the page reports.
export async function drag(page, from, to, steps = 8) {
  const v = await view(page);
  const S = (x, y) => [v.offsetX + x * v.zoom, v.offsetY + y * v.zoom];
  await page.mouse.move(...S(...from));
  await frames(page, 1);
  await page.mouse.down();
  await frames(page, 1);
  for (let i = 1; i <= steps; i++) {
    await page.mouse.move(...S(from[0] + ((to[0] - from[0]) * i) / steps, from[1] + ((to[1] - from[1]) * i) / steps));
    await frames(page, 1);
  }
  await page.mouse.up();
  await frames(page);
}

// A rectangle of label `label` drawn with the mouse, then back to the select tool.
export async function drawRect(page, from, to, label = 'cat') {
  await page.evaluate((l) => polymark.setTool('rectangle', l), label);
  await drag(page, from, to);
  await page.evaluate(() => polymark.setTool('select'));
}

// Clicks the shape under image point `from`, then drags it to `to`.
export async function moveShape(page, from, to) {
  await page.evaluate(() => polymark.setTool('select'));
  const v = await view(page);
  await page.mouse.click(v.offsetX + from[0] * v.zoom, v.offsetY + from[1] * v.zoom);
  await frames(page);
  await drag(page, from, to, 12);
}

// Clicks a control the app reports in getLayout(), first opening the toolbar's More menu when the
// control went there at this width (a menu's entries are reported while it is open).
export async function clickControl(page, id) {
  await frames(page, 3);  // a window measures itself on its first frame
  const find = async (wanted) => (await page.evaluate(() => polymark.getLayout())).controls.find((c) => c.id === wanted);
  if (!(await find(id))) {
    const more = await find('more');
    if (more) {
      await page.mouse.click(more.x + more.width / 2, more.y + more.height / 2);
      await frames(page, 2);
    }
  }
  const c = await (await until(page, (wanted) => polymark.getLayout().controls.find((x) => x.id === wanted), id)).jsonValue();
  await page.mouse.click(c.x + c.width / 2, c.y + c.height / 2);
  await frames(page, 2);
}

// Waits until fn() (evaluated in the page) is truthy.
export async function until(page, fn, arg, timeout = 10000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 50 });
}

// Minimal PNG reader for screenshots (8-bit RGB/RGBA, non-interlaced): returns {width, height, rgba}.
export function decodePng(buffer) {
  let at = 8;
  let width = 0; let height = 0; let channels = 4;
  const idat = [];
  while (at < buffer.length) {
    const len = buffer.readUInt32BE(at);
    const type = buffer.toString('ascii', at + 4, at + 8);
    const data = buffer.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); channels = data[9] === 6 ? 4 : 3; }
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  const prev = Buffer.alloc(stride);
  const line = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? line[x - channels] : 0; const b = prev[x]; const c = x >= channels ? prev[x - channels] : 0;
      let v = src[x];
      if (filter === 1) v += a; else if (filter === 2) v += b; else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) { const p = a + b - c; const pa = Math.abs(p - a); const pb = Math.abs(p - b); const pc = Math.abs(p - c); v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c; }
      line[x] = v & 255;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 3; k++) out[(y * width + x) * 4 + k] = line[x * channels + k];
      out[(y * width + x) * 4 + 3] = channels === 4 ? line[x * channels + 3] : 255;
    }
    line.copy(prev);
  }
  return { width, height, rgba: out };
}

// Reads a decoded image file's mean colour over a box (for comparing what is on screen).
export function meanColour(img, x0, y0, w, h) {
  const sum = [0, 0, 0];
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) for (let k = 0; k < 3; k++) sum[k] += img.rgba[(y * img.width + x) * 4 + k];
  return sum.map((s) => s / (w * h));
}

// Notices stack over the image's lower right corner (beside the sidebar), on a dark red panel:
// whether one shows there in this screenshot, with `v` the view getView() reports.
export const NOTICE_RED = [90, 30, 30];
export function noticeShownIn(img, v) {
  const c = meanColour(img, Math.round(v.viewport.x + v.viewport.width - 60), Math.round(v.viewport.y + v.viewport.height - 24), 10, 6);
  return c.every((x, k) => Math.abs(x - NOTICE_RED[k]) < 25);
}
