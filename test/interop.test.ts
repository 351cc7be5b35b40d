/**
 * Interoperability with tools no one here wrote (installed by scripts/setup.sh): archives made
 * by `cairn save` are read by skopeo, umoci, podman and docker (Debian's dockerd 20.10); archives made by skopeo and podman load
 * with `cairn load` and give the same image (config digest = image ID, diffIDs, and the manifest
 * digest where the format keeps it); save -> load -> save is byte-stable for both formats.
 *
 * The multi-layer images are built with GNU tar and umoci (an OCI layout, gzip layers, one
 * whiteout, a config change that adds an empty-layer history entry) and copied into archives
 * with skopeo. Layers as `umoci insert` writes them (a `/` root entry, no end-of-archive blocks:
 * umoci issue #436, fixed after the 0.4.7 that Debian 12 ships) are tested on their own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Store } from '../src/store/store.js';
import { getImage } from '../src/metadata/records.js';
import type { Digest } from '../src/digest/digest.js';
import { busyboxTar, cairn, cairnOk, have, podmanIn, tempDir } from './helpers.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from './docker.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let bbTar: Buffer;
let n = 0;

/** A fresh path under the test's temporary directory. */
const fresh = (name: string) => join(dir.path, `${name}-${++n}`);

/** Run a peer tool; fail with its stderr on a non-zero exit. */
function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Member names of a tar archive, in order (GNU tar lists them as stored). */
function members(file: string): string[] {
  return run('tar', ['-tf', file]).split('\n').filter((l) => l !== '');
}

function member(file: string, name: string): Buffer {
  const r = spawnSync('tar', ['-xOf', file, name], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tar -xOf ${file} ${name}: ${r.stderr.toString()}`);
  return r.stdout;
}

interface IndexJson {
  manifests: Array<{ digest: string; size: number; mediaType: string; annotations?: Record<string, string> }>;
}

interface LayoutImage {
  manifestDigest: string;
  configDigest: string;
  diffIds: string[];
  layerDigests: string[];
}

/** What an OCI layout on disk says about one tag. */
function layoutImage(layout: string, tag: string): LayoutImage {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as IndexJson;
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  assert.ok(desc, `tag ${tag} in ${layout}`);
  const blob = (d: string) => readFileSync(join(layout, 'blobs', 'sha256', d.slice(7)));
  const manifest = JSON.parse(blob(desc.digest).toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  const config = JSON.parse(blob(manifest.config.digest).toString()) as { rootfs: { diff_ids: string[] } };
  return { manifestDigest: desc.digest, configDigest: manifest.config.digest, diffIds: config.rootfs.diff_ids, layerDigests: manifest.layers.map((l) => l.digest) };
}

interface Inspected {
  Id: string;
  RepoTags: string[];
  RootFS: { Layers: string[] };
  Config: { Cmd: string[] | null; Env: string[] | null };
}

async function inspect(root: string, ref: string): Promise<Inspected> {
  const [i] = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout) as Inspected[];
  return i!;
}

/** The manifest digest cairn recorded for an image (no CLI prints it yet). */
async function storedManifestDigest(root: string, id: string): Promise<string> {
  const store = await Store.open({ root });
  try {
    const img = getImage(store.db, id as Digest);
    assert.ok(img, `image ${id} in the store`);
    return img.manifestDigest;
  } finally {
    store.close();
  }
}

// The umoci layout: `three` (busybox root, /data with two files, a whiteout of one, then a
// config change) and `four` (three plus one more layer), sharing three's layers.
let layout: string;
let three: LayoutImage;
let four: LayoutImage;
/** skopeo's archives of the layout's images. */
let skDocker: string;
let skOci: string;
let skOciBare: string;
let skOciFour: string;

before(async () => {
  for (const tool of ['skopeo', 'umoci', 'tar']) assert.ok(have(tool), `${tool} is required (scripts/setup.sh installs it)`);
  dir = await tempDir('cairn-interop-');
  bbTar = await busyboxTar('none');
  writeFileSync(join(dir.path, 'bb.tar'), bbTar);
  // Layer tars written by GNU tar (names './…'), added verbatim by umoci, which gzips them and
  // writes the manifest, config and history.
  const rfs = join(dir.path, 'rfs');
  mkdirSync(rfs);
  run('tar', ['-xf', join(dir.path, 'bb.tar'), '-C', rfs]);
  const data = join(dir.path, 'l2');
  mkdirSync(join(data, 'data'), { recursive: true });
  writeFileSync(join(data, 'data', 'hello.txt'), 'hello\n');
  writeFileSync(join(data, 'data', 'gone.txt'), 'gone\n');
  const wh = join(dir.path, 'l3');
  mkdirSync(join(wh, 'data'), { recursive: true });
  writeFileSync(join(wh, 'data', '.wh.gone.txt'), '');
  const child = join(dir.path, 'l4');
  mkdirSync(join(child, 'data'), { recursive: true });
  writeFileSync(join(child, 'data', 'child.txt'), 'child\n');
  const layerTar = (src: string, name: string) => {
    const file = join(dir.path, name);
    run('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@1700000000', '--sort=name', '-C', src, '-cf', file, '.']);
    return file;
  };

  layout = join(dir.path, 'layout');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:three`]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:three`, layerTar(rfs, 'l1.tar')]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:three`, layerTar(data, 'l2.tar')]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:three`, layerTar(wh, 'l3.tar')]);
  run('umoci', ['config', '--image', `${layout}:three`, '--config.cmd', 'sh', '--config.env', 'A=1']);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:three`, '--tag', 'four', layerTar(child, 'l4.tar')]);
  three = layoutImage(layout, 'three');
  four = layoutImage(layout, 'four');
  assert.equal(three.diffIds.length, 3);
  assert.deepEqual(four.diffIds.slice(0, 3), three.diffIds);

  skDocker = join(dir.path, 'sk-docker.tar');
  skOci = join(dir.path, 'sk-oci.tar');
  skOciBare = join(dir.path, 'sk-oci-bare.tar');
  skOciFour = join(dir.path, 'sk-oci-four.tar');
  run('skopeo', ['copy', '-q', `oci:${layout}:three`, `docker-archive:${skDocker}:example.com/ex/three:v1`]);
  run('skopeo', ['copy', '-q', `oci:${layout}:three`, `oci-archive:${skOci}:example.com/ex/three:oci`]);
  run('skopeo', ['copy', '-q', `oci:${layout}:three`, `oci-archive:${skOciBare}:three`]);
  run('skopeo', ['copy', '-q', `oci:${layout}:four`, `oci-archive:${skOciFour}:example.com/ex/four:v1`]);
});

