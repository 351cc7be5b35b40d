import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerFiles } from './files.js';
import { isMountPoint, unmountRootfs } from './prepare.js';

test('unmountRootfs: unmounts a container\'s root filesystem; a container whose directory is gone (removed by another process) has nothing mounted and is no error', () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-prepare-'));
  try {
    // gone: no container directory at all, then one without its rootfs
    unmountRootfs(root, 'gone');
    mkdirSync(containerFiles(root, 'half').dir, { recursive: true });
    unmountRootfs(root, 'half');
    // mounted (a tmpfs stands in for the layers), twice stacked: all of it unmounted
    const { rootfs } = containerFiles(root, 'up');
    mkdirSync(rootfs, { recursive: true });
    for (let i = 0; i < 2; i++) assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', rootfs]).status, 0);
    writeFileSync(join(rootfs, 'f'), 'x');
    assert.ok(isMountPoint(rootfs));
    unmountRootfs(root, 'up');
    assert.ok(!isMountPoint(rootfs));
    // and not mounted: nothing to do
    unmountRootfs(root, 'up');
  } finally {
    spawnSync('umount', ['-R', '-l', join(root, 'containers')]);
    rmSync(root, { recursive: true, force: true });
  }
});
