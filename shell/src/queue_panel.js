// [SECTION] Queue mode (docs/API.md, "Work queue"), loaded by polymark.js (shell/src/queue.js)
// only for a mount with `queue`, as dist/queue.js, which defines window.PolymarkQueue =
// { mountQueue(element, options, lib) }; lib gives polymark.js's own helpers (one PolymarkError
// class for the host, no code twice on the page) and its mount.
// The page asks serve.py's queue for a job (docs/SCHEMA.md section 16), opens its task at its first
// frame, and when the labeler submits or skips it, asks for the next and opens that, with no page
// reload. A job of the task already open is a move to its first frame; a job of another task is a
// fresh editor of that task in the same element (the wasm is compiled once per page). Before the
// job in hand is submitted or skipped, or its editor replaced, every edit is saved: if the save
// does not go through, nothing moves and the labeler is told why. The bar above the editor names
// the job and its frames and holds Submit and Skip; the editor itself is an ordinary mount, whose
// members the instance forwards. Times: milliseconds.
const REASONS = ['Image unclear or unreadable', 'Nothing to label', 'Outside my expertise', 'The guidelines do not cover it'];
const OWN = ['on', 'off', 'destroy', 'getJob', 'getQueue', 'nextJob', 'submitJob', 'skipJob', 'setToken'];
const QUEUE_EVENTS = ['jobAssigned', 'jobSubmitted', 'jobSkipped', 'queueEmpty'];
const SETTLE_MS = 20000;   // how long a submit waits for the last edits to be acknowledged
const REFUSED_AFTER_MS = 1500;  // a sync state that refuses (offline, conflict...) must last this long
const UNSAVED = {
  offline: 'the server cannot be reached; your edits are kept in this browser and saved when it answers: submit again then',
  conflict: 'some of your changes conflict with another device\'s: resolve them first (the window under the toolbar)',
  'set-aside': 'the server refused some changes: retry or discard them first (the window at the top left)',
  'needs-auth': 'the server refused the token',
  'read-only': 'this task is open in another tab or editor, which saves it',
  error: 'the server refused the save',
};

// A job's frames as the bar says them; `last`: the task's last frame, when known (a job whose
// stop_frame is null runs to it).
function range(j, last) {
  const stop = j.stop_frame === null ? last : j.stop_frame;
  if (stop === j.start_frame) return 'frame ' + j.start_frame;
  return 'frames ' + j.start_frame + (stop === null || stop === undefined ? ' to the end' : '–' + stop);
}

