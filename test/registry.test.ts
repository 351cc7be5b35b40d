/**
 * `pull` and `push` against real registries (issue 10): Docker's Distribution registry started
 * on a loopback port (plain, and behind htpasswd basic auth), a counting proxy in front of it,
 * skopeo reading what cairn pushed. Round trips keep the image ID and manifest digest; a
 * second image sharing the base downloads no base bytes; a blob cut off mid-body resumes;
 * errors are Docker's one-liners.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAIRN, cairn, cairnOk, busyboxTar, makeDockerArchive, randomBytesSeeded, makeTar, tempDir } from './helpers.js';
import { startProxy, startRegistry, startTokenServer, type Proxy, type Registry } from './registry.js';

let dir: { path: string; cleanup: () => Promise<void> };
let reg: Registry;
let proxy: Proxy;
let n = 0;
const fresh = (name: string) => join(dir.path, `${name}-${++n}`);

/** The multi-layer images: A and B share their two bottom layers (busybox and a 3 MB file). */
let archive: Buffer;
let baseLayers: Buffer[];

before(async () => {
  dir = await tempDir('cairn-registry-');
  reg = await startRegistry(join(dir.path, 'registry'));
  proxy = await startProxy(reg.host);
  const bb = await busyboxTar();
  const big = await makeTar([{ path: 'opt/big.bin', content: randomBytesSeeded(3 << 20, 7) }]);
  baseLayers = [bb, big];
  const a = await makeTar([{ path: 'opt/a.txt', content: Buffer.from('image a\n') }]);
  const b = await makeTar([{ path: 'opt/b.txt', content: Buffer.from('image b\n') }]);
  archive = await makeDockerArchive([
    { layers: [...baseLayers, a], repoTags: ['t/a:1'] },
    { layers: [...baseLayers, b], repoTags: ['t/b:1'], config: { config: { Cmd: ['sh'], Env: ['B=1'] } } },
  ]);
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  await dir?.cleanup();
});

/** A store holding images A and B under the names `HOST/t/a:1` and `HOST/t/b:1`. */
async function storeWithImages(host: string): Promise<string> {
  const root = fresh('store');
  await cairnOk(root, ['load'], { input: archive });
  await cairnOk(root, ['tag', 't/a:1', `${host}/t/a:1`]);
  await cairnOk(root, ['tag', 't/b:1', `${host}/t/b:1`]);
  return root;
}

function lines(s: string): string[] {
  return s.split('\n').filter((l) => l !== '');
}

