/* Polymark embedding API: Polymark.mount(element, options) -> Promise<instance>.
 * The contract is docs/API.md. This file loads the WebAssembly module once per page (bytes and
 * compiled module are shared), then makes one independent module instance per mount, with its
 * own canvas, its own keyboard focus and its own teardown. No global CSS, no window listeners
 * left behind after destroy(). */
(function (global) {
  'use strict';

  // Sizes of the files a mount downloads, stamped in by the build (tools/stamp_bundle.py) so the
  // progress bar is true even when the server compresses.
  var BUNDLE = /*POLYMARK_BUNDLE*/ { 'polymark_app.js': 0, 'polymark_app.wasm': 0, 'fonts/ui-latin.ttf': 0 } /*END*/;
  var EVENTS = ['ready', 'error', 'change', 'frame'];
  var scriptUrl = (global.document && document.currentScript && document.currentScript.src) || '';
  var instances = 0;
  var shared = null; // { factory, wasmModule, font } promise, loaded once per page

  function PolymarkError(code, message, details) {
    var e = new Error(message);
    e.name = 'PolymarkError';
    e.code = code;
    e.details = details || [];
    Object.setPrototypeOf(e, PolymarkError.prototype);
    return e;
  }
  PolymarkError.prototype = Object.create(Error.prototype, { constructor: { value: PolymarkError } });

  function assetUrl(base, name) { return new URL(name, base).href; }

  // Fetches a file as bytes, reporting the bytes as they arrive.
  function fetchBytes(url, onBytes) {
    return fetch(url).then(function (response) {
      if (!response.ok) throw PolymarkError('load_failed', 'could not load ' + url + ' (HTTP ' + response.status + ')');
      if (!response.body || !response.body.getReader) {
        return response.arrayBuffer().then(function (b) { onBytes(b.byteLength); return new Uint8Array(b); });
      }
      var reader = response.body.getReader();
      var chunks = [];
      var total = 0;
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) {
            var out = new Uint8Array(total);
            var at = 0;
            chunks.forEach(function (c) { out.set(c, at); at += c.length; });
            return out;
          }
          chunks.push(step.value);
          total += step.value.length;
          onBytes(step.value.length);
          return pump();
        });
      }
      return pump();
    }, function (e) {
      throw PolymarkError('load_failed', 'could not load ' + url + ': ' + (e && e.message ? e.message : e));
    });
  }

  // [SECTION] Prefetch: the task, its annotations and the first image are fetched while the wasm
  // downloads and compiles. The module's fetch (client/platform/web_library.js) takes a reply from
  // here when the app asks for the same URL, so the URLs are built exactly as App builds them.
  var ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

  function apiUrl(backend, path) { return backend.replace(/\/+$/, '') + path; }

  function mediaUrl(backend, url) {
    if (url.indexOf('://') >= 0 || url.indexOf('data:') === 0 || url.indexOf('blob:') === 0) return url;
    return apiUrl(backend, url.charAt(0) === '/' ? url : '/' + url);
  }

  function fetchReply(url) {
    return fetch(url, { credentials: 'same-origin' }).then(function (response) {
      return response.arrayBuffer().then(function (b) { return { status: response.status, bytes: new Uint8Array(b), error: '' }; });
    }).catch(function (e) { return { status: 0, bytes: null, error: String((e && e.message) || e) }; });
  }

  function firstImageUrl(task, frame, backend) {
    if (!task || !Array.isArray(task.media)) return null;
    for (var i = 0; i < task.media.length; ++i) {
      var m = task.media[i] || {};
      var frames = m.type === 'video' ? (m.frames | 0) : 1;
      if (frame < frames) return m.type === 'image' && typeof m.url === 'string' && m.url ? mediaUrl(backend, m.url) : null;
      frame -= frames;
    }
    return null;
  }

  // Returns the replies being fetched, by URL, and a promise of the task (or null).
  function prefetchStart(options) {
    var replies = {};
    if (options.taskObject) return { replies: replies, task: Promise.resolve(options.taskObject) };
    if (!options.task || !ID_PATTERN.test(options.task)) return { replies: replies, task: Promise.resolve(null) };
    var backend = options.backend || '';
    var taskUrl = apiUrl(backend, '/api/tasks/' + options.task);
    replies[taskUrl] = fetchReply(taskUrl);
    if (!options.annotations) replies[taskUrl + '/annotations'] = fetchReply(taskUrl + '/annotations');
    var task = replies[taskUrl].then(function (reply) {
      if (reply.status !== 200) return null;
      var parsed;
      try { parsed = JSON.parse(new TextDecoder().decode(reply.bytes)); } catch (e) { return null; }
      var url = firstImageUrl(parsed, options.frame | 0, backend);
      if (url && !replies[url]) replies[url] = fetchReply(url);
      return parsed;
    });
    return { replies: replies, task: task };
  }

  // [SECTION] Fonts for other scripts: the UI font is Latin; the characters a task's names use
  // beyond it (Cyrillic, Greek, CJK...) come from slices listed in fonts/manifest.json, fetched
  // only when needed. A Latin-only task fetches nothing more.
  function latin(c) {
    return c < 0x250 || (c >= 0x2010 && c <= 0x205E) || (c >= 0x2190 && c <= 0x21FF) || (c >= 0x25A0 && c <= 0x25FF);
  }

  function taskCodePoints(task) {
    var seen = {};
    function scan(text) {
      if (typeof text !== 'string') return;
      for (var i = 0; i < text.length; i++) {
        var c = text.codePointAt(i);
        if (c > 0xFFFF) i++;
        if (!latin(c) && c <= 0xFFFF) seen[c] = true;
      }
    }
    if (task && typeof task === 'object') {
      scan(task.name);
      (Array.isArray(task.labels) ? task.labels : []).forEach(function (l) {
        if (!l || typeof l !== 'object') return;
        scan(l.name);
        (Array.isArray(l.attributes) ? l.attributes : []).forEach(function (a) {
          if (!a || typeof a !== 'object') return;
          scan(a.name);
          if (Array.isArray(a.values)) a.values.forEach(scan);
          scan(a['default']);
        });
      });
    }
    return Object.keys(seen).map(Number);
  }

  var manifest = null; // promise of fonts/manifest.json, once per page
  var fontFiles = {};  // promise of each font file's bytes, once per page

  // The font slices holding these code points: [{ file, bytes }], each file fetched once per page.
  function scriptFontsFor(base, codePoints) {
    var needed = codePoints.filter(function (c) { return !latin(c) && c <= 0xFFFF; });
    if (!needed.length) return Promise.resolve([]);
    if (!manifest) manifest = fetch(assetUrl(base, 'fonts/manifest.json')).then(function (r) { return r.ok ? r.json() : { fonts: [] }; }).catch(function () { return { fonts: [] }; });
    return manifest.then(function (m) {
      var files = [];
      (m.fonts || []).forEach(function (f) {
        var used = needed.some(function (c) { return f.ranges.some(function (r) { return c >= r[0] && c <= r[1]; }); });
        if (used) files.push(f.file);
      });
      return Promise.all(files.map(function (file) {
        if (!fontFiles[file]) fontFiles[file] = fetchBytes(assetUrl(base, 'fonts/' + file), function () {}).catch(function () { return null; });
        return fontFiles[file].then(function (bytes) { return bytes && { file: file, bytes: bytes }; });
      })).then(function (fonts) { return fonts.filter(Boolean); });
    });
  }

  function loadScriptFonts(base, task) {
    var needed = taskCodePoints(task);
    return scriptFontsFor(base, needed).then(function (fonts) {
      return { fonts: fonts, glyphs: needed.length ? String.fromCodePoint.apply(String, needed) : '' };
    });
  }

  // [SECTION] Video: shell/video.js and its demuxer module load only when a task shows a video.
  var videoScript = null; // promise of window.PolymarkVideo, once per page

  function loadVideoScript(base) {
    if (global.PolymarkVideo) return Promise.resolve(global.PolymarkVideo);
    if (!videoScript) {
      videoScript = new Promise(function (resolve, reject) {
        var tag = document.createElement('script');
        tag.src = assetUrl(base, 'video.js');
        tag.async = true;
        tag.onload = function () { resolve(global.PolymarkVideo); };
        tag.onerror = function () { tag.remove(); videoScript = null; reject(PolymarkError('load_failed', 'could not load ' + tag.src)); };
        document.head.appendChild(tag);
      });
    }
    return videoScript;
  }

  // A plain script tag (not a blob) keeps portals with a strict Content-Security-Policy working.
  function loadScript(url, onBytes, size) {
    if (global.createPolymarkModule) return Promise.resolve(global.createPolymarkModule);
    return new Promise(function (resolve, reject) {
      var tag = document.createElement('script');
      tag.src = url;
      tag.async = true;
      tag.onload = function () { onBytes(size); resolve(global.createPolymarkModule); };
      tag.onerror = function () { tag.remove(); reject(PolymarkError('load_failed', 'could not load ' + url)); };
      document.head.appendChild(tag);
    });
  }

  // Loads the module code, the wasm (compiled once) and the UI font, with one progress total.
  function loadShared(base, progress) {
    if (shared) return shared.promise.then(function (s) { progress.done(); return s; });
    var listeners = [progress];
    var loaded = 0;
    var total = 0;
    Object.keys(BUNDLE).forEach(function (k) { total += BUNDLE[k]; });
    function onBytes(n) {
      loaded += n;
      listeners.forEach(function (l) { l.update(loaded, total); });
    }
    var promise = Promise.all([
      loadScript(assetUrl(base, 'polymark_app.js'), onBytes, BUNDLE['polymark_app.js']),
      fetchBytes(assetUrl(base, 'polymark_app.wasm'), onBytes).then(function (bytes) {
        return WebAssembly.compile(bytes).catch(function (e) {
          throw PolymarkError('load_failed', 'polymark_app.wasm could not be compiled: ' + e.message);
        });
      }),
      fetchBytes(assetUrl(base, 'fonts/ui-latin.ttf'), onBytes).catch(function () { return null; }),
    ]).then(function (parts) {
      listeners.forEach(function (l) { l.done(); });
      return { factory: parts[0], wasmModule: parts[1], font: parts[2] };
    });
    shared = { promise: promise };
    promise.catch(function () { shared = null; });
    return promise;
  }

  function el(tag, style, text) {
    var node = document.createElement(tag);
    if (style) node.style.cssText = style;
    if (text) node.textContent = text;
    return node;
  }

  function mount(element, options) {
    options = options || {};
    if (typeof element === 'string') element = document.querySelector(element);
    if (!element || !element.appendChild) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs a DOM element to mount into'));
    if (!options.task && !options.taskObject) return Promise.reject(PolymarkError('bad_options', 'Polymark.mount needs options.task (a task id) or options.taskObject'));
    if (typeof global.WebGL2RenderingContext === 'undefined') {
      return Promise.reject(PolymarkError('webgl2_unavailable', 'This browser has no WebGL2, which Polymark needs to draw. Use a current Chrome, Edge, Firefox or Safari, or enable hardware acceleration.'));
    }
    var base = options.assetsUrl || new URL('.', scriptUrl || document.baseURI).href;
    var id = ++instances;
    var listeners = {};
    EVENTS.forEach(function (n) { listeners[n] = []; });
    var destroyed = false;
    var ready = false;
    var M = null;
    var cleanups = [];
    var prefetched = prefetchStart(options);
    var scriptFonts = prefetched.task.then(function (task) { return loadScriptFonts(base, task); });

    // [SECTION] DOM: a wrapper filling the element, the canvas, an overlay for loading and errors
    var wrapper = el('div', 'position:relative;width:100%;height:100%;min-height:120px;overflow:hidden;background:#26282c;');
    wrapper.className = 'polymark';
    var canvas = el('canvas', 'display:block;position:absolute;left:0;top:0;width:100%;height:100%;outline:none;touch-action:none;');
    canvas.id = 'polymark-canvas-' + id;
    canvas.tabIndex = 0;
    canvas.setAttribute('aria-label', 'Polymark annotation canvas');
    canvas.oncontextmenu = function (e) { e.preventDefault(); };
    var overlay = el('div', 'position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:10px;font:14px system-ui,sans-serif;color:#ddd;background:#26282c;');
    var label = el('div', '', 'Loading Polymark…');
    var bar = el('div', 'width:min(320px,70%);height:6px;border-radius:3px;background:#44474d;overflow:hidden;');
    var fill = el('div', 'width:0%;height:100%;background:#4f9cf9;transition:width 80ms linear;');
    bar.appendChild(fill);
    overlay.appendChild(label);
    overlay.appendChild(bar);
    wrapper.appendChild(canvas);
    wrapper.appendChild(overlay);
    element.appendChild(wrapper);

    function showMessage(title, text) {
      overlay.style.display = 'flex';
      overlay.style.background = 'rgba(30,31,34,0.92)';
      overlay.textContent = '';
      overlay.appendChild(el('div', 'font-weight:600;color:#ff9c8a;', title));
      overlay.appendChild(el('div', 'max-width:80%;text-align:center;line-height:1.4;', text));
    }

    function listen(target, name, fn, opts) {
      target.addEventListener(name, fn, opts);
      cleanups.push(function () { target.removeEventListener(name, fn, opts); });
    }

    function emit(name, detail) {
      (listeners[name] || []).slice().forEach(function (fn) {
        try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }
    // Events found while mounting (a video's warning) wait until the host could listen: just
    // after the mount promise resolves.
    var heldEvents = [];
    function emitOnceListening(name, detail) {
      if (ready) emit(name, detail);
      else heldEvents.push([name, detail]);
    }

    // Canvas focus: SDL cancels mousedown's default, so a click would never focus the canvas.
    // While a text field is edited the focus stays on the input-method element.
    listen(canvas, 'pointerdown', function () {
      if (document.activeElement !== canvas && document.activeElement !== ime) canvas.focus({ preventScroll: true });
    });

    // [SECTION] Text entry beyond SDL: OS paste and input methods (CJK typing). SDL hears keys on
    // the wrapper, so they reach it from the canvas and from `ime`, a textarea that holds the
    // focus while ImGui edits text and is placed over the field, where the input method shows its
    // composition. Composed and pasted text goes to the field through _pm_insert_text.
    var ime = el('textarea', 'position:absolute;left:0;top:0;width:1px;height:1px;padding:0 2px;margin:0;border:0;outline:1px solid #4f9cf9;resize:none;overflow:hidden;white-space:pre;opacity:0;z-index:1;pointer-events:none;color:#fff;background:#1d1f22;font:15px system-ui,sans-serif;');
    ime.setAttribute('autocomplete', 'off');
    ime.setAttribute('autocorrect', 'off');
    ime.setAttribute('autocapitalize', 'off');
    ime.setAttribute('spellcheck', 'false');
    ime.setAttribute('aria-label', 'Polymark text entry');
    ime.id = 'polymark-ime-' + id;
    wrapper.appendChild(ime);
    var composing = false;

    function insertText(text) {
      if (!text || !M) return;
      var size = M.lengthBytesUTF8(text) + 1;
      var ptr = M._malloc(size);
      M.stringToUTF8(text, ptr, size);
      M._pm_insert_text(ptr);
      M._free(ptr);
    }
    function showComposition(on) {
      composing = on;
      ime.style.opacity = on ? '1' : '0';
      ime.style.width = on ? Math.max(4, ime.scrollWidth + 4) + 'px' : '1px';
    }
    function placeTextInput(visible, x, y, lineHeight) {
      if (visible) {
        ime.style.left = x + 'px';
        ime.style.top = y + 'px';
        ime.style.height = Math.max(1, lineHeight) + 'px';
        ime.style.lineHeight = Math.max(1, lineHeight) + 'px';
        if (document.activeElement === canvas) ime.focus({ preventScroll: true });
      } else {
        if (composing) { ime.value = ''; showComposition(false); }
        if (document.activeElement === ime) canvas.focus({ preventScroll: true });
      }
    }
    listen(wrapper, 'keydown', function (e) {
      // Keys that belong to a composition are the input method's, not SDL's (which would cancel
      // Backspace and arrows); Ctrl+V is left to the browser so that its paste event brings the text.
      var paste = (e.ctrlKey || e.metaKey) && (e.key === 'v' || e.key === 'V');
      if (e.isComposing || e.keyCode === 229 || (paste && M && M._pm_wants_text())) e.stopImmediatePropagation();
    }, true);
    listen(wrapper, 'paste', function (e) {
      if (!M || !M._pm_wants_text()) return;
      e.preventDefault();
      insertText((e.clipboardData && e.clipboardData.getData('text/plain')) || '');
    });
    listen(ime, 'compositionstart', function () { showComposition(true); });
    listen(ime, 'compositionupdate', function () { setTimeout(function () { if (composing) showComposition(true); }); });
    listen(ime, 'compositionend', function (e) {
      var text = ime.value || e.data || '';
      ime.value = '';
      showComposition(false);
      insertText(text);
    });
    // Text that arrives without key events (virtual keyboards, emoji pickers, dictation).
    listen(ime, 'input', function (e) {
      if (composing || e.isComposing || !ime.value) return;
      var text = ime.value;
      ime.value = '';
      insertText(text);
    });

    // Characters typed or loaded that the font atlas lacks: fetch the slices holding them.
    var fontsGiven = {};
    function addGlyphs(codePoints, bytes) {
      if (destroyed || !M) return;
      var cps = M._malloc(Math.max(4, codePoints.length * 4));
      M.HEAPU32.set(codePoints, cps >> 2);
      var font = 0;
      if (bytes) { font = M._malloc(bytes.length); M.HEAPU8.set(bytes, font); }
      M._pm_add_glyphs(cps, codePoints.length, font, bytes ? bytes.length : 0);
      M._free(cps);
    }
    function needGlyphs(codePoints) {
      scriptFontsFor(base, codePoints).then(function (fonts) {
        var added = false;
        fonts.forEach(function (f) {
          if (fontsGiven[f.file]) return;
          fontsGiven[f.file] = true;
          addGlyphs(added ? [] : codePoints, f.bytes);
          added = true;
        });
        if (!added) addGlyphs(codePoints, null);
      });
    }
    listen(canvas, 'webglcontextlost', function (e) {
      e.preventDefault();
      showMessage('The graphics context was lost', 'The browser took the GPU away from this page. Your labels are kept: getAnnotations() still works. Reload to continue drawing.');
      emit('error', { code: 'webgl_context_lost', message: 'the WebGL2 context was lost', where: 'canvas', fatal: false });
    });

    var instance = {
      getAnnotations: function () { return call('getAnnotations'); },
      setAnnotations: function (doc) {
        if (doc === null || typeof doc !== 'object') throw PolymarkError('invalid_document', 'setAnnotations needs an annotation document object');
        call('setAnnotations', doc);
      },
      getView: function () { return call('getView'); },
      setFrame: function (frame) { call('setFrame', frame); },
      fit: function () { call('fit'); },
      setView: function (view) { return call('setView', view); },
      setImageAdjust: function (adjust) { return call('setImageAdjust', adjust); },
      takeFrameTimes: function () { return call('takeFrameTimes'); },
      missingGlyphs: function (text) { return call('missingGlyphs', String(text)); },
      getTask: function () { return call('getTask'); },
      undo: function () { return call('undo'); },
      redo: function () { return call('redo'); },
      getHistory: function () { return call('getHistory'); },
      setTool: function (tool, label, opts) {
        var track = opts && typeof opts === 'object' && 'track' in opts ? opts.track : null;
        return call('setTool', { tool: tool, label: label === undefined ? null : label, track: track });
      },
      getFrameState: function (frame) { return call('getFrameState', frame); },
      // Diagnostics for tests and benchmarks: the decoder's counters of each open video.
      getVideoStats: function () {
        return Promise.all(Object.keys(videos).map(function (url) {
          return videos[url].then(function (s) { var st = s.stats(); st.url = url; st.frameCount = s.frameCount; return st; }, function () { return null; });
        })).then(function (all) { return all.filter(Boolean); });
      },
      getTool: function () { return call('getTool'); },
      getSelection: function () { return call('getSelection'); },
      select: function (ids) { return call('select', ids); },
      on: function (name, fn) { checkEvent(name, fn); listeners[name].push(fn); return instance; },
      off: function (name, fn) {
        checkEvent(name, fn);
        var i = listeners[name].indexOf(fn);
        if (i >= 0) listeners[name].splice(i, 1);
        return instance;
      },
      destroy: destroy,
      get canvas() { return canvas; },
      get destroyed() { return destroyed; },
    };

    function checkEvent(name, fn) {
      if (EVENTS.indexOf(name) < 0) throw PolymarkError('bad_event', 'unknown event "' + name + '"; events are ' + EVENTS.join(', '));
      if (typeof fn !== 'function') throw PolymarkError('bad_listener', 'a listener for "' + name + '" must be a function');
    }

    function call(method, args) {
      if (destroyed) throw PolymarkError('destroyed', 'this Polymark instance was destroyed');
      if (!M) throw PolymarkError('not_ready', 'Polymark is still loading');
      var argText = args === undefined ? '' : JSON.stringify(args);
      var mLen = M.lengthBytesUTF8(method) + 1;
      var aLen = M.lengthBytesUTF8(argText) + 1;
      var mPtr = M._malloc(mLen);
      var aPtr = M._malloc(aLen);
      M.stringToUTF8(method, mPtr, mLen);
      M.stringToUTF8(argText, aPtr, aLen);
      var reply;
      try {
        reply = JSON.parse(M.UTF8ToString(M._pm_call(mPtr, aPtr)));
      } finally {
        M._free(mPtr);
        M._free(aPtr);
      }
      if (!reply.ok) {
        var first = reply.errors[0];
        var code = method === 'setAnnotations' ? 'invalid_document' : first.code;
        var where = first.path ? ' (at ' + first.path + ')' : '';
        var more = reply.errors.length > 1 ? ' (and ' + (reply.errors.length - 1) + ' more)' : '';
        throw PolymarkError(code, first.message + (first.message.indexOf(first.path) >= 0 ? '' : where) + more, reply.errors);
      }
      return reply.value;
    }

    // This instance's open videos, by URL: one decoder and frame cache each.
    var videos = {};
    function openVideo(url) {
      if (!videos[url]) {
        videos[url] = loadVideoScript(base).then(function (PV) {
          var settings = { assetsUrl: base, forceElement: !!options.videoElement };
          if (options.videoMemoryCapBytes > 0) settings.memoryCapBytes = options.videoMemoryCapBytes;
          return PV.open(new URL(url, document.baseURI).href, settings);
        }).then(function (source) {
          // A file cut short still shows the frames before the cut: said once, not fatal.
          source.warnings.forEach(function (w) { emitOnceListening('error', { code: w.code, message: w.message, where: url, fatal: false }); });
          return source;
        });
        videos[url].catch(function () { delete videos[url]; }); // a failed open is retried on the next frame asked
      }
      return videos[url];
    }
    cleanups.push(function () {
      Object.keys(videos).forEach(function (url) { videos[url].then(function (s) { s.close(); }, function () {}); });
      videos = {};
    });

    function destroy() {
      if (destroyed) return;
      destroyed = true;
      if (M) {
        try { M._pm_destroy(); } catch (e) { /* an aborted instance has nothing left to stop */ }
        M.polymarkDestroyed = true;
      }
      var gl = canvas.getContext('webgl2');
      var lose = gl && gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      cleanups.forEach(function (fn) { fn(); });
      cleanups = [];
      wrapper.remove();
      EVENTS.forEach(function (n) { listeners[n] = []; });
      M = null;
    }

    // [SECTION] Start: shared bytes, then this instance's module
    return new Promise(function (resolve, reject) {
      var settled = false;
      function fail(error) {
        if (settled) return;
        settled = true;
        showMessage('Polymark could not start', error.message);
        reject(error);
      }
      var progress = {
        update: function (loaded, total) {
          var pct = total ? Math.min(100, (100 * loaded) / total) : 0;
          fill.style.width = pct.toFixed(1) + '%';
          label.textContent = 'Loading Polymark… ' + Math.round(loaded / 1024) + (total ? ' of ' + Math.round(total / 1024) : '') + ' KB';
        },
        done: function () { fill.style.width = '100%'; label.textContent = 'Opening the task…'; },
      };
      Promise.all([loadShared(base, progress), scriptFonts]).then(function (parts) {
        var s = parts[0];
        if (destroyed) return fail(PolymarkError('destroyed', 'destroyed before it finished loading'));
        var rect = wrapper.getBoundingClientRect();
        var module = {
          canvas: canvas,
          polymarkOptions: {
            backend: options.backend || '',
            task: options.task || '',
            taskObject: options.taskObject || null,
            annotations: options.annotations || null,
            frame: options.frame | 0,
            glyphs: parts[1].glyphs,
            width: Math.max(1, Math.round(rect.width)),
            height: Math.max(1, Math.round(rect.height)),
          },
          polymarkFont: s.font,
          polymarkPrefetch: prefetched.replies,
          polymarkExtraFonts: parts[1].fonts.map(function (f) { fontsGiven[f.file] = true; return f.bytes; }),
          polymarkTextInputArea: placeTextInput,
          polymarkNeedGlyphs: needGlyphs,
          polymarkVideo: openVideo,
          polymarkEmit: function (name, detail) {
            if (destroyed) return;
            if (name === 'ready') {
              ready = true;
              overlay.style.display = 'none';
              if (!settled) { settled = true; resolve(instance); }
              setTimeout(function () {
                var held = heldEvents;
                heldEvents = [];
                held.forEach(function (e) { if (!destroyed) emit(e[0], e[1]); });
              });
            } else if (name === 'mountfailed') {
              var e = PolymarkError(detail.code, detail.message);
              e.where = detail.where;
              e.instance = instance; // still running: the labeler can move to another frame
              overlay.style.display = 'none';
              emit('error', { code: detail.code, message: detail.message, where: detail.where, fatal: false });
              if (!settled) { settled = true; reject(e); }
              return;
            } else if (name === 'error' && detail.fatal && !ready) {
              var f = PolymarkError(detail.code, detail.message);
              f.where = detail.where;
              emit('error', detail);
              return fail(f);
            }
            emit(name, detail);
          },
          instantiateWasm: function (imports, receive) {
            WebAssembly.instantiate(s.wasmModule, imports).then(function (inst) { receive(inst, s.wasmModule); },
              function (e) { fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + e.message)); });
            return {};
          },
          preRun: [function (mod) {
            // SDL 2.26.5 looks up "#canvas" and listens for keys on window: draw on this canvas,
            // and hear keys on this wrapper only (from the canvas and from the text entry).
            mod.specialHTMLTargets['#canvas'] = canvas;
            mod.specialHTMLTargets['#polymark-keys-' + id] = wrapper;
            mod.ENV.SDL_EMSCRIPTEN_KEYBOARD_ELEMENT = '#polymark-keys-' + id;
          }],
          print: function (text) { if (options.debug) console.log('[polymark]', text); },
          printErr: function (text) { if (options.debug) console.warn('[polymark]', text); },
          onAbort: function (what) {
            showMessage('Polymark stopped', 'An internal error stopped the editor (' + what + '). Reload the page.');
            emit('error', { code: 'aborted', message: 'the WebAssembly instance aborted: ' + what, where: 'wasm', fatal: true });
            fail(PolymarkError('aborted', 'the WebAssembly instance aborted: ' + what));
          },
        };
        s.factory(module).then(function (m) {
          if (destroyed) { try { m._pm_destroy(); } catch (e) { /* already gone */ } return; }
          M = m;
          var resize = function () {
            if (destroyed || !M) return;
            var r = wrapper.getBoundingClientRect();
            M._pm_resize(Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)));
          };
          var observer = new ResizeObserver(resize);
          observer.observe(wrapper);
          cleanups.push(function () { observer.disconnect(); });
          watchPixelRatio(resize);
          resize();
        }, function (e) { fail(PolymarkError('load_failed', 'the WebAssembly module could not start: ' + (e && e.message ? e.message : e))); });
      }, fail);
    });

    // devicePixelRatio changes (browser zoom, another monitor) do not resize the element.
    function watchPixelRatio(onChange) {
      if (!global.matchMedia) return;
      var query = null;
      function arm() {
        if (query) query.removeEventListener('change', changed);
        query = global.matchMedia('(resolution: ' + (global.devicePixelRatio || 1) + 'dppx)');
        query.addEventListener('change', changed);
      }
      function changed() { arm(); onChange(); }
      arm();
      cleanups.push(function () { if (query) query.removeEventListener('change', changed); });
    }
  }

  global.Polymark = { mount: mount, PolymarkError: PolymarkError, events: EVENTS.slice(), version: '0.1.0' };
})(typeof window !== 'undefined' ? window : this);
