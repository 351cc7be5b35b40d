/**
 * Several cairn processes on one root (issue 3, point 2): rounds of eight processes started at
 * once — imports, loads, tags and rmis, several aiming at the same tags, images and blobs —
 * then the store is checked whole: SQLite integrity, every image's blobs present and intact,
 * no unreferenced blob, every tag on an existing image, exactly the images and tags the
 * operations imply (where a race makes two outcomes legitimate, either), empty ingest and
 * scratch areas. And a `cairn load` killed with SIGKILL half-way leaves nothing that the next
 * command does not clean up.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import { CAIRN, cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, snapshotTree, tarBytes, tempDir, type RunResult } from './helpers.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let S: Buffer; // a layer shared by every archive (and an untagged import)
const files: Record<string, string> = {};
let A1ID = '';
let A2ID = '';
let A3ID = '';

async function file(name: string, b: Buffer): Promise<string> {
  const p = join(dir.path, name);
  await writeFile(p, b);
  files[name] = p;
  return p;
}

function rootfs(seed: number): Promise<Buffer> {
  return makeTar([{ path: 'etc/', type: 'dir' }, { path: `etc/round-${seed}`, content: randomBytesSeeded(48 * 1024 + seed, seed) }]);
}

before(async () => {
  dir = await tempDir('cairn-concurrency-');
  S = await makeTar([{ path: 'shared/', type: 'dir' }, { path: 'shared/blob', content: randomBytesSeeded(512 * 1024, 99) }]);
  const X1 = await makeTar([{ path: 'x1', content: randomBytesSeeded(256 * 1024, 1) }]);
  const X2 = await makeTar([{ path: 'x2', content: randomBytesSeeded(256 * 1024, 2) }]);
  const X3 = await makeTar([{ path: 'x3', content: randomBytesSeeded(128 * 1024, 3) }]);
  await file('S.tar', S);
  // shared:N: one layer no other image has, so removing shared:N-1 while shared:N is imported
  // races on the same blob and the same unpacked layer (chainID).
  await file('solo.tar', await makeTar([{ path: 'solo', content: randomBytesSeeded(200 * 1024, 42) }]));
  // A1: a legacy docker-archive (layers not named by digest); A2, A3: cairn save (OCI layout), from a scratch store.
  await file('A1.tar', await makeDockerArchive([{ layers: [S, X1], repoTags: ['arch1:latest'] }]));
  const scratch = join(dir.path, 'scratch');
  await cairnOk(scratch, ['load', '-q', '-i', await file('A2-legacy.tar', await makeDockerArchive([{ layers: [S, X2], repoTags: ['arch2:latest'] }]))]);
  await cairnOk(scratch, ['load', '-q', '-i', await file('A3-legacy.tar', await makeDockerArchive([{ layers: [S, X3], repoTags: ['arch3:latest'] }]))]);
  await cairnOk(scratch, ['save', '-o', join(dir.path, 'A2.tar'), 'arch2']);
  await cairnOk(scratch, ['save', '--format', 'oci-archive', '-o', join(dir.path, 'A3.tar'), 'arch3']);
  files['A2.tar'] = join(dir.path, 'A2.tar');
  files['A3.tar'] = join(dir.path, 'A3.tar');
  const ids = JSON.parse((await cairnOk(scratch, ['inspect', '--format', 'json', 'arch2', 'arch3'])).stdout) as Array<{ Id: string }>;
  A2ID = ids[0]!.Id;
  A3ID = ids[1]!.Id;
  const a1 = join(dir.path, 'scratch-a1');
  await cairnOk(a1, ['load', '-q', '-i', files['A1.tar']!]);
  A1ID = (JSON.parse((await cairnOk(a1, ['inspect', 'arch1'])).stdout) as Array<{ Id: string }>)[0]!.Id;
});
after(() => dir.cleanup());

interface Op {
  args: string[];
  /** Besides exit 0, a failure that the race makes legitimate: the exact stderr allowed with exit 1. */
  mayFail?: string;
}

/** Start every op at once; wait for all. */
async function runAll(root: string, ops: Op[]): Promise<RunResult[]> {
  const results = await Promise.all(ops.map((op) => cairn(root, op.args)));
  results.forEach((r, i) => {
    const op = ops[i]!;
    if (r.code === 0) return;
    assert.ok(op.mayFail !== undefined && r.code === 1 && r.stderr === op.mayFail, `cairn ${op.args.join(' ')} exited ${r.code}: ${r.stderr}`);
  });
  return results;
}

