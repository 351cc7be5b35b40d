/**
 * `cairn build` with base images that are not in the store, against a real Distribution
 * registry (test/registry.ts) serving a busybox image pushed there by cairn from another store:
 * `FROM REG/x:1` and `COPY --from=REG/y:1` pull the image inside the `[internal] load metadata`
 * vertex (with its layers' progress); a second build uses the local image; `--pull` asks the
 * registry again and picks up a newer image under the same tag; an image the registry does not
 * have fails with BuildKit's one line (Docker 20.10's words), exit 1, nothing else.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairn, tempDir, unmountUnder } from './helpers.js';
import { busyboxArchive } from './build-fixtures.js';
import { startRegistry, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let pusher: string;
let root: string;
let reg: Registry | undefined;
let n = 0;

function context(dockerfile: string): string {
  const ctx = join(dir.path, `ctx${n++}`);
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), dockerfile);
  return ctx;
}

async function ok(store: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await cairn(store, args);
  assert.equal(r.code, 0, `cairn ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Push a busybox image whose /marker says `marker` as REG/name:tag, from the pushing store. */
async function publish(name: string, marker: string): Promise<void> {
  const archive = join(dir.path, `${name.replace(/[^a-z0-9]/g, '_')}-${marker}.tar`);
  const tag = `${reg!.host}/${name}`;
  writeFileSync(archive, await busyboxArchive(`stage/${marker}:1`));
  await ok(pusher, ['load', '-q', '-i', archive]);
  const ctx = context(`FROM stage/${marker}:1\nRUN echo ${marker} > /marker\n`);
  await ok(pusher, ['build', '--network', 'none', '-q', '-t', tag, ctx]);
  await ok(pusher, ['push', tag]);
}

before(async () => {
  dir = await tempDir('cairn-build-pull-');
  pusher = join(dir.path, 'pusher');
  root = join(dir.path, 'store');
  reg = await startRegistry(join(dir.path, 'registry'));
  await publish('lib/x:1', 'first');
  await publish('lib/y:1', 'other');
});

after(async () => {
  await reg?.stop();
  unmountUnder(dir.path);
  await dir.cleanup();
});

test('FROM and COPY --from an image the store lacks pull it, shown in the load metadata vertex; the next build uses it', async () => {
  const x = `${reg!.host}/lib/x:1`;
  const y = `${reg!.host}/lib/y:1`;
  const ctx = context(`FROM ${x}\nCOPY --from=${y} /marker /other\nRUN cat /marker /other > /both\n`);
  const r = await cairn(root, ['build', '--network', 'none', '-t', 'pulled:1', ctx]);
  assert.equal(r.code, 0, r.stderr);
  for (const ref of [x, y]) {
    const block = new RegExp(`#(\\d+) \\[internal\\] load metadata for ${ref.replaceAll('.', '\\.')}\\n(?:#\\1 sha256:[0-9a-f]{12} (?:[0-9.]+[kM]?B / [0-9.]+[kM]?B done|already exists)\\n)+#\\1 DONE`);
    assert.match(r.stderr, block);
  }
  const run = await cairn(root, ['run', '--rm', '--network', 'none', 'pulled:1', 'cat', '/both']);
  assert.equal(run.stdout, 'first\nother\n');
  const images = await ok(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.ok(images.stdout.split('\n').includes(x) && images.stdout.split('\n').includes(y), images.stdout);
  // The image is local now: no layer is fetched again.
  const again = await cairn(root, ['build', '--network', 'none', '-t', 'pulled:1', ctx]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /sha256:[0-9a-f]{12} /);
});

test('--pull asks the registry again: a newer image under the same tag is used', async () => {
  const x = `${reg!.host}/lib/x:1`;
  const ctx = context(`FROM ${x}\nRUN cat /marker > /seen\n`);
  await ok(root, ['build', '--network', 'none', '-t', 'seen:1', ctx]);
  assert.equal((await ok(root, ['run', '--rm', '--network', 'none', 'seen:1', 'cat', '/seen'])).stdout, 'first\n');
  await publish('lib/x:1', 'second');
  // Without --pull the local image is used.
  await ok(root, ['build', '--network', 'none', '-t', 'seen:1', ctx]);
  assert.equal((await ok(root, ['run', '--rm', '--network', 'none', 'seen:1', 'cat', '/seen'])).stdout, 'first\n');
  const pulled = await ok(root, ['build', '--pull', '--network', 'none', '-t', 'seen:1', ctx]);
  assert.match(pulled.stderr, /sha256:[0-9a-f]{12} [0-9.]+[kM]?B \/ [0-9.]+[kM]?B done\n/);
  assert.equal((await ok(root, ['run', '--rm', '--network', 'none', 'seen:1', 'cat', '/seen'])).stdout, 'second\n');
});

test('an image the registry does not have: BuildKit\'s one line, exit 1', async () => {
  const ref = `${reg!.host}/lib/nosuch:1`;
  const r = await cairn(root, ['build', '--network', 'none', context(`FROM ${ref}\nRUN true\n`)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`#\\d+ ERROR: ${ref.replaceAll('.', '\\.')}: not found\\n`));
  assert.ok(r.stderr.includes(`------\n > [internal] load metadata for ${ref}:\n------\n`), r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').at(-1), `failed to solve with frontend dockerfile.v0: failed to create LLB definition: ${ref}: not found`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const copy = await cairn(root, ['build', '--network', 'none', context(`FROM ${reg!.host}/lib/x:1\nCOPY --from=${reg!.host}/lib/nosuch:2 /a /a\n`)]);
  assert.equal(copy.code, 1);
  assert.equal(copy.stderr.trimEnd().split('\n').at(-1), `failed to solve with frontend dockerfile.v0: failed to create LLB definition: ${reg!.host}/lib/nosuch:2: not found`);
});
