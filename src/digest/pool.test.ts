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

test('PoolDigester: many small spans and chunks interleaved go in few batches, in order; each span is released once read, or once the digester failed', async () => {
  const { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pool-'));
  try {
    const files = Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 7919) % 20000)));
    const fds = files.map((f, i) => {
      writeFileSync(join(dir, `f${i}`), f);
      return openSync(join(dir, `f${i}`), 'r');
    });
    try {
      const d = new PoolDigester();
      const all: Uint8Array[] = [];
      const released: number[] = [];
      for (let i = 0; i < files.length; i++) {
        const header = randomBytes(512);
        all.push(header, files[i]!);
        const room = d.update(header);
        if (room !== undefined) await room;
        d.updateFile(fds[i]!, 0, files[i]!.length, () => released.push(i));
      }
      assert.equal(await d.digest(), expected('sha256', all));
      assert.deepEqual(released, files.map((_, i) => i), 'every span released once, in order');

      // A span that cannot be read fails the digest; every span handed over is released all the same.
      const bad = new PoolDigester();
      const freed: number[] = [];
      bad.updateFile(fds[0]!, 0, files[0]!.length + 1, () => freed.push(0));
      for (let i = 1; i < 50; i++) bad.updateFile(fds[i]!, 0, files[i]!.length, () => freed.push(i));
      await assert.rejects(bad.digest(), /ended before the \d+ bytes at offset 0/);
      assert.deepEqual(freed.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
      assert.throws(() => bad.updateFile(fds[0]!, 0, 1, () => assert.fail('not handed over')), /ended before/);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('PoolDigester: a span handed over with its fd is closed once read, or once the digester failed, whether it was sent or not', async () => {
  const { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'cairn-pool-'));
  const closed = (fd: number): boolean => {
    try {
      fstatSync(fd);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EBADF';
    }
  };
  try {
    const body = randomBytes(70_000);
    writeFileSync(join(dir, 'f'), body);
    const d = new PoolDigester();
    const fds = Array.from({ length: 20 }, () => openSync(join(dir, 'f'), 'r'));
    for (const fd of fds) d.updateFileAndClose(fd, 0, body.length);
    assert.equal(await d.digest(), expected('sha256', fds.map(() => body)));
    assert.ok(fds.every(closed), 'every fd closed once read');

    const bad = new PoolDigester();
    const more = Array.from({ length: 20 }, () => openSync(join(dir, 'f'), 'r'));
    bad.updateFileAndClose(more[0]!, 0, body.length + 1);
    for (const fd of more.slice(1)) bad.updateFileAndClose(fd, 0, body.length);
    await assert.rejects(bad.digest(), /ended before/);
    const late = openSync(join(dir, 'f'), 'r');
    assert.throws(() => bad.updateFileAndClose(late, 0, 1), /ended before/);
    assert.ok([...more, late].every(closed), 'every fd closed, sent or not, and one handed over after the failure too');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
