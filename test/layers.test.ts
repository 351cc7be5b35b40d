/**
 * Layers through the CLI: load/import unpack into snapshots, a shared base is stored once
 * (bytes on disk), `image mount` shows the stacked layers (whiteouts applied) and is
 * reference-counted, and rmi releases layers no image uses. Run on both storage drivers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let base: Buffer;
let childA: Buffer;
let childB: Buffer;

before(async () => {
  dir = await tempDir();
  base = await makeTar([
    { path: 'etc/', type: 'dir' },
    { path: 'etc/os-release', content: 'base\n' },
    { path: 'big.bin', content: randomBytesSeeded(8 << 20, 7) },
    { path: 'gone.txt', content: 'to be deleted\n' },
  ]);
  childA = await makeTar([{ path: 'a.txt', content: 'A\n' }, { path: '.wh.gone.txt', content: '' }]);
  childB = await makeTar([{ path: 'b.txt', content: 'B\n' }]);
});
after(async () => {
  // Never leave a mount behind, whatever failed.
  unmountUnder(dir.path);
  await dir.cleanup();
});

/** Bytes on disk under `path` (du -s, allocated blocks, hard links once). */
function du(path: string): number {
  const r = spawnSync('du', ['-s', '-B1', path]);
  return Number(r.stdout.toString().split('\t')[0]);
}

function mountsUnder(path: string): string[] {
  return readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((t) => t.startsWith(path));
}

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: a shared base is unpacked once; mount shows the stack; rmi releases what no image uses`, async () => {
    const root = join(dir.path, `root-${driver}`);
    const archive = await makeDockerArchive([
      { layers: [base, childA], repoTags: ['img/a:1'] },
      { layers: [base, childB], repoTags: ['img/b:1'] },
    ]);
    await cairnOk(root, ['--storage-driver', driver, 'load'], { input: archive });
    const info = JSON.parse((await cairnOk(root, ['info', '--format', 'json'])).stdout) as { Images: number };
    assert.equal(info.Images, 2);
    const [inspected] = JSON.parse((await cairnOk(root, ['inspect', 'img/a:1'])).stdout) as Array<{ GraphDriver: { Name: string } }>;
    assert.equal(inspected!.GraphDriver.Name, driver, 'inspect names the storage driver');
    const snapDir = join(root, 'snapshots', driver);
    assert.equal(readdirSync(snapDir).filter((n) => /^\d+$/.test(n)).length, 3, 'base + two children: three snapshots');
    if (driver === 'overlay') {
      // The 8 MB base is on disk once: all snapshots together are far below two copies.
      const used = du(snapDir);
      assert.ok(used > 8 << 20, `the base is there (${used} bytes)`);
      assert.ok(used < 12 << 20, `the base is not stored twice (${used} bytes)`);
    }
    // A third image on the same base unpacks only its own layer.
    const before = readdirSync(snapDir).filter((n) => /^\d+$/.test(n)).length;
    await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [base], repoTags: ['img/base:1'] }]) });
    assert.equal(readdirSync(snapDir).filter((n) => /^\d+$/.test(n)).length, before, 'the base layer already exists');

    // The driver is recorded: opening with the other one is refused.
    const other = driver === 'overlay' ? 'native' : 'overlay';
    const wrong = await cairn(root, ['--storage-driver', other, 'image', 'mount', 'img/a:1']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`^Error: .*storage driver ${driver}.*${other}.*\\n$`));

    const m1 = (await cairnOk(root, ['image', 'mount', 'img/a:1'])).stdout.trim();
    assert.equal(readFileSync(join(m1, 'etc/os-release'), 'utf8'), 'base\n');
    assert.equal(readFileSync(join(m1, 'a.txt'), 'utf8'), 'A\n');
    assert.equal(existsSync(join(m1, 'gone.txt')), false, 'the whiteout hides the base file');
    assert.equal(existsSync(join(m1, '.wh.gone.txt')), false);
    assert.notEqual(spawnSync('touch', [join(m1, 'x')]).status, 0, 'the mount is read-only');
    const m2 = (await cairnOk(root, ['image', 'mount', 'img/a:1'])).stdout.trim();
    assert.equal(m2, m1, 'a second mount shares the first');
    const listed = (await cairnOk(root, ['image', 'mount'])).stdout;
    assert.ok(listed.includes(m1));
    const busy = await cairn(root, ['rmi', 'img/a:1']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /image is mounted/);
    await cairnOk(root, ['image', 'umount', 'img/a:1']);
    assert.deepEqual(mountsUnder(m1), [m1], 'still mounted once');
    await cairnOk(root, ['image', 'umount', 'img/a:1']);
    assert.deepEqual(mountsUnder(root), [], 'nothing left mounted');
    const notMounted = await cairn(root, ['image', 'umount', 'img/a:1']);
    assert.equal(notMounted.code, 1);
    assert.match(notMounted.stderr, /is not mounted/);
    const missing = await cairn(root, ['image', 'mount', 'nosuch:1']);
    assert.equal(missing.code, 1);
    assert.deepEqual(mountsUnder(root), []);

    // rmi: img/a's own layer goes; the base stays while img/b and img/base use it.
    const rm = await cairnOk(root, ['rmi', 'img/a:1']);
    assert.equal(rm.stdout.trim().split('\n').filter((l) => l.startsWith('Deleted:')).length, 2, 'the image and its top layer');
    await cairnOk(root, ['rmi', 'img/b:1', 'img/base:1']);
    assert.deepEqual(readdirSync(snapDir).filter((n) => /^\d+$/.test(n)), [], 'no snapshot is left once no image uses it');
    const blobs = readdirSync(join(root, 'content', 'blobs', 'sha256'));
    assert.deepEqual(blobs, [], 'no blob is left');
  });
}
