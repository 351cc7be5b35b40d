/**
 * Hostile or broken registries (issue 10, point 6): a loopback server written here answers as a
 * registry would, except for one thing per test. Every case ends in one line naming the problem
 * (exit 1), and leaves nothing behind: no image, no blob outside the ingest area, no snapshot.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { cairn, cairnOk, makeTar, tempDir } from './helpers.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let dir: { path: string; cleanup: () => Promise<void> };
let n = 0;
const fresh = (name: string): string => join(dir.path, `${name}-${++n}`);

/** A small valid image: one gzip'd layer, its config and manifest. */
let layer: Buffer;
let config: Buffer;
let manifest: Buffer;

type Handler = (req: IncomingMessage, res: ServerResponse) => boolean | void;

interface Fake {
  host: string;
  /** Requests seen: method, url, Authorization header. */
  seen: Array<{ method: string; url: string; auth: string | undefined }>;
  /** Tried before the registry's normal answers; return true when it answered. */
  override: Handler | undefined;
  close(): Promise<void>;
}

/** The normal answers of a registry holding image t/x:1. */
function normal(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '';
  const send = (status: number, body: Buffer, type = 'application/octet-stream', extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(body.length), ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (url === '/v2/') return send(200, Buffer.from('{}'), 'application/json');
  if (url === '/v2/t/x/manifests/1' || url === `/v2/t/x/manifests/${sha(manifest)}`) {
    return send(200, manifest, 'application/vnd.docker.distribution.manifest.v2+json', { 'Docker-Content-Digest': sha(manifest) });
  }
  if (url === `/v2/t/x/blobs/${sha(config)}`) return send(200, config);
  if (url === `/v2/t/x/blobs/${sha(layer)}`) return send(200, layer);
  send(404, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'), 'application/json');
}

async function startFake(): Promise<Fake> {
  const fake: Fake = { host: '', seen: [], override: undefined, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    fake.seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization });
    if (fake.override?.(req, res) === true) return;
    normal(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return fake;
}

let fake: Fake;

before(async () => {
  dir = await tempDir('cairn-hostile-');
  layer = gzipSync(await makeTar([{ path: 'etc/hello', content: Buffer.from('hello\n') }]));
  const diffId = sha((await import('node:zlib')).gunzipSync(layer));
  config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'test' }] }));
  manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha(layer) }],
  }));
  fake = await startFake();
});

after(async () => {
  await fake?.close();
  await dir?.cleanup();
});

/** Pull from the fake registry; the pull must fail with one line matching `pattern` and leave nothing. */
async function failsCleanly(ref: string, pattern: RegExp, command: string[] = ['pull']): Promise<string> {
  const root = fresh('store');
  const r = await cairn(root, [...command, ref]);
  assert.equal(r.code, 1, `exit code; stdout: ${r.stdout}`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.equal((await cairnOk(root, ['images', '-qa'])).stdout, '', 'no image');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), [], 'nothing in the ingest area');
  const blobs = join(root, 'content', 'blobs', 'sha256');
  assert.deepEqual(existsSync(blobs) ? readdirSync(blobs) : [], [], 'no blob kept');
  const snaps = join(root, 'snapshots', 'overlay');
  assert.deepEqual(existsSync(snaps) ? readdirSync(snaps) : [], [], 'no snapshot');
  return lines[0]!;
}

test('the fake registry serves a good image (the cases below differ from it in one thing)', async () => {
  fake.override = undefined;
  const root = fresh('store');
  await cairnOk(root, ['pull', `${fake.host}/t/x:1`]);
  assert.equal(JSON.parse((await cairnOk(root, ['inspect', `${fake.host}/t/x:1`])).stdout)[0].Id, sha(config));
});

test('a manifest above the size cap is refused before it is read whole', async () => {
  fake.override = (req, res) => {
    if (req.url !== '/v2/t/x/manifests/1') return false;
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json', 'Content-Length': String(64 << 20) });
    res.end(Buffer.alloc(1 << 16, 0x20));
    return true;
  };
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: manifest for .*: 67108864 bytes is more than the 4194304 allowed$/);
});

