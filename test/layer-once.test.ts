/**
 * Each layer on disk once: an uncompressed layer (from a docker-archive, or imported) is kept
 * as its unpacked snapshot plus a tar-split record, with no blob; `save` re-emits its exact
 * tar (same digest, same bytes), so save -> load -> save stays byte-stable; a compressed layer
 * keeps its blob; a file changed in a snapshot is detected when the layer is re-emitted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tarBytes, tempDir, unmountUnder } from './helpers.js';
import { readTar } from '../src/tar/index.js';

let dir: { path: string; cleanup: () => Promise<void> };
let base: Buffer;
let top: Buffer;

before(async () => {
  dir = await tempDir('cairn-once-');
  base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/data', content: randomBytesSeeded(2 << 20, 11) }, { path: 'etc/small', content: 'small\n' }, { path: 'gone', content: 'x' }]);
  top = await makeTar([{ path: 'top', content: randomBytesSeeded(300_000, 12) }, { path: '.wh.gone', content: '' }]);
});
after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blobs(root: string): string[] {
  const d = join(root, 'content', 'blobs', 'sha256');
  return existsSync(d) ? readdirSync(d).map((h) => `sha256:${h}`) : [];
}

/** Members of a tar archive by name. */
async function members(archive: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const e of readTar([archive])) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    if (e.header.type === 'file') out.set(e.header.name, Buffer.concat(chunks));
  }
  return out;
}

