// [SECTION] Mount: one independent module instance per mount, with its own canvas, its own
// keyboard focus and its own teardown; no global CSS, no window listeners left behind after
// destroy(). The shared bytes come from the loader; the parts of a mount (API surface, events,
// sync bridge, tracking feed, text entry, fonts, videos) share one context object, `ctx`.
import { PolymarkError, el, scriptUrl } from './util.js';
import { assetUrl, moduleUrls } from './assets.js';
import { loadShared } from './loader.js';
import { authHeaders, loadProfile, prefetchStart } from './backend.js';
import { createGlyphFeed, loadScriptFonts } from './fonts.js';
import { offlineWanted, startOffline, unregisterOffline } from './offline.js';
import { createSyncBridge } from './sync.js';
import { createTracking } from './tracking.js';
import { createAssist } from './assist.js';
import { createTextInput } from './text_input.js';
import { createVideos } from './videos.js';
import { EVENTS, createEvents } from './events.js';
import { callModule, callModuleText, createInstance } from './api.js';
import { createFormats } from './formats.js';
import { createGuidelines } from './guidelines.js';
import { createQuality } from './quality.js';
import { frameToOpen, rememberFrame } from './last_frame.js';
import { mountQueue } from './queue.js';

let instances = 0;

// The mount's state that its parts read and change.
function createContext(id, base, options) {
  const ctx = {
    id,
    base,
    // The build's files for the scripts loaded later (tracking.js, assist.js...), which have no
    // map of hashed names of their own (shell/src/assets.js): a file's URL, a module's glue and wasm.
    asset: (name) => assetUrl(base, name),
    moduleUrls: (stem) => moduleUrls(base, stem),
    options,
    M: null,          // the module instance, once its factory resolved
    destroyed: false,
    ready: false,     // `ready` was emitted: the host holds the instance
    running: false,   // main() runs: the module takes calls
    token: typeof options.token === 'string' ? options.token : '',
    cleanups: [],
    queue: [],        // calls waiting for main()
    trackingWaiters: [], // trackForward() promises, settled by the run's last `tracking` event
    events: null,
    inset: 0,         // CSS pixels at the right the guidelines panel takes from the canvas
    relayout: null,   // sizes the module's canvas again (set once the module runs)
    listen(target, name, fn, opts) {
      target.addEventListener(name, fn, opts);
      ctx.cleanups.push(() => target.removeEventListener(name, fn, opts));
    },
    // Calls into the module wait until its main() runs (the factory resolves before it).
    whenRunning(fn) {
      if (ctx.running && ctx.M && !ctx.destroyed) fn();
      else ctx.queue.push(fn);
    },
    callText: (method, text) => callModuleText(ctx, method, text),
    syncCall(method, args) {
      if (ctx.destroyed || !ctx.M || !ctx.running) return;
      try { callModule(ctx, method, args); } catch (e) { /* a stopped instance: nothing to tell */ }
    },
    // An async result for the module's inbox: deliver(M, ...texts as C strings valid during the call).
    toModule(deliver, texts) {
      const M = ctx.M;
      if (ctx.destroyed || !M || !ctx.running) return;
      const ptrs = [];
      try {
        (texts || []).forEach((t) => { const n = M.lengthBytesUTF8(t) + 1; const p = M._malloc(n); M.stringToUTF8(t, p, n); ptrs.push(p); });
        deliver(M, ...ptrs);
        ptrs.forEach((p) => M._free(p));
      } catch (e) { /* a stopped instance: nothing to tell */ }
    },
    auth: (url) => authHeaders(options, ctx.token, url),
  };
  ctx.events = createEvents(() => ctx.ready);
  return ctx;
}

