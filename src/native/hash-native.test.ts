/** hash.c: hashing and CRC-32 on the pool give what node:crypto and node:zlib give. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { crc32Chunk, crc32Combine, hashDigest, hashNew, hashUpdate } from './index.js';

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
