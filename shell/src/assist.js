// [SECTION] Assisted tools (docs/API.md, "Assisted tools"): what polymark.js holds of them. The
// module's polymarkAssist(request) -> bool takes the editor's requests; the feed that runs them
// (shell/src/assist_feed.js, dist/assist.js) is loaded on the first one, which waits for it.
import { lazyGlobal } from './assets.js';

export function createAssist(ctx, openVideo) {
  let feed = null;
  let loading = null;
  const waiting = [];

  function fail(message) {
    waiting.splice(0).forEach((m) => {
      if (m.type !== 'cancel') ctx.toModule((mod, text) => mod._pm_assist_reply(text), [JSON.stringify({ type: 'error', id: m.id, code: 'load_failed', message })]);
    });
    loading = null;
  }

  return function request(m) {
    if (typeof Worker === 'undefined' || !m || !m.media) return false;
    if (feed) { feed.request(m); return true; }
    waiting.push(m);
    if (!loading) {
      loading = lazyGlobal(ctx.base, 'assist.js', 'PolymarkAssist').then((lib) => {
        if (ctx.destroyed) return;
        feed = lib.createAssistFeed(ctx, openVideo);
        waiting.splice(0).forEach((w) => feed.request(w));
      }, (e) => fail('the assisted tools could not load: ' + e.message));
    }
    return true;
  };
}