test('import, push, rmi, pull: the same image ID and manifest digest; skopeo reads what was pushed', async () => {
  const root = fresh('store');
  const ref = `${reg.host}/t/bb:1`;
  const id = (await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() })).stdout.trim();
  const push = await cairnOk(root, ['push', ref]);
  const out = lines(push.stdout);
  assert.equal(out[0], `The push refers to repository [${reg.host}/t/bb]`);
  const inspectOf = async (): Promise<{ RootFS: { Layers: string[] }; RepoDigests: string[] }> => JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0];
  const diffId = (await inspectOf()).RootFS.Layers[0]!;
  assert.ok(out.includes(`${diffId.slice(7, 19)}: Preparing`), push.stdout);
  assert.ok(out.includes(`${diffId.slice(7, 19)}: Pushed`), push.stdout);
  const m = /^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/.exec(out.at(-1)!);
  assert.ok(m, push.stdout);
  const digest = m[1]!;

  // the registry holds that manifest: its bytes hash to the digest, its length is the size
  const inspect = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`]);
  assert.equal(inspect.status, 0, inspect.stderr?.toString());
  const raw = inspect.stdout;
  assert.equal(raw.length, Number(m[2]));
  const { createHash } = await import('node:crypto');
  assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, digest);
  const manifest = JSON.parse(raw.toString()) as { layers: Array<{ mediaType: string }>; config: { digest: string } };
  assert.equal(manifest.config.digest, id, 'the config (image ID) is pushed as it is');
  assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'an imported layer is pushed gzip-compressed');

  await cairnOk(root, ['rmi', ref]);
  const pull = await cairnOk(root, ['pull', ref]);
  const p = lines(pull.stdout);
  assert.equal(p[0], '1: Pulling from t/bb');
  assert.ok(p.some((l) => /^[0-9a-f]{12}: Pull complete$/.test(l)), pull.stdout);
  assert.ok(p.includes(`Digest: ${digest}`), pull.stdout);
  assert.ok(p.includes(`Status: Downloaded newer image for ${ref}`), pull.stdout);
  assert.equal(p.at(-1), ref);
  const ids = (await cairnOk(root, ['images', '-q', '--no-trunc', ref])).stdout.trim();
  assert.equal(ids, id, 'the pulled image has the pushed image ID');
  assert.deepEqual((await inspectOf()).RepoDigests, [`${reg.host}/t/bb@${digest}`]);

  // pulled again: up to date, no layer lines
  const again = lines((await cairnOk(root, ['pull', ref])).stdout);
  assert.deepEqual(again, ['1: Pulling from t/bb', `Digest: ${digest}`, `Status: Image is up to date for ${ref}`, ref]);
  // the pulled image pushes back unchanged: same manifest digest
  const push2 = lines((await cairnOk(root, ['push', ref])).stdout);
  assert.equal(push2.at(-1), `1: digest: ${digest} size: ${m[2]}`);
  assert.ok(push2.some((l) => l.endsWith(': Layer already exists')), push2.join('\n'));
});

test('an imported layer pushed twice is compressed once; another repository of the registry mounts it', async () => {
  const root = fresh('store');
  const ref = `${proxy.host}/t/twice:1`;
  await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() });
  const first = lines((await cairnOk(root, ['push', ref])).stdout);
  const seen = proxy.requests.length;
  const second = lines((await cairnOk(root, ['push', ref])).stdout);
  assert.equal(second.at(-1), first.at(-1), 'the same manifest digest and size');
  const id = second.find((l) => l.endsWith(': Preparing'))!.split(':')[0]!;
  assert.ok(second.includes(`${id}: Layer already exists`), second.join('\n'));
  const uploads = proxy.requests.slice(seen).filter((l) => l.startsWith('PATCH') || l.startsWith('POST'));
  assert.deepEqual(uploads, [], 'nothing uploaded the second time');

  await cairnOk(root, ['tag', ref, `${proxy.host}/t/other-repo:1`]);
  const mounted = lines((await cairnOk(root, ['push', `${proxy.host}/t/other-repo:1`])).stdout);
  assert.ok(mounted.includes(`${id}: Mounted from t/twice`), mounted.join('\n'));
  assert.equal(mounted.at(-1)!.replace(/^1: /, ''), first.at(-1)!.replace(/^1: /, ''));
});

test('a second image sharing the base downloads none of the base: "Already exists"', async () => {
  const src = await storeWithImages(proxy.host);
  await cairnOk(src, ['push', `${proxy.host}/t/a:1`]);
  await cairnOk(src, ['push', `${proxy.host}/t/b:1`]);
  const root = fresh('store');
  const before = proxy.blobBytes;
  await cairnOk(root, ['pull', `${proxy.host}/t/a:1`]);
  const afterA = proxy.blobBytes;
  assert.ok(afterA - before > 3 << 20, `image A's layers came through the proxy (${afterA - before} bytes)`);
  const pullB = await cairnOk(root, ['pull', `${proxy.host}/t/b:1`]);
  const out = lines(pullB.stdout);
  assert.equal(out.filter((l) => l.endsWith(': Already exists')).length, 2, pullB.stdout);
  assert.equal(out.filter((l) => l.endsWith(': Pull complete')).length, 1, pullB.stdout);
  const bBytes = proxy.blobBytes - afterA;
  // only B's own small layer and its config
  assert.ok(bBytes < 64 << 10, `pulling B moved ${bBytes} blob bytes`);
  // B's own layer, the one the store lacks, was asked for with the config, not after it; the
  // shared ones never
  const asked = proxy.requests.filter((r) => r.startsWith('GET /v2/t/b/blobs/'));
  const bLayers = (JSON.parse((await cairnOk(root, ['inspect', `${proxy.host}/t/b:1`])).stdout) as Array<{ RootFS: { Layers: string[] } }>)[0]!.RootFS.Layers;
  assert.equal(asked.length, 2, asked.join('\n'));
  const configOfB = (await cairnOk(root, ['inspect', '--format', '{{.Id}}', `${proxy.host}/t/b:1`])).stdout.trim();
  assert.ok(!asked[0]!.endsWith(configOfB) && asked[1]!.endsWith(configOfB), `the layer first, then the config:\n${asked.join('\n')}`);
  assert.equal(bLayers.length, 3);
  // pulled again, up to date: no layer is asked for, only the config (to know the image)
  const again = proxy.requests.length;
  await cairnOk(root, ['pull', `${proxy.host}/t/b:1`]);
  assert.deepEqual(proxy.requests.slice(again).filter((r) => r.includes('/blobs/')), [`GET /v2/t/b/blobs/${configOfB}`]);
  const ids = (await cairnOk(root, ['images', '-q', '--no-trunc'])).stdout.trim().split('\n').sort();
  const want = (await cairnOk(src, ['images', '-q', '--no-trunc', `${proxy.host}/t/a:1`])).stdout.trim();
  assert.ok(ids.includes(want));
});