function mountQueue(element, options, lib) {
  const { PolymarkError, el, panelButton, apiUrl, authHeaders, EVENTS, createEvents, mount, members } = lib;
  const settings = options.queue && typeof options.queue === 'object' ? options.queue : {};
  const retryBase = settings.retryBaseMs > 0 ? settings.retryBaseMs : 2000;
  const retryMax = settings.retryMaxMs > 0 ? settings.retryMaxMs : 60000;
  const reasons = Array.isArray(settings.skipReasons) && settings.skipReasons.length ? settings.skipReasons.map(String) : REASONS;
  let token = typeof options.token === 'string' ? options.token : '';
  let started = false;
  let destroyed = false;
  const events = createEvents(() => started);
  let inner = null;       // the editor shown (the job in hand's task, or the last one's)
  let innerTask = null;
  let job = null;         // the job in hand, as the server named it
  let lease = null;
  let leaseAt = 0;        // when the lease was granted or last renewed (this page's clock)
  let lastInput = 0;      // when the labeler last pressed a key or the mouse in the editor
  let state = 'loading';  // loading, working, submitting, skipping, empty, offline, error
  let message = '';
  let problem = null;     // the code of what the message reports, when it is a problem
  let retries = 0;
  let timer = 0;
  let busy = false;
  let dialog = null;
  let asking = null;      // the question to the queue in flight
  let settleFirst = null; // settles the mount's promise, once: () or (error)

  // [SECTION] The bar, the editor's place, the message over it
  const root = el('div', 'position:relative;display:flex;flex-direction:column;width:100%;height:100%;min-height:160px;background:#26282c;font:13px system-ui,sans-serif;color:#ddd;');
  const bar = el('div', 'flex:0 0 auto;display:flex;align-items:center;gap:8px;height:34px;padding:0 8px;background:#1d1e21;border-bottom:1px solid #3a3d42;');
  const title = el('span', 'flex:0 1 auto;min-width:0;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;');
  const note = el('span', 'flex:1 1 auto;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;');
  const submitButton = panelButton('Submit job', () => submitJob().catch(() => {}), 'Ctrl+Enter: save, send the job to review, open the next');
  const skipButton = panelButton('Skip…', () => openSkip(), 'Ctrl+K: give the job back, with a reason');
  const stage = el('div', 'position:relative;flex:1 1 auto;min-height:0;');
  const cover = el('div', 'position:absolute;inset:0;display:none;flex-direction:column;align-items:center;justify-content:center;gap:10px;text-align:center;background:#26282c;z-index:5;');
  const coverTitle = el('div', 'font-size:16px;font-weight:600;');
  const coverText = el('div', 'max-width:80%;line-height:1.4;color:#bbb;');
  const checkNow = panelButton('Check now', () => { retries = 0; ask().catch(() => {}); });
  title.dataset.polymark = 'queue-job';
  note.dataset.polymark = 'queue-note';
  submitButton.dataset.polymark = 'queue-submit';
  skipButton.dataset.polymark = 'queue-skip';
  cover.dataset.polymark = 'queue-message';
  [coverTitle, coverText, checkNow].forEach((n) => cover.appendChild(n));
  [skipButton, submitButton].forEach((b) => { b.style.flex = 'none'; });  // a narrow bar shortens the text, never the buttons
  [title, note, skipButton, submitButton].forEach((n) => bar.appendChild(n));
  stage.appendChild(cover);
  root.appendChild(bar);
  root.appendChild(stage);
  element.appendChild(root);

  function lastFrame() {
    try { return inner && job && innerTask === job.task ? inner.getTask().frames - 1 : null; } catch (e) { return null; }
  }

  function show() {
    title.textContent = job ? 'Job ' + job.id + ' · ' + job.task + ' · ' + range(job, lastFrame()) : state === 'loading' ? 'Asking for work…' : 'No job';
    const covered = !inner && (state === 'empty' || state === 'offline' || state === 'error');
    note.textContent = covered ? '' : message;  // the message over the editor's place says it
    note.style.color = state === 'error' || state === 'offline' ? '#ff9c8a' : '#bbb';
    [submitButton, skipButton].forEach((b) => {
      b.disabled = !job || busy;
      b.style.opacity = b.disabled ? '0.45' : '1';
      b.style.cursor = b.disabled ? 'default' : 'pointer';
    });
    cover.style.display = covered ? 'flex' : 'none';
    coverTitle.textContent = state === 'empty' ? 'No work right now' : state === 'offline' ? 'The server cannot be reached' : 'No job could be fetched';
    coverText.textContent = message;
  }
  show();

  function tell(s, m, c) { state = s; message = m; problem = c || null; show(); }

  // [SECTION] Requests to serve.py's queue and jobs
  function request(method, path, body) {
    const url = new URL(apiUrl(options.backend || '', path), document.baseURI).href;
    const headers = Object.assign({ 'Content-Type': 'application/json' }, authHeaders(options, token, url));
    if (typeof options.role === 'string') headers['X-Polymark-Role'] = options.role;
    if (typeof options.user === 'string') headers['X-Polymark-User'] = options.user;
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), SETTLE_MS);
    return fetch(url, { method, headers, body: JSON.stringify(body), credentials: 'same-origin', signal: abort.signal })
      .then((r) => r.text().then((text) => {
        let json = null;
        try { json = JSON.parse(text); } catch (e) { /* said below by the status */ }
        if (r.ok) return json || {};
        const e = json && json.error;
        throw PolymarkError(e && e.code ? e.code : 'http_' + r.status, (e && e.message) || 'HTTP ' + r.status);
      }), (e) => { throw PolymarkError('network', 'no answer from the server (' + ((e && e.message) || e) + ')'); })
      .finally(() => clearTimeout(timeout));
  }

  function later(what) {
    const delay = Math.min(retryMax, retryBase * Math.pow(2, retries++));
    clearTimeout(timer);
    timer = setTimeout(() => { if (!destroyed && !busy) ask().catch(() => {}); }, delay);
    return what + ' Checking again in ' + Math.round(delay / 1000) + ' s.';
  }

  // Asks for the job to work on and opens it; resolves with it, or null when the queue is empty.
  // One question at a time (a retry, Check now and nextJob() may coincide).
  function ask() {
    if (destroyed) return Promise.reject(PolymarkError('destroyed', 'this Polymark instance was destroyed'));
    if (!asking) asking = askNow().finally(() => { asking = null; });
    return asking;
  }

  function askNow() {
    clearTimeout(timer);
    return request('POST', '/api/queue/next', options.task ? { task: options.task } : {}).then((reply) => {
      if (destroyed) return null;
      retries = reply.job ? 0 : retries;
      if (reply.job) return open(reply.job, reply.lease);
      job = null;
      lease = null;
      keep(null);
      return replace(null).then(() => {
        const retryIn = Math.min(retryMax, retryBase * Math.pow(2, retries));
        tell('empty', later('No job is waiting for you.'));
        events.emitOnceListening('queueEmpty', { retryInMs: retryIn });
        first();
        return null;
      }, (error) => {
        tell('error', 'The last job\'s editor stays open: ' + error.message, error.code);
        throw error;
      });
    }, (error) => {
      if (destroyed) throw error;
      const passing = error.code === 'network' || /^http_5/.test(error.code);  // asked again later
      events.emitOnceListening('error', { code: error.code, message: error.message, where: 'queue/next', fatal: false });
      if (passing && reopen(error)) throw error;
      if (passing) tell('offline', later('Could not ask for the next job: ' + error.message + '.' + (job ? ' Job ' + job.id + ' stays open.' : '')), error.code);
      else tell('error', 'Could not ask for the next job: ' + error.message + ' (' + error.code + ')', error.code);
      first(passing ? undefined : Object.assign(error, { instance: outer }));
      throw error;
    });
  }

  // [SECTION] Offline start: the job in hand is kept in localStorage (per backend, user and task
  // option), so that a page started with no network (the service worker's copy of the build, the
  // task and its annotations) opens it again, editable, at the frame this browser last showed;
  // the journal saves its edits and the queue is asked again once the server answers.
  const keptKey = 'polymark.queue:' + (options.backend || '') + ':' + (options.user || '') + ':' + (options.task || '');
  function keep(j) {
    try { if (j) localStorage.setItem(keptKey, JSON.stringify(j)); else localStorage.removeItem(keptKey); } catch (e) { /* private mode */ }
  }

  function reopen(error) {
    let kept = null;
    try { kept = JSON.parse(localStorage.getItem(keptKey) || 'null'); } catch (e) { /* none */ }
    if (inner || job || !kept || typeof kept.task !== 'string') return false;
    job = kept;
    replace(kept.task).then(() => {
      tell('offline', later('Offline (' + error.message + '): job ' + kept.id + ' as this browser last had it; your edits are kept and saved when the server answers.'), error.code);
      events.emitOnceListening('jobAssigned', { job: kept, lease: null });
      first();
    }, () => {
      job = null;
      tell('offline', later('Could not ask for the next job: ' + error.message + '.'), error.code);
      first();
    });
    return true;
  }

  // [SECTION] The editor: one ordinary mount per task, its members forwarded
  function forwardMember(k) {
    if (OWN.indexOf(k) >= 0 || k in outer) return;
    outer[k] = (...args) => {
      if (!inner) throw PolymarkError('no_job', 'no job is open' + (state === 'empty' ? ': the queue is empty' : ''));
      return inner[k](...args);
    };
  }

  function forward(instance) {
    Object.keys(instance).forEach((k) => { if (typeof instance[k] === 'function') forwardMember(k); });
    EVENTS.forEach((n) => { if (QUEUE_EVENTS.indexOf(n) < 0) instance.on(n, (d) => events.emitOnceListening(n, d)); });
    instance.on('frame', (d) => {
      if (!job || job.task !== innerTask || state !== 'working' || (problem && problem !== 'outside_job')) return;
      const outside = d.frame < job.start_frame || (job.stop_frame !== null && d.frame > job.stop_frame);
      tell('working', outside ? 'Frame ' + d.frame + ' is outside this job (' + range(job, lastFrame()) + ')' : '', outside ? 'outside_job' : null);
      note.style.color = outside ? '#f0c060' : '#bbb';
    });
  }

  // The editor of `task` (null: none) in place of the one shown, once its edits are saved.
  function replace(task, frame) {
    if (inner && innerTask === task) return Promise.resolve(inner);
    const old = inner;
    return (old ? settle(old) : Promise.resolve()).then(() => {
      if (old) old.destroy();
      inner = null;
      innerTask = null;
      show();
      if (task === null) return null;
      const own = Object.assign({}, options, { task, frame, token });
      delete own.queue;
      const adopt = (instance) => { inner = instance; innerTask = task; forward(instance); return instance; };
      return mount(stage, own).then(adopt, (e) => {
        if (!e.instance) throw e;
        adopt(e.instance);  // the first image failed; the editor runs, and says so
        return e.instance;
      });
    });
  }

  function open(j, l) {
    const sameTask = inner && innerTask === j.task;
    return replace(j.task, j.start_frame).then(() => {
      const moved = !job || job.task !== j.task || job.id !== j.id;
      job = j;
      lease = l;
      leaseAt = Date.now();
      keep(j);
      let trouble = '';
      try { if (sameTask && moved) inner.setFrame(j.start_frame); } catch (e) { trouble = 'Frame ' + j.start_frame + ' could not be shown: ' + e.message; }
      tell('working', trouble, trouble ? 'out_of_range' : null);
      const focus = document.activeElement;
      if (moved && (!focus || focus === document.body || root.contains(focus))) focusEditor();  // keys go on working
      if (moved) events.emitOnceListening('jobAssigned', { job: j, lease: l });
      first();
      return j;
    }, (error) => {
      tell('error', 'Job ' + j.id + ' of task ' + j.task + ' could not be opened: ' + error.message, error.code);
      events.emitOnceListening('error', { code: error.code, message: error.message, where: 'queue', fatal: false });
      first(Object.assign(error, { instance: outer }));
      throw error;
    });
  }

  // Resolves once every edit of `instance` (annotations and review items) is acknowledged by the
  // server; rejects with `not_saved` when the sync engine says it cannot be, or takes too long.
  function settle(instance) {
    const began = Date.now();
    try { instance.flush(); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => {
      const check = () => {
        if (destroyed) return reject(PolymarkError('destroyed', 'this Polymark instance was destroyed'));
        let s;
        let review;
        try { s = instance.getSyncStatus(); review = instance.getReview(); } catch (e) { return reject(e); }
        const reviewPending = review && review.enabled && review.sync ? review.sync.pending | 0 : 0;
        if (s.state === 'saved' && !s.pending && !s.localWrites && !reviewPending) return resolve();
        const waited = Date.now() - began;
        if (UNSAVED[s.state] && waited >= REFUSED_AFTER_MS)
          return reject(PolymarkError('not_saved', UNSAVED[s.state] + (s.message ? ' (' + s.message + ')' : '')));
        if (waited > SETTLE_MS) return reject(PolymarkError('not_saved', 'your last edits are still being saved; try again'));
        setTimeout(check, 100);
      };
      check();
    });
  }

  // Submit and skip: the edits saved, the job handed on, the next job opened. The promise
  // resolves with the next job (null: none yet, getQueue() says why), rejects when the job in
  // hand did not move (it stays open, and the bar says why).
  function handOn(verb, move, after) {
    if (destroyed) return Promise.reject(PolymarkError('destroyed', 'this Polymark instance was destroyed'));
    if (!job || !inner) return Promise.reject(PolymarkError('no_job', 'no job is open to ' + verb));
    if (busy) return Promise.reject(PolymarkError('busy', 'the job is being submitted or skipped already'));
    let drawing = false;
    try { drawing = inner.getTool().drawing === true; } catch (e) { /* no editor to ask: settle() says */ }
    if (drawing) {  // a shape half drawn is no edit yet: it would be lost
      const error = PolymarkError('drawing', 'finish the shape you are drawing (Enter) or cancel it (Esc) first');
      tell('working', 'Job ' + job.id + ' was not ' + (verb === 'submit' ? 'submitted' : 'skipped') + ': ' + error.message, error.code);
      return Promise.reject(error);
    }
    const j = job;
    busy = true;
    closeSkip();
    clearTimeout(timer);
    tell(verb === 'submit' ? 'submitting' : 'skipping', 'Saving your edits…');
    return settle(inner).then(() => move(j)).then((reply) => {
      busy = false;
      job = null;
      lease = null;
      keep(null);
      tell('loading', 'Job ' + j.id + (verb === 'submit' ? ' submitted' : ' skipped') + '. Asking for the next…');
      events.emit(after.event, after.detail(j, reply));
      return ask().catch(() => null);
    }, (error) => {
      busy = false;
      tell('error', 'Job ' + j.id + ' was not ' + (verb === 'submit' ? 'submitted' : 'skipped') + ': ' + error.message, error.code);
      state = 'working';
      events.emit('error', { code: error.code, message: error.message, where: 'queue/' + verb, fatal: false });
      throw error;
    });
  }

  function submitJob() {
    const path = (j) => '/api/tasks/' + encodeURIComponent(j.task) + '/jobs/' + j.id;
    return handOn('submit', (j) => request('PATCH', path(j), { stage: 'review', from: 'annotation' }),
      { event: 'jobSubmitted', detail: (j, reply) => ({ job: j, stage: reply.job ? reply.job.stage : 'review' }) });
  }

  function skipJob(reason) {
    if (typeof reason !== 'string' || !reason.trim() || reason.length > 500)
      return Promise.reject(PolymarkError('bad_argument', 'skipJob needs a reason of 1 to 500 characters'));
    return handOn('skip', (j) => request('POST', '/api/queue/skip', { task: j.task, job: j.id, reason }),
      { event: 'jobSkipped', detail: (j) => ({ job: j, reason }) });
  }

  // [SECTION] Skip: a reason from the list, or typed (needed for "Other"), then the skip
  function closeSkip() {
    if (dialog) dialog.remove();
    dialog = null;
  }

  function openSkip() {
    if (!job || busy || dialog) return;
    dialog = el('div', 'position:absolute;right:8px;top:38px;z-index:10;width:300px;padding:10px;display:flex;flex-direction:column;gap:6px;background:#2d3035;border:1px solid #4a4e55;border-radius:6px;box-shadow:0 4px 16px rgba(0,0,0,.5);');
    dialog.dataset.polymark = 'queue-skip-dialog';
    dialog.setAttribute('role', 'dialog');
    dialog.appendChild(el('div', 'font-weight:600;', 'Why skip job ' + job.id + '?'));
    const name = 'polymark-skip-' + Math.random().toString(36).slice(2);
    const radios = reasons.concat(['Other']).map((r, i) => {
      const row = el('label', 'display:flex;gap:6px;align-items:center;cursor:pointer;');
      const input = el('input');
      input.type = 'radio';
      input.name = name;
      input.value = r;
      input.checked = i === 0;
      row.appendChild(input);
      row.appendChild(el('span', '', r));
      dialog.appendChild(row);
      return input;
    });
    const text = el('input', 'font:inherit;color:#e4e4e4;background:#1d1e21;border:1px solid #4a4e55;border-radius:4px;padding:3px 6px;');
    text.type = 'text';
    text.placeholder = 'In your words (needed for Other)';
    text.maxLength = 400;
    const hint = el('div', 'color:#ff9c8a;min-height:1em;');
    const row = el('div', 'display:flex;gap:6px;justify-content:flex-end;');
    const confirm = () => {
      const chosen = radios.find((r) => r.checked);
      const words = text.value.trim();
      const reason = chosen && chosen.value !== 'Other' ? chosen.value + (words ? ': ' + words : '') : words;
      if (!reason) { hint.textContent = 'Say why in your words'; text.focus(); return; }
      skipJob(reason).catch(() => {});
    };
    row.appendChild(panelButton('Cancel', () => { closeSkip(); focusEditor(); }));
    const go = panelButton('Skip job', confirm);
    go.dataset.polymark = 'queue-skip-confirm';
    row.appendChild(go);
    [text, hint, row].forEach((n) => dialog.appendChild(n));
    dialog.addEventListener('keydown', (e) => {
      e.stopPropagation();
      if (e.key === 'Enter') { e.preventDefault(); confirm(); }
      if (e.key === 'Escape') { closeSkip(); focusEditor(); }
    });
    root.appendChild(dialog);
    radios[0].focus();
  }

  function focusEditor() { if (inner && inner.canvas) inner.canvas.focus(); }

  // Ctrl+Enter submits, Ctrl+K skips, while the editor has the keys (before the app hears them).
  const onKey = (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || e.repeat || !stage.contains(e.target)) return;
    const key = e.key.toLowerCase();
    if (key !== 'enter' && key !== 'k') return;
    e.preventDefault();
    e.stopPropagation();
    if (key === 'enter') submitJob().catch(() => {});
    else openSkip();
  };
  root.addEventListener('keydown', onKey, true);

  // The lease runs out when the labeler does nothing; saving renews it on the server, and so does
  // working without saving (looking through frames, zooming, selecting): while there was input
  // since the last renewal, `next` is asked again a third of the way through the lease, which
  // hands the same job and renews it. An idle page lets it run out, and the job goes back.
  const touched = () => { lastInput = Date.now(); };
  ['pointerdown', 'keydown', 'wheel'].forEach((name) => stage.addEventListener(name, touched, { capture: true, passive: true }));
  const keeping = setInterval(() => {
    if (!job || !lease || busy || asking || destroyed) return;
    const period = lease.seconds * 1000;
    const since = Date.now() - leaseAt;
    if (since < period / 3 || since > period * 0.9 || lastInput < leaseAt) return;
    const held = job;
    const asked = Date.now();  // the server's lease runs from about when it got the question
    request('POST', '/api/queue/next', { task: held.task }).then((reply) => {
      if (reply.job && job === held && reply.job.id === held.id) { lease = reply.lease; leaseAt = asked; }
    }, () => { /* offline: the next save or submit says so */ });
  }, 1000);

  // [SECTION] The instance: the queue's members, the editor's forwarded (docs/API.md)
  const outer = {
    on: (name, fn) => { events.on(name, fn); return outer; },
    off: (name, fn) => { events.off(name, fn); return outer; },
    getJob: () => (job ? { job: Object.assign({}, job), lease: lease && Object.assign({}, lease) } : null),
    getQueue: () => ({ state, message, code: problem, job: job && Object.assign({}, job) }),
    nextJob: () => (busy ? Promise.reject(PolymarkError('busy', 'the job is being submitted or skipped')) : ask()),
    submitJob,
    skipJob,
    setToken: (t) => {
      if (typeof t !== 'string') throw PolymarkError('bad_argument', 'setToken needs a string');
      token = t;
      if (inner) inner.setToken(t);
    },
    destroy: () => {
      if (destroyed) return;
      destroyed = true;
      clearTimeout(timer);
      clearInterval(keeping);
      if (inner) inner.destroy();
      inner = null;
      root.remove();
      events.clear();
    },
    get canvas() { return inner ? inner.canvas : null; },
    get destroyed() { return destroyed; },
  };

  (members || []).forEach(forwardMember);

  return new Promise((resolve, reject) => {
    settleFirst = (error) => { if (error) reject(error); else resolve(outer); };
    ask().catch(() => {});
  });

  // The mount resolves with the first job on screen, or once the queue was found empty or
  // unreachable (the instance then waits for work); events found meanwhile follow it.
  function first(error) {
    if (!settleFirst) return;
    const done = settleFirst;
    settleFirst = null;
    done(error);
    started = true;
    setTimeout(() => events.releaseHeld(() => destroyed));
  }
}

window.PolymarkQueue = { mountQueue };
