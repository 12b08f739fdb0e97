// The manager view's reports off the page's thread: this worker fetches the inputs (documents,
// history pages, review) from the server itself, runs the quality module
// (client/platform/quality_module.cpp, shared/polymark/quality_wire.hpp) on them, and answers.
// The page's thread neither parses nor copies the big inputs. Bundled into dist/quality_worker.js.
//
// page -> worker: {id, moduleUrl, wasmUrl, call, inputs: [{key, index?, url, headers, field?, history?, frames?}]}
//                 each input's reply (its `field`; a history: every page's entries, as {entries})
//                 goes into call[key] (call[key][index] when index is given); with `frames`, a
//                 document keeps only its objects on those frames (tracks stay whole)
// worker -> page: {id, reply, ms, timing}        reply: the module's answer; a consensus's merged
//                                                document comes as `mergedText` (JSON text); ms:
//                                                the call's, timing: {gather, encode, module, decode}
//                 {id, error: {code, message}}   an input could not be read, or the module stopped
let module = null;

// wasmUrl: the module's .wasm as the page names it (a content-hashed name); else beside the glue.
function load(moduleUrl, wasmUrl) {
  if (!module) {
    importScripts(moduleUrl);
    // eslint-disable-next-line no-undef
    module = createPolymarkQualityModule({ locateFile: (f) => (wasmUrl && f.endsWith('.wasm') ? wasmUrl : new URL(f, moduleUrl).href) });
  }
  return module;
}

function failure(code, message) {
  return Object.assign(new Error(message), { code });
}

async function fetchJson(url, headers) {
  let response;
  try { response = await fetch(url, { headers }); } catch (e) { throw failure('network', 'the server could not be reached for ' + url + ': ' + ((e && e.message) || e)); }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body && body.error;
    throw failure(error && error.code ? error.code : 'http_' + response.status, (error && error.message) || 'the server answered ' + response.status + ' for ' + url);
  }
  if (body === null) throw failure('bad_reply', url + ' did not answer JSON');
  return body;
}

// A history reply page by page: the last entry's revision is the next page's `after`.
async function history(url, headers) {
  const entries = [];
  for (let after = null; ;) {
    const page = (await fetchJson(url + (after === null ? '' : '&after=' + after), headers)).entries;
    for (const e of page) entries.push(e);
    if (page.length < 10000) return { entries };
    after = page[page.length - 1].revision;
  }
}

async function gather(call, inputs) {
  await Promise.all((inputs || []).map(async (input) => {
    const body = input.history ? await history(input.url, input.headers) : await fetchJson(input.url, input.headers);
    const value = input.field ? body[input.field] : body;
    // A document read for some frames only (a task's labels on its golden frames) enters the module
    // with only the objects on them: the module's JSON reading is its slowest part.
    if (input.frames && value && Array.isArray(value.objects)) {
      const frames = new Set(input.frames);
      value.objects = value.objects.filter((o) => frames.has(o.frame));
    }
    if (input.index === undefined) call[input.key] = value;
    else (call[input.key] = call[input.key] || [])[input.index] = value;
  }));
}

// The call as JSON text into the module, its answer parsed; `timing` gets each step's milliseconds.
function run(M, call, timing) {
  let t = performance.now();
  const lap = (name) => { const now = performance.now(); timing[name] = now - t; t = now; };
  const text = JSON.stringify(call);
  const size = M.lengthBytesUTF8(text) + 1;
  const ptr = M._malloc(size);
  if (!ptr) throw failure('aborted', 'the quality module has no memory for a call of ' + size + ' bytes');
  M.stringToUTF8(text, ptr, size);
  lap('encode');
  try {
    const answer = M._pm_quality_call(ptr);
    lap('module');
    const reply = JSON.parse(M.UTF8ToString(answer));
    lap('decode');
    return reply;
  } finally { M._free(ptr); }
}

self.onmessage = async (e) => {
  const { id, moduleUrl, wasmUrl, call, inputs } = e.data;
  try {
    let loaded;
    try { loaded = load(moduleUrl, wasmUrl); } catch (err) { throw failure('load_failed', 'the quality module could not be loaded from ' + moduleUrl + ': ' + ((err && err.message) || err)); }
    const timing = {};
    let started = performance.now();
    const [M] = await Promise.all([loaded, gather(call, inputs)]);
    timing.gather = performance.now() - started;
    started = performance.now();
    let reply;
    try { reply = run(M, call, timing); } catch (err) {
      module = null;  // a module that aborted is not used again
      throw failure('aborted', 'the quality module stopped: ' + ((err && err.message) || err));
    }
    const ms = performance.now() - started;
    if (reply.merged) {
      reply.mergedText = JSON.stringify(reply.merged);
      delete reply.merged;
    }
    postMessage({ id, reply, ms, timing });
  } catch (err) {
    postMessage({ id, error: { code: err.code || 'aborted', message: (err && err.message) || String(err) } });
  }
};
