// The assisted polygon tools' worker (dist/assist_worker.js + polymark_assist.wasm) in real
// Chromium, spoken to exactly as the editor will (the protocol at the top of
// shell/workers/assist_worker.js): a generated 640x480 image of a disc on a textured background,
// every reply kind, path coalescing, cancelling a box job, and errors that leave the worker alive.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage } from './harness.mjs';

let server; let browser; let page;
const DISC = { cx: 300.4, cy: 250.6, r: 140.3 };

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  page = await openPage(browser, `${server.url}/fonts/manifest.json`);
  await page.evaluate(() => {
    const w = new Worker('/assist_worker.js');
    const replies = [];
    const waiting = [];
    w.onmessage = (e) => {
      replies.push(e.data);
      for (const k of waiting.slice()) if (k.match(e.data)) { waiting.splice(waiting.indexOf(k), 1); k.resolve(e.data); }
    };
    w.onerror = (e) => replies.push({ type: 'worker-error', message: e.message });
    // Resolves with the first reply (from now on) that matches, or rejects after `ms`.
    const next = (match, ms = 20000) => new Promise((resolve, reject) => {
      const k = { match, resolve };
      waiting.push(k);
      setTimeout(() => { const i = waiting.indexOf(k); if (i >= 0) { waiting.splice(i, 1); reject(new Error('no reply in time')); } }, ms);
    });
    window.assist = { w, replies, next };
  });
});
after(async () => { await browser?.close(); await server?.stop(); });

// Sends `message` and returns the first reply for which `until` (source text of a function of the
// reply, with the message as `m`) is true; Float64Arrays come back as arrays.
async function ask(message, until = 'r.id === m.id', ms = 20000) {
  return page.evaluate(async ({ message, until, ms }) => {
    const match = new Function('r', 'm', `return ${until};`);
    const reply = window.assist.next((r) => match(r, message), ms);
    window.assist.w.postMessage(message);
    const r = await reply;
    return r.points ? { ...r, points: Array.from(r.points), isFloat64: r.points instanceof Float64Array } : r;
  }, { message, until, ms });
}

function sendImage(key, disc = DISC) {
  return page.evaluate(({ key, disc }) => {
    const width = 640, height = 480, pixels = new Uint8ClampedArray(width * height * 4);
    let seed = 7;
    const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = Math.hypot(x + 0.5 - disc.cx, y + 0.5 - disc.cy) < disc.r;
        const base = inside ? [200, 150, 80] : [70, 100, 150];
        const stripes = 12 * Math.sin((inside ? 0.35 : 0.21) * x + (inside ? 0.1 : 0.3) * y);
        const i = (y * width + x) * 4;
        for (let c = 0; c < 3; c++) pixels[i + c] = base[c] + stripes + (rnd() - 0.5) * 40;
        pixels[i + 3] = 255;
      }
    }
    const reply = window.assist.next((r) => r.type === 'image-ready' || (r.type === 'error' && r.id === null));
    window.assist.w.postMessage({ type: 'image', key, width, height, pixels: pixels.buffer }, [pixels.buffer]);
    return reply;
  }, { key, disc });
}

const onCircle = (deg) => ({ x: DISC.cx + DISC.r * Math.cos((deg * Math.PI) / 180), y: DISC.cy + DISC.r * Math.sin((deg * Math.PI) / 180) });
const area = (p) => { let a = 0; for (let i = 0; i < p.length; i += 2) { const j = (i + 2) % p.length; a += p[i] * p[j + 1] - p[j] * p[i + 1]; } return Math.abs(a) / 2; };

test('a request before any image is answered with no_image, and the worker goes on', async () => {
  const r = await ask({ type: 'anchor', id: 'early', x: 1, y: 1 });
  assert.equal(r.type, 'error');
  assert.equal(r.code, 'no_image');
});

test('an image is answered image-ready with its key and the time it took', async () => {
  const r = await sendImage('disc-1');
  assert.equal(r.type, 'image-ready', JSON.stringify(r));
  assert.equal(r.key, 'disc-1');
  assert.ok(r.ms >= 0 && r.ms < 5000, `ms ${r.ms}`);
});

test('anchor then path: the path runs from the anchor to the point along the disc edge', async () => {
  const a = onCircle(10), b = onCircle(80);
  const anchored = await ask({ type: 'anchor', id: 1, ...a });
  assert.equal(anchored.type, 'anchored');
  assert.ok(anchored.ms >= 0);
  const r = await ask({ type: 'path', id: 2, ...b });
  assert.equal(r.type, 'path');
  assert.ok(r.isFloat64);
  assert.deepEqual(r.points.slice(0, 2), [a.x, a.y]);
  assert.deepEqual(r.points.slice(-2), [b.x, b.y]);
  for (let i = 0; i < r.points.length; i += 2) {
    const off = Math.abs(Math.hypot(r.points[i] - DISC.cx, r.points[i + 1] - DISC.cy) - DISC.r);
    assert.ok(off <= 2, `vertex ${i / 2} is ${off.toFixed(2)} px off the edge`);
  }
});

test('path requests that queue up are coalesced: only the newest is sure to be answered', async () => {
  const answered = await page.evaluate(async (moves) => {
    const { w, replies, next } = window.assist;
    const before = replies.length;
    const last = next((r) => r.id === 'move-19');
    // A slow request first, so that the moves queue behind it.
    w.postMessage({ type: 'wand', id: 'slow', x: 20, y: 20, tolerance: 80, max_vertices: 50 });
    moves.forEach((p, k) => w.postMessage({ type: 'path', id: 'move-' + k, ...p }));
    await last;
    await new Promise((r) => setTimeout(r, 300));
    return replies.slice(before).filter((r) => r.type === 'path').map((r) => r.id);
  }, Array.from({ length: 20 }, (_, k) => onCircle(20 + 3 * k)));
  assert.ok(answered.includes('move-19'));
  assert.ok(answered.length < 20, `all ${answered.length} moves were answered`);
  assert.equal(answered[answered.length - 1], 'move-19');
});

