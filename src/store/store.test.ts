import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { constants, errnoCode, mount, umount2 } from '../native/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Store, defaultRoot } from './store.js';
import { blobRef } from '../metadata/refs.js';
import { digestOf } from '../digest/digest.js';
import { deepChain } from '../rmtree.fixture.js';
import { removeTree } from '../rmtree.js';
import { spawnSync } from 'node:child_process';
import { writeTx } from '../metadata/db.js';
import { beginCollection, deadCollections, deadRemovals, intendRemoval } from '../metadata/records.js';

test('defaultRoot: CAIRN_ROOT, else /var/lib/cairn for root, else XDG_DATA_HOME', () => {
  assert.equal(defaultRoot({ CAIRN_ROOT: '/x/y' }), '/x/y');
  if (process.getuid?.() === 0) assert.equal(defaultRoot({}), '/var/lib/cairn');
  else assert.equal(defaultRoot({ XDG_DATA_HOME: '/d' }), '/d/cairn');
});

test('open creates the layout and cleans what dead processes left in tmp', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  try {
    mkdirSync(join(root, 'tmp', '999999999-dead'), { recursive: true });
    writeFileSync(join(root, 'tmp', '999999999-dead', 'f'), 'x');
    const s = await Store.open({ root });
    assert.ok(existsSync(join(root, 'content', 'blobs', 'sha256')));
    assert.ok(existsSync(join(root, 'metadata.db')));
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    const scratch = await s.scratchDir();
    assert.ok(existsSync(scratch.path));
    await scratch.dispose();
    s.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a dead process's scratch space with mounts still in it (a killed build step's) is unmounted and removed at open", async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  const dead = join(root, 'tmp', '999999998-killed');
  try {
    mkdirSync(join(dead, 'rootfs', 'inner'), { recursive: true });
    mount('tmpfs', join(dead, 'rootfs'), 'tmpfs', 0, null);
    mkdirSync(join(dead, 'rootfs', 'inner'));
    mount('tmpfs', join(dead, 'rootfs', 'inner'), 'tmpfs', 0, null);
    writeFileSync(join(dead, 'rootfs', 'inner', 'f'), 'x');
    const s = await Store.open({ root });
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(dead), 'nothing left mounted');
    s.close();
  } finally {
    for (const at of [join(dead, 'rootfs', 'inner'), join(dead, 'rootfs')]) {
      try {
        umount2(at, constants.MNT_DETACH);
      } catch (e) {
        // EINVAL: unmounted by the store already (what the test wants); ENOENT: removed with it.
        if (errnoCode(e) !== 'EINVAL' && errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
});

test("scratch trees deeper than PATH_MAX are removed: a dead process's at start-up, and by dispose", async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  try {
    mkdirSync(join(root, 'tmp', '999999999-deep'), { recursive: true });
    deepChain(join(root, 'tmp', '999999999-deep'), 3000);
    const s = await Store.open({ root });
    try {
      assert.deepEqual(readdirSync(join(root, 'tmp')), []);
      const scratch = await s.scratchDir();
      deepChain(scratch.path, 1500);
      await scratch.dispose();
      assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    } finally {
      s.close();
    }
  } finally {
    await removeTree(root);
  }
});

test('a collection cut short (its mark left by a dead process) is run again by the next open, which clears the mark', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  try {
    const s = await Store.open({ root });
    // the state a power cut leaves: a blob the lost tail of the log still had records for is the
    // kind of thing the collection was removing; here, a blob nothing reaches, and the mark
    const left = await s.content.ingest(Readable.from([Buffer.from('left by a collection cut short')]));
    const dead = spawnSync('true').pid;
    writeTx(s.db, () => beginCollection(s.db, dead));
    assert.deepEqual(deadCollections(s.db, () => false), [dead]);
    s.close();
    const again = await Store.open({ root });
    assert.equal(await again.content.info(left.digest), undefined, 'collected at open');
    assert.deepEqual(deadCollections(again.db, () => false), [], 'the mark is gone');
    // a collection leaves no mark of its own once committed
    await again.gc();
    assert.equal((again.db.prepare("SELECT COUNT(*) AS n FROM store_info WHERE key LIKE 'collecting-%'").get() as { n: number }).n, 0);
    again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a directory a killed process meant to remove with its record (intendRemoval) is removed by the next open, the intent forgotten", async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  try {
    const s = await Store.open({ root });
    const dead = spawnSync('true').pid;
    const alive = process.pid;
    for (const d of ['containers/gone', 'containers/kept']) mkdirSync(join(root, d, 'deep'), { recursive: true });
    writeFileSync(join(root, 'containers/gone/deep/f'), 'x');
    writeTx(s.db, () => {
      intendRemoval(s.db, dead, 'containers/gone');
      intendRemoval(s.db, alive, 'containers/kept'); // a live process's: its own work
    });
    s.close();
    const again = await Store.open({ root });
    assert.equal(existsSync(join(root, 'containers/gone')), false, 'removed at open');
    assert.ok(existsSync(join(root, 'containers/kept')), "a live process's removal is left to it");
    const intents = (again.db.prepare("SELECT key FROM store_info WHERE key LIKE 'removing:%'").all() as Array<{ key: string }>).map((r) => r.key);
    assert.deepEqual(intents, [`removing:${alive}:containers/kept`], "the dead process's intent is forgotten");
    assert.deepEqual(deadRemovals(again.db, () => false), [], "this process's own intents are never a dead process's");
    assert.deepEqual(readdirSync(join(root, 'tmp')), []);
    again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('gc removes blobs no root reaches, never leased ones', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cairn-store-'));
  try {
    const s = await Store.open({ root });
    const a = await s.content.ingest(Readable.from([Buffer.from('a')]));
    const b = await s.content.ingest(Readable.from([Buffer.from('b')]));
    await s.withLease(async (protect) => {
      protect(blobRef(b.digest));
      const removed = await s.gc();
      assert.deepEqual(removed.blobs, [a.digest]);
    });
    assert.equal(await s.content.info(digestOf('a')), undefined);
    assert.ok(await s.content.info(digestOf('b')), 'the leased blob survived');
    assert.deepEqual((await s.gc()).blobs, [b.digest], 'once the lease is gone it is collected');
    s.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
