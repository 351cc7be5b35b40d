import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, PreconditionError, UnsupportedError } from '../errors.js';
import { openDatabase } from '../metadata/db.js';
import { allRows } from './meta.js';
import { detectDefaultDriver, openSnapshotter, probeOverlay } from './index.js';
import { mountAll, unmount, volatileSupported } from './mount.js';
import { writableLayer } from './writable.js';
import { deadPid, driverFactory, mountsUnder, snapshotterSuite, TestRoot, withRoot } from './conformance.js';

snapshotterSuite('overlay', driverFactory('overlay'), { manyLayers: 150, layered: true });
snapshotterSuite('native', driverFactory('native'), { manyLayers: 24, layered: false });

test('this machine supports overlay, and it is the default driver', async () => {
  const probe = await probeOverlay();
  assert.deepEqual(probe, { ok: true });
  assert.equal(await detectDefaultDriver(), 'overlay');
});

test('overlay: 500 committed layers mount under a writable layer; 501 are refused with a clear error', withRoot('overlay', async (r) => {
  let parent: string | undefined;
  for (let i = 0; i < 501; i++) {
    const key = `a${i}`;
    const [m] = await r.sn.prepare(key, parent);
    // Fill the layer directly (as the layer applier does) rather than mounting 501 times.
    const dir = m!.upperdir ?? m!.source;
    await fsp.writeFile(join(dir, `f${i}`), '');
    await r.sn.commit(`L${i}`, key);
    if (i === 499) {
      const mounts = await r.sn.prepare('top500', `L${i}`);
      assert.equal(mounts[0]!.lowerdirs!.length, 500);
      const at = await r.mount(mounts);
      assert.equal((await fsp.readdir(at)).length, 500);
      await fsp.writeFile(join(at, 'mine'), 'w');
      assert.equal(await fsp.readFile(join(mounts[0]!.upperdir!, 'mine'), 'utf8'), 'w');
      r.unmount(at);
    }
    parent = `L${i}`;
  }
  const mounts = await r.sn.prepare('top501', parent);
  const at = join(r.root, 'mnt-501');
  await fsp.mkdir(at);
  assert.throws(() => mountAll(mounts, at), (e: unknown) => e instanceof UnsupportedError && /at most 500 lower layers/.test(e.message));
  assert.deepEqual(mountsUnder(at), []);
}));

test('overlay: the classic option string with short layer names mounts 150 layers', withRoot('overlay', async (r) => {
  let parent: string | undefined;
  for (let i = 0; i < 150; i++) {
    const [m] = await r.sn.prepare(`a${i}`, parent);
    await fsp.writeFile(join(m!.upperdir ?? m!.source, `f${i}`), String(i));
    await r.sn.commit(`L${i}`, `a${i}`);
    parent = `L${i}`;
  }
  const mounts = await r.sn.prepare('top', parent);
  // Absolute paths would not fit in one page: 150 × "/tmp/cairn-snap-XXXXXX/snapshots/overlay/NNN/fs".
  assert.ok(mounts[0]!.lowerdirs!.join(':').length > 4096);
  const at = join(r.root, 'legacy');
  await fsp.mkdir(at);
  const cwd = process.cwd();
  mountAll(mounts, at, { overlayMethod: 'legacy' });
  try {
    assert.equal(process.cwd(), cwd, 'the working directory is restored');
    assert.equal((await fsp.readdir(at)).length, 150);
    assert.equal(await fsp.readFile(join(at, 'f0'), 'utf8'), '0');
    await fsp.writeFile(join(at, 'up'), 'u');
    assert.equal(await fsp.readFile(join(mounts[0]!.upperdir!, 'up'), 'utf8'), 'u');
  } finally {
    assert.equal(unmount(at), 1);
  }
}));

