// [SECTION] The frame the labeler was on, per task, kept in localStorage so that a reload (or a
// remount after a crash) opens there again (docs/API.md, option `frame`). Where storage is
// unavailable (a sandboxed frame, privacy settings) nothing is remembered and nothing fails.

// One key per backend and task; a task object without an id is not remembered.
function storageKey(options) {
  const task = options.task || (options.taskObject && typeof options.taskObject.id === 'string' ? options.taskObject.id : '');
  return task ? 'polymark-frame:' + (options.backend || '') + '|' + task : null;
}

/** The frame to open: `options.frame` when given, else the one last shown for this task, else 0. */
export function frameToOpen(options) {
  if (options.frame !== undefined && options.frame !== null) return options.frame | 0;
  const key = storageKey(options);
  if (!key) return 0;
  try {
    const stored = window.localStorage.getItem(key);
    const n = stored === null ? 0 : Number(stored);
    return Number.isInteger(n) && n >= 0 ? n : 0;
  } catch (e) {
    return 0;
  }
}

/** Called with every `frame` event. */
export function rememberFrame(options, frame) {
  const key = storageKey(options);
  if (!key || !Number.isInteger(frame)) return;
  try { window.localStorage.setItem(key, String(frame)); } catch (e) { /* not kept: the next load opens at frame 0 */ }
}
