/**
 * tar-split: layers applied with a recorder on the reader's tap, in both whiteout modes,
 * re-emitted from their directory and record byte for byte (PAX, global PAX, GNU long
 * names and links, every entry type, whiteouts and opaque markers, empty files, a 0-byte
 * layer, big files, missing end blocks, extra zero blocks, trailing bytes); changed,
 * truncated and missing files and damaged records caught with one-line errors; layers the
 * files cannot reproduce flagged. Run as root (devices, ownership, trusted.* xattrs).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';

import { digestOf, type Digest } from '../digest/digest.js';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';
import { BLOCK } from '../tar/fields.js';
import { FileSpanBytes, readTar } from '../tar/index.js';
import { paxGlobalHeader, run } from '../tar/test-helpers.js';
import { applyLayer, type WhiteoutMode } from './apply.js';
import { chunks, collect, gnuLongHeader, layer, pattern, tempDir } from './apply-fixtures.test-helpers.js';
import { reassembleTar, TarSplitRecorder, TARSPLIT_MAGIC, type TarSplitResult } from './tarsplit.js';

const MODES: WhiteoutMode[] = ['overlay', 'oci-remove'];
const T1 = { sec: 1700000000, nsec: 123456789 };

interface Recorded {
  result: TarSplitResult;
  record: Buffer;
  diffId: Digest;
}

/** Apply `tar` into `dir` with a recorder on the tap; returns the recorder's result and the record. */
async function applyRecorded(dir: string, tar: Buffer, mode: WhiteoutMode, follow: 'never' | 'inside' = 'never'): Promise<Recorded> {
  let record: Buffer = Buffer.alloc(0);
  const rec = new TarSplitRecorder(async (s) => {
    record = await collect(s);
  }, { what: 'layer test', dir, followSymlinks: follow });
  const diffId = digestOf(tar);
  try {
    await applyLayer({ dir, whiteoutMode: mode }, chunks(tar, 777), { tap: rec.tap, expectedDiffId: diffId, followSymlinks: follow });
  } catch (e) {
    rec.abort(e);
    throw e;
  }
  const result = await rec.finish();
  return { result, record, diffId };
}

function reemit(r: Recorded, dir: string): Promise<Buffer> {
  return collect(reassembleTar([r.record], dir, { expectedDiffId: r.diffId, what: `layer ${r.diffId}` }));
}

/**
 * Apply, record, re-emit in both modes (into a fresh directory each; `prepare` makes the
 * parent's content for 'oci-remove', which applies onto a copy of it); the re-emitted tar
 * must be the input.
 */
async function roundTrip(tar: Buffer, prepare: (dir: string) => void = () => undefined): Promise<Recorded[]> {
  const out: Recorded[] = [];
  for (const mode of MODES) {
    const t = tempDir();
    try {
      if (mode === 'oci-remove') prepare(t.path);
      const r = await applyRecorded(t.path, tar, mode);
      assert.equal(r.result.reproducible, true, `${mode}: ${r.result.reason ?? ''}`);
      assert.equal(r.result.tarSize, tar.length);
      const back = await reemit(r, t.path);
      assert.equal(digestOf(back), digestOf(tar), `${mode}: same sha256`);
      assert.ok(back.equals(tar), `${mode}: byte for byte`);
      out.push(r);
    } finally {
      t.cleanup();
    }
  }
  return out;
}

/** A lower tree for whiteouts to act on (oci-remove applies onto a copy of the parent). */
function lower(dir: string): void {
  mkdirSync(join(dir, 'opq/sub'), { recursive: true });
  writeFileSync(join(dir, 'opq/old'), 'old');
  writeFileSync(join(dir, 'gone'), 'gone');
  mkdirSync(join(dir, 'gone-dir/deep'), { recursive: true });
  writeFileSync(join(dir, 'gone-dir/deep/x'), 'x');
}

