/**
 * Garbage collection through the CLI: removing every image returns the store to the size of
 * an empty store (du, allocated blocks; the metadata database aside, whose pages SQLite
 * keeps for reuse), on both storage drivers — blobs, layer snapshots and mount views all go.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };

before(async () => {
  dir = await tempDir('cairn-gc-');
});
after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

/** Bytes on disk under `root`, the metadata database excluded, and the files counted. */
function usage(root: string): { bytes: number; files: string[] } {
  const r = spawnSync('du', ['-s', '-B1', '--exclude=metadata.db*', root]);
  const files = spawnSync('find', [root, '-not', '-type', 'd', '-not', '-name', 'metadata.db*']).stdout.toString().split('\n').filter(Boolean);
  return { bytes: Number(r.stdout.toString().split('\t')[0]), files };
}

/** Directories under `root` (empty ones the store makes on first use are part of its empty size). */
function dirs(root: string): string[] {
  return spawnSync('find', [root, '-type', 'd']).stdout.toString().split('\n').filter(Boolean).sort();
}

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: rmi of every image leaves the store at its empty size`, async () => {
    const root = join(dir.path, driver);
    await cairnOk(root, ['--storage-driver', driver, 'images']);
    const empty = usage(root);
    const emptyDirs = dirs(root);
    const base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/a', content: randomBytesSeeded(3 << 20, 1) }, { path: 'gone', content: 'x' }]);
    const a = await makeTar([{ path: 'a', content: 'a' }, { path: '.wh.gone', content: '' }]);
    const b = await makeTar([{ path: 'b', content: randomBytesSeeded(1 << 20, 2) }]);
    const archive = await makeDockerArchive([{ layers: [base, a], repoTags: ['gc/a:1'] }, { layers: [base, b], repoTags: ['gc/b:1', 'gc/b:2'] }]);
    const rootfs = await makeTar([{ path: 'x', content: randomBytesSeeded(500_000, 3) }], 'gzip');
    const cycle = async (): Promise<{ bytes: number; files: string[] }> => {
      await cairnOk(root, ['load'], { input: archive });
      await cairnOk(root, ['import', '-', 'gc/imported:1'], { input: rootfs });
      await cairnOk(root, ['image', 'mount', 'gc/a:1']);
      await cairnOk(root, ['image', 'umount', 'gc/a:1']);
      const full = usage(root);
      assert.ok(full.bytes > empty.bytes + (4 << 20), `the images take space (${full.bytes} > ${empty.bytes})`);
      const ids = [...new Set((await cairnOk(root, ['images', '-q', '--no-trunc'])).stdout.trim().split('\n'))];
      assert.equal(ids.length, 3);
      await cairnOk(root, ['rmi', '-f', ...ids]);
      assert.equal((await cairnOk(root, ['images', '-q'])).stdout, '');
      return usage(root);
    };
    const first = await cycle();
    assert.deepEqual(first.files, empty.files, 'no file left behind');
    // What differs from a fresh store is only empty directories made on first use (blobs/sha256, mounts, a driver's directory).
    for (const d of dirs(root).filter((x) => !emptyDirs.includes(x))) {
      assert.equal(spawnSync('find', [d, '-not', '-type', 'd']).stdout.toString(), '', `${d} holds only empty directories`);
    }
    const second = await cycle();
    assert.deepEqual(second, first, 'a second round leaves exactly the same store: nothing accumulates');
  });
}
