/**
 * The build cache carried through a registry (`--cache-to type=registry,ref=REF[,mode=max]`,
 * `--cache-from type=registry,ref=REF`), against a real Distribution registry behind a counting
 * proxy (test/registry.ts): a build on one store pushes its cache as an OCI manifest whose
 * config is the cache document; a build of the same input on another, empty store takes every
 * step from it — CACHED, each layer blob fetched only as its step hits — and gives the same
 * image. Exported again, nothing the registry holds is uploaded. A missing or unreachable cache
 * is a warning and the build goes on; a failed export is one line, exit 1, the image stored.
 * And the CacheStore conformance suite against the registry (src/build/cache-store-local.test.ts
 * runs it against a directory).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cacheStoreSuite } from '../src/build/cache-store-conformance.js';
import { RegistryCacheStore } from '../src/build/cache-store-registry.js';
import { CACHE_DOCUMENT, LAYER_GZIP } from '../src/build/cache-transfer.js';
import { RegistryClient } from '../src/registry/client.js';
import { closeConnections } from '../src/registry/http.js';
import { cairn, tempDir, unmountUnder } from './helpers.js';
import { buildSteps, busyboxArchive } from './build-fixtures.js';
import { freePort, startProxy, startRegistry, type Proxy, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let ctx: string;
let archive: string;
let reg: Registry | undefined;
let proxy: Proxy | undefined;
let n = 0;

before(async () => {
  dir = await tempDir('cairn-build-cache-registry-');
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
  reg = await startRegistry(join(dir.path, 'registry'));
  proxy = await startProxy(reg.host);
});

after(async () => {
  closeConnections();
  await proxy?.stop();
  await reg?.stop();
  unmountUnder(dir.path);
  await dir.cleanup();
});

cacheStoreSuite('registry', async () => {
  const repo = `conformance/r${n++}`;
  return { cache: new RegistryCacheStore(new RegistryClient(reg!.host), repo, 'cache', `${reg!.host}/${repo}:cache`), cleanup: async () => {} };
});

async function freshStore(name: string): Promise<string> {
  const root = join(dir.path, name);
  const r = await cairn(root, ['load', '-q', '-i', archive]);
  assert.equal(r.code, 0, r.stderr);
  return root;
}


function get(path: string, accept: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = request(`http://${reg!.host}${path}`, { headers: { Accept: accept } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

const uploads = (from: number) => proxy!.requests.slice(from).filter((r) => /^(POST|PATCH|PUT) \/v2\/[^ ]*\/blobs\/uploads\//.test(r));
const blobGets = (from: number) => proxy!.requests.slice(from).filter((r) => /^GET \/v2\/[^ ]*\/blobs\/sha256:/.test(r));

test('mode=max: the cache goes to the registry as an OCI manifest; another store builds from it entirely, and gets the same image', async () => {
  const ref = `${proxy!.host}/cache/app:max`;
  const a = await freshStore('a');
  const first = await cairn(a, ['build', '--network', 'none', '--cache-to', `type=registry,ref=${ref},mode=max`, '-t', 'app:1', ctx]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /#\d+ exporting cache\n#\d+ 4 layer blobs written, 0 already there\n#\d+ writing 4 cache entries to 127\.0\.0\.1:\d+\/cache\/app:max done\n/);
  const m = await get('/v2/cache/app/manifests/max', 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(m.status, 200, m.body);
  const manifest = JSON.parse(m.body) as { mediaType: string; config: { mediaType: string }; layers: Array<{ mediaType: string }> };
  assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(manifest.config.mediaType, CACHE_DOCUMENT);
  assert.deepEqual(manifest.layers.map((l) => l.mediaType), [LAYER_GZIP, LAYER_GZIP, LAYER_GZIP, LAYER_GZIP]);
  const idA = (await cairn(a, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim();

  const b = await freshStore('b');
  const mark = proxy!.requests.length;
  const second = await cairn(b, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${ref}`, '-t', 'app:1', ctx]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /#\d+ importing cache manifest from 127\.0\.0\.1:\d+\/cache\/app:max\n#\d+ DONE/);
  assert.doesNotMatch(second.stderr, /WARNING/);
  assert.deepEqual(buildSteps(second.stderr).ran, [], 'nothing ran');
  assert.equal((second.stderr.match(/importing cache layer sha256:[0-9a-f]{64} from 127\.0\.0\.1:\d+\/cache\/app:max/g) ?? []).length, 4);
  assert.equal(blobGets(mark).length, 5, 'the document, and each layer once, as its step hit');
  assert.equal((await cairn(b, ['inspect', '-f', '{{.Id}}', 'app:1'])).stdout.trim(), idA, 'the same image');
  const ranA = (await cairn(a, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/ran', '/gen'])).stdout;
  const ranB = (await cairn(b, ['run', '--rm', '--network', 'none', 'app:1', 'cat', '/ran', '/gen'])).stdout;
  assert.equal(ranB, ranA, 'the layers made on the first store');

  // Exported again, from either store: every blob is the registry's already — nothing is uploaded.
  for (const store of [a, b]) {
    const before = proxy!.requests.length;
    const again = await cairn(store, ['build', '--network', 'none', '--cache-to', `type=registry,ref=${ref},mode=max`, '-t', 'app:1', ctx]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(buildSteps(again.stderr).ran, []);
    assert.match(again.stderr, /#\d+ 0 layer blobs written, 4 already there\n/);
    assert.deepEqual(uploads(before), [], 'no upload session');
    const blobCalls = proxy!.requests.slice(before).filter((r) => /\/blobs\//.test(r));
    assert.deepEqual(blobCalls.map((r) => r.split(' ')[0]), ['GET', 'HEAD', 'HEAD', 'HEAD', 'HEAD', 'HEAD'], 'the previous document read, then a HEAD of each layer and of the document');
    assert.equal(proxy!.requests.slice(before).filter((r) => r.startsWith('PUT /v2/cache/app/manifests/max')).length, 1, 'the manifest put again');
  }
});

test('mode=min carries the layers of the image built only: the other stage runs again elsewhere', async () => {
  const ref = `${proxy!.host}/cache/app:min`;
  const a = await freshStore('c');
  const first = await cairn(a, ['build', '--network', 'none', '--cache-to', `type=registry,ref=${ref}`, '-t', 'app:1', ctx]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /writing 3 cache entries to /);
  const b = await freshStore('d');
  const second = await cairn(b, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${ref}`, '-t', 'app:1', ctx]);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(buildSteps(second.stderr).ran, ['[gen 2/2] RUN echo "generated $RANDOM" > /gen', '[stage-1 4/4] COPY --from=gen /gen /gen']);
});

test('a cache ref the registry does not have, or a registry that does not answer, is a warning: the build goes on without it', async () => {
  const e = await freshStore('e');
  const missing = await cairn(e, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${proxy!.host}/cache/nothing:here`, '-t', 'app:1', ctx]);
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stderr, /#\d+ WARNING: cache 127\.0\.0\.1:\d+\/cache\/nothing:here not found, the build goes on without it\n/);
  assert.equal(buildSteps(missing.stderr).ran.length, 4);

  const gone = `127.0.0.1:${await freePort()}`;
  const f = await freshStore('f');
  const unreachable = await cairn(f, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${gone}/cache/app:1`, '-t', 'app:1', ctx]);
  assert.equal(unreachable.code, 0, unreachable.stderr);
  assert.match(unreachable.stderr, /#\d+ WARNING: cache 127\.0\.0\.1:\d+\/cache\/app:1 could not be read, the build goes on without it: .*connection refused/);
  assert.equal(buildSteps(unreachable.stderr).ran.length, 4);
});

test('an export that fails is one line, exit 1, after the image is stored; a bad spec is a usage error', async () => {
  const gone = `127.0.0.1:${await freePort()}`;
  const g = await freshStore('g');
  const r = await cairn(g, ['build', '--network', 'none', '--cache-to', `type=registry,ref=${gone}/cache/app:1`, '-t', 'app:9', ctx]);
  assert.equal(r.code, 1);
  const last = r.stderr.trimEnd().split('\n').at(-1)!;
  assert.match(last, /^Error: exporting cache to 127\.0\.0\.1:\d+\/cache\/app:1: .*connection refused/);
  assert.equal((await cairn(g, ['inspect', '-f', '{{.Id}}', 'app:9'])).code, 0, 'the image is stored');

  const noRef = await cairn(g, ['build', '--cache-to', 'type=registry', '-q', ctx]);
  assert.equal(noRef.code, 1);
  assert.equal(noRef.stderr, 'Error: --cache-to type=registry needs ref=REGISTRY/REPOSITORY[:TAG]\n');
  const other = await cairn(g, ['build', '--cache-from', 'type=s3,bucket=x', '-q', ctx]);
  assert.equal(other.stderr, 'Error: --cache-from type=s3 is not supported: use type=local or type=registry\n');
});

test('a registry that asks for credentials: the user\'s (DOCKER_CONFIG) are used both ways; without them the import is a warning', async () => {
  const authReg = await startRegistry(join(dir.path, 'auth-registry'), { htpasswd: { alice: 's3cret' } });
  try {
    const config = join(dir.path, 'docker-config');
    mkdirSync(config);
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    const env = { DOCKER_CONFIG: config };
    const ref = `${authReg.host}/private/cache:1`;
    const a = await freshStore('h');
    const first = await cairn(a, ['build', '--network', 'none', '--cache-to', `type=registry,ref=${ref},mode=max`, '-t', 'app:1', ctx], { env });
    assert.equal(first.code, 0, first.stderr);
    const b = await freshStore('i');
    const second = await cairn(b, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${ref}`, '-t', 'app:1', ctx], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(buildSteps(second.stderr).ran, []);
    const c = await freshStore('j');
    const anonymous = await cairn(c, ['build', '--network', 'none', '--cache-from', `type=registry,ref=${ref}`, '-t', 'app:1', ctx], { env: { DOCKER_CONFIG: join(dir.path, 'no-config') } });
    assert.equal(anonymous.code, 0, anonymous.stderr);
    assert.match(anonymous.stderr, /WARNING: cache .* could not be read, the build goes on without it: .*unauthorized/);
    assert.equal(buildSteps(anonymous.stderr).ran.length, 4);
  } finally {
    await authReg.stop();
  }
});
