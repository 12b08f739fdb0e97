// Reading and writing .zip archives, for the formats module: imports take a dropped or picked .zip
// of a dataset (YOLO, Pascal VOC, LabelMe), and exports of formats that are one file per image
// download as one .zip. No dependencies; runs in a page and in a Web Worker (and in Node for tests).
// Reads stored and deflate entries (through DecompressionStream); writes stored entries only.
// ZIP64, encryption and split archives are refused.

const encoder = new TextEncoder();
const utf8 = new TextDecoder();

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;
const MAX_COMMENT = 0xffff;

function fail(where, what) {
  const e = new Error(`${where}: ${what}`);
  e.code = 'bad_zip';
  e.where = where;
  throw e;
}

let table = null;
function crcTable() {
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (the zip and gzip one) of `bytes`, continuing from `crc`; unsigned. */
export function crc32(bytes, crc = 0) {
  const t = table || crcTable();
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** True when `bytes` starts like a zip archive: a local file header, or the end record of an empty one. */
export function isZip(bytes) {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

// '/' separators, without leading '/' or './'; null for a path that climbs out ('..') or names a drive.
function cleanPath(raw) {
  let p = raw.replace(/\\/g, '/');
  while (p.startsWith('/') || p.startsWith('./')) p = p.slice(p[0] === '/' ? 1 : 2);
  if (/^[A-Za-z]:/.test(p) || p.includes('\0') || p.split('/').includes('..')) return null;
  return p;
}

// Files a Mac's archiver adds that are not part of the dataset.
function isJunk(path) {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return path.startsWith('__MACOSX/') || last.startsWith('._') || last === '.DS_Store';
}

function decodeName(bytes, flags) {
  if (flags & FLAG_UTF8) return utf8.decode(bytes);
  // Without the UTF-8 flag names are CP437: identical to ASCII below 0x80; bytes above are mapped to
  // the code point of the same value (latin1) rather than to their CP437 glyphs.
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

// Inflates raw deflate data into exactly `size` bytes, stopping early if it would produce more.
async function inflate(data, size, where) {
  const out = new Uint8Array(size);
  let n = 0;
  const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw')).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (n + value.length > size) {
        reader.cancel().catch(() => {});
        fail(where, `size mismatch: inflates to more than the ${size} bytes the directory says`);
      }
      out.set(value, n);
      n += value.length;
    }
  } catch (e) {
    if (e.code === 'bad_zip') throw e;
    fail(where, `damaged deflate data (${e.message})`);
  }
  if (n !== size) fail(where, `size mismatch: inflates to ${n} bytes, the directory says ${size}`);
  return out;
}

/**
 * The files of a zip archive, in central-directory order, without directories and macOS junk.
 * Rejects with an Error (code 'bad_zip', `where` the archive or archive/entry) on anything it cannot
 * read faithfully.
 * @param {Uint8Array} bytes
 * @param {string} [name] the archive's name, for messages
 * @returns {Promise<Array<{path: string, bytes: Uint8Array}>>}
 */
export async function readZip(bytes, name = 'archive.zip') {
  const len = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at) => view.getUint16(at, true);
  const u32 = (at) => view.getUint32(at, true);

  // The end record is the last 22 bytes, followed only by the archive comment.
  let end = -1;
  for (let at = len - 22; at >= Math.max(0, len - 22 - MAX_COMMENT); at--) {
    if (u32(at) === SIG_END && at + 22 + u16(at + 20) === len) { end = at; break; }
  }
  if (end < 0) fail(name, isZip(bytes) ? 'truncated zip archive (no end of central directory record)' : 'not a zip archive');
  const count = u16(end + 10), cdSize = u32(end + 12), cdOffset = u32(end + 16);
  if ((end >= 20 && u32(end - 20) === SIG_ZIP64_LOCATOR) || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    fail(name, 'ZIP64 archives (over 4 GB or 65,535 entries) are not read');
  }
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0 || u16(end + 8) !== count) fail(name, 'split (multi-part) zip archives are not read');
  if (cdOffset + cdSize > end) fail(name, 'truncated or damaged zip archive (central directory out of bounds)');

  const files = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || u32(p) !== SIG_CENTRAL) fail(name, 'truncated or damaged central directory');
    const flags = u16(p + 8), method = u16(p + 10), crc = u32(p + 16);
    const csize = u32(p + 20), size = u32(p + 24), local = u32(p + 42);
    const nameLen = u16(p + 28), next = p + 46 + nameLen + u16(p + 30) + u16(p + 32);
    if (next > cdOffset + cdSize) fail(name, 'truncated or damaged central directory');
    const raw = decodeName(bytes.subarray(p + 46, p + 46 + nameLen), flags);
    p = next;

    const path = cleanPath(raw);
    if (path === null) fail(`${name}/${raw}`, 'refused: the path climbs out of the archive (..) or names a drive');
    if (path === '' || path.endsWith('/') || isJunk(path)) continue;
    const where = `${name}/${path}`;
    if (csize === 0xffffffff || size === 0xffffffff || local === 0xffffffff) fail(where, 'ZIP64 archives (over 4 GB or 65,535 entries) are not read');
    if (flags & FLAG_ENCRYPTED) fail(where, 'encrypted entries are not read');
    if (method !== 0 && method !== 8) fail(where, `compression method ${method} is not supported (only 0, stored, and 8, deflate)`);

    // The local header only locates the data: its sizes may be zero when a data descriptor follows.
    if (local + 30 > cdOffset || u32(local) !== SIG_LOCAL) fail(where, 'truncated or damaged zip archive (bad local header)');
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + csize > cdOffset) fail(where, 'truncated or damaged zip archive (data out of bounds)');
    const data = bytes.subarray(start, start + csize);

    let out;
    if (method === 8) out = await inflate(data, size, where);
    else if (csize !== size) fail(where, `size mismatch: stored ${csize} bytes, the directory says ${size}`);
    else out = data.slice();
    if (crc32(out) !== crc) fail(where, 'CRC-32 mismatch: the data is damaged');
    files.push({ path, bytes: out });
  }
  return files;
}

