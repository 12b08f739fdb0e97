// The manager view's reports off the page's thread: this worker runs the quality module
// (client/platform/quality_module.cpp, shared/polymark/quality_wire.hpp) on the calls the page
// sends. Bundled into dist/quality_worker.js.
//
// page -> worker: {id, moduleUrl, call}          call: the quality call as an object
// worker -> page: {id, reply}                     reply: {report, ...} or {errors: [...]}
//                 {id, failed: message}           the module could not load or stopped
let module = null;

function load(moduleUrl) {
  if (!module) {
    importScripts(moduleUrl);
    // eslint-disable-next-line no-undef
    module = createPolymarkQualityModule({ locateFile: (f) => new URL(f, moduleUrl).href });
  }
  return module;
}

function run(M, call) {
  const text = JSON.stringify(call);
  const size = M.lengthBytesUTF8(text) + 1;
  const ptr = M._malloc(size);
  if (!ptr) throw new Error('out of memory for a call of ' + size + ' bytes');
  M.stringToUTF8(text, ptr, size);
  try { return JSON.parse(M.UTF8ToString(M._pm_quality_call(ptr))); } finally { M._free(ptr); }
}

self.onmessage = (e) => {
  const { id, moduleUrl, call } = e.data;
  let loaded;
  try { loaded = load(moduleUrl); } catch (err) { postMessage({ id, failed: 'the quality module could not be loaded from ' + moduleUrl + ': ' + ((err && err.message) || err) }); return; }
  loaded.then((M) => {
    const started = performance.now();
    const reply = run(M, call);
    postMessage({ id, reply, ms: performance.now() - started });
  }).catch((err) => {
    module = null;  // a module that aborted is not used again
    postMessage({ id, failed: 'the quality module stopped: ' + ((err && err.message) || err) });
  });
};
