/**
 * Reproducible builds (issue 12, point 5): with SOURCE_DATE_EPOCH set, the same Dockerfile and
 * context built on two empty stores at different times give the same image ID and the same
 * archive, byte for byte (config, manifest, every layer): the config's and new history entries'
 * times are the epoch, and no time in a new layer is later than it. Without it, the two builds
 * differ (so the comparison can fail).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { cairn, tempDir, unmountUnder } from './helpers.js';
import { busyboxArchive } from './build-fixtures.js';

const EPOCH = 1_700_000_000;
let dir: { path: string; cleanup: () => Promise<void> };
let ctx: string;
let archive: string;

before(async () => {
  dir = await tempDir('cairn-build-repro-');
  archive = join(dir.path, 'bb.tar');
  writeFileSync(archive, await busyboxArchive('bb:1'));
  ctx = join(dir.path, 'ctx');
  mkdirSync(join(ctx, 'src', 'lib'), { recursive: true });
  writeFileSync(join(ctx, 'src', 'main.txt'), 'main\n');
  writeFileSync(join(ctx, 'src', 'lib', 'util.txt'), 'util\n');
  // A context file from the future: its time is clamped too.
  utimesSync(join(ctx, 'src', 'main.txt'), EPOCH + 86_400, EPOCH + 86_400);
  writeFileSync(
    join(ctx, 'Dockerfile'),
    `FROM bb:1 AS gen
RUN mkdir -p /out/a /out/b && for i in 1 2 3; do echo $i > /out/a/$i; done && ln -s a /out/link

FROM bb:1
ENV APP=/app
WORKDIR /app
COPY src/ ./src/
COPY --from=gen /out /gen
RUN echo built > /app/built && echo extra >> /etc/motd && rm /etc/group
CMD ["cat", "/app/built"]
`,
  );
});

after(async () => {
  unmountUnder(dir.path);
  await dir.cleanup();
});

/** Build the context on a fresh store; its image ID and its saved archive. */
async function buildFresh(name: string, env: NodeJS.ProcessEnv): Promise<{ id: string; saved: Buffer; created: string }> {
  const root = join(dir.path, name);
  const load = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(load.code, 0, load.stderr);
  const b = await cairn(root, ['build', '--network', 'none', '-q', '-t', 'app:1', ctx], { env });
  assert.equal(b.code, 0, b.stderr);
  const id = b.stdout.trim();
  const out = join(dir.path, `${name}.tar`);
  const s = await cairn(root, ['save', '-o', out, 'app:1']);
  assert.equal(s.code, 0, s.stderr);
  const created = (await cairn(root, ['inspect', '-f', '{{.Created}}', 'app:1'])).stdout.trim();
  return { id, saved: readFileSync(out), created };
}

test('SOURCE_DATE_EPOCH: two empty stores, built a second apart, give the same image and the same archive', async () => {
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(EPOCH) };
  const a = await buildFresh('a', env);
  await sleep(1100);
  const b = await buildFresh('b', env);
  assert.match(a.id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(b.id, a.id, 'the same image ID');
  assert.ok(b.saved.equals(a.saved), 'the same archive, byte for byte');
  assert.equal(a.created, '2023-11-14T22:13:20Z');
});

test('SOURCE_DATE_EPOCH as a build argument works the same; without it, two builds differ', async () => {
  const { SOURCE_DATE_EPOCH: _unset, ...plain } = process.env;
  const root = join(dir.path, 'c');
  assert.equal((await cairn(root, ['load', '-q', '-i', archive])).code, 0);
  const byArg = await cairn(root, ['build', '--network', 'none', '-q', '--build-arg', `SOURCE_DATE_EPOCH=${EPOCH}`, '-t', 'app:1', ctx], { env: plain });
  assert.equal(byArg.code, 0, byArg.stderr);
  const a = (await cairn(join(dir.path, 'a'), ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim();
  assert.equal(byArg.stdout.trim(), a);
  const x = await buildFresh('x', plain);
  await sleep(1100);
  const y = await buildFresh('y', plain);
  assert.notEqual(x.id, y.id, 'without the epoch, the times differ');
  const bad = await cairn(root, ['build', '--network', 'none', '-q', '--build-arg', 'SOURCE_DATE_EPOCH=yesterday', ctx], { env: plain });
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error: invalid SOURCE_DATE_EPOCH "yesterday": want whole seconds since 1970-01-01\n');
});
