/**
 * Layer applier: the layer's order holds although plain entries are applied in batches on
 * libuv's pool (apply.ts, native applyBatch). Layers here are long enough to span many
 * batches, and put the entries whose outcome depends on an earlier one (replacements,
 * hard links, whiteouts, implicit parents, a failing entry) in other batches than that
 * earlier entry, and inside the same one. Run as root (ownership).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { DataCorruptError } from '../errors.js';
import type { TarBodyInput, TarWriteHeader } from '../tar/index.js';
import { applyLayer, type WhiteoutMode } from './apply.js';
import { chunks, exists, isDirectory, layer, list, snapOne, tempDir } from './apply-fixtures.test-helpers.js';

type Entry = [TarWriteHeader, TarBodyInput?];

/** `n` small files in directory `dir` (its entry first). */
function filler(dir: string, n: number): Entry[] {
  const out: Entry[] = [[{ name: `${dir}/`, type: 'dir', mode: 0o755 }]];
  for (let i = 0; i < n; i++) out.push([{ name: `${dir}/f${i}`, mode: 0o644, uid: i % 7 }, Buffer.from(`${dir}-${i}`)]);
  return out;
}

function apply(dir: string, tar: Buffer, mode: WhiteoutMode): Promise<unknown> {
  return applyLayer({ dir, whiteoutMode: mode }, chunks(tar, 1000), {});
}

for (const mode of ['oci-remove', 'overlay'] as const) {
  test(`${mode}: later entries win over earlier ones in other batches and in the same batch`, async () => {
    const t = tempDir();
    try {
      const root = t.path;
      const tar = await layer([
        [{ name: 'x', mode: 0o600 }, Buffer.from('x was a file')],
        [{ name: 'd/', type: 'dir', mode: 0o700 }],
        [{ name: 'd/child' }, Buffer.from('gone later')],
        [{ name: 'dup', mode: 0o600 }, Buffer.from('first')],
        [{ name: 'dup', mode: 0o640 }, Buffer.from('second, same batch')],
        [{ name: 'again', mode: 0o600 }, Buffer.from('first')],
        [{ name: 'link-target', mode: 0o644 }, Buffer.from('target')],
        [{ name: 'hard', type: 'hardlink', linkname: 'link-target' }],
        [{ name: 'mine' }, Buffer.from('written by this layer')],
        [{ name: '.wh.mine' }],
        ...filler('a', 150),
        [{ name: 'x/', type: 'dir', mode: 0o751, uid: 3 }],
        [{ name: 'x/y' }, Buffer.from('under the new directory')],
        [{ name: 'd', mode: 0o644 }, Buffer.from('d is a file now')],
        [{ name: 'again', mode: 0o644 }, Buffer.from('second, another batch')],
        [{ name: 'implicit/deep/f' }, Buffer.from('parents made on the way')],
        [{ name: 'implicit/', type: 'dir', mode: 0o711, uid: 5 }],
        [{ name: 'sym', type: 'symlink', linkname: 'a/f1' }],
        [{ name: 'sym', type: 'symlink', linkname: 'a/f2' }],
        ...filler('b', 150),
        [{ name: 'late-hard', type: 'hardlink', linkname: 'b/f149' }],
      ]);
      await apply(root, tar, mode);
      assert.ok(isDirectory(join(root, 'x')));
      assert.deepEqual([snapOne(join(root, 'x')).mode, snapOne(join(root, 'x')).uid], [0o751, 3]);
      assert.equal(readFileSync(join(root, 'x/y'), 'utf8'), 'under the new directory');
      assert.equal(readFileSync(join(root, 'd'), 'utf8'), 'd is a file now');
      assert.equal(readFileSync(join(root, 'dup'), 'utf8'), 'second, same batch');
      assert.equal(snapOne(join(root, 'dup')).mode, 0o640);
      assert.equal(readFileSync(join(root, 'again'), 'utf8'), 'second, another batch');
      assert.equal(snapOne(join(root, 'hard')).ino, snapOne(join(root, 'link-target')).ino);
      assert.equal(readFileSync(join(root, 'mine'), 'utf8'), 'written by this layer', "a whiteout spares this layer's own file");
      assert.equal(readFileSync(join(root, 'implicit/deep/f'), 'utf8'), 'parents made on the way');
      assert.deepEqual([snapOne(join(root, 'implicit')).mode, snapOne(join(root, 'implicit')).uid], [0o711, 5]);
      assert.equal(snapOne(join(root, 'sym')).link, 'a/f2');
      assert.equal(list(join(root, 'a')).length, 150);
      assert.equal(list(join(root, 'b')).length, 150);
      assert.equal(snapOne(join(root, 'a/f13')).uid, 13 % 7);
      assert.equal(readFileSync(join(root, 'b/f77'), 'utf8'), 'b-77');
      assert.equal(snapOne(join(root, 'late-hard')).ino, snapOne(join(root, 'b/f149')).ino);
    } finally {
      t.cleanup();
    }
  });
}

test('a whiteout sees every entry before it, in whatever batch (oci-remove)', async () => {
  const t = tempDir();
  try {
    const root = t.path;
    mkdirSync(join(root, 'lower'));
    writeFileSync(join(root, 'lower/old'), 'from a lower layer');
    writeFileSync(join(root, 'lower-file'), 'from a lower layer');
    const tar = await layer([
      ...filler('lower', 100),
      [{ name: 'lower/.wh..wh..opq' }],
      [{ name: '.wh.lower-file' }],
      ...filler('c', 100),
    ]);
    await apply(root, tar, 'oci-remove');
    assert.equal(list(join(root, 'lower')).length, 100, "the opaque marker removed the lower file and kept this layer's");
    assert.ok(!exists(join(root, 'lower/old')));
    assert.ok(!exists(join(root, 'lower-file')));
    assert.equal(list(join(root, 'c')).length, 100);
  } finally {
    t.cleanup();
  }
});

test('a refused entry stops the layer there: what came before is written, nothing after it', async () => {
  for (const [bad, message] of [
    [[{ name: 'bad', type: 'hardlink', linkname: 'missing' }], /entry "bad": hard link target "missing" does not exist in this layer$/],
    [[{ name: 'a/f3/under-a-file' }, Buffer.from('x')], /entry "a\/f3\/under-a-file": "a\/f3" is not a directory$/],
    [[{ name: 'bad', uid: 2 ** 40 }, Buffer.from('x')], /entry "bad": owner 1099511627776:0 is out of range$/],
  ] as Array<[Entry, RegExp]>) {
    const t = tempDir();
    try {
      const root = t.path;
      const tar = await layer([...filler('a', 120), bad, [{ name: 'after' }, Buffer.from('never')], ...filler('z', 70)]);
      await assert.rejects(apply(root, tar, 'overlay'), (e: unknown) => e instanceof DataCorruptError && message.test(e.message));
      assert.equal(list(join(root, 'a')).length, 120, 'every entry before the refused one is written');
      assert.ok(!exists(join(root, 'after')), 'nothing after it');
      assert.ok(!exists(join(root, 'z')));
    } finally {
      t.cleanup();
    }
  }
});
