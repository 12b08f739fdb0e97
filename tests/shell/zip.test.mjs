// shell/src/zip.js against Python's zipfile as the independent peer: what writeZip writes Python
// reads, what Python writes (deflate, stored, data descriptors, directories, macOS junk) readZip
// reads, and damaged or hostile archives are refused with code 'bad_zip'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isZip, readZip, writeZip, crc32 } from '../../shell/src/zip.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'polymark-zip-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// Runs a Python script with `args`; returns its stdout as bytes.
function python(script, ...args) {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr.toString());
  return new Uint8Array(r.stdout);
}

const text = (bytes) => new TextDecoder().decode(bytes);
const bytesOf = (s) => new TextEncoder().encode(s);

// Expects readZip to reject with 'bad_zip', naming the archive (and the entry, when given).
async function refused(bytes, name, entry, pattern) {
  await assert.rejects(readZip(bytes, name), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'bad_zip');
    assert.equal(e.where, entry ? `${name}/${entry}` : name);
    assert.ok(e.message.includes(name), e.message);
    if (entry) assert.ok(e.message.includes(entry), e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('crc32 of "123456789" is 0xCBF43926', () => {
  assert.equal(crc32(bytesOf('123456789')), 0xcbf43926);
  assert.equal(crc32(bytesOf('6789'), crc32(bytesOf('12345'))), 0xcbf43926, 'continues from a crc');
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('Python reads what writeZip writes', () => {
  const files = [
    { path: 'labels/café.txt', bytes: '0 0.5 0.5 0.2 0.1\n' },
    { path: 'empty.txt', bytes: new Uint8Array(0) },
    { path: 'a/b/c/deep.bin', bytes: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff) },
    { path: 'classes.txt', bytes: 'cat\nchien\n猫\n' },
  ];
  const zip = writeZip(files, { date: new Date(2024, 4, 17, 13, 45, 30) });
  assert.ok(isZip(zip));
  const file = path.join(tmp, 'written.zip');
  fs.writeFileSync(file, zip);
  const out = JSON.parse(text(python(`
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps({'bad': z.testzip(), 'files': [[i.filename, list(z.read(i)), i.flag_bits, i.compress_type, list(i.date_time)] for i in z.infolist()]}))
`, file)));
  assert.equal(out.bad, null);
  assert.deepEqual(out.files.map((f) => f[0]), files.map((f) => f.path));
  for (const [i, [, data, flags, method, when]] of out.files.entries()) {
    const want = typeof files[i].bytes === 'string' ? bytesOf(files[i].bytes) : files[i].bytes;
    assert.deepEqual(data, [...want]);
    assert.equal(flags & 0x800, 0x800, 'UTF-8 flag');
    assert.equal(method, 0, 'stored');
    assert.deepEqual(when, [2024, 5, 17, 13, 45, 30]);
  }
});

// A Python script writing an archive to argv[1] (a file) or, given '-', to stdout: a pipe is not
// seekable, so zipfile writes data descriptors and zero sizes in the local headers.
const pythonWriter = `
import sys, zipfile
out = sys.stdout.buffer if sys.argv[1] == '-' else open(sys.argv[1], 'wb')
with zipfile.ZipFile(out, 'w') as z:
    z.writestr('images/', b'')
    z.writestr('labels/a.txt', b'0 0.1 0.2 0.3 0.4\\n' * 200, compress_type=zipfile.ZIP_DEFLATED)
    z.writestr('labels/b.txt', b'1 0.5 0.5 0.5 0.5\\n', compress_type=zipfile.ZIP_STORED)
    z.writestr('__MACOSX/._x', b'junk')
    z.writestr('__MACOSX/labels/._a.txt', b'junk')
    z.writestr('labels/._b.txt', b'junk')
    z.writestr('.DS_Store', b'junk')
    z.writestr('notes/résumé.json', '{"ok": true}'.encode(), compress_type=zipfile.ZIP_DEFLATED)
    z.writestr('empty.txt', b'', compress_type=zipfile.ZIP_DEFLATED)
    with z.open('streamed.bin', 'w', force_zip64=False) as f:
        for i in range(50):
            f.write(bytes(range(256)))
`;
const expected = [
  ['labels/a.txt', bytesOf('0 0.1 0.2 0.3 0.4\n'.repeat(200))],
  ['labels/b.txt', bytesOf('1 0.5 0.5 0.5 0.5\n')],
  ['notes/résumé.json', bytesOf('{"ok": true}')],
  ['empty.txt', new Uint8Array(0)],
  ['streamed.bin', Uint8Array.from({ length: 256 * 50 }, (_, i) => i & 0xff)],
];

test('readZip reads what Python writes to a file', async () => {
  const file = path.join(tmp, 'python.zip');
  python(pythonWriter, file);
  const zip = new Uint8Array(fs.readFileSync(file));
  assert.ok(isZip(zip));
  const files = await readZip(zip, 'python.zip');
  assert.deepEqual(files.map((f) => [f.path, f.bytes]), expected);
});

test('readZip reads what Python streams to a pipe (data descriptors, zero local sizes)', async () => {
  const zip = python(pythonWriter, '-');
  const view = new DataView(zip.buffer, zip.byteOffset);
  assert.equal(view.getUint16(6, true) & 8, 8, 'the first entry has a data descriptor');
  assert.equal(view.getUint32(18, true), 0, 'and no compressed size in its local header');
  const files = await readZip(zip, 'streamed.zip');
  assert.deepEqual(files.map((f) => [f.path, f.bytes]), expected);
});

test('readZip normalises paths and reads an empty archive', async () => {
  const file = path.join(tmp, 'paths.zip');
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for name in ['/abs.txt', './dot.txt', 'win\\\\sub\\\\x.txt', 'a/./b.txt']:
        i = zipfile.ZipInfo('x'); i.filename = name  # as written, without zipfile's own clean-up
        z.writestr(i, name)
`, file);
  const files = await readZip(new Uint8Array(fs.readFileSync(file)), 'paths.zip');
  assert.deepEqual(files.map((f) => [f.path, text(f.bytes)]),
    [['abs.txt', '/abs.txt'], ['dot.txt', './dot.txt'], ['win/sub/x.txt', 'win\\sub\\x.txt'], ['a/./b.txt', 'a/./b.txt']]);
  const empty = writeZip([]);
  assert.equal(empty.length, 22);
  assert.ok(isZip(empty));
  assert.deepEqual(await readZip(empty), []);
});

test('writeZip → readZip of 20,000 small files', async () => {
  const files = Array.from({ length: 20000 }, (_, i) => ({ path: `labels/${i}.txt`, bytes: `${i % 80} 0.5 0.5 0.1 0.1\n` }));
  const t0 = performance.now();
  const zip = writeZip(files);
  const t1 = performance.now();
  const back = await readZip(zip, 'many.zip');
  const t2 = performance.now();
  console.log(`20,000 files, ${zip.length} bytes: writeZip ${(t1 - t0).toFixed(0)} ms, readZip ${(t2 - t1).toFixed(0)} ms`);
  assert.equal(back.length, files.length);
  for (let i = 0; i < files.length; i++) {
    assert.equal(back[i].path, files[i].path);
    assert.equal(text(back[i].bytes), files[i].bytes);
  }
});

// Offsets of the first entry's headers in a writeZip archive.
function headers(zip) {
  const view = new DataView(zip.buffer, zip.byteOffset);
  return { view, central: view.getUint32(zip.length - 6, true), end: zip.length - 22 };
}

test('readZip refuses damaged, hostile and unsupported archives', async () => {
  await refused(bytesOf('name,x,y\n1,2,3\n'), 'data.zip', null, /not a zip/);
  await refused(new Uint8Array(0), 'data.zip', null, /not a zip/);

  const good = writeZip([{ path: 'a.txt', bytes: 'hello' }, { path: 'b.txt', bytes: 'world' }]);
  await refused(good.subarray(0, good.length - 10), 'data.zip', null, /truncated/);

  const crc = good.slice();
  crc[30 + 'a.txt'.length] ^= 1; // first data byte
  await refused(crc, 'data.zip', 'a.txt', /CRC/);

  const encrypted = good.slice();
  const e = headers(encrypted);
  e.view.setUint16(6, e.view.getUint16(6, true) | 1, true);
  e.view.setUint16(e.central + 8, e.view.getUint16(e.central + 8, true) | 1, true);
  await refused(encrypted, 'data.zip', 'a.txt', /encrypted/);

  const method = good.slice();
  const m = headers(method);
  m.view.setUint16(8, 12, true);
  m.view.setUint16(m.central + 10, 12, true);
  await refused(method, 'data.zip', 'a.txt', /method 12/);

  const size = good.slice();
  const s = headers(size);
  s.view.setUint32(s.central + 24, 4, true);
  await refused(size, 'data.zip', 'a.txt', /size mismatch/);

  const zip64 = good.slice();
  const z = headers(zip64);
  z.view.setUint32(z.end + 16, 0xffffffff, true);
  await refused(zip64, 'data.zip', null, /ZIP64 archives \(over 4 GB or 65,535 entries\) are not read/);

  const file = path.join(tmp, 'evil.zip');
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('ok.txt', b'fine')
    z.writestr('../evil.txt', b'gotcha', compress_type=zipfile.ZIP_DEFLATED)
`, file);
  await refused(new Uint8Array(fs.readFileSync(file)), 'evil.zip', '../evil.txt', /refused/);

  const drive = path.join(tmp, 'drive.zip');
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    i = zipfile.ZipInfo('x'); i.filename = 'C:/Windows/evil.dll'
    z.writestr(i, b'gotcha')
`, drive);
  await refused(new Uint8Array(fs.readFileSync(drive)), 'drive.zip', 'C:/Windows/evil.dll', /refused/);

  // A deflate entry that inflates to more than its directory says.
  const deflated = path.join(tmp, 'deflated.zip');
  python(`
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('big.txt', b'x' * 100000)
`, deflated);
  const bomb = new Uint8Array(fs.readFileSync(deflated));
  const b = headers(bomb);
  b.view.setUint32(b.central + 24, 1000, true);
  await refused(bomb, 'bomb.zip', 'big.txt', /size mismatch/);
});

test('writeZip refuses what a zip cannot hold or should not', async () => {
  const bad = (files, pattern) => assert.throws(() => writeZip(files), (e) => e.code === 'bad_zip' && pattern.test(e.message));
  bad([{ path: '../x.txt', bytes: '' }], /\.\./);
  bad([{ path: 'a/../../x.txt', bytes: '' }], /\.\./);
  bad([{ path: 'a.txt', bytes: '1' }, { path: 'a.txt', bytes: '2' }], /duplicate/);
  bad(Array.from({ length: 65536 }, (_, i) => ({ path: `${i}`, bytes: '' })), /65,535/);
  // 65,535 entries fit (the count field is all ones, and no ZIP64 record follows).
  const full = await readZip(writeZip(Array.from({ length: 65535 }, (_, i) => ({ path: `${i}`, bytes: '' }))));
  assert.equal(full.length, 65535);
});
