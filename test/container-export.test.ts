/**
 * `export` of a container on both drivers: the merged root filesystem as one tar (the
 * container's changes on the image, no whiteouts, the root not an entry, symlinks archived as
 * symlinks, never followed), the same from the writable snapshot (a read-only view mounted
 * for the stream) as from the mounted root filesystem, and nothing left mounted however the
 * stream ends.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { exportRootfs } from '../src/container/export.js';
import { baseLayer, Fixture, inContainer, listTar, sha256 } from './container-fixtures.js';
import { DOCKER, docker, ensureDockerd } from './docker.js';
import { have, tempDir } from './helpers.js';

/** Mount points under `dir`, from this process's mountinfo. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(dir));
}

for (const driver of ['overlay', 'native'] as const) {
  describe(`export on ${driver}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let fx: Fixture;

    before(async () => {
      dir = await tempDir(`cairn-export-${driver}-`);
      fx = await Fixture.create(dir.path, driver);
    });

    after(async () => {
      try {
        await fx?.close();
      } finally {
        await dir.cleanup();
      }
    });

    it('writes the merged root filesystem: the changes on the image, no whiteouts, symlinks not followed', async () => {
      const c = await fx.container('one');
      writeFileSync(join(c.rootfs, 'f'), 'hi\n');
      writeFileSync(join(c.rootfs, 'dir', 'a'), 'one more\n');
      rmSync(join(c.rootfs, 'etc', 'keep'));
      rmSync(join(c.rootfs, 'dir', 'sub'), { recursive: true });
      rmSync(join(c.rootfs, 'opq'), { recursive: true });
      mkdirSync(join(c.rootfs, 'opq'));
      writeFileSync(join(c.rootfs, 'opq', 'fresh'), 'fresh\n');
      symlinkSync('/', join(c.rootfs, 'escape'));
      symlinkSync('/../../../etc/passwd', join(c.rootfs, 'etc', 'evil'));

      const fromMounted = await listTar(await exportRootfs(fx.store, { rootfs: c.rootfs }));
      const fromSnapshot = await listTar(await exportRootfs(fx.store, { snapshotKey: c.key }));
      assert.deepEqual(fromSnapshot, fromMounted, 'the same tar from the snapshot as from the mounted root');
      const names = fromSnapshot.map((e) => e.name);
      assert.deepEqual(
        names.filter((n) => !n.startsWith('bin/')),
        ['dir/', 'dir/a', 'escape', 'etc/', 'etc/evil', 'etc/motd', 'etc/passwd', 'f', 'opq/', 'opq/fresh', 'tmp/'],
      );
      assert.ok(names.includes('bin/') && names.includes('bin/busybox'));
      assert.ok(!names.some((n) => n.includes('.wh.')), 'no whiteouts');
      const by = new Map(fromSnapshot.map((e) => [e.name, e]));
      assert.equal(by.get('dir/a')!.body, sha256('one more\n'));
      assert.equal(by.get('etc/motd')!.body, sha256('second motd\n'), "the image's top layer");
      assert.deepEqual([by.get('escape')!.type, by.get('escape')!.linkname], ['symlink', '/']);
      assert.deepEqual([by.get('etc/evil')!.type, by.get('etc/evil')!.linkname], ['symlink', '/../../../etc/passwd']);
      assert.equal(by.get('tmp/')!.mode, 0o1777);
      assert.deepEqual(mountsUnder(join(fx.root, 'tmp')), [], 'the view is unmounted');
      assert.deepEqual(readdirSync(join(fx.root, 'tmp')), [], 'and its scratch directory gone');
    });

    it('a stream never read mounts nothing; one stopped early or failing unmounts its view', async () => {
      const c = await fx.container('early', false);
      const unread = await exportRootfs(fx.store, { snapshotKey: c.key });
      assert.deepEqual(mountsUnder(join(fx.root, 'tmp')), []);
      void unread;
      for await (const chunk of await exportRootfs(fx.store, { snapshotKey: c.key })) {
        assert.ok(chunk.length > 0);
        assert.equal(mountsUnder(join(fx.root, 'tmp')).length, 1, 'mounted while it streams');
        break;
      }
      assert.deepEqual(mountsUnder(join(fx.root, 'tmp')), []);
      assert.deepEqual(readdirSync(join(fx.root, 'tmp')), []);
      await assert.rejects(exportRootfs(fx.store, { snapshotKey: 'no-such-container' }), /snapshot no-such-container not found/);
      await assert.rejects(exportRootfs(fx.store, { snapshotKey: fx.topChainId }), /committed, not a container's writable layer/);
    });
  });
}

/** What Docker's init layer adds to every container (/.dockerenv, the /etc files it mounts, /dev, /proc, /sys): not the container's own. */
const DOCKER_INIT = /^(\.dockerenv|dev\/.*|proc\/|sys\/|etc\/(hostname|hosts|mtab|resolv\.conf))$/;

describe('export beside Docker 20.10', { skip: !have(DOCKER) || !have('dockerd') ? 'docker is not installed' : false }, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let fx: Fixture;
  let stop: () => Promise<void> = async () => undefined;
  const name = `cairn-export-${process.pid}`;
  const script = 'echo hi > /f; rm /etc/keep; rm -r /dir/sub; mkdir /opq2; ln -s / /escape';

  before(async () => {
    dir = await tempDir('cairn-export-docker-');
    const tar = await baseLayer();
    fx = await Fixture.create(dir.path, 'overlay', 'bb:export', tar);
    stop = (await ensureDockerd()).stop;
    docker(['import', '-', `${name}:1`], tar);
  });

  after(async () => {
    try {
      spawnSync(DOCKER, ['rm', '-f', name], { stdio: 'ignore' });
      spawnSync(DOCKER, ['rmi', `${name}:1`], { stdio: 'ignore' });
      await fx?.close();
    } finally {
      await stop();
      await dir.cleanup();
    }
  });

  it('writes the entries docker export writes, in its order, with the same contents', async () => {
    docker(['run', '--name', name, '--network', 'none', `${name}:1`, '/bin/sh', '-c', script]);
    const out = spawnSync(DOCKER, ['export', name], { maxBuffer: 64 << 20 });
    assert.equal(out.status, 0, out.stderr?.toString());
    const theirs = (await listTar(out.stdout)).filter((e) => !DOCKER_INIT.test(e.name));
    const c = await fx.container('beside-docker');
    inContainer(c, script);
    const ours = await listTar(await exportRootfs(fx.store, { snapshotKey: c.key }));
    const view = (l: typeof ours) => l.map((e) => `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.linkname} ${e.body ?? ''}`);
    assert.deepEqual(view(ours), view(theirs));
  });
});
