/** A 300 MB entry streamed writer → reader with bounded memory; throughput printed, not asserted. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readTar } from './reader.js';
import { TarWriter } from './writer.js';
import { chunked, writeArchive } from './test-helpers.js';

const MB = 1024 * 1024;

test('300 MB entry streams through writer and reader with bounded memory', async () => {
  const size = 300 * MB + 123; // not a multiple of the block size
  const chunk = MB;
  const inHash = createHash('sha256');
  async function* body(): AsyncGenerator<Buffer> {
    let left = size;
    let i = 0;
    while (left > 0) {
      const n = Math.min(chunk, left);
      const b = Buffer.allocUnsafe(n).fill(i++ & 0xff);
      inHash.update(b);
      left -= n;
      yield b;
    }
  }
  const w = new TarWriter();
  const writing = (async () => {
    await w.add({ name: 'small-before' }, Buffer.from('x'));
    await w.add({ name: 'huge.bin', size, mode: 0o600 }, body());
    await w.add({ name: 'small-after' }, Buffer.from('y'));
    await w.finish();
  })();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const t0 = process.hrtime.bigint();
  const names: string[] = [];
  const outHash = createHash('sha256');
  let got = 0;
  let n = 0;
  for await (const e of readTar(w)) {
    names.push(e.header.name);
    if (e.header.name !== 'huge.bin') continue;
    assert.equal(e.header.size, size);
    for await (const c of e.body) {
      outHash.update(c);
      got += c.length;
      if ((++n & 63) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  await writing;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(`# 300 MB through writer+reader (+sha256 on both sides): ${(size / MB / secs).toFixed(0)} MiB/s, rss growth ${((peak - rss0) / MB).toFixed(1)} MiB`);
  assert.deepEqual(names, ['small-before', 'huge.bin', 'small-after']);
  assert.equal(got, size);
  assert.equal(outHash.digest('hex'), inHash.digest('hex'));
  assert.ok(peak - rss0 < 120 * MB, `rss grew by ${((peak - rss0) / MB).toFixed(1)} MiB`);
});

test('throughput sanity: many small entries and one big body from memory (printed only)', async () => {
  const entries: Array<[{ name: string; mtime: number }, Buffer]> = [];
  for (let i = 0; i < 20000; i++) entries.push([{ name: `dir${i % 100}/file-${i}.txt`, mtime: 1700000000 }, Buffer.alloc(i % 2000, 0x41)]);
  let t = process.hrtime.bigint();
  const small = await writeArchive(entries);
  const wSecs = Number(process.hrtime.bigint() - t) / 1e9;
  t = process.hrtime.bigint();
  let count = 0;
  for await (const e of readTar(chunked(small, 64 * 1024))) {
    count++;
    for await (const c of e.body) void c;
  }
  const rSecs = Number(process.hrtime.bigint() - t) / 1e9;
  assert.equal(count, 20000);
  console.log(`# 20000 small entries: write ${(20000 / wSecs).toFixed(0)} entries/s, read ${(20000 / rSecs).toFixed(0)} entries/s`);

  const big = await writeArchive([[{ name: 'big', mtime: 0 }, Buffer.alloc(256 * MB, 1)]]);
  t = process.hrtime.bigint();
  let bytes = 0;
  for await (const e of readTar(chunked(big, 64 * 1024))) for await (const c of e.body) bytes += c.length;
  const bSecs = Number(process.hrtime.bigint() - t) / 1e9;
  assert.equal(bytes, 256 * MB);
  console.log(`# 256 MiB body read in 64 KiB chunks: ${(256 / bSecs).toFixed(0)} MiB/s`);
});
