/**
 * `commit` of a container's writable layer, as root on kernel overlayfs and on the native
 * driver: exactly one new layer holding the changes (a deleted file and a deleted directory
 * as whiteouts, a directory replaced wholesale as opaque), author and message in the config
 * and history, `cairn history` showing them, a new container of the committed image seeing
 * the changes; the layer stored once (its committed snapshot under its chainID plus a
 * tar-split record, no uncompressed blob) and re-emitted byte for byte by `cairn save`; an
 * unchanged container committed as Docker 20.10 does (no layer, an empty_layer history
 * entry); and a commit that fails or is killed midway leaves no image and nothing behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureLayer, EMPTY_TAR_DIFF_ID } from '../src/container/capture.js';
import type { Digest } from '../src/digest/digest.js';
import { commitLayer } from '../src/container/commit.js';
import { readConfig } from '../src/image/config.js';
import { getLayer, listImages } from '../src/metadata/records.js';
import { constants, fstatat } from '../src/native/index.js';
import { unmount, writableLayer } from '../src/snapshot/index.js';
import { Store } from '../src/store/store.js';
import { readTar } from '../src/tar/index.js';
import { baseLayer, type Container, Fixture, inContainer, listTar, sha256 } from './container-fixtures.js';
import { DOCKER, docker, ensureDockerd } from './docker.js';
import { cairn, cairnOk, have, REPO, tempDir } from './helpers.js';

/** The changes every test container makes: add, change, delete a file, delete a directory, replace one wholesale. */
function change(c: Container): void {
  writeFileSync(join(c.rootfs, 'f'), 'hi\n');
  writeFileSync(join(c.rootfs, 'dir', 'a'), 'one more\n');
  rmSync(join(c.rootfs, 'etc', 'keep'));
  rmSync(join(c.rootfs, 'dir', 'sub'), { recursive: true });
  mkdirSync(join(c.rootfs, 'newdir'));
  writeFileSync(join(c.rootfs, 'newdir', 'n'), 'n\n');
  rmSync(join(c.rootfs, 'opq'), { recursive: true });
  mkdirSync(join(c.rootfs, 'opq'));
  writeFileSync(join(c.rootfs, 'opq', 'fresh'), 'fresh\n');
}