test('overlay: mounts are plain data naming the layers topmost first', withRoot('overlay', async (r) => {
  const [b] = await r.sn.prepare('b');
  assert.equal(b!.type, 'bind');
  assert.deepEqual(b!.options, ['rw', 'rbind']);
  await r.sn.commit('B', 'b');
  const [c] = await r.sn.prepare('c', 'B');
  await r.sn.commit('C', 'c');
  const [d] = await r.sn.prepare('d', 'C');
  assert.equal(d!.type, 'overlay');
  assert.deepEqual(d!.lowerdirs, [c!.upperdir, b!.source]);
  assert.ok(d!.upperdir!.endsWith('/fs') && d!.workdir!.endsWith('/work'));
  assert.ok(d!.options.includes('rw') && d!.options.includes('index=off'));
  const [v1] = await r.sn.view('v1', 'B');
  assert.deepEqual(v1, { type: 'bind', source: b!.source, options: ['ro', 'rbind'] });
  const [v2] = await r.sn.view('v2', 'C');
  assert.equal(v2!.type, 'overlay');
  assert.deepEqual(v2!.lowerdirs, [c!.upperdir, b!.source]);
  assert.equal(v2!.upperdir, undefined);
  assert.ok(v2!.options.includes('ro'));
  // A committed layer is only ever a lower directory: its work directory went at commit; an
  // active snapshot keeps its own.
  for (const committed of [b!.source, c!.upperdir!]) assert.deepEqual(await fsp.readdir(join(committed, '..')), ['fs']);
  assert.deepEqual((await fsp.readdir(join(d!.upperdir!, '..'))).sort(), ['fs', 'work']);
}));

test('overlay: a volatile mount syncs nothing and can be mounted again (its marker cleared); a plain one is not volatile', withRoot('overlay', async (r) => {
  await r.sn.prepare('b');
  await r.sn.commit('B', 'b');
  const mounts = await r.sn.prepare('c', 'B');
  const at = join(r.root, 'mnt');
  await fsp.mkdir(at);
  const optionsAt = async (): Promise<string[]> => {
    const line = (await fsp.readFile('/proc/self/mounts', 'utf8')).split('\n').find((l) => l.split(' ')[1] === at);
    assert.ok(line !== undefined, `${at} is mounted`);
    return line.split(' ')[3]!.split(',');
  };
  // Linux 6.6+ shows the option as fsync=volatile
  const isVolatile = (o: string): boolean => o === 'volatile' || o === 'fsync=volatile';
  assert.equal(volatileSupported('6.1.0-13-amd64'), true);
  assert.equal(volatileSupported('5.10.0'), true);
  assert.equal(volatileSupported('5.4.0-150-generic'), false);
  assert.equal(volatileSupported('4.19.0'), false);
  for (let i = 0; i < 2; i++) {
    mountAll(mounts, at, { volatile: true });
    try {
      assert.ok((await optionsAt()).some(isVolatile));
      await fsp.writeFile(join(at, `f${i}`), 'x');
    } finally {
      unmount(at);
    }
    // the kernel's marker stays after the unmount; the next volatile mount clears it
    await fsp.access(join(mounts[0]!.workdir!, 'work', 'incompat', 'volatile'));
  }
  // without the option, a marker left by a volatile mount refuses the mount (as the kernel does)
  assert.throws(() => mountAll(mounts, at), /cannot mount overlay/);
  await fsp.rm(join(mounts[0]!.workdir!, 'work', 'incompat'), { recursive: true });
  mountAll(mounts, at);
  try {
    assert.ok(!(await optionsAt()).some(isVolatile));
    assert.deepEqual((await fsp.readdir(at)).sort(), ['f0', 'f1']);
  } finally {
    unmount(at);
  }
}));