const idOf = (r: RunResult) => {
  const id = r.stdout.trim();
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  return id;
};

interface StoreView {
  images: Set<string>;
  tags: Map<string, string>;
}

/** Check the store whole, as the database and the content directory say; return its images and tags. */
function checkStore(root: string): StoreView {
  const db = new Database(join(root, 'metadata.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(db.pragma('foreign_key_check'), []);
    assert.deepEqual(db.prepare('SELECT * FROM leases').all(), [], 'no lease outlives its process');
    const images = db.prepare('SELECT id, manifest_digest, manifest_size, config_size FROM images').all() as Array<{ id: string; manifest_digest: string; manifest_size: number; config_size: number }>;
    const layers = db
      .prepare('SELECT il.image_id, il.blob_digest, b.size, l.diff_id, l.tar_split FROM image_layers il JOIN layer_blobs b ON b.blob_digest = il.blob_digest JOIN layers l ON l.chain_id = il.chain_id')
      .all() as Array<{ image_id: string; blob_digest: string; size: number; diff_id: string; tar_split: string | null }>;
    const nLayers = (db.prepare('SELECT COUNT(*) AS n FROM image_layers').get() as { n: number }).n;
    assert.equal(layers.length, nLayers, 'every image layer has its blob record');
    const blobDir = join(root, 'content', 'blobs', 'sha256');
    const present = new Set(readdirSync(blobDir).map((h) => `sha256:${h}`));
    const verify = (d: string, size: number, what: string) => {
      assert.ok(present.has(d), `${what}: blob ${d} is in the content store`);
      const b = readFileSync(join(blobDir, d.slice(7)));
      assert.equal(b.length, size, `${what}: size of ${d}`);
      assert.equal(sha(b), d, `${what}: content of ${d}`);
    };
    const referenced = new Set<string>();
    for (const im of images) {
      verify(im.id, im.config_size, `image ${im.id} config`);
      verify(im.manifest_digest, im.manifest_size, `image ${im.id} manifest`);
      referenced.add(im.id).add(im.manifest_digest);
      const m = JSON.parse(readFileSync(join(blobDir, im.manifest_digest.slice(7)), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
      assert.equal(m.config.digest, im.id);
      const ls = layers.filter((l) => l.image_id === im.id);
      assert.deepEqual(ls.map((l) => l.blob_digest).sort(), m.layers.map((l) => l.digest).sort(), `image ${im.id}: layer records match its manifest`);
    }
    for (const l of layers) {
      // A layer's blob is in the store, or it is an uncompressed tar re-emitted from the
      // layer's files by its tar-split record, which is then in the store.
      if (present.has(l.blob_digest) || l.blob_digest !== l.diff_id || l.tar_split === null) {
        verify(l.blob_digest, l.size, `layer of ${l.image_id}`);
        referenced.add(l.blob_digest);
      }
      if (l.tar_split !== null) {
        assert.ok(present.has(l.tar_split), `layer of ${l.image_id}: its tar-split ${l.tar_split} is in the content store`);
        referenced.add(l.tar_split);
      }
    }
    assert.deepEqual([...present].filter((d) => !referenced.has(d)), [], 'no unreferenced blob in the content store');
    const orphanBlobs = db.prepare('SELECT blob_digest FROM layer_blobs WHERE blob_digest NOT IN (SELECT blob_digest FROM image_layers)').all();
    assert.deepEqual(orphanBlobs, [], 'no layer blob record without an image');
    const orphanLayers = db.prepare('SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)').all();
    assert.deepEqual(orphanLayers, [], 'no layer record without an image');
    const tags = new Map((db.prepare('SELECT name, image_id FROM tags').all() as Array<{ name: string; image_id: string }>).map((t) => [t.name, t.image_id]));
    const ids = new Set(images.map((i) => i.id));
    for (const [t, id] of tags) assert.ok(ids.has(id), `tag ${t} points at an existing image`);
    // Unpacked layers: one committed snapshot per chainID an image uses, nothing else.
    const snaps = db.prepare('SELECT id, key, kind, driver FROM snapshots').all() as Array<{ id: number; key: string; kind: string; driver: string }>;
    assert.deepEqual(snaps.filter((x) => x.kind !== 'committed'), [], 'no active snapshot outlives its process');
    const chains = new Set((db.prepare('SELECT DISTINCT chain_id FROM image_layers').all() as Array<{ chain_id: string }>).map((r) => r.chain_id));
    assert.deepEqual(new Set(snaps.map((x) => x.key)), chains, 'a committed snapshot for every layer of every image, and no other');
    for (const driver of existsSync(join(root, 'snapshots')) ? readdirSync(join(root, 'snapshots')) : []) {
      const want = snaps.filter((x) => x.driver === driver).map((x) => String(x.id)).sort();
      assert.deepEqual(readdirSync(join(root, 'snapshots', driver)).sort(), want, `snapshots/${driver} holds exactly the recorded snapshots`);
    }
    assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'ingest area is empty');
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'scratch area is empty');
    return { images: ids, tags };
  } finally {
    db.close();
  }
}

const tag = (name: string) => `docker.io/library/${name.includes(':') ? name : `${name}:latest`}`;

test('eight processes at once, for several rounds, never corrupt the store', async () => {
  const root = join(dir.path, 'root'); // does not exist yet: the first round creates it, eight times at once
  const tars: Buffer[][] = [];
  const ROUNDS = 5;
  for (let r = 0; r < ROUNDS; r++) {
    tars.push([await rootfs(r * 10 + 1), await rootfs(r * 10 + 2)]);
    await file(`a${r}.tar`, tars[r]![0]!);
    await file(`b${r}.tar`, tars[r]![1]!);
  }
  const expect = {
    ida: [] as string[],
    idb: [] as string[],
    ids: [] as string[],
    both: [] as string[],
    untagged: '',
    hot: [] as string[],
  };
  // Round 0: a fresh root; the same archive twice, imports, every archive kind.
  const r0 = await runAll(root, [
    { args: ['import', files['a0.tar']!, 'both:0'] },
    { args: ['import', files['b0.tar']!, 'both:0'] },
    { args: ['import', files['solo.tar']!, 'shared:0'] },
    { args: ['load', '-i', files['A1.tar']!] },
    { args: ['load', '-i', files['A1.tar']!] },
    { args: ['load', '-i', files['A2.tar']!] },
    { args: ['load', '-i', files['A3.tar']!] },
    { args: ['import', '-m', 'untagged', files['S.tar']!] },
  ]);
  expect.ida.push(idOf(r0[0]!));
  expect.idb.push(idOf(r0[1]!));
  expect.ids.push(idOf(r0[2]!));
  expect.untagged = idOf(r0[7]!);
  for (const i of [3, 4]) assert.match(r0[i]!.stdout, /^Loaded image: arch1:latest$/m);
  assert.match(r0[5]!.stdout, /^Loaded image: arch2:latest$/m);
  assert.match(r0[6]!.stdout, /^Loaded image: arch3:latest$/m);
  let view = checkStore(root);
  assert.ok([expect.ida[0], expect.idb[0]].includes(view.tags.get(tag('both:0'))!));
  expect.both.push(view.tags.get(tag('both:0'))!);
  assert.equal(view.tags.get(tag('arch1')), A1ID);

  for (let r = 1; r < ROUNDS; r++) {
    const p = r - 1;
    const res = await runAll(root, [
      { args: ['import', files[`a${r}.tar`]!, `both:${r}`] },
      { args: ['import', files[`b${r}.tar`]!, `both:${r}`] },
      { args: ['import', files['solo.tar']!, `shared:${r}`] },
      { args: ['load', '-i', files['A1.tar']!] },
      { args: ['load', '-i', files['A2.tar']!] },
      { args: ['tag', `both:${p}`, 'hot:1'] },
      { args: ['tag', expect.idb[p]!, 'hot:1'] },
      // arch1 may be gone already (the previous round's rmi ran after its load) and not back yet.
      { args: ['rmi', `shared:${p}`, 'arch1'], mayFail: 'Error: No such image: arch1\n' },
    ]);
    expect.ida.push(idOf(res[0]!));
    expect.idb.push(idOf(res[1]!));
    expect.ids.push(idOf(res[2]!));
    assert.match(res[7]!.stdout, new RegExp(`^Untagged: shared:${p}\\nDeleted: ${expect.ids[p]}\\n`));
    view = checkStore(root);
    const both = view.tags.get(tag(`both:${r}`))!;
    assert.ok([expect.ida[r], expect.idb[r]].includes(both), `both:${r} is one of the two imports`);
    expect.both.push(both);
    const hot = view.tags.get(tag('hot:1'));
    assert.ok(hot !== undefined && [expect.both[p], expect.idb[p]].includes(hot), `hot:1 is one of the two tagged in round ${r}`);
    expect.hot.push(hot!);
    // What the operations imply: every import, the last shared:N, arch2 and arch3, the untagged
    // import; arch1 when its load ran after the rmi.
    const arch1 = view.tags.get(tag('arch1'));
    const want = new Set([...expect.ida, ...expect.idb, expect.ids[r]!, A2ID, A3ID, expect.untagged, ...(arch1 ? [A1ID] : [])]);
    assert.deepEqual([...view.images].sort(), [...want].sort(), `round ${r}: the images are exactly those the operations imply`);
    const wantTags = new Map<string, string>([
      ...expect.both.map((id, i) => [tag(`both:${i}`), id] as [string, string]),
      [tag(`shared:${r}`), expect.ids[r]!],
      [tag('arch2'), A2ID],
      [tag('arch3'), A3ID],
      [tag('hot:1'), hot!],
      ...(arch1 ? [[tag('arch1'), A1ID] as [string, string]] : []),
    ]);
    assert.deepEqual(new Map([...view.tags].sort()), new Map([...wantTags].sort()), `round ${r}: the tags are exactly those the operations imply`);
  }

  // The CLI agrees, and everything in the store can be saved and loaded elsewhere.
  const listed = (await cairnOk(root, ['images', '-a', '-q', '--no-trunc'])).stdout.trim().split('\n');
  assert.deepEqual(new Set(listed), view.images);
  const all = join(dir.path, 'all.tar');
  await cairnOk(root, ['save', '-o', all, ...[...view.tags.keys()]]);
  const other = join(dir.path, 'other');
  await cairnOk(other, ['load', '-i', all]);
  assert.deepEqual(checkStore(other).tags, view.tags);
});

test('concurrent rmi and tag of the same image: one clean outcome', async () => {
  const root = join(dir.path, 'root-rmi');
  const id = idOf(await cairnOk(root, ['import', files['S.tar']!, 'victim:1']));
  for (let round = 0; round < 3; round++) {
    await cairnOk(root, ['tag', id, `victim:${round + 2}`]);
    // Four rmis of the same name race: exactly one removes it, the others find nothing.
    const rs = await runAll(root, [
      ...Array.from({ length: 4 }, () => ({ args: ['rmi', `victim:${round + 2}`], mayFail: `Error: No such image: victim:${round + 2}\n` })),
      ...Array.from({ length: 4 }, (_, i) => ({ args: ['tag', 'victim:1', `copy${round}:${i}`] })),
    ]);
    assert.equal(rs.slice(0, 4).filter((r) => r.code === 0).length, 1, 'exactly one rmi untagged it');
    const view = checkStore(root);
    assert.deepEqual([...view.images], [id]);
    assert.ok(!view.tags.has(tag(`victim:${round + 2}`)));
    for (let i = 0; i < 4; i++) assert.equal(view.tags.get(tag(`copy${round}:${i}`)), id);
  }
  // Every name removed at once: the image goes exactly once, its blobs with it.
  const names = ['victim:1', ...[0, 1, 2].flatMap((r) => [0, 1, 2, 3].map((i) => `copy${r}:${i}`))];
  const rs = await runAll(root, names.slice(0, 8).map((n) => ({ args: ['rmi', n] })));
  assert.ok(rs.every((r) => r.code === 0));
  await cairnOk(root, ['rmi', ...names.slice(8)]);
  const view = checkStore(root);
  assert.equal(view.images.size, 0);
  assert.deepEqual(readdirSync(join(root, 'content', 'blobs', 'sha256')), []);
});

// --- a killed load ------------------------------------------------------------------------------

/** A legacy docker-archive with one ~100 MB layer, streamed to disk (config first, layer, manifest last). */
async function bigArchive(path: string): Promise<{ diffId: string }> {
  const SIZE = 100 * 1024 * 1024;
  const content = randomBytesSeeded(SIZE, 1234);
  const layerTar = await tarBytes((tar) => tar.add({ name: 'big.bin', size: SIZE, mtime: 0 }, content));
  const diffId = sha(layerTar);
  const archive = await makeDockerArchive([{ layers: [layerTar], repoTags: ['big:1'] }]);
  const out = createWriteStream(path);
  out.end(archive);
  await once(out, 'finish');
  return { diffId };
}

let bigFile: string | undefined;

/**
 * SIGKILL a `cairn load` of a ~100 MB image once `caught()` says it is where the test wants it.
 * `pipe`: the archive comes on stdin (so its layer is teed into an ingest file as it streams;
 * from `-i FILE` an uncompressed layer is not copied, it can be read again).
 */
async function killLoad(root: string, caught: () => number, what: string, pipe = false): Promise<void> {
  bigFile ??= join(dir.path, 'big.tar');
  if (!existsSync(bigFile)) await bigArchive(bigFile);
  const child = spawn(process.execPath, [CAIRN, '--root', root, 'load', ...(pipe ? [] : ['-i', bigFile])], { stdio: [pipe ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  if (pipe) {
    const input = createReadStream(bigFile);
    input.pipe(child.stdin!);
    child.stdin!.on('error', () => undefined); // EPIPE once the child is killed
  }
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 60_000;
  let at = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    at = caught();
    if (at > 0) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const [code, signal] = (await exited) as [number | null, string | null];
  assert.ok(at > 0, `the load was caught ${what} (exit ${code}: ${stderr})`);
  assert.equal(signal, 'SIGKILL', `killed, not finished (exit ${code})`);
}

/** After the kill: nothing of it is listed, the next command cleans up, the same load then works. */
async function afterKill(root: string, blobsBefore: Map<string, string>): Promise<void> {
  const images = (await cairnOk(root, ['images', '-a', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n');
  assert.deepEqual(images, ['keep:1']);
  checkStore(root);
  assert.deepEqual(snapshotTree(join(root, 'content', 'blobs')), blobsBefore, 'nothing of the killed load stays in the content store');
  const r = await cairnOk(root, ['load', '-i', bigFile!]);
  assert.match(r.stdout, /^Loaded image: big:1$/m);
  assert.equal(checkStore(root).images.size, 2);
  await cairnOk(root, ['rmi', 'big:1']);
  assert.equal(checkStore(root).images.size, 1);
  assert.deepEqual(snapshotTree(join(root, 'content', 'blobs')), blobsBefore);
}

test('a load from a pipe killed while writing its layer leaves no image, and the next command cleans up', async () => {
  const root = join(dir.path, 'root-kill');
  await cairnOk(root, ['import', files['S.tar']!, 'keep:1']);
  const blobsBefore = snapshotTree(join(root, 'content', 'blobs'));
  const ingest = join(root, 'content', 'ingest');
  let size = 0;
  await killLoad(
    root,
    () => {
      const sizes = readdirSync(ingest).map((n) => statSync(join(ingest, n), { throwIfNoEntry: false })?.size ?? 0);
      size = Math.max(0, ...sizes);
      return size > 8 * 1024 * 1024 ? size : 0;
    },
    'writing its layer',
    true,
  );
  assert.ok(size < 100 * 1024 * 1024, 'killed before the layer was complete');
  assert.notDeepEqual(readdirSync(ingest), [], 'the killed load left its ingest file');
  await afterKill(root, blobsBefore);
});

test('a load killed while unpacking its layer leaves no image, and the next command cleans up', async () => {
  const root = join(dir.path, 'root-kill-unpack');
  await cairnOk(root, ['import', files['S.tar']!, 'keep:1']);
  const blobsBefore = snapshotTree(join(root, 'content', 'blobs'));
  const snapRoot = join(root, 'snapshots');
  const driver = readdirSync(snapRoot)[0]!;
  const existing = new Set(readdirSync(join(snapRoot, driver)));
  // The extraction's snapshot is a new directory; kill once it holds part of the big file.
  await killLoad(
    root,
    () => {
      for (const id of readdirSync(join(snapRoot, driver))) {
        if (existing.has(id)) continue;
        for (const sub of ['fs', '']) {
          const f = statSync(join(snapRoot, driver, id, sub, 'big.bin'), { throwIfNoEntry: false });
          if (f && f.size > 0) return f.size;
        }
      }
      return 0;
    },
    'unpacking its layer',
  );
  await afterKill(root, blobsBefore);
});
