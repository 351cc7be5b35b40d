import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { PoolDigester } from './pool.js';

function expected(alg: string, chunks: Uint8Array[]): string {
  const h = createHash(alg);
  for (const c of chunks) h.update(c);
  return `${alg}:${h.digest('hex')}`;
}

test('PoolDigester: the same digest as node:crypto, for every algorithm, over chunks of many sizes', async () => {
  const sizes = [0, 1, 511, 512, 4096, 65536, 1 << 20, (1 << 20) + 3, 3 << 20, 17];
  const chunks = sizes.map((n) => randomBytes(n));
  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    const d = new PoolDigester(alg);
    for (const c of chunks) {
      const room = d.update(c);
      if (room !== undefined) await room;
    }
    assert.equal(d.size, sizes.reduce((a, b) => a + b, 0));
    assert.equal(await d.digest(), expected(alg, chunks));
  }
});

test('PoolDigester: many small chunks (more than one batch holds) and nothing at all', async () => {
  const chunks = Array.from({ length: 1000 }, (_, i) => randomBytes(i % 97));
  const d = new PoolDigester();
  for (const c of chunks) {
    const room = d.update(c);
    if (room !== undefined) await room;
  }
  assert.equal(await d.digest(), expected('sha256', chunks));
  assert.equal(await new PoolDigester().digest(), expected('sha256', []));
});

test('PoolDigester: a caller that never waits is made to wait once 16 MiB are queued', async () => {
  const d = new PoolDigester();
  const chunk = randomBytes(1 << 20);
  let waits = 0;
  const all: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    all.push(chunk);
    const room = d.update(chunk);
    if (room !== undefined) {
      waits++;
      await room;
    }
  }
  assert.ok(waits > 0, 'backpressure: update returned a promise');
  assert.equal(await d.digest(), expected('sha256', all));
});

test('PoolDigester: a spent digester refuses more bytes', async () => {
  const d = new PoolDigester();
  d.update(Buffer.from('x'));
  await d.digest();
  await assert.rejects(async () => {
    d.update(Buffer.alloc(2 << 20));
    await d.digest();
  }, /digest was taken/);
});

test('PoolDigester: spans of a file hashed in their turn between chunks; a span past the end of the file fails the digest', async () => {
  const { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pool-'));
  try {
    const file = randomBytes(5 << 20);
    writeFileSync(join(dir, 'f'), file);
    const fd = openSync(join(dir, 'f'), 'r');
    try {
      const a = randomBytes(100);
      const b = randomBytes(3 << 20);
      const d = new PoolDigester();
      d.update(a);
      d.updateFile(fd, 10, 2 << 20);
      const room = d.update(b);
      if (room !== undefined) await room;
      d.updateFile(fd, 0, 0);
      d.updateFile(fd, file.length - 7, 7);
      assert.equal(d.size, 100 + (2 << 20) + (3 << 20) + 7);
      assert.equal(await d.digest(), expected('sha256', [a, file.subarray(10, 10 + (2 << 20)), b, file.subarray(file.length - 7)]));

      const bad = new PoolDigester();
      bad.updateFile(fd, file.length - 7, 8);
      await assert.rejects(bad.digest(), /ended before the 8 bytes at offset/);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
