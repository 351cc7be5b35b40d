/**
 * The Snapshotter conformance suite (after containerd's snapshots/testsuite): one set of
 * behaviours every storage driver must show, run from snapshot.test.ts against each driver
 * through a factory that opens it. Each test gets a fresh store root, mounts only under it,
 * unmounts everything in `finally`, removes the root, and checks that /proc/mounts names
 * nothing under it afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlreadyExistsError, ConflictError, InvalidArgumentError, NotFoundError, PreconditionError } from '../errors.js';
import { type Db, openDatabase } from '../metadata/db.js';
import { constants, mknodat } from '../native/index.js';
import { removeTree } from '../rmtree.js';
import { deepChain } from '../rmtree.fixture.js';
import { openSnapshotter, type SnapshotStore } from './index.js';
import { mountAll, unmount } from './mount.js';
import type { DriverName, Info, Mount, Snapshotter } from './types.js';
import { writableLayer } from './writable.js';

/** Opens a snapshotter on a store (a fresh one, or the same one again to test start-up). */
export type SnapshotterFactory = (store: SnapshotStore) => Promise<Snapshotter>;

/** The factory of a registered driver (or, without one, the store's default driver). */
export function driverFactory(driver?: DriverName): SnapshotterFactory {
  return (store) => openSnapshotter(store, driver);
}

/** A temporary store root with its database, snapshotter and a mount helper that always cleans up. */
export class TestRoot {
  readonly root: string;
  readonly db: Db;
  readonly sn: Snapshotter;
  readonly factory: SnapshotterFactory;
  private readonly mounted: string[] = [];
  private seq = 0;

  private constructor(root: string, db: Db, sn: Snapshotter, factory: SnapshotterFactory) {
    this.root = root;
    this.db = db;
    this.sn = sn;
    this.factory = factory;
  }

  static async create(factory: SnapshotterFactory = driverFactory()): Promise<TestRoot> {
    const root = await fsp.mkdtemp(join(tmpdir(), 'cairn-snap-'));
    const db = openDatabase(join(root, 'metadata.db'));
    try {
      return new TestRoot(root, db, await factory({ root, db }), factory);
    } catch (e) {
      db.close();
      await removeTree(root);
      throw e;
    }
  }

  /** The snapshotter opened again on the same store (what the next process would get). */
  reopen(): Promise<Snapshotter> {
    return this.factory({ root: this.root, db: this.db });
  }

  /** ROOT/snapshots/<driver>: where the driver keeps its snapshot directories. */
  get driverDir(): string {
    return join(this.root, 'snapshots', this.sn.driver);
  }

  /** Mount `mounts` at a fresh directory under the root; unmounted by `unmount` or `dispose`. */
  async mount(mounts: Mount[]): Promise<string> {
    const at = join(this.root, 'mnt', String(this.seq++));
    await fsp.mkdir(at, { recursive: true });
    mountAll(mounts, at);
    this.mounted.push(at);
    return at;
  }

  unmount(at: string): void {
    const i = this.mounted.indexOf(at);
    assert.ok(i >= 0, `${at} is not mounted by this test`);
    this.mounted.splice(i, 1);
    assert.ok(unmount(at) >= 1, `nothing was mounted at ${at}`);
  }

  /** prepare(key, parent) → mount → fn(dir) → unmount → commit(name). */
  async layer(name: string, parent: string | undefined, fn: (dir: string) => Promise<void>): Promise<void> {
    const key = `${name}-active`;
    const at = await this.mount(await this.sn.prepare(key, parent));
    try {
      await fn(at);
    } finally {
      this.unmount(at);
    }
    await this.sn.commit(name, key);
  }

  /** view(parent) → mount → fn(dir) → unmount → remove the view. */
  async check(parent: string, fn: (dir: string) => Promise<void>): Promise<void> {
    const key = `view-${this.seq}-of-${parent}`;
    const at = await this.mount(await this.sn.view(key, parent));
    try {
      await fn(at);
    } finally {
      this.unmount(at);
    }
    await this.sn.remove(key);
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const at of this.mounted.reverse()) {
      try {
        unmount(at);
      } catch (e) {
        errors.push(e);
      }
    }
    this.db.close();
    await removeTree(this.root);
    const left = mountsUnder(this.root);
    assert.deepEqual(left, [], `mounts left under ${this.root}`);
    if (errors.length > 0) throw errors[0];
  }
}

