// [SECTION] Events: one mount's listeners (on/off) and their delivery. Events found while
// mounting (a video's warning, an object of the document left out) wait until the host could
// listen: just after the mount promise resolves.
import { PolymarkError } from './util.js';

export const EVENTS = ['ready', 'error', 'change', 'frame', 'sync', 'tracking', 'import', 'review', 'guidelines',
  'jobAssigned', 'jobSubmitted', 'jobSkipped', 'queueEmpty'];

// isReady(): whether the host has the instance yet (events are held until then).
export function createEvents(isReady) {
  let listeners = {};
  let held = [];
  const clear = () => { listeners = {}; EVENTS.forEach((n) => { listeners[n] = []; }); };
  clear();

  function check(name, fn) {
    if (EVENTS.indexOf(name) < 0) throw PolymarkError('bad_event', 'unknown event "' + name + '"; events are ' + EVENTS.join(', '));
    if (typeof fn !== 'function') throw PolymarkError('bad_listener', 'a listener for "' + name + '" must be a function');
  }

  // A listener that throws does not stop the others; its error still reaches the console.
  function emit(name, detail) {
    (listeners[name] || []).slice().forEach((fn) => {
      try { fn(detail); } catch (e) { setTimeout(() => { throw e; }); }
    });
  }

  return {
    on(name, fn) { check(name, fn); listeners[name].push(fn); },
    off(name, fn) {
      check(name, fn);
      const i = listeners[name].indexOf(fn);
      if (i >= 0) listeners[name].splice(i, 1);
    },
    emit,
    hold(name, detail) { held.push([name, detail]); },
    emitOnceListening(name, detail) {
      if (isReady()) emit(name, detail);
      else held.push([name, detail]);
    },
    // Delivers what was held, unless the instance is gone by then.
    releaseHeld(isDestroyed) {
      const events = held;
      held = [];
      events.forEach((e) => { if (!isDestroyed()) emit(e[0], e[1]); });
    },
    // The listeners by event name, copied (a remount moves them to the fresh instance).
    copy() {
      const kept = {};
      EVENTS.forEach((n) => { kept[n] = listeners[n].slice(); });
      return kept;
    },
    clear,
  };
}
