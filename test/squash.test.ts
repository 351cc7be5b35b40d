/**
 * `cairn image squash`: the image's layers merged into one (or those above the bottom N), the
 * result the same file system as the original when mounted, the history kept with the merged
 * entries marked, and the same digests every time for the same input — on both drivers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, fileTree, unmountUnder } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let archive: Buffer;

before(async () => {
  dir = await tempDir('cairn-squash-');
  const base = await makeTar([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/conf', content: 'one\n' },
    { path: 'etc/old', content: 'old\n' },
    { path: 'opt/', type: 'dir' },
    { path: 'opt/a', content: 'a' },
    { path: 'opt/b', content: 'b' },
    { path: 'bin/', type: 'dir' },
    { path: 'bin/tool', content: randomBytesSeeded(200_000, 5), mode: 0o755 },
    { path: 'link', type: 'symlink', linkname: 'bin/tool' },
  ]);
  const mid = await makeTar([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/conf', content: 'two\n' },
    { path: 'etc/.wh.old', content: '' },
    { path: 'opt/', type: 'dir' },
    { path: 'opt/.wh..wh..opq', content: '' },
    { path: 'opt/c', content: 'c' },
  ]);
  const top = await makeTar([{ path: 'new.txt', content: 'new\n' }, { path: 'bin/', type: 'dir' }, { path: 'bin/.wh.tool', content: '' }]);
  archive = await makeDockerArchive([
    {
      layers: [base, mid, top],
      repoTags: ['sq/app:1'],
      config: {
        history: [
          { created: '2023-11-14T22:13:20Z', created_by: 'ADD base' },
          { created: '2023-11-14T22:13:21Z', created_by: 'ENV A=1', empty_layer: true },
          { created: '2023-11-14T22:13:22Z', created_by: 'RUN mid' },
          { created: '2023-11-14T22:13:23Z', created_by: 'RUN top' },
        ],
      },
    },
  ]);
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

async function mounted(root: string, image: string): Promise<Record<string, string>> {
  const target = (await cairnOk(root, ['image', 'mount', image])).stdout.trim();
  try {
    return fileTree(target);
  } finally {
    await cairnOk(root, ['image', 'umount', image]);
  }
}

interface History {
  CreatedBy: string;
  Comment: string;
  Size: number;
}

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: squash merges every layer into one; the mounted result is the original's file system`, async () => {
    const root = join(dir.path, `${driver}-all`);
    await cairnOk(root, ['--storage-driver', driver, 'load'], { input: archive });
    const original = (await cairnOk(root, ['images', '-q', '--no-trunc', 'sq/app:1'])).stdout.trim();
    const want = await mounted(root, 'sq/app:1');
    assert.ok(want['new.txt'] && want['etc/conf'] && !want['etc/old'] && !want['opt/a'] && want['opt/c'] && !want['bin/tool'], 'the fixture exercises whiteouts and opaque directories');
    const id = (await cairnOk(root, ['image', 'squash', 'sq/app:1', '-t', 'sq/app:flat'])).stdout.trim();
    assert.match(id, /^sha256:[a-f0-9]{64}$/);
    assert.notEqual(id, original);
    const [inspected] = JSON.parse((await cairnOk(root, ['inspect', 'sq/app:flat'])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
    assert.equal(inspected!.RootFS.Layers.length, 1, 'one layer');
    assert.deepEqual(await mounted(root, 'sq/app:flat'), want, 'same file system as the original');
    // The history keeps every entry; the merged ones say so.
    const hist = (await cairnOk(root, ['history', '--format', 'json', '--no-trunc', 'sq/app:flat'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as History);
    assert.deepEqual(hist.map((h) => h.CreatedBy), ['RUN top', 'RUN mid', 'ENV A=1', 'ADD base']);
    assert.ok(hist.filter((h) => /squashed: layers 1-3 merged into layer 1/.test(h.Comment)).length === 3, 'the three merged entries are marked');
    // The original is untouched, and squashing again gives the same image.
    assert.equal((await cairnOk(root, ['images', '-q', '--no-trunc', 'sq/app:1'])).stdout.trim(), original);
    const again = (await cairnOk(root, ['image', 'squash', 'sq/app:1', '-t', 'sq/app:flat2'])).stdout.trim();
    assert.equal(again, id, 'the same digest every time');
  });
}

test('squash --from N keeps the bottom N layers; the digest is the same in another store', async () => {
  const ids: string[] = [];
  for (const n of [0, 1]) {
    const root = join(dir.path, `from-${n}`);
    await cairnOk(root, ['load'], { input: archive });
    const want = await mounted(root, 'sq/app:1');
    const [orig] = JSON.parse((await cairnOk(root, ['inspect', 'sq/app:1'])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
    const id = (await cairnOk(root, ['image', 'squash', '--from', '1', 'sq/app:1'])).stdout.trim();
    ids.push(id);
    // Without -t the name moves to the squashed image.
    assert.equal((await cairnOk(root, ['images', '-q', '--no-trunc', 'sq/app:1'])).stdout.trim(), id);
    const [sq] = JSON.parse((await cairnOk(root, ['inspect', 'sq/app:1'])).stdout) as Array<{ RootFS: { Layers: string[] } }>;
    assert.equal(sq!.RootFS.Layers.length, 2);
    assert.equal(sq!.RootFS.Layers[0], orig!.RootFS.Layers[0], 'the bottom layer is kept');
    assert.deepEqual(await mounted(root, 'sq/app:1'), want);
  }
  assert.equal(ids[0], ids[1], 'two stores, the same squashed image');
});

test('squash refuses what it cannot do with a one-line error', async () => {
  const root = join(dir.path, 'errors');
  await cairnOk(root, ['import', '-', 'one:1'], { input: await makeTar([{ path: 'f', content: 'x' }]) });
  const one = await cairn(root, ['image', 'squash', 'one:1']);
  assert.equal(one.code, 1);
  assert.equal(one.stderr, 'Error: image one:1 has 1 layer: nothing to squash above layer 0\n');
  const missing = await cairn(root, ['image', 'squash', 'nope:1']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error: No such image: nope:1\n');
  const bad = await cairn(root, ['image', 'squash', '--from', 'x', 'one:1']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /^Error: invalid argument "x" for "--from" flag/);
});