test('native: a writable snapshot is a full copy; a view binds its parent read-only', withRoot('native', async (r) => {
  const [b] = await r.sn.prepare('b');
  await fsp.writeFile(join(b!.source, 'f'), 'base');
  await r.sn.commit('B', 'b');
  const [c] = await r.sn.prepare('c', 'B');
  assert.equal(c!.type, 'bind');
  assert.notEqual(c!.source, b!.source);
  assert.equal(await fsp.readFile(join(c!.source, 'f'), 'utf8'), 'base');
  await fsp.writeFile(join(c!.source, 'f'), 'changed');
  assert.equal(await fsp.readFile(join(b!.source, 'f'), 'utf8'), 'base', 'the parent is untouched');
  const [v] = await r.sn.view('v', 'B');
  assert.deepEqual(v, { type: 'bind', source: b!.source, options: ['ro', 'rbind'] });
}));

test('the driver is recorded in the store and a mismatch is refused', async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), 'cairn-snap-'));
  const db = openDatabase(join(root, 'metadata.db'));
  try {
    const sn = await openSnapshotter({ root, db }, 'native');
    assert.equal(sn.driver, 'native');
    const row = db.prepare("SELECT value FROM store_info WHERE key = 'storage-driver'").get() as { value: string };
    assert.equal(row.value, 'native');
    await assert.rejects(openSnapshotter({ root, db }, 'overlay'), (e: unknown) => {
      assert.ok(e instanceof PreconditionError);
      assert.match(e.message, /uses the storage driver native; it cannot be opened with overlay/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    assert.equal((await openSnapshotter({ root, db })).driver, 'native', 'no driver asked: the recorded one');
    assert.equal((await openSnapshotter({ root, db }, 'native')).driver, 'native');
    await assert.rejects(openSnapshotter({ root, db }, 'vfs' as 'native'), InvalidArgumentError);
  } finally {
    db.close();
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test('a fresh store records the default driver', async () => {
  const t = await TestRoot.create();
  try {
    assert.equal(t.sn.driver, await detectDefaultDriver());
    const row = t.db.prepare("SELECT value FROM store_info WHERE key = 'storage-driver'").get() as { value: string };
    assert.equal(row.value, t.sn.driver);
  } finally {
    await t.dispose();
  }
});

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: leftovers of killed processes are removed when the snapshotter opens`, withRoot(driver, async (r) => {
    const dir = join(r.root, 'snapshots', driver);
    await r.sn.prepare('kept');
    const dead = deadPid();
    const leftovers = [`.tmp-${dead}-abc`, `.trash-${dead}-def`, '9999'];
    for (const name of leftovers) {
      await fsp.mkdir(join(dir, name, 'fs'), { recursive: true });
      await fsp.writeFile(join(dir, name, 'fs', 'junk'), 'x');
    }
    const mine = `.tmp-${process.pid}-inprogress`;
    await fsp.mkdir(join(dir, mine));
    const probe = join(r.root, 'snapshots', `.overlay-probe-${dead}-xyz`);
    await fsp.mkdir(join(probe, 'm'), { recursive: true });

    const again = await openSnapshotter({ root: r.root, db: r.db });
    assert.equal(again.driver, driver);
    const ids = allRows(r.db).map((row) => String(row.id));
    assert.deepEqual((await fsp.readdir(dir)).sort(), [...ids, mine].sort());
    assert.equal((await again.stat('kept')).kind, 'active');
    assert.deepEqual(await fsp.readdir(join(r.root, 'snapshots')), [driver]);
  }));

  test(`${driver}: a process killed while making snapshots leaves no half snapshot`, withRoot(driver, async (r) => {
    const modUrl = new URL('./index.js', import.meta.url).href;
    const dbUrl = new URL('../metadata/db.js', import.meta.url).href;
    // The child makes a base layer with files, then snapshots on it in a loop until killed.
    const script = `
      import { openSnapshotter } from ${JSON.stringify(modUrl)};
      import { openDatabase } from ${JSON.stringify(dbUrl)};
      import { writeFileSync, mkdirSync } from 'node:fs';
      const root = ${JSON.stringify(r.root)};
      const db = openDatabase(root + '/metadata.db');
      const sn = await openSnapshotter({ root, db }, ${JSON.stringify(driver)});
      const [m] = await sn.prepare('base');
      for (let i = 0; i < 300; i++) {
        mkdirSync(m.source + '/d' + (i % 10), { recursive: true });
        writeFileSync(m.source + '/d' + (i % 10) + '/f' + i, 'x'.repeat(i));
      }
      await sn.commit('B', 'base');
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) {
        await sn.prepare('s' + i, 'B');
        if (i % 2 === 0) await sn.remove('s' + i);
        else await sn.commit('c' + i, 's' + i);
        process.stdout.write('op\\n');
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Wait for a few operations, then kill it at a random point of a later one (mid-copy for native).
    await new Promise<void>((resolve, reject) => {
      let ops = 0;
      child.stdout.on('data', (d: Buffer) => {
        ops += d.toString().split('op\n').length - 1;
        if (ops >= 3) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    await new Promise((res) => setTimeout(res, Math.floor(Math.random() * 200)));
    const exited = new Promise((res) => child.on('exit', res));
    child.kill('SIGKILL');
    await exited;

    const again = await openSnapshotter({ root: r.root, db: r.db });
    const dir = join(r.root, 'snapshots', driver);
    const rows = allRows(r.db);
    assert.ok(rows.length >= 2, 'the child made snapshots before it died (B and c1 at least)');
    assert.deepEqual((await fsp.readdir(dir)).sort(), rows.map((row) => String(row.id)).sort(), 'one directory per row, nothing else');
    for (const row of rows) {
      const st = await fsp.stat(join(dir, String(row.id), 'fs'));
      assert.ok(st.isDirectory());
    }
    // Every surviving writable snapshot is complete (native: the whole copy is there).
    for (const row of rows) {
      if (row.key === 'B') continue;
      const at = await r.mount(await again.view(`check-${row.id}`, row.kind === 'committed' ? row.key : 'B'));
      assert.equal((await fsp.readdir(at)).length, 10);
      r.unmount(at);
      await again.remove(`check-${row.id}`);
    }
    if (driver === 'native') {
      for (const row of rows) {
        const n = (await fsp.readdir(join(dir, String(row.id), 'fs'), { recursive: true })).length;
        assert.equal(n, 310, `snapshot ${row.key} holds the full copy`);
      }
    }
  }));
}

test('mountAll undoes its earlier mounts when a later one fails, and refuses targets outside the mount point', async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), 'cairn-snap-'));
  try {
    const a = join(root, 'a');
    const at = join(root, 'at');
    await fsp.mkdir(join(a, 'sub'), { recursive: true });
    await fsp.writeFile(join(a, 'sub', 'f'), 'x');
    await fsp.mkdir(at);
    assert.throws(
      () =>
        mountAll(
          [
            { type: 'bind', source: a, options: ['rbind', 'rw'] },
            { type: 'bind', source: join(root, 'missing'), target: 'sub', options: ['rbind', 'ro'] },
          ],
          at,
        ),
      /cannot bind-mount/,
    );
    assert.deepEqual(mountsUnder(root), [], 'the first mount was undone');
    assert.throws(() => mountAll([{ type: 'bind', source: a, target: '../escape', options: ['rbind'] }], at), InvalidArgumentError);
    await fsp.symlink('/tmp', join(a, 'sneaky'));
    assert.throws(
      () =>
        mountAll(
          [
            { type: 'bind', source: a, options: ['rbind', 'rw'] },
            { type: 'bind', source: a, target: 'sneaky', options: ['rbind', 'ro'] },
          ],
          at,
        ),
      /symbolic link/,
    );
    assert.deepEqual(mountsUnder(root), [], 'the first mount was undone');
    assert.equal(unmount(at), 0, 'nothing mounted: nothing to unmount');

    // Stacked mounts: a read-only bind on a sub-directory of a writable one.
    mountAll(
      [
        { type: 'bind', source: a, options: ['rbind', 'rw'] },
        { type: 'bind', source: a, target: 'sub', options: ['rbind', 'ro'] },
      ],
      at,
    );
    try {
      assert.equal(await fsp.readFile(join(at, 'sub', 'sub', 'f'), 'utf8'), 'x');
      await assert.rejects(fsp.writeFile(join(at, 'sub', 'new'), ''), { code: 'EROFS' });
      await fsp.writeFile(join(at, 'new'), '');
    } finally {
      unmount(join(at, 'sub'));
      unmount(at);
    }
    assert.deepEqual(mountsUnder(root), []);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

for (const driver of ['overlay', 'native'] as const) {
  test(`${driver}: writableLayer names where a layer is applied without mounting, and how deletions are kept`, withRoot(driver, async (r) => {
    const base = writableLayer(await r.sn.prepare('b'));
    assert.deepEqual(base.deletions, 'remove');
    assert.deepEqual(base.lowerdirs, []);
    await fsp.writeFile(join(base.dir, 'gone'), 'x');
    await fsp.writeFile(join(base.dir, 'kept'), 'k');
    await r.sn.commit('B', 'b');
    const child = writableLayer(await r.sn.prepare('c', 'B'));
    if (driver === 'overlay') {
      assert.equal(child.deletions, 'whiteout');
      assert.equal(child.lowerdirs.length, 1);
      // A whiteout made directly in the upper directory, as the layer applier will.
      const native = await import('../native/index.js');
      native.mknodat(native.constants.AT_FDCWD, join(child.dir, 'gone'), native.constants.S_IFCHR, 0, 0);
    } else {
      assert.equal(child.deletions, 'remove');
      assert.deepEqual(child.lowerdirs, []);
      await fsp.rm(join(child.dir, 'gone'));
    }
    await r.sn.commit('C', 'c');
    await r.check('C', async (d) => assert.deepEqual(await fsp.readdir(d), ['kept']));
    assert.throws(() => writableLayer([]), InvalidArgumentError);
    await r.sn.view('v', 'C');
    const viewMounts = await r.sn.mounts('v');
    assert.throws(() => writableLayer(viewMounts), InvalidArgumentError);
  }));
}

test('two processes making snapshots in one store at once: each key is made once, every row has its files', withRoot('overlay', async (r) => {
  await r.layer('B', undefined, (d) => fsp.writeFile(join(d, 'f'), 'base'));
  const modUrl = new URL('./index.js', import.meta.url).href;
  const dbUrl = new URL('../metadata/db.js', import.meta.url).href;
  const script = (who: string): string => `
    import { openSnapshotter } from ${JSON.stringify(modUrl)};
    import { openDatabase } from ${JSON.stringify(dbUrl)};
    const root = ${JSON.stringify(r.root)};
    const db = openDatabase(root + '/metadata.db');
    const sn = await openSnapshotter({ root, db });
    let won = 0;
    for (let i = 0; i < 25; i++) {
      await sn.prepare('${who}-' + i, 'B');
      await sn.commit('${who}-c' + i, '${who}-' + i);
      try {
        await sn.prepare('shared-' + i, 'B');
        won++;
      } catch (e) {
        if (e.code !== 'already-exists') throw e;
      }
      if (i % 3 === 0) await sn.remove('${who}-c' + i);
    }
    process.stdout.write(String(won));
  `;
  const run = (who: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script(who)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`child ${who} exited with ${code}`))));
    });
  const [a, b] = await Promise.all([run('a'), run('b')]);
  assert.equal(a + b, 25, 'each shared key was made by exactly one process');
  const rows = allRows(r.db);
  assert.equal(rows.filter((row) => row.key.startsWith('shared-')).length, 25);
  assert.equal(rows.filter((row) => /^[ab]-c/.test(row.key)).length, 2 * (25 - 9));
  const dir = join(r.root, 'snapshots', 'overlay');
  assert.deepEqual((await fsp.readdir(dir)).sort(), rows.map((row) => String(row.id)).sort());
  assert.equal(new Set(rows.map((row) => row.id)).size, rows.length);
}));
