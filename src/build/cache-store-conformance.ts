/**
 * The CacheStore conformance suite (cache-transfer.ts): what every place a carried build cache
 * lives must do. Run against the directory (cache-store-local.test.ts) and the registry
 * (test/build-cache-registry.test.ts). `make` gives a cache with nothing in it (a directory not yet
 * made, a tag not yet pushed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { digestOf, type Digest } from '../digest/digest.js';
import { NotFoundError } from '../errors.js';
import { LAYER_GZIP, type CacheDocument, type CacheStore } from './cache-transfer.js';

async function readAll(s: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* piecesOf(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

function entry(n: number, blob: { digest: Digest; size: number }): CacheDocument['entries'][number] {
  return { key: digestOf(`key ${n}`), diffId: digestOf(`diff ${n}`), createdAt: new Date(1_700_000_000_000 + n).toISOString(), blob: { mediaType: LAYER_GZIP, ...blob } };
}

export function cacheStoreSuite(name: string, make: () => Promise<{ cache: CacheStore; cleanup: () => Promise<void> }>): void {
  const withCache = (fn: (c: CacheStore) => Promise<void>) => async () => {
    const { cache, cleanup } = await make();
    try {
      await fn(cache);
    } finally {
      await cleanup();
    }
  };

  test(`${name}: a cache never written has no document and no blobs`, withCache(async (c) => {
    assert.equal(await c.document(), undefined);
    const missing = { mediaType: LAYER_GZIP, digest: digestOf('nothing'), size: 7 };
    assert.equal(await c.has(missing), false);
    await assert.rejects(async () => readAll(await c.blob(missing)), NotFoundError);
  }));

  test(`${name}: a blob put from a stream (larger than an upload piece) reads back whole, named by its digest and size`, withCache(async (c) => {
    const data = randomBytes((9 << 20) + 123);
    const desc = await c.putBlob(piecesOf(data, 300_000), LAYER_GZIP);
    assert.deepEqual(desc, { mediaType: LAYER_GZIP, digest: digestOf(data), size: data.length });
    assert.equal(await c.has(desc), true);
    assert.ok((await readAll(await c.blob(desc))).equals(data));
    // put again: the same descriptor, the store unchanged
    assert.deepEqual(await c.putBlob(piecesOf(data, 1 << 20), LAYER_GZIP), desc);
    const empty = await c.putBlob(piecesOf(Buffer.alloc(0), 1), LAYER_GZIP);
    assert.deepEqual(empty, { mediaType: LAYER_GZIP, digest: digestOf(''), size: 0 });
    assert.equal((await readAll(await c.blob(empty))).length, 0);
  }));

  test(`${name}: the document names the blobs put before it; put again, it replaces the previous one`, withCache(async (c) => {
    const a = Buffer.from('layer a');
    const b = Buffer.from('layer b');
    const da = await c.putBlob(piecesOf(a, 3), LAYER_GZIP);
    const db = await c.putBlob(piecesOf(b, 3), LAYER_GZIP);
    // two keys may share a layer's blob
    const first: CacheDocument = { schemaVersion: 1, entries: [entry(1, da), entry(2, db), entry(3, da)] };
    await c.putDocument(first);
    assert.deepEqual(await c.document(), first);
    const second: CacheDocument = { schemaVersion: 1, entries: [entry(4, db)] };
    await c.putDocument(second);
    assert.deepEqual(await c.document(), second);
    // the blobs stay readable after the document that named them is replaced
    assert.ok((await readAll(await c.blob(da))).equals(a));
    const none: CacheDocument = { schemaVersion: 1, entries: [] };
    await c.putDocument(none);
    assert.deepEqual(await c.document(), none);
    assert.ok(typeof c.name === 'string' && c.name !== '');
  }));
}
