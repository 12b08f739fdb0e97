// [SECTION] Import and export in other tools' formats (docs/API.md, "Import and export"). The
// conversion runs in a Web Worker (dist/format_worker.js with the formats module, fetched on first
// use); an import's document comes back in parts that are fed to the app between frames, at most
// ~8 ms of them per turn, and joins the document as one command (FormatsController). One job at
// a time; Cancel (the API's signal, the app's button) terminates the worker.
import { PolymarkError } from './util.js';
import { assetUrl, moduleUrls } from './assets.js';

const FEED_MS = 8;
const APP_PROGRESS_MS = 500;

let jobs = 0;

// What a host may pass as the files to import, as a list of Files, Blobs and {name, path, data}.
function filesOf(source) {
  if (source === null || source === undefined) return [];
  if (typeof source === 'string') return [{ name: 'annotations', data: source }];
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return [{ name: 'annotations', data: source }];
  if (typeof Blob !== 'undefined' && source instanceof Blob) return [source];
  if (typeof source.length === 'number') return Array.from(source).flatMap(filesOf);
  if (source.data !== undefined) return [{ name: String(source.name || 'annotations'), path: source.name, data: source.data }];
  return [];
}

// The files of a drop, folders walked (their paths kept: a YOLO or VOC folder).
async function droppedFiles(dataTransfer) {
  const entries = Array.from(dataTransfer.items || []).map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  if (!entries.length) return Array.from(dataTransfer.files || []);
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ name: file.name, path: prefix + file.name, data: await file.arrayBuffer() });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, prefix + entry.name + '/');
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

