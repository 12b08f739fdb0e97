// JavaScript half of the web platform layer (linked with --js-library): fetch, events to the
// embedding page, start-up options, teardown. Runs inside one module instance; everything it
// touches hangs off that instance's Module, so two instances on one page never share state.
mergeInto(LibraryManager.library, {
  // Bytes into the wasm heap (the receiving C function frees them); 0 for none.
  $pmCopyIn: function (bytes) {
    var len = bytes ? bytes.length : 0;
    var ptr = len ? _malloc(len) : 0;
    if (len) HEAPU8.set(bytes, ptr);
    return ptr;
  },

  // fn(pointer to `text` as a C string), valid during the call only.
  $pmWithCString: function (text, fn) {
    var size = lengthBytesUTF8(text) + 1;
    var ptr = _malloc(size);
    stringToUTF8(text, ptr, size);
    try { fn(ptr); } finally { _free(ptr); }
  },

  // WebGL's RENDERER is masked ("WebKit WebGL"); the debug extension names the real one, which
  // says whether the context runs on a software rasteriser.
  pm_js_renderer__deps: ['$GL'],
  pm_js_renderer: function () {
    var text = '';
    try {
      var gl = GL.currentContext && GL.currentContext.GLctx;
      var info = gl && gl.getExtension('WEBGL_debug_renderer_info');
      if (gl) text = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) || '');
    } catch (e) { text = ''; }
    var size = lengthBytesUTF8(text) + 1;
    var ptr = _malloc(size);
    stringToUTF8(text, ptr, size);
    return ptr;
  },

  pm_js_options: function () {
    var text = JSON.stringify(Module['polymarkOptions'] || {});
    var size = lengthBytesUTF8(text) + 1;
    var ptr = _malloc(size);
    stringToUTF8(text, ptr, size);
    return ptr;
  },

  pm_js_font: function (sizeOut) {
    var bytes = Module['polymarkFont'];
    if (!bytes || !bytes.length) { HEAP32[sizeOut >> 2] = 0; return 0; }
    var ptr = _malloc(bytes.length);
    HEAPU8.set(bytes, ptr);
    HEAP32[sizeOut >> 2] = bytes.length;
    return ptr;
  },

  // The i-th font for other scripts (see shell/src/fonts.js), or 0 past the last.
  pm_js_extra_font: function (index, sizeOut) {
    var fonts = Module['polymarkExtraFonts'] || [];
    var bytes = fonts[index];
    if (!bytes || !bytes.length) { HEAP32[sizeOut >> 2] = 0; return 0; }
    var ptr = _malloc(bytes.length);
    HEAPU8.set(bytes, ptr);
    HEAP32[sizeOut >> 2] = bytes.length;
    return ptr;
  },

  pm_js_fetch__deps: ['$pmCopyIn', '$pmWithCString'],
  pm_js_fetch: function (id, urlPtr) {
    var url = UTF8ToString(urlPtr);
    var controller = typeof AbortController !== 'undefined' ? new AbortController() : null;
    var fetches = Module['polymarkFetches'] = Module['polymarkFetches'] || {};
    fetches[id] = controller;
    function deliver(status, bytes, error) {
      delete fetches[id];
      if (Module['polymarkDestroyed']) return;
      pmWithCString(error, function (err) { Module['_pm_fetch_done'](id, status, pmCopyIn(bytes), bytes ? bytes.length : 0, err); });
    }
    // polymark.js may already have fetched this URL while the module was loading.
    var prefetched = Module['polymarkPrefetch'] && Module['polymarkPrefetch'][url];
    if (prefetched) {
      delete Module['polymarkPrefetch'][url];
      prefetched.then(function (r) { deliver(r.status, r.bytes, r.error); });
      return;
    }
    var auth = Module['polymarkAuth'] ? Module['polymarkAuth'](url) : {};
    fetch(url, { credentials: 'same-origin', headers: auth, signal: controller ? controller.signal : undefined })
      .then(function (response) {
        return response.arrayBuffer().then(function (buffer) { deliver(response.status, new Uint8Array(buffer), ''); });
      })
      .catch(function (e) { deliver(0, null, String((e && e.message) || e)); });
  },

  // Decodes image bytes with the browser (any format it reads; EXIF orientation applied) into RGBA. With
  // levelWidth > 0: only a reduced level, the crop (which may pass the image's edge) shrunk to
  // levelWidth x levelHeight, so that the full-size pixels never enter the wasm heap. A detail
  // region is such a crop from (cropX, cropY).
  pm_js_decode__deps: ['$pmCopyIn', '$pmWithCString'],
  pm_js_decode: function (id, bytesPtr, size, urlPtr, cropX, cropY, cropWidth, cropHeight, levelWidth, levelHeight) {
    var url = UTF8ToString(urlPtr);
    function deliver(width, height, pixels, error) {
      if (Module['polymarkDestroyed']) return;
      pmWithCString(error, function (err) { Module['_pm_decode_done'](id, width, height, pmCopyIn(pixels), pixels ? pixels.length : 0, err); });
    }
    // The first image, decoded by polymark.js while the module loaded (shell/src/backend.js).
    var predecoded = url && Module['polymarkPredecoded'] && Module['polymarkPredecoded'][url];
    if (predecoded) {
      delete Module['polymarkPredecoded'][url];
      var again = HEAPU8.slice(bytesPtr, bytesPtr + size);
      predecoded.then(function (r) {
        if (r && r.size === size) deliver(r.width, r.height, r.pixels, '');
        else decodeNow(again);
      });
      return;
    }
    decodeNow(HEAPU8.slice(bytesPtr, bytesPtr + size));
    function decodeNow(bytes) {
      var options = { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' };
      var decoding = levelWidth > 0
        ? createImageBitmap(new Blob([bytes]), cropX, cropY, cropWidth, cropHeight, Object.assign(options, { resizeWidth: levelWidth, resizeHeight: levelHeight, resizeQuality: 'medium' }))
        : createImageBitmap(new Blob([bytes]), options);
      decoding
        .then(function (bitmap) {
          // A canvas in CPU memory: a GPU-backed one reads the pixels back through the GPU process.
          var canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
          var g = canvas.getContext('2d', { willReadFrequently: true });
          g.drawImage(bitmap, 0, 0);
          var data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
          deliver(bitmap.width, bitmap.height, new Uint8Array(data.buffer, data.byteOffset, data.length), '');
          bitmap.close();
        })
        .catch(function (e) { deliver(0, 0, null, 'the browser could not decode it (' + ((e && e.message) || e) + ')'); });
    }
  },

  pm_js_emit: function (namePtr, detailPtr) {
    var emit = Module['polymarkEmit'];
    if (!emit) return;
    var name = UTF8ToString(namePtr);
    var detail = JSON.parse(UTF8ToString(detailPtr));
    // Host callbacks must not run inside the wasm call stack: a throwing listener would unwind
    // through C++ frames.
    Promise.resolve().then(function () { emit(name, detail); });
  },

  // Where ImGui edits text (CSS pixels), so the page can put its input-method element there.
  pm_js_text_input_area: function (visible, x, y, lineHeight) {
    var place = Module['polymarkTextInputArea'];
    if (place) place(!!visible, x, y, lineHeight);
  },

  // Characters the font atlas lacks; the page fetches fonts holding them (pm_add_glyphs).
  pm_js_need_glyphs: function (codePoints, count) {
    var need = Module['polymarkNeedGlyphs'];
    if (need) need(Array.from(HEAPU32.subarray(codePoints >> 2, (codePoints >> 2) + count)));
  },

  // Shows frame `frame` of a video: the page's video source (shell/video.js, through
  // Module.polymarkVideo) decodes it and uploads it straight from the VideoFrame into a texture of
  // this module's GL context: the pixels never pass through the wasm heap.
  pm_js_video_frame__deps: ['$GL', '$pmWithCString'],
  pm_js_video_frame: function (id, urlPtr, frame) {
    var url = UTF8ToString(urlPtr);
    function deliver(width, height, texture, frames, duration, error) {
      if (Module['polymarkDestroyed']) return;
      pmWithCString(error, function (err) { Module['_pm_video_done'](id, frame, width, height, texture, frames, duration, err); });
    }
    // How long frame n is shown (variable frame rate videos vary): until the next one starts.
    function duration(source) {
      var t = source.frameTimes, n = t.length;
      if (frame + 1 < n) return t[frame + 1] - t[frame];
      return n > 1 ? (t[n - 1] - t[0]) / (n - 1) : 0;
    }
    var open = Module['polymarkVideo'];
    if (!open) { deliver(0, 0, 0, 0, 0, 'this page has no video decoder'); return; }
    open(url).then(function (source) {
      var textures = Module['polymarkVideoTextures'] = Module['polymarkVideoTextures'] || {};
      var name = textures[url];
      if (!name) {
        var texture = GLctx.createTexture();
        name = GL.getNewId(GL.textures);
        texture.name = name;
        GL.textures[name] = texture;
        var before = GLctx.getParameter(GLctx.TEXTURE_BINDING_2D);
        GLctx.bindTexture(GLctx.TEXTURE_2D, texture);
        GLctx.texParameteri(GLctx.TEXTURE_2D, GLctx.TEXTURE_MIN_FILTER, GLctx.LINEAR);
        GLctx.texParameteri(GLctx.TEXTURE_2D, GLctx.TEXTURE_MAG_FILTER, GLctx.NEAREST);
        GLctx.texParameteri(GLctx.TEXTURE_2D, GLctx.TEXTURE_WRAP_S, GLctx.CLAMP_TO_EDGE);
        GLctx.texParameteri(GLctx.TEXTURE_2D, GLctx.TEXTURE_WRAP_T, GLctx.CLAMP_TO_EDGE);
        GLctx.bindTexture(GLctx.TEXTURE_2D, before);
        textures[url] = name;
      }
      return source.drawToTexture(GLctx, GL.textures[name], frame).then(function (size) {
        deliver(size.width, size.height, name, source.frameCount, duration(source), '');
      });
    }).catch(function (e) { deliver(0, 0, 0, 0, 0, String((e && e.message) || e)); });
  },

  // "Track forward" in Web Workers, or in this page when the browser has none (shell/src/tracking.js,
  // shell/track_worker.js). 0: this page cannot track.
  pm_js_track_start: function (specPtr) {
    var track = Module['polymarkTrack'];
    if (!track) return 0;
    return track.start(JSON.parse(UTF8ToString(specPtr))) ? 1 : 0;
  },

  pm_js_track_cancel: function () {
    var track = Module['polymarkTrack'];
    if (track) track.cancel();
  },

  // The assisted tools' worker (shell/src/assist.js): one request; 0 when this page has none.
  pm_js_assist: function (requestPtr) {
    var assist = Module['polymarkAssist'];
    if (!assist) return 0;
    return assist(JSON.parse(UTF8ToString(requestPtr))) ? 1 : 0;
  },

  // Imports and exports (shell/src/formats.js): a file picker then an import, or an export then a
  // download; both report back through the API (importBegin.., formatProgress).
  pm_js_format_job: function (specPtr) {
    var formats = Module['polymarkFormats'];
    if (!formats) return 0;
    return formats.start(JSON.parse(UTF8ToString(specPtr))) ? 1 : 0;
  },

  pm_js_format_cancel: function () {
    var formats = Module['polymarkFormats'];
    if (formats) formats.cancel();
  },

  // Sync (docs/API.md, "Sync"): the journal and the requests are shell/src/sync.js's (IndexedDB,
  // fetch with timeouts, Web Locks); answers come back through the API's _sync* methods, always
  // later, never inside this call.
  pm_js_sync_journal: function (jsonPtr) {
    var sync = Module['polymarkSync'];
    if (sync) sync.journal(JSON.parse(UTF8ToString(jsonPtr)));
  },

  pm_js_sync_request: function (jsonPtr, bodyPtr, bodySize) {
    var sync = Module['polymarkSync'];
    if (!sync) return;
    var request = JSON.parse(UTF8ToString(jsonPtr));
    request.body = bodySize > 0 ? UTF8ToString(bodyPtr, bodySize) : '';
    sync.request(request);
  },

  // One call to the backend profile module (another wasm instance, shell/src/backend.js),
  // answered at once; its answer is copied into this heap (the caller frees it). 0: no module.
  pm_js_profile_call: function (callPtr) {
    var P = Module['polymarkProfile'];
    if (!P) return 0;
    var call = UTF8ToString(callPtr);
    var size = P.lengthBytesUTF8(call) + 1;
    var inPtr = P._malloc(size);
    P.stringToUTF8(call, inPtr, size);
    var answer = P.UTF8ToString(P._pm_profile_call(inPtr));
    P._free(inPtr);
    size = lengthBytesUTF8(answer) + 1;
    var outPtr = _malloc(size);
    stringToUTF8(answer, outPtr, size);
    return outPtr;
  },

  pm_js_teardown__deps: ['$JSEvents'],
  pm_js_teardown: function () {
    JSEvents.removeAllEventListeners();
    var fetches = Module['polymarkFetches'] || {};
    for (var id in fetches) if (fetches[id]) fetches[id].abort();
    Module['polymarkFetches'] = {};
  },
});
