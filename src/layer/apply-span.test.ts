/**
 * A layer applied from a span of a file (FileSpanBytes: a member of an archive file, a tar
 * given to import) gives what the same bytes give as a stream: the same tree, digests and
 * tar-split record, big bodies copied in the kernel; errors stay the same one-liners. Run as
 * root (ownership, trusted.* xattrs).
 */
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { digestOf, type Digest } from '../digest/digest.js';
import { DataCorruptError } from '../errors.js';
import { FileSpanBytes, type TarWriteHeader } from '../tar/index.js';
import { applyLayer, type ApplyResult, type WhiteoutMode } from './apply.js';
import { chunks, collect, comparable, layer, pattern, snapTree, tempDir } from './apply-fixtures.test-helpers.js';
import { reassembleTar, TarSplitRecorder } from './tarsplit.js';

const BIG = 5 << 20; // above the applier's whole-file limit: copied from the span
const T = { sec: 1700000000, nsec: 5 };

/** A layer with big files, a hard link, a whiteout; `dup`: one path given twice (the last stands; not reproducible). */
function sample(dup = false): Promise<Buffer> {
  const x = new Map([['user.note', Buffer.from('kept')]]);
  return layer([
    [{ name: 'etc/', type: 'dir', mode: 0o755, mtime: T }],
    [{ name: 'etc/small', mode: 0o640, uid: 7, gid: 8, mtime: T }, Buffer.from('small file\n')],
    [{ name: 'big', mode: 0o4755, uid: 1000, gid: 1000, mtime: T, xattrs: x }, pattern(BIG, 1)],
    [{ name: 'big-link', type: 'hardlink', linkname: 'big', mtime: T }],
    [{ name: 'etc/.wh.gone', mtime: T }, Buffer.alloc(0)],
    ...(dup ? [[{ name: 'again', mode: 0o600, mtime: T }, pattern(BIG + 3, 2)] as [TarWriteHeader, Buffer]] : []),
    [{ name: 'again', mode: 0o644, mtime: T }, pattern(BIG + 9, 3)],
    [{ name: 'empty', mtime: T }, Buffer.alloc(0)],
  ]);
}

interface Applied {
  reproducible: boolean;
  result: ApplyResult;
  record: Buffer;
  tree: ReturnType<typeof comparable>;
}

async function applyBoth(dir: string, source: AsyncIterable<Uint8Array> | FileSpanBytes, mode: WhiteoutMode, expectedDiffId: Digest): Promise<Applied> {
  let record: Buffer = Buffer.alloc(0);
  const rec = new TarSplitRecorder(async (s) => {
    record = await collect(s);
  }, { what: 'layer test', dir });
  let result: ApplyResult;
  try {
    result = await applyLayer({ dir, whiteoutMode: mode }, source, { tap: rec.tap, expectedDiffId });
  } catch (e) {
    rec.abort(e);
    throw e;
  }
  const { reproducible } = await rec.finish();
  const tree = comparable(snapTree(dir));
  // times the tar does not give: the root's, and an overlay whiteout device's (made now)
  for (const [path, e] of Object.entries(tree)) if (path === '.' || (e.type === 'char' && e.rdev === '0:0')) e.mtimeNs = 0n;
  return { reproducible, result, record, tree };
}

