import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress as zstdCompressSync } from 'zstd-napi';
import { DataCorruptError, InvalidArgumentError } from '../errors.js';
import { detectCompression } from './detect.js';
import { compressStream, decompressStream, gzipPieces, type DecompressOptions } from './stream.js';
import type { Compression } from './detect.js';

const MB = 1024 * 1024;

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function compressAll(kind: Compression, data: Buffer, level?: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(Readable.from([data]), compressStream(kind, level), new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
  return Buffer.concat(parts);
}

async function decompressAll(input: Buffer | Buffer[], opts?: DecompressOptions): Promise<{ kind: Compression; data: Buffer }> {
  const r = await decompressStream(Array.isArray(input) ? input : [input], opts);
  return { kind: r.compression, data: await collect(r.stream) };
}

function* split(b: Buffer, n: number): Generator<Buffer> {
  for (let i = 0; i < b.length; i += n) yield b.subarray(i, i + n);
}

test('detectCompression by magic number', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b])), 'gzip');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.equal(detectCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18])), 'zstd', 'skippable frame');
  assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f])), 'none', 'too short for zstd');
  assert.equal(detectCompression(Buffer.from('ustar')), 'none');
  assert.equal(detectCompression(Buffer.alloc(0)), 'none');
  assert.equal(detectCompression(Buffer.from([0x1f])), 'none');
});

for (const kind of ['gzip', 'zstd', 'none'] as const) {
  test(`${kind}: round trip, detection, chunking and byte counters`, async () => {
    const data = Buffer.concat([randomBytes(100_000), Buffer.alloc(300_000, 0x41), Buffer.from('tail')]);
    const c = await compressAll(kind, data);
    assert.equal(detectCompression(c), kind);
    if (kind !== 'none') assert.ok(c.length < data.length);
    // feed in 1-byte then odd-sized pieces: the magic peek must reassemble
    const pieces = [c.subarray(0, 1), c.subarray(1, 3), ...split(c.subarray(3), 4099)];
    const r = await decompressStream(pieces);
    assert.equal(r.compression, kind);
    assert.deepEqual(await collect(r.stream), data);
    assert.deepEqual(r.stats, { bytesIn: c.length, bytesOut: data.length });
  });
}

test('gzip output is deterministic (header mtime 0) and readable by gunzip(1)', async () => {
  const data = Buffer.from('deterministic '.repeat(1000));
  const a = await compressAll('gzip', data);
  const b = await compressAll('gzip', data);
  assert.deepEqual(a, b);
  assert.equal(a.readUInt32LE(4), 0, 'MTIME field is 0');
  assert.equal(a[3], 0, 'no FNAME/FEXTRA flags');
  const r = spawnSync('gzip', ['-dc'], { input: a });
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout, data);
  assert.deepEqual(gunzipSync(await compressAll('gzip', data, 1)), data);
});

test('zstd output is readable by zstd(1) and zstd(1) output by us', async () => {
  const data = Buffer.from('zstd interop '.repeat(5000));
  const ours = await compressAll('zstd', data, 9);
  const r = spawnSync('zstd', ['-dc'], { input: ours });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(r.stdout, data);
  const theirs = spawnSync('zstd', ['-c', '-19'], { input: data });
  assert.equal(theirs.status, 0);
  assert.deepEqual((await decompressAll(theirs.stdout)).data, data);
});

test('multi-member gzip and multi-frame zstd decode completely', async () => {
  const g = Buffer.concat([gzipSync('first '), gzipSync(''), gzipSync('second '), gzipSync(Buffer.alloc(70000, 0x42))]);
  const out = await decompressAll([...split(g, 7)]);
  assert.equal(out.kind, 'gzip');
  assert.deepEqual(out.data, Buffer.concat([Buffer.from('first second '), Buffer.alloc(70000, 0x42)]));
  const z = Buffer.concat([zstdCompressSync(Buffer.from('one ')), zstdCompressSync(Buffer.from('two'))]);
  assert.equal((await decompressAll([...split(z, 5)])).data.toString(), 'one two');
});