/** A docker-archive of `base` as `tag` with a stray first member `extra.bin` (a tar is concatenable only before its end blocks, so rebuilt). */
async function withStrayMember(tag: string, junk: Buffer): Promise<Buffer> {
  const m = await members(await makeDockerArchive([{ layers: [base], repoTags: [tag] }]));
  return tarBytes(async (tar) => {
    await tar.add({ name: 'extra.bin', size: junk.length, mtime: 0 }, junk);
    for (const [name, body] of m) await tar.add({ name, size: body.length, mtime: 0 }, body);
  });
}

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: uncompressed layers keep no blob; save re-emits them byte for byte`, async () => {
    const root = join(dir.path, `${driver}-store`);
    await cairnOk(root, ['--storage-driver', driver, 'load'], { input: await makeDockerArchive([{ layers: [base, top], repoTags: ['once/a:1'] }]) });
    const stored = blobs(root);
    assert.ok(!stored.includes(sha(base)) && !stored.includes(sha(top)), 'no layer blob in the content store');
    const out = join(dir.path, `${driver}-saved.tar`);
    await cairnOk(root, ['save', '-o', out, 'once/a:1']);
    const m = await members(readFileSync(out));
    assert.ok(m.get(`blobs/sha256/${sha(base).slice(7)}`)?.equals(base), 'the base layer re-emitted byte for byte');
    assert.ok(m.get(`blobs/sha256/${sha(top).slice(7)}`)?.equals(top), 'the top layer re-emitted byte for byte');
    // save -> load -> save is byte-stable.
    const root2 = join(dir.path, `${driver}-store2`);
    await cairnOk(root2, ['--storage-driver', driver, 'load', '-i', out]);
    const out2 = join(dir.path, `${driver}-saved2.tar`);
    await cairnOk(root2, ['save', '-o', out2, 'once/a:1']);
    assert.ok(readFileSync(out2).equals(readFileSync(out)), 'save -> load -> save gives the same bytes');
  });
}

test('a compressed layer keeps its blob (save keeps its digest)', async () => {
  const root = join(dir.path, 'gzip-store');
  const gz = await makeTar([{ path: 'z', content: randomBytesSeeded(100_000, 13) }], 'gzip');
  const id = (await cairnOk(root, ['import', '-', 'once/gz:1'], { input: gz })).stdout.trim();
  assert.ok(blobs(root).includes(sha(gz)), 'the gzip blob is kept');
  const out = join(dir.path, 'gz.tar');
  await cairnOk(root, ['save', '-o', out, 'once/gz:1']);
  assert.ok((await members(readFileSync(out))).get(`blobs/sha256/${sha(gz).slice(7)}`)?.equals(gz));
  assert.match(id, /^sha256:/);
});

test('a file changed in a layer snapshot is detected when the layer is re-emitted: save fails, names the layer, leaves no file', async () => {
  const root = join(dir.path, 'corrupt-store');
  await cairnOk(root, ['--storage-driver', 'overlay', 'load'], { input: await makeDockerArchive([{ layers: [base], repoTags: ['once/c:1'] }]) });
  // The layer's own directory in the overlay store: the snapshot holding etc/small.
  const snaps = join(root, 'snapshots', 'overlay');
  const target = readdirSync(snaps).map((d) => join(snaps, d, 'fs', 'etc', 'small')).find((p) => existsSync(p));
  assert.ok(target, 'found the unpacked file');
  writeFileSync(target, 'SMALL\n'); // same size, different bytes
  const out = join(dir.path, 'corrupt.tar');
  const r = await cairn(root, ['save', '-o', out, 'once/c:1']);
  assert.equal(r.code, 1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
  assert.deepEqual(errors, [`Error: layer ${sha(base)}: re-emitted tar does not match its diffID: file "etc/small" changed since it was unpacked`]);
  assert.equal(existsSync(out), false, 'no partial archive');
  assert.deepEqual(readdirSync(dir.path).filter((f) => f.includes('corrupt.tar')), []);
});

test('a base layer holding whiteouts loads as a plain base: nothing of them shows when mounted; save still re-emits it', async () => {
  const root = join(dir.path, 'base-whiteouts');
  const odd = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/.wh..wh..opq', content: '' }, { path: 'etc/f', content: 'f\n' }, { path: '.wh.nothing', content: '' }]);
  await cairnOk(root, ['--storage-driver', 'overlay', 'load'], { input: await makeDockerArchive([{ layers: [odd], repoTags: ['once/odd-base:1'] }, { layers: [odd, top], repoTags: ['once/odd:1'] }]) });
  // A one-layer image is its base directory mounted as it is: a whiteout device would show there.
  for (const [image, want] of [['once/odd-base:1', ['etc']], ['once/odd:1', ['etc', 'top']]] as const) {
    const target = (await cairnOk(root, ['image', 'mount', image])).stdout.trim();
    try {
      assert.deepEqual(readdirSync(target).sort(), want, image);
      assert.deepEqual(readdirSync(join(target, 'etc')), ['f'], image);
    } finally {
      await cairnOk(root, ['image', 'umount', image]);
    }
  }
  const out = join(dir.path, 'odd.tar');
  await cairnOk(root, ['save', '-o', out, 'once/odd:1']);
  assert.ok((await members(readFileSync(out))).get(`blobs/sha256/${sha(odd).slice(7)}`)?.equals(odd), 'the odd base layer re-emitted byte for byte');
});

test('an archive member that is neither JSON nor a layer any manifest names is ignored, and not kept', async () => {
  const root = join(dir.path, 'extra-member');
  const junk = randomBytesSeeded(50_000, 21);
  const rebuilt = await withStrayMember('once/x:1', junk);
  await cairnOk(root, ['load'], { input: rebuilt });
  assert.equal((await cairnOk(root, ['images', '-q', 'once/x:1'])).stdout.trim().length, 12);
  assert.ok(!blobs(root).includes(sha(junk)), 'the stray member is not kept');
});

test('one uncompressed layer on two different bases in one archive: both chains unpacked, the layer kept once as files', async () => {
  const root = join(dir.path, 'two-chains');
  const a = await makeTar([{ path: 'a', content: 'A\n' }]);
  const b = await makeTar([{ path: 'b', content: 'B\n' }]);
  const x = await makeTar([{ path: 'x', content: randomBytesSeeded(200_000, 31) }]);
  await cairnOk(root, ['--storage-driver', 'overlay', 'load'], { input: await makeDockerArchive([{ layers: [a, x], repoTags: ['two/a:1'] }, { layers: [b, x], repoTags: ['two/b:1'] }]) });
  assert.ok(!blobs(root).includes(sha(x)), 'no blob of the shared layer');
  for (const [image, own] of [['two/a:1', 'a'], ['two/b:1', 'b']] as const) {
    const target = (await cairnOk(root, ['image', 'mount', image])).stdout.trim();
    try {
      assert.deepEqual(readdirSync(target).sort(), [own, 'x'], image);
    } finally {
      await cairnOk(root, ['image', 'umount', image]);
    }
    const out = join(dir.path, `two-${own}.tar`);
    await cairnOk(root, ['save', '-o', out, image]);
    assert.ok((await members(readFileSync(out))).get(`blobs/sha256/${sha(x).slice(7)}`)?.equals(x), `${image}: the shared layer re-emitted byte for byte`);
  }
});

test('a layer its files cannot reproduce (a path given twice) keeps its blob, from a pipe (teed) and from a file (read again): save is byte for byte', async () => {
  const dup = await makeTar([{ path: 'dup', content: randomBytesSeeded(150_000, 41) }, { path: 'dup', content: 'second\n' }, { path: 'other', content: 'o\n' }]);
  const archive = await makeDockerArchive([{ layers: [dup], repoTags: ['dup/x:1'] }]);
  const file = join(dir.path, 'dup-archive.tar');
  writeFileSync(file, archive);
  const rootfs = join(dir.path, 'dup-rootfs.tar');
  writeFileSync(rootfs, dup);
  const cases: [string, string[], Buffer | undefined, string][] = [
    ['pipe', ['load'], archive, 'dup/x:1'],
    ['file', ['load', '-i', file], undefined, 'dup/x:1'],
    ['import', ['import', rootfs, 'dup/i:1'], undefined, 'dup/i:1'],
  ];
  for (const [name, argv, input, image] of cases) {
    const root = join(dir.path, `dup-${name}`);
    await cairnOk(root, argv, input ? { input } : {});
    assert.ok(blobs(root).includes(sha(dup)), `${name}: the layer's blob is kept`);
    const out = join(dir.path, `dup-${name}-saved.tar`);
    await cairnOk(root, ['save', '-o', out, image]);
    assert.ok((await members(readFileSync(out))).get(`blobs/sha256/${sha(dup).slice(7)}`)?.equals(dup), `${name}: the layer saved byte for byte`);
  }
  // A reproducible layer from a file keeps no blob, as from a pipe.
  const plain = join(dir.path, 'plain-archive.tar');
  writeFileSync(plain, await makeDockerArchive([{ layers: [base], repoTags: ['plain/x:1'] }]));
  const root = join(dir.path, 'plain-file');
  await cairnOk(root, ['load', '-i', plain]);
  assert.ok(!blobs(root).includes(sha(base)), 'no blob of a reproducible layer');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'no ingest file is left');
});

