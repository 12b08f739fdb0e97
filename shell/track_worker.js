// "Track forward" off the page's thread: this worker runs the core's TrackForwardJob (the
// polymark_tracker module, client/platform/tracker_module.cpp) on frames the page reads and
// transfers to it, and hands back what the job wrote. The page (shell/src/tracking.js) decides which
// frames to read ahead; the worker feeds them in order.
//
// page -> worker: {type: 'start', spec, moduleUrl, wasmUrl}   spec as pm_tf_start takes it
//                 {type: 'frame', frame, width, height, channels, pixels: Uint8Array (transferred)}
//                 {type: 'failed', frame, reason}     the page could not read that frame
//                 {type: 'cancel'}
// worker -> page: {type: 'started', ok, status | errors, next}
//                 {type: 'fed', next}                 after each frame fed (next: -1 when finished)
//                 {type: 'status', status}            at most every 100 ms
//                 {type: 'done', status, written}     once per job; written as track_written_to_json
//
// In a browser without Web Workers the page loads this file as a script and runs the same code
// (PolymarkTrackWorker(post, loadScript)), fed in slices of at most 8 ms so that it keeps drawing.
'use strict';
(function (scope) {
  var inPage = typeof WorkerGlobalScope === 'undefined' || !(scope instanceof WorkerGlobalScope);
  if (inPage) scope.PolymarkTrackWorker = create;
  else {
    var receive = create(function (m) { scope.postMessage(m); }, function (url) { importScripts(url); return Promise.resolve(); });
    scope.onmessage = function (e) { receive(e.data); };
  }

function create(postMessage, loadScript) {
  var M = null;
  var loading = null;
  var frames = new Map();  // frame -> message, waiting for its turn
  var running = false, starting = false, cancelled = false, cancelAtStart = false, lastStatus = 0;
  var trackingMs = 0, waitingMs = 0, idleSince = 0;  // time in the tracker, and waiting for frames

  // wasmUrl: the module's .wasm as the page names it (a content-hashed name); else beside the glue.
  function load(moduleUrl, wasmUrl) {
    if (!loading) {
      var script;
      try { script = loadScript(moduleUrl); } catch (e) { return Promise.reject(e); }
      loading = script.then(function () { return createPolymarkTrackerModule({ locateFile: function (f) { return wasmUrl && /\.wasm$/.test(f) ? wasmUrl : new URL(f, moduleUrl).href; } }); })
        .then(function (m) { M = m; return m; });
    }
    return loading;
  }

  function text(fn) {
    var ptr = fn();
    return ptr ? JSON.parse(M.UTF8ToString(ptr)) : null;
  }

  function withString(s, fn) {
    var size = M.lengthBytesUTF8(s) + 1;
    var ptr = M._malloc(size);
    M.stringToUTF8(s, ptr, size);
    try { return fn(ptr); } finally { M._free(ptr); }
  }

  function finish() {
    running = false;
    frames.clear();
    var state = cancelled ? 'cancelled' : 'done';
    var status = withString(state, function (p) { return text(function () { return M._pm_tf_status(p); }); });
    var written = text(function () { return M._pm_tf_written(); });
    if (status) { status.trackingMs = Math.round(trackingMs); status.waitingMs = Math.round(waitingMs); }
    postMessage({ type: 'done', status: status, written: written });
  }

  // Feeds every frame that is next in line; the job asks for them in order. In the page, a slice
  // of at most 8 ms, then the rest after the page had its turn.
  var pumpLater = 0;
  function pump() {
    var began = performance.now();
    while (running) {
      if (inPage && performance.now() - began > 8) {
        if (!pumpLater) pumpLater = setTimeout(function () { pumpLater = 0; pump(); }, 0);
        return;
      }
      var next = M._pm_tf_next();
      if (next < 0) return finish();
      var m = frames.get(next);
      if (!m) { idleSince = performance.now(); return; }
      if (idleSince) { waitingMs += performance.now() - idleSince; idleSince = 0; }
      frames.delete(next);
      if (m.type === 'failed') {
        withString(m.reason || 'no pixels', function (p) { M._pm_tf_failed(next, p); });
      } else {
        var ptr = M._malloc(m.pixels.length);
        M.HEAPU8.set(m.pixels, ptr);
        var t0 = performance.now();
        M._pm_tf_feed(next, m.width, m.height, m.channels, ptr);
        trackingMs += performance.now() - t0;
        M._free(ptr);
      }
      postMessage({ type: 'fed', next: M._pm_tf_next() });
      var now = Date.now();
      if (now - lastStatus >= 100) {
        lastStatus = now;
        postMessage({ type: 'status', status: withString('running', function (p) { return text(function () { return M._pm_tf_status(p); }); }) });
      }
    }
  }

  return function receive(m) {
    if (m.type === 'start') {
      // Frames may arrive while the module loads (another worker of the run asked for them): kept.
      starting = true;
      frames.clear();
      load(m.moduleUrl, m.wasmUrl).then(function () {
        var reply = withString(JSON.stringify(m.spec), function (p) { return text(function () { return M._pm_tf_start(p); }); });
        starting = false;
        cancelled = false;
        running = !!(reply && reply.ok);
        lastStatus = Date.now();
        trackingMs = 0;
        waitingMs = 0;
        idleSince = performance.now();
        postMessage({ type: 'started', ok: running, status: reply && reply.status, errors: reply && reply.errors, next: running ? M._pm_tf_next() : -1 });
        if (running && cancelAtStart) { cancelled = true; M._pm_tf_cancel(); }
        cancelAtStart = false;
        if (running) pump();
        else frames.clear();
      }, function (err) {
        starting = false;
        frames.clear();
        postMessage({ type: 'started', ok: false, errors: [{ code: 'load_failed', path: m.moduleUrl, message: 'the tracking module could not load: ' + ((err && err.message) || err) }], next: -1 });
      });
    } else if (m.type === 'frame' || m.type === 'failed') {
      if (!running && !starting) return;
      frames.set(m.frame, m);
      if (running) pump();
    } else if (m.type === 'cancel') {
      if (starting) { cancelAtStart = true; return; }
      if (!running) return;
      cancelled = true;
      M._pm_tf_cancel();
      pump();
    }
  };
}
})(self);
