/**
 * A hostile layer: a directory chain 2,040 levels deep. Each name in the tar stays under the
 * tar reader's 4,096-byte limit, but under ROOT/snapshots/<driver>/<id>/fs the paths exceed
 * PATH_MAX and the depth is beyond what a recursive removal survives. Whatever the import
 * does with it, it must leave no snapshot directory, temporary or trash directory behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { removeTree } from '../src/rmtree.js';
import { cairn, cairnOk, tarBytes, tempDir } from './helpers.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeTree(d);
});

function deepLayer(): Promise<Buffer> {
  return tarBytes(async (tar) => {
    let p = '';
    for (let i = 0; i < 2040; i++) {
      p += 'd/';
      await tar.add({ name: p, type: 'dir', mode: 0o755, mtime: 1700000000 });
    }
    const data = Buffer.from('bottom');
    await tar.add({ name: `${p}f`, type: 'file', mode: 0o644, mtime: 1700000000, size: data.length }, data);
  });
}

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: a layer deeper than PATH_MAX fails to import and leaves nothing in the snapshot directory`, async () => {
    const dir = await tempDir();
    dirs.push(dir.path);
    const root = join(dir.path, 'root');
    const r = await cairn(root, ['--storage-driver', driver, 'import', '-', 'deep:1'], { input: await deepLayer() });
    assert.equal(r.code, 1, r.stderr.slice(0, 300));
    assert.match(r.stderr, /holds paths longer than PATH_MAX \(4,096 bytes\): it cannot be committed/);
    assert.ok(r.stderr.length < 400, 'a one-line message, not a 4,000-byte path');
    assert.deepEqual(readdirSync(join(root, 'snapshots', driver)), [], 'no snapshot, temporary or trash directory is left');
    // The store is still usable, and the next command finds nothing to clean either.
    const images = await cairnOk(root, ['images', '-q']);
    assert.equal(images.stdout, '');
    assert.deepEqual(readdirSync(join(root, 'snapshots', driver)), []);
  });
}