function dosDateTime(d) {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/**
 * A zip archive of `files` (stored, not compressed; names flagged UTF-8; strings written as UTF-8).
 * Throws an Error with code 'bad_zip' for a path with '..' or a drive, a duplicate path, more than
 * 65,535 files or more than 4 GB.
 * @param {Array<{path: string, bytes: Uint8Array|string}>} files
 * @param {{date?: Date}} [options] the modification time recorded for every file
 * @returns {Uint8Array}
 */
export function writeZip(files, { date = new Date() } = {}) {
  if (files.length > 0xffff) fail('zip', `${files.length} files: a zip without ZIP64 holds at most 65,535`);
  const { time, date: day } = dosDateTime(date);
  const seen = new Set();
  const entries = [];
  let total = 22, local = 0;
  for (const file of files) {
    const path = cleanPath(String(file.path));
    if (path === null) fail(String(file.path), 'refused: the path climbs out of the archive (..) or names a drive');
    if (path === '' || path.endsWith('/')) fail(String(file.path), 'not a file path');
    if (seen.has(path)) fail(path, 'duplicate path');
    seen.add(path);
    const name = encoder.encode(path);
    if (name.length > 0xffff) fail(path, 'path too long');
    const data = typeof file.bytes === 'string' ? encoder.encode(file.bytes) : file.bytes;
    entries.push({ name, data, crc: crc32(data), offset: local });
    local += 30 + name.length + data.length;
    total += 30 + 46 + 2 * name.length + data.length;
  }
  if (total > 0xffffffff) fail('zip', 'over 4 GB: a zip without ZIP64 holds at most 4 GB');

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  // The fields local and central headers share, from "version needed" to the name length.
  const common = (at, e) => {
    view.setUint16(at, 20, true);
    view.setUint16(at + 2, FLAG_UTF8, true);
    view.setUint16(at + 4, 0, true); // stored
    view.setUint16(at + 6, time, true);
    view.setUint16(at + 8, day, true);
    view.setUint32(at + 10, e.crc, true);
    view.setUint32(at + 14, e.data.length, true);
    view.setUint32(at + 18, e.data.length, true);
    view.setUint16(at + 22, e.name.length, true);
  };
  let p = 0;
  for (const e of entries) {
    view.setUint32(p, SIG_LOCAL, true);
    common(p + 4, e);
    out.set(e.name, p + 30);
    out.set(e.data, p + 30 + e.name.length);
    p += 30 + e.name.length + e.data.length;
  }
  const cdOffset = p;
  for (const e of entries) {
    view.setUint32(p, SIG_CENTRAL, true);
    view.setUint16(p + 4, 20, true); // version made by: 2.0, MS-DOS attributes
    common(p + 6, e);
    view.setUint32(p + 42, e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
  }
  view.setUint32(p, SIG_END, true);
  view.setUint16(p + 8, entries.length, true);
  view.setUint16(p + 10, entries.length, true);
  view.setUint32(p + 12, p - cdOffset, true);
  view.setUint32(p + 16, cdOffset, true);
  return out;
}
