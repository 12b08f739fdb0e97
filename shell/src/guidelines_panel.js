// [SECTION] The guidelines panel (docs/API.md, "Guidelines"): the task's labeling instructions as
// HTML beside the canvas, built with DOM APIs only (the text is the server's: markdown.js never
// parses it as HTML). Bundled on its own as dist/guidelines.js and loaded by polymark.js only when
// a task has guidelines or the labeler asks (G), so the first load carries none of it. Defines
// window.PolymarkGuidelines = { create(host) }; host (shell/src/guidelines.js) gives the wrapper,
// URLs and headers for the task's routes, calls into the module, and room beside the canvas.
import { renderMarkdown } from './markdown.js';
import { panelButton } from './util.js';

const PANEL_STYLE = 'position:absolute;top:0;right:0;bottom:0;display:flex;flex-direction:column;box-sizing:border-box;' +
  'background:#1f2125;color:#e4e4e4;border-left:1px solid #3a3d43;font:13px/1.45 system-ui,sans-serif;z-index:2;';

function el(tag, style, text) {
  const n = document.createElement(tag);
  if (style) n.style.cssText = style;
  if (text !== undefined) n.textContent = text;
  return n;
}

// "2026-12-07T05:31:29.129Z" -> "2026-12-07 05:31 UTC"
const shortTime = (at) => (typeof at === 'string' ? at.slice(0, 16).replace('T', ' ') + ' UTC' : '');

function readAsBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

// The width the panel takes: a third of the editor, between 240 and 380 CSS pixels; below 480
// pixels it lies over the canvas instead of shrinking it.
function panelWidth(wrapper) {
  const w = wrapper.getBoundingClientRect().width;
  return { width: Math.round(Math.max(240, Math.min(380, w * 0.34))), beside: w >= 480 };
}

