#!/usr/bin/env node
// Start-up and size benchmark for the Polymark web client (see bench/README.md).
// Serves build-web/dist with serve.py, loads /?task=demo in Debian's Chromium, and prints the
// bytes of the first load and the time from navigation start to `ready`. It prints numbers;
// it exits non-zero only when something broke (no server, no `ready`), never for slowness.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser, repo, dist } from '../tests/browser/harness.mjs';

const USAGE = `usage: node bench/startup.mjs [--runs N] [--throttled-runs N] [--encoding br|gzip] [--json FILE]
  --runs N            localhost runs, cold and warm each (default 10)
  --encoding E        what the browser accepts: br (default: br and gzip, as Chromium sends) or gzip
                      (gzip only: a browser or proxy without brotli)
  --throttled-runs N  runs at 2 Mbit/s down and up, 200 ms round trip (default 5; 0 skips)
  --json FILE         also write every number (and every run) as JSON to FILE
Env: POLYMARK_DIST (default build-web/dist), POLYMARK_CACHE (demo task in $POLYMARK_CACHE/demo),
     CHROMIUM (default /usr/bin/chromium).`;

const KB = 1000;
const TARGET_GZIP_BYTES = 450 * KB; // issue 13: first load at most 450 KB gzip
const TARGET_COLD_MS = 400;         // issue 13: cold ready on localhost under 400 ms (median)
const PEER = 'Label Studio editor: ~613 KB gzip JS+CSS (reported, not measured here)';
const VIEWPORT = { width: 1280, height: 800 };
const THROTTLE = { offline: false, latency: 200, downloadThroughput: 2e6 / 8, uploadThroughput: 2e6 / 8 };

function parseArgs(argv) {
  const opts = { runs: 10, throttledRuns: 5, json: null, encoding: 'br' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usageError(`${arg} needs a value`);
      return argv[++i];
    };
    const count = (min) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min) usageError(`${arg} needs an integer >= ${min}`);
      return n;
    };
    if (arg === '--runs') opts.runs = count(1);
    else if (arg === '--throttled-runs') opts.throttledRuns = count(0);
    else if (arg === '--json') opts.json = value();
    else if (arg === '--encoding') {
      opts.encoding = value();
      if (!['br', 'gzip'].includes(opts.encoding)) usageError('--encoding takes br or gzip');
    }
    else if (arg === '-h' || arg === '--help') { console.log(USAGE); process.exit(0); }
    else usageError(`unknown argument ${arg}`);
  }
  return opts;
}

function usageError(message) {
  console.error(`startup.mjs: ${message}\n${USAGE}`);
  process.exit(2);
}

// [SECTION] server