test('a manifest whose content does not match the digest asked for', async () => {
  const other = Buffer.from(manifest.toString().replace('"schemaVersion":2', '"schemaVersion": 2'));
  fake.override = (req, res) => {
    if (!req.url?.startsWith('/v2/t/x/manifests/sha256:')) return false;
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' });
    res.end(other);
    return true;
  };
  await failsCleanly(`${fake.host}/t/x@${sha(manifest)}`, /^Error: manifest for .*: the registry sent content with digest sha256:[0-9a-f]{64}$/);
});

test('a layer blob whose Content-Length lies (the body stops short every time): retried from where it stopped, then an error', async () => {
  fake.override = (req, res) => {
    if (req.url !== `/v2/t/x/blobs/${sha(layer)}`) return false;
    res.writeHead(200, { 'Content-Length': String(layer.length) });
    res.write(layer.subarray(0, 10));
    res.socket?.destroy();
    return true;
  };
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: (Get "http:\/\/[^"]+\/blobs\/sha256:[0-9a-f]{64}": connection reset by peer|blob sha256:[0-9a-f]{64}: the connection closed after \d+ of \d+ bytes)$/);
  const gets = fake.seen.filter((s) => s.url === `/v2/t/x/blobs/${sha(layer)}`);
  assert.ok(gets.length >= 2, 'the download was tried again');
});

test('an index that nests without end is refused at a depth limit', async () => {
  // a chain of indexes, each naming the next by its digest (built from the bottom up)
  const byDigest = new Map<string, Buffer>();
  let below = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  byDigest.set(sha(below), below);
  for (let k = 0; k < 12; k++) {
    const up = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha(below), size: below.length, platform: { os: 'linux', architecture: 'amd64' } }],
    }));
    byDigest.set(sha(up), up);
    below = up;
  }
  const top = below;
  fake.override = (req, res) => {
    const m = /^\/v2\/t\/x\/manifests\/(.+)$/.exec(req.url ?? '');
    if (!m) return false;
    const body = m[1] === 'deep' ? top : byDigest.get(m[1]!);
    if (!body) return false;
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
    res.end(body);
    return true;
  };
  await failsCleanly(`${fake.host}/t/x:deep`, /^Error: .*indexes nested more than 4 deep$/);
});

test('5xx answers are retried with backoff, then reported', async () => {
  let failures = 2;
  fake.override = (req, res) => {
    if (req.url !== '/v2/t/x/manifests/1' || failures-- <= 0) return false;
    res.writeHead(503, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
    return true;
  };
  await cairnOk(fresh('store'), ['pull', `${fake.host}/t/x:1`]);
  fake.override = (req, res) => {
    if (req.url !== '/v2/t/x/manifests/1') return false;
    res.writeHead(503, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
    return true;
  };
  const before = fake.seen.length;
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: manifest for .*: unavailable: try later$/);
  assert.equal(fake.seen.slice(before).filter((s) => s.url === '/v2/t/x/manifests/1').length, 5, 'one try and four retries');
});

test('a 401 without a challenge cairn can answer; a token server that answers garbage', async () => {
  fake.override = (req, res) => {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}');
    return true;
  };
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: .*unauthorized/);
  fake.override = (req, res) => {
    if (req.url?.startsWith('/token')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('<html>not a token</html>');
      return true;
    }
    if (req.headers.authorization) return false;
    res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${fake.host}/token",service="fake",scope="repository:t/x:pull"` });
    res.end();
    return true;
  };
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: .*the token server answered something that is not JSON$/);
});

test('a blob redirected to another host is fetched there without the credentials', async () => {
  const storage = await startFake();
  try {
    storage.override = (req, res) => {
      res.writeHead(200, { 'Content-Length': String(layer.length) });
      res.end(layer);
      return true;
    };
    const storageHost = storage.host.replace('127.0.0.1', 'localhost');
    fake.override = (req, res) => {
      if (req.url?.startsWith('/token')) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"token":"sekret-token"}');
        return true;
      }
      if (!req.headers.authorization) {
        res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${fake.host}/token",service="fake"` });
        res.end();
        return true;
      }
      if (req.url === `/v2/t/x/blobs/${sha(layer)}`) {
        res.writeHead(307, { Location: `http://${storageHost}/storage/blob` });
        res.end();
        return true;
      }
      return false;
    };
    const root = fresh('store');
    await cairnOk(root, ['pull', `${fake.host}/t/x:1`]);
    assert.ok(fake.seen.some((s) => s.auth === 'Bearer sekret-token'), 'the registry got the token');
    assert.deepEqual(storage.seen.map((s) => s.auth), [undefined], 'the storage host got no credentials');
  } finally {
    await storage.close();
  }
});

