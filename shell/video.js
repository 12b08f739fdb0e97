// Polymark video: frame-exact random access to the frames of an MP4 or WebM file, in the browser.
//
// The container is indexed by our own demuxer (polymark_video.wasm, loaded only when a task has
// video) through HTTP Range requests; frames are decoded by the browser's WebCodecs
// VideoDecoder, or, when WebCodecs is missing or `forceElement` is set, by seeking a <video>
// element. Frame n is always the n-th presented frame of the file (the MP4 edit list applied),
// whatever the frame rate, B-frame reordering or keyframe spacing.
//
// Self-contained: no imports, no dependency on polymark.js; defines window.PolymarkVideo.
//
//   const source = await PolymarkVideo.open(url, {
//     memoryCapBytes,   // decoded frames kept, bytes (default 256 MiB: ~86 frames of 1080p I420,
//                       //   a whole 60-frame GOP for backward stepping plus prefetch ahead)
//     prefetchFrames,   // frames decoded ahead of the playhead (default 24, less if the cap is small)
//     autoPrefetch,     // frame(n) also prefetches from n in the direction of travel (default true)
//     forceElement,     // use the <video>-element fallback even when WebCodecs exists
//     assetsUrl,        // folder of polymark_video.js/.wasm (default: this script's folder)
//     moduleUrl, wasmUrl, // the module's glue and wasm by URL instead (content-hashed names)
//     signal,           // an AbortSignal: aborts open(), and closes the source once open
//     optimizeForLatency, // passed to VideoDecoder.configure (default true: measured as fast or
//                       //   faster for seeks here, bench/video.mjs)
//   });
//   source.file, .url, .mode ('webcodecs' | 'element'), .codec, .container,
//   source.frameCount, .width, .height (the picture size the container declares, in pixels),
//   source.frameTimes (Float64Array: presentation time of each frame, seconds),
//   source.keyframes (Uint8Array: 1 where frame n is decoded from its own sample, a keyframe)
//   source.warnings (array of {code, message}: problems that still let some frames show)
//
// Frames and their lifetime:
//   source.frame(n)          -> Promise<VideoFrame>. The caller OWNS the frame and must close()
//                               it. It is a clone: it shares pixel memory with the cache (no copy)
//                               and stays valid until the caller closes it, even if the cache
//                               evicts its own reference or the source is closed. Close it soon:
//                               open frames hold decoder memory (stats().openFrames counts them).
//   source.withFrame(n, fn)  -> Promise<fn's result>. Borrows: fn(frame) may be async; the frame is
//                               closed when fn's promise settles. Do not keep it past that.
//   source.drawToTexture(gl, texture, n) -> Promise<{width, height}>: uploads frame n to a WebGL
//                               texture straight from the VideoFrame (texImage2D with the frame:
//                               no copy through JS or wasm memory); restores the TEXTURE_2D binding
//                               of the active unit. Does not touch filtering or pixel-store state.
//   source.readPixels(n, rect) -> Promise<Uint8Array>: RGBA bytes of rect {x, y, width, height}
//                               (default: the whole frame), row by row. A copy, for tests and
//                               trackers: it adds its length to stats().heapBytesCopied.
//   source.readLuma(n)       -> Promise<{width, height, channels, pixels}>: for trackers: the luma
//                               plane (channels 1) when the decoder gives planar YUV, else RGBA (4).
//   source.readRgba(n)       -> Promise<{width, height, channels: 4, pixels}>: the whole frame in
//                               colour, for the assisted tools (a copy, counted like readPixels).
//   source.prefetch(n, direction) -> Promise<number>: makes n the playhead, direction +1 or -1,
//                               and decodes ahead of it; resolves once the window ahead is cached
//                               (or the work was overtaken by a newer request) with the number of
//                               frames cached ahead of n. Never rejects.
//   source.clearCache({decoder}) closes every cached frame (and resets the decoder if asked).
//   source.stats()           -> {mode, cachedFrames, cacheBytes (<= capBytes always), capBytes,
//                               decodedFrames (pictures out of the decoder), openFrames (live
//                               VideoFrames: cached + handed out and not closed yet),
//                               heapBytesCopied (bytes readPixels copied out; the display path
//                               copies none), lastSeekMs (request to picture, the last request
//                               that had to decode), lastFrameMs (the same for any request),
//                               runs (decoding runs started from a keyframe), samplesFed,
//                               samplesSkipped, requests (HTTP), fetchedBytes}
//   source.close()           closes every VideoFrame the source holds, the decoder, aborts fetches;
//                               pending frame() promises reject with code "closed".
//
// Errors are PolymarkVideoError values (an Error with `code`, `file`, and `frame` or `path` where
// they apply); messages start with the file name. open() rejects when the file cannot be indexed
// ("unknown_format", "truncated", "corrupt", "unsupported", ... from the demuxer), when its codec
// cannot be decoded here ("unsupported_codec"), or on HTTP failures ("http_error",
// "network_error"). frame(n) rejects for that frame only ("decode_failed", "missing_bytes",
// "bad_frame", "element_failed", "network_error"): the decoder is reset and other frames keep
// working. An MP4 cut short in its media data, whose sample tables are whole, opens with a
// "truncated" warning; the frames before the cut show, the others reject "missing_bytes".
//
// Element fallback accuracy: the element is seeked to the middle of frame n (pts + duration / 2,
// times from our own index, so the edit list and variable frame rates are accounted for), and
// once it has seeked and presented (requestVideoFrameCallback) the picture is taken with
// `new VideoFrame(video)`. Measured in headless Chromium 156: 0 wrong frames of 1310 on the test
// videos (H.264 with B-frames and an edit list, VP9 WebM, variable frame rate MP4; every frame
// forward and backward plus 200 random seeks each, tests/browser/video.test.mjs) and 0 of 300
// random seeks on 1080p H.264 (bench/video.mjs). No standard makes element seeking frame-exact,
// so other browsers may differ; it is also slower (one seek per frame, no prefetch).
// `source.clearCache()` drops what it keeps; it has no decoder to reset.
(function (global) {
  'use strict';

  // [SECTION] settings

  const MiB = 1024 * 1024;
  const DEFAULT_MEMORY_CAP = 256 * MiB;
  const DEFAULT_PREFETCH_FRAMES = 24;
  const BYTE_CACHE_BYTES = 32 * MiB;  // fetched file bytes kept (re-decoding a GOP reads none)
  const MIN_READ = 64 * 1024;         // the smallest Range request
  const MAX_INDEX_READ = 4 * MiB;     // the largest read-ahead while indexing
  const READ_AHEAD = 2 * MiB;         // sample bytes fetched beyond what a run needs
  const SPAN_GAP = 64 * 1024;         // samples closer than this are read in one request
  const IDLE_MS = 30;                 // no decoder output for this long: feed more, or flush
  const HELD_BACK_MAX = 8;            // pictures a decoder may hold back for reordering
  const SKIP_KEEPS_BEHIND = 4;        // frames behind a forward seek decoded anyway (a step back)
  const ELEMENT_SEEK_TIMEOUT_MS = 15000;

  const scriptBase = (global.document && document.currentScript && document.currentScript.src)
    ? new URL('.', document.currentScript.src).href : null;

  // [SECTION] errors

  class PolymarkVideoError extends Error {
    constructor(code, file, message, extra) {
      super(`${file}: ${message}`);
      this.name = 'PolymarkVideoError';
      this.code = code;
      this.file = file;
      if (extra) Object.assign(this, extra);
    }
  }

  function fileNameOf(url) {
    try {
      const u = new URL(url, global.location ? global.location.href : undefined);
      const last = u.pathname.split('/').filter(Boolean).pop();
      return last ? decodeURIComponent(last) : u.href;
    } catch (e) {
      return String(url);
    }
  }

  const isAbort = (e) => e && (e.name === 'AbortError' || e.code === 'aborted');

  // [SECTION] the indexing module (lazy: loaded by the first open())

  const modules = new Map();  // assets folder URL -> Promise<module instance>

  function loadModule(assetsUrl, moduleUrl, wasmUrl) {
    let base = assetsUrl || scriptBase || (global.location ? global.location.href : '');
    base = new URL(base, global.location ? global.location.href : undefined).href;
    if (!base.endsWith('/')) base += '/';
    const glue = moduleUrl ? new URL(moduleUrl, base).href : base + 'polymark_video.js';
    const wasm = wasmUrl ? new URL(wasmUrl, base).href : null;
    const key = glue + ' ' + wasm;
    if (modules.has(key)) return modules.get(key);
    const promise = new Promise((resolve, reject) => {
      if (typeof global.createPolymarkVideoModule === 'function') return resolve(global.createPolymarkVideoModule);
      const script = document.createElement('script');
      script.src = glue;
      script.onload = () => (typeof global.createPolymarkVideoModule === 'function' ? resolve(global.createPolymarkVideoModule)
        : reject(new Error(`${script.src} did not define createPolymarkVideoModule`)));
      script.onerror = () => reject(new Error(`cannot load ${script.src}`));
      document.head.appendChild(script);
    }).then((factory) => factory({ locateFile: (name) => (wasm && name.endsWith('.wasm') ? wasm : new URL(name, glue).href) }));
    promise.catch(() => modules.delete(key));  // a later open() may try again
    modules.set(key, promise);
    return promise;
  }

  // [SECTION] reading bytes over HTTP Range requests

  class RangeReader {
    constructor(url, file, signal, counters) {
      this.url = url;
      this.file = file;
      this.signal = signal;
      this.counters = counters;
      this.size = -1;       // bytes the server says the file has
      this.whole = null;    // the whole file, when the server ignores Range
      this.chunks = [];     // {start, bytes, used}
      this.chunkBytes = 0;
      this.useCounter = 0;
    }

    // Bytes [start, end) as far as the file has them: {bytes, total} (total -1 if unknown).
    async request(start, end) {
      let resp;
      try {
        resp = await fetch(this.url, { headers: { Range: `bytes=${start}-${end - 1}` }, signal: this.signal });
      } catch (e) {
        if (isAbort(e)) throw e;
        throw new PolymarkVideoError('network_error', this.file, `reading bytes ${start}-${end - 1} failed: ${e.message}`);
      }
      this.counters.requests++;
      const range = /bytes\s+(\d+)-(\d+)\/(\d+|\*)/.exec(resp.headers.get('Content-Range') || '');
      const unsatisfied = /bytes\s+\*\/(\d+)/.exec(resp.headers.get('Content-Range') || '');
      if (resp.status === 416) {
        await resp.arrayBuffer().catch(() => null);
        return { bytes: new Uint8Array(0), total: unsatisfied ? Number(unsatisfied[1]) : -1 };
      }
      if (resp.status === 206) {
        if (!range || Number(range[1]) !== start) {
          throw new PolymarkVideoError('http_error', this.file, `the server answered bytes ${range ? range[1] + '-' + range[2] : '(no Content-Range)'} when bytes ${start}-${end - 1} were asked for`);
        }
        const bytes = new Uint8Array(await this.body(resp, start));
        this.counters.fetchedBytes += bytes.length;
        return { bytes, total: range[3] === '*' ? -1 : Number(range[3]) };
      }
      if (resp.status === 200) {
        // The server ignores Range: the body is the whole file; keep it.
        const all = new Uint8Array(await this.body(resp, 0));
        this.counters.fetchedBytes += all.length;
        this.whole = all;
        return { bytes: all.subarray(start, end), total: all.length };
      }
      await resp.arrayBuffer().catch(() => null);
      throw new PolymarkVideoError('http_error', this.file, `the server answered HTTP ${resp.status}${resp.statusText ? ' ' + resp.statusText : ''} for bytes ${start}-${end - 1}`, { status: resp.status });
    }

    async body(resp, start) {
      try {
        return await resp.arrayBuffer();
      } catch (e) {
        if (isAbort(e)) throw e;
        throw new PolymarkVideoError('network_error', this.file, `reading bytes from ${start} failed: ${e.message}`);
      }
    }

    // Learns the file size with a first ranged read, which also gives the first bytes.
    async start() {
      const { bytes, total } = await this.request(0, MIN_READ);
      let size = total;
      if (size < 0) {
        const head = await fetch(this.url, { method: 'HEAD', signal: this.signal });
        size = Number(head.headers.get('Content-Length'));
        if (!head.ok || !Number.isFinite(size)) throw new PolymarkVideoError('http_error', this.file, 'the server tells neither Content-Range nor Content-Length: the file size is unknown');
      }
      this.size = size;
      if (bytes.length) this.keep(0, bytes);
      return size;
    }

    keep(start, bytes) {
      this.chunks.push({ start, bytes, used: ++this.useCounter });
      this.chunkBytes += bytes.length;
      while (this.chunkBytes > BYTE_CACHE_BYTES && this.chunks.length > 1) {
        let oldest = 0;
        for (let i = 1; i < this.chunks.length; i++) if (this.chunks[i].used < this.chunks[oldest].used) oldest = i;
        this.chunkBytes -= this.chunks[oldest].bytes.length;
        this.chunks.splice(oldest, 1);
      }
    }

    // Cached bytes from `start`: a view of at least `min` bytes (or to the end of what is held), or null.
    cached(start, min) {
      if (this.whole) return start < this.whole.length ? this.whole.subarray(start) : new Uint8Array(0);
      for (const c of this.chunks) {
        const end = c.start + c.bytes.length;
        if (start >= c.start && start < end && end - start >= min) {
          c.used = ++this.useCounter;
          return c.bytes.subarray(start - c.start);
        }
      }
      return null;
    }

    // Reads [start, end) (clipped to the file), keeps it, returns what the server had.
    async read(start, end) {
      const limit = this.size >= 0 ? this.size : end;
      end = Math.min(end, limit);
      if (start >= end) return new Uint8Array(0);
      const hit = this.cached(start, end - start);
      if (hit) return hit.subarray(0, end - start);
      const { bytes } = await this.request(start, end);
      if (this.whole) return bytes;
      if (bytes.length) this.keep(start, bytes);
      return bytes;
    }

    // What the indexer asked for: at least `size` bytes from `offset`, `useful` bytes welcome.
    async forIndex(offset, size, useful, fileSize) {
      const hit = this.cached(offset, 1);
      if (hit && hit.length) return hit;
      const want = Math.max(size, Math.min(Math.max(useful, MIN_READ), Math.max(size, MAX_INDEX_READ)));
      return this.read(offset, Math.min(offset + want, fileSize));
    }
  }

  // [SECTION] the index

  // Drives the wasm indexer with Range reads; returns the index as typed arrays.
  // A file cut short in its media data is indexed with a warning: the frames before the cut show,
  // the frames whose bytes are missing fail one by one ("missing_bytes").
  async function indexFile(mod, reader, file, realSize) {
    const result = await runIndexer(mod, reader, realSize);
    if (result.error) {
      const e = result.error;
      // A file of another kind under a video's name (a text file called .mp4): said plainly.
      const what = e.code === 'unknown_format' ? 'not a video' : 'cannot index the video';
      throw new PolymarkVideoError(e.code || 'corrupt', file, `${what}: ${e.message}`, { path: e.path });
    }
    const cut = result.info.truncated;
    result.warnings = cut ? [{ code: 'truncated', message: `${file}: ${cut.message}; the frames before the cut can still be shown` }] : [];
    return result;
  }

  async function runIndexer(mod, reader, fileSize) {
    const handle = mod._pm_video_open(fileSize);
    try {
      while (mod._pm_video_state(handle) === 0) {
        const at = mod._pm_video_need(handle) / 8;
        const offset = mod.HEAPF64[at]; const size = mod.HEAPF64[at + 1]; const useful = mod.HEAPF64[at + 2];
        const bytes = await reader.forIndex(offset, size, useful, Math.min(fileSize, Math.max(reader.size, 0)));
        const ptr = bytes.length ? mod._malloc(bytes.length) : 0;
        try {
          if (bytes.length) mod.HEAPU8.set(bytes, ptr);
          mod._pm_video_feed(handle, offset, ptr, bytes.length);
        } finally {
          if (ptr) mod._free(ptr);
        }
      }
      if (mod._pm_video_state(handle) !== 1) return { error: JSON.parse(mod.UTF8ToString(mod._pm_video_error(handle))) };
      const info = JSON.parse(mod.UTF8ToString(mod._pm_video_info(handle)));
      const fp = mod._pm_video_frames(handle) / 8;
      const f = mod.HEAPF64.slice(fp, fp + info.frameCount * 4);
      const sp = mod._pm_video_samples(handle) / 8;
      const s = mod.HEAPF64.slice(sp, sp + info.sampleCount * 6);
      const frames = {
        pts: new Float64Array(info.frameCount), duration: new Float64Array(info.frameCount),
        sample: new Uint32Array(info.frameCount), decodeFrom: new Uint32Array(info.frameCount),
      };
      for (let n = 0; n < info.frameCount; n++) {
        frames.pts[n] = f[4 * n]; frames.duration[n] = f[4 * n + 1];
        frames.sample[n] = f[4 * n + 2]; frames.decodeFrom[n] = f[4 * n + 3];
      }
      const samples = {
        offset: new Float64Array(info.sampleCount), size: new Uint32Array(info.sampleCount),
        key: new Uint8Array(info.sampleCount), cts: new Float64Array(info.sampleCount), duration: new Float64Array(info.sampleCount),
      };
      for (let i = 0; i < info.sampleCount; i++) {
        samples.offset[i] = s[6 * i]; samples.size[i] = s[6 * i + 1]; samples.key[i] = s[6 * i + 2];
        samples.cts[i] = s[6 * i + 3]; samples.duration[i] = s[6 * i + 5];
      }
      const hex = info.description || '';
      const description = new Uint8Array(hex.length / 2);
      for (let i = 0; i < description.length; i++) description[i] = parseInt(hex.substr(2 * i, 2), 16);
      return { info, frames, samples, description };
    } finally {
      mod._pm_video_close(handle);
    }
  }

  // [SECTION] the decoded-frame cache

  // VideoFrames by frame index under a byte cap. When full, the frame farthest from the playhead
  // goes first (frames behind the direction of travel count double); ties go to the least
  // recently used. Every frame that leaves is closed.
  class FrameCache {
    constructor(capBytes) {
      this.cap = capBytes;
      this.entries = new Map();  // n -> {frame, bytes, used}
      this.bytes = 0;
      this.useCounter = 0;
    }

    has(n) { return this.entries.has(n); }

    get(n) {
      const e = this.entries.get(n);
      if (!e) return null;
      e.used = ++this.useCounter;
      return e.frame;
    }

    // Takes ownership of frame. Returns false (and the caller keeps ownership) when it does not fit.
    put(n, frame, bytes, score) {
      if (this.entries.has(n)) return false;
      if (bytes > this.cap) return false;
      const mine = score(n);
      while (this.bytes + bytes > this.cap) {
        let victim = -1; let worst = -1; let worstUsed = 0;
        for (const [k, e] of this.entries) {
          const s = score(k);
          if (s > worst || (s === worst && e.used < worstUsed)) { victim = k; worst = s; worstUsed = e.used; }
        }
        if (victim < 0 || worst < mine) return false;
        this.remove(victim);
      }
      this.entries.set(n, { frame, bytes, used: ++this.useCounter });
      this.bytes += bytes;
      return true;
    }

    remove(n) {
      const e = this.entries.get(n);
      if (!e) return;
      this.entries.delete(n);
      this.bytes -= e.bytes;
      e.frame.close();
    }

    clear() {
      for (const e of this.entries.values()) e.frame.close();
      this.entries.clear();
      this.bytes = 0;
    }
  }

  // [SECTION] what every source shares

  class SourceBase {
    constructor(url, file, index, options, reader, abort) {
      this.url = url;
      this.file = file;
      this.reader = reader;
      this.abortController = abort;
      this.index = index;
      this.codec = index.info.codec;
      this.container = index.info.container;
      this.frameCount = index.info.frameCount;
      this.width = index.info.codedWidth;
      this.height = index.info.codedHeight;
      this.timescale = index.info.timescale;
      this.frameTimes = new Float64Array(this.frameCount);
      this.keyframes = new Uint8Array(this.frameCount);
      for (let n = 0; n < this.frameCount; n++) {
        this.frameTimes[n] = index.frames.pts[n] / this.timescale;
        this.keyframes[n] = index.frames.decodeFrom[n] === index.frames.sample[n] ? 1 : 0;
      }
      this.warnings = index.warnings || [];
      this.cache = new FrameCache(options.memoryCapBytes);
      this.playhead = 0;
      this.direction = 1;
      this.closed = false;
      this.clones = new Set();  // frames handed to callers, until they close them
      this.counters = reader.counters;
      Object.assign(this.counters, { decodedFrames: 0, heapBytesCopied: 0, lastSeekMs: null, lastFrameMs: null, runs: 0, samplesFed: 0, samplesSkipped: 0 });
      this.frameBytesGuess = Math.max(1, Math.round(this.width * this.height * 1.5));
    }

    checkFrame(n) {
      if (this.closed) return Promise.reject(new PolymarkVideoError('closed', this.file, 'the video source is closed'));
      if (!Number.isInteger(n) || n < 0 || n >= this.frameCount) {
        return Promise.reject(new PolymarkVideoError('bad_frame', this.file, `frame ${n} does not exist (the video has ${this.frameCount} frames, 0 to ${this.frameCount - 1})`, { frame: n }));
      }
      return null;
    }

    moveTo(n, direction) {
      if (direction) this.direction = direction > 0 ? 1 : -1;
      else if (n !== this.playhead) this.direction = n > this.playhead ? 1 : -1;
      if (n !== this.playhead && this.prefetchMisses) this.prefetchMisses.clear();
      this.playhead = n;
    }

    // How much a cached frame is worth dropping: its distance from the playhead, doubled behind
    // the direction of travel.
    score(k) {
      const d = (k - this.playhead) * this.direction;
      return d >= 0 ? d : -2 * d;
    }

    // Memory a frame holds: its pixel layout's size; a GPU-backed frame (no CPU format) counts as RGBA.
    frameBytes(frame) {
      try {
        if (frame.format) return frame.allocationSize();
      } catch (e) { /* not mappable to CPU memory */ }
      return frame.codedWidth * frame.codedHeight * 4;
    }

    handOut(frame) {
      const clone = frame.clone();
      this.clones.add(clone);
      return clone;
    }

    async withFrame(n, fn) {
      const frame = await this.frame(n);
      try {
        return await fn(frame);
      } finally {
        frame.close();
        this.clones.delete(frame);
      }
    }

    drawToTexture(gl, texture, n) {
      return this.withFrame(n, (frame) => {
        const previous = gl.getParameter(gl.TEXTURE_BINDING_2D);
        gl.bindTexture(gl.TEXTURE_2D, texture);
        try {
          gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, frame);
        } finally {
          gl.bindTexture(gl.TEXTURE_2D, previous);
        }
        return { width: frame.displayWidth, height: frame.displayHeight };
      });
    }

    readPixels(n, rect) {
      return this.withFrame(n, (frame) => this.rgbaOf(frame, rect));
    }

    rgbaOf(frame, rect) {
      const r = rect || { x: 0, y: 0, width: frame.displayWidth, height: frame.displayHeight };
      if (!this.canvas) {
        this.canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(1, 1) : document.createElement('canvas');
        this.context2d = null;
      }
      if (this.canvas.width !== r.width || this.canvas.height !== r.height || !this.context2d) {
        this.canvas.width = r.width;
        this.canvas.height = r.height;
        this.context2d = this.canvas.getContext('2d', { willReadFrequently: true });
      }
      this.context2d.drawImage(frame, r.x, r.y, r.width, r.height, 0, 0, r.width, r.height);
      const pixels = new Uint8Array(this.context2d.getImageData(0, 0, r.width, r.height).data.buffer);
      this.counters.heapBytesCopied += pixels.length;
      return pixels;
    }

    readRgba(n) {
      return this.withFrame(n, (frame) => ({ width: frame.displayWidth, height: frame.displayHeight, channels: 4, pixels: this.rgbaOf(frame) }));
    }

    // The luma plane of a planar YUV frame whose visible size is its display size (no canvas, a
    // quarter of RGBA's bytes), RGBA otherwise.
    readLuma(n) {
      return this.withFrame(n, async (frame) => {
        const v = frame.visibleRect;
        const planar = /^(I420|I420A|I422|I444|NV12)$/.test(frame.format || '');
        if (planar && v && v.width === frame.displayWidth && v.height === frame.displayHeight) {
          const all = new Uint8Array(frame.allocationSize());
          const layout = await frame.copyTo(all);
          const { offset, stride } = layout[0];
          const w = v.width, h = v.height;
          let luma;
          if (stride === w) {
            luma = all.subarray(offset, offset + w * h);
          } else {
            luma = new Uint8Array(w * h);
            for (let y = 0; y < h; y++) luma.set(all.subarray(offset + y * stride, offset + y * stride + w), y * w);
          }
          this.counters.heapBytesCopied += luma.length;
          return { width: w, height: h, channels: 1, pixels: luma };
        }
        return { width: frame.displayWidth, height: frame.displayHeight, channels: 4, pixels: this.rgbaOf(frame) };
      });
    }

    clearCache() { this.cache.clear(); }

    stats() {
      for (const c of this.clones) if (c.format === null && c.codedWidth === 0) this.clones.delete(c);
      const c = this.counters;
      return {
        mode: this.mode,
        cachedFrames: this.cache.entries.size,
        cacheBytes: this.cache.bytes,
        capBytes: this.cache.cap,
        decodedFrames: c.decodedFrames,
        openFrames: this.cache.entries.size + this.clones.size,
        heapBytesCopied: c.heapBytesCopied,
        lastSeekMs: c.lastSeekMs,
        lastFrameMs: c.lastFrameMs,
        runs: c.runs,
        samplesFed: c.samplesFed,
        samplesSkipped: c.samplesSkipped,
        requests: c.requests,
        fetchedBytes: c.fetchedBytes,
      };
    }

    closeBase() {
      this.closed = true;
      this.abortController.abort();
      this.cache.clear();
    }
  }

  // [SECTION] WebCodecs decoding

  class WebCodecsSource extends SourceBase {
    constructor(url, file, index, options, reader, abort, config) {
      super(url, file, index, options, reader, abort);
      this.mode = 'webcodecs';
      this.config = config;
      this.prefetchFrames = options.prefetchFrames;
      this.autoPrefetch = options.autoPrefetch;
      const { samples, frames } = index;
      const count = samples.offset.length;
      // Chunk timestamps (µs) are the samples' composition times: unique, so an output maps back
      // to its sample, and from there to the frame(s) showing it. Outputs come in presentation
      // order; they are matched by timestamp, never by counting.
      this.timestamps = new Float64Array(count);
      this.sampleOfTimestamp = new Map();
      for (let i = 0; i < count; i++) {
        this.timestamps[i] = Math.round(samples.cts[i] * 1e6 / this.timescale);
        if (this.sampleOfTimestamp.has(this.timestamps[i])) break;
        this.sampleOfTimestamp.set(this.timestamps[i], i);
      }
      if (this.sampleOfTimestamp.size !== count) {  // µs too coarse for this timescale: use ranks
        const order = Array.from({ length: count }, (_, i) => i).sort((a, b) => samples.cts[a] - samples.cts[b] || a - b);
        this.sampleOfTimestamp.clear();
        order.forEach((s, rank) => { this.timestamps[s] = rank; this.sampleOfTimestamp.set(rank, s); });
      }
      this.firstFrameOfSample = new Int32Array(count).fill(-1);
      this.moreFramesOfSample = new Map();  // a sample an edit list shows more than once
      for (let n = 0; n < this.frameCount; n++) {
        const s = frames.sample[n];
        if (this.firstFrameOfSample[s] < 0) this.firstFrameOfSample[s] = n;
        else this.moreFramesOfSample.set(s, (this.moreFramesOfSample.get(s) || []).concat(n));
      }
      this.fileEnd = reader.size;  // samples past it are missing (a truncated file)
      // H.264 in MP4/Matroska: length-prefixed NAL units; the prefix size is in the avcC record.
      const avc = /^avc[13]\./.test(this.codec) && index.description.length > 4;
      this.nalLengthSize = avc ? (index.description[4] & 3) + 1 : 0;
      this.disposable = new Int8Array(count).fill(-1);  // per sample: 1 nothing refers to it, 0 no, -1 not looked at
      this.decoder = null;
      this.decoderError = null;
      this.feedNext = -1;   // the next sample to feed, or -1 when the decoder needs a keyframe
      this.runStart = -1;   // the keyframe the current run started from
      this.pending = new Set();  // samples fed whose pictures have not come out yet
      // Samples to feed after a frame's own before its picture comes out: the stream's reordering
      // depth (later-decoded samples shown before it), raised when the decoder holds more back.
      this.lag = 0;
      for (let i = 0; i < count; i++) {
        let before = 0;
        for (let j = i + 1; j < Math.min(count, i + 17); j++) if (samples.cts[j] < samples.cts[i]) before++;
        this.lag = Math.max(this.lag, before);
      }
      this.waiters = new Map();  // n -> [{resolve, reject, started}]
      this.requestOrder = [];
      this.failed = new Map();   // n -> error, frames prefetch will not try again
      this.prefetchMisses = new Set();
      this.watch = null;    // {frame, arrived, wake}
      this.pumping = false;
      this.idleResolvers = [];
      this.prefetchWanted = false;
      this.lastActivity = 0;
    }

    // [SECTION] public

    frame(n) {
      const bad = this.checkFrame(n);
      if (bad) return bad;
      this.moveTo(n);
      if (this.autoPrefetch) this.prefetchWanted = true;
      const started = performance.now();
      const hit = this.cache.get(n);
      if (hit) {
        this.counters.lastFrameMs = performance.now() - started;
        this.pump();
        return Promise.resolve(this.handOut(hit));
      }
      return new Promise((resolve, reject) => {
        if (!this.waiters.has(n)) this.waiters.set(n, []);
        this.waiters.get(n).push({ resolve, reject, started });
        this.requestOrder.push(n);
        if (this.watch && !this.watch.forWaiter) this.watch.wake();  // overtake a prefetch
        this.pump();
      });
    }

    prefetch(n, direction) {
      if (this.closed || !Number.isInteger(n) || n < 0 || n >= this.frameCount) return Promise.resolve(0);
      this.moveTo(n, direction || this.direction);
      this.prefetchWanted = true;
      this.prefetchMisses.clear();
      const done = new Promise((resolve) => this.idleResolvers.push(resolve));
      this.pump();
      return done.then(() => {
        let ahead = 0;
        for (let k = n + this.direction; k >= 0 && k < this.frameCount && this.cache.has(k); k += this.direction) ahead++;
        return ahead;
      });
    }

    clearCache(options) {
      this.cache.clear();
      if (options && options.decoder) this.resetDecoder();
    }

    close() {
      if (this.closed) return;
      this.closeBase();
      if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
      this.decoder = null;
      this.pending.clear();
      for (const [n, list] of this.waiters) {
        for (const w of list) w.reject(new PolymarkVideoError('closed', this.file, 'the video source was closed', { frame: n }));
      }
      this.waiters.clear();
      if (this.watch) this.watch.wake();
      this.settleIdle();
    }

    // [SECTION] the decoder

    ensureDecoder() {
      if (this.decoder && this.decoder.state === 'configured') return;
      if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
      this.decoderError = null;
      const decoder = new VideoDecoder({
        output: (frame) => this.onOutput(decoder, frame),
        error: (e) => {
          if (this.decoder !== decoder) return;
          this.decoderError = e;
          if (this.watch) this.watch.wake();
        },
      });
      decoder.configure(this.config);
      this.decoder = decoder;
      this.feedNext = -1;
      this.pending.clear();
    }

    resetDecoder() {
      if (this.decoder && this.decoder.state === 'configured' && (this.pending.size || this.feedNext >= 0)) {
        this.decoder.reset();
        this.decoder.configure(this.config);
      }
      this.feedNext = -1;
      this.pending.clear();
    }

    onOutput(decoder, frame) {
      const s = this.sampleOfTimestamp.get(frame.timestamp);
      if (decoder !== this.decoder || this.closed || s === undefined || !this.pending.has(s)) {
        frame.close();  // from before a reset, or not ours
        return;
      }
      this.pending.delete(s);
      this.lastActivity = performance.now();
      const shown = [];
      if (this.firstFrameOfSample[s] >= 0) shown.push(this.firstFrameOfSample[s]);
      if (this.moreFramesOfSample.has(s)) shown.push(...this.moreFramesOfSample.get(s));
      if (!shown.length) {
        frame.close();  // a sample the edit list does not show
        return;
      }
      for (let i = 0; i < shown.length; i++) this.deliver(shown[i], i === shown.length - 1 ? frame : frame.clone());
    }

    deliver(n, frame) {
      this.counters.decodedFrames++;
      const bytes = this.frameBytes(frame);
      this.frameBytesGuess = bytes;
      this.failed.delete(n);
      const waiting = this.waiters.get(n);
      if (waiting) {
        this.waiters.delete(n);
        const now = performance.now();
        for (const w of waiting) {
          this.counters.lastSeekMs = this.counters.lastFrameMs = now - w.started;
          w.resolve(this.handOut(frame));
        }
      }
      const kept = this.wanted(n) && this.cache.put(n, frame, bytes, (k) => this.score(k));
      if (!kept) frame.close();
      if (this.watch && this.watch.frame === n) {
        this.watch.arrived = true;
        this.watch.wake();
      }
    }

    // Frames worth keeping when they come out: the prefetch window around the playhead.
    wanted(n) {
      const ahead = this.windowAhead();
      const behind = Math.max(2, Math.min(ahead, this.capFrames() - ahead - 1));
      const d = (n - this.playhead) * this.direction;
      return d >= -behind && d <= ahead;
    }

    capFrames() { return Math.max(0, Math.floor(this.cache.cap / this.frameBytesGuess)); }
    windowAhead() { return Math.max(0, Math.min(this.prefetchFrames, Math.floor(this.capFrames() * 2 / 3))); }

    // [SECTION] the pump: one decoding job at a time, requests before prefetch

    async pump() {
      if (this.pumping || this.closed) return;
      this.pumping = true;
      try {
        for (;;) {
          if (this.closed) break;
          const goal = this.nextGoal();
          if (!goal) break;
          try {
            await this.produce(goal.frame, goal.forWaiter);
          } catch (e) {  // reading the file failed (HTTP, network) or the source was closed
            this.watch = null;
            if (this.closed || isAbort(e)) break;
            this.rejectFrame(goal.frame, new PolymarkVideoError(e.code || 'network_error', this.file,
              `frame ${goal.frame} cannot be shown: ${String(e.message).replace(this.file + ': ', '')}`, { frame: goal.frame }));
            this.prefetchMisses.add(goal.frame);
          }
        }
      } finally {
        this.pumping = false;
        if (!this.closed && this.nextGoal()) this.pump();
        else this.settleIdle();
      }
    }

    settleIdle() {
      const list = this.idleResolvers;
      this.idleResolvers = [];
      for (const resolve of list) resolve();
    }

    nextGoal() {
      // The latest request first: when scrubbing, older requests matter least.
      while (this.requestOrder.length) {
        const n = this.requestOrder[this.requestOrder.length - 1];
        if (this.waiters.has(n)) {
          if (this.cache.has(n)) {  // came out of a run for another frame
            const frame = this.cache.get(n);
            for (const w of this.waiters.get(n)) {
              this.counters.lastFrameMs = performance.now() - w.started;
              w.resolve(this.handOut(frame));
            }
            this.waiters.delete(n);
          } else {
            return { frame: n, forWaiter: true };
          }
        }
        this.requestOrder.pop();
      }
      if (!this.prefetchWanted) return null;
      const ahead = this.windowAhead();
      for (let i = 1; i <= ahead; i++) {
        const n = this.playhead + i * this.direction;
        if (n < 0 || n >= this.frameCount) break;
        if (this.cache.has(n) || this.failed.has(n) || this.prefetchMisses.has(n)) continue;
        return { frame: n, forWaiter: false };
      }
      this.prefetchWanted = false;
      return null;
    }

    rejectFrame(n, error) {
      this.failed.set(n, error);
      const waiting = this.waiters.get(n);
      if (!waiting) return;
      this.waiters.delete(n);
      for (const w of waiting) w.reject(error);
    }

    sampleMissing(s) {
      return this.index.samples.offset[s] + this.index.samples.size[s] > this.fileEnd;
    }

    // Can the running decoder reach frame n by decoding on, without going back to a keyframe?
    canContinue(n) {
      if (!this.decoder || this.decoder.state !== 'configured' || this.feedNext < 0) return false;
      const s = this.index.frames.sample[n]; const k = this.index.frames.decodeFrom[n];
      if (this.pending.has(s)) return true;
      return s >= this.feedNext && k >= this.runStart && k <= this.feedNext;
    }

    // Decodes until frame n comes out (it is cached, or handed to its waiters), or fails it.
    // `strict`: feed exactly the samples n needs, then flush; a retry after a decoding error, so
    // that damage in samples n does not need (the next GOP, a later B-frame) never fails n.
    async produce(n, forWaiter, strict) {
      const { frames } = this.index;
      const sampleCount = this.index.samples.offset.length;
      const s = frames.sample[n]; const k = frames.decodeFrom[n];
      for (let i = k; i <= s; i++) {
        if (this.sampleMissing(i)) {
          const { offset, size } = this.index.samples;
          return this.rejectFrame(n, new PolymarkVideoError('missing_bytes', this.file,
            `frame ${n} cannot be shown: its data (sample ${i}, bytes ${offset[i]}-${offset[i] + size[i] - 1}) lies beyond the end of the file, which is cut off at ${this.fileEnd} bytes`, { frame: n }));
        }
      }
      let lastFeedable = sampleCount - 1;
      for (let i = s + 1; i < sampleCount; i++) if (this.sampleMissing(i)) { lastFeedable = i - 1; break; }

      this.ensureDecoder();
      if (!this.canContinue(n)) {
        this.resetDecoder();
        this.runStart = k;
        this.feedNext = k;
        this.counters.runs++;
      }
      // The samples this run feeds. Going forward: a few past n, as the decoder holds pictures
      // back for reordering (the run then goes on as prefetch, never back to the keyframe).
      // Going backward: every frame of n's GOP in the window behind n, then a flush.
      const backward = this.direction < 0 || strict;
      let end = s;
      if (strict) {
        end = s;
      } else if (backward) {
        const lo = Math.max(0, n - this.windowAhead());
        for (let m = n - 1; m >= lo && frames.decodeFrom[m] === k; m--) end = Math.max(end, frames.sample[m]);
      } else {
        end = s + this.lag;
      }
      end = Math.min(end, lastFeedable);
      const readTo = backward ? end : Math.min(lastFeedable, end + 64);
      this.watch = { frame: n, arrived: false, forWaiter, wake: () => {} };
      let failed = false;
      try {
        for (;;) {
          if (this.closed) return;
          if (this.feedNext >= 0 && this.feedNext <= end) await this.feed(end, readTo);
          if (this.watch.arrived || this.closed) break;
          if (this.decoderError) { failed = true; break; }
          if (backward || this.feedNext < 0 || this.feedNext > lastFeedable) {
            await this.flush();  // nothing more to feed (or going backward): everything comes out
            failed = !this.watch.arrived;
            break;
          }
          const outcome = await this.waitForOutput();
          if (outcome === 'arrived' || this.closed) break;
          if (outcome === 'preempted') {
            this.prefetchMisses.add(n);
            return;
          }
          if (outcome === 'error') { failed = true; break; }
          // Idle, and n is still held back inside the decoder: feed on, and next time sooner.
          this.lag = Math.min(16, this.lag + 1);
          end = Math.min(lastFeedable, Math.max(end, this.feedNext - 1) + 2);
        }
      } finally {
        this.watch = null;
      }
      if (this.closed) return;
      if (!failed) {
        if (!forWaiter && !this.cache.has(n)) this.prefetchMisses.add(n);  // did not fit
        return;
      }
      const cause = this.decoderError;
      if (cause) {  // the decoder closed itself; the next run makes a new one
        if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
        this.decoder = null;
        this.feedNext = -1;
        this.pending.clear();
        if (!strict) return this.produce(n, forWaiter, true);
      }
      const error = new PolymarkVideoError('decode_failed', this.file,
        cause ? `frame ${n} could not be decoded: ${cause.message || cause}` : `frame ${n} could not be decoded: the decoder gave no picture for it`, { frame: n });
      this.rejectFrame(n, error);
      if (!forWaiter) this.prefetchMisses.add(n);
    }

    // Feeds samples feedNext..end to the decoder, first fetching their bytes (and read-ahead up to
    // sample `readTo`, in the same requests).
    async feed(end, readTo) {
      await this.fetchSamples(this.feedNext, end, readTo);
      const { samples } = this.index;
      for (let i = this.feedNext; i <= end; i++) {
        if (this.closed || this.decoderError || !this.decoder || this.decoder.state !== 'configured') return;
        const data = this.sampleBytes(i);
        if (!data) {
          this.decoderError = new Error(`the bytes of sample ${i} could not be read`);
          return;
        }
        if (this.canSkip(i, data)) {
          this.feedNext = i + 1;
          this.counters.samplesSkipped++;
          continue;
        }
        try {
          this.decoder.decode(new EncodedVideoChunk({
            type: samples.key[i] ? 'key' : 'delta',
            timestamp: this.timestamps[i],
            duration: Math.round(samples.duration[i] * 1e6 / this.timescale),
            data,
          }));
        } catch (e) {
          this.decoderError = e;
          return;
        }
        this.pending.add(i);
        this.feedNext = i + 1;
        this.counters.samplesFed++;
        this.lastActivity = performance.now();
      }
    }

    // A sample nothing refers to (an H.264 picture with nal_ref_idc 0 in every slice), shown before
    // the window kept behind the playhead while going forward: decoding it would only make a
    // picture to throw away. Seeking deep into a GOP skips about half its B-frames this way.
    canSkip(i, data) {
      if (!this.nalLengthSize || this.direction < 0 || this.index.samples.key[i]) return false;
      const shown = [];
      if (this.firstFrameOfSample[i] >= 0) shown.push(this.firstFrameOfSample[i]);
      if (this.moreFramesOfSample.has(i)) shown.push(...this.moreFramesOfSample.get(i));
      for (const f of shown) {
        if (f >= this.playhead - SKIP_KEEPS_BEHIND || this.waiters.has(f) || (this.watch && this.watch.frame === f)) return false;
      }
      let known = this.disposable[i];
      if (known < 0) {
        known = 0;
        const size = this.nalLengthSize;
        let at = 0; let vcl = false; let referenced = false;
        while (at + size < data.length) {
          let length = 0;
          for (let b = 0; b < size; b++) length = length * 256 + data[at + b];
          const header = data[at + size];
          const type = header & 31;
          if (type >= 1 && type <= 5) {
            vcl = true;
            if ((header >> 5) & 3) referenced = true;
          }
          at += size + length;
        }
        if (vcl && !referenced && at === data.length) known = 1;
        this.disposable[i] = known;
      }
      return known === 1;
    }

    async flush() {
      if (!this.decoder || this.decoder.state !== 'configured') return;
      const decoder = this.decoder;
      try {
        await decoder.flush();
      } catch (e) {
        if (decoder === this.decoder && !this.decoderError && e && e.name !== 'AbortError') this.decoderError = e;
      }
      if (decoder === this.decoder) {
        this.feedNext = -1;  // after a flush the decoder wants a keyframe
        this.pending.clear();
      }
    }

    // Resolves 'arrived', 'error', 'preempted' (a request overtook a prefetch) or 'idle' (no output
    // for IDLE_MS with nothing queued: the picture is held back inside the decoder).
    waitForOutput() {
      return new Promise((resolve) => {
        let timer = 0;
        const check = () => {
          clearTimeout(timer);
          const w = this.watch;
          if (!w || this.closed) return resolve('arrived');
          if (w.arrived) return resolve('arrived');
          if (this.decoderError || !this.decoder || this.decoder.state !== 'configured') return resolve('error');
          if (!w.forWaiter && this.requestOrder.some((n) => this.waiters.has(n))) return resolve('preempted');
          // Many samples still inside the decoder: it is busy, not holding pictures back.
          const quiet = performance.now() - this.lastActivity;
          if (this.decoder.decodeQueueSize === 0 && quiet >= IDLE_MS && (this.pending.size <= HELD_BACK_MAX || quiet >= 10 * IDLE_MS)) return resolve('idle');
          timer = setTimeout(check, 3);
        };
        this.watch.wake = check;
        check();
      });
    }

    // [SECTION] sample bytes

    sampleBytes(i) {
      const off = this.index.samples.offset[i]; const size = this.index.samples.size[i];
      const hit = this.reader.cached(off, size);
      return hit ? hit.subarray(0, size) : null;
    }

    // Fetches the bytes of samples a..b that are not held yet, in as few requests as possible,
    // plus read-ahead: following samples up to `readTo` within READ_AHEAD bytes.
    async fetchSamples(a, b, readTo) {
      const { offset, size } = this.index.samples;
      const spans = [];
      let extra = 0;
      for (let i = a; i <= readTo && i < offset.length; i++) {
        if (i > b) {
          extra += size[i];
          if (extra > READ_AHEAD) break;
        }
        if (this.sampleMissing(i)) break;
        if (this.sampleBytes(i)) continue;
        const start = offset[i]; const end = start + size[i];
        const last = spans[spans.length - 1];
        if (last && start >= last.start && start - last.end <= SPAN_GAP && end - last.start <= 4 * READ_AHEAD + size[i]) {
          last.end = Math.max(last.end, end);
        } else if (i <= b || !last) {
          spans.push({ start, end });
        } else {
          break;
        }
      }
      await Promise.all(spans.map((sp) => this.reader.read(sp.start, sp.end)));
    }
  }

  // [SECTION] the <video> element fallback

  class ElementSource extends SourceBase {
    constructor(url, file, index, options, reader, abort) {
      super(url, file, index, options, reader, abort);
      this.mode = 'element';
      this.queue = Promise.resolve();
      this.shown = -1;  // the frame the element shows now
    }

    async init() {
      const video = document.createElement('video');
      this.video = video;
      video.muted = true;
      video.playsInline = true;
      video.preload = 'auto';
      try {
        if (new URL(this.url, location.href).origin !== location.origin) video.crossOrigin = 'anonymous';
      } catch (e) { /* a relative URL: same origin */ }
      await new Promise((resolve, reject) => {
        const ok = () => { cleanup(); resolve(); };
        const fail = () => {
          cleanup();
          const err = video.error;
          reject(new PolymarkVideoError('element_failed', this.file, `the browser's video element cannot play the file: ${err ? (err.message || 'media error ' + err.code) : 'unknown error'}`));
        };
        const cleanup = () => { video.removeEventListener('loadeddata', ok); video.removeEventListener('error', fail); };
        video.addEventListener('loadeddata', ok);
        video.addEventListener('error', fail);
        video.src = this.url;
      });
      return this;
    }

    frame(n) {
      const bad = this.checkFrame(n);
      if (bad) return bad;
      this.moveTo(n);
      const started = performance.now();
      const hit = this.cache.get(n);
      if (hit) {
        this.counters.lastFrameMs = performance.now() - started;
        return Promise.resolve(this.handOut(hit));
      }
      const job = this.queue.then(() => this.seekAndGrab(n, started));
      this.queue = job.catch(() => {});
      return job;
    }

    async seekAndGrab(n, started) {
      if (this.closed) throw new PolymarkVideoError('closed', this.file, 'the video source was closed', { frame: n });
      const hit = this.cache.get(n);
      if (hit) return this.handOut(hit);
      const video = this.video;
      const target = (this.index.frames.pts[n] + this.index.frames.duration[n] / 2) / this.timescale;
      if (this.shown !== n || Math.abs(video.currentTime - target) > 1e-6) {
        await new Promise((resolve, reject) => {
          let timer = 0;
          let seeked = false; let presented = false;
          const done = () => { if (seeked && presented) { cleanup(); resolve(); } };
          const onSeeked = () => { seeked = true; done(); };
          const onError = () => { cleanup(); reject(new PolymarkVideoError('element_failed', this.file, `frame ${n} cannot be shown: the video element failed while seeking (${video.error ? video.error.message || 'media error ' + video.error.code : 'unknown error'})`, { frame: n })); };
          const cleanup = () => { clearTimeout(timer); video.removeEventListener('seeked', onSeeked); video.removeEventListener('error', onError); };
          video.addEventListener('seeked', onSeeked);
          video.addEventListener('error', onError);
          if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(() => { presented = true; done(); });
          else presented = true;
          timer = setTimeout(() => { cleanup(); reject(new PolymarkVideoError('element_failed', this.file, `frame ${n} cannot be shown: the video element did not finish seeking to ${target.toFixed(6)} s within ${ELEMENT_SEEK_TIMEOUT_MS / 1000} s`, { frame: n })); }, ELEMENT_SEEK_TIMEOUT_MS);
          video.currentTime = target;
        });
      }
      if (this.closed) throw new PolymarkVideoError('closed', this.file, 'the video source was closed', { frame: n });
      this.shown = n;
      const frame = new VideoFrame(video, { timestamp: Math.round(this.frameTimes[n] * 1e6) });
      this.counters.decodedFrames++;
      this.counters.lastSeekMs = this.counters.lastFrameMs = performance.now() - started;
      const clone = this.handOut(frame);
      const bytes = this.frameBytes(frame);
      if (!this.cache.put(n, frame, bytes, (k) => this.score(k))) frame.close();
      return clone;
    }

    prefetch() { return Promise.resolve(0); }  // one element, one seek at a time: nothing to gain

    close() {
      if (this.closed) return;
      this.closeBase();
      if (this.video) {
        this.video.removeAttribute('src');
        this.video.load();
      }
    }
  }

  // [SECTION] open

  async function open(url, options) {
    const opts = Object.assign({
      memoryCapBytes: DEFAULT_MEMORY_CAP, prefetchFrames: DEFAULT_PREFETCH_FRAMES, autoPrefetch: true,
      forceElement: false, assetsUrl: null, moduleUrl: null, wasmUrl: null, signal: null, optimizeForLatency: true,
    }, options || {});
    const file = fileNameOf(url);
    const abort = new AbortController();
    const userSignal = opts.signal;
    const aborted = () => new PolymarkVideoError('aborted', file, 'opening the video was aborted');
    if (userSignal) {
      if (userSignal.aborted) throw aborted();
      userSignal.addEventListener('abort', () => abort.abort(), { once: true });
    }
    const counters = { requests: 0, fetchedBytes: 0 };
    const reader = new RangeReader(url, file, abort.signal, counters);
    let source = null;
    try {
      let mod;
      try {
        mod = await loadModule(opts.assetsUrl, opts.moduleUrl, opts.wasmUrl);
      } catch (e) {
        throw new PolymarkVideoError('module_failed', file, `the video indexing module could not be loaded: ${e.message}`);
      }
      const size = await reader.start();
      const index = await indexFile(mod, reader, file, size);
      if (!opts.forceElement && typeof global.VideoDecoder === 'function') {
        const config = { codec: index.info.codec, codedWidth: index.info.codedWidth, codedHeight: index.info.codedHeight, optimizeForLatency: !!opts.optimizeForLatency };
        if (index.description.length) config.description = index.description;
        let support;
        try {
          support = await VideoDecoder.isConfigSupported(config);
        } catch (e) {
          support = { supported: false };
        }
        if (!support.supported) {
          throw new PolymarkVideoError('unsupported_codec', file, `this browser cannot decode its video codec ${index.info.codec} (${index.info.container}, ${index.info.codedWidth}x${index.info.codedHeight})`, { codec: index.info.codec });
        }
        source = new WebCodecsSource(url, file, index, opts, reader, abort, config);
      } else {
        source = await new ElementSource(url, file, index, opts, reader, abort).init();
      }
    } catch (e) {
      abort.abort();
      if (source) source.close();
      if (isAbort(e) || (userSignal && userSignal.aborted)) throw aborted();
      throw e;
    }
    if (userSignal) userSignal.addEventListener('abort', () => source.close(), { once: true });
    return source;
  }

  global.PolymarkVideo = {
    open,
    PolymarkVideoError,
    defaults: { memoryCapBytes: DEFAULT_MEMORY_CAP, prefetchFrames: DEFAULT_PREFETCH_FRAMES },
  };
})(typeof window !== 'undefined' ? window : self);
