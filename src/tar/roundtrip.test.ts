import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, PreconditionError } from '../errors.js';
import { readTar, TarReader } from './reader.js';
import { TarWriter, encodeHeader, type TarWriteHeader } from './writer.js';
import { chunked, readArchive, writeArchive } from './test-helpers.js';

const CAP = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x30, 0x00, 0x80, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);

test('every entry type round-trips with all fields', async () => {
  const entries: Array<[TarWriteHeader, Buffer?]> = [
    [{ name: 'etc/', type: 'dir', mode: 0o755, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: 1700000000 }],
    [{ name: 'etc/passwd', mode: 0o644, uid: 1000, gid: 1000, uname: 'alice', gname: 'staff', mtime: 1700000001 }, Buffer.from('root:x:0:0::/root:/bin/sh\n')],
    [{ name: 'etc/passwd-link', type: 'hardlink', linkname: 'etc/passwd' }],
    [{ name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox', mode: 0o777 }],
    [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 }],
    [{ name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660 }],
    [{ name: 'run/fifo', type: 'fifo', mode: 0o600 }],
    [{ name: 'usr/bin/sudo', mode: 0o4755 }, Buffer.from('x')],
    [{ name: 'usr/bin/wall', mode: 0o2755 }, Buffer.alloc(513, 7)],
    [{ name: 'tmp/', type: 'dir', mode: 0o1777 }],
    [{ name: 'empty' }, Buffer.alloc(0)],
  ];
  const tar = await writeArchive(entries);
  assert.equal(tar.length % 512, 0);
  const back = await readArchive(tar);
  assert.equal(back.length, entries.length);
  for (let i = 0; i < entries.length; i++) {
    const [w, body] = entries[i]!;
    const r = back[i]!;
    assert.equal(r.header.name, w.name);
    assert.equal(r.header.type, w.type ?? 'file');
    assert.equal(r.header.mode, w.mode ?? 0o644);
    assert.equal(r.header.uid, w.uid ?? 0);
    assert.equal(r.header.gid, w.gid ?? 0);
    assert.equal(r.header.uname, w.uname ?? '');
    assert.equal(r.header.gname, w.gname ?? '');
    assert.equal(r.header.linkname, w.linkname ?? '');
    assert.equal(r.header.devmajor, w.devmajor ?? 0);
    assert.equal(r.header.devminor, w.devminor ?? 0);
    assert.deepEqual(r.header.mtime, { sec: (w.mtime as number | undefined) ?? 0, nsec: 0 });
    assert.equal(r.header.atime, undefined);
    assert.equal(r.header.ctime, undefined);
    assert.deepEqual(r.body, body ?? Buffer.alloc(0));
    assert.equal(r.header.size, r.body.length);
    assert.equal(r.header.pax.size, 0, `no PAX needed for ${w.name}`);
  }
  // plain ustar entries: no PAX header, one 512-byte block each
  assert.equal(back[1]!.dataOffset - back[1]!.headerOffset, 512);
});

test('long names (>100, >255, 4000 bytes) and long link names', async () => {
  const n150 = `${'d'.repeat(60)}/${'e'.repeat(40)}/${'f'.repeat(48)}`; // fits prefix+name
  const n300 = `${'a/'.repeat(100)}${'b'.repeat(100)}`;
  const n4000 = `${'x'.repeat(99)}/`.repeat(40).slice(0, 3999) + 'z';
  const noSlash = 'q'.repeat(180);
  const link = `${'l'.repeat(150)}/target`;
  const tar = await writeArchive([
    [{ name: n150 }, Buffer.from('150')],
    [{ name: n300 }, Buffer.from('300')],
    [{ name: n4000 }, Buffer.from('4000')],
    [{ name: noSlash }, Buffer.from('ns')],
    [{ name: 'ln', type: 'symlink', linkname: link }],
    [{ name: n300 + '-hard', type: 'hardlink', linkname: n4000 }],
  ]);
  const back = await readArchive(chunked(tar, 333));
  assert.deepEqual(back.map((b) => b.header.name), [n150, n300, n4000, noSlash, 'ln', n300 + '-hard']);
  assert.equal(back[0]!.header.pax.has('path'), false, '150-byte name fits the ustar prefix');
  assert.equal(back[1]!.header.pax.has('path'), true);
  assert.equal(back[3]!.header.pax.has('path'), true, 'unsplittable name needs PAX');
  assert.equal(back[4]!.header.linkname, link);
  assert.equal(back[5]!.header.linkname, n4000);
  assert.deepEqual(back.map((b) => b.body.toString()), ['150', '300', '4000', 'ns', '', '']);
});

test('big ids, negative and far-future mtimes, big device numbers go to PAX', async () => {
  const tar = await writeArchive([
    [{ name: 'big', uid: 2097152, gid: 4_000_000_000, mtime: -100 }, Buffer.from('a')],
    [{ name: 'edge', uid: 2097151, gid: 2097151, mtime: 8589934591 }],
    [{ name: 'future', mtime: 8589934592 }],
    [{ name: 'dev', type: 'block', devmajor: 3_000_000, devminor: 4_000_000 }],
  ]);
  const back = await readArchive(tar);
  assert.equal(back[0]!.header.uid, 2097152);
  assert.equal(back[0]!.header.gid, 4_000_000_000);
  assert.deepEqual(back[0]!.header.mtime, { sec: -100, nsec: 0 });
  assert.equal(back[1]!.header.pax.size, 0, 'max octal values still fit ustar');
  assert.equal(back[1]!.header.uid, 2097151);
  assert.deepEqual(back[2]!.header.mtime, { sec: 8589934592, nsec: 0 });
  assert.equal(back[3]!.header.devmajor, 3_000_000);
  assert.equal(back[3]!.header.devminor, 4_000_000);
});

test('binary xattrs (security.capability with NULs and bytes >= 0x80) survive', async () => {
  const xattrs = new Map<string, Uint8Array>([
    ['security.capability', CAP],
    ['user.empty', Buffer.alloc(0)],
    ['user.newline', Buffer.from('a\nb=c')],
    ['trusted.overlay.opaque', Buffer.from('y')],
  ]);
  const tar = await writeArchive([[{ name: 'bin/ping', mode: 0o755, xattrs }, Buffer.from('ELF')]]);
  const [e] = await readArchive(tar);
  assert.equal(e!.header.xattrs.size, 4);
  assert.deepEqual(e!.header.xattrs.get('security.capability'), CAP);
  assert.deepEqual(e!.header.xattrs.get('user.empty'), Buffer.alloc(0));
  assert.equal(e!.header.xattrs.get('user.newline')!.toString(), 'a\nb=c');
  assert.deepEqual(e!.header.pax.get('SCHILY.xattr.security.capability'), CAP);
  assert.equal(e!.body.toString(), 'ELF');
});

test('nanosecond mtimes only with paxNanoseconds; atime/ctime only when given', async () => {
  const h: TarWriteHeader = { name: 'f', mtime: { sec: 1700000000, nsec: 123456789 } };
  const [dropped] = await readArchive(await writeArchive([[h]]));
  assert.deepEqual(dropped!.header.mtime, { sec: 1700000000, nsec: 0 });
  assert.equal(dropped!.header.pax.size, 0);
  const [kept] = await readArchive(await writeArchive([[{ ...h, atime: { sec: 5, nsec: 1 }, ctime: { sec: -2, nsec: 750000000 } }]], { paxNanoseconds: true }));
  assert.deepEqual(kept!.header.mtime, { sec: 1700000000, nsec: 123456789 });
  assert.equal(kept!.header.pax.get('mtime')!.toString(), '1700000000.123456789');
  assert.deepEqual(kept!.header.atime, { sec: 5, nsec: 1 });
  assert.deepEqual(kept!.header.ctime, { sec: -2, nsec: 750000000 });
});

test('non-ASCII names, link names, user and group names use PAX', async () => {
  const tar = await writeArchive([[{ name: 'dir/ünïcødé-文件', type: 'symlink', linkname: 'zïel', uname: 'jürgen', gname: 'x'.repeat(40) }]]);
  const [e] = await readArchive(tar);
  assert.equal(e!.header.name, 'dir/ünïcødé-文件');
  assert.equal(e!.header.linkname, 'zïel');
  assert.equal(e!.header.uname, 'jürgen');
  assert.equal(e!.header.gname, 'x'.repeat(40));
  assert.deepEqual([...e!.header.pax.keys()].sort(), ['gname', 'linkpath', 'path', 'uname']);
  // the PAX header is deterministic and Go-style named
  assert.equal(tar.subarray(0, 23).toString('latin1'), 'dir/PaxHeaders.0/ncd-\0\0');
});

test('clampMtime applies SOURCE_DATE_EPOCH semantics', async () => {
  const tar = await writeArchive(
    [
      [{ name: 'old', mtime: 1000 }],
      [{ name: 'new', mtime: 2000 }],
      [{ name: 'same-ns', mtime: { sec: 1500, nsec: 5 } }],
      [{ name: 'before-ns', mtime: { sec: 1499, nsec: 5 } }],
    ],
    { clampMtime: 1500, paxNanoseconds: true },
  );
  const back = await readArchive(tar);
  assert.deepEqual(back.map((b) => b.header.mtime), [
    { sec: 1000, nsec: 0 },
    { sec: 1500, nsec: 0 },
    { sec: 1500, nsec: 0 },
    { sec: 1499, nsec: 5 },
  ]);
});

test('output is deterministic and byte-stable', async () => {
  const mk = (): Promise<Buffer> =>
    writeArchive([
      [{ name: 'a', mtime: 1, xattrs: new Map([['user.b', Buffer.from('2')], ['user.a', Buffer.from('1')]]) }, Buffer.from('x')],
      [{ name: 'b'.repeat(200), mtime: 2 }],
    ]);
  const a = await mk();
  const b = await mk();
  assert.deepEqual(a, b);
  // exact header bytes for a simple entry (fields, magic, checksum format)
  const { blocks } = encodeHeader({ name: 'hello.txt', mode: 0o644, uid: 1, gid: 2, size: 5, mtime: 1700000000, uname: 'u', gname: 'g' });
  assert.equal(blocks.length, 512);
  const s = blocks.toString('latin1');
  assert.equal(s.slice(100, 157), '0000644\x000000001\x000000002\x0000000000005\x0014524770400\x00' + s.slice(148, 156) + '0');
  assert.match(s.slice(148, 156), /^[0-7]{6}\x00 $/);
  assert.equal(s.slice(257, 265), 'ustar\x0000');
  // records sorted by key: user.a before user.b
  assert.ok(a.indexOf('SCHILY.xattr.user.a') < a.indexOf('SCHILY.xattr.user.b'));
  // the archive ends with exactly two zero blocks
  assert.equal(a.subarray(a.length - 1024).every((x) => x === 0), true);
});

test('writer rejects a body whose size differs from header.size', async () => {
  const short = new TarWriter();
  let emitted: unknown = null;
  short.on('error', (e) => {
    emitted = e; // the stream is destroyed with the same error
  });
  short.resume();
  await assert.rejects(short.add({ name: 'f', size: 10 }, Buffer.from('abc')), (e: unknown) => e instanceof InvalidArgumentError && /body of "f" is 3 bytes but the header says 10/.test(e.message));
  await assert.rejects(short.add({ name: 'g' }, Buffer.alloc(0)), InvalidArgumentError, 'writer is broken after a failure');
  await sleep(1);
  assert.ok(emitted instanceof InvalidArgumentError);

  const long = new TarWriter();
  long.on('error', () => undefined); // destroyed with the error; we assert on the promise
  long.resume();
  async function* gen(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(6);
    yield Buffer.alloc(6);
  }
  await assert.rejects(long.add({ name: 'f', size: 10 }, gen()), /at least 12 bytes but the header says 10/);

  const streamShort = new TarWriter();
  streamShort.on('error', () => undefined);
  streamShort.resume();
  await assert.rejects(streamShort.add({ name: 'f', size: 10 }, (async function* () {})()), /body of "f" is 0 bytes but the header says 10/);

  const dirBody = new TarWriter();
  dirBody.on('error', () => undefined);
  dirBody.resume();
  await assert.rejects(dirBody.add({ name: 'd', type: 'dir' }, Buffer.from('x')), /1 bytes but the header says 0/);
  await assert.rejects(new TarWriter().add({ name: 'f' }, (async function* () {})()), /size of "f" is required/);
  await assert.rejects(new TarWriter().add({ name: 'l', type: 'symlink' }), /no link name/);
  await assert.rejects(new TarWriter().add({ name: '' }), /name is empty/);
  await assert.rejects(new TarWriter().add({ name: 'a\0b' }), /NUL/);
  await assert.rejects(new TarWriter().add({ name: 'x', uid: -1 }), /invalid uid/);
});

test('writer: add after finish and double finish are errors', async () => {
  const w = new TarWriter();
  w.resume();
  await w.finish();
  await assert.rejects(w.add({ name: 'x' }), PreconditionError);
  await assert.rejects(w.finish(), PreconditionError);
});

test('writer applies backpressure: add() waits until the consumer reads', async () => {
  const w = new TarWriter({ highWaterMark: 1024 });
  const body = Buffer.alloc(1024 * 1024, 1);
  let resolved = false;
  const p = w.add({ name: 'big' }, body).then(() => {
    resolved = true;
  });
  await sleep(20);
  assert.equal(resolved, false, 'nobody reads: the add must not complete');
  let total = 0;
  const sink = new Writable({
    highWaterMark: 1024,
    write(c: Buffer, _e, cb) {
      total += c.length;
      setImmediate(cb);
    },
  });
  const done = pipeline(w, sink);
  await p;
  await w.finish();
  await done;
  assert.equal(total, 512 + 1024 * 1024 + 1024);
  assert.equal(w.bytesWritten, total);
});

test('writer streams AsyncIterable bodies in order and concurrent add() calls are serialised', async () => {
  const w = new TarWriter();
  const out: Buffer[] = [];
  const reading = (async () => {
    for await (const c of w) out.push(c as Buffer);
  })();
  async function* slow(s: string): AsyncGenerator<Buffer> {
    for (const ch of s) {
      await sleep(1);
      yield Buffer.from(ch);
    }
  }
  await Promise.all([w.add({ name: 'one', size: 3 }, slow('abc')), w.add({ name: 'two', size: 2 }, slow('de')), w.finish()]);
  await reading;
  const back = await readArchive([Buffer.concat(out)]);
  assert.deepEqual(back.map((b) => [b.header.name, b.body.toString()]), [['one', 'abc'], ['two', 'de']]);
});

test('reader: offsets, bytesRead, summary, trailing padding and raw headers', async () => {
  const tar = await writeArchive([
    [{ name: 'a' }, Buffer.from('12345')],
    [{ name: 'p'.repeat(300) }, Buffer.from('x')],
  ]);
  const padded = Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
  const r = new TarReader(chunked(padded, 700), { keepRawHeaders: true });
  const seen: Array<[number, number, number]> = [];
  for await (const e of r) {
    seen.push([e.headerOffset, e.dataOffset, e.rawHeader!.length]);
    assert.deepEqual(e.rawHeader, padded.subarray(e.headerOffset, e.dataOffset));
  }
  assert.deepEqual(seen, [
    [0, 512, 512],
    [1024, 2560, 1536],
  ]);
  assert.equal(r.complete, true);
  assert.equal(r.summary.entries, 2);
  assert.equal(r.summary.endOffset, 3072);
  assert.equal(r.summary.bytesRead, padded.length);
  assert.equal(r.summary.trailingBytes, padded.length - 3072 - 1024);
  // drainTrailing: false stops at the end marker
  const gen = readTar([padded], { drainTrailing: false });
  let res = await gen.next();
  while (!res.done) res = await gen.next();
  assert.equal(res.value.bytesRead, 3072 + 1024);
  assert.equal(res.value.trailingBytes, 0);
});

test('reader: bodies skipped automatically, partially read, or read via stream()', async () => {
  const big = Buffer.alloc(100_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const tar = await writeArchive([
    [{ name: 'skip-me' }, big],
    [{ name: 'partial' }, big],
    [{ name: 'streamed' }, big],
    [{ name: 'last' }, Buffer.from('end')],
  ]);
  const names: string[] = [];
  let streamed: Buffer | null = null;
  let lastBody = '';
  for await (const e of readTar(chunked(tar, 4096))) {
    names.push(e.header.name);
    if (e.header.name === 'partial') {
      const it = e.body[Symbol.asyncIterator]();
      const first = await it.next();
      assert.ok(!first.done && first.value.length > 0);
    }
    if (e.header.name === 'streamed') {
      const parts: Buffer[] = [];
      await pipeline(e.body.stream(), new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
      streamed = Buffer.concat(parts);
    }
    if (e.header.name === 'last') lastBody = (await e.body.bytes()).toString();
  }
  assert.deepEqual(names, ['skip-me', 'partial', 'streamed', 'last']);
  assert.deepEqual(streamed, big);
  assert.equal(lastBody, 'end');
});

test('reader: reading a body after moving on is an error; a stale stream() ends quietly', async () => {
  const tar = await writeArchive([
    [{ name: 'a' }, Buffer.alloc(5000, 1)],
    [{ name: 'b' }, Buffer.alloc(10, 2)],
  ]);
  const it = readTar(chunked(tar, 1000));
  const a = (await it.next()).value as { body: { read(): Promise<Buffer | null>; stream(): Readable } };
  const s = a.body.stream();
  let closed = false;
  s.on('close', () => {
    closed = true;
  });
  const b = await it.next();
  assert.equal(b.done, false);
  await assert.rejects(a.body.read(), (e: unknown) => e instanceof PreconditionError && /body of "a" read after the reader moved past it/.test(e.message));
  await sleep(1);
  assert.equal(closed, true);
  await it.return(undefined as never);
});

test('reader: breaking out of the loop closes the source stream', async () => {
  const tar = await writeArchive([[{ name: 'a' }, Buffer.alloc(10)], [{ name: 'b' }]]);
  const src = Readable.from(chunked(tar, 100));
  for await (const e of readTar(src)) {
    assert.equal(e.header.name, 'a');
    break;
  }
  await sleep(1);
  assert.equal(src.destroyed, true);
});

test('LIBARCHIVE.xattr records (bsdtar) are decoded; extra PAX records pass through', async () => {
  const val = Buffer.from([0, 0xff, 0x80, 0x0a]);
  const tar = await writeArchive([
    [{ name: 'f', pax: new Map<string, Uint8Array | string>([['LIBARCHIVE.xattr.user.a%3Db', val.toString('base64')], ['comment', 'hi']]) }],
  ]);
  const [e] = await readArchive(tar);
  assert.deepEqual(e!.header.xattrs.get('user.a=b'), val);
  assert.equal(e!.header.pax.get('comment')!.toString(), 'hi');
});

test('header-only types ignore their size field, as Go archive/tar does', async () => {
  const tar = Buffer.from(await writeArchive([[{ name: 'd/', type: 'dir' }], [{ name: 'f' }, Buffer.from('data')]]));
  tar.write('00000001750\0', 124, 'latin1'); // the dir claims 1000 bytes
  const { writeChecksum } = await import('./fields.js');
  writeChecksum(tar.subarray(0, 512));
  const back = await readArchive(tar);
  assert.deepEqual(back.map((b) => [b.header.name, b.header.size, b.body.toString()]), [['d/', 0, ''], ['f', 4, 'data']]);
});

test('sizes beyond 8 GiB use a PAX size record (header only, data truncated on purpose)', async () => {
  const size = 2 ** 34 + 3;
  const { blocks } = encodeHeader({ name: 'huge', size });
  const paxData = blocks.subarray(512, blocks.length - 512).toString('latin1');
  assert.match(paxData, /^\d+ size=17179869187\n/);
  assert.equal(blocks.subarray(blocks.length - 512 + 124, blocks.length - 512 + 136).toString('latin1'), '00000000000\0');
  const it = readTar([blocks, Buffer.alloc(1000, 1)]);
  const first = await it.next();
  assert.equal(first.done, false);
  const e = first.value as { header: { size: number }; body: AsyncIterable<Buffer> };
  assert.equal(e.header.size, size);
  await assert.rejects(
    (async () => {
      for await (const c of e.body) void c;
    })(),
    /truncated archive: entry "huge" declares 17179869187 bytes at offset 1536 but the data ends after 1000/,
  );
});

test('non-UTF-8 names keep their exact bytes (nameBytes/linknameBytes) through writer and reader', async () => {
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in latin1
  const longRaw = Buffer.concat([Buffer.from('d/'.repeat(60)), latin1]);
  const tar = await writeArchive([
    [{ name: 'ignored', nameBytes: latin1 }, Buffer.from('1')],
    [{ name: 'ignored', nameBytes: longRaw, type: 'symlink', linkname: 'x', linknameBytes: latin1 }],
    [{ name: 'café-utf8' }],
  ]);
  const back = await readArchive(tar);
  assert.equal(back[0]!.header.name, 'caf\ufffd');
  assert.deepEqual(back[0]!.header.nameBytes, latin1);
  assert.deepEqual(back[1]!.header.nameBytes, longRaw);
  assert.deepEqual(back[1]!.header.linknameBytes, latin1);
  assert.equal(back[2]!.header.name, 'café-utf8');
  assert.equal(back[2]!.header.nameBytes, undefined, 'valid UTF-8 needs no raw bytes');
  // re-encoding from the read header reproduces the archive byte for byte
  const again = await writeArchive(back.map((b) => [{ ...b.header, xattrs: b.header.xattrs, pax: undefined }, b.body]));
  assert.deepEqual(again, tar);
});
