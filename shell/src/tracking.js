// [SECTION] Tracking (docs/API.md, "Tracking"): what polymark.js holds of it. The module's
// polymarkTrack {start(spec) -> bool, cancel()} takes the app's track-forward runs; the feed that
// runs them (shell/src/tracking_feed.js, dist/tracking.js) is loaded when the first run starts.
import { lazyGlobal } from './assets.js';

export function createTracking(ctx, openVideo) {
  let feed = null;
  let waiting = null;  // the run asked for while the feed loads

  function finished(spec, state, message) {
    const status = { state, startFrame: spec.start, lastFrame: spec.lastFrame, progress: 0, framesTracked: 0, objects: [], message };
    ctx.toModule((mod, text, written) => mod._pm_tracking_done(text, written), [JSON.stringify(status), '[]']);
  }

  function start(spec) {
    if (feed) return feed.start(spec);
    waiting = spec;
    lazyGlobal(ctx.base, 'tracking.js', 'PolymarkTracking').then((lib) => {
      if (ctx.destroyed) return;
      if (!feed) feed = lib.createTrackingFeed(ctx, openVideo);
      if (waiting !== spec) return;
      waiting = null;
      if (!feed.start(spec)) finished(spec, 'failed', 'tracking could not start in this page');
    }, (e) => {
      if (waiting !== spec) return;
      waiting = null;
      finished(spec, 'failed', 'the tracking script could not load: ' + e.message);
    });
    return true;
  }

  function cancel() {
    if (feed) return feed.cancel();
    if (waiting) finished(waiting, 'cancelled');
    waiting = null;
  }

  return { start, cancel };
}
