// Imports and exports off the page's thread: this worker runs the formats module
// (client/platform/formats_module.cpp) on files the page hands it, unpacking .zip archives first,
// and packs a multi-file export into one .zip. Bundled into dist/format_worker.js.
//
// page -> worker: {type: 'import', files: [File | Blob | {name, path, data}], format, task, options,
//                  plan: {document, mode, labelMap, unknownLabels}, moduleUrl, wasmUrl}
//                 {type: 'plan', labelMap}      the mapping step's choices, after 'mapping'
//                 {type: 'export', format, task, document, options, moduleUrl, wasmUrl, baseName}
// worker -> page: {type: 'progress', stage, fraction}   at most every 100 ms
//                 {type: 'mapping', format, unknown}    labels the task lacks, to map or skip
//                 {type: 'planned', format, added, updated, removed, unchanged, notes, parts}
//                 {type: 'part', index, text}  each part of the import's command, in order, then
//                 {type: 'end'}
//                 {type: 'exported', file: File, files, notes}
//                 {type: 'failed', error: {code, message, where}}
// One job per worker: the page makes a new worker for each job and terminates it when it ends or
// is cancelled (the module's calls are synchronous: a message could not reach them).
import { isZip, readZip, writeZip } from '../src/zip.js';

let M = null;
let lastReport = 0;
let stage = '';
let span = [0, 1];  // the part of the whole job this stage covers

function report(fraction, force) {
  const now = performance.now();
  if (!force && now - lastReport < 100) return;
  lastReport = now;
  postMessage({ type: 'progress', stage, fraction: span[0] + (span[1] - span[0]) * Math.min(1, Math.max(0, fraction)) });
}

function enter(name, from, to) {
  stage = name;
  span = [from, to];
  report(0, true);
}

function fail(code, message, where) {
  postMessage({ type: 'failed', error: { code, message, where: where || '' } });
}

// wasmUrl: the module's .wasm as the page names it (a content-hashed name); else beside the glue.
function load(moduleUrl, wasmUrl) {
  importScripts(moduleUrl);
  return createPolymarkFormatsModule({
    locateFile: (f) => (wasmUrl && f.endsWith('.wasm') ? wasmUrl : new URL(f, moduleUrl).href),
    onProgress: (fraction) => { report(fraction); return true; },
    onAbort: (what) => fail('aborted', 'the formats module stopped: ' + what, 'worker'),
  });
}

function call(fn, text) {
  const size = M.lengthBytesUTF8(text) + 1;
  const ptr = M._malloc(size);
  M.stringToUTF8(text, ptr, size);
  try { return JSON.parse(M.UTF8ToString(fn(ptr))); } finally { M._free(ptr); }
}

// The module's first error as the page's error.
function failWith(reply) {
  const e = reply.errors[0];
  if (e.code === 'cancelled') return fail('cancelled', 'cancelled', '');
  fail(e.code, e.message, e.path);
}

// A File or Blob (whose `bytes` is a method in newer browsers), or {name, data} from the page.
async function bytesOf(f) {
  if (f instanceof Blob) return new Uint8Array(await f.arrayBuffer());
  return typeof f.data === 'string' ? new TextEncoder().encode(f.data) : new Uint8Array(f.data.buffer ? f.data.buffer.slice(f.data.byteOffset, f.data.byteOffset + f.data.byteLength) : f.data);
}

// Every file as {path, bytes}: a folder keeps its relative paths, a .zip gives its entries.
async function gather(files) {
  const out = [];
  for (let i = 0; i < files.length; i++) {
    const f = files[i];
    const path = f.path || f.webkitRelativePath || f.name || 'annotations';
    const bytes = await bytesOf(f);
    if (/\.zip$/i.test(path) || isZip(bytes)) {
      (await readZip(bytes, path)).forEach((e) => out.push(e));
    } else {
      out.push({ path, bytes });
    }
    report((i + 1) / files.length);
  }
  return out;
}

async function runImport(m) {
  enter('reading', 0, 0.1);
  const files = await gather(m.files);
  if (!files.length) return fail('no_files', 'there is no file to import', '');
  M = await load(m.moduleUrl, m.wasmUrl);
  M._pm_fmt_clear();
  for (const f of files) {
    const size = f.bytes.length;
    const name = M.lengthBytesUTF8(f.path) + 1;
    const p = M._malloc(name);
    M.stringToUTF8(f.path, p, name);
    const at = M._pm_fmt_new_file(p, size);
    M._free(p);
    M.HEAPU8.set(f.bytes, at);
    f.bytes = null;
  }
  enter('converting', 0.1, 0.6);
  const reply = call(M._pm_fmt_import, JSON.stringify(Object.assign({ format: m.format || 'auto', task: m.task }, m.options || {})));
  if (!reply.ok) return failWith(reply);
  imported = { format: reply.format, plan: m.plan };
  plan(m.plan.labelMap || {});
}

let imported = null;

// The import as a command on the page's document; labels left to map go to the page first.
function plan(labelMap) {
  enter('planning', 0.6, 0.7);
  const reply = call(M._pm_fmt_plan, JSON.stringify(Object.assign({}, imported.plan, { labelMap })));
  if (!reply.ok) return failWith(reply);
  if (reply.state === 'mapping') return postMessage({ type: 'mapping', format: imported.format, unknown: reply.unknown, labelMap });
  postMessage(Object.assign({ type: 'planned', format: imported.format }, reply));
  for (let i = 0; i < reply.parts; i++) postMessage({ type: 'part', index: i, text: M.UTF8ToString(M._pm_fmt_plan_part(i)) });
  M._pm_fmt_clear();
  postMessage({ type: 'end' });
}

async function runExport(m) {
  enter('converting', 0, 0.8);
  M = await load(m.moduleUrl, m.wasmUrl);
  const reply = call(M._pm_fmt_export, JSON.stringify(Object.assign({ format: m.format, task: m.task, document: m.document }, m.options || {})));
  if (!reply.ok) return failWith(reply);
  enter('packing', 0.8, 1);
  const files = reply.files.map((path, i) => {
    const at = M._pm_fmt_file_data(i);
    const size = M._pm_fmt_file_size(i);
    return { path, bytes: M.HEAPU8.slice(at, at + size) };
  });
  M._pm_fmt_clear();
  let file;
  if (files.length === 1) {
    const name = files[0].path.split('/').pop();  // demo-coco-annotations.json, demo-via_project.json
    file = new File([files[0].bytes], m.baseName + '-' + (name.toLowerCase().startsWith(m.format.slice(0, 3)) ? '' : m.format + '-') + name);
  } else {
    file = new File([writeZip(files)], m.baseName + '-' + m.format + '.zip', { type: 'application/zip' });
  }
  postMessage({ type: 'exported', file, files: files.length, notes: reply.notes });
}

onmessage = (e) => {
  const m = e.data;
  if (m.type === 'plan' && imported) {
    try { plan(m.labelMap); } catch (err) { fail(err.code || 'failed', (err && err.message) || String(err), ''); }
    return;
  }
  const run = m.type === 'import' ? runImport : m.type === 'export' ? runExport : null;
  if (!run) return;
  run(m).catch((err) => fail(err.code || 'failed', (err && err.message) || String(err), err.where || ''));
};
