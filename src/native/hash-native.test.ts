/** hash.c and copy.c: hashing, CRC-32 and copies on the pool give what node:crypto, node:zlib and a plain read give. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileRange, crc32Chunk, crc32Combine, hashDigest, hashFile, hashNew, hashUpdate } from './index.js';

describe('hashing on the pool', () => {
  it('hashUpdate/hashDigest give node:crypto digests, and a spent or busy hasher is refused', async () => {
    const chunks = [randomBytes(1), randomBytes(100_000), Buffer.alloc(0), randomBytes(3 << 20)];
    for (const alg of ['sha256', 'sha384', 'sha512']) {
      const h = hashNew(alg);
      const p = hashUpdate(h, chunks);
      assert.throws(() => hashUpdate(h, chunks), /in flight/);
      await p;
      const want = createHash(alg);
      for (const c of chunks) want.update(c);
      assert.equal(hashDigest(h), want.digest('hex'));
      assert.throws(() => hashDigest(h), /digest was taken/);
    }
    assert.throws(() => hashNew('md5'), /unsupported hash algorithm/);
    assert.throws(() => hashUpdate(hashNew('sha256'), [new Uint16Array(4) as unknown as Uint8Array]), /Buffer or Uint8Array/);
  });

  it('crc32Chunk is zlib.crc32, and crc32Combine joins pieces checked apart', async () => {
    const whole = randomBytes((2 << 20) + 12345);
    assert.equal(await crc32Chunk(whole), crc32(whole));
    assert.equal(await crc32Chunk(Buffer.alloc(0)), 0);
    for (const cut of [0, 1, 1 << 20, whole.length - 1, whole.length]) {
      const [a, b] = [whole.subarray(0, cut), whole.subarray(cut)];
      const [ca, cb] = await Promise.all([crc32Chunk(a), crc32Chunk(b)]);
      assert.equal(crc32Combine(ca, cb, b.length), crc32(whole), `cut at ${cut}`);
    }
    assert.throws(() => crc32Combine(1, 2, -1), /must not be negative/);
  });
});

describe('spans of open files on the pool', () => {
  it('hashFile reads a span of a file; copyFileRange copies one; a file that ends early is ENODATA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-span-'));
    try {
      const data = randomBytes((3 << 20) + 777);
      writeFileSync(join(dir, 'src'), data);
      const fd = openSync(join(dir, 'src'), 'r');
      try {
        for (const [off, len] of [
          [0, data.length],
          [12345, 2 << 20],
          [data.length - 1, 1],
          [100, 0],
        ] as const) {
          const part = data.subarray(off, off + len);
          const h = hashNew('sha256');
          const p = hashFile(h, fd, off, len);
          assert.throws(() => hashUpdate(h, []), /in flight/, 'one update at a time, files too');
          await p;
          assert.equal(hashDigest(h), createHash('sha256').update(part).digest('hex'), `hash of [${off}, +${len})`);
          const out = openSync(join(dir, `out-${off}`), 'w');
          try {
            await copyFileRange(fd, off, len, out);
          } finally {
            closeSync(out);
          }
          assert.deepEqual(readFileSync(join(dir, `out-${off}`)), part, `copy of [${off}, +${len})`);
        }
        // past the end of the file: the caller's span was longer than the file is now
        await assert.rejects(hashFile(hashNew('sha256'), fd, data.length - 10, 20), (e: NodeJS.ErrnoException) => e.code === 'ENODATA' && /ended early/.test(e.message));
        const out = openSync(join(dir, 'short'), 'w');
        try {
          await assert.rejects(copyFileRange(fd, data.length - 5, 10, out), (e: NodeJS.ErrnoException) => e.code === 'ENODATA');
        } finally {
          closeSync(out);
        }
        assert.equal(readFileSync(join(dir, 'short')).length, 5, 'what was there was copied before the end');
        assert.throws(() => hashFile(hashNew('sha256'), -1, 0, 1), /must not be negative/);
        // chunks and spans in one update, in order; the failing piece is named
        const h = hashNew('sha256');
        await hashUpdate(h, [Buffer.from('head'), [fd, 5, 1000], Buffer.alloc(0), [fd, 0, 0], [fd, 7, 3 << 20], Buffer.from('tail')]);
        const want = createHash('sha256').update('head').update(data.subarray(5, 1005)).update(data.subarray(7, 7 + (3 << 20))).update('tail').digest('hex');
        assert.equal(hashDigest(h), want);
        await assert.rejects(hashUpdate(hashNew('sha256'), [Buffer.from('x'), [fd, 0, 1], [fd, data.length - 1, 2]]), (e: NodeJS.ErrnoException & { piece?: number }) => e.code === 'ENODATA' && e.piece === 2);
        assert.throws(() => hashUpdate(hashNew('sha256'), [[fd, 0]] as unknown as [number, number, number][]), /\[fd, offset, length\]/);
        await assert.rejects(copyFileRange(fd, 0, 1, 987654), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