async function startServer(taskDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-bench-'));
  const proc = spawn('/usr/bin/python3', [path.join(repo, 'serve.py'), '--port', '0', '--quiet',
    '--db', path.join(tmp, 'db.sqlite'), '--web', dist, '--media-root', path.join(tmp, 'media'),
    '--import', taskDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => { proc.kill(); fs.rmSync(tmp, { recursive: true, force: true }); };
  process.on('exit', stop); // also on errors and Ctrl-C (see main)
  let log = '';
  proc.stderr.on('data', (chunk) => { log += chunk; });
  let timer;
  try {
    const url = await new Promise((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (chunk) => {
        out += chunk;
        const m = out.match(/serving (http:\/\/\S+?)\/?\s/);
        if (m) resolve(m[1]);
      });
      proc.on('exit', (code) => reject(new Error(`serve.py exited with ${code}\n${log}`)));
      timer = setTimeout(() => reject(new Error(`serve.py did not start within 15 s\n${log}`)), 15000);
    });
    return { url, stop };
  } finally {
    clearTimeout(timer);
  }
}

// [SECTION] one page load

// Runs before the page's scripts: records performance.now() (ms since navigation start) the
// moment the page's window.polymarkMount promise settles.
function readyProbe() {
  let mount;
  window.__pmDone = new Promise((resolve) => {
    Object.defineProperty(window, 'polymarkMount', {
      configurable: true,
      get() { return mount; },
      set(value) {
        mount = value;
        Promise.resolve(value).then(() => resolve({ ready: performance.now() }),
          (e) => resolve({ error: `polymarkMount rejected: ${(e && (e.code || e.message)) || e}` }));
      },
    });
  });
}

// Loads url in a new page of context and returns { ready, resources, requests, problems }.
async function measureLoad(context, url, conditions, timeoutMs, encoding) {
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    // gzip only: the requests' Accept-Encoding replaced, as from a browser or proxy without brotli.
    if (encoding === 'gzip') await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'gzip, deflate' } });
    if (conditions) await cdp.send('Network.emulateNetworkConditions', conditions);
    const requests = new Map();
    cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, { url: e.request.url, wallMs: e.wallTime * 1000 }));
    cdp.on('Network.responseReceived', (e) => {
      const r = requests.get(e.requestId);
      if (!r) return;
      const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
      Object.assign(r, { status: e.response.status, encoding: headers['content-encoding'] || 'identity' });
    });
    cdp.on('Network.loadingFinished', (e) => {
      const r = requests.get(e.requestId);
      if (r) r.wireBytes = e.encodedDataLength; // body as transferred plus HTTP headers
    });
    cdp.on('Network.loadingFailed', (e) => {
      const r = requests.get(e.requestId);
      if (r) r.failed = e.errorText;
    });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

    await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs });
    const done = await page.evaluate((ms) => Promise.race([window.__pmDone.then((d) => ({ ...d, origin: performance.timeOrigin })),
      new Promise((resolve) => setTimeout(() => resolve({ error: `no ready event within ${ms} ms` }), ms))]), timeoutMs);
    if (done.error) throw new Error(`${done.error}${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`);
    const resources = await page.evaluate(() => [...performance.getEntriesByType('navigation'),
      ...performance.getEntriesByType('resource')].map((e) => ({
      url: e.name, start: e.startTime, end: e.responseEnd,
      transferBytes: e.transferSize, encodedBytes: e.encodedBodySize, decodedBytes: e.decodedBodySize,
    })));
    // Requests made after `ready` (the service worker's script, which the page registers once
    // the first image is on screen) are not part of what a labeler waits for.
    const readyWallMs = done.origin + done.ready;
    const all = [...requests.values()].map((r) => ({ ...r, afterReady: r.wallMs > readyWallMs }));
    return { ready: done.ready, resources, requests: all, problems };
  } finally {
    await page.close();
  }
}

// A cold load in a fresh context (empty HTTP cache), then a warm load in a new page of the same
// context (HTTP cache primed by the cold load).
async function coldAndWarm(browser, url, conditions, timeoutMs, encoding) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addInitScript(readyProbe);
    const cold = await measureLoad(context, url, conditions, timeoutMs, encoding);
    const warm = await measureLoad(context, url, conditions, timeoutMs, encoding);
    return { cold, warm };
  } finally {
    await context.close();
  }
}

// [SECTION] numbers

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const stats = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const round1 = (x) => Math.round(x * 10) / 10;

// Client files: anything fetched over HTTP except task media and API replies.
function isClientFile(base, url) {
  if (!/^https?:/.test(url)) return false;
  const u = new URL(url);
  return !(u.origin === base.origin && (u.pathname.startsWith('/media/') || u.pathname.startsWith('/api/')));
}

function fileLabel(base, url) {
  const u = new URL(url);
  if (u.origin !== base.origin) return url;
  return u.pathname === '/' ? '/ (index.html)' : u.pathname.slice(1);
}

// Per-file bytes of one cold load: raw and as-sent bodies from Resource Timing, encoding and
// wire bytes (body plus headers) from the CDP Network events. The first load is what is
// requested until `ready`; files requested after it are listed apart and not counted.
function sizeTable(base, load) {
  const files = [];
  const later = [];
  for (const r of load.requests) {
    if (!isClientFile(base, r.url)) continue;
    const timing = load.resources.find((t) => t.url === r.url) || {};
    (r.afterReady ? later : files).push({
      file: fileLabel(base, r.url), url: r.url, status: r.status ?? null, encoding: r.encoding ?? null,
      rawBytes: timing.decodedBytes ?? null, sentBytes: timing.encodedBytes ?? null, wireBytes: r.wireBytes ?? null,
      failed: r.failed ?? null,
    });
  }
  const sum = (list, k) => list.reduce((s, f) => s + (f[k] || 0), 0);
  const total = { rawBytes: sum(files, 'rawBytes'), sentBytes: sum(files, 'sentBytes'), wireBytes: sum(files, 'wireBytes') };
  return { files, total, afterReady: later, targetSentBytes: TARGET_GZIP_BYTES,
    targetMet: total.sentBytes <= TARGET_GZIP_BYTES, peer: PEER };
}

