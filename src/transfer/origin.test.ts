import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { isFileBytes, OpenFile, pathOrigin, rangeOf, streamOf } from './origin.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

test('a file origin streams its bytes, and any range of them again, as often as asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-origin-'));
  try {
    const data = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 0xff;
    const file = join(dir, 'f');
    writeFileSync(file, data);
    const o = { file };
    assert.equal(isFileBytes(o), true);
    assert.ok((await collect(streamOf(o))).equals(data));
    for (const [start, length] of [[0, data.length], [1, 10], [1 << 20, (2 << 20) + 5], [data.length - 1, 1], [5, 0]] as const) {
      const again = rangeOf(file, start, length);
      assert.ok((await collect(again())).equals(data.subarray(start, start + length)), `${start}+${length}`);
      assert.ok((await collect(again())).equals(data.subarray(start, start + length)), `${start}+${length}, read twice`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stream origin is itself', async () => {
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('ab');
    yield Buffer.from('c');
  }
  const s = bytes();
  assert.equal(isFileBytes(s), false);
  assert.equal(streamOf(s), s);
  assert.equal((await collect(streamOf(s))).toString(), 'abc');
});

test('a path is a file origin only when it is a regular file (a FIFO is streamed once)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-origin-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, 'regular');
    assert.deepEqual(await pathOrigin(file), { file });
    const fifo = join(dir, 'p');
    execFileSync('mkfifo', [fifo]);
    const o = await pathOrigin(fifo);
    assert.equal(isFileBytes(o), false);
    const writer = new Promise<void>((resolve, reject) => {
      // the FIFO's other end, as a shell redirect would give it
      import('node:fs').then(({ writeFile }) => writeFile(fifo, 'piped', (e) => (e ? reject(e) : resolve())), reject);
    });
    assert.equal((await collect(streamOf(o))).toString(), 'piped');
    await writer;
    await assert.rejects(pathOrigin(join(dir, 'missing')), { code: 'ENOENT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an open file origin hands out spans of the file, and says when the file changed while it was read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-origin-'));
  try {
    const file = join(dir, 'f');
    writeFileSync(file, Buffer.from('0123456789'));
    const f = new OpenFile(file);
    try {
      assert.equal(f.size, 10);
      assert.ok((await collect(f.span(2, 5))).equals(Buffer.from('23456')));
      f.checkUnchanged('archive f');
      appendFileSync(file, 'more');
      assert.throws(() => f.checkUnchanged('archive f'), /^DataCorruptError: archive f: the file changed while it was read$/);
    } finally {
      f.close();
    }
    const g = new OpenFile(file);
    try {
      await new Promise((r) => setTimeout(r, 20)); // file times tick coarsely (a few ms)
      writeFileSync(file, 'same size!!!!!'); // rewritten in place, same length: its times moved
      assert.throws(() => g.checkUnchanged('x'), /the file changed while it was read/);
    } finally {
      g.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