test('corrupt and truncated data become one-line DataCorruptErrors', async () => {
  const data = randomBytes(200_000);
  const isCorrupt = (re: RegExp) => (e: unknown) => e instanceof DataCorruptError && re.test(e.message) && !e.message.includes('\n');
  for (const kind of ['gzip', 'zstd'] as const) {
    const c = await compressAll(kind, data);
    await assert.rejects(decompressAll(c.subarray(0, c.length >> 1)), isCorrupt(new RegExp(`^${kind}: truncated data`)));
    const flipped = Buffer.from(c);
    for (let i = 20; i < 40; i++) flipped[i] ^= 0x55;
    await assert.rejects(decompressAll(flipped), isCorrupt(new RegExp(`^${kind}: corrupt data`)));
  }
  // a valid gzip stream whose CRC does not match
  const g = Buffer.from(gzipSync('hello world'));
  g[g.length - 8] ^= 1;
  await assert.rejects(decompressAll(g), isCorrupt(/^gzip: corrupt data: incorrect data check/));
});

test('expect: a format mismatch is rejected before decoding', async () => {
  await assert.rejects(decompressAll(Buffer.from('plain tar bytes'), { expect: 'gzip' }), (e: unknown) => e instanceof DataCorruptError && e.message === 'decompress: expected gzip data but found uncompressed data');
  assert.equal((await decompressAll(gzipSync('x'), { expect: 'gzip' })).data.toString(), 'x');
  await assert.rejects(decompressAll(Buffer.from('x'), { limit: -1 }), InvalidArgumentError);
});

test('limit: exceeding the decompressed byte limit fails (and exactly the limit is fine)', async () => {
  const data = Buffer.alloc(5 * MB);
  for (const kind of ['gzip', 'zstd', 'none'] as const) {
    const c = await compressAll(kind, data);
    const r = await decompressStream([c], { limit: MB });
    let delivered = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of r.stream) delivered += (chunk as Buffer).length;
      })(),
      (e: unknown) => e instanceof DataCorruptError && e.message === `decompression limit of ${MB} bytes exceeded`,
    );
    assert.ok(delivered <= MB, `${kind}: never delivers more than the limit`);
    assert.equal((await decompressAll(c, { limit: data.length })).data.length, data.length);
  }
});

test('zstd bomb: 8 GiB of zeros from a tiny input is stopped by the limit with bounded memory', async () => {
  // one 128 KiB-zero frame compresses to a few bytes; repeat the frame 65536 times = 8 GiB decompressed
  const frame = zstdCompressSync(Buffer.alloc(128 * 1024));
  const bomb = Buffer.concat(Array(65536).fill(frame) as Buffer[]);
  assert.ok(bomb.length < 2 * MB);
  const rss0 = process.memoryUsage().rss;
  const r = await decompressStream([bomb], { limit: 64 * MB });
  await assert.rejects(collectCount(r.stream), /decompression limit of 67108864 bytes exceeded/);
  assert.ok(process.memoryUsage().rss - rss0 < 200 * MB);
});

async function collectCount(s: Readable): Promise<number> {
  let n = 0;
  for await (const c of s) n += (c as Buffer).length;
  return n;
}