test('a push pings the registry once, asks about its layers at once, and sends the config before the layers are all up', async () => {
  const src = await storeWithImages(proxy.host);
  // a repository of its own: none of its blobs is there yet
  const ref = `${proxy.host}/t/order:1`;
  await cairnOk(src, ['tag', `${proxy.host}/t/a:1`, ref]);
  const id = (await cairnOk(src, ['inspect', '--format', '{{.Id}}', ref])).stdout.trim();
  const before = proxy.requests.length;
  const out = lines((await cairnOk(src, ['push', ref])).stdout);
  const reqs = proxy.requests.slice(before);
  assert.equal(reqs.filter((r) => r === 'GET /v2/').length, 1, reqs.join('\n'));
  // Docker's lines all the same: each layer prepared, then pushed, then the digest
  assert.equal(out.filter((l) => l.endsWith(': Preparing')).length, 3, out.join('\n'));
  assert.equal(out.filter((l) => l.endsWith(': Pushed')).length, 3, out.join('\n'));
  assert.match(out.at(-1)!, /^1: digest: sha256:[0-9a-f]{64} size: \d+$/);
  const heads = reqs.map((r, i) => [r, i] as const).filter(([r]) => r.startsWith('HEAD /v2/t/order/blobs/'));
  const firstUpload = reqs.findIndex((r) => r.startsWith('POST /v2/t/order/blobs/uploads/'));
  assert.ok(heads.length >= 4 && heads.slice(0, 4).every(([, i]) => i < firstUpload), `every blob asked about before any upload:\n${reqs.join('\n')}`);
  const configPut = reqs.findIndex((r) => r.startsWith('PUT ') && r.includes(`digest=${encodeURIComponent(id)}`));
  const lastLayerPut = reqs.findLastIndex((r) => r.startsWith('PUT /v2/t/order/blobs/uploads/') && !r.includes(encodeURIComponent(id)));
  assert.ok(configPut >= 0 && configPut < lastLayerPut, `the config went up before the last layer was done:\n${reqs.join('\n')}`);
});

test("a push and a pull end as soon as they are done: Node's teardown does not close and checkpoint the store's database", async () => {
  // The connection ends with the process (StoreOptions.endsWithProcess): its write-ahead log stays
  // for the next command. Node's teardown would close it, which checkpoints the log and deletes it.
  const wal = (root: string): boolean => existsSync(join(root, 'metadata.db-wal'));
  const src = await storeWithImages(reg.host);
  await cairnOk(src, ['push', `${reg.host}/t/a:1`]);
  assert.ok(wal(src), 'the push left the log');
  const root = fresh('store');
  await cairnOk(root, ['pull', `${reg.host}/t/a:1`]);
  assert.ok(wal(root), 'the pull left the log');
  assert.equal((await cairnOk(root, ['images', '-q', `${reg.host}/t/a:1`])).stdout.trim().length, 12, 'the next command reads what the pull recorded');
});

test("a push and a pull make no Date: a process's first sets up V8's time zone from ICU's data (~12 ms after a dropped page cache)", async () => {
  // a preload that says on stderr where each Date is made (the process may end with _exit: said at once)
  const preload = join(dir.path, 'date-spy.cjs');
  writeFileSync(preload, `const fs = require('node:fs');
globalThis.Date = new Proxy(Date, { construct(target, args) { fs.writeSync(2, 'DATE MADE ' + new Error().stack.split('\\n')[2] + '\\n'); return Reflect.construct(target, args); } });\n`);
  const env = { NODE_OPTIONS: `--require=${preload}` };
  const src = await storeWithImages(reg.host);
  const push = await cairn(src, ['push', `${reg.host}/t/b:1`], { env });
  assert.equal(push.code, 0, push.stderr);
  assert.equal(push.stderr, '');
  const root = fresh('store');
  const pull = await cairn(root, ['pull', `${reg.host}/t/b:1`], { env });
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(pull.stderr, '');
  // the spy works: a command that shows times makes them
  const images = await cairn(root, ['images'], { env });
  assert.match(images.stderr, /DATE MADE/);
});

