/**
 * A hostile layer: a directory chain 2,040 levels deep. Each name in the tar stays under the
 * tar reader's 4,096-byte limit, but under ROOT/snapshots/<driver>/<id>/fs the paths exceed
 * PATH_MAX and the depth is beyond what a recursive removal survives. Every walk over a
 * snapshot is fd-relative and iterative, so the layer imports, is measured, re-emitted by save
 * and removed by rmi, leaving no snapshot directory, temporary or trash directory behind.
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
  test(`${driver}: a layer deeper than PATH_MAX imports, saves byte for byte, and rmi leaves nothing in the snapshot directory`, async () => {
    const dir = await tempDir();
    dirs.push(dir.path);
    const root = join(dir.path, 'root');
    const layer = await deepLayer();
    const r = await cairn(root, ['--storage-driver', driver, 'import', '-', 'deep:1'], { input: layer });
    assert.equal(r.code, 0, r.stderr.slice(0, 300));
    // Re-emitted from its files: the saved layer is the imported tar, byte for byte.
    const out = join(dir.path, 'deep.tar');
    await cairnOk(root, ['save', '-o', out, 'deep:1']);
    const other = join(dir.path, 'other');
    await cairnOk(other, ['--storage-driver', driver, 'load', '-i', out]);
    const id = (root: string) => cairnOk(root, ['images', '-q', '--no-trunc']).then((x) => x.stdout.trim());
    assert.equal(await id(other), await id(root));
    assert.match(await id(root), /^sha256:[0-9a-f]{64}$/);
    for (const rt of [root, other]) {
      await cairnOk(rt, ['rmi', 'deep:1']);
      assert.deepEqual(readdirSync(join(rt, 'snapshots', driver)), [], 'no snapshot, temporary or trash directory is left');
    }
  });
}
