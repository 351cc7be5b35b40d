/**
 * `diff` of a container's writable layer on both drivers: added, changed and deleted entries
 * as `docker diff` lists them (a changed entry's directories as C, a deleted directory as one
 * D, an added directory and its contents as A, a directory replaced wholesale as its old
 * entries D and its new ones A), in a fixed order that keeps Docker's rules (a directory
 * before its contents, a directory's deletions after its other entries) — and, where
 * Docker 20.10's daemon is installed, the same set of lines as `docker diff` of a container
 * of the same root filesystem that ran the same commands.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { containerChanges, type Change } from '../src/container/changes.js';
import { baseLayer, Fixture, inContainer } from './container-fixtures.js';
import { DOCKER, docker, ensureDockerd } from './docker.js';
import { have, tempDir } from './helpers.js';

/** What the container does: the same script for cairn (chroot into the mounted snapshot) and for Docker. */
const SCRIPT = [
  'echo hi > /f',
  'rm /etc/keep',
  'rm -r /dir/sub',
  'echo more >> /dir/a',
  'mkdir /newdir',
  'touch /newdir/n',
  'rm -r /opq',
  'mkdir /opq',
  'echo new > /opq/c',
  'chmod 600 /etc/passwd',
  'mkdir -p /tmp/deep/er',
  'touch /tmp/deep/er/f',
  'ln -s /etc /link',
].join('; ');

const EXPECTED: string[] = [
  'C /dir',
  'C /dir/a',
  'D /dir/sub',
  'C /etc',
  'C /etc/passwd',
  'D /etc/keep',
  'A /f',
  'A /link',
  'A /newdir',
  'A /newdir/n',
  'C /opq',
  'A /opq/c',
  'D /opq/old',
  'C /tmp',
  'A /tmp/deep',
  'A /tmp/deep/er',
  'A /tmp/deep/er/f',
];

const lines = (changes: Change[]): string[] => changes.map((c) => `${c.kind} ${c.path}`);

/** Docker's own rules of order: a listed directory comes before anything below it, and a directory's deletions after its other entries. */
function assertDockerOrder(out: string[]): void {
  const paths = out.map((l) => l.slice(2));
  for (const [i, p] of paths.entries()) {
    const parent = p.slice(0, p.lastIndexOf('/'));
    if (parent !== '') assert.ok(paths.indexOf(parent) < i && paths.indexOf(parent) >= 0, `${p} comes after its directory ${parent}`);
    if (out[i]!.startsWith('D ')) {
      for (const [j, q] of paths.entries()) {
        if (j > i && q.slice(0, q.lastIndexOf('/')) === parent && !out[j]!.startsWith('D ')) assert.fail(`${out[j]} comes after the deletion ${out[i]}`);
      }
    }
  }
}

for (const driver of ['overlay', 'native'] as const) {
  describe(`diff on ${driver}`, () => {
    let dir: { path: string; cleanup: () => Promise<void> };
    let fx: Fixture;

    before(async () => {
      dir = await tempDir(`cairn-diff-${driver}-`);
      fx = await Fixture.create(dir.path, driver, 'bb:diff', await baseLayer());
    });

    after(async () => {
      try {
        await fx?.close();
      } finally {
        await dir.cleanup();
      }
    });

    it('lists added, changed and deleted entries as docker diff does', async () => {
      const c = await fx.container('changed');
      inContainer(c, SCRIPT);
      const out = lines(await containerChanges(fx.store, c.key));
      assert.deepEqual(out, EXPECTED);
      assertDockerOrder(out);
    });

    it('an unchanged container has no changes; a file rewritten with the same size and time is not one', async () => {
      const c = await fx.container('same');
      assert.deepEqual(await containerChanges(fx.store, c.key), []);
      // Copied up (its owner set to what it was): the same in every way Docker compares.
      inContainer(c, 'chown 0:0 /etc/motd');
      assert.deepEqual(lines(await containerChanges(fx.store, c.key)), []);
      inContainer(c, 'touch /etc/motd');
      assert.deepEqual(lines(await containerChanges(fx.store, c.key)), ['C /etc', 'C /etc/motd']);
    });

    it('is refused for a snapshot that is not a writable layer', async () => {
      await assert.rejects(containerChanges(fx.store, fx.topChainId), /committed, not a container's writable layer/);
    });
  });
}

describe('diff beside Docker 20.10', { skip: !have(DOCKER) || !have('dockerd') ? 'docker is not installed' : false }, () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let fx: Fixture;
  let stop: () => Promise<void> = async () => undefined;
  const name = `cairn-diff-${process.pid}`;

  before(async () => {
    dir = await tempDir('cairn-diff-docker-');
    const tar = await baseLayer();
    fx = await Fixture.create(dir.path, 'overlay', 'bb:diff', tar);
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

  it('lists the same changes as docker diff after the same commands', async () => {
    docker(['run', '--name', name, '--network', 'none', `${name}:1`, '/bin/sh', '-c', SCRIPT]);
    const theirs = docker(['diff', name]).trim().split('\n');
    const c = await fx.container('beside-docker');
    inContainer(c, SCRIPT);
    const ours = lines(await containerChanges(fx.store, c.key));
    assert.deepEqual([...ours].sort(), [...theirs].sort());
  });
});