// The wrapper filling the element, the canvas, and an overlay for loading and errors.
function createDom(id) {
  const wrapper = el('div', 'position:relative;width:100%;height:100%;min-height:120px;overflow:hidden;background:#26282c;');
  wrapper.className = 'polymark';
  const canvas = el('canvas', 'display:block;position:absolute;left:0;top:0;width:100%;height:100%;outline:none;touch-action:none;');
  canvas.id = 'polymark-canvas-' + id;
  canvas.tabIndex = 0;
  canvas.setAttribute('aria-label', 'Polymark annotation canvas');
  canvas.oncontextmenu = (e) => { e.preventDefault(); };
  const overlay = el('div', 'position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:10px;font:14px system-ui,sans-serif;color:#ddd;background:#26282c;');
  const label = el('div', '', 'Loading Polymark…');
  const bar = el('div', 'width:min(320px,70%);height:6px;border-radius:3px;background:#44474d;overflow:hidden;');
  const fill = el('div', 'width:0%;height:100%;background:#4f9cf9;transition:width 80ms linear;');
  bar.appendChild(fill);
  overlay.appendChild(label);
  overlay.appendChild(bar);
  wrapper.appendChild(canvas);
  wrapper.appendChild(overlay);
  const showMessage = (title, text) => {
    overlay.style.display = 'flex';
    overlay.style.background = 'rgba(30,31,34,0.92)';
    overlay.textContent = '';
    overlay.appendChild(el('div', 'font-weight:600;color:#ff9c8a;', title));
    overlay.appendChild(el('div', 'max-width:80%;text-align:center;line-height:1.4;', text));
  };
  const progress = {
    update(loaded, total) {
      const pct = total ? Math.min(100, (100 * loaded) / total) : 0;
      fill.style.width = pct.toFixed(1) + '%';
      label.textContent = 'Loading Polymark… ' + Math.round(loaded / 1024) + (total ? ' of ' + Math.round(total / 1024) : '') + ' KB';
    },
    done() { fill.style.width = '100%'; label.textContent = 'Opening the task…'; },
  };
  return { wrapper, canvas, overlay, showMessage, progress };
}

// devicePixelRatio changes (browser zoom, another monitor) do not resize the element.
function watchPixelRatio(ctx, onChange) {
  if (!window.matchMedia) return;
  let query = null;
  function arm() {
    if (query) query.removeEventListener('change', changed);
    query = window.matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
    query.addEventListener('change', changed);
  }
  function changed() { arm(); onChange(); }
  arm();
  ctx.cleanups.push(() => { if (query) query.removeEventListener('change', changed); });
}

/**
 * Mounts an editor into an element (docs/API.md).
 * @param {Element|string} element the element, or a selector for it
 * @param {Object} options task or taskObject, backend, and the rest of docs/API.md, "Options"
 * @returns {Promise<Object>} the instance, once the first image is on screen
 */
