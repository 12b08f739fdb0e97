// [SECTION] The manager view (docs/API.md, "Quality"): golden frames, consensus, throughput and
// model pre-labels of the task, measured by the core (shared/polymark/quality_wire.hpp) in a Web
// Worker (dist/quality_worker.js + polymark_quality.wasm), drawn as HTML over the canvas with
// DOM APIs only, exported as JSON and CSV. Bundled on its own as dist/quality.js and loaded by
// polymark.js on first use (U, or a quality method), so the first load carries none of it.
// Defines window.PolymarkQuality = { create(host) }; host (shell/src/quality.js) gives the
// wrapper, the instance, the task id, URLs and headers for task routes, and asset URLs.
import { el, panelButton } from './util.js';

const KINDS = { golden: 'Golden frames', consensus: 'Consensus', throughput: 'Throughput', prelabels: 'Pre-labels' };
const VIEW_STYLE = 'position:absolute;inset:3% 3%;display:flex;flex-direction:column;box-sizing:border-box;z-index:3;' +
  'background:#1f2125;color:#e4e4e4;border:1px solid #3a3d43;border-radius:6px;font:13px/1.45 system-ui,sans-serif;box-shadow:0 6px 24px #000a;';
const INPUT = 'font:inherit;color:#e4e4e4;background:#15171a;border:1px solid #4a4e55;border-radius:4px;padding:1px 4px;width:7em;';
const COLORS = ['#4aa3ff', '#f2b84b', '#6cc788', '#e06c75', '#b58cf0', '#56c7c7', '#d7a26b', '#9aa0a6'];

function failure(code, message) {
  const e = new Error(message);
  e.name = 'PolymarkError';
  e.code = code;
  return e;
}

function field(label, value, title) {
  const wrap = el('label', 'display:inline-flex;align-items:center;gap:4px;margin-right:10px;', label);
  const input = el('input', INPUT);
  input.value = String(value);
  if (title) input.title = title;
  wrap.append(input);
  return { wrap, input };
}

const percent = (v) => (v === null || v === undefined ? '–' : (100 * v).toFixed(1) + ' %');
const number = (v, digits) => (v === null || v === undefined ? '–' : Number(v).toFixed(digits === undefined ? 1 : digits));

// "0,5,10-20" -> [0, 5, 10, ..., 20]; null when it is not such a list.
function parseFrames(text) {
  const out = [];
  for (const part of String(text).split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]), to = m[2] === undefined ? from : Number(m[2]);
    if (to < from || to - from > 100000) return null;
    for (let f = from; f <= to; f++) out.push(f);
  }
  return out.length ? out : null;
}

// Horizontal bars: [{name, value, text}] with value in [0, max].
function bars(title, items, max) {
  const box = el('div', 'margin:8px 0 12px;');
  box.append(el('div', 'font-weight:600;margin-bottom:4px;', title));
  if (!items.length) box.append(el('div', 'color:#9aa0a6;', 'nothing to show yet'));
  const top = max || Math.max(1e-9, ...items.map((i) => i.value || 0));
  items.forEach((item, i) => {
    const row = el('div', 'display:flex;align-items:center;gap:8px;margin:2px 0;');
    row.className = 'polymark-quality-bar';
    row.dataset.name = item.name;
    row.dataset.value = item.value === null || item.value === undefined ? '' : String(item.value);
    const name = el('div', 'width:11em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;', item.name);
    const track = el('div', 'flex:1;height:12px;background:#2a2d32;border-radius:2px;');
    const fill = el('div', 'height:100%;border-radius:2px;background:' + COLORS[i % COLORS.length] + ';width:' +
      (item.value ? Math.min(100, (100 * item.value) / top).toFixed(2) : 0) + '%;');
    track.append(fill);
    row.append(name, track, el('div', 'width:7em;text-align:right;font-variant-numeric:tabular-nums;', item.text));
    box.append(row);
  });
  return box;
}

