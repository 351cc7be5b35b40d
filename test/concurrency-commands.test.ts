/**
 * Every kind of cairn command at once on one root (issue 15, point 5), beyond the store's
 * basics that concurrency.test.ts races (imports, loads, tags, rmis): in each round eight
 * processes start together — a load, a pull from a loopback registry, a build (COPY and RUN on
 * the shared base), a `run --rm`, a container run, committed and removed, an rmi of an image made
 * for it, prunes in a loop and readers (images, inspect, ps, system df) in a loop — every one
 * succeeds with its own right result (what it loaded, pulled, built or committed is there and
 * whole: inspect, save, a container run from it; what it removed is gone), and afterwards the
 * store holds exactly what the commands imply, `system check` is clean and nothing is left
 * half-made (leases, ingests, scratch, containers, mounts).
 *
 * And readers never wait for a writer: with the store's write lock held by another connection
 * (the longest writer there can be), and during a load kept mid-layer by the test (its archive
 * fed on stdin, the rest held back), images, inspect, ps and system df finish — while the
 * writer is known to be still at work, so no clock is read.
 *
 * CAIRN_CONCURRENCY_ROUNDS (default 3) and CAIRN_CONCURRENCY_WIDTH (default 1: one process of
 * each kind, eight at once) make the longer run of scripts/concurrency.mjs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import { CAIRN, busyboxRunTar, cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder, type RunResult } from './helpers.js';
import { startRegistry, type Registry } from './registry.js';

const ROUNDS = Number(process.env.CAIRN_CONCURRENCY_ROUNDS ?? 3);
const WIDTH = Number(process.env.CAIRN_CONCURRENCY_WIDTH ?? 1);

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let reg: Registry | undefined;
let root = '';
let B: Buffer; // the base layer every image here stands on
let baseId = '';
const MOTD = 'from the image\n';

/** One layer of its own for image `name`. */
function ownLayer(name: string, seed: number): Promise<Buffer> {
  return makeTar([{ path: 'conc/', type: 'dir' }, { path: `conc/${name}`, content: randomBytesSeeded(24 * 1024 + seed, seed) }]);
}

/** Everything a round's processes use, made before it starts. */
interface Slot {
  r: number;
  w: number;
  /** `load`: its archive, its tag, its own layer's diffID. */
  loadFile: string;
  loadTag: string;
  loadDiff: string;
  /** `pull`: the reference and its own layer's diffID. */
  pullRef: string;
  pullDiff: string;
  /** `build`: its context and what its RUN writes. */
  buildCtx: string;
  buildTag: string;
  ran: string;
  /** `rmi`: an image loaded for it, and its ID. */
  victimTag: string;
  victimId: string;
}
/** Per round: an archive of images labelled for the prunes (`image prune -a` by label), loaded just before it. */
const prunables: Array<{ file: string; tags: string[] }> = [];
const PRUNABLE = 'conc.prunable=1';
const slots: Slot[][] = [];

function docs(r: RunResult): Array<{ Id: string; RepoTags: string[]; RepoDigests: string[]; RootFS: { Layers: string[] } }> {
  return JSON.parse(r.stdout) as Array<{ Id: string; RepoTags: string[]; RepoDigests: string[]; RootFS: { Layers: string[] } }>;
}

