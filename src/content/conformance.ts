/**
 * The ContentStore conformance suite: one set of behaviours every implementation must show.
 * Run from content.test.ts against each implementation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { digestOf } from '../digest/digest.js';
import { DataCorruptError, NotFoundError } from '../errors.js';
import type { ContentStore } from './content.js';

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export function contentStoreSuite(name: string, make: () => Promise<{ store: ContentStore; cleanup: () => Promise<void> }>): void {
  const withStore = (fn: (s: ContentStore) => Promise<void>) => async () => {
    const { store, cleanup } = await make();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  };

  test(`${name}: ingest then read back by digest`, withStore(async (s) => {
    const data = Buffer.from('hello content');
    const info = await s.ingest(Readable.from([data.subarray(0, 5), data.subarray(5)]), { digest: digestOf(data), size: data.length });
    assert.deepEqual(info, { digest: digestOf(data), size: data.length });
    assert.deepEqual(await s.info(info.digest), info);
    assert.deepEqual(await readAll(await s.reader(info.digest)), data);
    assert.deepEqual(await s.readBytes(info.digest), data);
  }));

  test(`${name}: diskBytes: what a blob takes on disk, undefined once it is gone`, withStore(async (s) => {
    // incompressible, so that no file system stores it in much less than its size
    const data = Buffer.alloc(1 << 20);
    for (let i = 0, x = 7; i < data.length; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    const info = await s.ingest(Readable.from([data]));
    const bytes = await s.diskBytes(info.digest);
    assert.ok(bytes !== undefined && bytes >= data.length / 2 && bytes < data.length * 2, `${bytes} bytes on disk for a blob of ${data.length}`);
    await s.delete(info.digest);
    assert.equal(await s.diskBytes(info.digest), undefined);
  }));

  test(`${name}: a named ingest outlives its writer: reopened, it resumes after its bytes; dropped, it starts again`, withStore(async (s) => {
    assert.deepEqual(await s.namedIngests(), []);
    const start = Date.now();
    let w = await s.writer({ ref: 'upload-1' });
    await w.write(Buffer.from('abc'));
    assert.equal(w.offset, 3);
    const listed = await s.namedIngests();
    assert.deepEqual(listed.map((i) => i.ref), ['upload-1']);
    assert.ok(listed[0]!.updatedAt >= start - 1000 && listed[0]!.updatedAt <= Date.now() + 1000, 'when it was last written');
    // a second writer of the same ref, as a later request (or process) opens it
    w = await s.writer({ ref: 'upload-1' });
    assert.equal(w.offset, 3);
    await w.write(Buffer.from('def'));
    assert.equal(w.digest(), digestOf('abcdef'));
    const info = await w.commit({ digest: digestOf('abcdef') });
    assert.deepEqual(await readAll(await s.reader(info.digest)), Buffer.from('abcdef'));
    assert.deepEqual(await s.namedIngests(), [], 'a committed ingest is no longer listed');
    // committed: the ref is gone, a new writer of it starts empty
    w = await s.writer({ ref: 'upload-1' });
    assert.equal(w.offset, 0);
    await w.write(Buffer.from('xyz'));
    await s.dropIngest('upload-1');
    assert.deepEqual(await s.namedIngests(), [], 'nor a dropped one');
    w = await s.writer({ ref: 'upload-1' });
    assert.equal(w.offset, 0);
    await w.abort();
    await assert.rejects(s.writer({ ref: '../escape' }), /invalid ingest ref/);
  }));

  test(`${name}: a blob named by a sha512 digest is verified in sha512`, withStore(async (s) => {
    const data = Buffer.from('sha512 content');
    const d512 = digestOf(data, 'sha512');
    const info = await s.ingest(Readable.from([data]), { digest: d512 });
    assert.equal(info.digest, d512);
    assert.deepEqual(await readAll(await s.reader(d512)), data);
    await assert.rejects(s.ingest(Readable.from([Buffer.from('other')]), { digest: d512 }), DataCorruptError);
  }));

  test(`${name}: an open blob reads by position into the caller's buffer`, withStore(async (s) => {
    const data = Buffer.from('0123456789');
    const info = await s.ingest(Readable.from([data]), { digest: digestOf(data) });
    const h = await s.open(info.digest);
    try {
      assert.equal(h.size, 10);
      const buf = Buffer.alloc(6, 0x2e);
      assert.equal(await h.read(buf, 1, 4, 3), 4);
      assert.equal(buf.toString(), '.3456.');
      assert.equal(await h.read(buf, 0, 6, 8), 2);
      assert.equal(buf.subarray(0, 2).toString(), '89');
      assert.equal(await h.read(buf, 0, 6, 10), 0);
    } finally {
      await h.close();
    }
    await assert.rejects(s.open(digestOf('absent')), NotFoundError);
  }));

  test(`${name}: a range of a blob (both ends inclusive; open-ended to the last byte)`, withStore(async (s) => {
    const data = Buffer.from('0123456789');
    const info = await s.ingest(Readable.from([data]), { digest: digestOf(data) });
    assert.deepEqual(await readAll(await s.reader(info.digest, { start: 2, end: 4 })), Buffer.from('234'));
    assert.deepEqual(await readAll(await s.reader(info.digest, { start: 7 })), Buffer.from('789'));
    assert.deepEqual(await readAll(await s.reader(info.digest, { start: 0, end: 0 })), Buffer.from('0'));
  }));

  test(`${name}: a digest mismatch commits nothing`, withStore(async (s) => {
    const data = Buffer.from('payload');
    const wrong = digestOf('something else');
    await assert.rejects(s.ingest(Readable.from([data]), { digest: wrong }), DataCorruptError);
    assert.equal(await s.info(wrong), undefined);
    assert.equal(await s.info(digestOf(data)), undefined);
    const all = [];
    for await (const b of s.walk()) all.push(b);
    assert.deepEqual(all, []);
  }));

  test(`${name}: a size mismatch commits nothing`, withStore(async (s) => {
    await assert.rejects(s.ingest(Readable.from([Buffer.from('abc')]), { size: 4, what: 'layer 1' }), /layer 1: size mismatch/);
    assert.equal(await s.info(digestOf('abc')), undefined);
  }));

  test(`${name}: a failing source commits nothing`, withStore(async (s) => {
    async function* broken() {
      yield Buffer.from('partial');
      throw new Error('source died');
    }
    await assert.rejects(s.ingest(broken()), /source died/);
    assert.equal(await s.info(digestOf('partial')), undefined);
  }));

  test(`${name}: ingesting the same blob twice keeps one`, withStore(async (s) => {
    const a = await s.ingest(Readable.from([Buffer.from('same')]));
    const b = await s.ingest(Readable.from([Buffer.from('same')]));
    assert.deepEqual(a, b);
    const all = [];
    for await (const x of s.walk()) all.push(x);
    assert.equal(all.length, 1);
  }));

  test(`${name}: delete, and missing blobs`, withStore(async (s) => {
    const info = await s.ingest(Readable.from([Buffer.from('to delete')]));
    assert.equal(s.has(info.digest), true);
    await s.delete(info.digest);
    assert.equal(await s.info(info.digest), undefined);
    assert.equal(s.has(info.digest), false);
    await s.delete(info.digest);
    const again = await s.ingest(Readable.from([Buffer.from('to delete at once')]));
    // what a removal gives back: at least the blob's bytes (a file takes whole blocks), nothing a second time
    const freed = s.deleteSync(again.digest);
    assert.ok(freed >= again.size, `deleteSync freed ${freed} bytes of a ${again.size}-byte blob`);
    assert.equal(s.has(again.digest), false);
    assert.equal(await s.info(again.digest), undefined);
    assert.equal(s.deleteSync(again.digest), 0);
    await assert.rejects(s.reader(info.digest), NotFoundError);
    await assert.rejects(s.readBytes(info.digest), NotFoundError);
  }));

  test(`${name}: readBytes refuses blobs larger than the limit`, withStore(async (s) => {
    const info = await s.ingest(Readable.from([Buffer.alloc(100)]));
    await assert.rejects(s.readBytes(info.digest, 10), DataCorruptError);
  }));

  test(`${name}: walk lists every blob in digest order`, withStore(async (s) => {
    const ds = [];
    for (const t of ['a', 'b', 'c']) ds.push((await s.ingest(Readable.from([Buffer.from(t)]))).digest);
    const seen = [];
    for await (const x of s.walk()) seen.push(x.digest);
    assert.deepEqual(seen, [...ds].sort());
  }));

  test(`${name}: digests lists what walk lists, in its order; a deleted blob is gone from it`, withStore(async (s) => {
    assert.deepEqual(await s.digests(), []);
    const ds = [];
    for (const t of ['x', 'y', 'z', 'w']) ds.push((await s.ingest(Readable.from([Buffer.from(t)]))).digest);
    const walked = [];
    for await (const x of s.walk()) walked.push(x.digest);
    assert.deepEqual(await s.digests(), walked);
    assert.deepEqual(await s.digests(), [...ds].sort());
    await s.delete(ds[1]!);
    assert.deepEqual(await s.digests(), ds.filter((_, i) => i !== 1).sort());
  }));

  test(`${name}: writer reports offset and abort leaves nothing`, withStore(async (s) => {
    const w = await s.writer();
    await w.write(Buffer.from('12345'));
    assert.equal(w.offset, 5);
    assert.equal(w.digest(), digestOf('12345'), 'digest of what was written so far');
    await w.write(Buffer.from('6'));
    assert.equal(w.digest(), digestOf('123456'));
    await w.abort();
    assert.equal(await s.info(digestOf('12345')), undefined);
  }));

  test(`${name}: a writer whose caller hashes: commits under the caller's digest, still checks the size, hashes itself when given none`, withStore(async (s) => {
    const w = await s.writer({ hashedByCaller: true });
    await w.write(Buffer.from('caller'));
    assert.equal(w.offset, 6);
    assert.throws(() => w.digest(), /caller/);
    assert.deepEqual(await w.commit({ digest: digestOf('caller'), size: 6 }), { digest: digestOf('caller'), size: 6 });
    assert.equal((await s.readBytes(digestOf('caller'))).toString(), 'caller');
    const short = await s.writer({ hashedByCaller: true });
    await short.write(Buffer.from('abc'));
    await assert.rejects(short.commit({ digest: digestOf('abcd'), size: 4 }), /size mismatch/);
    assert.equal(await s.info(digestOf('abcd')), undefined);
    const unnamed = await s.writer({ hashedByCaller: true });
    await unnamed.write(Buffer.from('read back'));
    assert.deepEqual(await unnamed.commit(), { digest: digestOf('read back'), size: 9 });
  }));
}