test('a layer applied from a span of a file: the same tree, digests and tar-split as from a stream, and it re-emits byte for byte', async () => {
  const t = tempDir();
  try {
    for (const dup of [false, true]) {
      const tar = await sample(dup);
      const diffId = digestOf(tar);
      const file = join(t.path, `archive-${dup}`);
      writeFileSync(file, Buffer.concat([Buffer.alloc(1234, 1), tar, Buffer.alloc(99, 2)]));
      const fd = openSync(file, 'r');
      try {
        for (const mode of ['overlay', 'oci-remove'] as const) {
          const what = `${mode}${dup ? ', a path given twice' : ''}`;
          const a = join(t.path, `stream-${mode}-${dup}`);
          const b = join(t.path, `span-${mode}-${dup}`);
          for (const d of [a, b]) mkdirSync(d);
          const s = await applyBoth(a, chunks(tar, 65536), mode, diffId);
          const f = await applyBoth(b, new FileSpanBytes(fd, 1234, tar.length), mode, diffId);
          assert.deepEqual(f.result, s.result, `${what}: same result`);
          assert.equal(f.result.diffId, diffId);
          assert.deepEqual(f.tree, s.tree, `${what}: same tree`);
          assert.equal(f.tree['big']!.sha, digestOf(pattern(BIG, 1)).slice(7));
          assert.equal(f.tree['big-link']!.linkGroup, 'big');
          assert.deepEqual(f.tree['big']!.xattrs, { 'user.note': Buffer.from('kept').toString('hex') });
          assert.equal(f.tree['big']!.mode, 0o4755, 'setuid kept after the copy (chown comes before chmod)');
          assert.equal(f.tree['again']!.size, BIG + 9, `${what}: the last one stands`);
          assert.equal(f.tree['again']!.sha, digestOf(pattern(BIG + 9, 3)).slice(7));
          assert.equal(f.reproducible, !dup);
          assert.equal(s.reproducible, !dup);
          assert.ok(f.record.length < s.record.length, `${what}: the big bodies copied from the span are recorded without a crc`);
          if (dup) continue;
          const back = await collect(reassembleTar([f.record], b, { expectedDiffId: diffId, what: 'layer test' }));
          assert.ok(back.equals(tar), `${what}: re-emitted byte for byte`);
          // a change to a big file (recorded without a crc) is still caught, by the diffID; a small one is named
          const big = join(b, 'big');
          const fd2 = openSync(big, 'r+');
          try {
            writeSync(fd2, Buffer.from('X'), 0, 1, BIG - 1);
          } finally {
            closeSync(fd2);
          }
          await assert.rejects(collect(reassembleTar([f.record], b, { expectedDiffId: diffId, what: 'layer test' })), (e: unknown) => e instanceof DataCorruptError && /^layer test: re-emitted tar does not match its diffID \(got sha256:/.test(e.message));
          writeFileSync(join(b, 'etc/small'), 'SMALL FILE\n');
          await assert.rejects(collect(reassembleTar([f.record], b, { expectedDiffId: diffId, what: 'layer test' })), /file "etc\/small" changed since it was unpacked/);
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    t.cleanup();
  }
});

test('from a span of a file: digest and size mismatches, a compressed span, and a file that ended early', async () => {
  const tar = await sample();
  const t = tempDir();
  try {
    const gz = gzipSync(tar);
    writeFileSync(join(t.path, 'raw'), tar);
    writeFileSync(join(t.path, 'gz'), gz);
    const raw = openSync(join(t.path, 'raw'), 'r');
    const zfd = openSync(join(t.path, 'gz'), 'r');
    let n = 0;
    const fresh = (): string => {
      const d = join(t.path, `out-${n++}`);
      mkdirSync(d);
      return d;
    };
    try {
      const wrong = `sha256:${'0'.repeat(64)}` as Digest;
      await assert.rejects(applyLayer({ dir: fresh(), whiteoutMode: 'overlay' }, new FileSpanBytes(raw, 0, tar.length), { expectedDigest: wrong, what: 'layer X' }), (e: unknown) => e instanceof DataCorruptError && e.message === `layer X: digest mismatch: got ${digestOf(tar)}, expected ${wrong}`);
      await assert.rejects(applyLayer({ dir: fresh(), whiteoutMode: 'overlay' }, new FileSpanBytes(raw, 0, tar.length), { expectedSize: tar.length + 1, what: 'layer X' }), /^DataCorruptError: layer X: size mismatch: got \d+ bytes, expected \d+$/);
      // compressed: streamed through gunzip as before
      const z = await applyLayer({ dir: fresh(), whiteoutMode: 'overlay' }, new FileSpanBytes(zfd, 0, gz.length), { expectedDiffId: digestOf(tar) });
      assert.equal(z.compression, 'gzip');
      assert.equal(z.digest, digestOf(gz));
      // the span is longer than the file now is (it was cut while being read)
      await assert.rejects(applyLayer({ dir: fresh(), whiteoutMode: 'overlay' }, new FileSpanBytes(raw, 0, tar.length + 4096), { what: 'layer X' }), (e: unknown) => e instanceof DataCorruptError && /ended before/.test(e.message));
    } finally {
      closeSync(raw);
      closeSync(zfd);
    }
  } finally {
    t.cleanup();
  }
});