test('a layer descriptor of absurd size is refused before anything is downloaded', async () => {
  const huge = Buffer.from(manifest.toString().replace(`"size":${layer.length}`, '"size":4503599627370496'));
  fake.override = (req, res) => {
    if (req.url !== '/v2/t/x/manifests/1') return false;
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' });
    res.end(huge);
    return true;
  };
  const before = fake.seen.length;
  await failsCleanly(`${fake.host}/t/x:1`, /^Error: .*layer 0 .*size 4503599627370496/);
  assert.equal(fake.seen.slice(before).filter((s) => s.url.includes(sha(layer))).length, 0, 'the layer was not asked for');
});

test('an index: the host\'s platform by default, --platform chooses, a platform the index lacks is a clear error', async () => {
  const armConfig = Buffer.from(config.toString().replace('"architecture":"amd64"', '"architecture":"arm64"'));
  const armManifest = Buffer.from(manifest.toString().replace(sha(config), sha(armConfig)).replace(`"size":${config.length}`, `"size":${armConfig.length}`));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [
      { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: sha(manifest), size: manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: sha(armManifest), size: armManifest.length, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  }));
  fake.override = (req, res) => {
    const type = 'application/vnd.docker.distribution.manifest.v2+json';
    if (req.url === '/v2/t/x/manifests/multi') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json' });
      res.end(index);
      return true;
    }
    if (req.url === `/v2/t/x/manifests/${sha(armManifest)}`) {
      res.writeHead(200, { 'Content-Type': type });
      res.end(armManifest);
      return true;
    }
    if (req.url === `/v2/t/x/blobs/${sha(armConfig)}`) {
      res.writeHead(200, { 'Content-Length': String(armConfig.length) });
      res.end(armConfig);
      return true;
    }
    return false;
  };
  const root = fresh('store');
  const pulled = await cairnOk(root, ['pull', `${fake.host}/t/x:multi`]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${sha(index)}`), 'the digest shown is the index\'s, as Docker shows it');
  assert.equal(JSON.parse((await cairnOk(root, ['inspect', `${fake.host}/t/x:multi`])).stdout)[0].Architecture, 'amd64');
  await cairnOk(root, ['pull', '--platform', 'linux/arm64', `${fake.host}/t/x:multi`]);
  const arm = JSON.parse((await cairnOk(root, ['inspect', `${fake.host}/t/x:multi`])).stdout)[0] as { Id: string; Architecture: string; RepoDigests: string[] };
  assert.equal(arm.Architecture, 'arm64');
  assert.equal(arm.Id, sha(armConfig));
  assert.deepEqual(arm.RepoDigests, [`${fake.host}/t/x@${sha(index)}`]);
  const r = await cairn(fresh('store'), ['pull', '--platform', 'windows/amd64', `${fake.host}/t/x:multi`]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim(), `Error: no matching manifest for windows/amd64 in the manifest list entries of ${fake.host}/t/x:multi`);
});

test('a redirect from https down to http is refused', async () => {
  const { createServer: createHttpsServer } = await import('node:https');
  const { readFileSync } = await import('node:fs');
  const { makePki } = await import('./registry.js');
  const pki = makePki(join(dir.path, 'pki'), '127.0.0.1');
  const server = createHttpsServer({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) }, (req, res) => {
    if (req.url === `/v2/t/x/blobs/${sha(layer)}`) {
      res.writeHead(307, { Location: `http://${fake.host}/v2/t/x/blobs/${sha(layer)}` });
      res.end();
      return;
    }
    normal(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    fake.override = undefined;
    const before = fake.seen.length;
    // a loopback registry: https is tried first and answers, so https it is
    await failsCleanly(`${host}/t/x:1`, /^Error: GET https:\/\/.*: refused a redirect from https to http \(http:\/\/127\.0\.0\.1:\d+\)$/);
    assert.equal(fake.seen.length, before, 'the http target was never asked');
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('pull by digest: the image, recorded under its repo digest only', async () => {
  fake.override = undefined;
  const root = fresh('store');
  const ref = `${fake.host}/t/x@${sha(manifest)}`;
  const r = await cairnOk(root, ['pull', ref]);
  assert.match(r.stdout, new RegExp(`^${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Pulling from t/x$`, 'm'));
  assert.equal(r.stdout.trim().split('\n').at(-1), ref);
  const inspect = JSON.parse((await cairnOk(root, ['inspect', ref])).stdout)[0] as { Id: string; RepoTags: string[]; RepoDigests: string[] };
  assert.equal(inspect.Id, sha(config));
  assert.deepEqual(inspect.RepoTags, []);
  assert.deepEqual(inspect.RepoDigests, [ref]);
});

test('a Docker schema 1 manifest is a clear error', async () => {
  const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 't/x', tag: '1', architecture: 'amd64', fsLayers: [{ blobSum: sha(layer) }], history: [{ v1Compatibility: '{}' }] }));
  fake.override = (req, res) => {
    if (req.url !== '/v2/t/x/manifests/1') return false;
    res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'Content-Length': String(schema1.length) }).end(schema1);
    return true;
  };
  try {
    await failsCleanly(`${fake.host}/t/x:1`, /^Error: [^ ]+\/t\/x:1: Docker schema 1 manifests are not supported \(push the image again with a current client\)$/);
  } finally {
    fake.override = undefined;
  }
});

