/**
 * The Differ conformance suite: for each comparer (overlay upper directory, walking two
 * mounted trees), the layer `compare(lower, upper)` produces, applied with `apply` on top of
 * `lower`, gives exactly `upper` — files changed, added, deleted (whiteouts) and a directory
 * replaced (opaque). Run on a container-shaped pair: a committed base and a writable
 * snapshot on it, changed through its overlay mount.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/store/store.js';
import { OverlayDiffer, WalkingDiffer, type Differ } from '../src/diff/differ.js';
import { mountAll, unmount } from '../src/snapshot/index.js';
import { makeTar, readableOf, tempDir, fileTree, unmountUnder } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let store: Store;

before(async () => {
  dir = await tempDir('cairn-differ-');
  store = await Store.open({ root: join(dir.path, 'root'), storageDriver: 'overlay' });
});
after(async () => {
  unmountUnder(dir.path);
  store.close();
  await dir.cleanup();
});

async function view(key: string, parent: string, at: string): Promise<Record<string, string>> {
  const sn = await store.snapshots();
  mkdirSync(at, { recursive: true });
  mountAll(await sn.view(key, parent), at);
  try {
    return fileTree(at, { ownersAndTimes: false });
  } finally {
    unmount(at);
    await sn.remove(key);
  }
}

const DIFFERS: Record<string, () => Differ> = {
  overlay: () => new OverlayDiffer(),
  walking: () => new WalkingDiffer(() => store.scratchDir()),
};

for (const [name, make] of Object.entries(DIFFERS)) {
  test(`${name} differ: apply(compare(lower, upper)) on lower is upper`, async () => {
    const sn = await store.snapshots();
    const base = `base-${name}`;
    const prep = await sn.prepare(`${base}-active`);
    await make().apply(readableOf(await makeTar([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/keep', content: 'keep\n' },
      { path: 'etc/change', content: 'before\n' },
      { path: 'etc/gone', content: 'gone\n' },
      { path: 'var/', type: 'dir' },
      { path: 'var/cache/', type: 'dir' },
      { path: 'var/cache/x', content: 'x' },
      { path: 'lnk', type: 'symlink', linkname: 'etc/keep' },
    ])), prep);
    await sn.commit(base, `${base}-active`);
    // A container's writable layer on the base, changed through its mount.
    const ctr = `ctr-${name}`;
    const mounts = await sn.prepare(ctr, base);
    const m = join(dir.path, `m-${name}`);
    mkdirSync(m, { recursive: true });
    mountAll(mounts, m);
    try {
      writeFileSync(join(m, 'etc/change'), 'after\n');
      rmSync(join(m, 'etc/gone'));
      rmSync(join(m, 'var/cache'), { recursive: true });
      mkdirSync(join(m, 'var/cache'));
      writeFileSync(join(m, 'var/cache/y'), 'y');
      writeFileSync(join(m, 'added'), 'added\n');
    } finally {
      unmount(m);
    }
    const lowerKey = `lower-${name}`;
    const lower = await sn.view(lowerKey, base);
    const differ = make();
    const layer = await differ.compare(lower, mounts);
    const chunks: Buffer[] = [];
    for await (const c of layer) chunks.push(Buffer.from(c));
    await sn.remove(lowerKey);
    // The layer applied on the base gives the container's file system.
    const applied = await sn.prepare(`applied-${name}`, base);
    const r = await differ.apply(readableOf(Buffer.concat(chunks)), applied);
    assert.ok(r.entries > 0);
    await sn.commit(`applied-${name}-c`, `applied-${name}`);
    const got = await view(`v1-${name}`, `applied-${name}-c`, join(dir.path, `v1-${name}`));
    await sn.commit(`ctr-${name}-c`, ctr);
    const expected = await view(`v2-${name}`, `ctr-${name}-c`, join(dir.path, `v2-${name}`));
    assert.ok(expected['etc/change']?.includes(createHash('sha256').update('after\n').digest('hex').slice(0, 16)), 'the fixture changed a file');
    assert.equal(expected['etc/gone'], undefined);
    assert.deepEqual(got, expected);
  });
}

test('the overlay differ refuses mounts that are not a writable overlay over the lower ones', async () => {
  const d = new OverlayDiffer();
  await assert.rejects(d.compare([], [{ type: 'bind', source: '/nonexistent', options: ['ro', 'rbind'] }]), /not a writable overlay/);
});

test('the walking differ stream returned early waits for its reads, then unmounts both trees', async () => {
  const sn = await store.snapshots();
  const prep = await sn.prepare('early-base-active');
  await new WalkingDiffer(() => store.scratchDir()).apply(readableOf(await makeTar([{ path: 'big', content: Buffer.alloc(8 << 20, 1) }, { path: 'small', content: 'x' }])), prep);
  await sn.commit('early-base', 'early-base-active');
  const upper = await sn.view('early-upper', 'early-base');
  const layer = await new WalkingDiffer(() => store.scratchDir()).compare([], upper);
  for await (const c of layer) {
    assert.ok(c.length > 0);
    break; // mid-file: the differ is still reading `big`
  }
  assert.deepEqual(readdirSync(join(dir.path, 'root', 'tmp')), [], 'its scratch directory (and mounts) are gone');
  await sn.remove('early-upper');
});
