// The assisted polygon tools off the page's thread: intelligent scissors, magic wand, box to
// polygon and snap to edges, in the assist module (client/platform/assist_module.cpp, the core's
// live_wire / magic_wand / box_segment). Bundled into dist/assist_worker.js; the module is
// dist/polymark_assist.js + .wasm beside it unless the first image names another `moduleUrl`.
// Coordinates are image pixels, (0,0) the top-left corner of the first pixel; polygons and paths
// are flat Float64Arrays x0,y0,x1,y1,...
//
// page -> worker                                                 worker -> page
//  {type:'image', key, width, height, pixels: ArrayBuffer RGBA    {type:'image-ready', key, ms} or
//   (transferred), moduleUrl?, wasmUrl?}                           {type:'error', id:null, code, message}
//     every request below applies to the last image
//  {type:'anchor', id, x, y}                                      {type:'anchored', id, ms}
//  {type:'path', id, x, y}                                        {type:'path', id, points, ms}
//     from the anchor to (x, y), both ends included. Queued path requests are coalesced: only
//     the newest is answered, so a fast mouse never builds a backlog. A request settles at most
//     300,000 pixels (a jump far from a fresh anchor): beyond that the path ends with a straight
//     run to (x, y), and the worker goes on settling pixels while idle, so later ones are exact
//  {type:'wand', id, x, y, tolerance (0-255), max_vertices}       {type:'polygon', id, points, ms}
//  {type:'box', id, x1, y1, x2, y2, max_vertices}                 {type:'progress', id, done, total} (several)
//                                                                 then {type:'polygon', id, points, ms}
//     one box job at a time (a new one cancels the old, which answers 'cancelled'); it yields to
//     the event loop between steps, and other requests are answered in between
//  {type:'cancel', id}                                            {type:'cancelled', id}
//  {type:'snap', id, x, y, radius}                                {type:'snapped', id, x, y, moved}
//  any failure                                                    {type:'error', id, code, message}
// Error codes: those of the core (not_a_number, outside_image, bad_tolerance, bad_vertex_budget,
// empty_box, bad_radius, no_anchor, no_object, empty_image, too_large), and no_image (no image
// yet), bad_image (pixels do not match width x height), bad_request (unknown type), module_failed
// (the module could not be loaded), aborted (the module stopped; the next image reloads it).
// The worker never dies on bad input.
'use strict';

let M = null;
let loading = null;
let hasImage = false;
const inbox = [];
let box = null;         // {id, total, started}
let idle = false;       // the live-wire has pixels left to settle from its anchor
let scheduled = false;
let busy = false;

const tick = new MessageChannel();
tick.port1.onmessage = () => { scheduled = false; pump(); };
function schedule() {
  if (!scheduled) { scheduled = true; tick.port2.postMessage(0); }
}

// wasmUrl: the module's .wasm as the page names it (a content-hashed name); else beside the glue.
function load(moduleUrl, wasmUrl) {
  if (!loading) {
    const url = moduleUrl || new URL('polymark_assist.js', self.location.href).href;
    loading = Promise.resolve().then(() => {
      importScripts(url);
      // eslint-disable-next-line no-undef
      return createPolymarkAssistModule({ locateFile: (f) => (wasmUrl && f.endsWith('.wasm') ? wasmUrl : new URL(f, url).href) });
    }).then((m) => { M = m; M._pm_assist_warm(); return m; }, (e) => { loading = null; throw e; });
  }
  return loading;
}

function error(id, code, message) {
  self.postMessage({ type: 'error', id: id === undefined ? null : id, code, message });
}

function moduleError(id) {
  error(id, M.UTF8ToString(M._pm_assist_error_code()), M.UTF8ToString(M._pm_assist_error_message()));
}

function result() {
  const n = M._pm_assist_result_size();
  const ptr = M._pm_assist_result() / 8;
  return Float64Array.from(M.HEAPF64.subarray(ptr, ptr + n));
}

// A number as the module takes it: anything else becomes NaN, which the module refuses by name.
const num = (v) => (typeof v === 'number' ? v : NaN);

function setImage(m) {
  const t0 = performance.now();
  const width = m.width, height = m.height;
  const bytes = m.pixels instanceof ArrayBuffer ? new Uint8Array(m.pixels) : ArrayBuffer.isView(m.pixels) ? new Uint8Array(m.pixels.buffer, m.pixels.byteOffset, m.pixels.byteLength) : null;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || !bytes || bytes.length !== width * height * 4) {
    return error(null, 'bad_image', 'an image needs positive whole width and height and width x height x 4 bytes of RGBA pixels');
  }
  hasImage = false;
  idle = false;
  const ptr = M._malloc(bytes.length);
  if (!ptr) return error(null, 'too_large', 'the worker has no memory for an image of ' + width + 'x' + height);
  M.HEAPU8.set(bytes, ptr);
  if (M._pm_assist_image(width, height, ptr)) return moduleError(null);
  hasImage = true;
  self.postMessage({ type: 'image-ready', key: m.key, ms: performance.now() - t0 });
}