/** Mount points in /proc/mounts at or under `dir`. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(dir + '/'));
}

export function withRoot(driver: DriverName | SnapshotterFactory, fn: (t: TestRoot) => Promise<void>): () => Promise<void> {
  return async () => {
    const t = await TestRoot.create(typeof driver === 'function' ? driver : driverFactory(driver));
    try {
      await fn(t);
    } finally {
      await t.dispose();
    }
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

async function collect(it: AsyncIterable<Info>): Promise<Info[]> {
  const out: Info[] = [];
  for await (const i of it) out.push(i);
  return out;
}

/** A pid that is certainly dead: a child that has already exited. */
export function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

export interface SuiteOptions {
  /** How many committed layers the many-layers test stacks under one writable snapshot. */
  manyLayers: number;
  /**
   * Whether a snapshot's directory holds only its own changes (overlay-like: usage counts
   * them alone) rather than a whole tree (a full copy of its parent's files plus its own).
   */
  layered: boolean;
}

/** Run the suite against the driver `driver` that `factory` opens. */
export function snapshotterSuite(driver: DriverName, factory: SnapshotterFactory, opts: SuiteOptions): void {
  const t = (name: string, fn: (r: TestRoot) => Promise<void>): void => {
    test(`${driver}: ${name}`, withRoot(factory, fn));
  };

  t('basic: prepare, write, commit, stack, view, walk, remove', async (r) => {
    assert.equal(r.sn.driver, driver);
    await r.layer('base', undefined, async (d) => {
      await fsp.mkdir(join(d, 'foo'));
      await fsp.writeFile(join(d, 'foo', 'bar'), 'bar');
      await fsp.writeFile(join(d, 'a.txt'), 'a');
      await fsp.symlink('foo/bar', join(d, 'link'));
    });
    const base = await r.sn.stat('base');
    assert.equal(base.kind, 'committed');
    assert.equal(base.parent, undefined);
    assert.ok(base.created instanceof Date && !Number.isNaN(base.created.getTime()));
    await assert.rejects(r.sn.stat('base-active'), NotFoundError);

    const mounts = await r.sn.prepare('next', 'base');
    assert.deepEqual(await r.sn.mounts('next'), mounts);
    const active = await r.sn.stat('next');
    assert.equal(active.kind, 'active');
    assert.equal(active.parent, 'base');
    const at = await r.mount(mounts);
    assert.equal(await fsp.readFile(join(at, 'foo', 'bar'), 'utf8'), 'bar');
    assert.equal(await fsp.readlink(join(at, 'link')), 'foo/bar');
    await fsp.writeFile(join(at, 'baz'), 'baz');
    r.unmount(at);
    await r.sn.commit('top', 'next');
    await assert.rejects(r.sn.stat('next'), NotFoundError);
    assert.equal((await r.sn.stat('top')).parent, 'base');

    await r.check('top', async (d) => {
      assert.deepEqual((await fsp.readdir(d)).sort(), ['a.txt', 'baz', 'foo', 'link']);
      await assert.rejects(fsp.writeFile(join(d, 'nope'), 'x'), { code: 'EROFS' });
    });
    await r.check('base', async (d) => {
      assert.deepEqual((await fsp.readdir(d)).sort(), ['a.txt', 'foo', 'link']);
    });

    await r.sn.view('v', 'top');
    const walked = await collect(r.sn.walk());
    assert.deepEqual(
      walked.map((i) => [i.key, i.kind, i.parent]),
      [
        ['base', 'committed', undefined],
        ['top', 'committed', 'base'],
        ['v', 'view', 'top'],
      ],
    );
    await r.sn.remove('v');
    await r.sn.remove('top');
    await r.sn.remove('base');
    assert.deepEqual(await collect(r.sn.walk()), []);
    // Nothing of the removed snapshots is left on disk.
    assert.deepEqual(await fsp.readdir(join(r.root, 'snapshots', driver)), []);
  });

  t("hasFiles: whether a snapshot's directory is there; one whose directory went behind its back can still be removed", async (r) => {
    await r.layer('base', undefined, async (d) => fsp.writeFile(join(d, 'f'), 'f'));
    assert.equal(r.sn.hasFiles('base'), true);
    assert.equal(r.sn.hasFiles('missing'), false);
    const ids = (await fsp.readdir(r.driverDir)).filter((n) => /^[0-9]+$/.test(n));
    assert.equal(ids.length, 1);
    await removeTree(join(r.driverDir, ids[0]!));
    assert.equal(r.sn.hasFiles('base'), false);
    assert.equal((await r.sn.stat('base')).kind, 'committed', 'its record stays');
    await r.sn.remove('base');
    await assert.rejects(r.sn.stat('base'), NotFoundError);
  });

  t('an empty base snapshot and an empty view', async (r) => {
    const at = await r.mount(await r.sn.prepare('empty'));
    assert.deepEqual(await fsp.readdir(at), []);
    r.unmount(at);
    const v = await r.mount(await r.sn.view('nothing'));
    assert.deepEqual(await fsp.readdir(v), []);
    await assert.rejects(fsp.mkdir(join(v, 'x')), { code: 'EROFS' });
    r.unmount(v);
    assert.equal((await r.sn.stat('nothing')).kind, 'view');
  });

  t('layer file update: each layer sees its own version of a file', async (r) => {
    await r.layer('l1', undefined, (d) => fsp.writeFile(join(d, 'foo'), 'mars'));
    await r.layer('l2', 'l1', (d) => fsp.writeFile(join(d, 'foo'), 'jupiter and its moons'));
    await r.layer('l3', 'l2', (d) => fsp.writeFile(join(d, 'foo'), 'io'));
    const want: Record<string, string> = { l1: 'mars', l2: 'jupiter and its moons', l3: 'io' };
    for (const [layer, content] of Object.entries(want)) {
      await r.check(layer, async (d) => assert.equal(await fsp.readFile(join(d, 'foo'), 'utf8'), content));
    }
  });

  t('a directory removed from a lower layer, then made again', async (r) => {
    await r.layer('l1', undefined, async (d) => {
      await fsp.mkdir(join(d, 'somedir', 'deep'), { recursive: true });
      await fsp.writeFile(join(d, 'somedir', 'f1'), '1');
      await fsp.writeFile(join(d, 'somedir', 'deep', 'f2'), '2');
      await fsp.writeFile(join(d, 'keep'), 'k');
    });
    await r.layer('l2', 'l1', (d) => fsp.rm(join(d, 'somedir'), { recursive: true }));
    await r.layer('l3', 'l2', async (d) => {
      assert.equal(await exists(join(d, 'somedir')), false);
      await fsp.mkdir(join(d, 'somedir'));
      await fsp.writeFile(join(d, 'somedir', 'f3'), '3');
    });
    await r.check('l2', async (d) => {
      assert.equal(await exists(join(d, 'somedir')), false);
      assert.equal(await fsp.readFile(join(d, 'keep'), 'utf8'), 'k');
    });
    await r.check('l3', async (d) => {
      assert.deepEqual(await fsp.readdir(join(d, 'somedir')), ['f3']);
    });
    await r.check('l1', async (d) => {
      assert.deepEqual((await fsp.readdir(join(d, 'somedir'))).sort(), ['deep', 'f1']);
    });
  });

  t('chown and chmod in an upper layer', async (r) => {
    await r.layer('l1', undefined, async (d) => {
      await fsp.mkdir(join(d, 'dir'), { mode: 0o755 });
      await fsp.writeFile(join(d, 'dir', 'file'), 'data', { mode: 0o644 });
      await fsp.writeFile(join(d, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
    });
    await r.layer('l2', 'l1', async (d) => {
      await fsp.chown(join(d, 'dir'), 1000, 1001);
      await fsp.chown(join(d, 'dir', 'file'), 2000, 2002);
      await fsp.chown(join(d, 'tool'), 3000, 3003);
      await fsp.chmod(join(d, 'tool'), 0o4755);
    });
    await r.check('l2', async (d) => {
      const dir = await fsp.lstat(join(d, 'dir'));
      assert.deepEqual([dir.uid, dir.gid], [1000, 1001]);
      const file = await fsp.lstat(join(d, 'dir', 'file'));
      assert.deepEqual([file.uid, file.gid, file.mode & 0o7777], [2000, 2002, 0o644]);
      assert.equal(await fsp.readFile(join(d, 'dir', 'file'), 'utf8'), 'data');
      const tool = await fsp.lstat(join(d, 'tool'));
      assert.deepEqual([tool.uid, tool.gid, tool.mode & 0o7777], [3000, 3003, 0o4755]);
    });
    await r.check('l1', async (d) => {
      const file = await fsp.lstat(join(d, 'dir', 'file'));
      assert.deepEqual([file.uid, file.gid], [0, 0]);
    });
  });

  t('files deleted in a child snapshot', async (r) => {
    await r.layer('l1', undefined, async (d) => {
      await fsp.writeFile(join(d, 'a'), 'a');
      await fsp.writeFile(join(d, 'b'), 'b');
      await fsp.mkdir(join(d, 'dir'));
      await fsp.writeFile(join(d, 'dir', 'c'), 'c');
      await fsp.symlink('a', join(d, 'link-to-a'));
    });
    await r.layer('l2', 'l1', async (d) => {
      await fsp.rm(join(d, 'a'));
      await fsp.rm(join(d, 'dir', 'c'));
      await fsp.rm(join(d, 'link-to-a'));
    });
    await r.check('l2', async (d) => {
      assert.deepEqual((await fsp.readdir(d)).sort(), ['b', 'dir']);
      assert.deepEqual(await fsp.readdir(join(d, 'dir')), []);
    });
    await r.layer('l3', 'l2', (d) => fsp.writeFile(join(d, 'a'), 'again'));
    await r.check('l3', async (d) => assert.equal(await fsp.readFile(join(d, 'a'), 'utf8'), 'again'));
  });

  t('metadata survives the driver: hard links, modes, times, special files, xattrs', async (r) => {
    const mtime = new Date('2001-02-03T04:05:06.789Z');
    await r.layer('l1', undefined, async (d) => {
      await fsp.writeFile(join(d, 'one'), 'linked');
      await fsp.link(join(d, 'one'), join(d, 'two'));
      await fsp.writeFile(join(d, 'old'), 'old');
      await fsp.utimes(join(d, 'old'), mtime, mtime);
      await fsp.mkdir(join(d, 'sticky'), { mode: 0o777 });
      await fsp.chmod(join(d, 'sticky'), 0o1777);
      await fsp.writeFile(join(d, 'xattr'), 'x');
      const native = await import('../native/index.js');
      native.lsetxattr(join(d, 'xattr'), 'user.cairn', Buffer.from('value'));
      native.mknodat(native.constants.AT_FDCWD, join(d, 'fifo'), native.constants.S_IFIFO | 0o640);
      native.mknodat(native.constants.AT_FDCWD, join(d, 'null'), native.constants.S_IFCHR | 0o666, 1, 3);
    });
    await r.layer('l2', 'l1', (d) => fsp.writeFile(join(d, 'new'), 'n'));
    await r.check('l2', async (d) => {
      const one = await fsp.stat(join(d, 'one'));
      const two = await fsp.stat(join(d, 'two'));
      assert.equal(one.ino, two.ino);
      assert.equal(one.nlink, 2);
      assert.equal((await fsp.stat(join(d, 'old'))).mtime.getTime(), mtime.getTime());
      assert.equal((await fsp.stat(join(d, 'sticky'))).mode & 0o7777, 0o1777);
      const native = await import('../native/index.js');
      assert.deepEqual(native.lgetxattr(join(d, 'xattr'), 'user.cairn'), Buffer.from('value'));
      const fifo = await fsp.lstat(join(d, 'fifo'));
      assert.ok(fifo.isFIFO());
      assert.equal(fifo.mode & 0o777, 0o640);
      const dev = native.fstatat(native.constants.AT_FDCWD, join(d, 'null'), native.constants.AT_SYMLINK_NOFOLLOW);
      assert.equal(dev.mode & native.constants.S_IFMT, native.constants.S_IFCHR);
      assert.deepEqual([dev.rdevMajor, dev.rdevMinor], [1, 3]);
    });
  });

  t(`many layers: ${opts.manyLayers} committed layers under one writable snapshot`, async (r) => {
    const n = opts.manyLayers;
    let parent: string | undefined;
    for (let i = 0; i < n; i++) {
      const name = `layer-${i}`;
      await r.layer(name, parent, async (d) => {
        await fsp.writeFile(join(d, `file-${i}`), String(i));
        await fsp.writeFile(join(d, 'top'), String(i));
      });
      parent = name;
    }
    const mounts = await r.sn.prepare('work', parent);
    if (mounts[0]!.type === 'overlay') assert.equal(mounts[0]!.lowerdirs!.length, n);
    const at = await r.mount(mounts);
    const names = await fsp.readdir(at);
    assert.equal(names.length, n + 1);
    for (let i = 0; i < n; i++) assert.equal(await fsp.readFile(join(at, `file-${i}`), 'utf8'), String(i));
    assert.equal(await fsp.readFile(join(at, 'top'), 'utf8'), String(n - 1));
    await fsp.writeFile(join(at, 'written-on-top'), 'w');
    await fsp.rm(join(at, 'file-0'));
    r.unmount(at);
    await r.sn.commit('final', 'work');
    await r.check('final', async (d) => {
      assert.equal(await fsp.readFile(join(d, 'written-on-top'), 'utf8'), 'w');
      assert.equal(await exists(join(d, 'file-0')), false);
      // n files - file-0 + top + written-on-top
      assert.equal((await fsp.readdir(d)).length, n + 1);
    });
  });

  t('errors: unknown keys, duplicates, wrong kinds, children', async (r) => {
    await assert.rejects(r.sn.stat('missing'), NotFoundError);
    await assert.rejects(r.sn.mounts('missing'), NotFoundError);
    await assert.rejects(r.sn.remove('missing'), NotFoundError);
    await assert.rejects(r.sn.usage('missing'), NotFoundError);
    await assert.rejects(r.sn.commit('x', 'missing'), NotFoundError);
    await assert.rejects(r.sn.prepare('a', 'missing'), NotFoundError);

    await r.sn.prepare('a');
    await assert.rejects(r.sn.prepare('a'), AlreadyExistsError);
    await assert.rejects(r.sn.view('a'), AlreadyExistsError);
    await assert.rejects(r.sn.prepare('b', 'a'), PreconditionError, 'an active snapshot is no parent');
    await r.sn.commit('c', 'a');
    await assert.rejects(r.sn.mounts('c'), PreconditionError);
    await assert.rejects(r.sn.prepare('c'), AlreadyExistsError);
    await r.sn.prepare('d');
    await assert.rejects(r.sn.commit('c', 'd'), AlreadyExistsError);
    assert.equal((await r.sn.stat('d')).kind, 'active', 'a refused commit leaves the snapshot active');
    await r.sn.view('v', 'c');
    await assert.rejects(r.sn.commit('cv', 'v'), PreconditionError);
    await assert.rejects(r.sn.prepare('e', 'v'), PreconditionError, 'a view is no parent');
    await assert.rejects(r.sn.commit('c2', 'c'), PreconditionError, 'a committed snapshot cannot be committed again');
    assert.deepEqual(['c', 'd', 'v', 'nothing'].map((k) => r.sn.isCommitted(k)), [true, false, false, false], 'isCommitted: only the committed one');

    await assert.rejects(r.sn.remove('c'), ConflictError);
    await r.sn.remove('v');
    await r.sn.prepare('child', 'c');
    await assert.rejects(r.sn.remove('c'), ConflictError);
    await r.sn.remove('child');
    await r.sn.remove('c');
    await r.sn.remove('d');
    assert.deepEqual(await collect(r.sn.walk()), []);
  });

  t('remove with measure: the disk the snapshot held, at least its files\' bytes', async (r) => {
    const w = writableLayer(await r.sn.prepare('m'));
    await fsp.writeFile(join(w.dir, 'big'), Buffer.alloc(300_000, 7));
    await r.sn.commit('mc', 'm');
    const usage = await r.sn.usage('mc');
    const freed = await r.sn.remove('mc', { measure: true });
    assert.ok(freed !== undefined && freed >= usage.size && usage.size >= 300_000, `freed ${freed}, usage ${usage.size}`);
    await r.sn.prepare('n');
    assert.equal(await r.sn.remove('n'), undefined, 'not measured unless asked');
  });

  t('a mounted snapshot is neither committed nor removed', async (r) => {
    await r.layer('base', undefined, (d) => fsp.writeFile(join(d, 'f'), 'f'));
    const at = await r.mount(await r.sn.prepare('a', 'base'));
    await assert.rejects(r.sn.commit('A', 'a'), (e: unknown) => e instanceof PreconditionError && e.message.includes(at));
    await assert.rejects(r.sn.remove('a'), (e: unknown) => e instanceof ConflictError && e.message.includes(at));
    assert.equal((await r.sn.stat('a')).kind, 'active');
    r.unmount(at);
    await r.sn.commit('A', 'a');
    // A view's mount uses its parent's files (a bind of them, or overlay lower layers): while
    // it is mounted, the parent is seen as mounted even once the view's record is gone.
    const v = await r.mount(await r.sn.view('v', 'A'));
    await r.sn.remove('v');
    await assert.rejects(r.sn.remove('A'), (e: unknown) => e instanceof ConflictError && e.message.includes(v));
    r.unmount(v);
    await r.sn.remove('A');
  });

  t('usage: a snapshot counts its own files', async (r) => {
    const data = Buffer.alloc(256 * 1024, 1);
    await r.layer('l1', undefined, async (d) => {
      await fsp.writeFile(join(d, 'big'), data);
      await fsp.mkdir(join(d, 'dir'));
      await fsp.link(join(d, 'big'), join(d, 'dir', 'hardlink'));
      await fsp.symlink('big', join(d, 'link'));
      await fsp.writeFile(join(d, 'empty'), '');
    });
    const u1 = await r.sn.usage('l1');
    assert.equal(u1.inodes, 5, 'root, big, dir, link, empty (the hard link is big again)');
    assert.equal(u1.content, data.length + 'big'.length, "content: the file's bytes once, the symlink's target, nothing for directories");
    assert.ok(u1.size >= data.length, `size ${u1.size} counts the file's blocks`);
    assert.ok(u1.size < 2 * data.length, `size ${u1.size} counts the hard-linked file once`);
    const active = await r.mount(await r.sn.prepare('a', 'l1'));
    await fsp.writeFile(join(active, 'small'), 'x');
    r.unmount(active);
    const ua = await r.sn.usage('a');
    if (opts.layered) {
      assert.equal(ua.inodes, 2, 'its root and its one new file');
      assert.ok(ua.size < data.length);
      assert.equal(ua.content, 1, 'its one new byte');
    } else {
      assert.equal(ua.inodes, 6, 'a full copy: root, big, dir, link, empty, small');
      assert.equal(ua.content, u1.content + 1, "a full copy: its parent's bytes and its own");
    }
    await r.sn.commit('l2', 'a');
    assert.deepEqual(await r.sn.usage('l2'), ua);
  });

  t("usage: a committed snapshot's measurement is kept, but not by waiting for another process's writer", async (r) => {
    await r.layer('m1', undefined, (d) => fsp.writeFile(join(d, 'f'), Buffer.alloc(64 * 1024, 2)));
    const stored = (): number | null => r.db.prepare('SELECT size FROM snapshots WHERE key = ?').pluck().get('m1') as number | null;
    assert.equal(stored(), null, 'committed without a measurement');
    // another process in a write transaction: the measurement is made and returned, not kept
    // (waiting would end in SQLITE_BUSY after the 30 s busy timeout, failing this test)
    const other = openDatabase(join(r.root, 'metadata.db'));
    other.prepare('BEGIN IMMEDIATE').run();
    let measured;
    try {
      measured = await r.sn.usage('m1');
      assert.equal(stored(), null, 'not kept while the write lock is taken');
    } finally {
      other.prepare('COMMIT').run();
      other.close();
    }
    assert.equal(measured.content, 64 * 1024);
    assert.equal(r.db.pragma('busy_timeout', { simple: true }), 30_000, 'the busy timeout is back');
    // the lock free: measured again and kept
    assert.deepEqual(await r.sn.usage('m1'), measured);
    assert.equal(stored(), measured.size);
  });

  t("graphDriverData: a layered driver names a layer's own directory and its parents', as Docker's overlay2; a full copy names none", async (r) => {
    await r.layer('g1', undefined, (d) => fsp.writeFile(join(d, 'one'), '1'));
    await r.layer('g2', 'g1', (d) => fsp.writeFile(join(d, 'two'), '2'));
    await assert.rejects(r.sn.graphDriverData('missing'), NotFoundError);
    const base = await r.sn.graphDriverData('g1');
    const top = await r.sn.graphDriverData('g2');
    if (!opts.layered) {
      assert.deepEqual([base, top], [null, null]);
      return;
    }
    assert.deepEqual(Object.keys(base!), ['MergedDir', 'UpperDir', 'WorkDir'], 'a base layer has no LowerDir');
    assert.deepEqual(Object.keys(top!), ['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']);
    assert.equal(top!.LowerDir, base!.UpperDir, "the parent's own directory is the lower one");
    assert.deepEqual(await fsp.readdir(top!.UpperDir!), ['two'], "UpperDir holds the layer's own files");
  });

  t('labels: given at prepare, view and commit, updated, removed, kept with the snapshot', async (r) => {
    await r.sn.prepare('a', undefined, { labels: { 'cairn.io/x': '1', keep: 'k', dropped: '' } });
    assert.deepEqual((await r.sn.stat('a')).labels, { 'cairn.io/x': '1', keep: 'k' }, 'an empty value is not stored');
    let info = await r.sn.update('a', { 'cairn.io/x': '2', added: 'yes' });
    assert.deepEqual(info.labels, { 'cairn.io/x': '2', added: 'yes', keep: 'k' }, 'update sets the labels given and keeps the others');
    info = await r.sn.update('a', { keep: '' });
    assert.deepEqual(info.labels, { 'cairn.io/x': '2', added: 'yes' }, 'an empty value removes a label');
    assert.deepEqual((await r.sn.stat('a')).labels, info.labels);

    await r.sn.commit('A', 'a', { labels: { committed: 'c', empty: '' } });
    assert.deepEqual((await r.sn.stat('A')).labels, { committed: 'c' }, "a commit's labels replace the active snapshot's (as containerd)");
    await r.sn.view('v', 'A', { labels: { v: '1' } });
    await r.sn.prepare('plain', 'A');
    assert.deepEqual((await r.sn.stat('plain')).labels, {});
    info = await r.sn.update('A', { 'containerd.io/gc.root': 'now' });
    assert.deepEqual(info.labels, { committed: 'c', 'containerd.io/gc.root': 'now' }, 'a committed snapshot takes labels too');
    assert.equal(info.kind, 'committed');
    assert.deepEqual(
      (await collect(r.sn.walk())).map((i) => [i.key, i.labels]),
      [
        ['A', { committed: 'c', 'containerd.io/gc.root': 'now' }],
        ['v', { v: '1' }],
        ['plain', {}],
      ],
    );

    await assert.rejects(r.sn.update('missing', { a: 'b' }), NotFoundError);
    await assert.rejects(r.sn.update('A', { '': 'x' }), InvalidArgumentError);
    await assert.rejects(r.sn.update('A', { big: 'x'.repeat(4094) }), (e: unknown) => e instanceof InvalidArgumentError && /4097 bytes/.test(e.message));
    await r.sn.update('A', { big: 'x'.repeat(4093) });
    assert.equal((await r.sn.stat('A')).labels.big!.length, 4093, 'name and value of exactly 4,096 bytes are accepted');
    await assert.rejects(r.sn.prepare('bad', undefined, { labels: { 'a\0b': 'x' } }), InvalidArgumentError);
    await assert.rejects(r.sn.stat('bad'), NotFoundError, 'a refused prepare makes nothing');
    await r.sn.prepare('b2');
    await assert.rejects(r.sn.commit('B2', 'b2', { labels: { n: 5 as unknown as string } }), InvalidArgumentError);
    assert.equal((await r.sn.stat('b2')).kind, 'active', 'a refused commit leaves the snapshot active');

    const again = await r.reopen();
    assert.deepEqual((await again.stat('v')).labels, { v: '1' }, 'labels are kept in the store');
    await r.sn.remove('v');
    await r.sn.remove('plain');
    await r.sn.remove('b2');
    const stored = (r.db.prepare('SELECT COUNT(*) AS n FROM snapshot_labels').get() as { n: number }).n;
    assert.equal(stored, 3, "a removed snapshot's labels go with it (A keeps committed, gc.root, big)");
  });

  t('rebase: a layer prepared without a parent is given one when committed, where the driver can', async (r) => {
    await r.layer('P', undefined, async (d) => {
      await fsp.writeFile(join(d, 'keep'), 'from P');
      await fsp.writeFile(join(d, 'gone'), 'hidden by the child');
      await fsp.mkdir(join(d, 'dir'));
      await fsp.writeFile(join(d, 'dir', 'inner'), 'i');
    });
    // The layer is applied before its parent is known: into the writable directory, with an
    // overlay whiteout (char 0:0) for the parent's file it deletes, as types.ts asks.
    const w = writableLayer(await r.sn.prepare('orphan', undefined, { labels: { layer: 'C' } }));
    await fsp.writeFile(join(w.dir, 'new'), 'n');
    mknodat(constants.AT_FDCWD, join(w.dir, 'gone'), constants.S_IFCHR, 0, 0);

    if (!r.sn.capabilities.rebase) {
      await assert.rejects(
        r.sn.commit('C', 'orphan', { parent: 'P' }),
        (e: unknown) => e instanceof PreconditionError && e.message.includes(`storage driver ${driver}`) && !e.message.includes('\n'),
      );
      assert.equal((await r.sn.stat('orphan')).kind, 'active', 'a refused commit leaves the snapshot active');
      await r.sn.commit('C', 'orphan');
      assert.equal((await r.sn.stat('C')).parent, undefined);
      return;
    }
    await assert.rejects(r.sn.commit('C', 'orphan', { parent: 'missing' }), NotFoundError);
    await r.sn.prepare('not-committed');
    await assert.rejects(r.sn.commit('C', 'orphan', { parent: 'not-committed' }), PreconditionError);
    assert.equal((await r.sn.stat('orphan')).kind, 'active');

    await r.sn.commit('C', 'orphan', { parent: 'P', labels: { layer: 'C' } });
    const info = await r.sn.stat('C');
    assert.deepEqual([info.kind, info.parent, info.labels], ['committed', 'P', { layer: 'C' }]);
    await r.check('C', async (d) => {
      assert.deepEqual((await fsp.readdir(d)).sort(), ['dir', 'keep', 'new'], "the parent's files show, the whited-out one does not");
      assert.equal(await fsp.readFile(join(d, 'keep'), 'utf8'), 'from P');
      assert.equal(await fsp.readFile(join(d, 'dir', 'inner'), 'utf8'), 'i');
    });
    // It stacks exactly as a snapshot prepared on P does.
    await r.layer('C2', 'P', (d) => fsp.rm(join(d, 'gone')));
    const [rebased] = await r.sn.view('v-rebased', 'C');
    const [prepared] = await r.sn.view('v-prepared', 'C2');
    assert.equal(rebased!.type, prepared!.type);
    assert.deepEqual(rebased!.options, prepared!.options);
    assert.equal(rebased!.lowerdirs!.length, 2);
    assert.equal(rebased!.lowerdirs![1], prepared!.lowerdirs![1], 'P is the lower layer of both');
    await r.sn.remove('v-rebased');
    await r.sn.remove('v-prepared');
    await r.layer('D', 'C', async (d) => {
      assert.deepEqual((await fsp.readdir(d)).sort(), ['dir', 'keep', 'new']);
      await fsp.writeFile(join(d, 'on-top'), 't');
    });
    await r.check('D', async (d) => assert.deepEqual((await fsp.readdir(d)).sort(), ['dir', 'keep', 'new', 'on-top']));
    await assert.rejects(r.sn.remove('P'), ConflictError, 'P has children now');

    // Only a snapshot prepared without a parent can be given one; naming its own is no change.
    await r.sn.prepare('onP', 'P');
    await assert.rejects(r.sn.commit('X', 'onP', { parent: 'C' }), (e: unknown) => e instanceof PreconditionError && /was prepared on P/.test(e.message));
    await r.sn.commit('X', 'onP', { parent: 'P' });
    assert.equal((await r.sn.stat('X')).parent, 'P');
  });

  t('a snapshot holding a directory chain deeper than PATH_MAX is measured, committed and removed, leaving nothing', async (r) => {
    await r.layer('base', undefined, (d) => fsp.writeFile(join(d, 'f'), 'f'));
    const before = await fsp.readdir(r.driverDir);
    for (const parent of [undefined, 'base']) {
      const key = `deep-on-${parent ?? 'nothing'}`;
      const w = writableLayer(await r.sn.prepare(key, parent));
      // 1,500 levels of 50-byte names: about 76,000 bytes of path, 18 times PATH_MAX.
      deepChain(w.dir, 1500);
      const active = await r.sn.usage(key);
      assert.ok(active.inodes >= 1501, `the chain's 1,500 directories are counted (got ${active.inodes} inodes)`);
      await r.sn.commit(`${key}-c`, key);
      assert.deepEqual(await r.sn.usage(`${key}-c`), active, 'the committed usage is what the walk measured');
      await r.sn.remove(`${key}-c`);
      await assert.rejects(r.sn.stat(`${key}-c`), NotFoundError);
      assert.deepEqual(await fsp.readdir(r.driverDir), before, 'no snapshot directory, no trash is left');
    }
    await r.check('base', async (d) => assert.deepEqual(await fsp.readdir(d), ['f']));
  });

  t("reclaim: an active snapshot's files go at once, its record stays until it is removed", async (r) => {
    await r.layer('base', undefined, (d) => fsp.writeFile(join(d, 'f'), 'f'));
    const before = await fsp.readdir(r.driverDir);
    const active = await r.mount(await r.sn.prepare('work', 'base'));
    await fsp.writeFile(join(active, 'big'), Buffer.alloc(512 * 1024, 7));
    await assert.rejects(r.sn.reclaim('work'), (e: unknown) => e instanceof ConflictError && e.message.includes(active), 'not while mounted');
    r.unmount(active);
    const entries = await fsp.readdir(r.driverDir);
    assert.equal(entries.length, before.length + 1, 'the active snapshot has a directory');
    await r.sn.reclaim('work');
    assert.deepEqual((await fsp.readdir(r.driverDir)).sort(), [...before].sort(), 'its directory is gone, nothing left in trash');
    assert.equal((await r.sn.stat('work')).kind, 'active', 'its record stays');
    await r.sn.reclaim('work'); // nothing left to give back: no error
    await r.sn.remove('work');
    await assert.rejects(r.sn.stat('work'), NotFoundError);
    assert.equal((await r.sn.stat('base')).kind, 'committed');
    await r.sn.view('v', 'base');
    await assert.rejects(r.sn.reclaim('v'), PreconditionError);
    await assert.rejects(r.sn.reclaim('base'), PreconditionError);
    await assert.rejects(r.sn.reclaim('missing'), NotFoundError);
    assert.equal(await fsp.readFile(join(await r.mount(await r.sn.view('v2', 'base')), 'f'), 'utf8'), 'f', 'the parent is untouched');
  });

  t("start-up removes a dead process's trash and temporary directories, however deep", async (r) => {
    await r.sn.prepare('kept');
    const before = await fsp.readdir(r.driverDir);
    const dead = deadPid();
    for (const name of [`.trash-${dead}-x`, `.tmp-${dead}-y`]) {
      await fsp.mkdir(join(r.driverDir, name));
      deepChain(join(r.driverDir, name), 3000);
    }
    const again = await r.reopen();
    assert.deepEqual(await fsp.readdir(r.driverDir), before);
    assert.equal((await again.stat('kept')).kind, 'active');
  });
}
