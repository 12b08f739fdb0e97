// OpenCV.js (npm @techstark/opencv-js 4.12.0, wasm) TrackerMIL in node on the same frames as the
// other runners: the raw grey frames decode_frames.py wrote, from the first ground-truth box.
//
//   node --no-experimental-fetch bench/tracking/run_opencvjs.cjs RAW_DIR SEQ_DIR... [--frames N] [--boxes DIR]
//
// --frames N stops each sequence after N frames (MIL in wasm takes seconds a frame on big
// targets); the table says how many frames each line covers. Only init() and update() are timed
// (copying a frame into the Mat is not). On a reported failure the box stays where it was.
// Ground truth and scoring follow bench/tracking/metrics.py (4 or 8 numbers a row, `nan` rows are
// frames without the target: left out of the averages, a box reported on them counted apart; the
// first box clipped to the frame). --boxes DIR writes DIR/opencvjs-MIL/<sequence>.txt, one row per
// frame from frame 1. A sequence that cannot be run is reported and skipped (exit status 1).
// CommonJS (.cjs) because opencv.js is a UMD script and the repository's package.json says
// "type": "module".
'use strict';
const fs = require('fs');
const path = require('path');
const cv = require('@techstark/opencv-js');

function ready() {
  return new Promise((resolve) => {
    const t = setInterval(() => { if (cv.Mat) { clearInterval(t); resolve(); } }, 10);
  });
}

// groundtruth.txt: per non-blank line a box [x, y, w, h], or null where the target is absent.
function readTruth(file) {
  const rows = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((line, k) => {
    const fields = line.trim().split(/[\s,;]+/).filter(Boolean);
    if (!fields.length) return;
    const v = fields.map((f) => (/^[-+]?nan$/i.test(f) ? NaN : Number(f)));
    if ((v.length !== 4 && v.length !== 8) || fields.some((f, i) => Number.isNaN(v[i]) && !/^[-+]?nan$/i.test(f)))
      throw new Error(`${file}:${k + 1}: expected 4 numbers (x,y,w,h) or 8 (a VOT polygon)`);
    if (v.some(Number.isNaN)) { rows.push(null); return; }
    if (v.length === 8) {
      const xs = [v[0], v[2], v[4], v[6]], ys = [v[1], v[3], v[5], v[7]];
      const x0 = Math.min(...xs), y0 = Math.min(...ys);
      rows.push([x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0]);
    } else rows.push(v);
  });
  return rows;
}

function clipBox(b, width, height) {
  const x0 = Math.max(b[0], 0), y0 = Math.max(b[1], 0);
  const x1 = Math.min(b[0] + b[2], width), y1 = Math.min(b[1] + b[3], height);
  return [x0, y0, Math.max(0, x1 - x0), Math.max(0, y1 - y0)];
}

function iou(a, b) {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const i = ix * iy, u = a[2] * a[3] + b[2] * b[3] - i;
  return u > 0 ? i / u : 0;
}

function centreDistance(a, b) {
  return Math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2);
}

// metrics.summarise: frame 0 is the given box; absent frames are left out of the averages.
function summarise(truth, boxes, reported, seconds, cpuSeconds) {
  const ious = [], dists = [];
  let absent = 0, absentBoxed = 0, first = -1;
  for (let i = 1; i < boxes.length; ++i) {
    if (truth[i] === null) { absent += 1; absentBoxed += reported[i] ? 1 : 0; continue; }
    const v = iou(boxes[i], truth[i]);
    if (v < 0.1 && first < 0) first = ious.length;
    ious.push(v);
    dists.push(centreDistance(boxes[i], truth[i]));
  }
  const n = ious.length, updates = boxes.length - 1;
  let auc = 0;
  for (let t = 0; t <= 20; ++t) auc += n ? ious.filter((v) => v > t / 20).length / n : 0;
  return {
    frames: boxes.length, fps: seconds > 0 ? updates / seconds : 0, cpu_fps: cpuSeconds > 0 ? updates / cpuSeconds : 0,
    scored: n, absent, absent_boxed: absentBoxed, mean_iou: n ? ious.reduce((a, b) => a + b, 0) / n : 0, auc: auc / 21,
    precision20: n ? dists.filter((d) => d <= 20).length / n : 0, first_loss: first < 0 ? n : first,
  };
}

