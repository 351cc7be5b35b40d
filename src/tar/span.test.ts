/**
 * A tar read from a span of a file (FileSpanBytes): bodies taken by position instead of read,
 * every byte still seen once, in order, by the taps — as bytes or as spans of the file.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DataCorruptError } from '../errors.js';
import { readTar, type TarTap } from './reader.js';
import { FileSpanBytes, type FileSpan } from './source.js';
import { writeArchive } from './test-helpers.js';

/** Bytes of a span of the file, read plainly. */
function bytesOf(s: FileSpan): Buffer {
  const b = Buffer.alloc(s.length);
  let got = 0;
  while (got < s.length) {
    const n = readSync(s.fd, b, got, s.length - got, s.offset + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

describe('tar from a span of a file', () => {
  let dir: string;
  let fd: number;
  let tar: Buffer;
  const PREFIX = 777; // the archive lies inside a larger file, as a member of an image archive does
  const big = randomBytes((2 << 20) + 5);
  const small = randomBytes(1000);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-tarspan-'));
    tar = await writeArchive([
      [{ name: 'd/', type: 'dir' }],
      [{ name: 'd/small' }, small],
      [{ name: `d/${'long-name-'.repeat(20)}big` }, big], // a PAX header before it
      [{ name: 'd/empty' }, Buffer.alloc(0)],
      [{ name: 'd/big2' }, big],
    ]);
    writeFileSync(join(dir, 'file'), Buffer.concat([randomBytes(PREFIX), tar, randomBytes(100)]));
    fd = openSync(join(dir, 'file'), 'r');
  });
  after(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('big bodies are taken as spans, the tap sees every byte once and in order, as bytes or spans', async () => {
    const seen: Buffer[] = [];
    const spans: FileSpan[] = [];
    const tap: TarTap = {
      raw: (b) => void seen.push(Buffer.from(b)),
      body: (b) => void seen.push(Buffer.from(b)),
      bodySpan: (s) => void seen.push(bytesOf(s)),
      entry: () => undefined,
    };
    const bodies = new Map<string, Buffer>();
    for await (const e of readTar(new FileSpanBytes(fd, PREFIX, tar.length), { tap })) {
      if (e.header.size > 1 << 20) {
        const s = await e.body.span();
        assert.ok(s !== null, `the body of ${e.header.name} is taken by position`);
        assert.equal(s.offset, PREFIX + e.dataOffset);
        assert.equal(s.length, e.header.size);
        spans.push(s);
        bodies.set(e.header.name, bytesOf(s));
        assert.equal(await e.body.span(), null, 'nothing is left to take');
      } else {
        bodies.set(e.header.name, await e.body.bytes());
      }
    }
    assert.equal(spans.length, 2);
    assert.deepEqual(bodies.get('d/small'), small);
    assert.deepEqual(bodies.get('d/big2'), big);
    assert.deepEqual(Buffer.concat(seen), tar, 'the tar tap saw the archive, byte for byte');
  });

  it('a tap that cannot take spans gets bytes: nothing is taken by position', async () => {
    const seen: Buffer[] = [];
    const tap: TarTap = { raw: (b) => void seen.push(Buffer.from(b)), body: (b) => void seen.push(Buffer.from(b)), entry: () => undefined };
    for await (const e of readTar(new FileSpanBytes(fd, PREFIX, tar.length), { tap })) {
      assert.equal(await e.body.span(), null);
    }
    assert.deepEqual(Buffer.concat(seen), tar);
  });

  it('bodies left unread are skipped by position, and the reader ends where the span ends', async () => {
    const r = readTar(new FileSpanBytes(fd, PREFIX, tar.length));
    const names: string[] = [];
    let n = await r.next();
    while (!n.done) {
      names.push(n.value.header.name);
      n = await r.next();
    }
    assert.equal(names.length, 5);
    assert.equal(n.value.bytesRead, tar.length);
  });

  it('a span longer than the file (it shrank) is a clear error, not a short archive', async () => {
    const short = openSync(join(dir, 'short'), 'w+');
    try {
      writeFileSync(short, tar.subarray(0, 600 * 1024)); // inside big's body
      await assert.rejects(
        (async () => {
          for await (const e of readTar(new FileSpanBytes(short, 0, tar.length))) await e.body.bytes(4 << 20);
        })(),
        (e: unknown) => e instanceof DataCorruptError && /ended before/.test(e.message),
      );
    } finally {
      closeSync(short);
    }
  });

  it('iterated as a stream, a file span gives its bytes', async () => {
    const chunks: Buffer[] = [];
    for await (const c of new FileSpanBytes(fd, PREFIX, tar.length)) chunks.push(Buffer.from(c));
    assert.deepEqual(Buffer.concat(chunks), tar);
    assert.deepEqual(await new FileSpanBytes(fd, PREFIX, tar.length).read(tar.length - 3, 100), tar.subarray(tar.length - 3));
  });
});
