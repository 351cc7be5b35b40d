/**
 * `system check [--repair] [--quick]` through the real CLI on a temporary root: a clean store
 * (loaded and imported images, a container, volumes) checks clean; each kind of damage is then
 * found with its exact line and exit status 1 — a byte flipped in a blob (only a full check
 * finds it), in a file of a layer's snapshot (re-emission finds it; --quick does not), a
 * snapshot's directory deleted, a dead process's work directory beside the volumes, a blob
 * nothing uses, an upload's bytes without their session, a container directory without a record and a container without its directory,
 * a volume's data and a tmpfs volume's mount point gone — while what start-up cleans (a dead
 * process's scratch, a snapshot directory without a record) is gone before the check looks.
 * `--repair` fixes what it can, keeps the damaged images with their tags and marks them; a
 * second check reports only what it could not repair; loading the images again clears the
 * marks and the damage; a layer whose compressed blob is kept is unpacked again at once; an
 * image mount with nothing mounted is forgotten. And on the native driver, damage to the metadata: a layer's size (re-derived
 * from its re-emitted tar), a tar-split record gone, an image's recorded top layer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder } from './helpers.js';

interface JsonFinding {
  kind: string;
  object: string;
  message: string;
  affects: { images: string[]; containers: string[] };
  repair?: string;
  repaired?: boolean;
  marked?: string[];
}

describe('system check', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let archive: Buffer;
  /** chainID (= diffID: one layer each) and snapshot directory of images b and c. */
  const layerOf: Record<string, { chain: string; dir: string }> = {};
  let configD: string;
  let ctrId: string;

  const check = (...flags: string[]) => cairn(root, ['system', 'check', ...flags]);
  const lines = (stdout: string): string[] => stdout.trimEnd().split('\n');
  const findings = async (...flags: string[]): Promise<{ code: number; found: JsonFinding[] }> => {
    const r = await check('--format', 'json', ...flags);
    assert.equal(r.stderr, '');
    return { code: r.code, found: JSON.parse(r.stdout) as JsonFinding[] };
  };
  const deadPid = (): number => {
    const p = spawnSync('true');
    assert.equal(p.status, 0);
    return p.pid;
  };

  before(async () => {
    dir = await tempDir('cairn-check-');
    root = join(dir.path, 'root');
    const base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/base', content: randomBytesSeeded(300_000, 1) }]);
    const top = await makeTar([{ path: 'top', content: 'top\n' }]);
    const b = await makeTar([{ path: 'b/', type: 'dir' }, { path: 'b/data', content: 'the layer of image b\n' }]);
    const c = await makeTar([{ path: 'c', content: randomBytesSeeded(70_000, 2) }]);
    const d = await makeTar([{ path: 'd', content: 'd\n' }]);
    archive = await makeDockerArchive([
      { layers: [base, top], repoTags: ['check/a:1'] },
      { layers: [b], repoTags: ['check/b:1'] },
      { layers: [c], repoTags: ['check/c:1'] },
      { layers: [d], repoTags: ['check/d:1'] },
    ]);
    await cairnOk(root, ['load'], { input: archive });
    await cairnOk(root, ['import', '-', 'check/imported:1'], { input: await makeTar([{ path: 'x', content: randomBytesSeeded(100_000, 3) }], 'gzip') });
    ctrId = (await cairnOk(root, ['create', '--name', 'c1', 'check/a:1'])).stdout.trim();
    await cairnOk(root, ['volume', 'create', 'v1']);
    await cairnOk(root, ['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'tv1']);
    for (const name of ['b', 'c']) {
      const [chain, upper] = (await cairnOk(root, ['inspect', '-f', '{{index .RootFS.Layers 0}} {{.GraphDriver.Data.UpperDir}}', `check/${name}:1`])).stdout.trim().split(' ');
      layerOf[name] = { chain: chain!, dir: upper! };
    }
    configD = (await cairnOk(root, ['inspect', '-f', '{{.Id}}', 'check/d:1'])).stdout.trim();
  });

  after(async () => {
    await cairn(root, ['rm', '-f', 'c1']);
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  it('a clean store checks clean, with and without --quick', async () => {
    // a container made and removed leaves its init layer to the next collection: no problem
    await cairnOk(root, ['create', '--name', 'c0', 'check/d:1']);
    await cairnOk(root, ['rm', 'c0']);
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
    assert.deepEqual(await check('--quick'), { code: 0, stdout: 'no problems found (--quick: contents not re-hashed)\n', stderr: '' });
    assert.deepEqual(await findings(), { code: 0, found: [] });
    // a repair of a clean store changes nothing
    assert.deepEqual(await check('--repair'), { code: 0, stdout: 'no problems found\n', stderr: '' });
  });

  it('a byte changed in a file of a layer: re-emission finds it, --quick does not', async () => {
    const file = join(layerOf.b!.dir, 'b', 'data');
    const bytes = readFileSync(file);
    bytes[4] = bytes[4]! ^ 0x20; // same size, other content
    writeFileSync(file, bytes);
    assert.deepEqual(await check('--quick'), { code: 0, stdout: 'no problems found (--quick: contents not re-hashed)\n', stderr: '' });
    const r = await check();
    assert.equal(r.code, 1);
    const out = lines(r.stdout);
    assert.equal(out.length, 2, r.stdout);
    assert.equal(
      out[0],
      `layer ${layerOf.b!.chain}: re-emitted tar does not match its diffID: file "b/data" changed since it was unpacked (affects image check/b:1) [repair: drop the snapshot and its tar-split record, so that a load or pull of the image unpacks it again]`,
    );
    assert.equal(out[1], '1 problem found');
  });

  it('a byte changed in a blob: a full check finds it, --quick does not', async () => {
    const path = join(root, 'content', 'blobs', 'sha256', configD.slice('sha256:'.length));
    const text = readFileSync(path, 'utf8');
    assert.ok(text.includes('test layer'));
    writeFileSync(path, text.replace('test layer', 'test layeR'));
    const got = `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    assert.equal((await check('--quick')).code, 0);
    const r = await check();
    assert.equal(r.code, 1);
    assert.ok(
      lines(r.stdout).includes(`blob ${configD}: image config: content does not match its digest (it hashes to ${got}) (affects image check/d:1) [repair: remove it, so that a load or pull of the image brings it again]`),
      r.stdout,
    );
    assert.equal(lines(r.stdout).at(-1), '2 problems found');
  });

  it('what start-up cleans is gone before the check; what it does not is reported, each on one line', async () => {
    // start-up's: a dead process's scratch and a snapshot directory without a record
    const scratch = join(root, 'tmp', `${deadPid()}-0123456789ab`);
    mkdirSync(join(scratch, 'x'), { recursive: true });
    const orphanSnapshot = join(dirname(dirname(layerOf.b!.dir)), '99999');
    mkdirSync(join(orphanSnapshot, 'fs'), { recursive: true });
    // what it does not clean
    rmSync(dirname(layerOf.c!.dir), { recursive: true });
    const pid = deadPid();
    const volumeWork = `.tmp-${pid}-0123456789ab`;
    mkdirSync(join(root, 'volumes', volumeWork, '_data'), { recursive: true });
    const strayBytes = Buffer.from('a blob nothing names\n');
    const stray = `sha256:${createHash('sha256').update(strayBytes).digest('hex')}`;
    writeFileSync(join(root, 'content', 'blobs', 'sha256', stray.slice(7)), strayBytes);
    // an upload's bytes whose session is gone, unwritten for an hour; and one written just now (its PUT may be committing it)
    const staleIngest = join(root, 'content', 'ingest', 'ref-upload-0123abcd');
    writeFileSync(staleIngest, 'half an upload');
    utimesSync(staleIngest, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
    const freshIngest = join(root, 'content', 'ingest', 'ref-upload-4567cdef');
    writeFileSync(freshIngest, 'an upload being committed');
    const orphanCtr = 'f'.repeat(64);
    mkdirSync(join(root, 'containers', orphanCtr, 'rootfs'), { recursive: true });
    rmSync(join(root, 'containers', ctrId), { recursive: true });
    rmSync(join(root, 'volumes', 'v1', '_data'), { recursive: true });
    rmSync(join(root, 'volumes', 'tv1', '_data'), { recursive: true });

    const quick = await check('--quick');
    assert.equal(quick.code, 1);
    assert.ok(!existsSync(scratch), 'start-up removed the dead process scratch');
    assert.ok(!existsSync(orphanSnapshot), 'start-up removed the snapshot directory without a record');
    const expected = [
      `blob ${stray}: nothing uses it (left by work cut short) [repair: remove it]`,
      'ingest upload-0123abcd: bytes of an upload no session owns any more [repair: remove it]',
      `layer ${layerOf.c!.chain}: its snapshot's directory is gone (affects image check/c:1) [repair: drop the snapshot and its tar-split record, so that a load or pull of the image unpacks it again]`,
      `container c1: its directory containers/${ctrId} is gone [repair: make it again (its next start fills it)]`,
      `directory containers/${orphanCtr}: no container record names it [repair: remove it]`,
      'volume tv1: its mount point (_data) is gone [repair: make the mount point again]',
      'volume v1: its data directory (_data) is gone: its data is lost; remove the volume',
      `directory volumes/${volumeWork}: left by process ${pid}, which is gone [repair: remove it]`,
    ];
    assert.deepEqual(lines(quick.stdout), [...expected, `${expected.length} problems found (--quick: contents not re-hashed)`]);
    const full = await check();
    assert.equal(full.code, 1);
    const all = lines(full.stdout);
    assert.equal(all.at(-1), `${expected.length + 2} problems found`);
    for (const l of expected) assert.ok(all.includes(l), `${l}\n  in\n${full.stdout}`);
  });

  it('--repair fixes what it can and marks the damaged images, which stay with their tags; a second check reports the rest', async () => {
    const r = await findings('--repair');
    assert.equal(r.code, 1);
    const by = (kind: string) => r.found.filter((f) => f.kind === kind);
    for (const kind of ['unreachable', 'ingest-leftover', 'container-dir', 'container-orphan', 'volume-leftover']) assert.equal(by(kind)[0]?.repaired, true, kind);
    assert.ok(!existsSync(join(root, 'content', 'ingest', 'ref-upload-0123abcd')));
    assert.ok(existsSync(join(root, 'content', 'ingest', 'ref-upload-4567cdef')), 'a fresh ingest is left alone');
    rmSync(join(root, 'content', 'ingest', 'ref-upload-4567cdef'));
    assert.equal(by('volume-data').find((f) => f.object === 'volume tv1')?.repaired, true);
    assert.equal(by('volume-data').find((f) => f.object === 'volume v1')?.repaired, undefined, 'lost data is not made up');
    assert.deepEqual(by('layer-content').map((f) => [f.repaired, f.marked]), [[false, ['check/b:1']]]);
    assert.deepEqual(by('blob-corrupt').map((f) => [f.object, f.repaired, f.marked]), [[`blob ${configD}`, false, ['check/d:1']]]);
    assert.deepEqual(by('snapshot-files').map((f) => [f.repaired, f.marked]), [[false, ['check/c:1']]]);
    // repaired on disk
    assert.ok(existsSync(join(root, 'containers', ctrId)));
    assert.ok(existsSync(join(root, 'volumes', 'tv1', '_data')));
    assert.ok(!existsSync(join(root, 'containers', 'f'.repeat(64))));
    assert.ok(!existsSync(join(root, 'content', 'blobs', 'sha256', configD.slice(7))), 'the corrupt blob is gone, so that a load brings it again');
    // never deleted: every image is still there with its name
    const names = (await cairnOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(names, ['check/a:1', 'check/b:1', 'check/c:1', 'check/d:1', 'check/imported:1']);

    const second = await findings();
    assert.equal(second.code, 1);
    assert.deepEqual(
      second.found.map((f) => [f.kind, f.object]).sort(),
      [
        ['blob-missing', `blob ${configD}`],
        ['image-damaged', 'image check/b:1'],
        ['image-damaged', 'image check/c:1'],
        ['image-damaged', 'image check/d:1'],
        ['snapshot-missing', `layer ${layerOf.b!.chain}`],
        ['snapshot-missing', `layer ${layerOf.c!.chain}`],
        ['volume-data', 'volume v1'],
      ].sort(),
    );
    assert.ok(second.found.every((f) => f.repair === undefined), 'only what --repair cannot repair is left');
    const damaged = second.found.find((f) => f.object === 'image check/d:1')!;
    assert.match(damaged.message, new RegExp(`^marked damaged \\(blob ${configD}: image config: content does not match its digest .*\\): pull or load it again$`));
    // a second repair changes nothing of that
    assert.equal((await check('--repair')).code, 1);
    assert.match((await cairnOk(root, ['info'])).stdout, /^Damaged Images: 3$/m, 'info counts the marked images');
  });

  it('loading the images again clears the marks and the damage', async () => {
    await cairnOk(root, ['load'], { input: archive });
    assert.equal((await cairnOk(root, ['info', '-f', '{{.DamagedImages}}'])).stdout, '0\n');
    const r = await check();
    assert.deepEqual(lines(r.stdout), ['volume v1: its data directory (_data) is gone: its data is lost; remove the volume', '1 problem found']);
    assert.equal(r.code, 1);
    // the layers re-emit their tars again: save works
    const saved = await cairn(root, ['save', 'check/b:1', 'check/c:1', 'check/d:1']);
    assert.equal(saved.code, 0, saved.stderr);
    await cairnOk(root, ['volume', 'rm', 'v1']);
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
  });

  it('a damaged layer whose compressed blob the store keeps is unpacked again by --repair: nothing to load, nothing marked', async () => {
    const upper = (): Promise<string> => cairnOk(root, ['inspect', '-f', '{{.GraphDriver.Data.UpperDir}}', 'check/imported:1']).then((r) => r.stdout.trim());
    // one layer: its chainID is its diffID
    const chain = (await cairnOk(root, ['inspect', '-f', '{{index .RootFS.Layers 0}}', 'check/imported:1'])).stdout.trim();
    const file = join(await upper(), 'x');
    const original = readFileSync(file);
    const changed = Buffer.from(original);
    changed[1000] = changed[1000]! ^ 1;
    writeFileSync(file, changed);
    const r = await findings();
    assert.equal(r.code, 1);
    assert.equal(r.found.length, 1);
    const f = r.found[0]!;
    assert.deepEqual([f.kind, f.object, f.affects], ['layer-content', `layer ${chain}`, { images: ['check/imported:1'], containers: [] }]);
    assert.match(f.repair!, /^unpack it again from its blob sha256:[0-9a-f]{64}$/);
    const fixed = await check('--repair');
    assert.equal(fixed.code, 0, fixed.stdout);
    assert.equal(lines(fixed.stdout).at(-1), '1 problem found: 1 repaired, 0 remain');
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
    assert.deepEqual(readFileSync(join(await upper(), 'x')), original, 'the file is the layer\'s again');
  });

  it('an image recorded as mounted with nothing mounted there (a reboot) is found and forgotten by --repair', async () => {
    const target = (await cairnOk(root, ['image', 'mount', 'check/a:1'])).stdout.trim();
    await cairnOk(root, ['image', 'mount', 'check/a:1']);
    assert.equal(spawnSync('umount', [target]).status, 0);
    const line = `image check/a:1: recorded as mounted at ${target} (2 times), but nothing is mounted there [repair: forget the mount, as image umount --all does`;
    assert.deepEqual(await check('--quick'), { code: 1, stdout: `${line}]\n1 problem found (--quick: contents not re-hashed)\n`, stderr: '' });
    assert.deepEqual(await check('--repair'), { code: 0, stdout: `${line}: done]\n1 problem found: 1 repaired, 0 remain\n`, stderr: '' });
    assert.equal((await cairnOk(root, ['image', 'mount'])).stdout, '', 'no image is mounted');
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
  });
});

describe('system check on the native driver: metadata damage', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let root: string;
  let archive: Buffer;
  let base: string;
  let top: string;

  const check = (...flags: string[]) => cairn(root, ['system', 'check', ...flags]);
  const sql = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(join(root, 'metadata.db'));
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };

  before(async () => {
    dir = await tempDir('cairn-check-native-');
    root = join(dir.path, 'root');
    const l0 = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/n', content: randomBytesSeeded(50_000, 4) }]);
    const l1 = await makeTar([{ path: 'etc/m', content: 'm\n' }]);
    archive = await makeDockerArchive([{ layers: [l0, l1], repoTags: ['n/b:1'] }]);
    await cairnOk(root, ['--storage-driver', 'native', 'load'], { input: archive });
    await cairnOk(root, ['import', '-', 'n/imported:1'], { input: await makeTar([{ path: 'y', content: randomBytesSeeded(40_000, 5) }], 'gzip') });
    const chain = sql((db) => db.prepare("SELECT il.chain_id FROM image_layers il JOIN tags t ON t.image_id = il.image_id WHERE t.name = 'docker.io/n/b:1' ORDER BY il.idx").pluck().all() as string[]);
    assert.equal(chain.length, 2);
    [base, top] = chain as [string, string];
  });

  after(async () => {
    unmountUnder(dir.path);
    await dir.cleanup();
  });

  it('a clean native store checks clean, also after compressed-blobs=drop took the compressed blob and keep came back', async () => {
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
    await cairnOk(root, ['--storage-opt', 'compressed-blobs=drop', 'images']);
    await cairnOk(root, ['--storage-opt', 'compressed-blobs=keep', 'images']);
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
    assert.equal((await cairn(root, ['save', 'n/imported:1'])).code, 0, 'its layer is re-emitted from its files');
  });

  it("a container whose writable layer is gone is reported until it is removed", async () => {
    const id = (await cairnOk(root, ['create', '--name', 'n1', 'n/b:1'])).stdout.trim();
    const key = sql((db) => db.prepare('SELECT snapshot FROM containers WHERE id = ?').pluck().get(id) as string);
    sql((db) => db.prepare('DELETE FROM snapshots WHERE key = ?').run(key));
    const line = `container n1: its writable layer (snapshot ${key}) is gone: remove the container (affects container n1)`;
    assert.deepEqual(await check('--quick'), { code: 1, stdout: `${line}\n1 problem found (--quick: contents not re-hashed)\n`, stderr: '' });
    assert.deepEqual(await check('--repair'), { code: 1, stdout: `${line}\n1 problem found: 0 repaired, 1 remains\n`, stderr: '' });
    await cairnOk(root, ['rm', 'n1']);
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
  });

  it("a layer's recorded size that is not its tar's is found by re-emission and re-derived", async () => {
    const size = sql((db) => db.prepare('SELECT size FROM layers WHERE chain_id = ?').pluck().get(top) as number);
    sql((db) => db.prepare('UPDATE layers SET size = size + 7 WHERE chain_id = ?').run(top));
    assert.equal((await check('--quick')).code, 0, 'sizes are checked against the re-emitted tar');
    const line = `layer ${top}: its size is recorded as ${size + 7} bytes, its tar has ${size} (affects image n/b:1) [repair: record ${size} bytes`;
    assert.deepEqual(await check(), { code: 1, stdout: `${line}]\n1 problem found\n`, stderr: '' });
    assert.deepEqual(await check('--repair'), { code: 0, stdout: `${line}: done]\n1 problem found: 1 repaired, 0 remain\n`, stderr: '' });
    assert.equal(sql((db) => db.prepare('SELECT size FROM layers WHERE chain_id = ?').pluck().get(top)), size);
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
  });

  it('a tar-split record gone and a wrong top layer: reported, the image marked, a load mends both', async () => {
    const split = sql((db) => db.prepare('SELECT tar_split FROM layers WHERE chain_id = ?').pluck().get(base) as string);
    rmSync(join(root, 'content', 'blobs', 'sha256', split.slice(7)));
    const bogus = `sha256:${'0'.repeat(64)}`;
    sql((db) => db.prepare('UPDATE images SET top_chain_id = ? WHERE top_chain_id = ?').run(bogus, top));
    const r = await check('--quick');
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      `image n/b:1: its layer chain is broken: its top layer is recorded as ${bogus}, its chain ends at ${top} (affects image n/b:1)`,
      `blob ${split}: tar-split record of layer ${base}: missing from the content store (affects image n/b:1) [repair: forget the record (a load or pull of the image records it again)]`,
      '2 problems found (--quick: contents not re-hashed)',
    ]);
    assert.equal((await check('--repair')).code, 1);
    const after = await check();
    assert.equal(after.code, 1);
    assert.match(after.stdout, /^image n\/b:1: its layer chain is broken: .*\nimage n\/b:1: marked damaged \(image n\/b:1: its layer chain is broken: .*\): pull or load it again .*\n2 problems found\n$/);
    // the image is kept, its layer cannot be re-emitted until it is loaded again
    assert.equal((await cairnOk(root, ['images', '--format', '{{.Repository}}:{{.Tag}}', 'n/b'])).stdout, 'n/b:1\n');
    const saved = await cairn(root, ['save', 'n/b:1']);
    assert.equal(saved.code, 1);
    assert.match(saved.stderr, /^Error: .*\n$/, 'one line');
    await cairnOk(root, ['load'], { input: archive });
    assert.deepEqual(await check(), { code: 0, stdout: 'no problems found\n', stderr: '' });
    assert.equal((await cairn(root, ['save', 'n/b:1'])).code, 0);
  });
});
