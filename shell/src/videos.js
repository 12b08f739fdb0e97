// [SECTION] Videos: one mount's open videos, by URL, each with one decoder and frame cache
// (shell/video.js, loaded the first time a task shows a video).
import { loadVideoScript } from './loader.js';
import { moduleUrls } from './assets.js';

// Returns { open(url) -> promise of the source, all() -> the promises by URL }.
export function createVideos(ctx) {
  let videos = {};
  function open(url) {
    if (!videos[url]) {
      videos[url] = loadVideoScript(ctx.base).then((PV) => {
        const settings = { assetsUrl: ctx.base, ...moduleUrls(ctx.base, 'polymark_video'), forceElement: !!ctx.options.videoElement };
        if (ctx.options.videoMemoryCapBytes > 0) settings.memoryCapBytes = ctx.options.videoMemoryCapBytes;
        return PV.open(new URL(url, document.baseURI).href, settings);
      }).then((source) => {
        // A file cut short still shows the frames before the cut: said once, not fatal.
        source.warnings.forEach((w) => ctx.events.emitOnceListening('error', { code: w.code, message: w.message, where: url, fatal: false }));
        return source;
      });
      videos[url].catch(() => { delete videos[url]; }); // a failed open is retried on the next frame asked
    }
    return videos[url];
  }
  ctx.cleanups.push(() => {
    Object.keys(videos).forEach((url) => videos[url].then((s) => s.close(), () => {}));
    videos = {};
  });
  return { open, all: () => videos };
}
