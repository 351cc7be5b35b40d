/**
 * `cairn registry serve` (issue 13), first slice: the store served over the distribution API to
 * real clients — cairn's own and skopeo — with the same digests back; chunked uploads resumed
 * from the offset the server reports after a dropped connection (issue 10's resume target: less
 * than 1.2x the blob's size moved); cross-repository mounts; blobs stored once beside the store's
 * own images; the spec's errors for what a client gets wrong.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { cairn, cairnOk, busyboxTar, makeDockerArchive, makeTar, randomBytesSeeded, tempDir } from './helpers.js';
import { startCairnRegistry, startProxy, type Proxy, type Registry } from './registry.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let serverRoot: string;
let reg: Registry & { log: () => string };
let proxy: Proxy;
let archive: Buffer;
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

before(async () => {
  dir = await tempDir('cairn-serve-');
  serverRoot = join(dir.path, 'served');
  reg = await startCairnRegistry(serverRoot);
  proxy = await startProxy(reg.host);
  const bb = await busyboxTar();
  // 20 MiB of incompressible data: three 8 MiB PATCHes when pushed
  const big = await makeTar([{ path: 'opt/big.bin', content: randomBytesSeeded(20 << 20, 3) }]);
  const a = await makeTar([{ path: 'opt/a.txt', content: 'image a\n' }]);
  const b = await makeTar([{ path: 'opt/b.txt', content: 'image b\n' }]);
  archive = await makeDockerArchive([
    { layers: [bb, big, a], repoTags: ['t/a:1'] },
    { layers: [bb, big, b], repoTags: ['t/b:1'] },
  ]);
});

after(async () => {
  await proxy?.stop();
  await reg?.stop();
  await dir?.cleanup();
});

async function loaded(): Promise<string> {
  const root = fresh('store');
  await cairnOk(root, ['load'], { input: archive });
  return root;
}

test('serve says where it listens and what it serves', () => {
  assert.equal(reg.log(), `cairn registry: serving the store at ${serverRoot} (0 repositories) on http://${reg.host}\n`);
});

test('push, pull: the same image ID and manifest digest; skopeo reads and writes it; a second repository mounts the shared layers', async () => {
  const src = await loaded();
  const ref = `${reg.host}/t/a:1`;
  await cairnOk(src, ['tag', 't/a:1', ref]);
  const push = await cairnOk(src, ['push', ref]);
  const digest = /1: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)![1]!;
  const root = fresh('store');
  const pull = await cairnOk(root, ['pull', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
  const id = (r: string) => cairnOk(r, ['images', '-q', '--no-trunc', ref]).then((x) => x.stdout);
  assert.equal(await id(root), await id(src));

  // skopeo pulls it and pushes it under another name (its own upload and mount code): the manifest digest holds
  const copy = spawnSync('skopeo', ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${ref}`, `docker://${reg.host}/t/skopeo:1`], { encoding: 'utf8' });
  assert.equal(copy.status, 0, copy.stderr);
  const raw = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/t/skopeo:1`]);
  assert.equal(raw.status, 0);
  assert.equal(sha(raw.stdout), digest);

  // t/b shares the busybox and big layers: mounted from t/a, not uploaded again
  const ref2 = `${reg.host}/t/b:1`;
  await cairnOk(src, ['tag', 't/b:1', ref2]);
  const push2 = await cairnOk(src, ['push', ref2]);
  assert.equal((push2.stdout.match(/: Mounted from t\/a$/gm) ?? []).length, 2, push2.stdout);
  const tags = await (await fetch(`http://${reg.host}/v2/_catalog`)).json();
  assert.deepEqual(tags, { repositories: ['t/a', 't/b', 't/skopeo'] });
  // the catalog a page at a time
  let page = await fetch(`http://${reg.host}/v2/_catalog?n=2`);
  assert.deepEqual(await page.json(), { repositories: ['t/a', 't/b'] });
  assert.equal(page.headers.get('link'), '</v2/_catalog?last=t%2Fb&n=2>; rel="next"');
  page = await fetch(`http://${reg.host}/v2/_catalog?n=2&last=t%2Fb`);
  assert.deepEqual(await page.json(), { repositories: ['t/skopeo'] });
  assert.equal(page.headers.get('link'), null);
});

test('blobs are stored once: the served store pulling from itself keeps one file per blob', async () => {
  const src = await loaded();
  const ref = `${reg.host}/t/once:1`;
  await cairnOk(src, ['tag', 't/a:1', ref]);
  await cairnOk(src, ['push', ref]);
  const blobsDir = join(serverRoot, 'content', 'blobs', 'sha256');
  const before = readdirSync(blobsDir).length;
  // the server's own store pulls the image it serves: its compressed layers are the served blobs
  await cairnOk(serverRoot, ['pull', ref]);
  const added = readdirSync(blobsDir).length - before;
  // only tar-split records are new (a pulled layer's record of its tar); no layer blob twice
  const manifest = (await (await fetch(`http://${reg.host}/v2/t/once/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ digest: string }> };
  for (const l of manifest.layers) assert.ok(existsSync(join(blobsDir, l.digest.slice(7))));
  assert.ok(added <= manifest.layers.length, `${added} blobs added`);
  await cairnOk(serverRoot, ['rmi', ref]);
  // the repository still holds every blob it serves
  const again = await cairn(fresh('store'), ['pull', ref]);
  assert.equal(again.code, 0, again.stderr);
});

test('a chunked upload whose connection drops mid-PATCH resumes from the offset the server reports: less than 1.2x the blob moved', async () => {
  const src = await loaded();
  const ref = `${proxy.host}/t/resume:1`;
  await cairnOk(src, ['tag', 't/a:1', ref]);
  const before = proxy.uploadBytes;
  const seen = proxy.requests.length;
  proxy.cutNextUploadAt(5 << 20);
  const push = await cairn(src, ['push', ref]);
  assert.equal(push.code, 0, push.stderr);
  assert.doesNotMatch(push.stdout, /Retrying/);
  const reqs = proxy.requests.slice(seen);
  assert.ok(reqs.some((l) => l.startsWith('GET') && l.includes('/blobs/uploads/')), 'the session was asked where it stood');
  const manifest = (await (await fetch(`http://${reg.host}/v2/t/resume/manifests/1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { layers: Array<{ size: number }>; config: { size: number } };
  const sizes = [...manifest.layers.map((l) => l.size), manifest.config.size];
  const total = sizes.reduce((x, y) => x + y, 0);
  const moved = proxy.uploadBytes - before;
  assert.ok(moved >= total && moved < 1.2 * total, `moved ${moved} bytes for ${total}`);
  const biggest = Math.max(...sizes);
  assert.ok(moved - total < 0.2 * biggest, `the big blob moved ${(moved - total) / biggest} more than once`);
  const root = fresh('store');
  await cairnOk(root, ['pull', `${reg.host}/t/resume:1`]);
});

test("the spec's errors: unknown manifests and blobs, another repository's blob, bad names, a manifest naming a missing blob, a wrong digest, a chunk out of order", async () => {
  const base = `http://${reg.host}/v2`;
  const code = async (r: Response): Promise<string> => ((await r.json()) as { errors: Array<{ code: string }> }).errors[0]!.code;
  let r = await fetch(`${base}/t/nosuch/manifests/1`);
  assert.equal(r.status, 404);
  assert.equal(await code(r), 'MANIFEST_UNKNOWN');
  // a tag outside the grammar names nothing (as the conformance suite asks: 404), and cannot be put
  r = await fetch(`${base}/t/own/manifests/.INVALID_MANIFEST_NAME`);
  assert.equal(r.status, 404);
  assert.equal(await code(r), 'MANIFEST_UNKNOWN');
  r = await fetch(`${base}/t/own/manifests/.bad`, { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'TAG_INVALID');
  r = await fetch(`${base}/t/a/blobs/sha256:${'0'.repeat(64)}`);
  assert.equal(r.status, 404);
  assert.equal(await code(r), 'BLOB_UNKNOWN');
  r = await fetch(`${base}/t/UPPER/manifests/1`);
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'NAME_INVALID');
  // a path with `..` (sent as it is: fetch would normalise it away)
  const raw = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(reg.host.split(':')[1]), path: '/v2/t/../etc/manifests/1' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(raw.status, 400);
  assert.equal(JSON.parse(raw.body).errors[0].code, 'NAME_INVALID');

  // a blob pushed to t/own is not served from t/other without a mount
  const blob = Buffer.from('only in t/own\n');
  r = await fetch(`${base}/t/own/blobs/uploads/?digest=${sha(blob)}`, { method: 'POST', body: blob });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('docker-content-digest'), sha(blob));
  assert.equal((await fetch(`${base}/t/own/blobs/${sha(blob)}`)).status, 200);
  r = await fetch(`${base}/t/other/blobs/${sha(blob)}`);
  assert.equal(r.status, 404);
  // a Range request
  r = await fetch(`${base}/t/own/blobs/${sha(blob)}`, { headers: { Range: 'bytes=5-6' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 5-6/${blob.length}`);
  assert.equal(await r.text(), 'in');

  // a manifest naming a blob the repository lacks is refused, and is not listed
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  r = await fetch(`${base}/t/own/blobs/uploads/?digest=${sha(config)}`, { method: 'POST', body: config });
  assert.equal(r.status, 201);
  const manifest = (layer: string) =>
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 14 }] }));
  r = await fetch(`${base}/t/own/manifests/1`, { method: 'PUT', body: manifest(`sha256:${'1'.repeat(64)}`), headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'MANIFEST_BLOB_UNKNOWN');
  assert.equal((await fetch(`${base}/t/own/manifests/1`)).status, 404);
  const good = manifest(sha(blob));
  // by digest, a digest that does not match the body
  r = await fetch(`${base}/t/own/manifests/sha256:${'2'.repeat(64)}`, { method: 'PUT', body: good, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'DIGEST_INVALID');
  r = await fetch(`${base}/t/own/manifests/1`, { method: 'PUT', body: good, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('docker-content-digest'), sha(good));

  // an upload finished under the wrong digest: refused, nothing visible
  r = await fetch(`${base}/t/own/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  const loc = new URL(r.headers.get('location')!, `http://${reg.host}`);
  r = await fetch(loc, { method: 'PATCH', body: Buffer.from('abc'), headers: { 'Content-Range': '0-2', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('range'), '0-2');
  // a chunk that does not start where the upload stands: 416, and where it stands
  r = await fetch(loc, { method: 'PATCH', body: Buffer.from('xyz'), headers: { 'Content-Range': '5-7', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get('range'), '0-2');
  const wrong = `sha256:${'3'.repeat(64)}`;
  const put = new URL(loc);
  put.searchParams.set('digest', wrong);
  r = await fetch(put, { method: 'PUT' });
  assert.equal(r.status, 400);
  assert.equal(await code(r), 'DIGEST_INVALID');
  assert.equal((await fetch(`${base}/t/own/blobs/${wrong}`)).status, 404);
  assert.equal((await fetch(loc)).status, 404, 'the session is gone');
});

test('tags are listed in order, a page at a time, with a Link to the next', async () => {
  const src = await loaded();
  for (const t of ['3', '1', '2']) {
    await cairnOk(src, ['tag', 't/a:1', `${reg.host}/t/pages:${t}`]);
    await cairnOk(src, ['push', `${reg.host}/t/pages:${t}`]);
  }
  let r = await fetch(`http://${reg.host}/v2/t/pages/tags/list?n=2`);
  assert.deepEqual(await r.json(), { name: 't/pages', tags: ['1', '2'] });
  assert.equal(r.headers.get('link'), '</v2/t/pages/tags/list?last=2&n=2>; rel="next"');
  r = await fetch(`http://${reg.host}/v2/t/pages/tags/list?n=2&last=2`);
  assert.deepEqual(await r.json(), { name: 't/pages', tags: ['3'] });
  assert.equal(r.headers.get('link'), null);
  r = await fetch(`http://${reg.host}/v2/t/nosuch/tags/list`);
  assert.equal(r.status, 404);
});

test('--htpasswd: every request needs a user of the file (401 with a Basic challenge); login, push and pull with one; skopeo with --creds', async () => {
  const file = join(dir.path, 'htpasswd');
  const h = spawnSync('htpasswd', ['-cbB', file, 'alice', 's3cret'], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  const root = fresh('served');
  const authed = await startCairnRegistry(root, ['--htpasswd', file]);
  try {
    assert.match(authed.log(), new RegExp(`\\(users of ${file.replace(/[.]/g, '\\.')}\\)\\n$`));
    let r = await fetch(`http://${authed.host}/v2/`);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic realm="cairn registry"');
    assert.equal(((await r.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNAUTHORIZED');
    r = await fetch(`http://${authed.host}/v2/`, { headers: { Authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` } });
    assert.equal(r.status, 401);
    const src = await loaded();
    const ref = `${authed.host}/t/auth:1`;
    await cairnOk(src, ['tag', 't/a:1', ref]);
    const denied = await cairn(src, ['push', ref]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /unauthorized/);
    const authfile = join(dir.path, `auth-${n}.json`);
    const bad = await cairn(src, ['login', '-u', 'alice', '-p', 'nope', '--authfile', authfile, authed.host]);
    assert.equal(bad.code, 1);
    await cairnOk(src, ['login', '-u', 'alice', '--password-stdin', '--authfile', authfile, authed.host], { input: 's3cret\n' });
    await cairnOk(src, ['push', '--authfile', authfile, ref]);
    const copy = spawnSync('skopeo', ['inspect', '--tls-verify=false', '--creds', 'alice:s3cret', `docker://${ref}`], { encoding: 'utf8' });
    assert.equal(copy.status, 0, copy.stderr);
    const other = fresh('store');
    await cairnOk(other, ['pull', '--authfile', authfile, ref]);
  } finally {
    await authed.stop();
  }
});

test('--tls-cert/--tls-key: https, verified by a client that trusts the CA', async () => {
  const { makePki } = await import('./registry.js');
  const pki = makePki(join(dir.path, 'pki'), '127.0.0.1');
  const root = fresh('served');
  const secure = await startCairnRegistry(root, ['--tls-cert', pki.serverCert, '--tls-key', pki.serverKey]);
  try {
    assert.match(secure.log(), new RegExp(`on https://${secure.host.replace(/[.]/g, '\\.')}\\n$`));
    // curl verifies the certificate against the test CA
    const curl = spawnSync('curl', ['-sS', '--cacert', pki.caCert, `https://${secure.host}/v2/`], { encoding: 'utf8' });
    assert.equal(curl.status, 0, curl.stderr);
    assert.equal(curl.stdout, '{}');
    const src = await loaded();
    const ref = `${secure.host}/t/tls:1`;
    await cairnOk(src, ['tag', 't/a:1', ref]);
    await cairnOk(src, ['push', ref]);
    const certDir = join(dir.path, 'certs');
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(certDir, { recursive: true });
    copyFileSync(pki.caCert, join(certDir, 'ca.crt'));
    const sk = spawnSync('skopeo', ['inspect', '--cert-dir', certDir, `docker://${ref}`], { encoding: 'utf8' });
    assert.equal(sk.status, 0, sk.stderr);
  } finally {
    await secure.stop();
  }
});

test('a bad htpasswd file or TLS key stops serve at start with one line', async () => {
  const file = join(dir.path, 'bad-htpasswd');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'bob:{SHA}fEqNCco3Yq9h5ZUglD3CZJT4lBs=\n');
  let r = await cairn(fresh('served'), ['registry', 'serve', '--addr', '127.0.0.1:0', '--htpasswd', file]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `Error: htpasswd file ${file}, line 1: not a user with a bcrypt hash (make entries with htpasswd -B)\n`);
  r = await cairn(fresh('served'), ['registry', 'serve', '--addr', '127.0.0.1:0', '--tls-cert', file, '--tls-key', join(dir.path, 'nope.key')]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `Error: TLS key ${join(dir.path, 'nope.key')}: no such file\n`);
  r = await cairn(fresh('served'), ['registry', 'serve', '--addr', 'nowhere']);
  assert.equal(r.code, 125);
  assert.equal(r.stderr, 'Error: invalid --addr "nowhere": HOST:PORT, e.g. 127.0.0.1:5000\n');
});

test('the referrers API: artifacts whose subject is a manifest are listed (and filtered by artifactType); the PUT answers OCI-Subject', async () => {
  const base = `http://${reg.host}/v2/t/refs`;
  const put = async (path: string, body: Buffer, type = 'application/octet-stream'): Promise<Response> => fetch(`${base}/${path}`, { method: 'PUT', body, headers: { 'Content-Type': type } });
  const post = async (body: Buffer): Promise<void> => {
    const r = await fetch(`${base}/blobs/uploads/?digest=${sha(body)}`, { method: 'POST', body });
    assert.equal(r.status, 201);
  };
  const empty = Buffer.from('{}');
  const layer = Buffer.from('a signature');
  await post(empty);
  await post(layer);
  const OCI = 'application/vnd.oci.image.manifest.v1+json';
  const subject = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(empty), size: 2 }, layers: [{ mediaType: 'application/vnd.example.data', digest: sha(layer), size: layer.length }] }));
  assert.equal((await put('manifests/subject', subject, OCI)).status, 201);
  const artifact = (type: string, note: string): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI,
        artifactType: type,
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(empty), size: 2 },
        layers: [{ mediaType: 'application/vnd.example.data', digest: sha(layer), size: layer.length }],
        subject: { mediaType: OCI, digest: sha(subject), size: subject.length },
        annotations: { note },
      }),
    );
  const sig = artifact('application/vnd.example.signature', 'sig');
  const sbom = artifact('application/vnd.example.sbom', 'sbom');
  for (const a of [sig, sbom]) {
    const r = await put(`manifests/${sha(a)}`, a, OCI);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('oci-subject'), sha(subject));
  }
  let r = await fetch(`${base}/referrers/${sha(subject)}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/vnd.oci.image.index.v1+json');
  const all = (await r.json()) as { manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string> }> };
  assert.deepEqual(all.manifests.map((m) => [m.digest, m.artifactType, m.annotations.note]).sort(), [
    [sha(sig), 'application/vnd.example.signature', 'sig'],
    [sha(sbom), 'application/vnd.example.sbom', 'sbom'],
  ].sort());
  r = await fetch(`${base}/referrers/${sha(subject)}?artifactType=application/vnd.example.sbom`);
  assert.equal(r.headers.get('oci-filters-applied'), 'artifactType');
  assert.deepEqual(((await r.json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest), [sha(sbom)]);
  // a subject that is not here: an empty list, not an error
  r = await fetch(`${base}/referrers/sha256:${'9'.repeat(64)}`);
  assert.equal(r.status, 200);
  assert.deepEqual(((await r.json()) as { manifests: unknown[] }).manifests, []);
});

test('sha512: blobs uploaded and manifests put under sha512 digests are verified in sha512 and served by them', async () => {
  const { createHash: h } = await import('node:crypto');
  const sha512 = (b: Buffer): string => `sha512:${h('sha512').update(b).digest('hex')}`;
  const base = `http://${reg.host}/v2/t/sha512`;
  const blob = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  let r = await fetch(`${base}/blobs/uploads/?digest=${sha512(blob)}`, { method: 'POST', body: blob });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('docker-content-digest'), sha512(blob));
  r = await fetch(`${base}/blobs/${sha512(blob)}`);
  assert.equal(r.status, 200);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), blob);
  r = await fetch(`${base}/blobs/uploads/?digest=${sha512(Buffer.from('x'))}`, { method: 'POST', body: blob });
  assert.equal(r.status, 400);
  const OCI = 'application/vnd.oci.image.manifest.v1+json';
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha512(blob), size: blob.length }, layers: [] }));
  r = await fetch(`${base}/manifests/${sha512(m)}`, { method: 'PUT', body: m, headers: { 'Content-Type': OCI } });
  assert.equal(r.status, 201, await r.text());
  assert.equal(r.headers.get('docker-content-digest'), sha512(m));
  r = await fetch(`${base}/manifests/${sha512(m)}`, { headers: { Accept: OCI } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-content-digest'), sha512(m));
});

test('registry gc: links no manifest needs are dropped (after the grace period), untagged manifests with --delete-untagged; what is pushed stays pullable', async () => {
  const base = `http://${reg.host}/v2/t/gc`;
  const orphan = Buffer.from('uploaded, never named by a manifest\n');
  assert.equal((await fetch(`${base}/blobs/uploads/?digest=${sha(orphan)}`, { method: 'POST', body: orphan })).status, 201);
  const src = await loaded();
  await cairnOk(src, ['tag', 't/a:1', `${reg.host}/t/gc:1`]);
  // image 2: one layer of its own, in no other repository
  await cairnOk(src, ['import', '-', `${reg.host}/t/gc:2`], { input: await makeTar([{ path: 'only-here.bin', content: randomBytesSeeded(1 << 16, 77) }]) });
  await cairnOk(src, ['push', `${reg.host}/t/gc:1`]);
  const pushed2 = await cairnOk(src, ['push', `${reg.host}/t/gc:2`]);
  const digest2 = /2: digest: (sha256:[0-9a-f]{64})/.exec(pushed2.stdout)![1]!;
  const m2 = (await (await fetch(`${base}/manifests/${digest2}`)).json()) as { layers: Array<{ digest: string }> };
  const own2 = m2.layers.at(-1)!.digest;
  assert.equal((await fetch(`${base}/manifests/2`, { method: 'DELETE' })).status, 202, 'the tag goes; the manifest stays');
  assert.equal((await fetch(`${base}/manifests/${digest2}`)).status, 200);
  const blobFile = (d: string): string => join(serverRoot, 'content', 'blobs', 'sha256', d.slice(7));
  const { Cairn } = await import('../src/index.js');
  const c = await Cairn.open({ root: serverRoot });
  try {
    // within the grace period nothing goes
    let r = await c.registryGc();
    assert.ok(!r.links.includes(`t/gc@${sha(orphan)}`));
    r = await c.registryGc({ graceMs: 0 });
    assert.ok(r.links.includes(`t/gc@${sha(orphan)}`), JSON.stringify(r));
    assert.ok(!existsSync(blobFile(sha(orphan))), 'the orphan blob is removed');
    assert.ok(existsSync(blobFile(own2)), 'an untagged manifest still holds its layers');
    r = await c.registryGc({ graceMs: 0, deleteUntagged: true });
    // (other tests' manifests pushed by digest alone go too)
    assert.deepEqual(r.manifests.filter((m) => m.startsWith('t/gc@')), [`t/gc@${digest2}`]);
    assert.ok(!existsSync(blobFile(own2)), "the untagged image's own layer is removed");
  } finally {
    c.close();
  }
  assert.equal((await fetch(`${base}/manifests/${digest2}`)).status, 404);
  const root = fresh('store');
  await cairnOk(root, ['pull', `${reg.host}/t/gc:1`]);
  // the CLI: nothing more to do
  const again = await cairnOk(serverRoot, ['registry', 'gc', '--delete-untagged']);
  assert.doesNotMatch(again.stdout, /t\/gc@/);
});

test("the rest of what the distribution spec's conformance suite checks: HEADs, streamed and retried chunks, status, cancel, mounts without from, deletes", async () => {
  const base = `http://${reg.host}/v2/t/spec`;
  const layer = Buffer.from('layer bytes for the spec test\n');
  // a streamed upload: PATCH without Content-Range, then PUT with the digest
  let r = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202);
  assert.ok(r.headers.get('docker-upload-uuid'));
  let loc = new URL(r.headers.get('location')!, `http://${reg.host}`);
  r = await fetch(loc, { method: 'PATCH', body: layer.subarray(0, 10), headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get('range'), '0-9');
  // a chunk sent again (it starts before where the upload stands): 416
  r = await fetch(loc, { method: 'PATCH', body: layer.subarray(0, 10), headers: { 'Content-Range': '0-9', 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 416);
  // the status of the session: 204, its range and location
  r = await fetch(loc);
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('range'), '0-9');
  assert.equal(new URL(r.headers.get('location')!, `http://${reg.host}`).pathname, loc.pathname);
  const put = new URL(loc);
  put.searchParams.set('digest', sha(layer));
  r = await fetch(put, { method: 'PUT', body: layer.subarray(10), headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201);
  // HEAD of a blob: its size and digest, no body
  r = await fetch(`${base}/blobs/${sha(layer)}`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-length'), String(layer.length));
  assert.equal(r.headers.get('docker-content-digest'), sha(layer));
  assert.equal((await fetch(`${base}/blobs/sha256:${'4'.repeat(64)}`, { method: 'HEAD' })).status, 404);

  // a session cancelled: gone
  r = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
  loc = new URL(r.headers.get('location')!, `http://${reg.host}`);
  assert.equal((await fetch(loc, { method: 'DELETE' })).status, 204);
  assert.equal((await fetch(loc)).status, 404);

  // a mount without from: any repository holding the blob lends it (automatic content discovery)
  r = await fetch(`http://${reg.host}/v2/t/spec-other/blobs/uploads/?mount=${sha(layer)}`, { method: 'POST' });
  assert.equal(r.status, 201);
  assert.equal((await fetch(`http://${reg.host}/v2/t/spec-other/blobs/${sha(layer)}`)).status, 200);
  // a mount of a blob nobody holds: an upload session instead
  r = await fetch(`http://${reg.host}/v2/t/spec-other/blobs/uploads/?mount=sha256:${'5'.repeat(64)}&from=t/spec`, { method: 'POST' });
  assert.equal(r.status, 202);

  // a manifest with no layers; HEAD by tag and digest; deleted by tag, then by digest
  const config = Buffer.from('{}');
  assert.equal((await fetch(`${base}/blobs/uploads/?digest=${sha(config)}`, { method: 'POST', body: config })).status, 201);
  const OCI = 'application/vnd.oci.image.manifest.v1+json';
  const m = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(config), size: 2 }, layers: [] }));
  for (const tag of ['a', 'b']) assert.equal((await fetch(`${base}/manifests/${tag}`, { method: 'PUT', body: m, headers: { 'Content-Type': OCI } })).status, 201);
  r = await fetch(`${base}/manifests/a`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-content-digest'), sha(m));
  assert.equal(r.headers.get('content-type'), OCI);
  assert.equal((await fetch(`${base}/manifests/${sha(m)}`, { method: 'HEAD' })).status, 200);
  assert.equal((await fetch(`${base}/manifests/a`, { method: 'DELETE' })).status, 202);
  assert.deepEqual(((await (await fetch(`${base}/tags/list`)).json()) as { tags: string[] }).tags, ['b']);
  assert.equal((await fetch(`${base}/manifests/${sha(m)}`, { method: 'DELETE' })).status, 202);
  assert.equal((await fetch(`${base}/manifests/${sha(m)}`)).status, 404);
  assert.equal((await fetch(`${base}/manifests/b`)).status, 404, 'its tags went with it');
  assert.deepEqual(((await (await fetch(`${base}/tags/list`)).json()) as { tags: string[] }).tags, []);
  // a blob deleted: 404 after
  assert.equal((await fetch(`${base}/blobs/${sha(layer)}`, { method: 'DELETE' })).status, 202);
  assert.equal((await fetch(`${base}/blobs/${sha(layer)}`)).status, 404);
  assert.equal((await fetch(`${base}/blobs/${sha(layer)}`, { method: 'DELETE' })).status, 404);
});