// One line per series over shared x labels (days): [{name, values: [number]}].
function lines(title, xs, series) {
  const box = el('div', 'margin:8px 0 12px;');
  box.append(el('div', 'font-weight:600;margin-bottom:4px;', title));
  if (!xs.length) { box.append(el('div', 'color:#9aa0a6;', 'nothing to show yet')); return box; }
  const W = 560, H = 160, L = 40, B = 22;
  const top = Math.max(1, ...series.flatMap((s) => s.values));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', '100%');
  svg.style.maxWidth = W + 'px';
  const x = (i) => L + (xs.length === 1 ? (W - L) / 2 : (i * (W - L - 10)) / (xs.length - 1));
  const y = (v) => H - B - (v * (H - B - 8)) / top;
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const k in attrs) n.setAttribute(k, attrs[k]);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  add('line', { x1: L, y1: y(0), x2: W, y2: y(0), stroke: '#4a4e55' });
  add('text', { x: L - 4, y: y(top) + 4, fill: '#9aa0a6', 'font-size': 10, 'text-anchor': 'end' }, String(Math.round(top)));
  add('text', { x: L - 4, y: y(0), fill: '#9aa0a6', 'font-size': 10, 'text-anchor': 'end' }, '0');
  xs.forEach((label, i) => {
    if (xs.length <= 8 || i % Math.ceil(xs.length / 8) === 0) add('text', { x: x(i), y: H - 6, fill: '#9aa0a6', 'font-size': 10, 'text-anchor': 'middle' }, label.slice(5));
  });
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    add('polyline', { points: s.values.map((v, i) => x(i) + ',' + y(v)).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
    s.values.forEach((v, i) => add('circle', { cx: x(i), cy: y(v), r: 2.5, fill: color }));
  });
  box.append(svg);
  const legend = el('div', 'display:flex;flex-wrap:wrap;gap:10px;color:#c8c8c8;');
  series.forEach((s, k) => legend.append(el('span', 'border-left:10px solid ' + COLORS[k % COLORS.length] + ';padding-left:4px;', s.name)));
  box.append(legend);
  return box;
}

function table(head, rows) {
  const t = el('table', 'border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums;');
  const tr = el('tr');
  head.forEach((h) => tr.append(el('th', 'text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #3a3d43;color:#9aa0a6;font-weight:500;', h)));
  t.append(tr);
  rows.forEach((r) => {
    const row = el('tr');
    r.forEach((c) => row.append(el('td', 'padding:2px 10px 2px 0;', String(c))));
    t.append(row);
  });
  return t;
}

