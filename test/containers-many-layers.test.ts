/**
 * Images of many layers run: one of 200 layers (Docker's overlay2 stops near 125) and one of
 * 499 (the kernel's limit is 500 lower layers; the container's own writable layer is the upper
 * directory). The base layer is busybox; each layer above adds one file, the top one changes a
 * file of the base: the container sees every layer, and the newest wins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, tempDir, unmountUnder } from './helpers.js';

describe('containers of images with many layers', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;

  before(async () => {
    dir = await tempDir('cairn-many-layers-');
    root = join(dir.path, 'root');
    const layers = [await busyboxRunTar()];
    for (let i = 1; i < 498; i++) layers.push(await makeTar([{ path: `layers/${String(i).padStart(3, '0')}`, content: `${i}\n` }]));
    layers.push(await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/motd', content: 'from layer 499\n' }]));
    const archive = await makeDockerArchive([
      { layers: layers.slice(0, 200), repoTags: ['deep:200'], config: { config: { Cmd: ['sh'] } } },
      { layers, repoTags: ['deep:499'], config: { config: { Cmd: ['sh'] } } },
    ]);
    await cairnOk(root, ['load'], { input: archive });
  });

  after(async () => {
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  it('a 200-layer image runs and sees all of its layers', async () => {
    const r = await cairnOk(root, ['run', '--rm', 'deep:200', 'sh', '-c', 'ls /layers | wc -l; cat /layers/199 /etc/motd']);
    assert.equal(r.stdout, '199\n199\nfrom the image\n');
  });

  it('a 499-layer image runs; the top layer wins', async () => {
    const r = await cairnOk(root, ['run', '--rm', 'deep:499', 'sh', '-c', 'ls /layers | wc -l; cat /layers/497 /etc/motd; echo w > /written; cat /written']);
    assert.equal(r.stdout, '497\n497\nfrom layer 499\nw\n');
    assert.equal((await cairn(root, ['ps', '-aq'])).stdout, '');
  });
});
