/**
 * The compressed-blobs policy (issue 9, point 3): by default a compressed layer keeps its blob
 * beside its snapshot (save keeps its digest); with `--storage-opt compressed-blobs=drop`
 * (recorded in the store) such a layer is on disk once — snapshot plus tar-split record — and
 * save writes it uncompressed, re-emitted from its files, under a manifest that says so; the
 * image (config, diffIDs) is the same. Switching an existing store to drop removes the
 * compressed blobs it kept.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { cairn, cairnOk, makeTar, randomBytesSeeded, tempDir } from './helpers.js';
import { readTar } from '../src/tar/index.js';

let dir: { path: string; cleanup: () => Promise<void> };
let gz: Buffer;
let tar: Buffer;
let gzFile: string;

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DROP = ['--storage-opt', 'compressed-blobs=drop'];

before(async () => {
  dir = await tempDir('cairn-compressed-blobs-');
  gz = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/data', content: randomBytesSeeded(1 << 20, 5) }, { path: 'etc/motd', content: 'hello\n' }], 'gzip');
  tar = gunzipSync(gz);
  gzFile = join(dir.path, 'rootfs.tar.gz');
  writeFileSync(gzFile, gz);
});
after(() => dir.cleanup());

function blobs(root: string): string[] {
  const d = join(root, 'content', 'blobs', 'sha256');
  return existsSync(d) ? readdirSync(d).map((h) => `sha256:${h}`) : [];
}

async function members(archive: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const e of readTar([readFileSync(archive)])) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c);
    if (e.header.type === 'file') out.set(e.header.name, Buffer.concat(chunks));
  }
  return out;
}

interface Manifest {
  mediaType: string;
  config: { digest: string };
  layers: Array<{ mediaType: string; digest: string; size: number }>;
}

/** The one manifest of an oci-archive. */
function manifestOf(m: Map<string, Buffer>): Manifest {
  const index = JSON.parse(m.get('index.json')!.toString()) as { manifests: Array<{ digest: string }> };
  return JSON.parse(m.get(`blobs/sha256/${index.manifests[0]!.digest.slice(7)}`)!.toString()) as Manifest;
}

const imageId = async (root: string, ref: string) => (await cairnOk(root, ['images', '-q', '--no-trunc', ref])).stdout.trim();

test('keep (default): the gzip blob stays and save writes it as given', async () => {
  const root = join(dir.path, 'keep');
  await cairnOk(root, ['import', gzFile, 'cb/img:1']);
  assert.ok(blobs(root).includes(sha(gz)), 'the compressed blob is kept');
  assert.match((await cairnOk(root, ['info'])).stdout, /^Compressed Blobs: keep$/m);
  const out = join(dir.path, 'keep.tar');
  await cairnOk(root, ['save', '--format', 'oci-archive', '-o', out, 'cb/img:1']);
  const m = await members(out);
  const manifest = manifestOf(m);
  assert.equal(manifest.layers[0]!.digest, sha(gz));
  assert.ok(m.get(`blobs/sha256/${sha(gz).slice(7)}`)?.equals(gz));
});

test('drop: the layer is on disk once; save writes it uncompressed, byte for byte, and it loads back as the same image', async () => {
  const root = join(dir.path, 'drop');
  await cairnOk(root, [...DROP, 'import', gzFile, 'cb/img:1']);
  assert.ok(!blobs(root).includes(sha(gz)) && !blobs(root).includes(sha(tar)), 'no layer blob in the content store');
  // Recorded: later commands keep the policy without the flag.
  assert.match((await cairnOk(root, ['info'])).stdout, /^Compressed Blobs: drop$/m);
  const id = await imageId(root, 'cb/img:1');
  for (const format of ['oci-archive', 'docker-archive']) {
    const out = join(dir.path, `drop-${format}.tar`);
    await cairnOk(root, ['save', '--format', format, '-o', out, 'cb/img:1']);
    const m = await members(out);
    const manifest = manifestOf(m);
    assert.equal(manifest.config.digest, id, `${format}: the same config`);
    assert.deepEqual(manifest.layers.map((l) => [l.digest, l.size]), [[sha(tar), tar.length]], `${format}: the layer named uncompressed`);
    assert.match(manifest.layers[0]!.mediaType, /tar$/, `${format}: an uncompressed layer media type`);
    assert.ok(m.get(`blobs/sha256/${sha(tar).slice(7)}`)?.equals(tar), `${format}: the layer re-emitted byte for byte`);
    const other = join(dir.path, `drop-reload-${format}`);
    await cairnOk(other, ['load', '-i', out]);
    assert.equal(await imageId(other, 'cb/img:1'), id, `${format}: loads as the same image`);
  }
});

test('drop: an archive with a gzip layer, from a pipe and from a file, keeps no blob; loaded again, the layer already exists', async () => {
  const src = join(dir.path, 'src');
  await cairnOk(src, ['import', gzFile, 'cb/img:1']);
  const archive = join(dir.path, 'gz-oci.tar');
  await cairnOk(src, ['save', '--format', 'oci-archive', '-o', archive, 'cb/img:1']);
  const id = await imageId(src, 'cb/img:1');
  for (const [name, argv, input] of [['pipe', ['load'], readFileSync(archive)], ['file', ['load', '-i', archive], undefined]] as const) {
    const root = join(dir.path, `drop-load-${name}`);
    await cairnOk(root, [...DROP, ...argv], input ? { input } : {});
    assert.equal(await imageId(root, 'cb/img:1'), id, name);
    assert.ok(!blobs(root).includes(sha(gz)), `${name}: the compressed blob is not kept`);
    assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], `${name}: no ingest file is left`);
    const again = await cairnOk(root, ['load', '-i', archive]);
    assert.match(again.stderr + again.stdout, /Loaded image: cb\/img:1/);
    assert.ok(!blobs(root).includes(sha(gz)), `${name}: loading again does not bring the blob back`);
  }
});

test('switching a store to drop removes the compressed blobs it kept; the images stay whole', async () => {
  const root = join(dir.path, 'switch');
  await cairnOk(root, ['import', gzFile, 'cb/img:1']);
  assert.ok(blobs(root).includes(sha(gz)));
  const id = await imageId(root, 'cb/img:1');
  await cairnOk(root, [...DROP, 'images']);
  assert.ok(!blobs(root).includes(sha(gz)), 'the compressed blob is gone');
  assert.equal(await imageId(root, 'cb/img:1'), id);
  const target = (await cairnOk(root, ['image', 'mount', 'cb/img:1'])).stdout.trim();
  try {
    assert.equal(readFileSync(join(target, 'etc', 'motd'), 'utf8'), 'hello\n');
  } finally {
    await cairnOk(root, ['image', 'umount', 'cb/img:1']);
  }
  // Back to keep: recorded; a layer received again keeps its blob.
  await cairnOk(root, ['--storage-opt', 'compressed-blobs=keep', 'import', gzFile, 'cb/img:2']);
  assert.match((await cairnOk(root, ['info'])).stdout, /^Compressed Blobs: keep$/m);
  assert.ok(blobs(root).includes(sha(gz)), 'keep again: the blob is kept');
});

test('an unknown or invalid storage option is a one-line error', async () => {
  const root = join(dir.path, 'bad');
  for (const [opt, msg] of [
    ['size=10G', /unknown storage option "size": the one known is compressed-blobs=keep\|drop/],
    ['compressed-blobs=maybe', /invalid storage option "compressed-blobs=maybe": compressed-blobs is keep or drop/],
  ] as const) {
    const r = await cairn(root, ['--storage-opt', opt, 'images']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, msg);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