/** `cairn save` of `name` into a file; the uncompressed bytes of its layers, top last, by the archive's manifest.json. */
async function savedLayers(root: string, dir: string, name: string): Promise<Buffer[]> {
  const file = join(dir, `saved-${Date.now()}.tar`);
  await cairnOk(root, ['save', '-o', file, name]);
  const members = new Map<string, Buffer>();
  for await (const e of readTar(readFileSync(file))) {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(Buffer.from(c));
    members.set(e.header.name, Buffer.concat(chunks));
  }
  rmSync(file);
  const manifest = JSON.parse(members.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
  return manifest[0]!.Layers.map((l) => members.get(l)!);
}

for (const driver of ['overlay', 'native'] as const) {
  describe(`commit on ${driver}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let fx: Fixture;

    before(async () => {
      dir = await tempDir(`cairn-commit-${driver}-`);
      fx = await Fixture.create(dir.path, driver);
    });

    after(async () => {
      try {
        await fx?.close();
      } finally {
        await dir.cleanup();
      }
    });

    it('adds exactly one layer holding the changes, with author and message; a container of the new image sees them', async () => {
      const c = await fx.container('one');
      change(c);
      const { config: before } = await readConfig(fx.store.content, fx.imageId);
      const r = await commitLayer(fx.store, {
        snapshotKey: c.key,
        image: fx.imageId,
        author: 'Ann <ann@example.com>',
        message: 'the changes',
        containerConfig: { Cmd: ['/bin/sh', '-c', 'echo hi > /f'] },
        changes: ['ENV X=1'],
        tag: 'bb:committed',
      });
      assert.equal(r.tag, 'bb:committed');
      assert.ok(r.diffId && r.chainId);
      const { config } = await readConfig(fx.store.content, r.imageId);
      assert.deepEqual(config.rootfs.diff_ids, [...before.rootfs.diff_ids, r.diffId], 'exactly one layer more');
      assert.equal(config.author, 'Ann <ann@example.com>');
      const last = config.history!.at(-1)!;
      assert.equal(last.author, 'Ann <ann@example.com>');
      assert.equal(last.comment, 'the changes');
      assert.equal(last.created_by, '/bin/sh -c echo hi > /f');
      assert.equal(last.empty_layer, undefined);
      assert.equal(config.history!.length, before.history!.length + 1);
      assert.deepEqual(config.config?.Env, ['PATH=/bin', 'X=1'], '--change applied');
      assert.deepEqual(config.config?.Cmd, ['/bin/sh', '-c', 'echo hi > /f'], "the container's command");

      // The layer: what changed, deletions as whiteouts, the replaced directory opaque.
      const layers = await savedLayers(fx.root, dir.path, 'bb:committed');
      assert.equal(layers.length, before.rootfs.diff_ids.length + 1);
      const top = layers.at(-1)!;
      assert.equal(`sha256:${sha256(top)}`, r.diffId, 'save re-emits the layer byte for byte (its diffID)');
      const names = (await listTar(top)).map((e) => `${e.type} ${e.name}`);
      assert.deepEqual(names, [
        'dir dir/',
        'file dir/.wh.sub',
        'file dir/a',
        'dir etc/',
        'file etc/.wh.keep',
        'file f',
        'dir newdir/',
        'file newdir/n',
        'dir opq/',
        // overlay records a directory replaced wholesale as opaque; comparing two trees names what went
        driver === 'overlay' ? 'file opq/.wh..wh..opq' : 'file opq/.wh.old',
        'file opq/fresh',
      ]);

      // Stored once: a committed snapshot under the chainID and a tar-split record; no blob of the tar.
      const info = await fx.sn.stat(r.chainId);
      assert.equal(info.kind, 'committed');
      assert.equal(info.parent, fx.topChainId);
      const rec = getLayer(fx.store.db, r.chainId)!;
      assert.ok(rec.tarSplit && fx.store.content.has(rec.tarSplit), 'the tar-split record is kept');
      assert.equal(fx.store.content.has(r.diffId), false, 'no uncompressed copy of the layer in the content store');
      assert.equal(existsSync(join(fx.root, 'content', 'blobs', 'sha256', r.diffId.slice(7))), false);

      // `cairn history` shows it.
      const hist = (await cairnOk(fx.root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'bb:committed'])).stdout.split('\n');
      assert.equal(hist[0], '/bin/sh -c echo hi > /f|the changes');
      const [inspected] = JSON.parse((await cairnOk(fx.root, ['image', 'inspect', 'bb:committed'])).stdout) as Array<{ Comment: string; Author: string; Parent: string }>;
      assert.deepEqual([inspected!.Comment, inspected!.Author, inspected!.Parent], ['the changes', 'Ann <ann@example.com>', fx.imageId], "inspect shows the message (the last history entry's, as Docker)");

      // A container of the committed image sees the changes.
      const n = (await fx.container('of-committed', true, r.chainId)).rootfs;
      assert.equal(readFileSync(join(n, 'f'), 'utf8'), 'hi\n');
      assert.equal(readFileSync(join(n, 'dir', 'a'), 'utf8'), 'one more\n');
      assert.equal(readFileSync(join(n, 'newdir', 'n'), 'utf8'), 'n\n');
      assert.equal(readFileSync(join(n, 'etc', 'motd'), 'utf8'), 'second motd\n');
      assert.equal(existsSync(join(n, 'etc', 'keep')), false);
      assert.equal(existsSync(join(n, 'dir', 'sub')), false);
      assert.deepEqual(readdirSync(join(n, 'opq')), ['fresh']);
      unmount(n);
    });

    if (driver === 'overlay') {
      it("the committed snapshot is a copy of the container's upper directory, not a tar applied again", async () => {
        const c = await fx.container('copy');
        writeFileSync(join(c.rootfs, 'stamp'), 'x');
        const upperStat = fstatat(constants.AT_FDCWD, join(c.upper, 'stamp'), constants.AT_SYMLINK_NOFOLLOW);
        const r = await commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId });
        // The new layer's directory: the topmost lower of a container prepared on it.
        const probe = await fx.sn.prepare('probe-copy', r.chainId!);
        try {
          const layerDir = writableLayer(probe).lowerdirs[0]!;
          const st = fstatat(constants.AT_FDCWD, join(layerDir, 'stamp'), constants.AT_SYMLINK_NOFOLLOW);
          // A layer applied from its tar has whole-second times (a tar holds no more); the copy keeps the file's own.
          assert.equal(st.mtimeNs, upperStat.mtimeNs);
          assert.notEqual(upperStat.mtimeNs % 1_000_000_000n, 0n, 'the fixture has a sub-second mtime');
          assert.notEqual(st.ino, upperStat.ino, "a copy, not the container's file");
          assert.deepEqual(readdirSync(layerDir).sort(), ['stamp'], 'only the change');
        } finally {
          await fx.sn.remove('probe-copy');
        }
      });
    }

    it("a container on a layer of its own (Docker's -init) is captured onto the image: the layer holds only the container's changes", async () => {
      const init = await fx.sn.prepare('init-prep', fx.topChainId);
      mkdirSync(join(writableLayer(init).dir, 'etc'), { recursive: true });
      writeFileSync(join(writableLayer(init).dir, 'etc', 'hosts'), '127.0.0.1 localhost\n');
      await fx.sn.commit('init-layer', 'init-prep');
      const c = await fx.container('on-init', true, 'init-layer' as Digest);
      writeFileSync(join(c.rootfs, 'mine'), 'mine\n');
      const lease = fx.store.lease();
      try {
        const layer = await captureLayer(fx.store, c.key, lease.protect, fx.topChainId);
        assert.ok(!layer.empty);
        assert.equal((await fx.sn.stat(layer.chainId)).parent, fx.topChainId);
        const n = (await fx.container('sees-capture', true, layer.chainId)).rootfs;
        assert.equal(readFileSync(join(n, 'mine'), 'utf8'), 'mine\n');
        assert.equal(existsSync(join(n, 'etc', 'hosts')), false, "the -init layer's file is not the container's change");
      } finally {
        lease.release();
      }
    });

    it('an unchanged container adds no layer: an empty_layer history entry, as Docker 20.10', async () => {
      const c = await fx.container('unchanged', false);
      const { config: before } = await readConfig(fx.store.content, fx.imageId);
      const r = await commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId, message: 'nothing', containerConfig: { Cmd: ['true'] } });
      assert.equal(r.diffId, undefined);
      assert.equal(r.chainId, fx.topChainId);
      assert.notEqual(r.imageId, fx.imageId);
      const { config } = await readConfig(fx.store.content, r.imageId);
      assert.deepEqual(config.rootfs.diff_ids, before.rootfs.diff_ids);
      assert.deepEqual({ ...config.history!.at(-1)!, created: undefined }, { created: undefined, created_by: 'true', comment: 'nothing', empty_layer: true });
      assert.equal(fx.store.content.has(EMPTY_TAR_DIFF_ID), false);
      assert.ok(!(await fx.snapshotKeys()).some((k) => k.startsWith('commit-')), 'no snapshot of the empty change is left');
    });

    it('a failure midway leaves no image and, once collected, nothing else', async () => {
      const c = await fx.container('fails');
      writeFileSync(join(c.rootfs, 'x'), 'x');
      const images = listImages(fx.store.db).map((i) => i.id).sort();
      const snaps = await fx.snapshotKeys();
      const blobs = await fx.blobs();
      await assert.rejects(
        commitLayer(fx.store, {
          snapshotKey: c.key,
          image: fx.imageId,
          progress: (step) => {
            if (step === 'layer') throw new Error('injected failure');
          },
        }),
        /injected failure/,
      );
      assert.deepEqual(listImages(fx.store.db).map((i) => i.id).sort(), images);
      await fx.store.gc();
      assert.deepEqual(await fx.snapshotKeys(), snaps);
      assert.deepEqual(await fx.blobs(), blobs);
    });

    it('a file the layer cannot hold (.wh.*) fails the commit with one line, leaving nothing', async () => {
      const c = await fx.container('whname');
      writeFileSync(join(c.rootfs, 'tmp', '.wh.evil'), 'x');
      const snaps = await fx.snapshotKeys();
      const blobs = await fx.blobs();
      await assert.rejects(commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId }), (e: Error) => {
        assert.match(e.message, /\.wh\.\*.*cannot be represented/);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      assert.deepEqual(await fx.snapshotKeys(), snaps);
      assert.deepEqual(await fx.blobs(), blobs);
    });

    it('a commit killed midway leaves nothing once the next process collects', async () => {
      const c = await fx.container('killed');
      writeFileSync(join(c.rootfs, 'k'), 'k');
      const images = listImages(fx.store.db).map((i) => i.id).sort();
      const snaps = await fx.snapshotKeys();
      const blobs = await fx.blobs();
      const script = `
        const { Store } = await import(${JSON.stringify(join(REPO, 'dist/src/store/store.js'))});
        const { commitLayer } = await import(${JSON.stringify(join(REPO, 'dist/src/container/commit.js'))});
        const store = await Store.open({ root: ${JSON.stringify(fx.root)} });
        await commitLayer(store, { snapshotKey: ${JSON.stringify(c.key)}, image: ${JSON.stringify(fx.imageId)}, tag: 'bb:killed',
          progress: (step) => { if (step === 'layer') process.kill(process.pid, 'SIGKILL'); } });`;
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      // The killed process left its snapshot and record behind, leased by a dead process...
      assert.notDeepEqual(await fx.snapshotKeys(), snaps);
      // ...which the next process to open the store collects.
      const next = await Store.open({ root: fx.root });
      next.close();
      assert.deepEqual(listImages(fx.store.db).map((i) => i.id).sort(), images);
      assert.deepEqual(await fx.snapshotKeys(), snaps);
      assert.deepEqual(await fx.blobs(), blobs);
      assert.equal((await cairn(fx.root, ['image', 'inspect', 'bb:killed'])).code, 1);
    });

    it('refuses a snapshot that is not on the image, and a bad --change, before doing anything', async () => {
      const c = await fx.container('refused', false);
      const snaps = await fx.snapshotKeys();
      await assert.rejects(commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId, changes: ['RUN echo'] }), { message: 'run is not a valid change command' });
      await assert.rejects(commitLayer(fx.store, { snapshotKey: fx.topChainId, image: fx.imageId }), /not a container's writable layer|not a writable layer/);
      await assert.rejects(commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId, tag: 'bb@sha256:' + 'a'.repeat(64) }), /digest reference/);
      assert.deepEqual(await fx.snapshotKeys(), snaps);
      assert.ok(lstatSync(fx.root).isDirectory());
    });
  });
}

describe('commit beside Docker 20.10', { skip: !have(DOCKER) || !have('dockerd') ? 'docker is not installed' : false }, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let fx: Fixture;
  let stop: () => Promise<void> = async () => undefined;
  const name = `cairn-commit-${process.pid}`;
  const script = 'echo hi > /f; rm /etc/keep; rm -r /dir/sub; echo more >> /dir/a; rm -r /opq; mkdir /opq; echo new > /opq/c; mkdir -p /n/m; ln -s /etc /link';

  before(async () => {
    dir = await tempDir('cairn-commit-docker-');
    const tar = await baseLayer();
    fx = await Fixture.create(dir.path, 'overlay', 'bb:commit', tar);
    stop = (await ensureDockerd()).stop;
    docker(['import', '-', `${name}:1`], tar);
  });

  after(async () => {
    try {
      spawnSync(DOCKER, ['rm', '-f', name], { stdio: 'ignore' });
      spawnSync(DOCKER, ['rmi', `${name}:2`, `${name}:1`], { stdio: 'ignore' });
      await fx?.close();
    } finally {
      await stop();
      await dir.cleanup();
    }
  });

  it("adds a layer of the same entries as docker commit's, and the same history entry", async () => {
    docker(['run', '--name', name, '--network', 'none', `${name}:1`, '/bin/sh', '-c', script]);
    docker(['commit', '-a', 'Ann', '-m', 'msg', name, `${name}:2`]);
    const saved = spawnSync(DOCKER, ['save', `${name}:2`], { maxBuffer: 256 << 20 });
    assert.equal(saved.status, 0, saved.stderr?.toString());
    const members = new Map<string, Buffer>();
    for await (const e of readTar(saved.stdout)) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(Buffer.from(c));
      members.set(e.header.name, Buffer.concat(chunks));
    }
    const manifest = JSON.parse(members.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>;
    const theirs = await listTar(members.get(manifest[0]!.Layers.at(-1)!)!);
    const theirConfig = JSON.parse(members.get(manifest[0]!.Config)!.toString()) as { history: Array<Record<string, unknown>>; rootfs: { diff_ids: string[] } };

    const c = await fx.container('beside-docker');
    inContainer(c, script);
    const r = await commitLayer(fx.store, { snapshotKey: c.key, image: fx.imageId, author: 'Ann', message: 'msg', containerConfig: { Cmd: ['/bin/sh', '-c', script] }, tag: 'bb:commit2' });
    const ours = await listTar((await savedLayers(fx.root, dir.path, 'bb:commit2')).at(-1)!);
    // Whiteouts: the same names, though Docker writes them with its own mode and time. The order
    // differs only there: Docker places a whiteout where the deleted name sorts, cairn's differ
    // (as containerd's) where `.wh.NAME` sorts.
    const view = (l: typeof ours) => l.map((e) => (e.name.split('/').pop()!.startsWith('.wh.') ? `whiteout ${e.name}` : `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.linkname} ${e.body ?? ''}`)).sort();
    assert.deepEqual(view(ours), view(theirs));
    const { config } = await readConfig(fx.store.content, r.imageId);
    const strip = (h: Record<string, unknown>) => ({ ...h, created: undefined });
    assert.deepEqual(strip(config.history!.at(-1)!), strip(theirConfig.history.at(-1)!));
    assert.equal(config.rootfs.diff_ids.length, theirConfig.rootfs.diff_ids.length);
  });
});
