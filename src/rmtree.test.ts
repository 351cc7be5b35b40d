import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CairnError } from './errors.js';
import { constants, mount, umount2 } from './native/index.js';
import { removeFile, removeTree } from './rmtree.js';
import { deepChain } from './rmtree.fixture.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'cairn-rmtree-'));
  try {
    await fn(dir);
  } finally {
    await removeTree(dir);
  }
}

test('removeTree removes a 3,000-level chain whose paths exceed PATH_MAX (fs.rm cannot)', () =>
  withDir(async (dir) => {
    deepChain(join(dir), 3000, 'x'.repeat(20));
    // The chain's path is ~63,000 bytes: fs.rm fails on it, which is the bug being fixed.
    await assert.rejects(fsp.rm(join(dir, 'x'.repeat(20)), { recursive: true }));
    assert.equal(await removeTree(join(dir, 'x'.repeat(20))), true);
    assert.deepEqual(await fsp.readdir(dir), []);
  }));

test('removeTree: files, symlinks (not followed), wide directories, and missing paths', () =>
  withDir(async (dir) => {
    const keep = join(dir, 'keep');
    await fsp.mkdir(keep);
    await fsp.writeFile(join(keep, 'precious'), 'p');
    const t = join(dir, 't');
    await fsp.mkdir(join(t, 'a', 'b'), { recursive: true });
    for (let i = 0; i < 2000; i++) await fsp.writeFile(join(t, 'a', `f${i}`), '');
    for (let i = 0; i < 50; i++) await fsp.mkdir(join(t, `sub${i}`));
    await fsp.symlink(keep, join(t, 'link-to-keep'));
    await fsp.symlink(keep, join(t, 'a', 'b', 'link'));
    await fsp.chmod(join(t, 'a', 'b'), 0o500);
    await fsp.writeFile(join(dir, 'plain'), 'x');
    await fsp.symlink(keep, join(dir, 'toplink'));

    assert.equal(await removeTree(t), true);
    assert.equal(await removeTree(join(dir, 'plain')), true);
    assert.equal(await removeTree(join(dir, 'toplink')), true);
    assert.deepEqual(await fsp.readdir(dir), ['keep']);
    assert.equal(await fsp.readFile(join(keep, 'precious'), 'utf8'), 'p', 'a symlink is removed, never followed');
    assert.equal(await removeTree(t), false);
    assert.equal(await removeTree(join(dir, 'no', 'such', 'parent')), false);
  }));

test('removeTree never enters a mount point inside the tree', () =>
  withDir(async (dir) => {
    const t = join(dir, 't');
    const mnt = join(t, 'sub', 'mnt');
    await fsp.mkdir(mnt, { recursive: true });
    await fsp.writeFile(join(t, 'sub', 'gone'), '');
    mount('tmpfs', mnt, 'tmpfs', 0, 'size=1m');
    try {
      await fsp.writeFile(join(mnt, 'inside'), 'i');
      await assert.rejects(removeTree(t), (e: unknown) => e instanceof CairnError && /another file system is mounted inside it/.test(e.message) && !e.message.includes('\n'));
      assert.equal(await fsp.readFile(join(mnt, 'inside'), 'utf8'), 'i', 'the mounted file system is untouched');
    } finally {
      umount2(mnt, constants.MNT_DETACH);
    }
    assert.equal(await removeTree(t), true);
    assert.deepEqual(await fsp.readdir(dir), []);
  }));

test('removeFile: a file or a symlink (not what it points to) is removed; a missing one is false; a directory is refused', () =>
  withDir(async (dir) => {
    await fsp.writeFile(join(dir, 'f'), 'x');
    await fsp.writeFile(join(dir, 'target'), 'kept');
    await fsp.symlink(join(dir, 'target'), join(dir, 'link'));
    await fsp.mkdir(join(dir, 'd'));
    assert.equal(removeFile(join(dir, 'f')), true);
    assert.equal(removeFile(join(dir, 'f')), false);
    assert.equal(removeFile(join(dir, 'link')), true);
    assert.equal(await fsp.readFile(join(dir, 'target'), 'utf8'), 'kept');
    assert.throws(() => removeFile(join(dir, 'd')), (e: unknown) => (e as NodeJS.ErrnoException).code === 'EISDIR');
    assert.deepEqual((await fsp.readdir(dir)).sort(), ['d', 'target']);
  }));
