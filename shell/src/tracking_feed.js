// [SECTION] Tracking feed (dist/tracking.js, loaded by shell/src/tracking.js when tracking first
// starts, so the first load carries none of it). The app's TrackingController (client/app) runs a job; it hands this
// page the job (PlatformPort::start_tracking_worker), and this page only feeds frames: it reads
// them a few ahead (video: the decoder's luma plane; images: decoded here) and transfers them to
// Web Workers (shell/track_worker.js) that track; their progress and what they wrote go back to
// the app's inbox (_pm_tracking_progress, _pm_tracking_done). A browser without Web Workers runs
// the same script and module in this page instead, in slices (inPageWorker).
// Objects are shared out over workers, one core left for the page (its decoding, drawing and
// input): one worker on two cores, up to three on four or more. Every worker gets every frame it
// needs. (Measured on two cores: a second worker only starved the decoder.)

import { fetchRgba, loadScriptTag } from './util.js';

const TRACK_READ_AHEAD = 12;

let pageWorkerScript = null;  // promise of window.PolymarkTrackWorker, once per page

// A stand-in for a Worker that runs shell/track_worker.js here: messages both ways go through the
// event loop, as a worker's would.
function inPageWorker(ctx) {
  const fake = { onmessage: null, queue: [], receive: null };
  fake.terminate = () => {
    if (fake.receive) fake.receive({ type: 'cancel' });
    fake.receive = null;
    fake.onmessage = null;
    fake.queue = [];
  };
  const deliver = (m) => setTimeout(() => { if (fake.onmessage) fake.onmessage({ data: m }); }, 0);
  if (!pageWorkerScript) pageWorkerScript = loadScriptTag(ctx.asset('track_worker.js'), 'PolymarkTrackWorker');
  pageWorkerScript.then((create) => {
    fake.receive = create(deliver, (url) => (window.createPolymarkTrackerModule ? Promise.resolve() : loadScriptTag(url, 'createPolymarkTrackerModule')));
    fake.queue.splice(0).forEach((m) => fake.receive(m));
  }, (e) => deliver({ type: 'started', ok: false, errors: [{ message: 'the tracking script could not load: ' + e.message }] }));
  fake.postMessage = (m) => setTimeout(() => { if (fake.receive) fake.receive(m); else fake.queue.push(m); }, 0);
  return fake;
}

// Where task frame f is: the media item and the frame inside it.
function locate(spec, f) {
  const media = spec.media;
  for (let i = 0; i < media.length; i++) {
    if (f >= media[i].first && f < media[i].first + media[i].frames) return { media: media[i], local: f - media[i].first };
  }
  return null;
}

// The parts' statuses as one, objects in the order the app gave them.
function merged(t, state) {
  const st = t.parts.map((p) => (p.done && p.done.status) || p.status || {});
  const objects = [];
  t.spec.ids.forEach((id) => {
    st.forEach((s) => (s.objects || []).forEach((o) => { if (o.id === id) objects.push(o); }));
  });
  const num = (k, f) => st.map((s) => s[k] || 0).reduce((a, b) => f(a, b));
  return { state, startFrame: t.spec.start, lastFrame: t.spec.lastFrame, progress: num('progress', Math.min),
    framesTracked: num('framesTracked', Math.max), objects, trackingMs: num('trackingMs', Math.max), waitingMs: num('waitingMs', Math.max),
    inWorker: t.inWorker, workers: t.inWorker ? t.parts.length : 0 };
}

