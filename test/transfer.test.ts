/**
 * The source/sink conformance suite: every image source copied into every image sink with
 * copyImages, and the result read back (a store through its StoreSource; an archive by
 * loading it into a fresh store). Each image must arrive with the same config digest (image
 * ID), the same diffIDs, the same layer blobs and names, and the same manifest digest wherever
 * the sink's format keeps the manifest (a Docker manifest written to an OCI archive becomes an
 * OCI manifest naming the same blobs). A store sink must also have unpacked every layer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Store } from '../src/store/store.js';
import { copyImages } from '../src/transfer/copy.js';
import { StoreSink } from '../src/transfer/store-sink.js';
import { StoreSource } from '../src/transfer/store-source.js';
import type { ImageSink, ImageSource, SourceImage } from '../src/transfer/types.js';
import { ArchiveSource } from '../src/archive/source.js';
import { ArchiveSink, type ArchiveFormat } from '../src/archive/sink.js';
import { RootfsSource } from '../src/archive/rootfs.js';
import { chainIds } from '../src/oci/chainid.js';
import { DOCKER_MANIFEST, OCI_MANIFEST } from '../src/oci/mediatypes.js';
import { makeDockerArchive, makeTar, randomBytesSeeded, readableOf, tempDir } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let n = 0;
const newRoot = () => join(dir.path, `root-${n++}`);
const stores: Store[] = [];
async function openStore(): Promise<Store> {
  const s = await Store.open({ root: newRoot() });
  stores.push(s);
  return s;
}

let legacyArchive: Buffer;
let rootfsGzip: Buffer;
let origin: Store;
let ociArchive: Buffer;
const ORIGIN_NAMES = ['conf/legacy:1', 'conf/rootfs:1'];

function collect(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

function rootfsSource(bytes: Buffer): RootfsSource {
  return new RootfsSource(readableOf(bytes), {
    tag: 'docker.io/conf/rootfs:1',
    platform: { os: 'linux', architecture: 'amd64' },
    created: new Date('2024-01-02T03:04:05Z'),
    message: 'conformance',
  });
}

before(async () => {
  dir = await tempDir('cairn-transfer-');
  const base = await makeTar([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/os-release', content: 'conformance\n' },
    { path: 'big.bin', content: randomBytesSeeded(2 << 20, 3) },
    { path: 'gone', content: 'x' },
  ]);
  const top = await makeTar([{ path: 'top.txt', content: 'top\n' }, { path: '.wh.gone', content: '' }]);
  legacyArchive = await makeDockerArchive([{ layers: [base, top], repoTags: ['conf/legacy:1'] }]);
  rootfsGzip = await makeTar([{ path: 'bin/', type: 'dir' }, { path: 'bin/tool', content: randomBytesSeeded(300_000, 9), mode: 0o755 }], 'gzip');
  // The origin store holds a Docker-manifest image with plain layers and one with a gzip layer.
  origin = await openStore();
  await copyImages(new ArchiveSource(readableOf(legacyArchive)), new StoreSink(origin));
  await copyImages(rootfsSource(rootfsGzip), new StoreSink(origin));
  const c = collect();
  await copyImages(new StoreSource(origin, ORIGIN_NAMES), new ArchiveSink('oci-archive', c.out));
  ociArchive = c.bytes();
});

after(async () => {
  for (const s of stores) s.close();
  await dir.cleanup();
});

/** A sink that remembers the images the source offered, as the source offered them. */
function recording<R>(sink: ImageSink<R>, seen: SourceImage[]): ImageSink<R> {
  return {
    verbs: sink.verbs,
    receive: (b, h) => sink.receive(b, h),
    hasLayer: (l) => sink.hasLayer(l),
    putLayer: (l, b, o) => sink.putLayer(l, b, o),
    putImage: (img) => {
      seen.push(img);
      return sink.putImage(img);
    },
    commit: () => sink.commit(),
    abort: () => sink.abort(),
  };
}

const SOURCES: Record<string, () => ImageSource> = {
  store: () => new StoreSource(origin, ORIGIN_NAMES),
  'docker-archive (legacy layout, stream)': () => new ArchiveSource(readableOf(legacyArchive)),
  'oci-archive (stream)': () => new ArchiveSource(readableOf(ociArchive)),
  'root filesystem tar (gzip)': () => rootfsSource(rootfsGzip),
};

interface Target {
  sink(): Promise<ImageSink<unknown>>;
  /** The images as the sink holds them, read back. */
  readBack(names: string[]): Promise<SourceImage[]>;
  keepsManifest(offered: SourceImage): boolean;
  /** Checks only a store can answer (layers unpacked). */
  extra?(images: SourceImage[]): Promise<void>;
}

async function storeTarget(): Promise<Target> {
  const store = await openStore();
  return {
    sink: async () => new StoreSink(store),
    readBack: (names) => new StoreSource(store, names).images(),
    keepsManifest: () => true,
    extra: async (images) => {
      const sn = await store.snapshots();
      for (const img of images) {
        for (const c of chainIds(img.layers.map((l) => l.diffId))) assert.equal((await sn.stat(c)).kind, 'committed', `layer ${c} is unpacked`);
      }
    },
  };
}

async function archiveTarget(format: ArchiveFormat): Promise<Target> {
  const c = collect();
  return {
    sink: async () => new ArchiveSink(format, c.out),
    readBack: async (names) => {
      const store = await openStore();
      await copyImages(new ArchiveSource(readableOf(c.bytes())), new StoreSink(store));
      return new StoreSource(store, names).images();
    },
    keepsManifest: (offered) => format === 'docker-archive' || offered.manifest.mediaType !== DOCKER_MANIFEST,
  };
}