function runSequence(rawDir, seq, name, limit) {
  const meta = JSON.parse(fs.readFileSync(path.join(rawDir, name + '.json'), 'utf8'));
  const truth = readTruth(path.join(seq, 'groundtruth.txt'));
  const n = Math.min(meta.frames, truth.length, limit);
  if (n < 2) throw new Error('fewer than 2 frames with ground truth');
  if (truth[0] === null) throw new Error('the first frame has no box (nan): nothing to start from');
  const fd = fs.openSync(path.join(rawDir, name + '.gray'), 'r');
  const size = meta.width * meta.height;
  const mat = new cv.Mat(meta.height, meta.width, cv.CV_8UC1);
  const tracker = new cv.TrackerMIL();
  const boxes = [], reported = [];
  let seconds = 0, cpuSeconds = 0;
  try {
    for (let i = 0; i < n; ++i) {
      fs.readSync(fd, mat.data, 0, size, i * size);
      if (i === 0) {
        const c = clipBox(truth[0], meta.width, meta.height);
        const x0 = Math.round(c[0]), y0 = Math.round(c[1]);
        const x1 = Math.round(c[0] + c[2]), y1 = Math.round(c[1] + c[3]);
        tracker.init(mat, new cv.Rect(x0, y0, x1 - x0, y1 - y0));
        boxes.push([x0, y0, x1 - x0, y1 - y0]);
        reported.push(true);
        continue;
      }
      const t0 = performance.now(), c0 = process.cpuUsage();
      const [ok, r] = tracker.update(mat);
      seconds += (performance.now() - t0) / 1000;
      const c1 = process.cpuUsage(c0);
      cpuSeconds += (c1.user + c1.system) / 1e6;
      boxes.push(ok ? [r.x, r.y, r.width, r.height] : boxes[boxes.length - 1]);
      reported.push(Boolean(ok));
    }
  } finally {
    fs.closeSync(fd);
    mat.delete();
    if (tracker.delete) tracker.delete();
  }
  return { result: summarise(truth, boxes, reported, seconds, cpuSeconds), boxes, reported };
}

async function main() {
  const args = process.argv.slice(2);
  let limit = Infinity, boxesDir = '';
  const fi = args.indexOf('--frames');
  if (fi >= 0) { limit = Number(args[fi + 1]); args.splice(fi, 2); }
  const bi = args.indexOf('--boxes');
  if (bi >= 0) { boxesDir = args[bi + 1]; args.splice(bi, 2); }
  const [rawDir, ...seqs] = args;
  if (!rawDir || !seqs.length) { console.error('usage: run_opencvjs.cjs RAW_DIR SEQ_DIR... [--frames N] [--boxes DIR]'); process.exit(2); }
  await ready();
  const results = [];
  let failed = 0;
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log(`${pad('tracker', 12)} ${pad('sequence', 20)} ${lpad('frames', 6)} ${lpad('fps', 9)} ${lpad('cpu_fps', 9)} ${lpad('meanIoU', 8)} ${lpad('AUC', 8)} ${lpad('prec20', 8)} ${lpad('first_loss', 11)} ${lpad('absent', 7)}`);
  for (const seq of seqs) {
    const name = path.basename(path.resolve(seq));
    let run;
    try {
      run = runSequence(rawDir, seq, name, limit);
    } catch (e) {
      console.error(`${name}: skipped: ${e.message || e}`);
      failed += 1;
      continue;
    }
    const s = { tracker: 'opencvjs-MIL', sequence: name, ...run.result };
    results.push(s);
    if (boxesDir) {
      fs.mkdirSync(path.join(boxesDir, 'opencvjs-MIL'), { recursive: true });
      fs.writeFileSync(path.join(boxesDir, 'opencvjs-MIL', name + '.txt'),
        run.boxes.map((b, i) => `${b.map((v) => v.toFixed(3)).join(',')},${run.reported[i] ? 1 : 0}\n`).join(''));
    }
    console.log(`${pad('MIL (js)', 12)} ${pad(name, 20)} ${lpad(s.frames, 6)} ${lpad(s.fps.toFixed(1), 9)} ${lpad(s.cpu_fps.toFixed(1), 9)} ${lpad(s.mean_iou.toFixed(3), 8)} ${lpad(s.auc.toFixed(3), 8)} ${lpad(s.precision20.toFixed(3), 8)} ${lpad(s.first_loss, 11)} ${lpad(`${s.absent_boxed}/${s.absent}`, 7)}`);
  }
  if (results.length) {
    const avg = (k) => results.reduce((a, r) => a + r[k], 0) / results.length;
    console.log(`${pad('MIL (js)', 12)} ${pad('average', 20)} ${lpad('', 6)} ${lpad(avg('fps').toFixed(1), 9)} ${lpad(avg('cpu_fps').toFixed(1), 9)} ${lpad(avg('mean_iou').toFixed(3), 8)} ${lpad(avg('auc').toFixed(3), 8)} ${lpad(avg('precision20').toFixed(3), 8)} ${lpad(avg('first_loss').toFixed(1), 11)}`);
  }
  for (const r of results) console.log('RESULT ' + JSON.stringify(r));
  if (failed) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exit(1); });
