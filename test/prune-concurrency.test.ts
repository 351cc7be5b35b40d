/**
 * Prune against work in flight (issue 15, point 2): one process loop loads archives and builds
 * images through the real CLI while another runs `system prune -af` over and over on the same
 * root. The images the loop reports carry the label pin=1, which the prune's `label!=pin=1`
 * filter keeps; everything else the loop makes — an unlabelled image in each archive, each
 * build's cache and its first stage's layer — is the prune's to take, so the collector runs
 * again and again beside the loads and builds. What a load or a build has written so far is
 * leased until its image is recorded, so every load and build succeeds, and at the end every
 * image the loop reported is present and complete (inspected and saved: save re-emits each
 * layer from its files, checked against its diffID); a last prune without the filter then
 * leaves an empty store: no blob, snapshot, lease or cache entry that nothing reaches.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { cairn, cairnOk, makeDockerArchive, makeTar, randomBytesSeeded, tempDir, unmountUnder } from './helpers.js';

let dir: { path: string; cleanup: () => Promise<void> };
let root = '';

before(async () => {
  dir = await tempDir('cairn-prune-race-');
  root = join(dir.path, 'root');
});
after(async () => {
  const ids = (await cairn(root, ['ps', '-aq'])).stdout.split('\n').filter((l) => l !== '');
  if (ids.length > 0) await cairn(root, ['rm', '-f', ...ids]);
  unmountUnder(dir.path);
  await dir.cleanup();
});

const ROUNDS = 6;
const KEEP = 'pin=1';

test('system prune -af in a loop never takes what a concurrent load or build is writing', async () => {
  const labels = { config: { Cmd: ['sh'], Labels: { pin: '1' } } };
  const base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/base', content: randomBytesSeeded(400_000, 1) }]);
  await cairnOk(root, ['load'], { input: await makeDockerArchive([{ layers: [base], repoTags: ['race/base:1'], config: labels }]) });
  const archives: string[] = [];
  const contexts: string[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const archive = join(dir.path, `load${i}.tar`);
    const unique = (seed: number, size: number) => makeTar([{ path: `l${seed}`, content: randomBytesSeeded(size, seed) }]);
    writeFileSync(
      archive,
      await makeDockerArchive([
        { layers: [base, await unique(100 + i, 1 << 20)], repoTags: [`race/load:${i}`], config: labels },
        { layers: [base, await unique(300 + i, 300_000)], repoTags: [`race/junk:${i}`] },
      ]),
    );
    archives.push(archive);
    const ctx = join(dir.path, `ctx${i}`);
    mkdirSync(ctx);
    // the first stage's layer is in no image: dangling cache, the prune's to take
    writeFileSync(join(ctx, 'Dockerfile'), `FROM race/base:1 AS stage\nCOPY big /big${i}\nFROM race/base:1\nCOPY f /f${i}\nCOPY --from=stage /etc/base /g${i}\n`);
    writeFileSync(join(ctx, 'big'), randomBytesSeeded(500_000, 400 + i));
    writeFileSync(join(ctx, 'f'), randomBytesSeeded(600_000, 200 + i));
    contexts.push(ctx);
  }

  let loading = true;
  let prunes = 0;
  let reclaiming = 0;
  const pruner = (async () => {
    while (loading) {
      const r = await cairn(root, ['system', 'prune', '-af', '--filter', `label!=${KEEP}`]);
      assert.equal(r.code, 0, `system prune failed: ${r.stderr}`);
      prunes++;
      if (!r.stdout.endsWith('Total reclaimed space: 0B\n')) reclaiming++;
    }
  })();

  const reported: string[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const loaded = await cairn(root, ['load', '-i', archives[i]!]);
      assert.equal(loaded.code, 0, `load ${i} failed beside a prune: ${loaded.stderr}`);
      assert.equal(loaded.stdout, `Loaded image: race/load:${i}\nLoaded image: race/junk:${i}\n`);
      reported.push(`race/load:${i}`);
      const built = await cairn(root, ['build', '-q', '--label', KEEP, contexts[i]!]);
      assert.equal(built.code, 0, `build ${i} failed beside a prune: ${built.stderr}`);
      const id = built.stdout.trim();
      assert.match(id, /^sha256:[0-9a-f]{64}$/);
      reported.push(id);
    }
  } finally {
    loading = false;
    await pruner;
  }
  assert.ok(prunes >= 3 && reclaiming >= 2, `the prunes ran, and removed things, while the loads and builds did (${prunes} prunes, ${reclaiming} reclaiming)`);
  const junk = (await cairnOk(root, ['images', '-q', 'race/junk'])).stdout.split('\n').filter((l) => l !== '');
  assert.ok(junk.length < ROUNDS, `unlabelled images were pruned meanwhile (${junk.length} of ${ROUNDS} left)`);

  // every reported image whole: its document, and its layers re-emitted and checked by save
  for (const ref of reported) {
    await cairnOk(root, ['image', 'inspect', ref]);
    await cairnOk(root, ['save', '-o', join(dir.path, 'saved.tar'), ref]);
  }
  await cairnOk(root, ['images']);

  // without the filter, one more prune leaves nothing behind
  await cairnOk(root, ['system', 'prune', '-af']);
  assert.deepEqual(readdirSync(join(root, 'content', 'blobs', 'sha256')), [], 'no blob left');
  const db = new Database(join(root, 'metadata.db'), { readonly: true });
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    for (const table of ['images', 'layers', 'snapshots', 'leases', 'build_cache', 'build_file_hashes', 'containers', 'gc_refs']) {
      assert.deepEqual(db.prepare(`SELECT * FROM ${table}`).all(), [], `${table} is empty`);
    }
  } finally {
    db.close();
  }
});

test('a build whose base image a prune removes meanwhile fails cleanly at its start or makes a whole image', async () => {
  const r2 = join(dir.path, 'root2');
  const base = await makeTar([{ path: 'etc/', type: 'dir' }, { path: 'etc/base2', content: randomBytesSeeded(2 << 20, 2) }]);
  const archive = join(dir.path, 'base2.tar');
  writeFileSync(archive, await makeDockerArchive([{ layers: [base], repoTags: ['race2/base:1'] }]));
  const ctx = join(dir.path, 'ctx-base2');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM race2/base:1\nCOPY f /f\nCOPY g /g\n');
  writeFileSync(join(ctx, 'f'), randomBytesSeeded(300_000, 3));
  writeFileSync(join(ctx, 'g'), 'g\n');
  await cairnOk(r2, ['images']);
  let building = true;
  let prunes = 0;
  const pruner = (async () => {
    while (building) {
      const r = await cairn(r2, ['image', 'prune', '-af']);
      assert.equal(r.code, 0, `image prune failed: ${r.stderr}`);
      prunes++;
      // paced, at varying phases of the builds: some start with their base there and lose it midway
      await sleep(100 + (prunes % 5) * 120);
    }
  })();
  let built = 0;
  let baseGone = 0;
  try {
    for (let i = 0; i < 10; i++) {
      await cairnOk(r2, ['load', '-i', archive]);
      const b = await cairn(r2, ['build', '-q', '--no-cache', ctx]);
      if (b.code !== 0) {
        // only the base's absence at the start: missing, the build pulls it (no registry here: BuildKit's
        // "failed to create LLB definition"), or gone once leased ("race2/base:1: not found")
        assert.match(b.stderr, /failed to create LLB definition|race2\/base:1: not found/, `build ${i}: ${b.stderr}`);
        baseGone++;
        continue;
      }
      built++;
      const id = b.stdout.trim();
      // pruned since (it is unused: the prune's right), or whole
      const saved = await cairn(r2, ['save', '-o', join(dir.path, 'saved2.tar'), id]);
      if (saved.code !== 0) assert.match(saved.stderr, /No such image/, `save ${id}: ${saved.stderr}`);
    }
  } finally {
    building = false;
    await pruner;
  }
  assert.ok(prunes >= 3 && built > 0, `${prunes} prunes; ${built} builds made an image, ${baseGone} found no base`);
  // (the build cache keeps the builds' layers: system prune takes it too)
  await cairnOk(r2, ['system', 'prune', '-af']);
  assert.deepEqual(readdirSync(join(r2, 'content', 'blobs', 'sha256')), [], 'no blob left');
});