test('a body that stalls: the request times out (bounded retries from where it stopped), one line, nothing left', async () => {
  // half the layer, then nothing: the connection stays open
  fake.override = (req, res) => {
    if (req.url !== `/v2/t/x/blobs/${sha(layer)}`) return false;
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(layer.length) });
    res.write(layer.subarray(0, layer.length >> 1));
    return true;
  };
  const root = fresh('store');
  const { Cairn } = await import('../src/index.js');
  const c = await Cairn.open({ root });
  try {
    const seen = fake.seen.length;
    await assert.rejects(
      c.pull(`${fake.host}/t/x:1`, { client: { idleTimeoutMs: 300, retries: 2, backoffMs: 10 } }),
      (e: unknown) => e instanceof Error && /^Get "http:\/\/[^"]+\/blobs\/sha256:[0-9a-f]{64}": timeout: no data moved for \d+ s$/.test(e.message),
    );
    // asked again from where it stopped, a bounded number of times (1 + 2 retries)
    const gets = fake.seen.slice(seen).filter((r) => r.method === 'GET' && r.url.includes('/blobs/') && !r.url.includes(sha(config)));
    assert.equal(gets.length, 3);
  } finally {
    fake.override = undefined;
    c.close();
  }
  assert.equal((await cairnOk(root, ['images', '-qa'])).stdout, '');
  assert.deepEqual(readdirSync(join(root, 'content', 'ingest')), []);
  const blobs = join(root, 'content', 'blobs', 'sha256');
  assert.deepEqual(existsSync(blobs) ? readdirSync(blobs) : [], []);
  const snaps = join(root, 'snapshots', 'overlay');
  assert.deepEqual(existsSync(snaps) ? readdirSync(snaps) : [], []);
});

test('pull -a of a repository whose tag list names a tag with path characters: refused before anything is pulled', async () => {
  fake.override = (req, res) => {
    if (!req.url?.startsWith('/v2/t/x/tags/list')) return false;
    const body = Buffer.from(JSON.stringify({ name: 't/x', tags: ['1', '../../v2/y'] }));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) }).end(body);
    return true;
  };
  try {
    const seen = fake.seen.length;
    await failsCleanly(`${fake.host}/t/x`, /^Error: invalid tag "\.\.\/\.\.\/v2\/y": a tag is up to 128 of \[A-Za-z0-9_.-\] and cannot start with "\." or "-"$/, ['pull', '-a']);
    assert.ok(!fake.seen.slice(seen).some((r) => r.url.includes('/manifests/')), 'no manifest was asked for');
  } finally {
    fake.override = undefined;
  }
});