test('source errors pass through unchanged; destroying the output closes the source', async () => {
  const boom = new Error('network reset');
  async function* failing(): AsyncGenerator<Buffer> {
    yield gzipSync(Buffer.alloc(100_000)).subarray(0, 100);
    throw boom;
  }
  const r = await decompressStream(failing());
  await assert.rejects(collect(r.stream), (e: unknown) => e === boom);

  let closed = false;
  async function* endless(): AsyncGenerator<Buffer> {
    try {
      for (;;) yield Buffer.alloc(64 * 1024, 0x61);
    } finally {
      closed = true;
    }
  }
  const p = await decompressStream(endless());
  assert.equal(p.compression, 'none');
  for await (const c of p.stream) {
    void c;
    break; // destroys the stream
  }
  await new Promise((res) => setImmediate(res));
  assert.equal(closed, true);

  // the same with gzip, whose runs go ahead of the consumer: the source is closed all the same
  let gzClosed = false;
  const member = gzipSync(Buffer.alloc(3 << 20, 0x62));
  async function* endlessGzip(): AsyncGenerator<Buffer> {
    try {
      for (;;) yield member;
    } finally {
      gzClosed = true;
    }
  }
  const g = await decompressStream(endlessGzip());
  assert.equal(g.compression, 'gzip');
  for await (const c of g.stream) {
    assert.equal((c as Buffer)[0], 0x62);
    break;
  }
  for (let i = 0; i < 20 && !gzClosed; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(gzClosed, true);
});

test('large stream: 256 MiB through compress and decompress for each kind with bounded memory', async () => {
  for (const kind of ['gzip', 'zstd'] as const) {
    const total = 256 * MB;
    const inHash = createHash('sha256');
    async function* gen(): AsyncGenerator<Buffer> {
      for (let i = 0; i < total / MB; i++) {
        const b = Buffer.allocUnsafe(MB).fill(i % 7);
        b.writeUInt32LE(i, 0);
        inHash.update(b);
        yield b;
      }
    }
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const t0 = process.hrtime.bigint();
    const compressed = Readable.from(gen()).pipe(compressStream(kind, 1));
    const r = await decompressStream(compressed);
    const outHash = createHash('sha256');
    let n = 0;
    for await (const c of r.stream) {
      outHash.update(c as Buffer);
      if ((++n & 31) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`# ${kind}: 256 MiB compress+decompress ${(256 / secs).toFixed(0)} MiB/s, ${r.stats.bytesIn} bytes compressed, rss growth ${((peak - rss0) / MB).toFixed(1)} MiB`);
    assert.equal(r.stats.bytesOut, total);
    assert.equal(outHash.digest('hex'), inHash.digest('hex'));
    assert.ok(peak - rss0 < 150 * MB, `${kind}: rss grew ${((peak - rss0) / MB).toFixed(1)} MiB`);
  }
});

test('compressStream validates its arguments', () => {
  assert.throws(() => compressStream('gzip', 0), InvalidArgumentError);
  assert.throws(() => compressStream('zstd', 99), InvalidArgumentError);
  assert.throws(() => compressStream('lz4' as Compression), /unknown compression "lz4"/);
});

async function gzipPiecesAll(data: Buffer, level = 6, chunk = 65536): Promise<Buffer> {
  async function* src(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < data.length; i += chunk) yield new Uint8Array(data.buffer, data.byteOffset + i, Math.min(chunk, data.length - i));
  }
  const parts: Buffer[] = [];
  for await (const p of gzipPieces(src(), level)) parts.push(p);
  return Buffer.concat(parts);
}

test('gzipPieces: one gzip member that gunzip and gzip(1) read back, at every size around a piece boundary', async () => {
  const MiB = 1 << 20;
  const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `line ${i} of a compressible layer\n`).join(''));
  for (const size of [0, 1, 4095, MiB - 1, MiB, MiB + 1, 3 * MiB + 7]) {
    const data = Buffer.concat([text, randomBytes(size)]).subarray(text.length - Math.min(text.length, size >> 1)).subarray(0, size);
    for (const chunk of [1000, 65536, 3 * MiB]) {
      const gz = await gzipPiecesAll(data, 6, chunk);
      assert.ok(gunzipSync(gz).equals(data), `size ${size}, chunks of ${chunk}`);
    }
    const gz = await gzipPiecesAll(data);
    const r = spawnSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr?.toString());
    assert.ok(r.stdout.equals(data), `gzip -dc, size ${size}`);
    assert.equal(detectCompression(gz), 'gzip');
  }
});