test('a blob cut off mid-body resumes with a Range request and moves less than 1.2x its size', async () => {
  const src = await storeWithImages(proxy.host);
  await cairnOk(src, ['push', `${proxy.host}/t/a:1`]);
  let start = proxy.blobBytes;
  await cairnOk(fresh('store'), ['pull', `${proxy.host}/t/a:1`]);
  const clean = proxy.blobBytes - start;
  start = proxy.blobBytes;
  const seen = proxy.requests.length;
  // the config (a few hundred bytes) is fetched first; the first layer blob over 1 MiB is cut there
  proxy.cutNextBlobAt(1 << 20);
  const r = await cairn(fresh('store'), ['pull', `${proxy.host}/t/a:1`]);
  assert.equal(r.code, 0, r.stderr);
  const moved = proxy.blobBytes - start;
  assert.ok(moved < 1.2 * clean, `moved ${moved} bytes against ${clean} for a clean pull`);
  const ranged = proxy.requests.slice(seen).filter((l) => / range=bytes=\d+-$/.test(l));
  assert.equal(ranged.length, 1, proxy.requests.slice(seen).join('\n'));
});

test('errors: Docker\'s one-line messages and exit codes; nothing is recorded', async () => {
  const root = fresh('store');
  let r = await cairn(root, ['pull', `${reg.host}/t/nosuch:1`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Error: manifest for ${reg.host}/t/nosuch:1 not found: manifest unknown: manifest unknown`);
  r = await cairn(root, ['pull', '127.0.0.1:1/t/x:1']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), 'Error: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused');
  r = await cairn(root, ['push', `${reg.host}/t/nosuch:1`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Error: An image does not exist locally with the tag: ${reg.host}/t/nosuch`);
  r = await cairn(root, ['pull', `${reg.host}/t/UPPER:1`]);
  assert.equal(r.code, 1);
  // the CLI's own parse, as Docker's says it (bare)
  assert.equal(r.stderr, 'invalid reference format: repository name must be lowercase\n');
  assert.equal((await cairnOk(root, ['images', '-q'])).stdout, '');
});

test('a registry that sends a layer not matching its digest: one error line naming the layer, nothing left behind', async () => {
  const src = await storeWithImages(proxy.host);
  await cairnOk(src, ['push', `${proxy.host}/t/a:1`]);
  const root = fresh('store');
  proxy.corruptNextBlob();
  const r = await cairn(root, ['pull', `${proxy.host}/t/a:1`]);
  assert.equal(r.code, 1, r.stdout);
  const errors = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0]!, /^Error: layer \d \(sha256:[0-9a-f]{64}\).*(digest mismatch|invalid|corrupt)/);
  assert.equal((await cairnOk(root, ['images', '-qa'])).stdout, '');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  const snaps = join(root, 'snapshots', 'overlay');
  assert.deepEqual(existsSync(snaps) ? readdirSync(snaps) : [], [], 'no snapshot is left');
  // and the same pull then works
  await cairnOk(root, ['pull', `${proxy.host}/t/a:1`]);
});