export function mount(element, options) {
  options = options || {};
  if (typeof element === 'string') element = document.querySelector(element);
  if (!element || !element.appendChild) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs a DOM element to mount into'));
  if (options.queue) {  // the job's task comes from the queue; each job is a mount of its own
    return mountQueue(element, options, options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href, mount);
  }
  if (!options.task && !options.taskObject) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs options.task (a task id) or options.taskObject'));
  if (options.drawing !== undefined && !['auto', 'cached', 'direct'].includes(options.drawing)) {
    return Promise.reject(PolymarkError('bad_options', 'options.drawing must be "auto", "cached" or "direct", not ' + JSON.stringify(options.drawing)));
  }
  if (options.role !== undefined && ['labeler', 'reviewer', 'manager'].indexOf(options.role) < 0)
    return Promise.reject(PolymarkError('bad_options', 'options.role must be "labeler", "reviewer" or "manager", not ' + JSON.stringify(options.role)));
  if (typeof window.WebGL2RenderingContext === 'undefined') {
    return Promise.reject(PolymarkError('webgl2_unavailable', 'This browser has no WebGL2, which Polymark needs to draw. Use a current Chrome, Edge, Firefox or Safari, or enable hardware acceleration.'));
  }
  const base = options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href;
  const id = ++instances;
  const ctx = createContext(id, base, options);
  const { events } = ctx;

  // [SECTION] Fetches that run while the module loads: the task, its annotations, the first
  // image, the fonts its names need, the backend profile, the sync journal and writer lock.
  const prefetched = prefetchStart(options);
  const scriptFonts = prefetched.task.then((task) => loadScriptFonts(base, task));
  const profileSetup = loadProfile(base, options.profile);
  const sync = createSyncBridge(ctx);

  const { wrapper, canvas, overlay, showMessage, progress } = createDom(id);
  element.appendChild(wrapper);
  const videos = createVideos(ctx);
  const tracking = createTracking(ctx, videos.open);
  const assist = createAssist(ctx, videos.open);
  const placeTextInput = createTextInput(ctx, wrapper, canvas);
  const fontsGiven = {};
  const needGlyphs = createGlyphFeed(ctx, fontsGiven);
  ctx.listen(canvas, 'webglcontextlost', (e) => {
    e.preventDefault();
    showMessage('The graphics context was lost', 'The browser took the GPU away from this page. Your labels are kept: getAnnotations() still works. Reload to continue drawing.');
    events.emit('error', { code: 'webgl_context_lost', message: 'the WebGL2 context was lost', where: 'canvas', fatal: false });
  });

  function destroy() {
    if (ctx.destroyed) return;
    ctx.destroyed = true;
    // A run dies with its instance: what it wrote never became a command.
    ctx.trackingWaiters.forEach((res) => res({ state: 'stopped', objects: [], written: false }));
    ctx.trackingWaiters = [];
    if (ctx.M) {
      try { ctx.M._pm_destroy(); } catch (e) { /* an aborted instance has nothing left to stop */ }
      ctx.M.polymarkDestroyed = true;
    }
    const gl = canvas.getContext('webgl2');
    const lose = gl && gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
    ctx.cleanups.forEach((fn) => fn());
    ctx.cleanups = [];
    wrapper.remove();
    events.clear();
    ctx.M = null;
  }

  const formats = createFormats(ctx, wrapper, (method, args) => callModule(ctx, method, args), () => prefetched.task);
  const instance = createInstance(ctx, destroy, videos.all, canvas, formats);
  const guidelines = createGuidelines(ctx, wrapper, canvas, (method, args) => callModule(ctx, method, args), (px) => {
    ctx.inset = px;
    canvas.style.width = px ? 'calc(100% - ' + px + 'px)' : '100%';
    if (ctx.relayout) ctx.relayout();
  });
  instance.getGuidelines = guidelines.getGuidelines;
  instance.setGuidelines = guidelines.setGuidelines;
  instance.showGuidelines = guidelines.showGuidelines;
  Object.assign(instance, createQuality(ctx, wrapper, canvas, instance));

  // After an abort: this instance object stays the host's handle, now driving a fresh mount of
  // the same options in the same element; the host's listeners move over to it.
  function remount() {
    if (ctx.destroyed) return;
    const kept = events.copy();
    destroy();
    const again = Object.assign({}, options, { _remounts: (options._remounts | 0) + 1 });
    const adopt = (fresh) => {
      Object.keys(fresh).forEach((k) => {
        const d = Object.getOwnPropertyDescriptor(fresh, k);
        if (typeof d.value === 'function') instance[k] = d.value;
        else if (d.get) Object.defineProperty(instance, k, { get: d.get, configurable: true, enumerable: true });
      });
      EVENTS.forEach((n) => kept[n].forEach((fn) => fresh.on(n, fn)));
    };
    mount(element, again).then(adopt, (e) => { if (e && e.instance) adopt(e.instance); });
  }

  // Offline start-up once the first image is on screen; errors are events, never thrown.
  function offlineAfterReady() {
    if (ctx.destroyed) return;
    const report = (code, message, where) => events.emit('error', { code, message, where, fatal: false });
    try {
      if (offlineWanted(base, options)) startOffline(base, options, report, ctx.auth);
      else if (options.offline === false) unregisterOffline(options).catch((e) => report('offline_unavailable', String((e && e.message) || e), 'sw.js'));
    } catch (e) {
      report('offline_unavailable', String((e && e.message) || e), 'sw.js');
    }
  }

  // [SECTION] Start: shared bytes, then this instance's module
  return new Promise((resolve, reject) => {
    let settled = false;
    function fail(error) {
      if (settled) return;
      settled = true;
      showMessage('Polymark could not start', error.message);
      reject(error);
    }
    // What the module tells the page (client/platform/web_library.js): events, and the mount's outcome.
    function fromModule(name, detail) {
      if (ctx.destroyed) return;
      if (!ctx.running && ctx.M) {
        // Events come from main() onwards: the module takes calls now.
        ctx.running = true;
        const queued = ctx.queue;
        ctx.queue = [];
        queued.forEach((fn) => fn());
      }
      if (name === 'ready') {
        ctx.ready = true;
        overlay.style.display = 'none';
        Object.keys(prefetched.decoded).forEach((url) => { delete prefetched.decoded[url]; });  // taken, or not needed
        if (!settled) { settled = true; resolve(instance); }
        setTimeout(offlineAfterReady);
        setTimeout(() => events.releaseHeld(() => ctx.destroyed));
        setTimeout(guidelines.onReady);
      } else if (name === 'mountfailed') {
        const e = PolymarkError(detail.code, detail.message);
        e.where = detail.where;
        e.instance = instance; // still running: the labeler can move to another frame
        overlay.style.display = 'none';
        events.emit('error', { code: detail.code, message: detail.message, where: detail.where, fatal: false });
        if (!settled) { settled = true; reject(e); }
        return;
      } else if (name === 'error' && detail.fatal && !ctx.ready) {
        const f = PolymarkError(detail.code, detail.message);
        f.where = detail.where;
        events.emit('error', detail);
        fail(f);
        return;
      }
      if (name === 'error' && !detail.fatal && !ctx.ready) {
        // Found while loading (an object of the document left out): the host hears it once it can listen.
        events.hold(name, detail);
        return;
      }
      if (name === 'frame') rememberFrame(options, detail.frame);
      if (name === 'import') formats.onAppEvent(detail);
      if (name === 'guidelines') guidelines.onVersion(detail);
      if (name === 'change') guidelines.onChange();
      if (name === 'tracking' && detail.state !== 'running') {
        const waiting = ctx.trackingWaiters;
        ctx.trackingWaiters = [];
        waiting.forEach((res) => res(detail));
      }
      events.emit(name, detail);
    }

    Promise.all([loadShared(base, progress), scriptFonts, sync.setup, profileSetup]).then(([s, fonts, syncOptions, profile]) => {
      if (ctx.destroyed) return fail(PolymarkError('destroyed', 'destroyed before it finished loading'));
      const rect = wrapper.getBoundingClientRect();
      const module = {
        canvas,
        polymarkOptions: {
          backend: options.backend || '',
          task: options.task || '',
          taskObject: options.taskObject || null,
          annotations: options.annotations || null,
          frame: frameToOpen(options),
          sync: syncOptions,
          profile: profile && profile.profile,
          profileContext: options.profileContext || null,
          token: ctx.token,
          role: typeof options.role === 'string' ? options.role : '',
          glyphs: fonts.glyphs,
          width: Math.max(1, Math.round(rect.width)),
          height: Math.max(1, Math.round(rect.height)),
          drawing: options.drawing || 'auto',
        },
        polymarkFont: s.font,
        polymarkPrefetch: prefetched.replies,
        polymarkPredecoded: prefetched.decoded,
        polymarkExtraFonts: fonts.fonts.map((f) => { fontsGiven[f.file] = true; return f.bytes; }),
        polymarkTextInputArea: placeTextInput,
        polymarkNeedGlyphs: needGlyphs,
        polymarkVideo: videos.open,
        polymarkSync: { journal: sync.journal, request: sync.request },
        polymarkTrack: { start: tracking.start, cancel: tracking.cancel },
        polymarkAssist: assist,
        polymarkFormats: { start: formats.start, cancel: formats.cancel },
        polymarkProfile: profile && profile.module,
        polymarkAuth: ctx.auth,
        polymarkEmit: fromModule,
        instantiateWasm: (imports, receive) => {
          WebAssembly.instantiate(s.wasmModule, imports).then((inst) => receive(inst, s.wasmModule),
            (e) => fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + e.message)));
          return {};
        },
        preRun: [(mod) => {
          // SDL 2.26.5 looks up "#canvas" and listens for keys on window: draw on this canvas,
          // and hear keys on this wrapper only (from the canvas and from the text entry).
          mod.specialHTMLTargets['#canvas'] = canvas;
          mod.specialHTMLTargets['#polymark-keys-' + id] = wrapper;
          mod.ENV.SDL_EMSCRIPTEN_KEYBOARD_ELEMENT = '#polymark-keys-' + id;
        }],
        print: (text) => { if (options.debug) console.log('[polymark]', text); },
        printErr: (text) => { if (options.debug) console.warn('[polymark]', text); },
        onAbort: (what) => {
          // A mounted instance starts again in place: a fresh module restores the journal, so
          // nothing saved locally is lost. At most a few times per mount, so a crash at start
          // cannot loop.
          const again = ctx.ready && !ctx.destroyed && options.remountOnAbort !== false && (options._remounts | 0) < 3;
          events.emit('error', { code: 'aborted', message: 'the WebAssembly instance aborted: ' + what + (again ? '; starting again' : ''), where: 'wasm', fatal: !again });
          if (again) { setTimeout(remount); return; }
          showMessage('Polymark stopped', 'An internal error stopped the editor (' + what + '). Reload the page.');
          fail(PolymarkError('aborted', 'the WebAssembly instance aborted: ' + what));
        },
      };
      s.factory(module).then((m) => {
        if (ctx.destroyed) { try { m._pm_destroy(); } catch (e) { /* already gone */ } return; }
        ctx.M = m;
        const resize = () => {
          if (ctx.destroyed || !ctx.M) return;
          const r = wrapper.getBoundingClientRect();
          ctx.M._pm_resize(Math.max(1, Math.round(r.width - ctx.inset)), Math.max(1, Math.round(r.height)));
        };
        ctx.relayout = resize;
        const observer = new ResizeObserver(resize);
        observer.observe(wrapper);
        ctx.cleanups.push(() => observer.disconnect());
        watchPixelRatio(ctx, resize);
        resize();
      }, (e) => fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + (e && e.message ? e.message : e))));
    }, fail);
  });
}