test('wand: a click inside the disc gives its polygon within the vertex budget', async () => {
  const r = await ask({ type: 'wand', id: 'w1', x: DISC.cx, y: DISC.cy, tolerance: 70, max_vertices: 24 });
  assert.equal(r.type, 'polygon', JSON.stringify(r));
  assert.ok(r.points.length / 2 <= 24 && r.points.length / 2 >= 3);
  const truth = Math.PI * DISC.r * DISC.r;
  assert.ok(Math.abs(area(r.points) - truth) / truth < 0.05, `area ${area(r.points)} vs ${truth}`);
});

test('box: progress replies, then the polygon of the disc', async () => {
  const { progress, polygon } = await page.evaluate(async (d) => {
    const { w, replies, next } = window.assist;
    const before = replies.length;
    const done = next((r) => r.id === 'b1' && (r.type === 'polygon' || r.type === 'error'), 60000);
    w.postMessage({ type: 'box', id: 'b1', x1: d.cx - d.r - 15, y1: d.cy - d.r - 12, x2: d.cx + d.r + 10, y2: d.cy + d.r + 14, max_vertices: 40 });
    const polygon = await done;
    return { progress: replies.slice(before).filter((r) => r.type === 'progress' && r.id === 'b1'), polygon: { ...polygon, points: Array.from(polygon.points || []) } };
  }, DISC);
  assert.equal(polygon.type, 'polygon', JSON.stringify(polygon));
  assert.ok(progress.length >= 3, `${progress.length} progress replies`);
  assert.ok(progress.every((p, k) => k === 0 || p.done > progress[k - 1].done));
  assert.equal(progress[progress.length - 1].done, progress[0].total);
  assert.ok(polygon.points.length / 2 <= 40);
  const truth = Math.PI * DISC.r * DISC.r;
  assert.ok(Math.abs(area(polygon.points) - truth) / truth < 0.1, `area ${area(polygon.points)} vs ${truth}`);
});

test('cancel: a running box job answers cancelled and never its polygon', async () => {
  const seen = await page.evaluate(async (d) => {
    const { w, replies, next } = window.assist;
    const before = replies.length;
    const started = next((r) => r.id === 'b2' && r.type === 'progress');
    w.postMessage({ type: 'box', id: 'b2', x1: d.cx - d.r, y1: d.cy - d.r, x2: d.cx + d.r, y2: d.cy + d.r, max_vertices: 40 });
    await started;
    const cancelled = next((r) => r.id === 'b2' && r.type === 'cancelled');
    w.postMessage({ type: 'cancel', id: 'b2' });
    await cancelled;
    await new Promise((r) => setTimeout(r, 1500));
    return replies.slice(before).filter((r) => r.id === 'b2').map((r) => r.type);
  }, DISC);
  assert.ok(seen.includes('cancelled'));
  assert.ok(!seen.includes('polygon'), seen.join(' '));
});

test('snap: a point near the edge moves onto it; one far from edges stays', async () => {
  const inside = { x: DISC.cx + (DISC.r - 5), y: DISC.cy };
  const r = await ask({ type: 'snap', id: 's1', ...inside, radius: 10 });
  assert.equal(r.type, 'snapped');
  assert.equal(r.moved, true);
  assert.ok(Math.abs(Math.hypot(r.x - DISC.cx, r.y - DISC.cy) - DISC.r) <= 1.5, `snapped to ${r.x}, ${r.y}`);
  const far = await ask({ type: 'snap', id: 's2', x: DISC.cx, y: DISC.cy, radius: 8 });
  assert.equal(far.moved, false);
  assert.equal(far.x, DISC.cx);
});

test('bad requests get error replies naming them, and the worker keeps answering', async () => {
  const codes = [];
  codes.push((await ask({ type: 'wand', id: 'e1', x: 10, y: 10, tolerance: 300, max_vertices: 10 })).code);
  codes.push((await ask({ type: 'path', id: 'e2', x: 5000, y: 10 })).code);
  codes.push((await ask({ type: 'anchor', id: 'e3', x: 'left', y: 10 })).code);
  codes.push((await ask({ type: 'box', id: 'e4', x1: 10, y1: 10, x2: 10, y2: 50, max_vertices: 10 })).code);
  codes.push((await ask({ type: 'snap', id: 'e5', x: 10, y: 10, radius: -3 })).code);
  codes.push((await ask({ type: 'rotate', id: 'e6' })).code);
  assert.deepEqual(codes, ['bad_tolerance', 'outside_image', 'not_a_number', 'empty_box', 'bad_radius', 'bad_request']);
  const bad = await page.evaluate(() => {
    const reply = window.assist.next((r) => r.type === 'error' && r.id === null);
    window.assist.w.postMessage({ type: 'image', key: 'short', width: 100, height: 100, pixels: new ArrayBuffer(10) });
    return reply;
  });
  assert.equal(bad.code, 'bad_image');
  // Still alive, and still on an image: a wand answers.
  const ok = await ask({ type: 'wand', id: 'after', x: DISC.cx, y: DISC.cy, tolerance: 70, max_vertices: 24 });
  assert.equal(ok.type, 'polygon');
  assert.deepEqual(page.problems.filter((p) => !p.includes('favicon.ico')), []);
  const workerErrors = await page.evaluate(() => window.assist.replies.filter((r) => r.type === 'worker-error'));
  assert.deepEqual(workerErrors, []);
});