// CAIRN_KEEP_TEMP=1 keeps the temporary directory (roots, archives, layouts) for a look after a failure.
after(() => (process.env.CAIRN_KEEP_TEMP ? console.error(`kept ${dir.path}`) : dir?.cleanup()));

/** Check an unpacked `three`/`four` root filesystem (umoci's bundle rootfs). */
function checkThreeRootfs(rootfs: string, child: boolean): void {
  assert.deepEqual(readFileSync(join(rootfs, 'bin', 'busybox')), readFileSync('/bin/busybox'));
  assert.equal(readlinkSync(join(rootfs, 'bin', 'sh')), 'busybox');
  assert.equal(readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
  assert.equal(readFileSync(join(rootfs, 'data', 'hello.txt'), 'utf8'), 'hello\n');
  assert.equal(existsSync(join(rootfs, 'data', 'gone.txt')), false, 'the whiteout layer removed gone.txt');
  assert.equal(existsSync(join(rootfs, 'data', 'child.txt')), child);
}

test('an imported busybox image: skopeo reads both archive formats, umoci unpacks the layout', async () => {
  const root = fresh('root');
  const id = (await cairnOk(root, ['import', join(dir.path, 'bb.tar'), 'bb:1'])).stdout.trim();
  const d = fresh('bb-docker.tar');
  const o = fresh('bb-oci.tar');
  await cairnOk(root, ['save', '-o', d, 'bb:1']);
  await cairnOk(root, ['save', '--format', 'oci-archive', '-o', o, 'bb:1']);

  const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${d}`])) as { Layers: string[]; Os: string; Architecture: string };
  assert.deepEqual(info.Layers, [sha(bbTar)], 'skopeo lists the diffIDs');
  assert.equal(info.Os, 'linux');
  const config = Buffer.from(run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${d}`]), 'utf8');
  assert.equal(sha(config), id, 'skopeo reads the very config bytes');
  // skopeo resolves the archive's tag, too.
  assert.deepEqual((JSON.parse(run('skopeo', ['inspect', `docker-archive:${d}:bb:1`])) as { Layers: string[] }).Layers, [sha(bbTar)]);

  // oci-archive: skopeo sees the manifest cairn wrote (same digest as in index.json).
  const index = JSON.parse(member(o, 'index.json').toString()) as IndexJson;
  assert.equal(index.manifests.length, 1);
  const rawManifest = Buffer.from(run('skopeo', ['inspect', '--raw', `oci-archive:${o}`]), 'utf8');
  assert.equal(sha(rawManifest), index.manifests[0]!.digest);
  assert.equal(sha(Buffer.from(run('skopeo', ['inspect', '--config', '--raw', `oci-archive:${o}`]), 'utf8')), id);

  for (const [src, name] of [[`oci-archive:${o}`, 'from-oci'], [`docker-archive:${d}`, 'from-docker']] as const) {
    const lay = fresh(`bb-layout-${name}`);
    run('skopeo', ['copy', '-q', src, `oci:${lay}:t`]);
    const stat = JSON.parse(run('umoci', ['stat', '--json', '--image', `${lay}:t`])) as { history: unknown[] };
    assert.equal(stat.history.length, 1);
    const bundle = fresh('bb-bundle');
    run('umoci', ['unpack', '--image', `${lay}:t`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    assert.deepEqual(readFileSync(join(rootfs, 'bin', 'busybox')), readFileSync('/bin/busybox'));
    for (const a of ['sh', 'ls', 'cat', 'echo', 'true']) assert.equal(readlinkSync(join(rootfs, 'bin', a)), 'busybox');
    assert.equal(readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\n');
    assert.equal(lstatSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
  }
});

test("skopeo's docker-archive loads as the same image (config digest, diffIDs, config)", async () => {
  const root = fresh('root');
  const r = await cairnOk(root, ['load', '-i', skDocker]);
  assert.equal(r.stdout, 'Loaded image: example.com/ex/three:v1\n');
  const i = await inspect(root, 'example.com/ex/three:v1');
  assert.equal(i.Id, three.configDigest);
  assert.deepEqual(i.RootFS.Layers, three.diffIds);
  assert.deepEqual(i.Config.Cmd, ['sh']);
  assert.deepEqual(i.Config.Env, ['A=1']);
  // The history keeps umoci's empty-layer entry: four entries for three layers.
  const history = (await cairnOk(root, ['history', '-q', i.Id])).stdout.trim().split('\n');
  assert.equal(history.length, 4);

  // Saved back as a docker-archive, skopeo reads the same image again.
  const d = fresh('three-docker.tar');
  await cairnOk(root, ['save', '-o', d, 'example.com/ex/three:v1']);
  const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${d}`])) as { Layers: string[] };
  assert.deepEqual(info.Layers, three.diffIds);
  assert.equal(sha(Buffer.from(run('skopeo', ['inspect', '--config', '--raw', `docker-archive:${d}`]), 'utf8')), three.configDigest);
});

test("skopeo's oci-archive loads with the same manifest digest, and saves back to it", async () => {
  const root = fresh('root');
  const skIndex = JSON.parse(member(skOci, 'index.json').toString()) as IndexJson;
  assert.equal(skIndex.manifests[0]!.digest, three.manifestDigest, 'skopeo kept the layout manifest');
  const r = await cairnOk(root, ['load', '-i', skOci]);
  assert.equal(r.stdout, 'Loaded image: example.com/ex/three:oci\n');
  const i = await inspect(root, 'example.com/ex/three:oci');
  assert.equal(i.Id, three.configDigest);
  assert.deepEqual(i.RootFS.Layers, three.diffIds);
  assert.equal(await storedManifestDigest(root, i.Id), three.manifestDigest);

  // cairn's oci-archive names the same manifest, and the blobs are the layout's.
  const o = fresh('three-oci.tar');
  await cairnOk(root, ['save', '--format', 'oci-archive', '-o', o, 'example.com/ex/three:oci']);
  const index = JSON.parse(member(o, 'index.json').toString()) as IndexJson;
  assert.deepEqual(index.manifests.map((m) => m.digest), [three.manifestDigest]);
  assert.equal(index.manifests[0]!.annotations?.['io.containerd.image.name'], 'example.com/ex/three:oci');
  const names = members(o);
  for (const l of three.layerDigests) assert.ok(names.includes(`blobs/sha256/${l.slice(7)}`), `layer blob ${l}`);
  assert.equal(sha(Buffer.from(run('skopeo', ['inspect', '--raw', `oci-archive:${o}`]), 'utf8')), three.manifestDigest);

  // skopeo unpacks cairn's archive to a layout umoci accepts, with every layer applied.
  const lay = fresh('three-layout');
  run('skopeo', ['copy', '-q', `oci-archive:${o}`, `oci:${lay}:t`]);
  assert.equal(layoutImage(lay, 't').manifestDigest, three.manifestDigest, 'an OCI-to-OCI copy keeps the manifest');
  const stat = JSON.parse(run('umoci', ['stat', '--json', '--image', `${lay}:t`])) as { history: unknown[] };
  assert.equal(stat.history.length, 4);
  const bundle = fresh('three-bundle');
  run('umoci', ['unpack', '--image', `${lay}:t`, bundle]);
  checkThreeRootfs(join(bundle, 'rootfs'), false);

  // The docker-archive keeps the manifest too (in its OCI index), and skopeo reads it.
  const d = fresh('three-docker.tar');
  await cairnOk(root, ['save', '-o', d, 'example.com/ex/three:oci']);
  assert.deepEqual((JSON.parse(member(d, 'index.json').toString()) as IndexJson).manifests.map((m) => m.digest), [three.manifestDigest]);
  assert.deepEqual((JSON.parse(run('skopeo', ['inspect', `docker-archive:${d}`])) as { Layers: string[] }).Layers, three.diffIds);
  const lay2 = fresh('three-layout-d');
  run('skopeo', ['copy', '-q', `docker-archive:${d}`, `oci:${lay2}:t`]);
  const bundle2 = fresh('three-bundle-d');
  run('umoci', ['unpack', '--image', `${lay2}:t`, bundle2]);
  checkThreeRootfs(join(bundle2, 'rootfs'), false);
});

test('an oci-archive whose ref.name is a bare tag loads untagged, by image ID', async () => {
  const root = fresh('root');
  const r = await cairnOk(root, ['load', '-i', skOciBare]);
  assert.equal(r.stdout, `Loaded image ID: ${three.configDigest}\n`);
  assert.equal(await storedManifestDigest(root, three.configDigest), three.manifestDigest);
  assert.deepEqual((await inspect(root, three.configDigest)).RepoTags, []);
});

test("skopeo's zstd oci-archive loads with its manifest, diffIDs and zstd blobs kept", async () => {
  const z = fresh('sk-zstd.tar');
  run('skopeo', ['copy', '-q', '--dest-compress', '--dest-compress-format', 'zstd', `oci:${layout}:four`, `oci-archive:${z}:example.com/ex/four:zstd`]);
  const index = JSON.parse(member(z, 'index.json').toString()) as IndexJson;
  const manifestDigest = index.manifests[0]!.digest;
  const manifest = JSON.parse(member(z, `blobs/sha256/${manifestDigest.slice(7)}`).toString()) as { config: { digest: string }; layers: Array<{ mediaType: string; digest: string }> };
  assert.ok(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'), 'skopeo wrote zstd layers');
  const root = fresh('root');
  await cairnOk(root, ['load', '-q', '-i', z]);
  const i = await inspect(root, 'example.com/ex/four:zstd');
  assert.equal(i.Id, manifest.config.digest);
  assert.deepEqual(i.RootFS.Layers, four.diffIds, 'the same diffIDs as the gzip layers');
  assert.equal(await storedManifestDigest(root, i.Id), manifestDigest);
  const o = await roundTrip(root, ['example.com/ex/four:zstd'], 'oci-archive');
  const names = members(o);
  for (const l of manifest.layers) assert.ok(names.includes(`blobs/sha256/${l.digest.slice(7)}`), 'zstd blobs saved as loaded');
  assert.equal(sha(Buffer.from(run('skopeo', ['inspect', '--raw', `oci-archive:${o}`]), 'utf8')), manifestDigest);
});

test("layers as umoci 0.4.7's insert writes them ('/' root entry, no end-of-archive blocks) load, as podman loads them", async () => {
  // `umoci insert` names the root directory "/" and never closes its tar writer, so the layer
  // stops right after the last member's data (umoci issue #436). Docker, containerd and podman
  // (Go's archive/tar) accept such layers; their digests still cover every byte.
  const lay = fresh('insert-layout');
  run('umoci', ['init', '--layout', lay]);
  run('umoci', ['new', '--image', `${lay}:ins`]);
  run('umoci', ['insert', '--image', `${lay}:ins`, join(dir.path, 'rfs'), '/']);
  run('umoci', ['insert', '--image', `${lay}:ins`, join(dir.path, 'l2', 'data'), '/data']);
  run('umoci', ['insert', '--image', `${lay}:ins`, '--whiteout', '/data/gone.txt']);
  const img = layoutImage(lay, 'ins');
  const a = fresh('insert-oci.tar');
  run('skopeo', ['copy', '-q', `oci:${lay}:ins`, `oci-archive:${a}:example.com/ex/insert:1`]);
  // podman takes it (and so the image is a fair input).
  assert.match(podman(['load', '-i', a]), /Loaded image: example\.com\/ex\/insert:1/);
  const root = fresh('root');
  const r = await cairn(root, ['load', '-q', '-i', a]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
  const i = await inspect(root, 'example.com/ex/insert:1');
  assert.equal(i.Id, img.configDigest);
  assert.deepEqual(i.RootFS.Layers, img.diffIds);
  assert.equal(await storedManifestDigest(root, i.Id), img.manifestDigest);
});

/** save -> load into an empty root -> save: the second archive is byte-identical to the first. */
async function roundTrip(root: string, refs: string[], format: 'docker-archive' | 'oci-archive'): Promise<string> {
  const a = fresh(`rt-${format}-a.tar`);
  await cairnOk(root, ['save', '--format', format, '-o', a, ...refs]);
  const root2 = fresh('root');
  await cairnOk(root2, ['load', '-q', '-i', a]);
  const b = fresh(`rt-${format}-b.tar`);
  await cairnOk(root2, ['save', '--format', format, '-o', b, ...refs]);
  assert.ok(readFileSync(a).equals(readFileSync(b)), `${format} of ${refs.join(' ')}: save -> load -> save changed the bytes`);
  // And loading it again changes nothing either.
  await cairnOk(root2, ['load', '-q', '-i', b]);
  const c = fresh(`rt-${format}-c.tar`);
  await cairnOk(root2, ['save', '--format', format, '-o', c, ...refs]);
  assert.ok(readFileSync(a).equals(readFileSync(c)));
  return a;
}

test('save -> load -> save is byte-stable, one image, both formats, from each source', async () => {
  const bbRoot = fresh('root');
  await cairnOk(bbRoot, ['import', join(dir.path, 'bb.tar'), 'bb:1']);
  const fromOci = fresh('root');
  await cairnOk(fromOci, ['load', '-q', '-i', skOci]);
  const fromDocker = fresh('root');
  await cairnOk(fromDocker, ['load', '-q', '-i', skDocker]);
  for (const format of ['docker-archive', 'oci-archive'] as const) {
    await roundTrip(bbRoot, ['bb:1'], format);
    await roundTrip(fromOci, ['example.com/ex/three:oci'], format);
    await roundTrip(fromDocker, ['example.com/ex/three:v1'], format);
  }
});

test('a multi-image archive stores a shared layer once, round-trips byte-stable, and skopeo reads each image', async () => {
  const root = fresh('root');
  await cairnOk(root, ['load', '-q', '-i', skOci]);
  await cairnOk(root, ['load', '-q', '-i', skOciFour]);
  const refs = ['example.com/ex/three:oci', 'example.com/ex/four:v1'];
  for (const format of ['docker-archive', 'oci-archive'] as const) {
    const a = await roundTrip(root, refs, format);
    const names = members(a);
    assert.equal(new Set(names).size, names.length, 'no member twice');
    for (const l of four.layerDigests) assert.equal(names.filter((m) => m === `blobs/sha256/${l.slice(7)}`).length, 1, `layer ${l} once`);
    const layerBlobs = names.filter((m) => four.layerDigests.includes(`sha256:${m.split('/').pop()}`));
    assert.equal(layerBlobs.length, 4, 'three shared layers and one of its own');
    const index = JSON.parse(member(a, 'index.json').toString()) as IndexJson;
    assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [three.manifestDigest, four.manifestDigest].sort());
    if (format === 'docker-archive') {
      const manifest = JSON.parse(member(a, 'manifest.json').toString()) as Array<{ RepoTags: string[] }>;
      assert.deepEqual(manifest.map((m) => m.RepoTags).sort(), [['example.com/ex/four:v1'], ['example.com/ex/three:oci']]);
      for (const [ref, img] of [[refs[0]!, three], [refs[1]!, four]] as const) {
        const info = JSON.parse(run('skopeo', ['inspect', `docker-archive:${a}:${ref}`])) as { Layers: string[] };
        assert.deepEqual(info.Layers, img.diffIds, `skopeo reads ${ref}`);
      }
    }
    const root2 = fresh('root');
    await cairnOk(root2, ['load', '-q', '-i', a]);
    assert.equal((await inspect(root2, refs[0]!)).Id, three.configDigest);
    assert.equal((await inspect(root2, refs[1]!)).Id, four.configDigest);
  }
  // The child's full root filesystem through skopeo and umoci.
  const o = fresh('four-oci.tar');
  await cairnOk(root, ['save', '--format', 'oci-archive', '-o', o, 'example.com/ex/four:v1']);
  const lay = fresh('four-layout');
  run('skopeo', ['copy', '-q', `oci-archive:${o}`, `oci:${lay}:t`]);
  const bundle = fresh('four-bundle');
  run('umoci', ['unpack', '--image', `${lay}:t`, bundle]);
  checkThreeRootfs(join(bundle, 'rootfs'), true);
});

// podman, isolated in its own storage root under the test's directory (vfs: no mounts to clean).
function podman(args: string[]): string {
  return podmanIn(join(dir.path, 'podman'), args);
}

interface PodmanImage {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RootFS: { Layers: string[] };
}

test("podman loads cairn's archives, and cairn loads podman's", async () => {
  assert.ok(have('podman'), 'podman is required (scripts/setup.sh installs it)');
  const root = fresh('root');
  await cairnOk(root, ['load', '-q', '-i', skOci]);
  await cairnOk(root, ['load', '-q', '-i', skOciFour]);
  await cairnOk(root, ['import', join(dir.path, 'bb.tar'), 'bb:1']);
  const multi = fresh('multi-docker.tar');
  await cairnOk(root, ['save', '-o', multi, 'example.com/ex/three:oci', 'example.com/ex/four:v1']);
  const bbOci = fresh('bb-oci.tar');
  await cairnOk(root, ['save', '--format', 'oci-archive', '-o', bbOci, 'bb:1']);
  const bbId = (await inspect(root, 'bb:1')).Id;

  const loaded = podman(['load', '-i', multi]);
  assert.match(loaded, /Loaded image: example\.com\/ex\/three:oci/);
  assert.match(loaded, /Loaded image: example\.com\/ex\/four:v1/);
  podman(['load', '-i', bbOci]);
  const listed = JSON.parse(podman(['images', '--format', 'json'])) as Array<{ Id: string; Names?: string[] }>;
  const byId = new Map(listed.map((l) => [`sha256:${l.Id}`, l.Names ?? []]));
  assert.deepEqual(byId.get(three.configDigest), ['example.com/ex/three:oci']);
  assert.deepEqual(byId.get(four.configDigest), ['example.com/ex/four:v1']);
  assert.ok(byId.has(bbId), 'podman lists the imported busybox image under its cairn ID');
  const [pFour] = JSON.parse(podman(['image', 'inspect', 'example.com/ex/four:v1'])) as PodmanImage[];
  assert.deepEqual(pFour!.RootFS.Layers, four.diffIds);

  // podman's archives back into cairn: same image, and (oci-archive) the manifest podman wrote.
  for (const format of ['oci-archive', 'docker-archive'] as const) {
    const p = fresh(`podman-${format}.tar`);
    podman(['save', '--format', format, '-o', p, 'example.com/ex/four:v1']);
    const root2 = fresh('root');
    const r = await cairnOk(root2, ['load', '-i', p]);
    assert.match(r.stdout, /^Loaded image: example\.com\/ex\/four:v1\n$/);
    // podman may re-serialise the config (it recompresses layers on save), so the image to
    // compare with is the one in podman's archive: its config digest, its manifest.
    const i = await inspect(root2, 'example.com/ex/four:v1');
    if (format === 'oci-archive') {
      const index = JSON.parse(member(p, 'index.json').toString()) as IndexJson;
      const manifest = JSON.parse(member(p, `blobs/sha256/${index.manifests[0]!.digest.slice(7)}`).toString()) as { config: { digest: string } };
      assert.equal(i.Id, manifest.config.digest);
      assert.equal(await storedManifestDigest(root2, i.Id), index.manifests[0]!.digest);
    } else {
      const [entry] = JSON.parse(member(p, 'manifest.json').toString()) as Array<{ Config: string }>;
      assert.equal(i.Id, sha(member(p, entry!.Config)));
    }
    assert.deepEqual(i.RootFS.Layers, four.diffIds);
    await roundTrip(root2, ['example.com/ex/four:v1'], format);
  }
  // A multi-image docker-archive from podman (`save -m`): both images, each with its tag.
  const pm = fresh('podman-multi.tar');
  podman(['save', '-m', '--format', 'docker-archive', '-o', pm, 'example.com/ex/four:v1', 'example.com/ex/three:oci']);
  const root3 = fresh('root');
  const r = await cairnOk(root3, ['load', '-i', pm]);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), ['Loaded image: example.com/ex/four:v1', 'Loaded image: example.com/ex/three:oci']);
  assert.deepEqual((await inspect(root3, 'example.com/ex/three:oci')).RootFS.Layers, three.diffIds);
  assert.deepEqual((await inspect(root3, 'example.com/ex/four:v1')).RootFS.Layers, four.diffIds);
});

test("docker (dockerd 20.10) loads cairn's docker-archives, layers re-emitted from their files, and cairn loads docker's", async () => {
  let daemon: DockerDaemon | null = null;
  const names = ['example.com/ex/three:oci', 'example.com/ex/four:v1', 'cairn-interop/bb:1'];
  try {
    daemon = await ensureDockerd();
    const root = fresh('root');
    // four's layers come from a gzip oci-archive (blobs kept); bb is imported uncompressed
    // (no blob: save re-emits it from its snapshot and tar-split record).
    await cairnOk(root, ['load', '-q', '-i', skOci]);
    await cairnOk(root, ['load', '-q', '-i', skOciFour]);
    await cairnOk(root, ['import', join(dir.path, 'bb.tar'), names[2]!]);
    const archive = fresh('for-docker.tar');
    await cairnOk(root, ['save', '-o', archive, ...names]);
    const loaded = docker(['load', '-i', archive]);
    for (const n of names) assert.match(loaded, new RegExp(`Loaded image: ${n.replace(/[.]/g, '\\.')}`));
    for (const n of names) {
      const [d] = JSON.parse(docker(['image', 'inspect', n])) as Array<{ Id: string; RootFS: { Layers: string[] } }>;
      const c = await inspect(root, n);
      assert.equal(d!.Id, c.Id, `${n}: docker has the same image ID`);
      assert.deepEqual(d!.RootFS.Layers, c.RootFS.Layers, `${n}: docker has the same diffIDs`);
    }
    // and back: docker's save of the imported image loads into cairn as the same image
    const back = fresh('from-docker.tar');
    docker(['save', '-o', back, names[2]!]);
    const root2 = fresh('root');
    await cairnOk(root2, ['load', '-q', '-i', back]);
    assert.equal((await inspect(root2, names[2]!)).Id, (await inspect(root, names[2]!)).Id);
  } finally {
    if (daemon !== null) {
      spawnSync(DOCKER, ['rmi', '-f', ...names], { stdio: 'ignore' });
      await daemon.stop();
    }
  }
});

function docker(args: string[]): string {
  return run(DOCKER, args);
}
