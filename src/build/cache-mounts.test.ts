import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireCacheMount, cacheKeyHash, cacheMountsDir, listCacheMounts, pruneCacheMounts } from './cache-mounts.js';

function withRoot(fn: (root: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const root = mkdtempSync(join(tmpdir(), 'cairn-cache-mounts-'));
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  };
}

const empty = async (): Promise<void> => {};

test('a cache is made once (populated then), kept by its key, and shared', withRoot(async (root) => {
  let made = 0;
  const seed = async (data: string) => {
    made++;
    writeFileSync(join(data, 'seed'), 'x');
  };
  const a = await acquireCacheMount(root, { id: '/c' }, 'shared', seed);
  const b = await acquireCacheMount(root, { id: '/c' }, 'shared', seed);
  assert.equal(a.path, b.path);
  assert.equal(a.path, join(cacheMountsDir(root), cacheKeyHash({ id: '/c' }).hash, '0', 'data'));
  assert.equal(made, 1);
  assert.equal(readFileSync(join(a.path, 'seed'), 'utf8'), 'x');
  // Another base is another cache.
  const c = await acquireCacheMount(root, { id: '/c', base: 'other' }, 'shared', empty);
  assert.notEqual(c.path, a.path);
  a.release();
  b.release();
  c.release();
  const listed = listCacheMounts(root);
  assert.deepEqual(listed.map((l) => [l.id, l.instances.length, l.instances[0]!.inUse]).sort(), [['/c', 1, false], ['/c', 1, false]]);
}));

test('locked waits for the holder; private takes another instance when the cache is busy', withRoot(async (root) => {
  const first = await acquireCacheMount(root, { id: 'k' }, 'locked', empty);
  let second: Awaited<ReturnType<typeof acquireCacheMount>> | undefined;
  const waiting = acquireCacheMount(root, { id: 'k' }, 'locked', empty).then((u) => (second = u));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(second, undefined, 'the second locked user waits');
  // A private user finds instance 0 busy: a new instance.
  const priv = await acquireCacheMount(root, { id: 'k' }, 'private', empty);
  assert.equal(priv.instance, 1);
  assert.deepEqual(listCacheMounts(root)[0]!.instances.map((i) => [i.instance, i.inUse]), [[0, true], [1, true]]);
  first.release();
  await waiting;
  assert.equal(second!.instance, 0);
  second!.release();
  priv.release();
  // A free instance is reused by the next private user.
  const again = await acquireCacheMount(root, { id: 'k' }, 'private', empty);
  assert.equal(again.instance, 0);
  again.release();
}));

test('prune removes what no one uses, keeps what is in use', withRoot(async (root) => {
  const used = await acquireCacheMount(root, { id: 'used' }, 'shared', empty);
  const idle = await acquireCacheMount(root, { id: 'idle' }, 'shared', empty);
  idle.release();
  writeFileSync(join(idle.path, 'f'), Buffer.alloc(100_000, 1));
  const removed = await pruneCacheMounts(root);
  assert.deepEqual(removed.map((r) => r.path), [idle.path]);
  assert.ok(removed[0]!.bytes >= 100_000, `a pruned instance says what it held: ${removed[0]!.bytes}`);
  assert.ok(existsSync(used.path));
  assert.deepEqual(listCacheMounts(root).map((c) => c.id), ['used']);
  used.release();
  assert.deepEqual((await pruneCacheMounts(root)).map((r) => r.path), [used.path]);
  assert.deepEqual(listCacheMounts(root), []);
  // A pruned cache is made afresh when used again.
  const back = await acquireCacheMount(root, { id: 'used' }, 'shared', empty);
  assert.ok(existsSync(back.path));
  back.release();
}));
