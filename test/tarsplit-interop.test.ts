/**
 * tar-split against layers made by tools no one here wrote: every layer of archives written
 * by `skopeo copy` (from an OCI layout made with GNU tar and umoci, including umoci's
 * `insert` layers without end-of-archive blocks), `podman save` and `docker save`
 * (Debian's dockerd 20.10) is applied with a recorder in both whiteout modes and re-emitted
 * from the files and the record: the re-emitted tar must hash to the layer's diffID and,
 * for uncompressed layers, equal the archive's layer file byte for byte.
 *
 * Peers are isolated or cleaned up: podman runs on its own storage root under the test's
 * temporary directory (vfs: no mounts); the images added to docker are removed, and a
 * dockerd this test started is stopped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';

import { Digester, type Digest } from '../src/digest/digest.js';
import { applyLayer, type WhiteoutMode } from '../src/layer/apply.js';
import { reassembleTar, TarSplitRecorder } from '../src/layer/tarsplit.js';
import { DOCKER, ensureDockerd, type DockerDaemon } from './docker.js';
import { busyboxTar, have, randomBytesSeeded, tempDir } from './helpers.js';

const MODES: WhiteoutMode[] = ['overlay', 'oci-remove'];

let dir: { path: string; cleanup: () => Promise<void> };
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts, env: { ...process.env, ...opts.env } });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A build context / layer source with names that need PAX or GNU long names, empty files and a big one. */
function dataTree(root: string): void {
  const deep = join(root, 'data', 'd'.repeat(110), 'e'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-below-a-long-path'), 'deep\n');
  writeFileSync(join(root, 'data', 'empty'), '');
  writeFileSync(join(root, 'data', 'big.bin'), randomBytesSeeded(3 * 1024 * 1024 + 1, 7));
  writeFileSync(join(root, 'data', 'ünïcødé'), 'utf-8 name\n');
}

let bbFile: string;

before(async () => {
  for (const tool of ['skopeo', 'umoci', 'podman', 'tar', DOCKER]) assert.ok(have(tool), `${tool} is required (scripts/setup.sh installs it)`);
  dir = await tempDir('cairn-tarsplit-interop-');
  bbFile = join(dir.path, 'bb.tar');
  writeFileSync(bbFile, await busyboxTar('none'));
});

after(async () => {
  if (process.env.CAIRN_KEEP_TEMP) console.error(`kept ${dir.path}`);
  else await dir?.cleanup();
});

function isCompressed(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, 0);
    return (b[0] === 0x1f && b[1] === 0x8b) || b.readUInt32LE(0) === 0xfd2fb528;
  } finally {
    closeSync(fd);
  }
}

/** Apply one layer file with a recorder in both modes, re-emit it, and compare. */
async function checkLayer(file: string, diffId: Digest, where: string): Promise<void> {
  const original = isCompressed(file) ? null : readFileSync(file);
  for (const mode of MODES) {
    const t = await tempDir('cairn-tarsplit-layer-');
    try {
      const parts: Buffer[] = [];
      const rec = new TarSplitRecorder(async (s) => {
        for await (const c of s) parts.push(c);
      }, { what: `layer ${diffId}` });
      try {
        await applyLayer({ dir: t.path, whiteoutMode: mode }, createReadStream(file), { tap: rec.tap, expectedDiffId: diffId });
      } catch (e) {
        rec.abort(e);
        throw e;
      }
      const r = await rec.finish();
      assert.equal(r.reproducible, true, `${where} (${mode}): ${r.reason ?? ''}`);
      const out: Buffer[] = [];
      const hash = new Digester();
      for await (const c of reassembleTar(parts, t.path, { expectedDiffId: diffId })) {
        hash.update(c);
        out.push(c);
      }
      assert.equal(hash.digest(), diffId, `${where} (${mode}): the re-emitted tar has the diffID`);
      if (original !== null) assert.ok(Buffer.concat(out).equals(original), `${where} (${mode}): byte for byte the archive's layer`);
    } finally {
      await t.cleanup();
    }
  }
}

interface DockerManifestEntry {
  Config: string;
  Layers: string[];
}

