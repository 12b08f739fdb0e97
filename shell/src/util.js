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

// A button of the HTML panels loaded later (guidelines, the manager view), in their dark style.
export function panelButton(text, onClick, title) {
  const b = el('button', 'font:inherit;color:#e4e4e4;background:#33363c;border:1px solid #4a4e55;border-radius:4px;padding:2px 8px;cursor:pointer;', text);
  b.type = 'button';
  if (title) b.title = title;
  b.addEventListener('click', onClick);
  return b;
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

// Image bytes decoded by the browser into RGBA, as the app takes them: EXIF orientation applied,
// no premultiplied alpha, no colour space conversion. { width, height, channels: 4, pixels }.
export function decodeToRgba(blob) {
  return createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' })
    .then((bitmap) => {
      const c = new OffscreenCanvas(bitmap.width, bitmap.height);
      const g = c.getContext('2d', { willReadFrequently: true });
      g.drawImage(bitmap, 0, 0);
      const data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
      bitmap.close();
      return { width: c.width, height: c.height, channels: 4, pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    });
}

// The image at `url` fetched and decoded into RGBA pixels (decodeToRgba), for a worker that
// reads pixels: the tracker, the assisted tools.
export function fetchRgba(url) {
  return fetch(url, { credentials: 'same-origin' }).then((r) => {
    if (!r.ok) throw new Error('HTTP ' + r.status + ' for ' + url);
    return r.blob();
  }).then(decodeToRgba);
}

// The pixel size a PNG or JPEG declares in its header, or null (other formats, or damaged).
export function imageHeaderSize(b) {
  if (!b || b.length < 24) return null;
  const be16 = (i) => (b[i] << 8) | b[i + 1];
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4E && b[3] === 0x47) {
    return { width: be16(16) * 65536 + be16(18), height: be16(20) * 65536 + be16(22) };
  }
  if (b[0] !== 0xFF || b[1] !== 0xD8) return null;
  for (let i = 2; i + 9 < b.length;) {
    if (b[i] !== 0xFF) return null;
    const marker = b[i + 1];
    if (marker === 0xFF) { i++; continue; }
    const sof = marker >= 0xC0 && marker <= 0xCF && marker !== 0xC4 && marker !== 0xC8 && marker !== 0xCC;
    if (sof) return { width: be16(i + 7), height: be16(i + 5) };
    i += 2 + be16(i + 2);
  }
  return null;
}