// One mount's feed: { start(spec) -> bool, cancel() }.
// openVideo(url): a promise of the mount's decoder for that video (videos.js).
function createTrackingFeed(ctx, openVideo) {
  let tracker = null; // {spec, asked: Set, parts: [{worker, ids, next, status, done}]}
  let workers = [];   // kept across runs: each loads the module once

  function worker(i) {
    if (workers[i]) return workers[i];
    // A worker script must be same-origin: a tiny one made here loads ours from wherever
    // polymark.js came from (importScripts may cross origins).
    const boot = 'importScripts(' + JSON.stringify(ctx.asset('track_worker.js')) + ');';
    workers[i] = new Worker(URL.createObjectURL(new Blob([boot], { type: 'text/javascript' })));
    return workers[i];
  }

  function start(spec) {
    let count = Math.max(1, Math.min(3, spec.ids.length, ((navigator.hardwareConcurrency | 0) || 2) - 1));
    const t = { spec, asked: new Set(), parts: [], inWorker: true };
    try {
      for (let i = 0; i < count; i++) t.parts.push({ worker: worker(i), ids: [], next: spec.start, status: null, done: null });
    } catch (e) {
      // No Web Workers here (or a policy forbids them): one part, in this page.
      count = 1;
      t.inWorker = false;
      t.parts = [{ worker: inPageWorker(ctx), ids: [], next: spec.start, status: null, done: null }];
    }
    spec.ids.forEach((id, k) => t.parts[k % count].ids.push(id));
    tracker = t;
    t.parts.forEach((part) => {
      part.worker.onmessage = (e) => onMessage(t, part, e.data);
      part.worker.onerror = (e) => {
        onMessage(t, part, { type: 'started', ok: false, errors: [{ message: 'the tracking worker stopped: ' + (e.message || 'unknown error') }] });
      };
      part.worker.postMessage({ type: 'start', spec: Object.assign({}, spec, { ids: part.ids, idPrefix: spec.idPrefix + t.parts.indexOf(part) + '.' }),
        ...ctx.moduleUrls('polymark_tracker') });
    });
    return true;
  }

  function onMessage(t, part, m) {
    if (tracker !== t || ctx.destroyed) return;
    if (m.type === 'started') {
      if (!m.ok) {
        tracker = null;
        t.parts.forEach((p) => { if (p !== part) p.worker.postMessage({ type: 'cancel' }); });
        ctx.toModule((mod, status, written) => mod._pm_tracking_done(status, written),
          [JSON.stringify({ state: 'failed', message: (m.errors || []).map((x) => x.message).join('; ') }), '[]']);
        return;
      }
      part.status = m.status;
      part.next = m.next;
      read(t);
    } else if (m.type === 'fed') {
      part.next = m.next;
      read(t);
    } else if (m.type === 'status') {
      part.status = m.status;
      ctx.toModule((mod, status) => mod._pm_tracking_progress(status), [JSON.stringify(merged(t, 'running'))]);
    } else if (m.type === 'done') {
      part.done = m;
      part.next = -1;
      if (t.parts.some((p) => !p.done)) { read(t); return; }
      tracker = null;
      const cancelled = t.parts.some((p) => p.done.status && p.done.status.state === 'cancelled');
      const written = [].concat(...t.parts.map((p) => p.done.written || []));
      ctx.toModule((mod, status, text) => mod._pm_tracking_done(status, text), [JSON.stringify(merged(t, cancelled ? 'cancelled' : 'done')), JSON.stringify(written)]);
    }
  }

  // Reads ahead of the slowest worker; each frame read once, sent to every worker still before it.
  function read(t) {
    const running = t.parts.filter((p) => p.next >= 0);
    if (!running.length) return;
    const from = Math.min(...running.map((p) => p.next));
    for (let frame = from; frame <= Math.min(t.spec.lastFrame, from + TRACK_READ_AHEAD); frame++) {
      if (t.asked.has(frame)) continue;
      t.asked.add(frame);
      const where = locate(t.spec, frame);
      const pixels = !where ? Promise.reject(new Error('frame ' + (frame + 1) + ' is outside the task'))
        : where.media.type === 'video' ? openVideo(where.media.url).then((s) => s.readLuma(where.local))
          : fetchRgba(where.media.url);
      pixels.then((r) => {
        if (tracker !== t) return;
        const to = t.parts.filter((p) => p.next >= 0 && p.next <= frame);
        to.forEach((p, k) => {
          const copy = k === to.length - 1 ? r.pixels : r.pixels.slice();
          p.worker.postMessage({ type: 'frame', frame, width: r.width, height: r.height, channels: r.channels, pixels: copy }, [copy.buffer]);
        });
      }, (e) => {
        if (tracker !== t) return;
        t.parts.forEach((p) => { if (p.next >= 0 && p.next <= frame) p.worker.postMessage({ type: 'failed', frame, reason: String((e && e.message) || e) }); });
      });
    }
  }

  function cancel() { if (tracker) tracker.parts.forEach((p) => p.worker.postMessage({ type: 'cancel' })); }

  ctx.cleanups.push(() => {
    if (tracker && !tracker.inWorker) tracker.parts.forEach((p) => p.worker.terminate());
    workers.forEach((w) => w.terminate());
    workers = [];
    tracker = null;
  });
  return { start, cancel };
}

window.PolymarkTracking = { createTrackingFeed };
