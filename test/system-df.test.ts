/**
 * `system df` through the real CLI on a temporary root, against what the test made: two images
 * on one busybox base (a load), an imported gzip'd image (its compressed blob kept), a container
 * that wrote 8 MB, an idle one and a running one, a volume holding 6 MB, and a build whose
 * image is removed again (its two RUN layers and a cache mount left in the build cache).
 * Checked: Docker's meanings — the shared base counted once in the Images SIZE, SHARED + UNIQUE
 * = SIZE, ACTIVE and RECLAIMABLE — the summary, `-v`, `--format json` (both), templates and
 * bad input, and that the rows together are what is on disk: within 5% of `du -s -x -B1 ROOT`
 * (allocated blocks, hard links once, other file systems — the running container's root
 * filesystem mount — left out), never more.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder } from './helpers.js';
import { Cairn } from '../src/engine.js';
import { errnoCode } from '../src/errors.js';
import type { DiskUsage } from '../src/disk-usage/index.js';
import { humanSize } from '../src/cli/format.js';

const MB = 1_000_000;
const WRITTEN = 8 * MB;
const VOLUME_DATA = 6 * MB;

let dir: { path: string; cleanup: () => Promise<void> };
let root: string;
let du: DiskUsage;

/** The library's account of the store. */
async function diskUsage(): Promise<DiskUsage> {
  const c = await Cairn.open({ root });
  try {
    return await c.diskUsage();
  } finally {
    c.close();
  }
}

before(async () => {
  dir = await tempDir('cairn-system-df-');
  root = join(dir.path, 'root');
  const env = { config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] } };
  const base = await busyboxRunTar();
  const archive = await makeDockerArchive([
    { layers: [base, await makeTar([{ path: 'a', content: randomBytesSeeded(8 << 20, 1) }])], repoTags: ['df/a:1'], config: env },
    { layers: [base, await makeTar([{ path: 'b', content: randomBytesSeeded(4 << 20, 2) }])], repoTags: ['df/b:1'], config: env },
  ]);
  await cairnOk(root, ['load'], { input: archive });
  await cairnOk(root, ['import', '-', 'df/c:1'], { input: await makeTar([{ path: 'c', content: randomBytesSeeded(3 << 20, 3) }], 'gzip') });
  await cairnOk(root, ['run', '--name', 'writer', 'df/a:1', 'sh', '-c', `head -c ${WRITTEN} /dev/urandom > /big`]);
  await cairnOk(root, ['run', '--name', 'idle', 'df/a:1', 'true']);
  await cairnOk(root, ['run', '--rm', '-v', 'dfdata:/v', 'df/a:1', 'sh', '-c', `head -c ${VOLUME_DATA} /dev/urandom > /v/blob`]);
  await cairnOk(root, ['run', '-d', '--name', 'sleeper', 'df/b:1', 'sleep', '300']);
  const ctx = join(dir.path, 'ctx');
  mkdirSync(ctx);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    'FROM df/a:1\nRUN --mount=type=cache,target=/c head -c 2000000 /dev/urandom > /c/x && echo done > /done\nRUN head -c 4000000 /dev/urandom > /r\n',
  );
  await cairnOk(root, ['build', '--network', 'none', '--progress', 'plain', '-t', 'df/built:1', ctx]);
  await cairnOk(root, ['rmi', 'df/built:1']);
  du = await diskUsage();
});

/** Processes (conmon, its exit command) whose command line names the store. */
function storeProcesses(): string[] {
  return readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(root);
    } catch (e) {
      // gone since the listing
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ESRCH') return false;
      throw e;
    }
  });
}

after(async () => {
  if (root !== undefined) {
    const ids = (await cairn(root, ['ps', '-aq'])).stdout.split('\n').filter((l) => l !== '');
    if (ids.length > 0) await cairn(root, ['rm', '-f', '-v', ...ids]);
    // The killed container's conmon runs its exit command (`container cleanup`) on the store: wait for it.
    const end = Date.now() + 10_000;
    while (storeProcesses().length > 0) {
      if (Date.now() > end) assert.fail(`processes still use the store: ${storeProcesses().join(' ')}`);
      await sleep(50);
    }
  }
  unmountUnder(dir.path);
  await dir.cleanup();
});

const image = (name: string) => {
  const found = du.images.items.find((i) => i.repoTags.includes(name));
  assert.ok(found, `${name} is listed`);
  return found;
};
const container = (name: string) => {
  const found = du.containers.items.find((c) => c.name === name);
  assert.ok(found, `${name} is listed`);
  return found;
};