// Medians over runs of each resource's start and responseEnd (ms after navigation start).
function breakdown(base, loads) {
  const rows = new Map();
  const add = (label, start, end) => {
    if (!rows.has(label)) rows.set(label, { milestone: label, starts: [], ends: [] });
    const row = rows.get(label);
    if (start != null) row.starts.push(start);
    row.ends.push(end);
  };
  for (const load of loads) {
    let media = false;
    for (const r of load.resources) {
      const u = new URL(r.url);
      if (u.origin === base.origin && u.pathname.startsWith('/media/')) {
        if (media) continue; // only the first image matters for ready
        media = true;
        add('first media file received', r.start, r.end);
      } else {
        add(`${fileLabel(base, r.url)} received`, r.start, r.end);
      }
    }
    add('ready', null, load.ready);
  }
  return [...rows.values()].map((r) => ({
    milestone: r.milestone, runs: r.ends.length,
    startMs: r.starts.length ? round1(median(r.starts)) : null, endMs: round1(median(r.ends)),
  })).sort((a, b) => a.endMs - b.endMs);
}

// [SECTION] output

const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);
const bytes = (n) => (n == null ? '-' : n.toLocaleString('en-US'));
const ms = (n) => (n == null ? '-' : String(Math.round(n)));
const kb = (n) => `${(n / KB).toFixed(1)} KB`;
const spread = (s) => `${ms(s.median)} [${ms(s.min)}-${ms(s.max)}]`;

function printSizes(size) {
  console.log('\nFirst load: client files requested until ready (task media and /api/ replies excluded; KB = 1000 bytes)');
  // Content-hashed names (polymark_app.<16 hex>.wasm) are long: the column fits the longest.
  const width = Math.max(26, ...[...size.files, ...size.afterReady].map((f) => f.file.length + 2));
  const row = (f) => {
    const note = f.failed ? `  FAILED: ${f.failed}` : f.status >= 400 ? `  HTTP ${f.status}` : '';
    console.log(`  ${pad(f.file, width)}${lpad(bytes(f.rawBytes), 12)}${lpad(bytes(f.sentBytes), 12)}` +
      `${lpad(bytes(f.wireBytes), 12)}  ${f.encoding ?? '-'}${note}`);
  };
  console.log(`  ${pad('file', width)}${lpad('raw bytes', 12)}${lpad('sent bytes', 12)}${lpad('wire bytes', 12)}  encoding`);
  size.files.forEach(row);
  const t = size.total;
  console.log(`  ${pad('total', width)}${lpad(bytes(t.rawBytes), 12)}${lpad(bytes(t.sentBytes), 12)}${lpad(bytes(t.wireBytes), 12)}`);
  console.log(`  total sent (compressed as the server chose: br or gzip): ${kb(t.sentBytes)}  raw: ${kb(t.rawBytes)}  ` +
    `target <= ${kb(size.targetSentBytes)}: ${size.targetMet ? 'met' : 'NOT met'}`);
  if (size.afterReady.length) {
    console.log('  requested after ready, not counted above (sent bytes as seen by the page when it closed; - if not finished):');
    size.afterReady.forEach(row);
  }
  console.log(`  peer reference: ${size.peer}`);
}

function printTimes(profiles) {
  console.log('\nNavigation start to ready, ms: median [min-max]');
  console.log(`  ${pad('network', 38)}${lpad('runs', 5)}  ${pad('cold', 20)}warm`);
  for (const p of profiles) {
    console.log(`  ${pad(p.label, 38)}${lpad(p.runs, 5)}  ${pad(spread(p.cold), 20)}${spread(p.warm)}`);
  }
  const local = profiles[0];
  console.log(`  target: cold localhost median < ${TARGET_COLD_MS} ms: ${local.cold.median < TARGET_COLD_MS ? 'met' : 'NOT met'}`);
}

function printBreakdown(p) {
  console.log(`\nCold ${p.label}: milestones, ms after navigation start (median of ${p.runs} runs each)`);
  console.log(`  ${pad('milestone', 40)}${lpad('start', 7)}${lpad('end', 7)}`);
  for (const r of p.breakdown) console.log(`  ${pad(r.milestone, 40)}${lpad(ms(r.startMs), 7)}${lpad(ms(r.endMs), 7)}`);
}

