// [SECTION] Quality (docs/API.md, "Quality"): what polymark.js holds of the manager view. The view
// (shell/src/quality_panel.js, dist/quality.js) and its worker and module are loaded on first use:
// U on the canvas, or a quality method of the instance.
import { PolymarkError } from './util.js';
import { assetUrl, lazyGlobal } from './assets.js';
import { taskRoutes } from './backend.js';

export function createQuality(ctx, wrapper, canvas, instance) {
  const options = ctx.options;
  let loading = null;

  function load() {
    if (typeof options.task !== 'string' || options.profile || options.sync === false)
      return Promise.reject(PolymarkError('unavailable', 'quality reports need a task synced with serve.py (options.task, no profile, sync on)'));
    if (!loading) {
      loading = lazyGlobal(ctx.base, 'quality.js', 'PolymarkQuality')
        .then((lib) => {
          if (ctx.destroyed) throw PolymarkError('destroyed', 'this Polymark instance was destroyed');
          const view = lib.create(Object.assign(taskRoutes(ctx), {
            wrapper, instance, task: options.task,
            asset: (name) => new URL(assetUrl(ctx.base, name), document.baseURI).href,
            focusCanvas: () => canvas.focus(),
          }));
          ctx.cleanups.push(() => view.destroy());
          return view;
        });
      loading.catch(() => { loading = null; });
    }
    return loading;
  }

  ctx.listen(canvas, 'keydown', (e) => {
    if ((e.key === 'u' || e.key === 'U') && !e.ctrlKey && !e.metaKey && !e.altKey && !e.repeat) load().then((v) => v.toggle(), () => {});
  });

  return {
    getQualityReport: (kind, opts) => load().then((v) => v.report(kind, opts || {})),
    exportQualityReport: (kind, opts) => load().then((v) => v.exportReport(kind, opts || {})),
    showManagerView: (on) => load().then((v) => v.show(on === undefined ? true : !!on)),
    mergeConsensus: (opts) => load().then((v) => v.merge(opts || {})),
  };
}