test('gzipPieces: the same input gives the same bytes; incompressible pieces are stored; text compresses as deflate does', async () => {
  const random = randomBytes(5 << 20);
  const text = Buffer.from(Array.from({ length: 300_000 }, (_, i) => `entry ${i % 977} /usr/share/doc/package-${i % 131}/copyright\n`).join(''));
  const a = await gzipPiecesAll(Buffer.concat([text, random]));
  const b = await gzipPiecesAll(Buffer.concat([text, random]), 6, 12345);
  assert.ok(a.equals(b), 'deterministic, whatever the chunking of the input');
  const stored = await gzipPiecesAll(random);
  assert.ok(stored.length < random.length * 1.001, `random data stays its size (${stored.length} for ${random.length})`);
  const deflated = await gzipPiecesAll(text);
  const plain = gzipSync(text, { level: 6 });
  assert.ok(deflated.length < plain.length * 1.05, `within 5% of one zlib stream (${deflated.length} vs ${plain.length})`);
  await assert.rejects(gzipPiecesAll(text, 10), InvalidArgumentError);
  // level 0 stores; 1-3 (ISA-L) and 4-9 (zlib) all read back and compress
  const sizes: number[] = [];
  for (const level of [0, 1, 3, 4, 9]) {
    const gz = await gzipPiecesAll(text, level);
    assert.ok(gunzipSync(gz).equals(text), `level ${level} reads back`);
    sizes.push(gz.length);
  }
  assert.ok(sizes[0]! > text.length, 'level 0 stores');
  assert.ok(sizes.slice(1).every((n) => n < text.length / 4), `sizes by level: ${sizes.join(', ')}`);
  assert.ok(sizes[2]! <= sizes[1]!, `ISA-L's level 3 is no larger than its level 1: ${sizes.join(', ')}`);
});

test('gzipPieces with reuse: a consumer that copies each chunk gets the same bytes from a few buffers filled again', async () => {
  const text = Buffer.from(Array.from({ length: 400_000 }, (_, i) => `entry ${i % 977} /usr/lib/x86_64-linux-gnu/lib${i % 131}.so\n`).join(''));
  const data = Buffer.concat([text, randomBytes(6 << 20), text]);
  const plain = await gzipPiecesAll(data, 3);
  const copies: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for await (const c of gzipPieces((async function* () { yield* split(data, 100_000); })(), 3, { reuse: true })) {
    copies.push(Buffer.from(c));
    buffers.add(c.buffer);
  }
  assert.ok(Buffer.concat(copies).equals(plain), 'the same stream');
  assert.ok(copies.length > 20 && buffers.size < 10, `${copies.length} chunks from ${buffers.size} buffers`);
});

test('gunzip (ISA-L): a header with a file name, zero padding after the last member, garbage after it, output larger than one run', async () => {
  const text = Buffer.from(Array.from({ length: 100_000 }, (_, i) => `row ${i}\n`).join(''));
  // gzip(1) writes the file's name into the header (FNAME)
  const r = spawnSync('sh', ['-c', 'cd "$(mktemp -d)" && cat > named.txt && gzip -c named.txt'], { input: text, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr?.toString());
  assert.equal(r.stdout[3]! & 0x08, 0x08, 'FNAME flag set');
  assert.ok((await decompressAll([...split(r.stdout, 999)])).data.equals(text));
  // zero padding after the member is ignored, as node:zlib ignores it
  const padded = Buffer.concat([gzipSync(text), Buffer.alloc(10_000)]);
  assert.ok((await decompressAll([...split(padded, 4096)])).data.equals(text));
  // anything else after a member is read as a member, and is not one
  const trailing = Buffer.concat([gzipSync(text), Buffer.from('not gzip at all')]);
  await assert.rejects(decompressAll(trailing), (e: unknown) => e instanceof DataCorruptError && /^gzip: corrupt data: incorrect header check/.test(e.message));
  // 64 MiB of zeros from one small chunk: many runs of full output, nothing lost
  const zeros = gzipSync(Buffer.alloc(64 * MB));
  const out = await decompressAll(zeros);
  assert.equal(out.data.length, 64 * MB);
  assert.ok(out.data.every((b) => b === 0));
});