function handle(m) {
  const t0 = performance.now();
  const ms = () => performance.now() - t0;
  if (m.type === 'image') return setImage(m);
  if (m.type === 'cancel') {
    if (box && box.id === m.id) { M._pm_assist_box_cancel(); box = null; }
    return self.postMessage({ type: 'cancelled', id: m.id });
  }
  if (!['anchor', 'path', 'wand', 'box', 'snap'].includes(m.type)) return error(m.id, 'bad_request', 'unknown request type ' + JSON.stringify(m.type));
  if (!hasImage) return error(m.id, 'no_image', 'no image has been set (send an image first)');
  switch (m.type) {
    case 'anchor':
      if (M._pm_assist_anchor(num(m.x), num(m.y))) return moduleError(m.id);
      idle = true;
      return self.postMessage({ type: 'anchored', id: m.id, ms: ms() });
    case 'path': {
      if (M._pm_assist_path(num(m.x), num(m.y))) return moduleError(m.id);
      const points = result();
      return self.postMessage({ type: 'path', id: m.id, points, ms: ms() }, [points.buffer]);
    }
    case 'wand': {
      if (M._pm_assist_wand(num(m.x), num(m.y), num(m.tolerance), num(m.max_vertices))) return moduleError(m.id);
      const points = result();
      return self.postMessage({ type: 'polygon', id: m.id, points, ms: ms() }, [points.buffer]);
    }
    case 'snap':
      if (M._pm_assist_snap(num(m.x), num(m.y), num(m.radius))) return moduleError(m.id);
      {
        const r = result();
        return self.postMessage({ type: 'snapped', id: m.id, x: r[0], y: r[1], moved: r[2] === 1 });
      }
    case 'box': {
      if (box) { const old = box.id; box = null; M._pm_assist_box_cancel(); self.postMessage({ type: 'cancelled', id: old }); }
      if (M._pm_assist_box_start(num(m.x1), num(m.y1), num(m.x2), num(m.y2), num(m.max_vertices))) return moduleError(m.id);
      box = { id: m.id, total: M._pm_assist_box_total(), started: t0 };
      self.postMessage({ type: 'progress', id: m.id, done: 0, total: box.total });
    }
  }
}

// One box step: the job's progress, and its polygon once done.
function boxStep() {
  const done = M._pm_assist_box_step();
  const job = box;
  self.postMessage({ type: 'progress', id: job.id, done, total: job.total });
  if (done < job.total) return;
  box = null;
  if (M._pm_assist_box_result()) return moduleError(job.id);
  const points = result();
  self.postMessage({ type: 'polygon', id: job.id, points, ms: performance.now() - job.started }, [points.buffer]);
}

// One message, or one box step, per turn of the event loop: replies go out between them, and a
// cancel or newer requests get in.
function pump() {
  if (busy) return;
  if (!M) {
    const first = inbox.findIndex((m) => m.type === 'image');
    if (first < 0) {
      // Nothing can be answered before an image: say so rather than wait.
      while (inbox.length) {
        const m = inbox.shift();
        if (m.type === 'cancel') self.postMessage({ type: 'cancelled', id: m.id });
        else error(m.id, 'no_image', 'no image has been set (send an image first)');
      }
      return;
    }
    busy = true;
    load(inbox[first].moduleUrl, inbox[first].wasmUrl).then(() => { busy = false; schedule(); }, (e) => {
      busy = false;
      inbox.splice(first, 1);
      error(null, 'module_failed', 'the assist module could not be loaded: ' + ((e && e.message) || e));
      schedule();
    });
    return;
  }
  let m = inbox.shift();
  // Coalesce: a path request followed by a newer one (before any other request) is dropped.
  while (m && m.type === 'path' && inbox.length && inbox[0].type === 'path') m = inbox.shift();
  try {
    if (m) handle(m);
    else if (box) boxStep();
    else if (idle) idle = M._pm_assist_expand(20000) === 1;  // about 2 ms: a request waits no longer
  } catch (e) {
    // The module stopped (out of memory, a bug): drop it; the next image loads a fresh one.
    M = null; loading = null; hasImage = false; idle = false;
    const job = box;
    box = null;
    error(m ? m.id : job && job.id, 'aborted', 'the assist module stopped: ' + ((e && e.message) || e));
  }
  if (inbox.length || box || idle) schedule();
}

self.onmessage = (e) => {
  const m = e.data;
  if (!m || typeof m !== 'object') return error(null, 'bad_request', 'a request is an object with a type');
  if (m.type === 'cancel') {
    // A queued box job that has not started is dropped right away.
    const queued = inbox.findIndex((q) => q.type === 'box' && q.id === m.id);
    if (queued >= 0) { inbox.splice(queued, 1); return self.postMessage({ type: 'cancelled', id: m.id }); }
  }
  inbox.push(m);
  schedule();
};