before(async () => {
  dir = await tempDir('cairn-concurrency-commands-');
  root = join(dir.path, 'root');
  B = await busyboxRunTar();
  const scratch = join(dir.path, 'scratch');
  reg = await startRegistry(join(dir.path, 'registry'));
  writeFileSync(join(dir.path, 'base.tar'), B);
  baseId = (await cairnOk(root, ['import', join(dir.path, 'base.tar'), 'cbase:1'])).stdout.trim();
  const victims = [];
  const pulls = [];
  const labelled = { config: { Cmd: ['sh'], Labels: { 'conc.prunable': '1' } } };
  let seed = 1;
  for (let r = 0; r < ROUNDS; r++) {
    const row: Slot[] = [];
    for (let w = 0; w < WIDTH; w++) {
      const id = `${r}-${w}`;
      const L = await ownLayer(`load-${id}`, seed++);
      const loadFile = join(dir.path, `load-${id}.tar`);
      writeFileSync(loadFile, await makeDockerArchive([{ layers: [B, L], repoTags: [`cload-${id}:1`] }]));
      const P = await ownLayer(`pull-${id}`, seed++);
      pulls.push({ layers: [B, P], repoTags: [`${reg.host}/conc/pull-${w}:${r}`] });
      const V = await ownLayer(`victim-${id}`, seed++);
      victims.push({ layers: [B, V], repoTags: [`cvictim-${id}:1`] });
      const buildCtx = join(dir.path, `ctx-${id}`);
      mkdirSync(buildCtx);
      writeFileSync(join(buildCtx, 'stamp'), `stamp ${id}\n`);
      writeFileSync(join(buildCtx, 'Dockerfile'), `FROM cbase:1\nCOPY stamp /stamp\nRUN cat /stamp > /ran && echo built ${id} >> /ran\n`);
      row.push({
        r,
        w,
        loadFile,
        loadTag: `cload-${id}:1`,
        loadDiff: sha(L),
        pullRef: `${reg.host}/conc/pull-${w}:${r}`,
        pullDiff: sha(P),
        buildCtx,
        buildTag: `cbuilt-${w}:latest`,
        ran: `stamp ${id}\nbuilt ${id}\n`,
        victimTag: `cvictim-${id}:1`,
        victimId: '',
      });
    }
    slots.push(row);
    const ps = await Promise.all(row.map(async (s) => ({ layers: [B, await ownLayer(`prunable-${s.r}-${s.w}`, seed++)], repoTags: [`cprunable-${s.r}-${s.w}:1`], config: labelled })));
    const file = join(dir.path, `prunable-${r}.tar`);
    writeFileSync(file, await makeDockerArchive(ps));
    prunables.push({ file, tags: ps.map((p) => p.repoTags[0]!) });
  }
  // the pulled images go up from another store; the victims are loaded into the test's
  writeFileSync(join(dir.path, 'pulls.tar'), await makeDockerArchive(pulls));
  await cairnOk(scratch, ['load', '-q', '-i', join(dir.path, 'pulls.tar')]);
  for (const p of pulls) await cairnOk(scratch, ['push', '-q', p.repoTags[0]!]);
  writeFileSync(join(dir.path, 'victims.tar'), await makeDockerArchive(victims));
  await cairnOk(root, ['load', '-q', '-i', join(dir.path, 'victims.tar')]);
  const ids = docs(await cairnOk(root, ['inspect', ...slots.flat().map((s) => s.victimTag)]));
  slots.flat().forEach((s, i) => (s.victimId = ids[i]!.Id));
});

after(async () => {
  if (root !== '' && existsSync(join(root, 'metadata.db'))) {
    // whatever a failure left: containers (their conmon and mounts with them), then any mount
    const left = await cairn(root, ['ps', '-a', '-q', '--no-trunc']);
    const ids = left.stdout.split('\n').filter((l) => l !== '');
    if (ids.length > 0) await cairn(root, ['rm', '-f', ...ids]);
  }
  if (dir) unmountUnder(dir.path);
  await reg?.stop();
  await dir?.cleanup();
});