// [SECTION] CSV: one table per report, one row per labeler (or set, user, label) and breakdown.
const csvCell = (v) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
};
const csvText = (head, rows) => [head, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';

const GOLDEN_COLUMNS = ['gt', 'job', 'valid', 'missing', 'extra', 'mislabelled_gt', 'mislabelled_job', 'accuracy', 'precision', 'recall', 'attribute_agreement'];
const THROUGHPUT_COLUMNS = ['created', 'edited', 'deleted', 'events', 'active_s', 'frames_touched', 'objects_per_hour', 'seconds_per_object', 'seconds_per_frame', 'judged', 'accepted_first', 'first_pass_acceptance'];
const PRELABEL_COLUMNS = ['predictions', 'accepted_unchanged', 'edited', 'rejected', 'pending', 'acceptance_rate'];

function reportCsv(kind, result) {
  const r = result.report;
  if (kind === 'golden') {
    const rows = [];
    const scopes = [{ name: '(all)', report: r }].concat(result.labelers.filter((l) => l.report));
    for (const s of scopes) {
      rows.push([s.name, '(all)', ...GOLDEN_COLUMNS.map((c) => s.report.summary[c])]);
      for (const label of Object.keys(s.report.labels)) rows.push([s.name, label, ...GOLDEN_COLUMNS.map((c) => s.report.labels[label][c])]);
    }
    return csvText(['labeler', 'label', ...GOLDEN_COLUMNS], rows);
  }
  if (kind === 'consensus') {
    const rows = [['job', '(all)', '', r.job.groups, r.job.merged, r.job.agreement]];
    r.sets.forEach((s) => rows.push(['set', s.name, s.shapes, '', '', s.agreement]));
    r.per_label.forEach((l) => rows.push(['label', l.label, '', l.groups, l.merged, l.agreement]));
    r.per_frame.forEach((f) => rows.push(['frame', f.frame, '', f.groups, f.merged, f.agreement]));
    return csvText(['scope', 'name', 'shapes', 'groups', 'merged', 'agreement'], rows);
  }
  if (kind === 'throughput') {
    const rows = [];
    for (const u of r.users) {
      rows.push([u.user, '(all)', ...THROUGHPUT_COLUMNS.map((c) => u[c])]);
      for (const d of u.days) rows.push([u.user, d.day, ...THROUGHPUT_COLUMNS.map((c) => d[c])]);
    }
    return csvText(['user', 'day', ...THROUGHPUT_COLUMNS], rows);
  }
  const rows = [['(all)', '(all)', ...PRELABEL_COLUMNS.map((c) => r.totals[c])]];
  r.bands.forEach((b) => rows.push(['(all)', b.band, ...PRELABEL_COLUMNS.map((c) => b[c])]));
  r.labels.forEach((l) => {
    rows.push([l.label, '(all)', ...PRELABEL_COLUMNS.map((c) => l[c])]);
    l.bands.forEach((b) => rows.push([l.label, b.band, ...PRELABEL_COLUMNS.map((c) => b[c])]));
  });
  return csvText(['label', 'score band', ...PRELABEL_COLUMNS], rows);
}

function create(host) {
  const parent = host.task.split('@')[0];
  const root = el('div', VIEW_STYLE);
  root.className = 'polymark-quality';
  root.setAttribute('role', 'dialog');
  root.setAttribute('aria-label', 'Quality and throughput');
  root.style.display = 'none';
  // Keys typed here are the view's (the app hears keys on the wrapper); Esc closes it.
  root.addEventListener('keydown', (e) => { e.stopPropagation(); if (e.key === 'Escape') show(false); });
  ['keyup', 'keypress'].forEach((n) => root.addEventListener(n, (e) => e.stopPropagation()));
  const head = el('div', 'display:flex;align-items:center;gap:6px;padding:8px 10px;border-bottom:1px solid #3a3d43;flex-wrap:wrap;');
  head.append(el('div', 'font-weight:600;margin-right:8px;', 'Quality · ' + parent));
  const tabs = {};
  for (const kind of Object.keys(KINDS)) {
    tabs[kind] = panelButton(KINDS[kind], () => open(kind));
    tabs[kind].dataset.kind = kind;
    head.append(tabs[kind]);
  }
  head.append(el('div', 'flex:1;'));
  head.append(panelButton('Export JSON', () => download('json'), 'Download the report as JSON'),
    panelButton('Export CSV', () => download('csv'), 'Download the report as CSV'),
    panelButton('×', () => show(false), 'Close (U, Esc)'));
  const status = el('div', 'padding:4px 10px;color:#9aa0a6;min-height:1.45em;border-bottom:1px solid #3a3d43;');
  status.className = 'polymark-quality-status';
  const body = el('div', 'flex:1;overflow:auto;padding:8px 14px;');
  root.append(head, status, body);
  host.wrapper.append(root);

  let shown = false;
  let kind = 'golden';
  let worker = null;
  let nextCall = 1;
  const calls = new Map();
  const last = {};   // kind -> the last result shown
  const settings = { golden: { threshold: 0.5 }, consensus: { quorum: 0.5, threshold: 0.5 }, throughput: {}, prelabels: { bandWidth: 0.1 } };
  let showing = 0;   // bumps with every open(), so that an older computation does not draw over a newer one

  // [SECTION] Data: the server's routes and the worker
  async function fetchJson(task, path, init) {
    const url = host.url(task, path);
    const options = Object.assign({}, init || {});
    options.headers = Object.assign({ 'Content-Type': 'application/json' }, host.headers(url), options.headers || {});
    let response;
    try { response = await fetch(url, options); } catch (e) { throw failure('network', 'the server could not be reached for ' + url + ': ' + ((e && e.message) || e)); }
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = body && body.error;
      throw failure(error && error.code ? error.code : 'http_' + response.status, (error && error.message) || ('the server answered ' + response.status + ' for ' + url));
    }
    return body;
  }

  // The worker fetches `inputs` itself ([{key, index?, url, headers, field?, history?}]): the big
  // documents and histories never pass through this thread.
  function measure(call, inputs) {
    if (!worker) {
      worker = new Worker(host.asset('quality_worker.js'));
      worker.onmessage = (e) => {
        const pending = calls.get(e.data.id);
        if (!pending) return;
        calls.delete(e.data.id);
        if (e.data.error) return pending.reject(failure(e.data.error.code, e.data.error.message));
        const reply = e.data.reply;
        if (reply.errors) {
          const first = reply.errors[0];
          const error = failure(first.code, first.message + (first.path ? ' (at ' + first.path + ')' : ''));
          error.where = first.path;
          return pending.reject(error);
        }
        reply.ms = e.data.ms;
        pending.resolve(reply);
      };
      worker.onerror = (e) => {
        const message = 'the quality worker stopped: ' + ((e && e.message) || 'unknown error');
        calls.forEach((p) => p.reject(failure('aborted', message)));
        calls.clear();
        worker.terminate();
        worker = null;
      };
    }
    const id = nextCall++;
    return new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject });
      worker.postMessage({ id, moduleUrl: host.asset('polymark_quality.js'), wasmUrl: host.asset('polymark_quality.wasm'), call, inputs });
    });
  }

  const input = (key, task, path, extra) => {
    const url = host.url(task, path);
    return Object.assign({ key, url, headers: host.headers(url) }, extra);
  };
  const documentOf = (key, task, index) => input(key, task, '/annotations', { field: 'document', index });
  const historyOf = (task) => input('history', task, '/history?limit=10000', { history: true });

  const sets = () => fetchJson(parent, '/sets');

  // Each golden frame belongs to the labeler its job is assigned to ("unassigned" otherwise).
  function labelersOf(frames, jobs) {
    const by = new Map();
    for (const f of frames) {
      const job = jobs.find((j) => f >= j.start_frame && (j.stop_frame === null || f <= j.stop_frame));
      const name = job ? job.assignee || 'unassigned' : 'no job';
      if (!by.has(name)) by.set(name, []);
      by.get(name).push(f);
    }
    return [...by.entries()].map(([name, fs]) => ({ name, frames: fs }));
  }

  const number01 = (v, name, fallback) => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw failure('bad_argument', name + ' must be a number from 0 to 1');
    return v;
  };

  async function report(what, opts) {
    if (!KINDS[what]) throw failure('bad_argument', 'the report kind must be golden, consensus, throughput or prelabels, not ' + JSON.stringify(what));
    let result;
    if (what === 'golden') {
      const s = await sets();
      if (!s.golden) throw failure('no_golden_set', 'task ' + parent + ' has no golden frames yet: mark some (POST /api/tasks/' + parent + '/sets, or the Golden frames tab)');
      const jobs = await fetchJson(parent, '/jobs');
      result = await measure({ op: 'golden', frames: s.golden.frames, threshold: number01(opts.threshold, 'threshold', settings.golden.threshold),
        labelers: labelersOf(s.golden.frames, jobs.jobs) },
      [documentOf('gt', s.golden.id), Object.assign(documentOf('job', parent), { frames: s.golden.frames })]);
      result.golden = s.golden;
    } else if (what === 'consensus') {
      const s = await sets();
      const names = s.replicas.map((r) => r.id);
      if (names.length < 2) throw failure('no_replicas', 'task ' + parent + ' needs two or more consensus replicas (POST /api/tasks/' + parent + '/sets, or the Consensus tab)');
      result = await measure({ op: 'consensus', names, quorum: number01(opts.quorum, 'quorum', settings.consensus.quorum) || 1e-9,
        threshold: number01(opts.threshold, 'threshold', settings.consensus.threshold), id_prefix: 'consensus' },
      names.map((name, i) => documentOf('sets', name, i)));
    } else if (what === 'throughput') {
      result = await measure({ op: 'throughput' }, [historyOf(parent), input('review', parent, '/review?since=0'), documentOf('document', parent)]);
    } else {
      const bandWidth = opts.bandWidth === undefined ? settings.prelabels.bandWidth : opts.bandWidth;
      result = await measure({ op: 'prelabels', band_width: bandWidth }, [historyOf(parent), documentOf('document', parent)]);
    }
    result.kind = what;
    last[what] = result;
    return result;
  }

  async function exportReport(what, opts) {
    const format = opts.format || 'json';
    if (format !== 'json' && format !== 'csv') throw failure('bad_argument', 'a report exports as json or csv, not ' + JSON.stringify(format));
    const result = opts.fresh === false && last[what] ? last[what] : await report(what, opts);
    if (format === 'csv') return new Blob([reportCsv(what, result)], { type: 'text/csv;charset=utf-8' });
    const { ms, mergedText, ...rest } = result;  // eslint-disable-line no-unused-vars
    let text = JSON.stringify(rest, null, 2);
    if (mergedText) text = text.replace(/\n}$/, ',\n  "merged": ' + mergedText + '\n}');  // not parsed on this thread
    return new Blob([text + '\n'], { type: 'application/json' });
  }

  // The consensus of the replicas joins this task as one import: one undo step, one save.
  async function merge(opts) {
    if (host.task !== parent) throw failure('wrong_task', 'open task ' + parent + ' to merge its replicas into it (this is ' + host.task + ')');
    const result = await report('consensus', opts);
    const outcome = await host.instance.importAnnotations({ name: 'consensus.json', data: result.mergedText },
      { format: 'polymark', mode: 'merge', unknownLabels: 'fail' });
    return Object.assign({ groups: result.report.job.groups, merged: result.report.job.merged }, outcome);
  }

  // [SECTION] Drawing
  function say(text, error) {
    status.textContent = text;
    status.style.color = error ? '#ff9b8f' : '#9aa0a6';
  }

  async function download(format) {
    try {
      const blob = await exportReport(kind, { format, fresh: false });
      const a = el('a');
      a.href = URL.createObjectURL(blob);
      a.download = parent + '-' + kind + '.' + format;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) { say(e.message, true); }
  }

  function settingsRow(what, keys, onApply) {
    const row = el('div', 'margin:4px 0 8px;');
    const inputs = keys.map(([key, label, title]) => {
      const f = field(label, settings[what][key], title);
      row.append(f.wrap);
      return [key, f.input];
    });
    row.append(panelButton('Apply', () => {
      for (const [key, input] of inputs) {
        const v = Number(input.value);
        if (!(v >= 0 && v <= 1)) { say(key + ' must be a number from 0 to 1', true); return; }
        settings[what][key] = v;
      }
      onApply();
    }));
    return row;
  }

  function drawGolden(r) {
    const s = r.report.summary;
    body.append(el('div', 'margin:4px 0;', `Golden frames: ${r.golden.frames.length} (${r.golden.id}). Accuracy ${percent(s.accuracy)}, precision ${percent(s.precision)}, recall ${percent(s.recall)}; ` +
      `${s.valid} valid, ${s.missing} missing, ${s.extra} extra, ${s.mislabelled_gt} mislabelled.`));
    body.append(settingsRow('golden', [['threshold', 'Match threshold', 'A pair matches at this similarity (IoU, OKS) or more']], () => open('golden')));
    body.append(bars('Accuracy per labeler', r.labelers.filter((l) => l.report).map((l) => ({ name: l.name, value: l.report.summary.accuracy, text: percent(l.report.summary.accuracy) })), 1));
    body.append(bars('Accuracy per label', Object.keys(r.report.labels).map((k) => ({ name: k, value: r.report.labels[k].accuracy, text: percent(r.report.labels[k].accuracy) })), 1));
    body.append(el('div', 'font-weight:600;', 'Per labeler'));
    body.append(table(['labeler', 'golden frames', 'valid', 'missing', 'extra', 'mislabelled', 'accuracy', 'precision', 'recall', 'attributes'],
      r.labelers.map((l) => (l.report ? [l.name, l.frames.length, l.report.summary.valid, l.report.summary.missing, l.report.summary.extra, l.report.summary.mislabelled_gt,
        percent(l.report.summary.accuracy), percent(l.report.summary.precision), percent(l.report.summary.recall), percent(l.report.summary.attribute_agreement)]
        : [l.name, 0, '–', '–', '–', '–', '–', '–', '–', '–']))));
    const c = r.report.confusion;
    body.append(el('div', 'font-weight:600;', 'Confusion (golden label by row, labeler\'s by column)'));
    body.append(table(['', ...c.labels.map((l) => l || 'none')], c.rows.map((row, i) => [c.labels[i] || 'none', ...row])));
  }

  function drawNoGolden() {
    body.append(el('div', 'margin:6px 0;', 'No golden frames yet. Mark frames as ground truth: they stay in the labelers\' jobs, unmarked, and their labels are kept apart, for managers only.'));
    const frames = field('Frames', '', 'Frame numbers and ranges, as 0,5,10-20');
    const perJob = field('or per job', '', 'This many frames picked from each job');
    const row = el('div', 'margin:6px 0;');
    row.append(frames.wrap, perJob.wrap, panelButton('Mark golden', async () => {
      const request = {};
      if (frames.input.value.trim()) {
        request.frames = parseFrames(frames.input.value);
        if (!request.frames) return say('frames are numbers and ranges, as 0,5,10-20', true);
      } else if (Number(perJob.input.value) >= 1) {
        request.per_job = Math.floor(Number(perJob.input.value));
      } else {
        return say('give frames, or a number of frames per job', true);
      }
      request.kind = 'golden';
      try {
        const s = await fetchJson(parent, '/sets', { method: 'POST', body: JSON.stringify(request) });
        say('Golden frames: ' + s.golden.frames.join(', ') + '. Label them in task ' + s.golden.id + ' (open it as a manager).');
      } catch (e) { say(e.message, true); }
    }));
    body.append(row);
  }

  function drawConsensus(r) {
    const j = r.report.job;
    body.append(el('div', 'margin:4px 0;', `${r.report.sets.length} replicas, ${j.groups} groups, ${j.merged} reach the quorum of ${r.report.settings.quorum_votes}; agreement ${percent(j.agreement)}.`));
    body.append(settingsRow('consensus', [['quorum', 'Quorum', 'Share of the replicas a group needs'], ['threshold', 'Match threshold', 'A shape joins a group at this mean similarity or more']], () => open('consensus')));
    const mergeButton = panelButton('Merge into this task', async () => {
      mergeButton.disabled = true;
      try {
        const m = await merge({});
        say(`Merged: ${m.added} shapes added as one step (Ctrl+Z undoes it).`);
      } catch (e) { say(e.message, true); } finally {
        mergeButton.disabled = false;
        mergeButton.focus();  // a disabled button drops the focus, and with it Esc and the view's keys
      }
    }, 'Add one shape per group that reaches the quorum to this task, as one undoable step');
    mergeButton.dataset.action = 'merge';
    if (host.task !== parent) mergeButton.disabled = true;
    body.append(mergeButton);
    body.append(bars('Agreement per labeler (replica)', r.report.sets.map((s) => ({ name: s.name, value: s.agreement, text: percent(s.agreement) })), 1));
    body.append(bars('Agreement per label', r.report.per_label.map((l) => ({ name: l.label, value: l.agreement, text: percent(l.agreement) })), 1));
    body.append(bars('Agreement per frame', r.report.per_frame.filter((f) => f.groups).slice(0, 200).map((f) => ({ name: 'frame ' + f.frame, value: f.agreement, text: percent(f.agreement) })), 1));
  }

  function drawNoReplicas() {
    body.append(el('div', 'margin:6px 0;', 'No consensus replicas yet. Each replica is a copy of this task\'s frames and jobs for another labeler; their labels are compared and merged here.'));
    const count = field('Replicas', 3, 'How many labelers label the same frames (2 to 9)');
    const row = el('div', 'margin:6px 0;');
    row.append(count.wrap, panelButton('Create', async () => {
      try {
        const s = await fetchJson(parent, '/sets', { method: 'POST', body: JSON.stringify({ kind: 'replicas', count: Math.floor(Number(count.input.value)) }) });
        say('Replicas: ' + s.replicas.map((x) => x.id).join(', ') + '. Assign their jobs to labelers.');
      } catch (e) { say(e.message, true); }
    }));
    body.append(row);
  }

  function drawThroughput(r) {
    const t = r.report.totals;
    body.append(el('div', 'margin:4px 0;', `${r.report.users.length} ${r.report.users.length === 1 ? 'person' : 'people'}: ${t.created} created, ${t.edited} edited, ${number(t.active_s / 3600, 2)} active hours (gaps over ${r.report.settings.max_gap_s} s left out).`));
    const days = [...new Set(r.report.users.flatMap((u) => u.days.map((d) => d.day)))].sort();
    body.append(lines('Objects created and edited per day', days, r.report.users.map((u) => ({
      name: u.user, values: days.map((day) => { const d = u.days.find((x) => x.day === day); return d ? d.created + d.edited : 0; }) }))));
    body.append(bars('Objects per active hour', r.report.users.map((u) => ({ name: u.user, value: u.objects_per_hour, text: number(u.objects_per_hour) }))));
    body.append(table(['person', 'created', 'edited', 'active', 'objects / h', 's / object', 's / frame', 'first-pass acceptance'],
      r.report.users.map((u) => [u.user, u.created, u.edited, number(u.active_s / 60) + ' min', number(u.objects_per_hour), number(u.seconds_per_object),
        number(u.seconds_per_frame), percent(u.first_pass_acceptance)])));
  }

  function drawPrelabels(r) {
    const t = r.report.totals;
    body.append(el('div', 'margin:4px 0;', `${t.predictions} predictions: ${t.accepted_unchanged} accepted unchanged, ${t.edited} edited, ${t.rejected} rejected, ${t.pending} pending.`));
    body.append(bars('Accepted (unchanged or edited) per score band', r.report.bands.filter((b) => b.predictions).map((b) => ({ name: b.band, value: b.acceptance_rate, text: percent(b.acceptance_rate) + ' of ' + b.predictions })), 1));
    body.append(table(['label', 'predictions', 'accepted unchanged', 'edited', 'rejected', 'pending', 'accepted'],
      r.report.labels.map((l) => [l.label, l.predictions, l.accepted_unchanged, l.edited, l.rejected, l.pending, percent(l.acceptance_rate)])));
  }

  async function open(what) {
    kind = what;
    const mine = ++showing;
    for (const k of Object.keys(tabs)) tabs[k].style.background = k === what ? '#3d5a80' : '#33363c';
    say('Measuring ' + KINDS[what].toLowerCase() + '…');
    try {
      const r = await report(what, {});
      if (mine !== showing) return;
      body.textContent = '';
      ({ golden: drawGolden, consensus: drawConsensus, throughput: drawThroughput, prelabels: drawPrelabels })[what](r);
      say(KINDS[what] + ' measured in ' + number(r.ms, 0) + ' ms.');
    } catch (e) {
      if (mine !== showing) return;
      body.textContent = '';
      if (e.code === 'no_golden_set') { drawNoGolden(); say(''); return; }
      if (e.code === 'no_replicas') { drawNoReplicas(); say(''); return; }
      say(e.message, true);
    }
  }

  function show(on) {
    if (on === shown) return shown;
    shown = on;
    root.style.display = on ? 'flex' : 'none';
    if (on) {
      open(kind);
      root.tabIndex = -1;
      root.focus();
    } else {
      host.focusCanvas();
    }
    return shown;
  }

  return {
    report,
    exportReport,
    merge,
    show,
    toggle: () => show(!shown),
    destroy() {
      if (worker) worker.terminate();
      worker = null;
      calls.forEach((p) => p.reject(failure('destroyed', 'this Polymark instance was destroyed')));
      calls.clear();
      root.remove();
    },
  };
}

window.PolymarkQuality = { create };
