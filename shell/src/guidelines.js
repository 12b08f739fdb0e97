// [SECTION] Guidelines (docs/API.md, "Guidelines"): what polymark.js holds of the labeling
// instructions panel. The app learns the task's guideline version (client/app/review_link.*) and
// tells the page with the `guidelines` event; the panel itself (shell/src/guidelines_panel.js,
// dist/guidelines.js) is loaded only once the instance is ready and the task has guidelines, or
// when the labeler presses G or the host calls a guidelines method. Hidden by the labeler, it
// stays hidden on that browser (localStorage) until a new version arrives.
import { PolymarkError } from './util.js';
import { lazyGlobal } from './assets.js';
import { taskRoutes } from './backend.js';

export function createGuidelines(ctx, wrapper, canvas, call, reserve) {
  const options = ctx.options;
  const routes = taskRoutes(ctx);
  const available = options.guidelines !== false && typeof options.task === 'string' && !options.profile && options.sync !== false;
  const hiddenKey = 'polymark.guidelines.hidden:' + (options.backend || '') + ':' + options.task;
  let version = 0;
  let loading = null;
  let panel = null;

  const remembered = () => { try { return localStorage.getItem(hiddenKey); } catch (e) { return null; } };
  const remember = (hidden) => { try { if (hidden) localStorage.setItem(hiddenKey, String(version)); else localStorage.removeItem(hiddenKey); } catch (e) { /* private mode */ } };

  function load() {
    if (!available) return Promise.reject(PolymarkError('unavailable', 'guidelines need a task synced with serve.py (options.task, no profile, sync on, guidelines not false)'));
    if (!loading) {
      const script = lazyGlobal(ctx.base, 'guidelines.js', 'PolymarkGuidelines');
      loading = script.then((lib) => {
        if (ctx.destroyed) throw PolymarkError('destroyed', 'this Polymark instance was destroyed');
        panel = lib.create({
          wrapper,
          role: typeof options.role === 'string' ? options.role : '',
          url: (path) => routes.url(options.task, path),
          headers: routes.headers,
          call,
          reserve,
          focusCanvas: () => canvas.focus(),
          catchup: () => ctx.toModule((m) => m._pm_sync_catchup()),
          shownChanged: (on) => remember(!on),
        });
        ctx.cleanups.push(() => panel.destroy());
        if (version) panel.version(version, 0);
        return panel;
      });
      loading.catch(() => { loading = null; });
    }
    return loading;
  }

  // G toggles the panel while the canvas has the keys (the app's own text fields move the focus away).
  ctx.listen(canvas, 'keydown', (e) => {
    if ((e.key !== 'g' && e.key !== 'G') || e.ctrlKey || e.metaKey || e.altKey || e.repeat || !available) return;
    load().then((p) => p.toggle(), () => {});
  });

  return {
    // The `guidelines` event's detail from the app: {version, previous}.
    onVersion(detail) {
      const previous = version;
      version = detail.version;
      // Shown at start unless the labeler hid this very version; shown again when a new one comes.
      const wanted = ctx.ready && ((previous > 0 && version > previous) || remembered() !== String(version));
      if (panel) {
        panel.version(version, previous);
        if (wanted) panel.show(true);
      } else if (wanted) {
        load().then((p) => { p.version(version, previous); p.show(true); }, () => {});
      }
    },
    onReady() {
      if (version && remembered() !== String(version)) load().then((p) => p.show(true), () => {});
    },
    onChange() { if (panel) panel.documentChanged(); },
    // Instance methods
    getGuidelines: (v) => load().then((p) => p.get(v)),
    setGuidelines: (change) => {
      if (!change || typeof change.text !== 'string') return Promise.reject(PolymarkError('bad_argument', 'setGuidelines needs {text, files?, baseVersion?}'));
      return load().then((p) => p.put({ text: change.text, files: change.files, baseVersion: change.baseVersion === undefined ? version : change.baseVersion }));
    },
    showGuidelines: (on) => load().then((p) => p.show(on === undefined ? true : !!on)),
  };
}