const SINKS: Record<string, () => Promise<Target>> = {
  store: storeTarget,
  'docker-archive': () => archiveTarget('docker-archive'),
  'oci-archive': () => archiveTarget('oci-archive'),
};

for (const [sourceName, makeSource] of Object.entries(SOURCES)) {
  for (const [sinkName, makeTarget] of Object.entries(SINKS)) {
    test(`copy ${sourceName} -> ${sinkName}: same image IDs, diffIDs, blobs, names; manifests kept where the format keeps them`, async () => {
      const target = await makeTarget();
      const offered: SourceImage[] = [];
      await copyImages(makeSource(), recording(await target.sink(), offered));
      assert.ok(offered.length > 0, 'the source offered images');
      const got = await target.readBack(offered.map((o) => o.config.digest));
      assert.equal(got.length, offered.length);
      for (const [i, want] of offered.entries()) {
        const have = got[i]!;
        assert.equal(have.config.digest, want.config.digest, 'image ID');
        assert.ok(have.config.raw.equals(want.config.raw), 'config bytes');
        assert.deepEqual(have.layers.map((l) => l.diffId), want.layers.map((l) => l.diffId), 'diffIDs');
        assert.deepEqual(have.layers.map((l) => [l.digest, l.size]), want.layers.map((l) => [l.digest, l.size]), 'layer blobs as given');
        if (target.keepsManifest(want)) assert.equal(have.manifest.digest, want.manifest.digest, 'manifest digest kept');
        else assert.equal(have.manifest.mediaType, OCI_MANIFEST, 'converted to an OCI manifest');
      }
      await target.extra?.(got);
    });
  }
}

test('names travel with the images: tags from an archive reach the store', async () => {
  const store = await openStore();
  const [img] = await copyImages(new ArchiveSource(readableOf(legacyArchive)), new StoreSink(store));
  assert.deepEqual(img!.tags, ['conf/legacy:1']);
  const [back] = await new StoreSource(store, ['conf/legacy:1']).images();
  assert.deepEqual(back!.names, ['docker.io/conf/legacy:1']);
});

test('a second copy of the same image reads no layer: the sink has them ("Already exists")', async () => {
  const store = await openStore();
  await copyImages(new StoreSource(origin, ORIGIN_NAMES), new StoreSink(store));
  const read: string[] = [];
  const source = new StoreSource(origin, ORIGIN_NAMES);
  const spy: ImageSource = {
    verified: true,
    images: () => source.images(),
    layer: (l) => {
      read.push(l.digest);
      return source.layer(l);
    },
    close: () => source.close(),
  };
  await copyImages(spy, new StoreSink(store));
  assert.deepEqual(read, []);
});

test('a failed copy leaves the sink as it was: a layer whose bytes do not match its digest', async () => {
  const store = await openStore();
  const source = new StoreSource(origin, ['conf/legacy:1']);
  const liar: ImageSource = {
    verified: false,
    images: () => source.images(),
    layer: async () => readableOf(Buffer.from('not the layer')),
    close: () => source.close(),
  };
  await assert.rejects(copyImages(liar, new StoreSink(store)), /digest mismatch|size mismatch/);
  assert.deepEqual(await new StoreSource(store, ['x']).images().catch((e: Error) => e.message), 'No such image: x');
  const blobs = [];
  for await (const b of store.content.walk()) blobs.push(b);
  assert.deepEqual(blobs, [], 'nothing left in the content store');
});

test('from an archive file, layers are read by position, two at a time on overlay, and progress still moves as each is read', async () => {
  const { writeFileSync } = await import('node:fs');
  const layers = [0, 1, 2].map((i) => randomBytesSeeded(3 << 20, 70 + i));
  const tars = await Promise.all(layers.map((b, i) => makeTar([{ path: `f${i}`, content: b }])));
  const file = join(dir.path, 'progress-archive.tar');
  writeFileSync(file, await makeDockerArchive([{ layers: tars, repoTags: ['span/progress:1'] }]));
  const store = await openStore();
  const events: string[] = [];
  const seen = new Map<string, number[]>();
  const progress = {
    start: (id: string, label: string, total?: number) => void events.push(`start ${id} ${label} ${total}`),
    update: (id: string, done: number) => void (seen.get(id) ?? seen.set(id, []).get(id)!).push(done),
    finish: (id: string, message: string) => void events.push(`finish ${id} ${message}`),
  };
  const sink = new StoreSink(store);
  assert.equal(await sink.receiveSlots(), (await store.snapshots()).capabilities.rebase ? 2 : 1);
  const [img] = await copyImages(new ArchiveSource({ file }), sink, { progress });
  assert.equal(img!.tags[0], 'span/progress:1');
  assert.equal(events.filter((e) => e.startsWith('start')).length, 3);
  assert.equal(events.filter((e) => e.startsWith('finish') && e.endsWith('Loaded')).length, 3);
  assert.equal(seen.size, 3, 'every big layer reported progress');
  for (const [id, done] of seen) {
    assert.ok(done.length >= 2, `${id}: more than one update`);
    for (let i = 1; i < done.length; i++) assert.ok(done[i]! >= done[i - 1]!, `${id}: progress never goes back`);
    assert.equal(done.at(-1), tars.find((t) => t.length === done.at(-1))?.length, `${id}: ends at the layer's size`);
  }
});
