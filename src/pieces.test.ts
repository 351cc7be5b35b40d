import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pieces } from './pieces.js';

async function collect(chunks: Uint8Array[], size: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of pieces(chunks, size)) out.push(p);
  return out;
}

test('pieces: fixed sizes, the last shorter and never empty, the bytes in order whatever the chunking', async () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
  for (const cut of [1, 7, 100, 333, 1000]) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += cut) chunks.push(new Uint8Array(data.subarray(i, i + cut)));
    const got = await collect(chunks, 128);
    assert.deepEqual(got.map((p) => p.length), [128, 128, 128, 128, 128, 128, 128, 104], `chunks of ${cut}`);
    assert.ok(Buffer.concat(got).equals(data));
  }
  assert.deepEqual(await collect([], 10), []);
  assert.deepEqual((await collect([new Uint8Array(20)], 10)).map((p) => p.length), [10, 10], 'an exact multiple ends with a full piece');
  await assert.rejects(collect([new Uint8Array(1)], 0), RangeError);
});

test('pieces with reuse: one buffer filled again for every piece, each piece right while it is the current one', async () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += 33) chunks.push(new Uint8Array(data.subarray(i, i + 33)));
  const seen: Buffer[] = [];
  const copies: Buffer[] = [];
  for await (const p of pieces(chunks, 128, { reuse: true })) {
    seen.push(p);
    copies.push(Buffer.from(p));
  }
  assert.ok(Buffer.concat(copies).equals(data));
  assert.deepEqual(copies.map((p) => p.length), [128, 128, 128, 128, 128, 128, 128, 104]);
  // every full piece is the same memory
  assert.ok(seen.slice(0, 7).every((p) => p.buffer === seen[0]!.buffer && p.byteOffset === seen[0]!.byteOffset));
});
