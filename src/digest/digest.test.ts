import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { parseDigest, digestOf, isDigest, shortId, DigestTransform, digestStream } from './digest.js';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('digestOf hashes bytes', () => {
  assert.equal(digestOf(''), EMPTY);
  assert.equal(shortId(digestOf('')), 'e3b0c44298fc');
});

test('parseDigest accepts valid and rejects malformed digests with the field named', () => {
  assert.equal(parseDigest(EMPTY), EMPTY);
  assert.throws(() => parseDigest('sha256:abc', 'layers[0].digest'), (e: unknown) => e instanceof InvalidArgumentError && /layers\[0\]\.digest/.test(e.message));
  assert.throws(() => parseDigest(EMPTY.toUpperCase()), InvalidArgumentError);
  assert.throws(() => parseDigest('md5:d41d8cd98f00b204e9800998ecf8427e'), /unsupported digest algorithm/);
  assert.equal(isDigest('nope'), false);
  assert.equal(isDigest(EMPTY), true);
});

async function drain(src: Readable, t: DigestTransform): Promise<void> {
  await pipeline(src, t, new Writable({ write(_c, _e, cb) { cb(); } }));
}

test('DigestTransform verifies digest and size while streaming', async () => {
  const data = Buffer.from('hello world');
  const good = new DigestTransform({ digest: digestOf(data), size: data.length });
  await drain(Readable.from([data]), good);
  assert.equal(good.digest(), digestOf(data));
  assert.equal(good.size, 11);
  await assert.rejects(drain(Readable.from([data]), new DigestTransform({ digest: EMPTY as ReturnType<typeof digestOf> })), DataCorruptError);
  await assert.rejects(drain(Readable.from([data]), new DigestTransform({ size: 5 })), /size mismatch/);
  assert.deepEqual(await digestStream(Readable.from([Buffer.from('a'), Buffer.from('b')])), { digest: digestOf('ab'), size: 2 });
});
