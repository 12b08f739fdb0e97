// [SECTION] Assisted tools' feed (dist/assist.js, loaded by shell/src/assist.js on the first use of a
// tool, so the first load carries none of it). The editor's scissors, wand, outline and edge snapping
// (client/app/editor_assist.cpp) send requests through PlatformPort::assist; this page runs them
// in one Web Worker (dist/assist_worker.js with the assist module, loaded on first use) and
// answers each through _pm_assist_reply, in the order they were asked.
// The worker holds one picture: before a request about another frame, that frame's pixels are
// decoded here (images by the browser's decoder, video frames in colour through a canvas) and
// handed over. One request is in the worker at a time; a cursor's path request still waiting is
// replaced by a newer one, so a fast mouse never builds a backlog.

import { fetchRgba } from './util.js';

// One mount's feed: { request(message) }. openVideo(url): a promise of the mount's decoder for
// that video (videos.js).
function createAssistFeed(ctx, openVideo) {
  let worker = null;
  let pictureKey = '';      // the picture the worker holds, or is being given
  let inFlight = null;      // {id} of the request the worker works on, or {picture: key}
  const queue = [];         // messages waiting, in order: requests, and {picture, media} steps

  function reply(m) {
    const out = Object.assign({}, m);
    if (out.points) out.points = Array.from(out.points);
    ctx.toModule((mod, text) => mod._pm_assist_reply(text), [JSON.stringify(out)]);
  }

  function start() {
    if (worker) return worker;
    const boot = 'importScripts(' + JSON.stringify(ctx.asset('assist_worker.js')) + ');';
    worker = new Worker(URL.createObjectURL(new Blob([boot], { type: 'text/javascript' })));
    worker.onmessage = (e) => received(e.data || {});
    worker.onerror = (e) => {
      const message = 'the assist worker stopped: ' + (e.message || 'unknown error');
      failAll('worker_failed', message);
      worker.terminate();
      worker = null;
      pictureKey = '';
    };
    return worker;
  }

  function failAll(code, message) {
    const pending = (inFlight && inFlight.id ? [inFlight] : []).concat(queue.filter((q) => q.id));
    inFlight = null;
    queue.length = 0;
    pending.forEach((q) => reply({ type: 'error', id: q.id, code, message }));
  }

  function received(m) {
    if (m.type === 'image-ready' && inFlight && inFlight.picture === m.key) {
      inFlight = null;
    } else if (m.type === 'error' && (m.id === null || m.id === undefined) && inFlight && inFlight.picture) {
      // The picture could not be taken: every request about it fails with the worker's reason.
      const key = inFlight.picture;
      inFlight = null;
      pictureKey = '';
      for (let i = 0; i < queue.length;) {
        if (queue[i].key === key && queue[i].id) { reply({ type: 'error', id: queue[i].id, code: m.code || 'image_failed', message: m.message }); queue.splice(i, 1); } else i++;
      }
    } else if (m.id !== undefined && m.id !== null) {
      if (inFlight && inFlight.id === m.id && m.type !== 'progress') inFlight = null;
      // The worker lost its picture (its module stopped and was dropped): the next request gives it again.
      if (m.type === 'error' && (m.code === 'aborted' || m.code === 'no_image')) pictureKey = '';
      reply(m);
    }
    pump();
  }

  function pump() {
    if (inFlight || !queue.length || ctx.destroyed) return;
    const next = queue.shift();
    if (next.picture) {
      inFlight = next;
      const media = next.media;
      const pixels = media.type === 'video' ? openVideo(media.url).then((s) => s.readRgba(media.frame)) : fetchRgba(media.url);
      pixels.then((p) => {
        if (inFlight !== next || !worker) return;
        const buffer = p.pixels.byteOffset === 0 && p.pixels.byteLength === p.pixels.buffer.byteLength ? p.pixels.buffer : p.pixels.slice().buffer;
        worker.postMessage({ type: 'image', key: next.picture, width: p.width, height: p.height, pixels: buffer,
          ...ctx.moduleUrls('polymark_assist') }, [buffer]);
      }, (e) => {
        if (inFlight !== next) return;
        received({ type: 'error', id: null, code: 'image_failed', message: 'the picture could not be read: ' + ((e && e.message) || e) });
      });
      return;
    }
    inFlight = next;
    const message = Object.assign({}, next);
    delete message.key;
    delete message.media;
    delete message.coalesce;
    worker.postMessage(message);
  }

  function request(m) {
    try { start(); } catch (e) {
      if (m.type !== 'cancel') reply({ type: 'error', id: m.id, code: 'no_worker', message: 'this page cannot start the assist worker: ' + e.message });
      return;
    }
    if (m.type === 'cancel') {
      const waiting = queue.findIndex((q) => q.id === m.id);
      if (waiting >= 0) { queue.splice(waiting, 1); reply({ type: 'cancelled', id: m.id }); } else if (inFlight && inFlight.id === m.id) worker.postMessage({ type: 'cancel', id: m.id });
      return;
    }
    const key = m.media.url + '#' + m.media.frame;
    if (key !== pictureKey) {
      pictureKey = key;
      queue.push({ picture: key, media: m.media });
    }
    const last = queue[queue.length - 1];
    if (m.coalesce && last && last.coalesce && last.key === key) {
      queue[queue.length - 1] = Object.assign({}, m, { key });  // the editor waits only for its newest path
    } else queue.push(Object.assign({}, m, { key }));
    pump();
  }

  ctx.cleanups.push(() => {
    if (worker) worker.terminate();
    worker = null;
    queue.length = 0;
    inFlight = null;
  });
  return { request };
}

window.PolymarkAssist = { createAssistFeed };