/** Check every layer of a docker-archive or OCI archive; returns how many were checked. */
async function checkArchive(archive: string, where: string): Promise<number> {
  const x = fresh('x');
  mkdirSync(x);
  run('tar', ['-xf', archive, '-C', x]);
  let count = 0;
  if (existsSync(join(x, 'manifest.json'))) {
    const manifest = JSON.parse(readFileSync(join(x, 'manifest.json'), 'utf8')) as DockerManifestEntry[];
    for (const m of manifest) {
      const config = JSON.parse(readFileSync(join(x, m.Config), 'utf8')) as { rootfs: { diff_ids: Digest[] } };
      assert.equal(m.Layers.length, config.rootfs.diff_ids.length);
      for (const [i, l] of m.Layers.entries()) {
        await checkLayer(join(x, l), config.rootfs.diff_ids[i]!, `${where} ${l}`);
        count++;
      }
    }
    return count;
  }
  const blob = (d: string): string => join(x, 'blobs', ...d.split(':'));
  const index = JSON.parse(readFileSync(join(x, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  for (const d of index.manifests) {
    const manifest = JSON.parse(readFileSync(blob(d.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: Digest[] } };
    for (const [i, l] of manifest.layers.entries()) {
      await checkLayer(blob(l.digest), config.rootfs.diff_ids[i]!, `${where} ${l.digest}`);
      count++;
    }
  }
  return count;
}

test('skopeo copy of an OCI layout (GNU tar and umoci insert layers, a whiteout) to docker-archive and oci-archive re-emits every layer', async () => {
  const rfs = fresh('rfs');
  mkdirSync(rfs);
  run('tar', ['-xf', bbFile, '-C', rfs]);
  const data = fresh('data');
  dataTree(data);
  const wh = fresh('wh');
  mkdirSync(join(wh, 'data'), { recursive: true });
  writeFileSync(join(wh, 'data', '.wh.empty'), '');
  const layerTar = (src: string, format: string): string => {
    const file = fresh('layer.tar');
    run('tar', ['--format', format, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@1700000000', '--sort=name', '-C', src, '-cf', file, '.']);
    return file;
  };
  const layout = fresh('layout');
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', `${layout}:t`]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, layerTar(rfs, 'gnu')]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, layerTar(data, 'gnu')]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, layerTar(data, 'pax')]);
  run('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, layerTar(wh, 'gnu')]);
  // umoci 0.4's insert: a "/" root entry and no end-of-archive blocks
  run('umoci', ['insert', '--image', `${layout}:t`, join(data, 'data'), '/inserted']);
  run('umoci', ['insert', '--image', `${layout}:t`, '--whiteout', '/data/empty']);
  const docker = fresh('skopeo-docker.tar');
  run('skopeo', ['copy', '-q', `oci:${layout}:t`, `docker-archive:${docker}:example.com/tarsplit/skopeo:1`]);
  assert.equal(await checkArchive(docker, 'skopeo docker-archive'), 6);
  const oci = fresh('skopeo-oci.tar');
  run('skopeo', ['copy', '-q', `oci:${layout}:t`, `oci-archive:${oci}:example.com/tarsplit/skopeo:1`]);
  assert.equal(await checkArchive(oci, 'skopeo oci-archive'), 6);
});

// podman on its own storage root under the test's directory (vfs: no mounts to clean up).
function podman(args: string[], cwd?: string): string {
  const base = join(dir.path, 'podman');
  return run(
    'podman',
    ['--root', join(base, 'root'), '--runroot', join(base, 'run'), '--tmpdir', join(base, 'tmp'), '--storage-driver', 'vfs', '--events-backend', 'none', ...args],
    cwd === undefined ? {} : { cwd },
  );
}

test('podman save (docker-archive and oci-archive) of an imported busybox and a COPY layer re-emits every layer', async () => {
  podman(['import', bbFile, 'example.com/tarsplit/bb:1']);
  const ctx = fresh('podman-ctx');
  dataTree(ctx);
  writeFileSync(join(ctx, 'Containerfile'), 'FROM example.com/tarsplit/bb:1\nCOPY data /data\n');
  podman(['build', '-q', '--network', 'none', '-t', 'example.com/tarsplit/two:1', ctx]);
  for (const format of ['docker-archive', 'oci-archive']) {
    const a = fresh(`podman-${format}.tar`);
    podman(['save', '--format', format, '-o', a, 'example.com/tarsplit/two:1']);
    assert.equal(await checkArchive(a, `podman ${format}`), 2);
  }
});

test('docker save (dockerd 20.10) of an imported busybox and a BuildKit COPY layer re-emits every layer', async () => {
  let daemon: DockerDaemon | null = null;
  const tags = ['cairn-tarsplit-test/bb:1', 'cairn-tarsplit-test/two:1'];
  try {
    daemon = await ensureDockerd();
    run(DOCKER, ['import', bbFile, tags[0]!]);
    const ctx = fresh('docker-ctx');
    dataTree(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${tags[0]}\nCOPY data /data\n`);
    run(DOCKER, ['build', '-q', '-t', tags[1]!, ctx], { env: { DOCKER_BUILDKIT: '1' } });
    const a = fresh('docker-save.tar');
    run(DOCKER, ['save', '-o', a, tags[1]!]);
    assert.equal(await checkArchive(a, 'docker save'), 2);
  } finally {
    if (daemon !== null) {
      spawnSync(DOCKER, ['rmi', '-f', ...tags], { stdio: 'ignore' });
      await daemon.stop();
    }
  }
});
