// Small helpers every part of the page side uses: the error type of the API, URLs, byte fetches
// with progress, and DOM elements with inline style (the embed adds no global CSS).

// The URL polymark.js was loaded from: read while the script runs, before any mount.
export const scriptUrl = (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) || '';

/**
 * The error every API call rejects or throws with: `code`, `message`, `details` (docs/API.md).
 * @param {string} code
 * @param {string} message
 * @param {Array} [details]
 * @returns {Error}
 */
export function PolymarkError(code, message, details) {
  const e = new Error(message);
  e.name = 'PolymarkError';
  e.code = code;
  e.details = details || [];
  Object.setPrototypeOf(e, PolymarkError.prototype);
  return e;
}
PolymarkError.prototype = Object.create(Error.prototype, { constructor: { value: PolymarkError } });

export const assetUrl = (base, name) => new URL(name, base).href;

// Fetches a file as bytes, reporting the bytes as they arrive.
export function fetchBytes(url, onBytes) {
  return fetch(url).then((response) => {
    if (!response.ok) throw PolymarkError('load_failed', 'could not load ' + url + ' (HTTP ' + response.status + ')');
    if (!response.body || !response.body.getReader) {
      return response.arrayBuffer().then((b) => { onBytes(b.byteLength); return new Uint8Array(b); });
    }
    const reader = response.body.getReader();
    const chunks = [];
    let total = 0;
    const pump = () => reader.read().then((step) => {
      if (step.done) {
        const out = new Uint8Array(total);
        let at = 0;
        chunks.forEach((c) => { out.set(c, at); at += c.length; });
        return out;
      }
      chunks.push(step.value);
      total += step.value.length;
      onBytes(step.value.length);
      return pump();
    });
    return pump();
  }, (e) => {
    throw PolymarkError('load_failed', 'could not load ' + url + ': ' + (e && e.message ? e.message : e));
  });
}

export function el(tag, style, text) {
  const node = document.createElement(tag);
  if (style) node.style.cssText = style;
  if (text) node.textContent = text;
  return node;
}

// A plain script tag (not a blob) keeps portals with a strict Content-Security-Policy working.
// Resolves with what the script defines as window[name].
export function loadScriptTag(url, name) {
  return new Promise((resolve, reject) => {
    const tag = document.createElement('script');
    tag.src = url;
    tag.async = true;
    tag.onload = () => resolve(window[name]);
    tag.onerror = () => { tag.remove(); reject(PolymarkError('load_failed', 'could not load ' + url)); };
    document.head.appendChild(tag);
  });
}
