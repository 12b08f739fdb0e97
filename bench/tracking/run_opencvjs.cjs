// OpenCV.js (npm @techstark/opencv-js 4.12.0, wasm) TrackerMIL in node on the same frames as the
// other runners: the raw grey frames decode_frames.py wrote, from the first ground-truth box.
//
//   node --no-experimental-fetch bench/tracking/run_opencvjs.cjs RAW_DIR SEQ_DIR... [--frames N]
//
// --frames N stops each sequence after N frames (MIL in wasm takes seconds a frame on big
// targets); the table says how many frames each line covers. Only init() and update() are timed
// (copying a frame into the Mat is not). On a reported failure the box stays where it was.
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

function readBoxes(file) {
  return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean)
    .map((l) => l.split(/[\s,;]+/).slice(0, 4).map(Number));
}

function iou(a, b) {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const i = ix * iy, u = a[2] * a[3] + b[2] * b[3] - i;
  return u > 0 ? i / u : 0;
}

function summarise(ious, seconds, cpuSeconds) {
  const n = ious.length;
  let auc = 0;
  for (let t = 0; t <= 20; ++t) auc += ious.filter((v) => v > t / 20).length / n;
  let first = ious.findIndex((v) => v < 0.1);
  if (first < 0) first = n;
  return { frames: n + 1, fps: n / seconds, cpu_fps: n / cpuSeconds, mean_iou: ious.reduce((a, b) => a + b, 0) / n, auc: auc / 21, first_loss: first };
}

async function main() {
  const args = process.argv.slice(2);
  let limit = Infinity;
  const fi = args.indexOf('--frames');
  if (fi >= 0) { limit = Number(args[fi + 1]); args.splice(fi, 2); }
  const [rawDir, ...seqs] = args;
  if (!rawDir || !seqs.length) { console.error('usage: run_opencvjs.cjs RAW_DIR SEQ_DIR... [--frames N]'); process.exit(2); }
  await ready();
  const results = [];
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  console.log(`${pad('tracker', 12)} ${pad('sequence', 20)} ${lpad('frames', 6)} ${lpad('fps', 9)} ${lpad('cpu_fps', 9)} ${lpad('meanIoU', 8)} ${lpad('AUC', 8)} ${lpad('first_loss', 11)}`);
  for (const seq of seqs) {
    const name = path.basename(path.resolve(seq));
    const meta = JSON.parse(fs.readFileSync(path.join(rawDir, name + '.json'), 'utf8'));
    const gt = readBoxes(path.join(seq, 'groundtruth.txt'));
    const n = Math.min(meta.frames, gt.length, limit);
    const fd = fs.openSync(path.join(rawDir, name + '.gray'), 'r');
    const size = meta.width * meta.height;
    const mat = new cv.Mat(meta.height, meta.width, cv.CV_8UC1);
    const tracker = new cv.TrackerMIL();
    let box = gt[0].slice();
    let seconds = 0, cpuSeconds = 0;
    const ious = [];
    for (let i = 0; i < n; ++i) {
      fs.readSync(fd, mat.data, 0, size, i * size);
      if (i === 0) {
        const [x, y, w, h] = gt[0].map(Math.round);
        tracker.init(mat, new cv.Rect(x, y, w, h));
        continue;
      }
      const t0 = performance.now(), c0 = process.cpuUsage();
      const [ok, r] = tracker.update(mat);
      seconds += (performance.now() - t0) / 1000;
      const c1 = process.cpuUsage(c0);
      cpuSeconds += (c1.user + c1.system) / 1e6;
      if (ok) box = [r.x, r.y, r.width, r.height];
      ious.push(iou(box, gt[i]));
    }
    fs.closeSync(fd);
    mat.delete();
    if (tracker.delete) tracker.delete();
    const s = { tracker: 'opencvjs-MIL', sequence: name, ...summarise(ious, seconds, cpuSeconds) };
    results.push(s);
    console.log(`${pad('MIL (js)', 12)} ${pad(name, 20)} ${lpad(s.frames, 6)} ${lpad(s.fps.toFixed(1), 9)} ${lpad(s.cpu_fps.toFixed(1), 9)} ${lpad(s.mean_iou.toFixed(3), 8)} ${lpad(s.auc.toFixed(3), 8)} ${lpad(s.first_loss, 11)}`);
  }
  const avg = (k) => results.reduce((a, r) => a + r[k], 0) / results.length;
  console.log(`${pad('MIL (js)', 12)} ${pad('average', 20)} ${lpad('', 6)} ${lpad(avg('fps').toFixed(1), 9)} ${lpad(avg('cpu_fps').toFixed(1), 9)} ${lpad(avg('mean_iou').toFixed(3), 8)} ${lpad(avg('auc').toFixed(3), 8)} ${lpad(avg('first_loss').toFixed(1), 11)}`);
  for (const r of results) console.log('RESULT ' + JSON.stringify(r));
}

main().catch((e) => { console.error(e); process.exit(1); });
