/**
 * Tests of the addon's external reads (native/src/external.c): readExternalLatin1 and
 * readExternalBytes, on files in a temporary directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import vm from 'node:vm';

import { errnoCode, readExternalBytes, readExternalLatin1 } from './index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-external-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every byte value, then `n` more bytes of a repeating pattern. */
function bytes(n: number): Buffer {
  const b = Buffer.alloc(256 + n);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  for (let i = 0; i < 256; i++) b[i] = i;
  return b;
}

function file(name: string, content: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('readExternalLatin1', () => {
  it("gives the file's bytes as latin1 characters, every byte value included", () => {
    const b = bytes(100_000);
    const s = readExternalLatin1(file('all.bin', b));
    assert.equal(s.length, b.length);
    assert.equal(s, b.toString('latin1'));
  });

  it("keeps the string outside V8's heap (a 16 MB file adds nothing like 16 MB to it)", () => {
    const p = file('big.txt', Buffer.alloc(16 << 20, 'x'));
    const before = process.memoryUsage().heapUsed;
    const s = readExternalLatin1(p);
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(s.length, 16 << 20);
    assert.equal(s.charCodeAt(12345678), 'x'.charCodeAt(0));
    assert.ok(grown < 1 << 20, `the heap grew by ${grown} bytes`);
    // a string in the heap does grow it: the measurement can tell the two apart (not one from
    // Buffer.toString: Node makes strings over ~1 MB external itself)
    const copy = 'y'.repeat(16 << 20);
    assert.equal(copy.charCodeAt(12345678), 'y'.charCodeAt(0));
    assert.ok(process.memoryUsage().heapUsed - before > 8 << 20);
    assert.equal(copy.length, s.length);
  });

  it('is source V8 compiles and runs, with a code cache made from it accepted for the same text', () => {
    const src = '(function (a) { return function inner(b) { return a * b + 1; }; })';
    const p = file('script.js', src);
    const first = new vm.Script(readExternalLatin1(p), { filename: p });
    assert.equal(first.runInThisContext()(6)(7), 43);
    const cachedData = first.createCachedData();
    const second = new vm.Script(readExternalLatin1(p), { filename: p, cachedData });
    assert.equal(second.cachedDataRejected, false);
    assert.equal(second.runInThisContext()(2)(3), 7);
  });

  it('gives an empty string for an empty file', () => {
    assert.equal(readExternalLatin1(file('empty', '')), '');
  });

  it('fails as fs does: ENOENT for a missing file, EISDIR for a directory, EINVAL for what is not a regular file', () => {
    assert.throws(() => readExternalLatin1(join(dir, 'missing')), (e: unknown) => errnoCode(e) === 'ENOENT' && (e as Error).message.includes('missing'));
    assert.throws(() => readExternalLatin1(dir), (e: unknown) => errnoCode(e) === 'EISDIR');
    assert.throws(() => readExternalLatin1('/dev/null'), (e: unknown) => errnoCode(e) === 'EINVAL');
  });
});

describe('readExternalBytes', () => {
  it("gives the file's bytes in a Buffer that is its own copy", () => {
    const b = bytes(300_000);
    const p = file('all2.bin', b);
    const got = readExternalBytes(p);
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual(got, b);
    got[0] = 0xaa; // writable, and the file is not changed by it
    assert.equal(readExternalBytes(p)[0], 0);
  });

  it('gives an empty Buffer for an empty file, and fails with ENOENT for a missing one', () => {
    assert.equal(readExternalBytes(file('empty2', '')).length, 0);
    assert.throws(() => readExternalBytes(join(dir, 'nope')), (e: unknown) => errnoCode(e) === 'ENOENT');
  });
});
