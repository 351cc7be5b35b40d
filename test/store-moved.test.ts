/**
 * A store made with the overlay driver, moved to a file system that cannot hold overlay upper
 * directories (issue 15, point 6): what would need one — a container, a load — is refused with
 * one line that says why and what to do, nothing in the store changes, and what only reads its
 * layers (images, inspect, save) still works. The file system here is an overlay mount (overlay
 * refuses an upper directory on overlay), made by the test (root only).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, tempDir } from './helpers.js';

const root = process.getuid?.() === 0;
let work: { path: string; cleanup: () => Promise<void> };
let merged: string;

before(async () => {
  if (!root) return;
  work = await tempDir('cairn-moved-');
  for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(work.path, d));
  merged = join(work.path, 'merged');
  const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${join(work.path, 'lower')},upperdir=${join(work.path, 'upper')},workdir=${join(work.path, 'work')}`, merged], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

after(async () => {
  if (!root) return;
  spawnSync('umount', ['-l', merged]);
  await work.cleanup();
});

test('a store moved onto a file system that cannot hold overlay says so, changes nothing, and still reads', { skip: !root && 'needs root (mounts an overlay)' }, async () => {
  const made = join(work.path, 'store');
  const archive = join(work.path, 'images.tar');
  writeFileSync(archive, await makeDockerArchive([
    { layers: [await busyboxRunTar(), await makeTar([{ path: 'etc/added', content: 'added\n' }])], repoTags: ['moved/bb:1'] },
  ]));
  await cairnOk(made, ['load', '-q', '-i', archive]);
  const savedBefore = join(work.path, 'before.tar');
  await cairnOk(made, ['save', '-o', savedBefore, 'moved/bb:1']);
  // the store moved (copied whole) onto the overlay mount
  const cp = spawnSync('cp', ['-a', made, join(merged, 'store')], { encoding: 'utf8' });
  assert.equal(cp.status, 0, cp.stderr);
  const store = join(merged, 'store');
  const layers = (): string[] => readdirSync(join(store, 'snapshots', 'overlay')).sort();
  const had = layers();

  const run = await cairn(store, ['run', '--rm', '--network', 'none', 'moved/bb:1', 'true']);
  assert.equal(run.code, 125, run.stderr);
  const first = run.stderr.split('\n')[0]!;
  assert.match(first, /the overlay storage driver's layers in .*\/snapshots\/overlay are on an overlay file system, which cannot hold an overlay upper directory \(was the store moved\?\): move the store to a file system that can .* or use a new store; nothing was changed/);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');

  const other = join(work.path, 'other.tar');
  writeFileSync(other, await makeDockerArchive([{ layers: [await makeTar([{ path: 'x', content: 'x' }])], repoTags: ['moved/other:1'] }]));
  const load = await cairn(store, ['load', '-i', other]);
  assert.equal(load.code, 1);
  assert.match(load.stderr.trim(), /^the overlay storage driver's layers in .* cannot hold an overlay upper directory/);
  assert.equal(load.stderr.trim().split('\n').length, 1);

  // nothing changed, and what reads still works
  assert.deepEqual(layers(), had);
  assert.equal((await cairnOk(store, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, 'moved/bb:1\n');
  await cairnOk(store, ['inspect', 'moved/bb:1']);
  const savedAfter = join(work.path, 'after.tar');
  await cairnOk(store, ['save', '-o', savedAfter, 'moved/bb:1']);
  const same = spawnSync('cmp', [savedBefore, savedAfter]);
  assert.equal(same.status, 0, 'save from the moved store gives the same archive, byte for byte');
  assert.deepEqual(layers(), had);
});
