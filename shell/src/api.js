// [SECTION] API surface: the instance object a mount resolves with (docs/API.md), and the one
// call into the module (_pm_call: a method name and JSON in, a JSON reply out).
import { PolymarkError } from './util.js';
import { storageReport, unregisterOffline } from './offline.js';

// Calls the module; returns the reply's value or throws a PolymarkError with the first error.
export function callModule(ctx, method, args) {
  let argText = '';
  try {
    if (args !== undefined) argText = JSON.stringify(args);
  } catch (e) { // a cycle, or nesting past the engine's stack: the data's fault, not a crash
    throw PolymarkError(method === 'setAnnotations' ? 'invalid_document' : 'bad_argument',
      method + ': the argument cannot be written as JSON (' + ((e && e.message) || e) + '); docs/SCHEMA.md section 12 limits nesting to 64 levels');
  }
  return callModuleText(ctx, method, argText);
}

// The same with the arguments as JSON text already (an import's parts: not parsed and written again).
export function callModuleText(ctx, method, argText) {
  if (ctx.destroyed) throw PolymarkError('destroyed', 'this Polymark instance was destroyed');
  const M = ctx.M;
  if (!M) throw PolymarkError('not_ready', 'Polymark is still loading');
  const mLen = M.lengthBytesUTF8(method) + 1;
  const aLen = M.lengthBytesUTF8(argText) + 1;
  const mPtr = M._malloc(mLen);
  const aPtr = M._malloc(aLen);
  M.stringToUTF8(method, mPtr, mLen);
  M.stringToUTF8(argText, aPtr, aLen);
  let reply;
  try {
    reply = JSON.parse(M.UTF8ToString(M._pm_call(mPtr, aPtr)));
  } finally {
    M._free(mPtr);
    M._free(aPtr);
  }
  if (!reply.ok) {
    const first = reply.errors[0];
    const code = method === 'setAnnotations' ? 'invalid_document' : first.code;
    const where = first.path ? ' (at ' + first.path + ')' : '';
    const more = reply.errors.length > 1 ? ' (and ' + (reply.errors.length - 1) + ' more)' : '';
    const error = PolymarkError(code, first.message + (first.message.indexOf(first.path) >= 0 ? '' : where) + more, reply.errors);
    error.where = first.path || '';
    throw error;
  }
  return reply.value;
}

const idList = (ids) => (ids === undefined || ids === null ? null : [].concat(ids).map(String));

// The host's handle on one mount. ctx: the mount's state; destroy: its teardown; videos(): the
// open video sources by URL; canvas: its canvas.
export function createInstance(ctx, destroy, videos, canvas, formats) {
  const call = (method, args) => callModule(ctx, method, args);
  const instance = {
    getAnnotations: () => call('getAnnotations'),
    setAnnotations: (doc) => {
      if (doc === null || typeof doc !== 'object') throw PolymarkError('invalid_document', 'setAnnotations needs an annotation document object');
      call('setAnnotations', doc);
    },
    getView: () => call('getView'),
    getLayout: () => call('getLayout'),
    setFrame: (frame) => { call('setFrame', frame); },
    fit: () => { call('fit'); },
    setView: (view) => call('setView', view),
    setImageAdjust: (adjust) => call('setImageAdjust', adjust),
    setShapeStyle: (style) => call('setShapeStyle', style),
    takeFrameTimes: () => call('takeFrameTimes'),
    getRendering: () => call('getRendering'),
    missingGlyphs: (text) => call('missingGlyphs', String(text)),
    getTask: () => call('getTask'),
    undo: () => call('undo'),
    redo: () => call('redo'),
    getHistory: () => call('getHistory'),
    setTool: (tool, label, opts) => {
      const track = opts && typeof opts === 'object' && 'track' in opts ? opts.track : null;
      return call('setTool', { tool, label: label === undefined ? null : label, track });
    },
    getFrameState: (frame) => call('getFrameState', frame),
    // Diagnostics for tests and benchmarks: the decoder's counters of each open video.
    getVideoStats: () => {
      const open = videos();
      return Promise.all(Object.keys(open).map((url) => open[url].then((s) => {
        const st = s.stats();
        st.url = url;
        st.frameCount = s.frameCount;
        return st;
      }, () => null))).then((all) => all.filter(Boolean));
    },
    getTool: () => call('getTool'),
    getSelection: () => call('getSelection'),
    getSyncStatus: () => call('getSyncStatus'),
    // Resolves with the run's outcome when it ends (done, cancelled); rejects when it cannot start.
    trackForward: (opts) => {
      let started;
      try { started = call('trackForward', opts === undefined ? null : opts); } catch (e) { return Promise.reject(e); }
      return new Promise((res) => {
        if (started.state !== 'running') return res(started);
        ctx.trackingWaiters.push(res);
      });
    },
    cancelTracking: () => call('cancelTracking'),
    getTracking: () => call('getTracking'),
    // Diagnostics for tests: stops the wasm instance as a crash would (it then remounts).
    debugAbort: () => { try { call('debugAbort'); } catch (e) { /* the abort itself */ } },
    flush: () => call('flush'),
    setToken: (t) => {
      if (typeof t !== 'string') throw PolymarkError('bad_argument', 'setToken needs a string');
      ctx.token = t;
      ctx.whenRunning(() => ctx.syncCall('setToken', t));
    },
    resolveConflict: (id, choice) => call('resolveConflict', { id: String(id), choice }),
    resolveAllConflicts: (choice) => call('resolveConflict', { id: '', all: true, choice }),
    // Changes the server refused for their content (docs/API.md, "Sync"); ids: one id, a list, or none (all).
    retrySetAside: (ids) => call('retrySetAside', { ids: idList(ids) }),
    discardSetAside: (ids) => call('discardSetAside', { ids: idList(ids) }),
    getStorage: () => storageReport(ctx.base, ctx.options),
    unregisterOffline: () => unregisterOffline(ctx.options),
    select: (ids) => call('select', ids),
    // A model's predictions (docs/API.md, "Predictions"): the queue, accepting, the next to confirm.
    getPredictionQueue: () => call('getPredictionQueue'),
    acceptPredictions: (ids) => call('acceptPredictions', { ids: idList(ids) }),
    nextPrediction: () => call('nextPrediction'),
    // Review (docs/API.md, "Review"): jobs, issues pinned to regions, their threads, decisions.
    getReview: () => call('getReview'),
    openIssue: (issue) => call('openIssue', issue),
    replyToIssue: (reply) => call('replyToIssue', reply),
    setIssueStatus: (change) => { call('setIssueStatus', change); },
    decide: (decision) => call('decide', decision),
    setJobStage: (move) => { call('setJobStage', move); },
    importAnnotations: (source, opts) => formats.importAnnotations(source, opts),
    exportAnnotations: (opts) => formats.exportAnnotations(opts),
    cancelFormatJob: () => formats.cancel(),
    on: (name, fn) => { ctx.events.on(name, fn); return instance; },
    off: (name, fn) => { ctx.events.off(name, fn); return instance; },
    destroy,
    get canvas() { return canvas; },
    get destroyed() { return ctx.destroyed; },
  };
  return instance;
}
