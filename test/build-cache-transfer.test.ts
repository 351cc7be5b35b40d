/**
 * The build cache carried to another machine (`--cache-to type=local,dest=DIR[,mode=max]`,
 * `--cache-from type=local,src=DIR`): a build on one store exports its cache; a build of the
 * same input on another, empty store (the same base image loaded) imports it, takes every step
 * from it — CACHED, nothing run — and gives the same image. mode=min carries only the layers of
 * the image built; a damaged blob fails the step in one line naming the layer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, tempDir, unmountUnder } from './helpers.js';
import { buildSteps, busyboxArchive } from './build-fixtures.js';

let dir: { path: string; cleanup: () => Promise<void> };
let ctx: string;
let archive: string;

before(async () => {
  dir = await tempDir('cairn-build-cache-transfer-');
  archive = join(dir.path, 'bb.tar');
  writeFileSync(archive, await busyboxArchive('bb:1'));
  ctx = join(dir.path, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'in.txt'), 'input\n');
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM bb:1 AS gen
RUN echo "generated $RANDOM" > /gen

FROM bb:1
COPY in.txt /in.txt
RUN echo "ran at $(date +%s%N)" > /ran
COPY --from=gen /gen /gen
`,
  );
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

async function freshStore(name: string): Promise<string> {
  const root = join(dir.path, name);
  const r = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
  return root;
}


test('mode=max: another store builds the same input entirely from the exported cache, and gets the same image', async () => {
  const cacheDir = join(dir.path, 'cache-max');
  const a = await freshStore('a');
  const first = await cairn(a, ['build', '--network', 'none', '--cache-to', `type=local,dest=${cacheDir},mode=max`, '-t', 'app:1', ctx]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /#\d+ exporting cache\n#\d+ 4 layer blobs written, 0 already there\n#\d+ writing 4 cache entries to /);
  assert.ok(existsSync(join(cacheDir, 'index.json')) && existsSync(join(cacheDir, 'oci-layout')));
  assert.equal(readdirSync(join(cacheDir, 'blobs', 'sha256')).filter((n) => !n.startsWith('.')).length, 5, 'four layers and the cache document');
  const idA = (await cairn(a, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim();

  const b = await freshStore('b');
  const second = await cairn(b, ['build', '--network', 'none', '--cache-from', `type=local,src=${cacheDir}`, '-t', 'app:1', ctx]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(buildSteps(second.stderr).ran, [], 'nothing ran');
  assert.equal((second.stderr.match(/importing cache layer sha256:/g) ?? []).length, 4);
  assert.equal((await cairn(b, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim(), idA, 'the same image');
  const ranA = (await cairn(a, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/ran', '/gen'])).stdout;
  const ranB = (await cairn(b, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/ran', '/gen'])).stdout;
  assert.equal(ranB, ranA, 'the layers made on the first store');
  // Imported, the entries are this store's cache now: a third build needs no --cache-from.
  const third = await cairn(b, ['build', '--network', 'none', '-t', 'app:2', ctx]);
  assert.deepEqual(buildSteps(third.stderr).ran, []);
});

test('mode=min carries the layers of the image built only: the other stage runs again elsewhere', async () => {
  const cacheDir = join(dir.path, 'cache-min');
  const a = await freshStore('c');
  const first = await cairn(a, ['build', '--network', 'none', '--cache-to', `type=local,dest=${cacheDir}`, '-t', 'app:1', ctx]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /writing 3 cache entries to /);
  const b = await freshStore('d');
  const second = await cairn(b, ['build', '--network', 'none', '--cache-from', `type=local,src=${cacheDir}`, '-t', 'app:1', ctx]);
  assert.equal(second.code, 0, second.stderr);
  // The gen stage's RUN was not exported: it runs, makes another /gen, and the COPY --from after it misses too.
  assert.deepEqual(buildSteps(second.stderr).ran, ['[gen 2/2] RUN echo "generated $RANDOM" > /gen', '[stage-1 4/4] COPY --from=gen /gen /gen']);
});

test('a damaged blob in the cache fails the step in one line naming the layer; a missing directory is an empty cache', async () => {
  const cacheDir = join(dir.path, 'cache-max');
  const index = JSON.parse(readFileSync(join(cacheDir, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const doc = JSON.parse(readFileSync(join(cacheDir, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { entries: Array<{ blob: { digest: string } }> };
  const blob = join(cacheDir, 'blobs', 'sha256', doc.entries[0]!.blob.digest.slice(7));
  const bytes = readFileSync(blob);
  bytes[bytes.length - 20] ^= 0xff;
  writeFileSync(blob, bytes);
  const e = await freshStore('e');
  const r = await cairn(e, ['build', '--network', 'none', '--cache-from', `type=local,src=${cacheDir}`, '-t', 'app:1', ctx]);
  assert.equal(r.code, 1);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.match(last, /^Error: Dockerfile:\d+: \[.*\] .*cached layer sha256:[0-9a-f]{64}/);
  const f = await freshStore('f');
  const none = await cairn(f, ['build', '--network', 'none', '--cache-from', `type=local,src=${join(dir.path, 'nowhere')}`, '-q', ctx]);
  assert.equal(none.code, 0, none.stderr);
  const bad = await cairn(f, ['build', '--cache-to', 'type=gha', '-q', ctx]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error: --cache-to type=gha is not supported: use type=local or type=registry\n');
});