/** `cairn ARGS`, which must succeed: its result, or a failure naming the command. */
async function ok(args: string[]): Promise<RunResult> {
  const r = await cairn(root, args);
  assert.equal(r.code, 0, `cairn ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Containers a prune took between their run's create and start (see runRaced). */
let raced = 0;

/**
 * `cairn run ARGS` (with `--name NAME-N` when `name` is given), which must succeed — except for
 * the one race a prune legitimately wins, as Docker's does: `system prune` removes every container
 * that does not run, and a run's container does not run between its create and its start. That run
 * then fails with exit 125 and exactly one of the two messages of a start that finds its container
 * being removed or gone; it is run again under a new name (what it left is the prune's to remove,
 * and the round's end checks no container is left).
 */
async function runRaced(args: string[], name?: string): Promise<RunResult> {
  for (let attempt = 0; ; attempt++) {
    const n = name === undefined ? [] : ['--name', `${name}-${attempt}`];
    const r = await cairn(root, ['run', ...n, ...args]);
    if (r.code === 0) return r;
    const allowed = /^cairn: Error: (container \S+ is already running or being removed|No such container: \S+)\.?\n*$/;
    assert.ok(r.code === 125 && allowed.test(r.stderr) && attempt < 20, `cairn run ${[...n, ...args].join(' ')} exited ${r.code}: ${r.stderr}`);
    raced++;
  }
}

/** The image `name` is there and whole: its layers as expected, and `save` re-emits every one (checked against its diffID). */
async function whole(name: string, layers: (got: string[]) => void): Promise<string> {
  const [doc] = docs(await ok(['inspect', name]));
  layers(doc!.RootFS.Layers);
  const out = join(dir.path, `saved-${name.replace(/[/:]/g, '_')}.tar`);
  await ok(['save', '-o', out, name]);
  const listing = spawnSync('tar', ['-tf', out], { encoding: 'utf8' });
  assert.equal(listing.status, 0, `tar -tf ${out}: ${listing.stderr}`);
  assert.ok(listing.stdout.split('\n').includes('manifest.json'), `the archive of ${name} has its manifest`);
  return doc!.Id;
}

/** The readers: each must succeed and see the base image. */
async function readers(): Promise<void> {
  const [images, inspect, ps, df] = await Promise.all([
    ok(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--no-trunc']),
    ok(['inspect', 'cbase:1']),
    ok(['ps', '-a']),
    ok(['system', 'df']),
  ]);
  assert.ok(images.stdout.split('\n').includes(`cbase:1 ${baseId}`), `images lists the base: ${images.stdout}`);
  assert.equal(docs(inspect)[0]!.Id, baseId);
  assert.match(ps.stdout, /^CONTAINER ID {3}IMAGE /);
  assert.match(df.stdout, /^TYPE {15}TOTAL {5}ACTIVE/);
}

/** Wait for every one of `ps` (none runs on unobserved), then fail with the first failure if any. */
async function allDone<T extends unknown[]>(ps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const rs = await Promise.allSettled(ps);
  for (const x of rs) if (x.status === 'rejected') throw x.reason;
  return rs.map((x) => (x as PromiseFulfilledResult<unknown>).value) as T;
}

/** Run `body` in a loop until `done` resolves (at least once). */
async function loopUntil(done: Promise<unknown>, body: () => Promise<void>): Promise<number> {
  let over = false;
  void done.finally(() => (over = true)).catch(() => undefined);
  let n = 0;
  do {
    await body();
    n++;
  } while (!over);
  return n;
}

/** What one round's slot of each kind did: the image IDs it made. */
interface Made {
  load: string;
  pull: string;
  build: string;
  commit: string;
}

async function slotWork(s: Slot): Promise<Made> {
  const id = `${s.r}-${s.w}`;
  const [load, pull, build, commit] = await allDone<[string, string, string, string, string]>([
    (async () => {
      const r = await ok(['load', '-i', s.loadFile]);
      assert.match(r.stdout, new RegExp(`^Loaded image: ${s.loadTag}$`, 'm'));
      return whole(s.loadTag, (l) => assert.deepEqual(l, [sha(B), s.loadDiff]));
    })(),
    (async () => {
      await ok(['pull', '-q', s.pullRef]);
      return whole(s.pullRef, (l) => assert.deepEqual(l, [sha(B), s.pullDiff]));
    })(),
    (async () => {
      await ok(['build', '--network', 'none', '-q', '-t', s.buildTag, s.buildCtx]);
      const got = await whole(s.buildTag, (l) => {
        assert.equal(l.length, 3, 'the base, COPY and RUN');
        assert.equal(l[0], sha(B));
      });
      // run from the built image: what COPY and RUN made is in it
      assert.equal((await runRaced(['--rm', got, 'cat', '/ran'])).stdout, s.ran);
      return got;
    })(),
    (async () => {
      // run --rm: its output, and it is gone
      const name = `crm-${id}`;
      assert.equal((await runRaced(['--rm', 'cbase:1', 'sh', '-c', `cat /etc/motd; echo ran ${id}`], name)).stdout, `${MOTD}ran ${id}\n`);
      assert.equal((await ok(['ps', '-a', '-q', '--filter', `name=${name}`])).stdout, '');
      // a container kept running (a prune leaves it alone) while it is committed, then removed
      const c = (await runRaced(['-d', 'cbase:1', 'sh', '-c', `echo ${id} > /committed; rm /etc/motd; exec sleep 600`], `ccommit-${id}`)).stdout.trim();
      for (;;) {
        const d = await ok(['diff', c]);
        if (d.stdout.includes('A /committed')) break;
        await new Promise((res) => setTimeout(res, 50));
      }
      await ok(['commit', c, `ccommitted-${s.w}:${s.r}`]);
      await ok(['rm', '-f', c]);
      assert.equal((await ok(['ps', '-a', '-q', '--no-trunc', '--filter', `id=${c}`])).stdout, '');
      const got = await whole(`ccommitted-${s.w}:${s.r}`, (l) => {
        assert.equal(l.length, 2, 'the base and the container\'s layer');
        assert.equal(l[0], sha(B));
      });
      assert.equal((await runRaced(['--rm', got, 'sh', '-c', 'cat /committed; ls /etc/motd 2>&1 || true'])).stdout, `${id}\nls: /etc/motd: No such file or directory\n`);
      return got;
    })(),
    (async () => {
      const r = await ok(['rmi', s.victimTag]);
      assert.match(r.stdout, new RegExp(`^Untagged: ${s.victimTag}\\nDeleted: ${s.victimId}\\n`));
      const gone = await cairn(root, ['inspect', s.victimTag]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, new RegExp(`No such (image|object): ${s.victimTag}`));
    })().then(() => ''),
  ]);
  return { load, pull, build, commit };
}

/** The store's own bookkeeping: nothing half-made. */
function nothingHalfMade(): void {
  const db = new Database(join(root, 'metadata.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    assert.deepEqual(db.prepare('SELECT * FROM leases').all(), [], 'no lease outlives its process');
    assert.deepEqual(db.prepare("SELECT key FROM snapshots WHERE kind != 'committed'").all(), [], 'no active snapshot or view without its container');
  } finally {
    db.close();
  }
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'ingest area is empty');
  assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'scratch area is empty');
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => (l.split(' ')[1] ?? '').startsWith(root));
  assert.deepEqual(mounts, [], 'nothing mounted under the root');
}

test(`${8 * WIDTH} processes at once, every kind of command, ${ROUNDS} rounds: each finishes with its result, and system check is clean`, async (t) => {
  const made: Made[] = [];
  const builtBefore = new Map<number, string[]>(); // per width: images cbuilt-w named in earlier rounds
  for (let r = 0; r < ROUNDS; r++) {
    // every process ends before the round is judged, a failed one too (nothing runs on into the cleanup)
    const work = allDone<Made[]>(slots[r]!.map(slotWork));
    const settled = work.then(() => undefined, () => undefined);
    // images only the prunes remove: they share the base layer with everything the round makes
    await ok(['load', '-q', '-i', prunables[r]!.file]);
    const labelled = (await ok(['images', '--filter', `label=${PRUNABLE}`, '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter((l) => l !== '');
    assert.deepEqual(labelled.sort(), [...prunables[r]!.tags].sort());
    const prune = async (): Promise<void> => {
      // stopped containers (a run --rm's may be one as it ends: both remove it), dangling images
      // (an earlier build whose tag moved), unused build cache; then every image with the label
      assert.match((await ok(['system', 'prune', '-f'])).stdout, /^Total reclaimed space: /m);
      assert.match((await ok(['image', 'prune', '-af', '--filter', `label=${PRUNABLE}`])).stdout, /^Total reclaimed space: /m);
    };
    const loops = Array.from({ length: WIDTH }, () => [loopUntil(settled, readers), loopUntil(settled, prune)]).flat();
    const [results] = await allDone<[Made[], ...number[]]>([work, ...loops]);
    made.push(...results);
    // the store holds exactly what the commands imply: the base, the victims not yet removed,
    // every image loaded, pulled and committed, the last build of each width; an earlier
    // build of a width lost its tag to the next and is dangling, unless a prune took it
    const listed = new Set((await ok(['images', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter((l) => l !== ''));
    const want = new Set([baseId, ...slots.slice(r + 1).flat().map((s) => s.victimId), ...made.flatMap((m) => [m.load, m.pull, m.commit]), ...results.map((m) => m.build)]);
    for (const [w, olds] of builtBefore) for (const old of olds) if (old !== results[w]!.build && listed.has(old)) want.add(old);
    assert.deepEqual([...listed].sort(), [...want].sort(), `round ${r}: the images are those the commands imply`);
    results.forEach((m, w) => builtBefore.set(w, [...(builtBefore.get(w) ?? []), m.build]));
    assert.equal((await ok(['images', '-q', '--filter', `label=${PRUNABLE}`])).stdout, '', 'the prunes removed the labelled images');
    const tags = (await ok(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.split('\n').filter((l) => l !== '' && l.startsWith('cbuilt-'));
    assert.deepEqual(tags.sort(), slots[r]!.map((s) => s.buildTag).sort(), 'each width\'s build tag is on its last build');
    assert.equal((await ok(['ps', '-a', '-q'])).stdout, '', 'no container is left');
    nothingHalfMade();
  }
  // one more prune alone: the dangling builds go; then the store checks clean
  await ok(['image', 'prune', '-f']);
  const listed = new Set((await ok(['images', '-a', '-q', '--no-trunc'])).stdout.split('\n').filter((l) => l !== ''));
  assert.deepEqual([...listed].sort(), [baseId, ...made.flatMap((m) => [m.load, m.pull, m.commit]), ...slots[ROUNDS - 1]!.map((_, w) => made[(ROUNDS - 1) * WIDTH + w]!.build)].sort());
  const check = await cairn(root, ['system', 'check']);
  assert.equal(check.code, 0, `system check: ${check.stdout}${check.stderr}`);
  nothingHalfMade();
  t.diagnostic(`runs whose container a prune took before it started (run again): ${raced}`);
});

/** Readers while the store's write lock is held by another connection and while a load is kept mid-layer. */
test('readers never wait for a writer: images, inspect, ps and system df finish while a writer is known to be still at work', async () => {
  // a running container and an exited one (an init layer whose usage system df has not measured yet)
  const live = `clive-${process.pid}`;
  await ok(['run', '-d', '--name', live, 'cbase:1', 'sleep', '600']);
  await ok(['run', '--name', `cdone-${process.pid}`, 'cbase:1', 'true']);
  try {
    // 1. the write lock held (BEGIN IMMEDIATE) by this process's connection until the readers are done:
    // a reader that asked for it would wait out its busy timeout and fail with "database is locked"
    const holder = new Database(join(root, 'metadata.db'));
    holder.prepare('BEGIN IMMEDIATE').run();
    try {
      await readers();
      const ps = await ok(['ps', '--format', '{{.Names}} {{.Status}}']);
      assert.match(ps.stdout, new RegExp(`^${live} Up `, 'm'));
      assert.match((await ok(['system', 'df'])).stdout, /^Containers {9}2 {9}1 /m);
    } finally {
      holder.prepare('COMMIT').run();
      holder.close();
    }

    // 2. a load of a larger archive from stdin, fed until it is writing its layer, then held there
    const layer = await makeTar([{ path: 'big.bin', content: randomBytesSeeded(48 * 1024 * 1024, 77) }]);
    const archive = await makeDockerArchive([{ layers: [B, layer], repoTags: ['cbig:1'] }]);
    const child = spawn(process.execPath, [CAIRN, '--', '--root', root, 'load'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = once(child, 'exit');
    const half = archive.length - 16 * 1024 * 1024;
    child.stdin.write(archive.subarray(0, half));
    const ingest = join(root, 'content', 'ingest');
    const writing = (): boolean => readdirSync(ingest).some((n) => (statSync(join(ingest, n), { throwIfNoEntry: false })?.size ?? 0) > 8 * 1024 * 1024);
    while (!writing()) {
      assert.equal(child.exitCode, null, `the load is at work (exited: ${err})`);
      await new Promise((res) => setTimeout(res, 20));
    }
    for (let i = 0; i < 3; i++) {
      await readers();
      const images = (await ok(['images', '--format', '{{.Repository}}'])).stdout.split('\n');
      assert.ok(!images.includes('cbig'), 'the load has not recorded its image');
      assert.equal(child.exitCode, null, 'the load is still at work: the readers did not wait for it');
    }
    // a writer does not wait for it either: the load holds no lock while it works
    await ok(['tag', 'cbase:1', 'cbase:during']);
    await ok(['rmi', 'cbase:during']);
    assert.equal(child.exitCode, null);
    child.stdin.end(archive.subarray(half));
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, `load: ${err}`);
    assert.match(out, /^Loaded image: cbig:1$/m);
    await whole('cbig:1', (l) => assert.deepEqual(l, [sha(B), sha(layer)]));
    await ok(['rmi', 'cbig:1']);
  } finally {
    await cairn(root, ['rm', '-f', live, `cdone-${process.pid}`]);
  }
  assert.equal((await ok(['ps', '-a', '-q'])).stdout, '');
  const check = await cairn(root, ['system', 'check']);
  assert.equal(check.code, 0, `system check: ${check.stdout}${check.stderr}`);
  nothingHalfMade();
});

test('two removals of one container at once (a prune beside a run --rm ending): one removes it, the other finds it gone, neither fails', async () => {
  const { Store } = await import('../src/store/store.js');
  const { removeContainer } = await import('../src/container/lifecycle.js');
  const { containerFiles } = await import('../src/container/files.js');
  for (let i = 0; i < 3; i++) {
    const id = (await ok(['create', 'cbase:1', 'true'])).stdout.trim();
    const store = await Store.open({ root });
    try {
      const sn = await store.snapshots();
      const snapshot = (store.db.prepare('SELECT snapshot FROM containers WHERE id = ?').pluck().get(id) as string);
      assert.equal((await sn.stat(snapshot)).kind, 'active');
      const both = await Promise.all([removeContainer(store, id, { measure: true }), removeContainer(store, id, { measure: true })]);
      assert.equal(both.filter((r) => r === undefined).length, 1, 'one found it removed by the other');
      assert.equal(both.find((r) => r !== undefined)?.id, id);
      await assert.rejects(sn.stat(snapshot), /not found/);
      assert.ok(!existsSync(containerFiles(root, id).dir));
    } finally {
      store.close();
    }
  }
  assert.equal((await ok(['ps', '-a', '-q'])).stdout, '');
});
