/**
 * A full disk (issue 15, point 6): a load or pull that runs out of space fails with one line
 * saying how much it needed and how much was free, gives back what it wrote, leaves the store's
 * other images as they were and every command working, and succeeds once there is room; a cairn
 * killed while it filled the disk does not stop the next command either. The store is on a small
 * tmpfs mounted by the test (root only).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync, writeFileSync, writeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, REPO, tempDir } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

const root = process.getuid?.() === 0;
const MB = 1 << 20;

let work: { path: string; cleanup: () => Promise<void> };
let small: string;
let registry: Registry | undefined;
let big: string;
let tiny: string;

function mountSmall(sizeMb: number): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'cairn-test-small', small], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

function resizeSmall(sizeMb: number): void {
  const r = spawnSync('mount', ['-o', `remount,size=${sizeMb}m`, small], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** `du -s -B1` of a path. */
function du(path: string): number {
  return Number(spawnSync('du', ['-s', '-B1', path], { encoding: 'utf8' }).stdout.split('\t')[0]);
}

/** Fill the file system holding `dir` to the last byte with one file; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'fill');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(MB, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  // the last partial megabyte too
  const fd2 = openSync(path, 'a');
  try {
    for (;;) writeSync(fd2, chunk, 0, 4096);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd2);
  }
  return path;
}

before(async () => {
  if (!root) return;
  work = await tempDir('cairn-nospace-');
  small = join(work.path, 'small');
  mkdirSync(small);
  // 3 layers of 12 MB that do not compress: ~37 MB unpacked, on a 24 MB file system
  const layers = await Promise.all([1, 2, 3].map((i) => makeTar([{ path: `data-${i}.bin`, content: randomBytesSeeded(12 * MB, i) }])));
  big = join(work.path, 'big.tar');
  writeFileSync(big, await makeDockerArchive([{ layers, repoTags: ['nospace/big:1'] }]));
  tiny = join(work.path, 'tiny.tar');
  writeFileSync(tiny, await makeDockerArchive([{ layers: [await makeTar([{ path: 'hello', content: 'hello\n' }])], repoTags: ['nospace/tiny:1'] }]));
});

after(async () => {
  if (!root) return;
  await registry?.stop();
  spawnSync('umount', ['-l', small]);
  await work.cleanup();
});

test('a load that fills the disk fails with the space it needed, keeps nothing of it, and succeeds once there is room', { skip: !root && 'needs root (mounts a tmpfs)' }, async () => {
  mountSmall(24);
  try {
    const store = join(small, 'store');
    await cairnOk(store, ['load', '-q', '-i', tiny]);
    const before = du(store);
    const r = await cairn(store, ['load', '-i', big]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    // printed bare, as Docker's CLI prints a load's failure that its daemon reports
    const m = /^no space left on device in (.+): loading (.+) needs about ([\d.]+) MB, ([\d.]+) MB were free; nothing of it was kept$/.exec(lines[0]!);
    assert.ok(m, lines[0]);
    assert.equal(m[1], store);
    assert.equal(m[2], big);
    assert.ok(Number(m[3]) > 36 && Number(m[3]) < 40, `needed ${m[3]} MB: about the archive's size`);
    assert.ok(Number(m[4]) > 20 && Number(m[4]) <= 25.2, `free ${m[4]} MB: what the 24 MB file system had left`);
    // the store as it was: its image, every command working, the space back
    const images = await cairnOk(store, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.equal(images.stdout, 'nospace/tiny:1\n');
    assert.ok(du(store) <= before + 256 * 1024, `store ${du(store)} bytes after the failed load, ${before} before`);
    await cairnOk(store, ['inspect', 'nospace/tiny:1']);
    // room now: the same load succeeds
    resizeSmall(64);
    await cairnOk(store, ['load', '-q', '-i', big]);
    const all = await cairnOk(store, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.deepEqual(all.stdout.trim().split('\n').sort(), ['nospace/big:1', 'nospace/tiny:1']);
  } finally {
    spawnSync('umount', ['-l', small]);
  }
});

test('a pull that fills the disk says at least how much it had to download, keeps nothing of it, and succeeds once there is room', { skip: !root && 'needs root (mounts a tmpfs)' }, async () => {
  registry = await startRegistry(join(work.path, 'registry'));
  const seed = join(work.path, 'seed');
  await cairnOk(seed, ['load', '-q', '-i', big]);
  const ref = `${registry.host}/nospace/big:1`;
  await cairnOk(seed, ['tag', 'nospace/big:1', ref]);
  await cairnOk(seed, ['push', '-q', ref]);
  rmSync(seed, { recursive: true, force: true });
  mountSmall(24);
  try {
    const store = join(small, 'store');
    await cairnOk(store, ['load', '-q', '-i', tiny]);
    const before = du(store);
    const r = await cairn(store, ['pull', '-q', ref]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    const m = /^Error: no space left on device in (.+): pulling (.+) needs at least ([\d.]+) MB, ([\d.]+) MB were free; nothing of it was kept$/.exec(lines[0]!);
    assert.ok(m, lines[0]);
    assert.equal(m[2], ref);
    // the three layers' gzip'd size: incompressible, about what they hold
    assert.ok(Number(m[3]) > 36 && Number(m[3]) < 40, `needed ${m[3]} MB`);
    assert.equal((await cairnOk(store, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, 'nospace/tiny:1\n');
    assert.ok(du(store) <= before + 256 * 1024, `store ${du(store)} bytes after the failed pull, ${before} before`);
    resizeSmall(96);
    await cairnOk(store, ['pull', '-q', ref]);
    await cairnOk(store, ['inspect', ref]);
  } finally {
    spawnSync('umount', ['-l', small]);
  }
});

test("a cairn killed while it filled the disk does not stop the next command, which gives its space back", { skip: !root && 'needs root (mounts a tmpfs)' }, async () => {
  mountSmall(24);
  try {
    const store = join(small, 'store');
    await cairnOk(store, ['load', '-q', '-i', tiny]);
    const before = du(store);
    // a process that leases an active snapshot and writes 8 MB into it, then waits to be killed
    const script = `
      import { Store } from ${JSON.stringify(join(REPO, 'dist/src/store/store.js'))};
      import { snapshotRef } from ${JSON.stringify(join(REPO, 'dist/src/metadata/refs.js'))};
      import { writableLayer } from ${JSON.stringify(join(REPO, 'dist/src/snapshot/writable.js'))};
      import { writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      const store = await Store.open({ root: ${JSON.stringify(store)} });
      const lease = store.lease();
      lease.protect(snapshotRef('extract-work'));
      const sn = await store.snapshots();
      const dir = writableLayer(await sn.prepare('extract-work')).dir;
      writeFileSync(join(dir, 'partial'), Buffer.alloc(8 << 20, 3));
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1 << 30);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.on('exit', (code) => reject(new Error(`the leasing process exited ${code}`)));
    });
    const gone = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    const filler = fill(small);
    try {
      // the next command: it works on the full disk, and the killed process's work goes
      const images = await cairn(store, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
      assert.equal(images.code, 0, images.stderr);
      assert.equal(images.stdout, 'nospace/tiny:1\n');
      assert.ok(du(store) <= before + 256 * 1024, `store ${du(store)} bytes, ${before} before the killed work`);
      const overlay = join(store, 'snapshots', 'overlay');
      assert.equal(readdirSync(overlay).filter((n) => /^[0-9]+$/.test(n)).length, 1, 'only the tiny image’s layer is left');
    } finally {
      rmSync(filler);
    }
    await cairnOk(store, ['inspect', 'nospace/tiny:1']);
  } finally {
    spawnSync('umount', ['-l', small]);
  }
});
