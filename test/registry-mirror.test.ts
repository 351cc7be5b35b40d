/**
 * Mirrors from cairn's configuration file (issue 10): a pull tries each mirror of the
 * reference's registry, then the registry itself; the image is recorded under the reference's
 * own name. Docker's `registry-mirrors` serve Docker Hub names (`busybox`) from a loopback
 * Distribution registry, with no network beyond it; `registries.HOST.mirrors` serve any
 * registry's, under a path prefix; a mirror that lacks the image is passed over; a push goes to
 * the registry, never to a mirror; `insecure-registries` is honoured; a bad file is one line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { cairn, cairnOk, busyboxTar, makeTar, tempDir } from './helpers.js';
import { freePort, startProxy, startRegistry, type Proxy, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let origin: Registry;
let mirror: Registry;
let mirrorProxy: Proxy;
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

function configFile(doc: unknown): string {
  const file = join(dir.path, `config-${++n}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

/** Push a small image to `host/path` from a scratch store; returns its image ID. */
async function seed(host: string, path: string, marker: string): Promise<string> {
  const root = fresh('seed');
  const ref = `${host}/${path}`;
  const id = (await cairnOk(root, ['import', '-', ref], { input: await makeTar([{ path: 'marker.txt', content: marker }]) })).stdout.trim();
  await cairnOk(root, ['push', ref]);
  return id;
}

before(async () => {
  dir = await tempDir('cairn-mirror-');
  origin = await startRegistry(join(dir.path, 'origin'));
  mirror = await startRegistry(join(dir.path, 'mirror'));
  mirrorProxy = await startProxy(mirror.host);
});

after(async () => {
  await mirrorProxy?.stop();
  await mirror?.stop();
  await origin?.stop();
  await dir?.cleanup();
});

test("a registry's mirror under a path prefix serves the pull while the registry is down; the image keeps the registry's name", async () => {
  const down = `127.0.0.1:${await freePort()}`;
  const id = await seed(mirror.host, 'cache/t/x:1', 'from the mirror\n');
  const env = { CAIRN_CONFIG: configFile({ registries: { [down]: { mirrors: [`http://${mirrorProxy.host}/cache`] } } }) };
  const root = fresh('store');
  const pull = await cairn(root, ['pull', `${down}/t/x:1`], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Status: Downloaded newer image for /);
  assert.ok(mirrorProxy.requests.some((r) => r.startsWith('GET /v2/cache/t/x/manifests/1')), mirrorProxy.requests.join('\n'));
  const inspect = JSON.parse((await cairnOk(root, ['inspect', `${down}/t/x:1`])).stdout)[0];
  assert.equal(inspect.Id, id);
  assert.deepEqual(inspect.RepoTags, [`${down}/t/x:1`]);
  assert.match(inspect.RepoDigests[0], new RegExp(`^${down.replace(/[.]/g, '\\.')}/t/x@sha256:[0-9a-f]{64}$`));
  // without the configuration the registry is simply down
  const plain = await cairn(fresh('store'), ['pull', `${down}/t/x:1`]);
  assert.equal(plain.code, 1);
});

test('a mirror that lacks the image is passed over for the registry itself; a push never goes to the mirror', async () => {
  const id = await seed(origin.host, 't/only-origin:1', 'origin only\n');
  const env = { CAIRN_CONFIG: configFile({ registries: { [origin.host]: { mirrors: [`http://${mirrorProxy.host}`] } } }) };
  mirrorProxy.requests.length = 0;
  const root = fresh('store');
  const pull = await cairn(root, ['pull', `${origin.host}/t/only-origin:1`], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.ok(mirrorProxy.requests.some((r) => r.startsWith('GET /v2/t/only-origin/manifests/1')), 'the mirror was asked first');
  assert.equal(JSON.parse((await cairnOk(root, ['inspect', `${origin.host}/t/only-origin:1`])).stdout)[0].Id, id);

  mirrorProxy.requests.length = 0;
  await cairnOk(root, ['tag', `${origin.host}/t/only-origin:1`, `${origin.host}/t/pushed:1`]);
  const push = await cairn(root, ['push', `${origin.host}/t/pushed:1`], { env });
  assert.equal(push.code, 0, push.stderr);
  assert.deepEqual(mirrorProxy.requests, [], 'nothing went to the mirror');
  const head = await fetch(`http://${origin.host}/v2/t/pushed/manifests/1`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(head.status, 200);
});

test("Docker's registry-mirrors serve Docker Hub names (busybox) with no network beyond the loopback mirror", async () => {
  const root = fresh('seed');
  const id = (await cairnOk(root, ['import', '-', `${mirror.host}/library/busybox:latest`], { input: await busyboxTar() })).stdout.trim();
  await cairnOk(root, ['push', `${mirror.host}/library/busybox:latest`]);
  const env = { CAIRN_CONFIG: configFile({ 'registry-mirrors': [`http://${mirror.host}`] }) };
  const store = fresh('store');
  const pull = await cairn(store, ['pull', 'busybox'], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /^Using default tag: latest\n/);
  assert.match(pull.stdout, /\nStatus: Downloaded newer image for busybox:latest\ndocker\.io\/library\/busybox:latest\n$/);
  const images = (await cairnOk(store, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
  assert.equal(images, `busybox:latest ${id.slice(7, 19)}\n`);
});

test('insecure-registries lets a named non-loopback host use plain http', async (t) => {
  const ip = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!ip) return t.skip('this machine has no non-loopback IPv4 address');
  const plain = await startRegistry(join(dir.path, 'plain'), { ip });
  try {
    const ref = `${plain.host}/t/plain:1`;
    const seedRoot = fresh('seed');
    await cairnOk(seedRoot, ['import', '-', ref], { input: await busyboxTar() });
    await cairnOk(seedRoot, ['push', '--tls-verify=false', ref]);
    const root = fresh('store');
    const refused = await cairn(root, ['pull', ref]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: Get "https:\/\/[^"]+\/v2\/": http: server gave HTTP response to HTTPS client\n$/);
    const env = { CAIRN_CONFIG: configFile({ 'insecure-registries': [plain.host] }) };
    const pull = await cairn(root, ['pull', ref], { env });
    assert.equal(pull.code, 0, pull.stderr);
  } finally {
    await plain.stop();
  }
});

test('a bad configuration file is one line, exit 1', async () => {
  const bad = await cairn(fresh('store'), ['pull', `${origin.host}/t/x:1`], { env: { CAIRN_CONFIG: configFile({ 'registry-mirrors': ['mirror.example'] }) } });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: configuration file [^\n]+: registry-mirrors\[0\]: "mirror.example" needs a scheme \(https:\/\/ or http:\/\/\)\n$/);
  const missing = await cairn(fresh('store'), ['pull', `${origin.host}/t/x:1`], { env: { CAIRN_CONFIG: join(dir.path, 'absent.json') } });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error: configuration file [^\n]+absent\.json: ENOENT[^\n]*\n$/);
});