test('from a file, a member that is not a layer is read again, checked and dropped like one from a pipe', async () => {
  const junk = randomBytesSeeded(50_000, 22);
  const rebuilt = await withStrayMember('once/y:1', junk);
  const file = join(dir.path, 'extra-member.tar');
  writeFileSync(file, rebuilt);
  const root = join(dir.path, 'extra-member-file');
  await cairnOk(root, ['load', '-i', file]);
  assert.equal((await cairnOk(root, ['images', '-q', 'once/y:1'])).stdout.trim().length, 12);
  assert.ok(!blobs(root).includes(sha(junk)), 'the stray member is not kept');
});

test('an empty (0-byte) layer loads from a pipe and from a file, and saves back as the same image', async () => {
  const archive = await makeDockerArchive([{ layers: [Buffer.alloc(0)], repoTags: ['once/empty:1'] }]);
  const file = join(dir.path, 'empty-layer.tar');
  writeFileSync(file, archive);
  const ids: string[] = [];
  for (const [name, argv, input] of [['pipe', ['load'], archive], ['file', ['load', '-i', file], undefined]] as const) {
    const root = join(dir.path, `empty-${name}`);
    const r = await cairnOk(root, [...argv], input ? { input } : {});
    assert.match(r.stdout, /^Loaded image: once\/empty:1$/m, name);
    ids.push((await cairnOk(root, ['images', '-q', '--no-trunc', 'once/empty:1'])).stdout.trim());
    const out = join(dir.path, `empty-${name}-saved.tar`);
    await cairnOk(root, ['save', '-o', out, 'once/empty:1']);
    const again = join(dir.path, `empty-${name}-again`);
    await cairnOk(again, ['load', '-i', out]);
    assert.equal((await cairnOk(again, ['images', '-q', '--no-trunc', 'once/empty:1'])).stdout.trim(), ids.at(-1), `${name}: saved and loaded back, the same image`);
  }
  assert.equal(ids[0], ids[1]);
});