function environment(browser) {
  const git = (...args) => { try { return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim(); } catch { return null; } };
  return {
    date: new Date().toISOString(),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain') ? true : false,
    dist,
    browser: `Chromium ${browser.version()} (headless, SwiftShader WebGL)`,
    viewport: VIEWPORT,
    node: process.version,
    cpus: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}`,
    loadavg: os.loadavg().map(round1),
  };
}

// [SECTION] main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const cache = process.env.POLYMARK_CACHE || path.join(os.homedir(), '.cache/polymark');
  const taskDir = path.join(cache, 'demo');
  for (const f of ['index.html', 'polymark.js']) {
    if (!fs.existsSync(path.join(dist, f))) throw new Error(`${path.join(dist, f)} is missing: run ./tools/build.sh web`);
  }
  if (!fs.existsSync(path.join(taskDir, 'task.json'))) throw new Error(`${taskDir}/task.json is missing: run ./tools/setup.sh`);
  const taskId = JSON.parse(fs.readFileSync(path.join(taskDir, 'task.json'), 'utf8')).id;

  // Exiting runs the 'exit' handlers: serve.py is stopped there, Chromium by playwright-core.
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
  const server = await startServer(taskDir);
  const browser = await launchBrowser();
  try {
    const pageUrl = `${server.url}/?task=${encodeURIComponent(taskId)}`;
    const base = new URL(server.url);
    const env = environment(browser);

    console.log('Polymark start-up benchmark');
    console.log(`  client   ${env.dist} (commit ${env.commit ?? '?'}${env.dirty ? ', uncommitted changes' : ''})`);
    console.log(`  browser  ${env.browser}, viewport ${VIEWPORT.width}x${VIEWPORT.height}`);
    console.log(`  machine  ${env.cpus}, load average ${env.loadavg.join(' ')}, node ${env.node}`);
    console.log(`  page     ${pageUrl}`);
    console.log(`  accepts  ${opts.encoding === 'gzip' ? 'gzip, deflate (no br)' : "Chromium's own Accept-Encoding (br, gzip, ...)"}`);

    // One discarded pair first, so browser start-up and serve.py's one-time gzip of each file
    // are not charged to the first measured run.
    await coldAndWarm(browser, pageUrl, null, 60000, opts.encoding);

    const profiles = [
      { name: 'localhost', label: 'localhost, unthrottled', conditions: null, runs: opts.runs, timeoutMs: 60000 },
      { name: 'throttled', label: '2 Mbit/s down+up, 200 ms round trip', conditions: THROTTLE, runs: opts.throttledRuns, timeoutMs: 180000 },
    ].filter((p) => p.runs > 0);
    const problems = new Set();
    let size = null;
    for (const p of profiles) {
      const pairs = [];
      for (let i = 0; i < p.runs; i++) {
        if (process.stderr.isTTY) process.stderr.write(`\r  ${p.label}: run ${i + 1}/${p.runs}   `);
        const pair = await coldAndWarm(browser, pageUrl, p.conditions, p.timeoutMs, opts.encoding);
        for (const load of [pair.cold, pair.warm]) load.problems.forEach((x) => problems.add(x));
        pairs.push(pair);
      }
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      if (!size) size = sizeTable(base, pairs[0].cold);
      p.cold = stats(pairs.map((x) => round1(x.cold.ready)));
      p.warm = stats(pairs.map((x) => round1(x.warm.ready)));
      p.breakdown = breakdown(base, pairs.map((x) => x.cold));
      // What a warm load transfers (revalidations and anything not cached), client files only.
      p.warmSentBytes = stats(pairs.map((x) => x.warm.resources
        .filter((r) => isClientFile(base, r.url)).reduce((s, r) => s + r.transferBytes, 0)));
    }

    printSizes(size);
    printTimes(profiles);
    for (const p of profiles) printBreakdown(p);
    console.log(`\n  warm load, client files re-transferred (headers of 304 revalidations): ` +
      profiles.map((p) => `${p.name} ${bytes(p.warmSentBytes.median)} bytes`).join(', '));
    if (problems.size) {
      console.log('\nPage problems seen (not fatal):');
      for (const x of problems) console.log(`  ${x}`);
    }

    if (opts.json) {
      const out = {
        environment: env, page: pageUrl, size,
        targets: { sentBytes: TARGET_GZIP_BYTES, coldLocalhostMedianMs: TARGET_COLD_MS },
        throttle: THROTTLE,
        times: Object.fromEntries(profiles.map((p) => [p.name, {
          label: p.label, runs: p.runs, coldMs: p.cold, warmMs: p.warm,
          coldBreakdown: p.breakdown, warmClientTransferBytes: p.warmSentBytes,
        }])),
        problems: [...problems],
      };
      fs.writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
      console.log(`\nJSON written to ${opts.json}`);
    }
  } finally {
    await browser.close();
    server.stop();
  }
}

main().catch((e) => {
  console.error(`\nstartup.mjs: ${e.message}`);
  process.exit(1);
});
