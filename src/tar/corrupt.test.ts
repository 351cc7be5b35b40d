/** Crafted corrupt and hostile inputs: each must fail with a one-line error naming the entry. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { DataCorruptError, UnsupportedError } from '../errors.js';
import { writeChecksum, writeBase256 } from './fields.js';
import { formatPaxRecords } from './pax.js';
import { chunked, readArchive, writeArchive } from './test-helpers.js';
import type { TarReadOptions } from './reader.js';
import { readTar } from './reader.js';

async function base(): Promise<Buffer> {
  // a: header@0 body@512; b: header@1024 body@1536 (10000 bytes -> 20 blocks); end @ 11776
  return writeArchive([
    [{ name: 'a', uid: 5 }, Buffer.from('hello')],
    [{ name: 'b' }, Buffer.alloc(10000, 0x61)],
  ]);
}

function expectCorrupt(re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof DataCorruptError, `expected DataCorruptError, got ${String(e)}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one-line message');
    return true;
  };
}

async function rejects(input: Buffer, re: RegExp, opts: TarReadOptions = {}): Promise<void> {
  await assert.rejects(readArchive(chunked(input, 777), opts), expectCorrupt(re));
}

test('truncated inside a header', async () => {
  const t = await base();
  await rejects(t.subarray(0, 1024 + 100), /^tar: truncated archive: EOF inside a header at offset 1024 \(after entry "a"\)$/);
});

test('truncated inside a body and inside padding', async () => {
  const t = await base();
  await rejects(t.subarray(0, 1536 + 4000), /^tar: truncated archive: entry "b" declares 10000 bytes at offset 1536 but the data ends after 4000$/);
  await rejects(t.subarray(0, 1536 + 10000 + 10), /^tar: truncated archive: EOF in the padding after entry "b"$/);
});

test('input ending exactly after the last entry\'s data is complete (Go archive/tar; umoci writes such layers)', async () => {
  const t = await base();
  const names: string[] = [];
  for await (const e of readTar(t.subarray(0, 1536 + 10000))) {
    names.push(e.header.name);
    let n = 0;
    for await (const c of e.body) n += c.length;
    assert.equal(n, e.header.size);
  }
  assert.deepEqual(names, ['a', 'b']);
});

test('size field larger than the data', async () => {
  const t = Buffer.from(await base());
  // entry a claims 1 MB; the archive has 5 bytes + end blocks
  t.write('00003641100\0', 124, 'latin1');
  writeChecksum(t.subarray(0, 512));
  await rejects(t, /^tar: truncated archive: entry "a" declares 1000000 bytes at offset 512 but the data ends after \d+$/);
});

test('header checksum mismatch (and a hint when the input is not tar at all)', async () => {
  const t = Buffer.from(await base());
  t[1024 + 1] = 0x7a; // corrupt b's name
  await rejects(t, /^tar: header checksum mismatch at offset 1024 \(name field "bz"\) \(after entry "a"\)$/);
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
  await rejects(garbage, /^tar: header checksum mismatch at offset 0 .*\(not a tar archive\?\)$/);
  await rejects(gzipSync(await base()), /^tar: truncated archive: EOF inside a header at offset 0 \(input is gzip-compressed, not a tar archive\)$/);
  await rejects(gzipSync(randomBytes(8192)), /^tar: header checksum mismatch at offset 0 .*\(input is gzip-compressed, not a tar archive\)$/);
});

test('signed checksums (old Sun tar) are accepted', async () => {
  const t = Buffer.from(await base());
  t[265] = 0xe9; // uname "é" in latin1: a byte >= 0x80
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : t[i]!;
    signed += b > 127 ? b - 256 : b;
  }
  t.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  const back = await readArchive(t);
  assert.equal(back[0]!.header.name, 'a');
  assert.equal(back[0]!.header.uname, '\ufffd');
});

test('invalid numeric fields and negative sizes', async () => {
  const t = Buffer.from(await base());
  t.write('12x4567\0', 108, 'latin1'); // uid
  writeChecksum(t.subarray(0, 512));
  await rejects(t, /^tar: invalid numeric field uid in the header of "a" at offset 0$/);
  const n = Buffer.from(await base());
  writeBase256(n, 124, 12, -5);
  writeChecksum(n.subarray(0, 512));
  await rejects(n, /^tar: negative size -5 in the header of "a" at offset 0$/);
});

function metaHeader(type: string, data: Buffer, name = 'meta'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  writeChecksum(h);
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([h, data, pad]);
}

test('limits: oversized PAX header, GNU long name and PAX path', async () => {
  const t = await base();
  const pax = metaHeader('x', formatPaxRecords(new Map([['comment', 'c'.repeat(5000)]])));
  await rejects(Buffer.concat([pax, t]), /^tar: PAX header of 5014 bytes at offset 0 exceeds the limit of 4096$/, { maxPaxSize: 4096 });
  const longName = metaHeader('L', Buffer.from(`${'n'.repeat(5000)}\0`), '././@LongLink');
  await rejects(Buffer.concat([longName, t]), /^tar: GNU long name of 5001 bytes at offset 0 exceeds the limit of 4096$/);
  const paxPath = metaHeader('x', formatPaxRecords(new Map([['path', 'p'.repeat(300)]])));
  await rejects(Buffer.concat([paxPath, t]), /^tar: name of 300 bytes at offset 1024 exceeds the limit of 200$/, { maxNameLength: 200 });
  // within the default limits the same inputs are fine
  const ok = await readArchive(Buffer.concat([longName.subarray(0, 0), metaHeader('L', Buffer.from(`${'n'.repeat(4000)}\0`), '././@LongLink'), t]));
  assert.equal(ok[0]!.header.name, 'n'.repeat(4000));
});

test('malformed PAX records and NUL in PAX path', async () => {
  const t = await base();
  await rejects(Buffer.concat([metaHeader('x', Buffer.from('99 path=x\n')), t]), /^tar: malformed PAX record at byte 0: length 99 out of range in the PAX header at offset 0$/);
  await rejects(Buffer.concat([metaHeader('x', formatPaxRecords(new Map([['uid', 'abc']]))), t]), /^tar: invalid PAX uid value "abc" for entry "a" at offset 1024$/);
  await rejects(Buffer.concat([metaHeader('x', formatPaxRecords(new Map([['path', 'a\0b']]))), t]), /^tar: name "a\\u0000b" at offset 1024 contains a NUL byte$/);
});

test('meta header without a following entry', async () => {
  const pax = metaHeader('x', formatPaxRecords(new Map([['path', 'x']])));
  await rejects(Buffer.concat([pax, Buffer.alloc(1024)]), /^tar: PAX header not followed by an entry at offset 1024$/);
  await rejects(pax, /^tar: truncated archive: EOF after a PAX header$/);
});

test('GNU sparse and unknown entry types are unsupported', async () => {
  const t = Buffer.from(await base());
  t[156] = 0x53; // 'S'
  writeChecksum(t.subarray(0, 512));
  await assert.rejects(readArchive(t), (e: unknown) => e instanceof UnsupportedError && /^tar: GNU sparse file "a" at offset 0 is not supported$/.test(e.message));
  const p = Buffer.concat([metaHeader('x', formatPaxRecords(new Map([['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0']]))), await base()]);
  await assert.rejects(readArchive(p), /GNU sparse file "a"/);
  const v = Buffer.from(await base());
  v[156] = 0x56; // 'V' volume label
  writeChecksum(v.subarray(0, 512));
  await assert.rejects(readArchive(v), (e: unknown) => e instanceof UnsupportedError && /unsupported type 'V'/.test(e.message));
});

test('end of archive: two zero blocks, one zero block + EOF, EOF at a boundary; strict mode', async () => {
  const t = await base();
  const body = t.subarray(0, t.length - 1024);
  assert.equal((await readArchive(body)).length, 2, 'EOF at a header boundary ends the archive (as Go)');
  assert.equal((await readArchive(t.subarray(0, t.length - 512))).length, 2, 'one zero block then EOF');
  await rejects(body, /^tar: truncated archive: EOF at offset 11776 without the end-of-archive marker \(after entry "b"\)$/, { requireEndMarker: true });
  await rejects(t.subarray(0, t.length - 512), /EOF after a single zero block at offset 11776/, { requireEndMarker: true });
  assert.equal((await readArchive(t, { requireEndMarker: true })).length, 2);
  const bad = Buffer.concat([body, Buffer.alloc(512), t.subarray(0, 512)]);
  await rejects(bad, /^tar: zero block followed by data at offset 12288 \(after entry "b"\)$/);
  assert.equal((await readArchive(Buffer.alloc(0))).length, 0, 'empty input is an empty archive');
});