export function createFormats(ctx, wrapper, call, getTask) {
  let job = null;

  function startWorker() {
    // A worker from a blob that loads the script from where polymark.js came from (importScripts
    // may cross origins, a Worker's URL may not).
    const boot = 'importScripts(' + JSON.stringify(assetUrl(ctx.base, 'format_worker.js')) + ');';
    const url = URL.createObjectURL(new Blob([boot], { type: 'text/javascript' }));
    const w = new Worker(url);
    URL.revokeObjectURL(url);
    return w;
  }

  function tellApp(progress) { ctx.syncCall('formatProgress', progress); }

  // Runs one job: `onMessage(m, settle)` handles the worker's messages; the promise settles once.
  function run(kind, name, options, post, onMessage) {
    if (job) return Promise.reject(PolymarkError('busy', 'an import or export is already running: wait for it or cancel it'));
    if (typeof Worker === 'undefined') return Promise.reject(PolymarkError('unsupported', 'importing and exporting need Web Workers, which this browser lacks'));
    return new Promise((resolve, reject) => {
      const worker = startWorker();
      const me = { kind, worker, id: kind[0] + ++jobs };
      job = me;
      // The app's progress window is redrawn at most twice a second (and at each new stage): a
      // redraw is a whole frame of the app, which on a machine without a GPU costs ~40 ms.
      let toldStage = null, toldAt = 0;
      const report = (stage, fraction) => {
        const now = performance.now();
        if (stage !== toldStage || now - toldAt >= APP_PROGRESS_MS) {
          toldStage = stage;
          toldAt = now;
          tellApp({ kind, name, stage, fraction });
        }
        if (options && typeof options.onProgress === 'function') {
          try { options.onProgress({ stage, fraction }); } catch (e) { /* the host's bug, not the job's */ }
        }
      };
      me.settle = (error, value) => {
        if (job !== me) return;
        job = null;
        worker.terminate();
        // (an import the app was receiving is dropped by the app when told the job ended)
        tellApp(error && error.code !== 'cancelled' ? { error: { code: error.code, message: error.message, where: error.where || '' } } : null);
        if (error) reject(error); else resolve(value);
      };
      me.cancel = () => me.settle(PolymarkError('cancelled', kind + ' cancelled'));
      const signal = options && options.signal;
      if (signal) {
        if (signal.aborted) return me.cancel();
        signal.addEventListener('abort', () => me.cancel(), { once: true });
      }
      worker.onmessage = (e) => {
        const m = e.data;
        if (job !== me) return;
        if (m.type === 'progress') return report(m.stage, m.fraction);
        if (m.type === 'failed') {
          const err = PolymarkError(m.error.code, m.error.message);
          err.where = m.error.where;
          return me.settle(err);
        }
        try { onMessage(m, me, report); } catch (err) { me.settle(err); }
      };
      worker.onerror = (e) => me.settle(PolymarkError('failed', 'the formats worker failed: ' + (e.message || 'it could not load')));
      report('starting', 0);
      worker.postMessage(post(me));
    });
  }

  // The task as the worker needs it: the mount's task, with the sizes the app learnt from the
  // pictures it decoded (YOLO's coordinates are normalised by them).
  async function taskWithSizes() {
    const task = JSON.parse(JSON.stringify(await getTask()));
    if (!task) throw PolymarkError('not_ready', 'the task is not loaded yet');
    const sizes = call('getMediaSizes');
    (task.media || []).forEach((m, i) => {
      const [w, h] = sizes[i] || [0, 0];
      if (!(m.width > 0 && m.height > 0) && w > 0 && h > 0) { m.width = w; m.height = h; }
    });
    return task;
  }

  function importAnnotations(source, options) {
    options = options || {};
    const files = filesOf(source);
    if (!files.length) return Promise.reject(PolymarkError('bad_argument', 'importAnnotations needs files: a File, FileList, Blob, text, bytes or {name, data}'));
    const name = files.length === 1 ? (files[0].name || 'annotations') : files.length + ' files';
    const parts = [];
    let ended = false, feeding = false, planned = null;
    return taskWithSizes().then((task) => run('import', name, options, () => ({
      type: 'import', files, format: options.format || 'auto', task, ...moduleUrls(ctx.base, 'polymark_formats'),
      options: { rleTolerance: options.rleTolerance, yoloTask: options.yoloTask },
      plan: { document: call('getAnnotations'), task, mode: options.mode || 'merge', labelMap: options.labelMap || {}, unknownLabels: options.unknownLabels || 'ask' },
    }), (m, me, report) => {
      if (m.type === 'mapping') {
        // The app's dialog decides; its `import` event comes back through onAppEvent.
        call('importMapping', { id: me.id, name, unknown: m.unknown });
        report('waiting for the labels to be mapped', 0.65);
        me.onAppEvent = (d) => {
          if (d.state === 'mapped') me.worker.postMessage({ type: 'plan', labelMap: Object.assign({}, m.labelMap, d.labelMap) });
          else if (d.state === 'cancelled') me.settle(PolymarkError('cancelled', 'import cancelled at the mapping step'));
        };
        return;
      }
      if (m.type === 'planned') {
        planned = m;
        call('importBegin', { id: me.id, name, format: m.format, added: m.added, updated: m.updated, removed: m.removed, unchanged: m.unchanged, notes: m.notes });
      } else if (m.type === 'part') {
        parts.push(m.text);
      } else if (m.type === 'end') {
        ended = true;
      }
      // Parts go to the app a few milliseconds at a time, so the page keeps drawing.
      const feed = () => {
        feeding = false;
        if (job !== me) return;
        try { feedSome(); } catch (err) { me.settle(err); }
      };
      const feedSome = () => {
        const began = performance.now();
        while (parts.length && performance.now() - began < FEED_MS) {
          ctx.callText('importPart', parts.shift());
          me.fed = (me.fed | 0) + 1;
        }
        if (planned && planned.parts) report('adding', 0.7 + 0.3 * (me.fed | 0) / planned.parts);
        if (parts.length) { feeding = true; setTimeout(feed, 0); return; }
        if (ended) me.settle(null, call('importEnd'));
      };
      if (!feeding) { feeding = true; setTimeout(feed, 0); }
    }));
  }

  function exportAnnotations(options) {
    options = options || {};
    if (!options.format) return Promise.reject(PolymarkError('bad_argument', 'exportAnnotations needs {format}: coco, cvat, yolo, voc, labelme, labelstudio, via, mot or polymark'));
    return taskWithSizes().then((task) => run('export', options.format, options, () => ({
      type: 'export', format: options.format, task, document: call('getAnnotations'), baseName: String(task.id || 'annotations'),
      ...moduleUrls(ctx.base, 'polymark_formats'),
      options: { frames: options.frames || null, cvatLayout: options.cvatLayout || '', yoloTask: options.yoloTask || 'auto' },
    }), (m, me) => {
      if (m.type !== 'exported') return;
      m.file.notes = m.notes;
      me.settle(null, m.file);
    }));
  }

  function download(file) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(file);
    a.download = file.name;
    a.style.display = 'none';
    wrapper.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 60000);
  }

  // What the labeler starts in the app (the Data menu) and drops on the canvas.
  // (the app reports a failed job as a notice and an `error` event: tellApp above)
  const quietly = (p) => p.catch(() => {});
  function pickFiles() {
    const input = document.createElement('input');
    input.type = 'file';
    input.multiple = true;
    input.accept = '.json,.xml,.txt,.zip,.yaml,.yml,.ini,.csv';
    input.addEventListener('change', () => { if (input.files.length) quietly(importAnnotations(Array.from(input.files), {})); }, { once: true });
    input.click();
  }
  ctx.listen(wrapper, 'dragover', (e) => {
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    wrapper.style.outline = '3px dashed #4f9cf9';
    wrapper.style.outlineOffset = '-3px';
  });
  ctx.listen(wrapper, 'dragleave', () => { wrapper.style.outline = ''; });
  ctx.listen(wrapper, 'drop', (e) => {
    wrapper.style.outline = '';
    if (!e.dataTransfer || !Array.from(e.dataTransfer.types || []).includes('Files')) return;
    e.preventDefault();
    quietly(droppedFiles(e.dataTransfer).then((files) => importAnnotations(files, {})));
  });
  ctx.cleanups.push(() => { if (job) job.settle(PolymarkError('destroyed', 'the instance was destroyed')); });

  return {
    importAnnotations,
    exportAnnotations,
    cancel: () => { if (job) job.cancel(); },
    // The app's `import` event: settles an import that waited at the mapping step.
    onAppEvent: (detail) => { if (job && job.id === detail.id && job.onAppEvent) job.onAppEvent(detail); },
    // PlatformPort::start_format_job
    start: (spec) => {
      if (job) return false;
      if (spec.kind === 'import') pickFiles();
      else quietly(exportAnnotations({ format: spec.format }).then(download));
      return true;
    },
  };
}