test('images: the shared base counts once; SHARED + UNIQUE = SIZE; ACTIVE and RECLAIMABLE by containers', async () => {
  const a = image('df/a:1');
  const b = image('df/b:1');
  const c = image('df/c:1');
  const ids = new Set((await cairnOk(root, ['images', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter((l) => l !== ''));
  assert.equal(du.images.count, ids.size);
  assert.equal(du.images.count, 3);
  assert.ok(a.sharedSize > 1 << 20, `a shares the busybox layer with b (${a.sharedSize} bytes)`);
  assert.equal(a.sharedSize, b.sharedSize, 'what a shares with b, b shares with a');
  assert.equal(c.sharedSize, 0);
  assert.ok(a.size - a.sharedSize >= 8 << 20 && b.size - b.sharedSize >= 4 << 20, 'each top layer is its own');
  assert.ok(du.images.size < a.size + b.size + c.size, 'shared bytes are counted once');
  assert.equal(du.images.size, a.size - a.sharedSize + (b.size - b.sharedSize) + a.sharedSize + c.size);
  assert.deepEqual([a.containers, b.containers, c.containers], [2, 1, 0]);
  assert.equal(du.images.active, 2);
  assert.equal(du.images.reclaimable, c.size, 'only the image no container uses can go');
});

test('containers: a container is its writable layer, which grows with what it wrote; the running one is active', () => {
  const writer = container('writer');
  const idle = container('idle');
  const sleeper = container('sleeper');
  assert.ok(writer.size >= WRITTEN, `the writer's ${WRITTEN} bytes are in its size (${writer.size})`);
  assert.ok(idle.size < WRITTEN / 20, `an idle container takes little (${idle.size})`);
  assert.ok(writer.size - idle.size >= WRITTEN);
  assert.deepEqual([writer.active, idle.active, sleeper.active], [false, false, true]);
  assert.equal(du.containers.count, 3);
  assert.equal(du.containers.active, 1);
  const own = writer.size + idle.size + sleeper.size;
  assert.ok(du.containers.size >= own, 'the row holds every container (and the init layers beneath them)');
  assert.ok(du.containers.reclaimable >= writer.size + idle.size && du.containers.reclaimable <= du.containers.size - sleeper.size);
});

test('volumes, build cache and compressed blobs', () => {
  assert.equal(du.volumes.count, 1);
  const vol = du.volumes.items[0]!;
  assert.equal(vol.volume.name, 'dfdata');
  assert.equal(vol.links, 0, 'its container is gone');
  assert.ok(vol.size >= VOLUME_DATA && vol.size < VOLUME_DATA * 1.1, `${vol.size} bytes`);
  assert.deepEqual([du.volumes.active, du.volumes.size, du.volumes.reclaimable], [0, vol.size, vol.size]);

  const layers = du.buildCache.items.filter((e) => e.type === 'regular');
  const mounts = du.buildCache.items.filter((e) => e.type === 'exec.cachemount');
  assert.equal(layers.length, 2, 'the two RUN steps');
  assert.ok(layers.every((e) => !e.shared), 'their image is gone: the cache alone holds them');
  assert.ok(layers.some((e) => e.size >= 4 * MB));
  assert.equal(mounts.length, 1);
  assert.ok(mounts[0]!.size >= 2 * MB);
  assert.ok(du.buildCache.size >= 6 * MB);
  assert.equal(du.buildCache.count, 3);

  assert.equal(du.compressedBlobs.count, 1, "the import's gzip'd blob");
  assert.ok(du.compressedBlobs.size >= 3 << 20, 'incompressible data stays as large gzip’d');
  assert.deepEqual(du.compressedBlobs.items.map((b) => b.images), [1]);
});

test('the rows together are what is on disk: within 5% of du of the store, never more', () => {
  const total = du.images.size + du.containers.size + du.volumes.size + du.buildCache.size + du.compressedBlobs.size;
  const r = spawnSync('du', ['-s', '-x', '-B1', root]);
  assert.equal(r.status, 0, r.stderr.toString());
  const disk = Number(r.stdout.toString().split('\t')[0]);
  assert.ok(total <= disk, `counted ${total} bytes, du says ${disk}`);
  assert.ok(total >= disk * 0.95, `counted ${total} bytes of du's ${disk} (${((100 * total) / disk).toFixed(1)}%)`);
});

test('system df: Docker\'s table and json lines, one more for the compressed blobs; templates', async () => {
  const table = (await cairnOk(root, ['system', 'df'])).stdout.split('\n');
  assert.match(table[0]!, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
  assert.deepEqual(table.slice(1, -1).map((l) => l.split(/ {2,}/)[0]), ['Images', 'Containers', 'Local Volumes', 'Build Cache', 'Compressed Blobs']);

  const lines = (await cairnOk(root, ['system', 'df', '--format', 'json'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const pct = (r: number, s: number) => `${humanSize(r, 4)} (${Math.trunc((r * 100) / s)}%)`;
  assert.deepEqual(lines[0], { Active: '2', Reclaimable: pct(du.images.reclaimable, du.images.size), Size: humanSize(du.images.size, 4), TotalCount: '3', Type: 'Images' });
  assert.deepEqual(lines[1], { Active: '1', Reclaimable: pct(du.containers.reclaimable, du.containers.size), Size: humanSize(du.containers.size, 4), TotalCount: '3', Type: 'Containers' });
  assert.deepEqual(lines[2], { Active: '0', Reclaimable: `${humanSize(du.volumes.size, 4)} (100%)`, Size: humanSize(du.volumes.size, 4), TotalCount: '1', Type: 'Local Volumes' });
  assert.deepEqual(lines[3], { Active: '0', Reclaimable: humanSize(du.buildCache.reclaimable, 4), Size: humanSize(du.buildCache.size, 4), TotalCount: '3', Type: 'Build Cache' });
  assert.equal(lines[4]!.Type, 'Compressed Blobs');
  assert.equal(lines[4]!.Size, humanSize(du.compressedBlobs.size, 4));

  const tpl = await cairnOk(root, ['system', 'df', '--format', '{{.Type}}={{.TotalCount}}']);
  assert.equal(tpl.stdout, 'Images=3\nContainers=3\nLocal Volumes=1\nBuild Cache=3\nCompressed Blobs=1\n');
  const tableTpl = (await cairnOk(root, ['system', 'df', '--format', 'table {{.Type}}\\t{{.Size}}'])).stdout.split('\n');
  assert.match(tableTpl[0]!, /^TYPE +SIZE$/);
  assert.match(tableTpl[1]!, new RegExp(`^Images +${humanSize(du.images.size, 4).replace('.', '\\.')}$`));
});

test('system df -v: the sections, as Docker lays them out, with the sizes measured', async () => {
  const text = (await cairnOk(root, ['system', 'df', '-v'])).stdout;
  const section = (title: string, next: string): string[] => {
    const at = text.indexOf(title);
    assert.ok(at >= 0, `${title} in:\n${text}`);
    return text.slice(at, next === '' ? undefined : text.indexOf(next, at)).split('\n').slice(2).filter((l) => l !== '');
  };
  assert.ok(text.startsWith('Images space usage:\n\n'));
  const images = section('Images space usage:', '\nContainers space usage:');
  assert.match(images[0]!, /^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS$/);
  const a = image('df/a:1');
  const aRow = images.find((l) => l.startsWith('df/a '))!.split(/ {2,}/);
  assert.deepEqual(aRow.slice(4), [humanSize(a.size, 4), humanSize(a.sharedSize, 4), humanSize(a.size - a.sharedSize, 4), '2']);
  const containers = section('Containers space usage:', '\nLocal Volumes space usage:');
  assert.match(containers[0]!, /^CONTAINER ID +IMAGE +COMMAND +LOCAL VOLUMES +SIZE +CREATED +STATUS +NAMES$/);
  const wRow = containers.find((l) => l.endsWith(' writer'))!.split(/ {2,}/);
  assert.equal(wRow[4], humanSize(container('writer').size));
  assert.equal(wRow[1], 'df/a:1');
  const volumes = section('Local Volumes space usage:', '\nBuild cache usage:');
  assert.deepEqual(volumes.map((l) => l.split(/ {2,}/)), [['VOLUME NAME', 'LINKS', 'SIZE'], ['dfdata', '0', humanSize(du.volumes.size, 4)]]);
  assert.ok(text.includes(`\nBuild cache usage: ${humanSize(du.buildCache.size, 4)}\n\n`));
  const cache = section('Build cache usage:', '\nCompressed blobs usage:');
  assert.match(cache[0]!, /^CACHE ID +CACHE TYPE +SIZE +CREATED +LAST USED +USAGE +SHARED$/);
  assert.equal(cache.length, 4);
  assert.ok(text.includes(`\nCompressed blobs usage: ${humanSize(du.compressedBlobs.size, 4)}\n\n`));
});

test('system df -v --format json: one object of the sections, full IDs', async () => {
  const doc = JSON.parse((await cairnOk(root, ['system', 'df', '-v', '--format', 'json'])).stdout) as Record<string, Array<Record<string, string>>>;
  assert.deepEqual(Object.keys(doc), ['Images', 'Containers', 'Volumes', 'BuildCache', 'CompressedBlobs']);
  assert.equal(doc.Images!.length, du.images.count);
  assert.ok(doc.Images!.every((i) => /^sha256:[0-9a-f]{64}$/.test(i.ID!)));
  const writer = doc.Containers!.find((c) => c.Names === 'writer')!;
  assert.equal(writer.Size, humanSize(container('writer').size));
  assert.match(writer.ID!, /^[0-9a-f]{64}$/);
  assert.deepEqual(doc.Volumes!.map((v) => [v.Name, v.Links, v.Size]), [['dfdata', '0', humanSize(du.volumes.size, 4)]]);
  assert.deepEqual(doc.BuildCache!.map((e) => e.CacheType).sort(), ['exec.cachemount', 'regular', 'regular']);
  const template = await cairnOk(root, ['system', 'df', '-v', '--format', '{{range .Volumes}}{{.Name}} {{.Links}}{{end}}']);
  assert.equal(template.stdout, 'dfdata 0\n');
});

test('system df: bad input is one line and Docker\'s exit code', async () => {
  const extra = await cairn(root, ['system', 'df', 'extra']);
  assert.equal(extra.code, 1);
  assert.match(extra.stderr, /^"cairn system df" accepts no arguments\.\n/);
  const bad = await cairn(root, ['system', 'df', '--format', '{{.Type']);
  assert.notEqual(bad.code, 0);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /template/);
  const unknown = await cairn(root, ['system', 'df', '--bogus']);
  assert.equal(unknown.code, 125);
  assert.match(unknown.stderr, /^unknown flag: --bogus\nSee 'cairn system df --help'\.\n$/);
});

test('native driver (each snapshot a whole copy): the rows are still what is on disk', async () => {
  const nativeRoot = join(dir.path, 'native');
  const base = await makeTar([{ path: 'base', content: randomBytesSeeded(4 << 20, 11) }]);
  const archive = await makeDockerArchive([
    { layers: [base, await makeTar([{ path: 'x', content: randomBytesSeeded(2 << 20, 12) }])], repoTags: ['n/x:1'] },
    { layers: [base, await makeTar([{ path: 'y', content: randomBytesSeeded(1 << 20, 13) }])], repoTags: ['n/y:1'] },
  ]);
  await cairnOk(nativeRoot, ['--storage-driver', 'native', 'load'], { input: archive });
  const c = await Cairn.open({ root: nativeRoot });
  let usage: DiskUsage;
  try {
    usage = await c.diskUsage();
  } finally {
    c.close();
  }
  const [x, y] = ['n/x:1', 'n/y:1'].map((n) => usage.images.items.find((i) => i.repoTags.includes(n))!);
  assert.ok(x!.sharedSize >= 4 << 20 && x!.sharedSize === y!.sharedSize, 'the base layer is shared');
  assert.ok(x!.size - x!.sharedSize >= 6 << 20, "a native child snapshot is a copy of its parent's files and its own");
  const total = usage.images.size + usage.containers.size + usage.volumes.size + usage.buildCache.size + usage.compressedBlobs.size;
  const disk = Number(spawnSync('du', ['-s', '-x', '-B1', nativeRoot]).stdout.toString().split('\t')[0]);
  assert.ok(total <= disk && total >= disk * 0.95, `counted ${total} bytes of du's ${disk}`);
});

// Last: it changes the store the tests above read.
test('a writable layer is walked every time, a committed layer measured once', async () => {
  const before = await diskUsage();
  const idleBefore = before.containers.items.find((c) => c.name === 'idle')!.size;
  const file = join(dir.path, 'more');
  writeFileSync(file, randomBytesSeeded(MB, 5));
  await cairnOk(root, ['cp', file, 'idle:/more']);
  // A file slipped into the committed snapshot of df/c's layer behind the store's back: not
  // seen, as that layer's usage was measured before and kept (its files never change).
  const snapshots = join(root, 'snapshots', 'overlay');
  const id = readdirSync(snapshots).find((n) => existsSync(join(snapshots, n, 'fs', 'c')));
  assert.ok(id !== undefined, "df/c's layer is a snapshot of its own");
  const sneaked = join(snapshots, id, 'fs', 'sneaked');
  writeFileSync(sneaked, randomBytesSeeded(MB, 6));
  try {
    const after = await diskUsage();
    const idleAfter = after.containers.items.find((c) => c.name === 'idle')!.size;
    assert.ok(idleAfter - idleBefore >= MB, `the copied file is in the container's size (${idleBefore} -> ${idleAfter})`);
    assert.equal(after.images.size, before.images.size, 'the committed layer was not walked again');
  } finally {
    rmSync(sneaked);
  }
});