test('basic auth (htpasswd): refused without credentials, works with them from an auth file', async () => {
  const authReg = await startRegistry(join(dir.path, 'registry-auth'), { htpasswd: { alice: 's3cret' } });
  try {
    const root = fresh('store');
    const ref = `${authReg.host}/t/bb:1`;
    await cairnOk(root, ['import', '-', ref], { input: await busyboxTar() });
    let r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unauthorized/);
    const authfile = join(dir.path, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
    r = await cairn(root, ['push', '--authfile', authfile, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    await cairnOk(root, ['rmi', ref]);
    r = await cairn(root, ['pull', '--authfile', authfile, ref]);
    assert.equal(r.code, 0, r.stderr);
    writeFileSync(authfile, JSON.stringify({ auths: { [authReg.host]: { auth: Buffer.from('alice:wrong').toString('base64') } } }));
    await cairnOk(root, ['rmi', ref]);
    r = await cairn(root, ['pull', '--authfile', authfile, ref]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unauthorized/);

    // login checks the password with the registry before storing it; logout removes it
    const loginFile = join(dir.path, 'login', 'config.json');
    r = await cairn(root, ['login', '-u', 'alice', '--password-stdin', '--authfile', loginFile, authReg.host], { input: 'wrong\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unauthorized/);
    assert.equal(existsSync(loginFile), false, 'a refused login stores nothing');
    r = await cairn(root, ['login', '-u', 'alice', '--password-stdin', '--authfile', loginFile, authReg.host], { input: 's3cret\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Login Succeeded\n$/);
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret/);
    assert.equal(statSync(loginFile).mode & 0o777, 0o600);
    r = await cairn(root, ['pull', '--authfile', loginFile, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await cairnOk(root, ['logout', '--authfile', loginFile, authReg.host])).stdout, `Removing login credentials for ${authReg.host}\n`);
    assert.equal((await cairnOk(root, ['logout', '--authfile', loginFile, authReg.host])).stdout, `Not logged in to ${authReg.host}\n`);
    r = await cairn(root, ['login', '-u', 'alice', '--authfile', loginFile, authReg.host], { input: '' });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), 'Error: Cannot perform an interactive login from a non TTY device');
  } finally {
    await authReg.stop();
  }
});

test('bearer tokens (Distribution with token auth, a token server): asked for the scope each call needs, reused, refused without credentials', async () => {
  const tokens = await startTokenServer(join(dir.path, 'tokens'), { bob: 'hunter2' });
  const tokReg = await startRegistry(join(dir.path, 'registry-token'), { token: tokens.auth });
  try {
    const root = fresh('store');
    const ref = `${tokReg.host}/t/tok:1`;
    await cairnOk(root, ['load'], { input: archive });
    await cairnOk(root, ['tag', 't/a:1', ref]);
    let r = await cairn(root, ['push', ref]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unauthorized|denied/);
    const authfile = join(dir.path, 'token-auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [tokReg.host]: { auth: Buffer.from('bob:hunter2').toString('base64') } } }));
    const asked = tokens.requests.length;
    r = await cairn(root, ['push', '--authfile', authfile, ref]);
    assert.equal(r.code, 0, r.stderr);
    const pushAsks = tokens.requests.slice(asked);
    assert.ok(pushAsks.every((q) => q.user === 'bob' && q.service === 'cairn-test'), JSON.stringify(pushAsks));
    assert.ok(pushAsks.some((q) => q.scopes.includes('repository:t/tok:pull,push')), JSON.stringify(pushAsks));
    // one token per scope set, reused for the many calls of the push (HEADs, uploads, manifest)
    assert.ok(pushAsks.length <= 3, `${pushAsks.length} token requests`);
    await cairnOk(root, ['rmi', ref]);
    r = await cairn(root, ['pull', '--authfile', authfile, ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(tokens.requests.slice(asked).some((q) => q.scopes.includes('repository:t/tok:pull')));
    r = await cairn(fresh('store'), ['pull', ref]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unauthorized|denied/);
  } finally {
    await tokReg.stop();
    await tokens.close();
  }
});

test('pull -a: every tag of the repository; -q prints only the reference', async () => {
  const src = await storeWithImages(reg.host);
  await cairnOk(src, ['tag', `${reg.host}/t/a:1`, `${reg.host}/t/all:1`]);
  await cairnOk(src, ['tag', `${reg.host}/t/b:1`, `${reg.host}/t/all:2`]);
  await cairnOk(src, ['push', '-a', `${reg.host}/t/all`]);
  const root = fresh('store');
  const r = await cairnOk(root, ['pull', '-a', `${reg.host}/t/all`]);
  const out = lines(r.stdout);
  assert.ok(out.includes('1: Pulling from t/all') && out.includes('2: Pulling from t/all'), r.stdout);
  assert.equal(out.at(-1), `${reg.host}/t/all`);
  const tags = (await cairnOk(root, ['images', '--format', '{{.Tag}}', `${reg.host}/t/all`])).stdout.trim().split('\n').sort();
  assert.deepEqual(tags, ['1', '2']);
  const q = await cairnOk(fresh('store'), ['pull', '-q', `${reg.host}/t/all:2`]);
  assert.equal(q.stdout, `${reg.host}/t/all:2\n`);
});

test('an upload whose connection drops mid-body: Distribution loses the session, so the layer is sent again from its start after Docker\'s "Retrying in 5 seconds"', async () => {
  // The client asks the session where it stands (GET of its Location) and would resend only what
  // the registry lacks; Distribution 2.8 answers BLOB_UPLOAD_INVALID once a PATCH was cut (its
  // _state no longer matches the bytes written), so the layer is retried whole, as Docker does.
  const src = await storeWithImages(proxy.host);
  const ref = `${proxy.host}/t/resume:1`;
  await cairnOk(src, ['tag', 't/a:1', ref]);
  const seen = proxy.requests.length;
  const uploadedBefore = proxy.uploadBytes;
  proxy.cutNextUploadAt(1 << 20);
  const r = await cairn(src, ['push', ref]);
  assert.equal(r.code, 0, r.stderr);
  const out = r.stdout.split('\n');
  const retried = out.filter((l) => /: Retrying in \d seconds?$/.test(l));
  assert.deepEqual(retried.map((l) => l.replace(/^[0-9a-f]{12}: /, '')), ['Retrying in 5 seconds', 'Retrying in 4 seconds', 'Retrying in 3 seconds', 'Retrying in 2 seconds', 'Retrying in 1 second'], r.stdout);
  const id = retried[0]!.slice(0, 12);
  assert.ok(out.indexOf(`${id}: Pushed`) > out.indexOf(retried.at(-1)!), 'pushed after the retry');
  const statusChecks = proxy.requests.slice(seen).filter((l) => l.startsWith('GET') && l.includes('/blobs/uploads/'));
  assert.equal(statusChecks.length, 1, 'the upload session was asked where it stood');
  // everything went up once, plus the 1 MiB cut off (the registry could not keep it)
  // (asked of the registry itself: the proxy lives in this process, which spawnSync blocks)
  const manifest = JSON.parse(spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/t/resume:1`], { encoding: 'utf8' }).stdout);
  const blobs = manifest.layers.reduce((a: number, l: { size: number }) => a + l.size, 0) + manifest.config.size;
  const moved = proxy.uploadBytes - uploadedBefore;
  assert.ok(moved >= blobs + (1 << 20) && moved < blobs + (1 << 20) + (64 << 10), `moved ${moved} bytes for ${blobs} bytes of blobs`);
  const root = fresh('store');
  await cairnOk(root, ['pull', ref]);
  assert.equal((await cairnOk(root, ['images', '-q', '--no-trunc', ref])).stdout, (await cairnOk(src, ['images', '-q', '--no-trunc', ref])).stdout);
});

test("on a terminal, each layer's line is redrawn through Docker's states; the bar only above 110 columns", async () => {
  const seedRoot = await storeWithImages(reg.host);
  await cairnOk(seedRoot, ['push', `${reg.host}/t/a:1`]);
  for (const cols of [120, 100]) {
    const root = fresh('store');
    const cmd = `stty cols ${cols} rows 30; exec ${process.execPath} ${CAIRN} --root ${root} pull ${reg.host}/t/a:1`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout);
    const raw = r.stdout;
    // lines are redrawn in place (cursor up, erase line), not appended
    assert.match(raw, /\x1b\[\d+A/);
    assert.match(raw, /\x1b\[2K[0-9a-f]{12}: Pulling fs layer/);
    for (const state of ['Downloading', 'Verifying Checksum', 'Download complete', 'Extracting', 'Pull complete']) assert.ok(raw.includes(`: ${state}`), `${state} at ${cols} columns:\n${raw}`);
    if (cols > 110) assert.match(raw, /: Extracting \[={50}>\] +\d[\d.]*[kMG]?B\/\d[\d.]*[kMG]?B/);
    else {
      assert.ok(!/: (Downloading|Extracting) \[/.test(raw), `no bar at ${cols} columns`);
      assert.match(raw, /: Extracting +\d[\d.]*[kMG]?B\/\d[\d.]*[kMG]?B/);
    }
    assert.match(raw, /Status: Downloaded newer image for /);
    // the last frame drawn before "Digest:": each of the image's three layers "Pull complete"
    const frames = raw.slice(0, raw.indexOf('Digest:')).split(/\x1b\[\d+A/);
    const last = frames[frames.length - 1]!.split('\n').map((l) => l.replace(/\x1b\[2K|\r/g, '')).filter((l) => l !== '');
    assert.equal(last.length, 3, JSON.stringify(last));
    for (const l of last) assert.match(l, /^[0-9a-f]{12}: Pull complete$/);
  }
});