async function everyKind(): Promise<Buffer> {
  const big = pattern(3 * 1024 * 1024 + 17, 1);
  const tar = await layer([
    [{ name: './', type: 'dir', mode: 0o755, mtime: T1 }],
    [{ name: 'bin/', type: 'dir', mode: 0o755, uid: 3, gid: 4, mtime: T1 }],
    [{ name: 'bin/tool', mode: 0o4755, mtime: T1, xattrs: new Map([['user.k', Buffer.from('v')], ['security.capability', Buffer.from([1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]]) }, pattern(5000, 2)],
    [{ name: 'bin/empty' }, Buffer.alloc(0)],
    [{ name: 'bin/one' }, Buffer.from('1')],
    [{ name: 'bin/511' }, pattern(511, 3)],
    [{ name: 'bin/512' }, pattern(512, 4)],
    [{ name: 'bin/513' }, pattern(513, 5)],
    [{ name: 'bin/big' }, big],
    [{ name: `deep/${'d'.repeat(120)}/${'long-name-'.repeat(15)}`, mtime: T1 }, pattern(700, 6)],
    [{ name: 'bin/hard', type: 'hardlink', linkname: 'bin/tool' }],
    [{ name: 'bin/sym', type: 'symlink', linkname: 'tool' }],
    [{ name: 'bin/longsym', type: 'symlink', linkname: `../${'t'.repeat(200)}` }],
    [{ name: 'dev/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 }],
    [{ name: 'dev/loop0', type: 'block', mode: 0o660, devmajor: 7, devminor: 0 }],
    [{ name: 'dev/fifo', type: 'fifo', mode: 0o600 }],
    [{ name: 'ünïcode/名前.txt' }, Buffer.from('utf-8 names')],
    [{ name: '.wh.gone' }],
    [{ name: '.wh.gone-dir' }],
    [{ name: 'opq/.wh..wh..opq' }],
    [{ name: 'opq/new' }, Buffer.from('new')],
    [{ name: 'bin/.wh.with-a-body' }, Buffer.from('whiteout bodies are never read from disk')],
    [{ name: 'aufs/.wh..wh.plnk' }],
  ]);
  // GNU long name and long link entries (as GNU tar writes them), before the end blocks,
  // and a PAX global header at the start.
  const gnuName = Buffer.from(`gnu/${'g'.repeat(150)}`);
  const [gnuFile] = await Promise.all([layer([[{ name: 'gnu/placeholder' }, pattern(900, 7)]])]);
  const fileHeader = Buffer.from(gnuFile!.subarray(0, BLOCK));
  const gnuLink = await layer([[{ name: 'gnu/link-placeholder', type: 'hardlink', linkname: 'bin/one' }]]);
  const gnu = Buffer.concat([
    gnuLongHeader('L', gnuName),
    fileHeader,
    gnuFile!.subarray(BLOCK, BLOCK + 1024),
    gnuLongHeader('L', Buffer.from(`gnu/${'h'.repeat(150)}`)),
    gnuLongHeader('K', Buffer.from(`${'./'.repeat(60)}bin/one`)),
    gnuLink.subarray(0, BLOCK),
  ]);
  return Buffer.concat([paxGlobalHeader(new Map([['comment', 'global record']])), tar.subarray(0, tar.length - 2 * BLOCK), gnu, Buffer.alloc(2 * BLOCK)]);
}

test('every kind of entry re-emits byte for byte from the files and the record, in both whiteout modes', async () => {
  const tar = await everyKind();
  const [overlay, native] = await roundTrip(tar, lower);
  for (const r of [overlay!, native!]) {
    assert.equal(r.result.files, 10, 'regular files with a body are referenced (not the whiteout with a body)');
    assert.ok(r.result.fileBytes > 3 * 1024 * 1024);
    assert.ok(r.record.length < 16 * 1024, `the record holds headers, not bodies (${r.record.length} bytes)`);
    assert.ok(gunzipSync(r.record).subarray(0, TARSPLIT_MAGIC.length).equals(TARSPLIT_MAGIC));
  }
});

test('odd archive shapes: empty layer, only end blocks, no end blocks, no padding, extra zero blocks, trailing bytes', async () => {
  const full = await layer([[{ name: 'a' }, pattern(700, 1)], [{ name: 'b' }, pattern(10, 2)]]);
  const endOfData = full.length - 2 * BLOCK - (BLOCK - 10);
  const shapes: Array<[string, Buffer]> = [
    ['a 0-byte layer', Buffer.alloc(0)],
    ['only the end blocks', Buffer.alloc(2 * BLOCK)],
    ['no end blocks', full.subarray(0, full.length - 2 * BLOCK)],
    ['no end blocks nor padding', full.subarray(0, endOfData)],
    ['extra zero blocks', Buffer.concat([full, Buffer.alloc(9 * BLOCK)])],
    ['bytes after the end marker', Buffer.concat([full, Buffer.from('junk after the end')])],
    ['one empty file only', await layer([[{ name: 'e' }, Buffer.alloc(0)]])],
  ];
  for (const [what, tar] of shapes) {
    await assert.doesNotReject(roundTrip(tar), what);
  }
});

test('a layer written by GNU tar (long names in both GNU and PAX formats, 10 KiB record padding) re-emits exactly', async () => {
  const t = tempDir();
  try {
    const src = join(t.path, 'src');
    const deep = join(src, 'x'.repeat(100), 'y'.repeat(100));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'file'), pattern(40000, 9));
    writeFileSync(join(src, 'small'), 'small');
    symlinkSync(`../${'z'.repeat(150)}`, join(src, 'longlink'));
    for (const format of ['gnu', 'pax']) {
      const tar = run('tar', ['--format', format, '--sort=name', '--numeric-owner', '-C', src, '-cf', '-', '.']);
      const [r] = await roundTrip(tar);
      assert.equal(r!.result.files, 2);
    }
  } finally {
    t.cleanup();
  }
});

test('a file changed, truncated, replaced or removed after unpacking is named in a one-line error', async () => {
  const tar = await layer([
    [{ name: 'usr/bin/x' }, pattern(2 * 1024 * 1024 + 5, 3)],
    [{ name: 'usr/bin/y' }, Buffer.from('yyyy')],
  ]);
  const cases: Array<[string, (dir: string) => void, RegExp]> = [
    ['one byte changed', (d) => {
      const fd = openSync(join(d, 'usr/bin/x'), 'r+');
      writeSync(fd, Buffer.from([0x55 ^ readFileSync(join(d, 'usr/bin/x'))[1234567]!]), 0, 1, 1234567);
      closeSync(fd);
    }, /^layer sha256:[0-9a-f]{64}: re-emitted tar does not match its diffID: file "usr\/bin\/x" changed since it was unpacked$/],
    ['truncated', (d) => truncateSync(join(d, 'usr/bin/y'), 2), /: re-emitted tar does not match its diffID: file "usr\/bin\/y" changed since it was unpacked \(2 bytes, expected 4\)$/],
    ['removed', (d) => rmSync(join(d, 'usr/bin/y')), /: re-emitted tar does not match its diffID: file "usr\/bin\/y" is missing$/],
    ['replaced by a symlink', (d) => {
      rmSync(join(d, 'usr/bin/y'));
      symlinkSync('x', join(d, 'usr/bin/y'));
    }, /: file "usr\/bin\/y" is a symlink or lies below one$/],
    ['its directory replaced by a symlink', (d) => {
      renameSync(join(d, 'usr/bin'), join(d, 'usr/elsewhere'));
      symlinkSync('elsewhere', join(d, 'usr/bin'));
    }, /: file "usr\/bin\/x" is a symlink or lies below one$/],
    ['replaced by a directory', (d) => {
      rmSync(join(d, 'usr/bin/y'));
      mkdirSync(join(d, 'usr/bin/y'));
    }, /: file "usr\/bin\/y" is no longer a regular file$/],
  ];
  for (const mode of MODES) {
    for (const [what, damage, expected] of cases) {
      const t = tempDir();
      try {
        const r = await applyRecorded(t.path, tar, mode);
        assert.ok((await reemit(r, t.path)).equals(tar), 'intact before the damage');
        damage(t.path);
        const err = await reemit(r, t.path).then(
          () => assert.fail(`${mode}, ${what}: re-emitted without an error`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof DataCorruptError, `${mode}, ${what}: ${String(err)}`);
        assert.match(err.message, expected, `${mode}, ${what}`);
        assert.ok(!err.message.includes('\n'), 'one line');
      } finally {
        t.cleanup();
      }
    }
  }
});

test('a damaged record or a wrong diffID is caught: the stream errors and names the layer', async () => {
  const tar = await layer([[{ name: 'f' }, pattern(3000, 4)], [{ name: 'dir/', type: 'dir' }]]);
  const t = tempDir();
  try {
    const r = await applyRecorded(t.path, tar, 'oci-remove');
    const fds = readdirSync('/proc/self/fd').length;
    const plain = gunzipSync(r.record);
    const at = plain.indexOf(Buffer.from('dir/'));
    assert.ok(at > 0);
    const tampered = Buffer.from(plain);
    tampered[at] = 'e'.charCodeAt(0); // a header byte: only the final digest can tell
    const attempt = (record: Buffer, diffId = r.diffId): Promise<unknown> =>
      collect(reassembleTar([record], t.path, { expectedDiffId: diffId, what: 'layer L' })).then(
        () => assert.fail('re-emitted without an error'),
        (e: unknown) => e,
      );
    const cases: Array<[string, Buffer, RegExp, Digest?]> = [
      ['a changed header byte', gzipSync(tampered), /^layer L: re-emitted tar does not match its diffID \(got sha256:[0-9a-f]{64}\)$/],
      ['a wrong diffID', r.record, /^layer L: re-emitted tar does not match its diffID \(got sha256:/, digestOf('other')],
      ['a truncated record', r.record.subarray(0, r.record.length - 10), /^layer L: tar-split record is corrupt: /],
      ['no END record', gzipSync(plain.subarray(0, plain.lastIndexOf(3))), /^layer L: tar-split record is corrupt: it ends inside/],
      ['data after END', gzipSync(Buffer.concat([plain, Buffer.from([1])])), /^layer L: tar-split record is corrupt: data after the end record$/],
      ['another version', gzipSync(Buffer.concat([Buffer.from('CTSPLIT\x02'), plain.subarray(8)])), /^layer L: tar-split record is corrupt: not a tar-split record of version 1$/],
      ['not gzip', plain, /^layer L: tar-split record is corrupt: /],
    ];
    for (const [what, record, expected, diffId] of cases) {
      const err = await attempt(record, diffId);
      assert.ok(err instanceof DataCorruptError, `${what}: ${String(err)}`);
      assert.match(err.message, expected, what);
      assert.ok(!err.message.includes('\n'), `${what}: one line`);
    }
    // a record that points outside the layer directory (a file is there to be found)
    const outside = `${t.path}-outside`;
    writeFileSync(outside, 'x');
    try {
      const path = Buffer.from(`../${outside.split('/').pop()!}`);
      const evil = Buffer.concat([TARSPLIT_MAGIC, Buffer.from([2, 1, path.length]), path, Buffer.alloc(4), Buffer.from([3, 1, 0])]);
      const err = await attempt(gzipSync(evil));
      assert.ok(err instanceof DataCorruptError);
      assert.match(err.message, /^layer L: re-emitted tar does not match its diffID: file "\.\.\/[^"]+" is not beneath the layer directory/);
    } finally {
      rmSync(outside);
    }
    const unknownTag = await attempt(gzipSync(Buffer.concat([TARSPLIT_MAGIC, Buffer.from([9])])));
    assert.match(String(unknownTag), /tar-split record is corrupt: unknown record tag 0x09$/);
    // the record's own source failing is passed on as it is, not called corruption
    const broken = await collect(reassembleTar((async function* () {
      yield r.record.subarray(0, 10);
      throw new InvalidArgumentError('record source broke');
    })(), t.path, { expectedDiffId: r.diffId })).then(() => null, (e: unknown) => e);
    assert.ok(broken instanceof InvalidArgumentError, String(broken));
    assert.equal(readdirSync('/proc/self/fd').length, fds, 'the failed attempts closed every fd they opened');
    // the intact record still works; a consumer that stops early leaves nothing open
    assert.ok((await reemit(r, t.path)).equals(tar));
    let k = 0;
    for await (const chunk of reassembleTar([r.record], t.path, { expectedDiffId: r.diffId })) {
      if (++k === 2) {
        assert.equal(chunk.length, 3000, 'stopped inside the body of f, read from its file');
        break;
      }
    }
    assert.equal(readdirSync('/proc/self/fd').length, fds, 'an early stop closed every fd');
  } finally {
    t.cleanup();
  }
});

test('layers their files cannot reproduce are flagged with the reason', async () => {
  const cases: Array<[string, Array<Parameters<typeof layer>[0][number]>, RegExp]> = [
    ['the same file twice', [[{ name: 'a/f' }, Buffer.from('one')], [{ name: 'a/f' }, Buffer.from('two')]], /^file "a\/f" appears twice in the layer$/],
    ['the same file, the second one empty', [[{ name: 'f' }, Buffer.from('one')], [{ name: 'f' }, Buffer.alloc(0)]], /^file "f" appears twice/],
    ['a file replaced by a symlink', [[{ name: 'f' }, Buffer.from('x')], [{ name: 'f', type: 'symlink', linkname: 'g' }]], /^file "f" is replaced by a later entry$/],
    ['a file replaced by a hard link', [[{ name: 'f' }, Buffer.from('x')], [{ name: 'g' }, Buffer.from('y')], [{ name: 'f', type: 'hardlink', linkname: 'g' }]], /^file "f" is replaced/],
    ['a file replaced by a directory', [[{ name: 'f' }, Buffer.from('x')], [{ name: 'f/', type: 'dir' }]], /^file "f" is replaced/],
    ['a directory of files replaced by a symlink', [[{ name: 'd/sub/f' }, Buffer.from('x')], [{ name: 'd', type: 'symlink', linkname: 'e' }]], /^directory "d", which holds files of the layer, is replaced by a later entry$/],
    ['a file named differently but the same after cleaning', [[{ name: './x//y' }, Buffer.from('1')], [{ name: 'x/y' }, Buffer.from('2')]], /^file "x\/y" appears twice/],
  ];
  for (const [what, entries, reason] of cases) {
    const tar = await layer(entries);
    for (const mode of MODES) {
      const t = tempDir();
      try {
        const r = await applyRecorded(t.path, tar, mode);
        assert.equal(r.result.reproducible, false, `${what} (${mode})`);
        assert.match(r.result.reason ?? '', reason, `${what} (${mode})`);
        // and indeed re-emitting does not give the layer back
        await assert.rejects(reemit(r, t.path), DataCorruptError, `${what} (${mode})`);
      } finally {
        t.cleanup();
      }
    }
  }
  // not flagged: a directory entry again, a whiteout of the layer's own file, a hard link to it
  const fine = await layer([
    [{ name: 'd/', type: 'dir' }],
    [{ name: 'd/f' }, Buffer.from('mine')],
    [{ name: 'd/', type: 'dir', mode: 0o700 }],
    [{ name: 'd/.wh.f' }],
    [{ name: '.wh.d' }],
    [{ name: 'd/.wh..wh..opq' }],
    [{ name: 'h', type: 'hardlink', linkname: 'd/f' }],
  ]);
  await roundTrip(fine);
});

test("followSymlinks 'inside': entries written through a symlink make the layer unreproducible; others do not", async () => {
  const through = await layer([
    [{ name: 'usr/lib/', type: 'dir' }],
    [{ name: 'lib', type: 'symlink', linkname: 'usr/lib' }],
    [{ name: 'lib/x.so' }, Buffer.from('lands in usr/lib')],
  ]);
  const clean = await layer([
    [{ name: 'usr/lib/', type: 'dir' }],
    [{ name: 'lib', type: 'symlink', linkname: 'usr/lib' }],
    [{ name: 'usr/lib/x.so' }, Buffer.from('at its name')],
  ]);
  for (const mode of MODES) {
    const t = tempDir();
    const u = tempDir();
    try {
      const r = await applyRecorded(t.path, through, mode, 'inside');
      assert.equal(r.result.reproducible, false);
      assert.match(r.result.reason ?? '', /^"lib" goes through a symlink, so entries below it were not written at their names$/);
      const ok = await applyRecorded(u.path, clean, mode, 'inside');
      assert.equal(ok.result.reproducible, true, ok.result.reason);
      assert.ok((await reemit(ok, u.path)).equals(clean));
    } finally {
      t.cleanup();
      u.cleanup();
    }
  }
  assert.throws(() => new TarSplitRecorder(async () => undefined, { followSymlinks: 'inside' }), InvalidArgumentError);
});

test('an aborted recording ends the sink with the error; a failing sink fails the recording', async () => {
  let sinkError: unknown;
  const rec = new TarSplitRecorder(async (s) => {
    try {
      await collect(s);
    } catch (e) {
      sinkError = e;
    }
  });
  const t = tempDir();
  try {
    const bad = (await layer([[{ name: 'cut' }, Buffer.from('ten bytes!')]])).subarray(0, BLOCK + 3); // body cut short
    await assert.rejects(applyLayer({ dir: t.path, whiteoutMode: 'oci-remove' }, chunks(bad), { tap: rec.tap }), DataCorruptError);
    rec.abort(new DataCorruptError('apply failed'));
    await new Promise((r) => setImmediate(r));
    assert.match(String(sinkError), /apply failed/);
    await assert.rejects(rec.finish(), /finished after it was aborted/);

    const failing = new TarSplitRecorder(async () => {
      throw new InvalidArgumentError('disk full');
    });
    const big = await layer([[{ name: 'big' }, pattern(4 * 1024 * 1024, 8)], [{ name: 'more/' , type: 'dir' }]]);
    const u = tempDir();
    try {
      await assert.rejects(
        (async () => {
          await applyLayer({ dir: u.path, whiteoutMode: 'oci-remove' }, chunks(big, 65536), { tap: failing.tap });
          await failing.finish();
        })(),
        /disk full/,
      );
    } finally {
      failing.abort();
      u.cleanup();
    }
  } finally {
    t.cleanup();
  }
});

test('from a span of a file: a body taken whole is recorded without a crc, one begun as bytes and skipped by position keeps its crc; both re-emit byte for byte', async () => {
  const t = tempDir();
  try {
    const whole = pattern(3 << 20, 31);
    const partly = pattern(2 << 20, 32);
    const tar = await layer([[{ name: 'whole' }, whole], [{ name: 'partly' }, partly]]);
    const file = join(t.path, 'layer.tar');
    writeFileSync(file, tar);
    const dir = join(t.path, 'dir');
    mkdirSync(dir);
    // the files are where the record says (as an applier would have put them)
    writeFileSync(join(dir, 'whole'), whole);
    writeFileSync(join(dir, 'partly'), partly);
    let record: Buffer = Buffer.alloc(0);
    const rec = new TarSplitRecorder(async (s) => {
      record = await collect(s);
    }, { what: 'layer test', dir });
    const fd = openSync(file, 'r');
    try {
      for await (const e of readTar(new FileSpanBytes(fd, 0, tar.length), { tap: rec.tap })) {
        if (e.header.name === 'whole') assert.ok((await e.body.span()) !== null);
        else await e.body.read(); // the first chunk as bytes; the reader skips the rest by position
      }
    } finally {
      closeSync(fd);
    }
    assert.equal((await rec.finish()).reproducible, true);
    assert.ok((await collect(reassembleTar([record], dir, { expectedDiffId: digestOf(tar), what: 'layer test' }))).equals(tar));
    // the partly read file is checked by its crc (named); the whole one only by the diffID
    const fdw = openSync(join(dir, 'partly'), 'r+');
    writeSync(fdw, Buffer.from('!'), 0, 1, 5);
    closeSync(fdw);
    await assert.rejects(collect(reassembleTar([record], dir, { expectedDiffId: digestOf(tar), what: 'layer test' })), /file "partly" changed since it was unpacked/);
    writeFileSync(join(dir, 'partly'), partly);
    const fdx = openSync(join(dir, 'whole'), 'r+');
    writeSync(fdx, Buffer.from('!'), 0, 1, 5);
    closeSync(fdx);
    await assert.rejects(collect(reassembleTar([record], dir, { expectedDiffId: digestOf(tar), what: 'layer test' })), /^DataCorruptError: layer test: re-emitted tar does not match its diffID \(got sha256:/);
  } finally {
    t.cleanup();
  }
});