function create(host) {
  const root = el('div', PANEL_STYLE);
  root.className = 'polymark-guidelines';
  root.setAttribute('role', 'complementary');
  root.setAttribute('aria-label', 'Labeling guidelines');
  // Keys typed here are the panel's: the app hears keys on the wrapper (SDL), which must not get them.
  ['keydown', 'keyup', 'keypress'].forEach((n) => root.addEventListener(n, (e) => e.stopPropagation()));
  const head = el('div', 'display:flex;align-items:center;gap:6px;padding:8px 10px;border-bottom:1px solid #3a3d43;');
  const title = el('div', 'flex:1;font-weight:600;', 'Guidelines');
  const editButton = panelButton('Edit', () => openEditor(), 'Publish a new version (managers)');
  const closeButton = panelButton('×', () => show(false), 'Hide the guidelines (G)');
  head.append(title, editButton, closeButton);
  const byline = el('div', 'padding:0 10px 6px;color:#9aa0a6;font-size:12px;border-bottom:1px solid #3a3d43;');
  const notice = el('div', 'display:none;padding:6px 10px;background:#4d3b12;color:#ffd88a;border-bottom:1px solid #6b5418;cursor:pointer;');
  notice.title = 'Read; click to dismiss';
  notice.addEventListener('click', () => { notice.style.display = 'none'; });
  const scroller = el('div', 'flex:1;overflow:auto;padding:8px 12px;');
  const body = el('div');
  const trace = el('div', 'margin-top:10px;padding-top:8px;border-top:1px solid #3a3d43;');
  const editor = el('div', 'display:none;');
  scroller.append(body, trace, editor);
  root.append(head, byline, notice, scroller);
  editButton.style.display = host.role === 'manager' ? '' : 'none';

  let shown = false;
  let current = null;       // the guidelines shown: {version, text, files, author, at}
  let known = 0;            // the version the app last learnt
  let urls = [];            // object URLs of the images shown
  let traceTimer = 0;
  let destroyed = false;

  function layout() {
    if (!shown) return host.reserve(0);
    const { width, beside } = panelWidth(host.wrapper);
    root.style.width = width + 'px';
    host.reserve(beside ? width : 0);
  }
  const observer = new ResizeObserver(() => { if (shown) layout(); });
  observer.observe(host.wrapper);

  function show(on) {
    on = !!on;
    if (on === shown || destroyed) return shown;
    shown = on;
    if (on) { host.wrapper.appendChild(root); if (!current) refresh(); scheduleTrace(0); } else root.remove();
    layout();
    host.shownChanged(on);
    return shown;
  }

  function fetchJson(path) {
    const url = host.url(path);
    return fetch(url, { headers: host.headers(url), cache: 'no-store' }).then((r) => r.json().then((j) => {
      if (!r.ok) throw Object.assign(new Error((j && j.error && j.error.message) || 'HTTP ' + r.status), { code: j && j.error && j.error.code, status: r.status, body: j });
      return j;
    }));
  }

  function get(version) {
    return fetchJson('/guidelines' + (version === undefined || version === null ? '' : '?version=' + (version | 0)));
  }

  // An image of the shown version: fetched with the instance's credentials, shown from an object URL.
  function image(name, alt) {
    const img = el('img', 'display:block;max-width:100%;margin:4px 0 8px;border-radius:4px;background:#2b2e33;');
    img.alt = alt || name;
    const version = current ? current.version : 0;
    const url = host.url('/guidelines/files/' + encodeURIComponent(name) + '?version=' + version);
    fetch(url, { headers: host.headers(url) }).then((r) => (r.ok ? r.blob() : Promise.reject(new Error('HTTP ' + r.status)))).then((blob) => {
      if (destroyed) return;
      const u = URL.createObjectURL(blob);
      urls.push(u);
      img.src = u;
    }, () => { img.replaceWith(el('span', 'color:#ff9c8a;', '[image ' + name + ' is missing]')); });
    return img;
  }

  function render() {
    urls.forEach((u) => URL.revokeObjectURL(u));
    urls = [];
    body.textContent = '';
    if (!current || !current.version) {
      title.textContent = 'Guidelines';
      byline.textContent = 'This task has no guidelines yet.';
      return;
    }
    title.textContent = 'Guidelines v' + current.version;
    byline.textContent = 'v' + current.version + (current.author ? ' by ' + current.author : '') + (current.at ? ', ' + shortTime(current.at) : '');
    body.appendChild(renderMarkdown(current.text, image));
  }

  function refresh() {
    return get().then((g) => {
      if (destroyed) return g;
      current = g;
      render();
      scheduleTrace(0);
      return g;
    }, (e) => {
      if (!current) byline.textContent = 'The guidelines could not be read: ' + e.message;
      throw e;
    }).catch(() => null);
  }

  // [SECTION] The trace: the objects and tracks made under an older version than the current one
  function scheduleTrace(delay) {
    clearTimeout(traceTimer);
    if (shown) traceTimer = setTimeout(updateTrace, delay);
  }

  function updateTrace() {
    trace.textContent = '';
    trace.style.display = 'none';
    const version = current ? current.version : known;
    if (!version) return;
    let doc;
    try { doc = host.call('getAnnotations'); } catch (e) { return; }
    const older = [];
    (doc.objects || []).forEach((o) => { if (o.guideline && o.guideline < version) older.push({ id: o.id, label: o.label, frame: o.frame, guideline: o.guideline }); });
    (doc.tracks || []).forEach((t) => {
      if (t.guideline && t.guideline < version) older.push({ id: t.id, label: t.label, frame: t.keyframes[0].frame, guideline: t.guideline, track: true });
    });
    if (!older.length) return;
    trace.style.display = '';
    trace.appendChild(el('div', 'font-weight:600;margin-bottom:4px;',
      older.length + (older.length === 1 ? ' object on this task was' : ' objects on this task were') + ' made under an older version'));
    const list = el('ul', 'margin:0;padding:0;list-style:none;');
    list.className = 'polymark-guidelines-older';
    older.slice(0, 200).forEach((item) => {
      const li = el('li', 'margin:2px 0;');
      const b = panelButton(item.label + (item.track ? ' track' : '') + ' ' + item.id + ' · frame ' + item.frame + ' · v' + item.guideline, () => {
        try {
          host.call('setFrame', item.frame);
          host.call('select', [item.id]);
          host.focusCanvas();
        } catch (e) { /* gone meanwhile: the next change redraws the list */ }
      }, 'Go to its frame and select it');
      b.style.textAlign = 'left';
      b.dataset.id = item.id;
      li.appendChild(b);
      list.appendChild(li);
    });
    trace.appendChild(list);
    if (older.length > 200) trace.appendChild(el('div', 'color:#9aa0a6;', '… and ' + (older.length - 200) + ' more'));
  }

  // [SECTION] A manager's edit: the text, images added or removed, published as the next version
  function openEditor() {
    if (!current) return;
    editor.textContent = '';
    editor.style.display = '';
    body.style.display = 'none';
    const area = el('textarea', 'width:100%;box-sizing:border-box;min-height:220px;font:12px ui-monospace,monospace;background:#15171a;color:#eee;border:1px solid #4a4e55;border-radius:4px;padding:6px;');
    area.value = current.text;
    area.setAttribute('aria-label', 'Guidelines text (Markdown)');
    const removed = {};
    const fileList = el('div', 'margin:6px 0;');
    (current.files || []).forEach((f) => {
      const row = el('label', 'display:block;');
      const box = el('input');
      box.type = 'checkbox';
      box.addEventListener('change', () => { removed[f.name] = box.checked; });
      row.append(box, document.createTextNode(' remove ' + f.name + ' (' + Math.round(f.size / 1024) + ' KB)'));
      fileList.appendChild(row);
    });
    const picker = el('input');
    picker.type = 'file';
    picker.multiple = true;
    picker.accept = 'image/png,image/jpeg,image/webp,image/gif';
    picker.setAttribute('aria-label', 'Attach example images');
    const status = el('div', 'margin-top:6px;color:#9aa0a6;');
    const publish = panelButton('Publish v' + (current.version + 1), () => {
      publish.disabled = true;
      status.textContent = 'Publishing…';
      Promise.all(Array.from(picker.files || []).map((f) => readAsBase64(f).then((data) => [f.name, data]))).then((added) => {
        const files = {};
        Object.keys(removed).forEach((n) => { if (removed[n]) files[n] = null; });
        added.forEach(([name, data]) => { files[name] = data; });
        return put({ text: area.value, files, baseVersion: current.version });
      }).then(() => { closeEditor(); }, (e) => {
        publish.disabled = false;
        status.textContent = e.code === 'stale_version' ? 'Another manager published meanwhile: close, read the new version and edit again.' : 'Not published: ' + e.message;
      });
    });
    const cancel = panelButton('Cancel', () => closeEditor());
    const actions = el('div', 'display:flex;gap:6px;margin-top:8px;');
    actions.append(publish, cancel);
    editor.append(area, el('div', 'margin-top:6px;', 'Example images (referenced as ![text](file name)):'), fileList, picker,
      actions, status);
    area.focus();
  }

  function closeEditor() {
    editor.style.display = 'none';
    editor.textContent = '';
    body.style.display = '';
  }

  function put(change) {
    const url = host.url('/guidelines');
    const headers = Object.assign({ 'Content-Type': 'application/json' }, host.headers(url));
    const payload = { text: String(change.text), files: change.files || {}, base_version: change.baseVersion | 0 };
    return fetch(url, { method: 'PUT', headers, body: JSON.stringify(payload) }).then((r) => r.json().then((j) => {
      if (!r.ok) throw Object.assign(new Error((j && j.error && j.error.message) || 'HTTP ' + r.status), { code: j && j.error && j.error.code, status: r.status });
      current = j;
      known = Math.max(known, j.version);
      notice.style.display = 'none';
      render();
      host.catchup();  // the app stamps new shapes with the new version from now on
      return j;
    }));
  }

  return {
    show,
    toggle: () => show(!shown),
    get shown() { return shown; },
    get,
    put,
    // The app learnt the task's current version (at start, and when another manager publishes).
    version(version, previous) {
      known = version;
      if (previous && version > previous) {
        notice.textContent = 'Guidelines changed to v' + version;
        notice.style.display = '';
      }
      if (shown && (!current || current.version !== version)) refresh();
      else if (!shown) current = null;
      scheduleTrace(0);
    },
    documentChanged: () => scheduleTrace(400),
    destroy() {
      destroyed = true;
      clearTimeout(traceTimer);
      observer.disconnect();
      urls.forEach((u) => URL.revokeObjectURL(u));
      root.remove();
    },
  };
}

window.PolymarkGuidelines = { create };
