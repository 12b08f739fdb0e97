// [SECTION] Queue mode's part of polymark.js (docs/API.md, "Work queue"): the options checked,
// and the rest (shell/src/queue_panel.js, dist/queue.js) loaded only by a mount with `queue`, while
// the app's wasm downloads, so that mounts without it carry none of it.
import { PolymarkError, el, panelButton } from './util.js';
import { lazyGlobal } from './assets.js';
import { apiUrl, authHeaders } from './backend.js';
import { EVENTS, createEvents } from './events.js';
import { loadShared } from './loader.js';
import { createInstance } from './api.js';

// The members an editor's instance has (api.js's, and those mount.js adds for guidelines and
// quality), so that the queue's instance has them from the start, throwing `no_job` while no job is open.
const editorMembers = () => Object.keys(createInstance({}, null, null, null, null)).concat(['getGuidelines', 'setGuidelines',
  'showGuidelines', 'getQualityReport', 'exportQualityReport', 'showManagerView', 'mergeConsensus']);

export function mountQueue(element, options, base, mount) {
  const bad = (m) => Promise.reject(PolymarkError('bad_options', m));
  if (options.taskObject || options.profile || options.annotations || options.sync === false)
    return bad('queue mode works on serve.py\'s tasks: no taskObject, annotations, profile or sync: false');
  if (!options.user && !options.token) return bad('queue mode needs options.user (or a token that names the user)');
  loadShared(base, { update() {}, done() {} }).catch(() => { /* the job's mount loads it again, and says why */ });
  return lazyGlobal(base, 'queue.js', 'PolymarkQueue').then((lib) => lib.mountQueue(element, options,
    { PolymarkError, el, panelButton, apiUrl, authHeaders, EVENTS, createEvents, mount, members: editorMembers() }));
}
